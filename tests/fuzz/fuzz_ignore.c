/*
 * fuzz_ignore.c - libFuzzer target for the ignore file of `clarion scan
 * --ignore-file` (src/report/ignore.c).
 *
 * Beyond not crashing: success or CLR_EINVALID / CLR_ELIMIT only, with a
 * message and no result on failure; on success every entry has an id, a
 * reason string and a line, and matching against it is safe whatever the
 * entry holds (globs included).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "report/ignore.h"
#include "util/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct clr_ignore *ig;
	int err;

	if (size > (64 << 10))
		return 0;
	err = clr_ignore_parse(&ig, (const char *)data, size, "ignore.yaml");
	if (err) {
		if ((err != CLR_EINVALID && err != CLR_ELIMIT) || ig || !*clr_error_msg())
			abort();
		return 0;
	}
	for (size_t i = 0; i < ig->entries.len; i++) {
		const struct clr_ignore_entry *e =
			CLR_VEC_AT(&ig->entries, struct clr_ignore_entry, i);

		if (!e->id || !*e->id || !e->reason || e->line <= 0)
			abort();
		(void)clr_ignore_match(ig, "oci:x:1", e->id, "pkg", "src", 0);
		(void)clr_ignore_expired(e, 0);
	}
	clr_ignore_free(ig);
	return 0;
}
