/*
 * sha256.c - SHA-256 over OpenSSL's EVP interface, and OCI digest strings.
 *
 * EVP rather than the deprecated SHA256_* calls: those warn on OpenSSL 3,
 * and EVP picks the fastest implementation the CPU allows.
 */
#include "util/sha256.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "util/error.h"

static int ssl_failed(struct clr_sha256 *h, const char *what)
{
	clr_sha256_release(h);
	return clr_error_set(CLR_ERROR, "sha256: OpenSSL %s failed", what);
}

int clr_sha256_init(struct clr_sha256 *h)
{
	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx)
		return clr_error_set(CLR_ENOMEM, "sha256: out of memory");
	if (EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1)
		return ssl_failed(h, "EVP_DigestInit_ex");
	return 0;
}

int clr_sha256_update(struct clr_sha256 *h, const void *data, size_t len)
{
	if (!len)
		return 0;
	if (EVP_DigestUpdate(h->ctx, data, len) != 1)
		return ssl_failed(h, "EVP_DigestUpdate");
	return 0;
}

int clr_sha256_final(struct clr_sha256 *h, uint8_t out[CLR_SHA256_LEN])
{
	unsigned int n = 0;

	if (EVP_DigestFinal_ex(h->ctx, out, &n) != 1 || n != CLR_SHA256_LEN)
		return ssl_failed(h, "EVP_DigestFinal_ex");
	clr_sha256_release(h);
	return 0;
}

void clr_sha256_release(struct clr_sha256 *h)
{
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
}

int clr_sha256(uint8_t out[CLR_SHA256_LEN], const void *data, size_t len)
{
	struct clr_sha256 h;
	int err;

	if ((err = clr_sha256_init(&h)) ||
	    (err = clr_sha256_update(&h, data, len)) ||
	    (err = clr_sha256_final(&h, out)))
		return err;
	return 0;
}

static const char hexdigits[] = "0123456789abcdef";

void clr_sha256_hex(char out[CLR_SHA256_HEXLEN + 1],
		    const uint8_t digest[CLR_SHA256_LEN])
{
	for (size_t i = 0; i < CLR_SHA256_LEN; i++) {
		out[2 * i] = hexdigits[digest[i] >> 4];
		out[2 * i + 1] = hexdigits[digest[i] & 0xf];
	}
	out[CLR_SHA256_HEXLEN] = '\0';
}

void clr_digest_format(char out[CLR_DIGEST_STRLEN + 1],
		       const uint8_t digest[CLR_SHA256_LEN])
{
	memcpy(out, "sha256:", 7);
	clr_sha256_hex(out + 7, digest);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Whether an OCI algorithm component ([a-z0-9]+ joined by [+._-]) is at
 * s[0..n), so that naming it in a message quotes nothing hostile. */
static int plausible_algorithm(const char *s, size_t n)
{
	if (!n || n > 32)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789+._-", s[i]))
			return 0;
	return 1;
}

int clr_digest_parse(uint8_t out[CLR_SHA256_LEN], const char *s)
{
	const char *colon = strchr(s, ':'), *hex;
	size_t n;

	if (!colon)
		return clr_error_set(CLR_EINVALID,
				     "invalid digest: want 'sha256:' followed "
				     "by %d hex digits", CLR_SHA256_HEXLEN);
	if ((size_t)(colon - s) != 6 || memcmp(s, "sha256", 6)) {
		if (plausible_algorithm(s, (size_t)(colon - s)))
			return clr_error_set(CLR_EINVALID,
					     "invalid digest: unsupported "
					     "algorithm '%.*s' (want sha256)",
					     (int)(colon - s), s);
		return clr_error_set(CLR_EINVALID,
				     "invalid digest: the algorithm must be "
				     "'sha256'");
	}
	hex = colon + 1;
	for (n = 0; n < CLR_SHA256_HEXLEN && hex[n]; n++) {
		unsigned char c = (unsigned char)hex[n];

		if (hexval((char)c) >= 0)
			continue;
		if (c >= 'A' && c <= 'F')
			return clr_error_set(CLR_EINVALID,
					     "invalid digest: uppercase hex "
					     "digit '%c' at offset %zu; digests "
					     "are lowercase", c, n);
		if (c >= 0x21 && c <= 0x7e)
			return clr_error_set(CLR_EINVALID,
					     "invalid digest: '%c' at offset "
					     "%zu is not a hex digit", c, n);
		return clr_error_set(CLR_EINVALID,
				     "invalid digest: byte 0x%02x at offset "
				     "%zu is not a hex digit", c, n);
	}
	if (n < CLR_SHA256_HEXLEN)
		return clr_error_set(CLR_EINVALID,
				     "invalid digest: %zu hex digits, want %d",
				     n, CLR_SHA256_HEXLEN);
	if (hex[n])
		return clr_error_set(CLR_EINVALID,
				     "invalid digest: more than %d hex digits",
				     CLR_SHA256_HEXLEN);
	if (out)
		for (size_t i = 0; i < CLR_SHA256_LEN; i++)
			out[i] = (uint8_t)(hexval(hex[2 * i]) << 4 |
					   hexval(hex[2 * i + 1]));
	return 0;
}
