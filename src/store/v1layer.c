/*
 * v1layer.c - the legacy Clair API v1's layer names (migration 4), for
 * both backends.
 *
 * As notify.c does, the statements are plain SQL that SQLite and
 * PostgreSQL both run as written (ON CONFLICT, WITH RECURSIVE), so they
 * are written once here against the backends' sql_run primitives.
 */
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/error.h"

/* Every layer descending from $1, and $1 itself.  UNION (not UNION ALL)
 * stops at a cycle, which a client could make with a parent named after
 * a child posted earlier. */
#define DESCENDANTS                                                       \
	"WITH RECURSIVE d(name) AS (\n"                                   \
	"	SELECT name FROM v1_layer WHERE name = $1\n"                \
	"	UNION\n"                                                    \
	"	SELECT v.name FROM v1_layer v JOIN d ON v.parent_name = d.name\n" \
	")\n"

void clr_store_v1_layer_release(struct clr_store_v1_layer *l)
{
	if (!l)
		return;
	free(l->name);
	free(l->parent_name);
	free(l->layer_hash);
	free(l->path);
	free(l->manifest_hash);
	memset(l, 0, sizeof(*l));
}

static char *dup0(const char *s)
{
	return clr_strdup(s ? s : "");
}

static int row_layer(void *arg, int nc, const char *const *c)
{
	struct clr_store_v1_layer *l = arg;

	if (nc < 5)
		return 0;
	clr_store_v1_layer_release(l);
	l->name = dup0(c[0]);
	l->parent_name = dup0(c[1]);
	l->layer_hash = dup0(c[2]);
	l->path = dup0(c[3]);
	l->manifest_hash = dup0(c[4]);
	return 0;
}

int clr_store_v1_layer_get(struct clr_store *s, const char *name,
			   struct clr_store_v1_layer *out)
{
	const char *p[] = { name };
	int err;

	memset(out, 0, sizeof(*out));
	err = s->ops->sql_run(s, "SELECT name, parent_name, layer_hash, path, "
			      "manifest_hash FROM v1_layer WHERE name = $1",
			      p, 1, row_layer, out, NULL);
	if (err) {
		clr_store_v1_layer_release(out);
		return err;
	}
	if (!out->name)
		return clr_error_set(CLR_ENOTFOUND, "the resource cannot be found");
	return 0;
}

int clr_store_v1_layer_put(struct clr_store *s,
			   const struct clr_store_v1_layer *l)
{
	const char *p[] = { l->name, l->parent_name ? l->parent_name : "",
			    l->layer_hash, l->path ? l->path : "",
			    l->manifest_hash };

	if (!l->name || !*l->name || !l->layer_hash || !l->manifest_hash)
		return clr_error_set(CLR_EINVALID, "a v1 layer needs a name, a "
				     "layer digest and a manifest hash");
	return s->ops->sql_run(s, "INSERT INTO v1_layer (name, parent_name, "
			       "layer_hash, path, manifest_hash) VALUES "
			       "($1, $2, $3, $4, $5) ON CONFLICT (name) DO NOTHING",
			       p, 5, NULL, NULL, NULL);
}

static int row_string(void *arg, int nc, const char *const *c)
{
	char *v = dup0(nc > 0 ? c[0] : NULL);

	if (arg)
		CLR_VEC_PUSH((struct clr_vec *)arg, &v);
	else
		free(v);
	return 0;
}

int clr_store_v1_layer_delete(struct clr_store *s, const char *name,
			      struct clr_vec *manifests)
{
	const char *p[] = { name };
	struct clr_vec found = CLR_VEC_INIT(char *);
	int64_t changes = 0;
	int err;

	if ((err = s->ops->sql_begin(s)))
		return err;
	err = s->ops->sql_run(s, DESCENDANTS "SELECT l.manifest_hash FROM "
			      "v1_layer l JOIN d ON l.name = d.name", p, 1,
			      row_string, &found, NULL);
	if (!err)
		err = s->ops->sql_run(s, "DELETE FROM v1_layer WHERE name IN ("
				      DESCENDANTS "SELECT name FROM d)", p, 1,
				      NULL, NULL, &changes);
	if (!err && !changes)
		err = clr_error_set(CLR_ENOTFOUND, "the resource cannot be found");
	if (!err)
		err = s->ops->sql_commit(s);
	else
		s->ops->sql_rollback(s);
	if (!err && manifests) {
		for (size_t i = 0; i < found.len; i++)
			CLR_VEC_PUSH(manifests, CLR_VEC_AT(&found, char *, i));
		clr_vec_release(&found);
	} else {
		clr_store_strings_release(&found);
	}
	return err;
}
