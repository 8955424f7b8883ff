/*
 * store.h - clarion's database: one interface, two backends.
 *
 * Everything clarion keeps between runs goes through a struct clr_store:
 * index reports, the per-layer scan cache and (later) update operations,
 * vulnerabilities and notifications.  The location is one setting:
 *
 *   /path/to/clarion.db            SQLite (sqlite.c), WAL mode; the default
 *   postgres://user@host/db        PostgreSQL through libpq (pg.c); also
 *   postgresql://...               for many replicas sharing one database
 *
 * Both backends are instances of struct clr_store_ops (as git's ref
 * backends are), run the same numbered migrations (migrations.c) on open,
 * and refuse a database written by a newer clarion.
 *
 *     struct clr_store *s;
 *     if ((err = clr_store_open(&s, NULL)))     // the default location
 *             return err;                       // message is set
 *     err = clr_store_report_put(s, digest, &report, layers, n_layers);
 *     clr_store_close(s);
 *
 * Threads: a handle is used by one thread at a time.  Open one handle per
 * worker thread; each PostgreSQL handle is one connection (and advisory
 * locks belong to that connection), each SQLite handle one sqlite3 *.
 *
 * Atomicity: every call that writes is one transaction; when it fails
 * (CLR_EIO for a full disk or a read-only database, CLR_ENET for a lost
 * server) nothing of it is visible.
 *
 * Strings are NUL-terminated UTF-8.  Ownership follows the project rule:
 * arguments are borrowed, out-parameters belong to the caller.
 */
#ifndef CLR_STORE_STORE_H
#define CLR_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/vec.h"

struct clr_store;
struct clr_store_lock;

/* A stored index report and the two strings the indexer decides with. */
struct clr_store_report {
	char *index_state; /* the indexer state (scanner set) it was made with */
	char *state;       /* "IndexFinished", "IndexError", "ScanLayers", ... */
	char *report;      /* the IndexReport, as JSON text */
};

/* A scanner's identity in the layer cache: a layer is scanned once per
 * (name, version), whatever image it is in. */
struct clr_store_scanner {
	const char *name;    /* "dpkg", "os-release", ... */
	const char *version; /* bumped when the scanner's output changes */
};

/* --- opening -------------------------------------------------------------- */

/* The location clr_store_open(NULL) uses, in *out (caller frees):
 * $CLARION_DB when set and not empty, else
 * $XDG_CACHE_HOME/clarion/clarion.db (an absolute XDG_CACHE_HOME only, as
 * the XDG spec says), else ~/.cache/clarion/clarion.db.  Creates nothing.
 * CLR_ENOTFOUND when there is no home directory to put it in. */
int clr_store_default_location(char **out);

/* Opens the store at location: a postgres:// or postgresql:// URL, or else
 * a file path for SQLite (created if missing).  NULL means the default
 * location, whose directory is created (mode 0700) if needed.  Applies
 * pending migrations in one transaction.
 *
 * Errors: CLR_ENET (cannot connect; the message names the URL with its
 * password redacted), CLR_EINVALID (a malformed URL, a file that is not a
 * SQLite database), CLR_EIO (cannot open or write the file),
 * CLR_EUNSUPPORTED (the schema is newer than this clarion knows). */
int clr_store_open(struct clr_store **out, const char *location);

/* Closes the handle, releasing (with a warning) any lock still held
 * through it.  NULL does nothing. */
void clr_store_close(struct clr_store *s);

/* "sqlite" or "postgres". */
const char *clr_store_backend_name(const struct clr_store *s);

/* The location as opened, with any password replaced by "***", for logs
 * and messages (borrowed, lives as long as s). */
const char *clr_store_location(const struct clr_store *s);

/* The schema version the database is at (clr_store_schema_latest() once
 * open succeeded). */
int clr_store_schema_version(const struct clr_store *s);

/* The newest schema version this clarion knows. */
int clr_store_schema_latest(void);

/* --- index reports ------------------------------------------------------- */

/* The report stored for manifest_hash in *out (release with
 * clr_store_report_release), or CLR_ENOTFOUND. */
int clr_store_report_get(struct clr_store *s, const char *manifest_hash,
			 struct clr_store_report *out);

/* Stores (inserts or replaces) the report for manifest_hash.  layers, in
 * image order (base first), replace the manifest's recorded layer list;
 * layers == NULL keeps the list already recorded (a progress update from
 * the indexer, which recorded the layers with its first put). */
int clr_store_report_put(struct clr_store *s, const char *manifest_hash,
			 const struct clr_store_report *r,
			 const char *const *layers, size_t n_layers);

/* Deletes the report and layer list of manifest_hash and the cached scans
 * of its layers that no other manifest uses.  *existed (may be NULL) says
 * whether there was a report; an unknown manifest is not an error. */
int clr_store_report_delete(struct clr_store *s, const char *manifest_hash,
			    bool *existed);

/* Frees the strings of r and zeroes it.  NULL does nothing. */
void clr_store_report_release(struct clr_store_report *r);

/* Appends to out (a vec of char *, CLR_VEC_INIT(char *)) the manifest
 * hashes that have a report, in ascending byte order, starting after
 * `after` (NULL: from the first), at most limit of them (0: all).  Paging:
 * pass the last hash of one page as `after` of the next.  On failure out
 * is as it was. */
int clr_store_manifest_list(struct clr_store *s, const char *after,
			    size_t limit, struct clr_vec *out);

/* Appends to out (a vec of char *) the layer hashes of manifest_hash in
 * image order.  CLR_ENOTFOUND when the manifest has no report. */
int clr_store_manifest_layers(struct clr_store *s, const char *manifest_hash,
			      struct clr_vec *out);

/* Frees every string in a vec of char * and releases the vec. */
void clr_store_strings_release(struct clr_vec *v);

/* --- the layer scan cache ------------------------------------------------ */

/* What scanner found in layer_hash (JSON text, caller frees), or
 * CLR_ENOTFOUND when this scanner at this version has not scanned it. */
int clr_store_layer_scan_get(struct clr_store *s, const char *layer_hash,
			     const struct clr_store_scanner *scanner,
			     char **artifacts);

/* Records (inserts or replaces) what scanner found in layer_hash. */
int clr_store_layer_scan_put(struct clr_store *s, const char *layer_hash,
			     const struct clr_store_scanner *scanner,
			     const char *artifacts);

/* For each of the n scanners, scanned[i] says whether it (at its version)
 * has already scanned layer_hash: the indexer fetches a layer only when
 * some scanner has not.  One query whatever n is. */
int clr_store_layer_scanned(struct clr_store *s, const char *layer_hash,
			    const struct clr_store_scanner *scanners, size_t n,
			    bool *scanned);

/* --- manifest locks ------------------------------------------------------ */

/*
 * Serialises work on one manifest across threads, processes and (with
 * PostgreSQL) replicas, so concurrent requests to index the same manifest
 * do the work once: the second waits, then finds the report stored.
 *
 * PostgreSQL: a session-level advisory lock on the handle's connection,
 * keyed by 64 bits of SHA-256 of the hash; it is released if the
 * connection drops.  SQLite: a row in manifest_lock naming this handle; a
 * lock whose owner process has gone (same host) or whose lease expired
 * (another host) is taken over.  See docs/internals/store.md.
 *
 * clr_store_lock_manifest waits as long as the lock is held;
 * clr_store_trylock_manifest returns CLR_EEXISTS instead of waiting.  A
 * handle that already holds the manifest's lock gets CLR_EEXISTS from both
 * (locks do not nest).  *out is freed by clr_store_unlock_manifest, which
 * must be called before the store is closed.
 */
int clr_store_lock_manifest(struct clr_store *s, const char *manifest_hash,
			    struct clr_store_lock **out);
int clr_store_trylock_manifest(struct clr_store *s, const char *manifest_hash,
			       struct clr_store_lock **out);

/* Releases and frees the lock (NULL does nothing).  The lock is freed even
 * when an error is returned; with PostgreSQL, a lock lost with a dropped
 * connection was already released by the server (a warning is logged). */
int clr_store_unlock_manifest(struct clr_store_lock *lock);

/* --- for backends -------------------------------------------------------- */

/*
 * One backend.  Each function gets a handle its own open() made.  The
 * wrappers above check arguments and keep the list of held locks; the
 * backend does the SQL.  Every write is one transaction.
 */
struct clr_store_ops {
	const char *name; /* "sqlite", "postgres" */

	/* Connects, migrates, and returns a handle whose base has ops and
	 * location set (the rest of base zeroed). */
	int (*open)(struct clr_store **out, const char *location);
	void (*close)(struct clr_store *s);

	int (*report_get)(struct clr_store *s, const char *manifest_hash,
			  struct clr_store_report *out);
	int (*report_put)(struct clr_store *s, const char *manifest_hash,
			  const struct clr_store_report *r,
			  const char *const *layers, size_t n_layers);
	int (*report_delete)(struct clr_store *s, const char *manifest_hash,
			     bool *existed);
	int (*manifest_list)(struct clr_store *s, const char *after,
			     size_t limit, struct clr_vec *out);
	int (*manifest_layers)(struct clr_store *s, const char *manifest_hash,
			       struct clr_vec *out);

	int (*layer_scan_get)(struct clr_store *s, const char *layer_hash,
			      const struct clr_store_scanner *scanner,
			      char **artifacts);
	int (*layer_scan_put)(struct clr_store *s, const char *layer_hash,
			      const struct clr_store_scanner *scanner,
			      const char *artifacts);
	int (*layer_scanned)(struct clr_store *s, const char *layer_hash,
			     const struct clr_store_scanner *scanners, size_t n,
			     bool *scanned);

	/* Takes the manifest's lock, waiting when wait is set, else
	 * CLR_EEXISTS if another holder has it.  *token is kept with the
	 * lock and given back to unlock (PostgreSQL: which connection took
	 * it). */
	int (*lock)(struct clr_store *s, const char *manifest_hash, bool wait,
		    uint64_t *token);
	int (*unlock)(struct clr_store *s, const char *manifest_hash,
		      uint64_t token);
};

/* The part of a handle every backend shares; a backend's own struct
 * starts with it. */
struct clr_store {
	const struct clr_store_ops *ops;
	char *location;     /* as opened, password redacted (malloc'd) */
	int schema_version; /* set by the backend's migration at open */
	struct clr_vec locks; /* struct clr_store_lock *: held via this handle */
};

extern const struct clr_store_ops clr_store_sqlite;
extern const struct clr_store_ops clr_store_pg;

/*
 * A numbered schema migration (migrations.c).  The SQL is the same text
 * for both backends, generated from one template where only column types
 * differ (timestamps); a statement that exists for one backend only is in
 * that backend's text alone.  Each is a script of ';'-separated statements
 * without parameters, run inside the migration transaction.
 */
struct clr_store_migration {
	int version;        /* 1, 2, ...: applied in order, recorded once */
	const char *what;   /* one line, for the log */
	const char *sqlite; /* the script for SQLite */
	const char *pg;     /* the script for PostgreSQL */
};

/* The migrations, in version order (version i+1 at index i). */
extern const struct clr_store_migration clr_store_migrations[];
extern const size_t clr_store_migrations_count;

/* The scripts that create schema_migrations(version, applied_at), run
 * before any migration when the table does not exist. */
extern const char clr_store_schema_table_sqlite[];
extern const char clr_store_schema_table_pg[];

/* The check both backends make before migrating: 0 when this clarion can
 * use a database at schema version `found`, else CLR_EUNSUPPORTED with a
 * message naming location. */
int clr_store_schema_check(int found, const char *location);

#endif
