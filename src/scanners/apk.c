/*
 * apk.c - the Alpine package scanner: lib/apk/db/installed.
 *
 * apk keeps its installed database as one text file: each package is a
 * block of "X:value" lines (the key is one character), blocks separated by
 * a blank line.  We need P (name), V (version), A (architecture) and o
 * (origin: the source package Alpine's security data is keyed by); the many
 * others (file lists, checksums, dependencies) are only walked over.
 *
 * As for dpkg, a database that does not parse fails as a whole, with the
 * line in the message: apk-tools itself stops with "Invalid database" on a
 * line that is not "X:value", and a scanner that skipped a block would
 * under-report.  A block without P or V, a repeated P or V, a NUL byte, a
 * line or block over its cap, or a file whose last line has no newline (apk
 * always writes one, so that means truncation) are errors.
 */
#include <string.h>

#include "scanners/scanner.h"
#include "util/error.h"

/* One line.  The longest real ones are dependency lists of a few KiB. */
#define APK_LINE_MAX (256 * 1024)

/* One package block: its file list makes it large (tens of thousands of
 * files for the biggest packages), but not this large. */
#define APK_BLOCK_MAX (64 * 1024 * 1024)

#define APK_DB_PATH "lib/apk/db/installed"

struct field {
	const char *p;
	size_t n;
	size_t line; /* 0 when absent */
};

struct block {
	size_t line;  /* first line, 0 before any */
	size_t bytes; /* size so far, for the cap */
	struct field name, version, arch, origin;
};

static bool apk_want(const char *path)
{
	return !strcmp(clr_scan_path_strip(path), APK_DB_PATH);
}

/* Names and versions are single words of printable ASCII. */
static bool valid_word(const struct field *f)
{
	if (!f->n)
		return false;
	for (size_t i = 0; i < f->n; i++)
		if ((unsigned char)f->p[i] <= ' ' ||
		    (unsigned char)f->p[i] >= 0x7f)
			return false;
	return true;
}

static int finish_block(const struct block *b, const char *path,
			struct clr_scan_result *out)
{
	struct clr_scan_package p;
	struct clr_arena *a = &out->arena;

	if (!b->name.line)
		return clr_error_set(CLR_EINVALID,
				     "%s: line %zu: package has no P: (name)",
				     path, b->line);
	if (!valid_word(&b->name))
		return clr_error_set(CLR_EINVALID,
				     "%s: line %zu: invalid package name",
				     path, b->name.line);
	if (!b->version.line)
		return clr_error_set(CLR_EINVALID,
				     "%s: line %zu: package '%.*s' has no V: "
				     "(version)", path, b->line,
				     (int)b->name.n, b->name.p);
	if (!valid_word(&b->version))
		return clr_error_set(CLR_EINVALID,
				     "%s: line %zu: invalid version of '%.*s'",
				     path, b->version.line, (int)b->name.n,
				     b->name.p);
	if (b->arch.line && b->arch.n && !valid_word(&b->arch))
		return clr_error_set(CLR_EINVALID,
				     "%s: line %zu: invalid architecture",
				     path, b->arch.line);
	if (b->origin.line && b->origin.n && !valid_word(&b->origin))
		return clr_error_set(CLR_EINVALID,
				     "%s: line %zu: invalid origin", path,
				     b->origin.line);

	memset(&p, 0, sizeof(p));
	p.name = clr_arena_strndup(a, b->name.p, b->name.n);
	p.version = clr_arena_strndup(a, b->version.p, b->version.n);
	p.kind = "binary";
	/* Subpackages (musl-utils) share their origin's (musl) version. */
	p.source.name = b->origin.n ?
		clr_arena_strndup(a, b->origin.p, b->origin.n) : p.name;
	p.source.version = p.version;
	p.source.kind = "source";
	p.arch = b->arch.line ? clr_arena_strndup(a, b->arch.p, b->arch.n) : "";
	p.module = "";
	p.cpe = "";
	p.package_db = path;
	clr_scan_result_add_package(out, &p);
	return 0;
}

static int parse_db(const struct clr_scan_file *f, const char *path,
		    struct clr_scan_result *out)
{
	const char *p = (const char *)f->data, *end = p + f->len;
	struct block b;
	size_t line = 0;
	int err;

	if ((err = clr_scan_text_check(f, path, "an apk database", true)))
		return err;

	memset(&b, 0, sizeof(b));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		size_t len = (size_t)(le - p), adv = len + (nl ? 1 : 0);
		struct field *slot = NULL;

		line++;
		if (len > APK_LINE_MAX)
			return clr_error_set(CLR_ELIMIT,
					     "%s: line %zu: longer than %d "
					     "bytes", path, line, APK_LINE_MAX);
		if (len == 0) {
			if (b.line && (err = finish_block(&b, path, out)))
				return err;
			memset(&b, 0, sizeof(b));
			p += adv;
			continue;
		}
		if (len < 2 || p[1] != ':')
			return clr_error_set(CLR_EINVALID,
					     "%s: line %zu: expected 'X:value'",
					     path, line);
		if (!b.line)
			b.line = line;
		b.bytes += adv;
		if (b.bytes > APK_BLOCK_MAX)
			return clr_error_set(CLR_ELIMIT,
					     "%s: line %zu: package block larger "
					     "than %d bytes", path, b.line,
					     APK_BLOCK_MAX);
		switch (p[0]) {
		case 'P':
			slot = &b.name;
			break;
		case 'V':
			slot = &b.version;
			break;
		case 'A':
			slot = &b.arch;
			break;
		case 'o':
			slot = &b.origin;
			break;
		}
		if (slot) {
			if (slot->line)
				return clr_error_set(CLR_EINVALID,
						     "%s: line %zu: second "
						     "'%c:' in one package",
						     path, line, p[0]);
			slot->p = p + 2;
			slot->n = len - 2;
			slot->line = line;
		}
		p += adv;
	}
	if (b.line && (err = finish_block(&b, path, out)))
		return err;
	return 0;
}

static int apk_scan(const struct clr_scan_input *in,
		    struct clr_scan_result *out)
{
	size_t npkg = out->packages.len, ndist = out->distributions.len;
	const struct clr_scan_file *f;
	const char *path;
	int err;

	if (!(f = clr_scan_input_lookup(in, APK_DB_PATH, &path)))
		return 0;
	if ((err = parse_db(f, APK_DB_PATH, out)))
		clr_scan_result_truncate(out, npkg, ndist);
	return err;
}

const struct clr_scanner clr_scanner_apk = {
	.name = "apk",
	.version = "1",
	.kind = "package",
	.want = apk_want,
	.scan = apk_scan,
};
