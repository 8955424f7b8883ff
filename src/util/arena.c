/*
 * arena.c - the bump allocator described in arena.h.
 *
 * Blocks come from calloc and memory is never reused before release, so
 * every allocation is zero-filled without a memset.  A large allocation's
 * block is linked in behind the head, leaving the head's free space for
 * the small allocations that follow.
 */
#include "util/arena.h"

#include <assert.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

#define ALIGN alignof(max_align_t)

struct clr_arena_block {
	struct clr_arena_block *next; /* the block filled before this one */
	size_t size;                  /* payload bytes at data */
	size_t off;                   /* payload bytes already handed out */
	max_align_t data[];           /* payload; the type makes it aligned */
};

void clr_arena_init(struct clr_arena *a, size_t block_size)
{
	a->head = NULL;
	a->block_size = block_size ? block_size : CLR_ARENA_BLOCK_DEFAULT;
	a->used = 0;
}

static struct clr_arena_block *new_block(size_t size)
{
	struct clr_arena_block *b;
	size_t hdr = sizeof(*b);

	/* An impossible size asks for SIZE_MAX; the wrapper aborts. */
	b = clr_calloc(1, size > SIZE_MAX - hdr ? SIZE_MAX : hdr + size);
	b->size = size;
	return b;
}

void *clr_arena_alloc(struct clr_arena *a, size_t size)
{
	struct clr_arena_block *b;
	size_t n;

	assert(a->block_size && "clr_arena used before clr_arena_init");
	/* Round up to the alignment; 0 takes a slot too, so that every
	 * pointer is distinct.  An impossible size makes new_block abort. */
	if (size > SIZE_MAX - ALIGN)
		n = SIZE_MAX;
	else
		n = size ? (size + ALIGN - 1) & ~(ALIGN - 1) : ALIGN;
	if (n > a->block_size / 4) {
		b = new_block(n);
		if (a->head) {
			b->next = a->head->next;
			a->head->next = b;
		} else {
			a->head = b;
		}
	} else {
		if (!a->head || a->head->size - a->head->off < n) {
			b = new_block(a->block_size);
			b->next = a->head;
			a->head = b;
		}
		b = a->head;
	}
	b->off += n;
	a->used += n;
	return (char *)b->data + (b->off - n);
}

char *clr_arena_strndup(struct clr_arena *a, const char *s, size_t n)
{
	char *p;

	n = strnlen(s, n);
	p = clr_arena_alloc(a, n + 1);
	memcpy(p, s, n);
	return p; /* already NUL-terminated: arena memory is zeroed */
}

char *clr_arena_strdup(struct clr_arena *a, const char *s)
{
	return clr_arena_strndup(a, s, SIZE_MAX);
}

void clr_arena_release(struct clr_arena *a)
{
	struct clr_arena_block *b = a->head;

	while (b) {
		struct clr_arena_block *next = b->next;

		free(b);
		b = next;
	}
	a->head = NULL;
	a->used = 0;
}
