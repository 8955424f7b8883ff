/*
 * updater.h - the updater contract: how clarion learns about
 * vulnerabilities (claircore's driver.Updater).
 *
 * An updater is a name, a fetch and a parse.  fetch() gets the upstream
 * data unless it is unchanged since the previous fingerprint; parse() turns
 * what was fetched into the updater's complete current set of records.  The
 * manager (manager.c) stores each successful run as one update operation in
 * one transaction, so a failed run leaves the previous one fully usable.
 *
 * Updaters are made by factories (one per source: "debian", "ubuntu",
 * "alpine", "rhel", "oracle", "suse", "photon", "alma", "rocky"), which may
 * expand to several updaters (one per release or branch) from config.
 */
#ifndef CLR_UPDATER_UPDATER_H
#define CLR_UPDATER_UPDATER_H

#include <stdbool.h>
#include <stddef.h>

#include "updater/vuln.h"
#include "util/buf.h"
#include "util/vec.h"

struct clr_updater;

/* What fetch() got.  The data is the upstream document(s), decompressed
 * already, in a file (feeds are large) that parse() reads and the manager
 * deletes. */
struct clr_fetched {
	char *path;         /* a temporary file or directory with the data */
	char *fingerprint;  /* what identifies this version of upstream (ETag,
			     * Last-Modified, content hash, ... as JSON or text) */
	bool borrowed;      /* path is the user's own (a local feed directory):
			     * read it, never remove it */
};

struct clr_updater_ops {
	/* Fetches unless upstream's fingerprint equals prev (NULL: never
	 * fetched).  Returns CLR_EUNCHANGED when unchanged (nothing fetched,
	 * *out untouched), 0 with *out filled, or an error (CLR_ENET for
	 * network trouble). */
	int (*fetch)(struct clr_updater *u, const char *prev,
		     struct clr_fetched *out);
	/* Parses what fetch() got into out (records' updater field set to
	 * u->name).  CLR_EINVALID with a message naming the file and place
	 * for malformed data; out is then to be discarded. */
	int (*parse)(struct clr_updater *u, const struct clr_fetched *in,
		     struct clr_vuln_set *out);
	void (*free)(struct clr_updater *u);
};

struct clr_updater {
	const struct clr_updater_ops *ops;
	char *name;   /* unique: "debian", "alpine-main-v3.19", "ubuntu/jammy" */
	char *url;    /* where it fetches from (config: updaters.config.NAME.url) */
	void *priv;   /* the source's own state */
};

/*
 * A source's factory: makes the source's updaters (one or several) from the
 * settings the user gave it.  setting(arg, key) returns the value of
 * `updaters.config.<source>.<key>` (or, for per-updater keys,
 * `updaters.config.<updater name>.<key>`) or NULL; each factory documents
 * its keys and defaults (the default `url` is the real upstream location).
 * Factories that must discover what exists upstream (Alpine branches,
 * Debian releases) may fetch an index here.  Appends struct clr_updater *
 * to out (a vec of pointers).  The table of factories is
 * src/distro/registry.c.
 */
struct clr_updater_factory {
	const char *name;  /* "debian", "alpine", "ubuntu", "rhel", "oracle",
			    * "suse", "photon", "alma", "rocky" */
	int (*create)(struct clr_vec *out,
		      const char *(*setting)(void *arg, const char *key),
		      void *arg);
};

/* Every source clarion has (src/distro/registry.c). */
extern const struct clr_updater_factory *const clr_updater_factories[];
extern const size_t clr_updater_factories_count;

/* The factory called name, or NULL. */
const struct clr_updater_factory *clr_updater_factory_find(const char *name);

/* Frees an updater (NULL does nothing). */
void clr_updater_free(struct clr_updater *u);

#endif
