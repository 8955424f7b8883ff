/*
 * controller.c - the indexer's state machine (see indexer.h).
 *
 * Layers are read by a small pool of threads, each pulling the next layer
 * that some scanner has not seen; reading a layer is streaming (download,
 * hash and inflate overlap inside the layer reader and the registry's
 * download thread), so the pool bounds the number of layers in flight, not
 * their size.  Only the calling thread touches the store.
 */
#include "indexer/indexer.h"

#include <pthread.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"
#include "image/uri.h"
#include "indexer/artifacts.h"
#include "indexer/coalesce.h"
#include "scanners/scanner.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/log.h"

#define NSCANNERS_MAX 16

/* One layer's work and outcome. */
struct layer_job {
	const struct clr_image_layer *layer;
	bool cached;       /* every scanner's artifacts came from the store */
	json_t *artifacts; /* the merged artifacts (artifacts.h) */
	json_t *per_scanner[NSCANNERS_MAX + 1]; /* fresh results to store,
						 * last slot: the layer pseudo-scanner */
	int err;
	char msg[512];
};

struct pool {
	struct clr_image_source *src;
	const struct clr_layer_limits *limits;
	struct layer_job *jobs;
	size_t njobs;
	size_t next;          /* next job to take */
	pthread_mutex_t mu;   /* next; open_blob */
};

static bool want(const char *path, void *arg)
{
	(void)arg;
	return clr_scanners_want(path);
}

/*
 * Runs every scanner over a layer's kept files: job->per_scanner[i] gets
 * scanner i's artifacts (what the layer cache stores), the last slot the
 * layer pseudo-scanner's files and whiteouts, and job->artifacts the merge
 * of all of them (a separate object: the rows are stored as they are).
 */
static int scan_contents(struct layer_job *job, const struct clr_layer_contents *c)
{
	struct clr_scan_file *files;
	struct clr_scan_input in;
	size_t i, n = clr_vec_len(&c->files);
	int err = 0;

	files = clr_calloc(n ? n : 1, sizeof(*files));
	for (i = 0; i < n; i++) {
		const struct clr_layer_file *f = clr_vec_get(&c->files, i);

		files[i].path = f->path;
		files[i].data = (const unsigned char *)f->data;
		files[i].len = f->data ? f->len : 0;
		files[i].link_target = f->kind == CLR_LAYER_SYMLINK ? f->link : NULL;
	}
	in.files = files;
	in.nfiles = n;
	job->per_scanner[clr_scanners_count] = clr_artifacts_from_layer(c);
	job->artifacts = json_object();
	clr_artifacts_merge(job->artifacts, job->per_scanner[clr_scanners_count]);
	for (i = 0; i < clr_scanners_count && !err; i++) {
		struct clr_scan_result r;

		clr_scan_result_init(&r);
		err = clr_scanners[i]->scan(&in, &r);
		if (!err) {
			json_t *part = clr_artifacts_from_result(&r);

			if (!strcmp(clr_scanners[i]->kind, "package"))
				json_object_del(part, "distributions");
			else
				json_object_del(part, "packages");
			job->per_scanner[i] = part;
			clr_artifacts_merge(job->artifacts, part);
		}
		clr_scan_result_release(&r);
	}
	free(files);
	return err;
}

static int scan_layer(struct pool *p, struct layer_job *job)
{
	struct clr_layer_select sel = { want, NULL, 0 };
	struct clr_layer_contents c;
	struct clr_stream *blob = NULL;
	int err;

	pthread_mutex_lock(&p->mu);
	err = p->src->ops->open_blob(&blob, p->src, job->layer->digest);
	pthread_mutex_unlock(&p->mu);
	if (err)
		return err;
	err = clr_layer_read(&c, blob, job->layer->digest, &sel, p->limits);
	clr_stream_close(blob);
	if (err)
		return err;
	err = scan_contents(job, &c);
	clr_layer_contents_release(&c);
	return err;
}

static void *worker(void *arg)
{
	struct pool *p = arg;

	for (;;) {
		struct layer_job *job = NULL;

		pthread_mutex_lock(&p->mu);
		while (p->next < p->njobs && p->jobs[p->next].cached)
			p->next++;
		if (p->next < p->njobs)
			job = &p->jobs[p->next++];
		pthread_mutex_unlock(&p->mu);
		if (!job)
			return NULL;
		clr_error_clear();
		job->err = scan_layer(p, job);
		if (job->err)
			snprintf(job->msg, sizeof(job->msg), "%s", clr_error_msg());
	}
}

/* Fills job from the layer cache when every scanner has seen the layer. */
static int load_cached(struct clr_store *store, struct layer_job *job,
		       const struct clr_store_scanner *ids, size_t nids)
{
	bool scanned[NSCANNERS_MAX + 1];
	json_t *whole;
	int err;

	if (!store)
		return 0;
	if ((err = clr_store_layer_scanned(store, job->layer->digest, ids, nids,
					   scanned)))
		return err;
	for (size_t i = 0; i < nids; i++)
		if (!scanned[i])
			return 0;
	whole = json_object();
	for (size_t i = 0; i < nids; i++) {
		char *text = NULL;
		json_t *part;
		json_error_t jerr;

		if ((err = clr_store_layer_scan_get(store, job->layer->digest,
						    &ids[i], &text)))
			goto fail;
		part = json_loads(text, 0, &jerr);
		free(text);
		if (!part) {
			err = clr_error_set(CLR_EINVALID, "cached artifacts of "
					    "layer %s are corrupt: %s",
					    job->layer->digest, jerr.text);
			goto fail;
		}
		clr_artifacts_merge(whole, part);
		json_decref(part);
	}
	job->artifacts = whole;
	job->cached = true;
	return 0;
fail:
	json_decref(whole);
	return err;
}

static int store_fresh(struct clr_store *store, struct layer_job *job,
		       const struct clr_store_scanner *ids, size_t nids)
{
	for (size_t i = 0; i < nids; i++) {
		char *text;
		int err;

		if (!job->per_scanner[i])
			continue;
		text = json_dumps(job->per_scanner[i], JSON_COMPACT | JSON_SORT_KEYS);
		err = clr_store_layer_scan_put(store, job->layer->digest, &ids[i], text);
		free(text);
		if (err)
			return err;
	}
	return 0;
}

static int put_report(struct clr_store *store, const char *hash,
		      const char *state, json_t *report,
		      const struct clr_image *img)
{
	struct clr_store_report r;
	const char **layers;
	char *text;
	int err;

	layers = clr_calloc(img->n_layers ? img->n_layers : 1, sizeof(*layers));
	for (size_t i = 0; i < img->n_layers; i++)
		layers[i] = img->layers[i].digest;
	text = json_dumps(report, JSON_COMPACT | JSON_SORT_KEYS);
	r.index_state = (char *)clr_indexer_state();
	r.state = (char *)state;
	r.report = text;
	err = clr_store_report_put(store, hash, &r, layers, img->n_layers);
	free(text);
	free(layers);
	return err;
}

static char state_buf[CLR_SHA256_HEXLEN + 1];

static void state_init(void)
{
	clr_scanners_state(state_buf);
}

const char *clr_indexer_state(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, state_init);
	return state_buf;
}

/* *report: the stored report of hash if it is finished and made by the
 * current scanners, else NULL. */
static int stored_report(json_t **report, struct clr_store *store,
			 const char *hash)
{
	struct clr_store_report r;
	int err;

	*report = NULL;
	err = clr_store_report_get(store, hash, &r);
	if (err == CLR_ENOTFOUND)
		return 0;
	if (err)
		return err;
	if (!strcmp(r.state, "IndexFinished") &&
	    !strcmp(r.index_state, clr_indexer_state())) {
		json_error_t jerr;

		/* A report that does not parse is indexed again. */
		*report = json_loads(r.report, 0, &jerr);
		if (*report)
			clr_log_debug("%s: answered from the store", hash);
	}
	clr_store_report_release(&r);
	return 0;
}

static int index_dir(json_t **report, struct clr_image *img,
		     const struct clr_indexer_opts *opts)
{
	struct layer_job job = { 0 };
	struct clr_layer_select sel = { want, NULL, 0 };
	struct clr_layer_contents c;
	struct clr_coalesce_layer l;
	int err;

	if ((err = clr_layer_read_dir(&c, img->rootfs, &sel, opts->limits)))
		return err;
	err = scan_contents(&job, &c);
	clr_layer_contents_release(&c);
	if (!err) {
		/* A root filesystem has no manifest; its report is keyed by
		 * the digest of the artifacts, which is what it contains. */
		char *text = json_dumps(job.artifacts, JSON_COMPACT | JSON_SORT_KEYS);
		uint8_t d[CLR_SHA256_LEN];
		char hash[CLR_DIGEST_STRLEN + 1];

		clr_sha256(d, text, strlen(text));
		clr_digest_format(hash, d);
		free(text);
		l.digest = hash;
		l.artifacts = job.artifacts;
		*report = clr_coalesce(hash, &l, 1);
	}
	json_decref(job.artifacts);
	for (size_t k = 0; k <= NSCANNERS_MAX; k++)
		json_decref(job.per_scanner[k]);
	return err;
}

static int index_resolved(json_t **report, struct clr_store *store,
			  struct clr_image_source *src, struct clr_image *img,
			  const struct clr_indexer_opts *opts);

int clr_index_image(json_t **report, struct clr_store *store,
		    const char *image, const struct clr_indexer_opts *opts)
{
	static const struct clr_indexer_opts no_opts;
	struct clr_image_source *src = NULL;
	struct clr_image *img = NULL;
	int err;

	*report = NULL;
	if (!opts)
		opts = &no_opts;
	/* CheckManifest */
	if ((err = clr_image_source_open(&src, image, &opts->source)))
		return err;
	if ((err = clr_image_resolve(&img, src, opts->source.platform)))
		goto out;
	if (img->rootfs)
		err = index_dir(report, img, opts);
	else
		err = index_resolved(report, store, src, img, opts);
out:
	clr_image_free(img);
	clr_image_source_free(src);
	return err;
}

int clr_index_manifest(json_t **report, struct clr_store *store,
		       const struct clr_uri_manifest *m,
		       const struct clr_indexer_opts *opts)
{
	static const struct clr_indexer_opts no_opts;
	struct clr_image_source *src = NULL;
	struct clr_image *img = NULL;
	int err;

	*report = NULL;
	if (!opts)
		opts = &no_opts;
	if ((err = clr_uri_source_open(&src, m, &opts->source)))
		return err;
	clr_uri_manifest_image(&img, m);
	err = index_resolved(report, store, src, img, opts);
	clr_image_free(img);
	clr_image_source_free(src);
	return err;
}

/* From CheckManifest's store lookup on, for a resolved image with layers. */
static int index_resolved(json_t **report, struct clr_store *store,
			  struct clr_image_source *src, struct clr_image *img,
			  const struct clr_indexer_opts *opts)
{
	struct clr_store_lock *lock = NULL;
	struct clr_store_scanner ids[NSCANNERS_MAX + 1];
	struct clr_coalesce_layer *cl = NULL;
	struct pool pool = { 0 };
	pthread_t threads[8];
	size_t nids = 0, i;
	int nthreads, err;

	if (clr_scanners_count > NSCANNERS_MAX)
		return clr_error_set(CLR_ERROR, "too many scanners");
	for (i = 0; i < clr_scanners_count; i++) {
		ids[nids].name = clr_scanners[i]->name;
		ids[nids++].version = clr_scanners[i]->version;
	}
	ids[nids].name = CLR_LAYER_SCANNER_NAME;
	ids[nids++].version = CLR_LAYER_SCANNER_VERSION;

	if (store) {
		/* A finished report is final, so the common case, an image
		 * already indexed, is answered without taking the lock (which
		 * writes); only work to do is serialised, then checked again. */
		if ((err = stored_report(report, store, img->manifest_digest)) ||
		    *report)
			goto out;
		if ((err = clr_store_lock_manifest(store, img->manifest_digest, &lock)) ||
		    (err = stored_report(report, store, img->manifest_digest)) ||
		    *report)
			goto out;
	}

	/* FetchLayers, ScanLayers */
	pool.src = src;
	pool.limits = opts->limits;
	pool.njobs = img->n_layers;
	pool.jobs = clr_calloc(img->n_layers ? img->n_layers : 1, sizeof(*pool.jobs));
	pthread_mutex_init(&pool.mu, NULL);
	for (i = 0; i < img->n_layers; i++) {
		pool.jobs[i].layer = &img->layers[i];
		if ((err = load_cached(store, &pool.jobs[i], ids, nids)))
			goto out;
	}
	nthreads = opts->parallel_layers > 0 ? opts->parallel_layers : 3;
	if (nthreads > 8)
		nthreads = 8;
	if ((size_t)nthreads > img->n_layers)
		nthreads = (int)img->n_layers;
	for (i = 0; i < (size_t)nthreads; i++)
		if (pthread_create(&threads[i], NULL, worker, &pool)) {
			nthreads = (int)i;
			break;
		}
	for (i = 0; i < (size_t)nthreads; i++)
		pthread_join(threads[i], NULL);
	for (i = 0; i < img->n_layers; i++) {
		struct layer_job *job = &pool.jobs[i];

		if (job->err) {
			err = clr_error_set(job->err, "%s", job->msg);
			break;
		}
		if (!job->cached && store &&
		    (err = store_fresh(store, job, ids, nids)))
			break;
	}
	if (err) {
		/* IndexError is recorded for what will not change by retrying;
		 * a network failure leaves no trace, so the next try is clean. */
		if (store && err != CLR_ENET && err != CLR_ENOMEM) {
			char msg[1024];
			json_t *e;

			snprintf(msg, sizeof(msg), "%s", clr_error_msg());
			e = json_pack("{s:s, s:s, s:b, s:s, s:{}, s:{}, s:{}, s:{}}",
				      "manifest_hash", img->manifest_digest,
				      "state", "IndexError", "success", 0,
				      "err", msg, "packages", "distributions",
				      "repository", "environments");
			if (put_report(store, img->manifest_digest, "IndexError", e, img))
				clr_log_warn("could not record the index error: %s",
					     clr_error_msg());
			json_decref(e);
			clr_error_set(err, "%s", msg);
		}
		goto out;
	}

	/* Coalesce, IndexManifest, IndexFinished */
	cl = clr_calloc(img->n_layers ? img->n_layers : 1, sizeof(*cl));
	for (i = 0; i < img->n_layers; i++) {
		cl[i].digest = img->layers[i].digest;
		cl[i].artifacts = pool.jobs[i].artifacts;
	}
	*report = clr_coalesce(img->manifest_digest, cl, img->n_layers);
	if (store && (err = put_report(store, img->manifest_digest,
				       "IndexFinished", *report, img))) {
		json_decref(*report);
		*report = NULL;
	}

out:
	if (pool.jobs) {
		for (i = 0; i < pool.njobs; i++) {
			json_decref(pool.jobs[i].artifacts);
			for (size_t k = 0; k <= NSCANNERS_MAX; k++)
				json_decref(pool.jobs[i].per_scanner[k]);
		}
		free(pool.jobs);
		pthread_mutex_destroy(&pool.mu);
	}
	free(cl);
	if (lock) {
		int uerr = clr_store_unlock_manifest(lock);

		if (!err && uerr)
			err = uerr;
	}
	return err;
}
