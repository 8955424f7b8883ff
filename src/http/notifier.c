/*
 * notifier.c - the notification routes (reference/clair-api.md §1.2-1.3,
 * §2.3; docs/notifications.md): Clair v4's paging API and Clair v2's
 * legacy notifications, both reading the sets src/notifier/ stores.
 *
 *   GET    /notifier/api/v1/notification/{id}?page_size=&next=
 *          200 NotificationPage; 400 bad id, token or page_size;
 *          404 unknown id; 415
 *   DELETE /notifier/api/v1/notification/{id}
 *          200 (the set is marked deleted; GC removes it); 400; 404 for an
 *          id with no set (Clair answers 500 there, quay/clair#1716)
 *   GET    /v1/notifications/{name}?limit=&page=
 *          200 {"Notification": {...}}; 400; 404 (v2's error envelope)
 *   DELETE /v1/notifications/{name}          200; 404
 *   GET    /notifier/api/v1/internal/notifications   clarion's: receipts
 *
 * Mounted in notifier and combo modes (server.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"
#include "http/service.h"
#include "notifier/notifier.h"
#include "util/error.h"

#define MT_PAGE "application/vnd.clair.notification_page.v1+json"
#define MT_JSON "application/json"
/* The spelling Clair's code uses (its OpenAPI spec says notification_page). */
#define MT_NOTIFICATION "application/vnd.clair.notification.v1+json"
#define MT_V1 "application/json;charset=utf-8"

/* A decimal count for a query parameter: absent is 0 (the default);
 * anything but digits, or more than 9 of them, is -1. */
static long count_param(const char *v)
{
	size_t n = v ? strlen(v) : 0;

	if (!n)
		return 0;
	if (n > 9 || strspn(v, "0123456789") != n)
		return -1;
	return strtol(v, NULL, 10);
}

static int get_page(struct clr_http_request *req)
{
	const char *types[] = { MT_PAGE, MT_JSON, MT_NOTIFICATION, NULL };
	const char *id = clr_http_capture(req, 0);
	const char *next = clr_http_query(req, "next");
	long size = count_param(clr_http_query(req, "page_size"));
	struct clr_service *svc = clr_http_service(req);
	struct clr_store *s = NULL;
	const char *type;
	json_t *page = NULL;
	int err;

	if (!(type = clr_http_negotiate(req, types)))
		return clr_http_reply_error(req, 415, "cannot answer with any "
					    "type the request accepts");
	if (size < 0)
		return clr_http_reply_error(req, 400, "page_size must be a "
					    "non-negative integer");
	if (!clr_notifier_is_uuid(id))
		return clr_http_reply_error(req, 400, "notification id '%.64s' "
					    "is not a UUID", id);
	if ((err = clr_service_store_acquire(svc, &s)))
		return err;
	err = clr_notifier_page(&page, s, id, (size_t)size, next);
	clr_service_store_release(svc, s, err);
	if (err)
		return err;
	err = clr_http_reply_json(req, 200, type, page);
	json_decref(page);
	return err;
}

static int delete_set(struct clr_http_request *req)
{
	const char *id = clr_http_capture(req, 0);
	struct clr_service *svc = clr_http_service(req);
	struct clr_store *s = NULL;
	int err;

	if (!clr_notifier_is_uuid(id))
		return clr_http_reply_error(req, 400, "notification id '%.64s' "
					    "is not a UUID", id);
	if ((err = clr_service_store_acquire(svc, &s)))
		return err;
	err = clr_store_notification_delete(s, id);
	clr_service_store_release(svc, s, err);
	if (err)
		return err;
	return clr_http_reply_status(req, 200);
}

/* Clair v2's error envelope, {"Error": {"Message": ...}}. */
static int v1_error(struct clr_http_request *req, int err)
{
	json_t *b = json_pack("{s:{s:s}}", "Error", "Message",
			      clr_error_msg());
	int status = err == CLR_EINVALID ? 400 : err == CLR_ENOTFOUND ? 404 :
		     clr_http_status_of(err);
	int rc = clr_http_reply_json(req, status, MT_V1, b);

	json_decref(b);
	return rc;
}

static int v1_get(struct clr_http_request *req)
{
	const char *name = clr_http_capture(req, 0);
	const char *page = clr_http_query(req, "page");
	long limit = count_param(clr_http_query(req, "limit"));
	struct clr_service *svc = clr_http_service(req);
	struct clr_store *s = NULL;
	json_t *out = NULL;
	int err;

	if (limit < 0)
		return v1_error(req, clr_error_set(CLR_EINVALID, "invalid "
						   "limit format"));
	if ((err = clr_service_store_acquire(svc, &s)))
		return err;
	err = clr_notifier_v1_page(&out, s, name, (size_t)limit, page);
	clr_service_store_release(svc, s, err);
	/* v2 gives 404 for a name it does not know, whatever it looks
	 * like; a bad page token is 400. */
	if (err == CLR_EINVALID && !clr_notifier_is_uuid(name))
		err = clr_error_set(CLR_ENOTFOUND, "the resource cannot be "
				    "found");
	if (err)
		return v1_error(req, err);
	err = clr_http_reply_json(req, 200, MT_V1, out);
	json_decref(out);
	return err;
}

static int v1_delete(struct clr_http_request *req)
{
	const char *name = clr_http_capture(req, 0);
	struct clr_service *svc = clr_http_service(req);
	struct clr_store *s = NULL;
	int err;

	if (!clr_notifier_is_uuid(name))
		return v1_error(req, clr_error_set(CLR_ENOTFOUND, "the "
						   "resource cannot be found"));
	if ((err = clr_service_store_acquire(svc, &s)))
		return err;
	err = clr_store_notification_delete(s, name);
	clr_service_store_release(svc, s, err);
	if (err)
		return v1_error(req, err);
	return clr_http_reply_status(req, 200);
}

/* clarion's own: the receipts, for operators (`clarion notifications
 * list`); under internal/, which Clair exempts from API stability. */
static int list_sets(struct clr_http_request *req)
{
	struct clr_service *svc = clr_http_service(req);
	struct clr_vec v = CLR_VEC_INIT(struct clr_notif_receipt);
	struct clr_store *s = NULL;
	json_t *list;
	int err;

	if ((err = clr_service_store_acquire(svc, &s)))
		return err;
	err = clr_store_notification_list(s, &v);
	clr_service_store_release(svc, s, err);
	if (err) {
		clr_notif_receipts_release(&v);
		return err;
	}
	list = json_array();
	for (size_t i = 0; i < v.len; i++) {
		struct clr_notif_receipt *r =
			CLR_VEC_AT(&v, struct clr_notif_receipt, i);

		json_array_append_new(list, json_pack(
			"{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:s}",
			"id", r->id, "updater", r->updater,
			"update_operation", r->uo_ref, "status", r->status,
			"created", (json_int_t)r->created,
			"notifications", (json_int_t)r->items,
			"attempts", (json_int_t)r->attempts,
			"next_attempt", (json_int_t)r->next_attempt,
			"last_error", r->last_error));
	}
	clr_notif_receipts_release(&v);
	err = clr_http_reply_json(req, 200, MT_JSON, list);
	json_decref(list);
	return err;
}

const struct clr_http_route clr_http_notifier_routes[] = {
	{ "GET", "/notifier/api/v1/internal/notifications", list_sets,
	  "notification_list", 0 },
	{ "GET", "/notifier/api/v1/notification/{}", get_page,
	  "notification", 0 },
	{ "DELETE", "/notifier/api/v1/notification/{}", delete_set,
	  "notification_delete", 0 },
	{ "GET", "/v1/notifications/{}", v1_get, "v1_notification", 0 },
	{ "DELETE", "/v1/notifications/{}", v1_delete,
	  "v1_notification_delete", 0 },
	{ NULL, NULL, NULL, NULL, 0 },
};
