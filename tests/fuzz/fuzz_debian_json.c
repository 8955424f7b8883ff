/*
 * fuzz_debian_json.c - libFuzzer target for the Debian security tracker
 * JSON parser (src/distro/debian/updater.c): the top-level scanner that
 * splits the document per package, and the per-package reading.
 *
 * Beyond not crashing: a failure leaves no records and says why; a success
 * gives records with a name, a source package, a release, the dpkg scheme,
 * never the "0" (not affected) fixed version, and a severity in range.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "distro/debian/debian.h"
#include "util/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

extern const struct clr_updater_factory clr_factory_debian;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct clr_updater *u;
	struct clr_vuln_set s;
	int err;

	if (size > (1 << 20))
		return 0;
	if (!u) {
		struct clr_vec us = CLR_VEC_INIT(struct clr_updater *);

		if (clr_factory_debian.create(&us, NULL, NULL) || us.len != 1)
			abort();
		u = *(struct clr_updater **)clr_vec_get(&us, 0);
		clr_vec_release(&us);
	}
	clr_vuln_set_init(&s);
	clr_error_clear();
	err = clr_debian_parse_buf(u, (const char *)data, size, "fuzz", &s);
	if (err && (s.vulns.len || !*clr_error_msg()))
		abort();
	for (size_t i = 0; !err && i < s.vulns.len; i++) {
		const struct clr_vuln *v = clr_vec_get(&s.vulns, i);

		if (!*v->name || !*v->package_name ||
		    !*v->dist_version_code_name ||
		    strcmp(v->version_scheme, "dpkg") ||
		    !strcmp(v->fixed_in_version, "0") ||
		    v->normalized_severity > CLR_SEV_CRITICAL)
			abort();
	}
	clr_vuln_set_release(&s);
	return 0;
}
