/*
 * registry-fetch.c - drives the docker:// transport from the command line,
 * for the integration tests (tests/integration/test_registry.py), until
 * clarion has a user command that fetches images.
 *
 *   registry-fetch [-k] [-P] [-u USER:PASS] [-t SECS] [-o FILE]
 *                  [-m DIGEST]... [-b DIGEST=FILE]... [-c DIGEST=FILE]...
 *                  [-x DIGEST=N]... REF
 *
 *   -k  insecure (no TLS verification)    -P  plain http
 *   -u  credentials                       -t  timeout in seconds
 *   -o  write the top manifest's bytes to FILE
 *   -m  also fetch the manifest DIGEST
 *   -b  stream the blob DIGEST to FILE, verifying its digest as a layer
 *       reader does
 *   -c  fetch the blob DIGEST whole (clr_registry_get_blob_bytes, 1 MiB cap)
 *   -x  open the blob DIGEST, read N bytes and close it early
 *
 * Prints one line per manifest, "manifest MEDIA_TYPE DIGEST SIZE" ("-"
 * for an unknown media type; DIGEST is the sha256 of the bytes), and one
 * per blob, "blob DIGEST SIZE".  On failure prints
 * "registry-fetch: ERROR-NAME: message" on stderr and exits 1.
 *
 * Built by the test fixture against build/libclarion.a.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/registry.h"
#include "util/error.h"
#include "util/sha256.h"

#define MAX_ITEMS 32

static int fail(int err)
{
	fprintf(stderr, "registry-fetch: %s: %s\n", clr_error_name(err),
		clr_error_msg());
	return 1;
}

static void print_manifest(const char *bytes, size_t len, const char *mt)
{
	uint8_t d[CLR_SHA256_LEN];
	char s[CLR_DIGEST_STRLEN + 1];

	clr_sha256(d, bytes, len);
	clr_digest_format(s, d);
	printf("manifest %s %s %zu\n", *mt ? mt : "-", s, len);
}

/* Splits "DIGEST=REST" in place; REST is returned. */
static char *split(char *arg)
{
	char *eq = strchr(arg, '=');

	if (!eq) {
		fprintf(stderr, "registry-fetch: want DIGEST=VALUE, got %s\n", arg);
		exit(2);
	}
	*eq = '\0';
	return eq + 1;
}

static int stream_blob(struct clr_image_source *src, const char *digest,
		       const char *path, long stop_after)
{
	struct clr_stream *s;
	struct clr_sha256 h;
	uint8_t d[CLR_SHA256_LEN];
	char got[CLR_DIGEST_STRLEN + 1], buf[65536];
	FILE *f = NULL;
	size_t total = 0;
	ssize_t n;
	int err;

	if ((err = src->ops->open_blob(&s, src, digest)))
		return err;
	if (path && !(f = fopen(path, "wb"))) {
		clr_stream_close(s);
		return clr_error_set(CLR_EIO, "cannot write %s", path);
	}
	clr_sha256_init(&h);
	while ((n = clr_stream_read(s, buf, sizeof(buf))) > 0) {
		clr_sha256_update(&h, buf, (size_t)n);
		if (f)
			fwrite(buf, 1, (size_t)n, f);
		total += (size_t)n;
		if (stop_after >= 0 && total >= (size_t)stop_after)
			break;
	}
	if (f)
		fclose(f);
	clr_stream_close(s);
	if (stop_after >= 0) {
		clr_sha256_release(&h);
		printf("closed %s after %zu\n", digest, total);
		return 0;
	}
	if (n < 0) {
		clr_sha256_release(&h);
		return (int)n;
	}
	clr_sha256_final(&h, d);
	clr_digest_format(got, d);
	if (strcmp(got, digest))
		return clr_error_set(CLR_EINVALID, "blob %s: the bytes received "
				     "have digest %s", digest, got);
	printf("blob %s %zu\n", digest, total);
	return 0;
}

int main(int argc, char **argv)
{
	struct clr_source_opts opts = { 0 };
	struct clr_image_source *src = NULL;
	char *manifests[MAX_ITEMS], *blobs[MAX_ITEMS], *whole[MAX_ITEMS];
	char *early[MAX_ITEMS], *out = NULL, *bytes, *mt, *user = NULL;
	int nm = 0, nb = 0, nw = 0, ne = 0, opt, err, rc = 0;
	size_t len;

	/* What a program embedding the library must do: a peer closing a
	 * connection must not kill the process. */
	signal(SIGPIPE, SIG_IGN);
	while ((opt = getopt(argc, argv, "kPu:t:o:m:b:c:x:")) != -1) {
		switch (opt) {
		case 'k':
			opts.insecure = 1;
			break;
		case 'P':
			opts.plain_http = 1;
			break;
		case 'u':
			user = optarg;
			break;
		case 't':
			opts.timeout_secs = atol(optarg);
			break;
		case 'o':
			out = optarg;
			break;
		case 'm':
			if (nm < MAX_ITEMS)
				manifests[nm++] = optarg;
			break;
		case 'b':
			if (nb < MAX_ITEMS)
				blobs[nb++] = optarg;
			break;
		case 'c':
			if (nw < MAX_ITEMS)
				whole[nw++] = optarg;
			break;
		case 'x':
			if (ne < MAX_ITEMS)
				early[ne++] = optarg;
			break;
		default:
			fprintf(stderr, "usage: registry-fetch [-k] [-P] [-u USER:PASS] "
				"[-t SECS] [-o FILE] [-m DIGEST] [-b DIGEST=FILE] "
				"[-c DIGEST=FILE] [-x DIGEST=N] REF\n");
			return 2;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "registry-fetch: one REF expected\n");
		return 2;
	}
	if (user) {
		char *colon = strchr(user, ':');

		if (colon)
			*colon = '\0';
		opts.username = user;
		opts.password = colon ? colon + 1 : "";
	}
	if ((err = clr_registry_source_open(&src, argv[optind], &opts)))
		return fail(err);
	printf("source %s\n", src->name);

	if ((err = src->ops->get_manifest(src, NULL, &bytes, &len, &mt))) {
		rc = fail(err);
		goto done;
	}
	print_manifest(bytes, len, mt);
	if (out) {
		FILE *f = fopen(out, "wb");

		if (f) {
			fwrite(bytes, 1, len, f);
			fclose(f);
		}
	}
	free(bytes);
	free(mt);
	for (int i = 0; i < nm; i++) {
		if ((err = src->ops->get_manifest(src, manifests[i], &bytes, &len,
						  &mt))) {
			rc = fail(err);
			goto done;
		}
		print_manifest(bytes, len, mt);
		free(bytes);
		free(mt);
	}
	for (int i = 0; i < nb; i++) {
		char *path = split(blobs[i]);

		if ((err = stream_blob(src, blobs[i], path, -1))) {
			rc = fail(err);
			goto done;
		}
	}
	for (int i = 0; i < nw; i++) {
		char *path = split(whole[i]);
		FILE *f;

		if ((err = clr_registry_get_blob_bytes(src, whole[i], 1 << 20,
						       &bytes, &len))) {
			rc = fail(err);
			goto done;
		}
		if ((f = fopen(path, "wb"))) {
			fwrite(bytes, 1, len, f);
			fclose(f);
		}
		printf("whole %s %zu\n", whole[i], len);
		free(bytes);
	}
	for (int i = 0; i < ne; i++) {
		char *n = split(early[i]);

		if ((err = stream_blob(src, early[i], NULL, atol(n)))) {
			rc = fail(err);
			goto done;
		}
	}
done:
	fflush(stdout);
	if (src)
		src->ops->free(src);
	return rc;
}
