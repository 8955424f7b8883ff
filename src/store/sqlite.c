/*
 * sqlite.c - the embedded store: one SQLite file in WAL mode.
 *
 * This is the default, for `clarion scan` on a laptop or in CI and for a
 * single `clarion serve`.  WAL lets readers go on while one writer
 * commits; every write takes the write lock up front (BEGIN IMMEDIATE), so
 * two handles never deadlock upgrading a read to a write, and busy_timeout
 * makes a writer wait for another instead of failing.  synchronous=NORMAL
 * is safe in WAL mode (a power cut may lose the newest commits, never
 * corrupt the file), and what is stored here can be recomputed.
 *
 * Statements are prepared once per handle, on first use, from one table.
 *
 * SQLite has no advisory locks, so a manifest lock is a row in
 * manifest_lock owned by this handle; see lock_take() for when a row left
 * by someone else counts as stale.
 */
#include "store/store.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "util/alloc.h"
#include "util/error.h"
#include "util/log.h"

/* How long a writer waits for another before giving up (milliseconds). */
#define BUSY_TIMEOUT_MS 10000

/* A lock's lease, consulted only when its owner is on another host (where
 * we cannot ask whether the process lives): seconds. */
#define LOCK_LEASE_SECS 600

/* Polling a held lock: first wait and longest wait, milliseconds. */
#define LOCK_POLL_MIN_MS 2
#define LOCK_POLL_MAX_MS 200

enum stmt {
	S_REPORT_GET,
	S_REPORT_UPSERT,
	S_LAYERS_CLEAR,
	S_LAYER_ADD,
	S_SCANS_COLLECT,
	S_REPORT_DELETE,
	S_MANIFEST_LIST,
	S_MANIFEST_LAYERS,
	S_REPORT_EXISTS,
	S_SCAN_GET,
	S_SCAN_PUT,
	S_SCANNED,
	S_LOCK_GET,
	S_LOCK_SET,
	S_LOCK_DELETE,
	S__COUNT
};

#define NOW_SQL "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"

static const char *const stmt_sql[S__COUNT] = {
	[S_REPORT_GET] =
		"SELECT index_state, state, report FROM index_report "
		"WHERE manifest_hash = ?1",
	[S_REPORT_UPSERT] =
		"INSERT INTO index_report (manifest_hash, index_state, state, "
		"report) VALUES (?1, ?2, ?3, ?4) "
		"ON CONFLICT (manifest_hash) DO UPDATE SET "
		"index_state = excluded.index_state, state = excluded.state, "
		"report = excluded.report, updated_at = " NOW_SQL,
	[S_LAYERS_CLEAR] =
		"DELETE FROM manifest_layer WHERE manifest_hash = ?1",
	[S_LAYER_ADD] =
		"INSERT INTO manifest_layer (manifest_hash, position, "
		"layer_hash) VALUES (?1, ?2, ?3)",
	/* The scans of this manifest's layers that no other manifest has. */
	[S_SCANS_COLLECT] =
		"DELETE FROM layer_scan WHERE layer_hash IN "
		"(SELECT layer_hash FROM manifest_layer WHERE manifest_hash = ?1) "
		"AND NOT EXISTS (SELECT 1 FROM manifest_layer o "
		"WHERE o.layer_hash = layer_scan.layer_hash "
		"AND o.manifest_hash <> ?1)",
	[S_REPORT_DELETE] =
		"DELETE FROM index_report WHERE manifest_hash = ?1",
	[S_MANIFEST_LIST] =
		"SELECT manifest_hash FROM index_report WHERE manifest_hash > ?1 "
		"ORDER BY manifest_hash LIMIT ?2",
	[S_MANIFEST_LAYERS] =
		"SELECT layer_hash FROM manifest_layer WHERE manifest_hash = ?1 "
		"ORDER BY position",
	[S_REPORT_EXISTS] =
		"SELECT 1 FROM index_report WHERE manifest_hash = ?1",
	[S_SCAN_GET] =
		"SELECT artifacts FROM layer_scan WHERE layer_hash = ?1 "
		"AND scanner = ?2 AND scanner_version = ?3",
	[S_SCAN_PUT] =
		"INSERT INTO layer_scan (layer_hash, scanner, scanner_version, "
		"artifacts) VALUES (?1, ?2, ?3, ?4) "
		"ON CONFLICT (layer_hash, scanner, scanner_version) DO UPDATE "
		"SET artifacts = excluded.artifacts, scanned_at = " NOW_SQL,
	[S_SCANNED] =
		"SELECT scanner, scanner_version FROM layer_scan "
		"WHERE layer_hash = ?1",
	[S_LOCK_GET] =
		"SELECT owner, expires FROM manifest_lock WHERE manifest_hash = ?1",
	[S_LOCK_SET] =
		"INSERT OR REPLACE INTO manifest_lock (manifest_hash, owner, "
		"expires) VALUES (?1, ?2, ?3)",
	[S_LOCK_DELETE] =
		"DELETE FROM manifest_lock WHERE manifest_hash = ?1 AND owner = ?2",
};

struct sq_store {
	struct clr_store base;
	sqlite3 *db;
	char *path;                  /* the file, for messages */
	char host[256];              /* gethostname(), for lock owners */
	char *owner;                 /* this handle in manifest_lock.owner */
	sqlite3_stmt *stmt[S__COUNT]; /* prepared on first use */
};

static struct sq_store *sq(struct clr_store *s)
{
	assert(s->ops == &clr_store_sqlite);
	return (struct sq_store *)s;
}

/*
 * Turns SQLite's result code into ours, with a message saying what we were
 * doing, on which file, and what SQLite (and the OS) said.  Must be called
 * before anything else touches the connection, which would overwrite
 * sqlite3_errmsg().
 */
static int sq_error(struct sq_store *q, int rc, const char *doing)
{
	int sys = q->db ? sqlite3_system_errno(q->db) : 0;
	const char *msg = q->db ? sqlite3_errmsg(q->db) : sqlite3_errstr(rc);
	int code;

	switch (rc & 0xff) {
	case SQLITE_FULL:
	case SQLITE_READONLY:
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
	case SQLITE_PERM:
	case SQLITE_CORRUPT:
		code = CLR_EIO;
		break;
	case SQLITE_NOTADB:
		code = CLR_EINVALID;
		break;
	case SQLITE_NOMEM:
		code = CLR_ENOMEM;
		break;
	default:
		code = CLR_ERROR;
		break;
	}
	if (sys && code == CLR_EIO)
		return clr_error_set(code, "%s %s: %s (%s)", doing, q->path,
				     msg, strerror(sys));
	return clr_error_set(code, "%s %s: %s", doing, q->path, msg);
}

static int exec(struct sq_store *q, const char *sql, const char *doing)
{
	int rc = sqlite3_exec(q->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : sq_error(q, rc, doing);
}

/* Taking the write lock at BEGIN means a transaction never fails half-way
 * because another writer got there first. */
static int begin(struct sq_store *q, const char *doing)
{
	return exec(q, "BEGIN IMMEDIATE", doing);
}

static int commit(struct sq_store *q, const char *doing)
{
	return exec(q, "COMMIT", doing);
}

/* After a failure: SQLite may already have rolled back (a full disk does
 * that), hence the check.  The error message is kept. */
static void rollback(struct sq_store *q)
{
	if (!sqlite3_get_autocommit(q->db))
		sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
}

static int prep(struct sq_store *q, enum stmt id, sqlite3_stmt **out)
{
	int rc;

	if (!q->stmt[id]) {
		rc = sqlite3_prepare_v3(q->db, stmt_sql[id], -1,
					SQLITE_PREPARE_PERSISTENT,
					&q->stmt[id], NULL);
		if (rc != SQLITE_OK)
			return sq_error(q, rc, "cannot prepare a statement on");
	}
	*out = q->stmt[id];
	return 0;
}

/* Ready for the next use; bindings point at the caller's strings. */
static void done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
	sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

/* Steps a statement that returns no rows, then readies it again. */
static int run(struct sq_store *q, sqlite3_stmt *st, const char *doing)
{
	int rc = sqlite3_step(st);
	int err = rc == SQLITE_DONE ? 0 : sq_error(q, rc, doing);

	done(st);
	return err;
}

static char *column_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return clr_strndup(t ? (const char *)t : "",
			   (size_t)sqlite3_column_bytes(st, i));
}

/* --- opening and migrating ------------------------------------------------ */

/* One-off query of an integer (migration checks; not worth caching). */
static int query_int(struct sq_store *q, const char *sql, int64_t *out)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(q->db, sql, -1, &st, NULL);

	if (rc != SQLITE_OK)
		return sq_error(q, rc, "cannot read");
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	else if (rc == SQLITE_DONE)
		*out = 0;
	else {
		int err = sq_error(q, rc, "cannot read");

		sqlite3_finalize(st);
		return err;
	}
	sqlite3_finalize(st);
	return 0;
}

/* The schema version; 0 for a new, empty file.  A file with tables but no
 * schema_migrations is some other program's database: refuse it rather
 * than add tables to it. */
static int read_version(struct sq_store *q, int *out, bool *has_table,
			bool locked)
{
	int64_t n, v;
	int err;

	if ((err = query_int(q, "SELECT count(*) FROM sqlite_master WHERE "
			     "type = 'table' AND name = 'schema_migrations'",
			     &n)))
		return err;
	*has_table = n > 0;
	if (!n) {
		if ((err = query_int(q, "SELECT count(*) FROM sqlite_master",
				     &n)))
			return err;
		/* Another process may be creating the schema between our two
		 * queries: only a look under the write lock may conclude. */
		if (n && !locked) {
			*out = -1;
			return 0;
		}
		if (n)
			return clr_error_set(CLR_EINVALID, "%s is a SQLite "
					     "database but not clarion's (no "
					     "schema_migrations table)", q->path);
		*out = 0;
		return 0;
	}
	if ((err = query_int(q, "SELECT coalesce(max(version), 0) FROM "
			     "schema_migrations", &v)))
		return err;
	*out = v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int)v;
	return 0;
}

static int apply(struct sq_store *q, const struct clr_store_migration *m)
{
	char doing[128];
	sqlite3_stmt *st = NULL;
	int rc, err;

	clr_log_info("store: migrating %s to schema %d: %s", q->path,
		     m->version, m->what);
	snprintf(doing, sizeof(doing), "cannot apply migration %d to",
		 m->version);
	if ((err = exec(q, m->sqlite, doing)))
		return err;
	rc = sqlite3_prepare_v2(q->db, "INSERT INTO schema_migrations "
				"(version) VALUES (?1)", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sq_error(q, rc, doing);
	sqlite3_bind_int(st, 1, m->version);
	rc = sqlite3_step(st);
	err = rc == SQLITE_DONE ? 0 : sq_error(q, rc, doing);
	sqlite3_finalize(st);
	return err;
}

/*
 * Brings the schema up to date.  The first look needs no transaction, so
 * an up-to-date database opens without writing (a read-only file still
 * opens for reading); the second, under BEGIN IMMEDIATE, is the one that
 * counts when two processes open a new database at once.
 */
static int migrate(struct sq_store *q)
{
	bool has_table;
	int version, err;

	if ((err = read_version(q, &version, &has_table, false)) ||
	    (version >= 0 && (err = clr_store_schema_check(version, q->path))))
		return err;
	if (version == clr_store_schema_latest())
		goto done;
	if ((err = begin(q, "cannot migrate")))
		return err;
	if ((err = read_version(q, &version, &has_table, true)) ||
	    (err = clr_store_schema_check(version, q->path)))
		goto fail;
	if (!has_table &&
	    (err = exec(q, clr_store_schema_table_sqlite, "cannot migrate")))
		goto fail;
	for (size_t i = 0; i < clr_store_migrations_count; i++) {
		const struct clr_store_migration *m = &clr_store_migrations[i];

		if (m->version > version && (err = apply(q, m)))
			goto fail;
	}
	if ((err = commit(q, "cannot migrate")))
		goto fail;
	version = clr_store_schema_latest();
done:
	q->base.schema_version = version;
	return 0;
fail:
	rollback(q);
	return err;
}

/* The start time of a process, in clock ticks since boot (field 22 of
 * /proc/PID/stat), and its state letter.  1 when found, 0 when there is
 * no such process, -1 when /proc cannot tell. */
static int proc_info(long pid, unsigned long long *start, char *state)
{
	char path[64], buf[1024];
	const char *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT && !access("/proc/self/stat", R_OK) ?
			0 : -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* The command name (field 2) may hold spaces and parentheses; what
	 * follows the last ')' is fixed. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s "
			 "%*s %*s %*s %*s %*s %*s %*s %*s %llu", state,
			 start) != 2)
		return -1;
	return 1;
}

/* "PID:START:RANDOM@HOST": enough to tell, on this host, whether the
 * process that took a lock is still the one running under that pid. */
static void make_owner(struct sq_store *q)
{
	unsigned long long start = 0;
	uint64_t rnd = 0;
	char state, buf[512];

	if (gethostname(q->host, sizeof(q->host)) ||
	    !memchr(q->host, '\0', sizeof(q->host)))
		strcpy(q->host, "localhost");
	if (proc_info((long)getpid(), &start, &state) != 1)
		start = 0;
	/* Two handles in one process must differ; the address and the time
	 * stand in should the kernel have no randomness to give. */
	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
		rnd = (uint64_t)(uintptr_t)q ^ (uint64_t)time(NULL);
	snprintf(buf, sizeof(buf), "%ld:%llu:%016" PRIx64 "@%s",
		 (long)getpid(), start, rnd, q->host);
	q->owner = clr_strdup(buf);
}

/* Whether the lock's owner still holds it.  On this host the process
 * decides (so a clarion killed by ^C does not block the next scan of the
 * same image); on another the lease does. */
static bool owner_alive(struct sq_store *q, const char *owner,
			int64_t expires, int64_t now)
{
	unsigned long long ostart, start;
	long pid;
	char state;
	int n = 0;

	if (sscanf(owner, "%ld:%llu:%*[0-9a-f]@%n", &pid, &ostart, &n) != 2 ||
	    !n || strcmp(owner + n, q->host))
		return expires > now;
	switch (proc_info(pid, &start, &state)) {
	case 0:
		return false;
	case 1:
		if (state == 'Z' || (ostart && start != ostart))
			return false;
		return true;
	default:
		return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
	}
}

/*
 * Switching a new file to WAL needs an exclusive moment, and SQLite answers
 * SQLITE_BUSY at once, without the busy handler, while another connection
 * holds a lock (two processes creating the database together).  So the
 * busy timeout is applied here by hand.
 */
static int set_wal(struct sq_store *q)
{
	for (int waited = 0;; waited += 10) {
		int rc = sqlite3_exec(q->db, "PRAGMA journal_mode = WAL", NULL,
				      NULL, NULL);

		if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED)
			return rc == SQLITE_OK ? 0 :
			       sq_error(q, rc, "cannot open database");
		if (waited >= BUSY_TIMEOUT_MS)
			return sq_error(q, rc, "cannot open database");
		usleep(10000);
	}
}

static int sq_open(struct clr_store **out, const char *location)
{
	struct sq_store *q = clr_calloc(1, sizeof(*q));
	const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			  SQLITE_OPEN_NOMUTEX;
	int rc, err;

	q->base.ops = &clr_store_sqlite;
	q->base.location = clr_strdup(location);
	q->path = clr_strdup(location);
	make_owner(q);
	/* A write-protected file opens read-only: reads work, writes fail
	 * with SQLITE_READONLY, which we report as CLR_EIO. */
	rc = sqlite3_open_v2(location, &q->db, flags, NULL);
	if (rc != SQLITE_OK) {
		err = sq_error(q, rc, "cannot open database");
		goto fail;
	}
	sqlite3_extended_result_codes(q->db, 1);
	sqlite3_busy_timeout(q->db, BUSY_TIMEOUT_MS);
	if ((err = set_wal(q)) ||
	    (err = exec(q, "PRAGMA synchronous = NORMAL",
			"cannot open database")) ||
	    (err = exec(q, "PRAGMA foreign_keys = ON", "cannot open database")) ||
	    (err = migrate(q)))
		goto fail;
	*out = &q->base;
	return 0;
fail:
	clr_store_sqlite.close(&q->base);
	return err;
}

static void sq_close(struct clr_store *s)
{
	struct sq_store *q = sq(s);

	for (int i = 0; i < S__COUNT; i++)
		sqlite3_finalize(q->stmt[i]);
	if (q->db && sqlite3_close(q->db) != SQLITE_OK)
		clr_log_warn("store: closing %s: %s", q->path,
			     sqlite3_errmsg(q->db));
	free(q->owner);
	free(q->path);
	free(q->base.location);
	free(q);
}

/* --- index reports -------------------------------------------------------- */

static int sq_report_get(struct clr_store *s, const char *hash,
			 struct clr_store_report *out)
{
	struct sq_store *q = sq(s);
	sqlite3_stmt *st = NULL;
	int rc, err;

	if ((err = prep(q, S_REPORT_GET, &st)))
		return err;
	bind_text(st, 1, hash);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->index_state = column_dup(st, 0);
		out->state = column_dup(st, 1);
		out->report = column_dup(st, 2);
		err = 0;
	} else if (rc == SQLITE_DONE) {
		err = clr_error_set(CLR_ENOTFOUND, "no index report for "
				    "manifest %s", hash);
	} else {
		err = sq_error(q, rc, "cannot read index report from");
	}
	done(st);
	return err;
}

static int sq_report_put(struct clr_store *s, const char *hash,
			 const struct clr_store_report *r,
			 const char *const *layers, size_t n_layers)
{
	static const char doing[] = "cannot store index report in";
	struct sq_store *q = sq(s);
	sqlite3_stmt *st = NULL;
	int err;

	if ((err = begin(q, doing)))
		return err;
	if ((err = prep(q, S_REPORT_UPSERT, &st)))
		goto fail;
	bind_text(st, 1, hash);
	bind_text(st, 2, r->index_state);
	bind_text(st, 3, r->state);
	bind_text(st, 4, r->report);
	if ((err = run(q, st, doing)))
		goto fail;
	if (layers) {
		if ((err = prep(q, S_LAYERS_CLEAR, &st)))
			goto fail;
		bind_text(st, 1, hash);
		if ((err = run(q, st, doing)))
			goto fail;
		if ((err = prep(q, S_LAYER_ADD, &st)))
			goto fail;
		for (size_t i = 0; i < n_layers; i++) {
			bind_text(st, 1, hash);
			sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
			bind_text(st, 3, layers[i]);
			if ((err = run(q, st, doing)))
				goto fail;
		}
	}
	if ((err = commit(q, doing)))
		goto fail;
	return 0;
fail:
	rollback(q);
	return err;
}

static int sq_report_delete(struct clr_store *s, const char *hash,
			    bool *existed)
{
	static const char doing[] = "cannot delete index report from";
	static const enum stmt steps[] = {
		S_SCANS_COLLECT, S_LAYERS_CLEAR, S_REPORT_DELETE,
	};
	struct sq_store *q = sq(s);
	sqlite3_stmt *st = NULL;
	int err;

	if ((err = begin(q, doing)))
		return err;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		if ((err = prep(q, steps[i], &st)))
			goto fail;
		bind_text(st, 1, hash);
		if ((err = run(q, st, doing)))
			goto fail;
	}
	/* sqlite3_changes() counts the last statement: the report row. */
	*existed = sqlite3_changes(q->db) > 0;
	if ((err = commit(q, doing)))
		goto fail;
	return 0;
fail:
	*existed = false;
	rollback(q);
	return err;
}

/* Appends the first column of every row to out (a vec of char *). */
static int collect_strings(struct sq_store *q, sqlite3_stmt *st,
			   struct clr_vec *out, const char *doing)
{
	int rc, err = 0;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char *v = column_dup(st, 0);

		CLR_VEC_PUSH(out, &v);
	}
	if (rc != SQLITE_DONE)
		err = sq_error(q, rc, doing);
	done(st);
	return err;
}

static int sq_manifest_list(struct clr_store *s, const char *after,
			    size_t limit, struct clr_vec *out)
{
	struct sq_store *q = sq(s);
	sqlite3_stmt *st = NULL;
	int err;

	if ((err = prep(q, S_MANIFEST_LIST, &st)))
		return err;
	bind_text(st, 1, after);
	/* LIMIT -1 is SQLite for "no limit". */
	sqlite3_bind_int64(st, 2, limit && limit <= INT64_MAX ?
			   (sqlite3_int64)limit : -1);
	return collect_strings(q, st, out, "cannot list manifests in");
}

static int sq_manifest_layers(struct clr_store *s, const char *hash,
			      struct clr_vec *out)
{
	static const char doing[] = "cannot read manifest layers from";
	struct sq_store *q = sq(s);
	size_t before = out->len;
	sqlite3_stmt *st = NULL;
	int rc, err;

	if ((err = prep(q, S_MANIFEST_LAYERS, &st)))
		return err;
	bind_text(st, 1, hash);
	if ((err = collect_strings(q, st, out, doing)) || out->len > before)
		return err;
	/* No layers: an unknown manifest, or one stored without any. */
	if ((err = prep(q, S_REPORT_EXISTS, &st)))
		return err;
	bind_text(st, 1, hash);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		err = clr_error_set(CLR_ENOTFOUND, "no index report for "
				    "manifest %s", hash);
	else if (rc != SQLITE_ROW)
		err = sq_error(q, rc, doing);
	done(st);
	return err;
}

/* --- layer scan cache ------------------------------------------------------ */

static int sq_layer_scan_get(struct clr_store *s, const char *layer,
			     const struct clr_store_scanner *sc,
			     char **artifacts)
{
	struct sq_store *q = sq(s);
	sqlite3_stmt *st = NULL;
	int rc, err;

	if ((err = prep(q, S_SCAN_GET, &st)))
		return err;
	bind_text(st, 1, layer);
	bind_text(st, 2, sc->name);
	bind_text(st, 3, sc->version);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*artifacts = column_dup(st, 0);
		err = 0;
	} else if (rc == SQLITE_DONE) {
		err = clr_error_set(CLR_ENOTFOUND, "layer %s not scanned by "
				    "%s %s", layer, sc->name, sc->version);
	} else {
		err = sq_error(q, rc, "cannot read layer scan from");
	}
	done(st);
	return err;
}

static int sq_layer_scan_put(struct clr_store *s, const char *layer,
			     const struct clr_store_scanner *sc,
			     const char *artifacts)
{
	struct sq_store *q = sq(s);
	sqlite3_stmt *st = NULL;
	int err;

	/* One statement: atomic on its own, no BEGIN needed. */
	if ((err = prep(q, S_SCAN_PUT, &st)))
		return err;
	bind_text(st, 1, layer);
	bind_text(st, 2, sc->name);
	bind_text(st, 3, sc->version);
	bind_text(st, 4, artifacts);
	return run(q, st, "cannot store layer scan in");
}

static int sq_layer_scanned(struct clr_store *s, const char *layer,
			    const struct clr_store_scanner *scanners, size_t n,
			    bool *scanned)
{
	struct sq_store *q = sq(s);
	sqlite3_stmt *st = NULL;
	int rc, err = 0;

	if ((err = prep(q, S_SCANNED, &st)))
		return err;
	bind_text(st, 1, layer);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		const char *version = (const char *)sqlite3_column_text(st, 1);

		for (size_t i = 0; i < n && name && version; i++)
			if (!strcmp(scanners[i].name, name) &&
			    !strcmp(scanners[i].version, version))
				scanned[i] = true;
	}
	if (rc != SQLITE_DONE)
		err = sq_error(q, rc, "cannot read layer scans from");
	done(st);
	return err;
}

/* --- manifest locks --------------------------------------------------------- */

/*
 * One attempt: in a write transaction (so two takers cannot both see the
 * row free), take the lock if no live owner holds it.  A row that names
 * this very handle is ours already (an unlock that failed to delete it).
 */
static int lock_take(struct sq_store *q, const char *hash, bool *taken,
		     char *holder, size_t holder_size)
{
	static const char doing[] = "cannot lock manifest in";
	int64_t now = (int64_t)time(NULL);
	sqlite3_stmt *st = NULL;
	int rc, err;

	*taken = false;
	if ((err = begin(q, doing)))
		return err;
	if ((err = prep(q, S_LOCK_GET, &st)))
		goto fail;
	bind_text(st, 1, hash);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *owner = (const char *)sqlite3_column_text(st, 0);
		int64_t expires = sqlite3_column_int64(st, 1);

		snprintf(holder, holder_size, "%s", owner ? owner : "");
		if (strcmp(holder, q->owner) &&
		    owner_alive(q, holder, expires, now)) {
			done(st);
			rollback(q);
			return 0;
		}
		if (strcmp(holder, q->owner))
			clr_log_info("store: taking over the stale lock on "
				     "manifest %s from %s", hash, holder);
	} else if (rc != SQLITE_DONE) {
		err = sq_error(q, rc, doing);
		done(st);
		goto fail;
	}
	done(st);
	if ((err = prep(q, S_LOCK_SET, &st)))
		goto fail;
	bind_text(st, 1, hash);
	bind_text(st, 2, q->owner);
	sqlite3_bind_int64(st, 3, now + LOCK_LEASE_SECS);
	if ((err = run(q, st, doing)) || (err = commit(q, doing)))
		goto fail;
	*taken = true;
	return 0;
fail:
	rollback(q);
	return err;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int sq_lock(struct clr_store *s, const char *hash, bool wait,
		   uint64_t *token)
{
	struct sq_store *q = sq(s);
	unsigned delay = LOCK_POLL_MIN_MS;
	char holder[512];
	bool taken;
	int err;

	*token = 0;
	for (;;) {
		if ((err = lock_take(q, hash, &taken, holder, sizeof(holder))))
			return err;
		if (taken)
			return 0;
		if (!wait)
			return clr_error_set(CLR_EEXISTS, "manifest %s is "
					     "locked by %s", hash, holder);
		/* The write lock is not held while we sleep, so the holder
		 * can unlock; backing off keeps many waiters from queueing
		 * on the write lock. */
		sleep_ms(delay);
		delay = delay * 2 > LOCK_POLL_MAX_MS ? LOCK_POLL_MAX_MS :
						       delay * 2;
	}
}

static int sq_unlock(struct clr_store *s, const char *hash, uint64_t token)
{
	struct sq_store *q = sq(s);
	sqlite3_stmt *st = NULL;
	int err;

	(void)token;
	if ((err = prep(q, S_LOCK_DELETE, &st)))
		return err;
	bind_text(st, 1, hash);
	bind_text(st, 2, q->owner);
	if ((err = run(q, st, "cannot unlock manifest in")))
		return err;
	if (!sqlite3_changes(q->db))
		clr_log_warn("store: the lock on manifest %s had been taken "
			     "over before it was released", hash);
	return 0;
}

const struct clr_store_ops clr_store_sqlite = {
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.report_get = sq_report_get,
	.report_put = sq_report_put,
	.report_delete = sq_report_delete,
	.manifest_list = sq_manifest_list,
	.manifest_layers = sq_manifest_layers,
	.layer_scan_get = sq_layer_scan_get,
	.layer_scan_put = sq_layer_scan_put,
	.layer_scanned = sq_layer_scanned,
	.lock = sq_lock,
	.unlock = sq_unlock,
};
