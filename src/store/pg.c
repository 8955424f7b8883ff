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
 *
 * An update operation's records go in with COPY into a temporary table,
 * then two set-based statements store the new records and link them all
 * (see update_put()).  Large results (the records the matcher loads) are
 * read in single-row mode, so they never sit whole in memory.
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
		clr_log_migration(version <= 0, p->base.location, m);
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
	/* client_encoding: clarion's strings are UTF-8, whatever the
	 * database's own encoding. */
	static const char *const keys[] = {
		"connect_timeout", "application_name", "client_encoding",
		"dbname", NULL,
	};
	const char *values[] = {
		CONNECT_TIMEOUT, "clarion", "UTF8", location, NULL,
	};
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
		      const char *layer_array, const char *name_array)
{
	static const char doing[] = "cannot store index report in";
	const char *report[] = { hash, r->index_state, r->state, r->report };
	const char *links[] = { hash, layer_array };
	const char *names[] = { hash, name_array };
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
	/* The notifier's package-name index, in the report's transaction. */
	if ((err = pg_exec(p, doing, "DELETE FROM manifest_package "
			   "WHERE manifest_hash = $1", 1, names, NULL)) ||
	    (err = pg_exec(p, doing, "INSERT INTO manifest_package "
			   "(manifest_hash, name) SELECT DISTINCT $1, n FROM "
			   "unnest($2::text[]) AS t (n) ON CONFLICT DO NOTHING",
			   2, names, NULL)))
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
			  const char *layer_array, const char *name_array)
{
	PG_RUN(p, report_put(p, hash, r, layer_array, name_array));
}

static int pg_report_put(struct clr_store *s, const char *hash,
			 const struct clr_store_report *r,
			 const char *const *layers, size_t n_layers)
{
	struct clr_buf arr = CLR_BUF_INIT(LAYER_ARRAY_MAX);
	struct clr_buf narr = CLR_BUF_INIT(LAYER_ARRAY_MAX);
	struct clr_vec names = CLR_VEC_INIT(char *);
	int err = layers ? text_array(&arr, layers, n_layers) : 0;

	clr_store_report_package_names(r->report, &names);
	if (!err)
		err = text_array(&narr, (const char *const *)names.items,
				 names.len);
	if (!err)
		err = report_put_run(pg(s), hash, r,
				     layers ? clr_buf_str(&arr) : NULL,
				     clr_buf_str(&narr));
	clr_buf_release(&arr);
	clr_buf_release(&narr);
	clr_store_strings_release(&names);
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

/* --- update operations --------------------------------------------------- */

/* A timestamptz as RFC 3339 UTC with milliseconds, as SQLite stores them. */
#define PG_TS(col)                                                        \
	"to_char(" col " AT TIME ZONE 'UTC', "                            \
	"'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

/* The columns of struct clr_update_op, read by op_read(). */
#define OP_COLUMNS                                                        \
	"id, ref, updater, fingerprint, " PG_TS("date") ", kind, vuln_count"

/* The operations GC deletes: all but the newest $1 of each updater. */
#define GC_VICTIMS                                                        \
	"SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY "     \
	"updater ORDER BY id DESC) AS age FROM update_operation) o "     \
	"WHERE age > $1::bigint"

/* The records no operation links any more (GC and a deleted operation
 * leave them). */
#define GC_VULNS                                                          \
	"DELETE FROM vuln v WHERE NOT EXISTS "                             \
	"(SELECT 1 FROM uo_vuln l WHERE l.vuln_id = v.id)"

/* Increments the update counter and tells listeners (replicas may LISTEN
 * clarion_update) its new value; both take effect at COMMIT. */
#define COUNTER_BUMP                                                      \
	"WITH c AS (UPDATE update_counter SET value = value + 1 "          \
	"RETURNING value) SELECT pg_notify('clarion_update', "           \
	"value::text) FROM c"

/* COPY data is sent in pieces of about this size. */
#define COPY_CHUNK (1u << 20)

/* The largest single record COPY will carry (all fields escaped). */
#define COPY_RECORD_MAX (256u << 20)

/* The advisory lock that keeps GC and puts apart: puts share it, GC
 * takes it alone (see migrations.c, uo_vuln). */
static int gc_key(char key[24])
{
	return lock_key(key, "update-gc", "");
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int rec_cmp(const void *a, const void *b)
{
	const struct clr_store_put_rec *x = a, *y = b;

	return memcmp(x->hash, y->hash, sizeof(x->hash));
}

static int id_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static int64_t to_int64(const char *s)
{
	return strtoll(s, NULL, 10);
}

/* Row r of an OP_COLUMNS result. */
static void op_read(const PGresult *res, int r, struct clr_update_op *out)
{
	int64_t count = to_int64(PQgetvalue(res, r, 6));

	out->id = to_int64(PQgetvalue(res, r, 0));
	out->ref = clr_strdup(PQgetvalue(res, r, 1));
	out->updater = clr_strdup(PQgetvalue(res, r, 2));
	out->fingerprint = clr_strdup(PQgetvalue(res, r, 3));
	out->date = clr_strdup(PQgetvalue(res, r, 4));
	out->kind = clr_strdup(PQgetvalue(res, r, 5));
	out->count = count > 0 ? (size_t)count : 0;
}

/* Runs a query yielding at most one operation: CLR_ENOTFOUND (naming
 * what) when it yields none. */
static int op_one(struct pg_store *p, const char *sql, int n,
		  const char *const *params, struct clr_update_op *out,
		  const char *what)
{
	PGresult *res;
	int err;

	if ((err = pg_exec(p, "cannot read update operations from", sql, n,
			   params, &res)))
		return err;
	if (PQntuples(res))
		op_read(res, 0, out);
	else
		err = clr_error_set(CLR_ENOTFOUND, "no update operation %s",
				    what);
	PQclear(res);
	return err;
}

static int op_by_ref(struct pg_store *p, const char *ref,
		     struct clr_update_op *out)
{
	const char *params[] = { ref };

	return op_one(p, "SELECT " OP_COLUMNS " FROM update_operation "
		      "WHERE ref = $1", 1, params, out, ref);
}

/* Appends s to a COPY text-format row: backslash, tab, newline and
 * carriage return escaped, everything else as it is.  Most fields have
 * none of those, and strcspn() skips runs of plain text fast. */
static int copy_field(struct clr_buf *b, const char *s)
{
	int err = 0;

	for (;;) {
		size_t n = strcspn(s, "\\\t\n\r");
		char e;

		if (n && (err = clr_buf_add(b, s, n)))
			return err;
		s += n;
		switch (*s) {
		case '\0': return 0;
		case '\\': e = '\\'; break;
		case '\t': e = 't'; break;
		case '\n': e = 'n'; break;
		default: e = 'r'; break;
		}
		if ((err = clr_buf_add(b, (char[2]){ '\\', e }, 2)))
			return err;
		s++;
	}
}

/* Appends v in decimal (ids: no sign, no printf per row). */
static int copy_id(struct clr_buf *b, int64_t v)
{
	char d[24];
	size_t i = sizeof(d);
	uint64_t u = v < 0 ? 0 : (uint64_t)v;

	do {
		d[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	return clr_buf_add(b, d + i, sizeof(d) - i);
}

/* Starts a COPY; expect is PGRES_COPY_IN or PGRES_COPY_OUT. */
static int copy_start(struct pg_store *p, const char *sql,
		      ExecStatusType expect, const char *doing)
{
	PGresult *res = PQexec(p->conn, sql);
	int err = 0;

	if (PQresultStatus(res) != expect)
		err = pg_error(p, res, doing);
	PQclear(res);
	return err;
}

/* Collects the results that end a COPY; the first error wins.  It is
 * judged after the last result: only then does libpq know whether the
 * connection itself is gone (CLR_ENET, which a retry reconnects for). */
static int copy_finish(struct pg_store *p, int err, const char *doing)
{
	PGresult *res, *failed = NULL;

	while ((res = PQgetResult(p->conn))) {
		if (!err && !failed && PQresultStatus(res) != PGRES_COMMAND_OK)
			failed = res;
		else
			PQclear(res);
	}
	if (failed) {
		err = pg_error(p, failed, doing);
		PQclear(failed);
	}
	return err;
}

/*
 * COPY ... FROM STDIN of n rows, each appended to the buffer by row(), in
 * pieces of about COPY_CHUNK bytes.  Text format: row() escapes its
 * fields with copy_field().
 */
static int copy_in(struct pg_store *p, const char *sql, size_t n,
		   int (*row)(struct clr_buf *b, size_t i, void *arg),
		   void *arg, const char *doing)
{
	struct clr_buf b = CLR_BUF_INIT(COPY_RECORD_MAX + COPY_CHUNK);
	int err;

	if ((err = copy_start(p, sql, PGRES_COPY_IN, doing)))
		return err;
	for (size_t i = 0; i < n && !err; i++) {
		if ((err = row(&b, i, arg)))
			break;
		if (b.len >= COPY_CHUNK || i + 1 == n) {
			if (PQputCopyData(p->conn, b.ptr, (int)b.len) != 1)
				err = pg_error(p, NULL, doing);
			clr_buf_reset(&b);
		}
	}
	clr_buf_release(&b);
	/* Ends the COPY either way: with an error message the server
	 * discards what it got, and the transaction is rolled back. */
	if (PQputCopyEnd(p->conn, err ? "clarion: abandoned" : NULL) != 1 &&
	    !err)
		err = pg_error(p, NULL, doing);
	return copy_finish(p, err, doing);
}

/* COPY (...) TO STDOUT, handing each row (text format, with its '\n') to
 * line(). */
static int copy_out(struct pg_store *p, const char *sql,
		    int (*line)(const char *row, size_t len, void *arg),
		    void *arg, const char *doing)
{
	char *row = NULL;
	int n, err;

	if ((err = copy_start(p, sql, PGRES_COPY_OUT, doing)))
		return err;
	while ((n = PQgetCopyData(p->conn, &row, 0)) > 0) {
		if (!err)
			err = line(row, (size_t)n, arg);
		PQfreemem(row);
	}
	if (n == -2 && !err)
		err = pg_error(p, NULL, doing);
	return copy_finish(p, err, doing);
}

/* What the COPY callbacks of a put share. */
struct put_ctx {
	const struct clr_store_put *put;
	int64_t *ids;       /* per record: its vuln id, 0 while unknown */
	size_t *fresh;      /* the records to insert: indexes into recs */
	size_t n_fresh;
	char op[24];        /* the operation's id, as text */
	const char *where;  /* the location, for messages */
};

static int row_hash(struct clr_buf *b, size_t i, void *arg)
{
	struct put_ctx *c = arg;
	char hex[CLR_SHA256_HEXLEN + 2];

	clr_store_hash_hex(hex, c->put->recs[i].hash);
	hex[CLR_SHA256_HEXLEN] = '\n';
	return clr_buf_add(b, hex, CLR_SHA256_HEXLEN + 1);
}

static int row_vuln(struct clr_buf *b, size_t i, void *arg)
{
	struct put_ctx *c = arg;
	size_t r = c->fresh[i];
	const struct clr_vuln *v = c->put->recs[r].v;
	char hex[CLR_SHA256_HEXLEN + 1];
	int err = copy_id(b, c->ids[r]);

	clr_store_hash_hex(hex, c->put->recs[r].hash);
	err = err ? err : clr_buf_addch(b, '\t');
	err = err ? err : clr_buf_add(b, hex, CLR_SHA256_HEXLEN);
#define FIELD(f)                                                           \
	err = err ? err : clr_buf_addch(b, '\t');                         \
	err = err ? err : copy_field(b, v->f);
	CLR_STORE_VULN_STRINGS(FIELD)
#undef FIELD
	err = err ? err : clr_buf_addch(b, '\t');
	err = err ? err : clr_buf_addstr(b, clr_severity_name(
					      v->normalized_severity));
	err = err ? err : clr_buf_addch(b, '\n');
	if (err)
		return clr_error_set(CLR_ELIMIT, "cannot store update "
				     "operation in %s: record %s (%s) is "
				     "larger than %u MB", c->where, hex,
				     v->name, COPY_RECORD_MAX >> 20);
	return 0;
}

static int row_link(struct clr_buf *b, size_t i, void *arg)
{
	struct put_ctx *c = arg;

	int err = clr_buf_addstr(b, c->op);

	err = err ? err : clr_buf_addch(b, '\t');
	err = err ? err : copy_id(b, c->ids[i]);
	return err ? err : clr_buf_addch(b, '\n');
}

/* A row "HASH\tID\n" of the stored records among the put's: notes the id
 * of the record with that hash. */
static int stored_line(const char *row, size_t len, void *arg)
{
	struct put_ctx *c = arg;
	struct clr_store_put_rec key;
	const struct clr_store_put_rec *hit;

	for (size_t i = 0; i < CLR_SHA256_LEN; i++) {
		int hi = len > 2 * i + 1 ? hex_value(row[2 * i]) : -1;
		int lo = len > 2 * i + 1 ? hex_value(row[2 * i + 1]) : -1;

		if (hi < 0 || lo < 0)
			return clr_error_set(CLR_ERROR, "%s: unexpected row "
					     "from COPY: %.80s", c->where, row);
		key.hash[i] = (uint8_t)(hi << 4 | lo);
	}
	hit = bsearch(&key, c->put->recs, c->put->n, sizeof(key), rec_cmp);
	if (!hit || len < CLR_SHA256_HEXLEN + 2 ||
	    row[CLR_SHA256_HEXLEN] != '\t')
		return clr_error_set(CLR_ERROR, "%s: unexpected row from COPY: "
				     "%.80s", c->where, row);
	c->ids[hit - c->put->recs] = strtoll(row + CLR_SHA256_HEXLEN + 1,
					     NULL, 10);
	return 0;
}

/*
 * n new record ids, first in *first: a range of vuln's identity sequence
 * that nothing else will hand out.  nextval then setval is two steps, so
 * concurrent puts take turns (a session lock, held for the two statements
 * only; a sequence is not transactional, so the range stays taken even
 * if the put rolls back, which only leaves a gap).
 */
static int reserve_ids(struct pg_store *p, size_t n, int64_t *first,
		       const char *doing)
{
	char key[24], count[24];
	const char *key_param[] = { key }, *count_param[] = { count };
	PGresult *res = NULL;
	int err;

	snprintf(count, sizeof(count), "%zu", n);
	if ((err = lock_key(key, "vuln-ids", "")) ||
	    (err = pg_exec(p, doing, "SELECT pg_advisory_lock($1::bigint)", 1,
			   key_param, NULL)))
		return err;
	err = pg_exec(p, doing, "SELECT setval(pg_get_serial_sequence('vuln', "
		      "'id'), nextval(pg_get_serial_sequence('vuln', 'id')) + "
		      "$1::bigint - 1)", 1, count_param, &res);
	PQclear(PQexecParams(p->conn, "SELECT pg_advisory_unlock($1::bigint)",
			     1, NULL, key_param, NULL, NULL, 0));
	if (err)
		return err;
	*first = strtoll(PQgetvalue(res, 0, 0), NULL, 10) - (int64_t)n + 1;
	PQclear(res);
	return 0;
}

/*
 * The records: their hashes go in with COPY and come back with the ids of
 * those already stored; the others get ids reserved here and go straight
 * into vuln with COPY; then every link goes in with COPY.  Each record
 * crosses the wire once, new ones are written once, and no statement
 * runs per record.  A record stored by a concurrent put of the same
 * updater (which the updater lock is there to prevent) makes this put fail
 * on the unique hash, not store it twice.
 */
static int put_records(struct pg_store *p, const struct clr_store_put *put,
		       const char *op, const char *doing)
{
	struct put_ctx c = { .put = put, .where = p->base.location };
	int64_t first;
	int err;

	snprintf(c.op, sizeof(c.op), "%s", op);
	c.ids = clr_calloc(put->n, sizeof(*c.ids));
	c.fresh = clr_malloc(put->n * sizeof(*c.fresh));
	if ((err = pg_exec(p, doing, "CREATE TEMPORARY TABLE put_hash (hash "
			   "text COLLATE \"C\") ON COMMIT DROP", 0, NULL,
			   NULL)) ||
	    (err = copy_in(p, "COPY put_hash (hash) FROM STDIN", put->n,
			   row_hash, &c, doing)) ||
	    /* The planner's choice of join needs the table's real size. */
	    (err = pg_exec(p, doing, "ANALYZE put_hash", 0, NULL, NULL)) ||
	    (err = copy_out(p, "COPY (SELECT t.hash, v.id FROM put_hash t "
			    "JOIN vuln v ON v.hash = t.hash) TO STDOUT",
			    stored_line, &c, doing)))
		goto cleanup;
	for (size_t r = 0; r < put->n; r++)
		if (!c.ids[r])
			c.fresh[c.n_fresh++] = r;
	if (c.n_fresh) {
		if ((err = reserve_ids(p, c.n_fresh, &first, doing)))
			goto cleanup;
		/* In hash order, as the records are: the heap, the id and
		 * the hash index all grow at one end. */
		for (size_t i = 0; i < c.n_fresh; i++)
			c.ids[c.fresh[i]] = first + (int64_t)i;
		if ((err = copy_in(p, "COPY vuln (id, hash, "
				   CLR_STORE_VULN_COLUMNS ") FROM STDIN",
				   c.n_fresh, row_vuln, &c, doing)))
			goto cleanup;
	}
	qsort(c.ids, put->n, sizeof(*c.ids), id_cmp);
	err = copy_in(p, "COPY uo_vuln (uo_id, vuln_id) FROM STDIN", put->n,
		      row_link, &c, doing);
	clr_log_debug("store: %s: operation %s: %zu records, %zu new",
		      put->updater, put->ref, put->n, c.n_fresh);
cleanup:
	free(c.ids);
	free(c.fresh);
	return err;
}

/*
 * The put, in one transaction: the operation row, its records (see
 * put_records()), the count, the counter.  Shares the GC lock, so GC
 * cannot delete a record between this finding it stored and linking it.
 */
static int update_put(struct pg_store *p, const struct clr_store_put *put,
		      struct clr_update_op *out)
{
	static const char doing[] = "cannot store update operation in";
	const char *op_params[] = { put->ref, put->updater, put->fingerprint };
	char key[24], id[24], count[24];
	const char *key_param[] = { key }, *count_params[] = { id, count };
	PGresult *res = NULL;
	int err;

	if ((err = gc_key(key)) || (err = pg_begin(p, doing)) ||
	    /* Room for the joins of a million-record put to hash in
	     * memory; for this transaction only. */
	    (err = pg_exec(p, doing, "SET LOCAL work_mem = '256MB'", 0, NULL,
			   NULL)) ||
	    (err = pg_exec(p, doing, "SELECT pg_advisory_xact_lock_shared("
			   "$1::bigint)", 1, key_param, NULL)) ||
	    (err = pg_exec(p, doing, "INSERT INTO update_operation (ref, "
			   "updater, fingerprint, kind) VALUES ($1, $2, $3, "
			   "'vulnerability') RETURNING id", 3, op_params,
			   &res)))
		goto fail;
	snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	res = NULL;
	if (put->n && (err = put_records(p, put, id, doing)))
		goto fail;
	snprintf(count, sizeof(count), "%zu", put->n);
	if ((err = pg_exec(p, doing, "UPDATE update_operation SET vuln_count "
			   "= $2::bigint WHERE id = $1::bigint RETURNING "
			   OP_COLUMNS, 2, count_params, &res)))
		goto fail;
	op_read(res, 0, out);
	PQclear(res);
	res = NULL;
	if ((err = pg_exec(p, doing, COUNTER_BUMP, 0, NULL, NULL)) ||
	    (err = pg_commit(p, doing)))
		goto fail;
	return 0;
fail:
	PQclear(res);
	clr_update_op_release(out);
	pg_rollback(p);
	return err;
}

static int pg_update_put(struct clr_store *s, const struct clr_store_put *put,
			 struct clr_update_op *out)
{
	struct pg_store *p = pg(s);
	int err;

	if ((err = pg_ensure(p)))
		return err;
	err = update_put(p, put, out);
	if (!pg_retry(p, err, 0))
		return err;
	/* The connection went while the put ran, perhaps after the server
	 * had committed it: then it is done, and doing it again would
	 * store a second operation. */
	err = op_by_ref(p, put->ref, out);
	if (err != CLR_ENOTFOUND)
		return err;
	return update_put(p, put, out);
}

static int pg_update_latest(struct clr_store *s, const char *updater,
			    struct clr_update_op *out)
{
	const char *params[] = { updater };
	char what[160];

	snprintf(what, sizeof(what), "for updater %.120s", updater);
	PG_RUN(pg(s), op_one(pg(s), "SELECT " OP_COLUMNS " FROM "
			     "update_operation WHERE updater = $1 "
			     "ORDER BY id DESC LIMIT 1", 1, params, out, what));
}

static int pg_update_get(struct clr_store *s, const char *ref,
			 struct clr_update_op *out)
{
	PG_RUN(pg(s), op_by_ref(pg(s), ref, out));
}

static int update_list(struct pg_store *p, const char *updater,
		       struct clr_vec *out)
{
	const char *params[] = { updater };
	PGresult *res;
	int err;

	if ((err = pg_exec(p, "cannot read update operations from",
			   updater ?
			   "SELECT " OP_COLUMNS " FROM update_operation "
			   "WHERE updater = $1 ORDER BY id DESC" :
			   "SELECT " OP_COLUMNS " FROM update_operation "
			   "ORDER BY id DESC", updater ? 1 : 0, params, &res)))
		return err;
	for (int r = 0; r < PQntuples(res); r++)
		op_read(res, r, clr_vec_push(out, NULL));
	PQclear(res);
	return 0;
}

static int pg_update_list(struct clr_store *s, const char *updater,
			  struct clr_vec *out)
{
	PG_RUN(pg(s), update_list(pg(s), updater, out));
}

/* Sends a cancel for the running query: a reader that stops early need
 * not wait for a million rows it will not read. */
static void cancel_query(struct pg_store *p)
{
	PGcancel *c = PQgetCancel(p->conn);
	char msg[256];

	if (c && !PQcancel(c, msg, sizeof(msg)))
		clr_log_debug("store: %s: cancel failed: %s", p->base.location,
			      msg);
	PQfreeCancel(c);
}

/*
 * Runs a query whose rows are records (CLR_STORE_VULN_COLUMNS) and hands
 * each to each() as it arrives: single-row mode, so a million records are
 * never held in memory at once.  *delivered counts the records handed
 * over, for the caller to know whether a retry would repeat some.
 */
static int stream_vulns(struct pg_store *p, const char *sql, int n,
			const char *const *params,
			int (*each)(const struct clr_vuln *v, void *arg),
			void *arg, size_t *delivered)
{
	static const char doing[] = "cannot read vulnerabilities from";
	PGresult *res, *failed = NULL;
	int err = 0, stop = 0;

	*delivered = 0;
	if (!PQsendQueryParams(p->conn, sql, n, NULL, params, NULL, NULL, 0))
		return pg_error(p, NULL, doing);
	/* Without single-row mode (it cannot fail right after a send, but
	 * if it did) the rows come in one result; the loop reads both. */
	PQsetSingleRowMode(p->conn);
	while ((res = PQgetResult(p->conn))) {
		ExecStatusType st = PQresultStatus(res);

		if (st == PGRES_SINGLE_TUPLE || st == PGRES_TUPLES_OK) {
			for (int r = 0; r < PQntuples(res) && !stop; r++) {
				struct clr_vuln v;
				int i = 0;

#define GET(f) v.f = PQgetvalue(res, r, i++);
				CLR_STORE_VULN_STRINGS(GET)
#undef GET
				v.normalized_severity =
					clr_store_severity_parse(
						PQgetvalue(res, r, i));
				++*delivered;
				if ((stop = each(&v, arg)))
					cancel_query(p);
			}
		} else if (!stop && !failed) {
			/* Judged after the last result, as in
			 * copy_finish(). */
			failed = res;
			continue;
		}
		PQclear(res);
	}
	if (failed) {
		err = pg_error(p, failed, doing);
		PQclear(failed);
	}
	return stop ? stop : err;
}

static int add_to_set(const struct clr_vuln *v, void *arg)
{
	clr_vuln_set_add(arg, v);
	return 0;
}

/* Reads that take several statements share one snapshot. */
static int begin_read(struct pg_store *p)
{
	return pg_exec(p, "cannot read from", "BEGIN ISOLATION LEVEL "
		       "REPEATABLE READ READ ONLY", 0, NULL, NULL);
}

/* Ends a read transaction, keeping err (and its message) if set. */
static int end_read(struct pg_store *p, int err)
{
	if (err) {
		pg_rollback(p);
		return err;
	}
	return pg_commit(p, "cannot read from");
}

static int update_vulns(struct pg_store *p, const char *ref,
			struct clr_vuln_set *out)
{
	struct clr_update_op op = { 0 };
	size_t before = out->vulns.len, n;
	char id[24];
	const char *params[] = { id };
	int err;

	if ((err = begin_read(p)))
		return err;
	if (!(err = op_by_ref(p, ref, &op))) {
		snprintf(id, sizeof(id), "%" PRId64, op.id);
		err = stream_vulns(p, "SELECT " CLR_STORE_VULN_COLUMNS
				   " FROM uo_vuln l JOIN vuln v ON "
				   "v.id = l.vuln_id "
				   "WHERE l.uo_id = $1::bigint", 1, params,
				   add_to_set, out, &n);
	}
	clr_update_op_release(&op);
	/* A retry must not find this attempt's records in the set. */
	if ((err = end_read(p, err)))
		clr_vec_truncate(&out->vulns, before);
	return err;
}

static int pg_update_vulns(struct clr_store *s, const char *ref,
			   struct clr_vuln_set *out)
{
	PG_RUN(pg(s), update_vulns(pg(s), ref, out));
}

/* The records operation `only` links and operation `not` (0: none) does
 * not, appended to out.  One row per record, so equal ids are equal
 * content hashes. */
static int only_in(struct pg_store *p, int64_t only, int64_t not,
		   struct clr_vuln_set *out)
{
	char a[24], b[24];
	const char *params[] = { a, b };
	size_t n;

	snprintf(a, sizeof(a), "%" PRId64, only);
	snprintf(b, sizeof(b), "%" PRId64, not);
	return stream_vulns(p, "SELECT " CLR_STORE_VULN_COLUMNS " FROM "
			    "uo_vuln l JOIN vuln v ON v.id = l.vuln_id "
			    "WHERE l.uo_id = $1::bigint AND NOT EXISTS "
			    "(SELECT 1 FROM uo_vuln o WHERE o.uo_id = "
			    "$2::bigint AND o.vuln_id = l.vuln_id)", 2, params,
			    add_to_set, out, &n);
}

static int update_diff(struct pg_store *p, const char *prev_ref,
		       const char *cur_ref, struct clr_vuln_set *added,
		       struct clr_vuln_set *removed)
{
	struct clr_update_op prev = { 0 }, cur = { 0 };
	size_t added_before = added->vulns.len;
	size_t removed_before = removed->vulns.len;
	int err;

	if ((err = begin_read(p)))
		return err;
	if ((err = op_by_ref(p, cur_ref, &cur)) ||
	    (prev_ref && (err = op_by_ref(p, prev_ref, &prev))))
		goto done;
	if (prev_ref && strcmp(prev.updater, cur.updater)) {
		err = clr_error_set(CLR_EINVALID, "cannot diff update "
				    "operations of two updaters: %s is %s's, "
				    "%s is %s's", prev_ref, prev.updater,
				    cur_ref, cur.updater);
		goto done;
	}
	if ((err = only_in(p, cur.id, prev.id, added)) ||
	    (prev_ref && (err = only_in(p, prev.id, cur.id, removed))))
		goto done;
done:
	clr_update_op_release(&prev);
	clr_update_op_release(&cur);
	if ((err = end_read(p, err))) {
		clr_vec_truncate(&added->vulns, added_before);
		clr_vec_truncate(&removed->vulns, removed_before);
	}
	return err;
}

static int pg_update_diff(struct clr_store *s, const char *prev_ref,
			  const char *cur_ref, struct clr_vuln_set *added,
			  struct clr_vuln_set *removed)
{
	PG_RUN(pg(s), update_diff(pg(s), prev_ref, cur_ref, added, removed));
}

/* Begins a transaction holding GC's lock alone (GC, deleting an
 * operation): no put is between finding a record that goes and linking
 * it. */
static int begin_alone(struct pg_store *p, const char *doing)
{
	char key[24];
	const char *key_param[] = { key };
	int err;

	if ((err = gc_key(key)) || (err = pg_begin(p, doing)))
		return err;
	return pg_exec(p, doing, "SELECT pg_advisory_xact_lock($1::bigint)",
		       1, key_param, NULL);
}

static int update_gc(struct pg_store *p, size_t keep, size_t *deleted)
{
	static const char doing[] = "cannot collect update operations in";
	char k[24];
	const char *keep_param[] = { k };
	PGresult *res = NULL;
	int err;

	*deleted = 0;
	snprintf(k, sizeof(k), "%zu", keep > INT64_MAX ? (size_t)INT64_MAX :
		 keep);
	if ((err = begin_alone(p, doing)) ||
	    /* Links first, while the operations they name still exist to
	     * be picked by GC_VICTIMS. */
	    (err = pg_exec(p, doing, "DELETE FROM uo_vuln WHERE uo_id IN ("
			   GC_VICTIMS ")", 1, keep_param, NULL)) ||
	    (err = pg_exec(p, doing, "DELETE FROM update_operation WHERE id "
			   "IN (" GC_VICTIMS ")", 1, keep_param, &res)))
		goto fail;
	*deleted = (size_t)strtoull(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	res = NULL;
	/* The records nothing links any more, in one statement; always, so
	 * that whatever left an orphan, it does not stay. */
	if ((err = pg_exec(p, doing, GC_VULNS, 0, NULL, NULL)))
		goto fail;
	if (*deleted &&
	    (err = pg_exec(p, doing, COUNTER_BUMP, 0, NULL, NULL)))
		goto fail;
	if ((err = pg_commit(p, doing)))
		goto fail;
	return 0;
fail:
	PQclear(res);
	*deleted = 0;
	pg_rollback(p);
	return err;
}

static int pg_update_gc(struct clr_store *s, size_t keep, size_t *deleted)
{
	PG_RUN(pg(s), update_gc(pg(s), keep, deleted));
}

static int update_delete(struct pg_store *p, const char *ref, bool *existed)
{
	static const char doing[] = "cannot delete an update operation in";
	const char *ref_param[] = { ref };
	PGresult *res = NULL;
	int err;

	*existed = false;
	/* Under GC's lock, alone, for the same reason as GC. */
	if ((err = begin_alone(p, doing)) ||
	    (err = pg_exec(p, doing, "DELETE FROM uo_vuln WHERE uo_id IN "
			   "(SELECT id FROM update_operation WHERE ref = $1)",
			   1, ref_param, NULL)) ||
	    (err = pg_exec(p, doing, "DELETE FROM update_operation WHERE "
			   "ref = $1", 1, ref_param, &res)))
		goto fail;
	*existed = strtoull(PQcmdTuples(res), NULL, 10) > 0;
	PQclear(res);
	res = NULL;
	/* Only when something went: the counter moving makes every replica
	 * rebuild its index. */
	if (*existed &&
	    ((err = pg_exec(p, doing, GC_VULNS, 0, NULL, NULL)) ||
	     (err = pg_exec(p, doing, COUNTER_BUMP, 0, NULL, NULL))))
		goto fail;
	if ((err = pg_commit(p, doing)))
		goto fail;
	return 0;
fail:
	PQclear(res);
	*existed = false;
	pg_rollback(p);
	return err;
}

static int pg_update_delete(struct clr_store *s, const char *ref,
			    bool *existed)
{
	PG_RUN(pg(s), update_delete(pg(s), ref, existed));
}

static int pg_vulns_current(struct clr_store *s,
			    int (*each)(const struct clr_vuln *v, void *arg),
			    void *arg)
{
	struct pg_store *p = pg(s);
	size_t delivered = 0;
	int err;

	/* Retried after a lost connection only when nothing was handed to
	 * each() yet: the caller cannot take back what it was given. */
	for (int attempt = 0;; attempt++) {
		if ((err = pg_ensure(p)))
			return err;
		err = stream_vulns(p, "SELECT " CLR_STORE_VULN_COLUMNS " FROM "
				   "uo_vuln l JOIN vuln v ON v.id = l.vuln_id "
				   "WHERE l.uo_id IN (SELECT max(id) FROM "
				   "update_operation GROUP BY updater)", 0,
				   NULL, each, arg, &delivered);
		if (delivered || !pg_retry(p, err, attempt))
			return err;
	}
}

static int update_counter(struct pg_store *p, int64_t *out)
{
	PGresult *res;
	int err;

	if ((err = pg_exec(p, "cannot read the update counter of",
			   "SELECT value FROM update_counter", 0, NULL, &res)))
		return err;
	if (PQntuples(res))
		*out = to_int64(PQgetvalue(res, 0, 0));
	else
		err = clr_error_set(CLR_ERROR, "%s: update_counter has no row",
				    p->base.location);
	PQclear(res);
	return err;
}

static int pg_update_counter(struct clr_store *s, int64_t *out)
{
	PG_RUN(pg(s), update_counter(pg(s), out));
}

static int pg_status_put(struct clr_store *s, const char *updater,
			 const char *error)
{
	const char *params[] = { updater, error }; /* NULL: a success */

	/* One statement for both outcomes: a failure keeps last_success. */
	PG_RUN(pg(s), pg_exec(pg(s), "cannot store updater status in",
			      "INSERT INTO updater_status (updater, "
			      "last_attempt, last_success, last_error) "
			      "VALUES ($1, now(), CASE WHEN $2::text IS NULL "
			      "THEN now() END, coalesce($2::text, '')) "
			      "ON CONFLICT (updater) DO UPDATE SET "
			      "last_attempt = excluded.last_attempt, "
			      "last_success = coalesce(excluded.last_success, "
			      "updater_status.last_success), "
			      "last_error = excluded.last_error", 2, params,
			      NULL));
}

static int status_list(struct pg_store *p, struct clr_vec *out)
{
	PGresult *res;
	int err;

	if ((err = pg_exec(p, "cannot read updater status from",
			   "SELECT s.updater, coalesce(" PG_TS("s.last_attempt")
			   ", ''), coalesce(" PG_TS("s.last_success") ", ''), "
			   "s.last_error, coalesce((SELECT o.vuln_count FROM "
			   "update_operation o WHERE o.updater = s.updater "
			   "ORDER BY o.id DESC LIMIT 1), 0) "
			   "FROM updater_status s "
			   "ORDER BY s.updater COLLATE \"C\"", 0, NULL, &res)))
		return err;
	for (int r = 0; r < PQntuples(res); r++) {
		struct clr_updater_status *u = clr_vec_push(out, NULL);
		int64_t count = to_int64(PQgetvalue(res, r, 4));

		u->updater = clr_strdup(PQgetvalue(res, r, 0));
		u->last_attempt = clr_strdup(PQgetvalue(res, r, 1));
		u->last_success = clr_strdup(PQgetvalue(res, r, 2));
		u->last_error = clr_strdup(PQgetvalue(res, r, 3));
		u->count = count > 0 ? (size_t)count : 0;
	}
	PQclear(res);
	return 0;
}

static int pg_status_list(struct clr_store *s, struct clr_vec *out)
{
	PG_RUN(pg(s), status_list(pg(s), out));
}

/* --- manifest and updater locks ------------------------------------------ */

/* pg_advisory_lock waits in the server, so this thread blocks on its own
 * connection without polling; the try form answers at once.  kind is
 * "manifest" or "updater": part of the key, and of messages. */
static int lock(struct pg_store *p, const char *kind, const char *name,
		bool wait, uint64_t *token)
{
	char key[24], doing[64];
	const char *params[] = { key };
	PGresult *res;
	bool taken;
	int err;

	snprintf(doing, sizeof(doing), "cannot lock %s in", kind);
	if ((err = lock_key(key, kind, name)))
		return err;
	if ((err = pg_exec(p, doing, wait ?
			   "SELECT pg_advisory_lock($1::bigint), true" :
			   "SELECT pg_try_advisory_lock($1::bigint)", 1, params,
			   &res)))
		return err;
	taken = PQntuples(res) && PQgetvalue(res, 0, wait ? 1 : 0)[0] == 't';
	PQclear(res);
	if (!taken)
		return clr_error_set(CLR_EEXISTS, "%s %s is locked by "
				     "another session", kind, name);
	*token = p->generation;
	return 0;
}

static int unlock(struct pg_store *p, const char *kind, const char *name,
		  uint64_t token)
{
	char key[24], doing[64];
	const char *params[] = { key };
	PGresult *res;
	bool held;
	int err;

	/* The connection that held it is gone, and the server released the
	 * lock then: someone else may have done the work meanwhile. */
	if (token != p->generation || PQstatus(p->conn) != CONNECTION_OK) {
		clr_log_warn("store: the lock on %s %s was lost with its "
			     "connection", kind, name);
		return 0;
	}
	snprintf(doing, sizeof(doing), "cannot unlock %s in", kind);
	if ((err = lock_key(key, kind, name)) ||
	    (err = pg_exec(p, doing, "SELECT pg_advisory_unlock($1::bigint)",
			   1, params, &res)))
		return err;
	held = PQntuples(res) && PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	if (!held)
		clr_log_warn("store: the lock on %s %s was not held at unlock",
			     kind, name);
	return 0;
}

static int pg_lock(struct clr_store *s, const char *hash, bool wait,
		   uint64_t *token)
{
	PG_RUN(pg(s), lock(pg(s), "manifest", hash, wait, token));
}

static int pg_unlock(struct clr_store *s, const char *hash, uint64_t token)
{
	return unlock(pg(s), "manifest", hash, token);
}

static int pg_updater_lock(struct clr_store *s, const char *updater,
			   uint64_t *token)
{
	PG_RUN(pg(s), lock(pg(s), "updater", updater, false, token));
}

static int pg_updater_unlock(struct clr_store *s, const char *updater,
			     uint64_t token)
{
	return unlock(pg(s), "updater", updater, token);
}

/* --- plain SQL (the notifier's tables) ------------------------------------ */

static int pg_sql_run(struct clr_store *s, const char *sql,
		      const char *const *params, int n,
		      int (*row)(void *arg, int ncols, const char *const *cols),
		      void *arg, int64_t *changes)
{
	struct pg_store *p = pg(s);
	const char *cols[32];
	PGresult *res;
	int err;

	/* Outside a transaction a dropped connection is replaced first;
	 * inside one the transaction is lost anyway and fails. */
	if (PQtransactionStatus(p->conn) == PQTRANS_IDLE &&
	    (err = pg_ensure(p)))
		return err;
	if ((err = pg_exec(p, "cannot run a statement on", sql, n, params,
			   &res)))
		return err;
	for (int r = 0; r < PQntuples(res) && row && !err; r++) {
		int nc = PQnfields(res) > 32 ? 32 : PQnfields(res);

		for (int i = 0; i < nc; i++)
			cols[i] = PQgetisnull(res, r, i) ? NULL :
				  PQgetvalue(res, r, i);
		err = row(arg, nc, cols);
	}
	if (changes) {
		const char *t = PQcmdTuples(res);

		*changes = t && *t ? to_int64(t) : 0;
	}
	PQclear(res);
	return err;
}

static int pg_sql_begin(struct clr_store *s)
{
	struct pg_store *p = pg(s);
	int err;

	if ((err = pg_ensure(p)))
		return err;
	return pg_begin(p, "cannot begin a transaction on");
}

static int pg_sql_commit(struct clr_store *s)
{
	return pg_commit(pg(s), "cannot commit to");
}

static void pg_sql_rollback(struct clr_store *s)
{
	pg_rollback(pg(s));
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
	.update_put = pg_update_put,
	.update_latest = pg_update_latest,
	.update_get = pg_update_get,
	.update_list = pg_update_list,
	.update_vulns = pg_update_vulns,
	.update_diff = pg_update_diff,
	.update_gc = pg_update_gc,
	.update_delete = pg_update_delete,
	.vulns_current = pg_vulns_current,
	.update_counter = pg_update_counter,
	.status_put = pg_status_put,
	.status_list = pg_status_list,
	.updater_lock = pg_updater_lock,
	.updater_unlock = pg_updater_unlock,
	.sql_run = pg_sql_run,
	.sql_begin = pg_sql_begin,
	.sql_commit = pg_sql_commit,
	.sql_rollback = pg_sql_rollback,
};
