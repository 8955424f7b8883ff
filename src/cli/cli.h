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

/* Prints a command's usage to f. */
void clr_cli_usage(FILE *f, const struct clr_cmd *cmd);

int cmd_db(int argc, char **argv);
int cmd_index(int argc, char **argv);
int cmd_scan(int argc, char **argv);
int cmd_update(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_vercmp(int argc, char **argv);

extern const char cmd_db_usage[];
extern const char cmd_index_usage[];
extern const char cmd_scan_usage[];
extern const char cmd_update_usage[];
extern const char cmd_version_usage[];
extern const char cmd_vercmp_usage[];

#endif
