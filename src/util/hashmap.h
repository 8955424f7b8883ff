/*
 * hashmap.h - a string-keyed hash map to pointer values.
 *
 * Built for the matcher's index (around a million package names) and for
 * the many small lookups elsewhere: open addressing with linear probing,
 * FNV-1a hashes kept beside the keys so growing never rehashes a string,
 * capacity doubling at 3/4 load, deletion by backward shift (no tombstones,
 * so a map with heavy churn does not slow down).
 *
 *     struct clr_hashmap m = CLR_HASHMAP_INIT;
 *     clr_hashmap_put(&m, "openssl", pkg);
 *     struct pkg *p = clr_hashmap_get(&m, "openssl");
 *     const char *k; void *val; size_t pos = 0;
 *     while (clr_hashmap_next(&m, &pos, &k, &val))
 *             ...;
 *     clr_hashmap_release(&m, free_pkg);
 *
 * Ownership: the map copies every key it stores and frees the copies; the
 * caller's key strings are only borrowed for the duration of a call.
 * Values are borrowed pointers: the map never frees them except through the
 * function given to clr_hashmap_release().  Values must not be NULL, which
 * is how get and remove say "absent"; a set can store any non-NULL pointer.
 * Keys returned by clr_hashmap_next() are borrowed and valid until that key
 * is removed or the map released.
 *
 * Not thread-safe; concurrent readers are fine once nobody writes.
 */
#ifndef CLR_UTIL_HASHMAP_H
#define CLR_UTIL_HASHMAP_H

#include <stdbool.h>
#include <stddef.h>

struct clr_hashmap_slot;

struct clr_hashmap {
	struct clr_hashmap_slot *slots; /* cap slots; an empty one has key NULL */
	size_t cap;                     /* a power of two, 0 before the first put */
	size_t count;                   /* keys stored */
	unsigned shift;                 /* 64 - log2(cap): hash to home slot */
};

#define CLR_HASHMAP_INIT { NULL, 0, 0, 0 }

/* Prepares an empty map.  Allocates nothing. */
void clr_hashmap_init(struct clr_hashmap *m);

/* Makes room for n keys in total, so that filling the map to n never
 * regrows it.  Optional: a map grows by itself. */
void clr_hashmap_reserve(struct clr_hashmap *m, size_t n);

/* Maps key to value (not NULL), copying key if it is new.  Returns the
 * value key mapped to before, or NULL if it was not present. */
void *clr_hashmap_put(struct clr_hashmap *m, const char *key, void *value);

/* The value of key, or NULL. */
void *clr_hashmap_get(const struct clr_hashmap *m, const char *key);

/* Removes key; returns its value, or NULL if it was not present. */
void *clr_hashmap_remove(struct clr_hashmap *m, const char *key);

/* The number of keys. */
size_t clr_hashmap_count(const struct clr_hashmap *m);

/* Iteration in no particular order: start with *pos = 0; each call that
 * returns true stores one entry (either out pointer may be NULL).  The map
 * must not be modified by put or remove until the loop is over. */
bool clr_hashmap_next(const struct clr_hashmap *m, size_t *pos,
		      const char **key, void **value);

/* Frees the table and the key copies, calling free_value (when not NULL)
 * on every value first.  The map is empty and reusable. */
void clr_hashmap_release(struct clr_hashmap *m, void (*free_value)(void *));

#endif
