/*
 * artifacts.h - what the scanners found in one layer, as stored JSON.
 *
 * A layer's artifacts are kept in the store per (layer, scanner, version)
 * as JSON text, so a layer is never scanned twice.  One object per
 * scanner:
 *   package scanners       {"packages": [{name, version, kind, source:
 *                            {name, version, kind}, arch, module, cpe,
 *                            package_db}]}
 *   distribution scanners  {"distributions": [{did, name, version, ...}]}
 *   the "layer" pseudo-scanner (this file; the coalescer needs it)
 *                          {"files": [kept paths], "whiteouts":
 *                            [{"path", "opaque"}]}
 * and a layer's whole artifacts are the union of those objects.
 */
#ifndef CLR_INDEXER_ARTIFACTS_H
#define CLR_INDEXER_ARTIFACTS_H

#include <jansson.h>

#include "layer/reader.h"
#include "scanners/scanner.h"

/* The layer pseudo-scanner's identity in the cache. */
#define CLR_LAYER_SCANNER_NAME "layer"
#define CLR_LAYER_SCANNER_VERSION "2"

/* The JSON of one scanner's result. */
json_t *clr_artifacts_from_result(const struct clr_scan_result *r);

/* The JSON of a layer's kept files and whiteouts. */
json_t *clr_artifacts_from_layer(const struct clr_layer_contents *c);

/* Merges the keys of part into whole (arrays concatenated). */
void clr_artifacts_merge(json_t *whole, json_t *part);

#endif
