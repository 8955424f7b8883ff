/*
 * alloc.c - allocation wrappers that abort on exhaustion (see alloc.h).
 */
#include "util/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(size_t n)
{
	fprintf(stderr, "clarion: out of memory allocating %zu bytes\n", n);
	abort();
}

void *clr_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		oom(n);
	return p;
}

void *clr_calloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (!p)
		oom(nmemb * size);
	return p;
}

void *clr_realloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		oom(n);
	return q;
}

char *clr_strdup(const char *s)
{
	return clr_strndup(s, strlen(s));
}

char *clr_strndup(const char *s, size_t n)
{
	char *p = clr_malloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

size_t clr_alloc_grow(size_t cur, size_t need)
{
	size_t n = cur ? cur : 16;

	while (n < need) {
		if (n > (size_t)-1 / 2)
			return need;
		n *= 2;
	}
	return n;
}
