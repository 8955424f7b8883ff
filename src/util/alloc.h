/*
 * alloc.h - the one place where clarion decides what out-of-memory means.
 *
 * A container scanner cannot do anything useful once malloc fails on small
 * sizes, so these wrappers abort with a message instead of making every
 * caller handle NULL.  Allocations whose size comes from untrusted input are
 * bounded by their callers first (see buf.h), never by this file.
 */
#ifndef CLR_UTIL_ALLOC_H
#define CLR_UTIL_ALLOC_H

#include <stddef.h>

void *clr_malloc(size_t n);
void *clr_calloc(size_t nmemb, size_t size);
void *clr_realloc(void *p, size_t n);
char *clr_strdup(const char *s);
char *clr_strndup(const char *s, size_t n);

/* Growth rule shared by buf and vec: at least need, at least double. */
size_t clr_alloc_grow(size_t cur, size_t need);

#endif
