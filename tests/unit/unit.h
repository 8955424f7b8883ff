/*
 * unit.h - what every cmocka unit test includes.
 *
 * cmocka needs <stdarg.h>, <stddef.h>, <stdint.h> and <setjmp.h> before its
 * own header; this file keeps that order in one place and adds the path of
 * the source tree's tests/ directory (set by the Makefile's working
 * directory: tests run from the top of the tree).
 */
#ifndef CLR_TESTS_UNIT_H
#define CLR_TESTS_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Top of the source tree, for tests that read tests/data or fixtures. */
static inline const char *unit_srcdir(void)
{
	const char *d = getenv("CLARION_SRCDIR");

	return d && *d ? d : ".";
}

/* An updater factory's setting callback over arg, a NULL-terminated array
 * of "key=value" strings: the value of key, or NULL. */
static inline const char *unit_kv_setting(void *arg, const char *key)
{
	const char *const *kv = arg;
	size_t n = strlen(key);

	for (; kv && *kv; kv++)
		if (!strncmp(*kv, key, n) && (*kv)[n] == '=')
			return *kv + n + 1;
	return NULL;
}

#endif
