/*
 * bundle.h - offline vulnerability bundles: `clarion db export / import`.
 *
 * A machine that cannot reach the feeds (an air-gapped CI runner, a
 * cluster without egress) gets its data from a file made where they can be
 * reached, as with clairctl's export-updaters / import-updaters.  A bundle
 * is zstd-compressed JSON lines; for each updater, its newest operation:
 *
 *   {"kind":"operation","updater":"debian","fingerprint":"…","date":"…",
 *    "ref":"…","count":2}
 *   {"kind":"vulnerability","name":"CVE-…","updater":"debian",…}
 *   {"kind":"vulnerability",…}
 *
 * one header line then exactly `count` vulnerability lines, each carrying
 * every field of struct clr_vuln by its C name (normalized_severity by its
 * name, "High").  Importing stores each operation with
 * clr_store_update_put(), so the database ends up with the same records
 * and content hashes as running the updaters would have given it.
 *
 * The reader is strict, because a bundle is input from elsewhere: lines
 * are capped (CLR_BUNDLE_LINE_MAX), every line must be a JSON object of a
 * known kind with known fields of the right types (an unknown field is an
 * error rather than data silently dropped), and an operation is stored
 * only once all its `count` lines have been read: a truncated file stores
 * nothing of the operation it cuts, and is an error naming the line.
 */
#ifndef CLR_UPDATER_BUNDLE_H
#define CLR_UPDATER_BUNDLE_H

#include <stddef.h>

#include "store/store.h"
#include "updater/vuln.h"
#include "util/stream.h"

#define CLR_BUNDLE_LINE_MAX (16u << 20)      /* bytes of one line */
#define CLR_BUNDLE_OP_MAX_RECORDS 20000000u  /* records of one operation */
#define CLR_BUNDLE_OP_MAX_BYTES (4ull << 30) /* line bytes of one operation */

/* An operation header as read. */
struct clr_bundle_op {
	const char *updater;
	const char *fingerprint;
	const char *date;      /* when it was stored where it was exported */
	const char *ref;       /* its ref there (a new one is made here) */
	size_t count;
};

/* What an export wrote or an import stored. */
struct clr_bundle_summary {
	size_t operations;      /* written / stored */
	size_t vulnerabilities; /* in those operations */
	size_t unchanged;       /* import: operations whose fingerprint was
				 * already the updater's current one (not
				 * stored again) */
};

/*
 * Writes the newest operation of every updater in s (or only of those of
 * the sources named in sources, NULL-terminated: an updater belongs to
 * source NAME when it is called NAME or NAME followed by one of "-/._:")
 * to path ("-": standard output), zstd-compressed.  The file appears
 * complete or not at all (written beside it, then renamed).
 * CLR_ENOTFOUND when there is nothing to export.
 */
int clr_bundle_export(struct clr_store *s, const char *path,
		      const char *const *sources, struct clr_bundle_summary *sum);

/*
 * Reads the bundle at path ("-": standard input; zstd-compressed, or
 * plain JSON lines) and stores each operation in s.  Operations before an
 * error stay stored; the one being read when it happens is not.
 */
int clr_bundle_import(struct clr_store *s, const char *path,
		      struct clr_bundle_summary *sum);

/*
 * The reader under clr_bundle_import, for tests and fuzzing: parses plain
 * JSON lines from in, calling each() once per complete operation with its
 * header and records (borrowed for the call).  A non-zero return from
 * each() stops the read and is returned.  CLR_EINVALID (message "line N:
 * ...") for malformed input, CLR_ELIMIT past a cap.
 */
int clr_bundle_read(struct clr_stream *in,
		    int (*each)(const struct clr_bundle_op *op,
				const struct clr_vuln_set *vulns, void *arg),
		    void *arg);

/* Opens path ("-": standard input) as a stream of the bundle's JSON
 * lines: zstd is undone when the file starts with zstd's magic number;
 * a truncated zstd frame is CLR_EINVALID at the end of the stream. */
int clr_bundle_open(struct clr_stream **out, const char *path);

#endif
