/*
 * test_notifier.c - the notifier against SQLite and (when CLARION_TEST_PG
 * names a server) PostgreSQL: the package-name index, update diffs matched
 * backwards to manifests, summary and full modes, once-only processing,
 * paging and its tokens, delete and GC, delivery to a loopback receiver
 * (failures retried, claims exclusive), the legacy v1 page.
 *
 *     ./build/tests/test_notifier                               SQLite
 *     scripts/test-postgres run -- ./build/tests/test_notifier  both
 */
#include "store_fixture.h"

#include <arpa/inet.h>
#include <ftw.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "notifier/notifier.h"
#include "store/store.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/log.h"

#define M1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define M2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define M3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"
#define L1 "sha256:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"
#define L2 "sha256:b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2"

static int setup_sqlite(void **state)
{
	return db_fx_setup_sqlite(state, "notifier");
}

static int setup_pg(void **state)
{
	return db_fx_setup_pg(state, "clarion_n");
}

static int teardown(void **state)
{
	return db_fx_teardown(state);
}

static struct clr_store *open_ok(const struct db_fx *f)
{
	struct clr_store *s = NULL;

	if (clr_store_open(&s, f->location))
		fail_msg("open %s: %s", f->location, clr_error_msg());
	return s;
}

/* --- fixtures: images and feeds ---------------------------------------------- */

/* A Debian 12 IndexReport: pkgs is "binary:source:version" items. */
static char *deb_report(const char *manifest, const char *const *pkgs,
			size_t n)
{
	json_t *p = json_object(), *envs = json_object(), *r;
	char *text;

	for (size_t i = 0; i < n; i++) {
		char id[24], bin[64], src[64], ver[64];
		json_t *pk;

		assert_int_equal(sscanf(pkgs[i], "%63[^:]:%63[^:]:%63s", bin,
					src, ver), 3);
		snprintf(id, sizeof(id), "%zu", i + 1);
		pk = json_pack("{s:s, s:s, s:s, s:s}", "id", id, "name", bin,
			       "version", ver, "kind", "binary");
		json_object_set_new(pk, "source", json_pack(
			"{s:s, s:s, s:s}", "name", src, "version", "",
			"kind", "source"));
		json_object_set_new(p, id, pk);
		json_object_set_new(envs, id, json_pack(
			"[{s:s, s:s, s:s, s:[]}]", "package_db",
			"var/lib/dpkg/status", "introduced_in",
			i % 2 ? L2 : L1, "distribution_id", "1",
			"repository_ids"));
	}
	r = json_pack("{s:s, s:s, s:b, s:s, s:o, s:{s:{s:s, s:s, s:s, s:s}}, "
		      "s:{}, s:o}", "manifest_hash", manifest,
		      "state", "IndexFinished", "success", 1, "err", "",
		      "packages", p, "distributions", "1", "id", "1",
		      "did", "debian", "version_id", "12",
		      "version_code_name", "bookworm", "repository",
		      "environments", envs);
	text = json_dumps(r, JSON_COMPACT);
	json_decref(r);
	return text;
}

static void put_report(struct clr_store *s, const char *manifest,
		       const char *state, const char *const *pkgs, size_t n)
{
	char *text = deb_report(manifest, pkgs, n);
	const char *layers[] = { L1, L2 };
	struct clr_store_report r = {
		.index_state = (char *)"i",
		.state = (char *)state,
		.report = text,
	};

	if (clr_store_report_put(s, manifest, &r, layers, 2))
		fail_msg("put %s: %s", manifest, clr_error_msg());
	free(text);
}

static struct clr_vuln deb(const char *name, const char *pkg,
			   const char *fixed, enum clr_severity sev)
{
	struct clr_vuln v = {
		.name = name, .updater = "debian", .description = "d",
		.links = "https://security-tracker.debian.org/tracker/x "
			 "https://example.invalid/y",
		.package_name = pkg, .package_kind = "source",
		.dist_did = "debian", .dist_version_id = "12",
		.dist_version_code_name = "bookworm", .version_scheme = "dpkg",
		.fixed_in_version = fixed, .severity = clr_severity_name(sev),
		.normalized_severity = sev,
	};
	return v;
}

static void feed(struct clr_store *s, const struct clr_vuln *vs, size_t n)
{
	struct clr_vuln_set set;

	clr_vuln_set_init(&set);
	for (size_t i = 0; i < n; i++)
		clr_vuln_set_add(&set, &vs[i]);
	if (clr_store_update_put(s, "debian", "fp", &set, NULL))
		fail_msg("update_put: %s", clr_error_msg());
	clr_vuln_set_release(&set);
}

static const char *const IMG1[] = { "libssl3:openssl:3.0.11-1~deb12u2",
				     "bash:bash:5.2.15-2+b2" };
static const char *const IMG2[] = { "zlib1g:zlib:1:1.2.13.dfsg-1",
				    "bash:bash:5.2.15-2+b2" };
static const char *const IMG3[] = { "openssl:openssl:3.0.11-1~deb12u2" };

/* The ids of every receipt, newest first. */
static size_t receipts(struct clr_store *s, struct clr_vec *out)
{
	assert_int_equal(clr_store_notification_list(s, out), 0);
	return out->len;
}

/* "MANIFEST-prefix:reason:CVE" of every item of set id, in page order,
 * sorted, space-separated. */
static int item_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *items_of(struct clr_store *s, const char *id)
{
	static char buf[4096];
	struct clr_vec all = CLR_VEC_INIT(char *);
	json_t *page = NULL, *x;
	size_t i;

	buf[0] = '\0';
	assert_int_equal(clr_notifier_page(&page, s, id, 0, NULL), 0);
	json_array_foreach(json_object_get(page, "notifications"), i, x) {
		char line[256], *l;

		snprintf(line, sizeof(line), "%.8s:%s:%s",
			 json_string_value(json_object_get(x, "manifest")) + 7,
			 json_string_value(json_object_get(x, "reason")),
			 json_string_value(json_object_get(json_object_get(
				 x, "vulnerability"), "name")));
		l = clr_strdup(line);
		CLR_VEC_PUSH(&all, &l);
	}
	json_decref(page);
	clr_vec_sort(&all, item_cmp);
	for (i = 0; i < all.len; i++)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s",
			 i ? " " : "", *CLR_VEC_AT(&all, char *, i));
	clr_store_strings_release(&all);
	return buf;
}

/* --- tests ------------------------------------------------------------------ */

static void test_package_index(void **state)
{
	struct db_fx *f = *state;
	struct clr_store *s = open_ok(f);
	struct clr_vec v = CLR_VEC_INIT(char *);
	const char *q1[] = { "openssl" }, *q2[] = { "bash", "zlib" },
		   *q3[] = { "libssl3", "nothing" };

	put_report(s, M1, "IndexFinished", IMG1, 2);
	put_report(s, M2, "IndexFinished", IMG2, 2);
	assert_int_equal(clr_store_manifests_by_package(s, q1, 1, &v), 0);
	assert_int_equal(v.len, 1);
	assert_string_equal(*CLR_VEC_AT(&v, char *, 0), M1);
	clr_store_strings_release(&v);
	assert_int_equal(clr_store_manifests_by_package(s, q2, 2, &v), 0);
	assert_int_equal(v.len, 2); /* bash is in both: listed once each */
	assert_string_equal(*CLR_VEC_AT(&v, char *, 0), M1);
	assert_string_equal(*CLR_VEC_AT(&v, char *, 1), M2);
	clr_store_strings_release(&v);
	/* A re-put replaces the names: M1 without libssl3 now. */
	put_report(s, M1, "IndexFinished", IMG2, 1);
	assert_int_equal(clr_store_manifests_by_package(s, q3, 2, &v), 0);
	assert_int_equal(v.len, 0);
	/* Deleting a report deletes its names. */
	assert_int_equal(clr_store_report_delete(s, M2, NULL), 0);
	assert_int_equal(clr_store_manifests_by_package(s, q2, 2, &v), 0);
	assert_int_equal(v.len, 1);
	clr_store_strings_release(&v);
	clr_store_close(s);
}

/* Reports stored before migration 3 are indexed by the migration. */
static void test_package_index_migration(void **state)
{
	struct db_fx *f = *state;
	struct clr_store *s;
	struct clr_vec v = CLR_VEC_INIT(char *);
	const char *q[] = { "openssl", "zlib" };
	char *r1 = deb_report(M1, IMG1, 2), sql[4096];

	raw(f, f->pg ? clr_store_schema_table_pg :
		       clr_store_schema_table_sqlite, NULL, 0);
	for (int i = 0; i < 2; i++) {
		raw(f, f->pg ? clr_store_migrations[i].pg :
			       clr_store_migrations[i].sqlite, NULL, 0);
		snprintf(sql, sizeof(sql), "INSERT INTO schema_migrations "
			 "(version) VALUES (%d)", i + 1);
		raw(f, sql, NULL, 0);
	}
	snprintf(sql, sizeof(sql), "INSERT INTO index_report (manifest_hash, "
		 "index_state, state, report) VALUES ('%s', 'i', "
		 "'IndexFinished', '%s')", M1, r1);
	raw(f, sql, NULL, 0);
	/* Not JSON: skipped, not a failed migration. */
	raw(f, "INSERT INTO index_report (manifest_hash, index_state, state, "
	    "report) VALUES ('" M2 "', 'i', 'IndexFinished', 'not json')",
	    NULL, 0);
	free(r1);
	s = open_ok(f);
	assert_int_equal(clr_store_schema_version(s), clr_store_schema_latest());
	assert_int_equal(clr_store_manifests_by_package(s, q, 2, &v), 0);
	assert_int_equal(v.len, 1);
	assert_string_equal(*CLR_VEC_AT(&v, char *, 0), M1);
	clr_store_strings_release(&v);
	assert_int_equal(raw_long(f, "SELECT count(*) FROM manifest_package"),
			 3); /* libssl3, openssl, bash (bin = src) */
	clr_store_close(s);
}

static void test_process_diff(void **state)
{
	struct db_fx *f = *state;
	struct clr_store *s = open_ok(f);
	struct clr_notifier_opts o;
	struct clr_vec r = CLR_VEC_INIT(struct clr_notif_receipt);
	size_t created = 99;
	struct clr_vuln v1[] = {
		deb("CVE-1", "openssl", "3.0.12-1", CLR_SEV_HIGH),
		deb("CVE-8", "bash", "5.0-1", CLR_SEV_HIGH), /* fixed below */
	};
	struct clr_vuln v2[] = {
		deb("CVE-1", "openssl", "3.0.12-1", CLR_SEV_HIGH),
		deb("CVE-2", "openssl", "", CLR_SEV_CRITICAL),
		deb("CVE-3", "openssl", "3.0.13-1", CLR_SEV_LOW),
		deb("CVE-8", "bash", "5.0-1", CLR_SEV_HIGH),
		deb("CVE-9", "zlib", "1:1.0-1", CLR_SEV_HIGH), /* not vuln. */
		deb("CVE-7", "bash", "", CLR_SEV_MEDIUM),
	};
	struct clr_vuln v3[] = {
		deb("CVE-2", "openssl", "", CLR_SEV_CRITICAL),
		deb("CVE-3", "openssl", "3.0.13-1", CLR_SEV_LOW),
		deb("CVE-8", "bash", "5.0-1", CLR_SEV_HIGH),
		deb("CVE-9", "zlib", "1:1.0-1", CLR_SEV_HIGH),
		deb("CVE-7", "bash", "", CLR_SEV_MEDIUM),
	};
	const struct clr_notif_receipt *rc;
	char *first;

	clr_notifier_opts_init(&o);
	put_report(s, M1, "IndexFinished", IMG1, 2);
	put_report(s, M2, "IndexFinished", IMG2, 2);
	/* Not finished: never notified. */
	put_report(s, M3, "ScanLayers", IMG3, 1);

	/* The first operation: not news. */
	feed(s, v1, 2);
	assert_int_equal(clr_notifier_process(s, &o, &created), 0);
	assert_int_equal(created, 0);
	assert_int_equal(receipts(s, &r), 0);
	/* Processed once: nothing more to do. */
	assert_int_equal(clr_notifier_process(s, &o, &created), 0);
	assert_int_equal(created, 0);

	/* Added: CVE-2 (critical) and CVE-3 for M1's openssl, CVE-7 for
	 * bash in both; summary mode keeps the most severe per manifest. */
	feed(s, v2, 6);
	assert_int_equal(clr_notifier_process(s, &o, &created), 0);
	assert_int_equal(created, 1);
	assert_int_equal(receipts(s, &r), 1);
	rc = CLR_VEC_AT(&r, struct clr_notif_receipt, 0);
	assert_string_equal(rc->status, "created");
	assert_int_equal(rc->items, 2);
	assert_string_equal(items_of(s, rc->id),
			    "11111111:added:CVE-2 22222222:added:CVE-7");
	first = clr_strdup(rc->id);
	clr_notif_receipts_release(&r);

	/* Removed: CVE-1 (M1's openssl). */
	feed(s, v3, 5);
	assert_int_equal(clr_notifier_process(s, &o, &created), 0);
	assert_int_equal(created, 1);
	assert_int_equal(receipts(s, &r), 2);
	/* Both made within a second: the new one is the other one. */
	rc = CLR_VEC_AT(&r, struct clr_notif_receipt, 0);
	if (!strcmp(rc->id, first))
		rc = CLR_VEC_AT(&r, struct clr_notif_receipt, 1);
	assert_string_equal(items_of(s, rc->id), "11111111:removed:CVE-1");
	clr_notif_receipts_release(&r);
	free(first);
	clr_store_close(s);
}

static void test_process_full_and_first(void **state)
{
	struct db_fx *f = *state;
	struct clr_store *s = open_ok(f);
	struct clr_notifier_opts o;
	struct clr_vec r = CLR_VEC_INIT(struct clr_notif_receipt);
	size_t created = 0;
	struct clr_vuln v1[] = {
		deb("CVE-2", "openssl", "", CLR_SEV_CRITICAL),
		deb("CVE-3", "openssl", "3.0.13-1", CLR_SEV_LOW),
		deb("CVE-7", "bash", "", CLR_SEV_MEDIUM),
	};
	json_t *page = NULL, *vuln;

	clr_notifier_opts_init(&o);
	o.notify_first_update = true;
	o.disable_summary = true;
	put_report(s, M1, "IndexFinished", IMG1, 2);
	feed(s, v1, 3);
	assert_int_equal(clr_notifier_process(s, &o, &created), 0);
	assert_int_equal(created, 1);
	assert_int_equal(receipts(s, &r), 1);
	assert_string_equal(items_of(s, CLR_VEC_AT(&r, struct clr_notif_receipt,
						   0)->id),
			    "11111111:added:CVE-2 11111111:added:CVE-3 "
			    "11111111:added:CVE-7");
	/* Clair's VulnSummary: normalized severity, repo, links. */
	assert_int_equal(clr_notifier_page(&page, s,
		CLR_VEC_AT(&r, struct clr_notif_receipt, 0)->id, 1, NULL), 0);
	vuln = json_object_get(json_array_get(json_object_get(page,
		"notifications"), 0), "vulnerability");
	assert_non_null(json_object_get(vuln, "package"));
	assert_non_null(json_object_get(vuln, "distribution"));
	assert_non_null(json_string_value(json_object_get(vuln, "severity")));
	assert_non_null(json_string_value(json_object_get(vuln, "links")));
	json_decref(page);
	clr_notif_receipts_release(&r);
	clr_store_close(s);
}

/* Two handles (two replicas) process the same operation: one set. */
struct race {
	const char *location;
	const struct clr_notifier_opts *o;
	size_t created;
	int err;
};

static void *race_run(void *arg)
{
	struct race *r = arg;
	struct clr_store *s = NULL;

	if ((r->err = clr_store_open(&s, r->location)))
		return NULL;
	/* Busy (the other one held the updater) is a retry, not an
	 * error: the once-only insert settles it either way. */
	do
		r->err = clr_notifier_process(s, r->o, &r->created);
	while (r->err == CLR_EBUSY);
	clr_store_close(s);
	return NULL;
}

static void test_process_once_across_replicas(void **state)
{
	struct db_fx *f = *state;
	struct clr_store *s = open_ok(f);
	struct clr_notifier_opts o;
	struct race a = { 0 }, b = { 0 };
	pthread_t ta, tb;
	struct clr_vuln v1[] = { deb("CVE-2", "openssl", "", CLR_SEV_HIGH) };

	clr_notifier_opts_init(&o);
	o.notify_first_update = true;
	put_report(s, M1, "IndexFinished", IMG1, 2);
	feed(s, v1, 1);
	a.location = b.location = f->location;
	a.o = b.o = &o;
	pthread_create(&ta, NULL, race_run, &a);
	pthread_create(&tb, NULL, race_run, &b);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	assert_int_equal(a.err, 0);
	assert_int_equal(b.err, 0);
	assert_int_equal(a.created + b.created, 1);
	assert_int_equal(raw_long(f, "SELECT count(*) FROM notification_set"),
			 1);
	clr_store_close(s);
}

/* A set of n items made directly; its id in id. */
static void make_set(struct clr_store *s, const char *uo, size_t n,
		     char **id)
{
	struct clr_notif_item *items = clr_calloc(n, sizeof(*items));

	for (size_t i = 0; i < n; i++) {
		items[i].manifest = (char *)M1;
		items[i].reason = (char *)"added";
		items[i].vuln = (char *)"{\"name\":\"CVE-X\",\"severity\":"
			"\"High\"}";
		items[i].layers = (char *)"[\"" L1 "\"]";
	}
	assert_int_equal(clr_store_notification_create(s, uo, NULL, "debian",
						       items, n, id), 0);
	free(items);
}

static void test_paging(void **state)
{
	struct db_fx *f = *state;
	struct clr_store *s = open_ok(f);
	char *id = NULL, *next = NULL;
	json_t *page = NULL;
	size_t seen = 0, pages = 0;
	const char *unknown = "00000000-0000-4000-8000-000000000000";

	make_set(s, "op-1", 5, &id);
	/* The same operation again: refused, nothing written. */
	assert_int_equal(clr_store_notification_create(s, "op-1", NULL,
						       "debian", NULL, 0, NULL),
			 CLR_EEXISTS);
	do {
		json_t *p;

		assert_int_equal(clr_notifier_page(&page, s, id, 2, next), 0);
		p = json_object_get(page, "page");
		assert_int_equal(json_integer_value(json_object_get(p, "size")),
				 2);
		seen += json_array_size(json_object_get(page,
							"notifications"));
		free(next);
		next = json_object_get(p, "next") ?
			clr_strdup(json_string_value(json_object_get(p,
								     "next"))) :
			NULL;
		json_decref(page);
		pages++;
	} while (next);
	assert_int_equal(seen, 5);
	assert_int_equal(pages, 3);

	/* Bad ids and tokens: invalid, not a crash, not a query. */
	assert_int_equal(clr_notifier_page(&page, s, "../../etc", 0, NULL),
			 CLR_EINVALID);
	assert_int_equal(clr_notifier_page(&page, s, id, 0, "'; DROP"),
			 CLR_EINVALID);
	assert_int_equal(clr_notifier_page(&page, s, id, 0,
					   "ZZZZZZZZ-0000-4000-8000-000000000000"),
			 CLR_EINVALID);
	assert_null(page);
	assert_int_equal(clr_notifier_page(&page, s, unknown, 0, NULL),
			 CLR_ENOTFOUND);
	/* A token from another set is a valid token: an empty page. */
	assert_int_equal(clr_notifier_page(&page, s, id, 0, "ffffffff-ffff-"
					   "4fff-bfff-ffffffffffff"), 0);
	assert_int_equal(json_array_size(json_object_get(page,
							 "notifications")), 0);
	json_decref(page);
	/* Huge sizes are capped; 0 is the default. */
	assert_int_equal(clr_notifier_page(&page, s, id, (size_t)-1, NULL), 0);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
		page, "page"), "size")), CLR_NOTIFIER_PAGE_MAX);
	assert_null(json_object_get(json_object_get(page, "page"), "next"));
	json_decref(page);
	assert_int_equal(clr_notifier_page(&page, s, id, 0, NULL), 0);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
		page, "page"), "size")), CLR_NOTIFIER_PAGE_DEFAULT);
	json_decref(page);
	free(id);
	clr_store_close(s);
}

static void test_delete_and_gc(void **state)
{
	struct db_fx *f = *state;
	struct clr_store *s = open_ok(f);
	struct clr_notifier_opts o;
	struct clr_notif_receipt r;
	char *a = NULL, *b = NULL;
	size_t deleted = 0;

	clr_notifier_opts_init(&o);
	make_set(s, "op-a", 2, &a);
	make_set(s, "op-b", 2, &b);
	assert_int_equal(clr_store_notification_delete(s, a), 0);
	assert_int_equal(clr_store_notification_get(s, a, &r), 0);
	assert_string_equal(r.status, "deleted");
	clr_notif_receipt_release(&r);
	assert_int_equal(clr_store_notification_delete(s, a), CLR_ENOTFOUND);
	assert_int_equal(clr_store_notification_delete(s,
		"00000000-0000-4000-8000-000000000000"), CLR_ENOTFOUND);
	assert_int_equal(clr_notifier_gc(s, &o, &deleted), 0);
	assert_int_equal(deleted, 1);
	assert_int_equal(clr_store_notification_get(s, a, &r), CLR_ENOTFOUND);
	assert_int_equal(raw_long(f, "SELECT count(*) FROM notification"), 2);
	/* Old and not pending: collected once past the retention. */
	raw(f, "UPDATE notification_set SET status = 'delivered', "
	    "created_at = 1000", NULL, 0);
	assert_int_equal(clr_notifier_gc(s, &o, &deleted), 0);
	assert_int_equal(deleted, 1);
	assert_int_equal(raw_long(f, "SELECT count(*) FROM notification"), 0);
	free(a);
	free(b);
	clr_store_close(s);
}

/* --- delivery ---------------------------------------------------------------- */

/* A loopback receiver answering each request with the next status. */
struct receiver {
	int fd;
	int port;
	const int *statuses;
	size_t n;
	size_t got;           /* requests served */
	char last_body[1024];
	char last_auth[1024];
	pthread_t thread;
};

static void *receive(void *arg)
{
	struct receiver *rv = arg;

	for (size_t i = 0; i < rv->n; i++) {
		char buf[8192], resp[128], *body, *auth;
		size_t len = 0;
		long clen = -1;
		int c = accept(rv->fd, NULL, NULL);
		ssize_t k;

		if (c < 0)
			break;
		while (len < sizeof(buf) - 1 &&
		       (k = read(c, buf + len, sizeof(buf) - 1 - len)) > 0) {
			char *cl;

			len += (size_t)k;
			buf[len] = '\0';
			body = strstr(buf, "\r\n\r\n");
			if (!body)
				continue;
			cl = strcasestr(buf, "Content-Length:");
			clen = cl ? atol(cl + 15) : 0;
			if ((long)(len - (size_t)(body + 4 - buf)) >= clen)
				break;
		}
		body = strstr(buf, "\r\n\r\n");
		snprintf(rv->last_body, sizeof(rv->last_body), "%s",
			 body ? body + 4 : "");
		auth = strcasestr(buf, "Authorization:");
		snprintf(rv->last_auth, sizeof(rv->last_auth), "%.*s",
			 auth ? (int)strcspn(auth, "\r") : 0, auth ? auth : "");
		snprintf(resp, sizeof(resp), "HTTP/1.1 %d X\r\nContent-Length:"
			 " 0\r\nConnection: close\r\n\r\n", rv->statuses[i]);
		if (write(c, resp, strlen(resp)) < 0)
			break;
		close(c);
		rv->got++;
	}
	return NULL;
}

static void receiver_start(struct receiver *rv, const int *statuses, size_t n)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);

	memset(rv, 0, sizeof(*rv));
	rv->statuses = statuses;
	rv->n = n;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	rv->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(rv->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(rv->fd, 8), 0);
	getsockname(rv->fd, (struct sockaddr *)&a, &al);
	rv->port = ntohs(a.sin_port);
	pthread_create(&rv->thread, NULL, receive, rv);
}

static void receiver_stop(struct receiver *rv)
{
	pthread_join(rv->thread, NULL);
	close(rv->fd);
}

static void test_deliver_retries(void **state)
{
	struct db_fx *f = *state;
	struct clr_store *s = open_ok(f);
	struct clr_notifier_opts o;
	struct clr_notif_receipt r;
	struct receiver rv;
	static const int statuses[] = { 500, 200 };
	static const unsigned char key[] = "0123456789abcdef";
	char target[64], want[256], *id = NULL, *claimed = NULL;
	size_t ok = 9, bad = 9;

	make_set(s, "op-1", 1, &id);
	receiver_start(&rv, statuses, 2);
	clr_notifier_opts_init(&o);
	snprintf(target, sizeof(target), "http://127.0.0.1:%d/hook", rv.port);
	o.webhook_target = target;
	o.webhook_callback = (char *)"http://clarion/notifier/api/v1/"
		"notification/";
	o.psk = (unsigned char *)key;
	o.psk_len = 16;
	o.delivery_interval = 3600;
	o.timeout = 5;

	/* 500: failed, recorded, not due again before the interval. */
	assert_int_equal(clr_notifier_deliver(s, &o, "me", &ok, &bad), 0);
	assert_int_equal(ok, 0);
	assert_int_equal(bad, 1);
	assert_int_equal(clr_store_notification_get(s, id, &r), 0);
	assert_string_equal(r.status, "delivery_failed");
	assert_int_equal(r.attempts, 1);
	assert_true(strstr(r.last_error, "500") != NULL);
	assert_true(r.next_attempt >= (int64_t)time(NULL) + 3500);
	clr_notif_receipt_release(&r);
	assert_int_equal(clr_notifier_deliver(s, &o, "me", &ok, &bad), 0);
	assert_int_equal(ok + bad, 0);

	/* Its time comes (as after a restart: all state is stored). */
	raw(f, "UPDATE notification_set SET next_attempt = 0", NULL, 0);
	assert_int_equal(clr_notifier_deliver(s, &o, "me", &ok, &bad), 0);
	assert_int_equal(ok, 1);
	assert_int_equal(bad, 0);
	receiver_stop(&rv);
	assert_int_equal(rv.got, 2);
	snprintf(want, sizeof(want), "{\"notification_id\":\"%s\",\"callback\":"
		 "\"http://clarion/notifier/api/v1/notification/%s\"}", id, id);
	assert_string_equal(rv.last_body, want);
	assert_true(!strncmp(rv.last_auth, "Authorization: Bearer ey", 24));
	assert_int_equal(clr_store_notification_get(s, id, &r), 0);
	assert_string_equal(r.status, "delivered");
	clr_notif_receipt_release(&r);
	/* Delivered: never claimed again. */
	assert_int_equal(clr_store_notification_claim(s, "me", time(NULL), 60,
						      &claimed), 0);
	assert_null(claimed);
	free(id);
	clr_store_close(s);
}

static void test_claims_exclusive(void **state)
{
	struct db_fx *f = *state;
	struct clr_store *s = open_ok(f), *t = open_ok(f);
	char *id = NULL, *a = NULL, *b = NULL;
	int64_t now = (int64_t)time(NULL);

	make_set(s, "op-1", 1, &id);
	assert_int_equal(clr_store_notification_claim(s, "one", now, 60, &a), 0);
	assert_non_null(a);
	assert_int_equal(clr_store_notification_claim(t, "two", now, 60, &b), 0);
	assert_null(b);
	/* "one" crashed: its lease runs out and "two" takes over; one's
	 * late outcome is refused. */
	assert_int_equal(clr_store_notification_claim(t, "two", now + 61, 60,
						      &b), 0);
	assert_non_null(b);
	assert_int_equal(clr_store_notification_done(s, a, "one", NULL, 0),
			 CLR_EEXISTS);
	assert_int_equal(clr_store_notification_done(t, b, "two", NULL, 0), 0);
	free(a);
	free(b);
	free(id);
	clr_store_close(s);
	clr_store_close(t);
}

static void test_v1_page(void **state)
{
	struct db_fx *f = *state;
	struct clr_store *s = open_ok(f);
	char *id = NULL;
	json_t *out = NULL, *n, *nw;

	make_set(s, "op-1", 3, &id);
	assert_int_equal(clr_notifier_v1_page(&out, s, id, 2, NULL), 0);
	n = json_object_get(out, "Notification");
	assert_string_equal(json_string_value(json_object_get(n, "Name")), id);
	assert_non_null(json_string_value(json_object_get(n, "Created")));
	assert_non_null(json_string_value(json_object_get(n, "NextPage")));
	assert_int_equal(json_integer_value(json_object_get(n, "Limit")), 2);
	nw = json_object_get(n, "New");
	assert_string_equal(json_string_value(json_object_get(
		json_object_get(nw, "Vulnerability"), "Name")), "CVE-X");
	assert_string_equal(json_string_value(json_object_get(json_array_get(
		json_object_get(nw, "OrderedLayersIntroducingVulnerability"),
		0), "LayerName")), L1);
	assert_null(json_object_get(n, "Old"));
	json_decref(out);
	assert_int_equal(clr_notifier_v1_page(&out, s, id, 2, "nope"),
			 CLR_EINVALID);
	free(id);
	clr_store_close(s);
}

#define BOTH(setup)                                                         \
	cmocka_unit_test_setup_teardown(test_package_index, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_package_index_migration, setup, \
					teardown),                           \
	cmocka_unit_test_setup_teardown(test_process_diff, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_process_full_and_first, setup,  \
					teardown),                           \
	cmocka_unit_test_setup_teardown(test_process_once_across_replicas,   \
					setup, teardown),                    \
	cmocka_unit_test_setup_teardown(test_paging, setup, teardown),       \
	cmocka_unit_test_setup_teardown(test_delete_and_gc, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_deliver_retries, setup,         \
					teardown),                           \
	cmocka_unit_test_setup_teardown(test_claims_exclusive, setup,        \
					teardown),                           \
	cmocka_unit_test_setup_teardown(test_v1_page, setup, teardown)

int main(void)
{
	const struct CMUnitTest sqlite_tests[] = { BOTH(setup_sqlite) };
	const struct CMUnitTest pg_tests[] = { BOTH(setup_pg) };
	const char *require = getenv("CLARION_REQUIRE_PG");
	int failed;

	clr_log_set_level(CLR_LOG_ERROR);
	failed = cmocka_run_group_tests_name("notifier/sqlite", sqlite_tests,
					     NULL, NULL);
	if (pg_base())
		return failed | cmocka_run_group_tests_name(
			"notifier/postgres", pg_tests, NULL, NULL);
	if (require && !strcmp(require, "1")) {
		fprintf(stderr, "notifier/postgres: CLARION_REQUIRE_PG=1 but "
			"CLARION_TEST_PG is not set\n");
		return 1;
	}
	printf("[  SKIPPED ] notifier/postgres: CLARION_TEST_PG is not set\n");
	return failed;
}
