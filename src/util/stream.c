/*
 * stream.c - streams over file descriptors and memory (see stream.h).
 */
#include "util/stream.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/alloc.h"
#include "util/error.h"

struct fd_stream {
	struct clr_stream base;
	int fd;
	off_t left;  /* bytes still allowed, -1 for no limit */
};

static ssize_t fd_read(struct clr_stream *s, void *buf, size_t n)
{
	struct fd_stream *f = (struct fd_stream *)s;
	ssize_t r;

	if (f->left == 0)
		return 0;
	if (f->left > 0 && (off_t)n > f->left)
		n = (size_t)f->left;
	do
		r = read(f->fd, buf, n);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return clr_error_set(CLR_EIO, "read: %s", strerror(errno));
	if (f->left > 0)
		f->left -= r;
	return r;
}

static void fd_close(struct clr_stream *s)
{
	struct fd_stream *f = (struct fd_stream *)s;

	close(f->fd);
	free(f);
}

int clr_stream_from_fd(struct clr_stream **out, int fd, off_t limit)
{
	struct fd_stream *f = clr_malloc(sizeof(*f));

	f->base.read = fd_read;
	f->base.close = fd_close;
	f->fd = fd;
	f->left = limit;
	*out = &f->base;
	return 0;
}

int clr_stream_from_file(struct clr_stream **out, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return clr_error_set(errno == ENOENT ? CLR_ENOTFOUND : CLR_EIO,
				     "%s: %s", path, strerror(errno));
	return clr_stream_from_fd(out, fd, -1);
}

struct mem_stream {
	struct clr_stream base;
	const unsigned char *p;
	size_t left;
};

static ssize_t mem_read(struct clr_stream *s, void *buf, size_t n)
{
	struct mem_stream *m = (struct mem_stream *)s;

	if (n > m->left)
		n = m->left;
	if (!n)
		return 0;
	memcpy(buf, m->p, n);
	m->p += n;
	m->left -= n;
	return (ssize_t)n;
}

static void mem_close(struct clr_stream *s)
{
	free(s);
}

int clr_stream_from_mem(struct clr_stream **out, const void *data, size_t len)
{
	struct mem_stream *m = clr_malloc(sizeof(*m));

	m->base.read = mem_read;
	m->base.close = mem_close;
	m->p = data;
	m->left = len;
	*out = &m->base;
	return 0;
}
