/*
 * fuzz_bundle.c - libFuzzer target for the offline bundle reader (the JSON
 * lines that `clarion db import` reads after undoing zstd).
 *
 * Beyond not crashing: every operation handed over has as many records as
 * its header says, each named and of that operation's updater; a failure
 * is CLR_EINVALID or CLR_ELIMIT with a message naming the line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "updater/bundle.h"
#include "util/error.h"
#include "util/stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int check(const struct clr_bundle_op *op, const struct clr_vuln_set *vulns,
		 void *arg)
{
	(void)arg;
	if (!op->updater || !*op->updater || !op->fingerprint ||
	    vulns->vulns.len != op->count)
		abort();
	for (size_t i = 0; i < vulns->vulns.len; i++) {
		const struct clr_vuln *v = CLR_VEC_AT(&vulns->vulns, struct clr_vuln, i);

		if (!v->name || !*v->name || strcmp(v->updater, op->updater) ||
		    !v->affected || !v->fixed_in_version || !v->description)
			abort();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct clr_stream *in;
	int err;

	if (size > (1 << 20) || clr_stream_from_mem(&in, data, size))
		return 0;
	err = clr_bundle_read(in, check, NULL);
	clr_stream_close(in);
	if (err && ((err != CLR_EINVALID && err != CLR_ELIMIT) ||
		    strncmp(clr_error_msg(), "line ", 5)))
		abort();
	return 0;
}
