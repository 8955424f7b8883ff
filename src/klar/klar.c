/*
 * klar.c - one Klar run (main.go of klar v2.4.0): banner, whitelist,
 * registry, Clair v1 then v3, whitelist filter, output, threshold.
 *
 * Klar's fail() prints "MESSAGE\n" to stderr and exits 2; here the
 * message is printed the same way and a CLR_E* code returned, and the
 * command (src/cli/cmd_klar.c) turns it into the exit status.
 */
#include "klar/klar.h"

#include <string.h>

#include "util/buf.h"
#include "util/error.h"

static int fail(FILE *errf, int err, const char *fmt, const char *msg)
{
	fprintf(errf, fmt, msg);
	fputc('\n', errf);
	return err ? err : CLR_ERROR;
}

int clr_klar_run(const struct clr_klar_config *c, FILE *out, FILE *errf,
		 int *over)
{
	struct clr_klar_whitelist wl;
	struct clr_klar_image img;
	struct clr_klar_vulns vs = CLR_KLAR_VULNS_INIT;
	struct clr_klar_render_opts ro = {
		.format = c->format, .min_severity = c->clair_output,
		.ignore_unfixed = c->ignore_unfixed, .layer_count = 0,
		.whitelisted = 0,
	};
	struct clr_buf text = CLR_BUF_INIT((size_t)1 << 30);
	int json = c->format == CLR_KLAR_FORMAT_JSON, err = 0;
	size_t counted = 0;

	*over = 0;
	memset(&wl, 0, sizeof(wl));
	if (!json) {
		char ct[64], dt[64];

		clr_klar_duration(ct, sizeof(ct), c->clair_timeout_min);
		clr_klar_duration(dt, sizeof(dt), c->docker_timeout_min);
		/* Sic: no colon after "clair timeout". */
		fprintf(errf, "clair timeout %s\n", ct);
		fprintf(errf, "docker timeout: %s\n", dt);
	}
	if (c->whitelist_file) {
		if (!json)
			fprintf(errf, "whitelist file: %s\n", c->whitelist_file);
		if ((err = clr_klar_whitelist_load(&wl, c->whitelist_file)))
			return fail(errf, err, "Could not parse whitelist file: %s",
				    clr_error_msg());
	} else if (!json) {
		fputs("no whitelist file\n", errf);
	}
	clr_klar_image_init(&img, c);
	if ((err = clr_klar_image_pull(&img, c, errf))) {
		fail(errf, err, "Can't pull image: %s", clr_error_msg());
		goto done;
	}
	if (!img.nlayers) {
		err = fail(errf, CLR_EINVALID, "%s", "Can't pull fsLayers");
		goto done;
	}
	ro.layer_count = img.nlayers;
	if (!json)
		fprintf(out, "Analysing %zu layers\n", img.nlayers);
	fflush(out);

	clr_klar_filter_empty(&img);
	if (!img.nlayers) {
		/* Typo as in the original; Clair is not called and the run
		 * counts as a success from API v1. */
		fprintf(errf, "no need to analyse image %s/%s:%s as there is no "
			"non-emtpy layer\n", img.registry, img.name, img.tag);
	} else {
		err = clr_klar_analyze_v1(&vs, c, &img, errf);
		if (err && !strncmp(clr_error_msg(), "panic: ", 7)) {
			fprintf(errf, "%s\n", clr_error_msg());
			goto done;
		}
		if (err) {
			fprintf(errf, "Failed to analyze using API v1: %s\n",
				clr_error_msg());
			clr_klar_vulns_release(&vs);
			err = clr_klar_analyze_v3(c, &img);
			fprintf(errf, "Failed to analyze using API v3: %s\n",
				clr_error_msg());
			err = fail(errf, err, "%s", "Failed to analyze, exiting");
			goto done;
		}
	}
	if (!json)
		fprintf(out, "Got results from Clair API v1\n");

	if (c->whitelist_file)
		ro.whitelisted = clr_klar_whitelist_apply(&wl, img.name, &vs);
	if ((err = clr_klar_render(&text, &vs, &ro, &counted))) {
		fail(errf, err, "%s", clr_error_msg());
		goto done;
	}
	fwrite(clr_buf_str(&text), 1, text.len, out);
	fflush(out);
	/* "if vsNumber > conf.Threshold { os.Exit(1) }" */
	*over = (long)counted > c->threshold;
done:
	clr_buf_release(&text);
	clr_klar_vulns_release(&vs);
	clr_klar_image_release(&img);
	if (c->whitelist_file)
		clr_klar_whitelist_release(&wl);
	return err;
}
