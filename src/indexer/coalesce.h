/*
 * coalesce.h - per-layer artifacts to the image's contents (an IndexReport).
 */
#ifndef CLR_INDEXER_COALESCE_H
#define CLR_INDEXER_COALESCE_H

#include <jansson.h>
#include <stddef.h>

/* One layer's digest and artifacts (artifacts.h), bottom layer first. */
struct clr_coalesce_layer {
	const char *digest;
	json_t *artifacts;   /* borrowed */
};

/*
 * Builds the IndexReport (Clair v4 shape, state IndexFinished) of the
 * image made of layers:
 *   - a package database (any file a package scanner reads) present in a
 *     layer replaces the same database of the layers below it;
 *   - a database deleted by a whiteout above it (the file, a parent
 *     directory, or an opaque parent) is gone, with its packages;
 *   - a package keeps the layer that introduced it as long as every later
 *     rewrite of its database still lists the same name, version and arch;
 *   - the distribution is the one of the highest layer that names one.
 * Package and distribution ids are assigned in a stable order, so the same
 * contents always give the same report.
 */
json_t *clr_coalesce(const char *manifest_hash,
		     const struct clr_coalesce_layer *layers, size_t n);

#endif
