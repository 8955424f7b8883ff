/*
 * test_buf.c - the size-capped buffer: the cap, growth, and ownership.
 */
#include "unit.h"

#include "util/buf.h"
#include "util/error.h"

static void add_up_to_max_exactly(void **state)
{
	struct clr_buf b = CLR_BUF_INIT(10);

	(void)state;
	assert_int_equal(clr_buf_add(&b, "0123456789", 10), 0);
	assert_int_equal(b.len, 10);
	assert_string_equal(clr_buf_str(&b), "0123456789");
	assert_true(b.alloc <= 11); /* the cap bounds memory, too */

	assert_int_equal(clr_buf_add(&b, "", 0), 0); /* nothing is not too much */
	assert_int_equal(clr_buf_addch(&b, 'x'), CLR_ELIMIT);
	assert_non_null(strstr(clr_error_msg(), "limit"));
	clr_buf_release(&b);
}

static void exceeding_max_frees_and_stays_usable(void **state)
{
	struct clr_buf b;

	(void)state;
	clr_buf_init(&b, 8);
	assert_int_equal(clr_buf_addstr(&b, "abcd"), 0);
	assert_int_equal(clr_buf_addstr(&b, "efghi"), CLR_ELIMIT);
	/* Documented: the contents are gone, not a truncated prefix. */
	assert_int_equal(b.len, 0);
	assert_null(b.ptr);
	assert_string_equal(clr_buf_str(&b), "");
	assert_int_equal(b.max, 8);

	assert_int_equal(clr_buf_addstr(&b, "again"), 0);
	assert_string_equal(clr_buf_str(&b), "again");
	clr_buf_release(&b);
}

static void one_byte_over_in_a_single_add(void **state)
{
	struct clr_buf b = CLR_BUF_INIT(4096);
	char big[4097];

	(void)state;
	memset(big, 'z', sizeof(big));
	assert_int_equal(clr_buf_add(&b, big, 4097), CLR_ELIMIT);
	assert_int_equal(clr_buf_add(&b, big, 4096), 0);
	assert_int_equal(b.len, 4096);
	clr_buf_release(&b);
}

static void content_intact_after_many_grows(void **state)
{
	struct clr_buf b = CLR_BUF_INIT(1 << 24);
	size_t n = 0;

	(void)state;
	/* Odd-sized appends across many reallocations, including NULs. */
	for (unsigned i = 0; n < 3000000; i++) {
		unsigned char chunk[257];
		size_t len = (i * 37) % sizeof(chunk);

		for (size_t j = 0; j < len; j++)
			chunk[j] = (unsigned char)((n + j) * 131 % 251);
		assert_int_equal(clr_buf_add(&b, chunk, len), 0);
		n += len;
	}
	assert_int_equal(b.len, n);
	for (size_t j = 0; j < n; j++)
		if ((unsigned char)b.ptr[j] != (unsigned char)(j * 131 % 251))
			fail_msg("byte %zu corrupted", j);
	assert_int_equal(b.ptr[n], '\0');
	clr_buf_release(&b);
}

static void str_never_null_and_terminated(void **state)
{
	struct clr_buf b = CLR_BUF_INIT(100);

	(void)state;
	assert_non_null(clr_buf_str(&b));
	assert_string_equal(clr_buf_str(&b), "");
	assert_int_equal(clr_buf_addch(&b, 'a'), 0);
	assert_int_equal(clr_buf_addch(&b, 'b'), 0);
	assert_string_equal(clr_buf_str(&b), "ab");
	clr_buf_release(&b);
	assert_string_equal(clr_buf_str(&b), "");
}

static void printf_appends_and_grows(void **state)
{
	struct clr_buf b = CLR_BUF_INIT(1 << 20);
	char want[64];

	(void)state;
	assert_int_equal(clr_buf_printf(&b, "%s-%d", "pkg", 42), 0);
	assert_int_equal(clr_buf_printf(&b, "/%05x", 0xbeefu), 0);
	assert_string_equal(clr_buf_str(&b), "pkg-42/0beef");

	/* Longer than whatever was preallocated: takes the retry path. */
	clr_buf_reset(&b);
	assert_int_equal(clr_buf_printf(&b, "%300s|", "x"), 0);
	assert_int_equal(b.len, 301);
	assert_int_equal(b.ptr[299], 'x');
	assert_int_equal(b.ptr[300], '|');
	snprintf(want, sizeof(want), "%d", 1234567);
	assert_int_equal(clr_buf_printf(&b, "%d", 1234567), 0);
	assert_string_equal(clr_buf_str(&b) + 301, want);
	clr_buf_release(&b);
}

static void printf_respects_the_cap(void **state)
{
	struct clr_buf b = CLR_BUF_INIT(10);

	(void)state;
	assert_int_equal(clr_buf_printf(&b, "%s", "12345"), 0);
	assert_int_equal(clr_buf_printf(&b, "%d", 12345), 0); /* exactly 10 */
	assert_string_equal(clr_buf_str(&b), "1234512345");
	assert_int_equal(clr_buf_printf(&b, "%c", 'x'), CLR_ELIMIT);
	assert_int_equal(b.len, 0);
	clr_buf_release(&b);
}

static void reset_keeps_memory(void **state)
{
	struct clr_buf b = CLR_BUF_INIT(1000);
	char *p;
	size_t alloc;

	(void)state;
	assert_int_equal(clr_buf_addstr(&b, "some text"), 0);
	p = b.ptr;
	alloc = b.alloc;
	clr_buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(clr_buf_str(&b), "");
	assert_ptr_equal(b.ptr, p);
	assert_int_equal(b.alloc, alloc);
	assert_int_equal(clr_buf_addstr(&b, "new"), 0);
	assert_string_equal(clr_buf_str(&b), "new");
	clr_buf_release(&b);
}

static void detach_hands_over_ownership(void **state)
{
	struct clr_buf b = CLR_BUF_INIT(100);
	size_t len = 99;
	char *s;

	(void)state;
	assert_int_equal(clr_buf_add(&b, "a\0b", 3), 0);
	s = clr_buf_detach(&b, &len);
	assert_int_equal(len, 3);
	assert_memory_equal(s, "a\0b", 4);
	assert_null(b.ptr);
	assert_int_equal(b.len, 0);
	free(s);

	/* An empty buffer still yields something to free. */
	s = clr_buf_detach(&b, NULL);
	assert_non_null(s);
	assert_string_equal(s, "");
	free(s);

	assert_int_equal(clr_buf_addstr(&b, "reuse"), 0);
	assert_string_equal(clr_buf_str(&b), "reuse");
	clr_buf_release(&b);
}

static void release_twice_is_harmless(void **state)
{
	struct clr_buf b = CLR_BUF_INIT(10);

	(void)state;
	clr_buf_release(&b);
	assert_int_equal(clr_buf_addstr(&b, "x"), 0);
	clr_buf_release(&b);
	clr_buf_release(&b);
	assert_string_equal(clr_buf_str(&b), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(add_up_to_max_exactly),
		cmocka_unit_test(exceeding_max_frees_and_stays_usable),
		cmocka_unit_test(one_byte_over_in_a_single_add),
		cmocka_unit_test(content_intact_after_many_grows),
		cmocka_unit_test(str_never_null_and_terminated),
		cmocka_unit_test(printf_appends_and_grows),
		cmocka_unit_test(printf_respects_the_cap),
		cmocka_unit_test(reset_keeps_memory),
		cmocka_unit_test(detach_hands_over_ownership),
		cmocka_unit_test(release_twice_is_harmless),
	};

	return cmocka_run_group_tests_name("buf", tests, NULL, NULL);
}
