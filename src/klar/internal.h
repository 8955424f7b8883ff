/*
 * internal.h - what the klar/ files share and nobody else needs: one
 * HTTP request on libcurl, behaving like the Go http.Client Klar uses
 * (per-request timeout, redirects followed, gzip accepted, errors worded
 * the Go way).
 */
#ifndef CLR_KLAR_INTERNAL_H
#define CLR_KLAR_INTERNAL_H

#include <stdio.h>

#include "util/buf.h"

/* The largest response body read (a manifest, a token, a layer's
 * vulnerabilities: a big image's answer is a few MiB). */
#define KLAR_BODY_MAX (256 << 20)

struct klar_request {
	const char *method;       /* "GET" or "POST" */
	const char *url;
	const char *authorization; /* header value; NULL: no header */
	const char *basic_user;   /* with basic_password: Basic auth, or NULL */
	const char *basic_password;
	const char *accept;       /* or NULL */
	const char *content_type; /* or NULL */
	const char *body;         /* POST body, or NULL */
	long timeout_min;         /* per request; <= 0: none (as Go) */
	int insecure;             /* skip TLS verification */
	int trace;                /* KLAR_TRACE: dump to trace_f */
	FILE *trace_f;
};

struct klar_response {
	long status;
	char *content_type;       /* the whole header value, or "" */
	char *www_authenticate;   /* or "" */
	struct clr_buf body;
};

/* Performs the request.  0 (whatever the status), or CLR_ENET with the
 * Go client's error text ("Get \"URL\": dial tcp ...") as the message. */
int klar_http(struct klar_response *resp, const struct klar_request *req);

void klar_response_release(struct klar_response *resp);

#endif
