/*
 * fuzz_osv.c - libFuzzer target for the OSV record parser
 * (src/feeds/osv.c), with the AlmaLinux/Rocky extras on (severity and
 * module stream from the summary), and for the CVSS vector arithmetic.
 *
 * Beyond not crashing: a failure leaves no records and says why; every
 * record has an id and a package, and its `affected` is JSON with a
 * "ranges" and a "versions" array; a scored CVSS vector is 0.0 to 10.0.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "feeds/osv.h"
#include "util/alloc.h"
#include "util/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct clr_osv_opts o = {
		.updater = "fuzz", .package_kind = "binary",
		.summary_severity = true, .rpm_modules = true,
	};
	struct clr_vuln_set s;
	char *str;
	int err, score, version;

	if (size > (1 << 20))
		return 0;
	clr_vuln_set_init(&s);
	clr_error_clear();
	err = clr_osv_parse_record((const char *)data, size, "fuzz", &o, &s);
	if (err && (s.vulns.len || !*clr_error_msg()))
		abort();
	for (size_t i = 0; !err && i < s.vulns.len; i++) {
		const struct clr_vuln *v = clr_vec_get(&s.vulns, i);
		json_t *a = json_loads(v->affected, 0, NULL);

		if (!*v->name || !*v->package_name || !*v->repo_name || !a ||
		    !json_is_array(json_object_get(a, "ranges")) ||
		    !json_is_array(json_object_get(a, "versions")) ||
		    v->normalized_severity > CLR_SEV_CRITICAL)
			abort();
		json_decref(a);
	}
	clr_vuln_set_release(&s);

	/* The same bytes as a CVSS vector. */
	str = clr_strndup((const char *)data, size < 256 ? size : 256);
	if (!clr_cvss_score(&score, &version, str) &&
	    (score < 0 || score > 100 || (version != 2 && version != 3)))
		abort();
	free(str);
	return 0;
}
