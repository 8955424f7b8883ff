/*
 * fuzz_manifest.c - libFuzzer target for clr_manifest_parse() and
 * clr_manifest_select_platform().
 *
 * Each input is parsed as the source sent it without a type (sniffed), and
 * under every manifest media type a registry could claim for it, since the
 * claim steers the parser.  Invariants: a failure comes with a message and
 * no result; a success is self-consistent (an image has no entries, an
 * index no layers, every digest parses, sizes are >= -1) and selecting a
 * platform from an index either finds an entry of that index or says why.
 * A violation aborts, which libFuzzer reports as a crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image/manifest.h"
#include "util/error.h"
#include "util/sha256.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const types[] = {
	NULL, CLR_MT_DOCKER_V2, CLR_MT_OCI_MANIFEST, CLR_MT_DOCKER_LIST,
	CLR_MT_OCI_INDEX, CLR_MT_DOCKER_V1_JWS, "application/json",
};

static const char *const platforms[] = {
	"linux/amd64", "linux/arm64", "linux/arm/v7", "unknown/unknown",
};

static void check_descriptor(const struct clr_descriptor *d)
{
	if (!d->digest || clr_digest_parse(NULL, d->digest) || !d->media_type ||
	    d->size < -1)
		abort();
	for (size_t i = 0; i < d->n_urls; i++)
		if (!d->urls[i])
			abort();
}

static void check(const struct clr_manifest *m)
{
	if (m->kind == CLR_MANIFEST_IMAGE) {
		if (m->n_entries || m->n_layers > CLR_MANIFEST_MAX_LAYERS)
			abort();
		if (m->schema_version == 2)
			check_descriptor(&m->config);
		for (size_t i = 0; i < m->n_layers; i++)
			check_descriptor(&m->layers[i]);
		return;
	}
	if (m->n_layers || m->n_entries > CLR_MANIFEST_MAX_ENTRIES)
		abort();
	for (size_t i = 0; i < m->n_entries; i++)
		check_descriptor(&m->entries[i].desc);
	for (size_t p = 0; p < sizeof(platforms) / sizeof(*platforms); p++) {
		const struct clr_descriptor *d = NULL;
		int found = 0;

		clr_error_clear();
		if (clr_manifest_select_platform(m, platforms[p], &d)) {
			if (d || !clr_error_msg()[0])
				abort();
			continue;
		}
		for (size_t i = 0; i < m->n_entries; i++)
			found |= d == &m->entries[i].desc;
		if (!found || !strcmp(platforms[p], "unknown/unknown"))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 20)
		return 0;
	for (size_t t = 0; t < sizeof(types) / sizeof(*types); t++) {
		struct clr_manifest *m = NULL;

		clr_error_clear();
		if (clr_manifest_parse(&m, (const char *)data, size,
				       types[t])) {
			if (m || !clr_error_msg()[0])
				abort();
			continue;
		}
		check(m);
		clr_manifest_free(m);
	}
	return 0;
}
