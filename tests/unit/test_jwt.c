/*
 * test_jwt.c - Clair's PSK JSON Web Tokens: our own tokens round-trip,
 * tokens made by an independent implementation verify, and every way a
 * token can be wrong fails with CLR_EAUTH and a message saying why.
 *
 * The literal tokens below were made once, at authoring time, with
 * /usr/bin/python3 and only its standard library (hmac, hashlib, base64,
 * json), not with clarion:
 *
 *     def b(x): return base64.urlsafe_b64encode(x).rstrip(b'=').decode()
 *     def tok(h, c, key, alg=hashlib.sha256):
 *         s = b(json.dumps(h, separators=(',', ':')).encode()) + '.' + \
 *             b(json.dumps(c, separators=(',', ':')).encode())
 *         return s + '.' + b(hmac.new(key, s.encode(), alg).digest())
 *
 * with key b'clarion-test-psk' (or bytes(range(32)) where noted) and
 * NOW = 1700000000.  Each token's header and claims are in its comment.
 */
#include "unit.h"

#include <stdlib.h>

#include "http/jwt.h"
#include "util/error.h"

#define NOW INT64_C(1700000000)

static const unsigned char KEY[] = "clarion-test-psk";
#define KEY_LEN (sizeof(KEY) - 1)

static const char *const ISSUERS[] = { "clair-intraservice", "clairctl",
				       "quay" };
#define N_ISSUERS (sizeof(ISSUERS) / sizeof(*ISSUERS))

/* {"alg":"HS256","typ":"JWT"}
 * {"iss":"clairctl","iat":NOW,"nbf":NOW-60,"exp":NOW+60} */
static const char CLAIRCTL[] =
	"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
	"eyJpc3MiOiJjbGFpcmN0bCIsImlhdCI6MTcwMDAwMDAwMCwibmJmIjoxNjk5OTk5OTQwLC"
	"JleHAiOjE3MDAwMDAwNjB9."
	"9VH9wYn0PrMw7N1Qe2SzVeROo2oCb_jaj1veNeQFl_o";

/* {"typ":"JWT","alg":"HS256"}  {"iss":"quay","sub":"x","aud":["a"]}
 * (no exp: Clair accepts it, and unknown claims are ignored) */
static const char QUAY_NO_EXP[] =
	"eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9."
	"eyJpc3MiOiJxdWF5Iiwic3ViIjoieCIsImF1ZCI6WyJhIl19."
	"tHtf3mSHOxnwoTp5Xdyx-DHcZ_FwiA-K5K76IC33ElM";

/* {"alg":"HS256"}
 * {"iss":"clair-intraservice","exp":NOW+0.5,"nbf":NOW-0.5} */
static const char FRACTION[] =
	"eyJhbGciOiJIUzI1NiJ9."
	"eyJpc3MiOiJjbGFpci1pbnRyYXNlcnZpY2UiLCJleHAiOjE3MDAwMDAwMDAuNSwibmJmIj"
	"oxNjk5OTk5OTk5LjV9."
	"oTcLF1w0QHtCOcLQvX80lPYEuEti1OaQOjUaa_b35A4";

/* key bytes(range(32)); {"alg":"HS256","kid":"k1"}
 * {"iss":"clairctl","exp":NOW+300} */
static const char BINKEY[] =
	"eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIn0."
	"eyJpc3MiOiJjbGFpcmN0bCIsImV4cCI6MTcwMDAwMDMwMH0."
	"aQfAD0ERLgtl-xX81YMM0fmZQPon9cd2TdtyoxGKDzE";

/* {"alg":"HS512","typ":"JWT"}  {"iss":"clairctl","exp":NOW+60},
 * correctly signed with HMAC-SHA512 and the right key */
static const char HS512[] =
	"eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9."
	"eyJpc3MiOiJjbGFpcmN0bCIsImV4cCI6MTcwMDAwMDA2MH0."
	"J2IAIUoU9g4espymrKvqLNTN2CT-6Vod7qCHZESishGw6EPtaE8TSAN8Bom9wj3Gdblm"
	"b2KWf8bI6JGAbO2E7Q";

/* {"alg":"none","typ":"JWT"}  {"iss":"clairctl"}, empty signature */
static const char ALG_NONE[] =
	"eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJpc3MiOiJjbGFpcmN0bCJ9.";

/* {"alg":"HS256"}  ["iss","clairctl"], signed */
static const char ARRAY_CLAIMS[] =
	"eyJhbGciOiJIUzI1NiJ9.WyJpc3MiLCJjbGFpcmN0bCJd."
	"0LM7tFDXrS3_arvtWkA2v4zMN7H0lftoL-Z-eweY3Dg";

/* {"alg":"HS256","crit":["exp"]}  {"iss":"clairctl"}, signed */
static const char CRIT[] =
	"eyJhbGciOiJIUzI1NiIsImNyaXQiOlsiZXhwIl19.eyJpc3MiOiJjbGFpcmN0bCJ9."
	"rpIOdEIwTVU6IZSw8CgwbnnyGPx0Zru3QNl32D-Lb7g";

/* {"alg":"HS256"}  {"iss":"evil","iss":"clairctl"} (bytes as written),
 * signed: which "iss" counts would depend on the parser, so neither does */
static const char DUP_ISS[] =
	"eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJldmlsIiwiaXNzIjoiY2xhaXJjdGwifQ."
	"guBifXyBFX9WXHTPNR5438dWnPzk1UeAjl9NicPxkM4";

/* {"alg":"HS256"}  {"iss":42}, signed */
static const char ISS_NUMBER[] =
	"eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOjQyfQ."
	"aweXUeT8nj-d1VLExgK-xJkArTUt-8S4L2SEKyAQlzU";

/* {"alg":"HS256"}  {"iss":"clairctl","exp":"1700000060"}, signed */
static const char EXP_STRING[] =
	"eyJhbGciOiJIUzI1NiJ9."
	"eyJpc3MiOiJjbGFpcmN0bCIsImV4cCI6IjE3MDAwMDAwNjAifQ."
	"mxGwv3krWCCWo36k16GHVqXeaRCLjkbfiIrYjYzRKl0";

/* CLAIRCTL with its claims replaced by {..."exp":1900000060} and the
 * original signature kept. */
static const char TAMPERED[] =
	"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
	"eyJpc3MiOiJjbGFpcmN0bCIsImlhdCI6MTcwMDAwMDAwMCwibmJmIjoxNjk5OTk5OTQwLC"
	"JleHAiOjE5MDAwMDAwNjB9."
	"9VH9wYn0PrMw7N1Qe2SzVeROo2oCb_jaj1veNeQFl_o";

static int verify(const char *tok, int64_t now)
{
	return clr_jwt_verify(tok, KEY, KEY_LEN, ISSUERS, N_ISSUERS, now);
}

/* Fails with CLR_EAUTH and a message containing want. */
static void expect_fail(const char *tok, int64_t now, const char *want)
{
	clr_error_clear();
	assert_int_equal(verify(tok, now), CLR_EAUTH);
	if (!strstr(clr_error_msg(), want))
		fail_msg("message \"%s\" lacks \"%s\"", clr_error_msg(), want);
}

static char *with_suffix(const char *tok, const char *suffix)
{
	size_t a = strlen(tok), b = strlen(suffix);
	char *s = malloc(a + b + 1);

	assert_non_null(s);
	memcpy(s, tok, a);
	memcpy(s + a, suffix, b + 1);
	return s;
}

static void signed_tokens_verify(void **state)
{
	char *tok = NULL;

	(void)state;
	assert_int_equal(clr_jwt_sign(&tok, KEY, KEY_LEN, "clairctl", NOW, 60),
			 0);
	assert_int_equal(verify(tok, NOW), 0);
	assert_int_equal(verify(tok, NOW + 119), 0); /* exp + leeway */
	expect_fail(tok, NOW + 121, "expired");
	expect_fail(tok, NOW - 61, "not yet valid");
	/* the documented header, byte for byte */
	assert_memory_equal(tok, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.", 37);
	/* a different key does not verify it */
	assert_int_equal(clr_jwt_verify(tok, (const unsigned char *)"other",
					5, ISSUERS, N_ISSUERS, NOW),
			 CLR_EAUTH);
	free(tok);

	/* an issuer only the caller's list allows */
	assert_int_equal(clr_jwt_sign(&tok, KEY, KEY_LEN, "clair-notifier",
				      NOW, 60), 0);
	expect_fail(tok, NOW, "issuer \"clair-notifier\" is not allowed");
	{
		const char *const only[] = { "clair-notifier" };

		assert_int_equal(clr_jwt_verify(tok, KEY, KEY_LEN, only, 1,
						NOW), 0);
	}
	free(tok);
}

static void sign_refuses_bad_arguments(void **state)
{
	char *tok = (char *)"unchanged";

	(void)state;
	assert_int_equal(clr_jwt_sign(&tok, KEY, 0, "x", NOW, 60),
			 CLR_EINVALID);
	assert_null(tok);
	assert_int_equal(clr_jwt_sign(&tok, KEY, KEY_LEN, "", NOW, 60),
			 CLR_EINVALID);
	assert_int_equal(clr_jwt_sign(&tok, KEY, KEY_LEN, "x", NOW, -1),
			 CLR_EINVALID);
	assert_int_equal(clr_jwt_sign(&tok, KEY, KEY_LEN, "\xff", NOW, 60),
			 CLR_EINVALID);
	assert_null(tok);
}

static void independent_tokens_verify(void **state)
{
	static const unsigned char binkey[32] = {
		0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17,
		18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
	};

	(void)state;
	assert_int_equal(verify(CLAIRCTL, NOW), 0);
	assert_int_equal(verify(QUAY_NO_EXP, NOW), 0);
	assert_int_equal(verify(QUAY_NO_EXP, INT64_C(4102444800)), 0);
	assert_int_equal(verify(FRACTION, NOW + 60), 0);
	expect_fail(FRACTION, NOW + 61, "expired");
	assert_int_equal(verify(FRACTION, NOW - 60), 0);
	expect_fail(FRACTION, NOW - 61, "not yet valid");
	assert_int_equal(clr_jwt_verify(BINKEY, binkey, sizeof(binkey),
					ISSUERS, N_ISSUERS, NOW), 0);
	expect_fail(BINKEY, NOW, "bad signature");
}

static void wrong_algorithms_fail(void **state)
{
	(void)state;
	expect_fail(ALG_NONE, NOW, "algorithm \"none\" not accepted");
	expect_fail(HS512, NOW, "algorithm \"HS512\" not accepted");
	/* an RS256 header with a 256-byte signature */
	{
		char tok[512] = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9."
				"eyJpc3MiOiJjbGFpcmN0bCJ9.";
		size_t n = strlen(tok);

		/* 256 zero bytes are 342 base64url 'A's */
		memset(tok + n, 'A', 342);
		tok[n + 342] = '\0';
		expect_fail(tok, NOW, "algorithm \"RS256\" not accepted");
	}
	/* no alg at all; alg not a string */
	expect_fail("eyJ0eXAiOiJKV1QifQ.eyJpc3MiOiJjbGFpcmN0bCJ9.", NOW,
		    "no \"alg\""); /* {"typ":"JWT"} */
	expect_fail("eyJhbGciOm51bGx9.eyJpc3MiOiJjbGFpcmN0bCJ9.", NOW,
		    "no \"alg\""); /* {"alg":null} */
	expect_fail(CRIT, NOW, "critical");
}

static void tampered_and_wrong_key_fail(void **state)
{
	char *t;

	(void)state;
	expect_fail(TAMPERED, NOW, "bad signature");
	assert_int_equal(clr_jwt_verify(CLAIRCTL,
					(const unsigned char *)"clarion-test-psK",
					KEY_LEN, ISSUERS, N_ISSUERS, NOW),
			 CLR_EAUTH);
	assert_string_equal(clr_error_msg(), "jwt: bad signature");
	/* a key that is a prefix of the right one */
	assert_int_equal(clr_jwt_verify(CLAIRCTL, KEY, KEY_LEN - 1, ISSUERS,
					N_ISSUERS, NOW), CLR_EAUTH);
	assert_int_equal(clr_jwt_verify(CLAIRCTL, KEY, 0, ISSUERS, N_ISSUERS,
					NOW), CLR_EAUTH);
	/* a truncated signature */
	t = strdup(CLAIRCTL);
	t[strlen(t) - 3] = '\0';
	expect_fail(t, NOW, "not the 32");
	free(t);
}

static void time_claims(void **state)
{
	(void)state;
	/* CLAIRCTL: nbf NOW-60, exp NOW+60, leeway 60 */
	assert_int_equal(verify(CLAIRCTL, NOW + 120), 0);
	expect_fail(CLAIRCTL, NOW + 121, "jwt: token expired");
	assert_int_equal(verify(CLAIRCTL, NOW - 120), 0);
	expect_fail(CLAIRCTL, NOW - 121, "jwt: token not yet valid");
	expect_fail(EXP_STRING, NOW, "claim \"exp\" is not a number");
}

static void issuer_claims(void **state)
{
	(void)state;
	/* CLAIRCTL verifies only when "clairctl" is allowed */
	assert_int_equal(clr_jwt_verify(CLAIRCTL, KEY, KEY_LEN, ISSUERS, 1,
					NOW), CLR_EAUTH);
	assert_string_equal(clr_error_msg(),
			    "jwt: issuer \"clairctl\" is not allowed");
	assert_int_equal(clr_jwt_verify(CLAIRCTL, KEY, KEY_LEN, NULL, 0,
					NOW), CLR_EAUTH);
	expect_fail(ISS_NUMBER, NOW, "claim \"iss\" is not a string");
	expect_fail(DUP_ISS, NOW, "claims is not JSON");
}

static void missing_iss_fails(void **state)
{
	/* {"alg":"HS256"} {"sub":"clairctl","exp":1700000060}, made with the
	 * python recipe above */
	static const char NO_ISS[] =
		"eyJhbGciOiJIUzI1NiJ9."
		"eyJzdWIiOiJjbGFpcmN0bCIsImV4cCI6MTcwMDAwMDA2MH0."
		"zjc7d6IiJ4-lIFYjviN08ehnctYtbRn_6GkP9e8osfY";

	(void)state;
	expect_fail(NO_ISS, NOW, "no \"iss\" claim");
}

static void malformed_tokens_fail(void **state)
{
	char *t, *big;

	(void)state;
	expect_fail("", NOW, "empty token");
	assert_int_equal(clr_jwt_verify(NULL, KEY, KEY_LEN, ISSUERS, N_ISSUERS,
					NOW), CLR_EAUTH);
	expect_fail("garbage", NOW, "not a compact JWS");
	expect_fail("a.b", NOW, "not a compact JWS");
	expect_fail("a.b.c.d", NOW, "not a compact JWS");
	expect_fail("..", NOW, "empty header");
	expect_fail("eyJhbGciOiJIUzI1NiJ9..", NOW, "empty claims");
	expect_fail("!!!!.eyJpc3MiOiJjbGFpcmN0bCJ9.", NOW,
		    "header is not base64url");
	/* the standard alphabet's '+' and '/' are not base64url */
	expect_fail("eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJjbGFpcmN0bCJ9.ab+/",
		    NOW, "signature is not base64url");
	expect_fail("eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJjbGFpcmN0bCJ9.abcde",
		    NOW, "signature is not valid base64url (length)");
	expect_fail("Z2FyYmFnZQ.eyJpc3MiOiJjbGFpcmN0bCJ9.", NOW,
		    "header is not JSON"); /* "garbage" */
	expect_fail("WzFd.eyJpc3MiOiJjbGFpcmN0bCJ9.", NOW,
		    "header is not a JSON object"); /* [1] */
	expect_fail("eyJhbGciOiJIUzI1NiJ9.IngiIA.", NOW,
		    "claims is not JSON"); /* "x" (not an object) */
	expect_fail(ARRAY_CLAIMS, NOW, "claims is not a JSON object");

	/* padding is refused, wherever it is */
	t = with_suffix(CLAIRCTL, "=");
	expect_fail(t, NOW, "signature is not base64url without padding");
	free(t);
	expect_fail("eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJxdWF5In0=.", NOW,
		    "claims is not base64url without padding");
	/* the same signature bytes spelled with a non-zero trailing bit */
	t = strdup(CLAIRCTL);
	t[strlen(t) - 1] = 'p';
	expect_fail(t, NOW, "not canonical base64url");
	free(t);
	/* a trailing newline (a header value not trimmed) */
	t = with_suffix(CLAIRCTL, "\n");
	expect_fail(t, NOW, "signature is not base64url");
	free(t);

	/* over-long: refused by length, before any parsing */
	big = malloc(CLR_JWT_MAX_LEN + 2);
	assert_non_null(big);
	memset(big, 'A', CLR_JWT_MAX_LEN + 1);
	big[CLR_JWT_MAX_LEN + 1] = '\0';
	expect_fail(big, NOW, "token longer than 8192 bytes");
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(signed_tokens_verify),
		cmocka_unit_test(sign_refuses_bad_arguments),
		cmocka_unit_test(independent_tokens_verify),
		cmocka_unit_test(wrong_algorithms_fail),
		cmocka_unit_test(tampered_and_wrong_key_fail),
		cmocka_unit_test(time_claims),
		cmocka_unit_test(issuer_claims),
		cmocka_unit_test(missing_iss_fails),
		cmocka_unit_test(malformed_tokens_fail),
	};

	return cmocka_run_group_tests_name("jwt", tests, NULL, NULL);
}
