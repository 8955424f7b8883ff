/*
 * reader.c - one streaming pass over a layer blob: digest, decompress,
 * walk the tar with libarchive, keep what the scanners asked for.
 *
 * libarchive only parses tar headers here.  It is given the already
 * decompressed stream through archive_read_open() callbacks and has no
 * filters enabled: decompression is ours (decode.c) so that gzip runs on
 * ISA-L, at about twice zlib's speed, and so that every stored byte passes
 * through the hash on the way.  After the tar's end-of-archive marker the
 * rest of the compressed stream is still decoded and the rest of the blob
 * still read: the digest covers every byte, and a corrupt tail is an
 * error rather than something nobody looked at.
 *
 * The result is built in a local clr_layer_contents and handed to the
 * caller only when everything, the digest included, checked out.
 */
#include "layer/reader.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

#include "layer/internal.h"
#include "layer/whiteout.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/error.h"

/* Bytes copied out of libarchive per archive_read_data() call for a kept
 * file. */
#define CHUNK_SIZE (64 * 1024)

struct clr_layer_limits clr_layer_limits_default(void)
{
	struct clr_layer_limits lim = {
		.max_compressed = 8ull << 30,
		.max_uncompressed = 32ull << 30,
		.max_ratio = 200,
		.ratio_after = 64ull << 20,
		.max_file = 64u << 20,
		.max_kept = 256u << 20,
		.max_entries = 2000000,
		.max_path = 4096,
		.inflater = CLR_LAYER_INFLATE_ISAL,
	};

	return lim;
}

const char *clr_layer_compression_name(enum clr_layer_compression c)
{
	switch (c) {
	case CLR_LAYER_PLAIN:
		return "plain";
	case CLR_LAYER_GZIP:
		return "gzip";
	case CLR_LAYER_ZSTD:
		return "zstd";
	case CLR_LAYER_DIR:
		return "dir";
	}
	return "unknown";
}

bool clr_layer_want_list(const char *path, void *arg)
{
	const char *const *list = arg;

	for (; list && *list; list++)
		if (!strcmp(*list, path))
			return true;
	return false;
}

size_t clr_layer_file_cap(const struct clr_layer_select *sel,
			  const struct clr_layer_limits *lim)
{
	if (sel && sel->max_size && sel->max_size < lim->max_file)
		return sel->max_size;
	return lim->max_file;
}

/* --- building the result ------------------------------------------------ */

void clr_layer_contents_init(struct clr_layer_contents *c)
{
	memset(c, 0, sizeof(*c));
	clr_vec_init(&c->files, sizeof(struct clr_layer_file));
	clr_vec_init(&c->whiteouts, sizeof(struct clr_layer_whiteout));
	clr_hashmap_init(&c->file_index);
	clr_hashmap_init(&c->whiteout_index);
}

static void file_clear(struct clr_layer_file *f)
{
	free(f->path);
	free(f->data);
	free(f->link);
	memset(f, 0, sizeof(*f));
}

int clr_layer_contents_keep(struct clr_layer_contents *c, char *path,
			    enum clr_layer_file_kind kind, char *data,
			    size_t len, char *link, uint32_t mode,
			    size_t max_kept)
{
	size_t idx = (size_t)(uintptr_t)clr_hashmap_get(&c->file_index, path);
	struct clr_layer_file *f;
	size_t old = 0;

	if (idx)
		old = CLR_VEC_AT(&c->files, struct clr_layer_file, idx - 1)->len;
	if (c->kept_bytes - old + len > max_kept) {
		int err = clr_error_set(CLR_ELIMIT,
					"keeping %s would pass the limit of %zu "
					"bytes for all kept files", path,
					max_kept);

		free(path);
		free(data);
		free(link);
		return err;
	}
	c->kept_bytes = c->kept_bytes - old + len;
	if (idx) {
		/* Tar semantics: the later entry wins. */
		f = CLR_VEC_AT(&c->files, struct clr_layer_file, idx - 1);
		file_clear(f);
	} else {
		f = clr_vec_push(&c->files, NULL);
		clr_hashmap_put(&c->file_index, path,
				(void *)(uintptr_t)c->files.len);
	}
	f->path = path;
	f->kind = kind;
	f->data = data;
	f->len = len;
	f->link = link;
	f->mode = mode;
	return 0;
}

void clr_layer_contents_drop(struct clr_layer_contents *c, const char *path)
{
	size_t idx = (size_t)(uintptr_t)clr_hashmap_remove(&c->file_index,
							     path);
	struct clr_layer_file *f;

	if (!idx)
		return;
	f = CLR_VEC_AT(&c->files, struct clr_layer_file, idx - 1);
	c->kept_bytes -= f->len;
	file_clear(f); /* path NULL marks the slot for finish() */
}

/* Records a whiteout, taking target. */
static void whiteout_record(struct clr_layer_contents *c, char *target,
			    bool opaque)
{
	unsigned bit = opaque ? CLR_WH_OPAQUE : CLR_WH_DELETED;
	unsigned bits = (unsigned)(uintptr_t)clr_hashmap_get(&c->whiteout_index,
							      target);
	struct clr_layer_whiteout w = { target, opaque };

	if (bits & bit) {
		free(target);
		return;
	}
	clr_hashmap_put(&c->whiteout_index, target, (void *)(uintptr_t)(bits | bit));
	CLR_VEC_PUSH(&c->whiteouts, &w);
}

bool clr_layer_contents_whiteout(struct clr_layer_contents *c,
				 const char *path)
{
	char *target = NULL;
	enum clr_whiteout_kind wk = clr_whiteout_parse(path, &target);

	if (wk == CLR_WHITEOUT_DELETE || wk == CLR_WHITEOUT_OPAQUE)
		whiteout_record(c, target, wk == CLR_WHITEOUT_OPAQUE);
	return wk != CLR_WHITEOUT_NONE;
}

void clr_layer_contents_finish(struct clr_layer_contents *c)
{
	size_t j = 0;

	for (size_t i = 0; i < c->files.len; i++) {
		struct clr_layer_file *f = CLR_VEC_AT(&c->files,
						      struct clr_layer_file, i);

		if (!f->path)
			continue;
		if (i != j)
			*CLR_VEC_AT(&c->files, struct clr_layer_file, j) = *f;
		j++;
	}
	if (j == c->files.len)
		return;
	clr_vec_truncate(&c->files, j);
	clr_hashmap_release(&c->file_index, NULL);
	for (size_t i = 0; i < j; i++)
		clr_hashmap_put(&c->file_index,
				CLR_VEC_AT(&c->files, struct clr_layer_file,
					   i)->path,
				(void *)(uintptr_t)(i + 1));
}

const struct clr_layer_file *
clr_layer_contents_find(const struct clr_layer_contents *c, const char *path)
{
	size_t idx = (size_t)(uintptr_t)clr_hashmap_get(&c->file_index, path);

	return idx ? CLR_VEC_AT(&c->files, struct clr_layer_file, idx - 1)
		   : NULL;
}

void clr_layer_contents_release(struct clr_layer_contents *c)
{
	for (size_t i = 0; i < c->files.len; i++)
		file_clear(CLR_VEC_AT(&c->files, struct clr_layer_file, i));
	for (size_t i = 0; i < c->whiteouts.len; i++)
		free(CLR_VEC_AT(&c->whiteouts, struct clr_layer_whiteout,
				i)->path);
	clr_vec_release(&c->files);
	clr_vec_release(&c->whiteouts);
	clr_hashmap_release(&c->file_index, NULL);
	clr_hashmap_release(&c->whiteout_index, NULL);
	clr_layer_contents_init(c);
}

/* --- the tar walk -------------------------------------------------------- */

struct walk {
	struct clr_layer_contents *c;       /* the result being built */
	const struct clr_layer_select *sel;
	const struct clr_layer_limits *lim;
	size_t cap;                         /* per kept file */
	struct clr_layer_input in;
	struct clr_layer_decoder dec;
	int err;            /* the first failure seen by the read callback */
	unsigned char *chunk;               /* CHUNK_SIZE, for kept files */
};

/* The limits on the tar stream, checked as each piece comes out. */
static int check_output(struct walk *w)
{
	uint64_t out = w->dec.total_out, in = w->in.total;

	if (out > w->lim->max_uncompressed)
		return clr_error_set(CLR_ELIMIT,
				     "decompresses to more than %llu bytes "
				     "(the limit on a layer's tar size)",
				     (unsigned long long)w->lim->max_uncompressed);
	if (out > w->lim->ratio_after && in && out / in > w->lim->max_ratio)
		return clr_error_set(CLR_ELIMIT,
				     "decompresses to more than %llu times its "
				     "stored size (%llu bytes from %llu): a "
				     "likely decompression bomb",
				     (unsigned long long)w->lim->max_ratio,
				     (unsigned long long)out,
				     (unsigned long long)in);
	return 0;
}

static ssize_t pull(struct walk *w, const void **p)
{
	ssize_t n;
	int err;

	if (w->err)
		return w->err;
	n = clr_layer_decoder_read(&w->dec, p);
	if (n < 0)
		return w->err = (int)n;
	if (n > 0 && (err = check_output(w)))
		return w->err = err;
	return n;
}

static la_ssize_t on_read(struct archive *a, void *arg, const void **buf)
{
	struct walk *w = arg;
	ssize_t n = pull(w, buf);

	if (n < 0) {
		/* Our message stays in clr_error; libarchive only needs to
		 * know that it must stop. */
		archive_set_error(a, EIO, "layer stream failed");
		return -1;
	}
	return n;
}

/* The error after a libarchive call failed: ours if the stream failed
 * underneath it, else the tar is corrupt. */
static int tar_failure(struct walk *w, struct archive *a, const char *doing)
{
	const char *msg;

	if (w->err)
		return w->err;
	msg = archive_error_string(a);
	return clr_error_set(CLR_EINVALID, "corrupt tar (%s): %s", doing,
			     msg ? msg : "unknown libarchive error");
}

/* Reads the current entry's data into a malloc'd buffer of at most cap
 * bytes. */
static int read_data(struct walk *w, struct archive *a, const char *path,
		     char **data, size_t *len)
{
	struct clr_buf b = CLR_BUF_INIT(w->cap);
	int err = 0;

	for (;;) {
		la_ssize_t n = archive_read_data(a, w->chunk, CHUNK_SIZE);

		if (n == 0)
			break;
		if (n < 0) {
			err = tar_failure(w, a, path);
			goto cleanup;
		}
		if (clr_buf_add(&b, w->chunk, (size_t)n)) {
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
	return err;
}

static bool wanted(const struct walk *w, const char *path)
{
	return w->sel && w->sel->want && w->sel->want(path, w->sel->arg);
}

/* The name of an entry (or its link target): libarchive gives the locale's
 * multibyte form, which fails for names it cannot convert; then the UTF-8
 * form from a pax header, or the raw bytes, is what we have. */
static const char *name_of(const char *mbs, const char *utf8)
{
	return mbs ? mbs : utf8;
}

static int on_entry(struct walk *w, struct archive *a, struct archive_entry *e)
{
	struct clr_layer_contents *c = w->c;
	const char *raw = name_of(archive_entry_pathname(e),
				  archive_entry_pathname_utf8(e));
	const char *hl = name_of(archive_entry_hardlink(e),
				 archive_entry_hardlink_utf8(e));
	unsigned type = archive_entry_filetype(e);
	char *path = NULL, *data = NULL, *link = NULL;
	enum clr_layer_file_kind kind;
	size_t len = 0;
	int err = 0;

	if (++c->entries > w->lim->max_entries)
		return clr_error_set(CLR_ELIMIT,
				     "more than %llu entries (the limit on a "
				     "layer's entries)",
				     (unsigned long long)w->lim->max_entries);
	if (!raw) {
		c->skipped++;
		return 0;
	}
	if (strlen(raw) > w->lim->max_path)
		return clr_error_set(CLR_ELIMIT,
				     "an entry name of %zu bytes is longer than "
				     "the %zu-byte limit", strlen(raw),
				     w->lim->max_path);
	if (clr_layer_path_normalize(&path, raw)) {
		clr_error_clear();
		c->skipped++;
		return 0;
	}
	if (!*path) {
		if (type != AE_IFDIR)
			c->skipped++;
		goto cleanup;
	}
	if (clr_layer_contents_whiteout(c, path))
		goto cleanup;

	if (hl)
		kind = CLR_LAYER_HARDLINK;
	else if (type == AE_IFREG)
		kind = CLR_LAYER_FILE;
	else if (type == AE_IFLNK)
		kind = CLR_LAYER_SYMLINK;
	else {
		/* A directory or device replaces whatever was kept there. */
		clr_layer_contents_drop(c, path);
		goto cleanup;
	}
	if (!wanted(w, path)) {
		clr_layer_contents_drop(c, path);
		goto cleanup;
	}

	if (kind == CLR_LAYER_HARDLINK) {
		const struct clr_layer_file *t;

		if (clr_layer_path_normalize(&link, hl) || !*link) {
			clr_error_clear();
			c->skipped++;
			goto cleanup;
		}
		/* A pax hardlink may carry data of its own; otherwise it
		 * shares the bytes of its (earlier) target, if kept. */
		if (archive_entry_size(e) > 0) {
			if ((err = read_data(w, a, path, &data, &len)))
				goto cleanup;
		} else if ((t = clr_layer_contents_find(c, link)) && t->data) {
			data = clr_malloc(t->len + 1);
			memcpy(data, t->data, t->len + 1);
			len = t->len;
		}
	} else if (kind == CLR_LAYER_SYMLINK) {
		const char *s = name_of(archive_entry_symlink(e),
					archive_entry_symlink_utf8(e));

		link = clr_strdup(s ? s : "");
	} else {
		if (archive_entry_size_is_set(e) &&
		    archive_entry_size(e) > (la_int64_t)w->cap) {
			err = clr_error_set(CLR_ELIMIT,
					    "%s is %lld bytes, larger than the "
					    "%zu-byte limit for a file read "
					    "from a layer", path,
					    (long long)archive_entry_size(e),
					    w->cap);
			goto cleanup;
		}
		if ((err = read_data(w, a, path, &data, &len)))
			goto cleanup;
	}
	err = clr_layer_contents_keep(c, path, kind, data, len, link,
				      (uint32_t)archive_entry_mode(e),
				      w->lim->max_kept);
	path = data = link = NULL;
cleanup:
	free(path);
	free(data);
	free(link);
	return err;
}

static int walk_tar(struct walk *w)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	int r, err = 0;

	if (!a)
		return clr_error_set(CLR_ENOMEM, "libarchive: out of memory");
	archive_read_support_format_tar(a);
	/* A zero-byte tar is an empty layer, not an error. */
	archive_read_support_format_empty(a);
	if (archive_read_open(a, w, NULL, on_read, NULL) != ARCHIVE_OK) {
		err = tar_failure(w, a, "opening");
		goto cleanup;
	}
	for (;;) {
		r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		/* ARCHIVE_WARN is libarchive noting something odd (an
		 * unknown pax keyword, say) about a usable header;
		 * ARCHIVE_RETRY is a damaged header, which it could skip,
		 * but a layer with holes in it is not one to trust. */
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
			err = tar_failure(w, a, "reading a header");
			goto cleanup;
		}
		if ((err = on_entry(w, a, e)))
			goto cleanup;
	}
cleanup:
	archive_read_free(a);
	return err;
}

/* Decodes whatever follows the tar's end, to the end of the blob. */
static int finish_stream(struct walk *w)
{
	const void *p;
	ssize_t n;

	while ((n = pull(w, &p)) > 0)
		;
	return (int)n;
}

int clr_layer_read(struct clr_layer_contents *out, struct clr_stream *blob,
		   const char *digest, const struct clr_layer_select *sel,
		   const struct clr_layer_limits *lim)
{
	struct clr_layer_limits deflim = clr_layer_limits_default();
	struct clr_layer_contents c;
	struct walk w;
	uint8_t got[CLR_SHA256_LEN];
	const char *name = digest ? digest : "(no digest given)";
	int err, derr;

	clr_layer_contents_init(out);
	clr_layer_contents_init(&c);
	if (!lim)
		lim = &deflim;
	if (digest && (err = clr_digest_parse(NULL, digest)))
		return clr_error_prefix(err, "layer");
	memset(&w, 0, sizeof(w));
	w.c = &c;
	w.sel = sel;
	w.lim = lim;
	w.cap = clr_layer_file_cap(sel, lim);
	w.chunk = clr_malloc(CHUNK_SIZE);
	if ((err = clr_layer_input_init(&w.in, blob, lim->max_compressed)))
		goto cleanup;
	if ((err = clr_layer_decoder_init(&w.dec, &w.in, lim->inflater)))
		goto cleanup;
	c.compression = w.dec.kind;
	if ((err = walk_tar(&w)) || (err = finish_stream(&w)))
		goto cleanup;

	c.compressed_bytes = w.in.total;
	c.uncompressed_bytes = w.dec.total_out;
	if ((err = clr_sha256_final(&w.in.sha, got)))
		goto cleanup;
	clr_digest_format(c.digest, got);
	if (digest && strcmp(digest, c.digest)) {
		err = clr_error_set(CLR_EINVALID,
				    "layer %s digest mismatch: got %s",
				    digest, c.digest);
		goto done;
	}
	clr_layer_contents_finish(&c);
	*out = c;
	clr_layer_contents_init(&c);
	goto done;

cleanup:
	/* Data that does not decode may simply have been damaged on the
	 * way: if a digest was given, hash the rest and say so when it does
	 * not match, which is the more useful diagnosis. */
	if (digest && (err == CLR_EINVALID || err == CLR_EUNSUPPORTED) &&
	    w.in.buf && !w.in.failed && w.in.sha.ctx) {
		char msg[1024];

		snprintf(msg, sizeof(msg), "%s", clr_error_msg());
		if (!(derr = clr_layer_input_drain(&w.in)) &&
		    !(derr = clr_sha256_final(&w.in.sha, got))) {
			char hex[CLR_DIGEST_STRLEN + 1];

			clr_digest_format(hex, got);
			if (strcmp(hex, digest)) {
				err = clr_error_set(CLR_EINVALID,
						    "layer %s digest mismatch: "
						    "got %s (and the data was "
						    "unreadable: %s)", digest,
						    hex, msg);
				goto done;
			}
		}
		clr_error_set(err, "%s", msg);
	}
	if (err)
		clr_error_prefix(err, "layer %s", name);
done:
	clr_layer_decoder_release(&w.dec);
	clr_layer_input_release(&w.in);
	free(w.chunk);
	clr_layer_contents_release(&c);
	return err;
}
