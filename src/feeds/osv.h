/*
 * osv.h - the OSV (Open Source Vulnerability, schema 1.x) format, shared by
 * every source that publishes it: AlmaLinux and Rocky Linux today, the
 * language ecosystems (PyPI, Go, crates.io, ...) later.
 *
 * An OSV record says "advisory ID affects package P of ecosystem E in these
 * version ranges".  One clarion record is made per (affected package,
 * range): fixed_in_version is the range's first "fixed" event (so the flat
 * "installed < fixed" rule works for the common single-range case) and
 * `affected` keeps the whole range and the explicit version list as JSON,
 *
 *     {"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},
 *                {"fixed":"1.2-3.el9"}]}],"versions":["1.0","1.1"]}
 *
 * for the matcher to apply exactly.  GIT ranges are dropped (commit hashes
 * cannot be compared with installed package versions); an affected entry
 * with only a version list gives one record with "ranges":[].  Withdrawn
 * records give nothing.
 *
 * The input is what an OSV updater's fetch() leaves: a directory tree of
 * *.json records (the AlmaLinux osv-database layout), a zip of them (the
 * osv.dev all.zip export) or a single record.  A malformed record fails the
 * whole parse with CLR_EINVALID naming the file and the place in it: an
 * updater must not publish a partial set as if it were complete.
 */
#ifndef CLR_FEEDS_OSV_H
#define CLR_FEEDS_OSV_H

#include <stdbool.h>
#include <stddef.h>

#include "updater/updater.h"
#include "updater/vuln.h"
#include "util/vec.h"

/* How a source's records become clarion records.  NULL strings mean "". */
struct clr_osv_opts {
	const char *updater;        /* records' updater field */
	const char *ecosystem;      /* keep only affected[] of this ecosystem
				     * ("AlmaLinux:9"); NULL keeps all */
	const char *version_scheme; /* NULL: from the ecosystem (see osv.c) */
	const char *package_kind;   /* "binary" for distributions */
	const char *dist_did;       /* os-release ID: "almalinux", "rocky" */
	const char *dist_name;      /* os-release NAME */
	const char *dist_version_id;
	const char *dist_pretty_name;
	/* RHEL rebuilds put Red Hat's severity in the summary ("Important:
	 * kernel security update"); use it before CVSS. */
	bool summary_severity;
	/* RHEL rebuilds do not say which module stream a modular package
	 * belongs to; take it from the summary ("php:8.0 security update")
	 * for packages whose release carries ".module". */
	bool rpm_modules;
};

/* Caps on untrusted sizes. */
#define CLR_OSV_RECORD_MAX (16u << 20)   /* one record's JSON */
#define CLR_OSV_ID_MAX 1024              /* ids, names, versions, ecosystems */
#define CLR_OSV_DEPTH_MAX 64             /* directory nesting */

/* Parses path (a directory tree of *.json, a .zip of them, or one .json
 * record) into out.  CLR_EINVALID / CLR_ELIMIT with a message naming the
 * file and place; CLR_EIO when it cannot be read. */
int clr_osv_parse_path(const char *path, const struct clr_osv_opts *o,
		       struct clr_vuln_set *out);

/*
 * One of several sets filled from a single read of the data
 * (clr_osv_parse_path_multi): an export holding every release of a
 * distribution is read, and each record's JSON parsed, once for all of
 * them.
 */
struct clr_osv_target {
	const struct clr_osv_opts *opts;
	struct clr_vuln_set *out;
	int err;    /* set by the parse: 0, or why this target failed (its
		     * records are then taken out of out again) */
	char *msg;  /* set by the parse: err's message (caller frees), or
		     * NULL */
};

/* clr_osv_parse_path for n targets at once.  Each target ends exactly as
 * if clr_osv_parse_path had been called for it alone: a record that is
 * malformed only where one target looks (a range of its ecosystem) fails
 * only that target, which the others do not notice.  Returns 0 when every
 * target succeeded, else the first failed target's err with its message. */
int clr_osv_parse_path_multi(const char *path, struct clr_osv_target *t,
			     size_t n);

/* Parses one record of len bytes; where names it in messages. */
int clr_osv_parse_record(const char *data, size_t len, const char *where,
			 const struct clr_osv_opts *o,
			 struct clr_vuln_set *out);

/*
 * A distribution that publishes OSV for its releases (AlmaLinux, Rocky):
 * its factory makes one updater per major release, "<prefix>-<major>",
 * each reading the records of ecosystem "<ecosystem>:<major>" from the
 * source's export (a zip, read in place, or a directory).  The updaters of
 * one call share the export within a run: one download, one parse for all
 * releases (see struct distro_set in osv.c).
 * Settings: `url` (the export) and `releases` ("8 9 10").
 */
struct clr_osv_distro {
	const char *source;       /* the factory name: "alma" */
	const char *prefix;       /* updater names: "alma" -> "alma-9" */
	const char *ecosystem;    /* "AlmaLinux" */
	const char *dist_did;     /* "almalinux" */
	const char *dist_name;    /* "AlmaLinux" */
	const char *default_url;
	const char *default_releases; /* "8 9 10" */
};

int clr_osv_distro_create(const struct clr_osv_distro *d, struct clr_vec *out,
			  const char *(*setting)(void *arg, const char *key),
			  void *arg);

/* The CVSS base score of a vector, times ten (9.8 -> 98): v3.0/v3.1
 * ("CVSS:3.1/AV:N/...") or v2 ("AV:N/AC:L/Au:N/C:P/I:P/A:P").
 * *version is 3 or 2.  CLR_EINVALID for anything else (v4 included). */
int clr_cvss_score(int *score10, int *version, const char *vector);

/* The normalised severity of a score (times ten) of a CVSS version, with
 * the NVD bands Clair uses (clair-api.md §4.3). */
enum clr_severity clr_cvss_severity(int score10, int version);

/* Red Hat's severity words, also used by its rebuilds and many OSV
 * databases: Critical, Important/High, Moderate/Medium, Low, None
 * (any case).  CLR_SEV_UNKNOWN for anything else. */
enum clr_severity clr_osv_severity_word(const char *word);

#endif
