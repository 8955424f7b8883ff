/*
 * store.c - chooses a backend by location and wraps its operations.
 *
 * The wrappers are where the rules common to both backends live, so each
 * backend only does SQL: the default location, argument checks, the list
 * of locks a handle holds (locks do not nest, and closing a handle
 * releases what a careless caller left locked, as a PostgreSQL session
 * would), and the preparation of a put (the operation's ref, the records'
 * content hashes, their order and de-duplication).
 */
#include "store/store.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/log.h"

/* A held manifest or updater lock.  Kept in its handle's list until
 * unlocked. */
struct clr_store_lock {
	struct clr_store *store; /* the handle it was taken through */
	char *hash;              /* the manifest (or updater) it locks */
	bool updater;            /* an updater's lock, not a manifest's */
	uint64_t token;          /* the backend's own (see clr_store_ops.lock) */
};

/* "manifest" or "updater", for messages. */
static const char *lock_kind(const struct clr_store_lock *l)
{
	return l->updater ? "updater" : "manifest";
}

static int unlock(struct clr_store_lock *lock);

/* Paths longer than this are refused rather than truncated. */
#define LOCATION_MAX 4096

static bool is_pg_url(const char *location)
{
	return !strncasecmp(location, "postgres://", 11) ||
	       !strncasecmp(location, "postgresql://", 13);
}

static int join_path(char **out, const char *base, const char *rest)
{
	struct clr_buf b = CLR_BUF_INIT(LOCATION_MAX);

	if (clr_buf_addstr(&b, base) || clr_buf_addstr(&b, rest))
		return clr_error_set(CLR_ELIMIT, "database path under '%.64s...' "
				     "is too long", base);
	*out = clr_buf_detach(&b, NULL);
	return 0;
}

int clr_store_default_location(char **out)
{
	const char *env = getenv("CLARION_DB");
	const char *home;
	struct passwd pw, *found = NULL;
	char pwbuf[4096];

	*out = NULL;
	if (env && *env) {
		*out = clr_strdup(env);
		return 0;
	}
	/* The XDG spec says relative values are to be ignored. */
	env = getenv("XDG_CACHE_HOME");
	if (env && env[0] == '/')
		return join_path(out, env, "/clarion/clarion.db");
	home = getenv("HOME");
	/* getpwuid_r: a library must not use getpwuid's static buffer. */
	if ((!home || !*home) &&
	    !getpwuid_r(getuid(), &pw, pwbuf, sizeof(pwbuf), &found) && found)
		home = found->pw_dir;
	if (!home || !*home)
		return clr_error_set(CLR_ENOTFOUND,
				     "no home directory for the default "
				     "database: set CLARION_DB or HOME");
	return join_path(out, home, "/.cache/clarion/clarion.db");
}

/* mkdir -p of the directory part of path, mode 0700: the cache holds
 * what images contain, which is nobody else's business. */
static int make_parent_dirs(const char *path)
{
	char *dir = clr_strdup(path);
	char *slash = strrchr(dir, '/');
	int err = 0;

	if (!slash || slash == dir)
		goto cleanup;
	*slash = '\0';
	for (char *p = dir + 1;; p++) {
		bool last = *p == '\0';

		if (*p != '/' && !last)
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) && errno != EEXIST) {
			err = clr_error_set(CLR_EIO, "cannot create directory "
					    "%s: %s", dir, strerror(errno));
			goto cleanup;
		}
		if (last)
			break;
		*p = '/';
	}
cleanup:
	free(dir);
	return err;
}

int clr_store_open(struct clr_store **out, const char *location)
{
	const struct clr_store_ops *ops;
	char *deflt = NULL;
	struct clr_store *s = NULL;
	int err;

	*out = NULL;
	if (!location) {
		if ((err = clr_store_default_location(&deflt)))
			return err;
		location = deflt;
		if (!is_pg_url(location) && (err = make_parent_dirs(location)))
			goto cleanup;
	}
	if (!*location) {
		err = clr_error_set(CLR_EINVALID, "empty database location");
		goto cleanup;
	}
	ops = is_pg_url(location) ? &clr_store_pg : &clr_store_sqlite;
	if ((err = ops->open(&s, location)))
		goto cleanup;
	assert(s->ops == ops && s->location);
	clr_vec_init(&s->locks, sizeof(struct clr_store_lock *));
	clr_log_debug("store: opened %s database %s (schema %d)", ops->name,
		      s->location, s->schema_version);
	*out = s;
cleanup:
	free(deflt);
	return err;
}

static void lock_free(struct clr_store_lock *lock)
{
	free(lock->hash);
	free(lock);
}

void clr_store_close(struct clr_store *s)
{
	if (!s)
		return;
	/* Unlocking from the end keeps the list compact as we go. */
	while (s->locks.len) {
		struct clr_store_lock *lock =
			*CLR_VEC_AT(&s->locks, struct clr_store_lock *,
				    s->locks.len - 1);

		clr_log_warn("store: %s %s still locked at close; "
			     "releasing", lock_kind(lock), lock->hash);
		unlock(lock);
	}
	clr_vec_release(&s->locks);
	s->ops->close(s);
}

const char *clr_store_backend_name(const struct clr_store *s)
{
	return s->ops->name;
}

const char *clr_store_location(const struct clr_store *s)
{
	return s->location;
}

int clr_store_schema_version(const struct clr_store *s)
{
	return s->schema_version;
}

/* Keys are digests in practice; an empty one is a caller's bug that would
 * otherwise be stored quietly. */
static int check_key(const char *what, const char *key)
{
	assert(key);
	if (!*key)
		return clr_error_set(CLR_EINVALID, "empty %s", what);
	return 0;
}

static int check_scanner(const struct clr_store_scanner *sc)
{
	assert(sc && sc->name && sc->version);
	if (!*sc->name)
		return clr_error_set(CLR_EINVALID, "empty scanner name");
	return 0;
}

int clr_store_report_get(struct clr_store *s, const char *manifest_hash,
			 struct clr_store_report *out)
{
	int err;

	memset(out, 0, sizeof(*out));
	if ((err = check_key("manifest hash", manifest_hash)))
		return err;
	return s->ops->report_get(s, manifest_hash, out);
}

int clr_store_report_put(struct clr_store *s, const char *manifest_hash,
			 const struct clr_store_report *r,
			 const char *const *layers, size_t n_layers)
{
	int err;

	assert(r && r->index_state && r->state && r->report);
	assert(layers || !n_layers);
	if ((err = check_key("manifest hash", manifest_hash)))
		return err;
	for (size_t i = 0; i < n_layers; i++)
		if ((err = check_key("layer hash", layers[i])))
			return err;
	return s->ops->report_put(s, manifest_hash, r, layers, n_layers);
}

int clr_store_report_delete(struct clr_store *s, const char *manifest_hash,
			    bool *existed)
{
	bool dummy;
	int err;

	if (!existed)
		existed = &dummy;
	*existed = false;
	if ((err = check_key("manifest hash", manifest_hash)))
		return err;
	return s->ops->report_delete(s, manifest_hash, existed);
}

void clr_store_report_release(struct clr_store_report *r)
{
	if (!r)
		return;
	free(r->index_state);
	free(r->state);
	free(r->report);
	memset(r, 0, sizeof(*r));
}

/* Backends append; on failure the wrapper drops what they appended, so
 * each backend need not. */
static int list_finish(struct clr_vec *out, size_t before, int err)
{
	if (err) {
		for (size_t i = before; i < out->len; i++)
			free(*CLR_VEC_AT(out, char *, i));
		clr_vec_truncate(out, before);
	}
	return err;
}

int clr_store_manifest_list(struct clr_store *s, const char *after,
			    size_t limit, struct clr_vec *out)
{
	size_t before = out->len;

	assert(out->elem_size == sizeof(char *));
	return list_finish(out, before,
			   s->ops->manifest_list(s, after ? after : "", limit,
						 out));
}

int clr_store_manifest_layers(struct clr_store *s, const char *manifest_hash,
			      struct clr_vec *out)
{
	size_t before = out->len;
	int err;

	assert(out->elem_size == sizeof(char *));
	if ((err = check_key("manifest hash", manifest_hash)))
		return err;
	return list_finish(out, before,
			   s->ops->manifest_layers(s, manifest_hash, out));
}

void clr_store_strings_release(struct clr_vec *v)
{
	for (size_t i = 0; i < v->len; i++)
		free(*CLR_VEC_AT(v, char *, i));
	clr_vec_release(v);
}

int clr_store_layer_scan_get(struct clr_store *s, const char *layer_hash,
			     const struct clr_store_scanner *scanner,
			     char **artifacts)
{
	int err;

	*artifacts = NULL;
	if ((err = check_key("layer hash", layer_hash)) ||
	    (err = check_scanner(scanner)))
		return err;
	return s->ops->layer_scan_get(s, layer_hash, scanner, artifacts);
}

int clr_store_layer_scan_put(struct clr_store *s, const char *layer_hash,
			     const struct clr_store_scanner *scanner,
			     const char *artifacts)
{
	int err;

	assert(artifacts);
	if ((err = check_key("layer hash", layer_hash)) ||
	    (err = check_scanner(scanner)))
		return err;
	return s->ops->layer_scan_put(s, layer_hash, scanner, artifacts);
}

int clr_store_layer_scanned(struct clr_store *s, const char *layer_hash,
			    const struct clr_store_scanner *scanners, size_t n,
			    bool *scanned)
{
	int err;

	if ((err = check_key("layer hash", layer_hash)))
		return err;
	for (size_t i = 0; i < n; i++) {
		scanned[i] = false;
		if ((err = check_scanner(&scanners[i])))
			return err;
	}
	if (!n)
		return 0;
	return s->ops->layer_scanned(s, layer_hash, scanners, n, scanned);
}

/* Manifest locks and updater locks are two name spaces; updater set
 * means the latter (which never waits). */
static int lock(struct clr_store *s, const char *name, bool updater,
		bool wait, struct clr_store_lock **out)
{
	struct clr_store_lock *l;
	uint64_t token = 0;
	int err;

	*out = NULL;
	if ((err = check_key(updater ? "updater name" : "manifest hash",
			     name)))
		return err;
	/* PostgreSQL's advisory locks would nest, SQLite's rows would not:
	 * refusing here gives both backends the same rule. */
	for (size_t i = 0; i < s->locks.len; i++) {
		l = *CLR_VEC_AT(&s->locks, struct clr_store_lock *, i);
		if (l->updater == updater && !strcmp(l->hash, name))
			return clr_error_set(CLR_EEXISTS, "%s %s is already "
					     "locked by this handle",
					     lock_kind(l), name);
	}
	err = updater ? s->ops->updater_lock(s, name, &token) :
			s->ops->lock(s, name, wait, &token);
	if (err)
		return err;
	l = clr_malloc(sizeof(*l));
	l->store = s;
	l->hash = clr_strdup(name);
	l->updater = updater;
	l->token = token;
	CLR_VEC_PUSH(&s->locks, &l);
	*out = l;
	return 0;
}

int clr_store_lock_manifest(struct clr_store *s, const char *manifest_hash,
			    struct clr_store_lock **out)
{
	return lock(s, manifest_hash, false, true, out);
}

int clr_store_trylock_manifest(struct clr_store *s, const char *manifest_hash,
			       struct clr_store_lock **out)
{
	return lock(s, manifest_hash, false, false, out);
}

/* Either kind: the lock knows which it is. */
static int unlock(struct clr_store_lock *lock)
{
	struct clr_store *s;
	struct clr_vec *v;
	int err;

	if (!lock)
		return 0;
	s = lock->store;
	v = &s->locks;
	for (size_t i = 0; i < v->len; i++) {
		if (*CLR_VEC_AT(v, struct clr_store_lock *, i) != lock)
			continue;
		*CLR_VEC_AT(v, struct clr_store_lock *, i) =
			*CLR_VEC_AT(v, struct clr_store_lock *, v->len - 1);
		clr_vec_truncate(v, v->len - 1);
		break;
	}
	err = lock->updater ?
		s->ops->updater_unlock(s, lock->hash, lock->token) :
		s->ops->unlock(s, lock->hash, lock->token);
	lock_free(lock);
	return err;
}

int clr_store_unlock_manifest(struct clr_store_lock *lock)
{
	assert(!lock || !lock->updater);
	return unlock(lock);
}

/* --- update operations ------------------------------------------------------ */

enum clr_severity clr_store_severity_parse(const char *name)
{
	for (int i = CLR_SEV_UNKNOWN; i <= CLR_SEV_CRITICAL; i++)
		if (!strcmp(name, clr_severity_name((enum clr_severity)i)))
			return (enum clr_severity)i;
	return CLR_SEV_UNKNOWN;
}

void clr_update_op_release(struct clr_update_op *op)
{
	if (!op)
		return;
	free(op->ref);
	free(op->updater);
	free(op->fingerprint);
	free(op->date);
	free(op->kind);
	memset(op, 0, sizeof(*op));
}

void clr_update_ops_release(struct clr_vec *ops)
{
	for (size_t i = 0; i < ops->len; i++)
		clr_update_op_release(CLR_VEC_AT(ops, struct clr_update_op, i));
	clr_vec_release(ops);
}

int clr_store_uuid4(char out[37], const char *what)
{
	uint8_t b[16];
	size_t have = 0;

	while (have < sizeof(b)) {
		ssize_t n = getrandom(b + have, sizeof(b) - have, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return clr_error_set(CLR_ERROR, "cannot make %s: "
					     "getrandom: %s", what,
					     strerror(errno));
		have += (size_t)n;
	}
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4],
		 b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
		 b[14], b[15]);
	return 0;
}

void clr_store_hash_hex(char out[CLR_SHA256_HEXLEN + 1],
			const uint8_t hash[CLR_SHA256_LEN])
{
	static const char digits[] = "0123456789abcdef";

	for (int i = 0; i < CLR_SHA256_LEN; i++) {
		out[2 * i] = digits[hash[i] >> 4];
		out[2 * i + 1] = digits[hash[i] & 15];
	}
	out[CLR_SHA256_HEXLEN] = '\0';
}

static int hex_nibble(char c)
{
	return c <= '9' ? c - '0' : c - 'a' + 10;
}

static int rec_cmp(const void *a, const void *b)
{
	const struct clr_store_put_rec *x = a, *y = b;

	return memcmp(x->hash, y->hash, sizeof(x->hash));
}

/* Hashing a range of records; a second thread takes half of a big put. */
struct hash_job {
	const struct clr_vuln_set *set;
	struct clr_store_put_rec *recs;
	size_t from, to;
};

static void *hash_range(void *arg)
{
	struct hash_job *j = arg;
	char hex[CLR_SHA256_HEXLEN + 1];

	for (size_t i = j->from; i < j->to; i++) {
		const struct clr_vuln *v =
			CLR_VEC_AT(&j->set->vulns, struct clr_vuln, i);

		clr_vuln_hash(hex, v);
		for (size_t k = 0; k < CLR_SHA256_LEN; k++)
			j->recs[i].hash[k] =
				(uint8_t)(hex_nibble(hex[2 * k]) << 4 |
					  hex_nibble(hex[2 * k + 1]));
		j->recs[i].v = v;
	}
	return NULL;
}

/* Below this many records a thread costs more than it saves. */
#define HASH_THREAD_MIN 20000

/*
 * Checks the records and hashes them, then sorts by hash and drops
 * repeats.  Sorted, the backends insert into the hash index (and find
 * existing rows) in key order, which keeps a million-record put from
 * touching index pages at random.  Hashing is about a tenth of a big
 * put, so two threads share it (each record's hash is its own).
 */
static int prepare_recs(const char *updater, const struct clr_vuln_set *set,
			struct clr_store_put_rec **out, size_t *n_out)
{
	size_t n = set->vulns.len, kept = 0;
	struct clr_store_put_rec *recs;
	struct hash_job jobs[2];
	pthread_t helper;
	bool threaded;

	*out = NULL;
	*n_out = 0;
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		const struct clr_vuln *v =
			CLR_VEC_AT(&set->vulns, struct clr_vuln, i);

#define NOT_NULL(f) assert(v->f);
		CLR_STORE_VULN_STRINGS(NOT_NULL)
#undef NOT_NULL
		if (strcmp(v->updater, updater))
			return clr_error_set(CLR_EINVALID, "record %zu (%s) is "
					     "from updater '%s', not '%s'", i,
					     v->name, v->updater, updater);
		if ((unsigned)v->normalized_severity > CLR_SEV_CRITICAL)
			return clr_error_set(CLR_EINVALID, "record %zu (%s) "
					     "has normalized severity %d, not "
					     "one of Unknown..Critical", i,
					     v->name,
					     (int)v->normalized_severity);
	}
	recs = clr_malloc(n * sizeof(*recs));
	jobs[0] = (struct hash_job){ set, recs, 0, n / 2 };
	jobs[1] = (struct hash_job){ set, recs, n / 2, n };
	/* Should the thread not start, this thread does all of it. */
	threaded = n >= HASH_THREAD_MIN &&
		   !pthread_create(&helper, NULL, hash_range, &jobs[1]);
	if (!threaded)
		jobs[0].to = n;
	hash_range(&jobs[0]);
	if (threaded)
		pthread_join(helper, NULL);
	qsort(recs, n, sizeof(*recs), rec_cmp);
	for (size_t i = 0; i < n; i++)
		if (!kept || rec_cmp(&recs[kept - 1], &recs[i]))
			recs[kept++] = recs[i];
	*out = recs;
	*n_out = kept;
	return 0;
}

int clr_store_update_put(struct clr_store *s, const char *updater,
			 const char *fingerprint, const struct clr_vuln_set *vulns,
			 struct clr_update_op *out)
{
	struct clr_store_put put = { .updater = updater };
	struct clr_store_put_rec *recs = NULL;
	struct clr_update_op local;
	struct timespec t0, t1;
	char ref[37];
	int err;

	assert(vulns);
	if (!out)
		out = &local;
	memset(out, 0, sizeof(*out));
	if ((err = check_key("updater name", updater)) ||
	    (err = clr_store_uuid4(ref, "an update operation id")))
		return err;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((err = prepare_recs(updater, vulns, &recs, &put.n)))
		return err;
	put.ref = ref;
	put.fingerprint = fingerprint ? fingerprint : "";
	put.recs = recs;
	err = s->ops->update_put(s, &put, out);
	free(recs);
	if (err) {
		clr_update_op_release(out);
		return err;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	clr_log_debug("store: updater %s: operation %s stores %zu records "
		      "(%zu given) in %.3f s", updater, out->ref, out->count,
		      vulns->vulns.len, (double)(t1.tv_sec - t0.tv_sec) +
		      (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	if (out == &local)
		clr_update_op_release(&local);
	return 0;
}

int clr_store_update_latest(struct clr_store *s, const char *updater,
			    struct clr_update_op *out)
{
	int err;

	memset(out, 0, sizeof(*out));
	if ((err = check_key("updater name", updater)))
		return err;
	return s->ops->update_latest(s, updater, out);
}

int clr_store_update_get(struct clr_store *s, const char *ref,
			 struct clr_update_op *out)
{
	int err;

	memset(out, 0, sizeof(*out));
	if ((err = check_key("update operation ref", ref)))
		return err;
	return s->ops->update_get(s, ref, out);
}

int clr_store_update_list(struct clr_store *s, const char *updater,
			  struct clr_vec *out)
{
	size_t before = out->len;
	int err;

	assert(out->elem_size == sizeof(struct clr_update_op));
	if (updater && (err = check_key("updater name", updater)))
		return err;
	if ((err = s->ops->update_list(s, updater, out))) {
		for (size_t i = before; i < out->len; i++)
			clr_update_op_release(CLR_VEC_AT(out,
							 struct clr_update_op,
							 i));
		clr_vec_truncate(out, before);
	}
	return err;
}

/* Sets are appended to; a failure leaves them with their old records (the
 * strings already copied stay in the arena until it is released). */
static void set_restore(struct clr_vuln_set *set, size_t before)
{
	if (set && set->vulns.len > before)
		clr_vec_truncate(&set->vulns, before);
}

int clr_store_update_vulns(struct clr_store *s, const char *ref,
			   struct clr_vuln_set *out)
{
	size_t before = out->vulns.len;
	int err;

	assert(out->vulns.elem_size == sizeof(struct clr_vuln));
	if ((err = check_key("update operation ref", ref)))
		return err;
	if ((err = s->ops->update_vulns(s, ref, out)))
		set_restore(out, before);
	return err;
}

int clr_store_update_diff(struct clr_store *s, const char *prev_ref,
			  const char *cur_ref, struct clr_vuln_set *added,
			  struct clr_vuln_set *removed)
{
	size_t added_before = added->vulns.len;
	size_t removed_before = removed->vulns.len;
	int err;

	assert(added != removed);
	if ((prev_ref && (err = check_key("update operation ref", prev_ref))) ||
	    (err = check_key("update operation ref", cur_ref)))
		return err;
	if ((err = s->ops->update_diff(s, prev_ref, cur_ref, added,
				       removed))) {
		set_restore(added, added_before);
		set_restore(removed, removed_before);
	}
	return err;
}

int clr_store_update_gc(struct clr_store *s, size_t keep, size_t *deleted)
{
	size_t dummy;

	if (!deleted)
		deleted = &dummy;
	*deleted = 0;
	if (!keep)
		return clr_error_set(CLR_EINVALID, "update retention 0 would "
				     "delete the vulnerability data in use; "
				     "keep at least 1 operation per updater");
	return s->ops->update_gc(s, keep, deleted);
}

int clr_store_update_delete(struct clr_store *s, const char *ref,
			    bool *existed)
{
	bool dummy;
	int err;

	if (!existed)
		existed = &dummy;
	*existed = false;
	if ((err = check_key("update operation ref", ref)))
		return err;
	return s->ops->update_delete(s, ref, existed);
}

int clr_store_vulns_current(struct clr_store *s,
			    int (*each)(const struct clr_vuln *v, void *arg),
			    void *arg)
{
	assert(each);
	return s->ops->vulns_current(s, each, arg);
}

int clr_store_update_counter(struct clr_store *s, int64_t *out)
{
	*out = 0;
	return s->ops->update_counter(s, out);
}

int clr_store_status_put(struct clr_store *s, const char *updater,
			 const char *error)
{
	int err;

	if ((err = check_key("updater name", updater)))
		return err;
	if (error && !*error)
		error = "(no message)";
	return s->ops->status_put(s, updater, error);
}

static void status_free(struct clr_updater_status *st)
{
	free(st->updater);
	free(st->last_attempt);
	free(st->last_success);
	free(st->last_error);
}

void clr_updater_status_release(struct clr_vec *v)
{
	for (size_t i = 0; i < v->len; i++)
		status_free(CLR_VEC_AT(v, struct clr_updater_status, i));
	clr_vec_release(v);
}

int clr_store_status_list(struct clr_store *s, struct clr_vec *out)
{
	size_t before = out->len;
	int err;

	assert(out->elem_size == sizeof(struct clr_updater_status));
	if ((err = s->ops->status_list(s, out))) {
		for (size_t i = before; i < out->len; i++)
			status_free(CLR_VEC_AT(out, struct clr_updater_status,
					       i));
		clr_vec_truncate(out, before);
	}
	return err;
}

int clr_store_updater_trylock(struct clr_store *s, const char *updater,
			      struct clr_store_lock **out)
{
	return lock(s, updater, true, false, out);
}

int clr_store_updater_unlock(struct clr_store_lock *lock)
{
	assert(!lock || lock->updater);
	return unlock(lock);
}
