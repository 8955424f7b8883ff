/*
 * report.h - an image's findings, normalised once, written in any format.
 *
 * `clarion scan` (and later the server's report endpoints) start from two
 * Clair-shaped JSON objects: the VulnerabilityReport the matcher returns
 * (which carries the IndexReport's packages, distributions and
 * environments).  Every output format wants the same things from them: the
 * image's distribution, its packages with their package URLs, and the
 * findings the user's policy lets through, sorted and without duplicates.
 * clr_report_build() computes those once; table.c, json.c, sarif.c and
 * cyclonedx.c only lay them out, so the formats cannot disagree about what
 * was found.
 *
 * A finding is (package, installed version, fixed version, vulnerability):
 * the VulnerabilityReport may name one vulnerability several times for a
 * package (two records of one CVE, one package in two architectures) and a
 * user wants to read it once.
 *
 * Ownership: a struct clr_report holds a reference to the report JSON it
 * was built from; every const char * in it points into that JSON or into
 * strings the clr_report owns, and lives until clr_report_release().
 */
#ifndef CLR_REPORT_REPORT_H
#define CLR_REPORT_REPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "updater/vuln.h"
#include "util/vec.h"

#define CLR_REPORT_NSEV (CLR_SEV_CRITICAL + 1)

struct clr_ignore;

/* One package of the image. */
struct clr_report_package {
	const char *id;          /* the report's package id */
	const char *name, *version, *arch;
	const char *source, *source_version; /* "" when none */
	const char *package_db;  /* where it was found, "var/lib/dpkg/status" */
	char *purl;              /* package URL (owned); "" when no type is known */
	char *bom_ref;           /* unique in the report: the purl, or purl#id */
};

/* One thing to tell the user about. */
struct clr_report_finding {
	const struct clr_report_package *pkg; /* the first package it was seen on */
	const char *package, *installed, *fixed, *vuln;
	const char *vendor_severity; /* the feed's own word, verbatim */
	const char *links;           /* space separated, as the feed gives them */
	const char *updater;
	const char *description;     /* whole; "" when the feed has none */
	char *title;                 /* first line of the description (owned) */
	enum clr_severity sev;
	/* NVD's CVSS v3.x for it, from the report's clair.cvss enrichment
	 * (the severity above stays the feed's, as in Clair) */
	const char *cvss_vector;     /* "CVSS:3.1/AV:N/...", "" when none */
	int cvss_score;              /* base score in tenths, -1 when none */
};

/* A package no feed covers. */
struct clr_report_uncovered {
	const struct clr_report_package *pkg;
	const char *dist;            /* the name a user knows it by */
};

/* An ignore-file entry that matched findings, or that expired. */
struct clr_report_ignored {
	const char *vuln, *package;  /* of the finding hidden */
	const char *reason;          /* "" when the file gives none */
};

struct clr_report {
	json_t *vr;                /* the VulnerabilityReport (a reference) */
	const char *image;         /* IMAGE as the user wrote it */
	const char *manifest_hash;
	json_t *dist;              /* the distribution object, NULL when none */
	const char *dist_did, *dist_version_id, *dist_pretty;
	struct clr_vec packages;   /* struct clr_report_package, report order */
	struct clr_vec findings;   /* struct clr_report_finding, shown, sorted */
	struct clr_vec uncovered;  /* struct clr_report_uncovered */
	struct clr_vec ignored;    /* struct clr_report_ignored */
	struct clr_vec strings;    /* char *: owned labels the above point to */
	unsigned shown_sev;        /* bit per severity the user asked for */
	size_t summary[CLR_REPORT_NSEV]; /* shown findings per severity */
};

/* What the user's policy lets through. */
struct clr_report_policy {
	unsigned severities;       /* bit (1u << sev) per shown severity; 0: all */
	bool ignore_unfixed;       /* hide findings without a fixed version */
	const struct clr_ignore *ignore; /* may be NULL */
	time_t now;                /* for the ignore file's expiry dates */
};

/* Builds r from the VulnerabilityReport vr (a reference is taken) for
 * IMAGE.  CLR_EINVALID when vr is not a report. */
int clr_report_build(struct clr_report *r, json_t *vr, const char *image,
		     const struct clr_report_policy *policy);
void clr_report_release(struct clr_report *r);

/* The highest severity among the shown findings, and whether there is any
 * (the CLI's --fail-on). */
bool clr_report_worst(const struct clr_report *r, enum clr_severity *out);

/* Package URL of p in r's distribution (purl spec: deb, apk, rpm types);
 * a new string, "" when the package database is of no known type. */
char *clr_report_purl(const struct clr_report *r, const struct clr_report_package *p);

/* ---- formats -------------------------------------------------------------- */

struct clr_table_opts {
	size_t width;              /* columns of the line */
	bool colour;               /* ANSI colours for the severities */
	bool show_not_covered;     /* list the uncovered packages at the end */
};

/* What the machine-readable formats say about the producer. */
struct clr_report_meta {
	const char *tool_version;  /* "0.1.0" */
	time_t timestamp;          /* when the scan ran (CycloneDX metadata) */
};

int clr_report_table(FILE *f, const struct clr_report *r,
		     const struct clr_table_opts *o);
int clr_report_json(FILE *f, const struct clr_report *r);
int clr_report_sarif(FILE *f, const struct clr_report *r,
		     const struct clr_report_meta *m);
int clr_report_cyclonedx(FILE *f, const struct clr_report *r,
			 const struct clr_report_meta *m);

/* Writes j to f as the formats do (2-space indent, key order kept, final
 * newline) and drops the reference; CLR_EIO when writing fails. */
int clr_report_dump(FILE *f, json_t *j);

/* Display columns of a UTF-8 string: one per code point. */
size_t clr_report_ucols(const char *s);

#endif
