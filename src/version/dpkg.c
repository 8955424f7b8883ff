/*
 * dpkg.c - Debian package versions, ordered exactly as dpkg orders them.
 *
 * A version is [epoch:]upstream[-revision] (deb-version(7)).  Parsing
 * follows libdpkg's parseversion(): the same strings are rejected (empty,
 * embedded blanks, a bad or huge epoch, nothing after the colon, an empty
 * upstream or revision) and the same strings are merely warned about and
 * accepted (upstream not starting with a digit, odd characters), because
 * `dpkg --compare-versions` accepts those too and real feeds contain them.
 *
 * Comparison is dpkg's: epochs numerically, then upstream and revision with
 * the "verrevcmp" walk: alternate runs of non-digits, compared character by
 * character with '~' before the end of the string before letters before
 * everything else, and runs of digits, compared numerically whatever their
 * length.  The differential tests check this against libdpkg itself.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/error.h"
#include "version/version.h"

struct dpkg_version {
	int epoch;
	const char *upstream;  /* points into text, NUL-terminated */
	const char *revision;  /* points into text; "" when absent */
	char text[];           /* the upstream and revision strings */
};

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/*
 * The weight of one character in a non-digit run.  The end of the string
 * weighs 0, so '~' (-1) sorts before it and everything else after it, with
 * letters before the other characters.  Characters are taken as plain
 * (signed on x86) char, as dpkg does, so bytes >= 0x80 sort where dpkg
 * sorts them.
 */
static int order(char c)
{
	if (is_digit(c))
		return 0;
	if (is_alpha(c))
		return c;
	if (c == '~')
		return -1;
	if (c)
		return c + 256;
	return 0;
}

static int verrevcmp(const char *a, const char *b)
{
	while (*a || *b) {
		int first_diff = 0;

		while ((*a && !is_digit(*a)) || (*b && !is_digit(*b))) {
			int ac = order(*a), bc = order(*b);

			if (ac != bc)
				return ac - bc;
			a++;
			b++;
		}
		while (*a == '0')
			a++;
		while (*b == '0')
			b++;
		while (is_digit(*a) && is_digit(*b)) {
			if (!first_diff)
				first_diff = *a - *b;
			a++;
			b++;
		}
		if (is_digit(*a))
			return 1;
		if (is_digit(*b))
			return -1;
		if (first_diff)
			return first_diff;
	}
	return 0;
}

static int parse(void **out, const char *s, size_t len)
{
	const char *start = s, *end = s + len, *colon, *p;
	struct dpkg_version *v;
	char *hyphen;
	long epoch = 0;

	while (start < end && is_blank(*start))
		start++;
	if (start == end)
		return clr_error_set(CLR_EINVALID,
				     "invalid dpkg version '%s': version string is empty", s);
	p = start;
	while (p < end && !is_blank(*p))
		p++;
	end = p;
	while (p < s + len && is_blank(*p))
		p++;
	if (p != s + len)
		return clr_error_set(CLR_EINVALID,
				     "invalid dpkg version '%s': embedded spaces", s);

	colon = memchr(start, ':', (size_t)(end - start));
	if (colon) {
		char *eptr;

		/* strtol, as dpkg: it also takes a sign and stops at the
		 * first non-digit, which must then be the colon. */
		errno = 0;
		epoch = strtol(start, &eptr, 10);
		if (eptr == start)
			return clr_error_set(CLR_EINVALID,
					     "invalid dpkg version '%s': epoch is empty", s);
		if (eptr != colon)
			return clr_error_set(CLR_EINVALID,
					     "invalid dpkg version '%s': epoch is not a number", s);
		if (epoch < 0)
			return clr_error_set(CLR_EINVALID,
					     "invalid dpkg version '%s': epoch is negative", s);
		if (epoch > INT_MAX || errno == ERANGE)
			return clr_error_set(CLR_EINVALID,
					     "invalid dpkg version '%s': epoch is too big", s);
		if (colon + 1 == end)
			return clr_error_set(CLR_EINVALID,
					     "invalid dpkg version '%s': nothing after the colon", s);
		start = colon + 1;
	}

	v = clr_malloc(sizeof(*v) + (size_t)(end - start) + 2);
	v->epoch = (int)epoch;
	memcpy(v->text, start, (size_t)(end - start));
	v->text[end - start] = '\0';
	v->upstream = v->text;
	v->revision = v->text + (end - start) + 1;
	v->text[end - start + 1] = '\0';
	hyphen = strrchr(v->text, '-');
	if (hyphen) {
		*hyphen = '\0';
		v->revision = hyphen + 1;
		if (!*v->revision) {
			free(v);
			return clr_error_set(CLR_EINVALID,
					     "invalid dpkg version '%s': revision is empty", s);
		}
	}
	if (!*v->upstream) {
		free(v);
		return clr_error_set(CLR_EINVALID,
				     "invalid dpkg version '%s': upstream version is empty", s);
	}
	*out = v;
	return 0;
}

static int cmp(const void *pa, const void *pb)
{
	const struct dpkg_version *a = pa, *b = pb;
	int c;

	if (a->epoch != b->epoch)
		return a->epoch > b->epoch ? 1 : -1;
	c = verrevcmp(a->upstream, b->upstream);
	if (c)
		return c;
	return verrevcmp(a->revision, b->revision);
}

static void pfree(void *p)
{
	free(p);
}

const struct clr_vscheme_ops clr_vscheme_dpkg = {
	.name = "dpkg",
	.parse = parse,
	.cmp = cmp,
	.free = pfree,
};
