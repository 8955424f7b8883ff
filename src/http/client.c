/*
 * client.c - a Clair v4 API client (see client.h).
 *
 * The Manifest is built as clairctl's `manifest` command builds it: the
 * image is resolved through the registry code (platform, index, digest
 * checks), and each layer's uri is the registry's blob URL with the
 * Authorization value the registry wants (a pull token for the repository,
 * or Basic credentials).  The server then fetches the layers itself; the
 * token goes only to the registry's origin (clr_registry_open_url).
 */
#include "http/client.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http/jwt.h"
#include "image/image.h"
#include "image/registry.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/error.h"

#define BODY_MAX (512u << 20)   /* a vulnerability report, at most */
#define DEFAULT_SERVER "http://localhost:6060"

int clr_client_manifest(json_t **out, const char *image,
			const struct clr_source_opts *opts)
{
	struct clr_image_source *src = NULL;
	struct clr_image *img = NULL;
	json_t *m = NULL, *layers;
	int err;

	*out = NULL;
	if ((err = clr_image_source_open(&src, image, opts)))
		return err;
	if (strcmp(src->ops->transport, "docker")) {
		err = clr_error_set(CLR_EUNSUPPORTED, "%s: only registry images can "
				    "be sent to a server (the server fetches the "
				    "layers itself)", image);
		goto out;
	}
	if ((err = clr_image_resolve(&img, src, opts ? opts->platform : NULL)))
		goto out;
	layers = json_array();
	m = json_pack("{s:s, s:o}", "hash", img->manifest_digest, "layers", layers);
	for (size_t i = 0; i < img->n_layers; i++) {
		char *url = NULL, *authz = NULL;
		json_t *l, *h = json_object();

		if ((err = clr_registry_blob_location(src, img->layers[i].digest, &url,
						      &authz))) {
			json_decref(h);
			goto out;
		}
		if (authz)
			json_object_set_new(h, "Authorization", json_pack("[s]", authz));
		l = json_pack("{s:s, s:s, s:o}", "hash", img->layers[i].digest,
			      "uri", url, "headers", h);
		if (img->layers[i].media_type && *img->layers[i].media_type)
			json_object_set_new(l, "media_type",
					    json_string(img->layers[i].media_type));
		json_array_append_new(layers, l);
		if (authz) {
			explicit_bzero(authz, strlen(authz));
			free(authz);
		}
		free(url);
	}
	*out = m;
	m = NULL;
out:
	json_decref(m);
	clr_image_free(img);
	clr_image_source_free(src);
	return err;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
	return clr_buf_add(ud, p, size * nmemb) ? 0 : size * nmemb;
}

/* A bearer token signed with the client's PSK, or NULL. */
static int bearer(const struct clr_client *c, char **out)
{
	size_t len = strlen(c->psk), padded = (len + 3) / 4 * 4;
	char *in = clr_calloc(padded + 1, 1), *tok = NULL;
	unsigned char *key = clr_malloc(padded / 4 * 3 + 1);
	size_t pad = 0;
	int n, err;

	memcpy(in, c->psk, len);
	for (size_t i = len; i < padded; i++)
		in[i] = '=';
	for (size_t i = padded; i > 0 && in[i - 1] == '='; i--)
		pad++;
	n = EVP_DecodeBlock(key, (unsigned char *)in, (int)padded);
	free(in);
	if (n < 0 || (size_t)n <= pad) {
		free(key);
		return clr_error_set(CLR_EINVALID, "the pre-shared key is not base64");
	}
	err = clr_jwt_sign(&tok, key, (size_t)n - pad, c->issuer ? c->issuer
			   : "clairctl", (int64_t)time(NULL), 60);
	explicit_bzero(key, (size_t)n);
	free(key);
	if (err)
		return err;
	*out = tok;
	return 0;
}

/* One request; *status and the body in out. */
static int exchange(const struct clr_client *c, const char *method,
		    const char *path, const char *body, long *status,
		    struct clr_buf *out)
{
	const char *server = c->server ? c->server : DEFAULT_SERVER;
	size_t n = strlen(server) + strlen(path) + 2;
	char *url = clr_malloc(n), errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs = NULL;
	char *tok = NULL, *line = NULL;
	CURL *curl;
	CURLcode cc;
	int err = 0;

	snprintf(url, n, "%s%s", server, path);
	/* No "//" when the base URL ends in '/' (clarion would cope; Clair's
	 * router would too, but a proxy in between may not). */
	if (*server && server[strlen(server) - 1] == '/')
		memmove(url + strlen(server) - 1, url + strlen(server), strlen(path) + 1);
	if (c->psk) {
		if ((err = bearer(c, &tok))) {
			free(url);
			return err;
		}
		line = clr_malloc(strlen(tok) + 32);
		sprintf(line, "Authorization: Bearer %s", tok);
		hdrs = curl_slist_append(hdrs, line);
	}
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	if (body)
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	if (!(curl = curl_easy_init()))
		abort();
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	if (body)
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "clarion");
	curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, c->timeout_secs > 0 ? c->timeout_secs
			 : 600L);
	if (c->insecure) {
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, out);
	cc = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
	if (cc != CURLE_OK)
		err = clr_error_set(cc == CURLE_WRITE_ERROR ? CLR_ELIMIT : CLR_ENET,
				    "%s %s: %s", method, url,
				    *errbuf ? errbuf : curl_easy_strerror(cc));
	curl_easy_cleanup(curl);
	curl_slist_free_all(hdrs);
	if (tok) {
		explicit_bzero(line, strlen(line));
		free(line);
		free(tok);
	}
	free(url);
	return err;
}

/* A non-success answer as an error, with the server's own message. */
static int answer_error(const char *what, long status, const struct clr_buf *body)
{
	json_t *j = json_loadb(clr_buf_str(body), body->len, 0, NULL);
	const char *msg = json_string_value(json_object_get(j, "message"));
	char text[512];
	int code;

	snprintf(text, sizeof(text), "%s", msg ? msg : body->len ? "(not a Clair "
		 "error body)" : "(empty answer)");
	json_decref(j);
	code = status == 401 ? CLR_EAUTH : status == 429 ? CLR_EBUSY
	       : status >= 500 ? CLR_ENET : status == 404 ? CLR_ENOTFOUND
	       : CLR_EINVALID;
	return clr_error_set(code, "%s: HTTP %ld: %s", what, status, text);
}

static int parse(json_t **out, const char *what, const struct clr_buf *body)
{
	json_error_t jerr;

	if (!(*out = json_loadb(clr_buf_str(body), body->len, 0, &jerr)))
		return clr_error_set(CLR_EINVALID, "%s: the answer is not JSON: %s",
				     what, jerr.text);
	return 0;
}

int clr_client_index(json_t **out, const struct clr_client *c,
		     const json_t *manifest)
{
	struct clr_buf body = CLR_BUF_INIT(BODY_MAX);
	char *text = json_dumps(manifest, JSON_COMPACT);
	const char *what = "index request";
	long status = 0;
	int err;

	*out = NULL;
	err = exchange(c, "POST", "/indexer/api/v1/index_report", text, &status, &body);
	free(text);
	if (!err && status != 201 && status != 200)
		err = answer_error(what, status, &body);
	if (!err)
		err = parse(out, what, &body);
	if (!err && json_is_false(json_object_get(*out, "success"))) {
		const char *why = json_string_value(json_object_get(*out, "err"));

		err = clr_error_set(CLR_EINVALID, "the server could not index the "
				    "image: %s", why ? why : "(no reason given)");
		json_decref(*out);
		*out = NULL;
	}
	clr_buf_release(&body);
	return err;
}

int clr_client_vulnerability_report(json_t **out, const struct clr_client *c,
				    const char *digest)
{
	struct clr_buf body = CLR_BUF_INIT(BODY_MAX);
	const char *what = "vulnerability report";
	char path[256];
	long status = 0;
	int err;

	*out = NULL;
	snprintf(path, sizeof(path), "/matcher/api/v1/vulnerability_report/%s", digest);
	err = exchange(c, "GET", path, NULL, &status, &body);
	if (!err && status == 202)
		err = clr_error_set(CLR_EBUSY, "%s: the server has no vulnerability "
				    "data yet (HTTP 202); try again when its "
				    "updaters have run", what);
	else if (!err && status != 200)
		err = answer_error(what, status, &body);
	if (!err)
		err = parse(out, what, &body);
	clr_buf_release(&body);
	return err;
}

int clr_client_report(json_t **out, const struct clr_client *c,
		      const char *image, const struct clr_source_opts *opts)
{
	json_t *m = NULL, *ir = NULL;
	int err;

	*out = NULL;
	if ((err = clr_client_manifest(&m, image, opts)))
		return err;
	if (!(err = clr_client_index(&ir, c, m)))
		err = clr_client_vulnerability_report(
			out, c, json_string_value(json_object_get(m, "hash")));
	json_decref(ir);
	json_decref(m);
	return err;
}
