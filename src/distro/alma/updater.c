/*
 * updater.c - the AlmaLinux source: AlmaLinux's own OSV advisories
 * (ALSA security, ALBA bug fix, ALEA enhancement), one updater per major
 * release: "alma-8", "alma-9", "alma-10".
 *
 * AlmaLinux writes its advisories in OSV (github.com/AlmaLinux/osv-database,
 * exported by osv.dev as one zip per ecosystem).  Every updater keeps the
 * records of its ecosystem, "AlmaLinux:<major>", from the same export,
 * which a run downloads and parses once for all of them (the zip's member
 * names do not say the release); src/feeds/osv.c does the work.  What AlmaLinux adds to plain OSV: the
 * severity is Red Hat's word at the start of the summary ("Important:
 * ..."), and a modular package's stream only appears there too
 * ("php:8.0 security update").
 *
 * Settings (updaters.config.alma.*):
 *   url       the OSV export: a zip of *.json, one OSV file, or a local
 *             directory such as the osv-database repository's
 *             advisories/ (default osv.dev's AlmaLinux/all.zip)
 *   releases  the major releases, "8 9 10" by default
 */
#include "feeds/osv.h"

static const struct clr_osv_distro alma = {
	.source = "alma",
	.prefix = "alma",
	.ecosystem = "AlmaLinux",
	.dist_did = "almalinux",
	.dist_name = "AlmaLinux",
	.default_url = "https://osv-vulnerabilities.storage.googleapis.com/"
		       "AlmaLinux/all.zip",
	.default_releases = "8 9 10",
};

static int alma_create(struct clr_vec *out,
		       const char *(*setting)(void *arg, const char *key),
		       void *arg)
{
	return clr_osv_distro_create(&alma, out, setting, arg);
}

const struct clr_updater_factory clr_factory_alma = {
	.name = "alma",
	.create = alma_create,
};
