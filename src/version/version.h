/*
 * version.h - one interface over every version scheme clarion compares.
 *
 * A vulnerability is "fixed in 1.2.3-4"; whether the installed "1.2.3-3+b1"
 * is older depends on the scheme the distribution or ecosystem uses, and each
 * scheme must agree exactly with its reference implementation (dpkg, rpm,
 * apk-tools, SemVer 2.0.0, python3-packaging, Maven's ComparableVersion,
 * RubyGems).  The matcher compares millions of versions, so a version is
 * parsed once into a clr_version, which can be kept and compared cheaply.
 *
 *     struct clr_version *a, *b;
 *     if (clr_version_parse(&a, CLR_VS_DPKG, "1:2.0~rc1-1") ||
 *         clr_version_parse(&b, CLR_VS_DPKG, "1:2.0-1"))
 *             return clr_error_prefix(err, "...");    // message is set
 *     assert(clr_version_cmp(a, b) < 0);
 *     clr_version_free(a); clr_version_free(b);
 */
#ifndef CLR_VERSION_VERSION_H
#define CLR_VERSION_VERSION_H

#include <stddef.h>

enum clr_vscheme {
	CLR_VS_DPKG,   /* Debian, Ubuntu: [epoch:]upstream[-revision] */
	CLR_VS_RPM,    /* RHEL, Alma, Rocky, SUSE...: [epoch:]version[-release] */
	CLR_VS_APK,    /* Alpine: 1.2.3_rc1-r4 */
	CLR_VS_SEMVER, /* SemVer 2.0.0: Go modules, npm, crates.io */
	CLR_VS_PEP440, /* Python packages */
	CLR_VS_MAVEN,  /* Maven ComparableVersion */
	CLR_VS_GEM,    /* RubyGems */
	CLR_VS__COUNT
};

/* A parsed version.  Opaque; owns a copy of the original string. */
struct clr_version;

/*
 * One scheme, as a table entry (see registry in version.c).  A scheme's
 * parse() allocates its own parsed form and returns CLR_EINVALID with a
 * message when the reference implementation would reject the string;
 * cmp() returns <0, 0, >0 exactly as the reference orders the two.
 */
struct clr_vscheme_ops {
	const char *name;   /* "dpkg", "rpm", ... as used on the command line */
	int (*parse)(void **out, const char *s, size_t len);
	int (*cmp)(const void *a, const void *b);
	void (*free)(void *parsed);
};

/* The scheme called name, or CLR_ENOTFOUND (message lists the schemes). */
int clr_vscheme_from_name(enum clr_vscheme *out, const char *name);

/* The name of a scheme ("dpkg"). */
const char *clr_vscheme_name(enum clr_vscheme scheme);

/* Parses s (NUL-terminated) into *out, owned by the caller. */
int clr_version_parse(struct clr_version **out, enum clr_vscheme scheme,
		      const char *s);

/* Orders two versions of the same scheme: <0, 0 or >0. */
int clr_version_cmp(const struct clr_version *a, const struct clr_version *b);

/* The string the version was parsed from (borrowed). */
const char *clr_version_str(const struct clr_version *v);

enum clr_vscheme clr_version_scheme(const struct clr_version *v);

void clr_version_free(struct clr_version *v);

/* Parses and compares two strings in one call; *out is -1, 0 or 1. */
int clr_version_compare_str(int *out, enum clr_vscheme scheme,
			    const char *a, const char *b);

/* The schemes' tables, one per file in src/version/. */
extern const struct clr_vscheme_ops clr_vscheme_dpkg;
extern const struct clr_vscheme_ops clr_vscheme_rpm;
extern const struct clr_vscheme_ops clr_vscheme_apk;
extern const struct clr_vscheme_ops clr_vscheme_semver;
extern const struct clr_vscheme_ops clr_vscheme_pep440;
extern const struct clr_vscheme_ops clr_vscheme_maven;
extern const struct clr_vscheme_ops clr_vscheme_gem;

#endif
