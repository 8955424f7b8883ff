/*
 * source.h - where an image comes from: one interface, one backend per
 * transport (skopeo's names).
 *
 *   docker://REF        a registry (registry.c)          the default
 *   docker-archive:PATH a `docker save` tarball          (archive.c)
 *   oci:PATH[:TAG]      an OCI image layout directory    (ocilayout.c)
 *   oci-archive:PATH    a tar of an OCI image layout     (ocilayout.c)
 *   dir:PATH            an unpacked root filesystem      (rootfs.c)
 *
 * A source hands out manifests (raw bytes, as stored, so digests can be
 * checked) and blobs (as streams of the stored, usually compressed, bytes).
 * Choosing a platform from an index, parsing manifests and verifying blob
 * digests happen above, in manifest.c and the layer reader, the same way
 * for every transport.  A dir: source has no manifest or blobs: it answers
 * CLR_EUNSUPPORTED to both and exposes its root through `rootfs`.
 */
#ifndef CLR_IMAGE_SOURCE_H
#define CLR_IMAGE_SOURCE_H

#include <stddef.h>

#include "util/stream.h"

struct clr_image_source;

struct clr_image_source_ops {
	const char *transport; /* "docker", "docker-archive", "oci", ... */

	/* The manifest named by digest ("sha256:..."), or the image's top
	 * manifest (which may be an index / manifest list) when digest is
	 * NULL.  *bytes (NUL-terminated, caller frees) are exactly as stored;
	 * *media_type (caller frees) is what the source says it is, or ""
	 * when it does not say (manifest.c then sniffs the JSON). */
	int (*get_manifest)(struct clr_image_source *src, const char *digest,
			    char **bytes, size_t *len, char **media_type);

	/* A blob (config or layer) by digest, as a stream of its stored bytes.
	 * The consumer verifies the digest while reading. */
	int (*open_blob)(struct clr_stream **out, struct clr_image_source *src,
			 const char *digest);

	/* Frees the source. */
	void (*free)(struct clr_image_source *src);
};

struct clr_image_source {
	const struct clr_image_source_ops *ops;
	char *name;    /* what the user gave, normalised (for reports, logs) */
	char *rootfs;  /* dir: transport only: the root directory; else NULL */
};

/* Options every transport may use; the registry uses most of them. */
struct clr_source_opts {
	const char *platform;  /* "os/arch[/variant]", NULL: linux/amd64 */
	const char *username;  /* registry credentials, or NULL */
	const char *password;
	int insecure;          /* skip TLS verification */
	int plain_http;        /* talk http:// to the registry */
	long timeout_secs;     /* per network operation; 0: the default */
	/* Where URLs a client gave may lead (clr_registry_open_url, for
	 * `clarion serve`; SSRF protection, clr_registry_url_check): */
	const char *const *allowed_hosts; /* NULL-terminated patterns
					   * "host", "host:port",
					   * "*.domain"; NULL or empty: any */
	int refuse_private;    /* never connect to a loopback, link-local,
				* private (RFC 1918, ULA) or unspecified
				* address, checked on the address actually
				* connected to, redirects included */
};

/* Opens the source named by an image string with an optional transport
 * prefix (no prefix: docker://).  CLR_EINVALID with a clear message for a
 * malformed name; CLR_ENOTFOUND when a local path does not exist. */
int clr_image_source_open(struct clr_image_source **out, const char *image,
			  const struct clr_source_opts *opts);

void clr_image_source_free(struct clr_image_source *src);

#endif
