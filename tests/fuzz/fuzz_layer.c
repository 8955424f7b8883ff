/*
 * fuzz_layer.c - libFuzzer target for the layer reader (clr_layer_read).
 *
 * The input is a layer blob, streamed from memory with small limits and a
 * predicate that keeps everything, so hostile tars, gzip, zstd and their
 * damaged forms all reach the decoders, libarchive and the result
 * building.  It is read twice, gzip going through ISA-L and then zlib.
 * Checked on every input (a violation aborts):
 *   - a failure leaves an empty result and a message;
 *   - a success has the blob's true digest, only normalised kept paths
 *     that find() returns, kept files within the caps;
 *   - when both inflaters succeed they give the same result.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "layer/reader.h"
#include "layer/whiteout.h"
#include "util/error.h"
#include "util/sha256.h"
#include "util/stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FILE (64 * 1024)

static bool want_all(const char *path, void *arg)
{
	(void)path;
	(void)arg;
	return true;
}

static bool normalised(const char *p)
{
	char *n;
	bool same;

	if (!*p || clr_layer_path_normalize(&n, p))
		return false;
	same = !strcmp(n, p);
	free(n);
	return same;
}

static void check(const struct clr_layer_contents *c, const uint8_t *data,
		  size_t size)
{
	uint8_t d[CLR_SHA256_LEN];
	char want[CLR_DIGEST_STRLEN + 1];

	if (clr_sha256(d, data, size))
		abort();
	clr_digest_format(want, d);
	if (strcmp(want, c->digest) || c->compressed_bytes != size)
		abort();
	for (size_t i = 0; i < c->files.len; i++) {
		const struct clr_layer_file *f = CLR_VEC_AT(&c->files,
					struct clr_layer_file, i);

		if (!normalised(f->path) || clr_layer_contents_find(c, f->path) != f)
			abort();
		if (f->len > MAX_FILE || (f->data && f->data[f->len]))
			abort();
		if (f->kind != CLR_LAYER_FILE && !f->link)
			abort();
		if (f->kind == CLR_LAYER_HARDLINK && !normalised(f->link))
			abort();
		clr_whiteout_hides(c, f->path);
	}
	for (size_t i = 0; i < c->whiteouts.len; i++) {
		const struct clr_layer_whiteout *w = CLR_VEC_AT(&c->whiteouts,
					struct clr_layer_whiteout, i);

		if (*w->path && !normalised(w->path))
			abort();
		if (!w->opaque && !clr_whiteout_hides(c, w->path))
			abort();
	}
}

static void same(const struct clr_layer_contents *a,
		 const struct clr_layer_contents *b)
{
	if (a->entries != b->entries || a->files.len != b->files.len ||
	    a->whiteouts.len != b->whiteouts.len ||
	    a->uncompressed_bytes != b->uncompressed_bytes ||
	    strcmp(a->digest, b->digest))
		abort();
	for (size_t i = 0; i < a->files.len; i++) {
		const struct clr_layer_file *f = CLR_VEC_AT(&a->files,
					struct clr_layer_file, i);
		const struct clr_layer_file *g = CLR_VEC_AT(&b->files,
					struct clr_layer_file, i);

		if (strcmp(f->path, g->path) || f->len != g->len ||
		    (f->len && memcmp(f->data, g->data, f->len)))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct clr_layer_limits lim = clr_layer_limits_default();
	struct clr_layer_select sel = { want_all, NULL, MAX_FILE };
	struct clr_layer_contents c[2];
	int err[2];

	lim.max_uncompressed = 8 << 20;
	lim.ratio_after = 1 << 20;
	lim.max_kept = 1 << 20;
	lim.max_entries = 10000;
	lim.max_path = 1024;
	for (int i = 0; i < 2; i++) {
		struct clr_stream *s;

		lim.inflater = i ? CLR_LAYER_INFLATE_ZLIB : CLR_LAYER_INFLATE_ISAL;
		if (clr_stream_from_mem(&s, size ? (const void *)data : "", size))
			abort();
		clr_error_clear();
		err[i] = clr_layer_read(&c[i], s, NULL, &sel, &lim);
		clr_stream_close(s);
		if (err[i]) {
			if (!clr_error_msg()[0] || c[i].files.len ||
			    c[i].whiteouts.len || c[i].digest[0])
				abort();
		} else {
			check(&c[i], data, size);
		}
	}
	if (!err[0] && !err[1])
		same(&c[0], &c[1]);
	clr_layer_contents_release(&c[0]);
	clr_layer_contents_release(&c[1]);
	return 0;
}
