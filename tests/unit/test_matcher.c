/*
 * test_matcher.c - the matcher's index and rules, on hand-built records
 * and index reports, plus a timing printed (not asserted) for an
 * 800-package Debian report against a million generated records.
 */
#include "unit.h"

#include <time.h>

#include "matcher/index.h"
#include "matcher/match.h"
#include "util/error.h"

static struct clr_vuln deb(const char *name, const char *pkg,
			   const char *fixed)
{
	struct clr_vuln v = {
		.name = name, .updater = "debian", .description = "d",
		.package_name = pkg, .package_kind = "source",
		.dist_did = "debian", .dist_version_id = "12",
		.dist_version_code_name = "bookworm", .version_scheme = "dpkg",
		.fixed_in_version = fixed, .severity = "high",
		.normalized_severity = CLR_SEV_HIGH,
	};
	return v;
}

/* An index report of one distribution and the packages given as JSON. */
static json_t *report(const char *dist, const char *pkgs)
{
	json_error_t e;
	json_t *p = json_loads(pkgs, 0, &e), *envs = json_object(), *r;
	const char *id;
	json_t *x;

	assert_non_null(p);
	json_object_foreach(p, id, x) {
		json_object_set_new(x, "id", json_string(id));
		json_object_set_new(envs, id, json_pack(
			"[{s:s, s:s, s:s, s:[]}]", "package_db", "db",
			"introduced_in", "sha256:00", "distribution_id",
			dist ? "1" : "", "repository_ids"));
	}
	r = json_pack("{s:s, s:s, s:b, s:s, s:o, s:o, s:{}, s:o}",
		      "manifest_hash", "sha256:ab", "state", "IndexFinished",
		      "success", 1, "err", "", "packages", p,
		      "distributions", json_object(), "repository",
		      "environments", envs);
	if (dist) {
		json_t *d = json_loads(dist, 0, &e);

		assert_non_null(d);
		json_object_set_new(d, "id", json_string("1"));
		json_object_set_new(json_object_get(r, "distributions"), "1",
				    d);
	}
	return r;
}

/* The names of the vulnerabilities matched to package pid, space
 * separated, with fixed versions: "CVE-1=1.2 CVE-2=". */
static char *hits(json_t *vr, const char *pid)
{
	static char buf[4096];
	json_t *l = json_object_get(json_object_get(vr,
		"package_vulnerabilities"), pid), *x;
	size_t i;

	buf[0] = '\0';
	json_array_foreach(l, i, x) {
		json_t *v = json_object_get(json_object_get(vr,
			"vulnerabilities"), json_string_value(x));

		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
			 "%s%s=%s", i ? " " : "",
			 json_string_value(json_object_get(v, "name")),
			 json_string_value(json_object_get(v,
				"fixed_in_version")));
	}
	return buf;
}

static json_t *run(struct clr_vuln *vs, size_t n, json_t *ir)
{
	struct clr_vuln_set set;
	struct clr_vindex ix;
	json_t *vr = NULL;

	clr_vuln_set_init(&set);
	for (size_t i = 0; i < n; i++)
		clr_vuln_set_add(&set, &vs[i]);
	clr_vindex_from_set(&ix, &set);
	clr_vuln_set_release(&set);
	assert_int_equal(clr_match(&vr, &ix, ir), 0);
	clr_vindex_free(&ix);
	json_decref(ir);
	return vr;
}

#define DEB12 "{\"did\":\"debian\",\"version_id\":\"12\"," \
	"\"version_code_name\":\"bookworm\"}"

static void test_debian(void **state)
{
	struct clr_vuln vs[] = {
		deb("CVE-1", "openssl", "3.0.11-1~deb12u2"), /* == installed */
		deb("CVE-2", "openssl", "3.0.12-1"),         /* above */
		deb("CVE-3", "openssl", ""),                 /* open */
		deb("CVE-4", "openssl", "3.0.1-1"),          /* below */
		deb("CVE-5", "libssl3", ""),   /* a source named like the bin */
	};
	json_t *vr;

	(void)state;
	vs[4].package_kind = "source";
	vr = run(vs, 5, report(DEB12, "{\"1\":{\"name\":\"libssl3\","
		"\"version\":\"3.0.11-1~deb12u2\",\"kind\":\"binary\","
		"\"source\":{\"name\":\"openssl\",\"version\":\"\"}}}"));
	/* High first, then by name */
	assert_string_equal(hits(vr, "1"), "CVE-2=3.0.12-1 CVE-3=");
	assert_int_equal(json_array_size(json_object_get(vr, "not_covered")),
			 0);
	assert_non_null(json_object_get(vr, "enrichments"));
	assert_string_equal(json_string_value(json_object_get(vr,
		"manifest_hash")), "sha256:ab");
	json_decref(vr);
}

/* The dpkg Source: field's own version is what Debian's data means. */
static void test_debian_source_version(void **state)
{
	struct clr_vuln vs[] = { deb("CVE-1", "gcc-defaults", "1.204") };
	json_t *vr;

	(void)state;
	vr = run(vs, 1, report(DEB12, "{\"1\":{\"name\":\"cpp\",\"version\":"
		"\"4:12.2.0-3\",\"source\":{\"name\":\"gcc-defaults\","
		"\"version\":\"1.203\"}}}"));
	assert_string_equal(hits(vr, "1"), "CVE-1=1.204");
	json_decref(vr);
}

static void test_not_covered(void **state)
{
	struct clr_vuln vs[] = { deb("CVE-1", "zlib", "") };
	json_t *vr;

	(void)state;
	vr = run(vs, 1, report("{\"did\":\"debian\",\"version_id\":\"11\"}",
		"{\"1\":{\"name\":\"zlib1g\",\"version\":\"1\"},"
		"\"2\":{\"name\":\"zlib\",\"version\":\"1\"}}"));
	assert_int_equal(json_array_size(json_object_get(vr, "not_covered")),
			 2);
	json_decref(vr);
	vr = run(vs, 1, report(NULL, "{\"1\":{\"name\":\"zlib\","
		"\"version\":\"1\"}}"));
	assert_string_equal(json_string_value(json_array_get(
		json_object_get(vr, "not_covered"), 0)), "1");
	json_decref(vr);
}

static void test_alpine(void **state)
{
	struct clr_vuln v = {
		.name = "CVE-9", .updater = "alpine-main-v3.19-updater",
		.package_name = "musl", .package_kind = "source",
		.dist_did = "alpine", .dist_version_id = "3.19",
		.version_scheme = "apk", .fixed_in_version = "1.2.4_git2-r1",
	};
	struct clr_vuln vs[2] = { v, v };
	json_t *vr;

	(void)state;
	vs[1].dist_version_id = "3.18";
	vs[1].name = "CVE-8";
	vr = run(vs, 2, report("{\"did\":\"alpine\",\"version_id\":"
		"\"3.19.1\"}", "{\"1\":{\"name\":\"musl-utils\",\"version\":"
		"\"1.2.4_git2-r0\",\"source\":{\"name\":\"musl\","
		"\"version\":\"1.2.4_git2-r0\"}},\"2\":{\"name\":\"musl\","
		"\"version\":\"1.2.4_git2-r1\"}}"));
	assert_string_equal(hits(vr, "1"), "CVE-9=1.2.4_git2-r1");
	assert_string_equal(hits(vr, "2"), "");
	json_decref(vr);
}

static struct clr_vuln rhel(const char *name, const char *pkg,
			    const char *fixed, const char *affected)
{
	struct clr_vuln v = {
		.name = name, .updater = "rhel-8", .package_name = pkg,
		.package_kind = "binary", .dist_did = "rhel",
		.dist_version_id = "8", .version_scheme = "rpm",
		.fixed_in_version = fixed, .affected = affected,
	};
	return v;
}

#define RHEL8 "{\"did\":\"rhel\",\"version_id\":\"8.9\"}"

static void test_oval(void **state)
{
	const char *mod = "{\"oval\":{\"definition\":\"d\",\"conditions\":["
		"{\"kind\":\"module\",\"module\":\"php:7.4\"},"
		"{\"kind\":\"signature_key\",\"key\":\"k\"},"
		"{\"kind\":\"running_kernel\"}]}}";
	const char *other = "{\"oval\":{\"definition\":\"d\",\"conditions\":["
		"{\"kind\":\"package\",\"object\":{\"name\":{\"op\":\"equals\","
		"\"value\":\"redhat-release\"}},\"states\":[{\"version\":"
		"{\"op\":\"pattern match\",\"value\":\"^8[^\\\\d]\"}}]}]}}";
	struct clr_vuln vs[] = {
		rhel("RHSA-1", "php", "7.4.19-1.module+el8", mod),
		rhel("RHSA-2", "php", "7.2.99-1.module+el8", mod),
		rhel("RHSA-3", "vim", "2:8.0.1763-11.el8", other),
		rhel("RHSA-4", "vim", "1:9.0-1.el8", ""),   /* epoch 1 < 2 */
		rhel("RHSA-5", "vim", "2:8.0.1763-10.el8", ""), /* == */
	};
	json_t *vr;

	(void)state;
	vs[0].package_module = vs[1].package_module = "php:7.4";
	vr = run(vs, 5, report(RHEL8, "{"
		"\"1\":{\"name\":\"php\",\"version\":\"7.4.6-4.module+el8\","
		"\"module\":\"php:7.4\"},"
		"\"2\":{\"name\":\"php\",\"version\":\"7.2.24-1.module+el8\","
		"\"module\":\"php:7.2\"},"
		"\"3\":{\"name\":\"vim\",\"version\":\"2:8.0.1763-10.el8\"},"
		"\"4\":{\"name\":\"redhat-release\",\"version\":"
		"\"8.9-0.1.el8\"}}"));
	assert_string_equal(hits(vr, "1"), "RHSA-1=7.4.19-1.module+el8");
	assert_string_equal(hits(vr, "2"), "");
	assert_string_equal(hits(vr, "3"), "RHSA-3=2:8.0.1763-11.el8");
	json_decref(vr);
	/* the release check fails for "80" (Perl's \d, not POSIX's) */
	vr = run(vs + 2, 1, report(RHEL8, "{\"3\":{\"name\":\"vim\","
		"\"version\":\"2:8.0.1763-10.el8\"},\"4\":{\"name\":"
		"\"redhat-release\",\"version\":\"80-1\"}}"));
	assert_string_equal(hits(vr, "3"), "");
	json_decref(vr);
}

static struct clr_vuln alma(const char *name, const char *affected,
			    const char *module)
{
	struct clr_vuln v = {
		.name = name, .updater = "alma-9", .package_name = "nodejs",
		.package_kind = "binary", .dist_did = "almalinux",
		.dist_version_id = "9", .repo_name = "AlmaLinux:9",
		.version_scheme = "rpm", .affected = affected,
		.package_module = module, .fixed_in_version = "",
	};
	return v;
}

static void test_osv(void **state)
{
	struct clr_vuln vs[] = {
		alma("ALSA-1", "{\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":"
		     "[{\"introduced\":\"0\"},{\"fixed\":\"1:18.2-1.el9\"}]}],"
		     "\"versions\":[]}", "nodejs:18"),
		alma("ALSA-2", "{\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":"
		     "[{\"introduced\":\"1:18.0-1\"},{\"last_affected\":"
		     "\"1:18.1-1.el9\"}]}]}", ""),
		alma("ALSA-3", "{\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":"
		     "[{\"introduced\":\"1:19.0-1\"},{\"fixed\":\"1:19.5-1\"}]}]}",
		     ""),
		alma("ALSA-4", "{\"ranges\":[],\"versions\":[\"1:18.1-1.el9\"]}",
		     ""),
		alma("ALSA-5", "{\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":"
		     "[{\"introduced\":\"0\"},{\"fixed\":\"1:18.1-1.el9\"}]}]}",
		     ""),
		alma("ALSA-6", "{\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":"
		     "[{\"introduced\":\"0\"},{\"fixed\":\"1:20-1\"}]}]}",
		     "nodejs:20"),
	};
	json_t *vr;

	(void)state;
	vr = run(vs, 6, report("{\"did\":\"almalinux\",\"version_id\":"
		"\"9.3\"}", "{\"1\":{\"name\":\"nodejs\",\"version\":"
		"\"1:18.1-1.el9\",\"module\":\"nodejs:18\"}}"));
	assert_string_equal(hits(vr, "1"), "ALSA-1= ALSA-2= ALSA-4=");
	json_decref(vr);
}

static void test_ubuntu_binary(void **state)
{
	struct clr_vuln v = {
		.name = "CVE-7", .updater = "ubuntu/jammy",
		.package_name = "libsystemd0", .package_kind = "binary",
		.dist_did = "ubuntu", .dist_version_id = "22.04",
		.version_scheme = "dpkg", .fixed_in_version = "249.11-0ubuntu3.7",
	};
	json_t *vr;

	(void)state;
	vr = run(&v, 1, report("{\"did\":\"ubuntu\",\"version_id\":\"22.04\"}",
		"{\"1\":{\"name\":\"libsystemd0\",\"version\":"
		"\"249.11-0ubuntu3.6\",\"source\":{\"name\":\"systemd\","
		"\"version\":\"\"}}}"));
	assert_string_equal(hits(vr, "1"), "CVE-7=249.11-0ubuntu3.7");
	json_decref(vr);
}

static void test_deterministic(void **state)
{
	struct clr_vuln vs[] = {
		deb("CVE-3", "a", ""), deb("CVE-1", "b", "9"),
		deb("CVE-2", "a", "9"),
	};
	char *t[2];

	(void)state;
	for (int i = 0; i < 2; i++) {
		struct clr_vuln tmp;
		json_t *vr;

		if (i) {        /* other record order, same data */
			tmp = vs[0];
			vs[0] = vs[2];
			vs[2] = tmp;
		}
		vr = run(vs, 3, report(DEB12, "{\"2\":{\"name\":\"b\","
			"\"version\":\"1\"},\"1\":{\"name\":\"a\","
			"\"version\":\"1\"},\"10\":{\"name\":\"q\","
			"\"version\":\"1\"}}"));
		t[i] = json_dumps(vr, JSON_COMPACT);
		json_decref(vr);
	}
	assert_string_equal(t[0], t[1]);
	free(t[0]);
	free(t[1]);
}

/* The process's resident and peak memory, from /proc (Linux only). */
static void print_rss(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6) || !strncmp(line, "VmHWM:", 6))
			printf("bench: %s", line);
	if (f)
		fclose(f);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* 40,000 source packages x 5 CVEs x 5 releases = 1 M records; a report of
 * 800 binaries of those sources.  Printed, not asserted. */
static void test_bench(void **state)
{
	static const char *rel[] = { "10", "11", "12", "13", "" };
	struct clr_vindex ix;
	char name[64], cve[64], fix[64];
	double t0, t[9];
	json_t *pk, *ir, *vr;
	char *dump;

	(void)state;
	/* A measurement, not a test: it runs only when asked for
	 * (CLARION_MATCHER_BENCH=1), never as part of make check. */
	if (!getenv("CLARION_MATCHER_BENCH"))
		skip();
	pk = json_object();
	clr_vindex_begin(&ix);
	t0 = now();
	for (int p = 0; p < 40000; p++) {
		snprintf(name, sizeof(name), "src%d", p);
		for (int c = 0; c < 5; c++) {
			snprintf(cve, sizeof(cve), "CVE-2024-%d", p * 5 + c);
			for (int r = 0; r < 5; r++) {
				struct clr_vuln v = deb(cve, name, fix);

				snprintf(fix, sizeof(fix), "1.%d-%d", c, r);
				v.dist_version_id = rel[r];
				v.dist_version_code_name = r == 4 ? "sid" : "";
				v.description = "A long description shared "
					"by the releases of one issue.";
				clr_vindex_add(&ix, &v);
			}
		}
	}
	clr_vindex_finish(&ix);
	printf("bench: index of %zu records built in %.2f s\n", ix.records,
	       now() - t0);
	print_rss();
	for (int i = 0; i < 800; i++) {
		char id[16];

		snprintf(id, sizeof(id), "%d", i + 1);
		snprintf(name, sizeof(name), "src%d", i * 50);
		json_object_set_new(pk, id, json_pack(
			"{s:s, s:s, s:{s:s, s:s}}", "name", "bin",
			"version", "1.2-1", "source", "name", name,
			"version", ""));
	}
	dump = json_dumps(pk, 0);
	ir = report(DEB12, dump);
	free(dump);
	json_decref(pk);
	for (int i = 0; i < 9; i++) {
		t0 = now();
		assert_int_equal(clr_match(&vr, &ix, ir), 0);
		t[i] = now() - t0;
		if (i == 0)
			printf("bench: %zu vulnerabilities matched\n",
			       json_object_size(json_object_get(vr,
				"vulnerabilities")));
		json_decref(vr);
	}
	qsort(t, 9, sizeof(t[0]), dbl_cmp);
	printf("bench: 800-package Debian report, 1M records: p50 %.2f ms\n",
	       t[4] * 1e3);
	json_decref(ir);
	clr_vindex_free(&ix);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_debian),
		cmocka_unit_test(test_debian_source_version),
		cmocka_unit_test(test_not_covered),
		cmocka_unit_test(test_alpine),
		cmocka_unit_test(test_oval),
		cmocka_unit_test(test_osv),
		cmocka_unit_test(test_ubuntu_binary),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_bench),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
