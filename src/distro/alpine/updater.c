/*
 * updater.c - the Alpine source: secdb (https://secdb.alpinelinux.org/),
 * one JSON document per release branch and repository,
 * <branch>/{main,community}.json:
 *
 *   {"distroversion": "v3.19", "reponame": "main", "urlprefix": ...,
 *    "apkurl": ..., "archs": [...],
 *    "packages": [{"pkg": {"name": "openssl",
 *                          "secfixes": {"3.1.4-r1": ["CVE-2023-5678"],
 *                                       "0": ["CVE-2022-1234"]}}}]}
 *
 * A secfixes key is the version that fixed the listed issues on that
 * branch; "0" means the branch was never affected, which gives no record
 * (DESIGN.md §4).  One record per (package, issue, fixed version), keyed by
 * the aports name, which is the origin (source) package of what apk
 * installs.  Secdb carries no severity (Unknown, as in Clair).
 *
 * The issue strings are written by hand in APKBUILDs and say more than an
 * id: "CVE-2017-8904 XSA-214" (the CVE and Xen's advisory for it),
 * "CVE-2018-14882 (RPL)", "CVE-2017-11610 " or, with no CVE, "XSA-207".
 * A string gives its CVE ids when it has any (the other ids are aliases of
 * the same issue) and otherwise its first word; a word in parentheses and
 * everything after it is commentary.
 *
 * One updater per (branch, repository): "alpine-main-v3.19-updater", as
 * Clair names them.  The branches come from the secdb directory listing
 * (fetched when the updaters are made) unless the `branches` setting
 * lists them.
 *
 * Settings (updaters.config.alpine.*):
 *   url       the secdb base (default https://secdb.alpinelinux.org/)
 *   branches  "v3.19 v3.20" (or "3.19,3.20"): no discovery
 *   repos     "main community" (the default)
 */
#include "distro/alpine/alpine.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "updater/fetch.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/hashmap.h"

#define ALPINE_URL "https://secdb.alpinelinux.org/"
#define ALPINE_LINK "https://security.alpinelinux.org/vuln/"

struct alpine {
	char *branch;      /* "v3.19" */
	char *version_id;  /* "3.19", as /etc/os-release's VERSION_ID starts */
	char *repo;        /* "main" */
};

struct parse {
	struct clr_updater *u;
	struct clr_vuln_set *out;
	const char *where;
	const char *empty, *updater, *did, *dname, *vid, *pretty, *kind,
		*scheme;
	struct clr_hashmap seen;  /* "fixed\nid" of the current package */
};

static const char *astr(struct parse *p, const char *s)
{
	return clr_arena_strdup(&p->out->arena, s);
}

static void emit(struct parse *p, const char *pkg, const char *fixed,
		 const char *id, size_t idlen)
{
	struct clr_vuln v;
	char *key, *name;
	const char *links = p->empty;

	if (asprintf(&key, "%s\n%.*s", fixed, (int)idlen, id) < 0)
		abort();
	if (clr_hashmap_get(&p->seen, key)) {
		free(key);
		return;
	}
	clr_hashmap_put(&p->seen, key, (void *)p->empty);
	free(key);
	name = clr_arena_strndup(&p->out->arena, id, idlen);
	if (!strncmp(name, "CVE-", 4)) {
		char *l;

		if (asprintf(&l, ALPINE_LINK "%s", name) < 0)
			abort();
		links = astr(p, l);
		free(l);
	}
	v = (struct clr_vuln){
		.name = name,
		.updater = p->updater,
		.description = p->empty,
		.issued = p->empty,
		.links = links,
		.severity = p->empty,
		.normalized_severity = CLR_SEV_UNKNOWN,
		.package_name = pkg,
		.package_kind = p->kind,
		.package_module = p->empty,
		.arch = p->empty,
		.arch_op = p->empty,
		.dist_did = p->did,
		.dist_name = p->dname,
		.dist_version = p->empty,
		.dist_version_id = p->vid,
		.dist_version_code_name = p->empty,
		.dist_pretty_name = p->pretty,
		.dist_cpe = p->empty,
		.repo_name = p->empty,
		.repo_uri = p->empty,
		.version_scheme = p->scheme,
		.fixed_in_version = fixed,
		.affected = p->empty,
	};
	/* Every string is in out's arena; the package name and fixed version
	 * are shared by the records they belong to. */
	clr_vec_push(&p->out->vulns, &v);
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The ids one secfixes string names (see the top). */
static void emit_ids(struct parse *p, const char *pkg, const char *fixed,
		     const char *s)
{
	const char *w, *first = NULL;
	size_t n, first_len = 0, cves = 0;

	for (w = s;; w += n) {
		while (is_space(*w))
			w++;
		if (!*w || *w == '(')
			break;
		for (n = 0; w[n] && !is_space(w[n]); n++)
			;
		if (!first) {
			first = w;
			first_len = n;
		}
		if (n > 4 && !strncmp(w, "CVE-", 4)) {
			emit(p, pkg, fixed, w, n);
			cves++;
		}
	}
	if (!cves && first)
		emit(p, pkg, fixed, first, first_len);
}

/* CLR_EINVALID, naming the document and (when known) the package. */
__attribute__((format(printf, 3, 4)))
static int bad(struct parse *p, const char *pkg, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (pkg)
		return clr_error_set(CLR_EINVALID, "%s: package '%s': %s",
				     p->where, pkg, msg);
	return clr_error_set(CLR_EINVALID, "%s: %s", p->where, msg);
}

static int one_package(struct parse *p, json_t *entry, size_t i)
{
	json_t *pkg, *name, *secfixes, *ids, *id;
	const char *pname, *fixed;
	size_t k;

	if (!json_is_object(entry) ||
	    !json_is_object(pkg = json_object_get(entry, "pkg")))
		return bad(p, NULL, "packages[%zu] has no pkg object", i);
	name = json_object_get(pkg, "name");
	if (!json_is_string(name) || !json_string_length(name) ||
	    json_string_length(name) > CLR_ALPINE_WORD_MAX)
		return bad(p, NULL, "packages[%zu].pkg.name is not a package "
			   "name", i);
	pname = json_string_value(name);
	secfixes = json_object_get(pkg, "secfixes");
	if (!secfixes || json_is_null(secfixes))
		return 0;
	if (!json_is_object(secfixes))
		return bad(p, pname, "secfixes is not an object");
	clr_hashmap_release(&p->seen, NULL);
	pname = astr(p, pname);
	json_object_foreach(secfixes, fixed, ids) {
		const char *fixed_a;

		if (!*fixed || strlen(fixed) > CLR_ALPINE_WORD_MAX)
			return bad(p, pname, "secfixes has an empty or too "
				   "long version");
		if (!ids || json_is_null(ids))
			continue;  /* a version with no list (seen in v3.6) */
		if (!json_is_array(ids))
			return bad(p, pname, "secfixes '%.64s' is not a list",
				   fixed);
		if (!strcmp(fixed, "0"))
			continue;  /* never affected on this branch */
		fixed_a = astr(p, fixed);
		json_array_foreach(ids, k, id) {
			if (!json_is_string(id) ||
			    json_string_length(id) > CLR_ALPINE_WORD_MAX)
				return bad(p, pname, "secfixes '%.64s' lists "
					   "something that is not an id",
					   fixed);
			emit_ids(p, pname, fixed_a, json_string_value(id));
		}
	}
	return 0;
}

int clr_alpine_parse_buf(struct clr_updater *u, const char *data, size_t len,
			 const char *where, struct clr_vuln_set *out)
{
	struct alpine *a = u->priv;
	struct parse p = { .u = u, .out = out, .where = where,
			   .seen = CLR_HASHMAP_INIT };
	size_t mark = out->vulns.len, i;
	json_error_t je;
	json_t *doc, *pkgs, *e;
	char pretty[64];
	int err = 0;

	if (len > CLR_ALPINE_DOC_MAX)
		return clr_error_set(CLR_ELIMIT, "%s: larger than %zu bytes",
				     where, CLR_ALPINE_DOC_MAX);
	if (!(doc = json_loadb(data, len, 0, &je)))
		return clr_error_set(CLR_EINVALID, "%s: line %d column %d: %s",
				     where, je.line, je.column, je.text);
	if (!json_is_object(doc)) {
		err = bad(&p, NULL, "a secdb document is a JSON object");
		goto cleanup;
	}
	pkgs = json_object_get(doc, "packages");
	if (!pkgs) {
		err = bad(&p, NULL, "no packages list");
		goto cleanup;
	}
	/* An empty repository is written as "packages": null. */
	if (!json_is_null(pkgs) && !json_is_array(pkgs)) {
		err = bad(&p, NULL, "packages is not a list");
		goto cleanup;
	}
	p.empty = astr(&p, "");
	p.updater = astr(&p, u->name);
	p.did = astr(&p, "alpine");
	p.dname = astr(&p, "Alpine Linux");
	p.vid = astr(&p, a->version_id);
	snprintf(pretty, sizeof(pretty), "Alpine Linux %s", a->branch);
	p.pretty = astr(&p, pretty);
	p.kind = astr(&p, "source");
	p.scheme = astr(&p, "apk");
	json_array_foreach(pkgs, i, e)
		if ((err = one_package(&p, e, i)))
			break;
cleanup:
	if (err)
		clr_vec_truncate(&out->vulns, mark);
	clr_hashmap_release(&p.seen, NULL);
	json_decref(doc);
	return err;
}

/* --- branches ----------------------------------------------------------- */

/* "v3.19" or "3.19" -> major 3, minor 19; false for anything else. */
static bool branch_parse(const char *s, size_t n, unsigned *maj,
			 unsigned *min)
{
	unsigned v[2] = { 0, 0 };
	size_t i = 0;

	if (n && s[0] == 'v') {
		s++;
		n--;
	}
	for (int part = 0; part < 2; part++) {
		size_t start = i;

		while (i < n && s[i] >= '0' && s[i] <= '9' && i - start < 4)
			v[part] = v[part] * 10 + (unsigned)(s[i++] - '0');
		if (i == start)
			return false;
		if (part == 0 && (i >= n || s[i++] != '.'))
			return false;
	}
	if (i != n)
		return false;
	*maj = v[0];
	*min = v[1];
	return true;
}

struct branch {
	unsigned maj, min;
};

static int branch_cmp(const void *a, const void *b)
{
	const struct branch *x = a, *y = b;

	if (x->maj != y->maj)
		return x->maj < y->maj ? -1 : 1;
	return x->min < y->min ? -1 : x->min > y->min;
}

static void branches_finish(struct clr_vec *out, struct clr_vec *found)
{
	clr_vec_sort(found, branch_cmp);
	for (size_t i = 0; i < found->len; i++) {
		struct branch *b = CLR_VEC_AT(found, struct branch, i);
		char *s;

		if (i && !branch_cmp(b, CLR_VEC_AT(found, struct branch,
						   i - 1)))
			continue;
		if (asprintf(&s, "v%u.%u", b->maj, b->min) < 0)
			abort();
		clr_vec_push(out, &s);
	}
}

void clr_alpine_branches_from_index(struct clr_vec *out, const char *html,
				    size_t len)
{
	struct clr_vec found = CLR_VEC_INIT(struct branch);
	const char *s = html, *end = html + len;

	/* href="v3.19/" (or href=v3.19/); relative links only. */
	while (s < end) {
		const char *h = memmem(s, (size_t)(end - s), "href=", 5), *v;
		struct branch b;
		char q;

		if (!h)
			break;
		s = h + 5;
		q = s < end && (*s == '"' || *s == '\'') ? *s++ : '\0';
		v = s;
		while (s < end && *s != '/' && *s != q && *s != '>' &&
		       !is_space(*s))
			s++;
		if (s < end && *s == '/' &&
		    branch_parse(v, (size_t)(s - v), &b.maj, &b.min) &&
		    (b.maj > 3 || (b.maj == 3 && b.min >= 3)))
			CLR_VEC_PUSH(&found, &b);
	}
	branches_finish(out, &found);
	clr_vec_release(&found);
}

static int branches_from_setting(struct clr_vec *out, const char *s)
{
	struct clr_vec found = CLR_VEC_INIT(struct branch);

	while (*s) {
		size_t n = strcspn(s, " \t\n,");
		struct branch b;

		if (!n) {
			s++;
			continue;
		}
		if (!branch_parse(s, n, &b.maj, &b.min)) {
			clr_vec_release(&found);
			return clr_error_set(CLR_EINVALID, "updaters.config."
					     "alpine.branches: '%.*s' is not "
					     "a branch like v3.19", (int)n, s);
		}
		CLR_VEC_PUSH(&found, &b);
		s += n;
	}
	branches_finish(out, &found);
	clr_vec_release(&found);
	return 0;
}

/* --- the updater -------------------------------------------------------- */

static int alpine_fetch(struct clr_updater *u, const char *prev,
			struct clr_fetched *out)
{
	return clr_fetch_into(out, u->url, prev, NULL);
}

static int alpine_parse(struct clr_updater *u, const struct clr_fetched *in,
			struct clr_vuln_set *out)
{
	struct clr_buf b = CLR_BUF_INIT(CLR_ALPINE_DOC_MAX);
	char chunk[65536];
	ssize_t n;
	int fd, err = 0;

	if ((fd = open(in->path, O_RDONLY | O_CLOEXEC)) < 0)
		return clr_error_set(CLR_EIO, "%s: %s", in->path,
				     strerror(errno));
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = clr_error_set(CLR_EIO, "%s: %s", in->path,
					    strerror(errno));
			break;
		}
		if (clr_buf_add(&b, chunk, (size_t)n)) {
			err = clr_error_set(CLR_ELIMIT, "%s: larger than %zu "
					    "bytes", in->path,
					    CLR_ALPINE_DOC_MAX);
			break;
		}
	}
	close(fd);
	if (!err)
		err = clr_alpine_parse_buf(u, clr_buf_str(&b), b.len, in->path,
					   out);
	clr_buf_release(&b);
	return err;
}

static void alpine_free(struct clr_updater *u)
{
	struct alpine *a;

	if (!u)
		return;
	if ((a = u->priv)) {
		free(a->branch);
		free(a->version_id);
		free(a->repo);
		free(a);
	}
	free(u->name);
	free(u->url);
	free(u);
}

static const struct clr_updater_ops alpine_ops = {
	.fetch = alpine_fetch,
	.parse = alpine_parse,
	.free = alpine_free,
};

static struct clr_updater *alpine_new(const char *base, const char *branch,
				      const char *repo, size_t repo_len)
{
	struct clr_updater *u = clr_calloc(1, sizeof(*u));
	struct alpine *a = clr_calloc(1, sizeof(*a));
	size_t bl = strlen(base);

	a->branch = clr_strdup(branch);
	a->version_id = clr_strdup(branch + 1);
	a->repo = clr_strndup(repo, repo_len);
	u->ops = &alpine_ops;
	u->priv = a;
	if (asprintf(&u->name, "alpine-%s-%s-updater", a->repo, branch) < 0 ||
	    asprintf(&u->url, "%s%s%s/%s.json", base,
		     bl && base[bl - 1] == '/' ? "" : "/", branch,
		     a->repo) < 0)
		abort();
	return u;
}

static int alpine_create(struct clr_vec *out,
			 const char *(*setting)(void *arg, const char *key),
			 void *arg)
{
	const char *base = setting ? setting(arg, "url") : NULL;
	const char *bset = setting ? setting(arg, "branches") : NULL;
	const char *repos = setting ? setting(arg, "repos") : NULL;
	struct clr_vec branches = CLR_VEC_INIT(char *);
	int err = 0;

	if (!base || !*base)
		base = ALPINE_URL;
	if (!repos || !*repos)
		repos = "main community";
	for (const char *r = repos; *r;) {
		size_t n = strcspn(r, " \t\n,");

		for (size_t i = 0; i < n; i++)
			if (!((r[i] >= 'a' && r[i] <= 'z') ||
			      (r[i] >= '0' && r[i] <= '9') || r[i] == '-'))
				return clr_error_set(CLR_EINVALID,
						     "updaters.config.alpine."
						     "repos: '%.*s' is not a "
						     "repository name",
						     (int)n, r);
		r += n;
		r += strspn(r, " \t\n,");
	}
	if (bset && *bset) {
		err = branches_from_setting(&branches, bset);
	} else {
		struct clr_buf html = CLR_BUF_INIT(CLR_ALPINE_INDEX_MAX);

		err = clr_fetch_bytes(&html, base, NULL);
		if (!err)
			clr_alpine_branches_from_index(&branches,
						       clr_buf_str(&html),
						       html.len);
		if (!err && !branches.len)
			err = clr_error_set(CLR_EINVALID, "%s: the secdb "
					    "index lists no release branches",
					    base);
		if (err)
			clr_error_prefix(err, "alpine: discovering branches");
		clr_buf_release(&html);
	}
	for (size_t i = 0; !err && i < branches.len; i++) {
		const char *br = *CLR_VEC_AT(&branches, char *, i);

		for (const char *r = repos + strspn(repos, " \t\n,"); *r;) {
			size_t n = strcspn(r, " \t\n,");
			struct clr_updater *u = alpine_new(base, br, r, n);

			clr_vec_push(out, &u);
			r += n;
			r += strspn(r, " \t\n,");
		}
	}
	for (size_t i = 0; i < branches.len; i++)
		free(*CLR_VEC_AT(&branches, char *, i));
	clr_vec_release(&branches);
	return err;
}

const struct clr_updater_factory clr_factory_alpine = {
	.name = "alpine",
	.create = alpine_create,
};
