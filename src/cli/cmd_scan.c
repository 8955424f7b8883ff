/*
 * cmd_scan.c - `clarion scan IMAGE`: an image's vulnerabilities, standalone.
 *
 * The whole pipeline in one process on the embedded database: index the
 * image (as `clarion index`), build the matcher's index of the current
 * vulnerability records, match, and print the findings as a table for
 * people or as a stable JSON object for programs (docs/scanning.md).
 *
 * A finding is (package, installed version, fixed version, vulnerability):
 * the VulnerabilityReport may name one vulnerability several times for a
 * package (two records of one CVE, one package in two architectures) and
 * a user wants to read it once.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "indexer/indexer.h"
#include "matcher/index.h"
#include "matcher/match.h"
#include "store/store.h"
#include "updater/vuln.h"
#include "util/error.h"
#include "util/vec.h"

const char cmd_scan_usage[] =
	"usage: clarion scan [OPTIONS] IMAGE\n"
	"\n"
	"Indexes IMAGE (as `clarion index` does), matches its packages against\n"
	"the vulnerability data in the database and prints the findings.  Fill\n"
	"the database first with `clarion update` (or `clarion db import FILE`\n"
	"offline).  IMAGE is written as for `clarion index`.\n"
	"\n"
	"Options:\n"
	"  --db DB              database: a file path (SQLite) or postgres:// URL\n"
	"                       (default: $CLARION_DB, else\n"
	"                       $XDG_CACHE_HOME/clarion/clarion.db)\n"
	"  --platform OS/ARCH[/VARIANT]  image of a multi-platform index to use\n"
	"  --username USER, --password PASS   registry credentials\n"
	"  --insecure           do not verify the registry's TLS certificate\n"
	"  --plain-http         talk plain HTTP to the registry\n"
	"  --format table|json  findings as a table (default) or JSON\n"
	"                       (docs/scanning.md)\n"
	"  --output FILE        write the findings to FILE instead of stdout\n"
	"  --severity LIST      show only these severities (comma list of\n"
	"                       Unknown,Negligible,Low,Medium,High,Critical)\n"
	"  --ignore-unfixed     do not show vulnerabilities without a fix\n"
	"  --fail-on SEVERITY   exit with --exit-code when a shown finding is at\n"
	"                       or above SEVERITY\n"
	"  --exit-code N        the status of --fail-on (default 1); alone: exit\n"
	"                       N when anything is shown\n"
	"  --show-not-covered   list the packages no vulnerability feed covers\n"
	"\n"
	"Exit status: 0 scanned (nothing at or above --fail-on), N (--exit-code)\n"
	"findings at or above --fail-on, 2 error (one line on stderr says why).\n";

#define NSEV (CLR_SEV_CRITICAL + 1)
#define STALE_DAYS 7

struct finding {
	const char *package, *installed, *fixed, *vuln, *vendor, *links,
		   *updater;
	char *title;          /* first line of the description (owned) */
	enum clr_severity sev;
};

struct uncovered {
	const char *package, *version, *dist;
};

struct scan {
	json_t *vr;               /* the VulnerabilityReport */
	const char *image;
	struct clr_vec findings;  /* struct finding */
	struct clr_vec uncovered; /* struct uncovered */
	json_t *labels;           /* keeps the made-up distribution labels */
	unsigned shown_sev;       /* bit per severity */
	int ignore_unfixed, show_not_covered;
	size_t summary[NSEV];
};

static const char *jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

/* "a,b,c" of severity names -> a bit set; -1 on an unknown name. */
static int parse_severities(const char *list, unsigned *out)
{
	char *copy = strdup(list), *save = NULL, *tok;
	int rc = 0;

	if (!copy)
		return -1;
	*out = 0;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		enum clr_severity s;

		tok += strspn(tok, " ");
		if (clr_severity_from_name(&s, tok)) {
			rc = -1;
			break;
		}
		*out |= 1u << s;
	}
	free(copy);
	return rc == 0 && *out ? 0 : -1;
}

/* The name a user knows a package's distribution by. */
static const char *dist_label(json_t *vr, const char *pkg_id, char *buf, size_t n)
{
	json_t *env = json_array_get(json_object_get(
		json_object_get(vr, "environments"), pkg_id), 0);
	const char *did = jstr(env, "distribution_id");
	json_t *d = json_object_get(json_object_get(vr, "distributions"), did);

	if (!d)
		return "no known distribution";
	if (*jstr(d, "pretty_name"))
		return jstr(d, "pretty_name");
	snprintf(buf, n, "%s %s", jstr(d, "did"), jstr(d, "version_id"));
	return buf;
}

static int finding_cmp(const void *pa, const void *pb)
{
	const struct finding *a = pa, *b = pb;
	int c;

	if (a->sev != b->sev)
		return a->sev > b->sev ? -1 : 1;
	if ((c = strcmp(a->package, b->package)))
		return c;
	if ((c = strcmp(a->vuln, b->vuln)))
		return c;
	if ((c = strcmp(a->installed, b->installed)))
		return c;
	return strcmp(a->fixed, b->fixed);
}

static int same_finding(const struct finding *a, const struct finding *b)
{
	return !strcmp(a->package, b->package) && !strcmp(a->vuln, b->vuln) &&
	       !strcmp(a->installed, b->installed) && !strcmp(a->fixed, b->fixed);
}

static char *first_line(const char *s)
{
	return strndup(s, strcspn(s, "\r\n"));
}

/* The findings the options let through, sorted and deduplicated, and the
 * packages nobody covers, from the VulnerabilityReport. */
static int collect(struct scan *sc)
{
	json_t *pkgs = json_object_get(sc->vr, "packages");
	json_t *vulns = json_object_get(sc->vr, "vulnerabilities");
	json_t *pv = json_object_get(sc->vr, "package_vulnerabilities");
	json_t *ids, *id;
	const char *pid;
	size_t i, out = 0;

	json_object_foreach(pv, pid, ids) {
		json_t *p = json_object_get(pkgs, pid);

		json_array_foreach(ids, i, id) {
			json_t *v = json_object_get(vulns, json_string_value(id));
			struct finding f = { 0 };

			if (!v)
				continue;
			if (clr_severity_from_name(&f.sev, jstr(v, "normalized_severity")))
				f.sev = CLR_SEV_UNKNOWN;
			f.fixed = jstr(v, "fixed_in_version");
			if (!(sc->shown_sev & (1u << f.sev)) ||
			    (sc->ignore_unfixed && !*f.fixed))
				continue;
			f.package = jstr(p, "name");
			f.installed = jstr(p, "version");
			f.vuln = jstr(v, "name");
			f.vendor = jstr(v, "severity");
			f.links = jstr(v, "links");
			f.updater = jstr(v, "updater");
			if (!(f.title = first_line(jstr(v, "description"))) ||
			    !clr_vec_push(&sc->findings, &f)) {
				free(f.title);
				return clr_cli_fail("scan", "out of memory");
			}
		}
	}
	clr_vec_sort(&sc->findings, finding_cmp);
	for (i = 0; i < clr_vec_len(&sc->findings); i++) {
		struct finding *f = clr_vec_get(&sc->findings, i);

		if (out && same_finding(clr_vec_get(&sc->findings, out - 1), f)) {
			free(f->title);
			continue;
		}
		*(struct finding *)clr_vec_get(&sc->findings, out++) = *f;
		sc->summary[f->sev]++;
	}
	clr_vec_truncate(&sc->findings, out);

	json_array_foreach(json_object_get(sc->vr, "not_covered"), i, id) {
		json_t *p = json_object_get(pkgs, json_string_value(id));
		struct uncovered u = { jstr(p, "name"), jstr(p, "version"), NULL };
		char buf[256];

		u.dist = dist_label(sc->vr, json_string_value(id), buf, sizeof(buf));
		if (u.dist == buf) {
			json_array_append_new(sc->labels, json_string(buf));
			u.dist = json_string_value(json_array_get(sc->labels,
				json_array_size(sc->labels) - 1));
		}
		if (!clr_vec_push(&sc->uncovered, &u))
			return clr_cli_fail("scan", "out of memory");
	}
	return 0;
}

/* One line per distribution on stderr: users must never read "nothing
 * found" about packages nobody looked at. */
static void warn_not_covered(const struct scan *sc)
{
	size_t i, j, n = clr_vec_len(&sc->uncovered);

	for (i = 0; i < n; i++) {
		const struct uncovered *u = clr_vec_get(&sc->uncovered, i);
		size_t count = 0;
		int seen = 0;

		for (j = 0; j < i && !seen; j++)
			seen = !strcmp(((const struct uncovered *)
					clr_vec_get(&sc->uncovered, j))->dist, u->dist);
		if (seen)
			continue;
		for (j = i; j < n; j++)
			count += !strcmp(((const struct uncovered *)
					  clr_vec_get(&sc->uncovered, j))->dist, u->dist);
		fprintf(stderr, "clarion: scan: %zu package%s of %s %s not covered "
			"by any vulnerability feed\n", count, count == 1 ? "" : "s",
			u->dist, count == 1 ? "is" : "are");
	}
}

/* ---- JSON --------------------------------------------------------------- */

static json_t *distribution_json(json_t *vr)
{
	json_t *dists = json_object_get(vr, "distributions");
	json_t *d = json_object_iter_value(json_object_iter(dists));

	if (!d)
		return json_null();
	return json_pack("{s:s, s:s, s:s, s:s, s:s}",
			 "did", jstr(d, "did"), "name", jstr(d, "name"),
			 "version_id", jstr(d, "version_id"),
			 "version_code_name", jstr(d, "version_code_name"),
			 "pretty_name", jstr(d, "pretty_name"));
}

static int write_json(FILE *f, const struct scan *sc)
{
	json_t *o = json_object(), *arr = json_array(), *nc = json_array();
	json_t *sum = json_object();
	size_t i;
	int rc;

	for (i = 0; i < clr_vec_len(&sc->findings); i++) {
		const struct finding *x = clr_vec_get(&sc->findings, i);

		json_array_append_new(arr, json_pack(
			"{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
			"package", x->package, "installed", x->installed,
			"fixed", x->fixed, "vulnerability", x->vuln,
			"severity", clr_severity_name(x->sev),
			"severity_vendor", x->vendor, "title", x->title,
			"links", x->links, "updater", x->updater));
	}
	for (i = 0; i < clr_vec_len(&sc->uncovered); i++) {
		const struct uncovered *u = clr_vec_get(&sc->uncovered, i);

		json_array_append_new(nc, json_pack("{s:s, s:s, s:s}",
			"package", u->package, "version", u->version,
			"distribution", u->dist));
	}
	for (i = 0; i < NSEV; i++)
		if (sc->shown_sev & (1u << i))
			json_object_set_new(sum, clr_severity_name(i),
					    json_integer((json_int_t)sc->summary[i]));
	json_object_set_new(o, "image", json_string(sc->image));
	json_object_set_new(o, "manifest_hash",
			    json_string(jstr(sc->vr, "manifest_hash")));
	json_object_set_new(o, "distribution", distribution_json(sc->vr));
	json_object_set_new(o, "packages", json_integer((json_int_t)json_object_size(
		json_object_get(sc->vr, "packages"))));
	json_object_set_new(o, "findings", arr);
	json_object_set_new(o, "not_covered", nc);
	json_object_set_new(o, "summary", sum);
	rc = json_dumpf(o, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', f);
	json_decref(o);
	return rc;
}

/* ---- table -------------------------------------------------------------- */

/* Display columns of a UTF-8 string: one per code point (East Asian wide
 * characters are rare enough in advisory titles to ignore). */
static size_t ucols(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* Prints s in exactly w columns: cut with "..." when longer (on a code
 * point boundary), padded when shorter; last: no trailing padding. */
static void cell(FILE *f, const char *s, size_t w, int last)
{
	size_t cols = ucols(s), i = 0, used = 0;

	if (cols <= w) {
		fputs(s, f);
		used = cols;
	} else if (w > 3) {
		for (; s[i] && used < w - 3; i++) {
			if (((unsigned char)s[i] & 0xc0) != 0x80)
				used++;
			/* take every continuation byte of the last code point */
			while (((unsigned char)s[i + 1] & 0xc0) == 0x80)
				fputc(s[i++], f);
			fputc(s[i], f);
		}
		fputs("...", f);
		used += 3;
	} else {
		for (; used < w && s[i]; i++, used++)
			fputc(s[i], f);
	}
	if (!last)
		for (; used < w; used++)
			fputc(' ', f);
}

static size_t term_width(FILE *f)
{
	const char *env = getenv("COLUMNS");
	struct winsize ws;
	char *end;
	long n;

	if (env && *env) {
		errno = 0;
		n = strtol(env, &end, 10);
		if (!errno && !*end && n > 0 && n < 10000)
			return (size_t)n;
	}
	if (isatty(fileno(f)) && !ioctl(fileno(f), TIOCGWINSZ, &ws) && ws.ws_col)
		return ws.ws_col;
	return 120;
}

static const char *sev_colour(enum clr_severity s)
{
	switch (s) {
	case CLR_SEV_CRITICAL: return "\033[1;31m";
	case CLR_SEV_HIGH: return "\033[31m";
	case CLR_SEV_MEDIUM: return "\033[33m";
	case CLR_SEV_LOW: return "\033[34m";
	default: return "\033[2m";
	}
}

enum { C_PKG, C_INST, C_FIX, C_VULN, C_SEV, C_TITLE, NCOL };

static int write_table(FILE *f, const struct scan *sc)
{
	static const char *const head[NCOL] = { "PACKAGE", "INSTALLED", "FIXED",
		"VULNERABILITY", "SEVERITY", "TITLE" };
	size_t w[NCOL], i, c, total = 0, width = term_width(f), fixed_cols = 0;
	int colour = isatty(fileno(f));
	json_t *d = json_object_iter_value(json_object_iter(
		json_object_get(sc->vr, "distributions")));
	size_t n = clr_vec_len(&sc->findings);

	for (c = 0; c < NCOL; c++)
		w[c] = strlen(head[c]);
	for (i = 0; i < n; i++) {
		const struct finding *x = clr_vec_get(&sc->findings, i);
		const char *v[NCOL] = { x->package, x->installed,
			*x->fixed ? x->fixed : "(unfixed)", x->vuln,
			clr_severity_name(x->sev), x->title };

		for (c = 0; c < NCOL; c++)
			if (ucols(v[c]) > w[c])
				w[c] = ucols(v[c]);
	}
	/* The title takes what is left of the line, and at least a little;
	 * on a narrow line the widest identifiers give way first, down to
	 * a readable minimum (past that the line wraps). */
	for (c = 0; c < C_TITLE; c++) {
		if (w[c] > 40)
			w[c] = 40;
		fixed_cols += w[c] + 2;
	}
	while (fixed_cols + 10 > width) {
		size_t widest = C_PKG;

		for (c = 0; c < C_TITLE; c++)
			if (w[c] > w[widest])
				widest = c;
		if (w[widest] <= 12)
			break;
		w[widest]--;
		fixed_cols--;
	}
	w[C_TITLE] = width > fixed_cols + 10 ? width - fixed_cols : 10;

	fprintf(f, "%s (%s, %zu packages)\n", sc->image,
		d ? jstr(d, "pretty_name") : "unknown distribution",
		json_object_size(json_object_get(sc->vr, "packages")));
	for (c = 0; c < NSEV; c++)
		total += sc->summary[c];
	fprintf(f, "Total: %zu", total);
	for (c = NSEV; c-- > 0;)
		if (sc->shown_sev & (1u << c))
			fprintf(f, "  %s: %zu", clr_severity_name(c), sc->summary[c]);
	fputc('\n', f);
	fputc('\n', f);
	if (!n)
		fputs("No vulnerabilities found.\n", f);
	for (c = 0; n && c < NCOL; c++) {
		cell(f, head[c], w[c], c == NCOL - 1);
		fputs(c < NCOL - 1 ? "  " : "\n", f);
	}
	for (i = 0; i < n; i++) {
		const struct finding *x = clr_vec_get(&sc->findings, i);
		const char *v[NCOL] = { x->package, x->installed,
			*x->fixed ? x->fixed : "(unfixed)", x->vuln,
			clr_severity_name(x->sev), x->title };

		/* no title: the line ends after the severity, without blanks */
		size_t last = *x->title ? C_TITLE : C_SEV;

		for (c = 0; c <= last; c++) {
			if (colour && c == C_SEV)
				fputs(sev_colour(x->sev), f);
			cell(f, v[c], w[c], c == last);
			if (colour && c == C_SEV)
				fputs("\033[0m", f);
			if (c < last)
				fputs("  ", f);
		}
		fputc('\n', f);
	}
	if (sc->show_not_covered && clr_vec_len(&sc->uncovered)) {
		fputs("\nNot covered by any vulnerability feed:\n", f);
		for (i = 0; i < clr_vec_len(&sc->uncovered); i++) {
			const struct uncovered *u = clr_vec_get(&sc->uncovered, i);

			fprintf(f, "  %s %s (%s)\n", u->package, u->version, u->dist);
		}
	}
	return ferror(f) ? -1 : 0;
}

/* ---- the database ------------------------------------------------------- */

/* 0 when some updater has stored data; a warning on stderr when the
 * newest data is old, since a scan on stale data reads as clean. */
static int check_data(struct clr_store *store, const char *db, int *empty)
{
	struct clr_vec st;
	time_t newest = 0;
	size_t i;

	clr_vec_init(&st, sizeof(struct clr_updater_status));
	if (clr_store_status_list(store, &st))
		return clr_cli_fail("scan", "%s", clr_error_msg());
	*empty = 1;
	for (i = 0; i < clr_vec_len(&st); i++) {
		const struct clr_updater_status *u = clr_vec_get(&st, i);
		struct tm tm = { 0 };

		if (!*u->last_success)
			continue;
		*empty = 0;
		if (strptime(u->last_success, "%Y-%m-%dT%H:%M:%S", &tm) &&
		    timegm(&tm) > newest)
			newest = timegm(&tm);
	}
	clr_updater_status_release(&st);
	if (!*empty && newest && time(NULL) - newest > STALE_DAYS * 86400)
		fprintf(stderr, "clarion: scan: warning: the newest vulnerability "
			"data in %s is %lld days old; run 'clarion update'\n",
			db ? db : "the database",
			(long long)((time(NULL) - newest) / 86400));
	return 0;
}

/* ---- the command -------------------------------------------------------- */

int cmd_scan(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'd' },
		CLR_CLI_SOURCE_LONGOPTS,
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "severity", required_argument, NULL, 's' },
		{ "fail-on", required_argument, NULL, 'F' },
		{ "exit-code", required_argument, NULL, 'x' },
		{ "ignore-unfixed", no_argument, NULL, 'U' },
		{ "show-not-covered", no_argument, NULL, 'N' },
		{ NULL, 0, NULL, 0 },
	};
	struct clr_indexer_opts opts = { 0 };
	const char *db = NULL, *format = "table", *output = NULL, *fail_on = NULL;
	struct scan sc = { .shown_sev = (1u << NSEV) - 1 };
	struct clr_vindex ix;
	int have_ix = 0, empty = 1, c, err, rc = CLR_EXIT_ERROR, exit_code = -1;
	enum clr_severity threshold = CLR_SEV_UNKNOWN;
	struct clr_store *store = NULL;
	json_t *report = NULL;
	FILE *out = stdout;
	char *end;
	long n;
	size_t i;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (clr_cli_source_option(&opts.source, c, optarg))
			continue;
		switch (c) {
		case 'd': db = optarg; break;
		case 'f': format = optarg; break;
		case 'o': output = optarg; break;
		case 'U': sc.ignore_unfixed = 1; break;
		case 'N': sc.show_not_covered = 1; break;
		case 's':
			if (parse_severities(optarg, &sc.shown_sev))
				return clr_cli_fail("scan", "bad --severity '%s' (a comma "
					"list of Unknown, Negligible, Low, Medium, High, "
					"Critical)", optarg);
			break;
		case 'F':
			fail_on = optarg;
			if (clr_severity_from_name(&threshold, optarg))
				return clr_cli_fail("scan", "bad --fail-on '%s' (Unknown, "
					"Negligible, Low, Medium, High, Critical)", optarg);
			break;
		case 'x':
			errno = 0;
			n = strtol(optarg, &end, 10);
			if (errno || !*optarg || *end || n < 0 || n > 255)
				return clr_cli_fail("scan", "bad --exit-code '%s' "
						    "(0 to 255)", optarg);
			exit_code = (int)n;
			break;
		default:
			return clr_cli_fail("scan", "unknown or incomplete option '%s'; "
					    "see 'clarion scan --help'",
					    argv[optind - 1]);
		}
	}
	if (strcmp(format, "table") && strcmp(format, "json"))
		return clr_cli_fail("scan", "unknown format '%s' (table, json)", format);
	if (optind != argc - 1)
		return clr_cli_fail("scan", "expected one IMAGE; see 'clarion scan --help'");
	if (clr_cli_source_check("scan", &opts.source))
		return CLR_EXIT_ERROR;
	sc.image = argv[optind];
	clr_vec_init(&sc.findings, sizeof(struct finding));
	clr_vec_init(&sc.uncovered, sizeof(struct uncovered));
	sc.labels = json_array();

	if (clr_store_open(&store, db)) {
		clr_cli_fail("scan", "%s", clr_error_msg());
		goto out;
	}
	/* Before the image: an empty database makes the scan meaningless,
	 * and saying so must not wait for a download. */
	if (check_data(store, db, &empty))
		goto out;
	if (clr_vindex_build(&ix, store)) {
		clr_cli_fail("scan", "loading the vulnerability data: %s",
			     clr_error_msg());
		goto out;
	}
	have_ix = 1;
	if (empty && !ix.records) {
		clr_cli_fail("scan", "the database %s has no vulnerability data; "
			     "fill it with 'clarion update' (or 'clarion db import "
			     "FILE' offline)", db ? db : "(default)");
		goto out;
	}
	if (clr_index_image(&report, store, sc.image, &opts)) {
		clr_cli_fail("scan", "%s: %s", sc.image, clr_error_msg());
		goto out;
	}
	if ((err = clr_match(&sc.vr, &ix, report))) {
		clr_cli_fail("scan", "%s: matching: %s", sc.image, clr_error_msg());
		goto out;
	}
	if (collect(&sc))
		goto out;
	warn_not_covered(&sc);

	if (output && !(out = fopen(output, "w"))) {
		out = stdout;
		clr_cli_fail("scan", "%s: %s", output, strerror(errno));
		goto out;
	}
	err = !strcmp(format, "json") ? write_json(out, &sc) : write_table(out, &sc);
	if (out != stdout ? fclose(out) | err : fflush(out) | err) {
		out = stdout;
		clr_cli_fail("scan", "writing %s: %s", output ? output : "the report",
			     strerror(errno));
		goto out;
	}
	out = stdout;

	rc = CLR_EXIT_OK;
	if (fail_on || exit_code >= 0) {
		for (i = 0; i < clr_vec_len(&sc.findings); i++)
			if (((struct finding *)clr_vec_get(&sc.findings, i))->sev >= threshold)
				rc = exit_code >= 0 ? exit_code : CLR_EXIT_FOUND;
	}
out:
	if (out != stdout)
		fclose(out);
	for (i = 0; i < clr_vec_len(&sc.findings); i++)
		free(((struct finding *)clr_vec_get(&sc.findings, i))->title);
	clr_vec_release(&sc.findings);
	clr_vec_release(&sc.uncovered);
	json_decref(sc.vr);
	json_decref(sc.labels);
	json_decref(report);
	if (have_ix)
		clr_vindex_free(&ix);
	clr_store_close(store);
	return rc;
}
