/*
 * source.c - opening an image source by name: the transport prefix picks
 * the backend (see source.h for the list).
 *
 * The prefixes are skopeo's, and only those exact prefixes count: a name
 * without one is a registry reference, which is why "docker:24" means the
 * image "docker" at tag 24, not a transport.  After "docker-archive:",
 * "oci:" and "oci-archive:" the first ':' ends the path and the rest names
 * the image inside (as skopeo reads them, so a path containing ':' cannot
 * be given this way).
 */
#include "image/source.h"

#include <stdlib.h>
#include <string.h>

#include "image/registry.h"
#include "image/transports.h"
#include "util/alloc.h"
#include "util/error.h"

enum transport { T_DOCKER, T_DOCKER_ARCHIVE, T_OCI, T_OCI_ARCHIVE, T_DIR };

static const struct {
	const char *prefix;
	enum transport t;
} prefixes[] = {
	{ "docker://", T_DOCKER },
	{ "docker-archive:", T_DOCKER_ARCHIVE },
	{ "oci-archive:", T_OCI_ARCHIVE },
	{ "oci:", T_OCI },
	{ "dir:", T_DIR },
};

int clr_image_source_open(struct clr_image_source **out, const char *image,
			  const struct clr_source_opts *opts)
{
	static const struct clr_source_opts no_opts;
	enum transport t = T_DOCKER;
	const char *rest = image, *colon;
	char *path = NULL, *ref = NULL;
	int err;

	*out = NULL;
	if (!opts)
		opts = &no_opts;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(*prefixes); i++) {
		size_t n = strlen(prefixes[i].prefix);

		if (!strncmp(image, prefixes[i].prefix, n)) {
			t = prefixes[i].t;
			rest = image + n;
			break;
		}
	}
	if (!*rest)
		return clr_error_set(CLR_EINVALID, "'%.200s': nothing after the "
				     "transport prefix", image);
	if (t == T_DOCKER)
		return clr_registry_source_open(out, rest, opts);
	if (t == T_DIR)
		return clr_rootfs_source_open(out, rest);

	colon = strchr(rest, ':');
	path = colon ? clr_strndup(rest, (size_t)(colon - rest))
		     : clr_strdup(rest);
	ref = colon ? clr_strdup(colon + 1) : NULL;
	if (!*path) {
		err = clr_error_set(CLR_EINVALID, "'%.200s': no path",
				    image);
	} else if (ref && !*ref) {
		err = clr_error_set(CLR_EINVALID, "'%.200s': nothing after "
				    "the ':' that ends the path", image);
	} else if (t == T_DOCKER_ARCHIVE) {
		err = clr_archive_source_open(out, path, ref);
	} else if (t == T_OCI) {
		err = clr_oci_source_open(out, path, ref);
	} else {
		err = clr_oci_archive_source_open(out, path, ref);
	}
	free(path);
	free(ref);
	return err;
}

void clr_image_source_free(struct clr_image_source *src)
{
	if (src)
		src->ops->free(src);
}
