/*
 * main.c - clarion's entry point: global options and the command table.
 *
 * As in git, every subcommand is a row of commands[]; adding one touches only
 * its own file and one row here.  `clarion COMMAND --help` is answered here
 * for every command, so commands need not parse --help themselves.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "image/source.h"
#include "util/error.h"
#include "util/log.h"

static const struct clr_cmd commands[] = {
	{ "db", cmd_db, "export or import an offline vulnerability bundle",
	  cmd_db_usage },
	{ "index", cmd_index, "find the OS packages in an image, layer by layer",
	  cmd_index_usage },
	{ "klar", cmd_klar, "Klar 2.4.0's CLI: scan an image through a Clair API v1",
	  cmd_klar_usage },
	{ "notifications", cmd_notifications,
	  "list, page or delete a server's notifications",
	  cmd_notifications_usage },
	{ "report", cmd_report, "an image's vulnerabilities from a Clair v4 server",
	  cmd_report_usage },
	{ "scan", cmd_scan, "index an image and report its vulnerabilities",
	  cmd_scan_usage },
	{ "serve", cmd_serve, "run the Clair v4-compatible HTTP service",
	  cmd_serve_usage },
	{ "update", cmd_update, "fetch the vulnerability feeds into the database",
	  cmd_update_usage },
	{ "vercmp", cmd_vercmp, "compare two versions of a scheme (dpkg, rpm, ...)",
	  cmd_vercmp_usage },
	{ "version", cmd_version, "print clarion's version and linked libraries",
	  cmd_version_usage },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char global_usage[] =
	"usage: clarion [--log-level LEVEL] [--log-format human|json] COMMAND [ARGS]\n"
	"\n"
	"clarion is a container image vulnerability scanner.\n"
	"\n"
	"Global options:\n"
	"  --log-level LEVEL     error, warn, info (default) or debug\n"
	"  --log-format FORMAT   human (default) or json (one JSON object per line)\n"
	"  -h, --help            this text; `clarion COMMAND --help` for a command\n"
	"\n"
	"Commands:\n";

int clr_cli_fail(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "clarion: %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CLR_EXIT_ERROR;
}

int clr_cli_source_option(struct clr_source_opts *o, int c, const char *arg)
{
	switch (c) {
	case 'p': o->platform = arg; return 1;
	case 'u': o->username = arg; return 1;
	case 'P': o->password = arg; return 1;
	case 'k': o->insecure = 1; return 1;
	case 'H': o->plain_http = 1; return 1;
	}
	return 0;
}

int clr_cli_source_check(const char *cmd, const struct clr_source_opts *o)
{
	if (!!o->username != !!o->password)
		return clr_cli_fail(cmd, "--username and --password go together");
	return 0;
}

void clr_cli_usage(FILE *f, const struct clr_cmd *cmd)
{
	fputs(cmd->usage, f);
}

static void usage(FILE *f)
{
	fputs(global_usage, f);
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-14s %s\n", commands[i].name, commands[i].summary);
}

static const struct clr_cmd *find(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static int run(const struct clr_cmd *cmd, int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		clr_cli_usage(stdout, cmd);
		return CLR_EXIT_OK;
	}
	return cmd->run(argc, argv);
}

int main(int argc, char **argv)
{
	const char *self = strrchr(argv[0], '/');
	const struct clr_cmd *cmd;
	int i = 1;

	/* A peer closing a connection must be an error on that connection,
	 * never the death of the process. */
	signal(SIGPIPE, SIG_IGN);
	self = self ? self + 1 : argv[0];
	/* Invoked through a link named after a command (`klar`). */
	if (strcmp(self, "clarion") && (cmd = find(self)))
		return run(cmd, argc, argv);

	clr_log_set_format(CLR_LOG_HUMAN);
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return CLR_EXIT_OK;
		} else if (!strcmp(a, "--version")) {
			return cmd_version(1, (char *[]){ "version", NULL });
		} else if (!strcmp(a, "--log-level") && i + 1 < argc) {
			enum clr_log_level level;

			if (clr_log_level_from_name(&level, argv[++i]))
				return clr_cli_fail("--log-level", "%s",
						    clr_error_msg());
			clr_log_set_level(level);
		} else if (!strcmp(a, "--log-format") && i + 1 < argc) {
			i++;
			if (!strcmp(argv[i], "json"))
				clr_log_set_format(CLR_LOG_JSON);
			else if (!strcmp(argv[i], "human"))
				clr_log_set_format(CLR_LOG_HUMAN);
			else
				return clr_cli_fail("--log-format",
						    "unknown format '%s' (human, json)", argv[i]);
		} else {
			fprintf(stderr, "clarion: unknown option '%s'\n\n", a);
			usage(stderr);
			return CLR_EXIT_ERROR;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return CLR_EXIT_ERROR;
	}
	cmd = find(argv[i]);
	if (!cmd) {
		fprintf(stderr, "clarion: '%s' is not a clarion command; see "
			"'clarion --help'\n", argv[i]);
		return CLR_EXIT_ERROR;
	}
	clr_log_debug("running command '%s'", cmd->name);
	return run(cmd, argc - i, argv + i);
}
