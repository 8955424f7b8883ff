/*
 * jwt.h - Clair's pre-shared-key JSON Web Tokens (reference/clair-api.md
 * §1.5): HS256 only, checked against a key and an issuer allow-list.
 *
 * A token is three base64url parts, header.claims.signature.  Verifying
 * checks, in this order, and fails with CLR_EAUTH (message says which):
 *   - the shape (three parts, base64url without padding, JSON objects),
 *   - "alg" is "HS256" (never "none", never another algorithm),
 *   - the HMAC-SHA256 signature over "header.claims" with key, compared
 *     in constant time,
 *   - "iss" is one of the allowed issuers (Clair always allows
 *     "clair-intraservice" besides the configured ones; callers pass it),
 *   - "exp" (if present) is after now and "nbf" (if present) not after
 *     now, with 60 s of leeway for clock skew; "iat" is not checked.
 * Tokens longer than CLR_JWT_MAX_LEN are refused unread.
 */
#ifndef CLR_HTTP_JWT_H
#define CLR_HTTP_JWT_H

#include <stddef.h>
#include <stdint.h>

#define CLR_JWT_MAX_LEN 8192

/* 0 when token is valid for key and one of the n issuers at time now
 * (seconds since the epoch); CLR_EAUTH with a message otherwise. */
int clr_jwt_verify(const char *token, const unsigned char *key,
		   size_t key_len, const char *const *issuers, size_t n,
		   int64_t now);

/* Encodes len bytes at in as base64url without padding at out,
 * NUL-terminated; out holds at least (len * 4 + 2) / 3 + 1 bytes.
 * Returns the length without the NUL.  (Public for the fuzz target, which
 * signs tokens of its own.) */
size_t clr_jwt_b64url_encode(char *out, const unsigned char *in, size_t len);

/* A new token in *out (caller frees): {"alg":"HS256","typ":"JWT"},
 * claims {"iss": issuer, "iat": now, "nbf": now, "exp": now + ttl}. */
int clr_jwt_sign(char **out, const unsigned char *key, size_t key_len,
		 const char *issuer, int64_t now, int64_t ttl);

#endif
