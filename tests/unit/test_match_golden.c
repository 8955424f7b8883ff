/*
 * test_match_golden.c - the matcher's reports, byte for byte, against
 * reports saved from an earlier build (tests/data/matcher/golden/).
 *
 * The matcher is tuned for speed (docs/internals/matcher.md); none of
 * that may change a byte of what it reports.  So: the real feed fixtures
 * (Debian tracker, Alpine secdb, AlmaLinux OSV, RHEL 8, Ubuntu, Photon,
 * Oracle and SUSE OVAL) are parsed by their updaters into one index, and
 * for each distribution an IndexReport is generated from the records
 * themselves (deterministically, from the parse order, not from the
 * index): packages below, at and above their fixed versions, binaries
 * named apart from their sources, arches, an unknown package and a
 * distribution nobody covers.  Each report is dumped with json_dumps(vr,
 * JSON_COMPACT) (insertion order: key order counts) and compared with the
 * golden file.
 *
 * The golden files were written by the matcher as it was before the
 * speed work (CLARION_GOLDEN_WRITE=1 writes missing ones; delete a file
 * and rerun to regenerate it after an intended change of the report).
 */
#include "unit.h"

#include <pthread.h>
#include <stdbool.h>

#include "matcher/index.h"
#include "matcher/match.h"
#include "updater/fetch.h"
#include "updater/updater.h"
#include "util/alloc.h"
#include "util/error.h"

extern const struct clr_updater_factory clr_factory_debian;
extern const struct clr_updater_factory clr_factory_alpine;
extern const struct clr_updater_factory clr_factory_alma;
extern const struct clr_updater_factory clr_factory_ubuntu;
extern const struct clr_updater_factory clr_factory_rhel;
extern const struct clr_updater_factory clr_factory_oracle;
extern const struct clr_updater_factory clr_factory_suse;
extern const struct clr_updater_factory clr_factory_photon;

/* One fixture parsed by the idx-th updater a factory makes from kv. */
struct source {
	const struct clr_updater_factory *f;
	const char *kv[3];
	size_t idx;
	const char *path;   /* under tests/fixtures/ */
};

static const struct source sources[] = {
	{ &clr_factory_debian, { "releases=jessie=8 stretch=9 buster=10 "
				 "bullseye=11 bookworm=12", NULL }, 0,
	  "feeds/debian/tracker-json-sample.json" },
	{ &clr_factory_alpine, { "branches=v3.3 v3.11", "repos=main", NULL },
	  0, "feeds/alpine/v3.3/main.json" },
	{ &clr_factory_alpine, { "branches=v3.3 v3.11", "repos=main", NULL },
	  1, "feeds/alpine/v3.11/main.json" },
	{ &clr_factory_alma, { NULL }, 1, "feeds/alma/advisories" },
	{ &clr_factory_alma, { NULL }, 0, "feeds/alma/advisories" },
	{ &clr_factory_rhel, { "releases=8", NULL }, 0,
	  "oval/com.redhat.rhsa-RHEL8.xml.xz" },
	{ &clr_factory_ubuntu, { "series=bionic", NULL }, 0,
	  "oval/ubuntu-bionic-cve-sample.xml" },
	{ &clr_factory_photon, { "releases=3.0", NULL }, 0,
	  "oval/com.vmware.phsa-photon3.xml.xz" },
	{ &clr_factory_oracle, { "years=2021", NULL }, 0,
	  "oval/vunnel-oracle-elsa-2021-9151.xml" },
	{ &clr_factory_suse, { "releases=sles-15", NULL }, 0,
	  "oval/vunnel-suse-kernel-definition.xml" },
};
#define N_SOURCES (sizeof(sources) / sizeof(sources[0]))

static void parse_source(const struct source *src, struct clr_vuln_set *out)
{
	char path[1024];
	struct clr_fetch_result r;
	struct clr_fetched in = { .path = path };
	struct clr_vec us;
	struct clr_updater *u;

	snprintf(path, sizeof(path), "%s/tests/fixtures/%s", unit_srcdir(),
		 src->path);
	clr_vec_init(&us, sizeof(struct clr_updater *));
	assert_int_equal(src->f->create(&us, unit_kv_setting, (void *)src->kv),
			 0);
	assert_true(src->idx < us.len);
	u = *CLR_VEC_AT(&us, struct clr_updater *, src->idx);
	memset(&r, 0, sizeof(r));
	if (strstr(path, ".xz")) {
		assert_int_equal(clr_fetch(&r, path, NULL), 0);
		in.path = r.path;
	}
	if (u->ops->parse(u, &in, out))
		fail_msg("%s: %s", src->path, clr_error_msg());
	clr_fetch_result_release(&r);
	for (size_t i = 0; i < us.len; i++) {
		u = *CLR_VEC_AT(&us, struct clr_updater *, i);
		u->ops->free(u);
	}
	clr_vec_release(&us);
}

/* Every fixture's records, in one set. */
static struct clr_vuln_set all;
static struct clr_vindex ix;

static int setup(void **state)
{
	(void)state;
	clr_vuln_set_init(&all);
	for (size_t i = 0; i < N_SOURCES; i++) {
		struct clr_vuln_set s;

		clr_vuln_set_init(&s);
		parse_source(&sources[i], &s);
		for (size_t k = 0; k < s.vulns.len; k++)
			clr_vuln_set_add(&all, CLR_VEC_AT(&s.vulns,
							  struct clr_vuln, k));
		clr_vuln_set_release(&s);
	}
	clr_vindex_from_set(&ix, &all);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	clr_vindex_free(&ix);
	clr_vuln_set_release(&all);
	return 0;
}

/* A version clearly below (0) or above (1) most in scheme. */
static const char *extreme(const char *scheme, int high)
{
	if (!strcmp(scheme, "apk"))
		return high ? "9999-r0" : "0.0.1-r0";
	if (!strcmp(scheme, "semver"))
		return high ? "9999.0.0" : "0.0.1";
	return high ? "99:9999-1" : "0.0.1-1";
}

/* An IndexReport of the first max distinct package names of the records
 * whose distribution is did/version_id (in parse order), as a scanner
 * would have written it.  Package i gets, by i % 4: the record's fixed
 * version (not vulnerable), a low version (vulnerable), a high one
 * (fixed), or a low one under a binary name of its own with the record's
 * package as its source. */
static json_t *make_report(const char *did, const char *version_id,
			   size_t max)
{
	json_t *pkgs = json_object(), *envs = json_object(), *dist = NULL;
	json_t *seen = json_object();
	size_t n = 0;

	for (size_t i = 0; i < all.vulns.len && n < max; i++) {
		const struct clr_vuln *v = CLR_VEC_AT(&all.vulns,
						      struct clr_vuln, i);
		const char *arch;
		char id[24], bin[256];
		json_t *p;

		if (strcmp(v->dist_did, did) ||
		    strcmp(v->dist_version_id, version_id) ||
		    json_object_get(seen, v->package_name))
			continue;
		json_object_set_new(seen, v->package_name, json_true());
		if (!dist)
			dist = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, "
					 "s:s}", "id", "1", "did", v->dist_did,
					 "name", v->dist_name, "version",
					 v->dist_version, "version_code_name",
					 v->dist_version_code_name,
					 "version_id", v->dist_version_id,
					 "pretty_name", v->dist_pretty_name,
					 "cpe", v->dist_cpe);
		n++;
		snprintf(id, sizeof(id), "%zu", n);
		arch = !strcmp(v->version_scheme, "dpkg") ? "amd64" :
		       !strcmp(v->version_scheme, "apk") ? "x86_64" :
		       n % 5 ? "x86_64" : "aarch64";
		switch (n % 4) {
		case 0:
			p = json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", id,
				      "name", v->package_name, "version",
				      *v->fixed_in_version ?
				      v->fixed_in_version :
				      extreme(v->version_scheme, 0),
				      "kind", "binary", "arch", arch);
			break;
		case 1:
		case 2:
			p = json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", id,
				      "name", v->package_name, "version",
				      extreme(v->version_scheme, n % 4 == 2),
				      "kind", "binary", "arch", arch);
			break;
		default:
			snprintf(bin, sizeof(bin), "%s-bin", v->package_name);
			p = json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, "
				      "s:s}}", "id", id, "name", bin,
				      "version", extreme(v->version_scheme, 0),
				      "kind", "binary", "arch", arch,
				      "source", "name", v->package_name,
				      "version", n % 8 == 3 ? "" :
				      extreme(v->version_scheme, 0),
				      "kind", "source");
			break;
		}
		json_object_set_new(pkgs, id, p);
		json_object_set_new(envs, id, json_pack(
			"[{s:s, s:s, s:s, s:[]}]", "package_db", "db",
			"introduced_in", "sha256:00", "distribution_id", "1",
			"repository_ids"));
	}
	json_decref(seen);
	assert_non_null(dist);
	/* and a package no feed knows */
	json_object_set_new(pkgs, "9999", json_pack(
		"{s:s, s:s, s:s}", "id", "9999", "name",
		"no-such-package-anywhere", "version", "1.0-1"));
	json_object_set_new(envs, "9999", json_pack(
		"[{s:s, s:s, s:s, s:[]}]", "package_db", "db",
		"introduced_in", "sha256:00", "distribution_id", "1",
		"repository_ids"));
	return json_pack("{s:s, s:s, s:o, s:{s:o}, s:{}, s:o, s:b, s:s}",
			 "manifest_hash", "sha256:0123", "state",
			 "IndexFinished", "packages", pkgs, "distributions",
			 "1", dist, "repository", "environments", envs,
			 "success", 1, "err", "");
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *s;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	s = clr_malloc((size_t)n + 1);
	if (fread(s, 1, (size_t)n, f) != (size_t)n) {
		free(s);
		fclose(f);
		return NULL;
	}
	s[n] = '\0';
	fclose(f);
	return s;
}

/* Matches ir (taken) and compares the dump with golden file name. */
static void check_golden(const char *name, json_t *ir)
{
	char path[1024];
	json_t *vr = NULL;
	char *got, *want;

	assert_int_equal(clr_match(&vr, &ix, ir), 0);
	got = json_dumps(vr, JSON_COMPACT);
	assert_non_null(got);
	json_decref(vr);
	/* and again: a second report of the same input is the same text
	 * (nothing a first match left behind changes the second) */
	assert_int_equal(clr_match(&vr, &ix, ir), 0);
	want = json_dumps(vr, JSON_COMPACT);
	assert_string_equal(got, want);
	free(want);
	json_decref(vr);
	json_decref(ir);

	snprintf(path, sizeof(path), "%s/tests/data/matcher/golden/%s.json",
		 unit_srcdir(), name);
	want = slurp(path);
	if (!want && getenv("CLARION_GOLDEN_WRITE")) {
		FILE *f = fopen(path, "wb");

		assert_non_null(f);
		fputs(got, f);
		fputc('\n', f);
		fclose(f);
		printf("wrote %s (%zu bytes)\n", path, strlen(got) + 1);
		want = slurp(path);
	}
	if (!want)
		fail_msg("%s missing (CLARION_GOLDEN_WRITE=1 writes it)", path);
	if (strlen(want) != strlen(got) + 1 || strncmp(want, got, strlen(got)))
	{
		size_t i = 0;

		while (got[i] && got[i] == want[i])
			i++;
		fail_msg("%s: report differs from the golden one at byte "
			 "%zu: ...%.80s... vs ...%.80s...", name, i,
			 got + (i > 40 ? i - 40 : 0),
			 want + (i > 40 ? i - 40 : 0));
	}
	free(want);
	free(got);
}

static void golden_debian(void **state)
{
	(void)state;
	check_golden("debian10", make_report("debian", "10", 400));
	check_golden("debian12", make_report("debian", "12", 400));
}

static void golden_alpine(void **state)
{
	(void)state;
	check_golden("alpine3.3", make_report("alpine", "3.3", 300));
	check_golden("alpine3.11", make_report("alpine", "3.11", 300));
}

static void golden_osv(void **state)
{
	(void)state;
	check_golden("alma9", make_report("almalinux", "9", 300));
	check_golden("alma8", make_report("almalinux", "8", 300));
}

static void golden_oval(void **state)
{
	(void)state;
	check_golden("rhel8", make_report("rhel", "8", 120));
	check_golden("ubuntu18.04", make_report("ubuntu", "18.04", 100));
	check_golden("photon3", make_report("photon", "3.0", 200));
	check_golden("oracle", make_report("ol", "8", 100));
	check_golden("suse15", make_report("sles", "15", 100));
}

static void golden_not_covered(void **state)
{
	json_t *ir = make_report("debian", "12", 20);

	(void)state;
	/* the same packages on a distribution no feed covers */
	json_object_set_new(json_object_get(ir, "distributions"), "1",
			    json_pack("{s:s, s:s, s:s}", "id", "1", "did",
				      "fedora", "version_id", "40"));
	check_golden("fedora40", ir);
}

/* --- the report cache under concurrency and over its budget ----------- */

struct job {
	json_t *ir;             /* borrowed */
	const char *golden;     /* file name */
	struct clr_vindex *ix;
	int ok;
};

static char *golden_text(const char *name)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/tests/data/matcher/golden/%s.json",
		 unit_srcdir(), name);
	return slurp(path);
}

/* Matches job->ir 20 times and compares every report with the golden
 * file (no cmocka asserts: they are not for threads). */
static void *job_run(void *arg)
{
	struct job *j = arg;
	char *want = golden_text(j->golden);

	j->ok = want != NULL;
	for (int i = 0; i < 20 && j->ok; i++) {
		json_t *vr = NULL;
		char *got;

		if (clr_match(&vr, j->ix, j->ir)) {
			j->ok = 0;
			break;
		}
		got = json_dumps(vr, JSON_COMPACT);
		j->ok = got && strlen(want) == strlen(got) + 1 &&
			!strncmp(want, got, strlen(got));
		free(got);
		json_decref(vr);
	}
	free(want);
	return NULL;
}

/* Four threads fill a fresh index's cache at once (two reports each
 * built from scratch twice over), then the same with the cache's budget
 * spent (every Vulnerability built per report): the same bytes, and no
 * report outlives its objects (ASan: clr_vindex_free before the last
 * report is freed). */
static void golden_shared_cache(void **state)
{
	struct clr_vindex fresh;
	json_t *irs[2] = { make_report("alpine", "3.11", 300),
			   make_report("rhel", "8", 120) };
	const char *names[2] = { "alpine3.11", "rhel8" };
	json_t *kept = NULL;

	(void)state;
	for (int round = 0; round < 2; round++) {
		pthread_t t[4];
		struct job jobs[4];

		clr_vindex_from_set(&fresh, &all);
		if (round)
			fresh.cache_bytes = CLR_VINDEX_CACHE_MAX;
		for (int i = 0; i < 4; i++) {
			jobs[i] = (struct job){ irs[i % 2], names[i % 2],
						&fresh, 0 };
			assert_int_equal(pthread_create(&t[i], NULL, job_run,
							&jobs[i]), 0);
		}
		for (int i = 0; i < 4; i++) {
			pthread_join(t[i], NULL);
			assert_true(jobs[i].ok);
		}
		if (round == 0)
			assert_true(fresh.cache_bytes > 0);
		else
			assert_int_equal(fresh.cache_bytes,
					 CLR_VINDEX_CACHE_MAX);
		json_decref(kept);
		assert_int_equal(clr_match(&kept, &fresh, irs[1]), 0);
		clr_vindex_free(&fresh);
	}
	/* the last report outlived its index: still whole */
	{
		char *got = json_dumps(kept, JSON_COMPACT);
		char *want = golden_text("rhel8");

		assert_non_null(got);
		assert_non_null(want);
		assert_int_equal(strlen(want), strlen(got) + 1);
		assert_memory_equal(want, got, strlen(got));
		free(got);
		free(want);
	}
	json_decref(kept);
	json_decref(irs[0]);
	json_decref(irs[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(golden_debian),
		cmocka_unit_test(golden_alpine),
		cmocka_unit_test(golden_osv),
		cmocka_unit_test(golden_oval),
		cmocka_unit_test(golden_not_covered),
		cmocka_unit_test(golden_shared_cache),
	};

	return cmocka_run_group_tests_name("match_golden", tests, setup,
					   teardown);
}
