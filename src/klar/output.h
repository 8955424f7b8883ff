/*
 * output.h - Klar 2.4.0's three output formats, byte for byte, from a list
 * of Clair API v1-shaped vulnerabilities.
 *
 * Klar (optiopay/klar v2.4.0, reference/klar.md §6) prints, after
 * "Analysing N layers" and "Got results from Clair API v1":
 *
 *   standard  "Whitelisted N vulnerabilities" (only when N >= 1),
 *             "Found N vulnerabilities", "Sev: n" per known severity with
 *             n >= 1, an empty line, then one six-line block per shown
 *             vulnerability (severity >= CLAIR_OUTPUT, low to high)
 *   table     the same head, then an olekukonko/tablewriter table
 *   json      one line {"LayerCount":N,"Vulnerabilities":{SEV:[...]}}
 *
 * Everything here is pure formatting: `clarion klar` renders what a Clair
 * server answered, and `clarion scan --format klar` renders a Clair v4
 * VulnerabilityReport converted with clr_klar_vulns_from_report().
 */
#ifndef CLR_KLAR_OUTPUT_H
#define CLR_KLAR_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "util/buf.h"

/* Clair v2's severities in Klar's order (its `priorities`). */
enum {
	CLR_KLAR_SEV_UNKNOWN,
	CLR_KLAR_SEV_NEGLIGIBLE,
	CLR_KLAR_SEV_LOW,
	CLR_KLAR_SEV_MEDIUM,
	CLR_KLAR_SEV_HIGH,
	CLR_KLAR_SEV_CRITICAL,
	CLR_KLAR_SEV_DEFCON1,
	CLR_KLAR_NSEV
};

/* "Unknown" ... "Defcon1". */
const char *clr_klar_severity_name(int sev);

/* The index of a severity spelled exactly as Clair v2 does, or -1 (Klar
 * counts such a vulnerability in "Found N" but never shows or counts it). */
int clr_klar_severity_from_name(const char *s);

/* One vulnerability of one feature, as Klar keeps it (clair.Vulnerability
 * plus the feature's name and version).  Strings are never NULL. */
struct clr_klar_vuln {
	char *name;
	char *namespace_name;
	char *description;
	char *link;
	char *severity;        /* verbatim: may be outside the seven names */
	char *fixed_by;        /* "" when there is no fix */
	json_t *metadata;      /* an object passed through to JSON, or NULL */
	json_t *fixed_in;      /* an array passed through to JSON, or NULL */
	char *feature_name;
	char *feature_version;
};

/* A list in server order (feature order, then vulnerability order). */
struct clr_klar_vulns {
	struct clr_klar_vuln *items;
	size_t n, alloc;
};

#define CLR_KLAR_VULNS_INIT { NULL, 0, 0 }

/* Appends a vulnerability with copies of the strings (NULL -> "") and new
 * references to metadata and fixed_in; returns it. */
struct clr_klar_vuln *clr_klar_vulns_add(struct clr_klar_vulns *l,
					 const struct clr_klar_vuln *v);

void clr_klar_vulns_release(struct clr_klar_vulns *l);

/* Converts a Clair v4 VulnerabilityReport (src/matcher output: packages,
 * vulnerabilities, package_vulnerabilities) into the v1 shape: one entry
 * per (package, vulnerability), packages in id order, each package's list
 * in the report's order.  Name, Description, the first of `links`,
 * normalized_severity, fixed_in_version; NamespaceName "did:version_id"
 * from the distribution (else the repository name).  CLR_EINVALID when
 * the report is not an object. */
int clr_klar_vulns_from_report(struct clr_klar_vulns *out, json_t *report);

enum clr_klar_format {
	CLR_KLAR_FORMAT_STANDARD,
	CLR_KLAR_FORMAT_JSON,
	CLR_KLAR_FORMAT_TABLE,
};

struct clr_klar_render_opts {
	enum clr_klar_format format;
	int min_severity;        /* CLAIR_OUTPUT: a CLR_KLAR_SEV_* */
	int ignore_unfixed;      /* IGNORE_UNFIXED: unfixed ones are not counted */
	size_t layer_count;      /* JSON's LayerCount (manifest layers) */
	size_t whitelisted;      /* how many the whitelist removed */
};

/* Appends the output described above to out (for standard and table, from
 * "Whitelisted"/"Found" on; for json, the one line) and sets *counted to
 * the number compared with CLAIR_THRESHOLD.  vs is the list after the
 * whitelist.  CLR_ELIMIT when out's cap is reached. */
int clr_klar_render(struct clr_buf *out, const struct clr_klar_vulns *vs,
		    const struct clr_klar_render_opts *o, size_t *counted);

/* Appends s as Go's encoding/json writes a string (quotes, \u003c for <,
 * > and &, \u2028, \ufffd for invalid UTF-8).  Exposed for the Clair
 * client, which builds its request bodies the way Go does, and for the
 * server's API v1 (src/http/v1.c), which answers the way Clair v2's Go
 * encoder did. */
int clr_klar_json_string(struct clr_buf *out, const char *s);

/* Appends v as Go's encoding/json writes it, strings as
 * clr_klar_json_string().  decoded: v is what Go decoded into interface{}
 * (map keys sorted, every number a float64, as Klar re-encodes Clair's
 * Metadata); otherwise v stands for Go structs, whose fields are written in
 * the order the object was built and integers as integers (the server's
 * API v1). */
int clr_klar_go_json(struct clr_buf *out, json_t *v, bool decoded);

/* The value of key in o, matched case-insensitively as Go's decoder
 * matches struct fields (the last matching key wins); borrowed. */
json_t *clr_klar_json_fold_get(json_t *o, const char *key);

/* Appends a float64 as encoding/json writes it: strconv's shortest form,
 * 'f' between 1e-6 and 1e21, else 'e' with the exponent's leading zero
 * dropped ("1e+21", "2e-7"), "-0" for negative zero. */
int clr_klar_json_number(struct clr_buf *out, double f);

/* The display width olekukonko/tablewriter gives a string: ANSI colour
 * sequences count 0, East Asian wide characters 2.  For tests. */
size_t clr_klar_display_width(const char *s);

#endif
