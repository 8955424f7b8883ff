/*
 * path.c - one spelling for every entry name a layer can contain.
 *
 * Tar writers disagree on how to name the same file ("etc/passwd",
 * "./etc/passwd", "/etc/passwd", "etc//passwd", "etc/" for a directory),
 * and hostile layers add "../../etc/passwd".  Scanners and the coalescer
 * compare paths as strings, so every name is reduced to the form
 * "etc/passwd" first, and a name with a ".." component is refused rather
 * than resolved: nothing in a layer legitimately needs one, and resolving
 * it could only move a file somewhere its layer did not put it.
 */
#include <stdlib.h>
#include <string.h>

#include "layer/reader.h"
#include "util/alloc.h"
#include "util/error.h"

int clr_layer_path_normalize(char **out, const char *path)
{
	size_t n = strlen(path), len = 0;
	char *o = clr_malloc(n + 1);
	const char *p = path;

	*out = NULL;
	while (*p) {
		const char *s = p;
		size_t cl;

		while (*p && *p != '/')
			p++;
		cl = (size_t)(p - s);
		if (*p)
			p++;
		if (!cl || (cl == 1 && s[0] == '.'))
			continue;
		if (cl == 2 && s[0] == '.' && s[1] == '.') {
			free(o);
			return clr_error_set(CLR_EINVALID,
					     "entry name has a '..' component");
		}
		if (len)
			o[len++] = '/';
		memcpy(o + len, s, cl);
		len += cl;
	}
	o[len] = '\0';
	*out = o;
	return 0;
}
