/*
 * notify.c - the notifier's tables (migration 3), for both backends.
 *
 * The notifier's statements are plain SQL both SQLite and PostgreSQL run
 * as written (ON CONFLICT, LIMIT, integer times), so they are written once
 * here against the backends' sql_run/sql_begin primitives rather than
 * twice in sqlite.c and pg.c.  Everything a decision writes is one
 * transaction; a claim is one UPDATE whose WHERE says "free or expired",
 * which both databases make atomic, so of several replicas exactly one
 * gets each row (PostgreSQL re-checks the WHERE of a row another
 * transaction updated meanwhile; SQLite has one writer at a time).
 */
#include "store/store.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/error.h"

/* Names per candidate query: well under both databases' parameter caps. */
#define NAMES_PER_QUERY 200

/* Columns of a receipt, in receipt_row()'s order. */
#define RECEIPT_COLUMNS                                                   \
	"id, uo_ref, prev_ref, updater, status, last_error, created_at, "  \
	"next_attempt, attempts, items"

static int64_t to_i64(const char *s)
{
	return s ? strtoll(s, NULL, 10) : 0;
}

static char *dup_or_empty(const char *s)
{
	return clr_strdup(s ? s : "");
}

static int run(struct clr_store *s, const char *sql, const char *const *p,
	       int n, int (*row)(void *, int, const char *const *), void *arg,
	       int64_t *changes)
{
	return s->ops->sql_run(s, sql, p, n, row, arg, changes);
}

/* Row callback: column 0 appended to a vec of char *. */
static int row_string(void *arg, int nc, const char *const *c)
{
	char *v = dup_or_empty(nc > 0 ? c[0] : NULL);

	CLR_VEC_PUSH((struct clr_vec *)arg, &v);
	return 0;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* --- the package-name index ------------------------------------------------ */

static void add_name(struct clr_vec *out, json_t *name)
{
	const char *s = json_string_value(name);
	char *v;

	if (!s || !*s)
		return;
	v = clr_strdup(s);
	CLR_VEC_PUSH(out, &v);
}

void clr_store_report_package_names(const char *report, struct clr_vec *out)
{
	json_t *root = report ? json_loads(report, 0, NULL) : NULL;
	json_t *pkgs = json_object_get(root, "packages"), *p;
	size_t start = out->len, w;
	const char *key;

	json_object_foreach(pkgs, key, p) {
		add_name(out, json_object_get(p, "name"));
		add_name(out, json_object_get(json_object_get(p, "source"),
					      "name"));
	}
	json_decref(root);
	if (out->len - start < 2)
		return;
	qsort((char **)out->items + start, out->len - start, sizeof(char *),
	      str_cmp);
	w = start + 1;
	for (size_t i = start + 1; i < out->len; i++) {
		char **v = CLR_VEC_AT(out, char *, i);

		if (!strcmp(*v, *CLR_VEC_AT(out, char *, w - 1)))
			free(*v);
		else
			*CLR_VEC_AT(out, char *, w++) = *v;
	}
	out->len = w;
}

int clr_store_manifests_by_package(struct clr_store *s,
				   const char *const *names, size_t n,
				   struct clr_vec *out)
{
	struct clr_vec found = CLR_VEC_INIT(char *);
	size_t w;
	int err = 0;

	for (size_t at = 0; at < n && !err; at += NAMES_PER_QUERY) {
		size_t k = n - at < NAMES_PER_QUERY ? n - at : NAMES_PER_QUERY;
		struct clr_buf sql = CLR_BUF_INIT(1 << 16);

		clr_buf_addstr(&sql, "SELECT DISTINCT manifest_hash FROM "
			       "manifest_package WHERE name IN (");
		for (size_t i = 0; i < k; i++)
			clr_buf_printf(&sql, "%s$%zu", i ? ", " : "", i + 1);
		clr_buf_addstr(&sql, ")");
		err = run(s, clr_buf_str(&sql), names + at, (int)k,
			  row_string, &found, NULL);
		clr_buf_release(&sql);
	}
	if (err) {
		clr_store_strings_release(&found);
		return err;
	}
	/* Chunks may name one manifest twice: sort, keep one of each. */
	if (found.len)
		qsort(found.items, found.len, sizeof(char *), str_cmp);
	w = 0;
	for (size_t i = 0; i < found.len; i++) {
		char *v = *CLR_VEC_AT(&found, char *, i);

		if (w && !strcmp(v, *CLR_VEC_AT(out, char *, out->len - 1)))
			free(v);
		else {
			CLR_VEC_PUSH(out, &v);
			w++;
		}
	}
	clr_vec_release(&found);
	return 0;
}

/* --- processed operations --------------------------------------------------- */

int clr_store_notifier_last(struct clr_store *s, const char *updater,
			    char **out)
{
	const char *p[] = { updater };
	struct clr_vec v = CLR_VEC_INIT(char *);
	int err;

	*out = NULL;
	/* The newest by operation id (processing times tie within a
	 * second), and only one still stored: what a diff can use. */
	err = run(s, "SELECT n.ref FROM notifier_update n JOIN "
		  "update_operation o ON o.ref = n.ref WHERE n.updater = $1 "
		  "ORDER BY o.id DESC LIMIT 1", p, 1, row_string, &v, NULL);
	if (!err && !v.len)
		err = clr_error_set(CLR_ENOTFOUND, "the notifier has "
				    "processed no operation of %s", updater);
	if (!err)
		*out = *CLR_VEC_AT(&v, char *, 0);
	else
		clr_store_strings_release(&v);
	if (!err)
		clr_vec_release(&v);
	return err;
}

int clr_store_notifier_processed(struct clr_store *s, const char *ref,
				 bool *done)
{
	const char *p[] = { ref };
	struct clr_vec v = CLR_VEC_INIT(char *);
	int err = run(s, "SELECT ref FROM notifier_update WHERE ref = $1", p,
		      1, row_string, &v, NULL);

	*done = !err && v.len > 0;
	clr_store_strings_release(&v);
	return err;
}

int clr_store_notification_create(struct clr_store *s, const char *uo_ref,
				  const char *prev_ref, const char *updater,
				  const struct clr_notif_item *items, size_t n,
				  char **id)
{
	char set_id[37], item_id[37], now[24], count[24];
	int64_t changes = 0;
	int err;

	if (id)
		*id = NULL;
	if ((err = clr_store_uuid4(set_id, "a notification id")))
		return err;
	snprintf(now, sizeof(now), "%" PRId64, (int64_t)time(NULL));
	snprintf(count, sizeof(count), "%zu", n);
	if ((err = s->ops->sql_begin(s)))
		return err;
	{
		const char *p[] = { uo_ref, updater, n ? set_id : NULL, now };

		/* The claim: the second replica to get here inserts
		 * nothing, and writes nothing else. */
		if ((err = run(s, "INSERT INTO notifier_update (ref, updater, "
			       "set_id, processed_at) VALUES ($1, $2, $3, $4) "
			       "ON CONFLICT (ref) DO NOTHING", p, 4, NULL,
			       NULL, &changes)))
			goto fail;
		if (!changes) {
			err = clr_error_set(CLR_EEXISTS, "update operation %s "
					    "was already processed", uo_ref);
			goto fail;
		}
	}
	if (n) {
		const char *p[] = { set_id, uo_ref, prev_ref ? prev_ref : "",
				    updater, now, count };

		if ((err = run(s, "INSERT INTO notification_set (id, uo_ref, "
			       "prev_ref, updater, status, created_at, items) "
			       "VALUES ($1, $2, $3, $4, 'created', $5, $6)",
			       p, 6, NULL, NULL, NULL)))
			goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		const char *p[] = { item_id, set_id, items[i].manifest,
				    items[i].reason, items[i].vuln,
				    items[i].layers ? items[i].layers : "[]" };

		if ((err = clr_store_uuid4(item_id, "a notification id")) ||
		    (err = run(s, "INSERT INTO notification (id, set_id, "
			       "manifest, reason, vuln, layers) VALUES ($1, $2, "
			       "$3, $4, $5, $6)", p, 6, NULL, NULL, NULL)))
			goto fail;
	}
	if ((err = s->ops->sql_commit(s)))
		goto fail;
	if (id && n)
		*id = clr_strdup(set_id);
	return 0;
fail:
	s->ops->sql_rollback(s);
	return err;
}

/* --- receipts and items ------------------------------------------------------ */

void clr_notif_receipt_release(struct clr_notif_receipt *r)
{
	if (!r)
		return;
	free(r->id);
	free(r->uo_ref);
	free(r->prev_ref);
	free(r->updater);
	free(r->status);
	free(r->last_error);
	memset(r, 0, sizeof(*r));
}

void clr_notif_receipts_release(struct clr_vec *v)
{
	for (size_t i = 0; i < v->len; i++)
		clr_notif_receipt_release(
			CLR_VEC_AT(v, struct clr_notif_receipt, i));
	clr_vec_release(v);
}

void clr_notif_items_release(struct clr_vec *v)
{
	for (size_t i = 0; i < v->len; i++) {
		struct clr_notif_item *it = CLR_VEC_AT(v, struct clr_notif_item, i);

		free(it->id);
		free(it->manifest);
		free(it->reason);
		free(it->vuln);
		free(it->layers);
	}
	clr_vec_release(v);
}

static int receipt_row(void *arg, int nc, const char *const *c)
{
	struct clr_notif_receipt *r = clr_vec_push(arg, NULL);
	int64_t items;

	if (nc < 10)
		return clr_error_set(CLR_ERROR, "short receipt row");
	r->id = dup_or_empty(c[0]);
	r->uo_ref = dup_or_empty(c[1]);
	r->prev_ref = dup_or_empty(c[2]);
	r->updater = dup_or_empty(c[3]);
	r->status = dup_or_empty(c[4]);
	r->last_error = dup_or_empty(c[5]);
	r->created = to_i64(c[6]);
	r->next_attempt = to_i64(c[7]);
	r->attempts = to_i64(c[8]);
	items = to_i64(c[9]);
	r->items = items > 0 ? (size_t)items : 0;
	return 0;
}

int clr_store_notification_get(struct clr_store *s, const char *id,
			       struct clr_notif_receipt *out)
{
	const char *p[] = { id };
	struct clr_vec v = CLR_VEC_INIT(struct clr_notif_receipt);
	int err;

	memset(out, 0, sizeof(*out));
	err = run(s, "SELECT " RECEIPT_COLUMNS " FROM notification_set "
		  "WHERE id = $1", p, 1, receipt_row, &v, NULL);
	if (!err && !v.len)
		err = clr_error_set(CLR_ENOTFOUND, "no notification %s", id);
	if (!err) {
		*out = *CLR_VEC_AT(&v, struct clr_notif_receipt, 0);
		clr_vec_release(&v);
	} else {
		clr_notif_receipts_release(&v);
	}
	return err;
}

int clr_store_notification_list(struct clr_store *s, struct clr_vec *out)
{
	return run(s, "SELECT " RECEIPT_COLUMNS " FROM notification_set "
		   "ORDER BY created_at DESC, id", NULL, 0, receipt_row, out,
		   NULL);
}

static int item_row(void *arg, int nc, const char *const *c)
{
	struct clr_notif_item *it = clr_vec_push(arg, NULL);

	if (nc < 5)
		return clr_error_set(CLR_ERROR, "short notification row");
	it->id = dup_or_empty(c[0]);
	it->manifest = dup_or_empty(c[1]);
	it->reason = dup_or_empty(c[2]);
	it->vuln = dup_or_empty(c[3]);
	it->layers = dup_or_empty(c[4]);
	return 0;
}

static int stat_row(void *arg, int nc, const char *const *c)
{
	struct clr_notif_stat *st = clr_vec_push(arg, NULL);

	if (nc < 4)
		return clr_error_set(CLR_ERROR, "short notification stats row");
	snprintf(st->status, sizeof(st->status), "%s", c[0] ? c[0] : "");
	st->sets = c[1] ? strtoll(c[1], NULL, 10) : 0;
	st->items = c[2] ? strtoll(c[2], NULL, 10) : 0;
	st->attempts = c[3] ? strtoll(c[3], NULL, 10) : 0;
	return 0;
}

int clr_store_notification_stats(struct clr_store *s, struct clr_vec *out)
{
	size_t before = out->len;
	int err = run(s, "SELECT status, count(*), coalesce(sum(items), 0), "
		      "coalesce(sum(attempts), 0) FROM notification_set GROUP "
		      "BY status ORDER BY status", NULL, 0, stat_row, out, NULL);

	if (err)
		clr_vec_truncate(out, before);
	return err;
}

int clr_store_notification_items(struct clr_store *s, const char *id,
				  const char *after, size_t limit,
				  struct clr_vec *out)
{
	char lim[24];
	const char *p[] = { id, after ? after : "", lim };

	snprintf(lim, sizeof(lim), "%zu", limit);
	return run(s, "SELECT id, manifest, reason, vuln, layers FROM "
		   "notification WHERE set_id = $1 AND id > $2 ORDER BY id "
		   "LIMIT CAST($3 AS BIGINT)", p, 3, item_row, out, NULL);
}

int clr_store_notification_delete(struct clr_store *s, const char *id)
{
	const char *p[] = { id };
	int64_t changes = 0;
	int err = run(s, "UPDATE notification_set SET status = 'deleted' "
		      "WHERE id = $1 AND status <> 'deleted'", p, 1, NULL, NULL,
		      &changes);

	if (!err && !changes)
		err = clr_error_set(CLR_ENOTFOUND, "no notification %s", id);
	return err;
}

int clr_store_notification_claim(struct clr_store *s, const char *owner,
				 int64_t now, int64_t lease, char **id)
{
	char n[24], until[24];
	struct clr_vec due = CLR_VEC_INIT(char *);
	int err;

	*id = NULL;
	snprintf(n, sizeof(n), "%" PRId64, now);
	snprintf(until, sizeof(until), "%" PRId64, now + lease);
	{
		const char *p[] = { n };

		err = run(s, "SELECT id FROM notification_set WHERE status IN "
			  "('created', 'delivery_failed') AND next_attempt <= "
			  "CAST($1 AS BIGINT) AND claim_until <= CAST($1 AS "
			  "BIGINT) ORDER BY created_at, id LIMIT 16", p, 1,
			  row_string, &due, NULL);
	}
	/* Another replica may claim a row between the look and the update:
	 * the update says whether we got it. */
	for (size_t i = 0; !err && i < due.len && !*id; i++) {
		const char *cand = *CLR_VEC_AT(&due, char *, i);
		const char *p[] = { owner, until, cand, n };
		int64_t changes = 0;

		err = run(s, "UPDATE notification_set SET claim_owner = $1, "
			  "claim_until = CAST($2 AS BIGINT) WHERE id = $3 AND "
			  "status IN ('created', 'delivery_failed') AND "
			  "next_attempt <= CAST($4 AS BIGINT) AND claim_until "
			  "<= CAST($4 AS BIGINT)", p, 4, NULL, NULL, &changes);
		if (!err && changes == 1)
			*id = clr_strdup(cand);
	}
	clr_store_strings_release(&due);
	return err;
}

int clr_store_notification_done(struct clr_store *s, const char *id,
				const char *owner, const char *error,
				int64_t next_attempt)
{
	char next[24];
	int64_t changes = 0;
	int err;

	snprintf(next, sizeof(next), "%" PRId64, next_attempt);
	if (!error) {
		const char *p[] = { id, owner };

		/* Delivered: unless deleted meanwhile (a client that paged
		 * and deleted before our 200 came back). */
		err = run(s, "UPDATE notification_set SET status = CASE WHEN "
			  "status = 'deleted' THEN status ELSE 'delivered' END, "
			  "attempts = attempts + 1, last_error = '', "
			  "claim_owner = NULL, claim_until = 0 WHERE id = $1 "
			  "AND claim_owner = $2", p, 2, NULL, NULL, &changes);
	} else {
		const char *p[] = { id, owner, error, next };

		err = run(s, "UPDATE notification_set SET status = CASE WHEN "
			  "status = 'deleted' THEN status ELSE "
			  "'delivery_failed' END, attempts = attempts + 1, "
			  "last_error = $3, next_attempt = CAST($4 AS BIGINT), "
			  "claim_owner = NULL, claim_until = 0 WHERE id = $1 "
			  "AND claim_owner = $2", p, 4, NULL, NULL, &changes);
	}
	if (!err && !changes)
		err = clr_error_set(CLR_EEXISTS, "the delivery claim on "
				    "notification %s was lost", id);
	return err;
}

int clr_store_notification_gc(struct clr_store *s, int64_t before,
			      size_t *deleted)
{
	char b[24];
	const char *p[] = { b };
	int64_t changes = 0;
	int err;

	if (deleted)
		*deleted = 0;
	snprintf(b, sizeof(b), "%" PRId64, before);
	if ((err = s->ops->sql_begin(s)))
		return err;
	/* Items first: SQLite enforces the cascade only with foreign keys
	 * on, and an explicit delete costs the same. */
	if ((err = run(s, "DELETE FROM notification WHERE set_id IN (SELECT "
		       "id FROM notification_set WHERE status = 'deleted' OR "
		       "(status <> 'created' AND created_at < CAST($1 AS "
		       "BIGINT)))", p, 1, NULL, NULL, NULL)) ||
	    (err = run(s, "DELETE FROM notification_set WHERE status = "
		       "'deleted' OR (status <> 'created' AND created_at < "
		       "CAST($1 AS BIGINT))", p, 1, NULL, NULL, &changes)) ||
	    /* Processed marks of operations the updater GC removed. */
	    (err = run(s, "DELETE FROM notifier_update WHERE processed_at < "
		       "CAST($1 AS BIGINT) AND ref NOT IN (SELECT ref FROM "
		       "update_operation) AND ref NOT IN (SELECT uo_ref FROM "
		       "notification_set)", p, 1, NULL, NULL, NULL)))
		goto fail;
	if ((err = s->ops->sql_commit(s)))
		goto fail;
	if (deleted)
		*deleted = changes > 0 ? (size_t)changes : 0;
	return 0;
fail:
	s->ops->sql_rollback(s);
	return err;
}
