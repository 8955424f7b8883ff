/*
 * indexer.h - which OS packages are in an image, layer by layer.
 *
 * The indexer mirrors Clair's controller, one state after another:
 *
 *   CheckManifest  the manifest was indexed by the current scanners?
 *                  then the stored report is the answer
 *   FetchLayers    read (stream) only the layers some scanner has not
 *   ScanLayers     seen yet, in parallel (bounded), and run the scanners
 *   Coalesce       layer artifacts -> the image's packages (coalesce.c)
 *   IndexManifest  store the report with the scanner state
 *   IndexFinished  or IndexError, with the reason
 *
 * A layer is scanned once per scanner version whatever image it is in (the
 * store's layer scan cache); concurrent requests for one manifest do the
 * work once (the store's manifest lock).  A transient failure (network,
 * registry 5xx) is reported but never stored, so the next request retries;
 * a permanent one (corrupt layer, wrong digest) is stored as IndexError
 * and still retried by the next request, which starts again from
 * CheckManifest.
 */
#ifndef CLR_INDEXER_INDEXER_H
#define CLR_INDEXER_INDEXER_H

#include <jansson.h>

#include "image/source.h"
#include "layer/reader.h"
#include "store/store.h"

struct clr_indexer_opts {
	struct clr_source_opts source; /* platform, credentials, TLS */
	int parallel_layers;            /* layers read at once; 0: 3 */
	const struct clr_layer_limits *limits; /* NULL: the defaults */
};

/* Indexes image (a transport-prefixed name, see source.h) into store and
 * returns the IndexReport in Clair v4's JSON shape in *report (caller
 * json_decref()s).  store may be NULL: nothing is cached or stored.  On
 * failure *report is NULL and the message says why. */
int clr_index_image(json_t **report, struct clr_store *store,
		    const char *image, const struct clr_indexer_opts *opts);

struct clr_uri_manifest;

/* The same for a Clair v4 Manifest (image/uri.h): the layers are fetched
 * from their URIs with their headers (opts->source: insecure and
 * timeout_secs apply), and the report is keyed by m->hash.  m is
 * borrowed. */
int clr_index_manifest(json_t **report, struct clr_store *store,
		       const struct clr_uri_manifest *m,
		       const struct clr_indexer_opts *opts);

/* The scanner set's state (Clair's index_state), as a string. */
const char *clr_indexer_state(void);

#endif
