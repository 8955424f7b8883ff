/*
 * archive.c - the docker-archive: transport (a `docker save` tarball), and
 * the tar member index it shares with oci-archive: (see transports.h).
 *
 * A `docker save` archive has no registry manifest, only manifest.json:
 *
 *   [{"Config": "<hex>.json", "RepoTags": ["alpine:3.19"],
 *     "Layers": ["<id>/layer.tar", ...]}]
 *
 * with the layers bottom first, as uncompressed tars in the classic layout,
 * or as "blobs/sha256/<hex>" paths into an OCI layout in the same tarball
 * (Docker 25 and later).  skopeo writes "<diffid>.tar" files and makes the
 * "<id>/layer.tar" paths symlinks to them, so links are followed, inside
 * the archive only.  The source hashes every member while reading the
 * archive once at open, then describes the chosen image as a Docker schema
 * 2 manifest of its own making (deterministic bytes, so the same archive
 * always gets the same manifest digest) whose layer digests are those of
 * the member files, so the rest of clarion treats it like any other image.
 *
 * Nothing is extracted: blobs are streamed out of the tar on demand, by
 * reopening it and skipping to the member, which libarchive does with
 * seeks on an uncompressed file.
 */
#include "image/transports.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>

#include "image/manifest.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/error.h"

/* Longest member name kept, after normalisation. */
#define NAME_MAX_LEN 4096

/* Links followed before a lookup gives up (a loop, or an attack). */
#define MAX_LINK_HOPS 16

/* manifest.json: its size and how many images it may describe. */
#define MANIFEST_JSON_MAX CLR_MANIFEST_MAX_SIZE
#define MAX_IMAGES 1024

#define POS_TO_PTR(i) ((void *)(uintptr_t)((i) + 1))
#define PTR_TO_POS(p) ((size_t)(uintptr_t)(p) - 1)

/* --- the tar member index ----------------------------------------------- */

static int tar_error(struct archive *a)
{
	const char *msg = archive_error_string(a);

	return clr_error_set(CLR_EINVALID, "not a readable tar archive: %s",
			     msg ? msg : "unknown error");
}

static int tar_open(struct archive **out, const char *path)
{
	struct archive *a = archive_read_new();
	int err;

	*out = NULL;
	if (!a)
		return clr_error_set(CLR_ENOMEM, "libarchive: out of memory");
	archive_read_support_format_tar(a);
	/* Only in-process decompressors: libarchive would run an external
	 * program for some other filters, on untrusted input. */
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_zstd(a);
	if (archive_read_open_filename(a, path, 64 * 1024) != ARCHIVE_OK) {
		/* libarchive reads the first block at open, so a file that
		 * is not a tar fails here, with a format error. */
		int e = archive_errno(a);

		if (e == ENOENT)
			err = clr_error_set(CLR_ENOTFOUND, "%s",
					    archive_error_string(a));
		else if (e == EACCES || e == EPERM || e == EIO || e == EISDIR)
			err = clr_error_set(CLR_EIO, "%s",
					    archive_error_string(a));
		else
			err = tar_error(a);
		archive_read_free(a);
		return err;
	}
	*out = a;
	return 0;
}

int clr_tar_path_normalize(char *out, size_t cap, const char *path)
{
	const char *p = path;
	size_t len = 0;

	if (*path == '/')
		return clr_error_set(CLR_EINVALID, "'%.200s' is an absolute "
				     "path", path);
	while (*p) {
		const char *s = p;
		size_t n;

		while (*p && *p != '/')
			p++;
		n = (size_t)(p - s);
		if (*p)
			p++;
		if (n == 0 || (n == 1 && s[0] == '.'))
			continue;
		if (n == 2 && s[0] == '.' && s[1] == '.') {
			if (!len)
				return clr_error_set(CLR_EINVALID,
						     "'%.200s' escapes the "
						     "root with '..'", path);
			while (len && out[len - 1] != '/')
				len--;
			if (len)
				len--;
			continue;
		}
		if (len + 1 + n + 1 > cap)
			return clr_error_set(CLR_EINVALID, "path '%.100s...' "
					     "is too long", path);
		if (len)
			out[len++] = '/';
		memcpy(out + len, s, n);
		len += n;
	}
	if (!len)
		return clr_error_set(CLR_EINVALID, "empty path '%.200s'", path);
	out[len] = '\0';
	return 0;
}

static void member_release(struct clr_tar_member *m)
{
	free(m->name);
	free(m->link);
}

void clr_tar_index_release(struct clr_tar_index *t)
{
	for (size_t i = 0; i < t->members.len; i++)
		member_release(CLR_VEC_AT(&t->members, struct clr_tar_member,
					  i));
	clr_vec_release(&t->members);
	clr_hashmap_release(&t->by_name, NULL);
	free(t->path);
	t->path = NULL;
}

/* Hashes the current member's data, keeping its first bytes. */
static int hash_member(struct archive *a, struct clr_tar_member *m,
		       unsigned char *chunk, size_t cap)
{
	struct clr_sha256 h;
	uint8_t d[CLR_SHA256_LEN];
	la_ssize_t n;
	int err;

	if ((err = clr_sha256_init(&h)))
		return err;
	while ((n = archive_read_data(a, chunk, cap)) > 0) {
		if (m->magic_len < sizeof(m->magic)) {
			size_t k = sizeof(m->magic) - m->magic_len;

			if (k > (size_t)n)
				k = (size_t)n;
			memcpy(m->magic + m->magic_len, chunk, k);
			m->magic_len += k;
		}
		if ((err = clr_sha256_update(&h, chunk, (size_t)n)))
			goto cleanup;
	}
	if (n < 0) {
		err = clr_error_set(CLR_EINVALID, "member '%s': %s", m->name,
				    archive_error_string(a));
		goto cleanup;
	}
	if ((err = clr_sha256_final(&h, d)))
		goto cleanup;
	clr_digest_format(m->digest, d);
cleanup:
	clr_sha256_release(&h);
	return err;
}

static void add_member(struct clr_tar_index *t, struct clr_tar_member *m)
{
	size_t pos = t->members.len;
	void *old;

	CLR_VEC_PUSH(&t->members, m);
	old = clr_hashmap_put(&t->by_name, m->name, POS_TO_PTR(pos));
	(void)old; /* a later member of the same name wins, as on extraction */
}

int clr_tar_index_build(struct clr_tar_index *t, const char *path, int hash)
{
	struct archive *a = NULL;
	struct archive_entry *e;
	unsigned char *chunk = NULL;
	char name[NAME_MAX_LEN];
	struct stat st;
	size_t ordinal = 0;
	int err = 0, r;

	clr_vec_init(&t->members, sizeof(struct clr_tar_member));
	clr_hashmap_init(&t->by_name);
	t->path = clr_strdup(path);
	if (stat(path, &st))
		return clr_error_set(errno == ENOENT ? CLR_ENOTFOUND : CLR_EIO,
				     "%s", strerror(errno));
	if (S_ISDIR(st.st_mode))
		return clr_error_set(CLR_EINVALID, "a directory, not an "
				     "archive");
	if ((err = tar_open(&a, path)))
		return err;
	if (hash)
		chunk = clr_malloc(64 * 1024);
	for (;; ordinal++) {
		struct clr_tar_member m = { 0 };
		const char *pn, *link;

		r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			err = tar_error(a);
			goto cleanup;
		}
		if (ordinal >= CLR_TAR_MAX_MEMBERS) {
			err = clr_error_set(CLR_ELIMIT, "more than %d members",
					    CLR_TAR_MAX_MEMBERS);
			goto cleanup;
		}
		pn = archive_entry_pathname(e);
		/* Members whose names escape the root, or are the root
		 * itself, can never be what a manifest names: leave them
		 * out, so no lookup can reach them. */
		if (!pn || clr_tar_path_normalize(name, sizeof(name), pn)) {
			clr_error_clear();
			continue;
		}
		m.ordinal = ordinal;
		if ((link = archive_entry_hardlink(e))) {
			m.type = CLR_TAR_HARDLINK;
			m.link = clr_strdup(link);
		} else if (archive_entry_filetype(e) == AE_IFLNK) {
			link = archive_entry_symlink(e);
			m.type = CLR_TAR_SYMLINK;
			m.link = clr_strdup(link ? link : "");
		} else if (archive_entry_filetype(e) == AE_IFREG) {
			m.type = CLR_TAR_FILE;
			m.size = archive_entry_size(e);
		} else {
			m.type = CLR_TAR_OTHER;
		}
		m.name = clr_strdup(name);
		if (hash && m.type == CLR_TAR_FILE &&
		    (err = hash_member(a, &m, chunk, 64 * 1024))) {
			member_release(&m);
			goto cleanup;
		}
		add_member(t, &m);
	}
cleanup:
	free(chunk);
	archive_read_free(a);
	return err;
}

static const struct clr_tar_member *member_at(const struct clr_tar_index *t,
					      void *p)
{
	return CLR_VEC_AT(&t->members, struct clr_tar_member, PTR_TO_POS(p));
}

int clr_tar_lookup(const struct clr_tar_index *t, const char *name,
		   const struct clr_tar_member **out)
{
	char cur[NAME_MAX_LEN], next[2 * NAME_MAX_LEN + 2];
	const struct clr_tar_member *m;
	void *p;

	*out = NULL;
	if (clr_tar_path_normalize(cur, sizeof(cur), name))
		return CLR_EINVALID;
	for (int hops = 0; hops <= MAX_LINK_HOPS; hops++) {
		const char *slash;

		if (!(p = clr_hashmap_get(&t->by_name, cur)))
			return clr_error_set(CLR_ENOTFOUND, "'%.200s' is not "
					     "in the archive", cur);
		m = member_at(t, p);
		switch (m->type) {
		case CLR_TAR_FILE:
			*out = m;
			return 0;
		case CLR_TAR_OTHER:
			return clr_error_set(CLR_EINVALID, "'%.200s' is not a "
					     "regular file", cur);
		case CLR_TAR_SYMLINK:
			slash = strrchr(cur, '/');
			if (m->link[0] == '/')
				snprintf(next, sizeof(next), "%s", m->link);
			else
				snprintf(next, sizeof(next), "%.*s%s%s",
					 slash ? (int)(slash - cur) : 0, cur,
					 slash ? "/" : "", m->link);
			break;
		case CLR_TAR_HARDLINK:
			snprintf(next, sizeof(next), "%s", m->link);
			break;
		}
		if (clr_tar_path_normalize(cur, sizeof(cur), next))
			return clr_error_set(CLR_EINVALID,
					     "'%.200s' links to '%.200s', "
					     "outside the archive", m->name,
					     m->link);
	}
	return clr_error_set(CLR_EINVALID, "'%.200s': more than %d links",
			     name, MAX_LINK_HOPS);
}

struct member_stream {
	struct clr_stream base;
	struct archive *a;
	char *what; /* "archive: member", for messages */
};

static ssize_t member_read(struct clr_stream *s, void *buf, size_t n)
{
	struct member_stream *ms = (struct member_stream *)s;
	la_ssize_t r = archive_read_data(ms->a, buf, n);

	if (r < 0)
		return clr_error_set(CLR_EIO, "%s: %s", ms->what,
				     archive_error_string(ms->a));
	return (ssize_t)r;
}

static void member_close(struct clr_stream *s)
{
	struct member_stream *ms = (struct member_stream *)s;

	archive_read_free(ms->a);
	free(ms->what);
	free(ms);
}

int clr_tar_open_member(struct clr_stream **out, const struct clr_tar_index *t,
			const struct clr_tar_member *m)
{
	struct member_stream *ms;
	struct archive *a;
	struct archive_entry *e;
	int err, r;

	*out = NULL;
	if ((err = tar_open(&a, t->path)))
		return err;
	for (size_t i = 0;; i++) {
		r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF || r < ARCHIVE_WARN) {
			archive_read_free(a);
			return clr_error_set(CLR_EIO, "%s: changed since it was "
					     "opened ('%.200s' is gone)",
					     t->path, m->name);
		}
		if (i == m->ordinal)
			break;
	}
	if (archive_entry_size(e) != m->size) {
		archive_read_free(a);
		return clr_error_set(CLR_EIO, "%s: changed since it was "
				     "opened ('%s' has a new size)", t->path,
				     m->name);
	}
	ms = clr_calloc(1, sizeof(*ms));
	ms->base.read = member_read;
	ms->base.close = member_close;
	ms->a = a;
	ms->what = clr_malloc(strlen(t->path) + strlen(m->name) + 3);
	sprintf(ms->what, "%s: %s", t->path, m->name);
	*out = &ms->base;
	return 0;
}

int clr_source_slurp(char **bytes, size_t *len, struct clr_stream *s,
		     size_t max)
{
	struct clr_buf b = CLR_BUF_INIT(max);
	char chunk[16384];
	ssize_t n;
	int err = 0;

	*bytes = NULL;
	*len = 0;
	while ((n = clr_stream_read(s, chunk, sizeof(chunk))) > 0)
		if ((err = clr_buf_add(&b, chunk, (size_t)n)))
			break;
	if (!err && n < 0)
		err = (int)n;
	clr_stream_close(s);
	if (err) {
		clr_buf_release(&b);
		return err;
	}
	*bytes = clr_buf_detach(&b, len);
	return 0;
}

int clr_tar_read_member(char **bytes, size_t *len,
			const struct clr_tar_index *t,
			const struct clr_tar_member *m, size_t max)
{
	struct clr_stream *s;
	int err;

	*bytes = NULL;
	*len = 0;
	if (m->size > (int64_t)max)
		return clr_error_set(CLR_ELIMIT, "'%.200s' is %lld bytes, more "
				     "than the limit of %zu", m->name,
				     (long long)m->size, max);
	if ((err = clr_tar_open_member(&s, t, m)))
		return err;
	return clr_source_slurp(bytes, len, s, max);
}

/* --- docker-archive: ---------------------------------------------------- */

struct darchive {
	struct clr_image_source base;
	struct clr_tar_index tar;
	char *manifest;        /* the schema 2 manifest we made up */
	size_t manifest_len;
	char manifest_digest[CLR_DIGEST_STRLEN + 1];
	struct clr_hashmap blobs; /* digest -> member position + 1 */
};

static void darchive_free(struct clr_image_source *src)
{
	struct darchive *d = (struct darchive *)src;

	clr_tar_index_release(&d->tar);
	clr_hashmap_release(&d->blobs, NULL);
	free(d->manifest);
	free(d->base.name);
	free(d);
}

static int darchive_get_manifest(struct clr_image_source *src,
				 const char *digest, char **bytes,
				 size_t *len, char **media_type)
{
	struct darchive *d = (struct darchive *)src;

	*bytes = NULL;
	*media_type = NULL;
	*len = 0;
	if (digest && strcmp(digest, d->manifest_digest))
		return clr_error_set(CLR_ENOTFOUND, "%s: no manifest %.100s "
				     "(an archive holds one image manifest, "
				     "%s)", d->base.name, digest,
				     d->manifest_digest);
	*bytes = clr_strdup(d->manifest);
	*len = d->manifest_len;
	*media_type = clr_strdup(CLR_MT_DOCKER_V2);
	return 0;
}

static int darchive_open_blob(struct clr_stream **out,
			      struct clr_image_source *src, const char *digest)
{
	struct darchive *d = (struct darchive *)src;
	void *p = clr_hashmap_get(&d->blobs, digest);

	*out = NULL;
	if (!p)
		return clr_error_set(CLR_ENOTFOUND, "%s: no blob %.100s in "
				     "this image", d->base.name, digest);
	return clr_tar_open_member(out, &d->tar, member_at(&d->tar, p));
}

static const struct clr_image_source_ops darchive_ops = {
	.transport = "docker-archive",
	.get_manifest = darchive_get_manifest,
	.open_blob = darchive_open_blob,
	.free = darchive_free,
};

/* A reference as Docker would store it in RepoTags, minus the defaults:
 * "docker.io/library/alpine" and "alpine:latest" both become
 * "alpine:latest". */
static void normalize_ref(char *out, size_t cap, const char *ref)
{
	const char *r = ref, *last;

	if (!strncmp(r, "docker.io/", 10))
		r += 10;
	else if (!strncmp(r, "index.docker.io/", 16))
		r += 16;
	if (!strncmp(r, "library/", 8) && !strchr(r + 8, '/'))
		r += 8;
	last = strrchr(r, '/');
	snprintf(out, cap, "%s%s", r,
		 strchr(last ? last : r, ':') ? "" : ":latest");
}

static int list_tags(struct clr_buf *b, const json_t *images)
{
	size_t i, k;
	const json_t *img, *tag;

	json_array_foreach(images, i, img) {
		const json_t *tags = json_object_get(img, "RepoTags");

		if (!json_is_array(tags))
			continue;
		json_array_foreach(tags, k, tag)
			if (json_is_string(tag) &&
			    clr_buf_printf(b, "%s%.100s", b->len ? ", " : "",
					   json_string_value(tag)))
				return -1;
	}
	return 0;
}

static int pick_image(const json_t *images, const char *ref,
		      const json_t **out)
{
	struct clr_buf b = CLR_BUF_INIT(600);
	char want[512], have[512];
	size_t i, k;
	const json_t *img, *tag;
	int err;

	*out = NULL;
	if (!ref) {
		*out = json_array_get(images, 0);
		return 0;
	}
	if (ref[0] == '@') {
		char *end;
		unsigned long n;

		errno = 0;
		n = strtoul(ref + 1, &end, 10);
		if (!ref[1] || *end || errno || ref[1] == '-' || ref[1] == '+')
			return clr_error_set(CLR_EINVALID, "'%.100s': want @N,"
					     " a number", ref);
		if (n >= json_array_size(images))
			return clr_error_set(CLR_ENOTFOUND, "no image @%lu "
					     "(it holds %zu)", n,
					     json_array_size(images));
		*out = json_array_get(images, n);
		return 0;
	}
	if (strchr(ref, '@'))
		return clr_error_set(CLR_EINVALID, "'%.100s': images in an "
				     "archive are named name:tag or @N", ref);
	normalize_ref(want, sizeof(want), ref);
	json_array_foreach(images, i, img) {
		const json_t *tags = json_object_get(img, "RepoTags");

		if (!json_is_array(tags))
			continue;
		json_array_foreach(tags, k, tag) {
			if (!json_is_string(tag))
				continue;
			normalize_ref(have, sizeof(have),
				      json_string_value(tag));
			if (!strcmp(have, want)) {
				*out = img;
				return 0;
			}
		}
	}
	if (list_tags(&b, images))
		clr_buf_addstr(&b, "...");
	err = clr_error_set(CLR_ENOTFOUND, "no image tagged '%.100s'; tags: "
			    "%s", ref, b.len ? clr_buf_str(&b) : "none");
	clr_buf_release(&b);
	return err;
}

/* The media type of a layer file, from its first bytes: `docker save`
 * writes plain tars, but a containerd-backed Docker exports the
 * compressed blobs as they were pulled. */
static const char *layer_media_type(const struct clr_tar_member *m)
{
	static const unsigned char gz[] = { 0x1f, 0x8b };
	static const unsigned char zst[] = { 0x28, 0xb5, 0x2f, 0xfd };

	if (m->magic_len >= 2 && !memcmp(m->magic, gz, 2))
		return CLR_MT_DOCKER_LAYER_GZIP;
	if (m->magic_len >= 4 && !memcmp(m->magic, zst, 4))
		return "application/vnd.oci.image.layer.v1.tar+zstd";
	return CLR_MT_DOCKER_LAYER;
}

/* Finds a file manifest.json names, and checks a "blobs/sha256/<hex>"
 * name against the content. */
static int blob_member(struct darchive *d, const char *field,
		       const char *name, const struct clr_tar_member **out)
{
	const char *hex;
	int err;

	if ((err = clr_tar_lookup(&d->tar, name, out)))
		return clr_error_prefix(err, "manifest.json %s", field);
	hex = strrchr(name, '/');
	if (!strncmp(name, "blobs/sha256/", 13) && hex &&
	    strcmp(hex + 1, (*out)->digest + 7))
		return clr_error_set(CLR_EINVALID, "manifest.json %s: "
				     "'%.200s' does not match its digest "
				     "(the content is %s)", field, name,
				     (*out)->digest);
	clr_hashmap_put(&d->blobs, (*out)->digest,
			POS_TO_PTR((size_t)(*out - (const struct clr_tar_member *)
					     d->tar.members.items)));
	return 0;
}

static int synthesize(struct darchive *d, const json_t *img)
{
	struct clr_buf b = CLR_BUF_INIT(CLR_MANIFEST_MAX_SIZE);
	const struct clr_tar_member *m;
	const json_t *config = json_object_get(img, "Config");
	const json_t *layers = json_object_get(img, "Layers");
	uint8_t dg[CLR_SHA256_LEN];
	int err;

	if (!json_is_string(config))
		return clr_error_set(CLR_EINVALID, "manifest.json: Config: %s",
				     config ? "must be a string" : "missing");
	if (!json_is_array(layers))
		return clr_error_set(CLR_EINVALID, "manifest.json: Layers: %s",
				     layers ? "must be an array" : "missing");
	if (json_array_size(layers) > CLR_MANIFEST_MAX_LAYERS)
		return clr_error_set(CLR_ELIMIT, "manifest.json: more than %d "
				     "layers", CLR_MANIFEST_MAX_LAYERS);
	if ((err = blob_member(d, "Config", json_string_value(config), &m)))
		return err;
	if ((err = clr_buf_printf(&b, "{\"schemaVersion\":2,\"mediaType\":"
				  "\"%s\",\"config\":{\"mediaType\":\"%s\","
				  "\"size\":%lld,\"digest\":\"%s\"},"
				  "\"layers\":[", CLR_MT_DOCKER_V2,
				  CLR_MT_DOCKER_CONFIG, (long long)m->size,
				  m->digest)))
		goto cleanup;
	for (size_t i = 0; i < json_array_size(layers); i++) {
		const json_t *l = json_array_get(layers, i);
		char field[32];

		snprintf(field, sizeof(field), "Layers[%zu]", i);
		if (!json_is_string(l)) {
			err = clr_error_set(CLR_EINVALID, "manifest.json: %s: "
					    "must be a string", field);
			goto cleanup;
		}
		if ((err = blob_member(d, field, json_string_value(l), &m)) ||
		    (err = clr_buf_printf(&b, "%s{\"mediaType\":\"%s\","
					  "\"size\":%lld,\"digest\":\"%s\"}",
					  i ? "," : "", layer_media_type(m),
					  (long long)m->size, m->digest)))
			goto cleanup;
	}
	if ((err = clr_buf_addstr(&b, "]}")) ||
	    (err = clr_sha256(dg, clr_buf_str(&b), b.len)))
		goto cleanup;
	clr_digest_format(d->manifest_digest, dg);
	d->manifest = clr_buf_detach(&b, &d->manifest_len);
cleanup:
	clr_buf_release(&b);
	return err;
}

static int darchive_load(struct darchive *d, const char *path,
			 const char *ref)
{
	const struct clr_tar_member *m;
	const json_t *img;
	json_t *images = NULL;
	json_error_t jerr;
	char *bytes = NULL;
	size_t len;
	int err;

	if ((err = clr_tar_index_build(&d->tar, path, 1)))
		return err;
	if ((err = clr_tar_lookup(&d->tar, "manifest.json", &m))) {
		if (err != CLR_ENOTFOUND)
			return err;
		return clr_error_set(CLR_EINVALID, "manifest.json is "
				     "missing: not a `docker save` archive%s",
				     clr_hashmap_get(&d->tar.by_name,
							   "oci-layout")
				     ? " (it is an OCI layout: use "
				       "oci-archive:)" : "");
	}
	if ((err = clr_tar_read_member(&bytes, &len, &d->tar, m,
				       MANIFEST_JSON_MAX)))
		return err;
	images = json_loadb(bytes, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!images) {
		err = clr_error_set(CLR_EINVALID, "manifest.json: invalid JSON "
				    "(line %d): %s", jerr.line, jerr.text);
		goto cleanup;
	}
	if (!json_is_array(images) || !json_array_size(images)) {
		err = clr_error_set(CLR_EINVALID, "manifest.json: must be a "
				    "non-empty array of images");
		goto cleanup;
	}
	if (json_array_size(images) > MAX_IMAGES) {
		err = clr_error_set(CLR_ELIMIT, "manifest.json: more than %d "
				    "images", MAX_IMAGES);
		goto cleanup;
	}
	for (size_t i = 0; i < json_array_size(images); i++)
		if (!json_is_object(json_array_get(images, i))) {
			err = clr_error_set(CLR_EINVALID, "manifest.json: "
					    "[%zu] must be an object", i);
			goto cleanup;
		}
	if ((err = pick_image(images, ref, &img)) ||
	    (err = synthesize(d, img)))
		goto cleanup;
cleanup:
	json_decref(images);
	free(bytes);
	return err;
}

int clr_archive_source_open(struct clr_image_source **out, const char *path,
			    const char *ref)
{
	struct darchive *d = clr_calloc(1, sizeof(*d));
	struct clr_buf name = CLR_BUF_INIT(8192);
	int err;

	*out = NULL;
	d->base.ops = &darchive_ops;
	clr_hashmap_init(&d->blobs);
	if (ref && !*ref)
		ref = NULL;
	if ((err = clr_buf_printf(&name, "docker-archive:%s%s%s", path,
				  ref ? ":" : "", ref ? ref : ""))) {
		free(d);
		return err;
	}
	d->base.name = clr_buf_detach(&name, NULL);
	if ((err = darchive_load(d, path, ref))) {
		clr_error_prefix(err, "%s", path);
		darchive_free(&d->base);
		return err;
	}
	*out = &d->base;
	return 0;
}
