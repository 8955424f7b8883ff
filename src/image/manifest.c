/*
 * manifest.c - parsing every manifest format into one struct, and choosing
 * a platform from an index (see manifest.h).
 *
 * The documents come from registries and image files we do not control,
 * so the parser is strict where being lax could change what gets scanned:
 * duplicate keys are refused (two parsers could pick different values),
 * every field has exactly the JSON type the specifications give it, every
 * digest is a valid sha256 digest, and sizes are non-negative integers.
 * Fields clarion does not use are ignored, whatever they hold, so that
 * manifests written by newer tools still parse.
 */
#include "image/manifest.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/sha256.h"

#define REF_NAME_KEY "org.opencontainers.image.ref.name"

/* How many alternative URLs one descriptor may list. */
#define MAX_URLS 64

/* Room for a field path such as "manifests[1023].platform.os.features". */
#define PATH_MAX_LEN 96

/* The media types this file understands, as static strings, so that
 * struct clr_manifest can point at them. */
static const char *const known_types[] = {
	CLR_MT_DOCKER_V2, CLR_MT_OCI_MANIFEST, CLR_MT_DOCKER_LIST,
	CLR_MT_OCI_INDEX, CLR_MT_DOCKER_V1, CLR_MT_DOCKER_V1_JWS,
};

/* Types a registry may send for a manifest without saying what it is. */
static const char *const generic_types[] = {
	"application/json", "text/plain", "application/octet-stream",
	"binary/octet-stream",
};

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:  return "an object";
	case JSON_ARRAY:   return "an array";
	case JSON_STRING:  return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL:    return "a number";
	case JSON_TRUE:
	case JSON_FALSE:   return "a boolean";
	case JSON_NULL:    return "null";
	}
	return "something else";
}

static int wrong_type(const char *path, const char *want, const json_t *v)
{
	return clr_error_set(CLR_EINVALID, "%s: must be %s, not %s", path,
			     want, type_name(v));
}

static int missing(const char *path)
{
	return clr_error_set(CLR_EINVALID, "%s: missing", path);
}

/* Compares a media type, ignoring parameters ("; charset=utf-8") and the
 * blanks before them, with a bare type. */
static bool type_equal(const char *mt, const char *bare)
{
	size_t n = strcspn(mt, ";");

	while (n && (mt[n - 1] == ' ' || mt[n - 1] == '\t'))
		n--;
	return n == strlen(bare) && !strncmp(mt, bare, n);
}

static const char *known_type(const char *mt)
{
	for (size_t i = 0; i < sizeof(known_types) / sizeof(*known_types); i++)
		if (type_equal(mt, known_types[i]))
			return known_types[i];
	return NULL;
}

static bool generic_type(const char *mt)
{
	for (size_t i = 0; i < sizeof(generic_types) / sizeof(*generic_types);
	     i++)
		if (type_equal(mt, generic_types[i]))
			return true;
	return false;
}

static bool is_schema1(const char *mt)
{
	return mt == known_types[4] || mt == known_types[5];
}

int clr_manifest_type_is_index(const char *media_type)
{
	return media_type && (type_equal(media_type, CLR_MT_DOCKER_LIST) ||
			      type_equal(media_type, CLR_MT_OCI_INDEX));
}

/* A string member.  *out stays NULL when the member is absent and not
 * required. */
static int get_string(const json_t *obj, const char *key, const char *path,
		      bool required, const char **out)
{
	const json_t *v = json_object_get(obj, key);
	char p[PATH_MAX_LEN + 32];

	*out = NULL;
	snprintf(p, sizeof(p), "%s%s%s", path, *path ? "." : "", key);
	if (!v)
		return required ? missing(p) : 0;
	if (!json_is_string(v))
		return wrong_type(p, "a string", v);
	*out = json_string_value(v);
	return 0;
}

static int get_array(const json_t *obj, const char *key, bool required,
		     size_t max, const json_t **out)
{
	const json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v)
		return required ? missing(key) : 0;
	if (!json_is_array(v))
		return wrong_type(key, "an array", v);
	if (json_array_size(v) > max)
		return clr_error_set(CLR_ELIMIT,
				     "%s: %zu entries, more than the limit "
				     "of %zu", key, json_array_size(v), max);
	*out = v;
	return 0;
}

static void descriptor_release(struct clr_descriptor *d)
{
	free(d->media_type);
	free(d->digest);
	for (size_t i = 0; i < d->n_urls; i++)
		free(d->urls[i]);
	free(d->urls);
	free(d->ref_name);
}

static int parse_digest(const char *s, const char *path)
{
	if (clr_digest_parse(NULL, s))
		return clr_error_prefix(CLR_EINVALID, "%s", path);
	return 0;
}

static int parse_annotations(const json_t *o, const char *path,
			     struct clr_descriptor *d)
{
	const json_t *a = json_object_get(o, "annotations"), *v;
	const char *key;
	char p[PATH_MAX_LEN + 32];

	if (!a)
		return 0;
	snprintf(p, sizeof(p), "%s.annotations", path);
	if (!json_is_object(a))
		return wrong_type(p, "an object", a);
	json_object_foreach((json_t *)a, key, v) {
		if (!json_is_string(v))
			return clr_error_set(CLR_EINVALID,
					     "%s: the value of '%.64s' must be "
					     "a string, not %s", p, key,
					     type_name(v));
	}
	v = json_object_get(a, REF_NAME_KEY);
	if (v)
		d->ref_name = clr_strdup(json_string_value(v));
	return 0;
}

/* A descriptor object (OCI image-spec descriptor.md). */
static int parse_descriptor(const json_t *o, const char *path,
			    struct clr_descriptor *d)
{
	const char *mt, *digest;
	const json_t *size, *urls;
	char p[PATH_MAX_LEN + 32];
	int err;

	if (!json_is_object(o))
		return wrong_type(path, "an object", o);
	if ((err = get_string(o, "mediaType", path, true, &mt)) ||
	    (err = get_string(o, "digest", path, true, &digest)))
		return err;
	snprintf(p, sizeof(p), "%s.digest", path);
	if ((err = parse_digest(digest, p)))
		return err;
	snprintf(p, sizeof(p), "%s.size", path);
	size = json_object_get(o, "size");
	if (!size)
		return missing(p);
	if (!json_is_integer(size))
		return wrong_type(p, "an integer", size);
	if (json_integer_value(size) < 0)
		return clr_error_set(CLR_EINVALID, "%s: negative (%" PRId64 ")",
				     p, (int64_t)json_integer_value(size));
	d->media_type = clr_strdup(mt);
	d->digest = clr_strdup(digest);
	d->size = (int64_t)json_integer_value(size);

	snprintf(p, sizeof(p), "%s.urls", path);
	urls = json_object_get(o, "urls");
	if (urls) {
		if (!json_is_array(urls))
			return wrong_type(p, "an array", urls);
		if (json_array_size(urls) > MAX_URLS)
			return clr_error_set(CLR_ELIMIT,
					     "%s: more than %d URLs", p,
					     MAX_URLS);
		d->urls = clr_calloc(json_array_size(urls) + 1,
				     sizeof(*d->urls));
		for (size_t i = 0; i < json_array_size(urls); i++) {
			const json_t *u = json_array_get(urls, i);

			if (!json_is_string(u))
				return clr_error_set(CLR_EINVALID,
						     "%s[%zu]: must be a "
						     "string, not %s", p, i,
						     type_name(u));
			d->urls[d->n_urls++] = clr_strdup(json_string_value(u));
		}
	}
	return parse_annotations(o, path, d);
}

static int parse_platform(const json_t *o, const char *path,
			  struct clr_platform_entry *e)
{
	const json_t *pl = json_object_get(o, "platform"), *features;
	const char *os, *arch, *variant, *osver;
	char p[PATH_MAX_LEN + 32];
	int err;

	snprintf(p, sizeof(p), "%s.platform", path);
	if (!pl)
		return 0;
	if (!json_is_object(pl))
		return wrong_type(p, "an object", pl);
	if ((err = get_string(pl, "os", p, true, &os)) ||
	    (err = get_string(pl, "architecture", p, true, &arch)) ||
	    (err = get_string(pl, "variant", p, false, &variant)) ||
	    (err = get_string(pl, "os.version", p, false, &osver)))
		return err;
	for (int i = 0; i < 2; i++) {
		const char *key = i ? "features" : "os.features";
		char fp[PATH_MAX_LEN + 48];

		features = json_object_get(pl, key);
		snprintf(fp, sizeof(fp), "%s.%s", p, key);
		if (features && !json_is_array(features))
			return wrong_type(fp, "an array", features);
	}
	if (*os && *arch) {
		e->os = clr_strdup(os);
		e->architecture = clr_strdup(arch);
		if (variant && *variant)
			e->variant = clr_strdup(variant);
	}
	return 0;
}

static int parse_index(struct clr_manifest *m, const json_t *root)
{
	const json_t *list;
	int err;

	if ((err = get_array(root, "manifests", true, CLR_MANIFEST_MAX_ENTRIES,
			     &list)))
		return err;
	m->kind = CLR_MANIFEST_INDEX;
	m->entries = clr_calloc(json_array_size(list) + 1, sizeof(*m->entries));
	for (size_t i = 0; i < json_array_size(list); i++) {
		const json_t *o = json_array_get(list, i);
		struct clr_platform_entry *e = &m->entries[m->n_entries++];
		char p[PATH_MAX_LEN];

		snprintf(p, sizeof(p), "manifests[%zu]", i);
		if ((err = parse_descriptor(o, p, &e->desc)) ||
		    (err = parse_platform(o, p, e)))
			return err;
		/* A Docker manifest list exists to say which platform each
		 * entry is for; OCI makes the platform optional. */
		if (m->media_type == known_types[2] &&
		    !json_object_get(o, "platform"))
			return clr_error_set(CLR_EINVALID, "%s.platform: "
					     "missing", p);
	}
	return 0;
}

static int parse_image(struct clr_manifest *m, const json_t *root)
{
	const json_t *config = json_object_get(root, "config"), *layers;
	int err;

	m->kind = CLR_MANIFEST_IMAGE;
	if (!config)
		return missing("config");
	if ((err = parse_descriptor(config, "config", &m->config)) ||
	    (err = get_array(root, "layers", true, CLR_MANIFEST_MAX_LAYERS,
			     &layers)))
		return err;
	m->layers = clr_calloc(json_array_size(layers) + 1,
			       sizeof(*m->layers));
	for (size_t i = 0; i < json_array_size(layers); i++) {
		char p[PATH_MAX_LEN];

		snprintf(p, sizeof(p), "layers[%zu]", i);
		if ((err = parse_descriptor(json_array_get(layers, i), p,
					    &m->layers[m->n_layers++])))
			return err;
	}
	return 0;
}

/* Whether history[i] of a schema 1 manifest marks an empty layer. */
static int schema1_throwaway(const json_t *history, size_t i, bool *out)
{
	const json_t *h = json_array_get(history, i), *t;
	json_t *c;
	const char *s;
	json_error_t jerr;
	char p[PATH_MAX_LEN];
	int err;

	*out = false;
	snprintf(p, sizeof(p), "history[%zu]", i);
	if (!json_is_object(h))
		return wrong_type(p, "an object", h);
	if ((err = get_string(h, "v1Compatibility", p, true, &s)))
		return err;
	c = json_loads(s, JSON_REJECT_DUPLICATES, &jerr);
	if (!c)
		return clr_error_set(CLR_EINVALID, "%s.v1Compatibility: "
				     "invalid JSON: %s", p, jerr.text);
	err = 0;
	if (!json_is_object(c)) {
		err = wrong_type(p, "JSON text of an object", c);
	} else if ((t = json_object_get(c, "throwaway"))) {
		if (json_is_boolean(t))
			*out = json_is_true(t);
		else
			err = clr_error_set(CLR_EINVALID, "%s.v1Compatibility:"
					    " throwaway must be a boolean, "
					    "not %s", p, type_name(t));
	}
	json_decref(c);
	return err;
}

/*
 * Docker schema 1: fsLayers and history run top-most layer first, and
 * history[i] describes fsLayers[i].  Layers whose history says "throwaway"
 * are the empty layers of metadata-only steps (ENV, CMD...): they hold a
 * gzipped empty tar and are dropped, as Docker drops them.
 */
static int parse_schema1(struct clr_manifest *m, const json_t *root)
{
	const json_t *fs, *history;
	size_t n;
	int err;

	m->kind = CLR_MANIFEST_IMAGE;
	if ((err = get_array(root, "fsLayers", true, CLR_MANIFEST_MAX_LAYERS,
			     &fs)) ||
	    (err = get_array(root, "history", false, CLR_MANIFEST_MAX_LAYERS,
			     &history)))
		return err;
	n = json_array_size(fs);
	if (!n)
		return clr_error_set(CLR_EINVALID, "fsLayers: empty");
	if (history && json_array_size(history) != n)
		return clr_error_set(CLR_EINVALID,
				     "history has %zu entries but fsLayers "
				     "has %zu; they must match",
				     json_array_size(history), n);
	m->layers = clr_calloc(n + 1, sizeof(*m->layers));
	for (size_t k = n; k-- > 0;) {
		const json_t *o = json_array_get(fs, k);
		const char *sum;
		bool throwaway = false;
		char p[PATH_MAX_LEN], dp[PATH_MAX_LEN + 16];

		snprintf(p, sizeof(p), "fsLayers[%zu]", k);
		if (!json_is_object(o))
			return wrong_type(p, "an object", o);
		if ((err = get_string(o, "blobSum", p, true, &sum)))
			return err;
		snprintf(dp, sizeof(dp), "%s.blobSum", p);
		if ((err = parse_digest(sum, dp)))
			return err;
		if (history && (err = schema1_throwaway(history, k,
							&throwaway)))
			return err;
		if (throwaway)
			continue;
		m->layers[m->n_layers].media_type =
			clr_strdup(CLR_MT_DOCKER_LAYER_GZIP);
		m->layers[m->n_layers].digest = clr_strdup(sum);
		m->layers[m->n_layers].size = -1;
		m->n_layers++;
	}
	return 0;
}

/* Decides what the document is: the source's word, the document's own
 * mediaType, or failing both, the fields it has. */
static int decide_type(const json_t *root, const char *given,
		       const char **out)
{
	const char *mt = NULL, *own;
	const json_t *sv;
	int err;

	if (given && *given && !generic_type(given)) {
		if (!(mt = known_type(given)))
			return clr_error_set(CLR_EUNSUPPORTED,
					     "unsupported manifest media type "
					     "'%.200s'", given);
	}
	if ((err = get_string(root, "mediaType", "", false, &own)))
		return err;
	if (own && *own) {
		const char *k = known_type(own);

		if (!k)
			return clr_error_set(CLR_EUNSUPPORTED,
					     "unsupported manifest media type "
					     "'%.200s'", own);
		/* A manifest served as an index (or the other way round)
		 * would make us scan something other than what was named. */
		if (mt && mt != k && !(is_schema1(mt) && is_schema1(k)))
			return clr_error_set(CLR_EINVALID,
					     "mediaType: the document says "
					     "'%s' but it was served as '%s'",
					     k, mt);
		if (!mt)
			mt = k;
	}
	if (!mt) {
		sv = json_object_get(root, "schemaVersion");
		if ((json_is_integer(sv) && json_integer_value(sv) == 1) ||
		    json_object_get(root, "fsLayers"))
			mt = CLR_MT_DOCKER_V1;
		else if (json_object_get(root, "manifests"))
			mt = CLR_MT_OCI_INDEX;
		else if (json_object_get(root, "layers") ||
			 json_object_get(root, "config"))
			mt = CLR_MT_OCI_MANIFEST;
		else
			return clr_error_set(CLR_EINVALID,
					     "cannot tell what kind of "
					     "manifest this is: no mediaType, "
					     "manifests, layers or fsLayers");
		mt = known_type(mt);
	}
	*out = mt;
	return 0;
}

static int check_schema_version(const json_t *root, int want, int *out)
{
	const json_t *sv = json_object_get(root, "schemaVersion");

	if (!sv)
		return missing("schemaVersion");
	if (!json_is_integer(sv))
		return wrong_type("schemaVersion", "an integer", sv);
	if (json_integer_value(sv) != want)
		return clr_error_set(CLR_EINVALID,
				     "schemaVersion: %" JSON_INTEGER_FORMAT
				     ", want %d for this media type",
				     json_integer_value(sv), want);
	*out = want;
	return 0;
}

int clr_manifest_parse(struct clr_manifest **out, const char *bytes,
		       size_t len, const char *media_type)
{
	struct clr_manifest *m = NULL;
	json_t *root = NULL;
	json_error_t jerr;
	int err;

	*out = NULL;
	if (len > CLR_MANIFEST_MAX_SIZE)
		return clr_error_set(CLR_ELIMIT,
				     "manifest of %zu bytes is larger than the "
				     "limit of %u", len, CLR_MANIFEST_MAX_SIZE);
	root = json_loadb(bytes, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return clr_error_set(CLR_EINVALID,
				     "manifest is not valid JSON (line %d, "
				     "column %d): %s", jerr.line, jerr.column,
				     jerr.text);
	if (!json_is_object(root)) {
		err = wrong_type("manifest", "a JSON object", root);
		goto cleanup;
	}
	m = clr_calloc(1, sizeof(*m));
	if ((err = decide_type(root, media_type, &m->media_type)))
		goto cleanup;
	if (is_schema1(m->media_type)) {
		if (!(err = check_schema_version(root, 1, &m->schema_version)))
			err = parse_schema1(m, root);
	} else if (!(err = check_schema_version(root, 2,
						&m->schema_version))) {
		if (clr_manifest_type_is_index(m->media_type))
			err = parse_index(m, root);
		else
			err = parse_image(m, root);
	}
cleanup:
	json_decref(root);
	if (err) {
		clr_manifest_free(m);
		return err;
	}
	*out = m;
	return 0;
}

void clr_manifest_free(struct clr_manifest *m)
{
	if (!m)
		return;
	descriptor_release(&m->config);
	for (size_t i = 0; i < m->n_layers; i++)
		descriptor_release(&m->layers[i]);
	free(m->layers);
	for (size_t i = 0; i < m->n_entries; i++) {
		struct clr_platform_entry *e = &m->entries[i];

		descriptor_release(&e->desc);
		free(e->os);
		free(e->architecture);
		free(e->variant);
	}
	free(m->entries);
	free(m);
}

/* --- platform selection ------------------------------------------------- */

/* The variant an entry without one stands for (the OCI image-spec's
 * platform notes and containerd's normalisation). */
static const char *default_variant(const char *arch)
{
	if (!strcmp(arch, "arm64"))
		return "v8";
	if (!strcmp(arch, "arm"))
		return "v7";
	return "";
}

static const char *entry_variant(const struct clr_platform_entry *e)
{
	return e->variant ? e->variant : default_variant(e->architecture);
}

static bool selectable(const struct clr_platform_entry *e)
{
	return e->os && e->architecture && strcmp(e->os, "unknown") &&
	       strcmp(e->architecture, "unknown");
}

static int not_found(const struct clr_manifest *index, const char *platform)
{
	struct clr_buf b = CLR_BUF_INIT(700);
	size_t shown = 0;
	int err;

	for (size_t i = 0; i < index->n_entries; i++) {
		const struct clr_platform_entry *e = &index->entries[i];

		if (!selectable(e))
			continue;
		if (clr_buf_printf(&b, "%s%.40s/%.40s%s%.40s",
				   shown++ ? ", " : "", e->os,
				   e->architecture, e->variant ? "/" : "",
				   e->variant ? e->variant : "")) {
			clr_buf_reset(&b);
			clr_buf_addstr(&b, "(too many to list)");
			break;
		}
	}
	err = clr_error_set(CLR_ENOTFOUND,
			    "no manifest for platform %.100s in the index; "
			    "available: %s", platform,
			    shown ? clr_buf_str(&b) : "none");
	clr_buf_release(&b);
	return err;
}

int clr_manifest_select_platform(const struct clr_manifest *index,
				 const char *platform,
				 const struct clr_descriptor **out)
{
	char buf[128], *os, *arch, *variant, *extra;
	const struct clr_platform_entry *first = NULL;

	*out = NULL;
	if (!platform)
		platform = "linux/amd64";
	if (index->kind != CLR_MANIFEST_INDEX)
		return clr_error_set(CLR_EINVALID, "not an index: no platforms "
				     "to choose from");
	if (strlen(platform) >= sizeof(buf))
		return clr_error_set(CLR_EINVALID, "platform too long");
	strcpy(buf, platform);
	os = buf;
	arch = strchr(os, '/');
	if (arch)
		*arch++ = '\0';
	variant = arch ? strchr(arch, '/') : NULL;
	if (variant)
		*variant++ = '\0';
	extra = variant ? strchr(variant, '/') : NULL;
	if (!arch || !*os || !*arch || (variant && !*variant) || extra)
		return clr_error_set(CLR_EINVALID,
				     "invalid platform '%.100s': want "
				     "os/arch or os/arch/variant", platform);
	if (!strcmp(arch, "x86_64"))
		arch = "amd64";
	else if (!strcmp(arch, "aarch64"))
		arch = "arm64";

	for (size_t i = 0; i < index->n_entries; i++) {
		const struct clr_platform_entry *e = &index->entries[i];

		if (!selectable(e) || strcmp(e->os, os) ||
		    strcmp(e->architecture, arch))
			continue;
		if (variant) {
			if (!strcmp(entry_variant(e), variant)) {
				*out = &e->desc;
				return 0;
			}
			continue;
		}
		if (!strcmp(entry_variant(e), default_variant(arch))) {
			*out = &e->desc;
			return 0;
		}
		if (!first)
			first = e;
	}
	if (first) {
		*out = &first->desc;
		return 0;
	}
	return not_found(index, platform);
}
