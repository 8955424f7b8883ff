/*
 * cmd_serve.c - `clarion serve`: the Clair v4-compatible service.
 *
 * Reads the configuration, opens the database (the service keeps a pool of
 * handles), starts the API listener and the introspection listener, and
 * waits for SIGTERM or SIGINT.  Shutdown is orderly: readiness goes to 503
 * so load balancers stop sending, the API stops accepting, requests in
 * flight get http.shutdown_grace to finish, then the background threads
 * (index loader, updater loop) are joined; an updater run in progress ends
 * its transaction first, so nothing is left half-written.
 */
#include <errno.h>
#include <getopt.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "config/config.h"
#include "http/http.h"
#include "http/service.h"
#include "notifier/notifier.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/cancel.h"
#include "util/error.h"
#include "util/log.h"

const char cmd_serve_usage[] =
	"usage: clarion serve [OPTIONS]\n"
	"\n"
	"Runs the Clair v4-compatible HTTP service: clients index images\n"
	"(POST /indexer/api/v1/index_report with a Clair Manifest) and fetch\n"
	"their vulnerability reports (GET /matcher/api/v1/vulnerability_report/\n"
	"DIGEST), computed at request time from the current data, which the\n"
	"updaters refresh every matcher.period.  Several replicas may share one\n"
	"PostgreSQL database.  See docs/api.md and docs/config.md.\n"
	"\n"
	"Options:\n"
	"  -c, --config FILE    configuration, YAML or JSON with Clair v4's keys\n"
	"                       (default: $CLAIR_CONF when set; else defaults)\n"
	"  --mode MODE          combo (default), indexer, matcher or notifier\n"
	"                       (default: $CLAIR_MODE when set)\n"
	"  --listen ADDR        API address, host:port or :port (default: the\n"
	"                       configuration's http_listen_addr, :6060)\n"
	"  --introspection ADDR health and metrics address (default:\n"
	"                       introspection_addr, :8089; \"\" for none)\n"
	"  --db DB              database: a file path (SQLite) or postgres:// URL\n"
	"                       (default: `database`, else indexer.connstring,\n"
	"                       else matcher.connstring, else $CLARION_DB, else\n"
	"                       ~/.cache/clarion/clarion.db)\n"
	"\n"
	"Signals: SIGTERM and SIGINT stop the service after the requests in\n"
	"flight (http.shutdown_grace).\n"
	"\n"
	"Exit status: 0 after an orderly shutdown, 2 when it cannot start.\n";

/* Decodes standard base64 (padding optional, whitespace refused) into a
 * new buffer; NULL when malformed. */
static unsigned char *b64_decode(const char *s, size_t *n)
{
	size_t len = strlen(s), padded = (len + 3) / 4 * 4;
	char *in = clr_calloc(padded + 1, 1);
	unsigned char *out = clr_malloc(padded / 4 * 3 + 1);
	int k;
	size_t pad = 0;

	memcpy(in, s, len);
	for (size_t i = len; i < padded; i++)
		in[i] = '=';
	for (size_t i = padded; i > 0 && in[i - 1] == '='; i--)
		pad++;
	k = EVP_DecodeBlock(out, (unsigned char *)in, (int)padded);
	free(in);
	if (k < 0 || pad > 2 || (size_t)k < pad) {
		free(out);
		return NULL;
	}
	*n = (size_t)k - pad;
	return out;
}

/* A PEM file named by a config key (tls.cert, tls.key) into a new
 * NUL-terminated string; NULL with the message set when unreadable. */
static char *read_pem(const struct clr_config *cfg, const char *key)
{
	const char *path = clr_config_string(cfg, key);
	struct clr_buf b = CLR_BUF_INIT(1u << 20);
	char chunk[4096];
	size_t n;
	FILE *f;

	if (!(f = fopen(path, "rb"))) {
		clr_error_set(CLR_EIO, "%s: cannot open %s: %s", key, path,
			      strerror(errno));
		return NULL;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (clr_buf_add(&b, chunk, n)) {
			clr_error_set(CLR_ELIMIT, "%s: %s is over 1 MiB", key,
				      path);
			break;
		}
	if (ferror(f) || n) {
		if (ferror(f))
			clr_error_set(CLR_EIO, "%s: cannot read %s", key, path);
		fclose(f);
		clr_buf_release(&b);
		return NULL;
	}
	fclose(f);
	return clr_buf_detach(&b, NULL);
}

int cmd_serve(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "mode", required_argument, NULL, 'm' },
		{ "listen", required_argument, NULL, 'l' },
		{ "introspection", required_argument, NULL, 'i' },
		{ "db", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config_path = getenv("CLAIR_CONF");
	const char *mode_name = getenv("CLAIR_MODE");
	const char *listen = NULL, *introspection = NULL, *db = NULL;
	struct clr_config *cfg = NULL;
	struct clr_service *svc = NULL;
	struct clr_notifier_loop *notifier = NULL; /* notifier, combo */
	struct clr_notifier_opts nopts;
	struct clr_http_server *api = NULL, *intro = NULL;
	struct clr_http_server_opts so = { 0 };
	struct clr_service_opts vo = { 0 };
	unsigned char *psk = NULL;
	char *tls_cert = NULL, *tls_key = NULL; /* PEM text */
	size_t psk_len = 0, n_iss = 0;
	const char **issuers = NULL;
	const char *const *iss;
	unsigned mode = CLR_MODE_COMBO;
	bool notifier_wanted;  /* the notifier still to start */
	sigset_t sigs;
	int64_t limit;
	int c, sig = 0, rc = CLR_EXIT_ERROR;

	clr_notifier_opts_init(&nopts);
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': config_path = optarg; break;
		case 'm': mode_name = optarg; break;
		case 'l': listen = optarg; break;
		case 'i': introspection = optarg; break;
		case 'd': db = optarg; break;
		default:
			fputs(cmd_serve_usage, stderr);
			return CLR_EXIT_ERROR;
		}
	}
	if (optind < argc)
		return clr_cli_fail("serve", "unexpected argument '%s'", argv[optind]);
	if (mode_name && *mode_name && clr_http_mode_parse(&mode, mode_name))
		return clr_cli_fail("serve", "%s", clr_error_msg());
	if (config_path && !*config_path)
		config_path = NULL;
	if (clr_config_load(&cfg, config_path))
		return clr_cli_fail("serve", "%s", clr_error_msg());
	if ((listen && clr_config_set(cfg, "http_listen_addr", listen)) ||
	    (introspection && clr_config_set(cfg, "introspection_addr",
					     introspection)) ||
	    (db && clr_config_set(cfg, "database", db))) {
		clr_cli_fail("serve", "%s", clr_error_msg());
		goto out;
	}
	if (clr_config_is_set(cfg, "log_level"))
		clr_log_set_level(clr_config_log_level(cfg));

	/* auth.psk: the key, and the issuers (clair-intraservice always). */
	if (clr_config_string(cfg, "auth.psk.key")) {
		psk = b64_decode(clr_config_string(cfg, "auth.psk.key"), &psk_len);
		if (!psk || !psk_len) {
			clr_cli_fail("serve", "auth.psk.key is not base64 (standard "
				     "alphabet) of a non-empty key");
			goto out;
		}
	}
	iss = clr_config_list(cfg, "auth.psk.iss", &n_iss);
	issuers = clr_calloc(n_iss + 2, sizeof(*issuers));
	issuers[0] = "clair-intraservice";
	for (size_t i = 0; i < n_iss; i++)
		issuers[i + 1] = iss[i];

	vo.cfg = cfg;
	vo.location = clr_config_string(cfg, "database");
	if (!vo.location)
		vo.location = clr_config_string(cfg, "indexer.connstring");
	if (!vo.location)
		vo.location = clr_config_string(cfg, "matcher.connstring");
	vo.mode = mode;
	vo.run_updaters = (mode & (CLR_MODE_MATCHER | CLR_MODE_COMBO)) &&
			  !clr_config_bool(cfg, "matcher.disable_updaters");
	/* In Kubernetes PostgreSQL may come up after clarion: keep trying
	 * (503 and /readyz 503 meanwhile) rather than exit. */
	vo.wait_for_db = true;
	vo.connect_timeout_ms = clr_config_duration_ms(cfg,
						       "database_connect_timeout");

	/* Signals are taken by sigwait below: block them before any thread
	 * starts, so every thread inherits the mask. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	if (clr_service_new(&svc, &vo)) {
		clr_cli_fail("serve", "%s", clr_error_msg());
		goto out;
	}
	limit = clr_config_int(cfg, "indexer.index_report_request_concurrency");
	if (limit == 0)
		limit = 4 * sysconf(_SC_NPROCESSORS_ONLN);
	so.listen = clr_config_string(cfg, "http_listen_addr");
	so.mode = mode;
	so.max_body = (size_t)clr_config_int(cfg, "http.max_body");
	so.index_limit = limit < 0 ? -1 : (int)limit;
	so.timeout_secs = (unsigned)(clr_config_duration_ms(cfg, "http.idle_timeout") / 1000);
	so.max_connections = (unsigned)clr_config_int(cfg, "http.max_connections");
	so.svc = svc;
	so.psk = psk;
	so.psk_len = psk_len;
	so.issuers = issuers;
	/* tls: {cert, key} as Clair's: HTTPS on the API listener only
	 * (introspection stays plain, for probes). */
	if (clr_config_string(cfg, "tls.cert") || clr_config_string(cfg, "tls.key")) {
		if (!clr_config_string(cfg, "tls.cert") ||
		    !clr_config_string(cfg, "tls.key")) {
			clr_cli_fail("serve", "tls.cert and tls.key go together");
			goto out;
		}
		if (!(tls_cert = read_pem(cfg, "tls.cert")) ||
		    !(tls_key = read_pem(cfg, "tls.key"))) {
			clr_cli_fail("serve", "%s", clr_error_msg());
			goto out;
		}
		so.tls_cert_pem = tls_cert;
		so.tls_key_pem = tls_key;
	}
	if (clr_service_start(svc) || clr_http_server_start(&api, &so)) {
		clr_cli_fail("serve", "%s", clr_error_msg());
		goto out;
	}
	/* The notifier's loop (docs/notifications.md): in notifier mode it
	 * must have a webhook; in combo mode it runs when one is set.  It
	 * opens its own store handle: while the database is unreachable it
	 * is started by the wait loop below, once the service connected. */
	notifier_wanted = mode & (CLR_MODE_NOTIFIER | CLR_MODE_COMBO);
	if (notifier_wanted &&
	    clr_service_connect_state(svc) == CLR_SERVICE_CONNECTED) {
		notifier_wanted = false;
		if (clr_notifier_serve(&notifier, &nopts, cfg, vo.location,
				       mode == CLR_MODE_NOTIFIER)) {
			clr_cli_fail("serve", "%s", clr_error_msg());
			goto out;
		}
	}
	introspection = clr_config_string(cfg, "introspection_addr");
	if (introspection && *introspection) {
		struct clr_http_server_opts io = so;

		io.listen = introspection;
		io.introspection = true;
		io.psk_len = 0;
		io.index_limit = -1;
		io.tls_cert_pem = io.tls_key_pem = NULL;
		/* As Clair: a failing introspection listener is a warning. */
		if (clr_http_server_start(&intro, &io))
			clr_log_warn("introspection listener: %s", clr_error_msg());
	}
	clr_log_info("serving the Clair v4 API (%s mode) on port %d%s, "
		     "database %s", clr_http_mode_name(mode),
		     clr_http_server_port(api), tls_cert ? " (HTTPS)" : "",
		     vo.location ? vo.location : "(default)");
	if (intro)
		clr_log_info("introspection on port %d", clr_http_server_port(intro));

	/* Waits for a signal; meanwhile, while the database is being
	 * connected to, watches the connector: start what needed the
	 * database once it answers, or give up when it did. */
	for (;;) {
		struct timespec tick = { .tv_sec = 0, .tv_nsec = 200000000L };
		int state = clr_service_connect_state(svc);

		if (state == CLR_SERVICE_GAVE_UP) {
			clr_cli_fail("serve", "the database could not be reached "
				     "within database_connect_timeout");
			clr_service_set_draining(svc);
			goto out;
		}
		if (state == CLR_SERVICE_CONNECTED && !notifier_wanted) {
			sigwait(&sigs, &sig);
			break;
		}
		if (state == CLR_SERVICE_CONNECTED) {
			notifier_wanted = false;
			if (clr_notifier_serve(&notifier, &nopts, cfg, vo.location,
					       mode == CLR_MODE_NOTIFIER)) {
				clr_cli_fail("serve", "%s", clr_error_msg());
				clr_service_set_draining(svc);
				goto out;
			}
			continue;
		}
		if ((sig = sigtimedwait(&sigs, NULL, &tick)) > 0)
			break;
	}
	clr_log_info("%s: shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
	/* Updater runs and downloads stop early; requests still finish. */
	clr_cancel_request();
	clr_service_set_draining(svc);
	clr_http_server_stop(api, clr_config_duration_ms(cfg, "http.shutdown_grace"));
	api = NULL;
	clr_notifier_stop(notifier);
	notifier = NULL;
	clr_service_stop(svc);
	rc = CLR_EXIT_OK;
	clr_log_info("stopped");
out:
	clr_notifier_stop(notifier);
	clr_notifier_opts_release(&nopts);
	clr_http_server_stop(api, 0);
	clr_http_server_stop(intro, 0);
	clr_service_free(svc);
	free(issuers);
	free(tls_cert);
	if (tls_key) {
		explicit_bzero(tls_key, strlen(tls_key));
		free(tls_key);
	}
	if (psk) {
		explicit_bzero(psk, psk_len);
		free(psk);
	}
	clr_config_free(cfg);
	return rc;
}
