/*
 * test_reference.c - image references normalised as Docker does it, and
 * the ones Docker refuses.
 *
 * Each valid case gives the input and the fields clarion must derive; the
 * expected normal forms are what `docker pull` / distribution's
 * ParseNormalizedNamed produce for the same strings.
 */
#include "unit.h"

#include "image/reference.h"
#include "util/error.h"

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define DG "sha256:" D64

struct good_case {
	const char *in;
	const char *registry;
	const char *api_host;
	const char *repository;
	const char *tag;     /* NULL: none */
	const char *digest;  /* NULL: none */
	const char *string;  /* clr_reference_string() */
};

static const struct good_case good[] = {
	{ "alpine", "docker.io", "registry-1.docker.io", "library/alpine",
	  "latest", NULL, "docker.io/library/alpine:latest" },
	{ "alpine:3.19", "docker.io", "registry-1.docker.io", "library/alpine",
	  "3.19", NULL, "docker.io/library/alpine:3.19" },
	{ "user/repo", "docker.io", "registry-1.docker.io", "user/repo",
	  "latest", NULL, "docker.io/user/repo:latest" },
	{ "user/repo:v1", "docker.io", "registry-1.docker.io", "user/repo",
	  "v1", NULL, "docker.io/user/repo:v1" },
	{ "docker.io/alpine", "docker.io", "registry-1.docker.io",
	  "library/alpine", "latest", NULL, "docker.io/library/alpine:latest" },
	{ "docker.io/library/alpine", "docker.io", "registry-1.docker.io",
	  "library/alpine", "latest", NULL, "docker.io/library/alpine:latest" },
	{ "index.docker.io/alpine", "docker.io", "registry-1.docker.io",
	  "library/alpine", "latest", NULL, "docker.io/library/alpine:latest" },
	{ "index.docker.io/user/repo:1", "docker.io", "registry-1.docker.io",
	  "user/repo", "1", NULL, "docker.io/user/repo:1" },
	{ "registry-1.docker.io/library/alpine", "registry-1.docker.io",
	  "registry-1.docker.io", "library/alpine", "latest", NULL,
	  "registry-1.docker.io/library/alpine:latest" },
	{ "localhost/repo", "localhost", "localhost", "repo", "latest", NULL,
	  "localhost/repo:latest" },
	{ "localhost:5000/repo:t", "localhost:5000", "localhost:5000", "repo",
	  "t", NULL, "localhost:5000/repo:t" },
	{ "127.0.0.1:5000/ns/repo:tag", "127.0.0.1:5000", "127.0.0.1:5000",
	  "ns/repo", "tag", NULL, "127.0.0.1:5000/ns/repo:tag" },
	{ "quay.io/coreos/etcd", "quay.io", "quay.io", "coreos/etcd", "latest",
	  NULL, "quay.io/coreos/etcd:latest" },
	{ "gcr.io/a/b/c/d:1.0", "gcr.io", "gcr.io", "a/b/c/d", "1.0", NULL,
	  "gcr.io/a/b/c/d:1.0" },
	{ "myhost:443/x", "myhost:443", "myhost:443", "x", "latest", NULL,
	  "myhost:443/x:latest" },
	{ "My.Registry.com/x", "My.Registry.com", "My.Registry.com", "x",
	  "latest", NULL, "My.Registry.com/x:latest" },
	{ "[::1]:5000/repo", "[::1]:5000", "[::1]:5000", "repo", "latest", NULL,
	  "[::1]:5000/repo:latest" },
	{ "[fe80::1]/repo:x", "[fe80::1]", "[fe80::1]", "repo", "x", NULL,
	  "[fe80::1]/repo:x" },
	/* No '.' or ':' and not localhost: a Docker Hub namespace. */
	{ "foo/bar", "docker.io", "registry-1.docker.io", "foo/bar", "latest",
	  NULL, "docker.io/foo/bar:latest" },
	{ "localhost", "docker.io", "registry-1.docker.io", "library/localhost",
	  "latest", NULL, "docker.io/library/localhost:latest" },
	/* "localhost:5000" without a path is repository localhost, tag 5000. */
	{ "localhost:5000", "docker.io", "registry-1.docker.io",
	  "library/localhost", "5000", NULL, "docker.io/library/localhost:5000" },
	{ "alpine@" DG, "docker.io", "registry-1.docker.io", "library/alpine",
	  NULL, DG, "docker.io/library/alpine@" DG },
	{ "alpine:3@" DG, "docker.io", "registry-1.docker.io", "library/alpine",
	  "3", DG, "docker.io/library/alpine:3@" DG },
	{ "127.0.0.1:5000/t/x@" DG, "127.0.0.1:5000", "127.0.0.1:5000", "t/x",
	  NULL, DG, "127.0.0.1:5000/t/x@" DG },
	{ "h.io:1/a/b:c@" DG, "h.io:1", "h.io:1", "a/b", "c", DG,
	  "h.io:1/a/b:c@" DG },
	/* Separators. */
	{ "x/a.b_c__d-e---f", "docker.io", "registry-1.docker.io",
	  "x/a.b_c__d-e---f", "latest", NULL,
	  "docker.io/x/a.b_c__d-e---f:latest" },
	/* A first component with a '.' is a host, whatever follows. */
	{ "a.b/c", "a.b", "a.b", "c", "latest", NULL, "a.b/c:latest" },
	{ "x/0-9", "docker.io", "registry-1.docker.io", "x/0-9", "latest", NULL,
	  "docker.io/x/0-9:latest" },
	/* Tags: word characters, dots, dashes; uppercase allowed. */
	{ "a:Latest_1.0-rc", "docker.io", "registry-1.docker.io", "library/a",
	  "Latest_1.0-rc", NULL, "docker.io/library/a:Latest_1.0-rc" },
	{ "a:_x", "docker.io", "registry-1.docker.io", "library/a", "_x", NULL,
	  "docker.io/library/a:_x" },
	{ "sub.domain-x.example.com/r", "sub.domain-x.example.com",
	  "sub.domain-x.example.com", "r", "latest", NULL,
	  "sub.domain-x.example.com/r:latest" },
};

struct bad_case {
	const char *in;
	const char *why;  /* a substring of the message */
};

static const struct bad_case bad[] = {
	{ "", "empty" },
	{ "Alpine", "must be lowercase" },
	{ "user/Repo", "must be lowercase" },
	{ "quay.io/Org/x", "must be lowercase" },
	{ "alpine:", "invalid tag" },
	{ "alpine:-x", "invalid tag" },
	{ "alpine:.x", "invalid tag" },
	{ "alpine:a+b", "invalid tag" },
	{ "alpine:x/y", "invalid registry host" },
	{ ":tag", "no repository name" },
	{ "/alpine", "invalid repository name" },
	{ "alpine/", "invalid repository name" },
	{ "a//b", "invalid repository name" },
	{ "a/-b", "invalid repository name" },
	{ "a/b-", "invalid repository name" },
	{ "a/b.", "invalid repository name" },
	{ "a/b___c", "invalid repository name" },
	{ "a/b._c", "invalid repository name" },
	{ "a b", "invalid repository name" },
	{ "alpine@", "invalid digest" },
	{ "alpine@sha256", "invalid digest" },
	{ "alpine@sha256:abc", "too short" },
	{ "alpine@sha256:" D64 "00", "invalid sha256" },
	{ "alpine@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
	  "invalid sha256" },
	{ "alpine@sha512:" D64 D64, "unsupported digest algorithm" },
	{ "alpine@sha256:" D64 "@" DG, "not hexadecimal" },
	{ "alpine@1sha:" D64, "invalid digest algorithm" },
	{ "alpine@sha256:xyz" D64, "not hexadecimal" },
	{ D64, "image ID" },
	{ "-host.io/x", "invalid registry host" },
	{ "host-.io/x", "invalid registry host" },
	{ "host..io/x", "invalid registry host" },
	{ "host.io:/x", "invalid registry host" },
	{ "host.io:5x/x", "invalid registry host" },
	{ "[::1/x", "invalid registry host" },
	{ "[]:5000/x", "invalid registry host" },
	{ "h_o.io/x", "invalid registry host" },
	{ "docker.io/", "invalid repository name" },
	{ "localhost/", "invalid repository name" },
};

static void test_good(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		const struct good_case *c = &good[i];
		struct clr_reference *r = NULL;
		char *s;
		int err = clr_reference_parse(&r, c->in);

		if (err)
			fail_msg("%s: %s", c->in, clr_error_msg());
		assert_string_equal(r->registry, c->registry);
		assert_string_equal(r->api_host, c->api_host);
		assert_string_equal(r->repository, c->repository);
		if (c->tag)
			assert_string_equal(r->tag, c->tag);
		else
			assert_null(r->tag);
		if (c->digest)
			assert_string_equal(r->digest, c->digest);
		else
			assert_null(r->digest);
		s = clr_reference_string(r);
		assert_string_equal(s, c->string);
		free(s);
		clr_reference_free(r);
	}
}

/* The normal form is a fixed point: parsing it gives it back. */
static void test_normal_form_is_stable(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct clr_reference *r = NULL;
		char *s;

		assert_int_equal(clr_reference_parse(&r, good[i].string), 0);
		s = clr_reference_string(r);
		assert_string_equal(s, good[i].string);
		free(s);
		clr_reference_free(r);
	}
}

static void test_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct clr_reference *r = (struct clr_reference *)&r;
		int err;

		clr_error_clear();
		err = clr_reference_parse(&r, bad[i].in);
		if (err != CLR_EINVALID)
			fail_msg("'%s' was accepted", bad[i].in);
		assert_null(r);
		if (!strstr(clr_error_msg(), bad[i].why))
			fail_msg("'%s': message '%s' lacks '%s'", bad[i].in,
				 clr_error_msg(), bad[i].why);
	}
}

static void test_manifest_ref_prefers_digest(void **state)
{
	struct clr_reference *r;

	(void)state;
	assert_int_equal(clr_reference_parse(&r, "a:1@" DG), 0);
	assert_string_equal(clr_reference_manifest_ref(r), DG);
	clr_reference_free(r);
	assert_int_equal(clr_reference_parse(&r, "a:1"), 0);
	assert_string_equal(clr_reference_manifest_ref(r), "1");
	clr_reference_free(r);
}

static void test_length_limits(void **state)
{
	char name[300], tag[200], *s;
	struct clr_reference *r;

	(void)state;
	/* 255 characters of normalised name are fine, 256 are not:
	 * "docker.io/library/" is 18 of them. */
	memset(name, 'a', 237);
	name[237] = '\0';
	assert_int_equal(clr_reference_parse(&r, name), 0);
	clr_reference_free(r);
	memset(name, 'a', 238);
	name[238] = '\0';
	assert_int_equal(clr_reference_parse(&r, name), CLR_EINVALID);
	assert_non_null(strstr(clr_error_msg(), "longer than 255"));
	memcpy(name, "h.io/", 5);
	memset(name + 5, 'b', 250);
	name[255] = '\0';
	assert_int_equal(clr_reference_parse(&r, name), 0);
	clr_reference_free(r);
	name[255] = 'b';
	name[256] = '\0';
	assert_int_equal(clr_reference_parse(&r, name), CLR_EINVALID);

	/* A tag of 128 characters is fine, 129 are not. */
	memset(tag, 't', 128);
	tag[128] = '\0';
	s = malloc(300);
	snprintf(s, 300, "a:%s", tag);
	assert_int_equal(clr_reference_parse(&r, s), 0);
	clr_reference_free(r);
	snprintf(s, 300, "a:%st", tag);
	assert_int_equal(clr_reference_parse(&r, s), CLR_EINVALID);
	free(s);

	/* Absurd input is refused without quoting all of it. */
	s = malloc(100000);
	memset(s, 'a', 99999);
	s[99999] = '\0';
	assert_int_equal(clr_reference_parse(&r, s), CLR_EINVALID);
	assert_true(strlen(clr_error_msg()) < 200);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_normal_form_is_stable),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_manifest_ref_prefers_digest),
		cmocka_unit_test(test_length_limits),
	};

	return cmocka_run_group_tests_name("reference", tests, NULL, NULL);
}
