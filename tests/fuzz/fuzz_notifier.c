/*
 * fuzz_notifier.c - libFuzzer target for what the notifier reads that a
 * client or a stored report controls: page tokens and ids (the UUID check
 * that stands before any query), and the package names a report put
 * indexes (clr_store_report_package_names, any text).
 *
 * Beyond not crashing: a string accepted as a UUID has the 8-4-4-4-12
 * lowercase shape; the names come out sorted, unique and non-empty.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "notifier/notifier.h"
#include "util/alloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct clr_vec names = CLR_VEC_INIT(char *);
	char *text;

	if (size > (1 << 20))
		return 0;
	text = clr_strndup((const char *)data, size);
	if (clr_notifier_is_uuid(text)) {
		if (strlen(text) != 36 || text[8] != '-' || text[23] != '-' ||
		    strspn(text, "0123456789abcdef-") != 36)
			abort();
	}
	clr_store_report_package_names(text, &names);
	for (size_t i = 0; i < names.len; i++) {
		const char *n = *CLR_VEC_AT(&names, char *, i);

		if (!*n || (i && strcmp(*CLR_VEC_AT(&names, char *, i - 1),
					n) >= 0))
			abort();
	}
	clr_store_strings_release(&names);
	free(text);
	return 0;
}
