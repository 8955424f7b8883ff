/*
 * test_reportcache.c - the cache of encoded vulnerability reports: hits,
 * single-flight misses across threads, eviction by size, gzip, failures.
 */
#include "unit.h"

#include <pthread.h>
#include <unistd.h>
#include <zlib.h>

#include "http/reportcache.h"
#include "util/alloc.h"

static char *text(const char *s)
{
	return clr_strdup(s);
}

static void test_hit_after_put(void **state)
{
	struct clr_report_cache *c;
	struct clr_report_blob *b, *b2;
	size_t entries, bytes;
	unsigned long long hits, misses;

	(void)state;
	clr_report_cache_new(&c, 1 << 20);
	assert_int_equal(clr_report_cache_get(c, "k|s|1", &b), CLR_RC_COMPUTE);
	assert_null(b);
	b = clr_report_cache_put(c, "k|s|1", text("{\"a\":1}"), 7);
	assert_non_null(b);
	assert_int_equal(clr_report_cache_get(c, "k|s|1", &b2), CLR_RC_HIT);
	assert_ptr_equal(b, b2);
	assert_string_equal(b2->json, "{\"a\":1}");
	/* Another counter is another report. */
	assert_int_equal(clr_report_cache_get(c, "k|s|2", &b2), CLR_RC_HIT + 1);
	clr_report_cache_put(c, "k|s|2", NULL, 0);
	clr_report_cache_stats(c, &entries, &bytes, &hits, &misses);
	assert_int_equal(entries, 1);
	assert_int_equal(bytes, 7);
	assert_int_equal(hits, 1);
	assert_int_equal(misses, 2);
	clr_report_blob_release(c, b);
	clr_report_blob_release(c, b);
	clr_report_cache_free(c);
}

static void test_eviction_keeps_referenced_blobs(void **state)
{
	struct clr_report_cache *c;
	struct clr_report_blob *b1, *b2, *b;
	size_t entries, bytes;
	unsigned long long hits, misses;
	char *big = clr_malloc(101);

	(void)state;
	memset(big, 'x', 100);
	big[100] = '\0';
	clr_report_cache_new(&c, 150);
	clr_report_cache_get(c, "one", &b);
	b1 = clr_report_cache_put(c, "one", big, 100);
	big = clr_malloc(101);
	memset(big, 'y', 100);
	big[100] = '\0';
	clr_report_cache_get(c, "two", &b);
	b2 = clr_report_cache_put(c, "two", big, 100);
	/* "one" is gone from the cache but still readable by its holder. */
	clr_report_cache_stats(c, &entries, &bytes, &hits, &misses);
	assert_int_equal(entries, 1);
	assert_int_equal(bytes, 100);
	assert_int_equal(b1->json[99], 'x');
	assert_int_equal(clr_report_cache_get(c, "one", &b), CLR_RC_COMPUTE);
	clr_report_cache_put(c, "one", NULL, 0);
	clr_report_blob_release(c, b1);
	clr_report_blob_release(c, b2);
	clr_report_cache_free(c);
}

static void test_gzip_round_trip(void **state)
{
	struct clr_report_cache *c;
	struct clr_report_blob *b;
	const unsigned char *gz, *gz2;
	unsigned char out[4096];
	size_t gzlen, gzlen2;
	z_stream z;
	char *json = clr_malloc(3001);

	(void)state;
	for (int i = 0; i < 3000; i++)
		json[i] = "{\"vulnerabilities\":[]}"[i % 22];
	json[3000] = '\0';
	clr_report_cache_new(&c, 1 << 20);
	clr_report_cache_get(c, "g", &b);
	b = clr_report_cache_put(c, "g", json, 3000);
	gz = clr_report_blob_gzip(c, b, &gzlen);
	assert_non_null(gz);
	assert_true(gzlen < 3000);
	gz2 = clr_report_blob_gzip(c, b, &gzlen2);   /* made once */
	assert_ptr_equal(gz, gz2);
	assert_int_equal(gzlen, gzlen2);
	memset(&z, 0, sizeof(z));
	assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = (Bytef *)gz;
	z.avail_in = (uInt)gzlen;
	z.next_out = out;
	z.avail_out = sizeof(out);
	assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
	assert_int_equal(z.total_out, 3000);
	assert_memory_equal(out, b->json, 3000);
	inflateEnd(&z);
	clr_report_blob_release(c, b);
	clr_report_cache_free(c);
}

/* Eight threads miss the same key at once: one computes, all get it. */
struct race {
	struct clr_report_cache *c;
	int computed;
	pthread_mutex_t mu;
	struct clr_report_blob *got;
};

static void *racer(void *arg)
{
	struct race *r = arg;
	struct clr_report_blob *b;

	if (clr_report_cache_get(r->c, "same", &b) == CLR_RC_COMPUTE) {
		pthread_mutex_lock(&r->mu);
		r->computed++;
		pthread_mutex_unlock(&r->mu);
		usleep(50 * 1000);  /* the others arrive while this computes */
		b = clr_report_cache_put(r->c, "same", text("[1,2,3]"), 7);
	}
	assert_string_equal(b->json, "[1,2,3]");
	clr_report_blob_release(r->c, b);
	return NULL;
}

static void test_single_flight(void **state)
{
	struct race r = { .computed = 0 };
	pthread_t t[8];

	(void)state;
	pthread_mutex_init(&r.mu, NULL);
	clr_report_cache_new(&r.c, 1 << 20);
	for (int i = 0; i < 8; i++)
		pthread_create(&t[i], NULL, racer, &r);
	for (int i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(r.computed, 1);
	clr_report_cache_free(r.c);
	pthread_mutex_destroy(&r.mu);
}

/* A failed computation wakes the waiters, and one of them computes. */
static void *failer(void *arg)
{
	struct race *r = arg;
	struct clr_report_blob *b;

	if (clr_report_cache_get(r->c, "bad", &b) == CLR_RC_COMPUTE) {
		pthread_mutex_lock(&r->mu);
		int first = r->computed++ == 0;
		pthread_mutex_unlock(&r->mu);
		usleep(20 * 1000);
		if (first) {
			clr_report_cache_put(r->c, "bad", NULL, 0);
			return NULL;
		}
		b = clr_report_cache_put(r->c, "bad", text("ok"), 2);
	}
	assert_string_equal(b->json, "ok");
	clr_report_blob_release(r->c, b);
	return NULL;
}

static void test_failure_wakes_waiters(void **state)
{
	struct race r = { .computed = 0 };
	pthread_t t[4];

	(void)state;
	pthread_mutex_init(&r.mu, NULL);
	clr_report_cache_new(&r.c, 1 << 20);
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, failer, &r);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(r.computed, 2);
	clr_report_cache_free(r.c);
	pthread_mutex_destroy(&r.mu);
}

static void test_disabled_cache_keeps_nothing(void **state)
{
	struct clr_report_cache *c;
	struct clr_report_blob *b;
	size_t entries, bytes;
	unsigned long long hits, misses;

	(void)state;
	clr_report_cache_new(&c, 0);
	assert_int_equal(clr_report_cache_get(c, "k", &b), CLR_RC_COMPUTE);
	b = clr_report_cache_put(c, "k", text("{}"), 2);
	assert_string_equal(b->json, "{}");
	clr_report_blob_release(c, b);
	assert_int_equal(clr_report_cache_get(c, "k", &b), CLR_RC_COMPUTE);
	clr_report_cache_put(c, "k", NULL, 0);
	clr_report_cache_stats(c, &entries, &bytes, &hits, &misses);
	assert_int_equal(entries, 0);
	assert_int_equal(bytes, 0);
	clr_report_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hit_after_put),
		cmocka_unit_test(test_eviction_keeps_referenced_blobs),
		cmocka_unit_test(test_gzip_round_trip),
		cmocka_unit_test(test_single_flight),
		cmocka_unit_test(test_failure_wakes_waiters),
		cmocka_unit_test(test_disabled_cache_keeps_nothing),
	};

	return cmocka_run_group_tests_name("reportcache", tests, NULL, NULL);
}
