/*
 * registry.c - the table of vulnerability sources (updater factories).
 *
 * Adding a source is one file under src/distro/ (or src/feeds/ for a shared
 * format) and one row here.
 */
#include <string.h>

#include "updater/updater.h"

extern const struct clr_updater_factory clr_factory_debian;
extern const struct clr_updater_factory clr_factory_ubuntu;
extern const struct clr_updater_factory clr_factory_alpine;
extern const struct clr_updater_factory clr_factory_rhel;
extern const struct clr_updater_factory clr_factory_oracle;
extern const struct clr_updater_factory clr_factory_suse;
extern const struct clr_updater_factory clr_factory_photon;
extern const struct clr_updater_factory clr_factory_alma;
extern const struct clr_updater_factory clr_factory_rocky;
extern const struct clr_updater_factory clr_factory_nvd;

const struct clr_updater_factory *const clr_updater_factories[] = {
	&clr_factory_debian,
	&clr_factory_ubuntu,
	&clr_factory_alpine,
	&clr_factory_rhel,
	&clr_factory_oracle,
	&clr_factory_suse,
	&clr_factory_photon,
	&clr_factory_alma,
	&clr_factory_rocky,
	/* CVSS enrichment, last: only when a url is configured */
	&clr_factory_nvd,
};

const size_t clr_updater_factories_count =
	sizeof(clr_updater_factories) / sizeof(clr_updater_factories[0]);

const struct clr_updater_factory *clr_updater_factory_find(const char *name)
{
	for (size_t i = 0; i < clr_updater_factories_count; i++)
		if (!strcmp(clr_updater_factories[i]->name, name))
			return clr_updater_factories[i];
	return NULL;
}

void clr_updater_free(struct clr_updater *u)
{
	if (u)
		u->ops->free(u);
}
