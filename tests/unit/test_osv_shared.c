/*
 * test_osv_shared.c - one read of an OSV export for several releases
 * (clr_osv_parse_path_multi) and the AlmaLinux updaters sharing one
 * download and one parse per run: each release must end exactly as a read
 * of its own would, records, order, errors and all.
 */
#include "unit.h"

#include <jansson.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include "feeds/osv.h"
#include "updater/fetch.h"
#include "updater/updater.h"
#include "util/error.h"

extern const struct clr_updater_factory clr_factory_alma;

static const char *majors[] = { "8", "9", "10" };

static const char *fixture_dir(void)
{
	static char path[1024];

	snprintf(path, sizeof(path), "%s/tests/fixtures/feeds/alma/advisories",
		 unit_srcdir());
	return path;
}

static void opts_for(struct clr_osv_opts *o, const char *major, char eco[32],
		     char name[32])
{
	snprintf(eco, 32, "AlmaLinux:%s", major);
	snprintf(name, 32, "alma-%s", major);
	*o = (struct clr_osv_opts){
		.updater = name,
		.ecosystem = eco,
		.version_scheme = "rpm",
		.package_kind = "binary",
		.dist_did = "almalinux",
		.dist_name = "AlmaLinux",
		.dist_version_id = major,
		.summary_severity = true,
		.rpm_modules = true,
	};
}

/* Same records in the same order (content hashes). */
static void assert_same(struct clr_vuln_set *a, struct clr_vuln_set *b)
{
	char h1[CLR_SHA256_HEXLEN + 1], h2[CLR_SHA256_HEXLEN + 1];

	assert_int_equal(a->vulns.len, b->vulns.len);
	for (size_t i = 0; i < a->vulns.len; i++) {
		clr_vuln_hash(h1, CLR_VEC_AT(&a->vulns, struct clr_vuln, i));
		clr_vuln_hash(h2, CLR_VEC_AT(&b->vulns, struct clr_vuln, i));
		assert_string_equal(h1, h2);
	}
}

static void test_multi_equals_alone(void **state)
{
	struct clr_osv_opts o[3];
	struct clr_osv_target t[3];
	struct clr_vuln_set multi[3], alone;
	char eco[3][32], name[3][32];

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		opts_for(&o[i], majors[i], eco[i], name[i]);
		clr_vuln_set_init(&multi[i]);
		t[i] = (struct clr_osv_target){ .opts = &o[i], .out = &multi[i] };
	}
	assert_int_equal(clr_osv_parse_path_multi(fixture_dir(), t, 3), 0);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(t[i].err, 0);
		assert_null(t[i].msg);
		assert_true(multi[i].vulns.len > 0);
		clr_vuln_set_init(&alone);
		assert_int_equal(clr_osv_parse_path(fixture_dir(), &o[i], &alone), 0);
		assert_same(&multi[i], &alone);
		clr_vuln_set_release(&alone);
		clr_vuln_set_release(&multi[i]);
	}
}

static void put(const char *dir, const char *name, const char *text)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

#define REC(id, eco, ev)                                                   \
	"{\"id\":\"" id "\",\"summary\":\"Important: x update\","          \
	"\"affected\":[{\"package\":{\"ecosystem\":\"" eco "\","           \
	"\"name\":\"p\"},\"ranges\":[{\"type\":\"ECOSYSTEM\","             \
	"\"events\":[" ev "]}]}]}"

/* A malformed range of AlmaLinux:9 fails alma-9 alone, with the message a
 * read of its own gives; alma-8 keeps every record, and records a target
 * had before the parse stay. */
static void test_multi_one_target_fails(void **state)
{
	char dir[] = "/tmp/clarion-osv-shared-XXXXXX";
	struct clr_osv_opts o[2];
	struct clr_osv_target t[2];
	struct clr_vuln_set out[2], alone;
	char eco[2][32], name[2][32];
	const struct clr_vuln keep = { .name = "KEEP" };
	int err;

	(void)state;
	assert_non_null(mkdtemp(dir));
	put(dir, "a.json", REC("A-1", "AlmaLinux:8",
			       "{\"introduced\":\"0\"},{\"fixed\":\"1-1\"}"));
	put(dir, "b.json", REC("B-1", "AlmaLinux:9", "{\"introduced\":0}"));
	put(dir, "c.json", REC("C-1", "AlmaLinux:8",
			       "{\"introduced\":\"0\"},{\"fixed\":\"2-1\"}"));
	for (size_t i = 0; i < 2; i++) {
		opts_for(&o[i], majors[i], eco[i], name[i]);
		clr_vuln_set_init(&out[i]);
		clr_vuln_set_add(&out[i], &keep);
		t[i] = (struct clr_osv_target){ .opts = &o[i], .out = &out[i] };
	}
	err = clr_osv_parse_path_multi(dir, t, 2);
	assert_int_equal(err, CLR_EINVALID);
	assert_int_equal(t[0].err, 0);
	assert_int_equal(out[0].vulns.len, 3);
	assert_int_equal(t[1].err, CLR_EINVALID);
	assert_int_equal(out[1].vulns.len, 1);
	assert_string_equal(clr_error_msg(), t[1].msg);
	assert_non_null(strstr(t[1].msg, "b.json: B-1: affected[0].ranges[0]."
			       "events[0].introduced is not a string"));
	clr_vuln_set_init(&alone);
	assert_int_equal(clr_osv_parse_path(dir, &o[1], &alone), CLR_EINVALID);
	assert_string_equal(clr_error_msg(), t[1].msg);
	clr_vuln_set_release(&alone);
	free(t[1].msg);

	/* What no target can read fails all of them, with one message. */
	put(dir, "d.json", "{\"id\":");
	for (size_t i = 0; i < 2; i++) {
		clr_vuln_set_release(&out[i]);
		clr_vuln_set_init(&out[i]);
		o[i].ecosystem = "AlmaLinux:8";
	}
	assert_int_equal(clr_osv_parse_path_multi(dir, t, 2), CLR_EINVALID);
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(t[i].err, CLR_EINVALID);
		assert_int_equal(out[i].vulns.len, 0);
		assert_non_null(strstr(t[i].msg, "d.json: line 1"));
		free(t[i].msg);
		clr_vuln_set_release(&out[i]);
	}
	for (const char *n = "abcd"; *n; n++) {
		char p[1100];

		snprintf(p, sizeof(p), "%s/%c.json", dir, *n);
		unlink(p);
	}
	rmdir(dir);
}

/* The OSV record rec parses into one record whose `affected` is
 * json_dumps(want, JSON_COMPACT) to the byte; takes want. */
static void assert_affected(json_t *rec, const struct clr_osv_opts *o,
			    json_t *want)
{
	char *text = json_dumps(rec, JSON_COMPACT);
	char *w = json_dumps(want, JSON_COMPACT);
	struct clr_vuln_set s;

	assert_non_null(text);
	assert_non_null(w);
	clr_vuln_set_init(&s);
	assert_int_equal(clr_osv_parse_record(text, strlen(text), "x", o, &s),
			 0);
	assert_int_equal(s.vulns.len, 1);
	assert_string_equal(CLR_VEC_AT(&s.vulns, struct clr_vuln, 0)->affected,
			    w);
	clr_vuln_set_release(&s);
	free(w);
	free(text);
	json_decref(want);
}

/* The `affected` JSON osv.c writes by hand is byte for byte what jansson's
 * json_dumps(JSON_COMPACT) makes of the same tree, hostile strings
 * included (it was made that way before, and content hashes cover it). */
static void test_affected_as_jansson(void **state)
{
	static const char *const vals[] = {
		"1.0-1.el9", "q\"uote", "back\\slash", "tab\there", "nl\nx",
		"cr\rx", "bs\bx", "ff\fx", "ctl\001\037x", "del\177x",
		"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "sl/ash", "",
		"</script>",
	};
	const size_t n = sizeof(vals) / sizeof(vals[0]);
	struct clr_osv_opts o = { .updater = "t" };
	json_t *rec, *evs, *vers;

	(void)state;
	vers = json_array();
	evs = json_array();
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(vers, json_string(vals[i]));
		json_array_append_new(evs, i % 2 ?
			json_pack("{s:s,s:s}", "introduced", vals[i],
				  "fixed", vals[(i + 1) % n]) :
			json_pack("{s:s}", "last_affected", vals[i]));
	}
	rec = json_pack("{s:s,s:[{s:{s:s,s:s},s:[{s:s,s:O}],s:O}]}", "id",
			"X-1", "affected", "package", "ecosystem", "npm",
			"name", "p", "ranges", "type", "SEMVER", "events",
			evs, "versions", vers);
	assert_non_null(rec);
	assert_affected(rec, &o, json_pack("{s:[{s:s,s:O}],s:O}", "ranges",
					   "type", "SEMVER", "events", evs,
					   "versions", vers));

	/* Versions only: "ranges":[]. */
	json_object_set_new(json_array_get(json_object_get(rec, "affected"), 0),
			    "ranges", json_array());
	assert_affected(rec, &o, json_pack("{s:[],s:O}", "ranges", "versions",
					   vers));
	json_decref(rec);
	json_decref(evs);
	json_decref(vers);
}

static const char *url_setting(void *arg, const char *key)
{
	return !strcmp(key, "url") ? arg : NULL;
}

static struct clr_updater *nth(struct clr_vec *us, size_t i)
{
	return *CLR_VEC_AT(us, struct clr_updater *, i);
}

static void free_all(struct clr_vec *us)
{
	for (size_t i = 0; i < us->len; i++)
		clr_updater_free(nth(us, i));
	clr_vec_release(us);
}

/* Updater i of the set parses f into what the same updater of a set that
 * never fetched (a read of its own) makes of it, and its records are its
 * own: the shared download gives each release what reading alone gives. */
static void parse_as_alone(struct clr_vec *us, struct clr_vec *ref, size_t i,
			   struct clr_fetched *f)
{
	struct clr_vuln_set s, want;

	clr_vuln_set_init(&s);
	assert_int_equal(nth(us, i)->ops->parse(nth(us, i), f, &s), 0);
	clr_vuln_set_init(&want);
	assert_int_equal(nth(ref, i)->ops->parse(nth(ref, i), f, &want), 0);
	assert_true(s.vulns.len > 0);
	assert_same(&s, &want);
	assert_string_equal(CLR_VEC_AT(&s.vulns, struct clr_vuln, 0)->updater,
			    nth(us, i)->name);
	clr_vuln_set_release(&want);
	clr_vuln_set_release(&s);
}

/* One run of the set, in the manager's order: fetch then parse, updater by
 * updater.  alma-10 has the fetched data already (prev): unchanged. */
static void one_run(struct clr_vec *us, struct clr_vec *ref)
{
	struct clr_fetched f[3] = { { 0 } };
	char *fp = NULL;

	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(nth(us, i)->ops->fetch(nth(us, i), NULL, &f[i]), 0);
		assert_non_null(f[i].fingerprint);
		if (i)
			assert_string_equal(f[i].fingerprint, fp);
		else
			fp = strdup(f[i].fingerprint);
		parse_as_alone(us, ref, i, &f[i]);
		clr_fetched_release(&f[i]);
	}
	assert_int_equal(nth(us, 2)->ops->fetch(nth(us, 2), fp, &f[2]),
			 CLR_EUNCHANGED);
	free(fp);
}

static void test_distro_set(void **state)
{
	struct clr_vec us, ref;
	struct clr_fetched f = { 0 }, g = { 0 };
	char *fp;

	(void)state;
	clr_vec_init(&us, sizeof(struct clr_updater *));
	clr_vec_init(&ref, sizeof(struct clr_updater *));
	assert_int_equal(clr_factory_alma.create(&us, url_setting,
						 (void *)fixture_dir()), 0);
	assert_int_equal(clr_factory_alma.create(&ref, url_setting,
						 (void *)fixture_dir()), 0);
	assert_int_equal(us.len, 3);

	/* The directory is the user's: read in place, never removed. */
	assert_int_equal(nth(&us, 0)->ops->fetch(nth(&us, 0), NULL, &f), 0);
	fp = strdup(f.fingerprint);
	clr_fetched_release(&f);
	free_all(&us);
	clr_vec_init(&us, sizeof(struct clr_updater *));
	assert_int_equal(clr_factory_alma.create(&us, url_setting,
						 (void *)fixture_dir()), 0);

	/* alma-8 fetches and parses for everyone; alma-9 finds its records
	 * waiting; alma-10's stored fingerprint is this download's. */
	{
		struct clr_fetched a = { 0 }, b = { 0 }, c = { 0 };

		assert_int_equal(nth(&us, 0)->ops->fetch(nth(&us, 0), NULL, &a), 0);
		assert_string_equal(a.fingerprint, fp);
		assert_true(a.borrowed);
		parse_as_alone(&us, &ref, 0, &a);

		assert_int_equal(nth(&us, 1)->ops->fetch(nth(&us, 1), NULL, &b), 0);
		assert_string_equal(b.fingerprint, fp);
		parse_as_alone(&us, &ref, 1, &b);

		assert_int_equal(nth(&us, 2)->ops->fetch(nth(&us, 2), fp, &c),
				 CLR_EUNCHANGED);
		clr_fetched_release(&a);
		clr_fetched_release(&b);
	}

	/* A second fetch of an updater starts a new run of the set. */
	one_run(&us, &ref);
	one_run(&us, &ref);

	/* An updater freed in the middle of a run (a skipped one's outcome
	 * waits unused): nothing leaks, the rest go on. */
	assert_int_equal(nth(&us, 0)->ops->fetch(nth(&us, 0), NULL, &g), 0);
	{
		struct clr_vuln_set s;

		clr_vuln_set_init(&s);
		assert_int_equal(nth(&us, 0)->ops->parse(nth(&us, 0), &g, &s), 0);
		clr_vuln_set_release(&s);
	}
	clr_fetched_release(&g);
	clr_updater_free(nth(&us, 1));
	memmove(CLR_VEC_AT(&us, struct clr_updater *, 1),
		CLR_VEC_AT(&us, struct clr_updater *, 2), sizeof(void *));
	clr_vec_truncate(&us, 2);
	free(fp);
	free_all(&us);
	free_all(&ref);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_multi_equals_alone),
		cmocka_unit_test(test_multi_one_target_fails),
		cmocka_unit_test(test_affected_as_jansson),
		cmocka_unit_test(test_distro_set),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
