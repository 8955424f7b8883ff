/*
 * clair.c - Klar's Clair side (clair/clair.go and clair/api.go of klar
 * v2.4.0, reference/klar.md §5): every layer POSTed to /v1/layers base
 * first, one at a time, then one GET of the top layer with
 * ?vulnerabilities; errors worded exactly as Klar words them, since Klar
 * prints them and users grep for them.
 *
 * API v3 is a gRPC service that no released Clair speaks and clarion does
 * not either.  Klar only tries it after v1 failed; clr_klar_analyze_v3()
 * reproduces the message Klar prints in the two cases that occur in
 * practice (klar.md §5: an HTTP-only server, nothing listening) without
 * speaking gRPC.
 */
#include "klar/klar.h"

#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "klar/internal.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/error.h"

/* "layers whose digest equals the well-known empty gzip tar ... are
 * dropped before talking to Clair.  No other digest is treated as
 * empty." */
#define EMPTY_LAYER \
	"sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4"

void clr_klar_filter_empty(struct clr_klar_image *img)
{
	size_t kept = 0;

	for (size_t i = 0; i < img->nlayers; i++) {
		if (!strcmp(img->layers[i], EMPTY_LAYER)) {
			free(img->layers[i]);
			continue;
		}
		img->layers[kept++] = img->layers[i];
	}
	img->nlayers = kept;
}

/* The request body, as Go's json.Marshal writes klar's layerEnvelope
 * (observed byte for byte: "Features":null, no Error key). */
static char *layer_body(const struct clr_klar_image *img, size_t i)
{
	struct clr_buf b = CLR_BUF_INIT((size_t)1 << 24), path = CLR_BUF_INIT((size_t)1 << 20);
	char *name = clr_klar_layer_name(img, i);
	char *parent = i ? clr_klar_layer_name(img, i - 1) : clr_strdup("");

	clr_buf_printf(&path, "%s/%s/blobs/%s", img->registry, img->name,
		       img->layers[i]);
	clr_buf_addstr(&b, "{\"Layer\":{\"Name\":");
	clr_klar_json_string(&b, name);
	clr_buf_addstr(&b, ",\"Path\":");
	clr_klar_json_string(&b, clr_buf_str(&path));
	clr_buf_addstr(&b, ",\"ParentName\":");
	clr_klar_json_string(&b, parent);
	clr_buf_addstr(&b, ",\"Format\":\"Docker\",\"Features\":null,"
		       "\"Headers\":{\"Authorization\":");
	clr_klar_json_string(&b, img->token);
	clr_buf_addstr(&b, "}}}");
	free(name);
	free(parent);
	clr_buf_release(&path);
	return clr_buf_detach(&b, NULL);
}

/* What Go's json package says about a body that is not JSON. */
static void json_syntax_error(char *out, size_t size, const struct clr_buf *body,
			      int decoder)
{
	const char *p = clr_buf_str(body), *end = p + body->len;

	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	if (p == end)
		/* json.Unmarshal vs json.Decoder.Decode on nothing. */
		snprintf(out, size, "%s", decoder ? "EOF" :
			 "unexpected end of JSON input");
	else if (strchr("{[\"-0123456789tfn", *p))
		snprintf(out, size, "unexpected end of JSON input");
	else
		snprintf(out, size, "invalid character '%c' looking for "
			 "beginning of value", *p);
}

static const char *kind(json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "object";
	case JSON_ARRAY: return "array";
	case JSON_STRING: return "string";
	case JSON_INTEGER:
	case JSON_REAL: return "number";
	default: return "bool";
	}
}

/* A string field of a Go struct: "" for absent or null, an error for
 * another type (Go's UnmarshalTypeError; the decode goes on and the first
 * such error is returned, which a v1 failure reports). */
static const char *str_field(json_t *o, const char *key, const char *strct,
			     char *err, size_t esize)
{
	json_t *v = clr_klar_json_fold_get(o, key);

	if (!v || json_is_null(v))
		return "";
	if (json_is_string(v))
		return json_string_value(v);
	if (!*err)
		snprintf(err, esize, "json: cannot unmarshal %s into Go struct "
			 "field %s.%s of type string", kind(v), strct, key);
	return "";
}

/* One element of a feature's Vulnerabilities into out (klar's
 * clair.Vulnerability); the first type error is kept in terr. */
static void decode_vuln(struct clr_klar_vulns *out, json_t *v,
			const char *fname, const char *fversion, char *terr,
			size_t tsize)
{
	static const char st[] = "Vulnerability";
	struct clr_klar_vuln kv = {
		.name = NULL, .namespace_name = NULL, .description = NULL,
		.link = NULL, .severity = NULL, .fixed_by = NULL,
		.metadata = NULL, .fixed_in = NULL,
		.feature_name = (char *)fname, .feature_version = (char *)fversion,
	};
	json_t *md, *fi;

	if (!json_is_object(v) && !json_is_null(v)) {
		if (!*terr)
			snprintf(terr, tsize, "json: cannot unmarshal %s into Go "
				 "struct field Feature.Vulnerabilities of type "
				 "clair.Vulnerability", kind(v));
		return;
	}
	/* null decodes as the zero Vulnerability, which Klar keeps. */
	kv.name = (char *)str_field(v, "Name", st, terr, tsize);
	kv.namespace_name = (char *)str_field(v, "NamespaceName", st, terr, tsize);
	kv.description = (char *)str_field(v, "Description", st, terr, tsize);
	kv.link = (char *)str_field(v, "Link", st, terr, tsize);
	kv.severity = (char *)str_field(v, "Severity", st, terr, tsize);
	kv.fixed_by = (char *)str_field(v, "FixedBy", st, terr, tsize);
	md = json_is_object(v) ? clr_klar_json_fold_get(v, "Metadata") : NULL;
	if (md && !json_is_null(md) && !json_is_object(md) && !*terr)
		snprintf(terr, tsize, "json: cannot unmarshal %s into Go struct "
			 "field Vulnerability.Metadata of type "
			 "map[string]interface {}", kind(md));
	fi = json_is_object(v) ? clr_klar_json_fold_get(v, "FixedIn") : NULL;
	if (fi && !json_is_null(fi) && !json_is_array(fi) && !*terr)
		snprintf(terr, tsize, "json: cannot unmarshal %s into Go struct "
			 "field Vulnerability.FixedIn of type []clair.Feature",
			 kind(fi));
	kv.metadata = json_is_object(md) ? md : NULL;
	kv.fixed_in = json_is_array(fi) ? fi : NULL;
	clr_klar_vulns_add(out, &kv);
}

int clr_klar_decode_layer(struct clr_klar_vulns *out, const char *text,
			  size_t len)
{
	struct clr_buf whole = { (char *)text, len, len + 1, len + 1 };
	const struct clr_buf *body = &whole;
	/* Go's Decoder reads one value and leaves the rest; numbers in
	 * Metadata become float64, whatever their size. */
	json_t *j = json_loadb(text, len, JSON_DISABLE_EOF_CHECK |
			       JSON_DECODE_INT_AS_REAL, NULL);
	json_t *layer, *features, *f;
	char terr[512] = "";
	size_t i;

	if (!j) {
		char msg[256];

		json_syntax_error(msg, sizeof(msg), body, 1);
		return clr_error_set(CLR_EINVALID, "%s", msg);
	}
	if (!json_is_object(j) && !json_is_null(j)) {
		clr_error_set(CLR_EINVALID, "json: cannot unmarshal %s into Go "
			      "value of type clair.layerEnvelope", kind(j));
		json_decref(j);
		return CLR_EINVALID;
	}
	layer = json_is_object(j) ? clr_klar_json_fold_get(j, "Layer") : NULL;
	if (layer && !json_is_null(layer) && !json_is_object(layer)) {
		clr_error_set(CLR_EINVALID, "json: cannot unmarshal %s into Go "
			      "struct field layerEnvelope.Layer of type "
			      "clair.layer", kind(layer));
		json_decref(j);
		return CLR_EINVALID;
	}
	if (!layer || json_is_null(layer)) {
		/* "If Layer is missing or null, klar crashes with a
		 * nil-pointer panic (exit code 2; observed)." */
		json_decref(j);
		return clr_error_set(CLR_ERROR, "panic: runtime error: invalid "
				     "memory address or nil pointer dereference\n"
				     "[signal SIGSEGV: segmentation violation "
				     "code=0x1 addr=0x0 pc=0x0]");
	}
	features = clr_klar_json_fold_get(layer, "Features");
	if (features && !json_is_null(features) && !json_is_array(features))
		snprintf(terr, sizeof(terr), "json: cannot unmarshal %s into Go "
			 "struct field layer.Features of type []clair.Feature",
			 kind(features));
	json_array_foreach(json_is_array(features) ? features : NULL, i, f) {
		json_t *vulns, *v;
		const char *fname, *fversion;
		size_t k;

		if (json_is_null(f))
			continue;
		if (!json_is_object(f)) {
			if (!*terr)
				snprintf(terr, sizeof(terr), "json: cannot unmarshal "
					 "%s into Go struct field layer.Features of "
					 "type clair.Feature", kind(f));
			continue;
		}
		fname = str_field(f, "Name", "Feature", terr, sizeof(terr));
		fversion = str_field(f, "Version", "Feature", terr, sizeof(terr));
		vulns = clr_klar_json_fold_get(f, "Vulnerabilities");
		if (vulns && !json_is_null(vulns) && !json_is_array(vulns) && !*terr)
			snprintf(terr, sizeof(terr), "json: cannot unmarshal %s "
				 "into Go struct field Feature.Vulnerabilities of "
				 "type []clair.Vulnerability", kind(vulns));
		json_array_foreach(json_is_array(vulns) ? vulns : NULL, k, v)
			decode_vuln(out, v, fname, fversion, terr, sizeof(terr));
	}
	json_decref(j);
	if (*terr)
		return clr_error_set(CLR_EINVALID, "%s", terr);
	return 0;
}

static int push_layer(const struct clr_klar_config *c, const char *base,
		      const struct clr_klar_image *img, size_t i, FILE *errf)
{
	struct clr_buf url = CLR_BUF_INIT((size_t)1 << 20);
	char *body = layer_body(img, i);
	struct klar_response r;
	struct klar_request req = {
		.method = "POST", .url = NULL, .authorization = NULL,
		.basic_user = NULL, .basic_password = NULL, .accept = NULL,
		.content_type = "application/json", .body = body,
		.timeout_min = c->clair_timeout_min, .insecure = 0,
		.trace = c->trace, .trace_f = errf,
	};
	int err;

	clr_buf_printf(&url, "%s/v1/layers", base);
	req.url = clr_buf_str(&url);
	err = klar_http(&r, &req);
	if (err) {
		clr_error_prefix(err, "can't push layer to Clair");
	} else if (r.status != 201) {
		/* "Any other status, 200 included, is a failure." */
		json_t *j = json_loadb(clr_buf_str(&r.body), r.body.len, 0, NULL);

		if (!j) {
			char msg[256];

			json_syntax_error(msg, sizeof(msg), &r.body, 0);
			err = clr_error_set(CLR_ENET, "can't even read an error "
					    "message: %s", msg);
		} else if (!json_is_object(j) && !json_is_null(j)) {
			err = clr_error_set(CLR_ENET, "can't even read an error "
					    "message: json: cannot unmarshal %s into "
					    "Go value of type clair.layerError", kind(j));
		} else {
			err = clr_error_set(CLR_ENET, "push error %ld: %s", r.status,
					    clr_buf_str(&r.body));
		}
		json_decref(j);
	}
	klar_response_release(&r);
	clr_buf_release(&url);
	free(body);
	return err;
}

/* clair.go's messages end in "\n" (Klar's stderr shows an extra blank
 * line after them). */
static void add_newline(int err)
{
	char *msg = clr_strdup(clr_error_msg());

	clr_error_set(err, "%s\n", msg);
	free(msg);
}

int clr_klar_analyze_v1(struct clr_klar_vulns *out,
			const struct clr_klar_config *c,
			const struct clr_klar_image *img, FILE *errf)
{
	char *base = clr_klar_v1_base(c->clair_addr), *top;
	struct clr_buf url = CLR_BUF_INIT((size_t)1 << 20);
	struct klar_response r;
	struct klar_request req = {
		.method = "GET", .url = NULL, .authorization = NULL,
		.basic_user = NULL, .basic_password = NULL, .accept = NULL,
		.content_type = NULL, .body = NULL,
		.timeout_min = c->clair_timeout_min, .insecure = 0,
		.trace = c->trace, .trace_f = errf,
	};
	int err = 0;
	size_t i;

	for (i = 0; !err && i < img->nlayers; i++)
		err = push_layer(c, base, img, i, errf);
	if (err) {
		clr_error_prefix(err, "push image %s/%s:%s to Clair failed",
				 img->registry, img->name, img->tag);
		add_newline(err);
		goto done;
	}
	/* "for schema 2 it is the last (top) non-empty layer.  For schema
	 * 1, klar asks for index 0, which after its reversal is the base
	 * layer.  That is an upstream bug." */
	top = clr_klar_layer_name(img, img->schema == 1 ? 0 : img->nlayers - 1);
	clr_buf_printf(&url, "%s/v1/layers/%s?vulnerabilities", base, top);
	free(top);
	req.url = clr_buf_str(&url);
	err = klar_http(&r, &req);
	if (!err && r.status != 200)
		err = clr_error_set(CLR_ENET, "analyze error %ld: %s", r.status,
				    clr_buf_str(&r.body));
	else if (!err)
		err = clr_klar_decode_layer(out, clr_buf_str(&r.body), r.body.len);
	klar_response_release(&r);
	if (err && strncmp(clr_error_msg(), "panic: ", 7)) {
		clr_error_prefix(err, "analyse image %s/%s:%s failed",
				 img->registry, img->name, img->tag);
		add_newline(err);
	}
done:
	clr_buf_release(&url);
	free(base);
	return err;
}

int clr_klar_analyze_v3(const struct clr_klar_config *c,
			const struct clr_klar_image *img)
{
	const char *addr = c->clair_addr, *p = strstr(addr, "://");
	char *target, *colon, *host;
	struct addrinfo hints, *ai = NULL, *a;
	int connected = 0;

	/* newAPIV3: everything up to "://" is dropped (userinfo and path
	 * stay), ":6060" appended when no colon is left. */
	target = clr_malloc(strlen(addr) + 8);
	strcpy(target, p ? p + 3 : addr);
	if (!strchr(target, ':'))
		strcat(target, ":6060");
	colon = strrchr(target, ':');
	host = clr_strndup(target, (size_t)(colon - target));
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (!getaddrinfo(host, colon + 1, &hints, &ai)) {
		for (a = ai; a && !connected; a = a->ai_next) {
			int fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);

			if (fd < 0)
				continue;
			connected = !connect(fd, a->ai_addr, a->ai_addrlen);
			close(fd);
		}
		freeaddrinfo(ai);
	}
	free(host);
	free(target);
	/* What Klar's gRPC client reports against an HTTP/1.1-only server
	 * and against a closed port (klar.md §5, observed). */
	return clr_error_set(CLR_ENET, "push image %s/%s:%s to Clair failed: "
			     "rpc error: code = Unavailable desc = %s\n",
			     img->registry, img->name, img->tag,
			     connected ? "transport is closing" :
			     "all SubConns are in TransientFailure");
}
