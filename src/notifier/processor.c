/*
 * processor.c - update operations to notification sets (notifier.h).
 *
 * For each updater, its newest operation is the one to process (Clair
 * processes only the newest: an operation superseded before the notifier
 * saw it is covered by diffing the newest against what was processed
 * last).  The work happens under a per-updater store lock named
 * "notifier:UPDATER", so two replicas do not match the same diff twice;
 * the insert of the processed mark in the set's transaction is the final
 * word should a lock be taken over.
 */
#include "notifier/notifier.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "matcher/index.h"
#include "matcher/match.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/log.h"

/* A vulnerability of a match, with what orders and describes it. */
struct hit {
	json_t *vuln;           /* borrowed from the vulnerability report */
	enum clr_severity sev;
	const char *name;
	const char *id;
};

static int hit_cmp(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;
	int c;

	if (x->sev != y->sev)
		return x->sev > y->sev ? -1 : 1;
	if ((c = strcmp(x->name, y->name)))
		return c;
	return strcmp(x->id, y->id);
}

static const char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* Clair's VulnSummary: the severity key carries the normalized severity,
 * the repository goes under "repo". */
static char *summary(json_t *v)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s}",
			      "name", jstr(v, "name"),
			      "description", jstr(v, "description"),
			      "severity", jstr(v, "normalized_severity"),
			      "fixed_in_version", jstr(v, "fixed_in_version"),
			      "links", jstr(v, "links"));
	json_t *x;
	char *text;

	if ((x = json_object_get(v, "package")))
		json_object_set(o, "package", x);
	if ((x = json_object_get(v, "distribution")))
		json_object_set(o, "distribution", x);
	if ((x = json_object_get(v, "repository")))
		json_object_set(o, "repo", x);
	text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	if (!text)
		abort();
	return text;
}

/* The layers (introduced_in, in image order as the report's environments
 * give them) of the packages the vulnerability vid was found in. */
static char *layers_of(json_t *index_report, json_t *vreport, const char *vid)
{
	json_t *pv = json_object_get(vreport, "package_vulnerabilities");
	json_t *envs = json_object_get(index_report, "environments");
	json_t *out = json_array(), *list;
	const char *pkg;
	char *text;

	json_object_foreach(pv, pkg, list) {
		size_t i, j;
		json_t *x, *e;
		bool has = false;

		json_array_foreach(list, i, x)
			if (!strcmp(json_string_value(x) ?
				    json_string_value(x) : "", vid))
				has = true;
		if (!has)
			continue;
		json_array_foreach(json_object_get(envs, pkg), j, e) {
			const char *l = jstr(e, "introduced_in");
			bool seen = false;
			size_t k;
			json_t *y;

			if (!*l)
				continue;
			json_array_foreach(out, k, y)
				if (!strcmp(json_string_value(y), l))
					seen = true;
			if (!seen)
				json_array_append_new(out, json_string(l));
		}
	}
	text = json_dumps(out, JSON_COMPACT);
	json_decref(out);
	if (!text)
		abort();
	return text;
}

static void item_add(struct clr_vec *items, const char *manifest,
		     const char *reason, char *vuln, char *layers)
{
	struct clr_notif_item it = {
		.id = NULL,
		.manifest = clr_strdup(manifest),
		.reason = clr_strdup(reason),
		.vuln = vuln,
		.layers = layers,
	};

	CLR_VEC_PUSH(items, &it);
}

/* The items one manifest gets for the records of ix. */
static int match_manifest(struct clr_store *s, const struct clr_vindex *ix,
			  const char *manifest, const char *reason,
			  bool disable_summary, struct clr_vec *items)
{
	struct clr_store_report r = { 0 };
	json_t *report = NULL, *vr = NULL, *vulns, *v;
	struct clr_vec hits = CLR_VEC_INIT(struct hit);
	const char *vid;
	int err;

	if ((err = clr_store_report_get(s, manifest, &r))) {
		/* Deleted since the index named it: nothing to tell. */
		if (err == CLR_ENOTFOUND)
			err = 0;
		goto cleanup;
	}
	/* Only finished reports are what a client has seen. */
	if (strcmp(r.state, "IndexFinished"))
		goto cleanup;
	if (!(report = json_loads(r.report, 0, NULL))) {
		clr_log_warn("notifier: the stored report of %s is not JSON; "
			     "skipped", manifest);
		goto cleanup;
	}
	if ((err = clr_match(&vr, ix, report))) {
		clr_log_warn("notifier: cannot match %s: %s; skipped",
			     manifest, clr_error_msg());
		err = 0;
		goto cleanup;
	}
	vulns = json_object_get(vr, "vulnerabilities");
	json_object_foreach(vulns, vid, v) {
		struct hit h = {
			.vuln = v,
			.sev = clr_store_severity_parse(
				jstr(v, "normalized_severity")),
			.name = jstr(v, "name"),
			.id = vid,
		};

		CLR_VEC_PUSH(&hits, &h);
	}
	if (!hits.len)
		goto cleanup;
	clr_vec_sort(&hits, hit_cmp);
	for (size_t i = 0; i < hits.len; i++) {
		struct hit *h = CLR_VEC_AT(&hits, struct hit, i);

		item_add(items, manifest, reason, summary(h->vuln),
			 layers_of(report, vr, h->id));
		/* Summary mode: the most severe one stands for the rest. */
		if (!disable_summary)
			break;
	}
cleanup:
	clr_vec_release(&hits);
	json_decref(vr);
	json_decref(report);
	clr_store_report_release(&r);
	return err;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The items for one side of a diff (reason "added" or "removed"). */
static int match_set(struct clr_store *s, const struct clr_vuln_set *set,
		     const char *reason, bool disable_summary,
		     struct clr_vec *items)
{
	struct clr_vindex ix;
	struct clr_vec names = CLR_VEC_INIT(char *);
	struct clr_vec manifests = CLR_VEC_INIT(char *);
	size_t w = 0;
	int err;

	if (!set->vulns.len)
		return 0;
	if ((err = clr_vindex_from_set(&ix, set)))
		return err;
	for (size_t i = 0; i < set->vulns.len; i++) {
		const struct clr_vuln *v =
			CLR_VEC_AT(&set->vulns, struct clr_vuln, i);
		char *n = (char *)v->package_name;

		if (*n)
			CLR_VEC_PUSH(&names, &n);
	}
	if (names.len) {
		clr_vec_sort(&names, name_cmp);
		for (size_t i = 0; i < names.len; i++)
			if (!w || strcmp(*CLR_VEC_AT(&names, char *, i),
					 *CLR_VEC_AT(&names, char *, w - 1)))
				*CLR_VEC_AT(&names, char *, w++) =
					*CLR_VEC_AT(&names, char *, i);
		names.len = w;
	}
	err = clr_store_manifests_by_package(s, (const char *const *)names.items,
					     names.len, &manifests);
	for (size_t i = 0; !err && i < manifests.len; i++)
		err = match_manifest(s, &ix, *CLR_VEC_AT(&manifests, char *, i),
				     reason, disable_summary, items);
	clr_vec_release(&names); /* the names are the set's */
	clr_store_strings_release(&manifests);
	clr_vindex_free(&ix);
	return err;
}

/* The operation to diff cur against: the last one processed, if it is
 * still stored and is not cur, else cur's predecessor (pred, may be NULL). */
static char *prev_of(struct clr_store *s, const struct clr_update_op *cur,
		     const struct clr_update_op *pred)
{
	struct clr_update_op op = { 0 };
	char *last = NULL;

	if (!clr_store_notifier_last(s, cur->updater, &last) &&
	    strcmp(last, cur->ref) &&
	    !clr_store_update_get(s, last, &op) && op.id < cur->id) {
		clr_update_op_release(&op);
		return last;
	}
	clr_update_op_release(&op);
	free(last);
	clr_error_clear();
	return pred ? clr_strdup(pred->ref) : NULL;
}

static int process_one(struct clr_store *s, const struct clr_notifier_opts *o,
		       const struct clr_update_op *cur,
		       const struct clr_update_op *pred, size_t *created)
{
	struct clr_store_lock *lock = NULL;
	struct clr_vuln_set added, removed;
	struct clr_vec items = CLR_VEC_INIT(struct clr_notif_item);
	char lockname[512], *prev = NULL, *id = NULL;
	bool done;
	int err;

	clr_vuln_set_init(&added);
	clr_vuln_set_init(&removed);
	snprintf(lockname, sizeof(lockname), "notifier:%s", cur->updater);
	if ((err = clr_store_updater_trylock(s, lockname, &lock))) {
		if (err == CLR_EEXISTS) {
			clr_log_debug("notifier: %s is being processed by "
				      "another notifier", cur->updater);
			err = CLR_EBUSY;
		}
		goto cleanup;
	}
	/* Under the lock: someone may have finished it meanwhile. */
	if ((err = clr_store_notifier_processed(s, cur->ref, &done)) || done)
		goto cleanup;
	prev = prev_of(s, cur, pred);
	if (prev || o->notify_first_update) {
		if ((err = clr_store_update_diff(s, prev, cur->ref, &added,
						 &removed)) ||
		    (err = match_set(s, &added, "added", o->disable_summary,
				     &items)) ||
		    (err = match_set(s, &removed, "removed",
				     o->disable_summary, &items)))
			goto cleanup;
	}
	err = clr_store_notification_create(s, cur->ref, prev, cur->updater,
					    items.items, items.len, &id);
	if (err == CLR_EEXISTS) {
		err = 0;
		goto cleanup;
	}
	if (err)
		goto cleanup;
	if (id) {
		clr_log_info("notifier: %s: operation %s: notification %s, %zu "
			     "item(s) (%zu added, %zu removed records)",
			     cur->updater, cur->ref, id, items.len,
			     added.vulns.len, removed.vulns.len);
		if (created)
			(*created)++;
	} else {
		clr_log_debug("notifier: %s: operation %s affects no indexed "
			      "manifest%s", cur->updater, cur->ref,
			      prev || o->notify_first_update ? "" :
			      " (first operation: not news)");
	}
cleanup:
	if (lock)
		clr_store_updater_unlock(lock);
	clr_notif_items_release(&items);
	clr_vuln_set_release(&added);
	clr_vuln_set_release(&removed);
	free(prev);
	free(id);
	return err;
}

int clr_notifier_process(struct clr_store *s,
			 const struct clr_notifier_opts *o, size_t *created)
{
	struct clr_vec ops = CLR_VEC_INIT(struct clr_update_op);
	int err, first_err = 0;
	bool busy = false;

	if (created)
		*created = 0;
	if ((err = clr_store_update_list(s, NULL, &ops)))
		return err;
	/* Newest first: an updater's first appearance is its newest
	 * operation, its second that one's predecessor. */
	for (size_t i = 0; i < ops.len; i++) {
		const struct clr_update_op *cur =
			CLR_VEC_AT(&ops, struct clr_update_op, i);
		const struct clr_update_op *pred = NULL;
		bool newest = true, done;

		for (size_t j = 0; j < i && newest; j++)
			if (!strcmp(CLR_VEC_AT(&ops, struct clr_update_op,
					       j)->updater, cur->updater))
				newest = false;
		if (!newest)
			continue;
		for (size_t j = i + 1; j < ops.len && !pred; j++)
			if (!strcmp(CLR_VEC_AT(&ops, struct clr_update_op,
					       j)->updater, cur->updater))
				pred = CLR_VEC_AT(&ops, struct clr_update_op, j);
		if ((err = clr_store_notifier_processed(s, cur->ref, &done)))
			break;
		if (done)
			continue;
		/* One updater's failure does not hold up the others. */
		if ((err = process_one(s, o, cur, pred, created)) == CLR_EBUSY) {
			busy = true;
			err = 0;
		} else if (err) {
			clr_log_warn("notifier: %s: %s", cur->updater,
				     clr_error_msg());
			if (!first_err)
				first_err = err;
			err = 0;
		}
	}
	clr_update_ops_release(&ops);
	if (err || first_err)
		return err ? err : first_err;
	return busy ? clr_error_set(CLR_EBUSY, "another notifier is "
				    "processing an operation") : 0;
}

int clr_notifier_gc(struct clr_store *s, const struct clr_notifier_opts *o,
		    size_t *deleted)
{
	int64_t now = (int64_t)time(NULL);

	return clr_store_notification_gc(s, now - o->retention, deleted);
}
