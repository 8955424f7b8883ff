/*
 * jwt.c - Clair's pre-shared-key JSON Web Tokens: HS256 compact JWS,
 * verified against one HMAC key and an issuer allow-list (jwt.h has the
 * contract, reference/clair-api.md §1.5 the behaviour it mirrors).
 *
 * Everything here reads attacker-controlled bytes, so the parsing is
 * deliberately narrower than RFC 7515 allows: the compact form only, exactly
 * three parts, base64url without padding and with zero trailing bits (one
 * token, one encoding: a signature cannot be re-spelled), JSON objects
 * without duplicate keys, and no "crit" extensions (we implement none, and
 * RFC 7515 §4.1.11 says a token naming one we do not understand is invalid).
 */
#include "http/jwt.h"

#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "util/alloc.h"
#include "util/error.h"

/* Clock skew tolerated on "exp" and "nbf", in seconds. */
#define LEEWAY 60

#define HS256_LEN 32

static const char b64u_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The value of one base64url character, or -1. */
static int b64u_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/* Decodes len base64url characters (no padding) into out, which holds at
 * least len * 3 / 4 bytes; *out_len gets the decoded length.  Refuses '=',
 * characters outside the alphabet, a length that no encoding produces
 * (len % 4 == 1) and non-zero bits after the last whole byte. */
static int b64u_decode(unsigned char *out, size_t *out_len, const char *in,
		       size_t len, const char *part)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t n = 0;

	if (len % 4 == 1)
		return clr_error_set(CLR_EAUTH,
				     "jwt: %s is not valid base64url (length)",
				     part);
	for (size_t i = 0; i < len; i++) {
		int v = b64u_value((unsigned char)in[i]);

		if (v < 0)
			return clr_error_set(CLR_EAUTH,
				"jwt: %s is not base64url without padding "
				"(character %zu)", part, i + 1);
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc)
		return clr_error_set(CLR_EAUTH,
				     "jwt: %s is not canonical base64url "
				     "(trailing bits)", part);
	*out_len = n;
	return 0;
}

size_t clr_jwt_b64url_encode(char *out, const unsigned char *in, size_t len)
{
	size_t n = 0;
	uint32_t acc = 0;
	int bits = 0;

	for (size_t i = 0; i < len; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[n++] = b64u_alphabet[(acc >> bits) & 63];
		}
		acc &= (1u << bits) - 1;
	}
	if (bits)
		out[n++] = b64u_alphabet[(acc << (6 - bits)) & 63];
	out[n] = '\0';
	return n;
}

/* Decodes one part and parses it as a JSON object into *out. */
static int decode_object(json_t **out, const char *in, size_t len,
			 const char *part)
{
	unsigned char *raw;
	size_t raw_len = 0;
	json_error_t jerr;
	json_t *j;
	int err;

	*out = NULL;
	if (!len)
		return clr_error_set(CLR_EAUTH, "jwt: empty %s", part);
	raw = clr_malloc(len * 3 / 4 + 1);
	err = b64u_decode(raw, &raw_len, in, len, part);
	if (err)
		goto cleanup;
	/* Without JSON_DECODE_ANY only objects and arrays parse; without
	 * JSON_ALLOW_NUL no string holds a NUL that strcmp would stop at. */
	j = json_loadb((const char *)raw, raw_len, JSON_REJECT_DUPLICATES,
		       &jerr);
	if (!j) {
		err = clr_error_set(CLR_EAUTH, "jwt: %s is not JSON: %s",
				    part, jerr.text);
		goto cleanup;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		err = clr_error_set(CLR_EAUTH,
				    "jwt: %s is not a JSON object", part);
		goto cleanup;
	}
	*out = j;
cleanup:
	free(raw);
	return err;
}

/* A printable copy of an untrusted string for an error message: at most
 * size - 1 bytes, anything but printable ASCII shown as '?', so a token
 * cannot write control characters into the log. */
static const char *printable(char *out, size_t size, const char *s)
{
	size_t i;

	for (i = 0; i + 1 < size && s[i]; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	out[i] = '\0';
	return out;
}

static int hs256(unsigned char mac[HS256_LEN], const unsigned char *key,
		 size_t key_len, const char *data, size_t len)
{
	unsigned int n = 0;

	if (key_len > INT32_MAX ||
	    !HMAC(EVP_sha256(), key, (int)key_len,
		  (const unsigned char *)data, len, mac, &n) ||
	    n != HS256_LEN)
		return clr_error_set(CLR_ERROR, "jwt: OpenSSL HMAC failed");
	return 0;
}

/* Reads the NumericDate claim name (RFC 7519 §2: seconds, possibly with a
 * fraction) into *t; 1 when present, 0 when absent, CLR_EAUTH when it is
 * not a number.  A double is exact for every second of the next 285
 * million years, which is all a comparison with now needs. */
static int numeric_date(double *t, json_t *claims, const char *name)
{
	json_t *v = json_object_get(claims, name);

	if (!v)
		return 0;
	if (!json_is_number(v))
		return clr_error_set(CLR_EAUTH,
				     "jwt: claim \"%s\" is not a number", name);
	*t = json_number_value(v);
	return 1;
}

static int check_claims(json_t *claims, const char *const *issuers,
			size_t n, int64_t now)
{
	json_t *iss = json_object_get(claims, "iss");
	const char *s;
	char shown[65];
	double t = 0, dnow = (double)now;
	size_t i;
	int r;

	if (!iss)
		return clr_error_set(CLR_EAUTH, "jwt: no \"iss\" claim");
	if (!json_is_string(iss))
		return clr_error_set(CLR_EAUTH,
				     "jwt: claim \"iss\" is not a string");
	s = json_string_value(iss);
	for (i = 0; i < n; i++)
		if (issuers[i] && !strcmp(issuers[i], s))
			break;
	if (i == n)
		/* The issuer is shown (cut short) because a misconfigured
		 * client is the usual cause; the signature already proved the
		 * sender holds the key, so this echoes no stranger's data. */
		return clr_error_set(CLR_EAUTH,
				     "jwt: issuer \"%s\" is not allowed",
				     printable(shown, sizeof(shown), s));

	/* go-jose's rule, which Clair uses: expired once now - leeway is
	 * after exp, not yet valid while now + leeway is before nbf. */
	r = numeric_date(&t, claims, "exp");
	if (r < 0)
		return r;
	if (r && dnow - LEEWAY > t)
		return clr_error_set(CLR_EAUTH, "jwt: token expired");
	r = numeric_date(&t, claims, "nbf");
	if (r < 0)
		return r;
	if (r && dnow + LEEWAY < t)
		return clr_error_set(CLR_EAUTH, "jwt: token not yet valid");
	return 0;
}

int clr_jwt_verify(const char *token, const unsigned char *key,
		   size_t key_len, const char *const *issuers, size_t n,
		   int64_t now)
{
	unsigned char mac[HS256_LEN], *sig = NULL;
	size_t len, sig_len = 0, sig_chars;
	const char *dot1, *dot2;
	json_t *header = NULL, *claims = NULL, *alg;
	char shown[17];
	int err;

	if (!token || !*token)
		return clr_error_set(CLR_EAUTH, "jwt: empty token");
	len = strnlen(token, CLR_JWT_MAX_LEN + 1);
	if (len > CLR_JWT_MAX_LEN)
		return clr_error_set(CLR_EAUTH,
				     "jwt: token longer than %d bytes",
				     CLR_JWT_MAX_LEN);
	if (!key || !key_len)
		return clr_error_set(CLR_EAUTH, "jwt: no key to verify with");

	dot1 = memchr(token, '.', len);
	dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token))
		    : NULL;
	if (!dot2 || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)))
		return clr_error_set(CLR_EAUTH,
				     "jwt: not a compact JWS "
				     "(want header.claims.signature)");

	err = decode_object(&header, token, (size_t)(dot1 - token), "header");
	if (err)
		goto cleanup;
	err = decode_object(&claims, dot1 + 1, (size_t)(dot2 - dot1 - 1),
			    "claims");
	if (err)
		goto cleanup;
	/* Decoded even when its length is wrong, so that a malformed
	 * signature reads as a shape error and an RS256 one as the wrong
	 * algorithm. */
	sig_chars = len - (size_t)(dot2 + 1 - token);
	sig = clr_malloc(sig_chars * 3 / 4 + 1);
	err = b64u_decode(sig, &sig_len, dot2 + 1, sig_chars, "signature");
	if (err)
		goto cleanup;

	alg = json_object_get(header, "alg");
	if (!json_is_string(alg)) {
		err = clr_error_set(CLR_EAUTH, "jwt: header has no \"alg\"");
		goto cleanup;
	}
	if (strcmp(json_string_value(alg), "HS256")) {
		err = clr_error_set(CLR_EAUTH,
				    "jwt: algorithm \"%s\" not accepted "
				    "(only HS256)",
				    printable(shown, sizeof(shown),
					      json_string_value(alg)));
		goto cleanup;
	}
	if (json_object_get(header, "crit")) {
		err = clr_error_set(CLR_EAUTH,
				    "jwt: critical header extensions are "
				    "not supported");
		goto cleanup;
	}

	err = hs256(mac, key, key_len, token, (size_t)(dot2 - token));
	if (err)
		goto cleanup;
	if (sig_len != HS256_LEN) {
		err = clr_error_set(CLR_EAUTH,
				    "jwt: signature is %zu bytes, not the 32 "
				    "of HMAC-SHA256", sig_len);
		goto cleanup;
	}
	if (CRYPTO_memcmp(mac, sig, HS256_LEN)) {
		err = clr_error_set(CLR_EAUTH, "jwt: bad signature");
		goto cleanup;
	}

	err = check_claims(claims, issuers, n, now);
cleanup:
	OPENSSL_cleanse(mac, sizeof(mac));
	free(sig);
	json_decref(header);
	json_decref(claims);
	return err;
}

int clr_jwt_sign(char **out, const unsigned char *key, size_t key_len,
		 const char *issuer, int64_t now, int64_t ttl)
{
	static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	unsigned char mac[HS256_LEN];
	json_t *claims;
	char *cjson, *tok;
	size_t clen, hlen, n;
	int err;

	*out = NULL;
	if (!key || !key_len)
		return clr_error_set(CLR_EINVALID, "jwt: no key to sign with");
	if (!issuer || !*issuer)
		return clr_error_set(CLR_EINVALID, "jwt: no issuer to sign as");
	if (ttl < 0 || now > INT64_MAX - ttl)
		return clr_error_set(CLR_EINVALID, "jwt: bad lifetime %lld",
				     (long long)ttl);

	/* Insertion order is kept by jansson, so the claims read in the
	 * order jwt.h documents. */
	claims = json_pack("{s:s, s:I, s:I, s:I}", "iss", issuer,
			   "iat", (json_int_t)now, "nbf", (json_int_t)now,
			   "exp", (json_int_t)(now + ttl));
	if (!claims)
		return clr_error_set(CLR_EINVALID,
				     "jwt: issuer is not valid UTF-8");
	cjson = json_dumps(claims, JSON_COMPACT);
	json_decref(claims);
	if (!cjson)
		return clr_error_set(CLR_ENOMEM, "jwt: out of memory");
	clen = strlen(cjson);
	hlen = sizeof(header) - 1;

	tok = clr_malloc((hlen + clen + HS256_LEN) * 4 / 3 + 8);
	n = clr_jwt_b64url_encode(tok, (const unsigned char *)header, hlen);
	tok[n++] = '.';
	n += clr_jwt_b64url_encode(tok + n, (const unsigned char *)cjson, clen);
	free(cjson);
	err = hs256(mac, key, key_len, tok, n);
	if (err) {
		free(tok);
		return err;
	}
	tok[n++] = '.';
	n += clr_jwt_b64url_encode(tok + n, mac, HS256_LEN);
	if (n > CLR_JWT_MAX_LEN) {
		free(tok);
		return clr_error_set(CLR_ELIMIT,
				     "jwt: token would exceed %d bytes",
				     CLR_JWT_MAX_LEN);
	}
	*out = tok;
	return 0;
}
