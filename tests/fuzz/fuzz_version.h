/*
 * fuzz_version.h - the body shared by the version parsers' fuzz targets.
 *
 * The input is split at the first newline into two strings.  Each is parsed;
 * when both parse, the comparison must be antisymmetric and each version
 * equal to itself.  A violation aborts, which libFuzzer reports as a crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "version/version.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_version(enum clr_vscheme scheme, const uint8_t *data,
			 size_t size)
{
	char *buf, *b;
	struct clr_version *va = NULL, *vb = NULL;

	if (size > 4096)
		return;
	buf = malloc(size + 1);
	if (!buf)
		return;
	memcpy(buf, data, size);
	buf[size] = '\0';
	b = strchr(buf, '\n');
	if (b)
		*b++ = '\0';
	else
		b = buf + strlen(buf);
	if (!clr_version_parse(&va, scheme, buf) &&
	    !clr_version_parse(&vb, scheme, b)) {
		int ab = clr_version_cmp(va, vb), ba = clr_version_cmp(vb, va);

		if ((ab > 0) != (ba < 0) || (ab < 0) != (ba > 0) ||
		    clr_version_cmp(va, va) || clr_version_cmp(vb, vb))
			abort();
	}
	clr_version_free(va);
	clr_version_free(vb);
	free(buf);
}

#define FUZZ_VERSION_TARGET(scheme)                                      \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)     \
	{                                                                \
		fuzz_version(scheme, data, size);                        \
		return 0;                                                \
	}
