/*
 * buf.c - the size-capped growable buffer described in buf.h.
 *
 * Invariants: len <= max; ptr is NULL or holds alloc bytes with ptr[len]
 * == '\0'; alloc never exceeds max + 1, so the cap also bounds memory.
 */
#include "util/buf.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/error.h"

void clr_buf_init(struct clr_buf *b, size_t max)
{
	assert(max > 0 && max < SIZE_MAX);
	b->ptr = NULL;
	b->len = 0;
	b->alloc = 0;
	b->max = max;
}

static int too_big(struct clr_buf *b, size_t add)
{
	size_t max = b->max;

	clr_buf_release(b);
	return clr_error_set(CLR_ELIMIT,
			     "buffer limit of %zu bytes exceeded (adding %zu)",
			     max, add);
}

/* Makes room for add more bytes plus the NUL, within the cap. */
static int reserve(struct clr_buf *b, size_t add)
{
	size_t need, n;

	assert(b->max > 0 && "clr_buf used before clr_buf_init");
	if (add > b->max - b->len)
		return too_big(b, add);
	need = b->len + add + 1;
	if (need <= b->alloc)
		return 0;
	n = clr_alloc_grow(b->alloc, need);
	if (n > b->max + 1)
		n = b->max + 1;
	b->ptr = clr_realloc(b->ptr, n);
	b->alloc = n;
	return 0;
}

int clr_buf_add(struct clr_buf *b, const void *data, size_t len)
{
	int err;

	if ((err = reserve(b, len)))
		return err;
	if (len)
		memcpy(b->ptr + b->len, data, len);
	b->len += len;
	b->ptr[b->len] = '\0';
	return 0;
}

int clr_buf_addstr(struct clr_buf *b, const char *s)
{
	return clr_buf_add(b, s, strlen(s));
}

int clr_buf_addch(struct clr_buf *b, char c)
{
	return clr_buf_add(b, &c, 1);
}

int clr_buf_vprintf(struct clr_buf *b, const char *fmt, va_list ap)
{
	size_t room;
	va_list cp;
	int n, err;

	/* First try in the space already there; most calls fit. */
	room = b->ptr ? b->alloc - b->len : 0;
	va_copy(cp, ap);
	n = vsnprintf(room ? b->ptr + b->len : NULL, room, fmt, cp);
	va_end(cp);
	if (n < 0) {
		if (b->ptr)
			b->ptr[b->len] = '\0';
		return clr_error_set(CLR_EINVALID,
				     "cannot format '%s' into a buffer", fmt);
	}
	if ((size_t)n < room) {
		b->len += (size_t)n;
		return 0;
	}
	if (b->ptr)
		b->ptr[b->len] = '\0'; /* undo the partial write */
	if ((err = reserve(b, (size_t)n)))
		return err;
	vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int clr_buf_printf(struct clr_buf *b, const char *fmt, ...)
{
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = clr_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return err;
}

void clr_buf_reset(struct clr_buf *b)
{
	b->len = 0;
	if (b->ptr)
		b->ptr[0] = '\0';
}

void clr_buf_release(struct clr_buf *b)
{
	free(b->ptr);
	b->ptr = NULL;
	b->len = 0;
	b->alloc = 0;
}

char *clr_buf_detach(struct clr_buf *b, size_t *len)
{
	char *p = b->ptr ? b->ptr : clr_strdup("");

	if (len)
		*len = b->len;
	b->ptr = NULL;
	b->len = 0;
	b->alloc = 0;
	return p;
}

const char *clr_buf_str(const struct clr_buf *b)
{
	return b->ptr ? b->ptr : "";
}
