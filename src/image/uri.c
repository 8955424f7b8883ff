/*
 * uri.c - a Clair v4 Manifest and the source of its layers (see uri.h).
 *
 * The downloading is registry.c's (clr_registry_open_url): one libcurl
 * client with its retries, timeouts, hand-followed redirects and the rule
 * that client-given headers go only to the origin they came with.
 */
#include "image/uri.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "image/registry.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/sha256.h"

void clr_uri_manifest_free(struct clr_uri_manifest *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n_layers; i++) {
		struct clr_uri_layer *l = &m->layers[i];

		free(l->hash);
		free(l->uri);
		free(l->media_type);
		for (size_t k = 0; l->headers && l->headers[k]; k++) {
			/* They may carry credentials. */
			explicit_bzero(l->headers[k], strlen(l->headers[k]));
			free(l->headers[k]);
		}
		free(l->headers);
	}
	free(m->layers);
	free(m->hash);
	free(m);
}

bool clr_uri_digest_valid(const char *s)
{
	size_t want, i;

	if (!strncmp(s, "sha256:", 7))
		want = 64;
	else if (!strncmp(s, "sha512:", 7))
		want = 128;
	else
		return false;
	for (i = 0; s[7 + i]; i++)
		if (!((s[7 + i] >= '0' && s[7 + i] <= '9') ||
		      (s[7 + i] >= 'a' && s[7 + i] <= 'f')))
			return false;
	return i == want;
}

/* An HTTP token (RFC 9110): a header name. */
static bool token_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!strchr("!#$%&'*+-.^_`|~", *s) &&
		    !((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= 'A' && *s <= 'Z')))
			return false;
	return true;
}

/* A header value: no control characters (no header injection). */
static bool value_ok(const char *s)
{
	for (; *s; s++)
		if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
			return false;
	return true;
}

static int parse_headers(struct clr_uri_layer *l, json_t *h, size_t li)
{
	const char *name;
	json_t *vals;
	size_t n = 0;

	l->headers = clr_calloc(CLR_URI_MAX_HEADERS + 1, sizeof(*l->headers));
	if (!h || json_is_null(h))
		return 0;
	if (!json_is_object(h))
		return clr_error_set(CLR_EINVALID, "layers[%zu].headers: expected an "
				     "object of header name to list of values", li);
	json_object_foreach(h, name, vals) {
		size_t k;
		json_t *v;

		if (!token_ok(name))
			return clr_error_set(CLR_EINVALID, "layers[%zu].headers: '%.64s' "
					     "is not a header name", li, name);
		if (json_is_string(vals)) {
			/* Tolerated: one value instead of a list of one. */
			vals = json_pack("[O]", vals);
		} else if (json_is_array(vals)) {
			json_incref(vals);
		} else {
			return clr_error_set(CLR_EINVALID, "layers[%zu].headers.%.64s: "
					     "expected a list of strings", li, name);
		}
		json_array_foreach(vals, k, v) {
			const char *s = json_string_value(v);
			size_t len;

			if (!s || !value_ok(s)) {
				json_decref(vals);
				return clr_error_set(CLR_EINVALID, "layers[%zu].headers."
						     "%.64s[%zu]: expected a string "
						     "without control characters",
						     li, name, k);
			}
			if (n == CLR_URI_MAX_HEADERS) {
				json_decref(vals);
				return clr_error_set(CLR_ELIMIT, "layers[%zu].headers: "
						     "more than %d values", li,
						     CLR_URI_MAX_HEADERS);
			}
			len = strlen(name) + strlen(s) + 3;
			if (len > CLR_URI_MAX_HEADER) {
				json_decref(vals);
				return clr_error_set(CLR_ELIMIT, "layers[%zu].headers."
						     "%.64s: longer than %d bytes",
						     li, name, CLR_URI_MAX_HEADER);
			}
			l->headers[n] = clr_malloc(len);
			snprintf(l->headers[n++], len, "%s: %s", name, s);
		}
		json_decref(vals);
	}
	return 0;
}

static int parse_layer(struct clr_uri_layer *l, json_t *o, size_t i)
{
	json_t *v;
	const char *hash, *uri, *mt = "";

	if (!json_is_object(o))
		return clr_error_set(CLR_EINVALID, "layers[%zu]: expected an object", i);
	/* Other members are ignored: the OpenAPI schema says
	 * additionalProperties: false, but Clair decodes with Go's
	 * encoding/json, which skips them, and clients send some (e.g.
	 * allow_redirect). */
	hash = json_string_value(json_object_get(o, "hash"));
	uri = json_string_value(json_object_get(o, "uri"));
	if ((v = json_object_get(o, "media_type")) && !json_is_null(v) &&
	    !(mt = json_string_value(v)))
		return clr_error_set(CLR_EINVALID, "layers[%zu].media_type: expected "
				     "a string", i);
	if (!hash)
		return clr_error_set(CLR_EINVALID, "layers[%zu].hash: missing", i);
	if (clr_digest_parse(NULL, hash))
		return clr_error_set(CLR_EINVALID, "layers[%zu].hash: '%.80s' is not "
				     "a sha256 digest (sha256: and 64 lowercase hex "
				     "digits)", i, hash);
	if (!uri || !*uri)
		return clr_error_set(CLR_EINVALID, "layers[%zu].uri: missing", i);
	if (strlen(uri) > CLR_URI_MAX_URI)
		return clr_error_set(CLR_ELIMIT, "layers[%zu].uri: longer than %d "
				     "bytes", i, CLR_URI_MAX_URI);
	if ((strncasecmp(uri, "http://", 7) && strncasecmp(uri, "https://", 8)) ||
	    !value_ok(uri))
		return clr_error_set(CLR_EINVALID, "layers[%zu].uri: '%.80s' is not "
				     "an http:// or https:// URL", i, uri);
	l->hash = clr_strdup(hash);
	l->uri = clr_strdup(uri);
	l->media_type = clr_strdup(mt);
	return parse_headers(l, json_object_get(o, "headers"), i);
}

int clr_uri_manifest_parse(struct clr_uri_manifest **out, const char *json,
			   size_t len)
{
	struct clr_uri_manifest *m = NULL;
	json_error_t jerr;
	json_t *root, *layers;
	const char *hash;
	int err = 0;

	*out = NULL;
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return clr_error_set(CLR_EINVALID, "manifest is not JSON: %s "
				     "(line %d)", jerr.text, jerr.line);
	if (!json_is_object(root)) {
		err = clr_error_set(CLR_EINVALID, "manifest: expected a JSON object");
		goto out;
	}
	hash = json_string_value(json_object_get(root, "hash"));
	layers = json_object_get(root, "layers");
	if (!hash || !*hash || !json_is_array(layers) || !json_array_size(layers)) {
		err = clr_error_set(CLR_EINVALID, "bogus manifest: a hash and at "
				    "least one layer are required");
		goto out;
	}
	if (!clr_uri_digest_valid(hash)) {
		err = clr_error_set(CLR_EINVALID, "manifest hash '%.80s' is not a "
				    "digest (sha256: and 64 lowercase hex digits)",
				    hash);
		goto out;
	}
	if (json_array_size(layers) > CLR_URI_MAX_LAYERS) {
		err = clr_error_set(CLR_ELIMIT, "manifest has %zu layers; at most "
				    "%d are accepted", json_array_size(layers),
				    CLR_URI_MAX_LAYERS);
		goto out;
	}
	m = clr_calloc(1, sizeof(*m));
	m->hash = clr_strdup(hash);
	m->layers = clr_calloc(json_array_size(layers), sizeof(*m->layers));
	for (size_t i = 0; i < json_array_size(layers); i++) {
		m->n_layers = i + 1;
		if ((err = parse_layer(&m->layers[i], json_array_get(layers, i), i)))
			goto out;
	}
	*out = m;
	m = NULL;
out:
	clr_uri_manifest_free(m);
	json_decref(root);
	return err;
}

void clr_uri_manifest_image(struct clr_image **out,
			    const struct clr_uri_manifest *m)
{
	struct clr_image *img = clr_calloc(1, sizeof(*img));

	img->name = clr_strdup(m->hash);
	img->manifest_digest = clr_strdup(m->hash);
	img->config_size = -1;
	img->layers = clr_calloc(m->n_layers, sizeof(*img->layers));
	img->n_layers = m->n_layers;
	for (size_t i = 0; i < m->n_layers; i++) {
		img->layers[i].digest = clr_strdup(m->layers[i].hash);
		img->layers[i].media_type = clr_strdup(m->layers[i].media_type);
		img->layers[i].size = -1;
		img->layers[i].compression =
			clr_compression_from_media_type(m->layers[i].media_type);
	}
	*out = img;
}

struct uri_source {
	struct clr_image_source base;
	const struct clr_uri_manifest *m;
	struct clr_source_opts opts;
};

static int uri_get_manifest(struct clr_image_source *src, const char *digest,
			    char **bytes, size_t *len, char **media_type)
{
	(void)src, (void)digest, (void)bytes, (void)len, (void)media_type;
	return clr_error_set(CLR_EUNSUPPORTED, "a Clair manifest has no "
			     "manifest document to fetch");
}

static int uri_open_blob(struct clr_stream **out, struct clr_image_source *src,
			 const char *digest)
{
	struct uri_source *u = (struct uri_source *)src;

	*out = NULL;
	for (size_t i = 0; i < u->m->n_layers; i++) {
		const struct clr_uri_layer *l = &u->m->layers[i];
		char what[200];

		if (strcmp(l->hash, digest))
			continue;
		snprintf(what, sizeof(what), "layer %s", l->hash);
		return clr_registry_open_url(out, l->uri,
					     (const char *const *)l->headers, what,
					     &u->opts);
	}
	return clr_error_set(CLR_ENOTFOUND, "no layer %s in manifest %s", digest,
			     u->m->hash);
}

static void uri_free(struct clr_image_source *src)
{
	if (!src)
		return;
	free(src->name);
	free(src);
}

static const struct clr_image_source_ops uri_ops = {
	.transport = "clair-manifest",
	.get_manifest = uri_get_manifest,
	.open_blob = uri_open_blob,
	.free = uri_free,
};

int clr_uri_source_open(struct clr_image_source **out,
			const struct clr_uri_manifest *m,
			const struct clr_source_opts *opts)
{
	struct uri_source *u = clr_calloc(1, sizeof(*u));

	u->base.ops = &uri_ops;
	u->base.name = clr_strdup(m->hash);
	u->m = m;
	if (opts)
		u->opts = *opts;
	*out = &u->base;
	return 0;
}
