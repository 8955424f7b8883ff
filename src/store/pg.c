/*
 * pg.c - the shared store: PostgreSQL through libpq.
 *
 * For `clarion serve` replicas sharing one database.  One handle is one
 * connection (PGconn); the indexer opens one per worker thread, so manifest
 * locks, which are session-level advisory locks, belong to a handle.
 *
 * Values always travel as parameters (PQexecParams), never inside SQL
 * text.  Each write is one transaction.  When the server goes away (a
 * restart, a failover behind a proxy), the call that notices fails over
 * to a fresh connection once and runs again from the start: every
 * operation here is idempotent, and the server rolled back whatever the
 * lost connection had begun.  Advisory locks die with their connection;
 * the connection's generation tells unlock whether its lock survived.
 */
#include "store/store.h"

#include <assert.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/log.h"
#include "util/sha256.h"

/* libpq waits forever for a server that does not answer; a store that
 * cannot connect in this long is reported as down (the URL's own
 * connect_timeout wins). */
#define CONNECT_TIMEOUT "10"

/* The largest layer list, as an array literal, that put will send. */
#define LAYER_ARRAY_MAX (16u << 20)

struct pg_store {
	struct clr_store base;
	PGconn *conn;
	char *password;      /* the URL's password, scrubbed from messages */
	uint64_t generation; /* bumped at each reconnection */
};

static struct pg_store *pg(struct clr_store *s)
{
	assert(s->ops == &clr_store_pg);
	return (struct pg_store *)s;
}

/* --- URLs and messages ---------------------------------------------------- */

/* Where the password of a postgres:// URL is: [*start, *end), both NULL
 * when there is none in the authority part. */
static void url_password(const char *url, const char **start,
			 const char **end)
{
	const char *auth = strstr(url, "://"), *stop, *at = NULL, *colon;

	*start = *end = NULL;
	if (!auth)
		return;
	auth += 3;
	stop = auth + strcspn(auth, "/?#");
	for (const char *p = auth; p < stop; p++)
		if (*p == '@')
			at = p;
	if (!at)
		return;
	colon = memchr(auth, ':', (size_t)(at - auth));
	if (colon) {
		*start = colon + 1;
		*end = at;
	}
}

/*
 * The URL with its password (in the user part or as ?password=) shown as
 * "***", for every message and log line.  Other parameters stay: they are
 * what a reader needs to see which server was meant.
 */
static char *redact_url(const char *url)
{
	struct clr_buf b = CLR_BUF_INIT(64 * 1024);
	const char *pw, *pw_end, *q, *p;

	/* Longer than any real URL, and than the buffer could redact. */
	if (strlen(url) > 16 * 1024)
		return clr_strdup("postgres://(a URL too long to show)");
	url_password(url, &pw, &pw_end);
	if (pw) {
		clr_buf_add(&b, url, (size_t)(pw - url));
		clr_buf_addstr(&b, "***");
		p = pw_end;
	} else {
		p = url;
	}
	q = strchr(p, '?');
	if (!q) {
		clr_buf_addstr(&b, p);
		return clr_buf_detach(&b, NULL);
	}
	clr_buf_add(&b, p, (size_t)(q - p));
	while (*q) {
		size_t n = strcspn(q + 1, "&") + 1; /* the separator and a pair */

		if (!strncmp(q + 1, "password=", 9)) {
			clr_buf_add(&b, q, 10);
			clr_buf_addstr(&b, "***");
		} else {
			clr_buf_add(&b, q, n);
		}
		q += n;
	}
	return clr_buf_detach(&b, NULL);
}

/*
 * libpq's messages end in a newline and may span lines ("Is the server
 * running on that host...?"); ours are one line.  A password that libpq
 * echoes (in a complaint about its encoding) is blanked.
 */
static const char *one_line(char *buf, size_t size, const char *msg,
			    const char *password)
{
	size_t n = 0, plen = password ? strlen(password) : 0;
	char *hit = buf;

	for (const char *p = msg ? msg : ""; *p && n + 3 < size; p++) {
		if (*p == '\n' || *p == '\r') {
			while (p[1] == '\t' || p[1] == ' ' || p[1] == '\n')
				p++;
			if (p[1] && n)
				buf[n++] = ';', buf[n++] = ' ';
			continue;
		}
		buf[n++] = *p == '\t' ? ' ' : *p;
	}
	buf[n] = '\0';
	while (plen && (hit = strstr(hit, password))) {
		memset(hit, '*', plen);
		hit += plen;
	}
	return buf;
}

/* --- results and errors --------------------------------------------------- */

/* An error from a failed statement.  A connection that broke is CLR_ENET
 * (and makes the caller's retry loop reconnect); a full disk or a
 * read-only server is CLR_EIO, as with SQLite; bad data CLR_EINVALID. */
static int pg_error(struct pg_store *p, const PGresult *res, const char *doing)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorMessage(res) : NULL;
	char line[768];
	int code = CLR_ERROR;

	if (!msg || !*msg)
		msg = PQerrorMessage(p->conn);
	one_line(line, sizeof(line), msg, p->password);
	if (PQstatus(p->conn) == CONNECTION_BAD)
		return clr_error_set(CLR_ENET, "%s %s: connection lost: %s",
				     doing, p->base.location, line);
	if (state && (!strncmp(state, "53", 2) || !strcmp(state, "25006") ||
		      !strncmp(state, "58", 2)))
		code = CLR_EIO;
	else if (state && !strncmp(state, "22", 2))
		code = CLR_EINVALID;
	else if (state && !strncmp(state, "08", 2))
		code = CLR_ENET;
	return clr_error_set(code, "%s %s: %s", doing, p->base.location, line);
}

/* Runs one statement with text parameters.  On success *out (when not
 * NULL) holds the result, for the caller to PQclear. */
static int pg_exec(struct pg_store *p, const char *doing, const char *sql,
		   int n, const char *const *params, PGresult **out)
{
	PGresult *res = PQexecParams(p->conn, sql, n, NULL, params, NULL, NULL,
				     0);
	ExecStatusType st = PQresultStatus(res);
	int err;

	if (out)
		*out = NULL;
	if (res && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)) {
		if (out)
			*out = res;
		else
			PQclear(res);
		return 0;
	}
	err = pg_error(p, res, doing);
	PQclear(res);
	return err;
}

/* A script of several statements without parameters (the migrations):
 * only the simple query protocol runs those in one call. */
static int pg_script(struct pg_store *p, const char *doing, const char *sql)
{
	PGresult *res = PQexec(p->conn, sql);
	int err = 0;

	if (PQresultStatus(res) != PGRES_COMMAND_OK &&
	    PQresultStatus(res) != PGRES_TUPLES_OK)
		err = pg_error(p, res, doing);
	PQclear(res);
	return err;
}

static int pg_begin(struct pg_store *p, const char *doing)
{
	return pg_exec(p, doing, "BEGIN", 0, NULL, NULL);
}

static int pg_commit(struct pg_store *p, const char *doing)
{
	return pg_exec(p, doing, "COMMIT", 0, NULL, NULL);
}

/* After a failure inside a transaction; keeps the error message. */
static void pg_rollback(struct pg_store *p)
{
	PGTransactionStatusType ts = PQtransactionStatus(p->conn);

	if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR)
		PQclear(PQexec(p->conn, "ROLLBACK"));
}

/* --- connections ------------------------------------------------------------ */

/* Server notices ("relation already exists, skipping") are for debugging. */
static void on_notice(void *arg, const char *message)
{
	struct pg_store *p = arg;
	char line[512];

	clr_log_debug("store: %s: %s", p->base.location,
		      one_line(line, sizeof(line), message, p->password));
}

/* Fails over to a new connection once per call: the server may have been
 * restarted under us.  Locks held on the old connection are gone. */
static int pg_reconnect(struct pg_store *p)
{
	char line[768];

	clr_log_warn("store: connection to %s lost; reconnecting",
		     p->base.location);
	PQreset(p->conn);
	p->generation++;
	if (PQstatus(p->conn) != CONNECTION_OK)
		return clr_error_set(CLR_ENET, "cannot reconnect to %s: %s",
				     p->base.location,
				     one_line(line, sizeof(line),
					      PQerrorMessage(p->conn),
					      p->password));
	return 0;
}

/* Before a call: a connection already known broken is replaced now. */
static int pg_ensure(struct pg_store *p)
{
	return PQstatus(p->conn) == CONNECTION_OK ? 0 : pg_reconnect(p);
}

/* After an attempt: whether to reconnect and run it again.  Only once,
 * and only when the failure was the connection itself. */
static bool pg_retry(struct pg_store *p, int err, int attempt)
{
	return err == CLR_ENET && attempt == 0 &&
	       PQstatus(p->conn) == CONNECTION_BAD && !pg_reconnect(p);
}

/* The 64-bit advisory lock key for a name: the first 8 bytes of SHA-256,
 * as the signed decimal PostgreSQL's bigint wants.  The prefix keeps
 * clarion's keys apart from each other's kinds (manifests, migrations,
 * later updaters). */
static int lock_key(char out[24], const char *kind, const char *name)
{
	struct clr_sha256 h;
	uint8_t d[CLR_SHA256_LEN];
	uint64_t u = 0;
	int64_t k;
	int err;

	if ((err = clr_sha256_init(&h)) ||
	    (err = clr_sha256_update(&h, "clarion:", 8)) ||
	    (err = clr_sha256_update(&h, kind, strlen(kind) + 1)) ||
	    (err = clr_sha256_update(&h, name, strlen(name))) ||
	    (err = clr_sha256_final(&h, d))) {
		clr_sha256_release(&h);
		return err;
	}
	for (int i = 0; i < 8; i++)
		u = u << 8 | d[i];
	/* Two's complement by arithmetic, not by an implementation-defined
	 * conversion. */
	k = u > (uint64_t)INT64_MAX ? -(int64_t)(~u) - 1 : (int64_t)u;
	snprintf(out, 24, "%" PRId64, k);
	return 0;
}

/* Reads one text value (row 0, column 0) of a query. */
static int query_text(struct pg_store *p, const char *doing, const char *sql,
		      char *out, size_t size)
{
	PGresult *res;
	int err;

	if ((err = pg_exec(p, doing, sql, 0, NULL, &res)))
		return err;
	snprintf(out, size, "%s", PQntuples(res) ? PQgetvalue(res, 0, 0) : "");
	PQclear(res);
	return 0;
}

static int read_version(struct pg_store *p, int *out, bool *has_table)
{
	static const char doing[] = "cannot read the schema version of";
	char v[32];
	int err;

	/* to_regclass follows search_path, as the CREATE TABLEs did. */
	if ((err = query_text(p, doing, "SELECT to_regclass("
			      "'schema_migrations') IS NOT NULL", v, sizeof(v))))
		return err;
	*has_table = v[0] == 't';
	*out = 0;
	if (!*has_table)
		return 0;
	if ((err = query_text(p, doing, "SELECT coalesce(max(version), 0) "
			      "FROM schema_migrations", v, sizeof(v))))
		return err;
	*out = atoi(v);
	return 0;
}

/*
 * As in sqlite.c: look first without locking (an up-to-date database, the
 * common case, costs two small queries), then migrate under an advisory
 * lock so that replicas starting together migrate once.  The lock is a
 * session lock taken before BEGIN, not a transaction lock taken after:
 * a backend refreshes its catalog caches when a transaction starts, so
 * only a transaction begun after the previous migrator committed sees the
 * tables it made.  PostgreSQL's DDL is transactional: a failed migration
 * leaves nothing behind.
 */
static int migrate_locked(struct pg_store *p)
{
	static const char doing[] = "cannot migrate";
	const char *params[1];
	char ver[16];
	bool has_table;
	int version, err;

	if ((err = pg_begin(p, doing)) ||
	    (err = read_version(p, &version, &has_table)) ||
	    (err = clr_store_schema_check(version, p->base.location)))
		goto fail;
	if (!has_table &&
	    (err = pg_script(p, doing, clr_store_schema_table_pg)))
		goto fail;
	for (size_t i = 0; i < clr_store_migrations_count; i++) {
		const struct clr_store_migration *m = &clr_store_migrations[i];

		if (m->version <= version)
			continue;
		clr_log_info("store: migrating %s to schema %d: %s",
			     p->base.location, m->version, m->what);
		snprintf(ver, sizeof(ver), "%d", m->version);
		params[0] = ver;
		if ((err = pg_script(p, doing, m->pg)) ||
		    (err = pg_exec(p, doing, "INSERT INTO schema_migrations "
				   "(version) VALUES ($1::integer)", 1, params,
				   NULL)))
			goto fail;
	}
	if ((err = pg_commit(p, doing)))
		goto fail;
	return 0;
fail:
	pg_rollback(p);
	return err;
}

static int migrate(struct pg_store *p)
{
	static const char doing[] = "cannot migrate";
	char key[24];
	const char *params[] = { key };
	bool has_table;
	int version, err;

	if ((err = read_version(p, &version, &has_table)) ||
	    (err = clr_store_schema_check(version, p->base.location)))
		return err;
	if (version < clr_store_schema_latest()) {
		if ((err = lock_key(key, "migrate", "")) ||
		    (err = pg_exec(p, doing, "SELECT pg_advisory_lock("
				   "$1::bigint)", 1, params, NULL)))
			return err;
		err = migrate_locked(p);
		/* On failure too: the session outlives this call. */
		PQclear(PQexecParams(p->conn, "SELECT pg_advisory_unlock("
				     "$1::bigint)", 1, NULL, params, NULL, NULL,
				     0));
		if (err)
			return err;
	}
	p->base.schema_version = clr_store_schema_latest();
	return 0;
}

static int pg_open(struct clr_store **out, const char *location)
{
	/* Keywords before dbname are defaults the URL may override. */
	static const char *const keys[] = {
		"connect_timeout", "application_name", "dbname", NULL,
	};
	const char *values[] = { CONNECT_TIMEOUT, "clarion", location, NULL };
	struct pg_store *p = clr_calloc(1, sizeof(*p));
	const char *pw, *pw_end;
	PQconninfoOption *opts;
	char *perr = NULL, line[768];
	int err;

	p->base.ops = &clr_store_pg;
	p->base.location = redact_url(location);
	url_password(location, &pw, &pw_end);
	if (pw && pw_end > pw)
		p->password = clr_strndup(pw, (size_t)(pw_end - pw));
	/* A malformed URL is a mistake in the configuration, not a network
	 * failure: say so before trying to connect. */
	opts = PQconninfoParse(location, &perr);
	if (!opts) {
		err = clr_error_set(CLR_EINVALID, "invalid PostgreSQL URL %s: %s",
				    p->base.location,
				    perr ? one_line(line, sizeof(line), perr,
						    p->password) :
					   "out of memory");
		PQfreemem(perr);
		goto fail;
	}
	PQconninfoFree(opts);
	p->conn = PQconnectdbParams(keys, values, 1);
	if (!p->conn) {
		err = clr_error_set(CLR_ENOMEM, "cannot connect to %s: out of "
				    "memory", p->base.location);
		goto fail;
	}
	if (PQstatus(p->conn) != CONNECTION_OK) {
		err = clr_error_set(CLR_ENET, "cannot connect to %s: %s",
				    p->base.location,
				    one_line(line, sizeof(line),
					     PQerrorMessage(p->conn),
					     p->password));
		goto fail;
	}
	PQsetNoticeProcessor(p->conn, on_notice, p);
	if ((err = migrate(p)))
		goto fail;
	*out = &p->base;
	return 0;
fail:
	clr_store_pg.close(&p->base);
	return err;
}

static void pg_close(struct clr_store *s)
{
	struct pg_store *p = pg(s);

	PQfinish(p->conn);
	free(p->password);
	free(p->base.location);
	free(p);
}

/* The body of every operation: connect if needed, run once, and once more
 * on a fresh connection if the first run lost the old one. */
#define PG_RUN(p, call)                                             \
	do {                                                        \
		int err_;                                           \
		for (int try_ = 0;; try_++) {                       \
			if ((err_ = pg_ensure(p)))                  \
				return err_;                        \
			err_ = (call);                              \
			if (!pg_retry((p), err_, try_))             \
				return err_;                        \
		}                                                   \
	} while (0)

/* --- index reports ---------------------------------------------------------- */

static int report_get(struct pg_store *p, const char *hash,
		      struct clr_store_report *out)
{
	const char *params[] = { hash };
	PGresult *res;
	int err;

	if ((err = pg_exec(p, "cannot read index report from",
			   "SELECT index_state, state, report FROM index_report "
			   "WHERE manifest_hash = $1", 1, params, &res)))
		return err;
	if (!PQntuples(res)) {
		PQclear(res);
		return clr_error_set(CLR_ENOTFOUND, "no index report for "
				     "manifest %s", hash);
	}
	out->index_state = clr_strdup(PQgetvalue(res, 0, 0));
	out->state = clr_strdup(PQgetvalue(res, 0, 1));
	out->report = clr_strdup(PQgetvalue(res, 0, 2));
	PQclear(res);
	return 0;
}

static int pg_report_get(struct clr_store *s, const char *hash,
			 struct clr_store_report *out)
{
	PG_RUN(pg(s), report_get(pg(s), hash, out));
}

/* A text[] literal, {"a","b"}: the layer list goes to the server as one
 * parameter, so a put is the same few round trips whatever the count. */
static int text_array(struct clr_buf *b, const char *const *items, size_t n)
{
	int err = clr_buf_addch(b, '{');

	for (size_t i = 0; i < n && !err; i++) {
		if (i)
			err = clr_buf_addch(b, ',');
		err = err ? err : clr_buf_addch(b, '"');
		for (const char *c = items[i]; *c && !err; c++) {
			if (*c == '"' || *c == '\\')
				err = clr_buf_addch(b, '\\');
			err = err ? err : clr_buf_addch(b, *c);
		}
		err = err ? err : clr_buf_addch(b, '"');
	}
	err = err ? err : clr_buf_addch(b, '}');
	if (err)
		return clr_error_set(CLR_ELIMIT, "layer list too long");
	return 0;
}

static int report_put(struct pg_store *p, const char *hash,
		      const struct clr_store_report *r,
		      const char *layer_array)
{
	static const char doing[] = "cannot store index report in";
	const char *report[] = { hash, r->index_state, r->state, r->report };
	const char *links[] = { hash, layer_array };
	int err;

	if ((err = pg_begin(p, doing)) ||
	    (err = pg_exec(p, doing,
			   "INSERT INTO index_report (manifest_hash, "
			   "index_state, state, report) VALUES ($1, $2, $3, $4) "
			   "ON CONFLICT (manifest_hash) DO UPDATE SET "
			   "index_state = excluded.index_state, "
			   "state = excluded.state, report = excluded.report, "
			   "updated_at = now()", 4, report, NULL)))
		goto fail;
	if (layer_array &&
	    ((err = pg_exec(p, doing, "DELETE FROM manifest_layer "
			    "WHERE manifest_hash = $1", 1, links, NULL)) ||
	     (err = pg_exec(p, doing, "INSERT INTO manifest_layer "
			    "(manifest_hash, position, layer_hash) "
			    "SELECT $1, t.ord - 1, t.h FROM "
			    "unnest($2::text[]) WITH ORDINALITY AS t (h, ord)",
			    2, links, NULL))))
		goto fail;
	if ((err = pg_commit(p, doing)))
		goto fail;
	return 0;
fail:
	pg_rollback(p);
	return err;
}

static int report_put_run(struct pg_store *p, const char *hash,
			  const struct clr_store_report *r,
			  const char *layer_array)
{
	PG_RUN(p, report_put(p, hash, r, layer_array));
}

static int pg_report_put(struct clr_store *s, const char *hash,
			 const struct clr_store_report *r,
			 const char *const *layers, size_t n_layers)
{
	struct clr_buf arr = CLR_BUF_INIT(LAYER_ARRAY_MAX);
	int err = layers ? text_array(&arr, layers, n_layers) : 0;

	if (!err)
		err = report_put_run(pg(s), hash, r,
				     layers ? clr_buf_str(&arr) : NULL);
	clr_buf_release(&arr);
	return err;
}

static int report_delete(struct pg_store *p, const char *hash, bool *existed)
{
	static const char doing[] = "cannot delete index report from";
	const char *params[] = { hash };
	PGresult *res = NULL;
	int err;

	*existed = false;
	if ((err = pg_begin(p, doing)) ||
	    (err = pg_exec(p, doing,
			   "DELETE FROM layer_scan WHERE layer_hash IN "
			   "(SELECT layer_hash FROM manifest_layer "
			   "WHERE manifest_hash = $1) "
			   "AND NOT EXISTS (SELECT 1 FROM manifest_layer o "
			   "WHERE o.layer_hash = layer_scan.layer_hash "
			   "AND o.manifest_hash <> $1)", 1, params, NULL)) ||
	    (err = pg_exec(p, doing, "DELETE FROM manifest_layer "
			   "WHERE manifest_hash = $1", 1, params, NULL)) ||
	    (err = pg_exec(p, doing, "DELETE FROM index_report "
			   "WHERE manifest_hash = $1", 1, params, &res)))
		goto fail;
	*existed = atoi(PQcmdTuples(res)) > 0;
	PQclear(res);
	if ((err = pg_commit(p, doing)))
		goto fail;
	return 0;
fail:
	*existed = false;
	pg_rollback(p);
	return err;
}

static int pg_report_delete(struct clr_store *s, const char *hash,
			    bool *existed)
{
	PG_RUN(pg(s), report_delete(pg(s), hash, existed));
}

/* Appends column 0 of every row to out.  Nothing is appended on failure,
 * so a retried call does not list twice. */
static int collect(struct pg_store *p, const char *doing, const char *sql,
		   int n, const char *const *params, struct clr_vec *out)
{
	PGresult *res;
	int err;

	if ((err = pg_exec(p, doing, sql, n, params, &res)))
		return err;
	for (int i = 0; i < PQntuples(res); i++) {
		char *v = clr_strdup(PQgetvalue(res, i, 0));

		CLR_VEC_PUSH(out, &v);
	}
	PQclear(res);
	return 0;
}

static int pg_manifest_list(struct clr_store *s, const char *after,
			    size_t limit, struct clr_vec *out)
{
	char lim[24];
	const char *params[] = { after, limit ? lim : NULL };

	snprintf(lim, sizeof(lim), "%zu", limit);
	/* COLLATE "C": byte order whatever the database's collation, so
	 * paging agrees with SQLite.  LIMIT NULL is no limit. */
	PG_RUN(pg(s), collect(pg(s), "cannot list manifests in",
			      "SELECT manifest_hash FROM index_report "
			      "WHERE manifest_hash > $1 COLLATE \"C\" "
			      "ORDER BY manifest_hash COLLATE \"C\" "
			      "LIMIT $2::bigint", 2, params, out));
}

static int manifest_layers(struct pg_store *p, const char *hash,
			   struct clr_vec *out)
{
	static const char doing[] = "cannot read manifest layers from";
	const char *params[] = { hash };
	size_t before = out->len;
	PGresult *res;
	bool found;
	int err;

	if ((err = collect(p, doing, "SELECT layer_hash FROM manifest_layer "
			   "WHERE manifest_hash = $1 ORDER BY position", 1,
			   params, out)) || out->len > before)
		return err;
	if ((err = pg_exec(p, doing, "SELECT 1 FROM index_report "
			   "WHERE manifest_hash = $1", 1, params, &res)))
		return err;
	found = PQntuples(res) > 0;
	PQclear(res);
	if (!found)
		return clr_error_set(CLR_ENOTFOUND, "no index report for "
				     "manifest %s", hash);
	return 0;
}

static int pg_manifest_layers(struct clr_store *s, const char *hash,
			      struct clr_vec *out)
{
	PG_RUN(pg(s), manifest_layers(pg(s), hash, out));
}

/* --- layer scan cache --------------------------------------------------------- */

static int layer_scan_get(struct pg_store *p, const char *layer,
			  const struct clr_store_scanner *sc, char **artifacts)
{
	const char *params[] = { layer, sc->name, sc->version };
	PGresult *res;
	int err;

	if ((err = pg_exec(p, "cannot read layer scan from",
			   "SELECT artifacts FROM layer_scan WHERE "
			   "layer_hash = $1 AND scanner = $2 AND "
			   "scanner_version = $3", 3, params, &res)))
		return err;
	if (!PQntuples(res)) {
		PQclear(res);
		return clr_error_set(CLR_ENOTFOUND, "layer %s not scanned by "
				     "%s %s", layer, sc->name, sc->version);
	}
	*artifacts = clr_strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

static int pg_layer_scan_get(struct clr_store *s, const char *layer,
			     const struct clr_store_scanner *sc,
			     char **artifacts)
{
	PG_RUN(pg(s), layer_scan_get(pg(s), layer, sc, artifacts));
}

static int pg_layer_scan_put(struct clr_store *s, const char *layer,
			     const struct clr_store_scanner *sc,
			     const char *artifacts)
{
	const char *params[] = { layer, sc->name, sc->version, artifacts };

	/* One statement: atomic on its own. */
	PG_RUN(pg(s), pg_exec(pg(s), "cannot store layer scan in",
			      "INSERT INTO layer_scan (layer_hash, scanner, "
			      "scanner_version, artifacts) "
			      "VALUES ($1, $2, $3, $4) "
			      "ON CONFLICT (layer_hash, scanner, scanner_version) "
			      "DO UPDATE SET artifacts = excluded.artifacts, "
			      "scanned_at = now()", 4, params, NULL));
}

static int layer_scanned(struct pg_store *p, const char *layer,
			 const struct clr_store_scanner *scanners, size_t n,
			 bool *scanned)
{
	const char *params[] = { layer };
	PGresult *res;
	int err;

	if ((err = pg_exec(p, "cannot read layer scans from",
			   "SELECT scanner, scanner_version FROM layer_scan "
			   "WHERE layer_hash = $1", 1, params, &res)))
		return err;
	for (int r = 0; r < PQntuples(res); r++)
		for (size_t i = 0; i < n; i++)
			if (!strcmp(scanners[i].name, PQgetvalue(res, r, 0)) &&
			    !strcmp(scanners[i].version, PQgetvalue(res, r, 1)))
				scanned[i] = true;
	PQclear(res);
	return 0;
}

static int pg_layer_scanned(struct clr_store *s, const char *layer,
			    const struct clr_store_scanner *scanners, size_t n,
			    bool *scanned)
{
	PG_RUN(pg(s), layer_scanned(pg(s), layer, scanners, n, scanned));
}

/* --- manifest locks -------------------------------------------------------------- */

/* pg_advisory_lock waits in the server, so this thread blocks on its own
 * connection without polling; the try form answers at once. */
static int lock(struct pg_store *p, const char *hash, bool wait,
		uint64_t *token)
{
	char key[24];
	const char *params[] = { key };
	PGresult *res;
	bool taken;
	int err;

	if ((err = lock_key(key, "manifest", hash)))
		return err;
	if ((err = pg_exec(p, "cannot lock manifest in", wait ?
			   "SELECT pg_advisory_lock($1::bigint), true" :
			   "SELECT pg_try_advisory_lock($1::bigint)", 1, params,
			   &res)))
		return err;
	taken = PQntuples(res) && PQgetvalue(res, 0, wait ? 1 : 0)[0] == 't';
	PQclear(res);
	if (!taken)
		return clr_error_set(CLR_EEXISTS, "manifest %s is locked by "
				     "another session", hash);
	*token = p->generation;
	return 0;
}

static int pg_lock(struct clr_store *s, const char *hash, bool wait,
		   uint64_t *token)
{
	PG_RUN(pg(s), lock(pg(s), hash, wait, token));
}

static int pg_unlock(struct clr_store *s, const char *hash, uint64_t token)
{
	struct pg_store *p = pg(s);
	char key[24];
	const char *params[] = { key };
	PGresult *res;
	bool held;
	int err;

	/* The connection that held it is gone, and the server released the
	 * lock then: someone else may have done the work meanwhile. */
	if (token != p->generation || PQstatus(p->conn) != CONNECTION_OK) {
		clr_log_warn("store: the lock on manifest %s was lost with "
			     "its connection", hash);
		return 0;
	}
	if ((err = lock_key(key, "manifest", hash)) ||
	    (err = pg_exec(p, "cannot unlock manifest in",
			   "SELECT pg_advisory_unlock($1::bigint)", 1, params,
			   &res)))
		return err;
	held = PQntuples(res) && PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	if (!held)
		clr_log_warn("store: the lock on manifest %s was not held at "
			     "unlock", hash);
	return 0;
}

const struct clr_store_ops clr_store_pg = {
	.name = "postgres",
	.open = pg_open,
	.close = pg_close,
	.report_get = pg_report_get,
	.report_put = pg_report_put,
	.report_delete = pg_report_delete,
	.manifest_list = pg_manifest_list,
	.manifest_layers = pg_manifest_layers,
	.layer_scan_get = pg_layer_scan_get,
	.layer_scan_put = pg_layer_scan_put,
	.layer_scanned = pg_layer_scanned,
	.lock = pg_lock,
	.unlock = pg_unlock,
};
