/*
 * test_local_sources.c - the local transports (oci:, oci-archive:,
 * docker-archive:, dir:) and clr_image_resolve() over them.
 *
 * The images are built here, before the tests, the way the tools build
 * them (test-infra.md §2.2): plain tar layers, gzipped for the OCI layout,
 * a config, OCI manifests for amd64 and arm64/v8 plus a BuildKit-style
 * attestation under unknown/unknown, a nested index tagged "1.0"; the same
 * image as a legacy `docker save` archive, as a skopeo-style archive with
 * symlinked layer.tar files, as a Docker 25 archive with an OCI layout
 * inside, as an oci-archive (GNU tar of the layout, "./" names), and as an
 * unpacked root filesystem.  Then the same questions are asked of each.
 */
#include "unit.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "image/image.h"
#include "image/manifest.h"
#include "image/registry.h"
#include "image/source.h"
#include "image/transports.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/sha256.h"

/* --- the registry, stubbed ---------------------------------------------
 * source.c dispatches docker:// to registry.c; this test only checks that
 * the reference arrives intact, so a stub stands in (the linker takes this
 * definition before looking in libclarion.a). */
static char stub_ref[256];

int clr_registry_source_open(struct clr_image_source **out, const char *ref,
			     const struct clr_source_opts *opts)
{
	(void)opts;
	*out = NULL;
	snprintf(stub_ref, sizeof(stub_ref), "%s", ref);
	return clr_error_set(CLR_ENET, "stub registry");
}

/* --- building fixtures -------------------------------------------------- */

/* Room for a path under the fixture directory (which is short). */
#define FX_PATH 256

struct blob {
	unsigned char *data;
	size_t len;
	char digest[CLR_DIGEST_STRLEN + 1];
};

static struct fixture {
	char dir[64];
	struct blob tar1, tar2a, tar2b;   /* uncompressed layers */
	struct blob gz1, gz2a, gz2b;      /* the same, gzipped */
	struct blob cfg_amd64, cfg_arm64, cfg_att;
	struct blob man_amd64, man_arm64, man_att;
	struct blob nested;               /* index: amd64, arm64/v8, att */
	char layout[FX_PATH];            /* oci: tags 1.0, amd64-only */
	char flat[FX_PATH];              /* oci: untagged platform entries */
	char single[FX_PATH];            /* oci: one untagged manifest */
	char oci_tar[FX_PATH];           /* oci-archive of layout */
	char legacy_tar[FX_PATH];        /* docker save, two images */
	char d25_tar[FX_PATH];           /* Docker 25 docker save */
	char rootfs[FX_PATH];
} fx;

static void blob_set(struct blob *b, const void *data, size_t len)
{
	uint8_t d[CLR_SHA256_LEN];

	b->data = clr_malloc(len + 1);
	memcpy(b->data, data, len);
	b->data[len] = 0;
	b->len = len;
	assert_int_equal(clr_sha256(d, data, len), 0);
	clr_digest_format(b->digest, d);
}

static void blob_str(struct blob *b, const char *s)
{
	blob_set(b, s, strlen(s));
}

static const char *hex(const struct blob *b)
{
	return b->digest + 7;
}

struct tar_file {
	const char *name;
	const void *data; /* NULL: a symlink to link */
	size_t len;
	const char *link;
};

static void tar_add(struct archive *a, const struct tar_file *f)
{
	struct archive_entry *e = archive_entry_new();

	archive_entry_set_pathname(e, f->name);
	archive_entry_set_mtime(e, 0, 0);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	if (f->link) {
		archive_entry_set_filetype(e, AE_IFLNK);
		archive_entry_set_perm(e, 0777);
		archive_entry_set_symlink(e, f->link);
	} else {
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_size(e, (la_int64_t)f->len);
	}
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	if (!f->link && f->len)
		assert_int_equal(archive_write_data(a, f->data, f->len),
				 (la_ssize_t)f->len);
	archive_entry_free(e);
}

/* A tar in memory, from NULL-name-terminated files. */
static void tar_mem(struct blob *out, const struct tar_file *files)
{
	static unsigned char buf[256 * 1024];
	struct archive *a = archive_write_new();
	size_t used = 0;

	archive_write_set_format_pax_restricted(a);
	archive_write_set_bytes_in_last_block(a, 1);
	assert_int_equal(archive_write_open_memory(a, buf, sizeof(buf), &used),
			 ARCHIVE_OK);
	for (; files->name; files++)
		tar_add(a, files);
	archive_write_close(a);
	archive_write_free(a);
	blob_set(out, buf, used);
}

static void tar_file(const char *path, const struct tar_file *files)
{
	struct archive *a = archive_write_new();

	archive_write_set_format_pax_restricted(a);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (; files->name; files++)
		tar_add(a, files);
	archive_write_close(a);
	archive_write_free(a);
}

static void gzip_blob(struct blob *out, const struct blob *in)
{
	static unsigned char buf[256 * 1024];
	z_stream z = { 0 };

	assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 31, 8,
				      Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = in->data;
	z.avail_in = (uInt)in->len;
	z.next_out = buf;
	z.avail_out = sizeof(buf);
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	blob_set(out, buf, z.total_out);
	deflateEnd(&z);
}

static void gunzip(const unsigned char *in, size_t len, unsigned char *out,
		   size_t cap, size_t *n)
{
	z_stream z = { 0 };

	assert_int_equal(inflateInit2(&z, 31), Z_OK);
	z.next_in = (unsigned char *)in;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
	*n = z.total_out;
	inflateEnd(&z);
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

static void write_str(const char *path, const char *s)
{
	write_file(path, s, strlen(s));
}

static void sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd))
		fail_msg("command failed: %s", cmd);
}

static void put_blob(const char *layout, const struct blob *b)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/blobs/sha256/%s", layout, hex(b));
	write_file(path, b->data, b->len);
}

static void new_layout(const char *layout, const char *index_json)
{
	char path[PATH_MAX];
	const struct blob *all[] = {
		&fx.gz1, &fx.gz2a, &fx.gz2b, &fx.cfg_amd64, &fx.cfg_arm64,
		&fx.cfg_att, &fx.man_amd64, &fx.man_arm64, &fx.man_att,
		&fx.nested,
	};

	sh("mkdir -p '%s/blobs/sha256'", layout);
	snprintf(path, sizeof(path), "%s/oci-layout", layout);
	write_str(path, "{\"imageLayoutVersion\":\"1.0.0\"}");
	snprintf(path, sizeof(path), "%s/index.json", layout);
	write_str(path, index_json);
	for (size_t i = 0; i < sizeof(all) / sizeof(*all); i++)
		put_blob(layout, all[i]);
}

static void make_config(struct blob *b, const char *arch, const char *variant,
			const struct blob *l1, const struct blob *l2)
{
	char buf[1024];

	snprintf(buf, sizeof(buf),
		 "{\"architecture\":\"%s\",%s%s%s\"os\":\"linux\","
		 "\"config\":{\"Cmd\":[\"/bin/sh\"]},"
		 "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\",\"%s\"]}}",
		 arch, variant ? "\"variant\":\"" : "", variant ? variant : "",
		 variant ? "\"," : "", l1->digest, l2->digest);
	blob_str(b, buf);
}

static void make_manifest(struct blob *b, const struct blob *cfg,
			  const struct blob *l1, const struct blob *l2)
{
	char buf[2048];
	int n;

	n = snprintf(buf, sizeof(buf),
		     "{\"schemaVersion\":2,\"mediaType\":\"" CLR_MT_OCI_MANIFEST
		     "\",\"config\":{\"mediaType\":\"" CLR_MT_OCI_CONFIG "\","
		     "\"digest\":\"%s\",\"size\":%zu},\"layers\":[",
		     cfg->digest, cfg->len);
	if (l1)
		n += snprintf(buf + n, sizeof(buf) - n,
			      "{\"mediaType\":\"application/vnd.oci.image."
			      "layer.v1.tar+gzip\",\"digest\":\"%s\","
			      "\"size\":%zu},{\"mediaType\":\"application/vnd"
			      ".oci.image.layer.v1.tar+gzip\",\"digest\":"
			      "\"%s\",\"size\":%zu}",
			      l1->digest, l1->len, l2->digest, l2->len);
	snprintf(buf + n, sizeof(buf) - n, "]}");
	blob_str(b, buf);
}

static const char os_release[] = "PRETTY_NAME=\"Debian GNU/Linux 12\"\n"
				 "ID=debian\nVERSION_ID=\"12\"\n";
static const char status_amd64[] =
	"Package: libssl3\nStatus: install ok installed\n"
	"Architecture: amd64\nSource: openssl\nVersion: 3.0.11-1~deb12u2\n\n";
static const char status_arm64[] =
	"Package: libssl3\nStatus: install ok installed\n"
	"Architecture: arm64\nSource: openssl\nVersion: 3.0.11-1~deb12u2\n\n";

static void build_images(void)
{
	char buf[8192], path[PATH_MAX];
	struct blob mj;

	{
		const struct tar_file l1[] = {
			{ "etc/os-release", os_release, strlen(os_release),
			  NULL },
			{ "etc/hostname", "app\n", 4, NULL },
			{ NULL, NULL, 0, NULL },
		};
		const struct tar_file l2a[] = {
			{ "var/lib/dpkg/status", status_amd64,
			  strlen(status_amd64), NULL },
			{ "etc/.wh.hostname", "", 0, NULL },
			{ NULL, NULL, 0, NULL },
		};
		const struct tar_file l2b[] = {
			{ "var/lib/dpkg/status", status_arm64,
			  strlen(status_arm64), NULL },
			{ NULL, NULL, 0, NULL },
		};

		tar_mem(&fx.tar1, l1);
		tar_mem(&fx.tar2a, l2a);
		tar_mem(&fx.tar2b, l2b);
	}
	gzip_blob(&fx.gz1, &fx.tar1);
	gzip_blob(&fx.gz2a, &fx.tar2a);
	gzip_blob(&fx.gz2b, &fx.tar2b);
	make_config(&fx.cfg_amd64, "amd64", NULL, &fx.tar1, &fx.tar2a);
	make_config(&fx.cfg_arm64, "arm64", "v8", &fx.tar1, &fx.tar2b);
	blob_str(&fx.cfg_att, "{}");
	make_manifest(&fx.man_amd64, &fx.cfg_amd64, &fx.gz1, &fx.gz2a);
	make_manifest(&fx.man_arm64, &fx.cfg_arm64, &fx.gz1, &fx.gz2b);
	make_manifest(&fx.man_att, &fx.cfg_att, NULL, NULL);
	snprintf(buf, sizeof(buf),
		 "{\"schemaVersion\":2,\"mediaType\":\"" CLR_MT_OCI_INDEX "\","
		 "\"manifests\":["
		 "{\"mediaType\":\"" CLR_MT_OCI_MANIFEST "\",\"digest\":\"%s\","
		 "\"size\":%zu,\"platform\":{\"architecture\":\"amd64\","
		 "\"os\":\"linux\"}},"
		 "{\"mediaType\":\"" CLR_MT_OCI_MANIFEST "\",\"digest\":\"%s\","
		 "\"size\":%zu,\"platform\":{\"architecture\":\"arm64\","
		 "\"os\":\"linux\",\"variant\":\"v8\"}},"
		 "{\"mediaType\":\"" CLR_MT_OCI_MANIFEST "\",\"digest\":\"%s\","
		 "\"size\":%zu,\"annotations\":{\"vnd.docker.reference.type\":"
		 "\"attestation-manifest\"},\"platform\":{\"architecture\":"
		 "\"unknown\",\"os\":\"unknown\"}}]}",
		 fx.man_amd64.digest, fx.man_amd64.len, fx.man_arm64.digest,
		 fx.man_arm64.len, fx.man_att.digest, fx.man_att.len);
	blob_str(&fx.nested, buf);

	/* oci: with two tags: the multi-platform image and one manifest. */
	snprintf(fx.layout, sizeof(fx.layout), "%s/layout", fx.dir);
	snprintf(buf, sizeof(buf),
		 "{\"schemaVersion\":2,\"mediaType\":\"" CLR_MT_OCI_INDEX "\","
		 "\"manifests\":["
		 "{\"mediaType\":\"" CLR_MT_OCI_INDEX "\",\"digest\":\"%s\","
		 "\"size\":%zu,\"annotations\":{\"org.opencontainers.image."
		 "ref.name\":\"1.0\"}},"
		 "{\"mediaType\":\"" CLR_MT_OCI_MANIFEST "\",\"digest\":\"%s\","
		 "\"size\":%zu,\"annotations\":{\"org.opencontainers.image."
		 "ref.name\":\"amd64-only\"}}]}",
		 fx.nested.digest, fx.nested.len, fx.man_amd64.digest,
		 fx.man_amd64.len);
	new_layout(fx.layout, buf);

	/* oci: whose index.json lists the platforms itself, untagged. */
	snprintf(fx.flat, sizeof(fx.flat), "%s/flat", fx.dir);
	snprintf(buf, sizeof(buf),
		 "{\"schemaVersion\":2,\"manifests\":["
		 "{\"mediaType\":\"" CLR_MT_OCI_MANIFEST "\",\"digest\":\"%s\","
		 "\"size\":%zu,\"platform\":{\"architecture\":\"amd64\","
		 "\"os\":\"linux\"}},"
		 "{\"mediaType\":\"" CLR_MT_OCI_MANIFEST "\",\"digest\":\"%s\","
		 "\"size\":%zu,\"platform\":{\"architecture\":\"arm64\","
		 "\"os\":\"linux\"}}]}",
		 fx.man_amd64.digest, fx.man_amd64.len, fx.man_arm64.digest,
		 fx.man_arm64.len);
	new_layout(fx.flat, buf);

	snprintf(fx.single, sizeof(fx.single), "%s/single", fx.dir);
	snprintf(buf, sizeof(buf),
		 "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\""
		 CLR_MT_OCI_MANIFEST "\",\"digest\":\"%s\",\"size\":%zu}]}",
		 fx.man_arm64.digest, fx.man_arm64.len);
	new_layout(fx.single, buf);

	/* oci-archive: GNU tar of the layout, members named "./...". */
	snprintf(fx.oci_tar, sizeof(fx.oci_tar), "%s/oci.tar", fx.dir);
	sh("tar -C '%s' -cf '%s' .", fx.layout, fx.oci_tar);

	/* docker save: the classic layout for the amd64 image, skopeo's
	 * (<diffid>.tar with symlinked <id>/layer.tar) for the arm64 one. */
	snprintf(fx.legacy_tar, sizeof(fx.legacy_tar), "%s/legacy.tar",
		 fx.dir);
	snprintf(buf, sizeof(buf),
		 "[{\"Config\":\"%s.json\",\"RepoTags\":[\"example/app:1.0\"],"
		 "\"Layers\":[\"1111/layer.tar\",\"2222/layer.tar\"]},"
		 "{\"Config\":\"%s.json\",\"RepoTags\":[\"docker.io/example/"
		 "app:arm\",\"docker.io/library/other:latest\"],"
		 "\"Layers\":[\"3333/layer.tar\",\"4444/layer.tar\"]}]",
		 hex(&fx.cfg_amd64), hex(&fx.cfg_arm64));
	blob_str(&mj, buf);
	{
		char cfg1[80], cfg2[80], d1[80], d2[80], ln1[90], ln2[90];

		snprintf(cfg1, sizeof(cfg1), "%s.json", hex(&fx.cfg_amd64));
		snprintf(cfg2, sizeof(cfg2), "%s.json", hex(&fx.cfg_arm64));
		snprintf(d1, sizeof(d1), "%s.tar", hex(&fx.tar1));
		snprintf(d2, sizeof(d2), "%s.tar", hex(&fx.tar2b));
		snprintf(ln1, sizeof(ln1), "../%s", d1);
		snprintf(ln2, sizeof(ln2), "../%s", d2);
		const struct tar_file files[] = {
			{ "1111/VERSION", "1.0", 3, NULL },
			{ "1111/layer.tar", fx.tar1.data, fx.tar1.len, NULL },
			{ "2222/layer.tar", fx.tar2a.data, fx.tar2a.len,
			  NULL },
			{ cfg1, fx.cfg_amd64.data, fx.cfg_amd64.len, NULL },
			{ d1, fx.tar1.data, fx.tar1.len, NULL },
			{ d2, fx.tar2b.data, fx.tar2b.len, NULL },
			{ "3333/layer.tar", NULL, 0, ln1 },
			{ "4444/layer.tar", NULL, 0, ln2 },
			{ cfg2, fx.cfg_arm64.data, fx.cfg_arm64.len, NULL },
			{ "repositories", "{}", 2, NULL },
			{ "manifest.json", mj.data, mj.len, NULL },
			{ NULL, NULL, 0, NULL },
		};

		tar_file(fx.legacy_tar, files);
	}
	free(mj.data);

	/* Docker 25: an OCI layout inside, and manifest.json pointing into
	 * it; layers uncompressed. */
	snprintf(fx.d25_tar, sizeof(fx.d25_tar), "%s/d25.tar", fx.dir);
	snprintf(buf, sizeof(buf),
		 "[{\"Config\":\"blobs/sha256/%s\",\"RepoTags\":[\"app:1\"],"
		 "\"Layers\":[\"blobs/sha256/%s\",\"blobs/sha256/%s\"]}]",
		 hex(&fx.cfg_amd64), hex(&fx.tar1), hex(&fx.tar2a));
	blob_str(&mj, buf);
	{
		char p1[100], p2[100], p3[100];

		snprintf(p1, sizeof(p1), "blobs/sha256/%s", hex(&fx.cfg_amd64));
		snprintf(p2, sizeof(p2), "blobs/sha256/%s", hex(&fx.tar1));
		snprintf(p3, sizeof(p3), "blobs/sha256/%s", hex(&fx.tar2a));
		const struct tar_file files[] = {
			{ p1, fx.cfg_amd64.data, fx.cfg_amd64.len, NULL },
			{ p2, fx.tar1.data, fx.tar1.len, NULL },
			{ p3, fx.tar2a.data, fx.tar2a.len, NULL },
			{ "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}",
			  30, NULL },
			{ "index.json", "{\"schemaVersion\":2,\"manifests\":"
			  "[]}", 34, NULL },
			{ "manifest.json", mj.data, mj.len, NULL },
			{ NULL, NULL, 0, NULL },
		};

		tar_file(fx.d25_tar, files);
	}
	free(mj.data);

	snprintf(fx.rootfs, sizeof(fx.rootfs), "%s/rootfs", fx.dir);
	sh("mkdir -p '%s/etc' '%s/usr/lib'", fx.rootfs, fx.rootfs);
	snprintf(path, sizeof(path), "%s/usr/lib/os-release", fx.rootfs);
	write_str(path, os_release);
	snprintf(path, sizeof(path), "%s/etc/os-release", fx.rootfs);
	assert_int_equal(symlink("../usr/lib/os-release", path), 0);
}

static int setup(void **state)
{
	(void)state;
	strcpy(fx.dir, "/tmp/clarion-test-XXXXXX");
	if (!mkdtemp(fx.dir))
		return -1;
	build_images();
	return 0;
}

static int teardown(void **state)
{
	struct blob *all[] = {
		&fx.tar1, &fx.tar2a, &fx.tar2b, &fx.gz1, &fx.gz2a, &fx.gz2b,
		&fx.cfg_amd64, &fx.cfg_arm64, &fx.cfg_att, &fx.man_amd64,
		&fx.man_arm64, &fx.man_att, &fx.nested,
	};

	(void)state;
	for (size_t i = 0; i < sizeof(all) / sizeof(*all); i++)
		free(all[i]->data);
	sh("rm -rf '%s'", fx.dir);
	return 0;
}

/* --- helpers for the tests ---------------------------------------------- */

static struct clr_image *resolve_ok(struct clr_image_source *src,
				    const char *platform)
{
	struct clr_image *img = NULL;

	if (clr_image_resolve(&img, src, platform))
		fail_msg("resolve failed: %s", clr_error_msg());
	return img;
}

/* Reads a blob through the source into memory. */
static unsigned char *read_blob(struct clr_image_source *src,
				const char *digest, size_t *len)
{
	struct clr_stream *s;
	char *bytes;

	if (src->ops->open_blob(&s, src, digest))
		fail_msg("open_blob %s: %s", digest, clr_error_msg());
	assert_int_equal(clr_source_slurp(&bytes, len, s, 1 << 20), 0);
	return (unsigned char *)bytes;
}

static void expect_error(int err, int code, const char *needle)
{
	if (err != code)
		fail_msg("want %d, got %d: %s", code, err, clr_error_msg());
	if (!strstr(clr_error_msg(), needle))
		fail_msg("message '%s' lacks '%s'", clr_error_msg(), needle);
}

static void check_amd64_oci(const struct clr_image *img)
{
	assert_string_equal(img->manifest_digest, fx.man_amd64.digest);
	assert_string_equal(img->media_type, CLR_MT_OCI_MANIFEST);
	assert_string_equal(img->config_digest, fx.cfg_amd64.digest);
	assert_int_equal(img->config_size, fx.cfg_amd64.len);
	assert_int_equal(img->n_layers, 2);
	assert_string_equal(img->layers[0].digest, fx.gz1.digest);
	assert_string_equal(img->layers[1].digest, fx.gz2a.digest);
	assert_int_equal(img->layers[0].size, fx.gz1.len);
	assert_int_equal(img->layers[0].compression, CLR_COMPRESSION_GZIP);
	assert_null(img->rootfs);
}

/* --- oci: --------------------------------------------------------------- */

static void test_oci_platform_selection(void **state)
{
	struct clr_image_source *src;
	struct clr_image *img;

	(void)state;
	assert_int_equal(clr_oci_source_open(&src, fx.layout, "1.0"), 0);
	assert_string_equal(src->ops->transport, "oci");
	assert_null(src->rootfs);

	img = resolve_ok(src, "linux/amd64");
	check_amd64_oci(img);
	assert_string_equal(img->index_digest, fx.nested.digest);
	clr_image_free(img);

	img = resolve_ok(src, NULL);
	check_amd64_oci(img);
	clr_image_free(img);

	img = resolve_ok(src, "linux/arm64");
	assert_string_equal(img->manifest_digest, fx.man_arm64.digest);
	assert_string_equal(img->layers[1].digest, fx.gz2b.digest);
	clr_image_free(img);

	expect_error(clr_image_resolve(&img, src, "linux/s390x"),
		     CLR_ENOTFOUND, "no manifest for platform linux/s390x in "
		     "the index; available: linux/amd64, linux/arm64/v8");
	assert_null(img);
	clr_image_source_free(src);
}

static void test_oci_tags(void **state)
{
	struct clr_image_source *src;
	struct clr_image *img;

	(void)state;
	expect_error(clr_oci_source_open(&src, fx.layout, NULL), CLR_EINVALID,
		     "the layout holds several images; name one as PATH:TAG; "
		     "tags: 1.0, amd64-only");
	assert_null(src);
	assert_non_null(strstr(clr_error_msg(), fx.layout));

	expect_error(clr_oci_source_open(&src, fx.layout, "2.0"),
		     CLR_ENOTFOUND, "no image tagged '2.0'; tags: 1.0, "
		     "amd64-only");

	assert_int_equal(clr_oci_source_open(&src, fx.layout, "amd64-only"), 0);
	/* The tag names a manifest, not an index: no platform to choose,
	 * and the requested one is not consulted. */
	img = resolve_ok(src, "linux/s390x");
	check_amd64_oci(img);
	assert_null(img->index_digest);
	clr_image_free(img);
	clr_image_source_free(src);
}

static void test_oci_untagged_layouts(void **state)
{
	struct clr_image_source *src;
	struct clr_image *img;

	(void)state;
	/* index.json is itself the platform index. */
	assert_int_equal(clr_oci_source_open(&src, fx.flat, NULL), 0);
	img = resolve_ok(src, "linux/arm64/v8");
	assert_string_equal(img->manifest_digest, fx.man_arm64.digest);
	clr_image_free(img);
	img = resolve_ok(src, NULL);
	assert_string_equal(img->manifest_digest, fx.man_amd64.digest);
	clr_image_free(img);
	clr_image_source_free(src);

	assert_int_equal(clr_oci_source_open(&src, fx.single, NULL), 0);
	img = resolve_ok(src, NULL);
	assert_string_equal(img->manifest_digest, fx.man_arm64.digest);
	clr_image_free(img);
	clr_image_source_free(src);
}

static void test_config_fetch_and_verify(void **state)
{
	struct clr_image_source *src;
	struct clr_image *img;
	char *bytes, path[PATH_MAX], copy[FX_PATH];
	size_t len;

	(void)state;
	assert_int_equal(clr_oci_source_open(&src, fx.layout, "1.0"), 0);
	img = resolve_ok(src, NULL);
	assert_int_equal(clr_image_fetch_config(&bytes, &len, src, img), 0);
	assert_int_equal(len, fx.cfg_amd64.len);
	assert_memory_equal(bytes, fx.cfg_amd64.data, len);
	free(bytes);
	clr_image_free(img);
	clr_image_source_free(src);

	/* A config blob whose content was changed. */
	snprintf(copy, sizeof(copy), "%s/cfg-tampered", fx.dir);
	sh("cp -a '%s' '%s'", fx.layout, copy);
	snprintf(path, sizeof(path), "%s/blobs/sha256/%s", copy,
		 hex(&fx.cfg_amd64));
	write_str(path, "{\"architecture\":\"amd64\",\"os\":\"linux\"}");
	assert_int_equal(clr_oci_source_open(&src, copy, "amd64-only"), 0);
	img = resolve_ok(src, NULL);
	expect_error(clr_image_fetch_config(&bytes, &len, src, img),
		     CLR_EINVALID, "digest mismatch");
	assert_null(bytes);
	assert_non_null(strstr(clr_error_msg(), fx.cfg_amd64.digest));
	clr_image_free(img);
	clr_image_source_free(src);
}

/* --- oci-archive: ------------------------------------------------------- */

static void test_oci_archive_same_as_layout(void **state)
{
	struct clr_image_source *dir, *tar;
	struct clr_image *a, *b;
	unsigned char *x, *y;
	size_t xl, yl;

	(void)state;
	assert_int_equal(clr_oci_source_open(&dir, fx.layout, "1.0"), 0);
	assert_int_equal(clr_oci_archive_source_open(&tar, fx.oci_tar, "1.0"),
			 0);
	assert_string_equal(tar->ops->transport, "oci-archive");
	for (int arm = 0; arm < 2; arm++) {
		const char *p = arm ? "linux/arm64" : "linux/amd64";

		a = resolve_ok(dir, p);
		b = resolve_ok(tar, p);
		assert_string_equal(a->manifest_digest, b->manifest_digest);
		assert_string_equal(a->config_digest, b->config_digest);
		assert_int_equal(a->n_layers, b->n_layers);
		for (size_t i = 0; i < a->n_layers; i++) {
			assert_string_equal(a->layers[i].digest,
					    b->layers[i].digest);
			x = read_blob(dir, a->layers[i].digest, &xl);
			y = read_blob(tar, b->layers[i].digest, &yl);
			assert_int_equal(xl, yl);
			assert_memory_equal(x, y, xl);
			free(x);
			free(y);
		}
		clr_image_free(a);
		clr_image_free(b);
	}
	expect_error(clr_image_resolve(&a, tar, "windows/amd64"),
		     CLR_ENOTFOUND, "available: linux/amd64, linux/arm64/v8");
	clr_image_source_free(dir);
	clr_image_source_free(tar);

	expect_error(clr_oci_archive_source_open(&tar, fx.oci_tar, NULL),
		     CLR_EINVALID, "tags: 1.0, amd64-only");
}

/* --- docker-archive: ---------------------------------------------------- */

static void check_legacy_amd64(const struct clr_image *img)
{
	assert_string_equal(img->media_type, CLR_MT_DOCKER_V2);
	assert_string_equal(img->config_digest, fx.cfg_amd64.digest);
	assert_int_equal(img->n_layers, 2);
	/* The layer digests are the diff_ids of the OCI image's config. */
	assert_string_equal(img->layers[0].digest, fx.tar1.digest);
	assert_string_equal(img->layers[1].digest, fx.tar2a.digest);
	assert_int_equal(img->layers[0].size, fx.tar1.len);
	assert_string_equal(img->layers[0].media_type, CLR_MT_DOCKER_LAYER);
	assert_int_equal(img->layers[0].compression, CLR_COMPRESSION_NONE);
	assert_null(img->index_digest);
}

static void test_docker_archive_legacy(void **state)
{
	struct clr_image_source *src, *again;
	struct clr_image *img, *img2;
	struct clr_stream *s;
	char *bytes, *mt;
	size_t len;
	unsigned char *data;

	(void)state;
	assert_int_equal(clr_archive_source_open(&src, fx.legacy_tar, NULL), 0);
	assert_string_equal(src->ops->transport, "docker-archive");
	img = resolve_ok(src, "linux/s390x"); /* not an index: ignored */
	check_legacy_amd64(img);

	/* The manifest is ours, but it is a real one, and stable. */
	assert_int_equal(src->ops->get_manifest(src, NULL, &bytes, &len, &mt),
			 0);
	assert_string_equal(mt, CLR_MT_DOCKER_V2);
	{
		struct clr_manifest *m;

		assert_int_equal(clr_manifest_parse(&m, bytes, len, mt), 0);
		assert_int_equal(m->config.size, fx.cfg_amd64.len);
		clr_manifest_free(m);
	}
	free(bytes);
	free(mt);
	assert_int_equal(clr_archive_source_open(&again, fx.legacy_tar,
						 "example/app:1.0"), 0);
	img2 = resolve_ok(again, NULL);
	assert_string_equal(img->manifest_digest, img2->manifest_digest);
	clr_image_free(img2);
	clr_image_source_free(again);

	data = read_blob(src, fx.tar2a.digest, &len);
	assert_int_equal(len, fx.tar2a.len);
	assert_memory_equal(data, fx.tar2a.data, len);
	free(data);
	expect_error(src->ops->open_blob(&s, src, fx.tar2b.digest),
		     CLR_ENOTFOUND, "no blob");
	assert_int_equal(clr_image_fetch_config(&bytes, &len, src, img), 0);
	assert_memory_equal(bytes, fx.cfg_amd64.data, len);
	free(bytes);
	expect_error(src->ops->get_manifest(src, fx.man_amd64.digest, &bytes,
					    &len, &mt),
		     CLR_ENOTFOUND, "no manifest");
	clr_image_free(img);
	clr_image_source_free(src);
}

static void test_docker_archive_picks_image(void **state)
{
	static const char *const arm_refs[] = {
		"example/app:arm", "docker.io/example/app:arm", "@1",
		"other", "library/other:latest", "docker.io/library/other",
	};
	struct clr_image_source *src;
	struct clr_image *img;
	unsigned char *data;
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(arm_refs) / sizeof(*arm_refs); i++) {
		if (clr_archive_source_open(&src, fx.legacy_tar, arm_refs[i]))
			fail_msg("%s: %s", arm_refs[i], clr_error_msg());
		img = resolve_ok(src, NULL);
		assert_string_equal(img->config_digest, fx.cfg_arm64.digest);
		/* skopeo's symlinked layer.tar files, followed. */
		assert_string_equal(img->layers[0].digest, fx.tar1.digest);
		assert_string_equal(img->layers[1].digest, fx.tar2b.digest);
		data = read_blob(src, fx.tar2b.digest, &len);
		assert_int_equal(len, fx.tar2b.len);
		assert_memory_equal(data, fx.tar2b.data, len);
		free(data);
		clr_image_free(img);
		clr_image_source_free(src);
	}
	assert_int_equal(clr_archive_source_open(&src, fx.legacy_tar, "@0"), 0);
	img = resolve_ok(src, NULL);
	check_legacy_amd64(img);
	clr_image_free(img);
	clr_image_source_free(src);

	expect_error(clr_archive_source_open(&src, fx.legacy_tar, "app:2.0"),
		     CLR_ENOTFOUND, "no image tagged 'app:2.0'; tags: "
		     "example/app:1.0, docker.io/example/app:arm, "
		     "docker.io/library/other:latest");
	assert_null(src);
	assert_non_null(strstr(clr_error_msg(), fx.legacy_tar));
	expect_error(clr_archive_source_open(&src, fx.legacy_tar, "@2"),
		     CLR_ENOTFOUND, "no image @2 (it holds 2)");
	expect_error(clr_archive_source_open(&src, fx.legacy_tar, "@x"),
		     CLR_EINVALID, "want @N");
	expect_error(clr_archive_source_open(&src, fx.legacy_tar,
					     "app@" "sha256:00"),
		     CLR_EINVALID, "name:tag or @N");
}

static void test_docker_archive_docker25(void **state)
{
	struct clr_image_source *src;
	struct clr_image *img;

	(void)state;
	assert_int_equal(clr_archive_source_open(&src, fx.d25_tar, "app:1"), 0);
	img = resolve_ok(src, NULL);
	check_legacy_amd64(img);
	clr_image_free(img);
	clr_image_source_free(src);
}

/* The same image through every transport: the layer contents agree, and
 * the archive's layer digests are the OCI config's diff_ids. */
static void test_same_content_across_transports(void **state)
{
	static unsigned char plain[256 * 1024];
	struct clr_image_source *oci, *arc;
	struct clr_image *a, *b;
	unsigned char *x, *y;
	size_t xl, yl, n;
	char *cfg;

	(void)state;
	assert_int_equal(clr_oci_source_open(&oci, fx.layout, "1.0"), 0);
	assert_int_equal(clr_archive_source_open(&arc, fx.legacy_tar, "@0"),
			 0);
	a = resolve_ok(oci, "linux/amd64");
	b = resolve_ok(arc, "linux/amd64");
	assert_string_equal(a->config_digest, b->config_digest);
	assert_int_equal(clr_image_fetch_config(&cfg, &n, oci, a), 0);
	assert_int_equal(a->n_layers, b->n_layers);
	for (size_t i = 0; i < a->n_layers; i++) {
		x = read_blob(oci, a->layers[i].digest, &xl);
		y = read_blob(arc, b->layers[i].digest, &yl);
		gunzip(x, xl, plain, sizeof(plain), &n);
		assert_int_equal(n, yl);
		assert_memory_equal(plain, y, yl);
		assert_non_null(strstr(cfg, b->layers[i].digest));
		free(x);
		free(y);
	}
	free(cfg);
	clr_image_free(a);
	clr_image_free(b);
	clr_image_source_free(oci);
	clr_image_source_free(arc);
}

/* --- dir: --------------------------------------------------------------- */

static void test_rootfs(void **state)
{
	struct clr_image_source *src;
	struct clr_image *img;
	struct clr_stream *s;
	char *bytes, *mt, real[PATH_MAX], path[FX_PATH + 64];
	size_t len;

	(void)state;
	assert_non_null(realpath(fx.rootfs, real));
	snprintf(path, sizeof(path), "%s/etc/../", fx.rootfs);
	assert_int_equal(clr_rootfs_source_open(&src, path), 0);
	assert_string_equal(src->rootfs, real);
	assert_string_equal(src->ops->transport, "dir");
	img = resolve_ok(src, NULL);
	assert_int_equal(img->n_layers, 0);
	assert_string_equal(img->rootfs, real);
	assert_null(img->manifest_digest);
	assert_null(img->config_digest);
	expect_error(clr_image_fetch_config(&bytes, &len, src, img),
		     CLR_EUNSUPPORTED, "no config");
	clr_image_free(img);
	expect_error(src->ops->get_manifest(src, NULL, &bytes, &len, &mt),
		     CLR_EUNSUPPORTED, "no manifest");
	expect_error(src->ops->open_blob(&s, src, fx.tar1.digest),
		     CLR_EUNSUPPORTED, "no blobs");
	clr_image_source_free(src);

	snprintf(path, sizeof(path), "%s/usr/lib/os-release", fx.rootfs);
	expect_error(clr_rootfs_source_open(&src, path), CLR_EINVALID,
		     "not a directory");
	snprintf(path, sizeof(path), "%s/nowhere", fx.dir);
	expect_error(clr_rootfs_source_open(&src, path), CLR_ENOTFOUND,
		     "nowhere");
}

/* --- digests are checked ------------------------------------------------ */

static void test_tampered_manifest_is_refused(void **state)
{
	struct clr_image_source *src;
	struct clr_image *img;
	char copy[FX_PATH], path[PATH_MAX];
	char *text;

	(void)state;
	snprintf(copy, sizeof(copy), "%s/tampered", fx.dir);
	sh("cp -a '%s' '%s'", fx.layout, copy);
	/* Same name, other content: the arm64 manifest now lists the amd64
	 * layer (a swap an attacker with write access to storage might try). */
	text = clr_strdup((char *)fx.man_arm64.data);
	memcpy(strstr(text, hex(&fx.gz2b)), hex(&fx.gz2a), 64);
	snprintf(path, sizeof(path), "%s/blobs/sha256/%s", copy,
		 hex(&fx.man_arm64));
	write_str(path, text);
	free(text);

	assert_int_equal(clr_oci_source_open(&src, copy, "1.0"), 0);
	expect_error(clr_image_resolve(&img, src, "linux/arm64"),
		     CLR_EINVALID, "digest mismatch");
	assert_non_null(strstr(clr_error_msg(), fx.man_arm64.digest));
	assert_null(img);
	/* The untouched platform still resolves. */
	img = resolve_ok(src, "linux/amd64");
	clr_image_free(img);
	clr_image_source_free(src);
}

/* A source that answers any digest with the bytes it was given, so that
 * image.c's own check (not the source's) is what catches a substitution. */
struct lying_source {
	struct clr_image_source base;
	const struct blob *top, *child;
};

static int lying_get_manifest(struct clr_image_source *src,
			      const char *digest, char **bytes, size_t *len,
			      char **media_type)
{
	struct lying_source *l = (struct lying_source *)src;
	const struct blob *b = digest ? l->child : l->top;

	*bytes = clr_strndup((char *)b->data, b->len);
	*len = b->len;
	*media_type = clr_strdup("");
	return 0;
}

static int lying_open_blob(struct clr_stream **out,
			   struct clr_image_source *src, const char *digest)
{
	(void)src;
	(void)digest;
	*out = NULL;
	return clr_error_set(CLR_ENOTFOUND, "no blobs");
}

static void lying_free(struct clr_image_source *src)
{
	(void)src;
}

static const struct clr_image_source_ops lying_ops = {
	.transport = "lying",
	.get_manifest = lying_get_manifest,
	.open_blob = lying_open_blob,
	.free = lying_free,
};

static void test_resolve_checks_child_digest(void **state)
{
	struct lying_source l = { { &lying_ops, "liar", NULL }, &fx.nested,
				  &fx.man_arm64 };
	struct clr_image *img;

	(void)state;
	/* The arm64 manifest offered where amd64 was selected. */
	expect_error(clr_image_resolve(&img, &l.base, "linux/amd64"),
		     CLR_EINVALID, "image liar: manifest ");
	assert_non_null(strstr(clr_error_msg(), "digest mismatch: the bytes "
			       "received hash to"));
	assert_non_null(strstr(clr_error_msg(), fx.man_arm64.digest));
	assert_null(img);

	/* The honest answer passes, media type taken from the index. */
	l.child = &fx.man_amd64;
	img = resolve_ok(&l.base, "linux/amd64");
	check_amd64_oci(img);
	assert_string_equal(img->name, "liar");
	clr_image_free(img);
}

/* --- hostile and broken input ------------------------------------------- */

static void test_hostile_layouts(void **state)
{
	struct clr_image_source *src;
	struct clr_image *img;
	struct clr_stream *s;
	char dir[FX_PATH], path[PATH_MAX], buf[1024];

	(void)state;
	snprintf(dir, sizeof(dir), "%s/h1", fx.dir);
	sh("cp -a '%s' '%s' && rm '%s/oci-layout'", fx.single, dir, dir);
	expect_error(clr_oci_source_open(&src, dir, NULL), CLR_EINVALID,
		     "oci-layout is missing: not an OCI image layout");
	assert_non_null(strstr(clr_error_msg(), dir));

	snprintf(dir, sizeof(dir), "%s/h2", fx.dir);
	sh("cp -a '%s' '%s'", fx.single, dir);
	snprintf(path, sizeof(path), "%s/index.json", dir);
	write_str(path, "{\"schemaVersion\":2,\"manifests\":[");
	expect_error(clr_oci_source_open(&src, dir, NULL), CLR_EINVALID,
		     "index.json: manifest is not valid JSON");
	write_str(path, "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
		  "\"x\",\"size\":1,\"digest\":\"sha256:../../../../etc/"
		  "passwd\"}]}");
	expect_error(clr_oci_source_open(&src, dir, NULL), CLR_EINVALID,
		     "index.json: manifests[0].digest: invalid digest");
	write_str(path, "{\"schemaVersion\":2,\"manifests\":[]}");
	expect_error(clr_oci_source_open(&src, dir, NULL), CLR_EINVALID,
		     "index.json lists no manifests");
	unlink(path);
	expect_error(clr_oci_source_open(&src, dir, NULL), CLR_EINVALID,
		     "index.json is missing");

	/* A blob that is a symlink out of the layout. */
	snprintf(dir, sizeof(dir), "%s/h3", fx.dir);
	sh("cp -a '%s' '%s'", fx.single, dir);
	snprintf(path, sizeof(path), "%s/blobs/sha256/%s", dir,
		 hex(&fx.man_arm64));
	sh("mv '%s' '%s/outside' && ln -s ../../../outside '%s'", path,
	   fx.dir, path);
	assert_int_equal(clr_oci_source_open(&src, dir, NULL), 0);
	expect_error(clr_image_resolve(&img, src, NULL), CLR_EINVALID,
		     "outside the layout");
	expect_error(src->ops->open_blob(&s, src, fx.man_arm64.digest),
		     CLR_EINVALID, "outside the layout");
	expect_error(src->ops->open_blob(&s, src, "sha256:../../../etc/passwd"),
		     CLR_EINVALID, "invalid digest");
	expect_error(src->ops->open_blob(&s, src, fx.tar1.digest),
		     CLR_ENOTFOUND, fx.tar1.digest);
	clr_image_source_free(src);

	/* A listed manifest that is not there. */
	snprintf(dir, sizeof(dir), "%s/h4", fx.dir);
	sh("cp -a '%s' '%s' && rm '%s/blobs/sha256/%s'", fx.single, dir, dir,
	   hex(&fx.man_arm64));
	assert_int_equal(clr_oci_source_open(&src, dir, NULL), 0);
	expect_error(clr_image_resolve(&img, src, NULL), CLR_ENOTFOUND,
		     fx.man_arm64.digest);
	clr_image_source_free(src);

	expect_error(clr_oci_source_open(&src, fx.oci_tar, NULL),
		     CLR_EINVALID, "not a directory");
	snprintf(path, sizeof(path), "%s/none", fx.dir);
	expect_error(clr_oci_source_open(&src, path, NULL), CLR_ENOTFOUND,
		     path);
	snprintf(buf, sizeof(buf), "%s/blobs", fx.single);
	expect_error(clr_oci_source_open(&src, buf, NULL), CLR_EINVALID,
		     "oci-layout is missing");
}

static void make_archive(const char *name, const char *manifest_json,
			 const struct tar_file *extra, char *out)
{
	struct tar_file files[8];
	size_t n = 0;

	sprintf(out, "%s/%s", fx.dir, name);
	for (; extra && extra->name; extra++)
		files[n++] = *extra;
	if (manifest_json)
		files[n++] = (struct tar_file){ "manifest.json", manifest_json,
						strlen(manifest_json), NULL };
	files[n] = (struct tar_file){ NULL, NULL, 0, NULL };
	tar_file(out, files);
}

static void test_hostile_archives(void **state)
{
	struct clr_image_source *src;
	char path[PATH_MAX], mj[1024];
	const struct tar_file cfg[] = {
		{ "c.json", "{}", 2, NULL },
		{ "evil/layer.tar", NULL, 0, "../../../../etc/passwd" },
		{ "loop/layer.tar", NULL, 0, "layer.tar" },
		{ "dir/layer.tar", NULL, 0, "../dir" },
		{ "dir", NULL, 0, "." },
		{ NULL, NULL, 0, NULL },
	};
	const struct tar_file oci[] = {
		{ "oci-layout", "{}", 2, NULL },
		{ NULL, NULL, 0, NULL },
	};

	(void)state;
	make_archive("no-manifest.tar", NULL, cfg, path);
	expect_error(clr_archive_source_open(&src, path, NULL), CLR_EINVALID,
		     "manifest.json is missing: not a `docker save` archive");
	assert_non_null(strstr(clr_error_msg(), path));
	make_archive("oci-inside.tar", NULL, oci, path);
	expect_error(clr_archive_source_open(&src, path, NULL), CLR_EINVALID,
		     "(it is an OCI layout: use oci-archive:)");

	make_archive("absent.tar", "[{\"Config\":\"c.json\",\"RepoTags\":"
		     "null,\"Layers\":[\"abc/layer.tar\"]}]", cfg, path);
	expect_error(clr_archive_source_open(&src, path, NULL), CLR_ENOTFOUND,
		     "manifest.json Layers[0]: 'abc/layer.tar' is not in the "
		     "archive");
	assert_non_null(strstr(clr_error_msg(), path));

	make_archive("dotdot.tar", "[{\"Config\":\"c.json\",\"Layers\":"
		     "[\"../../etc/passwd\"]}]", cfg, path);
	expect_error(clr_archive_source_open(&src, path, NULL), CLR_EINVALID,
		     "escapes the root");
	make_archive("abs.tar", "[{\"Config\":\"/etc/passwd\",\"Layers\":[]}]",
		     cfg, path);
	expect_error(clr_archive_source_open(&src, path, NULL), CLR_EINVALID,
		     "Config: '/etc/passwd' is an absolute path");
	make_archive("evil.tar", "[{\"Config\":\"c.json\",\"Layers\":"
		     "[\"evil/layer.tar\"]}]", cfg, path);
	expect_error(clr_archive_source_open(&src, path, NULL), CLR_EINVALID,
		     "'evil/layer.tar' links to '../../../../etc/passwd', "
		     "outside the archive");
	make_archive("loop.tar", "[{\"Config\":\"c.json\",\"Layers\":"
		     "[\"loop/layer.tar\"]}]", cfg, path);
	expect_error(clr_archive_source_open(&src, path, NULL), CLR_EINVALID,
		     "more than 16 links");
	make_archive("dir.tar", "[{\"Config\":\"c.json\",\"Layers\":"
		     "[\"dir/layer.tar\"]}]", cfg, path);
	expect_error(clr_archive_source_open(&src, path, NULL), CLR_EINVALID,
		     "'dir' links to '.', outside the archive");

	snprintf(mj, sizeof(mj), "[{\"Config\":\"c.json\",\"Layers\":["
		 "\"blobs/sha256/%s\"]}]", hex(&fx.tar2a));
	{
		char name[100];
		const struct tar_file wrong[] = {
			{ "c.json", "{}", 2, NULL },
			{ name, fx.tar1.data, fx.tar1.len, NULL },
			{ NULL, NULL, 0, NULL },
		};

		snprintf(name, sizeof(name), "blobs/sha256/%s", hex(&fx.tar2a));
		make_archive("wrong-blob.tar", mj, wrong, path);
		expect_error(clr_archive_source_open(&src, path, NULL),
			     CLR_EINVALID, "does not match its digest");
	}

	make_archive("not-array.tar", "{\"Config\":\"c.json\"}", cfg, path);
	expect_error(clr_archive_source_open(&src, path, NULL), CLR_EINVALID,
		     "manifest.json: must be a non-empty array of images");
	make_archive("bad-json.tar", "[{", cfg, path);
	expect_error(clr_archive_source_open(&src, path, NULL), CLR_EINVALID,
		     "manifest.json: invalid JSON");
	make_archive("layers-type.tar", "[{\"Config\":\"c.json\",\"Layers\":"
		     "[7]}]", cfg, path);
	expect_error(clr_archive_source_open(&src, path, NULL), CLR_EINVALID,
		     "manifest.json: Layers[0]: must be a string");
	make_archive("no-config.tar", "[{\"Layers\":[]}]", cfg, path);
	expect_error(clr_archive_source_open(&src, path, NULL), CLR_EINVALID,
		     "manifest.json: Config: missing");

	snprintf(path, sizeof(path), "%s/garbage.tar", fx.dir);
	write_str(path, "this is not a tar archive, not even close to one; "
		  "it is just some text that goes on for a while........"
		  "................................................");
	expect_error(clr_archive_source_open(&src, path, NULL), CLR_EINVALID,
		     "not a readable tar archive");
	expect_error(clr_oci_archive_source_open(&src, path, NULL),
		     CLR_EINVALID, "not a readable tar archive");
	snprintf(path, sizeof(path), "%s/missing.tar", fx.dir);
	expect_error(clr_archive_source_open(&src, path, NULL), CLR_ENOTFOUND,
		     path);
	expect_error(clr_archive_source_open(&src, fx.dir, NULL), CLR_EINVALID,
		     "a directory, not an archive");
	/* An oci-archive without its layout file. */
	expect_error(clr_oci_archive_source_open(&src, fx.legacy_tar, NULL),
		     CLR_EINVALID, "oci-layout is missing");
}

static void test_tar_path_normalize(void **state)
{
	static const struct {
		const char *in, *out;
	} ok[] = {
		{ "a", "a" }, { "./a", "a" }, { "a//b/", "a/b" },
		{ "./././a/./b", "a/b" }, { "a/../b", "b" },
		{ "a/b/../../c", "c" },
	};
	static const char *const bad[] = {
		"", ".", "./", "..", "../a", "a/../..", "/etc/passwd",
		"a/../../b",
	};
	char out[64];

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(*ok); i++) {
		assert_int_equal(clr_tar_path_normalize(out, sizeof(out),
							ok[i].in), 0);
		assert_string_equal(out, ok[i].out);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_int_equal(clr_tar_path_normalize(out, sizeof(out),
							bad[i]), CLR_EINVALID);
	assert_int_equal(clr_tar_path_normalize(out, 4, "abcd"), CLR_EINVALID);
}

/* --- clr_image_source_open ---------------------------------------------- */

static void test_source_open_dispatch(void **state)
{
	struct clr_image_source *src;
	struct clr_image *img;
	char name[PATH_MAX + 64];

	(void)state;
	expect_error(clr_image_source_open(&src, "docker://alpine:3.19", NULL),
		     CLR_ENET, "stub");
	assert_string_equal(stub_ref, "alpine:3.19");
	expect_error(clr_image_source_open(&src, "localhost:5000/a/b:c", NULL),
		     CLR_ENET, "stub");
	assert_string_equal(stub_ref, "localhost:5000/a/b:c");
	/* Not a prefix clarion knows: the image "docker" at tag 24. */
	expect_error(clr_image_source_open(&src, "docker:24", NULL), CLR_ENET,
		     "stub");
	assert_string_equal(stub_ref, "docker:24");

	snprintf(name, sizeof(name), "oci:%s:1.0", fx.layout);
	assert_int_equal(clr_image_source_open(&src, name, NULL), 0);
	assert_string_equal(src->name, name);
	img = resolve_ok(src, "linux/arm64");
	assert_string_equal(img->manifest_digest, fx.man_arm64.digest);
	assert_string_equal(img->name, name);
	clr_image_free(img);
	clr_image_source_free(src);

	snprintf(name, sizeof(name), "oci-archive:%s:1.0", fx.oci_tar);
	assert_int_equal(clr_image_source_open(&src, name, NULL), 0);
	assert_string_equal(src->ops->transport, "oci-archive");
	clr_image_source_free(src);

	snprintf(name, sizeof(name), "docker-archive:%s:example/app:arm",
		 fx.legacy_tar);
	assert_int_equal(clr_image_source_open(&src, name, NULL), 0);
	img = resolve_ok(src, NULL);
	assert_string_equal(img->config_digest, fx.cfg_arm64.digest);
	clr_image_free(img);
	clr_image_source_free(src);

	snprintf(name, sizeof(name), "docker-archive:%s", fx.legacy_tar);
	assert_int_equal(clr_image_source_open(&src, name, NULL), 0);
	assert_string_equal(src->name, name);
	clr_image_source_free(src);

	snprintf(name, sizeof(name), "dir:%s", fx.rootfs);
	assert_int_equal(clr_image_source_open(&src, name, NULL), 0);
	assert_non_null(src->rootfs);
	clr_image_source_free(src);

	expect_error(clr_image_source_open(&src, "oci:", NULL), CLR_EINVALID,
		     "nothing after the transport prefix");
	expect_error(clr_image_source_open(&src, "oci::tag", NULL),
		     CLR_EINVALID, "no path");
	snprintf(name, sizeof(name), "oci:%s:", fx.layout);
	expect_error(clr_image_source_open(&src, name, NULL), CLR_EINVALID,
		     "nothing after the ':'");
	clr_image_source_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_oci_platform_selection),
		cmocka_unit_test(test_oci_tags),
		cmocka_unit_test(test_oci_untagged_layouts),
		cmocka_unit_test(test_config_fetch_and_verify),
		cmocka_unit_test(test_oci_archive_same_as_layout),
		cmocka_unit_test(test_docker_archive_legacy),
		cmocka_unit_test(test_docker_archive_picks_image),
		cmocka_unit_test(test_docker_archive_docker25),
		cmocka_unit_test(test_same_content_across_transports),
		cmocka_unit_test(test_rootfs),
		cmocka_unit_test(test_tampered_manifest_is_refused),
		cmocka_unit_test(test_resolve_checks_child_digest),
		cmocka_unit_test(test_hostile_layouts),
		cmocka_unit_test(test_hostile_archives),
		cmocka_unit_test(test_tar_path_normalize),
		cmocka_unit_test(test_source_open_dispatch),
	};

	return cmocka_run_group_tests_name("local_sources", tests, setup,
					   teardown);
}
