/*
 * output.c - Klar 2.4.0's standard, table and JSON output (output.h).
 *
 * Three imitations live here, each of a Go library Klar links:
 *   - encoding/json's Encoder for the JSON line: struct fields in
 *     declaration order with omitempty, map keys sorted, HTML-safe string
 *     escapes, float64 numbers written the shortest way;
 *   - olekukonko/tablewriter (the 2018 revision Klar vendored) for the
 *     table: the column widths grow row by row while rows are appended,
 *     each cell is re-wrapped by a minimum-raggedness line breaker at the
 *     width known at that moment, ANSI colour codes count zero for the
 *     padding but not for the word widths the wrapper sees;
 *   - fmt.Printf for the standard blocks (trivial).
 * Klar's own code is in format.go and main.go of optiopay/klar v2.4.0.
 */
#include "klar/output.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/error.h"

static const char *const sev_names[CLR_KLAR_NSEV] = {
	"Unknown", "Negligible", "Low", "Medium", "High", "Critical", "Defcon1",
};

const char *clr_klar_severity_name(int sev)
{
	return sev >= 0 && sev < CLR_KLAR_NSEV ? sev_names[sev] : "";
}

int clr_klar_severity_from_name(const char *s)
{
	for (int i = 0; i < CLR_KLAR_NSEV; i++)
		if (!strcmp(sev_names[i], s))
			return i;
	return -1;
}

/* --- the list -------------------------------------------------------------- */

static char *dup0(const char *s)
{
	return clr_strdup(s ? s : "");
}

struct clr_klar_vuln *clr_klar_vulns_add(struct clr_klar_vulns *l,
					 const struct clr_klar_vuln *v)
{
	struct clr_klar_vuln *d;

	if (l->n == l->alloc) {
		l->alloc = clr_alloc_grow(l->alloc, l->n + 1);
		l->items = clr_realloc(l->items, l->alloc * sizeof(*l->items));
	}
	d = &l->items[l->n++];
	d->name = dup0(v->name);
	d->namespace_name = dup0(v->namespace_name);
	d->description = dup0(v->description);
	d->link = dup0(v->link);
	d->severity = dup0(v->severity);
	d->fixed_by = dup0(v->fixed_by);
	d->metadata = v->metadata ? json_incref(v->metadata) : NULL;
	d->fixed_in = v->fixed_in ? json_incref(v->fixed_in) : NULL;
	d->feature_name = dup0(v->feature_name);
	d->feature_version = dup0(v->feature_version);
	return d;
}

void clr_klar_vulns_release(struct clr_klar_vulns *l)
{
	for (size_t i = 0; i < l->n; i++) {
		struct clr_klar_vuln *v = &l->items[i];

		free(v->name);
		free(v->namespace_name);
		free(v->description);
		free(v->link);
		free(v->severity);
		free(v->fixed_by);
		json_decref(v->metadata);
		json_decref(v->fixed_in);
		free(v->feature_name);
		free(v->feature_version);
	}
	free(l->items);
	l->items = NULL;
	l->n = l->alloc = 0;
}

/* --- from a Clair v4 VulnerabilityReport ----------------------------------- */

static const char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* Package ids in numeric order where they are numbers (coalesce.c numbers
 * them in its own order), else byte order. */
static int id_cmp(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	char *ex, *ey;
	unsigned long long nx = strtoull(x, &ex, 10), ny = strtoull(y, &ey, 10);

	if (!*ex && !*ey && *x && *y && nx != ny)
		return nx < ny ? -1 : 1;
	return strcmp(x, y);
}

int clr_klar_vulns_from_report(struct clr_klar_vulns *out, json_t *report)
{
	json_t *pkgs, *vulns, *pv, *list;
	const char *key, **ids;
	size_t n = 0, i;

	if (!json_is_object(report))
		return clr_error_set(CLR_EINVALID, "a vulnerability report "
				     "must be a JSON object");
	pkgs = json_object_get(report, "packages");
	vulns = json_object_get(report, "vulnerabilities");
	pv = json_object_get(report, "package_vulnerabilities");
	if (!json_is_object(pv) || !json_is_object(vulns))
		return 0;
	ids = clr_calloc(json_object_size(pv) + 1, sizeof(*ids));
	json_object_foreach(pv, key, list)
		ids[n++] = key;
	qsort(ids, n, sizeof(*ids), id_cmp);
	for (i = 0; i < n; i++) {
		json_t *pkg = json_object_get(pkgs, ids[i]), *vid;
		size_t k;

		list = json_object_get(pv, ids[i]);
		json_array_foreach(list, k, vid) {
			json_t *v = json_object_get(vulns,
						    json_string_value(vid) ?
						    json_string_value(vid) : "");
			json_t *dist, *repo;
			struct clr_klar_vuln kv = { NULL, NULL, NULL, NULL, NULL,
						    NULL, NULL, NULL, NULL, NULL };
			char ns[512] = "", *link;
			const char *links, *end;

			if (!json_is_object(v))
				continue;
			dist = json_object_get(v, "distribution");
			repo = json_object_get(v, "repository");
			if (json_is_object(dist) && *jstr(dist, "did"))
				snprintf(ns, sizeof(ns), "%s:%s", jstr(dist, "did"),
					 jstr(dist, "version_id"));
			else if (json_is_object(repo))
				snprintf(ns, sizeof(ns), "%s", jstr(repo, "name"));
			/* v4 keeps space-separated links; v1 had one. */
			links = jstr(v, "links");
			links += strspn(links, " \t\n");
			end = links + strcspn(links, " \t\n");
			link = clr_strndup(links, (size_t)(end - links));
			kv.name = (char *)jstr(v, "name");
			kv.namespace_name = ns;
			kv.description = (char *)jstr(v, "description");
			kv.link = link;
			kv.severity = (char *)jstr(v, "normalized_severity");
			kv.fixed_by = (char *)jstr(v, "fixed_in_version");
			kv.feature_name = (char *)jstr(pkg, "name");
			kv.feature_version = (char *)jstr(pkg, "version");
			clr_klar_vulns_add(out, &kv);
			free(link);
		}
	}
	free(ids);
	return 0;
}

/* --- Go's encoding/json ----------------------------------------------------- */

/* Decodes one UTF-8 sequence at s (n bytes left): the code point, or -1
 * for an invalid byte (Go's RuneError, one byte consumed). */
static long utf8_next(const unsigned char *s, size_t n, size_t *used)
{
	unsigned long c;
	size_t len, i;

	*used = 1;
	if (s[0] < 0x80)
		return s[0];
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, c = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, c = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, c = s[0] & 0x07;
	else
		return -1;
	if (n < len)
		return -1;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
	    (len == 4 && (c < 0x10000 || c > 0x10ffff)))
		return -1;
	*used = len;
	return (long)c;
}

int clr_klar_json_string(struct clr_buf *out, const char *str)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strlen(str), i = 0, used;
	int err = clr_buf_addch(out, '"');

	while (!err && i < n) {
		long c = utf8_next(s + i, n - i, &used);

		if (c == '"' || c == '\\')
			err = clr_buf_printf(out, "\\%c", (int)c);
		else if (c == '\n')
			err = clr_buf_addstr(out, "\\n");
		else if (c == '\r')
			err = clr_buf_addstr(out, "\\r");
		else if (c == '\t')
			err = clr_buf_addstr(out, "\\t");
		else if ((c >= 0 && c < 0x20) || c == '<' || c == '>' || c == '&')
			err = clr_buf_printf(out, "\\u00%c%c", hex[c >> 4],
					     hex[c & 0xf]);
		else if (c == 0x2028 || c == 0x2029)
			err = clr_buf_printf(out, "\\u202%c", hex[c & 0xf]);
		else if (c < 0)
			err = clr_buf_addstr(out, "\\ufffd");
		else
			err = clr_buf_add(out, s + i, used);
		i += used;
	}
	return err ? err : clr_buf_addch(out, '"');
}

/* A float64 as encoding/json writes it: strconv's shortest form, 'f'
 * between 1e-6 and 1e21, else 'e' with "e-07" cleaned to "e-7". */
int clr_klar_json_number(struct clr_buf *out, double f)
{
	char tmp[64], digits[32], *p;
	int prec, exp, nd = 0, neg = f < 0;
	double a = fabs(f);

	if (!isfinite(f))
		return clr_buf_addstr(out, "null"); /* Go would refuse */
	if (a == 0) /* strconv keeps the sign of -0 */
		return clr_buf_addstr(out, signbit(f) ? "-0" : "0");
	for (prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, a);
		if (strtod(tmp, NULL) == a)
			break;
	}
	/* tmp is d[.ddd]e[+-]XX: split into digits and exponent. */
	for (p = tmp; *p && *p != 'e'; p++)
		if (*p != '.')
			digits[nd++] = *p;
	digits[nd] = '\0';
	exp = atoi(p + 1);
	while (nd > 1 && digits[nd - 1] == '0')
		digits[--nd] = '\0';
	if (neg && clr_buf_addch(out, '-'))
		return CLR_ELIMIT;
	if (a < 1e-6 || a >= 1e21) {
		int err = clr_buf_addch(out, digits[0]);

		if (!err && nd > 1)
			err = clr_buf_printf(out, ".%s", digits + 1);
		if (!err)
			err = clr_buf_printf(out, "e%c%s%d", exp < 0 ? '-' : '+',
					     abs(exp) < 10 && exp >= 0 ? "0" : "",
					     abs(exp));
		return err;
	}
	if (exp >= nd - 1) {
		int err = clr_buf_addstr(out, digits);

		for (int k = 0; !err && k < exp - (nd - 1); k++)
			err = clr_buf_addch(out, '0');
		return err;
	}
	if (exp >= 0)
		return clr_buf_printf(out, "%.*s.%s", exp + 1, digits,
				      digits + exp + 1);
	{
		int err = clr_buf_addstr(out, "0.");

		for (int k = 0; !err && k < -exp - 1; k++)
			err = clr_buf_addch(out, '0');
		return err ? err : clr_buf_addstr(out, digits);
	}
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int clr_klar_go_json(struct clr_buf *out, json_t *v, bool decoded)
{
	int err = 0;

	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		size_t n = 0, i;
		const char *k, **keys = clr_calloc(json_object_size(v) + 1,
						   sizeof(*keys));
		json_t *x;

		json_object_foreach(v, k, x)
			keys[n++] = k;
		/* A Go map's keys are written sorted; a struct's fields in
		 * their order, which is the order the object was built in. */
		if (decoded)
			qsort(keys, n, sizeof(*keys), key_cmp);
		err = clr_buf_addch(out, '{');
		for (i = 0; !err && i < n; i++) {
			if (i)
				err = clr_buf_addch(out, ',');
			if (!err)
				err = clr_klar_json_string(out, keys[i]);
			if (!err)
				err = clr_buf_addch(out, ':');
			if (!err)
				err = clr_klar_go_json(out, json_object_get(v, keys[i]),
						       decoded);
		}
		free(keys);
		return err ? err : clr_buf_addch(out, '}');
	}
	case JSON_ARRAY: {
		size_t i;
		json_t *x;

		err = clr_buf_addch(out, '[');
		json_array_foreach(v, i, x) {
			if (!err && i)
				err = clr_buf_addch(out, ',');
			if (!err)
				err = clr_klar_go_json(out, x, decoded);
		}
		return err ? err : clr_buf_addch(out, ']');
	}
	case JSON_STRING:
		return clr_klar_json_string(out, json_string_value(v));
	case JSON_INTEGER:
		/* interface{} holds every number as a float64. */
		if (decoded)
			return clr_klar_json_number(out,
						    (double)json_integer_value(v));
		return clr_buf_printf(out, "%" JSON_INTEGER_FORMAT,
				      json_integer_value(v));
	case JSON_REAL:
		return clr_klar_json_number(out, json_real_value(v));
	case JSON_TRUE:
		return clr_buf_addstr(out, "true");
	case JSON_FALSE:
		return clr_buf_addstr(out, "false");
	case JSON_NULL:
		break;
	}
	return clr_buf_addstr(out, "null");
}

/* Appends ,"Key":"value" (or without the comma first), skipping empty
 * values when omitempty. */
static int field_str(struct clr_buf *out, int *first, const char *key,
		     const char *val, int omitempty)
{
	int err;

	if (omitempty && !*val)
		return 0;
	err = clr_buf_printf(out, "%s\"%s\":", *first ? "" : ",", key);
	*first = 0;
	return err ? err : clr_klar_json_string(out, val);
}

json_t *clr_klar_json_fold_get(json_t *o, const char *key)
{
	const char *k;
	json_t *v, *found = NULL;

	json_object_foreach(o, k, v)
		if (!strcasecmp(k, key))
			found = v;
	return found;
}

static int go_vuln_json(struct clr_buf *out, json_t *v);

/* One element of FixedIn: klar's own clair.feature struct, which is not
 * Clair's: Name, NamespaceName and Version (omitempty), Vulnerabilities
 * WITHOUT omitempty (null when the server sent none or null, [] for an
 * empty list), AddedBy (omitempty); there is no VersionFormat field, so
 * the server's is dropped on the way through. */
static int go_feature_json(struct clr_buf *out, json_t *f)
{
	static const char *const strs[] = { "Name", "NamespaceName", "Version" };
	json_t *vs;
	int first = 1, err;
	size_t i;

	if (!json_is_object(f))
		return clr_buf_addstr(out, "{\"Vulnerabilities\":null}");
	err = clr_buf_addch(out, '{');
	for (i = 0; !err && i < 3; i++) {
		const char *s = json_string_value(clr_klar_json_fold_get(f, strs[i]));

		err = field_str(out, &first, strs[i], s ? s : "", 1);
	}
	vs = clr_klar_json_fold_get(f, "Vulnerabilities");
	if (!err)
		err = clr_buf_printf(out, "%s\"Vulnerabilities\":",
				     first ? "" : ",");
	first = 0;
	if (!err && !json_is_array(vs)) {
		err = clr_buf_addstr(out, "null");
	} else if (!err) {
		json_t *x;

		err = clr_buf_addch(out, '[');
		json_array_foreach(vs, i, x) {
			if (!err && i)
				err = clr_buf_addch(out, ',');
			if (!err)
				err = go_vuln_json(out, x);
		}
		if (!err)
			err = clr_buf_addch(out, ']');
	}
	if (!err) {
		const char *s = json_string_value(clr_klar_json_fold_get(f, "AddedBy"));

		err = field_str(out, &first, "AddedBy", s ? s : "", 1);
	}
	return err ? err : clr_buf_addch(out, '}');
}

/* klar's clair.Vulnerability struct: the eight fields below with
 * omitempty, then FeatureName and FeatureVersion always. */
struct vfields {
	const char *name, *ns, *desc, *link, *sev;
	json_t *metadata;
	const char *fixed_by;
	json_t *fixed_in;
	const char *fname, *fversion;
};

static int vfields_json(struct clr_buf *out, const struct vfields *f)
{
	int first = 1, err = clr_buf_addch(out, '{');

	if (!err)
		err = field_str(out, &first, "Name", f->name, 1);
	if (!err)
		err = field_str(out, &first, "NamespaceName", f->ns, 1);
	if (!err)
		err = field_str(out, &first, "Description", f->desc, 1);
	if (!err)
		err = field_str(out, &first, "Link", f->link, 1);
	if (!err)
		err = field_str(out, &first, "Severity", f->sev, 1);
	if (!err && json_is_object(f->metadata) && json_object_size(f->metadata)) {
		err = clr_buf_printf(out, "%s\"Metadata\":", first ? "" : ",");
		first = 0;
		if (!err)
			err = clr_klar_go_json(out, f->metadata, true);
	}
	if (!err)
		err = field_str(out, &first, "FixedBy", f->fixed_by, 1);
	if (!err && json_is_array(f->fixed_in) && json_array_size(f->fixed_in)) {
		size_t i;
		json_t *x;

		err = clr_buf_printf(out, "%s\"FixedIn\":[", first ? "" : ",");
		first = 0;
		json_array_foreach(f->fixed_in, i, x) {
			if (!err && i)
				err = clr_buf_addch(out, ',');
			if (!err)
				err = go_feature_json(out, x);
		}
		if (!err)
			err = clr_buf_addch(out, ']');
	}
	if (!err)
		err = field_str(out, &first, "FeatureName", f->fname, 0);
	if (!err)
		err = field_str(out, &first, "FeatureVersion", f->fversion, 0);
	return err ? err : clr_buf_addch(out, '}');
}

static const char *fold_str(json_t *o, const char *key)
{
	const char *s = json_string_value(clr_klar_json_fold_get(o, key));

	return s ? s : "";
}

/* A vulnerability nested in a FixedIn feature, from raw JSON. */
static int go_vuln_json(struct clr_buf *out, json_t *v)
{
	struct vfields f = {
		.name = fold_str(v, "Name"), .ns = fold_str(v, "NamespaceName"),
		.desc = fold_str(v, "Description"), .link = fold_str(v, "Link"),
		.sev = fold_str(v, "Severity"), .metadata = clr_klar_json_fold_get(v, "Metadata"),
		.fixed_by = fold_str(v, "FixedBy"),
		.fixed_in = clr_klar_json_fold_get(v, "FixedIn"),
		.fname = fold_str(v, "FeatureName"),
		.fversion = fold_str(v, "FeatureVersion"),
	};

	return vfields_json(out, &f);
}

static int vuln_json(struct clr_buf *out, const struct clr_klar_vuln *v)
{
	struct vfields f = {
		.name = v->name, .ns = v->namespace_name, .desc = v->description,
		.link = v->link, .sev = v->severity, .metadata = v->metadata,
		.fixed_by = v->fixed_by, .fixed_in = v->fixed_in,
		.fname = v->feature_name, .fversion = v->feature_version,
	};

	return vfields_json(out, &f);
}

/* --- widths (mattn/go-runewidth, simplified) ----------------------------- */

static int rune_width(long c)
{
	if (c < 0)
		return 1; /* U+FFFD */
	if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0xad ||
	    (c >= 0x300 && c <= 0x36f) || (c >= 0x200b && c <= 0x200f) ||
	    (c >= 0x20d0 && c <= 0x20ff) || (c >= 0xfe00 && c <= 0xfe0f) ||
	    (c >= 0xfe20 && c <= 0xfe2f) || c == 0xfeff)
		return 0;
	if ((c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0x303e) ||
	    (c >= 0x3041 && c <= 0x33ff) || (c >= 0x3400 && c <= 0x4dbf) ||
	    (c >= 0x4e00 && c <= 0x9fff) || (c >= 0xa000 && c <= 0xa4cf) ||
	    (c >= 0xac00 && c <= 0xd7a3) || (c >= 0xf900 && c <= 0xfaff) ||
	    (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff60) ||
	    (c >= 0xffe0 && c <= 0xffe6) || (c >= 0x1f300 && c <= 0x1f64f) ||
	    (c >= 0x1f900 && c <= 0x1f9ff) || (c >= 0x20000 && c <= 0x3fffd))
		return 2;
	return 1;
}

/* runewidth.StringWidth of n bytes: escape sequences are not stripped. */
static size_t string_width(const char *s, size_t n)
{
	size_t w = 0, i = 0, used;

	while (i < n) {
		w += (size_t)rune_width(utf8_next((const unsigned char *)s + i,
						  n - i, &used));
		i += used;
	}
	return w;
}

/* Length of an ANSI sequence at s matching tablewriter's
 * \033\[(?:[0-9]{1,3}(?:;[0-9]{1,3})*)?[m|K], or 0. */
static size_t ansi_len(const char *s)
{
	size_t i = 2, d;

	if (s[0] != '\033' || s[1] != '[')
		return 0;
	for (d = 0; s[i + d] >= '0' && s[i + d] <= '9'; d++)
		;
	if (d > 3)
		return 0;
	if (d) {
		i += d;
		while (s[i] == ';') {
			for (d = 0; s[i + 1 + d] >= '0' && s[i + 1 + d] <= '9'; d++)
				;
			if (d < 1 || d > 3)
				break;
			i += 1 + d;
		}
	}
	return s[i] == 'm' || s[i] == '|' || s[i] == 'K' ? i + 1 : 0;
}

size_t clr_klar_display_width(const char *s)
{
	size_t w = 0, start = 0, i = 0, a;

	while (s[i]) {
		if ((a = ansi_len(s + i))) {
			w += string_width(s + start, i - start);
			i += a;
			start = i;
		} else {
			i++;
		}
	}
	return w + string_width(s + start, i - start);
}

/* --- tablewriter ---------------------------------------------------------- */

#define TW_COLS 7
#define TW_MAX_WIDTH 30   /* tablewriter's MAX_ROW_WIDTH */
#define TW_PENALTY 100000 /* wrap.go's defaultPenalty */

struct tw_cell {
	char **lines;
	size_t n;
};

struct tw_row {
	struct tw_cell cells[TW_COLS];
	size_t height;
};

struct tw {
	size_t cs[TW_COLS];   /* column widths, growing as rows are added */
	struct tw_row *rows;
	size_t nrows;
};

/* WrapWords: minimum raggedness, the square of each line's shortfall,
 * TW_PENALTY more for a line longer than lim (one long word). */
static void wrap_words(char **words, const size_t *wlen, size_t n, size_t lim,
		       struct tw_cell *cell)
{
	long long *cost = clr_calloc(n + 1, sizeof(*cost));
	size_t *nbrk = clr_calloc(n + 1, sizeof(*nbrk));
	size_t *pre = clr_calloc(n + 1, sizeof(*pre));
	size_t i, j;

	for (i = 0; i < n; i++)
		pre[i + 1] = pre[i] + wlen[i];
#define LEN(a, b) (pre[(b) + 1] - pre[(a)] + ((b) - (a)))
	for (i = n; i-- > 0;) {
		if (LEN(i, n - 1) <= lim) {
			cost[i] = 0;
			nbrk[i] = n;
			continue;
		}
		cost[i] = INT_MAX; /* math.MaxInt32 */
		for (j = i + 1; j < n; j++) {
			long long d = (long long)lim - (long long)LEN(i, j - 1);
			long long c = d * d + cost[j];

			if (LEN(i, j - 1) > lim)
				c += TW_PENALTY;
			if (c < cost[i]) {
				cost[i] = c;
				nbrk[i] = j;
			}
		}
	}
#undef LEN
	for (i = 0; i < n; i = nbrk[i]) {
		struct clr_buf b = CLR_BUF_INIT((size_t)1 << 30);

		for (j = i; j < nbrk[i]; j++) {
			if (j > i)
				clr_buf_addch(&b, ' ');
			clr_buf_addstr(&b, words[j]);
		}
		cell->lines = clr_realloc(cell->lines,
					  (cell->n + 1) * sizeof(*cell->lines));
		cell->lines[cell->n++] = b.ptr ? clr_buf_detach(&b, NULL) :
					 clr_strdup("");
		if (nbrk[i] <= i)
			break; /* cannot happen: lim >= every word */
	}
	free(cost);
	free(nbrk);
	free(pre);
}

/* parseDimension for a body cell, then WrapString at the column's current
 * width. */
static void tw_cell_add(struct tw *t, struct tw_row *row, size_t col,
			const char *str)
{
	struct tw_cell *cell = &row->cells[col];
	char *copy = clr_strdup(str), *p, **words = NULL;
	size_t *wlen = NULL, n = 0, w, lim, i, max = 0;

	w = clr_klar_display_width(str);
	if (w > TW_MAX_WIDTH)
		w = TW_MAX_WIDTH;
	if (t->cs[col] < w)
		t->cs[col] = w;
	/* strings.Split(strings.Replace(s, "\n", " "), " ") */
	for (p = copy; *p; p++)
		if (*p == '\n')
			*p = ' ';
	p = copy;
	for (;;) {
		char *sp = strchr(p, ' ');

		words = clr_realloc(words, (n + 1) * sizeof(*words));
		wlen = clr_realloc(wlen, (n + 1) * sizeof(*wlen));
		if (sp)
			*sp = '\0';
		words[n] = p;
		wlen[n] = string_width(p, strlen(p));
		n++;
		if (!sp)
			break;
		p = sp + 1;
	}
	lim = t->cs[col];
	for (i = 0; i < n; i++)
		if (wlen[i] > lim)
			lim = wlen[i];
	wrap_words(words, wlen, n, lim, cell);
	for (i = 0; i < cell->n; i++)
		if ((w = clr_klar_display_width(cell->lines[i])) > max)
			max = w;
	if (max > t->cs[col])
		t->cs[col] = max;
	if (cell->n > row->height)
		row->height = cell->n;
	free(words);
	free(wlen);
	free(copy);
}

static int pad_right(struct clr_buf *out, const char *s, size_t width)
{
	size_t w = clr_klar_display_width(s);
	int err = clr_buf_addstr(out, s);

	for (; !err && w < width; w++)
		err = clr_buf_addch(out, ' ');
	return err;
}

static int tw_line(struct clr_buf *out, const struct tw *t)
{
	int err = clr_buf_addch(out, '+');

	for (size_t c = 0; !err && c < TW_COLS; c++) {
		for (size_t k = 0; !err && k < t->cs[c] + 2; k++)
			err = clr_buf_addch(out, '-');
		if (!err)
			err = clr_buf_addch(out, '+');
	}
	return err ? err : clr_buf_addch(out, '\n');
}

static const char *const tw_headers[TW_COLS] = {
	"Severity", "Name", "FeatureName", "FeatureVersion", "FixedBy",
	"Description", "Link",
};

/* klar's getSeverityStyle: the severity wrapped in its colour, Unknown's
 * for strings outside the seven. */
static char *severity_style(const char *sev)
{
	static const char *const colour[CLR_KLAR_NSEV] = {
		"\033[0;97m", "\033[0;94m", "\033[0;94m", "\033[0;33m",
		"\033[0;31m", "\033[1;31m", "\033[1;31m",
	};
	int i = clr_klar_severity_from_name(sev);
	struct clr_buf b = CLR_BUF_INIT((size_t)1 << 30);

	clr_buf_printf(&b, "%s%s\033[0m", colour[i < 0 ? 0 : i], sev);
	return clr_buf_detach(&b, NULL);
}

static int render_table(struct clr_buf *out, const struct clr_klar_vuln **shown,
			size_t nshown)
{
	struct tw t = { .cs = { 0 }, .rows = NULL, .nrows = 0 };
	size_t r, c, x;
	int err = 0;

	/* SetHeader: the widths of the raw names. */
	for (c = 0; c < TW_COLS; c++)
		t.cs[c] = clr_klar_display_width(tw_headers[c]);
	t.rows = clr_calloc(nshown + 1, sizeof(*t.rows));
	for (r = 0; r < nshown; r++) {
		const struct clr_klar_vuln *v = shown[r];
		char *sev = severity_style(v->severity);
		const char *cells[TW_COLS] = {
			sev, v->name, v->feature_name, v->feature_version,
			v->fixed_by, v->description, v->link,
		};

		for (c = 0; c < TW_COLS; c++)
			tw_cell_add(&t, &t.rows[r], c, cells[c]);
		t.nrows++;
		free(sev);
	}
	err = tw_line(out, &t);
	/* The heading: Title() upper-cases; left aligned. */
	if (!err)
		err = clr_buf_addch(out, '|');
	for (c = 0; !err && c < TW_COLS; c++) {
		char h[32];
		size_t k;

		for (k = 0; tw_headers[c][k]; k++)
			h[k] = (char)(tw_headers[c][k] >= 'a' &&
				      tw_headers[c][k] <= 'z' ?
				      tw_headers[c][k] - 32 : tw_headers[c][k]);
		h[k] = '\0';
		err = clr_buf_addch(out, ' ');
		if (!err)
			err = pad_right(out, h, t.cs[c]);
		if (!err)
			err = clr_buf_addstr(out, " |");
	}
	if (!err)
		err = clr_buf_addch(out, '\n');
	if (!err)
		err = tw_line(out, &t);
	for (r = 0; !err && r < t.nrows; r++) {
		struct tw_row *row = &t.rows[r];

		for (x = 0; !err && x < row->height; x++) {
			for (c = 0; !err && c < TW_COLS; c++) {
				/* Short cells are padded with "  " lines. */
				const char *s = x < row->cells[c].n ?
						row->cells[c].lines[x] : "  ";

				err = clr_buf_addstr(out, "| ");
				if (!err)
					err = pad_right(out, s, t.cs[c]);
				if (!err)
					err = clr_buf_addch(out, ' ');
			}
			if (!err)
				err = clr_buf_addstr(out, "|\n");
		}
		/* SetRowLine(true): a line after every row, and so no
		 * separate bottom border. */
		if (!err)
			err = tw_line(out, &t);
	}
	for (r = 0; r < nshown; r++)
		for (c = 0; c < TW_COLS; c++) {
			for (x = 0; x < t.rows[r].cells[c].n; x++)
				free(t.rows[r].cells[c].lines[x]);
			free(t.rows[r].cells[c].lines);
		}
	free(t.rows);
	return err;
}

/* --- the formats ------------------------------------------------------------ */

int clr_klar_render(struct clr_buf *out, const struct clr_klar_vulns *vs,
		    const struct clr_klar_render_opts *o, size_t *counted)
{
	size_t per[CLR_KLAR_NSEV] = { 0 }, nshown = 0, count = 0, i;
	const struct clr_klar_vuln **shown;
	int err = 0, sev, first = 1;

	/* groupBySeverity: one bucket per exact severity string, server
	 * order kept inside; only the seven known ones are ever listed. */
	for (i = 0; i < vs->n; i++)
		if ((sev = clr_klar_severity_from_name(vs->items[i].severity)) >= 0)
			per[sev]++;
	shown = clr_calloc(vs->n + 1, sizeof(*shown));
	for (sev = o->min_severity; sev < CLR_KLAR_NSEV; sev++)
		for (i = 0; i < vs->n; i++)
			if (clr_klar_severity_from_name(vs->items[i].severity) == sev)
				shown[nshown++] = &vs->items[i];
	/* "count = the number of shown vulnerabilities ... With
	 * IGNORE_UNFIXED, only those with a non-empty FixedBy count." */
	for (i = 0; i < nshown; i++)
		if (!o->ignore_unfixed || *shown[i]->fixed_by)
			count++;
	*counted = count;

	if (o->format == CLR_KLAR_FORMAT_JSON) {
		/* Go's map keys sorted: Critical Defcon1 High Low Medium
		 * Negligible Unknown. */
		static const int alpha[CLR_KLAR_NSEV] = {
			CLR_KLAR_SEV_CRITICAL, CLR_KLAR_SEV_DEFCON1,
			CLR_KLAR_SEV_HIGH, CLR_KLAR_SEV_LOW, CLR_KLAR_SEV_MEDIUM,
			CLR_KLAR_SEV_NEGLIGIBLE, CLR_KLAR_SEV_UNKNOWN,
		};

		err = clr_buf_printf(out, "{\"LayerCount\":%zu,"
				     "\"Vulnerabilities\":{", o->layer_count);
		for (int a = 0; !err && a < CLR_KLAR_NSEV; a++) {
			int s = alpha[a], vfirst = 1;

			if (s < o->min_severity || !per[s])
				continue;
			err = clr_buf_printf(out, "%s\"%s\":[", first ? "" : ",",
					     sev_names[s]);
			first = 0;
			for (i = 0; !err && i < nshown; i++) {
				if (clr_klar_severity_from_name(shown[i]->severity) != s)
					continue;
				if (!vfirst)
					err = clr_buf_addch(out, ',');
				vfirst = 0;
				if (!err)
					err = vuln_json(out, shown[i]);
			}
			if (!err)
				err = clr_buf_addch(out, ']');
		}
		if (!err)
			err = clr_buf_addstr(out, "}}\n");
		free(shown);
		return err;
	}

	if (o->whitelisted)
		err = clr_buf_printf(out, "Whitelisted %zu vulnerabilities\n",
				     o->whitelisted);
	if (!err)
		err = clr_buf_printf(out, "Found %zu vulnerabilities\n", vs->n);
	for (sev = 0; !err && sev < CLR_KLAR_NSEV; sev++)
		if (per[sev])
			err = clr_buf_printf(out, "%s: %zu\n", sev_names[sev],
					     per[sev]);
	if (!err)
		err = clr_buf_addch(out, '\n');
	if (o->format == CLR_KLAR_FORMAT_TABLE) {
		if (!err && nshown)
			err = render_table(out, shown, nshown);
	} else {
		for (i = 0; !err && i < nshown; i++) {
			const struct clr_klar_vuln *v = shown[i];

			err = clr_buf_printf(out, "%s: [%s] \nFound in: %s [%s]\n"
					     "Fixed By: %s\n%s\n%s\n"
					     "-----------------------------------------\n",
					     v->name, v->severity, v->feature_name,
					     v->feature_version, v->fixed_by,
					     v->description, v->link);
		}
	}
	free(shown);
	return err;
}
