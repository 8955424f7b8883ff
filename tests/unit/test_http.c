/*
 * test_http.c - the HTTP core's pure pieces: route patterns, path
 * normalisation, digests, modes, histograms, and the Clair Manifest parser
 * (src/http/server.c, src/image/uri.c).  The server itself is tested end
 * to end by tests/integration/test_serve.py.
 */
#include "unit.h"

#include "http/http.h"
#include "image/uri.h"
#include "util/error.h"

static int match(const char *pattern, const char *path, char **caps, size_t n)
{
	return clr_http_pattern_match(pattern, path, caps, n);
}

static void free_caps(char **caps, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(caps[i]);
		caps[i] = NULL;
	}
}

static void test_patterns(void **state)
{
	char *caps[4] = { NULL, NULL, NULL, NULL };

	(void)state;
	assert_int_equal(match("/indexer/api/v1/index_state", "/indexer/api/v1/index_state",
			       caps, 4), 0);
	assert_int_equal(match("/indexer/api/v1/index_state", "/indexer/api/v1/index_stat",
			       caps, 4), -1);
	assert_int_equal(match("/indexer/api/v1/index_state",
			       "/indexer/api/v1/index_state/x", caps, 4), -1);
	assert_int_equal(match("/a/{}", "/a/sha256:ab", caps, 4), 1);
	assert_string_equal(caps[0], "sha256:ab");
	free_caps(caps, 4);
	/* {} needs a segment; the pattern without it is another route. */
	assert_int_equal(match("/a/{}", "/a", caps, 4), -1);
	assert_null(caps[0]);
	assert_int_equal(match("/a/{}/b/{}", "/a/1/b/2", caps, 4), 2);
	assert_string_equal(caps[0], "1");
	assert_string_equal(caps[1], "2");
	free_caps(caps, 4);
	/* A failed match frees what it captured. */
	assert_int_equal(match("/a/{}/c", "/a/1/b", caps, 4), -1);
	assert_null(caps[0]);
	/* {*}: the rest, slashes kept. */
	assert_int_equal(match("/v1/layers/{*}", "/v1/layers/a/b/c", caps, 4), 1);
	assert_string_equal(caps[0], "a/b/c");
	free_caps(caps, 4);
	assert_int_equal(match("/v1/layers/{*}", "/v1/layers", caps, 4), -1);
	/* Counting only. */
	assert_int_equal(match("/a/{}/{}", "/a/x/y", NULL, 0), 2);
}

static void test_normalize(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "/", "/" },
		{ "//indexer/api/v1/index_state", "/indexer/api/v1/index_state" },
		{ "/a//b///c/", "/a/b/c" },
		{ "/a/", "/a" },
		{ "//", "/" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[64];

		snprintf(buf, sizeof(buf), "%s", cases[i].in);
		clr_http_path_normalize(buf);
		assert_string_equal(buf, cases[i].out);
	}
}

static void test_digests_and_modes(void **state)
{
	char d[200];
	unsigned mode = 0;

	(void)state;
	snprintf(d, sizeof(d), "sha256:%064d", 0);
	assert_true(clr_http_digest_valid(d));
	d[10] = 'A';
	assert_false(clr_http_digest_valid(d));
	snprintf(d, sizeof(d), "sha256:%063d", 0);
	assert_false(clr_http_digest_valid(d));
	snprintf(d, sizeof(d), "sha512:%0128d", 0);
	assert_true(clr_http_digest_valid(d));
	assert_false(clr_http_digest_valid("md5:00"));
	assert_false(clr_http_digest_valid(""));

	assert_int_equal(clr_http_mode_parse(&mode, "combo"), 0);
	assert_int_equal(mode, CLR_MODE_COMBO);
	assert_int_equal(clr_http_mode_parse(&mode, "Matcher"), 0);
	assert_int_equal(mode, CLR_MODE_MATCHER);
	assert_int_equal(clr_http_mode_parse(&mode, "both"), CLR_EINVALID);
	assert_non_null(strstr(clr_error_msg(), "combo"));
	assert_string_equal(clr_http_mode_name(CLR_MODE_INDEXER), "indexer");

	assert_int_equal(clr_http_status_of(CLR_EINVALID), 400);
	assert_int_equal(clr_http_status_of(CLR_ENOTFOUND), 404);
	assert_int_equal(clr_http_status_of(CLR_EBUSY), 429);
	assert_int_equal(clr_http_status_of(CLR_ENET), 503);
	assert_int_equal(clr_http_status_of(CLR_ERROR), 500);
}

static void test_histogram(void **state)
{
	struct clr_http_hist h = { { 0 }, 0, 0 };
	struct clr_buf out = CLR_BUF_INIT(1 << 16);

	(void)state;
	clr_http_hist_observe(&h, 0.0001);
	clr_http_hist_observe(&h, 0.003);
	clr_http_hist_observe(&h, 100);
	clr_http_hist_write(&out, "x_seconds", "a=\"b\"", &h);
	assert_non_null(strstr(clr_buf_str(&out), "x_seconds_bucket{a=\"b\",le=\"0.0005\"} 1\n"));
	assert_non_null(strstr(clr_buf_str(&out), "x_seconds_bucket{a=\"b\",le=\"0.005\"} 2\n"));
	assert_non_null(strstr(clr_buf_str(&out), "x_seconds_bucket{a=\"b\",le=\"30\"} 2\n"));
	assert_non_null(strstr(clr_buf_str(&out), "x_seconds_bucket{a=\"b\",le=\"+Inf\"} 3\n"));
	assert_non_null(strstr(clr_buf_str(&out), "x_seconds_count{a=\"b\"} 3\n"));
	clr_buf_release(&out);
}

#define D64 "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static int parse(struct clr_uri_manifest **m, const char *json)
{
	return clr_uri_manifest_parse(m, json, strlen(json));
}

static void test_manifest(void **state)
{
	struct clr_uri_manifest *m = NULL;
	struct clr_image *img = NULL;

	(void)state;
	assert_int_equal(parse(&m, "{\"hash\":\"" D64 "\",\"layers\":[{\"hash\":\"" D64
			       "\",\"uri\":\"https://r/v2/x/blobs/" D64 "\",\"headers\":"
			       "{\"Authorization\":[\"Basic YTpi\"],\"X-A\":[\"1\",\"2\"]},"
			       "\"media_type\":\"application/vnd.oci.image.layer.v1.tar+zstd\"}]}"),
			 0);
	assert_string_equal(m->hash, D64);
	assert_int_equal(m->n_layers, 1);
	assert_string_equal(m->layers[0].headers[0], "Authorization: Basic YTpi");
	assert_string_equal(m->layers[0].headers[1], "X-A: 1");
	assert_string_equal(m->layers[0].headers[2], "X-A: 2");
	assert_null(m->layers[0].headers[3]);
	clr_uri_manifest_image(&img, m);
	assert_int_equal(img->n_layers, 1);
	assert_int_equal(img->layers[0].compression, CLR_COMPRESSION_ZSTD);
	clr_image_free(img);
	clr_uri_manifest_free(m);

	/* Clair's own words for an empty manifest. */
	assert_int_equal(parse(&m, "{\"hash\":\"\",\"layers\":[]}"), CLR_EINVALID);
	assert_non_null(strstr(clr_error_msg(), "bogus manifest"));
	assert_null(m);
	assert_int_equal(parse(&m, "{\"hash\":\"" D64 "\",\"layers\":[{\"hash\":\"" D64
			       "\",\"uri\":\"ftp://x/\"}]}"), CLR_EINVALID);
	assert_non_null(strstr(clr_error_msg(), "layers[0].uri"));
	/* Header injection through a value. */
	assert_int_equal(parse(&m, "{\"hash\":\"" D64 "\",\"layers\":[{\"hash\":\"" D64
			       "\",\"uri\":\"http://x/\",\"headers\":{\"A\":[\"1\\r\\nB: 2\"]}}]}"),
			 CLR_EINVALID);
	assert_non_null(strstr(clr_error_msg(), "headers"));
	/* Members Clair's Go decoder would skip are skipped (clients send
	 * allow_redirect, for one). */
	assert_int_equal(parse(&m, "{\"hash\":\"" D64 "\",\"allow_redirect\":true,"
			       "\"layers\":[{\"hash\":\"" D64
			       "\",\"uri\":\"http://x/\",\"nope\":1}]}"), 0);
	assert_non_null(m);
	clr_uri_manifest_free(m);
	m = NULL;
	assert_int_equal(parse(&m, "{\"hash\":\"sha256:AB\",\"layers\":[{}]}"), CLR_EINVALID);
	assert_int_equal(parse(&m, "nope"), CLR_EINVALID);
	assert_non_null(strstr(clr_error_msg(), "not JSON"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_patterns),
		cmocka_unit_test(test_normalize),
		cmocka_unit_test(test_digests_and_modes),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_manifest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
