"""test_vercmp_pep440.py - clarion's pep440 order against python3-packaging.

The reference is packaging.version.Version as installed for /usr/bin/python3
(Debian's python3-packaging 23.0); run with `/usr/bin/python3 -m pytest`.
Every pair goes through ONE `clarion vercmp --batch pep440` process, and
every answer must equal packaging's: '<', '=', '>' for two versions
packaging accepts, '! message' when it rejects either side.

The versions are the real PyPI strings of tests/fixtures/versions/pep440.txt
plus a few that the table in tests/data/version/pep440.txt cannot hold
(blanks around a version, numbers longer than a line of that file).
"""
import os
import random
import subprocess
from pathlib import Path

import pytest

from packaging.version import InvalidVersion, Version

TOP = Path(__file__).resolve().parents[2]
FIXTURE = TOP / "tests" / "fixtures" / "versions" / "pep440.txt"
SEED = 440
MIN_PAIRS = 10000


# --- helpers (candidates for tests/integration/conftest.py) ---------------

def clarion_bin():
    """The binary under test: $CLARION_BIN, else build/clarion; skips if absent."""
    path = Path(os.environ.get("CLARION_BIN", TOP / "build" / "clarion"))
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.skip(f"clarion binary not found at {path} (run make, or set CLARION_BIN)")
    return path


def vercmp_batch(scheme, pairs):
    """Answers of `clarion vercmp --batch SCHEME` for pairs, in one process.

    Returns (lines, exit status); each line is '<', '=', '>' or '! message'.
    """
    for a, b in pairs:
        for v in (a, b):
            # The batch format cannot carry these; a test asking for them is wrong.
            assert "\t" not in v and "\n" not in v and not v.endswith("\r"), repr(v)
    data = "".join(f"{a}\t{b}\n" for a, b in pairs).encode("utf-8")
    proc = subprocess.run([str(clarion_bin()), "vercmp", "--batch", scheme],
                          input=data, capture_output=True, timeout=300)
    assert b"runtime error" not in proc.stderr, proc.stderr[:2000]  # UBSan builds
    # Split on b"\n" only: str.splitlines() would also split at U+2028 etc.
    lines = proc.stdout.decode("utf-8", "replace").split("\n")
    assert lines[-1] == "", f"output does not end in a newline: {lines[-1]!r}"
    lines = lines[:-1]
    assert len(lines) == len(pairs), (
        f"{len(pairs)} pairs in, {len(lines)} lines out; stderr: {proc.stderr[:500]!r}")
    return lines, proc.returncode


def read_versions(path):
    """The fixture's version strings: one per line, '#' lines are comments."""
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line and not line.startswith("#"):
                out.append(line)
    return out


# --- the reference --------------------------------------------------------

def parse_ref(s):
    """packaging's Version for s, or None when it cannot build one.

    ValueError covers CPython's int() refusing more than 4300 digits, which
    Version() lets escape instead of raising InvalidVersion.
    """
    try:
        return Version(s)
    except (InvalidVersion, ValueError):
        return None


def expect(a, b):
    va, vb = parse_ref(a), parse_ref(b)
    if va is None or vb is None:
        return "!"
    return "<" if va < vb else "=" if va == vb else ">"


def check(pairs):
    """Runs pairs through clarion and reports every disagreement."""
    got, status = vercmp_batch("pep440", pairs)
    bad = []
    invalid = 0
    for (a, b), line in zip(pairs, got):
        want = expect(a, b)
        if want == "!":
            invalid += 1
            ok = line.startswith("! ") and len(line) > 2
        else:
            ok = line == want
        if not ok:
            bad.append(f"{a!r} vs {b!r}: packaging {want!r}, clarion {line!r}")
    assert not bad, (f"{len(bad)} of {len(pairs)} pairs disagree:\n  "
                     + "\n  ".join(bad[:30]))
    assert status == (2 if invalid else 0), f"exit status {status}, {invalid} invalid lines"
    return invalid


# --- tests ----------------------------------------------------------------

def fixture_pairs():
    """Pairs drawn deterministically from the fixture.

    Neighbours in packaging's order are where a comparator is most likely to
    be wrong (1.0 vs 1.0.post0.dev0, 2.0rc1 vs 2.0), so every valid version
    meets the next one and the one after, and itself; MIN_PAIRS random
    pairs, invalid strings included, cover the rest.
    """
    versions = read_versions(FIXTURE)
    rng = random.Random(SEED)
    valid = sorted((v for v in versions if parse_ref(v) is not None),
                   key=lambda v: (parse_ref(v), v))
    pairs = []
    for step in (1, 2):
        for i in range(len(valid) - step):
            a, b = valid[i], valid[i + step]
            pairs.append((a, b) if rng.random() < 0.5 else (b, a))
    for v in versions:
        pairs.append((v, v))
    for _ in range(MIN_PAIRS):
        pairs.append((rng.choice(versions), rng.choice(versions)))
    return versions, pairs


def test_fixture_is_sane():
    versions = read_versions(FIXTURE)
    assert 1000 <= len(versions) <= 6000
    assert len(set(versions)) == len(versions)
    rejected = [v for v in versions if parse_ref(v) is None]
    assert rejected, "the fixture should hold strings packaging rejects"


def test_pep440_pairs_match_packaging():
    versions, pairs = fixture_pairs()
    assert len(pairs) >= MIN_PAIRS
    invalid = check(pairs)
    # The rejected strings were really exercised, not only the valid ones.
    assert invalid > 0


def test_pep440_rejects_what_packaging_rejects():
    versions = read_versions(FIXTURE)
    rejected = [v for v in versions if parse_ref(v) is None]
    pairs = [(v, "1.0") for v in rejected] + [("1.0", v) for v in rejected]
    got, status = vercmp_batch("pep440", pairs)
    assert status == 2
    wrong = [p for p, line in zip(pairs, got) if not line.startswith("! ")]
    assert not wrong, f"clarion accepted what packaging rejects: {wrong[:20]}"


# Strings the table file cannot hold, each compared with its neighbours.
BLANKS = ["1.0", " 1.0", "1.0 ", "\x0b1.0\x0b", "\x0c1.0\x0c",
          "\x1c1.0\x1f", "\u00a01.0", "1.0\u00a0", "\u30001.0\u3000", "\u20281.0\u2029",
          "\u0085v1.0\u0085", "\u16801.0\u202f", "\u2000\u200a1.0\u205f",
          " 1.0 \u00a0", "1.0\u200b", "\u200b1.0", "\u180e1.0", "1.0 +abc", "1 .0",
          "1.0 a1", " ", "\u00a0", "  1!2.0rc1.post2.dev3+Ab.4  "]
DIGITS = ["1" * 4300, "1" * 4299, "1" * 4301, "0" * 4300, "0" * 4301, "0" * 4300 + "1",
          "1." + "0" * 4300, "1." + "0" * 4301, "1!" + "9" * 4300, "9" * 4301 + "!1",
          "1.0a" + "7" * 4300, "1.0a" + "7" * 4301, "1.0-" + "3" * 4301,
          "1.0.post" + "3" * 4300, "1.0.dev" + "3" * 4301, "1.0+" + "5" * 4300,
          "1.0+" + "5" * 4301, "1.0+" + "5" * 4301 + "x", "1.0+x." + "5" * 4301,
          "1.0+" + "5" * 4299 + "6"]


@pytest.mark.parametrize("name,group", [("blanks", BLANKS), ("digits", DIGITS)])
def test_pep440_corner_strings(name, group):
    pairs = [(a, b) for a in group for b in group]
    pairs += [(v, "1.0") for v in group] + [("2.0+x", v) for v in group]
    check(pairs)
