/*
 * coalesce.c - turning layers into an image (see coalesce.h).
 *
 * The coalescer works on the JSON artifacts, the same whether they were
 * scanned just now or read from the layer cache, so a cached and a fresh
 * index give byte-identical reports.
 */
#include "indexer/coalesce.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scanners/scanner.h"

/* Whether path is a package database some package scanner reads. */
static bool is_package_db(const char *path)
{
	for (size_t i = 0; i < clr_scanners_count; i++) {
		const struct clr_scanner *s = clr_scanners[i];

		if (!strcmp(s->kind, "package") && s->want(path))
			return true;
	}
	return false;
}

/* Whether path lies strictly under dir ("" is the root). */
static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (!n)
		return true;
	return !strncmp(path, dir, n) && path[n] == '/';
}

/* Whether the whiteouts of one layer delete path from the layers below. */
static bool whited_out(json_t *artifacts, const char *path)
{
	json_t *wh = json_object_get(artifacts, "whiteouts"), *w;
	size_t i;

	json_array_foreach(wh, i, w) {
		const char *p = json_string_value(json_object_get(w, "path"));
		bool opaque = json_is_true(json_object_get(w, "opaque"));

		if (!p)
			continue;
		if (opaque ? under(path, p) : (!strcmp(path, p) || under(path, p)))
			return true;
	}
	return false;
}

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* The identity that keeps a package's introducing layer across rewrites. */
static bool same_package(json_t *a, json_t *b)
{
	return !strcmp(str(a, "name"), str(b, "name")) &&
	       !strcmp(str(a, "version"), str(b, "version")) &&
	       !strcmp(str(a, "arch"), str(b, "arch"));
}

static int cmp_pkg(const void *pa, const void *pb)
{
	json_t *a = *(json_t *const *)pa, *b = *(json_t *const *)pb;
	int c;

	if ((c = strcmp(str(a, "package_db"), str(b, "package_db"))))
		return c;
	if ((c = strcmp(str(a, "name"), str(b, "name"))))
		return c;
	if ((c = strcmp(str(a, "version"), str(b, "version"))))
		return c;
	return strcmp(str(a, "arch"), str(b, "arch"));
}

json_t *clr_coalesce(const char *manifest_hash,
		     const struct clr_coalesce_layer *layers, size_t n)
{
	/* db path -> array of {"pkg": package, "layer": introduced_in} */
	json_t *dbs = json_object(), *dist = NULL;
	json_t *report, *packages, *dists, *envs, **all = NULL;
	const char *db;
	json_t *entries, *tmp;
	size_t nall = 0, i, k;

	for (i = 0; i < n; i++) {
		json_t *a = layers[i].artifacts, *files, *f, *pkgs, *p, *d;
		size_t j;

		/* This layer's whiteouts remove databases below it. */
		json_object_foreach_safe(dbs, tmp, db, entries) {
			if (whited_out(a, db))
				json_object_del(dbs, db);
		}
		/* Each database file this layer holds replaces the old one. */
		files = json_object_get(a, "files");
		pkgs = json_object_get(a, "packages");
		json_array_foreach(files, j, f) {
			const char *path = json_string_value(f);
			json_t *old, *fresh;

			if (!path || !is_package_db(path))
				continue;
			fresh = json_array();
			old = json_object_get(dbs, path);
			json_array_foreach(pkgs, k, p) {
				const char *intro = layers[i].digest;
				json_t *e;
				size_t m;

				if (strcmp(str(p, "package_db"), path))
					continue;
				json_array_foreach(old, m, e) {
					if (same_package(json_object_get(e, "pkg"), p)) {
						intro = str(e, "layer");
						break;
					}
				}
				json_array_append_new(fresh, json_pack("{s:O, s:s}",
					"pkg", p, "layer", intro));
			}
			json_object_set_new(dbs, path, fresh);
		}
		d = json_array_get(json_object_get(a, "distributions"), 0);
		if (d)
			dist = d;
	}

	json_object_foreach(dbs, db, entries)
		nall += json_array_size(entries);
	all = calloc(nall ? nall : 1, sizeof(*all));
	nall = 0;
	json_object_foreach(dbs, db, entries) {
		json_t *e;

		json_array_foreach(entries, i, e) {
			json_t *p = json_deep_copy(json_object_get(e, "pkg"));

			json_object_set(p, "introduced_in", json_object_get(e, "layer"));
			all[nall++] = p;
		}
	}
	qsort(all, nall, sizeof(*all), cmp_pkg);

	packages = json_object();
	dists = json_object();
	envs = json_object();
	if (dist) {
		json_t *d = json_deep_copy(dist);

		json_object_set_new(d, "id", json_string("1"));
		json_object_set_new(dists, "1", d);
	}
	for (i = 0; i < nall; i++) {
		json_t *p = all[i], *src = json_object_get(p, "source"), *pkg, *env;
		char id[32], sid[32];

		snprintf(id, sizeof(id), "%zu", i + 1);
		pkg = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
				"id", id, "name", str(p, "name"),
				"version", str(p, "version"), "kind", str(p, "kind"),
				"arch", str(p, "arch"), "cpe", str(p, "cpe"),
				"normalized_version", "");
		if (*str(p, "module"))
			json_object_set_new(pkg, "module", json_string(str(p, "module")));
		if (src && *str(src, "name")) {
			snprintf(sid, sizeof(sid), "%zu-source", i + 1);
			json_object_set_new(pkg, "source", json_pack(
				"{s:s, s:s, s:s, s:s, s:s}", "id", sid,
				"name", str(src, "name"), "version", str(src, "version"),
				"kind", "source", "normalized_version", ""));
		}
		json_object_set_new(packages, id, pkg);
		env = json_pack("{s:s, s:s, s:s, s:[]}",
				"package_db", str(p, "package_db"),
				"introduced_in", str(p, "introduced_in"),
				"distribution_id", dist ? "1" : "",
				"repository_ids");
		json_object_set_new(envs, id, json_pack("[o]", env));
		json_decref(p);
	}
	free(all);
	json_decref(dbs);

	report = json_pack("{s:s, s:s, s:b, s:s, s:o, s:o, s:{}, s:o}",
			   "manifest_hash", manifest_hash, "state", "IndexFinished",
			   "success", 1, "err", "", "packages", packages,
			   "distributions", dists, "repository", "environments", envs);
	return report;
}
