/*
 * manager.c - one run of the updaters (see manager.h).
 *
 * The order of the steps for one updater is what makes a run safe to
 * interrupt or to run on several replicas at once: the lock comes first
 * (two replicas never fetch the same feed at once), the previous
 * fingerprint second (an unchanged feed costs one conditional request and
 * no parse), and the store's one-transaction put last (a crash or a failed
 * parse leaves the previous operation current).  The status row is
 * written whatever happened, so `clarion update --status` and the server's
 * health can say when each feed last succeeded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "updater/fetch.h"
#include "updater/manager.h"
#include "util/alloc.h"
#include "util/cancel.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/log.h"

const char *clr_update_outcome_name(enum clr_update_outcome o)
{
	switch (o) {
	case CLR_UPDATE_UPDATED: return "updated";
	case CLR_UPDATE_UNCHANGED: return "unchanged";
	case CLR_UPDATE_FAILED: return "failed";
	case CLR_UPDATE_SKIPPED: return "skipped";
	}
	return "?";
}

void clr_update_report_release(struct clr_update_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->results.len; i++) {
		struct clr_update_result *x = CLR_VEC_AT(&r->results,
							 struct clr_update_result, i);

		free(x->name);
		free(x->source);
		free(x->ref);
		free(x->error);
	}
	clr_vec_release(&r->results);
	free(r->gc_error);
	memset(r, 0, sizeof(*r));
	clr_vec_init(&r->results, sizeof(struct clr_update_result));
}

size_t clr_update_retention(const struct clr_config *cfg)
{
	int64_t keep = cfg ? clr_config_int(cfg, "matcher.update_retention") : 10;

	/* Clair: "<0 => GC off; 0/1 => 10" (one operation is not enough to
	 * diff against). */
	if (keep < 0)
		return 0;
	if (keep < 2)
		return 10;
	return (size_t)keep;
}

char *clr_update_source_names(const struct clr_updater_factory *const *factories,
			      size_t n)
{
	struct clr_buf b = CLR_BUF_INIT(1 << 16);

	for (size_t i = 0; i < n; i++) {
		if (i)
			clr_buf_addstr(&b, ", ");
		clr_buf_addstr(&b, factories[i]->name);
	}
	return clr_buf_detach(&b, NULL);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------ */
/* Building the updaters                                               */

/* What a factory's setting() callback sees. */
struct factory_arg {
	const struct clr_config *cfg;
	const char *source;
};

/* updaters.config.<source>.<key>, else the key read as
 * "<updater name>.<setting>" (per-updater settings). */
static const char *setting(void *arg, const char *key)
{
	struct factory_arg *a = arg;
	const char *v;

	if (!a->cfg || !key)
		return NULL;
	v = clr_config_setting(a->cfg, "updaters.config", a->source, key);
	if (!v)
		v = clr_config_setting_path(a->cfg, "updaters.config", key);
	return v;
}

static struct clr_update_result *add_result(struct clr_update_report *out,
					    const char *name, const char *source)
{
	struct clr_update_result *r = clr_vec_push(&out->results, NULL);

	r->name = clr_strdup(name);
	r->source = clr_strdup(source);
	return r;
}

static void fail(struct clr_update_report *out, struct clr_update_result *r,
		 const char *msg)
{
	r->outcome = CLR_UPDATE_FAILED;
	free(r->error);
	r->error = clr_strdup(msg);
	out->failed++;
}

/* Which factories run: selected[i] for factories[i]. */
static int select_sources(bool *selected, const struct clr_config *cfg,
			  const struct clr_updater_factory *const *factories,
			  size_t n, const char *const *only)
{
	const char *const *sets = NULL;
	size_t nsets = 0;

	if (only) {
		for (const char *const *p = only; *p; p++) {
			size_t i;

			for (i = 0; i < n && strcmp(factories[i]->name, *p); i++)
				;
			if (i == n) {
				char *names = clr_update_source_names(factories, n);
				int err = clr_error_set(CLR_EINVALID, "unknown source '%s' "
							"(sources: %s)", *p, names);

				free(names);
				return err;
			}
			selected[i] = true;
		}
		return 0;
	}
	if (cfg && clr_config_bool(cfg, "matcher.disable_updaters"))
		return 0;
	if (cfg)
		sets = clr_config_list(cfg, "updaters.sets", &nsets);
	if (!sets) {
		for (size_t i = 0; i < n; i++)
			selected[i] = true;
		return 0;
	}
	for (size_t k = 0; k < nsets; k++) {
		size_t i;

		for (i = 0; i < n && strcmp(factories[i]->name, sets[k]); i++)
			;
		if (i < n) {
			selected[i] = true;
		} else {
			char *names = clr_update_source_names(factories, n);

			clr_log_warn("update: updaters.sets names '%s', which is not a "
				     "source clarion has (%s); ignored", sets[k], names);
			free(names);
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Running one updater                                                 */

/* Records the status, logging (not failing) when even that fails: the
 * outcome of the updater itself is what the report says. */
static void status(struct clr_store *s, const char *name, const char *error)
{
	if (clr_store_status_put(s, name, error))
		clr_log_warn("update: %s: cannot record its status: %s", name,
			     clr_error_msg());
}

/* Every record says which updater made it (the content hash covers it). */
static void own_records(struct clr_vuln_set *set, const char *name)
{
	const char *copy = NULL;

	for (size_t i = 0; i < set->vulns.len; i++) {
		struct clr_vuln *v = CLR_VEC_AT(&set->vulns, struct clr_vuln, i);

		if (v->updater && !strcmp(v->updater, name))
			continue;
		if (!copy)
			copy = clr_arena_strdup(&set->arena, name);
		v->updater = copy;
	}
}

static void run_one(struct clr_store *s, struct clr_updater *u,
		    struct clr_update_report *out, struct clr_update_result *r)
{
	struct clr_update_op prev = { 0 }, op = { 0 };
	struct clr_fetched fetched = { 0 };
	struct clr_vuln_set set, added, removed;
	struct clr_store_lock *lock = NULL;
	bool have_prev = false;
	char *fingerprint = NULL;
	double t0 = now();
	int err;

	clr_vuln_set_init(&set);
	clr_vuln_set_init(&added);
	clr_vuln_set_init(&removed);

	err = clr_store_updater_trylock(s, u->name, &lock);
	if (err == CLR_EEXISTS) {
		r->outcome = CLR_UPDATE_SKIPPED;
		r->error = clr_strdup("another process is updating it");
		clr_log_info("update: %s: skipped: another process is updating it", u->name);
		goto done;
	}
	if (err) {
		clr_error_prefix(err, "lock");
		goto failed;
	}

	err = clr_store_update_latest(s, u->name, &prev);
	if (err == CLR_ENOTFOUND) {
		err = 0;
	} else if (err) {
		clr_error_prefix(err, "previous operation");
		goto failed;
	} else {
		have_prev = true;
		r->count = prev.count;
	}

	err = u->ops->fetch(u, have_prev ? prev.fingerprint : NULL, &fetched);
	if (err == CLR_EUNCHANGED) {
		/* The same data as the stored operation: it stays current,
		 * and nothing is parsed. */
		r->outcome = CLR_UPDATE_UNCHANGED;
		status(s, u->name, NULL);
		clr_log_info("update: %s: unchanged (%zu vulnerabilities)", u->name,
			     r->count);
		goto done;
	}
	if (err) {
		clr_error_prefix(err, "fetch");
		goto failed;
	}

	err = u->ops->parse(u, &fetched, &set);
	fingerprint = clr_strdup(fetched.fingerprint ? fetched.fingerprint : "");
	/* The downloaded data is not needed past the parse: free the disk
	 * before the store writes. */
	clr_fetched_release(&fetched);
	if (err) {
		/* The message may name the temporary download, gone by now:
		 * say where the data came from. */
		clr_error_prefix(err, "parse: %s", u->url ? u->url : "(no url)");
		goto failed;
	}
	own_records(&set, u->name);

	if ((err = clr_store_update_put(s, u->name, fingerprint, &set, &op))) {
		clr_error_prefix(err, "store");
		goto failed;
	}
	r->outcome = CLR_UPDATE_UPDATED;
	r->count = op.count;
	r->ref = clr_strdup(op.ref);
	r->added = op.count;
	if (have_prev) {
		if (clr_store_update_diff(s, prev.ref, op.ref, &added, &removed)) {
			clr_log_warn("update: %s: cannot diff against the previous "
				     "operation: %s", u->name, clr_error_msg());
		} else {
			r->added = added.vulns.len;
			r->removed = removed.vulns.len;
		}
	}
	status(s, u->name, NULL);
	clr_log_info("update: %s: updated: %zu vulnerabilities (%zu added, %zu removed)",
		     u->name, r->count, r->added, r->removed);
	goto done;

failed:
	fail(out, r, clr_error_msg());
	clr_log_warn("update: %s: failed: %s", u->name, r->error);
	/* Without the lock the database itself failed: the status cannot be
	 * written either, and trying would only repeat the message. */
	if (lock)
		status(s, u->name, r->error);
done:
	clr_fetched_release(&fetched);
	if (lock && clr_store_updater_unlock(lock))
		clr_log_warn("update: %s: unlock: %s", u->name, clr_error_msg());
	clr_vuln_set_release(&set);
	clr_vuln_set_release(&added);
	clr_vuln_set_release(&removed);
	clr_update_op_release(&prev);
	clr_update_op_release(&op);
	free(fingerprint);
	r->seconds = now() - t0;
}

/* ------------------------------------------------------------------ */
/* A run                                                               */

/* Makes the updaters of one source into ups (a vec of struct clr_updater
 * *), applying per-updater url settings.  A failure is reported and what
 * the factory appended before failing is freed. */
static void build(const struct clr_updater_factory *f, const struct clr_config *cfg,
		  struct clr_vec *ups, struct clr_update_report *out)
{
	struct factory_arg arg = { cfg, f->name };
	size_t before = ups->len;
	double t0 = now();
	int err;

	err = f->create(ups, setting, &arg);
	if (err) {
		struct clr_update_result *r = add_result(out, f->name, f->name);
		char *msg;

		if (asprintf(&msg, "source: %s", clr_error_msg()) < 0)
			abort();
		fail(out, r, msg);
		free(msg);
		r->seconds = now() - t0;
		clr_log_warn("update: %s: cannot make its updaters: %s", f->name,
			     clr_error_msg());
		for (size_t i = before; i < ups->len; i++)
			clr_updater_free(*CLR_VEC_AT(ups, struct clr_updater *, i));
		clr_vec_truncate(ups, before);
		return;
	}
	for (size_t i = before; i < ups->len; i++) {
		struct clr_updater *u = *CLR_VEC_AT(ups, struct clr_updater *, i);
		const char *url = cfg ? clr_config_setting(cfg, "updaters.config", u->name,
							   "url") : NULL;

		/* updaters.config.<updater name>.url wins over what the
		 * factory chose (claircore configures each updater by its
		 * own name after the set made it). */
		if (url && (!u->url || strcmp(u->url, url))) {
			free(u->url);
			u->url = clr_strdup(url);
		}
	}
}

int clr_update_run_with(struct clr_store *s, const struct clr_config *cfg,
			const struct clr_updater_factory *const *factories,
			size_t n, const char *const *only,
			struct clr_update_report *out)
{
	struct clr_vec ups = CLR_VEC_INIT(struct clr_updater *);
	struct clr_vec sources = CLR_VEC_INIT(const char *);
	bool *selected;
	size_t keep;
	int err;

	memset(out, 0, sizeof(*out));
	clr_vec_init(&out->results, sizeof(struct clr_update_result));
	selected = clr_calloc(n ? n : 1, sizeof(bool));
	if ((err = select_sources(selected, cfg, factories, n, only))) {
		free(selected);
		return err;
	}

	for (size_t i = 0; i < n; i++) {
		size_t before = ups.len;

		if (!selected[i])
			continue;
		build(factories[i], cfg, &ups, out);
		for (size_t k = before; k < ups.len; k++)
			CLR_VEC_PUSH(&sources, &factories[i]->name);
	}

	for (size_t i = 0; i < ups.len; i++) {
		struct clr_updater *u = *CLR_VEC_AT(&ups, struct clr_updater *, i);
		const char *src = *CLR_VEC_AT(&sources, const char *, i);
		struct clr_update_result *r;
		bool dup = false;

		for (size_t k = 0; k < i && !dup; k++)
			dup = !strcmp((*CLR_VEC_AT(&ups, struct clr_updater *, k))->name,
				      u->name);
		r = add_result(out, u->name, src);
		if (dup) {
			fail(out, r, "another updater has the same name");
			continue;
		}
		if (clr_cancel_requested()) {
			/* Shutting down: the rest waits for the next run. */
			r->outcome = CLR_UPDATE_SKIPPED;
			r->error = clr_strdup("not run: shutting down");
			continue;
		}
		run_one(s, u, out, r);
	}

	keep = clr_update_retention(cfg);
	if (keep && clr_store_update_gc(s, keep, &out->gc_deleted)) {
		out->gc_error = clr_strdup(clr_error_msg());
		clr_log_warn("update: retention: %s", out->gc_error);
	} else if (out->gc_deleted) {
		clr_log_info("update: retention deleted %zu old operations "
			     "(keeping %zu per updater)", out->gc_deleted, keep);
	}

	for (size_t i = 0; i < ups.len; i++)
		clr_updater_free(*CLR_VEC_AT(&ups, struct clr_updater *, i));
	clr_vec_release(&ups);
	clr_vec_release(&sources);
	free(selected);
	return 0;
}

int clr_update_run(struct clr_store *s, const struct clr_config *cfg,
		   const char *const *only, struct clr_update_report *out)
{
	return clr_update_run_with(s, cfg, clr_updater_factories,
				   clr_updater_factories_count, only, out);
}
