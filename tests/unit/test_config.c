/*
 * test_config.c - the configuration table and its loader.
 *
 * What an operator meets: defaults when a key is absent, Clair's key
 * names in YAML and in JSON, an error naming the key (and line) for a typo
 * or a value of the wrong type, Go-style durations, per-updater settings.
 */
#include "unit.h"

#include <fcntl.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "util/alloc.h"
#include "util/error.h"

static struct clr_config *parse_ok(const char *text, const char *name)
{
	struct clr_config *c = NULL;
	int err = clr_config_parse(&c, text, strlen(text), name);

	if (err)
		fail_msg("parse of %s failed: %s", name, clr_error_msg());
	assert_non_null(c);
	return c;
}

/* Parsing fails with CLR_EINVALID and a message containing want. */
static void parse_fails(const char *text, const char *want)
{
	struct clr_config *c = (struct clr_config *)1;

	assert_int_equal(clr_config_parse(&c, text, strlen(text), "config.yaml"),
			 CLR_EINVALID);
	assert_null(c);
	if (!strstr(clr_error_msg(), want))
		fail_msg("message '%s' does not contain '%s'", clr_error_msg(), want);
}

static void test_defaults(void **state)
{
	struct clr_config *c;
	size_t n = 99;

	(void)state;
	assert_int_equal(clr_config_load(&c, NULL), 0);
	assert_null(clr_config_source(c));
	assert_null(clr_config_string(c, "database"));
	assert_string_equal(clr_config_string(c, "log_level"), "info");
	assert_int_equal(clr_config_log_level(c), CLR_LOG_INFO);
	assert_int_equal(clr_config_duration_ms(c, "matcher.period"), 6 * 3600 * 1000);
	assert_int_equal(clr_config_int(c, "matcher.update_retention"), 10);
	assert_false(clr_config_bool(c, "matcher.disable_updaters"));
	assert_null(clr_config_list(c, "updaters.sets", &n));
	assert_int_equal(n, 0);
	assert_null(clr_config_setting(c, "updaters.config", "debian", "url"));
	assert_false(clr_config_is_set(c, "matcher.period"));
	clr_config_free(c);
	clr_config_free(NULL);

	/* An empty file, or one of comments, is the same. */
	c = parse_ok("", "empty.yaml");
	assert_int_equal(clr_config_int(c, "matcher.update_retention"), 10);
	clr_config_free(c);
	c = parse_ok("# nothing here\n---\n", "comments.yaml");
	assert_string_equal(clr_config_source(c), "comments.yaml");
	clr_config_free(c);
}

static void test_all_keys_yaml(void **state)
{
	static const char yaml[] =
		"# a Clair v4 style file\n"
		"database: postgres://clair@db:5432/clair?sslmode=disable\n"
		"log_level: debug\n"
		"matcher:\n"
		"  period: 30m\n"
		"  update_retention: 3\n"
		"  disable_updaters: true\n"
		"updaters:\n"
		"  sets:\n"
		"    - debian\n"
		"    - alpine\n"
		"  config:\n"
		"    debian:\n"
		"      url: http://mirror.local/tracker.json\n"
		"      timeout: 30\n"
		"      strict: false\n"
		"    alpine-main-v3.19:\n"
		"      url: 'http://mirror.local/v3.19/main.json'\n"
		"    osv:\n"
		"      allowlist: [PyPI, Go]\n"
		"    ubuntu:\n";
	struct clr_config *c = parse_ok(yaml, "config.yaml");
	const char *const *sets;
	size_t n;

	(void)state;
	assert_string_equal(clr_config_string(c, "database"),
			    "postgres://clair@db:5432/clair?sslmode=disable");
	assert_int_equal(clr_config_log_level(c), CLR_LOG_DEBUG);
	assert_int_equal(clr_config_duration_ms(c, "matcher.period"), 30 * 60 * 1000);
	assert_int_equal(clr_config_int(c, "matcher.update_retention"), 3);
	assert_true(clr_config_bool(c, "matcher.disable_updaters"));
	assert_true(clr_config_is_set(c, "matcher.period"));
	sets = clr_config_list(c, "updaters.sets", &n);
	assert_int_equal(n, 2);
	assert_string_equal(sets[0], "debian");
	assert_string_equal(sets[1], "alpine");
	assert_null(sets[2]);
	assert_string_equal(clr_config_setting(c, "updaters.config", "debian", "url"),
			    "http://mirror.local/tracker.json");
	/* Numbers and booleans reach factories as their text. */
	assert_string_equal(clr_config_setting(c, "updaters.config", "debian", "timeout"),
			    "30");
	assert_string_equal(clr_config_setting(c, "updaters.config", "debian", "strict"),
			    "false");
	assert_string_equal(clr_config_setting(c, "updaters.config", "osv", "allowlist"),
			    "PyPI,Go");
	assert_null(clr_config_setting(c, "updaters.config", "debian", "nope"));
	assert_null(clr_config_setting(c, "updaters.config", "ubuntu", "url"));
	/* Updater names have dots: the dotted form finds the right split. */
	assert_string_equal(clr_config_setting_path(c, "updaters.config",
						    "alpine-main-v3.19.url"),
			    "http://mirror.local/v3.19/main.json");
	assert_string_equal(clr_config_setting_path(c, "updaters.config", "debian.url"),
			    "http://mirror.local/tracker.json");
	assert_null(clr_config_setting_path(c, "updaters.config", "alpine-main-v3.19"));
	assert_null(clr_config_setting_path(c, "updaters.config", "nodots"));
	clr_config_free(c);
}

static void test_json(void **state)
{
	static const char json[] =
		"{\"database\": \"/var/lib/clarion.db\",\n"
		" \"matcher\": {\"period\": \"1h\", \"update_retention\": 2},\n"
		" \"updaters\": {\"sets\": [], \"config\": {\"debian\": {\"url\": \"x\"}}}}\n";
	struct clr_config *c = parse_ok(json, "config.json");
	size_t n = 9;

	(void)state;
	assert_string_equal(clr_config_string(c, "database"), "/var/lib/clarion.db");
	assert_int_equal(clr_config_duration_ms(c, "matcher.period"), 3600 * 1000);
	assert_int_equal(clr_config_int(c, "matcher.update_retention"), 2);
	/* [] is "none", not "not given". */
	assert_non_null(clr_config_list(c, "updaters.sets", &n));
	assert_int_equal(n, 0);
	assert_string_equal(clr_config_setting(c, "updaters.config", "debian", "url"), "x");
	clr_config_free(c);

	/* Strict JSON for .json files: a YAML-only form is an error. */
	{
		static const char bad[] = "{\"matcher\": {\"period\": 6h}}";

		assert_int_equal(clr_config_parse(&c, bad, strlen(bad), "c.json"),
				 CLR_EINVALID);
		assert_non_null(strstr(clr_error_msg(), "c.json"));
		c = parse_ok(bad, "c.yaml");
		clr_config_free(c);
	}
}

static void test_nulls_are_defaults(void **state)
{
	struct clr_config *c = parse_ok("matcher:\n  period:\n  update_retention: ~\n"
					"updaters:\n  sets: null\nlog_level: null\n",
					"nulls.yaml");

	(void)state;
	assert_int_equal(clr_config_duration_ms(c, "matcher.period"), 6 * 3600 * 1000);
	assert_int_equal(clr_config_int(c, "matcher.update_retention"), 10);
	assert_null(clr_config_list(c, "updaters.sets", NULL));
	assert_string_equal(clr_config_string(c, "log_level"), "info");
	assert_false(clr_config_is_set(c, "matcher.period"));
	clr_config_free(c);
	/* A quoted "null" is a string. */
	c = parse_ok("database: 'null'\n", "q.yaml");
	assert_string_equal(clr_config_string(c, "database"), "null");
	clr_config_free(c);
}

static void test_unknown_keys(void **state)
{
	(void)state;
	parse_fails("matcher:\n  perod: 6h\n",
		    "unknown key 'matcher.perod' in config.yaml (line 2)");
	parse_fails("http_listen_adr: ':6060'\n", "unknown key 'http_listen_adr'");
	parse_fails("updaters:\n  set: [debian]\n", "unknown key 'updaters.set'");
	/* A dotted key is not a path. */
	parse_fails("matcher.period: 6h\n", "unknown key 'matcher.period'");
	/* Deeper than the table goes. */
	parse_fails("matcher:\n  period:\n    hours: 6\n", "'matcher.period'");
}

static void test_wrong_types(void **state)
{
	(void)state;
	parse_fails("matcher:\n  update_retention: ten\n",
		    "'matcher.update_retention' in config.yaml (line 2): expected an integer");
	parse_fails("matcher:\n  update_retention: 1.5\n", "expected an integer");
	parse_fails("matcher:\n  update_retention: 99999999999999999999\n",
		    "expected an integer");
	parse_fails("matcher:\n  disable_updaters: maybe\n",
		    "'matcher.disable_updaters' in config.yaml (line 2): expected true or false");
	parse_fails("matcher:\n  disable_updaters: yes\n", "expected true or false");
	parse_fails("matcher:\n  period: 6 hours\n", "expected a duration");
	parse_fails("matcher:\n  period: [6h]\n", "'matcher.period'");
	parse_fails("matcher: 5\n", "'matcher' in config.yaml (line 1): expected a map");
	parse_fails("updaters:\n  sets: debian\n",
		    "'updaters.sets' in config.yaml (line 2): expected a list of strings");
	parse_fails("updaters:\n  sets: [debian, [alpine]]\n", "expected a list of strings");
	parse_fails("updaters:\n  config: [debian]\n", "'updaters.config'");
	parse_fails("updaters:\n  config:\n    debian: url\n",
		    "'updaters.config.debian' in config.yaml (line 3)");
	parse_fails("updaters:\n  config:\n    debian:\n      url: {a: b}\n",
		    "'updaters.config.debian.url' in config.yaml (line 4): expected a string");
	parse_fails("database: [a, b]\n", "'database' in config.yaml (line 1): expected a string");
	parse_fails("log_level: verbose\n", "'log_level' in config.yaml (line 1): expected one of");
}

static void test_yaml_errors(void **state)
{
	(void)state;
	parse_fails("matcher:\n  period: 6h\n   bad: indent\n", "config.yaml");
	parse_fails("- just\n- a list\n", "expected a map of settings at the top");
	parse_fails("matcher:\n  period: 6h\n  period: 1h\n", "config.yaml");
	/* Aliases are refused, not expanded. */
	parse_fails("updaters:\n  sets: &s [debian]\nmatcher:\n  period: *s\n", "alias");
	parse_fails("database: \"a\\0b\"\n", "NUL");
	/* YAML is Unicode text; libfyaml 0.7 loops forever on this one. */
	parse_fails("%\xfb", "config.yaml (line 1): not UTF-8");
	parse_fails("a: 1\nb: \xc0\xaf\n", "(line 2): not UTF-8");  /* overlong */
	parse_fails("a: \xed\xa0\x80\n", "not UTF-8");              /* surrogate */
}

static void test_durations(void **state)
{
	static const struct {
		const char *text;
		int64_t ms;
	} good[] = {
		{ "6h", 6 * 3600000LL }, { "30m", 1800000 }, { "1h30m", 5400000 },
		{ "1.5h", 5400000 }, { "500ms", 500 }, { "0", 0 }, { "90s", 90000 },
		{ "2h45m30.5s", (2 * 3600 + 45 * 60 + 30) * 1000LL + 500 },
		{ "1us", 0 }, { "1500000ns", 1 }, { "+5m", 300000 }, { "0s", 0 },
		{ "1\xc2\xb5s", 0 },
	};
	static const char *const bad[] = {
		"", "6", "h", "-1h", "6hours", "1d", "h6", "1h 30m", "1e3s",
		"999999999999h",
	};
	int64_t ms;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (clr_config_parse_duration(&ms, good[i].text))
			fail_msg("'%s' refused: %s", good[i].text, clr_error_msg());
		if (ms != good[i].ms)
			fail_msg("'%s' gave %lld ms, not %lld", good[i].text, (long long)ms,
				 (long long)good[i].ms);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (clr_config_parse_duration(&ms, bad[i]) != CLR_EINVALID)
			fail_msg("'%s' accepted", bad[i]);
}

static void test_log_levels(void **state)
{
	struct clr_config *c = parse_ok("log_level: debug-color\n", "l.yaml");

	(void)state;
	assert_int_equal(clr_config_log_level(c), CLR_LOG_DEBUG);
	clr_config_free(c);
	c = parse_ok("log_level: panic\n", "l.yaml");
	assert_int_equal(clr_config_log_level(c), CLR_LOG_ERROR);
	clr_config_free(c);
	c = parse_ok("log_level: WARN\n", "l.yaml");
	assert_int_equal(clr_config_log_level(c), CLR_LOG_WARN);
	clr_config_free(c);
}

static void test_set(void **state)
{
	struct clr_config *c = parse_ok("database: /a.db\n", "s.yaml");

	(void)state;
	/* --db wins over the file. */
	assert_int_equal(clr_config_set(c, "database", "/b.db"), 0);
	assert_string_equal(clr_config_string(c, "database"), "/b.db");
	assert_int_equal(clr_config_set(c, "matcher.update_retention", "4"), 0);
	assert_int_equal(clr_config_int(c, "matcher.update_retention"), 4);
	assert_int_equal(clr_config_set(c, "matcher.update_retention", "four"), CLR_EINVALID);
	assert_non_null(strstr(clr_error_msg(), "matcher.update_retention"));
	assert_int_equal(clr_config_int(c, "matcher.update_retention"), 4);
	assert_int_equal(clr_config_set(c, "no.such", "x"), CLR_EINVALID);
	assert_int_equal(clr_config_set(c, "updaters.sets", "x"), CLR_EINVALID);
	clr_config_free(c);
}

static void test_table(void **state)
{
	(void)state;
	/* Every row has a name, a doc line, and is found by its name. */
	for (size_t i = 0; i < clr_config_keys_count; i++) {
		const struct clr_config_key *k = &clr_config_keys[i];

		assert_non_null(k->doc);
		assert_ptr_equal(clr_config_key_find(k->name), k);
	}
	assert_null(clr_config_key_find("matcher"));
}

static void test_load_files(void **state)
{
	char dir[] = "/tmp/clarion-test-config-XXXXXX", path[128];
	struct clr_config *c;
	char *big;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/config.yaml", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "matcher:\n  update_retention: 7\n", 31), 31);
	close(fd);
	assert_int_equal(clr_config_load(&c, path), 0);
	assert_string_equal(clr_config_source(c), path);
	assert_int_equal(clr_config_int(c, "matcher.update_retention"), 7);
	clr_config_free(c);

	fd = open(path, O_WRONLY | O_TRUNC);
	assert_int_equal(write(fd, "matcher:\n  perod: 1h\n", 21), 21);
	close(fd);
	assert_int_equal(clr_config_load(&c, path), CLR_EINVALID);
	assert_non_null(strstr(clr_error_msg(), "unknown key 'matcher.perod' in "));
	assert_non_null(strstr(clr_error_msg(), "config.yaml"));

	big = clr_malloc(CLR_CONFIG_MAX_SIZE + 10);
	memset(big, '#', CLR_CONFIG_MAX_SIZE + 10);
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_int_equal(write(fd, big, CLR_CONFIG_MAX_SIZE + 10), CLR_CONFIG_MAX_SIZE + 10);
	close(fd);
	free(big);
	assert_int_equal(clr_config_load(&c, path), CLR_ELIMIT);
	unlink(path);

	assert_int_equal(clr_config_load(&c, path), CLR_ENOTFOUND);
	assert_non_null(strstr(clr_error_msg(), path));
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_all_keys_yaml),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_nulls_are_defaults),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_yaml_errors),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_log_levels),
		cmocka_unit_test(test_set),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_load_files),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
