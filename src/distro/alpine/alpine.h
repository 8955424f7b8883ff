/*
 * alpine.h - the Alpine secdb source, beyond its factory
 * (clr_factory_alpine, listed in src/distro/registry.c): the in-memory
 * parsers, for the fuzz target and tests.
 */
#ifndef CLR_DISTRO_ALPINE_H
#define CLR_DISTRO_ALPINE_H

#include <stddef.h>

#include "updater/updater.h"
#include "util/vec.h"

/* One secdb document (the largest real one, v3.x main.json, is a few
 * hundred KB). */
#define CLR_ALPINE_DOC_MAX ((size_t)64 << 20)
/* Package names, versions, advisory ids. */
#define CLR_ALPINE_WORD_MAX 1024
/* The directory listing the branches are discovered from. */
#define CLR_ALPINE_INDEX_MAX ((size_t)1 << 20)

/*
 * Parses one secdb JSON document in data[0..len) (where names it in
 * messages) as updater u (made by clr_factory_alpine) would, appending to
 * out.  CLR_EINVALID / CLR_ELIMIT with a message naming the place; records
 * appended before the failure are removed again.
 */
int clr_alpine_parse_buf(struct clr_updater *u, const char *data, size_t len,
			 const char *where, struct clr_vuln_set *out);

/*
 * The release branches ("v3.19") an HTML directory listing links to, in
 * version order, without duplicates, from v3.3 on (older branches have no
 * secdb documents); appended to out as malloc'd strings (char *).
 */
void clr_alpine_branches_from_index(struct clr_vec *out, const char *html,
				    size_t len);

#endif
