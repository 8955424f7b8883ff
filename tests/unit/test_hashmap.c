/*
 * test_hashmap.c - the string-keyed map, small cases and 100k keys.
 */
#include "unit.h"

#include "util/hashmap.h"

#define N 100000

/* Values are pointers into this array, so a value tells its key's index. */
static int slots[N];

static void key_of(char *out, size_t size, int i)
{
	snprintf(out, size, "libpkg%d-dev", i);
}

static void put_get_replace_remove(void **state)
{
	struct clr_hashmap m = CLR_HASHMAP_INIT;
	int a = 1, b = 2;

	(void)state;
	assert_null(clr_hashmap_get(&m, "x")); /* empty map, no table yet */
	assert_null(clr_hashmap_remove(&m, "x"));
	assert_int_equal(clr_hashmap_count(&m), 0);

	assert_null(clr_hashmap_put(&m, "openssl", &a));
	assert_ptr_equal(clr_hashmap_get(&m, "openssl"), &a);
	assert_ptr_equal(clr_hashmap_put(&m, "openssl", &b), &a);
	assert_ptr_equal(clr_hashmap_get(&m, "openssl"), &b);
	assert_int_equal(clr_hashmap_count(&m), 1);

	assert_null(clr_hashmap_put(&m, "", &a)); /* the empty key is a key */
	assert_ptr_equal(clr_hashmap_get(&m, ""), &a);
	assert_null(clr_hashmap_get(&m, "openss"));
	assert_null(clr_hashmap_get(&m, "openssl "));

	assert_ptr_equal(clr_hashmap_remove(&m, "openssl"), &b);
	assert_null(clr_hashmap_get(&m, "openssl"));
	assert_null(clr_hashmap_remove(&m, "openssl"));
	assert_int_equal(clr_hashmap_count(&m), 1);
	clr_hashmap_release(&m, NULL);
	assert_int_equal(clr_hashmap_count(&m), 0);
}

static void keys_are_copied(void **state)
{
	struct clr_hashmap m;
	char key[32] = "bash";
	int v = 1;
	const char *k;
	size_t pos = 0;

	(void)state;
	clr_hashmap_init(&m);
	clr_hashmap_put(&m, key, &v);
	strcpy(key, "dash"); /* the caller's string was only borrowed */
	assert_ptr_equal(clr_hashmap_get(&m, "bash"), &v);
	assert_null(clr_hashmap_get(&m, "dash"));
	assert_true(clr_hashmap_next(&m, &pos, &k, NULL));
	assert_string_equal(k, "bash");
	assert_ptr_not_equal(k, key);
	clr_hashmap_release(&m, NULL);
}

/* Checks count, get and a full iteration against present[]. */
static void check_against(const struct clr_hashmap *m, const char *present)
{
	static char seen[N];
	size_t want = 0, got = 0, pos = 0;
	const char *k;
	void *v;
	char key[32];

	for (int i = 0; i < N; i++) {
		key_of(key, sizeof(key), i);
		if (present[i]) {
			want++;
			if (clr_hashmap_get(m, key) != &slots[i])
				fail_msg("%s missing or wrong", key);
		} else if (clr_hashmap_get(m, key)) {
			fail_msg("%s present after removal", key);
		}
	}
	assert_int_equal(clr_hashmap_count(m), want);

	memset(seen, 0, sizeof(seen));
	while (clr_hashmap_next(m, &pos, &k, &v)) {
		int i = (int)((int *)v - slots);

		assert_true(i >= 0 && i < N);
		key_of(key, sizeof(key), i);
		assert_string_equal(k, key);
		assert_true(present[i]);
		assert_false(seen[i]); /* each entry exactly once */
		seen[i] = 1;
		got++;
	}
	assert_int_equal(got, want);
	assert_false(clr_hashmap_next(m, &pos, &k, &v)); /* stays finished */
}

static int freed;

static void count_free(void *v)
{
	assert_true((int *)v >= slots && (int *)v < slots + N);
	freed++;
}

static void many_keys_stay_consistent(void **state)
{
	struct clr_hashmap m = CLR_HASHMAP_INIT;
	static char present[N];
	char key[32];

	(void)state;
	for (int i = 0; i < N; i++) {
		key_of(key, sizeof(key), i);
		assert_null(clr_hashmap_put(&m, key, &slots[i]));
		present[i] = 1;
	}
	check_against(&m, present);

	/* Remove every third key and every key ending in 7: removal shifts
	 * runs back, so whatever follows a removed key must stay findable. */
	for (int i = 0; i < N; i++) {
		if (i % 3 && i % 10 != 7)
			continue;
		key_of(key, sizeof(key), i);
		assert_ptr_equal(clr_hashmap_remove(&m, key), &slots[i]);
		present[i] = 0;
	}
	check_against(&m, present);

	/* Put some back, and replace some that stayed. */
	for (int i = 0; i < N; i += 6) {
		key_of(key, sizeof(key), i);
		assert_null(clr_hashmap_put(&m, key, &slots[i]));
		present[i] = 1;
	}
	for (int i = 1; i < N; i += 3) {
		if (!present[i])
			continue;
		key_of(key, sizeof(key), i);
		assert_ptr_equal(clr_hashmap_put(&m, key, &slots[i]),
				 &slots[i]);
	}
	check_against(&m, present);

	freed = 0;
	{
		size_t n = clr_hashmap_count(&m);

		clr_hashmap_release(&m, count_free);
		assert_int_equal((size_t)freed, n);
	}
	assert_int_equal(clr_hashmap_count(&m), 0);
	assert_null(clr_hashmap_get(&m, "libpkg1-dev"));
}

static void remove_everything_then_reuse(void **state)
{
	struct clr_hashmap m = CLR_HASHMAP_INIT;
	char key[32];
	size_t pos = 0;

	(void)state;
	clr_hashmap_reserve(&m, 5000);
	for (int i = 0; i < 5000; i++) {
		key_of(key, sizeof(key), i);
		clr_hashmap_put(&m, key, &slots[i]);
	}
	for (int i = 4999; i >= 0; i--) {
		key_of(key, sizeof(key), i);
		assert_ptr_equal(clr_hashmap_remove(&m, key), &slots[i]);
	}
	assert_int_equal(clr_hashmap_count(&m), 0);
	assert_false(clr_hashmap_next(&m, &pos, NULL, NULL));
	clr_hashmap_put(&m, "again", &slots[0]);
	assert_ptr_equal(clr_hashmap_get(&m, "again"), &slots[0]);
	clr_hashmap_release(&m, NULL);
}

static void reserve_avoids_regrowth(void **state)
{
	struct clr_hashmap m = CLR_HASHMAP_INIT;
	char key[32];
	size_t cap;

	(void)state;
	clr_hashmap_reserve(&m, 10000);
	cap = m.cap;
	for (int i = 0; i < 10000; i++) {
		key_of(key, sizeof(key), i);
		clr_hashmap_put(&m, key, &slots[i]);
	}
	assert_int_equal(m.cap, cap);
	assert_int_equal(clr_hashmap_count(&m), 10000);
	clr_hashmap_release(&m, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(put_get_replace_remove),
		cmocka_unit_test(keys_are_copied),
		cmocka_unit_test(many_keys_stay_consistent),
		cmocka_unit_test(remove_everything_then_reuse),
		cmocka_unit_test(reserve_avoids_regrowth),
	};

	return cmocka_run_group_tests_name("hashmap", tests, NULL, NULL);
}
