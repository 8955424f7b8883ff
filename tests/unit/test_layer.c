/*
 * test_layer.c - the streaming layer reader and whiteouts, on real tars.
 *
 * Layers are built in the test: libarchive's writer makes the tar in
 * memory (pax, so long and hostile names survive as written), zlib and
 * zstd compress it, and one test shells out to tar(1) for a directory.
 * Every compressed form of a tar must give the same result as the plain
 * one; every damaged form must fail whole, with nothing returned.
 */
#include "unit.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "layer/reader.h"
#include "layer/whiteout.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/sha256.h"
#include "util/stream.h"

/* --- building layers ------------------------------------------------------ */

struct bytes {
	unsigned char *p;
	size_t len, cap;
};

static void bytes_add(struct bytes *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = clr_alloc_grow(b->cap, b->len + n);
		b->p = clr_realloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

/* One tar entry: type 'f' file, 'l' symlink, 'h' hardlink, 'd' dir,
 * 'c' character device. */
struct ent {
	char type;
	const char *path;
	const char *data; /* file contents, or link target */
	size_t size;      /* for 'f': bytes of data (0: strlen(data)) */
};

static la_ssize_t on_write(struct archive *a, void *arg, const void *p,
			   size_t n)
{
	(void)a;
	bytes_add(arg, p, n);
	return (la_ssize_t)n;
}

static struct bytes make_tar(const struct ent *e, size_t n)
{
	struct bytes b = { 0 };
	struct archive *a = archive_write_new();
	struct archive_entry *ae = archive_entry_new();

	assert_int_equal(archive_write_set_format_pax_restricted(a),
			 ARCHIVE_OK);
	assert_int_equal(archive_write_open2(a, &b, NULL, on_write, NULL,
					     NULL), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		size_t size = e[i].type == 'f' ? (e[i].size ? e[i].size
					: strlen(e[i].data)) : 0;

		archive_entry_clear(ae);
		archive_entry_copy_pathname(ae, e[i].path);
		archive_entry_set_mtime(ae, 1700000000, 0);
		switch (e[i].type) {
		case 'f':
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_perm(ae, 0644);
			archive_entry_set_size(ae, (la_int64_t)size);
			break;
		case 'l':
			archive_entry_set_filetype(ae, AE_IFLNK);
			archive_entry_set_perm(ae, 0777);
			archive_entry_copy_symlink(ae, e[i].data);
			break;
		case 'h':
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_perm(ae, 0644);
			archive_entry_copy_hardlink(ae, e[i].data);
			break;
		case 'd':
			archive_entry_set_filetype(ae, AE_IFDIR);
			archive_entry_set_perm(ae, 0755);
			break;
		default:
			archive_entry_set_filetype(ae, AE_IFCHR);
			archive_entry_set_perm(ae, 0600);
			break;
		}
		assert_true(archive_write_header(a, ae) >= ARCHIVE_WARN);
		if (size)
			assert_int_equal(archive_write_data(a, e[i].data, size),
					 (la_ssize_t)size);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	archive_entry_free(ae);
	return b;
}

/* gzip of p[0..n), with a full header (FEXTRA, FNAME, FCOMMENT, FHCRC)
 * when fancy, which both inflaters must accept. */
static void gzip_to(struct bytes *out, const void *p, size_t n, int level,
		    bool fancy)
{
	z_stream z;
	unsigned char buf[65536];
	gz_header h;
	int ret;

	memset(&z, 0, sizeof(z));
	assert_int_equal(deflateInit2(&z, level, Z_DEFLATED, 16 + MAX_WBITS, 8,
				      Z_DEFAULT_STRATEGY), Z_OK);
	if (fancy) {
		memset(&h, 0, sizeof(h));
		h.extra = (Bytef *)"XYZ";
		h.extra_len = 3;
		h.name = (Bytef *)"layer.tar";
		h.comment = (Bytef *)"made by test_layer";
		h.hcrc = 1;
		assert_int_equal(deflateSetHeader(&z, &h), Z_OK);
	}
	z.next_in = (Bytef *)p;
	z.avail_in = (uInt)n;
	do {
		z.next_out = buf;
		z.avail_out = sizeof(buf);
		ret = deflate(&z, Z_FINISH);
		assert_true(ret == Z_OK || ret == Z_STREAM_END);
		bytes_add(out, buf, sizeof(buf) - z.avail_out);
	} while (ret != Z_STREAM_END);
	deflateEnd(&z);
}

static struct bytes gzip_of(const struct bytes *t)
{
	struct bytes b = { 0 };

	gzip_to(&b, t->p, t->len, 6, false);
	return b;
}

/* Several gzip members, cut at arbitrary (not block-aligned) offsets. */
static struct bytes gzip_members(const struct bytes *t, size_t parts)
{
	struct bytes b = { 0 };
	size_t off = 0;

	for (size_t i = 0; i < parts; i++) {
		size_t end = i + 1 == parts ? t->len : t->len * (i + 1) / parts + 7;

		if (end > t->len)
			end = t->len;
		gzip_to(&b, t->p + off, end - off, 1 + (int)i % 9, i == 1);
		off = end;
	}
	return b;
}

static struct bytes zstd_of(const struct bytes *t, size_t frames)
{
	struct bytes b = { 0 };
	size_t off = 0;

	for (size_t i = 0; i < frames; i++) {
		size_t end = i + 1 == frames ? t->len : t->len * (i + 1) / frames;
		size_t cap = ZSTD_compressBound(end - off);
		void *buf = clr_malloc(cap);
		ZSTD_CCtx *z = ZSTD_createCCtx();
		size_t n;

		/* with a checksum, as the zstd command writes by default */
		ZSTD_CCtx_setParameter(z, ZSTD_c_compressionLevel, 3);
		ZSTD_CCtx_setParameter(z, ZSTD_c_checksumFlag, 1);
		n = ZSTD_compress2(z, buf, cap, t->p + off, end - off);
		ZSTD_freeCCtx(z);

		assert_false(ZSTD_isError(n));
		bytes_add(&b, buf, n);
		free(buf);
		off = end;
	}
	return b;
}

static void digest_of(char out[CLR_DIGEST_STRLEN + 1], const struct bytes *b)
{
	uint8_t d[CLR_SHA256_LEN];

	assert_int_equal(clr_sha256(d, b->p, b->len), 0);
	clr_digest_format(out, d);
}

static int read_bytes(struct clr_layer_contents *c, const struct bytes *b,
		      const char *digest, const struct clr_layer_select *sel,
		      const struct clr_layer_limits *lim)
{
	struct clr_stream *s;
	int err;

	/* never NULL: memcpy(dst, NULL, 0) is undefined, and mem_read does
	 * not special-case it */
	assert_int_equal(clr_stream_from_mem(&s, b->p ? (void *)b->p : "",
					     b->len), 0);
	err = clr_layer_read(c, s, digest, sel, lim);
	clr_stream_close(s);
	if (err) { /* nothing partial, and a message naming the layer */
		assert_int_equal(c->files.len, 0);
		assert_int_equal(c->whiteouts.len, 0);
		assert_string_equal(c->digest, "");
		assert_non_null(strstr(clr_error_msg(), "layer"));
	}
	return err;
}

static bool want_all(const char *path, void *arg)
{
	(void)path;
	(void)arg;
	return true;
}

static const char *const os_paths[] = {
	"etc/os-release", "usr/lib/os-release", "var/lib/dpkg/status",
	"var/lib/dpkg/status-hl", "usr/bin/hl-unkept", NULL
};

static const struct clr_layer_select os_sel = {
	clr_layer_want_list, (void *)os_paths, 0
};

static const char status[] =
	"Package: libc6\nStatus: install ok installed\nVersion: 2.36-9\n\n"
	"Package: bash\nStatus: install ok installed\nVersion: 5.2.15-2\n";

/* A Debian-like layer with the entries the scanners look for. */
static const struct ent debian[] = {
	{ 'd', "./", NULL, 0 },
	{ 'd', "./etc/", NULL, 0 },
	{ 'l', "./etc/os-release", "../usr/lib/os-release", 0 },
	{ 'd', "./usr/lib/", NULL, 0 },
	{ 'f', "./usr/lib/os-release", "ID=debian\nVERSION_ID=\"12\"\n", 0 },
	{ 'f', "./usr/bin/bash", "\x7f" "ELF not really", 0 },
	{ 'f', "./var/lib/dpkg/status", status, 0 },
	{ 'h', "./var/lib/dpkg/status-hl", "./var/lib/dpkg/status", 0 },
	{ 'h', "./usr/bin/hl-unkept", "./usr/bin/bash", 0 },
	{ 'c', "./dev/null", NULL, 0 },
	{ 'f', "./etc/.wh.motd", "", 0 },
	{ 'f', "./var/cache/.wh..wh..opq", "", 0 },
	{ 'f', "./.wh..wh.plnk", "", 0 },
};

#define N(a) (sizeof(a) / sizeof(*(a)))

static void assert_file(const struct clr_layer_contents *c, const char *path,
			enum clr_layer_file_kind kind, const char *data,
			const char *link)
{
	const struct clr_layer_file *f = clr_layer_contents_find(c, path);

	assert_non_null(f);
	assert_string_equal(f->path, path);
	assert_int_equal(f->kind, kind);
	if (data) {
		assert_non_null(f->data);
		assert_int_equal(f->len, strlen(data));
		assert_memory_equal(f->data, data, f->len);
		assert_int_equal(f->data[f->len], '\0');
	} else {
		assert_null(f->data);
		assert_int_equal(f->len, 0);
	}
	if (link)
		assert_string_equal(f->link, link);
	else
		assert_null(f->link);
}

/* --- selection ------------------------------------------------------------ */

static void keeps_selected_files_with_exact_bytes(void **state)
{
	struct bytes t = make_tar(debian, N(debian));
	struct clr_layer_contents c;
	char want[CLR_DIGEST_STRLEN + 1];

	(void)state;
	digest_of(want, &t);
	assert_int_equal(read_bytes(&c, &t, want, &os_sel, NULL), 0);
	assert_string_equal(c.digest, want);
	assert_int_equal(c.compression, CLR_LAYER_PLAIN);
	assert_int_equal(c.entries, N(debian));
	assert_int_equal(c.compressed_bytes, t.len);
	assert_int_equal(c.uncompressed_bytes, t.len);
	assert_int_equal(c.skipped, 0);
	assert_int_equal(c.files.len, 5);
	assert_file(&c, "usr/lib/os-release", CLR_LAYER_FILE,
		    "ID=debian\nVERSION_ID=\"12\"\n", NULL);
	assert_file(&c, "var/lib/dpkg/status", CLR_LAYER_FILE, status, NULL);
	assert_int_equal(clr_layer_contents_find(&c, "usr/lib/os-release")->mode
			 & 07777, 0644);
	assert_null(clr_layer_contents_find(&c, "usr/bin/bash"));
	assert_null(clr_layer_contents_find(&c, "/var/lib/dpkg/status"));
	clr_layer_contents_release(&c);
	clr_layer_contents_release(&c); /* twice is harmless */
	free(t.p);
}

static void records_symlinks_and_hardlinks(void **state)
{
	struct bytes t = make_tar(debian, N(debian));
	struct clr_layer_contents c;

	(void)state;
	assert_int_equal(read_bytes(&c, &t, NULL, &os_sel, NULL), 0);
	/* Debian's os-release is a relative symlink, kept as written. */
	assert_file(&c, "etc/os-release", CLR_LAYER_SYMLINK, NULL,
		    "../usr/lib/os-release");
	/* A hardlink to an earlier kept file shares its bytes; the target
	 * path is normalised like any other. */
	assert_file(&c, "var/lib/dpkg/status-hl", CLR_LAYER_HARDLINK, status,
		    "var/lib/dpkg/status");
	/* A hardlink whose target was not kept cannot have its bytes: the
	 * stream has gone past them. */
	assert_file(&c, "usr/bin/hl-unkept", CLR_LAYER_HARDLINK, NULL,
		    "usr/bin/bash");
	clr_layer_contents_release(&c);
	free(t.p);
}

static void keeps_nothing_without_a_predicate(void **state)
{
	struct bytes t = make_tar(debian, N(debian));
	struct clr_layer_contents c;
	struct clr_layer_select none = { NULL, NULL, 0 };

	(void)state;
	assert_int_equal(read_bytes(&c, &t, NULL, NULL, NULL), 0);
	assert_int_equal(c.files.len, 0);
	assert_int_equal(c.whiteouts.len, 2); /* whiteouts, always */
	clr_layer_contents_release(&c);
	assert_int_equal(read_bytes(&c, &t, NULL, &none, NULL), 0);
	assert_int_equal(c.files.len, 0);
	assert_int_equal(c.entries, N(debian));
	clr_layer_contents_release(&c);
	free(t.p);
}

static void later_entries_replace_earlier_ones(void **state)
{
	static const struct ent e[] = {
		{ 'f', "a/status", "old", 0 },
		{ 'f', "b", "first", 0 },
		{ 'f', "./a/status", "new", 0 },
		{ 'f', "c", "gone", 0 },
		{ 'd', "c/", NULL, 0 },
		{ 'f', "d", "kept", 0 },
	};
	struct bytes t = make_tar(e, N(e));
	struct clr_layer_contents c;
	struct clr_layer_select all = { want_all, NULL, 0 };

	(void)state;
	assert_int_equal(read_bytes(&c, &t, NULL, &all, NULL), 0);
	assert_int_equal(c.files.len, 3);
	assert_file(&c, "a/status", CLR_LAYER_FILE, "new", NULL);
	assert_null(clr_layer_contents_find(&c, "c"));
	assert_file(&c, "d", CLR_LAYER_FILE, "kept", NULL);
	assert_int_equal(c.kept_bytes, 3 + 5 + 4);
	clr_layer_contents_release(&c);
	free(t.p);
}

/* --- paths ---------------------------------------------------------------- */

static void normalises_paths(void **state)
{
	static const char *const cases[][2] = {
		{ "etc/passwd", "etc/passwd" },
		{ "./etc/passwd", "etc/passwd" },
		{ "/etc/passwd", "etc/passwd" },
		{ "//etc//./passwd", "etc/passwd" },
		{ "etc/", "etc" },
		{ "./", "" },
		{ "", "" },
		{ "././a/./b/.", "a/b" },
		{ "a/..b/c..", "a/..b/c.." },
		{ ".../x", ".../x" },
	};
	static const char *const bad[] = {
		"../etc/passwd", "../../etc/passwd", "a/../b", "a/..",
		"/..", "./../x", "..",
	};
	char *out;

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		assert_int_equal(clr_layer_path_normalize(&out, cases[i][0]), 0);
		assert_string_equal(out, cases[i][1]);
		free(out);
	}
	for (size_t i = 0; i < N(bad); i++) {
		assert_int_equal(clr_layer_path_normalize(&out, bad[i]),
				 CLR_EINVALID);
		assert_null(out);
	}
}

struct seen {
	char names[16][64];
	size_t n;
};

static bool record_and_want(const char *path, void *arg)
{
	struct seen *s = arg;

	assert_null(strstr(path, ".."));
	assert_true(path[0] != '/' && path[0] != '\0');
	if (s->n < 16)
		snprintf(s->names[s->n++], 64, "%s", path);
	return true;
}

static void hostile_names_are_harmless(void **state)
{
	static const struct ent e[] = {
		{ 'f', "../../etc/passwd", "root::0:0::/:/bin/sh\n", 0 },
		{ 'f', "/abs/file", "absolute", 0 },
		{ 'f', "ok/../../x", "sneaky", 0 },
		{ 'l', "evil", "../../../../etc/shadow", 0 },
		{ 'h', "hl", "../../etc/passwd", 0 },
		{ 'f', "a//b/./c", "collapsed", 0 },
	};
	struct bytes t = make_tar(e, N(e));
	struct clr_layer_contents c;
	struct seen s = { .n = 0 };
	struct clr_layer_select sel = { record_and_want, &s, 0 };

	(void)state;
	assert_int_equal(read_bytes(&c, &t, NULL, &sel, NULL), 0);
	assert_int_equal(c.entries, N(e));
	assert_int_equal(c.skipped, 3); /* two '..' names, one '..' link */
	assert_file(&c, "abs/file", CLR_LAYER_FILE, "absolute", NULL);
	assert_file(&c, "a/b/c", CLR_LAYER_FILE, "collapsed", NULL);
	/* A symlink target is data, never resolved here. */
	assert_file(&c, "evil", CLR_LAYER_SYMLINK, NULL,
		    "../../../../etc/shadow");
	assert_null(clr_layer_contents_find(&c, "etc/passwd"));
	assert_null(clr_layer_contents_find(&c, "hl"));
	assert_int_equal(c.files.len, 3);
	clr_layer_contents_release(&c);
	free(t.p);
}

static void long_and_unusual_names_survive(void **state)
{
	char longname[600];
	struct ent e[2] = {
		{ 'f', longname, "deep", 0 },
		{ 'f', "usr/share/doc/caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac", "utf8", 0 },
	};
	struct bytes t;
	struct clr_layer_contents c;
	struct clr_layer_select all = { want_all, NULL, 0 };

	(void)state;
	memset(longname, 0, sizeof(longname));
	for (size_t i = 0; i + 10 < sizeof(longname); i += 10)
		memcpy(longname + i, "abcdefgh/", 9), longname[i + 9] = 'x';
	strcat(longname, "/f");
	t = make_tar(e, N(e));
	assert_int_equal(read_bytes(&c, &t, NULL, &all, NULL), 0);
	assert_int_equal(c.files.len, 2);
	assert_file(&c, longname, CLR_LAYER_FILE, "deep", NULL);
	assert_non_null(clr_layer_contents_find(&c, e[1].path));
	clr_layer_contents_release(&c);
	free(t.p);
}

/* --- whiteouts ------------------------------------------------------------ */

static void records_whiteouts(void **state)
{
	static const struct ent e[] = {
		{ 'f', ".wh.tmp", "", 0 },
		{ 'f', "etc/.wh.motd", "", 0 },
		{ 'f', "usr/share/doc/.wh..wh..opq", "", 0 },
		{ 'f', "usr/share/doc/.wh..wh..opq", "", 0 }, /* duplicate */
		{ 'f', ".wh..wh.plnk", "", 0 },  /* AUFS: reserved */
		{ 'f', "x/.wh.", "", 0 },        /* no name: ignored */
		{ 'f', "x/.wh...", "", 0 },      /* "..": ignored */
		{ 'f', "usr/.wh.lib", "", 0 },
		{ 'f', "usr/lib/kept", "k", 0 }, /* same layer: not hidden */
	};
	struct bytes t = make_tar(e, N(e));
	struct clr_layer_contents c;
	struct clr_layer_select all = { want_all, NULL, 0 };
	const struct clr_layer_whiteout *w;

	(void)state;
	assert_int_equal(read_bytes(&c, &t, NULL, &all, NULL), 0);
	assert_int_equal(c.whiteouts.len, 4);
	w = CLR_VEC_AT(&c.whiteouts, struct clr_layer_whiteout, 0);
	assert_string_equal(w[0].path, "tmp");
	assert_false(w[0].opaque);
	assert_string_equal(w[1].path, "etc/motd");
	assert_false(w[1].opaque);
	assert_string_equal(w[2].path, "usr/share/doc");
	assert_true(w[2].opaque);
	assert_string_equal(w[3].path, "usr/lib");
	/* Whiteout markers are never files, even when everything is
	 * wanted. */
	assert_int_equal(c.files.len, 1);
	assert_file(&c, "usr/lib/kept", CLR_LAYER_FILE, "k", NULL);
	clr_layer_contents_release(&c);
	free(t.p);
}

static void parses_whiteout_names(void **state)
{
	char *t;

	(void)state;
	assert_int_equal(clr_whiteout_parse("etc/.wh.motd", &t),
			 CLR_WHITEOUT_DELETE);
	assert_string_equal(t, "etc/motd");
	free(t);
	assert_int_equal(clr_whiteout_parse(".wh.a", &t), CLR_WHITEOUT_DELETE);
	assert_string_equal(t, "a");
	free(t);
	assert_int_equal(clr_whiteout_parse("a/b/.wh..wh..opq", &t),
			 CLR_WHITEOUT_OPAQUE);
	assert_string_equal(t, "a/b");
	free(t);
	assert_int_equal(clr_whiteout_parse(".wh..wh..opq", &t),
			 CLR_WHITEOUT_OPAQUE);
	assert_string_equal(t, "");
	free(t);
	assert_int_equal(clr_whiteout_parse("a/.wh..wh.plnk", &t),
			 CLR_WHITEOUT_RESERVED);
	assert_null(t);
	assert_int_equal(clr_whiteout_parse("a/x.wh.y", &t), CLR_WHITEOUT_NONE);
	assert_null(t);
	assert_int_equal(clr_whiteout_parse(".wh.x/y", NULL), CLR_WHITEOUT_NONE);
}

static void whiteouts_hide_lower_paths(void **state)
{
	static const struct ent e[] = {
		{ 'f', "etc/.wh.motd", "", 0 },
		{ 'f', "usr/.wh.games", "", 0 },
		{ 'f', "var/cache/.wh..wh..opq", "", 0 },
	};
	static const struct ent root_opaque[] = {
		{ 'f', ".wh..wh..opq", "", 0 },
	};
	struct bytes t = make_tar(e, N(e)), r = make_tar(root_opaque, 1);
	struct bytes none = { 0 };
	struct clr_layer_contents c, rc, empty;

	(void)state;
	assert_int_equal(read_bytes(&c, &t, NULL, NULL, NULL), 0);
	/* the deleted file itself */
	assert_true(clr_whiteout_hides(&c, "etc/motd"));
	assert_false(clr_whiteout_hides(&c, "etc/motd.d"));
	assert_false(clr_whiteout_hides(&c, "etc"));
	assert_false(clr_whiteout_hides(&c, "etc/passwd"));
	/* a deleted directory and everything below it */
	assert_true(clr_whiteout_hides(&c, "usr/games"));
	assert_true(clr_whiteout_hides(&c, "usr/games/fortune/data/x"));
	assert_false(clr_whiteout_hides(&c, "usr/gamesx"));
	assert_false(clr_whiteout_hides(&c, "usr"));
	/* an opaque directory hides its lower children, not itself */
	assert_false(clr_whiteout_hides(&c, "var/cache"));
	assert_true(clr_whiteout_hides(&c, "var/cache/apt"));
	assert_true(clr_whiteout_hides(&c, "var/cache/apt/pkgcache.bin"));
	assert_false(clr_whiteout_hides(&c, "var/cachex/y"));
	assert_false(clr_whiteout_hides(&c, "var"));
	assert_false(clr_whiteout_hides(&c, ""));
	/* the root made opaque hides everything below */
	assert_int_equal(read_bytes(&rc, &r, NULL, NULL, NULL), 0);
	assert_true(clr_whiteout_hides(&rc, "etc/passwd"));
	assert_true(clr_whiteout_hides(&rc, "bin"));
	/* a layer without whiteouts hides nothing */
	assert_int_equal(read_bytes(&empty, &none, NULL, NULL, NULL), 0);
	assert_false(clr_whiteout_hides(&empty, "etc/motd"));
	clr_layer_contents_release(&empty);
	clr_layer_contents_release(&c);
	clr_layer_contents_release(&rc);
	free(t.p);
	free(r.p);
}

/* --- digest ---------------------------------------------------------------- */

static void verifies_the_digest(void **state)
{
	struct bytes t = make_tar(debian, N(debian)), g = gzip_of(&t);
	struct clr_layer_contents c;
	char right[CLR_DIGEST_STRLEN + 1], wrong[CLR_DIGEST_STRLEN + 1];

	(void)state;
	digest_of(right, &g);
	assert_int_equal(read_bytes(&c, &g, right, &os_sel, NULL), 0);
	assert_string_equal(c.digest, right);
	assert_int_equal(c.compressed_bytes, g.len);
	assert_int_equal(c.uncompressed_bytes, t.len);
	clr_layer_contents_release(&c);

	/* NULL: no check, but the digest is still computed */
	assert_int_equal(read_bytes(&c, &g, NULL, &os_sel, NULL), 0);
	assert_string_equal(c.digest, right);
	clr_layer_contents_release(&c);

	/* the digest of the uncompressed tar (a diff_id) is not the blob's */
	digest_of(wrong, &t);
	assert_int_equal(read_bytes(&c, &g, wrong, &os_sel, NULL),
			 CLR_EINVALID);
	assert_non_null(strstr(clr_error_msg(), "digest mismatch: got sha256:"));
	assert_non_null(strstr(clr_error_msg(), wrong));
	assert_non_null(strstr(clr_error_msg(), right));

	assert_int_equal(read_bytes(&c, &g, "sha256:abc", &os_sel, NULL),
			 CLR_EINVALID);
	assert_int_equal(read_bytes(&c, &g, "md5:00", &os_sel, NULL),
			 CLR_EINVALID);
	free(t.p);
	free(g.p);
}

static void damage_with_a_digest_is_reported_as_a_mismatch(void **state)
{
	struct bytes t = make_tar(debian, N(debian)), g = gzip_of(&t);
	struct clr_layer_contents c;
	char right[CLR_DIGEST_STRLEN + 1];

	(void)state;
	digest_of(right, &g);
	g.p[g.len / 2] ^= 0x55; /* damaged in transit */
	assert_int_equal(read_bytes(&c, &g, right, &os_sel, NULL),
			 CLR_EINVALID);
	assert_non_null(strstr(clr_error_msg(), "digest mismatch"));
	assert_non_null(strstr(clr_error_msg(), "unreadable"));
	/* without a digest, the damage itself is the error */
	assert_int_equal(read_bytes(&c, &g, NULL, &os_sel, NULL), CLR_EINVALID);
	assert_null(strstr(clr_error_msg(), "digest mismatch"));
	assert_non_null(strstr(clr_error_msg(), "gzip"));
	free(t.p);
	free(g.p);
}

/* --- compression ------------------------------------------------------------ */

/* A tar with a kept file larger than every buffer, so that a file spans
 * many decoder outputs and gzip members. */
static struct bytes big_tar(char **blob, size_t *blen)
{
	size_t n = 3 * 1024 * 1024 + 12345;
	char *p = clr_malloc(n + 1);
	uint32_t x = 12345;
	struct ent e[4];

	/* Compressible but not trivial: words from a small alphabet. */
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245 + 12345;
		p[i] = (x >> 16) % 7 ? "etaoinshrdlu"[(x >> 8) % 12] : '\n';
	}
	p[n] = '\0';
	memcpy(e, debian + 4, 3 * sizeof(*e));
	e[3] = (struct ent){ 'f', "var/lib/rpm/rpmdb.sqlite", p, n };
	*blob = p;
	*blen = n;
	return make_tar(e, 4);
}

/* The same kept files and whiteouts; and, unless one is a directory, the
 * same counts (a tar's size counts headers, a directory's does not). */
static void same_result(const struct clr_layer_contents *a,
			const struct clr_layer_contents *b)
{
	assert_int_equal(a->entries, b->entries);
	if (a->compression != CLR_LAYER_DIR && b->compression != CLR_LAYER_DIR)
		assert_int_equal(a->uncompressed_bytes, b->uncompressed_bytes);
	assert_int_equal(a->skipped, b->skipped);
	assert_int_equal(a->files.len, b->files.len);
	assert_int_equal(a->whiteouts.len, b->whiteouts.len);
	for (size_t i = 0; i < a->files.len; i++) {
		const struct clr_layer_file *f = CLR_VEC_AT(&a->files,
					struct clr_layer_file, i);
		const struct clr_layer_file *g = clr_layer_contents_find(b,
								f->path);

		assert_non_null(g);
		assert_int_equal(f->kind, g->kind);
		assert_int_equal(f->len, g->len);
		if (f->len)
			assert_memory_equal(f->data, g->data, f->len);
		if (f->link)
			assert_string_equal(f->link, g->link);
	}
	for (size_t i = 0; i < a->whiteouts.len; i++) {
		const struct clr_layer_whiteout *w = CLR_VEC_AT(&a->whiteouts,
					struct clr_layer_whiteout, i);
		const struct clr_layer_whiteout *v = CLR_VEC_AT(&b->whiteouts,
					struct clr_layer_whiteout, i);

		assert_string_equal(w->path, v->path);
		assert_int_equal(w->opaque, v->opaque);
	}
}

static void every_compression_gives_the_same_result(void **state)
{
	char *blob;
	size_t blen;
	struct bytes t = big_tar(&blob, &blen), d = make_tar(debian, N(debian));
	struct clr_layer_select all = { want_all, NULL, 0 };
	struct clr_layer_limits isal = clr_layer_limits_default();
	struct clr_layer_limits zlib = clr_layer_limits_default();

	(void)state;
	zlib.inflater = CLR_LAYER_INFLATE_ZLIB;
	for (int which = 0; which < 2; which++) {
		const struct bytes *tar = which ? &d : &t;
		struct bytes forms[] = {
			gzip_of(tar), gzip_members(tar, 3), zstd_of(tar, 1),
			zstd_of(tar, 4),
		};
		static const enum clr_layer_compression kinds[] = {
			CLR_LAYER_GZIP, CLR_LAYER_GZIP, CLR_LAYER_ZSTD,
			CLR_LAYER_ZSTD,
		};
		struct clr_layer_contents plain, c;

		assert_int_equal(read_bytes(&plain, tar, NULL, &all, NULL), 0);
		assert_int_equal(plain.compression, CLR_LAYER_PLAIN);
		if (!which) {
			const struct clr_layer_file *f = clr_layer_contents_find(
				&plain, "var/lib/rpm/rpmdb.sqlite");

			assert_non_null(f);
			assert_int_equal(f->len, blen);
			assert_memory_equal(f->data, blob, blen);
		}
		for (size_t i = 0; i < N(forms); i++) {
			for (int z = 0; z < 2; z++) {
				char dg[CLR_DIGEST_STRLEN + 1];

				digest_of(dg, &forms[i]);
				assert_int_equal(read_bytes(&c, &forms[i], dg,
						&all, z ? &zlib : &isal), 0);
				assert_int_equal(c.compression, kinds[i]);
				assert_int_equal(c.compressed_bytes,
						 forms[i].len);
				same_result(&plain, &c);
				clr_layer_contents_release(&c);
			}
			free(forms[i].p);
		}
		clr_layer_contents_release(&plain);
	}
	free(blob);
	free(t.p);
	free(d.p);
}

static void gzip_header_fields_are_accepted(void **state)
{
	struct bytes t = make_tar(debian, N(debian)), g = { 0 };
	struct clr_layer_limits zlib = clr_layer_limits_default();
	struct clr_layer_contents c;

	(void)state;
	zlib.inflater = CLR_LAYER_INFLATE_ZLIB;
	gzip_to(&g, t.p, t.len, 9, true);
	assert_int_equal(read_bytes(&c, &g, NULL, &os_sel, NULL), 0);
	assert_file(&c, "var/lib/dpkg/status", CLR_LAYER_FILE, status, NULL);
	clr_layer_contents_release(&c);
	assert_int_equal(read_bytes(&c, &g, NULL, &os_sel, &zlib), 0);
	assert_file(&c, "var/lib/dpkg/status", CLR_LAYER_FILE, status, NULL);
	clr_layer_contents_release(&c);
	free(t.p);
	free(g.p);
}

/* A stream that hands out at most a few bytes per read, as a slow network
 * might, so sniffing and every decoder see ragged input. */
struct dribble {
	struct clr_stream base;
	const unsigned char *p;
	size_t left, step;
};

static ssize_t dribble_read(struct clr_stream *s, void *buf, size_t n)
{
	struct dribble *d = (struct dribble *)s;
	size_t k = 1 + d->step++ % 7;

	if (k > n)
		k = n;
	if (k > d->left)
		k = d->left;
	memcpy(buf, d->p, k);
	d->p += k;
	d->left -= k;
	return (ssize_t)k;
}

static void dribble_close(struct clr_stream *s)
{
	(void)s;
}

static void ragged_reads_give_the_same_result(void **state)
{
	struct bytes t = make_tar(debian, N(debian));
	struct bytes forms[] = { t, gzip_members(&t, 2), zstd_of(&t, 2) };
	struct clr_layer_limits lims[2];
	struct clr_layer_contents plain, c;

	(void)state;
	lims[0] = lims[1] = clr_layer_limits_default();
	lims[1].inflater = CLR_LAYER_INFLATE_ZLIB;
	assert_int_equal(read_bytes(&plain, &t, NULL, &os_sel, NULL), 0);
	for (size_t i = 0; i < N(forms); i++) {
		for (int z = 0; z < 2; z++) {
			struct dribble s = { { dribble_read, dribble_close },
					     forms[i].p, forms[i].len, 0 };

			int err = clr_layer_read(&c, &s.base, NULL, &os_sel,
						 &lims[z]);

			if (err)
				fprintf(stderr, "form %zu/%d: %s\n", i, z,
					clr_error_msg());
			assert_int_equal(err, 0);
			same_result(&plain, &c);
			clr_layer_contents_release(&c);
		}
	}
	clr_layer_contents_release(&plain);
	free(forms[1].p);
	free(forms[2].p);
	free(t.p);
}

static void empty_layers_are_fine(void **state)
{
	static const unsigned char zeros[1024];
	struct bytes none = { 0 }, z = { (unsigned char *)zeros, 1024, 0 };
	struct bytes gz = gzip_of(&z);
	struct clr_layer_contents c;

	(void)state;
	assert_int_equal(read_bytes(&c, &none, NULL, &os_sel, NULL), 0);
	assert_string_equal(c.digest, "sha256:e3b0c44298fc1c149afbf4c8996fb924"
			    "27ae41e4649b934ca495991b7852b855");
	assert_int_equal(c.entries, 0);
	clr_layer_contents_release(&c);
	/* Docker's famous empty layer: gzip of two zero blocks. */
	assert_int_equal(read_bytes(&c, &gz, NULL, &os_sel, NULL), 0);
	assert_int_equal(c.entries, 0);
	assert_int_equal(c.uncompressed_bytes, 1024);
	clr_layer_contents_release(&c);
	free(gz.p);
}

/* --- damage ------------------------------------------------------------------ */

static void truncated_or_corrupt_data_fails_whole(void **state)
{
	char *blob;
	size_t blen;
	struct bytes t = big_tar(&blob, &blen);
	struct bytes g = gzip_of(&t), m = gzip_members(&t, 3), z = zstd_of(&t, 2);
	struct clr_layer_limits lims[2];
	struct clr_layer_contents c;
	struct clr_layer_select all = { want_all, NULL, 0 };

	(void)state;
	lims[0] = lims[1] = clr_layer_limits_default();
	lims[1].inflater = CLR_LAYER_INFLATE_ZLIB;
	for (int k = 0; k < 2; k++) {
		const struct clr_layer_limits *l = &lims[k];
		const struct bytes *gz[] = { &g, &m };

		for (size_t j = 0; j < 2; j++) {
			struct bytes cut = *gz[j];
			static const size_t keep[] = { 1, 2, 10, 100, 5000 };

			/* truncated anywhere, including inside the trailer */
			for (size_t i = 0; i < N(keep); i++) {
				cut.len = gz[j]->len - keep[i];
				assert_int_equal(read_bytes(&c, &cut, NULL, &all, l),
						 CLR_EINVALID);
				assert_non_null(strstr(clr_error_msg(), "gzip"));
			}
			cut.len = gz[j]->len / 2;
			assert_int_equal(read_bytes(&c, &cut, NULL, &all, l),
					 CLR_EINVALID);
			cut.len = 20;
			assert_int_equal(read_bytes(&c, &cut, NULL, &all, l),
					 CLR_EINVALID);
		}
		/* a flipped byte: bad deflate data or a CRC mismatch */
		for (size_t off = 100; off < g.len; off += g.len / 5) {
			g.p[off] ^= 0x10;
			assert_int_equal(read_bytes(&c, &g, NULL, &all, l),
					 CLR_EINVALID);
			g.p[off] ^= 0x10;
		}
		/* the CRC of the last member */
		g.p[g.len - 6] ^= 1;
		assert_int_equal(read_bytes(&c, &g, NULL, &all, l), CLR_EINVALID);
		g.p[g.len - 6] ^= 1;
		/* garbage after the last member */
		bytes_add(&g, "JUNK", 4);
		assert_int_equal(read_bytes(&c, &g, NULL, &all, l), CLR_EINVALID);
		assert_non_null(strstr(clr_error_msg(), "after the end"));
		g.len -= 4;
		assert_int_equal(read_bytes(&c, &g, NULL, &all, l), 0);
		clr_layer_contents_release(&c);
		/* zero padding after it is fine (gzip(1) ignores it, and
		 * libarchive's writer adds it by default), but only zeros */
		{
			static const char pad[300000];
			char dg[CLR_DIGEST_STRLEN + 1];

			bytes_add(&g, pad, sizeof(pad));
			digest_of(dg, &g);
			assert_int_equal(read_bytes(&c, &g, dg, &all, l), 0);
			assert_int_equal(c.compressed_bytes, g.len);
			clr_layer_contents_release(&c);
			g.p[g.len - 1] = 1;
			assert_int_equal(read_bytes(&c, &g, NULL, &all, l),
					 CLR_EINVALID);
			g.len -= sizeof(pad);
		}
	}
	{
		struct bytes cut = z;

		cut.len = z.len - 3;
		assert_int_equal(read_bytes(&c, &cut, NULL, &all, NULL),
				 CLR_EINVALID);
		assert_non_null(strstr(clr_error_msg(), "zstd"));
		cut.len = z.len / 2;
		assert_int_equal(read_bytes(&c, &cut, NULL, &all, NULL),
				 CLR_EINVALID);
		z.p[z.len / 3] ^= 0xff;
		assert_int_equal(read_bytes(&c, &z, NULL, &all, NULL),
				 CLR_EINVALID);
	}
	{
		/* a plain tar cut inside a file, and one with a bad header */
		struct bytes cut = t;

		cut.len = t.len / 2;
		assert_int_equal(read_bytes(&c, &cut, NULL, &all, NULL),
				 CLR_EINVALID);
		assert_non_null(strstr(clr_error_msg(), "tar"));
		/* a header checksum digit: of the first header, and of the
		 * second (after the 512-byte data of the first) */
		t.p[148] ^= 0x7;
		assert_int_equal(read_bytes(&c, &t, NULL, &all, NULL),
				 CLR_EINVALID);
		t.p[148] ^= 0x7;
		t.p[1024 + 148] ^= 0x7;
		assert_int_equal(read_bytes(&c, &t, NULL, &all, NULL),
				 CLR_EINVALID);
		assert_non_null(strstr(clr_error_msg(), "corrupt tar"));
		t.p[1024 + 148] ^= 0x7;
		assert_int_equal(read_bytes(&c, &t, NULL, &all, NULL), 0);
		clr_layer_contents_release(&c);
	}
	free(blob);
	free(t.p);
	free(g.p);
	free(m.p);
	free(z.p);
}

static void other_compressions_are_refused_clearly(void **state)
{
	struct bytes bz = { (unsigned char *)"BZh91AY&SY\x01\x02", 12, 0 };
	struct bytes xz = { (unsigned char *)"\xfd" "7zXZ\0\0\x04", 8, 0 };
	struct bytes junk = { (unsigned char *)"hello, not a tar at all", 23, 0 };
	struct clr_layer_contents c;

	(void)state;
	assert_int_equal(read_bytes(&c, &bz, NULL, NULL, NULL),
			 CLR_EUNSUPPORTED);
	assert_non_null(strstr(clr_error_msg(), "bzip2"));
	assert_int_equal(read_bytes(&c, &xz, NULL, NULL, NULL),
			 CLR_EUNSUPPORTED);
	assert_int_equal(read_bytes(&c, &junk, NULL, NULL, NULL), CLR_EINVALID);
}

struct failing {
	struct clr_stream base;
	const unsigned char *p;
	size_t left;
};

static ssize_t failing_read(struct clr_stream *s, void *buf, size_t n)
{
	struct failing *f = (struct failing *)s;

	if (!f->left)
		return clr_error_set(CLR_EIO, "connection reset by peer");
	if (n > f->left)
		n = f->left;
	if (n > 1000)
		n = 1000;
	memcpy(buf, f->p, n);
	f->p += n;
	f->left -= n;
	return (ssize_t)n;
}

static void stream_errors_pass_through(void **state)
{
	struct bytes t = make_tar(debian, N(debian)), g = gzip_of(&t);
	struct failing f = { { failing_read, dribble_close }, g.p, g.len / 2 };
	struct clr_layer_contents c;
	char dg[CLR_DIGEST_STRLEN + 1];

	(void)state;
	digest_of(dg, &g);
	assert_int_equal(clr_layer_read(&c, &f.base, dg, &os_sel, NULL),
			 CLR_EIO);
	assert_non_null(strstr(clr_error_msg(), "connection reset"));
	assert_non_null(strstr(clr_error_msg(), dg));
	assert_int_equal(c.files.len, 0);
	free(t.p);
	free(g.p);
}

/* --- limits ------------------------------------------------------------------- */

/* A gzip'd tar holding one 1 GiB file of zeros, compressed as it is read
 * (at most 16 KiB per read), so that the test neither stores nor
 * compresses a gigabyte: the reader must give up long before. */
struct bomb {
	struct clr_stream base;
	z_stream z;
	unsigned char hdr[512];
	uint64_t fed;      /* tar bytes given to deflate */
	uint64_t tar_len;  /* header + 1 GiB + end blocks */
	bool done;
};

static void ustar_header(unsigned char h[512], const char *name, uint64_t size)
{
	unsigned sum = 0;

	memset(h, 0, 512);
	strcpy((char *)h, name);
	memcpy(h + 100, "0000644", 8);
	memcpy(h + 108, "0000000", 8);
	memcpy(h + 116, "0000000", 8);
	snprintf((char *)h + 124, 12, "%011llo", (unsigned long long)size);
	memcpy(h + 136, "14533573000", 12);
	h[156] = '0';
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	memset(h + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
}

static ssize_t bomb_read(struct clr_stream *s, void *buf, size_t n)
{
	static const unsigned char zeros[65536];
	struct bomb *b = (struct bomb *)s;

	if (n > 16384)
		n = 16384;
	b->z.next_out = buf;
	b->z.avail_out = (uInt)n;
	while (b->z.avail_out && !b->done) {
		int ret;

		if (!b->z.avail_in && b->fed < b->tar_len) {
			uint64_t left = b->tar_len - b->fed;

			if (b->fed == 0) {
				b->z.next_in = b->hdr;
				b->z.avail_in = 512;
			} else {
				b->z.next_in = (Bytef *)zeros;
				b->z.avail_in = left < sizeof(zeros)
					? (uInt)left : sizeof(zeros);
			}
			b->fed += b->z.avail_in;
		}
		ret = deflate(&b->z, b->fed == b->tar_len ? Z_FINISH
						       : Z_NO_FLUSH);
		assert_true(ret == Z_OK || ret == Z_STREAM_END ||
			    ret == Z_BUF_ERROR);
		if (ret == Z_STREAM_END)
			b->done = true;
	}
	return (ssize_t)(n - b->z.avail_out);
}

static void bomb_close(struct clr_stream *s)
{
	deflateEnd(&((struct bomb *)s)->z);
}

static void bomb_open(struct bomb *b, const char *name)
{
	memset(b, 0, sizeof(*b));
	b->base.read = bomb_read;
	b->base.close = bomb_close;
	ustar_header(b->hdr, name, 1ull << 30);
	b->tar_len = 512 + (1ull << 30) + 1024;
	assert_int_equal(deflateInit2(&b->z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8,
				      Z_DEFAULT_STRATEGY), Z_OK);
}

static void a_tar_bomb_hits_the_ratio_limit(void **state)
{
	struct clr_layer_limits lim = clr_layer_limits_default();
	struct clr_layer_contents c;
	struct bomb b;

	(void)state;
	lim.ratio_after = 8 << 20;
	lim.max_ratio = 100;
	bomb_open(&b, "zeros");
	assert_int_equal(clr_layer_read(&c, &b.base, NULL, &os_sel, &lim),
			 CLR_ELIMIT);
	assert_non_null(strstr(clr_error_msg(), "bomb"));
	assert_int_equal(c.files.len, 0);
	/* it stopped early: far less than the gigabyte was ever made */
	assert_true(b.fed < (64u << 20));
	bomb_close(&b.base);

	/* the limit on the tar's size stops it too */
	lim = clr_layer_limits_default();
	lim.max_uncompressed = 4 << 20;
	bomb_open(&b, "zeros");
	assert_int_equal(clr_layer_read(&c, &b.base, NULL, &os_sel, &lim),
			 CLR_ELIMIT);
	assert_non_null(strstr(clr_error_msg(), "decompresses to more than"));
	bomb_close(&b.base);

	/* and a wanted 1 GiB file is refused by its header, at once */
	bomb_open(&b, "var/lib/dpkg/status");
	assert_int_equal(clr_layer_read(&c, &b.base, NULL, &os_sel, NULL),
			 CLR_ELIMIT);
	assert_non_null(strstr(clr_error_msg(), "var/lib/dpkg/status"));
	assert_true(b.z.total_out < (64u << 10));
	bomb_close(&b.base);
}

static void an_oversized_kept_file_is_an_error_naming_it(void **state)
{
	static char big[5000];
	struct ent e[] = {
		{ 'f', "var/lib/dpkg/status", big, sizeof(big) },
		{ 'f', "usr/share/big-but-unwanted", big, sizeof(big) },
	};
	struct bytes t;
	struct clr_layer_select sel = os_sel;
	struct clr_layer_limits lim = clr_layer_limits_default();
	struct clr_layer_contents c;

	(void)state;
	memset(big, 'x', sizeof(big));
	t = make_tar(e, N(e));
	sel.max_size = 4096;
	assert_int_equal(read_bytes(&c, &t, NULL, &sel, NULL), CLR_ELIMIT);
	assert_non_null(strstr(clr_error_msg(), "var/lib/dpkg/status"));
	/* the limits' cap applies when it is the smaller one */
	sel.max_size = 1 << 20;
	lim.max_file = 4999;
	assert_int_equal(read_bytes(&c, &t, NULL, &sel, &lim), CLR_ELIMIT);
	lim.max_file = 5000;
	assert_int_equal(read_bytes(&c, &t, NULL, &sel, &lim), 0);
	assert_int_equal(clr_layer_contents_find(&c, "var/lib/dpkg/status")->len,
			 5000);
	clr_layer_contents_release(&c);
	/* all kept files together */
	lim.max_kept = 4000;
	assert_int_equal(read_bytes(&c, &t, NULL, &sel, &lim), CLR_ELIMIT);
	free(t.p);
}

static void count_and_name_limits(void **state)
{
	struct bytes t = make_tar(debian, N(debian));
	struct clr_layer_limits lim = clr_layer_limits_default();
	struct clr_layer_contents c;

	(void)state;
	lim.max_entries = N(debian) - 1;
	assert_int_equal(read_bytes(&c, &t, NULL, &os_sel, &lim), CLR_ELIMIT);
	assert_non_null(strstr(clr_error_msg(), "entries"));
	lim = clr_layer_limits_default();
	lim.max_path = 20;
	assert_int_equal(read_bytes(&c, &t, NULL, &os_sel, &lim), CLR_ELIMIT);
	lim = clr_layer_limits_default();
	lim.max_compressed = t.len - 1;
	assert_int_equal(read_bytes(&c, &t, NULL, &os_sel, &lim), CLR_ELIMIT);
	lim.max_compressed = t.len;
	assert_int_equal(read_bytes(&c, &t, NULL, &os_sel, &lim), 0);
	clr_layer_contents_release(&c);
	free(t.p);
}

/* --- dir: ---------------------------------------------------------------------- */

static void put(const char *dir, const char *rel, const char *data)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(data, f);
	fclose(f);
}

static void sh(const char *fmt, const char *a, const char *b)
{
	char cmd[4096];

	snprintf(cmd, sizeof(cmd), fmt, a, b);
	assert_int_equal(system(cmd), 0);
}

static void a_directory_reads_like_its_tar(void **state)
{
	char dir[] = "/tmp/clarion-layer-XXXXXX", tarpath[64], root[64];
	static const char *const paths[] = {
		"etc/os-release", "usr/lib/os-release", "var/lib/dpkg/status",
		"etc/escape", "lnkdir/passwd", "etc/.wh.gone", NULL,
	};
	struct clr_layer_select sel = { clr_layer_want_list, (void *)paths, 0 };
	struct clr_layer_contents fromtar, fromdir;
	struct clr_stream *s;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(root, sizeof(root), "%s/root", dir);
	snprintf(tarpath, sizeof(tarpath), "%s/layer.tar.gz", dir);
	assert_int_equal(mkdir(root, 0755), 0);
	sh("mkdir -p %s/etc %s/usr/lib", root, root);
	sh("mkdir -p %s/var/lib/dpkg %s/var/cache/apt", root, root);
	put(root, "usr/lib/os-release", "ID=debian\n");
	put(root, "var/lib/dpkg/status", status);
	put(root, "var/cache/apt/.wh..wh..opq", "");
	put(root, "etc/.wh.gone", "");
	put(root, "etc/passwd", "root:x:0:0::/root:/bin/sh\n");
	sh("ln -s ../usr/lib/os-release %s/etc/os-release && ln -s /etc %s/lnkdir",
	   root, root);
	sh("ln -s /etc/passwd %s/etc/escape%s", root, "");
	sh("tar -C %s -czf %s .", root, tarpath);

	assert_int_equal(clr_stream_from_file(&s, tarpath), 0);
	assert_int_equal(clr_layer_read(&fromtar, s, NULL, &sel, NULL), 0);
	clr_stream_close(s);
	assert_int_equal(clr_layer_read_dir(&fromdir, root, &sel, NULL), 0);

	assert_string_equal(fromdir.digest, "");
	assert_int_equal(fromdir.compression, CLR_LAYER_DIR);
	assert_int_equal(fromtar.files.len, 4);
	same_result(&fromtar, &fromdir);
	/* symlinks are recorded, never followed, not even into the root */
	assert_file(&fromdir, "etc/escape", CLR_LAYER_SYMLINK, NULL,
		    "/etc/passwd");
	assert_file(&fromdir, "etc/os-release", CLR_LAYER_SYMLINK, NULL,
		    "../usr/lib/os-release");
	assert_null(clr_layer_contents_find(&fromdir, "lnkdir/passwd"));
	assert_file(&fromdir, "var/lib/dpkg/status", CLR_LAYER_FILE, status,
		    NULL);
	assert_true(clr_whiteout_hides(&fromdir, "etc/gone"));
	assert_true(clr_whiteout_hides(&fromdir, "var/cache/apt/x"));
	clr_layer_contents_release(&fromtar);
	clr_layer_contents_release(&fromdir);

	/* a missing root, and a kept file over the cap */
	assert_int_equal(clr_layer_read_dir(&fromdir, "/nonexistent/clarion",
					    &sel, NULL), CLR_ENOTFOUND);
	sel.max_size = 10;
	assert_int_equal(clr_layer_read_dir(&fromdir, root, &sel, NULL),
			 CLR_ELIMIT);
	assert_non_null(strstr(clr_error_msg(), "var/lib/dpkg/status"));
	assert_int_equal(fromdir.files.len, 0);
	sh("rm -rf %s%s", dir, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(keeps_selected_files_with_exact_bytes),
		cmocka_unit_test(records_symlinks_and_hardlinks),
		cmocka_unit_test(keeps_nothing_without_a_predicate),
		cmocka_unit_test(later_entries_replace_earlier_ones),
		cmocka_unit_test(normalises_paths),
		cmocka_unit_test(hostile_names_are_harmless),
		cmocka_unit_test(long_and_unusual_names_survive),
		cmocka_unit_test(records_whiteouts),
		cmocka_unit_test(parses_whiteout_names),
		cmocka_unit_test(whiteouts_hide_lower_paths),
		cmocka_unit_test(verifies_the_digest),
		cmocka_unit_test(damage_with_a_digest_is_reported_as_a_mismatch),
		cmocka_unit_test(every_compression_gives_the_same_result),
		cmocka_unit_test(gzip_header_fields_are_accepted),
		cmocka_unit_test(ragged_reads_give_the_same_result),
		cmocka_unit_test(empty_layers_are_fine),
		cmocka_unit_test(truncated_or_corrupt_data_fails_whole),
		cmocka_unit_test(other_compressions_are_refused_clearly),
		cmocka_unit_test(stream_errors_pass_through),
		cmocka_unit_test(a_tar_bomb_hits_the_ratio_limit),
		cmocka_unit_test(an_oversized_kept_file_is_an_error_naming_it),
		cmocka_unit_test(count_and_name_limits),
		cmocka_unit_test(a_directory_reads_like_its_tar),
	};

	return cmocka_run_group_tests_name("layer", tests, NULL, NULL);
}
