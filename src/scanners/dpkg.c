/*
 * dpkg.c - the Debian/Ubuntu package scanner: var/lib/dpkg/status and the
 * distroless var/lib/dpkg/status.d/ files.
 *
 * The status file is a list of RFC 822-style stanzas ("Field: value",
 * continuation lines starting with a blank, stanzas separated by blank
 * lines), one per package dpkg knows about.  Only those whose Status says
 * "ok installed" are on disk (the want flag may be install, hold or
 * deinstall); "deinstall ok config-files" and the like are not.  Distroless
 * images, which have no dpkg, carry one file per package in status.d/ with
 * the same stanzas and no Status field: each stanza there is installed.
 * Their NAME.md5sums companions are file lists, not stanzas, and skipped.
 *
 * Debian's security data is keyed by source package, so the Source field
 * matters as much as the name: "Source: glibc" means the source version is
 * the binary's, "Source: util-linux (2.38.1-5)" carries its own (binNMUs
 * and packages versioned apart from their source); no Source means the
 * source is the binary itself.
 *
 * A database that does not parse is an error for the whole file, with the
 * file and line in the message, never a shorter list: dpkg itself refuses
 * to run on a status file with a malformed stanza, and a scanner that
 * skipped one would report an image as having fewer packages (and so fewer
 * vulnerabilities) than it has.  The same holds for a stanza or field over
 * its size cap (CLR_ELIMIT) and for a main status file that does not end
 * in a newline (dpkg always writes one, so its absence means truncation).
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "scanners/scanner.h"
#include "util/alloc.h"
#include "util/error.h"
#include "version/version.h"

/* One field, continuation lines included.  dpkg's largest real fields
 * (Description, Conffiles of big packages) are tens of KiB. */
#define DPKG_FIELD_MAX (1024 * 1024)

/* One stanza.  Several large fields may add up, but not to this. */
#define DPKG_STANZA_MAX (4 * 1024 * 1024)

#define STATUS_PATH "var/lib/dpkg/status"
#define STATUSD_DIR "var/lib/dpkg/status.d/"

/* A field value inside the file, not copied. */
struct span {
	const char *p;
	size_t n;
	size_t line; /* where the field starts, 0 when absent */
};

/* The fields of one stanza that we use. */
struct stanza {
	size_t line;       /* first line, 0 before any field */
	size_t bytes;      /* size so far, for the cap */
	struct span package, version, status, source, arch;
};

/* Which field a span is, by name; NULL for the ones we do not keep. */
static struct span *field_slot(struct stanza *st, const char *name, size_t n)
{
	static const struct {
		const char *name;
		size_t off;
	} fields[] = {
		{ "Package", offsetof(struct stanza, package) },
		{ "Version", offsetof(struct stanza, version) },
		{ "Status", offsetof(struct stanza, status) },
		{ "Source", offsetof(struct stanza, source) },
		{ "Architecture", offsetof(struct stanza, arch) },
	};

	/* Field names are case-insensitive (deb822(5)). */
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (strlen(fields[i].name) == n &&
		    !strncasecmp(fields[i].name, name, n))
			return (struct span *)((char *)st + fields[i].off);
	return NULL;
}

static bool dpkg_want(const char *path)
{
	const char *name;
	size_t n;

	path = clr_scan_path_strip(path);
	if (!strcmp(path, STATUS_PATH))
		return true;
	if (strncmp(path, STATUSD_DIR, strlen(STATUSD_DIR)))
		return false;
	name = path + strlen(STATUSD_DIR);
	n = strlen(name);
	if (!n || name[0] == '.' || strchr(name, '/'))
		return false;
	return !(n > 8 && !strcmp(name + n - 8, ".md5sums"));
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Package names (Debian policy 5.6.1): start alphanumeric, then
 * alphanumerics and + - . (dpkg also lets '_' pass). */
static bool valid_name(const char *s, size_t n)
{
	if (!n || !((s[0] >= 'a' && s[0] <= 'z') ||
		    (s[0] >= 'A' && s[0] <= 'Z') ||
		    (s[0] >= '0' && s[0] <= '9')))
		return false;
	for (size_t i = 1; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '+' || c == '-' ||
		      c == '.' || c == '_'))
			return false;
	}
	return true;
}

static bool valid_arch(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

/* A version dpkg would accept, checked with dpkg's own rules. */
static int check_version(const char *path, size_t line, const char *v)
{
	struct clr_version *parsed;
	int err;

	if ((err = clr_version_parse(&parsed, CLR_VS_DPKG, v)))
		return clr_error_prefix(CLR_EINVALID, "%s: line %zu", path,
					line);
	clr_version_free(parsed);
	return 0;
}

static char *dup_span(struct clr_arena *a, const struct span *s)
{
	return clr_arena_strndup(a, s->p, s->n);
}

/*
 * Decides what one finished stanza is and appends it to out when it is an
 * installed package.  status_d: the file is a distroless status.d file.
 */
static int finish_stanza(const struct stanza *st, const char *path,
			 bool status_d, struct clr_scan_result *out)
{
	struct clr_scan_package p;
	struct clr_arena *a = &out->arena;
	char *name, *version;
	int err;

	if (!st->package.line)
		return clr_error_set(CLR_EINVALID,
				     "%s: line %zu: stanza has no Package field",
				     path, st->line);
	if (!valid_name(st->package.p, st->package.n))
		return clr_error_set(CLR_EINVALID,
				     "%s: line %zu: invalid package name '%.*s'",
				     path, st->package.line,
				     (int)(st->package.n > 64 ? 64 : st->package.n),
				     st->package.p);
	name = dup_span(a, &st->package);

	if (st->status.line) {
		/* "want flag status", three words, as dpkg requires. */
		const char *w[3], *s = st->status.p, *e = s + st->status.n;
		size_t wl[3];
		int nw = 0;

		while (s < e) {
			const char *b;

			while (s < e && is_blank(*s))
				s++;
			if (s == e)
				break;
			for (b = s; s < e && !is_blank(*s); s++)
				;
			if (nw == 3) {
				nw++;
				break;
			}
			w[nw] = b;
			wl[nw++] = (size_t)(s - b);
		}
		if (nw != 3)
			return clr_error_set(CLR_EINVALID,
					     "%s: line %zu: Status of '%s' is "
					     "not three words", path,
					     st->status.line, name);
		if (!(wl[1] == 2 && !memcmp(w[1], "ok", 2) && wl[2] == 9 &&
		      !memcmp(w[2], "installed", 9)))
			return 0;
	} else if (!status_d) {
		/* dpkg writes a Status for every package in its status
		 * file: a stanza without one was cut short. */
		return clr_error_set(CLR_EINVALID,
				     "%s: line %zu: package '%s' has no "
				     "Status field", path, st->line, name);
	}

	if (!st->version.line || !st->version.n)
		return clr_error_set(CLR_EINVALID,
				     "%s: line %zu: installed package '%s' has "
				     "no Version", path, st->line, name);
	version = dup_span(a, &st->version);
	if ((err = check_version(path, st->version.line, version)))
		return err;

	memset(&p, 0, sizeof(p));
	p.name = name;
	p.version = version;
	p.kind = "binary";
	p.source.kind = "source";
	p.source.name = name;
	p.source.version = version;
	if (st->source.line) {
		/* "name" or "name (version)" */
		const char *s = st->source.p, *e = s + st->source.n, *b = s;

		while (s < e && !is_blank(*s) && *s != '(')
			s++;
		if (!valid_name(b, (size_t)(s - b)))
			goto bad_source;
		p.source.name = clr_arena_strndup(a, b, (size_t)(s - b));
		while (s < e && is_blank(*s))
			s++;
		if (s < e) {
			const char *v;

			if (*s != '(' || e[-1] != ')')
				goto bad_source;
			for (v = ++s; s < e - 1 && *s != ')'; s++)
				;
			if (s != e - 1)
				goto bad_source;
			while (v < s && is_blank(*v))
				v++;
			while (s > v && is_blank(s[-1]))
				s--;
			p.source.version = clr_arena_strndup(a, v,
							     (size_t)(s - v));
			if ((err = check_version(path, st->source.line,
						 p.source.version)))
				return err;
		}
	}
	if (st->arch.line) {
		if (!valid_arch(st->arch.p, st->arch.n))
			return clr_error_set(CLR_EINVALID,
					     "%s: line %zu: invalid "
					     "Architecture for '%s'", path,
					     st->arch.line, name);
		p.arch = dup_span(a, &st->arch);
	}
	p.module = "";
	p.cpe = "";
	p.package_db = path;
	clr_scan_result_add_package(out, &p);
	return 0;

bad_source:
	return clr_error_set(CLR_EINVALID,
			     "%s: line %zu: Source of '%s' is not "
			     "'name' or 'name (version)'", path,
			     st->source.line, name);
}

/* Parses one status or status.d file, appending its installed packages. */
static int parse_file(const struct clr_scan_file *f, const char *path,
		      bool status_d, struct clr_scan_result *out)
{
	const char *p = (const char *)f->data, *end = p + f->len;
	struct stanza st;
	struct span *cur = NULL;   /* the field continuation lines extend */
	size_t cur_bytes = 0;      /* its size so far */
	const char *cur_name = ""; /* its name, for messages */
	int cur_name_len = 0;
	size_t line = 0;
	int err;

	/* The final newline only of the main status file, which dpkg writes
	 * (see the top); status.d files are not dpkg's. */
	if ((err = clr_scan_text_check(f, path, "a dpkg status file",
				       !status_d)))
		return err;

	memset(&st, 0, sizeof(st));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *q, *colon;
		size_t len = (size_t)(le - p) + (nl ? 1 : 0);
		struct span *slot;

		line++;
		for (q = p; q < le && is_blank(*q); q++)
			;
		if (q == le) {
			/* A blank line ends the stanza. */
			if (st.line && (err = finish_stanza(&st, path,
							    status_d, out)))
				return err;
			memset(&st, 0, sizeof(st));
			cur = NULL;
			cur_name_len = 0;
			p += len;
			continue;
		}
		if (!st.line)
			st.line = line;
		st.bytes += len;
		if (st.bytes > DPKG_STANZA_MAX)
			return clr_error_set(CLR_ELIMIT,
					     "%s: line %zu: stanza larger than "
					     "%d bytes", path, st.line,
					     DPKG_STANZA_MAX);

		if (q != p) {
			/* A continuation line. */
			if (!cur_name_len)
				return clr_error_set(CLR_EINVALID,
						     "%s: line %zu: "
						     "continuation line outside "
						     "a field", path, line);
			cur_bytes += len;
			if (cur_bytes > DPKG_FIELD_MAX)
				return clr_error_set(CLR_ELIMIT,
						     "%s: line %zu: field '%.*s' "
						     "larger than %d bytes",
						     path, line, cur_name_len,
						     cur_name, DPKG_FIELD_MAX);
			if (cur)
				return clr_error_set(CLR_EINVALID,
						     "%s: line %zu: field '%.*s' "
						     "must be one line", path,
						     line, cur_name_len,
						     cur_name);
			p += len;
			continue;
		}

		colon = memchr(p, ':', (size_t)(le - p));
		if (!colon || colon == p)
			return clr_error_set(CLR_EINVALID,
					     "%s: line %zu: expected "
					     "'Field: value'", path, line);
		for (q = p; q < colon; q++)
			if ((unsigned char)*q <= ' ' ||
			    (unsigned char)*q >= 0x7f)
				return clr_error_set(CLR_EINVALID,
						     "%s: line %zu: invalid "
						     "field name", path, line);
		cur_name = p;
		cur_name_len = (int)(colon - p);
		cur_bytes = len;
		if (cur_bytes > DPKG_FIELD_MAX)
			return clr_error_set(CLR_ELIMIT,
					     "%s: line %zu: field '%.*s' larger "
					     "than %d bytes", path, line,
					     cur_name_len > 64 ? 64 :
					     cur_name_len, cur_name,
					     DPKG_FIELD_MAX);
		slot = field_slot(&st, p, (size_t)(colon - p));
		cur = slot;
		if (slot) {
			const char *v = colon + 1, *ve = le;

			if (slot->line)
				return clr_error_set(CLR_EINVALID,
						     "%s: line %zu: duplicate "
						     "field '%.*s'", path, line,
						     cur_name_len, cur_name);
			while (v < ve && is_blank(*v))
				v++;
			while (ve > v && is_blank(ve[-1]))
				ve--;
			/* A CR or other control byte in a name or version
			 * would reach the report and the matcher. */
			for (const char *c = v; c < ve; c++)
				if ((unsigned char)*c < 0x20 && *c != '\t')
					return clr_error_set(
						CLR_EINVALID,
						"%s: line %zu: control "
						"character in field '%.*s'",
						path, line, cur_name_len,
						cur_name);
			slot->p = v;
			slot->n = (size_t)(ve - v);
			slot->line = line;
		}
		p += len;
	}
	if (st.line && (err = finish_stanza(&st, path, status_d, out)))
		return err;
	return 0;
}

static int path_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int dpkg_scan(const struct clr_scan_input *in,
		     struct clr_scan_result *out)
{
	size_t npkg = out->packages.len, ndist = out->distributions.len;
	const char **paths = NULL;
	size_t n = 0;
	int err = 0;

	/* The main status first, then status.d in name order, so the list
	 * does not depend on the order of the tar. */
	for (size_t i = 0; i < in->nfiles; i++) {
		if (!in->files[i].path || !dpkg_want(in->files[i].path))
			continue;
		if (!paths)
			paths = clr_calloc(in->nfiles, sizeof(*paths));
		paths[n++] = clr_scan_path_strip(in->files[i].path);
	}
	if (n > 1)
		qsort(paths, n, sizeof(*paths), path_cmp);
	for (size_t pass = 0; pass < 2 && !err; pass++) {
		for (size_t i = 0; i < n && !err; i++) {
			bool status_d = strcmp(paths[i], STATUS_PATH) != 0;
			const struct clr_scan_file *f;
			const char *path;

			if (status_d != (pass == 1))
				continue;
			/* Follows a symlinked status file; a dangling one
			 * (its target in another layer) has nothing here. */
			if (!(f = clr_scan_input_lookup(in, paths[i], &path)))
				continue;
			err = parse_file(f, paths[i], status_d, out);
		}
	}
	free(paths);
	if (err)
		clr_scan_result_truncate(out, npkg, ndist);
	return err;
}

const struct clr_scanner clr_scanner_dpkg = {
	.name = "dpkg",
	.version = "1",
	.kind = "package",
	.want = dpkg_want,
	.scan = dpkg_scan,
};
