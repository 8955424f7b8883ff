/*
 * osrelease.c - the distribution scanner: which OS and release a layer is.
 *
 * The matcher picks a vulnerability feed by distribution (Debian 12, Alpine
 * 3.19, AlmaLinux 9...), so this must work on every image, including old or
 * stripped ones.  The primary source is os-release(5): etc/os-release, which
 * is usually a symlink to ../usr/lib/os-release (followed through the input),
 * then usr/lib/os-release.  Images without it still carry an older hint, so
 * we fall back, in this order, to etc/lsb-release (Ubuntu), the Red Hat
 * family's one-line release files, etc/alpine-release and etc/debian_version
 * (Ubuntu has a debian_version too, hence lsb-release first).
 *
 * The os-release syntax is a subset of shell assignments: KEY=value, values
 * optionally in double or single quotes, backslash escapes, comments and
 * blank lines.  As systemd does, a line that does not parse is skipped, not
 * fatal: a distribution hint is not a package database, and one odd line
 * must not make a whole image unindexable.  Only a file over the size cap is
 * an error.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scanners/scanner.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/log.h"

/* Largest release file read; real ones are well under 1 KiB. */
#define OSR_FILE_MAX (64 * 1024)

/* The keys we keep, from os-release(5) and lsb-release. */
enum osr_key {
	K_ID,
	K_NAME,
	K_VERSION,
	K_VERSION_ID,
	K_VERSION_CODENAME,
	K_UBUNTU_CODENAME,
	K_PRETTY_NAME,
	K_CPE_NAME,
	K_DISTRIB_ID,
	K_DISTRIB_RELEASE,
	K_DISTRIB_CODENAME,
	K_DISTRIB_DESCRIPTION,
	K__COUNT
};

static const char *const osr_key_names[K__COUNT] = {
	"ID", "NAME", "VERSION", "VERSION_ID", "VERSION_CODENAME",
	"UBUNTU_CODENAME", "PRETTY_NAME", "CPE_NAME", "DISTRIB_ID",
	"DISTRIB_RELEASE", "DISTRIB_CODENAME", "DISTRIB_DESCRIPTION",
};

static const char *const osr_paths[] = {
	"etc/os-release",
	"usr/lib/os-release",
	"etc/lsb-release",
	"etc/almalinux-release",
	"etc/centos-release",
	"etc/rocky-release",
	"etc/redhat-release",
	"etc/alpine-release",
	"etc/debian_version",
};

/* The Red Hat family's release files, most specific first: on AlmaLinux
 * redhat-release is a symlink to almalinux-release. */
static const char *const redhat_paths[] = {
	"etc/almalinux-release",
	"etc/centos-release",
	"etc/rocky-release",
	"etc/redhat-release",
};

static bool osrelease_want(const char *path)
{
	path = clr_scan_path_strip(path);
	for (size_t i = 0; i < sizeof(osr_paths) / sizeof(osr_paths[0]); i++)
		if (!strcmp(path, osr_paths[i]))
			return true;
	return false;
}

static int check_size(const struct clr_scan_file *f, const char *path)
{
	if (f->len > OSR_FILE_MAX)
		return clr_error_set(CLR_ELIMIT,
				     "%s: %zu bytes, more than the %d a release "
				     "file may have", path, f->len,
				     OSR_FILE_MAX);
	return 0;
}

/*
 * Reads the value of one assignment, shell style, from p (up to end) into
 * v.  Returns false when the line must be skipped: an unterminated quote, a
 * control character, or trailing text that is not a comment.
 */
static bool lex_value(struct clr_buf *v, const char *p, const char *end)
{
	char quote = 0;

	clr_buf_reset(v);
	while (p < end) {
		unsigned char c = (unsigned char)*p++;

		if (c < 0x20 && c != '\t')
			return false;
		if (quote == '\'') {
			if (c == '\'')
				quote = 0;
			else if (clr_buf_addch(v, (char)c))
				return false;
			continue;
		}
		if (quote == '"') {
			if (c == '"') {
				quote = 0;
				continue;
			}
			/* In double quotes only these are escapable. */
			if (c == '\\' && p < end && *p &&
			    strchr("$\"\\`", *p)) {
				c = (unsigned char)*p++;
			}
			if (clr_buf_addch(v, (char)c))
				return false;
			continue;
		}
		if (c == '"' || c == '\'') {
			quote = (char)c;
			continue;
		}
		if (c == ' ' || c == '\t') {
			/* End of the word: only blanks or a comment may
			 * follow. */
			while (p < end && (*p == ' ' || *p == '\t'))
				p++;
			return p == end || *p == '#';
		}
		if (c == '\\') {
			if (p == end)
				return false;
			c = (unsigned char)*p++;
			if (c < 0x20 && c != '\t')
				return false;
		}
		if (clr_buf_addch(v, (char)c))
			return false;
	}
	return quote == 0;
}

/*
 * Parses an os-release style file into vals (arena strings, NULL when the
 * key is absent; the last assignment wins, as in shell).  Returns the number
 * of keys found.
 */
static int parse_env(const struct clr_scan_file *f, const char *path,
		     struct clr_arena *a, const char *vals[K__COUNT])
{
	const char *p = (const char *)f->data, *end = p + f->len;
	struct clr_buf v = CLR_BUF_INIT(OSR_FILE_MAX);
	int found = 0;
	size_t line = 0;

	for (int k = 0; k < K__COUNT; k++)
		vals[k] = NULL;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *q = p, *key;
		size_t klen;

		line++;
		p = nl ? nl + 1 : end;
		while (q < le && (*q == ' ' || *q == '\t'))
			q++;
		if (q == le || *q == '#')
			continue;
		key = q;
		while (q < le && (isalnum((unsigned char)*q) || *q == '_'))
			q++;
		klen = (size_t)(q - key);
		if (!klen || q == le || *q != '=') {
			clr_log_debug("%s: line %zu: not an assignment, "
				      "skipped", path, line);
			continue;
		}
		if (!lex_value(&v, q + 1, le)) {
			clr_log_debug("%s: line %zu: malformed value, skipped",
				      path, line);
			continue;
		}
		for (int k = 0; k < K__COUNT; k++) {
			if (strlen(osr_key_names[k]) == klen &&
			    !memcmp(osr_key_names[k], key, klen)) {
				if (!vals[k])
					found++;
				vals[k] = clr_arena_strndup(a, clr_buf_str(&v),
							    v.len);
			}
		}
	}
	clr_buf_release(&v);
	return found;
}

/* The text inside the last "(...)" of s, or NULL. */
static char *paren_word(struct clr_arena *a, const char *s)
{
	const char *o = strrchr(s, '('), *c;

	if (!o || !(c = strchr(o, ')')) || c == o + 1)
		return NULL;
	return clr_arena_strndup(a, o + 1, (size_t)(c - o - 1));
}

static char *lowercase(struct clr_arena *a, const char *s)
{
	char *r = clr_arena_strdup(a, s);

	for (char *p = r; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return r;
}

static bool from_os_release(const char *vals[K__COUNT], struct clr_arena *a,
			    struct clr_scan_distribution *d)
{
	/* An empty value is no value, here as in os-release(5)'s
	 * defaults. */
	for (int k = 0; k < K__COUNT; k++)
		if (vals[k] && !*vals[k])
			vals[k] = NULL;
	if (!vals[K_ID] && !vals[K_NAME])
		return false;
	d->did = vals[K_ID] ? vals[K_ID] : "linux";
	d->name = vals[K_NAME] ? vals[K_NAME] : "Linux";
	d->pretty_name = vals[K_PRETTY_NAME] ? vals[K_PRETTY_NAME] : "Linux";
	d->version = vals[K_VERSION];
	d->version_id = vals[K_VERSION_ID];
	d->version_code_name = vals[K_VERSION_CODENAME];
	d->cpe = vals[K_CPE_NAME];
	/* Older releases predate VERSION_CODENAME, and the matcher keys
	 * Debian and Ubuntu data by code name. */
	if (!d->version_code_name || !*d->version_code_name) {
		if (vals[K_UBUNTU_CODENAME])
			d->version_code_name = vals[K_UBUNTU_CODENAME];
		else if (!strcmp(d->did, "debian") && d->version)
			d->version_code_name = paren_word(a, d->version);
	}
	return true;
}

static bool from_lsb_release(const char *vals[K__COUNT], struct clr_arena *a,
			     struct clr_scan_distribution *d)
{
	if (!vals[K_DISTRIB_ID] || !*vals[K_DISTRIB_ID])
		return false;
	d->did = lowercase(a, vals[K_DISTRIB_ID]);
	d->name = vals[K_DISTRIB_ID];
	d->version = vals[K_DISTRIB_RELEASE];
	d->version_id = vals[K_DISTRIB_RELEASE];
	d->version_code_name = vals[K_DISTRIB_CODENAME];
	d->pretty_name = vals[K_DISTRIB_DESCRIPTION];
	return true;
}

/*
 * The first line of a one-line release file, trimmed, in the arena; NULL
 * when it is empty or holds control characters (not a release file).
 */
static char *first_line(struct clr_arena *a, const struct clr_scan_file *f)
{
	const char *s = (const char *)f->data, *e;
	const char *nl = memchr(s, '\n', f->len);

	e = nl ? nl : s + f->len;
	while (s < e && isspace((unsigned char)*s))
		s++;
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	if (s == e)
		return NULL;
	for (const char *p = s; p < e; p++)
		if ((unsigned char)*p < 0x20 && *p != '\t')
			return NULL;
	return clr_arena_strndup(a, s, (size_t)(e - s));
}

/* "Red Hat Enterprise Linux" -> "rhel", as their os-release files say. */
static const struct {
	const char *prefix;
	const char *did;
	bool major_only; /* VERSION_ID is the major version alone */
} redhat_names[] = {
	{ "AlmaLinux", "almalinux", false },
	{ "CentOS Stream", "centos", true },
	{ "CentOS", "centos", true },
	{ "Red Hat Enterprise Linux", "rhel", false },
	{ "Rocky Linux", "rocky", false },
	{ "Fedora", "fedora", true },
	{ "Oracle Linux", "ol", false },
	{ "Scientific Linux", "scientific", false },
};

/* "AlmaLinux release 9.3 (Shamrock Pink Squirrel)" */
static bool from_redhat_release(const char *line, struct clr_arena *a,
				struct clr_scan_distribution *d)
{
	const char *rel = strstr(line, " release "), *v, *ve;
	char *name, *version, *code;
	bool major_only = false;

	if (!rel || rel == line)
		return false;
	name = clr_arena_strndup(a, line, (size_t)(rel - line));
	v = rel + strlen(" release ");
	for (ve = v; *ve && *ve != ' '; ve++)
		;
	if (ve == v || !isdigit((unsigned char)*v))
		return false;
	version = clr_arena_strndup(a, v, (size_t)(ve - v));
	code = paren_word(a, ve);

	d->did = NULL;
	for (size_t i = 0; i < sizeof(redhat_names) / sizeof(redhat_names[0]);
	     i++) {
		if (!strncmp(name, redhat_names[i].prefix,
			     strlen(redhat_names[i].prefix))) {
			d->did = redhat_names[i].did;
			major_only = redhat_names[i].major_only;
			break;
		}
	}
	if (!d->did) {
		char *w = lowercase(a, name), *sp = strchr(w, ' ');

		if (sp)
			*sp = '\0';
		d->did = w;
	}
	d->name = name;
	d->version_id = version;
	if (major_only)
		d->version_id = clr_arena_strndup(a, version,
						  strcspn(version, "."));
	if (code) {
		size_t n = strlen(version) + strlen(code) + 4;
		char *s = clr_arena_alloc(a, n);

		snprintf(s, n, "%s (%s)", version, code);
		d->version = s;
	} else {
		d->version = version;
	}
	d->pretty_name = line;
	return true;
}

/* "3.19.1", or "3.20.0_alpha20240329" for edge. */
static bool from_alpine_release(const char *line, struct clr_arena *a,
				struct clr_scan_distribution *d)
{
	const char *dot;
	char *pretty;
	size_t n;

	if (!isdigit((unsigned char)line[0]) ||
	    strspn(line, "0123456789.abcdefghijklmnopqrstuvwxyz_") !=
		    strlen(line))
		return false;
	d->did = "alpine";
	d->name = "Alpine Linux";
	d->version_id = line;
	n = strlen(line) + 32;
	pretty = clr_arena_alloc(a, n);
	if (strstr(line, "_alpha")) {
		snprintf(pretty, n, "Alpine Linux edge");
	} else {
		dot = strchr(line, '.');
		if (dot && (dot = strchr(dot + 1, '.')))
			snprintf(pretty, n, "Alpine Linux v%.*s",
				 (int)(dot - line), line);
		else
			snprintf(pretty, n, "Alpine Linux v%s", line);
	}
	d->pretty_name = pretty;
	return true;
}

/* Debian's code names by major release; the feed is keyed by them. */
static const char *const debian_codenames[] = {
	[6] = "squeeze", [7] = "wheezy", [8] = "jessie", [9] = "stretch",
	[10] = "buster", [11] = "bullseye", [12] = "bookworm",
	[13] = "trixie", [14] = "forky", [15] = "duke",
};

/* "12.5", or "trixie/sid" on testing and unstable. */
static bool from_debian_version(const char *line, struct clr_arena *a,
				struct clr_scan_distribution *d)
{
	const char *name = "Debian GNU/Linux";
	size_t n = strlen(line) + 64;
	char *pretty = clr_arena_alloc(a, n);

	d->did = "debian";
	d->name = name;
	if (isdigit((unsigned char)line[0])) {
		unsigned long major = strtoul(line, NULL, 10);
		size_t mlen = strspn(line, "0123456789");
		const char *code = NULL;
		char *version;

		if (strspn(line, "0123456789.") != strlen(line))
			return false;
		if (major < sizeof(debian_codenames) /
				    sizeof(debian_codenames[0]))
			code = debian_codenames[major];
		d->version_id = clr_arena_strndup(a, line, mlen);
		d->version_code_name = code;
		version = clr_arena_alloc(a, n);
		if (code)
			snprintf(version, n, "%s (%s)", d->version_id, code);
		else
			snprintf(version, n, "%s", d->version_id);
		d->version = version;
		snprintf(pretty, n, "%s %s", name, version);
	} else {
		size_t wl = strspn(line, "abcdefghijklmnopqrstuvwxyz");

		if (!wl || (line[wl] && strcmp(line + wl, "/sid")))
			return false;
		d->version_code_name = clr_arena_strndup(a, line, wl);
		snprintf(pretty, n, "%s %s", name, line);
	}
	d->pretty_name = pretty;
	return true;
}

static int osrelease_scan(const struct clr_scan_input *in,
			  struct clr_scan_result *out)
{
	struct clr_scan_distribution d;
	const struct clr_scan_file *f;
	const char *vals[K__COUNT];
	const char *path;
	char *line;
	int err;

	memset(&d, 0, sizeof(d));

	/* os-release(5): /etc first, then /usr/lib. */
	for (int i = 0; i < 2; i++) {
		if (!(f = clr_scan_input_lookup(in, osr_paths[i], &path)))
			continue;
		if ((err = check_size(f, path)))
			return err;
		if (parse_env(f, path, &out->arena, vals) &&
		    from_os_release(vals, &out->arena, &d))
			goto found;
	}

	if ((f = clr_scan_input_lookup(in, "etc/lsb-release", &path))) {
		if ((err = check_size(f, path)))
			return err;
		if (parse_env(f, path, &out->arena, vals) &&
		    from_lsb_release(vals, &out->arena, &d))
			goto found;
	}

	for (size_t i = 0; i < sizeof(redhat_paths) / sizeof(redhat_paths[0]);
	     i++) {
		if (!(f = clr_scan_input_lookup(in, redhat_paths[i], &path)))
			continue;
		if ((err = check_size(f, path)))
			return err;
		if ((line = first_line(&out->arena, f)) &&
		    from_redhat_release(line, &out->arena, &d))
			goto found;
	}

	if ((f = clr_scan_input_lookup(in, "etc/alpine-release", &path))) {
		if ((err = check_size(f, path)))
			return err;
		if ((line = first_line(&out->arena, f)) &&
		    from_alpine_release(line, &out->arena, &d))
			goto found;
	}

	if ((f = clr_scan_input_lookup(in, "etc/debian_version", &path))) {
		if ((err = check_size(f, path)))
			return err;
		if ((line = first_line(&out->arena, f)) &&
		    from_debian_version(line, &out->arena, &d))
			goto found;
	}
	return 0;

found:
	clr_scan_result_add_distribution(out, &d);
	return 0;
}

const struct clr_scanner clr_scanner_osrelease = {
	.name = "osrelease",
	.version = "1",
	.kind = "distribution",
	.want = osrelease_want,
	.scan = osrelease_scan,
};
