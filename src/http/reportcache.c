/*
 * reportcache.c - serialised vulnerability reports: an LRU of immutable,
 * reference-counted blobs with single-flight misses (see reportcache.h).
 *
 * One mutex guards everything; it is held only to look up, link and
 * unlink, never while a report is computed or compressed.  The LRU is a
 * doubly linked list threaded through the entries, newest first.
 */
#include "http/reportcache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "util/alloc.h"
#include "util/error.h"
#include "util/hashmap.h"

struct entry {
	struct entry *prev, *next;      /* LRU, newest at head */
	struct clr_report_blob *blob;   /* NULL while pending */
	char *key;
};

struct clr_report_cache {
	pthread_mutex_t mu;
	pthread_cond_t done;            /* a pending entry was resolved */
	pthread_mutex_t gz_mu;          /* one compression at a time */
	struct clr_hashmap map;         /* key -> struct entry * */
	struct entry *head, *tail;
	size_t max_bytes, bytes, entries;
	unsigned long long hits, misses;
};

int clr_report_cache_new(struct clr_report_cache **out, size_t max_bytes)
{
	struct clr_report_cache *c = clr_calloc(1, sizeof(*c));

	pthread_mutex_init(&c->mu, NULL);
	pthread_mutex_init(&c->gz_mu, NULL);
	pthread_cond_init(&c->done, NULL);
	clr_hashmap_init(&c->map);
	c->max_bytes = max_bytes;
	*out = c;
	return 0;
}

static void blob_unref_locked(struct clr_report_blob *b)
{
	if (--b->refs)
		return;
	free((char *)b->json);
	free(b->gz);
	free(b);
}

static void unlink_entry(struct clr_report_cache *c, struct entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		c->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		c->tail = e->prev;
	e->prev = e->next = NULL;
}

static void push_head(struct clr_report_cache *c, struct entry *e)
{
	e->prev = NULL;
	e->next = c->head;
	if (c->head)
		c->head->prev = e;
	c->head = e;
	if (!c->tail)
		c->tail = e;
}

/* Drops e from the map and the list (its blob lives on while referenced). */
static void drop(struct clr_report_cache *c, struct entry *e)
{
	unlink_entry(c, e);
	clr_hashmap_remove(&c->map, e->key);
	if (e->blob) {
		c->bytes -= e->blob->cost;
		c->entries--;
		e->blob->cached = 0;
		blob_unref_locked(e->blob);
	}
	free(e->key);
	free(e);
}

/* Evicts the oldest finished entries until the cache fits, sparing keep. */
static void evict(struct clr_report_cache *c, const struct entry *keep)
{
	struct entry *e = c->tail;

	while (e && c->bytes > c->max_bytes) {
		struct entry *prev = e->prev;

		if (e != keep && e->blob)
			drop(c, e);
		e = prev;
	}
}

int clr_report_cache_get(struct clr_report_cache *c, const char *key,
			 struct clr_report_blob **out)
{
	struct entry *e;

	*out = NULL;
	pthread_mutex_lock(&c->mu);
	for (;;) {
		e = clr_hashmap_get(&c->map, key);
		if (!e) {
			e = clr_calloc(1, sizeof(*e));
			e->key = clr_strdup(key);
			clr_hashmap_put(&c->map, e->key, e);
			push_head(c, e);
			c->misses++;
			pthread_mutex_unlock(&c->mu);
			return CLR_RC_COMPUTE;
		}
		if (e->blob)
			break;
		/* Someone is computing it: wait for them. */
		pthread_cond_wait(&c->done, &c->mu);
	}
	unlink_entry(c, e);
	push_head(c, e);
	e->blob->refs++;
	c->hits++;
	*out = e->blob;
	pthread_mutex_unlock(&c->mu);
	return CLR_RC_HIT;
}

struct clr_report_blob *clr_report_cache_put(struct clr_report_cache *c,
					     const char *key, char *json,
					     size_t len)
{
	struct clr_report_blob *b = NULL;
	struct entry *e;

	pthread_mutex_lock(&c->mu);
	e = clr_hashmap_get(&c->map, key);
	if (!json || !c->max_bytes) {
		/* Failed, or caching is off: the waiters compute themselves
		 * (with caching off there are none: every get misses). */
		if (e && !e->blob)
			drop(c, e);
		if (json) {
			b = clr_calloc(1, sizeof(*b));
			b->json = json;
			b->len = len;
			b->refs = 1;
		}
		pthread_cond_broadcast(&c->done);
		pthread_mutex_unlock(&c->mu);
		return b;
	}
	b = clr_calloc(1, sizeof(*b));
	b->json = json;
	b->len = len;
	b->cost = len;
	b->refs = 2;                  /* the cache's and the caller's */
	if (!e) {                     /* not ours any more: re-add */
		e = clr_calloc(1, sizeof(*e));
		e->key = clr_strdup(key);
		clr_hashmap_put(&c->map, e->key, e);
		push_head(c, e);
	} else if (e->blob) {         /* another put won: replace */
		c->bytes -= e->blob->cost;
		c->entries--;
		e->blob->cached = 0;
		blob_unref_locked(e->blob);
	}
	e->blob = b;
	b->cached = 1;
	c->bytes += b->cost;
	c->entries++;
	evict(c, e);
	pthread_cond_broadcast(&c->done);
	pthread_mutex_unlock(&c->mu);
	return b;
}

const unsigned char *clr_report_blob_gzip(struct clr_report_cache *c,
					  struct clr_report_blob *b,
					  size_t *len)
{
	unsigned char *gz;
	z_stream z;
	size_t cap;
	int rc;

	pthread_mutex_lock(&c->gz_mu);
	if (b->gz_state) {
		pthread_mutex_unlock(&c->gz_mu);
		*len = b->gzlen;
		return b->gz_state > 0 ? b->gz : NULL;
	}
	memset(&z, 0, sizeof(z));
	cap = deflateBound(NULL, (uLong)b->len) + 32;
	gz = clr_malloc(cap);
	rc = deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
	if (rc == Z_OK) {
		z.next_in = (Bytef *)b->json;
		z.avail_in = (uInt)b->len;
		z.next_out = gz;
		z.avail_out = (uInt)cap;
		rc = deflate(&z, Z_FINISH);
		b->gzlen = z.total_out;
		deflateEnd(&z);
	}
	if (rc == Z_STREAM_END) {
		b->gz = gz;
		b->gz_state = 1;
		pthread_mutex_lock(&c->mu);
		if (b->cached) {      /* still in the cache: count it */
			b->cost += b->gzlen;
			c->bytes += b->gzlen;
		}
		pthread_mutex_unlock(&c->mu);
	} else {
		free(gz);
		b->gz_state = -1;
	}
	pthread_mutex_unlock(&c->gz_mu);
	*len = b->gzlen;
	return b->gz_state > 0 ? b->gz : NULL;
}

void clr_report_blob_release(struct clr_report_cache *c,
			     struct clr_report_blob *b)
{
	if (!b)
		return;
	pthread_mutex_lock(&c->mu);
	blob_unref_locked(b);
	pthread_mutex_unlock(&c->mu);
}

void clr_report_cache_stats(struct clr_report_cache *c, size_t *entries,
			    size_t *bytes, unsigned long long *hits,
			    unsigned long long *misses)
{
	pthread_mutex_lock(&c->mu);
	*entries = c->entries;
	*bytes = c->bytes;
	*hits = c->hits;
	*misses = c->misses;
	pthread_mutex_unlock(&c->mu);
}

void clr_report_cache_free(struct clr_report_cache *c)
{
	if (!c)
		return;
	while (c->head)
		drop(c, c->head);
	clr_hashmap_release(&c->map, NULL);
	pthread_cond_destroy(&c->done);
	pthread_mutex_destroy(&c->gz_mu);
	pthread_mutex_destroy(&c->mu);
	free(c);
}
