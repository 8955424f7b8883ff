/*
 * transports.h - inside src/image/: the local transports' constructors,
 * which source.c dispatches to, and the tar member index that the two
 * archive transports (docker-archive:, oci-archive:) share.
 *
 * Nothing outside src/image/ (and its tests) should include this file:
 * everyone else opens sources by name with clr_image_source_open().
 */
#ifndef CLR_IMAGE_TRANSPORTS_H
#define CLR_IMAGE_TRANSPORTS_H

#include <stddef.h>
#include <stdint.h>

#include "image/source.h"
#include "util/hashmap.h"
#include "util/sha256.h"
#include "util/stream.h"
#include "util/vec.h"

/* docker-archive:PATH[:REF] - a `docker save` tarball.  ref picks one of
 * several images: "name:tag" (matched against RepoTags, with "docker.io/",
 * "library/" and ":latest" normalised) or "@N" (the N-th, from 0); NULL
 * takes the first.  The archive is read once at open to hash its members. */
int clr_archive_source_open(struct clr_image_source **out, const char *path,
			    const char *ref);

/* oci:PATH[:TAG] - an OCI image layout directory.  tag is matched against
 * the org.opencontainers.image.ref.name annotations of index.json; NULL
 * takes the only image, or fails listing the tags when there are several. */
int clr_oci_source_open(struct clr_image_source **out, const char *path,
			const char *tag);

/* oci-archive:PATH[:TAG] - the same layout inside a tar file. */
int clr_oci_archive_source_open(struct clr_image_source **out,
				const char *path, const char *tag);

/* dir:PATH - an unpacked root filesystem. */
int clr_rootfs_source_open(struct clr_image_source **out, const char *path);

/* --- the tar member index (archive.c) ----------------------------------- */

/* Most members a tar may have before we refuse it: image archives hold a
 * few files per layer, and each member costs memory here. */
#define CLR_TAR_MAX_MEMBERS 65536

enum clr_tar_type {
	CLR_TAR_FILE,     /* a regular file: has data */
	CLR_TAR_SYMLINK,  /* link is relative to the member's directory */
	CLR_TAR_HARDLINK, /* link is a member name (from the archive root) */
	CLR_TAR_OTHER,    /* directories, devices...: never a blob */
};

struct clr_tar_member {
	char *name;             /* normalised: no "./", no "//", no "/" at
				 * either end */
	size_t ordinal;         /* 0 for the first header of the archive */
	int64_t size;           /* data bytes (files only) */
	enum clr_tar_type type;
	char *link;             /* the link target as stored, or NULL */
	char digest[CLR_DIGEST_STRLEN + 1]; /* files, when hashed; else "" */
	unsigned char magic[4]; /* the first data bytes (files, hashed) */
	size_t magic_len;
};

struct clr_tar_index {
	char *path;                /* the archive file */
	struct clr_vec members;    /* struct clr_tar_member, archive order */
	struct clr_hashmap by_name; /* name -> (member position + 1) */
};

/* Reads the headers of the tar (plain, gzip or zstd) at path into t, and,
 * when hash is set, the sha256 digest and first bytes of every regular
 * file.  Later members of the same name replace earlier ones, as they
 * would on extraction.  CLR_ENOTFOUND when path does not exist,
 * CLR_EINVALID when it is not a tar, CLR_ELIMIT past CLR_TAR_MAX_MEMBERS. */
int clr_tar_index_build(struct clr_tar_index *t, const char *path, int hash);

void clr_tar_index_release(struct clr_tar_index *t);

/* Normalises a path inside an archive or layout ("./a//b/" -> "a/b",
 * "a/../b" -> "b") into out (cap bytes).  CLR_EINVALID when it climbs out
 * of the root with "..", is absolute, or is empty. */
int clr_tar_path_normalize(char *out, size_t cap, const char *path);

/* The regular file that name leads to, following symlinks and hard links
 * inside the archive.  CLR_ENOTFOUND when it is not there, CLR_EINVALID
 * when the name or a link escapes the archive or loops. */
int clr_tar_lookup(const struct clr_tar_index *t, const char *name,
		   const struct clr_tar_member **out);

/* A stream of a member's data (reopens the archive and skips to it). */
int clr_tar_open_member(struct clr_stream **out, const struct clr_tar_index *t,
			const struct clr_tar_member *m);

/* A member's data in memory, at most max bytes (CLR_ELIMIT beyond);
 * NUL-terminated, the caller frees it. */
int clr_tar_read_member(char **bytes, size_t *len,
			const struct clr_tar_index *t,
			const struct clr_tar_member *m, size_t max);

/* Reads a whole stream into memory, at most max bytes, and closes it. */
int clr_source_slurp(char **bytes, size_t *len, struct clr_stream *s,
		      size_t max);

#endif
