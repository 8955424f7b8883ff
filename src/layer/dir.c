/*
 * dir.c - the layer reader's answer for an unpacked root filesystem (the
 * dir: transport): the same clr_layer_contents, from a directory walk.
 *
 * The tree is the image's, not ours, so it is walked as untrusted: every
 * directory is opened one component at a time from the root with
 * O_NOFOLLOW, so a symlink (planted, or swapped in while we walk) can
 * never lead outside the root; symlinks are recorded, not followed.  The
 * walk is iterative (a stack of relative paths, one open directory at a
 * time), so depth costs neither C stack nor file descriptors.  It stays
 * on the root's filesystem, as find -xdev, so that "dir:/" on a running
 * system does not wander into /proc or a network mount.
 */
#include "layer/reader.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "layer/internal.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/log.h"
#include "util/vec.h"

struct dwalk {
	struct clr_layer_contents *c;
	const struct clr_layer_select *sel;
	const struct clr_layer_limits *lim;
	const char *root;   /* for messages */
	size_t cap;         /* per kept file */
	int rootfd;
	dev_t dev;          /* the root's filesystem */
	struct clr_vec todo; /* char *: relative directories still to read */
};

static char *join(const char *dir, const char *name)
{
	size_t a = strlen(dir), b = strlen(name);
	char *s = clr_malloc(a + b + 2);

	memcpy(s, dir, a);
	if (a)
		s[a++] = '/';
	memcpy(s + a, name, b + 1);
	return s;
}

/* Opens the directory rel ("" for the root) below the root, refusing a
 * symlink at any step. */
static int open_below(const struct dwalk *w, const char *rel, int *out)
{
	char *copy = clr_strdup(rel), *save = NULL, *comp;
	int fd = openat(w->rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	for (comp = strtok_r(copy, "/", &save); fd >= 0 && comp;
	     comp = strtok_r(NULL, "/", &save)) {
		int next = openat(fd, comp, O_RDONLY | O_DIRECTORY |
				  O_NOFOLLOW | O_CLOEXEC);

		close(fd);
		fd = next;
	}
	free(copy);
	if (fd < 0)
		return -errno;
	*out = fd;
	return 0;
}

static int read_file(struct dwalk *w, int dfd, const char *name,
		     const char *path, char **data, size_t *len)
{
	struct clr_buf b = CLR_BUF_INIT(w->cap);
	char chunk[16384];
	struct stat st;
	int fd, err = 0;

	/* O_NONBLOCK: if a FIFO was swapped in since fstatat, do not hang
	 * on it (the S_ISREG check below then refuses it). */
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return clr_error_set(CLR_EIO, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		err = clr_error_set(CLR_EIO, "%s: no longer a regular file",
				    path);
		goto cleanup;
	}
	if ((uint64_t)st.st_size > w->cap) {
		err = clr_error_set(CLR_ELIMIT,
				    "%s is %lld bytes, larger than the %zu-byte "
				    "limit for a file read from a layer", path,
				    (long long)st.st_size, w->cap);
		goto cleanup;
	}
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = clr_error_set(CLR_EIO, "%s: %s", path,
					    strerror(errno));
			goto cleanup;
		}
		if (!n)
			break;
		if (clr_buf_add(&b, chunk, (size_t)n)) {
			err = clr_error_set(CLR_ELIMIT,
					    "%s is larger than the %zu-byte "
					    "limit for a file read from a layer",
					    path, w->cap);
			goto cleanup;
		}
	}
	*data = clr_buf_detach(&b, len);
cleanup:
	clr_buf_release(&b);
	close(fd);
	return err;
}

static int on_child(struct dwalk *w, int dfd, const char *dir,
		    const char *name)
{
	struct clr_layer_contents *c = w->c;
	char *path = join(dir, name), *data = NULL;
	char *link = NULL;
	enum clr_layer_file_kind kind;
	struct stat st;
	size_t len = 0;
	int err = 0;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW)) {
		if (errno != ENOENT) /* ENOENT: removed while we walk */
			err = clr_error_set(CLR_EIO, "%s: %s", path,
					    strerror(errno));
		goto cleanup;
	}
	if (++c->entries > w->lim->max_entries) {
		err = clr_error_set(CLR_ELIMIT,
				    "more than %llu entries (the limit on a "
				    "layer's entries)",
				    (unsigned long long)w->lim->max_entries);
		goto cleanup;
	}
	if (strlen(path) > w->lim->max_path) {
		err = clr_error_set(CLR_ELIMIT,
				    "a path of %zu bytes is longer than the "
				    "%zu-byte limit", strlen(path),
				    w->lim->max_path);
		goto cleanup;
	}
	if (clr_layer_contents_whiteout(c, path))
		goto cleanup;
	if (S_ISDIR(st.st_mode)) {
		if (st.st_dev == w->dev) {
			clr_vec_push(&w->todo, &path);
			path = NULL;
		}
		goto cleanup;
	}
	if (S_ISREG(st.st_mode)) {
		c->uncompressed_bytes += (uint64_t)st.st_size;
		kind = CLR_LAYER_FILE;
	} else if (S_ISLNK(st.st_mode)) {
		kind = CLR_LAYER_SYMLINK;
	} else {
		goto cleanup;
	}
	if (!w->sel || !w->sel->want || !w->sel->want(path, w->sel->arg))
		goto cleanup;
	if (kind == CLR_LAYER_FILE) {
		if ((err = read_file(w, dfd, name, path, &data, &len)))
			goto cleanup;
	} else {
		char buf[4097];
		ssize_t n = readlinkat(dfd, name, buf, sizeof(buf));

		if (n < 0 || (size_t)n >= sizeof(buf)) {
			err = clr_error_set(CLR_EIO, "%s: cannot read the "
					    "symlink: %s", path,
					    n < 0 ? strerror(errno)
						  : "target too long");
			goto cleanup;
		}
		link = clr_strndup(buf, (size_t)n);
	}
	err = clr_layer_contents_keep(c, path, kind, data, len, link,
				      (uint32_t)st.st_mode, w->lim->max_kept);
	path = data = link = NULL;
cleanup:
	free(path);
	free(data);
	free(link);
	return err;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads one directory: its children are handled in name order (so the
 * result does not depend on the filesystem's order), its subdirectories
 * go on the stack. */
static int read_one(struct dwalk *w, const char *rel)
{
	struct clr_vec names = CLR_VEC_INIT(char *);
	size_t first_sub = w->todo.len;
	struct dirent *de;
	DIR *d;
	int fd = -1, err = 0;

	if ((err = open_below(w, rel, &fd))) {
		if (err == -EACCES) {
			/* As find does: say so and go on; nothing below an
			 * unreadable directory is ours to read anyway. */
			clr_log_warn("dir %s: cannot read %s/: permission "
				     "denied", w->root, *rel ? rel : ".");
			w->c->skipped++;
			return 0;
		}
		return clr_error_set(CLR_EIO, "%s/: %s", *rel ? rel : ".",
				     strerror(-err));
	}
	if (!(d = fdopendir(fd))) {
		err = clr_error_set(CLR_EIO, "%s/: %s", rel, strerror(errno));
		close(fd);
		return err;
	}
	errno = 0;
	while ((de = readdir(d))) {
		char *n;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		n = clr_strdup(de->d_name);
		clr_vec_push(&names, &n);
	}
	clr_vec_sort(&names, cmp_names);
	for (size_t i = 0; i < names.len && !err; i++)
		err = on_child(w, dirfd(d), rel,
			       *CLR_VEC_AT(&names, char *, i));
	/* Reverse the subdirectories just pushed, so they are popped (and
	 * read) in name order. */
	for (size_t i = first_sub, j = w->todo.len; !err && j > i + 1; i++, j--) {
		char **x = CLR_VEC_AT(&w->todo, char *, i);
		char **y = CLR_VEC_AT(&w->todo, char *, j - 1);
		char *t = *x;

		*x = *y;
		*y = t;
	}
	for (size_t i = 0; i < names.len; i++)
		free(*CLR_VEC_AT(&names, char *, i));
	clr_vec_release(&names);
	closedir(d);
	return err;
}

int clr_layer_read_dir(struct clr_layer_contents *out, const char *root,
		       const struct clr_layer_select *sel,
		       const struct clr_layer_limits *lim)
{
	struct clr_layer_limits deflim = clr_layer_limits_default();
	struct clr_layer_contents c;
	struct dwalk w;
	struct stat st;
	int err = 0;

	clr_layer_contents_init(out);
	clr_layer_contents_init(&c);
	if (!lim)
		lim = &deflim;
	memset(&w, 0, sizeof(w));
	w.c = &c;
	w.sel = sel;
	w.lim = lim;
	w.root = root;
	w.cap = clr_layer_file_cap(sel, lim);
	clr_vec_init(&w.todo, sizeof(char *));
	c.compression = CLR_LAYER_DIR;
	w.rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (w.rootfd < 0)
		return clr_error_set(errno == ENOENT ? CLR_ENOTFOUND : CLR_EIO,
				     "dir %s: %s", root, strerror(errno));
	if (fstat(w.rootfd, &st)) {
		err = clr_error_set(CLR_EIO, "%s", strerror(errno));
		goto cleanup;
	}
	w.dev = st.st_dev;
	c.entries = 1; /* the root, as a tar's "./" */
	if ((err = read_one(&w, "")))
		goto cleanup;
	while (w.todo.len) {
		char *rel = *CLR_VEC_AT(&w.todo, char *, w.todo.len - 1);

		clr_vec_truncate(&w.todo, w.todo.len - 1);
		err = read_one(&w, rel);
		free(rel);
		if (err)
			goto cleanup;
	}
	clr_layer_contents_finish(&c);
	*out = c;
	clr_layer_contents_init(&c);
cleanup:
	if (err)
		clr_error_prefix(err, "dir %s", root);
	for (size_t i = 0; i < w.todo.len; i++)
		free(*CLR_VEC_AT(&w.todo, char *, i));
	clr_vec_release(&w.todo);
	close(w.rootfd);
	clr_layer_contents_release(&c);
	return err;
}
