/*
 * fuzz_reference.c - libFuzzer target for clr_reference_parse().
 *
 * The input, cut at its first NUL, is parsed as an image reference.  An
 * accepted reference must have every field the grammar promises and its
 * normal form must be a fixed point (parse(string(r)) gives string(r)
 * back); a rejected one must come with a message.  A violation aborts,
 * which libFuzzer reports as a crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image/reference.h"
#include "util/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct clr_reference *r = NULL, *again = NULL;
	char *s, *norm, *norm2;

	if (size > 4096)
		return 0;
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	clr_error_clear();
	if (clr_reference_parse(&r, s)) {
		if (r || !clr_error_msg()[0])
			abort();
		free(s);
		return 0;
	}
	if (!r->registry[0] || !r->api_host[0] || !r->repository[0] ||
	    (!r->tag && !r->digest) || strchr(r->repository, ':') ||
	    strchr(r->repository, '@'))
		abort();
	norm = clr_reference_string(r);
	if (clr_reference_parse(&again, norm))
		abort();
	norm2 = clr_reference_string(again);
	if (strcmp(norm, norm2) || strcmp(r->registry, again->registry) ||
	    strcmp(r->repository, again->repository))
		abort();
	free(norm);
	free(norm2);
	clr_reference_free(again);
	clr_reference_free(r);
	free(s);
	return 0;
}
