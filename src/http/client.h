/*
 * client.h - the client side of Clair v4's API, as clairctl does it:
 * build a Clair Manifest for a registry image (blob URIs on the registry
 * and the Authorization header it wants), POST it to a server's indexer,
 * GET the vulnerability report.  Used by `clarion report` and meant for
 * `clarion scan --server`; works against `clarion serve` and Clair v4.
 *
 *     struct clr_client c = { .server = "http://localhost:6060" };
 *     json_t *vr;
 *     if ((err = clr_client_report(&vr, &c, "registry:5000/app:1", &src_opts)))
 *             return err;      // message says what failed, with the server's own
 *     ...
 *     json_decref(vr);
 *
 * Errors: CLR_ENET (cannot reach the server, 5xx), CLR_EINVALID (4xx; the
 * message carries the server's {"message"}), CLR_EAUTH (401),
 * CLR_EBUSY (429, or 202: the server has no vulnerability data yet),
 * CLR_EUNSUPPORTED (not a registry image), and the image source's errors.
 */
#ifndef CLR_HTTP_CLIENT_H
#define CLR_HTTP_CLIENT_H

#include <jansson.h>

#include "image/source.h"

struct clr_client {
	const char *server;    /* base URL; NULL: http://localhost:6060 */
	const char *psk;       /* auth.psk.key (base64) to sign requests, or NULL */
	const char *issuer;    /* the token's iss; NULL: "clairctl" */
	long timeout_secs;     /* per request; 0: 600 (indexing is synchronous) */
	int insecure;          /* skip TLS verification of the server */
};

/* The Clair Manifest of a registry image (docker:// or a bare
 * reference), in *out (caller decrefs). */
int clr_client_manifest(json_t **out, const char *image,
			const struct clr_source_opts *opts);

/* POST /indexer/api/v1/index_report: the IndexReport in *out.  A report
 * whose state is IndexError is CLR_EINVALID with its err as message. */
int clr_client_index(json_t **out, const struct clr_client *c,
		     const json_t *manifest);

/* GET /matcher/api/v1/vulnerability_report/DIGEST into *out. */
int clr_client_vulnerability_report(json_t **out, const struct clr_client *c,
				    const char *digest);

/* All three: manifest, index, report. */
int clr_client_report(json_t **out, const struct clr_client *c,
		      const char *image, const struct clr_source_opts *opts);

#endif
