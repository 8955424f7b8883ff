/*
 * cmd_notifications.c - `clarion notifications list|show ID|delete ID`:
 * an operator's look at a server's notifications through its HTTP API
 * (docs/notifications.md).
 *
 *   list        GET /notifier/api/v1/internal/notifications: every set
 *               with its receipt (status, attempts, last delivery error)
 *   show ID     GET /notifier/api/v1/notification/ID, every page, as one
 *               table (or --json: the pages' items as one JSON array)
 *   delete ID   DELETE /notifier/api/v1/notification/ID
 *
 * With --psk (or $CLARION_PSK), requests carry a PSK JWT as Clair's
 * clairctl signs them (issuer "clairctl", or --issuer).
 */
#include <curl/curl.h>
#include <getopt.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli/cli.h"
#include "http/jwt.h"
#include "notifier/notifier.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/error.h"

/* The largest answer read (a page of 1000 items is well under). */
#define BODY_MAX (64u << 20)

const char cmd_notifications_usage[] =
	"usage: clarion notifications [options] list\n"
	"       clarion notifications [options] show ID\n"
	"       clarion notifications [options] delete ID\n"
	"\n"
	"Lists, pages or deletes the notifications of a clarion (or Clair v4)\n"
	"server through its HTTP API.\n"
	"\n"
	"options:\n"
	"  -s, --server URL   the server (default $CLARION_SERVER, else\n"
	"                     http://localhost:6060)\n"
	"  -j, --json         show: print the items as one JSON array\n"
	"      --page-size N  show: items per request (default 500)\n"
	"      --psk KEY      sign requests with this base64 PSK (default\n"
	"                     $CLARION_PSK)\n"
	"      --issuer NAME  the JWT issuer (default clairctl)\n";

struct client {
	const char *server;
	unsigned char *psk;
	size_t psk_len;
	const char *issuer;
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	return clr_buf_add(arg, p, size * n) ? 0 : size * n;
}

/* One request; *status the HTTP status, body the answer.  CLR_ENET when
 * the server cannot be reached. */
static int request(const struct client *c, const char *method,
		   const char *path, long *status, struct clr_buf *body)
{
	char url[2048], errbuf[CURL_ERROR_SIZE] = "", *token = NULL;
	char auth[CLR_JWT_MAX_LEN + 32];
	struct curl_slist *h = NULL;
	CURLcode rc;
	CURL *k;
	int err = 0;

	size_t n = strlen(c->server);

	/* path starts with '/': the server's own trailing one goes. */
	while (n && c->server[n - 1] == '/')
		n--;
	snprintf(url, sizeof(url), "%.*s%s", (int)n, c->server, path);
	if (!(k = curl_easy_init()))
		return clr_error_set(CLR_ENOMEM, "cannot start libcurl");
	h = curl_slist_append(h, "Accept: application/json");
	if (c->psk) {
		if ((err = clr_jwt_sign(&token, c->psk, c->psk_len, c->issuer,
					(int64_t)time(NULL), 60)))
			goto cleanup;
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		h = curl_slist_append(h, auth);
	}
	curl_easy_setopt(k, CURLOPT_URL, url);
	curl_easy_setopt(k, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(k, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(k, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(k, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(k, CURLOPT_USERAGENT, "clarion");
	curl_easy_setopt(k, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(k, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(k, CURLOPT_TIMEOUT, 120L);
	curl_easy_setopt(k, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(k, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(k, CURLOPT_WRITEDATA, body);
	if ((rc = curl_easy_perform(k)) != CURLE_OK) {
		err = clr_error_set(CLR_ENET, "%s %s: %s", method, url,
				    *errbuf ? errbuf : curl_easy_strerror(rc));
		goto cleanup;
	}
	curl_easy_getinfo(k, CURLINFO_RESPONSE_CODE, status);
cleanup:
	curl_slist_free_all(h);
	curl_easy_cleanup(k);
	free(token);
	return err;
}

/* The message of an error answer: Clair's {"message"}, else the status. */
static int http_fail(const char *what, long status, const struct clr_buf *b)
{
	json_t *j = b->len ? json_loads(clr_buf_str(b), 0, NULL) : NULL;
	const char *m = json_string_value(json_object_get(j, "message"));
	int rc = clr_cli_fail("notifications", "%s: HTTP %ld%s%s", what,
			      status, m ? ": " : "", m ? m : "");

	json_decref(j);
	return rc;
}

/* GET path as JSON into *out. */
static int get_json(const struct client *c, const char *path, json_t **out)
{
	struct clr_buf b = CLR_BUF_INIT(BODY_MAX);
	long status = 0;
	json_error_t e;
	int rc = CLR_EXIT_OK;

	*out = NULL;
	if (request(c, "GET", path, &status, &b)) {
		rc = clr_cli_fail("notifications", "%s", clr_error_msg());
	} else if (status != 200) {
		rc = http_fail(path, status, &b);
	} else if (!(*out = json_loads(clr_buf_str(&b), 0, &e))) {
		rc = clr_cli_fail("notifications", "%s: the answer is not JSON: "
				  "%s", path, e.text);
	}
	clr_buf_release(&b);
	return rc;
}

static const char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static int do_list(const struct client *c)
{
	json_t *list, *x;
	size_t i;
	int rc = get_json(c, "/notifier/api/v1/internal/notifications", &list);

	if (rc)
		return rc;
	printf("%-36s  %-15s  %5s  %8s  %-20s  %s\n", "ID", "STATUS", "ITEMS",
	       "ATTEMPTS", "CREATED", "UPDATER");
	json_array_foreach(list, i, x) {
		time_t t = (time_t)json_integer_value(json_object_get(x,
								      "created"));
		char when[32];
		struct tm tm;

		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ",
			 gmtime_r(&t, &tm));
		printf("%-36s  %-15s  %5lld  %8lld  %-20s  %s\n", jstr(x, "id"),
		       jstr(x, "status"),
		       (long long)json_integer_value(json_object_get(
			       x, "notifications")),
		       (long long)json_integer_value(json_object_get(
			       x, "attempts")), when, jstr(x, "updater"));
		if (*jstr(x, "last_error"))
			printf("  last error: %s\n", jstr(x, "last_error"));
	}
	json_decref(list);
	return CLR_EXIT_OK;
}

static int do_show(const struct client *c, const char *id, long page_size,
		   int as_json)
{
	json_t *all = json_array(), *page = NULL, *x;
	char path[512], *next = NULL;
	size_t i;
	int rc;

	if (!clr_notifier_is_uuid(id)) {
		json_decref(all);
		return clr_cli_fail("notifications", "'%s' is not a "
				    "notification id (a UUID)", id);
	}
	do {
		json_t *p;

		snprintf(path, sizeof(path), "/notifier/api/v1/notification/"
			 "%s?page_size=%ld%s%s", id, page_size,
			 next ? "&next=" : "", next ? next : "");
		if ((rc = get_json(c, path, &page)))
			goto cleanup;
		json_array_extend(all, json_object_get(page, "notifications"));
		p = json_object_get(page, "page");
		free(next);
		next = json_string_value(json_object_get(p, "next")) ?
		       clr_strdup(jstr(p, "next")) : NULL;
		json_decref(page);
	} while (next);
	if (as_json) {
		char *text = json_dumps(all, JSON_INDENT(2));

		puts(text);
		free(text);
		goto cleanup;
	}
	printf("%-71s  %-7s  %-16s  %-10s  %s\n", "MANIFEST", "REASON",
	       "VULNERABILITY", "SEVERITY", "PACKAGE");
	json_array_foreach(all, i, x) {
		json_t *v = json_object_get(x, "vulnerability");

		printf("%-71s  %-7s  %-16s  %-10s  %s\n", jstr(x, "manifest"),
		       jstr(x, "reason"), jstr(v, "name"),
		       jstr(v, "severity"),
		       jstr(json_object_get(v, "package"), "name"));
	}
cleanup:
	free(next);
	json_decref(all);
	return rc;
}

static int do_delete(const struct client *c, const char *id)
{
	struct clr_buf b = CLR_BUF_INIT(BODY_MAX);
	char path[512];
	long status = 0;
	int rc = CLR_EXIT_OK;

	if (!clr_notifier_is_uuid(id))
		return clr_cli_fail("notifications", "'%s' is not a "
				    "notification id (a UUID)", id);
	snprintf(path, sizeof(path), "/notifier/api/v1/notification/%s", id);
	if (request(c, "DELETE", path, &status, &b))
		rc = clr_cli_fail("notifications", "%s", clr_error_msg());
	else if (status != 200)
		rc = http_fail(path, status, &b);
	else
		printf("deleted %s\n", id);
	clr_buf_release(&b);
	return rc;
}

static unsigned char *b64(const char *s, size_t *len)
{
	size_t n = strlen(s);
	unsigned char *out;
	int k;

	if (!n || n % 4)
		return NULL;
	out = clr_malloc(n / 4 * 3 + 4);
	if ((k = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n)) < 0) {
		free(out);
		return NULL;
	}
	while (n && s[n - 1] == '=' && k > 0) {
		n--;
		k--;
	}
	*len = (size_t)k;
	return out;
}

int cmd_notifications(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "server", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "page-size", required_argument, NULL, 'n' },
		{ "psk", required_argument, NULL, 'K' },
		{ "issuer", required_argument, NULL, 'I' },
		{ NULL, 0, NULL, 0 },
	};
	struct client c = {
		.server = getenv("CLARION_SERVER"),
		.psk = NULL,
		.psk_len = 0,
		.issuer = "clairctl",
	};
	const char *psk = getenv("CLARION_PSK"), *verb;
	long page_size = CLR_NOTIFIER_PAGE_DEFAULT;
	int ch, as_json = 0, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "s:j", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			c.server = optarg;
			break;
		case 'j':
			as_json = 1;
			break;
		case 'n':
			page_size = strtol(optarg, NULL, 10);
			if (page_size < 1 || page_size > CLR_NOTIFIER_PAGE_MAX)
				return clr_cli_fail("notifications", "--page-size "
						    "must be 1 to %d",
						    CLR_NOTIFIER_PAGE_MAX);
			break;
		case 'K':
			psk = optarg;
			break;
		case 'I':
			c.issuer = optarg;
			break;
		default:
			return CLR_EXIT_ERROR;
		}
	}
	if (!c.server || !*c.server)
		c.server = "http://localhost:6060";
	if (optind >= argc)
		return clr_cli_fail("notifications", "expected list, show ID "
				    "or delete ID");
	verb = argv[optind++];
	if (psk && *psk && !(c.psk = b64(psk, &c.psk_len)))
		return clr_cli_fail("notifications", "the PSK is not base64");
	if (!strcmp(verb, "list") && optind == argc)
		rc = do_list(&c);
	else if (!strcmp(verb, "show") && optind + 1 == argc)
		rc = do_show(&c, argv[optind], page_size, as_json);
	else if (!strcmp(verb, "delete") && optind + 1 == argc)
		rc = do_delete(&c, argv[optind]);
	else
		rc = clr_cli_fail("notifications", "expected list, show ID or "
				  "delete ID");
	free(c.psk);
	return rc;
}
