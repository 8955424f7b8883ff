/*
 * store_fixture.h - a fresh database per test, for the unit tests that run
 * one suite on SQLite and again on PostgreSQL (test_store.c,
 * test_notifier.c, test_manager.c), and raw sqlite3 / libpq access to it
 * for what the store does not expose.
 *
 * SQLite: a file in a new temp directory.  PostgreSQL (CLARION_TEST_PG): a
 * new schema on that server, chosen through search_path in the URL the
 * store gets, with application_name the schema's name so that a test can
 * find its own sessions in pg_stat_activity.
 *
 * Header-only like unit.h (the Makefile builds each test_*.c alone); the
 * functions are static inline so that a test which uses only some of them
 * builds without unused-function warnings.
 */
#ifndef CLR_TESTS_STORE_FIXTURE_H
#define CLR_TESTS_STORE_FIXTURE_H

#include "unit.h"

#include <ftw.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/alloc.h"

/* One test's database. */
struct db_fx {
	bool pg;
	char dir[64];     /* SQLite: the temp directory holding the file */
	char path[128];   /* SQLite: the database file */
	char app[64];     /* PostgreSQL: application_name, to find our sessions */
	char schema[64];  /* PostgreSQL: this test's schema */
	char *location;   /* what clr_store_open gets */
};

/* The test server's URL, or NULL when there is none. */
static inline const char *pg_base(void)
{
	const char *u = getenv("CLARION_TEST_PG");

	return u && *u ? u : NULL;
}

/* A notice processor that drops notices: DROP SCHEMA ... CASCADE lists
 * everything it drops. */
static inline void quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

static inline PGconn *raw_pg(const char *url)
{
	PGconn *c = PQconnectdb(url);

	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("raw connect to %s: %s", url, PQerrorMessage(c));
	PQsetNoticeProcessor(c, quiet, NULL);
	return c;
}

/* Runs one statement on the test server, outside the store (in a setup,
 * where fail_msg cannot be used): 0, or -1 with the error on stderr. */
static inline int pg_exec(const char *sql)
{
	PGconn *c = PQconnectdb(pg_base());
	PGresult *r;
	int ok;

	PQsetNoticeProcessor(c, quiet, NULL);
	r = PQexec(c, sql);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok)
		fprintf(stderr, "%s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	return ok ? 0 : -1;
}

/*
 * Runs sql on the test's database beside the store; the first column of
 * the first row as text in out (if out).  Without out, sql may be several
 * statements (sqlite3_exec, PQexec).
 */
static inline void raw(const struct db_fx *f, const char *sql, char *out,
		       size_t size)
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
		char *msg = NULL;
		sqlite3_stmt *st;
		int rc;

		assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
		sqlite3_busy_timeout(db, 5000);
		if (!out) {
			if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
				fail_msg("%s: %s", sql, msg);
			sqlite3_close(db);
			return;
		}
		if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
			fail_msg("%s: %s", sql, sqlite3_errmsg(db));
		rc = sqlite3_step(st);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			fail_msg("%s: %s", sql, sqlite3_errmsg(db));
		if (rc == SQLITE_ROW)
			snprintf(out, size, "%s",
				 (const char *)sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
		sqlite3_close(db);
	}
}

static inline long raw_long(const struct db_fx *f, const char *sql)
{
	char v[64];

	raw(f, sql, v, sizeof(v));
	return atol(v);
}

static inline int rm_entry(const char *path, const struct stat *sb, int flag,
			   struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Removes a test's temp directory and all below it. */
static inline void rm_tree(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* setup for the SQLite round: /tmp/clarion-NAME.XXXXXX/clarion.db. */
static inline int db_fx_setup_sqlite(void **state, const char *name)
{
	struct db_fx *f = clr_calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/clarion-%s.XXXXXX", name);
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/clarion.db", f->dir);
	f->location = clr_strdup(f->path);
	*state = f;
	return 0;
}

/* setup for the PostgreSQL round: schema PREFIX<pid>_<n>. */
static inline int db_fx_setup_pg(void **state, const char *prefix)
{
	static int n;
	const char *base = pg_base();
	struct db_fx *f = clr_calloc(1, sizeof(*f));
	char sql[128];
	size_t len;

	f->pg = true;
	snprintf(f->schema, sizeof(f->schema), "%s%ld_%d", prefix,
		 (long)getpid(), ++n);
	snprintf(f->app, sizeof(f->app), "%s", f->schema);
	snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", f->schema);
	if (pg_exec(sql)) {
		free(f);
		return -1;
	}
	len = strlen(base) + 2 * sizeof(f->schema) + 64;
	f->location = clr_malloc(len);
	snprintf(f->location, len,
		 "%s%coptions=-csearch_path%%3D%s&application_name=%s", base,
		 strchr(base, '?') ? '&' : '?', f->schema, f->app);
	*state = f;
	return 0;
}

/* teardown for either round: the schema or the directory goes. */
static inline int db_fx_teardown(void **state)
{
	struct db_fx *f = *state;

	if (!f)
		return 0;
	if (f->pg) {
		char sql[128];

		snprintf(sql, sizeof(sql), "DROP SCHEMA %s CASCADE", f->schema);
		pg_exec(sql);
	} else {
		rm_tree(f->dir);
	}
	free(f->location);
	free(f);
	return 0;
}

#endif
