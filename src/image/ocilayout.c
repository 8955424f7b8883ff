/*
 * ocilayout.c - the oci: and oci-archive: transports: an OCI image layout
 * (image-spec image-layout.md), as a directory or inside a tar file.
 *
 *   oci-layout         {"imageLayoutVersion": "1.0.0"}
 *   index.json         an OCI index; entries may carry the tag in the
 *                      org.opencontainers.image.ref.name annotation
 *   blobs/sha256/<hex> every manifest, config and layer
 *
 * Choosing what to scan: with a tag, the entry (or entries) of index.json
 * carrying it; without one, the only entry, or index.json itself when all
 * its entries are platforms of one untagged or single-tagged image.  What
 * get_manifest(NULL) returns is then that manifest's blob, or an index for
 * clr_image_resolve() to choose a platform from.  When one tag names several
 * platform manifests directly in index.json, the source builds a small OCI
 * index of just those entries (deterministic bytes), so that selection
 * cannot wander into another tag's manifests.
 *
 * The layout is untrusted like any download: digests must be sha256 hex
 * before they become file names, a blob must resolve (symlinks included)
 * to a file inside the layout, and every manifest read is checked against
 * the digest it is named by before it is handed out.
 */
#include "image/transports.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "image/manifest.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/sha256.h"

#define LAYOUT_FILE_MAX (64u << 10)

struct oci_source {
	struct clr_image_source base;
	bool is_tar;
	char *root;                 /* oci: the layout directory (realpath) */
	struct clr_tar_index tar;   /* oci-archive: the members */
	char *tag;                  /* NULL: none given */
	char *index_bytes;          /* index.json as stored */
	size_t index_len;
	struct clr_manifest *index; /* index.json, parsed */
};

/* --- reading files of the layout ---------------------------------------- */

/* The path of a blob, after checking the digest is one (so that it cannot
 * smuggle "../" into the path) and that the file it resolves to is inside
 * the layout. */
static int blob_path(struct oci_source *o, const char *digest, char **out)
{
	char *path, *real;
	size_t rootlen = strlen(o->root);
	int err;

	*out = NULL;
	if (clr_digest_parse(NULL, digest))
		return clr_error_prefix(CLR_EINVALID, "blob '%.100s'", digest);
	path = clr_malloc(rootlen + 14 + CLR_SHA256_HEXLEN + 1);
	sprintf(path, "%s/blobs/sha256/%s", o->root, digest + 7);
	real = realpath(path, NULL);
	if (!real) {
		err = clr_error_set(errno == ENOENT ? CLR_ENOTFOUND : CLR_EIO,
				    "blob %s: %s", digest, strerror(errno));
		free(path);
		return err;
	}
	free(path);
	if (strncmp(real, o->root, rootlen) || real[rootlen] != '/') {
		err = clr_error_set(CLR_EINVALID, "blob %s: resolves to %.200s,"
				    " outside the layout", digest, real);
		free(real);
		return err;
	}
	*out = real;
	return 0;
}

static int read_path(char **bytes, size_t *len, const char *path, size_t max)
{
	struct clr_stream *s;
	struct stat st;
	int err;

	if (stat(path, &st))
		return clr_error_set(errno == ENOENT ? CLR_ENOTFOUND : CLR_EIO,
				     "%s", strerror(errno));
	if (!S_ISREG(st.st_mode))
		return clr_error_set(CLR_EINVALID, "not a regular file");
	if ((uint64_t)st.st_size > max)
		return clr_error_set(CLR_ELIMIT, "%lld bytes, more than the "
				     "limit of %zu", (long long)st.st_size,
				     max);
	if ((err = clr_stream_from_file(&s, path)))
		return err;
	return clr_source_slurp(bytes, len, s, max);
}

/* A file of the layout by its name in the layout ("index.json",
 * "blobs/sha256/<hex>"), at most max bytes. */
static int read_layout_file(struct oci_source *o, const char *name,
			    size_t max, char **bytes, size_t *len)
{
	const struct clr_tar_member *m;
	char *path;
	int err;

	*bytes = NULL;
	*len = 0;
	if (o->is_tar) {
		if ((err = clr_tar_lookup(&o->tar, name, &m)))
			return err;
		return clr_tar_read_member(bytes, len, &o->tar, m, max);
	}
	path = clr_malloc(strlen(o->root) + strlen(name) + 2);
	sprintf(path, "%s/%s", o->root, name);
	err = read_path(bytes, len, path, max);
	free(path);
	return err;
}

/* A manifest blob, checked against its digest. */
static int read_manifest_blob(struct oci_source *o, const char *digest,
			      char **bytes, size_t *len)
{
	char name[14 + CLR_SHA256_HEXLEN + 1], *path = NULL;
	char got[CLR_DIGEST_STRLEN + 1];
	uint8_t d[CLR_SHA256_LEN];
	int err;

	*bytes = NULL;
	if (clr_digest_parse(NULL, digest))
		return clr_error_prefix(CLR_EINVALID, "manifest '%.100s'",
					digest);
	snprintf(name, sizeof(name), "blobs/sha256/%s", digest + 7);
	if (o->is_tar) {
		err = read_layout_file(o, name, CLR_MANIFEST_MAX_SIZE, bytes,
				       len);
	} else if (!(err = blob_path(o, digest, &path))) {
		err = read_path(bytes, len, path, CLR_MANIFEST_MAX_SIZE);
		free(path);
	}
	if (err)
		return clr_error_prefix(err, "manifest %s", digest);
	if ((err = clr_sha256(d, *bytes, *len)))
		goto fail;
	clr_digest_format(got, d);
	if (strcmp(got, digest)) {
		err = clr_error_set(CLR_EINVALID, "manifest %s: digest "
				    "mismatch: the blob's content hashes to %s",
				    digest, got);
		goto fail;
	}
	return 0;
fail:
	free(*bytes);
	*bytes = NULL;
	return err;
}

/* --- choosing the top manifest ------------------------------------------ */

static bool same_tag(const struct clr_platform_entry *e, const char *tag)
{
	return e->desc.ref_name && !strcmp(e->desc.ref_name, tag);
}

static int list_tags(struct clr_buf *b, const struct clr_manifest *index)
{
	for (size_t i = 0; i < index->n_entries; i++) {
		const char *t = index->entries[i].desc.ref_name;
		bool seen = false;

		if (!t)
			continue;
		for (size_t k = 0; k < i && !seen; k++)
			seen = index->entries[k].desc.ref_name &&
			       !strcmp(index->entries[k].desc.ref_name, t);
		if (!seen && clr_buf_printf(b, "%s%.100s", b->len ? ", " : "",
					    t))
			return clr_buf_addstr(b, "...");
	}
	return 0;
}

static int tag_error(struct oci_source *o, int code, const char *what)
{
	struct clr_buf b = CLR_BUF_INIT(600);
	int err;

	list_tags(&b, o->index);
	err = clr_error_set(code, "%s; tags: %s", what,
			    b.len ? clr_buf_str(&b) : "none");
	clr_buf_release(&b);
	return err;
}

/* An OCI index of the entries tagged o->tag (all with platforms). */
static int synthesize_index(struct oci_source *o, char **bytes, size_t *len)
{
	json_t *root = json_object(), *list = json_array();
	char *s;

	json_object_set_new(root, "schemaVersion", json_integer(2));
	json_object_set_new(root, "mediaType", json_string(CLR_MT_OCI_INDEX));
	for (size_t i = 0; i < o->index->n_entries; i++) {
		const struct clr_platform_entry *e = &o->index->entries[i];
		json_t *d, *p;

		if (!same_tag(e, o->tag))
			continue;
		d = json_object();
		p = json_object();
		json_object_set_new(d, "mediaType",
				    json_string(e->desc.media_type));
		json_object_set_new(d, "digest", json_string(e->desc.digest));
		json_object_set_new(d, "size", json_integer(e->desc.size));
		json_object_set_new(p, "architecture",
				    json_string(e->architecture));
		json_object_set_new(p, "os", json_string(e->os));
		if (e->variant)
			json_object_set_new(p, "variant",
					    json_string(e->variant));
		json_object_set_new(d, "platform", p);
		json_array_append_new(list, d);
	}
	json_object_set_new(root, "manifests", list);
	s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (!s)
		return clr_error_set(CLR_ENOMEM, "cannot serialise an index");
	*len = strlen(s);
	*bytes = clr_strdup(s);
	free(s);
	return 0;
}

/* Which index.json entries the user means: their positions in *first and
 * how many there are, and whether they all have a platform. */
static void chosen_entries(struct oci_source *o, size_t *first, size_t *n,
			   bool *all_platforms)
{
	*first = SIZE_MAX;
	*n = 0;
	*all_platforms = true;
	for (size_t i = 0; i < o->index->n_entries; i++) {
		const struct clr_platform_entry *e = &o->index->entries[i];

		if (o->tag && !same_tag(e, o->tag))
			continue;
		if (*first == SIZE_MAX)
			*first = i;
		(*n)++;
		if (!e->os)
			*all_platforms = false;
	}
}

/* Whether the entries of index.json carry at most one distinct tag. */
static bool one_tag_at_most(const struct clr_manifest *index)
{
	const char *tag = NULL;

	for (size_t i = 0; i < index->n_entries; i++) {
		const char *t = index->entries[i].desc.ref_name;

		if (!t)
			continue;
		if (tag && strcmp(tag, t))
			return false;
		tag = t;
	}
	return true;
}

/* What get_manifest(NULL) hands out. */
enum pick {
	PICK_ENTRY,      /* the manifest of one index.json entry */
	PICK_TAGGED,     /* an index made of the entries carrying the tag */
	PICK_INDEX_JSON, /* index.json itself, to choose a platform from */
};

/* Decides what the user means (at open, so that an ambiguous layout is
 * reported before anything else happens). */
static int decide(struct oci_source *o, enum pick *pick, size_t *first)
{
	size_t n;
	bool all_platforms;

	chosen_entries(o, first, &n, &all_platforms);
	if (n == 1) {
		*pick = PICK_ENTRY;
		return 0;
	}
	if (o->tag) {
		char what[200];

		if (!n) {
			snprintf(what, sizeof(what), "no image tagged "
				 "'%.100s'", o->tag);
			return tag_error(o, CLR_ENOTFOUND, what);
		}
		if (!all_platforms)
			return clr_error_set(CLR_EINVALID, "tag '%.100s' "
					     "names %zu manifests, not all "
					     "with a platform", o->tag, n);
		*pick = PICK_TAGGED;
		return 0;
	}
	if (all_platforms && one_tag_at_most(o->index)) {
		*pick = PICK_INDEX_JSON;
		return 0;
	}
	return tag_error(o, CLR_EINVALID, "the layout holds several images; "
			 "name one as PATH:TAG");
}

static int top_manifest(struct oci_source *o, char **bytes, size_t *len,
			char **media_type)
{
	const struct clr_descriptor *d;
	enum pick pick;
	size_t first;
	int err;

	if ((err = decide(o, &pick, &first)))
		return err;
	switch (pick) {
	case PICK_ENTRY:
		d = &o->index->entries[first].desc;
		if (!(err = read_manifest_blob(o, d->digest, bytes, len)))
			*media_type = clr_strdup(d->media_type);
		return err;
	case PICK_TAGGED:
		*media_type = clr_strdup(CLR_MT_OCI_INDEX);
		return synthesize_index(o, bytes, len);
	case PICK_INDEX_JSON:
		break;
	}
	*bytes = clr_malloc(o->index_len + 1);
	memcpy(*bytes, o->index_bytes, o->index_len + 1);
	*len = o->index_len;
	*media_type = clr_strdup(CLR_MT_OCI_INDEX);
	return 0;
}

/* --- the source ops ----------------------------------------------------- */

static int oci_get_manifest(struct clr_image_source *src, const char *digest,
			    char **bytes, size_t *len, char **media_type)
{
	struct oci_source *o = (struct oci_source *)src;
	int err;

	*bytes = NULL;
	*media_type = NULL;
	*len = 0;
	if (!digest)
		err = top_manifest(o, bytes, len, media_type);
	else if (!(err = read_manifest_blob(o, digest, bytes, len))) {
		const char *mt = "";

		/* index.json may know the type; else the index entry that
		 * led here does, and image.c uses that. */
		for (size_t i = 0; i < o->index->n_entries; i++)
			if (!strcmp(o->index->entries[i].desc.digest, digest))
				mt = o->index->entries[i].desc.media_type;
		*media_type = clr_strdup(mt);
	}
	/* No prefix: clr_image_resolve() names the image. */
	return err;
}

static int oci_open_blob(struct clr_stream **out, struct clr_image_source *src,
			 const char *digest)
{
	struct oci_source *o = (struct oci_source *)src;
	const struct clr_tar_member *m;
	char name[14 + CLR_SHA256_HEXLEN + 1], *path;
	int err;

	*out = NULL;
	if (o->is_tar) {
		if (clr_digest_parse(NULL, digest))
			err = clr_error_prefix(CLR_EINVALID, "blob '%.100s'",
					       digest);
		else {
			snprintf(name, sizeof(name), "blobs/sha256/%s",
				 digest + 7);
			if (!(err = clr_tar_lookup(&o->tar, name, &m)))
				err = clr_tar_open_member(out, &o->tar, m);
		}
	} else if (!(err = blob_path(o, digest, &path))) {
		err = clr_stream_from_file(out, path);
		free(path);
	}
	if (err)
		clr_error_prefix(err, "%s", o->base.name);
	return err;
}

static void oci_free(struct clr_image_source *src)
{
	struct oci_source *o = (struct oci_source *)src;

	if (o->is_tar)
		clr_tar_index_release(&o->tar);
	clr_manifest_free(o->index);
	free(o->index_bytes);
	free(o->root);
	free(o->tag);
	free(o->base.name);
	free(o);
}

static const struct clr_image_source_ops oci_ops = {
	.transport = "oci",
	.get_manifest = oci_get_manifest,
	.open_blob = oci_open_blob,
	.free = oci_free,
};

static const struct clr_image_source_ops oci_archive_ops = {
	.transport = "oci-archive",
	.get_manifest = oci_get_manifest,
	.open_blob = oci_open_blob,
	.free = oci_free,
};

/* --- opening ------------------------------------------------------------ */

static int check_layout_file(struct oci_source *o)
{
	const json_t *v;
	json_t *root;
	json_error_t jerr;
	char *bytes;
	size_t len;
	int err;

	if ((err = read_layout_file(o, "oci-layout", LAYOUT_FILE_MAX, &bytes,
				    &len))) {
		if (err == CLR_ENOTFOUND)
			return clr_error_set(CLR_EINVALID, "oci-layout is "
					     "missing: not an OCI image "
					     "layout");
		return clr_error_prefix(err, "oci-layout");
	}
	root = json_loadb(bytes, len, 0, &jerr);
	free(bytes);
	if (!root)
		return clr_error_set(CLR_EINVALID, "oci-layout: invalid JSON: "
				     "%s", jerr.text);
	v = json_object_get(root, "imageLayoutVersion");
	if (!json_is_string(v))
		err = clr_error_set(CLR_EINVALID, "oci-layout: "
				    "imageLayoutVersion: missing or not a "
				    "string");
	else if (strncmp(json_string_value(v), "1.", 2))
		err = clr_error_set(CLR_EUNSUPPORTED, "oci-layout: version "
				    "'%.20s' (clarion reads 1.x)",
				    json_string_value(v));
	json_decref(root);
	return err;
}

static int load_layout(struct oci_source *o)
{
	enum pick pick;
	size_t first;
	int err;

	if ((err = check_layout_file(o)))
		return err;
	if ((err = read_layout_file(o, "index.json", CLR_MANIFEST_MAX_SIZE,
				    &o->index_bytes, &o->index_len))) {
		if (err == CLR_ENOTFOUND)
			return clr_error_set(CLR_EINVALID, "index.json is "
					     "missing");
		return clr_error_prefix(err, "index.json");
	}
	if ((err = clr_manifest_parse(&o->index, o->index_bytes, o->index_len,
				      CLR_MT_OCI_INDEX)))
		return clr_error_prefix(err, "index.json");
	if (!o->index->n_entries)
		return clr_error_set(CLR_EINVALID, "index.json lists no "
				     "manifests");
	return decide(o, &pick, &first);
}

static int oci_open(struct clr_image_source **out, const char *path,
		    const char *tag, bool is_tar)
{
	struct oci_source *o = clr_calloc(1, sizeof(*o));
	struct clr_buf name = CLR_BUF_INIT(8192);
	struct stat st;
	int err;

	*out = NULL;
	if (tag && !*tag)
		tag = NULL;
	o->base.ops = is_tar ? &oci_archive_ops : &oci_ops;
	o->is_tar = is_tar;
	o->tag = tag ? clr_strdup(tag) : NULL;
	if ((err = clr_buf_printf(&name, "%s:%s%s%s",
				  is_tar ? "oci-archive" : "oci", path,
				  tag ? ":" : "", tag ? tag : ""))) {
		free(o->tag);
		free(o);
		return err;
	}
	o->base.name = clr_buf_detach(&name, NULL);
	if (is_tar) {
		err = clr_tar_index_build(&o->tar, path, 0);
	} else if (stat(path, &st)) {
		err = clr_error_set(errno == ENOENT ? CLR_ENOTFOUND : CLR_EIO,
				    "%s", strerror(errno));
	} else if (!S_ISDIR(st.st_mode)) {
		err = clr_error_set(CLR_EINVALID, "not a directory");
	} else if (!(o->root = realpath(path, NULL))) {
		err = clr_error_set(CLR_EIO, "%s", strerror(errno));
	}
	if (err || (err = load_layout(o))) {
		clr_error_prefix(err, "%s", path);
		oci_free(&o->base);
		return err;
	}
	*out = &o->base;
	return 0;
}

int clr_oci_source_open(struct clr_image_source **out, const char *path,
			const char *tag)
{
	return oci_open(out, path, tag, false);
}

int clr_oci_archive_source_open(struct clr_image_source **out,
				const char *path, const char *tag)
{
	return oci_open(out, path, tag, true);
}
