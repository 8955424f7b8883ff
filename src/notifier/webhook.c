/*
 * webhook.c - delivering notification sets, and the notifier's settings
 * (notifier.h).
 *
 * Delivery is Clair's webhook: POST {"notification_id": ID, "callback":
 * CALLBACK+ID} (or Clair v2's {"Notification": {"Name": ID}}) with the
 * configured headers, signed with the PSK JWT (issuer clair-notifier) when
 * auth.psk is set.  Only an HTTP 200 counts as delivered: anything else is
 * recorded as delivery_failed with the reason, and tried again after
 * delivery_interval, doubling per failed attempt up to 8 intervals, with
 * no cap on attempts.  State is in the store, so retries survive restarts;
 * a claim with a lease makes one replica deliver each set, and a claim
 * left by a crashed process expires, so delivery is at least once, as
 * Clair's is (receivers must be idempotent on notification_id).
 */
#include "notifier/notifier.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "config/config.h"
#include "http/jwt.h"
#include "util/alloc.h"
#include "util/curl.h"
#include "util/error.h"
#include "util/log.h"

/* A receiver's answer body is read and thrown away, at most this much. */
#define RESPONSE_MAX (64 * 1024)

/* The longest backoff, in delivery intervals. */
#define BACKOFF_MAX 8

void clr_notifier_opts_init(struct clr_notifier_opts *o)
{
	*o = (struct clr_notifier_opts){
		.notify_first_update = false,
		.disable_summary = false,
		.webhook_target = NULL,
		.webhook_callback = NULL,
		.webhook_headers = NULL,
		.v2_body = false,
		.psk = NULL,
		.psk_len = 0,
		.delivery_interval = 3600,
		.poll_interval = 6 * 3600,
		.retention = 14 * 24 * 3600,
		.timeout = 30,
	};
}

void clr_notifier_opts_release(struct clr_notifier_opts *o)
{
	if (!o)
		return;
	free(o->webhook_target);
	free(o->webhook_callback);
	for (size_t i = 0; o->webhook_headers && o->webhook_headers[i]; i++)
		free(o->webhook_headers[i]);
	free(o->webhook_headers);
	if (o->psk)
		memset(o->psk, 0, o->psk_len);
	free(o->psk);
	clr_notifier_opts_init(o);
}

static bool is_http_url(const char *u)
{
	return !strncasecmp(u, "http://", 7) || !strncasecmp(u, "https://", 8);
}

/* Keys this clarion may not have (another part of the tree adds them):
 * asked only when the table has the row. */
static const char *opt_string(const struct clr_config *c, const char *key)
{
	const struct clr_config_key *k = clr_config_key_find(key);

	if (!k || k->type != CLR_CONFIG_STRING)
		return NULL;
	return clr_config_string(c, key);
}

static int64_t opt_seconds(const struct clr_config *c, const char *key,
			   int64_t def)
{
	const struct clr_config_key *k = clr_config_key_find(key);
	int64_t ms;

	if (!k || k->type != CLR_CONFIG_DURATION)
		return def;
	ms = clr_config_duration_ms(c, key);
	return ms >= 1000 ? ms / 1000 : ms > 0 ? 1 : def;
}

static bool opt_bool(const struct clr_config *c, const char *key, bool def)
{
	const struct clr_config_key *k = clr_config_key_find(key);

	return k && k->type == CLR_CONFIG_BOOL ? clr_config_bool(c, key) : def;
}

static int decode_psk(struct clr_notifier_opts *o, const char *b64)
{
	size_t len = strlen(b64);
	unsigned char *key = clr_malloc(len / 4 * 3 + 4);
	int n = EVP_DecodeBlock(key, (const unsigned char *)b64, (int)len);

	if (n < 0 || len % 4) {
		free(key);
		return clr_error_set(CLR_EINVALID, "auth.psk.key is not "
				     "base64");
	}
	/* EVP_DecodeBlock counts padding bytes as data. */
	while (len && b64[len - 1] == '=' && n > 0) {
		len--;
		n--;
	}
	o->psk = key;
	o->psk_len = (size_t)n;
	return 0;
}

int clr_notifier_opts_load(struct clr_notifier_opts *o,
			   const struct clr_config *c)
{
	const char *target, *callback, *v2, *psk;
	int err;

	clr_notifier_opts_init(o);
	o->notify_first_update = opt_bool(c, "notifier.notify_first_update",
					  false);
	o->disable_summary = opt_bool(c, "notifier.disable_summary", false);
	o->delivery_interval = opt_seconds(c, "notifier.delivery_interval",
					   o->delivery_interval);
	o->poll_interval = opt_seconds(c, "notifier.poll_interval",
				       o->poll_interval);
	o->retention = opt_seconds(c, "notifier.retention", o->retention);
	target = opt_string(c, "notifier.webhook.target");
	callback = opt_string(c, "notifier.webhook.callback");
	/* Clair v2's shape (clair.notifier.http.endpoint, which the loader
	 * also copies to notifier.webhook.target unless that is set): the
	 * v2 body, {"Notification":{"Name":id}}, no callback. */
	v2 = opt_string(c, "clair.notifier.http.endpoint");
	if (v2 && *v2 && (!target || !*target || !strcmp(target, v2))) {
		target = v2;
		o->v2_body = true;
	}
	if (target && *target) {
		if (!is_http_url(target)) {
			err = clr_error_set(CLR_EINVALID, "notifier.webhook."
					    "target: '%s' is not an http(s) "
					    "URL", target);
			goto fail;
		}
		o->webhook_target = clr_strdup(target);
	}
	if (callback && *callback) {
		size_t n = strlen(callback);

		if (!is_http_url(callback)) {
			err = clr_error_set(CLR_EINVALID, "notifier.webhook."
					    "callback: '%s' is not an http(s) "
					    "URL", callback);
			goto fail;
		}
		/* Clair enforces the trailing slash: the id is appended. */
		o->webhook_callback = clr_malloc(n + 2);
		snprintf(o->webhook_callback, n + 2, "%s%s", callback,
			 callback[n - 1] == '/' ? "" : "/");
	}
	{
		const struct clr_config_key *k =
			clr_config_key_find("notifier.webhook.headers");
		const char *name, *value;
		size_t pos = 0, n = 0;

		while (k && k->type == CLR_CONFIG_MAP &&
		       clr_config_map_next(c, k->name, &pos, &name, &value)) {
			size_t len = strlen(name) + strlen(value) + 3;

			/* A header line is one line: no CR or LF from a
			 * configuration gets into the request. */
			if (strpbrk(name, "\r\n:") || strpbrk(value, "\r\n")) {
				err = clr_error_set(CLR_EINVALID, "notifier."
						    "webhook.headers.%s: not a "
						    "usable header", name);
				goto fail;
			}
			o->webhook_headers = clr_realloc(o->webhook_headers,
				(n + 2) * sizeof(*o->webhook_headers));
			o->webhook_headers[n] = clr_malloc(len);
			snprintf(o->webhook_headers[n], len, "%s: %s", name,
				 value);
			o->webhook_headers[++n] = NULL;
		}
	}
	psk = opt_string(c, "auth.psk.key");
	if (psk && *psk && (err = decode_psk(o, psk)))
		goto fail;
	return 0;
fail:
	clr_notifier_opts_release(o);
	return err;
}

/* --- one POST --------------------------------------------------------------- */

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
	size_t *got = arg;

	(void)p;
	*got += size * n;
	return *got > RESPONSE_MAX ? 0 : size * n;
}

/* POSTs body to the target: 0 on 200, else CLR_ENET with the reason. */
static int post(const struct clr_notifier_opts *o, const char *body)
{
	char errbuf[CURL_ERROR_SIZE] = "", *token = NULL, *auth = NULL;
	struct curl_slist *h = NULL;
	size_t got = 0;
	long status = 0;
	CURLcode rc;
	CURL *c;
	int err = 0;

	clr_curl_global_init();
	if (!(c = curl_easy_init()))
		return clr_error_set(CLR_ENOMEM, "cannot start libcurl");
	h = curl_slist_append(h, "Content-Type: application/json");
	for (size_t i = 0; o->webhook_headers && o->webhook_headers[i]; i++)
		h = curl_slist_append(h, o->webhook_headers[i]);
	if (o->psk) {
		int64_t now = (int64_t)time(NULL);
		size_t n;

		if ((err = clr_jwt_sign(&token, o->psk, o->psk_len,
					"clair-notifier", now, 60)))
			goto cleanup;
		n = strlen(token) + 32;
		auth = clr_malloc(n);
		snprintf(auth, n, "Authorization: Bearer %s", token);
		h = curl_slist_append(h, auth);
	}
	curl_easy_setopt(c, CURLOPT_URL, o->webhook_target);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	/* A redirect would turn the POST into a GET: not followed. */
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "clarion");
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, o->timeout);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, o->timeout);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &got);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && status == 200))
		err = clr_error_set(CLR_ENET, "webhook %s: %s",
				    o->webhook_target,
				    *errbuf ? errbuf : curl_easy_strerror(rc));
	else if (status != 200)
		err = clr_error_set(CLR_ENET, "webhook %s answered HTTP %ld "
				    "(only 200 counts as delivered)",
				    o->webhook_target, status);
cleanup:
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	free(token);
	free(auth);
	return err;
}

static char *body_of(const struct clr_notifier_opts *o, const char *id)
{
	json_t *b;
	char *text;

	if (o->v2_body) {
		b = json_pack("{s:{s:s}}", "Notification", "Name", id);
	} else {
		size_t n = (o->webhook_callback ?
			    strlen(o->webhook_callback) : 0) + strlen(id) + 1;
		char *cb = clr_malloc(n);

		snprintf(cb, n, "%s%s", o->webhook_callback ?
			 o->webhook_callback : "", id);
		b = json_pack("{s:s, s:s}", "notification_id", id,
			      "callback", cb);
		free(cb);
	}
	text = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	if (!text)
		abort();
	return text;
}

int clr_notifier_deliver(struct clr_store *s,
			 const struct clr_notifier_opts *o, const char *owner,
			 size_t *delivered, size_t *failed)
{
	size_t ok = 0, bad = 0;
	int err = 0;

	if (!o->webhook_target)
		goto done;
	for (;;) {
		struct clr_notif_receipt r = { 0 };
		int64_t now = (int64_t)time(NULL), wait;
		char *id = NULL, *body;
		int sent;

		/* The lease outlasts one POST by a margin: a claim is
		 * never taken from a live deliverer. */
		if ((err = clr_store_notification_claim(s, owner, now,
							o->timeout * 2 + 60,
							&id)) || !id)
			break;
		if ((err = clr_store_notification_get(s, id, &r))) {
			free(id);
			break;
		}
		body = body_of(o, id);
		sent = post(o, body);
		wait = o->delivery_interval;
		for (int64_t i = 0; i < r.attempts && wait <
		     o->delivery_interval * BACKOFF_MAX; i++)
			wait *= 2;
		if (sent) {
			char *why = clr_strdup(clr_error_msg());

			clr_log_warn("notifier: delivery of %s failed "
				     "(attempt %" PRId64 "), next in %" PRId64
				     " s: %s", id, r.attempts + 1, wait, why);
			err = clr_store_notification_done(s, id, owner, why,
							  now + wait);
			free(why);
			bad++;
		} else {
			clr_log_info("notifier: delivered notification %s to "
				     "%s", id, o->webhook_target);
			err = clr_store_notification_done(s, id, owner, NULL,
							  0);
			ok++;
		}
		free(body);
		free(id);
		clr_notif_receipt_release(&r);
		if (err == CLR_EEXISTS) {
			/* Our lease ran out and another took over: it will
			 * record the outcome. */
			clr_log_warn("notifier: %s", clr_error_msg());
			err = 0;
		}
		if (err)
			break;
	}
done:
	if (delivered)
		*delivered = ok;
	if (failed)
		*failed = bad;
	return err;
}
