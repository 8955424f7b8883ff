/*
 * bench_vercmp.c - clarion's dpkg and rpm comparators beside the references.
 *
 * Loads real versions (tests/fixtures/versions/{dpkg,rpm}.txt), draws a
 * million deterministic pairs, parses every version once with clarion and
 * with the reference (libdpkg's parseversion, librpm's rpmverParse), then
 * times the comparisons the matcher makes: parsed against parsed.  It also
 * checks that every answer agrees and prints the ratio of speeds.  A
 * benchmark prints; it never fails the build (exit 1 only on disagreement,
 * which is a bug, not a slow run).
 *
 *     build/bench/bench_vercmp [PAIRS]
 */
#define LIBDPKG_VOLATILE_API 1
#include <dpkg/dpkg.h>
#include <dpkg/dpkg-db.h>
#include <dpkg/version.h>
#include <rpm/rpmver.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "version/version.h"

#define MAXV 65536

static char *vers[MAXV];
static int nvers;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng = 88172645463325252ull;

static uint32_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

static void load(const char *path)
{
	char line[1024];
	FILE *f = fopen(path, "r");

	nvers = 0;
	if (!f) {
		perror(path);
		exit(2);
	}
	while (fgets(line, sizeof(line), f) && nvers < MAXV) {
		char *tab = strchr(line, '\t');

		if (line[0] == '#' || !tab)
			continue;
		tab[strcspn(tab, "\r\n")] = '\0';
		vers[nvers++] = strdup(tab + 1);
	}
	fclose(f);
}

static int sign(int c)
{
	return (c > 0) - (c < 0);
}

static int bench_dpkg(long npairs)
{
	struct clr_version **ours = calloc((size_t)nvers, sizeof(*ours));
	struct dpkg_version *theirs = calloc((size_t)nvers, sizeof(*theirs));
	uint32_t *pairs = malloc(sizeof(uint32_t) * 2 * (size_t)npairs);
	long bad = 0, i;
	volatile long sink = 0;
	double t0, t_ours, t_ref;

	for (i = 0; i < nvers; i++) {
		struct dpkg_error err = DPKG_ERROR_INIT;

		if (clr_version_parse(&ours[i], CLR_VS_DPKG, vers[i]))
			return fprintf(stderr, "cannot parse %s\n", vers[i]), 1;
		parseversion(&theirs[i], vers[i], &err);
		dpkg_error_destroy(&err);
	}
	for (i = 0; i < 2 * npairs; i++)
		pairs[i] = next() % (uint32_t)nvers;

	t0 = now();
	for (i = 0; i < npairs; i++)
		sink += clr_version_cmp(ours[pairs[2 * i]], ours[pairs[2 * i + 1]]);
	t_ours = now() - t0;
	t0 = now();
	for (i = 0; i < npairs; i++)
		sink += dpkg_version_compare(&theirs[pairs[2 * i]], &theirs[pairs[2 * i + 1]]);
	t_ref = now() - t0;
	for (i = 0; i < npairs; i++) {
		uint32_t a = pairs[2 * i], b = pairs[2 * i + 1];

		if (sign(clr_version_cmp(ours[a], ours[b])) !=
		    sign(dpkg_version_compare(&theirs[a], &theirs[b])))
			bad++;
	}
	printf("dpkg  %ld pairs of %d real versions: clarion %.1f M cmp/s, "
	       "libdpkg %.1f M cmp/s, ratio %.2fx, disagreements %ld\n",
	       npairs, nvers, npairs / t_ours / 1e6, npairs / t_ref / 1e6,
	       t_ref / t_ours, bad);
	return bad != 0;
}

static int bench_rpm(long npairs)
{
	struct clr_version **ours = calloc((size_t)nvers, sizeof(*ours));
	rpmver *theirs = calloc((size_t)nvers, sizeof(*theirs));
	uint32_t *pairs = malloc(sizeof(uint32_t) * 2 * (size_t)npairs);
	long bad = 0, i;
	volatile long sink = 0;
	double t0, t_ours, t_ref;

	for (i = 0; i < nvers; i++) {
		if (clr_version_parse(&ours[i], CLR_VS_RPM, vers[i]))
			return fprintf(stderr, "cannot parse %s\n", vers[i]), 1;
		theirs[i] = rpmverParse(vers[i]);
	}
	for (i = 0; i < 2 * npairs; i++)
		pairs[i] = next() % (uint32_t)nvers;

	t0 = now();
	for (i = 0; i < npairs; i++)
		sink += clr_version_cmp(ours[pairs[2 * i]], ours[pairs[2 * i + 1]]);
	t_ours = now() - t0;
	t0 = now();
	for (i = 0; i < npairs; i++)
		sink += rpmverCmp(theirs[pairs[2 * i]], theirs[pairs[2 * i + 1]]);
	t_ref = now() - t0;
	for (i = 0; i < npairs; i++) {
		uint32_t a = pairs[2 * i], b = pairs[2 * i + 1];

		if (sign(clr_version_cmp(ours[a], ours[b])) !=
		    sign(rpmverCmp(theirs[a], theirs[b])))
			bad++;
	}
	printf("rpm   %ld pairs of %d real versions: clarion %.1f M cmp/s, "
	       "librpm %.1f M cmp/s, ratio %.2fx, disagreements %ld\n",
	       npairs, nvers, npairs / t_ours / 1e6, npairs / t_ref / 1e6,
	       t_ref / t_ours, bad);
	return bad != 0;
}

int main(int argc, char **argv)
{
	long npairs = argc > 1 ? atol(argv[1]) : 2000000;
	int bad = 0;

	load("tests/fixtures/versions/dpkg.txt");
	bad |= bench_dpkg(npairs);
	load("tests/fixtures/versions/rpm.txt");
	bad |= bench_rpm(npairs);
	return bad;
}
