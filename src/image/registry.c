/*
 * registry.c - the docker:// transport: a Docker Registry HTTP API v2 /
 * OCI distribution client on libcurl easy handles.
 *
 * One request goes through fetch(), which owns the policies every request
 * shares:
 *   - authentication: the /v2/ ping at open time learns the scheme; Basic
 *     sends the configured credentials, Bearer fetches a token per scope
 *     from the realm (auth.h) and caches it; a 401 is answered by reading
 *     the challenge and retrying once;
 *   - redirects, followed by hand (at most 5) so that the Authorization
 *     header only ever goes to the registry's own origin (scheme, host and
 *     port as written): blobs are often redirected to object storage, which
 *     must not see the registry's credentials;
 *   - retries of 429, 5xx and broken connections, with exponential
 *     backoff, at most 3 tries, and only while no byte of the body has
 *     been handed to the consumer;
 *   - timeouts (connect, and "less than 1 byte/s for timeout_secs") and
 *     the mapping of failures to codes: 404 CLR_ENOTFOUND; 401/403 and
 *     other 4xx CLR_EINVALID with the registry's own error message;
 *     429/5xx and network failures CLR_ENET.
 *
 * Blobs stream: open_blob() starts a thread that runs the download into a
 * 1 MiB ring buffer, so the network overlaps the consumer's hashing and
 * inflating.  Closing the stream early cancels the transfer and joins the
 * thread.  The source is reference-counted so that a stream may outlive
 * the source's free().
 *
 * SSRF policy (clr_registry_open_url, the URLs `clarion serve`'s clients
 * give): every hop's host is checked against opts->allowed_hosts before
 * it is requested, and with opts->refuse_private the socket curl opens is
 * checked on the address it is about to connect to (CURLOPT_OPENSOCKET-
 * FUNCTION): what DNS answered at connect time, not at some earlier look,
 * so DNS rebinding and redirects go through the same gate.
 *
 * Trust: TLS is verified unless opts->insecure.  A test or private CA can
 * be given as a PEM file in $CLARION_CA_FILE (or, as curl's own tool reads
 * them, $CURL_CA_BUNDLE or $SSL_CERT_FILE; libcurl itself reads none).
 */
#include "image/registry.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "image/auth.h"
#include "image/reference.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/curl.h"
#include "util/error.h"
#include "util/log.h"
#include "util/sha256.h"

#define DEFAULT_TIMEOUT_SECS 30
#define MAX_TRIES 3            /* attempts for 429, 5xx, broken connections */
#define BACKOFF_FIRST_MS 250   /* doubled after each failed attempt */
#define RETRY_AFTER_MAX_MS 5000
#define MAX_REDIRECTS 5
#define ERROR_BODY_MAX (64 * 1024)  /* kept of a failed answer, for messages */
#define RING_SIZE (4 * 256 * 1024)  /* bytes a blob download may run ahead */
#define POOL_MAX 4             /* idle curl handles kept for reuse */

static const char manifest_accept[] =
	"Accept: application/vnd.oci.image.manifest.v1+json, "
	"application/vnd.oci.image.index.v1+json, "
	"application/vnd.docker.distribution.manifest.v2+json, "
	"application/vnd.docker.distribution.manifest.list.v2+json, "
	"application/vnd.docker.distribution.manifest.v1+prettyjws, "
	"application/vnd.docker.distribution.manifest.v1+json";

enum auth_scheme {
	AUTH_NONE,    /* anonymous (or not known yet) */
	AUTH_BASIC,   /* the registry wants Basic credentials on every request */
	AUTH_BEARER,  /* the registry wants tokens from realm */
};

struct registry {
	struct clr_image_source base;
	atomic_int refs;          /* the source + each open blob stream */
	struct clr_reference *ref;
	char *base_url;           /* "https://host:port", no trailing '/' */
	char *origin;             /* base_url's origin, see origin_of() */
	char *ca_file;            /* CA bundle to trust instead of the system's */
	bool insecure;            /* skip TLS verification */
	long timeout;             /* seconds, see the header comment */
	struct clr_auth_creds creds;  /* from opts or the docker config */
	char **allowed_hosts;     /* SSRF: NULL-terminated patterns, or NULL */
	bool refuse_private;      /* SSRF: see the header comment */

	pthread_mutex_t lock;     /* guards the auth state below */
	enum auth_scheme scheme;
	char *realm;              /* Bearer: the token server */
	char *service;            /* Bearer: its service parameter, or NULL */
	char *scope;              /* scope to ask tokens for */
	struct clr_auth_token_cache tokens;

	pthread_mutex_t pool_lock;  /* guards pool (taken inside lock, never around it) */
	CURL *pool[POOL_MAX];       /* idle handles: they keep connections open */
	int npool;
};

/* What one HTTP exchange answered. */
struct response {
	long status;
	CURLcode cc;
	char *content_type;          /* without parameters, lowercased */
	char *docker_digest;         /* Docker-Content-Digest */
	char *redirect;              /* absolute target of a 3xx */
	long retry_after;            /* seconds; -1 when absent */
	struct clr_buf www_auth;     /* every WWW-Authenticate, joined by ", " */
	struct clr_buf errbody;      /* a non-2xx body, truncated at ERROR_BODY_MAX */
	char errbuf[CURL_ERROR_SIZE];
	char refused[INET6_ADDRSTRLEN]; /* a private address refused at
					 * connect time, or "" */
};

/* Where a 2xx body goes. */
struct sink {
	int (*write)(void *ctx, const char *p, size_t n);  /* 0 or CLR_E* */
	void (*reset)(void *ctx);  /* start over (a retry); NULL: not possible */
	void *ctx;
	bool delivered;  /* write() got bytes and reset is NULL: no more retries */
	int err;         /* write()'s failure, which stopped the transfer */
};

struct fetch_opts {
	const char *what;         /* for messages: "manifest x", "blob y" */
	const char *accept;       /* an "Accept: ..." header line, or NULL */
	bool registry_auth;       /* authenticate to the registry, answer 401s */
	const char *fixed_auth;   /* else: this Authorization value ... */
	const char *auth_origin;  /* ... for requests to this URL's origin */
	const char *const *fixed_headers; /* and/or these "Name: value" lines
					   * (NULL-terminated), to that origin
					   * only, never after a redirect away */
	bool allow_401;           /* a 401 is an answer, not an error (the ping) */
	bool stream;              /* long download: no overall time limit */
	atomic_bool *cancel;      /* set by another thread to stop, or NULL */
};

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */

static void response_init(struct response *resp)
{
	memset(resp, 0, sizeof(*resp));
	resp->retry_after = -1;
	clr_buf_init(&resp->www_auth, CLR_AUTH_HEADER_MAX);
	clr_buf_init(&resp->errbody, ERROR_BODY_MAX);
}

/* Forgets the headers of an answer (a new one is coming). */
static void response_clear_headers(struct response *resp)
{
	free(resp->content_type);
	free(resp->docker_digest);
	resp->content_type = resp->docker_digest = NULL;
	resp->retry_after = -1;
	clr_buf_reset(&resp->www_auth);
	clr_buf_reset(&resp->errbody);
}

static void response_release(struct response *resp)
{
	response_clear_headers(resp);
	free(resp->redirect);
	resp->redirect = NULL;
	clr_buf_release(&resp->www_auth);
	clr_buf_release(&resp->errbody);
}

/* Text from a server, made fit for a one-line message: control bytes
 * become '?', and it is cut at max bytes. */
static char *printable(const char *s, size_t n, size_t max)
{
	char *out;

	if (n > max)
		n = max;
	out = clr_strndup(s, n);
	for (char *p = out; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return out;
}

/* "scheme://host:port" of url, lowercased, the port always present; NULL
 * for anything that is not an absolute http(s) URL. */
static char *origin_of(const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *out = NULL;

	if (!curl_url_set(u, CURLUPART_URL, url, 0) &&
	    !curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) &&
	    !curl_url_get(u, CURLUPART_HOST, &host, 0) &&
	    !curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) &&
	    (!strcasecmp(scheme, "http") || !strcasecmp(scheme, "https"))) {
		size_t n = strlen(scheme) + strlen(host) + strlen(port) + 5;

		out = clr_malloc(n);
		snprintf(out, n, "%s://%s:%s", scheme, host, port);
		for (char *p = out; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return out;
}

static bool same_origin(const char *origin, const char *url)
{
	char *o = origin_of(url);
	bool same = o && origin && !strcmp(o, origin);

	free(o);
	return same;
}

/* ------------------------------------------------------------------ */
/* SSRF policy                                                         */

static bool v4_private(uint32_t a)
{
	return (a >> 24) == 0 ||              /* 0.0.0.0/8, unspecified */
	       (a >> 24) == 127 ||            /* loopback */
	       (a >> 24) == 10 ||             /* RFC 1918 */
	       (a >> 20) == (172u << 4 | 1) || /* 172.16.0.0/12 */
	       (a >> 16) == (192u << 8 | 168) || /* 192.168.0.0/16 */
	       (a >> 16) == (169u << 8 | 254);   /* link-local */
}

bool clr_registry_addr_private(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		return v4_private(ntohl(in->sin_addr.s_addr));
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)
					     (const void *)sa)->sin6_addr;
		const uint8_t *b = a->s6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a) || IN6_IS_ADDR_V4COMPAT(a))
			return v4_private((uint32_t)b[12] << 24 |
					  (uint32_t)b[13] << 16 |
					  (uint32_t)b[14] << 8 | b[15]);
		return IN6_IS_ADDR_UNSPECIFIED(a) || IN6_IS_ADDR_LOOPBACK(a) ||
		       IN6_IS_ADDR_LINKLOCAL(a) ||      /* fe80::/10 */
		       (b[0] & 0xfe) == 0xfc;           /* ULA, fc00::/7 */
	}
	return true; /* unix sockets and the like: never for a layer */
}

static void addr_text(const struct sockaddr *sa, char *out, size_t n)
{
	const void *a = sa->sa_family == AF_INET6
		? (const void *)&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr
		: (const void *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;

	if (!inet_ntop(sa->sa_family, a, out, (socklen_t)n))
		snprintf(out, n, "?");
}

/* CURLOPT_OPENSOCKETFUNCTION with refuse_private: the address curl is
 * about to connect to, after its own resolution. */
static curl_socket_t open_checked(void *ud, curlsocktype purpose,
				  struct curl_sockaddr *a)
{
	struct response *resp = ud;

	(void)purpose;
	if (clr_registry_addr_private(&a->addr)) {
		addr_text(&a->addr, resp->refused, sizeof(resp->refused));
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype, a->protocol);
}

/* Host and port (default for the scheme) of url, lowercased; false when
 * url is not an http(s) URL. */
static bool host_port(const char *url, char **host, char **port)
{
	CURLU *u = curl_url();
	bool ok = !curl_url_set(u, CURLUPART_URL, url, 0) &&
		  !curl_url_get(u, CURLUPART_HOST, host, 0) &&
		  !curl_url_get(u, CURLUPART_PORT, port, CURLU_DEFAULT_PORT);

	curl_url_cleanup(u);
	if (!ok)
		return false;
	for (char *p = *host; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return true;
}

/* Whether host:port matches one pattern: "host" (any port), "host:port",
 * "*.domain" (any subdomain, any port) or "*.domain:port"; IPv6 hosts in
 * brackets, as in URLs.  Case-insensitive. */
static bool host_matches(const char *pat, const char *host, const char *port)
{
	char name[300];
	const char *colon = strrchr(pat, ':');
	size_t n;

	/* A colon inside brackets belongs to an IPv6 address. */
	if (colon && strchr(pat, ']') && colon < strchr(pat, ']'))
		colon = NULL;
	n = colon ? (size_t)(colon - pat) : strlen(pat);
	if (n >= sizeof(name))
		return false;
	memcpy(name, pat, n);
	name[n] = '\0';
	if (colon && strcmp(colon + 1, port))
		return false;
	if (!strncmp(name, "*.", 2)) {
		size_t hl = strlen(host), dl = strlen(name + 1);

		return hl > dl && !strcasecmp(host + hl - dl, name + 1);
	}
	return !strcasecmp(name, host);
}

static int check_host(char *const *allowed, const char *url,
		      const char *what)
{
	char *host = NULL, *port = NULL;
	bool ok = false;
	int err = 0;

	if (!allowed || !*allowed)
		return 0;
	if (host_port(url, &host, &port))
		for (char *const *p = allowed; *p && !ok; p++)
			ok = host_matches(*p, host, port);
	if (!ok)
		err = clr_error_set(CLR_EINVALID, "%s: host %s%s%s is not one "
				    "the server may fetch from "
				    "(indexer.layer_hosts)", what,
				    host ? host : url, host ? ":" : "",
				    host ? port : "");
	curl_free(host);
	curl_free(port);
	return err;
}

int clr_registry_url_check(const char *url, const struct clr_source_opts *opts)
{
	struct addrinfo hints, *ai = NULL;
	char *host = NULL, *port = NULL, name[300];
	int err = 0;

	if (!opts)
		return 0;
	if ((err = check_host((char *const *)opts->allowed_hosts, url,
			      "layer URI")))
		return err;
	if (!opts->refuse_private)
		return 0;
	if (!host_port(url, &host, &port))
		return clr_error_set(CLR_EINVALID, "'%.200s' is not an http or "
				     "https URL", url);
	/* getaddrinfo wants an IPv6 literal without its brackets. */
	snprintf(name, sizeof(name), "%s", host);
	if (name[0] == '[') {
		memmove(name, name + 1, strlen(name));
		name[strcspn(name, "]")] = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (!getaddrinfo(name, port, &hints, &ai)) {
		for (struct addrinfo *a = ai; a; a = a->ai_next) {
			char text[INET6_ADDRSTRLEN];

			if (!clr_registry_addr_private(a->ai_addr))
				continue;
			addr_text(a->ai_addr, text, sizeof(text));
			err = clr_error_set(CLR_EINVALID, "layer URI: host %s "
					    "resolves to %s, a private or "
					    "loopback address the server may "
					    "not fetch from "
					    "(indexer.refuse_private)", host,
					    text);
			break;
		}
		freeaddrinfo(ai);
	}
	curl_free(host);
	curl_free(port);
	return err;
}

/* Sleeps ms milliseconds, waking early when *cancel is set. */
static void nap(long ms, atomic_bool *cancel)
{
	while (ms > 0 && !(cancel && atomic_load(cancel))) {
		long step = ms > 20 ? 20 : ms;
		struct timespec ts = { 0, step * 1000000L };

		nanosleep(&ts, NULL);
		ms -= step;
	}
}

/* "CODE: message" from a registry's {"errors": [...]} body, or the start
 * of the body when it is not that; NULL when empty.  Caller frees. */
static char *registry_message(const struct clr_buf *body)
{
	json_t *root, *errs, *e;
	char *out = NULL;

	if (!body->len)
		return NULL;
	root = json_loadb(clr_buf_str(body), body->len, 0, NULL);
	errs = json_object_get(root, "errors");
	e = json_array_get(errs, 0);
	if (json_is_object(e)) {
		const char *code = json_string_value(json_object_get(e, "code"));
		const char *msg = json_string_value(json_object_get(e, "message"));
		char tmp[600];

		snprintf(tmp, sizeof(tmp), "%s%s%s", code ? code : "",
			 code && msg ? ": " : "", msg ? msg : "");
		if (tmp[0])
			out = printable(tmp, strlen(tmp), 300);
	}
	json_decref(root);
	if (!out) {
		const char *s = clr_buf_str(body);
		size_t n = strcspn(s, "\r\n");

		if (n)
			out = printable(s, n, 200);
	}
	return out;
}

static int status_error(const struct fetch_opts *fo, const struct response *resp)
{
	char *msg = registry_message(&resp->errbody);
	long st = resp->status;
	int code, err;

	if (st == 404)
		code = CLR_ENOTFOUND;
	else if (st == 429 || st >= 500)
		code = CLR_ENET;
	else
		code = CLR_EINVALID;
	err = clr_error_set(code, "%s%s: HTTP %ld%s%s",
			    st == 401 || st == 403 ? "access denied to " : "",
			    fo->what, st, msg ? ": " : "", msg ? msg : "");
	free(msg);
	return err;
}

static int net_error(const struct fetch_opts *fo, const char *url,
		     const struct response *resp)
{
	const char *detail = resp->errbuf[0] ? resp->errbuf
					     : curl_easy_strerror(resp->cc);
	char *host = origin_of(url);
	const char *hint = "";
	int err;

	switch (resp->cc) {
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
		hint = " (TLS verification failed: give the registry's CA in "
		       "CLARION_CA_FILE, or use an insecure connection)";
		break;
	case CURLE_SSL_CONNECT_ERROR:
		hint = " (TLS handshake failed: is the registry plain http?)";
		break;
	case CURLE_OPERATION_TIMEDOUT:
		hint = " (timed out)";
		break;
	default:
		break;
	}
	err = clr_error_set(CLR_ENET, "%s: cannot reach %s: %s%s", fo->what,
			    host ? host : "?", detail, hint);
	free(host);
	return err;
}

static bool retryable_cc(CURLcode cc)
{
	switch (cc) {
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
}

/* ------------------------------------------------------------------ */
/* One HTTP exchange                                                   */

struct exchange {
	CURL *curl;
	struct response *resp;
	struct sink *sink;
	atomic_bool *cancel;
};

static char *trim_dup(const char *s, size_t n)
{
	while (n && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	return clr_strndup(s, n);
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
	struct exchange *x = ud;
	struct response *resp = x->resp;
	size_t n = size * nmemb, name_len;
	const char *colon;
	char *value;

	/* A status line starts a new answer (after a 100 Continue, say). */
	if (n >= 5 && !memcmp(p, "HTTP/", 5)) {
		response_clear_headers(resp);
		return n;
	}
	colon = memchr(p, ':', n);
	if (!colon)
		return n;
	name_len = (size_t)(colon - p);
	value = trim_dup(colon + 1, n - name_len - 1);
	if (name_len == 12 && !strncasecmp(p, "content-type", 12)) {
		free(resp->content_type);
		value[strcspn(value, "; \t")] = '\0';
		for (char *q = value; *q; q++)
			*q = (char)tolower((unsigned char)*q);
		resp->content_type = value;
		value = NULL;
	} else if (name_len == 21 && !strncasecmp(p, "docker-content-digest", 21)) {
		free(resp->docker_digest);
		resp->docker_digest = value;
		value = NULL;
	} else if (name_len == 16 && !strncasecmp(p, "www-authenticate", 16)) {
		/* Several headers are one comma-separated list (RFC 7230 3.2.2);
		 * an overlong one is dropped whole and reported when parsed. */
		if (resp->www_auth.len)
			clr_buf_addstr(&resp->www_auth, ", ");
		clr_buf_addstr(&resp->www_auth, value);
	} else if (name_len == 11 && !strncasecmp(p, "retry-after", 11)) {
		char *end;
		long v = strtol(value, &end, 10);

		/* Only the delta-seconds form; a date is ignored. */
		if (end != value && !*end && v >= 0)
			resp->retry_after = v;
	}
	free(value);
	return n;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
	struct exchange *x = ud;
	size_t n = size * nmemb;
	long status = 0;

	curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 200 && status < 300 && x->sink) {
		int err;

		if (!x->sink->reset)
			x->sink->delivered = true;
		if ((err = x->sink->write(x->sink->ctx, p, n))) {
			x->sink->err = err;
			return 0;  /* stops the transfer: CURLE_WRITE_ERROR */
		}
		return n;
	}
	/* The body of an error or a redirect: keep its start for messages. */
	if (x->resp->errbody.len < ERROR_BODY_MAX) {
		size_t room = ERROR_BODY_MAX - x->resp->errbody.len;

		clr_buf_add(&x->resp->errbody, p, n < room ? n : room);
	}
	return n;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow,
		       curl_off_t ultotal, curl_off_t ulnow)
{
	struct exchange *x = ud;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return x->cancel && atomic_load(x->cancel);
}

static CURL *handle_get(struct registry *r)
{
	CURL *c = NULL;

	pthread_mutex_lock(&r->pool_lock);
	if (r->npool)
		c = r->pool[--r->npool];
	pthread_mutex_unlock(&r->pool_lock);
	if (c) {
		/* Keeps the live connections, DNS and TLS session caches. */
		curl_easy_reset(c);
		return c;
	}
	if (!(c = curl_easy_init()))
		abort();  /* only fails when out of memory */
	return c;
}

static void handle_put(struct registry *r, CURL *c)
{
	pthread_mutex_lock(&r->pool_lock);
	if (r->npool < POOL_MAX) {
		r->pool[r->npool++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&r->pool_lock);
	if (c)
		curl_easy_cleanup(c);
}

/* Runs one GET of url; the outcome is in resp (resp->cc, resp->status). */
static void perform(struct registry *r, const char *url, const char *authz,
		    const char *const *extra, const struct fetch_opts *fo,
		    struct sink *sink, struct response *resp)
{
	struct exchange x = { handle_get(r), resp, sink, fo->cancel };
	struct curl_slist *hdrs = NULL;
	char *auth_line = NULL, *redirect = NULL;
	CURL *c = x.curl;

	response_clear_headers(resp);
	free(resp->redirect);
	resp->redirect = NULL;
	resp->status = 0;
	resp->errbuf[0] = '\0';
	resp->refused[0] = '\0';

	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "clarion");
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, resp->errbuf);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, r->timeout);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, r->timeout);
	if (!fo->stream)
		curl_easy_setopt(c, CURLOPT_TIMEOUT, r->timeout * 2);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, r->insecure ? 0L : 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, r->insecure ? 0L : 2L);
	if (r->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, r->ca_file);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, &x);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	if (r->refuse_private) {
		curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_checked);
		curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, resp);
	}
	if (fo->accept)
		hdrs = curl_slist_append(hdrs, fo->accept);
	if (authz) {
		size_t n = strlen(authz) + 16;

		auth_line = clr_malloc(n);
		snprintf(auth_line, n, "Authorization: %s", authz);
		hdrs = curl_slist_append(hdrs, auth_line);
	}
	for (; extra && *extra; extra++)
		hdrs = curl_slist_append(hdrs, *extra);
	if (hdrs)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);

	resp->cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
	if (!curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &redirect) && redirect)
		resp->redirect = clr_strdup(redirect);

	curl_slist_free_all(hdrs);
	if (auth_line) {
		explicit_bzero(auth_line, strlen(auth_line));
		free(auth_line);
	}
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
	handle_put(r, c);
}

/* ------------------------------------------------------------------ */
/* Authentication                                                      */

/* Fetches a token for scope from the realm; called with r->lock held. */
static int fetch_token(struct registry *r, const char *scope, char **token,
		       long *expires_in);

static char *token_key(const struct registry *r, const char *scope)
{
	size_t n = strlen(r->realm) + (r->service ? strlen(r->service) : 0) +
		   strlen(scope) + 3;
	char *k = clr_malloc(n);

	snprintf(k, n, "%s %s %s", r->realm, r->service ? r->service : "", scope);
	return k;
}

/* The Authorization value for a request to the registry now, or NULL. */
static int auth_value(struct registry *r, char **out)
{
	int err = 0;

	*out = NULL;
	pthread_mutex_lock(&r->lock);
	if (r->scheme == AUTH_BASIC && r->creds.username) {
		*out = clr_auth_basic_value(r->creds.username, r->creds.password);
	} else if (r->scheme == AUTH_BEARER) {
		char *key = token_key(r, r->scope);
		const char *tok = clr_auth_token_cache_get(&r->tokens, key,
							   clr_auth_now());
		char *fresh = NULL;
		long expires;

		if (!tok && !(err = fetch_token(r, r->scope, &fresh, &expires))) {
			clr_auth_token_cache_put(&r->tokens, key, fresh, expires,
						 clr_auth_now());
			tok = fresh;
		}
		if (tok) {
			size_t n = strlen(tok) + 8;

			*out = clr_malloc(n);
			snprintf(*out, n, "Bearer %s", tok);
		}
		free(fresh);
		free(key);
	}
	pthread_mutex_unlock(&r->lock);
	return err;
}

/* Learns what a 401's challenge asks for.  sent_auth: the failed request
 * carried an Authorization header. */
static int on_challenge(struct registry *r, const struct fetch_opts *fo,
			const struct response *resp, bool sent_auth)
{
	struct clr_auth_challenges ch = CLR_AUTH_CHALLENGES_INIT;
	const struct clr_auth_challenge *bearer, *basic;
	int err;

	if (!resp->www_auth.len)
		return status_error(fo, resp);
	if ((err = clr_auth_challenges_parse(&ch, clr_buf_str(&resp->www_auth))))
		return clr_error_prefix(err, "%s", fo->what);
	bearer = clr_auth_challenges_find(&ch, "bearer");
	basic = clr_auth_challenges_find(&ch, "basic");
	pthread_mutex_lock(&r->lock);
	if (bearer && clr_auth_challenge_param(bearer, "realm")) {
		const char *service = clr_auth_challenge_param(bearer, "service");
		const char *scope = clr_auth_challenge_param(bearer, "scope");
		char *key, *tok = NULL;
		long expires;

		free(r->realm);
		free(r->service);
		r->realm = clr_strdup(clr_auth_challenge_param(bearer, "realm"));
		r->service = service ? clr_strdup(service) : NULL;
		if (scope && *scope) {
			free(r->scope);
			r->scope = clr_strdup(scope);
		}
		r->scheme = AUTH_BEARER;
		/* Whatever token was sent did not do: always a fresh one. */
		if (!(err = fetch_token(r, r->scope, &tok, &expires))) {
			key = token_key(r, r->scope);
			clr_auth_token_cache_put(&r->tokens, key, tok, expires,
						 clr_auth_now());
			free(key);
			free(tok);
		}
	} else if (basic) {
		if (!r->creds.username)
			err = clr_error_set(CLR_EINVALID, "%s: the registry %s "
					    "requires credentials and none are "
					    "configured", fo->what,
					    r->ref->registry);
		else if (sent_auth && r->scheme == AUTH_BASIC)
			err = status_error(fo, resp);  /* wrong password */
		r->scheme = AUTH_BASIC;
	} else {
		err = clr_error_set(CLR_EUNSUPPORTED, "%s: the registry asks for "
				    "an authentication scheme clarion does not "
				    "support (%s)", fo->what, ch.items[0].scheme);
	}
	pthread_mutex_unlock(&r->lock);
	clr_auth_challenges_release(&ch);
	return err;
}

/* ------------------------------------------------------------------ */
/* The request loop                                                    */

static int fetch(struct registry *r, const char *start_url,
		 const struct fetch_opts *fo, struct sink *sink,
		 struct response *resp)
{
	const char *auth_origin = fo->registry_auth ? r->origin : NULL;
	char *url = clr_strdup(start_url), *own_origin = NULL;
	int tries = 1, hops = 0, err;
	bool challenged = false;
	long backoff = BACKOFF_FIRST_MS;

	if (!fo->registry_auth && (fo->fixed_auth || fo->fixed_headers))
		auth_origin = own_origin = origin_of(fo->auth_origin);
	for (;;) {
		bool to_registry = same_origin(r->origin, url);
		bool may_auth = auth_origin && same_origin(auth_origin, url);
		char *authz = NULL;
		long wait;

		if (fo->cancel && atomic_load(fo->cancel)) {
			err = clr_error_set(CLR_ERROR, "%s: cancelled", fo->what);
			break;
		}
		if (may_auth && fo->registry_auth) {
			if ((err = auth_value(r, &authz)))
				break;
		} else if (may_auth && fo->fixed_auth) {
			authz = clr_strdup(fo->fixed_auth);
		}
		/* Every hop, redirects included (the SSRF allow-list). */
		if ((err = check_host(r->allowed_hosts, url, fo->what))) {
			if (authz) {
				explicit_bzero(authz, strlen(authz));
				free(authz);
			}
			break;
		}
		if (sink->reset)
			sink->reset(sink->ctx);
		perform(r, url, authz, may_auth ? fo->fixed_headers : NULL, fo,
			sink, resp);
		if (authz) {
			explicit_bzero(authz, strlen(authz));
			free(authz);
		}
		if (resp->refused[0]) {
			char *host = NULL, *port = NULL;

			host_port(url, &host, &port);
			err = clr_error_set(CLR_EINVALID, "%s: refused to connect "
					    "to %s (%s), a private or loopback "
					    "address (indexer.refuse_private)",
					    fo->what, host ? host : url,
					    resp->refused);
			curl_free(host);
			curl_free(port);
			break;
		}

		if (resp->cc != CURLE_OK) {
			if (sink->err) {
				err = sink->err;
				break;
			}
			if (fo->cancel && atomic_load(fo->cancel)) {
				err = clr_error_set(CLR_ERROR, "%s: cancelled", fo->what);
				break;
			}
			if (retryable_cc(resp->cc) && !sink->delivered &&
			    tries < MAX_TRIES) {
				clr_log_debug("%s: %s; retrying", fo->what,
					      curl_easy_strerror(resp->cc));
				nap(backoff, fo->cancel);
				backoff *= 2;
				tries++;
				continue;
			}
			err = net_error(fo, url, resp);
			break;
		}
		if (resp->status >= 300 && resp->status < 400) {
			if (!resp->redirect) {
				err = clr_error_set(CLR_EINVALID, "%s: HTTP %ld "
						    "without a Location", fo->what,
						    resp->status);
				break;
			}
			if (++hops > MAX_REDIRECTS) {
				err = clr_error_set(CLR_EINVALID, "%s: more than %d "
						    "redirects", fo->what,
						    MAX_REDIRECTS);
				break;
			}
			free(url);
			url = resp->redirect;
			resp->redirect = NULL;
			continue;
		}
		if (resp->status == 401 && fo->allow_401) {
			err = 0;
			break;
		}
		/* Only the registry's own challenges are answered: storage that
		 * a blob was redirected to has no business asking. */
		if (resp->status == 401 && fo->registry_auth && to_registry &&
		    !challenged) {
			challenged = true;
			if ((err = on_challenge(r, fo, resp, may_auth)))
				break;
			continue;
		}
		if ((resp->status == 429 || resp->status >= 500) &&
		    !sink->delivered && tries < MAX_TRIES) {
			wait = backoff;
			if (resp->retry_after >= 0)
				wait = resp->retry_after * 1000 > RETRY_AFTER_MAX_MS
				       ? RETRY_AFTER_MAX_MS
				       : (resp->retry_after * 1000 > wait
					  ? resp->retry_after * 1000 : wait);
			clr_log_debug("%s: HTTP %ld; retrying in %ld ms", fo->what,
				      resp->status, wait);
			nap(wait, fo->cancel);
			backoff *= 2;
			tries++;
			continue;
		}
		if (resp->status >= 200 && resp->status < 300) {
			err = 0;
			break;
		}
		err = status_error(fo, resp);
		break;
	}
	free(url);
	free(own_origin);
	return err;
}

/* A sink into a capped buffer; restartable, so it never blocks retries. */
static int buf_write(void *ctx, const char *p, size_t n)
{
	return clr_buf_add(ctx, p, n);
}

static void buf_reset(void *ctx)
{
	clr_buf_reset(ctx);
}

static int fetch_token(struct registry *r, const char *scope, char **token,
		       long *expires_in)
{
	struct clr_buf body = CLR_BUF_INIT(CLR_AUTH_TOKEN_RESPONSE_MAX);
	struct sink sink = { buf_write, buf_reset, &body, false, 0 };
	struct response resp;
	struct fetch_opts fo = { 0 };
	char *url = NULL, *basic = NULL, what[256];
	int err;

	*token = NULL;
	if ((err = clr_auth_token_url(&url, r->realm, r->service, scope)))
		return err;
	snprintf(what, sizeof(what), "token for %s from %.150s", scope, r->realm);
	fo.what = what;
	if (r->creds.username) {
		basic = clr_auth_basic_value(r->creds.username, r->creds.password);
		fo.fixed_auth = basic;
		fo.auth_origin = r->realm;
	}
	response_init(&resp);
	err = fetch(r, url, &fo, &sink, &resp);
	if (err == CLR_EINVALID && (resp.status == 401 || resp.status == 403)) {
		if (r->creds.username)
			clr_error_set(err, "the token server %.150s refused the "
				      "credentials of '%.64s' for %s (HTTP %ld)",
				      r->realm, r->creds.username, scope,
				      resp.status);
		else
			clr_error_set(err, "the token server %.150s refused "
				      "anonymous access to %s (HTTP %ld); are "
				      "credentials needed?", r->realm, scope,
				      resp.status);
	}
	if (!err)
		err = clr_auth_token_parse(token, expires_in, clr_buf_str(&body),
					   body.len);
	if (err == CLR_EINVALID && resp.status == 200)
		clr_error_prefix(err, "%s", what);
	response_release(&resp);
	clr_buf_release(&body);
	if (basic) {
		explicit_bzero(basic, strlen(basic));
		free(basic);
	}
	free(url);
	return err;
}

/* ------------------------------------------------------------------ */
/* Manifests                                                           */

static struct registry *reg_of(struct clr_image_source *src)
{
	return (struct registry *)src;
}

static char *repo_url(const struct registry *r, const char *kind,
		      const char *what)
{
	size_t n = strlen(r->base_url) + strlen(r->ref->repository) +
		   strlen(kind) + strlen(what) + 8;
	char *u = clr_malloc(n);

	snprintf(u, n, "%s/v2/%s/%s/%s", r->base_url, r->ref->repository, kind,
		 what);
	return u;
}

static bool digest_of_bytes_is(const char *digest, const void *p, size_t n)
{
	uint8_t d[CLR_SHA256_LEN];
	char s[CLR_DIGEST_STRLEN + 1];

	if (clr_sha256(d, p, n))
		return false;
	clr_digest_format(s, d);
	return !strcmp(s, digest);
}

/* base64url (RFC 4648 section 5), padding optional; NULL when invalid. */
static unsigned char *b64url_decode(const char *s, size_t *n)
{
	static const char alpha[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t len = strlen(s), o = 0;
	unsigned char *out;
	uint32_t acc = 0;
	int bits = 0;

	while (len && s[len - 1] == '=')
		len--;
	out = clr_malloc(len * 3 / 4 + 1);
	for (size_t i = 0; i < len; i++) {
		const char *q = strchr(alpha, s[i]);

		if (!q || !s[i]) {
			free(out);
			return NULL;
		}
		acc = (acc << 6) | (uint32_t)(q - alpha);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	*n = o;
	return out;
}

/*
 * A signed schema 1 manifest's digest is that of its payload without the
 * signatures: the first formatLength bytes followed by formatTail, both
 * from the first signature's protected header (libtrust's JWS form).
 */
static bool jws_payload_digest_is(const char *digest, const char *bytes,
				  size_t len)
{
	json_t *root = json_loadb(bytes, len, 0, NULL), *sig, *prot = NULL;
	unsigned char *hdr = NULL, *tail = NULL;
	size_t hlen, tlen;
	json_int_t flen;
	bool ok = false;
	struct clr_buf payload = CLR_BUF_INIT(CLR_REGISTRY_MANIFEST_MAX + 4096);

	sig = json_array_get(json_object_get(root, "signatures"), 0);
	if (!json_is_string(json_object_get(sig, "protected")))
		goto cleanup;
	hdr = b64url_decode(json_string_value(json_object_get(sig, "protected")),
			    &hlen);
	if (!hdr || !(prot = json_loadb((char *)hdr, hlen, 0, NULL)))
		goto cleanup;
	flen = json_integer_value(json_object_get(prot, "formatLength"));
	if (!json_is_integer(json_object_get(prot, "formatLength")) ||
	    flen < 0 || (size_t)flen > len ||
	    !json_is_string(json_object_get(prot, "formatTail")))
		goto cleanup;
	tail = b64url_decode(json_string_value(json_object_get(prot, "formatTail")),
			     &tlen);
	if (!tail || clr_buf_add(&payload, bytes, (size_t)flen) ||
	    clr_buf_add(&payload, tail, tlen))
		goto cleanup;
	ok = digest_of_bytes_is(digest, payload.ptr ? payload.ptr : "", payload.len);
cleanup:
	clr_buf_release(&payload);
	free(hdr);
	free(tail);
	json_decref(prot);
	json_decref(root);
	return ok;
}

static bool generic_type(const char *ct)
{
	return !strcmp(ct, "application/json") || !strcmp(ct, "text/plain") ||
	       !strcmp(ct, "application/octet-stream") ||
	       !strcmp(ct, "binary/octet-stream");
}

static int registry_get_manifest(struct clr_image_source *src,
				 const char *digest, char **bytes, size_t *len,
				 char **media_type)
{
	struct registry *r = reg_of(src);
	struct clr_buf body = CLR_BUF_INIT(CLR_REGISTRY_MANIFEST_MAX);
	struct sink sink = { buf_write, buf_reset, &body, false, 0 };
	struct response resp;
	struct fetch_opts fo = { 0 };
	const char *want = digest ? digest : clr_reference_manifest_ref(r->ref);
	const char *pinned = digest ? digest : r->ref->digest;
	char what[512], *url;
	const char *ct;
	int err;

	*bytes = NULL;
	*len = 0;
	*media_type = NULL;
	if (digest && clr_digest_parse(NULL, digest))
		return clr_error_prefix(CLR_EINVALID, "manifest digest");
	snprintf(what, sizeof(what), "manifest %s/%s%s%s", r->ref->registry,
		 r->ref->repository, want[0] == 's' && strchr(want, ':') ? "@" : ":",
		 want);
	fo.what = what;
	fo.accept = manifest_accept;
	fo.registry_auth = true;
	url = repo_url(r, "manifests", want);
	response_init(&resp);
	err = fetch(r, url, &fo, &sink, &resp);
	if (err == CLR_ELIMIT)
		clr_error_set(err, "%s: larger than %d bytes", what,
			      CLR_REGISTRY_MANIFEST_MAX);
	if (err)
		goto cleanup;
	ct = resp.content_type && !generic_type(resp.content_type)
	     ? resp.content_type : "";
	if (pinned && !digest_of_bytes_is(pinned, clr_buf_str(&body), body.len) &&
	    !(!strcmp(ct, "application/vnd.docker.distribution.manifest.v1+prettyjws") &&
	      jws_payload_digest_is(pinned, clr_buf_str(&body), body.len))) {
		err = clr_error_set(CLR_EINVALID, "%s: the bytes received do not "
				    "match the digest", what);
		goto cleanup;
	}
	/* By tag, the registry's own digest header is checked as well,
	 * except for signed schema 1, whose digest covers the payload only. */
	if (!pinned && resp.docker_digest && !clr_digest_parse(NULL, resp.docker_digest) &&
	    strcmp(ct, "application/vnd.docker.distribution.manifest.v1+prettyjws") &&
	    !digest_of_bytes_is(resp.docker_digest, clr_buf_str(&body), body.len)) {
		err = clr_error_set(CLR_EINVALID, "%s: the bytes received do not "
				    "match Docker-Content-Digest %s", what,
				    resp.docker_digest);
		goto cleanup;
	}
	*media_type = clr_strdup(ct);
	*bytes = clr_buf_detach(&body, len);
cleanup:
	response_release(&resp);
	clr_buf_release(&body);
	free(url);
	return err;
}

/* ------------------------------------------------------------------ */
/* Blobs                                                               */

struct blob_stream {
	struct clr_stream base;
	struct registry *r;       /* holds a reference */
	char *url;
	char **headers;           /* clr_registry_open_url's, or NULL */
	char what[160];
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cond;      /* data, space, start, end or cancel */
	unsigned char *ring;      /* RING_SIZE bytes */
	size_t head;              /* next byte to read */
	size_t len;               /* bytes waiting */
	bool started;             /* a 2xx body began, or the download ended */
	bool done;                /* the download thread finished */
	int err;                  /* its failure, or 0 */
	char *errmsg;             /* and the message, for the consumer's thread */
	atomic_bool cancel;       /* the consumer closed the stream */
};

static void registry_unref(struct registry *r);

static int ring_write(void *ctx, const char *p, size_t n)
{
	struct blob_stream *b = ctx;

	pthread_mutex_lock(&b->mu);
	b->started = true;
	pthread_cond_broadcast(&b->cond);
	while (n) {
		size_t tail, k;

		while (b->len == RING_SIZE && !atomic_load(&b->cancel))
			pthread_cond_wait(&b->cond, &b->mu);
		if (atomic_load(&b->cancel)) {
			pthread_mutex_unlock(&b->mu);
			return clr_error_set(CLR_ERROR, "%s: cancelled", b->what);
		}
		tail = (b->head + b->len) % RING_SIZE;
		k = RING_SIZE - b->len;
		if (k > RING_SIZE - tail)
			k = RING_SIZE - tail;
		if (k > n)
			k = n;
		memcpy(b->ring + tail, p, k);
		b->len += k;
		p += k;
		n -= k;
		pthread_cond_broadcast(&b->cond);
	}
	pthread_mutex_unlock(&b->mu);
	return 0;
}

static void *blob_thread(void *arg)
{
	struct blob_stream *b = arg;
	struct sink sink = { ring_write, NULL, b, false, 0 };
	struct response resp;
	struct fetch_opts fo = { 0 };
	int err;

	fo.what = b->what;
	fo.registry_auth = !b->headers;
	if (b->headers) {
		fo.fixed_headers = (const char *const *)b->headers;
		fo.auth_origin = b->url;
	}
	fo.stream = true;
	fo.cancel = &b->cancel;
	response_init(&resp);
	err = fetch(b->r, b->url, &fo, &sink, &resp);
	response_release(&resp);
	pthread_mutex_lock(&b->mu);
	b->done = true;
	b->started = true;
	b->err = err;
	if (err)
		b->errmsg = clr_strdup(clr_error_msg());
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->mu);
	return NULL;
}

static ssize_t blob_read(struct clr_stream *s, void *buf, size_t n)
{
	struct blob_stream *b = (struct blob_stream *)s;
	size_t k, first;
	int err;

	if (!n)
		return 0;
	pthread_mutex_lock(&b->mu);
	while (!b->len && !b->done)
		pthread_cond_wait(&b->cond, &b->mu);
	if (!b->len) {
		err = b->err;
		pthread_mutex_unlock(&b->mu);
		return err ? clr_error_set(err, "%s", b->errmsg) : 0;
	}
	k = b->len < n ? b->len : n;
	first = RING_SIZE - b->head;
	if (first > k)
		first = k;
	memcpy(buf, b->ring + b->head, first);
	memcpy((unsigned char *)buf + first, b->ring, k - first);
	b->head = (b->head + k) % RING_SIZE;
	b->len -= k;
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->mu);
	return (ssize_t)k;
}

static void blob_free(struct blob_stream *b)
{
	pthread_mutex_destroy(&b->mu);
	pthread_cond_destroy(&b->cond);
	registry_unref(b->r);
	free(b->ring);
	free(b->url);
	for (size_t i = 0; b->headers && b->headers[i]; i++) {
		explicit_bzero(b->headers[i], strlen(b->headers[i]));
		free(b->headers[i]);
	}
	free(b->headers);
	free(b->errmsg);
	free(b);
}

static void blob_close(struct clr_stream *s)
{
	struct blob_stream *b = (struct blob_stream *)s;

	pthread_mutex_lock(&b->mu);
	atomic_store(&b->cancel, true);
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->mu);
	pthread_join(b->thread, NULL);
	blob_free(b);
}

static int blob_start(struct clr_stream **out, struct blob_stream *b);

static int registry_open_blob(struct clr_stream **out,
			      struct clr_image_source *src, const char *digest)
{
	struct registry *r = reg_of(src);
	struct blob_stream *b;

	*out = NULL;
	if (clr_digest_parse(NULL, digest))
		return clr_error_prefix(CLR_EINVALID, "blob digest");
	b = clr_calloc(1, sizeof(*b));
	b->base.read = blob_read;
	b->base.close = blob_close;
	b->r = r;
	atomic_fetch_add(&r->refs, 1);
	b->url = repo_url(r, "blobs", digest);
	snprintf(b->what, sizeof(b->what), "blob %s of %.60s", digest,
		 r->ref->repository);
	return blob_start(out, b);
}

/* Starts b's download thread and waits for the answer's first byte. */
static int blob_start(struct clr_stream **out, struct blob_stream *b)
{
	int err;

	b->ring = clr_malloc(RING_SIZE);
	pthread_mutex_init(&b->mu, NULL);
	pthread_cond_init(&b->cond, NULL);
	atomic_init(&b->cancel, false);
	if ((err = pthread_create(&b->thread, NULL, blob_thread, b))) {
		blob_free(b);
		return clr_error_set(CLR_ERROR, "cannot start a download thread: %s",
				     strerror(err));
	}
	/* Wait for the answer, so a missing blob or refused access is
	 * reported here rather than at the first read. */
	pthread_mutex_lock(&b->mu);
	while (!b->started)
		pthread_cond_wait(&b->cond, &b->mu);
	err = b->done && b->err ? b->err : 0;
	pthread_mutex_unlock(&b->mu);
	if (err) {
		clr_error_set(err, "%s", b->errmsg);
		blob_close(&b->base);
		return err;
	}
	*out = &b->base;
	return 0;
}

int clr_registry_get_blob_bytes(struct clr_image_source *src,
				const char *digest, size_t max, char **bytes,
				size_t *len)
{
	struct registry *r = reg_of(src);
	struct clr_buf body;
	struct sink sink = { buf_write, buf_reset, &body, false, 0 };
	struct response resp;
	struct fetch_opts fo = { 0 };
	char what[160], *url;
	int err;

	*bytes = NULL;
	*len = 0;
	if (clr_digest_parse(NULL, digest))
		return clr_error_prefix(CLR_EINVALID, "blob digest");
	clr_buf_init(&body, max);
	snprintf(what, sizeof(what), "blob %s of %.60s", digest,
		 r->ref->repository);
	fo.what = what;
	fo.registry_auth = true;
	url = repo_url(r, "blobs", digest);
	response_init(&resp);
	err = fetch(r, url, &fo, &sink, &resp);
	if (err == CLR_ELIMIT)
		clr_error_set(err, "%s: larger than %zu bytes", what, max);
	if (!err && !digest_of_bytes_is(digest, clr_buf_str(&body), body.len))
		err = clr_error_set(CLR_EINVALID, "%s: the bytes received do not "
				    "match the digest", what);
	if (!err)
		*bytes = clr_buf_detach(&body, len);
	response_release(&resp);
	clr_buf_release(&body);
	free(url);
	return err;
}

/* ------------------------------------------------------------------ */
/* Opening and freeing                                                 */

static void registry_unref(struct registry *r)
{
	if (atomic_fetch_sub(&r->refs, 1) != 1)
		return;
	for (int i = 0; i < r->npool; i++)
		curl_easy_cleanup(r->pool[i]);
	clr_auth_token_cache_release(&r->tokens);
	clr_auth_creds_release(&r->creds);
	pthread_mutex_destroy(&r->lock);
	pthread_mutex_destroy(&r->pool_lock);
	clr_reference_free(r->ref);
	for (size_t i = 0; r->allowed_hosts && r->allowed_hosts[i]; i++)
		free(r->allowed_hosts[i]);
	free(r->allowed_hosts);
	free(r->base.name);
	free(r->base_url);
	free(r->origin);
	free(r->ca_file);
	free(r->realm);
	free(r->service);
	free(r->scope);
	free(r);
}

static void registry_free(struct clr_image_source *src)
{
	if (src)
		registry_unref(reg_of(src));
}

static const struct clr_image_source_ops registry_ops = {
	.transport = "docker",
	.get_manifest = registry_get_manifest,
	.open_blob = registry_open_blob,
	.free = registry_free,
};

/* Asks /v2/ whether this is a registry and how it wants us to log in. */
static int ping(struct registry *r)
{
	struct clr_buf body = CLR_BUF_INIT(ERROR_BODY_MAX);
	struct sink sink = { buf_write, buf_reset, &body, false, 0 };
	struct clr_auth_challenges ch = CLR_AUTH_CHALLENGES_INIT;
	const struct clr_auth_challenge *c;
	struct response resp;
	struct fetch_opts fo = { 0 };
	char what[300], *url;
	size_t n = strlen(r->base_url) + 8;
	int err;

	snprintf(what, sizeof(what), "registry %s", r->ref->registry);
	fo.what = what;
	fo.allow_401 = true;
	url = clr_malloc(n);
	snprintf(url, n, "%s/v2/", r->base_url);
	response_init(&resp);
	err = fetch(r, url, &fo, &sink, &resp);
	if (err || resp.status != 401)
		goto cleanup;
	if (!resp.www_auth.len) {
		err = clr_error_set(CLR_EINVALID, "%s: HTTP 401 without a "
				    "WWW-Authenticate challenge", what);
		goto cleanup;
	}
	if ((err = clr_auth_challenges_parse(&ch, clr_buf_str(&resp.www_auth)))) {
		clr_error_prefix(err, "%s", what);
		goto cleanup;
	}
	if ((c = clr_auth_challenges_find(&ch, "bearer")) &&
	    clr_auth_challenge_param(c, "realm")) {
		const char *service = clr_auth_challenge_param(c, "service");

		r->scheme = AUTH_BEARER;
		r->realm = clr_strdup(clr_auth_challenge_param(c, "realm"));
		r->service = service ? clr_strdup(service) : NULL;
	} else if (clr_auth_challenges_find(&ch, "basic")) {
		r->scheme = AUTH_BASIC;
	}
	/* Anything else is reported when a request actually fails. */
cleanup:
	clr_auth_challenges_release(&ch);
	response_release(&resp);
	clr_buf_release(&body);
	free(url);
	return err;
}

int clr_registry_source_open(struct clr_image_source **out, const char *ref,
			     const struct clr_source_opts *opts)
{
	static const struct clr_source_opts defaults = { 0 };
	struct clr_reference *parsed;
	struct registry *r;
	const char *ca;
	size_t n;
	int err;

	*out = NULL;
	if (!opts)
		opts = &defaults;
	if ((err = clr_reference_parse(&parsed, ref)))
		return err;
	clr_curl_global_init();

	r = clr_calloc(1, sizeof(*r));
	atomic_init(&r->refs, 1);
	r->base.ops = &registry_ops;
	r->base.name = clr_reference_string(parsed);
	r->ref = parsed;
	r->insecure = opts->insecure != 0;
	r->timeout = opts->timeout_secs > 0 ? opts->timeout_secs
					    : DEFAULT_TIMEOUT_SECS;
	if ((ca = clr_curl_ca_file()))
		r->ca_file = clr_strdup(ca);
	n = strlen(parsed->api_host) + 9;
	r->base_url = clr_malloc(n);
	snprintf(r->base_url, n, "%s://%s", opts->plain_http ? "http" : "https",
		 parsed->api_host);
	r->origin = origin_of(r->base_url);
	n = strlen(parsed->repository) + 20;
	r->scope = clr_malloc(n);
	snprintf(r->scope, n, "repository:%s:pull", parsed->repository);
	pthread_mutex_init(&r->lock, NULL);
	pthread_mutex_init(&r->pool_lock, NULL);
	clr_hashmap_init(&r->tokens.map);

	if (!r->origin) {
		err = clr_error_set(CLR_EINVALID, "cannot make a URL of registry "
				    "host '%s'", parsed->api_host);
		goto fail;
	}
	if (opts->username && *opts->username) {
		r->creds.username = clr_strdup(opts->username);
		r->creds.password = clr_strdup(opts->password ? opts->password : "");
	} else if ((err = clr_auth_creds_lookup(&r->creds, NULL,
						 parsed->registry))) {
		clr_error_prefix(err, "credentials for %s", parsed->registry);
		goto fail;
	}
	if ((err = ping(r)))
		goto fail;
	*out = &r->base;
	return 0;
fail:
	registry_unref(r);
	return err;
}

const struct clr_reference *
clr_registry_source_reference(const struct clr_image_source *src)
{
	return ((const struct registry *)src)->ref;
}

int clr_registry_open_url(struct clr_stream **out, const char *url,
			  const char *const *headers, const char *what,
			  const struct clr_source_opts *opts)
{
	static const struct clr_source_opts defaults = { 0 };
	struct blob_stream *b;
	struct registry *r;
	const char *ca;
	size_t n = 0;

	*out = NULL;
	if (!opts)
		opts = &defaults;
	clr_curl_global_init();
	r = clr_calloc(1, sizeof(*r));
	atomic_init(&r->refs, 1);
	r->base.ops = &registry_ops;
	r->insecure = opts->insecure != 0;
	r->timeout = opts->timeout_secs > 0 ? opts->timeout_secs
					    : DEFAULT_TIMEOUT_SECS;
	if ((ca = clr_curl_ca_file()))
		r->ca_file = clr_strdup(ca);
	r->refuse_private = opts->refuse_private != 0;
	if (opts->allowed_hosts && *opts->allowed_hosts) {
		size_t k = 0;

		while (opts->allowed_hosts[k])
			k++;
		r->allowed_hosts = clr_calloc(k + 1, sizeof(char *));
		for (size_t i = 0; i < k; i++)
			r->allowed_hosts[i] = clr_strdup(opts->allowed_hosts[i]);
	}
	pthread_mutex_init(&r->lock, NULL);
	pthread_mutex_init(&r->pool_lock, NULL);
	clr_hashmap_init(&r->tokens.map);
	if (!(r->origin = origin_of(url))) {
		registry_unref(r);
		return clr_error_set(CLR_EINVALID, "%s: '%.200s' is not an http "
				     "or https URL", what, url);
	}
	r->base_url = clr_strdup(r->origin);

	b = clr_calloc(1, sizeof(*b));
	b->base.read = blob_read;
	b->base.close = blob_close;
	b->r = r;  /* the stream takes the only reference */
	b->url = clr_strdup(url);
	while (headers && headers[n])
		n++;
	/* Even with no header, fixed-header mode (no registry auth dance). */
	b->headers = clr_calloc(n + 1, sizeof(*b->headers));
	for (size_t i = 0; i < n; i++)
		b->headers[i] = clr_strdup(headers[i]);
	snprintf(b->what, sizeof(b->what), "%s", what);
	return blob_start(out, b);
}

int clr_registry_blob_location(struct clr_image_source *src, const char *digest,
			       char **url, char **authorization)
{
	struct registry *r = reg_of(src);
	int err;

	*url = *authorization = NULL;
	if (clr_digest_parse(NULL, digest))
		return clr_error_prefix(CLR_EINVALID, "blob digest");
	if ((err = auth_value(r, authorization)))
		return err;
	*url = repo_url(r, "blobs", digest);
	return 0;
}
