/*
 * reader.h - reads a container layer in one streaming pass and keeps only
 * the few files the scanners asked for.
 *
 * A layer blob (a tar, usually gzip- or zstd-compressed, up to gigabytes)
 * is pulled from a clr_stream once: every stored byte is hashed (SHA-256,
 * checked against the manifest's digest), inflated with ISA-L (gzip) or
 * libzstd into a fixed 1 MiB window and walked with libarchive's tar
 * reader.  Nothing is written to disk and memory does not grow with the
 * layer: only the files a caller's predicate selects are kept, each under a
 * size cap.  Whiteouts are always recorded, for the coalescer (whiteout.h).
 *
 *     static const char *const paths[] = { "var/lib/dpkg/status",
 *                                          "etc/os-release", NULL };
 *     struct clr_layer_select sel = { clr_layer_want_list, (void *)paths, 0 };
 *     struct clr_layer_contents c;
 *     if ((err = clr_layer_read(&c, blob, "sha256:...", &sel, NULL)))
 *             return err;                // c is empty, nothing to release
 *     const struct clr_layer_file *f = clr_layer_contents_find(&c,
 *                                              "var/lib/dpkg/status");
 *     ...
 *     clr_layer_contents_release(&c);
 *
 * On any failure (digest mismatch, corrupt data, a limit) the result is
 * empty: a partial layer is never handed out as if it were complete.
 * docs/internals/layer.md has the limits, the whiteout rules and why.
 *
 * Ownership: *out and everything it points to belong to the caller until
 * clr_layer_contents_release(); pointers returned by the lookups are
 * borrowed from it.  The blob stream is borrowed: the caller closes it.
 * Thread-safe for distinct layers (no global state).
 */
#ifndef CLR_LAYER_READER_H
#define CLR_LAYER_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/hashmap.h"
#include "util/sha256.h"
#include "util/stream.h"
#include "util/vec.h"

/* How the blob was stored, found from its first bytes. */
enum clr_layer_compression {
	CLR_LAYER_PLAIN, /* an uncompressed tar */
	CLR_LAYER_GZIP,  /* 1f 8b, one or more gzip members */
	CLR_LAYER_ZSTD,  /* 28 b5 2f fd, one or more zstd frames */
	CLR_LAYER_DIR,   /* not a blob: clr_layer_read_dir() */
};

/* Which inflater decodes gzip.  ISA-L is about twice as fast as zlib on
 * this machine; zlib stays selectable for the benchmark and for tests
 * that check both give the same answer. */
enum clr_layer_inflater {
	CLR_LAYER_INFLATE_ISAL, /* the default */
	CLR_LAYER_INFLATE_ZLIB,
};

enum clr_layer_file_kind {
	CLR_LAYER_FILE,     /* a regular file: data holds its bytes */
	CLR_LAYER_SYMLINK,  /* link is the target as stored; data is NULL */
	CLR_LAYER_HARDLINK, /* link is the normalised path it links to */
};

/* A kept entry. */
struct clr_layer_file {
	char *path;   /* normalised: "etc/os-release" (see clr_layer_path_normalize) */
	char *data;   /* contents, NUL-terminated (the NUL is not counted in len);
		       * NULL for a symlink, and for a hardlink whose target was
		       * not kept (select both paths to get the bytes) */
	size_t len;   /* bytes at data */
	enum clr_layer_file_kind kind;
	char *link;   /* symlink target exactly as stored (may be relative or
		       * absolute); hardlink target normalised; NULL for files */
	uint32_t mode; /* permission bits and type, as in st_mode */
};

/* A whiteout: what this layer deletes from the layers below it. */
struct clr_layer_whiteout {
	char *path;  /* normalised path deleted (".wh.NAME") or made opaque
		      * (".wh..wh..opq"); "" is the root made opaque */
	bool opaque; /* true: path's lower contents are hidden, not path */
};

struct clr_layer_contents {
	char digest[CLR_DIGEST_STRLEN + 1]; /* "sha256:<hex>" of the stored
					     * bytes, computed even when no
					     * digest was given; "" for a dir */
	enum clr_layer_compression compression;
	uint64_t compressed_bytes;   /* stored bytes read (the blob's size) */
	uint64_t uncompressed_bytes; /* tar stream bytes (dir: file sizes) */
	uint64_t entries;            /* tar headers (dir: entries) seen */
	uint64_t skipped;            /* entries ignored for an empty path or
				      * a '..' component (the root "./" is
				      * not counted) */
	size_t kept_bytes;           /* bytes held by the kept files */
	struct clr_vec files;        /* struct clr_layer_file, in layer order */
	struct clr_vec whiteouts;    /* struct clr_layer_whiteout */
	/* private: lookups for find and for whiteout.c */
	struct clr_hashmap file_index;     /* path -> index + 1 in files */
	struct clr_hashmap whiteout_index; /* path -> CLR_WH_* bits + 0 */
};

/* What to keep.  want is called with the normalised path of every regular
 * file, symlink and hardlink (never directories, devices or whiteouts);
 * entries it accepts are kept. */
struct clr_layer_select {
	bool (*want)(const char *path, void *arg); /* NULL: keep nothing */
	void *arg;
	size_t max_size; /* per kept file, bytes; 0 or above the limits'
			  * max_file: the limits' max_file */
};

/* Resource limits; exceeding one is CLR_ELIMIT with a message naming the
 * layer and the limit.  Start from clr_layer_limits_default(). */
struct clr_layer_limits {
	uint64_t max_compressed;   /* stored bytes (8 GiB) */
	uint64_t max_uncompressed; /* tar stream bytes (32 GiB) */
	uint64_t max_ratio;        /* uncompressed / compressed (200) ... */
	uint64_t ratio_after;      /* ... enforced once this many bytes are
				    * out (64 MiB): small layers of zeros
				    * are legitimate, huge ones are bombs */
	size_t max_file;           /* one kept file (64 MiB): an error, since
				    * half a package database is wrong */
	size_t max_kept;           /* all kept files together (256 MiB) */
	uint64_t max_entries;      /* tar headers (2 M) */
	size_t max_path;           /* bytes in an entry's path (4096) */
	enum clr_layer_inflater inflater; /* gzip decoder (ISA-L) */
};

/* The defaults above. */
struct clr_layer_limits clr_layer_limits_default(void);

/* Reads the layer stored in blob to its end.  digest ("sha256:<hex>") is
 * checked against the stored bytes; NULL skips the check (the computed
 * digest is still in out->digest).  sel NULL keeps no files, lim NULL
 * means the defaults.
 *
 * Errors (out is then empty; message names the layer):
 *   CLR_EINVALID  digest mismatch ("layer sha256:A digest mismatch: got
 *                 sha256:B"), a malformed digest string, corrupt or
 *                 truncated gzip/zstd, a corrupt tar, data after the end of
 *                 the compressed stream
 *   CLR_ELIMIT    a limit in lim (or sel->max_size) was exceeded
 *   CLR_EUNSUPPORTED  bzip2 or xz compression
 *   CLR_EIO, ...  whatever the blob's read returned
 * When the data is corrupt and a digest was given, the rest of the blob is
 * still hashed, and a mismatch is reported instead: a download damaged in
 * transit then says so. */
int clr_layer_read(struct clr_layer_contents *out, struct clr_stream *blob,
		   const char *digest, const struct clr_layer_select *sel,
		   const struct clr_layer_limits *lim);

/* The same result from an unpacked root filesystem (the dir: transport):
 * walks root without following symlinks (they are recorded as such) and
 * without leaving root's filesystem (like find -xdev, so "dir:/" skips
 * /proc).  Hardlinks are plain files here.  digest is "", compression
 * CLR_LAYER_DIR.  Files named .wh.* are read as whiteouts, as in a tar. */
int clr_layer_read_dir(struct clr_layer_contents *out, const char *root,
		       const struct clr_layer_select *sel,
		       const struct clr_layer_limits *lim);

/* The kept entry at a normalised path, or NULL; borrowed from c. */
const struct clr_layer_file *
clr_layer_contents_find(const struct clr_layer_contents *c, const char *path);

/* Frees everything; c is left empty (and may be released again). */
void clr_layer_contents_release(struct clr_layer_contents *c);

/* A ready-made predicate: arg is a NULL-terminated array of normalised
 * paths (const char *const[]), matched exactly. */
bool clr_layer_want_list(const char *path, void *arg);

/* "plain", "gzip", "zstd", "dir". */
const char *clr_layer_compression_name(enum clr_layer_compression c);

/* Normalises an entry name: leading "/" and "./" dropped, "//" and "/./"
 * collapsed, trailing "/" removed ("./usr//lib/" -> "usr/lib"; "./" ->
 * "").  *out is malloc'd (the caller frees it).  CLR_EINVALID (*out NULL)
 * when a component is "..": such names can only mean to escape the root. */
int clr_layer_path_normalize(char **out, const char *path);

#endif
