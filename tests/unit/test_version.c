/*
 * test_version.c - the table-driven cases of every version scheme.
 *
 * tests/data/version/SCHEME.txt holds one case per line:
 *     1.0~rc1 < 1.0          a comparison: <, = or >
 *     ! 1:                   a string the scheme must reject
 * Blank lines and lines starting with '#' are ignored.  Each comparison is
 * also checked reversed (antisymmetry) and each side against itself.
 */
#include "unit.h"

#include "util/error.h"
#include "version/version.h"

static int sign(int c)
{
	return (c > 0) - (c < 0);
}

static void run_file(enum clr_vscheme scheme, int *ncases)
{
	char path[1024], line[4096];
	const char *name = clr_vscheme_name(scheme);
	FILE *f;
	int lineno = 0, failures = 0;

	snprintf(path, sizeof(path), "%s/tests/data/version/%s.txt",
		 unit_srcdir(), name);
	f = fopen(path, "r");
	if (!f)
		fail_msg("cannot open %s", path);
	while (fgets(line, sizeof(line), f)) {
		char a[2048], op[8], b[2048];
		struct clr_version *va, *vb;
		int want, got, n;

		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		if (line[0] == '!') {
			const char *s = line + 1;

			while (*s == ' ')
				s++;
			if (!clr_version_parse(&va, scheme, s)) {
				print_error("%s:%d: '%s' parsed, want rejected\n",
					    path, lineno, s);
				clr_version_free(va);
				failures++;
			} else if (!clr_error_msg()[0]) {
				print_error("%s:%d: rejected without a message\n",
					    path, lineno);
				failures++;
			}
			(*ncases)++;
			continue;
		}
		n = sscanf(line, "%2047s %7s %2047s", a, op, b);
		if (n != 3 || op[1] || !strchr("<=>", op[0])) {
			print_error("%s:%d: malformed case '%s'\n", path, lineno, line);
			failures++;
			continue;
		}
		want = op[0] == '<' ? -1 : op[0] == '=' ? 0 : 1;
		if (clr_version_parse(&va, scheme, a)) {
			print_error("%s:%d: '%s': %s\n", path, lineno, a, clr_error_msg());
			failures++;
			continue;
		}
		if (clr_version_parse(&vb, scheme, b)) {
			print_error("%s:%d: '%s': %s\n", path, lineno, b, clr_error_msg());
			clr_version_free(va);
			failures++;
			continue;
		}
		got = sign(clr_version_cmp(va, vb));
		if (got != want || sign(clr_version_cmp(vb, va)) != -want ||
		    clr_version_cmp(va, va) || clr_version_cmp(vb, vb)) {
			print_error("%s:%d: %s %s %s, got %c\n", path, lineno, a, op, b,
				    got < 0 ? '<' : got ? '>' : '=');
			failures++;
		}
		clr_version_free(va);
		clr_version_free(vb);
		(*ncases)++;
	}
	fclose(f);
	if (failures)
		fail_msg("%s: %d of the cases failed", name, failures);
}

#define SCHEME_TEST(s, min)                                              \
	static void test_##s(void **state)                               \
	{                                                                \
		int n = 0;                                               \
		(void)state;                                             \
		run_file(CLR_VS_##s, &n);                                \
		if (n < min)                                             \
			fail_msg("only %d cases, want at least %d", n, min); \
	}

SCHEME_TEST(DPKG, 200)
SCHEME_TEST(RPM, 200)
SCHEME_TEST(APK, 200)
SCHEME_TEST(SEMVER, 200)
SCHEME_TEST(PEP440, 200)
SCHEME_TEST(MAVEN, 200)
SCHEME_TEST(GEM, 200)

static void test_scheme_names(void **state)
{
	enum clr_vscheme s;

	(void)state;
	for (int i = 0; i < CLR_VS__COUNT; i++) {
		assert_int_equal(clr_vscheme_from_name(&s,
			clr_vscheme_name((enum clr_vscheme)i)), 0);
		assert_int_equal(s, i);
	}
	assert_int_equal(clr_vscheme_from_name(&s, "nope"), CLR_ENOTFOUND);
	assert_non_null(strstr(clr_error_msg(), "nope"));
}

static void test_compare_str(void **state)
{
	int c = 9;

	(void)state;
	assert_int_equal(clr_version_compare_str(&c, CLR_VS_DPKG, "1.0~rc1", "1.0"), 0);
	assert_int_equal(c, -1);
	assert_int_equal(clr_version_compare_str(&c, CLR_VS_DPKG, "", "1.0"),
			 CLR_EINVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scheme_names),
		cmocka_unit_test(test_compare_str),
		cmocka_unit_test(test_DPKG),
		cmocka_unit_test(test_RPM),
		cmocka_unit_test(test_APK),
		cmocka_unit_test(test_SEMVER),
		cmocka_unit_test(test_PEP440),
		cmocka_unit_test(test_MAVEN),
		cmocka_unit_test(test_GEM),
	};

	return cmocka_run_group_tests_name("version", tests, NULL, NULL);
}
