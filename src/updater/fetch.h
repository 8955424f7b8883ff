/*
 * fetch.h - downloading feed documents for updaters.
 *
 * Every updater starts the same way: get one (large) document from a URL,
 * unless it is the version already stored.  clr_fetch() does that once for
 * all of them, so each source only parses:
 *
 *     struct clr_fetch_opts o = CLR_FETCH_OPTS_INIT;
 *     struct clr_fetch_result r;
 *     o.prev = prev;                       // fingerprint of the stored op
 *     err = clr_fetch(&r, u->url, &o);
 *     if (err == CLR_EUNCHANGED)           // 304, or the same bytes again
 *             return err;
 *     if (err)
 *             return err;                  // message names the URL
 *     parse(r.path);                       // a plain file, or a directory
 *     clr_fetch_result_release(&r);        // removes the temporary files
 *
 * What it does, in order:
 *   - http:// and https:// through libcurl (redirects followed, to http and
 *     https only; HTTP(S)_PROXY honoured; CA bundle from $CLARION_CA_FILE,
 *     $CURL_CA_BUNDLE or $SSL_CERT_FILE when set); file:// URLs and plain
 *     paths are read directly;
 *   - a conditional request (If-None-Match, If-Modified-Since) from the
 *     previous fingerprint: 304 is CLR_EUNCHANGED;
 *   - retries with exponential backoff on 429, 5xx and transient network
 *     errors (Retry-After honoured up to a cap), a bounded number of times;
 *   - the body goes to a private temporary file (mkstemp under $TMPDIR),
 *     SHA-256'd on the way, with a size cap; the same bytes as last time
 *     (sha256 equal to the previous fingerprint's) are CLR_EUNCHANGED too,
 *     for servers that send no validators;
 *   - decompression by magic bytes, whatever the URL says: gzip, bzip2, xz
 *     and zstd to a file, zip (OSV's all.zip) to a directory of its
 *     entries; anything else is left as it is (a tar stays a tar).
 *
 * The fingerprint is JSON, {"url":…,"etag":…,"last_modified":…,"sha256":…}
 * (absent validators are null); a fingerprint this file did not write (or
 * NULL) just means "fetch".
 *
 * Updaters whose fetch() is one clr_fetch() can use clr_fetch_into(), which
 * fills the struct clr_fetched of updater.h; the manager then removes the
 * data with clr_fetched_release().
 *
 * Errors: CLR_ENET (network, 5xx, 429, other HTTP errors; after retries
 * where retrying makes sense; the message names the URL, with any password
 * hidden, and the HTTP status), CLR_ENOTFOUND (404, 410, a missing file),
 * CLR_ELIMIT (a size or entry cap), CLR_EINVALID (corrupt compressed data,
 * a hostile zip entry name), CLR_EIO (the temporary directory).
 *
 * Thread-safe: no shared state besides libcurl's one-time global init.
 */
#ifndef CLR_UPDATER_FETCH_H
#define CLR_UPDATER_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "updater/updater.h"
#include "util/buf.h"
#include "util/sha256.h"

struct clr_fetch_opts {
	const char *prev;          /* previous fingerprint, or NULL: always
				    * fetch (no condition, no hash check) */
	uint64_t max_size;         /* bytes downloaded, at most */
	uint64_t max_decompressed; /* bytes after decompression (a zip's
				    * entries together), at most */
	size_t max_entries;        /* entries of a zip, at most */
	long connect_timeout;      /* seconds to connect */
	long timeout;              /* seconds for one whole attempt; 0: none */
	long low_speed_time;       /* give up an attempt slower than
				    * low_speed_limit bytes/s for this long */
	long low_speed_limit;      /* bytes per second */
	int retries;               /* attempts after the first (0: none) */
	long retry_delay_ms;       /* first backoff; doubles, capped at 30 s */
	bool raw;                  /* keep compressed data as it is */
	const char *const *headers; /* extra "Name: value" request headers,
				     * NULL-terminated, or NULL */
};

/* The defaults: 2 GiB downloaded, 8 GiB decompressed, 1,000,000 zip
 * entries, 30 s to connect, 30 min per attempt, under 1 byte/s for 60 s is
 * a stall, 3 retries starting at 1 s. */
#define CLR_FETCH_OPTS_INIT {                                              \
	.prev = NULL,                                                      \
	.max_size = (uint64_t)2 << 30,                                     \
	.max_decompressed = (uint64_t)8 << 30,                             \
	.max_entries = 1000000,                                            \
	.connect_timeout = 30,                                             \
	.timeout = 1800,                                                   \
	.low_speed_time = 60,                                              \
	.low_speed_limit = 1,                                              \
	.retries = 3,                                                      \
	.retry_delay_ms = 1000,                                            \
	.raw = false,                                                      \
	.headers = NULL,                                                   \
}

/* The same, for code that prefers a function. */
void clr_fetch_opts_init(struct clr_fetch_opts *o);

struct clr_fetch_result {
	char *path;          /* the data: a file, or a directory (zip) */
	bool is_dir;         /* path is a directory of the zip's entries */
	char *fingerprint;   /* JSON, see above; store it with the operation */
	const char *compression; /* "gzip", "bzip2", "xz", "zstd", "zip" or
				  * "" (static string) */
	long status;         /* HTTP status of the final answer; 0 for files */
	uint64_t size;       /* bytes downloaded */
	uint64_t data_size;  /* bytes after decompression */
	char sha256[CLR_SHA256_HEXLEN + 1]; /* of the bytes downloaded */
	char *etag;          /* the final answer's ETag, or NULL */
	char *last_modified; /* its Last-Modified (a file's mtime), or NULL */
};

/*
 * Fetches url (http://, https://, file:// or a plain path) into *out.
 * o NULL means the defaults.  Returns 0 with *out filled; CLR_EUNCHANGED
 * when the document is the one o->prev describes (nothing kept, *out
 * zeroed); or an error (above), *out zeroed.
 */
int clr_fetch(struct clr_fetch_result *out, const char *url,
	      const struct clr_fetch_opts *o);

/* Removes the temporary file or directory and frees the strings; *r is
 * zeroed.  NULL, or a zeroed result, does nothing. */
void clr_fetch_result_release(struct clr_fetch_result *r);

/*
 * A small document (an index, a directory listing, a release list) into
 * out, whose cap (out->max) bounds the size after decompression as well
 * (gzip, bzip2, xz, zstd are undone; zip is CLR_EUNSUPPORTED).  o->prev
 * is ignored: always fetched.  The same retries, timeouts and errors as
 * clr_fetch(); CLR_ELIMIT past the cap.  out is emptied first.
 */
int clr_fetch_bytes(struct clr_buf *out, const char *url,
		    const struct clr_fetch_opts *o);

/*
 * An updater's whole fetch() for a single document: clr_fetch() with prev,
 * the data and fingerprint handed over to *out (which the manager releases
 * with clr_fetched_release()).  CLR_EUNCHANGED leaves *out untouched, as
 * updater.h's contract says.
 */
int clr_fetch_into(struct clr_fetched *out, const char *url, const char *prev,
		   const struct clr_fetch_opts *o);

/* Removes f->path (file or directory, recursively) and frees the strings;
 * *f is zeroed.  NULL or a zeroed struct does nothing. */
void clr_fetched_release(struct clr_fetched *f);

/*
 * A local feed directory read in place (the user's checkout, never
 * removed): its fingerprint is "dir:" and the SHA-256 of each file's name,
 * size and modification time, in the caller's order, so that a file
 * touched, added or removed makes a new one.  clr_fetch_dir_file() adds a
 * file to h; clr_fetch_dir_finish() ends h and returns CLR_EUNCHANGED when
 * prev is that fingerprint (*out untouched), else fills *out with
 * borrowed set.
 */
void clr_fetch_dir_file(struct clr_sha256 *h, const char *name,
			int64_t size, int64_t mtime_ns);
int clr_fetch_dir_finish(struct clr_fetched *out, const char *dir,
			 const char *prev, struct clr_sha256 *h);

/* A new private (0700) directory under $TMPDIR (else /tmp) in *out (caller
 * frees; remove it with clr_fetch_remove()): for updaters that gather
 * several documents into one clr_fetched. */
int clr_fetch_tempdir(char **out);

/* Removes path: a file, or a directory and everything under it (never
 * following symbolic links).  A missing path is not an error. */
int clr_fetch_remove(const char *path);

/* The JSON member key ("etag", "last_modified", "sha256", "url") of a
 * fingerprint clr_fetch() wrote, in *out (caller frees), or CLR_ENOTFOUND
 * (absent, null, or not such a fingerprint). */
int clr_fetch_fingerprint_get(const char *fingerprint, const char *key,
			      char **out);

#endif
