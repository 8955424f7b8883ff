/*
 * sarif.c - findings as SARIF 2.1.0, the format GitHub code scanning
 * uploads (`github/codeql-action/upload-sarif`).
 *
 * One run; one rule per vulnerability (a rule is what GitHub lists as an
 * alert type: its help carries the description and links, its
 * `security-severity` the number GitHub turns into Critical/High/Medium/
 * Low), one result per finding.  A finding in an image has no line in the
 * repository: GitHub still wants a physical location, so each result
 * points at line 1 of the package database that listed the package
 * (var/lib/dpkg/status) relative to ROOTPATH, the image's root, as other
 * container scanners do; the image itself is named in the run's
 * properties and in every message.
 */
#include "report/report.h"

#include <string.h>

#include "util/alloc.h"

/* GitHub reads properties.security-severity: >= 9.0 critical, 7.0-8.9
 * high, 4.0-6.9 medium, 0.1-3.9 low. */
static const char *security_severity(enum clr_severity s)
{
	switch (s) {
	case CLR_SEV_CRITICAL: return "9.5";
	case CLR_SEV_HIGH: return "8.0";
	case CLR_SEV_MEDIUM: return "5.5";
	case CLR_SEV_LOW: return "2.0";
	case CLR_SEV_NEGLIGIBLE: return "0.5";
	default: return NULL;  /* Unknown: no number to give */
	}
}

static const char *level(enum clr_severity s)
{
	switch (s) {
	case CLR_SEV_CRITICAL:
	case CLR_SEV_HIGH: return "error";
	case CLR_SEV_LOW:
	case CLR_SEV_NEGLIGIBLE: return "note";
	default: return "warning";
	}
}

static char *first_link(const char *links)
{
	return clr_strndup(links, strcspn(links, " \t\r\n"));
}

static json_t *rule(const struct clr_report_finding *x, enum clr_severity worst)
{
	char *link = first_link(x->links), *md;
	const char *sec = security_severity(worst);
	char score[24];
	json_t *props, *r;

	/* A feed without a severity: NVD's CVSS score when there is one
	 * (GitHub ranks alerts by the number) */
	if (!sec && x->cvss_score >= 0) {
		snprintf(score, sizeof(score), "%d.%d", x->cvss_score / 10,
			 x->cvss_score % 10);
		sec = score;
	}

	if (asprintf(&md, "**Vulnerability %s**\n\n| Severity | Package | Fixed "
		     "Version | Link |\n| --- | --- | --- | --- |\n| %s | %s | %s | %s |"
		     "\n\n%s", x->vuln, clr_severity_name(worst), x->package,
		     *x->fixed ? x->fixed : "(unfixed)", link,
		     *x->description ? x->description : x->vuln) < 0)
		abort();
	props = json_pack("{s:[s, s, s], s:s}", "tags", "vulnerability",
			  "security", clr_severity_name(worst), "precision", "very-high");
	if (sec)
		json_object_set_new(props, "security-severity", json_string(sec));
	r = json_pack("{s:s, s:s, s:{s:s}, s:{s:s}, s:{s:s, s:s}, s:o}",
		      "id", x->vuln, "name", "OsPackageVulnerability",
		      "shortDescription", "text", *x->title ? x->title : x->vuln,
		      "fullDescription", "text",
		      *x->description ? x->description : x->vuln,
		      "help", "text", md, "markdown", md, "properties", props);
	if (*link)
		json_object_set_new(r, "helpUri", json_string(link));
	free(link);
	free(md);
	return r;
}

int clr_report_sarif(FILE *f, const struct clr_report *r,
		     const struct clr_report_meta *m)
{
	json_t *rules = json_array(), *results = json_array(), *run, *log;
	size_t n = r->findings.len, *rule_of = clr_calloc(n ? n : 1, sizeof(size_t));
	size_t nrules = 0;

	/* rules in order of first appearance (findings are most severe
	 * first, so each rule's first finding has its worst severity) */
	for (size_t i = 0; i < n; i++) {
		const struct clr_report_finding *x =
			CLR_VEC_AT(&r->findings, struct clr_report_finding, i);
		size_t j;

		for (j = 0; j < i; j++)
			if (!strcmp(CLR_VEC_AT(&r->findings, struct clr_report_finding,
					       j)->vuln, x->vuln))
				break;
		if (j < i) {
			rule_of[i] = rule_of[j];
			continue;
		}
		rule_of[i] = nrules++;
		json_array_append_new(rules, rule(x, x->sev));
	}
	for (size_t i = 0; i < n; i++) {
		const struct clr_report_finding *x =
			CLR_VEC_AT(&r->findings, struct clr_report_finding, i);
		const char *db = *x->pkg->package_db ? x->pkg->package_db : "/";
		char *link = first_link(x->links), *msg;

		if (asprintf(&msg, "Image: %s\nPackage: %s\nInstalled Version: %s\n"
			     "Vulnerability: %s\nSeverity: %s\nFixed Version: %s%s%s",
			     r->image, x->package, x->installed, x->vuln,
			     clr_severity_name(x->sev), *x->fixed ? x->fixed : "(unfixed)",
			     *link ? "\nLink: " : "", link) < 0)
			abort();
		json_array_append_new(results, json_pack(
			"{s:s, s:I, s:s, s:{s:s}, s:[{s:{s:{s:s, s:s}, s:{s:i, s:i, s:i, s:i}},"
			" s:{s:s}}]}",
			"ruleId", x->vuln, "ruleIndex", (json_int_t)rule_of[i],
			"level", level(x->sev), "message", "text", msg,
			"locations", "physicalLocation", "artifactLocation",
			"uri", db[0] == '/' && db[1] ? db + 1 : db, "uriBaseId", "ROOTPATH",
			"region", "startLine", 1, "startColumn", 1, "endLine", 1,
			"endColumn", 1, "message", "text", *x->pkg->purl ? x->pkg->purl :
			x->package));
		free(link);
		free(msg);
	}
	free(rule_of);
	run = json_pack("{s:{s:{s:s, s:s, s:s, s:o}}, s:o, s:s, s:{s:{s:s}},"
			" s:{s:s, s:s}}",
			"tool", "driver", "name", "clarion", "fullName",
			"clarion container image vulnerability scanner",
			"version", m && m->tool_version ? m->tool_version : "",
			"rules", rules, "results", results, "columnKind", "utf16CodeUnits",
			"originalUriBaseIds", "ROOTPATH", "uri", "file:///",
			"properties", "imageName", r->image, "manifestHash",
			r->manifest_hash);
	log = json_pack("{s:s, s:s, s:[o]}", "$schema",
			"https://json.schemastore.org/sarif-2.1.0.json", "version", "2.1.0",
			"runs", run);
	return clr_report_dump(f, log);
}
