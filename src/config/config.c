/*
 * config.c - the configuration table and its loader (see config.h).
 *
 * clr_config_keys[] below is the whole configuration: the loader walks the
 * YAML tree and, for each key it meets, finds the row, converts the value
 * by the row's type, or fails naming the key.  An intermediate mapping
 * ("matcher:") is accepted because some row's name starts with it.
 *
 * libfyaml builds the document tree; nothing in the tree is trusted: keys
 * and scalars are length-counted (and may hold NULs, which are refused),
 * aliases are refused rather than expanded, and the file is read with a cap
 * before the parser sees it.
 */
#include <errno.h>
#include <fcntl.h>
#include <libfyaml.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config/config.h"
#include "config/yaml.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/hashmap.h"

/* Separates name and setting in the settings map's keys: a byte no YAML
 * key can usefully hold and which we refuse in keys. */
#define SETTING_SEP '\x1f'
#define MAX_LIST 10000         /* items of a list key */
#define MAX_SETTINGS 100000    /* name/setting pairs of a settings key */

/* ------------------------------------------------------------------ */
/* The table                                                           */

static int check_log_level(const char *v);

const struct clr_config_key clr_config_keys[] = {
	{ "database", CLR_CONFIG_STRING, NULL, NULL,
	  "where clarion keeps its data: a file path (SQLite) or a postgres:// "
	  "URL (default: $CLARION_DB, else ~/.cache/clarion/clarion.db)" },
	{ "log_level", CLR_CONFIG_STRING, "info", check_log_level,
	  "debug, info, warn or error (Clair's debug-color, fatal and panic "
	  "are accepted)" },
	{ "matcher.period", CLR_CONFIG_DURATION, "6h", NULL,
	  "how often the server runs the updaters" },
	{ "matcher.update_retention", CLR_CONFIG_INT, "10", NULL,
	  "update operations kept per updater (0 or 1: 10; negative: keep all)" },
	{ "matcher.disable_updaters", CLR_CONFIG_BOOL, "false", NULL,
	  "run no updaters unless asked by name (an offline database filled "
	  "by `clarion db import`)" },
	{ "updaters.sets", CLR_CONFIG_LIST, NULL, NULL,
	  "the sources to update (debian, ubuntu, alpine, rhel, oracle, suse, "
	  "photon, alma, rocky); not given: all; []: none" },
	{ "updaters.config", CLR_CONFIG_SETTINGS, NULL, NULL,
	  "per-source or per-updater settings: updaters.config.NAME.KEY, "
	  "e.g. updaters.config.debian.url" },
	/* clarion serve (Clair v4's names; docs/config.md) */
	{ "http_listen_addr", CLR_CONFIG_STRING, ":6060", NULL,
	  "the API listener, host:port (:port: every address)" },
	{ "introspection_addr", CLR_CONFIG_STRING, ":8089", NULL,
	  "the listener of /healthz, /readyz and /metrics; \"\": none" },
	{ "indexer.connstring", CLR_CONFIG_STRING, NULL, NULL,
	  "Clair's indexer database (a postgres:// URL), used when `database` "
	  "is not set" },
	{ "indexer.scanlock_retry", CLR_CONFIG_INT, "1", NULL,
	  "accepted for Clair compatibility; clarion waits on the manifest "
	  "lock itself" },
	{ "indexer.layer_scan_concurrency", CLR_CONFIG_INT, "0", NULL,
	  "layers of one manifest fetched and scanned at once (0: 3; at most 8)" },
	{ "indexer.index_report_request_concurrency", CLR_CONFIG_INT, "0", NULL,
	  "index requests (POST index_report) served at once, 429 beyond: "
	  "0: 4 per CPU, negative: unlimited" },
	{ "indexer.migrations", CLR_CONFIG_BOOL, "false", NULL,
	  "accepted for Clair compatibility; clarion always migrates on start" },
	{ "indexer.airgap", CLR_CONFIG_BOOL, "false", NULL,
	  "accepted for Clair compatibility; not enforced by clarion yet" },
	{ "matcher.connstring", CLR_CONFIG_STRING, NULL, NULL,
	  "Clair's matcher database, used when neither `database` nor "
	  "indexer.connstring is set" },
	{ "matcher.indexer_addr", CLR_CONFIG_STRING, NULL, NULL,
	  "accepted for Clair compatibility; clarion's matcher reads index "
	  "reports from the shared database" },
	{ "matcher.migrations", CLR_CONFIG_BOOL, "false", NULL,
	  "accepted for Clair compatibility; clarion always migrates on start" },
	{ "matcher.cache_age", CLR_CONFIG_DURATION, NULL, NULL,
	  "Cache-Control max-age of vulnerability reports (default: "
	  "matcher.period)" },
	{ "matcher.max_conn_pool", CLR_CONFIG_INT, "0", NULL,
	  "accepted for Clair compatibility (deprecated there too)" },
	{ "matcher.disable_enrichment", CLR_CONFIG_BOOL, "false", NULL,
	  "no CVSS enrichment (NVD scores) in reports even when the nvd "
	  "source has data" },
	{ "matcher.index_poll", CLR_CONFIG_DURATION, "5s", NULL,
	  "clarion: how often a server checks the database for new update "
	  "operations (another replica's) to reload its vulnerability index" },
	{ "matchers.names", CLR_CONFIG_LIST, NULL, NULL,
	  "accepted for Clair compatibility; clarion runs every matcher" },
	{ "matchers.config", CLR_CONFIG_SETTINGS, NULL, NULL,
	  "accepted for Clair compatibility" },
	{ "auth.psk.key", CLR_CONFIG_STRING, NULL, NULL,
	  "the pre-shared HS256 key, base64; when set, API requests need "
	  "Authorization: Bearer <JWT>" },
	{ "auth.psk.iss", CLR_CONFIG_LIST, NULL, NULL,
	  "issuers accepted besides clair-intraservice" },
	{ "metrics.name", CLR_CONFIG_STRING, "prometheus", NULL,
	  "accepted for Clair compatibility; clarion serves Prometheus text" },
	{ "metrics.prometheus.endpoint", CLR_CONFIG_STRING, "/metrics", NULL,
	  "accepted for Clair compatibility; clarion serves /metrics" },
	{ "http.max_body", CLR_CONFIG_INT, "4194304", NULL,
	  "clarion: largest request body accepted, in bytes (413 beyond)" },
	{ "http.max_connections", CLR_CONFIG_INT, "1024", NULL,
	  "clarion: connections served at once per listener" },
	{ "http.idle_timeout", CLR_CONFIG_DURATION, "120s", NULL,
	  "clarion: an idle connection is closed after this long (0: never)" },
	{ "http.shutdown_grace", CLR_CONFIG_DURATION, "30s", NULL,
	  "clarion: on SIGTERM, how long requests in flight may take to finish" },
	{ "http.report_cache", CLR_CONFIG_INT, "67108864", NULL,
	  "clarion: bytes of encoded vulnerability reports kept for repeated "
	  "requests (0: none); reports are recomputed after each update" },
	{ "database_connect_timeout", CLR_CONFIG_DURATION, "0", NULL,
	  "clarion: when the database cannot be reached at start, `serve` "
	  "keeps retrying (503 meanwhile) and gives up after this long "
	  "(0: never)" },
	{ "tls.cert", CLR_CONFIG_STRING, NULL, NULL,
	  "PEM certificate (full chain) of the API listener: HTTPS when set "
	  "with tls.key" },
	{ "tls.key", CLR_CONFIG_STRING, NULL, NULL,
	  "PEM private key (unencrypted) of tls.cert" },
	{ "indexer.layer_hosts", CLR_CONFIG_LIST, NULL, NULL,
	  "clarion: hosts (host or host:port, `*.` prefix for subdomains) "
	  "layers may be fetched from; not given or []: any" },
	{ "indexer.refuse_private", CLR_CONFIG_BOOL, "false", NULL,
	  "clarion: refuse layer URIs (and redirects) whose connected "
	  "address is loopback, link-local, private (RFC 1918, ULA) or "
	  "unspecified" },
	/* the notifier (Clair v4's names; docs/notifications.md) */
	{ "notifier.connstring", CLR_CONFIG_STRING, NULL, NULL,
	  "accepted for Clair compatibility; the notifier uses `database`" },
	{ "notifier.migrations", CLR_CONFIG_BOOL, "false", NULL,
	  "accepted for Clair compatibility; clarion always migrates on start" },
	{ "notifier.indexer_addr", CLR_CONFIG_STRING, NULL, NULL,
	  "accepted for Clair compatibility; the notifier reads index reports "
	  "from the shared database" },
	{ "notifier.matcher_addr", CLR_CONFIG_STRING, NULL, NULL,
	  "accepted for Clair compatibility; the notifier reads update "
	  "operations from the shared database" },
	{ "notifier.poll_interval", CLR_CONFIG_DURATION, "6h", NULL,
	  "the notifier looks for new update operations at least this often "
	  "(and within a second of one stored)" },
	{ "notifier.delivery_interval", CLR_CONFIG_DURATION, "1h", NULL,
	  "a failed webhook delivery is tried again after this long, doubling "
	  "per failure up to 8 times as long" },
	{ "notifier.disable_summary", CLR_CONFIG_BOOL, "false", NULL,
	  "one notification per (manifest, vulnerability, reason) instead of "
	  "one per (manifest, reason) with the most severe vulnerability" },
	{ "notifier.notify_first_update", CLR_CONFIG_BOOL, "false", NULL,
	  "clarion: an updater's first update operation notifies too (a fresh "
	  "database is not news by default)" },
	{ "notifier.retention", CLR_CONFIG_DURATION, "336h", NULL,
	  "clarion: notification receipts are kept this long (Clair: 14 days)" },
	{ "notifier.webhook.target", CLR_CONFIG_STRING, NULL, NULL,
	  "the URL notifications are POSTed to; not set: no delivery" },
	{ "notifier.webhook.callback", CLR_CONFIG_STRING, NULL, NULL,
	  "the paging URL sent in each webhook, e.g. "
	  "http://clarion:6060/notifier/api/v1/notification/ (the id is appended)" },
	{ "notifier.webhook.headers", CLR_CONFIG_MAP, NULL, NULL,
	  "headers sent with every webhook: NAME: value, or NAME: [values]" },
	{ "notifier.webhook.signed", CLR_CONFIG_BOOL, "false", NULL,
	  "accepted for Clair compatibility (deprecated): the webhook is "
	  "signed whenever auth.psk is set" },
	/* Clair v2's config.yaml (reference/clair-api.md §3.2), so that a
	 * v2-era deployment's file works; each maps onto the v4 key named
	 * (see clair_v2_translate below), which wins when both are set. */
	{ "clair.database.type", CLR_CONFIG_STRING, NULL, NULL,
	  "Clair v2: pgsql (accepted)" },
	{ "clair.database.options.source", CLR_CONFIG_STRING, NULL, NULL,
	  "Clair v2: a libpq connection string or URL; sets `database`" },
	{ "clair.database.options.cachesize", CLR_CONFIG_INT, "0", NULL,
	  "Clair v2: accepted, unused" },
	{ "clair.api.port", CLR_CONFIG_INT, "0", NULL,
	  "Clair v2: the API port; sets http_listen_addr to :PORT" },
	{ "clair.api.healthport", CLR_CONFIG_INT, "0", NULL,
	  "Clair v2: the health port; sets introspection_addr to :PORT, "
	  "where GET /health answers" },
	{ "clair.api.timeout", CLR_CONFIG_DURATION, NULL, NULL,
	  "Clair v2: accepted, unused" },
	{ "clair.api.paginationkey", CLR_CONFIG_STRING, NULL, NULL,
	  "Clair v2: accepted, unused (clarion's page tokens need no key)" },
	{ "clair.api.servername", CLR_CONFIG_STRING, NULL, NULL,
	  "Clair v2: accepted, unused" },
	{ "clair.api.cafile", CLR_CONFIG_STRING, NULL, NULL,
	  "Clair v2: accepted, unused" },
	{ "clair.api.keyfile", CLR_CONFIG_STRING, NULL, NULL,
	  "Clair v2: accepted, unused" },
	{ "clair.api.certfile", CLR_CONFIG_STRING, NULL, NULL,
	  "Clair v2: accepted, unused" },
	{ "clair.updater.interval", CLR_CONFIG_DURATION, NULL, NULL,
	  "Clair v2: sets matcher.period; 0 disables the updaters" },
	{ "clair.notifier.attempts", CLR_CONFIG_INT, "0", NULL,
	  "Clair v2: accepted, unused" },
	{ "clair.notifier.renotifyinterval", CLR_CONFIG_DURATION, NULL, NULL,
	  "Clair v2: accepted, unused" },
	{ "clair.notifier.http.endpoint", CLR_CONFIG_STRING, NULL, NULL,
	  "Clair v2: sets notifier.webhook.target" },
	{ "clair.notifier.http.servername", CLR_CONFIG_STRING, NULL, NULL,
	  "Clair v2: accepted, unused" },
	{ "clair.notifier.http.cafile", CLR_CONFIG_STRING, NULL, NULL,
	  "Clair v2: accepted, unused" },
	{ "clair.notifier.http.keyfile", CLR_CONFIG_STRING, NULL, NULL,
	  "Clair v2: accepted, unused" },
	{ "clair.notifier.http.certfile", CLR_CONFIG_STRING, NULL, NULL,
	  "Clair v2: accepted, unused" },
	{ "clair.notifier.http.proxy", CLR_CONFIG_STRING, NULL, NULL,
	  "Clair v2: accepted, unused" },
};

const size_t clr_config_keys_count =
	sizeof(clr_config_keys) / sizeof(clr_config_keys[0]);

const struct clr_config_key *clr_config_key_find(const char *key)
{
	for (size_t i = 0; i < clr_config_keys_count; i++)
		if (!strcmp(clr_config_keys[i].name, key))
			return &clr_config_keys[i];
	return NULL;
}

/* Levels Clair accepts, and clarion's level for each. */
static const struct {
	const char *name;
	enum clr_log_level level;
} log_levels[] = {
	{ "debug-color", CLR_LOG_DEBUG }, { "debug", CLR_LOG_DEBUG },
	{ "info", CLR_LOG_INFO }, { "warn", CLR_LOG_WARN },
	{ "warning", CLR_LOG_WARN }, { "error", CLR_LOG_ERROR },
	{ "fatal", CLR_LOG_ERROR }, { "panic", CLR_LOG_ERROR },
};

static int check_log_level(const char *v)
{
	for (size_t i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++)
		if (!strcasecmp(v, log_levels[i].name))
			return 0;
	return clr_error_set(CLR_EINVALID, "expected one of debug, info, warn, error");
}

/* ------------------------------------------------------------------ */
/* Values                                                              */

struct clr_config_value {
	bool set;        /* given by the file or clr_config_set */
	char *text;      /* string, and the text of int/bool/duration */
	int64_t i;       /* int; duration in milliseconds */
	bool b;
	char **list;     /* NULL-terminated; NULL: not given */
	size_t list_len;
	struct clr_hashmap settings; /* "NAME\x1fSETTING" -> char * */
};

struct clr_config {
	char *source;                    /* file name, or NULL */
	struct clr_config_value *values; /* one per row, same index */
};

static void value_clear(struct clr_config_value *v)
{
	free(v->text);
	for (size_t i = 0; v->list && v->list[i]; i++)
		free(v->list[i]);
	free(v->list);
	clr_hashmap_release(&v->settings, free);
	v->text = NULL;
	v->list = NULL;
	v->list_len = 0;
	v->set = false;
}

static const char *type_name(enum clr_config_type t)
{
	switch (t) {
	case CLR_CONFIG_STRING: return "a string";
	case CLR_CONFIG_INT: return "an integer";
	case CLR_CONFIG_BOOL: return "true or false";
	case CLR_CONFIG_DURATION: return "a duration such as 6h or 30m";
	case CLR_CONFIG_LIST: return "a list of strings";
	case CLR_CONFIG_SETTINGS: return "a map of names to settings";
	case CLR_CONFIG_MAP: return "a map of names to values";
	}
	return "?";
}

int clr_config_parse_duration(int64_t *ms, const char *text)
{
	static const struct {
		const char *unit;
		double ms;
	} units[] = {
		/* Longest first: "ms" before "m". */
		{ "ns", 1e-6 }, { "us", 1e-3 }, { "\xc2\xb5s", 1e-3 },
		{ "\xce\xbcs", 1e-3 }, { "ms", 1 }, { "s", 1e3 }, { "m", 60e3 },
		{ "h", 3600e3 },
	};
	const char *p = text;
	double total = 0;

	if (*p == '+')
		p++;
	if (!strcmp(p, "0")) {
		*ms = 0;
		return 0;
	}
	if (!*p || *p == '-')
		goto bad;
	while (*p) {
		double num = 0, frac = 0.1;
		bool digits = false;
		size_t k;

		for (; *p >= '0' && *p <= '9'; p++, digits = true)
			num = num * 10 + (*p - '0');
		if (*p == '.')
			for (p++; *p >= '0' && *p <= '9'; p++, frac /= 10, digits = true)
				num += (*p - '0') * frac;
		if (!digits)
			goto bad;
		for (k = 0; k < sizeof(units) / sizeof(units[0]); k++) {
			size_t n = strlen(units[k].unit);

			if (!strncmp(p, units[k].unit, n)) {
				total += num * units[k].ms;
				p += n;
				break;
			}
		}
		if (k == sizeof(units) / sizeof(units[0]))
			goto bad;
		if (total > 100.0 * 365 * 24 * 3600e3)
			return clr_error_set(CLR_EINVALID, "duration '%s' is too long", text);
	}
	*ms = (int64_t)total;
	return 0;
bad:
	return clr_error_set(CLR_EINVALID, "expected %s, got '%s'",
			     type_name(CLR_CONFIG_DURATION), text);
}

static int parse_int(int64_t *out, const char *text)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(text, &end, 10);
	if (!*text || strchr(" \t\r\n", *text) || *end || errno)
		return clr_error_set(CLR_EINVALID, "expected an integer, got '%s'", text);
	*out = v;
	return 0;
}

static int parse_bool(bool *out, const char *text)
{
	if (!strcmp(text, "true") || !strcmp(text, "True") || !strcmp(text, "TRUE")) {
		*out = true;
		return 0;
	}
	if (!strcmp(text, "false") || !strcmp(text, "False") || !strcmp(text, "FALSE")) {
		*out = false;
		return 0;
	}
	return clr_error_set(CLR_EINVALID, "expected true or false, got '%s'", text);
}

/* Sets a scalar-typed value from text; v unchanged on error (message set,
 * without the key: the caller names it). */
static int value_set_text(struct clr_config_value *v, const struct clr_config_key *k,
			  const char *text)
{
	int64_t i = 0;
	bool b = false;
	int err = 0;

	switch (k->type) {
	case CLR_CONFIG_STRING:
		if (k->check)
			err = k->check(text);
		break;
	case CLR_CONFIG_INT:
		err = parse_int(&i, text);
		break;
	case CLR_CONFIG_BOOL:
		err = parse_bool(&b, text);
		break;
	case CLR_CONFIG_DURATION:
		err = clr_config_parse_duration(&i, text);
		break;
	case CLR_CONFIG_LIST:
	case CLR_CONFIG_SETTINGS:
	case CLR_CONFIG_MAP:
		return clr_error_set(CLR_EINVALID, "expected %s", type_name(k->type));
	}
	if (err)
		return err;
	free(v->text);
	v->text = clr_strdup(text);
	v->i = i;
	v->b = b;
	return 0;
}

static struct clr_config *config_new(void)
{
	struct clr_config *c = clr_calloc(1, sizeof(*c));

	c->values = clr_calloc(clr_config_keys_count, sizeof(*c->values));
	for (size_t i = 0; i < clr_config_keys_count; i++) {
		const struct clr_config_key *k = &clr_config_keys[i];

		clr_hashmap_init(&c->values[i].settings);
		/* The table's defaults are code: one that does not parse is a
		 * bug caught by the first test that loads anything. */
		if (k->def && value_set_text(&c->values[i], k, k->def)) {
			fprintf(stderr, "clarion: bad default for %s: %s\n", k->name,
				clr_error_msg());
			abort();
		}
	}
	return c;
}

void clr_config_free(struct clr_config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < clr_config_keys_count; i++)
		value_clear(&c->values[i]);
	free(c->values);
	free(c->source);
	free(c);
}

/* ------------------------------------------------------------------ */
/* Walking the document                                                */

struct walk {
	struct clr_config *c;
	const char *name;   /* the file, for messages */
};

static int node_line(struct fy_node *n)
{
	struct fy_token *t = n ? fy_node_get_scalar_token(n) : NULL;
	const struct fy_mark *m = t ? fy_token_start_mark(t) : NULL;

	return m ? m->line + 1 : 0;
}

/* "in FILE (line N)" */
static int fail_at(struct walk *w, int line, const char *key, const char *why)
{
	if (line)
		return clr_error_set(CLR_EINVALID, "'%s' in %s (line %d): %s", key,
				     w->name, line, why);
	return clr_error_set(CLR_EINVALID, "'%s' in %s: %s", key, w->name, why);
}

/* A scalar's text, NUL-terminated (caller frees), or NULL when n is not a
 * plain usable scalar (message set). */
static char *scalar_text(struct walk *w, struct fy_node *n, int line, const char *key,
			 const char *expected)
{
	const char *s;
	size_t len;

	if (fy_node_is_alias(n)) {
		fail_at(w, line, key, "YAML aliases are not supported");
		return NULL;
	}
	if (!fy_node_is_scalar(n)) {
		char why[128];

		snprintf(why, sizeof(why), "expected %s", expected);
		fail_at(w, line, key, why);
		return NULL;
	}
	s = fy_node_get_scalar(n, &len);
	if (!s)
		s = "", len = 0;
	if (memchr(s, 0, len)) {
		fail_at(w, line, key, "contains a NUL byte");
		return NULL;
	}
	return clr_strndup(s, len);
}

/* A value that means "the default". */
static bool is_null(struct fy_node *n)
{
	const char *s;
	size_t len;

	if (!n)
		return true;
	if (!fy_node_is_scalar(n) || fy_node_is_alias(n) ||
	    fy_node_get_style(n) != FYNS_PLAIN)
		return false;
	s = fy_node_get_scalar(n, &len);
	if (!s || !len)
		return true;
	return (len == 1 && *s == '~') ||
	       (len == 4 && (!memcmp(s, "null", 4) || !memcmp(s, "Null", 4) ||
			     !memcmp(s, "NULL", 4)));
}

static int set_scalar(struct walk *w, const struct clr_config_key *k,
		      struct clr_config_value *v, struct fy_node *n, int line)
{
	char *text = scalar_text(w, n, line, k->name, type_name(k->type));
	int err;

	if (!text)
		return CLR_EINVALID;
	if ((err = value_set_text(v, k, text))) {
		char *why = clr_strdup(clr_error_msg());

		err = fail_at(w, line, k->name, why);
		free(why);
	} else {
		v->set = true;
	}
	free(text);
	return err;
}

static int set_list(struct walk *w, const struct clr_config_key *k,
		    struct clr_config_value *v, struct fy_node *n, int line)
{
	void *it = NULL;
	struct fy_node *item;
	size_t count = 0;

	if (fy_node_is_alias(n) || !fy_node_is_sequence(n))
		return fail_at(w, line, k->name, "expected a list of strings");
	count = (size_t)fy_node_sequence_item_count(n);
	if (count > MAX_LIST)
		return fail_at(w, line, k->name, "too many items");
	value_clear(v);
	v->list = clr_calloc(count + 1, sizeof(char *));
	while ((item = fy_node_sequence_iterate(n, &it))) {
		char *s = scalar_text(w, item, node_line(item) ? node_line(item) : line,
				      k->name, "a list of strings");

		if (!s) {
			value_clear(v);
			return CLR_EINVALID;
		}
		v->list[v->list_len++] = s;
	}
	v->set = true;
	return 0;
}

/* A settings value: a scalar, or a list of scalars joined with commas. */
static char *setting_text(struct walk *w, struct fy_node *n, int line, const char *path)
{
	static const char expected[] = "a string, number or boolean (or a list of them)";
	struct clr_buf b = CLR_BUF_INIT(CLR_CONFIG_MAX_SIZE);
	struct fy_node *item;
	void *it = NULL;

	if (!fy_node_is_sequence(n) || fy_node_is_alias(n))
		return scalar_text(w, n, line, path, expected);
	while ((item = fy_node_sequence_iterate(n, &it))) {
		char *s = scalar_text(w, item, line, path, expected);

		if (!s) {
			clr_buf_release(&b);
			return NULL;
		}
		if (b.len)
			clr_buf_addch(&b, ',');
		clr_buf_addstr(&b, s);
		free(s);
	}
	return clr_buf_detach(&b, NULL);
}

static int set_settings(struct walk *w, const struct clr_config_key *k,
			struct clr_config_value *v, struct fy_node *n, int line)
{
	struct fy_node_pair *pair, *pair2;
	void *it = NULL;
	int err = 0;

	if (fy_node_is_alias(n) || !fy_node_is_mapping(n))
		return fail_at(w, line, k->name, "expected a map of names to settings");
	while (!err && (pair = fy_node_mapping_iterate(n, &it))) {
		struct fy_node *kn = fy_node_pair_key(pair), *vn = fy_node_pair_value(pair);
		int kline = node_line(kn);
		char *name = scalar_text(w, kn, kline, k->name, "a name");
		void *it2 = NULL;
		char *path;

		if (!name)
			return CLR_EINVALID;
		if (asprintf(&path, "%s.%s", k->name, name) < 0)
			abort();
		if (!*name || strchr(name, SETTING_SEP)) {
			err = fail_at(w, kline, path, "not a usable name");
		} else if (is_null(vn)) {
			/* "debian:" with nothing under it: no settings. */
		} else if (fy_node_is_alias(vn) || !fy_node_is_mapping(vn)) {
			err = fail_at(w, kline, path, "expected a map of settings");
		}
		while (!err && !is_null(vn) && (pair2 = fy_node_mapping_iterate(vn, &it2))) {
			struct fy_node *sk = fy_node_pair_key(pair2);
			struct fy_node *sv = fy_node_pair_value(pair2);
			int sline = node_line(sk);
			char *setting = scalar_text(w, sk, sline, path, "a setting name");
			char *spath = NULL, *key = NULL, *val = NULL;

			if (!setting) {
				err = CLR_EINVALID;
				break;
			}
			if (asprintf(&spath, "%s.%s", path, setting) < 0 ||
			    asprintf(&key, "%s%c%s", name, SETTING_SEP, setting) < 0)
				abort();
			if (!*setting || strchr(setting, SETTING_SEP))
				err = fail_at(w, sline, spath, "not a usable setting name");
			else if (clr_hashmap_count(&v->settings) >= MAX_SETTINGS)
				err = fail_at(w, sline, spath, "too many settings");
			else if (is_null(sv))
				; /* null: not set */
			else if (!(val = setting_text(w, sv, sline, spath)))
				err = CLR_EINVALID;
			else
				free(clr_hashmap_put(&v->settings, key, val));
			free(setting);
			free(spath);
			free(key);
		}
		free(name);
		free(path);
	}
	if (!err)
		v->set = true;
	return err;
}

/* A map key: NAME -> scalar or list, kept in the settings hashmap under
 * NAME alone (no separator: no setting level). */
static int set_map(struct walk *w, const struct clr_config_key *k,
		   struct clr_config_value *v, struct fy_node *n, int line)
{
	struct fy_node_pair *pair;
	void *it = NULL;
	int err = 0;

	if (fy_node_is_alias(n) || !fy_node_is_mapping(n))
		return fail_at(w, line, k->name, "expected a map of names to values");
	while (!err && (pair = fy_node_mapping_iterate(n, &it))) {
		struct fy_node *kn = fy_node_pair_key(pair), *vn = fy_node_pair_value(pair);
		int kline = node_line(kn);
		char *name = scalar_text(w, kn, kline, k->name, "a name");
		char *path = NULL, *val = NULL;

		if (!name)
			return CLR_EINVALID;
		if (asprintf(&path, "%s.%s", k->name, name) < 0)
			abort();
		if (!*name || strchr(name, SETTING_SEP))
			err = fail_at(w, kline, path, "not a usable name");
		else if (clr_hashmap_count(&v->settings) >= MAX_SETTINGS)
			err = fail_at(w, kline, path, "too many entries");
		else if (is_null(vn))
			; /* null: not set */
		else if (!(val = setting_text(w, vn, kline, path)))
			err = CLR_EINVALID;
		else
			free(clr_hashmap_put(&v->settings, name, val));
		free(name);
		free(path);
	}
	if (!err)
		v->set = true;
	return err;
}

static int set_value(struct walk *w, const struct clr_config_key *k,
		     struct fy_node *n, int line)
{
	struct clr_config_value *v = &w->c->values[k - clr_config_keys];

	if (is_null(n))
		return 0;  /* the default stays */
	switch (k->type) {
	case CLR_CONFIG_LIST:
		return set_list(w, k, v, n, line);
	case CLR_CONFIG_SETTINGS:
		return set_settings(w, k, v, n, line);
	case CLR_CONFIG_MAP:
		return set_map(w, k, v, n, line);
	default:
		return set_scalar(w, k, v, n, line);
	}
}

/* Whether some key lives under prefix ("matcher" for "matcher.period"). */
static bool is_section(const char *prefix)
{
	size_t n = strlen(prefix);

	for (size_t i = 0; i < clr_config_keys_count; i++)
		if (!strncmp(clr_config_keys[i].name, prefix, n) &&
		    clr_config_keys[i].name[n] == '.')
			return true;
	return false;
}

static int walk_mapping(struct walk *w, struct fy_node *map, const char *prefix)
{
	struct fy_node_pair *pair;
	void *it = NULL;
	int err = 0;

	while (!err && (pair = fy_node_mapping_iterate(map, &it))) {
		struct fy_node *kn = fy_node_pair_key(pair), *vn = fy_node_pair_value(pair);
		int line = node_line(kn);
		const struct clr_config_key *k;
		char *key, *full;

		if (!(key = scalar_text(w, kn, line, prefix ? prefix : "(top level)",
					"a key name")))
			return CLR_EINVALID;
		if (prefix) {
			if (asprintf(&full, "%s.%s", prefix, key) < 0)
				abort();
		} else {
			full = clr_strdup(key);
		}
		/* A dotted key ("matcher.period: 6h" at the top) is not a path. */
		k = strchr(key, '.') ? NULL : clr_config_key_find(full);
		if (k) {
			err = set_value(w, k, vn, line);
		} else if (!strchr(key, '.') && is_section(full)) {
			if (is_null(vn))
				; /* "matcher:" alone */
			else if (fy_node_is_alias(vn) || !fy_node_is_mapping(vn))
				err = fail_at(w, line, full, "expected a map of settings");
			else
				err = walk_mapping(w, vn, full);
		} else if (line) {
			err = clr_error_set(CLR_EINVALID, "unknown key '%s' in %s (line %d)",
					    full, w->name, line);
		} else {
			err = clr_error_set(CLR_EINVALID, "unknown key '%s' in %s", full,
					    w->name);
		}
		free(key);
		free(full);
	}
	return err;
}

/* The message for a document libfyaml did not build (see yaml.h). */
static int yaml_error(struct clr_yaml *y, const char *name)
{
	struct fy_diag_error *e = clr_yaml_first_error(y);

	if (e && e->msg && e->line > 0)
		return clr_error_set(CLR_EINVALID, "%s (line %d, column %d): %s", name,
				     e->line, e->column, e->msg);
	if (e && e->msg)
		return clr_error_set(CLR_EINVALID, "%s: %s", name, e->msg);
	if (y->printed)
		return clr_error_set(CLR_EINVALID, "%s: %s", name, y->printed_msg);
	return clr_error_set(CLR_EINVALID, "%s: not valid YAML", name);
}

/* Only white space (data is len bytes, not NUL-terminated). */
static bool blank(const char *data, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!strchr(" \t\r\n", data[i]) || !data[i])
			return false;
	return true;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && !strcasecmp(s + n - k, suffix);
}

/* ------------------------------------------------------------------ */
/* Clair v2's config.yaml                                              */

/* Appends s percent-encoded (RFC 3986 unreserved kept). */
static void url_escape(struct clr_buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || strchr("-._~", ch))
			clr_buf_addch(b, (char)ch);
		else
			clr_buf_printf(b, "%%%02X", ch);
	}
}

/* A libpq keyword/value string ("host=db port=5432 user=clair
 * sslmode=disable statement_timeout=60000", Clair v2's
 * database.options.source) as the postgres:// URL the store opens.
 * Keywords libpq does not know (Go's lib/pq passed them to the server as
 * run-time parameters) go into options=-c k=v.  NULL for a malformed
 * string. */
static char *pg_keywords_to_url(const char *src)
{
	static const char *const libpq[] = {
		"sslmode", "sslrootcert", "sslcert", "sslkey", "sslcrl",
		"connect_timeout", "application_name", "target_session_attrs",
		"options", "passfile", "channel_binding", "gssencmode", NULL,
	};
	struct clr_buf user = CLR_BUF_INIT(1 << 16), pass = CLR_BUF_INIT(1 << 16);
	struct clr_buf host = CLR_BUF_INIT(1 << 16), port = CLR_BUF_INIT(1 << 16);
	struct clr_buf db = CLR_BUF_INIT(1 << 16), query = CLR_BUF_INIT(1 << 16);
	struct clr_buf opts = CLR_BUF_INIT(1 << 16), url = CLR_BUF_INIT(1 << 16);
	const char *p = src;
	bool ok = true;

	while (ok && *p) {
		struct clr_buf val = CLR_BUF_INIT(1 << 16), *dst = NULL;
		const char *k, *kend;
		size_t i;

		p += strspn(p, " \t\r\n");
		if (!*p)
			break;
		k = p;
		while (*p && *p != '=' && !strchr(" \t\r\n", *p))
			p++;
		kend = p;
		p += strspn(p, " \t");
		if (*p != '=' || kend == k) {
			ok = false;
			break;
		}
		p++;
		p += strspn(p, " \t");
		if (*p == '\'') {
			for (p++; *p && *p != '\''; p++) {
				if (*p == '\\' && p[1])
					p++;
				clr_buf_addch(&val, *p);
			}
			if (*p != '\'')
				ok = false;
			else
				p++;
		} else {
			for (; *p && !strchr(" \t\r\n", *p); p++) {
				if (*p == '\\' && p[1])
					p++;
				clr_buf_addch(&val, *p);
			}
		}
#define KEY_IS(s) ((size_t)(kend - k) == strlen(s) && !memcmp(k, s, strlen(s)))
		if (KEY_IS("user"))
			dst = &user;
		else if (KEY_IS("password"))
			dst = &pass;
		else if (KEY_IS("host") || KEY_IS("hostaddr"))
			dst = &host;
		else if (KEY_IS("port"))
			dst = &port;
		else if (KEY_IS("dbname"))
			dst = &db;
		if (dst) {
			clr_buf_release(dst);
			url_escape(dst, clr_buf_str(&val), val.len);
			clr_buf_addstr(dst, "");
		} else {
			for (i = 0; libpq[i] && !KEY_IS(libpq[i]); i++)
				;
			if (libpq[i]) {
				clr_buf_printf(&query, "%s%.*s=", query.len ? "&" : "",
					       (int)(kend - k), k);
				url_escape(&query, clr_buf_str(&val), val.len);
			} else {
				clr_buf_printf(&opts, "%s-c %.*s=%s", opts.len ? " " : "",
					       (int)(kend - k), k, clr_buf_str(&val));
			}
		}
#undef KEY_IS
		clr_buf_release(&val);
	}
	if (ok) {
		clr_buf_addstr(&url, "postgresql://");
		if (user.len) {
			clr_buf_addstr(&url, clr_buf_str(&user));
			if (pass.len)
				clr_buf_printf(&url, ":%s", clr_buf_str(&pass));
			clr_buf_addch(&url, '@');
		}
		clr_buf_addstr(&url, clr_buf_str(&host));
		if (port.len)
			clr_buf_printf(&url, ":%s", clr_buf_str(&port));
		clr_buf_printf(&url, "/%s", clr_buf_str(&db));
		if (opts.len) {
			clr_buf_printf(&query, "%soptions=", query.len ? "&" : "");
			url_escape(&query, clr_buf_str(&opts), opts.len);
		}
		if (query.len)
			clr_buf_printf(&url, "?%s", clr_buf_str(&query));
	}
	clr_buf_release(&user);
	clr_buf_release(&pass);
	clr_buf_release(&host);
	clr_buf_release(&port);
	clr_buf_release(&db);
	clr_buf_release(&query);
	clr_buf_release(&opts);
	if (!ok) {
		clr_buf_release(&url);
		return NULL;
	}
	return clr_buf_detach(&url, NULL);
}

/* Sets v4 key to value unless the file set it itself. */
static int set_unless(struct clr_config *c, const char *key, const char *value)
{
	if (clr_config_is_set(c, key))
		return 0;
	return clr_config_set(c, key, value);
}

/* Maps the clair.* keys of a Clair v2 file onto clarion's. */
static int clair_v2_translate(struct clr_config *c, const char *name)
{
	const char *src = clr_config_string(c, "clair.database.options.source");
	const char *hook = clr_config_string(c, "clair.notifier.http.endpoint");
	char text[64];
	int err = 0;

	if (src && *src && !clr_config_is_set(c, "database")) {
		char *url = strstr(src, "://") ? clr_strdup(src) :
			    pg_keywords_to_url(src);

		if (!url)
			return clr_error_set(CLR_EINVALID, "'clair.database.options."
					     "source' in %s: not a libpq connection "
					     "string", name);
		err = clr_config_set(c, "database", url);
		free(url);
	}
	if (!err && clr_config_int(c, "clair.api.port") > 0) {
		snprintf(text, sizeof(text), ":%lld",
			 (long long)clr_config_int(c, "clair.api.port"));
		err = set_unless(c, "http_listen_addr", text);
	}
	if (!err && clr_config_int(c, "clair.api.healthport") > 0) {
		snprintf(text, sizeof(text), ":%lld",
			 (long long)clr_config_int(c, "clair.api.healthport"));
		err = set_unless(c, "introspection_addr", text);
	}
	if (!err && clr_config_is_set(c, "clair.updater.interval")) {
		int64_t ms = clr_config_duration_ms(c, "clair.updater.interval");

		/* "0 disables the updater" */
		if (ms <= 0) {
			err = set_unless(c, "matcher.disable_updaters", "true");
		} else {
			snprintf(text, sizeof(text), "%lldms", (long long)ms);
			err = set_unless(c, "matcher.period", text);
		}
	}
	if (!err && hook && *hook)
		err = set_unless(c, "notifier.webhook.target", hook);
	return err;
}

int clr_config_parse(struct clr_config **out, const char *data, size_t len,
		     const char *name)
{
	struct clr_yaml y = { .doc = NULL };
	struct fy_node *root;
	struct clr_config *c;
	struct walk w;
	size_t bad;
	int err = 0;

	*out = NULL;
	if (!name)
		name = "configuration";
	if (len > CLR_CONFIG_MAX_SIZE)
		return clr_error_set(CLR_ELIMIT, "%s: larger than %d bytes", name,
				     CLR_CONFIG_MAX_SIZE);
	c = config_new();
	w.c = c;
	w.name = name;
	/* An empty file is "everything at its default". */
	if (blank(data, len))
		goto done;
	if (memchr(data, 0, len)) {
		err = clr_error_set(CLR_EINVALID, "%s: contains a NUL byte", name);
		goto done;
	}
	if ((bad = clr_yaml_utf8_invalid((const unsigned char *)data, len)) < len) {
		size_t line = 1;

		for (size_t i = 0; i < bad; i++)
			line += data[i] == '\n';
		err = clr_error_set(CLR_EINVALID, "%s (line %zu): not UTF-8 text", name, line);
		goto done;
	}

	/* No document at all is an error here too (libfyaml says why). */
	if (clr_yaml_parse(&y, data, len, ends_with(name, ".json")) || !y.doc) {
		err = yaml_error(&y, name);
		goto done;
	}
	root = fy_document_root(y.doc);
	if (is_null(root))
		goto done;
	if (fy_node_is_alias(root) || !fy_node_is_mapping(root)) {
		err = clr_error_set(CLR_EINVALID, "%s: expected a map of settings at the top",
				    name);
		goto done;
	}
	err = walk_mapping(&w, root, NULL);
	if (!err)
		err = clair_v2_translate(c, name);
done:
	clr_yaml_release(&y);
	if (err) {
		clr_config_free(c);
		return err;
	}
	c->source = clr_strdup(name);
	*out = c;
	return 0;
}

int clr_config_load(struct clr_config **out, const char *path)
{
	struct clr_buf b = CLR_BUF_INIT(CLR_CONFIG_MAX_SIZE);
	char chunk[8192];
	ssize_t n;
	int fd, err = 0;

	*out = NULL;
	if (!path) {
		*out = config_new();
		return 0;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return clr_error_set(errno == ENOENT ? CLR_ENOTFOUND : CLR_EIO,
				     "cannot read %s: %s", path, strerror(errno));
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = clr_error_set(CLR_EIO, "cannot read %s: %s", path,
					    strerror(errno));
			break;
		}
		if (clr_buf_add(&b, chunk, (size_t)n)) {
			err = clr_error_set(CLR_ELIMIT, "%s: larger than %d bytes", path,
					    CLR_CONFIG_MAX_SIZE);
			break;
		}
	}
	close(fd);
	if (!err)
		err = clr_config_parse(out, clr_buf_str(&b), b.len, path);
	clr_buf_release(&b);
	return err;
}

/* ------------------------------------------------------------------ */
/* Getters                                                             */

/* The value of key, whose row must have type t: anything else is a bug in
 * the caller, not in the file. */
static struct clr_config_value *value_of(const struct clr_config *c, const char *key,
					 int t)
{
	const struct clr_config_key *k = clr_config_key_find(key);

	if (!k || (t >= 0 && k->type != (enum clr_config_type)t)) {
		fprintf(stderr, "clarion: config key '%s' %s\n", key,
			k ? "asked for with the wrong type" : "is not in the table");
		abort();
	}
	return &c->values[k - clr_config_keys];
}

int clr_config_set(struct clr_config *c, const char *key, const char *value)
{
	const struct clr_config_key *k = clr_config_key_find(key);
	struct clr_config_value *v;
	int err;

	if (!k)
		return clr_error_set(CLR_EINVALID, "unknown key '%s'", key);
	v = &c->values[k - clr_config_keys];
	if ((err = value_set_text(v, k, value)))
		return clr_error_prefix(err, "%s", key);
	v->set = true;
	return 0;
}

const char *clr_config_source(const struct clr_config *c)
{
	return c->source;
}

bool clr_config_is_set(const struct clr_config *c, const char *key)
{
	return value_of(c, key, -1)->set;
}

const char *clr_config_string(const struct clr_config *c, const char *key)
{
	return value_of(c, key, CLR_CONFIG_STRING)->text;
}

int64_t clr_config_int(const struct clr_config *c, const char *key)
{
	return value_of(c, key, CLR_CONFIG_INT)->i;
}

bool clr_config_bool(const struct clr_config *c, const char *key)
{
	return value_of(c, key, CLR_CONFIG_BOOL)->b;
}

int64_t clr_config_duration_ms(const struct clr_config *c, const char *key)
{
	return value_of(c, key, CLR_CONFIG_DURATION)->i;
}

const char *const *clr_config_list(const struct clr_config *c, const char *key,
				   size_t *n)
{
	struct clr_config_value *v = value_of(c, key, CLR_CONFIG_LIST);

	if (n)
		*n = v->list_len;
	return (const char *const *)v->list;
}

bool clr_config_map_next(const struct clr_config *c, const char *key,
			 size_t *pos, const char **name, const char **value)
{
	struct clr_config_value *v = value_of(c, key, CLR_CONFIG_MAP);
	void *val = NULL;

	if (!clr_hashmap_next(&v->settings, pos, name, &val))
		return false;
	*value = val;
	return true;
}

const char *clr_config_setting(const struct clr_config *c, const char *key,
			       const char *name, const char *setting)
{
	struct clr_config_value *v = value_of(c, key, CLR_CONFIG_SETTINGS);
	char *k;
	const char *val;

	if (!clr_hashmap_count(&v->settings))
		return NULL;
	if (asprintf(&k, "%s%c%s", name, SETTING_SEP, setting) < 0)
		abort();
	val = clr_hashmap_get(&v->settings, k);
	free(k);
	return val;
}

const char *clr_config_setting_path(const struct clr_config *c, const char *key,
				    const char *path)
{
	const char *val = NULL;

	/* Longest name first: "alpine-main-v3.19" + "url" before
	 * "alpine-main-v3" + "19.url". */
	for (size_t i = strlen(path); !val && i-- > 0;) {
		char *name;

		if (path[i] != '.')
			continue;
		name = clr_strndup(path, i);
		val = clr_config_setting(c, key, name, path + i + 1);
		free(name);
	}
	return val;
}

enum clr_log_level clr_config_log_level(const struct clr_config *c)
{
	const char *v = clr_config_string(c, "log_level");

	for (size_t i = 0; v && i < sizeof(log_levels) / sizeof(log_levels[0]); i++)
		if (!strcasecmp(v, log_levels[i].name))
			return log_levels[i].level;
	return CLR_LOG_INFO;
}
