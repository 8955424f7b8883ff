/*
 * report.c - the findings model every output format reads (see report.h):
 * packages with their package URLs, the findings a policy lets through
 * (sorted, without duplicates, minus what the ignore file hides), and the
 * packages nobody covers.
 */
#include "report/report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "feeds/nvd.h"
#include "report/ignore.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/error.h"

static const char *jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

size_t clr_report_ucols(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static const char *keep(struct clr_report *r, char *s)
{
	CLR_VEC_PUSH(&r->strings, &s);
	return s;
}

/* ---- package URLs ----------------------------------------------------------- */

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && !strcmp(s + n - k, suffix);
}

/* The purl type of a package found in package database db, else of the
 * distribution: a dpkg database gives "deb" whatever os-release says. */
static const char *purl_type(const char *db, const char *did)
{
	static const char *const rpm_dids[] = { "rhel", "centos", "fedora",
		"almalinux", "rocky", "ol", "amzn", "photon", "sles", "opensuse-leap",
		"opensuse-tumbleweed", "mariner", "azurelinux", NULL };

	if (ends_with(db, "var/lib/dpkg/status") || strstr(db, "var/lib/dpkg/status.d/"))
		return "deb";
	if (ends_with(db, "lib/apk/db/installed"))
		return "apk";
	if (strstr(db, "var/lib/rpm/") || strstr(db, "usr/lib/sysimage/rpm/"))
		return "rpm";
	if (!strcmp(did, "debian") || !strcmp(did, "ubuntu"))
		return "deb";
	if (!strcmp(did, "alpine"))
		return "apk";
	for (size_t i = 0; rpm_dids[i]; i++)
		if (!strcmp(did, rpm_dids[i]))
			return "rpm";
	return NULL;
}

/* Appends s percent-encoded as the purl spec asks: everything but
 * ALPHA / DIGIT / "." / "-" / "_" / "~" is encoded, except that a ':'
 * stays (packageurl's reference implementations leave it), so Debian's
 * "1:2.3+dfsg" is "1:2.3%2Bdfsg". */
static void put_enc(struct clr_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr(".-_~:", c)) {
			clr_buf_addch(b, (char)c);
		} else {
			clr_buf_addch(b, '%');
			clr_buf_addch(b, hex[c >> 4]);
			clr_buf_addch(b, hex[c & 15]);
		}
	}
}

char *clr_report_purl(const struct clr_report *r, const struct clr_report_package *p)
{
	const char *did = r->dist_did ? r->dist_did : "";
	const char *type = purl_type(p->package_db, did), *ver = p->version;
	const char *ns = did;
	struct clr_buf b;
	char epoch[32] = "";
	char sep = '?';

	if (!type || !*p->name)
		return clr_strdup("");
	if (!*ns)
		ns = !strcmp(type, "deb") ? "debian" : !strcmp(type, "apk") ? "alpine" : "";
	if (!strcmp(ns, "rhel"))
		ns = "redhat";   /* the spec's name for Red Hat's namespace */
	if (!strcmp(type, "rpm")) {
		/* Clair writes E:V-R; a purl has the epoch as a qualifier */
		const char *colon = strchr(ver, ':');

		if (colon && colon > ver && (size_t)(colon - ver) < sizeof(epoch) &&
		    strspn(ver, "0123456789") == (size_t)(colon - ver)) {
			memcpy(epoch, ver, (size_t)(colon - ver));
			epoch[colon - ver] = 0;
			ver = colon + 1;
		}
	}
	clr_buf_init(&b, 1u << 20);
	clr_buf_addstr(&b, "pkg:");
	clr_buf_addstr(&b, type);
	clr_buf_addch(&b, '/');
	if (*ns) {
		put_enc(&b, ns);
		clr_buf_addch(&b, '/');
	}
	put_enc(&b, p->name);
	if (*ver) {
		clr_buf_addch(&b, '@');
		put_enc(&b, ver);
	}
	/* qualifiers sorted by key, as the canonical form wants */
	if (*p->arch) {
		clr_buf_addstr(&b, "?arch=");
		put_enc(&b, p->arch);
		sep = '&';
	}
	if (r->dist_version_id && *r->dist_version_id) {
		clr_buf_addch(&b, sep);
		clr_buf_addstr(&b, "distro=");
		if (strcmp(type, "apk")) {
			put_enc(&b, ns);
			clr_buf_addch(&b, '-');
		}
		put_enc(&b, r->dist_version_id);
		sep = '&';
	}
	if (*epoch) {
		clr_buf_addch(&b, sep);
		clr_buf_addstr(&b, "epoch=");
		clr_buf_addstr(&b, epoch);
	}
	return clr_buf_detach(&b, NULL);
}

/* ---- findings --------------------------------------------------------------- */

static int finding_cmp(const void *pa, const void *pb)
{
	const struct clr_report_finding *a = pa, *b = pb;
	int c;

	if (a->sev != b->sev)
		return a->sev > b->sev ? -1 : 1;
	if ((c = strcmp(a->package, b->package)))
		return c;
	if ((c = strcmp(a->installed, b->installed)))
		return c;
	if ((c = strcmp(a->fixed, b->fixed)))
		return c;
	if ((c = strcmp(a->vuln, b->vuln)))
		return c;
	return strcmp(a->title, b->title);
}

static bool same_finding(const struct clr_report_finding *a,
			 const struct clr_report_finding *b)
{
	return !strcmp(a->package, b->package) && !strcmp(a->vuln, b->vuln) &&
	       !strcmp(a->installed, b->installed) && !strcmp(a->fixed, b->fixed);
}

/* The name a user knows the distribution by. */
static const char *dist_label(struct clr_report *r, const char *pkg_id)
{
	json_t *env = json_array_get(json_object_get(
		json_object_get(r->vr, "environments"), pkg_id), 0);
	json_t *d = json_object_get(json_object_get(r->vr, "distributions"),
				    jstr(env, "distribution_id"));
	char *s;

	if (!d)
		return "no known distribution";
	if (*jstr(d, "pretty_name"))
		return jstr(d, "pretty_name");
	if (asprintf(&s, "%s %s", jstr(d, "did"), jstr(d, "version_id")) < 0)
		abort();
	return keep(r, s);
}

static const struct clr_report_package *find_package(const struct clr_report *r,
						     const char *id)
{
	for (size_t i = 0; i < r->packages.len; i++) {
		const struct clr_report_package *p =
			CLR_VEC_AT(&r->packages, struct clr_report_package, i);

		if (!strcmp(p->id, id))
			return p;
	}
	return NULL;
}

static void add_packages(struct clr_report *r)
{
	json_t *pkgs = json_object_get(r->vr, "packages");
	json_t *envs = json_object_get(r->vr, "environments");
	json_t *p;
	const char *id;

	json_object_foreach(pkgs, id, p) {
		json_t *src = json_object_get(p, "source");
		json_t *env = json_array_get(json_object_get(envs, id), 0);
		struct clr_report_package rp = {
			.id = id, .name = jstr(p, "name"), .version = jstr(p, "version"),
			.arch = jstr(p, "arch"), .source = jstr(src, "name"),
			.source_version = jstr(src, "version"),
			.package_db = jstr(env, "package_db"),
		};

		rp.purl = clr_report_purl(r, &rp);
		CLR_VEC_PUSH(&r->packages, &rp);
	}
	/* bom-refs must be unique: the same purl from two package databases
	 * gets its package id appended */
	for (size_t i = 0; i < r->packages.len; i++) {
		struct clr_report_package *q =
			CLR_VEC_AT(&r->packages, struct clr_report_package, i);
		bool dup = !*q->purl;

		for (size_t j = 0; j < i && !dup; j++)
			dup = !strcmp(CLR_VEC_AT(&r->packages, struct clr_report_package,
						 j)->purl, q->purl);
		if (!dup) {
			q->bom_ref = clr_strdup(q->purl);
		} else if (asprintf(&q->bom_ref, "%s#%s", *q->purl ? q->purl :
				    "package", q->id) < 0) {
			abort();
		}
	}
}

/* The first CVSS v3.x object the report's clair.cvss enrichment gives for
 * vulnerability id (claircore's shape: {type: [{id: [cvssData...]}]}). */
static void cvss_of(const struct clr_report *r, const char *id,
		    struct clr_report_finding *f)
{
	json_t *en = json_object_get(r->vr, "enrichments");
	json_t *map = json_array_get(json_object_get(en, CLR_NVD_ENRICHMENT_TYPE), 0);
	json_t *list = json_object_get(map, id ? id : ""), *o;
	size_t i;

	f->cvss_vector = "";
	f->cvss_score = -1;
	json_array_foreach(list, i, o) {
		const char *vec = json_string_value(json_object_get(o, "vectorString"));
		json_t *score = json_object_get(o, "baseScore");
		double d = json_number_value(score);

		if (!vec || strncmp(vec, "CVSS:3.", 7) || !json_is_number(score) ||
		    !(d >= 0 && d <= 10))
			continue;
		f->cvss_vector = vec;
		f->cvss_score = (int)lround(d * 10);
		return;
	}
}

static int collect(struct clr_report *r, const struct clr_report_policy *pol)
{
	json_t *vulns = json_object_get(r->vr, "vulnerabilities");
	json_t *pv = json_object_get(r->vr, "package_vulnerabilities");
	json_t *ids, *id;
	const char *pid;
	size_t i, out = 0;

	json_object_foreach(pv, pid, ids) {
		const struct clr_report_package *p = find_package(r, pid);

		if (!p)
			continue;
		json_array_foreach(ids, i, id) {
			json_t *v = json_object_get(vulns, json_string_value(id));
			struct clr_report_finding f = { .pkg = p };
			const struct clr_ignore_entry *e;

			if (!v)
				continue;
			if (clr_severity_from_name(&f.sev, jstr(v, "normalized_severity")))
				f.sev = CLR_SEV_UNKNOWN;
			f.fixed = jstr(v, "fixed_in_version");
			if (!(r->shown_sev & (1u << f.sev)) ||
			    (pol->ignore_unfixed && !*f.fixed))
				continue;
			f.package = p->name;
			f.installed = p->version;
			f.vuln = jstr(v, "name");
			if (pol->ignore && (e = clr_ignore_match(pol->ignore, r->image,
					f.vuln, p->name, p->source, pol->now))) {
				struct clr_report_ignored ig = { f.vuln, p->name, e->reason };

				CLR_VEC_PUSH(&r->ignored, &ig);
				continue;
			}
			f.vendor_severity = jstr(v, "severity");
			f.links = jstr(v, "links");
			f.updater = jstr(v, "updater");
			f.description = jstr(v, "description");
			f.title = clr_strndup(f.description, strcspn(f.description, "\r\n"));
			cvss_of(r, json_string_value(id), &f);
			CLR_VEC_PUSH(&r->findings, &f);
		}
	}
	clr_vec_sort(&r->findings, finding_cmp);
	for (i = 0; i < r->findings.len; i++) {
		struct clr_report_finding *f =
			CLR_VEC_AT(&r->findings, struct clr_report_finding, i);

		if (out && same_finding(CLR_VEC_AT(&r->findings,
				struct clr_report_finding, out - 1), f)) {
			free(f->title);
			continue;
		}
		*CLR_VEC_AT(&r->findings, struct clr_report_finding, out++) = *f;
		r->summary[f->sev]++;
	}
	clr_vec_truncate(&r->findings, out);

	json_array_foreach(json_object_get(r->vr, "not_covered"), i, id) {
		struct clr_report_uncovered u = {
			.pkg = find_package(r, json_string_value(id)),
		};

		if (!u.pkg)
			continue;
		u.dist = dist_label(r, u.pkg->id);
		CLR_VEC_PUSH(&r->uncovered, &u);
	}
	return 0;
}

int clr_report_build(struct clr_report *r, json_t *vr, const char *image,
		     const struct clr_report_policy *policy)
{
	static const struct clr_report_policy none = { .severities = 0 };
	const struct clr_report_policy *pol = policy ? policy : &none;

	memset(r, 0, sizeof(*r));
	clr_vec_init(&r->packages, sizeof(struct clr_report_package));
	clr_vec_init(&r->findings, sizeof(struct clr_report_finding));
	clr_vec_init(&r->uncovered, sizeof(struct clr_report_uncovered));
	clr_vec_init(&r->ignored, sizeof(struct clr_report_ignored));
	clr_vec_init(&r->strings, sizeof(char *));
	if (!json_is_object(vr) || !json_is_object(json_object_get(vr, "packages")))
		return clr_error_set(CLR_EINVALID, "not a vulnerability report");
	r->vr = json_incref(vr);
	r->image = image;
	r->manifest_hash = jstr(vr, "manifest_hash");
	r->shown_sev = pol->severities ? pol->severities : (1u << CLR_REPORT_NSEV) - 1;
	/* an image has one distribution (coalesce keeps one) */
	r->dist = json_object_iter_value(json_object_iter(
		json_object_get(vr, "distributions")));
	if (r->dist) {
		r->dist_did = jstr(r->dist, "did");
		r->dist_version_id = jstr(r->dist, "version_id");
		r->dist_pretty = jstr(r->dist, "pretty_name");
	}
	add_packages(r);
	return collect(r, pol);
}

void clr_report_release(struct clr_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->packages.len; i++) {
		struct clr_report_package *p =
			CLR_VEC_AT(&r->packages, struct clr_report_package, i);

		free(p->purl);
		free(p->bom_ref);
	}
	for (size_t i = 0; i < r->findings.len; i++)
		free(CLR_VEC_AT(&r->findings, struct clr_report_finding, i)->title);
	for (size_t i = 0; i < r->strings.len; i++)
		free(*CLR_VEC_AT(&r->strings, char *, i));
	clr_vec_release(&r->packages);
	clr_vec_release(&r->findings);
	clr_vec_release(&r->uncovered);
	clr_vec_release(&r->ignored);
	clr_vec_release(&r->strings);
	json_decref(r->vr);
	r->vr = NULL;
}

bool clr_report_worst(const struct clr_report *r, enum clr_severity *out)
{
	for (int s = CLR_REPORT_NSEV - 1; s >= 0; s--) {
		if (r->summary[s]) {
			*out = (enum clr_severity)s;
			return true;
		}
	}
	return false;
}

int clr_report_dump(FILE *f, json_t *j)
{
	/* 15 digits: a CVSS score of 9.8 is written 9.8, not as the 17
	 * digits of the nearest double (9.8000000000000007) */
	int rc = json_dumpf(j, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
			    JSON_REAL_PRECISION(15));

	json_decref(j);
	if (rc || fputc('\n', f) == EOF || ferror(f))
		return clr_error_set(CLR_EIO, "writing the report failed");
	return 0;
}
