/*
 * cmd_db.c - `clarion db export|import`: offline vulnerability bundles.
 *
 * Export writes the newest update operation of each updater in the
 * database to one zstd-compressed file; import stores such a file's
 * operations in another database, as if its updaters had run there
 * (src/updater/bundle.c has the format).  For machines that cannot reach
 * the feeds.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "config/config.h"
#include "store/store.h"
#include "updater/bundle.h"
#include "updater/manager.h"
#include "util/error.h"

const char cmd_db_usage[] =
	"usage: clarion db export [--db DB] [--config FILE] [--source NAME]... FILE\n"
	"       clarion db import [--db DB] [--config FILE] FILE\n"
	"\n"
	"Moves vulnerability data to machines that cannot reach the feeds.\n"
	"\n"
	"export  writes the newest update operation of every updater in the\n"
	"        database (of the sources named with --source, if any) to FILE\n"
	"        (\"-\": standard output): zstd-compressed JSON lines, one\n"
	"        operation header followed by its vulnerabilities.  The file\n"
	"        appears complete or not at all.\n"
	"import  stores each operation of FILE (\"-\": standard input) in the\n"
	"        database, with the same records and content hashes as running\n"
	"        the updaters would give; an operation already current (same\n"
	"        fingerprint) is not stored twice.  A damaged or truncated file\n"
	"        is an error naming the line; the operation it cuts is not\n"
	"        stored.\n"
	"\n"
	"Options:\n"
	"  --db DB          database: a file path (SQLite) or postgres:// URL\n"
	"                   (default: the configuration's `database`, else\n"
	"                   $CLARION_DB, else $XDG_CACHE_HOME/clarion/clarion.db)\n"
	"  --config FILE    configuration file (for `database`)\n"
	"  --source NAME    export: only this source's updaters; repeatable\n"
	"\n"
	"A database filled by import is kept current by importing newer bundles;\n"
	"set matcher.disable_updaters in the server's configuration so that it\n"
	"does not try the feeds itself.\n"
	"\n"
	"Exit status: 0 done, 2 usage or error (one line on stderr says why).\n";

static int open_store(struct clr_store **store, const char *db, const char *config,
		      const char *cmd)
{
	struct clr_config *cfg;
	int err;

	if ((err = clr_config_load(&cfg, config)))
		return clr_cli_fail(cmd, "%s", clr_error_msg());
	if (!db)
		db = clr_config_string(cfg, "database");
	err = clr_store_open(store, db);
	clr_config_free(cfg);
	if (err)
		return clr_cli_fail(cmd, "%s", clr_error_msg());
	return CLR_EXIT_OK;
}

int cmd_db(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "config", required_argument, NULL, 'c' },
		{ "source", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct clr_vec sources = CLR_VEC_INIT(const char *);
	struct clr_bundle_summary sum;
	struct clr_store *store = NULL;
	const char *db = NULL, *config = NULL, *verb, *file, *null = NULL;
	const char *cmd;
	bool export;
	int c, rc = CLR_EXIT_ERROR;
	FILE *say;

	if (argc < 2)
		return clr_cli_fail("db", "expected export or import; see 'clarion db --help'");
	verb = argv[1];
	if (!strcmp(verb, "--help") || !strcmp(verb, "-h")) {
		fputs(cmd_db_usage, stdout);
		return CLR_EXIT_OK;
	}
	if (strcmp(verb, "export") && strcmp(verb, "import"))
		return clr_cli_fail("db", "unknown subcommand '%s' (export, import); "
				    "see 'clarion db --help'", verb);
	export = !strcmp(verb, "export");
	cmd = export ? "db export" : "db import";

	opterr = 0;
	optind = 2;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 'c': config = optarg; break;
		case 's':
			if (!export) {
				clr_vec_release(&sources);
				return clr_cli_fail(cmd, "--source is for export");
			}
			CLR_VEC_PUSH(&sources, (const char **)&optarg);
			break;
		case 'h':
			clr_vec_release(&sources);
			fputs(cmd_db_usage, stdout);
			return CLR_EXIT_OK;
		default:
			clr_vec_release(&sources);
			return clr_cli_fail(cmd, "unknown or incomplete option '%s'; see "
					    "'clarion db --help'", argv[optind - 1]);
		}
	}
	if (optind != argc - 1) {
		clr_vec_release(&sources);
		return clr_cli_fail(cmd, "expected one FILE; see 'clarion db --help'");
	}
	file = argv[optind];
	for (size_t i = 0; i < sources.len; i++) {
		const char *name = *CLR_VEC_AT(&sources, const char *, i);

		if (!clr_updater_factory_find(name)) {
			char *names = clr_update_source_names(clr_updater_factories,
							      clr_updater_factories_count);

			clr_cli_fail(cmd, "unknown source '%s' (sources: %s)", name, names);
			free(names);
			goto cleanup;
		}
	}
	if (sources.len)
		CLR_VEC_PUSH(&sources, &null);
	if (open_store(&store, db, config, cmd))
		goto cleanup;

	/* An exported bundle may be standard output: the summary goes to
	 * standard error then. */
	say = export && !strcmp(file, "-") ? stderr : stdout;
	if (export) {
		if (clr_bundle_export(store, file, sources.len ?
				      (const char *const *)sources.items : NULL, &sum)) {
			clr_cli_fail(cmd, "%s", clr_error_msg());
			goto cleanup;
		}
		fprintf(say, "exported %zu operations (%zu vulnerabilities) to %s\n",
			sum.operations, sum.vulnerabilities, file);
	} else {
		if (clr_bundle_import(store, file, &sum)) {
			clr_cli_fail(cmd, "%s", clr_error_msg());
			goto cleanup;
		}
		fprintf(say, "imported %zu operations (%zu vulnerabilities); %zu already "
			"current\n", sum.operations, sum.vulnerabilities, sum.unchanged);
	}
	rc = CLR_EXIT_OK;
cleanup:
	clr_store_close(store);
	clr_vec_release(&sources);
	return rc;
}
