"""Running the clarion binary the way the integration tests all need to:
an environment with nothing of the machine's, the test PostgreSQL
(scripts/test-postgres) and databases of a test's own in it, and
`clarion update` with a configuration file.

    env = clean_env(tmp_path / "home")
    p = update(clarion, db, {"updaters": {...}}, tmp_path, env)
    assert p.returncode == 0, p.stdout + p.stderr

The `fresh_pg` and `db` fixtures built on these live in conftest.py.
"""
import json
import os
import re
import shutil
import urllib.parse
import uuid

import pytest

from conftest import run

# What a developer's shell may set that would make a test read the
# developer's files instead of the test's own: credentials, CA bundles,
# databases, caches.
MACHINE_VARS = ("CLARION_DB", "XDG_CACHE_HOME", "REGISTRY_AUTH_FILE",
                "DOCKER_CONFIG", "CLARION_CA_FILE")


def clean_env(home, drop=()):
    """os.environ without MACHINE_VARS, the names in `drop` or any proxy
    (the tests talk to 127.0.0.1 only), and HOME an empty directory of the
    test's own (made here)."""
    gone = set(MACHINE_VARS) | set(drop)
    e = {k: v for k, v in os.environ.items()
         if k not in gone and not k.lower().endswith("_proxy")}
    os.makedirs(home, exist_ok=True)
    e["HOME"] = str(home)
    e["NO_PROXY"] = e["no_proxy"] = "*"
    return e


# ---- PostgreSQL ----------------------------------------------------------------

def pg_url():
    """The test cluster's URL; skips the test when there is none, and fails
    it when the run said PostgreSQL must be there."""
    url = os.environ.get("CLARION_TEST_PG")
    if not url:
        if os.environ.get("CLARION_REQUIRE_PG") == "1":
            pytest.fail("CLARION_REQUIRE_PG=1 but CLARION_TEST_PG is not set "
                        "(run under scripts/test-postgres run --)")
        pytest.skip("no PostgreSQL (CLARION_TEST_PG unset; see scripts/test-postgres)")
    return url


def psql(url, sql):
    """Runs one statement with psql, failing the test if it fails; its output."""
    if not shutil.which("psql"):
        pytest.fail("psql (postgresql-client) is needed to make the test databases")
    p = run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qAtc", sql], timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout


def with_dbname(url, name):
    """url naming database `name` instead."""
    u = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + name, u.query, u.fragment))


class FreshDatabases:
    """Makes empty databases in the test cluster, named PREFIX_<random>
    (so a leftover one says which tests made it), and drops them all at
    drop_all().  An empty database each, not the shared one: a server or
    an update operation must see only what its own test wrote."""

    def __init__(self, prefix):
        self.prefix = prefix
        self.made = []

    def __call__(self):
        url = pg_url()
        name = "%s_%s" % (self.prefix, uuid.uuid4().hex[:16])
        psql(url, "CREATE DATABASE %s" % name)
        self.made.append((url, name))
        return with_dbname(url, name)

    def drop_all(self):
        for url, name in self.made:
            psql(url, "DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)
        self.made = []


# ---- clarion update ------------------------------------------------------------

def write_config(directory, cfg, name=None):
    """Writes a configuration file into `directory` and returns its path:
    cfg as text when it is a str (YAML, as a user writes it), else as
    JSON (which clarion's YAML reader takes).  Without a name, a new one
    each call, so that a test can keep several."""
    name = name or "config-%s.%s" % (uuid.uuid4().hex[:8],
                                      "yaml" if isinstance(cfg, str) else "json")
    path = os.path.join(str(directory), name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(cfg if isinstance(cfg, str) else json.dumps(cfg))
    return path


def update(clarion, db, cfg, directory, env, *args, timeout=120):
    """`clarion update --config FILE --db DB ARGS...` with cfg written
    to a new file in `directory` (see write_config); the CompletedProcess,
    for the caller to judge."""
    path = write_config(directory, cfg)
    return run([clarion, "update", "--config", path, "--db", str(db)]
               + [str(a) for a in args], env=env, timeout=timeout)


def report_lines(p):
    """`clarion update`'s report on stdout as {updater: [the line's other words]}."""
    return {l.split()[0]: l.split()[1:] for l in p.stdout.splitlines() if l.strip()}


def clarion_run(clarion, env, *args, timeout=120):
    """`clarion ARGS...` with env; the completed process."""
    return run([clarion] + [str(a) for a in args], env=env, timeout=timeout)


def update_report(p):
    """{name: (outcome, count, rest)} of `clarion update`'s report lines,
    checking each line's shape: NAME OUTCOME COUNT vulnerabilities SECONDSs."""
    out = {}
    for line in p.stdout.splitlines():
        parts = line.split()
        assert len(parts) >= 5, line
        name, outcome, count, word, secs = parts[:5]
        assert outcome in ("updated", "unchanged", "failed", "skipped"), line
        assert word == "vulnerabilities", line
        assert re.fullmatch(r"\d+\.\d\ds", secs), line
        assert name not in out, line
        out[name] = (outcome, int(count), " ".join(parts[5:]))
    return out


def update_status(clarion, env, db, *args):
    """{updater: {attempt, success, records, error}} of `clarion update --status`."""
    p = clarion_run(clarion, env, "update", "--db", db, "--status", *args)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].split() == ["UPDATER", "LAST", "ATTEMPT", "LAST", "SUCCESS",
                                "RECORDS", "LAST", "ERROR"], lines[0]
    out = {}
    for line in lines[1:]:
        # Dates have no spaces; the error (last column) may.
        name, attempt, success, records, error = line.split(None, 4)
        out[name] = {"attempt": attempt, "success": success,
                     "records": int(records), "error": error}
    return out
