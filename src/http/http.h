/*
 * http.h - clarion's HTTP server core (libmicrohttpd): routing, limits,
 * auth, metrics and the response helpers every API file uses.
 *
 * How to add routes (the legacy v1 API, the notifier API, ...):
 *
 *   1. In your file (src/http/v1.c), write handlers and one route table
 *      ending with an all-NULL row:
 *
 *          static int get_layer(struct clr_http_request *req)
 *          {
 *                  struct clr_service *svc = clr_http_service(req);
 *                  const char *name = clr_http_capture(req, 0);
 *                  ...
 *                  return clr_http_reply_json(req, 200, "application/json", obj);
 *          }
 *
 *          const struct clr_http_route clr_http_v1_routes[] = {
 *                  { "GET", "/v1/layers/{}", get_layer, "v1_layer", 0 },
 *                  { "POST", "/v1/layers", post_layer, "v1_layers",
 *                    CLR_HTTP_LIMITED },
 *                  { NULL, NULL, NULL, NULL, 0 },
 *          };
 *
 *   2. Declare the table below (one line, next to the others) and mount it
 *      with one line in the `tables` array at the top of server.c, saying
 *      in which serve modes it exists.
 *
 * Patterns are matched segment by segment: a literal segment matches
 * itself, "{}" matches one non-empty segment (its text, percent-decoded, is
 * capture 0, 1, ... in order), and a final "{*}" matches the rest of the
 * path (one or more segments, slashes kept, not decoded).  A trailing slash
 * on the request path is ignored, and a run of slashes counts as one (Clair
 * clients send "//indexer/..." when their base URL ends in '/').  A path
 * some route matches with another method gets 405 with Allow; no match at
 * all gets 404; both with Clair's error body.
 *
 * A handler runs on the connection's own thread and may block (indexing
 * takes seconds).  It answers with exactly one clr_http_reply*() call and
 * returns 0; or it returns a CLR_E* code without replying, and the server
 * answers for it from the code and clr_error_msg():
 *
 *     CLR_EINVALID 400 bad-request     CLR_ENOTFOUND 404 not-found
 *     CLR_ELIMIT   413                 CLR_EBUSY     429 too-many-requests
 *     CLR_EAUTH    401 (no body)       CLR_ENET      503 (store down)
 *     anything else 500 internal-error
 *
 * Memory: strings a request hands out (path, captures, query values,
 * headers, the body) are borrowed and live until the handler returns.
 * Reply functions copy what they are given (json_t arguments are borrowed,
 * not stolen).
 */
#ifndef CLR_HTTP_HTTP_H
#define CLR_HTTP_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

struct clr_http_request;
struct clr_http_server;
struct clr_service;

typedef int (*clr_http_handler)(struct clr_http_request *req);

/* Route flags. */
enum {
	CLR_HTTP_OPEN = 1u << 0,    /* no Authorization needed, even with
				     * auth.psk set (/robots.txt) */
	CLR_HTTP_LIMITED = 1u << 1, /* counts against the index concurrency
				     * limit (429 beyond it) */
	CLR_HTTP_NO_GZIP = 1u << 2, /* never compress the answer */
};

struct clr_http_route {
	const char *method;      /* "GET", "POST", "DELETE", ... */
	const char *pattern;     /* "/indexer/api/v1/index_report/{}" */
	clr_http_handler handler;
	const char *name;        /* the metrics label: [a-z0-9_]+ */
	unsigned flags;          /* CLR_HTTP_* */
};

/* Serve modes, as bits: a table is mounted in the modes it names. */
enum {
	CLR_MODE_INDEXER = 1u << 0,
	CLR_MODE_MATCHER = 1u << 1,
	CLR_MODE_NOTIFIER = 1u << 2,
	CLR_MODE_COMBO = 1u << 3,
	CLR_MODE_ALL = 0xfu,
};

/* "combo", "indexer", "matcher", "notifier" into *out (CLR_MODE_*), or
 * CLR_EINVALID naming the modes. */
int clr_http_mode_parse(unsigned *out, const char *name);
const char *clr_http_mode_name(unsigned mode);

/* The route tables (NULL-row terminated).  One line per API file. */
extern const struct clr_http_route clr_http_v4_indexer_routes[];
extern const struct clr_http_route clr_http_v4_matcher_routes[];
extern const struct clr_http_route clr_http_v4_common_routes[];
extern const struct clr_http_route clr_http_introspect_routes[];
extern const struct clr_http_route clr_http_v1_routes[];
/* Clair v2's GET /health (v1.c), mounted on the introspection listener. */
int clr_http_v1_health(struct clr_http_request *req);
extern const struct clr_http_route clr_http_notifier_routes[];

/* --- the server --------------------------------------------------------- */

struct clr_http_server_opts {
	const char *listen;        /* "host:port", ":port", "[v6]:port";
				    * port 0 picks a free one */
	unsigned mode;             /* CLR_MODE_*: which tables to mount */
	bool introspection;        /* serve clr_http_introspect_routes only
				    * (no auth, no mode tables) */
	size_t max_body;           /* request bodies, at most (413 beyond) */
	int index_limit;           /* CLR_HTTP_LIMITED requests at once;
				    * < 0: unlimited */
	unsigned timeout_secs;     /* idle connection timeout; 0: none */
	unsigned max_connections;  /* at once; 0: 1024 */
	struct clr_service *svc;   /* borrowed; handed to handlers */
	/* auth.psk: when key_len > 0, every route not CLR_HTTP_OPEN needs
	 * "Authorization: Bearer <JWT>" valid for key and one of issuers. */
	const unsigned char *psk;
	size_t psk_len;
	const char *const *issuers; /* NULL-terminated */
	/* tls.cert and tls.key (Clair's): when both are set, the listener
	 * speaks HTTPS only; PEM text, not paths.  CLR_EUNSUPPORTED when
	 * libmicrohttpd was built without TLS. */
	const char *tls_cert_pem;
	const char *tls_key_pem;
};

/* Binds and starts serving (one thread per connection).  CLR_EINVALID for
 * a malformed address, CLR_EIO when it cannot bind (message says why). */
int clr_http_server_start(struct clr_http_server **out,
			  const struct clr_http_server_opts *o);

/* The port actually bound (useful with port 0). */
int clr_http_server_port(const struct clr_http_server *s);

/* Stops accepting new connections; requests in flight go on. */
void clr_http_server_quiesce(struct clr_http_server *s);

/* Waits up to grace_ms for requests in flight to finish, then stops the
 * server and frees it.  NULL does nothing. */
void clr_http_server_stop(struct clr_http_server *s, int64_t grace_ms);

/* Requests being handled right now on s. */
unsigned clr_http_server_inflight(const struct clr_http_server *s);

/* --- the request -------------------------------------------------------- */

struct clr_service *clr_http_service(const struct clr_http_request *req);
const char *clr_http_method(const struct clr_http_request *req);
/* The path as routed: no query, runs of '/' collapsed, no trailing '/'. */
const char *clr_http_path(const struct clr_http_request *req);
/* Capture i of the route's pattern ("{}" decoded, "{*}" raw), or NULL. */
const char *clr_http_capture(const struct clr_http_request *req, size_t i);
/* A query parameter's value (decoded), or NULL when absent. */
const char *clr_http_query(const struct clr_http_request *req, const char *name);
/* A request header (case-insensitive name), or NULL. */
const char *clr_http_header(const struct clr_http_request *req, const char *name);
/* The request body (NUL-terminated; *len may be NULL), "" when none. */
const char *clr_http_body(const struct clr_http_request *req, size_t *len);
/* The matched route's name. */
const char *clr_http_route_name(const struct clr_http_request *req);

/* Content negotiation as Clair does for GETs: Accept parsed and sorted by
 * q; the first of the NULL-terminated types that matches an accepted range
 * ("*" "/" "*" and "type/" "*" too) wins.  No Accept: types[0].  NULL when
 * nothing matches: the handler answers 415 (clr_http_reply_error). */
const char *clr_http_negotiate(const struct clr_http_request *req,
			       const char *const *types);

/* Whether the Content-Type of the body is one of the NULL-terminated types
 * (parameters ignored); an absent Content-Type is accepted. */
bool clr_http_content_type_is(const struct clr_http_request *req,
			      const char *const *types);

/* --- the response ------------------------------------------------------- */

/* Adds a header to the coming reply (copied; call before replying). */
void clr_http_add_header(struct clr_http_request *req, const char *name,
			 const char *value);

/* Sets a strong ETag ("\"" tag "\"") on the coming reply and returns true
 * when the request's If-None-Match matches it: the handler then replies
 * with clr_http_reply_status(req, 304) (GET) or 412 (POST). */
bool clr_http_etag(struct clr_http_request *req, const char *tag);

/* A reply of len bytes of body (copied) with content_type (NULL: none).
 * Gzip-compressed when the client accepts gzip, the body is large enough
 * to gain and the route allows it. */
int clr_http_reply(struct clr_http_request *req, int status,
		   const char *content_type, const void *body, size_t len);

/* A reply whose body is shared rather than copied: body (len bytes) and,
 * when not NULL, its gzip form (gzlen bytes) stay valid until
 * release(cls) is called once the server is done with them.  gz is sent
 * when the client accepts gzip.  release is called exactly once, also
 * when this fails. */
int clr_http_reply_shared(struct clr_http_request *req, int status,
			  const char *content_type, const void *body,
			  size_t len, const void *gz, size_t gzlen,
			  void (*release)(void *cls), void *cls);

/* Whether the client accepts a gzip-encoded reply. */
bool clr_http_accepts_gzip(const struct clr_http_request *req);

/* A reply with no body (204, 304, 202, 401, ...). */
int clr_http_reply_status(struct clr_http_request *req, int status);

/* json (borrowed) as compact text. */
int clr_http_reply_json(struct clr_http_request *req, int status,
			const char *content_type, const json_t *json);

/* Clair's error body {"code": ..., "message": ...} with status; the code
 * follows from the status (bad-request, not-found, method-not-allowed,
 * too-many-requests, internal-error, ...). */
int clr_http_reply_error(struct clr_http_request *req, int status,
			 const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The status the server answers a CLR_E* code with (table above). */
int clr_http_status_of(int err);

/* Whether a reply was made. */
bool clr_http_replied(const struct clr_http_request *req);

/* --- metrics ------------------------------------------------------------ */

/* Appends every route's request counts (by status) and latency histogram,
 * for every server started, in Prometheus text format. */
void clr_http_metrics_write(struct clr_buf *out);

/* A latency histogram with the buckets the routes use, for other timings
 * (index and match durations).  Thread-safe (atomics). */
#define CLR_HTTP_HIST_BUCKETS 12
struct clr_http_hist {
	uint64_t counts[CLR_HTTP_HIST_BUCKETS + 1]; /* last: +Inf */
	uint64_t sum_us;
	uint64_t total;
};
void clr_http_hist_observe(struct clr_http_hist *h, double seconds);
/* Writes h as the Prometheus histogram name{labels} (labels may be ""). */
void clr_http_hist_write(struct clr_buf *out, const char *name,
			 const char *labels, const struct clr_http_hist *h);

/* --- small helpers ------------------------------------------------------ */

/* Whether s is a digest Clair accepts: "sha256:" + 64 lowercase hex, or
 * "sha512:" + 128. */
bool clr_http_digest_valid(const char *s);

/* Matches path against pattern (rules above), filling up to ncap captures
 * (borrowed slices written as NUL-terminated copies into caps[i], caller
 * frees each).  Returns the number of captures, or -1 for no match.
 * Exposed for tests. */
int clr_http_pattern_match(const char *pattern, const char *path,
			   char **caps, size_t ncap);

/* Collapses runs of '/' and drops a trailing '/' (not of "/") in place. */
void clr_http_path_normalize(char *path);

#endif
