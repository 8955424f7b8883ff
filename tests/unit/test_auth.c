/*
 * test_auth.c - WWW-Authenticate challenges, token answers and the token
 * cache, and credentials from docker config files and real credential
 * helper programs (written by the test into a temporary PATH directory).
 */
#include "unit.h"

#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/auth.h"
#include "util/error.h"

/* ---- WWW-Authenticate ---- */

static void test_bearer_as_registries_send_it(void **state)
{
	struct clr_auth_challenges ch;
	const struct clr_auth_challenge *c;

	(void)state;
	assert_int_equal(clr_auth_challenges_parse(&ch,
		"Bearer realm=\"https://auth.docker.io/token\","
		"service=\"registry.docker.io\","
		"scope=\"repository:library/alpine:pull\""), 0);
	assert_int_equal(ch.n, 1);
	c = clr_auth_challenges_find(&ch, "Bearer");
	assert_non_null(c);
	assert_string_equal(c->scheme, "bearer");
	assert_null(c->token68);
	assert_int_equal(c->nparams, 3);
	assert_string_equal(clr_auth_challenge_param(c, "realm"),
			    "https://auth.docker.io/token");
	assert_string_equal(clr_auth_challenge_param(c, "SERVICE"),
			    "registry.docker.io");
	assert_string_equal(clr_auth_challenge_param(c, "scope"),
			    "repository:library/alpine:pull");
	assert_null(clr_auth_challenge_param(c, "error"));
	assert_null(clr_auth_challenges_find(&ch, "basic"));
	clr_auth_challenges_release(&ch);
}

static void test_several_challenges_and_quoted_commas(void **state)
{
	struct clr_auth_challenges ch;
	const struct clr_auth_challenge *c;

	(void)state;
	/* RFC 7235's own example, plus a comma inside a quoted value and
	 * spaces around '='. */
	assert_int_equal(clr_auth_challenges_parse(&ch,
		"Newauth realm=\"apps\", type=1, title=\"Login to \\\"apps\\\"\", "
		"Basic realm=\"simple, with comma\" ,BEARER realm = \"r\" , "
		"scope=\"a b\""), 0);
	assert_int_equal(ch.n, 3);
	assert_string_equal(ch.items[0].scheme, "newauth");
	assert_int_equal(ch.items[0].nparams, 3);
	assert_string_equal(clr_auth_challenge_param(&ch.items[0], "type"), "1");
	assert_string_equal(clr_auth_challenge_param(&ch.items[0], "title"),
			    "Login to \"apps\"");
	c = clr_auth_challenges_find(&ch, "basic");
	assert_string_equal(clr_auth_challenge_param(c, "realm"),
			    "simple, with comma");
	c = clr_auth_challenges_find(&ch, "bearer");
	assert_string_equal(clr_auth_challenge_param(c, "realm"), "r");
	assert_string_equal(clr_auth_challenge_param(c, "scope"), "a b");
	clr_auth_challenges_release(&ch);
}

static void test_token68_empty_elements_and_bare_schemes(void **state)
{
	struct clr_auth_challenges ch;

	(void)state;
	assert_int_equal(clr_auth_challenges_parse(&ch,
		" , Negotiate abc+/9==, ,Basic, Digest x=\"\\\\\", Other"), 0);
	assert_int_equal(ch.n, 4);
	assert_string_equal(ch.items[0].scheme, "negotiate");
	assert_string_equal(ch.items[0].token68, "abc+/9==");
	assert_string_equal(ch.items[1].scheme, "basic");
	assert_int_equal(ch.items[1].nparams, 0);
	assert_string_equal(clr_auth_challenge_param(&ch.items[2], "x"), "\\");
	assert_string_equal(ch.items[3].scheme, "other");
	clr_auth_challenges_release(&ch);

	/* "abc=" alone is a token68 with padding, not a parameter. */
	assert_int_equal(clr_auth_challenges_parse(&ch, "X abc=,Y k=v"), 0);
	assert_int_equal(ch.n, 2);
	assert_string_equal(ch.items[0].token68, "abc=");
	assert_string_equal(clr_auth_challenge_param(&ch.items[1], "k"), "v");
	clr_auth_challenges_release(&ch);

	/* Tabs, odd token characters, obs-text in a quoted string. */
	assert_int_equal(clr_auth_challenges_parse(&ch,
		"Bearer\trealm=\"caf\xc3\xa9\",error=insufficient_scope,"
		"k!#$%&'*+-.^_`|~=v!#"), 0);
	assert_string_equal(clr_auth_challenge_param(&ch.items[0], "realm"),
			    "caf\xc3\xa9");
	assert_string_equal(clr_auth_challenge_param(&ch.items[0], "error"),
			    "insufficient_scope");
	assert_string_equal(clr_auth_challenge_param(&ch.items[0],
						     "k!#$%&'*+-.^_`|~"), "v!#");
	clr_auth_challenges_release(&ch);
}

static void test_malformed_challenges(void **state)
{
	static const char *const cases[] = {
		"",
		"   ",
		", ,",
		"=",
		"Bearer realm=\"unterminated",
		"Bearer realm=\"bad escape \\",
		"Bearer realm=\"ctl \x01 char\"",
		"Bearer realm=\"x\" scope=\"y\"",   /* missing comma */
		"Bearer realm=x,realm=y",          /* a parameter twice */
		"Bearer REALM=x,realm=y",
		"Bearer =x",
		"\"Bearer\" realm=x",
		"Bearer realm=\"x\",@",
		"Bearer,realm=x,",  /* a param after a bare scheme is a scheme */
		"Basic a=b c",
		"Negotiate abc==def",
		"Bearer realm=a b",
		"Bearer\x01",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct clr_auth_challenges ch;
		int err;

		clr_error_clear();
		err = clr_auth_challenges_parse(&ch, cases[i]);
		if (err != CLR_EINVALID)
			fail_msg("'%s' gave %d", cases[i], err);
		assert_int_equal(ch.n, 0);
		assert_null(ch.items);
		assert_non_null(strstr(clr_error_msg(), "WWW-Authenticate"));
	}
}

static void test_challenge_limits(void **state)
{
	char big[CLR_AUTH_HEADER_MAX + 10];
	struct clr_auth_challenges ch;
	char *many = malloc(4096), *p = many;

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(clr_auth_challenges_parse(&ch, big), CLR_ELIMIT);
	for (int i = 0; i < CLR_AUTH_PARAMS_MAX + 1; i++)
		p += sprintf(p, "%sp%d=v", i ? "," : "Bearer ", i);
	assert_int_equal(clr_auth_challenges_parse(&ch, many), CLR_ELIMIT);
	p = many;
	for (int i = 0; i < CLR_AUTH_CHALLENGES_MAX + 1; i++)
		p += sprintf(p, "%sS%d", i ? ", " : "", i);
	assert_int_equal(clr_auth_challenges_parse(&ch, many), CLR_ELIMIT);
	free(many);
}

/* ---- tokens ---- */

static void test_token_url(void **state)
{
	char *u;

	(void)state;
	assert_int_equal(clr_auth_token_url(&u, "https://auth.example/token",
					    "registry.example",
					    "repository:a/b:pull repository:c:pull,push"), 0);
	assert_string_equal(u, "https://auth.example/token?service=registry.example"
			       "&scope=repository%3Aa%2Fb%3Apull"
			       "&scope=repository%3Ac%3Apull%2Cpush");
	free(u);
	assert_int_equal(clr_auth_token_url(&u, "http://h/t?x=1", "a b&c", NULL), 0);
	assert_string_equal(u, "http://h/t?x=1&service=a%20b%26c");
	free(u);
	assert_int_equal(clr_auth_token_url(&u, "HTTPS://h/t", NULL, ""), 0);
	assert_string_equal(u, "HTTPS://h/t");
	free(u);
	assert_int_equal(clr_auth_token_url(&u, "file:///etc/passwd", "s", NULL),
			 CLR_EINVALID);
	assert_null(u);
	assert_int_equal(clr_auth_token_url(&u, "ftp://h/t", "s", NULL),
			 CLR_EINVALID);
	assert_int_equal(clr_auth_token_url(&u, "https://h/t x", "s", NULL),
			 CLR_EINVALID);
}

static void test_token_parse(void **state)
{
	char *t;
	long exp;
	const char *j;

	(void)state;
	j = "{\"token\":\"abc\",\"access_token\":\"def\",\"expires_in\":300}";
	assert_int_equal(clr_auth_token_parse(&t, &exp, j, strlen(j)), 0);
	assert_string_equal(t, "abc");
	assert_int_equal(exp, 300);
	free(t);
	/* access_token alone (OAuth2 form); no expiry means 60 s. */
	j = "{\"access_token\":\"def\"}";
	assert_int_equal(clr_auth_token_parse(&t, &exp, j, strlen(j)), 0);
	assert_string_equal(t, "def");
	assert_int_equal(exp, 60);
	free(t);
	/* An empty token falls back to access_token; silly expiries clamp. */
	j = "{\"token\":\"\",\"access_token\":\"x\",\"expires_in\":5}";
	assert_int_equal(clr_auth_token_parse(&t, &exp, j, strlen(j)), 0);
	assert_string_equal(t, "x");
	assert_int_equal(exp, 60);
	free(t);
	j = "{\"token\":\"x\",\"expires_in\":99999999999}";
	assert_int_equal(clr_auth_token_parse(&t, &exp, j, strlen(j)), 0);
	assert_int_equal(exp, 86400);
	free(t);

	j = "{\"token\":42}";
	assert_int_equal(clr_auth_token_parse(&t, &exp, j, strlen(j)), CLR_EINVALID);
	assert_null(t);
	j = "[\"token\"]";
	assert_int_equal(clr_auth_token_parse(&t, &exp, j, strlen(j)), CLR_EINVALID);
	j = "not json";
	assert_int_equal(clr_auth_token_parse(&t, &exp, j, strlen(j)), CLR_EINVALID);
	/* A token that would inject a header line is refused. */
	j = "{\"token\":\"abc\\r\\nX-Evil: 1\"}";
	assert_int_equal(clr_auth_token_parse(&t, &exp, j, strlen(j)), CLR_EINVALID);
	assert_non_null(strstr(clr_error_msg(), "header"));
}

static void test_token_cache_expiry(void **state)
{
	struct clr_auth_token_cache c = CLR_AUTH_TOKEN_CACHE_INIT;

	(void)state;
	assert_null(clr_auth_token_cache_get(&c, "k", 0));
	clr_auth_token_cache_put(&c, "k", "t1", 300, 1000);
	clr_auth_token_cache_put(&c, "other", "t2", 60, 1000);
	assert_string_equal(clr_auth_token_cache_get(&c, "k", 1000), "t1");
	/* Treated as expired 30 s early (10 % for short lives). */
	assert_string_equal(clr_auth_token_cache_get(&c, "k", 1269), "t1");
	assert_null(clr_auth_token_cache_get(&c, "k", 1270));
	assert_string_equal(clr_auth_token_cache_get(&c, "other", 1053), "t2");
	assert_null(clr_auth_token_cache_get(&c, "other", 1054));
	/* A new token replaces the old one. */
	clr_auth_token_cache_put(&c, "k", "t3", 300, 2000);
	assert_string_equal(clr_auth_token_cache_get(&c, "k", 2000), "t3");
	clr_auth_token_cache_release(&c);
	assert_true(clr_auth_now() > 0);
}

static void test_basic_value(void **state)
{
	char *v;

	(void)state;
	v = clr_auth_basic_value("alice", "s3cret");
	assert_string_equal(v, "Basic YWxpY2U6czNjcmV0");
	free(v);
	v = clr_auth_basic_value("a", "");
	assert_string_equal(v, "Basic YTo=");
	free(v);
	v = clr_auth_basic_value("ab", ":c");
	assert_string_equal(v, "Basic YWI6OmM=");
	free(v);
}

/* ---- credentials ---- */

struct tmp {
	char dir[64];
	char *old_path;
};

static void write_file(const char *path, const char *text, int mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, (mode_t)mode);
}

static char *join(const char *dir, const char *name)
{
	char *p = malloc(strlen(dir) + strlen(name) + 2);

	sprintf(p, "%s/%s", dir, name);
	return p;
}

static int setup_tmp(void **state)
{
	struct tmp *t = calloc(1, sizeof(*t));
	const char *path = getenv("PATH");
	char *newpath, *helper;

	strcpy(t->dir, "/tmp/clarion-test-auth.XXXXXX");
	if (!mkdtemp(t->dir))
		return -1;
	/*
	 * A real credential helper: it answers for two servers, says "not
	 * found" (exit 1, like docker-credential-pass) for others, records
	 * the server it was asked about, and fails loudly for "broken".
	 */
	helper = join(t->dir, "docker-credential-test");
	write_file(helper,
		"#!/bin/sh\n"
		"[ \"$1\" = get ] || exit 3\n"
		"read -r server\n"
		"printf '%s' \"$server\" > \"$(dirname \"$0\")/asked\"\n"
		"case $server in\n"
		"127.0.0.1:5000) printf '{\"ServerURL\":\"%s\",\"Username\":\"helperuser\","
		"\"Secret\":\"helper secret\"}\\n' \"$server\" ;;\n"
		"https://index.docker.io/v1/) echo '{\"Username\":\"hubuser\",\"Secret\":\"hubpw\"}' ;;\n"
		"tok.example) echo '{\"Username\":\"<token>\",\"Secret\":\"refresh\"}' ;;\n"
		"broken.example) echo 'keychain is locked'; exit 2 ;;\n"
		"garbage.example) echo 'not json' ;;\n"
		"*) echo 'credentials not found in native keychain'; exit 1 ;;\n"
		"esac\n", 0755);
	free(helper);
	t->old_path = path ? strdup(path) : NULL;
	newpath = malloc(strlen(t->dir) + (path ? strlen(path) : 0) + 2);
	sprintf(newpath, "%s:%s", t->dir, path ? path : "/usr/bin:/bin");
	setenv("PATH", newpath, 1);
	free(newpath);
	*state = t;
	return 0;
}

static int teardown_tmp(void **state)
{
	struct tmp *t = *state;
	char cmd[128];

	if (t->old_path)
		setenv("PATH", t->old_path, 1);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
	if (system(cmd))
		return -1;
	free(t->old_path);
	free(t);
	return 0;
}

/* Looks up registry in a config file holding json; asserts err. */
static void lookup(struct tmp *t, const char *json, const char *registry,
		   int want_err, const char *user, const char *pass)
{
	char *path = join(t->dir, "config.json");
	struct clr_auth_creds c = CLR_AUTH_CREDS_INIT;
	int err;

	write_file(path, json, 0600);
	err = clr_auth_creds_lookup(&c, path, registry);
	if (err != want_err)
		fail_msg("%s in %s: %d (%s)", registry, json, err, clr_error_msg());
	if (user) {
		assert_non_null(c.username);
		assert_string_equal(c.username, user);
		assert_string_equal(c.password, pass);
	} else {
		assert_null(c.username);
		assert_null(c.password);
	}
	clr_auth_creds_release(&c);
	free(path);
}

static void test_config_auths(void **state)
{
	struct tmp *t = *state;
	/* base64("alice:s3cret") and base64("bob:pa:ss") */
	const char *cfg =
		"{\"auths\": {"
		" \"127.0.0.1:5000\": {\"auth\": \"YWxpY2U6czNjcmV0\"},"
		" \"https://quay.io/v1/\": {\"auth\": \"Ym9iOnBhOnNz\"},"
		" \"http://plain.example\": {\"username\": \"u\", \"password\": \"p\"},"
		" \"https://index.docker.io/v1/\": {\"auth\": \"aHViOmh1YnB3\"},"
		" \"empty.example\": {},"
		" \"bad.example\": {\"auth\": \"!!!notbase64\"},"
		" \"nocolon.example\": {\"auth\": \"bm9jb2xvbg==\"}"
		"}}";

	lookup(t, cfg, "127.0.0.1:5000", 0, "alice", "s3cret");
	lookup(t, cfg, "quay.io", 0, "bob", "pa:ss");
	lookup(t, cfg, "plain.example", 0, "u", "p");
	lookup(t, cfg, "docker.io", 0, "hub", "hubpw");
	lookup(t, cfg, "registry-1.docker.io", 0, "hub", "hubpw");
	lookup(t, cfg, "empty.example", 0, NULL, NULL);
	lookup(t, cfg, "unknown.example", 0, NULL, NULL);
	lookup(t, cfg, "127.0.0.1:5001", 0, NULL, NULL);
	lookup(t, cfg, "bad.example", CLR_EINVALID, NULL, NULL);
	lookup(t, cfg, "nocolon.example", CLR_EINVALID, NULL, NULL);
	/* Docker Hub under its other spellings. */
	lookup(t, "{\"auths\":{\"docker.io\":{\"auth\":\"YTpi\"}}}", "docker.io",
	       0, "a", "b");
	lookup(t, "{\"auths\":{\"index.docker.io\":{\"auth\":\"YTpi\"}}}",
	       "docker.io", 0, "a", "b");
	lookup(t, "{}", "docker.io", 0, NULL, NULL);
	lookup(t, "{\"auths\": 5}", "docker.io", 0, NULL, NULL);
	lookup(t, "not json", "docker.io", CLR_EINVALID, NULL, NULL);
	lookup(t, "[1]", "docker.io", CLR_EINVALID, NULL, NULL);
}

static void test_config_helpers(void **state)
{
	struct tmp *t = *state;
	char *asked = join(t->dir, "asked");
	char buf[128] = "";
	FILE *f;
	const char *cfg =
		"{\"credHelpers\": {\"127.0.0.1:5000\": \"test\","
		"  \"other.example\": \"test\", \"tok.example\": \"test\","
		"  \"broken.example\": \"test\", \"garbage.example\": \"test\","
		"  \"missing.example\": \"nosuchhelper\","
		"  \"evil.example\": \"../../bin/sh\"},"
		" \"auths\": {\"other.example\": {\"auth\": \"YTpi\"},"
		"             \"127.0.0.1:5000\": {\"auth\": \"YTpi\"}}}";

	/* The helper wins over auths, and is told the server on stdin. */
	lookup(t, cfg, "127.0.0.1:5000", 0, "helperuser", "helper secret");
	f = fopen(asked, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_string_equal(buf, "127.0.0.1:5000");
	/* "credentials not found" falls back to auths. */
	lookup(t, cfg, "other.example", 0, "a", "b");
	/* An identity token is not usable as a password. */
	lookup(t, cfg, "tok.example", 0, NULL, NULL);
	lookup(t, cfg, "broken.example", CLR_EIO, NULL, NULL);
	assert_non_null(strstr(clr_error_msg(), "keychain is locked"));
	lookup(t, cfg, "garbage.example", CLR_EINVALID, NULL, NULL);
	lookup(t, cfg, "missing.example", CLR_EIO, NULL, NULL);
	assert_non_null(strstr(clr_error_msg(), "docker-credential-nosuchhelper"));
	lookup(t, cfg, "evil.example", CLR_EINVALID, NULL, NULL);

	/* credsStore answers for every registry without a credHelpers entry;
	 * Docker Hub is asked for by its legacy server URL. */
	cfg = "{\"credsStore\": \"test\", \"credHelpers\": {\"x.example\": \"nosuch\"}}";
	lookup(t, cfg, "docker.io", 0, "hubuser", "hubpw");
	f = fopen(asked, "r");
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_string_equal(buf, "https://index.docker.io/v1/");
	lookup(t, cfg, "127.0.0.1:5000", 0, "helperuser", "helper secret");
	lookup(t, cfg, "nothing.example", 0, NULL, NULL);
	lookup(t, cfg, "x.example", CLR_EIO, NULL, NULL);
	lookup(t, "{\"credsStore\": 7}", "a.io", CLR_EINVALID, NULL, NULL);
	lookup(t, "{\"credsStore\": \"\", \"auths\":{\"a.io\":{\"auth\":\"YTpi\"}}}",
	       "a.io", 0, "a", "b");
	free(asked);
}

static void test_config_from_environment(void **state)
{
	struct tmp *t = *state;
	struct clr_auth_creds c = CLR_AUTH_CREDS_INIT;
	char *path = join(t->dir, "auth.json"), *docker_dir = join(t->dir, ".docker");
	char *docker_cfg = join(docker_dir, "config.json");
	char *old_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;

	mkdir(docker_dir, 0700);
	write_file(path, "{\"auths\":{\"r.io\":{\"auth\":\"ZW52OnZhbA==\"}}}", 0600);
	write_file(docker_cfg, "{\"auths\":{\"r.io\":{\"auth\":\"aG9tZTpwdw==\"}}}", 0600);
	unsetenv("DOCKER_CONFIG");

	/* REGISTRY_AUTH_FILE first (podman, skopeo) ... */
	setenv("REGISTRY_AUTH_FILE", path, 1);
	setenv("HOME", t->dir, 1);
	assert_int_equal(clr_auth_creds_lookup(&c, NULL, "r.io"), 0);
	assert_string_equal(c.username, "env");
	assert_string_equal(c.password, "val");
	clr_auth_creds_release(&c);
	/* ... else $DOCKER_CONFIG/config.json ... */
	unsetenv("REGISTRY_AUTH_FILE");
	setenv("DOCKER_CONFIG", docker_dir, 1);
	assert_int_equal(clr_auth_creds_lookup(&c, NULL, "r.io"), 0);
	assert_string_equal(c.username, "home");
	clr_auth_creds_release(&c);
	/* ... else $HOME/.docker/config.json. */
	unsetenv("DOCKER_CONFIG");
	assert_int_equal(clr_auth_creds_lookup(&c, NULL, "r.io"), 0);
	assert_string_equal(c.username, "home");
	assert_string_equal(c.password, "pw");
	clr_auth_creds_release(&c);
	/* No file at all: no credentials, no error. */
	setenv("HOME", "/nonexistent-clarion-home", 1);
	assert_int_equal(clr_auth_creds_lookup(&c, NULL, "r.io"), 0);
	assert_null(c.username);

	if (old_home)
		setenv("HOME", old_home, 1);
	free(old_home);
	free(path);
	free(docker_cfg);
	free(docker_dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bearer_as_registries_send_it),
		cmocka_unit_test(test_several_challenges_and_quoted_commas),
		cmocka_unit_test(test_token68_empty_elements_and_bare_schemes),
		cmocka_unit_test(test_malformed_challenges),
		cmocka_unit_test(test_challenge_limits),
		cmocka_unit_test(test_token_url),
		cmocka_unit_test(test_token_parse),
		cmocka_unit_test(test_token_cache_expiry),
		cmocka_unit_test(test_basic_value),
		cmocka_unit_test_setup_teardown(test_config_auths, setup_tmp,
						teardown_tmp),
		cmocka_unit_test_setup_teardown(test_config_helpers, setup_tmp,
						teardown_tmp),
		cmocka_unit_test_setup_teardown(test_config_from_environment,
						setup_tmp, teardown_tmp),
	};

	return cmocka_run_group_tests_name("auth", tests, NULL, NULL);
}
