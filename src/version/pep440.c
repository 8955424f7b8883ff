/*
 * pep440.c - Python package versions (PEP 440), ordered as python3-packaging.
 *
 * Mirrors packaging.version.Version of python3-packaging 23.0 running on
 * CPython 3.11 (Debian's /usr/bin/python3): a string is accepted exactly
 * when Version(s) can be built, and two versions order exactly as
 * Version.__lt__ / __eq__, i.e. as packaging's _cmpkey tuple
 *
 *     (epoch, release without trailing zeros, pre, post, dev, local)
 *
 * with its Infinity / NegativeInfinity stand-ins for missing parts.
 *
 * packaging validates with one regular expression (VERSION_PATTERN, compiled
 * with re.VERBOSE | re.IGNORECASE and wrapped in ^\s* ... \s*$).  The parser
 * below walks the same grammar left to right, taking each optional group
 * greedily.  That finds the match Python's backtracking engine finds: every
 * character a group could give back ("-1" after "a", a separator after a
 * letter) can only be taken by a later optional group, which the greedy path
 * still has available, so the greedy path succeeds whenever any path does,
 * and the engine tries it first.  Thus "1.0a-1" is 1.0a1, not 1.0a0.post1.
 *
 * Corners of the reference that this file reproduces on purpose:
 *  - \s is Unicode whitespace (str.isspace()), so U+00A0, U+3000 etc.
 *    around a version are ignored like ASCII blanks.
 *  - IGNORECASE in Unicode mode lets U+0130 and U+0131 match 'i', U+017F
 *    match 's' and, in the local [a-z], U+212A (Kelvin) match 'k'.  The
 *    matched text is then lowered with str.lower(), which leaves
 *    "prev\u0131ew" and "po\u017ft" unrecognised, so they survive as their
 *    own pre and post letters and sort by their code points.
 *  - int() refuses strings of more than 4300 digits (CPython 3.11's
 *    int_max_str_digits), so Version() fails on such numbers; they are
 *    rejected here too.  Shorter numbers of any size compare exactly as
 *    digit strings (no leading zeros: longer is bigger, else memcmp).
 */
#include "version/version.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/error.h"

/* CPython 3.11's default sys.get_int_max_str_digits(). */
#define MAX_DIGITS 4300

/* A non-negative integer as its digits, leading zeros dropped ("" is 0). */
struct num {
	const char *d;
	size_t n;
};

/*
 * packaging's pre slot.  The values are in the order the slot sorts:
 * NegativeInfinity (a dev release with neither pre nor post), then the
 * letters by their lowered strings ("a" < "b" < "previ\u0307ew" <
 * "prev\u0131ew" < "rc"), then Infinity (no pre-release).
 */
enum pre_kind {
	PRE_DEV_ONLY,
	PRE_A,
	PRE_B,
	PRE_PREVIEW_DOTTED,   /* "prev\u0130ew".lower() == "previ\u0307ew" */
	PRE_PREVIEW_DOTLESS,  /* "prev\u0131ew" is already lower case */
	PRE_RC,
	PRE_NONE,
};

/* packaging's post slot: NegativeInfinity, then "post" < "po\u017ft". */
enum post_kind {
	POST_NONE,
	POST_POST,
	POST_LONG_S,
};

/* One local segment: a number sorts after every string. */
struct lseg {
	const char *s;   /* lowered text, or digits without leading zeros */
	size_t n;
	bool numeric;
};

/* The parsed form: one allocation holding this, rel[], local[], text. */
struct pep440 {
	struct num epoch;
	struct num *rel;         /* release, trailing zeros dropped */
	size_t nrel;
	enum pre_kind pre;
	struct num pre_n;        /* meaningful for the letter kinds only */
	enum post_kind post;
	struct num post_n;
	bool dev;                /* a missing dev sorts last (Infinity) */
	struct num dev_n;
	bool local;              /* a missing local sorts first */
	struct lseg *lsegs;
	size_t nlocal;
};

/* Where the groups of the pattern matched, found by scan(). */
struct spans {
	size_t epoch_at, epoch_len;      /* epoch_len 0: no epoch */
	size_t rel_at, rel_len;
	size_t nrel;                     /* components, before zero dropping */
	enum pre_kind pre;
	size_t pre_at, pre_len;          /* pre_len 0: no number */
	enum post_kind post;
	size_t post_at, post_len;
	bool dev;
	size_t dev_at, dev_len;
	size_t local_at, local_len;      /* local_len 0: no local part */
	size_t nlocal;
	const char *why;                 /* why the string was rejected */
	size_t at;                       /* and where */
};

/*
 * Length of the Unicode whitespace character (UTF-8) at s[i], or 0.  The
 * set is Python's \s for str patterns: ASCII \t\n\v\f\r, \x1c-\x1f, space,
 * U+0085, U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F
 * and U+3000.
 */
static size_t space_at(const unsigned char *s, size_t len, size_t i)
{
	size_t left = len - i;
	unsigned char c = s[i];

	if ((c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20))
		return 1;
	if (c == 0xc2 && left >= 2 && (s[i + 1] == 0x85 || s[i + 1] == 0xa0))
		return 2;
	if (left < 3)
		return 0;
	if (c == 0xe1 && s[i + 1] == 0x9a && s[i + 2] == 0x80)
		return 3;
	if (c == 0xe2 && s[i + 1] == 0x80 &&
	    (s[i + 2] <= 0x8a || s[i + 2] == 0xa8 || s[i + 2] == 0xa9 ||
	     s[i + 2] == 0xaf) && s[i + 2] >= 0x80)
		return 3;
	if (c == 0xe2 && s[i + 1] == 0x81 && s[i + 2] == 0x9f)
		return 3;
	if (c == 0xe3 && s[i + 1] == 0x80 && s[i + 2] == 0x80)
		return 3;
	return 0;
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool is_sep(unsigned char c)
{
	return c == '.' || c == '-' || c == '_';
}

/* Number of ASCII digits starting at s[i]. */
static size_t digits_at(const unsigned char *s, size_t len, size_t i)
{
	size_t n = 0;

	while (i + n < len && is_digit(s[i + n]))
		n++;
	return n;
}

/*
 * Matches the lower-case ASCII word w at s[i] as re.IGNORECASE does.
 * Returns the bytes matched or 0; *odd is set to the non-ASCII letter
 * that stood in for an 'i' or 's' (0x130, 0x131, 0x17f), else left alone.
 */
static size_t word_at(const unsigned char *s, size_t len, size_t i,
		      const char *w, unsigned *odd)
{
	size_t at = i;
	unsigned found = 0;

	for (; *w; w++) {
		unsigned char c;

		if (at >= len)
			return 0;
		c = s[at];
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if (c == (unsigned char)*w) {
			at++;
			continue;
		}
		/* U+0130 and U+0131 fold to 'i', U+017F to 's'. */
		if (*w == 'i' && c == 0xc4 && at + 1 < len &&
		    (s[at + 1] == 0xb0 || s[at + 1] == 0xb1)) {
			found = s[at + 1] == 0xb0 ? 0x130 : 0x131;
			at += 2;
			continue;
		}
		if (*w == 's' && c == 0xc5 && at + 1 < len && s[at + 1] == 0xbf) {
			found = 0x17f;
			at += 2;
			continue;
		}
		return 0;
	}
	if (found)
		*odd = found;
	return at - i;
}

/*
 * Length of one character of the local part's [a-z0-9] (IGNORECASE) at
 * s[i], or 0.  Besides ASCII that admits U+0130, U+0131, U+017F, U+212A.
 */
static size_t local_char_at(const unsigned char *s, size_t len, size_t i)
{
	unsigned char c = s[i];

	if (is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return 1;
	if (i + 1 < len && ((c == 0xc4 && (s[i + 1] == 0xb0 || s[i + 1] == 0xb1)) ||
			    (c == 0xc5 && s[i + 1] == 0xbf)))
		return 2;
	if (i + 2 < len && c == 0xe2 && s[i + 1] == 0x84 && s[i + 2] == 0xaa)
		return 3;
	return 0;
}

/*
 * An optional "[-_.]? LETTERS [-_.]? [0-9]*" group at *pos, LETTERS being
 * one of words[] (longest first: a shorter word that is a prefix of a longer
 * one can never be followed by the rest of the longer one in a valid
 * version, so the engine's eventual choice is the longest).  Returns the
 * index of the word, or -1 with *pos untouched.
 */
static int letter_group(const unsigned char *s, size_t len, size_t *pos,
			const char *const *words, unsigned *odd,
			size_t *num_at, size_t *num_len)
{
	size_t i = *pos, n = 0;
	int w;

	if (i < len && is_sep(s[i]))
		i++;
	for (w = 0; words[w]; w++) {
		if ((n = word_at(s, len, i, words[w], odd)))
			break;
	}
	if (!words[w])
		return -1;
	i += n;
	if (i < len && is_sep(s[i]))
		i++;
	*num_at = i;
	*num_len = digits_at(s, len, i);
	*pos = i + *num_len;
	return w;
}

/* The whole pattern against s; fills sp, returns false if it fails. */
static bool scan(struct spans *sp, const unsigned char *s, size_t len)
{
	static const char *const pre_words[] = {
		"preview", "alpha", "beta", "pre", "rc", "a", "b", "c", NULL
	};
	static const char *const post_words[] = { "post", "rev", "r", NULL };
	static const char *const dev_words[] = { "dev", NULL };
	size_t i = 0, n, at, nlen;
	unsigned odd = 0;
	int w;

	memset(sp, 0, sizeof(*sp));
	while (i < len && (n = space_at(s, len, i)))
		i += n;
	if (i < len && (s[i] == 'v' || s[i] == 'V'))
		i++;

	/* [0-9]+! or nothing. */
	n = digits_at(s, len, i);
	if (n && i + n < len && s[i + n] == '!') {
		sp->epoch_at = i;
		sp->epoch_len = n;
		i += n + 1;
	}

	/* [0-9]+(\.[0-9]+)*: a dot not followed by a digit is left over. */
	n = digits_at(s, len, i);
	if (!n) {
		sp->why = "no release number";
		sp->at = i;
		return false;
	}
	sp->rel_at = i;
	sp->nrel = 1;
	i += n;
	while (i + 1 < len && s[i] == '.' && is_digit(s[i + 1])) {
		i += 1 + digits_at(s, len, i + 1);
		sp->nrel++;
	}
	sp->rel_len = i - sp->rel_at;

	sp->pre = PRE_NONE;
	w = letter_group(s, len, &i, pre_words, &odd, &at, &nlen);
	if (w >= 0) {
		static const enum pre_kind kinds[] = {
			PRE_RC, PRE_A, PRE_B, PRE_RC, PRE_RC, PRE_A, PRE_B, PRE_RC
		};

		sp->pre = kinds[w];
		if (w == 0 && odd)
			sp->pre = odd == 0x130 ? PRE_PREVIEW_DOTTED
					       : PRE_PREVIEW_DOTLESS;
		sp->pre_at = at;
		sp->pre_len = nlen;
	}

	/* -[0-9]+ (implicit post) is tried first, then the lettered form. */
	n = i < len && s[i] == '-' ? digits_at(s, len, i + 1) : 0;
	if (n) {
		sp->post = POST_POST;
		sp->post_at = i + 1;
		sp->post_len = n;
		i += 1 + n;
	} else {
		odd = 0;
		w = letter_group(s, len, &i, post_words, &odd, &at, &nlen);
		if (w >= 0) {
			sp->post = odd ? POST_LONG_S : POST_POST;
			sp->post_at = at;
			sp->post_len = nlen;
		}
	}

	if (letter_group(s, len, &i, dev_words, &odd, &at, &nlen) >= 0) {
		sp->dev = true;
		sp->dev_at = at;
		sp->dev_len = nlen;
	}

	/* \+[a-z0-9]+([-_.][a-z0-9]+)* */
	if (i < len && s[i] == '+') {
		size_t start = ++i;

		sp->nlocal = 1;
		for (;;) {
			size_t seg = i;

			while (i < len && (n = local_char_at(s, len, i)))
				i += n;
			if (i == seg) {
				sp->why = "empty local version segment";
				sp->at = i;
				return false;
			}
			if (i < len && is_sep(s[i]) && i + 1 < len &&
			    local_char_at(s, len, i + 1)) {
				i++;
				sp->nlocal++;
				continue;
			}
			break;
		}
		sp->local_at = start;
		sp->local_len = i - start;
	}

	while (i < len && (n = space_at(s, len, i)))
		i += n;
	if (i != len) {
		sp->why = "unexpected text";
		sp->at = i;
		return false;
	}
	return true;
}

/* Whether every digit run packaging passes to int() is short enough. */
static bool ints_fit(const struct spans *sp, const unsigned char *s)
{
	const unsigned char *p, *end;
	size_t run = 0;

	if (sp->epoch_len > MAX_DIGITS || sp->pre_len > MAX_DIGITS ||
	    sp->post_len > MAX_DIGITS || sp->dev_len > MAX_DIGITS)
		return false;
	/* Release components, then local segments; only all-digit local
	 * segments go through int(), so a letter resets the run. */
	p = s + sp->rel_at;
	end = p + sp->rel_len;
	for (; p < end; p++) {
		run = is_digit(*p) ? run + 1 : 0;
		if (run > MAX_DIGITS)
			return false;
	}
	p = s + sp->local_at;
	end = p + sp->local_len;
	while (p < end) {
		const unsigned char *seg = p;
		bool numeric = true;

		while (p < end && !is_sep(*p))
			numeric &= is_digit(*p++);
		if (numeric && (size_t)(p - seg) > MAX_DIGITS)
			return false;
		p++;
	}
	return true;
}

/* Copies the digits at s[at..at+n) without leading zeros to *dst. */
static struct num put_num(char **dst, const unsigned char *s, size_t at,
			  size_t n)
{
	struct num r;

	while (n && s[at] == '0') {
		at++;
		n--;
	}
	memcpy(*dst, s + at, n);
	r.d = *dst;
	r.n = n;
	*dst += n;
	return r;
}

/*
 * Copies one local segment lowered as str.lower() would: ASCII letters,
 * U+212A to 'k', U+0130 to "i\u0307"; U+0131 and U+017F are lower already.
 */
static size_t put_lowered(char *dst, const unsigned char *s, size_t n)
{
	size_t i = 0, o = 0;

	while (i < n) {
		unsigned char c = s[i];

		if (c >= 'A' && c <= 'Z') {
			dst[o++] = (char)(c - 'A' + 'a');
			i++;
		} else if (c == 0xc4 && s[i + 1] == 0xb0) {
			dst[o++] = 'i';
			dst[o++] = (char)0xcc;
			dst[o++] = (char)0x87;
			i += 2;
		} else if (c == 0xe2) {
			dst[o++] = 'k';
			i += 3;
		} else {
			dst[o++] = (char)c;
			i++;
		}
	}
	return o;
}

/* Writes s into buf for a message: bounded, control bytes escaped. */
static const char *quote(char *buf, size_t size, const unsigned char *s,
			 size_t len)
{
	size_t o = 0, i;

	for (i = 0; i < len && o + 8 < size; i++) {
		if (s[i] < 0x20 || s[i] == 0x7f)
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", s[i]);
		else
			buf[o++] = (char)s[i];
	}
	if (i < len)
		o += (size_t)snprintf(buf + o, size - o, "...");
	buf[o] = '\0';
	return buf;
}

static int parse(void **out, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	struct spans sp;
	struct pep440 *v;
	char *text, qbuf[160];
	size_t i, size;

	*out = NULL;
	if (!scan(&sp, s, len))
		return clr_error_set(CLR_EINVALID,
				     "invalid PEP 440 version '%s': %s at "
				     "offset %zu",
				     quote(qbuf, sizeof(qbuf), s, len), sp.why,
				     sp.at);
	if (!ints_fit(&sp, s))
		return clr_error_set(CLR_EINVALID,
				     "invalid PEP 440 version '%s': a number "
				     "has more than %d digits",
				     quote(qbuf, sizeof(qbuf), s, len),
				     MAX_DIGITS);

	/* Lowering grows U+0130 from 2 bytes to 3, so 2 * len is plenty. */
	size = sizeof(*v) + sp.nrel * sizeof(struct num) +
	       sp.nlocal * sizeof(struct lseg) + 2 * len;
	v = clr_calloc(1, size);
	v->rel = (struct num *)(v + 1);
	v->lsegs = (struct lseg *)(v->rel + sp.nrel);
	text = (char *)(v->lsegs + sp.nlocal);

	v->epoch = put_num(&text, s, sp.epoch_at, sp.epoch_len);
	for (i = sp.rel_at; i < sp.rel_at + sp.rel_len; i++) {
		size_t n = digits_at(s, len, i);

		v->rel[v->nrel++] = put_num(&text, s, i, n);
		i += n;
	}
	/* packaging compares the release with its trailing zeros dropped. */
	while (v->nrel && !v->rel[v->nrel - 1].n)
		v->nrel--;

	/* 1.0.dev0 sorts before 1.0a0: a dev release without pre or post
	 * takes NegativeInfinity in the pre slot. */
	v->pre = sp.pre;
	if (sp.pre == PRE_NONE && sp.post == POST_NONE && sp.dev)
		v->pre = PRE_DEV_ONLY;
	v->pre_n = put_num(&text, s, sp.pre_at, sp.pre_len);
	v->post = sp.post;
	v->post_n = put_num(&text, s, sp.post_at, sp.post_len);
	v->dev = sp.dev;
	v->dev_n = put_num(&text, s, sp.dev_at, sp.dev_len);

	v->local = sp.local_len > 0;
	for (i = sp.local_at; i < sp.local_at + sp.local_len; i++) {
		struct lseg *seg = &v->lsegs[v->nlocal++];
		size_t n = 0;
		bool numeric = true;

		while (i + n < sp.local_at + sp.local_len && !is_sep(s[i + n]))
			numeric &= is_digit(s[i + n++]);
		seg->numeric = numeric;
		if (numeric) {
			struct num d = put_num(&text, s, i, n);

			seg->s = d.d;
			seg->n = d.n;
		} else {
			seg->s = text;
			seg->n = put_lowered(text, s + i, n);
			text += seg->n;
		}
		i += n;
	}
	*out = v;
	return 0;
}

static int num_cmp(const struct num *a, const struct num *b)
{
	if (a->n != b->n)
		return a->n < b->n ? -1 : 1;
	return a->n ? memcmp(a->d, b->d, a->n) : 0;
}

static int bytes_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);

	if (c)
		return c;
	return (an > bn) - (an < bn);
}

/* Python's tuple order over (int, "") / (NegativeInfinity, str) items. */
static int local_cmp(const struct pep440 *a, const struct pep440 *b)
{
	size_t i;

	if (a->local != b->local)
		return a->local ? 1 : -1;
	for (i = 0; i < a->nlocal && i < b->nlocal; i++) {
		const struct lseg *x = &a->lsegs[i], *y = &b->lsegs[i];
		int c;

		if (x->numeric != y->numeric)
			return x->numeric ? 1 : -1;
		if (x->numeric) {
			struct num nx = { x->s, x->n }, ny = { y->s, y->n };

			c = num_cmp(&nx, &ny);
		} else {
			c = bytes_cmp(x->s, x->n, y->s, y->n);
		}
		if (c)
			return c;
	}
	return (a->nlocal > b->nlocal) - (a->nlocal < b->nlocal);
}

static int cmp(const void *pa, const void *pb)
{
	const struct pep440 *a = pa, *b = pb;
	size_t i;
	int c;

	if ((c = num_cmp(&a->epoch, &b->epoch)))
		return c;
	for (i = 0; i < a->nrel && i < b->nrel; i++) {
		if ((c = num_cmp(&a->rel[i], &b->rel[i])))
			return c;
	}
	if (a->nrel != b->nrel)
		return a->nrel < b->nrel ? -1 : 1;

	if (a->pre != b->pre)
		return a->pre < b->pre ? -1 : 1;
	if (a->pre != PRE_DEV_ONLY && a->pre != PRE_NONE &&
	    (c = num_cmp(&a->pre_n, &b->pre_n)))
		return c;

	if (a->post != b->post)
		return a->post < b->post ? -1 : 1;
	if (a->post != POST_NONE && (c = num_cmp(&a->post_n, &b->post_n)))
		return c;

	if (a->dev != b->dev)
		return a->dev ? -1 : 1;
	if (a->dev && (c = num_cmp(&a->dev_n, &b->dev_n)))
		return c;

	return local_cmp(a, b);
}

static void pfree(void *parsed)
{
	free(parsed);
}

const struct clr_vscheme_ops clr_vscheme_pep440 = {
	"pep440", parse, cmp, pfree
};
