/*
 * migrations.c - the numbered schema migrations both backends run.
 *
 * The rule (docs/internals/store.md): a migration, once released, is never
 * edited; a change to the schema is a new migration with the next number.
 * A database records each version it has applied in schema_migrations,
 * and a clarion that finds a version above the newest it knows refuses the
 * database rather than write to a schema it does not understand.
 *
 * The SQL is kept as C string literals so the build stays "every .c file
 * under src/": no generated files.  Where the backends differ only in a
 * column type, one template macro takes the type and yields both scripts,
 * so the two schemas cannot drift apart.
 */
#include "store/store.h"

#include "util/error.h"
#include "util/log.h"

/* A timestamp column that defaults to the time of the insert.  SQLite has
 * no time type: ISO 8601 UTC text sorts and reads well; PostgreSQL's
 * timestamptz is what its tools and Clair's schema expect. */
#define TS_SQLITE "TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))"
#define TS_PG "TIMESTAMPTZ NOT NULL DEFAULT now()"

#define SCHEMA_TABLE(TS)                                                  \
	"CREATE TABLE IF NOT EXISTS schema_migrations (\n"                \
	"	version    INTEGER PRIMARY KEY,\n"                         \
	"	applied_at " TS "\n"                                       \
	");\n"

const char clr_store_schema_table_sqlite[] = SCHEMA_TABLE(TS_SQLITE);
const char clr_store_schema_table_pg[] = SCHEMA_TABLE(TS_PG);

/*
 * 1: the indexer's tables.
 *
 * index_report is the cached IndexReport per manifest with the two strings
 * the indexer decides with (state, index_state); manifest_layer records the
 * manifest's layers in order, which DELETE uses to collect layer scans
 * nothing else needs and which later bulk operations and the notifier's
 * reverse lookups join on; layer_scan is the content-addressed scan cache,
 * one row per (layer, scanner, scanner version).  JSON is kept as text on
 * both backends: it is produced and consumed by clarion only, and text
 * keeps it byte for byte (jsonb would reorder keys).
 */
#define V1_COMMON(TS)                                                     \
	"CREATE TABLE index_report (\n"                                   \
	"	manifest_hash TEXT PRIMARY KEY,\n"                         \
	"	index_state   TEXT NOT NULL,\n"                            \
	"	state         TEXT NOT NULL,\n"                            \
	"	report        TEXT NOT NULL,\n"                            \
	"	updated_at    " TS "\n"                                    \
	");\n"                                                            \
	"CREATE TABLE manifest_layer (\n"                                 \
	"	manifest_hash TEXT NOT NULL\n"                             \
	"		REFERENCES index_report (manifest_hash) ON DELETE CASCADE,\n" \
	"	position      INTEGER NOT NULL,\n"                         \
	"	layer_hash    TEXT NOT NULL,\n"                            \
	"	PRIMARY KEY (manifest_hash, position)\n"                   \
	");\n"                                                            \
	"CREATE INDEX manifest_layer_by_layer ON manifest_layer (layer_hash);\n" \
	"CREATE TABLE layer_scan (\n"                                     \
	"	layer_hash      TEXT NOT NULL,\n"                          \
	"	scanner         TEXT NOT NULL,\n"                          \
	"	scanner_version TEXT NOT NULL,\n"                          \
	"	artifacts       TEXT NOT NULL,\n"                          \
	"	scanned_at      " TS ",\n"                                 \
	"	PRIMARY KEY (layer_hash, scanner, scanner_version)\n"      \
	");\n"

/* SQLite has no advisory locks, so a manifest lock is a row: owner names
 * the handle (host, pid, process start time, random), expires is the
 * lease in Unix seconds, consulted only for owners on another host.
 * PostgreSQL uses pg_advisory_lock and needs no table. */
#define V1_SQLITE_LOCKS                                                   \
	"CREATE TABLE manifest_lock (\n"                                  \
	"	manifest_hash TEXT PRIMARY KEY,\n"                         \
	"	owner         TEXT NOT NULL,\n"                            \
	"	expires       BIGINT NOT NULL\n"                           \
	");\n"

/*
 * 2: the vulnerability database (update operations, Clair's snapshot
 * model; reference/clair-api.md section 4.3).
 *
 * vuln holds each distinct record once, keyed by its content hash
 * (clr_vuln_hash(), hex): a feed that changes one record in a million adds
 * one row, not a million.  update_operation is one successful run of one
 * updater, and uo_vuln links it to the complete set of records that were
 * current then; the matcher reads the newest operation of each updater,
 * the notifier diffs two of them, GC deletes old operations and then the
 * records nothing links.  vuln_count is stored so listing operations (and
 * the status page) does not count millions of links.
 *
 * uo_vuln is read both ways: by operation (its primary key: the set of an
 * operation, diffs) and by record (uo_vuln_by_vuln: GC's "does anything
 * still link this").  On SQLite it is WITHOUT ROWID, clustered on the key,
 * which halves its size.  It has no foreign keys, on purpose: checking two
 * parents per link costs more than a tenth of a million-record put (one
 * probe each in SQLite, a trigger per row in PostgreSQL).  The store keeps
 * the links right itself: a put links only ids it found or inserted in
 * the same transaction, GC deletes an operation's links with it and a
 * record only when nothing links it, and on PostgreSQL GC and puts
 * exclude each other (an advisory lock), so GC cannot delete a record a
 * concurrent put has just found.
 *
 * update_counter is one row that every put and every GC that deletes
 * something increments inside its transaction: replicas poll it to know
 * when to reload.  (The newest operation id would miss GC, and on
 * PostgreSQL ids are handed out before commit, so a later id can become
 * visible before an earlier one.)
 *
 * updater_status records attempts, which may fail without storing
 * anything; updater_lock is SQLite's stand-in for advisory locks, as
 * manifest_lock is.  Timestamps are as in migration 1; issued stays the
 * feed's text.
 */
#define V2_COMMON(TS, TS_NULL, VULN_ID, OP_ID, HASH, UO_OPTS)               \
	"CREATE TABLE vuln (\n"                                           \
	"	id                     " VULN_ID ",\n"                      \
	"	hash                   " HASH " NOT NULL UNIQUE,\n"         \
	"	name                   TEXT NOT NULL,\n"                    \
	"	updater                TEXT NOT NULL,\n"                    \
	"	description            TEXT NOT NULL,\n"                    \
	"	issued                 TEXT NOT NULL,\n"                    \
	"	links                  TEXT NOT NULL,\n"                    \
	"	severity               TEXT NOT NULL,\n"                    \
	"	normalized_severity    TEXT NOT NULL,\n"                    \
	"	package_name           TEXT NOT NULL,\n"                    \
	"	package_kind           TEXT NOT NULL,\n"                    \
	"	package_module         TEXT NOT NULL,\n"                    \
	"	arch                   TEXT NOT NULL,\n"                    \
	"	arch_op                TEXT NOT NULL,\n"                    \
	"	dist_did               TEXT NOT NULL,\n"                    \
	"	dist_name              TEXT NOT NULL,\n"                    \
	"	dist_version           TEXT NOT NULL,\n"                    \
	"	dist_version_id        TEXT NOT NULL,\n"                    \
	"	dist_version_code_name TEXT NOT NULL,\n"                    \
	"	dist_pretty_name       TEXT NOT NULL,\n"                    \
	"	dist_cpe               TEXT NOT NULL,\n"                    \
	"	repo_name              TEXT NOT NULL,\n"                    \
	"	repo_uri               TEXT NOT NULL,\n"                    \
	"	version_scheme         TEXT NOT NULL,\n"                    \
	"	fixed_in_version       TEXT NOT NULL,\n"                    \
	"	affected               TEXT NOT NULL\n"                     \
	");\n"                                                            \
	"CREATE TABLE update_operation (\n"                               \
	"	id          " OP_ID ",\n"                                   \
	"	ref         TEXT NOT NULL UNIQUE,\n"                        \
	"	updater     TEXT NOT NULL,\n"                               \
	"	fingerprint TEXT NOT NULL,\n"                               \
	"	date        " TS ",\n"                                      \
	"	kind        TEXT NOT NULL,\n"                               \
	"	vuln_count  BIGINT NOT NULL DEFAULT 0\n"                    \
	");\n"                                                            \
	"CREATE INDEX update_operation_by_updater\n"                      \
	"	ON update_operation (updater, id DESC);\n"                  \
	"CREATE TABLE uo_vuln (\n"                                        \
	"	uo_id   BIGINT NOT NULL,\n"                                 \
	"	vuln_id BIGINT NOT NULL,\n"                                 \
	"	PRIMARY KEY (uo_id, vuln_id)\n"                             \
	")" UO_OPTS ";\n"                                                 \
	"CREATE INDEX uo_vuln_by_vuln ON uo_vuln (vuln_id, uo_id);\n"     \
	"CREATE TABLE update_counter (\n"                                 \
	"	id    INTEGER PRIMARY KEY CHECK (id = 1),\n"                \
	"	value BIGINT NOT NULL\n"                                    \
	");\n"                                                            \
	"INSERT INTO update_counter (id, value) VALUES (1, 0);\n"         \
	"CREATE TABLE updater_status (\n"                                 \
	"	updater      TEXT PRIMARY KEY,\n"                           \
	"	last_attempt " TS_NULL ",\n"                                \
	"	last_success " TS_NULL ",\n"                                \
	"	last_error   TEXT NOT NULL DEFAULT ''\n"                    \
	");\n"

/* AUTOINCREMENT for operations: an id is never handed out twice, even
 * after the newest rows were deleted, so "increasing" holds for good. */
#define V2_SQLITE_VULN_ID "INTEGER PRIMARY KEY"
#define V2_SQLITE_OP_ID "INTEGER PRIMARY KEY AUTOINCREMENT"
#define V2_PG_ID "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"

/* Hex compares as bytes: under the database's own collation (en_US, ...)
 * every probe of the hash index would go through strcoll().  SQLite's
 * default collation is already bytewise. */
#define V2_PG_HASH "TEXT COLLATE \"C\""

#define V2_SQLITE_LOCKS                                                   \
	"CREATE TABLE updater_lock (\n"                                   \
	"	updater TEXT PRIMARY KEY,\n"                                \
	"	owner   TEXT NOT NULL,\n"                                   \
	"	expires BIGINT NOT NULL\n"                                  \
	");\n"

/*
 * 3: the notifier's tables (docs/notifications.md).
 *
 * manifest_package indexes the stored reports by package name (binary and
 * source names alike): the notifier matches an update's changed records
 * backwards through it instead of reading every report.  It is filled by
 * every report put, in the put's transaction, and here, once, from the
 * reports already stored (SQLite's JSON functions; PostgreSQL's, report by
 * report, a report that is not JSON skipped).  It goes with its report
 * (ON DELETE CASCADE).
 *
 * notifier_update marks the update operations a notifier has processed:
 * its primary key is the claim, so of two replicas processing the same
 * operation one inserts and the other finds it there and writes nothing.
 * notification_set is a set's receipt (Clair's name): status, delivery
 * attempts and when to try again, and a claim (owner, until) so that one
 * replica delivers each set, a crashed one's claim expiring.
 * notification holds the items, paged by id.  Times are Unix seconds on
 * both backends: the notifier compares them, nothing else reads them.
 */
#define V3_COMMON                                                          \
	"CREATE TABLE manifest_package (\n"                               \
	"	manifest_hash TEXT NOT NULL\n"                              \
	"		REFERENCES index_report (manifest_hash) ON DELETE CASCADE,\n" \
	"	name          TEXT NOT NULL,\n"                             \
	"	PRIMARY KEY (name, manifest_hash)\n"                        \
	");\n"                                                            \
	"CREATE INDEX manifest_package_by_manifest\n"                     \
	"	ON manifest_package (manifest_hash);\n"                     \
	"CREATE TABLE notifier_update (\n"                                \
	"	ref          TEXT PRIMARY KEY,\n"                           \
	"	updater      TEXT NOT NULL,\n"                              \
	"	set_id       TEXT,\n"                                       \
	"	processed_at BIGINT NOT NULL\n"                             \
	");\n"                                                            \
	"CREATE INDEX notifier_update_by_updater\n"                       \
	"	ON notifier_update (updater, processed_at);\n"              \
	"CREATE TABLE notification_set (\n"                               \
	"	id           TEXT PRIMARY KEY,\n"                           \
	"	uo_ref       TEXT NOT NULL,\n"                              \
	"	prev_ref     TEXT NOT NULL,\n"                              \
	"	updater      TEXT NOT NULL,\n"                              \
	"	status       TEXT NOT NULL,\n"                              \
	"	created_at   BIGINT NOT NULL,\n"                            \
	"	attempts     BIGINT NOT NULL DEFAULT 0,\n"                  \
	"	next_attempt BIGINT NOT NULL DEFAULT 0,\n"                  \
	"	last_error   TEXT NOT NULL DEFAULT '',\n"                   \
	"	claim_owner  TEXT,\n"                                       \
	"	claim_until  BIGINT NOT NULL DEFAULT 0,\n"                  \
	"	items        BIGINT NOT NULL DEFAULT 0\n"                   \
	");\n"                                                            \
	"CREATE INDEX notification_set_due\n"                             \
	"	ON notification_set (status, next_attempt);\n"              \
	"CREATE TABLE notification (\n"                                   \
	"	id       TEXT PRIMARY KEY,\n"                               \
	"	set_id   TEXT NOT NULL\n"                                   \
	"		REFERENCES notification_set (id) ON DELETE CASCADE,\n" \
	"	manifest TEXT NOT NULL,\n"                                  \
	"	reason   TEXT NOT NULL,\n"                                  \
	"	vuln     TEXT NOT NULL,\n"                                  \
	"	layers   TEXT NOT NULL\n"                                   \
	");\n"                                                            \
	"CREATE INDEX notification_by_set ON notification (set_id, id);\n"

/* Package names of one report row r: the packages' names and their
 * sources' names; CASE guards json_extract from values that are not
 * objects, json_valid the whole text. */
#define V3_SQLITE_FILL                                                    \
	"INSERT OR IGNORE INTO manifest_package (manifest_hash, name)\n"  \
	"SELECT manifest_hash, n FROM (\n"                                \
	"	SELECT r.manifest_hash, CASE WHEN p.type = 'object' THEN\n" \
	"		json_extract(p.value, '$.name') END AS n\n"         \
	"	FROM index_report r, json_each(CASE WHEN json_valid(r.report)\n" \
	"		THEN r.report ELSE '{}' END, '$.packages') p\n"     \
	"	UNION\n"                                                    \
	"	SELECT r.manifest_hash, CASE WHEN p.type = 'object' THEN\n" \
	"		json_extract(p.value, '$.source.name') END\n"       \
	"	FROM index_report r, json_each(CASE WHEN json_valid(r.report)\n" \
	"		THEN r.report ELSE '{}' END, '$.packages') p\n"     \
	") WHERE typeof(n) = 'text' AND n <> '';\n"

#define V3_PG_FILL                                                        \
	"DO $$\n"                                                         \
	"DECLARE r record;\n"                                             \
	"BEGIN\n"                                                         \
	"	FOR r IN SELECT manifest_hash, report FROM index_report LOOP\n" \
	"		BEGIN\n"                                            \
	"			INSERT INTO manifest_package (manifest_hash, name)\n" \
	"			SELECT DISTINCT r.manifest_hash, n FROM (\n"  \
	"				SELECT CASE WHEN json_typeof(p.value) = 'object'\n" \
	"					THEN p.value->>'name' END AS n\n" \
	"				FROM json_each(r.report::json->'packages') p\n" \
	"				UNION\n"                            \
	"				SELECT CASE WHEN json_typeof(p.value) = 'object'\n" \
	"					THEN p.value->'source'->>'name' END\n" \
	"				FROM json_each(r.report::json->'packages') p\n" \
	"			) t WHERE n IS NOT NULL AND n <> ''\n"        \
	"			ON CONFLICT DO NOTHING;\n"                    \
	"		EXCEPTION WHEN others THEN NULL;\n"                 \
	"		END;\n"                                             \
	"	END LOOP;\n"                                                \
	"END $$;\n"

/*
 * 4: the legacy Clair API v1's layers (src/http/v1.c, docs/klar.md).
 *
 * A v1 client names each layer itself (Klar: config digest + layer
 * digest, 128 hex) and gives its parent's name.  v1_layer maps the name
 * to the blob's digest, which keys the shared layer_scan cache, and to
 * the report of the whole chain down to the base, kept in index_report
 * under a manifest hash derived from the name (manifest_hash).  DELETE
 * removes a layer and its descendants, found through the parent index.
 */
#define V4_COMMON(TS)                                                     \
	"CREATE TABLE v1_layer (\n"                                       \
	"	name          TEXT PRIMARY KEY,\n"                         \
	"	parent_name   TEXT NOT NULL,\n"                            \
	"	layer_hash    TEXT NOT NULL,\n"                            \
	"	path          TEXT NOT NULL,\n"                            \
	"	manifest_hash TEXT NOT NULL,\n"                            \
	"	created_at    " TS "\n"                                    \
	");\n"                                                           \
	"CREATE INDEX v1_layer_by_parent ON v1_layer (parent_name);\n"

const struct clr_store_migration clr_store_migrations[] = {
	{
		.version = 1,
		.what = "index reports, manifest layers, layer scan cache",
		.sqlite = V1_COMMON(TS_SQLITE) V1_SQLITE_LOCKS,
		.pg = V1_COMMON(TS_PG),
	},
	{
		.version = 2,
		.what = "vulnerabilities, update operations, updater status",
		.sqlite = V2_COMMON(TS_SQLITE, "TEXT", V2_SQLITE_VULN_ID,
				    V2_SQLITE_OP_ID, "TEXT", " WITHOUT ROWID")
			V2_SQLITE_LOCKS,
		.pg = V2_COMMON(TS_PG, "TIMESTAMPTZ", V2_PG_ID, V2_PG_ID,
				V2_PG_HASH, ""),
	},
	{
		.version = 3,
		.what = "notifications, package-name index of index reports",
		.sqlite = V3_COMMON V3_SQLITE_FILL,
		.pg = V3_COMMON V3_PG_FILL,
	},
	{
		.version = 4,
		.what = "legacy API v1 layers (names, parents, layer digests)",
		.sqlite = V4_COMMON(TS_SQLITE),
		.pg = V4_COMMON(TS_PG),
	},
	/* Append here; never edit an entry above. */
};

const size_t clr_store_migrations_count =
	sizeof(clr_store_migrations) / sizeof(clr_store_migrations[0]);

int clr_store_schema_latest(void)
{
	return clr_store_migrations[clr_store_migrations_count - 1].version;
}

int clr_store_schema_check(int found, const char *location)
{
	int latest = clr_store_schema_latest();

	if (found > latest)
		return clr_error_set(CLR_EUNSUPPORTED,
				     "database %s has schema version %d, newer "
				     "than this clarion knows (%d): it was "
				     "written by a newer clarion; upgrade "
				     "clarion or use another database",
				     location, found, latest);
	if (found < 0)
		return clr_error_set(CLR_EINVALID,
				     "database %s records a negative schema "
				     "version (%d)", location, found);
	return 0;
}

void clr_log_migration(bool fresh, const char *location,
		       const struct clr_store_migration *m)
{
	if (fresh)
		clr_log_debug("store: creating %s: schema %d: %s", location,
			      m->version, m->what);
	else
		clr_log_info("store: migrating %s to schema %d: %s", location,
			     m->version, m->what);
}
