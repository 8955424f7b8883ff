/*
 * image.c - resolving a source to one image (see image.h).
 *
 * This is where an index's promise is checked: the manifest fetched for the
 * chosen platform must hash to the digest the index gave, or a registry (or
 * a tampered layout) could substitute another image under the same name.
 * The top manifest has nothing to be checked against here; the sources
 * check it when the user named it by digest.
 */
#include "image/image.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "image/manifest.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/sha256.h"

/* An index may point at another index (OCI allows nesting); a chain longer
 * than this is a loop or an attack, not an image. */
#define MAX_INDEX_DEPTH 4

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && !strcmp(s + n - k, suffix);
}

enum clr_compression clr_compression_from_media_type(const char *mt)
{
	if (!mt || !*mt)
		return CLR_COMPRESSION_UNKNOWN;
	if (has_suffix(mt, "+gzip") || has_suffix(mt, ".tar.gzip"))
		return CLR_COMPRESSION_GZIP;
	if (has_suffix(mt, "+zstd") || has_suffix(mt, ".tar.zstd"))
		return CLR_COMPRESSION_ZSTD;
	if (has_suffix(mt, ".tar"))
		return CLR_COMPRESSION_NONE;
	return CLR_COMPRESSION_UNKNOWN;
}

static void digest_of(char out[CLR_DIGEST_STRLEN + 1], const void *p,
		      size_t len, int *err)
{
	uint8_t d[CLR_SHA256_LEN];

	if ((*err = clr_sha256(d, p, len)))
		return;
	clr_digest_format(out, d);
}

void clr_image_free(struct clr_image *img)
{
	if (!img)
		return;
	free(img->name);
	free(img->manifest_digest);
	free(img->media_type);
	free(img->config_digest);
	free(img->index_digest);
	for (size_t i = 0; i < img->n_layers; i++) {
		struct clr_image_layer *l = &img->layers[i];

		free(l->digest);
		free(l->media_type);
		for (size_t k = 0; k < l->n_urls; k++)
			free(l->urls[k]);
		free(l->urls);
	}
	free(img->layers);
	free(img->rootfs);
	free(img);
}

static void fill_image(struct clr_image *img, const struct clr_manifest *m)
{
	img->media_type = clr_strdup(m->media_type);
	if (m->config.digest) {
		img->config_digest = clr_strdup(m->config.digest);
		img->config_size = m->config.size;
	}
	img->layers = clr_calloc(m->n_layers + 1, sizeof(*img->layers));
	for (size_t i = 0; i < m->n_layers; i++) {
		const struct clr_descriptor *d = &m->layers[i];
		struct clr_image_layer *l = &img->layers[i];

		l->digest = clr_strdup(d->digest);
		l->media_type = clr_strdup(d->media_type);
		l->size = d->size;
		l->compression = clr_compression_from_media_type(d->media_type);
		if (d->n_urls) {
			l->urls = clr_calloc(d->n_urls, sizeof(*l->urls));
			for (size_t k = 0; k < d->n_urls; k++)
				l->urls[k] = clr_strdup(d->urls[k]);
			l->n_urls = d->n_urls;
		}
	}
	img->n_layers = m->n_layers;
}

/* Fetches the manifest an index entry names and checks it against the
 * entry: same digest, same size. */
static int fetch_child(struct clr_image_source *src,
		       const struct clr_descriptor *d, char **bytes,
		       size_t *len, char **media_type)
{
	char got[CLR_DIGEST_STRLEN + 1];
	int err;

	if ((err = src->ops->get_manifest(src, d->digest, bytes, len,
					  media_type)))
		return err;
	digest_of(got, *bytes, *len, &err);
	if (err)
		return err;
	if (strcmp(got, d->digest))
		return clr_error_set(CLR_EINVALID,
				     "manifest %s: digest mismatch: the bytes "
				     "received hash to %s", d->digest, got);
	if (d->size >= 0 && (size_t)d->size != *len)
		return clr_error_set(CLR_EINVALID,
				     "manifest %s: %zu bytes, but the index "
				     "says %lld", d->digest, *len,
				     (long long)d->size);
	/* A source that cannot say what it holds defers to the index. */
	if ((!*media_type || !**media_type) && *d->media_type) {
		free(*media_type);
		*media_type = clr_strdup(d->media_type);
	}
	return 0;
}

static int resolve(struct clr_image *img, struct clr_image_source *src,
		   const char *platform)
{
	struct clr_manifest *m = NULL;
	char *bytes = NULL, *mt = NULL;
	char digest[CLR_DIGEST_STRLEN + 1];
	size_t len = 0;
	int err, depth = 0;

	if ((err = src->ops->get_manifest(src, NULL, &bytes, &len, &mt)))
		goto cleanup;
	for (;;) {
		const struct clr_descriptor *d;

		digest_of(digest, bytes, len, &err);
		if (err || (err = clr_manifest_parse(&m, bytes, len, mt))) {
			clr_error_prefix(err, "manifest %s", digest);
			goto cleanup;
		}
		if (m->kind == CLR_MANIFEST_IMAGE)
			break;
		if (++depth > MAX_INDEX_DEPTH) {
			err = clr_error_set(CLR_ELIMIT, "indexes nested more "
					    "than %d deep", MAX_INDEX_DEPTH);
			goto cleanup;
		}
		if (!img->index_digest)
			img->index_digest = clr_strdup(digest);
		if ((err = clr_manifest_select_platform(m, platform, &d)))
			goto cleanup;
		free(bytes);
		free(mt);
		bytes = mt = NULL;
		err = fetch_child(src, d, &bytes, &len, &mt);
		clr_manifest_free(m);
		m = NULL;
		if (err)
			goto cleanup;
	}
	img->manifest_digest = clr_strdup(digest);
	fill_image(img, m);
cleanup:
	clr_manifest_free(m);
	free(bytes);
	free(mt);
	return err;
}

int clr_image_resolve(struct clr_image **out, struct clr_image_source *src,
		      const char *platform)
{
	struct clr_image *img = clr_calloc(1, sizeof(*img));
	int err = 0;

	*out = NULL;
	img->name = clr_strdup(src->name ? src->name : "");
	img->config_size = -1;
	if (src->rootfs)
		/* The indexer reads the directory itself: no manifest, no
		 * layers, nothing to resolve. */
		img->rootfs = clr_strdup(src->rootfs);
	else if ((err = resolve(img, src, platform)))
		clr_error_prefix(err, "image %.200s", img->name);
	if (err) {
		clr_image_free(img);
		return err;
	}
	*out = img;
	return 0;
}

int clr_image_fetch_config(char **bytes, size_t *len,
			   struct clr_image_source *src,
			   const struct clr_image *img)
{
	struct clr_buf b = CLR_BUF_INIT(CLR_IMAGE_CONFIG_MAX);
	struct clr_stream *s = NULL;
	char chunk[16384], got[CLR_DIGEST_STRLEN + 1];
	ssize_t n;
	int err;

	*bytes = NULL;
	*len = 0;
	if (!img->config_digest)
		return clr_error_set(CLR_EUNSUPPORTED, "image %.200s has no "
				     "config blob", img->name);
	if ((err = src->ops->open_blob(&s, src, img->config_digest)))
		goto cleanup;
	while ((n = clr_stream_read(s, chunk, sizeof(chunk))) > 0)
		if ((err = clr_buf_add(&b, chunk, (size_t)n)))
			goto cleanup;
	if (n < 0) {
		err = (int)n;
		goto cleanup;
	}
	digest_of(got, clr_buf_str(&b), b.len, &err);
	if (err)
		goto cleanup;
	if (strcmp(got, img->config_digest)) {
		err = clr_error_set(CLR_EINVALID, "digest mismatch: the bytes "
				    "read hash to %s", got);
		goto cleanup;
	}
	*bytes = clr_buf_detach(&b, len);
cleanup:
	clr_stream_close(s);
	clr_buf_release(&b);
	if (err)
		clr_error_prefix(err, "config %s", img->config_digest);
	return err;
}
