/*
 * manifest.h - image manifests and indexes: parsing and platform selection.
 *
 * One parser for every manifest format a registry or a layout may hold:
 *
 *   Docker schema 2      application/vnd.docker.distribution.manifest.v2+json
 *   OCI image manifest   application/vnd.oci.image.manifest.v1+json
 *   Docker manifest list application/vnd.docker.distribution.manifest.list.v2+json
 *   OCI image index      application/vnd.oci.image.index.v1+json
 *   Docker schema 1      application/vnd.docker.distribution.manifest.v1+json
 *                        application/vnd.docker.distribution.manifest.v1+prettyjws
 *                        (legacy, read-only: signatures are not checked)
 *
 * The result is one struct whatever the format: an image (config and layers,
 * bottom layer first) or an index (platform entries).  Manifests are
 * untrusted: the size, the number of layers or entries, every type and every
 * digest is checked, and an error names the field that is wrong
 * ("layers[2].size: negative (-5)").
 *
 *     struct clr_manifest *m;
 *     if ((err = clr_manifest_parse(&m, bytes, len, media_type)))
 *             return err;
 *     if (m->kind == CLR_MANIFEST_INDEX)
 *             err = clr_manifest_select_platform(m, "linux/amd64", &desc);
 *     clr_manifest_free(m);
 */
#ifndef CLR_IMAGE_MANIFEST_H
#define CLR_IMAGE_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#define CLR_MT_DOCKER_V2     "application/vnd.docker.distribution.manifest.v2+json"
#define CLR_MT_DOCKER_LIST   "application/vnd.docker.distribution.manifest.list.v2+json"
#define CLR_MT_DOCKER_V1     "application/vnd.docker.distribution.manifest.v1+json"
#define CLR_MT_DOCKER_V1_JWS "application/vnd.docker.distribution.manifest.v1+prettyjws"
#define CLR_MT_OCI_MANIFEST  "application/vnd.oci.image.manifest.v1+json"
#define CLR_MT_OCI_INDEX     "application/vnd.oci.image.index.v1+json"

#define CLR_MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define CLR_MT_DOCKER_LAYER  "application/vnd.docker.image.rootfs.diff.tar"
#define CLR_MT_DOCKER_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define CLR_MT_OCI_CONFIG    "application/vnd.oci.image.config.v1+json"

/* Largest manifest accepted, in bytes (registries refuse more than 4 MiB
 * too), and the most layers / index entries one may list. */
#define CLR_MANIFEST_MAX_SIZE    (4u << 20)
#define CLR_MANIFEST_MAX_LAYERS  1024
#define CLR_MANIFEST_MAX_ENTRIES 1024

enum clr_manifest_kind {
	CLR_MANIFEST_IMAGE, /* one image: config + layers */
	CLR_MANIFEST_INDEX, /* a list of per-platform manifests */
};

/* A content descriptor: what a manifest says about a blob it refers to. */
struct clr_descriptor {
	char *media_type; /* "" when the manifest did not say (schema 1) */
	char *digest;     /* "sha256:<64 hex>", validated */
	int64_t size;     /* bytes; -1 when unknown (schema 1 layers) */
	char **urls;      /* n_urls alternative locations (foreign layers) */
	size_t n_urls;
	char *ref_name;   /* org.opencontainers.image.ref.name annotation (the
			   * tag in an OCI layout's index.json), or NULL */
};

/* One entry of an index: a manifest and the platform it is for. */
struct clr_platform_entry {
	struct clr_descriptor desc;
	char *os;           /* NULL when the entry has no platform */
	char *architecture; /* NULL when the entry has no platform */
	char *variant;      /* NULL when not given */
};

struct clr_manifest {
	enum clr_manifest_kind kind;
	const char *media_type;  /* one of the CLR_MT_* manifest types: what
				  * the bytes were parsed as (given or sniffed) */
	int schema_version;      /* 1 or 2 */

	/* CLR_MANIFEST_IMAGE: config.digest is NULL for schema 1, which has
	 * no config blob.  Layers are in order bottom (base) first. */
	struct clr_descriptor config;
	struct clr_descriptor *layers;
	size_t n_layers;

	/* CLR_MANIFEST_INDEX, in the order listed. */
	struct clr_platform_entry *entries;
	size_t n_entries;
};

/* Parses len bytes of manifest JSON.  media_type is what the source said
 * (Content-Type, a descriptor's mediaType); NULL, "" or a generic type such
 * as "application/json" means "unknown", and the format is then sniffed
 * from the document's mediaType, schemaVersion, manifests, layers and
 * fsLayers fields.  A media type that contradicts the document's own
 * mediaType field is refused.
 *
 * CLR_EINVALID (message naming the field) for malformed input, CLR_ELIMIT
 * past the size or count caps, CLR_EUNSUPPORTED for a well-formed document
 * of another kind (an artifact manifest, say). */
int clr_manifest_parse(struct clr_manifest **out, const char *bytes,
		       size_t len, const char *media_type);

void clr_manifest_free(struct clr_manifest *m);

/* Whether media_type names an index (OCI index or Docker manifest list). */
int clr_manifest_type_is_index(const char *media_type);

/* Picks the entry of an index for platform "os/arch[/variant]" (NULL:
 * "linux/amd64").  os and architecture must match exactly (the aliases
 * x86_64 and aarch64 are accepted in the request); a requested variant
 * must match, where an entry without a variant counts as "v8" for arm64
 * and "v7" for arm.  Without a requested variant the entry with the
 * architecture's default variant is preferred, else the first of that
 * os/arch.  Entries for unknown/unknown (build attestations) and entries
 * with no platform are never chosen.
 *
 * *out is borrowed from index.  CLR_ENOTFOUND when nothing matches, with
 * a message listing what the index has:
 *   "no manifest for platform linux/amd64 in the index; available:
 *    linux/arm64/v8, linux/s390x"
 * CLR_EINVALID for a malformed platform string. */
int clr_manifest_select_platform(const struct clr_manifest *index,
				 const char *platform,
				 const struct clr_descriptor **out);

#endif
