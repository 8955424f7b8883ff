"""AlmaLinux's export is downloaded and read once per run, for every release.

osv.dev's AlmaLinux/all.zip holds the advisories of every release, and
nothing in a member's name says which: each updater (alma-8, alma-9,
alma-10) keeps its own ecosystem's records.  A run downloads the zip once
and parses each record once for all of them (src/feeds/osv.c, the distro
set); what a user sees must be exactly what three separate reads gave:
the same outcomes, counts, fingerprints and records, and a failure in one
release's part of the data failing only that release.

The zip here is the fixture advisories (tests/fixtures/feeds/alma) with
osv.dev's flat member names, served by harness/feeds.py on 127.0.0.1.
"""
import glob
import io
import json
import os
import re
import sqlite3
import subprocess
import zipfile

import pytest

from conftest import FIXTURES, run
from harness.feeds import feed_server  # noqa: F401

ADVISORIES = os.path.join(FIXTURES, "feeds", "alma", "advisories")
ZIP = "osv/AlmaLinux/all.zip"
MAJORS = ("8", "9", "10")


@pytest.fixture
def env(tmp_path):
    e = {k: v for k, v in os.environ.items()
         if k not in ("CLARION_DB", "XDG_CACHE_HOME", "CLARION_CA_FILE")
         and not k.lower().endswith("_proxy")}
    e["NO_PROXY"] = e["no_proxy"] = "*"
    (tmp_path / "tmp").mkdir(exist_ok=True)
    e["TMPDIR"] = str(tmp_path / "tmp")
    return e


def advisories(majors=MAJORS):
    """{member name: bytes}: the fixture files of these releases, flat."""
    files = {}
    for m in majors:
        for p in sorted(glob.glob(os.path.join(ADVISORIES, "almalinux" + m, "*.json"))):
            with open(p, "rb") as f:
                files[os.path.basename(p)] = f.read()
    return files


def make_zip(files):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
        for name in sorted(files):
            z.writestr(name, files[name])
    return b.getvalue()


def distinct(files, major):
    """Records the store keeps for alma-<major>, counted independently:
    one per (id, package, non-GIT range), or per versions-only affected
    entry; identical ones once."""
    recs = set()
    for data in files.values():
        rec = json.loads(data)
        if rec.get("withdrawn"):
            continue
        for aff in rec.get("affected") or []:
            pkg = aff.get("package") or {}
            if pkg.get("ecosystem") != "AlmaLinux:" + major:
                continue
            vers = json.dumps(aff.get("versions") or [])
            n = 0
            for rng in aff.get("ranges") or []:
                if rng["type"] != "GIT":
                    recs.add((rec["id"], pkg["name"], json.dumps(rng, sort_keys=True), vers))
                    n += 1
            if not n and aff.get("versions"):
                recs.add((rec["id"], pkg["name"], "", vers))
    return len(recs)


def write_config(path, alma, **per_updater):
    cfg = {"updaters": {"sets": ["alma"], "config": dict({"alma": alma}, **per_updater)}}
    path.write_text(json.dumps(cfg))
    return path


def update(clarion, env, cfg, db):
    p = run([clarion, "update", "--config", str(cfg), "--db", str(db)], env=env,
            timeout=300)
    out = {}
    for line in p.stdout.splitlines():
        parts = line.split()
        out[parts[0]] = (parts[1], int(parts[2]))
    return p, out


def gets(fs, path):
    return [h for m, p, h in fs.requests if m == "GET" and p.split("?")[0] == "/" + path]


def exported(clarion, env, db, tmp_path):
    """{updater: (fingerprint, sorted record lines)} from `clarion db export`
    (refs and dates are each database's own)."""
    bundle = tmp_path / ("export-%s.jsonl.zst" % os.path.basename(str(db)))
    p = run([clarion, "db", "export", "--db", str(db), str(bundle)], env=env)
    assert p.returncode == 0, p.stderr
    data = subprocess.run(["zstd", "-dc", str(bundle)], check=True,
                          capture_output=True).stdout.decode()
    ops, cur = {}, None
    for line in data.splitlines():
        obj = json.loads(line)
        if obj.get("kind") == "operation":
            cur = obj["updater"]
            ops[cur] = (obj["fingerprint"], [])
        elif cur is not None and obj.get("kind") != "end":
            ops[cur][1].append(json.dumps(obj, sort_keys=True))
    return {u: (fp, sorted(lines)) for u, (fp, lines) in ops.items()}


def test_one_download_same_records(clarion, env, tmp_path, feed_server):  # noqa: F811
    """One GET of the zip for three releases; the records and fingerprints
    are those of each release updated on its own."""
    fs = feed_server
    files = advisories()
    fs.put(ZIP, make_zip(files))
    want = {"alma-" + m: distinct(files, m) for m in MAJORS}
    assert all(want.values())

    cfg = write_config(tmp_path / "all.json", {"url": fs.url(ZIP)})
    db = tmp_path / "all.db"
    p, rep = update(clarion, env, cfg, db)
    assert p.returncode == 0, p.stdout + p.stderr
    assert rep == {u: ("updated", n) for u, n in want.items()}
    assert len(gets(fs, ZIP)) == 1
    assert os.listdir(env["TMPDIR"]) == []  # the shared download is gone

    # Each release alone, into a database of its own: the old way, one
    # download and one read per release.
    alone = {}
    for m in MAJORS:
        c = write_config(tmp_path / ("r%s.json" % m), {"url": fs.url(ZIP), "releases": m})
        d = tmp_path / ("r%s.db" % m)
        p1, r1 = update(clarion, env, c, d)
        assert p1.returncode == 0 and r1 == {"alma-" + m: ("updated", want["alma-" + m])}
        alone.update(exported(clarion, env, d, tmp_path))
    assert exported(clarion, env, db, tmp_path) == alone

    # The next run: every release unchanged, each by its own conditional
    # request (nothing was downloaded to share).
    fs.reset()
    p, rep = update(clarion, env, cfg, db)
    assert p.returncode == 0, p.stdout + p.stderr
    assert rep == {u: ("unchanged", n) for u, n in want.items()}
    reqs = gets(fs, ZIP)
    assert len(reqs) == 3
    assert all({k.lower() for k in h} & {"if-none-match", "if-modified-since"} for h in reqs)


def test_new_export_one_download(clarion, env, tmp_path, feed_server):  # noqa: F811
    """The export changes: one download again, every release updated, and
    each release's diff is its own."""
    fs = feed_server
    files = advisories()
    fs.put(ZIP, make_zip(files))
    cfg = write_config(tmp_path / "c.json", {"url": fs.url(ZIP)})
    db = tmp_path / "c.db"
    p, rep = update(clarion, env, cfg, db)
    assert p.returncode == 0, p.stdout + p.stderr

    # One AlmaLinux 9 advisory goes: alma-9 loses its records, the others
    # keep theirs (a new operation each: the export's fingerprint moved).
    gone = next(n for n in sorted(files)
                if '"AlmaLinux:9"' in files[n].decode() and
                '"AlmaLinux:8"' not in files[n].decode())
    less = dict(files)
    del less[gone]
    fs.put(ZIP, make_zip(less))
    fs.reset()
    p, rep = update(clarion, env, cfg, db)
    assert p.returncode == 0, p.stdout + p.stderr
    want = {"alma-" + m: distinct(less, m) for m in MAJORS}
    assert rep == {u: ("updated", n) for u, n in want.items()}
    assert want["alma-9"] < distinct(files, "9")
    assert len(gets(fs, ZIP)) == 1
    assert re.search(r"alma-9: updated: \d+ vulnerabilities \(0 added, [1-9]\d* removed\)",
                     p.stderr), p.stderr
    assert "alma-8: updated: %d vulnerabilities (0 added, 0 removed)" % want["alma-8"] \
        in p.stderr


def test_malformed_range_fails_only_its_release(clarion, env, tmp_path,
                                                feed_server):  # noqa: F811
    """A range that is malformed in an AlmaLinux 9 entry fails alma-9 (its
    previous data stays), as a read of its own would; alma-8 and alma-10,
    which never look at that entry, update."""
    fs = feed_server
    files = advisories()
    bad = json.loads(files["ALSA-2023:6748.json"])
    assert bad["affected"][0]["package"]["ecosystem"] == "AlmaLinux:9"
    bad["id"] = "ALSA-2099:0001"
    bad["affected"][0]["ranges"][0]["events"] = [{"introduced": 0}]
    files["ALSA-2099:0001.json"] = json.dumps(bad).encode()
    fs.put(ZIP, make_zip(files))
    cfg = write_config(tmp_path / "c.json", {"url": fs.url(ZIP)})
    p, rep = update(clarion, env, cfg, tmp_path / "c.db")
    assert p.returncode != 0
    assert rep["alma-9"] == ("failed", 0)
    assert rep["alma-8"] == ("updated", distinct(files, "8"))
    assert rep["alma-10"] == ("updated", distinct(files, "10"))
    assert "ALSA-2099:0001" in p.stdout + p.stderr
    assert "affected[0].ranges[0].events[0]" in p.stdout + p.stderr
    assert len(gets(fs, ZIP)) == 1


def test_release_with_its_own_url(clarion, env, tmp_path, feed_server):  # noqa: F811
    """updaters.config.alma-9.url names another export: alma-9 reads that
    one; alma-8 and alma-10 still share one download of theirs."""
    fs = feed_server
    files = advisories()
    nine = advisories(["9"])
    fs.put(ZIP, make_zip(files))
    fs.put("mirror9/all.zip", make_zip(nine))
    cfg = write_config(tmp_path / "c.json", {"url": fs.url(ZIP)},
                       **{"alma-9": {"url": fs.url("mirror9/all.zip")}})
    p, rep = update(clarion, env, cfg, tmp_path / "c.db")
    assert p.returncode == 0, p.stdout + p.stderr
    assert rep == {"alma-8": ("updated", distinct(files, "8")),
                   "alma-9": ("updated", distinct(nine, "9")),
                   "alma-10": ("updated", distinct(files, "10"))}
    assert len(gets(fs, "mirror9/all.zip")) == 1
    assert len(gets(fs, ZIP)) == 1
    con = sqlite3.connect(str(tmp_path / "c.db"))
    try:
        fps = dict(con.execute("SELECT updater, fingerprint FROM update_operation"))
    finally:
        con.close()
    assert "mirror9" in fps["alma-9"]
    assert "mirror9" not in fps["alma-8"] and fps["alma-8"] == fps["alma-10"]
