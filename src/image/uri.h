/*
 * uri.h - a Clair v4 Manifest (reference/clair-api.md §1.4) and the image
 * source that serves its layers from the URIs it gives.
 *
 * A client of `clarion serve` does not name an image: it posts
 *
 *     {"hash": "sha256:<manifest digest>",
 *      "layers": [{"hash": "sha256:...", "uri": "https://registry/v2/.../blobs/sha256:...",
 *                  "headers": {"Authorization": ["Bearer ..."]},
 *                  "media_type": "application/vnd.oci.image.layer.v1.tar+gzip"}, ...]}
 *
 * and the server fetches each layer from its uri with the headers given,
 * only to that uri's origin (clr_registry_open_url), and verifies the
 * digest while reading.
 *
 * The Manifest is untrusted input: clr_uri_manifest_parse checks every
 * field (digests, http(s) URIs, header names and values without control
 * characters, counts and lengths under the caps below) and refuses
 * anything else with a message naming the field.  Fuzzed by
 * tests/fuzz/fuzz_uri_manifest.c.
 */
#ifndef CLR_IMAGE_URI_H
#define CLR_IMAGE_URI_H

#include <stdbool.h>
#include <stddef.h>

#include "image/image.h"
#include "image/source.h"

#define CLR_URI_MAX_LAYERS 1024      /* layers of one manifest */
#define CLR_URI_MAX_URI 8192         /* bytes of one uri */
#define CLR_URI_MAX_HEADERS 32       /* header lines of one layer */
#define CLR_URI_MAX_HEADER 16384     /* bytes of one header line */

struct clr_uri_layer {
	char *hash;        /* "sha256:..." of the blob as stored */
	char *uri;         /* http:// or https:// */
	char **headers;    /* "Name: value" lines, NULL-terminated (never NULL) */
	char *media_type;  /* as given, or "" */
};

struct clr_uri_manifest {
	char *hash;        /* "sha256:..." or "sha512:..." */
	struct clr_uri_layer *layers;
	size_t n_layers;   /* >= 1 */
};

/* Whether s is a digest Clair accepts as a manifest's hash: "sha256:" +
 * 64 lowercase hex, or "sha512:" + 128.  The HTTP API checks its path
 * digests with the same rule (clr_http_digest_valid()). */
bool clr_uri_digest_valid(const char *s);

/* Parses len bytes of JSON into a new *out.  CLR_EINVALID with a message
 * ("layers[2].hash: ...") for malformed JSON or fields, "bogus manifest"
 * (Clair's words) for an empty hash or no layers; CLR_ELIMIT past a cap. */
int clr_uri_manifest_parse(struct clr_uri_manifest **out, const char *json,
			   size_t len);

void clr_uri_manifest_free(struct clr_uri_manifest *m);

/* The manifest as the indexer's struct clr_image (layers bottom first,
 * compression from the media types), in *out (clr_image_free). */
void clr_uri_manifest_image(struct clr_image **out,
			    const struct clr_uri_manifest *m);

/* A source whose open_blob(digest) streams the manifest's layer of that
 * digest from its uri; get_manifest is CLR_EUNSUPPORTED.  m is borrowed
 * and must outlive the source.  opts: insecure, timeout_secs. */
int clr_uri_source_open(struct clr_image_source **out,
			const struct clr_uri_manifest *m,
			const struct clr_source_opts *opts);

#endif
