/*
 * maven.c - the "maven" version scheme: Maven 3's ComparableVersion.
 *
 * Mirrors org.apache.maven.artifact.versioning.ComparableVersion as shipped
 * in maven-artifact 3.8.7 (Debian's /usr/share/maven/lib/maven-artifact-3.x.jar),
 * which is what decides whether a Maven artifact is older than a fix.  That
 * class parses a version into nested lists of items:
 *
 *   - the string is lowercased; '.' ends an item, '-' ends an item and opens
 *     a sub-list, and a switch between digits and non-digits also ends an
 *     item and opens a sub-list ("1.0alpha1" is [1, 0, [alpha, [1]]]);
 *   - numbers are int, long or BigInteger items by their length after
 *     leading zeros are stripped, and an int is smaller than any long;
 *   - qualifiers rank alpha < beta < milestone < rc < snapshot < "" < sp <
 *     anything else (lexically), with aliases ga/final/release = "",
 *     cr = rc, and a/b/m = alpha/beta/milestone when a digit follows;
 *   - each list drops its trailing "null" items (0, "", empty lists), also
 *     those just before a non-empty sub-list, so "1.0-a" is [1, [a]];
 *   - comparing, a number beats a list beats a qualifier, and a missing
 *     item compares like null (1 = 1.0, 1-sp > 1, 1-rc < 1).
 *
 * A list's only sub-list is always its last item, so the nesting is a chain
 * and one flat token array, with a LIST token where each sub-list starts,
 * represents it exactly; comparing is then a single loop.
 *
 * Every string is a valid Maven version, the empty one included (it is an
 * empty list, equal to "0"), so parse() never fails.
 *
 * Unicode: Java's Character.isDigit() also accepts non-ASCII decimal digits
 * in the Basic Multilingual Plane ("1.\u0663" is 1.3), and so does this file,
 * with the same table.  Java lowercases non-ASCII letters too; this file
 * folds ASCII only, so two non-ASCII qualifiers that differ only in case
 * compare unequal here (no real Maven version has been seen to contain one).
 * Qualifier text is compared in Java's UTF-16 code unit order.
 */
#include "version/version.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/error.h"

/* Kinds in the order ComparableVersion ranks unlike items:
 * a qualifier < a list < a number. */
enum { T_STR, T_LIST, T_NUM, T_DEAD };

/* Ranks of ComparableVersion's StringItem.QUALIFIERS; unknown ones after. */
enum { Q_ALPHA, Q_BETA, Q_MILESTONE, Q_RC, Q_SNAPSHOT, Q_RELEASE, Q_SP,
       Q_OTHER };

struct tok {
	unsigned char kind;
	unsigned char nclass; /* T_NUM: 0 int, 1 long, 2 BigInteger */
	unsigned char rank;   /* T_STR: Q_* */
	size_t off;           /* into text: T_NUM digits without leading
				 zeros ("" for 0), T_STR Q_OTHER's name */
	size_t len;
};

struct mvn {
	size_t ntok;
	char *text;           /* the lowercased string, digits rewritten */
	struct tok tok[];
};

/* First code point of each run of ten decimal digits in the BMP that
 * Java 17's Character.isDigit() accepts: for (c = 0; c < 0x10000; c++)
 * if (Character.isDigit((char)c) && Character.digit((char)c, 10) == 0). */
static const uint16_t zero_digits[] = {
	0x0030, 0x0660, 0x06f0, 0x07c0, 0x0966, 0x09e6, 0x0a66, 0x0ae6,
	0x0b66, 0x0be6, 0x0c66, 0x0ce6, 0x0d66, 0x0de6, 0x0e50, 0x0ed0,
	0x0f20, 0x1040, 0x1090, 0x17e0, 0x1810, 0x1946, 0x19d0, 0x1a80,
	0x1a90, 0x1b50, 0x1bb0, 0x1c40, 0x1c50, 0xa620, 0xa8d0, 0xa900,
	0xa9d0, 0xa9f0, 0xaa50, 0xabf0, 0xff10,
};

/*
 * The value (0-9) of the digit at s[i], storing its length in bytes in *n,
 * or -1 when s[i] does not start a digit.  Java sees UTF-16 code units, so
 * only well-formed 2- and 3-byte UTF-8 sequences can be digits; anything
 * else, even malformed bytes, is simply not a digit, like any letter.
 */
static int digit_at(const unsigned char *s, size_t len, size_t i, size_t *n)
{
	unsigned cp;

	if (s[i] >= '0' && s[i] <= '9') {
		*n = 1;
		return s[i] - '0';
	}
	if (s[i] >= 0xc2 && s[i] <= 0xdf && i + 1 < len &&
	    (s[i + 1] & 0xc0) == 0x80) {
		cp = (unsigned)(s[i] & 0x1f) << 6 | (s[i + 1] & 0x3f);
		*n = 2;
	} else if ((s[i] & 0xf0) == 0xe0 && i + 2 < len &&
		   (s[i + 1] & 0xc0) == 0x80 && (s[i + 2] & 0xc0) == 0x80) {
		cp = (unsigned)(s[i] & 0x0f) << 12 |
		     (unsigned)(s[i + 1] & 0x3f) << 6 | (s[i + 2] & 0x3f);
		if (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))
			return -1;  /* overlong or a surrogate: not a char */
		*n = 3;
	} else {
		return -1;
	}
	for (size_t k = 1; k < sizeof(zero_digits) / sizeof(zero_digits[0]); k++)
		if (cp >= zero_digits[k] && cp < zero_digits[k] + 10u)
			return (int)(cp - zero_digits[k]);
	return -1;
}

/* Collects tokens; with tok == NULL it only counts them, so parse() can
 * size its one allocation exactly. */
struct builder {
	struct tok *tok;
	size_t ntok;
	size_t items;         /* items in the current (innermost) list */
	const unsigned char *src;
	size_t srclen;
	char *text;           /* lowercased copy of src, same offsets */
};

static void push(struct builder *b, struct tok t)
{
	if (b->tok)
		b->tok[b->ntok] = t;
	b->ntok++;
	b->items = t.kind == T_LIST ? 0 : b->items + 1;
}

static void push_list(struct builder *b)
{
	struct tok t = { T_LIST, 0, 0, 0, 0 };

	push(b, t);
}

/*
 * ComparableVersion.parseItem(true, ...) for src[start, end).  Java strips
 * leading '0' characters (ASCII only, and not at all when every digit is
 * '0') and picks int, long or BigInteger by the remaining length, so
 * "0000000000" is a long zero; the value is kept as ASCII digits without
 * any leading zeros, rewritten in place in text (never longer than src).
 */
static void push_num(struct builder *b, size_t start, size_t end)
{
	struct tok t = { T_NUM, 0, 0, start, 0 };
	size_t i = start, n, jlen = 0, zeros = 0;
	int d;

	for (; i < end; i += n) {
		d = digit_at(b->src, b->srclen, i, &n);
		if (b->src[i] == '0' && zeros == jlen)
			zeros++;
		jlen++;
		if (b->text && (d || t.len))
			b->text[start + t.len] = (char)('0' + d);
		if (d || t.len)
			t.len++;
	}
	if (zeros < jlen)
		jlen -= zeros;
	t.nclass = jlen <= 9 ? 0 : jlen <= 18 ? 1 : 2;
	push(b, t);
}

/* The zero ComparableVersion adds for an empty item ("1..2", "-1"). */
static void push_zero(struct builder *b)
{
	struct tok t = { T_NUM, 0, 0, 0, 0 };

	push(b, t);
}

/* new StringItem(src[start, end), digit_follows). */
static void push_str(struct builder *b, size_t start, size_t end,
		     int digit_follows)
{
	static const struct {
		const char *name;
		unsigned char rank;
	} names[] = {
		{ "alpha", Q_ALPHA }, { "beta", Q_BETA },
		{ "milestone", Q_MILESTONE }, { "rc", Q_RC },
		{ "snapshot", Q_SNAPSHOT }, { "sp", Q_SP },
		{ "ga", Q_RELEASE }, { "final", Q_RELEASE },
		{ "release", Q_RELEASE }, { "cr", Q_RC },
	};
	struct tok t = { T_STR, 0, Q_OTHER, start, end - start };
	char low[10];

	if (t.len < sizeof(low)) {
		for (size_t i = 0; i < t.len; i++) {
			unsigned char c = b->src[start + i];

			low[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
		}
		/* "a1" is alpha-1, but a lone "a" is an unknown qualifier. */
		if (digit_follows && t.len == 1 && memchr("abm", low[0], 3)) {
			t.rank = low[0] == 'a' ? Q_ALPHA :
				 low[0] == 'b' ? Q_BETA : Q_MILESTONE;
		} else {
			for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
				if (strlen(names[k].name) == t.len &&
				    !memcmp(names[k].name, low, t.len)) {
					t.rank = names[k].rank;
					break;
				}
			}
		}
	}
	push(b, t);
}

/* parseItem(isDigit, src[start, end)). */
static void push_item(struct builder *b, int is_digit, size_t start,
		      size_t end)
{
	if (is_digit)
		push_num(b, start, end);
	else
		push_str(b, start, end, 0);
}

/* ComparableVersion.parseVersion()'s loop, step for step. */
static void tokenize(struct builder *b)
{
	const unsigned char *s = b->src;
	size_t len = b->srclen, start = 0, i = 0, n;
	int is_digit = 0;

	while (i < len) {
		if (s[i] == '.' || s[i] == '-') {
			if (i == start)
				push_zero(b);
			else
				push_item(b, is_digit, start, i);
			if (s[i] == '-')
				push_list(b);
			start = ++i;
			continue;
		}
		if (digit_at(s, len, i, &n) >= 0) {
			if (!is_digit && i > start) {
				if (b->items)
					push_list(b);
				push_str(b, start, i, 1);
				start = i;
				push_list(b);
			}
			is_digit = 1;
		} else {
			n = 1;
			if (is_digit && i > start) {
				push_num(b, start, i);
				start = i;
				push_list(b);
			}
			is_digit = 0;
		}
		i += n;
	}
	if (len > start) {
		if (!is_digit && b->items)
			push_list(b);
		push_item(b, is_digit, start, len);
	}
}

static int is_null(const struct tok *t)
{
	return (t->kind == T_NUM && !t->len) ||
	       (t->kind == T_STR && t->rank == Q_RELEASE);
}

/*
 * ListItem.normalize() on every list, innermost first: drop trailing null
 * items, skipping over a non-empty sub-list, and drop sub-lists that end
 * up empty.  Dropped tokens are marked, then squeezed out.
 */
static void normalize(struct mvn *v)
{
	size_t end = v->ntok, b, k, n = 0;
	int child = 0, nonempty;

	for (;;) {
		for (b = end; b > 0 && v->tok[b - 1].kind != T_LIST; b--)
			;
		for (k = end; k > b && is_null(&v->tok[k - 1]); k--)
			v->tok[k - 1].kind = T_DEAD;
		nonempty = k > b || child;
		if (b == 0)
			break;
		if (!nonempty)
			v->tok[b - 1].kind = T_DEAD;
		child = nonempty;
		end = b - 1;
	}
	for (k = 0; k < v->ntok; k++)
		if (v->tok[k].kind != T_DEAD)
			v->tok[n++] = v->tok[k];
	v->ntok = n;
}

static int parse(void **out, const char *s, size_t len)
{
	struct builder b = { NULL, 0, 0, (const unsigned char *)s, len, NULL };
	struct mvn *v;

	tokenize(&b);
	v = clr_malloc(sizeof(*v) + b.ntok * sizeof(v->tok[0]) + len + 1);
	v->text = (char *)(v->tok + b.ntok);
	for (size_t i = 0; i < len; i++)
		v->text[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
	v->text[len] = '\0';
	b.tok = v->tok;
	b.ntok = 0;
	b.items = 0;
	b.text = v->text;
	tokenize(&b);
	v->ntok = b.ntok;
	normalize(v);
	*out = v;
	return 0;
}

/* Java compares strings by UTF-16 code unit, which puts supplementary
 * characters (surrogates, 0xd800-0xdfff) before U+E000-U+FFFF; in UTF-8
 * that means lead bytes 0xf0-0xff sort between 0xed and 0xee.  A byte
 * permutation, so the order stays total even for malformed input. */
static unsigned utf16_key(unsigned char c)
{
	if (c >= 0xf0)
		return c - 0xf0u + 0xeeu;
	if (c >= 0xee)
		return c + 0x10u;
	return c;
}

static int cmp_text(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;

	for (size_t i = 0; i < n; i++) {
		unsigned x = utf16_key((unsigned char)a[i]);
		unsigned y = utf16_key((unsigned char)b[i]);

		if (x != y)
			return x < y ? -1 : 1;
	}
	return (alen > blen) - (alen < blen);
}

/* Item.compareTo(null): how an item compares with a missing one. */
static int cmp_null(const struct tok *t)
{
	switch (t->kind) {
	case T_NUM:
		return t->len ? 1 : 0;
	case T_STR:
		return (t->rank > Q_RELEASE) - (t->rank < Q_RELEASE);
	default:
		return 0;   /* a list: its own items follow in the array */
	}
}

static int cmp_item(const struct mvn *va, const struct tok *a,
		    const struct mvn *vb, const struct tok *b)
{
	int c;

	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	if (a->kind == T_NUM) {
		if (a->nclass != b->nclass)
			return a->nclass < b->nclass ? -1 : 1;
		if (a->len != b->len)
			return a->len < b->len ? -1 : 1;
		c = memcmp(va->text + a->off, vb->text + b->off, a->len);
		return (c > 0) - (c < 0);
	}
	/* T_STR: Java compares "0".."6" for known qualifiers against
	 * "7-" + name for unknown ones, so known ranks come first. */
	if (a->rank != b->rank)
		return a->rank < b->rank ? -1 : 1;
	if (a->rank != Q_OTHER)
		return 0;
	return cmp_text(va->text + a->off, a->len, vb->text + b->off, b->len);
}

/*
 * ListItem.compareTo(), flattened: both sides step into their sub-lists
 * together, since anything unlike a list at the same position decides the
 * comparison before that; once one side runs out, the first of the other
 * side's remaining items that differs from null decides.
 */
static int cmp(const void *pa, const void *pb)
{
	const struct mvn *a = pa, *b = pb;
	size_t i = 0, j = 0;
	int c;

	for (;;) {
		if (i == a->ntok && j == b->ntok)
			return 0;
		if (i == a->ntok)
			c = -cmp_null(&b->tok[j]);
		else if (j == b->ntok)
			c = cmp_null(&a->tok[i]);
		else if (a->tok[i].kind == T_LIST && b->tok[j].kind == T_LIST)
			c = 0;
		else
			c = cmp_item(a, &a->tok[i], b, &b->tok[j]);
		if (c)
			return c;
		i += i < a->ntok;
		j += j < b->ntok;
	}
}

static void pfree(void *p)
{
	free(p);
}

const struct clr_vscheme_ops clr_vscheme_maven = { "maven", parse, cmp, pfree };
