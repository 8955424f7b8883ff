/*
 * nvd.c - NVD CVE API 2.0 pages to CVSS records, and those records back to
 * what Clair shows (see nvd.h).
 *
 * A page is a JSON document of a few MiB read whole under a cap (jansson
 * builds the tree; a page of 2,000 CVEs is ~15 MiB, far below the cap).
 * Everything that goes into a record's `affected` text is checked to a
 * narrow alphabet first (vectors, severity words), so the text can be
 * written with printf and read back without surprises.
 */
#include "feeds/nvd.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "feeds/osv.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/error.h"

/* A metric picked from one of the cvssMetric lists. */
struct pick {
	const char *vector, *severity;
	int score, exploitability, impact;
};

static int bad(const char *where, size_t i, const char *path,
	       const char *what)
{
	return clr_error_set(CLR_EINVALID, "%s: vulnerabilities[%zu]%s: %s",
			     where, i, path, what);
}

/* A score in tenths; -1 when absent (null or missing) and optional. */
static int tenths(json_t *n, int *out, bool required)
{
	double d;

	*out = -1;
	if (!n || json_is_null(n))
		return required ? -1 : 0;
	if (!json_is_number(n))
		return -1;
	d = json_number_value(n);
	if (!(d >= 0 && d <= 10))   /* NaN fails too */
		return -1;
	*out = (int)lround(d * 10);
	return 0;
}

/* Vectors and severity words go into the record's JSON by printf: only
 * the characters they are made of. */
static bool word_ok(const char *s, const char *extra, size_t max)
{
	size_t n = strlen(s);

	if (!n || n > max)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr(extra, *s))
			return false;
	return true;
}

/* The first metric of list whose type is "Primary" (NVD's own; the
 * "Secondary" ones are the CNA's, which Clair does not use). */
static int pick_metric(json_t *list, bool v2, const char *where, size_t i,
		       const char *name, struct pick *out)
{
	char path[96];
	size_t k;
	json_t *m;

	if (!list || json_is_null(list))
		return 0;
	snprintf(path, sizeof(path), ".cve.metrics.%s", name);
	if (!json_is_array(list))
		return bad(where, i, path, "not an array");
	json_array_foreach(list, k, m) {
		json_t *data = json_object_get(m, "cvssData");
		json_t *sev;
		const char *type, *vec;

		snprintf(path, sizeof(path), ".cve.metrics.%s[%zu]", name, k);
		if (!json_is_object(m) || !json_is_object(data))
			return bad(where, i, path, "not an object with cvssData");
		type = json_string_value(json_object_get(m, "type"));
		if (!type || strcmp(type, "Primary"))
			continue;
		vec = json_string_value(json_object_get(data, "vectorString"));
		if (!vec || !word_ok(vec, ":/._-", 200))
			return bad(where, i, path, "cvssData.vectorString is "
				   "missing or not a CVSS vector");
		if (!v2 && strncmp(vec, "CVSS:3.", 7))
			return bad(where, i, path, "cvssData.vectorString is "
				   "not a CVSS 3.x vector");
		if (tenths(json_object_get(data, "baseScore"), &out->score, true))
			return bad(where, i, path, "cvssData.baseScore is "
				   "missing or not a number from 0 to 10");
		/* v2 has baseSeverity beside cvssData, v3 inside */
		sev = json_object_get(v2 ? m : data, "baseSeverity");
		out->severity = json_string_value(sev);
		if ((sev && !json_is_null(sev) && !out->severity) ||
		    (out->severity && !word_ok(out->severity, "_", 32)))
			return bad(where, i, path, "baseSeverity is not a word");
		if (!out->severity)
			out->severity = "";
		if (tenths(json_object_get(m, "exploitabilityScore"),
			   &out->exploitability, false) ||
		    tenths(json_object_get(m, "impactScore"), &out->impact,
			   false))
			return bad(where, i, path, "exploitabilityScore or "
				   "impactScore is not a number from 0 to 10");
		out->vector = vec;
		return 0;
	}
	return 0;
}

static bool cve_id_ok(const char *s)
{
	size_t d;

	if (strncmp(s, "CVE-", 4))
		return false;
	s += 4;
	if (strspn(s, "0123456789") != 4 || s[4] != '-')
		return false;
	s += 5;
	d = strspn(s, "0123456789");
	return d >= 4 && d <= 19 && !s[d];
}

static void put_score(struct clr_buf *b, const char *key, int t)
{
	if (t >= 0)
		clr_buf_printf(b, ",\"%s\":%d.%d", key, t / 10, t % 10);
}

static int one_cve(json_t *item, const char *where, size_t i,
		   const char *updater, struct clr_vuln_set *out,
		   size_t *skipped)
{
	json_t *cve = json_object_get(item, "cve"), *metrics;
	struct pick p3 = { NULL, NULL, -1, -1, -1 };
	struct pick p2 = { NULL, NULL, -1, -1, -1 };
	struct clr_buf aff = CLR_BUF_INIT(4096);
	const char *id, *status, *published;
	struct clr_vuln v;
	int err;

	if (!json_is_object(item) || !json_is_object(cve))
		return bad(where, i, "", "not an object with a cve object");
	id = json_string_value(json_object_get(cve, "id"));
	if (!id || !cve_id_ok(id))
		return bad(where, i, ".cve.id", "missing or not a CVE id");
	status = json_string_value(json_object_get(cve, "vulnStatus"));
	published = json_string_value(json_object_get(cve, "published"));
	if (status && !strcasecmp(status, "Rejected")) {
		if (skipped)
			(*skipped)++;
		return 0;
	}
	metrics = json_object_get(cve, "metrics");
	if (metrics && !json_is_null(metrics) && !json_is_object(metrics))
		return bad(where, i, ".cve.metrics", "not an object");
	/* 3.1 before 3.0, as claircore prefers */
	if ((err = pick_metric(json_object_get(metrics, "cvssMetricV31"), false,
			       where, i, "cvssMetricV31", &p3)))
		return err;
	if (!p3.vector &&
	    (err = pick_metric(json_object_get(metrics, "cvssMetricV30"), false,
			       where, i, "cvssMetricV30", &p3)))
		return err;
	if ((err = pick_metric(json_object_get(metrics, "cvssMetricV2"), true,
			       where, i, "cvssMetricV2", &p2)))
		return err;
	if (!p3.vector && !p2.vector) {
		if (skipped)
			(*skipped)++;
		return 0;
	}

	clr_buf_addch(&aff, '{');
	if (p3.vector) {
		clr_buf_printf(&aff, "\"v3\":{\"vector\":\"%s\"", p3.vector);
		put_score(&aff, "score", p3.score);
		clr_buf_printf(&aff, ",\"severity\":\"%s\"", p3.severity);
		put_score(&aff, "exploitability", p3.exploitability);
		put_score(&aff, "impact", p3.impact);
		clr_buf_addch(&aff, '}');
	}
	if (p2.vector) {
		clr_buf_printf(&aff, "%s\"v2\":{\"vector\":\"%s\"",
			       p3.vector ? "," : "", p2.vector);
		put_score(&aff, "score", p2.score);
		clr_buf_printf(&aff, ",\"severity\":\"%s\"}", p2.severity);
	}
	clr_buf_addch(&aff, '}');

	memset(&v, 0, sizeof(v));
	v.name = id;
	v.updater = updater;
	v.issued = published && strlen(published) < 64 ? published : "";
	v.severity = p3.vector ? p3.severity : p2.severity;
	v.normalized_severity = p3.vector ? clr_cvss_severity(p3.score, 3) :
				clr_cvss_severity(p2.score, 2);
	v.version_scheme = CLR_NVD_SCHEME;
	v.affected = clr_buf_str(&aff);
	clr_vuln_set_add(out, &v);
	clr_buf_release(&aff);
	return 0;
}

int clr_nvd_parse_json(json_t *root, const char *where, const char *updater,
		       struct clr_vuln_set *out, size_t *skipped)
{
	json_t *format, *version, *list, *item;
	size_t i;
	int err;

	if (!json_is_object(root))
		return clr_error_set(CLR_EINVALID, "%s: not a JSON object",
				     where);
	/* The API's pages say what they are; a page without the marks (a
	 * hand-made one) is read by its shape alone. */
	format = json_object_get(root, "format");
	version = json_object_get(root, "version");
	if ((format && (!json_is_string(format) ||
			strcmp(json_string_value(format), "NVD_CVE"))) ||
	    (version && (!json_is_string(version) ||
			 strncmp(json_string_value(version), "2.", 2))))
		return clr_error_set(CLR_EINVALID, "%s: not an NVD CVE API 2.0 "
				     "document (format NVD_CVE, version 2.0)",
				     where);
	list = json_object_get(root, "vulnerabilities");
	if (!json_is_array(list))
		return clr_error_set(CLR_EINVALID, "%s: no vulnerabilities "
				     "array", where);
	json_array_foreach(list, i, item)
		if ((err = one_cve(item, where, i, updater, out, skipped)))
			return err;
	return 0;
}

int clr_nvd_parse_buf(const char *data, size_t len, const char *where,
		      const char *updater, struct clr_vuln_set *out,
		      size_t *skipped)
{
	json_error_t je;
	json_t *root;
	int err;

	if (len > CLR_NVD_PAGE_MAX)
		return clr_error_set(CLR_ELIMIT, "%s: larger than %zu MiB", where,
				     CLR_NVD_PAGE_MAX >> 20);
	root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return clr_error_set(CLR_EINVALID, "%s: line %d: %s", where,
				     je.line, je.text);
	err = clr_nvd_parse_json(root, where, updater, out, skipped);
	json_decref(root);
	return err;
}

int clr_nvd_parse_file(const char *path, const char *updater,
		       struct clr_vuln_set *out, size_t *skipped)
{
	json_error_t je;
	struct stat st;
	json_t *root;
	int err;

	if (stat(path, &st))
		return clr_error_set(CLR_EIO, "%s: %s", path, strerror(errno));
	if ((uint64_t)st.st_size > CLR_NVD_PAGE_MAX)
		return clr_error_set(CLR_ELIMIT, "%s: larger than %zu MiB", path,
				     CLR_NVD_PAGE_MAX >> 20);
	root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return clr_error_set(CLR_EINVALID, "%s: line %d: %s", path,
				     je.line, je.text);
	err = clr_nvd_parse_json(root, path, updater, out, skipped);
	json_decref(root);
	return err;
}

bool clr_nvd_is_record(const struct clr_vuln *v)
{
	return v->version_scheme && !strcmp(v->version_scheme, CLR_NVD_SCHEME);
}

static const char *jstr0(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

static int jtenths(json_t *o, const char *k)
{
	int t;

	return tenths(json_object_get(o, k), &t, false) ? -1 : t;
}

int clr_nvd_cvss_from_record(struct clr_nvd_cvss *out, json_t **hold,
			     const struct clr_vuln *v)
{
	json_t *a, *v3, *v2;

	*hold = NULL;
	memset(out, 0, sizeof(*out));
	a = v->affected ? json_loads(v->affected, 0, NULL) : NULL;
	if (!json_is_object(a)) {
		json_decref(a);
		return clr_error_set(CLR_EINVALID, "%s: not an NVD CVSS record",
				     v->name ? v->name : "?");
	}
	v3 = json_object_get(a, "v3");
	v2 = json_object_get(a, "v2");
	out->id = v->name ? v->name : "";
	out->published = v->issued ? v->issued : "";
	out->v3_vector = jstr0(v3, "vector");
	out->v3_severity = jstr0(v3, "severity");
	out->v3_score = jtenths(v3, "score");
	out->v3_exploitability = jtenths(v3, "exploitability");
	out->v3_impact = jtenths(v3, "impact");
	out->v2_vector = jstr0(v2, "vector");
	out->v2_severity = jstr0(v2, "severity");
	out->v2_score = jtenths(v2, "score");
	*hold = a;
	return 0;
}

static json_t *score_json(int t)
{
	return json_real(t < 0 ? 0 : t / 10.0);
}

/* The value of metric key ("AV") in a CVSS vector, or NULL. */
static const char *metric_value(const char *vec, const char *key, char *buf,
				size_t n)
{
	size_t kl = strlen(key);

	for (const char *p = vec; p && *p; p = strchr(p, '/'), p = p ? p + 1 : p) {
		if (!strncmp(p, key, kl) && p[kl] == ':') {
			size_t l = strcspn(p + kl + 1, "/");

			if (!l || l >= n)
				return NULL;
			memcpy(buf, p + kl + 1, l);
			buf[l] = '\0';
			return buf;
		}
	}
	return NULL;
}

/* NVD's spelling of each v3 base metric's values (the CVSS v3.x JSON
 * schema's enums). */
static const struct v3metric {
	const char *key, *field;
	const char *map[4][2];
} v3metrics[] = {
	{ "AV", "attackVector", { { "N", "NETWORK" },
		{ "A", "ADJACENT_NETWORK" }, { "L", "LOCAL" },
		{ "P", "PHYSICAL" } } },
	{ "AC", "attackComplexity", { { "L", "LOW" }, { "H", "HIGH" },
		{ NULL, NULL }, { NULL, NULL } } },
	{ "PR", "privilegesRequired", { { "N", "NONE" }, { "L", "LOW" },
		{ "H", "HIGH" }, { NULL, NULL } } },
	{ "UI", "userInteraction", { { "N", "NONE" }, { "R", "REQUIRED" },
		{ NULL, NULL }, { NULL, NULL } } },
	{ "S", "scope", { { "U", "UNCHANGED" }, { "C", "CHANGED" },
		{ NULL, NULL }, { NULL, NULL } } },
	{ "C", "confidentialityImpact", { { "H", "HIGH" }, { "L", "LOW" },
		{ "N", "NONE" }, { NULL, NULL } } },
	{ "I", "integrityImpact", { { "H", "HIGH" }, { "L", "LOW" },
		{ "N", "NONE" }, { NULL, NULL } } },
	{ "A", "availabilityImpact", { { "H", "HIGH" }, { "L", "LOW" },
		{ "N", "NONE" }, { NULL, NULL } } },
};

json_t *clr_nvd_v3_object(const struct clr_nvd_cvss *c)
{
	json_t *o;
	char ver[8] = "", val[16];

	if (!c->v3_vector || strncmp(c->v3_vector, "CVSS:3.", 7))
		return NULL;
	snprintf(ver, sizeof(ver), "3.%c", c->v3_vector[7]);
	o = json_pack("{s:s, s:s}", "version", ver, "vectorString",
		      c->v3_vector);
	for (size_t i = 0; i < sizeof(v3metrics) / sizeof(v3metrics[0]); i++) {
		const struct v3metric *m = &v3metrics[i];
		const char *x = metric_value(c->v3_vector + 9, m->key, val,
					     sizeof(val));

		for (size_t k = 0; x && k < 4 && m->map[k][0]; k++)
			if (!strcmp(x, m->map[k][0]))
				json_object_set_new(o, m->field,
						    json_string(m->map[k][1]));
	}
	json_object_set_new(o, "baseScore", score_json(c->v3_score));
	json_object_set_new(o, "baseSeverity", json_string(c->v3_severity));
	return o;
}

json_t *clr_nvd_v1_metadata(const struct clr_nvd_cvss *c)
{
	json_t *nvd = json_object();
	const char *v3 = c->v3_vector;

	if (*c->v2_vector)
		json_object_set_new(nvd, "CVSSv2", json_pack(
			"{s:s, s:s, s:o}", "PublishedDateTime", c->published,
			"Vectors", c->v2_vector, "Score",
			score_json(c->v2_score)));
	if (*v3) {
		/* Clair v2 spelled the vector without its "CVSS:3.x/" */
		if (!strncmp(v3, "CVSS:", 5) && strchr(v3, '/'))
			v3 = strchr(v3, '/') + 1;
		json_object_set_new(nvd, "CVSSv3", json_pack(
			"{s:s, s:o, s:o, s:o}", "Vectors", v3,
			"Score", score_json(c->v3_score),
			"ExploitabilityScore",
			score_json(c->v3_exploitability),
			"ImpactScore", score_json(c->v3_impact)));
	}
	if (!json_object_size(nvd)) {
		json_decref(nvd);
		return NULL;
	}
	return json_pack("{s:o}", "NVD", nvd);
}

void clr_nvd_find_cves(const char *text,
		       void (*each)(void *arg, const char *id), void *arg)
{
	const char *p = text;

	if (!text)
		return;
	while ((p = strpbrk(p, "cC"))) {
		const char *q = p + 3;
		size_t d;
		char id[32];

		if (tolower((unsigned char)p[1]) != 'v' ||
		    tolower((unsigned char)p[2]) != 'e' ||
		    (q[0] != '-' && q[0] != '_') ||
		    strspn(q + 1, "0123456789") < 4 ||
		    (q[5] != '-' && q[5] != '_') ||
		    (d = strspn(q + 6, "0123456789")) < 4) {
			p++;
			continue;
		}
		if (d <= sizeof(id) - 10) {
			memcpy(id, "CVE-", 4);
			memcpy(id + 4, q + 1, 4);
			id[8] = '-';
			memcpy(id + 9, q + 6, d);
			id[9 + d] = '\0';
			each(arg, id);
		}
		p = q + 6 + d;
	}
}
