/*
 * semver.c - Semantic Versioning 2.0.0 precedence (Go modules, npm, crates).
 *
 * Mirrors https://semver.org/spec/v2.0.0.html, section 11 and the BNF:
 *
 *     [v]MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]
 *
 * The optional lowercase "v" is Go's module spelling ("v1.2.3"); Go's
 * "+incompatible" is ordinary build metadata.  Build metadata is checked but
 * ignored for precedence, so 1.0.0+a = 1.0.0+b.  Everything else is strict:
 * no missing components, no leading zeros in numeric parts, no empty
 * identifiers.  Numbers are never converted: numeric parts are compared as
 * digit strings (longer is larger, then bytewise), so any length works.
 *
 * node-semver (npm's "semver" package, checked with loose=false) was used to
 * check the cases; it deviates from the spec in ways this file does not
 * follow, on purpose:
 *   - it trims surrounding whitespace ("  1.2.3 " is valid there);
 *   - it rejects strings longer than 256 characters;
 *   - it rejects MAJOR, MINOR or PATCH above 2^53-1;
 *   - it turns numeric prerelease identifiers into JavaScript numbers, so two
 *     different ones above 2^53 can compare equal.
 */
#include "version/version.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/error.h"

/* One dot-separated part: a core number or a prerelease identifier. */
struct ident {
	uint32_t off;     /* start in semver.str */
	uint32_t len;
	uint8_t numeric;  /* only digits, so compared as a number */
};

/* One allocation: the header, the prerelease identifiers, then the string. */
struct semver {
	const char *str;
	struct ident core[3];   /* MAJOR, MINOR, PATCH */
	size_t npre;            /* prerelease identifiers; 0 for a release */
	struct ident pre[];
};

/* How much of a version's text is quoted in an error message. */
#define QUOTE_MAX 128

static const char *const core_names[3] = { "major", "minor", "patch" };

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* The spec's identifier characters: [0-9A-Za-z-]. */
static int is_ident_char(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z') || c == '-';
}

static int invalid(const char *s, size_t len, const char *why, const char *what)
{
	int n = len > QUOTE_MAX ? QUOTE_MAX : (int)len;

	return clr_error_set(CLR_EINVALID, "invalid semver '%.*s%s': %s%s",
			     n, s, len > QUOTE_MAX ? "..." : "", why, what);
}

/*
 * Checks s and, when v is not NULL, fills v's parts; returns the number of
 * prerelease identifiers in *npre, or a CLR_EINVALID error.
 */
static int scan(const char *s, size_t len, struct semver *v, size_t *npre)
{
	size_t pos = 0, start, n = 0;
	const char *last = "the version";   /* for the trailing-junk message */

	if (pos < len && s[pos] == 'v')
		pos++;
	for (int i = 0; i < 3; i++) {
		start = pos;
		while (pos < len && is_digit(s[pos]))
			pos++;
		if (pos == start)
			return invalid(s, len, "missing or non-numeric ",
				       core_names[i]);
		if (s[start] == '0' && pos - start > 1)
			return invalid(s, len, "leading zero in ", core_names[i]);
		if (v)
			v->core[i] = (struct ident){ (uint32_t)start,
						     (uint32_t)(pos - start), 1 };
		if (i < 2) {
			if (pos == len || s[pos] != '.')
				return invalid(s, len, "expected '.' after ",
					       core_names[i]);
			pos++;
		}
	}
	if (pos < len && s[pos] == '-') {
		do {
			int numeric = 1;

			start = ++pos;
			while (pos < len && is_ident_char(s[pos])) {
				if (!is_digit(s[pos]))
					numeric = 0;
				pos++;
			}
			if (pos == start)
				return invalid(s, len, "empty or bad ",
					       "prerelease identifier");
			if (numeric && s[start] == '0' && pos - start > 1)
				return invalid(s, len, "leading zero in numeric ",
					       "prerelease identifier");
			if (v)
				v->pre[n] = (struct ident){ (uint32_t)start,
					(uint32_t)(pos - start), (uint8_t)numeric };
			n++;
		} while (pos < len && s[pos] == '.');
		last = "the prerelease";
	}
	if (pos < len && s[pos] == '+') {
		do {
			start = ++pos;
			while (pos < len && is_ident_char(s[pos]))
				pos++;
			if (pos == start)
				return invalid(s, len, "empty or bad ",
					       "build identifier");
		} while (pos < len && s[pos] == '.');
		last = "the build metadata";
	}
	if (pos != len)
		return invalid(s, len, "unexpected character after ", last);
	*npre = n;
	return 0;
}

static int parse(void **out, const char *s, size_t len)
{
	struct semver *v;
	size_t n;
	char *copy;
	int err;

	*out = NULL;
	/* Offsets are 32-bit; no real version comes near this. */
	if (len >= UINT32_MAX)
		return invalid(s, len, "too long", "");
	if ((err = scan(s, len, NULL, &n)))
		return err;
	v = clr_malloc(sizeof(*v) + n * sizeof(v->pre[0]) + len + 1);
	copy = (char *)&v->pre[n];
	memcpy(copy, s, len);
	copy[len] = '\0';
	v->str = copy;
	v->npre = n;
	scan(copy, len, v, &n);
	*out = v;
	return 0;
}

/* Numbers without leading zeros: the longer is larger, else bytewise. */
static int ident_cmp(const struct semver *va, const struct ident *a,
		     const struct semver *vb, const struct ident *b)
{
	size_t n = a->len < b->len ? a->len : b->len;
	int c;

	if (a->numeric != b->numeric)
		return a->numeric ? -1 : 1;   /* numeric < alphanumeric */
	if (a->numeric && a->len != b->len)
		return a->len < b->len ? -1 : 1;
	/* Same-length numbers, or ASCII order where a prefix sorts first. */
	c = memcmp(va->str + a->off, vb->str + b->off, n);
	if (c)
		return c < 0 ? -1 : 1;
	return (a->len > b->len) - (a->len < b->len);
}

static int semver_cmp(const void *pa, const void *pb)
{
	const struct semver *a = pa, *b = pb;
	size_t i;
	int c;

	for (i = 0; i < 3; i++) {
		if ((c = ident_cmp(a, &a->core[i], b, &b->core[i])))
			return c;
	}
	/* A prerelease sorts before its release... */
	if (!a->npre || !b->npre)
		return (!a->npre) - (!b->npre);
	for (i = 0; i < a->npre && i < b->npre; i++) {
		if ((c = ident_cmp(a, &a->pre[i], b, &b->pre[i])))
			return c;
	}
	/* ...and with an equal prefix, more identifiers sort later. */
	return (a->npre > b->npre) - (a->npre < b->npre);
}

static void semver_free(void *p)
{
	free(p);
}

const struct clr_vscheme_ops clr_vscheme_semver = {
	"semver", parse, semver_cmp, semver_free
};
