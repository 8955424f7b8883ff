/*
 * nvd.h - NVD's CVE API 2.0 JSON (format NVD_CVE, version 2.0): the CVSS
 * scores NVD gives each CVE, for Clair's "clair.cvss" enrichment and the
 * legacy API v1's Metadata.NVD (docs/feeds.md, "NVD").
 *
 * A page is {"format":"NVD_CVE","version":"2.0","vulnerabilities":[{"cve":
 * {"id", "published", "vulnStatus", "metrics": {"cvssMetricV31": [...],
 * "cvssMetricV30": [...], "cvssMetricV2": [...]}}}, ...]}.  Of each CVE
 * clarion keeps what claircore keeps (the CVSS v3.x data of NVD's own
 * "Primary" metric, 3.1 before 3.0; rejected CVEs skipped) plus the
 * Primary v2 vector and score that Clair v2's Metadata showed.
 *
 * The data travels as ordinary update operations of the "nvd" updater:
 * one record per CVE, marked by version_scheme CLR_NVD_SCHEME, whose
 * `affected` is the compact JSON below.  So fingerprints, "unchanged",
 * locks, status, retention and offline bundles work as for any feed, and
 * the matcher's index takes these records aside into a table keyed by CVE
 * id (src/matcher/index.c) instead of indexing them as vulnerabilities.
 *
 *   {"v3":{"vector":"CVSS:3.1/AV:N/...","score":9.8,"severity":"CRITICAL",
 *          "exploitability":3.9,"impact":5.9},
 *    "v2":{"vector":"AV:N/AC:L/Au:N/C:P/I:P/A:P","score":7.5,
 *          "severity":"HIGH"}}
 *
 * Scores are kept as tenths (integers): NVD gives one decimal, and a
 * number written from a double by jansson would read 9.8000000000000007.
 */
#ifndef CLR_FEEDS_NVD_H
#define CLR_FEEDS_NVD_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "updater/vuln.h"

/* The version_scheme that marks a record as NVD CVSS data. */
#define CLR_NVD_SCHEME "cvss"

/* One page is read whole; the API's pages (2,000 CVEs) are ~15 MiB, a
 * yearly feed ~100 MiB. */
#define CLR_NVD_PAGE_MAX ((size_t)512 << 20)

/* Clair's enrichment type for CVSS data (claircore enricher/cvss). */
#define CLR_NVD_ENRICHMENT_TYPE                                           \
	"message/vnd.clair.map.vulnerability; enricher=clair.cvss "       \
	"schema=https://csrc.nist.gov/schema/nvd/api/2.0/"                \
	"cve_api_json_2.0.schema"

/* One CVE's scores.  Strings are borrowed (never NULL; "" when absent);
 * scores are tenths, -1 when absent. */
struct clr_nvd_cvss {
	const char *id;             /* "CVE-2023-27314" */
	const char *published;      /* NVD's "2023-10-12T19:15:11.747" */
	const char *v3_vector;      /* "CVSS:3.1/AV:N/AC:L/..." */
	const char *v3_severity;    /* "CRITICAL", "HIGH", ... */
	int v3_score, v3_exploitability, v3_impact;
	const char *v2_vector;      /* "AV:N/AC:L/Au:N/C:P/I:P/A:P" */
	const char *v2_severity;    /* "HIGH", ... */
	int v2_score;
};

/*
 * Parses one page (a JSON document already loaded) into out: one record
 * per CVE that has a Primary v3.x or v2 metric, updater as given.
 * `where` names the page in messages.  CLR_EINVALID ("WHERE:
 * vulnerabilities[3].cve.metrics...: ...") for a document that is not an
 * NVD_CVE 2.0 page or has a field of the wrong type or range; out then
 * holds whatever was added before (discard it).  *skipped (may be NULL)
 * is increased by the CVEs with no usable score or rejected.
 */
int clr_nvd_parse_json(json_t *root, const char *where, const char *updater,
		       struct clr_vuln_set *out, size_t *skipped);

/* The same from bytes (the fuzz target) or from a file (at most
 * CLR_NVD_PAGE_MAX bytes, CLR_ELIMIT past it). */
int clr_nvd_parse_buf(const char *data, size_t len, const char *where,
		      const char *updater, struct clr_vuln_set *out,
		      size_t *skipped);
int clr_nvd_parse_file(const char *path, const char *updater,
		       struct clr_vuln_set *out, size_t *skipped);

/* Whether v is an NVD CVSS record (CLR_NVD_SCHEME). */
bool clr_nvd_is_record(const struct clr_vuln *v);

/* Reads an NVD record's `affected` back into *out; strings point into v
 * and into *hold (decref it when done).  CLR_EINVALID when the record is
 * not one this file wrote. */
int clr_nvd_cvss_from_record(struct clr_nvd_cvss *out, json_t **hold,
			     const struct clr_vuln *v);

/* The v3.x cvssData object as NVD publishes it (version, vectorString,
 * the eight base metrics spelled out, baseScore, baseSeverity), made from
 * the vector: what Clair's enrichment carries.  NULL without v3 data. */
json_t *clr_nvd_v3_object(const struct clr_nvd_cvss *c);

/* Clair v2's Vulnerability.Metadata: {"NVD": {"CVSSv2": {
 * "PublishedDateTime", "Vectors", "Score"}, "CVSSv3": {"Vectors",
 * "Score", "ExploitabilityScore", "ImpactScore"}}}, each part only when
 * known; Vectors without the "CVSS:3.x/" prefix, as Clair v2 wrote them.
 * NULL when neither is known. */
json_t *clr_nvd_v1_metadata(const struct clr_nvd_cvss *c);

/*
 * Finds the CVE ids in text as claircore does (its CVERegexp:
 * (?i:cve)[-_][0-9]{4}[-_][0-9]{4,}), calling each(arg, id) with the id
 * spelled canonically ("CVE-2023-1234") in a NUL-terminated buffer valid
 * for the call.  Ids longer than 31 characters are ignored.
 */
void clr_nvd_find_cves(const char *text,
		       void (*each)(void *arg, const char *id), void *arg);

#endif
