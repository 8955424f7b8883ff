/*
 * fuzz_digest.c - libFuzzer target for clr_digest_parse().
 *
 * The input, cut at its first NUL, is parsed as an OCI digest string.  An
 * accepted string must format back to exactly itself (the canonical form
 * is the only accepted form); a rejected one must come with a message.
 * A violation aborts, which libFuzzer reports as a crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/sha256.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t d[CLR_SHA256_LEN];
	char out[CLR_DIGEST_STRLEN + 1];
	char *s;

	if (size > 4096)
		return 0;
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	clr_error_clear();
	if (!clr_digest_parse(d, s)) {
		clr_digest_format(out, d);
		if (strcmp(out, s))
			abort();
		if (clr_digest_parse(NULL, s))
			abort();
	} else if (!clr_error_msg()[0]) {
		abort();
	}
	free(s);
	return 0;
}
