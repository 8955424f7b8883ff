/*
 * fuzz_klar_whitelist.c - libFuzzer target for Klar's whitelist file
 * (src/klar/whitelist.c): any bytes parse or fail with CLR_EINVALID or
 * CLR_ELIMIT, and a parsed whitelist answers lookups.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "klar/klar.h"
#include "util/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct clr_klar_whitelist w;
	int err;

	if (size > (256 << 10))
		return 0;
	err = clr_klar_whitelist_parse(&w, (const char *)data, size);
	if (err && err != CLR_EINVALID && err != CLR_ELIMIT)
		abort();
	if (!err) {
		(void)clr_klar_whitelisted(&w, "test/app", "CVE-2018-0001");
		clr_klar_whitelist_release(&w);
	}
	return 0;
}
