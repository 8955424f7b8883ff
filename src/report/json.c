/*
 * json.c - findings as clarion's own JSON (docs/scanning.md, "JSON";
 * tests/fixtures/schemas/clarion-scan.schema.json is its JSON Schema).
 *
 * Stable: fields may be added, never renamed or removed; "schema" names
 * the version of this layout.  Keys keep the order written here.
 */
#include "report/report.h"

static json_t *distribution(const struct clr_report *r)
{
	json_t *d = r->dist;

	if (!d)
		return json_null();
#define S(k) json_string_value(json_object_get(d, k)) ? \
	json_string_value(json_object_get(d, k)) : ""
	return json_pack("{s:s, s:s, s:s, s:s, s:s}",
			 "did", S("did"), "name", S("name"),
			 "version_id", S("version_id"),
			 "version_code_name", S("version_code_name"),
			 "pretty_name", S("pretty_name"));
#undef S
}

int clr_report_json(FILE *f, const struct clr_report *r)
{
	json_t *o = json_object(), *pkgs = json_array(), *arr = json_array();
	json_t *nc = json_array(), *ign = json_array(), *sum = json_object();
	size_t i;

	for (i = 0; i < r->packages.len; i++) {
		const struct clr_report_package *p =
			CLR_VEC_AT(&r->packages, struct clr_report_package, i);

		json_array_append_new(pkgs, json_pack(
			"{s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
			"name", p->name, "version", p->version, "arch", p->arch,
			"source", p->source, "source_version", p->source_version,
			"package_db", p->package_db, "purl", p->purl));
	}
	for (i = 0; i < r->findings.len; i++) {
		const struct clr_report_finding *x =
			CLR_VEC_AT(&r->findings, struct clr_report_finding, i);

		json_t *fo = json_pack(
			"{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
			"package", x->package, "installed", x->installed,
			"fixed", x->fixed, "vulnerability", x->vuln,
			"severity", clr_severity_name(x->sev),
			"severity_vendor", x->vendor_severity, "title", x->title,
			"links", x->links, "updater", x->updater,
			"purl", x->pkg->purl);

		/* NVD's score beside the feed's severity, only when known */
		if (x->cvss_score >= 0)
			json_object_set_new(fo, "cvss", json_pack(
				"{s:s, s:f}", "vector", x->cvss_vector,
				"score", x->cvss_score / 10.0));
		json_array_append_new(arr, fo);
	}
	for (i = 0; i < r->uncovered.len; i++) {
		const struct clr_report_uncovered *u =
			CLR_VEC_AT(&r->uncovered, struct clr_report_uncovered, i);

		json_array_append_new(nc, json_pack("{s:s, s:s, s:s}",
			"package", u->pkg->name, "version", u->pkg->version,
			"distribution", u->dist));
	}
	for (i = 0; i < r->ignored.len; i++) {
		const struct clr_report_ignored *g =
			CLR_VEC_AT(&r->ignored, struct clr_report_ignored, i);

		json_array_append_new(ign, json_pack("{s:s, s:s, s:s}",
			"vulnerability", g->vuln, "package", g->package,
			"reason", g->reason));
	}
	for (i = 0; i < CLR_REPORT_NSEV; i++)
		if (r->shown_sev & (1u << i))
			json_object_set_new(sum, clr_severity_name((enum clr_severity)i),
					    json_integer((json_int_t)r->summary[i]));
	json_object_set_new(o, "schema", json_string("clarion-scan/1"));
	json_object_set_new(o, "image", json_string(r->image));
	json_object_set_new(o, "manifest_hash", json_string(r->manifest_hash));
	json_object_set_new(o, "distribution", distribution(r));
	json_object_set_new(o, "packages", pkgs);
	json_object_set_new(o, "findings", arr);
	json_object_set_new(o, "not_covered", nc);
	json_object_set_new(o, "ignored", ign);
	json_object_set_new(o, "summary", sum);
	return clr_report_dump(f, o);
}
