/*
 * arena.h - a bump allocator for data that dies all at once.
 *
 * A scan request (or one layer, or one feed parse) allocates many small
 * objects that all become garbage together.  An arena hands them out from
 * large blocks and frees every block in one call, so such code has no
 * per-object free() and no leak paths on error.
 *
 *     struct clr_arena a;
 *     clr_arena_init(&a, 0);
 *     struct pkg *p = clr_arena_alloc(&a, sizeof(*p));   // zeroed
 *     p->name = clr_arena_strdup(&a, name);
 *     ...
 *     clr_arena_release(&a);                             // all of it
 *
 * Every allocation is aligned for any type (max_align_t) and zero-filled.
 * Requests larger than a quarter of the block size get a block of their
 * own, so one big object neither wastes the rest of a block nor forces the
 * block size up.  Nothing is freed individually.
 *
 * Ownership: memory from an arena belongs to the arena and is valid until
 * clr_arena_release().  Running out of memory aborts (see alloc.h); bound
 * untrusted sizes before asking.  Not thread-safe: one arena per thread or
 * request.
 */
#ifndef CLR_UTIL_ARENA_H
#define CLR_UTIL_ARENA_H

#include <stddef.h>

/* The block size used when clr_arena_init() is given 0. */
#define CLR_ARENA_BLOCK_DEFAULT (64 * 1024)

struct clr_arena_block;

struct clr_arena {
	struct clr_arena_block *head; /* block being filled; older ones chain */
	size_t block_size;  /* payload bytes of a normal block */
	size_t used;        /* bytes handed out (after alignment), for stats */
};

/* Prepares an empty arena whose blocks hold block_size bytes (0 means
 * CLR_ARENA_BLOCK_DEFAULT).  Allocates nothing. */
void clr_arena_init(struct clr_arena *a, size_t block_size);

/* size bytes (size 0 yields a valid, distinct pointer), zeroed and aligned
 * to _Alignof(max_align_t).  Never NULL. */
void *clr_arena_alloc(struct clr_arena *a, size_t size);

/* A copy of s / of at most n bytes of s, NUL-terminated, in the arena. */
char *clr_arena_strdup(struct clr_arena *a, const char *s);
char *clr_arena_strndup(struct clr_arena *a, const char *s, size_t n);

/* Frees every block.  The arena is empty and reusable, with the same
 * block size; everything allocated from it is gone. */
void clr_arena_release(struct clr_arena *a);

#endif
