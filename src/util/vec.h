/*
 * vec.h - a growable array of fixed-size elements.
 *
 * One implementation serves every element type: the vector stores
 * elem_size-byte elements by value, contiguously, so v->items can be handed
 * to anything that takes a plain array.  The CLR_VEC_* macros add the type
 * check C cannot do for us: they assert that the element type's size
 * matches the size the vector was initialised with.
 *
 *     struct clr_vec pkgs = CLR_VEC_INIT(struct pkg);
 *     struct pkg p = { ... };
 *     CLR_VEC_PUSH(&pkgs, &p);
 *     clr_vec_sort(&pkgs, pkg_cmp);
 *     for (size_t i = 0; i < pkgs.len; i++)
 *             use(CLR_VEC_AT(&pkgs, struct pkg, i));
 *     clr_vec_release(&pkgs);
 *
 * Ownership: the vector owns its storage (a copy of each pushed element)
 * but not whatever those elements point to.  Element pointers are borrowed
 * and valid until the next push (which may move the storage), truncate or
 * release.  Running out of memory aborts (see alloc.h); sizes come from
 * code, not from untrusted input, which callers bound first.
 */
#ifndef CLR_UTIL_VEC_H
#define CLR_UTIL_VEC_H

#include <assert.h>
#include <stddef.h>

struct clr_vec {
	void *items;      /* len elements, contiguous; NULL before the first push */
	size_t len;       /* elements in use */
	size_t cap;       /* elements allocated */
	size_t elem_size; /* bytes per element, fixed at init */
};

/* Static initialiser for a vector of type. */
#define CLR_VEC_INIT(type) { NULL, 0, 0, sizeof(type) }

/* Prepares an empty vector of elem_size-byte elements (elem_size > 0). */
void clr_vec_init(struct clr_vec *v, size_t elem_size);

/* Appends a copy of the elem_size bytes at elem, or a zeroed element when
 * elem is NULL, and returns the stored element (borrowed). */
void *clr_vec_push(struct clr_vec *v, const void *elem);

/* Element i (i < len, asserted); borrowed. */
void *clr_vec_get(const struct clr_vec *v, size_t i);

/* The number of elements. */
size_t clr_vec_len(const struct clr_vec *v);

/* Drops the elements from n on (n <= len); keeps the memory. */
void clr_vec_truncate(struct clr_vec *v, size_t n);

/* Sorts in place with qsort(3) semantics: cmp gets pointers to elements. */
void clr_vec_sort(struct clr_vec *v, int (*cmp)(const void *, const void *));

/* Frees the storage; the vector is empty and reusable. */
void clr_vec_release(struct clr_vec *v);

/* Type-checked forms: p points to an element, type is the element type. */
#define CLR_VEC_PUSH(v, p) \
	(assert(sizeof(*(p)) == (v)->elem_size), clr_vec_push((v), (p)))
#define CLR_VEC_AT(v, type, i) \
	(assert(sizeof(type) == (v)->elem_size), (type *)clr_vec_get((v), (i)))

#endif
