/*
 * bench_match.c - in-process vulnerability report time (DESIGN.md §7:
 * "800-package Debian image, >= 1 M affected-package rows loaded: p50 <=
 * 2 ms in-process") and the memory of the index it is matched against.
 *
 *     build/bench/bench_match                     generated data
 *     build/bench/bench_match --db DB --report IR.json [--runs N]
 *                             [--dump OUT.json]   a real store and report
 *
 * Without arguments: 40,000 Debian source packages x 5 CVEs x 5 releases
 * = 1,000,000 records built in memory, and a report of 800 packages of
 * those sources (3 hits each).  With --db: the index of every current
 * record in that store (bench/match_bench.py fills one with the generated
 * 1.5 M-row Debian tracker and the real feeds) and an IndexReport made by
 * `clarion index`.  Either way it prints the index's build time and the
 * resident memory it added, then the match time over N runs (p50, p90,
 * max).  --dump writes the last report (json_dumps, JSON_COMPACT |
 * JSON_SORT_KEYS) for comparisons between builds.
 *
 * A benchmark prints; it never fails on speed (exit 1 only when something
 * is broken: the store will not open, the report is not JSON, a match
 * fails).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "matcher/index.h"
#include "matcher/match.h"
#include "store/store.h"
#include "util/error.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Resident memory in MiB (from /proc/self/statm; 0 elsewhere). */
static double rss_mib(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long size = 0, res = 0;

	if (!f)
		return 0;
	if (fscanf(f, "%ld %ld", &size, &res) != 2)
		res = 0;
	fclose(f);
	return (double)res * (double)sysconf(_SC_PAGESIZE) / (1024.0 * 1024.0);
}

/* This thread's CPU time: what the match costs, whatever else the
 * machine runs (wall time on a shared machine mostly measures waiting). */
static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double peak_mib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = 0;

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmHWM:", 6))
			kb = atol(line + 6);
	if (f)
		fclose(f);
	return (double)kb / 1024.0;
}

static int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The generated 1 M records (the same set test_matcher's bench used). */
static void synthetic_index(struct clr_vindex *ix)
{
	static const char *rel[] = { "10", "11", "12", "13", "" };
	char name[64], cve[64], fix[64];

	clr_vindex_begin(ix);
	for (int p = 0; p < 40000; p++) {
		snprintf(name, sizeof(name), "src%d", p);
		for (int c = 0; c < 5; c++) {
			snprintf(cve, sizeof(cve), "CVE-2024-%d", p * 5 + c);
			for (int r = 0; r < 5; r++) {
				struct clr_vuln v = {
					.name = cve, .updater = "debian",
					.description = "A long description "
						"shared by the releases of "
						"one issue.",
					.package_name = name,
					.package_kind = "source",
					.dist_did = "debian",
					.dist_version_id = rel[r],
					.dist_version_code_name =
						r == 4 ? "sid" : "",
					.version_scheme = "dpkg",
					.fixed_in_version = fix,
					.severity = "high",
					.normalized_severity = CLR_SEV_HIGH,
				};

				snprintf(fix, sizeof(fix), "1.%d-%d", c, r);
				clr_vindex_add(ix, &v);
			}
		}
	}
	clr_vindex_finish(ix);
}

/* 800 binaries, each of its own generated source, on Debian 12. */
static json_t *synthetic_report(void)
{
	json_t *pkgs = json_object(), *envs = json_object();
	char id[16], src[32];

	for (int i = 0; i < 800; i++) {
		snprintf(id, sizeof(id), "%d", i + 1);
		snprintf(src, sizeof(src), "src%d", i * 50);
		json_object_set_new(pkgs, id, json_pack(
			"{s:s, s:s, s:s, s:{s:s, s:s}}", "id", id,
			"name", "bin", "version", "1.2-1", "source",
			"name", src, "version", ""));
		json_object_set_new(envs, id, json_pack(
			"[{s:s, s:s, s:s, s:[]}]", "package_db",
			"var/lib/dpkg/status", "introduced_in", "sha256:00",
			"distribution_id", "1", "repository_ids"));
	}
	return json_pack("{s:s, s:s, s:b, s:s, s:o, s:{s:{s:s, s:s, s:s, "
			 "s:s}}, s:{}, s:o}",
			 "manifest_hash", "sha256:ab", "state", "IndexFinished",
			 "success", 1, "err", "", "packages", pkgs,
			 "distributions", "1", "id", "1", "did", "debian",
			 "version_id", "12", "version_code_name", "bookworm",
			 "repository", "environments", envs);
}

int main(int argc, char **argv)
{
	const char *db = NULL, *report = NULL, *dump = NULL;
	struct clr_vindex ix;
	struct clr_store *store = NULL;
	json_t *ir, *vr = NULL;
	json_error_t jerr;
	double t0, c0, rss0, *t, *cpu;
	int runs = 200, err;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--db") && i + 1 < argc)
			db = argv[++i];
		else if (!strcmp(argv[i], "--report") && i + 1 < argc)
			report = argv[++i];
		else if (!strcmp(argv[i], "--dump") && i + 1 < argc)
			dump = argv[++i];
		else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
			runs = atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: bench_match [--db DB --report "
				"IR.json] [--runs N] [--dump OUT.json]\n");
			return 2;
		}
	}
	if (runs < 1)
		runs = 1;
	if (!db != !report) {
		fprintf(stderr, "bench_match: --db and --report go together\n");
		return 2;
	}

	rss0 = rss_mib();
	t0 = now();
	if (db) {
		if ((err = clr_store_open(&store, db)) ||
		    (err = clr_vindex_build(&ix, store))) {
			fprintf(stderr, "bench_match: %s: %s\n", db,
				clr_error_msg());
			clr_store_close(store);
			return 1;
		}
		clr_store_close(store);
		if (!(ir = json_load_file(report, 0, &jerr))) {
			fprintf(stderr, "bench_match: %s: %s\n", report,
				jerr.text);
			clr_vindex_free(&ix);
			return 1;
		}
	} else {
		synthetic_index(&ix);
		ir = synthetic_report();
	}
	printf("  index: %zu records (%zu skipped, %zu duplicates) built in "
	       "%.2f s; resident +%.0f MiB (process %.0f MiB, peak %.0f MiB)\n",
	       ix.records, ix.skipped, ix.dropped_dups, now() - t0,
	       rss_mib() - rss0, rss_mib(), peak_mib());

	t = calloc((size_t)runs, sizeof(*t));
	cpu = calloc((size_t)runs, sizeof(*cpu));
	if (!t || !cpu)
		return 1;
	for (int i = 0; i < runs; i++) {
		if (vr)
			json_decref(vr);
		t0 = now();
		c0 = cpu_now();
		if (clr_match(&vr, &ix, ir)) {
			fprintf(stderr, "bench_match: %s\n", clr_error_msg());
			return 1;
		}
		cpu[i] = cpu_now() - c0;
		t[i] = now() - t0;
	}
	qsort(t, (size_t)runs, sizeof(*t), dbl_cmp);
	qsort(cpu, (size_t)runs, sizeof(*cpu), dbl_cmp);
	printf("  report: %zu packages, %zu vulnerabilities, %zu package "
	       "lists, %zu not covered\n",
	       json_object_size(json_object_get(ir, "packages")),
	       json_object_size(json_object_get(vr, "vulnerabilities")),
	       json_object_size(json_object_get(vr,
					       "package_vulnerabilities")),
	       json_array_size(json_object_get(vr, "not_covered")));
	printf("  match (%s, %d runs): wall p50 %.3f ms  p90 %.3f ms  max "
	       "%.3f ms; cpu p50 %.3f ms  p90 %.3f ms (target p50 <= 2 ms)\n",
	       db ? "store" : "generated 1 M", runs, t[runs / 2] * 1e3,
	       t[runs * 9 / 10] * 1e3, t[runs - 1] * 1e3, cpu[runs / 2] * 1e3,
	       cpu[runs * 9 / 10] * 1e3);
	printf("  after the matches: resident %.0f MiB (the shared report "
	       "cache holds ~%.1f MiB)\n", rss_mib(),
	       (double)ix.cache_bytes / (1024.0 * 1024.0));
	if (dump && json_dump_file(vr, dump, JSON_COMPACT)) {
		fprintf(stderr, "bench_match: cannot write %s\n", dump);
		return 1;
	}
	free(t);
	free(cpu);
	json_decref(vr);
	json_decref(ir);
	clr_vindex_free(&ix);
	return 0;
}
