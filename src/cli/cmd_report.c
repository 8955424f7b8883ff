/*
 * cmd_report.c - `clarion report`: an image's vulnerabilities from a
 * running Clair v4-compatible server (clarion serve, or Clair), as
 * clairctl's `report` does: build the Manifest from the registry, POST it
 * to the indexer, GET the vulnerability report, print it.  The work of
 * talking to the server is src/http/client.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "http/client.h"
#include "image/source.h"
#include "util/error.h"

const char cmd_report_usage[] =
	"usage: clarion report [OPTIONS] IMAGE\n"
	"\n"
	"Asks a Clair v4-compatible server (clarion serve, or Clair) for the\n"
	"vulnerabilities of a registry image: builds the image's Clair Manifest\n"
	"(blob URLs on the registry and the Authorization header it wants, as\n"
	"clairctl does), has the server index it, and prints the server's\n"
	"vulnerability report.  The server fetches the layers itself.\n"
	"\n"
	"Options:\n"
	"  --server URL       the server (default: $CLAIR_ADDR, else\n"
	"                     http://localhost:6060)\n"
	"  --format FMT       text (default) or json (the report as the server\n"
	"                     sent it)\n"
	"  --psk KEY          sign requests with this auth.psk.key (base64;\n"
	"                     default: $CLARION_PSK), issuer clairctl\n"
	"  --platform OS/ARCH, --username U, --password P, --insecure,\n"
	"  --plain-http       how to reach the registry (as `clarion index`)\n"
	"\n"
	"Exit status: 0 the report was printed, 2 an error (the server's own\n"
	"message is shown).\n";

struct row {
	const char *pkg, *version, *vuln, *severity, *fixed;
	int rank;
};

static int sev_rank(const char *s)
{
	static const char *const names[] = {
		"Unknown", "Negligible", "Low", "Medium", "High", "Critical",
	};

	for (int i = 0; i < 6; i++)
		if (s && !strcmp(s, names[i]))
			return i;
	return 0;
}

static int row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int c;

	if (x->rank != y->rank)
		return y->rank - x->rank;
	if ((c = strcmp(x->pkg, y->pkg)))
		return c;
	return strcmp(x->vuln, y->vuln);
}

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static void print_text(FILE *f, const char *image, json_t *vr)
{
	json_t *pkgs = json_object_get(vr, "packages");
	json_t *vulns = json_object_get(vr, "vulnerabilities");
	json_t *pv = json_object_get(vr, "package_vulnerabilities");
	json_t *nc = json_object_get(vr, "not_covered");
	struct row *rows;
	size_t n = 0, cap = 0;
	const char *pid;
	json_t *ids;

	json_object_foreach(pv, pid, ids)
		cap += json_array_size(ids);
	rows = calloc(cap ? cap : 1, sizeof(*rows));
	if (!rows)
		abort();
	json_object_foreach(pv, pid, ids) {
		json_t *p = json_object_get(pkgs, pid), *id;
		size_t i;

		json_array_foreach(ids, i, id) {
			json_t *v = json_object_get(vulns, json_string_value(id));

			if (!p || !v)
				continue;
			rows[n].pkg = str(p, "name");
			rows[n].version = str(p, "version");
			rows[n].vuln = str(v, "name");
			rows[n].severity = str(v, "normalized_severity");
			rows[n].fixed = str(v, "fixed_in_version");
			rows[n].rank = sev_rank(rows[n].severity);
			n++;
		}
	}
	qsort(rows, n, sizeof(*rows), row_cmp);
	fprintf(f, "%s (%s): %zu packages, %zu vulnerabilities\n", image,
		str(vr, "manifest_hash"), json_object_size(pkgs), n);
	if (n)
		fprintf(f, "%-28s %-28s %-20s %-10s %s\n", "PACKAGE", "VERSION",
			"VULNERABILITY", "SEVERITY", "FIXED IN");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%-28s %-28s %-20s %-10s %s\n", rows[i].pkg,
			rows[i].version, rows[i].vuln, rows[i].severity,
			*rows[i].fixed ? rows[i].fixed : "(no fix yet)");
	if (json_array_size(nc))
		fprintf(f, "not covered: %zu packages whose distribution no updater "
			"of the server covers\n", json_array_size(nc));
	free(rows);
}

int cmd_report(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "server", required_argument, NULL, 's' },
		{ "format", required_argument, NULL, 'f' },
		{ "psk", required_argument, NULL, 'K' },
		CLR_CLI_SOURCE_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct clr_source_opts so = { 0 };
	struct clr_client c = { 0 };
	const char *format = "text";
	json_t *vr = NULL;
	int ch;

	c.server = getenv("CLAIR_ADDR");
	c.psk = getenv("CLARION_PSK");
	if (c.psk && !*c.psk)
		c.psk = NULL;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (clr_cli_source_option(&so, ch, optarg))
			continue;
		switch (ch) {
		case 's': c.server = optarg; break;
		case 'f': format = optarg; break;
		case 'K': c.psk = optarg; break;
		default:
			fputs(cmd_report_usage, stderr);
			return CLR_EXIT_ERROR;
		}
	}
	if (optind + 1 != argc) {
		fputs(cmd_report_usage, stderr);
		return CLR_EXIT_ERROR;
	}
	if (strcmp(format, "text") && strcmp(format, "json"))
		return clr_cli_fail("report", "unknown --format '%s' (text, json)", format);
	if (clr_cli_source_check("report", &so))
		return CLR_EXIT_ERROR;
	if (c.server && !*c.server)
		c.server = NULL;
	/* Klar's CLAIR_ADDR may be host:port without a scheme. */
	char url[1024];
	if (c.server && !strstr(c.server, "://")) {
		snprintf(url, sizeof(url), "http://%s", c.server);
		c.server = url;
	}
	if (clr_client_report(&vr, &c, argv[optind], &so))
		return clr_cli_fail("report", "%s", clr_error_msg());
	if (!strcmp(format, "json")) {
		json_dumpf(vr, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		fputc('\n', stdout);
	} else {
		print_text(stdout, argv[optind], vr);
	}
	json_decref(vr);
	return CLR_EXIT_OK;
}
