#!/usr/bin/python3
"""PEP 440: clarion against python3-packaging on a million real pairs.

Pairs are drawn deterministically from tests/fixtures/versions/pep440.txt
(real PyPI versions), or from every version in ../shared/data's PyPA
advisory database when it is beside the checkout.  Prints the agreement and
the speed of both; exits 1 only on a disagreement.

    bench/pep440_agreement.py build/clarion [PAIRS]
"""
import os
import random
import subprocess
import sys
import time

from packaging.version import InvalidVersion, Version

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load():
    path = os.path.join(TOP, "tests", "fixtures", "versions", "pep440.txt")
    with open(path, encoding="utf-8") as f:
        return [l.rstrip("\n") for l in f if l.strip() and not l.startswith("#")]


def main():
    clarion = sys.argv[1] if len(sys.argv) > 1 else os.path.join(TOP, "build", "clarion")
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000000
    versions = load()
    parsed = {}
    for v in versions:
        try:
            parsed[v] = Version(v)
        except (InvalidVersion, ValueError):
            pass
    valid = sorted(parsed)
    rnd = random.Random(1)
    pairs = [(rnd.choice(valid), rnd.choice(valid)) for _ in range(n)]
    data = "".join("%s\t%s\n" % p for p in pairs)

    t0 = time.perf_counter()
    out = subprocess.run([clarion, "vercmp", "--batch", "pep440"], input=data,
                         capture_output=True, text=True).stdout.splitlines()
    t_ours = time.perf_counter() - t0

    t0 = time.perf_counter()
    theirs = []
    for a, b in pairs:
        va, vb = parsed[a], parsed[b]
        theirs.append("<" if va < vb else ">" if va > vb else "=")
    t_ref = time.perf_counter() - t0

    bad = sum(1 for o, t in zip(out, theirs) if o != t) + abs(len(out) - len(theirs))
    print("pep440 %d pairs of %d real versions: clarion (one process, parse+compare, "
          "I/O included) %.2f s, packaging (pre-parsed, compare only) %.2f s, "
          "disagreements %d" % (n, len(valid), t_ours, t_ref, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
