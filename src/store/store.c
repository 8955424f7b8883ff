/*
 * store.c - chooses a backend by location and wraps its operations.
 *
 * The wrappers are where the rules common to both backends live, so each
 * backend only does SQL: the default location, argument checks, and the
 * list of locks a handle holds (locks do not nest, and closing a handle
 * releases what a careless caller left locked, as a PostgreSQL session
 * would).
 */
#include "store/store.h"

#include <assert.h>
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/log.h"

/* A held manifest lock.  Kept in its handle's list until unlocked. */
struct clr_store_lock {
	struct clr_store *store; /* the handle it was taken through */
	char *hash;              /* the manifest it locks */
	uint64_t token;          /* the backend's own (see clr_store_ops.lock) */
};

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

		clr_log_warn("store: manifest %s still locked at close; "
			     "releasing", lock->hash);
		clr_store_unlock_manifest(lock);
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

static int lock(struct clr_store *s, const char *manifest_hash, bool wait,
		struct clr_store_lock **out)
{
	struct clr_store_lock *l;
	uint64_t token = 0;
	int err;

	*out = NULL;
	if ((err = check_key("manifest hash", manifest_hash)))
		return err;
	/* PostgreSQL's advisory locks would nest, SQLite's rows would not:
	 * refusing here gives both backends the same rule. */
	for (size_t i = 0; i < s->locks.len; i++) {
		l = *CLR_VEC_AT(&s->locks, struct clr_store_lock *, i);
		if (!strcmp(l->hash, manifest_hash))
			return clr_error_set(CLR_EEXISTS, "manifest %s is "
					     "already locked by this handle",
					     manifest_hash);
	}
	if ((err = s->ops->lock(s, manifest_hash, wait, &token)))
		return err;
	l = clr_malloc(sizeof(*l));
	l->store = s;
	l->hash = clr_strdup(manifest_hash);
	l->token = token;
	CLR_VEC_PUSH(&s->locks, &l);
	*out = l;
	return 0;
}

int clr_store_lock_manifest(struct clr_store *s, const char *manifest_hash,
			    struct clr_store_lock **out)
{
	return lock(s, manifest_hash, true, out);
}

int clr_store_trylock_manifest(struct clr_store *s, const char *manifest_hash,
			       struct clr_store_lock **out)
{
	return lock(s, manifest_hash, false, out);
}

int clr_store_unlock_manifest(struct clr_store_lock *lock)
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
	err = s->ops->unlock(s, lock->hash, lock->token);
	lock_free(lock);
	return err;
}
