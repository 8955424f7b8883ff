/*
 * test_sha256.c - SHA-256 against the NIST vectors, and OCI digest strings.
 */
#include "unit.h"

#include "util/error.h"
#include "util/sha256.h"

static void hex_of(char out[65], const uint8_t d[32])
{
	clr_sha256_hex(out, d);
}

static void expect_oneshot(const char *msg, size_t len, const char *want)
{
	uint8_t d[CLR_SHA256_LEN];
	char hex[CLR_SHA256_HEXLEN + 1];

	assert_int_equal(clr_sha256(d, msg, len), 0);
	hex_of(hex, d);
	assert_string_equal(hex, want);
}

static void nist_short_vectors(void **state)
{
	(void)state;
	expect_oneshot("", 0,
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	expect_oneshot(NULL, 0, /* no data at all is the empty message */
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	expect_oneshot("abc", 3,
		"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	expect_oneshot("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		       56, /* 448 bits */
		"248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	expect_oneshot("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
		       "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
		       112, /* 896 bits */
		"cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

static void million_a_streamed_in_odd_chunks(void **state)
{
	static char a[1000000];
	static const size_t chunks[] = { 1, 63, 64, 65, 127, 1000, 4093, 7 };
	struct clr_sha256 h;
	uint8_t d[CLR_SHA256_LEN];
	char hex[CLR_SHA256_HEXLEN + 1];
	size_t off = 0;

	(void)state;
	memset(a, 'a', sizeof(a));
	assert_int_equal(clr_sha256_init(&h), 0);
	for (size_t i = 0; off < sizeof(a); i++) {
		size_t n = chunks[i % (sizeof(chunks) / sizeof(*chunks))];

		if (n > sizeof(a) - off)
			n = sizeof(a) - off;
		assert_int_equal(clr_sha256_update(&h, a + off, n), 0);
		assert_int_equal(clr_sha256_update(&h, NULL, 0), 0);
		off += n;
	}
	assert_int_equal(clr_sha256_final(&h, d), 0);
	clr_sha256_release(&h); /* harmless after final */
	hex_of(hex, d);
	assert_string_equal(hex,
		"cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");

	/* and in one call */
	expect_oneshot(a, sizeof(a),
		"cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void abandoned_stream_releases(void **state)
{
	struct clr_sha256 h;

	(void)state;
	assert_int_equal(clr_sha256_init(&h), 0);
	assert_int_equal(clr_sha256_update(&h, "partial", 7), 0);
	clr_sha256_release(&h); /* ASan reports a leak otherwise */
	clr_sha256_release(&h);
	assert_null(h.ctx);
}

#define ABC "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

static void digest_parse_accepts(void **state)
{
	uint8_t d[CLR_SHA256_LEN], want[CLR_SHA256_LEN];
	char s[CLR_DIGEST_STRLEN + 1];

	(void)state;
	assert_int_equal(clr_digest_parse(d, "sha256:" ABC), 0);
	assert_int_equal(clr_sha256(want, "abc", 3), 0);
	assert_memory_equal(d, want, sizeof(d));
	assert_int_equal(clr_digest_parse(NULL, "sha256:" ABC), 0);

	clr_digest_format(s, d); /* the inverse */
	assert_string_equal(s, "sha256:" ABC);
	assert_int_equal(strlen(s), CLR_DIGEST_STRLEN);

	memset(d, 0xff, sizeof(d));
	assert_int_equal(clr_digest_parse(d, "sha256:" /* all zero */
		"0000000000000000000000000000000000000000000000000000000000000000"),
		0);
	for (size_t i = 0; i < sizeof(d); i++)
		assert_int_equal(d[i], 0);
}

/* s must be rejected with CLR_EINVALID and a message containing frag. */
static void expect_reject(const char *s, const char *frag)
{
	uint8_t d[CLR_SHA256_LEN];

	clr_error_clear();
	if (clr_digest_parse(d, s) != CLR_EINVALID)
		fail_msg("'%s' was not rejected", s);
	if (!strstr(clr_error_msg(), frag))
		fail_msg("'%s': message '%s' lacks '%s'", s, clr_error_msg(),
			 frag);
}

static void digest_parse_rejects(void **state)
{
	(void)state;
	expect_reject("", "want 'sha256:'");
	expect_reject(ABC, "want 'sha256:'");
	expect_reject("sha256", "want 'sha256:'");
	expect_reject("sha256:", "0 hex digits, want 64");
	expect_reject("sha256:" ABC "0", "more than 64");
	expect_reject("sha256:" ABC "\n", "more than 64");
	expect_reject("sha256:" "ba7816bf", "8 hex digits, want 64");
	expect_reject("sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
		      "uppercase");
	expect_reject("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015aD",
		      "uppercase hex digit 'D' at offset 63");
	expect_reject("sha256:ga7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		      "'g' at offset 0 is not a hex digit");
	expect_reject("sha256: a7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		      "byte 0x20 at offset 0");
	expect_reject("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015\xc3\xa9",
		      "byte 0xc3 at offset 62");
	expect_reject("SHA256:" ABC, "must be 'sha256'");
	expect_reject("sha512:" ABC, "unsupported algorithm 'sha512'");
	expect_reject("sha256+b64u:" ABC, "unsupported algorithm 'sha256+b64u'");
	expect_reject(" sha256:" ABC, "must be 'sha256'");
	expect_reject(":" ABC, "must be 'sha256'");
}

static void digest_parse_leaves_out_alone_on_error(void **state)
{
	uint8_t d[CLR_SHA256_LEN];

	(void)state;
	memset(d, 0x5a, sizeof(d));
	assert_int_equal(clr_digest_parse(d, "sha256:" ABC "ff"), CLR_EINVALID);
	for (size_t i = 0; i < sizeof(d); i++)
		assert_int_equal(d[i], 0x5a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(nist_short_vectors),
		cmocka_unit_test(million_a_streamed_in_odd_chunks),
		cmocka_unit_test(abandoned_stream_releases),
		cmocka_unit_test(digest_parse_accepts),
		cmocka_unit_test(digest_parse_rejects),
		cmocka_unit_test(digest_parse_leaves_out_alone_on_error),
	};

	return cmocka_run_group_tests_name("sha256", tests, NULL, NULL);
}
