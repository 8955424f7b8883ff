/*
 * test_manifest.c - manifest parsing (every format, sniffing, the errors a
 * user sees) and platform selection.
 */
#include "unit.h"

#include "image/image.h"
#include "image/manifest.h"
#include "util/error.h"

#define HEX_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HEX_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define HEX_C "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define HEX_D "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
#define HEX_E "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
#define DA "sha256:" HEX_A
#define DB "sha256:" HEX_B
#define DC "sha256:" HEX_C
#define DD "sha256:" HEX_D
#define DE "sha256:" HEX_E

static const char docker_v2[] =
	"{\"schemaVersion\":2,"
	"\"mediaType\":\"" CLR_MT_DOCKER_V2 "\","
	"\"config\":{\"mediaType\":\"" CLR_MT_DOCKER_CONFIG "\","
	"\"size\":1469,\"digest\":\"" DA "\"},"
	"\"layers\":["
	"{\"mediaType\":\"" CLR_MT_DOCKER_LAYER_GZIP "\",\"size\":3370706,"
	"\"digest\":\"" DB "\"},"
	"{\"mediaType\":\"" CLR_MT_DOCKER_LAYER_GZIP "\",\"size\":0,"
	"\"digest\":\"" DC "\"}]}";

static const char oci_manifest[] =
	"{\"schemaVersion\":2,"
	"\"mediaType\":\"" CLR_MT_OCI_MANIFEST "\","
	"\"config\":{\"mediaType\":\"" CLR_MT_OCI_CONFIG "\","
	"\"size\":7023,\"digest\":\"" DA "\"},"
	"\"layers\":["
	"{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+zstd\","
	"\"size\":32654,\"digest\":\"" DB "\"},"
	"{\"mediaType\":\"application/vnd.oci.image.layer.nondistributable"
	".v1.tar+gzip\",\"size\":16724,\"digest\":\"" DC "\","
	"\"urls\":[\"https://example.com/layer\"]}],"
	"\"annotations\":{\"com.example.key\":\"value\"}}";

static const char docker_list[] =
	"{\"schemaVersion\":2,"
	"\"mediaType\":\"" CLR_MT_DOCKER_LIST "\","
	"\"manifests\":["
	"{\"mediaType\":\"" CLR_MT_DOCKER_V2 "\",\"size\":7143,"
	"\"digest\":\"" DA "\","
	"\"platform\":{\"architecture\":\"ppc64le\",\"os\":\"linux\"}},"
	"{\"mediaType\":\"" CLR_MT_DOCKER_V2 "\",\"size\":7682,"
	"\"digest\":\"" DB "\","
	"\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\","
	"\"features\":[\"sse4\"]}},"
	"{\"mediaType\":\"" CLR_MT_DOCKER_V2 "\",\"size\":7682,"
	"\"digest\":\"" DC "\","
	"\"platform\":{\"architecture\":\"arm\",\"os\":\"linux\","
	"\"variant\":\"v6\"}},"
	"{\"mediaType\":\"" CLR_MT_DOCKER_V2 "\",\"size\":7682,"
	"\"digest\":\"" DD "\","
	"\"platform\":{\"architecture\":\"arm\",\"os\":\"linux\","
	"\"variant\":\"v7\"}}]}";

/* As BuildKit pushes it: the image, and its attestation manifest under
 * unknown/unknown. */
static const char oci_index[] =
	"{\"schemaVersion\":2,"
	"\"mediaType\":\"" CLR_MT_OCI_INDEX "\","
	"\"manifests\":["
	"{\"mediaType\":\"" CLR_MT_OCI_MANIFEST "\",\"size\":100,"
	"\"digest\":\"" DA "\","
	"\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\","
	"\"variant\":\"v8\"}},"
	"{\"mediaType\":\"" CLR_MT_OCI_MANIFEST "\",\"size\":101,"
	"\"digest\":\"" DB "\","
	"\"platform\":{\"architecture\":\"s390x\",\"os\":\"linux\"}},"
	"{\"mediaType\":\"" CLR_MT_OCI_MANIFEST "\",\"size\":566,"
	"\"digest\":\"" DC "\","
	"\"annotations\":{\"vnd.docker.reference.digest\":\"" DA "\","
	"\"vnd.docker.reference.type\":\"attestation-manifest\"},"
	"\"platform\":{\"architecture\":\"unknown\",\"os\":\"unknown\"}}]}";

/* Schema 1, written to the distribution spec: fsLayers and history top-most
 * first; the CMD and ENV steps made empty ("throwaway") layers. */
static const char schema1[] =
	"{\"schemaVersion\":1,\"name\":\"library/app\",\"tag\":\"1.0\","
	"\"architecture\":\"amd64\","
	"\"fsLayers\":["
	"{\"blobSum\":\"" DE "\"},"   /* CMD (throwaway) */
	"{\"blobSum\":\"" DC "\"},"   /* RUN apt-get install */
	"{\"blobSum\":\"" DE "\"},"   /* ENV (throwaway) */
	"{\"blobSum\":\"" DB "\"},"   /* ADD rootfs */
	"{\"blobSum\":\"" DA "\"}],"  /* the base */
	"\"history\":["
	"{\"v1Compatibility\":\"{\\\"id\\\":\\\"5\\\",\\\"parent\\\":\\\"4\\\","
	"\\\"throwaway\\\":true}\"},"
	"{\"v1Compatibility\":\"{\\\"id\\\":\\\"4\\\",\\\"parent\\\":\\\"3\\\"}\"},"
	"{\"v1Compatibility\":\"{\\\"id\\\":\\\"3\\\",\\\"parent\\\":\\\"2\\\","
	"\\\"throwaway\\\":true}\"},"
	"{\"v1Compatibility\":\"{\\\"id\\\":\\\"2\\\",\\\"parent\\\":\\\"1\\\","
	"\\\"throwaway\\\":false}\"},"
	"{\"v1Compatibility\":\"{\\\"id\\\":\\\"1\\\"}\"}],"
	"\"signatures\":[{\"header\":{\"alg\":\"ES256\"},"
	"\"signature\":\"XREm\",\"protected\":\"eyJm\"}]}";

static struct clr_manifest *parse_ok(const char *json, const char *mt)
{
	struct clr_manifest *m = NULL;
	int err = clr_manifest_parse(&m, json, strlen(json), mt);

	if (err)
		fail_msg("parse failed: %s", clr_error_msg());
	return m;
}

/* Parses json expecting failure code, and a message starting with want. */
static void parse_fails(const char *json, const char *mt, int code,
			const char *want)
{
	struct clr_manifest *m = (void *)1;
	int err = clr_manifest_parse(&m, json, strlen(json), mt);

	if (err != code)
		fail_msg("want %d, got %d (%s) for %s", code, err,
			 clr_error_msg(), json);
	assert_null(m);
	if (strncmp(clr_error_msg(), want, strlen(want)))
		fail_msg("message '%s' does not start with '%s'",
			 clr_error_msg(), want);
}

static void test_docker_schema2(void **state)
{
	struct clr_manifest *m = parse_ok(docker_v2, CLR_MT_DOCKER_V2);

	(void)state;
	assert_int_equal(m->kind, CLR_MANIFEST_IMAGE);
	assert_string_equal(m->media_type, CLR_MT_DOCKER_V2);
	assert_int_equal(m->schema_version, 2);
	assert_string_equal(m->config.digest, DA);
	assert_string_equal(m->config.media_type, CLR_MT_DOCKER_CONFIG);
	assert_int_equal(m->config.size, 1469);
	assert_int_equal(m->n_layers, 2);
	assert_string_equal(m->layers[0].digest, DB);
	assert_int_equal(m->layers[0].size, 3370706);
	assert_string_equal(m->layers[1].digest, DC);
	assert_int_equal(m->layers[1].size, 0);
	assert_int_equal(m->n_entries, 0);
	clr_manifest_free(m);
}

static void test_oci_manifest(void **state)
{
	struct clr_manifest *m = parse_ok(oci_manifest, CLR_MT_OCI_MANIFEST);

	(void)state;
	assert_int_equal(m->kind, CLR_MANIFEST_IMAGE);
	assert_int_equal(m->n_layers, 2);
	assert_string_equal(m->layers[0].media_type,
			    "application/vnd.oci.image.layer.v1.tar+zstd");
	assert_int_equal(m->layers[0].n_urls, 0);
	assert_int_equal(m->layers[1].n_urls, 1);
	assert_string_equal(m->layers[1].urls[0], "https://example.com/layer");
	clr_manifest_free(m);
}

static void test_docker_list_and_oci_index(void **state)
{
	struct clr_manifest *m = parse_ok(docker_list, CLR_MT_DOCKER_LIST);

	(void)state;
	assert_int_equal(m->kind, CLR_MANIFEST_INDEX);
	assert_int_equal(m->n_entries, 4);
	assert_string_equal(m->entries[0].os, "linux");
	assert_string_equal(m->entries[0].architecture, "ppc64le");
	assert_null(m->entries[0].variant);
	assert_string_equal(m->entries[2].variant, "v6");
	assert_string_equal(m->entries[1].desc.digest, DB);
	assert_int_equal(m->entries[1].desc.size, 7682);
	clr_manifest_free(m);

	m = parse_ok(oci_index, CLR_MT_OCI_INDEX);
	assert_int_equal(m->kind, CLR_MANIFEST_INDEX);
	assert_int_equal(m->n_entries, 3);
	assert_string_equal(m->entries[2].os, "unknown");
	assert_null(m->entries[0].desc.ref_name);
	clr_manifest_free(m);
}

static void test_schema1_reversed_without_throwaway(void **state)
{
	struct clr_manifest *m = parse_ok(schema1, CLR_MT_DOCKER_V1_JWS);

	(void)state;
	assert_int_equal(m->kind, CLR_MANIFEST_IMAGE);
	assert_int_equal(m->schema_version, 1);
	assert_string_equal(m->media_type, CLR_MT_DOCKER_V1_JWS);
	assert_null(m->config.digest);
	assert_int_equal(m->n_layers, 3);
	assert_string_equal(m->layers[0].digest, DA);
	assert_string_equal(m->layers[1].digest, DB);
	assert_string_equal(m->layers[2].digest, DC);
	assert_int_equal(m->layers[0].size, -1);
	assert_string_equal(m->layers[0].media_type, CLR_MT_DOCKER_LAYER_GZIP);
	clr_manifest_free(m);
}

static void test_schema1_without_history(void **state)
{
	static const char j[] =
		"{\"schemaVersion\":1,\"fsLayers\":[{\"blobSum\":\"" DB "\"},"
		"{\"blobSum\":\"" DA "\"}]}";
	struct clr_manifest *m = parse_ok(j, CLR_MT_DOCKER_V1);

	(void)state;
	assert_int_equal(m->n_layers, 2);
	assert_string_equal(m->layers[0].digest, DA);
	assert_string_equal(m->layers[1].digest, DB);
	clr_manifest_free(m);

	/* The example in the distribution spec has 4 fsLayers and 2 history
	 * entries; Docker refuses that, and so do we. */
	parse_fails("{\"schemaVersion\":1,\"fsLayers\":[{\"blobSum\":\"" DA
		    "\"},{\"blobSum\":\"" DA "\"}],\"history\":[{"
		    "\"v1Compatibility\":\"{}\"}]}", NULL, CLR_EINVALID,
		    "history has 1 entries but fsLayers has 2");
	parse_fails("{\"schemaVersion\":1,\"fsLayers\":[{\"blobSum\":\"" DA
		    "\"}],\"history\":[{\"v1Compatibility\":\"{\\\"throwaway"
		    "\\\":\\\"yes\\\"}\"}]}", NULL, CLR_EINVALID,
		    "history[0].v1Compatibility: throwaway must be a boolean");
	parse_fails("{\"schemaVersion\":1,\"fsLayers\":[{\"blobSum\":\"" DA
		    "\"}],\"history\":[{\"v1Compatibility\":\"{\"}]}", NULL,
		    CLR_EINVALID, "history[0].v1Compatibility: invalid JSON");
	parse_fails("{\"schemaVersion\":1,\"fsLayers\":[]}", NULL,
		    CLR_EINVALID, "fsLayers: empty");
}

/* A source that does not say what it sends: the document tells. */
static void test_sniffing(void **state)
{
	static const struct {
		const char *json;
		const char *given;
		const char *want;
	} cases[] = {
		{ docker_v2, NULL, CLR_MT_DOCKER_V2 },
		{ docker_v2, "", CLR_MT_DOCKER_V2 },
		{ docker_v2, "application/json", CLR_MT_DOCKER_V2 },
		{ docker_list, "text/plain; charset=utf-8", CLR_MT_DOCKER_LIST },
		{ oci_index, NULL, CLR_MT_OCI_INDEX },
		{ schema1, NULL, CLR_MT_DOCKER_V1 },
		{ schema1, "application/json", CLR_MT_DOCKER_V1 },
		/* No mediaType field at all: OCI allows leaving it out. */
		{ "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\","
		  "\"size\":1,\"digest\":\"" DA "\"},\"layers\":[]}", NULL,
		  CLR_MT_OCI_MANIFEST },
		{ "{\"schemaVersion\":2,\"manifests\":[]}", NULL,
		  CLR_MT_OCI_INDEX },
		{ docker_v2, CLR_MT_DOCKER_V2 "; charset=utf-8",
		  CLR_MT_DOCKER_V2 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct clr_manifest *m = parse_ok(cases[i].json,
						  cases[i].given);

		assert_string_equal(m->media_type, cases[i].want);
		clr_manifest_free(m);
	}
	parse_fails("{\"schemaVersion\":2}", NULL, CLR_EINVALID,
		    "cannot tell what kind of manifest this is");
}

static void test_media_type_conflicts(void **state)
{
	(void)state;
	/* An image manifest served as an index, and the reverse. */
	parse_fails(docker_v2, CLR_MT_OCI_INDEX, CLR_EINVALID,
		    "mediaType: the document says '" CLR_MT_DOCKER_V2
		    "' but it was served as '" CLR_MT_OCI_INDEX "'");
	parse_fails(oci_index, CLR_MT_DOCKER_V2, CLR_EINVALID, "mediaType:");
	/* Said to be an index, without a mediaType to contradict it. */
	parse_fails("{\"schemaVersion\":2,\"layers\":[]}", CLR_MT_OCI_INDEX,
		    CLR_EINVALID, "manifests: missing");
	parse_fails(docker_v2, "application/vnd.oci.artifact.manifest.v1+json",
		    CLR_EUNSUPPORTED, "unsupported manifest media type");
	parse_fails("{\"schemaVersion\":2,\"mediaType\":\"application/vnd."
		    "example+json\"}", NULL, CLR_EUNSUPPORTED,
		    "unsupported manifest media type 'application/vnd."
		    "example+json'");
}

#define IMG(cfg, layers)                                               \
	"{\"schemaVersion\":2,\"mediaType\":\"" CLR_MT_OCI_MANIFEST "\"," \
	"\"config\":" cfg ",\"layers\":[" layers "]}"
#define CFG "{\"mediaType\":\"c\",\"size\":1,\"digest\":\"" DA "\"}"
#define LAYER "{\"mediaType\":\"l\",\"size\":2,\"digest\":\"" DB "\"}"

static void test_errors_name_the_field(void **state)
{
	static const struct {
		const char *json;
		int code;
		const char *want;
	} cases[] = {
		{ IMG(CFG, LAYER ",{\"mediaType\":\"l\",\"size\":-5,"
		  "\"digest\":\"" DB "\"}"), CLR_EINVALID,
		  "layers[1].size: negative (-5)" },
		{ IMG("{\"mediaType\":\"c\",\"size\":\"1\",\"digest\":\"" DA
		      "\"}", ""), CLR_EINVALID,
		  "config.size: must be an integer, not a string" },
		{ IMG(CFG, "{\"mediaType\":\"l\",\"size\":1.5,\"digest\":\""
		  DA "\"}"), CLR_EINVALID,
		  "layers[0].size: must be an integer, not a number" },
		{ IMG(CFG, "{\"mediaType\":\"l\",\"size\":2}"), CLR_EINVALID,
		  "layers[0].digest: missing" },
		{ IMG(CFG, "{\"mediaType\":\"l\",\"digest\":\"" DA "\"}"),
		  CLR_EINVALID, "layers[0].size: missing" },
		{ IMG(CFG, "{\"size\":1,\"digest\":\"" DA "\"}"),
		  CLR_EINVALID, "layers[0].mediaType: missing" },
		{ IMG(CFG, "{\"mediaType\":7,\"size\":1,\"digest\":\"" DA
		  "\"}"), CLR_EINVALID,
		  "layers[0].mediaType: must be a string, not an integer" },
		{ IMG(CFG, "{\"mediaType\":\"l\",\"size\":1,\"digest\":"
		  "\"sha256:" "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		  "AAAAAAAAAAAAAAAA\"}"), CLR_EINVALID,
		  "layers[0].digest: invalid digest: uppercase" },
		{ IMG(CFG, "{\"mediaType\":\"l\",\"size\":1,\"digest\":"
		  "\"sha256:../../../etc/passwd\"}"), CLR_EINVALID,
		  "layers[0].digest: invalid digest" },
		{ IMG(CFG, "{\"mediaType\":\"l\",\"size\":1,\"digest\":"
		  "\"sha512:abcd\"}"), CLR_EINVALID,
		  "layers[0].digest: invalid digest: unsupported algorithm" },
		{ IMG(CFG, "{\"mediaType\":\"l\",\"size\":1,\"digest\":\"" DA
		  "\",\"urls\":\"http://x\"}"), CLR_EINVALID,
		  "layers[0].urls: must be an array, not a string" },
		{ IMG(CFG, "{\"mediaType\":\"l\",\"size\":1,\"digest\":\"" DA
		  "\",\"urls\":[1]}"), CLR_EINVALID,
		  "layers[0].urls[0]: must be a string, not an integer" },
		{ IMG(CFG, "{\"mediaType\":\"l\",\"size\":1,\"digest\":\"" DA
		  "\",\"annotations\":{\"a\":1}}"), CLR_EINVALID,
		  "layers[0].annotations: the value of 'a' must be a string" },
		{ IMG(CFG, "7"), CLR_EINVALID,
		  "layers[0]: must be an object, not an integer" },
		{ "{\"schemaVersion\":2,\"mediaType\":\"" CLR_MT_OCI_MANIFEST
		  "\",\"layers\":[]}", CLR_EINVALID, "config: missing" },
		{ "{\"schemaVersion\":2,\"mediaType\":\"" CLR_MT_OCI_MANIFEST
		  "\",\"config\":" CFG ",\"layers\":{}}", CLR_EINVALID,
		  "layers: must be an array, not an object" },
		{ "{\"schemaVersion\":3,\"mediaType\":\"" CLR_MT_OCI_MANIFEST
		  "\"}", CLR_EINVALID, "schemaVersion: 3, want 2" },
		{ "{\"schemaVersion\":\"2\",\"mediaType\":\""
		  CLR_MT_OCI_MANIFEST "\"}", CLR_EINVALID,
		  "schemaVersion: must be an integer, not a string" },
		{ "{\"mediaType\":\"" CLR_MT_OCI_MANIFEST "\"}", CLR_EINVALID,
		  "schemaVersion: missing" },
		{ "{\"schemaVersion\":2,\"mediaType\":\"" CLR_MT_DOCKER_LIST
		  "\",\"manifests\":[{\"mediaType\":\"m\",\"size\":1,"
		  "\"digest\":\"" DA "\"}]}", CLR_EINVALID,
		  "manifests[0].platform: missing" },
		{ "{\"schemaVersion\":2,\"mediaType\":\"" CLR_MT_OCI_INDEX
		  "\",\"manifests\":[{\"mediaType\":\"m\",\"size\":1,"
		  "\"digest\":\"" DA "\",\"platform\":{\"os\":\"linux\"}}]}",
		  CLR_EINVALID, "manifests[0].platform.architecture: missing" },
		{ "{\"schemaVersion\":2,\"mediaType\":\"" CLR_MT_OCI_INDEX
		  "\",\"manifests\":[{\"mediaType\":\"m\",\"size\":1,"
		  "\"digest\":\"" DA "\",\"platform\":{\"os\":\"linux\","
		  "\"architecture\":\"amd64\",\"variant\":null}}]}",
		  CLR_EINVALID, "manifests[0].platform.variant: must be a "
		  "string, not null" },
		{ "{\"schemaVersion\":2,\"mediaType\":\"" CLR_MT_OCI_INDEX
		  "\",\"manifests\":{}}", CLR_EINVALID,
		  "manifests: must be an array, not an object" },
		{ "{\"schemaVersion\":1,\"fsLayers\":[{\"blobSum\":\"md5:x\"}]}",
		  CLR_EINVALID, "fsLayers[0].blobSum: invalid digest" },
		{ "{\"schemaVersion\":1,\"fsLayers\":[{}]}", CLR_EINVALID,
		  "fsLayers[0].blobSum: missing" },
		{ "[]", CLR_EINVALID, "manifest: must be a JSON object, not "
		  "an array" },
		{ "{\"schemaVersion\":2,", CLR_EINVALID,
		  "manifest is not valid JSON" },
		{ "{\"schemaVersion\":2,\"schemaVersion\":1}", CLR_EINVALID,
		  "manifest is not valid JSON" },
		{ "{\"mediaType\":5}", CLR_EINVALID,
		  "mediaType: must be a string, not an integer" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++)
		parse_fails(cases[i].json, NULL, cases[i].code, cases[i].want);
}

static void test_limits(void **state)
{
	struct clr_manifest *m;
	size_t n = CLR_MANIFEST_MAX_SIZE + 1, cap;
	char *big = malloc(n + 1), *p;

	(void)state;
	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	big[n] = '\0';
	assert_int_equal(clr_manifest_parse(&m, big, n, NULL), CLR_ELIMIT);
	assert_non_null(strstr(clr_error_msg(), "larger than the limit"));
	free(big);

	/* One layer more than allowed. */
	cap = 200 + (CLR_MANIFEST_MAX_LAYERS + 1) * (sizeof(LAYER) + 1);
	big = malloc(cap);
	p = big + sprintf(big, "{\"schemaVersion\":2,\"config\":" CFG
			  ",\"layers\":[");
	for (int i = 0; i <= CLR_MANIFEST_MAX_LAYERS; i++)
		p += sprintf(p, "%s" LAYER, i ? "," : "");
	strcpy(p, "]}");
	assert_int_equal(clr_manifest_parse(&m, big, strlen(big), NULL),
			 CLR_ELIMIT);
	assert_string_equal(clr_error_msg(),
			    "layers: 1025 entries, more than the limit of 1024");
	free(big);
}

static const char *select_digest(const struct clr_manifest *m,
				 const char *platform)
{
	const struct clr_descriptor *d;

	if (clr_manifest_select_platform(m, platform, &d))
		return NULL;
	return d->digest;
}

static void test_select_platform(void **state)
{
	struct clr_manifest *list = parse_ok(docker_list, NULL);
	struct clr_manifest *idx = parse_ok(oci_index, NULL);

	(void)state;
	assert_string_equal(select_digest(list, "linux/amd64"), DB);
	assert_string_equal(select_digest(list, NULL), DB);
	assert_string_equal(select_digest(list, "linux/x86_64"), DB);
	assert_string_equal(select_digest(list, "linux/ppc64le"), DA);
	/* arm without a variant means v7, even when v6 comes first. */
	assert_string_equal(select_digest(list, "linux/arm"), DD);
	assert_string_equal(select_digest(list, "linux/arm/v6"), DC);
	assert_string_equal(select_digest(list, "linux/arm/v7"), DD);
	assert_null(select_digest(list, "linux/arm/v5"));
	assert_null(select_digest(list, "windows/amd64"));

	assert_string_equal(select_digest(idx, "linux/arm64"), DA);
	assert_string_equal(select_digest(idx, "linux/aarch64"), DA);
	assert_string_equal(select_digest(idx, "linux/arm64/v8"), DA);
	assert_string_equal(select_digest(idx, "linux/s390x"), DB);
	/* The attestation is never an image to scan. */
	assert_null(select_digest(idx, "unknown/unknown"));
	clr_manifest_free(list);
	clr_manifest_free(idx);
}

static void test_select_platform_arm64_default_variant(void **state)
{
	static const char j[] =
		"{\"schemaVersion\":2,\"manifests\":["
		"{\"mediaType\":\"m\",\"size\":1,\"digest\":\"" DA "\","
		"\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"}},"
		"{\"mediaType\":\"m\",\"size\":1,\"digest\":\"" DB "\","
		"\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\","
		"\"variant\":\"v3\"}},"
		"{\"mediaType\":\"m\",\"size\":1,\"digest\":\"" DC "\","
		"\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}},"
		"{\"mediaType\":\"m\",\"size\":1,\"digest\":\"" DD "\"}]}";
	struct clr_manifest *m = parse_ok(j, NULL);

	(void)state;
	assert_string_equal(select_digest(m, "linux/arm64/v8"), DA);
	assert_string_equal(select_digest(m, "linux/arm64"), DA);
	/* Plain amd64 is preferred over a micro-architecture variant. */
	assert_string_equal(select_digest(m, "linux/amd64"), DC);
	assert_string_equal(select_digest(m, "linux/amd64/v3"), DB);
	assert_null(m->entries[3].os);
	clr_manifest_free(m);
}

static void test_select_platform_error_lists_platforms(void **state)
{
	struct clr_manifest *idx = parse_ok(oci_index, NULL);
	const struct clr_descriptor *d = (void *)1;

	(void)state;
	assert_int_equal(clr_manifest_select_platform(idx, "linux/amd64", &d),
			 CLR_ENOTFOUND);
	assert_null(d);
	assert_string_equal(clr_error_msg(),
			    "no manifest for platform linux/amd64 in the "
			    "index; available: linux/arm64/v8, linux/s390x");

	assert_int_equal(clr_manifest_select_platform(idx, "linux", &d),
			 CLR_EINVALID);
	assert_string_equal(clr_error_msg(), "invalid platform 'linux': want "
			    "os/arch or os/arch/variant");
	assert_int_equal(clr_manifest_select_platform(idx, "linux/arm64/v8/x",
						      &d), CLR_EINVALID);
	assert_int_equal(clr_manifest_select_platform(idx, "/amd64", &d),
			 CLR_EINVALID);
	assert_int_equal(clr_manifest_select_platform(idx, "linux/arm64/", &d),
			 CLR_EINVALID);
	clr_manifest_free(idx);

	idx = parse_ok("{\"schemaVersion\":2,\"manifests\":[]}", NULL);
	assert_int_equal(clr_manifest_select_platform(idx, NULL, &d),
			 CLR_ENOTFOUND);
	assert_string_equal(clr_error_msg(),
			    "no manifest for platform linux/amd64 in the "
			    "index; available: none");
	clr_manifest_free(idx);

	idx = parse_ok(docker_v2, NULL);
	assert_int_equal(clr_manifest_select_platform(idx, NULL, &d),
			 CLR_EINVALID);
	clr_manifest_free(idx);
}

static void test_type_helpers(void **state)
{
	(void)state;
	assert_true(clr_manifest_type_is_index(CLR_MT_OCI_INDEX));
	assert_true(clr_manifest_type_is_index(CLR_MT_DOCKER_LIST));
	assert_false(clr_manifest_type_is_index(CLR_MT_DOCKER_V2));
	assert_false(clr_manifest_type_is_index(NULL));
	assert_int_equal(clr_compression_from_media_type(
				 CLR_MT_DOCKER_LAYER_GZIP),
			 CLR_COMPRESSION_GZIP);
	assert_int_equal(clr_compression_from_media_type(
				 "application/vnd.oci.image.layer.v1.tar+gzip"),
			 CLR_COMPRESSION_GZIP);
	assert_int_equal(clr_compression_from_media_type(
				 "application/vnd.oci.image.layer.v1.tar+zstd"),
			 CLR_COMPRESSION_ZSTD);
	assert_int_equal(clr_compression_from_media_type(CLR_MT_DOCKER_LAYER),
			 CLR_COMPRESSION_NONE);
	assert_int_equal(clr_compression_from_media_type(
				 "application/vnd.oci.image.layer.v1.tar"),
			 CLR_COMPRESSION_NONE);
	assert_int_equal(clr_compression_from_media_type(
				 "application/vnd.oci.image.layer.v1.tar+gzip"
				 "+encrypted"),
			 CLR_COMPRESSION_UNKNOWN);
	assert_int_equal(clr_compression_from_media_type(""),
			 CLR_COMPRESSION_UNKNOWN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_docker_schema2),
		cmocka_unit_test(test_oci_manifest),
		cmocka_unit_test(test_docker_list_and_oci_index),
		cmocka_unit_test(test_schema1_reversed_without_throwaway),
		cmocka_unit_test(test_schema1_without_history),
		cmocka_unit_test(test_sniffing),
		cmocka_unit_test(test_media_type_conflicts),
		cmocka_unit_test(test_errors_name_the_field),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_select_platform),
		cmocka_unit_test(test_select_platform_arm64_default_variant),
		cmocka_unit_test(test_select_platform_error_lists_platforms),
		cmocka_unit_test(test_type_helpers),
	};

	return cmocka_run_group_tests_name("manifest", tests, NULL, NULL);
}
