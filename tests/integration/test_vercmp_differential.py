"""clarion's dpkg and rpm comparators against the reference implementations.

Real versions (tests/fixtures/versions: a Debian 12 dpkg status, the Debian
DSA/DLA lists, AlmaLinux's OSV data) are paired deterministically and every
pair is put to clarion and to the reference: libdpkg's dpkg_version_compare
(through tests/ref/dpkg-ref.c) and librpm's rpmverCmp (through python3-rpm's
rpm.ver).  The answers must agree on every pair.
"""
import os

import pytest

from conftest import load_versions, make_pairs, run, vercmp_batch

MIN_PAIRS = 10000


def disagreements(pairs, ours, theirs):
    bad = [(a, b, o, t) for (a, b), o, t in zip(pairs, ours, theirs) if o != t]
    return ["%s vs %s: clarion %s, reference %s" % x for x in bad[:20]]


def test_dpkg_agrees_with_libdpkg(clarion):
    ref = os.path.join(os.environ.get("CLARION_REF_DIR", "build/ref"), "dpkg-ref")
    if not os.access(ref, os.X_OK):
        pytest.fail("dpkg reference helper %s missing (make build/ref/dpkg-ref)" % ref)
    pairs = make_pairs(load_versions("dpkg"), seed=1)
    # Versions the matcher never sees but dpkg has rules for.
    pairs += [("1.0~rc1", "1.0"), ("1:1.0", "2.0"), ("1.0-1", "1.0-1.1"),
              ("1.0+b1", "1.0"), ("0:1.0", "1.0"), ("1.0", "1.0-0"),
              ("1.0a", "1.0+"), ("1.0~~", "1.0~"), ("00001.0", "1.0"),
              ("1.0-1~bpo1", "1.0-1"), ("2:0", "1:99999999999999999999")]
    assert len(pairs) >= MIN_PAIRS
    ours = vercmp_batch(clarion, "dpkg", pairs)
    data = "".join("%s\t%s\n" % p for p in pairs)
    theirs = run([ref], input=data).stdout.splitlines()
    assert len(theirs) == len(pairs)
    assert not any(line.startswith("!") for line in theirs)
    assert disagreements(pairs, ours, theirs) == []


def test_rpm_agrees_with_librpm(clarion):
    rpm = pytest.importorskip("rpm")
    pairs = make_pairs(load_versions("rpm"), seed=2)
    pairs += [("1.0~rc1", "1.0"), ("1.0^git1", "1.0"), ("1.0^git1", "1.0.1"),
              ("1.0", "1.0-1"), ("1:1.0", "0:2.0"), ("1.0a", "1.0"),
              ("1.0", "1_0"), ("1.01", "1.1"), ("2.0.1", "2.0.1a"),
              ("1.0~~", "1.0~"), ("1.0^", "1.0"), ("a:1.0", "1.0")]
    assert len(pairs) >= MIN_PAIRS
    ours = vercmp_batch(clarion, "rpm", pairs)

    def ref(a, b):
        va, vb = rpm.ver(a), rpm.ver(b)
        return "<" if va < vb else ">" if va > vb else "="

    theirs = [ref(a, b) for a, b in pairs]
    assert disagreements(pairs, ours, theirs) == []


def test_dpkg_rejects_what_libdpkg_rejects(clarion):
    ref = os.path.join(os.environ.get("CLARION_REF_DIR", "build/ref"), "dpkg-ref")
    bad = ["1:", ":1", "a:1", "-1:1.0", "1.0-", "1 0", "1:-1",
           "99999999999:1", "1.0 -1"]
    for v in bad:
        theirs = run([ref], input="%s\t1.0\n" % v).stdout
        assert theirs.startswith("!"), v
        p = run([clarion, "vercmp", "dpkg", v, "1.0"])
        assert p.returncode == 2, v
        assert "invalid dpkg version" in p.stderr
