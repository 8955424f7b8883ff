/*
 * whitelist.c - Klar's allow-list file (klar.go's parseWhitelistFile,
 * reference/klar.md §7), read with libfyaml:
 *
 *   general:            # names ignored for every image
 *     - CVE-2018-0001
 *   images:             # per repository name, without registry or tag
 *     test/app:
 *       - CVE-2018-0002
 *
 * Klar decodes it with gopkg.in/yaml.v2 into {General []string; Images
 * map[string][]string}: the keys are exactly "general" and "images",
 * unknown keys are ignored, a scalar of any type is taken as its text,
 * and matching is exact and case-sensitive.
 */
#include "klar/klar.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <libfyaml.h>

#include "config/yaml.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/error.h"

/* A whitelist file larger than this is refused (Klar has no cap; a list
 * of every CVE ever published is well under it). */
#define WHITELIST_MAX (16 << 20)

static void free_map(void *m)
{
	clr_hashmap_release(m, NULL);
	free(m);
}

void clr_klar_whitelist_release(struct clr_klar_whitelist *w)
{
	clr_hashmap_release(&w->general, NULL);
	clr_hashmap_release(&w->images, free_map);
}

static int node_line(struct fy_node *n)
{
	/* Only scalars carry a token with a position in libfyaml 0.7. */
	struct fy_token *t = n && fy_node_is_scalar(n) ?
			     fy_node_get_scalar_token(n) : NULL;
	const struct fy_mark *m = t ? fy_token_start_mark(t) : NULL;

	return m ? m->line + 1 : 0;
}

/* yaml.v2's message for a node of the wrong kind. */
static int type_error(struct fy_node *n, const char *into)
{
	return clr_error_set(CLR_EINVALID, "yaml: unmarshal errors:\n  line %d: "
			     "cannot unmarshal %s into %s", node_line(n),
			     fy_node_is_mapping(n) ? "!!map" :
			     fy_node_is_sequence(n) ? "!!seq" : "!!str", into);
}

static bool is_null(struct fy_node *n)
{
	const char *s;
	size_t len;

	if (!n)
		return true;
	if (!fy_node_is_scalar(n) || fy_node_get_style(n) != FYNS_PLAIN)
		return false;
	s = fy_node_get_scalar(n, &len);
	return !s || !len || (len == 1 && *s == '~') ||
	       (len == 4 && (!memcmp(s, "null", 4) || !memcmp(s, "Null", 4) ||
			     !memcmp(s, "NULL", 4)));
}

/* A sequence of scalars into set (name -> 1). */
static int add_list(struct clr_hashmap *set, struct fy_node *seq)
{
	struct fy_node *item;
	void *it = NULL;

	if (is_null(seq))
		return 0;
	if (!fy_node_is_sequence(seq))
		return type_error(seq, "[]string");
	while ((item = fy_node_sequence_iterate(seq, &it))) {
		const char *s;
		size_t len;
		char *name;

		if (is_null(item))
			continue; /* yaml.v2 gives "", which matches nothing */
		if (!fy_node_is_scalar(item))
			return type_error(item, "string");
		s = fy_node_get_scalar(item, &len);
		name = clr_strndup(s ? s : "", s ? len : 0);
		clr_hashmap_put(set, name, (void *)1);
		free(name);
	}
	return 0;
}

static int walk(struct clr_klar_whitelist *w, struct fy_node *root)
{
	struct fy_node_pair *pair;
	void *it = NULL;
	int err = 0;

	if (is_null(root))
		return 0;
	if (!fy_node_is_mapping(root))
		return type_error(root, "main.vulnerabilitiesWhitelistYAML");
	while (!err && (pair = fy_node_mapping_iterate(root, &it))) {
		struct fy_node *k = fy_node_pair_key(pair), *v = fy_node_pair_value(pair);
		const char *key;
		size_t len;

		if (!k || !fy_node_is_scalar(k))
			continue;
		key = fy_node_get_scalar(k, &len);
		if (len == 7 && !memcmp(key, "general", 7)) {
			err = add_list(&w->general, v);
		} else if (len == 6 && !memcmp(key, "images", 6)) {
			struct fy_node_pair *ip;
			void *it2 = NULL;

			if (is_null(v))
				continue;
			if (!fy_node_is_mapping(v)) {
				err = type_error(v, "map[string][]string");
				break;
			}
			while (!err && (ip = fy_node_mapping_iterate(v, &it2))) {
				struct fy_node *ik = fy_node_pair_key(ip);
				struct clr_hashmap *set;
				const char *name;
				char *repo;
				size_t nlen;

				if (!ik || !fy_node_is_scalar(ik)) {
					err = type_error(ik, "string");
					break;
				}
				name = fy_node_get_scalar(ik, &nlen);
				repo = clr_strndup(name ? name : "", name ? nlen : 0);
				set = clr_hashmap_get(&w->images, repo);
				if (!set) {
					set = clr_calloc(1, sizeof(*set));
					clr_hashmap_init(set);
					clr_hashmap_put(&w->images, repo, set);
				}
				free(repo);
				err = add_list(set, fy_node_pair_value(ip));
			}
		}
	}
	return err;
}

int clr_klar_whitelist_parse(struct clr_klar_whitelist *w, const char *text,
			     size_t len)
{
	struct clr_yaml y;
	size_t bad;
	int err = 0;

	clr_hashmap_init(&w->general);
	clr_hashmap_init(&w->images);
	if (len > WHITELIST_MAX)
		return clr_error_set(CLR_ELIMIT, "larger than %d bytes",
				     WHITELIST_MAX);
	for (bad = 0; bad < len && strchr(" \t\r\n", text[bad]) && text[bad]; bad++)
		;
	if (bad == len)
		return 0; /* an empty file: nothing allowed (as yaml.v2) */
	if (memchr(text, 0, len))
		return clr_error_set(CLR_EINVALID, "yaml: control characters "
				     "are not allowed");
	if ((bad = clr_yaml_utf8_invalid((const unsigned char *)text, len)) < len)
		return clr_error_set(CLR_EINVALID, "yaml: invalid leading UTF-8 "
				     "octet at byte %zu", bad);
	if (!clr_yaml_parse(&y, text, len, false) && !y.doc) {
		/* No document at all (an empty file, only comments): yaml.v2
		 * leaves the struct empty. */
	} else if (y.failed) {
		struct fy_diag_error *e = clr_yaml_first_error(&y);

		if (e && e->msg)
			err = clr_error_set(CLR_EINVALID, "yaml: line %d: %s",
					    e->line, e->msg);
		else
			err = clr_error_set(CLR_EINVALID, "yaml: %s",
					    y.printed ? y.printed_msg :
					    "not valid YAML");
	} else {
		err = walk(w, fy_document_root(y.doc));
	}
	clr_yaml_release(&y);
	if (err)
		clr_klar_whitelist_release(w);
	return err;
}

int clr_klar_whitelist_load(struct clr_klar_whitelist *w, const char *path)
{
	struct clr_buf b = CLR_BUF_INIT(WHITELIST_MAX);
	char chunk[65536];
	size_t n;
	FILE *f = fopen(path, "rb");
	int err = 0;

	clr_hashmap_init(&w->general);
	clr_hashmap_init(&w->images);
	if (!f)
		/* ioutil.ReadFile's error after Klar's "could not read file". */
		return clr_error_set(CLR_EIO, "could not read file open %s: %s",
				     path, strerror(errno));
	while (!err && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		err = clr_buf_add(&b, chunk, n);
	if (!err && ferror(f))
		err = clr_error_set(CLR_EIO, "could not read file read %s: %s",
				    path, strerror(errno));
	else if (err)
		err = clr_error_set(CLR_ELIMIT, "could not read file %s: larger "
				    "than %d bytes", path, WHITELIST_MAX);
	fclose(f);
	if (!err) {
		err = clr_klar_whitelist_parse(w, b.ptr ? b.ptr : "", b.len);
		if (err)
			clr_error_prefix(err, "could not unmarshal");
	}
	clr_buf_release(&b);
	return err;
}

int clr_klar_whitelisted(const struct clr_klar_whitelist *w, const char *repo,
			 const char *name)
{
	const struct clr_hashmap *set;

	if (clr_hashmap_get(&w->general, name))
		return 1;
	set = clr_hashmap_get(&w->images, repo);
	return set && clr_hashmap_get(set, name);
}

size_t clr_klar_whitelist_apply(const struct clr_klar_whitelist *w,
				const char *repo, struct clr_klar_vulns *vs)
{
	size_t i, kept = 0, removed;

	for (i = 0; i < vs->n; i++) {
		if (clr_klar_whitelisted(w, repo, vs->items[i].name)) {
			struct clr_klar_vulns one = { &vs->items[i], 1, 1 };

			/* Frees this item's contents and (harmlessly) nothing else:
			 * the array is not one.items' to free, so detach it. */
			struct clr_klar_vuln *copy = clr_malloc(sizeof(*copy));

			*copy = vs->items[i];
			one.items = copy;
			clr_klar_vulns_release(&one);
			continue;
		}
		vs->items[kept++] = vs->items[i];
	}
	removed = vs->n - kept;
	vs->n = kept;
	return removed;
}
