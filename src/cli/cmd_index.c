/*
 * cmd_index.c - `clarion index IMAGE`: what is installed in an image.
 *
 * Indexes the image into the local database (or the one named by --db) and
 * prints the IndexReport: Clair v4's JSON, or a short summary for people.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "indexer/indexer.h"
#include "store/store.h"
#include "util/error.h"

const char cmd_index_usage[] =
	"usage: clarion index [OPTIONS] IMAGE\n"
	"\n"
	"Finds the OS packages (dpkg, apk, rpm) and the distribution of IMAGE,\n"
	"layer by layer, records them in the database, and prints the index\n"
	"report (Clair v4's JSON).  A layer is scanned once, whatever image it is\n"
	"in; an image already indexed is answered from the database.\n"
	"\n"
	"IMAGE is a registry reference (alpine, host:5000/ns/repo:tag,\n"
	"repo@sha256:...) or one of: docker://REF, docker-archive:PATH[:REF],\n"
	"oci:PATH[:TAG], oci-archive:PATH[:TAG], dir:PATH (an unpacked root).\n"
	"\n"
	"Options:\n"
	"  --db DB              database: a file path (SQLite) or postgres:// URL\n"
	"                       (default: $CLARION_DB, else\n"
	"                       $XDG_CACHE_HOME/clarion/clarion.db)\n"
	"  --platform OS/ARCH[/VARIANT]  image of a multi-platform index to use\n"
	"                       (default linux/amd64)\n"
	"  --username USER, --password PASS   registry credentials (default: from\n"
	"                       $REGISTRY_AUTH_FILE or ~/.docker/config.json)\n"
	"  --insecure           do not verify the registry's TLS certificate\n"
	"  --plain-http         talk plain HTTP to the registry\n"
	"  --format json|text   the report as JSON (default) or a short summary\n"
	"\n"
	"Exit status: 0 indexed, 2 error (one line on stderr says why).\n";

static void print_text(json_t *r)
{
	json_t *dists = json_object_get(r, "distributions");
	json_t *pkgs = json_object_get(r, "packages");
	json_t *envs = json_object_get(r, "environments");
	json_t *d, *per_layer = json_object(), *v;
	const char *key;

	printf("manifest: %s\n", json_string_value(json_object_get(r, "manifest_hash")));
	d = json_object_iter_value(json_object_iter(dists));
	if (d)
		printf("distribution: %s\n",
		       json_string_value(json_object_get(d, "pretty_name")));
	else
		printf("distribution: unknown\n");
	printf("packages: %zu\n", json_object_size(pkgs));
	json_object_foreach(envs, key, v) {
		const char *layer = json_string_value(json_object_get(
			json_array_get(v, 0), "introduced_in"));
		json_int_t n;

		if (!layer)
			continue;
		n = json_integer_value(json_object_get(per_layer, layer));
		json_object_set_new(per_layer, layer, json_integer(n + 1));
	}
	if (json_object_size(per_layer))
		printf("packages introduced per layer:\n");
	json_object_foreach(per_layer, key, v)
		printf("  %s  %lld\n", key, (long long)json_integer_value(v));
	json_decref(per_layer);
}

int cmd_index(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'd' },
		CLR_CLI_SOURCE_LONGOPTS,
		{ "format", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	struct clr_indexer_opts opts = { 0 };
	const char *db = NULL, *format = "json";
	struct clr_store *store = NULL;
	json_t *report = NULL;
	int c, err;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (clr_cli_source_option(&opts.source, c, optarg))
			continue;
		switch (c) {
		case 'd': db = optarg; break;
		case 'f': format = optarg; break;
		default:
			return clr_cli_fail("index", "unknown or incomplete option '%s'; "
					    "see 'clarion index --help'",
					    argv[optind - 1]);
		}
	}
	if (strcmp(format, "json") && strcmp(format, "text"))
		return clr_cli_fail("index", "unknown format '%s' (json, text)", format);
	if (optind != argc - 1)
		return clr_cli_fail("index", "expected one IMAGE; see 'clarion index --help'");
	if (clr_cli_source_check("index", &opts.source))
		return CLR_EXIT_ERROR;

	if ((err = clr_store_open(&store, db)))
		return clr_cli_fail("index", "%s", clr_error_msg());
	err = clr_index_image(&report, store, argv[optind], &opts);
	clr_store_close(store);
	if (err)
		return clr_cli_fail("index", "%s: %s", argv[optind], clr_error_msg());
	if (!strcmp(format, "text")) {
		print_text(report);
	} else {
		json_dumpf(report, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		putchar('\n');
	}
	json_decref(report);
	return CLR_EXIT_OK;
}
