/*
 * test_manager.c - the update manager and offline bundles, on a real
 * SQLite store, with updaters of the test's own.
 *
 * The test updaters serve "feeds" from memory: each has a version (its
 * fingerprint is "v<N>") and a window of record ids; changing either is an
 * upstream change.  They count their fetch and parse calls, and can be
 * told to fail either, so the tests can say what the manager did, not only
 * what ended in the database.
 *
 * The suite runs on SQLite, then again on PostgreSQL when CLARION_TEST_PG
 * names a server (scripts/test-postgres), a fresh schema per test.
 *
 * The real source table (src/distro/registry.c) names nine factories;
 * this file defines those symbols as small stubs, so that it links and
 * runs whatever state the real sources are in, and clr_update_run() (the
 * table path) can be tested with them.
 */
#include "store_fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "config/config.h"
#include "store/store.h"
#include "updater/bundle.h"
#include "updater/fetch.h"
#include "updater/manager.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/log.h"

/* --- test updaters ------------------------------------------------------- */

struct feed {
	const char *name;    /* the updater's name */
	int version;         /* fingerprint "v<version>" */
	int first, n;        /* records CVE-T-<first> .. CVE-T-<first+n-1> */
	int fetch_err;       /* returned by fetch when set */
	int parse_err;       /* returned by parse when set */
	int fetches, parses; /* calls */
	char url_seen[128];  /* u->url when fetch was called */
};

static struct feed feeds[3];
static size_t nfeeds;
static int factory_err;           /* the factory fails with this */
static const char *seen_setting;  /* what setting("url") gave the factory */
static const char *seen_per_updater; /* setting("<first feed>.mode") */

static struct feed *feed_of(struct clr_updater *u)
{
	return u->priv;
}

static int t_fetch(struct clr_updater *u, const char *prev, struct clr_fetched *out)
{
	struct feed *f = feed_of(u);
	char fp[32], *dir, *path;
	FILE *file;
	int err;

	f->fetches++;
	snprintf(f->url_seen, sizeof(f->url_seen), "%s", u->url);
	if (f->fetch_err)
		return clr_error_set(f->fetch_err, "%s: injected fetch failure", u->url);
	snprintf(fp, sizeof(fp), "v%d", f->version);
	if (prev && !strcmp(prev, fp))
		return clr_error_set(CLR_EUNCHANGED, "unchanged");
	/* Real data on disk, as real updaters have: the manager removes it. */
	if ((err = clr_fetch_tempdir(&dir)))
		return err;
	if (asprintf(&path, "%s/feed.txt", dir) < 0)
		abort();
	file = fopen(path, "w");
	fprintf(file, "%d %d\n", f->first, f->n);
	fclose(file);
	free(path);
	out->path = dir;
	out->fingerprint = clr_strdup(fp);
	return 0;
}

static int t_parse(struct clr_updater *u, const struct clr_fetched *in,
		   struct clr_vuln_set *out)
{
	struct feed *f = feed_of(u);
	char path[512];
	int first, n;
	FILE *file;

	f->parses++;
	if (f->parse_err)
		return clr_error_set(f->parse_err, "%s: line 1: injected parse failure",
				     in->path);
	snprintf(path, sizeof(path), "%s/feed.txt", in->path);
	file = fopen(path, "r");
	assert_non_null(file);
	assert_int_equal(fscanf(file, "%d %d", &first, &n), 2);
	fclose(file);
	for (int i = first; i < first + n; i++) {
		char name[32], pkg[32];
		struct clr_vuln v = { 0 };

		snprintf(name, sizeof(name), "CVE-T-%d", i);
		snprintf(pkg, sizeof(pkg), "pkg%d", i % 5);
		v.name = name;
		/* Left empty on purpose for one feed: the manager fills it. */
		v.updater = strcmp(u->name, "test-b") ? u->name : "";
		v.description = "a test vulnerability \xe2\x80\x94 with UTF-8";
		v.severity = "medium";
		v.normalized_severity = (enum clr_severity)(i % 6);
		v.package_name = pkg;
		v.package_kind = "source";
		v.dist_did = "testos";
		v.dist_version_id = "1";
		v.version_scheme = "dpkg";
		v.fixed_in_version = i % 3 ? "1.0-1" : "";
		v.affected = i % 4 ? "" : "{\"ranges\":[{\"fixed\":\"2\"}]}";
		v.links = "https://example.org/a https://example.org/b";
		clr_vuln_set_add(out, &v);
	}
	return 0;
}

static void t_free(struct clr_updater *u)
{
	free(u->name);
	free(u->url);
	free(u);
}

static const struct clr_updater_ops t_ops = { t_fetch, t_parse, t_free };

static int t_create(struct clr_vec *out,
		    const char *(*setting)(void *arg, const char *key), void *arg)
{
	char key[128];

	if (factory_err)
		return clr_error_set(factory_err, "cannot list releases");
	seen_setting = setting(arg, "url");
	snprintf(key, sizeof(key), "%s.mode", feeds[0].name);
	seen_per_updater = setting(arg, key);
	for (size_t i = 0; i < nfeeds; i++) {
		struct clr_updater *u = clr_calloc(1, sizeof(*u));

		u->ops = &t_ops;
		u->name = clr_strdup(feeds[i].name);
		u->url = clr_strdup(seen_setting ? seen_setting : "test://default");
		u->priv = &feeds[i];
		CLR_VEC_PUSH(out, &u);
	}
	return 0;
}

static int ok_create(struct clr_vec *out,
		     const char *(*setting)(void *arg, const char *key), void *arg)
{
	struct clr_updater *u = clr_calloc(1, sizeof(*u));

	(void)setting;
	(void)arg;
	u->ops = &t_ops;
	u->name = clr_strdup("other-1");
	u->url = clr_strdup("test://other");
	u->priv = &feeds[2];
	CLR_VEC_PUSH(out, &u);
	return 0;
}

static const struct clr_updater_factory test_factory = { "test", t_create };
static const struct clr_updater_factory other_factory = { "other", ok_create };
static const struct clr_updater_factory *const factories[] = {
	&test_factory, &other_factory,
};

/* The registry's sources, as stubs (see the comment at the top). */
extern const struct clr_updater_factory clr_factory_debian, clr_factory_ubuntu,
	clr_factory_alpine, clr_factory_rhel, clr_factory_oracle, clr_factory_suse,
	clr_factory_photon, clr_factory_alma, clr_factory_rocky;
const struct clr_updater_factory clr_factory_debian = { "debian", t_create };
const struct clr_updater_factory clr_factory_ubuntu = { "ubuntu", t_create };
const struct clr_updater_factory clr_factory_alpine = { "alpine", t_create };
const struct clr_updater_factory clr_factory_rhel = { "rhel", t_create };
const struct clr_updater_factory clr_factory_oracle = { "oracle", t_create };
const struct clr_updater_factory clr_factory_suse = { "suse", t_create };
const struct clr_updater_factory clr_factory_photon = { "photon", t_create };
const struct clr_updater_factory clr_factory_alma = { "alma", t_create };
const struct clr_updater_factory clr_factory_rocky = { "rocky", t_create };

/* --- fixtures ------------------------------------------------------------ */

struct fx {
	char dir[64];     /* bundles, and the SQLite file */
	char db[512];     /* what clr_store_open gets */
	char schema[64];  /* PostgreSQL: this test's schema */
	struct clr_store *s;
	struct clr_config *cfg;
};

/* The second round of the suite runs on PostgreSQL (CLARION_TEST_PG). */
static bool use_pg;

static int setup(void **state)
{
	struct fx *x = clr_calloc(1, sizeof(*x));
	static int n;

	snprintf(x->dir, sizeof(x->dir), "/tmp/clarion-test-manager-XXXXXX");
	if (!mkdtemp(x->dir))
		return -1;
	snprintf(x->db, sizeof(x->db), "%s/clarion.db", x->dir);
	if (use_pg) {
		/* A schema per test: updater names are the same in every test. */
		char sql[128];

		snprintf(x->schema, sizeof(x->schema), "clarion_mgr_%ld_%d",
			 (long)getpid(), ++n);
		snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", x->schema);
		if (pg_exec(sql))
			return -1;
		snprintf(x->db, sizeof(x->db), "%s%coptions=-csearch_path%%3D%s",
			 pg_base(), strchr(pg_base(), '?') ? '&' : '?', x->schema);
	}
	if (clr_store_open(&x->s, x->db)) {
		fprintf(stderr, "open: %s\n", clr_error_msg());
		return -1;
	}
	if (clr_config_load(&x->cfg, NULL))
		return -1;
	memset(feeds, 0, sizeof(feeds));
	feeds[0] = (struct feed){ .name = "test-a", .version = 1, .first = 0, .n = 10 };
	feeds[1] = (struct feed){ .name = "test-b", .version = 1, .first = 100, .n = 5 };
	feeds[2] = (struct feed){ .name = "other-1", .version = 1, .first = 500, .n = 3 };
	nfeeds = 2;
	factory_err = 0;
	seen_setting = seen_per_updater = NULL;
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fx *x = *state;

	clr_store_close(x->s);
	clr_config_free(x->cfg);
	clr_fetch_remove(x->dir);
	if (*x->schema) {
		char sql[128];

		snprintf(sql, sizeof(sql), "DROP SCHEMA %s CASCADE", x->schema);
		pg_exec(sql);
	}
	free(x);
	return 0;
}

static void use_config(struct fx *x, const char *yaml)
{
	clr_config_free(x->cfg);
	if (clr_config_parse(&x->cfg, yaml, strlen(yaml), "test.yaml"))
		fail_msg("config: %s", clr_error_msg());
}

static const struct clr_update_result *result(const struct clr_update_report *rep,
					      const char *name)
{
	for (size_t i = 0; i < rep->results.len; i++) {
		const struct clr_update_result *r =
			CLR_VEC_AT(&rep->results, struct clr_update_result, i);

		if (!strcmp(r->name, name))
			return r;
	}
	fail_msg("no result for %s", name);
	return NULL;
}

static void run(struct fx *x, const char *const *only, struct clr_update_report *rep)
{
	int err = clr_update_run_with(x->s, x->cfg, factories, 2, only, rep);

	if (err)
		fail_msg("run: %s", clr_error_msg());
}

static const char *const only_test[] = { "test", NULL };

static char *latest_ref(struct fx *x, const char *updater)
{
	struct clr_update_op op;
	char *ref;

	if (clr_store_update_latest(x->s, updater, &op))
		return NULL;
	ref = clr_strdup(op.ref);
	clr_update_op_release(&op);
	return ref;
}

static struct clr_updater_status status_of(struct fx *x, const char *updater)
{
	struct clr_vec v = CLR_VEC_INIT(struct clr_updater_status);
	struct clr_updater_status st = { 0 };

	assert_int_equal(clr_store_status_list(x->s, &v), 0);
	for (size_t i = 0; i < v.len; i++) {
		struct clr_updater_status *p = CLR_VEC_AT(&v, struct clr_updater_status, i);

		if (!strcmp(p->updater, updater)) {
			st = *p;
			st.updater = clr_strdup(p->updater);
			st.last_attempt = clr_strdup(p->last_attempt);
			st.last_success = clr_strdup(p->last_success);
			st.last_error = clr_strdup(p->last_error);
		}
	}
	clr_updater_status_release(&v);
	if (!st.updater)
		fail_msg("no status for %s", updater);
	return st;
}

static void status_release(struct clr_updater_status *st)
{
	free(st->updater);
	free(st->last_attempt);
	free(st->last_success);
	free(st->last_error);
}

/* --- the manager --------------------------------------------------------- */

static void test_first_run(void **state)
{
	struct fx *x = *state;
	struct clr_update_report rep;
	const struct clr_update_result *a, *b;
	struct clr_updater_status st;
	struct clr_vuln_set set;
	char *ref;

	run(x, only_test, &rep);
	assert_int_equal(rep.results.len, 2);
	assert_int_equal(rep.failed, 0);
	a = result(&rep, "test-a");
	assert_int_equal(a->outcome, CLR_UPDATE_UPDATED);
	assert_string_equal(a->source, "test");
	assert_int_equal(a->count, 10);
	assert_int_equal(a->added, 10);
	assert_int_equal(a->removed, 0);
	assert_null(a->error);
	assert_true(a->seconds >= 0);
	ref = latest_ref(x, "test-a");
	assert_string_equal(a->ref, ref);
	free(ref);
	b = result(&rep, "test-b");
	assert_int_equal(b->outcome, CLR_UPDATE_UPDATED);
	assert_int_equal(b->count, 5);
	assert_int_equal(feeds[0].parses, 1);

	st = status_of(x, "test-a");
	assert_string_equal(st.last_error, "");
	assert_string_not_equal(st.last_success, "");
	assert_int_equal(st.count, 10);
	status_release(&st);

	/* Records without an updater name got the updater's. */
	clr_vuln_set_init(&set);
	ref = latest_ref(x, "test-b");
	assert_int_equal(clr_store_update_vulns(x->s, ref, &set), 0);
	assert_int_equal(set.vulns.len, 5);
	for (size_t i = 0; i < set.vulns.len; i++)
		assert_string_equal(CLR_VEC_AT(&set.vulns, struct clr_vuln, i)->updater,
				    "test-b");
	clr_vuln_set_release(&set);
	free(ref);
	clr_update_report_release(&rep);
}

static void test_change_makes_new_op(void **state)
{
	struct fx *x = *state;
	struct clr_update_report rep;
	const struct clr_update_result *a;
	struct clr_vec ops = CLR_VEC_INIT(struct clr_update_op);
	char *ref1, *ref2;

	run(x, only_test, &rep);
	clr_update_report_release(&rep);
	ref1 = latest_ref(x, "test-a");

	/* Upstream: 3 records gone (0..2), 3 new (10..12). */
	feeds[0].version = 2;
	feeds[0].first = 3;
	run(x, only_test, &rep);
	a = result(&rep, "test-a");
	assert_int_equal(a->outcome, CLR_UPDATE_UPDATED);
	assert_int_equal(a->count, 10);
	assert_int_equal(a->added, 3);
	assert_int_equal(a->removed, 3);
	ref2 = latest_ref(x, "test-a");
	assert_string_not_equal(ref1, ref2);
	assert_string_equal(a->ref, ref2);
	assert_int_equal(clr_store_update_list(x->s, "test-a", &ops), 0);
	assert_int_equal(ops.len, 2);
	clr_update_ops_release(&ops);
	/* test-b did not change. */
	assert_int_equal(result(&rep, "test-b")->outcome, CLR_UPDATE_UNCHANGED);
	clr_update_report_release(&rep);
	free(ref1);
	free(ref2);
}

static void test_unchanged_no_parse(void **state)
{
	struct fx *x = *state;
	struct clr_update_report rep;
	const struct clr_update_result *a;
	struct clr_updater_status st1, st2;
	char *ref1, *ref2;

	run(x, only_test, &rep);
	clr_update_report_release(&rep);
	ref1 = latest_ref(x, "test-a");
	st1 = status_of(x, "test-a");
	sleep(1);  /* timestamps have a resolution of a second */

	run(x, only_test, &rep);
	a = result(&rep, "test-a");
	assert_int_equal(a->outcome, CLR_UPDATE_UNCHANGED);
	assert_int_equal(a->count, 10);
	assert_null(a->ref);
	assert_int_equal(feeds[0].fetches, 2);
	assert_int_equal(feeds[0].parses, 1);  /* not parsed again */
	ref2 = latest_ref(x, "test-a");
	assert_string_equal(ref1, ref2);      /* no new operation */
	st2 = status_of(x, "test-a");
	assert_string_not_equal(st1.last_attempt, st2.last_attempt);
	assert_string_equal(st2.last_error, "");
	status_release(&st1);
	status_release(&st2);
	clr_update_report_release(&rep);
	free(ref1);
	free(ref2);
}

static void test_fetch_failure_keeps_data(void **state)
{
	struct fx *x = *state;
	struct clr_update_report rep;
	const struct clr_update_result *a;
	struct clr_updater_status st;
	char *ref1, *ref2;

	run(x, only_test, &rep);
	clr_update_report_release(&rep);
	ref1 = latest_ref(x, "test-a");

	feeds[0].version = 2;
	feeds[0].fetch_err = CLR_ENET;
	feeds[1].version = 2;  /* the other one still updates */
	run(x, only_test, &rep);
	assert_int_equal(rep.failed, 1);
	a = result(&rep, "test-a");
	assert_int_equal(a->outcome, CLR_UPDATE_FAILED);
	assert_non_null(strstr(a->error, "fetch"));
	assert_non_null(strstr(a->error, "injected fetch failure"));
	assert_int_equal(a->count, 10);  /* what is still current */
	assert_int_equal(result(&rep, "test-b")->outcome, CLR_UPDATE_UPDATED);
	ref2 = latest_ref(x, "test-a");
	assert_string_equal(ref1, ref2);
	st = status_of(x, "test-a");
	assert_non_null(strstr(st.last_error, "injected fetch failure"));
	assert_string_not_equal(st.last_success, "");
	assert_int_equal(st.count, 10);
	status_release(&st);
	clr_update_report_release(&rep);

	/* Fixed upstream: the error clears. */
	feeds[0].fetch_err = 0;
	run(x, only_test, &rep);
	assert_int_equal(result(&rep, "test-a")->outcome, CLR_UPDATE_UPDATED);
	st = status_of(x, "test-a");
	assert_string_equal(st.last_error, "");
	status_release(&st);
	clr_update_report_release(&rep);
	free(ref1);
	free(ref2);
}

static void test_parse_failure_keeps_data(void **state)
{
	struct fx *x = *state;
	struct clr_update_report rep;
	const struct clr_update_result *a;
	char *ref1, *ref2;

	run(x, only_test, &rep);
	clr_update_report_release(&rep);
	ref1 = latest_ref(x, "test-a");
	feeds[0].version = 2;
	feeds[0].parse_err = CLR_EINVALID;
	run(x, only_test, &rep);
	a = result(&rep, "test-a");
	assert_int_equal(a->outcome, CLR_UPDATE_FAILED);
	assert_non_null(strstr(a->error, "parse"));
	assert_non_null(strstr(a->error, "line 1"));
	ref2 = latest_ref(x, "test-a");
	assert_string_equal(ref1, ref2);
	clr_update_report_release(&rep);

	/* The failed fetch's fingerprint was not kept: the next run fetches
	 * and parses again. */
	feeds[0].parse_err = 0;
	run(x, only_test, &rep);
	assert_int_equal(result(&rep, "test-a")->outcome, CLR_UPDATE_UPDATED);
	assert_int_equal(feeds[0].parses, 3);
	clr_update_report_release(&rep);
	free(ref1);
	free(ref2);
}

static void test_locked_is_skipped(void **state)
{
	struct fx *x = *state;
	struct clr_update_report rep;
	const struct clr_update_result *a;
	struct clr_store *other;
	struct clr_store_lock *lock;

	/* Another replica (another handle) is updating test-a. */
	assert_int_equal(clr_store_open(&other, x->db), 0);
	assert_int_equal(clr_store_updater_trylock(other, "test-a", &lock), 0);
	run(x, only_test, &rep);
	a = result(&rep, "test-a");
	assert_int_equal(a->outcome, CLR_UPDATE_SKIPPED);
	assert_non_null(a->error);
	assert_int_equal(feeds[0].fetches, 0);
	assert_int_equal(rep.failed, 0);
	assert_int_equal(result(&rep, "test-b")->outcome, CLR_UPDATE_UPDATED);
	clr_update_report_release(&rep);
	assert_int_equal(clr_store_updater_unlock(lock), 0);
	clr_store_close(other);

	/* Released: the next run does it. */
	run(x, only_test, &rep);
	assert_int_equal(result(&rep, "test-a")->outcome, CLR_UPDATE_UPDATED);
	clr_update_report_release(&rep);
}

static void test_retention(void **state)
{
	struct fx *x = *state;
	struct clr_update_report rep;
	struct clr_vec ops = CLR_VEC_INIT(struct clr_update_op);

	use_config(x, "matcher:\n  update_retention: 2\n");
	for (int v = 1; v <= 4; v++) {
		feeds[0].version = v;
		feeds[0].first = v;
		run(x, only_test, &rep);
		assert_int_equal(result(&rep, "test-a")->outcome, CLR_UPDATE_UPDATED);
		if (v >= 3)
			assert_int_equal(rep.gc_deleted, 1);
		assert_null(rep.gc_error);
		clr_update_report_release(&rep);
	}
	assert_int_equal(clr_store_update_list(x->s, "test-a", &ops), 0);
	assert_int_equal(ops.len, 2);
	clr_update_ops_release(&ops);
	assert_int_equal(clr_store_update_list(x->s, "test-b", &ops), 0);
	assert_int_equal(ops.len, 1);
	clr_update_ops_release(&ops);

	/* Clair's reading of the setting. */
	assert_int_equal(clr_update_retention(x->cfg), 2);
	use_config(x, "matcher:\n  update_retention: 1\n");
	assert_int_equal(clr_update_retention(x->cfg), 10);
	use_config(x, "matcher:\n  update_retention: -1\n");
	assert_int_equal(clr_update_retention(x->cfg), 0);
	assert_int_equal(clr_update_retention(NULL), 10);
}

static void test_factory_failure(void **state)
{
	struct fx *x = *state;
	struct clr_update_report rep;
	const struct clr_update_result *r;

	factory_err = CLR_ENET;
	run(x, NULL, &rep);  /* both sources */
	assert_int_equal(rep.failed, 1);
	r = result(&rep, "test");
	assert_int_equal(r->outcome, CLR_UPDATE_FAILED);
	assert_non_null(strstr(r->error, "cannot list releases"));
	/* The other source went on. */
	assert_int_equal(result(&rep, "other-1")->outcome, CLR_UPDATE_UPDATED);
	clr_update_report_release(&rep);
}

static void test_selection(void **state)
{
	struct fx *x = *state;
	struct clr_update_report rep;
	static const char *const bogus[] = { "test", "nope", NULL };

	/* Unknown name asked for: nothing runs, the message lists sources. */
	assert_int_equal(clr_update_run_with(x->s, x->cfg, factories, 2, bogus, &rep),
			 CLR_EINVALID);
	assert_non_null(strstr(clr_error_msg(), "'nope'"));
	assert_non_null(strstr(clr_error_msg(), "test, other"));
	assert_int_equal(rep.results.len, 0);
	assert_int_equal(feeds[0].fetches, 0);
	clr_update_report_release(&rep);

	/* updaters.sets chooses; names it does not know are ignored. */
	use_config(x, "updaters:\n  sets: [other, rhel-vex]\n");
	run(x, NULL, &rep);
	assert_int_equal(rep.results.len, 1);
	assert_string_equal(CLR_VEC_AT(&rep.results, struct clr_update_result, 0)->name,
			    "other-1");
	clr_update_report_release(&rep);

	/* [] is none; disable_updaters is none, unless asked by name. */
	use_config(x, "updaters:\n  sets: []\n");
	run(x, NULL, &rep);
	assert_int_equal(rep.results.len, 0);
	clr_update_report_release(&rep);
	use_config(x, "matcher:\n  disable_updaters: true\n");
	run(x, NULL, &rep);
	assert_int_equal(rep.results.len, 0);
	clr_update_report_release(&rep);
	run(x, only_test, &rep);
	assert_int_equal(rep.results.len, 2);
	clr_update_report_release(&rep);
}

static void test_settings_reach_updaters(void **state)
{
	struct fx *x = *state;
	struct clr_update_report rep;

	use_config(x, "updaters:\n"
		      "  config:\n"
		      "    test:\n"
		      "      url: http://mirror.local/feed\n"
		      "    test-a:\n"
		      "      mode: strict\n"
		      "    test-b:\n"
		      "      url: http://other.local/b.json\n");
	run(x, only_test, &rep);
	assert_string_equal(seen_setting, "http://mirror.local/feed");
	assert_string_equal(seen_per_updater, "strict");
	assert_string_equal(feeds[0].url_seen, "http://mirror.local/feed");
	/* updaters.config.<updater>.url wins for that updater. */
	assert_string_equal(feeds[1].url_seen, "http://other.local/b.json");
	clr_update_report_release(&rep);
}

static void test_duplicate_names(void **state)
{
	struct fx *x = *state;
	struct clr_update_report rep;

	feeds[1].name = "test-a";
	run(x, only_test, &rep);
	assert_int_equal(rep.results.len, 2);
	assert_int_equal(rep.failed, 1);
	assert_int_equal(CLR_VEC_AT(&rep.results, struct clr_update_result, 1)->outcome,
			 CLR_UPDATE_FAILED);
	clr_update_report_release(&rep);
}

static void test_real_table(void **state)
{
	struct fx *x = *state;
	struct clr_update_report rep;
	static const char *const only[] = { "debian", NULL };
	static const char *const bogus[] = { "debain", NULL };

	assert_int_equal(clr_update_run(x->s, x->cfg, bogus, &rep), CLR_EINVALID);
	assert_non_null(strstr(clr_error_msg(), "debian, ubuntu, alpine"));
	clr_update_report_release(&rep);
	assert_int_equal(clr_update_run(x->s, x->cfg, only, &rep), 0);
	assert_int_equal(rep.results.len, 2);
	assert_string_equal(CLR_VEC_AT(&rep.results, struct clr_update_result, 0)->source,
			    "debian");
	clr_update_report_release(&rep);
	assert_string_equal(clr_update_outcome_name(CLR_UPDATE_SKIPPED), "skipped");
}

/* --- bundles ------------------------------------------------------------- */

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The content hash of every record of the updater's current operation, sorted. */
static char *fingerprint_db(struct clr_store *s, const char *updater, size_t *count)
{
	struct clr_update_op op;
	struct clr_vuln_set set;
	struct clr_vec lines = CLR_VEC_INIT(char *);
	struct clr_buf b = CLR_BUF_INIT(1 << 24);

	assert_int_equal(clr_store_update_latest(s, updater, &op), 0);
	clr_vuln_set_init(&set);
	assert_int_equal(clr_store_update_vulns(s, op.ref, &set), 0);
	for (size_t i = 0; i < set.vulns.len; i++) {
		char h[CLR_SHA256_HEXLEN + 1], *line;

		clr_vuln_hash(h, CLR_VEC_AT(&set.vulns, struct clr_vuln, i));
		line = clr_strdup(h);
		CLR_VEC_PUSH(&lines, &line);
	}
	clr_vec_sort(&lines, str_cmp);
	for (size_t i = 0; i < lines.len; i++) {
		clr_buf_addstr(&b, *CLR_VEC_AT(&lines, char *, i));
		free(*CLR_VEC_AT(&lines, char *, i));
	}
	clr_vec_release(&lines);
	clr_buf_printf(&b, " fp=%s", op.fingerprint);
	*count = set.vulns.len;
	clr_vuln_set_release(&set);
	clr_update_op_release(&op);
	return clr_buf_detach(&b, NULL);
}

static void test_bundle_round_trip(void **state)
{
	struct fx *x = *state;
	struct clr_update_report rep;
	struct clr_bundle_summary sum;
	struct clr_store *empty;
	char path[256], db2[256];
	static const char *const names[] = { "test-a", "test-b" };

	run(x, only_test, &rep);
	clr_update_report_release(&rep);
	feeds[0].version = 2;
	feeds[0].first = 4;
	run(x, only_test, &rep);  /* two ops of test-a: the newest is exported */
	clr_update_report_release(&rep);

	snprintf(path, sizeof(path), "%s/bundle.jsonl.zst", x->dir);
	assert_int_equal(clr_bundle_export(x->s, path, NULL, &sum), 0);
	assert_int_equal(sum.operations, 2);
	assert_int_equal(sum.vulnerabilities, 15);

	snprintf(db2, sizeof(db2), "%s/empty.db", x->dir);
	assert_int_equal(clr_store_open(&empty, db2), 0);
	assert_int_equal(clr_bundle_import(empty, path, &sum), 0);
	assert_int_equal(sum.operations, 2);
	assert_int_equal(sum.vulnerabilities, 15);
	assert_int_equal(sum.unchanged, 0);
	for (size_t i = 0; i < 2; i++) {
		size_t n1, n2;
		char *a = fingerprint_db(x->s, names[i], &n1);
		char *b = fingerprint_db(empty, names[i], &n2);

		assert_int_equal(n1, n2);
		assert_string_equal(a, b);  /* same records, hashes, fingerprint */
		free(a);
		free(b);
	}
	/* The status table says the same counts. */
	{
		struct clr_updater_status s1 = status_of(x, "test-a");
		struct clr_vec v = CLR_VEC_INIT(struct clr_updater_status);

		assert_int_equal(clr_store_status_list(empty, &v), 0);
		assert_int_equal(v.len, 2);
		assert_int_equal(CLR_VEC_AT(&v, struct clr_updater_status, 0)->count,
				 s1.count);
		clr_updater_status_release(&v);
		status_release(&s1);
	}

	/* Importing it again changes nothing. */
	assert_int_equal(clr_bundle_import(empty, path, &sum), 0);
	assert_int_equal(sum.operations, 0);
	assert_int_equal(sum.unchanged, 2);
	clr_store_close(empty);

	/* An updater that then runs against the imported data finds it
	 * current: the fingerprint came along. */
	assert_int_equal(clr_store_open(&empty, db2), 0);
	clr_store_close(x->s);
	x->s = empty;
	run(x, only_test, &rep);
	assert_int_equal(result(&rep, "test-a")->outcome, CLR_UPDATE_UNCHANGED);
	clr_update_report_release(&rep);
}

static void test_bundle_select_and_empty(void **state)
{
	struct fx *x = *state;
	struct clr_update_report rep;
	struct clr_bundle_summary sum;
	char path[256];
	static const char *const only_b[] = { "test-b", NULL };
	static const char *const src[] = { "test", NULL };
	static const char *const none[] = { "zzz", NULL };

	snprintf(path, sizeof(path), "%s/b.zst", x->dir);
	assert_int_equal(clr_bundle_export(x->s, path, NULL, &sum), CLR_ENOTFOUND);
	assert_int_equal(access(path, F_OK), -1);
	run(x, NULL, &rep);
	clr_update_report_release(&rep);
	assert_int_equal(clr_bundle_export(x->s, path, only_b, &sum), 0);
	assert_int_equal(sum.operations, 1);
	/* A source name selects its updaters ("test" -> test-a, test-b). */
	assert_int_equal(clr_bundle_export(x->s, path, src, &sum), 0);
	assert_int_equal(sum.operations, 2);
	assert_int_equal(clr_bundle_export(x->s, path, none, &sum), CLR_ENOTFOUND);
}

/* Collects what clr_bundle_read hands over. */
struct got {
	size_t ops, vulns;
	char updater[64];
};

static int collect_op(const struct clr_bundle_op *op, const struct clr_vuln_set *v,
		      void *arg)
{
	struct got *g = arg;

	g->ops++;
	g->vulns += v->vulns.len;
	snprintf(g->updater, sizeof(g->updater), "%s", op->updater);
	return 0;
}

static int read_text(const char *text, struct got *g)
{
	struct clr_stream *in;
	int err;

	memset(g, 0, sizeof(*g));
	assert_int_equal(clr_stream_from_mem(&in, text, strlen(text)), 0);
	err = clr_bundle_read(in, collect_op, g);
	clr_stream_close(in);
	return err;
}

#define OP(u, n) "{\"kind\":\"operation\",\"updater\":\"" u "\",\"fingerprint\":\"f\"," \
		 "\"count\":" #n "}\n"
#define V(name) "{\"kind\":\"vulnerability\",\"name\":\"" name "\"}\n"

static void test_bundle_reader(void **state)
{
	struct got g;

	(void)state;
	assert_int_equal(read_text(OP("a", 2) V("x") V("y") OP("b", 0) OP("c", 1) V("z"),
				   &g), 0);
	assert_int_equal(g.ops, 3);
	assert_int_equal(g.vulns, 3);
	assert_int_equal(read_text("", &g), 0);
	assert_int_equal(g.ops, 0);

	/* Truncated: the cut operation is not handed over. */
	assert_int_equal(read_text(OP("a", 1) V("x") OP("b", 3) V("y"), &g), CLR_EINVALID);
	assert_non_null(strstr(clr_error_msg(), "truncated"));
	assert_non_null(strstr(clr_error_msg(), "1 of its 3"));
	assert_int_equal(g.ops, 1);
	assert_string_equal(g.updater, "a");
	assert_int_equal(read_text(OP("a", 1) "{\"kind\":\"vulnera", &g), CLR_EINVALID);
	assert_non_null(strstr(clr_error_msg(), "no newline"));
	assert_int_equal(g.ops, 0);

	/* Malformed lines, by number. */
	assert_int_equal(read_text(OP("a", 2) V("x") "not json\n" V("y"), &g), CLR_EINVALID);
	assert_non_null(strstr(clr_error_msg(), "line 3: not JSON"));
	assert_int_equal(read_text(OP("a", 1) "{\"kind\":\"vulnerability\",\"name\":\"x\","
				   "\"colour\":\"red\"}\n", &g), CLR_EINVALID);
	assert_non_null(strstr(clr_error_msg(), "line 2: unknown field in a vulnerability: colour"));
	assert_int_equal(read_text(V("x"), &g), CLR_EINVALID);
	assert_non_null(strstr(clr_error_msg(), "line 1: a vulnerability outside"));
	assert_int_equal(read_text(OP("a", 2) V("x") OP("b", 0), &g), CLR_EINVALID);
	assert_non_null(strstr(clr_error_msg(), "line 3: a new operation before"));
	assert_int_equal(read_text("{\"kind\":\"operation\",\"fingerprint\":\"f\",\"count\":0}\n",
				   &g), CLR_EINVALID);
	assert_non_null(strstr(clr_error_msg(), "missing field: updater"));
	assert_int_equal(read_text(OP("a", -1), &g), CLR_EINVALID);
	assert_int_equal(read_text("[1]\n", &g), CLR_EINVALID);
	assert_int_equal(read_text("{\"kind\":\"enrichment\"}\n", &g), CLR_EINVALID);
	assert_int_equal(read_text("\n", &g), CLR_EINVALID);
	assert_int_equal(read_text(OP("a", 1) "{\"kind\":\"vulnerability\",\"name\":\"x\","
				   "\"normalized_severity\":\"Severe\"}\n", &g), CLR_EINVALID);
	assert_int_equal(read_text(OP("a", 1) "{\"kind\":\"vulnerability\",\"name\":\"x\","
				   "\"updater\":\"b\"}\n", &g), CLR_EINVALID);
	assert_int_equal(read_text(OP("a", 1) "{\"kind\":\"vulnerability\",\"name\":\"x\","
				   "\"name\":\"y\"}\n", &g), CLR_EINVALID);
	assert_int_equal(read_text(OP("a", 99999999999), &g), CLR_ELIMIT);
}

static void test_bundle_truncated_file(void **state)
{
	struct fx *x = *state;
	struct clr_update_report rep;
	struct clr_bundle_summary sum;
	struct clr_store *empty;
	char path[256], cut[256], db2[256], plain[256];
	struct clr_vec ops = CLR_VEC_INIT(struct clr_update_op);
	FILE *f;
	char *data;
	long n;

	feeds[0].n = 2000;  /* enough that the file is more than a frame header */
	run(x, only_test, &rep);
	clr_update_report_release(&rep);
	snprintf(path, sizeof(path), "%s/full.zst", x->dir);
	assert_int_equal(clr_bundle_export(x->s, path, NULL, &sum), 0);
	f = fopen(path, "rb");
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	data = clr_malloc((size_t)n);
	assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
	fclose(f);

	/* Cut in the middle of the zstd stream. */
	snprintf(cut, sizeof(cut), "%s/cut.zst", x->dir);
	f = fopen(cut, "wb");
	fwrite(data, 1, (size_t)n / 2, f);
	fclose(f);
	snprintf(db2, sizeof(db2), "%s/cut.db", x->dir);
	assert_int_equal(clr_store_open(&empty, db2), 0);
	assert_int_not_equal(clr_bundle_import(empty, cut, &sum), 0);
	assert_non_null(strstr(clr_error_msg(), cut));
	/* test-a (2000 records) was cut: nothing of it is stored. */
	assert_int_equal(clr_store_update_list(empty, "test-a", &ops), 0);
	assert_int_equal(ops.len, 0);

	/* The plain form is read too, and a cut there is caught as well. */
	snprintf(plain, sizeof(plain), "%s/plain.jsonl", x->dir);
	{
		size_t cap = ZSTD_getFrameContentSize(data, (size_t)n);
		char *out;
		size_t m;

		if (cap == ZSTD_CONTENTSIZE_UNKNOWN || cap == ZSTD_CONTENTSIZE_ERROR)
			cap = 64 << 20;
		out = clr_malloc(cap);
		m = ZSTD_decompress(out, cap, data, (size_t)n);
		assert_false(ZSTD_isError(m));
		f = fopen(plain, "wb");
		fwrite(out, 1, m, f);
		fclose(f);
		assert_int_equal(clr_bundle_import(empty, plain, &sum), 0);
		assert_int_equal(sum.operations, 2);
		f = fopen(plain, "wb");
		fwrite(out, 1, m - 10, f);
		fclose(f);
		free(out);
	}
	clr_store_close(empty);
	snprintf(db2, sizeof(db2), "%s/cut2.db", x->dir);
	assert_int_equal(clr_store_open(&empty, db2), 0);
	assert_int_equal(clr_bundle_import(empty, plain, &sum), CLR_EINVALID);
	assert_non_null(strstr(clr_error_msg(), "line "));
	clr_store_close(empty);
	assert_int_equal(clr_bundle_import(x->s, "/nonexistent/bundle", &sum), CLR_ENOTFOUND);
	free(data);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_first_run),
		T(test_change_makes_new_op),
		T(test_unchanged_no_parse),
		T(test_fetch_failure_keeps_data),
		T(test_parse_failure_keeps_data),
		T(test_locked_is_skipped),
		T(test_retention),
		T(test_factory_failure),
		T(test_selection),
		T(test_settings_reach_updaters),
		T(test_duplicate_names),
		T(test_real_table),
		T(test_bundle_round_trip),
		T(test_bundle_select_and_empty),
		T(test_bundle_reader),
		T(test_bundle_truncated_file),
	};

	int failed;

	clr_log_set_level(CLR_LOG_ERROR);
	failed = cmocka_run_group_tests_name("manager (sqlite)", tests, NULL, NULL);
	if (!pg_base()) {
		if (getenv("CLARION_REQUIRE_PG") && !strcmp(getenv("CLARION_REQUIRE_PG"), "1")) {
			fprintf(stderr, "CLARION_REQUIRE_PG=1 but CLARION_TEST_PG is not set\n");
			return 1;
		}
		printf("manager (postgres): skipped, CLARION_TEST_PG is not set\n");
		return failed;
	}
	use_pg = true;
	return failed + cmocka_run_group_tests_name("manager (postgres)", tests, NULL, NULL);
}
