/*
 * cmd_klar.c - `clarion klar IMAGE`, also run as `klar IMAGE` through a
 * link: Klar 2.4.0's command line (reference/klar.md), all of it in
 * src/klar/.  Exactly one argument; everything else comes from the
 * environment.  Exit 0, 1 when more vulnerabilities than CLAIR_THRESHOLD
 * are counted, 2 on any error, as Klar.
 */
#include <stdio.h>

#include "cli/cli.h"
#include "klar/klar.h"
#include "util/error.h"

const char cmd_klar_usage[] =
	"usage: clarion klar IMAGE     (or a link named klar: klar IMAGE)\n"
	"\n"
	"A drop-in for the Klar 2.4.0 CI client: pushes the image's layers to a\n"
	"Clair API v1 server (clarion serve, or Clair v2) and prints Klar's\n"
	"report.  Configured only by the environment, with Klar's defaults:\n"
	"  CLAIR_ADDR        the server, e.g. 127.0.0.1:6060 (required)\n"
	"  CLAIR_OUTPUT      lowest severity shown and counted (Unknown)\n"
	"  CLAIR_THRESHOLD   exit 1 when more are counted than this (0)\n"
	"  CLAIR_TIMEOUT     minutes per Clair request (1)\n"
	"  DOCKER_TIMEOUT    minutes per registry request (1)\n"
	"  DOCKER_USER, DOCKER_PASSWORD, DOCKER_TOKEN   registry credentials\n"
	"  DOCKER_INSECURE   skip TLS verification of the registry\n"
	"  REGISTRY_INSECURE talk http:// to the registry\n"
	"  DOCKER_PLATFORM_OS, DOCKER_PLATFORM_ARCH     manifest list entry\n"
	"  FORMAT_OUTPUT     standard, table or json; JSON_OUTPUT=true: json\n"
	"  WHITELIST_FILE    YAML allow-list (general: [...], images: {...})\n"
	"  IGNORE_UNFIXED    do not count vulnerabilities without a fix\n"
	"  KLAR_TRACE        dump every HTTP exchange to stderr\n"
	"Exit status: 0, 1 above the threshold, 2 on any error.\n"
	"See docs/klar.md.\n";

int cmd_klar(int argc, char **argv)
{
	struct clr_klar_config c;
	int err, over = 0;

	if (argc != 2) {
		fputs("Image name must be provided\n", stderr);
		return CLR_EXIT_ERROR;
	}
	if (clr_klar_config_load(&c, argv[1], NULL, NULL)) {
		/* Klar's message ends in its own newline. */
		fprintf(stderr, "Invalid options: %s\n", clr_error_msg());
		return CLR_EXIT_ERROR;
	}
	err = clr_klar_run(&c, stdout, stderr, &over);
	clr_klar_config_release(&c);
	if (err)
		return CLR_EXIT_ERROR;
	return over ? CLR_EXIT_FOUND : CLR_EXIT_OK;
}
