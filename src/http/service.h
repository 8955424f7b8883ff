/*
 * service.h - the state behind `clarion serve`: what handlers reach
 * through clr_http_service(req).
 *
 *   - the configuration (borrowed from the caller for the service's life);
 *   - a pool of store handles: a handle serves one thread at a time, so a
 *     handler acquires one, uses it, and releases it, saying whether the
 *     last call failed with CLR_ENET (the handle is then closed rather than
 *     pooled; PostgreSQL handles also reconnect by themselves).  While the
 *     database is down, acquiring fails with CLR_ENET, which the server
 *     answers with 503;
 *   - the current vulnerability index, refcounted: a handler acquires it,
 *     matches any number of reports, and releases it; a new index built
 *     after an update operation (this replica's updater, or another
 *     replica's, noticed by polling clr_store_update_counter every
 *     matcher.index_poll) is swapped in atomically, and the old one is
 *     freed when its last user releases it;
 *   - the updater loop (combo and matcher modes): one run at start and
 *     every matcher.period, through clr_update_run (per-updater store
 *     locks, so only one replica runs each updater), unless
 *     matcher.disable_updaters;
 *   - readiness: the store answered, and (matcher, combo) the first index
 *     build and the first updater run are done.
 *
 *     struct clr_store *st;
 *     if ((err = clr_service_store_acquire(svc, &st)))
 *             return err;                           // 503
 *     err = clr_store_report_get(st, digest, &r);
 *     clr_service_store_release(svc, st, err);
 *
 *     const struct clr_vindex *ix = clr_service_vindex_acquire(svc);
 *     if (!ix) ...                                  // no data loaded: 202
 *     err = clr_match(&vr, ix, report);
 *     clr_service_vindex_release(svc, ix);
 *
 * Every function is thread-safe.
 */
#ifndef CLR_HTTP_SERVICE_H
#define CLR_HTTP_SERVICE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "matcher/index.h"
#include "store/store.h"
#include "util/buf.h"

struct clr_service;
struct clr_uri_manifest;
struct clr_http_hist;

struct clr_service_opts {
	const struct clr_config *cfg; /* borrowed for the service's life */
	const char *location;   /* the database: a path or postgres:// URL */
	unsigned mode;          /* CLR_MODE_* (http.h) */
	bool run_updaters;      /* run the updater loop (combo, matcher) */
	/* When the database cannot be reached at start (CLR_ENET): false,
	 * fail at once; true, start anyway and keep connecting in the
	 * background (see clr_service_connect_state). */
	bool wait_for_db;
	int64_t connect_timeout_ms; /* with wait_for_db: give up after this
				     * long; 0, never */
};

/* Opens the first store handle (migrating the database) and builds the
 * service; starts nothing.  Errors from clr_store_open, except CLR_ENET
 * with wait_for_db: then the service is built unconnected, and
 * clr_service_start() starts a connector thread that retries with backoff
 * (0.5 s doubling up to 10 s, each failure logged at warn), migrates on
 * the first success and only then starts the loader and updater threads.
 * Until then every store acquisition fails with CLR_ENET (503) and the
 * service is not ready. */
int clr_service_new(struct clr_service **out, const struct clr_service_opts *o);

/* Starts the background threads: the index loader/poller and, when asked,
 * the updater loop. */
int clr_service_start(struct clr_service *svc);

/* CLR_SERVICE_CONNECTED once the database answered (and was migrated);
 * CLR_SERVICE_CONNECTING while the connector retries; CLR_SERVICE_GAVE_UP
 * after connect_timeout_ms without success (the last error is logged). */
enum { CLR_SERVICE_CONNECTED, CLR_SERVICE_CONNECTING, CLR_SERVICE_GAVE_UP };
int clr_service_connect_state(struct clr_service *svc);

/* Asks the background threads to stop and joins them (an updater run in
 * progress is finished first; nothing is left half-written). */
void clr_service_stop(struct clr_service *svc);

/* Stops (if needed) and frees everything.  NULL does nothing. */
void clr_service_free(struct clr_service *svc);

const struct clr_config *clr_service_config(const struct clr_service *svc);
unsigned clr_service_mode(const struct clr_service *svc);

/* --- store handles ------------------------------------------------------ */

/* A store handle for this thread's exclusive use until released.
 * CLR_ENET (message set) when the database cannot be reached. */
int clr_service_store_acquire(struct clr_service *svc, struct clr_store **out);

/* Gives s back.  last_err is the result of the last store call made with
 * it: CLR_ENET or CLR_EIO closes the handle instead of pooling it.  NULL s
 * does nothing. */
void clr_service_store_release(struct clr_service *svc, struct clr_store *s,
			       int last_err);

/* --- the vulnerability index -------------------------------------------- */

/* The current index, held until clr_service_vindex_release(); NULL when no
 * vulnerability data has been loaded yet (no record in the store). */
const struct clr_vindex *clr_service_vindex_acquire(struct clr_service *svc);
void clr_service_vindex_release(struct clr_service *svc,
				const struct clr_vindex *ix);

/* Asks the loader to look at the update counter now (after this process
 * stored an update operation) instead of at its next poll. */
void clr_service_poke(struct clr_service *svc);

/* Looks at the update counter now and rebuilds the index when it moved,
 * on the caller's thread: when this returns, the index reflects what the
 * caller stored or deleted (unless the build failed, which is logged). */
void clr_service_reload(struct clr_service *svc);

/* The update counter the current index was built at; -1 before the first
 * build. */
int64_t clr_service_vindex_counter(struct clr_service *svc);

/* --- work --------------------------------------------------------------- */

/* Indexes a Clair Manifest (layers fetched from their URIs with their
 * headers) and sets *report to the IndexReport (caller decrefs); the index
 * duration goes to the metrics.  Errors as clr_index_manifest. */
int clr_service_index_manifest(struct clr_service *svc, json_t **report,
			       const struct clr_uri_manifest *m);

/* The server's SSRF policy (indexer.layer_hosts, indexer.refuse_private)
 * on every layer URI of m before anything is fetched: CLR_EINVALID naming
 * the layer and the host (the client's mistake: 400).  Indexing applies it
 * again at connect time (clr_registry_url_check). */
int clr_service_check_layers(struct clr_service *svc,
			     const struct clr_uri_manifest *m);

/* Matches an IndexReport (borrowed) against the current index into
 * *vuln_report (caller decrefs).  Returns 0, or 1 with *vuln_report NULL
 * when no vulnerability data is loaded yet (Clair's 202), or clr_match's
 * error.  The match duration goes to the metrics. */
int clr_service_match(struct clr_service *svc, json_t **vuln_report,
		      json_t *index_report);

/* The cache of encoded vulnerability reports (reportcache.h), keyed by
 * digest, index state and clr_service_vindex_counter(). */
struct clr_report_cache *clr_service_report_cache(struct clr_service *svc);

/* --- health and metrics -------------------------------------------------- */

/* Ready to serve: store reachable, first data load done (see above). */
bool clr_service_ready(struct clr_service *svc);

/* Marks the service as shutting down: not ready any more. */
void clr_service_set_draining(struct clr_service *svc);

/* Appends the service's own metrics (index and match durations, updater
 * runs and failures, vulnerabilities per updater, process RSS) in
 * Prometheus text format. */
void clr_service_metrics_write(struct clr_service *svc, struct clr_buf *out);

/* The updater status table (GET /status): a JSON array of
 * {updater, last_attempt, last_success, error, vulnerabilities}, in
 * *out (caller decrefs). */
int clr_service_status(struct clr_service *svc, json_t **out);

#endif
