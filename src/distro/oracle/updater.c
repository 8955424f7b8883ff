/*
 * oracle/updater.c - Oracle Linux ELSA OVAL, one updater per year
 * ("oracle-2024"), as Clair's oracle updater set, or one for the whole
 * history ("oracle").
 *
 * linux.oracle.com publishes com.oracle.elsa-<year>.xml.bz2 for every year
 * since 2007 and com.oracle.elsa-all.xml.bz2 with all of them.  A
 * definition is one ELSA for one Oracle Linux release: "Oracle Linux 8 is
 * installed" (oraclelinux-release version ^8) AND, since 2021, per
 * architecture "Oracle Linux arch is aarch64" AND the (package earlier
 * than E:V-R AND signed with the Oracle Linux key [AND ksplice-based])
 * groups.  The release, arch and ksplice checks are conditions on the
 * record (tests on oraclelinux-release and the package itself, which the
 * matcher evaluates against the image's rpm database); the release number
 * also becomes the record's VERSION_ID, from <platform>Oracle Linux 8.
 *
 * Settings (updaters.config.oracle):
 *   years  "all" (one updater over elsa-all), or years and ranges,
 *          "2007-2026 2030" (default: 2007 to the current year)
 *   url    a template with {year}; per updater "oracle-<year>.url"
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "feeds/oval.h"
#include "updater/updater.h"
#include "util/alloc.h"
#include "util/error.h"

#define FIRST_YEAR 2007
#define DEFAULT_URL "https://linux.oracle.com/security/oval/" \
		    "com.oracle.elsa-{year}.xml.bz2"

static int emit(void *arg, const struct clr_oval_definition *def,
		const struct clr_oval_leaf *leaf, struct clr_vuln *v)
{
	char *version = arg; /* a scratch buffer of the updater */

	(void)leaf;
	for (size_t i = 0; i < def->nrefs; i++) {
		if (!strcasecmp(def->refs[i].source, "elsa") &&
		    *def->refs[i].ref_id) {
			v->name = def->refs[i].ref_id;
			break;
		}
	}
	v->normalized_severity = clr_severity_from_rating(v->severity);
	/* an ELSA is for one release: the first "Oracle Linux N" */
	version[0] = '\0';
	for (size_t i = 0; i < def->nplatforms && !version[0]; i++) {
		const char *p = def->platforms[i];
		size_t n;

		if (strncmp(p, "Oracle Linux ", 13))
			continue;
		p += 13;
		n = strspn(p, "0123456789");
		if (n && n < 16 && !p[n]) {
			memcpy(version, p, n);
			version[n] = '\0';
		}
	}
	v->dist_did = "ol";
	v->dist_name = "Oracle Linux Server";
	v->dist_version = version;
	v->dist_version_id = version;
	return 0;
}

static void add(struct clr_vec *out,
		const char *(*setting)(void *arg, const char *key), void *arg,
		const char *name, const char *year)
{
	struct clr_oval_updater_spec spec = {
		.name = name,
		.scheme = CLR_VS_RPM,
		.emit = emit,
		.arg = clr_calloc(1, 16),
		.free_arg = free,
	};

	clr_oval_updater_add(out, &spec, setting, arg, DEFAULT_URL, "year",
			     year);
}

static int create(struct clr_vec *out,
		  const char *(*setting)(void *arg, const char *key), void *arg)
{
	struct clr_vec words;
	char def[32], name[64], year[16];
	time_t now = time(NULL);
	size_t start = out->len;
	struct tm tm;
	int err;

	gmtime_r(&now, &tm);
	snprintf(def, sizeof(def), "%d-%d", FIRST_YEAR, tm.tm_year + 1900);
	if ((err = clr_oval_words_setting(&words, setting, arg, "oracle",
					  "years", def)))
		return err;
	for (size_t i = 0; i < words.len; i++) {
		const char *w = *(char **)clr_vec_get(&words, i);
		unsigned a, b;
		int n = 0;

		if (!strcmp(w, "all")) {
			add(out, setting, arg, "oracle", "all");
			continue;
		}
		if (sscanf(w, "%4u-%4u%n", &a, &b, &n) == 2 && !w[n]) {
			/* a range */
		} else if (sscanf(w, "%4u%n", &a, &n) == 1 && !w[n]) {
			b = a;
		} else {
			a = 1;
			b = 0;
		}
		if (a < FIRST_YEAR || b < a || b > 9999) {
			err = clr_error_set(CLR_EINVALID, "updaters.config."
					     "oracle.years: '%s' is not a year "
					     "(%d or later), a range or "
					     "\"all\"", w, FIRST_YEAR);
			clr_oval_words_free(&words);
			clr_oval_updaters_drop(out, start);
			return err;
		}
		for (unsigned y = a; y <= b; y++) {
			snprintf(year, sizeof(year), "%u", y);
			snprintf(name, sizeof(name), "oracle-%u", y);
			add(out, setting, arg, name, year);
		}
	}
	clr_oval_words_free(&words);
	return 0;
}

const struct clr_updater_factory clr_factory_oracle = {
	.name = "oracle",
	.create = create,
};
