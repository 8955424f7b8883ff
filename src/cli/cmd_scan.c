/*
 * cmd_scan.c - `clarion scan IMAGE`: an image's vulnerabilities, standalone.
 *
 * The whole pipeline in one process on the embedded database: optionally
 * run the updaters (--update), index the image (as `clarion index`), build
 * the matcher's index of the current vulnerability records, match, and
 * hand the VulnerabilityReport to src/report/, which applies the policy
 * (severities, unfixed, the ignore file) and writes the chosen format.
 * This file only translates options, messages and exit statuses.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "config/config.h"
#include "http/client.h"
#include "indexer/indexer.h"
#include "klar/output.h"
#include "matcher/index.h"
#include "matcher/match.h"
#include "report/ignore.h"
#include "report/report.h"
#include "store/store.h"
#include "updater/manager.h"
#include "updater/vuln.h"
#include "util/buf.h"
#include "util/error.h"

#ifndef CLR_VERSION
#define CLR_VERSION "0.0.0"
#endif

const char cmd_scan_usage[] =
	"usage: clarion scan [OPTIONS] IMAGE\n"
	"\n"
	"Indexes IMAGE (as `clarion index` does), matches its packages against\n"
	"the vulnerability data in the database and prints the findings.  Fill\n"
	"the database first with `clarion update` (or `clarion db import FILE`\n"
	"offline), or pass --update.  IMAGE is written as for `clarion index`.\n"
	"\n"
	"Options:\n"
	"  --db DB              database: a file path (SQLite) or postgres:// URL\n"
	"                       (default: $CLARION_DB, else\n"
	"                       $XDG_CACHE_HOME/clarion/clarion.db)\n"
	"  --server URL         ask a running clarion serve (or Clair v4) at URL\n"
	"                       instead of the local database; IMAGE must then\n"
	"                       be a registry image the server can reach\n"
	"  --update             run the updaters (as `clarion update`) first\n"
	"  --config FILE        configuration for --update (updaters.sets, ...)\n"
	"  --platform OS/ARCH[/VARIANT]  image of a multi-platform index to use\n"
	"  --username USER, --password PASS   registry credentials\n"
	"  --insecure           do not verify the registry's TLS certificate\n"
	"  --plain-http         talk plain HTTP to the registry\n"
	"  --format FORMAT      table (default), json, sarif (SARIF 2.1.0, for\n"
	"                       GitHub code scanning) or cyclonedx (CycloneDX 1.5\n"
	"                       JSON) or klar (Klar 2.4.0's standard text); see\n"
	"                       docs/scanning.md\n"
	"  --output FILE        write the findings to FILE instead of stdout\n"
	"  --severity LIST      show only these severities (comma list of\n"
	"                       Unknown,Negligible,Low,Medium,High,Critical)\n"
	"  --ignore-unfixed     do not show vulnerabilities without a fix\n"
	"  --ignore-file FILE   hide the findings FILE lists (YAML: id, package,\n"
	"                       image, reason, expires); expired entries are\n"
	"                       reported on stderr and no longer apply\n"
	"  --fail-on SEVERITY   exit with --exit-code when a shown finding is at\n"
	"                       or above SEVERITY\n"
	"  --exit-code N        the status of --fail-on (default 1); alone: exit\n"
	"                       N when anything is shown\n"
	"  --show-not-covered   list the packages no vulnerability feed covers\n"
	"\n"
	"Exit status: 0 scanned (nothing at or above --fail-on), N (--exit-code)\n"
	"findings at or above --fail-on, 2 error (one line on stderr says why).\n";

#define STALE_DAYS 7

enum format { F_TABLE, F_JSON, F_SARIF, F_CYCLONEDX, F_KLAR };

static const char *const format_names[] = { "table", "json", "sarif", "cyclonedx",
					    "klar" };

/* Progress on stderr, one line rewritten in place, only on a terminal:
 * a log file or a CI job's output must not fill with status lines. */
static int progress_on = -1;

static void progress(const char *fmt, const char *arg)
{
	if (progress_on < 0)
		progress_on = isatty(STDERR_FILENO);
	if (!progress_on)
		return;
	fputs("\r\033[K", stderr);
	if (fmt) {
		fputs("clarion: ", stderr);
		fprintf(stderr, fmt, arg);
		fputs("...", stderr);
	}
	fflush(stderr);
}

/* "a,b,c" of severity names -> a bit set; -1 on an unknown name. */
static int parse_severities(const char *list, unsigned *out)
{
	char *copy = strdup(list), *save = NULL, *tok;
	int rc = 0;

	if (!copy)
		return -1;
	*out = 0;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		enum clr_severity s;

		tok += strspn(tok, " ");
		if (clr_severity_from_name(&s, tok)) {
			rc = -1;
			break;
		}
		*out |= 1u << s;
	}
	free(copy);
	return rc == 0 && *out ? 0 : -1;
}

static size_t term_width(FILE *f)
{
	const char *env = getenv("COLUMNS");
	struct winsize ws;
	char *end;
	long n;

	if (env && *env) {
		errno = 0;
		n = strtol(env, &end, 10);
		if (!errno && !*end && n > 0 && n < 10000)
			return (size_t)n;
	}
	if (isatty(fileno(f)) && !ioctl(fileno(f), TIOCGWINSZ, &ws) && ws.ws_col)
		return ws.ws_col;
	return 120;
}

/* One line per distribution on stderr: users must never read "nothing
 * found" about packages nobody looked at. */
static void warn_not_covered(const struct clr_report *r)
{
	size_t i, j, n = r->uncovered.len;

	for (i = 0; i < n; i++) {
		const struct clr_report_uncovered *u =
			CLR_VEC_AT(&r->uncovered, struct clr_report_uncovered, i);
		size_t count = 0;
		bool seen = false;

		for (j = 0; j < i && !seen; j++)
			seen = !strcmp(CLR_VEC_AT(&r->uncovered,
				struct clr_report_uncovered, j)->dist, u->dist);
		if (seen)
			continue;
		for (j = i; j < n; j++)
			count += !strcmp(CLR_VEC_AT(&r->uncovered,
				struct clr_report_uncovered, j)->dist, u->dist);
		fprintf(stderr, "clarion: scan: %zu package%s of %s %s not covered "
			"by any vulnerability feed\n", count, count == 1 ? "" : "s",
			u->dist, count == 1 ? "is" : "are");
	}
}

/* Expired entries stop applying; the team that wrote them must hear of it,
 * or a finding comes back and nobody knows why. */
static void warn_expired(const struct clr_ignore *ig, time_t now)
{
	for (size_t i = 0; ig && i < ig->entries.len; i++) {
		const struct clr_ignore_entry *e =
			CLR_VEC_AT(&ig->entries, struct clr_ignore_entry, i);

		if (clr_ignore_expired(e, now))
			fprintf(stderr, "clarion: scan: %s (line %d): the entry for %s "
				"expired on %s and no longer applies\n", ig->name,
				e->line, e->id, e->expires);
	}
}

/* When the scan ran, for the formats that record it: SOURCE_DATE_EPOCH
 * when set (reproducible output, the golden files), else now. */
static time_t scan_time(void)
{
	const char *s = getenv("SOURCE_DATE_EPOCH");
	char *end;
	long long n;

	if (s && *s) {
		errno = 0;
		n = strtoll(s, &end, 10);
		if (!errno && !*end && n >= 0)
			return (time_t)n;
	}
	return time(NULL);
}

/* ---- the database ------------------------------------------------------- */

/* *empty when no updater ever stored data; a warning on stderr when the
 * newest data is old, since a scan on stale data reads as clean. */
static int check_data(struct clr_store *store, const char *db, int *empty)
{
	struct clr_vec st;
	time_t newest = 0;
	size_t i;

	clr_vec_init(&st, sizeof(struct clr_updater_status));
	if (clr_store_status_list(store, &st))
		return clr_cli_fail("scan", "%s", clr_error_msg());
	*empty = 1;
	for (i = 0; i < clr_vec_len(&st); i++) {
		const struct clr_updater_status *u = clr_vec_get(&st, i);
		struct tm tm = { 0 };

		if (!*u->last_success)
			continue;
		*empty = 0;
		if (strptime(u->last_success, "%Y-%m-%dT%H:%M:%S", &tm) &&
		    timegm(&tm) > newest)
			newest = timegm(&tm);
	}
	clr_updater_status_release(&st);
	if (!*empty && newest && time(NULL) - newest > STALE_DAYS * 86400)
		fprintf(stderr, "clarion: scan: warning: the newest vulnerability "
			"data in %s is %lld days old; run 'clarion update' (or "
			"'clarion db import FILE' with a newer bundle), or scan with "
			"--update\n", db ? db : "the database",
			(long long)((time(NULL) - newest) / 86400));
	return 0;
}

/* --update: the updaters of the configuration, as `clarion update` runs
 * them; failures are reported and the scan goes on with what is stored. */
static int run_update(struct clr_store *store, const char *config)
{
	struct clr_update_report rep = { 0 };
	struct clr_config *cfg = NULL;
	int rc = 0;

	progress("updating the vulnerability data%s", "");
	if (clr_config_load(&cfg, config) ||
	    clr_update_run(store, cfg, NULL, &rep)) {
		progress(NULL, NULL);
		rc = clr_cli_fail("scan", "--update: %s", clr_error_msg());
		goto out;
	}
	progress(NULL, NULL);
	for (size_t i = 0; i < rep.results.len; i++) {
		const struct clr_update_result *u =
			CLR_VEC_AT(&rep.results, struct clr_update_result, i);

		if (u->outcome == CLR_UPDATE_FAILED)
			fprintf(stderr, "clarion: scan: --update: %s failed: %s\n",
				u->name, u->error ? u->error : "unknown error");
	}
out:
	clr_update_report_release(&rep);
	clr_config_free(cfg);
	return rc;
}

/* --server: the server indexes the image from its registry and matches
 * on its own data (src/http/client.c, as clairctl); the report is then
 * the same VulnerabilityReport the local pipeline makes. */
static int from_server(json_t **vr, const char *server, const char *image,
		       const struct clr_indexer_opts *opts)
{
	struct clr_client c = { .server = server, .insecure = opts->source.insecure };
	int err;

	progress("asking %s", server);
	err = clr_client_report(vr, &c, image, &opts->source);
	progress(NULL, NULL);
	if (err == CLR_EBUSY)
		return clr_cli_fail("scan", "%s: %s (a server without vulnerability "
				    "data yet answers so until its first update)",
				    server, clr_error_msg());
	if (err)
		return clr_cli_fail("scan", "%s: %s", server, clr_error_msg());
	return 0;
}

/* ---- the command -------------------------------------------------------- */

/* Whether the report shows vulnerability vuln of package name version. */
static bool shown(const struct clr_report *r, const char *name,
		  const char *version, const char *vuln)
{
	for (size_t i = 0; i < r->findings.len; i++) {
		const struct clr_report_finding *f =
			CLR_VEC_AT(&r->findings, struct clr_report_finding, i);

		if (!strcmp(f->package, name) && !strcmp(f->installed, version) &&
		    !strcmp(f->vuln, vuln))
			return true;
	}
	return false;
}

/* --format klar: Klar's standard text from "Found N vulnerabilities" on,
 * rendered by src/klar/ exactly as `clarion klar` prints it, for what the
 * scan's policy shows (what the ignore file hid counts as Klar's
 * "Whitelisted"). */
static int write_klar(FILE *out, const struct clr_report *r)
{
	struct clr_klar_vulns all = CLR_KLAR_VULNS_INIT, vs = CLR_KLAR_VULNS_INIT;
	struct clr_klar_render_opts o = {
		.format = CLR_KLAR_FORMAT_STANDARD,
		.min_severity = CLR_KLAR_SEV_UNKNOWN,
		.whitelisted = r->ignored.len,
	};
	struct clr_buf b = CLR_BUF_INIT(1u << 30);
	size_t counted;
	int err;

	if ((err = clr_klar_vulns_from_report(&all, r->vr)))
		goto out;
	for (size_t i = 0; i < all.n; i++)
		if (shown(r, all.items[i].feature_name, all.items[i].feature_version,
			  all.items[i].name))
			clr_klar_vulns_add(&vs, &all.items[i]);
	if (!(err = clr_klar_render(&b, &vs, &o, &counted)) &&
	    fwrite(clr_buf_str(&b), 1, b.len, out) != b.len)
		err = clr_error_set(CLR_EIO, "writing the report failed");
out:
	clr_buf_release(&b);
	clr_klar_vulns_release(&vs);
	clr_klar_vulns_release(&all);
	return err;
}

static int write_report(FILE *out, enum format fmt, const struct clr_report *r,
			bool show_not_covered)
{
	struct clr_report_meta meta = { .tool_version = CLR_VERSION,
					.timestamp = scan_time() };
	struct clr_table_opts topts = {
		.width = term_width(out), .colour = isatty(fileno(out)),
		.show_not_covered = show_not_covered,
	};

	switch (fmt) {
	case F_KLAR: return write_klar(out, r);
	case F_JSON: return clr_report_json(out, r);
	case F_SARIF: return clr_report_sarif(out, r, &meta);
	case F_CYCLONEDX: return clr_report_cyclonedx(out, r, &meta);
	default: return clr_report_table(out, r, &topts);
	}
}

int cmd_scan(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'd' },
		CLR_CLI_SOURCE_LONGOPTS,
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "severity", required_argument, NULL, 's' },
		{ "fail-on", required_argument, NULL, 'F' },
		{ "exit-code", required_argument, NULL, 'x' },
		{ "ignore-unfixed", no_argument, NULL, 'U' },
		{ "ignore-file", required_argument, NULL, 'I' },
		{ "show-not-covered", no_argument, NULL, 'N' },
		{ "update", no_argument, NULL, 'u' + 256 },
		{ "config", required_argument, NULL, 'c' },
		{ "server", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	struct clr_indexer_opts opts = { 0 };
	struct clr_report_policy pol = { .severities = 0 };
	const char *db = NULL, *output = NULL, *ignore_file = NULL, *config = NULL;
	const char *server = NULL;
	bool show_not_covered = false, update = false, fail_on = false;
	enum format fmt = F_TABLE;
	struct clr_report rep = { 0 };
	struct clr_ignore *ignore = NULL;
	struct clr_vindex ix;
	int have_ix = 0, have_rep = 0, empty = 1, c, rc = CLR_EXIT_ERROR, exit_code = -1;
	enum clr_severity threshold = CLR_SEV_UNKNOWN, worst;
	struct clr_store *store = NULL;
	json_t *report = NULL, *vr = NULL;
	FILE *out = stdout;
	const char *image;
	char *end;
	long n;
	size_t i;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (clr_cli_source_option(&opts.source, c, optarg))
			continue;
		switch (c) {
		case 'd': db = optarg; break;
		case 'o': output = optarg; break;
		case 'U': pol.ignore_unfixed = true; break;
		case 'I': ignore_file = optarg; break;
		case 'N': show_not_covered = true; break;
		case 'u' + 256: update = true; break;
		case 'c': config = optarg; break;
		case 'S': server = optarg; break;
		case 'f':
			for (i = 0; i < sizeof(format_names) / sizeof(*format_names); i++)
				if (!strcmp(optarg, format_names[i]))
					break;
			if (i == sizeof(format_names) / sizeof(*format_names))
				return clr_cli_fail("scan", "unknown format '%s' (table, "
						    "json, sarif, cyclonedx, klar)", optarg);
			fmt = (enum format)i;
			break;
		case 's':
			if (parse_severities(optarg, &pol.severities))
				return clr_cli_fail("scan", "bad --severity '%s' (a comma "
					"list of Unknown, Negligible, Low, Medium, High, "
					"Critical)", optarg);
			break;
		case 'F':
			fail_on = true;
			if (clr_severity_from_name(&threshold, optarg))
				return clr_cli_fail("scan", "bad --fail-on '%s' (Unknown, "
					"Negligible, Low, Medium, High, Critical)", optarg);
			break;
		case 'x':
			errno = 0;
			n = strtol(optarg, &end, 10);
			if (errno || !*optarg || *end || n < 0 || n > 255)
				return clr_cli_fail("scan", "bad --exit-code '%s' "
						    "(0 to 255)", optarg);
			exit_code = (int)n;
			break;
		default:
			return clr_cli_fail("scan", "unknown or incomplete option '%s'; "
					    "see 'clarion scan --help'",
					    argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		return clr_cli_fail("scan", "expected one IMAGE; see 'clarion scan --help'");
	if (clr_cli_source_check("scan", &opts.source))
		return CLR_EXIT_ERROR;
	if (config && !update)
		return clr_cli_fail("scan", "--config is for --update; see 'clarion "
				    "scan --help'");
	if (server && (update || db))
		return clr_cli_fail("scan", "--server asks the server, which keeps "
				    "its own data: no --%s", update ? "update" : "db");
	image = argv[optind];
	pol.now = time(NULL);
	/* the ignore file before anything slow: a typo in it must not wait
	 * for a download to be reported */
	if (ignore_file) {
		if (clr_ignore_load(&ignore, ignore_file))
			return clr_cli_fail("scan", "%s", clr_error_msg());
		pol.ignore = ignore;
	}

	if (server) {
		if (from_server(&vr, server, image, &opts))
			goto out;
		goto report;
	}
	if (clr_store_open(&store, db)) {
		clr_cli_fail("scan", "%s", clr_error_msg());
		goto out;
	}
	if (update && run_update(store, config))
		goto out;
	/* Before the image: an empty database makes the scan meaningless,
	 * and saying so must not wait for a download. */
	if (check_data(store, db, &empty))
		goto out;
	progress("loading the vulnerability data%s", "");
	if (clr_vindex_build(&ix, store)) {
		progress(NULL, NULL);
		clr_cli_fail("scan", "loading the vulnerability data: %s",
			     clr_error_msg());
		goto out;
	}
	have_ix = 1;
	if (empty && !ix.records) {
		progress(NULL, NULL);
		clr_cli_fail("scan", "the database %s has no vulnerability data; "
			     "fill it with 'clarion update' (or 'clarion db import "
			     "FILE' offline), or scan with --update",
			     db ? db : "(default)");
		goto out;
	}
	progress("indexing %s", image);
	if (clr_index_image(&report, store, image, &opts)) {
		progress(NULL, NULL);
		clr_cli_fail("scan", "%s: %s", image, clr_error_msg());
		goto out;
	}
	progress("matching %s", image);
	if (clr_match(&vr, &ix, report)) {
		progress(NULL, NULL);
		clr_cli_fail("scan", "%s: matching: %s", image, clr_error_msg());
		goto out;
	}
	progress(NULL, NULL);
report:
	have_rep = 1;
	if (clr_report_build(&rep, vr, image, &pol)) {
		clr_cli_fail("scan", "%s: %s", image, clr_error_msg());
		goto out;
	}
	warn_not_covered(&rep);
	warn_expired(ignore, pol.now);

	if (output && !(out = fopen(output, "w"))) {
		out = stdout;
		clr_cli_fail("scan", "%s: %s", output, strerror(errno));
		goto out;
	}
	c = write_report(out, fmt, &rep, show_not_covered);
	if (out != stdout ? fclose(out) | c : fflush(out) | c) {
		out = stdout;
		clr_cli_fail("scan", "writing %s: %s", output ? output : "the report",
			     strerror(errno));
		goto out;
	}
	out = stdout;

	rc = CLR_EXIT_OK;
	if ((fail_on || exit_code >= 0) && clr_report_worst(&rep, &worst) &&
	    worst >= threshold)
		rc = exit_code >= 0 ? exit_code : CLR_EXIT_FOUND;
out:
	if (out != stdout)
		fclose(out);
	if (have_rep)
		clr_report_release(&rep);
	json_decref(vr);
	json_decref(report);
	if (have_ix)
		clr_vindex_free(&ix);
	clr_store_close(store);
	clr_ignore_free(ignore);
	return rc;
}
