/*
 * version.c - the table of version schemes and the generic wrapper.
 *
 * Each scheme lives in its own file and knows nothing of the others; this
 * file only dispatches.  A clr_version remembers its scheme so that comparing
 * versions of two different schemes is caught in debug builds.
 */
#include "version/version.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/error.h"

struct clr_version {
	enum clr_vscheme scheme;
	void *parsed;   /* the scheme's own parsed form */
	char *str;      /* the original string, NUL-terminated */
};

static const struct clr_vscheme_ops *const schemes[CLR_VS__COUNT] = {
	[CLR_VS_DPKG] = &clr_vscheme_dpkg,
	[CLR_VS_RPM] = &clr_vscheme_rpm,
	[CLR_VS_APK] = &clr_vscheme_apk,
	[CLR_VS_SEMVER] = &clr_vscheme_semver,
	[CLR_VS_PEP440] = &clr_vscheme_pep440,
	[CLR_VS_MAVEN] = &clr_vscheme_maven,
	[CLR_VS_GEM] = &clr_vscheme_gem,
};

int clr_vscheme_from_name(enum clr_vscheme *out, const char *name)
{
	for (int i = 0; i < CLR_VS__COUNT; i++) {
		if (!strcmp(schemes[i]->name, name)) {
			*out = (enum clr_vscheme)i;
			return 0;
		}
	}
	return clr_error_set(CLR_ENOTFOUND,
			     "unknown version scheme '%s' (known: dpkg, rpm, "
			     "apk, semver, pep440, maven, gem)", name);
}

const char *clr_vscheme_name(enum clr_vscheme scheme)
{
	assert(scheme < CLR_VS__COUNT);
	return schemes[scheme]->name;
}

int clr_version_parse(struct clr_version **out, enum clr_vscheme scheme,
		      const char *s)
{
	const struct clr_vscheme_ops *ops;
	struct clr_version *v;
	void *parsed = NULL;
	size_t len = strlen(s);
	int err;

	assert(scheme < CLR_VS__COUNT);
	*out = NULL;
	ops = schemes[scheme];
	err = ops->parse(&parsed, s, len);
	if (err)
		return err;
	v = clr_malloc(sizeof(*v));
	v->scheme = scheme;
	v->parsed = parsed;
	v->str = clr_strndup(s, len);
	*out = v;
	return 0;
}

int clr_version_cmp(const struct clr_version *a, const struct clr_version *b)
{
	assert(a->scheme == b->scheme);
	return schemes[a->scheme]->cmp(a->parsed, b->parsed);
}

const char *clr_version_str(const struct clr_version *v)
{
	return v->str;
}

enum clr_vscheme clr_version_scheme(const struct clr_version *v)
{
	return v->scheme;
}

void clr_version_free(struct clr_version *v)
{
	if (!v)
		return;
	schemes[v->scheme]->free(v->parsed);
	free(v->str);
	free(v);
}

int clr_version_compare_str(int *out, enum clr_vscheme scheme,
			    const char *a, const char *b)
{
	const struct clr_vscheme_ops *ops;
	void *pa = NULL, *pb = NULL;
	int err, c;

	assert(scheme < CLR_VS__COUNT);
	ops = schemes[scheme];
	if ((err = ops->parse(&pa, a, strlen(a))))
		return err;
	if ((err = ops->parse(&pb, b, strlen(b)))) {
		ops->free(pa);
		return err;
	}
	c = ops->cmp(pa, pb);
	*out = (c > 0) - (c < 0);
	ops->free(pa);
	ops->free(pb);
	return 0;
}
