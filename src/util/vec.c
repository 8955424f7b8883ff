/*
 * vec.c - the growable array described in vec.h.
 */
#include "util/vec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

void clr_vec_init(struct clr_vec *v, size_t elem_size)
{
	assert(elem_size > 0);
	v->items = NULL;
	v->len = 0;
	v->cap = 0;
	v->elem_size = elem_size;
}

void *clr_vec_push(struct clr_vec *v, const void *elem)
{
	char *slot;

	assert(v->elem_size > 0 && "clr_vec used before clr_vec_init");
	if (v->len == v->cap) {
		size_t cap = clr_alloc_grow(v->cap, v->len + 1);
		uintptr_t e = (uintptr_t)elem, base = (uintptr_t)v->items;
		size_t inside = SIZE_MAX;

		/* Pushing a copy of one of our own elements: remember which,
		 * since the realloc below may move it. */
		if (elem && e >= base && e < base + v->len * v->elem_size)
			inside = (size_t)(e - base);

		/* An overflowing size asks for SIZE_MAX, which the allocation
		 * wrapper reports and aborts on like any other exhaustion. */
		v->items = clr_realloc(v->items, cap > SIZE_MAX / v->elem_size ?
					       SIZE_MAX : cap * v->elem_size);
		v->cap = cap;
		if (inside != SIZE_MAX)
			elem = (char *)v->items + inside;
	}
	slot = (char *)v->items + v->len * v->elem_size;
	if (elem)
		memcpy(slot, elem, v->elem_size);
	else
		memset(slot, 0, v->elem_size);
	v->len++;
	return slot;
}

void *clr_vec_get(const struct clr_vec *v, size_t i)
{
	assert(i < v->len);
	return (char *)v->items + i * v->elem_size;
}

size_t clr_vec_len(const struct clr_vec *v)
{
	return v->len;
}

void clr_vec_truncate(struct clr_vec *v, size_t n)
{
	assert(n <= v->len);
	v->len = n;
}

void clr_vec_sort(struct clr_vec *v, int (*cmp)(const void *, const void *))
{
	if (v->len > 1)
		qsort(v->items, v->len, v->elem_size, cmp);
}

void clr_vec_release(struct clr_vec *v)
{
	free(v->items);
	v->items = NULL;
	v->len = 0;
	v->cap = 0;
}
