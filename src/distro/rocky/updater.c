/*
 * updater.c - the Rocky Linux source: the Rocky Enterprise Software
 * Foundation's OSV advisories (RLSA, RLBA, RLEA), one updater per major
 * release: "rocky-8", "rocky-9".
 *
 * Rocky publishes its errata to osv.dev, which exports them as one zip for
 * the "Rocky Linux" ecosystem; every updater reads it and keeps the records
 * of "Rocky Linux:<major>" (src/feeds/osv.c does the work).  As for
 * AlmaLinux, the severity is Red Hat's word at the start of the summary
 * ("Important: ..."), before the CVSS vector Rocky also gives, and a
 * modular package's stream is taken from the summary.
 *
 * Settings (updaters.config.rocky.*):
 *   url       the OSV export: a zip of *.json, one OSV file, or a local
 *             directory of them (default osv.dev's "Rocky Linux"/all.zip)
 *   releases  the major releases, "8 9" by default
 */
#include "feeds/osv.h"

static const struct clr_osv_distro rocky = {
	.source = "rocky",
	.prefix = "rocky",
	.ecosystem = "Rocky Linux",
	.dist_did = "rocky",
	.dist_name = "Rocky Linux",
	.default_url = "https://osv-vulnerabilities.storage.googleapis.com/"
		       "Rocky%20Linux/all.zip",
	.default_releases = "8 9",
};

static int rocky_create(struct clr_vec *out,
			const char *(*setting)(void *arg, const char *key),
			void *arg)
{
	return clr_osv_distro_create(&rocky, out, setting, arg);
}

const struct clr_updater_factory clr_factory_rocky = {
	.name = "rocky",
	.create = rocky_create,
};
