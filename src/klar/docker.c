/*
 * docker.c - the registry side of Klar (docker/docker.go of klar v2.4.0,
 * reference/klar.md §3): the image name split, the manifest request with
 * its odd authentication dance, and the layer list.
 *
 * This is deliberately not src/image/registry.c: Klar pings nothing,
 * checks no HTTP status, recognises only one exact challenge layout and
 * sends the resulting Authorization value on to Clair, which must then
 * fetch the blobs itself.  Reproducing that is the point, so that a CI job
 * behaves identically whichever binary it runs.  Beyond Klar 2.4.0 (as
 * klar's master branch does, and further): manifest lists and OCI indexes
 * are resolved with DOCKER_PLATFORM_OS/ARCH, and OCI image manifests are
 * read like Docker schema 2.
 */
#include "klar/klar.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "image/auth.h"
#include "klar/internal.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/error.h"

#define MT_V2 "application/vnd.docker.distribution.manifest.v2+json"
#define MT_V1 "application/vnd.docker.distribution.manifest.v1+prettyjws"
#define MT_V1_PLAIN "application/vnd.docker.distribution.manifest.v1+json"
#define MT_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_OCI "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"

/* Klar 2.4.0's Accept header, then what clarion reads beyond it. */
#define ACCEPT MT_V2 ", " MT_V1 ", " MT_LIST ", " MT_OCI ", " MT_OCI_INDEX

enum { ST_INITIAL, ST_NAME, ST_PORT, ST_TAG };

static char *join(char **parts, size_t n, const char *sep)
{
	struct clr_buf b = CLR_BUF_INIT((size_t)1 << 20);

	clr_buf_addstr(&b, "");
	for (size_t i = 0; i < n; i++) {
		if (i)
			clr_buf_addstr(&b, sep);
		clr_buf_addstr(&b, parts[i]);
	}
	return clr_buf_detach(&b, NULL);
}

/* The UTF-8 length of the character starting at s (Go ranges over a
 * string by runes, and the "last symbol" test is on a rune's index). */
static size_t rune_len(const unsigned char *s)
{
	if (*s >= 0xf0)
		return 4;
	if (*s >= 0xe0)
		return 3;
	if (*s >= 0xc0)
		return 2;
	return 1;
}

void clr_klar_image_init(struct clr_klar_image *img,
			 const struct clr_klar_config *c)
{
	const char *s = c->image;
	size_t len = strlen(s), i, start = 0, nname = 0, ntag = 0;
	char **name_parts = clr_calloc(len + 1, sizeof(char *));
	char **tag_parts = clr_calloc(len + 1, sizeof(char *));
	char *registry = clr_strdup("registry-1.docker.io"), *name = NULL;
	char *tag = clr_strdup("latest"), *port = NULL;
	int state = ST_INITIAL;
	struct clr_buf b = CLR_BUF_INIT((size_t)1 << 20);

	memset(img, 0, sizeof(*img));
	/* A port of NewImage's state machine, quirks included: a first
	 * component is a registry only with a dot or as "localhost"; a
	 * separator as the very last character stays in the last part. */
	for (i = 0; i < len; i += rune_len((const unsigned char *)s + i)) {
		char ch = s[i];
		size_t end = i;
		char *part;

		if (!(ch == ':' || ch == '/' || ch == '@' || i == len - 1))
			continue;
		if (i == len - 1)
			end = i + 1; /* "ignore a separator, include the last symbol" */
		part = clr_strndup(s + start, end > start ? end - start : 0);
		start = end + 1;
		switch (state) {
		case ST_INITIAL:
			if (!strcmp(part, "localhost") || strchr(part, '.')) {
				free(registry);
				registry = part;
				part = NULL;
				state = ch == ':' ? ST_PORT : ST_NAME;
			} else if (ch == '/') {
				/* "we got just a part of name, till next time" */
				start = 0;
				state = ST_NAME;
			} else {
				struct clr_buf nb = CLR_BUF_INIT((size_t)1 << 20);

				state = ST_TAG;
				clr_buf_printf(&nb, "library/%s", part);
				free(name);
				name = clr_buf_detach(&nb, NULL);
			}
			break;
		case ST_TAG:
			free(tag);
			tag = NULL;
			tag_parts[ntag++] = part;
			part = NULL;
			break;
		case ST_PORT:
			state = ST_NAME;
			free(port);
			port = part;
			part = NULL;
			break;
		case ST_NAME:
			if (ch == ':' || ch == '@')
				state = ST_TAG;
			name_parts[nname++] = part;
			part = NULL;
			break;
		}
		free(part);
	}
	if (port) {
		struct clr_buf rb = CLR_BUF_INIT((size_t)1 << 20);

		clr_buf_printf(&rb, "%s:%s", registry, port);
		free(registry);
		registry = clr_buf_detach(&rb, NULL);
	}
	img->name = name ? name : join(name_parts, nname, "/");
	img->tag = tag ? tag : join(tag_parts, ntag, ":");
	clr_buf_printf(&b, "%s://%s/v2", c->registry_insecure ? "http" : "https",
		       registry);
	img->registry = clr_buf_detach(&b, NULL);
	if (*c->docker_token) {
		struct clr_buf tb = CLR_BUF_INIT((size_t)1 << 20);

		clr_buf_printf(&tb, "Basic %s", c->docker_token);
		img->token = clr_buf_detach(&tb, NULL);
	} else {
		img->token = clr_strdup("");
	}
	img->digest = clr_strdup("");
	for (i = 0; i < nname; i++)
		free(name_parts[i]);
	for (i = 0; i < ntag; i++)
		free(tag_parts[i]);
	free(name_parts);
	free(tag_parts);
	free(registry);
	free(port);
}

void clr_klar_image_release(struct clr_klar_image *img)
{
	free(img->registry);
	free(img->name);
	free(img->tag);
	free(img->token);
	free(img->digest);
	for (size_t i = 0; i < img->nlayers; i++)
		free(img->layers[i]);
	free(img->layers);
	memset(img, 0, sizeof(*img));
}

/* strings.Replace(d, "sha256:", "", 1) */
static void add_trimmed(struct clr_buf *b, const char *d)
{
	const char *p = strstr(d, "sha256:");

	if (!p) {
		clr_buf_addstr(b, d);
		return;
	}
	clr_buf_add(b, d, (size_t)(p - d));
	clr_buf_addstr(b, p + 7);
}

char *clr_klar_layer_name(const struct clr_klar_image *img, size_t i)
{
	struct clr_buf b = CLR_BUF_INIT((size_t)1 << 20);

	clr_buf_addstr(&b, "");
	add_trimmed(&b, img->digest);
	add_trimmed(&b, img->layers[i]);
	return clr_buf_detach(&b, NULL);
}

static int get_manifest(struct klar_response *r, struct clr_klar_image *img,
			const struct clr_klar_config *c, const char *ref,
			FILE *errf)
{
	struct clr_buf url = CLR_BUF_INIT((size_t)1 << 20);
	struct klar_request req = {
		.method = "GET", .url = NULL, .authorization = NULL,
		.basic_user = NULL, .basic_password = NULL, .accept = ACCEPT,
		.content_type = NULL, .body = NULL,
		.timeout_min = c->docker_timeout_min,
		.insecure = c->docker_insecure, .trace = c->trace,
		.trace_f = errf,
	};
	int err;

	clr_buf_printf(&url, "%s/%s/manifests/%s", img->registry, img->name, ref);
	req.url = clr_buf_str(&url);
	if (!*img->token) {
		if (*c->docker_user) {
			/* SetBasicAuth, and the header is kept as the
			 * "token" (the v2.4.0 quirk behind its extra
			 * request, klar.md §3). */
			free(img->token);
			img->token = clr_auth_basic_value(c->docker_user, c->docker_password);
			req.authorization = img->token;
		}
	} else {
		req.authorization = img->token;
	}
	err = klar_http(r, &req);
	if (err)
		fputs("Get error\n", errf);
	clr_buf_release(&url);
	return err;
}

/* requestToken: the strict challenge pattern, the URL by concatenation. */
static int request_token(struct clr_klar_image *img,
			 const struct clr_klar_config *c,
			 const struct klar_response *r, FILE *errf)
{
	const char *h = r->www_authenticate, *p;
	char *realm = NULL, *service = NULL, *scope = NULL;
	struct clr_buf url = CLR_BUF_INIT((size_t)1 << 20);
	struct klar_response tr;
	json_t *j = NULL, *tok = NULL;
	const char *k;
	json_t *v;
	int err;

	if (!*h)
		return clr_error_set(CLR_EAUTH, "Empty Www-Authenticate");
	/* Bearer realm="(.*?)",service="(.*?)",scope="(.*?)" anywhere in the
	 * header: each lazy group ends at the first quote that is followed
	 * by what the pattern needs next. */
	for (p = strstr(h, "Bearer realm=\""); p; p = strstr(p + 1, "Bearer realm=\"")) {
		const char *a = p + 14, *e1, *b, *e2, *cc, *e3;

		if (!(e1 = strstr(a, "\",service=\"")))
			break;
		b = e1 + 11;
		if (!(e2 = strstr(b, "\",scope=\"")))
			break;
		cc = e2 + 9;
		if (!(e3 = strchr(cc, '"')))
			break;
		realm = clr_strndup(a, (size_t)(e1 - a));
		service = clr_strndup(b, (size_t)(e2 - b));
		scope = clr_strndup(cc, (size_t)(e3 - cc));
		break;
	}
	if (!realm)
		return clr_error_set(CLR_EAUTH, "Can't parse Www-Authenticate: %s", h);
	clr_buf_printf(&url, "%s?service=%s&scope=%s", realm, service, scope);
	if (*c->docker_user)
		clr_buf_printf(&url, "&account=%s", c->docker_user);
	{
		struct klar_request req = {
			.method = "GET", .url = clr_buf_str(&url),
			.authorization = NULL,
			.basic_user = *c->docker_user ? c->docker_user : NULL,
			.basic_password = c->docker_password, .accept = NULL,
			.content_type = NULL, .body = NULL,
			.timeout_min = c->docker_timeout_min,
			.insecure = c->docker_insecure, .trace = c->trace,
			.trace_f = errf,
		};

		err = klar_http(&tr, &req);
	}
	free(realm);
	free(service);
	free(scope);
	clr_buf_release(&url);
	if (err) {
		klar_response_release(&tr);
		return err;
	}
	if (tr.status != 200) {
		err = clr_error_set(CLR_EAUTH, "Token request returned %ld", tr.status);
		klar_response_release(&tr);
		return err;
	}
	j = json_loadb(tr.body.ptr ? tr.body.ptr : "", tr.body.len, 0, NULL);
	if (!j) {
		fputs("Token response decode error\n", errf);
		klar_response_release(&tr);
		return clr_error_set(CLR_EAUTH, "invalid character looking for "
				     "beginning of value");
	}
	/* The struct field Token, matched case-insensitively. */
	if (json_is_object(j))
		json_object_foreach(j, k, v)
			if (!strcasecmp(k, "token"))
				tok = v;
	free(img->token);
	{
		struct clr_buf b = CLR_BUF_INIT((size_t)1 << 20);

		clr_buf_printf(&b, "Bearer %s", json_string_value(tok) ?
			       json_string_value(tok) : "");
		img->token = clr_buf_detach(&b, NULL);
	}
	json_decref(j);
	klar_response_release(&tr);
	return 0;
}

static void set_layers(struct clr_klar_image *img, char **digests, size_t n)
{
	for (size_t i = 0; i < img->nlayers; i++)
		free(img->layers[i]);
	free(img->layers);
	img->layers = digests;
	img->nlayers = n;
}

static const char *fold_str(json_t *o, const char *key)
{
	const char *k, *s = NULL;
	json_t *v;

	if (!json_is_object(o))
		return NULL;
	json_object_foreach(o, k, v)
		if (!strcasecmp(k, key))
			s = json_string_value(v);
	return s;
}

static json_t *fold_get(json_t *o, const char *key)
{
	const char *k;
	json_t *v, *found = NULL;

	if (!json_is_object(o))
		return NULL;
	json_object_foreach(o, k, v)
		if (!strcasecmp(k, key))
			found = v;
	return found;
}

/* parseImageResponse (and, beyond 2.4.0, the index case: *next set to
 * the digest of the manifest to fetch instead). */
static int parse_manifest(struct clr_klar_image *img,
			  const struct clr_klar_config *c,
			  const struct klar_response *r, char **next, FILE *errf)
{
	const char *ct = r->content_type;
	json_error_t je;
	json_t *j = json_loadb(r->body.ptr ? r->body.ptr : "", r->body.len, 0, &je);
	json_t *arr, *x;
	char **digests;
	size_t i, n;

	*next = NULL;
	if (!strcmp(ct, MT_V2) || !strcmp(ct, MT_OCI)) {
		if (!j || !json_is_object(j)) {
			fputs("Image V2 decode error\n", errf);
			json_decref(j);
			return clr_error_set(CLR_EINVALID, "%s", j ? "json: cannot "
					     "unmarshal into Go value of type "
					     "docker.imageV2" : je.text);
		}
		arr = fold_get(j, "layers");
		n = json_array_size(arr);
		digests = clr_calloc(n + 1, sizeof(*digests));
		json_array_foreach(arr, i, x) {
			const char *d = fold_str(x, "digest");

			digests[i] = clr_strdup(d ? d : "");
		}
		set_layers(img, digests, n);
		free(img->digest);
		img->digest = clr_strdup(fold_str(fold_get(j, "config"), "digest") ?
					 fold_str(fold_get(j, "config"), "digest") : "");
		img->schema = 2;
		json_decref(j);
		return 0;
	}
	if (!strcmp(ct, MT_LIST) || !strcmp(ct, MT_OCI_INDEX)) {
		/* klar master: the first entry whose platform.os and
		 * platform.architecture match; the variant is ignored. */
		arr = fold_get(j, "manifests");
		json_array_foreach(arr, i, x) {
			json_t *pl = fold_get(x, "platform");
			const char *os = fold_str(pl, "os"), *arch = fold_str(pl, "architecture");

			if (os && arch && !strcmp(os, c->platform_os) &&
			    !strcmp(arch, c->platform_arch) && fold_str(x, "digest")) {
				*next = clr_strdup(fold_str(x, "digest"));
				break;
			}
		}
		json_decref(j);
		if (!*next)
			return clr_error_set(CLR_ENOTFOUND, "Did not find the "
					     "specified platform (os: %s, arch: %s) "
					     "in the manifest list.", c->platform_os,
					     c->platform_arch);
		return 0;
	}
	/* Anything else is decoded as schema 1, "which gives 0 layers"
	 * for what is not one (klar.md §3). */
	if (!j) {
		fputs("ImageV1 decode error\n", errf);
		return clr_error_set(CLR_EINVALID, "%s", je.text);
	}
	arr = fold_get(j, "fsLayers");
	n = json_array_size(arr);
	digests = clr_calloc(n + 1, sizeof(*digests));
	/* "in schemaVersion 1 layers are in reverse order" */
	json_array_foreach(arr, i, x) {
		const char *d = fold_str(x, "blobSum");

		digests[n - 1 - i] = clr_strdup(d ? d : "");
	}
	set_layers(img, digests, n);
	img->schema = 1;
	json_decref(j);
	return 0;
}

int clr_klar_image_pull(struct clr_klar_image *img,
			const struct clr_klar_config *c, FILE *errf)
{
	char *ref = clr_strdup(img->tag), *next = NULL;
	int err = 0, hops;

	/* One hop, plus one more for a manifest list or index. */
	for (hops = 0; hops < 2; hops++) {
		struct klar_response r;

		err = get_manifest(&r, img, c, ref, errf);
		if (!err && r.status == 401) {
			/* v2.4.0: no token request on the first 401 when a
			 * Basic "token" is already held; a second 401 gets
			 * one (observed: two Basic GETs, the token GET, a
			 * Bearer GET). */
			if (!*img->token)
				err = request_token(img, c, &r, errf);
			klar_response_release(&r);
			if (!err)
				err = get_manifest(&r, img, c, ref, errf);
			if (!err && r.status == 401) {
				err = request_token(img, c, &r, errf);
				klar_response_release(&r);
				if (!err)
					err = get_manifest(&r, img, c, ref, errf);
			}
		}
		if (!err)
			err = parse_manifest(img, c, &r, &next, errf);
		klar_response_release(&r);
		if (err || !next)
			break;
		free(ref);
		ref = next;
		next = NULL;
	}
	free(ref);
	free(next);
	return err;
}
