/*
 * dpkg-ref.c - libdpkg's own answer, for the differential tests.
 *
 * Reads "A<TAB>B" lines and prints what libdpkg says, in the format of
 * `clarion vercmp --batch`: '<', '=', '>' or '! message' when parseversion()
 * rejects a side.  Warnings (a version not starting with a digit, odd
 * characters) are accepted, as `dpkg --compare-versions` accepts them.
 * This is test code linked against libdpkg.a; clarion itself never is.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIBDPKG_VOLATILE_API 1
#include <dpkg/dpkg.h>
#include <dpkg/dpkg-db.h>
#include <dpkg/version.h>

static int parse(struct dpkg_version *v, const char *s)
{
	struct dpkg_error err = DPKG_ERROR_INIT;

	if (parseversion(v, s, &err) < 0 && err.type == DPKG_MSG_ERROR) {
		printf("! %s\n", err.str);
		dpkg_error_destroy(&err);
		return -1;
	}
	dpkg_error_destroy(&err);
	return 0;
}

int main(void)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	while ((n = getline(&line, &cap, stdin)) >= 0) {
		struct dpkg_version a, b;
		char *tab;
		int c;

		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		tab = strchr(line, '\t');
		if (!tab) {
			printf("! no tab\n");
			continue;
		}
		*tab = '\0';
		if (parse(&a, line) || parse(&b, tab + 1))
			continue;
		c = dpkg_version_compare(&a, &b);
		printf("%c\n", c < 0 ? '<' : c > 0 ? '>' : '=');
	}
	free(line);
	return 0;
}
