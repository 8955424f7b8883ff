/*
 * v4.c - Clair v4's HTTP API (reference/clair-api.md §1.2-1.4), with the
 * status codes and bodies Clair's code gives where its OpenAPI text says
 * otherwise (200 from vulnerability_report, 202 while no data is loaded,
 * 204 from a single DELETE, the array of deleted digests from a bulk one).
 *
 * Indexer routes (indexer, combo modes):
 *   POST   /indexer/api/v1/index_report            Manifest -> 201 IndexReport
 *   DELETE /indexer/api/v1/index_report            [digest...] -> 200 [deleted...]
 *   GET    /indexer/api/v1/index_report/{digest}   200 IndexReport, ETag; 304, 404
 *   DELETE /indexer/api/v1/index_report/{digest}   204 (also when unknown)
 *   GET    /indexer/api/v1/index_state             200 {"state"}, ETag; 304
 *   POST   /indexer/api/v1/internal/affected_manifest
 * Matcher routes (matcher, combo modes):
 *   GET    /matcher/api/v1/vulnerability_report/{digest}  200; 202; 404
 *   GET    /matcher/api/v1/internal/update_operation[?kind=&latest=]
 *   GET    /matcher/api/v1/internal/update_diff?cur=[&prev=]
 *   DELETE /matcher/api/v1/internal/update_operation/{ref}  200 (also unknown)
 * Everywhere: GET /robots.txt (open), GET /status (updater status table).
 */
#include <ctype.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/http.h"
#include "http/reportcache.h"
#include "http/service.h"
#include "image/uri.h"
#include "indexer/indexer.h"
#include "matcher/index.h"
#include "matcher/match.h"
#include "store/store.h"
#include "updater/vuln.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/hashmap.h"
#include "util/log.h"

#define MT_INDEX_REPORT "application/vnd.clair.index_report.v1+json"
#define MT_INDEX_STATE "application/vnd.clair.index_state.v1+json"
/* Clair's handlers (httptransport/indexer_v1.go) spell the types they
 * offer without the underscore the OpenAPI text has; a client may ask
 * for either. */
#define MT_INDEX_REPORT_CLAIR "application/vnd.clair.indexreport.v1+json"
#define MT_INDEX_STATE_CLAIR "application/vnd.clair.indexstate.v1+json"
#define MT_AFFECTED_CLAIR "application/vnd.clair.affectedmanifests.v1+json"
#define MT_BULK_DELETE "application/vnd.clair.bulk_delete.v1+json"
#define MT_VULN_REPORT "application/vnd.clair.vulnerability_report.v1+json"
#define MT_UPDATE_OPS "application/vnd.clair.update_operations.v1+json"
#define MT_UPDATE_DIFF "application/vnd.clair.update_diff.v1+json"
#define MT_AFFECTED "application/vnd.clair.affected_manifests.v1+json"
#define MT_JSON "application/json"

#define INDEX_PATH "/indexer/api/v1/index_report/"
#define VULN_PATH "/matcher/api/v1/vulnerability_report/"

#define MAX_BULK 10000   /* digests in one bulk delete */

/* Negotiates the answer type of a route Clair negotiates (pickContentType):
 * the vendor type (the default), Clair's code's own spelling of it (alt,
 * "indexreport" for "index_report"; NULL when the same) or application/json;
 * NULL (415 replied) when the client accepts none of them. */
static const char *negotiate(struct clr_http_request *req, const char *vendor,
			     const char *alt)
{
	const char *types[] = { vendor, alt ? alt : MT_JSON, MT_JSON, NULL };
	const char *t = clr_http_negotiate(req, types);

	if (!t)
		clr_http_reply_error(req, 415, "cannot answer with any type the "
				     "Accept header allows (%s or %s)", vendor,
				     MT_JSON);
	return t;
}

/* The answer type of a route Clair answers without looking at Accept
 * (vulnerability_report, update_operation, update_diff): never 415; the
 * vendor type only for a client that prefers it, else first. */
static const char *negotiate_lax(struct clr_http_request *req, const char *first,
				 const char *vendor)
{
	const char *types[] = { first, vendor, NULL };
	const char *t = clr_http_negotiate(req, types);

	return t ? t : first;
}

static bool digest_ok(struct clr_http_request *req, const char *d)
{
	if (d && clr_http_digest_valid(d))
		return true;
	clr_http_reply_error(req, 400, "malformed digest '%.80s': expected sha256: "
			     "and 64 lowercase hex digits", d ? d : "");
	return false;
}

/* ------------------------------------------------------------------ */
/* Indexer                                                             */

/* Whether the store answers now: tells a database outage (503) from an
 * indexing failure (201 with IndexError). */
static bool store_alive(struct clr_service *svc)
{
	struct clr_store *s;
	int64_t c;
	int err;

	if (clr_service_store_acquire(svc, &s))
		return false;
	err = clr_store_update_counter(s, &c);
	clr_service_store_release(svc, s, err);
	return !err;
}

/* The two Link headers of an index answer (Clair's linkIndex and
 * linkReport), on the 201 and the 412 but not on errors (Clair's apiError
 * drops them). */
static void add_links(struct clr_http_request *req, const char *hash)
{
	size_t len = strlen(hash) + 128;
	char *link = clr_malloc(len);

	snprintf(link, len, "<" INDEX_PATH "%s>; rel=\"https://projectquay.io/"
		 "clair/v1/index_report\"", hash);
	clr_http_add_header(req, "Link", link);
	snprintf(link, len, "<" VULN_PATH "%s>; rel=\"https://projectquay.io/"
		 "clair/v1/vulnerability_report\"", hash);
	clr_http_add_header(req, "Link", link);
	free(link);
}

/* As Clair's indexer_v1.go: the request's Content-Type is not looked at
 * (`curl -d` sends a form type), the body is read first (400), then
 * If-None-Match is compared with the state (412), then the manifest is
 * indexed.  The answer is application/json: Clair sets no Content-Type
 * there (Go then sniffs text/plain), and its Go client refuses any type
 * but application/json or none, so the vendor type would break it. */
static int post_index_report(struct clr_http_request *req)
{
	struct clr_service *svc = clr_http_service(req);
	struct clr_uri_manifest *m = NULL;
	json_t *report = NULL;
	const char *body;
	size_t len;
	char *loc;
	int err;

	body = clr_http_body(req, &len);
	if ((err = clr_uri_manifest_parse(&m, body, len)))
		return clr_http_reply_error(req, 400, "%s", clr_error_msg());
	/* If-None-Match with the current state: the client's reports are
	 * current, nothing to do (Clair answers 412). */
	if (clr_http_etag(req, clr_indexer_state())) {
		add_links(req, m->hash);
		clr_uri_manifest_free(m);
		return clr_http_reply_status(req, 412);
	}
	/* A layer the SSRF policy refuses (indexer.layer_hosts,
	 * indexer.refuse_private) is the client's mistake: 400 before
	 * anything is fetched. */
	if ((err = clr_service_check_layers(svc, m))) {
		clr_uri_manifest_free(m);
		return clr_http_reply_error(req, 400, "%s", clr_error_msg());
	}
	err = clr_service_index_manifest(svc, &report, m);
	if (err) {
		char msg[1024];

		snprintf(msg, sizeof(msg), "%s", clr_error_msg());
		if (err == CLR_ENOMEM || ((err == CLR_ENET || err == CLR_EIO) &&
					  !store_alive(svc))) {
			clr_uri_manifest_free(m);
			return clr_http_reply_error(req, 503, "%s", msg);
		}
		/* Failures during indexing are a report, as Clair's. */
		report = json_pack("{s:s, s:s, s:b, s:s, s:{}, s:{}, s:{}, s:{}}",
				   "manifest_hash", m->hash, "state", "IndexError",
				   "success", 0, "err", msg, "packages",
				   "distributions", "repository", "environments");
		clr_log_warn("index %s: %s", m->hash, msg);
	}
	len = strlen(m->hash) + sizeof(INDEX_PATH);
	loc = clr_malloc(len);
	snprintf(loc, len, INDEX_PATH "%s", m->hash);
	clr_http_add_header(req, "Location", loc);
	free(loc);
	add_links(req, m->hash);
	err = clr_http_reply_json(req, 201, MT_JSON, report);
	json_decref(report);
	clr_uri_manifest_free(m);
	return err;
}

static int get_index_report(struct clr_http_request *req)
{
	struct clr_service *svc = clr_http_service(req);
	const char *digest = clr_http_capture(req, 0);
	struct clr_store_report r;
	struct clr_store *s;
	const char *type;
	int err;

	if (!digest_ok(req, digest) ||
	    !(type = negotiate(req, MT_INDEX_REPORT, MT_INDEX_REPORT_CLAIR)))
		return 0;
	if ((err = clr_service_store_acquire(svc, &s)))
		return err;
	err = clr_store_report_get(s, digest, &r);
	clr_service_store_release(svc, s, err);
	if (err == CLR_ENOTFOUND)
		return clr_http_reply_error(req, 404, "index report not found");
	if (err)
		return err;
	if (clr_http_etag(req, r.index_state))
		err = clr_http_reply_status(req, 304);
	else
		err = clr_http_reply(req, 200, type, r.report, strlen(r.report));
	clr_store_report_release(&r);
	return err;
}

static int delete_index_report(struct clr_http_request *req)
{
	struct clr_service *svc = clr_http_service(req);
	const char *digest = clr_http_capture(req, 0);
	struct clr_store *s;
	int err;

	if (!digest_ok(req, digest))
		return 0;
	if ((err = clr_service_store_acquire(svc, &s)))
		return err;
	err = clr_store_report_delete(s, digest, NULL);
	clr_service_store_release(svc, s, err);
	if (err)
		return err;
	return clr_http_reply_status(req, 204);
}

static int delete_index_reports(struct clr_http_request *req)
{
	struct clr_service *svc = clr_http_service(req);
	const char *body;
	json_t *arr, *v, *out;
	json_error_t jerr;
	struct clr_store *s;
	size_t len, i;
	int err = 0;

	body = clr_http_body(req, &len);
	if (!(arr = json_loadb(body, len, 0, &jerr)))
		return clr_http_reply_error(req, 400, "body is not JSON: %s", jerr.text);
	if (!json_is_array(arr) || json_array_size(arr) > MAX_BULK) {
		json_decref(arr);
		return clr_http_reply_error(req, 400, "expected a JSON array of at "
					    "most %d digests", MAX_BULK);
	}
	json_array_foreach(arr, i, v) {
		const char *d = json_string_value(v);

		if (!d || !clr_http_digest_valid(d)) {
			json_decref(arr);
			return clr_http_reply_error(req, 400, "element %zu is not a "
						    "digest (sha256: and 64 "
						    "lowercase hex digits)", i);
		}
	}
	if ((err = clr_service_store_acquire(svc, &s))) {
		json_decref(arr);
		return err;
	}
	out = json_array();
	json_array_foreach(arr, i, v) {
		bool existed = false;

		if ((err = clr_store_report_delete(s, json_string_value(v), &existed)))
			break;
		if (existed)
			json_array_append(out, v);
	}
	clr_service_store_release(svc, s, err);
	if (!err)
		err = clr_http_reply_json(req, 200, MT_BULK_DELETE, out);
	json_decref(out);
	json_decref(arr);
	return err;
}

static int get_index_state(struct clr_http_request *req)
{
	const char *state = clr_indexer_state();
	const char *type = negotiate(req, MT_INDEX_STATE, MT_INDEX_STATE_CLAIR);
	json_t *o;
	int err;

	if (!type)
		return 0;
	if (clr_http_etag(req, state))
		return clr_http_reply_status(req, 304);
	o = json_pack("{s:s}", "state", state);
	err = clr_http_reply_json(req, 200, type, o);
	json_decref(o);
	return err;
}


/* --- affected_manifest --------------------------------------------------- */

#define MAX_AFFECTED_VULNS 10000

static const char *jstr(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	return v ? v : "";
}

/* The version scheme of a Vulnerability, which Clair's JSON does not
 * carry: from the distribution, or the repository's ecosystem.  A
 * "version_scheme" member (clarion's extension) wins. */
static const char *scheme_of(json_t *v, const char *did, const char *repo)
{
	static const struct {
		const char *key, *scheme;
	} by[] = {
		{ "debian", "dpkg" }, { "ubuntu", "dpkg" }, { "alpine", "apk" },
		{ "wolfi", "apk" }, { "chainguard", "apk" }, { "pypi", "pep440" },
		{ "go", "semver" }, { "npm", "semver" }, { "crates.io", "semver" },
		{ "maven", "maven" }, { "rubygems", "gem" },
	};
	const char *k = *did ? did : repo;

	if (*jstr(v, "version_scheme"))
		return jstr(v, "version_scheme");
	for (size_t i = 0; i < sizeof(by) / sizeof(by[0]); i++)
		if (!strcasecmp(k, by[i].key))
			return by[i].scheme;
	/* rhel, ol, almalinux, rocky, sles, opensuse-*, photon, amzn, ... */
	return *did || strchr(repo, ':') ? "rpm" : "";
}

/* A Clair Vulnerability as a record; CLR_EINVALID when it names no
 * package. */
static int vuln_from_json(struct clr_vuln *out, json_t *v, size_t i)
{
	json_t *pkg = json_object_get(v, "package");
	json_t *dist = json_object_get(v, "distribution");
	json_t *repo = json_object_get(v, "repository");

	if (!json_is_object(v) || !json_is_object(pkg) || !*jstr(pkg, "name"))
		return clr_error_set(CLR_EINVALID, "vulnerabilities[%zu]: an object "
				     "with a package name is required", i);
	memset(out, 0, sizeof(*out));
	out->name = jstr(v, "name");
	out->updater = jstr(v, "updater");
	out->description = jstr(v, "description");
	out->issued = strcmp(jstr(v, "issued"), "0001-01-01T00:00:00Z")
		      ? jstr(v, "issued") : "";
	out->links = jstr(v, "links");
	out->severity = jstr(v, "severity");
	if (clr_severity_from_name(&out->normalized_severity,
				   jstr(v, "normalized_severity")))
		out->normalized_severity = CLR_SEV_UNKNOWN;
	out->package_name = jstr(pkg, "name");
	out->package_kind = jstr(pkg, "kind");
	out->package_module = jstr(pkg, "module");
	out->arch = jstr(pkg, "arch");
	out->arch_op = jstr(v, "arch_op");
	out->dist_did = jstr(dist, "did");
	out->dist_name = jstr(dist, "name");
	out->dist_version = jstr(dist, "version");
	out->dist_version_id = jstr(dist, "version_id");
	out->dist_version_code_name = jstr(dist, "version_code_name");
	out->dist_pretty_name = jstr(dist, "pretty_name");
	out->dist_cpe = jstr(dist, "cpe");
	out->repo_name = jstr(repo, "name");
	out->repo_uri = jstr(repo, "uri");
	out->version_scheme = scheme_of(v, out->dist_did, out->repo_name);
	out->fixed_in_version = jstr(v, "fixed_in_version");
	out->affected = jstr(v, "affected");
	clr_error_clear();
	return 0;
}

static int severity_desc(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	enum clr_severity sx = CLR_SEV_UNKNOWN, sy = CLR_SEV_UNKNOWN;

	clr_severity_from_name(&sx, jstr(json_object_get(x, "v"), "normalized_severity"));
	clr_severity_from_name(&sy, jstr(json_object_get(y, "v"), "normalized_severity"));
	if (sx != sy)
		return (int)sy - (int)sx;
	return strcmp(jstr(x, "id"), jstr(y, "id"));
}

/* Clair's affected_manifest: each given vulnerability run "backwards"
 * over the indexed manifests.  Candidates come from the store's
 * package-name index; each candidate's report is matched against an index
 * of the given records alone, so a manifest is affected exactly when a
 * vulnerability report would list the record. */
static int post_affected_manifest(struct clr_http_request *req)
{
	struct clr_service *svc = clr_http_service(req);
	struct clr_vec names = CLR_VEC_INIT(char *);
	struct clr_vec manifests = CLR_VEC_INIT(char *);
	struct clr_vuln_set set;
	struct clr_vindex ix;
	struct clr_hashmap by_hash = CLR_HASHMAP_INIT; /* our id -> input id */
	json_t *root, *vulns, *v, *out_vulns, *out_manifests, *out;
	struct clr_store *s = NULL;
	json_error_t jerr;
	const char *body, *type;
	size_t len, i;
	bool built = false;
	int err = 0;

	if (!(type = negotiate(req, MT_AFFECTED, MT_AFFECTED_CLAIR)))
		return 0;
	body = clr_http_body(req, &len);
	if (!(root = json_loadb(body, len, 0, &jerr)))
		return clr_http_reply_error(req, 400, "body is not JSON: %s", jerr.text);
	vulns = json_object_get(root, "vulnerabilities");
	if (!json_is_array(vulns) || json_array_size(vulns) > MAX_AFFECTED_VULNS) {
		json_decref(root);
		return clr_http_reply_error(req, 400, "expected {\"vulnerabilities\": "
					    "[Vulnerability, ...]} with at most %d "
					    "entries", MAX_AFFECTED_VULNS);
	}
	clr_vuln_set_init(&set);
	out_vulns = json_object();
	out_manifests = json_object();
	json_array_foreach(vulns, i, v) {
		struct clr_vuln rec;
		char hash[CLR_SHA256_HEXLEN + 1], *name;
		const char *id = jstr(v, "id");

		if ((err = vuln_from_json(&rec, v, i))) {
			err = clr_http_reply_error(req, 400, "%s", clr_error_msg());
			goto out;
		}
		if (!*id) {
			err = clr_http_reply_error(req, 400, "vulnerabilities[%zu]: "
						   "an id is required", i);
			goto out;
		}
		clr_vuln_set_add(&set, &rec);
		clr_vuln_hash(hash, &rec);
		hash[16] = '\0';
		if (!clr_hashmap_get(&by_hash, hash))
			clr_hashmap_put(&by_hash, hash, (void *)id);
		json_object_set(out_vulns, id, v);
		name = clr_strdup(rec.package_name);
		clr_vec_push(&names, &name);
	}
	if ((err = clr_vindex_from_set(&ix, &set)))
		goto out;
	built = true;
	if ((err = clr_service_store_acquire(svc, &s)))
		goto out;
	err = clr_store_manifests_by_package(s, (const char *const *)names.items,
					     names.len, &manifests);
	for (i = 0; !err && i < manifests.len; i++) {
		const char *digest = *CLR_VEC_AT(&manifests, char *, i);
		struct clr_store_report r;
		json_t *ir, *vr = NULL, *hits, *pv, *ids, *hid;
		const char *pid;
		size_t k;

		if ((err = clr_store_report_get(s, digest, &r))) {
			if (err == CLR_ENOTFOUND)
				err = 0;  /* deleted meanwhile */
			continue;
		}
		ir = !strcmp(r.state, "IndexFinished") ? json_loads(r.report, 0, NULL)
						      : NULL;
		clr_store_report_release(&r);
		if (!ir || clr_match(&vr, &ix, ir)) {
			json_decref(ir);
			continue;
		}
		json_decref(ir);
		hits = json_array();
		pv = json_object_get(vr, "package_vulnerabilities");
		json_object_foreach(pv, pid, ids) {
			json_array_foreach(ids, k, hid) {
				const char *in = clr_hashmap_get(&by_hash,
								 json_string_value(hid));
				size_t h;
				json_t *e;
				bool dup = false;

				if (!in)
					continue;
				json_array_foreach(hits, h, e)
					if (!strcmp(jstr(e, "id"), in))
						dup = true;
				if (!dup)
					json_array_append_new(hits, json_pack(
						"{s:s, s:O}", "id", in, "v",
						json_object_get(out_vulns, in)));
			}
		}
		json_decref(vr);
		if (json_array_size(hits)) {
			json_t *list = json_array(), *e;
			size_t n = json_array_size(hits);
			json_t **sorted = clr_calloc(n, sizeof(*sorted));

			for (k = 0; k < n; k++)
				sorted[k] = json_array_get(hits, k);
			qsort(sorted, n, sizeof(*sorted), severity_desc);
			for (k = 0; k < n; k++) {
				e = sorted[k];
				json_array_append_new(list, json_string(jstr(e, "id")));
			}
			free(sorted);
			json_object_set_new(out_manifests, digest, list);
		}
		json_decref(hits);
	}
	clr_service_store_release(svc, s, err);
	s = NULL;
	if (err)
		goto out;
	out = json_pack("{s:O, s:O}", "vulnerabilities", out_vulns,
			"vulnerable_manifests", out_manifests);
	err = clr_http_reply_json(req, 200, type, out);
	json_decref(out);
out:
	if (s)
		clr_service_store_release(svc, s, err);
	if (built)
		clr_vindex_free(&ix);
	clr_hashmap_release(&by_hash, NULL);
	clr_store_strings_release(&names);
	clr_store_strings_release(&manifests);
	clr_vuln_set_release(&set);
	json_decref(out_vulns);
	json_decref(out_manifests);
	json_decref(root);
	return err;
}

/* ------------------------------------------------------------------ */
/* Matcher                                                             */

/* What a shared reply holds until the server has sent it. */
struct held_report {
	struct clr_report_cache *cache;
	struct clr_report_blob *blob;
};

static void release_held(void *cls)
{
	struct held_report *h = cls;

	clr_report_blob_release(h->cache, h->blob);
	free(h);
}

/* The encoded report for (digest, its index state, the current data),
 * from the cache or computed now: 0 with *out, 1 when no vulnerability
 * data is loaded yet, or an error. */
static int encoded_report(struct clr_service *svc, const char *digest,
			  const struct clr_store_report *r, int64_t counter,
			  struct clr_report_blob **out)
{
	struct clr_report_cache *cache = clr_service_report_cache(svc);
	json_t *ir, *vr = NULL;
	json_error_t jerr;
	char *key, *text;
	int err;

	*out = NULL;
	if (asprintf(&key, "%s|%s|%lld", digest, r->index_state,
		     (long long)counter) < 0)
		return clr_error_set(CLR_ENOMEM, "out of memory");
	if (clr_report_cache_get(cache, key, out) == CLR_RC_HIT) {
		free(key);
		return 0;
	}
	ir = json_loads(r->report, 0, &jerr);
	if (!ir) {
		clr_report_cache_put(cache, key, NULL, 0);
		free(key);
		return clr_error_set(CLR_ERROR, "stored index report of %s is "
				     "corrupt: %s", digest, jerr.text);
	}
	err = clr_service_match(svc, &vr, ir);
	json_decref(ir);
	if (!err) {
		/* The matcher copies the IndexReport's members; state, success
		 * and err are no part of Clair's VulnerabilityReport, whose
		 * schema forbids other members (not_covered is clarion's one
		 * deliberate addition). */
		json_object_del(vr, "state");
		json_object_del(vr, "success");
		json_object_del(vr, "err");
	}
	/* 15 digits: a CVSS score of 9.8 is written 9.8, not the double's
	 * 17-digit expansion. */
	text = err ? NULL : json_dumps(vr, JSON_COMPACT | JSON_REAL_PRECISION(15));
	json_decref(vr);
	if (!err && !text)
		err = clr_error_set(CLR_ENOMEM, "cannot encode the report");
	*out = clr_report_cache_put(cache, key, text, text ? strlen(text) : 0);
	free(key);
	/* A big report's tree is freed now and its text kept: return the
	 * tree's heap to the system (a miss happens once per manifest and
	 * update, so the few milliseconds are well spent). */
	if (text && strlen(text) > (1u << 20))
		malloc_trim(0);
	return err;
}

static int get_vulnerability_report(struct clr_http_request *req)
{
	struct clr_service *svc = clr_http_service(req);
	struct clr_report_cache *cache = clr_service_report_cache(svc);
	const char *digest = clr_http_capture(req, 0);
	struct clr_report_blob *blob;
	struct held_report *held;
	struct clr_store_report r;
	struct clr_store *s;
	const struct clr_vindex *ix;
	const unsigned char *gz = NULL;
	const char *type;
	char cc[64], tag[160];
	int64_t age, counter;
	size_t gzlen = 0;
	int err;

	if (!digest_ok(req, digest))
		return 0;
	/* Clair's matcher_v1.go labels the report application/json whatever
	 * the Accept header says. */
	type = negotiate_lax(req, MT_JSON, MT_VULN_REPORT);
	/* Clair asks whether any vulnerability data is loaded before it looks
	 * the manifest up: 202 also for a digest nobody indexed. */
	if (!(ix = clr_service_vindex_acquire(svc)))
		return clr_http_reply_status(req, 202);
	clr_service_vindex_release(svc, ix);
	if ((err = clr_service_store_acquire(svc, &s)))
		return err;
	err = clr_store_report_get(s, digest, &r);
	clr_service_store_release(svc, s, err);
	if (err == CLR_ENOTFOUND)
		return clr_http_reply_error(req, 404, "index report for %s not "
					    "found", digest);
	if (err)
		return err;
	if (strcmp(r.state, "IndexFinished")) {
		err = clr_http_reply_error(req, 404, "index report for %s is not "
					   "finished (state %s)", digest, r.state);
		clr_store_report_release(&r);
		return err;
	}
	/* Read before matching: should the index be swapped meanwhile, a
	 * newer report is filed under the older counter, never the reverse
	 * (which nobody would ask for again). */
	counter = clr_service_vindex_counter(svc);
	age = clr_config_is_set(clr_service_config(svc), "matcher.cache_age")
	      ? clr_config_duration_ms(clr_service_config(svc), "matcher.cache_age")
	      : clr_config_duration_ms(clr_service_config(svc), "matcher.period");
	snprintf(cc, sizeof(cc), "max-age=%lld", (long long)(age / 1000));
	/* The report changes only with the index state or the data. */
	snprintf(tag, sizeof(tag), "%lld-%.64s", (long long)counter,
		 r.index_state);
	if (counter >= 0 && clr_http_etag(req, tag)) {
		clr_store_report_release(&r);
		clr_http_add_header(req, "Cache-Control", cc);
		return clr_http_reply_status(req, 304);
	}
	err = encoded_report(svc, digest, &r, counter, &blob);
	clr_store_report_release(&r);
	if (err == 1)  /* no vulnerability data yet: Clair's 202, empty */
		return clr_http_reply_status(req, 202);
	if (err)
		return err;
	clr_http_add_header(req, "Cache-Control", cc);
	if (clr_http_accepts_gzip(req))
		gz = clr_report_blob_gzip(cache, blob, &gzlen);
	held = clr_malloc(sizeof(*held));
	held->cache = cache;
	held->blob = blob;
	return clr_http_reply_shared(req, 200, type, blob->json, blob->len,
				     gz, gzlen, release_held, held);
}

static json_t *op_json(const struct clr_update_op *op)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s}", "ref", op->ref,
			 "updater", op->updater, "fingerprint", op->fingerprint,
			 "date", op->date, "kind", op->kind);
}

/* Whether s is true for Go's strconv.ParseBool, which Clair reads
 * ?latest= with: 1, t, T, TRUE, true, True. */
static bool parse_bool(const char *s)
{
	static const char *const yes[] = { "1", "t", "T", "TRUE", "true", "True" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (!strcmp(s, yes[i]))
			return true;
	return false;
}

static int get_update_operations(struct clr_http_request *req)
{
	struct clr_service *svc = clr_http_service(req);
	struct clr_vec ops = CLR_VEC_INIT(struct clr_update_op);
	const char *kind = clr_http_query(req, "kind");
	const char *latest = clr_http_query(req, "latest");
	bool only_latest = latest && parse_bool(latest);
	struct clr_store *s;
	const char *type;
	json_t *out;
	int err;

	type = negotiate_lax(req, MT_UPDATE_OPS, MT_JSON);
	if (kind && !*kind)
		kind = NULL;  /* Clair: "" is the default, vulnerability */
	if (kind && strcmp(kind, "vulnerability") && strcmp(kind, "enrichment"))
		return clr_http_reply_error(req, 400, "kind must be vulnerability "
					    "or enrichment, not '%.40s'", kind);
	out = json_object();
	if (kind && !strcmp(kind, "enrichment")) {
		/* No enrichment updaters: an empty answer. */
		err = clr_http_reply_json(req, 200, type, out);
		json_decref(out);
		return err;
	}
	if ((err = clr_service_store_acquire(svc, &s))) {
		json_decref(out);
		return err;
	}
	err = clr_store_update_list(s, NULL, &ops);
	clr_service_store_release(svc, s, err);
	if (err) {
		json_decref(out);
		return err;
	}
	/* Newest first overall; the newest's ref is the ETag. */
	{
		const struct clr_update_op *newest = NULL;

		for (size_t i = 0; i < ops.len; i++) {
			const struct clr_update_op *op =
				CLR_VEC_AT(&ops, struct clr_update_op, i);
			json_t *list = json_object_get(out, op->updater);

			if (!newest || op->id > newest->id)
				newest = op;
			if (!list) {
				list = json_array();
				json_object_set_new(out, op->updater, list);
			} else if (only_latest) {
				continue;
			}
			json_array_append_new(list, op_json(op));
		}
		if (newest && clr_http_etag(req, newest->ref)) {
			clr_update_ops_release(&ops);
			json_decref(out);
			return clr_http_reply_status(req, 304);
		}
	}
	clr_update_ops_release(&ops);
	err = clr_http_reply_json(req, 200, type, out);
	json_decref(out);
	return err;
}

/* A record as Clair's Vulnerability, in the shape released Clair writes:
 * claircore's structs through encoding/json, with the package, the
 * distribution and the repository always present (its store allocates all
 * three before scanning a row; quay/claircore datastore/postgres), empty
 * strings written, and only the tags marked omitempty left out. */
static json_t *vuln_json(const struct clr_vuln *v)
{
	char hash[CLR_SHA256_HEXLEN + 1];
	json_t *o, *pkg, *repo;

	clr_vuln_hash(hash, v);
	hash[16] = '\0';
	pkg = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "id", "",
			"name", v->package_name, "version", "", "kind",
			*v->package_kind ? v->package_kind : "binary",
			"normalized_version", "", "cpe", "");
	if (*v->package_module)
		json_object_set_new(pkg, "module", json_string(v->package_module));
	if (*v->arch)
		json_object_set_new(pkg, "arch", json_string(v->arch));
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:s}",
		      "id", hash, "name", v->name, "updater", v->updater,
		      "description", v->description,
		      "issued", *v->issued ? v->issued : "0001-01-01T00:00:00Z",
		      "links", v->links, "severity", v->severity,
		      "normalized_severity",
		      clr_severity_name(v->normalized_severity),
		      "package", pkg, "fixed_in_version", v->fixed_in_version);
	json_object_set_new(o, "distribution", json_pack(
		"{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id", "",
		"did", v->dist_did, "name", v->dist_name,
		"version", v->dist_version,
		"version_code_name", v->dist_version_code_name,
		"version_id", v->dist_version_id, "arch", "",
		"cpe", v->dist_cpe, "pretty_name", v->dist_pretty_name));
	/* claircore's Repository: id, name, key, uri omitempty; cpe not. */
	repo = json_pack("{s:s}", "cpe", "");
	if (*v->repo_name)
		json_object_set_new(repo, "name", json_string(v->repo_name));
	if (*v->repo_uri)
		json_object_set_new(repo, "uri", json_string(v->repo_uri));
	json_object_set_new(o, "repository", repo);
	if (*v->arch_op)
		json_object_set_new(o, "arch_op", json_string(v->arch_op));
	return o;
}

static json_t *set_json(const struct clr_vuln_set *set)
{
	json_t *a = json_array();

	for (size_t i = 0; i < set->vulns.len; i++)
		json_array_append_new(a, vuln_json(
			CLR_VEC_AT(&set->vulns, struct clr_vuln, i)));
	return a;
}

static bool uuid_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!isxdigit((unsigned char)s[i])) {
			return false;
		}
	}
	return i == 36;
}

static int get_update_diff(struct clr_http_request *req)
{
	struct clr_service *svc = clr_http_service(req);
	const char *cur = clr_http_query(req, "cur");
	const char *prev = clr_http_query(req, "prev");
	struct clr_update_op cur_op = { 0 }, prev_op = { 0 };
	struct clr_vuln_set added, removed;
	struct clr_store *s;
	const char *type;
	char cur_l[37], prev_l[37];
	json_t *out;
	int err;

	type = negotiate_lax(req, MT_UPDATE_DIFF, MT_JSON);
	if (!cur || !uuid_ok(cur))
		return clr_http_reply_error(req, 400, "cur must be an update "
					    "operation's ref (a UUID)");
	if (prev && (!*prev || !strcmp(prev, "00000000-0000-0000-0000-000000000000")))
		prev = NULL;
	if (prev && !uuid_ok(prev))
		return clr_http_reply_error(req, 400, "prev must be an update "
					    "operation's ref (a UUID)");
	/* Refs are stored lowercase; Clair's uuid.Parse takes either case. */
	for (size_t i = 0; i < sizeof(cur_l); i++) {
		cur_l[i] = (char)tolower((unsigned char)cur[i]);
		prev_l[i] = prev ? (char)tolower((unsigned char)prev[i]) : '\0';
	}
	cur = cur_l;
	prev = prev ? prev_l : NULL;
	if ((err = clr_service_store_acquire(svc, &s)))
		return err;
	clr_vuln_set_init(&added);
	clr_vuln_set_init(&removed);
	if (!(err = clr_store_update_get(s, cur, &cur_op)) &&
	    !(err = prev ? clr_store_update_get(s, prev, &prev_op) : 0))
		err = clr_store_update_diff(s, prev, cur, &added, &removed);
	clr_service_store_release(svc, s, err);
	if (err == CLR_ENOTFOUND || err == CLR_EINVALID) {
		err = clr_http_reply_error(req, 400, "%s", clr_error_msg());
		goto out;
	}
	if (err)
		goto out;
	out = json_pack("{s:o, s:o, s:o, s:o}", "cur", op_json(&cur_op),
			"prev", prev ? op_json(&prev_op) : json_pack(
				"{s:s, s:s, s:s, s:s, s:s}", "ref",
				"00000000-0000-0000-0000-000000000000", "updater",
				"", "fingerprint", "", "date", "0001-01-01T00:00:00Z",
				"kind", ""),
			"added", set_json(&added), "removed", set_json(&removed));
	err = clr_http_reply_json(req, 200, type, out);
	json_decref(out);
out:
	clr_update_op_release(&cur_op);
	clr_update_op_release(&prev_op);
	clr_vuln_set_release(&added);
	clr_vuln_set_release(&removed);
	return err;
}

/* DELETE /matcher/api/v1/internal/update_operation/{ref}: as Clair, 200
 * with no body, also for a ref that is not stored; 400 for one that is not
 * a UUID.  The operation's records that nothing else links go with it, and
 * the index is rebuilt before the answer, so the next report already
 * reflects the updater's previous operation (or none). */
static int delete_update_operation(struct clr_http_request *req)
{
	struct clr_service *svc = clr_http_service(req);
	const char *ref = clr_http_capture(req, 0);
	struct clr_store *s;
	bool existed = false;
	char lower[37];
	int err;

	if (!uuid_ok(ref))
		return clr_http_reply_error(req, 400, "could not deserialize "
					    "update operation ref: '%.64s' is "
					    "not a UUID", ref);
	/* Refs are stored lowercase; Clair's uuid.Parse takes either. */
	for (size_t i = 0; i < sizeof(lower); i++)
		lower[i] = (char)tolower((unsigned char)ref[i]);
	if ((err = clr_service_store_acquire(svc, &s)))
		return err;
	err = clr_store_update_delete(s, lower, &existed);
	clr_service_store_release(svc, s, err);
	if (err)
		return err;
	if (existed) {
		clr_log_info("update operation %s deleted", lower);
		clr_service_reload(svc);
	}
	return clr_http_reply_status(req, 200);
}

/* ------------------------------------------------------------------ */
/* Everywhere                                                          */

static int robots(struct clr_http_request *req)
{
	static const char text[] = "User-agent: *\nDisallow: /\n";

	return clr_http_reply(req, 200, "text/plain; charset=utf-8", text,
			      sizeof(text) - 1);
}

static int get_status(struct clr_http_request *req)
{
	json_t *arr, *o;
	int err;

	if ((err = clr_service_status(clr_http_service(req), &arr)))
		return err;
	o = json_pack("{s:o, s:b, s:s}", "updaters", arr, "ready",
		      clr_service_ready(clr_http_service(req)),
		      "index_state", clr_indexer_state());
	err = clr_http_reply_json(req, 200, MT_JSON, o);
	json_decref(o);
	return err;
}

const struct clr_http_route clr_http_v4_indexer_routes[] = {
	{ "POST", "/indexer/api/v1/index_report", post_index_report,
	  "index_report_post", CLR_HTTP_LIMITED },
	{ "DELETE", "/indexer/api/v1/index_report", delete_index_reports,
	  "index_report_bulk_delete", 0 },
	{ "GET", "/indexer/api/v1/index_report/{}", get_index_report,
	  "index_report_get", 0 },
	{ "DELETE", "/indexer/api/v1/index_report/{}", delete_index_report,
	  "index_report_delete", 0 },
	{ "GET", "/indexer/api/v1/index_state", get_index_state,
	  "index_state", 0 },
	{ "POST", "/indexer/api/v1/internal/affected_manifest",
	  post_affected_manifest, "affected_manifest", 0 },
	{ NULL, NULL, NULL, NULL, 0 },
};

const struct clr_http_route clr_http_v4_matcher_routes[] = {
	{ "GET", "/matcher/api/v1/vulnerability_report/{}",
	  get_vulnerability_report, "vulnerability_report", 0 },
	{ "GET", "/matcher/api/v1/internal/update_operation",
	  get_update_operations, "update_operation", 0 },
	{ "GET", "/matcher/api/v1/internal/update_diff", get_update_diff,
	  "update_diff", 0 },
	{ "DELETE", "/matcher/api/v1/internal/update_operation/{}",
	  delete_update_operation, "update_operation_delete", 0 },
	{ NULL, NULL, NULL, NULL, 0 },
};

const struct clr_http_route clr_http_v4_common_routes[] = {
	{ "GET", "/robots.txt", robots, "robots", CLR_HTTP_OPEN },
	{ "GET", "/status", get_status, "status", 0 },
	{ NULL, NULL, NULL, NULL, 0 },
};
