/*
 * scanner.c - the table of OS scanners, the indexer state, and the helpers
 * every scanner shares (results, path lookup through symlinks).
 *
 * The state string is how a client or the indexer knows that stored index
 * reports were made by the scanners it runs now; Clair hashes the scanners'
 * identities with MD5, we use SHA-256 over the same idea.
 */
#include <stdlib.h>
#include <string.h>

#include "scanners/scanner.h"
#include "util/alloc.h"
#include "util/error.h"

/* Distribution scanners first: a report reads better that way, and nothing
 * depends on the order (the state is computed over a sorted copy). */
const struct clr_scanner *const clr_scanners[] = {
	&clr_scanner_osrelease,
	&clr_scanner_dpkg,
	&clr_scanner_apk,
	&clr_scanner_rpm,
};
const size_t clr_scanners_count = sizeof(clr_scanners) / sizeof(clr_scanners[0]);

/* Changes if the way the state is computed ever changes. */
#define STATE_TAG "clarion-index-state-1\n"

/* Symlink hops followed before a lookup gives up (a loop). */
#define LOOKUP_MAX_HOPS 16

/* Longest path a lookup builds. */
#define LOOKUP_PATH_MAX 4096

void clr_scan_result_init(struct clr_scan_result *r)
{
	clr_vec_init(&r->packages, sizeof(struct clr_scan_package));
	clr_vec_init(&r->distributions, sizeof(struct clr_scan_distribution));
	clr_arena_init(&r->arena, 0);
}

void clr_scan_result_release(struct clr_scan_result *r)
{
	clr_vec_release(&r->packages);
	clr_vec_release(&r->distributions);
	clr_arena_release(&r->arena);
}

static const char *keep(struct clr_arena *a, const char *s)
{
	return clr_arena_strdup(a, s ? s : "");
}

void clr_scan_result_add_package(struct clr_scan_result *out,
				 const struct clr_scan_package *p)
{
	struct clr_scan_package c;

	c.name = keep(&out->arena, p->name);
	c.version = keep(&out->arena, p->version);
	c.kind = keep(&out->arena, p->kind);
	c.source.name = keep(&out->arena, p->source.name);
	c.source.version = keep(&out->arena, p->source.version);
	c.source.kind = keep(&out->arena, p->source.kind);
	c.arch = keep(&out->arena, p->arch);
	c.module = keep(&out->arena, p->module);
	c.cpe = keep(&out->arena, p->cpe);
	c.package_db = keep(&out->arena, p->package_db);
	CLR_VEC_PUSH(&out->packages, &c);
}

void clr_scan_result_add_distribution(struct clr_scan_result *out,
				      const struct clr_scan_distribution *d)
{
	struct clr_scan_distribution c;

	c.did = keep(&out->arena, d->did);
	c.name = keep(&out->arena, d->name);
	c.version = keep(&out->arena, d->version);
	c.version_id = keep(&out->arena, d->version_id);
	c.version_code_name = keep(&out->arena, d->version_code_name);
	c.pretty_name = keep(&out->arena, d->pretty_name);
	c.cpe = keep(&out->arena, d->cpe);
	c.arch = keep(&out->arena, d->arch);
	CLR_VEC_PUSH(&out->distributions, &c);
}

int clr_scan_text_check(const struct clr_scan_file *f, const char *path,
			const char *what, bool final_newline)
{
	const char *p = (const char *)f->data, *z;

	if (f->len && (z = memchr(p, '\0', f->len))) {
		size_t line = 1;

		for (const char *q = p; q < z; q++)
			line += *q == '\n';
		return clr_error_set(CLR_EINVALID,
				     "%s: line %zu: NUL byte: not %s", path,
				     line, what);
	}
	if (final_newline && f->len && p[f->len - 1] != '\n')
		return clr_error_set(CLR_EINVALID,
				     "%s: truncated: the last line has no "
				     "newline", path);
	return 0;
}

void clr_scan_result_truncate(struct clr_scan_result *out, size_t npackages,
			      size_t ndistributions)
{
	if (out->packages.len > npackages)
		clr_vec_truncate(&out->packages, npackages);
	if (out->distributions.len > ndistributions)
		clr_vec_truncate(&out->distributions, ndistributions);
}

bool clr_scanners_want(const char *path)
{
	for (size_t i = 0; i < clr_scanners_count; i++)
		if (clr_scanners[i]->want(path))
			return true;
	return false;
}

const struct clr_scanner *clr_scanners_find(const char *name)
{
	for (size_t i = 0; i < clr_scanners_count; i++)
		if (!strcmp(clr_scanners[i]->name, name))
			return clr_scanners[i];
	return NULL;
}

static int scanner_cmp(const void *a, const void *b)
{
	const struct clr_scanner *x = *(const struct clr_scanner *const *)a;
	const struct clr_scanner *y = *(const struct clr_scanner *const *)b;
	int c;

	if ((c = strcmp(x->name, y->name)))
		return c;
	if ((c = strcmp(x->version, y->version)))
		return c;
	return strcmp(x->kind, y->kind);
}

int clr_scanners_state_of(char out[CLR_SHA256_HEXLEN + 1],
			  const struct clr_scanner *const *list, size_t n)
{
	const struct clr_scanner **sorted;
	struct clr_sha256 h;
	uint8_t digest[CLR_SHA256_LEN];
	int err;

	out[0] = '\0';
	sorted = clr_calloc(n ? n : 1, sizeof(*sorted));
	memcpy(sorted, list, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), scanner_cmp);
	if ((err = clr_sha256_init(&h)))
		goto cleanup;
	err = clr_sha256_update(&h, STATE_TAG, strlen(STATE_TAG));
	/* NUL separators: no two different identities hash the same bytes. */
	for (size_t i = 0; !err && i < n; i++) {
		const char *parts[3] = { sorted[i]->name, sorted[i]->version,
					 sorted[i]->kind };

		for (int k = 0; !err && k < 3; k++)
			err = clr_sha256_update(&h, parts[k],
						strlen(parts[k]) + 1);
	}
	if (!err)
		err = clr_sha256_final(&h, digest);
	if (!err)
		clr_sha256_hex(out, digest);
cleanup:
	clr_sha256_release(&h);
	free(sorted);
	return err;
}

int clr_scanners_state(char out[CLR_SHA256_HEXLEN + 1])
{
	return clr_scanners_state_of(out, clr_scanners, clr_scanners_count);
}

const char *clr_scan_path_strip(const char *path)
{
	for (;;) {
		if (path[0] == '/')
			path++;
		else if (path[0] == '.' && path[1] == '/')
			path += 2;
		else
			return path;
	}
}

/*
 * Resolves target against the directory of link (both layer paths) into
 * out, collapsing "." and "..".  As in a chroot, ".." at the root stays at
 * the root.  false when the result does not fit.
 */
static bool resolve_link(char out[LOOKUP_PATH_MAX], const char *link,
			 const char *target)
{
	char buf[2 * LOOKUP_PATH_MAX + 2];
	size_t n = 0, o = 0;
	const char *slash, *p;

	if (target[0] != '/' && (slash = strrchr(link, '/'))) {
		size_t dl = (size_t)(slash - link) + 1;

		if (dl >= LOOKUP_PATH_MAX)
			return false;
		memcpy(buf, link, dl);
		n = dl;
	}
	if (strlen(target) >= LOOKUP_PATH_MAX)
		return false;
	strcpy(buf + n, target);

	/* Walk the components, keeping a stack of them in out. */
	for (p = buf; *p;) {
		const char *e = strchr(p, '/');
		size_t len = e ? (size_t)(e - p) : strlen(p);

		if (len == 0 || (len == 1 && p[0] == '.')) {
			/* empty or "." component: nothing */
		} else if (len == 2 && p[0] == '.' && p[1] == '.') {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--; /* the separator before it */
		} else {
			if (o + len + 2 >= LOOKUP_PATH_MAX)
				return false;
			if (o > 0)
				out[o++] = '/';
			memcpy(out + o, p, len);
			o += len;
		}
		p += len;
		if (*p == '/')
			p++;
	}
	out[o] = '\0';
	return o > 0;
}

static const struct clr_scan_file *find_exact(const struct clr_scan_input *in,
					      const char *path)
{
	for (size_t i = 0; i < in->nfiles; i++)
		if (in->files[i].path &&
		    !strcmp(clr_scan_path_strip(in->files[i].path), path))
			return &in->files[i];
	return NULL;
}

const struct clr_scan_file *clr_scan_input_lookup(
	const struct clr_scan_input *in, const char *path,
	const char **resolved)
{
	char cur[LOOKUP_PATH_MAX];
	const struct clr_scan_file *f;

	path = clr_scan_path_strip(path);
	if (strlen(path) >= sizeof(cur))
		return NULL;
	strcpy(cur, path);
	for (int hop = 0; hop <= LOOKUP_MAX_HOPS; hop++) {
		char next[LOOKUP_PATH_MAX];

		if (!(f = find_exact(in, cur)))
			return NULL;
		if (!f->link_target) {
			if (resolved)
				*resolved = clr_scan_path_strip(f->path);
			return f;
		}
		if (!resolve_link(next, cur, f->link_target))
			return NULL;
		strcpy(cur, next);
	}
	return NULL;
}
