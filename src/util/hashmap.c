/*
 * hashmap.c - open addressing with linear probing (see hashmap.h).
 *
 * A key's home slot is the top bits of its FNV-1a hash times the 64-bit
 * golden ratio ("Fibonacci hashing"): FNV-1a's low bits are weak for short
 * keys that differ only in the last characters (libfoo1, libfoo2, ...), and
 * the multiplication spreads every input bit into the bits we use.
 *
 * Invariant: every key sits in its home slot or after it, with no empty
 * slot between home and key (wrapping at the end).  Lookups stop at the
 * first empty slot, and removal keeps the invariant by shifting the
 * following run of entries back instead of leaving a tombstone.
 */
#include "util/hashmap.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

struct clr_hashmap_slot {
	char *key;     /* our copy of the key; NULL when the slot is empty */
	void *value;   /* the caller's pointer, never NULL in a used slot */
	uint64_t hash; /* FNV-1a of key, kept so growing never rereads keys */
};

#define MIN_CAP 16
#define FIB 0x9e3779b97f4a7c15ull

static uint64_t hash_key(const char *key)
{
	const unsigned char *p = (const unsigned char *)key;
	uint64_t h = 0xcbf29ce484222325ull;

	while (*p) {
		h ^= *p++;
		h *= 0x100000001b3ull;
	}
	return h;
}

static size_t home(const struct clr_hashmap *m, uint64_t h)
{
	return (size_t)((h * FIB) >> m->shift);
}

/* Whether the map is full enough to grow before adding one more key. */
static bool over_load(size_t count, size_t cap)
{
	return count > cap / 4 * 3;
}

void clr_hashmap_init(struct clr_hashmap *m)
{
	m->slots = NULL;
	m->cap = 0;
	m->count = 0;
	m->shift = 0;
}

/* Moves every entry into a table of cap slots (a power of two). */
static void resize(struct clr_hashmap *m, size_t cap)
{
	struct clr_hashmap_slot *old = m->slots;
	size_t old_cap = m->cap;
	unsigned bits = 0;

	while (((size_t)1 << bits) < cap)
		bits++;
	if (cap > SIZE_MAX / sizeof(*old))
		cap = SIZE_MAX / sizeof(*old); /* calloc fails, wrapper aborts */
	m->slots = clr_calloc(cap, sizeof(*old));
	m->cap = cap;
	m->shift = 64 - bits;
	for (size_t i = 0; i < old_cap; i++) {
		size_t j;

		if (!old[i].key)
			continue;
		j = home(m, old[i].hash);
		while (m->slots[j].key)
			j = (j + 1) & (cap - 1);
		m->slots[j] = old[i];
	}
	free(old);
}

void clr_hashmap_reserve(struct clr_hashmap *m, size_t n)
{
	size_t cap = m->cap ? m->cap : MIN_CAP;

	while (over_load(n, cap) && cap <= SIZE_MAX / 2)
		cap *= 2;
	if (cap > m->cap)
		resize(m, cap);
}

/* The slot holding key, or the empty slot where it would go. */
static size_t find(const struct clr_hashmap *m, const char *key, uint64_t h)
{
	size_t mask = m->cap - 1, i = home(m, h);

	for (;;) {
		const struct clr_hashmap_slot *s = &m->slots[i];

		if (!s->key || (s->hash == h && !strcmp(s->key, key)))
			return i;
		i = (i + 1) & mask;
	}
}

void *clr_hashmap_put(struct clr_hashmap *m, const char *key, void *value)
{
	uint64_t h = hash_key(key);
	struct clr_hashmap_slot *s;
	void *prev;

	assert(value && "hashmap values must not be NULL");
	if (!m->cap || over_load(m->count + 1, m->cap))
		resize(m, m->cap ? m->cap * 2 : MIN_CAP);
	s = &m->slots[find(m, key, h)];
	if (s->key) {
		prev = s->value;
		s->value = value;
		return prev;
	}
	s->key = clr_strdup(key);
	s->value = value;
	s->hash = h;
	m->count++;
	return NULL;
}

void *clr_hashmap_get(const struct clr_hashmap *m, const char *key)
{
	if (!m->count)
		return NULL;
	return m->slots[find(m, key, hash_key(key))].value;
}

void *clr_hashmap_remove(struct clr_hashmap *m, const char *key)
{
	size_t mask = m->cap - 1, hole, j;
	void *value;

	if (!m->count)
		return NULL;
	hole = find(m, key, hash_key(key));
	if (!m->slots[hole].key)
		return NULL;
	value = m->slots[hole].value;
	free(m->slots[hole].key);
	m->count--;

	/* Pull back each following entry that may live in the hole: one whose
	 * home is not cyclically within (hole, j]. */
	for (j = (hole + 1) & mask; m->slots[j].key; j = (j + 1) & mask) {
		size_t k = home(m, m->slots[j].hash);
		bool stays = hole <= j ? (hole < k && k <= j)
				       : (hole < k || k <= j);

		if (!stays) {
			m->slots[hole] = m->slots[j];
			hole = j;
		}
	}
	m->slots[hole].key = NULL;
	m->slots[hole].value = NULL;
	return value;
}

size_t clr_hashmap_count(const struct clr_hashmap *m)
{
	return m->count;
}

bool clr_hashmap_next(const struct clr_hashmap *m, size_t *pos,
		      const char **key, void **value)
{
	for (size_t i = *pos; i < m->cap; i++) {
		if (!m->slots[i].key)
			continue;
		if (key)
			*key = m->slots[i].key;
		if (value)
			*value = m->slots[i].value;
		*pos = i + 1;
		return true;
	}
	*pos = m->cap;
	return false;
}

void clr_hashmap_release(struct clr_hashmap *m, void (*free_value)(void *))
{
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->slots[i].key)
			continue;
		if (free_value)
			free_value(m->slots[i].value);
		free(m->slots[i].key);
	}
	free(m->slots);
	clr_hashmap_init(m);
}
