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
#include "util/log.h"

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
	const char *empty;  /* "" in the arena, once the record emits */
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

/*
 * get_str's answer without its message: true with *out set when get_str
 * would succeed.  Loops over arrays (references, events, affected entries:
 * hundreds per advisory, once per release read) call this and name their
 * place for get_str's message only when it is false: formatting
 * "affected[12].ranges[0].events[1]" for every element costs more than
 * the rest of the work on it.
 */
static bool str_ok(const char **out, json_t *obj, const char *key, size_t max)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return true;
	if (!json_is_string(v) || (max && json_string_length(v) > max))
		return false;
	*out = json_string_value(v);
	return true;
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
 * container-tools:rhel8 security update" -> "container-tools:rhel8"
 * (*len bytes of summary, not NUL-terminated).
 * Only when exactly one name:stream word appears; an advisory covering two
 * modules ("virt:rhel and virt-devel:rhel") cannot say which package is in
 * which, and a wrong module would hide the package from the matcher.
 */
static const char *summary_module(struct ctx *c, const char *summary,
				  size_t *len)
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
	*len = found_len;
	return found;
}

/*
 * What every record of one advisory shares.  The strings point into the
 * JSON tree (or links / word below) until the advisory emits its first
 * record, when materialize() copies them into the set's arena once: an
 * advisory with nothing for this set's ecosystem (two releases in three,
 * when one export is read for every release) costs no copies.
 */
struct common {
	const char *name, *description, *issued, *links, *severity;
	enum clr_severity norm;
	const char *module;  /* from the summary, or NULL */
	size_t module_len;   /* its length (not NUL-terminated before the copy) */
	/* The options' strings, copied once per record. */
	const char *updater, *kind, *did, *dist_name, *dist_vid, *pretty;
	bool copied;         /* the strings above are in the arena */
	char word[16];       /* the summary's severity word, when used */
	json_t *refs;        /* references[], checked; links is made from it */
};

static const char *links_build(struct ctx *c, json_t *refs);

/* The common strings into the arena, once per record (see above). */
static void materialize(struct ctx *c, struct common *k)
{
	if (k->copied)
		return;
	c->empty = clr_arena_strdup(&c->out->arena, "");
	k->name = astr(c, k->name);
	k->description = astr(c, k->description);
	k->issued = astr(c, k->issued);
	k->links = links_build(c, k->refs);
	k->severity = astr(c, k->severity);
	if (k->module)
		k->module = clr_arena_strndup(&c->out->arena, k->module,
					      k->module_len);
	k->updater = astr(c, k->updater);
	k->kind = astr(c, k->kind);
	k->did = astr(c, k->did);
	k->dist_name = astr(c, k->dist_name);
	k->dist_vid = astr(c, k->dist_vid);
	k->pretty = astr(c, k->pretty);
	k->copied = true;
}

static int record_severity(struct ctx *c, json_t *rec, const char *summary,
			   struct common *k)
{
	json_t *dbs, *sevs, *e;
	const char *s, *best = NULL;
	int best_ver = 0, best_score = 0;
	size_t i;
	int err;

	k->severity = NULL;
	k->norm = CLR_SEV_UNKNOWN;
	if ((err = get_object(&dbs, c, rec, "database_specific", "")))
		return err;
	if (dbs) {
		/* GitHub's "MODERATE", other databases' own words. */
		if ((err = get_str(&s, c, dbs, "severity",
				   "database_specific", CLR_OSV_ID_MAX)))
			return err;
		if (s && *s) {
			k->severity = s;
			k->norm = clr_osv_severity_word(s);
			return 0;
		}
	}
	if (c->o->summary_severity && summary) {
		summary_severity(k->word, summary, c->id);
		if (*k->word) {
			k->severity = k->word;
			k->norm = clr_osv_severity_word(k->word);
			return 0;
		}
	}
	if ((err = get_array(&sevs, c, rec, "severity", "")))
		return err;
	json_array_foreach(sevs, i, e) {
		const char *type, *score;
		char place[48];
		int sc, ver;

		if (!json_is_object(e) ||
		    !str_ok(&type, e, "type", CLR_OSV_ID_MAX) ||
		    !str_ok(&score, e, "score", CLR_OSV_ID_MAX)) {
			snprintf(place, sizeof(place), "severity[%zu]", i);
			if (!json_is_object(e))
				return clr_error_set(CLR_EINVALID, "%s: %s: %s "
						     "is not an object",
						     c->where, c->id, place);
			if ((err = get_str(&type, c, e, "type", place,
					   CLR_OSV_ID_MAX)) ||
			    (err = get_str(&score, c, e, "score", place,
					   CLR_OSV_ID_MAX)))
				return err;
		}
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
		k->severity = best;
		if (best_ver)
			k->norm = clr_cvss_severity(best_score, best_ver);
	}
	return 0;
}

/* Checks references[]; the links string is made by links_build() when
 * the advisory emits (see struct common). */
static int record_links(struct ctx *c, json_t *rec, struct common *k)
{
	json_t *refs, *r;
	size_t i;
	int err;

	if ((err = get_array(&refs, c, rec, "references", "")))
		return err;
	json_array_foreach(refs, i, r) {
		const char *url;
		char place[48];

		if (json_is_object(r) && str_ok(&url, r, "url", 0))
			continue;
		snprintf(place, sizeof(place), "references[%zu]", i);
		if (!json_is_object(r))
			return clr_error_set(CLR_EINVALID, "%s: %s: %s is not "
					     "an object", c->where, c->id,
					     place);
		return get_str(&url, c, r, "url", place, 0);
	}
	k->refs = refs;
	return 0;
}

/* The references' URLs, space-separated, into the arena. */
static const char *links_build(struct ctx *c, json_t *refs)
{
	struct clr_buf b = CLR_BUF_INIT(CLR_OSV_RECORD_MAX);
	const char *out;
	json_t *r;
	size_t i;

	json_array_foreach(refs, i, r) {
		const char *url = json_string_value(json_object_get(r, "url"));

		/* Links are space-separated, so a URL with a space in it
		 * (none seen) would split; it is dropped instead.  The cap
		 * cannot be reached: the record itself is smaller. */
		if (!url || !*url || strpbrk(url, " \t\r\n"))
			continue;
		if (b.len)
			clr_buf_addch(&b, ' ');
		clr_buf_addstr(&b, url);
	}
	out = astr(c, clr_buf_str(&b));
	clr_buf_release(&b);
	return out;
}

/*
 * The `affected` JSON of a record is written here rather than built as a
 * jansson tree and dumped: that was a third of the parse.  The bytes are
 * exactly what json_dumps(JSON_COMPACT) wrote for the same tree (members
 * in insertion order, no spaces, jansson's string escapes), so content
 * hashes and stored records are unchanged; test_osv_shared checks this
 * against jansson on hostile strings.
 */
#define AFFECTED_MAX ((size_t)8 * CLR_OSV_RECORD_MAX)

/* s as a JSON string, escaped as jansson's dump escapes it without flags:
 * backslash, quote and control characters only (UTF-8 as is; jansson
 * checked it when it parsed the record). */
static int json_quote(struct clr_buf *b, const char *s)
{
	const char *run = s;
	int err = 0;

	if ((err = clr_buf_addch(b, '"')))
		return err;
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		char esc[8];

		if (ch >= 0x20 && ch != '"' && ch != '\\')
			continue;
		if ((err = clr_buf_add(b, run, (size_t)(s - run))))
			return err;
		switch (ch) {
		case '"': strcpy(esc, "\\\""); break;
		case '\\': strcpy(esc, "\\\\"); break;
		case '\b': strcpy(esc, "\\b"); break;
		case '\f': strcpy(esc, "\\f"); break;
		case '\n': strcpy(esc, "\\n"); break;
		case '\r': strcpy(esc, "\\r"); break;
		case '\t': strcpy(esc, "\\t"); break;
		default: snprintf(esc, sizeof(esc), "\\u%04X", ch); break;
		}
		if ((err = clr_buf_addstr(b, esc)))
			return err;
		run = s + 1;
	}
	if ((err = clr_buf_add(b, run, (size_t)(s - run))) ||
	    (err = clr_buf_addch(b, '"')))
		return err;
	return 0;
}

/* The events of one range as a JSON array appended to b, with only the
 * four event kinds OSV defines; *fixed is the first "fixed" (NULL if
 * none). */
static int range_events(struct clr_buf *b, const char **fixed,
			bool *module_rel, struct ctx *c, json_t *events,
			const char *place)
{
	static const char *const kinds[] = {
		"introduced", "fixed", "last_affected", "limit",
	};
	json_t *ev;
	size_t i;
	int err = 0;

	*fixed = NULL;
	*module_rel = false;
	if ((err = clr_buf_addch(b, '[')))
		return err;
	json_array_foreach(events, i, ev) {
		bool any = false;
		char p[192];

		if (!json_is_object(ev)) {
			snprintf(p, sizeof(p), "%s.events[%zu]", place, i);
			return clr_error_set(CLR_EINVALID, "%s: %s: %s is not "
					     "an object", c->where, c->id, p);
		}
		for (size_t k = 0; k < 4; k++) {
			const char *v;

			if (!str_ok(&v, ev, kinds[k], CLR_OSV_ID_MAX)) {
				snprintf(p, sizeof(p), "%s.events[%zu]", place,
					 i);
				return get_str(&v, c, ev, kinds[k], p,
					       CLR_OSV_ID_MAX);
			}
			if (!v)
				continue;
			if ((err = clr_buf_addstr(b, any ? ",\"" :
						  i ? ",{\"" : "{\"")) ||
			    (err = clr_buf_addstr(b, kinds[k])) ||
			    (err = clr_buf_addstr(b, "\":")) ||
			    (err = json_quote(b, v)))
				return err;
			any = true;
			if (k == 1 && !*fixed)
				*fixed = v;
			if (strstr(v, ".module"))
				*module_rel = true;
		}
		if (!any) {
			snprintf(p, sizeof(p), "%s.events[%zu]", place, i);
			return clr_error_set(CLR_EINVALID, "%s: %s: %s has none "
					     "of introduced, fixed, "
					     "last_affected, limit", c->where,
					     c->id, p);
		}
		if ((err = clr_buf_addch(b, '}')))
			return err;
	}
	return clr_buf_addch(b, ']');
}

/* One record; module: the package is modular, so it gets the summary's
 * module stream (if any). */
static void emit(struct ctx *c, struct common *k, const char *eco,
		 const char *pkg, const char *scheme, const char *fixed,
		 bool module, const char *affected)
{
	materialize(c, k);
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
		.package_module = module && k->module ? k->module : c->empty,
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

static int one_affected(struct ctx *c, struct common *k, json_t *aff,
			size_t ai)
{
	struct clr_buf vers = CLR_BUF_INIT(AFFECTED_MAX);
	struct clr_buf a = CLR_BUF_INIT(AFFECTED_MAX);
	json_t *pkg, *ranges, *versions, *r, *v;
	const char *eco, *name;
	char place[48];
	size_t i, emitted = 0;
	int err;

	/* Every entry is checked this far, whatever its ecosystem; the
	 * place is named only for a message (see str_ok). */
	pkg = json_is_object(aff) ? json_object_get(aff, "package") : NULL;
	if (!json_is_object(aff) || (pkg && !json_is_null(pkg) &&
				     !json_is_object(pkg))) {
		snprintf(place, sizeof(place), "affected[%zu]", ai);
		if (!json_is_object(aff))
			return clr_error_set(CLR_EINVALID, "%s: %s: %s is not "
					     "an object", c->where, c->id,
					     place);
		return get_object(&pkg, c, aff, "package", place);
	}
	if (!pkg || json_is_null(pkg))  /* 1.x allows it for ecosystem-less
					 * records; nothing in an image
					 * could match those */
		return 0;
	if (!str_ok(&eco, pkg, "ecosystem", CLR_OSV_ID_MAX) ||
	    !str_ok(&name, pkg, "name", CLR_OSV_ID_MAX) ||
	    !eco || !*eco || !name || !*name) {
		snprintf(place, sizeof(place), "affected[%zu].package", ai);
		if ((err = get_str(&eco, c, pkg, "ecosystem", place,
				   CLR_OSV_ID_MAX)) ||
		    (err = get_str(&name, c, pkg, "name", place,
				   CLR_OSV_ID_MAX)))
			return err;
		return clr_error_set(CLR_EINVALID, "%s: %s: %s has no "
				     "ecosystem or name", c->where, c->id,
				     place);
	}
	if (c->o->ecosystem && strcmp(eco, c->o->ecosystem))
		return 0;
	snprintf(place, sizeof(place), "affected[%zu]", ai);
	if ((err = get_array(&ranges, c, aff, "ranges", place)) ||
	    (err = get_array(&versions, c, aff, "versions", place)))
		return err;
	if ((err = clr_buf_addch(&vers, '[')))
		goto cleanup;
	json_array_foreach(versions, i, v) {
		if (!json_is_string(v) ||
		    json_string_length(v) > CLR_OSV_ID_MAX) {
			err = clr_error_set(CLR_EINVALID, "%s: %s: %s."
					    "versions[%zu] is not a version "
					    "string", c->where, c->id, place,
					    i);
			goto cleanup;
		}
		if ((i && (err = clr_buf_addch(&vers, ','))) ||
		    (err = json_quote(&vers, json_string_value(v))))
			goto cleanup;
	}
	if ((err = clr_buf_addch(&vers, ']')))
		goto cleanup;
	json_array_foreach(ranges, i, r) {
		json_t *events;
		const char *type, *fixed;
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
		/* {"ranges":[{"type":T,"events":[...]}],"versions":[...]} */
		clr_buf_reset(&a);
		if ((err = clr_buf_addstr(&a, "{\"ranges\":[{\"type\":")) ||
		    (err = json_quote(&a, type)) ||
		    (err = clr_buf_addstr(&a, ",\"events\":")) ||
		    (err = range_events(&a, &fixed, &module_rel, c, events,
					rp)))
			goto cleanup;
		if (!strcmp(type, "GIT"))
			continue;
		if ((err = clr_buf_addstr(&a, "}],\"versions\":")) ||
		    (err = clr_buf_add(&a, vers.ptr, vers.len)) ||
		    (err = clr_buf_addch(&a, '}')))
			goto cleanup;
		emit(c, k, eco, name,
		     c->o->version_scheme ? c->o->version_scheme
					  : eco_scheme(eco, type),
		     fixed, module_rel,
		     clr_arena_strndup(&c->out->arena, a.ptr, a.len));
		emitted++;
	}
	if (!emitted && json_array_size(versions)) {
		clr_buf_reset(&a);
		if ((err = clr_buf_addstr(&a, "{\"ranges\":[],\"versions\":")) ||
		    (err = clr_buf_add(&a, vers.ptr, vers.len)) ||
		    (err = clr_buf_addch(&a, '}')))
			goto cleanup;
		emit(c, k, eco, name,
		     c->o->version_scheme ? c->o->version_scheme
					  : eco_scheme(eco, NULL),
		     NULL, false,
		     clr_arena_strndup(&c->out->arena, a.ptr, a.len));
	}
cleanup:
	clr_buf_release(&vers);
	clr_buf_release(&a);
	return err;
}

/* One parsed record into out (see clr_osv_parse_record). */
static int record_into(json_t *rec, const char *where,
		       const struct clr_osv_opts *o, struct clr_vuln_set *out)
{
	struct ctx c = { o, out, where, "(no id)", NULL };
	struct common k = { 0 };
	json_t *affected, *aff;
	const char *id, *summary, *details, *published, *withdrawn;
	size_t i, mark = out->vulns.len;
	int err = 0;

	if (!json_is_object(rec)) {
		err = clr_error_set(CLR_EINVALID, "%s: an OSV record is a JSON "
				    "object", where);
		goto cleanup;
	}
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
	k.name = id;
	k.description = details && *details ? details : summary;
	k.issued = published;
	k.updater = o->updater;
	k.kind = o->package_kind;
	k.did = o->dist_did;
	k.dist_name = o->dist_name;
	k.dist_vid = o->dist_version_id;
	k.pretty = o->dist_pretty_name;
	if ((err = record_severity(&c, rec, summary, &k)) ||
	    (err = record_links(&c, rec, &k)))
		goto cleanup;
	if (o->rpm_modules && summary)
		k.module = summary_module(&c, summary, &k.module_len);
	json_array_foreach(affected, i, aff)
		if ((err = one_affected(&c, &k, aff, i)))
			goto cleanup;
cleanup:
	if (err)
		clr_vec_truncate(&out->vulns, mark);
	return err;
}

/* The JSON of one record of len bytes, or an error naming where. */
static int record_load(json_t **out, const char *data, size_t len,
		       const char *where)
{
	json_error_t je;

	if (len > CLR_OSV_RECORD_MAX)
		return clr_error_set(CLR_ELIMIT, "%s: OSV record is larger "
				     "than %u bytes", where,
				     CLR_OSV_RECORD_MAX);
	if (!(*out = json_loadb(data, len, 0, &je)))
		return clr_error_set(CLR_EINVALID, "%s: line %d column %d: %s",
				     where, je.line, je.column, je.text);
	return 0;
}

int clr_osv_parse_record(const char *data, size_t len, const char *where,
			 const struct clr_osv_opts *o, struct clr_vuln_set *out)
{
	json_t *rec;
	int err;

	if ((err = record_load(&rec, data, len, where)))
		return err;
	err = record_into(rec, where, o, out);
	json_decref(rec);
	return err;
}

/*
 * Several targets (release sets) fed from one read of the data: each
 * record's JSON is parsed once and given to every target still going.
 * What fails for the data itself (unreadable, over a cap, not JSON, a
 * record no target could take) fails every target still going; what fails
 * for one target (a malformed range of its ecosystem) fails only that one,
 * exactly as if each had read the data alone.  The read stops once no
 * target is left.
 */
struct feed {
	struct clr_osv_target *t;
	size_t n;
	size_t live;     /* targets without an error yet */
	size_t *marks;   /* each target's record count before this parse */
};

/* Target i failed with err and the current message: its records go. */
static void target_fail(struct feed *f, size_t i, int err)
{
	struct clr_osv_target *t = &f->t[i];

	if (t->err)
		return;
	t->err = err;
	t->msg = clr_strdup(clr_error_msg());
	clr_vec_truncate(&t->out->vulns, f->marks[i]);
	f->live--;
}

static void fail_live(struct feed *f, int err)
{
	for (size_t i = 0; i < f->n && f->live; i++)
		target_fail(f, i, err);
}

/* One record's bytes to every target still going.  Non-zero stops the
 * read: every target has failed. */
static int feed_record(struct feed *f, const char *data, size_t len,
		       const char *where)
{
	json_t *rec;
	int err, last = 0;

	if ((err = record_load(&rec, data, len, where))) {
		fail_live(f, err);
		return err;
	}
	for (size_t i = 0; i < f->n; i++) {
		if (f->t[i].err)
			continue;
		if ((err = record_into(rec, where, f->t[i].opts, f->t[i].out))) {
			target_fail(f, i, err);
			last = err;
		}
	}
	json_decref(rec);
	return f->live ? 0 : last;
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

static int parse_file(struct clr_buf *b, const char *path, struct feed *f)
{
	int err = read_file(b, path);

	if (!err)
		err = feed_record(f, b->ptr ? b->ptr : "", b->len, path);
	return err;
}

static int no_dots(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

/* Every *.json under dir, in name order (so records come out in the same
 * order on every run), without following symbolic links. */
static int walk(struct clr_buf *b, const char *dir, int depth,
		struct feed *f)
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
			err = walk(b, path, depth + 1, f);
		else if (S_ISREG(st.st_mode) &&
			 ends_with(names[i]->d_name, ".json"))
			err = parse_file(b, path, f);
		free(path);
next:
		free(names[i]);
	}
	free(names);
	return err;
}

#define ZIP_MEMBERS_MAX 1000000
#define ZIP_BYTES_MAX ((uint64_t)8 << 30)

static int parse_zip(struct clr_buf *b, const char *path, struct feed *f)
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
		if ((err = feed_record(f, b->ptr ? b->ptr : "", b->len,
				       where)))
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

int clr_osv_parse_path_multi(const char *path, struct clr_osv_target *t,
			     size_t n)
{
	struct clr_buf b = CLR_BUF_INIT(CLR_OSV_RECORD_MAX);
	struct feed f = { t, n, n, clr_calloc(n ? n : 1, sizeof(size_t)) };
	struct stat st;
	char magic[4] = { 0 };
	int fd, err;

	for (size_t i = 0; i < n; i++) {
		t[i].err = 0;
		t[i].msg = NULL;
		f.marks[i] = t[i].out->vulns.len;
	}
	if (stat(path, &st)) {
		err = clr_error_set(CLR_EIO, "%s: %s", path, strerror(errno));
	} else if (S_ISDIR(st.st_mode)) {
		err = walk(&b, path, 0, &f);
	} else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		err = clr_error_set(CLR_EIO, "%s: %s", path, strerror(errno));
	} else {
		if (read(fd, magic, sizeof(magic)) < 0)
			magic[0] = '\0';
		close(fd);
		if (!memcmp(magic, "PK\3\4", 4) || !memcmp(magic, "PK\5\6", 4))
			err = parse_zip(&b, path, &f);
		else
			err = parse_file(&b, path, &f);
	}
	if (err)
		fail_live(&f, err);
	clr_buf_release(&b);
	free(f.marks);
	for (size_t i = 0; i < n; i++)
		if (t[i].err)
			return clr_error_set(t[i].err, "%s",
					     t[i].msg ? t[i].msg : "");
	return 0;
}

int clr_osv_parse_path(const char *path, const struct clr_osv_opts *o,
		       struct clr_vuln_set *out)
{
	struct clr_osv_target t = { .opts = o, .out = out, .err = 0,
				    .msg = NULL };
	int err = clr_osv_parse_path_multi(path, &t, 1);

	free(t.msg);
	return err;
}

/* --- distributions that publish OSV -------------------------------------- */

/*
 * The updaters one clr_osv_distro_create() call makes share one
 * distro_set.  Every release reads the same export (osv.dev's all.zip has
 * every release of the distribution in it, and nothing in a member's name
 * says which), so within one run of the set the export is downloaded once
 * and each record's JSON is parsed once, for all releases:
 *
 *   - the first updater to fetch a url downloads it; a sibling with the
 *     same url then gets that download (as a borrowed path, with its
 *     fingerprint), or CLR_EUNCHANGED when that fingerprint is its
 *     previous one (a release given a url of its own,
 *     updaters.config.alma-9.url, has a download of its own);
 *   - the first updater to parse the download parses it for itself and
 *     for every sibling that has not fetched yet, whose outcomes (records,
 *     or the error a separate parse would have met) wait in their
 *     distro_updater until their own parse() takes them.
 *
 * The manager still runs each updater on its own (lock, fingerprint,
 * fetch, parse, store), so the operations, fingerprints and records are
 * the ones separate downloads of the same bytes give.  The set lives as
 * long as its updaters: the manager builds them afresh for each run, so
 * nothing is kept between runs; a second fetch() by one updater (a caller
 * that keeps its updaters) starts a new run of the set.  The downloads are
 * removed when the set goes (one zip, a few MB; removing it earlier would
 * leave a sibling whose outcome was not computed with nothing to read).
 */
struct distro_dl {
	char *url;
	struct clr_fetched data; /* removed with the set unless borrowed */
	unsigned id;             /* which download an outcome came from */
};

struct distro_set {
	struct clr_vec members;  /* struct clr_updater *: the updaters alive */
	struct clr_vec dls;      /* struct distro_dl: this run's downloads */
	unsigned next_id;
};

struct distro_updater {
	const struct clr_osv_distro *d;
	struct distro_set *set;
	char *major;      /* "9" */
	char *ecosystem;  /* "AlmaLinux:9" */
	bool fetched;     /* fetch() was called in this run of the set */
	bool ready;       /* a sibling's parse left this updater's outcome: */
	unsigned dl;      /* ... from the download of this id, */
	struct clr_vuln_set result;  /* ... its records */
	int err;          /* ... or the error a parse of its own would give */
	char *msg;        /* ... and that error's message */
};

/* Forgets an outcome a sibling left (it will not be parsed, or its data
 * is gone). */
static void drop_ready(struct distro_updater *du)
{
	if (du->ready)
		clr_vuln_set_release(&du->result);
	du->ready = false;
	du->err = 0;
	free(du->msg);
	du->msg = NULL;
}

/* The downloads go; the outcomes computed from them with them. */
static void set_forget(struct distro_set *s)
{
	for (size_t i = 0; i < s->dls.len; i++) {
		struct distro_dl *d = CLR_VEC_AT(&s->dls, struct distro_dl, i);

		clr_fetched_release(&d->data);
		free(d->url);
	}
	clr_vec_truncate(&s->dls, 0);
	for (size_t i = 0; i < s->members.len; i++) {
		struct clr_updater *m = *CLR_VEC_AT(&s->members,
						    struct clr_updater *, i);

		drop_ready(m->priv);
	}
}

/* This run's download of url (or whose data is at path), or NULL. */
static struct distro_dl *set_find(struct distro_set *s, const char *url,
				  const char *path)
{
	for (size_t i = 0; i < s->dls.len; i++) {
		struct distro_dl *d = CLR_VEC_AT(&s->dls, struct distro_dl, i);

		if ((url && !strcmp(d->url, url)) ||
		    (path && d->data.path && !strcmp(d->data.path, path)))
			return d;
	}
	return NULL;
}

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
	int err;

	if ((err = dir_sigs(&v, dir, "", 0)))
		goto cleanup;
	clr_vec_sort(&v, sig_cmp);
	clr_sha256_init(&h);
	for (size_t i = 0; i < clr_vec_len(&v); i++) {
		const struct dir_entry_sig *s = clr_vec_get(&v, i);

		clr_fetch_dir_file(&h, s->rel, s->size, s->mtime_ns);
	}
	err = clr_fetch_dir_finish(out, dir, prev, &h);
cleanup:
	for (size_t i = 0; i < clr_vec_len(&v); i++)
		free(((struct dir_entry_sig *)clr_vec_get(&v, i))->rel);
	clr_vec_release(&v);
	return err;
}

/* One download of url, as an updater of its own would fetch it. */
static int fetch_one(const char *url, const char *prev,
		     struct clr_fetched *out)
{
	struct clr_fetch_opts o = CLR_FETCH_OPTS_INIT;
	const char *dir = local_dir(url);
	size_t n = strlen(url);

	if (dir)
		return dir_fetch(dir, prev, out);
	/* parse() reads a zip in place, one member at a time: unpacking the
	 * tens of thousands of small files to disk first would cost more
	 * than parsing them. */
	o.raw = n > 4 && !strcmp(url + n - 4, ".zip");
	return clr_fetch_into(out, url, prev, &o);
}

static int distro_fetch(struct clr_updater *u, const char *prev,
			struct clr_fetched *out)
{
	struct distro_updater *du = u->priv;
	struct distro_set *s = du->set;
	struct distro_dl *d;
	struct stat st;
	int err;

	if (du->fetched) {
		/* This updater was fetched before: a new run of the set. */
		set_forget(s);
		for (size_t i = 0; i < s->members.len; i++)
			((struct distro_updater *)(*CLR_VEC_AT(
				&s->members, struct clr_updater *, i))->priv)
				->fetched = false;
	}
	du->fetched = true;
	if (!(d = set_find(s, u->url, NULL))) {
		struct distro_dl fresh = { 0 };

		if ((err = fetch_one(u->url, prev, &fresh.data)))
			return err;
		fresh.url = clr_strdup(u->url);
		fresh.id = ++s->next_id;
		d = clr_vec_push(&s->dls, &fresh);
	} else if (prev && d->data.fingerprint &&
		   !strcmp(prev, d->data.fingerprint)) {
		/* What a conditional request would say: the download of
		 * this run is the one its stored operation has. */
		drop_ready(du);
		return clr_error_set(CLR_EUNCHANGED, "%s: unchanged", u->name);
	} else if (!stat(d->data.path, &st) && S_ISREG(st.st_mode)) {
		clr_log_debug("fetch: %s: %lld bytes, this run's download of "
			      "the %s export", u->name, (long long)st.st_size,
			      du->d->source);
	}
	out->path = clr_strdup(d->data.path);
	out->fingerprint = d->data.fingerprint ?
			   clr_strdup(d->data.fingerprint) : NULL;
	out->borrowed = true;
	return 0;
}

static void distro_opts(struct clr_osv_opts *o, const struct clr_updater *u)
{
	const struct distro_updater *du = u->priv;
	const struct clr_osv_opts want = {
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

	*o = want;
}

/* The download d parsed for u (into out) and for each sibling that reads
 * the same url and has not fetched yet (their outcomes wait). */
static int shared_parse(struct clr_updater *u, const struct distro_dl *d,
			struct clr_vuln_set *out)
{
	struct distro_updater *du = u->priv;
	struct distro_set *s = du->set;
	size_t n = 0, cap = s->members.len + 1;
	struct clr_osv_opts *opts = clr_calloc(cap, sizeof(*opts));
	struct clr_osv_target *t = clr_calloc(cap, sizeof(*t));
	struct distro_updater **who = clr_calloc(cap, sizeof(*who));
	int err;

	distro_opts(&opts[n], u);
	t[n] = (struct clr_osv_target){ .opts = &opts[n], .out = out };
	who[n++] = du;
	for (size_t i = 0; i < s->members.len; i++) {
		struct clr_updater *m = *CLR_VEC_AT(&s->members,
						    struct clr_updater *, i);
		struct distro_updater *md = m->priv;

		if (m == u || md->fetched || strcmp(m->url, d->url))
			continue;
		drop_ready(md);
		clr_vuln_set_init(&md->result);
		distro_opts(&opts[n], m);
		t[n] = (struct clr_osv_target){ .opts = &opts[n],
						.out = &md->result };
		who[n++] = md;
	}
	clr_log_debug("osv: %s: reading the %s export once for %zu "
		      "release%s", u->name, du->d->source, n, n == 1 ? "" : "s");
	clr_osv_parse_path_multi(d->data.path, t, n);
	for (size_t i = 1; i < n; i++) {
		who[i]->ready = true;
		who[i]->dl = d->id;
		who[i]->err = t[i].err;
		who[i]->msg = t[i].msg;
	}
	err = t[0].err ? clr_error_set(t[0].err, "%s",
				       t[0].msg ? t[0].msg : "") : 0;
	free(t[0].msg);
	free(who);
	free(t);
	free(opts);
	return err;
}

static int distro_parse(struct clr_updater *u, const struct clr_fetched *in,
			struct clr_vuln_set *out)
{
	struct distro_updater *du = u->priv;
	struct distro_set *s = du->set;
	struct clr_osv_opts o;
	const struct distro_dl *d = in->path ? set_find(s, NULL, in->path)
					     : NULL;
	int err;

	if (d && du->ready && du->dl == d->id) {
		/* A sibling's parse did this updater's part. */
		if ((err = du->err)) {
			clr_error_set(err, "%s", du->msg ? du->msg : "");
			drop_ready(du);
			return err;
		}
		clr_vuln_set_release(out);
		*out = du->result;
		du->ready = false;
		drop_ready(du);
		return 0;
	}
	drop_ready(du);
	if (d)
		return shared_parse(u, d, out);
	/* Data from elsewhere (a caller's own path): this release alone. */
	distro_opts(&o, u);
	return clr_osv_parse_path(in->path, &o, out);
}

static void distro_free(struct clr_updater *u)
{
	struct distro_updater *du;

	if (!u)
		return;
	if ((du = u->priv)) {
		struct distro_set *s = du->set;
		struct clr_updater **m = s->members.items;

		drop_ready(du);
		for (size_t i = 0; i < s->members.len; i++) {
			if (m[i] != u)
				continue;
			memmove(&m[i], &m[i + 1],
				(s->members.len - i - 1) * sizeof(*m));
			clr_vec_truncate(&s->members, s->members.len - 1);
			break;
		}
		if (!s->members.len) {
			set_forget(s);
			clr_vec_release(&s->members);
			clr_vec_release(&s->dls);
			free(s);
		}
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
	struct distro_set *set = NULL;
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
		if (!set) {
			set = clr_calloc(1, sizeof(*set));
			clr_vec_init(&set->members, sizeof(struct clr_updater *));
			clr_vec_init(&set->dls, sizeof(struct distro_dl));
		}
		clr_vec_push(&set->members, &u);
		du->d = d;
		du->set = set;
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
