/*
 * ignore.h - the ignore file of `clarion scan --ignore-file`: findings a
 * team has looked at and accepted, for a while.
 *
 * The file is YAML, shaped like Trivy's .trivyignore.yaml so that one file
 * can serve both:
 *
 *   vulnerabilities:
 *     - id: CVE-2008-7220
 *       packages: [libjs-prototype]   # or package: NAME; none: any package
 *       image: "registry.example/app:*"  # glob over IMAGE as given; optional
 *       reason: only used offline     # or Trivy's `statement`
 *       expires: 2027-01-31           # or Trivy's `expired_at`; optional
 *
 * (a bare sequence of entries is read the same).  An entry hides the
 * findings of vulnerability `id` (and of its packages, in the images the
 * glob matches) until the end of its `expires` day, UTC; from the next day
 * on it no longer applies, and the caller says so.  A package matches by
 * the binary package's name or its source package's name, as users know
 * either.
 *
 * The file is input a user typed: unknown keys, wrong types and bad dates
 * are errors naming the line, never ignored (a misspelt `expires` must not
 * silently make an entry permanent).
 */
#ifndef CLR_REPORT_IGNORE_H
#define CLR_REPORT_IGNORE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "util/vec.h"

#define CLR_IGNORE_MAX_SIZE (4 << 20)  /* bytes of an ignore file */

struct clr_ignore_entry {
	char *id;
	struct clr_vec packages;  /* char *; empty: every package */
	char *image;              /* a glob, NULL: every image */
	char *reason;             /* "" when none */
	char *expires;            /* "YYYY-MM-DD" as written, NULL: never */
	time_t expires_at;        /* the first second it no longer applies */
	int line;                 /* of the entry in the file */
};

struct clr_ignore {
	char *name;               /* the file, for messages */
	struct clr_vec entries;   /* struct clr_ignore_entry, file order */
};

/* Parses the len bytes of data (name is for messages) into a new *out.
 * CLR_EINVALID with "NAME (line N): why" on a malformed file, CLR_ELIMIT
 * past CLR_IGNORE_MAX_SIZE. */
int clr_ignore_parse(struct clr_ignore **out, const char *data, size_t len,
		     const char *name);

/* The same for the file at path. */
int clr_ignore_load(struct clr_ignore **out, const char *path);

void clr_ignore_free(struct clr_ignore *ig);

/* Whether e has expired at now. */
bool clr_ignore_expired(const struct clr_ignore_entry *e, time_t now);

/* The first entry in force at now that hides vulnerability vuln of the
 * package named package (or of source package source; may be NULL or "")
 * in image, or NULL. */
const struct clr_ignore_entry *clr_ignore_match(const struct clr_ignore *ig,
						const char *image, const char *vuln,
						const char *package,
						const char *source, time_t now);

#endif
