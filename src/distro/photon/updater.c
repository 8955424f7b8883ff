/*
 * photon/updater.c - VMware Photon OS OVAL, one updater per release
 * ("photon-3.0"), as Clair's photon updater set.
 *
 * packages.vmware.com/photon/photon_oval_definitions/ has
 * com.vmware.phsa-photon<N>.xml.gz per release.  A definition is one PHSA
 * advisory: "Photon OS 3 is installed" (photon-release version ^3[^\d])
 * AND an OR over (package earlier than E:V-R AND signed with VMware's key)
 * pairs -- the same shape as Red Hat's, so the records carry the release
 * and key checks as conditions.
 *
 * Settings (updaters.config.photon):
 *   releases  "1.0 2.0 3.0 4.0 5.0" by default (os-release VERSION_ID)
 *   url       a template with {major} (the release's major number); per
 *             updater "photon-<release>.url"
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "feeds/oval.h"
#include "updater/updater.h"
#include "util/alloc.h"
#include "util/error.h"

#define DEFAULT_RELEASES "1.0 2.0 3.0 4.0 5.0"
#define DEFAULT_URL "https://packages.vmware.com/photon/" \
		    "photon_oval_definitions/com.vmware.phsa-photon{major}.xml.gz"

struct photon {
	char release[16]; /* "3.0" */
	char id[64];      /* the advisory id of the record being emitted */
};

static int emit(void *arg, const struct clr_oval_definition *def,
		const struct clr_oval_leaf *leaf, struct clr_vuln *v)
{
	struct photon *ph = arg;
	size_t n;

	(void)leaf;
	/* "PHSA-2020:00001 sqlite Security Update. (Important)": the
	 * advisory id is the title's first word (the PHSA reference's ref_id
	 * is "PHSA:00001:3.0:0036") */
	n = strcspn(def->title, " \t");
	if (n && n < sizeof(ph->id) && !strncmp(def->title, "PHSA-", 5)) {
		memcpy(ph->id, def->title, n);
		ph->id[n] = '\0';
		v->name = ph->id;
	}
	v->normalized_severity = clr_severity_from_rating(v->severity);
	v->dist_did = "photon";
	v->dist_name = "VMware Photon OS";
	v->dist_version = ph->release;
	v->dist_version_id = ph->release;
	return 0;
}

static int create(struct clr_vec *out,
		  const char *(*setting)(void *arg, const char *key), void *arg)
{
	struct clr_vec words;
	size_t start = out->len;
	int err;

	if ((err = clr_oval_words_setting(&words, setting, arg, "photon",
					  "releases", DEFAULT_RELEASES)))
		return err;
	for (size_t i = 0; i < words.len; i++) {
		const char *rel = *(char **)clr_vec_get(&words, i);
		size_t major = strspn(rel, "0123456789");
		struct clr_oval_updater_spec spec = {
			.scheme = CLR_VS_RPM,
			.emit = emit,
			.free_arg = free,
		};
		char name[160], maj[16];
		struct photon *ph;

		if (!major || major >= sizeof(maj) || strlen(rel) >= 16 ||
		    (rel[major] && (rel[major] != '.' ||
				    strspn(rel + major + 1, "0123456789") !=
					    strlen(rel + major + 1)))) {
			err = clr_error_set(CLR_EINVALID, "updaters.config."
					     "photon.releases: '%s' is not a "
					     "release (3.0)", rel);
			clr_oval_words_free(&words);
			clr_oval_updaters_drop(out, start);
			return err;
		}
		memcpy(maj, rel, major);
		maj[major] = '\0';
		ph = clr_calloc(1, sizeof(*ph));
		strcpy(ph->release, rel);
		snprintf(name, sizeof(name), "photon-%s", rel);
		spec.name = name;
		spec.arg = ph;
		clr_oval_updater_add(out, &spec, setting, arg, DEFAULT_URL,
				     "major", maj);
	}
	clr_oval_words_free(&words);
	return 0;
}

const struct clr_updater_factory clr_factory_photon = {
	.name = "photon",
	.create = create,
};
