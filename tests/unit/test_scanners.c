/*
 * test_scanners.c - the OS scanners on real databases and on broken ones.
 *
 * The fixtures (tests/fixtures/scanners/, see SOURCES.md there) are real:
 * a Debian 12 dpkg status with what dpkg-query said about it, an Alpine
 * installed database, rpm databases that rpm itself wrote, real os-release
 * files.  Broken inputs are made from them here: cut, overwritten, padded
 * past a cap.  What a user would notice is asserted: how many packages,
 * their exact fields, and a clear error (never a shorter list) when a
 * database cannot be read.
 */
#include "unit.h"

#include <dirent.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "scanners/scanner.h"
#include "util/error.h"

#define FIXTURES "tests/fixtures/scanners/"

/* --- helpers ------------------------------------------------------------ */

static unsigned char *load(const char *name, size_t *len)
{
	char path[1024];
	FILE *f;
	unsigned char *data;
	long n;

	snprintf(path, sizeof(path), "%s/" FIXTURES "%s", unit_srcdir(), name);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open fixture %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	data = malloc((size_t)n + 1);
	assert_non_null(data);
	assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
	data[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return data;
}

static struct clr_scan_file text_file(const char *path, const char *s)
{
	struct clr_scan_file f = { path, (const unsigned char *)s, strlen(s),
				   NULL };

	return f;
}

static struct clr_scan_file link_file(const char *path, const char *target)
{
	struct clr_scan_file f = { path, (const unsigned char *)"", 0, target };

	return f;
}

/* Runs one scanner over files; returns its code, result in *res. */
static int scan(const struct clr_scanner *s, const struct clr_scan_file *files,
		size_t n, struct clr_scan_result *res)
{
	struct clr_scan_input in = { files, n };

	clr_error_clear();
	return s->scan(&in, res);
}

static const struct clr_scan_package *pkg(const struct clr_scan_result *r,
					  size_t i)
{
	return CLR_VEC_AT(&r->packages, struct clr_scan_package, i);
}

static const struct clr_scan_package *find_pkg(const struct clr_scan_result *r,
					       const char *name)
{
	for (size_t i = 0; i < r->packages.len; i++)
		if (!strcmp(pkg(r, i)->name, name))
			return pkg(r, i);
	fail_msg("package %s not found", name);
	return NULL;
}

static const struct clr_scan_distribution *dist(const struct clr_scan_result *r)
{
	assert_int_equal(r->distributions.len, 1);
	return CLR_VEC_AT(&r->distributions, struct clr_scan_distribution, 0);
}

static void assert_pkg(const struct clr_scan_package *p, const char *version,
		       const char *src, const char *src_version,
		       const char *arch, const char *module, const char *db)
{
	assert_string_equal(p->version, version);
	assert_string_equal(p->kind, "binary");
	assert_string_equal(p->source.name, src);
	assert_string_equal(p->source.version, src_version);
	assert_string_equal(p->source.kind, "source");
	assert_string_equal(p->arch, arch);
	assert_string_equal(p->module, module);
	assert_string_equal(p->cpe, "");
	assert_string_equal(p->package_db, db);
}

/* Asserts err is code and the message mentions want. */
static void assert_error(int err, int code, const char *want)
{
	assert_int_equal(err, code);
	if (!strstr(clr_error_msg(), want))
		fail_msg("message '%s' does not mention '%s'", clr_error_msg(),
			 want);
}

/* One dpkg status text through the dpkg scanner. */
static int dpkg_text(const char *status, struct clr_scan_result *res)
{
	struct clr_scan_file f = text_file("var/lib/dpkg/status", status);

	return scan(&clr_scanner_dpkg, &f, 1, res);
}

static int apk_text(const char *db, size_t len, struct clr_scan_result *res)
{
	struct clr_scan_file f = { "lib/apk/db/installed",
				   (const unsigned char *)db, len, NULL };

	return scan(&clr_scanner_apk, &f, 1, res);
}

/* --- the table and the state -------------------------------------------- */

static void test_table_and_want(void **state)
{
	static const char *const yes[] = {
		"var/lib/dpkg/status", "var/lib/dpkg/status.d/libc6",
		"lib/apk/db/installed", "var/lib/rpm/rpmdb.sqlite",
		"var/lib/rpm/rpmdb.sqlite-wal",
		"var/lib/rpm/Packages", "var/lib/rpm/Packages.db",
		"usr/lib/sysimage/rpm/rpmdb.sqlite", "etc/os-release",
		"usr/lib/os-release", "etc/debian_version",
		"etc/alpine-release", "etc/redhat-release",
		"etc/centos-release", "etc/almalinux-release",
		"etc/lsb-release", "/etc/os-release", "./var/lib/dpkg/status",
	};
	static const char *const no[] = {
		"var/lib/dpkg/status.d/libc6.md5sums", "var/lib/dpkg/status-old",
		"var/lib/dpkg/status.d/", "var/lib/dpkg/status.d/a/b",
		"var/lib/dpkg/available", "lib/apk/db/installed.bak",
		"var/lib/rpm/Basenames", "etc/os-release.d/x", "usr/etc/os-release",
		"etc/issue", "", "var/lib/rpm", "var/lib/rpm/rpmdb.sqlite-shm",
	};

	(void)state;
	assert_int_equal(clr_scanners_count, 4);
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (!clr_scanners_want(yes[i]))
			fail_msg("nobody wants %s", yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (clr_scanners_want(no[i]))
			fail_msg("someone wants %s", no[i]);
	assert_true(clr_scanner_dpkg.want("var/lib/dpkg/status"));
	assert_false(clr_scanner_apk.want("var/lib/dpkg/status"));
	assert_ptr_equal(clr_scanners_find("rpm"), &clr_scanner_rpm);
	assert_null(clr_scanners_find("npm"));
	for (size_t i = 0; i < clr_scanners_count; i++) {
		const char *k = clr_scanners[i]->kind;

		assert_true(!strcmp(k, "package") || !strcmp(k, "distribution"));
	}
	assert_string_equal(clr_scanner_osrelease.kind, "distribution");
}

static void test_state_stable_and_changes_with_a_version(void **state)
{
	char a[CLR_SHA256_HEXLEN + 1], b[CLR_SHA256_HEXLEN + 1];
	char c[CLR_SHA256_HEXLEN + 1];
	struct clr_scanner bumped = clr_scanner_dpkg;
	const struct clr_scanner *list[8];

	(void)state;
	assert_int_equal(clr_scanners_state(a), 0);
	assert_int_equal(clr_scanners_state(b), 0);
	assert_string_equal(a, b);
	assert_int_equal(strlen(a), 64);
	assert_int_equal(strspn(a, "0123456789abcdef"), 64);

	/* A copy of the table with dpkg's version bumped. */
	for (size_t i = 0; i < clr_scanners_count; i++)
		list[i] = clr_scanners[i];
	assert_int_equal(clr_scanners_state_of(c, list, clr_scanners_count), 0);
	assert_string_equal(a, c);
	bumped.version = "2";
	for (size_t i = 0; i < clr_scanners_count; i++)
		if (list[i] == &clr_scanner_dpkg)
			list[i] = &bumped;
	assert_int_equal(clr_scanners_state_of(c, list, clr_scanners_count), 0);
	assert_string_not_equal(a, c);

	/* Order does not matter; a missing or extra scanner does. */
	for (size_t i = 0; i < clr_scanners_count; i++)
		list[i] = clr_scanners[clr_scanners_count - 1 - i];
	clr_scanners_state_of(c, list, clr_scanners_count);
	assert_string_equal(a, c);
	clr_scanners_state_of(c, list, clr_scanners_count - 1);
	assert_string_not_equal(a, c);
	/* The kind is part of the identity too. */
	bumped = clr_scanner_dpkg;
	bumped.kind = "distribution";
	list[0] = &bumped;
	for (size_t i = 1; i < clr_scanners_count; i++)
		list[i] = clr_scanners[i];
	clr_scanners_state_of(c, list, clr_scanners_count);
	assert_string_not_equal(a, c);
}

/* --- dpkg --------------------------------------------------------------- */

/* Counts "Status: install ok installed" the simple way, as a check on the
 * parser that does not share its code. */
static size_t count_installed(const char *s)
{
	size_t n = 0;

	for (const char *p = s; (p = strstr(p, "\nStatus: install ok installed\n"));
	     p++)
		n++;
	if (!strncmp(s, "Status: install ok installed\n", 29))
		n++;
	return n;
}

static void test_dpkg_debian12_matches_dpkg_query(void **state)
{
	struct clr_scan_result res;
	struct clr_scan_file f;
	size_t len, qlen, rows = 0;
	unsigned char *status = load("debian12-status", &len);
	char *query = (char *)load("debian12-dpkg-query.txt", &qlen);
	char *line, *save = NULL;

	(void)state;
	f = (struct clr_scan_file){ "var/lib/dpkg/status", status, len, NULL };
	clr_scan_result_init(&res);
	assert_int_equal(scan(&clr_scanner_dpkg, &f, 1, &res), 0);

	/* The count, two independent ways: 858 when the fixture was made. */
	assert_int_equal(res.packages.len, 858);
	assert_int_equal(count_installed((const char *)status), 858);

	/* Every package, field by field, as dpkg-query printed it:
	 * name|version|arch|source name|source version. */
	for (line = strtok_r(query, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *fld[5], *p = line;
		bool found = false;

		for (int i = 0; i < 5; i++) {
			fld[i] = p;
			p = strchr(p, '|');
			if (p)
				*p++ = '\0';
			else
				assert_int_equal(i, 4);
		}
		for (size_t i = 0; i < res.packages.len && !found; i++) {
			const struct clr_scan_package *q = pkg(&res, i);

			if (strcmp(q->name, fld[0]) || strcmp(q->arch, fld[2]))
				continue;
			found = true;
			assert_string_equal(q->version, fld[1]);
			assert_string_equal(q->source.name, fld[3]);
			assert_string_equal(q->source.version, fld[4]);
		}
		if (!found)
			fail_msg("dpkg-query lists %s, we do not", fld[0]);
		rows++;
	}
	assert_int_equal(rows, res.packages.len);

	/* A few chosen by hand. */
	assert_pkg(find_pkg(&res, "libc6"), "2.36-9+deb12u14", "glibc",
		   "2.36-9+deb12u14", "amd64", "", "var/lib/dpkg/status");
	/* Source with its own version, different from a binNMU'd binary. */
	assert_pkg(find_pkg(&res, "bash"), "5.2.15-2+b8", "bash", "5.2.15-2",
		   "amd64", "", "var/lib/dpkg/status");
	/* The binary has an epoch, its source version does not. */
	assert_pkg(find_pkg(&res, "bsdutils"), "1:2.38.1-5+deb12u3",
		   "util-linux", "2.38.1-5+deb12u3", "amd64", "",
		   "var/lib/dpkg/status");
	/* No Source field: the package is its own source. */
	assert_pkg(find_pkg(&res, "adduser"), "3.134", "adduser", "3.134",
		   "all", "", "var/lib/dpkg/status");
	clr_scan_result_release(&res);
	free(status);
	free(query);
}

static void test_dpkg_only_installed_packages(void **state)
{
	struct clr_scan_result res;

	(void)state;
	clr_scan_result_init(&res);
	assert_int_equal(dpkg_text(
		"Package: kept\nStatus: install ok installed\nVersion: 1.0-1\n"
		"Architecture: amd64\n\n"
		"Package: gone\nStatus: deinstall ok config-files\n"
		"Version: 2.0\n\n"
		"Package: never\nStatus: purge ok not-installed\n\n"
		"Package: half\nStatus: install reinstreq half-installed\n"
		"Version: 3\n\n"
		"Package: held\nStatus: hold ok installed\nVersion: 4\n"
		"Source: heldsrc\n\n"
		"Package: going\nstatus: deinstall ok installed\nversion: 5\n"
		"Description: still on disk\n more\n .\n end\n", &res), 0);
	assert_int_equal(res.packages.len, 3);
	assert_pkg(pkg(&res, 0), "1.0-1", "kept", "1.0-1", "amd64", "",
		   "var/lib/dpkg/status");
	assert_string_equal(pkg(&res, 1)->name, "held");
	assert_string_equal(pkg(&res, 1)->source.name, "heldsrc");
	assert_string_equal(pkg(&res, 1)->source.version, "4");
	/* Field names are case-insensitive; no Architecture is "". */
	assert_pkg(pkg(&res, 2), "5", "going", "5", "", "",
		   "var/lib/dpkg/status");
	clr_scan_result_release(&res);

	/* An empty database is an empty list, not an error. */
	clr_scan_result_init(&res);
	assert_int_equal(dpkg_text("", &res), 0);
	assert_int_equal(res.packages.len, 0);
	clr_scan_result_release(&res);
}

static void test_dpkg_distroless_status_d(void **state)
{
	static const char *const names[] = {
		"base-files", "ca-certificates", "libc6", "libc6.md5sums",
		"libssl3", "netbase", "tzdata",
	};
	struct clr_scan_file files[8];
	unsigned char *data[8];
	char paths[8][128];
	struct clr_scan_result res;
	size_t n = 0;

	(void)state;
	/* Given in reverse order: the output is sorted by path anyway. */
	for (size_t i = sizeof(names) / sizeof(names[0]); i-- > 0;) {
		char fx[128];
		size_t len;

		snprintf(fx, sizeof(fx), "distroless12-status.d/%s", names[i]);
		snprintf(paths[n], sizeof(paths[n]), "var/lib/dpkg/status.d/%s",
			 names[i]);
		data[n] = load(fx, &len);
		files[n] = (struct clr_scan_file){ paths[n], data[n], len, NULL };
		n++;
	}
	/* A file for another scanner is ignored. */
	files[n++] = text_file("etc/debian_version", "12.11\n");

	clr_scan_result_init(&res);
	assert_int_equal(scan(&clr_scanner_dpkg, files, n, &res), 0);
	assert_int_equal(res.packages.len, 6);
	assert_string_equal(pkg(&res, 0)->name, "base-files");
	assert_string_equal(pkg(&res, 5)->name, "tzdata");
	assert_pkg(find_pkg(&res, "libc6"), "2.36-9+deb12u14", "glibc",
		   "2.36-9+deb12u14", "amd64", "",
		   "var/lib/dpkg/status.d/libc6");
	assert_pkg(find_pkg(&res, "libssl3"), "3.0.19-1~deb12u2", "openssl",
		   "3.0.19-1~deb12u2", "amd64", "",
		   "var/lib/dpkg/status.d/libssl3");
	assert_string_equal(find_pkg(&res, "tzdata")->arch, "all");
	clr_scan_result_release(&res);
	for (size_t i = 0; i + 1 < n; i++)
		free(data[i]);

	/* Several stanzas in one status.d file, and a Status if present. */
	files[0] = text_file("var/lib/dpkg/status.d/multi",
			     "Package: a\nVersion: 1\n\nPackage: b\nVersion: 2\n"
			     "Status: deinstall ok config-files\n\n"
			     "Package: c\nVersion: 3");
	clr_scan_result_init(&res);
	assert_int_equal(scan(&clr_scanner_dpkg, files, 1, &res), 0);
	assert_int_equal(res.packages.len, 2);
	assert_string_equal(pkg(&res, 1)->name, "c");
	clr_scan_result_release(&res);
}

static void test_dpkg_status_and_status_d_together(void **state)
{
	struct clr_scan_file files[3] = {
		text_file("var/lib/dpkg/status.d/zz", "Package: zz\nVersion: 1\n"),
		text_file("var/lib/dpkg/status",
			  "Package: main\nStatus: install ok installed\n"
			  "Version: 2\n"),
		/* Followed through a symlink like any other file. */
		link_file("var/lib/dpkg/status.d/aa", "../aa-real"),
	};
	struct clr_scan_file all[4];
	struct clr_scan_result res;

	(void)state;
	memcpy(all, files, sizeof(files));
	all[3] = text_file("var/lib/dpkg/aa-real", "Package: aa\nVersion: 3\n");
	clr_scan_result_init(&res);
	assert_int_equal(scan(&clr_scanner_dpkg, all, 4, &res), 0);
	assert_int_equal(res.packages.len, 3);
	assert_string_equal(pkg(&res, 0)->name, "main");
	assert_string_equal(pkg(&res, 1)->name, "aa");
	assert_string_equal(pkg(&res, 1)->package_db,
			    "var/lib/dpkg/status.d/aa");
	assert_string_equal(pkg(&res, 2)->name, "zz");
	clr_scan_result_release(&res);
}

static void test_dpkg_corrupt_is_an_error_not_a_short_list(void **state)
{
	static const struct {
		const char *text;
		int code;
		const char *msg;
	} cases[] = {
		{ "Package: a\nStatus: install ok installed\nVersion: 1.0\n\n"
		  "Package: b\nStatus: install ok installed\nVersi",
		  CLR_EINVALID, "truncated" },
		{ "Package: a\nStatus: install ok installed\nVersion: 1.0\n\n"
		  "Package: b\n",
		  CLR_EINVALID, "line 5: package 'b' has no Status" },
		{ "Package: a\nStatus: install ok installed\nPriority: x\n",
		  CLR_EINVALID,
		  "var/lib/dpkg/status: line 1: installed package 'a' has no "
		  "Version" },
		{ "Status: install ok installed\nVersion: 1\n",
		  CLR_EINVALID, "line 1: stanza has no Package field" },
		{ "Package: a\nStatus: install ok installed\nVersion: 1 0\n",
		  CLR_EINVALID, "line 3" },
		{ "Package: a\nStatus: install ok installed\nVersion: 1:\n",
		  CLR_EINVALID, "line 3" },
		{ "Package: a\nStatus: install ok installed\nVersion: 1\n"
		  "Version: 2\n", CLR_EINVALID, "line 4: duplicate field" },
		{ "Package: a\nStatus: install ok installed\nVersion: 1\n"
		  "Source: b (1.0\n", CLR_EINVALID, "line 4: Source of 'a'" },
		{ "Package: a\nStatus: install ok installed\nVersion: 1\n"
		  "Source: b (1.0) x\n", CLR_EINVALID, "Source of 'a'" },
		{ "Package: a\nStatus: install ok\nVersion: 1\n",
		  CLR_EINVALID, "not three words" },
		{ "Package: A b\nStatus: install ok installed\nVersion: 1\n",
		  CLR_EINVALID, "invalid package name" },
		{ "Package: a\nStatus: install ok installed\nVersion: 1\n"
		  "this line has no colon\n", CLR_EINVALID,
		  "line 4: expected 'Field: value'" },
		{ " leading continuation\n", CLR_EINVALID,
		  "line 1: continuation line outside a field" },
		{ "Package: a\n more\nStatus: install ok installed\n"
		  "Version: 1\n", CLR_EINVALID, "must be one line" },
		{ "Package: a\nStatus: install ok installed\nVersion: 1\r\n",
		  CLR_EINVALID, "line 3" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct clr_scan_result res;
		int err;

		clr_scan_result_init(&res);
		err = dpkg_text(cases[i].text, &res);
		if (err != cases[i].code || !strstr(clr_error_msg(),
						    cases[i].msg))
			fail_msg("case %zu: got %d '%s', want %d '%s'", i, err,
				 clr_error_msg(), cases[i].code, cases[i].msg);
		assert_int_equal(res.packages.len, 0);
		clr_scan_result_release(&res);
	}
}

static void test_dpkg_real_file_damaged(void **state)
{
	struct clr_scan_result res;
	struct clr_scan_file f = { "var/lib/dpkg/status", NULL, 0, NULL };
	size_t len;
	unsigned char *status = load("debian12-status", &len);
	unsigned char *copy = malloc(len);
	const char *libc;

	(void)state;
	/* Cut in the middle of a line. */
	f.data = status;
	f.len = len / 2;
	if (status[f.len - 1] == '\n')
		f.len--;
	clr_scan_result_init(&res);
	assert_error(scan(&clr_scanner_dpkg, &f, 1, &res), CLR_EINVALID,
		     "truncated");
	assert_int_equal(res.packages.len, 0);

	/* Binary junk in the middle: the line of the NUL is named. */
	memcpy(copy, status, len);
	memset(copy + len / 3, 0, 64);
	f.data = copy;
	f.len = len;
	assert_error(scan(&clr_scanner_dpkg, &f, 1, &res), CLR_EINVALID,
		     "NUL byte");
	assert_true(strstr(clr_error_msg(), "var/lib/dpkg/status: line ") !=
		    NULL);

	/* Junk without NULs. */
	memcpy(copy, status, len);
	for (size_t i = 0; i < 4096; i++)
		copy[len / 4 + i] = (unsigned char)(0x80 + (i * 7) % 120);
	assert_error(scan(&clr_scanner_dpkg, &f, 1, &res), CLR_EINVALID,
		     "var/lib/dpkg/status: line ");

	/* libc6's Version field renamed away. */
	memcpy(copy, status, len);
	libc = strstr((const char *)copy, "\nPackage: libc6\n");
	assert_non_null(libc);
	libc = strstr(libc, "\nVersion: ");
	assert_non_null(libc);
	memcpy((char *)libc + 1, "X-Gone!", 7);
	assert_error(scan(&clr_scanner_dpkg, &f, 1, &res), CLR_EINVALID,
		     "installed package 'libc6' has no Version");
	assert_int_equal(res.packages.len, 0);
	clr_scan_result_release(&res);
	free(copy);
	free(status);
}

static void test_dpkg_caps(void **state)
{
	size_t big = 2u << 20;
	char *text = malloc(big + 256);
	struct clr_scan_result res;
	size_t n;

	(void)state;
	/* One field past 1 MiB, in continuation lines. */
	n = (size_t)sprintf(text, "Package: a\nStatus: install ok installed\n"
			    "Version: 1\nDescription: big\n");
	while (n < big) {
		text[n] = ' ';
		memset(text + n + 1, 'x', 62);
		text[n + 63] = '\n';
		n += 64;
	}
	text[n] = '\0';
	clr_scan_result_init(&res);
	assert_error(dpkg_text(text, &res), CLR_ELIMIT,
		     "field 'Description' larger than");

	/* One line past the cap. */
	n = (size_t)sprintf(text, "Package: a\nStatus: install ok installed\n"
			    "Version: 1\nX-Huge: ");
	memset(text + n, 'y', big);
	strcpy(text + n + big, "\n");
	assert_error(dpkg_text(text, &res), CLR_ELIMIT, "larger than");

	/* Many fields of legal size adding up past the stanza cap. */
	n = (size_t)sprintf(text, "Package: a\nStatus: install ok installed\n"
			    "Version: 1\n");
	text = realloc(text, 5u << 20);
	for (int i = 0; n < (5u << 20) - 70000; i++) {
		n += (size_t)sprintf(text + n, "X-F%d: ", i);
		memset(text + n, 'z', 60000);
		n += 60000;
		text[n++] = '\n';
	}
	text[n] = '\0';
	assert_error(dpkg_text(text, &res), CLR_ELIMIT, "line 1: stanza larger");
	assert_int_equal(res.packages.len, 0);
	clr_scan_result_release(&res);
	free(text);
}

static void test_failed_scan_leaves_result_as_it_was(void **state)
{
	struct clr_scan_result res;
	struct clr_scan_file files[2] = {
		text_file("lib/apk/db/installed", "P:musl\nV:1.2.5-r0\n\n"),
		text_file("var/lib/dpkg/status",
			  "Package: a\nStatus: install ok installed\n"
			  "Version: 1\n\nPackage: b\n"),
	};

	(void)state;
	clr_scan_result_init(&res);
	assert_int_equal(scan(&clr_scanner_apk, files, 2, &res), 0);
	assert_int_equal(res.packages.len, 1);
	assert_int_equal(scan(&clr_scanner_dpkg, files, 2, &res), CLR_EINVALID);
	assert_int_equal(res.packages.len, 1);
	assert_string_equal(pkg(&res, 0)->name, "musl");
	clr_scan_result_release(&res);
}

/* --- apk ---------------------------------------------------------------- */

static void test_apk_alpine320(void **state)
{
	struct clr_scan_result res;
	size_t len, k = 0;
	char *db = (char *)load("alpine320-installed", &len);
	const char *p;

	(void)state;
	clr_scan_result_init(&res);
	assert_int_equal(apk_text(db, len, &res), 0);
	assert_int_equal(res.packages.len, 26);

	/* Names and versions in file order, read the simple way. */
	for (p = db; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (!strncmp(p, "P:", 2)) {
			size_t n = strcspn(p + 2, "\n");

			assert_true(k < res.packages.len);
			assert_int_equal(strlen(pkg(&res, k)->name), n);
			assert_memory_equal(pkg(&res, k)->name, p + 2, n);
		} else if (!strncmp(p, "V:", 2)) {
			size_t n = strcspn(p + 2, "\n");

			assert_int_equal(strlen(pkg(&res, k)->version), n);
			assert_memory_equal(pkg(&res, k)->version, p + 2, n);
			k++;
		}
	}
	assert_int_equal(k, 26);

	assert_pkg(find_pkg(&res, "musl"), "1.2.5-r0", "musl", "1.2.5-r0",
		   "x86_64", "", "lib/apk/db/installed");
	assert_pkg(find_pkg(&res, "musl-utils"), "1.2.5-r0", "musl",
		   "1.2.5-r0", "x86_64", "", "lib/apk/db/installed");
	assert_pkg(find_pkg(&res, "libcrypto3"), "3.3.1-r3", "openssl",
		   "3.3.1-r3", "x86_64", "", "lib/apk/db/installed");
	assert_pkg(find_pkg(&res, "scanelf"), "1.3.7-r2", "pax-utils",
		   "1.3.7-r2", "x86_64", "", "lib/apk/db/installed");
	assert_pkg(find_pkg(&res, "ssl_client"), "1.36.1-r29", "busybox",
		   "1.36.1-r29", "x86_64", "", "lib/apk/db/installed");
	assert_pkg(find_pkg(&res, "tzdata"), "2024a-r1", "tzdata", "2024a-r1",
		   "x86_64", "", "lib/apk/db/installed");
	clr_scan_result_release(&res);
	free(db);
}

static void test_apk_edge_cases(void **state)
{
	struct clr_scan_result res;
	const char *db = "P:noorigin\nV:1.0-r0\n\nP:noarch\nV:2\no:src\n";

	(void)state;
	clr_scan_result_init(&res);
	assert_int_equal(apk_text(db, strlen(db), &res), 0);
	assert_int_equal(res.packages.len, 2);
	assert_pkg(pkg(&res, 0), "1.0-r0", "noorigin", "1.0-r0", "", "",
		   "lib/apk/db/installed");
	assert_pkg(pkg(&res, 1), "2", "src", "2", "", "",
		   "lib/apk/db/installed");
	clr_scan_result_release(&res);

	clr_scan_result_init(&res);
	assert_int_equal(apk_text("", 0, &res), 0);
	assert_int_equal(res.packages.len, 0);
	clr_scan_result_release(&res);
}

static void test_apk_corrupt(void **state)
{
	static const struct {
		const char *text;
		int code;
		const char *msg;
	} cases[] = {
		{ "P:a\nV:1\n\nP:b\nV:1.0-", CLR_EINVALID, "truncated" },
		{ "P:a\nV:1\n\nP:b\n", CLR_EINVALID,
		  "lib/apk/db/installed: line 4: package 'b' has no V:" },
		{ "V:1\nA:x86_64\n", CLR_EINVALID, "line 1: package has no P:" },
		{ "P:a\nV:1\nV:2\n", CLR_EINVALID, "line 3: second 'V:'" },
		{ "P:a\nV:1\ngarbage line\n", CLR_EINVALID,
		  "line 3: expected 'X:value'" },
		{ "P:a\nV:1 2\n", CLR_EINVALID, "line 2: invalid version" },
		{ "P:\nV:1\n", CLR_EINVALID, "invalid package name" },
		{ "P:a\nV:1\nX\n", CLR_EINVALID, "line 3" },
	};
	struct clr_scan_result res;
	size_t big = 300 * 1024;
	char *text;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int err;

		clr_scan_result_init(&res);
		err = apk_text(cases[i].text, strlen(cases[i].text), &res);
		if (err != cases[i].code || !strstr(clr_error_msg(),
						    cases[i].msg))
			fail_msg("case %zu: got %d '%s', want %d '%s'", i, err,
				 clr_error_msg(), cases[i].code, cases[i].msg);
		assert_int_equal(res.packages.len, 0);
		clr_scan_result_release(&res);
	}

	clr_scan_result_init(&res);
	assert_error(apk_text("P:a\0\nV:1\n", 9, &res), CLR_EINVALID,
		     "line 1: NUL byte");

	/* A line over the cap. */
	text = malloc(big + 16);
	memcpy(text, "P:a\nV:1\nT:", 10);
	memset(text + 10, 't', big);
	memcpy(text + 10 + big, "\n\n", 2);
	assert_error(apk_text(text, big + 12, &res), CLR_ELIMIT,
		     "line 3: longer than");
	free(text);

	/* The real database, cut. */
	{
		size_t len;
		char *db = (char *)load("alpine320-installed", &len);

		assert_error(apk_text(db, len - 5, &res), CLR_EINVALID,
			     "truncated");
		db[len / 2] = '\0';
		assert_error(apk_text(db, len, &res), CLR_EINVALID, "NUL byte");
		assert_int_equal(res.packages.len, 0);
		free(db);
	}
	clr_scan_result_release(&res);
}

/* --- os-release ---------------------------------------------------------- */

static void assert_dist(const struct clr_scan_distribution *d,
			const char *did, const char *name, const char *version,
			const char *version_id, const char *code,
			const char *pretty, const char *cpe)
{
	assert_string_equal(d->did, did);
	assert_string_equal(d->name, name);
	assert_string_equal(d->version, version);
	assert_string_equal(d->version_id, version_id);
	assert_string_equal(d->version_code_name, code);
	assert_string_equal(d->pretty_name, pretty);
	assert_string_equal(d->cpe, cpe);
	assert_string_equal(d->arch, "");
}

static void test_osrelease_debian12_through_the_symlink(void **state)
{
	struct clr_scan_result res;
	size_t len;
	unsigned char *osr = load("debian12-os-release", &len);
	struct clr_scan_file files[3] = {
		link_file("etc/os-release", "../usr/lib/os-release"),
		{ "usr/lib/os-release", osr, len, NULL },
		/* Ignored while os-release is there. */
		text_file("etc/debian_version", "11.2\n"),
	};

	(void)state;
	clr_scan_result_init(&res);
	assert_int_equal(scan(&clr_scanner_osrelease, files, 3, &res), 0);
	assert_dist(dist(&res), "debian", "Debian GNU/Linux", "12 (bookworm)",
		    "12", "bookworm", "Debian GNU/Linux 12 (bookworm)", "");
	clr_scan_result_release(&res);

	/* An absolute target, resolved against the layer root. */
	files[0] = link_file("etc/os-release", "/usr/lib/os-release");
	clr_scan_result_init(&res);
	assert_int_equal(scan(&clr_scanner_osrelease, files, 2, &res), 0);
	assert_string_equal(dist(&res)->version_id, "12");
	clr_scan_result_release(&res);

	/* Only usr/lib/os-release in the layer. */
	clr_scan_result_init(&res);
	assert_int_equal(scan(&clr_scanner_osrelease, files + 1, 1, &res), 0);
	assert_string_equal(dist(&res)->did, "debian");
	clr_scan_result_release(&res);

	/* A dangling link (its target in a lower layer): the fallback. */
	clr_scan_result_init(&res);
	files[1] = text_file("etc/debian_version", "12.5\n");
	assert_int_equal(scan(&clr_scanner_osrelease, files, 2, &res), 0);
	assert_dist(dist(&res), "debian", "Debian GNU/Linux", "12 (bookworm)",
		    "12", "bookworm", "Debian GNU/Linux 12 (bookworm)", "");
	clr_scan_result_release(&res);

	/* A symlink loop is no file at all. */
	files[0] = link_file("etc/os-release", "os-release2");
	files[1] = link_file("etc/os-release2", "../etc/./os-release");
	clr_scan_result_init(&res);
	assert_int_equal(scan(&clr_scanner_osrelease, files, 2, &res), 0);
	assert_int_equal(res.distributions.len, 0);
	clr_scan_result_release(&res);
	free(osr);
}

static void test_osrelease_alpine_and_alma(void **state)
{
	struct clr_scan_result res;
	struct clr_scan_file f;
	size_t len;
	unsigned char *a = load("alpine320-os-release", &len);

	(void)state;
	f = (struct clr_scan_file){ "etc/os-release", a, len, NULL };
	clr_scan_result_init(&res);
	assert_int_equal(scan(&clr_scanner_osrelease, &f, 1, &res), 0);
	assert_dist(dist(&res), "alpine", "Alpine Linux", "", "3.20.2", "",
		    "Alpine Linux v3.20", "");
	clr_scan_result_release(&res);
	free(a);

	a = load("alma9-os-release", &len);
	f = (struct clr_scan_file){ "usr/lib/os-release", a, len, NULL };
	clr_scan_result_init(&res);
	assert_int_equal(scan(&clr_scanner_osrelease, &f, 1, &res), 0);
	assert_dist(dist(&res), "almalinux", "AlmaLinux", "9.5 (Teal Serval)",
		    "9.5", "", "AlmaLinux 9.5 (Teal Serval)",
		    "cpe:/o:almalinux:almalinux:9::baseos");
	clr_scan_result_release(&res);
	free(a);
}

static void test_osrelease_syntax(void **state)
{
	struct clr_scan_result res;
	struct clr_scan_file f = text_file("etc/os-release",
		"# a comment\n"
		"\n"
		"ID=\"my\\\"distro\"\n"
		"NAME='single $quoted \\n'\n"
		"VERSION=unquoted\\ word\n"
		"PRETTY_NAME=\"a \\$b \\\\ c \\q\"\n"
		"VERSION_ID=1 # a trailing comment\n"
		"VERSION_ID=\"unterminated\n"
		"CPE_NAME=\"x\" trailing text\n"
		"  VERSION_CODENAME=ind\"ent\"ed\n"
		"not an assignment\n"
		"=novalue\n"
		"BAD KEY=x\n"
		"HOME_URL=\"https://example.invalid/\"");

	(void)state;
	clr_scan_result_init(&res);
	assert_int_equal(scan(&clr_scanner_osrelease, &f, 1, &res), 0);
	assert_dist(dist(&res), "my\"distro", "single $quoted \\n",
		    "unquoted word", "1", "indented", "a $b \\ c \\q", "");
	clr_scan_result_release(&res);

	/* An empty ID is no ID: the default. */
	f = text_file("etc/os-release", "ID=\nNAME=\"Alpine Linux\"\n");
	clr_scan_result_init(&res);
	assert_int_equal(scan(&clr_scanner_osrelease, &f, 1, &res), 0);
	assert_string_equal(dist(&res)->did, "linux");
	clr_scan_result_release(&res);

	/* Defaults from os-release(5) when only NAME is set; a file with
	 * neither ID nor NAME is no distribution, and the fallback speaks. */
	f = text_file("etc/os-release", "NAME=Thing\n");
	clr_scan_result_init(&res);
	assert_int_equal(scan(&clr_scanner_osrelease, &f, 1, &res), 0);
	assert_dist(dist(&res), "linux", "Thing", "", "", "", "Linux", "");
	clr_scan_result_release(&res);

	{
		struct clr_scan_file two[2] = {
			text_file("etc/os-release", "HOME_URL=x\n\x01\x02\n"),
			text_file("etc/alpine-release", "3.19.1\n"),
		};

		clr_scan_result_init(&res);
		assert_int_equal(scan(&clr_scanner_osrelease, two, 2, &res), 0);
		assert_string_equal(dist(&res)->did, "alpine");
		clr_scan_result_release(&res);
	}

	/* Debian before VERSION_CODENAME existed: taken from VERSION. */
	f = text_file("etc/os-release", "PRETTY_NAME=\"Debian GNU/Linux 8 "
		      "(jessie)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"8\"\n"
		      "VERSION=\"8 (jessie)\"\nID=debian\n");
	clr_scan_result_init(&res);
	assert_int_equal(scan(&clr_scanner_osrelease, &f, 1, &res), 0);
	assert_string_equal(dist(&res)->version_code_name, "jessie");
	clr_scan_result_release(&res);
}

static void test_osrelease_fallbacks(void **state)
{
	static const struct {
		const char *path, *text;
		const char *did, *name, *version, *version_id, *code, *pretty;
	} cases[] = {
		{ "etc/debian_version", "12.5\n", "debian", "Debian GNU/Linux",
		  "12 (bookworm)", "12", "bookworm",
		  "Debian GNU/Linux 12 (bookworm)" },
		{ "etc/debian_version", "9.13", "debian", "Debian GNU/Linux",
		  "9 (stretch)", "9", "stretch",
		  "Debian GNU/Linux 9 (stretch)" },
		{ "etc/debian_version", "trixie/sid\n", "debian",
		  "Debian GNU/Linux", "", "", "trixie",
		  "Debian GNU/Linux trixie/sid" },
		{ "etc/alpine-release", "3.19.1\n", "alpine", "Alpine Linux",
		  "", "3.19.1", "", "Alpine Linux v3.19" },
		{ "etc/alpine-release", "3.20.0_alpha20240329\n", "alpine",
		  "Alpine Linux", "", "3.20.0_alpha20240329", "",
		  "Alpine Linux edge" },
		{ "etc/almalinux-release",
		  "AlmaLinux release 9.3 (Shamrock Pink Squirrel)\n",
		  "almalinux", "AlmaLinux", "9.3 (Shamrock Pink Squirrel)",
		  "9.3", "", "AlmaLinux release 9.3 (Shamrock Pink Squirrel)" },
		{ "etc/centos-release", "CentOS Linux release 7.9.2009 (Core)\n",
		  "centos", "CentOS Linux", "7.9.2009 (Core)", "7", "",
		  "CentOS Linux release 7.9.2009 (Core)" },
		{ "etc/redhat-release",
		  "Red Hat Enterprise Linux release 8.9 (Ootpa)\n", "rhel",
		  "Red Hat Enterprise Linux", "8.9 (Ootpa)", "8.9", "",
		  "Red Hat Enterprise Linux release 8.9 (Ootpa)" },
		{ "etc/lsb-release",
		  "DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=22.04\n"
		  "DISTRIB_CODENAME=jammy\n"
		  "DISTRIB_DESCRIPTION=\"Ubuntu 22.04.3 LTS\"\n",
		  "ubuntu", "Ubuntu", "22.04", "22.04", "jammy",
		  "Ubuntu 22.04.3 LTS" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct clr_scan_file f = text_file(cases[i].path, cases[i].text);
		struct clr_scan_result res;

		clr_scan_result_init(&res);
		assert_int_equal(scan(&clr_scanner_osrelease, &f, 1, &res), 0);
		assert_dist(dist(&res), cases[i].did, cases[i].name,
			    cases[i].version, cases[i].version_id,
			    cases[i].code, cases[i].pretty, "");
		clr_scan_result_release(&res);
	}
}

static void test_osrelease_fallback_order(void **state)
{
	struct clr_scan_result res;
	/* Ubuntu has a debian_version too; lsb-release must win. */
	struct clr_scan_file ubuntu[2] = {
		text_file("etc/debian_version", "bookworm/sid\n"),
		text_file("etc/lsb-release", "DISTRIB_ID=Ubuntu\n"
			  "DISTRIB_RELEASE=24.04\nDISTRIB_CODENAME=noble\n"),
	};
	/* On Alma, redhat-release is a link to almalinux-release. */
	struct clr_scan_file alma[2] = {
		link_file("etc/redhat-release", "almalinux-release"),
		text_file("etc/almalinux-release",
			  "AlmaLinux release 9.0 (Emerald Puma)\n"),
	};

	(void)state;
	clr_scan_result_init(&res);
	assert_int_equal(scan(&clr_scanner_osrelease, ubuntu, 2, &res), 0);
	assert_string_equal(dist(&res)->did, "ubuntu");
	assert_string_equal(dist(&res)->version_code_name, "noble");
	clr_scan_result_release(&res);

	clr_scan_result_init(&res);
	assert_int_equal(scan(&clr_scanner_osrelease, alma, 1, &res), 0);
	assert_int_equal(res.distributions.len, 0); /* dangling alone */
	assert_int_equal(scan(&clr_scanner_osrelease, alma, 2, &res), 0);
	assert_string_equal(dist(&res)->version_id, "9.0");
	clr_scan_result_release(&res);

	/* Nothing recognisable: no distribution, no error. */
	{
		struct clr_scan_file junk[3] = {
			text_file("etc/debian_version", "not a version\n"),
			text_file("etc/alpine-release", "\x01\x02"),
			text_file("etc/redhat-release", "Hello world\n"),
		};

		clr_scan_result_init(&res);
		assert_int_equal(scan(&clr_scanner_osrelease, junk, 3, &res), 0);
		assert_int_equal(res.distributions.len, 0);
		clr_scan_result_release(&res);
	}
}

static void test_osrelease_size_cap(void **state)
{
	size_t big = 70 * 1024;
	char *text = malloc(big + 1);
	struct clr_scan_file f;
	struct clr_scan_result res;

	(void)state;
	memset(text, '#', big);
	memcpy(text, "ID=debian\n", 10);
	text[big] = '\0';
	f = text_file("etc/os-release", text);
	clr_scan_result_init(&res);
	assert_error(scan(&clr_scanner_osrelease, &f, 1, &res), CLR_ELIMIT,
		     "etc/os-release: 71680 bytes");
	assert_int_equal(res.distributions.len, 0);
	clr_scan_result_release(&res);
	free(text);
}

/* --- rpm ---------------------------------------------------------------- */

static size_t count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

/* The four packages make-rpmdb.sh installs (its gpg-pubkey skipped). */
static void assert_rpm_fixture(const struct clr_scan_result *res,
			       const char *db)
{
	assert_int_equal(res->packages.len, 4);
	assert_pkg(find_pkg(res, "clarion-hello"), "1.0-1.el9", "clarion-hello",
		   "1.0-1.el9", "noarch", "", db);
	assert_pkg(find_pkg(res, "clarion-epoch"), "2:0.9-4.el9",
		   "clarion-epoch", "2:0.9-4.el9", "noarch", "", db);
	assert_pkg(find_pkg(res, "clarion-tools-libs"), "3.1-2.el9",
		   "clarion-tools", "3.1-2.el9", "noarch", "", db);
	assert_pkg(find_pkg(res, "clarion-nodejs"),
		   "18.19.0-1.module_el9.3.0+35+6a1b9b2e", "clarion-nodejs",
		   "18.19.0-1.module_el9.3.0+35+6a1b9b2e", "noarch",
		   "nodejs:18", db);
}

/* A private TMPDIR, so the test can see that nothing is left behind. */
static char *tmpdir_setup(void)
{
	char *dir = strdup("/tmp/clarion-test-rpm-XXXXXX");

	assert_non_null(mkdtemp(dir));
	setenv("TMPDIR", dir, 1);
	return dir;
}

static void tmpdir_teardown(char *dir)
{
	assert_int_equal(count_entries(dir), 0);
	unsetenv("TMPDIR");
	rmdir(dir);
	free(dir);
}

static void test_rpm_sqlite(void **state)
{
	struct clr_scan_result res;
	size_t len;
	unsigned char *db = load("alma9-rpmdb.sqlite", &len);
	char *tmp = tmpdir_setup();
	struct clr_scan_file files[3] = {
		{ "var/lib/rpm/rpmdb.sqlite", db, len, NULL },
		text_file("etc/redhat-release", "AlmaLinux release 9.5\n"),
	};

	(void)state;
	clr_scan_result_init(&res);
	assert_int_equal(scan(&clr_scanner_rpm, files, 2, &res), 0);
	assert_rpm_fixture(&res, "var/lib/rpm/rpmdb.sqlite");
	clr_scan_result_release(&res);

	/* Fedora's layout: the db under usr/lib/sysimage, var/lib/rpm a
	 * link to it: one database, not two. */
	files[0] = (struct clr_scan_file){ "usr/lib/sysimage/rpm/rpmdb.sqlite",
					   db, len, NULL };
	files[1] = link_file("var/lib/rpm/rpmdb.sqlite",
			     "../../../usr/lib/sysimage/rpm/rpmdb.sqlite");
	files[2] = text_file("usr/lib/sysimage/rpm/rpmdb.sqlite-shm", "junk");
	clr_scan_result_init(&res);
	assert_int_equal(scan(&clr_scanner_rpm, files, 3, &res), 0);
	assert_rpm_fixture(&res, "var/lib/rpm/rpmdb.sqlite");
	clr_scan_result_release(&res);
	tmpdir_teardown(tmp);
	free(db);
}

static unsigned char *read_path(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *d;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	d = malloc(n ? (size_t)n : 1);
	assert_int_equal(fread(d, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return d;
}

/* The write-ahead log can hold the last transaction rpm made (here: an
 * erase); a scanner that ignored it would report a removed package. */
static void test_rpm_sqlite_wal_is_read(void **state)
{
	char dir[] = "/tmp/clarion-test-wal-XXXXXX", path[128], wpath[160];
	struct clr_scan_result res;
	size_t len, mlen, wlen;
	unsigned char *db = load("alma9-rpmdb.sqlite", &len);
	unsigned char *main_db, *wal;
	char *tmp;
	sqlite3 *conn;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/rpmdb.sqlite", dir);
	snprintf(wpath, sizeof(wpath), "%s-wal", path);
	f = fopen(path, "wb");
	assert_int_equal(fwrite(db, 1, len, f), len);
	fclose(f);
	assert_int_equal(sqlite3_open(path, &conn), SQLITE_OK);
	assert_int_equal(sqlite3_exec(conn, "PRAGMA wal_autocheckpoint=0; "
				      "DELETE FROM Packages WHERE instr(blob, "
				      "CAST('clarion-hello' AS BLOB)) > 0",
				      NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_changes(conn), 1);
	/* Both files as they are while rpm still has the database open. */
	main_db = read_path(path, &mlen);
	wal = read_path(wpath, &wlen);
	assert_true(wlen > 0);
	sqlite3_close(conn);

	tmp = tmpdir_setup();
	{
		struct clr_scan_file files[2] = {
			{ "var/lib/rpm/rpmdb.sqlite", main_db, mlen, NULL },
			{ "var/lib/rpm/rpmdb.sqlite-wal", wal, wlen, NULL },
		};

		clr_scan_result_init(&res);
		assert_int_equal(scan(&clr_scanner_rpm, files, 1, &res), 0);
		assert_int_equal(res.packages.len, 4);
		clr_scan_result_truncate(&res, 0, 0);
		assert_int_equal(scan(&clr_scanner_rpm, files, 2, &res), 0);
		assert_int_equal(res.packages.len, 3);
		for (size_t i = 0; i < 3; i++)
			assert_string_not_equal(pkg(&res, i)->name,
						"clarion-hello");
		clr_scan_result_release(&res);
	}
	tmpdir_teardown(tmp);
	unlink(wpath);
	snprintf(wpath, sizeof(wpath), "%s-shm", path);
	unlink(wpath);
	unlink(path);
	rmdir(dir);
	free(main_db);
	free(wal);
	free(db);
}

static void test_rpm_berkeley_db(void **state)
{
	struct clr_scan_result res;
	size_t len;
	unsigned char *db = load("rpmdb-Packages.bdb", &len);
	char *tmp = tmpdir_setup();
	struct clr_scan_file f = { "var/lib/rpm/Packages", db, len, NULL };

	(void)state;
	clr_scan_result_init(&res);
	assert_int_equal(scan(&clr_scanner_rpm, &f, 1, &res), 0);
	assert_rpm_fixture(&res, "var/lib/rpm/Packages");

	/* Cut short: an error, not fewer packages. */
	f.len = len / 2;
	assert_error(scan(&clr_scanner_rpm, &f, 1, &res), CLR_EINVALID,
		     "var/lib/rpm/Packages: truncated or padded Berkeley DB");
	assert_int_equal(res.packages.len, 4);

	/* A damaged header (in the second package's data): its digest no
	 * longer matches, which librpm logs and we turn into an error. */
	{
		unsigned char *copy = malloc(len);
		size_t bad = 0;

		for (size_t off = 4096; off + 64 <= len; off += 64) {
			memcpy(copy, db, len);
			for (int i = 0; i < 64; i++)
				copy[off + i] ^= 0x5a;
			f.data = copy;
			f.len = len;
			clr_scan_result_truncate(&res, 0, 0);
			if (!scan(&clr_scanner_rpm, &f, 1, &res))
				assert_int_equal(res.packages.len, 4);
			else
				bad++;
		}
		/* Some damage hits unused space; much does not. */
		assert_true(bad > 10);
		free(copy);
	}
	clr_scan_result_release(&res);
	tmpdir_teardown(tmp);
	free(db);
}

static void test_rpm_ndb_is_unsupported(void **state)
{
	struct clr_scan_result res;
	struct clr_scan_file files[2] = {
		text_file("var/lib/rpm/Packages.db", "RpmP...."),
		text_file("usr/lib/sysimage/rpm/Packages.db", "RpmP...."),
	};

	(void)state;
	clr_scan_result_init(&res);
	assert_error(scan(&clr_scanner_rpm, files, 1, &res), CLR_EUNSUPPORTED,
		     "rpm ndb database var/lib/rpm/Packages.db is not "
		     "supported");
	assert_error(scan(&clr_scanner_rpm, files + 1, 1, &res),
		     CLR_EUNSUPPORTED,
		     "rpm ndb database usr/lib/sysimage/rpm/Packages.db");
	assert_int_equal(res.packages.len, 0);
	clr_scan_result_release(&res);
}

static void test_rpm_corrupt_databases(void **state)
{
	struct clr_scan_result res;
	size_t len;
	unsigned char *db = load("alma9-rpmdb.sqlite", &len);
	unsigned char *copy = malloc(len);
	char *tmp = tmpdir_setup();
	struct clr_scan_file f = { "var/lib/rpm/rpmdb.sqlite", copy, len, NULL };
	int err;

	(void)state;
	clr_scan_result_init(&res);

	/* Not a database at all. */
	memset(copy, 'x', len);
	assert_error(scan(&clr_scanner_rpm, &f, 1, &res), CLR_EINVALID,
		     "var/lib/rpm/rpmdb.sqlite: not a sqlite rpm database");

	/* The right magic, garbage after it. */
	memcpy(copy, db, 100);
	for (size_t i = 100; i < len; i++)
		copy[i] = (unsigned char)(i * 131 + 7);
	err = scan(&clr_scanner_rpm, &f, 1, &res);
	assert_int_equal(err, CLR_EINVALID);
	assert_true(strstr(clr_error_msg(), "var/lib/rpm/rpmdb.sqlite") !=
		    NULL);

	/* Truncated: half the pages missing. */
	memcpy(copy, db, len);
	f.len = len / 2;
	assert_int_equal(scan(&clr_scanner_rpm, &f, 1, &res), CLR_EINVALID);

	/* Every page after the first few overwritten. */
	f.len = len;
	memset(copy + 8192, 0xa5, len - 8192);
	assert_int_equal(scan(&clr_scanner_rpm, &f, 1, &res), CLR_EINVALID);

	/* Damage anywhere: an error or the full list, never a shorter one. */
	for (size_t off = 0; off + 128 <= len; off += 2048) {
		memcpy(copy, db, len);
		for (int i = 0; i < 128; i++)
			copy[off + i] ^= 0x3c;
		clr_scan_result_truncate(&res, 0, 0);
		if (!scan(&clr_scanner_rpm, &f, 1, &res))
			assert_int_equal(res.packages.len, 4);
	}

	/* A Berkeley DB name with sqlite bytes in it. */
	f = (struct clr_scan_file){ "var/lib/rpm/Packages", db, len, NULL };
	assert_error(scan(&clr_scanner_rpm, &f, 1, &res), CLR_EINVALID,
		     "not a Berkeley DB rpm database");
	assert_int_equal(res.packages.len, 0);
	clr_scan_result_release(&res);
	tmpdir_teardown(tmp);
	free(copy);
	free(db);
}

/* --- all of them on one layer ------------------------------------------- */

static void test_every_scanner_on_one_layer(void **state)
{
	struct clr_scan_result res;
	size_t slen, olen;
	unsigned char *status = load("debian12-status", &slen);
	unsigned char *osr = load("debian12-os-release", &olen);
	struct clr_scan_file files[4] = {
		{ "usr/lib/os-release", osr, olen, NULL },
		link_file("etc/os-release", "../usr/lib/os-release"),
		{ "var/lib/dpkg/status", status, slen, NULL },
		text_file("usr/share/doc/README", "not wanted by anyone"),
	};
	struct clr_scan_input in = { files, 4 };

	(void)state;
	clr_scan_result_init(&res);
	for (size_t i = 0; i < clr_scanners_count; i++)
		assert_int_equal(clr_scanners[i]->scan(&in, &res), 0);
	assert_int_equal(res.packages.len, 858);
	assert_string_equal(dist(&res)->version_code_name, "bookworm");
	clr_scan_result_release(&res);
	free(status);
	free(osr);
}

static void test_lookup_paths(void **state)
{
	struct clr_scan_file files[4] = {
		text_file("/a/b/file", "x"),
		link_file("./c/link", "../../../a/./b//file"),
		link_file("d", "c/link"),
		link_file("e", "/nowhere"),
	};
	struct clr_scan_input in = { files, 4 };
	const char *resolved = NULL;

	(void)state;
	assert_ptr_equal(clr_scan_input_lookup(&in, "a/b/file", &resolved),
			 &files[0]);
	assert_string_equal(resolved, "a/b/file");
	assert_ptr_equal(clr_scan_input_lookup(&in, "c/link", NULL), &files[0]);
	assert_ptr_equal(clr_scan_input_lookup(&in, "/d", &resolved),
			 &files[0]);
	assert_null(clr_scan_input_lookup(&in, "e", NULL));
	assert_null(clr_scan_input_lookup(&in, "missing", NULL));
	assert_string_equal(clr_scan_path_strip("/././/x"), "x");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_and_want),
		cmocka_unit_test(test_state_stable_and_changes_with_a_version),
		cmocka_unit_test(test_lookup_paths),
		cmocka_unit_test(test_dpkg_debian12_matches_dpkg_query),
		cmocka_unit_test(test_dpkg_only_installed_packages),
		cmocka_unit_test(test_dpkg_distroless_status_d),
		cmocka_unit_test(test_dpkg_status_and_status_d_together),
		cmocka_unit_test(test_dpkg_corrupt_is_an_error_not_a_short_list),
		cmocka_unit_test(test_dpkg_real_file_damaged),
		cmocka_unit_test(test_dpkg_caps),
		cmocka_unit_test(test_failed_scan_leaves_result_as_it_was),
		cmocka_unit_test(test_apk_alpine320),
		cmocka_unit_test(test_apk_edge_cases),
		cmocka_unit_test(test_apk_corrupt),
		cmocka_unit_test(test_osrelease_debian12_through_the_symlink),
		cmocka_unit_test(test_osrelease_alpine_and_alma),
		cmocka_unit_test(test_osrelease_syntax),
		cmocka_unit_test(test_osrelease_fallbacks),
		cmocka_unit_test(test_osrelease_fallback_order),
		cmocka_unit_test(test_osrelease_size_cap),
		cmocka_unit_test(test_rpm_sqlite),
		cmocka_unit_test(test_rpm_sqlite_wal_is_read),
		cmocka_unit_test(test_rpm_berkeley_db),
		cmocka_unit_test(test_rpm_ndb_is_unsupported),
		cmocka_unit_test(test_rpm_corrupt_databases),
		cmocka_unit_test(test_every_scanner_on_one_layer),
	};

	return cmocka_run_group_tests_name("scanners", tests, NULL, NULL);
}
