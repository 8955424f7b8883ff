/*
 * fetch.c - downloading feed documents for updaters (see fetch.h).
 *
 * One download is: open a sink (a private temporary file, or a capped
 * buffer for clr_fetch_bytes), run attempts until one succeeds or retrying
 * stops making sense, then look at the first bytes and undo any
 * compression with libarchive (which Debian builds with zlib, bzip2, liblzma
 * and zstd, so no decompressor is written or linked here).
 *
 * The previous fingerprint is used twice: its validators become the
 * conditional request, and its sha256 catches the same bytes served again
 * by a server that ignores (or never sends) validators.  Both only make
 * "unchanged" cheaper; a fingerprint this file cannot read means "fetch".
 */
#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "updater/fetch.h"
#include "util/alloc.h"
#include "util/cancel.h"
#include "util/curl.h"
#include "util/error.h"
#include "util/log.h"

#define RETRY_DELAY_CAP_MS 30000L  /* longest wait between two attempts */
#define RETRY_AFTER_CAP_S 60L      /* a server cannot make us wait longer */
#define HEADER_VALUE_MAX 1024      /* ETag / Last-Modified kept, at most */
#define MAGIC_LEN 6                /* bytes sniffed for compression */
#define ZIP_DEPTH_MAX 32           /* path components of a zip entry */
#define COPY_CHUNK 65536

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */

void clr_fetch_opts_init(struct clr_fetch_opts *o)
{
	static const struct clr_fetch_opts defaults = CLR_FETCH_OPTS_INIT;

	*o = defaults;
}

/* url with the password of its user part, if any, as "***": messages and
 * fingerprints never carry credentials.  Caller frees. */
static char *redact_url(const char *url)
{
	const char *s = strstr(url, "://"), *at, *colon, *end;
	struct clr_buf b = CLR_BUF_INIT(SIZE_MAX - 1);

	if (!s)
		return clr_strdup(url);
	s += 3;
	end = s + strcspn(s, "/?#");
	at = memchr(s, '@', (size_t)(end - s));
	if (!at)
		return clr_strdup(url);
	colon = memchr(s, ':', (size_t)(at - s));
	if (!colon)
		return clr_strdup(url);
	clr_buf_add(&b, url, (size_t)(colon + 1 - url));
	clr_buf_addstr(&b, "***");
	clr_buf_addstr(&b, at);
	return clr_buf_detach(&b, NULL);
}

static const char *tmp_base(void)
{
	const char *t = getenv("TMPDIR");

	return t && *t ? t : "/tmp";
}

/* A new private temporary file "<TMPDIR>/clarion-<what>-XXXXXX". */
static int temp_file(int *fd, char **path, const char *what)
{
	char *p;

	if (asprintf(&p, "%s/clarion-%s-XXXXXX", tmp_base(), what) < 0)
		abort();
	*fd = mkostemp(p, O_CLOEXEC);
	if (*fd < 0) {
		int e = errno;

		free(p);
		return clr_error_set(CLR_EIO, "cannot create a temporary file in %s: %s",
				     tmp_base(), strerror(e));
	}
	*path = p;
	return 0;
}

int clr_fetch_tempdir(char **out)
{
	char *p;

	if (asprintf(&p, "%s/clarion-fetch-XXXXXX", tmp_base()) < 0)
		abort();
	if (!mkdtemp(p)) {
		int e = errno;

		free(p);
		return clr_error_set(CLR_EIO, "cannot create a temporary directory in %s: %s",
				     tmp_base(), strerror(e));
	}
	*out = p;
	return 0;
}

static int remove_one(const char *path, const struct stat *st, int type,
		      struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if ((type == FTW_DP ? rmdir(path) : unlink(path)) && errno != ENOENT)
		return errno;
	return 0;
}

int clr_fetch_remove(const char *path)
{
	struct stat st;
	int e;

	if (!path || lstat(path, &st)) {
		if (!path || errno == ENOENT)
			return 0;
		return clr_error_set(CLR_EIO, "cannot remove %s: %s", path, strerror(errno));
	}
	if (!S_ISDIR(st.st_mode)) {
		if (unlink(path) && errno != ENOENT)
			return clr_error_set(CLR_EIO, "cannot remove %s: %s", path,
					     strerror(errno));
		return 0;
	}
	/* FTW_PHYS: a symbolic link inside is removed, never followed. */
	e = nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	if (e)
		return clr_error_set(CLR_EIO, "cannot remove %s: %s", path,
				     strerror(e > 0 ? e : errno));
	return 0;
}

/* HTTP date of t (what Last-Modified looks like). */
static char *http_date(time_t t)
{
	char s[64];
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(s, sizeof(s), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	return clr_strdup(s);
}

/* Sleeps ms milliseconds, in slices, so that a shutdown (cancel.h) does
 * not wait out a retry delay of up to half a minute. */
static void sleep_ms(long ms)
{
	while (ms > 0 && !clr_cancel_requested()) {
		long slice = ms < 100 ? ms : 100;
		struct timespec ts = { 0, slice * 1000000L };

		while (nanosleep(&ts, &ts) && errno == EINTR)
			;
		ms -= slice;
	}
}

/* libcurl's progress callback: a non-zero answer aborts the transfer
 * (CURLE_ABORTED_BY_CALLBACK), which a shutdown asks for. */
static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
		       curl_off_t ultotal, curl_off_t ulnow)
{
	(void)arg, (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return clr_cancel_requested();
}

/* ------------------------------------------------------------------ */
/* Fingerprints                                                        */

struct prev {
	char *url, *etag, *last_modified, *sha256;
};

static char *member(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	return v ? clr_strdup(v) : NULL;
}

static void prev_parse(struct prev *p, const char *fingerprint)
{
	json_t *o;

	memset(p, 0, sizeof(*p));
	if (!fingerprint)
		return;
	o = json_loads(fingerprint, JSON_REJECT_DUPLICATES, NULL);
	if (json_is_object(o)) {
		p->url = member(o, "url");
		p->etag = member(o, "etag");
		p->last_modified = member(o, "last_modified");
		p->sha256 = member(o, "sha256");
	}
	json_decref(o);
}

static void prev_release(struct prev *p)
{
	free(p->url);
	free(p->etag);
	free(p->last_modified);
	free(p->sha256);
	memset(p, 0, sizeof(*p));
}

int clr_fetch_fingerprint_get(const char *fingerprint, const char *key, char **out)
{
	json_t *o = fingerprint ? json_loads(fingerprint, 0, NULL) : NULL;
	const char *v = json_string_value(json_object_get(o, key));

	*out = v ? clr_strdup(v) : NULL;
	json_decref(o);
	return *out ? 0 : CLR_ENOTFOUND;
}

/* A string member, or null when absent or not UTF-8 (a server's ETag is
 * whatever bytes it sent). */
static json_t *json_str_or_null(const char *s)
{
	json_t *j = s ? json_string(s) : NULL;

	return j ? j : json_null();
}

static char *fingerprint_make(const char *url, const char *etag,
			      const char *last_modified, const char *sha256)
{
	json_t *o = json_object();
	char *safe = redact_url(url), *s, *out;

	json_object_set_new(o, "url", json_str_or_null(safe));
	json_object_set_new(o, "etag", json_str_or_null(etag));
	json_object_set_new(o, "last_modified", json_str_or_null(last_modified));
	json_object_set_new(o, "sha256", json_string(sha256));
	s = json_dumps(o, JSON_COMPACT);
	if (!s)
		abort();
	out = clr_strdup(s);
	free(s);
	json_decref(o);
	free(safe);
	return out;
}

/* ------------------------------------------------------------------ */
/* Sinks: where downloaded bytes go                                    */

struct sink {
	int fd;                /* the temporary file, or -1: into buf */
	struct clr_buf *buf;   /* when fd is -1 */
	struct clr_sha256 sha; /* of every byte written since the reset */
	uint64_t size;         /* bytes written since the reset */
	uint64_t max;          /* the cap */
	bool over;             /* the cap was hit */
	int io_errno;          /* a write to fd failed with this */
};

static int sink_reset(struct sink *s)
{
	s->size = 0;
	s->over = false;
	s->io_errno = 0;
	clr_sha256_release(&s->sha);
	if (s->fd >= 0 && (ftruncate(s->fd, 0) || lseek(s->fd, 0, SEEK_SET) < 0))
		return clr_error_set(CLR_EIO, "cannot truncate a temporary file: %s",
				     strerror(errno));
	if (s->buf)
		clr_buf_reset(s->buf);
	return clr_sha256_init(&s->sha);
}

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t w = write(fd, c, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* false when the bytes cannot be kept (cap or I/O): the transfer stops. */
static bool sink_write(struct sink *s, const void *p, size_t n)
{
	if (n > s->max - s->size) {
		s->over = true;
		return false;
	}
	if (s->fd >= 0) {
		if ((s->io_errno = write_all(s->fd, p, n)))
			return false;
	} else if (clr_buf_add(s->buf, p, n)) {
		s->over = true;
		return false;
	}
	s->size += n;
	clr_sha256_update(&s->sha, p, n);
	return true;
}

/* ------------------------------------------------------------------ */
/* HTTP                                                                */

struct transfer {
	CURL *c;
	struct sink *sink;
	char *etag;           /* of the latest answer (redirects reset it) */
	char *last_modified;
	long retry_after;     /* seconds, -1: none */
	char errbuf[CURL_ERROR_SIZE];
};

static void transfer_clear_headers(struct transfer *t)
{
	free(t->etag);
	free(t->last_modified);
	t->etag = t->last_modified = NULL;
	t->retry_after = -1;
}

/* "Name: value\r\n" -> value, if the name matches. */
static bool header_value(const char *line, size_t n, const char *name,
			 const char **v, size_t *vlen)
{
	size_t k = strlen(name);

	if (n <= k || strncasecmp(line, name, k) || line[k] != ':')
		return false;
	line += k + 1;
	n -= k + 1;
	while (n && (*line == ' ' || *line == '\t'))
		line++, n--;
	while (n && (line[n - 1] == '\r' || line[n - 1] == '\n' ||
		     line[n - 1] == ' ' || line[n - 1] == '\t'))
		n--;
	*v = line;
	*vlen = n;
	return true;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *arg)
{
	struct transfer *t = arg;
	size_t n = size * nmemb, vlen;
	const char *v;

	/* A new status line: the headers of a redirect are not the
	 * document's. */
	if (n >= 5 && !strncmp(p, "HTTP/", 5)) {
		transfer_clear_headers(t);
		return n;
	}
	if (header_value(p, n, "ETag", &v, &vlen) && vlen && vlen <= HEADER_VALUE_MAX) {
		free(t->etag);
		t->etag = clr_strndup(v, vlen);
	} else if (header_value(p, n, "Last-Modified", &v, &vlen) && vlen &&
		   vlen <= HEADER_VALUE_MAX) {
		free(t->last_modified);
		t->last_modified = clr_strndup(v, vlen);
	} else if (header_value(p, n, "Retry-After", &v, &vlen) && vlen && vlen < 12) {
		char num[16];
		char *end;
		long s;

		memcpy(num, v, vlen);
		num[vlen] = 0;
		s = strtol(num, &end, 10);
		/* An HTTP date instead of seconds: wait the usual backoff. */
		if (!*end && s >= 0)
			t->retry_after = s;
	}
	return n;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct transfer *t = arg;
	size_t n = size * nmemb;
	long code = 0;

	curl_easy_getinfo(t->c, CURLINFO_RESPONSE_CODE, &code);
	/* The body of an error answer is not the document. */
	if (code < 200 || code > 299)
		return n;
	return sink_write(t->sink, p, n) ? n : 0;
}

/* Network trouble that another attempt may not meet. */
static bool curl_transient(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_PARTIAL_FILE:
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_SSL_CONNECT_ERROR:
		return true;
	default:
		return false;
	}
}

struct http_result {
	long status;
	char *etag, *last_modified; /* taken from the transfer */
};

static int http_get(struct http_result *res, struct sink *sink, const char *url,
		    const char *shown, const struct clr_fetch_opts *o,
		    const struct prev *prev)
{
	struct transfer t = { .sink = sink, .retry_after = -1 };
	struct curl_slist *hdrs = NULL;
	const char *ca = clr_curl_ca_file();
	int attempts = 1 + (o->retries > 0 ? o->retries : 0);
	int err = 0, attempt;
	bool conditional = false;

	memset(res, 0, sizeof(*res));
	clr_curl_global_init();
	if (!(t.c = curl_easy_init()))
		return clr_error_set(CLR_ENOMEM, "cannot start a transfer");

	/* Validators are only valid for the URL they came from. */
	if (prev->url && !strcmp(prev->url, shown)) {
		char *h;

		if (prev->etag) {
			if (asprintf(&h, "If-None-Match: %s", prev->etag) < 0)
				abort();
			hdrs = curl_slist_append(hdrs, h);
			free(h);
			conditional = true;
		}
		if (prev->last_modified) {
			if (asprintf(&h, "If-Modified-Since: %s", prev->last_modified) < 0)
				abort();
			hdrs = curl_slist_append(hdrs, h);
			free(h);
			conditional = true;
		}
	}
	for (const char *const *h = o->headers; h && *h; h++)
		hdrs = curl_slist_append(hdrs, *h);

	curl_easy_setopt(t.c, CURLOPT_URL, url);
	curl_easy_setopt(t.c, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(t.c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(t.c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(t.c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(t.c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(t.c, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(t.c, CURLOPT_USERAGENT, "clarion");
	curl_easy_setopt(t.c, CURLOPT_ERRORBUFFER, t.errbuf);
	curl_easy_setopt(t.c, CURLOPT_CONNECTTIMEOUT, o->connect_timeout);
	if (o->timeout > 0)
		curl_easy_setopt(t.c, CURLOPT_TIMEOUT, o->timeout);
	if (o->low_speed_time > 0) {
		curl_easy_setopt(t.c, CURLOPT_LOW_SPEED_LIMIT, o->low_speed_limit);
		curl_easy_setopt(t.c, CURLOPT_LOW_SPEED_TIME, o->low_speed_time);
	}
	curl_easy_setopt(t.c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)sink->max);
	if (ca)
		curl_easy_setopt(t.c, CURLOPT_CAINFO, ca);
	curl_easy_setopt(t.c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(t.c, CURLOPT_HEADERDATA, &t);
	curl_easy_setopt(t.c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(t.c, CURLOPT_WRITEDATA, &t);
	if (hdrs)
		curl_easy_setopt(t.c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(t.c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(t.c, CURLOPT_NOPROGRESS, 0L);

	for (attempt = 1;; attempt++) {
		long delay, code = 0;
		CURLcode rc;
		bool again;

		if ((err = sink_reset(sink)))
			break;
		transfer_clear_headers(&t);
		t.errbuf[0] = 0;
		rc = curl_easy_perform(t.c);
		curl_easy_getinfo(t.c, CURLINFO_RESPONSE_CODE, &code);
		res->status = code;

		/* The cap is checked against Content-Length before the body,
		 * for error answers too: those are answers, not big data. */
		if (rc == CURLE_FILESIZE_EXCEEDED && (code < 200 || code > 299))
			rc = CURLE_OK;
		if (sink->over || rc == CURLE_FILESIZE_EXCEEDED) {
			err = clr_error_set(CLR_ELIMIT, "%s: larger than the limit of %llu bytes",
					    shown, (unsigned long long)sink->max);
			break;
		}
		if (sink->io_errno) {
			err = clr_error_set(CLR_EIO, "%s: cannot write a temporary file: %s",
					    shown, strerror(sink->io_errno));
			break;
		}
		if (rc == CURLE_OK && code >= 200 && code <= 299)
			break;
		if (rc == CURLE_OK && code == 304 && conditional) {
			err = clr_error_set(CLR_EUNCHANGED, "%s: not modified", shown);
			break;
		}
		if (rc == CURLE_OK && (code == 404 || code == 410)) {
			err = clr_error_set(CLR_ENOTFOUND, "%s: HTTP %ld (not found)", shown, code);
			break;
		}
		if (rc == CURLE_OK) {
			again = code == 429 || code >= 500;
			err = clr_error_set(CLR_ENET, "%s: HTTP %ld", shown, code);
		} else if (rc == CURLE_ABORTED_BY_CALLBACK) {
			err = clr_error_set(CLR_ENET, "%s: interrupted: shutting "
					    "down", shown);
			break;
		} else {
			again = curl_transient(rc);
			err = clr_error_set(CLR_ENET, "%s: %s", shown,
					    t.errbuf[0] ? t.errbuf : curl_easy_strerror(rc));
		}
		if (!again || attempt == attempts || clr_cancel_requested())
			break;
		delay = o->retry_delay_ms > 0 ? o->retry_delay_ms : 0;
		for (int i = 1; i < attempt && delay < RETRY_DELAY_CAP_MS; i++)
			delay *= 2;
		if (delay > RETRY_DELAY_CAP_MS)
			delay = RETRY_DELAY_CAP_MS;
		if (t.retry_after >= 0)
			delay = (t.retry_after > RETRY_AFTER_CAP_S ? RETRY_AFTER_CAP_S
								   : t.retry_after) * 1000;
		clr_log_info("fetch: %s; attempt %d of %d failed, retrying in %ld ms",
			     clr_error_msg(), attempt, attempts, delay);
		sleep_ms(delay);
		if (clr_cancel_requested()) {
			err = clr_error_set(CLR_ENET, "%s: interrupted: shutting "
					    "down", shown);
			break;
		}
	}
	if (err == CLR_ENET && attempt > 1) {
		char *msg = clr_strdup(clr_error_msg());

		clr_error_set(err, "%s (%d attempts)", msg, attempt);
		free(msg);
	}
	if (!err) {
		res->etag = t.etag;
		res->last_modified = t.last_modified;
		t.etag = t.last_modified = NULL;
	}
	transfer_clear_headers(&t);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(t.c);
	return err;
}

/* ------------------------------------------------------------------ */
/* Local files                                                         */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The path of a file:// URL (percent-decoded; caller frees) or of a plain
 * path; NULL (message set) for other hosts or a malformed URL. */
static char *local_path(const char *url)
{
	const char *p;
	char *out, *w;

	if (strncasecmp(url, "file://", 7))
		return clr_strdup(url);
	p = url + 7;
	if (!strncasecmp(p, "localhost/", 10))
		p += 9;
	if (*p != '/') {
		clr_error_set(CLR_EUNSUPPORTED, "%s: only local file:// URLs are supported", url);
		return NULL;
	}
	out = w = clr_malloc(strlen(p) + 1);
	for (; *p && *p != '?' && *p != '#'; p++) {
		int hi, lo;

		if (*p == '%' && (hi = hexval(p[1])) >= 0 && (lo = hexval(p[2])) >= 0 &&
		    (hi || lo)) {
			*w++ = (char)(hi * 16 + lo);
			p += 2;
		} else {
			*w++ = *p;
		}
	}
	*w = 0;
	return out;
}

static bool is_http(const char *url)
{
	return !strncasecmp(url, "http://", 7) || !strncasecmp(url, "https://", 8);
}

static int file_get(struct sink *sink, const char *url, char **last_modified)
{
	char *path = local_path(url);
	char *chunk = NULL;
	struct stat st;
	int fd = -1, err;
	ssize_t n;

	*last_modified = NULL;
	if (!path)
		return CLR_EUNSUPPORTED;
	if (strstr(url, "://") && strncasecmp(url, "file://", 7)) {
		err = clr_error_set(CLR_EUNSUPPORTED, "%s: unsupported URL scheme "
				    "(http, https, file)", url);
		goto cleanup;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st)) {
		int e = errno;

		err = clr_error_set(e == ENOENT ? CLR_ENOTFOUND : CLR_EIO, "%s: %s",
				    path, strerror(e));
		goto cleanup;
	}
	if (!S_ISREG(st.st_mode)) {
		err = clr_error_set(CLR_EINVALID, "%s: not a regular file", path);
		goto cleanup;
	}
	if ((err = sink_reset(sink)))
		goto cleanup;
	chunk = clr_malloc(COPY_CHUNK);
	while ((n = read(fd, chunk, COPY_CHUNK)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = clr_error_set(CLR_EIO, "%s: %s", path, strerror(errno));
			goto cleanup;
		}
		if (!sink_write(sink, chunk, (size_t)n)) {
			if (sink->over)
				err = clr_error_set(CLR_ELIMIT, "%s: larger than the limit "
						    "of %llu bytes", path,
						    (unsigned long long)sink->max);
			else
				err = clr_error_set(CLR_EIO, "cannot write a temporary file: %s",
						    strerror(sink->io_errno));
			goto cleanup;
		}
	}
	*last_modified = http_date(st.st_mtime);
	err = 0;
cleanup:
	if (fd >= 0)
		close(fd);
	free(chunk);
	free(path);
	return err;
}

/* ------------------------------------------------------------------ */
/* Decompression                                                       */

enum compression { COMP_NONE, COMP_GZIP, COMP_BZIP2, COMP_XZ, COMP_ZSTD, COMP_ZIP };

static const char *const comp_names[] = { "", "gzip", "bzip2", "xz", "zstd", "zip" };

static enum compression sniff(const unsigned char *m, size_t n)
{
	if (n >= 2 && m[0] == 0x1f && m[1] == 0x8b)
		return COMP_GZIP;
	if (n >= 3 && !memcmp(m, "BZh", 3))
		return COMP_BZIP2;
	if (n >= 6 && !memcmp(m, "\xfd" "7zXZ\0", 6))
		return COMP_XZ;
	if (n >= 4 && !memcmp(m, "\x28\xb5\x2f\xfd", 4))
		return COMP_ZSTD;
	/* A local file header, or the end record of an empty zip. */
	if (n >= 4 && (!memcmp(m, "PK\3\4", 4) || !memcmp(m, "PK\5\6", 4)))
		return COMP_ZIP;
	return COMP_NONE;
}

static struct archive *reader_for(enum compression c)
{
	struct archive *a = archive_read_new();

	if (!a)
		abort();
	switch (c) {
	case COMP_GZIP: archive_read_support_filter_gzip(a); break;
	case COMP_BZIP2: archive_read_support_filter_bzip2(a); break;
	case COMP_XZ: archive_read_support_filter_xz(a); break;
	case COMP_ZSTD: archive_read_support_filter_zstd(a); break;
	case COMP_ZIP: archive_read_support_format_zip(a); return a;
	case COMP_NONE: break;
	}
	archive_read_support_format_raw(a);
	return a;
}

static int corrupt(struct archive *a, const char *shown, enum compression c)
{
	const char *why = archive_error_string(a);

	return clr_error_set(CLR_EINVALID, "%s: corrupt %s data: %s", shown,
			     comp_names[c], why ? why : "unreadable");
}

/* Copies the current entry of a to sink; CLR_ELIMIT past the cap. */
static int copy_entry(struct archive *a, struct sink *sink, const char *shown,
		      enum compression c, char *chunk)
{
	la_ssize_t n;

	while ((n = archive_read_data(a, chunk, COPY_CHUNK)) > 0) {
		if (!sink_write(sink, chunk, (size_t)n)) {
			if (sink->over)
				return clr_error_set(CLR_ELIMIT, "%s: more than %llu bytes "
						     "once decompressed", shown,
						     (unsigned long long)sink->max);
			return clr_error_set(CLR_EIO, "cannot write a temporary file: %s",
					     strerror(sink->io_errno));
		}
	}
	if (n < 0)
		return corrupt(a, shown, c);
	return 0;
}

/* One compressed stream from a into sink. */
static int inflate_stream(struct archive *a, struct sink *sink, const char *shown,
			  enum compression c)
{
	struct archive_entry *e;
	char *chunk = clr_malloc(COPY_CHUNK);
	int rc, err;

	rc = archive_read_next_header(a, &e);
	if (rc == ARCHIVE_EOF)
		err = 0;  /* compressed nothing */
	else if (rc < ARCHIVE_WARN)
		err = corrupt(a, shown, c);
	else
		err = copy_entry(a, sink, shown, c, chunk);
	free(chunk);
	return err;
}

/* A zip entry's name made safe to create under our directory: relative,
 * no "..", no empty or "." components.  NULL when it cannot be. */
static char *safe_entry_path(const char *name)
{
	struct clr_buf b = CLR_BUF_INIT(4096);
	const char *p = name;
	int depth = 0;

	while (*p) {
		size_t n = strcspn(p, "/\\");

		if (n == 2 && !strncmp(p, "..", 2)) {
			clr_buf_release(&b);
			return NULL;
		}
		if (n && !(n == 1 && *p == '.')) {
			if (++depth > ZIP_DEPTH_MAX || n > 255 ||
			    (b.len && clr_buf_addch(&b, '/')) || clr_buf_add(&b, p, n)) {
				clr_buf_release(&b);
				return NULL;
			}
		}
		p += n;
		if (*p)
			p++;
	}
	if (!b.len)
		return NULL;
	return clr_buf_detach(&b, NULL);
}

/* mkdir -p of the directories of rel (a safe path) under root. */
static int make_parents(const char *root, const char *rel)
{
	char *path;
	int err = 0;

	if (asprintf(&path, "%s/%s", root, rel) < 0)
		abort();
	for (char *s = path + strlen(root) + 1; (s = strchr(s, '/')); s++) {
		*s = 0;
		if (mkdir(path, 0700) && errno != EEXIST) {
			err = clr_error_set(CLR_EIO, "cannot create %s: %s", path,
					    strerror(errno));
			break;
		}
		*s = '/';
	}
	free(path);
	return err;
}

/* Every regular file of the zip a into the directory dir. */
static int unzip(struct archive *a, const char *dir, const struct clr_fetch_opts *o,
		 const char *shown, uint64_t *total)
{
	struct sink sink = { .fd = -1 };
	struct archive_entry *e;
	char *chunk = clr_malloc(COPY_CHUNK);
	size_t entries = 0;
	int rc, err = 0;

	*total = 0;
	while ((rc = archive_read_next_header(a, &e)) != ARCHIVE_EOF) {
		const char *name;
		char *rel = NULL, *path = NULL;
		mode_t type;

		if (rc < ARCHIVE_WARN) {
			err = corrupt(a, shown, COMP_ZIP);
			break;
		}
		if (++entries > o->max_entries) {
			err = clr_error_set(CLR_ELIMIT, "%s: more than %zu entries", shown,
					    o->max_entries);
			break;
		}
		type = archive_entry_filetype(e);
		if (type != AE_IFREG && type != AE_IFDIR)
			continue;  /* links and devices have no place in a feed */
		name = archive_entry_pathname_utf8(e);
		if (!name)
			name = archive_entry_pathname(e);
		if (!name || !(rel = safe_entry_path(name))) {
			err = clr_error_set(CLR_EINVALID, "%s: zip entry with an unsafe name "
					    "'%s'", shown, name ? name : "");
			break;
		}
		if (asprintf(&path, "%s/%s", dir, rel) < 0)
			abort();
		if ((err = make_parents(dir, rel))) {
			/* message set */
		} else if (type == AE_IFDIR) {
			if (mkdir(path, 0700) && errno != EEXIST)
				err = clr_error_set(CLR_EIO, "cannot create %s: %s", path,
						    strerror(errno));
		} else if ((sink.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
						   O_CLOEXEC, 0600)) < 0) {
			err = clr_error_set(CLR_EINVALID, "%s: cannot create entry '%s': %s",
					    shown, rel, strerror(errno));
		} else {
			/* The cap is on all entries together. */
			sink.max = o->max_decompressed - *total;
			if (!(err = sink_reset(&sink)))
				err = copy_entry(a, &sink, shown, COMP_ZIP, chunk);
			*total += sink.size;
			clr_sha256_release(&sink.sha);
			close(sink.fd);
			sink.fd = -1;
			if (err == CLR_ELIMIT)
				err = clr_error_set(CLR_ELIMIT, "%s: more than %llu bytes once "
						    "unzipped", shown,
						    (unsigned long long)o->max_decompressed);
		}
		free(rel);
		free(path);
		if (err)
			break;
	}
	free(chunk);
	return err;
}

/* ------------------------------------------------------------------ */
/* clr_fetch                                                           */

static void result_zero(struct clr_fetch_result *r)
{
	memset(r, 0, sizeof(*r));
	r->compression = "";
}

void clr_fetch_result_release(struct clr_fetch_result *r)
{
	if (!r)
		return;
	if (r->path)
		clr_fetch_remove(r->path);
	free(r->path);
	free(r->fingerprint);
	free(r->etag);
	free(r->last_modified);
	result_zero(r);
}

/* Decompresses the download (at path, open as fd) by its magic bytes into
 * r->path; a download that is not compressed becomes r->path itself. */
static int unpack(struct clr_fetch_result *r, int fd, char **path,
		  const struct clr_fetch_opts *o, const char *shown)
{
	unsigned char magic[MAGIC_LEN];
	ssize_t n = pread(fd, magic, sizeof(magic), 0);
	enum compression c = n > 0 ? sniff(magic, (size_t)n) : COMP_NONE;
	struct archive *a;
	int err;

	r->data_size = r->size;
	if (o->raw || c == COMP_NONE) {
		r->path = *path;
		*path = NULL;
		return 0;
	}
	r->compression = comp_names[c];
	a = reader_for(c);
	if (lseek(fd, 0, SEEK_SET) < 0 || archive_read_open_fd(a, fd, COPY_CHUNK)) {
		err = corrupt(a, shown, c);
		archive_read_free(a);
		return err;
	}
	if (c == COMP_ZIP) {
		char *dir;

		if (!(err = clr_fetch_tempdir(&dir))) {
			err = unzip(a, dir, o, shown, &r->data_size);
			if (err) {
				clr_fetch_remove(dir);
				free(dir);
			} else {
				r->path = dir;
				r->is_dir = true;
			}
		}
	} else {
		struct sink sink = { .max = o->max_decompressed };

		if (!(err = temp_file(&sink.fd, &r->path, "data"))) {
			if (!(err = sink_reset(&sink)))
				err = inflate_stream(a, &sink, shown, c);
			r->data_size = sink.size;
			clr_sha256_release(&sink.sha);
			close(sink.fd);
			if (err) {
				unlink(r->path);
				free(r->path);
				r->path = NULL;
			}
		}
	}
	archive_read_free(a);
	return err;
}

int clr_fetch(struct clr_fetch_result *out, const char *url,
	      const struct clr_fetch_opts *o)
{
	static const struct clr_fetch_opts defaults = CLR_FETCH_OPTS_INIT;
	struct sink sink = { .fd = -1 };
	struct http_result hr = { 0 };
	struct prev prev;
	uint8_t digest[CLR_SHA256_LEN];
	char *tmp = NULL, *shown;
	int err;

	result_zero(out);
	if (!o)
		o = &defaults;
	if (!url || !*url)
		return clr_error_set(CLR_EINVALID, "no URL to fetch");
	shown = redact_url(url);
	prev_parse(&prev, o->prev);
	sink.max = o->max_size;
	if ((err = temp_file(&sink.fd, &tmp, "download")))
		goto cleanup;

	if (is_http(url)) {
		err = http_get(&hr, &sink, url, shown, o, &prev);
		out->etag = hr.etag;
		out->last_modified = hr.last_modified;
		out->status = hr.status;
	} else {
		err = file_get(&sink, url, &out->last_modified);
	}
	if (err)
		goto cleanup;
	if ((err = clr_sha256_final(&sink.sha, digest)))
		goto cleanup;
	clr_sha256_hex(out->sha256, digest);
	out->size = sink.size;
	if (prev.sha256 && !strcmp(prev.sha256, out->sha256)) {
		err = clr_error_set(CLR_EUNCHANGED, "%s: unchanged (same sha256)", shown);
		goto cleanup;
	}
	if ((err = unpack(out, sink.fd, &tmp, o, shown)))
		goto cleanup;
	out->fingerprint = fingerprint_make(url, out->etag, out->last_modified,
					    out->sha256);
	clr_log_debug("fetch: %s: %llu bytes%s%s", shown, (unsigned long long)out->size,
		      *out->compression ? ", " : "", out->compression);
cleanup:
	if (sink.fd >= 0)
		close(sink.fd);
	clr_sha256_release(&sink.sha);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	if (err)
		clr_fetch_result_release(out);
	prev_release(&prev);
	free(shown);
	return err;
}

int clr_fetch_bytes(struct clr_buf *out, const char *url, const struct clr_fetch_opts *o)
{
	static const struct clr_fetch_opts defaults = CLR_FETCH_OPTS_INIT;
	struct clr_buf raw = CLR_BUF_INIT(out->max);
	struct sink sink = { .fd = -1, .buf = &raw, .max = out->max };
	struct http_result hr = { 0 };
	struct prev none = { 0 };
	struct archive *a = NULL;
	enum compression c;
	char *shown, *lm = NULL;
	int err;

	if (!o)
		o = &defaults;
	if (!url || !*url)
		return clr_error_set(CLR_EINVALID, "no URL to fetch");
	shown = redact_url(url);
	if (is_http(url)) {
		err = http_get(&hr, &sink, url, shown, o, &none);
		free(hr.etag);
		free(hr.last_modified);
	} else {
		err = file_get(&sink, url, &lm);
		free(lm);
	}
	clr_sha256_release(&sink.sha);
	if (err)
		goto cleanup;
	clr_buf_reset(out);
	c = o->raw ? COMP_NONE : sniff((const unsigned char *)raw.ptr, raw.len);
	if (c == COMP_NONE) {
		if (raw.len)
			err = clr_buf_add(out, raw.ptr, raw.len);
		goto cleanup;
	}
	if (c == COMP_ZIP) {
		err = clr_error_set(CLR_EUNSUPPORTED, "%s: a zip archive is not a small "
				    "document (use clr_fetch)", shown);
		goto cleanup;
	}
	a = reader_for(c);
	if (archive_read_open_memory(a, raw.ptr, raw.len)) {
		err = corrupt(a, shown, c);
		goto cleanup;
	}
	sink.buf = out;
	sink.max = out->max;
	if (!(err = sink_reset(&sink)))
		err = inflate_stream(a, &sink, shown, c);
	clr_sha256_release(&sink.sha);
cleanup:
	if (a)
		archive_read_free(a);
	clr_buf_release(&raw);
	free(shown);
	return err;
}

int clr_fetch_into(struct clr_fetched *out, const char *url, const char *prev,
		   const struct clr_fetch_opts *o)
{
	struct clr_fetch_opts opts;
	struct clr_fetch_result r;
	int err;

	if (o)
		opts = *o;
	else
		clr_fetch_opts_init(&opts);
	opts.prev = prev;
	if ((err = clr_fetch(&r, url, &opts)))
		return err;
	out->path = r.path;
	out->fingerprint = r.fingerprint;
	r.path = r.fingerprint = NULL;
	clr_fetch_result_release(&r);
	return 0;
}

void clr_fetch_dir_file(struct clr_sha256 *h, const char *name,
			int64_t size, int64_t mtime_ns)
{
	const int64_t sig[2] = { size, mtime_ns };

	clr_sha256_update(h, name, strlen(name) + 1);
	clr_sha256_update(h, sig, sizeof(sig));
}

int clr_fetch_dir_finish(struct clr_fetched *out, const char *dir,
			 const char *prev, struct clr_sha256 *h)
{
	uint8_t d[CLR_SHA256_LEN];
	char hex[CLR_SHA256_HEXLEN + 1], fp[CLR_SHA256_HEXLEN + 8];

	clr_sha256_final(h, d);
	clr_sha256_hex(hex, d);
	snprintf(fp, sizeof(fp), "dir:%s", hex);
	if (prev && !strcmp(prev, fp))
		return CLR_EUNCHANGED;
	out->path = clr_strdup(dir);
	out->fingerprint = clr_strdup(fp);
	out->borrowed = true;
	return 0;
}

void clr_fetched_release(struct clr_fetched *f)
{
	if (!f)
		return;
	if (f->path && !f->borrowed && clr_fetch_remove(f->path))
		clr_log_warn("fetch: %s", clr_error_msg());
	free(f->path);
	free(f->fingerprint);
	f->path = f->fingerprint = NULL;
	f->borrowed = false;
}
