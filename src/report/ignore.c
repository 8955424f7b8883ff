/*
 * ignore.c - reading the ignore file (see ignore.h) with libfyaml's
 * document tree, strictly: every key known, every value of the right
 * shape, every date a real date, or an error naming the line.
 */
#include "report/ignore.h"

#include <errno.h>
#include <fnmatch.h>
#include <libfyaml.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/yaml.h"
#include "util/alloc.h"
#include "util/error.h"

/* The line a node starts on: libfyaml 0.7 keeps marks on tokens only, so
 * a mapping or sequence is placed by its first scalar. */
static int node_line(struct fy_node *n)
{
	struct fy_token *t;
	const struct fy_mark *m;
	void *it = NULL;

	for (int depth = 0; n && depth < 64; depth++) {
		if (fy_node_is_scalar(n)) {
			t = fy_node_get_scalar_token(n);
			m = t ? fy_token_start_mark(t) : NULL;
			return m ? m->line + 1 : 0;
		}
		if (fy_node_is_mapping(n)) {
			struct fy_node_pair *p = fy_node_mapping_iterate(n, &it);

			n = p ? fy_node_pair_key(p) : NULL;
		} else if (fy_node_is_sequence(n)) {
			n = fy_node_sequence_iterate(n, &it);
		} else {
			return 0;
		}
		it = NULL;
	}
	return 0;
}

static int fail(const char *name, struct fy_node *n, const char *fmt, const char *arg)
{
	char why[256];

	snprintf(why, sizeof(why), fmt, arg);
	return clr_error_set(CLR_EINVALID, "%s (line %d): %s", name, node_line(n), why);
}

/* The text of a scalar (caller frees), or NULL with the error set. */
static char *scalar(const char *name, struct fy_node *n, const char *key, int *err)
{
	const char *s;
	size_t len;

	if (!n || fy_node_is_alias(n) || !fy_node_is_scalar(n)) {
		*err = fail(name, n, "'%s' must be a single value", key);
		return NULL;
	}
	s = fy_node_get_scalar(n, &len);
	if (!s || memchr(s, 0, len)) {
		*err = fail(name, n, "'%s' is not text", key);
		return NULL;
	}
	return clr_strndup(s, len);
}

/* "YYYY-MM-DD" to the first second of the next day, UTC. */
static int parse_date(const char *s, time_t *out)
{
	struct tm tm = { 0 };
	char *end;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	end = strptime(s, "%Y-%m-%d", &tm);
	if (!end || *end)
		return -1;
	{
		/* reject 2027-02-30: timegm would quietly roll it over */
		struct tm check, want = tm;
		time_t t = timegm(&tm);

		if (!gmtime_r(&t, &check) || check.tm_mday != want.tm_mday ||
		    check.tm_mon != want.tm_mon)
			return -1;
		*out = t + 86400;
	}
	return 0;
}

static void entry_release(struct clr_ignore_entry *e)
{
	free(e->id);
	for (size_t i = 0; i < e->packages.len; i++)
		free(*CLR_VEC_AT(&e->packages, char *, i));
	clr_vec_release(&e->packages);
	free(e->image);
	free(e->reason);
	free(e->expires);
}

static int add_packages(const char *name, struct clr_ignore_entry *e,
			struct fy_node *v, const char *key)
{
	struct fy_node *item;
	void *it = NULL;
	int err = 0;
	char *s;

	if (fy_node_is_scalar(v) && !fy_node_is_alias(v)) {
		if (!(s = scalar(name, v, key, &err)))
			return err;
		CLR_VEC_PUSH(&e->packages, &s);
		return 0;
	}
	if (fy_node_is_alias(v) || !fy_node_is_sequence(v))
		return fail(name, v, "'%s' must be a name or a list of names", key);
	while ((item = fy_node_sequence_iterate(v, &it))) {
		if (!(s = scalar(name, item, key, &err)))
			return err;
		CLR_VEC_PUSH(&e->packages, &s);
	}
	return 0;
}

static int read_entry(struct clr_ignore *ig, struct fy_node *n)
{
	struct clr_ignore_entry e = { .line = node_line(n) };
	struct fy_node_pair *pair;
	void *it = NULL;
	int err = 0;

	clr_vec_init(&e.packages, sizeof(char *));
	if (fy_node_is_alias(n) || !fy_node_is_mapping(n))
		return fail(ig->name, n, "%s", "an entry must be a mapping with an 'id'");
	while (!err && (pair = fy_node_mapping_iterate(n, &it))) {
		struct fy_node *kn = fy_node_pair_key(pair), *vn = fy_node_pair_value(pair);
		const char *k;
		size_t klen;
		char key[32], **slot = NULL;

		if (!kn || !fy_node_is_scalar(kn) || fy_node_is_alias(kn) ||
		    !(k = fy_node_get_scalar(kn, &klen)) || klen >= sizeof(key)) {
			err = fail(ig->name, kn ? kn : n, "%s", "unknown key");
			break;
		}
		memcpy(key, k, klen);
		key[klen] = 0;
		if (!vn) {
			err = fail(ig->name, kn, "'%s' has no value", key);
			break;
		}
		if (!strcmp(key, "id"))
			slot = &e.id;
		else if (!strcmp(key, "image"))
			slot = &e.image;
		else if (!strcmp(key, "reason") || !strcmp(key, "statement"))
			slot = &e.reason;
		else if (!strcmp(key, "expires") || !strcmp(key, "expired_at"))
			slot = &e.expires;
		else if (!strcmp(key, "package") || !strcmp(key, "packages"))
			err = add_packages(ig->name, &e, vn, key);
		else
			err = fail(ig->name, kn, "unknown key '%s' (id, package, packages, "
				   "image, reason, expires)", key);
		if (!err && slot) {
			if (*slot) {
				err = fail(ig->name, kn, "'%s' given twice", key);
				break;
			}
			if (!(*slot = scalar(ig->name, vn, key, &err)))
				break;
		}
	}
	if (!err && (!e.id || !*e.id))
		err = fail(ig->name, n, "%s", "an entry needs an 'id'");
	if (!err && e.expires && parse_date(e.expires, &e.expires_at))
		err = fail(ig->name, n, "'expires: %s' is not a date (YYYY-MM-DD)",
			   e.expires);
	if (err) {
		entry_release(&e);
		return err;
	}
	if (!e.reason)
		e.reason = clr_strdup("");
	CLR_VEC_PUSH(&ig->entries, &e);
	return 0;
}

/* Whether the text is blank lines and comments only. */
static bool only_comments(const char *data, size_t len)
{
	size_t i = 0;

	while (i < len) {
		while (i < len && strchr(" \t\r", data[i]))
			i++;
		if (i < len && data[i] == '#')
			while (i < len && data[i] != '\n')
				i++;
		if (i < len && data[i] != '\n')
			return false;
		i++;
	}
	return true;
}

int clr_ignore_parse(struct clr_ignore **out, const char *data, size_t len,
		     const char *name)
{
	struct clr_yaml y = { .doc = NULL };
	struct fy_node *root, *list, *item;
	struct clr_ignore *ig;
	void *it = NULL;
	size_t bad;
	int err = 0;

	*out = NULL;
	if (!name)
		name = "ignore file";
	if (len > CLR_IGNORE_MAX_SIZE)
		return clr_error_set(CLR_ELIMIT, "%s: larger than %d bytes", name,
				     CLR_IGNORE_MAX_SIZE);
	if (memchr(data, 0, len))
		return clr_error_set(CLR_EINVALID, "%s: contains a NUL byte", name);
	if ((bad = clr_yaml_utf8_invalid((const unsigned char *)data, len)) < len) {
		int line = 1;

		for (size_t i = 0; i < bad; i++)
			line += data[i] == '\n';
		return clr_error_set(CLR_EINVALID, "%s (line %d): not UTF-8 text",
				     name, line);
	}
	ig = clr_calloc(1, sizeof(*ig));
	ig->name = clr_strdup(name);
	clr_vec_init(&ig->entries, sizeof(struct clr_ignore_entry));
	if (only_comments(data, len))
		goto done;  /* no document at all (libfyaml fails on it): nothing */
	if (clr_yaml_parse(&y, data, len, false)) {
		struct fy_diag_error *e = clr_yaml_first_error(&y);

		if (e && e->msg && e->line > 0)
			err = clr_error_set(CLR_EINVALID, "%s (line %d): %s", name,
					    e->line, e->msg);
		else
			err = clr_error_set(CLR_EINVALID, "%s: %s", name,
					    e && e->msg ? e->msg : y.printed ?
					    y.printed_msg : "not valid YAML");
		goto done;
	}
	if (!y.doc)
		goto done;
	root = fy_document_root(y.doc);
	list = root;
	if (root && fy_node_is_mapping(root) && !fy_node_is_alias(root)) {
		struct fy_node_pair *pair;
		void *pit = NULL;

		list = NULL;
		while ((pair = fy_node_mapping_iterate(root, &pit))) {
			struct fy_node *kn = fy_node_pair_key(pair);
			const char *k = kn && fy_node_is_scalar(kn) ?
				fy_node_get_scalar0(kn) : NULL;

			if (k && !strcmp(k, "vulnerabilities")) {
				list = fy_node_pair_value(pair);
			} else {
				err = fail(name, kn ? kn : root, "unknown key '%s' (the file "
					   "has one key, 'vulnerabilities')", k ? k : "?");
				goto done;
			}
		}
		if (!list)  /* "vulnerabilities:" with nothing after it */
			goto done;
	}
	if (!list || fy_node_is_alias(list) || !fy_node_is_sequence(list)) {
		err = fail(name, list ? list : root, "%s", "expected a list of entries "
			   "under 'vulnerabilities'");
		goto done;
	}
	while (!err && (item = fy_node_sequence_iterate(list, &it)))
		err = read_entry(ig, item);
done:
	clr_yaml_release(&y);
	if (err) {
		clr_ignore_free(ig);
		return err;
	}
	*out = ig;
	return 0;
}

int clr_ignore_load(struct clr_ignore **out, const char *path)
{
	FILE *f = fopen(path, "rb");
	char *data;
	size_t n;
	int err;

	*out = NULL;
	if (!f)
		return clr_error_set(CLR_EIO, "%s: %s", path, strerror(errno));
	data = clr_malloc(CLR_IGNORE_MAX_SIZE + 1);
	n = fread(data, 1, CLR_IGNORE_MAX_SIZE + 1, f);
	if (ferror(f)) {
		err = clr_error_set(CLR_EIO, "%s: %s", path, strerror(errno));
	} else {
		err = clr_ignore_parse(out, data, n, path);
	}
	fclose(f);
	free(data);
	return err;
}

void clr_ignore_free(struct clr_ignore *ig)
{
	if (!ig)
		return;
	for (size_t i = 0; i < ig->entries.len; i++)
		entry_release(CLR_VEC_AT(&ig->entries, struct clr_ignore_entry, i));
	clr_vec_release(&ig->entries);
	free(ig->name);
	free(ig);
}

bool clr_ignore_expired(const struct clr_ignore_entry *e, time_t now)
{
	return e->expires && now >= e->expires_at;
}

const struct clr_ignore_entry *clr_ignore_match(const struct clr_ignore *ig,
						const char *image, const char *vuln,
						const char *package,
						const char *source, time_t now)
{
	for (size_t i = 0; ig && i < ig->entries.len; i++) {
		const struct clr_ignore_entry *e =
			CLR_VEC_AT(&ig->entries, struct clr_ignore_entry, i);
		bool pkg = !e->packages.len;

		if (strcmp(e->id, vuln) || clr_ignore_expired(e, now))
			continue;
		if (e->image && fnmatch(e->image, image, 0))
			continue;
		for (size_t j = 0; j < e->packages.len && !pkg; j++) {
			const char *p = *CLR_VEC_AT(&e->packages, char *, j);

			pkg = !strcmp(p, package) || (source && *source && !strcmp(p, source));
		}
		if (pkg)
			return e;
	}
	return NULL;
}
