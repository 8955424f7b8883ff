/*
 * cmd_update.c - `clarion update`: fetch the vulnerability feeds once.
 *
 * Runs the configured updaters (src/updater/manager.c) into the database
 * and prints one line per updater, or, with --status, what the database
 * says about each updater's last attempt and success.  The server runs the
 * same manager every matcher.period; this is the one-shot form for CI and
 * for filling a database to export.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "config/config.h"
#include "store/store.h"
#include "updater/manager.h"
#include "util/alloc.h"
#include "util/error.h"

const char cmd_update_usage[] =
	"usage: clarion update [OPTIONS]\n"
	"\n"
	"Fetches the vulnerability feeds into the database, once: every source\n"
	"of the configuration's updaters.sets (all of them when not set), or\n"
	"those named with --source.  A feed that has not changed since the last\n"
	"run is neither downloaded again nor parsed.  Prints one line per\n"
	"updater:\n"
	"\n"
	"  NAME  updated|unchanged|failed|skipped  N vulnerabilities  X.XXs\n"
	"\n"
	"(a failed line ends with the error; skipped: another process is\n"
	"updating that feed right now).  A failed updater keeps its previous\n"
	"data.\n"
	"\n"
	"Options:\n"
	"  --db DB            database: a file path (SQLite) or postgres:// URL\n"
	"                     (default: the configuration's `database`, else\n"
	"                     $CLARION_DB, else $XDG_CACHE_HOME/clarion/clarion.db)\n"
	"  --config FILE      configuration file, YAML or JSON with Clair v4's keys\n"
	"                     (matcher.update_retention, updaters.sets,\n"
	"                     updaters.config.NAME.url, ...; see docs/updating.md)\n"
	"  --source NAME      update only this source; repeat for several\n"
	"                     (debian, ubuntu, alpine, rhel, oracle, suse, photon,\n"
	"                     alma, rocky)\n"
	"  --status           print each updater's last attempt, last success,\n"
	"                     record count and last error; update nothing\n"
	"\n"
	"Exit status: 0 every updater succeeded (updated, unchanged or skipped),\n"
	"1 some failed (the others were applied), 2 usage or other error.\n";

/* Whether updater belongs to one of the sources ("alpine" has
 * "alpine-main-v3.19"). */
static bool of_sources(const char *updater, const char *const *sources)
{
	if (!sources)
		return true;
	for (const char *const *p = sources; *p; p++) {
		size_t n = strlen(*p);

		if (!strncmp(updater, *p, n) && (!updater[n] || strchr("-/._:", updater[n])))
			return true;
	}
	return false;
}

static const char *or_never(const char *s)
{
	return s && *s ? s : "never";
}

static int print_status(struct clr_store *store, const char *const *sources)
{
	struct clr_vec st = CLR_VEC_INIT(struct clr_updater_status);
	int w[4] = { 7, 12, 12, 7 };  /* the headers' widths */
	int err;

	if ((err = clr_store_status_list(store, &st)))
		return clr_cli_fail("update", "%s", clr_error_msg());
	for (size_t i = 0; i < st.len; i++) {
		const struct clr_updater_status *s =
			CLR_VEC_AT(&st, struct clr_updater_status, i);
		char n[32];
		int len;

		if (!of_sources(s->updater, sources))
			continue;
		if ((len = (int)strlen(s->updater)) > w[0])
			w[0] = len;
		if ((len = (int)strlen(or_never(s->last_attempt))) > w[1])
			w[1] = len;
		if ((len = (int)strlen(or_never(s->last_success))) > w[2])
			w[2] = len;
		if ((len = snprintf(n, sizeof(n), "%zu", s->count)) > w[3])
			w[3] = len;
	}
	printf("%-*s  %-*s  %-*s  %*s  %s\n", w[0], "UPDATER", w[1], "LAST ATTEMPT",
	       w[2], "LAST SUCCESS", w[3], "RECORDS", "LAST ERROR");
	for (size_t i = 0; i < st.len; i++) {
		const struct clr_updater_status *s =
			CLR_VEC_AT(&st, struct clr_updater_status, i);

		if (!of_sources(s->updater, sources))
			continue;
		printf("%-*s  %-*s  %-*s  %*zu  %s\n", w[0], s->updater, w[1],
		       or_never(s->last_attempt), w[2], or_never(s->last_success),
		       w[3], s->count, s->last_error && *s->last_error ? s->last_error : "-");
	}
	clr_updater_status_release(&st);
	return CLR_EXIT_OK;
}

static void print_report(const struct clr_update_report *rep)
{
	int w = 4;

	for (size_t i = 0; i < rep->results.len; i++) {
		const struct clr_update_result *r =
			CLR_VEC_AT(&rep->results, struct clr_update_result, i);
		int len = (int)strlen(r->name);

		if (len > w)
			w = len;
	}
	for (size_t i = 0; i < rep->results.len; i++) {
		const struct clr_update_result *r =
			CLR_VEC_AT(&rep->results, struct clr_update_result, i);

		printf("%-*s  %-9s  %zu vulnerabilities  %.2fs", w, r->name,
		       clr_update_outcome_name(r->outcome), r->count, r->seconds);
		if (r->outcome == CLR_UPDATE_FAILED && r->error)
			printf("  %s", r->error);
		putchar('\n');
	}
}

int cmd_update(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "config", required_argument, NULL, 'c' },
		{ "source", required_argument, NULL, 's' },
		{ "status", no_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	struct clr_vec sources = CLR_VEC_INIT(const char *);
	struct clr_config *cfg = NULL;
	struct clr_store *store = NULL;
	struct clr_update_report rep = { 0 };
	const char *db = NULL, *config = NULL, *null = NULL;
	bool status = false;
	int c, err, rc = CLR_EXIT_ERROR;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 'c': config = optarg; break;
		case 's': CLR_VEC_PUSH(&sources, (const char **)&optarg); break;
		case 'S': status = true; break;
		default:
			clr_vec_release(&sources);
			return clr_cli_fail("update", "unknown or incomplete option '%s'; "
					    "see 'clarion update --help'", argv[optind - 1]);
		}
	}
	if (optind != argc) {
		clr_vec_release(&sources);
		return clr_cli_fail("update", "unexpected argument '%s'; see 'clarion "
				    "update --help'", argv[optind]);
	}
	for (size_t i = 0; i < sources.len; i++) {
		const char *name = *CLR_VEC_AT(&sources, const char *, i);

		if (!clr_updater_factory_find(name)) {
			char *names = clr_update_source_names(clr_updater_factories,
							      clr_updater_factories_count);

			clr_cli_fail("update", "unknown source '%s' (sources: %s)", name, names);
			free(names);
			goto cleanup;
		}
	}
	if (sources.len)
		CLR_VEC_PUSH(&sources, &null);

	if ((err = clr_config_load(&cfg, config))) {
		clr_cli_fail("update", "%s", clr_error_msg());
		goto cleanup;
	}
	if (db && (err = clr_config_set(cfg, "database", db))) {
		clr_cli_fail("update", "%s", clr_error_msg());
		goto cleanup;
	}
	if ((err = clr_store_open(&store, clr_config_string(cfg, "database")))) {
		clr_cli_fail("update", "%s", clr_error_msg());
		goto cleanup;
	}
	if (status) {
		rc = print_status(store, sources.len ? (const char *const *)sources.items
						     : NULL);
		goto cleanup;
	}
	if ((err = clr_update_run(store, cfg, sources.len ?
				  (const char *const *)sources.items : NULL, &rep))) {
		clr_cli_fail("update", "%s", clr_error_msg());
		goto cleanup;
	}
	if (!rep.results.len)
		fprintf(stderr, "clarion: update: no updaters to run (%s)\n",
			clr_config_bool(cfg, "matcher.disable_updaters") ?
			"matcher.disable_updaters is true" : "updaters.sets is empty");
	print_report(&rep);
	fflush(stdout);
	if (rep.gc_error)
		fprintf(stderr, "clarion: update: retention: %s\n", rep.gc_error);
	rc = rep.failed || rep.gc_error ? CLR_EXIT_FOUND : CLR_EXIT_OK;
cleanup:
	clr_update_report_release(&rep);
	clr_store_close(store);
	clr_config_free(cfg);
	clr_vec_release(&sources);
	return rc;
}
