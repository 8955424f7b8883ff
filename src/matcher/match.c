/*
 * match.c - the matching rules (see match.h, DESIGN.md §4 and
 * docs/internals/matcher.md).
 *
 * For each package of the IndexReport: find the namespaces it lives in
 * (its environments' distributions and repositories), look up the records
 * for its source name (records keyed by source package: Debian, Alpine)
 * and its binary name (everything else), and keep the records whose
 * version test, arch, module and - for OVAL - extra conditions hold.
 *
 * Nothing here writes to the index, so many threads can match at once.
 */
#include "matcher/match.h"

#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/hashmap.h"
#include "util/log.h"
#include "version/version.h"

/* One match call. */
struct mctx {
	const struct clr_vindex *ix;
	json_t *ir;                  /* the IndexReport */
	struct clr_hashmap byname;   /* package name -> json array of pkgs */
	json_t *vulns;               /* id -> Vulnerability */
	json_t *dist;                /* the distribution being matched */
};

/* The package being matched, with its versions parsed per scheme on
 * demand (a package is compared with many records of one scheme). */
struct mpkg {
	json_t *pkg;
	const char *name, *version, *src_name, *src_version, *arch, *module;
	struct clr_version *parsed[2][CLR_VS__COUNT];
	bool failed[2][CLR_VS__COUNT];
};

static const char *jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

/* --- regular expressions -------------------------------------------- */

/* OVAL writes Perl-compatible patterns; POSIX ERE lacks the backslash
 * classes the feeds use (`^8[^\d]`, `\.el8`), so those are spelt out.
 * (In a POSIX bracket, "\d" would mean a backslash or a "d": "80" would
 * then match `^8[^\d]`.) */
static void perl_to_ere(struct clr_buf *b, const char *re)
{
	bool bracket = false;

	for (const char *p = re; *p; p++) {
		if (*p == '\\' && p[1]) {
			const char *cls = NULL;
			bool neg = false;

			switch (p[1]) {
			case 'd': cls = "0-9"; break;
			case 'D': cls = "0-9"; neg = true; break;
			case 'w': cls = "A-Za-z0-9_"; break;
			case 'W': cls = "A-Za-z0-9_"; neg = true; break;
			case 's': cls = " \t\r\n\v\f"; break;
			case 'S': cls = " \t\r\n\v\f"; neg = true; break;
			}
			if (cls && bracket && !neg) {
				clr_buf_addstr(b, cls);
			} else if (cls && !bracket) {
				clr_buf_printf(b, "[%s%s]", neg ? "^" : "", cls);
			} else if (bracket) {
				/* no escapes inside a POSIX bracket */
				clr_buf_addch(b, p[1]);
			} else {
				clr_buf_addch(b, '\\');
				clr_buf_addch(b, p[1]);
			}
			p++;
			continue;
		}
		if (!bracket && *p == '[') {
			bracket = true;
			clr_buf_addch(b, '[');
			if (p[1] == '^')
				clr_buf_addch(b, *++p);
			if (p[1] == ']')
				clr_buf_addch(b, *++p);
			continue;
		}
		if (bracket && *p == ']')
			bracket = false;
		clr_buf_addch(b, *p);
	}
}

/* Whether re (Perl-style) finds a match in s.  A pattern that does not
 * compile is taken as matching: a condition we cannot read must not hide
 * a vulnerability. */
static bool rx_search(const char *re, const char *s)
{
	struct clr_buf b;
	regex_t rx;
	bool hit;

	clr_buf_init(&b, 1 << 16);
	perl_to_ere(&b, re);
	if (regcomp(&rx, clr_buf_str(&b), REG_EXTENDED | REG_NOSUB)) {
		clr_log_write(CLR_LOG_WARN, "matcher: pattern '%s' not "
			      "understood; taken as matching", re);
		clr_buf_release(&b);
		return true;
	}
	hit = !regexec(&rx, s, 0, NULL, 0);
	regfree(&rx);
	clr_buf_release(&b);
	return hit;
}

/* A string entity's op on s against value. */
static bool str_op(const char *op, const char *s, const char *value)
{
	if (!*op || !strcmp(op, "equals"))
		return !strcmp(s, value);
	if (!strcmp(op, "not equal"))
		return strcmp(s, value) != 0;
	if (!strcmp(op, "case insensitive equals"))
		return !strcasecmp(s, value);
	if (!strcmp(op, "case insensitive not equal"))
		return strcasecmp(s, value) != 0;
	if (!strcmp(op, "pattern match"))
		return rx_search(value, s);
	return true;
}

/* An ordering op on cmp (a <=> value). */
static bool ord_op(const char *op, int cmp, bool *known)
{
	*known = true;
	if (!*op || !strcmp(op, "equals"))
		return cmp == 0;
	if (!strcmp(op, "not equal"))
		return cmp != 0;
	if (!strcmp(op, "less than"))
		return cmp < 0;
	if (!strcmp(op, "less than or equal"))
		return cmp <= 0;
	if (!strcmp(op, "greater than"))
		return cmp > 0;
	if (!strcmp(op, "greater than or equal"))
		return cmp >= 0;
	*known = false;
	return true;
}

/* --- versions ---------------------------------------------------------- */

/* The package's (src 0) or its source's (src 1) version in scheme s, or
 * NULL when the scheme rejects it. */
static const struct clr_version *pkg_version(struct mpkg *p, int src,
					     enum clr_vscheme s)
{
	const char *v = src ? p->src_version : p->version;

	if (!p->parsed[src][s] && !p->failed[src][s]) {
		if (clr_version_parse(&p->parsed[src][s], s, v)) {
			clr_log_write(CLR_LOG_WARN, "matcher: package %s: "
				      "version '%s' is not %s: %s", p->name, v,
				      clr_vscheme_name(s), clr_error_msg());
			clr_error_clear();
			p->failed[src][s] = true;
		}
	}
	return p->parsed[src][s];
}

/* Compares the string a with b in scheme s; *ok false when either does
 * not parse. */
static int cmp_str(enum clr_vscheme s, const char *a, const char *b, bool *ok)
{
	int out = 0;

	*ok = !clr_version_compare_str(&out, s, a, b);
	if (!*ok)
		clr_error_clear();
	return out;
}

/* rpm's version and release of an indexed version "[E:]V-R". */
static void split_vr(const char *evr, char *ver, char *rel, size_t n)
{
	const char *c = strchr(evr, ':'), *d;

	if (c)
		evr = c + 1;
	d = strrchr(evr, '-');
	if (d) {
		snprintf(ver, n, "%.*s", (int)(d - evr), evr);
		snprintf(rel, n, "%s", d + 1);
	} else {
		snprintf(ver, n, "%s", evr);
		rel[0] = '\0';
	}
}

/* --- OVAL conditions --------------------------------------------------- */

static bool cond_eval(struct mctx *c, struct mpkg *p,
		      const struct clr_vrec *r, json_t *cond);

/* One state entity (name -> {op, value | values}) against an item. */
static bool ent_ok(const struct clr_vrec *r, json_t *item, const char *ename,
		   json_t *ent)
{
	const char *op = jstr(ent, "op"), *iv = jstr(item, "version");
	json_t *vals = json_object_get(ent, "values"), *one;
	char ver[256], rel[256];
	const char *s;
	size_t i;

	if (json_is_true(json_object_get(ent, "unresolved")))
		return true;  /* computed on a live system: unknowable here */
	if (!json_is_array(vals)) {
		vals = json_pack("[s]", jstr(ent, "value"));
	} else {
		json_incref(vals);
	}
	split_vr(iv, ver, rel, sizeof(ver));
	if (!strcmp(ename, "evr") || !strcmp(ename, "version") ||
	    !strcmp(ename, "release")) {
		s = ename[0] == 'e' ? iv : ename[0] == 'v' ? ver : rel;
		json_array_foreach(vals, i, one) {
			const char *v = json_string_value(one);
			bool ok, known, res;
			int cmp;

			if (!v)
				continue;
			if (!strcmp(op, "pattern match") ||
			    !strcmp(op, "not equal") ||
			    (!strcmp(op, "equals") && ename[0] != 'e')) {
				res = str_op(op, s, v);
			} else {
				cmp = cmp_str(r->meta->scheme, s, v, &ok);
				res = ok ? ord_op(op, cmp, &known) : true;
			}
			if (res) {
				json_decref(vals);
				return true;
			}
		}
		json_decref(vals);
		return false;
	}
	if (!strcmp(ename, "arch"))
		s = jstr(item, "arch");
	else if (!strcmp(ename, "name"))
		s = jstr(item, "name");
	else {
		/* signature_keyid and whatever else an image cannot tell */
		json_decref(vals);
		return true;
	}
	json_array_foreach(vals, i, one) {
		if (json_string_value(one) &&
		    str_op(op, s, json_string_value(one))) {
			json_decref(vals);
			return true;
		}
	}
	json_decref(vals);
	return false;
}

static bool state_ok(const struct clr_vrec *r, json_t *item, json_t *state)
{
	const char *k;
	json_t *ent;

	json_object_foreach(state, k, ent) {
		if (!json_is_object(ent))
			continue;       /* "complex": true and the like */
		if (!ent_ok(r, item, k, ent))
			return false;
	}
	return true;
}

/* A package test (rpminfo/dpkginfo) against the image's packages. */
static bool package_cond(struct mctx *c, const struct clr_vrec *r,
			 json_t *cond)
{
	json_t *obj = json_object_get(cond, "object");
	json_t *nent = json_object_get(obj, "name");
	json_t *states = json_object_get(cond, "states");
	json_t *names, *nm, *items;
	const char *ce = jstr(cond, "check_existence");
	const char *chk = jstr(cond, "check");
	bool or_states = !strcmp(jstr(cond, "state_operator"), "OR");
	size_t i, j, nitems = 0, nsat = 0;

	if (!nent || json_is_true(json_object_get(obj, "complex")) ||
	    json_is_true(json_object_get(nent, "unresolved")) ||
	    (*jstr(nent, "op") && strcmp(jstr(nent, "op"), "equals")))
		return true;    /* an object we cannot enumerate */
	names = json_object_get(nent, "values");
	if (json_is_array(names))
		json_incref(names);
	else
		names = json_pack("[s]", jstr(nent, "value"));
	items = json_array();
	json_array_foreach(names, i, nm) {
		json_t *list;

		if (json_string_value(nm) &&
		    (list = clr_hashmap_get(&c->byname, json_string_value(nm))))
			json_array_extend(items, list);
	}
	json_decref(names);
	nitems = json_array_size(items);
	if (!strcmp(ce, "none_exist")) {
		json_decref(items);
		return nitems == 0;
	}
	if (!strcmp(ce, "only_one_exists") ? nitems != 1 :
	    (strcmp(ce, "any_exist") && nitems == 0)) {
		json_decref(items);
		return false;
	}
	if (json_array_size(states) == 0) {
		json_decref(items);
		return true;
	}
	for (i = 0; i < nitems; i++) {
		json_t *it = json_array_get(items, i), *st;
		bool sat = !or_states;

		json_array_foreach(states, j, st) {
			bool ok = state_ok(r, it, st);

			if (or_states && ok) {
				sat = true;
				break;
			}
			if (!or_states && !ok) {
				sat = false;
				break;
			}
		}
		nsat += sat;
	}
	json_decref(items);
	if (!strcmp(chk, "all"))
		return nitems && nsat == nitems;
	if (!strcmp(chk, "none satisfy") || !strcmp(chk, "none exist"))
		return nsat == 0;
	if (!strcmp(chk, "only one"))
		return nsat == 1;
	return nsat > 0;
}

/* Red Hat's "RHEL N is installed": the owner of /etc/redhat-release,
 * which the indexer does not record; its name and version patterns are
 * tried on the image's packages.  An image without any package of that
 * name (not UBI) passes: the record's distribution already says RHEL N. */
static bool file_cond(struct mctx *c, json_t *cond)
{
	json_t *states = json_object_get(cond, "states"), *st;
	size_t i;

	json_array_foreach(states, i, st) {
		json_t *ne = json_object_get(st, "name");
		json_t *ve = json_object_get(st, "version");
		size_t pos = 0;
		const char *key;
		void *val;
		bool named = false, hit = false;

		if (!ne)
			continue;
		while (clr_hashmap_next(&c->byname, &pos, &key, &val)) {
			json_t *it;
			size_t j;

			if (!str_op(jstr(ne, "op"), key, jstr(ne, "value")))
				continue;
			named = true;
			json_array_foreach((json_t *)val, j, it) {
				char ver[256], rel[256];

				split_vr(jstr(it, "version"), ver, rel,
					 sizeof(ver));
				if (!ve || str_op(jstr(ve, "op"), ver,
						  jstr(ve, "value")))
					hit = true;
			}
		}
		if (named && !hit)
			return false;
	}
	return true;
}

/* /etc/lsb-release and /etc/os-release checks against the distribution;
 * other files are host state an image does not have: satisfied. */
static bool file_content_cond(struct mctx *c, json_t *cond)
{
	json_t *obj = json_object_get(cond, "object");
	const char *fp = jstr(json_object_get(obj, "filepath"), "value");
	const char *pat = jstr(json_object_get(obj, "pattern"), "value");
	json_t *st = json_array_get(json_object_get(cond, "states"), 0);
	json_t *sub = json_object_get(st, "subexpression");
	const char *have;

	if ((strcmp(fp, "/etc/lsb-release") && strcmp(fp, "/etc/os-release"))
	    || !sub || !c->dist)
		return true;
	if (strstr(pat, "CODENAME"))
		have = jstr(c->dist, "version_code_name");
	else if (strstr(pat, "DISTRIB_RELEASE") || strstr(pat, "VERSION_ID"))
		have = jstr(c->dist, "version_id");
	else if (strstr(pat, "DISTRIB_ID") || strstr(pat, "ID="))
		have = jstr(c->dist, "did");
	else
		return true;
	if (!*have)
		return true;    /* the image does not say: cannot rule out */
	if (!strcmp(jstr(sub, "op"), "equals") ||
	    !strcmp(jstr(sub, "op"), "case insensitive equals"))
		return !strcasecmp(have, jstr(sub, "value"));
	return str_op(jstr(sub, "op"), have, jstr(sub, "value"));
}

static bool cond_eval(struct mctx *c, struct mpkg *p,
		      const struct clr_vrec *r, json_t *cond)
{
	const char *kind = jstr(cond, "kind");
	bool neg = json_is_true(json_object_get(cond, "negate"));
	bool res = true;

	if (!strcmp(kind, "criteria")) {
		const char *op = jstr(cond, "operator");
		json_t *of = json_object_get(cond, "of"), *sub;
		size_t i, ntrue = 0, n = json_array_size(of);

		json_array_foreach(of, i, sub)
			ntrue += cond_eval(c, p, r, sub);
		if (!strcmp(op, "OR"))
			res = ntrue > 0;
		else if (!strcmp(op, "ONE"))
			res = ntrue == 1;
		else if (!strcmp(op, "XOR"))
			res = ntrue % 2 == 1;
		else
			res = ntrue == n;
	} else if (!strcmp(kind, "package")) {
		res = package_cond(c, r, cond);
	} else if (!strcmp(kind, "module")) {
		res = !strcmp(p->module, jstr(cond, "module"));
	} else if (!strcmp(kind, "file")) {
		res = file_cond(c, cond);
	} else if (!strcmp(kind, "file_content")) {
		res = file_content_cond(c, cond);
	} else if (!strcmp(kind, "signature_key") ||
		   !strcmp(kind, "running_kernel") ||
		   !strcmp(kind, "family") || !strcmp(kind, "variable")) {
		/* Not knowable from an image (docs/feeds-oval.md): the
		 * signing key is not indexed, the rest is host state. */
		res = true;
	} else {
		clr_log_write(CLR_LOG_DEBUG, "matcher: %s: condition kind "
			      "'%s' (%s) taken as satisfied", r->adv->name,
			      kind, jstr(cond, "test"));
		res = true;
	}
	return neg ? !res : res;
}

/* --- OSV ranges ----------------------------------------------------------- */

struct osv_ev {
	int kind;   /* 0 introduced, 1 fixed, 2 last_affected */
	struct clr_version *v;  /* NULL: introduced "0", the very start */
};

static int ev_cmp(const void *a, const void *b)
{
	const struct osv_ev *x = a, *y = b;
	int c;

	if (!x->v || !y->v)
		c = (x->v != NULL) - (y->v != NULL);
	else
		c = clr_version_cmp(x->v, y->v);
	return c ? c : x->kind - y->kind;
}

/* Whether v is in one OSV range: events in version order, the last one at
 * or below v decides (introduced opens; fixed at or below v closes;
 * last_affected below v closes). */
static bool osv_range(enum clr_vscheme s, const struct clr_version *v,
		      json_t *events)
{
	size_t n = json_array_size(events), k = 0, i;
	struct osv_ev *ev = clr_calloc(n ? n : 1, sizeof(*ev));
	json_t *e;
	bool aff = false;

	json_array_foreach(events, i, e) {
		static const char *const kinds[] = {
			"introduced", "fixed", "last_affected",
		};
		for (int t = 0; t < 3; t++) {
			const char *str = jstr(e, kinds[t]);

			if (!json_object_get(e, kinds[t]))
				continue;
			ev[k].kind = t;
			if (t == 0 && !strcmp(str, "0")) {
				ev[k++].v = NULL;
			} else if (!clr_version_parse(&ev[k].v, s, str)) {
				k++;
			} else {
				clr_error_clear();
				/* an unreadable bound: the conservative
				 * reading is an open range from here */
				ev[k].kind = 0;
				ev[k++].v = NULL;
			}
		}
	}
	qsort(ev, k, sizeof(*ev), ev_cmp);
	for (i = 0; i < k; i++) {
		int c = ev[i].v ? clr_version_cmp(v, ev[i].v) : 1;

		if (ev[i].kind == 0 && c >= 0)
			aff = true;
		else if (ev[i].kind == 1 && c >= 0)
			aff = false;
		else if (ev[i].kind == 2 && c > 0)
			aff = false;
	}
	for (i = 0; i < k; i++)
		clr_version_free(ev[i].v);
	free(ev);
	return aff;
}

/* OSV's affected: explicit versions or any range; *used false when the
 * record carries neither (then the flat fixed version decides). */
static bool osv_affected(const struct clr_vrec *r,
			 const struct clr_version *v, json_t *aff, bool *used)
{
	json_t *ranges = json_object_get(aff, "ranges");
	json_t *versions = json_object_get(aff, "versions"), *x;
	size_t i;

	*used = json_array_size(ranges) + json_array_size(versions) > 0;
	json_array_foreach(versions, i, x) {
		bool ok;

		if (json_string_value(x) &&
		    (!strcmp(json_string_value(x), clr_version_str(v)) ||
		     (!cmp_str(r->meta->scheme, clr_version_str(v),
			       json_string_value(x), &ok) && ok)))
			return true;
	}
	json_array_foreach(ranges, i, x) {
		const char *type = jstr(x, "type");

		if (!strcmp(type, "GIT"))
			continue;
		if (osv_range(r->meta->scheme, v, json_object_get(x, "events")))
			return true;
	}
	return false;
}

/* --- one record against one package ------------------------------------- */

static bool arch_ok(const struct clr_vmeta *m, const char *arch)
{
	if (!*m->arch || !*arch)
		return true;    /* any arch, or the image does not say */
	if (!strcmp(m->arch_op, "not equals"))
		return strcmp(arch, m->arch) != 0;
	if (!strcmp(m->arch_op, "pattern match"))
		return rx_search(m->arch, arch);
	return !strcmp(arch, m->arch);
}

static bool rec_matches(struct mctx *c, struct mpkg *p,
			const struct clr_vrec *r)
{
	const struct clr_vmeta *m = r->meta;
	const struct clr_version *v;
	json_t *aff, *oval;
	json_error_t jerr;
	bool vuln, used = false;

	if (!arch_ok(m, p->arch))
		return false;
	/* A record without a module applies to any stream (Alma's OSV
	 * cannot always say which); one with a module only to that one. */
	if (*m->package_module && strcmp(m->package_module, p->module))
		return false;
	if (!(v = pkg_version(p, m->source_keyed, m->scheme)))
		return false;
	if (!*r->affected)
		return !r->fixed || clr_version_cmp(v, r->fixed) < 0;
	if (!(aff = json_loads(r->affected, 0, &jerr))) {
		clr_log_write(CLR_LOG_WARN, "matcher: %s: affected is not "
			      "JSON (%s); fixed version used", r->adv->name,
			      jerr.text);
		return !r->fixed || clr_version_cmp(v, r->fixed) < 0;
	}
	if ((oval = json_object_get(aff, "oval"))) {
		json_t *cond;
		size_t i;

		vuln = !r->fixed || clr_version_cmp(v, r->fixed) < 0;
		json_array_foreach(json_object_get(oval, "conditions"), i,
				   cond) {
			if (!vuln)
				break;
			vuln = cond_eval(c, p, r, cond);
		}
	} else {
		vuln = osv_affected(r, v, aff, &used);
		if (!used)
			vuln = !r->fixed || clr_version_cmp(v, r->fixed) < 0;
	}
	json_decref(aff);
	return vuln;
}

/* --- report --------------------------------------------------------------- */

static json_t *vuln_json(const struct clr_vrec *r)
{
	const struct clr_vmeta *m = r->meta;
	json_t *o, *pkg;

	pkg = json_pack("{s:s, s:s}", "name", r->package_name, "kind",
			*m->package_kind ? m->package_kind : "binary");
	if (*m->package_module)
		json_object_set_new(pkg, "module",
				    json_string(m->package_module));
	if (*m->arch)
		json_object_set_new(pkg, "arch", json_string(m->arch));
	/* Clair writes the zero time for an unknown date; clients parse
	 * the field as a time. */
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:s}",
		      "id", r->id, "name", r->adv->name, "updater", m->updater,
		      "description", r->adv->description,
		      "issued", *r->adv->issued ? r->adv->issued :
		      "0001-01-01T00:00:00Z",
		      "links", r->adv->links, "severity", r->adv->severity,
		      "normalized_severity",
		      clr_severity_name(r->adv->normalized_severity),
		      "package", pkg,
		      "fixed_in_version", r->fixed_in_version);
	if (*m->dist_did)
		json_object_set_new(o, "distribution", json_pack(
			"{s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
			"did", m->dist_did, "name", m->dist_name,
			"version", m->dist_version,
			"version_code_name", m->dist_version_code_name,
			"version_id", m->dist_version_id,
			"pretty_name", m->dist_pretty_name,
			"cpe", m->dist_cpe));
	if (*m->repo_name)
		json_object_set_new(o, "repository", json_pack(
			"{s:s, s:s}", "name", m->repo_name,
			"uri", m->repo_uri));
	if (*m->arch_op)
		json_object_set_new(o, "arch_op", json_string(m->arch_op));
	return o;
}

/* A hit: its id and what orders a package's list. */
struct hit {
	const struct clr_vrec *r;
};

static int hit_cmp(const void *a, const void *b)
{
	const struct clr_vrec *x = ((const struct hit *)a)->r;
	const struct clr_vrec *y = ((const struct hit *)b)->r;
	int c;

	if (x->adv->normalized_severity != y->adv->normalized_severity)
		return x->adv->normalized_severity >
		       y->adv->normalized_severity ? -1 : 1;
	if ((c = strcmp(x->adv->name, y->adv->name)))
		return c;
	return strcmp(x->id, y->id);
}

static void scan_bucket(struct mctx *c, struct mpkg *p,
			const struct clr_vbucket *bk, int want_source,
			struct clr_vec *hits)
{
	for (size_t i = 0; bk && i < bk->len; i++) {
		const struct clr_vrec *r = &bk->recs[i];
		struct hit h = { r };
		bool dup = false;

		if (want_source >= 0 && r->meta->source_keyed != want_source)
			continue;
		if (!rec_matches(c, p, r))
			continue;
		for (size_t j = 0; j < hits->len && !dup; j++)
			dup = CLR_VEC_AT(hits, struct hit, j)->r == r;
		if (!dup)
			CLR_VEC_PUSH(hits, &h);
	}
}

/* Package ids in a stable order: numeric ids by value, others after, in
 * byte order (the indexer numbers them "1", "2", ...). */
static int id_cmp(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	size_t lx = strspn(x, "0123456789"), ly = strspn(y, "0123456789");
	bool nx = lx && !x[lx], ny = ly && !y[ly];

	if (nx != ny)
		return nx ? -1 : 1;
	if (nx && strlen(x) != strlen(y))
		return strlen(x) < strlen(y) ? -1 : 1;
	return strcmp(x, y);
}

/* The namespaces one package lives in, deduplicated, into nss (json array
 * of [namespace, distribution-or-null]). */
static void pkg_namespaces(json_t *ir, const char *pkgid, json_t *nss)
{
	json_t *envs = json_object_get(json_object_get(ir, "environments"),
				       pkgid);
	json_t *dists = json_object_get(ir, "distributions");
	json_t *repos = json_object_get(ir, "repository");
	json_t *env, *rid, *x;
	size_t i, j, k;
	char ns[512];

	json_array_foreach(envs, i, env) {
		json_t *d = json_object_get(dists,
					    jstr(env, "distribution_id"));
		char *found[8];
		size_t nf = 0;

		if (d && clr_vindex_namespace(ns, sizeof(ns), jstr(d, "did"),
					      jstr(d, "version_id"),
					      jstr(d, "version_code_name"),
					      NULL))
			found[nf++] = strdup(ns);
		json_array_foreach(json_object_get(env, "repository_ids"), j,
				   rid) {
			json_t *rp = json_object_get(repos,
				json_string_value(rid) ? json_string_value(rid)
						       : "");
			if (nf < 8 && rp && *jstr(rp, "name")) {
				snprintf(ns, sizeof(ns), "repo:%s",
					 jstr(rp, "name"));
				found[nf++] = strdup(ns);
			}
		}
		for (k = 0; k < nf; k++) {
			bool dup = false;

			json_array_foreach(nss, j, x)
				dup |= !strcmp(json_string_value(
					json_array_get(x, 0)), found[k]);
			if (!dup)
				json_array_append_new(nss, json_pack(
					"[s, O?]", found[k],
					strncmp(found[k], "repo:", 5) ? d
								      : NULL));
			free(found[k]);
		}
	}
}

static void release_list(void *v)
{
	json_decref(v);
}

int clr_match(json_t **vuln_report, const struct clr_vindex *ix,
	      json_t *index_report)
{
	json_t *pkgs = json_object_get(index_report, "packages");
	json_t *out, *pv, *nc, *pkg;
	struct mctx c;
	const char **ids;
	const char *id;
	size_t n = 0, i;

	if (!json_is_object(index_report) || !json_is_object(pkgs))
		return clr_error_set(CLR_EINVALID, "match: the index report "
				     "has no packages object");
	memset(&c, 0, sizeof(c));
	c.ix = ix;
	c.ir = index_report;
	clr_hashmap_init(&c.byname);
	ids = clr_calloc(json_object_size(pkgs) + 1, sizeof(*ids));
	json_object_foreach(pkgs, id, pkg) {
		json_t *list;

		ids[n++] = id;
		if (!(list = clr_hashmap_get(&c.byname, jstr(pkg, "name")))) {
			list = json_array();
			clr_hashmap_put(&c.byname, jstr(pkg, "name"), list);
		}
		json_array_append(list, pkg);
	}
	qsort(ids, n, sizeof(*ids), id_cmp);

	out = json_deep_copy(index_report);
	c.vulns = json_object();
	pv = json_object();
	nc = json_array();
	for (i = 0; i < n; i++) {
		struct clr_vec hits = CLR_VEC_INIT(struct hit);
		json_t *nss = json_array(), *e, *src;
		struct mpkg p;
		bool covered = false;
		size_t k;

		pkg = json_object_get(pkgs, ids[i]);
		src = json_object_get(pkg, "source");
		memset(&p, 0, sizeof(p));
		p.pkg = pkg;
		p.name = jstr(pkg, "name");
		p.version = jstr(pkg, "version");
		p.arch = jstr(pkg, "arch");
		p.module = jstr(pkg, "module");
		/* Debian's and Alpine's data are keyed by source package and
		 * carry the source's version: the dpkg Source: field's own
		 * version when it has one (binNMUs, binaries versioned apart
		 * from their source), else the binary's (DESIGN.md §4). */
		p.src_name = *jstr(src, "name") ? jstr(src, "name") : p.name;
		p.src_version = *jstr(src, "version") ? jstr(src, "version")
						      : p.version;
		pkg_namespaces(index_report, ids[i], nss);
		json_array_foreach(nss, k, e) {
			const char *ns = json_string_value(json_array_get(e, 0));
			bool same = !strcmp(p.src_name, p.name);

			if (!clr_vindex_covers(ix, ns))
				continue;
			covered = true;
			c.dist = json_array_get(e, 1);
			if (json_is_null(c.dist))
				c.dist = NULL;
			scan_bucket(&c, &p, clr_vindex_lookup(ix, ns, p.name),
				    same ? -1 : 0, &hits);
			if (!same)
				scan_bucket(&c, &p, clr_vindex_lookup(
					ix, ns, p.src_name), 1, &hits);
		}
		if (!covered)
			json_array_append_new(nc, json_string(ids[i]));
		if (hits.len) {
			json_t *list = json_array();

			clr_vec_sort(&hits, hit_cmp);
			for (k = 0; k < hits.len; k++) {
				const struct clr_vrec *r =
					CLR_VEC_AT(&hits, struct hit, k)->r;

				if (!json_object_get(c.vulns, r->id))
					json_object_set_new(c.vulns, r->id,
							    vuln_json(r));
				json_array_append_new(list,
						      json_string(r->id));
			}
			json_object_set_new(pv, ids[i], list);
		}
		for (int s = 0; s < 2; s++)
			for (int t = 0; t < CLR_VS__COUNT; t++)
				clr_version_free(p.parsed[s][t]);
		clr_vec_release(&hits);
		json_decref(nss);
	}
	free(ids);
	clr_hashmap_release(&c.byname, release_list);
	json_object_set_new(out, "vulnerabilities", c.vulns);
	json_object_set_new(out, "package_vulnerabilities", pv);
	json_object_set_new(out, "enrichments", json_object());
	json_object_set_new(out, "not_covered", nc);
	*vuln_report = out;
	return 0;
}
