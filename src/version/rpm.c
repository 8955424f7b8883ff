/*
 * rpm.c - RPM versions, ordered exactly as librpm's rpmverCmp() orders them.
 *
 * An EVR is [epoch:]version[-release].  As in rpm: the epoch is the run of
 * digits before a ':' (anything else before a colon is part of the version),
 * the release is what follows the last '-' after the epoch, and a missing
 * epoch compares as 0 while a missing release sorts before any release.
 * Only the empty string is rejected (rpmverParse() returns NULL for it).
 *
 * Each part is compared with rpmvercmp(): separators are skipped, '~' sorts
 * before everything (even the end), '^' sorts after the end but before any
 * other segment, digit runs compare numerically at any length and beat
 * letter runs, letter runs compare as bytes.  Unlike rpm we never copy or
 * modify the strings while comparing.
 */
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/error.h"
#include "version/version.h"

struct rpm_version {
	const char *epoch;    /* "0" when absent, as rpmverCmp does */
	const char *version;
	const char *release;  /* NULL when absent */
	char text[];          /* the parts, each NUL-terminated */
};

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_sep(char c)
{
	return c && !is_digit(c) && !is_alpha(c) && c != '~' && c != '^';
}

static int vercmp(const char *one, const char *two)
{
	if (!strcmp(one, two))
		return 0;
	while (*one || *two) {
		const char *e1, *e2;
		size_t n1, n2;
		int isnum, rc;

		while (is_sep(*one))
			one++;
		while (is_sep(*two))
			two++;

		if (*one == '~' || *two == '~') {
			if (*one != '~')
				return 1;
			if (*two != '~')
				return -1;
			one++;
			two++;
			continue;
		}
		/* '^' is like '~' except that the end of a version (the
		 * base release) sorts before a caret suffix. */
		if (*one == '^' || *two == '^') {
			if (!*one)
				return -1;
			if (!*two)
				return 1;
			if (*one != '^')
				return 1;
			if (*two != '^')
				return -1;
			one++;
			two++;
			continue;
		}
		if (!(*one && *two))
			break;

		e1 = one;
		e2 = two;
		isnum = is_digit(*one);
		if (isnum) {
			while (is_digit(*e1))
				e1++;
			while (is_digit(*e2))
				e2++;
		} else {
			while (is_alpha(*e1))
				e1++;
			while (is_alpha(*e2))
				e2++;
		}
		/* A numeric segment against a letter one: numbers are newer. */
		if (e2 == two)
			return isnum ? 1 : -1;
		if (isnum) {
			while (*one == '0')
				one++;
			while (*two == '0')
				two++;
			if (e1 - one != e2 - two)
				return e1 - one > e2 - two ? 1 : -1;
		}
		n1 = (size_t)(e1 - one);
		n2 = (size_t)(e2 - two);
		rc = memcmp(one, two, n1 < n2 ? n1 : n2);
		if (!rc && n1 != n2)
			rc = n1 < n2 ? -1 : 1;
		if (rc)
			return rc < 0 ? -1 : 1;
		one = e1;
		two = e2;
	}
	if (!*one && !*two)
		return 0;
	return *one ? 1 : -1;
}

static int parse(void **out, const char *s, size_t len)
{
	struct rpm_version *v;
	char *p, *dash;

	if (!len)
		return clr_error_set(CLR_EINVALID, "invalid rpm version '': empty");
	v = clr_malloc(sizeof(*v) + len + 1);
	memcpy(v->text, s, len);
	v->text[len] = '\0';
	p = v->text;
	while (is_digit(*p))
		p++;
	dash = strrchr(p, '-');
	if (*p == ':') {
		*p = '\0';
		v->epoch = p == v->text ? "0" : v->text;
		v->version = p + 1;
	} else {
		v->epoch = "0";
		v->version = v->text;
	}
	v->release = NULL;
	if (dash) {
		*dash = '\0';
		v->release = dash + 1;
	}
	*out = v;
	return 0;
}

static int cmp(const void *pa, const void *pb)
{
	const struct rpm_version *a = pa, *b = pb;
	int c;

	if ((c = vercmp(a->epoch, b->epoch)))
		return c;
	if ((c = vercmp(a->version, b->version)))
		return c;
	if (!a->release || !b->release)
		return !!a->release - !!b->release;
	return vercmp(a->release, b->release);
}

static void pfree(void *p)
{
	free(p);
}

const struct clr_vscheme_ops clr_vscheme_rpm = {
	.name = "rpm",
	.parse = parse,
	.cmp = cmp,
	.free = pfree,
};
