/*
 * scanner.h - the OS scanners: what is installed in one layer, and on what.
 *
 * A scanner reads the few files of a layer it asked for (a package database,
 * an os-release file) and reports packages or distributions with the field
 * names of Clair v4, so the indexer can store them and the matcher can match
 * them without knowing where they came from.  Scanners know nothing about
 * tar files or registries: the layer reader hands them (path, bytes) pairs,
 * already in memory, for the paths some scanner's want() accepted.
 *
 *     struct clr_scan_file f = { "var/lib/dpkg/status", data, len, NULL };
 *     struct clr_scan_input in = { &f, 1 };
 *     struct clr_scan_result res;
 *     clr_scan_result_init(&res);
 *     for (size_t i = 0; i < clr_scanners_count; i++)
 *             if ((err = clr_scanners[i]->scan(&in, &res)))
 *                     goto cleanup;          // message names file and line
 *     ... CLR_VEC_AT(&res.packages, struct clr_scan_package, k) ...
 *   cleanup:
 *     clr_scan_result_release(&res);
 *
 * The table of scanners (clr_scanners[]) is the one list; its names,
 * versions and kinds make up the indexer state (clr_scanners_state()), so
 * bumping a scanner's version makes every stored index report stale, as in
 * Clair.  Bump it whenever a change alters what the scanner reports.
 *
 * Contract of scan():
 *   - reads only the files of in that its own want() accepts (in may hold
 *     files for other scanners) and appends what it found to out;
 *   - a layer without its files is not an error: nothing is appended;
 *   - a file it wants but cannot read completely (corrupt, truncated,
 *     over a size cap, an unsupported database format) is an error for
 *     the whole call: a negative CLR_E* code, a message naming the file
 *     (and the line where there is one), and out left as it was before the
 *     call (no partial list is ever presented as complete);
 *   - never writes outside its private temporary directory (only rpm needs
 *     one: see docs/internals/scanners.md) and never uses the network.
 *
 * Thread safety: the scanners keep no state between calls and may run in
 * parallel on different inputs and results, except that rpm serialises its
 * use of librpm (global state) with a mutex.
 */
#ifndef CLR_SCANNERS_SCANNER_H
#define CLR_SCANNERS_SCANNER_H

#include <stdbool.h>
#include <stddef.h>

#include "util/arena.h"
#include "util/sha256.h"
#include "util/vec.h"

/* One file of a layer, as the layer reader gives it.  Everything is
 * borrowed for the duration of a scan() call. */
struct clr_scan_file {
	const char *path;          /* normalised: "var/lib/dpkg/status", no
				    * leading "/" or "./" */
	const unsigned char *data; /* contents (not NUL-terminated) */
	size_t len;                /* bytes at data */
	const char *link_target;   /* NULL unless a symlink: its target as
				    * stored ("../usr/lib/os-release") */
};

/* The files of one layer that some scanner wants. */
struct clr_scan_input {
	const struct clr_scan_file *files;
	size_t nfiles;
};

/* A package's source package (Clair's nested Package of kind "source").
 * All fields are "" when the database names no source (rpm's gpg-pubkey
 * has none; dpkg and apk always have one). */
struct clr_scan_source {
	const char *name;
	const char *version;
	const char *kind;          /* "source" */
};

/* One installed package, with Clair v4's field names.  Strings are never
 * NULL ("" when absent) and live in the result's arena. */
struct clr_scan_package {
	const char *name;
	const char *version;       /* dpkg, apk: as recorded; rpm: [E:]V-R,
				    * the epoch only when it is not 0 */
	const char *kind;          /* "binary" */
	struct clr_scan_source source;
	const char *arch;          /* "amd64", "x86_64", "noarch", ... */
	const char *module;        /* rpm module:stream ("nodejs:18"), else "" */
	const char *cpe;           /* "" (no OS scanner knows one) */
	const char *package_db;    /* the file it came from, as in the input:
				    * "var/lib/dpkg/status", "lib/apk/db/
				    * installed", "var/lib/rpm/rpmdb.sqlite" */
};

/* The distribution a layer says it is, after os-release(5).  Strings are
 * never NULL ("" when absent) and live in the result's arena. */
struct clr_scan_distribution {
	const char *did;               /* ID: "debian", "alpine", ... */
	const char *name;              /* NAME: "Debian GNU/Linux" */
	const char *version;           /* VERSION: "12 (bookworm)" */
	const char *version_id;        /* VERSION_ID: "12" */
	const char *version_code_name; /* VERSION_CODENAME: "bookworm" */
	const char *pretty_name;       /* PRETTY_NAME */
	const char *cpe;               /* CPE_NAME, or "" */
	const char *arch;              /* "" (os-release does not say) */
};

/* What scanners found.  One result may collect the output of several
 * scanners over one layer. */
struct clr_scan_result {
	struct clr_vec packages;      /* struct clr_scan_package */
	struct clr_vec distributions; /* struct clr_scan_distribution */
	struct clr_arena arena;       /* every string of both vectors */
};

/* Prepares an empty result; allocates nothing. */
void clr_scan_result_init(struct clr_scan_result *r);

/* Frees everything the result holds; it is empty and reusable after. */
void clr_scan_result_release(struct clr_scan_result *r);

/* One scanner, as a table entry (see clr_scanners[]). */
struct clr_scanner {
	const char *name;    /* "dpkg", "apk", "rpm", "osrelease" */
	const char *version; /* bumped when its output changes */
	const char *kind;    /* "package" or "distribution" */
	/* Whether path (normalised, as in clr_scan_file) is a file this
	 * scanner reads; the layer reader keeps only those. */
	bool (*want)(const char *path);
	/* Reads in and appends to out; see the contract above. */
	int (*scan)(const struct clr_scan_input *in,
		    struct clr_scan_result *out);
};

/* The scanners, one per file in src/scanners/. */
extern const struct clr_scanner clr_scanner_osrelease;
extern const struct clr_scanner clr_scanner_dpkg;
extern const struct clr_scanner clr_scanner_apk;
extern const struct clr_scanner clr_scanner_rpm;

/* Every scanner clarion runs, in the order it runs them. */
extern const struct clr_scanner *const clr_scanners[];
extern const size_t clr_scanners_count;

/* Whether any scanner wants path. */
bool clr_scanners_want(const char *path);

/* The scanner called name, or NULL. */
const struct clr_scanner *clr_scanners_find(const char *name);

/* The indexer state of the whole table (Clair's index_state): lowercase
 * hex SHA-256 over a format tag and the sorted name, version and kind of
 * every scanner.  It changes when any scanner is added, removed or bumped,
 * and does not depend on the table's order.  0, or CLR_ERROR as below. */
int clr_scanners_state(char out[CLR_SHA256_HEXLEN + 1]);

/* The same over any list of scanners (tests use a modified copy).  0, or
 * CLR_ERROR if OpenSSL fails (out is then ""). */
int clr_scanners_state_of(char out[CLR_SHA256_HEXLEN + 1],
			  const struct clr_scanner *const *list, size_t n);

/*
 * Helpers the scanners share (scanner.c).
 */

/* The file at path in the input, following symlinks within the input
 * (relative targets against the link's directory, absolute ones against
 * the layer root; at most 16 hops).  NULL when absent, dangling, looping
 * or escaping the root.  *resolved (optional) gets the final path, which
 * stays valid as long as the input. */
const struct clr_scan_file *clr_scan_input_lookup(
	const struct clr_scan_input *in, const char *path,
	const char **resolved);

/* A path without leading "/" and "./" (layer readers normalise, but the
 * scanners accept either). */
const char *clr_scan_path_strip(const char *path);

/* Appends a package / distribution; every string is copied into out's
 * arena (NULL is stored as ""). */
void clr_scan_result_add_package(struct clr_scan_result *out,
				 const struct clr_scan_package *p);
void clr_scan_result_add_distribution(struct clr_scan_result *out,
				      const struct clr_scan_distribution *d);

/* The checks a line-oriented package database passes before it is
 * parsed: no NUL byte (CLR_EINVALID "PATH: line N: NUL byte: not WHAT",
 * WHAT being "an apk database", say) and, when final_newline, a newline
 * at the end of a non-empty file (else it was cut short). */
int clr_scan_text_check(const struct clr_scan_file *f, const char *path,
			const char *what, bool final_newline);

/* Drops packages and distributions past the given counts: how a failing
 * scan() restores out.  (Their strings stay in the arena until release.) */
void clr_scan_result_truncate(struct clr_scan_result *out, size_t npackages,
			      size_t ndistributions);

#endif
