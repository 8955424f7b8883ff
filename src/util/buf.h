/*
 * buf.h - a growable byte buffer with a hard size cap.
 *
 * Everything clarion reads from outside (manifests, feed documents, HTTP
 * bodies, tar headers) is accumulated in a clr_buf, so that a hostile or
 * broken peer cannot make us allocate without bound: the cap is fixed when
 * the buffer is initialised and every append checks it.
 *
 *     struct clr_buf b = CLR_BUF_INIT(1 << 20);
 *     if ((err = clr_buf_add(&b, data, n)))
 *             goto cleanup;                 // CLR_ELIMIT, b is now empty
 *     use(clr_buf_str(&b), b.len);
 *   cleanup:
 *     clr_buf_release(&b);
 *
 * The cap counts content bytes: a buffer initialised with max 10 holds 10
 * bytes (plus the NUL terminator it keeps internally), and the 11th byte is
 * refused.
 *
 * When an append would go past the cap it fails with CLR_ELIMIT and frees
 * the contents, leaving an empty buffer (as curl's dynbuf does).  Input that
 * is too large is an error for the whole document, never something to act
 * on half-read, so keeping a truncated prefix around would only invite a
 * caller to use it.  The buffer stays usable (same max) after a failure.
 *
 * Ownership: the buffer owns its memory until clr_buf_release() or until
 * clr_buf_detach() hands it to the caller.  Pointers from clr_buf_str() are
 * borrowed and valid until the next call that modifies the buffer.
 */
#ifndef CLR_UTIL_BUF_H
#define CLR_UTIL_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct clr_buf {
	char *ptr;    /* NULL until the first byte is added; NUL-terminated after */
	size_t len;   /* content bytes, not counting the terminating NUL */
	size_t alloc; /* bytes allocated at ptr (always > len once ptr is set) */
	size_t max;   /* the cap: len never exceeds it */
};

/* Static initialiser, the same as clr_buf_init(b, max). */
#define CLR_BUF_INIT(max_) { NULL, 0, 0, (max_) }

/* Prepares an empty buffer that will hold at most max bytes (0 < max <
 * SIZE_MAX).  Allocates nothing. */
void clr_buf_init(struct clr_buf *b, size_t max);

/* Appends len bytes (which may include NULs).  0, or CLR_ELIMIT when the
 * result would exceed max, in which case the contents are freed. */
int clr_buf_add(struct clr_buf *b, const void *data, size_t len);

/* Appends a NUL-terminated string, without its terminator. */
int clr_buf_addstr(struct clr_buf *b, const char *s);

/* Appends one byte. */
int clr_buf_addch(struct clr_buf *b, char c);

/* Appends printf-style formatted text.  CLR_ELIMIT as above; CLR_EINVALID
 * (contents kept) if the format itself cannot be rendered. */
int clr_buf_printf(struct clr_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int clr_buf_vprintf(struct clr_buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* Empties the buffer but keeps its memory for reuse. */
void clr_buf_reset(struct clr_buf *b);

/* Frees the contents.  The buffer is empty and reusable with the same max. */
void clr_buf_release(struct clr_buf *b);

/* Hands the contents to the caller, who must free() them; never NULL (an
 * empty buffer yields an allocated "").  The result is NUL-terminated; its
 * length is stored in *len when len is not NULL.  The buffer is left empty,
 * with the same max. */
char *clr_buf_detach(struct clr_buf *b, size_t *len);

/* The contents as a NUL-terminated string; "" when empty, never NULL.
 * Borrowed: valid until the buffer is next modified. */
const char *clr_buf_str(const struct clr_buf *b);

#endif
