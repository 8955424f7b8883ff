/*
 * fuzz_apk_installed.c - libFuzzer target for the apk installed-database
 * parser (lib/apk/db/installed).
 *
 * Beyond not crashing: a failure leaves no packages and says why; a success
 * gives packages with a non-empty single-word name, version and origin.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scanners/scanner.h"
#include "util/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool word(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct clr_scan_file f = { "lib/apk/db/installed", data, size, NULL };
	struct clr_scan_input in = { &f, 1 };
	struct clr_scan_result r;
	int err;

	if (size > (1 << 20))
		return 0;
	clr_scan_result_init(&r);
	clr_error_clear();
	err = clr_scanner_apk.scan(&in, &r);
	if (err && (r.packages.len || !*clr_error_msg()))
		abort();
	for (size_t i = 0; !err && i < r.packages.len; i++) {
		const struct clr_scan_package *p =
			CLR_VEC_AT(&r.packages, struct clr_scan_package, i);

		if (!word(p->name) || !word(p->version) ||
		    !word(p->source.name) ||
		    strcmp(p->version, p->source.version))
			abort();
	}
	clr_scan_result_release(&r);
	return 0;
}
