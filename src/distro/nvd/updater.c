/*
 * updater.c - the NVD source: CVSS scores from NVD's CVE API 2.0, for
 * Clair's "clair.cvss" enrichment of vulnerability reports and the legacy
 * API v1's Metadata.NVD (src/feeds/nvd.h says how the data is kept).
 *
 * One updater, "nvd".  It has no default location: NVD's API is paged
 * (2,000 CVEs a request), rate-limited without an API key, and an
 * enrichment nobody asked for should not make every `clarion update`
 * download 250,000 CVEs.  So the factory makes no updater until a
 * location is configured, and the default run then includes it.
 *
 * Settings (updaters.config.nvd.*):
 *   url   where the pages are: one or more URLs (http, https, file) or
 *         paths separated by spaces, each one page (the API's answer, or a
 *         yearly nvdcve-2.0-YYYY.json[.gz] feed, which has the same
 *         shape); or one local directory of *.json pages, read in name
 *         order, in place.
 *
 * The fingerprint of URLs is {"pages":[each page's fetch fingerprint]}:
 * every page is asked for conditionally, and when all are unchanged the
 * run is "unchanged".  When any changed, the unchanged ones are fetched
 * again (the operation is the complete set, so every page is parsed).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "feeds/nvd.h"
#include "updater/fetch.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/log.h"
#include "util/sha256.h"

/* More pages than this in one url setting is a mistake (the whole NVD is
 * ~130 API pages). */
#define NVD_MAX_PAGES 10000

/* Splits a space-separated list into a vec of char * (caller frees). */
static void split(struct clr_vec *out, const char *s)
{
	while (s && *s) {
		size_t n;
		char *w;

		s += strspn(s, " \t\r\n");
		if (!(n = strcspn(s, " \t\r\n")))
			break;
		w = clr_strndup(s, n);
		CLR_VEC_PUSH(out, &w);
		s += n;
	}
}

static void strings_free(struct clr_vec *v)
{
	for (size_t i = 0; i < v->len; i++)
		free(*CLR_VEC_AT(v, char *, i));
	clr_vec_release(v);
}

static bool is_dir(const char *path)
{
	struct stat st;

	if (!strncmp(path, "file://", 7) || strstr(path, "://"))
		return false;
	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

static bool has_json_suffix(const char *name)
{
	size_t n = strlen(name);

	return n > 5 && !strcmp(name + n - 5, ".json") && name[0] != '.';
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.json files of dir, sorted (vec of char *, names only). */
static int dir_pages(const char *dir, struct clr_vec *out)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return clr_error_set(CLR_EIO, "%s: %s", dir, strerror(errno));
	while ((e = readdir(d))) {
		char *n;

		if (!has_json_suffix(e->d_name))
			continue;
		if (out->len >= NVD_MAX_PAGES) {
			closedir(d);
			return clr_error_set(CLR_ELIMIT, "%s: more than %d pages",
					     dir, NVD_MAX_PAGES);
		}
		n = clr_strdup(e->d_name);
		CLR_VEC_PUSH(out, &n);
	}
	closedir(d);
	clr_vec_sort(out, name_cmp);
	return 0;
}

/* A local directory: read in place; unchanged when no page's name, size
 * or modification time changed. */
static int dir_fetch(const char *dir, const char *prev, struct clr_fetched *out)
{
	struct clr_vec names = CLR_VEC_INIT(char *);
	struct clr_sha256 h;
	int err;

	if ((err = dir_pages(dir, &names)))
		goto cleanup;
	clr_sha256_init(&h);
	for (size_t i = 0; i < names.len; i++) {
		const char *n = *CLR_VEC_AT(&names, char *, i);
		char path[4096];
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", dir, n);
		if (stat(path, &st)) {
			clr_sha256_release(&h);
			err = clr_error_set(CLR_EIO, "%s: %s", path,
					    strerror(errno));
			goto cleanup;
		}
		clr_fetch_dir_file(&h, n, (int64_t)st.st_size,
				   (int64_t)st.st_mtim.tv_sec * 1000000000 +
					   st.st_mtim.tv_nsec);
	}
	err = clr_fetch_dir_finish(out, dir, prev, &h);
cleanup:
	strings_free(&names);
	return err;
}

/* Page i of the previous fingerprint, or NULL. */
static const char *prev_page(json_t *prev, size_t i)
{
	return json_string_value(json_array_get(json_object_get(prev, "pages"), i));
}

/* Fetches url into dir/page-NNNNN.json; *fp gets its fingerprint. */
static int fetch_page(const char *dir, size_t i, const char *url,
		      const char *prev, char **fp)
{
	struct clr_fetch_opts o = CLR_FETCH_OPTS_INIT;
	struct clr_fetch_result r;
	char dest[4096];
	int err;

	o.prev = prev;
	o.max_decompressed = CLR_NVD_PAGE_MAX;
	if ((err = clr_fetch(&r, url, &o)))
		return err;
	if (r.is_dir) {
		clr_fetch_result_release(&r);
		return clr_error_set(CLR_EUNSUPPORTED, "%s: a zip; NVD pages are "
				     "JSON documents (gzip and the like are "
				     "fine)", url);
	}
	snprintf(dest, sizeof(dest), "%s/page-%05zu.json", dir, i);
	if (rename(r.path, dest)) {
		err = clr_error_set(CLR_EIO, "%s: %s", dest, strerror(errno));
		clr_fetch_result_release(&r);
		return err;
	}
	*fp = r.fingerprint;
	r.fingerprint = NULL;
	free(r.path);        /* renamed: nothing left to remove */
	r.path = NULL;
	clr_fetch_result_release(&r);
	return 0;
}

static int nvd_fetch(struct clr_updater *u, const char *prev,
		     struct clr_fetched *out)
{
	struct clr_vec urls = CLR_VEC_INIT(char *);
	json_t *prevj = prev ? json_loads(prev, 0, NULL) : NULL;
	json_t *fps = json_array();
	bool *same = NULL, any_changed = false;
	char *dir = NULL;
	int err = 0;

	split(&urls, u->url);
	if (!urls.len) {
		err = clr_error_set(CLR_EINVALID, "no url: set "
				    "updaters.config.nvd.url");
		goto cleanup;
	}
	if (urls.len > NVD_MAX_PAGES) {
		err = clr_error_set(CLR_ELIMIT, "more than %d pages",
				    NVD_MAX_PAGES);
		goto cleanup;
	}
	if (urls.len == 1 && is_dir(*CLR_VEC_AT(&urls, char *, 0))) {
		err = dir_fetch(*CLR_VEC_AT(&urls, char *, 0), prev, out);
		goto cleanup;
	}
	if ((err = clr_fetch_tempdir(&dir)))
		goto cleanup;
	same = clr_calloc(urls.len, sizeof(*same));
	for (size_t i = 0; i < urls.len; i++) {
		const char *url = *CLR_VEC_AT(&urls, char *, i);
		const char *pp = prev_page(prevj, i);
		char *fp = NULL;

		err = fetch_page(dir, i, url, pp, &fp);
		if (err == CLR_EUNCHANGED) {
			same[i] = true;
			json_array_append_new(fps, json_string(pp));
			err = 0;
			continue;
		}
		if (err)
			goto cleanup;
		any_changed = true;
		json_array_append_new(fps, json_string(fp));
		free(fp);
	}
	if (!any_changed) {
		err = CLR_EUNCHANGED;
		goto cleanup;
	}
	/* Something changed: the operation is the complete set, so the
	 * pages that did not change are needed too. */
	for (size_t i = 0; i < urls.len; i++) {
		char *fp = NULL;

		if (!same[i])
			continue;
		if ((err = fetch_page(dir, i, *CLR_VEC_AT(&urls, char *, i),
				      NULL, &fp)))
			goto cleanup;
		json_array_set_new(fps, i, json_string(fp));
		free(fp);
	}
	out->path = dir;
	dir = NULL;
	{
		json_t *fpo = json_pack("{s:O}", "pages", fps);

		out->fingerprint = json_dumps(fpo, JSON_COMPACT);
		json_decref(fpo);
	}
	out->borrowed = false;
cleanup:
	if (dir) {
		clr_fetch_remove(dir);
		free(dir);
	}
	free(same);
	json_decref(fps);
	json_decref(prevj);
	strings_free(&urls);
	return err;
}

static int nvd_parse(struct clr_updater *u, const struct clr_fetched *in,
		     struct clr_vuln_set *out)
{
	struct clr_vec names = CLR_VEC_INIT(char *);
	size_t skipped = 0, before = out->vulns.len;
	struct stat st;
	int err = 0;

	if (stat(in->path, &st))
		return clr_error_set(CLR_EIO, "%s: %s", in->path, strerror(errno));
	if (!S_ISDIR(st.st_mode)) {
		err = clr_nvd_parse_file(in->path, u->name, out, &skipped);
		goto done;
	}
	if ((err = dir_pages(in->path, &names)))
		goto done;
	for (size_t i = 0; i < names.len && !err; i++) {
		char path[4096];

		snprintf(path, sizeof(path), "%s/%s", in->path,
			 *CLR_VEC_AT(&names, char *, i));
		err = clr_nvd_parse_file(path, u->name, out, &skipped);
	}
done:
	strings_free(&names);
	if (!err)
		clr_log_info("update: %s: %zu CVEs with CVSS scores, %zu without "
			     "NVD's own score or rejected", u->name,
			     out->vulns.len - before, skipped);
	return err;
}

static void nvd_free(struct clr_updater *u)
{
	free(u->name);
	free(u->url);
	free(u);
}

static const struct clr_updater_ops nvd_ops = {
	.fetch = nvd_fetch,
	.parse = nvd_parse,
	.free = nvd_free,
};

static int nvd_create(struct clr_vec *out,
		      const char *(*setting)(void *arg, const char *key),
		      void *arg)
{
	const char *url = setting(arg, "url");
	struct clr_updater *u;

	if (!url || !*url) {
		/* Not an error: the default run includes every source, and
		 * this one only when asked for (see the top of the file). */
		clr_log_debug("update: nvd: no updaters.config.nvd.url, "
			      "not updating CVSS data");
		return 0;
	}
	u = clr_calloc(1, sizeof(*u));
	u->ops = &nvd_ops;
	u->name = clr_strdup("nvd");
	u->url = clr_strdup(url);
	CLR_VEC_PUSH(out, &u);
	return 0;
}

const struct clr_updater_factory clr_factory_nvd = {
	.name = "nvd",
	.create = nvd_create,
};
