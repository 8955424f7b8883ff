/*
 * stream.h - a pull-based byte stream, the one way bytes flow into parsers.
 *
 * A layer blob may come from a file, a tar member of a `docker save`
 * archive or an HTTP download running in another thread; the layer reader
 * does not care which.  Whoever opens a stream gives it a read function and
 * a close function; the consumer pulls until read returns 0 (end) or a
 * negative CLR_E* code (error, message set), then closes it exactly once.
 *
 *     struct clr_stream *s;
 *     if ((err = source->ops->open_blob(&s, source, digest)))
 *             return err;
 *     while ((n = clr_stream_read(s, buf, sizeof(buf))) > 0)
 *             use(buf, n);
 *     clr_stream_close(s);
 */
#ifndef CLR_UTIL_STREAM_H
#define CLR_UTIL_STREAM_H

#include <stddef.h>
#include <sys/types.h>

struct clr_stream {
	/* Reads up to n bytes into buf: >0 bytes read, 0 at the end, <0 a
	 * CLR_E* code.  Never called again after returning <= 0. */
	ssize_t (*read)(struct clr_stream *s, void *buf, size_t n);
	/* Releases everything, including the struct itself.  May be called
	 * before the end (the consumer gave up): producers must stop cleanly
	 * (a download thread is cancelled and joined). */
	void (*close)(struct clr_stream *s);
};

static inline ssize_t clr_stream_read(struct clr_stream *s, void *buf, size_t n)
{
	return s->read(s, buf, n);
}

/* Closes s; NULL does nothing. */
static inline void clr_stream_close(struct clr_stream *s)
{
	if (s)
		s->close(s);
}

/* A stream over an open file descriptor (taken: closed with the stream),
 * reading at most limit bytes from its current offset (-1: to EOF). */
int clr_stream_from_fd(struct clr_stream **out, int fd, off_t limit);

/* A stream over a file by path. */
int clr_stream_from_file(struct clr_stream **out, const char *path);

/* A stream over memory (borrowed: must outlive the stream). */
int clr_stream_from_mem(struct clr_stream **out, const void *data, size_t len);

#endif
