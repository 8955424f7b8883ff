/*
 * whiteout.h - OCI whiteouts: how a layer deletes what lower layers hold.
 *
 * The OCI image spec (layer.md, "Whiteouts") represents deletions in a
 * layer tar with marker files:
 *
 *   DIR/.wh.NAME      DIR/NAME (and, if it is a directory, everything
 *                     under it) is deleted from the layers below;
 *   DIR/.wh..wh..opq  DIR is opaque: its children in the layers below are
 *                     hidden (DIR itself stays, with this layer's content);
 *   DIR/.wh..wh.*     any other name with this prefix is reserved (AUFS
 *                     bookkeeping such as .wh..wh.plnk) and ignored.
 *
 * Whiteouts apply only to lower layers: entries in the same layer as a
 * whiteout are not hidden by it.  The layer reader records every whiteout
 * it meets (reader.h); the coalescer asks clr_whiteout_hides() for each
 * path a lower layer provides, walking layers from the top.
 */
#ifndef CLR_LAYER_WHITEOUT_H
#define CLR_LAYER_WHITEOUT_H

#include <stdbool.h>

struct clr_layer_contents;

/* What a normalised entry path is, as far as whiteouts go. */
enum clr_whiteout_kind {
	CLR_WHITEOUT_NONE,     /* an ordinary entry */
	CLR_WHITEOUT_DELETE,   /* .wh.NAME */
	CLR_WHITEOUT_OPAQUE,   /* .wh..wh..opq */
	CLR_WHITEOUT_RESERVED, /* .wh..wh.OTHER, or .wh. with an empty,
				* "." or ".." NAME: ignored */
};

/* Bits stored in clr_layer_contents.whiteout_index for a path. */
#define CLR_WH_DELETED 1u
#define CLR_WH_OPAQUE 2u

/* Classifies a normalised path.  For DELETE and OPAQUE, *target (when
 * target is not NULL) receives a malloc'd copy of the path deleted or
 * made opaque ("" for the root); otherwise it is set to NULL. */
enum clr_whiteout_kind clr_whiteout_parse(const char *path, char **target);

/* Whether upper's whiteouts hide path, a normalised path provided by a
 * layer below upper: path itself was deleted, or one of its ancestor
 * directories was deleted, or one of its ancestors is opaque in upper.
 * An opaque directory does not hide itself. */
bool clr_whiteout_hides(const struct clr_layer_contents *upper,
			const char *path);

#endif
