/*
 * fuzz_oval.c - libFuzzer target for the OVAL engine (src/feeds/oval.c):
 * the streaming read, reference resolution, the criteria tree's normal
 * form and the JSON of every record's conditions.
 *
 * The first byte picks the version scheme and whether CPE lists are kept;
 * the rest is the document.  Beyond not crashing: success or CLR_EINVALID
 * only, a failed parse leaves the set as it was, and every record has all
 * its strings, a package name, and conditions that are valid JSON of the
 * documented shape.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "feeds/oval.h"
#include "util/error.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define STR_OK(s) ((s) != NULL)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct clr_oval_options o = { .updater = "fuzz" };
	struct clr_vuln_set s;
	struct clr_oval_stats st;
	int err;

	if (size < 1 || size > (1 << 20))
		return 0;
	clr_log_set_level(CLR_LOG_ERROR);
	o.scheme = (data[0] & 1) ? CLR_VS_DPKG : CLR_VS_RPM;
	o.keep_cpes = (data[0] & 2) != 0;
	clr_vuln_set_init(&s);
	err = clr_oval_parse_mem(data + 1, size - 1, &o, &s, &st);
	if (err && err != CLR_EINVALID)
		abort();
	if (err && (s.vulns.len || st.records))
		abort();
	if (!err && s.vulns.len != st.records)
		abort();
	for (size_t i = 0; i < s.vulns.len; i++) {
		const struct clr_vuln *v = clr_vec_get(&s.vulns, i);
		json_t *root, *oval;

		if (!STR_OK(v->name) || !STR_OK(v->updater) ||
		    !STR_OK(v->description) || !STR_OK(v->issued) ||
		    !STR_OK(v->links) || !STR_OK(v->severity) ||
		    !STR_OK(v->package_kind) || !STR_OK(v->package_module) ||
		    !STR_OK(v->arch) || !STR_OK(v->arch_op) ||
		    !STR_OK(v->dist_did) || !STR_OK(v->version_scheme) ||
		    !STR_OK(v->fixed_in_version) || !STR_OK(v->affected) ||
		    !v->package_name || !*v->package_name)
			abort();
		if (*v->issued && strlen(v->issued) != 20)
			abort();
		root = json_loads(v->affected, 0, NULL);
		oval = json_object_get(root, "oval");
		if (!json_is_string(json_object_get(oval, "definition")) ||
		    !json_is_array(json_object_get(oval, "conditions")))
			abort();
		json_decref(root);
	}
	clr_vuln_set_release(&s);
	return 0;
}
