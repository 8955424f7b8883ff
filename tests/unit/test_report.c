/*
 * test_report.c - src/report/: package URLs of every package type, the
 * policy (severities, unfixed, duplicates, the ignore file) on a small
 * VulnerabilityReport, and the ignore file's parser and expiry dates.
 * The formats themselves are checked end to end against golden files
 * (tests/integration/test_scan_formats.py).
 */
#include "unit.h"

#include <jansson.h>

#include "report/ignore.h"
#include "report/report.h"
#include "util/error.h"

/* A report with one distribution and one package found in db. */
static json_t *report_with(const char *did, const char *version_id, const char *db,
			   const char *name, const char *version, const char *arch)
{
	json_t *vr = json_pack(
		"{s:s, s:{s:{s:s, s:s, s:s, s:s}}, s:{s:[{s:s, s:s}]}, s:{}, s:{}, s:[]}",
		"manifest_hash", "sha256:00",
		"packages", "1", "name", name, "version", version, "arch", arch,
		"kind", "binary",
		"environments", "1", "package_db", db, "distribution_id", "1",
		"vulnerabilities", "package_vulnerabilities", "not_covered");

	if (did)
		json_object_set_new(vr, "distributions", json_pack(
			"{s:{s:s, s:s, s:s}}", "1", "did", did, "version_id", version_id,
			"pretty_name", "X"));
	else
		json_object_set_new(vr, "distributions", json_object());
	return vr;
}

static void expect_purl(const char *did, const char *vid, const char *db,
			const char *name, const char *version, const char *arch,
			const char *want)
{
	json_t *vr = report_with(did, vid, db, name, version, arch);
	struct clr_report r;

	assert_int_equal(clr_report_build(&r, vr, "img", NULL), 0);
	assert_int_equal(r.packages.len, 1);
	assert_string_equal(CLR_VEC_AT(&r.packages, struct clr_report_package, 0)->purl,
			    want);
	clr_report_release(&r);
	json_decref(vr);
}

static void purls(void **state)
{
	(void)state;
	expect_purl("debian", "12", "var/lib/dpkg/status", "libc6", "2.36-9+deb12u4",
		    "amd64", "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12");
	/* a Debian epoch keeps its colon */
	expect_purl("ubuntu", "22.04", "var/lib/dpkg/status", "libpam0g",
		    "1:1.4.0-11ubuntu2", "amd64",
		    "pkg:deb/ubuntu/libpam0g@1:1.4.0-11ubuntu2?arch=amd64&distro=ubuntu-22.04");
	/* distroless: status.d */
	expect_purl("debian", "12", "var/lib/dpkg/status.d/tzdata", "tzdata",
		    "2024a-0+deb12u1", "all",
		    "pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1?arch=all&distro=debian-12");
	expect_purl("alpine", "3.19.1", "lib/apk/db/installed", "musl", "1.2.4_git20230717-r4",
		    "x86_64",
		    "pkg:apk/alpine/musl@1.2.4_git20230717-r4?arch=x86_64&distro=3.19.1");
	/* rpm: the epoch goes to a qualifier, in key order */
	expect_purl("almalinux", "9", "var/lib/rpm/rpmdb.sqlite", "openssl",
		    "1:3.0.7-27.el9", "x86_64",
		    "pkg:rpm/almalinux/openssl@3.0.7-27.el9?arch=x86_64&distro=almalinux-9&epoch=1");
	expect_purl("rhel", "8.9", "var/lib/rpm/Packages", "bash", "4.4.20-4.el8_6",
		    "x86_64", "pkg:rpm/redhat/bash@4.4.20-4.el8_6?arch=x86_64&distro=redhat-8.9");
	/* no distribution: the type alone says dpkg's is Debian's */
	expect_purl(NULL, NULL, "var/lib/dpkg/status", "x", "1", "",
		    "pkg:deb/debian/x@1");
	/* a database of no known type gets no purl */
	expect_purl(NULL, NULL, "usr/lib/python3/site-packages", "x", "1", "", "");
}

/* Three findings (one twice, once per architecture) of four severities. */
static json_t *policy_report(void)
{
	json_error_t e;
	json_t *vr = json_loads(
		"{\"manifest_hash\": \"sha256:00\","
		" \"packages\": {"
		"  \"1\": {\"name\": \"a\", \"version\": \"1\", \"arch\": \"amd64\"},"
		"  \"2\": {\"name\": \"a\", \"version\": \"1\", \"arch\": \"i386\"},"
		"  \"3\": {\"name\": \"b\", \"version\": \"2\", \"arch\": \"amd64\","
		"         \"source\": {\"name\": \"bsrc\", \"version\": \"2\"}}},"
		" \"distributions\": {\"1\": {\"did\": \"debian\", \"version_id\": \"12\"}},"
		" \"environments\": {"
		"  \"1\": [{\"package_db\": \"var/lib/dpkg/status\", \"distribution_id\": \"1\"}],"
		"  \"2\": [{\"package_db\": \"var/lib/dpkg/status\", \"distribution_id\": \"1\"}],"
		"  \"3\": [{\"package_db\": \"var/lib/dpkg/status\", \"distribution_id\": \"1\"}]},"
		" \"vulnerabilities\": {"
		"  \"v1\": {\"name\": \"CVE-1\", \"normalized_severity\": \"Low\","
		"          \"fixed_in_version\": \"2\", \"description\": \"one\\ntwo\"},"
		"  \"v2\": {\"name\": \"CVE-2\", \"normalized_severity\": \"Critical\","
		"          \"fixed_in_version\": \"\"},"
		"  \"v3\": {\"name\": \"CVE-3\", \"normalized_severity\": \"Medium\","
		"          \"fixed_in_version\": \"3\"}},"
		" \"package_vulnerabilities\": {\"1\": [\"v1\"], \"2\": [\"v1\"],"
		"                              \"3\": [\"v2\", \"v3\"]},"
		" \"not_covered\": []}", 0, &e);

	assert_non_null(vr);
	return vr;
}

static void policy(void **state)
{
	json_t *vr = policy_report();
	struct clr_report r;
	struct clr_report_policy p = { .ignore_unfixed = false };
	const struct clr_report_finding *f;
	enum clr_severity worst;

	(void)state;
	assert_int_equal(clr_report_build(&r, vr, "img", &p), 0);
	/* a in two architectures is one finding; most severe first */
	assert_int_equal(r.findings.len, 3);
	f = CLR_VEC_AT(&r.findings, struct clr_report_finding, 0);
	assert_string_equal(f->vuln, "CVE-2");
	f = CLR_VEC_AT(&r.findings, struct clr_report_finding, 2);
	assert_string_equal(f->vuln, "CVE-1");
	assert_string_equal(f->title, "one");
	assert_true(clr_report_worst(&r, &worst));
	assert_int_equal(worst, CLR_SEV_CRITICAL);
	assert_int_equal(r.summary[CLR_SEV_LOW], 1);
	clr_report_release(&r);

	p.ignore_unfixed = true;
	p.severities = 1u << CLR_SEV_CRITICAL | 1u << CLR_SEV_LOW;
	assert_int_equal(clr_report_build(&r, vr, "img", &p), 0);
	assert_int_equal(r.findings.len, 1);
	assert_string_equal(CLR_VEC_AT(&r.findings, struct clr_report_finding, 0)->vuln,
			    "CVE-1");
	clr_report_release(&r);
	json_decref(vr);
}

static void ignore_entries(void **state)
{
	static const char text[] =
		"vulnerabilities:\n"
		"  - id: CVE-3\n"
		"    packages: [bsrc]\n"          /* by source package */
		"    reason: fine\n"
		"    expires: 2030-06-30\n"
		"  - id: CVE-2\n"
		"    image: 'other*'\n";
	json_t *vr = policy_report();
	struct clr_ignore *ig;
	struct clr_report r;
	struct clr_report_policy p = { .now = 1700000000 };
	const struct clr_ignore_entry *e;

	(void)state;
	assert_int_equal(clr_ignore_parse(&ig, text, sizeof(text) - 1, "f.yaml"), 0);
	assert_int_equal(ig->entries.len, 2);
	e = CLR_VEC_AT(&ig->entries, struct clr_ignore_entry, 0);
	assert_int_equal(e->line, 2);
	/* applies through the whole of its day, UTC */
	assert_false(clr_ignore_expired(e, 1909094399));   /* 2030-06-30T23:59:59Z */
	assert_true(clr_ignore_expired(e, 1909094400));    /* 2030-07-01T00:00:00Z */
	p.ignore = ig;
	assert_int_equal(clr_report_build(&r, vr, "img", &p), 0);
	assert_int_equal(r.findings.len, 2);   /* CVE-3 hidden, CVE-2 not this image */
	assert_int_equal(r.ignored.len, 1);
	assert_string_equal(CLR_VEC_AT(&r.ignored, struct clr_report_ignored, 0)->reason,
			    "fine");
	clr_report_release(&r);
	/* once expired, it hides nothing */
	p.now = 1909094400;
	assert_int_equal(clr_report_build(&r, vr, "img", &p), 0);
	assert_int_equal(r.findings.len, 3);
	clr_report_release(&r);
	clr_ignore_free(ig);
	json_decref(vr);
}

static void ignore_errors(void **state)
{
	static const struct {
		const char *text, *msg;
	} bad[] = {
		{ "- id: CVE-1\n  expires: 2027-02-29\n", "f.yaml (line 1): 'expires: 2027-02-29'" },
		{ "- id: CVE-1\n  expires: tomorrow\n", "not a date" },
		{ "- id: CVE-1\n\n  expire: 2027-01-01\n", "f.yaml (line 3): unknown key 'expire'" },
		{ "- id: CVE-1\n  id: CVE-2\n", "f.yaml (line 2): duplicate key" },
		{ "- id: CVE-1\n  reason: a\n  statement: b\n", "'statement' given twice" },
		{ "- reason: x\n", "needs an 'id'" },
		{ "- id: CVE-1\n  packages: {a: b}\n", "line 2" },
		{ "vulns:\n  - id: x\n", "unknown key 'vulns'" },
		{ "- [\n", "f.yaml (line" },
		{ "- id: a\n- id: \xff\n", "f.yaml (line 2): not UTF-8" },
		{ "- id: a\0b\n", "NUL" },
	};
	struct clr_ignore *ig;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n = strlen(bad[i].text);

		if (i == sizeof(bad) / sizeof(bad[0]) - 1)
			n = 11;   /* the one with a NUL inside */
		assert_int_equal(clr_ignore_parse(&ig, bad[i].text, n, "f.yaml"),
				 CLR_EINVALID);
		assert_null(ig);
		if (!strstr(clr_error_msg(), bad[i].msg))
			fail_msg("case %zu: '%s' lacks '%s'", i, clr_error_msg(), bad[i].msg);
	}
	/* a leap day is a day */
	assert_int_equal(clr_ignore_parse(&ig, "- id: a\n  expires: 2028-02-29\n", 30,
					  "f.yaml"), 0);
	clr_ignore_free(ig);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(purls),
		cmocka_unit_test(policy),
		cmocka_unit_test(ignore_entries),
		cmocka_unit_test(ignore_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
