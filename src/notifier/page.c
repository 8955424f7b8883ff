/*
 * page.c - a notification set as the pages clients read (notifier.h):
 * Clair v4's NotificationPage and Clair v2's legacy Notification.
 *
 * Page tokens are item ids (UUIDs), as in Clair: page.next is the id of
 * the last item served, and the next page starts after it.  A token is
 * checked for the UUID shape before it goes near the database, so a
 * client's garbage is a 400, never a query.  Items are ordered by id, so
 * pages never overlap or skip, whatever else is written meanwhile.
 */
#include "notifier/notifier.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/error.h"

bool clr_notifier_is_uuid(const char *s)
{
	if (!s || strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		char c = s[i];

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return false;
		} else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
			return false;
		}
	}
	return true;
}

static int check_id(const char *id, const char *token)
{
	if (!clr_notifier_is_uuid(id))
		return clr_error_set(CLR_EINVALID, "notification id '%.64s' is "
				     "not a UUID", id ? id : "");
	if (token && *token && !clr_notifier_is_uuid(token))
		return clr_error_set(CLR_EINVALID, "page token '%.64s' is not "
				     "one this server gave", token);
	return 0;
}

/* The stored vulnerability summary as JSON (an object even if the text
 * were damaged: a page is never half-written). */
static json_t *vuln_json(const char *text)
{
	json_t *v = json_loads(text, 0, NULL);

	if (!json_is_object(v)) {
		json_decref(v);
		v = json_object();
	}
	return v;
}

/* What both kinds of page start from: the notification's receipt and its
 * items after the token, *size of them (0: the default; capped) plus one,
 * which tells whether there is a next page.  The caller releases r and
 * items whatever this returns. */
static int load_page(struct clr_store *s, const char *id, const char *token,
		     size_t *size, struct clr_notif_receipt *r,
		     struct clr_vec *items)
{
	int err;

	if ((err = check_id(id, token)) ||
	    (err = clr_store_notification_get(s, id, r)))
		return err;
	if (!*size)
		*size = CLR_NOTIFIER_PAGE_DEFAULT;
	if (*size > CLR_NOTIFIER_PAGE_MAX)
		*size = CLR_NOTIFIER_PAGE_MAX;
	return clr_store_notification_items(s, id, token && *token ? token :
					    NULL, *size + 1, items);
}

int clr_notifier_page(json_t **out, struct clr_store *s, const char *id,
		      size_t page_size, const char *next)
{
	struct clr_notif_receipt r = { 0 };
	struct clr_vec items = CLR_VEC_INIT(struct clr_notif_item);
	json_t *list, *page;
	size_t n;
	int err;

	*out = NULL;
	if ((err = load_page(s, id, next, &page_size, &r, &items)))
		goto cleanup;
	n = items.len > page_size ? page_size : items.len;
	list = json_array();
	for (size_t i = 0; i < n; i++) {
		struct clr_notif_item *it =
			CLR_VEC_AT(&items, struct clr_notif_item, i);

		json_array_append_new(list, json_pack(
			"{s:s, s:s, s:s, s:o}", "id", it->id,
			"manifest", it->manifest, "reason", it->reason,
			"vulnerability", vuln_json(it->vuln)));
	}
	page = json_pack("{s:I}", "size", (json_int_t)page_size);
	if (items.len > page_size)
		json_object_set_new(page, "next", json_string(
			CLR_VEC_AT(&items, struct clr_notif_item,
				   n - 1)->id));
	*out = json_pack("{s:o, s:o}", "page", page, "notifications", list);
cleanup:
	clr_notif_items_release(&items);
	clr_notif_receipt_release(&r);
	return err;
}

static const char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* Clair v2's severities are the same names (plus Defcon1, never made). */
static json_t *v1_vuln(const struct clr_notif_item *it)
{
	json_t *v = vuln_json(it->vuln), *out, *layers, *ordered;
	json_t *dist = json_object_get(v, "distribution");
	const char *did = json_string_value(json_object_get(dist, "did"));
	const char *ver = json_string_value(json_object_get(dist,
							    "version_id"));
	const char *links = json_string_value(json_object_get(v, "links"));
	char ns[256], link[1024];
	size_t i;
	json_t *l;

	/* v2 has one Link: the first of v4's space-separated list. */
	snprintf(link, sizeof(link), "%s", links ? links : "");
	link[strcspn(link, " ")] = '\0';
	snprintf(ns, sizeof(ns), "%s%s%s", did ? did : "", did && ver ? ":" :
		 "", did && ver ? ver : "");
	out = json_pack("{s:s, s:s, s:s, s:s, s:s}",
			"Name", jstr(v, "name"), "NamespaceName", ns,
			"Description", jstr(v, "description"), "Link", link,
			"Severity", *jstr(v, "severity") ?
			jstr(v, "severity") : "Unknown");
	if (*jstr(v, "fixed_in_version"))
		json_object_set_new(out, "FixedBy",
				    json_string(jstr(v, "fixed_in_version")));
	layers = json_loads(it->layers, 0, NULL);
	if (!json_is_array(layers)) {
		json_decref(layers);
		layers = json_array();
	}
	ordered = json_array();
	json_array_foreach(layers, i, l)
		json_array_append_new(ordered, json_pack(
			"{s:I, s:O}", "Index", (json_int_t)i, "LayerName", l));
	json_decref(v);
	return json_pack("{s:o, s:o, s:o}", "Vulnerability", out,
			 "OrderedLayersIntroducingVulnerability", ordered,
			 "LayersIntroducingVulnerability", layers);
}

static json_t *unix_string(int64_t t)
{
	char b[24];

	snprintf(b, sizeof(b), "%" PRId64, t);
	return json_string(b);
}

int clr_notifier_v1_page(json_t **out, struct clr_store *s, const char *id,
			 size_t limit, const char *page)
{
	struct clr_notif_receipt r = { 0 };
	struct clr_vec items = CLR_VEC_INIT(struct clr_notif_item);
	struct clr_notif_item *nw = NULL, *old = NULL;
	json_t *n;
	size_t k;
	int err;

	*out = NULL;
	if ((err = load_page(s, id, page, &limit, &r, &items)))
		goto cleanup;
	k = items.len > limit ? limit : items.len;
	/* Items are stored most severe first per manifest; the first of
	 * each reason on the page stands for the page. */
	for (size_t i = 0; i < k; i++) {
		struct clr_notif_item *it =
			CLR_VEC_AT(&items, struct clr_notif_item, i);

		if (!strcmp(it->reason, "added") && !nw)
			nw = it;
		else if (!strcmp(it->reason, "removed") && !old)
			old = it;
	}
	n = json_pack("{s:s, s:o, s:I, s:s}", "Name", r.id,
		      "Created", unix_string(r.created),
		      "Limit", (json_int_t)limit,
		      "Page", page && *page ? page : "");
	if (strcmp(r.status, "created") && strcmp(r.status, "delivery_failed"))
		json_object_set_new(n, "Notified", unix_string(r.created));
	if (!strcmp(r.status, "deleted"))
		json_object_set_new(n, "Deleted", unix_string(r.created));
	if (items.len > limit)
		json_object_set_new(n, "NextPage", json_string(
			CLR_VEC_AT(&items, struct clr_notif_item,
				   k - 1)->id));
	if (nw)
		json_object_set_new(n, "New", v1_vuln(nw));
	if (old)
		json_object_set_new(n, "Old", v1_vuln(old));
	*out = json_pack("{s:o}", "Notification", n);
cleanup:
	clr_notif_items_release(&items);
	clr_notif_receipt_release(&r);
	return err;
}
