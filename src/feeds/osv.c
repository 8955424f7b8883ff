/*
 * osv.c - OSV 1.x records into clarion records (see osv.h), and the CVSS
 * base-score arithmetic OSV severities need.
 *
 * A record is small (the largest AlmaLinux advisory is well under a
 * megabyte), so each is read whole and parsed with jansson; a directory or
 * zip of tens of thousands of them streams one record at a time.  Strings
 * that every record of one advisory shares (description, links, severity)
 * are stored once in the set's arena, not once per package: an advisory
 * for a kernel build lists a hundred packages.
 */
#include "feeds/osv.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "updater/fetch.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/error.h"

/* --- CVSS --------------------------------------------------------------- */

struct cvss_metric {
	const char *key;
	const char *vals;   /* the letters allowed, in the order of weights */
	double w[4];
};

/* CVSS v3.x base metrics (FIRST, CVSS v3.1 specification §7.4).  PR's
 * weights change with scope, handled in cvss3(). */
static const struct cvss_metric cvss3_metrics[] = {
	{ "AV", "NALP", { 0.85, 0.62, 0.55, 0.2 } },
	{ "AC", "LH", { 0.77, 0.44 } },
	{ "PR", "NLH", { 0.85, 0.62, 0.27 } },
	{ "UI", "NR", { 0.85, 0.62 } },
	{ "S", "UC", { 0, 0 } },
	{ "C", "HLN", { 0.56, 0.22, 0 } },
	{ "I", "HLN", { 0.56, 0.22, 0 } },
	{ "A", "HLN", { 0.56, 0.22, 0 } },
};

/* CVSS v2 base metrics (FIRST, CVSS v2 guide §3.2.1). */
static const struct cvss_metric cvss2_metrics[] = {
	{ "AV", "LAN", { 0.395, 0.646, 1.0 } },
	{ "AC", "HML", { 0.35, 0.61, 0.71 } },
	{ "Au", "MSN", { 0.45, 0.56, 0.704 } },
	{ "C", "NPC", { 0, 0.275, 0.660 } },
	{ "I", "NPC", { 0, 0.275, 0.660 } },
	{ "A", "NPC", { 0, 0.275, 0.660 } },
};

#define NMETRICS_MAX 8

/*
 * Reads "K:V/K:V/..." into idx[] (the index of each metric's value in
 * metrics[].vals).  Every base metric must appear exactly once; metrics the
 * table does not know (temporal, environmental) are allowed and ignored, as
 * the specification says they do not change the base score.
 */
static int cvss_read(const char *s, const struct cvss_metric *m, size_t n,
		     int idx[NMETRICS_MAX])
{
	for (size_t i = 0; i < n; i++)
		idx[i] = -1;
	while (*s) {
		const char *colon = strchr(s, ':');
		const char *end = strchr(s, '/');
		size_t klen;

		if (!end)
			end = s + strlen(s);
		if (!colon || colon > end || colon == s || end != colon + 2)
			return CLR_EINVALID;
		klen = (size_t)(colon - s);
		for (size_t i = 0; i < n; i++) {
			const char *v;

			if (strlen(m[i].key) != klen ||
			    memcmp(m[i].key, s, klen))
				continue;
			if (idx[i] >= 0 || !colon[1] ||
			    !(v = strchr(m[i].vals, colon[1])))
				return CLR_EINVALID;
			idx[i] = (int)(v - m[i].vals);
		}
		if (*end && !end[1])
			return CLR_EINVALID;  /* a trailing '/' */
		s = *end ? end + 1 : end;
	}
	for (size_t i = 0; i < n; i++)
		if (idx[i] < 0)
			return CLR_EINVALID;
	return 0;
}

/* CVSS v3.1's Roundup: the smallest one-decimal number >= x, computed on
 * integers so that 4.000000000001 does not become 4.1. */
static int roundup10(double x)
{
	long i = lround(x * 100000.0);

	if (i % 10000 == 0)
		return (int)(i / 10000);
	return (int)(i / 10000) + 1;
}

static int cvss3(int *score10, const char *v)
{
	int ix[NMETRICS_MAX];
	double av, ac, pr, ui, c, in, a, iss, impact, expl;
	bool changed;

	if (cvss_read(v, cvss3_metrics, 8, ix))
		return CLR_EINVALID;
	changed = ix[4] == 1;
	av = cvss3_metrics[0].w[ix[0]];
	ac = cvss3_metrics[1].w[ix[1]];
	pr = cvss3_metrics[2].w[ix[2]];
	if (changed && ix[2] == 1)
		pr = 0.68;
	else if (changed && ix[2] == 2)
		pr = 0.5;
	ui = cvss3_metrics[3].w[ix[3]];
	c = cvss3_metrics[5].w[ix[5]];
	in = cvss3_metrics[6].w[ix[6]];
	a = cvss3_metrics[7].w[ix[7]];
	iss = 1 - (1 - c) * (1 - in) * (1 - a);
	if (changed)
		impact = 7.52 * (iss - 0.029) - 3.25 * pow(iss - 0.02, 15);
	else
		impact = 6.42 * iss;
	expl = 8.22 * av * ac * pr * ui;
	if (impact <= 0)
		*score10 = 0;
	else if (changed)
		*score10 = roundup10(fmin(1.08 * (impact + expl), 10));
	else
		*score10 = roundup10(fmin(impact + expl, 10));
	return 0;
}

static int cvss2(int *score10, const char *v)
{
	int ix[NMETRICS_MAX];
	double impact, expl, base;

	if (cvss_read(v, cvss2_metrics, 6, ix))
		return CLR_EINVALID;
	impact = 10.41 * (1 - (1 - cvss2_metrics[3].w[ix[3]]) *
				  (1 - cvss2_metrics[4].w[ix[4]]) *
				  (1 - cvss2_metrics[5].w[ix[5]]));
	expl = 20 * cvss2_metrics[0].w[ix[0]] * cvss2_metrics[1].w[ix[1]] *
	       cvss2_metrics[2].w[ix[2]];
	base = (0.6 * impact + 0.4 * expl - 1.5) * (impact == 0 ? 0 : 1.176);
	/* v2 rounds to one decimal, half up. */
	*score10 = (int)lround(base * 10 + 1e-9);
	if (*score10 < 0)
		*score10 = 0;
	return 0;
}

int clr_cvss_score(int *score10, int *version, const char *vector)
{
	if (!strncmp(vector, "CVSS:3.0/", 9) ||
	    !strncmp(vector, "CVSS:3.1/", 9)) {
		*version = 3;
		if (!cvss3(score10, vector + 9))
			return 0;
	} else if (strncmp(vector, "CVSS:", 5)) {
		/* v2 vectors carry no prefix (sometimes "(AV:N/...)"). */
		char tmp[128];
		size_t n = strlen(vector);

		if (vector[0] == '(' && n > 2 && vector[n - 1] == ')') {
			vector++;
			n -= 2;
		}
		if (n < sizeof(tmp)) {
			memcpy(tmp, vector, n);
			tmp[n] = '\0';
			*version = 2;
			if (!cvss2(score10, tmp))
				return 0;
		}
	}
	return clr_error_set(CLR_EINVALID, "not a CVSS v3 or v2 base vector: "
			     "'%.100s'", vector);
}

enum clr_severity clr_cvss_severity(int score10, int version)
{
	if (version == 2)
		return score10 < 40 ? CLR_SEV_LOW :
		       score10 < 70 ? CLR_SEV_MEDIUM : CLR_SEV_HIGH;
	if (score10 <= 0)
		return CLR_SEV_NEGLIGIBLE;
	return score10 < 40 ? CLR_SEV_LOW : score10 < 70 ? CLR_SEV_MEDIUM :
	       score10 < 90 ? CLR_SEV_HIGH : CLR_SEV_CRITICAL;
}

static const struct {
	const char *word;
	enum clr_severity sev;
} severity_words[] = {
	{ "critical", CLR_SEV_CRITICAL },
	{ "important", CLR_SEV_HIGH },
	{ "high", CLR_SEV_HIGH },
	{ "moderate", CLR_SEV_MEDIUM },
	{ "medium", CLR_SEV_MEDIUM },
	{ "low", CLR_SEV_LOW },
	{ "negligible", CLR_SEV_NEGLIGIBLE },
	{ "none", CLR_SEV_UNKNOWN },
};

/* Whether w is one of the words above (any case). */
static bool severity_word_known(const char *w, enum clr_severity *sev)
{
	for (size_t i = 0;
	     i < sizeof(severity_words) / sizeof(severity_words[0]); i++) {
		if (!strcasecmp(w, severity_words[i].word)) {
			*sev = severity_words[i].sev;
			return true;
		}
	}
	*sev = CLR_SEV_UNKNOWN;
	return false;
}

enum clr_severity clr_osv_severity_word(const char *w)
{
	enum clr_severity sev;

	severity_word_known(w, &sev);
	return sev;
}

/* --- one record --------------------------------------------------------- */

struct ctx {
	const struct clr_osv_opts *o;
	struct clr_vuln_set *out;
	const char *where;  /* the file (or zip member) for messages */
	const char *id;     /* the record's id once known, for messages */
	const char *empty;  /* "" in the arena */
};

static const char *astr(struct ctx *c, const char *s)
{
	return s && *s ? clr_arena_strdup(&c->out->arena, s) : c->empty;
}

/*
 * The string member key of obj at place (for messages): NULL when absent
 * or null; CLR_EINVALID for another type or, when max is not 0, a string
 * longer than max.
 */
static int get_str(const char **out, struct ctx *c, json_t *obj,
		   const char *key, const char *place, size_t max)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return clr_error_set(CLR_EINVALID, "%s: %s: %s%s%s is not a "
				     "string", c->where, c->id, place,
				     *place ? "." : "", key);
	if (max && json_string_length(v) > max)
		return clr_error_set(CLR_EINVALID, "%s: %s: %s%s%s is longer "
				     "than %zu bytes", c->where, c->id, place,
				     *place ? "." : "", key, max);
	*out = json_string_value(v);
	return 0;
}

/* The array member key (NULL when absent or null); CLR_EINVALID else. */
static int get_array(json_t **out, struct ctx *c, json_t *obj,
		     const char *key, const char *place)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return clr_error_set(CLR_EINVALID, "%s: %s: %s%s%s is not an "
				     "array", c->where, c->id, place,
				     *place ? "." : "", key);
	*out = v;
	return 0;
}

static int get_object(json_t **out, struct ctx *c, json_t *obj,
		      const char *key, const char *place)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return clr_error_set(CLR_EINVALID, "%s: %s: %s%s%s is not an "
				     "object", c->where, c->id, place,
				     *place ? "." : "", key);
	*out = v;
	return 0;
}

/* The ecosystem without its release suffix: "AlmaLinux:9" -> "AlmaLinux". */
static size_t eco_base_len(const char *eco)
{
	const char *colon = strchr(eco, ':');

	return colon ? (size_t)(colon - eco) : strlen(eco);
}

/* The version scheme an ecosystem's versions follow (OSV's ecosystem
 * list); "" when clarion has no comparator for it. */
static const char *eco_scheme(const char *eco, const char *range_type)
{
	static const struct {
		const char *eco, *scheme;
	} map[] = {
		{ "AlmaLinux", "rpm" }, { "Rocky Linux", "rpm" },
		{ "Red Hat", "rpm" }, { "openSUSE", "rpm" }, { "SUSE", "rpm" },
		{ "Mageia", "rpm" }, { "openEuler", "rpm" },
		{ "Azure Linux", "rpm" }, { "Photon OS", "rpm" },
		{ "Debian", "dpkg" }, { "Ubuntu", "dpkg" },
		{ "Alpine", "apk" }, { "Wolfi", "apk" },
		{ "Chainguard", "apk" },
		{ "PyPI", "pep440" }, { "Go", "semver" }, { "npm", "semver" },
		{ "crates.io", "semver" }, { "Maven", "maven" },
		{ "RubyGems", "gem" },
	};
	size_t n = eco_base_len(eco);

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strlen(map[i].eco) == n && !memcmp(map[i].eco, eco, n))
			return map[i].scheme;
	return range_type && !strcmp(range_type, "SEMVER") ? "semver" : "";
}

/* Skips "ALSA-2022:5468: " at the start of a summary that repeats the id
 * (AlmaLinux does for some early advisories). */
static const char *skip_id_prefix(const char *s, const char *id)
{
	size_t n = strlen(id);

	if (n && !strncmp(s, id, n) && s[n] == ':') {
		s += n + 1;
		while (*s == ' ')
			s++;
	}
	return s;
}

/*
 * Red Hat's severity word in a summary: "Important: kernel security
 * update" or, in a few AlmaLinux advisories, "... update (Important)".
 * Copies it into word (empty when there is none).
 */
static void summary_severity(char word[16], const char *summary,
			     const char *id)
{
	const char *s = skip_id_prefix(summary, id);
	const char *colon = strchr(s, ':'), *open;
	size_t n = strlen(s), wl;
	enum clr_severity sev;

	if (colon && (wl = (size_t)(colon - s)) < 16) {
		memcpy(word, s, wl);
		word[wl] = '\0';
		if (severity_word_known(word, &sev))
			return;
	}
	if (n > 2 && s[n - 1] == ')' && (open = strrchr(s, '(')) &&
	    (wl = (size_t)(s + n - 1 - open - 1)) < 16) {
		memcpy(word, open + 1, wl);
		word[wl] = '\0';
		if (severity_word_known(word, &sev))
			return;
	}
	word[0] = '\0';
}

static bool module_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
	       ch == '-' || ch == '+';
}

/* A "name:stream" word: one colon, module characters on both sides. */
static bool module_word(const char *w, size_t n)
{
	size_t colons = 0, at = 0;

	for (size_t i = 0; i < n; i++) {
		if (w[i] == ':') {
			colons++;
			at = i;
		} else if (!module_char(w[i])) {
			return false;
		}
	}
	return colons == 1 && at > 0 && at + 1 < n;
}

/*
 * The module stream a RHEL-rebuild summary names: "Important:
 * container-tools:rhel8 security update" -> "container-tools:rhel8".
 * Only when exactly one name:stream word appears; an advisory covering two
 * modules ("virt:rhel and virt-devel:rhel") cannot say which package is in
 * which, and a wrong module would hide the package from the matcher.
 */
static const char *summary_module(struct ctx *c, const char *summary)
{
	const char *s = skip_id_prefix(summary, c->id), *found = NULL;
	size_t found_len = 0, wl;
	char word[16];

	summary_severity(word, s, c->id);
	wl = strlen(word);
	if (wl && !strncmp(s, word, wl) && s[wl] == ':')
		s += wl + 1;
	while (*s) {
		size_t n = strcspn(s, " ,/()");

		if (n && module_word(s, n)) {
			if (found && (found_len != n || memcmp(found, s, n)))
				return NULL;
			found = s;
			found_len = n;
		}
		s += n;
		s += strspn(s, " ,/()");
	}
	return found ? clr_arena_strndup(&c->out->arena, found, found_len)
		     : NULL;
}

/* What every record of one advisory shares. */
struct common {
	const char *name, *description, *issued, *links, *severity;
	enum clr_severity norm;
	const char *module;  /* from the summary, or NULL */
	/* The options' strings, copied once per record. */
	const char *updater, *kind, *did, *dist_name, *dist_vid, *pretty;
};

static int record_severity(struct ctx *c, json_t *rec, const char *summary,
			   struct common *k)
{
	json_t *dbs, *sevs, *e;
	const char *s, *best = NULL;
	int best_ver = 0, best_score = 0;
	size_t i;
	int err;

	k->severity = c->empty;
	k->norm = CLR_SEV_UNKNOWN;
	if ((err = get_object(&dbs, c, rec, "database_specific", "")))
		return err;
	if (dbs) {
		/* GitHub's "MODERATE", other databases' own words. */
		if ((err = get_str(&s, c, dbs, "severity",
				   "database_specific", CLR_OSV_ID_MAX)))
			return err;
		if (s && *s) {
			k->severity = astr(c, s);
			k->norm = clr_osv_severity_word(s);
			return 0;
		}
	}
	if (c->o->summary_severity && summary) {
		char word[16];

		summary_severity(word, summary, c->id);
		if (*word) {
			k->severity = astr(c, word);
			k->norm = clr_osv_severity_word(word);
			return 0;
		}
	}
	if ((err = get_array(&sevs, c, rec, "severity", "")))
		return err;
	json_array_foreach(sevs, i, e) {
		const char *type, *score;
		char place[48];
		int sc, ver;

		snprintf(place, sizeof(place), "severity[%zu]", i);
		if (!json_is_object(e))
			return clr_error_set(CLR_EINVALID, "%s: %s: %s is not "
					     "an object", c->where, c->id,
					     place);
		if ((err = get_str(&type, c, e, "type", place,
				   CLR_OSV_ID_MAX)) ||
		    (err = get_str(&score, c, e, "score", place,
				   CLR_OSV_ID_MAX)))
			return err;
		if (!type || !score)
			continue;
		if (!best)
			best = score;  /* kept verbatim even if unscored */
		if (strcmp(type, "CVSS_V3") && strcmp(type, "CVSS_V2"))
			continue;
		/* A vector we cannot score leaves the severity Unknown; it
		 * is the vendor's data, not a reason to drop the feed. */
		if (clr_cvss_score(&sc, &ver, score)) {
			clr_error_clear();
			continue;
		}
		if (ver > best_ver) {
			best = score;
			best_ver = ver;
			best_score = sc;
		}
	}
	if (best) {
		k->severity = astr(c, best);
		if (best_ver)
			k->norm = clr_cvss_severity(best_score, best_ver);
	}
	return 0;
}

static int record_links(struct ctx *c, json_t *rec, struct common *k)
{
	struct clr_buf b = CLR_BUF_INIT(CLR_OSV_RECORD_MAX);
	json_t *refs, *r;
	size_t i;
	int err;

	if ((err = get_array(&refs, c, rec, "references", "")))
		return err;
	json_array_foreach(refs, i, r) {
		const char *url;
		char place[48];

		snprintf(place, sizeof(place), "references[%zu]", i);
		if (!json_is_object(r)) {
			err = clr_error_set(CLR_EINVALID, "%s: %s: %s is not "
					    "an object", c->where, c->id,
					    place);
			goto cleanup;
		}
		if ((err = get_str(&url, c, r, "url", place, 0)))
			goto cleanup;
		/* Links are space-separated, so a URL with a space in it
		 * (none seen) would split; it is dropped instead. */
		if (!url || !*url || strpbrk(url, " \t\r\n"))
			continue;
		if ((err = clr_buf_printf(&b, "%s%s", b.len ? " " : "", url)))
			goto cleanup;
	}
	k->links = astr(c, clr_buf_str(&b));
cleanup:
	clr_buf_release(&b);
	return err;
}

/* The events of one range, rebuilt with only the four event kinds OSV
 * defines; *fixed is the first "fixed" (NULL if none). */
static int range_events(json_t **out, const char **fixed, bool *module_rel,
			struct ctx *c, json_t *events, const char *place)
{
	static const char *const kinds[] = {
		"introduced", "fixed", "last_affected", "limit",
	};
	json_t *ev, *res = json_array();
	size_t i;
	int err = 0;

	*fixed = NULL;
	*module_rel = false;
	json_array_foreach(events, i, ev) {
		json_t *o = NULL;
		char p[192];

		snprintf(p, sizeof(p), "%s.events[%zu]", place, i);
		if (!json_is_object(ev)) {
			err = clr_error_set(CLR_EINVALID, "%s: %s: %s is not "
					    "an object", c->where, c->id, p);
			goto fail;
		}
		for (size_t k = 0; k < 4; k++) {
			const char *v;

			if ((err = get_str(&v, c, ev, kinds[k], p,
					   CLR_OSV_ID_MAX)))
				goto fail;
			if (!v)
				continue;
			if (!o)
				o = json_object();
			json_object_set_new(o, kinds[k], json_string(v));
			if (k == 1 && !*fixed)
				*fixed = v;
			if (strstr(v, ".module"))
				*module_rel = true;
		}
		if (!o) {
			err = clr_error_set(CLR_EINVALID, "%s: %s: %s has none "
					    "of introduced, fixed, "
					    "last_affected, limit", c->where,
					    c->id, p);
			goto fail;
		}
		json_array_append_new(res, o);
	}
	*out = res;
	return 0;
fail:
	json_decref(res);
	return err;
}

static const char *dump(struct ctx *c, json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);
	const char *r;

	if (!s)
		abort();  /* only allocation can fail on a tree we built */
	r = clr_arena_strdup(&c->out->arena, s);
	free(s);
	return r;
}

static void emit(struct ctx *c, const struct common *k, const char *eco,
		 const char *pkg, const char *scheme, const char *fixed,
		 const char *module, const char *affected)
{
	struct clr_vuln v = {
		.name = k->name,
		.updater = k->updater,
		.description = k->description,
		.issued = k->issued,
		.links = k->links,
		.severity = k->severity,
		.normalized_severity = k->norm,
		.package_name = astr(c, pkg),
		.package_kind = k->kind,
		.package_module = module ? module : c->empty,
		.arch = c->empty,
		.arch_op = c->empty,
		.dist_did = k->did,
		.dist_name = k->dist_name,
		.dist_version = c->empty,
		.dist_version_id = k->dist_vid,
		.dist_version_code_name = c->empty,
		.dist_pretty_name = k->pretty,
		.dist_cpe = c->empty,
		.repo_name = astr(c, eco),
		.repo_uri = c->empty,
		.version_scheme = astr(c, scheme),
		.fixed_in_version = astr(c, fixed),
		.affected = affected,
	};

	/* Pushed directly: every string is already in out's arena, and the
	 * shared ones must not be copied per package (see the top). */
	clr_vec_push(&c->out->vulns, &v);
}

static int one_affected(struct ctx *c, const struct common *k, json_t *aff,
			size_t ai)
{
	json_t *pkg, *ranges, *versions, *r, *vers_copy = NULL, *v;
	const char *eco, *name;
	char place[48];
	size_t i, emitted = 0;
	int err;

	snprintf(place, sizeof(place), "affected[%zu]", ai);
	if (!json_is_object(aff))
		return clr_error_set(CLR_EINVALID, "%s: %s: %s is not an "
				     "object", c->where, c->id, place);
	if ((err = get_object(&pkg, c, aff, "package", place)))
		return err;
	if (!pkg)  /* 1.x allows it for ecosystem-less records; nothing
		    * in an image could match those */
		return 0;
	snprintf(place, sizeof(place), "affected[%zu].package", ai);
	if ((err = get_str(&eco, c, pkg, "ecosystem", place, CLR_OSV_ID_MAX)) ||
	    (err = get_str(&name, c, pkg, "name", place, CLR_OSV_ID_MAX)))
		return err;
	if (!eco || !*eco || !name || !*name)
		return clr_error_set(CLR_EINVALID, "%s: %s: %s has no "
				     "ecosystem or name", c->where, c->id,
				     place);
	if (c->o->ecosystem && strcmp(eco, c->o->ecosystem))
		return 0;
	snprintf(place, sizeof(place), "affected[%zu]", ai);
	if ((err = get_array(&ranges, c, aff, "ranges", place)) ||
	    (err = get_array(&versions, c, aff, "versions", place)))
		return err;
	vers_copy = json_array();
	json_array_foreach(versions, i, v) {
		if (!json_is_string(v) ||
		    json_string_length(v) > CLR_OSV_ID_MAX) {
			err = clr_error_set(CLR_EINVALID, "%s: %s: %s."
					    "versions[%zu] is not a version "
					    "string", c->where, c->id, place,
					    i);
			goto cleanup;
		}
		json_array_append_new(vers_copy, json_string(
						json_string_value(v)));
	}
	json_array_foreach(ranges, i, r) {
		json_t *events, *evs = NULL, *a;
		const char *type, *fixed;
		const char *module = NULL;
		char rp[128];
		bool module_rel;

		snprintf(rp, sizeof(rp), "%s.ranges[%zu]", place, i);
		if (!json_is_object(r)) {
			err = clr_error_set(CLR_EINVALID, "%s: %s: %s is not "
					    "an object", c->where, c->id, rp);
			goto cleanup;
		}
		if ((err = get_str(&type, c, r, "type", rp, CLR_OSV_ID_MAX)) ||
		    (err = get_array(&events, c, r, "events", rp)))
			goto cleanup;
		if (!type || !events) {
			err = clr_error_set(CLR_EINVALID, "%s: %s: %s has no "
					    "type or events", c->where, c->id,
					    rp);
			goto cleanup;
		}
		if ((err = range_events(&evs, &fixed, &module_rel, c, events,
					rp)))
			goto cleanup;
		if (!strcmp(type, "GIT")) {
			json_decref(evs);
			continue;
		}
		a = json_pack("{s:[{s:s,s:o}],s:O}", "ranges", "type", type,
			      "events", evs, "versions", vers_copy);
		if (!a)
			abort();
		if (module_rel)
			module = k->module;
		emit(c, k, eco, name,
		     c->o->version_scheme ? c->o->version_scheme
					  : eco_scheme(eco, type),
		     fixed, module, dump(c, a));
		json_decref(a);
		emitted++;
	}
	if (!emitted && json_array_size(vers_copy)) {
		json_t *a = json_pack("{s:[],s:O}", "ranges", "versions",
				      vers_copy);

		if (!a)
			abort();
		emit(c, k, eco, name,
		     c->o->version_scheme ? c->o->version_scheme
					  : eco_scheme(eco, NULL),
		     NULL, NULL, dump(c, a));
		json_decref(a);
	}
cleanup:
	json_decref(vers_copy);
	return err;
}

int clr_osv_parse_record(const char *data, size_t len, const char *where,
			 const struct clr_osv_opts *o, struct clr_vuln_set *out)
{
	struct ctx c = { o, out, where, "(no id)", NULL };
	struct common k = { 0 };
	json_error_t je;
	json_t *rec, *affected, *aff;
	const char *id, *summary, *details, *published, *withdrawn;
	size_t i, mark = out->vulns.len;
	int err = 0;

	if (len > CLR_OSV_RECORD_MAX)
		return clr_error_set(CLR_ELIMIT, "%s: OSV record is larger "
				     "than %u bytes", where,
				     CLR_OSV_RECORD_MAX);
	if (!(rec = json_loadb(data, len, 0, &je)))
		return clr_error_set(CLR_EINVALID, "%s: line %d column %d: %s",
				     where, je.line, je.column, je.text);
	if (!json_is_object(rec)) {
		err = clr_error_set(CLR_EINVALID, "%s: an OSV record is a JSON "
				    "object", where);
		goto cleanup;
	}
	c.empty = clr_arena_strdup(&out->arena, "");
	if ((err = get_str(&id, &c, rec, "id", "", CLR_OSV_ID_MAX)))
		goto cleanup;
	if (!id || !*id) {
		err = clr_error_set(CLR_EINVALID, "%s: record has no id",
				    where);
		goto cleanup;
	}
	c.id = id;
	if ((err = get_str(&withdrawn, &c, rec, "withdrawn", "",
			   CLR_OSV_ID_MAX)) ||
	    (err = get_str(&summary, &c, rec, "summary", "", 0)) ||
	    (err = get_str(&details, &c, rec, "details", "", 0)) ||
	    (err = get_str(&published, &c, rec, "published", "",
			   CLR_OSV_ID_MAX)) ||
	    (err = get_array(&affected, &c, rec, "affected", "")))
		goto cleanup;
	/* A withdrawn record is one its publisher says was a mistake. */
	if (withdrawn && *withdrawn)
		goto cleanup;
	k.name = astr(&c, id);
	k.description = astr(&c, details && *details ? details : summary);
	k.issued = astr(&c, published);
	k.updater = astr(&c, o->updater);
	k.kind = astr(&c, o->package_kind);
	k.did = astr(&c, o->dist_did);
	k.dist_name = astr(&c, o->dist_name);
	k.dist_vid = astr(&c, o->dist_version_id);
	k.pretty = astr(&c, o->dist_pretty_name);
	if ((err = record_severity(&c, rec, summary, &k)) ||
	    (err = record_links(&c, rec, &k)))
		goto cleanup;
	if (o->rpm_modules && summary)
		k.module = summary_module(&c, summary);
	json_array_foreach(affected, i, aff)
		if ((err = one_affected(&c, &k, aff, i)))
			goto cleanup;
cleanup:
	if (err)
		clr_vec_truncate(&out->vulns, mark);
	json_decref(rec);
	return err;
}

/* --- files, directories, zips ------------------------------------------- */

static int read_file(struct clr_buf *b, const char *path)
{
	char chunk[65536];
	ssize_t n;
	int fd, err = 0;

	clr_buf_reset(b);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return clr_error_set(CLR_EIO, "%s: %s", path, strerror(errno));
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = clr_error_set(CLR_EIO, "%s: %s", path,
					    strerror(errno));
			break;
		}
		if (clr_buf_add(b, chunk, (size_t)n)) {
			err = clr_error_set(CLR_ELIMIT, "%s: OSV record is "
					    "larger than %u bytes", path,
					    CLR_OSV_RECORD_MAX);
			break;
		}
	}
	close(fd);
	return err;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

static int parse_file(struct clr_buf *b, const char *path,
		      const struct clr_osv_opts *o, struct clr_vuln_set *out)
{
	int err = read_file(b, path);

	if (!err)
		err = clr_osv_parse_record(b->ptr ? b->ptr : "", b->len, path,
					   o, out);
	return err;
}

static int no_dots(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

/* Every *.json under dir, in name order (so records come out in the same
 * order on every run), without following symbolic links. */
static int walk(struct clr_buf *b, const char *dir, int depth,
		const struct clr_osv_opts *o, struct clr_vuln_set *out)
{
	struct dirent **names = NULL;
	int n, err = 0;

	if (depth > CLR_OSV_DEPTH_MAX)
		return clr_error_set(CLR_ELIMIT, "%s: directories nested more "
				     "than %d deep", dir, CLR_OSV_DEPTH_MAX);
	if ((n = scandir(dir, &names, no_dots, alphasort)) < 0)
		return clr_error_set(CLR_EIO, "%s: %s", dir, strerror(errno));
	for (int i = 0; i < n; i++) {
		char *path;
		struct stat st;

		if (err)
			goto next;
		if (asprintf(&path, "%s/%s", dir, names[i]->d_name) < 0)
			abort();
		if (lstat(path, &st))
			err = clr_error_set(CLR_EIO, "%s: %s", path,
					    strerror(errno));
		else if (S_ISDIR(st.st_mode))
			err = walk(b, path, depth + 1, o, out);
		else if (S_ISREG(st.st_mode) &&
			 ends_with(names[i]->d_name, ".json"))
			err = parse_file(b, path, o, out);
		free(path);
next:
		free(names[i]);
	}
	free(names);
	return err;
}

#define ZIP_MEMBERS_MAX 1000000
#define ZIP_BYTES_MAX ((uint64_t)8 << 30)

static int parse_zip(struct clr_buf *b, const char *path,
		     const struct clr_osv_opts *o, struct clr_vuln_set *out)
{
	struct archive *ar = archive_read_new();
	struct archive_entry *e;
	char *where = NULL;
	uint64_t total = 0;
	long members = 0;
	int r, err = 0;

	archive_read_support_format_zip(ar);
	if (archive_read_open_filename(ar, path, 65536) != ARCHIVE_OK) {
		err = clr_error_set(CLR_EIO, "%s: %s", path,
				    archive_error_string(ar));
		goto cleanup;
	}
	while ((r = archive_read_next_header(ar, &e)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e);
		char chunk[65536];
		la_ssize_t n;

		/* The limits the download step applies to a zip it unpacks,
		 * kept here since OSV zips are read in place. */
		if (++members > ZIP_MEMBERS_MAX) {
			err = clr_error_set(CLR_ELIMIT, "%s: more than %d zip "
					    "members", path, ZIP_MEMBERS_MAX);
			goto cleanup;
		}

		if (!name || archive_entry_filetype(e) != AE_IFREG ||
		    !ends_with(name, ".json"))
			continue;
		free(where);
		if (asprintf(&where, "%s!%s", path, name) < 0)
			abort();
		clr_buf_reset(b);
		while ((n = archive_read_data(ar, chunk, sizeof(chunk))) > 0) {
			total += (uint64_t)n;
			if (total > ZIP_BYTES_MAX) {
				err = clr_error_set(CLR_ELIMIT, "%s: more than "
						    "%llu bytes uncompressed", path,
						    (unsigned long long)ZIP_BYTES_MAX);
				goto cleanup;
			}
			if (clr_buf_add(b, chunk, (size_t)n)) {
				err = clr_error_set(CLR_ELIMIT, "%s: OSV "
						    "record is larger than "
						    "%u bytes", where,
						    CLR_OSV_RECORD_MAX);
				goto cleanup;
			}
		}
		if (n < 0) {
			err = clr_error_set(CLR_EINVALID, "%s: %s", where,
					    archive_error_string(ar));
			goto cleanup;
		}
		if ((err = clr_osv_parse_record(b->ptr ? b->ptr : "", b->len,
						where, o, out)))
			goto cleanup;
	}
	if (r != ARCHIVE_EOF)
		err = clr_error_set(CLR_EINVALID, "%s: not a readable zip: %s",
				    path, archive_error_string(ar));
cleanup:
	free(where);
	archive_read_free(ar);
	return err;
}

int clr_osv_parse_path(const char *path, const struct clr_osv_opts *o,
		       struct clr_vuln_set *out)
{
	struct clr_buf b = CLR_BUF_INIT(CLR_OSV_RECORD_MAX);
	size_t mark = out->vulns.len;
	struct stat st;
	char magic[4] = { 0 };
	int fd, err;

	if (stat(path, &st))
		return clr_error_set(CLR_EIO, "%s: %s", path, strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		err = walk(&b, path, 0, o, out);
	} else {
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			return clr_error_set(CLR_EIO, "%s: %s", path,
					     strerror(errno));
		if (read(fd, magic, sizeof(magic)) < 0)
			magic[0] = '\0';
		close(fd);
		if (!memcmp(magic, "PK\3\4", 4) || !memcmp(magic, "PK\5\6", 4))
			err = parse_zip(&b, path, o, out);
		else
			err = parse_file(&b, path, o, out);
	}
	if (err)
		clr_vec_truncate(&out->vulns, mark);
	clr_buf_release(&b);
	return err;
}

/* --- distributions that publish OSV -------------------------------------- */

struct distro_updater {
	const struct clr_osv_distro *d;
	char *major;      /* "9" */
	char *ecosystem;  /* "AlmaLinux:9" */
};

/* The fingerprint of a local feed directory: SHA-256 over the sorted
 * names, sizes and modification times of its files (contents are not read:
 * that is parse()'s job, and a changed file changes its mtime). */
struct dir_entry_sig {
	char *rel;
	long long size, mtime_ns;
};

static int sig_cmp(const void *a, const void *b)
{
	return strcmp(((const struct dir_entry_sig *)a)->rel,
		      ((const struct dir_entry_sig *)b)->rel);
}

static int dir_sigs(struct clr_vec *v, const char *root, const char *rel,
		    int depth)
{
	char path[4096];
	DIR *d;
	struct dirent *e;
	int err = 0;

	if (depth > 64)
		return clr_error_set(CLR_ELIMIT, "%s: directories nested too deep", root);
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	if (!(d = opendir(path)))
		return clr_error_set(CLR_EIO, "%s: %s", path, strerror(errno));
	while (!err && (e = readdir(d))) {
		char sub[2048];
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s%s%s", rel,
				     *rel ? "/" : "", e->d_name) >= sizeof(sub) ||
		    (size_t)snprintf(path, sizeof(path), "%s/%s", root, sub) >=
			    sizeof(path))
			continue;
		if (lstat(path, &st))
			continue;
		if (S_ISDIR(st.st_mode)) {
			err = dir_sigs(v, root, sub, depth + 1);
		} else if (S_ISREG(st.st_mode)) {
			struct dir_entry_sig s = {
				clr_strdup(sub), (long long)st.st_size,
				(long long)st.st_mtim.tv_sec * 1000000000LL +
					st.st_mtim.tv_nsec };

			if (clr_vec_len(v) >= 1000000)
				err = clr_error_set(CLR_ELIMIT, "%s: more than "
						    "1,000,000 files", root);
			clr_vec_push(v, &s);
		}
	}
	closedir(d);
	return err;
}

/* The directory a url names on this machine (a path or file://), or
 * NULL when it names something else. */
static const char *local_dir(const char *url)
{
	struct stat st;

	if (!strncmp(url, "file://", 7))
		url += 7;
	else if (strstr(url, "://"))
		return NULL;
	return !stat(url, &st) && S_ISDIR(st.st_mode) ? url : NULL;
}

/* The osv-database layout (advisories/almalinux9/NAME.json) checked out on
 * disk: read in place, unchanged when no file changed. */
static int dir_fetch(const char *dir, const char *prev, struct clr_fetched *out)
{
	struct clr_vec v = CLR_VEC_INIT(struct dir_entry_sig);
	struct clr_sha256 h;
	uint8_t d[CLR_SHA256_LEN];
	char hex[CLR_SHA256_HEXLEN + 1], fp[CLR_SHA256_HEXLEN + 8];
	int err;

	if ((err = dir_sigs(&v, dir, "", 0)))
		goto cleanup;
	clr_vec_sort(&v, sig_cmp);
	clr_sha256_init(&h);
	for (size_t i = 0; i < clr_vec_len(&v); i++) {
		const struct dir_entry_sig *s = clr_vec_get(&v, i);

		clr_sha256_update(&h, s->rel, strlen(s->rel) + 1);
		clr_sha256_update(&h, &s->size, sizeof(s->size));
		clr_sha256_update(&h, &s->mtime_ns, sizeof(s->mtime_ns));
	}
	clr_sha256_final(&h, d);
	clr_sha256_hex(hex, d);
	snprintf(fp, sizeof(fp), "dir:%s", hex);
	if (prev && !strcmp(prev, fp)) {
		err = CLR_EUNCHANGED;
		goto cleanup;
	}
	out->path = clr_strdup(dir);
	out->fingerprint = clr_strdup(fp);
	out->borrowed = true;
cleanup:
	for (size_t i = 0; i < clr_vec_len(&v); i++)
		free(((struct dir_entry_sig *)clr_vec_get(&v, i))->rel);
	clr_vec_release(&v);
	return err;
}

static int distro_fetch(struct clr_updater *u, const char *prev,
			struct clr_fetched *out)
{
	struct clr_fetch_opts o = CLR_FETCH_OPTS_INIT;
	const char *dir = local_dir(u->url);
	size_t n = strlen(u->url);

	if (dir)
		return dir_fetch(dir, prev, out);
	/* parse() reads a zip in place, one member at a time: unpacking the
	 * tens of thousands of small files to disk first would cost more
	 * than parsing them. */
	o.raw = n > 4 && !strcmp(u->url + n - 4, ".zip");
	return clr_fetch_into(out, u->url, prev, &o);
}

static int distro_parse(struct clr_updater *u, const struct clr_fetched *in,
			struct clr_vuln_set *out)
{
	struct distro_updater *du = u->priv;
	struct clr_osv_opts o = {
		.updater = u->name,
		.ecosystem = du->ecosystem,
		.version_scheme = "rpm",
		.package_kind = "binary",
		.dist_did = du->d->dist_did,
		.dist_name = du->d->dist_name,
		.dist_version_id = du->major,
		.summary_severity = true,
		.rpm_modules = true,
	};

	return clr_osv_parse_path(in->path, &o, out);
}

static void distro_free(struct clr_updater *u)
{
	struct distro_updater *du;

	if (!u)
		return;
	if ((du = u->priv)) {
		free(du->major);
		free(du->ecosystem);
		free(du);
	}
	free(u->name);
	free(u->url);
	free(u);
}

static const struct clr_updater_ops distro_ops = {
	.fetch = distro_fetch,
	.parse = distro_parse,
	.free = distro_free,
};

int clr_osv_distro_create(const struct clr_osv_distro *d, struct clr_vec *out,
			  const char *(*setting)(void *arg, const char *key),
			  void *arg)
{
	const char *url = setting ? setting(arg, "url") : NULL;
	const char *rels = setting ? setting(arg, "releases") : NULL;
	size_t mark = out->len;

	if (!url || !*url)
		url = d->default_url;
	if (!rels || !*rels)
		rels = d->default_releases;
	for (const char *r = rels; *r;) {
		size_t n = strcspn(r, " \t\n,");
		struct clr_updater *u;
		struct distro_updater *du;

		if (!n) {
			r++;
			continue;
		}
		if (n > 8 || strspn(r, "0123456789") < n) {
			/* Undo what this call added: the caller keeps only
			 * a complete set. */
			for (size_t i = mark; i < out->len; i++)
				distro_free(*(struct clr_updater **)
					    clr_vec_get(out, i));
			clr_vec_truncate(out, mark);
			return clr_error_set(CLR_EINVALID, "updaters.config."
					     "%s.releases: '%.*s' is not a "
					     "major release number", d->source,
					     (int)n, r);
		}
		u = clr_calloc(1, sizeof(*u));
		du = clr_calloc(1, sizeof(*du));
		du->d = d;
		du->major = clr_strndup(r, n);
		if (asprintf(&du->ecosystem, "%s:%s", d->ecosystem,
			     du->major) < 0 ||
		    asprintf(&u->name, "%s-%s", d->prefix, du->major) < 0)
			abort();
		u->ops = &distro_ops;
		u->url = clr_strdup(url);
		u->priv = du;
		clr_vec_push(out, &u);
		r += n;
	}
	return 0;
}
