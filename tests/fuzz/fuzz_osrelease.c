/*
 * fuzz_osrelease.c - libFuzzer target for the distribution scanner's
 * parsers: os-release(5) syntax, lsb-release, and the one-line release
 * files of Red Hat, Alpine and Debian.
 *
 * The input is given to the scanner under each of those names in turn.
 * Beyond not crashing: at most one distribution, every field a string,
 * and an error only for the size cap.
 */
#include <stdint.h>
#include <stdlib.h>

#include "scanners/scanner.h"
#include "util/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = {
	"etc/os-release", "usr/lib/os-release", "etc/lsb-release",
	"etc/redhat-release", "etc/alpine-release", "etc/debian_version",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > (128 << 10))
		return 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct clr_scan_file f = { names[i], data, size, NULL };
		struct clr_scan_input in = { &f, 1 };
		struct clr_scan_result r;
		int err;

		clr_scan_result_init(&r);
		err = clr_scanner_osrelease.scan(&in, &r);
		if ((err && err != CLR_ELIMIT) || r.distributions.len > 1)
			abort();
		for (size_t k = 0; k < r.distributions.len; k++) {
			const struct clr_scan_distribution *d = CLR_VEC_AT(
				&r.distributions, struct clr_scan_distribution,
				k);

			if (!d->did || !*d->did || !d->name || !d->version ||
			    !d->version_id || !d->version_code_name ||
			    !d->pretty_name || !d->cpe || !d->arch)
				abort();
		}
		clr_scan_result_release(&r);
	}
	return 0;
}
