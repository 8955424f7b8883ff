/*
 * cli.h - the command table shared by src/cli/ files.
 *
 * Each subcommand is one cmd_NAME.c file exporting one function with the
 * signature below, and one line in the table in main.c.  A command returns
 * the process's exit status (0 success, 1 "found something"/partial failure
 * where the command defines it, 2 usage or runtime error); only the CLI
 * turns library error codes into statuses and messages.
 */
#ifndef CLR_CLI_CLI_H
#define CLR_CLI_CLI_H

#include <stdio.h>

/* Exit statuses every command shares. */
enum {
	CLR_EXIT_OK = 0,
	CLR_EXIT_FOUND = 1, /* e.g. vulnerabilities above a threshold */
	CLR_EXIT_ERROR = 2,
};

struct clr_cmd {
	const char *name;
	int (*run)(int argc, char **argv); /* argv[0] is the command name */
	const char *summary;               /* one line for `clarion --help` */
	const char *usage;                 /* the text of `clarion NAME --help` */
};

/* Prints "clarion: NAME: message\n" to stderr and returns CLR_EXIT_ERROR. */
int clr_cli_fail(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The registry options every command that reads an image takes, as
 * getopt_long rows (--platform, --username, --password, --insecure,
 * --plain-http; short codes 'p', 'u', 'P', 'k', 'H'). */
#define CLR_CLI_SOURCE_LONGOPTS                                   \
	{ "platform", required_argument, NULL, 'p' },             \
	{ "username", required_argument, NULL, 'u' },             \
	{ "password", required_argument, NULL, 'P' },             \
	{ "insecure", no_argument, NULL, 'k' },                   \
	{ "plain-http", no_argument, NULL, 'H' }

struct clr_source_opts;

/* Applies getopt code c with argument arg to o when it is one of the rows
 * above: 1 if it was, 0 if it is the command's own. */
int clr_cli_source_option(struct clr_source_opts *o, int c, const char *arg);

/* 0, or a message and CLR_EXIT_ERROR when the options do not go together
 * (--username without --password). */
int clr_cli_source_check(const char *cmd, const struct clr_source_opts *o);

/* Prints a command's usage to f. */
void clr_cli_usage(FILE *f, const struct clr_cmd *cmd);

int cmd_db(int argc, char **argv);
int cmd_index(int argc, char **argv);
int cmd_klar(int argc, char **argv);
int cmd_notifications(int argc, char **argv);
int cmd_scan(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_update(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_vercmp(int argc, char **argv);

extern const char cmd_db_usage[];
extern const char cmd_index_usage[];
extern const char cmd_klar_usage[];
extern const char cmd_notifications_usage[];
extern const char cmd_scan_usage[];
extern const char cmd_report_usage[];
extern const char cmd_serve_usage[];
extern const char cmd_update_usage[];
extern const char cmd_version_usage[];
extern const char cmd_vercmp_usage[];

#endif
