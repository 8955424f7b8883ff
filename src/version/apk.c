/*
 * apk.c - Alpine's package versions, ordered exactly as apk-tools orders them.
 *
 * Mirrors apk_version_validate() and apk_version_compare() of apk-tools'
 * src/version.c as rewritten around struct token_state (the tokenizer that
 * knows "~hash"); apk-tools' test/version.data is the test set.  The older
 * comparator counted leading zeros instead, so it ordered 8.2.0 > 8.2.001;
 * the data now says 8.2.0 < 8.2.001, as below.  Grammar:
 *
 *     digits{.digits}...{letter}{_suffix{digits}}...{~hexhash}{-rdigits}
 *
 * A version is a sequence of typed tokens.  Two versions are walked in step;
 * the first pair of tokens of the same type that differ decides.  When the
 * types differ (or one version ends) the rules at the end of apk_cmp() decide,
 * and they depend on the numeric order of the token types, so enum tok_type
 * must keep apk-tools' order.
 *
 * Quirks kept on purpose, because Alpine's own tools behave this way:
 *   - after the first group, a digit group where either side starts with '0'
 *     is compared as a string, so 1.01 < 1.1, 1.0 < 1.00 and
 *     8.2.0015 < 8.2.002; the first group is always numeric (006 = 6);
 *   - numbers are accumulated in a uint64_t and wrap, like
 *     apk_blob_pull_uint(), so 18446744073709551617 = 1;
 *   - commit hashes (lowercase hex only) are compared as strings.
 */
#include "version/version.h"

#include <stdint.h>
#include <string.h>
#include <stdlib.h>

#include "util/alloc.h"
#include "util/error.h"

/* The order is apk-tools' PARTS: apk_cmp() compares these values. */
enum tok_type {
	TOK_INITIAL_DIGIT,
	TOK_DIGIT,
	TOK_LETTER,
	TOK_SUFFIX,
	TOK_SUFFIX_NO,
	TOK_COMMIT_HASH,
	TOK_REVISION_NO,
	TOK_END,
};

/* Suffix ranks; everything below SUF_NONE sorts before a release. */
enum {
	SUF_INVALID,
	SUF_ALPHA,
	SUF_BETA,
	SUF_PRE,
	SUF_RC,
	SUF_NONE,
	SUF_CVS,
	SUF_SVN,
	SUF_GIT,
	SUF_HG,
	SUF_P,
};

struct tok {
	uint64_t num;    /* digits' value, wrapped modulo 2^64 like apk */
	uint32_t off;    /* the token's text in apk_ver.str (no separator) */
	uint32_t len;
	uint8_t type;    /* enum tok_type */
	uint8_t val;     /* the letter, or the suffix rank */
};

/* One allocation: the header, the tokens, then a copy of the string. */
struct apk_ver {
	const char *str;
	size_t ntok;
	struct tok tok[];
};

/* How much of a version's text is quoted in an error message. */
#define QUOTE_MAX 128

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int is_lower(char c)
{
	return c >= 'a' && c <= 'z';
}

/* APK_CTYPE_HEXDIGIT: lowercase only, so an uppercase hash is invalid. */
static int is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f');
}

static int suffix_rank(const char *s, size_t len)
{
	static const struct {
		const char *name;
		int rank;
	} suffixes[] = {
		{ "alpha", SUF_ALPHA }, { "beta", SUF_BETA }, { "pre", SUF_PRE },
		{ "rc", SUF_RC }, { "cvs", SUF_CVS }, { "svn", SUF_SVN },
		{ "git", SUF_GIT }, { "hg", SUF_HG }, { "p", SUF_P },
	};

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		if (strlen(suffixes[i].name) == len &&
		    !memcmp(suffixes[i].name, s, len))
			return suffixes[i].rank;
	}
	return SUF_INVALID;
}

static int invalid(const char *s, size_t len, size_t at, const char *why)
{
	int n = len > QUOTE_MAX ? QUOTE_MAX : (int)len;

	return clr_error_set(CLR_EINVALID,
			     "invalid apk version '%.*s%s': %s at offset %zu",
			     n, s, len > QUOTE_MAX ? "..." : "", why, at);
}

/* Reads a run of digits at *pos into t; apk rejects an empty run. */
static int digits(struct tok *t, const char *s, size_t len, size_t *pos)
{
	size_t i = *pos;
	uint64_t v = 0;

	while (i < len && is_digit(s[i]))
		v = v * 10 + (uint64_t)(s[i++] - '0');
	if (i == *pos)
		return -1;
	t->num = v;
	t->off = (uint32_t)*pos;
	t->len = (uint32_t)(i - *pos);
	*pos = i;
	return 0;
}

/*
 * Splits s into tokens, storing them in out when it is not NULL, and returns
 * the count or a CLR_EINVALID error.  Each branch checks that the previous
 * token allows this one, as token_next() does.
 */
static int tokenize(const char *s, size_t len, struct tok *out, size_t *ntok)
{
	struct tok t = { .type = TOK_INITIAL_DIGIT };
	size_t pos = 0, n = 0, start;

	if (digits(&t, s, len, &pos))
		return invalid(s, len, 0, "a version starts with a digit");
	for (;;) {
		if (out)
			out[n] = t;
		n++;
		if (pos == len)
			break;
		start = pos;
		switch (s[pos]) {
		case '.':
			if (t.type > TOK_DIGIT)
				return invalid(s, len, pos,
					       "'.' only separates digit groups");
			pos++;
			t.type = TOK_DIGIT;
			if (digits(&t, s, len, &pos))
				return invalid(s, len, pos,
					       "'.' must be followed by a digit");
			break;
		case '_':
			if (t.type > TOK_SUFFIX_NO)
				return invalid(s, len, pos,
					       "a '_' suffix cannot follow '~' or '-r'");
			pos++;
			while (pos < len && is_lower(s[pos]))
				pos++;
			t.val = (uint8_t)suffix_rank(s + start + 1, pos - start - 1);
			if (t.val == SUF_INVALID)
				return invalid(s, len, start,
					       "unknown suffix (want _alpha, _beta, "
					       "_pre, _rc, _cvs, _svn, _git, _hg "
					       "or _p)");
			t.type = TOK_SUFFIX;
			t.num = 0;
			t.off = (uint32_t)(start + 1);
			t.len = (uint32_t)(pos - start - 1);
			break;
		case '~':
			if (t.type >= TOK_COMMIT_HASH)
				return invalid(s, len, pos,
					       "'~hash' cannot follow '~' or '-r'");
			pos++;
			while (pos < len && is_hex(s[pos]))
				pos++;
			if (pos == start + 1)
				return invalid(s, len, pos,
					       "'~' must be followed by lowercase "
					       "hex digits");
			t.type = TOK_COMMIT_HASH;
			t.num = 0;
			t.off = (uint32_t)(start + 1);
			t.len = (uint32_t)(pos - start - 1);
			break;
		case '-':
			if (t.type >= TOK_REVISION_NO)
				return invalid(s, len, pos,
					       "only one '-r' revision is allowed");
			if (pos + 1 >= len || s[pos + 1] != 'r')
				return invalid(s, len, pos,
					       "'-' must start an '-rN' revision");
			pos += 2;
			t.type = TOK_REVISION_NO;
			if (digits(&t, s, len, &pos))
				return invalid(s, len, pos,
					       "'-r' must be followed by digits");
			break;
		default:
			if (is_lower(s[pos])) {
				if (t.type > TOK_DIGIT)
					return invalid(s, len, pos,
						       "a letter may only follow a "
						       "digit group");
				t.type = TOK_LETTER;
				t.val = (uint8_t)s[pos];
				t.num = 0;
				t.off = (uint32_t)pos;
				t.len = 1;
				pos++;
			} else if (is_digit(s[pos])) {
				/* A digit run always ends at a non-digit, so a
				 * digit here follows a letter, a hash or '_x'. */
				if (t.type != TOK_SUFFIX)
					return invalid(s, len, pos,
						       "a digit cannot follow "
						       "this part");
				t.type = TOK_SUFFIX_NO;
				digits(&t, s, len, &pos);
			} else {
				return invalid(s, len, pos,
					       "unexpected character");
			}
			break;
		}
	}
	*ntok = n;
	return 0;
}

static int parse(void **out, const char *s, size_t len)
{
	struct apk_ver *v;
	size_t n;
	char *copy;
	int err;

	*out = NULL;
	/* Token offsets are 32-bit; no real version comes near this. */
	if (len >= UINT32_MAX)
		return invalid(s, len, 0, "too long");
	if ((err = tokenize(s, len, NULL, &n)))
		return err;
	v = clr_malloc(sizeof(*v) + n * sizeof(v->tok[0]) + len + 1);
	copy = (char *)&v->tok[n];
	memcpy(copy, s, len);
	copy[len] = '\0';
	v->str = copy;
	v->ntok = n;
	tokenize(copy, len, v->tok, &n);
	*out = v;
	return 0;
}

static int sign(int c)
{
	return (c > 0) - (c < 0);
}

/* apk_blob_sort(): bytes first, then the shorter is smaller. */
static int blob_sort(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c)
		return sign(c);
	return (alen > blen) - (alen < blen);
}

/* token_cmp(): a and b have the same type. */
static int tok_cmp(const struct apk_ver *va, const struct tok *a,
		   const struct apk_ver *vb, const struct tok *b)
{
	uint64_t x, y;

	switch (a->type) {
	case TOK_DIGIT:
		if (va->str[a->off] == '0' || vb->str[b->off] == '0')
			return blob_sort(va->str + a->off, a->len,
					 vb->str + b->off, b->len);
		/* fall through */
	case TOK_INITIAL_DIGIT:
	case TOK_SUFFIX_NO:
	case TOK_REVISION_NO:
		x = a->num;
		y = b->num;
		break;
	case TOK_LETTER:
	case TOK_SUFFIX:
		x = a->val;
		y = b->val;
		break;
	default: /* TOK_COMMIT_HASH */
		return blob_sort(va->str + a->off, a->len,
				 vb->str + b->off, b->len);
	}
	return (x > y) - (x < y);
}

static int apk_cmp(const void *pa, const void *pb)
{
	const struct apk_ver *a = pa, *b = pb;
	const struct tok *ta = NULL, *tb = NULL;
	int at, bt, c;
	size_t i;

	for (i = 0;; i++) {
		ta = i < a->ntok ? &a->tok[i] : NULL;
		tb = i < b->ntok ? &b->tok[i] : NULL;
		at = ta ? ta->type : TOK_END;
		bt = tb ? tb->type : TOK_END;
		if (at != bt || at == TOK_END)
			break;
		if ((c = tok_cmp(a, ta, b, tb)))
			return c;
	}
	if (at == bt)
		return 0;
	/* Equal so far: a pre-release suffix makes its side older... */
	if (at == TOK_SUFFIX && ta->val < SUF_NONE)
		return -1;
	if (bt == TOK_SUFFIX && tb->val < SUF_NONE)
		return 1;
	/* ...otherwise the side whose next part is more significant (lower
	 * in tok_type, with the end last) is newer: 1.0.1 > 1.0a > 1.0_p1 >
	 * 1.0~hash > 1.0-r1 > 1.0. */
	return at > bt ? -1 : 1;
}

static void apk_free(void *p)
{
	free(p);
}

const struct clr_vscheme_ops clr_vscheme_apk = { "apk", parse, apk_cmp, apk_free };
