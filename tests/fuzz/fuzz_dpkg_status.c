/*
 * fuzz_dpkg_status.c - libFuzzer target for the dpkg status parser.
 *
 * The input is scanned as var/lib/dpkg/status and again as a distroless
 * status.d file.  Beyond not crashing, the scanner's promises must hold: a
 * failure leaves no packages and says why; a success gives packages with
 * a non-empty one-line name and version and a source.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scanners/scanner.h"
#include "util/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool one_line(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 && *s != '\t')
			return false;
	return true;
}

static void run(const char *path, const uint8_t *data, size_t size)
{
	struct clr_scan_file f = { path, data, size, NULL };
	struct clr_scan_input in = { &f, 1 };
	struct clr_scan_result r;
	int err;

	clr_scan_result_init(&r);
	clr_error_clear();
	err = clr_scanner_dpkg.scan(&in, &r);
	if (err && (r.packages.len || !*clr_error_msg()))
		abort();
	for (size_t i = 0; !err && i < r.packages.len; i++) {
		const struct clr_scan_package *p =
			CLR_VEC_AT(&r.packages, struct clr_scan_package, i);

		if (!*p->name || !*p->version || !*p->source.name ||
		    !*p->source.version || !one_line(p->name) ||
		    !one_line(p->version) || !one_line(p->arch) ||
		    strcmp(p->package_db, path))
			abort();
	}
	clr_scan_result_release(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > (1 << 20))
		return 0;
	run("var/lib/dpkg/status", data, size);
	run("var/lib/dpkg/status.d/fuzz", data, size);
	return 0;
}
