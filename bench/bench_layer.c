/*
 * bench_layer.c - the layer reader against plain zlib inflate.
 *
 * DESIGN.md §7 asks that indexing a gzip layer take at most 0.75x the time
 * of merely inflating it with zlib.  This measures, on one layer blob:
 *
 *   (a) zlib inflate() of the blob, output discarded  (the reference)
 *   (b) clr_layer_read(): SHA-256 + ISA-L inflate + libarchive tar walk,
 *       keeping var/lib/dpkg/status, digest checked
 *   (c) the same with the zlib inflater
 *
 * each in a fresh process (so that peak RSS is that measurement's own),
 * best of three, and prints MB/s, the time ratios and peak RSS.  The blob
 * is argv[1], or a ~100 MB gzip layer generated once from /usr/share and
 * /usr/lib (text, binaries, symlinks: what base layers hold) and kept in
 * /tmp.  A benchmark prints; it never fails for being slow.
 *
 *     build/bench/bench_layer [LAYER.tar.gz]
 */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "layer/reader.h"
#include "util/error.h"
#include "util/sha256.h"
#include "util/stream.h"

#define DEFAULT_LAYER "/tmp/clarion-bench-layer.tar.gz"
#define TARGET_BYTES (100ull * 1000 * 1000) /* compressed */
#define RUNS 3

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long peak_rss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* --- generating a layer ---------------------------------------------------- */

static struct archive *gen;
static unsigned long long gen_out;
static int gen_fd = -1;

static la_ssize_t gen_write(struct archive *a, void *arg, const void *p,
			    size_t n)
{
	(void)a;
	(void)arg;
	if (write(gen_fd, p, n) != (ssize_t)n)
		return -1;
	gen_out += n;
	return (la_ssize_t)n;
}

static void gen_add(const char *name, const struct stat *st,
		    const char *link, const void *data, size_t len)
{
	struct archive_entry *e = archive_entry_new();

	archive_entry_copy_stat(e, st);
	archive_entry_copy_pathname(e, name);
	if (link)
		archive_entry_copy_symlink(e, link);
	if (!S_ISREG(st->st_mode))
		archive_entry_set_size(e, 0);
	else
		archive_entry_set_size(e, (la_int64_t)len);
	if (archive_write_header(gen, e) >= ARCHIVE_WARN && len)
		archive_write_data(gen, data, len);
	archive_entry_free(e);
}

static int gen_visit(const char *path, const struct stat *st, int type,
		     struct FTW *ftw)
{
	(void)ftw;
	if (gen_out >= TARGET_BYTES)
		return 1; /* stop the walk */
	if (type == FTW_D) {
		gen_add(path + 1, st, NULL, NULL, 0);
	} else if (type == FTW_SL) {
		char buf[4096];
		ssize_t n = readlink(path, buf, sizeof(buf) - 1);

		if (n > 0) {
			buf[n] = '\0';
			gen_add(path + 1, st, buf, NULL, 0);
		}
	} else if (type == FTW_F && S_ISREG(st->st_mode) &&
		   st->st_size < (64 << 20)) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		char *data;
		ssize_t n;

		if (fd < 0)
			return 0;
		data = malloc((size_t)st->st_size + 1);
		n = data ? read(fd, data, (size_t)st->st_size) : -1;
		close(fd);
		if (n == st->st_size)
			gen_add(path + 1, st, NULL, data, (size_t)n);
		free(data);
	}
	return 0;
}

static int generate(const char *path)
{
	static const char status[] =
		"Package: bash\nStatus: install ok installed\nVersion: 5.2.15-2\n\n";
	struct stat st;
	char tmp[256];

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	gen_fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (gen_fd < 0) {
		perror(tmp);
		return -1;
	}
	printf("generating %s (~%llu MB of gzip from /usr/share, /usr/lib)...\n",
	       path, TARGET_BYTES / 1000000);
	fflush(stdout);
	gen = archive_write_new();
	archive_write_add_filter_gzip(gen); /* zlib, level 6: as docker */
	archive_write_set_format_pax_restricted(gen);
	archive_write_set_bytes_per_block(gen, 65536);
	archive_write_set_bytes_in_last_block(gen, 1); /* no zero padding */
	archive_write_open2(gen, NULL, NULL, gen_write, NULL, NULL);
	memset(&st, 0, sizeof(st));
	st.st_mode = S_IFREG | 0644;
	st.st_mtime = 1700000000;
	gen_add("var/lib/dpkg/status", &st, NULL, status, strlen(status));
	nftw("/usr/share", gen_visit, 64, FTW_PHYS);
	nftw("/usr/lib", gen_visit, 64, FTW_PHYS);
	archive_write_close(gen);
	archive_write_free(gen);
	close(gen_fd);
	if (rename(tmp, path)) {
		perror(path);
		return -1;
	}
	return 0;
}

/* --- measurements (each run in a child process) --------------------------- */

/* (a): the reference, zlib inflate with buffers the size of the reader's. */
static int run_zlib(const char *path, double *secs, unsigned long long *out)
{
	static unsigned char in[256 * 1024], buf[1024 * 1024];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	z_stream z;
	double t0 = now();
	int ret = Z_OK;

	if (fd < 0)
		return -1;
	memset(&z, 0, sizeof(z));
	inflateInit2(&z, 16 + MAX_WBITS);
	*out = 0;
	for (;;) {
		ssize_t n = read(fd, in, sizeof(in));

		if (n <= 0)
			break;
		z.next_in = in;
		z.avail_in = (uInt)n;
		while (z.avail_in) {
			z.next_out = buf;
			z.avail_out = sizeof(buf);
			ret = inflate(&z, Z_NO_FLUSH);
			*out += sizeof(buf) - z.avail_out;
			if (ret == Z_STREAM_END) {
				if (!z.avail_in || !*z.next_in)
					break; /* the end, or zero padding */
				inflateReset(&z);
			} else if (ret != Z_OK) {
				fprintf(stderr, "zlib: %s\n", z.msg ? z.msg : "?");
				close(fd);
				return -1;
			}
		}
	}
	inflateEnd(&z);
	close(fd);
	*secs = now() - t0;
	return 0;
}

static int run_reader(const char *path, const char *digest,
		      enum clr_layer_inflater inflater, double *secs,
		      unsigned long long *out, int *found)
{
	static const char *const paths[] = { "var/lib/dpkg/status", NULL };
	struct clr_layer_select sel = { clr_layer_want_list, (void *)paths, 0 };
	struct clr_layer_limits lim = clr_layer_limits_default();
	struct clr_layer_contents c;
	struct clr_stream *s;
	double t0 = now();
	int err;

	lim.inflater = inflater;
	if (clr_stream_from_file(&s, path))
		return -1;
	err = clr_layer_read(&c, s, digest, &sel, &lim);
	clr_stream_close(s);
	*secs = now() - t0;
	if (err) {
		fprintf(stderr, "clr_layer_read: %s\n", clr_error_msg());
		return -1;
	}
	*found = clr_layer_contents_find(&c, "var/lib/dpkg/status") != NULL;
	*out = c.uncompressed_bytes;
	clr_layer_contents_release(&c);
	return 0;
}

/* Child mode: "--one MODE PATH DIGEST" prints "secs bytes rss_kib found". */
static int one(const char *mode, const char *path, const char *digest)
{
	double secs = 0;
	unsigned long long out = 0;
	int err, found = 1;

	if (!strcmp(mode, "zlib-inflate"))
		err = run_zlib(path, &secs, &out);
	else
		err = run_reader(path, digest, strcmp(mode, "reader-zlib")
				 ? CLR_LAYER_INFLATE_ISAL : CLR_LAYER_INFLATE_ZLIB,
				 &secs, &out, &found);
	if (err)
		return 1;
	printf("%.6f %llu %ld %d\n", secs, out, peak_rss_kib(), found);
	return 0;
}

struct result {
	double secs;               /* best of RUNS */
	unsigned long long bytes;  /* uncompressed */
	long rss;                  /* KiB, largest seen */
	int ok;
	int found;                 /* the reader found var/lib/dpkg/status */
};

static struct result measure(const char *self, const char *mode,
			     const char *path, const char *digest)
{
	struct result r = { 1e30, 0, 0, 0, 1 };

	for (int i = 0; i < RUNS; i++) {
		char cmd[1024], line[256];
		FILE *p;
		double s;
		unsigned long long b;
		long rss;
		int found = 1;

		snprintf(cmd, sizeof(cmd), "'%s' --one %s '%s' %s", self, mode,
			 path, digest);
		if (!(p = popen(cmd, "r")))
			break;
		if (fgets(line, sizeof(line), p) &&
		    sscanf(line, "%lf %llu %ld %d", &s, &b, &rss, &found) == 4) {
			r.ok = 1;
			r.found = found;
			if (s < r.secs)
				r.secs = s;
			r.bytes = b;
			if (rss > r.rss)
				r.rss = rss;
		}
		pclose(p);
	}
	return r;
}

static int file_digest(const char *path, char out[CLR_DIGEST_STRLEN + 1],
		       unsigned long long *size)
{
	static unsigned char buf[1 << 20];
	struct clr_sha256 h;
	uint8_t d[CLR_SHA256_LEN];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0 || clr_sha256_init(&h))
		return -1;
	*size = 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		clr_sha256_update(&h, buf, (size_t)n);
		*size += (unsigned long long)n;
	}
	close(fd);
	if (clr_sha256_final(&h, d))
		return -1;
	clr_digest_format(out, d);
	return 0;
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : DEFAULT_LAYER;
	char digest[CLR_DIGEST_STRLEN + 1];
	unsigned long long size;
	struct result a, b, c;

	if (argc == 5 && !strcmp(argv[1], "--one"))
		return one(argv[2], argv[3], argv[4]);
	if (argc <= 1 && access(path, R_OK) && generate(path))
		return 0;
	if (file_digest(path, digest, &size)) {
		fprintf(stderr, "%s: cannot read\n", path);
		return 0;
	}
	printf("layer %s: %.1f MB, %s\n", path, (double)size / 1e6, digest);
	fflush(stdout);
	a = measure(argv[0], "zlib-inflate", path, digest);
	b = measure(argv[0], "reader-isal", path, digest);
	c = measure(argv[0], "reader-zlib", path, digest);
	if (!a.ok || !b.ok || !c.ok) {
		printf("a measurement failed (see above)\n");
		return 0;
	}
	printf("  %-46s %7.3f s %7.1f MB/s in %7.1f MB/s out  rss %6.1f MiB\n",
	       "(a) zlib inflate (reference)", a.secs, size / a.secs / 1e6,
	       a.bytes / a.secs / 1e6, a.rss / 1024.0);
	printf("  %-46s %7.3f s %7.1f MB/s in %7.1f MB/s out  rss %6.1f MiB\n",
	       "(b) clr_layer_read, ISA-L (sha256+inflate+tar)", b.secs,
	       size / b.secs / 1e6, b.bytes / b.secs / 1e6, b.rss / 1024.0);
	printf("  %-46s %7.3f s %7.1f MB/s in %7.1f MB/s out  rss %6.1f MiB\n",
	       "(c) clr_layer_read, zlib", c.secs, size / c.secs / 1e6,
	       c.bytes / c.secs / 1e6, c.rss / 1024.0);
	printf("  time (b)/(a) = %.2fx (target <= 0.75x)   (c)/(a) = %.2fx\n",
	       b.secs / a.secs, c.secs / a.secs);
	if (!b.found)
		printf("  (this layer has no var/lib/dpkg/status: nothing kept)\n");
	return 0;
}
