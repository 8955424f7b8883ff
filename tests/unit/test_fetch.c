/*
 * test_fetch.c - clr_fetch() against a real HTTP server on 127.0.0.1.
 *
 * The server is tests/integration/harness/feeds.py run as a process (the
 * one the feed tests use from Python): it serves a temporary directory with
 * ETag and Last-Modified, answers conditional requests with 304, and is
 * told over POST /-/control to fail, hang, truncate or redirect a path; GET
 * /-/requests says what it was asked.  Compressed fixtures are written here
 * with libarchive's writer, so no compressor program is needed.
 *
 * TMPDIR points at a directory of the test's own, which must be empty after
 * every test: no temporary file of clr_fetch() survives its release or an
 * error.
 */
#include "unit.h"

#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "updater/fetch.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/log.h"
#include "util/sha256.h"

static char root[256];    /* what the server serves */
static char tmpdir[256];  /* $TMPDIR during the tests */
static int port;
static pid_t server = -1;
static int server_stdin = -1;

/* --- the server ---------------------------------------------------------- */

static int start_server(void **state)
{
	char base[] = "/tmp/clarion-test-fetch-XXXXXX", script[4096], line[32];
	int in[2], out[2];
	FILE *f;

	(void)state;
	if (!mkdtemp(base))
		return -1;
	snprintf(root, sizeof(root), "%s/feeds", base);
	snprintf(tmpdir, sizeof(tmpdir), "%s/tmp", base);
	if (mkdir(root, 0700) || mkdir(tmpdir, 0700))
		return -1;
	snprintf(script, sizeof(script), "%s/tests/integration/harness/feeds.py",
		 unit_srcdir());
	if (pipe(in) || pipe(out))
		return -1;
	server = fork();
	if (server < 0)
		return -1;
	if (server == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		/* The system's python3, as the integration tests use. */
		if (!access("/usr/bin/python3", X_OK))
			execl("/usr/bin/python3", "python3", script, "--root", root,
			      (char *)NULL);
		execlp("python3", "python3", script, "--root", root, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	server_stdin = in[1];
	f = fdopen(out[0], "r");
	if (!f || !fgets(line, sizeof(line), f)) {
		fprintf(stderr, "feeds.py did not start (%s)\n", script);
		return -1;
	}
	fclose(f);
	port = atoi(line);
	/* Loopback only, whatever proxy the machine has. */
	unsetenv("http_proxy");
	unsetenv("HTTP_PROXY");
	unsetenv("https_proxy");
	unsetenv("HTTPS_PROXY");
	unsetenv("ALL_PROXY");
	unsetenv("all_proxy");
	setenv("NO_PROXY", "*", 1);
	setenv("no_proxy", "*", 1);
	setenv("TMPDIR", tmpdir, 1);
	clr_log_set_level(CLR_LOG_ERROR);
	return port > 0 ? 0 : -1;
}

static int remove_tree(const char *path)
{
	return clr_fetch_remove(path);
}

static int stop_server(void **state)
{
	char base[256];

	(void)state;
	if (server > 0) {
		close(server_stdin);
		kill(server, SIGTERM);
		waitpid(server, NULL, 0);
	}
	snprintf(base, sizeof(base), "%s", root);
	*strrchr(base, '/') = 0;
	remove_tree(base);
	return 0;
}

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
	struct clr_buf *b = arg;

	clr_buf_add(b, p, size * n);
	return size * n;
}

/* POSTs a control message (JSON text) to the server. */
static void control(const char *json)
{
	char url[128];
	CURL *c = curl_easy_init();
	struct clr_buf b = CLR_BUF_INIT(1 << 16);
	long code = 0;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/-/control", port);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	assert_int_equal(code, 200);
	curl_easy_cleanup(c);
	clr_buf_release(&b);
}

/* The server's request log. */
static json_t *requests(void)
{
	char url[128];
	CURL *c = curl_easy_init();
	struct clr_buf b = CLR_BUF_INIT(1 << 24);
	json_t *j;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/-/requests", port);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_cleanup(c);
	j = json_loads(clr_buf_str(&b), 0, NULL);
	assert_non_null(j);
	clr_buf_release(&b);
	return j;
}

/* Requests for /path, and the value of header in the last one (or NULL). */
static size_t count_requests(const char *path, const char *header, char **last)
{
	json_t *log = requests(), *r;
	size_t i, n = 0;

	if (last)
		*last = NULL;
	json_array_foreach(log, i, r) {
		const char *p = json_string_value(json_object_get(r, "path"));

		if (strcmp(p + 1, path))
			continue;
		n++;
		if (last) {
			const char *k;
			json_t *v;

			free(*last);
			*last = NULL;
			json_object_foreach(json_object_get(r, "headers"), k, v)
				if (header && !strcasecmp(k, header))
					*last = clr_strdup(json_string_value(v));
		}
	}
	json_decref(log);
	return n;
}

static int reset(void **state)
{
	(void)state;
	control("{\"action\":\"reset\"}");
	return 0;
}

/* After every test: nothing of clr_fetch's left in TMPDIR. */
static int check_tmp(void **state)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	int left = 0;

	(void)state;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.') {
			fprintf(stderr, "left in TMPDIR: %s\n", e->d_name);
			left++;
		}
	closedir(d);
	return left ? -1 : 0;
}

/* --- fixtures ------------------------------------------------------------ */

static void url_of(char *out, size_t n, const char *path)
{
	snprintf(out, n, "http://127.0.0.1:%d/%s", port, path);
}

static void put(const char *path, const void *data, size_t len)
{
	char full[512];
	FILE *f;

	snprintf(full, sizeof(full), "%s/%s", root, path);
	f = fopen(full, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

static void put_str(const char *path, const char *s)
{
	put(path, s, strlen(s));
}

/* data compressed with filter ("gzip", "bzip2", "xz", "zstd") at path. */
static void put_compressed(const char *path, const char *filter, const void *data,
			   size_t len)
{
	char full[512];
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();

	snprintf(full, sizeof(full), "%s/%s", root, path);
	assert_int_equal(archive_write_add_filter_by_name(a, filter), ARCHIVE_OK);
	assert_int_equal(archive_write_set_format_raw(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_filename(a, full), ARCHIVE_OK);
	archive_entry_set_pathname(e, "data");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_size(e, (la_int64_t)len);
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	assert_int_equal(archive_write_data(a, data, len), (la_ssize_t)len);
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_entry_free(e);
	archive_write_free(a);
}

/* A zip of n (name, content) pairs at path. */
static void put_zip(const char *path, const char *const *names,
		    const char *const *contents, size_t n)
{
	char full[512];
	struct archive *a = archive_write_new();

	snprintf(full, sizeof(full), "%s/%s", root, path);
	assert_int_equal(archive_write_set_format_zip(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_filename(a, full), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		size_t len = strlen(contents[i]);

		archive_entry_set_pathname(e, names[i]);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_size(e, (la_int64_t)len);
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		assert_int_equal(archive_write_data(a, contents[i], len), (la_ssize_t)len);
		archive_entry_free(e);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct clr_buf b = CLR_BUF_INIT(1 << 26);
	char chunk[4096];
	size_t n;

	assert_non_null(f);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		assert_int_equal(clr_buf_add(&b, chunk, n), 0);
	fclose(f);
	return clr_buf_detach(&b, len);
}

static void assert_file(const char *path, const char *want)
{
	size_t len;
	char *got = slurp(path, &len);

	assert_int_equal(len, strlen(want));
	assert_memory_equal(got, want, len);
	free(got);
}

/* Quick options: retries 10 ms apart. */
static struct clr_fetch_opts quick(void)
{
	struct clr_fetch_opts o;

	clr_fetch_opts_init(&o);
	o.retry_delay_ms = 10;
	return o;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --- tests --------------------------------------------------------------- */

static void test_get_200(void **state)
{
	static const char body[] = "{\"hello\": \"feeds\"}\n";
	struct clr_fetch_opts o = quick();
	struct clr_fetch_result r;
	uint8_t d[CLR_SHA256_LEN];
	char url[128], hex[CLR_SHA256_HEXLEN + 1], *v;

	(void)state;
	put_str("plain.json", body);
	url_of(url, sizeof(url), "plain.json");
	assert_int_equal(clr_fetch(&r, url, &o), 0);
	assert_int_equal(r.status, 200);
	assert_false(r.is_dir);
	assert_string_equal(r.compression, "");
	assert_int_equal(r.size, strlen(body));
	assert_file(r.path, body);
	clr_sha256(d, body, strlen(body));
	clr_sha256_hex(hex, d);
	assert_string_equal(r.sha256, hex);
	assert_non_null(r.etag);
	assert_non_null(r.last_modified);
	/* The fingerprint carries the validators and the hash. */
	assert_int_equal(clr_fetch_fingerprint_get(r.fingerprint, "sha256", &v), 0);
	assert_string_equal(v, hex);
	free(v);
	assert_int_equal(clr_fetch_fingerprint_get(r.fingerprint, "etag", &v), 0);
	assert_string_equal(v, r.etag);
	free(v);
	assert_int_equal(clr_fetch_fingerprint_get(r.fingerprint, "nope", &v),
			 CLR_ENOTFOUND);
	clr_fetch_result_release(&r);
	assert_null(r.path);
	clr_fetch_result_release(&r);  /* twice is harmless */
}

static void test_not_modified_etag(void **state)
{
	struct clr_fetch_opts o = quick();
	struct clr_fetch_result r, r2;
	char url[128], *fp, *inm;

	(void)state;
	put_str("etag.json", "version 1\n");
	url_of(url, sizeof(url), "etag.json");
	assert_int_equal(clr_fetch(&r, url, &o), 0);
	fp = clr_strdup(r.fingerprint);
	clr_fetch_result_release(&r);

	o.prev = fp;
	assert_int_equal(clr_fetch(&r2, url, &o), CLR_EUNCHANGED);
	assert_null(r2.path);
	assert_null(r2.fingerprint);
	assert_int_equal(count_requests("etag.json", "If-None-Match", &inm), 2);
	assert_non_null(inm);  /* asked conditionally, answered 304 */
	free(inm);

	/* New content: a new ETag, the data comes. */
	put_str("etag.json", "version 2\n");
	assert_int_equal(clr_fetch(&r2, url, &o), 0);
	assert_file(r2.path, "version 2\n");
	assert_string_not_equal(r2.fingerprint, fp);
	clr_fetch_result_release(&r2);

	/* prev NULL: always fetched. */
	o.prev = NULL;
	assert_int_equal(clr_fetch(&r2, url, &o), 0);
	clr_fetch_result_release(&r2);
	free(fp);
}

static void test_not_modified_last_modified(void **state)
{
	struct clr_fetch_opts o = quick();
	struct clr_fetch_result r;
	char url[128], *fp, *ims;

	(void)state;
	control("{\"action\":\"validators\",\"etag\":false,\"last_modified\":true}");
	put_str("lm.json", "lm\n");
	url_of(url, sizeof(url), "lm.json");
	assert_int_equal(clr_fetch(&r, url, &o), 0);
	assert_null(r.etag);
	assert_non_null(r.last_modified);
	fp = clr_strdup(r.fingerprint);
	clr_fetch_result_release(&r);
	o.prev = fp;
	assert_int_equal(clr_fetch(&r, url, &o), CLR_EUNCHANGED);
	assert_int_equal(count_requests("lm.json", "If-Modified-Since", &ims), 2);
	assert_non_null(ims);
	free(ims);
	free(fp);
}

static void test_unchanged_by_hash(void **state)
{
	struct clr_fetch_opts o = quick();
	struct clr_fetch_result r;
	char url[128], *fp, *inm;

	(void)state;
	/* A server with no validators at all sends the whole body again. */
	control("{\"action\":\"validators\",\"etag\":false,\"last_modified\":false}");
	put_str("dumb.json", "same bytes\n");
	url_of(url, sizeof(url), "dumb.json");
	assert_int_equal(clr_fetch(&r, url, &o), 0);
	assert_null(r.etag);
	assert_null(r.last_modified);
	fp = clr_strdup(r.fingerprint);
	clr_fetch_result_release(&r);
	o.prev = fp;
	assert_int_equal(clr_fetch(&r, url, &o), CLR_EUNCHANGED);
	assert_int_equal(count_requests("dumb.json", "If-None-Match", &inm), 2);
	assert_null(inm);
	put_str("dumb.json", "other bytes\n");
	assert_int_equal(clr_fetch(&r, url, &o), 0);
	assert_file(r.path, "other bytes\n");
	clr_fetch_result_release(&r);
	free(fp);
}

static void test_validators_of_another_url(void **state)
{
	struct clr_fetch_opts o = quick();
	struct clr_fetch_result r;
	char url[128], url2[128], *fp, *inm;

	(void)state;
	put_str("one.json", "one\n");
	put_str("two.json", "two\n");
	url_of(url, sizeof(url), "one.json");
	url_of(url2, sizeof(url2), "two.json");
	assert_int_equal(clr_fetch(&r, url, &o), 0);
	fp = clr_strdup(r.fingerprint);
	clr_fetch_result_release(&r);
	/* The mirror moved: no conditions sent to the new one. */
	o.prev = fp;
	assert_int_equal(clr_fetch(&r, url2, &o), 0);
	assert_file(r.path, "two\n");
	clr_fetch_result_release(&r);
	assert_int_equal(count_requests("two.json", "If-None-Match", &inm), 1);
	assert_null(inm);
	free(fp);
}

static void test_not_found(void **state)
{
	struct clr_fetch_opts o = quick();
	struct clr_fetch_result r;
	char url[128];

	(void)state;
	url_of(url, sizeof(url), "missing.json");
	assert_int_equal(clr_fetch(&r, url, &o), CLR_ENOTFOUND);
	assert_non_null(strstr(clr_error_msg(), url));
	assert_non_null(strstr(clr_error_msg(), "404"));
	/* Not retried: a 404 will not go away by asking again. */
	assert_int_equal(count_requests("missing.json", NULL, NULL), 1);
}

static void test_server_error_retried(void **state)
{
	struct clr_fetch_opts o = quick();
	struct clr_fetch_result r;
	char url[128];

	(void)state;
	put_str("flaky.json", "finally\n");
	url_of(url, sizeof(url), "flaky.json");
	control("{\"action\":\"fail\",\"path\":\"flaky.json\",\"status\":503,\"times\":2}");
	assert_int_equal(clr_fetch(&r, url, &o), 0);
	assert_file(r.path, "finally\n");
	clr_fetch_result_release(&r);
	assert_int_equal(count_requests("flaky.json", NULL, NULL), 3);

	/* 429 is retried as well. */
	control("{\"action\":\"fail\",\"path\":\"flaky.json\",\"status\":429,\"times\":1}");
	assert_int_equal(clr_fetch(&r, url, &o), 0);
	clr_fetch_result_release(&r);
}

static void test_server_error_gives_up(void **state)
{
	struct clr_fetch_opts o = quick();
	struct clr_fetch_result r;
	char url[128];

	(void)state;
	put_str("broken.json", "never\n");
	url_of(url, sizeof(url), "broken.json");
	control("{\"action\":\"fail\",\"path\":\"broken.json\",\"status\":500}");
	o.retries = 2;
	assert_int_equal(clr_fetch(&r, url, &o), CLR_ENET);
	assert_non_null(strstr(clr_error_msg(), url));
	assert_non_null(strstr(clr_error_msg(), "HTTP 500"));
	assert_non_null(strstr(clr_error_msg(), "3 attempts"));
	assert_int_equal(count_requests("broken.json", NULL, NULL), 3);

	/* A 403 is not retried. */
	control("{\"action\":\"fail\",\"path\":\"broken.json\",\"status\":403}");
	assert_int_equal(clr_fetch(&r, url, &o), CLR_ENET);
	assert_non_null(strstr(clr_error_msg(), "HTTP 403"));
	assert_int_equal(count_requests("broken.json", NULL, NULL), 4);
}

static void test_timeout(void **state)
{
	struct clr_fetch_opts o = quick();
	struct clr_fetch_result r;
	char url[128];
	double t0;

	(void)state;
	put_str("slow.json", "too late\n");
	url_of(url, sizeof(url), "slow.json");
	control("{\"action\":\"hang\",\"path\":\"slow.json\"}");
	o.timeout = 1;
	o.retries = 1;
	t0 = now();
	assert_int_equal(clr_fetch(&r, url, &o), CLR_ENET);
	assert_true(now() - t0 < 10);
	assert_non_null(strstr(clr_error_msg(), url));
	assert_non_null(strstr(clr_error_msg(), "2 attempts"));

	/* The stall guard alone gives up as well. */
	o.timeout = 0;
	o.retries = 0;
	o.low_speed_time = 1;
	t0 = now();
	assert_int_equal(clr_fetch(&r, url, &o), CLR_ENET);
	assert_true(now() - t0 < 10);
}

static void test_connection_refused(void **state)
{
	struct clr_fetch_opts o = quick();
	struct clr_fetch_result r;

	(void)state;
	o.retries = 1;
	/* Port 1 on loopback: nobody listens there. */
	assert_int_equal(clr_fetch(&r, "http://127.0.0.1:1/x.json", &o), CLR_ENET);
	assert_non_null(strstr(clr_error_msg(), "http://127.0.0.1:1/x.json"));
}

static void test_truncated_retried(void **state)
{
	struct clr_fetch_opts o = quick();
	struct clr_fetch_result r;
	char url[128], big[10000];

	(void)state;
	memset(big, 'x', sizeof(big));
	put("cut.json", big, sizeof(big));
	url_of(url, sizeof(url), "cut.json");
	control("{\"action\":\"truncate\",\"path\":\"cut.json\",\"bytes\":100,\"times\":1}");
	assert_int_equal(clr_fetch(&r, url, &o), 0);
	assert_int_equal(r.size, sizeof(big));
	clr_fetch_result_release(&r);
	assert_int_equal(count_requests("cut.json", NULL, NULL), 2);

	control("{\"action\":\"truncate\",\"path\":\"cut.json\",\"bytes\":100}");
	o.retries = 1;
	assert_int_equal(clr_fetch(&r, url, &o), CLR_ENET);
}

static void test_redirect(void **state)
{
	struct clr_fetch_opts o = quick();
	struct clr_fetch_result r;
	char url[128];

	(void)state;
	put_str("new.json", "moved here\n");
	url_of(url, sizeof(url), "old.json");
	control("{\"action\":\"redirect\",\"path\":\"old.json\",\"to\":\"new.json\"}");
	assert_int_equal(clr_fetch(&r, url, &o), 0);
	assert_file(r.path, "moved here\n");
	/* The validators are the final answer's. */
	assert_non_null(r.etag);
	clr_fetch_result_release(&r);
}

/* A body long enough that compression is real, but readable. */
static char *sample(size_t *len)
{
	struct clr_buf b = CLR_BUF_INIT(1 << 20);

	for (int i = 0; i < 2000; i++)
		clr_buf_printf(&b, "{\"id\": \"CVE-2024-%04d\", \"fixed\": \"1.%d-%d\"}\n",
			       i, i % 7, i % 13);
	return clr_buf_detach(&b, len);
}

static void check_compressed(const char *filter, const char *name)
{
	struct clr_fetch_opts o = quick();
	struct clr_fetch_result r;
	char url[128], file[64];
	size_t len, got_len;
	char *body = sample(&len), *got;

	snprintf(file, sizeof(file), "data.%s", filter);
	put_compressed(file, filter, body, len);
	url_of(url, sizeof(url), file);
	assert_int_equal(clr_fetch(&r, url, &o), 0);
	assert_string_equal(r.compression, name);
	assert_false(r.is_dir);
	assert_true(r.size < len);
	assert_int_equal(r.data_size, len);
	got = slurp(r.path, &got_len);
	assert_int_equal(got_len, len);
	assert_memory_equal(got, body, len);
	free(got);
	clr_fetch_result_release(&r);

	/* raw: left as it came. */
	o.raw = true;
	assert_int_equal(clr_fetch(&r, url, &o), 0);
	assert_string_equal(r.compression, "");
	assert_int_equal(r.data_size, r.size);
	clr_fetch_result_release(&r);
	free(body);
}

static void test_gzip(void **state)
{
	(void)state;
	check_compressed("gzip", "gzip");
}

static void test_bzip2(void **state)
{
	(void)state;
	check_compressed("bzip2", "bzip2");
}

static void test_xz(void **state)
{
	(void)state;
	check_compressed("xz", "xz");
}

static void test_zstd(void **state)
{
	(void)state;
	check_compressed("zstd", "zstd");
}

static void test_zip(void **state)
{
	static const char *const names[] = {
		"CVE-2024-0001.json", "sub/dir/GHSA-xxxx.json", "./dot.json",
	};
	static const char *const contents[] = { "{\"a\":1}", "{\"b\":2}", "{}" };
	struct clr_fetch_opts o = quick();
	struct clr_fetch_result r;
	char url[128], path[512];

	(void)state;
	put_zip("all.zip", names, contents, 3);
	url_of(url, sizeof(url), "all.zip");
	assert_int_equal(clr_fetch(&r, url, &o), 0);
	assert_true(r.is_dir);
	assert_string_equal(r.compression, "zip");
	assert_int_equal(r.data_size, strlen("{\"a\":1}{\"b\":2}{}"));
	snprintf(path, sizeof(path), "%s/CVE-2024-0001.json", r.path);
	assert_file(path, "{\"a\":1}");
	snprintf(path, sizeof(path), "%s/sub/dir/GHSA-xxxx.json", r.path);
	assert_file(path, "{\"b\":2}");
	snprintf(path, sizeof(path), "%s/dot.json", r.path);
	assert_file(path, "{}");
	clr_fetch_result_release(&r);  /* the directory goes too (check_tmp) */

	/* The entry cap. */
	o.max_entries = 2;
	assert_int_equal(clr_fetch(&r, url, &o), CLR_ELIMIT);
}

static void test_zip_hostile_names(void **state)
{
	static const char *const names[] = { "ok.json", "../../escape.json" };
	static const char *const contents[] = { "{}", "{}" };
	struct clr_fetch_opts o = quick();
	struct clr_fetch_result r;
	char url[128], escaped[512];

	(void)state;
	put_zip("evil.zip", names, contents, 2);
	url_of(url, sizeof(url), "evil.zip");
	assert_int_equal(clr_fetch(&r, url, &o), CLR_EINVALID);
	assert_non_null(strstr(clr_error_msg(), "escape.json"));
	snprintf(escaped, sizeof(escaped), "%s/../escape.json", tmpdir);
	assert_int_equal(access(escaped, F_OK), -1);
}

static void test_corrupt_gzip(void **state)
{
	struct clr_fetch_opts o = quick();
	struct clr_fetch_result r;
	char url[128], file[512];
	size_t len;
	char *body = sample(&len), *gz;

	(void)state;
	put_compressed("bad.gz", "gzip", body, len);
	snprintf(file, sizeof(file), "%s/bad.gz", root);
	gz = slurp(file, &len);
	/* Damage the deflate stream, keep the header. */
	for (size_t i = 20; i < len - 20 && i < 400; i++)
		gz[i] ^= 0x5a;
	put("bad.gz", gz, len);
	url_of(url, sizeof(url), "bad.gz");
	assert_int_equal(clr_fetch(&r, url, &o), CLR_EINVALID);
	assert_non_null(strstr(clr_error_msg(), "gzip"));
	assert_non_null(strstr(clr_error_msg(), url));

	/* Cut short: also corrupt, not a short document. */
	put_compressed("short.gz", "gzip", body, strlen(body));
	snprintf(file, sizeof(file), "%s/short.gz", root);
	free(gz);
	gz = slurp(file, &len);
	put("short.gz", gz, len / 2);
	url_of(url, sizeof(url), "short.gz");
	assert_int_equal(clr_fetch(&r, url, &o), CLR_EINVALID);
	free(gz);
	free(body);
}

static void test_size_caps(void **state)
{
	struct clr_fetch_opts o = quick();
	struct clr_fetch_result r;
	char url[128], big[5000];
	char *zeros = clr_calloc(1, 1 << 20);

	(void)state;
	memset(big, 'y', sizeof(big));
	put("big.json", big, sizeof(big));
	url_of(url, sizeof(url), "big.json");
	o.max_size = 1000;
	assert_int_equal(clr_fetch(&r, url, &o), CLR_ELIMIT);
	assert_non_null(strstr(clr_error_msg(), "limit"));
	/* Without a Content-Length, the cap applies while receiving: the
	 * chunked case is the same code path as the file:// one below. */
	o.max_size = sizeof(big);
	assert_int_equal(clr_fetch(&r, url, &o), 0);
	clr_fetch_result_release(&r);

	/* A bomb: 1 MiB of zeros is a few hundred bytes of gzip. */
	put_compressed("bomb.gz", "gzip", zeros, 1 << 20);
	url_of(url, sizeof(url), "bomb.gz");
	o.max_decompressed = 100000;
	assert_int_equal(clr_fetch(&r, url, &o), CLR_ELIMIT);
	assert_non_null(strstr(clr_error_msg(), "decompressed"));
	free(zeros);
}

static void test_file_urls(void **state)
{
	struct clr_fetch_opts o = quick();
	struct clr_fetch_result r;
	char url[600], path[512], *fp;
	size_t len;
	char *body = sample(&len);

	(void)state;
	put_compressed("local.xz", "xz", body, len);
	snprintf(path, sizeof(path), "%s/local.xz", root);
	snprintf(url, sizeof(url), "file://%s", path);
	assert_int_equal(clr_fetch(&r, url, &o), 0);
	assert_string_equal(r.compression, "xz");
	assert_int_equal(r.data_size, len);
	assert_int_equal(r.status, 0);
	assert_non_null(r.last_modified);
	fp = clr_strdup(r.fingerprint);
	clr_fetch_result_release(&r);

	/* A plain path is the same file, and unchanged by its hash. */
	o.prev = fp;
	assert_int_equal(clr_fetch(&r, path, &o), CLR_EUNCHANGED);
	o.prev = NULL;
	assert_int_equal(clr_fetch(&r, path, &o), 0);
	clr_fetch_result_release(&r);

	snprintf(url, sizeof(url), "file://%s/nothing-here", root);
	assert_int_equal(clr_fetch(&r, url, &o), CLR_ENOTFOUND);
	assert_int_equal(clr_fetch(&r, root, &o), CLR_EINVALID);  /* a directory */
	assert_int_equal(clr_fetch(&r, "ftp://example.org/x", &o), CLR_EUNSUPPORTED);
	o.max_size = 10;
	assert_int_equal(clr_fetch(&r, path, &o), CLR_ELIMIT);
	free(fp);
	free(body);
}

static void test_password_hidden(void **state)
{
	struct clr_fetch_opts o = quick();
	struct clr_fetch_result r;
	char url[128];

	(void)state;
	put_str("auth.json", "{}");
	snprintf(url, sizeof(url), "http://user:s3cret@127.0.0.1:%d/gone.json", port);
	assert_int_equal(clr_fetch(&r, url, &o), CLR_ENOTFOUND);
	assert_null(strstr(clr_error_msg(), "s3cret"));
	assert_non_null(strstr(clr_error_msg(), "user:***@"));

	snprintf(url, sizeof(url), "http://user:s3cret@127.0.0.1:%d/auth.json", port);
	assert_int_equal(clr_fetch(&r, url, &o), 0);
	assert_null(strstr(r.fingerprint, "s3cret"));
	clr_fetch_result_release(&r);
}

static void test_fetch_bytes(void **state)
{
	struct clr_fetch_opts o = quick();
	struct clr_buf b = CLR_BUF_INIT(64);
	char url[128];
	size_t len;
	char *body = sample(&len);

	(void)state;
	put_str("index.txt", "v3.18\nv3.19\n");
	url_of(url, sizeof(url), "index.txt");
	assert_int_equal(clr_fetch_bytes(&b, url, &o), 0);
	assert_string_equal(clr_buf_str(&b), "v3.18\nv3.19\n");
	/* Replaced, not appended to. */
	assert_int_equal(clr_fetch_bytes(&b, url, &o), 0);
	assert_string_equal(clr_buf_str(&b), "v3.18\nv3.19\n");
	clr_buf_release(&b);

	/* Compressed small documents are undone; the cap is on the result. */
	put_compressed("index.gz", "gzip", body, len);
	url_of(url, sizeof(url), "index.gz");
	clr_buf_init(&b, len);
	assert_int_equal(clr_fetch_bytes(&b, url, &o), 0);
	assert_int_equal(b.len, len);
	assert_memory_equal(b.ptr, body, len);
	clr_buf_release(&b);
	clr_buf_init(&b, len - 1);
	assert_int_equal(clr_fetch_bytes(&b, url, &o), CLR_ELIMIT);
	clr_buf_release(&b);

	clr_buf_init(&b, 4);
	url_of(url, sizeof(url), "index.txt");
	assert_int_equal(clr_fetch_bytes(&b, url, &o), CLR_ELIMIT);
	url_of(url, sizeof(url), "nope.txt");
	assert_int_equal(clr_fetch_bytes(&b, url, &o), CLR_ENOTFOUND);
	clr_buf_release(&b);
	free(body);
}

static void test_fetch_into(void **state)
{
	struct clr_fetched f = { 0 };
	struct clr_fetched untouched = { .path = (char *)"keep", .fingerprint = NULL };
	char url[128], *prev;

	(void)state;
	put_str("into.json", "[1,2,3]");
	url_of(url, sizeof(url), "into.json");
	assert_int_equal(clr_fetch_into(&f, url, NULL, NULL), 0);
	assert_file(f.path, "[1,2,3]");
	assert_non_null(f.fingerprint);
	prev = clr_strdup(f.fingerprint);
	clr_fetched_release(&f);
	assert_null(f.path);
	/* Unchanged leaves *out alone, as updater.h promises. */
	assert_int_equal(clr_fetch_into(&untouched, url, prev, NULL), CLR_EUNCHANGED);
	assert_string_equal(untouched.path, "keep");
	free(prev);
	clr_fetched_release(NULL);
}

static void test_tempdir(void **state)
{
	char *d, path[512];
	FILE *f;

	(void)state;
	assert_int_equal(clr_fetch_tempdir(&d), 0);
	assert_int_equal(strncmp(d, tmpdir, strlen(tmpdir)), 0);
	snprintf(path, sizeof(path), "%s/a", d);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/a/b.json", d);
	f = fopen(path, "w");
	fclose(f);
	snprintf(path, sizeof(path), "%s/link", d);
	assert_int_equal(symlink(root, path), 0);
	assert_int_equal(clr_fetch_remove(d), 0);
	assert_int_equal(access(d, F_OK), -1);
	/* The link was removed, not followed. */
	assert_int_equal(access(root, F_OK), 0);
	assert_int_equal(clr_fetch_remove(d), 0);  /* already gone */
	free(d);
}

#define T(f) cmocka_unit_test_setup_teardown(f, reset, check_tmp)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_get_200),
		T(test_not_modified_etag),
		T(test_not_modified_last_modified),
		T(test_unchanged_by_hash),
		T(test_validators_of_another_url),
		T(test_not_found),
		T(test_server_error_retried),
		T(test_server_error_gives_up),
		T(test_timeout),
		T(test_connection_refused),
		T(test_truncated_retried),
		T(test_redirect),
		T(test_gzip),
		T(test_bzip2),
		T(test_xz),
		T(test_zstd),
		T(test_zip),
		T(test_zip_hostile_names),
		T(test_corrupt_gzip),
		T(test_size_caps),
		T(test_file_urls),
		T(test_password_hidden),
		T(test_fetch_bytes),
		T(test_fetch_into),
		T(test_tempdir),
	};

	return cmocka_run_group_tests_name("fetch", tests, start_server, stop_server);
}
