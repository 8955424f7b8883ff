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

const struct clr_store_migration clr_store_migrations[] = {
	{
		.version = 1,
		.what = "index reports, manifest layers, layer scan cache",
		.sqlite = V1_COMMON(TS_SQLITE) V1_SQLITE_LOCKS,
		.pg = V1_COMMON(TS_PG),
	},
	/* Later: update operations and vulnerabilities, then notifications.
	 * Append here; never edit an entry above. */
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
