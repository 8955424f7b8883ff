/*
 * debian.h - the Debian security tracker source, beyond its factory
 * (clr_factory_debian, listed in src/distro/registry.c): the in-memory
 * parser, for the fuzz target and tests.
 */
#ifndef CLR_DISTRO_DEBIAN_H
#define CLR_DISTRO_DEBIAN_H

#include <stddef.h>

#include "updater/updater.h"

/* Caps on the tracker document: the whole file, and one package's entry
 * (the largest real one, linux, is about 10 MB; jansson needs several
 * times that in memory, so the cap bounds what a hostile file can cost). */
#define CLR_DEBIAN_FILE_MAX ((size_t)4 << 30)
#define CLR_DEBIAN_PACKAGE_MAX ((size_t)256 << 20)
/* Package names, CVE ids, codenames, versions, urgencies. */
#define CLR_DEBIAN_WORD_MAX 1024

/*
 * Parses the tracker JSON in data[0..len) (where names it in messages) as
 * updater u (made by clr_factory_debian) would, appending to out.
 * CLR_EINVALID / CLR_ELIMIT with a message naming the place; records
 * appended before the failure are removed again.
 */
int clr_debian_parse_buf(struct clr_updater *u, const char *data, size_t len,
			 const char *where, struct clr_vuln_set *out);

#endif
