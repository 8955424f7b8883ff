/*
 * whiteout.c - recognising whiteout markers and applying them across
 * layers (see whiteout.h for the OCI rules).
 */
#include "layer/whiteout.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "layer/reader.h"
#include "util/alloc.h"
#include "util/hashmap.h"

#define WH_PREFIX ".wh."
#define WH_PREFIX_LEN 4
#define WH_META ".wh..wh."
#define WH_OPAQUE ".wh..wh..opq"

/* A copy of dir (len bytes, may be 0) joined with name. */
static char *join(const char *dir, size_t len, const char *name)
{
	size_t n = strlen(name);
	char *s = clr_malloc(len + 1 + n + 1);

	memcpy(s, dir, len);
	if (len)
		s[len++] = '/';
	memcpy(s + len, name, n + 1);
	return s;
}

enum clr_whiteout_kind clr_whiteout_parse(const char *path, char **target)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	size_t dirlen = slash ? (size_t)(slash - path) : 0;
	const char *name;

	if (target)
		*target = NULL;
	if (strncmp(base, WH_PREFIX, WH_PREFIX_LEN))
		return CLR_WHITEOUT_NONE;
	if (!strcmp(base, WH_OPAQUE)) {
		if (target)
			*target = clr_strndup(path, dirlen);
		return CLR_WHITEOUT_OPAQUE;
	}
	if (!strncmp(base, WH_META, strlen(WH_META)))
		return CLR_WHITEOUT_RESERVED;
	name = base + WH_PREFIX_LEN;
	/* The name comes from the same path component, so it has no '/';
	 * "." and ".." would delete the directory or its parent, which no
	 * honest tool writes. */
	if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
		return CLR_WHITEOUT_RESERVED;
	if (target)
		*target = join(path, dirlen, name);
	return CLR_WHITEOUT_DELETE;
}

static unsigned bits_of(const struct clr_layer_contents *c, const char *path)
{
	return (unsigned)(uintptr_t)clr_hashmap_get(&c->whiteout_index, path);
}

bool clr_whiteout_hides(const struct clr_layer_contents *upper,
			const char *path)
{
	char stack[256], *p;
	size_t n;
	bool hidden = false;

	if (!*path || !clr_hashmap_count(&upper->whiteout_index))
		return false;
	if (bits_of(upper, path) & CLR_WH_DELETED)
		return true;
	n = strlen(path);
	p = n < sizeof(stack) ? stack : clr_malloc(n + 1);
	memcpy(p, path, n + 1);
	/* Walk the ancestors from the nearest up to the root (""): a deleted
	 * or opaque ancestor hides everything below it. */
	for (;;) {
		char *slash = strrchr(p, '/');

		if (slash)
			*slash = '\0';
		else
			p[0] = '\0';
		if (bits_of(upper, p) & (CLR_WH_DELETED | CLR_WH_OPAQUE)) {
			hidden = true;
			break;
		}
		if (!slash)
			break;
	}
	if (p != stack)
		free(p);
	return hidden;
}
