/*
 * registry.h - the docker:// transport: a Docker Registry HTTP API v2 / OCI
 * distribution client on libcurl.
 *
 * Opening pings the registry (GET /v2/), so an unreachable host, a bad
 * certificate or a non-registry is reported at once.  Credentials come from
 * opts->username/password, else from the docker config (auth.h).  TLS is
 * verified unless opts->insecure; a private CA can be given in the
 * environment as CLARION_CA_FILE (also read: CURL_CA_BUNDLE, SSL_CERT_FILE),
 * a PEM file that replaces the system's trust store for this source.
 *
 * get_manifest verifies the bytes against the digest whenever one is known
 * (asked for, in the reference, or sent by the registry as
 * Docker-Content-Digest) and refuses manifests over
 * CLR_REGISTRY_MANIFEST_MAX bytes (CLR_ELIMIT).  open_blob streams from a
 * download thread; its consumer verifies the digest.  Errors: 404
 * CLR_ENOTFOUND; 401/403 and other 4xx CLR_EINVALID (with the registry's
 * message); 429, 5xx and network failures CLR_ENET (after retries).
 *
 * The source and its streams may be used from different threads (one
 * thread per stream); a stream may outlive the source's free().
 */
#ifndef CLR_IMAGE_REGISTRY_H
#define CLR_IMAGE_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

#include "image/reference.h"
#include "image/source.h"

/* The largest manifest accepted, as Docker's own limit. */
#define CLR_REGISTRY_MANIFEST_MAX (4 << 20)

/* Opens a registry source for a reference such as "alpine",
 * "host:5000/ns/repo:tag" or "repo@sha256:..." (no "docker://" prefix). */
int clr_registry_source_open(struct clr_image_source **out, const char *ref,
			     const struct clr_source_opts *opts);

/* A whole blob in memory (a config blob: small), at most max bytes
 * (CLR_ELIMIT beyond), verified against digest (CLR_EINVALID when it does
 * not match).  src must be a registry source.  *bytes (NUL-terminated,
 * caller frees) holds *len bytes. */
int clr_registry_get_blob_bytes(struct clr_image_source *src,
				const char *digest, size_t max, char **bytes,
				size_t *len);

/* A stream of the blob at url, for blobs whose location a client gave
 * (the layers of a Clair Manifest): a GET sent with headers ("Name: value"
 * lines, NULL-terminated, may be NULL) to url's origin only.  Redirects
 * are followed (at most 5), and the headers, Authorization included, are
 * never sent to another origin (scheme, host, port), as libcurl's
 * CURLOPT_UNRESTRICTED_AUTH=0 does for credentials.  No registry login is
 * attempted: the headers are the credentials.  Retries, timeouts, trust
 * and error codes as for registry blobs; what names the blob in messages.
 * opts: insecure and timeout_secs are used; NULL means the defaults. */
int clr_registry_open_url(struct clr_stream **out, const char *url,
			  const char *const *headers, const char *what,
			  const struct clr_source_opts *opts);

/* The SSRF policy of opts (allowed_hosts, refuse_private) on url before
 * any request: CLR_EINVALID naming the host when its host (and port) is
 * not allowed, or when refuse_private and its name resolves to a private
 * address (a failed resolution is left to the fetch).  clr_registry_open_url
 * applies the same policy again on every hop and on the address each
 * connection actually uses, so a name that resolves differently later (DNS
 * rebinding) or a redirect cannot get around it. */
int clr_registry_url_check(const char *url, const struct clr_source_opts *opts);

/* Whether the address is one refuse_private refuses: loopback, link-local,
 * RFC 1918, ULA (fc00::/7), unspecified, or IPv4 of those mapped into
 * IPv6.  Exposed for tests. */
struct sockaddr;
bool clr_registry_addr_private(const struct sockaddr *sa);

/* Where a blob of a registry source is and what a client must send to get
 * it, for handing the fetch to someone else (a Clair Manifest for
 * `clarion serve`, as clairctl builds one): the blob URL in *url and the
 * Authorization value the registry wants for this repository ("Bearer
 * <token>" with a pull token fetched now if needed, or "Basic ...") in
 * *authorization, NULL when it wants none.  Both are the caller's. */
int clr_registry_blob_location(struct clr_image_source *src, const char *digest,
			       char **url, char **authorization);

/* The parsed, normalised reference of a registry source.  Borrowed. */
const struct clr_reference *
clr_registry_source_reference(const struct clr_image_source *src);

#endif
