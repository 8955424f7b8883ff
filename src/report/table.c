/*
 * table.c - findings as a table for people (docs/scanning.md, "Table").
 *
 * A header naming the image, a summary line counting the shown findings
 * per severity, then one row per finding in report order.  Every column
 * but the title is as wide as its widest cell (at most 40); the title gets
 * what is left of the line and is cut with "..." to fit, so the table
 * never wraps on a terminal of the given width.
 */
#include "report/report.h"

#include <string.h>

#include "util/error.h"

/* Prints s in exactly w columns: cut with "..." when longer (on a code
 * point boundary), padded when shorter; last: no trailing padding. */
static void cell(FILE *f, const char *s, size_t w, bool last)
{
	size_t cols = clr_report_ucols(s), i = 0, used = 0;

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

/* Narrows the widest of the package and version columns, one column at a
 * time, until the line has room for `room` more columns or each of them
 * is down to min. */
static void shrink(size_t w[NCOL], size_t *fixed_cols, size_t width, size_t room,
		   size_t min)
{
	while (*fixed_cols + room > width) {
		size_t widest = C_PKG;

		for (size_t c = C_PKG; c <= C_FIX; c++)
			if (w[c] > w[widest])
				widest = c;
		if (w[widest] <= min)
			break;
		w[widest]--;
		--*fixed_cols;
	}
}

static void row_cells(const struct clr_report_finding *x, const char *v[NCOL])
{
	v[C_PKG] = x->package;
	v[C_INST] = x->installed;
	v[C_FIX] = *x->fixed ? x->fixed : "(unfixed)";
	v[C_VULN] = x->vuln;
	v[C_SEV] = clr_severity_name(x->sev);
	v[C_TITLE] = x->title;
}

int clr_report_table(FILE *f, const struct clr_report *r,
		     const struct clr_table_opts *o)
{
	static const char *const head[NCOL] = { "PACKAGE", "INSTALLED", "FIXED",
		"VULNERABILITY", "SEVERITY", "TITLE" };
	size_t w[NCOL], full[NCOL], i, c, total = 0, fixed_cols = 0, full_cols;
	size_t width = o->width ? o->width : 120, n = r->findings.len;
	bool show_title = true;
	const char *v[NCOL];

	for (c = 0; c < NCOL; c++)
		w[c] = strlen(head[c]);
	for (i = 0; i < n; i++) {
		row_cells(CLR_VEC_AT(&r->findings, struct clr_report_finding, i), v);
		for (c = 0; c < NCOL; c++)
			if (clr_report_ucols(v[c]) > w[c])
				w[c] = clr_report_ucols(v[c]);
	}
	/* The title takes what is left of the line, and at least 10
	 * columns.  On a narrow line the package and version columns give
	 * way first (widest first, down to 12), then the title goes and they
	 * give way down to 8; vulnerability ids and severities are never cut
	 * (past that the line wraps). */
	for (c = 0; c < C_TITLE; c++) {
		if (w[c] > 40)
			w[c] = 40;
		fixed_cols += w[c] + 2;
	}
	memcpy(full, w, sizeof(full));
	full_cols = fixed_cols;
	shrink(w, &fixed_cols, width, 10, 12);
	if (fixed_cols + 10 > width) {
		/* no title: the columns start again from their full widths */
		show_title = false;
		memcpy(w, full, sizeof(full));
		fixed_cols = full_cols - 2;   /* no separator before a title */
		shrink(w, &fixed_cols, width, 0, 8);
	}
	w[C_TITLE] = width > fixed_cols + 10 ? width - fixed_cols : 10;

	fprintf(f, "%s (%s, %zu packages)\n", r->image,
		r->dist ? r->dist_pretty : "unknown distribution", r->packages.len);
	for (c = 0; c < CLR_REPORT_NSEV; c++)
		total += r->summary[c];
	fprintf(f, "Total: %zu", total);
	for (c = CLR_REPORT_NSEV; c-- > 0;)
		if (r->shown_sev & (1u << c))
			fprintf(f, "  %s: %zu", clr_severity_name((enum clr_severity)c),
				r->summary[c]);
	fputs("\n\n", f);
	if (!n)
		fputs("No vulnerabilities found.\n", f);
	for (c = 0; n && c <= (show_title ? C_TITLE : C_SEV); c++) {
		bool last = c == (show_title ? C_TITLE : C_SEV);

		cell(f, head[c], w[c], last);
		fputs(last ? "\n" : "  ", f);
	}
	for (i = 0; i < n; i++) {
		const struct clr_report_finding *x =
			CLR_VEC_AT(&r->findings, struct clr_report_finding, i);
		/* no title: the line ends after the severity, without blanks */
		size_t last = *x->title && show_title ? C_TITLE : C_SEV;

		row_cells(x, v);
		for (c = 0; c <= last; c++) {
			if (o->colour && c == C_SEV)
				fputs(sev_colour(x->sev), f);
			cell(f, v[c], w[c], c == last);
			if (o->colour && c == C_SEV)
				fputs("\033[0m", f);
			if (c < last)
				fputs("  ", f);
		}
		fputc('\n', f);
	}
	if (o->show_not_covered && r->uncovered.len) {
		fputs("\nNot covered by any vulnerability feed:\n", f);
		for (i = 0; i < r->uncovered.len; i++) {
			const struct clr_report_uncovered *u =
				CLR_VEC_AT(&r->uncovered, struct clr_report_uncovered, i);

			fprintf(f, "  %s %s (%s)\n", u->pkg->name, u->pkg->version, u->dist);
		}
	}
	if (ferror(f))
		return clr_error_set(CLR_EIO, "writing the table failed");
	return 0;
}
