/*
 * fuzz_jwt.c - libFuzzer target for clr_jwt_verify().
 *
 * The input, cut at its first NUL, is verified twice:
 *   1. as a whole token, with a fixed key: almost everything fails at the
 *      signature, so this explores the shape and header checks;
 *   2. split at its first '.' into a header and claims, both base64url
 *      encoded and signed here with the same key, so that the claims
 *      checks behind the signature are reached too.
 * Every result must be 0 or CLR_EAUTH with a message; a token of our own
 * (clr_jwt_sign with an issuer taken from the input) must verify.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "http/jwt.h"
#include "util/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const unsigned char key[] = "fuzz-psk";
static const char *const issuers[] = { "clair-intraservice", "clairctl" };
#define NOW INT64_C(1700000000)

static void check(int err)
{
	if (err && (err != CLR_EAUTH || !clr_error_msg()[0]))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char mac[32];
	unsigned int mac_len = 0;
	const char *dot;
	char *s, *tok;
	size_t n;

	if (size > 2 * CLR_JWT_MAX_LEN)
		return 0;
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	size = strlen(s);

	clr_error_clear();
	check(clr_jwt_verify(s, key, sizeof(key) - 1, issuers, 2, NOW));

	dot = strchr(s, '.');
	tok = malloc(size * 2 + 64);
	if (!tok) {
		free(s);
		return 0;
	}
	n = clr_jwt_b64url_encode(tok, (const unsigned char *)s,
				  dot ? (size_t)(dot - s) : 0);
	tok[n++] = '.';
	if (dot)
		n += clr_jwt_b64url_encode(tok + n, (const unsigned char *)dot + 1,
					   size - (size_t)(dot + 1 - s));
	else
		n += clr_jwt_b64url_encode(tok + n, (const unsigned char *)s, size);
	if (HMAC(EVP_sha256(), key, (int)sizeof(key) - 1,
		 (const unsigned char *)tok, n, mac, &mac_len)) {
		tok[n++] = '.';
		n += clr_jwt_b64url_encode(tok + n, mac, mac_len);
		tok[n] = '\0';
		clr_error_clear();
		check(clr_jwt_verify(tok, key, sizeof(key) - 1, issuers, 2,
				     NOW));
	}
	free(tok);

	/* our own token, issued by the input (when it is valid UTF-8) */
	if (!clr_jwt_sign(&tok, key, sizeof(key) - 1, s, NOW, 60)) {
		const char *const mine[] = { s };

		if (clr_jwt_verify(tok, key, sizeof(key) - 1, mine, 1, NOW))
			abort();
		free(tok);
	}
	free(s);
	return 0;
}
