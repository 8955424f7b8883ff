/*
 * store.h - clarion's database: one interface, two backends.
 *
 * Everything clarion keeps between runs goes through a struct clr_store:
 * index reports, the per-layer scan cache, update operations and
 * vulnerabilities, and (later) notifications.  The location is one setting:
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

#include "updater/vuln.h"
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

/* --- update operations and vulnerabilities -------------------------------- */

/*
 * The vulnerability database, as Clair keeps it (reference/clair-api.md
 * section 4.3): each successful updater run is an update operation linking
 * the updater's complete current set of records (a snapshot, not a delta).
 * Records are stored once, keyed by clr_vuln_hash(), however many
 * operations link them.  GC keeps the newest operations of each updater
 * and deletes the records nothing links.  See docs/internals/store.md.
 */

struct clr_update_op {
	char *ref;          /* a UUID (v4, lowercase), made by the store */
	char *updater;      /* "debian", "alpine-main-v3.19", ... */
	char *fingerprint;  /* opaque, from the updater's fetch */
	char *date;         /* RFC 3339 UTC, when it was stored */
	char *kind;         /* "vulnerability" */
	int64_t id;         /* increasing across all operations */
	size_t count;       /* number of vulnerabilities it links */
};
/* Frees the strings of op and zeroes it.  NULL does nothing. */
void clr_update_op_release(struct clr_update_op *op);
void clr_update_ops_release(struct clr_vec *ops); /* vec of struct clr_update_op */

/* Stores vulns as the updater's complete current set: a new operation
 * linking every record (records already stored with the same content hash,
 * clr_vuln_hash(), are linked, not duplicated; a record given twice is
 * linked once).  One transaction: on any failure nothing of it is visible
 * and the previous operation stays the current one.  Bulk insert: prepared
 * statements in one transaction (SQLite), COPY (PostgreSQL).  *out (may be
 * NULL) describes the new op.
 *
 * Every record's updater field must be `updater`, and its
 * normalized_severity a valid enum value (CLR_EINVALID naming the record
 * otherwise).  An empty set is a valid set: the feed lists nothing now. */
int clr_store_update_put(struct clr_store *s, const char *updater,
			 const char *fingerprint, const struct clr_vuln_set *vulns,
			 struct clr_update_op *out);
/* The newest operation of updater, or CLR_ENOTFOUND. */
int clr_store_update_latest(struct clr_store *s, const char *updater,
			    struct clr_update_op *out);
/* One operation by ref, or CLR_ENOTFOUND. */
int clr_store_update_get(struct clr_store *s, const char *ref,
			 struct clr_update_op *out);
/* Appends to out (a vec of struct clr_update_op) the operations, newest
 * first: of one updater, or all (updater NULL).  On failure out is as it
 * was. */
int clr_store_update_list(struct clr_store *s, const char *updater,
			  struct clr_vec *out);
/* Appends to out (initialised with clr_vuln_set_init) the complete set of
 * records the operation links, in no particular order; CLR_ENOTFOUND for
 * an unknown ref.  On failure out holds what it held before. */
int clr_store_update_vulns(struct clr_store *s, const char *ref,
			   struct clr_vuln_set *out);
/* added = in cur but not in prev; removed = in prev but not in cur (by
 * content hash).  prev NULL: everything in cur is added.  Both operations
 * must be of the same updater (CLR_EINVALID otherwise); CLR_ENOTFOUND for
 * an unknown ref.  Appends to the two (initialised) sets, as above. */
int clr_store_update_diff(struct clr_store *s, const char *prev_ref,
			  const char *cur_ref, struct clr_vuln_set *added,
			  struct clr_vuln_set *removed);
/* Keeps the newest `keep` (>= 1; CLR_EINVALID for 0, which would delete
 * the data in use) operations of every updater, deletes older ones and
 * every record no remaining operation links.  *deleted (may be NULL)
 * counts the operations deleted.  One transaction. */
int clr_store_update_gc(struct clr_store *s, size_t keep, size_t *deleted);
/* Deletes the operation ref (Clair's DELETE update_operation/{ref}) and
 * every record no remaining operation links; the updater's previous
 * operation, if any, becomes its current one.  *existed (may be NULL)
 * says whether ref was stored; deleting an unknown ref is not an error.
 * Moves the update counter when something was deleted.  One transaction
 * (on PostgreSQL under GC's lock, so no put links a record it deletes). */
int clr_store_update_delete(struct clr_store *s, const char *ref,
			    bool *existed);
/* Every record of the newest operation of every updater, streamed to each()
 * (which returns 0 to go on, non-zero to stop and have that returned): what
 * the matcher loads, read from one consistent snapshot, in no particular
 * order.  The record is borrowed for the call only, and each() must not
 * use s. */
int clr_store_vulns_current(struct clr_store *s,
			    int (*each)(const struct clr_vuln *v, void *arg),
			    void *arg);
/* A number that changes whenever an operation is stored or deleted (it
 * only grows), cheap to poll.  It changes in the same transaction as the
 * data, so a poller that sees the new number also sees the new data. */
int clr_store_update_counter(struct clr_store *s, int64_t *out);

/* Per-updater status (Clair users ask when data was last updated). */
struct clr_updater_status {
	char *updater;
	char *last_attempt;  /* RFC 3339, "" never */
	char *last_success;  /* RFC 3339, "" never */
	char *last_error;    /* "" when the last attempt succeeded */
	size_t count;        /* records in the newest operation */
};
/* Records an attempt now: success (error NULL) or failure (error text;
 * last_success and the data are untouched).  An empty error text is
 * recorded as "(no message)", so a failure never reads as a success. */
int clr_store_status_put(struct clr_store *s, const char *updater,
			 const char *error);
/* Appends to out (a vec of struct clr_updater_status) the status of every
 * updater that has recorded an attempt, by name in byte order. */
int clr_store_status_list(struct clr_store *s, struct clr_vec *out);
/* Frees every status in the vec and releases the vec. */
void clr_updater_status_release(struct clr_vec *v);

/* Serialises updaters across replicas: PostgreSQL pg_try_advisory_lock on a
 * key derived from the updater name (session level, this handle's
 * connection); SQLite: a row in updater_lock, taken over like a manifest
 * lock when its owner is gone.  CLR_EEXISTS when another holder has it,
 * or this handle already does (never waits).  Must be released before the
 * store is closed (close releases it with a warning). */
int clr_store_updater_trylock(struct clr_store *s, const char *updater,
			      struct clr_store_lock **out);
/* Releases and frees an updater lock, as clr_store_unlock_manifest() does a
 * manifest lock (NULL does nothing). */
int clr_store_updater_unlock(struct clr_store_lock *lock);

/* --- notifications (the notifier's tables; notify.c) ---------------------- */

/*
 * What the notifier keeps (docs/notifications.md): a package-name index of
 * the stored index reports (filled by clr_store_report_put in the same
 * transaction as the report), one notification set per processed update
 * operation with its receipt (status, delivery attempts, a delivery claim),
 * and the set's items.  Times are Unix seconds.
 */

/* A notification set's receipt. */
struct clr_notif_receipt {
	char *id;          /* the set's UUID: what the webhook names */
	char *uo_ref;      /* the update operation it came from */
	char *prev_ref;    /* the operation diffed against ("" none) */
	char *updater;
	char *status;      /* created, delivered, delivery_failed, deleted */
	char *last_error;  /* why the last delivery failed ("" none) */
	int64_t created;   /* Unix seconds */
	int64_t next_attempt; /* when a failed delivery is tried again */
	int64_t attempts;  /* deliveries tried */
	size_t items;      /* notifications in the set */
};
void clr_notif_receipt_release(struct clr_notif_receipt *r);
void clr_notif_receipts_release(struct clr_vec *v); /* of receipts */

/* Notification sets by receipt status, for /metrics (every replica's:
 * they share the tables).  "created" and "delivery_failed" are what is
 * still to deliver. */
struct clr_notif_stat {
	char status[24];   /* created, delivered, delivery_failed, deleted */
	int64_t sets;      /* sets with that status */
	int64_t items;     /* notifications in them */
	int64_t attempts;  /* webhook deliveries tried for them */
};
/* Appends one struct clr_notif_stat per status present to out, by
 * status name.  One GROUP BY over the receipts, no items read. */
int clr_store_notification_stats(struct clr_store *s, struct clr_vec *out);

/* One notification: Clair's {id, manifest, reason, vulnerability}. */
struct clr_notif_item {
	char *id;          /* UUID, unique; pages are ordered by it */
	char *manifest;
	char *reason;      /* "added" or "removed" */
	char *vuln;        /* the vulnerability summary, JSON text */
	char *layers;      /* JSON array of the layers introducing it (v1) */
};
void clr_notif_items_release(struct clr_vec *v); /* of items */

/* Appends to out (vec of char *) the manifests whose stored report has a
 * package (binary or source) named one of the n names, each once, in
 * byte order. */
int clr_store_manifests_by_package(struct clr_store *s,
				   const char *const *names, size_t n,
				   struct clr_vec *out);

/* The ref of the newest update operation of updater that the notifier
 * processed and the store still has, in *out (caller frees), or
 * CLR_ENOTFOUND. */
int clr_store_notifier_last(struct clr_store *s, const char *updater,
			    char **out);
/* Whether the operation ref has been processed by some notifier. */
int clr_store_notifier_processed(struct clr_store *s, const char *ref,
				 bool *done);

/* Records, in one transaction, that operation uo_ref (of updater, diffed
 * against prev_ref, may be NULL) is processed and, when n > 0, a new set
 * of the n items (ids are made here; the items' ids are ignored) with
 * status "created"; with n == 0 no set is made.  *id (may be NULL) gets
 * the set's id (NULL when none).  CLR_EEXISTS (nothing written) when
 * another notifier processed uo_ref first: each operation is processed
 * once across replicas. */
int clr_store_notification_create(struct clr_store *s, const char *uo_ref,
				  const char *prev_ref, const char *updater,
				  const struct clr_notif_item *items, size_t n,
				  char **id);
/* The receipt of set id, or CLR_ENOTFOUND. */
int clr_store_notification_get(struct clr_store *s, const char *id,
			       struct clr_notif_receipt *out);
/* Appends every receipt to out, newest first. */
int clr_store_notification_list(struct clr_store *s, struct clr_vec *out);
/* Appends to out at most limit items of set id whose id is above after
 * (NULL: from the first), in id order. */
int clr_store_notification_items(struct clr_store *s, const char *id,
				  const char *after, size_t limit,
				  struct clr_vec *out);
/* Marks set id deleted (GC removes it later); CLR_ENOTFOUND when there
 * is no such set (or it is already deleted). */
int clr_store_notification_delete(struct clr_store *s, const char *id);
/* Claims one set due for delivery (created, or delivery_failed whose
 * next_attempt has come) for owner until now + lease: one row update, so
 * of several replicas exactly one gets each set.  A claim left by a
 * crashed owner expires.  *id (caller frees) is NULL when none is due. */
int clr_store_notification_claim(struct clr_store *s, const char *owner,
				 int64_t now, int64_t lease, char **id);
/* Ends owner's claim on set id: delivered (error NULL) or failed (error
 * text, tried again at next_attempt).  CLR_EEXISTS when the claim was lost
 * (expired and taken by another). */
int clr_store_notification_done(struct clr_store *s, const char *id,
				const char *owner, const char *error,
				int64_t next_attempt);
/* Deletes deleted sets, and sets created before `before` whose status is
 * not "created" (Clair: receipts older than the retention), with their
 * items; *deleted (may be NULL) counts sets. */
int clr_store_notification_gc(struct clr_store *s, int64_t before,
			      size_t *deleted);

/* The distinct package names (binary and source) of an IndexReport's JSON
 * text, appended to out (vec of char *) in byte order; nothing for text
 * that is not a report.  What clr_store_report_put indexes. */
void clr_store_report_package_names(const char *report, struct clr_vec *out);

/* --- legacy API v1 layers (v1layer.c) ---------------------------------------- */

/*
 * The layers a Clair API v1 client posted (POST /v1/layers): its name for
 * the layer, its parent's name ("" for a base layer), the blob's digest
 * (the key of the shared layer scan cache), where the blob was fetched
 * from, and the manifest hash under which the report of the whole chain
 * is stored.  Written once per name.
 */
struct clr_store_v1_layer {
	char *name;
	char *parent_name;   /* "" for a base layer */
	char *layer_hash;    /* "sha256:..." */
	char *path;          /* the URL it was fetched from */
	char *manifest_hash; /* index_report key of the chain's report */
};
void clr_store_v1_layer_release(struct clr_store_v1_layer *l);

/* The layer called name, or CLR_ENOTFOUND. */
int clr_store_v1_layer_get(struct clr_store *s, const char *name,
			   struct clr_store_v1_layer *out);
/* Records l; a name already recorded is kept as it is (not an error). */
int clr_store_v1_layer_put(struct clr_store *s,
			   const struct clr_store_v1_layer *l);
/* Deletes the layer called name and every layer descending from it, in
 * one transaction, appending their manifest hashes to manifests (vec of
 * char *; may be NULL) so the caller can drop their reports.
 * CLR_ENOTFOUND when there is no such layer. */
int clr_store_v1_layer_delete(struct clr_store *s, const char *name,
			      struct clr_vec *manifests);

/* --- for backends -------------------------------------------------------- */

/*
 * The string fields of a record in the order every backend binds and
 * reads them: columns 0..22 of a record's row, normalized_severity (stored
 * as its name, "High") is column 23.  One list, so the backends' SQL and
 * their binding cannot disagree.
 */
#define CLR_STORE_VULN_STRINGS(X) CLR_VULN_STRINGS(X)
#define CLR_STORE_VULN_NSTRINGS 23
#define CLR_STORE_COLUMN_(f) #f ", "
/* "name, updater, ..., affected, normalized_severity" */
#define CLR_STORE_VULN_COLUMNS                                            \
	CLR_STORE_VULN_STRINGS(CLR_STORE_COLUMN_) "normalized_severity"

/* One record of a put, with its content hash. */
struct clr_store_put_rec {
	uint8_t hash[CLR_SHA256_LEN]; /* clr_vuln_hash(), as bytes */
	const struct clr_vuln *v;   /* borrowed from the caller's set */
};

/* A put as the wrapper hands it to a backend. */
struct clr_store_put {
	const char *ref;         /* the new operation's UUID */
	const char *updater;
	const char *fingerprint;
	const struct clr_store_put_rec *recs; /* by hash, no two alike */
	size_t n;
};

/* The hash of a record as stored: lowercase hex, as clr_vuln_hash(). */
void clr_store_hash_hex(char out[CLR_SHA256_HEXLEN + 1],
			const uint8_t hash[CLR_SHA256_LEN]);

/* The severity stored as name (clr_severity_name()); Unknown for a name
 * this clarion does not know.  Sets no error. */
enum clr_severity clr_store_severity_parse(const char *name);

/* A random (version 4) UUID, lowercase, NUL-terminated: the ids of update
 * operations and notifications, made here rather than by the database so
 * both backends make the same kind.  CLR_ERROR "cannot make WHAT: ..."
 * when the kernel gives no random bytes. */
int clr_store_uuid4(char out[37], const char *what);

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

	/* Update operations.  The wrapper has checked the arguments, made
	 * the ref, and hashed, sorted and de-duplicated the records; out
	 * is never NULL.  Sets and vecs are appended to; on failure the
	 * wrapper drops what was appended (a backend that retries must drop
	 * its own first attempt's rows). */
	int (*update_put)(struct clr_store *s, const struct clr_store_put *put,
			  struct clr_update_op *out);
	int (*update_latest)(struct clr_store *s, const char *updater,
			     struct clr_update_op *out);
	int (*update_get)(struct clr_store *s, const char *ref,
			  struct clr_update_op *out);
	int (*update_list)(struct clr_store *s, const char *updater,
			   struct clr_vec *out);
	int (*update_vulns)(struct clr_store *s, const char *ref,
			    struct clr_vuln_set *out);
	/* prev_ref may be NULL. */
	int (*update_diff)(struct clr_store *s, const char *prev_ref,
			   const char *cur_ref, struct clr_vuln_set *added,
			   struct clr_vuln_set *removed);
	int (*update_gc)(struct clr_store *s, size_t keep, size_t *deleted);
	int (*update_delete)(struct clr_store *s, const char *ref,
			     bool *existed);
	int (*vulns_current)(struct clr_store *s,
			     int (*each)(const struct clr_vuln *v, void *arg),
			     void *arg);
	int (*update_counter)(struct clr_store *s, int64_t *out);
	/* error NULL: a success. */
	int (*status_put)(struct clr_store *s, const char *updater,
			  const char *error);
	int (*status_list)(struct clr_store *s, struct clr_vec *out);
	/* As lock() without waiting, for an updater's lock. */
	int (*updater_lock)(struct clr_store *s, const char *updater,
			    uint64_t *token);
	int (*updater_unlock)(struct clr_store *s, const char *updater,
			      uint64_t token);

	/* Plain SQL, for the notifier's tables (notify.c writes its
	 * statements once for both backends, in the SQL they share).
	 * Parameters are $1..$n, text, a NULL param binds NULL; row() (may
	 * be NULL) gets each result row as text (NULL columns as NULL) and
	 * returns non-zero to stop with that; *changes (may be NULL) the
	 * rows a write changed.  sql_begin starts a write transaction
	 * (SQLite: BEGIN IMMEDIATE). */
	int (*sql_run)(struct clr_store *s, const char *sql,
		       const char *const *params, int n,
		       int (*row)(void *arg, int ncols,
				  const char *const *cols),
		       void *arg, int64_t *changes);
	int (*sql_begin)(struct clr_store *s);
	int (*sql_commit)(struct clr_store *s);
	void (*sql_rollback)(struct clr_store *s);
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

/* Logs that migration m is being applied to location: at info level when
 * an existing database is upgraded (operators want to know), at debug
 * level when a new one is being created (a first `clarion scan` is not
 * news). */
void clr_log_migration(bool fresh, const char *location,
		       const struct clr_store_migration *m);
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
