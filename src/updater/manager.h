/*
 * manager.h - running the updaters once: fetch, parse, store, retain.
 *
 * One run (what `clarion update` does, and what the server does every
 * matcher.period) is, as in claircore's updates.Manager:
 *
 *   1. build the updaters: each configured source's factory makes its
 *      updaters from updaters.config (a factory that fails is reported as
 *      failed; the others go on);
 *   2. for each updater, under clr_store_updater_trylock() (held by another
 *      replica: skipped):
 *        previous fingerprint (clr_store_update_latest)
 *        -> fetch: unchanged -> status "success", no new operation, no parse
 *        -> parse -> clr_store_update_put (one transaction) -> status
 *      any failure records the error in the status; the previous operation
 *      stays current;
 *   3. clr_store_update_gc() with matcher.update_retention.
 *
 * Updaters run one after another, on the one store handle given.
 *
 *     struct clr_update_report rep;
 *     err = clr_update_run(store, cfg, NULL, &rep);    // every configured set
 *     for (size_t i = 0; i < rep.results.len; i++) ...
 *     clr_update_report_release(&rep);
 */
#ifndef CLR_UPDATER_MANAGER_H
#define CLR_UPDATER_MANAGER_H

#include <stddef.h>

#include "config/config.h"
#include "store/store.h"
#include "updater/updater.h"
#include "util/vec.h"

enum clr_update_outcome {
	CLR_UPDATE_UPDATED,   /* a new operation was stored */
	CLR_UPDATE_UNCHANGED, /* upstream had not changed: nothing stored */
	CLR_UPDATE_FAILED,    /* error says why; the previous data stays */
	CLR_UPDATE_SKIPPED,   /* another process holds the updater's lock */
};

struct clr_update_result {
	char *name;      /* the updater; the source's name when its factory
			  * failed */
	char *source;    /* the factory that made it */
	enum clr_update_outcome outcome;
	size_t count;    /* records in the updater's current operation */
	size_t added;    /* updated: records new since the previous operation */
	size_t removed;  /* updated: records gone since it */
	double seconds;  /* wall time of this updater */
	char *ref;       /* updated: the new operation; else NULL */
	char *error;     /* failed: the message; skipped: why; else NULL */
};

struct clr_update_report {
	struct clr_vec results; /* struct clr_update_result, in run order */
	size_t failed;          /* results with CLR_UPDATE_FAILED */
	size_t gc_deleted;      /* operations retention deleted */
	char *gc_error;         /* retention failed (the data is fine) or NULL */
};

void clr_update_report_release(struct clr_update_report *r);

/* "updated", "unchanged", "failed", "skipped". */
const char *clr_update_outcome_name(enum clr_update_outcome o);

/* The retention matcher.update_retention asks for, as Clair reads it:
 * 0 or 1 mean the default 10; negative means no retention (returns 0). */
size_t clr_update_retention(const struct clr_config *cfg);

/*
 * Runs the updaters of the sources named in only (NULL-terminated), or,
 * when only is NULL, of updaters.sets (not given: every source; []: none;
 * none at all when matcher.disable_updaters is true).  A name in
 * updaters.sets that is no source is warned about and ignored (Clair
 * configurations name sets clarion does not have); a name in only that is
 * no source is CLR_EINVALID, listing the sources, and nothing runs.
 *
 * Returns 0 when the run happened, whatever each updater's outcome (see
 * out->failed); an error only when it could not start.  *out belongs to the
 * caller, also on error.
 */
int clr_update_run(struct clr_store *s, const struct clr_config *cfg,
		   const char *const *only, struct clr_update_report *out);

/* The same with an explicit table of n factories instead of
 * clr_updater_factories (tests, and tools with sources of their own). */
int clr_update_run_with(struct clr_store *s, const struct clr_config *cfg,
			const struct clr_updater_factory *const *factories,
			size_t n, const char *const *only,
			struct clr_update_report *out);

/* The names of the n factories as "a, b, c" (caller frees): for messages
 * listing the sources. */
char *clr_update_source_names(const struct clr_updater_factory *const *factories,
			      size_t n);

#endif
