/*
 * test_vec.c - the growable array: push, get, truncate, sort, release.
 */
#include "unit.h"

#include "util/vec.h"

struct pkg {
	char name[16];
	int rank;
};

static void push_and_get_keep_values(void **state)
{
	struct clr_vec v = CLR_VEC_INIT(int);

	(void)state;
	for (int i = 0; i < 100000; i++)
		CLR_VEC_PUSH(&v, &i);
	assert_int_equal(clr_vec_len(&v), 100000);
	assert_true(v.cap >= v.len);
	for (int i = 0; i < 100000; i++)
		assert_int_equal(*CLR_VEC_AT(&v, int, (size_t)i), i);
	/* items is a plain array of the element type */
	assert_int_equal(((int *)v.items)[99999], 99999);
	clr_vec_release(&v);
}

static void push_returns_the_stored_copy(void **state)
{
	struct clr_vec v;
	struct pkg p = { "zlib", 3 }, *q;

	(void)state;
	clr_vec_init(&v, sizeof(struct pkg));
	q = CLR_VEC_PUSH(&v, &p);
	p.rank = 99; /* the vector holds a copy */
	assert_int_equal(q->rank, 3);
	assert_string_equal(q->name, "zlib");

	q = clr_vec_push(&v, NULL); /* a zeroed element to fill in place */
	assert_int_equal(q->rank, 0);
	assert_string_equal(q->name, "");
	assert_int_equal(v.len, 2);
	clr_vec_release(&v);
}

static void push_of_own_element_survives_growth(void **state)
{
	struct clr_vec v = CLR_VEC_INIT(struct pkg);
	struct pkg p = { "bash", 7 };

	(void)state;
	CLR_VEC_PUSH(&v, &p);
	/* Each push copies element 0 while the storage moves under it. */
	for (int i = 0; i < 1000; i++)
		clr_vec_push(&v, clr_vec_get(&v, 0));
	for (size_t i = 0; i < v.len; i++) {
		assert_string_equal(CLR_VEC_AT(&v, struct pkg, i)->name, "bash");
		assert_int_equal(CLR_VEC_AT(&v, struct pkg, i)->rank, 7);
	}
	clr_vec_release(&v);
}

static void truncate_keeps_prefix_and_memory(void **state)
{
	struct clr_vec v = CLR_VEC_INIT(long);
	void *items;

	(void)state;
	for (long i = 0; i < 50; i++)
		CLR_VEC_PUSH(&v, &i);
	items = v.items;
	clr_vec_truncate(&v, 10);
	assert_int_equal(clr_vec_len(&v), 10);
	assert_ptr_equal(v.items, items);
	assert_int_equal(*CLR_VEC_AT(&v, long, 9), 9);
	{
		long x = 777;

		CLR_VEC_PUSH(&v, &x);
	}
	assert_int_equal(*CLR_VEC_AT(&v, long, 10), 777);
	clr_vec_truncate(&v, 0);
	assert_int_equal(clr_vec_len(&v), 0);
	clr_vec_release(&v);
}

static int by_rank_then_name(const void *a, const void *b)
{
	const struct pkg *x = a, *y = b;

	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return strcmp(x->name, y->name);
}

static void sort_uses_comparator(void **state)
{
	struct clr_vec v = CLR_VEC_INIT(struct pkg);
	static const struct pkg in[] = {
		{ "openssl", 2 }, { "bash", 1 }, { "zlib", 2 },
		{ "curl", 0 },    { "apt", 2 },  { "tar", 1 },
	};
	static const char *const want[] = {
		"curl", "bash", "tar", "apt", "openssl", "zlib",
	};

	(void)state;
	clr_vec_sort(&v, by_rank_then_name); /* empty: fine */
	for (size_t i = 0; i < sizeof(in) / sizeof(*in); i++)
		CLR_VEC_PUSH(&v, &in[i]);
	clr_vec_sort(&v, by_rank_then_name);
	for (size_t i = 0; i < v.len; i++)
		assert_string_equal(CLR_VEC_AT(&v, struct pkg, i)->name,
				    want[i]);
	clr_vec_release(&v);
}

static void release_leaves_reusable_vector(void **state)
{
	struct clr_vec v = CLR_VEC_INIT(char);

	(void)state;
	clr_vec_release(&v);
	assert_null(v.items);
	assert_int_equal(clr_vec_len(&v), 0);
	clr_vec_push(&v, "q");
	assert_int_equal(*CLR_VEC_AT(&v, char, 0), 'q');
	clr_vec_release(&v);
	clr_vec_release(&v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(push_and_get_keep_values),
		cmocka_unit_test(push_returns_the_stored_copy),
		cmocka_unit_test(push_of_own_element_survives_growth),
		cmocka_unit_test(truncate_keeps_prefix_and_memory),
		cmocka_unit_test(sort_uses_comparator),
		cmocka_unit_test(release_leaves_reusable_vector),
	};

	return cmocka_run_group_tests_name("vec", tests, NULL, NULL);
}
