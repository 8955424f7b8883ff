/*
 * artifacts.c - scan results to and from the JSON the layer cache holds.
 */
#include "indexer/artifacts.h"

#include <string.h>

#include "util/vec.h"

static json_t *package_json(const struct clr_scan_package *p)
{
	return json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:s}, s:s, s:s, s:s, s:s}",
			 "name", p->name, "version", p->version, "kind", p->kind,
			 "source", "name", p->source.name, "version",
			 p->source.version, "kind", p->source.kind,
			 "arch", p->arch, "module", p->module, "cpe", p->cpe,
			 "package_db", p->package_db);
}

static json_t *distribution_json(const struct clr_scan_distribution *d)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
			 "did", d->did, "name", d->name, "version", d->version,
			 "version_id", d->version_id, "version_code_name",
			 d->version_code_name, "pretty_name", d->pretty_name,
			 "cpe", d->cpe, "arch", d->arch);
}

json_t *clr_artifacts_from_result(const struct clr_scan_result *r)
{
	json_t *o = json_object(), *pkgs = json_array(), *dists = json_array();
	size_t i;

	for (i = 0; i < clr_vec_len(&r->packages); i++)
		json_array_append_new(pkgs, package_json(
			clr_vec_get(&r->packages, i)));
	for (i = 0; i < clr_vec_len(&r->distributions); i++)
		json_array_append_new(dists, distribution_json(
			clr_vec_get(&r->distributions, i)));
	json_object_set_new(o, "packages", pkgs);
	json_object_set_new(o, "distributions", dists);
	return o;
}

json_t *clr_artifacts_from_layer(const struct clr_layer_contents *c)
{
	json_t *o = json_object(), *files = json_array(), *wh = json_array();
	size_t i;

	for (i = 0; i < clr_vec_len(&c->files); i++) {
		const struct clr_layer_file *f = clr_vec_get(&c->files, i);

		json_array_append_new(files, json_string(f->path));
	}
	for (i = 0; i < clr_vec_len(&c->whiteouts); i++) {
		const struct clr_layer_whiteout *w = clr_vec_get(&c->whiteouts, i);

		json_array_append_new(wh, json_pack("{s:s, s:b}", "path", w->path,
						    "opaque", w->opaque));
	}
	json_object_set_new(o, "files", files);
	json_object_set_new(o, "whiteouts", wh);
	return o;
}

void clr_artifacts_merge(json_t *whole, json_t *part)
{
	const char *key;
	json_t *val;

	json_object_foreach(part, key, val) {
		json_t *have = json_object_get(whole, key);

		/* Arrays are copied, never shared: whole is extended later and
		 * part may be stored as it is. */
		if (have && json_is_array(have) && json_is_array(val))
			json_array_extend(have, val);
		else
			json_object_set_new(whole, key, json_copy(val));
	}
}
