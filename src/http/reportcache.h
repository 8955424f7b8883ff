/*
 * reportcache.h - serialised vulnerability reports, kept while they are
 * still true.
 *
 * A vulnerability report is a pure function of the IndexReport (fixed for
 * a manifest digest and the scanner set that made it) and of the
 * vulnerability index (fixed for an update counter).  Clients ask for the
 * same report again and again (CI runs, dashboards, Klar against every
 * push), and for an image with thousands of findings building and encoding
 * the JSON costs far more than sending it.  So the encoded text, and its
 * gzip form the first time a client accepts gzip, are kept here under the
 * key
 *
 *     digest "|" index_state "|" update counter
 *
 * A new update operation changes the counter, so old entries simply stop
 * being asked for and age out of the LRU; nothing needs invalidating.
 *
 * Concurrent misses on one key compute once: the first caller gets
 * CLR_RC_COMPUTE and must call clr_report_cache_put() (with NULL when it
 * failed); the others wait for it.  Entries are immutable and
 * reference-counted, so a reply can send one without copying while the
 * cache drops it.  The cache holds at most max_bytes of text (the newest
 * entry is kept even when it alone is larger); 0 keeps nothing.
 */
#ifndef CLR_HTTP_REPORTCACHE_H
#define CLR_HTTP_REPORTCACHE_H

#include <stddef.h>

struct clr_report_cache;

struct clr_report_blob {
	const char *json;   /* the report, compact JSON */
	size_t len;
	/* private */
	unsigned char *gz;
	size_t gzlen;
	int gz_state;       /* 0 not tried, 1 done, -1 failed */
	int refs;
	int cached;         /* linked to a cache entry */
	size_t cost;        /* bytes counted against the cache */
};

enum { CLR_RC_HIT = 0, CLR_RC_COMPUTE = 1 };

int clr_report_cache_new(struct clr_report_cache **out, size_t max_bytes);
void clr_report_cache_free(struct clr_report_cache *c);

/* *out = the cached blob for key (a reference: release it) and CLR_RC_HIT;
 * or *out = NULL and CLR_RC_COMPUTE: the caller computes the report and
 * must call clr_report_cache_put(c, key, json, len) or
 * clr_report_cache_put(c, key, NULL, 0) on failure. */
int clr_report_cache_get(struct clr_report_cache *c, const char *key,
			 struct clr_report_blob **out);

/* Stores json (taken: malloc'ed, NUL-terminated) under key and returns a
 * reference to the new blob, or wakes the waiters with nothing when json
 * is NULL (they then compute themselves). */
struct clr_report_blob *clr_report_cache_put(struct clr_report_cache *c,
					     const char *key, char *json,
					     size_t len);

/* The gzip form of b, made once; NULL when compression failed. */
const unsigned char *clr_report_blob_gzip(struct clr_report_cache *c,
					  struct clr_report_blob *b,
					  size_t *len);

void clr_report_blob_release(struct clr_report_cache *c,
			     struct clr_report_blob *b);

/* Entries and bytes held, for /metrics. */
void clr_report_cache_stats(struct clr_report_cache *c, size_t *entries,
			    size_t *bytes, unsigned long long *hits,
			    unsigned long long *misses);

#endif
