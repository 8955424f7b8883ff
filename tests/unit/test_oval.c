/*
 * test_oval.c - the OVAL engine and the five OVAL sources on real feeds,
 * on a hand-written document that exercises every criteria construct, and
 * on broken and hostile documents.
 *
 * The fixtures (tests/fixtures/oval/, provenance in SOURCES.md there):
 * Red Hat's complete RHEL 8 RHSA feed of 2019-11-13 and VMware's Photon 3
 * feed of 2020-02-20 (both .xz, decompressed through the fetch layer as an
 * updater would get them), Oracle and SUSE excerpts from vunnel's test
 * inputs, and an Ubuntu sample in Canonical's generator layout.  What a
 * user would notice is asserted: how many records, and hand-picked records
 * field by field, the conditions a matcher must still check, and a clear
 * CLR_EINVALID (never a shorter list, never a crash) for what is broken.
 */
#include "unit.h"

#include <stdbool.h>
#include <sys/resource.h>
#include <unistd.h>

#include <jansson.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CLR_UNDER_ASAN 1
#endif
#endif

#include "feeds/oval.h"
#include "updater/fetch.h"
#include "updater/updater.h"
#include "util/error.h"
#include "util/log.h"

#define FIXTURES "tests/fixtures/oval/"

extern const struct clr_updater_factory clr_factory_ubuntu;
extern const struct clr_updater_factory clr_factory_rhel;
extern const struct clr_updater_factory clr_factory_oracle;
extern const struct clr_updater_factory clr_factory_suse;
extern const struct clr_updater_factory clr_factory_photon;

/* --- helpers ------------------------------------------------------------ */

static const char *fixture(const char *name)
{
	static char path[1024];

	snprintf(path, sizeof(path), "%s/" FIXTURES "%s", unit_srcdir(), name);
	return path;
}

/* Settings for factories: "key=value" pairs. */
struct settings {
	const char *const *kv;
};

static const char *setting(void *arg, const char *key)
{
	const struct settings *s = arg;
	size_t n = strlen(key);

	for (const char *const *p = s->kv; p && *p; p++)
		if (!strncmp(*p, key, n) && (*p)[n] == '=')
			return *p + n + 1;
	return NULL;
}

/* The updaters a factory makes with the given settings. */
static int make_updaters(const struct clr_updater_factory *f,
			 const char *const *kv, struct clr_vec *out)
{
	struct settings s = { kv };

	clr_vec_init(out, sizeof(struct clr_updater *));
	clr_error_clear();
	return f->create(out, setting, &s);
}

static struct clr_updater *updater_at(struct clr_vec *v, size_t i)
{
	return *(struct clr_updater **)clr_vec_get(v, i);
}

static void free_updaters(struct clr_vec *v)
{
	for (size_t i = 0; i < v->len; i++)
		updater_at(v, i)->ops->free(updater_at(v, i));
	clr_vec_release(v);
}

/* Parses a fixture with the one updater a factory makes from kv,
 * decompressing .xz fixtures through the fetch layer first. */
static int parse_with(const struct clr_updater_factory *f,
		      const char *const *kv, const char *name,
		      struct clr_vuln_set *out)
{
	struct clr_fetch_result r;
	struct clr_fetched in = { .path = NULL };
	struct clr_vec us;
	int err;

	assert_int_equal(make_updaters(f, kv, &us), 0);
	assert_int_equal(us.len, 1);
	memset(&r, 0, sizeof(r));
	if (strstr(name, ".xz")) {
		assert_int_equal(clr_fetch(&r, fixture(name), NULL), 0);
		assert_string_equal(r.compression, "xz");
		in.path = r.path;
	} else {
		in.path = (char *)fixture(name);
	}
	clr_vuln_set_init(out);
	clr_error_clear();
	err = updater_at(&us, 0)->ops->parse(updater_at(&us, 0), &in, out);
	clr_fetch_result_release(&r);
	free_updaters(&us);
	return err;
}

static int parse_doc(const char *doc, struct clr_vuln_set *out,
		     struct clr_oval_stats *st)
{
	struct clr_oval_options o = { .updater = "test", .scheme = CLR_VS_RPM,
				      .name = "doc" };

	clr_error_clear();
	return clr_oval_parse_mem(doc, strlen(doc), &o, out, st);
}

static const struct clr_vuln *rec(const struct clr_vuln_set *s, size_t i)
{
	return CLR_VEC_AT(&s->vulns, struct clr_vuln, i);
}

/* The record of name about package with fixed version fixed (NULL: any). */
static const struct clr_vuln *find_rec(const struct clr_vuln_set *s,
				       const char *name, const char *package,
				       const char *fixed)
{
	const struct clr_vuln *hit = NULL;

	for (size_t i = 0; i < s->vulns.len; i++) {
		const struct clr_vuln *v = rec(s, i);

		if (!strcmp(v->name, name) && !strcmp(v->package_name, package) &&
		    (!fixed || !strcmp(v->fixed_in_version, fixed))) {
			if (hit)
				fail_msg("two records %s %s %s", name, package,
					 fixed ? fixed : "");
			hit = v;
		}
	}
	if (!hit)
		fail_msg("no record %s %s %s", name, package,
			 fixed ? fixed : "");
	return hit;
}

static size_t count_name(const struct clr_vuln_set *s, const char *name)
{
	size_t n = 0;

	for (size_t i = 0; i < s->vulns.len; i++)
		n += !strcmp(rec(s, i)->name, name);
	return n;
}

static bool has_link(const char *links, const char *url)
{
	size_t n = strlen(url);

	for (const char *p = links; (p = strstr(p, url)); p += n)
		if ((p == links || p[-1] == ' ') && (!p[n] || p[n] == ' '))
			return true;
	return false;
}

/* The record's conditions array (json_decref the root). */
static json_t *conditions(const struct clr_vuln *v, json_t **root)
{
	json_error_t e;
	json_t *c;

	*root = json_loads(v->affected, 0, &e);
	if (!*root)
		fail_msg("affected is not JSON: %s: %s", e.text, v->affected);
	c = json_object_get(json_object_get(*root, "oval"), "conditions");
	assert_true(json_is_array(c));
	return c;
}

static const char *jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool jneg(json_t *o)
{
	return json_is_true(json_object_get(o, "negate"));
}

/* --- streaming, memory -------------------------------------------------- */

static long maxrss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* A 96 MB document streams through in bounded memory: the reader keeps
 * the current element, not the document.  Runs first, before any other
 * test raises the process' peak. */
static void test_streams_in_bounded_memory(void **state)
{
	char path[] = "/tmp/clarion-oval-big-XXXXXX";
	static char chunk[1 << 16];
	struct clr_vuln_set s;
	struct clr_oval_stats st;
	struct clr_oval_options o = { .updater = "t", .scheme = CLR_VS_RPM };
	long before;
	int fd = mkstemp(path);
	FILE *f;

	(void)state;
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	/* many small, unreferenced tests and objects: kept compactly, and
	 * text that is skipped */
	memset(chunk, ' ', sizeof(chunk));
	memcpy(chunk, "<!--", 4);
	memcpy(chunk + sizeof(chunk) - 4, "-->\n", 4);
	fputs("<?xml version=\"1.0\"?>\n<oval_definitions xmlns="
	      "\"http://oval.mitre.org/XMLSchema/oval-definitions-5\">"
	      "<generator/>\n", f);
	for (int i = 0; i < 1536; i++)
		fwrite(chunk, 1, sizeof(chunk), f);
	fputs("</oval_definitions>\n", f);
	fclose(f);

	before = maxrss_kb();
	clr_vuln_set_init(&s);
	assert_int_equal(clr_oval_parse_file(path, &o, &s, &st), 0);
	assert_true(st.bytes > (96u << 20));
	assert_int_equal(s.vulns.len, 0);
	/* far less than the document (a sanitizer's own bookkeeping would
	 * say nothing about ours) */
#if !defined(__SANITIZE_ADDRESS__) && !defined(CLR_UNDER_ASAN)
	assert_true(maxrss_kb() - before < 24 * 1024);
#else
	(void)before;
#endif
	clr_vuln_set_release(&s);
	unlink(path);
}

/* --- Red Hat -------------------------------------------------------------- */

static const char *const rhel8[] = { "releases=8", NULL };

static void test_rhel8_feed(void **state)
{
	struct clr_vuln_set s;
	struct clr_oval_stats st;
	struct clr_fetch_result r;
	struct clr_oval_options o = { .updater = "rhel-8", .scheme = CLR_VS_RPM };
	const struct clr_vuln *v;
	json_t *root, *c, *cpes;

	(void)state;
	/* the engine's own count: 129 definitions, one record per (package
	 * earlier than V, signed) pair, 2,175 of them; every definition's
	 * "Red Hat Enterprise Linux must be installed" guard is a
	 * conjunction without a package */
	memset(&r, 0, sizeof(r));
	assert_int_equal(clr_fetch(&r, fixture("com.redhat.rhsa-RHEL8.xml.xz"),
				   NULL), 0);
	clr_vuln_set_init(&s);
	assert_int_equal(clr_oval_parse_file(r.path, &o, &s, &st), 0);
	assert_int_equal(st.bytes, 2815738);
	assert_int_equal(st.definitions, 129);
	assert_int_equal(st.tests, 3307);
	assert_int_equal(st.objects, 1204);
	assert_int_equal(st.states, 612);
	assert_int_equal(st.variables, 1);
	assert_int_equal(st.records, 2175);
	assert_int_equal(s.vulns.len, 2175);
	assert_int_equal(st.no_package, 129);
	assert_int_equal(st.skipped, 0);
	clr_vuln_set_release(&s);
	clr_fetch_result_release(&r);

	/* the same through the updater, which names and places records */
	assert_int_equal(parse_with(&clr_factory_rhel, rhel8,
				    "com.redhat.rhsa-RHEL8.xml.xz", &s), 0);
	assert_int_equal(s.vulns.len, 2175);

	/* 1: firefox, an arch pattern, the release and key conditions */
	v = find_rec(&s, "RHSA-2019:0966", "firefox", NULL);
	assert_string_equal(v->updater, "rhel-8");
	assert_string_equal(v->fixed_in_version, "60.6.1-1.el8");
	assert_string_equal(v->arch, "aarch64|ppc64le|s390x|x86_64");
	assert_string_equal(v->arch_op, "pattern match");
	assert_string_equal(v->package_module, "");
	assert_string_equal(v->package_kind, "binary");
	assert_string_equal(v->severity, "Critical");
	assert_int_equal(v->normalized_severity, CLR_SEV_CRITICAL);
	assert_string_equal(v->issued, "2019-05-07T00:00:00Z");
	assert_string_equal(v->version_scheme, "rpm");
	assert_string_equal(v->dist_did, "rhel");
	assert_string_equal(v->dist_version_id, "8");
	assert_true(has_link(v->links,
			     "https://access.redhat.com/errata/RHSA-2019:0966"));
	assert_true(has_link(v->links, "https://access.redhat.com/security/"
					"cve/CVE-2019-9788"));
	assert_true(has_link(v->links, "https://bugzilla.redhat.com/1690308"));
	assert_true(strstr(v->description, "Firefox to version 60.6.1 ESR"));
	c = conditions(v, &root);
	assert_string_equal(jstr(json_object_get(root, "oval"), "definition"),
			    "oval:com.redhat.rhsa:def:20190966");
	assert_int_equal(json_array_size(c), 2);
	assert_string_equal(jstr(json_array_get(c, 0), "kind"), "file");
	assert_string_equal(jstr(json_array_get(c, 0), "comment"),
			    "Red Hat Enterprise Linux 8 is installed");
	assert_string_equal(jstr(json_object_get(json_object_get(
		json_array_get(c, 0), "object"), "filepath"), "value"),
		"/etc/redhat-release");
	assert_string_equal(jstr(json_object_get(json_array_get(json_object_get(
		json_array_get(c, 0), "states"), 0), "version"), "value"),
		"^8[^\\d]");
	assert_string_equal(jstr(json_array_get(c, 1), "kind"),
			    "signature_key");
	assert_string_equal(jstr(json_array_get(c, 1), "key"),
			    "199e2f91fd431d51");
	/* the content sets of the advisory, for the repository check */
	cpes = json_object_get(json_object_get(root, "oval"), "cpes");
	assert_true(json_is_array(cpes) && json_array_size(cpes) > 0);
	json_decref(root);

	/* 2: an epoch, and one advisory for two releases: RHSA-2019:1619
	 * fixes vim on RHEL 7 and 8 under different release checks */
	v = find_rec(&s, "RHSA-2019:1619", "vim-enhanced", "2:8.0.1763-11.el8_0");
	assert_string_equal(v->severity, "Important");
	assert_int_equal(v->normalized_severity, CLR_SEV_HIGH);
	assert_string_equal(v->issued, "2019-06-27T00:00:00Z");
	assert_true(has_link(v->links, "https://access.redhat.com/security/"
					"cve/CVE-2019-12735"));
	c = conditions(v, &root);
	assert_string_equal(jstr(json_array_get(c, 0), "comment"),
			    "Red Hat Enterprise Linux 8 is installed");
	json_decref(root);
	v = find_rec(&s, "RHSA-2019:1619", "vim-enhanced", "2:7.4.160-6.el7_6");
	c = conditions(v, &root);
	assert_string_equal(jstr(json_array_get(c, 0), "comment"),
			    "Red Hat Enterprise Linux 7 is installed");
	json_decref(root);

	/* 3: modular content (container-tools:rhel8) with an epoch.  This
	 * 2019 feed predates the "Module X:Y is enabled" criteria of OVAL
	 * v2, so the module is "" here; the hand-written document below
	 * covers module criteria. */
	v = find_rec(&s, "RHSA-2019:0975", "skopeo", NULL);
	assert_string_equal(v->fixed_in_version,
			    "1:0.1.32-3.git1715c90.module+el8.0.0+2958+4e823551");
	assert_string_equal(v->package_module, "");
	assert_string_equal(v->severity, "Important");
	assert_string_equal(v->issued, "2019-05-07T00:00:00Z");

	/* the kernel: "running" or "set to boot" is one condition, a
	 * formula, not two records */
	v = find_rec(&s, "RHSA-2019:1167", "kernel-doc", NULL);
	assert_string_equal(v->fixed_in_version, "4.18.0-80.1.2.el8_0");
	c = conditions(v, &root);
	assert_int_equal(json_array_size(c), 3);
	assert_string_equal(jstr(json_array_get(c, 1), "kind"), "criteria");
	assert_string_equal(jstr(json_array_get(c, 1), "operator"), "OR");
	assert_string_equal(jstr(json_array_get(json_object_get(
		json_array_get(c, 1), "of"), 0), "kind"), "running_kernel");
	assert_string_equal(jstr(json_array_get(json_object_get(
		json_array_get(c, 1), "of"), 1), "kind"), "file_content");
	json_decref(root);
	clr_vuln_set_release(&s);
}

/* --- Photon -------------------------------------------------------------- */

static void test_photon3_feed(void **state)
{
	const char *const kv[] = { "releases=3.0", NULL };
	struct clr_vuln_set s;
	const struct clr_vuln *v;
	json_t *root, *c;

	(void)state;
	assert_int_equal(parse_with(&clr_factory_photon, kv,
				    "com.vmware.phsa-photon3.xml.xz", &s), 0);
	/* 222 advisories; one record per "earlier than" test */
	assert_int_equal(s.vulns.len, 778);
	assert_int_equal(count_name(&s, "PHSA-2020:00001"), 3);

	v = find_rec(&s, "PHSA-2020:00001", "sqlite-libs", NULL);
	assert_string_equal(v->updater, "photon-3.0");
	assert_string_equal(v->fixed_in_version, "3.27.2-5.ph3");
	assert_string_equal(v->severity, "Important");
	assert_int_equal(v->normalized_severity, CLR_SEV_HIGH);
	assert_string_equal(v->issued, "2019-10-23T00:00:00Z");
	assert_string_equal(v->links, "https://github.com/vmware/photon/wiki/"
			    "Security-Updates-3.0-0036 https://nvd.nist.gov/"
			    "vuln/detail?vulnId=CVE-2019-16168");
	assert_string_equal(v->dist_did, "photon");
	assert_string_equal(v->dist_version_id, "3.0");
	assert_string_equal(v->arch, "");
	assert_string_equal(v->package_module, "");
	c = conditions(v, &root);
	assert_int_equal(json_array_size(c), 2);
	assert_string_equal(jstr(json_array_get(c, 0), "kind"), "package");
	assert_string_equal(jstr(json_array_get(c, 0), "comment"),
			    "Photon OS 3 is installed");
	assert_string_equal(jstr(json_object_get(json_object_get(
		json_array_get(c, 0), "object"), "name"), "value"),
		"photon-release");
	assert_string_equal(jstr(json_array_get(c, 1), "kind"),
			    "signature_key");
	assert_string_equal(jstr(json_array_get(c, 1), "key"),
			    "c0b5e0ab66fd4949");
	json_decref(root);

	v = find_rec(&s, "PHSA-2020:00005", "sqlite-devel", NULL);
	assert_string_equal(v->fixed_in_version, "3.27.2-3.ph3");
	assert_string_equal(v->severity, "Critical");
	assert_int_equal(v->normalized_severity, CLR_SEV_CRITICAL);
	assert_string_equal(v->issued, "2019-06-12T00:00:00Z");

	v = find_rec(&s, "PHSA-2020:00222", "openjdk8-src", NULL);
	assert_string_equal(v->fixed_in_version, "1.8.0.212-1.ph3");
	assert_string_equal(v->issued, "2019-05-11T00:00:00Z");
	assert_int_equal(v->normalized_severity, CLR_SEV_HIGH);
	clr_vuln_set_release(&s);
}

/* The whole run as the manager makes it: fetch() through the fetch layer
 * (a plain path works as a URL; xz undone), parse(), and an unchanged
 * second fetch. */
static void test_updater_fetch_then_parse(void **state)
{
	char url[1100];
	const char *kv[] = { "releases=3.0", url, NULL };
	struct clr_fetched f = { .path = NULL };
	struct clr_fetched again = { .path = NULL };
	struct clr_vuln_set s;
	struct clr_updater *u;
	struct clr_vec us;

	(void)state;
	snprintf(url, sizeof(url), "photon-3.0.url=%s",
		 fixture("com.vmware.phsa-photon3.xml.xz"));
	assert_int_equal(make_updaters(&clr_factory_photon, kv, &us), 0);
	u = updater_at(&us, 0);
	assert_string_equal(u->url, fixture("com.vmware.phsa-photon3.xml.xz"));
	assert_int_equal(u->ops->fetch(u, NULL, &f), 0);
	assert_non_null(f.path);
	assert_non_null(f.fingerprint);
	clr_vuln_set_init(&s);
	assert_int_equal(u->ops->parse(u, &f, &s), 0);
	assert_int_equal(s.vulns.len, 778);
	assert_string_equal(rec(&s, 0)->updater, "photon-3.0");
	clr_vuln_set_release(&s);
	assert_int_equal(u->ops->fetch(u, f.fingerprint, &again),
			 CLR_EUNCHANGED);
	assert_null(again.path);
	clr_fetched_release(&f);
	free_updaters(&us);
}

/* --- Ubuntu -------------------------------------------------------------- */

static void test_ubuntu_sample(void **state)
{
	const char *const kv[] = { "series=bionic", NULL };
	struct clr_vuln_set s;
	const struct clr_vuln *v;
	json_t *root, *c, *ext;

	(void)state;
	assert_int_equal(parse_with(&clr_factory_ubuntu, kv,
				    "ubuntu-bionic-cve-sample.xml", &s), 0);
	/* systemd's 14 binaries, libxml2's 4, sleuthkit's 2 (unfixed); the
	 * kernel CVE is about the running kernel: no record */
	assert_int_equal(s.vulns.len, 20);
	assert_int_equal(count_name(&s, "CVE-2020-1712"), 14);
	assert_int_equal(count_name(&s, "CVE-2020-7595"), 4);
	assert_int_equal(count_name(&s, "CVE-2020-10232"), 2);
	assert_int_equal(count_name(&s, "CVE-2020-2732"), 0);

	v = find_rec(&s, "CVE-2020-1712", "libsystemd0", NULL);
	assert_string_equal(v->updater, "ubuntu/bionic");
	/* Canonical writes 0:237-3ubuntu10.38: a zero epoch is no epoch */
	assert_string_equal(v->fixed_in_version, "237-3ubuntu10.38");
	assert_string_equal(v->version_scheme, "dpkg");
	assert_string_equal(v->package_kind, "binary");
	assert_string_equal(v->severity, "Medium");
	assert_int_equal(v->normalized_severity, CLR_SEV_MEDIUM);
	assert_string_equal(v->issued, "2020-03-31T17:15:00Z");
	assert_string_equal(v->dist_did, "ubuntu");
	assert_string_equal(v->dist_version_id, "18.04");
	assert_string_equal(v->dist_version_code_name, "bionic");
	assert_true(has_link(v->links, "https://ubuntu.com/security/"
					"CVE-2020-1712"));
	assert_true(has_link(v->links, "https://ubuntu.com/security/notices/"
					"USN-4269-1"));
	c = conditions(v, &root);
	assert_int_equal(json_array_size(c), 1);
	ext = json_array_get(c, 0);
	assert_string_equal(jstr(ext, "kind"), "criteria");
	assert_string_equal(jstr(ext, "definition"),
			    "oval:com.ubuntu.bionic:def:100");
	assert_string_equal(jstr(json_array_get(json_object_get(ext, "of"), 0),
				 "kind"), "family");
	assert_string_equal(jstr(json_array_get(json_object_get(ext, "of"), 1),
				 "kind"), "file_content");
	json_decref(root);

	v = find_rec(&s, "CVE-2020-7595", "python3-libxml2", NULL);
	assert_string_equal(v->fixed_in_version, "2.9.4+dfsg1-6.1ubuntu1.3");
	assert_string_equal(v->severity, "Low");
	assert_int_equal(v->normalized_severity, CLR_SEV_LOW);
	assert_true(has_link(v->links, "http://bugs.debian.org/cgi-bin/"
					"bugreport.cgi?bug=949582"));

	/* needed: vulnerable in every version */
	v = find_rec(&s, "CVE-2020-10232", "sleuthkit", NULL);
	assert_string_equal(v->fixed_in_version, "");
	assert_string_equal(v->issued, "2020-03-09T00:15:00Z");
	clr_vuln_set_release(&s);
}

/* --- Oracle, SUSE -------------------------------------------------------- */

static void test_oracle_ksplice_excerpt(void **state)
{
	const char *const kv[] = { "years=2021", NULL };
	struct clr_vuln_set s;
	const struct clr_vuln *v;
	json_t *root, *c;
	size_t aarch64 = 0, x86_64 = 0;

	(void)state;
	assert_int_equal(parse_with(&clr_factory_oracle, kv,
				    "vunnel-oracle-elsa-2021-9151.xml", &s), 0);
	/* six packages under "arch is aarch64", four under x86_64 */
	assert_int_equal(s.vulns.len, 10);
	for (size_t i = 0; i < s.vulns.len; i++) {
		v = rec(&s, i);
		assert_string_equal(v->name, "ELSA-2021-9151");
		assert_string_equal(v->updater, "oracle-2021");
		assert_string_equal(v->fixed_in_version,
				    "2:1.1.1g-15.ksplice1.el8_3");
		assert_string_equal(v->severity, "IMPORTANT");
		assert_int_equal(v->normalized_severity, CLR_SEV_HIGH);
		assert_string_equal(v->dist_did, "ol");
		assert_string_equal(v->dist_version_id, "8");
		c = conditions(v, &root);
		/* release, arch, key, ksplice */
		assert_int_equal(json_array_size(c), 4);
		assert_string_equal(jstr(json_array_get(c, 0), "comment"),
				    "Oracle Linux 8 is installed");
		if (!strcmp(jstr(json_array_get(c, 1), "comment"),
			    "Oracle Linux arch is aarch64"))
			aarch64++;
		else if (!strcmp(jstr(json_array_get(c, 1), "comment"),
				 "Oracle Linux arch is x86_64"))
			x86_64++;
		assert_string_equal(jstr(json_array_get(c, 2), "kind"),
				    "signature_key");
		assert_string_equal(jstr(json_array_get(c, 2), "key"),
				    "82562ea9ad986da3");
		assert_string_equal(jstr(json_object_get(json_array_get(
			json_object_get(json_array_get(c, 3), "states"), 0),
			"release"), "value"), "ksplice");
		json_decref(root);
	}
	assert_int_equal(aarch64, 6);
	assert_int_equal(x86_64, 4);
	clr_vuln_set_release(&s);
}

/* vunnel's other Oracle inputs and its SUSE input were cut down for a
 * parser that reads criterion comments: they name tests they no longer
 * hold, so they cannot be evaluated -- and say so. */
static void test_vunnel_cut_inputs_are_refused(void **state)
{
	const char *const ol[] = { "years=2022", NULL };
	const char *const sles[] = { "releases=sles-15", NULL };
	struct clr_vuln_set s;

	(void)state;
	assert_int_equal(parse_with(&clr_factory_oracle, ol,
				    "vunnel-oracle-per-arch-definitions-only.xml",
				    &s), CLR_EINVALID);
	assert_non_null(strstr(clr_error_msg(), "refers to test "
			       "oval:com.oracle.elsa:tst:20224803001"));
	assert_int_equal(s.vulns.len, 0);
	clr_vuln_set_release(&s);

	assert_int_equal(parse_with(&clr_factory_suse, sles,
				    "vunnel-suse-truncated.xml", &s),
			 CLR_EINVALID);
	assert_non_null(strstr(clr_error_msg(), "duplicate id"));
	assert_int_equal(s.vulns.len, 0);
	clr_vuln_set_release(&s);
}

static void test_suse_excerpt(void **state)
{
	const char *const kv[] = { "releases=sles-15", NULL };
	struct clr_oval_options o = { .updater = "t", .scheme = CLR_VS_RPM };
	struct clr_oval_stats st;
	struct clr_vuln_set s;

	(void)state;
	/* the two complete definitions of vunnel's SUSE input: a "not
	 * affected" entry (version == 0: no package leaf, no record) and one
	 * whose state says operation="6", which OVAL does not define
	 * (skipped, counted, the rest of the feed kept) */
	clr_vuln_set_init(&s);
	assert_int_equal(clr_oval_parse_file(
		fixture("vunnel-suse-complete-definitions.xml"), &o, &s, &st),
		0);
	assert_int_equal(st.definitions, 2);
	assert_int_equal(st.records, 0);
	assert_int_equal(st.no_package, 1);
	assert_int_equal(st.skipped, 1);
	clr_vuln_set_release(&s);
	assert_int_equal(parse_with(&clr_factory_suse, kv,
				    "vunnel-suse-complete-definitions.xml", &s),
			 0);
	assert_int_equal(s.vulns.len, 0);
	clr_vuln_set_release(&s);
}

/* SUSE's layout (from its feeds: an OR of "<product> is installed",
 * check="all" with arch and evr), through the SUSE updater. */
static const char suse_doc[] =
	"<oval_definitions xmlns=\"http://oval.mitre.org/XMLSchema/"
	"oval-definitions-5\"><definitions>"
	"<definition id=\"oval:org.opensuse.security:def:1\" class=\"vulnerability\">"
	"<metadata><title>CVE-2021-29154</title>"
	"<reference ref_id=\"SUSE CVE-2021-29154\" ref_url=\"https://www.suse.com/"
	"security/cve/CVE-2021-29154\" source=\"SUSE CVE\"/>"
	"<advisory><issued date=\"2021-04-08\"/><cve impact=\"important\" "
	"href=\"https://www.suse.com/security/cve/CVE-2021-29154/\">CVE-2021-"
	"29154</cve></advisory></metadata>"
	"<criteria operator=\"AND\"><criteria operator=\"OR\">"
	"<criterion test_ref=\"t:1\" comment=\"SUSE Linux Enterprise Server 15 "
	"SP2 is installed\"/><criterion test_ref=\"t:2\" comment=\"SUSE Linux "
	"Enterprise Server 15 SP3 is installed\"/></criteria>"
	"<criterion test_ref=\"t:3\" comment=\"kernel-default is &lt;5.3.18-24.61.1\"/>"
	"</criteria></definition></definitions><tests>"
	"<rpminfo_test id=\"t:1\" check=\"at least one\" xmlns=\"http://oval.mitre."
	"org/XMLSchema/oval-definitions-5#linux\"><object object_ref=\"o:1\"/>"
	"<state state_ref=\"s:1\"/></rpminfo_test>"
	"<rpminfo_test id=\"t:2\" check=\"at least one\"><object object_ref=\"o:1\"/>"
	"<state state_ref=\"s:2\"/></rpminfo_test>"
	"<rpminfo_test id=\"t:3\" check=\"all\"><object object_ref=\"o:2\"/>"
	"<state state_ref=\"s:3\"/></rpminfo_test></tests><objects>"
	"<rpminfo_object id=\"o:1\"><name>sles-release</name></rpminfo_object>"
	"<rpminfo_object id=\"o:2\"><name>kernel-default</name></rpminfo_object>"
	"</objects><states><rpminfo_state id=\"s:1\"><version operation=\"equals\">"
	"15.2</version></rpminfo_state><rpminfo_state id=\"s:2\"><version "
	"operation=\"equals\">15.3</version></rpminfo_state><rpminfo_state "
	"id=\"s:3\"><arch datatype=\"string\" operation=\"pattern match\">"
	"(aarch64|ppc64le|s390x|x86_64)</arch><evr datatype=\"evr_string\" "
	"operation=\"less than\">0:5.3.18-24.61.1</evr></rpminfo_state></states>"
	"</oval_definitions>";

static void test_suse_layout(void **state)
{
	const char *const kv[] = { "releases=sles-15", NULL };
	char path[] = "/tmp/clarion-oval-suse-XXXXXX";
	struct clr_fetched in = { .path = path };
	struct clr_vuln_set s;
	struct clr_vec us;
	const struct clr_vuln *v;
	json_t *root, *c;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, suse_doc, strlen(suse_doc)),
			 (ssize_t)strlen(suse_doc));
	close(fd);
	assert_int_equal(make_updaters(&clr_factory_suse, kv, &us), 0);
	clr_vuln_set_init(&s);
	assert_int_equal(updater_at(&us, 0)->ops->parse(updater_at(&us, 0),
							&in, &s), 0);
	assert_int_equal(s.vulns.len, 1);
	v = rec(&s, 0);
	assert_string_equal(v->name, "CVE-2021-29154");
	assert_string_equal(v->updater, "suse/sles-15");
	assert_string_equal(v->package_name, "kernel-default");
	assert_string_equal(v->fixed_in_version, "5.3.18-24.61.1");
	assert_string_equal(v->arch, "(aarch64|ppc64le|s390x|x86_64)");
	assert_string_equal(v->arch_op, "pattern match");
	/* no <severity>: the CVE's impact */
	assert_string_equal(v->severity, "important");
	assert_int_equal(v->normalized_severity, CLR_SEV_HIGH);
	assert_string_equal(v->dist_did, "sles");
	assert_string_equal(v->dist_version_id, "15");
	c = conditions(v, &root);
	assert_int_equal(json_array_size(c), 1);
	assert_string_equal(jstr(json_array_get(c, 0), "operator"), "OR");
	assert_int_equal(json_array_size(json_object_get(json_array_get(c, 0),
							 "of")), 2);
	json_decref(root);
	clr_vuln_set_release(&s);
	free_updaters(&us);
	unlink(path);
}

/* --- the criteria tree, construct by construct ---------------------------- */

#define HEAD "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" \
	"<oval_definitions xmlns=\"http://oval.mitre.org/XMLSchema/oval-" \
	"definitions-5\" xmlns:red-def=\"http://oval.mitre.org/XMLSchema/" \
	"oval-definitions-5#linux\" xmlns:ind-def=\"http://oval.mitre.org/" \
	"XMLSchema/oval-definitions-5#independent\" xmlns:unix-def=\"http://" \
	"oval.mitre.org/XMLSchema/oval-definitions-5#unix\">"

#define RPMTEST(id, obj, ste) \
	"<red-def:rpminfo_test id=\"" id "\" check=\"at least one\" " \
	"comment=\"" id "\"><red-def:object object_ref=\"" obj "\"/>" \
	ste "</red-def:rpminfo_test>"
#define STATE(s) "<red-def:state state_ref=\"" s "\"/>"
#define OBJ(id, name) "<red-def:rpminfo_object id=\"" id "\"><red-def:name>" \
	name "</red-def:name></red-def:rpminfo_object>"
#define EVR(id, v) "<red-def:rpminfo_state id=\"" id "\"><red-def:evr " \
	"datatype=\"evr_string\" operation=\"less than\">" v "</red-def:evr>" \
	"</red-def:rpminfo_state>"

/* The tables every hand-written definition below uses. */
#define TABLES \
	"<tests>" \
	RPMTEST("t:rel", "o:rel", STATE("s:rel")) \
	RPMTEST("t:a", "o:a", STATE("s:a")) \
	RPMTEST("t:sig", "o:a", STATE("s:sig")) \
	RPMTEST("t:b", "o:b", STATE("s:b")) \
	RPMTEST("t:c", "o:c", STATE("s:c")) \
	RPMTEST("t:d", "o:d", STATE("s:d")) \
	RPMTEST("t:e", "o:e", "") \
	RPMTEST("t:f", "o:f", STATE("s:f")) \
	RPMTEST("t:g", "o:g", STATE("s:g")) \
	"<ind-def:textfilecontent54_test id=\"t:mod\" check=\"at least one\">" \
	"<ind-def:object object_ref=\"o:mod\"/><ind-def:state " \
	"state_ref=\"s:mod\"/></ind-def:textfilecontent54_test>" \
	"<ind-def:textfilecontent54_test id=\"t:mod2\" check=\"at least one\">" \
	"<ind-def:object object_ref=\"o:mod2\"/><ind-def:state " \
	"state_ref=\"s:mod2\"/></ind-def:textfilecontent54_test>" \
	"<unix-def:uname_test id=\"t:x\" check=\"at least one\"><unix-def:object " \
	"object_ref=\"o:x\"/></unix-def:uname_test>" \
	"<ind-def:family_test id=\"t:k1\" check=\"at least one\"><ind-def:object " \
	"object_ref=\"o:k1\"/></ind-def:family_test>" \
	"<red-def:rpmverifyfile_test id=\"t:k2\" check=\"at least one\">" \
	"<red-def:object object_ref=\"o:k2\"/></red-def:rpmverifyfile_test>" \
	"</tests><objects>" \
	OBJ("o:rel", "test-release") OBJ("o:a", "a") OBJ("o:b", "b") \
	OBJ("o:c", "c") OBJ("o:d", "d") OBJ("o:e", "e") OBJ("o:f", "f") \
	"<red-def:rpminfo_object id=\"o:g\"><red-def:name var_ref=\"v:g\" " \
	"var_check=\"at least one\"/></red-def:rpminfo_object>" \
	"<ind-def:textfilecontent54_object id=\"o:mod\"><ind-def:filepath>" \
	"/etc/dnf/modules.d/m.module</ind-def:filepath><ind-def:pattern " \
	"operation=\"pattern match\">\\[m\\][\\w\\W]*</ind-def:pattern>" \
	"<ind-def:instance datatype=\"int\">1</ind-def:instance>" \
	"</ind-def:textfilecontent54_object>" \
	"<ind-def:textfilecontent54_object id=\"o:mod2\"><ind-def:filepath>" \
	"/etc/dnf/modules.d/nodejs.module</ind-def:filepath>" \
	"</ind-def:textfilecontent54_object>" \
	"<unix-def:uname_object id=\"o:x\"/><ind-def:family_object id=\"o:k1\"/>" \
	"<red-def:rpmverifyfile_object id=\"o:k2\"><red-def:filepath>" \
	"/etc/test-release</red-def:filepath></red-def:rpmverifyfile_object>" \
	"</objects><states>" \
	"<red-def:rpminfo_state id=\"s:rel\"><red-def:version operation=" \
	"\"pattern match\">^1</red-def:version></red-def:rpminfo_state>" \
	"<red-def:rpminfo_state id=\"s:a\"><red-def:arch operation=\"pattern " \
	"match\">x86_64|aarch64</red-def:arch><red-def:evr datatype=" \
	"\"evr_string\" operation=\"less than\">1:1.0-1</red-def:evr>" \
	"</red-def:rpminfo_state>" \
	"<red-def:rpminfo_state id=\"s:sig\"><red-def:signature_keyid " \
	"operation=\"equals\">abc</red-def:signature_keyid>" \
	"</red-def:rpminfo_state>" \
	EVR("s:b", "0:2.0-1") EVR("s:c", "3") EVR("s:d", "4.0") \
	EVR("s:f", "5") EVR("s:g", "6-1") \
	"<ind-def:textfilecontent54_state id=\"s:mod\"><ind-def:text operation=" \
	"\"pattern match\">\\nstream\\s*=\\s*s\\b(?!\\n\\[)</ind-def:text>" \
	"</ind-def:textfilecontent54_state>" \
	"<ind-def:textfilecontent54_state id=\"s:mod2\"><ind-def:text " \
	"operation=\"pattern match\">\\nstream\\s*=\\s*18\\b(?!\\n\\[)" \
	"</ind-def:text></ind-def:textfilecontent54_state>" \
	"</states><variables><constant_variable id=\"v:g\" datatype=\"string\">" \
	"<value>g1</value><value>g2</value></constant_variable></variables>" \
	"</oval_definitions>"

#define META(title) "<metadata><title>" title "</title><advisory>" \
	"<severity>Moderate</severity><issued date=\"2020-01-02\"/>" \
	"</advisory></metadata>"

static const char criteria_doc[] = HEAD "<definitions>"
	/* the base others extend: inventory, no records of its own */
	"<definition id=\"d:base\" class=\"inventory\">" META("base")
	"<criteria><criterion test_ref=\"t:rel\" comment=\"Test OS 1 is "
	"installed\"/><criterion test_ref=\"t:k1\"/></criteria></definition>"
	/* a base with package leaves: extending it expands them */
	"<definition id=\"d:pkgbase\" class=\"inventory\">" META("pkgbase")
	"<criteria operator=\"OR\"><criterion test_ref=\"t:f\"/>"
	"<criterion test_ref=\"t:g\"/></criteria></definition>"
	/* every construct at once */
	"<definition id=\"d:all\" class=\"patch\">" META("T-1")
	"<criteria operator=\"AND\">"
	"<extend_definition definition_ref=\"d:base\" comment=\"base\"/>"
	"<criteria operator=\"OR\">"
	"<criteria operator=\"AND\"><criterion test_ref=\"t:a\"/>"
	"<criterion test_ref=\"t:sig\"/></criteria>"
	"<criteria operator=\"AND\"><criterion test_ref=\"t:mod\" comment="
	"\"Module m:s is enabled\"/><criterion test_ref=\"t:b\"/></criteria>"
	"<criterion test_ref=\"t:c\" negate=\"true\"/>"
	"<criteria operator=\"AND\" negate=\"true\"><criteria operator=\"OR\">"
	"<criterion test_ref=\"t:d\" negate=\"true\"/>"
	"<criterion test_ref=\"t:x\"/></criteria></criteria>"
	"<criteria operator=\"AND\"><criterion test_ref=\"t:e\"/>"
	"<criterion test_ref=\"t:f\"/></criteria>"
	"<criterion test_ref=\"t:g\"/>"
	"</criteria>"
	"<criteria operator=\"OR\"><criterion test_ref=\"t:k1\"/>"
	"<criterion test_ref=\"t:k2\" negate=\"true\"/></criteria>"
	"</criteria></definition>"
	/* ONE over package leaves: not expressible, skipped */
	"<definition id=\"d:one\" class=\"patch\">" META("T-2")
	"<criteria operator=\"ONE\"><criterion test_ref=\"t:a\"/>"
	"<criterion test_ref=\"t:b\"/></criteria></definition>"
	/* XOR over conditions only: a formula next to a package */
	"<definition id=\"d:xor\" class=\"patch\">" META("T-3")
	"<criteria><criteria operator=\"XOR\"><criterion test_ref=\"t:k1\"/>"
	"<criterion test_ref=\"t:k2\"/></criteria>"
	"<criterion test_ref=\"t:b\"/></criteria></definition>"
	/* the same conjunction twice: one record */
	"<definition id=\"d:dup\" class=\"vulnerability\">" META("T-4")
	"<criteria operator=\"OR\"><criteria><criterion test_ref=\"t:rel\"/>"
	"<criterion test_ref=\"t:f\"/></criteria><criteria>"
	"<criterion test_ref=\"t:rel\"/><criterion test_ref=\"t:f\"/>"
	"</criteria></criteria></definition>"
	/* a negated extend_definition */
	"<definition id=\"d:negext\" class=\"patch\">" META("T-5")
	"<criteria><extend_definition definition_ref=\"d:base\" negate=\"true\"/>"
	"<criterion test_ref=\"t:b\"/></criteria></definition>"
	/* a negated module check is a condition, not the record's module */
	"<definition id=\"d:negmod\" class=\"patch\">" META("T-6")
	"<criteria><criterion test_ref=\"t:mod\" negate=\"true\" comment="
	"\"Module m:s is enabled\"/><criterion test_ref=\"t:b\"/></criteria>"
	"</definition>"
	/* no criteria at all (withdrawn definitions look like this) */
	"<definition id=\"d:empty\" class=\"patch\">" META("T-7")
	"</definition>"
	/* a module check with no comment to read the module from */
	"<definition id=\"d:modpat\" class=\"patch\">" META("T-9")
	"<criteria><criterion test_ref=\"t:mod2\"/><criterion test_ref=\"t:b\"/>"
	"</criteria></definition>"
	"<definition id=\"d:extpkg\" class=\"patch\">" META("T-8")
	"<criteria><extend_definition definition_ref=\"d:pkgbase\"/>"
	"<criterion test_ref=\"t:rel\"/></criteria></definition>"
	"</definitions>" TABLES;

static void test_criteria_constructs(void **state)
{
	struct clr_vuln_set s;
	struct clr_oval_stats st;
	const struct clr_vuln *v;
	json_t *root, *c, *x;

	(void)state;
	clr_vuln_set_init(&s);
	assert_int_equal(parse_doc(criteria_doc, &s, &st), 0);
	assert_int_equal(st.definitions, 11);
	assert_int_equal(st.skipped, 1);      /* d:one */
	/* d:all's "NOT c" conjunction (inventory definitions make none) */
	assert_int_equal(st.no_package, 1);
	/* d:all a, b, d, f, g1, g2; d:xor b; d:dup f; d:negext b;
	 * d:negmod b; d:modpat b; d:extpkg f, g1, g2 */
	assert_int_equal(s.vulns.len, 14);
	assert_int_equal(count_name(&s, "T-1"), 6);
	assert_int_equal(count_name(&s, "T-2"), 0);
	assert_int_equal(count_name(&s, "T-8"), 3);

	/* a: epoch kept, arch from its state, the key a condition; every
	 * conjunction of d:all starts with the inlined base and ends with
	 * the package-free OR, kept whole */
	v = find_rec(&s, "T-1", "a", NULL);
	assert_string_equal(v->fixed_in_version, "1:1.0-1");
	assert_string_equal(v->arch, "x86_64|aarch64");
	assert_string_equal(v->arch_op, "pattern match");
	assert_string_equal(v->package_module, "");
	assert_string_equal(v->issued, "2020-01-02T00:00:00Z");
	assert_string_equal(v->severity, "Moderate");
	c = conditions(v, &root);
	assert_int_equal(json_array_size(c), 3);
	x = json_array_get(c, 0);
	assert_string_equal(jstr(x, "kind"), "criteria");
	assert_string_equal(jstr(x, "definition"), "d:base");
	assert_string_equal(jstr(x, "comment"), "base");
	assert_false(jneg(x));
	/* the base's tests, inside it: its release package check, family */
	assert_int_equal(json_array_size(json_object_get(x, "of")), 2);
	assert_string_equal(jstr(json_array_get(json_object_get(x, "of"), 0),
				 "kind"), "package");
	assert_string_equal(jstr(json_array_get(json_object_get(x, "of"), 1),
				 "kind"), "family");
	assert_string_equal(jstr(json_array_get(c, 1), "kind"),
			    "signature_key");
	assert_string_equal(jstr(json_array_get(c, 1), "key"), "abc");
	x = json_array_get(c, 2);
	assert_string_equal(jstr(x, "operator"), "OR");
	assert_false(jneg(x));
	assert_string_equal(jstr(json_array_get(json_object_get(x, "of"), 0),
				 "kind"), "family");
	assert_string_equal(jstr(json_array_get(json_object_get(x, "of"), 1),
				 "kind"), "file");
	assert_true(jneg(json_array_get(json_object_get(x, "of"), 1)));
	json_decref(root);

	/* b: the module stream, zero epoch dropped */
	v = find_rec(&s, "T-1", "b", NULL);
	assert_string_equal(v->fixed_in_version, "2.0-1");
	assert_string_equal(v->package_module, "m:s");
	c = conditions(v, &root);
	assert_int_equal(json_array_size(c), 3);
	assert_string_equal(jstr(json_array_get(c, 1), "kind"), "module");
	assert_string_equal(jstr(json_array_get(c, 1), "module"), "m:s");
	json_decref(root);

	/* d: NOT (NOT d OR x) is d AND NOT x */
	v = find_rec(&s, "T-1", "d", NULL);
	assert_string_equal(v->fixed_in_version, "4.0");
	c = conditions(v, &root);
	assert_int_equal(json_array_size(c), 3);
	assert_string_equal(jstr(json_array_get(c, 1), "kind"),
			    "running_kernel");
	assert_true(jneg(json_array_get(c, 1)));
	json_decref(root);

	/* e AND f: the record is about f (it has the fixed version), e is a
	 * condition (an existence test); other package tests come first */
	v = find_rec(&s, "T-1", "f", NULL);
	assert_string_equal(v->fixed_in_version, "5");
	c = conditions(v, &root);
	assert_int_equal(json_array_size(c), 3);
	x = json_array_get(c, 0);
	assert_string_equal(jstr(x, "kind"), "package");
	assert_string_equal(jstr(json_object_get(json_object_get(x, "object"),
						 "name"), "value"), "e");
	assert_null(json_object_get(x, "states"));
	json_decref(root);

	/* g: one record per name of the constant_variable */
	v = find_rec(&s, "T-1", "g1", "6-1");
	v = find_rec(&s, "T-1", "g2", "6-1");
	c = conditions(v, &root);
	assert_int_equal(json_array_size(c), 2);
	json_decref(root);

	/* XOR kept as a formula */
	v = find_rec(&s, "T-3", "b", NULL);
	c = conditions(v, &root);
	assert_int_equal(json_array_size(c), 1);
	assert_string_equal(jstr(json_array_get(c, 0), "operator"), "XOR");
	json_decref(root);

	/* twice the same: once */
	v = find_rec(&s, "T-4", "f", NULL);
	c = conditions(v, &root);
	assert_int_equal(json_array_size(c), 1);
	assert_string_equal(jstr(json_array_get(c, 0), "comment"), "t:rel");
	json_decref(root);

	/* the negated base */
	v = find_rec(&s, "T-5", "b", NULL);
	c = conditions(v, &root);
	assert_string_equal(jstr(json_array_get(c, 0), "definition"), "d:base");
	assert_true(jneg(json_array_get(c, 0)));
	json_decref(root);

	/* extending a definition with package leaves: its OR is expanded,
	 * one record per leaf, the extender's release check a condition */
	v = find_rec(&s, "T-8", "f", "5");
	c = conditions(v, &root);
	assert_int_equal(json_array_size(c), 1);
	assert_string_equal(jstr(json_array_get(c, 0), "comment"), "t:rel");
	json_decref(root);
	find_rec(&s, "T-8", "g2", "6-1");

	/* the module from the file name and the stream pattern */
	v = find_rec(&s, "T-9", "b", NULL);
	assert_string_equal(v->package_module, "nodejs:18");

	/* a negated module check */
	v = find_rec(&s, "T-6", "b", NULL);
	assert_string_equal(v->package_module, "");
	c = conditions(v, &root);
	assert_string_equal(jstr(json_array_get(c, 0), "kind"), "module");
	assert_true(jneg(json_array_get(c, 0)));
	json_decref(root);
	clr_vuln_set_release(&s);
}

/* An emit callback can rename, drop and fail records. */
static int drop_b(void *arg, const struct clr_oval_definition *def,
		  const struct clr_oval_leaf *leaf, struct clr_vuln *v)
{
	int *calls = arg;

	(*calls)++;
	assert_non_null(def->id);
	assert_string_equal(leaf->test_kind, "rpminfo_test");
	if (!strcmp(v->package_name, "g1"))
		assert_true(leaf->name_from_variable);
	if (!strcmp(v->package_name, "e"))
		assert_true(leaf->unfixed);
	if (!strcmp(v->package_name, "b"))
		return 1;
	if (!strcmp(v->package_name, "f") && !strcmp(def->id, "d:dup"))
		return clr_error_set(CLR_EINVALID, "stop");
	v->name = "renamed";
	return 0;
}

static void test_emit_callback(void **state)
{
	struct clr_oval_options o = { .updater = "u", .scheme = CLR_VS_RPM,
				      .emit = drop_b };
	struct clr_vuln_set s;
	struct clr_oval_stats st;
	int calls = 0;

	(void)state;
	o.arg = &calls;
	clr_vuln_set_init(&s);
	/* a record already in the set survives a failed parse untouched */
	clr_vuln_set_add(&s, &(struct clr_vuln){ .name = "kept" });
	assert_int_equal(clr_oval_parse_mem(criteria_doc, strlen(criteria_doc),
					    &o, &s, &st), CLR_EINVALID);
	assert_string_equal(clr_error_msg(), "stop");
	assert_int_equal(s.vulns.len, 1);
	assert_string_equal(rec(&s, 0)->name, "kept");
	assert_true(calls > 0);
	clr_vuln_set_release(&s);
}

/* --- broken and hostile documents ---------------------------------------- */

static void expect_invalid(const char *doc, const char *msg)
{
	struct clr_vuln_set s;
	struct clr_oval_stats st;

	clr_vuln_set_init(&s);
	clr_vuln_set_add(&s, &(struct clr_vuln){ .name = "kept" });
	if (parse_doc(doc, &s, &st) != CLR_EINVALID)
		fail_msg("accepted: %.200s", doc);
	if (msg && !strstr(clr_error_msg(), msg))
		fail_msg("message '%s' lacks '%s'", clr_error_msg(), msg);
	assert_int_equal(s.vulns.len, 1);
	assert_int_equal(st.records, 0);
	clr_vuln_set_release(&s);
}

#define DEF(crit) "<definitions><definition id=\"d:1\" class=\"patch\">" \
	META("X") "<criteria>" crit "</criteria></definition></definitions>"

static void test_malformed(void **state)
{
	(void)state;
	expect_invalid("", NULL);
	expect_invalid("not xml at all", NULL);
	expect_invalid("<oval_definitions><definitions>", "truncated");
	expect_invalid("<oval_definitions><a></b></oval_definitions>", NULL);
	expect_invalid("<rss/>", "root element <rss>");
	expect_invalid("<oval_definitions/><oval_definitions/>", NULL);
	expect_invalid(HEAD "&undefined;</oval_definitions>", NULL);
	expect_invalid(HEAD DEF("<criterion test_ref=\"t:nope\"/>") TABLES,
		       "refers to test t:nope");
	expect_invalid(HEAD DEF("<extend_definition definition_ref=\"d:no\"/>")
		       TABLES, "extends definition d:no");
	expect_invalid(HEAD DEF("<criterion/>") TABLES, "without a reference");
	expect_invalid(HEAD DEF("<criterion test_ref=\"t:a\"><criteria/>"
				"</criterion>") TABLES, "inside a criterion");
	expect_invalid(HEAD "<definitions><definition id=\"d:1\"><criteria/>"
		       "<criteria/></definition></definitions></oval_definitions>",
		       "two criteria");
	expect_invalid(HEAD "<definitions><definition id=\"d:1\"><criteria "
		       "operator=\"NAND\"/></definition></definitions>"
		       "</oval_definitions>", "NAND");
	expect_invalid(HEAD "<definitions><definition/></definitions>"
		       "</oval_definitions>", "without an id");
	expect_invalid(HEAD "<definitions><definition id=\"a\"/><definition "
		       "id=\"a\"/></definitions></oval_definitions>",
		       "duplicate definition id a");
	/* a test whose object or state is not there */
	expect_invalid(HEAD "<tests>" RPMTEST("t:1", "o:gone", "") "</tests>"
		       "</oval_definitions>", "object o:gone");
	expect_invalid(HEAD "<tests>" RPMTEST("t:1", "o:1", STATE("s:gone"))
		       "</tests><objects>" OBJ("o:1", "x") "</objects>"
		       "</oval_definitions>", "state s:gone");
	expect_invalid(HEAD "<tests>" RPMTEST("t:1", "o:1", "") "</tests>"
		       "<objects><red-def:rpminfo_object id=\"o:1\"><red-def:name "
		       "var_ref=\"v:gone\"/></red-def:rpminfo_object></objects>"
		       "</oval_definitions>", "variable v:gone");
	/* a test pointing at a state as its object */
	expect_invalid(HEAD "<tests>" RPMTEST("t:1", "s:1", "") "</tests>"
		       "<states>" EVR("s:1", "1") "</states></oval_definitions>",
		       "object s:1");
	/* extend_definition in a circle */
	expect_invalid(HEAD "<definitions><definition id=\"d:1\"><criteria>"
		       "<extend_definition definition_ref=\"d:2\"/></criteria>"
		       "</definition><definition id=\"d:2\"><criteria>"
		       "<extend_definition definition_ref=\"d:1\"/></criteria>"
		       "</definition></definitions></oval_definitions>", "loops");
}

static void test_truncated_everywhere(void **state)
{
	char path[1024];
	struct clr_vuln_set s;
	struct clr_oval_stats st;
	FILE *f;
	char *doc;
	long n;

	(void)state;
	snprintf(path, sizeof(path), "%s", fixture("ubuntu-bionic-cve-sample.xml"));
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	doc = malloc((size_t)n + 1);
	assert_int_equal(fread(doc, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	/* the whole document parses; every cut short of its last element
	 * is an error, never a shorter list */
	for (long cut = 0; cut < n - 20; cut += 97) {
		struct clr_oval_options o = { .updater = "t",
					      .scheme = CLR_VS_DPKG };

		clr_vuln_set_init(&s);
		if (clr_oval_parse_mem(doc, (size_t)cut, &o, &s, &st) !=
		    CLR_EINVALID)
			fail_msg("cut at %ld accepted", cut);
		assert_int_equal(s.vulns.len, 0);
		clr_vuln_set_release(&s);
	}
	free(doc);
}

/* Billion laughs, its parameter-entity cousin and an external entity:
 * there is no DTD to declare them in. */
static void test_entities_refused(void **state)
{
	static const char laughs[] =
		"<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n"
		" <!ENTITY lol \"lol\">\n"
		" <!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
		" <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
		" <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
		" <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
		" <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
		" <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
		" <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
		" <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
		"]>\n<oval_definitions><definitions><definition id=\"d\">"
		"<metadata><title>&lol9;</title></metadata></definition>"
		"</definitions></oval_definitions>\n";
	static const char params[] =
		"<!-- a comment first --><?pi x?>\n<!DOCTYPE x [\n"
		" <!ENTITY % a \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\">\n"
		" <!ENTITY % b \"%a;%a;%a;%a;%a;%a;%a;%a;%a;%a;%a;%a;%a;%a;%a;%a;\">\n"
		" <!ENTITY % c \"%b;%b;%b;%b;%b;%b;%b;%b;%b;%b;%b;%b;%b;%b;%b;%b;\">\n"
		"]><oval_definitions/>";
	static const char external[] =
		"<?xml version=\"1.0\"?><!DOCTYPE oval_definitions [<!ENTITY xxe "
		"SYSTEM \"file:///etc/passwd\">]><oval_definitions><definitions>"
		"<definition id=\"d\"><metadata><title>&xxe;</title></metadata>"
		"</definition></definitions></oval_definitions>";
	/* UTF-16 could hide its DOCTYPE from a byte-level look: refused */
	static const char utf16[] = "\xff\xfe<\0o\0";

	/* ... or switch to it after an ASCII declaration: read as UTF-8
	 * whatever the declaration says, that is malformed */
	static const char declared[] =
		"<?xml version=\"1.0\" encoding=\"UTF-16LE\"?>"
		"<\0!\0D\0O\0C\0T\0Y\0P\0E\0 \0x\0>\0"
		"<\0o\0v\0a\0l\0_\0d\0/\0>\0";
	struct clr_vuln_set s;

	(void)state;
	clr_vuln_set_init(&s);
	assert_int_equal(clr_oval_parse_mem(declared, sizeof(declared) - 1,
			 &(struct clr_oval_options){ .updater = "t" }, &s, NULL),
			 CLR_EINVALID);
	clr_vuln_set_release(&s);
	expect_invalid(laughs, "DOCTYPE");
	expect_invalid(params, "DOCTYPE");
	expect_invalid(external, "DOCTYPE");
	expect_invalid(utf16, "not UTF-8");
}

static void test_huge_nodes(void **state)
{
	size_t big = (size_t)CLR_OVAL_TEXT_MAX + 4096, huge = 12u << 20;
	char *doc = malloc(huge + 4096);
	int n;

	(void)state;
	/* a text node over the engine's cap */
	n = sprintf(doc, HEAD "<definitions><definition id=\"d\"><metadata>"
		    "<description>");
	memset(doc + n, 'x', big);
	strcpy(doc + n + big, "</description></metadata></definition>"
	       "</definitions></oval_definitions>");
	expect_invalid(doc, "longer than");
	/* one over libxml2's own (10 MB without XML_PARSE_HUGE) */
	memset(doc + n, 'x', huge);
	strcpy(doc + n + huge, "</description></metadata></definition>"
	       "</definitions></oval_definitions>");
	expect_invalid(doc, NULL);
	/* an attribute over the cap */
	n = sprintf(doc, HEAD "<tests><red-def:rpminfo_test id=\"t\" comment=\"");
	memset(doc + n, 'y', big);
	strcpy(doc + n + big, "\"/></tests></oval_definitions>");
	expect_invalid(doc, NULL);
	/* a criteria tree deeper than libxml2 allows */
	n = sprintf(doc, HEAD "<definitions><definition id=\"d\">");
	for (int i = 0; i < 400; i++)
		n += sprintf(doc + n, "<criteria>");
	for (int i = 0; i < 400; i++)
		n += sprintf(doc + n, "</criteria>");
	strcpy(doc + n, "</definition></definitions></oval_definitions>");
	expect_invalid(doc, NULL);
	free(doc);
}

/* Text limits are per element: a long text in an element the engine
 * skips is no reason to refuse (libxml2's 10 MB still applies). */
static void test_long_text_in_ignored_element(void **state)
{
	size_t big = (size_t)CLR_OVAL_TEXT_MAX * 2;
	char *doc = malloc(big + 1024);
	struct clr_vuln_set s;
	int n;

	(void)state;
	n = sprintf(doc, HEAD "<definitions><definition id=\"d\" class=\"patch\">"
		    "<notes><note>");
	memset(doc + n, 'z', big);
	strcpy(doc + n + big, "</note></notes></definition></definitions>"
	       "</oval_definitions>");
	clr_vuln_set_init(&s);
	assert_int_equal(parse_doc(doc, &s, NULL), 0);
	clr_vuln_set_release(&s);
	free(doc);
}

/* --- dates, settings ------------------------------------------------------ */

static void test_dates(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "2019-05-07", "2019-05-07T00:00:00Z" },
		{ "2020-06-16 14:15:00 UTC", "2020-06-16T14:15:00Z" },
		{ "2020-06-16 14:15:00", "2020-06-16T14:15:00Z" },
		{ "2019-05-07T12:30:00Z", "2019-05-07T12:30:00Z" },
		{ "2019-05-07T12:30:00.123Z", "2019-05-07T12:30:00Z" },
		{ " 2019-05-07 ", "2019-05-07T00:00:00Z" },
		{ "2019-13-07", "" },
		{ "2019-5-7", "" },
		{ "20190507", "" },
		{ "2019-05-07 noon", "" },
		{ "-019-05-07", "" },
		{ "", "" },
	};
	char out[21];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		clr_oval_date(out, cases[i].in);
		assert_string_equal(out, cases[i].out);
	}
	clr_oval_date(out, NULL);
	assert_string_equal(out, "");
}

static void expect_names(const struct clr_updater_factory *f,
			 const char *const *kv, const char *const *names,
			 const char *const *urls)
{
	struct clr_vec us;
	size_t n = 0;

	assert_int_equal(make_updaters(f, kv, &us), 0);
	while (names[n])
		n++;
	assert_int_equal(us.len, n);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(updater_at(&us, i)->name, names[i]);
		if (urls && urls[i])
			assert_string_equal(updater_at(&us, i)->url, urls[i]);
	}
	free_updaters(&us);
}

static void test_factories(void **state)
{
	struct clr_vec us;

	(void)state;
	expect_names(&clr_factory_ubuntu, NULL,
		     (const char *const[]){ "ubuntu/focal", "ubuntu/jammy",
					    "ubuntu/noble", "ubuntu/resolute",
					    NULL },
		     (const char *const[]){
			     "https://security-metadata.canonical.com/oval/"
			     "com.ubuntu.focal.cve.oval.xml.bz2", NULL, NULL,
			     NULL });
	expect_names(&clr_factory_ubuntu,
		     (const char *const[]){ "series=jammy, noble",
					    "url=http://mirror/{series}.xml",
					    "ubuntu/noble.url=file:///x.xml",
					    NULL },
		     (const char *const[]){ "ubuntu/jammy", "ubuntu/noble",
					    NULL },
		     (const char *const[]){ "http://mirror/jammy.xml",
					    "file:///x.xml", NULL });
	expect_names(&clr_factory_rhel, NULL,
		     (const char *const[]){ "rhel-7", "rhel-8", "rhel-9",
					    "rhel-10", NULL },
		     (const char *const[]){ NULL,
			     "https://access.redhat.com/security/data/oval/v2/"
			     "RHEL8/rhel-8.oval.xml.bz2", NULL, NULL });
	expect_names(&clr_factory_rhel,
		     (const char *const[]){ "releases=9", "unpatched=true",
					    NULL },
		     (const char *const[]){ "rhel-9", NULL },
		     (const char *const[]){
			     "https://access.redhat.com/security/data/oval/v2/"
			     "RHEL9/rhel-9-including-unpatched.oval.xml.bz2",
			     NULL });
	expect_names(&clr_factory_oracle,
		     (const char *const[]){ "years=2019-2020 all", NULL },
		     (const char *const[]){ "oracle-2019", "oracle-2020",
					    "oracle", NULL },
		     (const char *const[]){
			     "https://linux.oracle.com/security/oval/"
			     "com.oracle.elsa-2019.xml.bz2", NULL,
			     "https://linux.oracle.com/security/oval/"
			     "com.oracle.elsa-all.xml.bz2" });
	assert_int_equal(make_updaters(&clr_factory_oracle, NULL, &us), 0);
	assert_true(us.len >= 20); /* 2007 to this year */
	assert_string_equal(updater_at(&us, 0)->name, "oracle-2007");
	free_updaters(&us);
	expect_names(&clr_factory_suse, NULL,
		     (const char *const[]){ "suse/sles-12", "suse/sles-15",
					    "suse/opensuse-leap-15.6", NULL },
		     (const char *const[]){ NULL,
			     "https://ftp.suse.com/pub/projects/security/oval/"
			     "suse.linux.enterprise.server.15.xml.gz",
			     "https://ftp.suse.com/pub/projects/security/oval/"
			     "opensuse.leap.15.6.xml.gz" });
	expect_names(&clr_factory_photon, NULL,
		     (const char *const[]){ "photon-1.0", "photon-2.0",
					    "photon-3.0", "photon-4.0",
					    "photon-5.0", NULL },
		     (const char *const[]){ NULL, NULL,
			     "https://packages.vmware.com/photon/"
			     "photon_oval_definitions/com.vmware.phsa-photon3.xml.gz",
			     NULL, NULL });

	/* nonsense is refused, naming the setting */
	assert_int_equal(make_updaters(&clr_factory_ubuntu, (const char *const[]){
		"series=jammy ../etc", NULL }, &us), CLR_EINVALID);
	assert_non_null(strstr(clr_error_msg(), "series"));
	free_updaters(&us);
	assert_int_equal(make_updaters(&clr_factory_rhel, (const char *const[]){
		"releases=8.4", NULL }, &us), CLR_EINVALID);
	free_updaters(&us);
	assert_int_equal(make_updaters(&clr_factory_oracle, (const char *const[]){
		"years=1999", NULL }, &us), CLR_EINVALID);
	free_updaters(&us);
	assert_int_equal(make_updaters(&clr_factory_suse, (const char *const[]){
		"releases=sles-15-sp2", NULL }, &us), CLR_EINVALID);
	free_updaters(&us);
	assert_int_equal(make_updaters(&clr_factory_photon, (const char *const[]){
		"releases=three", NULL }, &us), CLR_EINVALID);
	free_updaters(&us);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_streams_in_bounded_memory),
		cmocka_unit_test(test_rhel8_feed),
		cmocka_unit_test(test_photon3_feed),
		cmocka_unit_test(test_updater_fetch_then_parse),
		cmocka_unit_test(test_ubuntu_sample),
		cmocka_unit_test(test_oracle_ksplice_excerpt),
		cmocka_unit_test(test_vunnel_cut_inputs_are_refused),
		cmocka_unit_test(test_suse_excerpt),
		cmocka_unit_test(test_suse_layout),
		cmocka_unit_test(test_criteria_constructs),
		cmocka_unit_test(test_emit_callback),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_truncated_everywhere),
		cmocka_unit_test(test_entities_refused),
		cmocka_unit_test(test_huge_nodes),
		cmocka_unit_test(test_long_text_in_ignored_element),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_factories),
	};

	/* the skipped definitions above are warnings; the tests count them */
	clr_log_set_level(CLR_LOG_ERROR);
	return cmocka_run_group_tests_name("oval", tests, NULL, NULL);
}
