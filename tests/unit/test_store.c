/*
 * test_store.c - the store, against SQLite and (when CLARION_TEST_PG names
 * a server) PostgreSQL: the same suite for both, then what only one has.
 *
 *     ./build/tests/test_store                               SQLite only
 *     scripts/test-postgres run -- ./build/tests/test_store  both
 *
 * With CLARION_REQUIRE_PG=1 a missing CLARION_TEST_PG fails instead of
 * skipping, so CI cannot pass by not testing PostgreSQL.
 *
 * Each test gets a fresh database: a new temp directory for SQLite, a new
 * schema (through search_path in the URL) for PostgreSQL.  What the store
 * does not expose (schema_migrations rows, a newer version planted, a
 * dropped connection) is done with raw sqlite3 / libpq on the side.
 */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/log.h"

#define M1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define M2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define L_BASE "sha256:b0000000000000000000000000000000000000000000000000000000000000b0"
#define L_A "sha256:a0000000000000000000000000000000000000000000000000000000000000a0"
#define L_B "sha256:bb000000000000000000000000000000000000000000000000000000000000bb"

/* One test's database. */
struct fx {
	bool pg;
	char dir[64];     /* SQLite: the temp directory holding the file */
	char path[128];   /* SQLite: the database file */
	char app[64];     /* PostgreSQL: application_name, to find our sessions */
	char schema[64];  /* PostgreSQL: this test's schema */
	char *location;   /* what clr_store_open gets */
};

static const char *pg_base(void)
{
	const char *u = getenv("CLARION_TEST_PG");

	return u && *u ? u : NULL;
}

static bool contains(const char *hay, const char *needle)
{
	return strstr(hay, needle) != NULL;
}

/* --- raw access to the database under test -------------------------------- */

static void quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

static PGconn *raw_pg(const char *url)
{
	PGconn *c = PQconnectdb(url);

	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("raw connect to %s: %s", url, PQerrorMessage(c));
	/* DROP SCHEMA ... CASCADE lists what it drops. */
	PQsetNoticeProcessor(c, quiet, NULL);
	return c;
}

/* Runs sql; the first column of the first row as text in out (if any). */
static void raw(const struct fx *f, const char *sql, char *out, size_t size)
{
	if (out)
		out[0] = '\0';
	if (f->pg) {
		PGconn *c = raw_pg(f->location);
		PGresult *r = PQexec(c, sql);
		ExecStatusType st = PQresultStatus(r);

		if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)
			fail_msg("%s: %s", sql, PQerrorMessage(c));
		if (out && st == PGRES_TUPLES_OK && PQntuples(r))
			snprintf(out, size, "%s", PQgetvalue(r, 0, 0));
		PQclear(r);
		PQfinish(c);
	} else {
		sqlite3 *db;
		sqlite3_stmt *st;
		int rc;

		assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
		sqlite3_busy_timeout(db, 5000);
		if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
			fail_msg("%s: %s", sql, sqlite3_errmsg(db));
		rc = sqlite3_step(st);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			fail_msg("%s: %s", sql, sqlite3_errmsg(db));
		if (out && rc == SQLITE_ROW)
			snprintf(out, size, "%s",
				 (const char *)sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
		sqlite3_close(db);
	}
}

static long raw_long(const struct fx *f, const char *sql)
{
	char v[64];

	raw(f, sql, v, sizeof(v));
	return atol(v);
}

/* --- fixtures ------------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *sb, int flag,
		    struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup_sqlite(void **state)
{
	struct fx *f = clr_calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/clarion-store.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/clarion.db", f->dir);
	f->location = clr_strdup(f->path);
	*state = f;
	return 0;
}

static int setup_pg(void **state)
{
	static int n;
	const char *base = pg_base();
	struct fx *f = clr_calloc(1, sizeof(*f));
	char sql[128];
	size_t len;
	PGconn *c;
	PGresult *r;

	f->pg = true;
	snprintf(f->schema, sizeof(f->schema), "clarion_t%ld_%d",
		 (long)getpid(), ++n);
	snprintf(f->app, sizeof(f->app), "%s", f->schema);
	c = raw_pg(base);
	snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", f->schema);
	r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		fprintf(stderr, "%s: %s", sql, PQerrorMessage(c));
		PQclear(r);
		PQfinish(c);
		return -1;
	}
	PQclear(r);
	PQfinish(c);
	len = strlen(base) + 2 * sizeof(f->schema) + 64;
	f->location = clr_malloc(len);
	snprintf(f->location, len,
		 "%s%coptions=-csearch_path%%3D%s&application_name=%s", base,
		 strchr(base, '?') ? '&' : '?', f->schema, f->app);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	if (!f)
		return 0;
	if (f->pg) {
		PGconn *c = raw_pg(pg_base());
		char sql[128];

		snprintf(sql, sizeof(sql), "DROP SCHEMA %s CASCADE", f->schema);
		PQclear(PQexec(c, sql));
		PQfinish(c);
	} else {
		nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	}
	free(f->location);
	free(f);
	return 0;
}

static struct clr_store *open_ok(const struct fx *f)
{
	struct clr_store *s = NULL;
	int err = clr_store_open(&s, f->location);

	if (err)
		fail_msg("open %s: %s", f->location, clr_error_msg());
	return s;
}

static void put_ok(struct clr_store *s, const char *hash, const char *state,
		   const char *report, const char *const *layers, size_t n)
{
	struct clr_store_report r = {
		.index_state = (char *)"istate-1",
		.state = (char *)state,
		.report = (char *)report,
	};

	if (clr_store_report_put(s, hash, &r, layers, n))
		fail_msg("put %s: %s", hash, clr_error_msg());
}

static void assert_layers(struct clr_store *s, const char *hash,
			  const char *const *want, size_t n)
{
	struct clr_vec v = CLR_VEC_INIT(char *);

	assert_int_equal(clr_store_manifest_layers(s, hash, &v), 0);
	assert_int_equal(v.len, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(*CLR_VEC_AT(&v, char *, i), want[i]);
	clr_store_strings_release(&v);
}

/* --- the suite both backends run ------------------------------------------ */

static void test_migrations_apply_once(void **state)
{
	struct fx *f = *state;
	struct clr_store *s = open_ok(f);
	char applied[64], again[64], sql[128];

	assert_string_equal(clr_store_backend_name(s),
			    f->pg ? "postgres" : "sqlite");
	assert_int_equal(clr_store_schema_version(s), clr_store_schema_latest());
	clr_store_close(s);
	assert_int_equal(raw_long(f, "SELECT count(*) FROM schema_migrations"),
			 (long)clr_store_migrations_count);
	snprintf(sql, sizeof(sql), "SELECT max(version) FROM schema_migrations");
	assert_int_equal(raw_long(f, sql), clr_store_schema_latest());
	raw(f, "SELECT applied_at FROM schema_migrations WHERE version = 1",
	    applied, sizeof(applied));
	assert_true(applied[0]);

	/* Reopening applies nothing again. */
	s = open_ok(f);
	clr_store_close(s);
	s = open_ok(f);
	clr_store_close(s);
	assert_int_equal(raw_long(f, "SELECT count(*) FROM schema_migrations"),
			 (long)clr_store_migrations_count);
	raw(f, "SELECT applied_at FROM schema_migrations WHERE version = 1",
	    again, sizeof(again));
	assert_string_equal(applied, again);
}

struct opener {
	const char *location;
	int err;
	char msg[256];
};

static void *open_close(void *arg)
{
	struct opener *o = arg;
	struct clr_store *s;

	o->err = clr_store_open(&s, o->location);
	snprintf(o->msg, sizeof(o->msg), "%s", clr_error_msg());
	clr_store_close(s);
	return NULL;
}

/* Several processes (here threads, each with a handle) starting on a new
 * database at once: all succeed, the migrations run once. */
static void test_concurrent_first_open(void **state)
{
	struct fx *f = *state;
	struct opener o[4];
	pthread_t t[4];

	for (int i = 0; i < 4; i++) {
		o[i].location = f->location;
		assert_int_equal(pthread_create(&t[i], NULL, open_close, &o[i]),
				 0);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 4; i++)
		if (o[i].err)
			fail_msg("open %d: %s", i, o[i].msg);
	assert_int_equal(raw_long(f, "SELECT count(*) FROM schema_migrations"),
			 (long)clr_store_migrations_count);
}

static void test_reopen_keeps_data(void **state)
{
	struct fx *f = *state;
	const char *layers[] = { L_BASE, L_A };
	const struct clr_store_scanner dpkg = { "dpkg", "1" };
	struct clr_store_report r;
	struct clr_store *s = open_ok(f);
	char *art;

	put_ok(s, M1, "IndexFinished", "{\"manifest_hash\":\"" M1 "\"}", layers,
	       2);
	assert_int_equal(clr_store_layer_scan_put(s, L_A, &dpkg, "[1]"), 0);
	clr_store_close(s);

	s = open_ok(f);
	assert_int_equal(clr_store_report_get(s, M1, &r), 0);
	assert_string_equal(r.state, "IndexFinished");
	assert_string_equal(r.index_state, "istate-1");
	assert_string_equal(r.report, "{\"manifest_hash\":\"" M1 "\"}");
	clr_store_report_release(&r);
	assert_layers(s, M1, layers, 2);
	assert_int_equal(clr_store_layer_scan_get(s, L_A, &dpkg, &art), 0);
	assert_string_equal(art, "[1]");
	free(art);
	clr_store_close(s);
}

static void test_report_put_get_delete(void **state)
{
	struct fx *f = *state;
	const char *two[] = { L_BASE, L_A }, *one[] = { L_B };
	struct clr_store_report r;
	struct clr_store *s = open_ok(f);
	struct clr_vec v = CLR_VEC_INIT(char *);
	bool existed = true;

	assert_int_equal(clr_store_report_get(s, M1, &r), CLR_ENOTFOUND);
	assert_true(contains(clr_error_msg(), M1));
	assert_null(r.report);
	assert_int_equal(clr_store_manifest_layers(s, M1, &v), CLR_ENOTFOUND);
	assert_int_equal(v.len, 0);

	/* The indexer's first put records the layers... */
	put_ok(s, M1, "CheckManifest", "{}", two, 2);
	assert_int_equal(clr_store_report_get(s, M1, &r), 0);
	assert_string_equal(r.state, "CheckManifest");
	assert_string_equal(r.report, "{}");
	clr_store_report_release(&r);
	assert_layers(s, M1, two, 2);

	/* ...progress updates keep them... */
	put_ok(s, M1, "IndexFinished", "{\"success\":true}", NULL, 0);
	assert_int_equal(clr_store_report_get(s, M1, &r), 0);
	assert_string_equal(r.state, "IndexFinished");
	assert_string_equal(r.report, "{\"success\":true}");
	clr_store_report_release(&r);
	assert_layers(s, M1, two, 2);

	/* ...and a new list replaces them. */
	put_ok(s, M1, "IndexError", "{\"err\":\"x\"}", one, 1);
	assert_layers(s, M1, one, 1);

	assert_int_equal(clr_store_report_delete(s, M1, &existed), 0);
	assert_true(existed);
	assert_int_equal(clr_store_report_get(s, M1, &r), CLR_ENOTFOUND);
	assert_int_equal(clr_store_manifest_layers(s, M1, &v), CLR_ENOTFOUND);
	assert_int_equal(clr_store_report_delete(s, M1, &existed), 0);
	assert_false(existed);
	assert_int_equal(clr_store_report_delete(s, M2, NULL), 0);

	/* An empty key is a caller's bug, not a row. */
	assert_int_equal(clr_store_report_get(s, "", &r), CLR_EINVALID);
	clr_store_close(s);
}

/* Text goes through as parameters, byte for byte: quotes, backslashes,
 * braces (PostgreSQL's array syntax), UTF-8, and size. */
static void test_values_round_trip(void **state)
{
	static const char odd_layer[] = "sha256:\"quoted\",{brace}\\back";
	struct fx *f = *state;
	const char *layers[] = { odd_layer, "x'); DROP TABLE index_report; --",
				 L_A };
	struct clr_store_report r;
	struct clr_store *s = open_ok(f);
	size_t big = 3u << 20;
	char *report = clr_malloc(big + 1);

	for (size_t i = 0; i < big; i++)
		report[i] = "{}[]\"\\:,abcé"[i % 13];
	report[big] = '\0';
	/* Keep the UTF-8 valid: the 2-byte é must not be cut at the end. */
	while (big && ((unsigned char)report[big - 1] & 0xc0) == 0xc0)
		report[--big] = '\0';
	put_ok(s, M2, "IndexFinished", report, layers, 3);
	assert_int_equal(clr_store_report_get(s, M2, &r), 0);
	assert_string_equal(r.report, report);
	clr_store_report_release(&r);
	assert_layers(s, M2, layers, 3);
	free(report);
	clr_store_close(s);
}

static void test_manifest_list_pages(void **state)
{
	static const char *const hashes[] = {
		"sha256:05", "sha256:01", "sha256:04", "sha256:02", "sha256:03",
	};
	struct fx *f = *state;
	struct clr_store *s = open_ok(f);
	struct clr_vec v = CLR_VEC_INIT(char *);

	assert_int_equal(clr_store_manifest_list(s, NULL, 0, &v), 0);
	assert_int_equal(v.len, 0);
	for (size_t i = 0; i < 5; i++)
		put_ok(s, hashes[i], "IndexFinished", "{}", NULL, 0);
	assert_int_equal(clr_store_manifest_list(s, NULL, 0, &v), 0);
	assert_int_equal(v.len, 5);
	for (size_t i = 0; i < 5; i++) {
		char want[16];

		snprintf(want, sizeof(want), "sha256:%02zu", i + 1);
		assert_string_equal(*CLR_VEC_AT(&v, char *, i), want);
	}
	clr_store_strings_release(&v);

	assert_int_equal(clr_store_manifest_list(s, NULL, 2, &v), 0);
	assert_int_equal(clr_store_manifest_list(s, "sha256:02", 2, &v), 0);
	assert_int_equal(clr_store_manifest_list(s, "sha256:04", 2, &v), 0);
	assert_int_equal(v.len, 5);
	assert_string_equal(*CLR_VEC_AT(&v, char *, 2), "sha256:03");
	assert_string_equal(*CLR_VEC_AT(&v, char *, 4), "sha256:05");
	clr_store_strings_release(&v);
	clr_store_close(s);
}

/* Deleting a manifest drops the scans of its own layers and keeps the
 * scans of layers another manifest still uses. */
static void test_delete_collects_unshared_scans(void **state)
{
	struct fx *f = *state;
	const char *a[] = { L_BASE, L_A }, *b[] = { L_BASE, L_B };
	const struct clr_store_scanner dpkg = { "dpkg", "1" };
	struct clr_store *s = open_ok(f);
	char *art = NULL;

	put_ok(s, M1, "IndexFinished", "{}", a, 2);
	put_ok(s, M2, "IndexFinished", "{}", b, 2);
	assert_int_equal(clr_store_layer_scan_put(s, L_BASE, &dpkg, "base"), 0);
	assert_int_equal(clr_store_layer_scan_put(s, L_A, &dpkg, "a"), 0);
	assert_int_equal(clr_store_layer_scan_put(s, L_B, &dpkg, "b"), 0);

	assert_int_equal(clr_store_report_delete(s, M1, NULL), 0);
	assert_int_equal(clr_store_layer_scan_get(s, L_A, &dpkg, &art),
			 CLR_ENOTFOUND);
	assert_int_equal(clr_store_layer_scan_get(s, L_BASE, &dpkg, &art), 0);
	assert_string_equal(art, "base");
	free(art);
	assert_int_equal(clr_store_layer_scan_get(s, L_B, &dpkg, &art), 0);
	free(art);
	assert_layers(s, M2, b, 2);
	clr_store_close(s);
}

static void test_layer_cache_by_scanner_version(void **state)
{
	struct fx *f = *state;
	const struct clr_store_scanner v1 = { "dpkg", "1" };
	const struct clr_store_scanner v2 = { "dpkg", "2" };
	const struct clr_store_scanner set[] = {
		{ "dpkg", "2" }, { "os-release", "1" }, { "dpkg", "1" },
		{ "apk", "1" },
	};
	struct clr_store *s = open_ok(f);
	bool scanned[4] = { true, true, true, true };
	char *art = (char *)"unset";

	assert_int_equal(clr_store_layer_scan_get(s, L_A, &v1, &art),
			 CLR_ENOTFOUND);
	assert_null(art);
	assert_int_equal(clr_store_layer_scanned(s, L_A, set, 4, scanned), 0);
	assert_false(scanned[0] || scanned[1] || scanned[2] || scanned[3]);

	assert_int_equal(clr_store_layer_scan_put(s, L_A, &v1, "[\"old\"]"), 0);
	assert_int_equal(clr_store_layer_scan_put(s, L_A, &set[1], "{}"), 0);
	assert_int_equal(clr_store_layer_scan_get(s, L_A, &v1, &art), 0);
	assert_string_equal(art, "[\"old\"]");
	free(art);
	/* A new scanner version misses: the layer is scanned again. */
	assert_int_equal(clr_store_layer_scan_get(s, L_A, &v2, &art),
			 CLR_ENOTFOUND);
	assert_true(contains(clr_error_msg(), "dpkg 2"));
	/* Another layer misses too: the key is the layer. */
	assert_int_equal(clr_store_layer_scan_get(s, L_B, &v1, &art),
			 CLR_ENOTFOUND);
	assert_int_equal(clr_store_layer_scanned(s, L_A, set, 4, scanned), 0);
	assert_false(scanned[0]);
	assert_true(scanned[1]);
	assert_true(scanned[2]);
	assert_false(scanned[3]);

	/* A second put of the same key replaces. */
	assert_int_equal(clr_store_layer_scan_put(s, L_A, &v1, "[\"new\"]"), 0);
	assert_int_equal(clr_store_layer_scan_get(s, L_A, &v1, &art), 0);
	assert_string_equal(art, "[\"new\"]");
	free(art);
	clr_store_close(s);
}

/* Two threads, each with its own handle, lock one manifest: the second
 * waits until the first unlocks. */
struct lock_race {
	const char *location;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool a_holds;          /* A has the lock: B may start trying */
	atomic_int counter;    /* ticks at A's release and B's acquisition */
	int a_tick, b_tick;
	long b_waited_ms;
	int a_err, b_err;
	char a_msg[256], b_msg[256];
};

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void *race_a(void *arg)
{
	struct lock_race *lr = arg;
	struct clr_store_lock *lock = NULL;
	struct clr_store *s = NULL;
	struct timespec hold = { 0, 300 * 1000000L };

	if ((lr->a_err = clr_store_open(&s, lr->location)) ||
	    (lr->a_err = clr_store_lock_manifest(s, M1, &lock)))
		snprintf(lr->a_msg, sizeof(lr->a_msg), "%s", clr_error_msg());
	pthread_mutex_lock(&lr->mu);
	lr->a_holds = true;
	pthread_cond_signal(&lr->cv);
	pthread_mutex_unlock(&lr->mu);
	if (!lr->a_err) {
		nanosleep(&hold, NULL);
		lr->a_tick = ++lr->counter;
		lr->a_err = clr_store_unlock_manifest(lock);
	}
	clr_store_close(s);
	return NULL;
}

static void *race_b(void *arg)
{
	struct lock_race *lr = arg;
	struct clr_store_lock *lock = NULL;
	struct clr_store *s = NULL;
	long t0;

	/* Opened before A locks, so the wait measured is the lock's alone. */
	lr->b_err = clr_store_open(&s, lr->location);
	pthread_mutex_lock(&lr->mu);
	while (!lr->a_holds)
		pthread_cond_wait(&lr->cv, &lr->mu);
	pthread_mutex_unlock(&lr->mu);
	if (!lr->b_err) {
		t0 = now_ms();
		lr->b_err = clr_store_lock_manifest(s, M1, &lock);
		lr->b_waited_ms = now_ms() - t0;
		lr->b_tick = ++lr->counter;
		if (!lr->b_err)
			lr->b_err = clr_store_unlock_manifest(lock);
	}
	if (lr->b_err)
		snprintf(lr->b_msg, sizeof(lr->b_msg), "%s", clr_error_msg());
	clr_store_close(s);
	return NULL;
}

static void test_lock_second_waits(void **state)
{
	struct fx *f = *state;
	struct lock_race lr = { .location = f->location };
	struct clr_store *s = open_ok(f); /* migrated before the race */
	pthread_t a, b;

	clr_store_close(s);
	pthread_mutex_init(&lr.mu, NULL);
	pthread_cond_init(&lr.cv, NULL);
	atomic_init(&lr.counter, 0);
	assert_int_equal(pthread_create(&b, NULL, race_b, &lr), 0);
	assert_int_equal(pthread_create(&a, NULL, race_a, &lr), 0);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	if (lr.a_err || lr.b_err)
		fail_msg("A: %s / B: %s", lr.a_msg, lr.b_msg);
	assert_int_equal(lr.a_tick, 1);
	assert_int_equal(lr.b_tick, 2);
	/* A held it for 300 ms after B began to wait. */
	assert_true(lr.b_waited_ms >= 150);
	pthread_mutex_destroy(&lr.mu);
	pthread_cond_destroy(&lr.cv);
}

static void test_lock_rules(void **state)
{
	struct fx *f = *state;
	struct clr_store *a = open_ok(f), *b = open_ok(f);
	struct clr_store_lock *la = NULL, *lb = NULL, *la2 = NULL;

	assert_int_equal(clr_store_trylock_manifest(a, M1, &la), 0);
	assert_non_null(la);
	/* Held elsewhere: try says so at once. */
	assert_int_equal(clr_store_trylock_manifest(b, M1, &lb), CLR_EEXISTS);
	assert_null(lb);
	assert_true(contains(clr_error_msg(), M1));
	/* Other manifests are independent. */
	assert_int_equal(clr_store_trylock_manifest(b, M2, &lb), 0);
	assert_int_equal(clr_store_unlock_manifest(lb), 0);
	/* Locks do not nest, on either backend. */
	assert_int_equal(clr_store_lock_manifest(a, M1, &la2), CLR_EEXISTS);
	assert_true(contains(clr_error_msg(), "already locked by this handle"));

	assert_int_equal(clr_store_unlock_manifest(la), 0);
	assert_int_equal(clr_store_trylock_manifest(b, M1, &lb), 0);
	assert_int_equal(clr_store_unlock_manifest(lb), 0);
	assert_int_equal(clr_store_unlock_manifest(NULL), 0);

	/* Closing a handle releases what it still held. */
	assert_int_equal(clr_store_trylock_manifest(a, M2, &la), 0);
	clr_store_close(a);
	assert_int_equal(clr_store_trylock_manifest(b, M2, &lb), 0);
	assert_int_equal(clr_store_unlock_manifest(lb), 0);
	clr_store_close(b);
}

static void test_newer_schema_refused(void **state)
{
	struct fx *f = *state;
	struct clr_store *s = open_ok(f);
	char sql[128], want[64];

	put_ok(s, M1, "IndexFinished", "{}", NULL, 0);
	clr_store_close(s);
	snprintf(sql, sizeof(sql), "INSERT INTO schema_migrations (version) "
		 "VALUES (%d)", clr_store_schema_latest() + 1);
	raw(f, sql, NULL, 0);

	s = (struct clr_store *)&s;
	assert_int_equal(clr_store_open(&s, f->location), CLR_EUNSUPPORTED);
	assert_null(s);
	snprintf(want, sizeof(want), "schema version %d, newer",
		 clr_store_schema_latest() + 1);
	assert_true(contains(clr_error_msg(), want));
	assert_true(contains(clr_error_msg(), "upgrade clarion"));
	/* Refused, not touched. */
	assert_int_equal(raw_long(f, "SELECT count(*) FROM index_report"), 1);
}

/* --- SQLite only ----------------------------------------------------------- */

static void plant_lock(const struct fx *f, const char *owner, long expires)
{
	char sql[1024];

	snprintf(sql, sizeof(sql), "INSERT OR REPLACE INTO manifest_lock "
		 "(manifest_hash, owner, expires) VALUES ('%s', '%s', %ld)",
		 M1, owner, expires);
	raw(f, sql, NULL, 0);
}

/* A lock left by a process that is gone is taken over at once (a scan
 * killed by ^C must not block the next); a lock held by another host
 * counts until its lease expires. */
static void test_sqlite_stale_locks(void **state)
{
	struct fx *f = *state;
	struct clr_store *s = open_ok(f);
	struct clr_store_lock *l = NULL;
	char host[256], owner[400];
	long now = (long)time(NULL);

	assert_int_equal(gethostname(host, sizeof(host)), 0);
	host[sizeof(host) - 1] = '\0';

	/* A pid no process has. */
	snprintf(owner, sizeof(owner), "2147483000:1:00ff@%s", host);
	plant_lock(f, owner, now + 3600);
	assert_int_equal(clr_store_trylock_manifest(s, M1, &l), 0);
	assert_int_equal(clr_store_unlock_manifest(l), 0);

	/* Our pid, but an earlier process that had it (another start time). */
	snprintf(owner, sizeof(owner), "%ld:1:00ff@%s", (long)getpid(), host);
	plant_lock(f, owner, now + 3600);
	assert_int_equal(clr_store_trylock_manifest(s, M1, &l), 0);
	assert_int_equal(clr_store_unlock_manifest(l), 0);

	/* Another host, lease running: held. */
	plant_lock(f, "1:1:00ff@other-host.invalid", now + 3600);
	assert_int_equal(clr_store_trylock_manifest(s, M1, &l), CLR_EEXISTS);
	assert_true(contains(clr_error_msg(), "other-host.invalid"));

	/* Another host, lease expired: stale. */
	plant_lock(f, "1:1:00ff@other-host.invalid", now - 1);
	assert_int_equal(clr_store_trylock_manifest(s, M1, &l), 0);
	assert_int_equal(clr_store_unlock_manifest(l), 0);
	assert_int_equal(raw_long(f, "SELECT count(*) FROM manifest_lock"), 0);
	clr_store_close(s);
}

/* A check in a child process, where cmocka's asserts cannot report:
 * says what failed and makes the child exit 1. */
#define CHILD_CHECK(cond)                                                   \
	do {                                                                \
		if (!(cond)) {                                              \
			fprintf(stderr, "%s:%d: child: %s failed (%s)\n",   \
				__FILE__, __LINE__, #cond, clr_error_msg()); \
			return 1;                                           \
		}                                                           \
	} while (0)

/* Runs fn in a child process and fails unless it returns 0: for checks
 * that change the process itself (its uid, its file size limit). */
static void in_child(int (*fn)(const struct fx *), const struct fx *f)
{
	pid_t pid;
	int status;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn(f));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail_msg("the child's checks failed (status 0x%x)", status);
}

static int get_is(struct clr_store *s, const char *hash, const char *want)
{
	struct clr_store_report r;
	int same;

	if (clr_store_report_get(s, hash, &r))
		return 0;
	same = !strcmp(r.report, want);
	clr_store_report_release(&r);
	return same;
}

/* Root writes through file modes, so as root the child first becomes
 * nobody, owner of the directory but not allowed to write the file. */
static int read_only_child(const struct fx *f)
{
	const struct clr_store_scanner dpkg = { "dpkg", "1" };
	const char *layers[] = { L_A };
	struct clr_store_report r = {
		.index_state = (char *)"i", .state = (char *)"IndexFinished",
		.report = (char *)"after",
	};
	struct clr_store *s = NULL;
	int err;

	CHILD_CHECK(chmod(f->path, 0444) == 0);
	if (geteuid() == 0) {
		CHILD_CHECK(chown(f->dir, 65534, 65534) == 0);
		CHILD_CHECK(chown(f->path, 65534, 65534) == 0);
		CHILD_CHECK(setgid(65534) == 0 && setuid(65534) == 0);
	}
	CHILD_CHECK(clr_store_open(&s, f->location) == 0);
	CHILD_CHECK(get_is(s, M1, "before"));
	err = clr_store_report_put(s, M1, &r, layers, 1);
	CHILD_CHECK(err == CLR_EIO);
	CHILD_CHECK(contains(clr_error_msg(), "readonly") ||
		    contains(clr_error_msg(), "read-only"));
	CHILD_CHECK(contains(clr_error_msg(), f->path));
	CHILD_CHECK(clr_store_layer_scan_put(s, L_A, &dpkg, "x") == CLR_EIO);
	CHILD_CHECK(get_is(s, M1, "before"));
	clr_store_close(s);
	return 0;
}

static void make_writable(const struct fx *f)
{
	static const char *const suffix[] = { "", "-wal", "-shm" };
	char p[160];

	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s%s", f->path, suffix[i]);
		if (chmod(p, 0644) == 0 && geteuid() == 0)
			assert_int_equal(chown(p, 0, 0), 0);
	}
}

static void test_sqlite_read_only_file(void **state)
{
	struct fx *f = *state;
	const char *layers[] = { L_BASE };
	struct clr_store *s = open_ok(f);

	put_ok(s, M1, "IndexFinished", "before", layers, 1);
	clr_store_close(s);
	in_child(read_only_child, f);
	make_writable(f);

	s = open_ok(f);
	assert_true(get_is(s, M1, "before"));
	assert_layers(s, M1, layers, 1);
	clr_store_close(s);
}

static long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? 0 : (long)st.st_size;
}

/* A disk that fills up mid-write, simulated with a file size limit: the
 * put fails as CLR_EIO and leaves the previous report as it was. */
static int disk_full_child(const struct fx *f)
{
	const char *layers[] = { L_B };
	struct clr_store_report r = {
		.index_state = (char *)"i", .state = (char *)"IndexFinished",
	};
	struct clr_store *s = NULL;
	char wal[160];
	struct rlimit lim;
	size_t big = 4u << 20;
	long have;
	int err;

	CHILD_CHECK(clr_store_open(&s, f->location) == 0);
	snprintf(wal, sizeof(wal), "%s-wal", f->path);
	have = file_size(f->path) > file_size(wal) ? file_size(f->path) :
						     file_size(wal);
	r.report = clr_malloc(big + 1);
	memset(r.report, 'x', big);
	r.report[big] = '\0';
	signal(SIGXFSZ, SIG_IGN);
	lim.rlim_cur = lim.rlim_max = (rlim_t)have + 8192;
	CHILD_CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
	err = clr_store_report_put(s, M1, &r, layers, 1);
	free(r.report);
	CHILD_CHECK(err == CLR_EIO);
	CHILD_CHECK(contains(clr_error_msg(), f->path));
	CHILD_CHECK(get_is(s, M1, "before"));
	clr_store_close(s);
	return 0;
}

static void test_sqlite_disk_full(void **state)
{
	struct fx *f = *state;
	const char *layers[] = { L_BASE };
	struct clr_store *s = open_ok(f);

	put_ok(s, M1, "IndexFinished", "before", layers, 1);
	in_child(disk_full_child, f);
	assert_true(get_is(s, M1, "before"));
	assert_layers(s, M1, layers, 1);
	clr_store_close(s);
}

static void test_sqlite_not_ours(void **state)
{
	struct fx *f = *state;
	struct clr_store *s = NULL;
	sqlite3 *db;
	FILE *fp;

	fp = fopen(f->path, "w");
	assert_non_null(fp);
	fputs("this is not a database, it is a text file long enough to "
	      "have a header that SQLite reads and rejects............\n", fp);
	fclose(fp);
	assert_int_equal(clr_store_open(&s, f->location), CLR_EINVALID);
	assert_null(s);
	assert_true(contains(clr_error_msg(), f->path));

	remove(f->path);
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE notes (x)", NULL, NULL,
				      NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(clr_store_open(&s, f->location), CLR_EINVALID);
	assert_true(contains(clr_error_msg(), "not clarion's"));
}

static void test_sqlite_wal_mode(void **state)
{
	struct fx *f = *state;
	struct clr_store *s = open_ok(f);
	char mode[16];

	raw(f, "PRAGMA journal_mode", mode, sizeof(mode));
	assert_string_equal(mode, "wal");
	assert_string_equal(clr_store_location(s), f->path);
	clr_store_close(s);
}

/* --- opening by name ------------------------------------------------------- */

static void set_env(const char *name, const char *value)
{
	if (value)
		assert_int_equal(setenv(name, value, 1), 0);
	else
		assert_int_equal(unsetenv(name), 0);
}

static void test_default_location(void **state)
{
	struct fx *f = *state;
	char *saved[3], *loc, want[256];
	static const char *const names[] = {
		"CLARION_DB", "XDG_CACHE_HOME", "HOME",
	};
	struct clr_store *s;
	struct stat st;

	for (int i = 0; i < 3; i++)
		saved[i] = getenv(names[i]) ? clr_strdup(getenv(names[i])) :
					      NULL;

	set_env("CLARION_DB", "/elsewhere/x.db");
	assert_int_equal(clr_store_default_location(&loc), 0);
	assert_string_equal(loc, "/elsewhere/x.db");
	free(loc);

	set_env("CLARION_DB", "");
	set_env("XDG_CACHE_HOME", "/xdg");
	assert_int_equal(clr_store_default_location(&loc), 0);
	assert_string_equal(loc, "/xdg/clarion/clarion.db");
	free(loc);

	/* A relative XDG_CACHE_HOME is ignored, as the spec says. */
	set_env("XDG_CACHE_HOME", "relative");
	set_env("HOME", "/home/u");
	assert_int_equal(clr_store_default_location(&loc), 0);
	assert_string_equal(loc, "/home/u/.cache/clarion/clarion.db");
	free(loc);

	/* Opening the default creates its directory, private. */
	set_env("XDG_CACHE_HOME", f->dir);
	assert_int_equal(clr_store_open(&s, NULL), 0);
	snprintf(want, sizeof(want), "%s/clarion/clarion.db", f->dir);
	assert_string_equal(clr_store_location(s), want);
	assert_string_equal(clr_store_backend_name(s), "sqlite");
	clr_store_close(s);
	snprintf(want, sizeof(want), "%s/clarion", f->dir);
	assert_int_equal(stat(want, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);

	for (int i = 0; i < 3; i++) {
		set_env(names[i], saved[i]);
		free(saved[i]);
	}
}

static void open_fails(const char *location, int code, const char *want,
		       const char *secret)
{
	struct clr_store *s = (struct clr_store *)&s;

	assert_int_equal(clr_store_open(&s, location), code);
	assert_null(s);
	if (!contains(clr_error_msg(), want))
		fail_msg("'%s' not in '%s'", want, clr_error_msg());
	if (secret && contains(clr_error_msg(), secret))
		fail_msg("password shown: '%s'", clr_error_msg());
}

/* No server needed: nothing listens on port 1. */
static void test_open_errors(void **state)
{
	(void)state;
	open_fails("postgres://u:s3cret@127.0.0.1:1/db", CLR_ENET,
		   "cannot connect to postgres://u:***@127.0.0.1:1/db: ",
		   "s3cret");
	assert_true(contains(clr_error_msg(), "refused"));
	open_fails("postgresql://127.0.0.1:1/db?user=u&password=s3cret&sslmode=disable",
		   CLR_ENET, "postgresql://127.0.0.1:1/db?user=u&password=***&sslmode=disable",
		   "s3cret");
	open_fails("postgres://u:s3cret@nosuch.invalid/db", CLR_ENET,
		   "cannot connect to postgres://u:***@nosuch.invalid/db",
		   "s3cret");
	/* A malformed URL is a configuration mistake, not the network;
	 * libpq quotes the URL in its complaint, password and all. */
	open_fails("postgres://u:s3cret@[::1/db", CLR_EINVALID,
		   "invalid PostgreSQL URL", "s3cret");
	open_fails("", CLR_EINVALID, "empty", NULL);
	open_fails("/nonexistent-clarion-dir/sub/x.db", CLR_EIO,
		   "/nonexistent-clarion-dir/sub/x.db", NULL);
}

/* --- PostgreSQL only ------------------------------------------------------- */

/* Ends the store's sessions from the server side, as a restart would. */
static void kill_sessions(const struct fx *f)
{
	char sql[256], n[16];

	snprintf(sql, sizeof(sql), "SELECT count(pg_terminate_backend(pid)) "
		 "FROM pg_stat_activity WHERE application_name = '%s' "
		 "AND pid <> pg_backend_pid()", f->app);
	raw(f, sql, n, sizeof(n));
	assert_true(atoi(n) >= 1);
}

static void test_pg_reconnects_once(void **state)
{
	struct fx *f = *state;
	struct clr_store *s = open_ok(f), *other = open_ok(f);
	struct clr_store_lock *l = NULL, *l2 = NULL;

	put_ok(s, M1, "IndexFinished", "before", NULL, 0);
	kill_sessions(f);
	/* The next call notices, reconnects and succeeds. */
	assert_true(get_is(s, M1, "before"));
	put_ok(s, M1, "IndexFinished", "after", NULL, 0);
	assert_true(get_is(other, M1, "after"));

	/* A lock dies with its connection; unlocking it is not an error. */
	assert_int_equal(clr_store_lock_manifest(s, M2, &l), 0);
	assert_int_equal(clr_store_trylock_manifest(other, M2, &l2),
			 CLR_EEXISTS);
	kill_sessions(f);
	assert_true(get_is(s, M1, "after"));
	assert_int_equal(clr_store_trylock_manifest(other, M2, &l2), 0);
	assert_int_equal(clr_store_unlock_manifest(l), 0);
	assert_int_equal(clr_store_unlock_manifest(l2), 0);
	clr_store_close(other);
	clr_store_close(s);
}

#define BOTH(setup)                                                          \
	cmocka_unit_test_setup_teardown(test_migrations_apply_once, setup,   \
					teardown),                           \
	cmocka_unit_test_setup_teardown(test_concurrent_first_open, setup,   \
					teardown),                           \
	cmocka_unit_test_setup_teardown(test_reopen_keeps_data, setup,       \
					teardown),                           \
	cmocka_unit_test_setup_teardown(test_report_put_get_delete, setup,   \
					teardown),                           \
	cmocka_unit_test_setup_teardown(test_values_round_trip, setup,       \
					teardown),                           \
	cmocka_unit_test_setup_teardown(test_manifest_list_pages, setup,     \
					teardown),                           \
	cmocka_unit_test_setup_teardown(test_delete_collects_unshared_scans, \
					setup, teardown),                    \
	cmocka_unit_test_setup_teardown(test_layer_cache_by_scanner_version, \
					setup, teardown),                    \
	cmocka_unit_test_setup_teardown(test_lock_second_waits, setup,       \
					teardown),                           \
	cmocka_unit_test_setup_teardown(test_lock_rules, setup, teardown),   \
	cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup,    \
					teardown)

int main(void)
{
	const struct CMUnitTest sqlite_tests[] = {
		BOTH(setup_sqlite),
		cmocka_unit_test_setup_teardown(test_sqlite_stale_locks,
						setup_sqlite, teardown),
		cmocka_unit_test_setup_teardown(test_sqlite_read_only_file,
						setup_sqlite, teardown),
		cmocka_unit_test_setup_teardown(test_sqlite_disk_full,
						setup_sqlite, teardown),
		cmocka_unit_test_setup_teardown(test_sqlite_not_ours,
						setup_sqlite, teardown),
		cmocka_unit_test_setup_teardown(test_sqlite_wal_mode,
						setup_sqlite, teardown),
		cmocka_unit_test_setup_teardown(test_default_location,
						setup_sqlite, teardown),
		cmocka_unit_test(test_open_errors),
	};
	const struct CMUnitTest pg_tests[] = {
		BOTH(setup_pg),
		cmocka_unit_test_setup_teardown(test_pg_reconnects_once,
						setup_pg, teardown),
	};
	const char *require = getenv("CLARION_REQUIRE_PG");
	int failed;

	/* The store's warnings (a lock released at close, a reconnection)
	 * are expected here; keep the output to cmocka's. */
	clr_log_set_level(CLR_LOG_ERROR);
	failed = cmocka_run_group_tests_name("store/sqlite", sqlite_tests,
					     NULL, NULL);
	if (pg_base())
		return failed | cmocka_run_group_tests_name("store/postgres",
							    pg_tests, NULL,
							    NULL);
	if (require && !strcmp(require, "1")) {
		fprintf(stderr, "store/postgres: CLARION_REQUIRE_PG=1 but "
			"CLARION_TEST_PG is not set: run under "
			"scripts/test-postgres run -- ...\n");
		return 1;
	}
	printf("[  SKIPPED ] store/postgres: CLARION_TEST_PG is not set "
	       "(scripts/test-postgres run -- ./build/tests/test_store)\n");
	return failed;
}
