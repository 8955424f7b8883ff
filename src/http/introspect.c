/*
 * introspect.c - the introspection listener (introspection_addr, default
 * :8089), as Clair's: /healthz, /readyz and /metrics, never authenticated.
 *
 *   /healthz  200 "ok" while the process serves at all
 *   /readyz   200 once the service is ready (store reachable, first data
 *             load done), 503 before that and while shutting down: what a
 *             load balancer or a Kubernetes readiness probe asks
 *   /metrics  Prometheus text format 0.0.4: per-route request counts and
 *             latency histograms (server.c), the service's own figures
 *             (service.c)
 */
#include <string.h>

#include "http/http.h"
#include "http/service.h"
#include "util/buf.h"

#define METRICS_MAX (16u << 20)

static int healthz(struct clr_http_request *req)
{
	return clr_http_reply(req, 200, "text/plain; charset=utf-8", "ok", 2);
}

static int readyz(struct clr_http_request *req)
{
	if (clr_service_ready(clr_http_service(req)))
		return clr_http_reply(req, 200, "text/plain; charset=utf-8", "ok", 2);
	return clr_http_reply(req, 503, "text/plain; charset=utf-8",
			      "not ready", 9);
}

static int metrics(struct clr_http_request *req)
{
	struct clr_buf out = CLR_BUF_INIT(METRICS_MAX);
	int err;

	clr_http_metrics_write(&out);
	clr_service_metrics_write(clr_http_service(req), &out);
	err = clr_http_reply(req, 200, "text/plain; version=0.0.4; charset=utf-8",
			     clr_buf_str(&out), out.len);
	clr_buf_release(&out);
	return err;
}

const struct clr_http_route clr_http_introspect_routes[] = {
	{ "GET", "/healthz", healthz, "healthz", CLR_HTTP_OPEN },
	{ "GET", "/readyz", readyz, "readyz", CLR_HTTP_OPEN },
	{ "GET", "/metrics", metrics, "metrics", CLR_HTTP_OPEN },
	{ "GET", "/health", clr_http_v1_health, "health", CLR_HTTP_OPEN },
	{ NULL, NULL, NULL, NULL, 0 },
};
