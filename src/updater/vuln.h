/*
 * vuln.h - a vulnerability record, as updaters produce it and the store and
 * matcher keep it.
 *
 * The shape follows Clair v4's Vulnerability (reference/clair-api.md §1.4):
 * one record says "package P of distribution D (or ecosystem E) is affected
 * by NAME below FIXED".  Feeds that say more than that (OSV ranges and
 * explicit version lists, OVAL criteria that a flat record cannot carry)
 * keep it in `affected`, a JSON text the matcher interprets per scheme.
 *
 * Records live in a clr_vuln_set: every string is in the set's arena and is
 * never NULL ("" when absent).
 */
#ifndef CLR_UPDATER_VULN_H
#define CLR_UPDATER_VULN_H

#include <stddef.h>

#include "util/arena.h"
#include "util/sha256.h"
#include "util/vec.h"

/* Normalised severity, ordered (Clair's claircore.Severity). */
enum clr_severity {
	CLR_SEV_UNKNOWN,
	CLR_SEV_NEGLIGIBLE,
	CLR_SEV_LOW,
	CLR_SEV_MEDIUM,
	CLR_SEV_HIGH,
	CLR_SEV_CRITICAL,
};

struct clr_vuln {
	const char *name;        /* "CVE-2023-1234", "ALSA-2023:1234", ... */
	const char *updater;     /* the updater that produced it: "debian",
				  * "alpine-main-v3.19", "ubuntu/jammy", ... */
	const char *description;
	const char *issued;      /* RFC 3339, or "" */
	const char *links;       /* space-separated URLs */
	const char *severity;    /* the vendor's own string, verbatim */
	enum clr_severity normalized_severity;

	/* What is affected. */
	const char *package_name;
	const char *package_kind;  /* "source" (Debian, Ubuntu: keyed by source
				    * package), "binary", or "" */
	const char *package_module; /* rpm module:stream, or "" */
	const char *arch;          /* "" = any */
	const char *arch_op;       /* "", "equals", "not equals", "pattern match" */

	/* Where: a distribution (OS feeds) ... */
	const char *dist_did;           /* os-release ID: "debian", "alpine" */
	const char *dist_name;
	const char *dist_version;
	const char *dist_version_id;    /* "12", "3.19", "9" */
	const char *dist_version_code_name; /* "bookworm" */
	const char *dist_pretty_name;
	const char *dist_cpe;
	/* ... or a repository / ecosystem (OSV: "PyPI", "AlmaLinux:9"). */
	const char *repo_name;
	const char *repo_uri;

	const char *version_scheme;   /* "dpkg", "rpm", "apk", "semver", ... */
	const char *fixed_in_version; /* "" = no fix yet (still vulnerable) */
	const char *affected;         /* JSON text with what a flat record
				       * cannot say (OSV ranges/versions,
				       * OVAL extra conditions), or "" */
};

/*
 * X(field) for each string field of struct clr_vuln, in one fixed order:
 * the content hash (clr_vuln_hash) and the stores' columns follow it, so
 * reordering changes every stored hash.  One list, so copying, hashing,
 * binding and the OVAL engine's per-field handling cannot miss a field.
 */
#define CLR_VULN_STRINGS(X)                                               \
	X(name) X(updater) X(description) X(issued) X(links) X(severity)  \
	X(package_name) X(package_kind) X(package_module) X(arch)         \
	X(arch_op) X(dist_did) X(dist_name) X(dist_version)               \
	X(dist_version_id) X(dist_version_code_name) X(dist_pretty_name)  \
	X(dist_cpe) X(repo_name) X(repo_uri) X(version_scheme)            \
	X(fixed_in_version) X(affected)

/* A set of records and the arena their strings live in. */
struct clr_vuln_set {
	struct clr_vec vulns;   /* struct clr_vuln */
	struct clr_arena arena;
};

void clr_vuln_set_init(struct clr_vuln_set *s);
void clr_vuln_set_release(struct clr_vuln_set *s);

/* Appends a copy of v (strings copied into the set's arena; NULL -> ""). */
struct clr_vuln *clr_vuln_set_add(struct clr_vuln_set *s,
				  const struct clr_vuln *v);

/* The content hash that de-duplicates records: lowercase hex SHA-256 over
 * every field in a fixed order (length-prefixed, so fields cannot run into
 * each other). */
void clr_vuln_hash(char out[CLR_SHA256_HEXLEN + 1], const struct clr_vuln *v);

/* "Unknown", "Negligible", "Low", "Medium", "High", "Critical". */
const char *clr_severity_name(enum clr_severity s);

/* The four-word rating Red Hat, Oracle, SUSE and VMware use (any case):
 * Low, Moderate -> Medium, Important -> High, Critical; anything else
 * ("None", "N/A", "") is Unknown. */
enum clr_severity clr_severity_from_rating(const char *rating);

/* Parses one of the names above (case-insensitive); CLR_EINVALID else. */
int clr_severity_from_name(enum clr_severity *out, const char *name);

#endif
