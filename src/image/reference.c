/*
 * reference.c - parsing and normalising image references (see reference.h).
 *
 * The grammar is the distribution project's reference grammar, written out
 * as small hand-made matchers instead of regular expressions so each
 * failure can say which part is wrong:
 *
 *   reference  := name [ ":" tag ] [ "@" digest ]
 *   name       := [ domain "/" ] path
 *   domain     := host [ ":" port ]
 *   host       := domain-name | "[" ipv6 "]"
 *   domain-name:= component ( "." component )*,  component :=
 *                 [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
 *   path       := path-component ( "/" path-component )*
 *   path-component := [a-z0-9]+ ( separator [a-z0-9]+ )*
 *   separator  := "." | "_" | "__" | "-"+
 *   tag        := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
 *   (the normalised name, "docker.io/library/x", at most 255 characters)
 *   digest     := algorithm ":" hex, only "sha256" + 64 lowercase hex here
 *
 * Normalisation is Docker's (ParseNormalizedNamed): the first component is
 * a domain only when it contains '.' or ':' or is "localhost"; Docker Hub
 * is "docker.io" ("index.docker.io" is its legacy name), and its
 * single-component names live under "library/".
 */
#include "image/reference.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/sha256.h"

#define NAME_MAX_LEN 255  /* distribution's NameTotalLengthMax */
#define TAG_MAX_LEN 128
/* Far beyond any valid reference; keeps messages and work bounded. */
#define INPUT_MAX_LEN 1024

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static bool is_word(char c)
{
	return is_alnum(c) || c == '_';
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

/* Reports an invalid reference, quoting it (bounded by INPUT_MAX_LEN). */
static int invalid(const char *s, const char *why)
{
	return clr_error_set(CLR_EINVALID, "invalid reference '%s': %s", s, why);
}

/* One domain-name component or port-free host label run: s[0..n). */
static bool valid_domain_name(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t start = i;

		while (i < n && (is_alnum(s[i]) || s[i] == '-'))
			i++;
		/* A label is non-empty and neither starts nor ends with '-'. */
		if (i == start || s[start] == '-' || s[i - 1] == '-')
			return false;
		if (i == n)
			return true;
		if (s[i] != '.')
			return false;
		i++;
		if (i == n)
			return false;  /* trailing dot */
	}
	return false;
}

/* host [":" port], where host is a domain name or a bracketed IPv6
 * address. */
static bool valid_domain(const char *s, size_t n)
{
	size_t host_end;

	if (n && s[0] == '[') {
		size_t i = 1;

		while (i < n && (is_hex(s[i]) || s[i] == ':' || s[i] == '.'))
			i++;
		if (i == 1 || i >= n || s[i] != ']')
			return false;
		host_end = i + 1;
	} else {
		const char *colon = memchr(s, ':', n);

		host_end = colon ? (size_t)(colon - s) : n;
		if (!valid_domain_name(s, host_end))
			return false;
	}
	if (host_end == n)
		return true;
	if (s[host_end] != ':' || host_end + 1 == n)
		return false;
	for (size_t i = host_end + 1; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/*
 * The path grammar, checked case-insensitively; *upper tells whether an
 * uppercase letter was seen, so that "Alpine" gets "must be lowercase"
 * rather than a vaguer message.
 */
static bool valid_path(const char *s, size_t n, bool *upper)
{
	size_t i = 0;

	*upper = false;
	while (i < n) {
		/* one path component */
		for (;;) {
			size_t start = i;

			while (i < n && is_alnum(s[i])) {
				if (s[i] >= 'A' && s[i] <= 'Z')
					*upper = true;
				i++;
			}
			if (i == start)
				return false;
			if (i == n || s[i] == '/')
				break;
			/* separator: ".", "_", "__" or one or more "-" */
			if (s[i] == '.') {
				i++;
			} else if (s[i] == '_') {
				i++;
				if (i < n && s[i] == '_')
					i++;
			} else if (s[i] == '-') {
				while (i < n && s[i] == '-')
					i++;
			} else {
				return false;
			}
		}
		if (i == n)
			return true;
		i++;  /* the '/' */
		if (i == n)
			return false;
	}
	return false;
}

static bool valid_tag(const char *s, size_t n)
{
	if (n == 0 || n > TAG_MAX_LEN || !is_word(s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_word(s[i]) && s[i] != '.' && s[i] != '-')
			return false;
	return true;
}

/*
 * The digest: the distribution grammar first (so "sha256:xyz" and
 * "foo:bar" are told apart from algorithms clarion does not know), then
 * the only algorithm clarion can verify.
 */
static int check_digest(const char *whole, const char *d)
{
	const char *colon = strchr(d, ':');
	size_t i;

	if (!colon || colon == d)
		return invalid(whole, "invalid digest (want sha256:<64 hex digits>)");
	/* algorithm: components [A-Za-z][A-Za-z0-9]* joined by [+._-] */
	for (i = 0; d + i < colon; i++) {
		char c = d[i];
		bool first = i == 0 || strchr("+._-", d[i - 1]);

		if (first ? !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
			  : !(is_alnum(c) || strchr("+._-", c)))
			return invalid(whole, "invalid digest algorithm");
	}
	if (strchr("+._-", colon[-1]))
		return invalid(whole, "invalid digest algorithm");
	for (i = 1; colon[i]; i++)
		if (!is_hex(colon[i]))
			return invalid(whole, "invalid digest: not hexadecimal");
	if (i - 1 < 32)
		return invalid(whole, "invalid digest: too short");
	if ((size_t)(colon - d) != 6 || memcmp(d, "sha256", 6)) {
		char msg[96];

		snprintf(msg, sizeof(msg), "unsupported digest algorithm '%.*s'"
			 " (only sha256)", (int)(colon - d < 32 ? colon - d : 32), d);
		return invalid(whole, msg);
	}
	if (clr_digest_parse(NULL, d))
		return invalid(whole, "invalid sha256 digest (want 64 lowercase "
			       "hex digits)");
	return 0;
}

/* Docker refuses a bare image ID where a name is expected. */
static bool is_image_id(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return i == 64;
}

int clr_reference_parse(struct clr_reference **out, const char *s)
{
	struct clr_reference *ref = NULL;
	const char *at, *name, *name_end, *tag = NULL, *slash, *path;
	size_t name_len, path_len, dom_len = 0;
	bool upper, has_domain;
	int err;

	*out = NULL;
	if (!s || !*s)
		return clr_error_set(CLR_EINVALID, "invalid reference: empty");
	if (strlen(s) > INPUT_MAX_LEN)
		return clr_error_set(CLR_EINVALID,
				     "invalid reference: longer than %d bytes",
				     INPUT_MAX_LEN);
	if (is_image_id(s))
		return invalid(s, "a 64-digit hexadecimal image ID is not a "
			       "repository name");

	at = strchr(s, '@');
	if (at && (err = check_digest(s, at + 1)))
		return err;
	name = s;
	name_end = at ? at : s + strlen(s);

	/* The tag is after the last ':' when no '/' follows it (a ':' before
	 * a '/' is a port). */
	for (const char *p = name_end; p > name; p--) {
		if (p[-1] == '/')
			break;
		if (p[-1] == ':') {
			tag = p;
			break;
		}
	}
	if (tag) {
		if (!valid_tag(tag, (size_t)(name_end - tag)))
			return invalid(s, "invalid tag (at most 128 letters, "
				       "digits, '_', '.' and '-', not starting "
				       "with '.' or '-')");
		name_end = tag - 1;
	}
	name_len = (size_t)(name_end - name);
	if (name_len == 0)
		return invalid(s, "no repository name");

	slash = memchr(name, '/', name_len);
	has_domain = false;
	if (slash) {
		dom_len = (size_t)(slash - name);
		has_domain = memchr(name, '.', dom_len) ||
			     memchr(name, ':', dom_len) ||
			     (dom_len == 9 && !memcmp(name, "localhost", 9));
	}
	if (has_domain) {
		if (!valid_domain(name, dom_len))
			return invalid(s, "invalid registry host");
		path = slash + 1;
	} else {
		path = name;
	}
	path_len = (size_t)(name_end - path);
	if (!valid_path(path, path_len, &upper))
		return invalid(s, "invalid repository name (lowercase letters, "
			       "digits and '.', '_', '__', '-' separators "
			       "between '/'-separated components)");
	if (upper)
		return invalid(s, "repository name must be lowercase");

	ref = clr_calloc(1, sizeof(*ref));
	if (!has_domain || (dom_len == 15 && !memcmp(name, "index.docker.io", 15)))
		ref->registry = clr_strdup(CLR_REFERENCE_DOCKER_HUB);
	else
		ref->registry = clr_strndup(name, dom_len);
	if (!strcmp(ref->registry, CLR_REFERENCE_DOCKER_HUB)) {
		ref->api_host = clr_strdup(CLR_REFERENCE_DOCKER_HUB_API);
		if (!memchr(path, '/', path_len)) {
			struct clr_buf b = CLR_BUF_INIT(INPUT_MAX_LEN + 16);

			clr_buf_addstr(&b, "library/");
			clr_buf_add(&b, path, path_len);
			ref->repository = clr_buf_detach(&b, NULL);
		}
	} else {
		ref->api_host = clr_strdup(ref->registry);
	}
	if (!ref->repository)
		ref->repository = clr_strndup(path, path_len);
	/* The limit is on the normalised name, "docker.io/library/x" for
	 * "x", as Docker applies it; so the normal form always parses. */
	if (strlen(ref->registry) + 1 + strlen(ref->repository) > NAME_MAX_LEN) {
		clr_reference_free(ref);
		return invalid(s, "repository name longer than 255 characters");
	}
	if (tag)
		ref->tag = clr_strndup(tag, strcspn(tag, "@"));
	else if (!at)
		ref->tag = clr_strdup("latest");
	if (at)
		ref->digest = clr_strdup(at + 1);
	*out = ref;
	return 0;
}

char *clr_reference_string(const struct clr_reference *ref)
{
	size_t n = strlen(ref->registry) + strlen(ref->repository) + 3 +
		   (ref->tag ? strlen(ref->tag) : 0) +
		   (ref->digest ? strlen(ref->digest) : 0) + 1;
	char *s = clr_malloc(n);

	snprintf(s, n, "%s/%s%s%s%s%s", ref->registry, ref->repository,
		 ref->tag ? ":" : "", ref->tag ? ref->tag : "",
		 ref->digest ? "@" : "", ref->digest ? ref->digest : "");
	return s;
}

const char *clr_reference_manifest_ref(const struct clr_reference *ref)
{
	return ref->digest ? ref->digest : ref->tag;
}

void clr_reference_free(struct clr_reference *ref)
{
	if (!ref)
		return;
	free(ref->registry);
	free(ref->api_host);
	free(ref->repository);
	free(ref->tag);
	free(ref->digest);
	free(ref);
}
