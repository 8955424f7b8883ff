/*
 * rhel/updater.c - Red Hat's OVAL (v2), one updater per major release
 * ("rhel-8").
 *
 * Red Hat publishes one OVAL document per release stream under
 * security/data/oval/v2/RHEL<N>/: rhel-<N>.oval.xml.bz2 holds the RHSA
 * patch definitions, rhel-<N>-including-unpatched.oval.xml.bz2 adds the
 * CVEs that have no fix yet (class "vulnerability", existence tests: the
 * records have an empty fixed version).  Each RHSA's criteria are "Red Hat
 * Enterprise Linux N is installed" AND an OR over (package earlier than
 * E:V-R AND signed with Red Hat's key) pairs, with "Module X:Y is enabled"
 * for modular content; the engine keeps the epoch, the module (as
 * package_module) and the advisory's affected CPE list (the content sets
 * a package must come from), which the matcher checks against the
 * image's repositories.
 *
 * Clair moved from this feed to CSAF/VEX (rhel-vex); OVAL v2 is still
 * published and is what DESIGN.md asks for here.
 *
 * Settings (updaters.config.rhel):
 *   releases   major releases, space- or comma-separated (default
 *              "7 8 9 10")
 *   unpatched  "true": follow the -including-unpatched documents
 *   url        a template with {release}; per updater "rhel-<N>.url"
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "feeds/oval.h"
#include "updater/updater.h"
#include "util/alloc.h"
#include "util/error.h"

#define DEFAULT_RELEASES "7 8 9 10"
#define BASE_URL "https://access.redhat.com/security/data/oval/v2/"
#define DEFAULT_URL BASE_URL "RHEL{release}/rhel-{release}.oval.xml.bz2"
#define UNPATCHED_URL BASE_URL "RHEL{release}/" \
		      "rhel-{release}-including-unpatched.oval.xml.bz2"

struct rhel {
	char *release;
};

static int emit(void *arg, const struct clr_oval_definition *def,
		const struct clr_oval_leaf *leaf, struct clr_vuln *v)
{
	struct rhel *rh = arg;

	(void)leaf;
	/* RHSA-2019:0966 (patch definitions), else the CVE (unpatched
	 * "vulnerability" definitions) */
	for (int pass = 0; pass < 2; pass++) {
		const char *want = pass ? "CVE" : "RHSA";
		size_t i;

		for (i = 0; i < def->nrefs; i++)
			if (!strcmp(def->refs[i].source, want) &&
			    *def->refs[i].ref_id)
				break;
		if (i < def->nrefs) {
			v->name = def->refs[i].ref_id;
			break;
		}
	}
	v->normalized_severity = clr_severity_from_rating(v->severity);
	v->dist_did = "rhel";
	v->dist_name = "Red Hat Enterprise Linux";
	v->dist_version = rh->release;
	v->dist_version_id = rh->release;
	return 0;
}

static void rhel_free(void *arg)
{
	struct rhel *rh = arg;

	if (rh) {
		free(rh->release);
		free(rh);
	}
}

static int create(struct clr_vec *out,
		  const char *(*setting)(void *arg, const char *key), void *arg)
{
	const char *unpatched = setting ? setting(arg, "unpatched") : NULL;
	bool up = unpatched && (!strcasecmp(unpatched, "true") ||
				!strcmp(unpatched, "1"));
	struct clr_vec words;
	size_t start = out->len;
	int err;

	if ((err = clr_oval_words_setting(&words, setting, arg, "rhel",
					  "releases", DEFAULT_RELEASES)))
		return err;
	for (size_t i = 0; i < words.len; i++) {
		const char *rel = *(char **)clr_vec_get(&words, i);
		struct rhel *rh;
		struct clr_oval_updater_spec spec = {
			.scheme = CLR_VS_RPM,
			.keep_cpes = true,
			.emit = emit,
			.free_arg = rhel_free,
		};
		char name[160];

		if (strspn(rel, "0123456789") != strlen(rel)) {
			err = clr_error_set(CLR_EINVALID, "updaters.config."
					     "rhel.releases: '%s' is not a "
					     "major release number", rel);
			clr_oval_words_free(&words);
			clr_oval_updaters_drop(out, start);
			return err;
		}
		rh = clr_calloc(1, sizeof(*rh));
		rh->release = clr_strdup(rel);
		snprintf(name, sizeof(name), "rhel-%s", rel);
		spec.name = name;
		spec.arg = rh;
		clr_oval_updater_add(out, &spec, setting, arg,
				     up ? UNPATCHED_URL : DEFAULT_URL,
				     "release", rel);
	}
	clr_oval_words_free(&words);
	return 0;
}

const struct clr_updater_factory clr_factory_rhel = {
	.name = "rhel",
	.create = create,
};
