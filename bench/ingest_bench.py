#!/usr/bin/python3
"""Feed ingest, end to end (DESIGN.md section 7).

    /usr/bin/python3 bench/ingest_bench.py [BUILD] [--only alma,rhel,debian]
                                                (BUILD: build; all data sets)

Runs `clarion update --config CFG --db DB --source NAME` against feeds
served on 127.0.0.1 by tests/integration/harness/feeds.py (its process
form), into a fresh SQLite database and into a fresh PostgreSQL database,
for three data sets:

  alma    the full AlmaLinux OSV database (../shared/data/almalinux/
          almalinux-osv-database.tar.xz: 5,680 advisories) as one all.zip;
          the source's three updaters (alma-8, alma-9, alma-10) share one
          download and one read of it per run, as against osv.dev
          (src/feeds/osv.c).  Skipped, with a note, when ../shared is
          absent.
  rhel    Red Hat's RHEL 8 OVAL (tests/fixtures/oval/
          com.redhat.rhsa-RHEL8.xml.xz, served decompressed: 2.8 MB).
  debian  a generated Debian security tracker JSON of 1.5 M (package, CVE,
          release) rows (bench/gen_debian_json.py: real package names,
          CVE ids and versions; ~300 MB), cached in
          ${XDG_CACHE_HOME:-~/.cache}/clarion-bench/ under a fingerprint
          of the generator and its inputs.

For each: process wall time, records stored (from the command's output)
per second, peak RSS (GNU time's %M), and the split into fetch / parse /
store from the debug log's time stamps (1 ms) and the store's own timing
(parse includes freeing the download);
beside it, in the same run, the reference on the same bytes: `jq .
>/dev/null` for JSON (all the OSV files, in batches of 2,000 per jq), and
`xmllint --stream --noout` for the XML, where jq has nothing to say.  The
ratio clarion / reference has the target <= 1.5x; clarion's figure
includes the loopback download and the database writes.

Best of ALMA_RUNS / RHEL_RUNS / DEBIAN_RUNS runs (a fresh database each);
the references likewise.  PostgreSQL: the cluster of CLARION_TEST_PG when
set (`scripts/test-postgres run -- ...`), else one started here with
`scripts/test-postgres start` and stopped at the end; each run gets a new
database in it.  Without PostgreSQL the SQLite rows are still printed.

A benchmark prints figures; it never fails on speed.  Exit 1 only when
something is broken: an update that fails or stores another number of
records than the data holds (the generator's count for Debian; for
AlmaLinux, the OSV files' affected entries per release given to the store
and the distinct ones stored; SQLite's count for PostgreSQL).
"""
import datetime
import json
import lzma
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.parse
import zipfile

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "bench"))
import gen_debian_json  # noqa: E402

SHARED = os.path.join(os.path.dirname(TOP), "shared", "data")
ALMA_TAR = os.path.join(SHARED, "almalinux", "almalinux-osv-database.tar.xz")
RHEL_XZ = os.path.join(TOP, "tests", "fixtures", "oval", "com.redhat.rhsa-RHEL8.xml.xz")
FEEDS_PY = os.path.join(TOP, "tests", "integration", "harness", "feeds.py")
TEST_PG = os.path.join(TOP, "scripts", "test-postgres")
DEBIAN_ROWS = 1500000
ALMA_RUNS, RHEL_RUNS, DEBIAN_RUNS = 2, 3, 2
JQ_BATCH = 2000
TARGET = 1.5
MiB = 1024.0 * 1024.0
GNU_TIME = "/usr/bin/time"


class Broken(Exception):
    """Something that is not slow but wrong: the run exits 1."""


def say(*a):
    print(*a, flush=True)


def note(msg):
    print("  # " + msg, flush=True)


def cache_dir():
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".cache")
    d = os.path.join(base, "clarion-bench")
    os.makedirs(d, exist_ok=True)
    return d


# ---- tools ------------------------------------------------------------------

def apt_install(pkg):
    if os.geteuid() != 0:
        return
    subprocess.run(["apt-get", "install", "-y", "-o", "DPkg::Lock::Timeout=300",
                    "--no-install-recommends", pkg], stdin=subprocess.DEVNULL,
                   capture_output=True, timeout=600)


def tool(path_or_name, package):
    """The tool's path, installing its package when missing and root."""
    found = path_or_name if os.path.isabs(path_or_name) else shutil.which(path_or_name)
    if not found or not os.access(found, os.X_OK):
        apt_install(package)
        found = path_or_name if os.path.isabs(path_or_name) else shutil.which(path_or_name)
    return found if found and os.access(found, os.X_OK) else None


def child_env(tmp):
    env = {k: v for k, v in os.environ.items()
           if k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "clarion_db")}
    env["no_proxy"] = env["NO_PROXY"] = "127.0.0.1,localhost"
    env["TMPDIR"] = tmp  # clarion's downloads and unzipped feeds: removed with tmp
    return env


def run(args, tmp, env, timeout=600, cwd=None):
    """Runs args under GNU time; returns (wall seconds, exit code, peak
    RSS KiB or None, stdout, stderr).

    Peak RSS comes from GNU time (%M), never from our own wait4: Python
    starts children with vfork, and Linux carries the parent's high-water
    RSS over exec into the child's ru_maxrss, so wait4 here would report
    this script's peak whenever that is larger."""
    out, err, rss_file = (os.path.join(tmp, n) for n in ("out", "err", "rss"))
    if USE_GNU_TIME:
        args = [GNU_TIME, "-o", rss_file, "-f", "%M"] + list(args)
    with open(out, "wb") as fo, open(err, "wb") as fe:
        t0 = time.perf_counter()
        # A session of its own: an interrupted run stops it by group id.
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=fo, stderr=fe,
                                env=env, cwd=cwd, start_new_session=True)
        try:
            proc.wait(timeout=timeout)
        except BaseException:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass
            proc.wait()
            raise
        wall = time.perf_counter() - t0
    with open(out, "rb") as f:
        stdout = f.read().decode(errors="replace")
    with open(err, "rb") as f:
        stderr = f.read().decode(errors="replace")
    peak = None
    if USE_GNU_TIME:
        try:
            with open(rss_file) as f:
                peak = int(f.read().split()[-1])
        except (OSError, ValueError, IndexError):
            pass
    return wall, proc.returncode, peak, stdout, stderr


# ---- the feed server (harness/feeds.py, process form) -----------------------

class Feeds:
    def __init__(self, root):
        self.proc = subprocess.Popen([sys.executable, FEEDS_PY, "--root", root],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        line = self.proc.stdout.readline().decode().strip()
        if not line.isdigit():
            self.stop()
            raise Broken("harness/feeds.py did not start (said %r)" % line)
        self.port = int(line)

    def url(self, path):
        return "http://127.0.0.1:%d/%s" % (self.port, path)

    def stop(self):
        """By its pid: SIGTERM, then SIGKILL; closing its stdin also ends it."""
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            except OSError:
                pass
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass


# ---- PostgreSQL -------------------------------------------------------------

class Postgres:
    """A cluster to make fresh databases in: CLARION_TEST_PG's, or one
    started with scripts/test-postgres (and stopped by stop())."""

    def __init__(self):
        self.url = self.pidfile = self.why = None
        self.made = []
        self.psql = shutil.which("psql") or next(
            (p for p in sorted(
                (os.path.join("/usr/lib/postgresql", v, "bin", "psql")
                 for v in (os.listdir("/usr/lib/postgresql")
                           if os.path.isdir("/usr/lib/postgresql") else [])),
                reverse=True) if os.access(p, os.X_OK)), None)
        if not self.psql:
            self.why = "no psql (apt-get install postgresql)"
            return
        if os.environ.get("CLARION_TEST_PG"):
            self.url = os.environ["CLARION_TEST_PG"]
            return
        try:
            p = subprocess.run([TEST_PG, "start"], capture_output=True, text=True,
                               stdin=subprocess.DEVNULL, timeout=120)
        except (OSError, subprocess.TimeoutExpired) as e:
            self.why = "scripts/test-postgres start: %s" % e
            return
        env = dict(re.findall(r"^export (\w+)=(\S+)$", p.stdout, re.M))
        self.pidfile = env.get("CLARION_TEST_PG_PIDFILE")
        if p.returncode != 0 or "CLARION_TEST_PG" not in env:
            self.why = "scripts/test-postgres start failed: %s" % (
                p.stderr.strip().splitlines() or ["exit %d" % p.returncode])[-1]
            return
        self.url = env["CLARION_TEST_PG"]

    def _admin(self, sql):
        u = urllib.parse.urlsplit(self.url)
        admin = urllib.parse.urlunsplit((u.scheme, u.netloc, "/postgres", u.query, ""))
        p = subprocess.run([self.psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", admin,
                            "-c", sql], capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, timeout=60)
        if p.returncode != 0:
            raise Broken("psql %s: %s" % (sql, p.stderr.strip()))

    def fresh(self, name):
        """The URL of a new, empty database."""
        name = "clarion_bench_%s_%d_%d" % (name, os.getpid(), len(self.made))
        self._admin("CREATE DATABASE %s" % name)
        self.made.append(name)
        u = urllib.parse.urlsplit(self.url)
        return urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + name, u.query, ""))

    def stop(self):
        if self.pidfile:  # ours: the whole cluster goes
            subprocess.run([TEST_PG, "stop", self.pidfile], capture_output=True,
                           stdin=subprocess.DEVNULL, timeout=120)
            self.pidfile = None
        elif self.url:  # someone else's: only our databases
            for name in self.made:
                try:
                    self._admin("DROP DATABASE IF EXISTS %s" % name)
                except (Broken, OSError, subprocess.TimeoutExpired):
                    pass
        self.made = []


# ---- the data sets ------------------------------------------------------------

def prepare_alma(tmp, feeds_root):
    """Unpacks the OSV database; writes feeds/alma/all.zip.  Returns
    (the *.json paths relative to src, src, expected records per updater
    {updater: (read, stored)}).  read: the affected entries of the
    updater's ecosystem; stored: the distinct ones (ecosystem, id,
    package, ranges, versions): 37 advisories are in two release
    directories, the same file twice, and the store keeps a record once."""
    src = os.path.join(tmp, "alma-src")
    with tarfile.open(ALMA_TAR) as t:
        try:
            t.extractall(src, filter="data")
        except TypeError:  # Python < 3.11.4
            t.extractall(src)
    files, read, distinct = [], {}, {}
    for d, dirs, names in os.walk(src):
        dirs.sort()
        for n in sorted(names):
            if n.endswith(".json"):
                full = os.path.join(d, n)
                files.append(os.path.relpath(full, src))
                with open(full, "rb") as f:
                    doc = json.load(f)
                for a in doc.get("affected") or []:
                    eco = (a.get("package") or {}).get("ecosystem", "")
                    if eco.startswith("AlmaLinux:"):
                        u = "alma-" + eco.split(":", 1)[1]
                        read[u] = read.get(u, 0) + 1
                        distinct.setdefault(u, set()).add(json.dumps(
                            [doc.get("id"), a.get("package"), a.get("ranges"),
                             a.get("versions")], sort_keys=True))
    os.makedirs(os.path.join(feeds_root, "alma"))
    # Release directories kept in the names: those 37 advisory files have
    # the same name in two releases.
    with zipfile.ZipFile(os.path.join(feeds_root, "alma", "all.zip"), "w",
                         zipfile.ZIP_DEFLATED) as z:
        for rel in files:
            z.write(os.path.join(src, rel), rel.split(os.sep, 2)[-1])
    return files, src, {u: (read[u], len(distinct[u])) for u in read}


def prepare_rhel(feeds_root):
    os.makedirs(os.path.join(feeds_root, "rhel"))
    path = os.path.join(feeds_root, "rhel", "com.redhat.rhsa-RHEL8.xml")
    with lzma.open(RHEL_XZ, "rb") as f, open(path, "wb") as o:
        shutil.copyfileobj(f, o, 1 << 20)
    return path


def prepare_debian(feeds_root):
    """The generated tracker JSON (cached); returns (path served, stats)."""
    cdir = cache_dir()
    fp = gen_debian_json.fingerprint()
    base = "debian-tracker-%d.%s.json" % (DEBIAN_ROWS, fp)
    path = os.path.join(cdir, base)
    stats = None
    try:
        with open(path + ".meta") as f:
            stats = json.load(f)
        if os.path.getsize(path) != stats["bytes"]:
            stats = None
    except (OSError, ValueError, KeyError):
        stats = None
    if stats is None:
        say("  generating the %d-row Debian tracker JSON (bench/gen_debian_json.py; "
            "cached for later runs)..." % DEBIAN_ROWS)
        t0 = time.monotonic()
        tmp = "%s.tmp.%d" % (path, os.getpid())
        try:
            with open(tmp, "wb") as f:
                stats = gen_debian_json.generate(DEBIAN_ROWS, f)
            os.rename(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        stats["generated_secs"] = round(time.monotonic() - t0, 1)
        with open(path + ".meta.tmp", "w") as f:
            json.dump(stats, f, indent=1)
        os.rename(path + ".meta.tmp", path + ".meta")
        # Documents of other fingerprints are stale: 300 MB each.
        for n in os.listdir(cdir):
            if n.startswith("debian-tracker-") and not n.startswith(base) \
                    and ".tmp." not in n:
                os.unlink(os.path.join(cdir, n))
    os.makedirs(os.path.join(feeds_root, "debian"))
    served = os.path.join(feeds_root, "debian", "json")
    try:
        os.link(path, served)  # feeds.py serves no symbolic link out of its root
    except OSError:
        shutil.copyfile(path, served)
    return served, stats


# ---- one `clarion update` ---------------------------------------------------------

def parse_stamp(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ")


def phases(stderr):
    """((fetch, parse, store) seconds summed over the updaters, {updater:
    records the parser gave the store}) from the JSON debug log: fetch
    from the previous updater's end (or the store's opening) to "fetch:
    URL: N bytes"; store the store's own figure ("store: updater U:
    operation ... stores N records (M given) in T s"); parse what lies
    between.  (None, {}) if the log does not have them."""
    fetch = parse = store = 0.0
    mark = fetched = None
    given = {}
    for line in stderr.splitlines():
        try:
            rec = json.loads(line)
            t = parse_stamp(rec["time"])
        except (ValueError, KeyError, TypeError):
            continue
        msg = rec.get("msg", "")
        if msg.startswith("store: opened"):
            mark = t
        elif msg.startswith("fetch: ") and re.search(r": \d+ bytes", msg):
            fetched = t
            if mark is not None:
                fetch += (t - mark).total_seconds()
        else:
            m = re.match(r"store: updater (\S+): operation \S+ stores \d+ records "
                         r"\((\d+) given\) in ([\d.]+) s", msg)
            if m and fetched is not None:
                s = float(m.group(3))
                store += s
                parse += max(0.0, (t - fetched).total_seconds() - s)
                given[m.group(1)] = int(m.group(2))
            elif re.match(r"update: \S+: (updated|unchanged|failed|skipped)", msg):
                mark = t
    return ((fetch, parse, store) if given else None), given


def update(clarion, cfg, db, source, tmp, env):
    """One run; returns (wall, peak KiB, {updater: records stored},
    (fetch, parse, store) or None, {updater: records given the store})."""
    args = [clarion, "--log-level", "debug", "--log-format", "json", "update",
            "--config", cfg, "--db", db, "--source", source]
    try:
        wall, rc, rss, out, err = run(args, tmp, env, timeout=900)
    except subprocess.TimeoutExpired:
        raise Broken("clarion update --source %s did not finish in 900 s" % source)
    counts = {}
    for line in out.splitlines():
        p = line.split()
        if len(p) >= 5 and p[3] == "vulnerabilities":
            if p[1] != "updated":
                raise Broken("clarion update --source %s: %s" % (source, line.strip()))
            counts[p[0]] = int(p[2])
    if rc != 0 or not counts:
        tail = [l for l in err.splitlines() if '"level":"debug"' not in l][-3:]
        raise Broken("clarion update --source %s failed (exit %d): %s %s"
                     % (source, rc, out.strip()[-300:], " | ".join(tail)[-500:]))
    return (wall, rss, counts) + phases(err)


def best_update(clarion, cfg, name, source, store, pg, runs, tmp, env):
    best = None
    for i in range(runs):
        if store == "sqlite":
            d = tempfile.mkdtemp(prefix="db.", dir=tmp)
            db = os.path.join(d, "clarion.db")
        else:
            db = pg.fresh(name)
        r = update(clarion, cfg, db, source, tmp, env)
        if store == "sqlite":
            shutil.rmtree(d, ignore_errors=True)
        if best is None or r[0] < best[0]:
            best = r + (i + 1,)
    return best


# ---- references ---------------------------------------------------------------------

def reference(argv_batches, tmp, env, runs, cwd=None):
    """Best of runs of the batches in sequence: (seconds, peak KiB)."""
    best = peak = None
    for _ in range(runs):
        total, top = 0.0, 0
        for argv in argv_batches:
            wall, rc, rss, _, err = run(argv, tmp, env, cwd=cwd)
            if rc != 0:
                raise Broken("%s ... failed (exit %d): %s"
                             % (" ".join(argv[:3]), rc, err.strip()[-300:]))
            total += wall
            top = max(top, rss or 0)
        best = total if best is None else min(best, total)
        peak = max(peak or 0, top)
    return best, peak or None


# ---- main ------------------------------------------------------------------------

def fmt_rss(kib):
    return "%6.0f MiB" % (kib / 1024.0) if kib else "     n/a"


def main():
    args = sys.argv[1:]
    only = None
    if "--only" in args:
        i = args.index("--only")
        if i + 1 >= len(args):
            say("ingest_bench: --only wants a list: alma,rhel,debian")
            return 2
        only = set(args[i + 1].split(","))
        del args[i:i + 2]
        if only - {"alma", "rhel", "debian"}:
            say("ingest_bench: --only: unknown data set(s) %s (alma, rhel, debian)"
                % ",".join(sorted(only - {"alma", "rhel", "debian"})))
            return 2
    build = args[0] if args else os.path.join(TOP, "build")
    clarion = os.path.abspath(os.path.join(build, "clarion"))
    if not os.access(clarion, os.X_OK):
        say("ingest_bench: %s is not built" % clarion)
        return 1
    global USE_GNU_TIME
    USE_GNU_TIME = bool(tool(GNU_TIME, "time"))
    jq = tool("jq", "jq")
    xmllint = tool("xmllint", "libxml2-utils")
    t_start = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="clarion-ingest-bench.")
    env = child_env(tmp)
    feeds = pg = None
    rows, refs = [], {}
    try:
        say("load   %s (1/5/15 min) on %d cores: other work on the machine slows every "
            "figure" % (" ".join(open("/proc/loadavg").read().split()[:3]),
                        os.cpu_count() or 0))
        if not USE_GNU_TIME:
            note("GNU time is missing (package `time`): no peak RSS figures")
        root = os.path.join(tmp, "feeds")
        os.makedirs(root)

        datasets = []  # (name, source, config body, runs, expect, ref argv batches, ref cwd, what)
        if only is not None and "alma" not in only:
            pass
        elif os.path.exists(ALMA_TAR):
            files, src, expect = prepare_alma(tmp, root)
            raw = sum(os.path.getsize(os.path.join(src, f)) for f in files)
            say("alma   AlmaLinux OSV, %d files, %.1f MB of JSON; all.zip %.1f MB; %s"
                % (len(files), raw / 1e6,
                   os.path.getsize(os.path.join(root, "alma", "all.zip")) / 1e6,
                   ", ".join("%s %d (%d distinct)" % (u, r, d)
                             for u, (r, d) in sorted(expect.items()))))
            batches = [[jq, "."] + files[i:i + JQ_BATCH] for i in range(0, len(files), JQ_BATCH)]
            datasets.append(("alma", "alma", "alma:\n      url: %s\n" % "{alma}",
                             ALMA_RUNS, expect, batches if jq else None, src,
                             "jq . (%d files, %d jq runs)" % (len(files), len(batches))))
        else:
            note("alma skipped: %s is absent (../shared not mounted)" % ALMA_TAR)
        if only is None or "rhel" in only:
            xml = prepare_rhel(root)
            say("rhel   RHEL 8 OVAL (tests/fixtures/oval), %.1f MB of XML"
                % (os.path.getsize(xml) / 1e6))
            datasets.append(("rhel", "rhel", "rhel:\n      releases: \"8\"\n      url: %s\n"
                             % "{rhel}", RHEL_RUNS, None,
                             [[xmllint, "--stream", "--noout", xml]] if xmllint else None,
                             None, "xmllint --stream --noout"))
        if only is None or "debian" in only:
            deb, st = prepare_debian(root)
            say("debian generated tracker JSON: %s" % gen_debian_json.describe(
                dict(st, statuses=st.get("statuses", {}))))
            datasets.append(("debian", "debian", "debian:\n      url: %s\n" % "{debian}",
                             DEBIAN_RUNS, {"debian": (st["records"], st["records"])},
                             [[jq, ".", deb]] if jq else None, None, "jq ."))

        feeds = Feeds(root)
        pg = Postgres()
        if pg.why:
            note("PostgreSQL skipped: %s" % pg.why)
        else:
            say("pg     %s%s" % (pg.url, "" if pg.pidfile else " (CLARION_TEST_PG)"))
        urls = {"alma": feeds.url("alma/all.zip"),
                "rhel": feeds.url("rhel/com.redhat.rhsa-RHEL8.xml"),
                "debian": feeds.url("debian/json")}

        for name, source, body, runs, expect, ref_argv, ref_cwd, ref_what in datasets:
            cfg = os.path.join(tmp, name + ".yaml")
            with open(cfg, "w") as f:
                f.write("updaters:\n  sets: [%s]\n  config:\n    %s"
                        % (source, body.replace("{%s}" % name, urls[name])))
            counts_by_store = {}
            for store in ("sqlite", "postgres"):
                if store == "postgres" and pg.why:
                    continue
                wall, rss, counts, ph, given, _ = best_update(clarion, cfg, name, source,
                                                              store, pg, runs, tmp, env)
                if expect is not None:
                    want = {u: e[1] for u, e in expect.items()}
                    if counts != want:
                        raise Broken("%s into %s stored %s; the data holds %s"
                                     % (name, store, counts, want))
                    want = {u: e[0] for u, e in expect.items()}
                    if given and given != want:
                        raise Broken("%s: the parser gave the store %s records; the data "
                                     "holds %s" % (name, given, want))
                counts_by_store[store] = counts
                rows.append((name, store, sum(counts.values()), len(counts), wall, rss, ph,
                             runs))
                say("  %-7s %-8s %8d records in %7.2f s%s" % (
                    name, store, sum(counts.values()), wall,
                    "" if runs == 1 else " (best of %d)" % runs))
            if len(counts_by_store) == 2 and \
                    counts_by_store["sqlite"] != counts_by_store["postgres"]:
                raise Broken("%s: SQLite stored %s, PostgreSQL %s"
                             % (name, counts_by_store["sqlite"], counts_by_store["postgres"]))
            if ref_argv:
                secs, kib = reference(ref_argv, tmp, env, runs, cwd=ref_cwd)
                refs[name] = (ref_what, secs, kib)
                say("  %-7s %-24s %7.2f s   peak RSS %s" % (name, ref_what, secs,
                                                              fmt_rss(kib).strip()))
            else:
                note("%s: no reference (%s not installed)" % (name, ref_what.split()[0]))

        say("")
        say("%-7s %-8s %9s %4s %8s %9s %10s  %-25s %8s %7s" % (
            "data", "store", "records", "upd", "wall s", "rec/s", "peak RSS",
            "fetch / parse / store s", "ref s", "ratio"))
        for name, store, n, nupd, wall, rss, ph, runs in rows:
            split = ("%5.2f / %5.2f / %5.2f" % ph) if ph else "n/a"
            ref = refs.get(name)
            ratio = wall / ref[1] if ref else None
            say("%-7s %-8s %9d %4d %8.2f %9.0f %10s  %-25s %8s %7s  %s" % (
                name, store, n, nupd, wall, n / wall, fmt_rss(rss), split,
                "%.2f" % ref[1] if ref else "n/a",
                "%.2fx" % ratio if ratio else "n/a",
                ("met" if ratio <= TARGET else "NOT met") if ratio else ""))
        say("ratio = clarion wall (download over loopback, parse, store, process start) /"
            " the reference on the same bytes; target <= %.1fx" % TARGET)
        for name, store, n, nupd, wall, rss, ph, runs in rows:
            ref = refs.get(name)
            if ph and ref and store == "sqlite":
                say("  %-7s parse only %5.2f s = %.0f%% of the wall, %.2fx %s"
                    % (name, ph[1], 100.0 * ph[1] / wall, ph[1] / ref[1],
                       ref[0].split(" (")[0]))
        for name, (what, secs, kib) in sorted(refs.items()):
            say("  %-7s reference %s: %.2f s, peak RSS %s" % (name, what, secs,
                                                              fmt_rss(kib).strip()))
        if any(r[0] == "alma" for r in rows):
            say("  alma: the zip is downloaded and read once per run for the %d updaters "
                "(docs/feeds.md); parse is all of it in the first updater's line"
                % next(r[3] for r in rows if r[0] == "alma"))
        say("(ingest_bench took %.0f s)" % (time.monotonic() - t_start))
        return 0
    except Broken as e:
        say("ingest_bench: BROKEN: %s" % e)
        return 1
    finally:
        if feeds is not None:
            feeds.stop()
        if pg is not None:
            pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def _terminate(signum, frame):
    raise SystemExit(128 + signum)


USE_GNU_TIME = False  # set in main()

if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
