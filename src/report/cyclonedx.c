/*
 * cyclonedx.c - the image as a CycloneDX 1.5 JSON BOM with its
 * vulnerabilities (a VEX-carrying SBOM, as Trivy and Grype write them).
 *
 *   metadata.component   the image (type "container"), named as given
 *   components[]         the operating system, then every package with
 *                        its package URL (report.c has the purl rules)
 *   dependencies[]       the image depends on each of them
 *   vulnerabilities[]    one per vulnerability id: ratings (the
 *                        normalised severity, by the updater), advisories
 *                        (its links), affects (each package's bom-ref with
 *                        the installed version "affected" and the fixed
 *                        one "unaffected"), and a recommendation
 *
 * serialNumber must be a UUID that differs between BOMs; it is derived
 * from the manifest, the image name and the timestamp, so a re-run at the
 * same instant (or with SOURCE_DATE_EPOCH, for golden files) is identical.
 */
#include "report/report.h"

#include <string.h>

#include "feeds/osv.h"
#include "util/alloc.h"
#include "util/sha256.h"

/* CycloneDX 1.5 severities: critical high medium low info none unknown */
static const char *cdx_severity(enum clr_severity s)
{
	switch (s) {
	case CLR_SEV_CRITICAL: return "critical";
	case CLR_SEV_HIGH: return "high";
	case CLR_SEV_MEDIUM: return "medium";
	case CLR_SEV_LOW: return "low";
	case CLR_SEV_NEGLIGIBLE: return "info";
	default: return "unknown";
	}
}

static void serial(char out[46], const struct clr_report *r, const char *ts)
{
	uint8_t h[CLR_SHA256_LEN];
	struct clr_sha256 c;
	size_t k = 0;

	if (clr_sha256_init(&c) ||
	    clr_sha256_update(&c, r->manifest_hash, strlen(r->manifest_hash) + 1) ||
	    clr_sha256_update(&c, r->image, strlen(r->image) + 1) ||
	    clr_sha256_update(&c, ts, strlen(ts)) || clr_sha256_final(&c, h))
		memset(h, 0, sizeof(h));
	clr_sha256_release(&c);
	h[6] = (uint8_t)((h[6] & 0x0f) | 0x50);  /* version 5: name-based */
	h[8] = (uint8_t)((h[8] & 0x3f) | 0x80);  /* RFC 4122 variant */
	k = (size_t)snprintf(out, 46, "urn:uuid:");
	for (size_t i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[k++] = '-';
		k += (size_t)snprintf(out + k, 46 - k, "%02x", h[i]);
	}
}

static json_t *prop(const char *name, const char *value)
{
	return json_pack("{s:s, s:s}", "name", name, "value", value);
}

static json_t *component(const struct clr_report_package *p)
{
	json_t *c = json_pack("{s:s, s:s, s:s, s:s}", "bom-ref", p->bom_ref,
			      "type", "library", "name", p->name, "version", p->version);
	json_t *props = json_array();

	if (*p->purl)
		json_object_set_new(c, "purl", json_string(p->purl));
	if (*p->arch)
		json_array_append_new(props, prop("clarion:arch", p->arch));
	if (*p->source) {
		json_array_append_new(props, prop("clarion:source_name", p->source));
		if (*p->source_version)
			json_array_append_new(props, prop("clarion:source_version",
							  p->source_version));
	}
	if (*p->package_db)
		json_array_append_new(props, prop("clarion:package_db", p->package_db));
	if (json_array_size(props))
		json_object_set_new(c, "properties", props);
	else
		json_decref(props);
	return c;
}

/* The vulnerability entry of finding x, new or the one already made for
 * its id (whose affects x joins). */
static void add_vuln(json_t *vulns, const struct clr_report_finding *x, size_t n)
{
	json_t *v = NULL, *affects, *advisories, *versions;
	size_t i;
	const char *l;

	json_array_foreach(vulns, i, v)
		if (!strcmp(json_string_value(json_object_get(v, "id")), x->vuln))
			break;
	if (i == json_array_size(vulns)) {
		char ref[32];
		char *link = clr_strndup(x->links, strcspn(x->links, " "));

		snprintf(ref, sizeof(ref), "vulnerability-%zu", n + 1);
		v = json_pack("{s:s, s:s, s:{s:s}, s:[{s:{s:s}, s:s, s:s}]}",
			      "bom-ref", ref, "id", x->vuln, "source", "name", x->updater,
			      "ratings", "source", "name", x->updater,
			      "severity", cdx_severity(x->sev), "method", "other");
		if (*link)
			json_object_set_new(json_object_get(v, "source"), "url",
					    json_string(link));
		free(link);
		/* NVD's CVSS v3.x rating beside the feed's own */
		if (x->cvss_score >= 0)
			json_array_append_new(json_object_get(v, "ratings"), json_pack(
				"{s:{s:s}, s:f, s:s, s:s, s:s}", "source", "name", "NVD",
				"score", x->cvss_score / 10.0, "severity",
				cdx_severity(clr_cvss_severity(x->cvss_score, 3)),
				"method", strncmp(x->cvss_vector, "CVSS:3.0/", 9) ?
				"CVSSv31" : "CVSSv3", "vector", x->cvss_vector));
		if (*x->description)
			json_object_set_new(v, "description", json_string(x->description));
		advisories = json_array();
		for (l = x->links; *l;) {
			size_t k = strcspn(l, " ");

			if (k) {
				char *u = clr_strndup(l, k);

				json_array_append_new(advisories, json_pack("{s:s}", "url", u));
				free(u);
			}
			l += k;
			l += strspn(l, " ");
		}
		if (json_array_size(advisories))
			json_object_set_new(v, "advisories", advisories);
		else
			json_decref(advisories);
		json_object_set_new(v, "affects", json_array());
		json_array_append_new(vulns, v);
	}
	affects = json_object_get(v, "affects");
	versions = json_pack("[{s:s, s:s}]", "version", x->installed, "status", "affected");
	if (*x->fixed) {
		char *rec;

		json_array_append_new(versions, json_pack("{s:s, s:s}", "version",
				      x->fixed, "status", "unaffected"));
		if (asprintf(&rec, "Upgrade %s to %s or later.", x->package, x->fixed) < 0)
			abort();
		if (!json_object_get(v, "recommendation"))
			json_object_set_new(v, "recommendation", json_string(rec));
		free(rec);
	}
	json_array_append_new(affects, json_pack("{s:s, s:o}", "ref", x->pkg->bom_ref,
						  "versions", versions));
}

int clr_report_cyclonedx(FILE *f, const struct clr_report *r,
			 const struct clr_report_meta *m)
{
	json_t *bom, *comps = json_array(), *deps = json_array(), *vulns = json_array();
	json_t *image;
	char ts[32] = "1970-01-01T00:00:00Z", sn[46];
	time_t t = m ? m->timestamp : 0;
	struct tm tm;
	size_t i;

	if (gmtime_r(&t, &tm))
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	serial(sn, r, ts);
	image = json_pack("{s:s, s:s, s:s, s:s, s:[o]}", "bom-ref", "image",
			  "type", "container", "name", r->image,
			  "version", r->manifest_hash, "properties",
			  prop("clarion:manifest_hash", r->manifest_hash));
	if (r->dist)
		json_array_append_new(comps, json_pack("{s:s, s:s, s:s, s:s, s:s}",
			"bom-ref", "operating-system", "type", "operating-system",
			"name", r->dist_did, "version", r->dist_version_id,
			"description", r->dist_pretty));
	for (i = 0; i < r->packages.len; i++)
		json_array_append_new(comps, component(
			CLR_VEC_AT(&r->packages, struct clr_report_package, i)));
	json_array_foreach(comps, i, bom)
		json_array_append(deps, json_object_get(bom, "bom-ref"));
	deps = json_pack("[{s:s, s:o}]", "ref", "image", "dependsOn", deps);
	for (i = 0; i < r->findings.len; i++)
		add_vuln(vulns, CLR_VEC_AT(&r->findings, struct clr_report_finding, i),
			 json_array_size(vulns));

	bom = json_pack("{s:s, s:s, s:s, s:s, s:i, s:{s:s, s:{s:[{s:s, s:s, s:s}]},"
			" s:o}, s:o, s:o, s:o}",
			"$schema", "http://cyclonedx.org/schema/bom-1.5.schema.json",
			"bomFormat", "CycloneDX", "specVersion", "1.5",
			"serialNumber", sn, "version", 1,
			"metadata", "timestamp", ts, "tools", "components",
			"type", "application", "name", "clarion", "version",
			m && m->tool_version ? m->tool_version : "",
			"component", image, "components", comps,
			"dependencies", deps, "vulnerabilities", vulns);
	return clr_report_dump(f, bom);
}
