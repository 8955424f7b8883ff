/*
 * test_arena.c - the bump allocator: alignment, zeroing, large blocks.
 */
#include "unit.h"

#include <stdalign.h>

#include "util/arena.h"

static void allocations_are_aligned_and_zeroed(void **state)
{
	struct clr_arena a;

	(void)state;
	clr_arena_init(&a, 0);
	assert_int_equal(a.block_size, CLR_ARENA_BLOCK_DEFAULT);
	for (size_t size = 0; size < 300; size++) {
		unsigned char *p = clr_arena_alloc(&a, size);

		assert_non_null(p);
		assert_int_equal((uintptr_t)p % alignof(max_align_t), 0);
		for (size_t i = 0; i < size; i++)
			assert_int_equal(p[i], 0);
		memset(p, 0xa5, size); /* must not overlap the next one */
	}
	clr_arena_release(&a);
}

static void allocations_do_not_overlap(void **state)
{
	struct clr_arena a;
	unsigned char *p[2000];
	size_t n[2000];

	(void)state;
	clr_arena_init(&a, 4096);
	for (size_t i = 0; i < 2000; i++) {
		n[i] = (i * 7) % 200; /* includes 0, and some "large" ones */
		p[i] = clr_arena_alloc(&a, n[i]);
		memset(p[i], (int)(i & 0xff), n[i]);
	}
	for (size_t i = 0; i < 2000; i++)
		for (size_t j = 0; j < n[i]; j++)
			assert_int_equal(p[i][j], i & 0xff);
	for (size_t i = 1; i < 2000; i++)
		assert_ptr_not_equal(p[i], p[i - 1]); /* even for size 0 */
	clr_arena_release(&a);
}

static void large_allocation_gets_own_block(void **state)
{
	struct clr_arena a;
	char *small1, *big, *small2;

	(void)state;
	clr_arena_init(&a, 4096);
	small1 = clr_arena_alloc(&a, 16);
	big = clr_arena_alloc(&a, 1 << 20); /* far more than a block */
	assert_int_equal((uintptr_t)big % alignof(max_align_t), 0);
	memset(big, 'B', 1 << 20);
	/* The big one did not use up the current block: the next small
	 * allocation continues right after the first. */
	small2 = clr_arena_alloc(&a, 16);
	assert_ptr_equal(small2, small1 + 16);
	assert_int_equal(big[0], 'B');
	assert_int_equal(big[(1 << 20) - 1], 'B');
	assert_true(a.used >= (1 << 20) + 32);

	/* A large allocation into a fresh arena, then small ones. */
	clr_arena_release(&a);
	big = clr_arena_alloc(&a, 100000);
	small1 = clr_arena_alloc(&a, 8);
	assert_true(small1 < big || small1 >= big + 100000);
	clr_arena_release(&a);
}

static void strdup_and_strndup(void **state)
{
	struct clr_arena a;
	char *s;

	(void)state;
	clr_arena_init(&a, 256);
	s = clr_arena_strdup(&a, "libc6");
	assert_string_equal(s, "libc6");
	s = clr_arena_strndup(&a, "openssl-3.0.11", 7);
	assert_string_equal(s, "openssl");
	s = clr_arena_strndup(&a, "abc", 100); /* n past the end is fine */
	assert_string_equal(s, "abc");
	s = clr_arena_strdup(&a, "");
	assert_string_equal(s, "");
	clr_arena_release(&a);
}

static void release_frees_everything_and_allows_reuse(void **state)
{
	struct clr_arena a;

	(void)state;
	clr_arena_init(&a, 1024);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 10000; i++)
			clr_arena_strdup(&a, "a string of some length");
		clr_arena_alloc(&a, 50000);
		assert_true(a.used > 0);
		clr_arena_release(&a); /* ASan reports any block left behind */
		assert_null(a.head);
		assert_int_equal(a.used, 0);
		assert_int_equal(a.block_size, 1024);
	}
	clr_arena_release(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(allocations_are_aligned_and_zeroed),
		cmocka_unit_test(allocations_do_not_overlap),
		cmocka_unit_test(large_allocation_gets_own_block),
		cmocka_unit_test(strdup_and_strndup),
		cmocka_unit_test(release_frees_everything_and_allows_reuse),
	};

	return cmocka_run_group_tests_name("arena", tests, NULL, NULL);
}
