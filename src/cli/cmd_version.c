/*
 * cmd_version.c - `clarion version`: what was built, from what.
 *
 * Bug reports need the exact build and the versions of the libraries the
 * binary runs with (which may differ from those it was compiled against),
 * so each library is asked at run time.
 */
#include <archive.h>
#include <curl/curl.h>
#include <isa-l.h>
#include <jansson.h>
#include <libfyaml.h>
#include <libpq-fe.h>
#include <libxml/globals.h>
#include <openssl/crypto.h>
#include <rpm/rpmlib.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <zlib.h>
#include <zstd.h>

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
	printf("  libcurl: %s\n", curl_version_info(CURLVERSION_NOW)->version);
	printf("  jansson: %s\n", jansson_version_str());
	printf("  libarchive: %s\n", archive_version_string());
	printf("  zlib: %s\n", zlibVersion());
	printf("  zstd: %s\n", ZSTD_versionString());
	/* ISA-L has no run-time version call; this is the compile-time one. */
	printf("  isa-l: %d.%d.%d\n", ISAL_MAJOR_VERSION, ISAL_MINOR_VERSION,
	       ISAL_PATCH_VERSION);
	printf("  sqlite: %s\n", sqlite3_libversion());
	printf("  libpq: %d.%d\n", PQlibVersion() / 10000, PQlibVersion() % 10000);
	printf("  librpm: %s\n", RPMVERSION);
	/* "20914" -> 2.9.14 */
	printf("  libxml2: %d.%d.%d\n", atoi(xmlParserVersion) / 10000,
	       atoi(xmlParserVersion) / 100 % 100, atoi(xmlParserVersion) % 100);
	printf("  libfyaml: %s\n", fy_library_version());
	return CLR_EXIT_OK;
}
