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

/* One namespace a package lives in, and its distribution (NULL for a
 * repository's). */
struct pns {
	char ns[512];
	json_t *dist;   /* borrowed from the IndexReport */
	bool covered;   /* clr_vindex_covers() */
};

/* One match call. */
struct mctx {
	const struct clr_vindex *ix;
	json_t *ir;                  /* the IndexReport */
	/* package name -> json array of pkgs; made on first use (only OVAL
	 * conditions ask: most reports never need it) */
	struct clr_hashmap byname;
	bool have_byname;
	json_t *vulns;               /* id -> Vulnerability */
	json_t *dist;                /* the distribution being matched */
	/* the IndexReport's environments, distributions, repository */
	json_t *envs, *dists, *repos;
	/* dist_ns()'s last answer: the distribution object it was for */
	json_t *memo_dist;
	bool memo_ok;
	struct pns memo;
};

/* The report's packages by name, for OVAL's package and file tests. */
static struct clr_hashmap *byname(struct mctx *c)
{
	json_t *pkg;
	const char *id;

	if (c->have_byname)
		return &c->byname;
	c->have_byname = true;
	json_object_foreach(json_object_get(c->ir, "packages"), id, pkg) {
		const char *name = json_string_value(json_object_get(pkg,
								     "name"));
		json_t *list;

		if (!name)
			name = "";
		if (!(list = clr_hashmap_get(&c->byname, name))) {
			list = json_array();
			clr_hashmap_put(&c->byname, name, list);
		}
		json_array_append(list, pkg);
	}
	return &c->byname;
}

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
		    (list = clr_hashmap_get(byname(c), json_string_value(nm))))
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
		while (clr_hashmap_next(byname(c), &pos, &key, &val)) {
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

/* Puts fresh (taken) in *slot unless another thread was first, and sets
 * *out to the object in the slot, which the slot owns.  Whether fresh
 * went in. */
static bool install(json_t **out, void **slot, json_t *fresh)
{
	void *expected = NULL;

	if (__atomic_compare_exchange_n(slot, &expected, fresh, false,
					__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		*out = fresh;
		return true;
	}
	json_decref(fresh);
	*out = expected;
	return false;
}

/* The distribution object of meta m, shared by all its records. */
static json_t *dist_json(const struct clr_vmeta *m)
{
	void **slot = &((struct clr_vmeta *)(uintptr_t)m)->dist_json;
	json_t *d = __atomic_load_n(slot, __ATOMIC_ACQUIRE);

	if (d)
		return d;
	/* claircore's Distribution as its store hands it to the matcher:
	 * every member, "" when unknown (id is the store's row id, which a
	 * record from a feed does not have). */
	install(&d, slot, json_pack(
		"{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
		"id", "", "did", m->dist_did, "name", m->dist_name,
		"version", m->dist_version,
		"version_code_name", m->dist_version_code_name,
		"version_id", m->dist_version_id, "arch", "",
		"cpe", m->dist_cpe, "pretty_name", m->dist_pretty_name));
	return d;
}

static json_t *vuln_json(const struct clr_vrec *r)
{
	const struct clr_vmeta *m = r->meta;
	json_t *o, *pkg;
	char id[17];

	/* claircore's Package: id and version are always written (empty
	 * for a vulnerable package, which names no installed version), as
	 * are normalized_version and cpe (structs that encoding/json never
	 * omits); module and arch only when set. */
	pkg = json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", "",
			"name", r->package_name, "version", "",
			"kind", *m->package_kind ? m->package_kind : "binary",
			"normalized_version", "");
	if (*m->package_module)
		json_object_set_new(pkg, "module",
				    json_string(m->package_module));
	if (*m->arch)
		json_object_set_new(pkg, "arch", json_string(m->arch));
	json_object_set_new(pkg, "cpe", json_string(""));
	/* Clair writes the zero time for an unknown date; clients parse
	 * the field as a time. */
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:s}",
		      "id", clr_vrec_id(id, r), "name", r->adv->name,
		      "updater", m->updater,
		      "description", r->adv->description,
		      "issued", *r->adv->issued ? r->adv->issued :
		      "0001-01-01T00:00:00Z",
		      "links", r->adv->links, "severity", r->adv->severity,
		      "normalized_severity",
		      clr_severity_name(r->adv->normalized_severity),
		      "package", pkg,
		      "fixed_in_version", r->fixed_in_version);
	/* Clair's store always fills both (Distribution and Repository
	 * pointers are never nil on a vulnerability it returns). */
	json_object_set(o, "distribution", dist_json(m));
	{
		json_t *repo = json_object();

		if (*m->repo_name)
			json_object_set_new(repo, "name",
					    json_string(m->repo_name));
		if (*m->repo_uri)
			json_object_set_new(repo, "uri",
					    json_string(m->repo_uri));
		json_object_set_new(repo, "cpe", json_string(""));
		json_object_set_new(o, "repository", repo);
	}
	if (*m->arch_op)
		json_object_set_new(o, "arch_op", json_string(m->arch_op));
	return o;
}

/* What a cached Vulnerability costs, roughly (for CLR_VINDEX_CACHE_MAX):
 * jansson's objects, pairs and string headers (~2.5 KiB for the 14 keys
 * and the package object, measured as resident memory over 12,000
 * cached objects, ~0.5 KiB more for the empty members Clair writes)
 * plus the text. */
static size_t vuln_cost(const struct clr_vrec *r)
{
	return 3072 + strlen(r->adv->description) + strlen(r->adv->links) +
	       strlen(r->adv->name) + strlen(r->adv->severity) +
	       strlen(r->package_name) + strlen(r->fixed_in_version);
}

/* Record r's Vulnerability object, a new reference.  Built once per
 * index and shared by every report after (the index never changes, and
 * jansson's reference counts and dumps are thread-safe), so a report of
 * hundreds of vulnerabilities costs a few hundred increments instead of
 * tens of thousands of allocations to build and free.  Past the cache's
 * budget, each report builds its own. */
static json_t *vuln_shared(const struct clr_vindex *ix,
			   const struct clr_vrec *r)
{
	void **slot = &ix->cache[r - ix->recs];
	size_t *bytes = &((struct clr_vindex *)(uintptr_t)ix)->cache_bytes;
	json_t *o = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
	size_t cost;

	if (o)
		return json_incref(o);
	cost = vuln_cost(r);
	if (__atomic_add_fetch(bytes, cost, __ATOMIC_RELAXED) >
	    CLR_VINDEX_CACHE_MAX) {
		__atomic_sub_fetch(bytes, cost, __ATOMIC_RELAXED);
		return vuln_json(r);
	}
	if (!install(&o, slot, vuln_json(r)))
		__atomic_sub_fetch(bytes, cost, __ATOMIC_RELAXED);
	return json_incref(o);
}

/* --- enrichment: NVD's CVSS data (claircore enricher/cvss) ---------------- */

/* The CVE ids of one advisory, each once. */
#define CVES_MAX 64
struct cves {
	char id[CVES_MAX][32];
	size_t n;
};

static void add_cve(void *arg, const char *id)
{
	struct cves *c = arg;

	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->id[i], id))
			return;
	if (c->n < CVES_MAX)
		snprintf(c->id[c->n++], sizeof(c->id[0]), "%s", id);
}

static int cve_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Record r's enrichment: the v3 CVSS objects of the CVEs its advisory's
 * description, name and links mention (claircore looks in the same three,
 * and asks for the ids sorted), as a JSON array; json_null() when there
 * is none.  Built once per record and shared, as vuln_shared() does. */
static json_t *rec_enrich(const struct clr_vindex *ix, const struct clr_vrec *r)
{
	const struct clr_vadv *a = r->adv;
	void **slot = &ix->enrich[r - ix->recs];
	json_t *e = __atomic_load_n(slot, __ATOMIC_ACQUIRE), *arr;
	struct cves c;

	if (e)
		return e;
	c.n = 0;
	clr_nvd_find_cves(a->description, add_cve, &c);
	clr_nvd_find_cves(a->name, add_cve, &c);
	clr_nvd_find_cves(a->links, add_cve, &c);
	qsort(c.id, c.n, sizeof(c.id[0]), cve_cmp);
	arr = json_array();
	for (size_t i = 0; i < c.n; i++) {
		const struct clr_nvd_cvss *x = clr_vindex_cvss(ix, c.id[i]);
		json_t *o = x ? clr_nvd_v3_object(x) : NULL;

		if (o)
			json_array_append_new(arr, o);
	}
	if (!json_array_size(arr)) {
		json_decref(arr);
		arr = json_null();
	}
	install(&e, slot, arr);
	return e;
}

json_t *clr_match_nvd_metadata(const struct clr_vindex *ix, json_t *vuln)
{
	const char *fields[] = { "name", "links" };
	struct cves c;

	if (!ix || !ix->cvss_records)
		return NULL;
	/* Clair v2 looked the vulnerability's name up; a name that is not a
	 * CVE id (DSA-..., RHSA-...) falls back to the CVEs its links name */
	for (size_t f = 0; f < 2; f++) {
		c.n = 0;
		clr_nvd_find_cves(json_string_value(json_object_get(vuln,
								    fields[f])),
				  add_cve, &c);
		qsort(c.id, c.n, sizeof(c.id[0]), cve_cmp);
		for (size_t i = 0; i < c.n; i++) {
			const struct clr_nvd_cvss *x = clr_vindex_cvss(ix, c.id[i]);
			json_t *md = x ? clr_nvd_v1_metadata(x) : NULL;

			if (md)
				return md;
		}
	}
	return NULL;
}

/* A hit: its record and what orders a package's list, copied out of the
 * advisory so that sorting thousands of hits does not chase a pointer
 * per comparison. */
struct hit {
	const struct clr_vrec *r;
	uint64_t key;   /* most severe first, then by name rank */
};

static int hit_cmp(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	/* equal keys: equal severity and name (ranks are of names); then
	 * the ids, as strcmp on their hex would order them */
	return x->r->id < y->r->id ? -1 : x->r->id > y->r->id;
}

static void scan_bucket(struct mctx *c, struct mpkg *p,
			const struct clr_vbucket *bk, int want_source,
			struct clr_vec *hits)
{
	/* No record can be a hit twice: a bucket holds each record once,
	 * and a package's buckets are all different ((namespace, name) with
	 * its namespaces deduplicated, name and source name different).  So
	 * no search of the hits so far (quadratic for a package with
	 * thousands of CVEs). */
	for (size_t i = 0; bk && i < bk->len; i++) {
		const struct clr_vrec *r = &bk->recs[i];
		struct hit h;

		if (want_source >= 0 && r->meta->source_keyed != want_source)
			continue;
		if (!rec_matches(c, p, r))
			continue;
		/* only now touch the advisory: most records of a big
		 * package are fixed, and each advisory is a cache miss */
		h.r = r;
		h.key = (uint64_t)(UINT32_MAX - (uint32_t)
				   r->adv->normalized_severity) << 32 |
			r->adv->name_rank;
		CLR_VEC_PUSH(hits, &h);
	}
}

/* A package id with what orders it, measured once rather than in every
 * comparison. */
struct pid {
	const char *id;
	size_t len;
	bool num;       /* all digits */
};

/* Package ids in a stable order: numeric ids by value, others after, in
 * byte order (the indexer numbers them "1", "2", ...). */
static int id_cmp(const void *a, const void *b)
{
	const struct pid *x = a, *y = b;

	if (x->num != y->num)
		return x->num ? -1 : 1;
	if (x->num && x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return strcmp(x->id, y->id);
}

/* The namespace of distribution d, remembered for the next package: an
 * image has one distribution and hundreds of packages in it. */
static bool dist_ns(struct mctx *c, json_t *d, struct pns *out)
{
	if (d != c->memo_dist) {
		c->memo_dist = d;
		c->memo_ok = clr_vindex_namespace(c->memo.ns,
						  sizeof(c->memo.ns),
						  jstr(d, "did"),
						  jstr(d, "version_id"),
						  jstr(d, "version_code_name"),
						  NULL) != NULL;
		if (c->memo_ok) {
			c->memo.dist = d;
			c->memo.covered = clr_vindex_covers(c->ix, c->memo.ns);
		}
	}
	if (c->memo_ok)
		*out = c->memo;
	return c->memo_ok;
}

/* The namespaces one package lives in, deduplicated, appended to nss
 * (struct pns), in the order of its environments. */
static void pkg_namespaces(struct mctx *c, const char *pkgid,
			   struct clr_vec *nss)
{
	json_t *envs = json_object_get(c->envs, pkgid);
	json_t *env, *rid;
	size_t i, j;

	json_array_foreach(envs, i, env) {
		json_t *d = json_object_get(c->dists,
					    jstr(env, "distribution_id"));
		struct pns found[8];
		size_t nf = 0;

		if (d && dist_ns(c, d, &found[nf]))
			nf++;
		json_array_foreach(json_object_get(env, "repository_ids"), j,
				   rid) {
			json_t *rp = json_object_get(c->repos,
				json_string_value(rid) ? json_string_value(rid)
						       : "");
			if (nf < 8 && rp && *jstr(rp, "name")) {
				snprintf(found[nf].ns, sizeof(found[nf].ns),
					 "repo:%s", jstr(rp, "name"));
				found[nf].dist = NULL;
				found[nf].covered = clr_vindex_covers(
					c->ix, found[nf].ns);
				nf++;
			}
		}
		for (size_t k = 0; k < nf; k++) {
			bool dup = false;

			for (j = 0; j < nss->len && !dup; j++)
				dup = !strcmp(CLR_VEC_AT(nss, struct pns,
							 j)->ns, found[k].ns);
			if (dup)
				continue;
			/* a "repo:" namespace never carries a distribution,
			 * whichever way it was made */
			if (!strncmp(found[k].ns, "repo:", 5))
				found[k].dist = NULL;
			CLR_VEC_PUSH(nss, &found[k]);
		}
	}
}

/* The records already in this report's "vulnerabilities": an
 * open-addressing set of record pointers (cheaper than asking jansson,
 * which hashes the id string). */
struct rset {
	const struct clr_vrec **slots;
	size_t cap, count;
};

/* Adds r; whether it was new. */
static bool rset_add(struct rset *s, const struct clr_vrec *r)
{
	size_t j;

	if (2 * (s->count + 1) > s->cap) {
		struct rset g = { NULL, s->cap ? s->cap * 2 : 1024, 0 };

		g.slots = clr_calloc(g.cap, sizeof(*g.slots));
		for (size_t i = 0; i < s->cap; i++)
			if (s->slots[i])
				rset_add(&g, s->slots[i]);
		free(s->slots);
		*s = g;
	}
	/* records are 72 bytes apart in one array: the index is the hash */
	for (j = ((uintptr_t)r / sizeof(*r)) & (s->cap - 1); s->slots[j];
	     j = (j + 1) & (s->cap - 1))
		if (s->slots[j] == r)
			return false;
	s->slots[j] = r;
	s->count++;
	return true;
}

static void release_list(void *v)
{
	json_decref(v);
}

/* The fields of package pkg into p (jstr's reading: "" when absent or
 * not a string), in one pass over its members instead of a hash lookup
 * each. */
static void pkg_fields(struct mpkg *p, json_t *pkg)
{
	const char *k, *sname = "", *sversion = "";
	json_t *v, *src = NULL;

	memset(p, 0, sizeof(*p));
	p->pkg = pkg;
	p->name = p->version = p->arch = p->module = "";
	json_object_foreach(pkg, k, v) {
		const char *str = json_string_value(v);

		if (!strcmp(k, "source"))
			src = v;
		else if (!str)
			continue;
		else if (!strcmp(k, "name"))
			p->name = str;
		else if (!strcmp(k, "version"))
			p->version = str;
		else if (!strcmp(k, "arch"))
			p->arch = str;
		else if (!strcmp(k, "module"))
			p->module = str;
	}
	if (src) {
		sname = jstr(src, "name");
		sversion = jstr(src, "version");
	}
	/* Debian's and Alpine's data are keyed by source package and carry
	 * the source's version: the dpkg Source: field's own version when it
	 * has one (binNMUs, binaries versioned apart from their source),
	 * else the binary's (DESIGN.md §4). */
	p->src_name = *sname ? sname : p->name;
	p->src_version = *sversion ? sversion : p->version;
}

int clr_match(json_t **vuln_report, const struct clr_vindex *ix,
	      json_t *index_report)
{
	json_t *pkgs = json_object_get(index_report, "packages");
	json_t *out, *pv, *nc, *pkg, *v;
	struct clr_vec hits = CLR_VEC_INIT(struct hit);
	struct clr_vec nss = CLR_VEC_INIT(struct pns);
	struct rset seen = { NULL, 0, 0 };
	json_t *enrich = NULL, *enrichments;
	struct mctx c;
	struct pid *ids;
	const char *id, *key;
	size_t n = 0, i;

	if (!json_is_object(index_report) || !json_is_object(pkgs))
		return clr_error_set(CLR_EINVALID, "match: the index report "
				     "has no packages object");
	memset(&c, 0, sizeof(c));
	c.ix = ix;
	c.ir = index_report;
	c.envs = json_object_get(index_report, "environments");
	c.dists = json_object_get(index_report, "distributions");
	c.repos = json_object_get(index_report, "repository");
	clr_hashmap_init(&c.byname);
	ids = clr_calloc(json_object_size(pkgs) + 1, sizeof(*ids));
	json_object_foreach(pkgs, id, pkg) {
		size_t len = strlen(id), digits = strspn(id, "0123456789");

		ids[n].id = id;
		ids[n].len = len;
		ids[n++].num = digits && digits == len;
	}
	qsort(ids, n, sizeof(*ids), id_cmp);

	/* The IndexReport's members are shared, not copied: a report is
	 * read (dumped) and freed, and copying 800 packages with their
	 * environments cost more than the matching. */
	out = json_object();
	json_object_foreach(index_report, key, v)
		json_object_set(out, key, v);
	c.vulns = json_object();
	pv = json_object();
	nc = json_array();
	for (i = 0; i < n; i++) {
		struct mpkg p;
		bool covered = false, same;
		size_t k;

		pkg = json_object_get(pkgs, ids[i].id);
		pkg_fields(&p, pkg);
		same = !strcmp(p.src_name, p.name);
		clr_vec_truncate(&nss, 0);
		clr_vec_truncate(&hits, 0);
		pkg_namespaces(&c, ids[i].id, &nss);
		for (k = 0; k < nss.len; k++) {
			const struct pns *e = CLR_VEC_AT(&nss, struct pns, k);

			if (!e->covered)
				continue;
			covered = true;
			c.dist = e->dist;
			scan_bucket(&c, &p, clr_vindex_lookup(ix, e->ns,
							      p.name),
				    same ? -1 : 0, &hits);
			if (!same)
				scan_bucket(&c, &p, clr_vindex_lookup(
					ix, e->ns, p.src_name), 1, &hits);
		}
		if (!covered)
			json_array_append_new(nc, json_string(ids[i].id));
		if (hits.len) {
			json_t *list = json_array();

			clr_vec_sort(&hits, hit_cmp);
			for (k = 0; k < hits.len; k++) {
				const struct clr_vrec *r =
					CLR_VEC_AT(&hits, struct hit, k)->r;
				char rid[17];
				json_t *o;

				clr_vrec_id(rid, r);
				if (rset_add(&seen, r)) {
					o = vuln_shared(ix, r);
					/* ids are hex: no UTF-8 to check */
					json_object_set_new_nocheck(c.vulns,
								    rid, o);
					if (ix->enrich) {
						json_t *e = rec_enrich(ix, r);

						if (!enrich && json_is_array(e))
							enrich = json_object();
						if (json_is_array(e))
							json_object_set_nocheck(
								enrich, rid, e);
					}
				} else {
					o = json_object_get(c.vulns, rid);
				}
				/* the object's own "id" string: one shared
				 * value instead of a new string per entry */
				json_array_append(list,
						  json_object_get(o, "id"));
			}
			json_object_set_new(pv, ids[i].id, list);
		}
		for (int s = 0; s < 2; s++)
			for (int t = 0; t < CLR_VS__COUNT; t++)
				clr_version_free(p.parsed[s][t]);
	}
	free(ids);
	free(seen.slots);
	clr_vec_release(&hits);
	clr_vec_release(&nss);
	clr_hashmap_release(&c.byname, release_list);
	json_object_set_new(out, "vulnerabilities", c.vulns);
	json_object_set_new(out, "package_vulnerabilities", pv);
	/* Clair's shape: {type: [{vulnerability id: [CVSS objects]}]}, the
	 * type absent when no vulnerability has any */
	enrichments = json_object();
	if (enrich)
		json_object_set_new(enrichments, CLR_NVD_ENRICHMENT_TYPE,
				    json_pack("[o]", enrich));
	json_object_set_new(out, "enrichments", enrichments);
	json_object_set_new(out, "not_covered", nc);
	*vuln_report = out;
	return 0;
}
