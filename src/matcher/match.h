/*
 * match.h - an IndexReport against the vulnerability index, giving a
 * Clair v4 VulnerabilityReport (reference/clair-api.md §1.4).
 *
 * The report is the IndexReport's fields plus
 *
 *   vulnerabilities          {id: Vulnerability}, every record that matched
 *   package_vulnerabilities  {package id: [vulnerability id, ...]}, each
 *                            list most severe first, then by name and id
 *   enrichments              Clair's clair.cvss enrichment when NVD data is
 *                            loaded: {CLR_NVD_ENRICHMENT_TYPE: [{vulnerability
 *                            id: [CVSS v3.x objects]}]}, else {}
 *   not_covered              clarion's extension: the ids of packages whose
 *                            distribution (or repository) no loaded updater
 *                            has any record for, so that "no
 *                            vulnerabilities" is never said of a package
 *                            nobody looked at; ordered like the packages
 *
 * A vulnerability's id is the first 16 hex digits of the record's content
 * hash (clr_vuln_hash): the same record has the same id in every report
 * and across index rebuilds.  The same input gives the same JSON text
 * (json_dumps with JSON_SORT_KEYS, or without: insertion order is
 * deterministic too).
 *
 * The rules per ecosystem are in docs/internals/matcher.md.
 */
#ifndef CLR_MATCHER_MATCH_H
#define CLR_MATCHER_MATCH_H

#include <jansson.h>

#include "matcher/index.h"

/* Matches index_report (borrowed, not modified) against ix and sets
 * *vuln_report to a new report owned by the caller.  CLR_EINVALID when
 * index_report is not an object with a packages object.
 *
 * The report is built for reading (dumping) and freeing: for speed it
 * shares values by reference count instead of copying them - the
 * IndexReport's members (packages, distributions, ...) and the
 * Vulnerability objects, which the index builds once and hands to every
 * report.  Do not modify a report's values in place; json_deep_copy()
 * the report (or the part) first.  Reports stay valid after
 * clr_vindex_free(ix). */
int clr_match(json_t **vuln_report, const struct clr_vindex *ix,
	      json_t *index_report);

/* Clair v2's Metadata ({"NVD": {"CVSSv2": ..., "CVSSv3": ...}},
 * clr_nvd_v1_metadata()) for a v4 Vulnerability object: the scores of the
 * CVE that is its name, else of the first CVE its links name (in id
 * order) that NVD scored.  A new reference, or NULL when there are none
 * (or ix is NULL). */
json_t *clr_match_nvd_metadata(const struct clr_vindex *ix, json_t *vuln);

#endif
