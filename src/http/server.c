/*
 * server.c - the HTTP server core on libmicrohttpd (see http.h).
 *
 * Thread model: MHD's thread per connection.  Handlers may block for as
 * long as an index takes; the number of connections is capped
 * (max_connections), and the requests that do the expensive work (routes
 * flagged CLR_HTTP_LIMITED) are capped separately, answered 429 beyond the
 * limit, as Clair's concurrentlimit.go does.
 *
 * One request is: the first call of the access handler routes it (404,
 * 405), checks auth (401), the announced body size (413) and the limit
 * (429), any of which answers at once; the following calls collect the
 * body into a capped buffer; the last call runs the handler and queues
 * what it replied.  The completion callback records the metrics and the
 * log line and frees the request.
 */
#include "http/http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "http/jwt.h"
#include "http/service.h"
#include "image/uri.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/log.h"

/* The route tables and the modes each is mounted in.  Add a line for a new
 * API file here (and its declaration in http.h). */
static const struct {
	const struct clr_http_route *routes;
	unsigned modes;
} tables[] = {
	{ clr_http_v4_common_routes, CLR_MODE_ALL },
	{ clr_http_v4_indexer_routes, CLR_MODE_INDEXER | CLR_MODE_COMBO },
	{ clr_http_v4_matcher_routes, CLR_MODE_MATCHER | CLR_MODE_COMBO },
	{ clr_http_v1_routes, CLR_MODE_INDEXER | CLR_MODE_COMBO },
	{ clr_http_notifier_routes, CLR_MODE_NOTIFIER | CLR_MODE_COMBO },
};

#define MAX_CAPS 8
#define MAX_EXTRA_HEADERS 16
#define GZIP_MIN 1024          /* smaller bodies are not worth compressing */
#define MAX_STATS 256          /* distinct route names, all servers */

/* ------------------------------------------------------------------ */
/* Metrics                                                             */

/* The statuses counted one by one; others fall in the last slot. */
static const int counted_status[] = {
	200, 201, 202, 204, 304, 400, 401, 404, 405, 412, 413, 415, 429,
	499, 500, 503, 0,
};
#define NSTATUS (sizeof(counted_status) / sizeof(counted_status[0]))

/* Upper bounds of the latency buckets, in seconds. */
static const double hist_bounds[CLR_HTTP_HIST_BUCKETS] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5, 30,
};

struct route_stats {
	const char *name;            /* the route's name (static) */
	uint64_t by_status[NSTATUS]; /* atomically incremented */
	struct clr_http_hist latency;
};

static pthread_mutex_t stats_mu = PTHREAD_MUTEX_INITIALIZER;
static struct route_stats *stats[MAX_STATS];
static size_t nstats;

/* The stats of route name, made on first use; kept for the process. */
static struct route_stats *stats_for(const char *name)
{
	struct route_stats *st = NULL;

	pthread_mutex_lock(&stats_mu);
	for (size_t i = 0; i < nstats; i++)
		if (!strcmp(stats[i]->name, name)) {
			st = stats[i];
			break;
		}
	if (!st && nstats < MAX_STATS) {
		st = clr_calloc(1, sizeof(*st));
		st->name = name;
		stats[nstats++] = st;
	}
	pthread_mutex_unlock(&stats_mu);
	return st;
}

void clr_http_hist_observe(struct clr_http_hist *h, double seconds)
{
	size_t i = 0;

	while (i < CLR_HTTP_HIST_BUCKETS && seconds > hist_bounds[i])
		i++;
	__atomic_fetch_add(&h->counts[i], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&h->sum_us, (uint64_t)(seconds * 1e6), __ATOMIC_RELAXED);
	__atomic_fetch_add(&h->total, 1, __ATOMIC_RELAXED);
}

void clr_http_hist_write(struct clr_buf *out, const char *name,
			 const char *labels, const struct clr_http_hist *h)
{
	const char *sep = *labels ? "," : "";
	uint64_t cum = 0;

	for (size_t i = 0; i <= CLR_HTTP_HIST_BUCKETS; i++) {
		cum += __atomic_load_n(&h->counts[i], __ATOMIC_RELAXED);
		if (i < CLR_HTTP_HIST_BUCKETS)
			clr_buf_printf(out, "%s_bucket{%s%sle=\"%g\"} %llu\n", name,
				       labels, sep, hist_bounds[i],
				       (unsigned long long)cum);
		else
			clr_buf_printf(out, "%s_bucket{%s%sle=\"+Inf\"} %llu\n",
				       name, labels, sep, (unsigned long long)cum);
	}
	clr_buf_printf(out, "%s_sum{%s} %.6f\n", name, labels,
		       __atomic_load_n(&h->sum_us, __ATOMIC_RELAXED) / 1e6);
	clr_buf_printf(out, "%s_count{%s} %llu\n", name, labels,
		       (unsigned long long)__atomic_load_n(&h->total, __ATOMIC_RELAXED));
}

void clr_http_metrics_write(struct clr_buf *out)
{
	size_t n;

	pthread_mutex_lock(&stats_mu);
	n = nstats;
	pthread_mutex_unlock(&stats_mu);
	clr_buf_addstr(out, "# HELP clarion_http_requests_total HTTP requests "
		       "answered, by route and status.\n"
		       "# TYPE clarion_http_requests_total counter\n");
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < NSTATUS; k++) {
			uint64_t c = __atomic_load_n(&stats[i]->by_status[k],
						     __ATOMIC_RELAXED);
			char code[16];

			if (!c)
				continue;
			if (counted_status[k])
				snprintf(code, sizeof(code), "%d", counted_status[k]);
			else
				snprintf(code, sizeof(code), "other");
			clr_buf_printf(out, "clarion_http_requests_total{handler=\"%s\","
				       "code=\"%s\"} %llu\n", stats[i]->name, code,
				       (unsigned long long)c);
		}
	clr_buf_addstr(out, "# HELP clarion_http_request_duration_seconds Time "
		       "from the request line to the queued answer, by route.\n"
		       "# TYPE clarion_http_request_duration_seconds histogram\n");
	for (size_t i = 0; i < n; i++) {
		char labels[128];

		snprintf(labels, sizeof(labels), "handler=\"%s\"", stats[i]->name);
		clr_http_hist_write(out, "clarion_http_request_duration_seconds",
				    labels, &stats[i]->latency);
	}
}

/* ------------------------------------------------------------------ */
/* Routing                                                             */

void clr_http_path_normalize(char *path)
{
	char *w = path;

	for (const char *r = path; *r; r++) {
		if (*r == '/' && w > path && w[-1] == '/')
			continue;
		*w++ = *r;
	}
	*w = '\0';
	if (w - path > 1 && w[-1] == '/')
		w[-1] = '\0';
}

int clr_http_pattern_match(const char *pattern, const char *path,
			   char **caps, size_t ncap)
{
	const char *p = pattern, *s = path;
	size_t n = 0;

	for (;;) {
		size_t plen, slen;

		while (*p == '/')
			p++;
		while (*s == '/')
			s++;
		if (!*p) {
			if (!*s)
				return (int)n;
			goto fail;
		}
		plen = strcspn(p, "/");
		slen = strcspn(s, "/");
		if (plen == 3 && !strncmp(p, "{*}", 3) && !p[3]) {
			if (!slen)
				goto fail;
			if (caps && n < ncap)
				caps[n] = clr_strdup(s);
			return (int)(n + 1);
		}
		if (!slen)
			goto fail;
		if (plen == 2 && !strncmp(p, "{}", 2)) {
			if (caps && n < ncap)
				caps[n] = clr_strndup(s, slen);
			n++;
		} else if (plen != slen || strncmp(p, s, plen)) {
			goto fail;
		}
		p += plen;
		s += slen;
	}
fail:
	for (size_t i = 0; caps && i < n && i < ncap; i++) {
		free(caps[i]);
		caps[i] = NULL;
	}
	return -1;
}

int clr_http_mode_parse(unsigned *out, const char *name)
{
	static const struct {
		const char *name;
		unsigned mode;
	} modes[] = {
		{ "combo", CLR_MODE_COMBO }, { "indexer", CLR_MODE_INDEXER },
		{ "matcher", CLR_MODE_MATCHER }, { "notifier", CLR_MODE_NOTIFIER },
	};

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (!strcasecmp(name, modes[i].name)) {
			*out = modes[i].mode;
			return 0;
		}
	return clr_error_set(CLR_EINVALID, "unknown mode '%s' (expected combo, "
			     "indexer, matcher or notifier)", name);
}

const char *clr_http_mode_name(unsigned mode)
{
	switch (mode) {
	case CLR_MODE_INDEXER: return "indexer";
	case CLR_MODE_MATCHER: return "matcher";
	case CLR_MODE_NOTIFIER: return "notifier";
	case CLR_MODE_COMBO: return "combo";
	}
	return "?";
}

bool clr_http_digest_valid(const char *s)
{
	/* One rule for path digests and a posted Manifest's hash. */
	return clr_uri_digest_valid(s);
}

/* ------------------------------------------------------------------ */
/* The server                                                          */

struct mounted {
	const struct clr_http_route *route;
	struct route_stats *stats;
};

struct clr_http_server {
	struct MHD_Daemon *daemon;
	struct clr_http_server_opts o;  /* borrowed pointers inside */
	struct mounted *routes;
	size_t nroutes;
	struct route_stats *unmatched;  /* 404 and 405 */
	atomic_uint inflight;           /* requests between first call and completion */
	atomic_int limited;             /* CLR_HTTP_LIMITED requests running */
	atomic_bool draining;           /* quiesced: refuse new requests */
	size_t n_issuers;
	int port;
};

struct extra_header {
	char *name, *value;
};

struct clr_http_request {
	struct clr_http_server *srv;
	struct MHD_Connection *conn;
	const struct mounted *m;        /* the route, or NULL (404/405) */
	struct route_stats *stats;
	const char *method;             /* MHD's, lives as long as the request */
	char *path;
	char *caps[MAX_CAPS];
	size_t ncaps;
	struct clr_buf body;
	bool too_big;                   /* the body passed max_body */
	bool limited;                   /* holds a CLR_HTTP_LIMITED slot */
	bool queued;                    /* an answer was queued to MHD */
	struct timespec start;
	struct extra_header headers[MAX_EXTRA_HEADERS];
	size_t nheaders;
	/* the reply, until it is queued */
	struct MHD_Response *resp;
	int status;
	size_t resp_len;
};

static double since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (t.tv_nsec - t0->tv_nsec) / 1e9;
}

struct clr_service *clr_http_service(const struct clr_http_request *req)
{
	return req->srv->o.svc;
}

const char *clr_http_method(const struct clr_http_request *req)
{
	return req->method;
}

const char *clr_http_path(const struct clr_http_request *req)
{
	return req->path;
}

const char *clr_http_capture(const struct clr_http_request *req, size_t i)
{
	return i < req->ncaps ? req->caps[i] : NULL;
}

const char *clr_http_query(const struct clr_http_request *req, const char *name)
{
	const char *v = NULL;
	size_t n = 0;

	/* A bare flag ("?vulnerabilities", as Clair v1 clients send it) is
	 * present with the value "", not absent. */
	if (MHD_lookup_connection_value_n(req->conn, MHD_GET_ARGUMENT_KIND,
					       name, strlen(name), &v, &n) != MHD_YES)
		return NULL;
	return v ? v : "";
}

const char *clr_http_header(const struct clr_http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *clr_http_body(const struct clr_http_request *req, size_t *len)
{
	if (len)
		*len = req->body.len;
	return clr_buf_str(&req->body);
}

const char *clr_http_route_name(const struct clr_http_request *req)
{
	return req->m ? req->m->route->name : "unmatched";
}

/* The media type of s (up to ';'), trimmed, into out. */
static void media_type(char *out, size_t n, const char *s, size_t len)
{
	size_t k;

	while (len && (*s == ' ' || *s == '\t'))
		s++, len--;
	k = 0;
	while (k < len && s[k] != ';')
		k++;
	while (k && (s[k - 1] == ' ' || s[k - 1] == '\t'))
		k--;
	if (k >= n)
		k = n - 1;
	memcpy(out, s, k);
	out[k] = '\0';
}

static bool range_matches(const char *range, const char *type)
{
	const char *slash = strchr(type, '/');

	if (!strcmp(range, "*/*"))
		return true;
	if (slash && !strcmp(range + (slash - type) + 1, "*") &&
	    !strncasecmp(range, type, (size_t)(slash - type) + 1))
		return true;
	return !strcasecmp(range, type);
}

const char *clr_http_negotiate(const struct clr_http_request *req,
			       const char *const *types)
{
	const char *accept = clr_http_header(req, "Accept");
	struct {
		char range[128];
		double q;
	} ranges[32];
	size_t n = 0;

	if (!accept || !*accept)
		return types[0];
	for (const char *p = accept; *p && n < 32;) {
		size_t len = strcspn(p, ",");
		const char *q = memmem(p, len, ";q=", 3);

		media_type(ranges[n].range, sizeof(ranges[n].range), p, len);
		ranges[n].q = q ? strtod(q + 3, NULL) : 1.0;
		if (ranges[n].range[0])
			n++;
		p += len;
		if (*p == ',')
			p++;
	}
	/* A stable insertion sort by q, highest first. */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && ranges[j].q > ranges[j - 1].q; j--) {
			char tmp[sizeof(ranges[0])];

			memcpy(tmp, &ranges[j], sizeof(tmp));
			memcpy(&ranges[j], &ranges[j - 1], sizeof(tmp));
			memcpy(&ranges[j - 1], tmp, sizeof(tmp));
		}
	for (size_t i = 0; i < n; i++) {
		if (ranges[i].q <= 0)
			continue;
		for (size_t t = 0; types[t]; t++)
			if (range_matches(ranges[i].range, types[t]))
				return types[t];
	}
	return NULL;
}

bool clr_http_content_type_is(const struct clr_http_request *req,
			      const char *const *types)
{
	const char *ct = clr_http_header(req, "Content-Type");
	char mt[128];

	if (!ct)
		return true;
	media_type(mt, sizeof(mt), ct, strlen(ct));
	for (size_t i = 0; types[i]; i++)
		if (!strcasecmp(mt, types[i]))
			return true;
	return false;
}

void clr_http_add_header(struct clr_http_request *req, const char *name,
			 const char *value)
{
	if (req->nheaders == MAX_EXTRA_HEADERS) {
		clr_log_warn("http: too many headers on one reply; '%s' dropped", name);
		return;
	}
	req->headers[req->nheaders].name = clr_strdup(name);
	req->headers[req->nheaders++].value = clr_strdup(value);
}

bool clr_http_etag(struct clr_http_request *req, const char *tag)
{
	const char *inm = clr_http_header(req, "If-None-Match");
	size_t taglen = strlen(tag);
	char *quoted = clr_malloc(taglen + 3);

	snprintf(quoted, taglen + 3, "\"%s\"", tag);
	clr_http_add_header(req, "ETag", quoted);
	free(quoted);
	if (!inm)
		return false;
	for (const char *p = inm; *p;) {
		size_t len;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		len = strcspn(p, ",");
		while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len == 1 && *p == '*')
			return true;
		if (len >= 2 && !strncmp(p, "W/", 2))
			p += 2, len -= 2;
		if (len == taglen + 2 && p[0] == '"' && !strncmp(p + 1, tag, taglen) &&
		    p[len - 1] == '"')
			return true;
		p += len;
		while (*p && *p != ',')
			p++;
	}
	return false;
}

/* Whether the client takes gzip (a "gzip" coding whose q is not 0). */
static bool accepts_gzip(const struct clr_http_request *req)
{
	const char *ae = clr_http_header(req, "Accept-Encoding");

	for (const char *p = ae; p && *p;) {
		size_t len = strcspn(p, ",");
		char mt[64];

		media_type(mt, sizeof(mt), p, len);
		if (!strcasecmp(mt, "gzip") || !strcmp(mt, "*")) {
			const char *q = memmem(p, len, "q=", 2);

			if (!q || strtod(q + 2, NULL) > 0)
				return true;
		}
		p += len;
		if (*p == ',')
			p++;
	}
	return false;
}

/* body gzip-compressed into *out (caller frees), or -1 on failure. */
static int gzip_body(unsigned char **out, size_t *outlen, const void *body,
		     size_t len)
{
	z_stream z;
	size_t cap = deflateBound(NULL, (uLong)len) + 32;
	unsigned char *buf;
	int rc;

	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	buf = clr_malloc(cap);
	z.next_in = (Bytef *)body;
	z.avail_in = (uInt)len;
	z.next_out = buf;
	z.avail_out = (uInt)cap;
	rc = deflate(&z, Z_FINISH);
	*outlen = z.total_out;
	deflateEnd(&z);
	if (rc != Z_STREAM_END) {
		free(buf);
		return -1;
	}
	*out = buf;
	return 0;
}

/* Headers every reply gets, and the reply made the request's. */
static void finish_reply(struct clr_http_request *req, struct MHD_Response *r,
			 int status, const char *content_type, bool gzipped,
			 bool vary, size_t len)
{
	if (gzipped)
		MHD_add_response_header(r, "Content-Encoding", "gzip");
	/* A client without Accept-Encoding must not get a cached gzip. */
	if (vary)
		MHD_add_response_header(r, "Vary", "Accept-Encoding");
	if (content_type)
		MHD_add_response_header(r, "Content-Type", content_type);
	for (size_t i = 0; i < req->nheaders; i++)
		MHD_add_response_header(r, req->headers[i].name, req->headers[i].value);
	req->resp = r;
	req->status = status;
	req->resp_len = len;
}

int clr_http_reply(struct clr_http_request *req, int status,
		   const char *content_type, const void *body, size_t len)
{
	struct MHD_Response *r;
	unsigned char *gz = NULL;
	size_t gzlen = 0;
	bool compress;

	if (req->resp) {
		clr_log_warn("http: %s replied twice; the second reply is dropped",
			     clr_http_route_name(req));
		return 0;
	}
	compress = len >= GZIP_MIN && status != 204 && status != 304 &&
		   !(req->m && (req->m->route->flags & CLR_HTTP_NO_GZIP)) &&
		   accepts_gzip(req) && !gzip_body(&gz, &gzlen, body, len);
	if (compress)
		r = MHD_create_response_from_buffer(gzlen, gz, MHD_RESPMEM_MUST_FREE);
	else
		r = MHD_create_response_from_buffer(len, (void *)body,
						    MHD_RESPMEM_MUST_COPY);
	if (!r) {
		free(gz);
		return clr_error_set(CLR_ENOMEM, "cannot make a response");
	}
	finish_reply(req, r, status, content_type, compress, compress,
		     compress ? gzlen : len);
	return 0;
}

bool clr_http_accepts_gzip(const struct clr_http_request *req)
{
	return accepts_gzip(req);
}

int clr_http_reply_shared(struct clr_http_request *req, int status,
			  const char *content_type, const void *body,
			  size_t len, const void *gz, size_t gzlen,
			  void (*release)(void *cls), void *cls)
{
	struct MHD_Response *r;
	bool compress;

	if (req->resp) {
		clr_log_warn("http: %s replied twice; the second reply is dropped",
			     clr_http_route_name(req));
		release(cls);
		return 0;
	}
	compress = gz && !(req->m && (req->m->route->flags & CLR_HTTP_NO_GZIP)) &&
		   accepts_gzip(req);
	r = MHD_create_response_from_buffer_with_free_callback_cls(
		compress ? gzlen : len, (void *)(compress ? gz : body),
		release, cls);
	if (!r) {
		release(cls);
		return clr_error_set(CLR_ENOMEM, "cannot make a response");
	}
	finish_reply(req, r, status, content_type, compress, gz != NULL,
		     compress ? gzlen : len);
	return 0;
}

int clr_http_reply_status(struct clr_http_request *req, int status)
{
	return clr_http_reply(req, status, NULL, "", 0);
}

int clr_http_reply_json(struct clr_http_request *req, int status,
			const char *content_type, const json_t *json)
{
	char *text = json_dumps(json, JSON_COMPACT | JSON_REAL_PRECISION(15));
	int err;

	if (!text)
		return clr_error_set(CLR_ENOMEM, "cannot encode the answer");
	err = clr_http_reply(req, status, content_type ? content_type
			     : "application/json", text, strlen(text));
	free(text);
	return err;
}

static const char *error_code(int status)
{
	switch (status) {
	case 400: return "bad-request";
	case 404: return "not-found";
	case 405: return "method-not-allowed";
	case 429: return "too-many-requests";
	}
	return "internal-error";
}

int clr_http_reply_error(struct clr_http_request *req, int status,
			 const char *fmt, ...)
{
	char msg[1024];
	json_t *o;
	va_list ap;
	int err;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	clr_http_add_header(req, "X-Content-Type-Options", "nosniff");
	o = json_pack("{s:s, s:s}", "code", error_code(status), "message", msg);
	err = clr_http_reply_json(req, status, "application/json", o);
	json_decref(o);
	return err;
}

int clr_http_status_of(int err)
{
	switch (err) {
	case CLR_EINVALID: return 400;
	case CLR_ENOTFOUND: return 404;
	case CLR_ELIMIT: return 413;
	case CLR_EBUSY: return 429;
	case CLR_EAUTH: return 401;
	case CLR_ENET: return 503;
	}
	return 500;
}

bool clr_http_replied(const struct clr_http_request *req)
{
	return req->resp != NULL;
}

/* Queues what the request replied (or 500 when it did not). */
static enum MHD_Result queue(struct clr_http_request *req)
{
	enum MHD_Result rc;

	if (!req->resp)
		clr_http_reply_error(req, 500, "the handler gave no answer");
	rc = MHD_queue_response(req->conn, (unsigned)req->status, req->resp);
	MHD_destroy_response(req->resp);
	req->resp = NULL;
	req->queued = true;
	return rc;
}

static bool authorized(struct clr_http_request *req)
{
	const struct clr_http_server *s = req->srv;
	const char *h;

	if (!s->o.psk_len || (req->m && (req->m->route->flags & CLR_HTTP_OPEN)))
		return true;
	h = clr_http_header(req, "Authorization");
	if (!h || strncasecmp(h, "Bearer ", 7))
		return false;
	h += 7;
	while (*h == ' ')
		h++;
	if (clr_jwt_verify(h, s->o.psk, s->o.psk_len, s->o.issuers, s->n_issuers,
			   (int64_t)time(NULL))) {
		clr_log_info("http: %s %s: token refused: %s", req->method,
			     req->path, clr_error_msg());
		return false;
	}
	return true;
}

/* Routes req: sets req->m and the captures, or answers 404/405. */
static bool route(struct clr_http_request *req)
{
	struct clr_http_server *s = req->srv;
	/* HEAD is a GET without the body (MHD drops it), as Go's router. */
	const char *method = strcmp(req->method, "HEAD") ? req->method : "GET";
	char allow[128] = "";

	for (size_t i = 0; i < s->nroutes; i++) {
		const struct clr_http_route *r = s->routes[i].route;
		int n;

		if (strcmp(r->method, method)) {
			if (clr_http_pattern_match(r->pattern, req->path, NULL, 0) >= 0 &&
			    !strstr(allow, r->method)) {
				if (*allow)
					strncat(allow, ", ", sizeof(allow) - strlen(allow) - 1);
				strncat(allow, r->method, sizeof(allow) - strlen(allow) - 1);
			}
			continue;
		}
		n = clr_http_pattern_match(r->pattern, req->path, req->caps, MAX_CAPS);
		if (n < 0)
			continue;
		req->ncaps = (size_t)n < MAX_CAPS ? (size_t)n : MAX_CAPS;
		req->m = &s->routes[i];
		req->stats = s->routes[i].stats;
		return true;
	}
	if (*allow) {
		clr_http_add_header(req, "Allow", allow);
		clr_http_reply_error(req, 405, "method %s not allowed on %s (allowed: %s)",
				     req->method, req->path, allow);
	} else {
		clr_http_reply_error(req, 404, "no such endpoint: %s", req->path);
	}
	return false;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct clr_http_server *s = cls;
	struct clr_http_request *req = *con_cls;
	const char *cl;

	(void)version;
	if (!req) {
		req = clr_calloc(1, sizeof(*req));
		*con_cls = req;
		atomic_fetch_add(&s->inflight, 1);
		clock_gettime(CLOCK_MONOTONIC, &req->start);
		req->srv = s;
		req->conn = conn;
		req->method = method;
		req->path = clr_strdup(*url ? url : "/");
		clr_http_path_normalize(req->path);
		req->stats = s->unmatched;
		clr_buf_init(&req->body, s->o.max_body + 1);
		if (atomic_load(&s->draining)) {
			clr_http_add_header(req, "Connection", "close");
			clr_http_reply_error(req, 503, "the server is shutting down");
			return queue(req);
		}
		if (!route(req))
			return queue(req);
		if (!authorized(req)) {
			/* Clair answers 401 with an empty body. */
			clr_http_reply_status(req, 401);
			return queue(req);
		}
		/* Database not reached yet since the start (the connector is
		 * retrying, service.h): every API route depends on it, so
		 * answer for all of them rather than per handler. */
		if (!s->o.introspection && s->o.svc &&
		    !(req->m->route->flags & CLR_HTTP_OPEN) &&
		    clr_service_connect_state(s->o.svc) != CLR_SERVICE_CONNECTED) {
			clr_http_add_header(req, "Retry-After", "5");
			clr_http_reply_error(req, 503, "the database is not "
					     "reachable yet; retry later");
			return queue(req);
		}
		cl = clr_http_header(req, "Content-Length");
		if (cl && strtoull(cl, NULL, 10) > s->o.max_body) {
			clr_http_add_header(req, "Connection", "close");
			clr_http_reply_error(req, 413, "request body over the limit "
					     "of %zu bytes", s->o.max_body);
			return queue(req);
		}
		if (req->m->route->flags & CLR_HTTP_LIMITED && s->o.index_limit >= 0) {
			if (atomic_fetch_add(&s->limited, 1) >= s->o.index_limit) {
				atomic_fetch_sub(&s->limited, 1);
				clr_http_reply_error(req, 429, "more than %d index "
						     "requests at once; retry later",
						     s->o.index_limit);
				return queue(req);
			}
			req->limited = true;
		}
		return MHD_YES;
	}
	if (req->queued) {
		*upload_size = 0; /* answered already: the rest is dropped */
		return MHD_YES;
	}
	if (*upload_size) {
		if (!req->too_big && clr_buf_add(&req->body, upload, *upload_size))
			req->too_big = true;
		*upload_size = 0;
		return MHD_YES;
	}
	if (req->too_big) {
		clr_http_add_header(req, "Connection", "close");
		clr_http_reply_error(req, 413, "request body over the limit of %zu "
				     "bytes", s->o.max_body);
		return queue(req);
	}
	clr_error_clear();
	{
		int err = req->m->route->handler(req);

		if (err && !req->resp) {
			int status = clr_http_status_of(err);

			if (status == 401)
				clr_http_reply_status(req, 401);
			else
				clr_http_reply_error(req, status, "%s", clr_error_msg());
		}
	}
	return queue(req);
}

static void on_completed(void *cls, struct MHD_Connection *conn,
			 void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct clr_http_server *s = cls;
	struct clr_http_request *req = *con_cls;
	double secs;
	int status;

	(void)conn;
	if (!req)
		return;
	*con_cls = NULL;
	secs = since(&req->start);
	/* 499: the client went away before the answer was sent (nginx's and
	 * Clair's convention). */
	status = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? req->status : 499;
	if (!req->queued)
		status = 499;
	if (req->stats) {
		size_t k = 0;

		while (counted_status[k] && counted_status[k] != status)
			k++;
		__atomic_fetch_add(&req->stats->by_status[k], 1, __ATOMIC_RELAXED);
		clr_http_hist_observe(&req->stats->latency, secs);
	}
	if (s->o.introspection)
		clr_log_debug("http: %s %s %d %.1f ms", req->method, req->path,
			      status, secs * 1e3);
	else
		clr_log_info("http: %s %s %d %zu bytes %.1f ms", req->method,
			     req->path, status, req->resp_len, secs * 1e3);
	if (req->limited)
		atomic_fetch_sub(&s->limited, 1);
	if (req->resp)
		MHD_destroy_response(req->resp);
	for (size_t i = 0; i < req->ncaps; i++)
		free(req->caps[i]);
	for (size_t i = 0; i < req->nheaders; i++) {
		free(req->headers[i].name);
		free(req->headers[i].value);
	}
	clr_buf_release(&req->body);
	free(req->path);
	free(req);
	atomic_fetch_sub(&s->inflight, 1);
}

/* Parses "host:port", ":port", "[v6]:port" into host (possibly "") and
 * port. */
static int parse_listen(const char *addr, char *host, size_t hostsz, int *port)
{
	const char *colon, *h = addr;
	size_t hlen;
	char *end;
	long p;

	if (*addr == '[') {
		const char *close = strchr(addr, ']');

		if (!close || close[1] != ':')
			goto bad;
		h = addr + 1;
		hlen = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(addr, ':');
		if (!colon)
			goto bad;
		hlen = (size_t)(colon - addr);
	}
	if (hlen >= hostsz)
		goto bad;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	p = strtol(colon + 1, &end, 10);
	if (!colon[1] || *end || p < 0 || p > 65535)
		goto bad;
	*port = (int)p;
	return 0;
bad:
	return clr_error_set(CLR_EINVALID, "bad listen address '%s' (expected "
			     "host:port, :port or [v6addr]:port)", addr);
}

int clr_http_server_start(struct clr_http_server **out,
			  const struct clr_http_server_opts *o)
{
	struct clr_http_server *s;
	struct addrinfo hints, *ai = NULL;
	char host[256];
	int port = 0, gai, err;
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION |
			 MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
			 MHD_USE_ITC;
	const union MHD_DaemonInfo *info;
	bool tls = o->tls_cert_pem && o->tls_key_pem;
	/* Empty unless TLS. */
	struct MHD_OptionItem tls_opts[] = {
		{ tls ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0,
		  (void *)(uintptr_t)o->tls_key_pem },
		{ MHD_OPTION_HTTPS_MEM_CERT, 0,
		  (void *)(uintptr_t)o->tls_cert_pem },
		{ MHD_OPTION_END, 0, NULL },
	};
	/* The address to listen on when the host is given (filled below);
	 * empty: every address, both families. */
	struct MHD_OptionItem where[] = {
		{ MHD_OPTION_END, 0, NULL },
		{ MHD_OPTION_END, 0, NULL },
	};

	*out = NULL;
	if ((err = parse_listen(o->listen, host, sizeof(host), &port)))
		return err;
	if (tls) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
			return clr_error_set(CLR_EUNSUPPORTED, "tls.cert is set but "
					     "this libmicrohttpd was built without "
					     "TLS (GnuTLS): terminate TLS in a proxy "
					     "or install a TLS-enabled build");
		flags |= MHD_USE_TLS;
	}
	s = clr_calloc(1, sizeof(*s));
	s->o = *o;
	if (!s->o.max_connections)
		s->o.max_connections = 1024;
	for (const char *const *i = o->issuers; i && *i; i++)
		s->n_issuers++;
	s->unmatched = stats_for(o->introspection ? "introspection_unmatched"
				 : "unmatched");
	/* Mount the tables of this mode. */
	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]) + 1; t++) {
		const struct clr_http_route *rt;

		if (o->introspection != (t == sizeof(tables) / sizeof(tables[0])))
			continue;
		if (o->introspection)
			rt = clr_http_introspect_routes;
		else if (tables[t].modes & o->mode)
			rt = tables[t].routes;
		else
			continue;
		for (; rt->method; rt++) {
			s->routes = clr_realloc(s->routes, (s->nroutes + 1) *
						sizeof(*s->routes));
			s->routes[s->nroutes].route = rt;
			s->routes[s->nroutes++].stats = stats_for(rt->name);
		}
	}

	if (*host) {
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
		char portstr[8];

		snprintf(portstr, sizeof(portstr), "%d", port);
		if ((gai = getaddrinfo(host, portstr, &hints, &ai))) {
			err = clr_error_set(CLR_EINVALID, "listen address %s: %s",
					    o->listen, gai_strerror(gai));
			goto fail;
		}
		if (ai->ai_family == AF_INET6)
			flags |= MHD_USE_IPv6;
		where[0] = (struct MHD_OptionItem){ .option = MHD_OPTION_SOCK_ADDR,
						    .value = 0,
						    .ptr_value = ai->ai_addr };
	} else {
		flags |= MHD_USE_DUAL_STACK;
	}
	s->daemon = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL,
				     on_request, s,
				     MHD_OPTION_ARRAY, where,
				     MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
				     MHD_OPTION_CONNECTION_TIMEOUT,
				     (unsigned)o->timeout_secs,
				     MHD_OPTION_CONNECTION_LIMIT,
				     s->o.max_connections,
				     MHD_OPTION_CONNECTION_MEMORY_LIMIT,
				     (size_t)(64 * 1024),
				     MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u,
				     MHD_OPTION_ARRAY, tls_opts,
				     MHD_OPTION_END);
	if (ai)
		freeaddrinfo(ai);
	if (!s->daemon && tls) {
		err = clr_error_set(CLR_EIO, "cannot listen with TLS on %s (the "
				    "tls.cert or tls.key PEM is not valid, they do "
				    "not match, or the address is in use)",
				    o->listen);
		goto fail;
	}
	if (!s->daemon) {
		err = clr_error_set(CLR_EIO, "cannot listen on %s (address in use, "
				    "or not an address of this machine)", o->listen);
		goto fail;
	}
	info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : port;
	*out = s;
	return 0;
fail:
	free(s->routes);
	free(s);
	return err;
}

int clr_http_server_port(const struct clr_http_server *s)
{
	return s->port;
}

unsigned clr_http_server_inflight(const struct clr_http_server *s)
{
	return atomic_load(&((struct clr_http_server *)s)->inflight);
}

void clr_http_server_quiesce(struct clr_http_server *s)
{
	MHD_socket fd;

	if (!s || atomic_exchange(&s->draining, true))
		return;
	fd = MHD_quiesce_daemon(s->daemon);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
}

void clr_http_server_stop(struct clr_http_server *s, int64_t grace_ms)
{
	struct timespec t0;

	if (!s)
		return;
	clr_http_server_quiesce(s);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (atomic_load(&s->inflight) && since(&t0) * 1e3 < (double)grace_ms) {
		struct timespec nap = { 0, 20 * 1000 * 1000 };

		nanosleep(&nap, NULL);
	}
	if (atomic_load(&s->inflight))
		clr_log_warn("http: %u requests still running after %lld ms; "
			     "stopping anyway", atomic_load(&s->inflight),
			     (long long)grace_ms);
	MHD_stop_daemon(s->daemon);
	free(s->routes);
	free(s);
}
