/*
 * internal.h - what the files of src/layer/ share with each other and with
 * nobody else: the hashed input of a blob, the decompressors that turn it
 * into a tar stream, and the helpers that build a clr_layer_contents.
 *
 * Memory is fixed per layer read: one CLR_LAYER_IN_SIZE input buffer, one
 * CLR_LAYER_OUT_SIZE output window and the decoder's state (ISA-L's is
 * about 100 KiB; zstd's holds the frame's window, capped at 128 MiB by
 * zstd's default windowLogMax and about 2-8 MiB for what real tools write).
 */
#ifndef CLR_LAYER_INTERNAL_H
#define CLR_LAYER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "layer/reader.h"
#include "util/sha256.h"
#include "util/stream.h"

#define CLR_LAYER_IN_SIZE (256 * 1024)
#define CLR_LAYER_OUT_SIZE (1024 * 1024)

/* The stored bytes of a blob, hashed as they are read. */
struct clr_layer_input {
	struct clr_stream *blob; /* borrowed */
	struct clr_sha256 sha;   /* over every byte read so far */
	unsigned char *buf;      /* CLR_LAYER_IN_SIZE bytes */
	size_t pos;              /* next unconsumed byte in buf */
	size_t len;              /* bytes valid in buf */
	bool eof;                /* the blob returned 0: never read it again */
	bool failed;             /* the blob returned an error: same */
	uint64_t total;          /* bytes read from the blob */
	uint64_t max;            /* limit on total */
};

/* Prepares in (allocating its buffer and starting the hash). */
int clr_layer_input_init(struct clr_layer_input *in, struct clr_stream *blob,
			 uint64_t max);

/* Refills buf from the blob once everything in it is consumed (pos ==
 * len): afterwards either len > pos or eof is set.  Errors: the blob's own
 * (in->failed is then set) or CLR_ELIMIT past max. */
int clr_layer_input_fill(struct clr_layer_input *in);

/* Reads and hashes the rest of the blob, discarding it. */
int clr_layer_input_drain(struct clr_layer_input *in);

void clr_layer_input_release(struct clr_layer_input *in);

/* Turns the input into the tar stream. */
struct clr_layer_decoder {
	enum clr_layer_compression kind;
	enum clr_layer_inflater inflater; /* for CLR_LAYER_GZIP */
	struct clr_layer_input *in;       /* borrowed */
	unsigned char *out;               /* CLR_LAYER_OUT_SIZE, or NULL (plain) */
	void *state;      /* inflate_state, z_stream or ZSTD_DCtx */
	bool member_end;  /* gzip: the current member is complete */
	bool done;        /* gzip: only zero padding followed; at the end */
	bool pending;     /* zstd: the last call filled out; more may follow */
	size_t zstd_hint; /* zstd: 0 when the last frame is complete */
	uint64_t total_out; /* tar stream bytes produced */
};

/* Sniffs the compression from the first bytes of in and prepares the
 * matching decoder.  CLR_EUNSUPPORTED for bzip2 and xz. */
int clr_layer_decoder_init(struct clr_layer_decoder *d,
			   struct clr_layer_input *in,
			   enum clr_layer_inflater inflater);

/* The next piece of the tar stream: > 0 bytes at *p (valid until the next
 * call), 0 at the end of the compressed stream, which is also the end of
 * the blob (anything after it but gzip's zero padding is an error), or < 0 (CLR_EINVALID for
 * corrupt or truncated data, or the input's errors). */
ssize_t clr_layer_decoder_read(struct clr_layer_decoder *d, const void **p);

void clr_layer_decoder_release(struct clr_layer_decoder *d);

/* Building a clr_layer_contents (reader.c), shared with dir.c. */

/* An empty result. */
void clr_layer_contents_init(struct clr_layer_contents *c);

/* Keeps an entry, taking path, data and link (any may be freed on
 * error).  A later entry at the same path replaces an earlier one, as
 * extraction would.  CLR_ELIMIT when the kept bytes would pass max_kept. */
int clr_layer_contents_keep(struct clr_layer_contents *c, char *path,
			    enum clr_layer_file_kind kind, char *data,
			    size_t len, char *link, uint32_t mode,
			    size_t max_kept);

/* Forgets a kept entry at path, when a later entry (a directory, say)
 * replaces it. */
void clr_layer_contents_drop(struct clr_layer_contents *c, const char *path);

/* Whether the entry at path is a whiteout (OCI's rules, whiteout.h):
 * records a deletion or an opaque directory and says true, also for the
 * other names the rules reserve; either way the entry itself is not
 * kept.  False for an ordinary entry. */
bool clr_layer_contents_whiteout(struct clr_layer_contents *c,
				 const char *path);

/* Compacts the kept entries after drops and rebuilds the index. */
void clr_layer_contents_finish(struct clr_layer_contents *c);

/* The effective per-file cap of sel under lim. */
size_t clr_layer_file_cap(const struct clr_layer_select *sel,
			  const struct clr_layer_limits *lim);

#endif
