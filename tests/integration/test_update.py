"""`clarion update` and `clarion db export|import` as a user meets them.

The framework-level behaviour (exit codes, the report lines, --status,
configuration errors, offline bundles) is checked here with a real source,
Debian's (one document, the tracker JSON, updater name "debian"), served
from tests/fixtures/feeds/debian by harness/feeds.py on 127.0.0.1 and
configured with updaters.config.debian.url, into SQLite and, when
CLARION_TEST_PG is set (scripts/test-postgres), PostgreSQL.

Each test makes the feed its own by adding a package with a unique name to
the tracker document: the PostgreSQL database is shared by the whole run,
and an updater whose bytes did not change would (rightly) say "unchanged".

Per-source behaviour (what the records say) is for the sources' own tests.
"""
import json
import os
import subprocess
import uuid

import pytest

from conftest import FIXTURES, run
from harness.clarion import (clarion_run, clean_env, pg_url, write_config,
                             update_report as report, update_status as status)
from harness.feeds import FeedServer, feed_server  # noqa: F401

TRACKER = os.path.join(FIXTURES, "feeds", "debian", "tracker-json-sample.json")
SOURCES = ("debian", "ubuntu", "alpine", "rhel", "oracle", "suse", "photon",
           "alma", "rocky")


@pytest.fixture(scope="module", autouse=True)
def have_update(clarion):
    """The lead enables these tests once `clarion update` links."""
    p = run([clarion, "update", "--help"])
    if p.returncode != 0:
        pytest.skip("clarion update is not available in this build")


@pytest.fixture
def env(tmp_path):
    """Nothing of the machine's: an empty HOME, no proxies, no database or
    cache settings."""
    return clean_env(tmp_path / "home")


@pytest.fixture(params=["sqlite", "postgres"])
def db(request, tmp_path):
    """A fresh SQLite file, or the shared PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "clarion.db")
    return pg_url()


def stderr_lines(p):
    """stderr without the store's note about creating a new database."""
    return [line for line in p.stderr.splitlines()
            if not line.startswith("clarion: info: ")]


# ---- the feed and the configuration ---------------------------------------

def tracker_doc(extra=1):
    """The tracker sample plus `extra` open issues in a package of this
    test's own."""
    if not os.path.exists(TRACKER):
        pytest.skip("no Debian tracker fixture at %s" % TRACKER)
    with open(TRACKER, encoding="utf-8") as f:
        doc = json.load(f)
    pkg = "clarion-test-%s" % uuid.uuid4().hex[:12]
    doc[pkg] = {
        "CVE-2099-%04d" % i: {
            "description": "a test issue %d" % i,
            "scope": "local",
            "releases": {
                "bookworm": {
                    "status": "open",
                    "repositories": {"bookworm": "1.0-1"},
                    "urgency": "low",
                },
            },
        }
        for i in range(extra)
    }
    return json.dumps(doc, indent=1).encode()


def debian_config(tmp_path, fs, extra=""):
    return write_config(tmp_path,
                        "updaters:\n"
                        "  sets: [debian]\n"
                        "  config:\n"
                        "    debian:\n"
                        "      url: %s\n" % fs.url("debian/json") + extra)


def need_debian(clarion, env, tmp_path):
    p = clarion_run(clarion, env, "update", "--db", tmp_path / "probe.db",
                    "--source", "debian", "--status")
    if p.returncode != 0:
        pytest.skip("the debian source is not in this build: " + p.stderr)


# ---- reading the output ----------------------------------------------------


# ---- usage -------------------------------------------------------------------

def test_help(clarion, env):
    p = clarion_run(clarion, env, "update", "--help")
    assert p.returncode == 0
    assert p.stdout.startswith("usage: clarion update")
    p = clarion_run(clarion, env, "db", "--help")
    assert p.returncode == 0
    assert p.stdout.startswith("usage: clarion db export")
    p = clarion_run(clarion, env, "db", "export", "--help")
    assert p.returncode == 0
    p = clarion_run(clarion, env, "--help")
    assert "\n  update " in p.stdout and "\n  db " in p.stdout


@pytest.mark.parametrize("args,why", [
    (["update", "--frob"], "unknown or incomplete option '--frob'"),
    (["update", "--source"], "unknown or incomplete option"),
    (["update", "extra"], "unexpected argument 'extra'"),
    (["db"], "expected export or import"),
    (["db", "frob", "x"], "unknown subcommand 'frob'"),
    (["db", "export"], "expected one FILE"),
    (["db", "import", "a", "b"], "expected one FILE"),
    (["db", "import", "--source", "debian", "x"], "--source is for export"),
])
def test_usage_errors(clarion, env, args, why):
    p = clarion_run(clarion, env, *args)
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert why in p.stderr
    assert p.stdout == ""


def test_unknown_source_lists_sources(clarion, env, tmp_path):
    db_path = tmp_path / "x.db"
    for cmd in (["update"], ["db", "export"]):
        args = cmd + ["--db", db_path, "--source", "debain"]
        if cmd[0] == "db":
            args.append(tmp_path / "out.zst")
        p = clarion_run(clarion, env, *args)
        assert p.returncode == 2
        assert "unknown source 'debain'" in p.stderr
        for s in SOURCES:
            assert s in p.stderr
    # Nothing was created for a usage error.
    assert not db_path.exists()


def test_config_errors(clarion, env, tmp_path):
    cfg = write_config(tmp_path, "matcher:\n  perod: 6h\n")
    p = clarion_run(clarion, env, "update", "--config", cfg, "--db", tmp_path / "x.db")
    assert p.returncode == 2
    assert "unknown key 'matcher.perod' in %s (line 2)" % cfg in p.stderr
    cfg = write_config(tmp_path, "matcher:\n  update_retention: ten\n")
    p = clarion_run(clarion, env, "update", "--config", cfg, "--db", tmp_path / "x.db")
    assert p.returncode == 2
    assert "'matcher.update_retention'" in p.stderr and "integer" in p.stderr
    p = clarion_run(clarion, env, "update", "--config", tmp_path / "missing.yaml")
    assert p.returncode == 2
    assert "missing.yaml" in p.stderr


def test_status_of_an_empty_database(clarion, env, tmp_path):
    assert status(clarion, env, str(tmp_path / "empty.db")) == {}


def test_nothing_configured(clarion, env, tmp_path):
    cfg = write_config(tmp_path, "updaters:\n  sets: []\n")
    p = clarion_run(clarion, env, "update", "--config", cfg, "--db", tmp_path / "x.db")
    assert p.returncode == 0, p.stderr
    assert p.stdout == ""
    assert "no updaters to run" in p.stderr
    cfg = write_config(tmp_path, "matcher:\n  disable_updaters: true\n")
    p = clarion_run(clarion, env, "update", "--config", cfg, "--db", tmp_path / "x.db")
    assert p.returncode == 0
    assert "disable_updaters" in p.stderr


def test_db_from_config_and_override(clarion, env, tmp_path):
    in_cfg, on_cli = tmp_path / "from-config.db", tmp_path / "from-cli.db"
    cfg = write_config(tmp_path, "database: %s\nupdaters:\n  sets: []\n" % in_cfg)
    assert clarion_run(clarion, env, "update", "--config", cfg).returncode == 0
    assert in_cfg.exists()
    assert clarion_run(clarion, env, "update", "--config", cfg, "--db",
                       on_cli).returncode == 0
    assert on_cli.exists()


# ---- updating ----------------------------------------------------------------

def test_update_then_unchanged(clarion, env, tmp_path, db, feed_server):
    need_debian(clarion, env, tmp_path)
    feed_server.put("debian/json", tracker_doc(extra=2))
    cfg = debian_config(tmp_path, feed_server)

    p = clarion_run(clarion, env, "update", "--config", cfg, "--db", db)
    assert p.returncode == 0, p.stderr
    r = report(p)
    assert list(r) == ["debian"]
    outcome, count, _ = r["debian"]
    assert outcome == "updated"
    assert count >= 2
    st = status(clarion, env, db, "--source", "debian")["debian"]
    assert st["records"] == count
    assert st["error"] == "-"
    assert st["success"] != "never"

    # The same feed again: a conditional request, no new data.
    p = clarion_run(clarion, env, "update", "--config", cfg, "--db", db)
    assert p.returncode == 0, p.stderr
    assert report(p)["debian"][:2] == ("unchanged", count)
    last = feed_server.requests[-1]
    assert last[2].get("If-None-Match"), last

    # Upstream changed: updated again, with one more record.
    feed_server.put("debian/json", tracker_doc(extra=3))
    p = clarion_run(clarion, env, "update", "--config", cfg, "--db", db,
                    "--source", "debian")
    assert p.returncode == 0, p.stderr
    assert report(p)["debian"][:2] == ("updated", count + 1)


def test_failure_keeps_data_and_exits_1(clarion, env, tmp_path, db, feed_server):
    need_debian(clarion, env, tmp_path)
    feed_server.put("debian/json", tracker_doc())
    cfg = debian_config(tmp_path, feed_server)
    p = clarion_run(clarion, env, "update", "--config", cfg, "--db", db)
    assert p.returncode == 0, p.stderr
    count = report(p)["debian"][1]

    feed_server.put("debian/json", tracker_doc(extra=5))
    feed_server.fail("debian/json", status=404)
    p = clarion_run(clarion, env, "update", "--config", cfg, "--db", db)
    assert p.returncode == 1, (p.stdout, p.stderr)
    outcome, n, error = report(p)["debian"]
    assert outcome == "failed"
    assert n == count               # what is still current
    assert "404" in error and feed_server.url("debian/json") in error
    st = status(clarion, env, db, "--source", "debian")["debian"]
    assert st["records"] == count
    assert "404" in st["error"]

    # A transient 500 is retried within the run.
    feed_server.reset()
    feed_server.fail("debian/json", status=500, times=1)
    p = clarion_run(clarion, env, "update", "--config", cfg, "--db", db)
    assert p.returncode == 0, p.stdout + p.stderr
    assert report(p)["debian"][:2] == ("updated", count + 4)
    assert status(clarion, env, db, "--source", "debian")["debian"]["error"] == "-"


def test_corrupt_feed_fails(clarion, env, tmp_path, sqlite_db, feed_server):
    need_debian(clarion, env, tmp_path)
    feed_server.put("debian/json", b"\x1f\x8b\x08\x00garbage that is not deflate")
    cfg = debian_config(tmp_path, feed_server)
    p = clarion_run(clarion, env, "update", "--config", cfg, "--db", sqlite_db)
    assert p.returncode == 1
    outcome, n, error = report(p)["debian"]
    assert (outcome, n) == ("failed", 0)
    assert "gzip" in error


@pytest.fixture
def sqlite_db(tmp_path):
    return str(tmp_path / "clarion.db")


# ---- offline bundles ---------------------------------------------------------

def test_export_import_same_status(clarion, env, tmp_path, db, feed_server):
    need_debian(clarion, env, tmp_path)
    feed_server.put("debian/json", tracker_doc(extra=3))
    cfg = debian_config(tmp_path, feed_server)
    assert clarion_run(clarion, env, "update", "--config", cfg,
                       "--db", db).returncode == 0
    bundle = tmp_path / "bundle.jsonl.zst"
    p = clarion_run(clarion, env, "db", "export", "--db", db, "--source", "debian",
                    bundle)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("exported 1 operations")
    assert bundle.read_bytes()[:4] == b"\x28\xb5\x2f\xfd"  # zstd

    # Into an empty database: the same counts.
    empty = str(tmp_path / "offline.db")
    p = clarion_run(clarion, env, "db", "import", "--db", empty, bundle)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("imported 1 operations")
    before = status(clarion, env, db, "--source", "debian")
    after = status(clarion, env, empty)
    assert after["debian"]["records"] == before["debian"]["records"]
    assert after["debian"]["error"] == "-"

    # Again: nothing new.
    p = clarion_run(clarion, env, "db", "import", "--db", empty, bundle)
    assert p.returncode == 0
    assert "imported 0 operations" in p.stdout and "1 already current" in p.stdout

    # The imported fingerprint is the feed's: an update there finds the
    # feed unchanged.
    p = clarion_run(clarion, env, "update", "--config", cfg, "--db", empty)
    assert report(p)["debian"][0] == "unchanged"


def test_import_into(clarion, env, tmp_path, db, feed_server):
    """A bundle made with SQLite, imported into each backend."""
    need_debian(clarion, env, tmp_path)
    feed_server.put("debian/json", tracker_doc(extra=4))
    cfg = debian_config(tmp_path, feed_server)
    src = str(tmp_path / "online.db")
    assert clarion_run(clarion, env, "update", "--config", cfg,
                       "--db", src).returncode == 0
    bundle = tmp_path / "b.zst"
    assert clarion_run(clarion, env, "db", "export", "--db", src, bundle).returncode == 0
    p = clarion_run(clarion, env, "db", "import", "--db", db, bundle)
    assert p.returncode == 0, p.stderr
    assert (status(clarion, env, db, "--source", "debian")["debian"]["records"] ==
            status(clarion, env, src)["debian"]["records"])


def test_export_to_stdout_and_import_from_stdin(clarion, env, tmp_path, feed_server):
    need_debian(clarion, env, tmp_path)
    feed_server.put("debian/json", tracker_doc())
    cfg = debian_config(tmp_path, feed_server)
    src = str(tmp_path / "a.db")
    assert clarion_run(clarion, env, "update", "--config", cfg,
                       "--db", src).returncode == 0
    exp = subprocess.run([clarion, "db", "export", "--db", src, "-"], env=env,
                         capture_output=True, timeout=60)
    assert exp.returncode == 0, exp.stderr
    assert exp.stdout[:4] == b"\x28\xb5\x2f\xfd"
    assert b"exported 1 operations" in exp.stderr
    imp = subprocess.run([clarion, "db", "import", "--db", str(tmp_path / "b.db"), "-"],
                         env=env, input=exp.stdout, capture_output=True, timeout=60)
    assert imp.returncode == 0, imp.stderr
    assert b"imported 1 operations" in imp.stdout


def test_import_damaged(clarion, env, tmp_path, feed_server):
    need_debian(clarion, env, tmp_path)
    feed_server.put("debian/json", tracker_doc())
    cfg = debian_config(tmp_path, feed_server)
    src = str(tmp_path / "a.db")
    assert clarion_run(clarion, env, "update", "--config", cfg,
                       "--db", src).returncode == 0
    bundle = tmp_path / "b.zst"
    assert clarion_run(clarion, env, "db", "export", "--db", src, bundle).returncode == 0
    data = bundle.read_bytes()

    cut = tmp_path / "cut.zst"
    cut.write_bytes(data[: len(data) // 2])
    target = str(tmp_path / "t.db")
    p = clarion_run(clarion, env, "db", "import", "--db", target, cut)
    assert p.returncode == 2
    assert len(stderr_lines(p)) == 1 and str(cut) in p.stderr
    assert status(clarion, env, target) == {}   # nothing stored

    plain = tmp_path / "plain.jsonl"
    plain.write_bytes(b'{"kind":"operation","updater":"debian","fingerprint":"x",'
                      b'"count":1}\n{"kind":"vulnerability","name":"CVE-1",'
                      b'"colour":"red"}\n')
    p = clarion_run(clarion, env, "db", "import", "--db", target, plain)
    assert p.returncode == 2
    assert "line 2" in p.stderr and "colour" in p.stderr
    assert status(clarion, env, target) == {}

    p = clarion_run(clarion, env, "db", "import", "--db", target, tmp_path / "none")
    assert p.returncode == 2

    # Nothing to export from an empty database.
    p = clarion_run(clarion, env, "db", "export", "--db", target, tmp_path / "e.zst")
    assert p.returncode == 2
    assert "no update operations" in p.stderr
    assert not (tmp_path / "e.zst").exists()
