/*
 * decode.c - from stored blob bytes to the tar stream: hashing input,
 * compression sniffing, and the gzip (ISA-L or zlib) and zstd decoders.
 *
 * Every decoder follows the same contract (internal.h): pull input in
 * CLR_LAYER_IN_SIZE pieces, hand out at most CLR_LAYER_OUT_SIZE bytes per
 * call, and report the end only when the compressed stream is complete and
 * the blob is exhausted.  A stream that stops early is CLR_EINVALID
 * ("truncated"), never a silent short tar: libarchive accepts a tar that
 * ends at a header boundary, so the decoder is where truncation shows.
 *
 * gzip: one or more members back to back (RFC 1952 allows it; pigz and
 * some layer builders write them).  After a member's trailer the next
 * byte must start another member, or be zero padding to the end of the
 * blob (gzip(1) ignores trailing zeros, and libarchive's writer pads
 * compressed output to its block size unless told not to); anything else
 * is rejected, as Go's gzip reader (what containerd uses) does.
 */
#include "layer/internal.h"

#include <stdlib.h>
#include <string.h>

#include <isa-l/igzip_lib.h>
#include <zlib.h>
#include <zstd.h>

#include "util/alloc.h"
#include "util/error.h"

/* zstd's own default; frames asking for more are refused.  Spelled out
 * because it bounds this reader's memory. */
#define ZSTD_WINDOW_LOG_MAX 27

int clr_layer_input_init(struct clr_layer_input *in, struct clr_stream *blob,
			 uint64_t max)
{
	memset(in, 0, sizeof(*in));
	in->blob = blob;
	in->max = max;
	in->buf = clr_malloc(CLR_LAYER_IN_SIZE);
	return clr_sha256_init(&in->sha);
}

int clr_layer_input_fill(struct clr_layer_input *in)
{
	ssize_t n;
	int err;

	if (in->eof || in->failed || in->pos < in->len)
		return in->failed ? CLR_EIO : 0;
	in->pos = in->len = 0;
	n = clr_stream_read(in->blob, in->buf, CLR_LAYER_IN_SIZE);
	if (n < 0) {
		in->failed = true;
		return (int)n;
	}
	if (n == 0) {
		in->eof = true;
		return 0;
	}
	in->len = (size_t)n;
	in->total += (uint64_t)n;
	if (in->total > in->max)
		return clr_error_set(CLR_ELIMIT,
				     "more than %llu stored bytes (the limit "
				     "on a layer's size)",
				     (unsigned long long)in->max);
	if ((err = clr_sha256_update(&in->sha, in->buf, in->len)))
		return err;
	return 0;
}

int clr_layer_input_drain(struct clr_layer_input *in)
{
	int err;

	while (!in->eof) {
		in->pos = in->len;
		if ((err = clr_layer_input_fill(in)))
			return err;
	}
	return 0;
}

void clr_layer_input_release(struct clr_layer_input *in)
{
	clr_sha256_release(&in->sha);
	free(in->buf);
	in->buf = NULL;
}

static int corrupt(const char *what, const char *why)
{
	return clr_error_set(CLR_EINVALID, "corrupt %s data: %s", what, why);
}

static int truncated(const char *what)
{
	return clr_error_set(CLR_EINVALID,
			     "truncated %s data: the blob ends inside the "
			     "compressed stream", what);
}

static int trailing_garbage(const char *what)
{
	return clr_error_set(CLR_EINVALID,
			     "unexpected data after the end of the %s stream",
			     what);
}

/* Appends to buf until it holds at least want bytes or the blob ends, so
 * that magic numbers and gzip headers are seen whole even from a stream
 * that returns a byte at a time. */
static int read_more(struct clr_layer_input *in, size_t want)
{
	while (in->len < want && !in->eof) {
		ssize_t n = clr_stream_read(in->blob, in->buf + in->len,
					    CLR_LAYER_IN_SIZE - in->len);
		int err;

		if (n < 0) {
			in->failed = true;
			return (int)n;
		}
		if (n == 0) {
			in->eof = true;
			break;
		}
		if ((err = clr_sha256_update(&in->sha, in->buf + in->len,
					     (size_t)n)))
			return err;
		in->len += (size_t)n;
		in->total += (uint64_t)n;
		if (in->total > in->max)
			return clr_error_set(CLR_ELIMIT,
					     "more than %llu stored bytes (the "
					     "limit on a layer's size)",
					     (unsigned long long)in->max);
	}
	return 0;
}

/* After the last gzip member: zeros to the end of the blob are padding;
 * p[0..n) is what is left of the input buffer. */
static ssize_t zero_tail(struct clr_layer_decoder *d, const unsigned char *p,
			 size_t n)
{
	struct clr_layer_input *in = d->in;
	int err;

	for (;;) {
		for (size_t i = 0; i < n; i++)
			if (p[i])
				return trailing_garbage("gzip");
		in->pos = in->len;
		if ((err = clr_layer_input_fill(in)))
			return err;
		if (in->eof)
			break;
		p = in->buf;
		n = in->len;
	}
	d->done = true;
	return 0;
}

/* --- gzip with ISA-L ----------------------------------------------------- */

static const char *isal_why(int ret)
{
	switch (ret) {
	case ISAL_INVALID_BLOCK:
		return "invalid deflate block";
	case ISAL_INVALID_SYMBOL:
		return "invalid deflate symbol";
	case ISAL_INVALID_LOOKBACK:
		return "invalid deflate distance";
	case ISAL_INVALID_WRAPPER:
		return "invalid gzip header";
	case ISAL_UNSUPPORTED_METHOD:
		return "gzip member is not deflate";
	case ISAL_INCORRECT_CHECKSUM:
		return "gzip checksum mismatch";
	case ISAL_NEED_DICT:
		return "stream needs a preset dictionary";
	default:
		return "ISA-L inflate failed";
	}
}

/* The length of the gzip member header at p[0..n): > 0 when all of it is
 * there, 0 when more bytes are needed, -1 when it is not a gzip header
 * (ISA-L then says what is wrong). */
static long gzip_header_len(const unsigned char *p, size_t n)
{
	size_t off = 10;
	unsigned flg;

	if (n < off)
		return 0;
	if (p[0] != 0x1f || p[1] != 0x8b)
		return -1;
	flg = p[3];
	if (flg & 4) { /* FEXTRA */
		if (n < off + 2)
			return 0;
		off += 2 + (size_t)(p[off] | p[off + 1] << 8);
	}
	for (unsigned bit = 8; bit <= 16; bit <<= 1) { /* FNAME, FCOMMENT */
		const unsigned char *nul;

		if (!(flg & bit))
			continue;
		if (off >= n || !(nul = memchr(p + off, 0, n - off)))
			return 0;
		off = (size_t)(nul - p) + 1;
	}
	if (flg & 2) /* FHCRC */
		off += 2;
	return off <= n ? (long)off : 0;
}

/* Starts a gzip member at the input ISA-L has not consumed yet, first
 * making sure its whole header is in one piece of input: ISA-L 2.30
 * miscomputes the header CRC (FHCRC) of a header split across calls, and
 * rejects a valid member.  A header (names, comments, extra field) longer
 * than the input buffer is refused. */
static int isal_start(struct clr_layer_decoder *d)
{
	struct inflate_state *st = d->state;
	struct clr_layer_input *in = d->in;
	int err;

	for (;;) {
		size_t avail = st->avail_in;

		if (gzip_header_len(st->next_in, avail) || in->eof)
			break;
		if (avail >= CLR_LAYER_IN_SIZE)
			return corrupt("gzip", "member header longer than "
				       "256 KiB");
		memmove(in->buf, st->next_in, avail);
		in->len = in->pos = avail;
		if ((err = read_more(in, avail + 1)))
			return err;
		st->next_in = in->buf;
		st->avail_in = (uint32_t)in->len;
		in->pos = in->len;
	}
	isal_inflate_reset(st);
	/* ISAL_GZIP: ISA-L parses the header (any FEXTRA, FNAME, FCOMMENT,
	 * FHCRC) and checks the CRC-32 and size in the trailer. */
	st->crc_flag = ISAL_GZIP;
	return 0;
}

static ssize_t isal_read(struct clr_layer_decoder *d, const void **p)
{
	struct inflate_state *st = d->state;
	struct clr_layer_input *in = d->in;
	int err, ret;

	for (;;) {
		uint32_t before;
		size_t n;

		if (st->block_state == ISAL_BLOCK_FINISH) {
			/* A member ended: the blob must end here or go on
			 * with another member. */
			if (!st->avail_in) {
				in->pos = in->len;
				if ((err = clr_layer_input_fill(in)))
					return err;
				if (in->eof)
					return 0;
				st->next_in = in->buf + in->pos;
				st->avail_in = (uint32_t)(in->len - in->pos);
			}
			if (!st->next_in[0])
				return zero_tail(d, st->next_in, st->avail_in);
			if (st->next_in[0] != 0x1f)
				return trailing_garbage("gzip");
			if ((err = isal_start(d)))
				return err;
		}
		if (!st->avail_in && !in->eof) {
			in->pos = in->len;
			if ((err = clr_layer_input_fill(in)))
				return err;
			st->next_in = in->buf + in->pos;
			st->avail_in = (uint32_t)(in->len - in->pos);
		}
		st->next_out = d->out;
		st->avail_out = CLR_LAYER_OUT_SIZE;
		before = st->avail_in;
		ret = isal_inflate(st);
		if (ret != ISAL_DECOMP_OK)
			return corrupt("gzip", isal_why(ret));
		n = CLR_LAYER_OUT_SIZE - st->avail_out;
		if (n) {
			d->total_out += n;
			*p = d->out;
			return (ssize_t)n;
		}
		if (st->block_state == ISAL_BLOCK_FINISH)
			continue;
		if (!st->avail_in && in->eof)
			return truncated("gzip");
		if (st->avail_in && st->avail_in == before)
			return corrupt("gzip", "inflate made no progress");
	}
}

/* --- gzip with zlib ------------------------------------------------------ */

static ssize_t zlib_read(struct clr_layer_decoder *d, const void **p)
{
	z_stream *z = d->state;
	struct clr_layer_input *in = d->in;
	int err, ret;

	for (;;) {
		size_t n;

		if (d->member_end) {
			if (!z->avail_in) {
				in->pos = in->len;
				if ((err = clr_layer_input_fill(in)))
					return err;
				if (in->eof)
					return 0;
				z->next_in = in->buf + in->pos;
				z->avail_in = (uInt)(in->len - in->pos);
			}
			if (!z->next_in[0])
				return zero_tail(d, z->next_in, z->avail_in);
			if (z->next_in[0] != 0x1f)
				return trailing_garbage("gzip");
			if (inflateReset(z) != Z_OK)
				return corrupt("gzip", "inflateReset failed");
			d->member_end = false;
		}
		if (!z->avail_in && !in->eof) {
			in->pos = in->len;
			if ((err = clr_layer_input_fill(in)))
				return err;
			z->next_in = in->buf + in->pos;
			z->avail_in = (uInt)(in->len - in->pos);
		}
		z->next_out = d->out;
		z->avail_out = CLR_LAYER_OUT_SIZE;
		ret = inflate(z, Z_NO_FLUSH);
		if (ret == Z_STREAM_END)
			d->member_end = true;
		else if (ret == Z_BUF_ERROR && !z->avail_in && in->eof)
			return truncated("gzip");
		else if (ret != Z_OK && ret != Z_BUF_ERROR)
			return corrupt("gzip", z->msg ? z->msg : "inflate failed");
		n = CLR_LAYER_OUT_SIZE - z->avail_out;
		if (n) {
			d->total_out += n;
			*p = d->out;
			return (ssize_t)n;
		}
		if (!d->member_end && !z->avail_in && in->eof)
			return truncated("gzip");
	}
}

/* --- zstd ---------------------------------------------------------------- */

static ssize_t zstd_read(struct clr_layer_decoder *d, const void **p)
{
	ZSTD_DCtx *z = d->state;
	struct clr_layer_input *in = d->in;
	int err;

	for (;;) {
		ZSTD_inBuffer ib;
		ZSTD_outBuffer ob = { d->out, CLR_LAYER_OUT_SIZE, 0 };
		size_t r;

		/* A call that filled the output may have more to give
		 * without new input, so input is only fetched after a call
		 * that did not. */
		if (in->pos == in->len && !d->pending) {
			if (!in->eof && (err = clr_layer_input_fill(in)))
				return err;
			if (in->eof) {
				if (d->zstd_hint)
					return truncated("zstd");
				return 0;
			}
		}
		ib.src = in->buf;
		ib.size = in->len;
		ib.pos = in->pos;
		r = ZSTD_decompressStream(z, &ob, &ib);
		if (ZSTD_isError(r))
			return corrupt("zstd", ZSTD_getErrorName(r));
		if (!ob.pos && ib.pos == in->pos && !d->pending && r)
			return corrupt("zstd", "decoder made no progress");
		in->pos = ib.pos;
		d->zstd_hint = r;
		d->pending = ob.pos == ob.size;
		if (ob.pos) {
			d->total_out += ob.pos;
			*p = d->out;
			return (ssize_t)ob.pos;
		}
	}
}

/* --- plain tar ------------------------------------------------------------ */

static ssize_t plain_read(struct clr_layer_decoder *d, const void **p)
{
	struct clr_layer_input *in = d->in;
	size_t n;
	int err;

	if (in->pos == in->len) {
		if ((err = clr_layer_input_fill(in)))
			return err;
		if (in->eof)
			return 0;
	}
	/* No copy: the tar reader reads the input buffer itself. */
	n = in->len - in->pos;
	*p = in->buf + in->pos;
	in->pos = in->len;
	d->total_out += n;
	return (ssize_t)n;
}

/* --- sniffing and set-up ------------------------------------------------- */

static bool has_magic(const struct clr_layer_input *in, const char *magic,
		      size_t n)
{
	return in->len >= n && !memcmp(in->buf, magic, n);
}

int clr_layer_decoder_init(struct clr_layer_decoder *d,
			   struct clr_layer_input *in,
			   enum clr_layer_inflater inflater)
{
	int err;

	memset(d, 0, sizeof(*d));
	d->in = in;
	d->inflater = inflater;
	if ((err = read_more(in, 6)))
		return err;
	if (has_magic(in, "\x1f\x8b", 2)) {
		d->kind = CLR_LAYER_GZIP;
	} else if (has_magic(in, "\x28\xb5\x2f\xfd", 4) ||
		   (in->len >= 4 && (in->buf[0] & 0xf0) == 0x50 &&
		    !memcmp(in->buf + 1, "\x2a\x4d\x18", 3))) {
		/* A zstd frame, or a skippable frame (0x184D2A5?), which
		 * zstd's streaming decoder steps over. */
		d->kind = CLR_LAYER_ZSTD;
	} else if (has_magic(in, "BZh", 3)) {
		return clr_error_set(CLR_EUNSUPPORTED,
				     "bzip2-compressed layers are not "
				     "supported (OCI layers are gzip, zstd "
				     "or uncompressed)");
	} else if (has_magic(in, "\xfd" "7zXZ\x00", 6)) {
		return clr_error_set(CLR_EUNSUPPORTED,
				     "xz-compressed layers are not supported "
				     "(OCI layers are gzip, zstd or "
				     "uncompressed)");
	} else {
		d->kind = CLR_LAYER_PLAIN;
		return 0;
	}
	d->out = clr_malloc(CLR_LAYER_OUT_SIZE);
	if (d->kind == CLR_LAYER_ZSTD) {
		ZSTD_DCtx *z = ZSTD_createDCtx();

		if (!z)
			return clr_error_set(CLR_ENOMEM, "zstd: out of memory");
		d->state = z;
		if (ZSTD_isError(ZSTD_DCtx_setParameter(z, ZSTD_d_windowLogMax,
							ZSTD_WINDOW_LOG_MAX)))
			return clr_error_set(CLR_ERROR,
					     "zstd: cannot set windowLogMax");
		return 0;
	}
	if (inflater == CLR_LAYER_INFLATE_ZLIB) {
		z_stream *z = clr_calloc(1, sizeof(*z));

		d->state = z;
		/* 16 + MAX_WBITS: gzip wrapper only, with CRC check. */
		if (inflateInit2(z, 16 + MAX_WBITS) != Z_OK) {
			free(z);
			d->state = NULL;
			return clr_error_set(CLR_ENOMEM, "zlib: inflateInit2 "
					     "failed");
		}
		z->next_in = in->buf;
		z->avail_in = (uInt)in->len;
	} else {
		struct inflate_state *st = clr_malloc(sizeof(*st));

		d->state = st;
		isal_inflate_init(st);
		st->next_in = in->buf;
		st->avail_in = (uint32_t)in->len;
		in->pos = in->len;
		return isal_start(d);
	}
	in->pos = in->len; /* the decoder's own next_in tracks progress */
	return 0;
}

ssize_t clr_layer_decoder_read(struct clr_layer_decoder *d, const void **p)
{
	if (d->done)
		return 0;
	switch (d->kind) {
	case CLR_LAYER_GZIP:
		return d->inflater == CLR_LAYER_INFLATE_ZLIB ? zlib_read(d, p)
							     : isal_read(d, p);
	case CLR_LAYER_ZSTD:
		return zstd_read(d, p);
	default:
		return plain_read(d, p);
	}
}

void clr_layer_decoder_release(struct clr_layer_decoder *d)
{
	if (d->state) {
		if (d->kind == CLR_LAYER_ZSTD) {
			ZSTD_freeDCtx(d->state);
		} else if (d->inflater == CLR_LAYER_INFLATE_ZLIB) {
			inflateEnd(d->state);
			free(d->state);
		} else {
			free(d->state);
		}
		d->state = NULL;
	}
	free(d->out);
	d->out = NULL;
}
