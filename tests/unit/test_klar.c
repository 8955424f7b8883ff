/*
 * test_klar.c - Klar 2.4.0's rules as src/klar/ reproduces them: the
 * environment (defaults, Go's strconv quirks, the exact messages),
 * CLAIR_ADDR completion, the image name split and layer names, the
 * whitelist, the threshold count, and the three output formats with the
 * exact bytes of reference/klar.md §6.
 */
#include "unit.h"

#include <jansson.h>
#include <limits.h>

#include "config/config.h"
#include "klar/klar.h"
#include "klar/output.h"
#include "util/buf.h"
#include "util/error.h"

/* ---- the environment ---- */

/* A fake environment: NAME=VALUE strings, NULL-terminated. */
static const char *fake_getenv(void *ctx, const char *name)
{
	const char *const *e = ctx;
	size_t n = strlen(name);

	for (; *e; e++)
		if (!strncmp(*e, name, n) && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

static int load(struct clr_klar_config *c, const char *const *env)
{
	return clr_klar_config_load(c, "alpine", fake_getenv, (void *)env);
}

static void test_env_defaults(void **state)
{
	const char *env[] = { "CLAIR_ADDR=clair", NULL };
	struct clr_klar_config c;

	(void)state;
	assert_int_equal(load(&c, env), 0);
	assert_string_equal(c.clair_addr, "clair");
	assert_int_equal(c.clair_output, CLR_KLAR_SEV_UNKNOWN);
	assert_int_equal(c.threshold, 0);
	assert_int_equal(c.clair_timeout_min, 1);
	assert_int_equal(c.docker_timeout_min, 1);
	assert_int_equal(c.format, CLR_KLAR_FORMAT_STANDARD);
	assert_null(c.whitelist_file);
	assert_false(c.ignore_unfixed || c.trace || c.docker_insecure ||
		     c.registry_insecure);
	assert_string_equal(c.platform_os, "linux");
	assert_string_equal(c.platform_arch, "amd64");
	assert_string_equal(c.image, "alpine");
	clr_klar_config_release(&c);
}

static void test_env_values(void **state)
{
	const char *env[] = {
		"CLAIR_ADDR=http://c:1", "CLAIR_OUTPUT=hIGH", "CLAIR_THRESHOLD=7",
		"CLAIR_TIMEOUT=0", "DOCKER_TIMEOUT=90", "FORMAT_OUTPUT=Table",
		"IGNORE_UNFIXED=T", "KLAR_TRACE=false", "DOCKER_INSECURE=yes",
		"REGISTRY_INSECURE=1", "WHITELIST_FILE=/w.yaml", NULL,
	};
	struct clr_klar_config c;
	char d[32];

	(void)state;
	assert_int_equal(load(&c, env), 0);
	assert_int_equal(c.clair_output, CLR_KLAR_SEV_HIGH);
	assert_int_equal(c.threshold, 7);
	assert_int_equal(c.clair_timeout_min, 1); /* 0 means 1 */
	assert_int_equal(c.docker_timeout_min, 90);
	assert_int_equal(c.format, CLR_KLAR_FORMAT_TABLE);
	assert_true(c.ignore_unfixed);
	assert_true(c.trace);             /* any non-empty value, even "false" */
	assert_false(c.docker_insecure);  /* "yes" is not a Go boolean */
	assert_true(c.registry_insecure);
	assert_string_equal(c.whitelist_file, "/w.yaml");
	clr_klar_duration(d, sizeof(d), c.docker_timeout_min);
	assert_string_equal(d, "1h30m0s");
	clr_klar_config_release(&c);
}

static void test_env_json_overrides_format(void **state)
{
	const char *env[] = { "CLAIR_ADDR=c", "JSON_OUTPUT=true",
			      "FORMAT_OUTPUT=nonsense", NULL };
	const char *env2[] = { "CLAIR_ADDR=c", "CLAIR_OUTPUT=defcon1", NULL };
	struct clr_klar_config c;

	(void)state;
	assert_int_equal(load(&c, env), 0);
	assert_int_equal(c.format, CLR_KLAR_FORMAT_JSON);
	clr_klar_config_release(&c);
	assert_int_equal(load(&c, env2), 0);
	assert_int_equal(c.clair_output, CLR_KLAR_SEV_DEFCON1);
	clr_klar_config_release(&c);
}

static void test_env_errors(void **state)
{
	const char *none[] = { NULL };
	const char *out[] = { "CLAIR_ADDR=c", "CLAIR_OUTPUT=Important", NULL };
	const char *fmt[] = { "CLAIR_ADDR=c", "FORMAT_OUTPUT=xml", NULL };
	struct clr_klar_config c;

	(void)state;
	assert_int_equal(load(&c, none), CLR_EINVALID);
	assert_string_equal(clr_error_msg(), "Clair address must be provided\n");
	assert_int_equal(load(&c, out), CLR_EINVALID);
	assert_string_equal(clr_error_msg(), "Clair output level Important is not "
			    "supported, only support [Unknown Negligible Low "
			    "Medium High Critical Defcon1]\n");
	assert_int_equal(load(&c, fmt), CLR_EINVALID);
	assert_string_equal(clr_error_msg(), "Format type xml is not supported, "
			    "only support [standard json table]\n");
}

static void test_go_parsers(void **state)
{
	char d[32];

	(void)state;
	assert_int_equal(clr_klar_parse_int("12"), 12);
	assert_int_equal(clr_klar_parse_int("+3"), 3);
	assert_int_equal(clr_klar_parse_int("-2"), -2);
	assert_int_equal(clr_klar_parse_int(" 1"), 0);
	assert_int_equal(clr_klar_parse_int("1e3"), 0);
	assert_int_equal(clr_klar_parse_int(""), 0);
	assert_int_equal(clr_klar_parse_int("-"), 0);
	assert_true(clr_klar_parse_int("99999999999999999999") == LONG_MAX);
	assert_true(clr_klar_parse_bool("1") && clr_klar_parse_bool("True") &&
		    clr_klar_parse_bool("TRUE") && clr_klar_parse_bool("t"));
	assert_false(clr_klar_parse_bool("yes") || clr_klar_parse_bool("tRUE") ||
		     clr_klar_parse_bool("") || clr_klar_parse_bool(NULL));
	clr_klar_duration(d, sizeof(d), 1);
	assert_string_equal(d, "1m0s");
	clr_klar_duration(d, sizeof(d), 60);
	assert_string_equal(d, "1h0m0s");
	clr_klar_duration(d, sizeof(d), -5);
	assert_string_equal(d, "-5m0s");
}

/* ---- CLAIR_ADDR (klar.md §4's table) ---- */

static void check_base(const char *addr, const char *want)
{
	char *b = clr_klar_v1_base(addr);

	assert_string_equal(b, want);
	free(b);
}

static void test_v1_base(void **state)
{
	(void)state;
	check_base("127.0.0.1", "http://127.0.0.1:6060");
	check_base("127.0.0.1:16060", "http://127.0.0.1:16060");
	check_base("https://clair.example", "https://clair.example:6060");
	check_base("http://127.0.0.1:16060/", "http://127.0.0.1:16060/");
	check_base("http://u:p@127.0.0.1:16060", "http://u:p@127.0.0.1:16060");
	check_base("http://u:p@host", "http://u:p@host");
	check_base("http://host/", "http://host/:6060");
	check_base("clair", "http://clair:6060");
}

/* ---- the image name and layer names ---- */

static void split(const char *ref, int insecure, const char *registry,
		  const char *name, const char *tag)
{
	struct clr_klar_config c;
	struct clr_klar_image img;

	memset(&c, 0, sizeof(c));
	c.image = (char *)ref;
	c.registry_insecure = insecure;
	c.docker_token = (char *)"";
	clr_klar_image_init(&img, &c);
	assert_string_equal(img.registry, registry);
	assert_string_equal(img.name, name);
	assert_string_equal(img.tag, tag);
	clr_klar_image_release(&img);
}

static void test_image_names(void **state)
{
	(void)state;
	split("alpine", 0, "https://registry-1.docker.io/v2", "library/alpine",
	      "latest");
	split("alpine:3.7", 0, "https://registry-1.docker.io/v2",
	      "library/alpine", "3.7");
	split("127.0.0.1:5000/test/app:1", 1, "http://127.0.0.1:5000/v2",
	      "test/app", "1");
	split("localhost/a/b/c", 0, "https://localhost/v2", "a/b/c", "latest");
	split("test/app", 0, "https://registry-1.docker.io/v2", "test/app",
	      "latest");
	split("quay.io/x/y@sha256:abc", 0, "https://quay.io/v2", "x/y",
	      "sha256:abc");
	/* "myreg:5000/app is mis-parsed because it has no dot". */
	split("myreg:5000/app", 0, "https://registry-1.docker.io/v2",
	      "library/myreg", "5000:app");
}

static void test_layer_names(void **state)
{
	static char cfg[] = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
	static char l0[] = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	static char empty[] = "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4";
	static char l1[] = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
	struct clr_klar_image img;
	char *name;

	(void)state;
	memset(&img, 0, sizeof(img));
	img.digest = strdup(cfg);
	img.layers = calloc(3, sizeof(char *));
	img.layers[0] = strdup(l0);
	img.layers[1] = strdup(empty);
	img.layers[2] = strdup(l1);
	img.nlayers = 3;
	clr_klar_filter_empty(&img);
	assert_int_equal(img.nlayers, 2);
	name = clr_klar_layer_name(&img, 1);
	assert_int_equal(strlen(name), 128);
	assert_string_equal(name, "1111111111111111111111111111111111111111111111111111111111111111"
			    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
	free(name);
	clr_klar_image_release(&img);
}

/* ---- the whitelist ---- */

static void test_whitelist(void **state)
{
	static const char yaml[] =
		"general:\n  - CVE-2018-0001\n  - 2018\n"
		"images:\n  test/app:\n    - CVE-2018-0002\n"
		"  library/alpine:\n    - CVE-2017-9671\n"
		"other: [ignored]\n";
	struct clr_klar_whitelist w;
	struct clr_klar_vulns vs = CLR_KLAR_VULNS_INIT;
	const char *names[] = { "CVE-2018-0001", "CVE-2018-0002", "cve-2018-0002",
				"CVE-2017-9671" };

	(void)state;
	assert_int_equal(clr_klar_whitelist_parse(&w, yaml, strlen(yaml)), 0);
	assert_true(clr_klar_whitelisted(&w, "any/thing", "CVE-2018-0001"));
	assert_true(clr_klar_whitelisted(&w, "any/thing", "2018"));
	assert_true(clr_klar_whitelisted(&w, "test/app", "CVE-2018-0002"));
	assert_false(clr_klar_whitelisted(&w, "test/app2", "CVE-2018-0002"));
	assert_false(clr_klar_whitelisted(&w, "test/app", "cve-2018-0002"));
	/* The bare "alpine" of the upstream example never matches. */
	assert_false(clr_klar_whitelisted(&w, "alpine", "CVE-2017-9671"));
	for (size_t i = 0; i < 4; i++) {
		struct clr_klar_vuln v = { .name = (char *)names[i],
			.namespace_name = NULL, .description = NULL, .link = NULL,
			.severity = (char *)"High", .fixed_by = NULL,
			.metadata = NULL, .fixed_in = NULL, .feature_name = NULL,
			.feature_version = NULL };

		clr_klar_vulns_add(&vs, &v);
	}
	assert_int_equal(clr_klar_whitelist_apply(&w, "test/app", &vs), 2);
	assert_int_equal(vs.n, 2);
	assert_string_equal(vs.items[0].name, "cve-2018-0002");
	assert_string_equal(vs.items[1].name, "CVE-2017-9671");
	clr_klar_vulns_release(&vs);
	clr_klar_whitelist_release(&w);
}

static void test_whitelist_errors(void **state)
{
	struct clr_klar_whitelist w;
	static const char empty[] = "";
	static const char bad[] = "general: [unclosed\n";
	static const char wrong[] = "general:\n  key: value\n";
	static const char scalar[] = "just a string\n";

	(void)state;
	assert_int_equal(clr_klar_whitelist_parse(&w, empty, 0), 0);
	assert_false(clr_klar_whitelisted(&w, "a", "b"));
	clr_klar_whitelist_release(&w);
	assert_int_equal(clr_klar_whitelist_parse(&w, bad, strlen(bad)), CLR_EINVALID);
	assert_int_equal(clr_klar_whitelist_parse(&w, wrong, strlen(wrong)),
			 CLR_EINVALID);
	assert_non_null(strstr(clr_error_msg(), "cannot unmarshal !!map into []string"));
	assert_int_equal(clr_klar_whitelist_parse(&w, scalar, strlen(scalar)),
			 CLR_EINVALID);
	assert_int_equal(clr_klar_whitelist_parse(&w, "\xff", 1), CLR_EINVALID);
	assert_int_equal(clr_klar_whitelist_load(&w, "/nonexistent/w.yaml"), CLR_EIO);
	assert_string_equal(clr_error_msg(), "could not read file open "
			    "/nonexistent/w.yaml: No such file or directory");
}

/* ---- output ---- */

static void add(struct clr_klar_vulns *vs, const char *name, const char *sev,
		const char *feature, const char *version, const char *fixed,
		const char *desc, const char *link)
{
	struct clr_klar_vuln v = {
		.name = (char *)name, .namespace_name = (char *)"debian:10",
		.description = (char *)desc, .link = (char *)link,
		.severity = (char *)sev, .fixed_by = (char *)fixed,
		.metadata = NULL, .fixed_in = NULL,
		.feature_name = (char *)feature, .feature_version = (char *)version,
	};

	clr_klar_vulns_add(vs, &v);
}

/* The listing of klar.md §6 (one of each severity; bash, unfixed). */
static void sample(struct clr_klar_vulns *vs)
{
	static const char *const sev[] = { "Defcon1", "Critical", "High",
					   "Medium", "Low", "Negligible",
					   "Unknown" };
	for (int i = 0; i < 7; i++) {
		char name[32], desc[64], link[128];

		snprintf(name, sizeof(name), "CVE-2018-%04d", 6 - i);
		snprintf(desc, sizeof(desc), "desc of %s", name);
		snprintf(link, sizeof(link),
			 "https://security-tracker.debian.org/tracker/%s", name);
		add(vs, name, sev[i], "bash", "4.4-5", i == 6 ? "" : "4.4-6", desc,
		    link);
	}
	/* A severity outside the seven: found, never listed or counted. */
	add(vs, "CVE-2018-9999", "Important", "bash", "4.4-5", "", "", "");
}

static char *render(const struct clr_klar_vulns *vs, enum clr_klar_format f,
		    int min, int ignore_unfixed, size_t whitelisted, size_t *counted)
{
	struct clr_klar_render_opts o = {
		.format = f, .min_severity = min, .ignore_unfixed = ignore_unfixed,
		.layer_count = 3, .whitelisted = whitelisted,
	};
	struct clr_buf b = CLR_BUF_INIT(1 << 20);

	assert_int_equal(clr_klar_render(&b, vs, &o, counted), 0);
	return clr_buf_detach(&b, NULL);
}

static void test_standard(void **state)
{
	struct clr_klar_vulns vs = CLR_KLAR_VULNS_INIT;
	size_t counted;
	char *out;

	(void)state;
	sample(&vs);
	out = render(&vs, CLR_KLAR_FORMAT_STANDARD, CLR_KLAR_SEV_UNKNOWN, 0, 2,
		     &counted);
	assert_non_null(strstr(out,
		"Whitelisted 2 vulnerabilities\n"
		"Found 8 vulnerabilities\n"
		"Unknown: 1\nNegligible: 1\nLow: 1\nMedium: 1\nHigh: 1\n"
		"Critical: 1\nDefcon1: 1\n"
		"\n"
		"CVE-2018-0000: [Unknown] \n"
		"Found in: bash [4.4-5]\n"
		"Fixed By: \n"
		"desc of CVE-2018-0000\n"
		"https://security-tracker.debian.org/tracker/CVE-2018-0000\n"
		"-----------------------------------------\n"
		"CVE-2018-0001: [Negligible] \n"));
	assert_int_equal(strncmp(out, "Whitelisted", 11), 0);
	assert_non_null(strstr(out, "CVE-2018-0006: [Defcon1] \nFound in: bash "
			       "[4.4-5]\nFixed By: 4.4-6\n"));
	assert_null(strstr(out, "CVE-2018-9999"));
	assert_int_equal(counted, 7);
	free(out);
	/* CLAIR_OUTPUT=High: three shown; with IGNORE_UNFIXED the same three
	 * count (all fixed); from Unknown, the unfixed one does not. */
	out = render(&vs, CLR_KLAR_FORMAT_STANDARD, CLR_KLAR_SEV_HIGH, 0, 0,
		     &counted);
	assert_int_equal(strncmp(out, "Found 8 vulnerabilities\n", 24), 0);
	assert_null(strstr(out, "[Medium]"));
	assert_int_equal(counted, 3);
	free(out);
	out = render(&vs, CLR_KLAR_FORMAT_STANDARD, CLR_KLAR_SEV_UNKNOWN, 1, 0,
		     &counted);
	assert_int_equal(counted, 6);
	free(out);
	clr_klar_vulns_release(&vs);
	/* Nothing: one empty line after the count. */
	out = render(&vs, CLR_KLAR_FORMAT_STANDARD, 0, 0, 0, &counted);
	assert_string_equal(out, "Found 0 vulnerabilities\n\n");
	assert_int_equal(counted, 0);
	free(out);
}

static void test_json(void **state)
{
	struct clr_klar_vulns vs = CLR_KLAR_VULNS_INIT;
	size_t counted;
	char *out;
	json_t *md = json_loads("{\"NVD\":{\"CVSSv3\":{\"Score\":9.8,"
				"\"Vectors\":\"AV:N\"},\"CVSSv2\":{\"Score\":10}},"
				"\"A\":[1e-7,1e21,0.1,true,null]}", 0, NULL);

	(void)state;
	add(&vs, "CVE-1", "High", "openssl", "1.0", "1.1", "a <b> & \"c\"\n",
	    "https://x/CVE-1");
	vs.items[0].metadata = md;
	add(&vs, "CVE-2", "Low", "zlib", "1", "", "", "");
	add(&vs, "CVE-3", "Critical", "bash", "4", "", "", "");
	out = render(&vs, CLR_KLAR_FORMAT_JSON, CLR_KLAR_SEV_LOW, 0, 5, &counted);
	assert_string_equal(out,
		"{\"LayerCount\":3,\"Vulnerabilities\":{"
		"\"Critical\":[{\"Name\":\"CVE-3\",\"NamespaceName\":\"debian:10\","
		"\"Severity\":\"Critical\",\"FeatureName\":\"bash\","
		"\"FeatureVersion\":\"4\"}],"
		"\"High\":[{\"Name\":\"CVE-1\",\"NamespaceName\":\"debian:10\","
		"\"Description\":\"a \\u003cb\\u003e \\u0026 \\\"c\\\"\\n\","
		"\"Link\":\"https://x/CVE-1\",\"Severity\":\"High\","
		"\"Metadata\":{\"A\":[1e-7,1e+21,0.1,true,null],"
		"\"NVD\":{\"CVSSv2\":{\"Score\":10},\"CVSSv3\":{\"Score\":9.8,"
		"\"Vectors\":\"AV:N\"}}},"
		"\"FixedBy\":\"1.1\",\"FeatureName\":\"openssl\","
		"\"FeatureVersion\":\"1.0\"}],"
		"\"Low\":[{\"Name\":\"CVE-2\",\"NamespaceName\":\"debian:10\","
		"\"Severity\":\"Low\",\"FeatureName\":\"zlib\","
		"\"FeatureVersion\":\"1\"}]}}\n");
	assert_int_equal(counted, 3);
	free(out);
	out = render(&vs, CLR_KLAR_FORMAT_JSON, CLR_KLAR_SEV_DEFCON1, 1, 0, &counted);
	assert_string_equal(out, "{\"LayerCount\":3,\"Vulnerabilities\":{}}\n");
	free(out);
	clr_klar_vulns_release(&vs);
}

static void test_table(void **state)
{
	struct clr_klar_vulns vs = CLR_KLAR_VULNS_INIT;
	size_t counted;
	char *out;

	(void)state;
	/* The description (34 columns) wraps at 30 with minimum raggedness:
	 * six words, then one.  The link is one long word: its column grows
	 * to fit it. */
	add(&vs, "CVE-1", "High", "openssl", "1.0", "1.1",
	    "aaaa bbbb cccc dddd eeee ffff gggg",
	    "https://example.org/a/very/long/link/without/spaces");
	add(&vs, "CVE-2", "Negligible", "zlib", "1", "", "short", "");
	out = render(&vs, CLR_KLAR_FORMAT_TABLE, CLR_KLAR_SEV_UNKNOWN, 1, 0,
		     &counted);
	assert_string_equal(out,
		"Found 2 vulnerabilities\nNegligible: 1\nHigh: 1\n\n"
		"+------------+-------+-------------+----------------+---------+"
		"--------------------------------+"
		"-----------------------------------------------------+\n"
		"| SEVERITY   | NAME  | FEATURENAME | FEATUREVERSION | FIXEDBY |"
		" DESCRIPTION                    |"
		" LINK                                                |\n"
		"+------------+-------+-------------+----------------+---------+"
		"--------------------------------+"
		"-----------------------------------------------------+\n"
		"| \033[0;94mNegligible\033[0m | CVE-2 | zlib        | 1              |         |"
		" short                          |"
		"                                                     |\n"
		"+------------+-------+-------------+----------------+---------+"
		"--------------------------------+"
		"-----------------------------------------------------+\n"
		"| \033[0;31mHigh\033[0m       | CVE-1 | openssl     | 1.0            | 1.1     |"
		" aaaa bbbb cccc dddd eeee ffff  |"
		" https://example.org/a/very/long/link/without/spaces |\n"
		"|            |       |             |                |         |"
		" gggg                           |"
		"                                                     |\n"
		"+------------+-------+-------------+----------------+---------+"
		"--------------------------------+"
		"-----------------------------------------------------+\n");
	assert_int_equal(counted, 1); /* IGNORE_UNFIXED: zlib's is not */
	free(out);
	assert_int_equal(clr_klar_display_width("\033[1;31mCritical\033[0m"), 8);
	assert_int_equal(clr_klar_display_width("\xe4\xb8\xad"), 2);
	clr_klar_vulns_release(&vs);
}

/* A table that exercises the 2018 tablewriter Klar linked: every
 * severity (and one outside the seven, never listed), an empty cell, a
 * description wrapped twice at 30 columns, one whose word is longer than
 * 30 (its column grows to 48 for that row only, so the rows above stay
 * wrapped at 30: widths grow row by row while rows are appended), wide
 * CJK characters (2 columns each), a combining accent (0), a newline and
 * a double space inside a cell, HTML characters (kept raw).  The expected
 * bytes come from an independent model of tablewriter's parseDimension,
 * WrapString and WrapWords (minimum raggedness) and Klar's tableFormat,
 * which agreed with clr_klar_render() on 3,300 random tables. */
static void add_table_a(struct clr_klar_vulns *vs)
{
	add(vs, "CVE-2019-0001", "Critical", "openssl", "1.1.1d-0+deb10u2",
	    "1.1.1d-0+deb10u3", "A <script> & \"quoted\" description that is "
	    "long enough to wrap twice at thirty columns",
	    "https://security-tracker.debian.org/tracker/CVE-2019-0001");
	add(vs, "CVE-2019-0002", "Unknown", "chromium", "90.0", "", "",
	    "https://x/2");
	add(vs, "CVE-2019-0003", "Defcon1", "bash", "5.0-4", "5.0-5",
	    "Supercalifragilisticexpialidocious-and-more-text word", "https://x/3");
	add(vs, "CVE-2019-9999", "Important", "bash", "5.0-4", "", "never shown",
	    "");
	add(vs, "CVE-2019-0004", "Low", "zlib", "1:1.2.11", "",
	    "\xe4\xb8\xad\xe6\x96\x87\xe8\xaf\xb4\xe6\x98\x8e "
	    "\xe5\xae\xbd\xe5\xad\x97\xe7\xac\xa6 with mixed width text here",
	    "https://x/4");
	add(vs, "CVE-2019-0005", "Negligible", "tar", "1.30", "1.31", "short",
	    "https://x/5");
	add(vs, "CVE-2019-0006", "Medium", "curl", "7.64.0-4", "7.64.0-4+deb10u1",
	    "two  spaces\nand a newline in the middle of the text", "https://x/6");
	add(vs, "CVE-2019-0007", "High", "libxml2", "2.9.4", "2.9.4+dfsg1-7",
	    "e\xcc\x81 combining accents count zero width in this line",
	    "https://x/7");
}

#define RULE_A \
	"+------------+---------------+-------------+------------------+-" \
	"-----------------+----------------------------------------------" \
	"----+-----------------------------------------------------------" \
	"+\n"

static void test_table_exact(void **state)
{
	struct clr_klar_vulns vs = CLR_KLAR_VULNS_INIT;
	size_t counted;
	char *out;

	(void)state;
	add_table_a(&vs);
	out = render(&vs, CLR_KLAR_FORMAT_TABLE, CLR_KLAR_SEV_UNKNOWN, 0, 0,
		     &counted);
	assert_string_equal(out,
		"Found 8 vulnerabilities\n"
		"Unknown: 1\n"
		"Negligible: 1\n"
		"Low: 1\n"
		"Medium: 1\n"
		"High: 1\n"
		"Critical: 1\n"
		"Defcon1: 1\n"
		"\n"
		RULE_A
		"| SEVERITY   | NAME          | FEATURENAME | FEATUREVERSION   | "
		"FIXEDBY          | DESCRIPTION                                  "
		"    | LINK                                                      "
		"|\n"
		RULE_A
		"| \033[0;97mUnknown\033[0m    | CVE-2019-0002 | chromium    | 90"
		".0             |                  |                             "
		"                     | https://x/2                              "
		"                 |\n"
		RULE_A
		"| \033[0;94mNegligible\033[0m | CVE-2019-0005 | tar         | 1."
		"30             | 1.31             | short                       "
		"                     | https://x/5                              "
		"                 |\n"
		RULE_A
		"| \033[0;94mLow\033[0m        | CVE-2019-0004 | zlib        | 1:"
		"1.2.11         |                  | \xe4\xb8\xad""\xe6\x96\x87"""
		"\xe8\xaf\xb4""\xe6\x98\x8e"" \xe5\xae\xbd""\xe5\xad\x97"""
		"\xe7\xac\xa6"" with mixed                       | https://x/4   "
		"                                            |\n"
		"|            |               |             |                  | "
		"                 | width text here                              "
		"    |                                                           "
		"|\n"
		RULE_A
		"| \033[0;33mMedium\033[0m     | CVE-2019-0006 | curl        | 7."
		"64.0-4         | 7.64.0-4+deb10u1 | two  spaces and a newline in"
		"                     | https://x/6                              "
		"                 |\n"
		"|            |               |             |                  | "
		"                 | the middle of the text                       "
		"    |                                                           "
		"|\n"
		RULE_A
		"| \033[0;31mHigh\033[0m       | CVE-2019-0007 | libxml2     | 2."
		"9.4            | 2.9.4+dfsg1-7    | e\xcc\x81"" combining accent"
		"s count zero                   | https://x/7                    "
		"                           |\n"
		"|            |               |             |                  | "
		"                 | width in this line                           "
		"    |                                                           "
		"|\n"
		RULE_A
		"| \033[1;31mCritical\033[0m   | CVE-2019-0001 | openssl     | 1."
		"1.1d-0+deb10u2 | 1.1.1d-0+deb10u3 | A <script> & \"quoted\"     "
		"                       | https://security-tracker.debian.org/tra"
		"cker/CVE-2019-0001 |\n"
		"|            |               |             |                  | "
		"                 | description that is long                     "
		"    |                                                           "
		"|\n"
		"|            |               |             |                  | "
		"                 | enough to wrap twice at thirty               "
		"    |                                                           "
		"|\n"
		"|            |               |             |                  | "
		"                 | columns                                      "
		"    |                                                           "
		"|\n"
		RULE_A
		"| \033[1;31mDefcon1\033[0m    | CVE-2019-0003 | bash        | 5."
		"0-4            | 5.0-5            | Supercalifragilisticexpialid"
		"ocious-and-more-text | https://x/3                              "
		"                 |\n"
		"|            |               |             |                  | "
		"                 | word                                         "
		"    |                                                           "
		"|\n"
		RULE_A);
	assert_int_equal(counted, 7);
	free(out);
	/* CLAIR_OUTPUT=Critical: two rows; the widths are those of the rows
	 * shown, not of the whole list. */
	out = render(&vs, CLR_KLAR_FORMAT_TABLE, CLR_KLAR_SEV_CRITICAL, 1, 0,
		     &counted);
	assert_non_null(strstr(out, "\n\n+----------+---------------+-----------"
			       "--+------------------+------------------+-------"
			       "-------------------------------------------+-----"
			       "------------------------------------------------------"
			       "+\n| SEVERITY | NAME "));
	assert_null(strstr(out, "CVE-2019-0002"));
	assert_int_equal(counted, 2);
	free(out);
	clr_klar_vulns_release(&vs);
}

/* The standard blocks with what the table test has: an empty description
 * and link give empty lines, the rest is printed raw (no escaping, no
 * wrapping), in severity order and server order within one. */
static void test_standard_exact(void **state)
{
	struct clr_klar_vulns vs = CLR_KLAR_VULNS_INIT;
	size_t counted;
	char *out;

	(void)state;
	add_table_a(&vs);
	add(&vs, "CVE-2019-0008", "Low", "zlib", "1:1.2.11", "", "", "");
	out = render(&vs, CLR_KLAR_FORMAT_STANDARD, CLR_KLAR_SEV_LOW, 1, 1,
		     &counted);
	assert_string_equal(out,
		"Whitelisted 1 vulnerabilities\n"
		"Found 9 vulnerabilities\n"
		"Unknown: 1\nNegligible: 1\nLow: 2\nMedium: 1\nHigh: 1\n"
		"Critical: 1\nDefcon1: 1\n\n"
		"CVE-2019-0004: [Low] \nFound in: zlib [1:1.2.11]\nFixed By: \n"
		"\xe4\xb8\xad\xe6\x96\x87\xe8\xaf\xb4\xe6\x98\x8e "
		"\xe5\xae\xbd\xe5\xad\x97\xe7\xac\xa6 with mixed width text "
		"here\nhttps://x/4\n-----------------------------------------\n"
		"CVE-2019-0008: [Low] \nFound in: zlib [1:1.2.11]\nFixed By: \n"
		"\n\n-----------------------------------------\n"
		"CVE-2019-0006: [Medium] \nFound in: curl [7.64.0-4]\n"
		"Fixed By: 7.64.0-4+deb10u1\ntwo  spaces\nand a newline in the "
		"middle of the text\nhttps://x/6\n"
		"-----------------------------------------\n"
		"CVE-2019-0007: [High] \nFound in: libxml2 [2.9.4]\n"
		"Fixed By: 2.9.4+dfsg1-7\ne\xcc\x81 combining accents count zero "
		"width in this line\nhttps://x/7\n"
		"-----------------------------------------\n"
		"CVE-2019-0001: [Critical] \nFound in: openssl [1.1.1d-0+deb10u2]\n"
		"Fixed By: 1.1.1d-0+deb10u3\nA <script> & \"quoted\" description "
		"that is long enough to wrap twice at thirty columns\n"
		"https://security-tracker.debian.org/tracker/CVE-2019-0001\n"
		"-----------------------------------------\n"
		"CVE-2019-0003: [Defcon1] \nFound in: bash [5.0-4]\nFixed By: 5.0-5\n"
		"Supercalifragilisticexpialidocious-and-more-text word\n"
		"https://x/3\n-----------------------------------------\n");
	/* IGNORE_UNFIXED: the two unfixed Low ones are shown, not counted. */
	assert_int_equal(counted, 4);
	free(out);
	clr_klar_vulns_release(&vs);
}

/* Go's encoding/json as Klar 2.4.0 (Go 1.11) wrote its line: \u003c
 * \u003e \u0026, \u2028, \u0008 and \u000c (short \b \f only came in Go
 * 1.22), DEL and '/' raw, invalid UTF-8 as \ufffd, UTF-8 raw; Metadata's
 * keys sorted and its numbers as float64; FixedIn through klar's own
 * feature struct (no VersionFormat, Vulnerabilities never omitted). */
static void test_json_exact(void **state)
{
	struct clr_klar_vulns vs = CLR_KLAR_VULNS_INIT;
	size_t counted;
	char *out;

	(void)state;
	add(&vs, "CVE-1", "High", "pkg", "1", "",
	    "a<b>&c/d\xe2\x80\xa8" "e\x01" "f\bg\fh\x7fi\xffj\xe4\xb8\xad\t\r", "");
	vs.items[0].metadata = json_loads(
		"{\"z\":1,\"a\":{\"y\":[1.5,2e-7,100000000000000000000000,-0.0],"
		"\"b\":\"</x>\"}}", JSON_DECODE_INT_AS_REAL, NULL);
	vs.items[0].fixed_in = json_loads(
		"[{\"name\":\"f\",\"VersionFormat\":\"dpkg\",\"Version\":\"1\","
		"\"Vulnerabilities\":[{\"Name\":\"inner\",\"Severity\":\"Low\"},"
		"null],\"AddedBy\":\"l\"},{\"Name\":\"g\"},"
		"{\"Vulnerabilities\":[]}]", 0, NULL);
	assert_non_null(vs.items[0].metadata);
	assert_non_null(vs.items[0].fixed_in);
	add(&vs, "CVE-2", "Defcon1", "p2", "2", "3", "", "");
	out = render(&vs, CLR_KLAR_FORMAT_JSON, CLR_KLAR_SEV_UNKNOWN, 0, 0,
		     &counted);
	assert_string_equal(out,
		"{\"LayerCount\":3,\"Vulnerabilities\":{"
		"\"Defcon1\":[{\"Name\":\"CVE-2\",\"NamespaceName\":\"debian:10\","
		"\"Severity\":\"Defcon1\",\"FixedBy\":\"3\",\"FeatureName\":\"p2\","
		"\"FeatureVersion\":\"2\"}],"
		"\"High\":[{\"Name\":\"CVE-1\",\"NamespaceName\":\"debian:10\","
		"\"Description\":\"a\\u003cb\\u003e\\u0026c/d\\u2028e\\u0001"
		"f\\u0008g\\u000ch\x7fi\\ufffdj\xe4\xb8\xad\\t\\r\","
		"\"Severity\":\"High\","
		"\"Metadata\":{\"a\":{\"b\":\"\\u003c/x\\u003e\","
		"\"y\":[1.5,2e-7,1e+23,-0]},\"z\":1},"
		"\"FixedIn\":[{\"Name\":\"f\",\"Version\":\"1\","
		"\"Vulnerabilities\":[{\"Name\":\"inner\",\"Severity\":\"Low\","
		"\"FeatureName\":\"\",\"FeatureVersion\":\"\"},"
		"{\"FeatureName\":\"\",\"FeatureVersion\":\"\"}],\"AddedBy\":\"l\"},"
		"{\"Name\":\"g\",\"Vulnerabilities\":null},{\"Vulnerabilities\":[]}],"
		"\"FeatureName\":\"pkg\",\"FeatureVersion\":\"1\"}]}}\n");
	assert_int_equal(counted, 2);
	free(out);
	clr_klar_vulns_release(&vs);
}

/* float64s as Go's encoder writes them (Metadata's CVSS scores). */
static void test_json_numbers(void **state)
{
	static const struct { double f; const char *go; } cases[] = {
		{ 9.8, "9.8" }, { 0.1, "0.1" }, { 10, "10" }, { -7.25, "-7.25" },
		{ 1e20, "100000000000000000000" }, { 1e21, "1e+21" },
		{ 1e-6, "0.000001" }, { 1e-7, "1e-7" }, { 123456789.5, "123456789.5" },
		{ 5e-324, "5e-324" }, { 1.7976931348623157e308, "1.7976931348623157e+308" },
		{ 0.0, "0" }, { -0.0, "-0" }, { 2.5e-10, "2.5e-10" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct clr_buf b = CLR_BUF_INIT(64);

		assert_int_equal(clr_klar_json_number(&b, cases[i].f), 0);
		assert_string_equal(clr_buf_str(&b), cases[i].go);
		clr_buf_release(&b);
	}
}

static void test_from_report(void **state)
{
	json_t *r = json_loads(
		"{\"packages\":{\"2\":{\"name\":\"zlib\",\"version\":\"1\"},"
		"\"10\":{\"name\":\"bash\",\"version\":\"4\"}},"
		"\"vulnerabilities\":{\"a\":{\"name\":\"CVE-A\",\"description\":\"d\","
		"\"links\":\"https://one https://two\",\"normalized_severity\":\"High\","
		"\"fixed_in_version\":\"2\",\"distribution\":{\"did\":\"debian\","
		"\"version_id\":\"12\"}},\"b\":{\"name\":\"CVE-B\",\"links\":\"\","
		"\"normalized_severity\":\"Low\",\"fixed_in_version\":\"\","
		"\"repository\":{\"name\":\"PyPI\"}}},"
		"\"package_vulnerabilities\":{\"10\":[\"b\"],\"2\":[\"a\",\"b\"]}}",
		0, NULL);
	struct clr_klar_vulns vs = CLR_KLAR_VULNS_INIT;

	(void)state;
	assert_non_null(r);
	assert_int_equal(clr_klar_vulns_from_report(&vs, r), 0);
	assert_int_equal(vs.n, 3);
	assert_string_equal(vs.items[0].feature_name, "zlib"); /* id 2 before 10 */
	assert_string_equal(vs.items[0].name, "CVE-A");
	assert_string_equal(vs.items[0].link, "https://one");
	assert_string_equal(vs.items[0].namespace_name, "debian:12");
	assert_string_equal(vs.items[0].severity, "High");
	assert_string_equal(vs.items[0].fixed_by, "2");
	assert_string_equal(vs.items[1].namespace_name, "PyPI");
	assert_string_equal(vs.items[2].feature_name, "bash");
	clr_klar_vulns_release(&vs);
	json_decref(r);
	r = json_array();
	assert_int_equal(clr_klar_vulns_from_report(&vs, r), CLR_EINVALID);
	json_decref(r);
}

/* ---- Clair v2's config.yaml (the server side of the lab) ---- */

static void test_clair_v2_config(void **state)
{
	static const char yaml[] =
		"clair:\n"
		"  database:\n"
		"    type: pgsql\n"
		"    options:\n"
		"      source: host=clair-postgres port=5432 user=postgres "
		"password='p w' sslmode=disable statement_timeout=60000\n"
		"      cachesize: 16384\n"
		"  api:\n"
		"    port: 6060\n"
		"    healthport: 6061\n"
		"    timeout: 900s\n"
		"  updater:\n"
		"    interval: 2h\n"
		"  notifier:\n"
		"    attempts: 3\n"
		"    renotifyinterval: 2h\n"
		"    http:\n"
		"      endpoint: http://hook.local/notify\n";
	static const char off[] = "clair:\n  updater:\n    interval: 0s\n"
				  "http_listen_addr: \"127.0.0.1:7000\"\n"
				  "clair:\n  api:\n    port: 1\n";
	static const char off2[] = "http_listen_addr: \"127.0.0.1:7000\"\n"
				   "clair:\n  api:\n    port: 1\n  updater:\n"
				   "    interval: 0s\n";
	struct clr_config *c;

	(void)state;
	assert_int_equal(clr_config_parse(&c, yaml, strlen(yaml), "config.yaml"), 0);
	assert_string_equal(clr_config_string(c, "database"),
			    "postgresql://postgres:p%20w@clair-postgres:5432/?"
			    "sslmode=disable&options=-c%20statement_timeout%3D60000");
	assert_string_equal(clr_config_string(c, "http_listen_addr"), ":6060");
	assert_string_equal(clr_config_string(c, "introspection_addr"), ":6061");
	assert_int_equal(clr_config_duration_ms(c, "matcher.period"), 2 * 3600 * 1000);
	assert_string_equal(clr_config_string(c, "notifier.webhook.target"),
			    "http://hook.local/notify");
	clr_config_free(c);
	/* A duplicate top-level key is the YAML parser's error. */
	assert_int_not_equal(clr_config_parse(&c, off, strlen(off), "x.yaml"), 0);
	/* The v4 key wins; interval 0 turns the updaters off. */
	assert_int_equal(clr_config_parse(&c, off2, strlen(off2), "x.yaml"), 0);
	assert_string_equal(clr_config_string(c, "http_listen_addr"), "127.0.0.1:7000");
	assert_true(clr_config_bool(c, "matcher.disable_updaters"));
	clr_config_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_env_defaults),
		cmocka_unit_test(test_env_values),
		cmocka_unit_test(test_env_json_overrides_format),
		cmocka_unit_test(test_env_errors),
		cmocka_unit_test(test_go_parsers),
		cmocka_unit_test(test_v1_base),
		cmocka_unit_test(test_image_names),
		cmocka_unit_test(test_layer_names),
		cmocka_unit_test(test_whitelist),
		cmocka_unit_test(test_whitelist_errors),
		cmocka_unit_test(test_standard),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_table_exact),
		cmocka_unit_test(test_standard_exact),
		cmocka_unit_test(test_json_exact),
		cmocka_unit_test(test_json_numbers),
		cmocka_unit_test(test_from_report),
		cmocka_unit_test(test_clair_v2_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
