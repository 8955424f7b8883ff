/*
 * debian.h - the Debian security tracker source, beyond its factory
 * (clr_factory_debian, listed in src/distro/registry.c): the in-memory
 * parser, for the fuzz target and tests, and the readers of the archive's
 * release files that give codenames their numbers.
 */
#ifndef CLR_DISTRO_DEBIAN_H
#define CLR_DISTRO_DEBIAN_H

#include <stddef.h>

#include "updater/updater.h"
#include "util/vec.h"

/* Caps on the tracker document: the whole file, and one package's entry
 * (the largest real one, linux, is about 10 MB; jansson needs several
 * times that in memory, so the cap bounds what a hostile file can cost). */
#define CLR_DEBIAN_FILE_MAX ((size_t)4 << 30)
#define CLR_DEBIAN_PACKAGE_MAX ((size_t)256 << 20)
/* Package names, CVE ids, codenames, versions, urgencies. */
#define CLR_DEBIAN_WORD_MAX 1024

/* Caps on the archive's release files: the dists/ listing, one Release or
 * InRelease (sid's is about 200 KB: the fields, then checksums of every
 * index), and how many codenames one listing may make us fetch. */
#define CLR_DEBIAN_LISTING_MAX ((size_t)1 << 20)
#define CLR_DEBIAN_RELEASE_MAX ((size_t)4 << 20)
#define CLR_DEBIAN_RELEASES_MAX 256

/*
 * Appends to out (a vec of char *, caller frees each) the codenames an
 * HTML listing of the archive's dists/ links as directories ("bookworm/"),
 * sorted, each once; "../", suite aliases (stable, testing, unstable,
 * oldstable, oldoldstable, experimental, rc-buggy) and side suites
 * (*-updates, *-backports*, *-proposed-updates, *-security) left out.
 * At most CLR_DEBIAN_RELEASES_MAX.
 */
void clr_debian_codenames_from_listing(struct clr_vec *out, const char *html,
				       size_t len);

/*
 * Reads the Codename and Version fields of a Release or InRelease file
 * (RFC 822 fields first; InRelease's PGP armour skipped).  *codename is a
 * copy of the Codename, or NULL when absent or not a plain name;
 * *version_id the part of Version before the first '.' ("12.5" -> "12"),
 * or "" when there is none (sid, testing).  Caller frees both.
 */
void clr_debian_release_fields(const char *data, size_t len, char **codename,
			       char **version_id);

/*
 * Parses the tracker JSON in data[0..len) (where names it in messages) as
 * updater u (made by clr_factory_debian) would with only its releases
 * setting for release numbers, appending to out.
 * CLR_EINVALID / CLR_ELIMIT with a message naming the place; records
 * appended before the failure are removed again.
 */
int clr_debian_parse_buf(struct clr_updater *u, const char *data, size_t len,
			 const char *where, struct clr_vuln_set *out);

#endif
