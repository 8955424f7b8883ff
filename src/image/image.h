/*
 * image.h - an image resolved to what the indexer needs: the digest of its
 * manifest and its layers, bottom first.
 *
 * clr_image_resolve() does the same walk for every transport: take the
 * source's top manifest; if it is an index, choose the platform, fetch that
 * manifest by digest and check the bytes against the digest; parse it.
 *
 *     struct clr_image *img;
 *     if ((err = clr_image_resolve(&img, src, "linux/amd64")))
 *             return err;
 *     for (size_t i = 0; i < img->n_layers; i++)
 *             fetch(src, img->layers[i].digest);
 *     clr_image_free(img);
 */
#ifndef CLR_IMAGE_IMAGE_H
#define CLR_IMAGE_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "image/source.h"

/* Largest config blob clr_image_fetch_config() reads. */
#define CLR_IMAGE_CONFIG_MAX (1u << 20)

/* How a layer blob is compressed, as far as its media type tells.  The
 * layer reader still checks the magic bytes: UNKNOWN means "sniff". */
enum clr_compression {
	CLR_COMPRESSION_UNKNOWN,
	CLR_COMPRESSION_NONE,
	CLR_COMPRESSION_GZIP,
	CLR_COMPRESSION_ZSTD,
};

struct clr_image_layer {
	char *digest;       /* "sha256:..." of the blob as stored */
	char *media_type;   /* as the manifest gives it ("" if it does not) */
	int64_t size;       /* bytes as stored; -1 when unknown (schema 1) */
	enum clr_compression compression; /* from media_type */
	char **urls;        /* n_urls alternative locations (foreign layers) */
	size_t n_urls;
};

struct clr_image {
	char *name;            /* the source's name, for reports */
	char *manifest_digest; /* sha256 of the image manifest bytes used
				* (after platform selection); NULL for dir: */
	char *media_type;      /* that manifest's media type; NULL for dir: */
	char *config_digest;   /* NULL for schema 1 and dir: (no config) */
	int64_t config_size;   /* -1 when there is no config */
	char *index_digest;    /* the index the platform was chosen from,
				* or NULL when the top manifest was an image */
	struct clr_image_layer *layers; /* bottom (base) layer first */
	size_t n_layers;
	char *rootfs;          /* dir: only: the root directory; else NULL */
};

/* Resolves src to one image for platform ("os/arch[/variant]"; NULL:
 * linux/amd64, used only when the source holds an index).  CLR_ENOTFOUND
 * when the index has no such platform (the message lists those it has),
 * CLR_EINVALID when a manifest is malformed or its bytes do not match the
 * digest the index gives, or whatever the source returned. */
int clr_image_resolve(struct clr_image **out, struct clr_image_source *src,
		      const char *platform);

void clr_image_free(struct clr_image *img);

/* The image's config blob (at most CLR_IMAGE_CONFIG_MAX bytes), read with
 * open_blob and checked against config_digest.  *bytes is NUL-terminated
 * and the caller frees it.  CLR_EUNSUPPORTED when the image has no config
 * (schema 1, dir:). */
int clr_image_fetch_config(char **bytes, size_t *len,
			   struct clr_image_source *src,
			   const struct clr_image *img);

/* The compression a layer media type implies. */
enum clr_compression clr_compression_from_media_type(const char *media_type);

#endif
