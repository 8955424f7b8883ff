/*
 * cmd_vercmp.c - `clarion vercmp`: compare versions from the command line.
 *
 * Useful on its own ("is 1:2.0~rc1 older than 1:2.0?") and the door the
 * differential tests use: `--batch` compares many pairs in one process.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/error.h"
#include "version/version.h"

const char cmd_vercmp_usage[] =
	"usage: clarion vercmp SCHEME A B\n"
	"       clarion vercmp --batch SCHEME < PAIRS\n"
	"\n"
	"Compares version A with version B under SCHEME and prints exactly one of\n"
	"'<', '=' or '>'.  SCHEME is one of: dpkg, rpm, apk, semver, pep440,\n"
	"maven, gem.  An unknown scheme or an invalid version is an error (exit 2).\n"
	"\n"
	"With --batch, reads one pair per line from standard input, the two\n"
	"versions separated by a tab (or by blanks when the line has no tab), and\n"
	"prints one line per pair: '<', '=', '>', or '! MESSAGE' when a version is\n"
	"invalid.  Exits 2 if any line was invalid, else 0.\n";

static char sign(int c)
{
	return c < 0 ? '<' : c > 0 ? '>' : '=';
}

static int batch(enum clr_vscheme scheme)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int status = CLR_EXIT_OK;

	while ((n = getline(&line, &cap, stdin)) >= 0) {
		char *a = line, *b, *tab;
		int c;

		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		tab = strchr(line, '\t');
		if (tab) {
			*tab = '\0';
			b = tab + 1;
		} else {
			a += strspn(a, " ");
			b = a + strcspn(a, " ");
			if (*b)
				*b++ = '\0';
			b += strspn(b, " ");
		}
		if (clr_version_compare_str(&c, scheme, a, b)) {
			printf("! %s\n", clr_error_msg());
			status = CLR_EXIT_ERROR;
			continue;
		}
		putchar(sign(c));
		putchar('\n');
	}
	free(line);
	return status;
}

int cmd_vercmp(int argc, char **argv)
{
	enum clr_vscheme scheme;
	int c;

	if (argc == 3 && !strcmp(argv[1], "--batch")) {
		if (clr_vscheme_from_name(&scheme, argv[2]))
			return clr_cli_fail("vercmp", "%s", clr_error_msg());
		return batch(scheme);
	}
	if (argc != 4) {
		fputs(cmd_vercmp_usage, stderr);
		return CLR_EXIT_ERROR;
	}
	if (clr_vscheme_from_name(&scheme, argv[1]))
		return clr_cli_fail("vercmp", "%s", clr_error_msg());
	if (clr_version_compare_str(&c, scheme, argv[2], argv[3]))
		return clr_cli_fail("vercmp", "%s", clr_error_msg());
	printf("%c\n", sign(c));
	return CLR_EXIT_OK;
}
