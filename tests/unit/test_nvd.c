/*
 * test_nvd.c - the NVD source (src/feeds/nvd.c, src/distro/nvd/updater.c)
 * and what the matcher makes of its data: Clair's clair.cvss enrichment
 * and Clair v2's Metadata.NVD.
 *
 * The pages are real NVD CVE API 2.0 answers (tests/fixtures/nvd/,
 * provenance in SOURCES.md there); broken ones are made here.  The CVSS
 * objects clarion rebuilds from a stored vector are compared with the
 * cvssData objects of the real page they came from.  The store round trip
 * runs on SQLite, and on PostgreSQL too when CLARION_TEST_PG is set.
 */
#include "unit.h"

#include <stdbool.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "feeds/nvd.h"
#include "matcher/index.h"
#include "matcher/match.h"
#include "store/store.h"
#include "updater/fetch.h"
#include "updater/updater.h"
#include "util/error.h"

#define FIXTURES "tests/fixtures/nvd/"

extern const struct clr_updater_factory clr_factory_nvd;

static const char *fixture(const char *name)
{
	static char path[4][1024];
	static int k;

	k = (k + 1) % 4;
	snprintf(path[k], sizeof(path[k]), "%s/" FIXTURES "%s", unit_srcdir(),
		 name);
	return path[k];
}

static const struct clr_vuln *find(const struct clr_vuln_set *s,
				   const char *name)
{
	for (size_t i = 0; i < s->vulns.len; i++) {
		const struct clr_vuln *v = CLR_VEC_AT(&s->vulns, struct clr_vuln, i);

		if (!strcmp(v->name, name))
			return v;
	}
	return NULL;
}

/* The cvssData object of metric list `list` whose type is Primary in the
 * real page, for comparing with what clarion rebuilds. */
static json_t *page_cvss(const char *file, const char *id, const char *list)
{
	json_t *root = json_load_file(fixture(file), 0, NULL), *it, *m;
	size_t i, k;

	assert_non_null(root);
	json_array_foreach(json_object_get(root, "vulnerabilities"), i, it) {
		json_t *cve = json_object_get(it, "cve");

		if (strcmp(json_string_value(json_object_get(cve, "id")), id))
			continue;
		json_array_foreach(json_object_get(json_object_get(cve, "metrics"),
						   list), k, m) {
			if (!strcmp(json_string_value(json_object_get(m, "type")),
				    "Primary")) {
				json_t *d = json_incref(json_object_get(m, "cvssData"));

				json_decref(root);
				return d;
			}
		}
	}
	json_decref(root);
	return NULL;
}

/* --- the parser ----------------------------------------------------------- */

static void test_single_entry_v3_and_v2(void **state)
{
	struct clr_vuln_set s;
	const struct clr_vuln *v;
	size_t skipped = 0;

	(void)state;
	clr_vuln_set_init(&s);
	assert_int_equal(clr_nvd_parse_file(fixture("single-entry.json"), "nvd",
					    &s, &skipped), 0);
	assert_int_equal(s.vulns.len, 1);
	assert_int_equal(skipped, 0);
	v = find(&s, "CVE-2022-1576");
	assert_non_null(v);
	assert_string_equal(v->updater, "nvd");
	assert_string_equal(v->issued, "2022-07-11T13:15:08.503");
	assert_string_equal(v->severity, "MEDIUM");
	assert_int_equal(v->normalized_severity, CLR_SEV_MEDIUM);
	assert_string_equal(v->version_scheme, CLR_NVD_SCHEME);
	assert_string_equal(v->package_name, "");
	assert_string_equal(v->affected,
		"{\"v3\":{\"vector\":\"CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:N/I:H/A:N\","
		"\"score\":6.5,\"severity\":\"MEDIUM\",\"exploitability\":2.8,"
		"\"impact\":3.6},\"v2\":{\"vector\":\"AV:N/AC:M/Au:N/C:N/I:P/A:N\","
		"\"score\":4.3,\"severity\":\"MEDIUM\"}}");
	assert_true(clr_nvd_is_record(v));
	clr_vuln_set_release(&s);
}

static void test_page_primary_only(void **state)
{
	struct clr_vuln_set s;
	size_t skipped = 0;

	(void)state;
	clr_vuln_set_init(&s);
	assert_int_equal(clr_nvd_parse_file(fixture("page-2023-10-18-part.json"),
					    "nvd", &s, &skipped), 0);
	/* 5 CVEs: a Secondary-only one and one without metrics have no
	 * score Clair would use */
	assert_int_equal(s.vulns.len, 3);
	assert_int_equal(skipped, 2);
	assert_null(find(&s, "CVE-2023-30781"));
	assert_null(find(&s, "CVE-2023-43250"));
	/* NVD's Primary 8.8, not the CNA's Secondary 5.4 */
	assert_non_null(strstr(find(&s, "CVE-2023-45109")->affected,
			       "\"score\":8.8,\"severity\":\"HIGH\""));
	assert_int_equal(find(&s, "CVE-2023-45109")->normalized_severity,
			 CLR_SEV_HIGH);
	assert_non_null(strstr(find(&s, "CVE-2023-45391")->affected, "4.8"));
	assert_null(strstr(find(&s, "CVE-2023-45391")->affected, "\"v2\""));
	clr_vuln_set_release(&s);
}

/* Broken documents: CLR_EINVALID naming the place, never fewer records
 * presented as the whole page. */
static void test_malformed(void **state)
{
	static const struct { const char *doc, *msg; } cases[] = {
		{ "", "line" },
		{ "[1]", "not a JSON object" },
		{ "{\"format\":\"CVE_JSON\",\"vulnerabilities\":[]}", "NVD CVE API 2.0" },
		{ "{\"format\":\"NVD_CVE\",\"version\":\"1.1\",\"vulnerabilities\":[]}",
		  "NVD CVE API 2.0" },
		{ "{\"vulnerabilities\":{}}", "no vulnerabilities array" },
		{ "{\"vulnerabilities\":[7]}", "vulnerabilities[0]" },
		{ "{\"vulnerabilities\":[{\"cve\":{\"id\":\"CVE-20-1\"}}]}",
		  "vulnerabilities[0].cve.id" },
		{ "{\"vulnerabilities\":[{\"cve\":{\"id\":\"CVE-2020-1234\"}},"
		  "{\"cve\":{\"id\":\"CVE-2020-1235\",\"metrics\":[]}}]}",
		  "vulnerabilities[1].cve.metrics" },
		{ "{\"vulnerabilities\":[{\"cve\":{\"id\":\"CVE-2020-1234\",\"metrics\":"
		  "{\"cvssMetricV31\":{}}}}]}", "cvssMetricV31: not an array" },
		{ "{\"vulnerabilities\":[{\"cve\":{\"id\":\"CVE-2020-1234\",\"metrics\":"
		  "{\"cvssMetricV31\":[{\"type\":\"Primary\",\"cvssData\":{\"vectorString\":"
		  "\"CVSS:3.1/AV:N\",\"baseScore\":11}}]}}}]}", "baseScore" },
		{ "{\"vulnerabilities\":[{\"cve\":{\"id\":\"CVE-2020-1234\",\"metrics\":"
		  "{\"cvssMetricV31\":[{\"type\":\"Primary\",\"cvssData\":{\"vectorString\":"
		  "\"CVSS:3.1/AV:N\\\"\",\"baseScore\":1}}]}}}]}", "vectorString" },
		{ "{\"vulnerabilities\":[{\"cve\":{\"id\":\"CVE-2020-1234\",\"metrics\":"
		  "{\"cvssMetricV30\":[{\"type\":\"Primary\",\"cvssData\":{\"vectorString\":"
		  "\"AV:N/AC:L/Au:N/C:P/I:P/A:P\",\"baseScore\":1}}]}}}]}",
		  "not a CVSS 3.x vector" },
		{ "{\"vulnerabilities\":[{\"cve\":{\"id\":\"CVE-2020-1234\",\"metrics\":"
		  "{\"cvssMetricV2\":[{\"type\":\"Primary\",\"cvssData\":{\"vectorString\":"
		  "\"AV:N/AC:L/Au:N/C:P/I:P/A:P\",\"baseScore\":\"7.5\"}}]}}}]}",
		  "baseScore" },
		{ "{\"vulnerabilities\":[{\"cve\":{\"id\":\"CVE-2020-1234\",\"metrics\":"
		  "{\"cvssMetricV2\":[{\"type\":\"Primary\",\"baseSeverity\":\"a b\","
		  "\"cvssData\":{\"vectorString\":\"AV:N/AC:L/Au:N/C:P/I:P/A:P\","
		  "\"baseScore\":7.5}}]}}}]}", "baseSeverity" },
		{ "{\"vulnerabilities\":[],\"vulnerabilities\":[]}", "duplicate" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct clr_vuln_set s;

		clr_vuln_set_init(&s);
		assert_int_equal(clr_nvd_parse_buf(cases[i].doc, strlen(cases[i].doc),
						   "page.json", "nvd", &s, NULL),
				 CLR_EINVALID);
		if (!strstr(clr_error_msg(), cases[i].msg))
			fail_msg("case %zu: '%s' lacks '%s'", i, clr_error_msg(),
				 cases[i].msg);
		assert_non_null(strstr(clr_error_msg(), "page.json"));
		clr_vuln_set_release(&s);
	}
}

/* Rejected CVEs are skipped as claircore skips them; a hand-made page
 * without format/version is read by its shape. */
static void test_rejected_and_unmarked(void **state)
{
	const char *doc = "{\"vulnerabilities\":["
		"{\"cve\":{\"id\":\"CVE-2020-1111\",\"vulnStatus\":\"Rejected\","
		"\"metrics\":{\"cvssMetricV2\":[{\"type\":\"Primary\",\"cvssData\":"
		"{\"vectorString\":\"AV:N/AC:L/Au:N/C:P/I:P/A:P\",\"baseScore\":7.5}}]}}},"
		"{\"cve\":{\"id\":\"CVE-2020-2222\",\"metrics\":{\"cvssMetricV2\":"
		"[{\"type\":\"Primary\",\"baseSeverity\":\"HIGH\",\"cvssData\":"
		"{\"vectorString\":\"AV:N/AC:L/Au:N/C:P/I:P/A:P\",\"baseScore\":7.5}}]}}}]}";
	struct clr_vuln_set s;
	size_t skipped = 0;

	(void)state;
	clr_vuln_set_init(&s);
	assert_int_equal(clr_nvd_parse_buf(doc, strlen(doc), "x", "nvd", &s,
					   &skipped), 0);
	assert_int_equal(s.vulns.len, 1);
	assert_int_equal(skipped, 1);
	assert_string_equal(find(&s, "CVE-2020-2222")->severity, "HIGH");
	assert_int_equal(find(&s, "CVE-2020-2222")->normalized_severity,
			 CLR_SEV_HIGH);
	clr_vuln_set_release(&s);
}

/* What Clair shows, rebuilt from the stored record: the v3 object equals
 * NVD's cvssData; Metadata has Clair v2's fields. */
static void test_objects(void **state)
{
	static const struct { const char *file, *id; } real[] = {
		{ "single-entry.json", "CVE-2022-1576" },
		{ "page-2023-10-18-part.json", "CVE-2023-27314" },
		{ "page-2023-10-18-part.json", "CVE-2023-45109" },
		{ "page-2023-10-18-part.json", "CVE-2023-45391" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(real) / sizeof(real[0]); i++) {
		struct clr_vuln_set s;
		struct clr_nvd_cvss c;
		json_t *hold, *got, *want;

		clr_vuln_set_init(&s);
		assert_int_equal(clr_nvd_parse_file(fixture(real[i].file), "nvd",
						    &s, NULL), 0);
		assert_int_equal(clr_nvd_cvss_from_record(&c, &hold,
			find(&s, real[i].id)), 0);
		got = clr_nvd_v3_object(&c);
		want = page_cvss(real[i].file, real[i].id, "cvssMetricV31");
		assert_non_null(want);
		if (!json_equal(got, want)) {
			char *a = json_dumps(got, JSON_SORT_KEYS);
			char *b = json_dumps(want, JSON_SORT_KEYS);

			fail_msg("%s: %s != %s", real[i].id, a, b);
		}
		json_decref(got);
		json_decref(want);
		if (i == 0) {
			json_t *md = clr_nvd_v1_metadata(&c);
			char *text = json_dumps(md, JSON_COMPACT |
						JSON_REAL_PRECISION(15));

			assert_string_equal(text,
				"{\"NVD\":{\"CVSSv2\":{\"PublishedDateTime\":"
				"\"2022-07-11T13:15:08.503\",\"Vectors\":"
				"\"AV:N/AC:M/Au:N/C:N/I:P/A:N\",\"Score\":4.3},"
				"\"CVSSv3\":{\"Vectors\":\"AV:N/AC:L/PR:N/UI:R/S:U/"
				"C:N/I:H/A:N\",\"Score\":6.5,\"ExploitabilityScore\":"
				"2.8,\"ImpactScore\":3.6}}}");
			free(text);
			json_decref(md);
		}
		json_decref(hold);
		clr_vuln_set_release(&s);
	}
}

static void collect(void *arg, const char *id)
{
	char *b = arg;

	snprintf(b + strlen(b), 512 - strlen(b), "%s%s", *b ? " " : "", id);
}

/* claircore's CVERegexp: any case, - or _, 4+ digits, no word
 * boundaries. */
static void test_find_cves(void **state)
{
	char b[512] = "";

	(void)state;
	clr_nvd_find_cves("see cve_2021_1234 and CVE-2020-12345; xCvE-1999-0001 "
			  "CVE-2020-123 CVE-202-1234 CVE-2020--1234 cv cve-",
			  collect, b);
	assert_string_equal(b, "CVE-2021-1234 CVE-2020-12345 CVE-1999-0001");
	b[0] = '\0';
	clr_nvd_find_cves(NULL, collect, b);
	clr_nvd_find_cves("", collect, b);
	assert_string_equal(b, "");
}

/* --- the matcher ----------------------------------------------------------- */

static struct clr_vuln deb(const char *name, const char *pkg, const char *fixed,
			   const char *links)
{
	struct clr_vuln v;

	memset(&v, 0, sizeof(v));
	v.name = name;
	v.updater = "debian";
	v.links = links;
	v.severity = "";
	v.normalized_severity = CLR_SEV_UNKNOWN;
	v.package_name = pkg;
	v.package_kind = "source";
	v.dist_did = "debian";
	v.dist_version_id = "12";
	v.dist_version_code_name = "bookworm";
	v.version_scheme = "dpkg";
	v.fixed_in_version = fixed;
	return v;
}

static json_t *index_report(void)
{
	return json_loads("{\"manifest_hash\":\"sha256:ab\",\"packages\":{\"1\":"
		"{\"name\":\"openssl\",\"version\":\"3.0.1-1\",\"kind\":\"binary\"}},"
		"\"distributions\":{\"1\":{\"did\":\"debian\",\"version_id\":\"12\","
		"\"version_code_name\":\"bookworm\"}},\"environments\":{\"1\":[{"
		"\"package_db\":\"var/lib/dpkg/status\",\"distribution_id\":\"1\"}]}}",
		0, NULL);
}

/* The id of the vulnerability named name in report vr. */
static const char *vid(json_t *vr, const char *name)
{
	const char *k;
	json_t *v;

	json_object_foreach(json_object_get(vr, "vulnerabilities"), k, v)
		if (!strcmp(json_string_value(json_object_get(v, "name")), name))
			return k;
	fail_msg("no %s in the report", name);
	return NULL;
}

static void build(struct clr_vindex *ix, bool with_nvd)
{
	struct clr_vuln vs[] = {
		deb("CVE-2022-1576", "openssl", "3.0.2-1", ""),
		/* named otherwise, its link names the CVE */
		deb("DSA-9999-1", "openssl", "3.0.3-1",
		    "https://security-tracker.debian.org/tracker/CVE-2023-45109"),
		/* no NVD data */
		deb("CVE-2005-3111", "openssl", "", ""),
	};
	struct clr_vuln_set set;

	clr_vuln_set_init(&set);
	for (size_t i = 0; i < 3; i++)
		clr_vuln_set_add(&set, &vs[i]);
	if (with_nvd) {
		assert_int_equal(clr_nvd_parse_file(fixture("single-entry.json"),
						    "nvd", &set, NULL), 0);
		assert_int_equal(clr_nvd_parse_file(
			fixture("page-2023-10-18-part.json"), "nvd", &set, NULL), 0);
	}
	clr_vindex_from_set(ix, &set);
	clr_vuln_set_release(&set);
}

static void test_enrichment(void **state)
{
	struct clr_vindex ix;
	json_t *ir = index_report(), *vr = NULL, *vr2 = NULL, *en, *map, *want;

	(void)state;
	build(&ix, true);
	assert_int_equal(ix.records, 3);      /* NVD rows are no vulnerabilities */
	assert_int_equal(ix.cvss_records, 4);
	assert_int_equal(clr_match(&vr, &ix, ir), 0);
	assert_int_equal(json_object_size(json_object_get(vr, "vulnerabilities")), 3);
	en = json_object_get(vr, "enrichments");
	assert_int_equal(json_object_size(en), 1);
	map = json_array_get(json_object_get(en, CLR_NVD_ENRICHMENT_TYPE), 0);
	assert_int_equal(json_array_size(json_object_get(en,
		CLR_NVD_ENRICHMENT_TYPE)), 1);
	assert_int_equal(json_object_size(map), 2);
	want = page_cvss("single-entry.json", "CVE-2022-1576", "cvssMetricV31");
	assert_true(json_equal(json_array_get(json_object_get(map,
		vid(vr, "CVE-2022-1576")), 0), want));
	json_decref(want);
	want = page_cvss("page-2023-10-18-part.json", "CVE-2023-45109",
			 "cvssMetricV31");
	assert_true(json_equal(json_array_get(json_object_get(map,
		vid(vr, "DSA-9999-1")), 0), want));
	json_decref(want);
	assert_null(json_object_get(map, vid(vr, "CVE-2005-3111")));
	/* the second report shares the first's objects: the same text */
	assert_int_equal(clr_match(&vr2, &ix, ir), 0);
	{
		char *a = json_dumps(vr, JSON_SORT_KEYS);
		char *b = json_dumps(vr2, JSON_SORT_KEYS);

		assert_string_equal(a, b);
		free(a);
		free(b);
	}
	/* v1 Metadata: by name, else by link */
	{
		json_t *md = clr_match_nvd_metadata(&ix, json_object_get(
			json_object_get(vr, "vulnerabilities"), vid(vr, "DSA-9999-1")));

		assert_non_null(md);
		assert_string_equal(json_string_value(json_object_get(json_object_get(
			json_object_get(md, "NVD"), "CVSSv3"), "Vectors")),
			"AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H");
		assert_null(json_object_get(json_object_get(md, "NVD"), "CVSSv2"));
		json_decref(md);
		assert_null(clr_match_nvd_metadata(&ix, json_object_get(
			json_object_get(vr, "vulnerabilities"),
			vid(vr, "CVE-2005-3111"))));
	}
	clr_vindex_free(&ix);
	json_decref(vr);
	json_decref(vr2);
	json_decref(ir);
}

/* No NVD data: enrichments stays {} and Metadata absent. */
static void test_no_enrichment(void **state)
{
	struct clr_vindex ix;
	json_t *ir = index_report(), *vr = NULL;

	(void)state;
	build(&ix, false);
	assert_int_equal(ix.cvss_records, 0);
	assert_int_equal(clr_match(&vr, &ix, ir), 0);
	assert_int_equal(json_object_size(json_object_get(vr, "enrichments")), 0);
	assert_null(clr_match_nvd_metadata(&ix, json_object_get(json_object_get(
		vr, "vulnerabilities"), vid(vr, "CVE-2022-1576"))));
	clr_vindex_free(&ix);
	json_decref(vr);
	json_decref(ir);
}

/* --- the updater ---------------------------------------------------------- */

static const char *setting(void *arg, const char *key)
{
	return strcmp(key, "url") ? NULL : arg;
}

static struct clr_updater *make(const char *url)
{
	struct clr_vec us = CLR_VEC_INIT(struct clr_updater *);
	struct clr_updater *u = NULL;

	assert_int_equal(clr_factory_nvd.create(&us, setting, (void *)url), 0);
	if (us.len)
		u = *CLR_VEC_AT(&us, struct clr_updater *, 0);
	assert_true(us.len <= 1);
	clr_vec_release(&us);
	return u;
}

static void test_factory_needs_url(void **state)
{
	(void)state;
	assert_null(make(NULL));
	assert_null(make(""));
}

/* A local directory: read in place, "unchanged" by its files' names,
 * sizes and times. */
static void test_updater_directory(void **state)
{
	char dir[1024];
	struct clr_updater *u;
	struct clr_fetched f = { NULL, NULL, false }, g = { NULL, NULL, false };
	struct clr_vuln_set s;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/" FIXTURES, unit_srcdir());
	dir[strlen(dir) - 1] = '\0';
	u = make(dir);
	assert_non_null(u);
	assert_string_equal(u->name, "nvd");
	assert_int_equal(u->ops->fetch(u, NULL, &f), 0);
	assert_true(f.borrowed);
	assert_int_equal(strncmp(f.fingerprint, "dir:", 4), 0);
	assert_int_equal(u->ops->fetch(u, f.fingerprint, &g), CLR_EUNCHANGED);
	clr_vuln_set_init(&s);
	assert_int_equal(u->ops->parse(u, &f, &s), 0);
	assert_int_equal(s.vulns.len, 4);
	clr_vuln_set_release(&s);
	clr_fetched_release(&f);
	assert_int_equal(access(dir, F_OK), 0);  /* borrowed: still there */
	clr_updater_free(u);
}

/* A list of pages (file:// URLs here; the integration test serves them
 * over HTTP): one fingerprint per page, unchanged when all are. */
static void test_updater_pages(void **state)
{
	char urls[4096];
	struct clr_updater *u;
	struct clr_fetched f = { NULL, NULL, false }, g = { NULL, NULL, false };
	struct clr_vuln_set s;
	json_t *fp;

	(void)state;
	char *a = realpath(fixture("single-entry.json"), NULL);

	assert_non_null(a);
	/* a file:// URL and a plain path, any spacing */
	snprintf(urls, sizeof(urls), "file://%s  %s\n", a,
		 fixture("page-2023-10-18-part.json"));
	free(a);
	u = make(urls);
	assert_int_equal(u->ops->fetch(u, NULL, &f), 0);
	assert_false(f.borrowed);
	fp = json_loads(f.fingerprint, 0, NULL);
	assert_int_equal(json_array_size(json_object_get(fp, "pages")), 2);
	json_decref(fp);
	assert_int_equal(u->ops->fetch(u, f.fingerprint, &g), CLR_EUNCHANGED);
	/* another page list: fetched again */
	clr_vuln_set_init(&s);
	assert_int_equal(u->ops->parse(u, &f, &s), 0);
	assert_int_equal(s.vulns.len, 4);
	clr_vuln_set_release(&s);
	{
		char *path = strdup(f.path);

		clr_fetched_release(&f);
		assert_int_equal(access(path, F_OK), -1);  /* removed */
		free(path);
	}
	clr_updater_free(u);
	/* a page that is not there: the run fails, nothing is left */
	u = make("/nonexistent/nvd-page.json");
	assert_int_not_equal(u->ops->fetch(u, NULL, &f), 0);
	assert_null(f.path);
	clr_updater_free(u);
}

/* --- through the store ---------------------------------------------------- */

static void store_round_trip(const char *location)
{
	struct clr_vuln_set set, back;
	struct clr_store *st;
	struct clr_vindex ix;
	struct clr_update_op op = { 0 };
	const struct clr_nvd_cvss *c;

	clr_vuln_set_init(&set);
	assert_int_equal(clr_nvd_parse_file(fixture("single-entry.json"), "nvd",
					    &set, NULL), 0);
	assert_int_equal(clr_nvd_parse_file(fixture("page-2023-10-18-part.json"),
					    "nvd", &set, NULL), 0);
	if (clr_store_open(&st, location))
		fail_msg("%s", clr_error_msg());
	assert_int_equal(clr_store_update_put(st, "nvd", "fp1", &set, &op), 0);
	assert_int_equal(op.count, 4);
	clr_vuln_set_init(&back);
	assert_int_equal(clr_store_update_vulns(st, op.ref, &back), 0);
	assert_string_equal(find(&back, "CVE-2022-1576")->affected,
			    find(&set, "CVE-2022-1576")->affected);
	assert_int_equal(clr_vindex_build(&ix, st), 0);
	assert_int_equal(ix.records, 0);
	assert_int_equal(ix.cvss_records, 4);
	c = clr_vindex_cvss(&ix, "CVE-2022-1576");
	assert_non_null(c);
	assert_int_equal(c->v3_score, 65);
	assert_int_equal(c->v2_score, 43);
	assert_string_equal(c->v2_vector, "AV:N/AC:M/Au:N/C:N/I:P/A:N");
	assert_null(clr_vindex_cvss(&ix, "CVE-2023-30781"));
	clr_vindex_free(&ix);
	clr_update_op_release(&op);
	clr_vuln_set_release(&back);
	clr_vuln_set_release(&set);
	clr_store_close(st);
}

static void test_store_sqlite(void **state)
{
	char dir[] = "/tmp/clarion-test-nvd-XXXXXX", db[64];

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(db, sizeof(db), "%s/c.db", dir);
	store_round_trip(db);
	unlink(db);
	{
		char p[96];

		snprintf(p, sizeof(p), "%s-wal", db);
		unlink(p);
		snprintf(p, sizeof(p), "%s-shm", db);
		unlink(p);
	}
	rmdir(dir);
}

static int pg_exec(const char *base, const char *sql)
{
	PGconn *c = PQconnectdb(base);
	PGresult *r = PQexec(c, sql);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK;

	if (!ok)
		fprintf(stderr, "%s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	return ok ? 0 : -1;
}

/* A schema of its own on CLARION_TEST_PG's server (as test_manager does):
 * the round trip reads back every current record. */
static void test_store_postgres(void **state)
{
	const char *pg = getenv("CLARION_TEST_PG");
	char schema[64], sql[128], url[1024];

	(void)state;
	if (!pg || !*pg)
		skip();
	snprintf(schema, sizeof(schema), "clarion_nvd_%ld", (long)getpid());
	snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", schema);
	assert_int_equal(pg_exec(pg, sql), 0);
	snprintf(url, sizeof(url), "%s%coptions=-csearch_path%%3D%s", pg,
		 strchr(pg, '?') ? '&' : '?', schema);
	store_round_trip(url);
	snprintf(sql, sizeof(sql), "DROP SCHEMA %s CASCADE", schema);
	assert_int_equal(pg_exec(pg, sql), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_entry_v3_and_v2),
		cmocka_unit_test(test_page_primary_only),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_rejected_and_unmarked),
		cmocka_unit_test(test_objects),
		cmocka_unit_test(test_find_cves),
		cmocka_unit_test(test_enrichment),
		cmocka_unit_test(test_no_enrichment),
		cmocka_unit_test(test_factory_needs_url),
		cmocka_unit_test(test_updater_directory),
		cmocka_unit_test(test_updater_pages),
		cmocka_unit_test(test_store_sqlite),
		cmocka_unit_test(test_store_postgres),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
