/*
 * test_feeds_debian_alpine_osv.c - the Debian, Alpine, AlmaLinux and Rocky
 * sources and the shared OSV parser, on real upstream documents and on
 * broken ones.
 *
 * The fixtures (tests/fixtures/feeds/, provenance in SOURCES.md there) are
 * upstream files: the Debian tracker JSON sample, Alpine secdb branches
 * (converted from Alpine's YAML to the JSON it publishes), AlmaLinux and
 * Rocky OSV advisories, Go / crates.io / PyPI OSV records.  What a user
 * would notice is asserted: how many records, the exact fields of chosen
 * ones (package, release, fixed version, severity as the vendor wrote it
 * and normalised, links), and a clear CLR_EINVALID (never a shorter list)
 * for a document that does not parse.
 */
#include "unit.h"

#include <stdbool.h>

#include "distro/alpine/alpine.h"
#include "distro/debian/debian.h"
#include "feeds/osv.h"
#include "updater/fetch.h"
#include "util/alloc.h"
#include "util/error.h"

#define FIXTURES "tests/fixtures/feeds/"

extern const struct clr_updater_factory clr_factory_debian;
extern const struct clr_updater_factory clr_factory_alpine;
extern const struct clr_updater_factory clr_factory_alma;
extern const struct clr_updater_factory clr_factory_rocky;

/* --- helpers ------------------------------------------------------------ */

/* Makes the updaters of factory f with settings kv; asserts success. */
static void make(struct clr_vec *out, const struct clr_updater_factory *f,
		 const char *const *kv)
{
	clr_vec_init(out, sizeof(struct clr_updater *));
	assert_int_equal(f->create(out, unit_kv_setting, (void *)kv), 0);
}

static struct clr_updater *nth(struct clr_vec *us, size_t i)
{
	return *CLR_VEC_AT(us, struct clr_updater *, i);
}

static void free_all(struct clr_vec *us)
{
	for (size_t i = 0; i < us->len; i++)
		nth(us, i)->ops->free(nth(us, i));
	clr_vec_release(us);
}

static const char *fixture(const char *name)
{
	static char path[1024];

	snprintf(path, sizeof(path), "%s/" FIXTURES "%s", unit_srcdir(), name);
	return path;
}

/* Parses fixture name with u into s (initialised here); returns the
 * parse's result. */
static int parse_fixture(struct clr_updater *u, const char *name,
			 struct clr_vuln_set *s)
{
	struct clr_fetched f = { .path = (char *)fixture(name) };

	clr_vuln_set_init(s);
	clr_error_clear();
	return u->ops->parse(u, &f, s);
}

static struct clr_vuln *at(struct clr_vuln_set *s, size_t i)
{
	return CLR_VEC_AT(&s->vulns, struct clr_vuln, i);
}

/* The record with this name, package and release/version id (any when
 * NULL), or NULL. */
static struct clr_vuln *find(struct clr_vuln_set *s, const char *name,
			     const char *pkg, const char *code)
{
	for (size_t i = 0; i < s->vulns.len; i++) {
		struct clr_vuln *v = at(s, i);

		if (!strcmp(v->name, name) &&
		    (!pkg || !strcmp(v->package_name, pkg)) &&
		    (!code || !strcmp(v->dist_version_code_name, code) ||
		     !strcmp(v->dist_version_id, code)))
			return v;
	}
	return NULL;
}

static size_t count(struct clr_vuln_set *s, const char *name,
		    const char *pkg)
{
	size_t n = 0;

	for (size_t i = 0; i < s->vulns.len; i++)
		if ((!name || !strcmp(at(s, i)->name, name)) &&
		    (!pkg || !strcmp(at(s, i)->package_name, pkg)))
			n++;
	return n;
}

/* Every string field of every record is set (vuln.h: never NULL). */
static void assert_no_nulls(struct clr_vuln_set *s)
{
	for (size_t i = 0; i < s->vulns.len; i++) {
		struct clr_vuln *v = at(s, i);
		const char *f[] = {
			v->name, v->updater, v->description, v->issued,
			v->links, v->severity, v->package_name,
			v->package_kind, v->package_module, v->arch,
			v->arch_op, v->dist_did, v->dist_name,
			v->dist_version, v->dist_version_id,
			v->dist_version_code_name, v->dist_pretty_name,
			v->dist_cpe, v->repo_name, v->repo_uri,
			v->version_scheme, v->fixed_in_version, v->affected,
		};

		for (size_t k = 0; k < sizeof(f) / sizeof(f[0]); k++)
			assert_non_null(f[k]);
		assert_true(*v->name && *v->package_name);
	}
}

/* --- Debian ------------------------------------------------------------- */

static struct clr_updater *debian(struct clr_vec *us, const char *const *kv)
{
	make(us, &clr_factory_debian, kv);
	assert_int_equal(us->len, 1);
	assert_string_equal(nth(us, 0)->name, "debian");
	return nth(us, 0);
}

static void test_debian_factory(void **state)
{
	const char *const bad[] = { "releases=bookworm", NULL };
	const char *const url[] = { "url=file:///srv/debian.json", NULL };
	struct clr_vec us;

	(void)state;
	debian(&us, NULL);
	assert_string_equal(nth(&us, 0)->url,
			    "https://security-tracker.debian.org/tracker/"
			    "data/json");
	free_all(&us);
	debian(&us, url);
	assert_string_equal(nth(&us, 0)->url, "file:///srv/debian.json");
	free_all(&us);

	clr_vec_init(&us, sizeof(struct clr_updater *));
	assert_int_equal(clr_factory_debian.create(&us, unit_kv_setting,
						   (void *)bad),
			 CLR_EINVALID);
	assert_int_equal(us.len, 0);
	assert_non_null(strstr(clr_error_msg(), "releases"));
	clr_vec_release(&us);
}

static void test_debian_tracker_sample(void **state)
{
	/* A plain file: the releases setting is all parse() has (fetch()
	 * adds the archive's numbers, test_debian_fetched_dir). */
	const char *const kv[] = { "releases=jessie=8 stretch=9,buster=10 "
				   "bullseye=11 trixie=13", NULL };
	struct clr_vec us;
	struct clr_updater *u = debian(&us, kv);
	struct clr_vuln_set s;
	struct clr_vuln *v;

	(void)state;
	assert_int_equal(parse_fixture(u, "debian/tracker-json-sample.json",
				       &s), 0);
	/* prototypejs 4 + 0 (CVE-2007-2383 is "0" everywhere), txt2man 4,
	 * backupninja 4, chromium 5, sope 4, chromium-browser 0 ([]). */
	assert_int_equal(s.vulns.len, 21);
	assert_no_nulls(&s);

	v = find(&s, "CVE-2008-7220", "prototypejs", "stretch");
	assert_non_null(v);
	assert_string_equal(v->updater, "debian");
	assert_string_equal(v->package_kind, "source");
	assert_string_equal(v->dist_did, "debian");
	assert_string_equal(v->dist_name, "Debian GNU/Linux");
	assert_string_equal(v->dist_version_id, "9");
	assert_string_equal(v->dist_version, "9 (stretch)");
	assert_string_equal(v->dist_pretty_name,
			    "Debian GNU/Linux 9 (stretch)");
	assert_string_equal(v->version_scheme, "dpkg");
	assert_string_equal(v->fixed_in_version, "1.6.0.2-1");
	assert_string_equal(v->severity, "high**");
	assert_int_equal(v->normalized_severity, CLR_SEV_HIGH);
	assert_string_equal(v->links, "https://security-tracker.debian.org/"
			    "tracker/CVE-2008-7220");
	assert_true(!strncmp(v->description, "Unspecified vulnerability in "
			     "Prototype JavaScript framework", 58));
	assert_string_equal(v->affected, "");

	/* Never affected anywhere: no record at all. */
	assert_int_equal(count(&s, "CVE-2007-2383", NULL), 0);
	/* releases: [] */
	assert_int_equal(count(&s, NULL, "chromium-browser"), 0);

	v = find(&s, "CVE-2013-1444", "txt2man", "buster");
	assert_string_equal(v->severity, "low**");
	assert_int_equal(v->normalized_severity, CLR_SEV_LOW);
	assert_string_equal(v->dist_version_id, "10");
	v = find(&s, "CVE-2005-3111", "backupninja", "jessie");
	assert_string_equal(v->severity, "medium");
	assert_int_equal(v->normalized_severity, CLR_SEV_MEDIUM);
	assert_string_equal(v->fixed_in_version, "0.8-2");

	/* Open in buster: vulnerable, no fix. */
	v = find(&s, "CVE-2022-0456", "chromium", "buster");
	assert_non_null(v);
	assert_string_equal(v->fixed_in_version, "");
	assert_string_equal(v->severity, "end-of-life");
	assert_int_equal(v->normalized_severity, CLR_SEV_UNKNOWN);
	assert_string_equal(v->description, "");
	v = find(&s, "CVE-2022-0456", "chromium", "bullseye");
	assert_string_equal(v->fixed_in_version, "98.0.4758.80-1~deb11u1");
	assert_string_equal(v->severity, "not yet assigned");
	assert_int_equal(v->normalized_severity, CLR_SEV_UNKNOWN);

	/* sid has no number; trixie does. */
	v = find(&s, "CVE-2025-53603", "sope", "sid");
	assert_string_equal(v->dist_version_id, "");
	assert_string_equal(v->dist_version_code_name, "sid");
	assert_string_equal(v->dist_pretty_name, "");
	assert_string_equal(v->fixed_in_version, "5.12.1-2");
	v = find(&s, "CVE-2025-53603", "sope", "trixie");
	assert_string_equal(v->dist_version_id, "13");
	assert_string_equal(v->fixed_in_version, "5.12.1-2");

	clr_vuln_set_release(&s);
	free_all(&us);
}

/* Parses an inline document with the default Debian updater. */
static int debian_doc(struct clr_vuln_set *s, const char *doc,
		      const char *const *kv)
{
	struct clr_vec us;
	int err;

	debian(&us, kv);
	clr_vuln_set_init(s);
	clr_error_clear();
	err = clr_debian_parse_buf(nth(&us, 0), doc, strlen(doc), "doc", s);
	free_all(&us);
	return err;
}

static void test_debian_statuses(void **state)
{
	const char *doc =
		"{\"pkg\\u0061\": {\"CVE-2024-0001\": {\"releases\": {"
		"\"bookworm\": {\"status\": \"open\", \"urgency\": "
		"\"unimportant\", \"nodsa\": \"Minor issue\"},"
		"\"trixie\": {\"status\": \"undetermined\"},"
		"\"forky\": {\"status\": \"resolved\", \"fixed_version\": "
		"\"0\", \"urgency\": \"low\"},"
		"\"duke\": {\"status\": \"resolved\", \"fixed_version\": "
		"\"1:2.0-1\", \"urgency\": \"high\"},"
		"\"futura\": {\"status\": \"open\", \"fixed_version\": "
		"\"9\", \"urgency\": \"medium**\"}}},"
		"\"TEMP-0000000-ABCDEF\": {\"description\": null, "
		"\"releases\": {\"bookworm\": {\"status\": \"resolved\", "
		"\"fixed_version\": \"1.0-2\"}}}}}\n";
	const char *const kv[] = { "releases=futura=99, bookworm=42 duke=15",
				   NULL };
	struct clr_vuln_set s;
	struct clr_vuln *v;

	(void)state;
	assert_int_equal(debian_doc(&s, doc, kv), 0);
	assert_int_equal(s.vulns.len, 5);
	assert_no_nulls(&s);
	v = find(&s, "CVE-2024-0001", "pkga", "bookworm");
	assert_non_null(v);  /* the key's escape was decoded */
	assert_string_equal(v->fixed_in_version, "");
	assert_string_equal(v->severity, "unimportant");
	assert_int_equal(v->normalized_severity, CLR_SEV_NEGLIGIBLE);
	assert_string_equal(v->dist_version_id, "42");  /* the setting wins */
	v = find(&s, "CVE-2024-0001", "pkga", "trixie");
	assert_string_equal(v->fixed_in_version, "");
	assert_string_equal(v->severity, "");
	assert_int_equal(v->normalized_severity, CLR_SEV_UNKNOWN);
	assert_null(find(&s, "CVE-2024-0001", "pkga", "forky"));
	v = find(&s, "CVE-2024-0001", "pkga", "duke");
	assert_string_equal(v->fixed_in_version, "1:2.0-1");
	assert_string_equal(v->dist_version_id, "15");
	v = find(&s, "TEMP-0000000-ABCDEF", "pkga", "bookworm");
	assert_string_equal(v->dist_version_id, "42");
	v = find(&s, "CVE-2024-0001", "pkga", "futura");
	assert_string_equal(v->fixed_in_version, "");  /* open wins */
	assert_string_equal(v->dist_version_id, "99");
	assert_int_equal(v->normalized_severity, CLR_SEV_MEDIUM);
	v = find(&s, "TEMP-0000000-ABCDEF", "pkga", "bookworm");
	assert_string_equal(v->links, "https://security-tracker.debian.org/"
			    "tracker/TEMP-0000000-ABCDEF");
	clr_vuln_set_release(&s);
}

/* No table built in: a codename the setting does not name has no number. */
static void test_debian_no_builtin_numbers(void **state)
{
	const char *doc = "{\"p\": {\"CVE-1\": {\"releases\": {"
			  "\"bookworm\": {\"status\": \"open\"}}}}}";
	struct clr_vuln_set s;

	(void)state;
	assert_int_equal(debian_doc(&s, doc, NULL), 0);
	assert_int_equal(s.vulns.len, 1);
	assert_string_equal(at(&s, 0)->dist_version_code_name, "bookworm");
	assert_string_equal(at(&s, 0)->dist_version_id, "");
	assert_string_equal(at(&s, 0)->dist_version, "");
	clr_vuln_set_release(&s);
}

/* deb.debian.org's dists/ as Apache lists it (the names and layout of the
 * real page, trimmed of dates and sizes), with the nginx form of the test
 * feed server mixed in. */
static const char dists_listing[] =
	"<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 3.2 Final//EN\">\n"
	"<html>\n <head>\n  <title>Index of /debian/dists</title>\n </head>\n"
	" <body>\n<h1>Index of /debian/dists</h1>\n  <table>\n"
	"   <tr><th><a href=\"?C=N;O=D\">Name</a></th>"
	"<th><a href=\"?C=M;O=A\">Last modified</a></th></tr>\n"
	"<tr><td><a href=\"/debian/\">Parent Directory</a></td></tr>\n"
	"<tr><td><a href=\"Debian11.11/\">Debian11.11/</a></td></tr>\n"
	"<tr><td><a href=\"bookworm/\">bookworm/</a></td></tr>\n"
	"<tr><td><a href=\"bookworm-backports/\">bookworm-backports/</a>"
	"</td></tr>\n"
	"<tr><td><a href=\"bookworm-backports-sloppy/\">"
	"bookworm-backports-sloppy/</a></td></tr>\n"
	"<tr><td><a href=\"bookworm-proposed-updates/\">"
	"bookworm-proposed-updates/</a></td></tr>\n"
	"<tr><td><a href=\"bookworm-updates/\">bookworm-updates/</a>"
	"</td></tr>\n"
	"<tr><td><a href=\"bullseye/\">bullseye/</a></td></tr>\n"
	"<tr><td><a href=\"experimental/\">experimental/</a></td></tr>\n"
	"<tr><td><a href=\"forky/\">forky/</a></td></tr>\n"
	"<tr><td><a href=\"oldoldstable/\">oldoldstable/</a></td></tr>\n"
	"<tr><td><a href=\"oldstable/\">oldstable/</a></td></tr>\n"
	"<tr><td><a href=\"rc-buggy/\">rc-buggy/</a></td></tr>\n"
	"<tr><td><a href=\"sid/\">sid/</a></td></tr>\n"
	"<tr><td><a href=\"stable/\">stable/</a></td></tr>\n"
	"<tr><td><a href=\"stable-backports/\">stable-backports/</a>"
	"</td></tr>\n"
	"<tr><td><a href=\"stable-proposed-updates/\">"
	"stable-proposed-updates/</a></td></tr>\n"
	"<tr><td><a href=\"stable-updates/\">stable-updates/</a></td></tr>\n"
	"<tr><td><a href=\"testing/\">testing/</a></td></tr>\n"
	"<tr><td><a href=\"trixie/\">trixie/</a></td></tr>\n"
	"<tr><td><a href=\"trixie-backports/\">trixie-backports/</a>"
	"</td></tr>\n"
	"<tr><td><a href=\"unstable/\">unstable/</a></td></tr>\n"
	"<tr><td><a href=\"README\">README</a></td></tr>\n"
	"</table>\n<pre><a href=\"../\">../</a>\n<a href=bullseye/>x</a>\n"
	"<a href='trixie/'>trixie/</a>\n<a href=\"../etc/\">x</a>\n"
	"<a href=\"sid/Release\">x</a>\n</pre></body></html>\n";

static void test_debian_dists_listing(void **state)
{
	const char *const want[] = { "bookworm", "bullseye", "forky", "sid",
				     "trixie" };
	struct clr_vec codes;

	(void)state;
	clr_vec_init(&codes, sizeof(char *));
	clr_debian_codenames_from_listing(&codes, dists_listing,
					  strlen(dists_listing));
	assert_int_equal(codes.len, 5);
	for (size_t i = 0; i < codes.len; i++)
		assert_string_equal(*CLR_VEC_AT(&codes, char *, i), want[i]);
	/* Nothing to list: nothing, and no failure. */
	clr_debian_codenames_from_listing(&codes, "<html></html>", 13);
	clr_debian_codenames_from_listing(&codes, "href=\"", 6);
	assert_int_equal(codes.len, 5);
	for (size_t i = 0; i < codes.len; i++)
		free(*CLR_VEC_AT(&codes, char *, i));
	clr_vec_release(&codes);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *data = clr_malloc(1 << 16);

	if (!f)
		fail_msg("%s: cannot open", path);
	*len = fread(data, 1, (1 << 16) - 1, f);
	data[*len] = '\0';
	fclose(f);
	return data;
}

static void expect_release(const char *data, size_t len, const char *code,
			   const char *num)
{
	char *c, *n;

	clr_debian_release_fields(data, len, &c, &n);
	if (code)
		assert_string_equal(c, code);
	else
		assert_null(c);
	assert_string_equal(n, num);
	free(c);
	free(n);
}

static void test_debian_release_files(void **state)
{
	/* The head of the real InRelease files (SOURCES.md). */
	static const struct {
		const char *file, *code, *num;
	} real[] = {
		{ "debian/release/bookworm-InRelease-head", "bookworm", "12" },
		{ "debian/release/bullseye-InRelease-head", "bullseye", "11" },
		{ "debian/release/trixie-InRelease-head", "trixie", "13" },
		{ "debian/release/sid-InRelease-head", "sid", "" },
	};
	const char *release;

	(void)state;
	for (size_t i = 0; i < sizeof(real) / sizeof(real[0]); i++) {
		size_t len;
		char *data = slurp(fixture(real[i].file), &len);
		/* The same without the armour: the Release file. */
		char *fields = strstr(data, "\n\nOrigin: ");

		assert_non_null(fields);
		expect_release(data, len, real[i].code, real[i].num);
		expect_release(fields + 2, len - (size_t)(fields + 2 - data),
			       real[i].code, real[i].num);
		free(data);
	}
	/* Only the first paragraph counts, a field name must match whole,
	 * a checksum line is no field. */
	release = "Origin: Debian\nSuite: stable\nVersion: 12\n"
		  "Codename:   bookworm \r\nMD5Sum:\n Version: 99\n";
	expect_release(release, strlen(release), "bookworm", "12");
	release = "Origin: Debian\nVersions: 1.0\nCodename: x\n\nVersion: 9\n";
	expect_release(release, strlen(release), "x", "");
	/* Not a number, not a name, nothing at all. */
	release = "Version: twelve\nCodename: Book Worm\n";
	expect_release(release, strlen(release), NULL, "");
	expect_release("", 0, NULL, "");
	release = "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n";
	expect_release(release, strlen(release), NULL, "");
}

/* What fetch() hands parse(): a directory with the tracker JSON and the
 * release numbers it found. */
static void test_debian_fetched_dir(void **state)
{
	const char *const kv[] = { "releases=stretch=99", NULL };
	struct clr_vec us;
	struct clr_updater *u = debian(&us, kv);
	struct clr_fetched f = { .path = NULL };
	struct clr_vuln_set s;
	char *dir, cmd[4096], path[4200];
	FILE *rf;

	(void)state;
	assert_int_equal(clr_fetch_tempdir(&dir), 0);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s/tracker.json'",
		 fixture("debian/tracker-json-sample.json"), dir);
	assert_int_equal(system(cmd), 0);
	snprintf(path, sizeof(path), "%s/releases.json", dir);
	rf = fopen(path, "w");
	assert_non_null(rf);
	fputs("{\"buster\": \"10\", \"sid\": \"\", \"trixie\": \"13\"}\n", rf);
	fclose(rf);
	f.path = dir;
	clr_vuln_set_init(&s);
	assert_int_equal(u->ops->parse(u, &f, &s), 0);
	assert_int_equal(s.vulns.len, 21);
	assert_string_equal(find(&s, "CVE-2013-1444", "txt2man",
				 "buster")->dist_version_id, "10");
	assert_string_equal(find(&s, "CVE-2025-53603", "sope",
				 "trixie")->dist_pretty_name,
			    "Debian GNU/Linux 13 (trixie)");
	assert_string_equal(find(&s, "CVE-2025-53603", "sope",
				 "sid")->dist_version_id, "");
	/* releases.json is the whole map (fetch() merged the setting). */
	assert_string_equal(find(&s, "CVE-2008-7220", "prototypejs",
				 "stretch")->dist_version_id, "");
	clr_vuln_set_release(&s);

	/* A damaged releases.json fails the parse, naming it. */
	rf = fopen(path, "w");
	fputs("{\"buster\": 10}", rf);
	fclose(rf);
	clr_vuln_set_init(&s);
	clr_error_clear();
	assert_int_equal(u->ops->parse(u, &f, &s), CLR_EINVALID);
	assert_non_null(strstr(clr_error_msg(), "releases.json"));
	assert_int_equal(s.vulns.len, 0);
	clr_vuln_set_release(&s);
	clr_fetch_remove(dir);
	free(dir);
	free_all(&us);
}

static void expect_invalid_debian(const char *doc, int code,
				  const char *in_msg)
{
	struct clr_vuln_set s;
	int err = debian_doc(&s, doc, NULL);

	if (err != code)
		fail_msg("'%.60s': got %d (%s), want %d", doc, err,
			 clr_error_msg(), code);
	assert_int_equal(s.vulns.len, 0);
	if (!strstr(clr_error_msg(), in_msg))
		fail_msg("'%.60s': message '%s' lacks '%s'", doc,
			 clr_error_msg(), in_msg);
	clr_vuln_set_release(&s);
}

static void test_debian_malformed(void **state)
{
	/* A good package first, so that a failure must also drop what was
	 * already made. */
#define GOOD "{\"a\": {\"CVE-1\": {\"releases\": {\"bookworm\": " \
	     "{\"status\": \"open\"}}}}, "
	char *huge, *doc;
	size_t n = 2 << 20;

	(void)state;
	expect_invalid_debian("", CLR_EINVALID, "not a JSON object");
	expect_invalid_debian("[]", CLR_EINVALID, "not a JSON object");
	expect_invalid_debian("{}", CLR_EINVALID, "no packages");
	expect_invalid_debian(GOOD "\"b\": 1}", CLR_EINVALID,
			      "package 'b' (byte");
	expect_invalid_debian(GOOD "\"b\": {\"CVE-2\": []}}", CLR_EINVALID,
			      "CVE-2 is not an object");
	expect_invalid_debian(GOOD "\"b\": {\"CVE-2\": {\"releases\": "
			      "\"x\"}}}", CLR_EINVALID,
			      "releases is not an object");
	expect_invalid_debian(GOOD "\"b\": {\"CVE-2\": {\"releases\": "
			      "[1]}}}", CLR_EINVALID,
			      "releases is not an object");
	expect_invalid_debian(GOOD "\"b\": {\"CVE-2\": {\"releases\": "
			      "{\"sid\": {\"status\": 3}}}}}", CLR_EINVALID,
			      "status is not a string");
	expect_invalid_debian(GOOD "\"b\": {\"CVE-2\": {\"releases\": "
			      "{\"sid\": {\"status\": \"resolved\", "
			      "\"fixed_version\": 1}}}}}", CLR_EINVALID,
			      "fixed_version is not a string");
	expect_invalid_debian(GOOD "\"b\": {\"CVE-2\": {\"releases\": "
			      "{\"sid\": {}}}}}", CLR_EINVALID, "no status");
	expect_invalid_debian(GOOD "\"b\": {\"CVE-2\": {\"description\": "
			      "[], \"releases\": {}}}}", CLR_EINVALID,
			      "description is not a string");
	/* Truncated anywhere. */
	expect_invalid_debian(GOOD, CLR_EINVALID, "truncated");
	expect_invalid_debian(GOOD "\"b\": {\"CVE-2\": {\"rel",
			      CLR_EINVALID, "truncated");
	expect_invalid_debian("{\"a\": {\"CVE-1\": {}}", CLR_EINVALID,
			      "truncated");
	expect_invalid_debian(GOOD "\"b\": {\"x\": \"\\\"}}}", CLR_EINVALID,
			      "truncated");
	/* Not JSON inside a package (the scanner only counts brackets). */
	expect_invalid_debian(GOOD "\"b\": {\"x\": ]}", CLR_EINVALID,
			      "package 'b'");
	expect_invalid_debian(GOOD "\"b\": {\"x\" 1}}", CLR_EINVALID,
			      "package 'b'");
	expect_invalid_debian("{\"a\" {}}", CLR_EINVALID, "expected ':'");
	expect_invalid_debian("{a: {}}", CLR_EINVALID, "package name");
	expect_invalid_debian(GOOD "\"b\": {}} x", CLR_EINVALID,
			      "data after");
	expect_invalid_debian("{\"a\": {} \"b\": {}}", CLR_EINVALID,
			      "expected ','");
	expect_invalid_debian("{\"\\ud800x\": {}}", CLR_EINVALID,
			      "bad package name");

	/* Huge strings: a package name, a version. */
	huge = clr_malloc(n + 200);
	memset(huge, 'x', n);
	huge[n] = '\0';
	doc = clr_malloc(2 * n + 200);
	snprintf(doc, 2 * n + 200, "{\"%s\": {}}", huge);
	expect_invalid_debian(doc, CLR_EINVALID, "too long");
	snprintf(doc, 2 * n + 200, GOOD "\"b\": {\"CVE-2\": {\"releases\": "
		 "{\"sid\": {\"status\": \"resolved\", \"fixed_version\": "
		 "\"%s\"}}}}}", huge);
	expect_invalid_debian(doc, CLR_EINVALID, "fixed_version is too long");
	free(doc);
	free(huge);
#undef GOOD
}

/* --- Alpine ------------------------------------------------------------- */

static void test_alpine_factory(void **state)
{
	const char *const kv[] = { "branches=3.11, v3.3 v3.11", NULL };
	const char *const kv2[] = { "branches=v3.19", "repos=main",
				    "url=https://mirror.example/secdb", NULL };
	const char *const bad[] = { "branches=edge", NULL };
	const char *const badrepo[] = { "branches=v3.3", "repos=ma/in",
					NULL };
	struct clr_vec us;

	(void)state;
	make(&us, &clr_factory_alpine, kv);
	assert_int_equal(us.len, 4);
	assert_string_equal(nth(&us, 0)->name, "alpine-main-v3.3-updater");
	assert_string_equal(nth(&us, 0)->url,
			    "https://secdb.alpinelinux.org/v3.3/main.json");
	assert_string_equal(nth(&us, 1)->name,
			    "alpine-community-v3.3-updater");
	assert_string_equal(nth(&us, 3)->name,
			    "alpine-community-v3.11-updater");
	assert_string_equal(nth(&us, 3)->url, "https://secdb.alpinelinux.org/"
			    "v3.11/community.json");
	free_all(&us);

	make(&us, &clr_factory_alpine, kv2);
	assert_int_equal(us.len, 1);
	assert_string_equal(nth(&us, 0)->name, "alpine-main-v3.19-updater");
	assert_string_equal(nth(&us, 0)->url,
			    "https://mirror.example/secdb/v3.19/main.json");
	free_all(&us);

	clr_vec_init(&us, sizeof(struct clr_updater *));
	assert_int_equal(clr_factory_alpine.create(&us, unit_kv_setting,
						   (void *)bad),
			 CLR_EINVALID);
	assert_non_null(strstr(clr_error_msg(), "'edge'"));
	assert_int_equal(clr_factory_alpine.create(&us, unit_kv_setting,
						   (void *)badrepo),
			 CLR_EINVALID);
	assert_int_equal(us.len, 0);
	clr_vec_release(&us);
}

static void test_alpine_index(void **state)
{
	/* The shape of secdb.alpinelinux.org's listing (nginx autoindex). */
	const char *html =
		"<html>\r\n<head><title>Index of /</title></head>\r\n<body>\r\n"
		"<h1>Index of /</h1><hr><pre><a href=\"../\">../</a>\r\n"
		"<a href=\"edge/\">edge/</a>       02-Mar-2024 10:00   -\r\n"
		"<a href=\"v3.10/\">v3.10/</a>     02-Mar-2024 10:00   -\r\n"
		"<a href=\"v3.2/\">v3.2/</a>       02-Mar-2024 10:00   -\r\n"
		"<a href=\"v3.3/\">v3.3/</a>       02-Mar-2024 10:00   -\r\n"
		"<a href=\"v3.9/\">v3.9/</a>       02-Mar-2024 10:00   -\r\n"
		"<a href='v3.9/'>again</a> <a href=v4.0/>v4.0</a>\r\n"
		"<a href=\"v3.19/main.json\">x</a> <a href=\"v3.1a/\">y</a>\r\n"
		"<a href=\"v3.20.1/\">y</a> <a href=\"/v3.21/\">abs</a>\r\n"
		"<a href=\"index.html\">index.html</a>\r\n</pre><hr></body>";
	const char *want[] = { "v3.3", "v3.9", "v3.10", "v3.19", "v4.0" };
	struct clr_vec out = CLR_VEC_INIT(char *);

	(void)state;
	clr_alpine_branches_from_index(&out, html, strlen(html));
	assert_int_equal(out.len, 5);
	for (size_t i = 0; i < out.len; i++) {
		assert_string_equal(*CLR_VEC_AT(&out, char *, i), want[i]);
		free(*CLR_VEC_AT(&out, char *, i));
	}
	clr_vec_release(&out);
	/* Cut anywhere: never past the end. */
	for (size_t n = 0; n < strlen(html); n++) {
		char *cut = clr_strndup(html, n);

		clr_alpine_branches_from_index(&out, cut, n);
		for (size_t i = 0; i < out.len; i++)
			free(*CLR_VEC_AT(&out, char *, i));
		clr_vec_truncate(&out, 0);
		free(cut);
	}
	clr_vec_release(&out);
}

static void test_alpine_secdb(void **state)
{
	const char *const kv[] = { "branches=v3.3 v3.11", "repos=main", NULL };
	struct clr_vec us;
	struct clr_vuln_set s;
	struct clr_vuln *v;

	(void)state;
	make(&us, &clr_factory_alpine, kv);
	assert_int_equal(parse_fixture(nth(&us, 0), "alpine/v3.3/main.json",
				       &s), 0);
	/* Independent count: unique (package, fixed version, id). */
	assert_int_equal(s.vulns.len, 461);
	assert_no_nulls(&s);
	v = find(&s, "CVE-2017-3167", "apache2", NULL);
	assert_non_null(v);
	assert_string_equal(v->updater, "alpine-main-v3.3-updater");
	assert_string_equal(v->fixed_in_version, "2.4.26-r0");
	assert_string_equal(v->dist_did, "alpine");
	assert_string_equal(v->dist_name, "Alpine Linux");
	assert_string_equal(v->dist_version_id, "3.3");
	assert_string_equal(v->dist_pretty_name, "Alpine Linux v3.3");
	assert_string_equal(v->package_kind, "source");
	assert_string_equal(v->version_scheme, "apk");
	assert_string_equal(v->severity, "");
	assert_int_equal(v->normalized_severity, CLR_SEV_UNKNOWN);
	assert_string_equal(v->links, "https://security.alpinelinux.org/"
			    "vuln/CVE-2017-3167");
	clr_vuln_set_release(&s);

	/* "packages": null */
	assert_int_equal(parse_fixture(nth(&us, 0),
				       "alpine/v3.3/community.json", &s), 0);
	assert_int_equal(s.vulns.len, 0);
	clr_vuln_set_release(&s);

	assert_int_equal(parse_fixture(nth(&us, 1), "alpine/v3.11/main.json",
				       &s), 0);
	assert_int_equal(s.vulns.len, 1200);
	assert_no_nulls(&s);
	/* "CVE-2018-14882 (RPL)" */
	v = find(&s, "CVE-2018-14882", "tcpdump", NULL);
	assert_non_null(v);
	assert_string_equal(v->fixed_in_version, "4.9.3-r0");
	assert_string_equal(v->dist_version_id, "3.11");
	/* "CVE-2017-8904 XSA-214": the CVE; "XSA-207": the XSA. */
	v = find(&s, "CVE-2017-8904", "xen", NULL);
	assert_non_null(v);
	assert_string_equal(v->fixed_in_version, "4.8.1-r2");
	assert_int_equal(count(&s, "XSA-214", NULL), 0);
	v = find(&s, "XSA-207", "xen", NULL);
	assert_non_null(v);
	assert_string_equal(v->links, "");
	for (size_t i = 0; i < s.vulns.len; i++)
		assert_null(strpbrk(at(&s, i)->name, " ()"));
	clr_vuln_set_release(&s);

	/* Wolfi publishes the same JSON schema. */
	assert_int_equal(parse_fixture(nth(&us, 1),
				       "alpine/wolfi-secdb-json-sample.json",
				       &s), 0);
	assert_int_equal(s.vulns.len, 53);
	clr_vuln_set_release(&s);
	free_all(&us);
}

static int alpine_doc(struct clr_vuln_set *s, const char *doc)
{
	const char *const kv[] = { "branches=v3.19", "repos=main", NULL };
	struct clr_vec us;
	int err;

	make(&us, &clr_factory_alpine, kv);
	clr_vuln_set_init(s);
	clr_error_clear();
	err = clr_alpine_parse_buf(nth(&us, 0), doc, strlen(doc), "doc", s);
	free_all(&us);
	return err;
}

static void test_alpine_zero_and_ids(void **state)
{
	const char *doc =
		"{\"distroversion\": \"v3.19\", \"reponame\": \"main\", "
		"\"packages\": [{\"pkg\": {\"name\": \"openssl\", "
		"\"secfixes\": {\"0\": [\"CVE-2022-0001\"], "
		"\"3.1.4-r1\": [\"CVE-2023-5678\", \" CVE-2023-5679 \", "
		"\"CVE-2023-5678\", \"CVE-2023-1 CVE-2023-2 (both)\", "
		"\"GHSA-abcd-efgh-ijkl\", \"\", \"(comment only)\"], "
		"\"3.1.5-r0\": null}}}, {\"pkg\": {\"name\": \"zlib\"}}]}";
	struct clr_vuln_set s;

	(void)state;
	assert_int_equal(alpine_doc(&s, doc), 0);
	assert_int_equal(s.vulns.len, 5);
	assert_int_equal(count(&s, "CVE-2022-0001", NULL), 0);
	assert_non_null(find(&s, "CVE-2023-5678", "openssl", NULL));
	assert_int_equal(count(&s, "CVE-2023-5678", NULL), 1);
	assert_non_null(find(&s, "CVE-2023-5679", "openssl", NULL));
	assert_non_null(find(&s, "CVE-2023-1", "openssl", NULL));
	assert_non_null(find(&s, "CVE-2023-2", "openssl", NULL));
	assert_non_null(find(&s, "GHSA-abcd-efgh-ijkl", "openssl", NULL));
	assert_string_equal(at(&s, 0)->dist_version_id, "3.19");
	clr_vuln_set_release(&s);
}

static void test_alpine_malformed(void **state)
{
	static const struct {
		const char *doc, *msg;
	} cases[] = {
		{ "", "line 1" },
		{ "[]", "JSON object" },
		{ "{}", "no packages" },
		{ "{\"packages\": {}}", "not a list" },
		{ "{\"packages\": [1]}", "packages[0] has no pkg" },
		{ "{\"packages\": [{\"pkg\": {}}]}", "pkg.name" },
		{ "{\"packages\": [{\"pkg\": {\"name\": 5}}]}", "pkg.name" },
		{ "{\"packages\": [{\"pkg\": {\"name\": \"a\", \"secfixes\": "
		  "[]}}]}", "secfixes is not an object" },
		{ "{\"packages\": [{\"pkg\": {\"name\": \"a\", \"secfixes\": "
		  "{\"1-r0\": \"CVE-1\"}}}]}", "is not a list" },
		{ "{\"packages\": [{\"pkg\": {\"name\": \"a\", \"secfixes\": "
		  "{\"1-r0\": [7]}}}]}", "not an id" },
		{ "{\"packages\": [{\"pkg\": {\"name\": \"a\", \"secfixes\": "
		  "{\"\": [\"CVE-1\"]}}}]}", "empty or too long" },
		{ "{\"packages\": [{\"pkg\": {\"name\": \"a\", \"secfixes\": "
		  "{\"1-r0\": [\"CVE-1\"]}}}, 3]}", "packages[1]" },
		{ "{\"packages\": [{\"pkg\": {\"name\": \"a\", \"secfixes\": "
		  "{\"1-r0\": [\"CVE-1\"", "line 1" },
	};
	struct clr_vuln_set s;
	size_t n = 2 << 20, k;
	char *doc;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int err = alpine_doc(&s, cases[i].doc);

		if (err != CLR_EINVALID || !strstr(clr_error_msg(),
						   cases[i].msg))
			fail_msg("'%s': %d '%s'", cases[i].doc, err,
				 clr_error_msg());
		assert_int_equal(s.vulns.len, 0);
		clr_vuln_set_release(&s);
	}
	doc = clr_malloc(n + 100);
	strcpy(doc, "{\"packages\": [{\"pkg\": {\"name\": \"");
	k = strlen(doc);
	memset(doc + k, 'a', n);
	strcpy(doc + k + n, "\"}}]}");
	assert_int_equal(alpine_doc(&s, doc), CLR_EINVALID);
	assert_non_null(strstr(clr_error_msg(), "pkg.name"));
	clr_vuln_set_release(&s);
	free(doc);
}

/* --- CVSS --------------------------------------------------------------- */

static void test_cvss(void **state)
{
	/* Scores as NVD computed them (tests/fixtures/feeds/SOURCES.md). */
	static const struct {
		const char *vector;
		int score10, version;
		enum clr_severity sev;
	} ok[] = {
		{ "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 98, 3,
		  CLR_SEV_CRITICAL },
		{ "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 98, 3,
		  CLR_SEV_CRITICAL },
		{ "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 61, 3,
		  CLR_SEV_MEDIUM },
		{ "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 78, 3,
		  CLR_SEV_HIGH },
		{ "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:H/I:H/A:H", 96, 3,
		  CLR_SEV_CRITICAL },
		{ "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", 99, 3,
		  CLR_SEV_CRITICAL },
		{ "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 100, 3,
		  CLR_SEV_CRITICAL },
		{ "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N", 59, 3,
		  CLR_SEV_MEDIUM },
		{ "CVSS:3.1/AV:L/AC:H/PR:L/UI:R/S:U/C:L/I:N/A:N", 22, 3,
		  CLR_SEV_LOW },
		{ "CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:N/I:N/A:N", 0, 3,
		  CLR_SEV_NEGLIGIBLE },
		/* Temporal metrics do not change the base score. */
		{ "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H/E:P/RL:O",
		  75, 3, CLR_SEV_HIGH },
		{ "AV:N/AC:L/Au:N/C:P/I:P/A:P", 75, 2, CLR_SEV_HIGH },
		{ "(AV:N/AC:M/Au:N/C:N/I:P/A:N)", 43, 2, CLR_SEV_MEDIUM },
		{ "AV:L/AC:L/Au:N/C:C/I:C/A:C", 72, 2, CLR_SEV_HIGH },
		{ "AV:N/AC:L/Au:N/C:C/I:C/A:C", 100, 2, CLR_SEV_HIGH },
		{ "AV:L/AC:H/Au:M/C:N/I:N/A:P", 8, 2, CLR_SEV_LOW },
	};
	static const char *const bad[] = {
		"",
		("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/"
		 "SI:N/SA:N"),
		"CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H",
		"CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/",
		"CVSS:3.1/AV:NN/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
		"CVSS:3.1", "AV:N/AC:L/Au:N/C:P/I:P", "7.5", "(",
	};
	int sc, ver;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (clr_cvss_score(&sc, &ver, ok[i].vector))
			fail_msg("%s: %s", ok[i].vector, clr_error_msg());
		if (sc != ok[i].score10 || ver != ok[i].version)
			fail_msg("%s: %d v%d, want %d", ok[i].vector, sc, ver,
				 ok[i].score10);
		assert_int_equal(clr_cvss_severity(sc, ver), ok[i].sev);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		clr_error_clear();
		if (clr_cvss_score(&sc, &ver, bad[i]) != CLR_EINVALID)
			fail_msg("'%s' was scored %d", bad[i], sc);
		assert_true(*clr_error_msg());
	}
	assert_int_equal(clr_cvss_severity(39, 3), CLR_SEV_LOW);
	assert_int_equal(clr_cvss_severity(40, 3), CLR_SEV_MEDIUM);
	assert_int_equal(clr_cvss_severity(69, 3), CLR_SEV_MEDIUM);
	assert_int_equal(clr_cvss_severity(70, 3), CLR_SEV_HIGH);
	assert_int_equal(clr_cvss_severity(89, 3), CLR_SEV_HIGH);
	assert_int_equal(clr_cvss_severity(90, 3), CLR_SEV_CRITICAL);
	assert_int_equal(clr_cvss_severity(0, 2), CLR_SEV_LOW);
	assert_int_equal(clr_osv_severity_word("IMPORTANT"), CLR_SEV_HIGH);
	assert_int_equal(clr_osv_severity_word("moderate"), CLR_SEV_MEDIUM);
	assert_int_equal(clr_osv_severity_word("None"), CLR_SEV_UNKNOWN);
	assert_int_equal(clr_osv_severity_word("urgent"), CLR_SEV_UNKNOWN);
}

/* --- OSV: language ecosystems ------------------------------------------- */

static int osv_file(struct clr_vuln_set *s, const char *name)
{
	struct clr_osv_opts o = { .updater = "osv" };

	clr_vuln_set_init(s);
	clr_error_clear();
	return clr_osv_parse_path(fixture(name), &o, s);
}

static void test_osv_ecosystems(void **state)
{
	struct clr_vuln_set s;
	struct clr_vuln *v;

	(void)state;
	/* Withdrawn: nothing. */
	assert_int_equal(osv_file(&s, "osv/GO-2022-0617.json"), 0);
	assert_int_equal(s.vulns.len, 0);
	clr_vuln_set_release(&s);

	assert_int_equal(osv_file(&s, "osv/RUSTSEC-2018-0010.json"), 0);
	assert_int_equal(s.vulns.len, 1);
	assert_no_nulls(&s);
	v = at(&s, 0);
	assert_string_equal(v->name, "RUSTSEC-2018-0010");
	assert_string_equal(v->updater, "osv");
	assert_string_equal(v->package_name, "openssl");
	assert_string_equal(v->repo_name, "crates.io");
	assert_string_equal(v->version_scheme, "semver");
	assert_string_equal(v->fixed_in_version, "0.10.9");
	assert_string_equal(v->severity,
			    "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H");
	assert_int_equal(v->normalized_severity, CLR_SEV_CRITICAL);
	assert_string_equal(v->issued, "2018-06-01T12:00:00Z");
	assert_string_equal(v->description, "Affected versions of the OpenSSL "
			    "crate used structures after they'd been freed.");
	assert_string_equal(v->links, "https://crates.io/crates/openssl "
			    "https://rustsec.org/advisories/RUSTSEC-2018-0010"
			    ".html https://github.com/sfackler/rust-openssl/"
			    "pull/942");
	assert_string_equal(v->affected,
			    "{\"ranges\":[{\"type\":\"SEMVER\",\"events\":["
			    "{\"introduced\":\"0.10.8\"},{\"fixed\":"
			    "\"0.10.9\"}]}],\"versions\":[]}");
	assert_string_equal(v->dist_did, "");
	clr_vuln_set_release(&s);

	/* Only a CVSS v4 vector: kept, not scored. */
	assert_int_equal(osv_file(&s, "osv/RUSTSEC-2026-0024.json"), 0);
	assert_int_equal(s.vulns.len, 1);
	assert_true(!strncmp(at(&s, 0)->severity, "CVSS:4.0/", 9));
	assert_int_equal(at(&s, 0)->normalized_severity, CLR_SEV_UNKNOWN);
	clr_vuln_set_release(&s);

	/* GIT range dropped, ECOSYSTEM range kept with the versions. */
	assert_int_equal(osv_file(&s, "osv/PYSEC-2022-42980.json"), 0);
	assert_int_equal(s.vulns.len, 1);
	v = at(&s, 0);
	assert_string_equal(v->version_scheme, "pep440");
	assert_string_equal(v->fixed_in_version, "9.3.0");
	assert_string_equal(v->affected,
			    "{\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":["
			    "{\"introduced\":\"9.2.0\"},{\"fixed\":\"9.3.0\"}"
			    "]}],\"versions\":[\"9.2.0\"]}");
	assert_string_equal(v->severity, "");
	assert_int_equal(v->normalized_severity, CLR_SEV_UNKNOWN);
	clr_vuln_set_release(&s);

	/* Several introduced/fixed pairs in one range: the first fix. */
	assert_int_equal(osv_file(&s, "osv/GO-2022-0387.json"), 0);
	assert_int_equal(s.vulns.len, 1);
	v = at(&s, 0);
	assert_string_equal(v->repo_name, "Go");
	assert_string_equal(v->version_scheme, "semver");
	assert_non_null(strstr(v->affected, "\"events\":[{\"introduced\":"));
	clr_vuln_set_release(&s);

	/* The whole directory: every record, in name order. */
	assert_int_equal(osv_file(&s, "osv"), 0);
	assert_int_equal(s.vulns.len, 4);
	assert_string_equal(at(&s, 0)->name, "GO-2022-0387");
	assert_string_equal(at(&s, 3)->name, "RUSTSEC-2026-0024");
	clr_vuln_set_release(&s);
}

static void test_osv_versions_only(void **state)
{
	const char *rec =
		"{\"id\": \"X-1\", \"affected\": [{\"package\": {\"ecosystem\":"
		" \"PyPI\", \"name\": \"p\"}, \"ranges\": [{\"type\": \"GIT\","
		" \"repo\": \"r\", \"events\": [{\"introduced\": \"0\"}]}], "
		"\"versions\": [\"1.0\", \"1.1\"]}, {\"package\": "
		"{\"ecosystem\": \"npm\", \"name\": \"q\"}, \"ranges\": "
		"[{\"type\": \"SEMVER\", \"events\": [{\"introduced\": \"0\"},"
		" {\"last_affected\": \"2.0.0\"}]}, {\"type\": \"SEMVER\", "
		"\"events\": [{\"introduced\": \"3.0.0\"}, {\"fixed\": "
		"\"3.0.1\"}, {\"limit\": \"4\"}]}]}, {\"package\": "
		"{\"ecosystem\": \"npm\", \"name\": \"r\"}}], "
		"\"database_specific\": {\"severity\": \"MODERATE\"}, "
		"\"summary\": \"s\", \"withdrawn\": \"\"}";
	struct clr_osv_opts o = { .updater = "u" };
	struct clr_vuln_set s;

	(void)state;
	clr_vuln_set_init(&s);
	assert_int_equal(clr_osv_parse_record(rec, strlen(rec), "rec", &o,
					      &s), 0);
	assert_int_equal(s.vulns.len, 3);
	assert_string_equal(at(&s, 0)->affected, "{\"ranges\":[],\"versions\""
			    ":[\"1.0\",\"1.1\"]}");
	assert_string_equal(at(&s, 0)->fixed_in_version, "");
	assert_string_equal(at(&s, 0)->severity, "MODERATE");
	assert_int_equal(at(&s, 0)->normalized_severity, CLR_SEV_MEDIUM);
	assert_string_equal(at(&s, 0)->description, "s");
	assert_string_equal(at(&s, 1)->fixed_in_version, "");
	assert_non_null(strstr(at(&s, 1)->affected, "last_affected"));
	assert_string_equal(at(&s, 2)->fixed_in_version, "3.0.1");
	assert_string_equal(at(&s, 2)->affected,
			    "{\"ranges\":[{\"type\":\"SEMVER\",\"events\":["
			    "{\"introduced\":\"3.0.0\"},{\"fixed\":\"3.0.1\"},"
			    "{\"limit\":\"4\"}]}],\"versions\":[]}");
	clr_vuln_set_release(&s);
}

static void test_osv_malformed(void **state)
{
	static const struct {
		const char *rec, *msg;
	} cases[] = {
		{ "", "line 1" },
		{ "[]", "JSON object" },
		{ "{\"id\": \"A\"", "line 1" },
		{ "{}", "no id" },
		{ "{\"id\": 5}", "id is not a string" },
		{ "{\"id\": \"A\", \"summary\": 1}", "A: summary is not" },
		{ "{\"id\": \"A\", \"affected\": {}}", "affected is not an" },
		{ "{\"id\": \"A\", \"affected\": [1]}", "affected[0] is not" },
		{ "{\"id\": \"A\", \"affected\": [{\"package\": {\"name\": "
		  "\"p\"}}]}", "no ecosystem or name" },
		{ "{\"id\": \"A\", \"affected\": [{\"package\": {\"name\": "
		  "\"p\", \"ecosystem\": \"Go\"}, \"ranges\": [{\"type\": "
		  "\"SEMVER\"}]}]}", "no type or events" },
		{ "{\"id\": \"A\", \"affected\": [{\"package\": {\"name\": "
		  "\"p\", \"ecosystem\": \"Go\"}, \"ranges\": [{\"type\": "
		  "\"SEMVER\", \"events\": [{\"fixd\": \"1\"}]}]}]}",
		  "ranges[0].events[0] has none" },
		{ "{\"id\": \"A\", \"affected\": [{\"package\": {\"name\": "
		  "\"p\", \"ecosystem\": \"Go\"}, \"ranges\": [{\"type\": "
		  "\"SEMVER\", \"events\": [{\"fixed\": 1}]}]}]}",
		  "events[0].fixed is not a string" },
		{ "{\"id\": \"A\", \"affected\": [{\"package\": {\"name\": "
		  "\"p\", \"ecosystem\": \"Go\"}, \"versions\": [1]}]}",
		  "versions[0]" },
		{ "{\"id\": \"A\", \"severity\": [{\"type\": 1}]}",
		  "severity[0].type" },
		{ "{\"id\": \"A\", \"references\": [{\"url\": []}]}",
		  "references[0].url" },
		{ "{\"id\": \"A\", \"database_specific\": []}",
		  "database_specific is not an object" },
	};
	struct clr_osv_opts o = { .updater = "u" };
	struct clr_vuln_set s;
	size_t n = 2 << 20;
	char *rec;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int err;

		clr_vuln_set_init(&s);
		clr_error_clear();
		err = clr_osv_parse_record(cases[i].rec, strlen(cases[i].rec),
					   "rec", &o, &s);
		if (err != CLR_EINVALID ||
		    !strstr(clr_error_msg(), cases[i].msg))
			fail_msg("'%s': %d '%s'", cases[i].rec, err,
				 clr_error_msg());
		assert_int_equal(s.vulns.len, 0);
		clr_vuln_set_release(&s);
	}
	/* A huge id and a record past the cap. */
	rec = clr_malloc(CLR_OSV_RECORD_MAX + 100);
	strcpy(rec, "{\"id\": \"");
	memset(rec + 8, 'A', n);
	strcpy(rec + 8 + n, "\"}");
	clr_vuln_set_init(&s);
	assert_int_equal(clr_osv_parse_record(rec, strlen(rec), "rec", &o, &s),
			 CLR_EINVALID);
	assert_non_null(strstr(clr_error_msg(), "longer than"));
	assert_int_equal(clr_osv_parse_record(rec, CLR_OSV_RECORD_MAX + 1,
					      "rec", &o, &s), CLR_ELIMIT);
	clr_vuln_set_release(&s);
	free(rec);
	/* A path that is not there. */
	clr_vuln_set_init(&s);
	assert_int_equal(clr_osv_parse_path("/nonexistent/osv", &o, &s),
			 CLR_EIO);
	clr_vuln_set_release(&s);
}

/* --- AlmaLinux, Rocky ---------------------------------------------------- */

static void test_alma_factory(void **state)
{
	const char *const kv[] = { "releases=9", "url=/srv/alma", NULL };
	const char *const bad[] = { "releases=9 nine", NULL };
	struct clr_vec us;

	(void)state;
	make(&us, &clr_factory_alma, NULL);
	assert_int_equal(us.len, 3);
	assert_string_equal(nth(&us, 0)->name, "alma-8");
	assert_string_equal(nth(&us, 1)->name, "alma-9");
	assert_string_equal(nth(&us, 2)->name, "alma-10");
	assert_string_equal(nth(&us, 2)->url, "https://osv-vulnerabilities."
			    "storage.googleapis.com/AlmaLinux/all.zip");
	free_all(&us);
	make(&us, &clr_factory_alma, kv);
	assert_int_equal(us.len, 1);
	assert_string_equal(nth(&us, 0)->name, "alma-9");
	assert_string_equal(nth(&us, 0)->url, "/srv/alma");
	free_all(&us);
	make(&us, &clr_factory_rocky, NULL);
	assert_int_equal(us.len, 2);
	assert_string_equal(nth(&us, 0)->name, "rocky-8");
	assert_string_equal(nth(&us, 1)->name, "rocky-9");
	assert_string_equal(nth(&us, 1)->url, "https://osv-vulnerabilities."
			    "storage.googleapis.com/Rocky%20Linux/all.zip");
	free_all(&us);

	clr_vec_init(&us, sizeof(struct clr_updater *));
	assert_int_equal(clr_factory_alma.create(&us, unit_kv_setting,
						 (void *)bad),
			 CLR_EINVALID);
	assert_int_equal(us.len, 0);
	assert_non_null(strstr(clr_error_msg(), "'nine'"));
	clr_vec_release(&us);
}

static void test_alma_advisories(void **state)
{
	struct clr_vec us;
	struct clr_vuln_set s;
	struct clr_vuln *v;
	/* Independent counts (python3: affected ranges per ecosystem). */
	const size_t want[] = { 81, 18, 9 };

	(void)state;
	make(&us, &clr_factory_alma, NULL);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(parse_fixture(nth(&us, i), "alma/advisories",
					       &s), 0);
		assert_int_equal(s.vulns.len, want[i]);
		assert_no_nulls(&s);
		for (size_t k = 0; k < s.vulns.len; k++)
			assert_string_equal(at(&s, k)->updater,
					    nth(&us, i)->name);
		if (i != 0) {
			clr_vuln_set_release(&s);
			continue;
		}
		/* "ALSA-2022:5468: php:8.0 security update (Important)" */
		v = find(&s, "ALSA-2022:5468", "php-pear", NULL);
		assert_non_null(v);
		assert_string_equal(v->dist_did, "almalinux");
		assert_string_equal(v->dist_name, "AlmaLinux");
		assert_string_equal(v->dist_version_id, "8");
		assert_string_equal(v->repo_name, "AlmaLinux:8");
		assert_string_equal(v->package_kind, "binary");
		assert_string_equal(v->version_scheme, "rpm");
		assert_string_equal(v->package_module, "php:8.0");
		assert_string_equal(v->fixed_in_version,
				    "1:1.10.13-1.module_el8.6.0+3268+b150a051");
		assert_string_equal(v->severity, "Important");
		assert_int_equal(v->normalized_severity, CLR_SEV_HIGH);
		assert_string_equal(v->issued, "2022-06-30T00:00:00Z");
		assert_true(!strncmp(v->links, "https://access.redhat.com/"
				     "errata/RHSA-2022:5468 https://access."
				     "redhat.com/security/cve/CVE-2022-31626 ",
				     90));
		assert_true(!strncmp(v->description, "PHP is an HTML-embedded",
				     23));
		assert_string_equal(v->affected,
				    "{\"ranges\":[{\"type\":\"ECOSYSTEM\","
				    "\"events\":[{\"introduced\":\"0\"},"
				    "{\"fixed\":\"1:1.10.13-1.module_el8.6.0+"
				    "3268+b150a051\"}]}],\"versions\":[]}");
		assert_int_equal(count(&s, "ALSA-2022:5468", NULL), 10);
		/* Two modules in one advisory: which is whose is unknown. */
		v = find(&s, "ALSA-2020:4670", "custodia", NULL);
		assert_non_null(v);
		assert_string_equal(v->package_module, "");
		assert_string_equal(v->severity, "Moderate");
		assert_int_equal(v->normalized_severity, CLR_SEV_MEDIUM);
		/* Not modular: no module. */
		v = find(&s, "ALSA-2022:0332", NULL, NULL);
		assert_string_equal(v->package_module, "");
		assert_string_equal(v->severity, "Critical");
		assert_int_equal(v->normalized_severity, CLR_SEV_CRITICAL);
		v = find(&s, "ALSA-2024:8830", NULL, NULL);
		assert_string_equal(v->severity, "Low");
		assert_int_equal(v->normalized_severity, CLR_SEV_LOW);
		/* A bug fix advisory without a severity word. */
		v = find(&s, "ALBA-2019:3664", NULL, NULL);
		assert_non_null(v);
		assert_string_equal(v->severity, "");
		assert_int_equal(v->normalized_severity, CLR_SEV_UNKNOWN);
		clr_vuln_set_release(&s);
	}
	/* AlmaLinux 9: a module stream in the summary. */
	assert_int_equal(parse_fixture(nth(&us, 1), "alma/advisories", &s), 0);
	v = find(&s, "ALSA-2022:8832", "nodejs", NULL);
	assert_non_null(v);
	assert_string_equal(v->package_module, "nodejs:18");
	assert_string_equal(v->dist_version_id, "9");
	assert_string_equal(v->fixed_in_version,
			    "1:18.12.1-1.module_el9.1.0+16+91bc168f");
	clr_vuln_set_release(&s);
	free_all(&us);
}

static void test_rocky(void **state)
{
	struct clr_vec us;
	struct clr_vuln_set s, z;
	struct clr_vuln *v;
	char h1[CLR_SHA256_HEXLEN + 1], h2[CLR_SHA256_HEXLEN + 1];

	(void)state;
	make(&us, &clr_factory_rocky, NULL);
	assert_int_equal(parse_fixture(nth(&us, 0), "rocky/osv", &s), 0);
	assert_int_equal(s.vulns.len, 2);
	/* Red Hat's word from the summary, before the CVSS vector. */
	v = find(&s, "RLSA-2021:3891", "java-11-openjdk", "8");
	assert_non_null(v);
	assert_string_equal(v->severity, "Important");
	assert_int_equal(v->normalized_severity, CLR_SEV_HIGH);
	assert_string_equal(v->fixed_in_version, "1:11.0.13.0.8-1.el8_4");
	assert_string_equal(v->dist_did, "rocky");
	assert_string_equal(v->dist_name, "Rocky Linux");
	assert_string_equal(v->repo_name, "Rocky Linux:8");
	assert_string_equal(v->links, "https://errata.rockylinux.org/"
			    "RLSA-2021:3891 https://bugzilla.redhat.com/"
			    "show_bug.cgi?id=2014508 https://bugzilla.redhat."
			    "com/show_bug.cgi?id=2014515 https://bugzilla."
			    "redhat.com/show_bug.cgi?id=2014518 https://"
			    "bugzilla.redhat.com/show_bug.cgi?id=2014524 "
			    "https://bugzilla.redhat.com/show_bug.cgi?id="
			    "2015061 https://bugzilla.redhat.com/show_bug.cgi"
			    "?id=2015308 https://bugzilla.redhat.com/show_bug"
			    ".cgi?id=2015311 https://bugzilla.redhat.com/"
			    "show_bug.cgi?id=2015648 https://bugzilla.redhat."
			    "com/show_bug.cgi?id=2015653 https://bugzilla."
			    "redhat.com/show_bug.cgi?id=2015658");
	clr_vuln_set_release(&s);

	assert_int_equal(parse_fixture(nth(&us, 1), "rocky/osv", &s), 0);
	assert_int_equal(s.vulns.len, 3);
	v = find(&s, "RLSA-2024:3671", "rubygem-pg", "9");
	assert_non_null(v);
	assert_string_equal(v->package_module, "ruby:3.3");
	assert_string_equal(v->severity, "Moderate");
	assert_string_equal(v->fixed_in_version,
			    "0:1.5.4-1.module+el9.4.0+20787+4c237fd3");
	/* The zip osv.dev publishes gives exactly the same records. */
	assert_int_equal(parse_fixture(nth(&us, 1), "rocky/all.zip", &z), 0);
	assert_int_equal(z.vulns.len, s.vulns.len);
	for (size_t i = 0; i < s.vulns.len; i++) {
		clr_vuln_hash(h1, at(&s, i));
		clr_vuln_hash(h2, at(&z, i));
		assert_string_equal(h1, h2);
	}
	clr_vuln_set_release(&z);
	clr_vuln_set_release(&s);
	free_all(&us);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_debian_factory),
		cmocka_unit_test(test_debian_tracker_sample),
		cmocka_unit_test(test_debian_statuses),
		cmocka_unit_test(test_debian_no_builtin_numbers),
		cmocka_unit_test(test_debian_dists_listing),
		cmocka_unit_test(test_debian_release_files),
		cmocka_unit_test(test_debian_fetched_dir),
		cmocka_unit_test(test_debian_malformed),
		cmocka_unit_test(test_alpine_factory),
		cmocka_unit_test(test_alpine_index),
		cmocka_unit_test(test_alpine_secdb),
		cmocka_unit_test(test_alpine_zero_and_ids),
		cmocka_unit_test(test_alpine_malformed),
		cmocka_unit_test(test_cvss),
		cmocka_unit_test(test_osv_ecosystems),
		cmocka_unit_test(test_osv_versions_only),
		cmocka_unit_test(test_osv_malformed),
		cmocka_unit_test(test_alma_factory),
		cmocka_unit_test(test_alma_advisories),
		cmocka_unit_test(test_rocky),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
