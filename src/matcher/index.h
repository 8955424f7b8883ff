/*
 * index.h - the matcher's in-memory index of the current vulnerability data.
 *
 * The store is the truth; this is a cache of it that the matcher can consult
 * a few hundred times per report without touching a database.  Records are
 * grouped by (namespace, package name), where the namespace says which
 * distribution release or ecosystem a record is about:
 *
 *     debian:12   ubuntu:22.04   alpine:3.19   rhel:8   ol:9   sles:15
 *     opensuse-leap:15.6   photon:3.0   almalinux:9   repo:PyPI
 *
 * clr_vindex_namespace() computes it the same way for a record and for an
 * image's distribution, so the two meet.  Each record's fixed version is
 * parsed once, with the record's scheme, when the index is built.
 *
 * Memory: a record is a few pointers; everything that repeats across
 * records (the advisory text shared by every package of an RHSA, a CVE's
 * description shared by its releases, the distribution fields, the fixed
 * versions) is stored once.  See docs/internals/matcher.md for figures.
 *
 * An index is immutable once built, so any number of threads may match
 * against it at once; the service swaps in a new one after an update.
 */
#ifndef CLR_MATCHER_INDEX_H
#define CLR_MATCHER_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "feeds/nvd.h"
#include "store/store.h"
#include "updater/vuln.h"
#include "util/arena.h"
#include "util/hashmap.h"
#include "util/vec.h"
#include "version/version.h"

/* What a record shares with every other record of its feed and package
 * shape: the where and the how-to-compare. */
struct clr_vmeta {
	const char *updater;
	const char *dist_did, *dist_name, *dist_version, *dist_version_id,
		   *dist_version_code_name, *dist_pretty_name, *dist_cpe;
	const char *repo_name, *repo_uri;
	const char *version_scheme;
	enum clr_vscheme scheme;
	const char *package_kind, *package_module, *arch, *arch_op;
	int source_keyed;   /* package_kind is "source" */
	/* The "distribution" object of this meta's Vulnerabilities, built by
	 * the first report that needs it and shared (json_t *; match.c). */
	void *dist_json;
};

/* What a record shares with the other records of its advisory. */
struct clr_vadv {
	const char *name, *description, *issued, *links, *severity;
	enum clr_severity normalized_severity;
	/* name's place among every advisory name of the index in strcmp
	 * order (equal names, equal ranks): reports order by name by
	 * comparing two integers */
	uint32_t name_rank;
};

/* One record, compact. */
struct clr_vrec {
	const struct clr_vadv *adv;
	const struct clr_vmeta *meta;
	const char *package_name;
	const char *affected;           /* JSON text, or "" */
	const char *fixed_in_version;   /* "" = no fix */
	const struct clr_version *fixed; /* parsed; NULL when "" */
	/* The first 16 hex digits of clr_vuln_hash() as a number (8 bytes
	 * instead of 17 plus padding: 16 bytes a record), stable across
	 * rebuilds; clr_vrec_id() spells it as reports show it. */
	uint64_t id;
};

/* Record r's id as reports show it: 16 lowercase hex digits. */
char *clr_vrec_id(char out[17], const struct clr_vrec *r);

/* The records of one (namespace, package name). */
struct clr_vbucket {
	const struct clr_vrec *recs;   /* a slice of clr_vindex.recs */
	size_t len;
};

struct clr_vindex {
	struct clr_hashmap buckets;    /* "ns\x1fname" -> struct clr_vbucket */
	struct clr_hashmap namespaces; /* ns -> record count (uintptr_t) */
	struct clr_arena arena;        /* strings, metas, advisories */
	struct clr_vec versions;       /* struct clr_version *, to free */
	struct clr_vrec *recs;         /* every record, grouped by bucket */
	size_t records;                /* records kept */
	size_t skipped;                /* records dropped: bad scheme/version */
	size_t dropped_dups;           /* identical records kept once */
	void *build;                   /* build state; NULL once built */
	/* The report cache (match.c): per record (same position as recs),
	 * its Vulnerability object (json_t *), built by the first report
	 * that matches the record and shared by every later one.  Filled
	 * with atomic compare-and-swap: the only part of an index that
	 * changes after finish, invisible to callers.  cache_bytes (atomic)
	 * estimates what it holds; past CLR_VINDEX_CACHE_MAX, objects are
	 * built per report instead. */
	void **cache;
	size_t cache_bytes;
	/* NVD's CVSS scores (records of CLR_NVD_SCHEME, taken aside from
	 * the vulnerabilities): CVE id -> struct clr_nvd_cvss *, strings
	 * and structs in the arena.  Empty when no nvd data is loaded, and
	 * then reports are exactly as without it. */
	struct clr_hashmap cvss;
	size_t cvss_records;
	/* Per record (same position as recs), Clair's enrichment for its
	 * Vulnerability: the CVSS objects of the CVEs its name, links and
	 * description mention (json_t * array), json_null() when none has
	 * any, NULL until a report asked.  Built once and shared, filled as
	 * the report cache is (match.c).  Allocated only when cvss_records
	 * is not 0, from zero pages: an index without NVD data pays
	 * nothing, one with it only for the pages reports touched. */
	void **enrich;
};

/* How much the report cache of one index may hold (bytes, estimated). */
#define CLR_VINDEX_CACHE_MAX ((size_t)32 << 20)

/* The namespace of a distribution or an ecosystem into out (size n):
 * "<did>:<normalised version>" (see the list above; an empty version
 * falls back to "~<codename>"), or "repo:<repo_name>" when did is empty.
 * Returns out, or NULL when there is neither a did nor a repo name. */
char *clr_vindex_namespace(char *out, size_t n, const char *did,
			   const char *version_id, const char *code_name,
			   const char *repo_name);

/* Builds an index of every current record in the store. */
int clr_vindex_build(struct clr_vindex *ix, struct clr_store *store);

/* Builds an index of the records in set (which may be released after). */
int clr_vindex_from_set(struct clr_vindex *ix, const struct clr_vuln_set *set);

/* Incremental form, for callers with their own record source:
 * begin, add each record (copied), finish.  The index must not be matched
 * against before finish. */
void clr_vindex_begin(struct clr_vindex *ix);
int clr_vindex_add(struct clr_vindex *ix, const struct clr_vuln *v);
void clr_vindex_finish(struct clr_vindex *ix);

/* The records for (namespace, package name), or NULL. */
const struct clr_vbucket *clr_vindex_lookup(const struct clr_vindex *ix,
					    const char *ns, const char *name);

/* Forgets the NVD scores (matcher.disable_enrichment): reports are then
 * exactly as without NVD data.  Before the index is shared. */
void clr_vindex_drop_enrichment(struct clr_vindex *ix);

/* NVD's scores of CVE id ("CVE-2023-1234"), or NULL. */
const struct clr_nvd_cvss *clr_vindex_cvss(const struct clr_vindex *ix,
					   const char *id);

/* Whether any record is about namespace ns. */
int clr_vindex_covers(const struct clr_vindex *ix, const char *ns);

void clr_vindex_free(struct clr_vindex *ix);

#endif
