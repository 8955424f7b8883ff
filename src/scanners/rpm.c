/*
 * rpm.c - the RPM package scanner: the rpm database of RHEL-like images.
 *
 * rpm has stored its database in three formats: Berkeley DB ("Packages",
 * RHEL/CentOS 7 and 8, Amazon Linux 2), SQLite ("rpmdb.sqlite", RHEL 9,
 * Fedora 33+) and SUSE's ndb ("Packages.db").  Each record is an rpm header,
 * a binary format of its own.  Rather than write and fuzz readers for all of
 * that, we ask librpm, which reads what rpm wrote by definition: Debian's
 * build has the sqlite and read-only bdb backends, but no ndb, and asked for
 * one it silently falls back to an empty "dummy" database, so ndb is refused
 * up front with CLR_EUNSUPPORTED instead of being reported as zero packages.
 *
 * librpm only opens databases by directory, so this is the one scanner that
 * writes to disk, against the rule that layers are read in memory: the
 * database bytes (and the sqlite write-ahead log, which may hold the last
 * transactions) go into a private mkdtemp() directory, mode 0700, files
 * 0600, which is removed before we return, whatever happens.  The -shm file
 * is not even asked for: it is only an index of the log, which sqlite
 * rebuilds, and a stale one from an image could only mislead.
 *
 * librpm has process-wide state (macros, the log callback), so all of its
 * use is serialised under one mutex, and rpmReadConfigFiles() runs once.
 * Every message librpm logs during a read is captured instead of printed;
 * an error among them fails the whole database, because librpm's reaction
 * to a damaged header is to log and skip it, which would be a silent
 * partial list.  A sqlite database is first checked with sqlite itself
 * (PRAGMA quick_check): that names the damage better than librpm does, and
 * librpm 4.18 leaks its sqlite connection when opening a damaged file fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>

#include <rpm/header.h>
#include <rpm/rpmdb.h>
#include <rpm/rpmlib.h>
#include <rpm/rpmlog.h>
#include <rpm/rpmmacro.h>
#include <rpm/rpmtag.h>
#include <rpm/rpmts.h>
#include <sqlite3.h>

#include "scanners/scanner.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/log.h"

/* Where images keep the database: the classic place, and the one Fedora
 * and SUSE moved to (often with the first a symlink to the second). */
static const char *const rpm_dirs[] = {
	"var/lib/rpm",
	"usr/lib/sysimage/rpm",
};

enum rpmdb_format { FMT_SQLITE, FMT_BDB, FMT_NDB };

static const struct {
	const char *file;
	enum rpmdb_format format;
	const char *backend; /* librpm's _db_backend */
} rpm_files[] = {
	{ "Packages.db", FMT_NDB, NULL },
	{ "rpmdb.sqlite", FMT_SQLITE, "sqlite" },
	{ "Packages", FMT_BDB, "bdb_ro" },
};

/* Longest librpm message kept for an error. */
#define RPM_MSG_MAX 512

static pthread_mutex_t rpm_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t rpm_once = PTHREAD_ONCE_INIT;
static int rpm_config_err;

static bool rpm_want(const char *path)
{
	path = clr_scan_path_strip(path);
	for (size_t d = 0; d < sizeof(rpm_dirs) / sizeof(rpm_dirs[0]); d++) {
		size_t dl = strlen(rpm_dirs[d]);
		const char *name;

		if (strncmp(path, rpm_dirs[d], dl) || path[dl] != '/')
			continue;
		name = path + dl + 1;
		/* Not -shm: see the top of this file. */
		if (!strcmp(name, "rpmdb.sqlite-wal"))
			return true;
		for (size_t i = 0; i < sizeof(rpm_files) / sizeof(rpm_files[0]);
		     i++)
			if (!strcmp(name, rpm_files[i].file))
				return true;
	}
	return false;
}

static uint32_t get32(const unsigned char *p, bool big_endian)
{
	if (big_endian)
		return (uint32_t)p[3] | (uint32_t)p[2] << 8 |
		       (uint32_t)p[1] << 16 | (uint32_t)p[0] << 24;
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/*
 * Checks that the file starts as its format does, and for Berkeley DB that
 * it is as long as its metadata page says: librpm would otherwise try, log
 * something cryptic, and sometimes fall back to an empty database.
 */
static int check_header(const struct clr_scan_file *f, enum rpmdb_format fmt,
			const char *path)
{
	static const unsigned char sqlite_magic[16] = "SQLite format 3";

	if (fmt == FMT_SQLITE) {
		if (f->len < 100 || memcmp(f->data, sqlite_magic, 16))
			return clr_error_set(CLR_EINVALID,
					     "%s: not a sqlite rpm database "
					     "(wrong magic bytes): corrupt or "
					     "truncated", path);
		return 0;
	}
	/* A hash (0x061561) or btree (0x053162) metadata page, in the byte
	 * order of the machine that wrote it: magic at 12, page size at 20,
	 * the last page's number at 32. */
	if (f->len >= 512) {
		for (int be = 0; be < 2; be++) {
			uint32_t magic = get32(f->data + 12, be);
			uint32_t psize = get32(f->data + 20, be);
			uint32_t last = get32(f->data + 32, be);

			if (magic != 0x061561 && magic != 0x053162)
				continue;
			if (psize < 512 || psize > 65536 ||
			    (psize & (psize - 1)))
				break;
			if ((uint64_t)(last + 1ull) * psize != f->len)
				return clr_error_set(CLR_EINVALID,
						     "%s: truncated or padded "
						     "Berkeley DB: %zu bytes, "
						     "its header says %llu",
						     path, f->len,
						     (unsigned long long)(last +
						     1ull) * psize);
			return 0;
		}
	}
	return clr_error_set(CLR_EINVALID,
			     "%s: not a Berkeley DB rpm database (wrong magic "
			     "bytes): corrupt or truncated", path);
}

/*
 * Checks the sqlite database at file (our temporary copy, its WAL beside
 * it) for damage before librpm sees it.
 */
static int sqlite_check(const char *file, const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	const char *what = "open";
	int rc, err = 0;

	rc = sqlite3_open_v2(file, &db, SQLITE_OPEN_READONLY, NULL);
	if (rc == SQLITE_OK) {
		what = "check";
		rc = sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &st,
					NULL);
	}
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			const char *r = (const char *)sqlite3_column_text(st, 0);

			if (!r || strcmp(r, "ok")) {
				/* Its report spans lines; keep it on one. */
				char one[RPM_MSG_MAX];

				snprintf(one, sizeof(one), "%s",
					 r ? r : "quick_check failed");
				for (char *c = one; *c; c++)
					if (*c == '\n')
						*c = ' ';
				err = clr_error_set(CLR_EINVALID,
						    "%s: corrupt rpm database: "
						    "%s", path, one);
			}
			rc = SQLITE_OK;
		}
		sqlite3_finalize(st);
		st = NULL;
	}
	if (rc == SQLITE_OK && !err) {
		what = "read the Packages table of";
		rc = sqlite3_prepare_v2(db, "SELECT count(*) FROM Packages", -1,
					&st, NULL);
		if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
			rc = SQLITE_OK;
		sqlite3_finalize(st);
	}
	if (rc != SQLITE_OK && !err)
		err = clr_error_set(CLR_EINVALID,
				    "%s: corrupt rpm database: cannot %s it: %s",
				    path, what,
				    db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
	sqlite3_close(db);
	return err;
}

static void read_config(void)
{
	rpm_config_err = rpmReadConfigFiles(NULL, NULL);
}

/* What librpm said while we held it. */
struct rpm_log {
	int errors;                /* messages at RPMLOG_ERR or worse */
	char first[RPM_MSG_MAX];   /* the first of them */
};

static int log_capture(rpmlogRec rec, rpmlogCallbackData data)
{
	struct rpm_log *log = data;
	rpmlogLvl pri = rpmlogRecPriority(rec);
	const char *msg = rpmlogRecMessage(rec);

	if (pri <= RPMLOG_ERR) {
		if (!log->errors++ && msg) {
			size_t n;

			snprintf(log->first, sizeof(log->first), "%s", msg);
			n = strlen(log->first);
			while (n && (log->first[n - 1] == '\n' ||
				     log->first[n - 1] == ' '))
				log->first[--n] = '\0';
		}
	} else if (msg) {
		clr_log_debug("librpm: %s", msg);
	}
	return 0; /* nothing on stderr */
}

static int write_file(const char *dir, const char *name,
		      const struct clr_scan_file *f, const char *path)
{
	char full[4096];
	size_t off = 0;
	int fd;

	snprintf(full, sizeof(full), "%s/%s", dir, name);
	fd = open(full, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return clr_error_set(CLR_EIO, "%s: cannot create %s: %s",
				     path, full, strerror(errno));
	while (off < f->len) {
		ssize_t n = write(fd, f->data + off, f->len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = errno;

			close(fd);
			return clr_error_set(CLR_EIO, "%s: writing %s: %s",
					     path, full, strerror(e));
		}
		off += (size_t)n;
	}
	if (close(fd))
		return clr_error_set(CLR_EIO, "%s: writing %s: %s", path, full,
				     strerror(errno));
	return 0;
}

/* Empties and removes our temporary directory (librpm may have added lock
 * or -shm files beside ours; it creates no subdirectories). */
static void remove_tmpdir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d) {
		while ((e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			if (unlinkat(dirfd(d), e->d_name, 0) &&
			    unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR))
				clr_log_warn("cannot remove %s/%s: %s", dir,
					     e->d_name, strerror(errno));
		}
		closedir(d);
	}
	if (rmdir(dir))
		clr_log_warn("cannot remove %s: %s", dir, strerror(errno));
}

/* "bash-5.1.8-6.el9.src.rpm" -> name "bash", version "5.1.8-6.el9".
 * false when it does not have that shape. */
static bool split_srpm(struct clr_arena *a, const char *srpm, char **name,
		       char **vr)
{
	size_t n = strlen(srpm);
	const char *rel, *ver;

	if (n > 8 && !strcmp(srpm + n - 8, ".src.rpm"))
		n -= 8;
	else if (n > 10 && !strcmp(srpm + n - 10, ".nosrc.rpm"))
		n -= 10;
	else
		return false;
	for (rel = srpm + n; rel > srpm && rel[-1] != '-'; rel--)
		;
	if (rel <= srpm + 1)
		return false;
	for (ver = rel - 1; ver > srpm && ver[-1] != '-'; ver--)
		;
	if (ver <= srpm + 1)
		return false;
	*name = clr_arena_strndup(a, srpm, (size_t)(ver - 1 - srpm));
	*vr = clr_arena_strndup(a, ver, (size_t)(srpm + n - ver));
	return true;
}

/* Appends the package of one header, unless it is a signing key. */
static int add_header(Header h, const char *path, struct clr_scan_result *out)
{
	struct clr_arena *a = &out->arena;
	struct clr_scan_package p;
	const char *name = headerGetString(h, RPMTAG_NAME);
	const char *ver = headerGetString(h, RPMTAG_VERSION);
	const char *rel = headerGetString(h, RPMTAG_RELEASE);
	const char *arch = headerGetString(h, RPMTAG_ARCH);
	const char *srpm = headerGetString(h, RPMTAG_SOURCERPM);
	const char *label = headerGetString(h, RPMTAG_MODULARITYLABEL);
	uint64_t epoch = headerIsEntry(h, RPMTAG_EPOCH) ?
		headerGetNumber(h, RPMTAG_EPOCH) : 0;
	char ep[24] = "";
	struct clr_buf b = CLR_BUF_INIT(1 << 16);
	char *sname, *svr;
	int err;

	if (!name || !*name || !ver || !*ver || !rel || !*rel)
		return clr_error_set(CLR_EINVALID,
				     "%s: a header has no %s: corrupt rpm "
				     "database", path,
				     !name || !*name ? "NAME" :
				     !ver || !*ver ? "VERSION" : "RELEASE");
	/* The public keys rpm imported are headers too. */
	if (!strcmp(name, "gpg-pubkey"))
		return 0;

	/* Clair: E:V-R, the epoch only when it is not zero. */
	if (epoch)
		snprintf(ep, sizeof(ep), "%llu:", (unsigned long long)epoch);
	memset(&p, 0, sizeof(p));
	p.name = name;
	if ((err = clr_buf_printf(&b, "%s%s-%s", ep, ver, rel)))
		goto cleanup;
	p.version = clr_arena_strdup(a, clr_buf_str(&b));
	p.kind = "binary";
	p.source.kind = "source";
	p.source.name = "";
	p.source.version = "";
	if (srpm && split_srpm(a, srpm, &sname, &svr)) {
		clr_buf_reset(&b);
		if ((err = clr_buf_printf(&b, "%s%s", ep, svr)))
			goto cleanup;
		p.source.name = sname;
		p.source.version = clr_arena_strdup(a, clr_buf_str(&b));
	} else if (srpm && *srpm) {
		clr_log_debug("%s: %s: SOURCERPM '%s' is not "
			      "name-version-release.src.rpm", path, name, srpm);
	}
	p.arch = arch ? arch : "";
	/* Clair's module is "name:stream", the first two parts of the
	 * label name:stream:version:context. */
	p.module = "";
	if (label && *label) {
		const char *c1 = strchr(label, ':');
		const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

		p.module = c2 ? clr_arena_strndup(a, label,
						  (size_t)(c2 - label)) : label;
	}
	p.cpe = "";
	p.package_db = path;
	clr_scan_result_add_package(out, &p);
cleanup:
	clr_buf_release(&b);
	if (err)
		return clr_error_set(err, "%s: %s: header fields too long",
				     path, name);
	return 0;
}

/*
 * Reads the database in dir (already written there) with librpm, appending
 * its packages to out.  Called with rpm_lock held.
 */
static int read_db(const char *dir, const char *backend, const char *path,
		   struct clr_scan_result *out)
{
	struct rpm_log log = { 0, "" };
	rpmlogCallback old_cb;
	rpmts ts = NULL;
	rpmdbMatchIterator mi = NULL;
	Header h;
	int err = 0;

	old_cb = rpmlogSetCallback(log_capture, &log);
	rpmPushMacro(NULL, "_dbpath", NULL, dir, RMIL_CMDLINE);
	rpmPushMacro(NULL, "_db_backend", NULL, backend, RMIL_CMDLINE);

	ts = rpmtsCreate();
	rpmtsSetRootDir(ts, "/");
	/* Header digests stay checked (a damaged header is logged as an
	 * error, which fails the read); signatures need keys we do not
	 * have and say nothing about corruption. */
	rpmtsSetVSFlags(ts, RPMVSF_MASK_NOSIGNATURES);
	if (rpmtsOpenDB(ts, O_RDONLY) != 0) {
		err = clr_error_set(CLR_EINVALID,
				    "%s: corrupt or unreadable rpm database%s%s",
				    path, log.errors ? ": " : "", log.first);
		goto cleanup;
	}
	mi = rpmtsInitIterator(ts, RPMDBI_PACKAGES, NULL, 0);
	while (mi && !err && (h = rpmdbNextIterator(mi)))
		err = add_header(h, path, out);
	if (!err && log.errors)
		err = clr_error_set(CLR_EINVALID,
				    "%s: corrupt rpm database: %s", path,
				    log.first);

cleanup:
	rpmdbFreeIterator(mi);
	if (ts) {
		rpmtsCloseDB(ts);
		rpmtsFree(ts);
	}
	rpmPopMacro(NULL, "_db_backend");
	rpmPopMacro(NULL, "_dbpath");
	rpmlogSetCallback(old_cb, NULL);
	/* librpm keeps every warning and error it logged; drop them so a
	 * long-running server does not accumulate them. */
	rpmlogClose();
	return err;
}

/* Scans the database found at path (format fmt) in the input. */
static int scan_db(const struct clr_scan_input *in, const char *resolved,
		   const struct clr_scan_file *f, const char *path, int fi,
		   struct clr_scan_result *out)
{
	char tmpl[4096];
	const char *tmp = getenv("TMPDIR");
	const struct clr_scan_file *wal = NULL;
	int err;

	if (rpm_files[fi].format == FMT_NDB)
		return clr_error_set(CLR_EUNSUPPORTED,
				     "rpm ndb database %s is not supported "
				     "(SUSE's format: librpm as built by Debian "
				     "cannot read it)", path);
	if ((err = check_header(f, rpm_files[fi].format, path)))
		return err;
	if (rpm_files[fi].format == FMT_SQLITE) {
		char walpath[4096];

		/* Beside the file itself, wherever a symlink led. */
		snprintf(walpath, sizeof(walpath), "%s-wal", resolved);
		wal = clr_scan_input_lookup(in, walpath, NULL);
	}

	snprintf(tmpl, sizeof(tmpl), "%s/clarion-rpmdb-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(tmpl))
		return clr_error_set(CLR_EIO,
				     "%s: cannot make a temporary directory "
				     "%s: %s", path, tmpl, strerror(errno));
	err = write_file(tmpl, rpm_files[fi].file, f, path);
	if (!err && wal)
		err = write_file(tmpl, "rpmdb.sqlite-wal", wal, path);
	if (!err && rpm_files[fi].format == FMT_SQLITE) {
		char dbfile[4096 + 16];

		snprintf(dbfile, sizeof(dbfile), "%s/%s", tmpl,
			 rpm_files[fi].file);
		err = sqlite_check(dbfile, path);
	}
	if (!err) {
		pthread_mutex_lock(&rpm_lock);
		pthread_once(&rpm_once, read_config);
		if (rpm_config_err)
			err = clr_error_set(CLR_ERROR,
					    "librpm: cannot read its "
					    "configuration");
		else
			err = read_db(tmpl, rpm_files[fi].backend, path, out);
		pthread_mutex_unlock(&rpm_lock);
	}
	remove_tmpdir(tmpl);
	return err;
}

static int rpm_scan(const struct clr_scan_input *in,
		    struct clr_scan_result *out)
{
	size_t npkg = out->packages.len, ndist = out->distributions.len;
	const char *seen[sizeof(rpm_dirs) / sizeof(rpm_dirs[0])];
	size_t nseen = 0;
	int err = 0;

	for (size_t d = 0; d < sizeof(rpm_dirs) / sizeof(rpm_dirs[0]) && !err;
	     d++) {
		for (size_t i = 0; i < sizeof(rpm_files) / sizeof(rpm_files[0]);
		     i++) {
			char want[256];
			const struct clr_scan_file *f;
			const char *resolved;
			bool dup = false;

			snprintf(want, sizeof(want), "%s/%s", rpm_dirs[d],
				 rpm_files[i].file);
			if (!(f = clr_scan_input_lookup(in, want, &resolved)))
				continue;
			/* var/lib/rpm/X -> usr/lib/sysimage/rpm/X is one
			 * database, not two. */
			for (size_t k = 0; k < nseen; k++)
				dup |= !strcmp(seen[k], resolved);
			if (!dup) {
				seen[nseen++] = resolved;
				err = scan_db(in, resolved, f, want, (int)i,
					      out);
			}
			/* One database per directory: ndb refused, else
			 * sqlite (what rpm >= 4.16 uses) before bdb. */
			break;
		}
	}
	if (err)
		clr_scan_result_truncate(out, npkg, ndist);
	return err;
}

const struct clr_scanner clr_scanner_rpm = {
	.name = "rpm",
	.version = "1",
	.kind = "package",
	.want = rpm_want,
	.scan = rpm_scan,
};
