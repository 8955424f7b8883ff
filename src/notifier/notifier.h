/*
 * notifier.h - from update operations to notifications, and their delivery
 * (Clair v4's notifier, reference/clair-api.md §5; docs/notifications.md).
 *
 * Three steps, each callable on its own (tests, `clarion serve`'s loop):
 *
 *   clr_notifier_process   for the newest update operation of each updater
 *                          that no notifier has processed: diff it against
 *                          the operation processed before it (else the one
 *                          before it in the store), match the added and the
 *                          removed records backwards against the indexed
 *                          manifests, store the notification set with its
 *                          receipt in one transaction.
 *   clr_notifier_deliver   claim each set due for delivery and POST the
 *                          webhook; 200 is success, anything else is tried
 *                          again later with backoff.
 *   clr_notifier_gc        forget deleted and old sets.
 *
 * "Backwards": a changed record's package name finds the candidate
 * manifests through the store's package-name index (binary and source
 * names); each candidate's stored IndexReport is then matched by
 * clr_match() against an index built from the changed records alone, so a
 * manifest is affected exactly when the matcher would say so.
 *
 * No HTTP server here: the HTTP side (src/http/notifier.c) pages and
 * deletes through clr_notifier_page() and the store.
 */
#ifndef CLR_NOTIFIER_NOTIFIER_H
#define CLR_NOTIFIER_NOTIFIER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

struct clr_config;

/* Page sizes: Clair's default (0 also means it) and clarion's cap (a
 * larger request is served this many, and says so in page.size). */
#define CLR_NOTIFIER_PAGE_DEFAULT 500
#define CLR_NOTIFIER_PAGE_MAX 1000

struct clr_notifier_opts {
	bool notify_first_update; /* an updater's first operation notifies */
	bool disable_summary;     /* one per (manifest, vulnerability, reason) */
	char *webhook_target;     /* POST here; NULL: no delivery */
	char *webhook_callback;   /* the paging URL; the set id is appended */
	char **webhook_headers;   /* "Name: value", NULL-terminated, or NULL */
	bool v2_body;             /* Clair v2's {"Notification":{"Name":id}} */
	unsigned char *psk;       /* auth.psk.key decoded: sign the webhook */
	size_t psk_len;
	int64_t delivery_interval; /* seconds: first retry; backoff doubles */
	int64_t poll_interval;    /* seconds between full polls */
	int64_t retention;        /* seconds a receipt is kept */
	long timeout;             /* seconds per webhook POST */
};

/* Defaults (Clair's): summary mode, first update silent, delivery_interval
 * 1h, poll_interval 6h, retention 14 days, 30 s per POST. */
void clr_notifier_opts_init(struct clr_notifier_opts *o);

/* The notifier.* (and auth.psk.key) settings of a configuration.
 * CLR_EINVALID for a target that is not http(s), a bad base64 key. */
int clr_notifier_opts_load(struct clr_notifier_opts *o,
			   const struct clr_config *c);

void clr_notifier_opts_release(struct clr_notifier_opts *o);

/* Processes what is new.  *created (may be NULL) counts the sets made.  An
 * operation another replica is processing (its lock held) is left to it,
 * and CLR_EBUSY says so once the rest is done: look again later, in case
 * that replica dies before finishing. */
int clr_notifier_process(struct clr_store *s,
			 const struct clr_notifier_opts *o, size_t *created);

/* Delivers every set due now, as owner (unique per process: the claim's
 * name).  *delivered and *failed (may be NULL) count attempts. */
int clr_notifier_deliver(struct clr_store *s,
			 const struct clr_notifier_opts *o, const char *owner,
			 size_t *delivered, size_t *failed);

/* Deletes deleted sets and receipts older than the retention. */
int clr_notifier_gc(struct clr_store *s, const struct clr_notifier_opts *o,
		    size_t *deleted);

/* Whether s is a UUID in its lowercase 8-4-4-4-12 form (what ids and page
 * tokens are). */
bool clr_notifier_is_uuid(const char *s);

/*
 * Page of set id as Clair's NotificationPage:
 *   {"page": {"size": N, "next": "<token>"?}, "notifications": [...]}
 * page_size 0 is CLR_NOTIFIER_PAGE_DEFAULT; more than
 * CLR_NOTIFIER_PAGE_MAX is capped (size says the size served).  next is
 * NULL or "" for the first page, else the token of the previous page.
 * CLR_EINVALID for an id or token that is not a UUID, CLR_ENOTFOUND for a
 * set that does not exist.
 */
int clr_notifier_page(json_t **out, struct clr_store *s, const char *id,
		      size_t page_size, const char *next);

/*
 * The same set as Clair v2's legacy notification (reference/clair-api.md
 * §2.2), paged by limit over its items: {"Notification": {"Name",
 * "Created", "Notified", "Deleted", "Limit", "Page", "NextPage", "New",
 * "Old"}}; New carries the most severe added vulnerability of the page,
 * Old the most severe removed one, each with the layers introducing it.
 * page is NULL/"" or a previous NextPage (CLR_EINVALID otherwise).
 */
int clr_notifier_v1_page(json_t **out, struct clr_store *s, const char *id,
			 size_t limit, const char *page);

/*
 * The background loop `clarion serve` runs: its own store handle, every
 * second a look at the update counter (process when it moved, and at least
 * every poll_interval), then delivery of what is due, and GC hourly.
 */
struct clr_notifier_loop;

/* o is borrowed: it must outlive the loop. */
int clr_notifier_start(struct clr_notifier_loop **out, const char *location,
		       const struct clr_notifier_opts *o);
/* Wakes the loop now (after an update in this process). */
void clr_notifier_kick(struct clr_notifier_loop *l);
/* Stops and frees; NULL does nothing. */
void clr_notifier_stop(struct clr_notifier_loop *l);

/* What `clarion serve` calls: loads the settings of c into *o (released
 * by the caller after the loop stops) and starts the loop on location when
 * a webhook is configured.  Without one, *out is NULL and 0 is returned,
 * unless required (notifier mode), where it is CLR_EINVALID, as Clair
 * refuses to start ("no delivery mechanisms configured"). */
int clr_notifier_serve(struct clr_notifier_loop **out,
		       struct clr_notifier_opts *o, const struct clr_config *c,
		       const char *location, bool required);

#endif
