/*
 * fuzz_klar_layer.c - libFuzzer target for what `clarion klar` reads from
 * a Clair server: the body of GET /v1/layers/NAME?vulnerabilities
 * (src/klar/clair.c), then rendered in the three formats.  Any bytes
 * decode or fail with CLR_EINVALID (Go's errors) or CLR_ERROR (Klar's
 * panic on a missing Layer); every decoded vulnerability renders.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "klar/klar.h"
#include "klar/output.h"
#include "util/buf.h"
#include "util/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct clr_klar_vulns vs = CLR_KLAR_VULNS_INIT;
	int err;

	if (size > (1 << 20))
		return 0;
	err = clr_klar_decode_layer(&vs, (const char *)data, size);
	if (err && err != CLR_EINVALID && err != CLR_ERROR)
		abort();
	for (int f = CLR_KLAR_FORMAT_STANDARD; f <= CLR_KLAR_FORMAT_TABLE; f++) {
		struct clr_klar_render_opts o = {
			.format = (enum clr_klar_format)f, .min_severity = 0,
			.ignore_unfixed = f == CLR_KLAR_FORMAT_TABLE,
			.layer_count = 1, .whitelisted = 0,
		};
		struct clr_buf out = CLR_BUF_INIT(64 << 20);
		size_t counted;

		if (clr_klar_render(&out, &vs, &o, &counted) == 0 && counted > vs.n)
			abort();
		clr_buf_release(&out);
	}
	clr_klar_vulns_release(&vs);
	return 0;
}
