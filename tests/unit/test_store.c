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
#include "store_fixture.h"

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

static bool contains(const char *hay, const char *needle)
{
	return strstr(hay, needle) != NULL;
}

/* --- fixtures ------------------------------------------------------------- */

static int setup_sqlite(void **state)
{
	return db_fx_setup_sqlite(state, "store");
}

static int setup_pg(void **state)
{
	return db_fx_setup_pg(state, "clarion_t");
}

static int teardown(void **state)
{
	return db_fx_teardown(state);
}

static struct clr_store *open_ok(const struct db_fx *f)
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
	struct db_fx *f = *state;
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
	struct db_fx *f = *state;
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
	struct db_fx *f = *state;
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
	struct db_fx *f = *state;
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
	struct db_fx *f = *state;
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
	struct db_fx *f = *state;
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
	struct db_fx *f = *state;
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
	struct db_fx *f = *state;
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
	struct db_fx *f = *state;
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
	struct db_fx *f = *state;
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
	struct db_fx *f = *state;
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

/* --- vulnerabilities and update operations (both backends) ---------------- */

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

/* Runs a script of several statements on the side (raw() runs one). */
static void raw_script(const struct db_fx *f, const char *sql)
{
	if (f->pg) {
		PGconn *c = raw_pg(f->location);
		PGresult *r = PQexec(c, sql);

		if (PQresultStatus(r) != PGRES_COMMAND_OK &&
		    PQresultStatus(r) != PGRES_TUPLES_OK)
			fail_msg("script: %s", PQerrorMessage(c));
		PQclear(r);
		PQfinish(c);
	} else {
		sqlite3 *db;
		char *msg = NULL;

		assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
		if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
			fail_msg("script: %s", msg);
		sqlite3_close(db);
	}
}

/* A typical record of updater u: name and fixed version vary, the rest is
 * the same for all, so two records differ only where a test says. */
static void add_vuln(struct clr_vuln_set *set, const char *u, const char *name,
		     const char *fix)
{
	struct clr_vuln v = {
		.name = name,
		.updater = u,
		.description = "a flaw in the package",
		.links = "https://security-tracker.debian.org/tracker/x",
		.severity = "medium",
		.normalized_severity = CLR_SEV_MEDIUM,
		.package_name = "openssl",
		.package_kind = "source",
		.dist_did = "debian",
		.dist_version_id = "12",
		.version_scheme = "dpkg",
		.fixed_in_version = fix,
	};

	clr_vuln_set_add(set, &v);
}

/* n generated records; about one in ten changes with gen.  Descriptions
 * carry tabs, newlines and backslashes, so a bulk load escapes them. */
static void make_set(struct clr_vuln_set *set, const char *u, size_t n,
		     int gen)
{
	char name[32], fix[32], desc[128], pkg[32];

	for (size_t i = 0; i < n; i++) {
		struct clr_vuln v = {
			.name = name, .updater = u, .description = desc,
			.severity = "low", .normalized_severity = CLR_SEV_LOW,
			.package_name = pkg, .package_kind = "source",
			.dist_did = "debian", .dist_version_id = "12",
			.version_scheme = "dpkg", .fixed_in_version = fix,
		};

		snprintf(name, sizeof(name), "CVE-2024-%06zu", i);
		snprintf(pkg, sizeof(pkg), "pkg%zu", i % 5000);
		snprintf(fix, sizeof(fix), "1.%zu-%d", i % 97,
			 i % 10 ? 1 : gen);
		snprintf(desc, sizeof(desc), "record %zu:\tline one\nline "
			 "two \\ with a backslash", i);
		clr_vuln_set_add(set, &v);
	}
}

static struct clr_vuln *vuln_at(struct clr_vuln_set *set, size_t i)
{
	return CLR_VEC_AT(&set->vulns, struct clr_vuln, i);
}

static int by_name(const void *a, const void *b)
{
	const struct clr_vuln *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->fixed_in_version, y->fixed_in_version);
}

/* The set as "NAME=FIX NAME=FIX ...", sorted: easy to compare whole. */
static char *set_names(struct clr_vuln_set *set)
{
	size_t len = 1;
	char *out, *p;

	clr_vec_sort(&set->vulns, by_name);
	for (size_t i = 0; i < set->vulns.len; i++)
		len += strlen(vuln_at(set, i)->name) +
		       strlen(vuln_at(set, i)->fixed_in_version) + 2;
	p = out = clr_malloc(len);
	*p = '\0';
	for (size_t i = 0; i < set->vulns.len; i++)
		p += sprintf(p, "%s%s=%s", i ? " " : "", vuln_at(set, i)->name,
			     vuln_at(set, i)->fixed_in_version);
	return out;
}

static void assert_names(struct clr_vuln_set *set, const char *want)
{
	char *got = set_names(set);

	if (strcmp(got, want))
		fail_msg("records: want '%s', got '%s'", want, got);
	free(got);
}

static void assert_vuln_equal(const struct clr_vuln *want,
			      const struct clr_vuln *got)
{
	char hw[CLR_SHA256_HEXLEN + 1], hg[CLR_SHA256_HEXLEN + 1];

#define SAME(fld)                                                          \
	if (strcmp(want->fld, got->fld))                                   \
		fail_msg("%s: " #fld ": want '%s', got '%s'", want->name, \
			 want->fld, got->fld);
	CLR_STORE_VULN_STRINGS(SAME)
#undef SAME
	assert_int_equal(want->normalized_severity, got->normalized_severity);
	clr_vuln_hash(hw, want);
	clr_vuln_hash(hg, got);
	assert_string_equal(hw, hg);
}

static void assert_uuid_v4(const char *s)
{
	assert_int_equal(strlen(s), 36);
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23)
			assert_int_equal(s[i], '-');
		else if (!strchr("0123456789abcdef", s[i]))
			fail_msg("'%s' is not a lowercase UUID", s);
	}
	assert_int_equal(s[14], '4');
	assert_non_null(strchr("89ab", s[19]));
}

/* RFC 3339 UTC as both backends write it: 2024-05-01T10:00:00.123Z. */
static void assert_rfc3339(const char *s)
{
	if (strlen(s) != 24 || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
	    s[13] != ':' || s[16] != ':' || s[19] != '.' || s[23] != 'Z' ||
	    strncmp(s, "20", 2))
		fail_msg("'%s' is not RFC 3339 UTC", s);
}

static void assert_op_equal(const struct clr_update_op *a,
			    const struct clr_update_op *b)
{
	assert_string_equal(a->ref, b->ref);
	assert_string_equal(a->updater, b->updater);
	assert_string_equal(a->fingerprint, b->fingerprint);
	assert_string_equal(a->date, b->date);
	assert_string_equal(a->kind, b->kind);
	assert_int_equal(a->id, b->id);
	assert_int_equal(a->count, b->count);
}

static void put_vulns_ok(struct clr_store *s, const char *u, const char *fp,
			 const struct clr_vuln_set *set,
			 struct clr_update_op *out)
{
	if (clr_store_update_put(s, u, fp, set, out))
		fail_msg("put %s: %s", u, clr_error_msg());
}

static int64_t counter(struct clr_store *s)
{
	int64_t v = -1;

	assert_int_equal(clr_store_update_counter(s, &v), 0);
	return v;
}

struct collect {
	struct clr_vuln_set set;
	int calls;
	int stop_at; /* 0: never stop */
};

static int collect_each(const struct clr_vuln *v, void *arg)
{
	struct collect *c = arg;

	clr_vuln_set_add(&c->set, v);
	return ++c->calls == c->stop_at ? 7 : 0;
}

/* A database made by a clarion that knew schema 1 only gets migration 2
 * on open, keeps what it had, and records both versions. */
static void test_vulns_migration_2(void **state)
{
	struct db_fx *f = *state;
	struct clr_store *s;
	struct clr_store_report r;
	struct clr_update_op op;
	struct clr_vuln_set set;
	char applied[64], again[64];

	raw_script(f, f->pg ? clr_store_schema_table_pg :
			      clr_store_schema_table_sqlite);
	raw_script(f, f->pg ? clr_store_migrations[0].pg :
			      clr_store_migrations[0].sqlite);
	raw(f, "INSERT INTO schema_migrations (version) VALUES (1)", NULL, 0);
	raw(f, "INSERT INTO index_report (manifest_hash, index_state, state, "
	    "report) VALUES ('" M1 "', 'i', 'IndexFinished', '{}')", NULL, 0);
	raw(f, "SELECT applied_at FROM schema_migrations WHERE version = 1",
	    applied, sizeof(applied));

	s = open_ok(f);
	/* Migration 2 and every later one applied on top of 1. */
	assert_int_equal(clr_store_schema_version(s), clr_store_schema_latest());
	assert_true(clr_store_schema_latest() >= 2);
	assert_int_equal(clr_store_report_get(s, M1, &r), 0);
	assert_string_equal(r.report, "{}");
	clr_store_report_release(&r);
	assert_int_equal(counter(s), 0);
	assert_int_equal(clr_store_update_latest(s, "debian", &op),
			 CLR_ENOTFOUND);
	clr_vuln_set_init(&set);
	add_vuln(&set, "debian", "CVE-1", "1.0");
	put_vulns_ok(s, "debian", "fp", &set, NULL);
	clr_vuln_set_release(&set);
	clr_store_close(s);

	assert_int_equal(raw_long(f, "SELECT count(*) FROM schema_migrations"),
			 (long)clr_store_migrations_count);
	assert_int_equal(raw_long(f, "SELECT count(*) FROM schema_migrations "
				  "WHERE version IN (1, 2)"), 2);
	raw(f, "SELECT applied_at FROM schema_migrations WHERE version = 1",
	    again, sizeof(again));
	assert_string_equal(applied, again);
	assert_int_equal(raw_long(f, "SELECT count(*) FROM vuln"), 1);
}

/* Every field comes back as it went in, through the bulk path too: empty
 * strings, UTF-8, and what COPY's text format must escape. */
static void test_vulns_round_trip(void **state)
{
	static const char odd_text[] =
		"tab\there, newline\nthere, CR\r, backslash \\ and \\N and "
		"\\.\n\\.\nend; quotes ' \" ; UTF-8: é 漢字 🐧";
	static const char affected[] =
		"{\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced"
		"\":\"0\"},{\"fixed\":\"2.3\\t4\"}]}],\"versions\":[\"1.0\"]}";
	struct db_fx *f = *state;
	struct clr_store *s = open_ok(f);
	struct clr_vuln_set in, out;
	struct collect cur = { .stop_at = 0 };
	struct clr_update_op op, got;
	struct clr_vec ops = CLR_VEC_INIT(struct clr_update_op);
	struct clr_vuln full = {
		.name = "CVE-2024-0001", .updater = "osv/pypi",
		.description = odd_text, .issued = "2024-01-02T03:04:05Z",
		.links = "https://a.example/1 https://b.example/2",
		.severity = "CVSS:3.1/AV:N",
		.normalized_severity = CLR_SEV_HIGH,
		.package_name = "requests", .package_kind = "binary",
		.package_module = "mod:stream", .arch = "x86_64",
		.arch_op = "pattern match", .dist_did = "did",
		.dist_name = "dist name", .dist_version = "9 (x)",
		.dist_version_id = "9", .dist_version_code_name = "code",
		.dist_pretty_name = "Pretty Linux 9",
		.dist_cpe = "cpe:/o:vendor:linux:9", .repo_name = "PyPI",
		.repo_uri = "https://pypi.org/simple",
		.version_scheme = "pep440",
		.fixed_in_version = "introduced=0&fixed=2.3.4",
		.affected = affected,
	};
	struct clr_vuln empty = { .name = "", .updater = "osv/pypi" };
	int64_t before = counter(s);

	clr_vuln_set_init(&in);
	clr_vuln_set_init(&out);
	clr_vuln_set_init(&cur.set);
	clr_vuln_set_add(&in, &full);
	clr_vuln_set_add(&in, &empty);
	/* Every severity, and the odd text in every field. */
	for (int sev = CLR_SEV_UNKNOWN; sev <= CLR_SEV_CRITICAL; sev++) {
		struct clr_vuln v = full;
		char name[256];

		snprintf(name, sizeof(name), "SEV-%d %s", sev, odd_text);
		v.name = name;
		v.normalized_severity = (enum clr_severity)sev;
#define ODD(fld)                                                           \
		if (strcmp(#fld, "name") && strcmp(#fld, "updater"))       \
			v.fld = odd_text;
		CLR_STORE_VULN_STRINGS(ODD)
#undef ODD
		clr_vuln_set_add(&in, &v);
	}

	put_vulns_ok(s, "osv/pypi", "\"etag-1\"", &in, &op);
	assert_uuid_v4(op.ref);
	assert_string_equal(op.updater, "osv/pypi");
	assert_string_equal(op.fingerprint, "\"etag-1\"");
	assert_rfc3339(op.date);
	assert_string_equal(op.kind, "vulnerability");
	assert_true(op.id > 0);
	assert_int_equal(op.count, 8);
	assert_true(counter(s) > before);

	assert_int_equal(clr_store_update_latest(s, "osv/pypi", &got), 0);
	assert_op_equal(&op, &got);
	clr_update_op_release(&got);
	assert_int_equal(clr_store_update_get(s, op.ref, &got), 0);
	assert_op_equal(&op, &got);
	clr_update_op_release(&got);
	assert_int_equal(clr_store_update_list(s, "osv/pypi", &ops), 0);
	assert_int_equal(clr_store_update_list(s, NULL, &ops), 0);
	assert_int_equal(ops.len, 2);
	assert_op_equal(&op, CLR_VEC_AT(&ops, struct clr_update_op, 0));
	assert_op_equal(&op, CLR_VEC_AT(&ops, struct clr_update_op, 1));
	clr_update_ops_release(&ops);

	assert_int_equal(clr_store_update_vulns(s, op.ref, &out), 0);
	assert_int_equal(out.vulns.len, in.vulns.len);
	clr_vec_sort(&in.vulns, by_name);
	clr_vec_sort(&out.vulns, by_name);
	for (size_t i = 0; i < in.vulns.len; i++)
		assert_vuln_equal(vuln_at(&in, i), vuln_at(&out, i));

	/* Closed and reopened, the matcher's stream says the same. */
	clr_store_close(s);
	s = open_ok(f);
	assert_int_equal(clr_store_vulns_current(s, collect_each, &cur), 0);
	clr_vec_sort(&cur.set.vulns, by_name);
	assert_int_equal(cur.set.vulns.len, in.vulns.len);
	for (size_t i = 0; i < in.vulns.len; i++)
		assert_vuln_equal(vuln_at(&in, i), vuln_at(&cur.set, i));

	/* Unknown refs and updaters. */
	assert_int_equal(clr_store_update_get(s, "no-such-ref", &got),
			 CLR_ENOTFOUND);
	assert_true(contains(clr_error_msg(), "no-such-ref"));
	assert_int_equal(clr_store_update_vulns(s, "no-such-ref", &out),
			 CLR_ENOTFOUND);
	assert_int_equal(out.vulns.len, in.vulns.len); /* as it was */
	assert_int_equal(clr_store_update_latest(s, "debian", &got),
			 CLR_ENOTFOUND);
	assert_int_equal(clr_store_update_list(s, "debian", &ops), 0);
	assert_int_equal(ops.len, 0);
	clr_update_ops_release(&ops);

	clr_update_op_release(&op);
	clr_vuln_set_release(&in);
	clr_vuln_set_release(&out);
	clr_vuln_set_release(&cur.set);
	clr_store_close(s);
}

/* Records are stored once however many operations link them; a record
 * given twice in one set is linked once. */
static void test_vulns_dedup(void **state)
{
	struct db_fx *f = *state;
	struct clr_store *s = open_ok(f);
	struct clr_vuln_set a, b, other;
	struct clr_update_op op1, op2, op3;

	clr_vuln_set_init(&a);
	clr_vuln_set_init(&b);
	clr_vuln_set_init(&other);
	add_vuln(&a, "debian", "CVE-A", "1");
	add_vuln(&a, "debian", "CVE-B", "1");
	add_vuln(&a, "debian", "CVE-C", "1");
	add_vuln(&a, "debian", "CVE-C", "1"); /* the same content again */
	add_vuln(&b, "debian", "CVE-B", "1");
	add_vuln(&b, "debian", "CVE-C", "1");
	add_vuln(&b, "debian", "CVE-D", "1");
	/* Same content but another updater: another record. */
	add_vuln(&other, "ubuntu/jammy", "CVE-A", "1");

	put_vulns_ok(s, "debian", "fp1", &a, &op1);
	assert_int_equal(op1.count, 3);
	put_vulns_ok(s, "debian", "fp2", &b, &op2);
	assert_int_equal(op2.count, 3);
	assert_true(op2.id > op1.id);
	put_vulns_ok(s, "ubuntu/jammy", "fp", &other, &op3);
	assert_true(op3.id > op2.id);

	assert_int_equal(raw_long(f, "SELECT count(*) FROM vuln"), 5);
	assert_int_equal(raw_long(f, "SELECT count(DISTINCT hash) FROM vuln"),
			 5);
	assert_int_equal(raw_long(f, "SELECT count(*) FROM uo_vuln"), 7);
	assert_int_equal(raw_long(f, "SELECT count(*) FROM update_operation"),
			 3);

	clr_update_op_release(&op1);
	clr_update_op_release(&op2);
	clr_update_op_release(&op3);
	clr_vuln_set_release(&a);
	clr_vuln_set_release(&b);
	clr_vuln_set_release(&other);
	clr_store_close(s);
}

/* What the notifier is told: exactly what was added and removed. */
static void test_vulns_diff(void **state)
{
	struct db_fx *f = *state;
	struct clr_store *s = open_ok(f);
	struct clr_vuln_set a, b, u, added, removed;
	struct clr_update_op op1, op2, opu;

	clr_vuln_set_init(&a);
	clr_vuln_set_init(&b);
	clr_vuln_set_init(&u);
	clr_vuln_set_init(&added);
	clr_vuln_set_init(&removed);
	add_vuln(&a, "debian", "CVE-A", "1");
	add_vuln(&a, "debian", "CVE-B", "1");
	add_vuln(&a, "debian", "CVE-C", "1");
	add_vuln(&b, "debian", "CVE-B", "1");
	add_vuln(&b, "debian", "CVE-C", "2"); /* fixed now: a new record */
	add_vuln(&b, "debian", "CVE-D", "1");
	add_vuln(&u, "alpine-main-v3.19", "CVE-A", "1");
	put_vulns_ok(s, "debian", "fp1", &a, &op1);
	put_vulns_ok(s, "debian", "fp2", &b, &op2);
	put_vulns_ok(s, "alpine-main-v3.19", "fp", &u, &opu);

	assert_int_equal(clr_store_update_diff(s, op1.ref, op2.ref, &added,
					       &removed), 0);
	assert_names(&added, "CVE-C=2 CVE-D=1");
	assert_names(&removed, "CVE-A=1 CVE-C=1");
	/* Field by field, not just names. */
	clr_vec_sort(&b.vulns, by_name);
	assert_vuln_equal(vuln_at(&b, 1), vuln_at(&added, 0));
	clr_vuln_set_release(&added);
	clr_vuln_set_release(&removed);
	clr_vuln_set_init(&added);
	clr_vuln_set_init(&removed);

	/* Backwards, the other way round. */
	assert_int_equal(clr_store_update_diff(s, op2.ref, op1.ref, &added,
					       &removed), 0);
	assert_names(&added, "CVE-A=1 CVE-C=1");
	assert_names(&removed, "CVE-C=2 CVE-D=1");
	clr_vuln_set_release(&added);
	clr_vuln_set_release(&removed);
	clr_vuln_set_init(&added);
	clr_vuln_set_init(&removed);

	/* No previous operation: everything is added. */
	assert_int_equal(clr_store_update_diff(s, NULL, op2.ref, &added,
					       &removed), 0);
	assert_names(&added, "CVE-B=1 CVE-C=2 CVE-D=1");
	assert_int_equal(removed.vulns.len, 0);
	/* An operation against itself: nothing. */
	assert_int_equal(clr_store_update_diff(s, op2.ref, op2.ref, &added,
					       &removed), 0);
	assert_int_equal(added.vulns.len, 3);
	assert_int_equal(removed.vulns.len, 0);

	/* Two updaters, or an unknown ref: refused, sets untouched. */
	assert_int_equal(clr_store_update_diff(s, op1.ref, opu.ref, &added,
					       &removed), CLR_EINVALID);
	assert_true(contains(clr_error_msg(), "alpine-main-v3.19"));
	assert_int_equal(clr_store_update_diff(s, "nope", op2.ref, &added,
					       &removed), CLR_ENOTFOUND);
	assert_int_equal(clr_store_update_diff(s, op1.ref, "nope", &added,
					       &removed), CLR_ENOTFOUND);
	assert_int_equal(added.vulns.len, 3);
	assert_int_equal(removed.vulns.len, 0);

	clr_update_op_release(&op1);
	clr_update_op_release(&op2);
	clr_update_op_release(&opu);
	clr_vuln_set_release(&a);
	clr_vuln_set_release(&b);
	clr_vuln_set_release(&u);
	clr_vuln_set_release(&added);
	clr_vuln_set_release(&removed);
	clr_store_close(s);
}

/* GC keeps the newest N of each updater, deletes the records only the
 * deleted operations linked, keeps those a kept operation still links. */
static void test_vulns_gc(void **state)
{
	struct db_fx *f = *state;
	struct clr_store *s = open_ok(f);
	struct clr_update_op ops[4], alp[2], got;
	struct clr_vuln_set set, out;
	struct clr_vec list = CLR_VEC_INIT(struct clr_update_op);
	size_t deleted = 99;
	int64_t c0;
	char fix[16];

	/* debian: 4 operations; CVE-KEEP in all, CVE-N=i in operation i. */
	for (int i = 0; i < 4; i++) {
		clr_vuln_set_init(&set);
		snprintf(fix, sizeof(fix), "%d", i);
		add_vuln(&set, "debian", "CVE-KEEP", "1");
		add_vuln(&set, "debian", "CVE-N", fix);
		put_vulns_ok(s, "debian", "fp", &set, &ops[i]);
		clr_vuln_set_release(&set);
	}
	/* alpine: 2 operations, fewer than kept. */
	for (int i = 0; i < 2; i++) {
		clr_vuln_set_init(&set);
		snprintf(fix, sizeof(fix), "%d", i);
		add_vuln(&set, "alpine", "CVE-ALP", fix);
		put_vulns_ok(s, "alpine", "fp", &set, &alp[i]);
		clr_vuln_set_release(&set);
	}
	assert_int_equal(raw_long(f, "SELECT count(*) FROM vuln"), 7);

	assert_int_equal(clr_store_update_gc(s, 0, &deleted), CLR_EINVALID);
	assert_int_equal(deleted, 0);
	c0 = counter(s);
	assert_int_equal(clr_store_update_gc(s, 2, &deleted), 0);
	assert_int_equal(deleted, 2);
	assert_true(counter(s) > c0);

	assert_int_equal(clr_store_update_list(s, "debian", &list), 0);
	assert_int_equal(list.len, 2);
	assert_string_equal(CLR_VEC_AT(&list, struct clr_update_op, 0)->ref,
			    ops[3].ref);
	assert_string_equal(CLR_VEC_AT(&list, struct clr_update_op, 1)->ref,
			    ops[2].ref);
	clr_update_ops_release(&list);
	assert_int_equal(clr_store_update_list(s, "alpine", &list), 0);
	assert_int_equal(list.len, 2);
	clr_update_ops_release(&list);
	assert_int_equal(clr_store_update_get(s, ops[0].ref, &got),
			 CLR_ENOTFOUND);
	assert_int_equal(clr_store_update_get(s, ops[1].ref, &got),
			 CLR_ENOTFOUND);

	/* CVE-N=0 and CVE-N=1 went with their operations; the shared
	 * CVE-KEEP stayed, and so did everything kept operations link. */
	assert_int_equal(raw_long(f, "SELECT count(*) FROM vuln"), 5);
	assert_int_equal(raw_long(f, "SELECT count(*) FROM vuln WHERE "
				  "name = 'CVE-KEEP'"), 1);
	assert_int_equal(raw_long(f, "SELECT count(*) FROM uo_vuln"), 6);
	assert_int_equal(raw_long(f, "SELECT count(*) FROM vuln v WHERE NOT "
				  "EXISTS (SELECT 1 FROM uo_vuln l WHERE "
				  "l.vuln_id = v.id)"), 0);
	clr_vuln_set_init(&out);
	assert_int_equal(clr_store_update_vulns(s, ops[2].ref, &out), 0);
	assert_names(&out, "CVE-KEEP=1 CVE-N=2");
	clr_vuln_set_release(&out);

	/* Nothing more to do: no change, and the counter says so. */
	c0 = counter(s);
	assert_int_equal(clr_store_update_gc(s, 2, NULL), 0);
	assert_int_equal(clr_store_update_gc(s, 10, &deleted), 0);
	assert_int_equal(deleted, 0);
	assert_int_equal(counter(s), c0);

	/* Keep 1: the newest of each remains, and only its records. */
	assert_int_equal(clr_store_update_gc(s, 1, &deleted), 0);
	assert_int_equal(deleted, 2);
	assert_int_equal(raw_long(f, "SELECT count(*) FROM vuln"), 3);
	assert_int_equal(raw_long(f, "SELECT count(*) FROM update_operation"),
			 2);

	for (int i = 0; i < 4; i++)
		clr_update_op_release(&ops[i]);
	clr_update_op_release(&alp[0]);
	clr_update_op_release(&alp[1]);
	clr_store_close(s);
}

/* The matcher's load: the newest operation of every updater, only. */
static void test_vulns_current(void **state)
{
	struct db_fx *f = *state;
	struct clr_store *s = open_ok(f);
	struct collect c = { .stop_at = 0 };
	struct clr_vuln_set set;

	clr_vuln_set_init(&c.set);
	assert_int_equal(clr_store_vulns_current(s, collect_each, &c), 0);
	assert_int_equal(c.calls, 0);

	clr_vuln_set_init(&set);
	add_vuln(&set, "debian", "CVE-A", "1");
	add_vuln(&set, "debian", "CVE-B", "1");
	put_vulns_ok(s, "debian", "fp1", &set, NULL);
	clr_vuln_set_release(&set);
	clr_vuln_set_init(&set);
	add_vuln(&set, "debian", "CVE-B", "1");
	add_vuln(&set, "debian", "CVE-C", "1");
	put_vulns_ok(s, "debian", "fp2", &set, NULL);
	clr_vuln_set_release(&set);
	clr_vuln_set_init(&set);
	add_vuln(&set, "ubuntu/noble", "CVE-X", "1");
	put_vulns_ok(s, "ubuntu/noble", "fp", &set, NULL);
	clr_vuln_set_release(&set);
	/* An updater whose feed now lists nothing contributes nothing. */
	clr_vuln_set_init(&set);
	add_vuln(&set, "photon", "CVE-P", "1");
	put_vulns_ok(s, "photon", "fp1", &set, NULL);
	clr_vuln_set_release(&set);
	clr_vuln_set_init(&set);
	put_vulns_ok(s, "photon", "fp2", &set, NULL);
	clr_vuln_set_release(&set);

	assert_int_equal(clr_store_vulns_current(s, collect_each, &c), 0);
	assert_names(&c.set, "CVE-B=1 CVE-C=1 CVE-X=1");
	clr_vuln_set_release(&c.set);

	/* each() stops it, and what it returned is returned. */
	clr_vuln_set_init(&c.set);
	c.calls = 0;
	c.stop_at = 2;
	assert_int_equal(clr_store_vulns_current(s, collect_each, &c), 7);
	assert_int_equal(c.calls, 2);
	clr_vuln_set_release(&c.set);
	/* The handle is fine afterwards. */
	assert_true(counter(s) > 0);
	clr_vuln_set_init(&c.set);
	c.calls = 0;
	c.stop_at = 0;
	assert_int_equal(clr_store_vulns_current(s, collect_each, &c), 0);
	assert_int_equal(c.calls, 3);
	clr_vuln_set_release(&c.set);
	clr_store_close(s);
}

/* Replicas poll the counter: it moves with every put and with every GC
 * that deletes, and with nothing else. */
static void test_vulns_counter(void **state)
{
	struct db_fx *f = *state;
	struct clr_store *s = open_ok(f), *other = open_ok(f);
	struct clr_vuln_set set;
	int64_t c0 = counter(s), c1, c2, c3;

	clr_vuln_set_init(&set);
	add_vuln(&set, "debian", "CVE-A", "1");
	put_vulns_ok(s, "debian", "fp", &set, NULL);
	c1 = counter(other);
	assert_true(c1 > c0);
	put_vulns_ok(s, "debian", "fp", &set, NULL); /* same data, new op */
	c2 = counter(other);
	assert_true(c2 > c1);
	assert_int_equal(clr_store_status_put(s, "debian", NULL), 0);
	assert_int_equal(clr_store_update_gc(s, 5, NULL), 0);
	assert_int_equal(counter(other), c2);
	assert_int_equal(clr_store_update_gc(s, 1, NULL), 0);
	c3 = counter(other);
	assert_true(c3 > c2);
	clr_vuln_set_release(&set);
	clr_store_close(other);
	clr_store_close(s);
}

/* The checks a put makes before anything is written. */
static void test_vulns_put_checks(void **state)
{
	struct db_fx *f = *state;
	struct clr_store *s = open_ok(f);
	struct clr_vuln_set set;
	struct clr_update_op op;

	clr_vuln_set_init(&set);
	add_vuln(&set, "debian", "CVE-A", "1");
	add_vuln(&set, "alpine", "CVE-B", "1");
	assert_int_equal(clr_store_update_put(s, "debian", "fp", &set, &op),
			 CLR_EINVALID);
	assert_true(contains(clr_error_msg(), "CVE-B"));
	assert_true(contains(clr_error_msg(), "alpine"));
	assert_null(op.ref);
	clr_vuln_set_release(&set);

	clr_vuln_set_init(&set);
	add_vuln(&set, "debian", "CVE-A", "1");
	vuln_at(&set, 0)->normalized_severity = (enum clr_severity)9;
	assert_int_equal(clr_store_update_put(s, "debian", "fp", &set, NULL),
			 CLR_EINVALID);
	assert_true(contains(clr_error_msg(), "severity"));
	vuln_at(&set, 0)->normalized_severity = CLR_SEV_HIGH;
	assert_int_equal(clr_store_update_put(s, "", "fp", &set, NULL),
			 CLR_EINVALID);
	assert_int_equal(clr_store_update_latest(s, "debian", &op),
			 CLR_ENOTFOUND);
	assert_int_equal(raw_long(f, "SELECT count(*) FROM vuln"), 0);

	/* An empty set is a set; a NULL fingerprint is "". */
	clr_vuln_set_release(&set);
	clr_vuln_set_init(&set);
	assert_int_equal(clr_store_update_put(s, "debian", NULL, &set, &op), 0);
	assert_int_equal(op.count, 0);
	assert_string_equal(op.fingerprint, "");
	clr_update_op_release(&op);
	clr_vuln_set_release(&set);
	clr_store_close(s);
}

static struct clr_updater_status *status_at(struct clr_vec *v, size_t i)
{
	return CLR_VEC_AT(v, struct clr_updater_status, i);
}

static void test_updater_status(void **state)
{
	struct db_fx *f = *state;
	struct clr_store *s = open_ok(f);
	struct clr_vec v = CLR_VEC_INIT(struct clr_updater_status);
	struct clr_vuln_set set;
	char success[32], attempt[32];

	assert_int_equal(clr_store_status_list(s, &v), 0);
	assert_int_equal(v.len, 0);

	clr_vuln_set_init(&set);
	add_vuln(&set, "debian", "CVE-A", "1");
	add_vuln(&set, "debian", "CVE-B", "1");
	put_vulns_ok(s, "debian", "fp", &set, NULL);
	clr_vuln_set_release(&set);
	assert_int_equal(clr_store_status_put(s, "debian", NULL), 0);
	assert_int_equal(clr_store_status_put(s, "Zeta", "first error"), 0);
	assert_int_equal(clr_store_status_list(s, &v), 0);
	assert_int_equal(v.len, 2);
	/* By name, in byte order: "Zeta" < "debian". */
	assert_string_equal(status_at(&v, 0)->updater, "Zeta");
	assert_string_equal(status_at(&v, 0)->last_error, "first error");
	assert_string_equal(status_at(&v, 0)->last_success, "");
	assert_rfc3339(status_at(&v, 0)->last_attempt);
	assert_int_equal(status_at(&v, 0)->count, 0);
	assert_string_equal(status_at(&v, 1)->updater, "debian");
	assert_string_equal(status_at(&v, 1)->last_error, "");
	assert_rfc3339(status_at(&v, 1)->last_success);
	assert_string_equal(status_at(&v, 1)->last_success,
			    status_at(&v, 1)->last_attempt);
	assert_int_equal(status_at(&v, 1)->count, 2);
	snprintf(success, sizeof(success), "%s",
		 status_at(&v, 1)->last_success);
	clr_updater_status_release(&v);

	/* A failure: the error and the attempt change, the success and the
	 * data stay. */
	usleep(20 * 1000);
	assert_int_equal(clr_store_status_put(s, "debian", "fetch: timed out"),
			 0);
	assert_int_equal(clr_store_status_list(s, &v), 0);
	assert_string_equal(status_at(&v, 1)->last_error, "fetch: timed out");
	assert_string_equal(status_at(&v, 1)->last_success, success);
	assert_true(strcmp(status_at(&v, 1)->last_attempt, success) > 0);
	assert_int_equal(status_at(&v, 1)->count, 2);
	snprintf(attempt, sizeof(attempt), "%s",
		 status_at(&v, 1)->last_attempt);
	clr_updater_status_release(&v);

	/* An empty message still reads as a failure. */
	assert_int_equal(clr_store_status_put(s, "debian", ""), 0);
	assert_int_equal(clr_store_status_list(s, &v), 0);
	assert_string_equal(status_at(&v, 1)->last_error, "(no message)");
	clr_updater_status_release(&v);

	/* Success again clears the error. */
	usleep(20 * 1000);
	assert_int_equal(clr_store_status_put(s, "debian", NULL), 0);
	assert_int_equal(clr_store_status_list(s, &v), 0);
	assert_string_equal(status_at(&v, 1)->last_error, "");
	assert_true(strcmp(status_at(&v, 1)->last_success, attempt) > 0);
	clr_updater_status_release(&v);
	clr_store_close(s);
}

static void test_updater_trylock(void **state)
{
	struct db_fx *f = *state;
	struct clr_store *a = open_ok(f), *b = open_ok(f);
	struct clr_store_lock *la = NULL, *lb = NULL, *lm = NULL;

	assert_int_equal(clr_store_updater_trylock(a, "debian", &la), 0);
	assert_non_null(la);
	assert_int_equal(clr_store_updater_trylock(b, "debian", &lb),
			 CLR_EEXISTS);
	assert_null(lb);
	assert_true(contains(clr_error_msg(), "debian"));
	assert_int_equal(clr_store_updater_trylock(a, "debian", &lb),
			 CLR_EEXISTS);
	assert_true(contains(clr_error_msg(), "already locked by this handle"));
	/* Another updater, and a manifest lock of the same name, are
	 * separate locks. */
	assert_int_equal(clr_store_updater_trylock(b, "alpine", &lb), 0);
	assert_int_equal(clr_store_updater_unlock(lb), 0);
	assert_int_equal(clr_store_trylock_manifest(b, "debian", &lm), 0);
	assert_int_equal(clr_store_unlock_manifest(lm), 0);

	/* Released on unlock... */
	assert_int_equal(clr_store_updater_unlock(la), 0);
	assert_int_equal(clr_store_updater_trylock(b, "debian", &lb), 0);
	assert_int_equal(clr_store_updater_trylock(a, "debian", &la),
			 CLR_EEXISTS);
	assert_int_equal(clr_store_updater_unlock(lb), 0);
	assert_int_equal(clr_store_updater_unlock(NULL), 0);

	/* ...and on close. */
	assert_int_equal(clr_store_updater_trylock(a, "debian", &la), 0);
	clr_store_close(a);
	assert_int_equal(clr_store_updater_trylock(b, "debian", &lb), 0);
	assert_int_equal(clr_store_updater_unlock(lb), 0);
	clr_store_close(b);
}

/* The child of the crash test: opens its own handle, says so, and puts a
 * big set until it is killed. */
static int big_put_child(const struct db_fx *f, int fd, size_t n)
{
	struct clr_store *s = NULL;
	struct clr_vuln_set set;
	int err;

	clr_vuln_set_init(&set);
	make_set(&set, "debian", n, 2);
	CHILD_CHECK(clr_store_open(&s, f->location) == 0);
	CHILD_CHECK(write(fd, "S", 1) == 1);
	err = clr_store_update_put(s, "debian", "fp-big", &set, NULL);
	CHILD_CHECK(write(fd, "D", 1) == 1);
	CHILD_CHECK(err == 0);
	return 0;
}

/* Whether the child's put is writing its records: SQLite's WAL has grown
 * past what anything but the put writes; PostgreSQL runs its COPY. */
static bool put_under_way(const struct db_fx *f, PGconn *watch)
{
	char wal[160], sql[256];
	struct stat st;

	if (!f->pg) {
		snprintf(wal, sizeof(wal), "%s-wal", f->path);
		return !stat(wal, &st) && st.st_size > (8 << 20);
	}
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM pg_stat_activity "
		 "WHERE application_name = '%s' AND state = 'active' AND "
		 "query LIKE 'COPY vuln %%'", f->app);
	{
		PGresult *r = PQexec(watch, sql);
		bool yes = PQresultStatus(r) == PGRES_TUPLES_OK &&
			   atoi(PQgetvalue(r, 0, 0)) > 0;

		PQclear(r);
		return yes;
	}
}

/* kill -9 in the middle of a put: the previous operation is still the
 * current one, whole, and nothing of the killed put is visible. */
static void test_vulns_crash_mid_put(void **state)
{
	struct db_fx *f = *state;
	struct clr_store *s = open_ok(f);
	struct clr_vuln_set small, got;
	struct clr_update_op op, latest;
	struct clr_vec ops = CLR_VEC_INIT(struct clr_update_op);
	PGconn *watch = NULL;
	int fds[2], status;
	int64_t c0;
	long waited = 0;
	char c = 0;
	pid_t pid;

	clr_vuln_set_init(&small);
	make_set(&small, "debian", 1000, 1);
	put_vulns_ok(s, "debian", "fp-small", &small, &op);
	c0 = counter(s);
	clr_store_close(s);

	assert_int_equal(pipe(fds), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		_exit(big_put_child(f, fds[1], 300000));
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], &c, 1), 1);
	assert_int_equal(c, 'S');
	if (f->pg)
		watch = raw_pg(pg_base());
	/* Kill it once it is writing, not before it began nor after. */
	while (!put_under_way(f, watch) && waited < 120000) {
		usleep(2000);
		waited += 2;
		assert_int_equal(waitpid(pid, &status, WNOHANG), 0);
	}
	if (watch)
		PQfinish(watch);
	assert_true(waited < 120000);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	/* The child never got to say it was done. */
	assert_int_equal(read(fds[0], &c, 1), 0);
	close(fds[0]);

	s = open_ok(f);
	assert_int_equal(clr_store_update_latest(s, "debian", &latest), 0);
	assert_op_equal(&op, &latest);
	clr_update_op_release(&latest);
	assert_int_equal(clr_store_update_list(s, NULL, &ops), 0);
	assert_int_equal(ops.len, 1);
	clr_update_ops_release(&ops);
	clr_vuln_set_init(&got);
	assert_int_equal(clr_store_update_vulns(s, op.ref, &got), 0);
	assert_int_equal(got.vulns.len, 1000);
	clr_vec_sort(&small.vulns, by_name);
	clr_vec_sort(&got.vulns, by_name);
	for (size_t i = 0; i < 1000; i++)
		assert_vuln_equal(vuln_at(&small, i), vuln_at(&got, i));
	clr_vuln_set_release(&got);
	assert_int_equal(counter(s), c0);
	assert_int_equal(raw_long(f, "SELECT count(*) FROM vuln"), 1000);
	assert_int_equal(raw_long(f, "SELECT count(*) FROM uo_vuln"), 1000);

	/* And the database takes the next put. */
	put_vulns_ok(s, "debian", "fp-next", &small, &latest);
	assert_int_equal(latest.count, 1000);
	clr_update_op_release(&latest);
	clr_update_op_release(&op);
	clr_vuln_set_release(&small);
	clr_store_close(s);
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) +
	       (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* A feed's size: 200k records in reasonable time, then the next run's
 * (a tenth changed) in less, and all of it readable back. */
static void test_vulns_big_put(void **state)
{
	struct db_fx *f = *state;
	struct clr_store *s = open_ok(f);
	struct clr_vuln_set one, two, added, removed;
	struct clr_update_op op1, op2;
	struct collect c = { .stop_at = 0 };
	struct timespec t0;
	double first, second;

	clr_vuln_set_init(&one);
	clr_vuln_set_init(&two);
	make_set(&one, "debian", 200000, 1);
	make_set(&two, "debian", 200000, 2);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	put_vulns_ok(s, "debian", "fp1", &one, &op1);
	first = seconds_since(&t0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	put_vulns_ok(s, "debian", "fp2", &two, &op2);
	second = seconds_since(&t0);
	printf("# %s: 200000 records: first put %.2f s (%.0f/s), next "
	       "%.2f s (%.0f/s)\n", f->pg ? "postgres" : "sqlite", first,
	       200000 / first, second, 200000 / second);
	/* Generous: sanitizers and a busy machine; the figures that matter
	 * are printed above and measured by the benchmark. */
	assert_true(first < 120);
	assert_true(second < 120);
	assert_int_equal(op1.count, 200000);
	assert_int_equal(op2.count, 200000);
	assert_int_equal(raw_long(f, "SELECT count(*) FROM vuln"), 220000);

	clr_vuln_set_init(&added);
	clr_vuln_set_init(&removed);
	assert_int_equal(clr_store_update_diff(s, op1.ref, op2.ref, &added,
					       &removed), 0);
	assert_int_equal(added.vulns.len, 20000);
	assert_int_equal(removed.vulns.len, 20000);
	clr_vuln_set_init(&c.set);
	assert_int_equal(clr_store_vulns_current(s, collect_each, &c), 0);
	assert_int_equal(c.calls, 200000);
	clr_vec_sort(&c.set.vulns, by_name);
	clr_vec_sort(&two.vulns, by_name);
	for (size_t i = 0; i < 200000; i += 997)
		assert_vuln_equal(vuln_at(&two, i), vuln_at(&c.set, i));

	clr_vuln_set_release(&c.set);
	clr_vuln_set_release(&added);
	clr_vuln_set_release(&removed);
	clr_update_op_release(&op1);
	clr_update_op_release(&op2);
	clr_vuln_set_release(&one);
	clr_vuln_set_release(&two);
	clr_store_close(s);
}

/* --- SQLite only ----------------------------------------------------------- */

static void plant_lock(const struct db_fx *f, const char *owner, long expires)
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
	struct db_fx *f = *state;
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

/* Runs fn in a child process and fails unless it returns 0: for checks
 * that change the process itself (its uid, its file size limit). */
static void in_child(int (*fn)(const struct db_fx *), const struct db_fx *f)
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
static int read_only_child(const struct db_fx *f)
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

static void make_writable(const struct db_fx *f)
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
	struct db_fx *f = *state;
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
static int disk_full_child(const struct db_fx *f)
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
	struct db_fx *f = *state;
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
	struct db_fx *f = *state;
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
	struct db_fx *f = *state;
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
	struct db_fx *f = *state;
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
static void kill_sessions(const struct db_fx *f)
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
	struct db_fx *f = *state;
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

/* The update calls reconnect as the others do: a put runs again on the
 * new connection (once, and only if the lost one did not commit it), the
 * matcher's stream starts over when nothing was delivered yet, and an
 * updater lock dies with its connection. */
static void test_pg_update_reconnects(void **state)
{
	struct db_fx *f = *state;
	struct clr_store *s = open_ok(f), *other = open_ok(f);
	struct clr_store_lock *l = NULL, *l2 = NULL;
	struct collect c = { .stop_at = 0 };
	struct clr_vuln_set set;
	struct clr_update_op op;
	struct clr_vec ops = CLR_VEC_INIT(struct clr_update_op);

	clr_vuln_set_init(&set);
	make_set(&set, "debian", 100, 1);
	kill_sessions(f);
	put_vulns_ok(s, "debian", "fp", &set, &op);
	assert_int_equal(op.count, 100);
	assert_int_equal(clr_store_update_list(other, "debian", &ops), 0);
	assert_int_equal(ops.len, 1);
	clr_update_ops_release(&ops);
	clr_update_op_release(&op);

	kill_sessions(f);
	clr_vuln_set_init(&c.set);
	assert_int_equal(clr_store_vulns_current(s, collect_each, &c), 0);
	assert_int_equal(c.calls, 100);
	clr_vuln_set_release(&c.set);

	assert_int_equal(clr_store_updater_trylock(s, "debian", &l), 0);
	assert_int_equal(clr_store_updater_trylock(other, "debian", &l2),
			 CLR_EEXISTS);
	kill_sessions(f);
	assert_int_equal(clr_store_update_latest(s, "debian", &op), 0);
	clr_update_op_release(&op);
	assert_int_equal(clr_store_updater_trylock(other, "debian", &l2), 0);
	assert_int_equal(clr_store_updater_unlock(l), 0);
	assert_int_equal(clr_store_updater_unlock(l2), 0);
	clr_vuln_set_release(&set);
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
					teardown),                           \
	cmocka_unit_test_setup_teardown(test_vulns_migration_2, setup,       \
					teardown),                           \
	cmocka_unit_test_setup_teardown(test_vulns_round_trip, setup,        \
					teardown),                           \
	cmocka_unit_test_setup_teardown(test_vulns_dedup, setup, teardown),  \
	cmocka_unit_test_setup_teardown(test_vulns_diff, setup, teardown),   \
	cmocka_unit_test_setup_teardown(test_vulns_gc, setup, teardown),     \
	cmocka_unit_test_setup_teardown(test_vulns_current, setup,           \
					teardown),                           \
	cmocka_unit_test_setup_teardown(test_vulns_counter, setup,           \
					teardown),                           \
	cmocka_unit_test_setup_teardown(test_vulns_put_checks, setup,        \
					teardown),                           \
	cmocka_unit_test_setup_teardown(test_updater_status, setup,          \
					teardown),                           \
	cmocka_unit_test_setup_teardown(test_updater_trylock, setup,         \
					teardown),                           \
	cmocka_unit_test_setup_teardown(test_vulns_crash_mid_put, setup,     \
					teardown),                           \
	cmocka_unit_test_setup_teardown(test_vulns_big_put, setup, teardown)

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
		cmocka_unit_test_setup_teardown(test_pg_update_reconnects,
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
