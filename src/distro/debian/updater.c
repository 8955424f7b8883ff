/*
 * updater.c - the Debian source: the security tracker's JSON export
 * (https://security-tracker.debian.org/tracker/data/json).
 *
 * The document is one object, source package -> CVE (or TEMP-...) ->
 * {description, scope, debianbug, releases: codename -> {status,
 * repositories, fixed_version, urgency, nodsa...}}.  Each (source package,
 * issue, release) becomes one record:
 *
 *   status "resolved", fixed_version "0"   never affected: no record
 *   status "resolved", fixed_version V     vulnerable below V
 *   status "open" / "undetermined"         vulnerable, no fix yet ("")
 *
 * An "undetermined" issue is reported like an open one: the tracker has not
 * ruled the release out, and clarion never reports "clean" when it does not
 * know.  An unknown status (none exists today) is read like "resolved" when
 * it carries a fixed version and like "open" otherwise.  `releases` is
 * serialised as [] (an empty array) when a CVE has no release entries.
 *
 * The real document is about 70 MB, which jansson would turn into several
 * hundred MB of tree, so it is not loaded whole: the file is mapped, a
 * small scanner finds where each top-level package's value begins and ends
 * (tracking only strings and bracket depth), and jansson parses one package
 * at a time.  Records share their strings (a CVE's description once for all
 * its releases, each codename and urgency once), all in the set's arena.
 *
 * The tracker does not carry release numbers, which os-release's VERSION_ID
 * has and the matcher uses.  A table built in would go stale with every
 * release, so fetch() reads them from the archive, as Clair does: the
 * codenames linked from {mirror}dists/ (suite aliases and -updates,
 * -backports... skipped), then each one's dists/<codename>/Release (or
 * InRelease), whose "Version: 12.5" gives "12".  The `releases` setting
 * overrides what the archive says.  The map goes beside the tracker JSON
 * (fetch() hands over a directory: tracker.json, releases.json) and into
 * the fingerprint, so a new release is a change even when the tracker is
 * not.  A codename with no known number (sid, a Release file that could not
 * be read) still gives records, with dist_version_id "", which the matcher
 * takes as matching no numbered release.  Discovery failing is a warning,
 * never a failed update: the records are the same, only less matchable.
 *
 * Settings (updaters.config.debian.*):
 *   url       the tracker JSON (default above)
 *   mirror    the Debian archive (default DEBIAN_MIRROR below)
 *   releases  "codename=number" pairs, space or comma separated, over what
 *             the archive says (or instead, when it cannot be read)
 */
#include "distro/debian/debian.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "updater/fetch.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/hashmap.h"
#include "util/log.h"

#define DEBIAN_URL "https://security-tracker.debian.org/tracker/data/json"
#define TRACKER_LINK "https://security-tracker.debian.org/tracker/"

#define DEBIAN_MIRROR "https://deb.debian.org/debian/"

/* What fetch() leaves in its directory. */
#define TRACKER_FILE "tracker.json"
#define RELEASES_FILE "releases.json"

struct debian {
	struct clr_hashmap numbers; /* the releases setting: codename ->
				     * release number (malloc'd) */
	char *mirror;               /* ends in '/' */
};

/* One release's distribution strings, made once per parse. */
struct release {
	const char *codename, *version_id, *version, *pretty;
};

struct parse {
	struct clr_updater *u;
	struct clr_vuln_set *out;
	const char *where;         /* the file, for messages */
	const char *data;          /* the whole document, for offsets */
	bool mapped;               /* data is our private file mapping */
	size_t dropped;            /* bytes of it already given back */
	const struct clr_hashmap *numbers; /* codename -> release number */
	struct clr_hashmap rels;   /* codename -> struct release (arena) */
	struct clr_hashmap words;  /* urgency -> its copy in the arena */
	const char *empty, *updater, *did, *dname, *kind, *scheme;
	/* Where we are, for messages. */
	const char *pkg;
	size_t off;                /* the package's byte offset */
};

static const char *astr(struct parse *p, const char *s)
{
	return clr_arena_strdup(&p->out->arena, s);
}

/* --- release numbers ---------------------------------------------------- */

static bool word_ok(const char *s, size_t n, bool digits)
{
	if (!n || n > 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool digit = c >= '0' && c <= '9';

		if (digits ? !digit
			   : !((c >= 'a' && c <= 'z') || digit || c == '-'))
			return false;
	}
	return true;
}

/* Reads "codename=number" pairs (space or comma separated) into
 * d->numbers. */
static int set_releases(struct debian *d, const char *s)
{
	while (*s) {
		size_t n = strcspn(s, " \t\n,"), k;
		const char *eq = memchr(s, '=', n);
		char *name, *old;

		if (!n) {
			s++;
			continue;
		}
		k = eq ? (size_t)(eq - s) : 0;
		if (!eq || !word_ok(s, k, false) ||
		    !word_ok(eq + 1, n - k - 1, true))
			return clr_error_set(CLR_EINVALID, "updaters.config."
					     "debian.releases: '%.*s' is not "
					     "codename=number", (int)n, s);
		name = clr_strndup(s, k);
		old = clr_hashmap_put(&d->numbers, name,
				      clr_strndup(eq + 1, n - k - 1));
		free(old);
		free(name);
		s += n;
	}
	return 0;
}

/* --- records ------------------------------------------------------------ */

static const struct release *release_of(struct parse *p, const char *code)
{
	struct release *r = clr_hashmap_get(&p->rels, code);
	const char *num;

	if (r)
		return r;
	r = clr_arena_alloc(&p->out->arena, sizeof(*r));
	r->codename = astr(p, code);
	num = clr_hashmap_get(p->numbers, code);
	if (num && *num) {
		size_t n = strlen(code) + strlen(num) + 64;
		char *v = clr_arena_alloc(&p->out->arena, n);
		char *pretty = clr_arena_alloc(&p->out->arena, n);

		/* As Debian's own os-release writes them. */
		snprintf(v, n, "%s (%s)", num, code);
		snprintf(pretty, n, "Debian GNU/Linux %s (%s)", num, code);
		r->version_id = astr(p, num);
		r->version = v;
		r->pretty = pretty;
	} else {
		r->version_id = r->version = r->pretty = p->empty;
	}
	clr_hashmap_put(&p->rels, code, r);
	return r;
}

static const char *word_of(struct parse *p, const char *w)
{
	const char *s = clr_hashmap_get(&p->words, w);

	if (!s) {
		s = astr(p, w);
		clr_hashmap_put(&p->words, w, (void *)s);
	}
	return s;
}

/* DESIGN.md §3: Debian's urgency, without the "**" the tracker appends
 * when the urgency was guessed from NVD. */
static enum clr_severity urgency_severity(const char *u)
{
	size_t n = strlen(u);

	while (n && (u[n - 1] == '*' || u[n - 1] == ' '))
		n--;
#define IS(w) (n == sizeof(w) - 1 && !memcmp(u, w, n))
	if (IS("unimportant"))
		return CLR_SEV_NEGLIGIBLE;
	if (IS("low"))
		return CLR_SEV_LOW;
	if (IS("medium"))
		return CLR_SEV_MEDIUM;
	if (IS("high"))
		return CLR_SEV_HIGH;
#undef IS
	return CLR_SEV_UNKNOWN;  /* "not yet assigned", "end-of-life", ... */
}

/* The string member key of obj, NULL when absent or null; CLR_EINVALID
 * for another type or (max not 0) a longer one. */
static int get_str(const char **out, struct parse *p, json_t *obj,
		   const char *key, const char *cve, const char *rel,
		   size_t max)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (json_is_string(v) && (!max || json_string_length(v) <= max)) {
		*out = json_string_value(v);
		return 0;
	}
	return clr_error_set(CLR_EINVALID, "%s: package '%s' (byte %zu): "
			     "%s%s%s: %s is %s", p->where, p->pkg, p->off, cve,
			     rel ? ", release " : "", rel ? rel : "", key,
			     json_is_string(v) ? "too long" : "not a string");
}

static int one_release(struct parse *p, const char *pkgname, const char *cve,
		       const char *description, const char *link,
		       const char *code, json_t *rel)
{
	const char *status, *fixed, *urgency;
	const struct release *r;
	struct clr_vuln v;
	int err;

	if (!json_is_object(rel))
		return clr_error_set(CLR_EINVALID, "%s: package '%s' (byte "
				     "%zu): %s: release '%s' is not an object",
				     p->where, p->pkg, p->off, cve, code);
	if (strlen(code) > CLR_DEBIAN_WORD_MAX)
		return clr_error_set(CLR_EINVALID, "%s: package '%s' (byte "
				     "%zu): %s: release name too long",
				     p->where, p->pkg, p->off, cve);
	if ((err = get_str(&status, p, rel, "status", cve, code,
			   CLR_DEBIAN_WORD_MAX)) ||
	    (err = get_str(&fixed, p, rel, "fixed_version", cve, code,
			   CLR_DEBIAN_WORD_MAX)) ||
	    (err = get_str(&urgency, p, rel, "urgency", cve, code,
			   CLR_DEBIAN_WORD_MAX)))
		return err;
	if (!status)
		return clr_error_set(CLR_EINVALID, "%s: package '%s' (byte "
				     "%zu): %s, release %s: no status",
				     p->where, p->pkg, p->off, cve, code);
	if (!strcmp(status, "open") || !strcmp(status, "undetermined"))
		fixed = NULL;
	else if (fixed && !strcmp(fixed, "0"))
		return 0;  /* never affected in this release */
	r = release_of(p, code);
	v = (struct clr_vuln){
		.name = cve,
		.updater = p->updater,
		.description = description,
		.issued = p->empty,
		.links = link,
		.severity = urgency ? word_of(p, urgency) : p->empty,
		.normalized_severity = urgency ? urgency_severity(urgency)
					       : CLR_SEV_UNKNOWN,
		.package_name = pkgname,
		.package_kind = p->kind,
		.package_module = p->empty,
		.arch = p->empty,
		.arch_op = p->empty,
		.dist_did = p->did,
		.dist_name = p->dname,
		.dist_version = r->version,
		.dist_version_id = r->version_id,
		.dist_version_code_name = r->codename,
		.dist_pretty_name = r->pretty,
		.dist_cpe = p->empty,
		.repo_name = p->empty,
		.repo_uri = p->empty,
		.version_scheme = p->scheme,
		.fixed_in_version = fixed && *fixed ? astr(p, fixed) : p->empty,
		.affected = p->empty,
	};
	/* Pushed as is: every string is in out's arena already, shared
	 * between records where they are equal (see the top). */
	clr_vec_push(&p->out->vulns, &v);
	return 0;
}

static int one_package(struct parse *p, const char *name, json_t *pkg)
{
	const char *pkgname, *cve;
	json_t *info;
	int err;

	if (!json_is_object(pkg))
		return clr_error_set(CLR_EINVALID, "%s: package '%s' (byte "
				     "%zu) is not an object", p->where, name,
				     p->off);
	pkgname = astr(p, name);
	json_object_foreach(pkg, cve, info) {
		const char *desc, *code, *name_a, *link;
		json_t *rels, *rel;
		char *l;

		if (!json_is_object(info))
			return clr_error_set(CLR_EINVALID, "%s: package '%s' "
					     "(byte %zu): %s is not an object",
					     p->where, name, p->off, cve);
		if (!*cve || strlen(cve) > CLR_DEBIAN_WORD_MAX)
			return clr_error_set(CLR_EINVALID, "%s: package '%s' "
					     "(byte %zu): issue name empty or "
					     "too long", p->where, name,
					     p->off);
		if ((err = get_str(&desc, p, info, "description", cve, NULL,
				   0)))
			return err;
		rels = json_object_get(info, "releases");
		if (!rels || json_is_null(rels))
			continue;
		/* The tracker serialises an empty releases map as []. */
		if (json_is_array(rels) && !json_array_size(rels))
			continue;
		if (!json_is_object(rels))
			return clr_error_set(CLR_EINVALID, "%s: package '%s' "
					     "(byte %zu): %s: releases is not "
					     "an object", p->where, name,
					     p->off, cve);
		if (!json_object_size(rels))
			continue;
		name_a = astr(p, cve);
		desc = desc && *desc ? astr(p, desc) : p->empty;
		if (asprintf(&l, TRACKER_LINK "%s", cve) < 0)
			abort();
		link = astr(p, l);
		free(l);
		json_object_foreach(rels, code, rel)
			if ((err = one_release(p, pkgname, name_a, desc, link,
					       code, rel)))
				return err;
	}
	return 0;
}

/* --- the top-level scanner ---------------------------------------------- */

static const char *skip_ws(const char *s, const char *end)
{
	while (s < end && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
		s++;
	return s;
}

/* s at '"': the byte after the closing quote, or NULL when the document
 * ends first.  Escapes are only skipped here; jansson checks them. */
static const char *scan_string(const char *s, const char *end)
{
	s++;
	while (s < end) {
		const char *q = memchr(s, '"', (size_t)(end - s));
		size_t bs = 0;

		if (!q)
			return NULL;
		while (q - bs > s && q[-1 - (ptrdiff_t)bs] == '\\')
			bs++;
		s = q + 1;
		if (!(bs & 1))
			return s;
	}
	return NULL;
}

/* s at '{' or '[': the byte after the bracket that closes it, or NULL. */
static const char *scan_value(const char *s, const char *end)
{
	size_t depth = 0;

	while (s < end) {
		switch (*s) {
		case '"':
			if (!(s = scan_string(s, end)))
				return NULL;
			continue;
		case '{':
		case '[':
			depth++;
			break;
		case '}':
		case ']':
			if (!--depth)
				return s + 1;
			break;
		}
		s++;
	}
	return NULL;
}

/*
 * Gives back the pages of a mapped document that are behind us: they are
 * never read again, and the kernel would otherwise count the whole file
 * (hundreds of MB) in our resident size until the parse ends.
 */
static void release_pages(struct parse *p, const char *upto)
{
	const size_t step = (size_t)16 << 20;
	size_t done = (size_t)(upto - p->data) & ~(step - 1);

	if (!p->mapped || done <= p->dropped)
		return;
	madvise((char *)p->data + p->dropped, done - p->dropped,
		MADV_DONTNEED);
	p->dropped = done;
}

static int bad(struct parse *p, const char *at, const char *what)
{
	return clr_error_set(CLR_EINVALID, "%s: byte %zu: %s", p->where,
			     (size_t)(at - p->data), what);
}

static int parse_doc(struct parse *p, const char *data, size_t len)
{
	const char *s = data, *end = data + len;
	int err;

	s = skip_ws(s, end);
	if (s == end || *s != '{')
		return bad(p, s, "the tracker document is not a JSON object");
	s = skip_ws(s + 1, end);
	if (s < end && *s == '}')
		return bad(p, s, "the tracker document lists no packages");
	for (;;) {
		const char *k0 = s, *k1, *v1;
		json_error_t je;
		json_t *key, *val;

		if (s == end)
			return bad(p, s, "truncated document");
		if (*s != '"')
			return bad(p, s, "expected a package name");
		if (!(k1 = scan_string(s, end)))
			return bad(p, s, "truncated document");
		if ((size_t)(k1 - k0) > CLR_DEBIAN_WORD_MAX)
			return bad(p, s, "package name too long");
		if (!(key = json_loadb(k0, (size_t)(k1 - k0), JSON_DECODE_ANY,
				       &je)))
			return bad(p, s, "bad package name string");
		s = skip_ws(k1, end);
		if (s == end || *s != ':') {
			json_decref(key);
			return bad(p, s, "expected ':' after a package name");
		}
		s = skip_ws(s + 1, end);
		p->pkg = json_string_value(key);
		p->off = (size_t)(s - data);
		if (!*p->pkg) {
			json_decref(key);
			return bad(p, k0, "empty package name");
		}
		if (s == end || *s != '{') {
			err = clr_error_set(CLR_EINVALID, "%s: package '%s' "
					    "(byte %zu) is not an object",
					    p->where, p->pkg, p->off);
			json_decref(key);
			return err;
		}
		if (!(v1 = scan_value(s, end))) {
			json_decref(key);
			return bad(p, s, "truncated document");
		}
		if ((size_t)(v1 - s) > CLR_DEBIAN_PACKAGE_MAX) {
			err = clr_error_set(CLR_ELIMIT, "%s: package '%s' "
					    "(byte %zu) is larger than %zu "
					    "bytes", p->where, p->pkg, p->off,
					    CLR_DEBIAN_PACKAGE_MAX);
			json_decref(key);
			return err;
		}
		if (!(val = json_loadb(s, (size_t)(v1 - s), 0, &je))) {
			err = clr_error_set(CLR_EINVALID, "%s: byte %zu "
					    "(package '%s'): %s", p->where,
					    p->off + (size_t)je.position,
					    p->pkg, je.text);
			json_decref(key);
			return err;
		}
		err = one_package(p, p->pkg, val);
		json_decref(val);
		json_decref(key);
		if (err)
			return err;
		s = skip_ws(v1, end);
		release_pages(p, s);
		if (s < end && *s == ',') {
			s = skip_ws(s + 1, end);
			continue;
		}
		if (s < end && *s == '}')
			break;
		return bad(p, s, s == end ? "truncated document"
					  : "expected ',' or '}'");
	}
	if (skip_ws(s + 1, end) != end)
		return bad(p, s + 1, "data after the document");
	return 0;
}

static int parse_buf(struct clr_updater *u, const struct clr_hashmap *numbers,
		     const char *data, size_t len, bool mapped,
		     const char *where, struct clr_vuln_set *out)
{
	struct parse p = {
		.u = u, .out = out, .where = where, .data = data,
		.mapped = mapped, .dropped = 0, .numbers = numbers,
		.rels = CLR_HASHMAP_INIT, .words = CLR_HASHMAP_INIT,
		.pkg = "", .off = 0,
	};
	size_t mark = out->vulns.len;
	int err;

	if (len > CLR_DEBIAN_FILE_MAX)
		return clr_error_set(CLR_ELIMIT, "%s: larger than %zu bytes",
				     where, CLR_DEBIAN_FILE_MAX);
	p.empty = astr(&p, "");
	p.updater = astr(&p, u->name);
	p.did = astr(&p, "debian");
	p.dname = astr(&p, "Debian GNU/Linux");
	p.kind = astr(&p, "source");
	p.scheme = astr(&p, "dpkg");
	err = parse_doc(&p, data, len);
	if (err)
		clr_vec_truncate(&out->vulns, mark);
	clr_hashmap_release(&p.rels, NULL);
	clr_hashmap_release(&p.words, NULL);
	return err;
}

int clr_debian_parse_buf(struct clr_updater *u, const char *data, size_t len,
			 const char *where, struct clr_vuln_set *out)
{
	struct debian *d = u->priv;

	return parse_buf(u, &d->numbers, data, len, false, where, out);
}

/* --- release discovery -------------------------------------------------- */

/* Names in dists/ that are not releases: suite aliases (symbolic links to
 * a codename's directory, so nothing is lost by skipping them) and the
 * side suites of a release. */
static bool is_alias(const char *s, size_t n)
{
	static const char *const aliases[] = {
		"stable", "testing", "unstable", "oldstable", "oldoldstable",
		"oldoldoldstable", "experimental", "rc-buggy",
	};
	static const char *const suffixes[] = {
		"-updates", "-proposed-updates", "-security",
	};

	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (strlen(aliases[i]) == n && !memcmp(s, aliases[i], n))
			return true;
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		size_t k = strlen(suffixes[i]);

		if (n > k && !memcmp(s + n - k, suffixes[i], k))
			return true;
	}
	/* bookworm-backports, bookworm-backports-sloppy, stable-backports */
	return memmem(s, n, "-backports", 10) != NULL;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void clr_debian_codenames_from_listing(struct clr_vec *out, const char *html,
				       size_t len)
{
	const char *s = html, *end = html + len;
	size_t first = out->len, n;

	/* href="bookworm/" (or href=bookworm/); relative links to a
	 * directory only, which leaves out "../", "/debian/" and the
	 * "?C=N;O=D" sorting links of Apache's listings. */
	while (s < end && out->len - first < CLR_DEBIAN_RELEASES_MAX) {
		const char *h = memmem(s, (size_t)(end - s), "href=", 5), *v;
		char q, *name;

		if (!h)
			break;
		s = h + 5;
		q = s < end && (*s == '"' || *s == '\'') ? *s++ : '\0';
		v = s;
		while (s < end && *s != '/' && *s != q && *s != '>' &&
		       *s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
			s++;
		n = (size_t)(s - v);
		/* "./" names the listing itself; word_ok() refuses '.' and
		 * upper case, so "Debian12.5" style links go too. */
		if (s == end || *s != '/' || s + 1 == end ||
		    !(s[1] == q || (!q && (s[1] == '>' || s[1] == ' '))) ||
		    !word_ok(v, n, false) || is_alias(v, n))
			continue;
		name = clr_strndup(v, n);
		clr_vec_push(out, &name);
	}
	n = out->len - first;
	if (n < 2)
		return;
	qsort(CLR_VEC_AT(out, char *, first), n, sizeof(char *), cmp_str);
	/* Drop repeats: listings link each name twice at times (icon and
	 * text). */
	for (size_t i = first + 1, w = first + 1; i <= out->len; i++) {
		if (i == out->len) {
			out->len = w;
			break;
		}
		if (!strcmp(*CLR_VEC_AT(out, char *, i),
			    *CLR_VEC_AT(out, char *, w - 1))) {
			free(*CLR_VEC_AT(out, char *, i));
			continue;
		}
		*CLR_VEC_AT(out, char *, w++) = *CLR_VEC_AT(out, char *, i);
	}
}

void clr_debian_release_fields(const char *data, size_t len, char **codename,
			       char **version_id)
{
	static const char armour[] = "-----BEGIN PGP SIGNED MESSAGE-----";
	const char *s = data, *end = data + len;

	*codename = NULL;
	*version_id = NULL;
	/* InRelease: the armour header lines ("Hash: SHA256") end at the
	 * first empty line; the fields follow. */
	if (len >= sizeof(armour) - 1 &&
	    !memcmp(s, armour, sizeof(armour) - 1)) {
		const char *e = memmem(s, len, "\n\n", 2);

		s = e ? e + 2 : end;
	}
	/* The first paragraph, one field a line; continuation lines (the
	 * checksum lists) start with a space and are skipped. */
	while (s < end && *s != '\n' && !(*codename && *version_id)) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *eol = nl ? nl : end, *v;
		size_t n;

		v = memchr(s, ':', (size_t)(eol - s));
		if (v && *s != ' ' && *s != '\t') {
			size_t k = (size_t)(v - s);

			v++;
			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			n = (size_t)(eol - v);
			while (n && (v[n - 1] == ' ' || v[n - 1] == '\r' ||
				     v[n - 1] == '\t'))
				n--;
			if (k == 8 && !memcmp(s, "Codename", 8) && !*codename &&
			    word_ok(v, n, false))
				*codename = clr_strndup(v, n);
			/* "12.5" is release 12, point release 5; os-release's
			 * VERSION_ID is the "12". */
			if (k == 7 && !memcmp(s, "Version", 7) &&
			    !*version_id) {
				const char *dot = memchr(v, '.', n);
				size_t d = dot ? (size_t)(dot - v) : n;

				if (word_ok(v, d, true))
					*version_id = clr_strndup(v, d);
			}
		}
		s = nl ? nl + 1 : end;
	}
	if (!*version_id)
		*version_id = clr_strdup("");
}

static void fetch_opts(struct clr_fetch_opts *o)
{
	clr_fetch_opts_init(o);
	/* Small documents that only improve the records: do not hold a run
	 * up for minutes when the archive is away. */
	o->timeout = 120;
	o->retries = 1;
}

/* codename -> number of the release in dists/<code>/Release (or
 * InRelease) into nums; "" and a warning when it cannot be read. */
static void read_release(struct clr_updater *u, struct clr_hashmap *nums,
			 const char *code)
{
	struct debian *d = u->priv;
	static const char *const files[] = { "Release", "InRelease" };
	struct clr_buf b = CLR_BUF_INIT(CLR_DEBIAN_RELEASE_MAX);
	struct clr_fetch_opts o;
	char *url = NULL, *name = NULL, *num = NULL;
	int err = CLR_ENOTFOUND;

	fetch_opts(&o);
	for (size_t i = 0; i < 2 && err == CLR_ENOTFOUND; i++) {
		free(url);
		if (asprintf(&url, "%sdists/%s/%s", d->mirror, code,
			     files[i]) < 0)
			abort();
		err = clr_fetch_bytes(&b, url, &o);
	}
	if (err) {
		clr_log_warn("%s: release %s: %s; its records get no release "
			     "number", u->name, code, clr_error_msg());
		free(clr_hashmap_put(nums, code, clr_strdup("")));
	} else {
		clr_debian_release_fields(clr_buf_str(&b), b.len, &name, &num);
		if (!*num)
			clr_log_debug("%s: %s has no Version (sid, testing)",
				      u->name, url);
		/* The Release file's Codename is the name the tracker uses;
		 * the directory is the same name on a plain mirror. */
		free(clr_hashmap_put(nums, name ? name : code, num));
		free(name);
	}
	free(url);
	clr_buf_release(&b);
}

/* The release numbers to use now: the archive's, then the setting over
 * them.  Never fails: what cannot be read is a warning. */
static void discover(struct clr_updater *u, struct clr_hashmap *nums)
{
	struct debian *d = u->priv;
	struct clr_buf html = CLR_BUF_INIT(CLR_DEBIAN_LISTING_MAX);
	struct clr_vec codes = CLR_VEC_INIT(char *);
	struct clr_fetch_opts o;
	const char *k;
	void *v;
	size_t pos = 0;
	char *url;
	int err;

	if (asprintf(&url, "%sdists/", d->mirror) < 0)
		abort();
	fetch_opts(&o);
	err = clr_fetch_bytes(&html, url, &o);
	if (!err)
		clr_debian_codenames_from_listing(&codes, clr_buf_str(&html),
						  html.len);
	if (err)
		clr_log_warn("%s: listing the releases: %s; release numbers "
			     "from the releases setting only", u->name,
			     clr_error_msg());
	else if (!codes.len)
		clr_log_warn("%s: %s links no release; release numbers from "
			     "the releases setting only", u->name, url);
	for (size_t i = 0; i < codes.len; i++) {
		read_release(u, nums, *CLR_VEC_AT(&codes, char *, i));
		free(*CLR_VEC_AT(&codes, char *, i));
	}
	clr_vec_release(&codes);
	clr_buf_release(&html);
	free(url);
	while (clr_hashmap_next(&d->numbers, &pos, &k, &v))
		free(clr_hashmap_put(nums, k, clr_strdup(v)));
}

static json_t *numbers_json(const struct clr_hashmap *nums)
{
	json_t *o = json_object();
	const char *k;
	void *v;
	size_t pos = 0;

	while (clr_hashmap_next(nums, &pos, &k, &v))
		json_object_set_new(o, k, json_string(v));
	return o;
}

/* releases.json (written by fetch(), so only sanity-checked) into nums. */
static int load_numbers(struct clr_hashmap *nums, const char *path)
{
	json_error_t je;
	json_t *o = json_load_file(path, JSON_REJECT_DUPLICATES, &je), *v;
	const char *k;
	int err = 0;

	if (!json_is_object(o)) {
		json_decref(o);
		return clr_error_set(CLR_EINVALID, "%s: not a JSON object "
				     "(%s)", path, je.text);
	}
	json_object_foreach(o, k, v) {
		const char *s = json_string_value(v);

		if (!s || !word_ok(k, strlen(k), false) ||
		    (*s && !word_ok(s, strlen(s), true))) {
			err = clr_error_set(CLR_EINVALID, "%s: '%s' is not "
					    "codename: number", path, k);
			break;
		}
		free(clr_hashmap_put(nums, k, clr_strdup(s)));
	}
	json_decref(o);
	return err;
}

/* --- the updater -------------------------------------------------------- */

static int write_file(const char *path, const char *s)
{
	FILE *f = fopen(path, "wxe");
	int bad;

	if (!f)
		return clr_error_set(CLR_EIO, "%s: %s", path, strerror(errno));
	bad = fputs(s, f) < 0;
	bad |= fclose(f) != 0;
	if (bad)
		return clr_error_set(CLR_EIO, "%s: write failed", path);
	return 0;
}

static void free_number(void *v)
{
	free(v);
}

static int debian_fetch(struct clr_updater *u, const char *prev,
			struct clr_fetched *out)
{
	struct clr_hashmap nums = CLR_HASHMAP_INIT;
	struct clr_fetch_result r = { 0 };
	struct clr_fetch_opts o;
	json_t *rels, *pj, *fp = NULL;
	char *dir = NULL, *tracker = NULL, *relpath = NULL, *relstr;
	int err;

	discover(u, &nums);
	rels = numbers_json(&nums);
	clr_hashmap_release(&nums, free_number);
	relstr = json_dumps(rels, JSON_SORT_KEYS | JSON_INDENT(1));
	/* The tracker's validators only count when the release numbers are
	 * the stored ones too: a new release is new data for every record
	 * of its codename. */
	pj = prev ? json_loads(prev, 0, NULL) : NULL;
	clr_fetch_opts_init(&o);
	o.prev = json_is_object(pj) &&
		 json_equal(json_object_get(pj, "releases"), rels) ? prev
								   : NULL;
	json_decref(pj);
	err = clr_fetch(&r, u->url, &o);
	if (err)
		goto out;
	if (r.is_dir) {
		err = clr_error_set(CLR_EINVALID, "%s: a zip archive, not the "
				    "tracker JSON", u->url);
		goto out;
	}
	if ((err = clr_fetch_tempdir(&dir)))
		goto out;
	if (asprintf(&tracker, "%s/" TRACKER_FILE, dir) < 0 ||
	    asprintf(&relpath, "%s/" RELEASES_FILE, dir) < 0)
		abort();
	/* Both under $TMPDIR: a rename, not a copy of 70 MB. */
	if (rename(r.path, tracker)) {
		err = clr_error_set(CLR_EIO, "%s: %s", tracker,
				    strerror(errno));
		goto out;
	}
	if ((err = write_file(relpath, relstr)))
		goto out;
	fp = json_loads(r.fingerprint, 0, NULL);
	if (!json_is_object(fp)) {
		json_decref(fp);
		fp = json_object();
	}
	json_object_set(fp, "releases", rels);
	out->fingerprint = json_dumps(fp, JSON_PRESERVE_ORDER | JSON_COMPACT);
	out->path = dir;
	dir = NULL;
out:
	if (dir) {
		clr_fetch_remove(dir);
		free(dir);
	}
	json_decref(fp);
	json_decref(rels);
	free(relstr);
	free(tracker);
	free(relpath);
	clr_fetch_result_release(&r);
	return err;
}

/* Parses the tracker JSON at path with the release numbers nums. */
static int parse_file(struct clr_updater *u, const struct clr_hashmap *nums,
		      const char *path, struct clr_vuln_set *out)
{
	struct stat st;
	void *map = NULL;
	int fd, err;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return clr_error_set(CLR_EIO, "%s: %s", path,
				     strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return clr_error_set(CLR_EIO, "%s: not a readable file",
				     path);
	}
	if (st.st_size > 0) {
		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE,
			   fd, 0);
		if (map == MAP_FAILED) {
			err = clr_error_set(CLR_EIO, "%s: mmap: %s", path,
					    strerror(errno));
			close(fd);
			return err;
		}
		/* One pass from start to end. */
		madvise(map, (size_t)st.st_size, MADV_SEQUENTIAL);
	}
	close(fd);
	err = parse_buf(u, nums, map ? map : "", (size_t)st.st_size,
			map != NULL, path, out);
	if (map)
		munmap(map, (size_t)st.st_size);
	return err;
}

static int debian_parse(struct clr_updater *u, const struct clr_fetched *in,
			struct clr_vuln_set *out)
{
	struct debian *d = u->priv;
	struct clr_hashmap nums = CLR_HASHMAP_INIT;
	char *tracker, *relpath;
	struct stat st;
	int err;

	/* A plain file is a tracker document on its own (tests, the fuzz
	 * target): the releases setting is all there is to go by. */
	if (stat(in->path, &st) || !S_ISDIR(st.st_mode))
		return parse_file(u, &d->numbers, in->path, out);
	if (asprintf(&tracker, "%s/" TRACKER_FILE, in->path) < 0 ||
	    asprintf(&relpath, "%s/" RELEASES_FILE, in->path) < 0)
		abort();
	err = load_numbers(&nums, relpath);
	if (!err)
		err = parse_file(u, &nums, tracker, out);
	clr_hashmap_release(&nums, free_number);
	free(tracker);
	free(relpath);
	return err;
}

static void debian_free(struct clr_updater *u)
{
	struct debian *d;

	if (!u)
		return;
	d = u->priv;
	if (d) {
		clr_hashmap_release(&d->numbers, free_number);
		free(d->mirror);
		free(d);
	}
	free(u->name);
	free(u->url);
	free(u);
}

static const struct clr_updater_ops debian_ops = {
	.fetch = debian_fetch,
	.parse = debian_parse,
	.free = debian_free,
};

static int debian_create(struct clr_vec *out,
			 const char *(*setting)(void *arg, const char *key),
			 void *arg)
{
	struct clr_updater *u = clr_calloc(1, sizeof(*u));
	struct debian *d = clr_calloc(1, sizeof(*d));
	const char *url = setting ? setting(arg, "url") : NULL;
	const char *rels = setting ? setting(arg, "releases") : NULL;
	const char *mirror = setting ? setting(arg, "mirror") : NULL;
	size_t n;
	int err;

	clr_hashmap_init(&d->numbers);
	u->ops = &debian_ops;
	u->name = clr_strdup("debian");
	u->url = clr_strdup(url && *url ? url : DEBIAN_URL);
	u->priv = d;
	if (!mirror || !*mirror)
		mirror = DEBIAN_MIRROR;
	n = strlen(mirror);
	if (asprintf(&d->mirror, "%s%s", mirror,
		     mirror[n - 1] == '/' ? "" : "/") < 0)
		abort();
	if (rels && (err = set_releases(d, rels))) {
		debian_free(u);
		return err;
	}
	clr_vec_push(out, &u);
	return 0;
}

const struct clr_updater_factory clr_factory_debian = {
	.name = "debian",
	.create = debian_create,
};
