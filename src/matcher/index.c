/*
 * index.c - building the matcher's in-memory index (see index.h).
 *
 * A million records arrive one at a time from the store.  Most of what
 * they say repeats: every record of an RHSA has the same advisory text,
 * a CVE's description is the same in five Debian releases, and a feed has
 * a handful of distribution tuples.  So each string is interned once (an
 * arena copy found again through a hash table), advisories and
 * "meta" tuples are interned by the identity of their interned strings,
 * and fixed versions are parsed once per (scheme, string).  The intern
 * tables only live while the index is being built.
 */
#include "matcher/index.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <jansson.h>

#include "util/alloc.h"
#include "util/error.h"
#include "util/log.h"

/* --- a table of interned objects, keyed by a 64-bit hash --------------- */

/* Open addressing over (hash, object); equality is the caller's, so the
 * table costs 16 bytes a slot and no allocation per entry (hashmap.h
 * copies every key, which for a million descriptions would double them). */
struct itab {
	struct islot { uint64_t h; void *p; } *slots;
	size_t cap, count;
};

static void itab_grow(struct itab *t)
{
	size_t ncap = t->cap ? t->cap * 2 : 1024;
	struct islot *ns = clr_calloc(ncap, sizeof(*ns));

	for (size_t i = 0; i < t->cap; i++) {
		size_t j;

		if (!t->slots[i].p)
			continue;
		for (j = t->slots[i].h & (ncap - 1); ns[j].p;
		     j = (j + 1) & (ncap - 1))
			;
		ns[j] = t->slots[i];
	}
	free(t->slots);
	t->slots = ns;
	t->cap = ncap;
}

/* The object equal to key (by eq) with hash h, or NULL; *slot is where a
 * new one goes. */
static void *itab_find(struct itab *t, uint64_t h, const void *key,
		       bool (*eq)(const void *obj, const void *key),
		       size_t *slot)
{
	size_t j;

	if (2 * (t->count + 1) > t->cap)
		itab_grow(t);
	for (j = h & (t->cap - 1); t->slots[j].p; j = (j + 1) & (t->cap - 1))
		if (t->slots[j].h == h && eq(t->slots[j].p, key))
			return t->slots[j].p;
	*slot = j;
	return NULL;
}

static void itab_put(struct itab *t, size_t slot, uint64_t h, void *p)
{
	t->slots[slot].h = h;
	t->slots[slot].p = p;
	t->count++;
}

static uint64_t fnv(uint64_t h, const void *data, size_t n)
{
	const unsigned char *s = data;

	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

#define FNV0 0xcbf29ce484222325ULL

/* --- build state -------------------------------------------------------- */

/* Records are collected in one array with their bucket and grouped by
 * a sort at the end: one large allocation instead of a growing array per
 * bucket, which left the heap so fragmented that every later malloc paid
 * for it (glibc's consolidation showed in the match time). */
struct brec {
	struct clr_vbucket *bk;
	struct clr_vrec r;
};

struct build {
	struct itab strs, metas, advs, vers;
	struct clr_vec recs;    /* struct brec */
};

static bool str_eq(const void *obj, const void *key)
{
	return !strcmp(obj, key);
}

/* s, stored once in the index's arena. */
static const char *intern(struct clr_vindex *ix, const char *s)
{
	struct build *b = ix->build;
	uint64_t h;
	size_t slot;
	char *p;

	if (!s || !*s)
		return "";
	h = fnv(FNV0, s, strlen(s));
	if ((p = itab_find(&b->strs, h, s, str_eq, &slot)))
		return p;
	p = clr_arena_strdup(&ix->arena, s);
	itab_put(&b->strs, slot, h, p);
	return p;
}

/* Hashes a pointer's value (the pointers are interned strings: equal
 * strings, equal pointers). */
static uint64_t hptr(uint64_t h, const void *p)
{
	return fnv(h, &p, sizeof(p));
}

static bool meta_eq(const void *obj, const void *key)
{
	const struct clr_vmeta *a = obj, *b = key;

	return a->updater == b->updater && a->dist_did == b->dist_did &&
	       a->dist_name == b->dist_name &&
	       a->dist_version == b->dist_version &&
	       a->dist_version_id == b->dist_version_id &&
	       a->dist_version_code_name == b->dist_version_code_name &&
	       a->dist_pretty_name == b->dist_pretty_name &&
	       a->dist_cpe == b->dist_cpe && a->repo_name == b->repo_name &&
	       a->repo_uri == b->repo_uri &&
	       a->version_scheme == b->version_scheme &&
	       a->package_kind == b->package_kind &&
	       a->package_module == b->package_module &&
	       a->arch == b->arch && a->arch_op == b->arch_op;
}

static const struct clr_vmeta *intern_meta(struct clr_vindex *ix,
					   const struct clr_vmeta *m)
{
	struct build *b = ix->build;
	const char *const f[] = {
		m->updater, m->dist_did, m->dist_name, m->dist_version,
		m->dist_version_id, m->dist_version_code_name,
		m->dist_pretty_name, m->dist_cpe, m->repo_name, m->repo_uri,
		m->version_scheme, m->package_kind, m->package_module, m->arch,
		m->arch_op,
	};
	uint64_t h = FNV0;
	struct clr_vmeta *p;
	size_t slot;

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		h = hptr(h, f[i]);
	if ((p = itab_find(&b->metas, h, m, meta_eq, &slot)))
		return p;
	p = clr_arena_alloc(&ix->arena, sizeof(*p));
	*p = *m;
	itab_put(&b->metas, slot, h, p);
	return p;
}

static bool adv_eq(const void *obj, const void *key)
{
	const struct clr_vadv *a = obj, *b = key;

	return a->name == b->name && a->description == b->description &&
	       a->issued == b->issued && a->links == b->links &&
	       a->severity == b->severity &&
	       a->normalized_severity == b->normalized_severity;
}

static const struct clr_vadv *intern_adv(struct clr_vindex *ix,
					 const struct clr_vadv *a)
{
	struct build *b = ix->build;
	uint64_t h = FNV0;
	struct clr_vadv *p;
	size_t slot;
	int sev = (int)a->normalized_severity;

	h = hptr(hptr(hptr(hptr(hptr(h, a->name), a->description), a->issued),
		      a->links), a->severity);
	h = fnv(h, &sev, sizeof(sev));
	if ((p = itab_find(&b->advs, h, a, adv_eq, &slot)))
		return p;
	p = clr_arena_alloc(&ix->arena, sizeof(*p));
	*p = *a;
	itab_put(&b->advs, slot, h, p);
	return p;
}

struct verkey {
	enum clr_vscheme scheme;
	const char *s;
};

static bool ver_eq(const void *obj, const void *key)
{
	const struct clr_version *v = obj;
	const struct verkey *k = key;

	return clr_version_scheme(v) == k->scheme &&
	       !strcmp(clr_version_str(v), k->s);
}

/* The parsed form of s in scheme, shared by every record with that fixed
 * version; CLR_EINVALID when the scheme rejects it. */
static int intern_version(struct clr_vindex *ix, const struct clr_version **out,
			  enum clr_vscheme scheme, const char *s)
{
	struct build *b = ix->build;
	struct verkey k = { scheme, s };
	uint64_t h = fnv(fnv(FNV0, &scheme, sizeof(scheme)), s, strlen(s));
	struct clr_version *v;
	size_t slot;
	int err;

	if ((v = itab_find(&b->vers, h, &k, ver_eq, &slot))) {
		*out = v;
		return 0;
	}
	if ((err = clr_version_parse(&v, scheme, s)))
		return err;
	itab_put(&b->vers, slot, h, v);
	CLR_VEC_PUSH(&ix->versions, &v);
	*out = v;
	return 0;
}

/* --- namespaces --------------------------------------------------------- */

/* The first n dot-separated components of v into out. */
static void components(char *out, size_t n, const char *v, int parts)
{
	size_t i = 0;

	for (; v[i] && i + 1 < n; i++) {
		if (v[i] == '.' && --parts == 0)
			break;
		out[i] = v[i];
	}
	out[i] = '\0';
}

char *clr_vindex_namespace(char *out, size_t n, const char *did,
			   const char *version_id, const char *code_name,
			   const char *repo_name)
{
	char ver[128];
	int parts = 0;

	if (!did || !*did) {
		if (!repo_name || !*repo_name)
			return NULL;
		snprintf(out, n, "repo:%s", repo_name);
		return out;
	}
	version_id = version_id ? version_id : "";
	/* Alpine's feeds are per branch (v3.19) and images say 3.19.1; the
	 * RHEL family's and SLES's are per major release (one feed serves
	 * every minor release / service pack, whose differences are the
	 * records' own conditions).  openSUSE Leap, Photon, Debian and
	 * Ubuntu publish per VERSION_ID. */
	if (!strcmp(did, "alpine"))
		parts = 2;
	else if (!strcmp(did, "rhel") || !strcmp(did, "centos") ||
		 !strcmp(did, "almalinux") || !strcmp(did, "rocky") ||
		 !strcmp(did, "ol") || !strcmp(did, "sles") ||
		 !strcmp(did, "sled"))
		parts = 1;
	if (parts)
		components(ver, sizeof(ver), version_id, parts);
	else
		snprintf(ver, sizeof(ver), "%s", version_id);
	/* Debian testing/sid and releases the feed's table does not know have
	 * no number, on either side: meet on the codename. */
	if (!*ver && code_name && *code_name)
		snprintf(out, n, "%s:~%s", did, code_name);
	else
		snprintf(out, n, "%s:%s", did, ver);
	return out;
}

/* --- building ----------------------------------------------------------- */

void clr_vindex_begin(struct clr_vindex *ix)
{
	memset(ix, 0, sizeof(*ix));
	clr_hashmap_init(&ix->buckets);
	clr_hashmap_init(&ix->namespaces);
	clr_hashmap_init(&ix->cvss);
	clr_arena_init(&ix->arena, 1 << 20);
	clr_vec_init(&ix->versions, sizeof(struct clr_version *));
	ix->build = clr_calloc(1, sizeof(struct build));
	clr_vec_init(&((struct build *)ix->build)->recs, sizeof(struct brec));
}

/* An NVD CVSS record: into the table by CVE id, not a vulnerability.
 * Vectors and severity words repeat across CVEs and are interned. */
static int add_cvss(struct clr_vindex *ix, const struct clr_vuln *v)
{
	struct clr_nvd_cvss c, *p;
	json_t *hold;

	if (clr_nvd_cvss_from_record(&c, &hold, v)) {
		clr_error_clear();
		ix->skipped++;
		clr_log_write(CLR_LOG_WARN, "matcher: %s (%s): unreadable CVSS "
			      "record, skipped", v->name, v->updater);
		return 0;
	}
	p = clr_arena_alloc(&ix->arena, sizeof(*p));
	*p = c;
	p->id = clr_arena_strdup(&ix->arena, c.id);
	p->published = intern(ix, c.published);
	p->v3_vector = intern(ix, c.v3_vector);
	p->v3_severity = intern(ix, c.v3_severity);
	p->v2_vector = intern(ix, c.v2_vector);
	p->v2_severity = intern(ix, c.v2_severity);
	json_decref(hold);
	/* One CVE twice (two pages of one run, or a CVE NVD moved between
	 * pages): the store's row order must not decide which is kept, so
	 * the later publication date (then the greater vector) is. */
	{
		const struct clr_nvd_cvss *old = clr_hashmap_get(&ix->cvss, p->id);
		int d = old ? strcmp(old->published, p->published) : 0;

		if (old && (d > 0 || (!d && strcmp(old->v3_vector,
						   p->v3_vector) >= 0)))
			return 0;
		if (!old)
			ix->cvss_records++;
	}
	clr_hashmap_put(&ix->cvss, p->id, p);
	return 0;
}

int clr_vindex_add(struct clr_vindex *ix, const struct clr_vuln *v)
{
	struct clr_vmeta m;
	struct clr_vadv a;
	struct clr_vrec r;
	struct clr_vbucket *bk;
	char ns[512], key[1536], hash[CLR_SHA256_HEXLEN + 1];
	void *cnt;

	if (clr_nvd_is_record(v))
		return add_cvss(ix, v);
	memset(&m, 0, sizeof(m));
	if (clr_vscheme_from_name(&m.scheme, v->version_scheme)) {
		/* A record the matcher cannot compare is dropped loudly rather
		 * than matched by guesswork. */
		clr_error_clear();
		ix->skipped++;
		clr_log_write(CLR_LOG_WARN, "matcher: %s (%s): unknown version "
			      "scheme '%s', record skipped", v->name,
			      v->updater, v->version_scheme);
		return 0;
	}
	if (!clr_vindex_namespace(ns, sizeof(ns), v->dist_did,
				  v->dist_version_id,
				  v->dist_version_code_name, v->repo_name)) {
		ix->skipped++;
		clr_log_write(CLR_LOG_WARN, "matcher: %s (%s): no distribution "
			      "or repository, record skipped", v->name,
			      v->updater);
		return 0;
	}
	memset(&r, 0, sizeof(r));
	r.fixed_in_version = intern(ix, v->fixed_in_version);
	if (*r.fixed_in_version &&
	    intern_version(ix, &r.fixed, m.scheme, r.fixed_in_version)) {
		ix->skipped++;
		clr_log_write(CLR_LOG_WARN, "matcher: %s (%s): fixed version: "
			      "%s; record skipped", v->name, v->updater,
			      clr_error_msg());
		clr_error_clear();
		return 0;
	}
	m.updater = intern(ix, v->updater);
	m.dist_did = intern(ix, v->dist_did);
	m.dist_name = intern(ix, v->dist_name);
	m.dist_version = intern(ix, v->dist_version);
	m.dist_version_id = intern(ix, v->dist_version_id);
	m.dist_version_code_name = intern(ix, v->dist_version_code_name);
	m.dist_pretty_name = intern(ix, v->dist_pretty_name);
	m.dist_cpe = intern(ix, v->dist_cpe);
	m.repo_name = intern(ix, v->repo_name);
	m.repo_uri = intern(ix, v->repo_uri);
	m.version_scheme = intern(ix, v->version_scheme);
	m.package_kind = intern(ix, v->package_kind);
	m.package_module = intern(ix, v->package_module);
	m.arch = intern(ix, v->arch);
	m.arch_op = intern(ix, v->arch_op);
	m.source_keyed = !strcmp(m.package_kind, "source");
	r.meta = intern_meta(ix, &m);

	a.name = intern(ix, v->name);
	a.description = intern(ix, v->description);
	a.issued = intern(ix, v->issued);
	a.links = intern(ix, v->links);
	a.severity = intern(ix, v->severity);
	a.normalized_severity = v->normalized_severity;
	r.adv = intern_adv(ix, &a);

	r.package_name = intern(ix, v->package_name);
	r.affected = intern(ix, v->affected);
	clr_vuln_hash(hash, v);
	hash[16] = '\0';
	r.id = strtoull(hash, NULL, 16);

	snprintf(key, sizeof(key), "%s\x1f%s", ns, v->package_name);
	if (!(bk = clr_hashmap_get(&ix->buckets, key))) {
		bk = clr_arena_alloc(&ix->arena, sizeof(*bk));
		clr_hashmap_put(&ix->buckets, key, bk);
	}
	{
		struct brec br = { bk, r };

		CLR_VEC_PUSH(&((struct build *)ix->build)->recs, &br);
	}
	cnt = clr_hashmap_get(&ix->namespaces, ns);
	clr_hashmap_put(&ix->namespaces, ns,
			(void *)((uintptr_t)cnt + 1));
	ix->records++;
	return 0;
}

static int brec_cmp(const void *a, const void *b)
{
	const struct brec *x = a, *y = b;

	if (x->bk != y->bk)
		return x->bk < y->bk ? -1 : 1;
	/* as strcmp on the 16 hex digits would order them */
	return x->r.id < y->r.id ? -1 : x->r.id > y->r.id;
}

char *clr_vrec_id(char out[17], const struct clr_vrec *r)
{
	snprintf(out, 17, "%016" PRIx64, r->id);
	return out;
}

static int ptr_cmp(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)*(const void *const *)a;
	uintptr_t y = (uintptr_t)*(const void *const *)b;

	return x < y ? -1 : x > y;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Memory straight from the system, zero-filled and returned when freed:
 * the ranking's scratch arrays and the report cache are megabytes made
 * after glibc has raised its mmap threshold, so from malloc the former
 * would stay resident in the heap for the index's lifetime (measured:
 * +6 MiB for 1.5 M records) and the latter might be cleared (made
 * resident) at once. */
static void *scratch_alloc(size_t n)
{
	void *p = mmap(NULL, n ? n : 1, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		fprintf(stderr, "clarion: out of memory (%zu bytes)\n", n);
		abort();
	}
	return p;       /* zero-filled */
}

static void scratch_free(void *p, size_t n)
{
	munmap(p, n ? n : 1);
}

/* Sets every advisory's name_rank.  Names are interned (equal names are
 * one pointer), so the distinct names are the distinct pointers: sorted
 * by address to find them, by strcmp to rank them, and found again by
 * address for each advisory. */
static void rank_names(struct build *b)
{
	size_t cap = b->advs.count + 1, n = 0, u = 0;
	const char **names = scratch_alloc(cap * sizeof(*names));
	const char **sorted = scratch_alloc(cap * sizeof(*sorted));
	uint32_t *rank = scratch_alloc(cap * sizeof(*rank));
	uint32_t r = 0;

	for (size_t i = 0; i < b->advs.cap; i++)
		if (b->advs.slots[i].p)
			names[n++] = ((struct clr_vadv *)
				      b->advs.slots[i].p)->name;
	if (n)
		qsort(names, n, sizeof(*names), ptr_cmp);
	for (size_t i = 0; i < n; i++)
		if (!u || names[u - 1] != names[i])
			names[u++] = names[i];
	memcpy(sorted, names, u * sizeof(*names));
	if (u)
		qsort(sorted, u, sizeof(*sorted), name_cmp);
	/* rank[] is parallel to names[] (by address) */
	for (size_t i = 0; i < u; i++) {
		const char **at;

		if (i && strcmp(sorted[i - 1], sorted[i]))
			r++;
		at = bsearch(&sorted[i], names, u, sizeof(*names), ptr_cmp);
		rank[at - names] = r;
	}
	for (size_t i = 0; i < b->advs.cap; i++) {
		struct clr_vadv *a = b->advs.slots[i].p;
		const char **at;

		if (!a)
			continue;
		at = bsearch(&a->name, names, u, sizeof(*names), ptr_cmp);
		a->name_rank = rank[at - names];
	}
	scratch_free(rank, cap * sizeof(*rank));
	scratch_free(sorted, cap * sizeof(*sorted));
	scratch_free(names, cap * sizeof(*names));
}

void clr_vindex_finish(struct clr_vindex *ix)
{
	struct build *b = ix->build;
	struct brec *br;
	struct clr_vbucket *pbk = NULL;
	uint64_t pid = 0;
	size_t n, w = 0;

	if (!b)
		return;
	/* Sorted buckets make every report's order independent of the order
	 * the store returned rows in; equal hashes are equal records (the
	 * same record from two operations' overlap), kept once. */
	rank_names(b);
	br = b->recs.items;
	n = b->recs.len;
	if (n)	/* qsort(NULL, 0, ...) is undefined */
		qsort(br, n, sizeof(*br), brec_cmp);
	/* compacted in place: a clr_vrec is smaller than a brec, so the
	 * write position never passes the read position */
	ix->recs = (struct clr_vrec *)(void *)br;
	for (size_t i = 0; i < n; i++) {
		struct clr_vbucket *bk = br[i].bk;
		struct clr_vrec r = br[i].r;

		/* the previous element may already be overwritten: compare
		 * with copies */
		if (pbk == bk && pid == r.id) {
			ix->dropped_dups++;
			ix->records--;
			continue;
		}
		if (!bk->len)
			bk->recs = (const struct clr_vrec *)(uintptr_t)w;
		bk->len++;
		pbk = bk;
		pid = r.id;
		ix->recs[w++] = r;
	}
	ix->recs = clr_realloc(ix->recs, (w ? w : 1) * sizeof(*ix->recs));
	/* fresh zero pages straight from the system (calloc might reuse and
	 * clear heap pages): only the slots of records that some report
	 * matched ever become resident */
	ix->cache = scratch_alloc((w ? w : 1) * sizeof(*ix->cache));
	if (ix->cvss_records)
		ix->enrich = scratch_alloc((w ? w : 1) * sizeof(*ix->enrich));
	/* offsets become pointers once the array has stopped moving */
	{
		size_t pos = 0;
		void *val;

		while (clr_hashmap_next(&ix->buckets, &pos, NULL, &val)) {
			struct clr_vbucket *bk = val;

			bk->recs = ix->recs + (uintptr_t)bk->recs;
		}
	}
	free(b->strs.slots);
	free(b->metas.slots);
	free(b->advs.slots);
	free(b->vers.slots);
	free(b);
	ix->build = NULL;

}

static int add_cb(const struct clr_vuln *v, void *arg)
{
	return clr_vindex_add(arg, v);
}

int clr_vindex_build(struct clr_vindex *ix, struct clr_store *store)
{
	int err;

	clr_vindex_begin(ix);
	if ((err = clr_store_vulns_current(store, add_cb, ix))) {
		clr_vindex_free(ix);
		return clr_error_prefix(err, "building the matcher index");
	}
	clr_vindex_finish(ix);
	return 0;
}

int clr_vindex_from_set(struct clr_vindex *ix, const struct clr_vuln_set *set)
{
	clr_vindex_begin(ix);
	for (size_t i = 0; i < set->vulns.len; i++)
		clr_vindex_add(ix, CLR_VEC_AT(&set->vulns, struct clr_vuln, i));
	clr_vindex_finish(ix);
	return 0;
}

const struct clr_vbucket *clr_vindex_lookup(const struct clr_vindex *ix,
					    const char *ns, const char *name)
{
	char key[1536];
	size_t a = strlen(ns), b = strlen(name);

	/* the key clr_vindex_add made with snprintf, without its cost (two
	 * lookups per package per report) */
	if (a + b + 2 > sizeof(key))
		return NULL;
	memcpy(key, ns, a);
	key[a] = '\x1f';
	memcpy(key + a + 1, name, b + 1);
	return clr_hashmap_get(&ix->buckets, key);
}

void clr_vindex_drop_enrichment(struct clr_vindex *ix)
{
	for (size_t i = 0; ix->enrich && i < ix->records; i++)
		json_decref(ix->enrich[i]);
	if (ix->enrich)
		scratch_free(ix->enrich, (ix->records ? ix->records : 1) *
					 sizeof(*ix->enrich));
	ix->enrich = NULL;
	/* the scores themselves live in the arena, freed with the index */
	clr_hashmap_release(&ix->cvss, NULL);
	clr_hashmap_init(&ix->cvss);
	ix->cvss_records = 0;
}

const struct clr_nvd_cvss *clr_vindex_cvss(const struct clr_vindex *ix,
					   const char *id)
{
	if (!ix->cvss_records)
		return NULL;
	return clr_hashmap_get(&ix->cvss, id);
}

int clr_vindex_covers(const struct clr_vindex *ix, const char *ns)
{
	return clr_hashmap_get(&ix->namespaces, ns) != NULL;
}

void clr_vindex_free(struct clr_vindex *ix)
{
	if (ix->build)
		clr_vindex_finish(ix);
	/* the shared JSON of the report cache: the index holds one
	 * reference to each; reports still alive hold their own */
	for (size_t i = 0; ix->cache && i < ix->records; i++) {
		struct clr_vmeta *m =
			(struct clr_vmeta *)(uintptr_t)ix->recs[i].meta;

		json_decref(ix->cache[i]);
		json_decref(m->dist_json);
		m->dist_json = NULL;
		if (ix->enrich)   /* json_null() is never freed */
			json_decref(ix->enrich[i]);
	}
	if (ix->enrich)
		scratch_free(ix->enrich, (ix->records ? ix->records : 1) *
					 sizeof(*ix->enrich));
	if (ix->cache)
		scratch_free(ix->cache, (ix->records ? ix->records : 1) *
					sizeof(*ix->cache));
	clr_hashmap_release(&ix->buckets, NULL);
	free(ix->recs);
	clr_hashmap_release(&ix->namespaces, NULL);
	clr_hashmap_release(&ix->cvss, NULL);
	for (size_t i = 0; i < ix->versions.len; i++)
		clr_version_free(*CLR_VEC_AT(&ix->versions,
					     struct clr_version *, i));
	clr_vec_release(&ix->versions);
	clr_arena_release(&ix->arena);
	memset(ix, 0, sizeof(*ix));
}
