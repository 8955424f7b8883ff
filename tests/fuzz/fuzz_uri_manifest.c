/*
 * fuzz_uri_manifest.c - libFuzzer target for clr_uri_manifest_parse(), the
 * Clair Manifest a client POSTs to /indexer/api/v1/index_report, and for
 * the pattern matcher that routes request paths (clr_http_pattern_match).
 *
 * Every result must be 0 or CLR_EINVALID / CLR_ELIMIT with a message; a
 * manifest that parses must satisfy what the indexer relies on: a digest,
 * at least one layer, each with a sha256 digest, an http(s) uri and header
 * lines "Name: value" without CR or LF.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/http.h"
#include "image/uri.h"
#include "util/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct clr_uri_manifest *m = NULL;
	char *path, *caps[4] = { NULL, NULL, NULL, NULL };
	int err, n;

	err = clr_uri_manifest_parse(&m, (const char *)data, size);
	if (err) {
		if ((err != CLR_EINVALID && err != CLR_ELIMIT) || !clr_error_msg()[0] || m)
			abort();
	} else {
		if (!m || !m->n_layers || strncmp(m->hash, "sha", 3))
			abort();
		for (size_t i = 0; i < m->n_layers; i++) {
			const struct clr_uri_layer *l = &m->layers[i];

			if (strncmp(l->hash, "sha256:", 7) || strlen(l->hash) != 71 ||
			    (strncasecmp(l->uri, "http://", 7) &&
			     strncasecmp(l->uri, "https://", 8)))
				abort();
			for (size_t k = 0; l->headers[k]; k++)
				if (strpbrk(l->headers[k], "\r\n") || !strstr(l->headers[k], ": "))
					abort();
		}
		clr_uri_manifest_free(m);
	}

	/* The same bytes as a request path against a route pattern. */
	path = malloc(size + 2);
	path[0] = '/';
	memcpy(path + 1, data, size);
	path[size + 1] = '\0';
	clr_http_path_normalize(path);
	n = clr_http_pattern_match("/indexer/api/v1/index_report/{}", path, caps, 4);
	if (n > 1)
		abort();
	for (int i = 0; i < 4; i++) {
		free(caps[i]);
		caps[i] = NULL;
	}
	n = clr_http_pattern_match("/a/{}/b/{*}", path, caps, 4);
	if (n > 2)
		abort();
	for (int i = 0; i < 4; i++) {
		free(caps[i]);
		caps[i] = NULL;
	}
	free(path);
	return 0;
}
