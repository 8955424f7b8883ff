/*
 * reference.h - image references ("alpine", "host:5000/ns/repo:tag",
 * "repo@sha256:...") parsed and normalised the way Docker does it.
 *
 *     alpine                      docker.io/library/alpine:latest
 *     user/repo                   docker.io/user/repo:latest
 *     localhost/repo              localhost/repo:latest
 *     host:5000/ns/repo:1.2       host:5000/ns/repo:1.2
 *     repo@sha256:<hex>           docker.io/library/repo@sha256:<hex>
 *     repo:tag@sha256:<hex>       docker.io/library/repo:tag@sha256:<hex>
 *
 * The first path component names a registry only when it contains '.' or
 * ':' or is "localhost"; otherwise the reference is on Docker Hub.  The
 * grammar is the distribution project's reference grammar (lowercase path
 * components joined by '.', '_', "__" or dashes; tags of at most 128 word
 * characters, dots and dashes; the whole name at most 255 characters).
 * Only sha256 digests are accepted: clarion must be able to verify them.
 */
#ifndef CLR_IMAGE_REFERENCE_H
#define CLR_IMAGE_REFERENCE_H

/* Docker Hub's name in references, and the host its API really lives on. */
#define CLR_REFERENCE_DOCKER_HUB "docker.io"
#define CLR_REFERENCE_DOCKER_HUB_API "registry-1.docker.io"

struct clr_reference {
	char *registry;   /* "docker.io", "quay.io", "127.0.0.1:5000", "[::1]:5000" */
	char *api_host;   /* host[:port] to connect to: registry-1.docker.io for docker.io */
	char *repository; /* "library/alpine": the path under /v2/ */
	char *tag;        /* "latest" when neither tag nor digest was given; NULL
			   * when only a digest was given */
	char *digest;     /* "sha256:<64 hex>", or NULL */
};

/* Parses and normalises s.  CLR_EINVALID with a message naming what is
 * wrong ("repository name must be lowercase", "invalid tag", ...) for
 * anything Docker would refuse.  *out is the caller's (clr_reference_free). */
int clr_reference_parse(struct clr_reference **out, const char *s);

/* The normalised reference: "registry/repository[:tag][@digest]".  The
 * caller frees the result. */
char *clr_reference_string(const struct clr_reference *ref);

/* What to ask the registry's manifest endpoint for: the digest when there
 * is one (it pins the content, even next to a tag), else the tag.
 * Borrowed from ref. */
const char *clr_reference_manifest_ref(const struct clr_reference *ref);

/* NULL does nothing. */
void clr_reference_free(struct clr_reference *ref);

#endif
