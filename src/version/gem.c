/*
 * gem.c - the "gem" version scheme: RubyGems' Gem::Version.
 *
 * Mirrors Gem::Version from RubyGems 3.3 (Debian bookworm's ruby 3.1):
 * which strings Gem::Version.correct? accepts, and the order of <=>.
 *
 *   - valid: surrounding whitespace (Ruby's \s: space \t \n \v \f \r), then
 *     [0-9]+(\.[0-9a-zA-Z]+)*(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)? or
 *     nothing at all: a blank string is version "0";
 *   - every '-' reads as ".pre.", so "1.0-1" is 1.0.pre.1, a prerelease;
 *   - the segments are the runs of digits (numbers) and of letters
 *     (strings); "1.0a2" is 1, 0, "a", 2;
 *   - canonical_segments: zeros are dropped from the end of the numeric
 *     part (before the first string) and from the end of the rest, so
 *     1.0.0 = 1 and 1.0.a.0 = 1.a, but 1.a.0.b keeps its 0;
 *   - <=> walks both, a missing segment counting as 0: a string is less
 *     than any number (1.a < 1 < 1.0.1), numbers compare by value and
 *     strings bytewise, case-sensitively ("B" < "a").
 *
 * Numbers may be of any length, as Ruby's Integers are; they are compared
 * as digit strings.
 */
#include "version/version.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/error.h"

struct seg {
	const char *p;        /* into the copied text, or the "pre" of a '-';
				 numbers without their leading zeros */
	size_t len;           /* 0 for the number 0 */
	int is_str;
};

/* One allocation: the header, canonical_segments, the stripped text. */
struct gem {
	size_t nseg;
	struct seg seg[];
};

static int is_space(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_alnum(char c)
{
	return is_digit(c) || is_alpha(c);
}

/* Messages quote at most this much of the string: a version is untrusted
 * input and may be megabytes of junk. */
#define SHOW 120

static int invalid(const char *s, size_t len, const char *why)
{
	return clr_error_set(CLR_EINVALID, "invalid gem version '%.*s%s': %s",
			     (int)(len > SHOW ? SHOW : len), s,
			     len > SHOW ? "..." : "", why);
}

/*
 * Gem::Version.correct? on s[0, len), already stripped and not empty,
 * following the pattern's parts in order.  orig is for the message.
 */
static int check(const char *s, size_t len, const char *orig, size_t origlen)
{
	char why[40];
	size_t i = 0;

	if (!is_digit(s[0]))
		return invalid(orig, origlen, "it must start with a digit");
	while (i < len && is_digit(s[i]))
		i++;
	while (i < len && s[i] == '.') {
		if (++i == len || !is_alnum(s[i]))
			return invalid(orig, origlen, "a '.' must be followed "
				       "by letters or digits");
		while (i < len && is_alnum(s[i]))
			i++;
	}
	/* The prerelease part, whose segments may contain '-' too. */
	if (i < len && s[i] == '-') {
		do {
			if (++i == len || !(is_alnum(s[i]) || s[i] == '-'))
				return invalid(orig, origlen,
					       "a '.' or '-' in the prerelease "
					       "part must be followed by "
					       "letters, digits or '-'");
			while (i < len && (is_alnum(s[i]) || s[i] == '-'))
				i++;
		} while (i < len && s[i] == '.');
	}
	if (i == len)
		return 0;
	/* Only the part before the first '.' or '-' can stop at a letter. */
	if (is_alpha(s[i]))
		return invalid(orig, origlen,
			       "the first segment must be a number");
	if ((unsigned char)s[i] >= ' ' && (unsigned char)s[i] < 0x7f)
		snprintf(why, sizeof(why), "'%c' is not allowed", s[i]);
	else
		snprintf(why, sizeof(why), "byte 0x%02x is not allowed",
			 (unsigned char)s[i]);
	return invalid(orig, origlen, why);
}

/* How many segments a valid s splits into: each '-' stands for a "pre",
 * then every run of digits and every run of letters is one. */
static size_t count_segments(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '-')
			n++;
		else if (is_digit(s[i]) && !(i && is_digit(s[i - 1])))
			n++;
		else if (is_alpha(s[i]) && !(i && is_alpha(s[i - 1])))
			n++;
	}
	return n;
}

static int parse(void **out, const char *s, size_t len)
{
	const char *orig = s;
	size_t origlen = len, nseg = 0, n = 0, first_str, k, i;
	struct gem *v;
	char *text;
	int err;

	while (len && is_space(s[0])) {
		s++;
		len--;
	}
	while (len && is_space(s[len - 1]))
		len--;
	if (len && (err = check(s, len, orig, origlen)))
		return err;
	nseg = count_segments(s, len);

	v = clr_malloc(sizeof(*v) + nseg * sizeof(v->seg[0]) + len + 1);
	text = (char *)(v->seg + nseg);
	memcpy(text, s, len);
	text[len] = '\0';
	for (i = 0; i < len;) {
		struct seg *g = &v->seg[n];

		if (text[i] == '.') {
			i++;
			continue;
		}
		if (text[i] == '-') {
			g->p = "pre";
			g->len = 3;
			g->is_str = 1;
			n++;
			i++;
			continue;
		}
		g->is_str = is_alpha(text[i]);
		if (!g->is_str)
			while (i < len && text[i] == '0')
				i++;
		g->p = text + i;
		while (i < len && (g->is_str ? is_alpha(text[i]) :
				   is_digit(text[i])))
			i++;
		g->len = (size_t)(text + i - g->p);
		n++;
	}

	/* canonical_segments: drop trailing zeros from the numbers before the
	 * first string, and from the end of everything after it. */
	for (first_str = 0; first_str < n && !v->seg[first_str].is_str; first_str++)
		;
	for (k = first_str; k > 0 && !v->seg[k - 1].len; k--)
		;
	memmove(&v->seg[k], &v->seg[first_str],
		(n - first_str) * sizeof(v->seg[0]));
	n -= first_str - k;
	while (n > k && !v->seg[n - 1].is_str && !v->seg[n - 1].len)
		n--;
	v->nseg = n;
	*out = v;
	return 0;
}

static int cmp(const void *pa, const void *pb)
{
	static const struct seg zero = { "", 0, 0 };
	const struct gem *a = pa, *b = pb;
	size_t n = a->nseg > b->nseg ? a->nseg : b->nseg;

	for (size_t i = 0; i < n; i++) {
		const struct seg *l = i < a->nseg ? &a->seg[i] : &zero;
		const struct seg *r = i < b->nseg ? &b->seg[i] : &zero;
		size_t m = l->len < r->len ? l->len : r->len;
		int c;

		if (l->is_str != r->is_str)
			return l->is_str ? -1 : 1;
		/* Digit strings without leading zeros: longer is larger. */
		if (!l->is_str && l->len != r->len)
			return l->len < r->len ? -1 : 1;
		c = memcmp(l->p, r->p, m);
		if (c)
			return c < 0 ? -1 : 1;
		if (l->len != r->len)
			return l->len < r->len ? -1 : 1;
	}
	return 0;
}

static void pfree(void *p)
{
	free(p);
}

const struct clr_vscheme_ops clr_vscheme_gem = { "gem", parse, cmp, pfree };
