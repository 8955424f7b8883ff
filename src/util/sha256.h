/*
 * sha256.h - SHA-256 digests and OCI digest strings.
 *
 * Layers and blobs are addressed by "sha256:<64 lowercase hex>" and must
 * be verified against that digest as they stream in; this is the one place
 * that knows how (OpenSSL's EVP interface underneath, which the rest of the
 * tree never includes).
 *
 *     struct clr_sha256 h;
 *     uint8_t d[CLR_SHA256_LEN];
 *     if ((err = clr_sha256_init(&h)))
 *             return err;
 *     while (more)
 *             if ((err = clr_sha256_update(&h, p, n)))
 *                     goto cleanup;
 *     err = clr_sha256_final(&h, d);
 *   cleanup:
 *     clr_sha256_release(&h);     // harmless after final
 *
 * Ownership: the context owns an OpenSSL object from init until final or
 * release; release may be called any number of times, also after final.
 */
#ifndef CLR_UTIL_SHA256_H
#define CLR_UTIL_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define CLR_SHA256_LEN 32      /* digest bytes */
#define CLR_SHA256_HEXLEN 64   /* hex characters, without the NUL */
#define CLR_DIGEST_STRLEN 71   /* "sha256:" + 64 hex, without the NUL */

struct evp_md_ctx_st;

struct clr_sha256 {
	struct evp_md_ctx_st *ctx; /* OpenSSL's EVP_MD_CTX; NULL when idle */
};

/* Starts a digest.  CLR_ENOMEM or CLR_ERROR (OpenSSL failed) otherwise. */
int clr_sha256_init(struct clr_sha256 *h);

/* Feeds len bytes (data may be NULL when len is 0). */
int clr_sha256_update(struct clr_sha256 *h, const void *data, size_t len);

/* Writes the digest to out and releases the context. */
int clr_sha256_final(struct clr_sha256 *h, uint8_t out[CLR_SHA256_LEN]);

/* Abandons a digest (for error paths); does nothing when idle. */
void clr_sha256_release(struct clr_sha256 *h);

/* The digest of len bytes at data, in one call. */
int clr_sha256(uint8_t out[CLR_SHA256_LEN], const void *data, size_t len);

/* Lowercase hex of a digest, NUL-terminated. */
void clr_sha256_hex(char out[CLR_SHA256_HEXLEN + 1],
		    const uint8_t digest[CLR_SHA256_LEN]);

/* Parses an OCI digest string "sha256:<64 lowercase hex>" into out (which
 * may be NULL to only validate).  CLR_EINVALID, with a message saying what
 * is wrong, for anything else: other algorithms, uppercase hex, wrong
 * length, trailing bytes. */
int clr_digest_parse(uint8_t out[CLR_SHA256_LEN], const char *s);

/* The OCI digest string of a digest: "sha256:" and lowercase hex. */
void clr_digest_format(char out[CLR_DIGEST_STRLEN + 1],
		       const uint8_t digest[CLR_SHA256_LEN]);

#endif
