"""Shared fixtures for clarion's integration tests.

The tests drive the real binary (CLARION_BIN, default build/clarion) as a
user would; `make check` sets the variables below.
"""
import os
import random
import subprocess

import pytest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(TOP, "tests", "fixtures")


def clarion_path():
    return os.environ.get("CLARION_BIN", os.path.join(TOP, "build", "clarion"))


@pytest.fixture(scope="session")
def clarion():
    path = clarion_path()
    if not os.access(path, os.X_OK):
        pytest.fail("clarion binary not found at %s (run make first)" % path)
    return path


@pytest.fixture
def fresh_pg(request):
    """Makes empty PostgreSQL databases for this test, dropped after it
    (harness/clarion.py FreshDatabases); skips without PostgreSQL."""
    from harness.clarion import FreshDatabases
    made = FreshDatabases("clarion_" + request.module.__name__.replace("test_", "", 1))
    yield made
    made.drop_all()


@pytest.fixture(params=["sqlite", "postgres"])
def db(request, tmp_path, fresh_pg):
    """A new SQLite file, or a new database in the test PostgreSQL cluster.
    (test_update.py and test_index.py use the shared database instead and
    say why; test_update_sources.py makes its fresh ones from a template.)"""
    if request.param == "sqlite":
        return str(tmp_path / "clarion.db")
    return fresh_pg()


def run(args, **kw):
    """Runs a command, returning the CompletedProcess with text output."""
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 120)
    return subprocess.run(args, **kw)


def vercmp_batch(clarion_bin, scheme, pairs):
    """Asks `clarion vercmp --batch` about every pair; returns its lines."""
    data = "".join("%s\t%s\n" % p for p in pairs)
    proc = run([clarion_bin, "vercmp", "--batch", scheme], input=data)
    lines = proc.stdout.splitlines()
    assert len(lines) == len(pairs), proc.stderr
    return lines


def load_versions(name):
    """(package, version) pairs from tests/fixtures/versions/NAME.txt."""
    out = []
    with open(os.path.join(FIXTURES, "versions", name + ".txt"), encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            pkg, _, ver = line.partition("\t")
            out.append((pkg, ver))
    return out


def make_pairs(versions, seed, n_random=6000, n_same=6000):
    """Deterministic pairs: random ones, plus pairs within one package
    (the comparisons the matcher actually makes: installed vs fixed)."""
    rnd = random.Random(seed)
    vers = [v for _, v in versions]
    pairs = [(rnd.choice(vers), rnd.choice(vers)) for _ in range(n_random)]
    by_pkg = {}
    for pkg, ver in versions:
        by_pkg.setdefault(pkg, []).append(ver)
    groups = [g for g in by_pkg.values() if len(g) > 1]
    for _ in range(n_same):
        g = rnd.choice(groups)
        pairs.append((rnd.choice(g), rnd.choice(g)))
    # Each version against itself and a few hand-made neighbours.
    for v in vers[:: max(1, len(vers) // 500)]:
        pairs.append((v, v))
    return pairs
