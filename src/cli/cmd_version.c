/*
 * cmd_version.c - `clarion version`: what was built, from what.
 *
 * Bug reports need the exact build and the versions of the libraries the
 * binary runs with (which may differ from those it was compiled against),
 * so each library is asked at run time.
 */
#include <openssl/crypto.h>
#include <stdio.h>

#include "cli/cli.h"

#ifndef CLR_VERSION
#define CLR_VERSION "0.0.0"
#endif
#ifndef CLR_BUILD
#define CLR_BUILD "unknown"
#endif

const char cmd_version_usage[] =
	"usage: clarion version\n"
	"\n"
	"Prints clarion's version, the build (git revision) and the versions of\n"
	"the libraries it is linked with.\n";

int cmd_version(int argc, char **argv)
{
	if (argc > 1)
		return clr_cli_fail("version", "unexpected argument '%s'", argv[1]);
	printf("clarion %s\n", CLR_VERSION);
	printf("build: %s (%s %s, %s)\n", CLR_BUILD, __DATE__, __TIME__,
#ifdef __clang__
	       "clang " __clang_version__
#else
	       "gcc " __VERSION__
#endif
	);
	printf("libraries:\n");
	printf("  openssl: %s\n", OpenSSL_version(OPENSSL_VERSION));
	return CLR_EXIT_OK;
}
