/*
 * service.c - the state behind `clarion serve` (see service.h).
 *
 * Two background threads:
 *   loader   every matcher.index_poll (or when poked) reads the store's
 *            update counter; when it moved, builds a new vulnerability
 *            index from the store and swaps it in.  This is how a replica
 *            sees another replica's updates: the counter changes in the
 *            same transaction as the data.
 *   updater  (combo and matcher modes, unless matcher.disable_updaters)
 *            runs clr_update_run at start and every matcher.period on a
 *            handle of its own (the per-updater locks belong to that
 *            connection), then pokes the loader.
 * When the database cannot be reached at start and the caller asked to
 * wait for it (a PostgreSQL that comes up after clarion in Kubernetes), a
 * third thread, the connector, retries with backoff and starts the other
 * two once the store answers; until then handlers get 503.
 * Handlers borrow store handles from a small pool and the index by
 * reference count; neither thread ever blocks a handler for longer than a
 * pointer swap.
 */
#include "http/service.h"

#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "http/http.h"
#include "http/reportcache.h"
#include "image/registry.h"
#include "image/uri.h"
#include "indexer/indexer.h"
#include "matcher/match.h"
#include "updater/manager.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/log.h"

#define POOL_MAX 16             /* idle store handles kept */
#define MAX_UPDATERS 256        /* distinct updater names in the metrics */
#define CONNECT_FIRST_MS 500    /* the connector's first wait */
#define CONNECT_MAX_MS 10000    /* ... doubling up to this */

/* One built index and its users. */
struct vindex_ref {
	struct clr_vindex ix;   /* first: the pointer handed out */
	atomic_int refs;        /* the service's, plus one per user */
	int64_t counter;        /* the update counter it was built at */
};

struct updater_metric {
	char *name;
	uint64_t runs, failures; /* guarded by metrics_mu */
};

struct clr_service {
	struct clr_service_opts o;
	char *location;

	pthread_mutex_t pool_mu;
	struct clr_store *pool[POOL_MAX];
	int npool;

	pthread_mutex_t ix_mu;          /* cur */
	struct vindex_ref *cur;
	pthread_mutex_t load_mu;        /* one load_once at a time */

	pthread_mutex_t mu;             /* stopping, poked; with cond */
	pthread_cond_t cond;
	bool stopping, poked;
	pthread_t loader, updater;
	bool loader_started, updater_started;
	pthread_t connector;            /* only while unconnected at start */
	bool connector_started;
	atomic_int connect_state;       /* CLR_SERVICE_* */

	atomic_bool store_ok;           /* the last store call answered */
	atomic_bool first_load;         /* an index was built */
	atomic_bool first_update;       /* the first updater run ended */
	atomic_bool draining;
	int64_t poll_ms, period_ms;

	struct clr_http_hist index_hist, match_hist, load_hist;
	pthread_mutex_t metrics_mu;
	struct updater_metric updaters[MAX_UPDATERS];
	size_t nupdaters;
	uint64_t update_runs;           /* whole runs */
	uint64_t loads, load_failures;

	struct clr_report_cache *reports; /* encoded vulnerability reports */
};

static double now_secs(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------ */
/* Store handles                                                       */

int clr_service_store_acquire(struct clr_service *svc, struct clr_store **out)
{
	struct clr_store *s = NULL;
	int err;

	pthread_mutex_lock(&svc->pool_mu);
	if (svc->npool)
		s = svc->pool[--svc->npool];
	pthread_mutex_unlock(&svc->pool_mu);
	if (s) {
		*out = s;
		return 0;
	}
	/* The connector alone opens (and migrates) the first handle. */
	if (atomic_load(&svc->connect_state) != CLR_SERVICE_CONNECTED)
		return clr_error_set(CLR_ENET, "database unavailable: not "
				     "reachable yet (still trying to connect)");
	if ((err = clr_store_open(&s, svc->location))) {
		atomic_store(&svc->store_ok, false);
		/* Whatever stopped the open, the database is what the client
		 * cannot have now: 503, retry later. */
		return clr_error_prefix(CLR_ENET, "database unavailable");
	}
	*out = s;
	return 0;
}

void clr_service_store_release(struct clr_service *svc, struct clr_store *s,
			       int last_err)
{
	if (!s)
		return;
	if (last_err == CLR_ENET || last_err == CLR_EIO) {
		atomic_store(&svc->store_ok, false);
		clr_store_close(s);
		return;
	}
	/* The database answered: ready again after an outage, in every mode
	 * (an indexer has no loader thread to notice). */
	atomic_store(&svc->store_ok, true);
	pthread_mutex_lock(&svc->pool_mu);
	if (svc->npool < POOL_MAX) {
		svc->pool[svc->npool++] = s;
		s = NULL;
	}
	pthread_mutex_unlock(&svc->pool_mu);
	clr_store_close(s);
}

/* ------------------------------------------------------------------ */
/* The index                                                           */

static void vindex_unref(struct vindex_ref *r)
{
	if (r && atomic_fetch_sub(&r->refs, 1) == 1) {
		clr_vindex_free(&r->ix);
		free(r);
	}
}

const struct clr_vindex *clr_service_vindex_acquire(struct clr_service *svc)
{
	struct vindex_ref *r;

	pthread_mutex_lock(&svc->ix_mu);
	r = svc->cur;
	if (r && r->ix.records)
		atomic_fetch_add(&r->refs, 1);
	else
		r = NULL;
	pthread_mutex_unlock(&svc->ix_mu);
	return r ? &r->ix : NULL;
}

void clr_service_vindex_release(struct clr_service *svc,
				const struct clr_vindex *ix)
{
	(void)svc;
	/* ix is the first member of its vindex_ref. */
	vindex_unref((struct vindex_ref *)(void *)ix);
}

int64_t clr_service_vindex_counter(struct clr_service *svc)
{
	int64_t c;

	pthread_mutex_lock(&svc->ix_mu);
	c = svc->cur ? svc->cur->counter : -1;
	pthread_mutex_unlock(&svc->ix_mu);
	return c;
}

void clr_service_poke(struct clr_service *svc)
{
	pthread_mutex_lock(&svc->mu);
	svc->poked = true;
	pthread_cond_broadcast(&svc->cond);
	pthread_mutex_unlock(&svc->mu);
}

/* Waits ms, or until poked (when wake_on_poke) or stopping.  Returns
 * whether the service is stopping. */
static bool wait_ms(struct clr_service *svc, int64_t ms, bool wake_on_poke)
{
	struct timespec until;
	bool stop;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&svc->mu);
	while (!svc->stopping && !(wake_on_poke && svc->poked))
		if (pthread_cond_timedwait(&svc->cond, &svc->mu, &until))
			break;
	if (wake_on_poke)
		svc->poked = false;
	stop = svc->stopping;
	pthread_mutex_unlock(&svc->mu);
	return stop;
}

static void load_locked(struct clr_service *svc);

/* One look at the counter; a new index when it moved.  Serialised, so the
 * loader and the updater thread never build the same index twice. */
static void load_once(struct clr_service *svc)
{
	pthread_mutex_lock(&svc->load_mu);
	load_locked(svc);
	pthread_mutex_unlock(&svc->load_mu);
}

static void load_locked(struct clr_service *svc)
{
	struct clr_store *s = NULL;
	struct vindex_ref *r, *old;
	int64_t counter;
	double t0;
	int err;

	if ((err = clr_service_store_acquire(svc, &s))) {
		clr_log_warn("index loader: %s", clr_error_msg());
		return;
	}
	err = clr_store_update_counter(s, &counter);
	if (err) {
		clr_log_warn("index loader: %s", clr_error_msg());
		clr_service_store_release(svc, s, err);
		return;
	}
	atomic_store(&svc->store_ok, true);
	if (counter == clr_service_vindex_counter(svc)) {
		clr_service_store_release(svc, s, 0);
		return;
	}
	t0 = now_secs();
	r = clr_calloc(1, sizeof(*r));
	atomic_init(&r->refs, 1);
	r->counter = counter;
	err = clr_vindex_build(&r->ix, s);
	if (!err && clr_config_bool(svc->o.cfg, "matcher.disable_enrichment"))
		clr_vindex_drop_enrichment(&r->ix);
	clr_service_store_release(svc, s, err);
	pthread_mutex_lock(&svc->metrics_mu);
	svc->loads++;
	if (err)
		svc->load_failures++;
	pthread_mutex_unlock(&svc->metrics_mu);
	if (err) {
		clr_log_warn("index loader: cannot build the vulnerability index: "
			     "%s", clr_error_msg());
		clr_vindex_free(&r->ix);
		free(r);
		return;
	}
	clr_http_hist_observe(&svc->load_hist, now_secs() - t0);
	pthread_mutex_lock(&svc->ix_mu);
	old = svc->cur;
	svc->cur = r;
	pthread_mutex_unlock(&svc->ix_mu);
	vindex_unref(old);
	/* Building reads every record through the store: hand the transient
	 * heap (and the old index's, when nothing holds it any more) back to
	 * the system, or the server's RSS keeps the high-water mark of each
	 * load. */
	malloc_trim(0);
	atomic_store(&svc->first_load, true);
	clr_log_info("vulnerability index: %zu records (update counter %lld) "
		     "loaded in %.2f s", r->ix.records, (long long)counter,
		     now_secs() - t0);
}

void clr_service_reload(struct clr_service *svc)
{
	load_once(svc);
}

static void *loader_main(void *arg)
{
	struct clr_service *svc = arg;

	do
		load_once(svc);
	while (!wait_ms(svc, svc->poll_ms, true));
	return NULL;
}

static struct updater_metric *updater_metric(struct clr_service *svc,
					     const char *name)
{
	for (size_t i = 0; i < svc->nupdaters; i++)
		if (!strcmp(svc->updaters[i].name, name))
			return &svc->updaters[i];
	if (svc->nupdaters == MAX_UPDATERS)
		return NULL;
	svc->updaters[svc->nupdaters].name = clr_strdup(name);
	return &svc->updaters[svc->nupdaters++];
}

static void update_once(struct clr_service *svc)
{
	struct clr_update_report rep = { 0 };
	struct clr_store *s = NULL;
	size_t updated = 0;
	int err;

	/* A handle of its own: updater locks live on its connection. */
	if ((err = clr_store_open(&s, svc->location))) {
		clr_log_warn("updaters: database unavailable: %s", clr_error_msg());
		return;
	}
	clr_log_info("updaters: run starting");
	err = clr_update_run(s, svc->o.cfg, NULL, &rep);
	clr_store_close(s);
	if (err) {
		clr_log_warn("updaters: run could not start: %s", clr_error_msg());
		clr_update_report_release(&rep);
		return;
	}
	pthread_mutex_lock(&svc->metrics_mu);
	svc->update_runs++;
	for (size_t i = 0; i < rep.results.len; i++) {
		struct clr_update_result *r =
			CLR_VEC_AT(&rep.results, struct clr_update_result, i);
		struct updater_metric *m = updater_metric(svc, r->name);

		if (r->outcome == CLR_UPDATE_UPDATED)
			updated++;
		if (r->outcome == CLR_UPDATE_FAILED)
			clr_log_warn("updater %s failed: %s", r->name,
				     r->error ? r->error : "");
		if (!m || r->outcome == CLR_UPDATE_SKIPPED)
			continue;
		m->runs++;
		if (r->outcome == CLR_UPDATE_FAILED)
			m->failures++;
	}
	pthread_mutex_unlock(&svc->metrics_mu);
	clr_log_info("updaters: run done: %zu updaters, %zu updated, %zu failed",
		     rep.results.len, updated, rep.failed);
	clr_update_report_release(&rep);
	if (updated)
		clr_service_poke(svc);
}

static void *updater_main(void *arg)
{
	struct clr_service *svc = arg;

	do {
		update_once(svc);
		if (!atomic_load(&svc->first_update)) {
			/* Ready once this run's data is in the index: load it
			 * here rather than wait for the loader's next look. */
			load_once(svc);
			atomic_store(&svc->first_update, true);
		}
	} while (!wait_ms(svc, svc->period_ms, false));
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Life cycle                                                          */

int clr_service_new(struct clr_service **out, const struct clr_service_opts *o)
{
	struct clr_service *svc;
	struct clr_store *s;
	int err;

	*out = NULL;
	if ((err = clr_store_open(&s, o->location))) {
		if (err != CLR_ENET || !o->wait_for_db)
			return err;
		clr_log_warn("database unreachable at start: %s; retrying in "
			     "the background (database_connect_timeout)",
			     clr_error_msg());
		s = NULL;
	}
	svc = clr_calloc(1, sizeof(*svc));
	svc->o = *o;
	svc->location = o->location ? clr_strdup(o->location) : NULL;
	svc->o.location = svc->location;
	pthread_mutex_init(&svc->pool_mu, NULL);
	pthread_mutex_init(&svc->ix_mu, NULL);
	pthread_mutex_init(&svc->load_mu, NULL);
	pthread_mutex_init(&svc->mu, NULL);
	pthread_mutex_init(&svc->metrics_mu, NULL);
	pthread_cond_init(&svc->cond, NULL);
	atomic_init(&svc->store_ok, s != NULL);
	atomic_init(&svc->connect_state, s ? CLR_SERVICE_CONNECTED :
		    CLR_SERVICE_CONNECTING);
	atomic_init(&svc->first_load, false);
	atomic_init(&svc->first_update, !o->run_updaters);
	atomic_init(&svc->draining, false);
	svc->poll_ms = clr_config_duration_ms(o->cfg, "matcher.index_poll");
	if (svc->poll_ms < 100)
		svc->poll_ms = 100;
	svc->period_ms = clr_config_duration_ms(o->cfg, "matcher.period");
	if (svc->period_ms < 1000)
		svc->period_ms = 1000;
	{
		int64_t cache = clr_config_int(o->cfg, "http.report_cache");

		clr_report_cache_new(&svc->reports,
				     cache > 0 ? (size_t)cache : 0);
	}
	if (s)
		svc->pool[svc->npool++] = s;
	*out = svc;
	return 0;
}

/* The loader and the updater loop, once the database answered. */
static int start_workers(struct clr_service *svc)
{
	int err;

	if (svc->o.mode & (CLR_MODE_MATCHER | CLR_MODE_COMBO)) {
		if ((err = pthread_create(&svc->loader, NULL, loader_main, svc)))
			return clr_error_set(CLR_ERROR, "cannot start the index "
					     "loader: %s", strerror(err));
		svc->loader_started = true;
	}
	if (svc->o.run_updaters) {
		if ((err = pthread_create(&svc->updater, NULL, updater_main, svc)))
			return clr_error_set(CLR_ERROR, "cannot start the updater "
					     "loop: %s", strerror(err));
		svc->updater_started = true;
	}
	return 0;
}

/* Retries clr_store_open with backoff until it succeeds, the service
 * stops, or connect_timeout_ms has passed since the start. */
static void *connector_main(void *arg)
{
	struct clr_service *svc = arg;
	int64_t delay = CONNECT_FIRST_MS, waited = 0;
	int64_t limit = svc->o.connect_timeout_ms;
	double t0 = now_secs();
	struct clr_store *s = NULL;
	unsigned attempt = 1;      /* the one clr_service_new made */

	for (;;) {
		if (limit > 0) {
			waited = (int64_t)((now_secs() - t0) * 1000);
			if (waited >= limit) {
				clr_log_error("database still unreachable after "
					      "%.1f s (database_connect_timeout): "
					      "giving up", waited / 1000.0);
				atomic_store(&svc->connect_state,
					     CLR_SERVICE_GAVE_UP);
				return NULL;
			}
			if (delay > limit - waited)
				delay = limit - waited;
		}
		if (attempt > 1)
			/* Once per backoff step, at warn: a line per
			 * attempt, never a tight loop of them. */
			clr_log_warn("database unreachable (attempt %u): %s; "
				     "next attempt in %.1f s", attempt,
				     clr_error_msg(), delay / 1000.0);
		if (wait_ms(svc, delay, false))
			return NULL;
		attempt++;
		if (!clr_store_open(&s, svc->location))
			break;
		delay = delay * 2 > CONNECT_MAX_MS ? CONNECT_MAX_MS : delay * 2;
	}
	clr_log_info("database reachable after %u attempts (%.1f s)", attempt,
		     now_secs() - t0);
	pthread_mutex_lock(&svc->pool_mu);
	svc->pool[svc->npool++] = s;
	pthread_mutex_unlock(&svc->pool_mu);
	atomic_store(&svc->store_ok, true);
	if (start_workers(svc)) {
		clr_log_error("%s", clr_error_msg());
		atomic_store(&svc->connect_state, CLR_SERVICE_GAVE_UP);
		return NULL;
	}
	atomic_store(&svc->connect_state, CLR_SERVICE_CONNECTED);
	return NULL;
}

int clr_service_start(struct clr_service *svc)
{
	int err;

	if (atomic_load(&svc->connect_state) == CLR_SERVICE_CONNECTED)
		return start_workers(svc);
	if ((err = pthread_create(&svc->connector, NULL, connector_main, svc)))
		return clr_error_set(CLR_ERROR, "cannot start the database "
				     "connector: %s", strerror(err));
	svc->connector_started = true;
	return 0;
}

int clr_service_connect_state(struct clr_service *svc)
{
	return atomic_load(&svc->connect_state);
}

void clr_service_stop(struct clr_service *svc)
{
	pthread_mutex_lock(&svc->mu);
	svc->stopping = true;
	pthread_cond_broadcast(&svc->cond);
	pthread_mutex_unlock(&svc->mu);
	/* The connector first: it may start the other two. */
	if (svc->connector_started) {
		pthread_join(svc->connector, NULL);
		svc->connector_started = false;
	}
	if (svc->updater_started) {
		pthread_join(svc->updater, NULL);
		svc->updater_started = false;
	}
	if (svc->loader_started) {
		pthread_join(svc->loader, NULL);
		svc->loader_started = false;
	}
}

void clr_service_free(struct clr_service *svc)
{
	if (!svc)
		return;
	clr_service_stop(svc);
	for (int i = 0; i < svc->npool; i++)
		clr_store_close(svc->pool[i]);
	vindex_unref(svc->cur);
	for (size_t i = 0; i < svc->nupdaters; i++)
		free(svc->updaters[i].name);
	pthread_mutex_destroy(&svc->pool_mu);
	pthread_mutex_destroy(&svc->ix_mu);
	pthread_mutex_destroy(&svc->load_mu);
	pthread_mutex_destroy(&svc->mu);
	pthread_mutex_destroy(&svc->metrics_mu);
	pthread_cond_destroy(&svc->cond);
	clr_report_cache_free(svc->reports);
	free(svc->location);
	free(svc);
}

struct clr_report_cache *clr_service_report_cache(struct clr_service *svc)
{
	return svc->reports;
}

const struct clr_config *clr_service_config(const struct clr_service *svc)
{
	return svc->o.cfg;
}

unsigned clr_service_mode(const struct clr_service *svc)
{
	return svc->o.mode;
}

/* ------------------------------------------------------------------ */
/* Work                                                                */

/* The SSRF policy of the configuration (indexer.layer_hosts,
 * indexer.refuse_private) into o. */
static void layer_policy(struct clr_service *svc, struct clr_source_opts *o)
{
	o->allowed_hosts = clr_config_list(svc->o.cfg, "indexer.layer_hosts",
					   NULL);
	o->refuse_private = clr_config_bool(svc->o.cfg,
					    "indexer.refuse_private");
}

int clr_service_check_layers(struct clr_service *svc,
			     const struct clr_uri_manifest *m)
{
	struct clr_source_opts o = { 0 };
	int err;

	layer_policy(svc, &o);
	if (!o.refuse_private && !(o.allowed_hosts && *o.allowed_hosts))
		return 0;
	for (size_t i = 0; i < m->n_layers; i++)
		if ((err = clr_registry_url_check(m->layers[i].uri, &o)))
			return clr_error_prefix(err, "layers[%zu]", i);
	return 0;
}

int clr_service_index_manifest(struct clr_service *svc, json_t **report,
			       const struct clr_uri_manifest *m)
{
	struct clr_indexer_opts opts = { 0 };
	struct clr_store *s;
	double t0 = now_secs();
	int64_t n;
	int err;

	*report = NULL;
	n = clr_config_int(svc->o.cfg, "indexer.layer_scan_concurrency");
	opts.parallel_layers = n > 0 && n < 64 ? (int)n : 0;
	opts.source.timeout_secs = 60;
	layer_policy(svc, &opts.source);
	if ((err = clr_service_store_acquire(svc, &s)))
		return err;
	err = clr_index_manifest(report, s, m, &opts);
	clr_service_store_release(svc, s, err);
	clr_http_hist_observe(&svc->index_hist, now_secs() - t0);
	return err;
}

int clr_service_match(struct clr_service *svc, json_t **vuln_report,
		      json_t *index_report)
{
	const struct clr_vindex *ix = clr_service_vindex_acquire(svc);
	double t0 = now_secs();
	int err;

	*vuln_report = NULL;
	if (!ix)
		return 1;
	err = clr_match(vuln_report, ix, index_report);
	clr_service_vindex_release(svc, ix);
	clr_http_hist_observe(&svc->match_hist, now_secs() - t0);
	return err;
}

/* ------------------------------------------------------------------ */
/* Health and metrics                                                  */

bool clr_service_ready(struct clr_service *svc)
{
	if (atomic_load(&svc->draining) || !atomic_load(&svc->store_ok))
		return false;
	if (!(svc->o.mode & (CLR_MODE_MATCHER | CLR_MODE_COMBO)))
		return true;
	return atomic_load(&svc->first_load) && atomic_load(&svc->first_update);
}

void clr_service_set_draining(struct clr_service *svc)
{
	atomic_store(&svc->draining, true);
}

int clr_service_status(struct clr_service *svc, json_t **out)
{
	struct clr_vec st = CLR_VEC_INIT(struct clr_updater_status);
	struct clr_store *s;
	json_t *arr;
	int err;

	*out = NULL;
	if ((err = clr_service_store_acquire(svc, &s)))
		return err;
	err = clr_store_status_list(s, &st);
	clr_service_store_release(svc, s, err);
	if (err)
		return err;
	arr = json_array();
	for (size_t i = 0; i < st.len; i++) {
		struct clr_updater_status *u =
			CLR_VEC_AT(&st, struct clr_updater_status, i);

		json_array_append_new(arr, json_pack(
			"{s:s, s:s?, s:s?, s:s?, s:I}", "updater", u->updater,
			"last_attempt", *u->last_attempt ? u->last_attempt : NULL,
			"last_success", *u->last_success ? u->last_success : NULL,
			"error", *u->last_error ? u->last_error : NULL,
			"vulnerabilities", (json_int_t)u->count));
	}
	clr_updater_status_release(&st);
	*out = arr;
	return 0;
}

static long rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long size = 0, rss = 0;

	if (!f)
		return 0;
	if (fscanf(f, "%ld %ld", &size, &rss) != 2)
		rss = 0;
	fclose(f);
	return rss * sysconf(_SC_PAGESIZE);
}

/* The notifier's figures, from the receipts every replica shares: a
 * gauge per status rather than this process's counters, so that a
 * dashboard summing replicas does not count one delivery twice. */
static void notifier_metrics(struct clr_buf *out, const struct clr_vec *ns)
{
	static const char *const statuses[] = { "created", "delivered",
						"delivery_failed", "deleted" };
	static const struct {
		const char *name, *help;
		size_t off;
	} g[] = {
		{ "clarion_notification_sets", "Notification sets by receipt "
		  "status (created and delivery_failed: still to deliver).",
		  offsetof(struct clr_notif_stat, sets) },
		{ "clarion_notifications", "Notifications in those sets.",
		  offsetof(struct clr_notif_stat, items) },
		{ "clarion_notification_delivery_attempts", "Webhook deliveries "
		  "tried for the sets of each status.",
		  offsetof(struct clr_notif_stat, attempts) },
	};

	for (size_t k = 0; k < sizeof(g) / sizeof(g[0]); k++) {
		clr_buf_printf(out, "# HELP %s %s\n# TYPE %s gauge\n", g[k].name,
			       g[k].help, g[k].name);
		/* Every known status, 0 when absent: a series that appears
		 * only later confuses rate() and alerts. */
		for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
			int64_t v = 0;

			for (size_t j = 0; j < ns->len; j++) {
				const struct clr_notif_stat *st =
					CLR_VEC_AT(ns, struct clr_notif_stat, j);

				if (!strcmp(st->status, statuses[i]))
					v = *(const int64_t *)(const void *)
					     ((const char *)st + g[k].off);
			}
			clr_buf_printf(out, "%s{status=\"%s\"} %lld\n", g[k].name,
				       statuses[i], (long long)v);
		}
	}
}

void clr_service_metrics_write(struct clr_service *svc, struct clr_buf *out)
{
	struct clr_vec st = CLR_VEC_INIT(struct clr_updater_status);
	struct clr_store *s;
	const struct clr_vindex *ix;
	int err;

	clr_buf_addstr(out, "# HELP clarion_index_duration_seconds Time to "
		       "answer an index request (fetch, scan, store).\n"
		       "# TYPE clarion_index_duration_seconds histogram\n");
	clr_http_hist_write(out, "clarion_index_duration_seconds", "",
			    &svc->index_hist);
	clr_buf_addstr(out, "# HELP clarion_match_duration_seconds Time to match "
		       "an index report against the vulnerability index.\n"
		       "# TYPE clarion_match_duration_seconds histogram\n");
	clr_http_hist_write(out, "clarion_match_duration_seconds", "",
			    &svc->match_hist);
	clr_buf_addstr(out, "# HELP clarion_index_load_duration_seconds Time to "
		       "build the vulnerability index from the store.\n"
		       "# TYPE clarion_index_load_duration_seconds histogram\n");
	clr_http_hist_write(out, "clarion_index_load_duration_seconds", "",
			    &svc->load_hist);

	pthread_mutex_lock(&svc->metrics_mu);
	clr_buf_printf(out, "# HELP clarion_update_runs_total Updater runs "
		       "(all updaters) this process started.\n"
		       "# TYPE clarion_update_runs_total counter\n"
		       "clarion_update_runs_total %llu\n",
		       (unsigned long long)svc->update_runs);
	clr_buf_addstr(out, "# HELP clarion_updater_runs_total Runs of each "
		       "updater by this process (skipped ones not counted).\n"
		       "# TYPE clarion_updater_runs_total counter\n");
	for (size_t i = 0; i < svc->nupdaters; i++)
		clr_buf_printf(out, "clarion_updater_runs_total{updater=\"%s\"} %llu\n",
			       svc->updaters[i].name,
			       (unsigned long long)svc->updaters[i].runs);
	clr_buf_addstr(out, "# HELP clarion_updater_failures_total Failed runs "
		       "of each updater by this process.\n"
		       "# TYPE clarion_updater_failures_total counter\n");
	for (size_t i = 0; i < svc->nupdaters; i++)
		clr_buf_printf(out, "clarion_updater_failures_total{updater=\"%s\"} "
			       "%llu\n", svc->updaters[i].name,
			       (unsigned long long)svc->updaters[i].failures);
	clr_buf_printf(out, "# HELP clarion_index_loads_total Vulnerability index "
		       "builds (after update operations), and failures.\n"
		       "# TYPE clarion_index_loads_total counter\n"
		       "clarion_index_loads_total %llu\n"
		       "clarion_index_load_failures_total %llu\n",
		       (unsigned long long)svc->loads,
		       (unsigned long long)svc->load_failures);
	pthread_mutex_unlock(&svc->metrics_mu);

	if ((ix = clr_service_vindex_acquire(svc))) {
		clr_buf_printf(out, "# HELP clarion_index_records Vulnerability "
			       "records in the in-memory index.\n"
			       "# TYPE clarion_index_records gauge\n"
			       "clarion_index_records %zu\n", ix->records);
		clr_service_vindex_release(svc, ix);
	}
	if (!clr_service_store_acquire(svc, &s)) {
		err = clr_store_status_list(s, &st);
		clr_service_store_release(svc, s, err);
		if (!err) {
			clr_buf_addstr(out, "# HELP clarion_vulnerabilities Records "
				       "in each updater's current operation.\n"
				       "# TYPE clarion_vulnerabilities gauge\n");
			for (size_t i = 0; i < st.len; i++) {
				struct clr_updater_status *u = CLR_VEC_AT(
					&st, struct clr_updater_status, i);

				clr_buf_printf(out, "clarion_vulnerabilities{updater="
					       "\"%s\"} %zu\n", u->updater, u->count);
			}
		}
		clr_updater_status_release(&st);
	}
	if ((svc->o.mode & (CLR_MODE_NOTIFIER | CLR_MODE_COMBO)) &&
	    !clr_service_store_acquire(svc, &s)) {
		struct clr_vec ns = CLR_VEC_INIT(struct clr_notif_stat);

		err = clr_store_notification_stats(s, &ns);
		clr_service_store_release(svc, s, err);
		if (!err)
			notifier_metrics(out, &ns);
		clr_vec_release(&ns);
	}
	{
		unsigned long long hits, misses;
		size_t entries, bytes;

		clr_report_cache_stats(svc->reports, &entries, &bytes, &hits,
				       &misses);
		clr_buf_printf(out,
			       "# HELP clarion_report_cache_requests_total "
			       "Vulnerability reports answered from the cache "
			       "(hit) or computed (miss).\n"
			       "# TYPE clarion_report_cache_requests_total counter\n"
			       "clarion_report_cache_requests_total{result=\"hit\"} %llu\n"
			       "clarion_report_cache_requests_total{result=\"miss\"} %llu\n"
			       "# HELP clarion_report_cache_bytes Bytes of encoded "
			       "reports kept.\n"
			       "# TYPE clarion_report_cache_bytes gauge\n"
			       "clarion_report_cache_bytes %zu\n"
			       "# HELP clarion_report_cache_entries Reports kept.\n"
			       "# TYPE clarion_report_cache_entries gauge\n"
			       "clarion_report_cache_entries %zu\n",
			       hits, misses, bytes, entries);
	}
	clr_buf_printf(out, "# HELP clarion_ready Whether the service is ready.\n"
		       "# TYPE clarion_ready gauge\nclarion_ready %d\n",
		       clr_service_ready(svc) ? 1 : 0);
	clr_buf_printf(out, "# HELP process_resident_memory_bytes Resident "
		       "memory size in bytes.\n"
		       "# TYPE process_resident_memory_bytes gauge\n"
		       "process_resident_memory_bytes %ld\n", rss_bytes());
}
