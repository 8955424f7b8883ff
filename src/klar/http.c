/*
 * http.c - one HTTP request for the klar/ files (internal.h).
 *
 * Go's http.Client, which Klar uses for the registry and for Clair,
 * follows redirects (dropping Authorization when the host changes),
 * decompresses gzip it asked for, applies Client.Timeout to the whole
 * request and honours HTTP(S)_PROXY/NO_PROXY; libcurl does the same with
 * the options below.  Failures are worded the Go way, because Klar prints
 * them verbatim and scripts grep for them.
 */
#include "klar/internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "klar/klar.h"
#include "util/alloc.h"
#include "util/curl.h"
#include "util/error.h"

struct ctx {
	struct klar_response *resp;
	int overflow;
};

static size_t on_body(char *p, size_t size, size_t n, void *user)
{
	struct ctx *c = user;

	if (clr_buf_add(&c->resp->body, p, size * n)) {
		c->overflow = 1;
		return 0;
	}
	return size * n;
}

static char *header_value(const char *line, size_t len, const char *name)
{
	size_t n = strlen(name);
	const char *v, *end = line + len;

	if (len <= n || strncasecmp(line, name, n) || line[n] != ':')
		return NULL;
	for (v = line + n + 1; v < end && (*v == ' ' || *v == '\t'); v++)
		;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' ||
			   end[-1] == ' ' || end[-1] == '\t'))
		end--;
	return clr_strndup(v, (size_t)(end - v));
}

static size_t on_header(char *p, size_t size, size_t n, void *user)
{
	struct ctx *c = user;
	size_t len = size * n;
	char *v;

	/* A new response (after a redirect) starts over. */
	if (len > 5 && !strncmp(p, "HTTP/", 5)) {
		free(c->resp->content_type);
		free(c->resp->www_authenticate);
		c->resp->content_type = clr_strdup("");
		c->resp->www_authenticate = clr_strdup("");
	} else if ((v = header_value(p, len, "Content-Type"))) {
		free(c->resp->content_type);
		c->resp->content_type = v;
	} else if ((v = header_value(p, len, "WWW-Authenticate"))) {
		free(c->resp->www_authenticate);
		c->resp->www_authenticate = v;
	}
	return len;
}

static int on_debug(CURL *h, curl_infotype type, char *data, size_t size,
		    void *user)
{
	FILE *f = user;

	(void)h;
	switch (type) {
	case CURLINFO_HEADER_OUT:
	case CURLINFO_HEADER_IN:
	case CURLINFO_DATA_OUT:
		fwrite(data, 1, size, f);
		if (type == CURLINFO_DATA_OUT)
			fputc('\n', f);
		break;
	default:
		break;
	}
	return 0;
}

/* "dial tcp HOST:PORT" for the URL's authority. */
static void dial_target(char *out, size_t size, const char *url)
{
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL;

	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK)
		snprintf(out, size, "%s:%s", host, port);
	else
		snprintf(out, size, "%s", url);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
}

void clr_klar_net_error(char *out, size_t size, const char *method,
			const char *url, int code)
{
	/* Go capitalises the method in url.Error: "Get", "Post". */
	char m[8] = "", target[512], host[512];
	size_t i;

	for (i = 0; method[i] && i < sizeof(m) - 1; i++)
		m[i] = (char)(i ? method[i] - 'A' + 'a' : method[i]);
	m[i] = '\0';
	dial_target(target, sizeof(target), url);
	snprintf(host, sizeof(host), "%s", target);
	if (strrchr(host, ':'))
		*strrchr(host, ':') = '\0';
	switch (code) {
	case CURLE_COULDNT_CONNECT:
		snprintf(out, size, "%s \"%s\": dial tcp %s: connect: "
			 "connection refused", m, url, target);
		break;
	case CURLE_COULDNT_RESOLVE_HOST:
		snprintf(out, size, "%s \"%s\": dial tcp: lookup %s: no such host",
			 m, url, host);
		break;
	case CURLE_OPERATION_TIMEDOUT:
		snprintf(out, size, "%s \"%s\": context deadline exceeded "
			 "(Client.Timeout exceeded while awaiting headers)", m, url);
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
		snprintf(out, size, "%s \"%s\": x509: certificate signed by "
			 "unknown authority", m, url);
		break;
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
		snprintf(out, size, "%s \"%s\": EOF", m, url);
		break;
	default:
		snprintf(out, size, "%s \"%s\": %s", m, url,
			 curl_easy_strerror((CURLcode)code));
	}
}

int klar_http(struct klar_response *resp, const struct klar_request *req)
{
	struct curl_slist *hdrs = NULL;
	struct ctx c = { resp, 0 };
	CURL *h;
	CURLcode rc;
	int err = 0;

	resp->status = 0;
	resp->content_type = clr_strdup("");
	resp->www_authenticate = clr_strdup("");
	clr_buf_init(&resp->body, KLAR_BODY_MAX);
	clr_curl_global_init();
	h = curl_easy_init();
	if (!h)
		return clr_error_set(CLR_ENOMEM, "curl_easy_init failed");
	curl_easy_setopt(h, CURLOPT_URL, req->url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L); /* Go stops after 10 */
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "gzip");
	curl_easy_setopt(h, CURLOPT_USERAGENT, "Go-http-client/1.1");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &c);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &c);
	if (req->timeout_min > 0 && req->timeout_min < 35791)
		curl_easy_setopt(h, CURLOPT_TIMEOUT, req->timeout_min * 60L);
	if (req->insecure) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (req->trace && req->trace_f) {
		curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, on_debug);
		curl_easy_setopt(h, CURLOPT_DEBUGDATA, req->trace_f);
		curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
	}
	if (req->basic_user) {
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
		curl_easy_setopt(h, CURLOPT_USERNAME, req->basic_user);
		curl_easy_setopt(h, CURLOPT_PASSWORD,
				 req->basic_password ? req->basic_password : "");
	}
	if (req->authorization) {
		char *line;

		/* An empty value is sent as "Authorization;", curl's way of
		 * writing an empty header. */
		if (*req->authorization) {
			size_t n = strlen(req->authorization) + 32;

			line = clr_malloc(n);
			snprintf(line, n, "Authorization: %s", req->authorization);
		} else {
			line = clr_strdup("Authorization;");
		}
		hdrs = curl_slist_append(hdrs, line);
		free(line);
	}
	if (req->accept) {
		char line[1024];

		snprintf(line, sizeof(line), "Accept: %s", req->accept);
		hdrs = curl_slist_append(hdrs, line);
	}
	if (req->content_type) {
		char line[256];

		snprintf(line, sizeof(line), "Content-Type: %s", req->content_type);
		hdrs = curl_slist_append(hdrs, line);
	}
	if (!strcmp(req->method, "POST")) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body ? req->body : "");
		/* Go sends no "Expect: 100-continue". */
		hdrs = curl_slist_append(hdrs, "Expect:");
	} else if (strcmp(req->method, "GET")) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	rc = curl_easy_perform(h);
	if (c.overflow) {
		err = clr_error_set(CLR_ELIMIT, "%s \"%s\": response larger than "
				    "%d bytes", req->method, req->url, KLAR_BODY_MAX);
	} else if (rc != CURLE_OK) {
		char msg[2048];

		clr_klar_net_error(msg, sizeof(msg), req->method, req->url, (int)rc);
		err = clr_error_set(CLR_ENET, "%s", msg);
	} else {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
		/* The body as the client sees it (decompressed), as Go's
		 * httputil.DumpResponse shows it. */
		if (req->trace && req->trace_f) {
			fwrite(clr_buf_str(&resp->body), 1, resp->body.len,
			       req->trace_f);
			fputc('\n', req->trace_f);
		}
	}
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	return err;
}

void klar_response_release(struct klar_response *resp)
{
	free(resp->content_type);
	free(resp->www_authenticate);
	clr_buf_release(&resp->body);
	resp->content_type = resp->www_authenticate = NULL;
}
