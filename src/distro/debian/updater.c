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
 * has and the matcher uses, so codenames map to numbers through a table:
 * the default one below plus the `releases` setting ("forky=14 duke=15").
 * A codename not in the table (sid, a new release before the table knows
 * it) still gives records, with dist_version_id "".
 *
 * Settings (updaters.config.debian.*):
 *   url       the tracker JSON (default above)
 *   releases  extra or corrected "codename=number" pairs, space or comma
 *             separated
 */
#include "distro/debian/debian.h"

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

#define DEBIAN_URL "https://security-tracker.debian.org/tracker/data/json"
#define TRACKER_LINK "https://security-tracker.debian.org/tracker/"

/* Debian's releases by codename (debian.org/releases).  sid has no number:
 * it is never released. */
static const struct {
	const char *codename, *number;
} default_releases[] = {
	{ "squeeze", "6" }, { "wheezy", "7" }, { "jessie", "8" },
	{ "stretch", "9" }, { "buster", "10" }, { "bullseye", "11" },
	{ "bookworm", "12" }, { "trixie", "13" }, { "forky", "14" },
	{ "duke", "15" },
};

struct debian {
	struct clr_hashmap numbers; /* codename -> release number (malloc'd) */
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

/* Reads "codename=number" pairs (space or comma separated) over the
 * defaults already in d->numbers. */
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
	struct debian *d = p->u->priv;
	struct release *r = clr_hashmap_get(&p->rels, code);
	const char *num;

	if (r)
		return r;
	r = clr_arena_alloc(&p->out->arena, sizeof(*r));
	r->codename = astr(p, code);
	num = clr_hashmap_get(&d->numbers, code);
	if (num) {
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

static int parse_buf(struct clr_updater *u, const char *data, size_t len,
		     bool mapped, const char *where, struct clr_vuln_set *out)
{
	struct parse p = {
		.u = u, .out = out, .where = where, .data = data,
		.mapped = mapped, .dropped = 0,
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
	return parse_buf(u, data, len, false, where, out);
}

/* --- the updater -------------------------------------------------------- */

static int debian_fetch(struct clr_updater *u, const char *prev,
			struct clr_fetched *out)
{
	return clr_fetch_into(out, u->url, prev, NULL);
}

static int debian_parse(struct clr_updater *u, const struct clr_fetched *in,
			struct clr_vuln_set *out)
{
	struct stat st;
	void *map = NULL;
	int fd, err;

	if ((fd = open(in->path, O_RDONLY | O_CLOEXEC)) < 0)
		return clr_error_set(CLR_EIO, "%s: %s", in->path,
				     strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return clr_error_set(CLR_EIO, "%s: not a readable file",
				     in->path);
	}
	if (st.st_size > 0) {
		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE,
			   fd, 0);
		if (map == MAP_FAILED) {
			err = clr_error_set(CLR_EIO, "%s: mmap: %s", in->path,
					    strerror(errno));
			close(fd);
			return err;
		}
		/* One pass from start to end. */
		madvise(map, (size_t)st.st_size, MADV_SEQUENTIAL);
	}
	close(fd);
	err = parse_buf(u, map ? map : "", (size_t)st.st_size, map != NULL,
			in->path, out);
	if (map)
		munmap(map, (size_t)st.st_size);
	return err;
}

static void free_number(void *v)
{
	free(v);
}

static void debian_free(struct clr_updater *u)
{
	struct debian *d;

	if (!u)
		return;
	d = u->priv;
	if (d) {
		clr_hashmap_release(&d->numbers, free_number);
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
	int err;

	clr_hashmap_init(&d->numbers);
	for (size_t i = 0;
	     i < sizeof(default_releases) / sizeof(default_releases[0]); i++)
		clr_hashmap_put(&d->numbers, default_releases[i].codename,
				clr_strdup(default_releases[i].number));
	u->ops = &debian_ops;
	u->name = clr_strdup("debian");
	u->url = clr_strdup(url && *url ? url : DEBIAN_URL);
	u->priv = d;
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
