/*
 * fuzz_nvd.c - libFuzzer target for the NVD CVE API 2.0 page parser
 * (src/feeds/nvd.c) and for what the matcher later makes of its records.
 *
 * Beyond not crashing: a failure is CLR_EINVALID naming the page; every
 * record is a CVE id with a score, and its `affected` text reads back
 * (clr_nvd_cvss_from_record) into the same scores, and the objects Clair
 * shows (the v3 cvssData, the v1 Metadata) can be made from it.  The CVE
 * finder runs over the input as text too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "feeds/nvd.h"
#include "util/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void seen(void *arg, const char *id)
{
	(void)arg;
	if (strncmp(id, "CVE-", 4) || strlen(id) < 13)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct clr_vuln_set s;
	char *text;
	int err;

	if (size > (1 << 20))
		return 0;
	clr_vuln_set_init(&s);
	err = clr_nvd_parse_buf((const char *)data, size, "page", "nvd", &s, NULL);
	if (err && (err != CLR_EINVALID || strncmp(clr_error_msg(), "page: ", 6)))
		abort();
	for (size_t i = 0; !err && i < s.vulns.len; i++) {
		const struct clr_vuln *v = CLR_VEC_AT(&s.vulns, struct clr_vuln, i);
		struct clr_nvd_cvss c;
		json_t *hold, *o;

		if (strncmp(v->name, "CVE-", 4) || !clr_nvd_is_record(v) ||
		    clr_nvd_cvss_from_record(&c, &hold, v))
			abort();
		if (!*c.v3_vector && !*c.v2_vector)
			abort();
		if ((*c.v3_vector && (c.v3_score < 0 || c.v3_score > 100)) ||
		    (*c.v2_vector && (c.v2_score < 0 || c.v2_score > 100)))
			abort();
		o = clr_nvd_v3_object(&c);
		if (*c.v3_vector && !o)
			abort();
		json_decref(o);
		o = clr_nvd_v1_metadata(&c);
		if (!o)
			abort();
		json_decref(o);
		json_decref(hold);
	}
	clr_vuln_set_release(&s);
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	clr_nvd_find_cves(text, seen, NULL);
	free(text);
	return 0;
}
