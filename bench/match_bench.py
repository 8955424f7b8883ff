#!/usr/bin/python3
"""The vulnerability report of a real ~860-package Debian image against
more than a million records (DESIGN.md section 7: p50 <= 2 ms in-process).

    /usr/bin/python3 bench/match_bench.py [BUILD] [--dump OUT.json]

1. A SQLite database filled by `clarion update` from feeds served on
   127.0.0.1 (tests/integration/harness/feeds.py): the generated Debian
   tracker JSON of 1.5 M rows (bench/gen_debian_json.py, the document
   bench/ingest_bench.py caches), the real AlmaLinux OSV database
   (../shared/data, when present) and RHEL 8's OVAL (tests/fixtures).  It
   is cached in ${XDG_CACHE_HOME:-~/.cache}/clarion-bench/ under the
   tracker's fingerprint, so later runs skip the ~2 minutes of updates.
2. An IndexReport from `clarion index dir:ROOT` of a root holding this
   machine's /etc/os-release and /var/lib/dpkg/status (a Debian 12 with
   ~860 packages whose names the generator also used: many records match).
3. build/bench/bench_match --db DB --report IR: the index's build time and
   resident memory, then match p50 / p90 / max over 200 runs.

A benchmark prints; it never fails on speed.  Exit 1 only when something
is broken (an update or the index fails).
"""
import os
import shutil
import subprocess
import sys
import tempfile

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "bench"))

import ingest_bench  # noqa: E402  (its feed server, caches and data sets)
import gen_debian_json  # noqa: E402


def say(*a):
    print(*a, flush=True)


def update(clarion, db, source, body, env, tmp):
    cfg = os.path.join(tmp, source + ".yaml")
    with open(cfg, "w") as f:
        f.write("updaters:\n  sets: [%s]\n  config:\n    %s" % (source, body))
    p = subprocess.run([clarion, "update", "--config", cfg, "--db", db,
                        "--source", source], env=env, capture_output=True,
                       text=True, timeout=1800)
    if p.returncode != 0:
        raise SystemExit("match_bench: clarion update --source %s failed: %s %s"
                         % (source, p.stdout[-300:], p.stderr[-500:]))
    say("  " + " ".join(p.stdout.split()))


def fill(clarion, db, env, tmp):
    root = os.path.join(tmp, "feeds")
    os.makedirs(root)
    deb, st = ingest_bench.prepare_debian(root)
    have_alma = os.path.exists(ingest_bench.ALMA_TAR)
    if have_alma:
        ingest_bench.prepare_alma(tmp, root)
    ingest_bench.prepare_rhel(root)
    feeds = ingest_bench.Feeds(root)
    try:
        part = db + ".tmp.%d" % os.getpid()
        # The release numbers would come from a Debian mirror; the
        # bench has none, so they are given (as tests/integration does).
        update(clarion, part, "debian", "debian:\n      url: %s\n"
               "      releases: \"buster=10 bullseye=11 bookworm=12 trixie=13\"\n"
               % feeds.url("debian/json"), env, tmp)
        if have_alma:
            update(clarion, part, "alma", "alma:\n      url: %s\n"
                   % feeds.url("alma/all.zip"), env, tmp)
        update(clarion, part, "rhel", "rhel:\n      releases: \"8\"\n      url: %s\n"
               % feeds.url("rhel/com.redhat.rhsa-RHEL8.xml"), env, tmp)
        os.rename(part, db)
    finally:
        feeds.stop()
        for n in os.listdir(os.path.dirname(db)):
            if ".tmp." in n and n.startswith(os.path.basename(db)):
                os.unlink(os.path.join(os.path.dirname(db), n))


def cached_db(clarion, env, tmp):
    """The benchmark database, filled on first use and cached under the
    generated tracker's fingerprint (http_bench.py uses it too)."""
    db = os.path.join(ingest_bench.cache_dir(), "match-v2-%s.db"
                      % gen_debian_json.fingerprint())
    if not os.path.exists(db):
        say("  filling %s (cached for later runs)..." % db)
        fill(clarion, db, env, tmp)
    return db


def main():
    args = sys.argv[1:]
    dump = None
    if "--dump" in args:
        i = args.index("--dump")
        dump = args[i + 1]
        del args[i:i + 2]
    build = args[0] if args else "build"
    clarion = os.path.abspath(os.path.join(build, "clarion"))
    bench = os.path.abspath(os.path.join(build, "bench", "bench_match"))
    tmp = tempfile.mkdtemp(prefix="clarion-match-bench.")
    try:
        env = ingest_bench.child_env(tmp)
        db = cached_db(clarion, env, tmp)
        rootfs = os.path.join(tmp, "root")
        os.makedirs(os.path.join(rootfs, "etc"))
        os.makedirs(os.path.join(rootfs, "var", "lib", "dpkg"))
        shutil.copyfile("/etc/os-release", os.path.join(rootfs, "etc", "os-release"))
        shutil.copyfile("/var/lib/dpkg/status",
                        os.path.join(rootfs, "var", "lib", "dpkg", "status"))
        ir = os.path.join(tmp, "index_report.json")
        with open(ir, "w") as f:
            p = subprocess.run([clarion, "index", "--db", os.path.join(tmp, "ix.db"),
                                "dir:" + rootfs], env=env, stdout=f,
                               stderr=subprocess.PIPE, text=True, timeout=600)
        if p.returncode != 0:
            raise SystemExit("match_bench: clarion index failed: " + p.stderr[-500:])
        cmd = [bench, "--db", db, "--report", ir, "--runs", "200"]
        if dump:
            cmd += ["--dump", dump]
        say("  store: %s (%.0f MB)" % (db, os.path.getsize(db) / 1e6))
        return subprocess.run(cmd, env=env).returncode
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
