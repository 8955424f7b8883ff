/*
 * fuzz_alpine_secdb.c - libFuzzer target for the Alpine secdb JSON parser
 * (src/distro/alpine/updater.c) and the branch discovery that reads
 * secdb's directory listing.
 *
 * Beyond not crashing: a failure leaves no records and says why; a success
 * gives records with a one-word id, a package, a fixed version that is not
 * "0" (not affected); discovered branches are "vX.Y" from v3.3 on.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "distro/alpine/alpine.h"
#include "util/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

extern const struct clr_updater_factory clr_factory_alpine;

static const char *setting(void *arg, const char *key)
{
	(void)arg;
	if (!strcmp(key, "branches"))
		return "v3.19";
	if (!strcmp(key, "repos"))
		return "main";
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct clr_updater *u;
	struct clr_vec branches = CLR_VEC_INIT(char *);
	struct clr_vuln_set s;
	int err;

	if (size > (1 << 20))
		return 0;
	if (!u) {
		struct clr_vec us = CLR_VEC_INIT(struct clr_updater *);

		if (clr_factory_alpine.create(&us, setting, NULL) ||
		    us.len != 1)
			abort();
		u = *(struct clr_updater **)clr_vec_get(&us, 0);
		clr_vec_release(&us);
	}
	clr_vuln_set_init(&s);
	clr_error_clear();
	err = clr_alpine_parse_buf(u, (const char *)data, size, "fuzz", &s);
	if (err && (s.vulns.len || !*clr_error_msg()))
		abort();
	for (size_t i = 0; !err && i < s.vulns.len; i++) {
		const struct clr_vuln *v = clr_vec_get(&s.vulns, i);

		if (!*v->name || strpbrk(v->name, " \t\r\n") ||
		    v->name[0] == '(' || !*v->package_name ||
		    !*v->fixed_in_version ||
		    !strcmp(v->fixed_in_version, "0"))
			abort();
	}
	clr_vuln_set_release(&s);

	clr_alpine_branches_from_index(&branches, (const char *)data, size);
	for (size_t i = 0; i < branches.len; i++) {
		char *b = *(char **)clr_vec_get(&branches, i);

		if (b[0] != 'v' || !strchr(b, '.'))
			abort();
		free(b);
	}
	clr_vec_release(&branches);
	return 0;
}
