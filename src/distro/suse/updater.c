/*
 * suse/updater.c - SUSE's OVAL for SUSE Linux Enterprise Server and
 * openSUSE Leap, one updater per release ("suse/sles-15",
 * "suse/opensuse-leap-15.6").
 *
 * ftp.suse.com/pub/projects/security/oval/ has one document per product
 * release: suse.linux.enterprise.server.<N>.xml.gz covers every service
 * pack of SLES N, opensuse.leap.<X.Y>.xml.gz one Leap release.  A
 * definition is one CVE: an OR over "<product> <N> [SP<M>] is installed"
 * (rpminfo tests on the product's -release package, version equals 15.2)
 * AND an OR over "package is < V" tests (arch pattern and evr less than,
 * check="all").  The service-pack checks stay conditions of the records,
 * so one updater serves every SP of a major release; "not affected"
 * entries (version equals 0) have no package leaf and make no record.
 *
 * Settings (updaters.config.suse):
 *   releases  "sles-<N>" and "opensuse-leap-<X.Y>", space- or
 *             comma-separated (default "sles-12 sles-15
 *             opensuse-leap-15.6")
 *   url       a template with {file} (the document's name without
 *             ".xml.gz"); per updater "suse/<release>.url"
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "feeds/oval.h"
#include "updater/updater.h"
#include "util/alloc.h"
#include "util/error.h"

#define DEFAULT_RELEASES "sles-12 sles-15 opensuse-leap-15.6"
#define DEFAULT_URL "https://ftp.suse.com/pub/projects/security/oval/" \
		    "{file}.xml.gz"

struct suse {
	const char *did;       /* "sles", "opensuse-leap" (static) */
	const char *dist_name; /* os-release NAME (static) */
	char *version;         /* "15", "15.6" */
};

static int emit(void *arg, const struct clr_oval_definition *def,
		const struct clr_oval_leaf *leaf, struct clr_vuln *v)
{
	struct suse *su = arg;

	(void)leaf;
	/* the title is the CVE id; references say "Mitre CVE-..." */
	if (!*v->severity && def->ncves)
		v->severity = def->cves[0].impact;
	v->normalized_severity = clr_severity_from_rating(v->severity);
	v->dist_did = su->did;
	v->dist_name = su->dist_name;
	v->dist_version = su->version;
	v->dist_version_id = su->version;
	return 0;
}

static void suse_free(void *arg)
{
	struct suse *su = arg;

	if (su) {
		free(su->version);
		free(su);
	}
}

static bool version_ok(const char *v, bool dotted)
{
	size_t n = strspn(v, "0123456789");

	if (!n)
		return false;
	if (!dotted)
		return !v[n];
	if (v[n] != '.' || !v[n + 1])
		return false;
	return strspn(v + n + 1, "0123456789") == strlen(v + n + 1);
}

static int create(struct clr_vec *out,
		  const char *(*setting)(void *arg, const char *key), void *arg)
{
	struct clr_vec words;
	size_t start = out->len;
	int err;

	if ((err = clr_oval_words_setting(&words, setting, arg, "suse",
					  "releases", DEFAULT_RELEASES)))
		return err;
	for (size_t i = 0; i < words.len; i++) {
		const char *w = *(char **)clr_vec_get(&words, i);
		struct clr_oval_updater_spec spec = {
			.scheme = CLR_VS_RPM,
			.emit = emit,
			.free_arg = suse_free,
		};
		char name[192], file[192];
		struct suse *su;

		su = clr_calloc(1, sizeof(*su));
		if (!strncmp(w, "sles-", 5) && version_ok(w + 5, false)) {
			su->did = "sles";
			su->dist_name = "SLES";
			su->version = clr_strdup(w + 5);
			snprintf(file, sizeof(file),
				 "suse.linux.enterprise.server.%s", w + 5);
		} else if (!strncmp(w, "opensuse-leap-", 14) &&
			   version_ok(w + 14, true)) {
			su->did = "opensuse-leap";
			su->dist_name = "openSUSE Leap";
			su->version = clr_strdup(w + 14);
			snprintf(file, sizeof(file), "opensuse.leap.%s", w + 14);
		} else {
			free(su);
			err = clr_error_set(CLR_EINVALID, "updaters.config."
					     "suse.releases: '%s' is not "
					     "sles-<N> or opensuse-leap-<X.Y>",
					     w);
			clr_oval_words_free(&words);
			clr_oval_updaters_drop(out, start);
			return err;
		}
		snprintf(name, sizeof(name), "suse/%s", w);
		spec.name = name;
		spec.arg = su;
		clr_oval_updater_add(out, &spec, setting, arg, DEFAULT_URL,
				     "file", file);
	}
	clr_oval_words_free(&words);
	return 0;
}

const struct clr_updater_factory clr_factory_suse = {
	.name = "suse",
	.create = create,
};
