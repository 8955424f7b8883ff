#!/usr/bin/python3
"""Regenerates tests/data/version/{dpkg,rpm}.txt: hand-picked corner cases,
every answer taken from the reference implementation.

    make build/ref/dpkg-ref && /usr/bin/python3 tests/ref/make-version-cases.py

dpkg answers come from libdpkg (build/ref/dpkg-ref), rpm answers from
librpm's rpmverCmp (python3-rpm's rpm.ver).  Developer tool, not run by
`make check`; the data files it writes are.
"""
import itertools
import os
import random
import subprocess

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

DPKG = """0 1 1.0 1.0.0 1.00 1.0a 1.0+ 1.0~ 1.0~~ 1.0~rc1 1.0~rc1~ 1.0~rc2 1.0-1
1.0-1.1 1.0-2 1.0-10 1.0-1~bpo1 1.0-1+b1 1.0-1+deb12u1 1.0-1+deb11u1 1.0-0
1:0.9 1:1.0 2:0 0:1.0 10:0.1 1.0+dfsg-1 1.0+dfsg1-1 1.0.dfsg-1 1.2.3.4
1.2.3.4.5 9 10 010 1.a 1.A 1.Z 1.z 1.- 1.+ 1.. 1.~ a1 A1 1:1.0-1ubuntu1
1:1.0-1ubuntu1.1 2.36-9+deb12u4 2.36-9+deb12u10 3.0.11-1~deb12u2 3.0.11-1
1.2.13.dfsg-1 252.22-1~deb12u1 252.30-1~deb12u2 7.88.1-10+deb12u5
7.88.1-10+deb12u14 1.21.22 1.21.23 4.14.5+94-ge49571868d-1 1.0-1-1
1.0-a 1.0-A 1.0-~ 1.0-1~ 99999999999999999999 100000000000000000000
1:99999999999999999999 0.0 0.0.0.0 1.0+b1 1.0+b10 1.0+b2""".split()

DPKG_BAD = ["1:", ":1", "a:1", "-1:1.0", "1.0-", "1 0", "1:-1", "99999999999:1",
            "1.0 -1", "", " ", "1: 0", "1:2:3-", "2147483648:1"]

RPM = """0 1 1.0 1.0.0 1.00 1.01 1.1 1.0a 1.0a1 1.0b 1.0~rc1 1.0~rc2 1.0~ 1.0~~
1.0^ 1.0^git1 1.0^git2 1.0^git1~pre 1.0.1 1.0-1 1.0-1.el8 1.0-1.el8_1 1.0-1.el9
1.0-2.el8 1.0-10.el8 1:1.0 0:1.0 2:0.1 1:1.0-1 1.0_1 1_0 1..0 1.0. .1.0 a b
A Z z 1a a1 2.0.1 2.0.1a 2.0.1-xyz 2.28-225.el8_8.6 2.28-225.el8_8.11
2.28-236.el8 3.6.8-51.el8_8.2 4.18.0-477.10.1.el8_8 4.18.0-477.27.1.el8_8
5.14.0-362.8.1.el9_3 1.0+git 1.0+1 99999999999999999999 100000000000000000000
a:1.0 1:a 01:1.0 1.0-1-1 1.0-a 1.0-~ 1.0-^""".split()

RPM_BAD = [""]


def pairs_of(vers, seed, extra):
    rnd = random.Random(seed)
    all_pairs = list(itertools.combinations(vers, 2))
    rnd.shuffle(all_pairs)
    return all_pairs[:extra]


def dpkg_answers(pairs):
    ref = os.path.join(TOP, "build", "ref", "dpkg-ref")
    data = "".join("%s\t%s\n" % p for p in pairs)
    return subprocess.run([ref], input=data, capture_output=True, text=True,
                          check=True).stdout.splitlines()


def rpm_answers(pairs):
    import rpm
    out = []
    for a, b in pairs:
        va, vb = rpm.ver(a), rpm.ver(b)
        out.append("<" if va < vb else ">" if va > vb else "=")
    return out


def write(name, header, pairs, answers, bad):
    path = os.path.join(TOP, "tests", "data", "version", name + ".txt")
    with open(path, "w", encoding="utf-8") as f:
        for h in header:
            f.write("# %s\n" % h)
        for (a, b), ans in zip(pairs, answers):
            f.write("%s %s %s\n" % (a, ans, b))
        f.write("\n# Rejected: the reference refuses these.\n")
        for v in bad:
            if v.strip() and " " not in v:
                f.write("! %s\n" % v)


def main():
    pairs = pairs_of(DPKG, 1, 420)
    answers = dpkg_answers(pairs)
    keep = [(p, a) for p, a in zip(pairs, answers) if not a.startswith("!")]
    bad_checked = []
    for v in DPKG_BAD:
        if dpkg_answers([(v, "1")])[0].startswith("!") and v.strip() and " " not in v:
            bad_checked.append(v)
    write("dpkg", ["dpkg version ordering, every answer from libdpkg's",
                   "dpkg_version_compare() and parseversion() (dpkg 1.21.23),",
                   "written by tests/ref/make-version-cases.py."],
          [p for p, _ in keep], [a for _, a in keep], bad_checked)

    pairs = pairs_of(RPM, 2, 420)
    write("rpm", ["rpm EVR ordering, every answer from librpm's rpmverCmp()",
                  "(python3-rpm 4.18.0 rpm.ver), written by",
                  "tests/ref/make-version-cases.py."],
          pairs, rpm_answers(pairs), [])


if __name__ == "__main__":
    main()
