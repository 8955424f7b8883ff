/*
 * v1.c - the legacy Clair API v1 of Clair v2.x (reference/clair-api.md
 * §2, reference/klar.md §5 and §10), enough for Klar and the other v2-era
 * clients to run against `clarion serve` unchanged.
 *
 *   POST   /v1/layers                 index one layer on top of its
 *                                     parent, synchronously; 201, also
 *                                     for a layer already known
 *   GET    /v1/layers/{name}?features&vulnerabilities
 *                                     the features of the whole chain
 *   DELETE /v1/layers/{name}          the layer and its descendants
 *   GET    /v1/namespaces
 *   GET    /v1/namespaces/{ns}/vulnerabilities?limit=N[&page=T]
 *   GET    /v1/namespaces/{ns}/vulnerabilities/{name}
 *
 * A v1 layer is indexed as a Clair v4 manifest whose layers are the chain
 * from the base to it, under a manifest hash derived from the v1 name:
 * the indexer's content-addressed layer cache makes the parents free (they
 * were scanned when they were posted), and coalescing the chain gives
 * exactly the cumulative features Clair v2 returned, with whiteouts and
 * package database replacement handled as for any image.  The name ->
 * (layer digest, parent, chain manifest) mapping is in the store's
 * v1_layer table (store.h).
 *
 * Answers carry Clair v2's shapes: PascalCase keys, empty fields left
 * out, Content-Type "application/json;charset=utf-8", "Server: clair",
 * and errors as {"Error":{"Message":"..."}}.  A leading "//" (Klar with a
 * CLAIR_ADDR ending in '/') is folded by the router.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/http.h"
#include "http/service.h"
#include "image/uri.h"
#include "indexer/indexer.h"
#include "klar/output.h"
#include "matcher/index.h"
#include "matcher/match.h"
#include "store/store.h"
#include "updater/vuln.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/hashmap.h"
#include "util/log.h"
#include "util/sha256.h"

#define V1_TYPE "application/json;charset=utf-8"
/* Clair v2.1's worker engine version, which clients see as
 * IndexedByVersion. */
#define V1_ENGINE_VERSION 3
/* The deepest parent chain followed (a v4 manifest's layer cap). */
#define V1_MAX_DEPTH CLR_URI_MAX_LAYERS
/* The longest layer name accepted (Klar's are 128 hex). */
#define V1_MAX_NAME 1024
/* Page size cap for the namespace vulnerability listing. */
#define V1_MAX_LIMIT 10000

static int v1_reply(struct clr_http_request *req, int status, json_t *o)
{
	struct clr_buf b = CLR_BUF_INIT((size_t)1 << 30);
	int err;

	clr_http_add_header(req, "Server", "clair");
	/* As Clair v2's json.NewEncoder(w).Encode wrote it: this file sets
	 * keys in the Go structs' field order; a final newline. */
	err = clr_klar_go_json(&b, o, false);
	if (!err)
		err = clr_buf_addch(&b, '\n');
	json_decref(o);
	if (err) {
		clr_buf_release(&b);
		return clr_error_set(CLR_ENOMEM, "cannot encode the answer");
	}
	err = clr_http_reply(req, status, V1_TYPE, clr_buf_str(&b), b.len);
	clr_buf_release(&b);
	return err;
}

/* Clair v2's error envelope. */
static int v1_error(struct clr_http_request *req, int status, const char *fmt,
		    ...)
	__attribute__((format(printf, 3, 4)));

static int v1_error(struct clr_http_request *req, int status, const char *fmt,
		    ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return v1_reply(req, status, json_pack("{s:{s:s}}", "Error", "Message",
					       msg));
}

/* The error of a failed store call (503 when the database is down). */
static int v1_store_error(struct clr_http_request *req, int err)
{
	if (err == CLR_ENOTFOUND)
		return v1_error(req, 404, "the resource cannot be found");
	return v1_error(req, err == CLR_ENET ? 503 : 500, "%s", clr_error_msg());
}

static void set_str(json_t *o, const char *key, const char *val)
{
	if (val && *val) /* omitempty */
		json_object_set_new(o, key, json_string(val));
}

static const char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* The manifest hash a v1 layer's chain is stored under. */
static void chain_hash(char out[8 + CLR_SHA256_HEXLEN], const char *name)
{
	struct clr_sha256 h;
	uint8_t d[CLR_SHA256_LEN];

	clr_sha256_init(&h);
	clr_sha256_update(&h, "clarion API v1 layer\n", 21);
	clr_sha256_update(&h, name, strlen(name));
	clr_sha256_final(&h, d);
	clr_sha256_release(&h);
	memcpy(out, "sha256:", 7);
	clr_sha256_hex(out + 7, d);
}

/* The chain of name: the layers from the base to name, in *out (n of
 * them, base first; release each).  CLR_ENOTFOUND when name (or a parent
 * on the way) is unknown, CLR_ELIMIT past V1_MAX_DEPTH. */
static int load_chain(struct clr_store *st, const char *name,
		      struct clr_store_v1_layer **out, size_t *n)
{
	struct clr_store_v1_layer *v = NULL;
	size_t len = 0, i;
	char *cur = clr_strdup(name);
	int err = 0;

	while (*cur) {
		if (len == V1_MAX_DEPTH) {
			err = clr_error_set(CLR_ELIMIT, "the layer has more than "
					    "%d ancestors", V1_MAX_DEPTH);
			break;
		}
		v = clr_realloc(v, (len + 1) * sizeof(*v));
		if ((err = clr_store_v1_layer_get(st, cur, &v[len])))
			break;
		free(cur);
		cur = clr_strdup(v[len].parent_name);
		len++;
	}
	free(cur);
	if (err) {
		for (i = 0; i < len; i++)
			clr_store_v1_layer_release(&v[i]);
		free(v);
		return err;
	}
	/* Collected top first: reverse. */
	for (i = 0; i < len / 2; i++) {
		struct clr_store_v1_layer t = v[i];

		v[i] = v[len - 1 - i];
		v[len - 1 - i] = t;
	}
	*out = v;
	*n = len;
	return 0;
}

static void chain_release(struct clr_store_v1_layer *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		clr_store_v1_layer_release(&v[i]);
	free(v);
}

/* The blob digest in a registry blob URL (".../blobs/sha256:<hex>"), the
 * only way to learn a layer's digest before downloading it. */
static char *digest_of_path(const char *path)
{
	const char *end = path + strcspn(path, "?#"), *start = end;
	char *d;

	while (start > path && start[-1] != '/')
		start--;
	d = clr_strndup(start, (size_t)(end - start));
	if (!clr_http_digest_valid(d)) {
		free(d);
		return NULL;
	}
	return d;
}

/* --- POST /v1/layers -------------------------------------------------------- */

static void manifest_layer(json_t *layers, const char *hash, const char *uri,
			   const char *auth)
{
	json_t *l = json_pack("{s:s, s:s, s:{}}", "hash", hash, "uri", uri,
			      "headers");

	if (auth && *auth)
		json_object_set_new(json_object_get(l, "headers"), "Authorization",
				    json_pack("[s]", auth));
	json_array_append_new(layers, l);
}

/* The reply Clair v2 gives: the posted layer, with IndexedByVersion. */
static int reply_created(struct clr_http_request *req, const char *name,
			 const char *path, const char *parent, const char *format,
			 json_t *headers)
{
	json_t *l = json_object();

	/* Clair v2 echoed Headers too; the registry token the client sent
	 * is left out of the answer (and so of proxies' and clients' logs). */
	(void)headers;
	set_str(l, "Name", name);
	set_str(l, "Path", path);
	set_str(l, "ParentName", parent);
	set_str(l, "Format", format);
	json_object_set_new(l, "IndexedByVersion", json_integer(V1_ENGINE_VERSION));
	return v1_reply(req, 201, json_pack("{s:o}", "Layer", l));
}

static int post_layer(struct clr_http_request *req)
{
	struct clr_service *svc = clr_http_service(req);
	struct clr_store_v1_layer *chain = NULL, known = { NULL, NULL, NULL, NULL, NULL };
	struct clr_uri_manifest *m = NULL;
	struct clr_store *st = NULL;
	size_t len, nchain = 0, i;
	const char *body = clr_http_body(req, &len);
	json_t *root, *layer, *headers, *report = NULL, *mj = NULL, *layers;
	const char *name, *path, *parent, *format, *auth;
	char mhash[8 + CLR_SHA256_HEXLEN], *digest = NULL, *text = NULL;
	json_error_t je;
	int err, status;

	root = json_loadb(body, len, 0, &je);
	layer = json_object_get(root, "Layer");
	if (!root) {
		return v1_error(req, 400, "could not decode the request body: %s",
				je.text);
	}
	if (!json_is_object(layer)) {
		json_decref(root);
		return v1_error(req, 400, "failed to provide layer");
	}
	name = jstr(layer, "Name");
	path = jstr(layer, "Path");
	parent = jstr(layer, "ParentName");
	format = jstr(layer, "Format");
	headers = json_object_get(layer, "Headers");
	auth = jstr(headers, "Authorization");
	/* Clair v2's worker.Process, its checks in its order. */
	if (!*name || !*path || !*format) {
		err = v1_error(req, 400, "could not process a layer which does "
			       "not have a %s", !*name ? "name" :
			       !*path ? "path" : "format");
		goto done;
	}
	if (strlen(name) > V1_MAX_NAME || strlen(parent) > V1_MAX_NAME ||
	    strchr(name, '/')) {
		err = v1_error(req, 400, "could not process layer: a layer name is "
			       "at most %d characters, without '/'", V1_MAX_NAME);
		goto done;
	}
	if (!strcasecmp(format, "ACI")) {
		err = v1_error(req, 422, "worker: OS and/or package manager are "
			       "not supported (ACI layers are not read)");
		goto done;
	}
	if (strcasecmp(format, "Docker")) {
		err = v1_error(req, 400, "could not process layer: unknown Format "
			       "'%s' (Docker or ACI)", format);
		goto done;
	}
	if ((err = clr_service_store_acquire(svc, &st))) {
		err = v1_store_error(req, err);
		goto done;
	}
	/* "A layer already processed with engine version >= current is
	 * skipped on re-post", and Klar re-posts every layer on every run:
	 * 201 again.  A chain indexed by older scanners is indexed again. */
	err = clr_store_v1_layer_get(st, name, &known);
	if (!err) {
		struct clr_store_report sr = { NULL, NULL, NULL };
		bool current = !clr_store_report_get(st, known.manifest_hash, &sr) &&
			       !strcmp(sr.index_state, clr_indexer_state());

		clr_store_report_release(&sr);
		if (current) {
			clr_service_store_release(svc, st, 0);
			st = NULL;
			err = reply_created(req, name, path, parent, format, headers);
			goto done;
		}
		err = CLR_ENOTFOUND;
	}
	if (err != CLR_ENOTFOUND) {
		clr_service_store_release(svc, st, err);
		st = NULL;
		err = v1_store_error(req, err);
		goto done;
	}
	if (*parent && (err = load_chain(st, parent, &chain, &nchain))) {
		clr_service_store_release(svc, st, err == CLR_ENOTFOUND ? 0 : err);
		st = NULL;
		if (err == CLR_ENOTFOUND)
			err = v1_error(req, 400, "worker: parent layer is "
				       "unknown, it must be processed first");
		else if (err == CLR_ELIMIT)
			err = v1_error(req, 400, "%s", clr_error_msg());
		else
			err = v1_store_error(req, err);
		goto done;
	}
	clr_service_store_release(svc, st, 0);
	st = NULL;
	if (!(digest = digest_of_path(path))) {
		err = v1_error(req, 422, "could not process layer: the layer's "
			       "digest must end its Path (.../blobs/sha256:...)");
		goto done;
	}
	/* The chain as a Clair v4 Manifest, validated by the same parser
	 * as POST /indexer/api/v1/index_report. */
	chain_hash(mhash, name);
	layers = json_array();
	for (i = 0; i < nchain; i++)
		manifest_layer(layers, chain[i].layer_hash, chain[i].path, auth);
	manifest_layer(layers, digest, path, auth);
	mj = json_pack("{s:s, s:o}", "hash", mhash, "layers", layers);
	text = json_dumps(mj, JSON_COMPACT);
	if ((err = clr_uri_manifest_parse(&m, text, strlen(text)))) {
		err = v1_error(req, 400, "could not process layer: %s",
			       clr_error_msg());
		goto done;
	}
	if ((err = clr_service_index_manifest(svc, &report, m))) {
		/* Clair v2: 422 for what cannot be extracted (never
		 * retry), 500 for the rest (a download failure: retry). */
		status = err == CLR_EINVALID || err == CLR_EUNSUPPORTED ||
			 err == CLR_ELIMIT ? 422 : err == CLR_EBUSY ? 429 : 500;
		clr_log_info("v1: layer %s: %s", name, clr_error_msg());
		err = v1_error(req, status, "could not process layer: %s",
			       clr_error_msg());
		goto done;
	}
	/* Clair v2's worker refuses a layer whose packages belong to no
	 * detected OS. */
	if (json_object_size(json_object_get(report, "packages")) &&
	    !json_object_size(json_object_get(report, "distributions"))) {
		err = v1_error(req, 422, "worker: OS and/or package manager are "
			       "not supported");
		goto done;
	}
	if ((err = clr_service_store_acquire(svc, &st))) {
		err = v1_store_error(req, err);
		goto done;
	}
	{
		struct clr_store_v1_layer row = {
			.name = (char *)name, .parent_name = (char *)parent,
			.layer_hash = digest, .path = (char *)path,
			.manifest_hash = mhash,
		};

		err = clr_store_v1_layer_put(st, &row);
	}
	clr_service_store_release(svc, st, err);
	st = NULL;
	if (err)
		err = v1_store_error(req, err);
	else
		err = reply_created(req, name, path, parent, format, headers);
done:
	clr_store_v1_layer_release(&known);
	chain_release(chain, nchain);
	clr_uri_manifest_free(m);
	json_decref(report);
	json_decref(mj);
	json_decref(root);
	free(text);
	free(digest);
	return err;
}

/* --- GET /v1/layers/{name} ---------------------------------------------------- */

/* The matcher's namespace name as Clair v2 spelled it: its Alpine
 * detector wrote "alpine:v3.8" (the branch, with its "v") and its Oracle
 * sources "oracle:7" where os-release says ID=ol.  Everything else
 * ("debian:12", "ubuntu:22.04", "centos:7") already agrees.  Every v1
 * route names namespaces through here, so a name read from one route is
 * accepted by the others. */
static void v1_namespace_name(char *ns, size_t n)
{
	char tmp[256];

	if (!strncmp(ns, "alpine:", 7) && ns[7] >= '0' && ns[7] <= '9') {
		snprintf(tmp, sizeof(tmp), "alpine:v%s", ns + 7);
		snprintf(ns, n, "%s", tmp);
	} else if (!strncmp(ns, "ol:", 3)) {
		snprintf(tmp, sizeof(tmp), "oracle:%s", ns + 3);
		snprintf(ns, n, "%s", tmp);
	}
}

/* Clair v2's VersionFormat for a version scheme: it had only the dpkg and
 * rpm parsers, and Alpine's namespaces and features said "dpkg" (its
 * apk versions were compared with dpkg's rules); other schemes (the
 * language ecosystems v2 never had) keep clarion's name. */
static const char *v1_version_format(const char *scheme)
{
	return !scheme ? "" : !strcmp(scheme, "apk") ? "dpkg" : scheme;
}

/* "debian:12", as the matcher names namespaces, in Clair v2's spelling. */
static void dist_namespace(char *out, size_t n, json_t *dist)
{
	if (!clr_vindex_namespace(out, n, jstr(dist, "did"), jstr(dist, "version_id"),
				  jstr(dist, "version_code_name"), ""))
		*out = '\0';
	v1_namespace_name(out, n);
}

static const char *version_format(const char *package_db, const char *did)
{
	/* apk: "dpkg", as Clair v2 said (v1_version_format). */
	if (strstr(package_db, "dpkg") || strstr(package_db, "apk"))
		return "dpkg";
	if (strstr(package_db, "rpm") || strstr(package_db, "Packages"))
		return "rpm";
	if (!strcmp(did, "debian") || !strcmp(did, "ubuntu"))
		return "dpkg";
	if (!strcmp(did, "alpine"))
		return "apk";
	return *did ? "rpm" : "";
}

/* The first of v4's space-separated links. */
static char *first_link(const char *links)
{
	links += strspn(links, " \t\n");
	return clr_strndup(links, strcspn(links, " \t\n"));
}

/* A v4 Vulnerability as v1's, under a Feature (FixedBy set); Metadata
 * from NVD's scores in ix (may be NULL) when it has them. */
static json_t *v1_vuln(json_t *v, const char *ns, const struct clr_vindex *ix)
{
	json_t *md = clr_match_nvd_metadata(ix, v);
	json_t *o = json_object();
	char *link = first_link(jstr(v, "links"));
	char vns[256];
	json_t *dist = json_object_get(v, "distribution");

	if (json_is_object(dist))
		dist_namespace(vns, sizeof(vns), dist);
	else
		snprintf(vns, sizeof(vns), "%s", ns);
	set_str(o, "Name", jstr(v, "name"));
	set_str(o, "NamespaceName", *vns ? vns : ns);
	set_str(o, "Description", jstr(v, "description"));
	set_str(o, "Link", link);
	/* v4's normalized severities are spelled as v1's (Unknown ...
	 * Critical); Defcon1 has no v4 source. */
	set_str(o, "Severity", *jstr(v, "normalized_severity") ?
		jstr(v, "normalized_severity") : "Unknown");
	if (md)	/* Clair v2's place for it: after Severity */
		json_object_set_new(o, "Metadata", md);
	set_str(o, "FixedBy", jstr(v, "fixed_in_version"));
	free(link);
	return o;
}

static int id_cmp(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	long nx = strtol(x, NULL, 10), ny = strtol(y, NULL, 10);

	if (nx != ny)
		return nx < ny ? -1 : 1;
	return strcmp(x, y);
}

static int get_layer(struct clr_http_request *req)
{
	struct clr_service *svc = clr_http_service(req);
	const char *name = clr_http_capture(req, 0);
	int want_vulns = clr_http_query(req, "vulnerabilities") != NULL;
	int want_features = want_vulns || clr_http_query(req, "features") != NULL;
	struct clr_store_v1_layer *chain = NULL;
	struct clr_store_report sr = { NULL, NULL, NULL };
	struct clr_hashmap by_hash = CLR_HASHMAP_INIT;
	struct clr_store *st;
	size_t nchain = 0, i, n = 0;
	json_t *report = NULL, *vr = NULL, *l, *features, *pkgs, *envs, *dists;
	json_t *dist = NULL, *p, *vulns, *pv;
	const char *key, **ids = NULL;
	char ns[256] = "";
	const struct clr_vindex *ix = NULL;
	int err;

	if ((err = clr_service_store_acquire(svc, &st)))
		return v1_store_error(req, err);
	err = load_chain(st, name, &chain, &nchain);
	if (!err)
		err = clr_store_report_get(st, chain[nchain - 1].manifest_hash, &sr);
	clr_service_store_release(svc, st, err == CLR_ENOTFOUND ? 0 : err);
	if (err) {
		err = v1_store_error(req, err);
		goto done;
	}
	report = json_loads(sr.report, 0, NULL);
	l = json_object();
	set_str(l, "Name", name);
	dists = json_object_get(report, "distributions");
	json_object_foreach(dists, key, p) {
		dist = p;
		break;
	}
	if (dist)
		dist_namespace(ns, sizeof(ns), dist);
	set_str(l, "NamespaceName", ns);
	set_str(l, "ParentName", chain[nchain - 1].parent_name);
	json_object_set_new(l, "IndexedByVersion", json_integer(V1_ENGINE_VERSION));
	if (!want_features)
		goto reply;
	/* AddedBy names the chain's layer that introduced the package. */
	for (i = 0; i < nchain; i++)
		clr_hashmap_put(&by_hash, chain[i].layer_hash, chain[i].name);
	if (want_vulns && clr_service_match(svc, &vr, report) < 0) {
		json_decref(l);
		err = v1_error(req, 500, "%s", clr_error_msg());
		goto done;
	}
	/* NVD's scores for Metadata (the index the match used, or a newer
	 * one: the same data or fresher) */
	if (want_vulns)
		ix = clr_service_vindex_acquire(svc);
	vulns = json_object_get(vr, "vulnerabilities");
	pv = json_object_get(vr, "package_vulnerabilities");
	pkgs = json_object_get(report, "packages");
	envs = json_object_get(report, "environments");
	ids = clr_calloc(json_object_size(pkgs) + 1, sizeof(*ids));
	json_object_foreach(pkgs, key, p)
		ids[n++] = key;
	qsort(ids, n, sizeof(*ids), id_cmp);
	features = json_array();
	for (i = 0; i < n; i++) {
		json_t *pkg = json_object_get(pkgs, ids[i]), *f = json_object();
		json_t *env = json_array_get(json_object_get(envs, ids[i]), 0);
		const char *added = clr_hashmap_get(&by_hash, jstr(env, "introduced_in"));
		json_t *list = json_object_get(pv, ids[i]), *vid;
		size_t k;

		set_str(f, "Name", jstr(pkg, "name"));
		set_str(f, "NamespaceName", ns);
		set_str(f, "VersionFormat", version_format(jstr(env, "package_db"),
							   jstr(dist, "did")));
		set_str(f, "Version", jstr(pkg, "version"));
		if (json_array_size(list)) {
			json_t *vs = json_array();

			json_array_foreach(list, k, vid) {
				json_t *v = json_object_get(vulns, json_string_value(vid) ?
							    json_string_value(vid) : "");

				if (json_is_object(v))
					json_array_append_new(vs, v1_vuln(v, ns, ix));
			}
			json_object_set_new(f, "Vulnerabilities", vs);
		}
		set_str(f, "AddedBy", added);
		json_array_append_new(features, f);
	}
	/* []Feature with omitempty: no key at all for a layer without
	 * packages. */
	if (json_array_size(features))
		json_object_set_new(l, "Features", features);
	else
		json_decref(features);
reply:
	err = v1_reply(req, 200, json_pack("{s:o}", "Layer", l));
done:
	if (ix)
		clr_service_vindex_release(svc, ix);
	free(ids);
	clr_hashmap_release(&by_hash, NULL);
	chain_release(chain, nchain);
	clr_store_report_release(&sr);
	json_decref(report);
	json_decref(vr);
	return err;
}

/* --- DELETE /v1/layers/{name} --------------------------------------------------- */

static int delete_layer(struct clr_http_request *req)
{
	struct clr_service *svc = clr_http_service(req);
	struct clr_vec manifests = CLR_VEC_INIT(char *);
	struct clr_store *st;
	int err;

	if ((err = clr_service_store_acquire(svc, &st)))
		return v1_store_error(req, err);
	err = clr_store_v1_layer_delete(st, clr_http_capture(req, 0), &manifests);
	/* The chains' reports go too, and with them the cached scans of
	 * layers nothing else uses. */
	for (size_t i = 0; !err && i < manifests.len; i++)
		err = clr_store_report_delete(st, *CLR_VEC_AT(&manifests, char *, i),
					      NULL);
	clr_service_store_release(svc, st, err == CLR_ENOTFOUND ? 0 : err);
	clr_store_strings_release(&manifests);
	if (err)
		return v1_store_error(req, err);
	clr_http_add_header(req, "Server", "clair");
	return clr_http_reply_status(req, 200);
}

/* --- namespaces ------------------------------------------------------------------ */

/* What the namespace routes read: every current record, streamed. */
struct ns_scan {
	json_t *namespaces;   /* {ns: VersionFormat} */
	const char *want_ns;  /* only records of this namespace ... */
	const char *want_name;/* ... (and this name), into vulns */
	json_t *vulns;        /* {name: v1 Vulnerability with FixedIn} */
};

static void record_namespace(char *out, size_t n, const struct clr_vuln *v)
{
	if (!clr_vindex_namespace(out, n, v->dist_did, v->dist_version_id,
				  v->dist_version_code_name, v->repo_name))
		*out = '\0';
	v1_namespace_name(out, n);
}

static int scan_record(const struct clr_vuln *v, void *arg)
{
	struct ns_scan *sc = arg;
	char ns[256];
	json_t *o, *fixed;

	record_namespace(ns, sizeof(ns), v);
	if (!*ns)
		return 0;
	if (!json_object_get(sc->namespaces, ns))
		json_object_set_new(sc->namespaces, ns,
				    json_string(v1_version_format(v->version_scheme)));
	if (!sc->want_ns || strcmp(ns, sc->want_ns) ||
	    (sc->want_name && strcmp(v->name, sc->want_name)))
		return 0;
	if (!(o = json_object_get(sc->vulns, v->name))) {
		char *link = first_link(v->links);

		o = json_object();
		set_str(o, "Name", v->name);
		set_str(o, "NamespaceName", ns);
		set_str(o, "Description", v->description);
		set_str(o, "Link", link);
		set_str(o, "Severity", clr_severity_name(v->normalized_severity));
		json_object_set_new(o, "FixedIn", json_array());
		json_object_set_new(sc->vulns, v->name, o);
		free(link);
	}
	fixed = json_object();
	set_str(fixed, "Name", v->package_name);
	set_str(fixed, "NamespaceName", ns);
	set_str(fixed, "VersionFormat", v1_version_format(v->version_scheme));
	set_str(fixed, "Version", v->fixed_in_version);
	json_array_append_new(json_object_get(o, "FixedIn"), fixed);
	return 0;
}

static int scan_store(struct clr_http_request *req, struct ns_scan *sc)
{
	struct clr_service *svc = clr_http_service(req);
	struct clr_store *st;
	int err;

	sc->namespaces = json_object();
	sc->vulns = json_object();
	if ((err = clr_service_store_acquire(svc, &st)))
		return err;
	err = clr_store_vulns_current(st, scan_record, sc);
	clr_service_store_release(svc, st, err);
	return err;
}

static void scan_release(struct ns_scan *sc)
{
	json_decref(sc->namespaces);
	json_decref(sc->vulns);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of o, sorted (borrowed from o); *n of them. */
static const char **sorted_keys(json_t *o, size_t *n)
{
	const char **k = clr_calloc(json_object_size(o) + 1, sizeof(*k)), *key;
	json_t *v;

	*n = 0;
	json_object_foreach(o, key, v)
		k[(*n)++] = key;
	qsort(k, *n, sizeof(*k), str_cmp);
	return k;
}

static int get_namespaces(struct clr_http_request *req)
{
	struct ns_scan sc = { NULL, NULL, NULL, NULL };
	const char **keys;
	json_t *arr;
	size_t n, i;
	int err;

	if ((err = scan_store(req, &sc))) {
		scan_release(&sc);
		return v1_store_error(req, err);
	}
	keys = sorted_keys(sc.namespaces, &n);
	arr = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(arr, json_pack("{s:s, s:s}", "Name", keys[i],
						     "VersionFormat",
						     jstr(sc.namespaces, keys[i])));
	free(keys);
	scan_release(&sc);
	/* Clair v2 answered a pointer to a nil slice: null, not [], when
	 * there is nothing (likewise for a page of vulnerabilities). */
	if (!json_array_size(arr)) {
		json_decref(arr);
		arr = json_null();
	}
	return v1_reply(req, 200, json_pack("{s:o}", "Namespaces", arr));
}

static int get_ns_vulns(struct clr_http_request *req)
{
	const char *ns = clr_http_capture(req, 0);
	const char *limit_s = clr_http_query(req, "limit");
	const char *page = clr_http_query(req, "page");
	struct ns_scan sc = { NULL, ns, NULL, NULL };
	const char **keys;
	char *end;
	long limit, start = 0;
	size_t n, i;
	json_t *arr, *out;
	int err;

	/* "limit REQUIRED (int >= 0)", with Clair v2's three messages
	 * (getVulnerabilities in api/v1/routes.go); strconv.Atoi takes an
	 * optional sign and digits, nothing else. */
	if (!limit_s)
		return v1_error(req, 400, "must provide limit query parameter");
	end = (char *)limit_s + (*limit_s == '+' || *limit_s == '-');
	if (!*end || strspn(end, "0123456789") != strlen(end))
		return v1_error(req, 400, "invalid limit format: strconv.Atoi: "
				"parsing \"%s\": invalid syntax", limit_s);
	limit = strtol(limit_s, &end, 10);
	if (limit < 0)
		return v1_error(req, 400, "limit value should not be less than "
				"zero");
	if (limit > V1_MAX_LIMIT)
		limit = V1_MAX_LIMIT;
	/* The page token is opaque to clients; clarion's is the offset.  A
	 * token that is not one of ours gets Clair's answer to a bad or
	 * expired Fernet token. */
	if (page) {
		start = strtol(page, &end, 10);
		if (!*page || *end || start < 0 || *page == '-' || *page == '+' ||
		    *page == ' ')
			return v1_error(req, 400, "invalid page format: invalid or "
					"expired pagination token");
	}
	if ((err = scan_store(req, &sc))) {
		scan_release(&sc);
		return v1_store_error(req, err);
	}
	if (!json_object_get(sc.namespaces, ns)) {
		scan_release(&sc);
		return v1_error(req, 404, "the resource cannot be found");
	}
	keys = sorted_keys(sc.vulns, &n);
	arr = json_array();
	for (i = (size_t)start; i < n && (long)(i - (size_t)start) < limit; i++) {
		json_t *v = json_deep_copy(json_object_get(sc.vulns, keys[i]));

		json_object_del(v, "FixedIn");
		json_array_append_new(arr, v);
	}
	if (!json_array_size(arr)) {
		json_decref(arr);
		arr = json_null();
	}
	out = json_pack("{s:o}", "Vulnerabilities", arr);
	if (i < n) {
		char next[32];

		snprintf(next, sizeof(next), "%zu", i);
		json_object_set_new(out, "NextPage", json_string(next));
	}
	free(keys);
	scan_release(&sc);
	return v1_reply(req, 200, out);
}

static int get_ns_vuln(struct clr_http_request *req)
{
	const char *ns = clr_http_capture(req, 0), *name = clr_http_capture(req, 1);
	struct ns_scan sc = { NULL, ns, name, NULL };
	json_t *v;
	int err;

	if ((err = scan_store(req, &sc))) {
		scan_release(&sc);
		return v1_store_error(req, err);
	}
	v = json_object_get(sc.vulns, name);
	if (!v) {
		scan_release(&sc);
		return v1_error(req, 404, "the resource cannot be found");
	}
	/* FixedIn only with ?fixedIn, as Clair v2's getVulnerability. */
	if (!clr_http_query(req, "fixedIn"))
		json_object_del(v, "FixedIn");
	err = v1_reply(req, 200, json_pack("{s:O}", "Vulnerability", v));
	scan_release(&sc);
	return err;
}

/* --- GET /health (Clair v2's health port) ---------------------------------------- */

int clr_http_v1_health(struct clr_http_request *req)
{
	struct clr_service *svc = clr_http_service(req);
	struct clr_store *st;
	int64_t n;
	int err;

	/* "GET /health returns 200 when the DB ping works and 500
	 * otherwise; there is no body.  Header Server: clair." */
	clr_http_add_header(req, "Server", "clair");
	if ((err = clr_service_store_acquire(svc, &st)))
		return clr_http_reply_status(req, 500);
	err = clr_store_update_counter(st, &n);
	clr_service_store_release(svc, st, err);
	return clr_http_reply_status(req, err ? 500 : 200);
}

const struct clr_http_route clr_http_v1_routes[] = {
	{ "POST", "/v1/layers", post_layer, "v1_layers", CLR_HTTP_LIMITED },
	{ "GET", "/v1/layers/{}", get_layer, "v1_layer", 0 },
	{ "DELETE", "/v1/layers/{}", delete_layer, "v1_layer_delete", 0 },
	{ "GET", "/v1/namespaces", get_namespaces, "v1_namespaces", 0 },
	{ "GET", "/v1/namespaces/{}/vulnerabilities", get_ns_vulns,
	  "v1_namespace_vulnerabilities", 0 },
	{ "GET", "/v1/namespaces/{}/vulnerabilities/{}", get_ns_vuln,
	  "v1_namespace_vulnerability", 0 },
	{ NULL, NULL, NULL, NULL, 0 },
};
