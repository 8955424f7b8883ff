/*
 * bundle.c - offline vulnerability bundles (see bundle.h).
 *
 * Writing: one operation at a time from the store, each record one JSON
 * object through jansson, into a zstd stream, into a temporary file beside
 * the destination that is renamed over it at the end.
 *
 * Reading: a clr_stream (plain, or zstd undone by zstd_stream below) is cut
 * into lines with a capped buffer; each line is one JSON object; a small
 * state machine wants a header, then `count` records, then a header again.
 * The records of the operation being read collect in a clr_vuln_set that
 * is handed to the caller only when complete.
 *
 * The field table vuln_fields[] is the format: the writer and the reader
 * both walk it, so they cannot disagree about a field.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "updater/bundle.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/log.h"

#define CHUNK 65536
#define ZSTD_LEVEL 6   /* a bundle is written once and copied around */

/* Every string field of struct clr_vuln, by its name in the bundle. */
static const struct {
	const char *name;
	size_t off;
} vuln_fields[] = {
#define F(f) { #f, offsetof(struct clr_vuln, f) }
	F(name), F(updater), F(description), F(issued), F(links), F(severity),
	F(package_name), F(package_kind), F(package_module), F(arch), F(arch_op),
	F(dist_did), F(dist_name), F(dist_version), F(dist_version_id),
	F(dist_version_code_name), F(dist_pretty_name), F(dist_cpe),
	F(repo_name), F(repo_uri), F(version_scheme), F(fixed_in_version),
	F(affected),
#undef F
};

#define NFIELDS (sizeof(vuln_fields) / sizeof(vuln_fields[0]))

static const char **field_at(struct clr_vuln *v, size_t i)
{
	return (const char **)((char *)v + vuln_fields[i].off);
}

static const char *field_of(const struct clr_vuln *v, size_t i)
{
	return *(const char *const *)((const char *)v + vuln_fields[i].off);
}

/* ------------------------------------------------------------------ */
/* Writing                                                             */

struct writer {
	int fd;
	ZSTD_CCtx *z;
	char *out;        /* CHUNK bytes of compressed output */
	const char *path; /* for messages */
};

static int writer_flush_out(struct writer *w, size_t n)
{
	const char *p = w->out;

	while (n) {
		ssize_t k = write(w->fd, p, n);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return clr_error_set(CLR_EIO, "cannot write %s: %s", w->path,
					     strerror(errno));
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static int writer_put(struct writer *w, const void *data, size_t len,
		      ZSTD_EndDirective mode)
{
	ZSTD_inBuffer in = { data, len, 0 };
	size_t left;
	int err;

	do {
		ZSTD_outBuffer o = { w->out, CHUNK, 0 };

		left = ZSTD_compressStream2(w->z, &o, &in, mode);
		if (ZSTD_isError(left))
			return clr_error_set(CLR_ERROR, "zstd: %s", ZSTD_getErrorName(left));
		if ((err = writer_flush_out(w, o.pos)))
			return err;
	} while (mode == ZSTD_e_end ? left != 0 : in.pos < in.size);
	return 0;
}

/* One JSON object as one line. */
static int writer_line(struct writer *w, json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);
	int err;

	if (!s)
		return clr_error_set(CLR_EINVALID, "a record cannot be written as JSON "
				     "(text that is not UTF-8?)");
	err = writer_put(w, s, strlen(s), ZSTD_e_continue);
	if (!err)
		err = writer_put(w, "\n", 1, ZSTD_e_continue);
	free(s);
	return err;
}

static json_t *vuln_json(const struct clr_vuln *v)
{
	json_t *o = json_object();

	json_object_set_new(o, "kind", json_string("vulnerability"));
	for (size_t i = 0; i < NFIELDS; i++) {
		const char *s = field_of(v, i);
		json_t *j = json_string(s ? s : "");

		if (!j) {
			json_decref(o);
			return NULL;
		}
		json_object_set_new(o, vuln_fields[i].name, j);
		if (!strcmp(vuln_fields[i].name, "severity"))
			json_object_set_new(o, "normalized_severity",
					    json_string(clr_severity_name(
						    v->normalized_severity)));
	}
	return o;
}

static int write_op(struct writer *w, struct clr_store *s, const struct clr_update_op *op,
		    struct clr_bundle_summary *sum)
{
	struct clr_vuln_set set;
	json_t *h;
	int err;

	clr_vuln_set_init(&set);
	if ((err = clr_store_update_vulns(s, op->ref, &set)))
		goto cleanup;
	h = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "kind", "operation",
		      "updater", op->updater, "fingerprint", op->fingerprint ? op->fingerprint : "",
		      "date", op->date ? op->date : "", "ref", op->ref,
		      "count", (json_int_t)set.vulns.len);
	if (!h) {
		err = clr_error_set(CLR_EINVALID, "operation %s of %s cannot be written "
				    "as JSON", op->ref, op->updater);
		goto cleanup;
	}
	err = writer_line(w, h);
	json_decref(h);
	for (size_t i = 0; !err && i < set.vulns.len; i++) {
		const struct clr_vuln *v = CLR_VEC_AT(&set.vulns, struct clr_vuln, i);
		json_t *o = vuln_json(v);

		if (!o) {
			err = clr_error_set(CLR_EINVALID, "%s: record %s is not valid "
					    "UTF-8", op->updater, v->name);
			break;
		}
		err = writer_line(w, o);
		json_decref(o);
	}
	if (!err) {
		sum->operations++;
		sum->vulnerabilities += set.vulns.len;
	}
cleanup:
	clr_vuln_set_release(&set);
	return err;
}

/* Whether updater belongs to one of the sources. */
static bool selected(const char *updater, const char *const *sources)
{
	if (!sources)
		return true;
	for (const char *const *p = sources; *p; p++) {
		size_t n = strlen(*p);

		if (!strncmp(updater, *p, n) &&
		    (!updater[n] || strchr("-/._:", updater[n])))
			return true;
	}
	return false;
}

static int op_cmp(const void *a, const void *b)
{
	const struct clr_update_op *x = a, *y = b;

	return strcmp(x->updater, y->updater);
}

int clr_bundle_export(struct clr_store *s, const char *path,
		      const char *const *sources, struct clr_bundle_summary *sum)
{
	struct clr_vec all = CLR_VEC_INIT(struct clr_update_op);
	struct clr_vec newest = CLR_VEC_INIT(struct clr_update_op);
	struct writer w = { .fd = -1, .path = path };
	char *tmp = NULL;
	bool to_stdout = !strcmp(path, "-");
	int err;

	memset(sum, 0, sizeof(*sum));
	if ((err = clr_store_update_list(s, NULL, &all)))
		return err;
	/* Newest first: the first operation met of an updater is its
	 * current one. */
	for (size_t i = 0; i < all.len; i++) {
		struct clr_update_op *op = CLR_VEC_AT(&all, struct clr_update_op, i);
		bool seen = false;

		for (size_t k = 0; k < newest.len && !seen; k++)
			seen = !strcmp(CLR_VEC_AT(&newest, struct clr_update_op, k)->updater,
				       op->updater);
		if (!seen && selected(op->updater, sources))
			CLR_VEC_PUSH(&newest, op);
	}
	if (!newest.len) {
		err = clr_error_set(CLR_ENOTFOUND, "%s", sources ?
				    "no update operations of those sources in the database" :
				    "no update operations in the database (run `clarion "
				    "update` first)");
		goto cleanup;
	}
	clr_vec_sort(&newest, op_cmp);

	if (to_stdout) {
		w.fd = 1;
		w.path = "standard output";
	} else {
		if (asprintf(&tmp, "%s.tmp-XXXXXX", path) < 0)
			abort();
		if ((w.fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
			err = clr_error_set(CLR_EIO, "cannot create %s: %s", tmp,
					    strerror(errno));
			free(tmp);
			tmp = NULL;
			goto cleanup;
		}
		/* mkstemp makes 0600; a bundle is public data, readable as a
		 * file made by cp would be. */
		fchmod(w.fd, 0644);
	}
	if (!(w.z = ZSTD_createCCtx()))
		abort();
	ZSTD_CCtx_setParameter(w.z, ZSTD_c_compressionLevel, ZSTD_LEVEL);
	ZSTD_CCtx_setParameter(w.z, ZSTD_c_checksumFlag, 1);
	w.out = clr_malloc(CHUNK);
	for (size_t i = 0; !err && i < newest.len; i++)
		err = write_op(&w, s, CLR_VEC_AT(&newest, struct clr_update_op, i), sum);
	if (!err)
		err = writer_put(&w, NULL, 0, ZSTD_e_end);
	if (!err && !to_stdout && fsync(w.fd))
		err = clr_error_set(CLR_EIO, "cannot write %s: %s", tmp, strerror(errno));
	if (!to_stdout) {
		if (close(w.fd) && !err)
			err = clr_error_set(CLR_EIO, "cannot write %s: %s", tmp,
					    strerror(errno));
		if (!err && rename(tmp, path))
			err = clr_error_set(CLR_EIO, "cannot create %s: %s", path,
					    strerror(errno));
		if (err)
			unlink(tmp);
	}
cleanup:
	ZSTD_freeCCtx(w.z);
	free(w.out);
	free(tmp);
	/* newest holds copies of elements of all: only all owns strings. */
	clr_vec_release(&newest);
	clr_update_ops_release(&all);
	return err;
}

/* ------------------------------------------------------------------ */
/* A stream that undoes zstd                                           */

struct zstd_stream {
	struct clr_stream base;
	int fd;
	bool own_fd;
	ZSTD_DCtx *z;
	char *in;          /* CHUNK bytes of compressed input */
	ZSTD_inBuffer buf; /* what of in is left */
	size_t last;       /* ZSTD_decompressStream's last hint: 0 at the end
			    * of a frame */
	bool eof;
	const char *path;
};

static ssize_t zstd_read(struct clr_stream *s, void *out, size_t n)
{
	struct zstd_stream *z = (struct zstd_stream *)s;
	ZSTD_outBuffer o = { out, n, 0 };

	while (o.pos == 0) {
		if (z->buf.pos == z->buf.size) {
			ssize_t k;

			if (z->eof) {
				if (z->last != 0)
					return clr_error_set(CLR_EINVALID, "%s: truncated "
							     "(the zstd data ends in the "
							     "middle of a frame)", z->path);
				return 0;
			}
			k = read(z->fd, z->in, CHUNK);
			if (k < 0) {
				if (errno == EINTR)
					continue;
				return clr_error_set(CLR_EIO, "cannot read %s: %s", z->path,
						     strerror(errno));
			}
			if (k == 0) {
				z->eof = true;
				continue;
			}
			z->buf.src = z->in;
			z->buf.size = (size_t)k;
			z->buf.pos = 0;
		}
		z->last = ZSTD_decompressStream(z->z, &o, &z->buf);
		if (ZSTD_isError(z->last))
			return clr_error_set(CLR_EINVALID, "%s: corrupt zstd data: %s",
					     z->path, ZSTD_getErrorName(z->last));
	}
	return (ssize_t)o.pos;
}

static void zstd_close(struct clr_stream *s)
{
	struct zstd_stream *z = (struct zstd_stream *)s;

	if (z->own_fd)
		close(z->fd);
	ZSTD_freeDCtx(z->z);
	free(z->in);
	free((char *)z->path);
	free(z);
}

/* A plain stream over fd, whose first `n` bytes were already read into
 * head (we sniffed them). */
struct plain_stream {
	struct clr_stream base;
	int fd;
	bool own_fd;
	char head[4];
	size_t head_len, head_pos;
	char *path;
};

static ssize_t plain_read(struct clr_stream *s, void *out, size_t n)
{
	struct plain_stream *p = (struct plain_stream *)s;
	ssize_t k;

	if (p->head_pos < p->head_len) {
		size_t m = p->head_len - p->head_pos;

		if (m > n)
			m = n;
		memcpy(out, p->head + p->head_pos, m);
		p->head_pos += m;
		return (ssize_t)m;
	}
	while ((k = read(p->fd, out, n)) < 0 && errno == EINTR)
		;
	if (k < 0)
		return clr_error_set(CLR_EIO, "cannot read %s: %s", p->path, strerror(errno));
	return k;
}

static void plain_close(struct clr_stream *s)
{
	struct plain_stream *p = (struct plain_stream *)s;

	if (p->own_fd)
		close(p->fd);
	free(p->path);
	free(p);
}

int clr_bundle_open(struct clr_stream **out, const char *path)
{
	static const unsigned char magic[4] = { 0x28, 0xb5, 0x2f, 0xfd };
	bool is_stdin = !strcmp(path, "-");
	const char *shown = is_stdin ? "standard input" : path;
	char head[4];
	size_t got = 0;
	int fd;

	fd = is_stdin ? 0 : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return clr_error_set(errno == ENOENT ? CLR_ENOTFOUND : CLR_EIO,
				     "cannot read %s: %s", path, strerror(errno));
	/* Sniff without seeking: standard input may be a pipe. */
	while (got < sizeof(head)) {
		ssize_t k = read(fd, head + got, sizeof(head) - got);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			int e = errno;

			if (!is_stdin)
				close(fd);
			return clr_error_set(CLR_EIO, "cannot read %s: %s", shown, strerror(e));
		}
		if (k == 0)
			break;
		got += (size_t)k;
	}
	if (got == sizeof(head) && !memcmp(head, magic, sizeof(magic))) {
		struct zstd_stream *z = clr_calloc(1, sizeof(*z));

		z->base.read = zstd_read;
		z->base.close = zstd_close;
		z->fd = fd;
		z->own_fd = !is_stdin;
		if (!(z->z = ZSTD_createDCtx()))
			abort();
		z->in = clr_malloc(CHUNK);
		memcpy(z->in, head, got);
		z->buf.src = z->in;
		z->buf.size = got;
		z->buf.pos = 0;
		z->last = 1;
		z->path = clr_strdup(shown);
		*out = &z->base;
	} else {
		struct plain_stream *p = clr_calloc(1, sizeof(*p));

		p->base.read = plain_read;
		p->base.close = plain_close;
		p->fd = fd;
		p->own_fd = !is_stdin;
		memcpy(p->head, head, got);
		p->head_len = got;
		p->path = clr_strdup(shown);
		*out = &p->base;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Reading                                                             */

struct reader {
	size_t line;                 /* number of the line being parsed */
	bool in_op;                  /* a header was read, records follow */
	struct clr_bundle_op op;     /* its strings are in set.arena */
	size_t bytes;                /* line bytes of this operation */
	struct clr_vuln_set set;
	int (*each)(const struct clr_bundle_op *, const struct clr_vuln_set *, void *);
	void *arg;
};

static int bad(struct reader *r, const char *fmt, const char *detail)
{
	return clr_error_set(CLR_EINVALID, "line %zu: %s%s", r->line, fmt,
			     detail ? detail : "");
}

static const char *str_member(struct reader *r, json_t *o, const char *key,
			      bool required, int *err)
{
	json_t *v = json_object_get(o, key);

	if (!v) {
		if (required)
			*err = bad(r, "missing field: ", key);
		return "";
	}
	if (!json_is_string(v)) {
		*err = bad(r, "not a string: ", key);
		return "";
	}
	return clr_arena_strdup(&r->set.arena, json_string_value(v));
}

static int parse_header(struct reader *r, json_t *o)
{
	static const char *const known[] = {
		"kind", "updater", "fingerprint", "date", "ref", "count",
	};
	const char *key;
	json_t *v, *count;
	int err = 0;

	json_object_foreach(o, key, v) {
		size_t i;

		for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (!strcmp(key, known[i]))
				break;
		if (i == sizeof(known) / sizeof(known[0]))
			return bad(r, "unknown field in an operation: ", key);
	}
	r->op.updater = str_member(r, o, "updater", true, &err);
	r->op.fingerprint = str_member(r, o, "fingerprint", true, &err);
	r->op.date = str_member(r, o, "date", false, &err);
	r->op.ref = str_member(r, o, "ref", false, &err);
	if (err)
		return err;
	if (!*r->op.updater)
		return bad(r, "an operation without an updater name", NULL);
	count = json_object_get(o, "count");
	if (!json_is_integer(count) || json_integer_value(count) < 0)
		return bad(r, "count must be a non-negative integer", NULL);
	if (json_integer_value(count) > (json_int_t)CLR_BUNDLE_OP_MAX_RECORDS)
		return clr_error_set(CLR_ELIMIT, "line %zu: more than %u records in one "
				     "operation", r->line, CLR_BUNDLE_OP_MAX_RECORDS);
	r->op.count = (size_t)json_integer_value(count);
	return 0;
}

static int parse_vuln(struct reader *r, json_t *o)
{
	struct clr_vuln v = { 0 };
	const char *key;
	json_t *val;
	int err = 0;

	json_object_foreach(o, key, val) {
		size_t i;

		if (!strcmp(key, "kind"))
			continue;
		if (!strcmp(key, "normalized_severity")) {
			if (!json_is_string(val) ||
			    clr_severity_from_name(&v.normalized_severity,
						   json_string_value(val)))
				return bad(r, "normalized_severity must be one of Unknown, "
					   "Negligible, Low, Medium, High, Critical", NULL);
			continue;
		}
		for (i = 0; i < NFIELDS; i++)
			if (!strcmp(key, vuln_fields[i].name))
				break;
		if (i == NFIELDS)
			return bad(r, "unknown field in a vulnerability: ", key);
		if (!json_is_string(val))
			return bad(r, "not a string: ", key);
		/* Borrowed from the JSON object: clr_vuln_set_add copies. */
		*field_at(&v, i) = json_string_value(val);
	}
	if (!v.name || !*v.name)
		return bad(r, "a vulnerability without a name", NULL);
	if (v.updater && *v.updater && strcmp(v.updater, r->op.updater))
		return bad(r, "a vulnerability of another updater: ", v.updater);
	v.updater = r->op.updater;
	clr_vuln_set_add(&r->set, &v);
	return err;
}

static int finish_op(struct reader *r)
{
	int err = r->each(&r->op, &r->set, r->arg);

	r->in_op = false;
	r->bytes = 0;
	memset(&r->op, 0, sizeof(r->op));
	clr_vuln_set_release(&r->set);
	clr_vuln_set_init(&r->set);
	return err;
}

static int parse_line(struct reader *r, const char *line, size_t len)
{
	json_error_t jerr;
	json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	const char *kind;
	int err;

	if (!o)
		return bad(r, "not JSON: ", jerr.text);
	if (!json_is_object(o)) {
		json_decref(o);
		return bad(r, "not a JSON object", NULL);
	}
	kind = json_string_value(json_object_get(o, "kind"));
	if (!kind) {
		err = bad(r, "no \"kind\"", NULL);
	} else if (!strcmp(kind, "operation")) {
		if (r->in_op) {
			char why[128];

			snprintf(why, sizeof(why), " (%zu of %zu read)", r->set.vulns.len,
				 r->op.count);
			err = clr_error_set(CLR_EINVALID, "line %zu: a new operation before "
					    "the end of the records of %s%s", r->line,
					    r->op.updater, why);
		} else if (!(err = parse_header(r, o))) {
			r->in_op = true;
			if (r->op.count == 0)
				err = finish_op(r);
		}
	} else if (!strcmp(kind, "vulnerability")) {
		if (!r->in_op) {
			err = bad(r, "a vulnerability outside any operation", NULL);
		} else if (!(err = parse_vuln(r, o)) && r->set.vulns.len == r->op.count) {
			err = finish_op(r);
		}
	} else {
		err = bad(r, "unknown kind: ", kind);
	}
	json_decref(o);
	return err;
}

int clr_bundle_read(struct clr_stream *in,
		    int (*each)(const struct clr_bundle_op *op,
				const struct clr_vuln_set *vulns, void *arg),
		    void *arg)
{
	struct reader r = { .each = each, .arg = arg };
	struct clr_buf line = CLR_BUF_INIT(CLR_BUNDLE_LINE_MAX);
	char *chunk = clr_malloc(CHUNK);
	ssize_t n;
	int err = 0;

	clr_vuln_set_init(&r.set);
	r.line = 1;
	while (!err && (n = clr_stream_read(in, chunk, CHUNK)) != 0) {
		const char *p = chunk, *end;

		if (n < 0) {
			err = (int)n;
			break;
		}
		end = chunk + n;
		while (!err && p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t k = nl ? (size_t)(nl - p) : (size_t)(end - p);

			if (clr_buf_add(&line, p, k)) {
				err = clr_error_set(CLR_ELIMIT, "line %zu: longer than %u "
						    "bytes", r.line, CLR_BUNDLE_LINE_MAX);
				break;
			}
			p += k;
			if (!nl)
				break;
			p++;
			r.bytes += line.len + 1;
			if (r.in_op && r.bytes > CLR_BUNDLE_OP_MAX_BYTES) {
				err = clr_error_set(CLR_ELIMIT, "line %zu: operation of %s "
						    "larger than %llu bytes", r.line,
						    r.op.updater,
						    (unsigned long long)CLR_BUNDLE_OP_MAX_BYTES);
				break;
			}
			err = parse_line(&r, line.ptr ? line.ptr : "", line.len);
			clr_buf_reset(&line);
			r.line++;
		}
	}
	if (!err && line.len)
		err = clr_error_set(CLR_EINVALID, "line %zu: truncated (no newline at the "
				    "end)", r.line);
	if (!err && r.in_op)
		err = clr_error_set(CLR_EINVALID, "line %zu: truncated: the operation of "
				    "%s has %zu of its %zu records", r.line, r.op.updater,
				    r.set.vulns.len, r.op.count);
	clr_buf_release(&line);
	clr_vuln_set_release(&r.set);
	free(chunk);
	return err;
}

/* ------------------------------------------------------------------ */
/* Importing                                                           */

struct import {
	struct clr_store *s;
	struct clr_bundle_summary *sum;
};

static int store_op(const struct clr_bundle_op *op, const struct clr_vuln_set *vulns,
		    void *arg)
{
	struct import *im = arg;
	struct clr_update_op cur = { 0 };
	int err;

	err = clr_store_update_latest(im->s, op->updater, &cur);
	if (!err && cur.fingerprint && !strcmp(cur.fingerprint, op->fingerprint) &&
	    cur.count == op->count) {
		/* Already the current data, as an updater finding its feed
		 * unchanged would leave it. */
		clr_update_op_release(&cur);
		im->sum->unchanged++;
		return clr_store_status_put(im->s, op->updater, NULL);
	}
	clr_update_op_release(&cur);
	if (err && err != CLR_ENOTFOUND)
		return err;
	if ((err = clr_store_update_put(im->s, op->updater, op->fingerprint, vulns, NULL)))
		return clr_error_prefix(err, "%s", op->updater);
	im->sum->operations++;
	im->sum->vulnerabilities += vulns->vulns.len;
	clr_log_info("import: %s: %zu vulnerabilities", op->updater, vulns->vulns.len);
	return clr_store_status_put(im->s, op->updater, NULL);
}

int clr_bundle_import(struct clr_store *s, const char *path,
		      struct clr_bundle_summary *sum)
{
	struct import im = { s, sum };
	struct clr_stream *in;
	int err;

	memset(sum, 0, sizeof(*sum));
	if ((err = clr_bundle_open(&in, path)))
		return err;
	err = clr_bundle_read(in, store_op, &im);
	clr_stream_close(in);
	if (err)
		clr_error_prefix(err, "%s", strcmp(path, "-") ? path : "standard input");
	return err;
}
