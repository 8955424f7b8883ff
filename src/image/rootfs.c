/*
 * rootfs.c - the dir: transport: an unpacked root filesystem.
 *
 * There is no manifest and there are no blobs: the indexer reads the
 * directory itself (clr_image_resolve() gives an image with no layers and
 * `rootfs` set).  The path is resolved once, here, so that a symlink
 * swapped later cannot redirect the scan, and so reports name the real
 * directory.
 *
 * Note that skopeo's own "dir:" is a different thing (a directory of
 * manifest and blob files); clarion's dir: is the root filesystem, as
 * the scanners that take a directory mean it.
 */
#include "image/transports.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/alloc.h"
#include "util/error.h"

static int rootfs_get_manifest(struct clr_image_source *src,
			       const char *digest, char **bytes, size_t *len,
			       char **media_type)
{
	(void)digest;
	*bytes = NULL;
	*media_type = NULL;
	*len = 0;
	return clr_error_set(CLR_EUNSUPPORTED, "%s: a directory has no "
			     "manifest", src->name);
}

static int rootfs_open_blob(struct clr_stream **out,
			    struct clr_image_source *src, const char *digest)
{
	(void)digest;
	*out = NULL;
	return clr_error_set(CLR_EUNSUPPORTED, "%s: a directory has no "
			     "blobs", src->name);
}

static void rootfs_free(struct clr_image_source *src)
{
	free(src->name);
	free(src->rootfs);
	free(src);
}

static const struct clr_image_source_ops rootfs_ops = {
	.transport = "dir",
	.get_manifest = rootfs_get_manifest,
	.open_blob = rootfs_open_blob,
	.free = rootfs_free,
};

int clr_rootfs_source_open(struct clr_image_source **out, const char *path)
{
	struct clr_image_source *src;
	struct stat st;
	char *real;

	*out = NULL;
	if (stat(path, &st))
		return clr_error_set(errno == ENOENT ? CLR_ENOTFOUND : CLR_EIO,
				     "dir:%s: %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return clr_error_set(CLR_EINVALID, "dir:%s: not a directory",
				     path);
	if (!(real = realpath(path, NULL)))
		return clr_error_set(CLR_EIO, "dir:%s: %s", path,
				     strerror(errno));
	src = clr_calloc(1, sizeof(*src));
	src->ops = &rootfs_ops;
	src->rootfs = real;
	src->name = clr_malloc(strlen(real) + 5);
	strcpy(src->name, "dir:");
	strcat(src->name, real);
	*out = src;
	return 0;
}
