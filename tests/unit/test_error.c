/*
 * test_error.c - the error convention: codes, messages, prefixes.
 */
#include "unit.h"

#include "util/error.h"

static void test_set_returns_code_and_message(void **state)
{
	(void)state;
	assert_int_equal(clr_error_set(CLR_EINVALID, "bad epoch in '%s'", "a:1"),
			 CLR_EINVALID);
	assert_string_equal(clr_error_msg(), "bad epoch in 'a:1'");
	clr_error_clear();
	assert_string_equal(clr_error_msg(), "");
}

static void test_prefix_adds_context(void **state)
{
	(void)state;
	clr_error_set(CLR_ENOTFOUND, "no such layer");
	assert_int_equal(clr_error_prefix(CLR_ENOTFOUND, "image %s", "alpine"),
			 CLR_ENOTFOUND);
	assert_string_equal(clr_error_msg(), "image alpine: no such layer");
	clr_error_clear();
	clr_error_prefix(CLR_ERROR, "alone");
	assert_string_equal(clr_error_msg(), "alone");
}

static void test_long_messages_are_cut_not_overflowed(void **state)
{
	char big[3000];

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	clr_error_set(CLR_ERROR, "%s", big);
	assert_true(strlen(clr_error_msg()) < 1024);
	clr_error_prefix(CLR_ERROR, "%s", big);
	assert_true(strlen(clr_error_msg()) < 1024);
	clr_error_set(CLR_ERROR, "%s", big);
	clr_error_prefix(CLR_ERROR, "short");
	assert_memory_equal(clr_error_msg(), "short: xxx", 10);
	assert_true(strlen(clr_error_msg()) == 1023);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(clr_error_name(CLR_ELIMIT), "limit exceeded");
	assert_string_equal(clr_error_name(CLR_OK), "success");
	assert_string_equal(clr_error_name(-999), "unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_returns_code_and_message),
		cmocka_unit_test(test_prefix_adds_context),
		cmocka_unit_test(test_long_messages_are_cut_not_overflowed),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests_name("error", tests, NULL, NULL);
}
