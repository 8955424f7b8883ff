/*
 * ubuntu/updater.c - Ubuntu's CVE OVAL, one updater per series
 * ("ubuntu/jammy"), as Clair's ubuntu updater set.
 *
 * Canonical publishes com.ubuntu.<series>.cve.oval.xml.bz2 for every
 * supported series (ESM ones included).  Each definition is one CVE; its
 * criteria extend the series' inventory definition ("Ubuntu 22.04 LTS is
 * installed") and list one dpkginfo test per source package: with an evr
 * "less than" state when fixed, without a state when still vulnerable
 * (needed, deferred, needs-triage...), whose object names the source's
 * binary packages through a constant_variable.  The engine (feeds/oval.c)
 * turns that into one record per binary package; kernel CVEs are checked
 * against the running kernel (uname) only and so make no record for an
 * image.
 *
 * Settings (updaters.config.ubuntu):
 *   series  the series to follow, space- or comma-separated (default
 *           "focal jammy noble resolute": the releases Canonical still
 *           supports, LTS under ESM included, as of 2026-11)
 *   url     a template with {series}; per updater "ubuntu/<series>.url"
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "feeds/oval.h"
#include "updater/updater.h"
#include "util/alloc.h"
#include "util/error.h"

#define DEFAULT_SERIES "focal jammy noble resolute"
#define DEFAULT_URL "https://security-metadata.canonical.com/oval/" \
		    "com.ubuntu.{series}.cve.oval.xml.bz2"

/* Series to VERSION_ID, for when a definition's platform does not say
 * (distro-info-data's ubuntu.csv). */
static const struct {
	const char *series, *version;
} series_table[] = {
	{ "trusty", "14.04" },   { "xenial", "16.04" },
	{ "bionic", "18.04" },   { "focal", "20.04" },
	{ "jammy", "22.04" },    { "kinetic", "22.10" },
	{ "lunar", "23.04" },    { "mantic", "23.10" },
	{ "noble", "24.04" },    { "oracular", "24.10" },
	{ "plucky", "25.04" },   { "questing", "25.10" },
	{ "resolute", "26.04" },
};

struct ubuntu {
	char *series;
	char version_id[16];  /* from the table, else from the platform */
	char version[48];     /* "22.04 LTS" as the platform writes it */
};

/* Ubuntu priorities (Clair's ubuntu severity map). */
static enum clr_severity normalize(const char *s)
{
	static const struct {
		const char *name;
		enum clr_severity sev;
	} map[] = {
		{ "untriaged", CLR_SEV_UNKNOWN },
		{ "negligible", CLR_SEV_NEGLIGIBLE },
		{ "low", CLR_SEV_LOW },
		{ "medium", CLR_SEV_MEDIUM },
		{ "high", CLR_SEV_HIGH },
		{ "critical", CLR_SEV_CRITICAL },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcasecmp(s, map[i].name))
			return map[i].sev;
	return CLR_SEV_UNKNOWN;
}

/* "Ubuntu 22.04 LTS" -> "22.04" and "22.04 LTS". */
static void from_platform(struct ubuntu *ub, const char *platform)
{
	const char *s;
	size_t n = 0;

	if (strncmp(platform, "Ubuntu ", 7))
		return;
	s = platform + 7;
	while ((s[n] >= '0' && s[n] <= '9') || s[n] == '.')
		n++;
	if (!n || n >= sizeof(ub->version_id))
		return;
	if (!ub->version_id[0])
		memcpy(ub->version_id, s, n);
	if (!ub->version[0] && strlen(s) < sizeof(ub->version))
		strcpy(ub->version, s);
}

static int emit(void *arg, const struct clr_oval_definition *def,
		const struct clr_oval_leaf *leaf, struct clr_vuln *v)
{
	struct ubuntu *ub = arg;

	(void)leaf;
	/* the CVE id names the record; the title says "CVE-... on Ubuntu
	 * 22.04 LTS (jammy) - medium" */
	for (size_t i = 0; i < def->nrefs; i++) {
		if (!strcmp(def->refs[i].source, "CVE") &&
		    *def->refs[i].ref_id) {
			v->name = def->refs[i].ref_id;
			break;
		}
	}
	if (!*v->severity && def->ncves)
		v->severity = def->cves[0].priority;
	v->normalized_severity = normalize(v->severity);
	for (size_t i = 0; i < def->nplatforms; i++)
		from_platform(ub, def->platforms[i]);
	/* dpkginfo objects name binary packages (OVAL's dpkginfo probes
	 * installed packages); Canonical lists each source's binaries */
	v->package_kind = "binary";
	v->dist_did = "ubuntu";
	v->dist_name = "Ubuntu";
	v->dist_version_id = ub->version_id;
	v->dist_version = ub->version[0] ? ub->version : ub->version_id;
	v->dist_version_code_name = ub->series;
	return 0;
}

static void ubuntu_free(void *arg)
{
	struct ubuntu *ub = arg;

	if (ub) {
		free(ub->series);
		free(ub);
	}
}

static int create(struct clr_vec *out,
		  const char *(*setting)(void *arg, const char *key), void *arg)
{
	struct clr_vec words;
	int err;

	if ((err = clr_oval_words_setting(&words, setting, arg, "ubuntu",
					  "series", DEFAULT_SERIES)))
		return err;
	for (size_t i = 0; i < words.len; i++) {
		const char *series = *(char **)clr_vec_get(&words, i);
		struct ubuntu *ub = clr_calloc(1, sizeof(*ub));
		struct clr_oval_updater_spec spec = {
			.scheme = CLR_VS_DPKG,
			.emit = emit,
			.arg = ub,
			.free_arg = ubuntu_free,
		};
		char name[160];

		ub->series = clr_strdup(series);
		for (size_t k = 0; k < sizeof(series_table) /
				       sizeof(series_table[0]); k++)
			if (!strcmp(series, series_table[k].series))
				strcpy(ub->version_id, series_table[k].version);
		snprintf(name, sizeof(name), "ubuntu/%s", series);
		spec.name = name;
		clr_oval_updater_add(out, &spec, setting, arg, DEFAULT_URL,
				     "series", series);
	}
	clr_oval_words_free(&words);
	return 0;
}

const struct clr_updater_factory clr_factory_ubuntu = {
	.name = "ubuntu",
	.create = create,
};
