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
 * SQLite has no advisory locks, so a manifest (or updater) lock is a row
 * in manifest_lock (updater_lock) owned by this handle; see lock_take()
 * for when a row left by someone else counts as stale.
 *
 * An update operation's put is one transaction of prepared statements run
 * once per record, in hash order (see update_put()); readers on other
 * handles go on reading the previous operation until it commits.
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
	S_ULOCK_GET,
	S_ULOCK_SET,
	S_ULOCK_DELETE,
	S_OP_INSERT,
	S_VULN_ID,
	S_VULN_INSERT,
	S_LINK_ADD,
	S_OP_SET_COUNT,
	S_COUNTER_BUMP,
	S_COUNTER_GET,
	S_OP_BY_ID,
	S_OP_BY_REF,
	S_OP_LATEST,
	S_OP_LIST,
	S_OP_LIST_ALL,
	S_OP_VULNS,
	S_OP_ONLY_IN,
	S_CURRENT,
	S_GC_LINKS,
	S_GC_OPS,
	S_GC_VULNS,
	S_UO_DELETE_LINKS,
	S_UO_DELETE,
	S_STATUS_PUT,
	S_STATUS_LIST,
	S_PKG_CLEAR,
	S_PKG_ADD,
	S__COUNT
};

/* The columns of struct clr_update_op, read by op_read(). */
#define OP_COLUMNS "id, ref, updater, fingerprint, date, kind, vuln_count"

/* The operations GC deletes: all but the newest ?1 of each updater. */
#define GC_VICTIMS                                                        \
	"SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY "     \
	"updater ORDER BY id DESC) AS age FROM update_operation) "       \
	"WHERE age > ?1"

/* ?1 ... ?24: the hash, then the columns in CLR_STORE_VULN_COLUMNS order. */
#define VULN_PARAMS                                                       \
	"?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, " \
	"?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25"

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
	[S_ULOCK_GET] =
		"SELECT owner, expires FROM updater_lock WHERE updater = ?1",
	[S_ULOCK_SET] =
		"INSERT OR REPLACE INTO updater_lock (updater, owner, expires) "
		"VALUES (?1, ?2, ?3)",
	[S_ULOCK_DELETE] =
		"DELETE FROM updater_lock WHERE updater = ?1 AND owner = ?2",
	[S_OP_INSERT] =
		"INSERT INTO update_operation (ref, updater, fingerprint, "
		"kind) VALUES (?1, ?2, ?3, 'vulnerability')",
	[S_VULN_ID] = "SELECT id FROM vuln WHERE hash = ?1",
	[S_VULN_INSERT] =
		"INSERT INTO vuln (hash, " CLR_STORE_VULN_COLUMNS ") "
		"VALUES (" VULN_PARAMS ") ON CONFLICT (hash) DO NOTHING",
	[S_LINK_ADD] = "INSERT INTO uo_vuln (uo_id, vuln_id) VALUES (?1, ?2)",
	[S_OP_SET_COUNT] =
		"UPDATE update_operation SET vuln_count = ?2 WHERE id = ?1",
	[S_COUNTER_BUMP] = "UPDATE update_counter SET value = value + 1",
	[S_COUNTER_GET] = "SELECT value FROM update_counter",
	[S_OP_BY_ID] =
		"SELECT " OP_COLUMNS " FROM update_operation WHERE id = ?1",
	[S_OP_BY_REF] =
		"SELECT " OP_COLUMNS " FROM update_operation WHERE ref = ?1",
	[S_OP_LATEST] =
		"SELECT " OP_COLUMNS " FROM update_operation "
		"WHERE updater = ?1 ORDER BY id DESC LIMIT 1",
	[S_OP_LIST] =
		"SELECT " OP_COLUMNS " FROM update_operation "
		"WHERE updater = ?1 ORDER BY id DESC",
	[S_OP_LIST_ALL] =
		"SELECT " OP_COLUMNS " FROM update_operation ORDER BY id DESC",
	[S_OP_VULNS] =
		"SELECT " CLR_STORE_VULN_COLUMNS " FROM uo_vuln l "
		"JOIN vuln v ON v.id = l.vuln_id WHERE l.uo_id = ?1",
	/* The records of operation ?1 that operation ?2 does not link: one
	 * row per record, so equal ids mean equal content hashes. */
	[S_OP_ONLY_IN] =
		"SELECT " CLR_STORE_VULN_COLUMNS " FROM uo_vuln l "
		"JOIN vuln v ON v.id = l.vuln_id WHERE l.uo_id = ?1 "
		"AND NOT EXISTS (SELECT 1 FROM uo_vuln o WHERE o.uo_id = ?2 "
		"AND o.vuln_id = l.vuln_id)",
	[S_CURRENT] =
		"SELECT " CLR_STORE_VULN_COLUMNS " FROM uo_vuln l "
		"JOIN vuln v ON v.id = l.vuln_id WHERE l.uo_id IN "
		"(SELECT max(id) FROM update_operation GROUP BY updater)",
	/* Links first, while the operations they name still exist to be
	 * picked by GC_VICTIMS; the record sweep then sees them gone. */
	[S_GC_LINKS] = "DELETE FROM uo_vuln WHERE uo_id IN (" GC_VICTIMS ")",
	[S_GC_OPS] =
		"DELETE FROM update_operation WHERE id IN (" GC_VICTIMS ")",
	[S_GC_VULNS] =
		"DELETE FROM vuln WHERE NOT EXISTS "
		"(SELECT 1 FROM uo_vuln l WHERE l.vuln_id = vuln.id)",
	/* DELETE update_operation/{ref}: links first, then the operation;
	 * S_GC_VULNS then sweeps the records nothing links any more. */
	[S_UO_DELETE_LINKS] =
		"DELETE FROM uo_vuln WHERE uo_id IN "
		"(SELECT id FROM update_operation WHERE ref = ?1)",
	[S_UO_DELETE] = "DELETE FROM update_operation WHERE ref = ?1",
	/* One statement for success (?2 NULL) and failure: a failure keeps
	 * the last success.  'now' is the same instant throughout one
	 * statement. */
	[S_STATUS_PUT] =
		"INSERT INTO updater_status (updater, last_attempt, "
		"last_success, last_error) VALUES (?1, " NOW_SQL ", "
		"CASE WHEN ?2 IS NULL THEN " NOW_SQL " END, coalesce(?2, '')) "
		"ON CONFLICT (updater) DO UPDATE SET "
		"last_attempt = excluded.last_attempt, last_success = "
		"coalesce(excluded.last_success, updater_status.last_success), "
		"last_error = excluded.last_error",
	[S_STATUS_LIST] =
		"SELECT s.updater, coalesce(s.last_attempt, ''), "
		"coalesce(s.last_success, ''), s.last_error, "
		"coalesce((SELECT o.vuln_count FROM update_operation o "
		"WHERE o.updater = s.updater ORDER BY o.id DESC LIMIT 1), 0) "
		"FROM updater_status s ORDER BY s.updater",
	[S_PKG_CLEAR] = "DELETE FROM manifest_package WHERE manifest_hash = ?1",
	[S_PKG_ADD] =
		"INSERT OR IGNORE INTO manifest_package (manifest_hash, name) "
		"VALUES (?1, ?2)",
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

static int apply(struct sq_store *q, const struct clr_store_migration *m,
		 bool fresh)
{
	char doing[128];
	sqlite3_stmt *st = NULL;
	int rc, err;

	clr_log_migration(fresh, q->path, m);
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

		if (m->version > version && (err = apply(q, m, version <= 0)))
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
	struct clr_vec names = CLR_VEC_INIT(char *);
	sqlite3_stmt *st = NULL;
	int err;

	clr_store_report_package_names(r->report, &names);
	if ((err = begin(q, doing))) {
		clr_store_strings_release(&names);
		return err;
	}
	if ((err = prep(q, S_REPORT_UPSERT, &st)))
		goto fail;
	bind_text(st, 1, hash);
	bind_text(st, 2, r->index_state);
	bind_text(st, 3, r->state);
	bind_text(st, 4, r->report);
	if ((err = run(q, st, doing)))
		goto fail;
	/* The notifier's package-name index, in the report's transaction. */
	if ((err = prep(q, S_PKG_CLEAR, &st)))
		goto fail;
	bind_text(st, 1, hash);
	if ((err = run(q, st, doing)) || (err = prep(q, S_PKG_ADD, &st)))
		goto fail;
	for (size_t i = 0; i < names.len; i++) {
		bind_text(st, 1, hash);
		bind_text(st, 2, *CLR_VEC_AT(&names, char *, i));
		if ((err = run(q, st, doing)))
			goto fail;
	}
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
	clr_store_strings_release(&names);
	return 0;
fail:
	rollback(q);
	clr_store_strings_release(&names);
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

/* --- update operations --------------------------------------------------- */

/* A column as text; "" for NULL.  Valid until the statement moves on. */
static const char *col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t ? (const char *)t : "";
}

/* A row of OP_COLUMNS. */
static void op_read(sqlite3_stmt *st, struct clr_update_op *out)
{
	int64_t count = sqlite3_column_int64(st, 6);

	out->id = sqlite3_column_int64(st, 0);
	out->ref = column_dup(st, 1);
	out->updater = column_dup(st, 2);
	out->fingerprint = column_dup(st, 3);
	out->date = column_dup(st, 4);
	out->kind = column_dup(st, 5);
	out->count = count > 0 ? (size_t)count : 0;
}

/* Steps a statement that yields at most one operation: CLR_ENOTFOUND
 * (naming what) when it yields none. */
static int op_one(struct sq_store *q, sqlite3_stmt *st,
		  struct clr_update_op *out, const char *what)
{
	int rc = sqlite3_step(st), err = 0;

	if (rc == SQLITE_ROW)
		op_read(st, out);
	else if (rc == SQLITE_DONE)
		err = clr_error_set(CLR_ENOTFOUND, "no update operation %s",
				    what);
	else
		err = sq_error(q, rc, "cannot read update operations from");
	done(st);
	return err;
}

static int op_by_ref(struct sq_store *q, const char *ref,
		     struct clr_update_op *out)
{
	sqlite3_stmt *st = NULL;
	char what[128];
	int err;

	if ((err = prep(q, S_OP_BY_REF, &st)))
		return err;
	bind_text(st, 1, ref);
	snprintf(what, sizeof(what), "%.100s", ref);
	return op_one(q, st, out, what);
}

/* Steps a statement yielding records (CLR_STORE_VULN_COLUMNS) and hands
 * each to each(), pointing into SQLite's own copy of the row. */
static int stream_vulns(struct sq_store *q, sqlite3_stmt *st,
			int (*each)(const struct clr_vuln *v, void *arg),
			void *arg)
{
	int rc, err = 0;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct clr_vuln v;
		int i = 0;

#define GET(f) v.f = col_text(st, i++);
		CLR_STORE_VULN_STRINGS(GET)
#undef GET
		v.normalized_severity =
			clr_store_severity_parse(col_text(st, i));
		if ((err = each(&v, arg)))
			break;
	}
	if (!err && rc != SQLITE_DONE)
		err = sq_error(q, rc, "cannot read vulnerabilities from");
	done(st);
	return err;
}

static int add_to_set(const struct clr_vuln *v, void *arg)
{
	clr_vuln_set_add(arg, v);
	return 0;
}

/* Reads that take several statements share one snapshot: a put or GC
 * committing meanwhile is seen by all of them or by none. */
static int begin_read(struct sq_store *q)
{
	return exec(q, "BEGIN", "cannot read from");
}

static int id_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Looks up one record's id: 1 found, 0 not stored, or an error. */
static int vuln_find(struct sq_store *q, sqlite3_stmt *find, const char *hex,
		     int64_t *id, const char *doing)
{
	int rc;

	bind_text(find, 1, hex);
	rc = sqlite3_step(find);
	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(find, 0);
	done(find);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : sq_error(q, rc, doing);
}

/* Inserts one record unless its hash is stored: 1 inserted (*id set),
 * 0 already there, or an error. */
static int vuln_insert(struct sq_store *q, sqlite3_stmt *ins, const char *hex,
		       const struct clr_vuln *v, int64_t *id, const char *doing)
{
	int i = 2, err;

	bind_text(ins, 1, hex);
#define BIND(f) bind_text(ins, i++, v->f);
	CLR_STORE_VULN_STRINGS(BIND)
#undef BIND
	bind_text(ins, i, clr_severity_name(v->normalized_severity));
	if ((err = run(q, ins, doing)))
		return err;
	if (!sqlite3_changes(q->db))
		return 0;
	*id = sqlite3_last_insert_rowid(q->db);
	return 1;
}

/*
 * The id of each record, inserting those not stored yet; ids[r] for
 * put->recs[r].  Either order of "look up, insert" costs two statements
 * when it guesses wrong and one when right: a feed's first load is all
 * new records, its next runs nearly all stored ones.  So it follows
 * what it has seen so far in this put.
 */
static int find_or_insert(struct sq_store *q, const struct clr_store_put *put,
			  int64_t *ids, size_t *added, const char *doing)
{
	sqlite3_stmt *find = NULL, *ins = NULL;
	char hex[CLR_SHA256_HEXLEN + 1];
	size_t found = 0;
	int rc, err;

	*added = 0;
	if ((err = prep(q, S_VULN_ID, &find)) ||
	    (err = prep(q, S_VULN_INSERT, &ins)))
		return err;
	for (size_t r = 0; r < put->n; r++) {
		const struct clr_vuln *v = put->recs[r].v;
		bool fresh;

		clr_store_hash_hex(hex, put->recs[r].hash);
		if (*added > found) {
			rc = vuln_insert(q, ins, hex, v, &ids[r], doing);
			fresh = rc == 1;
			if (rc == 0)
				rc = vuln_find(q, find, hex, &ids[r], doing);
		} else {
			rc = vuln_find(q, find, hex, &ids[r], doing);
			fresh = rc == 0;
			if (rc == 0)
				rc = vuln_insert(q, ins, hex, v, &ids[r],
						 doing);
		}
		if (rc < 0)
			return rc;
		/* Neither found nor inserted: cannot happen under the write
		 * lock, unless the hash index is broken. */
		if (rc == 0)
			return clr_error_set(CLR_EIO, "%s %s: record %s is "
					     "neither stored nor storable",
					     doing, q->path, hex);
		if (fresh)
			(*added)++;
		else
			found++;
	}
	return 0;
}

static int sq_update_put(struct clr_store *s, const struct clr_store_put *put,
			 struct clr_update_op *out)
{
	static const char doing[] = "cannot store update operation in";
	struct sq_store *q = sq(s);
	int64_t *ids = clr_malloc((put->n ? put->n : 1) * sizeof(*ids));
	sqlite3_stmt *st = NULL;
	size_t added = 0;
	int64_t op;
	int err;

	if ((err = begin(q, doing)))
		goto cleanup;
	if ((err = prep(q, S_OP_INSERT, &st)))
		goto fail;
	bind_text(st, 1, put->ref);
	bind_text(st, 2, put->updater);
	bind_text(st, 3, put->fingerprint);
	if ((err = run(q, st, doing)))
		goto fail;
	op = sqlite3_last_insert_rowid(q->db);
	if ((err = find_or_insert(q, put, ids, &added, doing)))
		goto fail;
	/* Links in id order: both of uo_vuln's keys then grow at one end
	 * instead of being written all over. */
	qsort(ids, put->n, sizeof(*ids), id_cmp);
	if ((err = prep(q, S_LINK_ADD, &st)))
		goto fail;
	for (size_t i = 0; i < put->n; i++) {
		sqlite3_bind_int64(st, 1, op);
		sqlite3_bind_int64(st, 2, ids[i]);
		if ((err = run(q, st, doing)))
			goto fail;
	}
	if ((err = prep(q, S_OP_SET_COUNT, &st)))
		goto fail;
	sqlite3_bind_int64(st, 1, op);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)put->n);
	if ((err = run(q, st, doing)) ||
	    (err = prep(q, S_COUNTER_BUMP, &st)) ||
	    (err = run(q, st, doing)) ||
	    (err = prep(q, S_OP_BY_ID, &st)))
		goto fail;
	sqlite3_bind_int64(st, 1, op);
	if ((err = op_one(q, st, out, put->ref)))
		goto fail;
	if ((err = commit(q, doing)))
		goto fail;
	clr_log_debug("store: %s: operation %s: %zu records, %zu new",
		      put->updater, put->ref, put->n, added);
	goto cleanup;
fail:
	clr_update_op_release(out);
	rollback(q);
cleanup:
	free(ids);
	return err;
}

static int sq_update_latest(struct clr_store *s, const char *updater,
			    struct clr_update_op *out)
{
	struct sq_store *q = sq(s);
	sqlite3_stmt *st = NULL;
	char what[160];
	int err;

	if ((err = prep(q, S_OP_LATEST, &st)))
		return err;
	bind_text(st, 1, updater);
	snprintf(what, sizeof(what), "for updater %.120s", updater);
	return op_one(q, st, out, what);
}

static int sq_update_get(struct clr_store *s, const char *ref,
			 struct clr_update_op *out)
{
	return op_by_ref(sq(s), ref, out);
}

static int sq_update_list(struct clr_store *s, const char *updater,
			  struct clr_vec *out)
{
	struct sq_store *q = sq(s);
	sqlite3_stmt *st = NULL;
	int rc, err;

	if ((err = prep(q, updater ? S_OP_LIST : S_OP_LIST_ALL, &st)))
		return err;
	if (updater)
		bind_text(st, 1, updater);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		op_read(st, clr_vec_push(out, NULL));
	err = rc == SQLITE_DONE ? 0 :
	      sq_error(q, rc, "cannot read update operations from");
	done(st);
	return err;
}

/* The records operation `only` links and operation `not` (0: none) does
 * not, appended to out. */
static int only_in(struct sq_store *q, int64_t only, int64_t not,
		   struct clr_vuln_set *out)
{
	sqlite3_stmt *st = NULL;
	int err;

	if ((err = prep(q, S_OP_ONLY_IN, &st)))
		return err;
	sqlite3_bind_int64(st, 1, only);
	sqlite3_bind_int64(st, 2, not);
	return stream_vulns(q, st, add_to_set, out);
}

static int sq_update_vulns(struct clr_store *s, const char *ref,
			   struct clr_vuln_set *out)
{
	struct sq_store *q = sq(s);
	struct clr_update_op op = { 0 };
	sqlite3_stmt *st = NULL;
	int err;

	if ((err = begin_read(q)))
		return err;
	if (!(err = op_by_ref(q, ref, &op)) &&
	    !(err = prep(q, S_OP_VULNS, &st))) {
		sqlite3_bind_int64(st, 1, op.id);
		err = stream_vulns(q, st, add_to_set, out);
	}
	clr_update_op_release(&op);
	rollback(q);
	return err;
}

static int sq_update_diff(struct clr_store *s, const char *prev_ref,
			  const char *cur_ref, struct clr_vuln_set *added,
			  struct clr_vuln_set *removed)
{
	struct sq_store *q = sq(s);
	struct clr_update_op prev = { 0 }, cur = { 0 };
	int err;

	if ((err = begin_read(q)))
		return err;
	if ((err = op_by_ref(q, cur_ref, &cur)) ||
	    (prev_ref && (err = op_by_ref(q, prev_ref, &prev))))
		goto cleanup;
	if (prev_ref && strcmp(prev.updater, cur.updater)) {
		err = clr_error_set(CLR_EINVALID, "cannot diff update "
				    "operations of two updaters: %s is %s's, "
				    "%s is %s's", prev_ref, prev.updater,
				    cur_ref, cur.updater);
		goto cleanup;
	}
	if ((err = only_in(q, cur.id, prev.id, added)) ||
	    (prev_ref && (err = only_in(q, prev.id, cur.id, removed))))
		goto cleanup;
cleanup:
	clr_update_op_release(&prev);
	clr_update_op_release(&cur);
	rollback(q);
	return err;
}

static int sq_update_gc(struct clr_store *s, size_t keep, size_t *deleted)
{
	static const char doing[] = "cannot collect update operations in";
	struct sq_store *q = sq(s);
	sqlite3_int64 k = keep > INT64_MAX ? INT64_MAX : (sqlite3_int64)keep;
	sqlite3_stmt *st = NULL;
	int err;

	if ((err = begin(q, doing)))
		return err;
	if ((err = prep(q, S_GC_LINKS, &st)))
		goto fail;
	sqlite3_bind_int64(st, 1, k);
	if ((err = run(q, st, doing)) || (err = prep(q, S_GC_OPS, &st)))
		goto fail;
	sqlite3_bind_int64(st, 1, k);
	if ((err = run(q, st, doing)))
		goto fail;
	*deleted = (size_t)sqlite3_changes64(q->db);
	/* The records nothing links any more, in one statement.  Always,
	 * not only when operations went: it costs one pass over the
	 * records, and whatever left an orphan, it does not stay. */
	if ((err = prep(q, S_GC_VULNS, &st)) || (err = run(q, st, doing)))
		goto fail;
	if (*deleted && ((err = prep(q, S_COUNTER_BUMP, &st)) ||
			 (err = run(q, st, doing))))
		goto fail;
	if ((err = commit(q, doing)))
		goto fail;
	return 0;
fail:
	*deleted = 0;
	rollback(q);
	return err;
}

static int sq_update_delete(struct clr_store *s, const char *ref,
			    bool *existed)
{
	static const char doing[] = "cannot delete an update operation in";
	struct sq_store *q = sq(s);
	sqlite3_stmt *st = NULL;
	int err;

	if ((err = begin(q, doing)))
		return err;
	if ((err = prep(q, S_UO_DELETE_LINKS, &st)))
		goto fail;
	bind_text(st, 1, ref);
	if ((err = run(q, st, doing)) || (err = prep(q, S_UO_DELETE, &st)))
		goto fail;
	bind_text(st, 1, ref);
	if ((err = run(q, st, doing)))
		goto fail;
	*existed = sqlite3_changes64(q->db) > 0;
	/* Only when something went: an unknown ref changes nothing, and the
	 * counter moving would make every replica rebuild its index. */
	if (*existed &&
	    ((err = prep(q, S_GC_VULNS, &st)) || (err = run(q, st, doing)) ||
	     (err = prep(q, S_COUNTER_BUMP, &st)) || (err = run(q, st, doing))))
		goto fail;
	if ((err = commit(q, doing)))
		goto fail;
	return 0;
fail:
	*existed = false;
	rollback(q);
	return err;
}

static int sq_vulns_current(struct clr_store *s,
			    int (*each)(const struct clr_vuln *v, void *arg),
			    void *arg)
{
	struct sq_store *q = sq(s);
	sqlite3_stmt *st = NULL;
	int err;

	/* One statement: one snapshot, however long each() takes. */
	if ((err = prep(q, S_CURRENT, &st)))
		return err;
	return stream_vulns(q, st, each, arg);
}

static int sq_update_counter(struct clr_store *s, int64_t *out)
{
	struct sq_store *q = sq(s);
	sqlite3_stmt *st = NULL;
	int rc, err;

	if ((err = prep(q, S_COUNTER_GET, &st)))
		return err;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	err = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ?
	      clr_error_set(CLR_ERROR, "%s: update_counter has no row",
			    q->path) :
	      sq_error(q, rc, "cannot read the update counter of");
	done(st);
	return err;
}

static int sq_status_put(struct clr_store *s, const char *updater,
			 const char *error)
{
	struct sq_store *q = sq(s);
	sqlite3_stmt *st = NULL;
	int err;

	if ((err = prep(q, S_STATUS_PUT, &st)))
		return err;
	bind_text(st, 1, updater);
	bind_text(st, 2, error); /* NULL binds NULL: a success */
	return run(q, st, "cannot store updater status in");
}

static int sq_status_list(struct clr_store *s, struct clr_vec *out)
{
	struct sq_store *q = sq(s);
	sqlite3_stmt *st = NULL;
	int rc, err;

	if ((err = prep(q, S_STATUS_LIST, &st)))
		return err;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct clr_updater_status *u = clr_vec_push(out, NULL);
		int64_t count = sqlite3_column_int64(st, 4);

		u->updater = column_dup(st, 0);
		u->last_attempt = column_dup(st, 1);
		u->last_success = column_dup(st, 2);
		u->last_error = column_dup(st, 3);
		u->count = count > 0 ? (size_t)count : 0;
	}
	err = rc == SQLITE_DONE ? 0 :
	      sq_error(q, rc, "cannot read updater status from");
	done(st);
	return err;
}

/* --- manifest and updater locks -------------------------------------------- */

/* The statements and name of one kind of lock row. */
struct lock_table {
	enum stmt get, set, del;
	const char *kind; /* "manifest", "updater": for messages */
};

static const struct lock_table manifest_locks = {
	S_LOCK_GET, S_LOCK_SET, S_LOCK_DELETE, "manifest",
};
static const struct lock_table updater_locks = {
	S_ULOCK_GET, S_ULOCK_SET, S_ULOCK_DELETE, "updater",
};

/*
 * One attempt: in a write transaction (so two takers cannot both see the
 * row free), take the lock if no live owner holds it.  A row that names
 * this very handle is ours already (an unlock that failed to delete it).
 */
static int lock_take(struct sq_store *q, const struct lock_table *t,
		     const char *hash, bool *taken, char *holder,
		     size_t holder_size)
{
	char doing[64];
	int64_t now = (int64_t)time(NULL);
	sqlite3_stmt *st = NULL;
	int rc, err;

	snprintf(doing, sizeof(doing), "cannot lock %s in", t->kind);
	*taken = false;
	if ((err = begin(q, doing)))
		return err;
	if ((err = prep(q, t->get, &st)))
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
				     "%s %s from %s", t->kind, hash, holder);
	} else if (rc != SQLITE_DONE) {
		err = sq_error(q, rc, doing);
		done(st);
		goto fail;
	}
	done(st);
	if ((err = prep(q, t->set, &st)))
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
		if ((err = lock_take(q, &manifest_locks, hash, &taken, holder,
				     sizeof(holder))))
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

static int lock_release(struct sq_store *q, const struct lock_table *t,
			const char *hash)
{
	sqlite3_stmt *st = NULL;
	char doing[64];
	int err;

	snprintf(doing, sizeof(doing), "cannot unlock %s in", t->kind);
	if ((err = prep(q, t->del, &st)))
		return err;
	bind_text(st, 1, hash);
	bind_text(st, 2, q->owner);
	if ((err = run(q, st, doing)))
		return err;
	if (!sqlite3_changes(q->db))
		clr_log_warn("store: the lock on %s %s had been taken over "
			     "before it was released", t->kind, hash);
	return 0;
}

static int sq_unlock(struct clr_store *s, const char *hash, uint64_t token)
{
	(void)token;
	return lock_release(sq(s), &manifest_locks, hash);
}

static int sq_updater_lock(struct clr_store *s, const char *updater,
			   uint64_t *token)
{
	char holder[512];
	bool taken;
	int err;

	*token = 0;
	if ((err = lock_take(sq(s), &updater_locks, updater, &taken, holder,
			     sizeof(holder))))
		return err;
	if (!taken)
		return clr_error_set(CLR_EEXISTS, "updater %s is locked by %s",
				     updater, holder);
	return 0;
}

static int sq_updater_unlock(struct clr_store *s, const char *updater,
			     uint64_t token)
{
	(void)token;
	return lock_release(sq(s), &updater_locks, updater);
}

/* --- plain SQL (the notifier's tables) ------------------------------------ */

static int sq_sql_run(struct clr_store *s, const char *sql,
		      const char *const *params, int n,
		      int (*row)(void *arg, int ncols, const char *const *cols),
		      void *arg, int64_t *changes)
{
	struct sq_store *q = sq(s);
	const char *cols[32];
	sqlite3_stmt *st = NULL;
	int rc, err = 0;

	rc = sqlite3_prepare_v2(q->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sq_error(q, rc, "cannot prepare a statement on");
	/* $N is a named parameter to SQLite: bind by name, so the order in
	 * which the text mentions them does not matter. */
	for (int i = 0; i < n; i++) {
		char name[16];
		int at;

		snprintf(name, sizeof(name), "$%d", i + 1);
		if ((at = sqlite3_bind_parameter_index(st, name)))
			sqlite3_bind_text(st, at, params[i], -1,
					  SQLITE_STATIC);
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int nc = sqlite3_column_count(st);

		if (nc > 32)
			nc = 32;
		for (int i = 0; i < nc; i++)
			cols[i] = (const char *)sqlite3_column_text(st, i);
		if (row && (err = row(arg, nc, cols)))
			break;
	}
	if (!err && rc != SQLITE_DONE)
		err = sq_error(q, rc, "cannot run a statement on");
	if (!err && changes)
		*changes = sqlite3_changes64(q->db);
	sqlite3_finalize(st);
	return err;
}

static int sq_sql_begin(struct clr_store *s)
{
	return begin(sq(s), "cannot begin a transaction on");
}

static int sq_sql_commit(struct clr_store *s)
{
	return commit(sq(s), "cannot commit to");
}

static void sq_sql_rollback(struct clr_store *s)
{
	rollback(sq(s));
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
	.update_put = sq_update_put,
	.update_latest = sq_update_latest,
	.update_get = sq_update_get,
	.update_list = sq_update_list,
	.update_vulns = sq_update_vulns,
	.update_diff = sq_update_diff,
	.update_gc = sq_update_gc,
	.update_delete = sq_update_delete,
	.vulns_current = sq_vulns_current,
	.update_counter = sq_update_counter,
	.status_put = sq_status_put,
	.status_list = sq_status_list,
	.updater_lock = sq_updater_lock,
	.updater_unlock = sq_updater_unlock,
	.sql_run = sq_sql_run,
	.sql_begin = sq_sql_begin,
	.sql_commit = sq_sql_commit,
	.sql_rollback = sq_sql_rollback,
};
