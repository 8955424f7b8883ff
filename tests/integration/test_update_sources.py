"""Every vulnerability source end to end through `clarion update`.

Each source (debian, alpine, alma, rocky, ubuntu, rhel, oracle, suse,
photon) reads its upstream documents from harness/feeds.py on 127.0.0.1,
configured the way an operator points clarion at a mirror
(updaters.config.<source>.url and the source's own keys: releases,
branches, series, years...), into SQLite and PostgreSQL.  What is checked
is what a user sees: the report line of every updater and the exit status,
`--status`, and the records themselves as `clarion db export` writes them.

The expected records are counted here, independently, from the fixtures,
with json / xml.etree and the rules of docs/feeds.md and
docs/feeds-oval.md (Debian: resolved with fixed version "0" is no record;
Alpine: secfixes "0" is no record, CVE ids of an issue string; OSV:
withdrawn records and GIT ranges dropped, the ecosystem per updater; OVAL:
the criteria tree in disjunctive normal form over package leaves, one
record per package name of each conjunction's record leaf, identical
records once).  A handful of records per source are checked field by
field against values read off the fixtures by eye.  SUSE's record path
uses vunnel-suse-kernel-definition.xml, an excerpt of vunnel's SUSE input
made for this file (tests/fixtures/oval/SOURCES.md).

Framework behaviour that does not depend on the source (usage errors,
retries, 404s, bundle damage) is in test_update.py.

PostgreSQL: every test gets a database of its own in the cluster of
scripts/test-postgres (CLARION_TEST_PG).  Updater names are fixed per
source and an unchanged download is recognised by its SHA-256 whatever the
URL, so in one shared database a test would find another test's operation
current and see "unchanged" where it expects "updated".
"""
import bz2
import collections
import glob
import gzip
import io
import json
import lzma
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import time
import urllib.parse
import uuid
import xml.etree.ElementTree as ET
import zipfile

import pytest

from conftest import FIXTURES, run
from harness.clarion import (clarion_run, clean_env, pg_url, psql, with_dbname,
                             update_report as report, update_status as status)
from harness.feeds import feed_server  # noqa: F401

FEEDS = os.path.join(FIXTURES, "feeds")
OVAL = os.path.join(FIXTURES, "oval")


@pytest.fixture(scope="module", autouse=True)
def have_update(clarion):
    p = run([clarion, "update", "--help"])
    if p.returncode != 0:
        pytest.skip("clarion update is not available in this build")


@pytest.fixture
def env(tmp_path):
    """Nothing of the machine's: an empty HOME, no proxies, no database,
    cache or CA settings, a TMPDIR of the test's own."""
    e = clean_env(tmp_path / "home")
    # downloads and unpacked data of this test's runs (a killed run's too)
    (tmp_path / "tmp").mkdir(exist_ok=True)
    e["TMPDIR"] = str(tmp_path / "tmp")
    return e


@pytest.fixture(scope="session")
def pg_template(clarion):
    """A database migrated once, which fresh_pg copies (a copy is cheaper
    than running the migrations in every test's database)."""
    url = pg_url()
    name = "clarion_src_tpl_%s" % uuid.uuid4().hex[:12]
    psql(url, "CREATE DATABASE %s" % name)
    p = run([clarion, "update", "--status", "--db", with_dbname(url, name)])
    assert p.returncode == 0, p.stderr
    version = int(psql(url, "SHOW server_version_num").strip())
    yield url, name, " STRATEGY FILE_COPY" if version >= 150000 else ""
    psql(url, "DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)


@pytest.fixture
def fresh_pg(request):
    """Makes empty PostgreSQL databases, dropped after the test."""
    made = []

    def make():
        url, template, strategy = request.getfixturevalue("pg_template")
        name = "clarion_src_%s" % uuid.uuid4().hex[:16]
        psql(url, "CREATE DATABASE %s TEMPLATE %s%s" % (name, template, strategy))
        made.append((url, name))
        return with_dbname(url, name)
    yield make
    for url, name in made:
        psql(url, "DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)


# `db`: conftest.py's, whose PostgreSQL databases come from this file's
# fresh_pg.


# ---- reading what clarion says ------------------------------------------------


def diff_logged(p, updater):
    """(added, removed) from the manager's log line of an updated updater."""
    m = re.search(r"update: %s: updated: (\d+) vulnerabilities \((\d+) added, "
                  r"(\d+) removed\)" % re.escape(updater), p.stderr)
    assert m, p.stderr
    return int(m.group(2)), int(m.group(3))


def read_bundle(path):
    """(operation headers by updater, vulnerability records) of an exported
    bundle, decompressed by the zstd command."""
    p = subprocess.run(["zstd", "-dcq", str(path)], capture_output=True, timeout=120)
    assert p.returncode == 0, p.stderr
    ops, recs = {}, []
    for line in p.stdout.decode("utf-8").splitlines():
        r = json.loads(line)
        if r["kind"] == "operation":
            assert r["updater"] not in ops
            ops[r["updater"]] = r
        else:
            assert r["kind"] == "vulnerability", r
            recs.append(r)
    for u, op in ops.items():
        assert sum(1 for r in recs if r["updater"] == u) == op["count"], u
    return ops, recs


def export(clarion, env, db, tmp_path, *sources):
    path = tmp_path / ("export-%s.jsonl.zst" % uuid.uuid4().hex[:8])
    args = ["db", "export", "--db", db]
    for s in sources:
        args += ["--source", s]
    p = clarion_run(clarion, env, *(args + [path]))
    assert p.returncode == 0, p.stderr
    return read_bundle(path)


def record_line(r):
    return json.dumps(r, sort_keys=True, ensure_ascii=False)


# ---- independent counts from the fixtures ------------------------------------

def debian_model(doc):
    """The records docs/feeds.md says the tracker document gives, keyed as
    debian_key() keys exported records."""
    recs = set()
    for pkg, issues in doc.items():
        for cve, info in issues.items():
            rels = info.get("releases")
            if not isinstance(rels, dict):      # [] is the tracker's empty map
                continue
            for code, rel in rels.items():
                fixed = rel.get("fixed_version")
                if rel["status"] in ("open", "undetermined"):
                    fixed = ""
                elif fixed == "0":              # never affected
                    continue
                recs.add((cve, pkg, code, fixed or "", rel.get("urgency") or ""))
    return collections.Counter(recs)


def debian_key(r):
    return (r["name"], r["package_name"], r["dist_version_code_name"],
            r["fixed_in_version"], r["severity"])


def alpine_ids(issue):
    """The ids one secfixes string names: its CVE ids, else its first word;
    a word starting with '(' ends the string."""
    words = []
    for w in issue.split():
        if w.startswith("("):
            break
        words.append(w)
    cves = [w for w in words if w.startswith("CVE-") and len(w) > 4]
    return cves or words[:1]


def alpine_model(doc):
    recs = set()
    for entry in doc["packages"] or []:
        pkg = entry["pkg"]
        for fixed, issues in (pkg.get("secfixes") or {}).items():
            if fixed == "0" or issues is None:
                continue
            for issue in issues:
                for i in alpine_ids(issue):
                    recs.add((i, pkg["name"], fixed))
    return collections.Counter(recs)


def alpine_key(r):
    return (r["name"], r["package_name"], r["fixed_in_version"])


def canon(obj):
    return json.dumps(obj, sort_keys=True)


def osv_model(records, ecosystem):
    recs = set()
    for rec in records:
        if rec.get("withdrawn"):
            continue
        for aff in rec.get("affected") or []:
            pkg = aff.get("package")
            if not pkg or pkg["ecosystem"] != ecosystem:
                continue
            versions = aff.get("versions") or []
            n = 0
            for rng in aff.get("ranges") or []:
                if rng["type"] == "GIT":
                    continue
                events = [{k: v for k, v in e.items()
                           if k in ("introduced", "fixed", "last_affected", "limit")}
                          for e in rng["events"]]
                fixed = next((e["fixed"] for e in events if "fixed" in e), "")
                affected = {"ranges": [{"type": rng["type"], "events": events}],
                            "versions": versions}
                recs.add((rec["id"], pkg["name"], fixed, canon(affected)))
                n += 1
            if not n and versions:
                recs.add((rec["id"], pkg["name"], "", canon({"ranges": [],
                                                             "versions": versions})))
    return collections.Counter(recs)


def osv_key(r):
    return (r["name"], r["package_name"], r["fixed_in_version"],
            canon(json.loads(r["affected"])))


def _local(tag):
    return tag.rsplit("}", 1)[-1]


def _kids(el, name=None):
    return [c for c in el if name is None or _local(c.tag) == name]


def _canon_el(el):
    attrs = tuple(sorted((k, v) for k, v in el.attrib.items() if k not in ("id", "version")))
    return (_local(el.tag), attrs, (el.text or "").strip(), tuple(_canon_el(c) for c in el))


class _Skip(Exception):
    pass


class OvalModel:
    """The records of an OVAL document by docs/feeds-oval.md's rules, with
    ElementTree: package leaves (rpminfo/dpkginfo tests naming packages,
    with one `evr` less-than state and maybe an arch, or no state), the
    criteria in disjunctive normal form over them (parts without package
    leaves stay one condition), one record per package name of each
    conjunction's record leaf (the first with a fixed version), identical
    records (same definition, package, version, arch, other leaves and
    conditions) once."""

    CRIT = ("criteria", "criterion", "extend_definition")

    def __init__(self, data):
        root = ET.fromstring(data)
        self.defs, self.tests, self.objects, self.states, self.vars = {}, {}, {}, {}, {}
        self.order = []
        tables = {"definitions": self.defs, "tests": self.tests, "objects": self.objects,
                  "states": self.states, "state": self.states, "variables": self.vars}
        for sec in root:
            table = tables.get(_local(sec.tag))
            if table is None:
                continue
            for e in sec:
                table[e.get("id")] = e
                if table is self.defs:
                    self.order.append(e)

    def _refs(self, el, child, attr, table):
        return [table[x.get(attr)] for x in _kids(el, child)]

    def leaf(self, test_id):
        """(names, fixed, arch, arch_op) of a package leaf, else None."""
        t = self.tests[test_id]
        if _local(t.tag) not in ("rpminfo_test", "dpkginfo_test"):
            return None
        if (t.get("check") not in (None, "at least one", "all")
                or t.get("check_existence") not in (None, "at_least_one_exists")
                or t.get("state_operator") not in (None, "AND")):
            return None
        objs = self._refs(t, "object", "object_ref", self.objects)
        if len(objs) != 1 or [_local(c.tag) for c in objs[0]] != ["name"]:
            return None
        name = objs[0][0]
        if name.get("var_ref"):
            v = self.vars[name.get("var_ref")]
            if _local(v.tag) != "constant_variable":
                return None
            names = tuple((x.text or "") for x in _kids(v, "value"))
        elif name.get("operation") in (None, "equals"):
            names = ((name.text or "").strip(),)
        else:
            return None
        states = self._refs(t, "state", "state_ref", self.states)
        if not states:
            return (names, "", "", "")
        if len(states) != 1:
            return None
        fixed = arch = arch_op = None
        for e in states[0]:
            n = _local(e.tag)
            if n == "evr" and e.get("operation") == "less than" and fixed is None:
                fixed = (e.text or "").strip()
            elif n == "arch" and e.get("operation") in ("pattern match", "equals") \
                    and arch is None:
                arch, arch_op = (e.text or "").strip(), e.get("operation")
            else:
                return None
        if fixed is None:
            return None
        if fixed.startswith("0:"):
            fixed = fixed[2:]
        return (names, fixed, arch or "", arch_op or "")

    def _test_token(self, test_id, neg):
        t = self.tests[test_id]
        return ("T", _local(t.tag), t.get("comment"), t.get("check"), t.get("check_existence"),
                tuple(_canon_el(o) for o in self._refs(t, "object", "object_ref", self.objects)),
                tuple(_canon_el(s) for s in self._refs(t, "state", "state_ref", self.states)),
                neg)

    def _has_pkg(self, node, neg):
        if node.get("negate") == "true":
            neg = not neg
        n = _local(node.tag)
        if n == "criterion":
            return not neg and self.leaf(node.get("test_ref")) is not None
        if n == "extend_definition":
            crit = _kids(self.defs[node.get("definition_ref")], "criteria")
            return bool(crit) and self._has_pkg(crit[0], neg)
        return any(self._has_pkg(c, neg) for c in node if _local(c.tag) in self.CRIT)

    def _token(self, node, neg):
        if node.get("negate") == "true":
            neg = not neg
        n = _local(node.tag)
        if n == "criterion":
            return self._test_token(node.get("test_ref"), neg)
        if n == "extend_definition":
            d = self.defs[node.get("definition_ref")]
            return ("E", node.get("definition_ref"), self._token(_kids(d, "criteria")[0], neg))
        return ("S", node.get("operator") or "AND", neg,
                tuple(self._token(c, False) for c in node if _local(c.tag) in self.CRIT))

    def _dnf(self, node, neg):
        if not self._has_pkg(node, neg):
            return [[("C", self._token(node, neg))]]
        if node.get("negate") == "true":
            neg = not neg
        n = _local(node.tag)
        if n == "criterion":
            return [[("L", node.get("test_ref"))]]
        if n == "extend_definition":
            return self._dnf(_kids(self.defs[node.get("definition_ref")], "criteria")[0], neg)
        op = node.get("operator") or "AND"
        if op not in ("AND", "OR"):
            raise _Skip(op)          # ONE / XOR over packages: the definition is skipped
        if neg:
            op = "OR" if op == "AND" else "AND"
        parts = [self._dnf(c, neg) for c in node if _local(c.tag) in self.CRIT]
        if op == "OR":
            return [conj for part in parts for conj in part]
        out = [[]]
        for part in parts:
            out = [a + b for a in out for b in part]
        return out

    def records(self):
        out = set()
        for d in self.order:
            crit = _kids(d, "criteria")
            if d.get("class") not in ("patch", "vulnerability") or not crit:
                continue
            try:
                conjs = self._dnf(crit[0], False)
            except _Skip:
                continue
            for conj in conjs:
                leaves = [x[1] for x in conj if x[0] == "L"]
                if not leaves:
                    continue
                info = [self.leaf(t) for t in leaves]
                k = next((i for i, x in enumerate(info) if x[1]), 0)
                names, fixed, arch, arch_op = info[k]
                rest = (tuple(self._test_token(t, False) for i, t in enumerate(leaves) if i != k)
                        + tuple(x[1] for x in conj if x[0] == "C"))
                for name in names:
                    out.add((d.get("id"), name, fixed, arch, arch_op, rest))
        return out


_oval_cache = {}


def oval_model(data):
    key = (len(data), hash(data))
    if key not in _oval_cache:
        _oval_cache[key] = collections.Counter(
            (d, name, fixed, arch) for d, name, fixed, arch, _, _ in OvalModel(data).records())
    return _oval_cache[key]


def oval_key(r):
    return (json.loads(r["affected"])["oval"]["definition"], r["package_name"],
            r["fixed_in_version"], r["arch"])


# ---- the feeds -----------------------------------------------------------------

def fixture(*parts):
    with open(os.path.join(FIXTURES, *parts), "rb") as f:
        return f.read()


def oval_fixture(name):
    data = fixture("oval", name)
    return lzma.decompress(data) if name.endswith(".xz") else data


_COMPRESSORS = {
    "": lambda b: b,
    ".gz": lambda b: gzip.compress(b, mtime=0),
    ".bz2": bz2.compress,
    ".xz": lambda b: lzma.compress(b, format=lzma.FORMAT_XZ, preset=1),
}
_compressed = {}


def compress(ext, data):
    key = (ext, len(data), hash(data))
    if key not in _compressed:
        _compressed[key] = _COMPRESSORS[ext](data)
    return _compressed[key]


def make_zip(files):
    """A zip of {name: bytes}, entries at the top level, as osv.dev's
    <ecosystem>/all.zip."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in sorted(files.items()):
            z.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), data)
    return buf.getvalue()


class Setup:
    """A source served by the feed server: the configuration that points
    clarion at it, the files behind each updater, and the expected records
    (a Counter of keys per updater, keyed by keyfn)."""

    def __init__(self, source, config, paths, model, keyfn, picks=(), state=None):
        self.source, self.config, self.paths = source, config, paths
        self.model, self.keyfn, self.picks = model, keyfn, list(picks)
        self.state = state or {}

    def counts(self):
        return {u: sum(m.values()) for u, m in self.model.items()}


def write_config(tmp_path, *setups):
    cfg = {"updaters": {"sets": [s.source for s in setups], "config": {}}}
    for s in setups:
        cfg["updaters"]["config"].update(s.config)
    path = tmp_path / ("config-%s.json" % uuid.uuid4().hex[:8])
    path.write_text(json.dumps(cfg, indent=1))
    return str(path)


PREFIX = "prefix:"   # an expected value that is only the start of the field


def debian_setup(fs, doc=None):
    path = "debian/tracker/data/json"
    if doc is None:
        raw = fixture("feeds", "debian", "tracker-json-sample.json")
        doc = json.loads(raw)
    else:
        raw = json.dumps(doc, indent=1).encode()
    fs.put(path, raw)
    if not os.path.isdir(fs.path(DEBIAN_MIRROR)):
        debian_mirror(fs)
    return Setup("debian", {"debian": {"url": fs.url(path),
                                       "mirror": fs.url(DEBIAN_MIRROR)}},
                 {"debian": [path]},
                 {"debian": debian_model(doc)}, debian_key, DEBIAN_PICKS,
                 {"doc": doc, "path": path})


DEBIAN_MIRROR = "debian/mirror/"
# Release files of the fake archive: the real heads (fixtures, SOURCES.md)
# where there is one, else the same fields for the archived releases.
DEBIAN_RELEASES = {"jessie": "8.11", "stretch": "9.13", "buster": "10.13"}
DEBIAN_REAL = ["bookworm", "bullseye", "trixie", "sid"]


def debian_release(code):
    if code in DEBIAN_REAL:
        head = fixture("feeds", "debian", "release", "%s-InRelease-head" % code)
        return head.split(b"\n\n", 1)[1]          # Release: no PGP armour
    v = DEBIAN_RELEASES[code]
    return ("Origin: Debian\nLabel: Debian\nSuite: oldoldstable\nVersion: %s\n"
            "Codename: %s\nDate: Sat, 10 Sep 2022 10:18:01 UTC\n"
            "Architectures: amd64 arm64 armel armhf i386\n"
            "Components: main contrib non-free\nDescription: Debian %s Released\n"
            "MD5Sum:\n 0ed6d4c8891eb86358b94bb35d9e4da4  1484322 contrib/Contents-all\n"
            % (v, code, v)).encode()


def debian_mirror(fs, codes=None, skip=()):
    """dists/<codename>/Release for each codename, plus the aliases and side
    suites a real dists/ has (never to be read)."""
    for code in codes or list(DEBIAN_RELEASES) + DEBIAN_REAL:
        if code not in skip:
            fs.put(DEBIAN_MIRROR + "dists/%s/Release" % code, debian_release(code))
    for alias in ("stable", "bookworm-updates", "bookworm-backports", "experimental"):
        fs.put(DEBIAN_MIRROR + "dists/%s/Release" % alias, b"Codename: nonsense\nVersion: 99\n")


DEBIAN_COMMON = {"updater": "debian", "package_kind": "source", "package_module": "",
                 "dist_did": "debian", "dist_name": "Debian GNU/Linux",
                 "version_scheme": "dpkg", "issued": "", "arch": "", "arch_op": "",
                 "repo_name": "", "affected": ""}
DEBIAN_PICKS = [
    # chromium / CVE-2022-0456 / buster: "status": "open", "urgency": "end-of-life",
    # no description in the tracker
    dict(DEBIAN_COMMON, name="CVE-2022-0456", package_name="chromium",
         dist_version_code_name="buster", dist_version_id="10", dist_version="10 (buster)",
         dist_pretty_name="Debian GNU/Linux 10 (buster)", fixed_in_version="",
         severity="end-of-life", normalized_severity="Unknown", description="",
         links="https://security-tracker.debian.org/tracker/CVE-2022-0456"),
    # txt2man / CVE-2013-1444 / jessie: resolved in 1.5.5-4.1, urgency "low**"
    dict(DEBIAN_COMMON, name="CVE-2013-1444", package_name="txt2man",
         dist_version_code_name="jessie", dist_version_id="8", dist_version="8 (jessie)",
         dist_pretty_name="Debian GNU/Linux 8 (jessie)", fixed_in_version="1.5.5-4.1",
         severity="low**", normalized_severity="Low",
         description="A certain Debian patch for txt2man 1.5.5, as used in txt2man 1.5.5-2, "
                     "1.5.5-4, and others, allows local users to overwrite arbitrary files via "
                     "a symlink attack on /tmp/2222.",
         links="https://security-tracker.debian.org/tracker/CVE-2013-1444"),
    # prototypejs / CVE-2008-7220 / sid: resolved in 1.6.0.2-1, "high**"; sid has no number
    dict(DEBIAN_COMMON, name="CVE-2008-7220", package_name="prototypejs",
         dist_version_code_name="sid", dist_version_id="", dist_version="",
         dist_pretty_name="", fixed_in_version="1.6.0.2-1", severity="high**",
         normalized_severity="High",
         description=PREFIX + "Unspecified vulnerability in Prototype JavaScript framework",
         links="https://security-tracker.debian.org/tracker/CVE-2008-7220"),
]
# prototypejs / CVE-2007-2383: resolved with "fixed_version": "0" in every release
DEBIAN_ABSENT = [{"name": "CVE-2007-2383"}, {"name": "CVE-2022-0358"}]


def alpine_doc(branch, repo, packages):
    return json.dumps({"distroversion": branch, "reponame": repo,
                       "archs": ["x86_64", "x86", "armhf"],
                       "urlprefix": "http://dl-cdn.alpinelinux.org/alpine",
                       "apkurl": "{{urlprefix}}/{{distroversion}}/{{reponame}}/{{arch}}/"
                                 "{{pkg.name}}-{{pkg.ver}}.apk",
                       "packages": packages}, indent=2).encode()


# What the "branches" variant adds to v3.11 main, for the rules the fixture
# has no example of: a "0" key, a null list, the same id twice, commentary.
ALPINE_EXTRA = {"pkg": {"name": "clarion-test-pkg", "secfixes": {
    "0": ["CVE-2020-0001"],
    "1.0-r1": None,
    "1.0-r2": ["CVE-2020-0002 XSA-999", "CVE-2020-0002", "(commentary) CVE-2020-0003"],
    "1.0-r3": ["XSA-998 (no CVE)"],
}}}


def alpine_setup(fs, mode="discover"):
    """v3.3 main and community, v3.11 main from the fixtures, an empty v3.11
    community; discovery from the directory listing of alpine/ (which also
    lists v3.2, too old for secdb, and edge), or `branches`."""
    v33_main = fixture("feeds", "alpine", "v3.3", "main.json")
    v33_comm = fixture("feeds", "alpine", "v3.3", "community.json")
    v311_main = fixture("feeds", "alpine", "v3.11", "main.json")
    if mode == "branches":
        d = json.loads(v311_main)
        d["packages"].append(ALPINE_EXTRA)
        v311_main = json.dumps(d, indent=2).encode()
    files = {"alpine/v3.3/main.json": v33_main, "alpine/v3.3/community.json": v33_comm,
             "alpine/v3.11/main.json": v311_main,
             "alpine/v3.11/community.json": alpine_doc("v3.11", "community", None),
             "alpine/v3.2/main.json": alpine_doc("v3.2", "main", []),
             "alpine/edge/main.json": alpine_doc("edge", "main", []),
             "alpine/last-update": b"2020-06-08T00:00:00Z\n"}
    for p, data in files.items():
        fs.put(p, data)
    branches = ["v3.3", "v3.11"] if mode == "discover" else ["v3.11"]
    paths, model = {}, {}
    for br in branches:
        for repo in ("main", "community"):
            u = "alpine-%s-%s-updater" % (repo, br)
            p = "alpine/%s/%s.json" % (br, repo)
            paths[u] = [p]
            model[u] = alpine_model(json.loads(files[p]))
    if mode == "discover":
        cfg = {"alpine": {"url": fs.url("alpine/")}}
    else:
        # no trailing slash: the source adds it
        cfg = {"alpine": {"url": fs.url("alpine"), "branches": "3.11",
                          "repos": "main,community"}}
    return Setup("alpine", cfg, paths, model, alpine_key, ALPINE_PICKS[mode],
                 {"files": files})


ALPINE_COMMON = {"package_kind": "source", "package_module": "", "dist_did": "alpine",
                 "dist_name": "Alpine Linux", "dist_version": "",
                 "dist_version_code_name": "", "version_scheme": "apk", "severity": "",
                 "normalized_severity": "Unknown", "description": "", "issued": "",
                 "arch": "", "arch_op": "", "repo_name": "", "affected": ""}
ALPINE_V311 = dict(ALPINE_COMMON, updater="alpine-main-v3.11-updater", dist_version_id="3.11",
                   dist_pretty_name="Alpine Linux v3.11")
ALPINE_PICKS_V311 = [
    # v3.11/main.json, xen, "4.7.1-r5": ["XSA-207", ...]: no CVE, the first word
    dict(ALPINE_V311, name="XSA-207", package_name="xen", fixed_in_version="4.7.1-r5",
         links=""),
    # v3.11/main.json, tcpdump, "4.9.3-r0": [..., "CVE-2018-14882 (RPL)", ...]
    dict(ALPINE_V311, name="CVE-2018-14882", package_name="tcpdump",
         fixed_in_version="4.9.3-r0",
         links="https://security.alpinelinux.org/vuln/CVE-2018-14882"),
    # v3.11/main.json, xen, "4.8.1-r2": ["CVE-2017-8903 XSA-213", "CVE-2017-8904 XSA-214"]
    dict(ALPINE_V311, name="CVE-2017-8904", package_name="xen", fixed_in_version="4.8.1-r2",
         links="https://security.alpinelinux.org/vuln/CVE-2017-8904"),
]
ALPINE_PICKS = {
    "discover": ALPINE_PICKS_V311 + [
        # v3.3/main.json, the first package: apache2, "2.4.27-r1": ["CVE-2017-9798"]
        dict(ALPINE_COMMON, updater="alpine-main-v3.3-updater", name="CVE-2017-9798",
             package_name="apache2", fixed_in_version="2.4.27-r1", dist_version_id="3.3",
             dist_pretty_name="Alpine Linux v3.3",
             links="https://security.alpinelinux.org/vuln/CVE-2017-9798"),
    ],
    "branches": ALPINE_PICKS_V311 + [
        dict(ALPINE_V311, name="CVE-2020-0002", package_name="clarion-test-pkg",
             fixed_in_version="1.0-r2",
             links="https://security.alpinelinux.org/vuln/CVE-2020-0002"),
    ],
}
ALPINE_ABSENT = [{"name": "CVE-2020-0001"}, {"name": "CVE-2020-0003"},
                 {"name": "XSA-999"}, {"name": "XSA-214"}, {"name": "(RPL)"}]


def alma_files():
    files = {}
    for p in sorted(glob.glob(os.path.join(FEEDS, "alma", "advisories", "*", "*.json"))):
        with open(p, "rb") as f:
            files[os.path.basename(p)] = f.read()
    # A withdrawn advisory (AlmaLinux has none): ALSA-2024:9188 of AlmaLinux 9,
    # renamed and marked withdrawn.
    w = json.loads(files["ALSA-2024:9188.json"])
    w["id"] = "ALSA-2099:9188"
    w["withdrawn"] = "2024-12-01T00:00:00Z"
    files["ALSA-2099:9188.json"] = json.dumps(w, indent=2).encode()
    return files


def osv_setup(fs, source, files):
    if source == "alma":
        path = "osv/AlmaLinux/all.zip"
        url = fs.url(path)
        # a list: reaches the source as "8,9,10"
        cfg = {"alma": {"url": url, "releases": [8, 9, 10]}}
        eco, majors, picks = "AlmaLinux", ("8", "9", "10"), ALMA_PICKS
    else:
        path = "osv/Rocky Linux/all.zip"
        url = fs.url("osv/Rocky%20Linux/all.zip")
        cfg = {"rocky": {"url": url}}      # releases: the default, 8 9
        eco, majors, picks = "Rocky Linux", ("8", "9"), ROCKY_PICKS
    fs.put(path, make_zip(files))
    records = [json.loads(d) for d in files.values()]
    model = {"%s-%s" % (source, m): osv_model(records, "%s:%s" % (eco, m)) for m in majors}
    return Setup(source, cfg, {u: [path] for u in model}, model, osv_key, picks,
                 {"files": files, "path": path})


def alma_setup(fs):
    return osv_setup(fs, "alma", alma_files())


def rocky_files():
    files = {}
    for p in sorted(glob.glob(os.path.join(FEEDS, "rocky", "osv", "*.json"))):
        with open(p, "rb") as f:
            files[os.path.basename(p)] = f.read()
    return files


def rocky_setup(fs):
    return osv_setup(fs, "rocky", rocky_files())


ALMA_COMMON = {"package_kind": "binary", "dist_did": "almalinux", "dist_name": "AlmaLinux",
               "dist_version": "", "dist_version_code_name": "", "dist_pretty_name": "",
               "version_scheme": "rpm", "arch": "", "arch_op": ""}
ALMA_PICKS = [
    # almalinux9/ALSA-2023:6748.json: "Critical: squid security update", one package
    dict(ALMA_COMMON, updater="alma-9", name="ALSA-2023:6748", package_name="squid",
         dist_version_id="9", repo_name="AlmaLinux:9", fixed_in_version="7:5.5-6.el9_3.1",
         severity="Critical", normalized_severity="Critical", package_module="",
         issued="2023-11-07T00:00:00Z",
         description=PREFIX + "Squid is a high-performance proxy caching server",
         links="https://access.redhat.com/errata/RHSA-2023:6748 "
               "https://access.redhat.com/security/cve/CVE-2023-46846 "
               "https://access.redhat.com/security/cve/CVE-2023-46847 "
               "https://access.redhat.com/security/cve/CVE-2023-46848 "
               "https://bugzilla.redhat.com/2245910 https://bugzilla.redhat.com/2245916 "
               "https://bugzilla.redhat.com/2245919 "
               "https://errata.almalinux.org/9/ALSA-2023-6748.html",
         affected=json.dumps({"ranges": [{"type": "ECOSYSTEM", "events": [
             {"introduced": "0"}, {"fixed": "7:5.5-6.el9_3.1"}]}], "versions": []},
             separators=(",", ":"))),
    # almalinux8/ALSA-2022:5468.json: "ALSA-2022:5468: php:8.0 security update
    # (Important)", libzip 1.7.3-1.module_el8.6.0+2739+efabdb8f
    dict(ALMA_COMMON, updater="alma-8", name="ALSA-2022:5468", package_name="libzip",
         dist_version_id="8", repo_name="AlmaLinux:8",
         fixed_in_version="1.7.3-1.module_el8.6.0+2739+efabdb8f", severity="Important",
         normalized_severity="High", package_module="php:8.0"),
    # almalinux8/ALSA-2020:4670.json: "idm:DL1 and idm:client": two modules, none kept
    dict(ALMA_COMMON, updater="alma-8", name="ALSA-2020:4670", package_name="custodia",
         dist_version_id="8", repo_name="AlmaLinux:8",
         fixed_in_version="0.6.0-3.module_el8.6.0+2881+2f24dc92", severity="Moderate",
         normalized_severity="Medium", package_module=""),
    # almalinux8/ALEA-2021:1810.json: an enhancement, no severity word
    dict(ALMA_COMMON, updater="alma-8", name="ALEA-2021:1810", package_name="micropipenv",
         dist_version_id="8", fixed_in_version="1.0.2-1.el8", severity="",
         normalized_severity="Unknown"),
    # almalinux10/ALSA-2025:20145.json: "Low: shadow-utils security update"
    dict(ALMA_COMMON, updater="alma-10", name="ALSA-2025:20145", package_name="shadow-utils",
         dist_version_id="10", repo_name="AlmaLinux:10", fixed_in_version="2:4.15.0-8.el10",
         severity="Low", normalized_severity="Low"),
]
ROCKY_COMMON = {"package_kind": "binary", "dist_did": "rocky", "dist_name": "Rocky Linux",
                "version_scheme": "rpm", "arch": "", "arch_op": ""}
ROCKY_PICKS = [
    # RLSA-2021_3891.json: "Important: ..." and a CVSS 3.1 vector; the word wins
    dict(ROCKY_COMMON, updater="rocky-8", name="RLSA-2021:3891",
         package_name="java-11-openjdk", dist_version_id="8", repo_name="Rocky Linux:8",
         fixed_in_version="1:11.0.13.0.8-1.el8_4", severity="Important",
         normalized_severity="High", package_module="", issued="2021-10-20T12:41:00Z",
         links=PREFIX + "https://errata.rockylinux.org/RLSA-2021:3891 "
                        "https://bugzilla.redhat.com/show_bug.cgi?id=2014508 "),
    # RLSA-2024_3671.json: "Moderate: ruby:3.3 security, bug fix, and enhancement
    # update", ruby 0:3.3.1-2.module+el9.4.0+20787+4c237fd3
    dict(ROCKY_COMMON, updater="rocky-9", name="RLSA-2024:3671", package_name="ruby",
         dist_version_id="9", repo_name="Rocky Linux:9",
         fixed_in_version="0:3.3.1-2.module+el9.4.0+20787+4c237fd3", severity="Moderate",
         normalized_severity="Medium", package_module="ruby:3.3"),
]


# OVAL sources: (source, updater -> fixture, configuration, URL template
# and the value per updater)
OVAL_SOURCES = {
    "ubuntu": {"files": {"ubuntu/bionic": ("ubuntu-bionic-cve-sample.xml",
                                           "com.ubuntu.bionic.cve.oval.xml")},
               "template": "com.ubuntu.{series}.cve.oval.xml",
               "config": {"series": "bionic"}},
    "rhel": {"files": {"rhel-8": ("com.redhat.rhsa-RHEL8.xml.xz", "RHEL8/rhel-8.oval.xml")},
             "template": "RHEL{release}/rhel-{release}.oval.xml",
             "config": {"releases": "8"}},
    "oracle": {"files": {"oracle-2021": ("vunnel-oracle-elsa-2021-9151.xml",
                                         "com.oracle.elsa-2021.xml")},
               "template": "com.oracle.elsa-{year}.xml",
               "config": {"years": 2021}},
    "suse": {"files": {"suse/sles-15": ("vunnel-suse-kernel-definition.xml",
                                        "suse.linux.enterprise.server.15.xml"),
                       "suse/opensuse-leap-15.6": ("vunnel-suse-complete-definitions.xml",
                                                   "opensuse.leap.15.6.xml")},
             "template": "{file}.xml",
             "config": {"releases": "sles-15 opensuse-leap-15.6"}},
    "photon": {"files": {"photon-3.0": ("com.vmware.phsa-photon3.xml.xz",
                                        "com.vmware.phsa-photon3.xml")},
               "template": "com.vmware.phsa-photon{major}.xml",
               "config": {"releases": "3.0"}},
}


def oval_setup(fs, source, ext="", docs=None):
    """Serves the source's fixtures (or docs: updater -> XML bytes),
    compressed by ext."""
    spec = OVAL_SOURCES[source]
    paths, model, served = {}, {}, {}
    for u, (fix, name) in spec["files"].items():
        data = docs[u] if docs and u in docs else oval_fixture(fix)
        p = "oval/%s/%s%s" % (source, name, ext)
        fs.put(p, compress(ext, data))
        paths[u], model[u], served[u] = [p], oval_model(data), data
    cfg = dict(spec["config"], url=fs.url("oval/%s/%s%s" % (source, spec["template"], ext)))
    return Setup(source, {source: cfg}, paths, model, oval_key, OVAL_PICKS[source],
                 {"docs": served, "ext": ext})


OVAL_PICKS = {
    "ubuntu": [
        # definition ...def:202017120000000 (CVE-2020-1712, systemd fixed in
        # 237-3ubuntu10.38); udev is one of the 14 binaries of var:202017120000000
        {"updater": "ubuntu/bionic", "name": "CVE-2020-1712", "package_name": "udev",
         "package_kind": "binary", "fixed_in_version": "237-3ubuntu10.38",
         "severity": "Medium", "normalized_severity": "Medium", "dist_did": "ubuntu",
         "dist_name": "Ubuntu", "dist_version_id": "18.04", "dist_version": "18.04 LTS",
         "dist_version_code_name": "bionic", "version_scheme": "dpkg",
         "issued": "2020-03-31T17:15:00Z",
         "links": "https://cve.mitre.org/cgi-bin/cvename.cgi?name=CVE-2020-1712 "
                  "https://ubuntu.com/security/CVE-2020-1712 "
                  "https://ubuntu.com/security/notices/USN-4269-1",
         "description": PREFIX + "A heap use-after-free vulnerability was found in systemd"},
        # ...def:2020102320000000: sleuthkit "is affected and needs fixing" (no state)
        {"updater": "ubuntu/bionic", "name": "CVE-2020-10232", "package_name": "libtsk13",
         "fixed_in_version": "", "severity": "Medium", "normalized_severity": "Medium",
         "issued": "2020-03-09T00:15:00Z", "dist_version_id": "18.04"},
    ],
    "rhel": [
        # def:20191527, "RHSA-2019:1527: WALinuxAgent security update (Moderate)",
        # WALinuxAgent earlier than 0:2.2.32-1.el8_0.1
        {"updater": "rhel-8", "name": "RHSA-2019:1527", "package_name": "WALinuxAgent",
         "package_kind": "binary", "package_module": "", "fixed_in_version": "2.2.32-1.el8_0.1",
         "severity": "Moderate", "normalized_severity": "Medium", "dist_did": "rhel",
         "dist_name": "Red Hat Enterprise Linux", "dist_version": "8", "dist_version_id": "8",
         "version_scheme": "rpm", "issued": "2019-06-18T00:00:00Z", "arch": "", "arch_op": "",
         "links": "https://access.redhat.com/errata/RHSA-2019:1527 "
                  "https://access.redhat.com/security/cve/CVE-2019-0804 "
                  "https://bugzilla.redhat.com/1684181"},
        # def:20191619 (vim, Important): the epoch is kept, 2:8.0.1763-11.el8_0
        {"updater": "rhel-8", "name": "RHSA-2019:1619", "package_name": "vim-minimal",
         "fixed_in_version": "2:8.0.1763-11.el8_0", "arch": "aarch64|ppc64le|s390x|x86_64",
         "arch_op": "pattern match", "severity": "Important", "normalized_severity": "High"},
    ],
    "oracle": [
        # def:20219151 (ELSA-2021-9151, IMPORTANT): openssl-libs earlier than
        # 2:1.1.1g-15.ksplice1.el8_3, once per arch group (2 records)
        {"updater": "oracle-2021", "name": "ELSA-2021-9151", "package_name": "openssl-libs",
         "package_kind": "binary", "fixed_in_version": "2:1.1.1g-15.ksplice1.el8_3",
         "severity": "IMPORTANT", "normalized_severity": "High", "dist_did": "ol",
         "dist_name": "Oracle Linux Server", "dist_version": "8", "dist_version_id": "8",
         "version_scheme": "rpm", "issued": "2021-04-01T00:00:00Z", "arch": "",
         "links": "https://linux.oracle.com/errata/ELSA-2021-9151.html "
                  "https://linux.oracle.com/cve/CVE-2021-3449.html "
                  "https://linux.oracle.com/cve/CVE-2021-3450.html"},
    ],
    "suse": [
        # def:202129154 (CVE-2021-29154, <severity>Important), first branch:
        # SLES 15-LTSS, kernel-default < 0:4.12.14-150.72.1 for 4 arches
        {"updater": "suse/sles-15", "name": "CVE-2021-29154", "package_name": "kernel-default",
         "package_kind": "binary", "fixed_in_version": "4.12.14-150.72.1",
         "arch": "(aarch64|ppc64le|s390x|x86_64)", "arch_op": "pattern match",
         "severity": "Important", "normalized_severity": "High", "dist_did": "sles",
         "dist_name": "SLES", "dist_version": "15", "dist_version_id": "15",
         "version_scheme": "rpm", "issued": "2021-04-30T00:00:00Z",
         "description": PREFIX + "BPF JIT compilers in the Linux kernel through 5.11.12",
         "links": PREFIX + "https://cve.mitre.org/cgi-bin/cvename.cgi?name=CVE-2021-29154 "
                           "https://www.suse.com/security/cve/CVE-2021-29154 "},
        # the SP1-BCL and SP1-LTSS branches: 4.12.14-197.89.2 twice, different checks
        {"updater": "suse/sles-15", "name": "CVE-2021-29154", "package_name": "kernel-default",
         "fixed_in_version": "4.12.14-197.89.2", "dist_version_id": "15", "count": 2},
    ],
    "photon": [
        # def:2020300133, "PHSA-2020:00133 kibana Security Update. (Critical)"
        {"updater": "photon-3.0", "name": "PHSA-2020:00133", "package_name": "kibana",
         "package_kind": "binary", "fixed_in_version": "6.4.3-1.ph3", "severity": "Critical",
         "normalized_severity": "Critical", "dist_did": "photon",
         "dist_name": "VMware Photon OS", "dist_version": "3.0", "dist_version_id": "3.0",
         "version_scheme": "rpm", "issued": "2019-02-26T00:00:00Z",
         "links": "https://github.com/vmware/photon/wiki/Security-Updates-3.0-0002 "
                  "https://nvd.nist.gov/vuln/detail?vulnId=CVE-2018-17246 "
                  "https://nvd.nist.gov/vuln/detail?vulnId=CVE-2018-17245"},
        # def:2020300040, "PHSA-2020:00040 tar Security Update. (Low)"
        {"updater": "photon-3.0", "name": "PHSA-2020:00040", "package_name": "tar",
         "fixed_in_version": "1.30-3.ph3", "severity": "Low", "normalized_severity": "Low"},
    ],
}

MATCH = ("updater", "name", "package_name", "fixed_in_version", "dist_version_code_name",
         "arch")


def check_picks(recs, picks):
    for pick in picks:
        pick = dict(pick)
        want_n = pick.pop("count", None)
        found = [r for r in recs if all(r[k] == pick[k] for k in MATCH if k in pick)]
        assert found, "no record %s" % {k: pick[k] for k in MATCH if k in pick}
        if want_n is not None:
            assert len(found) == want_n, found
        for r in found:
            for k, v in pick.items():
                if isinstance(v, str) and v.startswith(PREFIX):
                    assert r[k].startswith(v[len(PREFIX):]), (k, r[k])
                else:
                    assert r[k] == v, (k, r[k], v)


def check_model(setup, recs):
    for u, want in setup.model.items():
        got = collections.Counter(setup.keyfn(r) for r in recs if r["updater"] == u)
        assert got == want, (u, got - want, want - got)


SETUPS = {
    "debian": debian_setup,
    "alpine-discover": lambda fs: alpine_setup(fs, "discover"),
    "alpine-branches": lambda fs: alpine_setup(fs, "branches"),
    "alma": alma_setup,
    "rocky": rocky_setup,
    "ubuntu": lambda fs: oval_setup(fs, "ubuntu"),
    "rhel": lambda fs: oval_setup(fs, "rhel"),
    "oracle": lambda fs: oval_setup(fs, "oracle"),
    "suse": lambda fs: oval_setup(fs, "suse"),
    "photon": lambda fs: oval_setup(fs, "photon"),
}
BASE = ["debian", "alpine-discover", "alma", "rocky", "ubuntu", "rhel", "oracle", "suse",
        "photon"]


def update(clarion, env, cfg, db, *sources):
    args = ["update", "--config", cfg, "--db", db]
    for s in sources:
        args += ["--source", s]
    return clarion_run(clarion, env, *args)


def conditional(fs, path):
    """The conditional headers of the last GET of path."""
    reqs = [h for m, q, h in fs.requests
            if m == "GET" and urllib.parse.unquote(q).lstrip("/") == path]
    assert reqs, path
    return {k: v for k, v in reqs[-1].items() if k.lower().startswith("if-")}


# ---- first run, record by record, then unchanged -------------------------------

@pytest.mark.parametrize("case", list(SETUPS))
def test_first_run_then_unchanged(clarion, env, tmp_path, db, feed_server, case):
    su = SETUPS[case](feed_server)
    cfg = write_config(tmp_path, su)
    p = update(clarion, env, cfg, db, su.source)
    assert p.returncode == 0, p.stdout + p.stderr
    want = su.counts()
    assert report(p) == {u: ("updated", n, "") for u, n in want.items()}, p.stdout
    assert sum(want.values()) > 0, want

    st = status(clarion, env, db, "--source", su.source)
    assert {u: (s["records"], s["error"]) for u, s in st.items()} == \
        {u: (n, "-") for u, n in want.items()}
    assert all(s["success"] == s["attempt"] != "never" for s in st.values()), st

    ops, recs = export(clarion, env, db, tmp_path, su.source)
    assert {u: op["count"] for u, op in ops.items()} == want
    check_model(su, recs)
    check_picks(recs, su.picks)
    if su.source == "debian":
        for absent in DEBIAN_ABSENT:
            assert not [r for r in recs if r["name"] == absent["name"]]
    if su.source == "alpine":
        for absent in ALPINE_ABSENT:
            assert not [r for r in recs if r["name"] == absent["name"]]
        if case == "alpine-branches":
            # no index page was asked for: the branches are configured
            assert feed_server.count("alpine/") == feed_server.count("alpine") == 0
    if su.source == "alma":
        assert not [r for r in recs if r["name"] == "ALSA-2099:9188"]   # withdrawn

    # The same feeds again: conditional requests, nothing new stored.
    p = update(clarion, env, cfg, db, su.source)
    assert p.returncode == 0, p.stdout + p.stderr
    assert report(p) == {u: ("unchanged", n, "") for u, n in want.items()}, p.stdout
    for paths in su.paths.values():
        for path in paths:
            assert "If-None-Match" in conditional(feed_server, path), path
    ops2, recs2 = export(clarion, env, db, tmp_path, su.source)
    assert {u: op["ref"] for u, op in ops2.items()} == {u: op["ref"] for u, op in ops.items()}
    assert sorted(map(record_line, recs2)) == sorted(map(record_line, recs))
    st2 = status(clarion, env, db, "--source", su.source)
    for u, s in st2.items():
        assert s["records"] == want[u] and s["error"] == "-"
        assert s["success"] > st[u]["success"]       # the unchanged run succeeded too


@pytest.mark.parametrize("ext", [".gz", ".bz2", ".xz"])
def test_oval_compressed(clarion, env, tmp_path, db, feed_server, ext):
    """Every OVAL source from compressed documents (the URL template ends in
    the extension; clarion goes by the content)."""
    setups = [oval_setup(feed_server, s, ext) for s in OVAL_SOURCES]
    cfg = write_config(tmp_path, *setups)
    p = update(clarion, env, cfg, db)
    assert p.returncode == 0, p.stdout + p.stderr
    want = {}
    for su in setups:
        want.update(su.counts())
    assert report(p) == {u: ("updated", n, "") for u, n in want.items()}, p.stdout
    ops, recs = export(clarion, env, db, tmp_path)
    assert {u: op["count"] for u, op in ops.items()} == want
    for su in setups:
        check_model(su, recs)
        check_picks(recs, su.picks)


# ---- unchanged by content hash, for a server without validators ----------------

@pytest.mark.parametrize("case", BASE)
def test_unchanged_without_validators(clarion, env, tmp_path, db, feed_server, case):
    feed_server.validators(etag=False, last_modified=False)
    su = SETUPS[case](feed_server)
    cfg = write_config(tmp_path, su)
    p = update(clarion, env, cfg, db, su.source)
    assert p.returncode == 0, p.stdout + p.stderr
    want = su.counts()
    assert report(p) == {u: ("updated", n, "") for u, n in want.items()}, p.stdout
    ops, recs = export(clarion, env, db, tmp_path, su.source)
    for op in ops.values():
        fp = json.loads(op["fingerprint"])
        assert fp["etag"] is None and fp["last_modified"] is None, fp
        assert re.fullmatch(r"[0-9a-f]{64}", fp["sha256"]), fp

    feed_server.reset()
    feed_server.validators(etag=False, last_modified=False)
    p = update(clarion, env, cfg, db, su.source)
    assert p.returncode == 0, p.stdout + p.stderr
    assert report(p) == {u: ("unchanged", n, "") for u, n in want.items()}, p.stdout
    # The whole document came again (nothing to make the request conditional).
    for paths in su.paths.values():
        for path in paths:
            assert conditional(feed_server, path) == {}, path
    ops2, recs2 = export(clarion, env, db, tmp_path, su.source)
    assert {u: op["ref"] for u, op in ops2.items()} == {u: op["ref"] for u, op in ops.items()}
    assert sorted(map(record_line, recs2)) == sorted(map(record_line, recs))


# ---- a changed feed: one record removed, one added -----------------------------

def oval_def_re(def_id):
    return re.compile(r'<definition [^>]*id="%s"[^>]*>.*?</definition>\s*' % re.escape(def_id),
                      re.S)


def oval_drop_def(xml, def_id):
    xml, n = oval_def_re(def_id).subn("", xml, count=1)
    assert n == 1, def_id
    return xml


def oval_copy_def(xml, def_id, new_id, old, new):
    m = oval_def_re(def_id).search(xml)
    assert m, def_id
    copy = m.group(0).replace('id="%s"' % def_id, 'id="%s"' % new_id).replace(old, new)
    i = xml.index("</definitions>")
    return xml[:i] + copy + xml[i:]


def replace_once(text, old, new, nth=0):
    """Replaces the nth occurrence of old."""
    at = -1
    for _ in range(nth + 1):
        at = text.index(old, at + 1)
    return text[:at] + new + text[at + len(old):]


def change_debian(fs, su):
    doc = json.loads(json.dumps(su.state["doc"]))
    # out: txt2man / CVE-2013-1444 / sid
    del doc["txt2man"]["CVE-2013-1444"]["releases"]["sid"]
    # in: a new open issue of backupninja in bookworm
    doc["backupninja"]["CVE-2099-0001"] = {
        "scope": "local", "description": "a new issue",
        "releases": {"bookworm": {"status": "open", "repositories": {"bookworm": "1.2.2-1"},
                                  "urgency": "unimportant"}}}
    new = debian_setup(fs, doc)
    return new, "debian", [
        {"name": "CVE-2013-1444", "package_name": "txt2man", "dist_version_code_name": "sid"}], [
        {"name": "CVE-2099-0001", "package_name": "backupninja",
         "dist_version_code_name": "bookworm", "fixed_in_version": "",
         "normalized_severity": "Negligible", "description": "a new issue"}]


def change_alpine(fs, su):
    d = json.loads(su.state["files"]["alpine/v3.3/main.json"])
    for e in d["packages"]:
        if e["pkg"]["name"] == "bash":          # "4.3.42-r5": ["CVE-2016-9401"]
            e["pkg"]["secfixes"]["4.3.42-r5"].remove("CVE-2016-9401")
        if e["pkg"]["name"] == "augeas":        # "1.4.0-r5": ["CVE-2017-7555"]
            e["pkg"]["secfixes"]["1.4.0-r5"].append("CVE-2099-0002")
    fs.put("alpine/v3.3/main.json", json.dumps(d, indent=2).encode())
    su.model["alpine-main-v3.3-updater"] = alpine_model(d)
    return su, "alpine-main-v3.3-updater", [
        {"name": "CVE-2016-9401", "package_name": "bash"}], [
        {"name": "CVE-2099-0002", "package_name": "augeas", "fixed_in_version": "1.4.0-r5"}]


def change_osv(fs, su, drop, copy_of, new_id, updater):
    files = dict(su.state["files"])
    del files[drop]
    rec = json.loads(files[copy_of])
    rec["id"] = new_id
    files[new_id.replace("/", "_") + ".json"] = json.dumps(rec, indent=2).encode()
    return osv_setup(fs, su.source, files), updater


def change_alma(fs, su):
    new, u = change_osv(fs, su, "ALSA-2023:6748.json", "ALSA-2024:9188.json",
                        "ALSA-2099:0001", "alma-9")
    return new, u, [{"name": "ALSA-2023:6748", "package_name": "squid"}], [
        {"name": "ALSA-2099:0001", "package_name": "bpftrace", "fixed_in_version": "0.21.1-1.el9",
         "severity": "Low"}]


def change_rocky(fs, su):
    new, u = change_osv(fs, su, "RLSA-2023_3220.json", "RLSA-2021_3891.json",
                        "RLSA-2099:0001", "rocky-8")
    return new, u, [{"name": "RLSA-2023:3220", "package_name": "firefox"}], [
        {"name": "RLSA-2099:0001", "package_name": "java-11-openjdk",
         "fixed_in_version": "1:11.0.13.0.8-1.el8_4"}]


def change_oval(fs, su, updater, edit):
    docs = dict(su.state["docs"])
    docs[updater] = edit(docs[updater].decode()).encode()
    return oval_setup(fs, su.source, su.state["ext"], docs)


def change_ubuntu(fs, su):
    def edit(x):
        # out: libtsk13, one of sleuthkit's binaries; in: libxml2-dev for libxml2
        x = replace_once(x, "      <value>libtsk13</value>\n", "")
        return replace_once(x, "      <value>python3-libxml2</value>\n",
                            "      <value>python3-libxml2</value>\n"
                            "      <value>libxml2-dev</value>\n")
    return change_oval(fs, su, "ubuntu/bionic", edit), "ubuntu/bionic", [
        {"name": "CVE-2020-10232", "package_name": "libtsk13"}], [
        {"name": "CVE-2020-7595", "package_name": "libxml2-dev",
         "fixed_in_version": "2.9.4+dfsg1-6.1ubuntu1.3"}]


def change_rhel(fs, su):
    def edit(x):
        # out: RHSA-2019:3590 (python3-urllib3 only); in: a copy of
        # RHSA-2019:1527 (WALinuxAgent only) as RHSA-2099:1527
        x = oval_drop_def(x, "oval:com.redhat.rhsa:def:20193590")
        return oval_copy_def(x, "oval:com.redhat.rhsa:def:20191527",
                             "oval:com.redhat.rhsa:def:20991527",
                             'ref_id="RHSA-2019:1527"', 'ref_id="RHSA-2099:1527"')
    return change_oval(fs, su, "rhel-8", edit), "rhel-8", [
        {"name": "RHSA-2019:3590", "package_name": "python3-urllib3"}], [
        {"name": "RHSA-2099:1527", "package_name": "WALinuxAgent",
         "fixed_in_version": "2.2.32-1.el8_0.1"}]


ORACLE_GROUP = ('<criteria operator="AND">\n'
                '<criterion test_ref="oval:com.oracle.elsa:tst:2021915%s" comment="%s is earlier '
                'than 2:1.1.1g-15.ksplice1.el8_3"/>\n'
                '<criterion test_ref="oval:com.oracle.elsa:tst:2021915%s" comment="%s is signed '
                'with the Oracle Linux 8 key"/>\n'
                '<criterion test_ref="oval:com.oracle.elsa:tst:2021915%s" comment="%s is '
                'ksplice-based"/>\n'
                '</criteria>\n')


def change_oracle(fs, su):
    def edit(x):
        # In the x86_64 group (the second occurrence of openssl-perl's
        # tests): openssl-perl out, openssl-static (tests 018-020, so far
        # aarch64 only) in.
        perl = ORACLE_GROUP % ("1015", "openssl-perl", "1016", "openssl-perl", "1017",
                               "openssl-perl")
        static = ORACLE_GROUP % ("1018", "openssl-static", "1019", "openssl-static", "1020",
                                 "openssl-static")
        assert x.count(perl) == 2
        return replace_once(x, perl, static, nth=1)
    return change_oval(fs, su, "oracle-2021", edit), "oracle-2021", [
        {"name": "ELSA-2021-9151", "package_name": "openssl-perl", "arch_group": "x86_64"}], [
        {"name": "ELSA-2021-9151", "package_name": "openssl-static", "arch_group": "x86_64"}]


def change_suse(fs, su):
    def edit(x):
        # The SLES 15-LTSS branch's test now refers to the 4.12.14-197.89.2
        # state: its 150.72.1 record goes, a 197.89.2 one under the
        # 15-LTSS check comes.
        return replace_once(x, 'state_ref="oval:org.opensuse.security:ste:2009118739"',
                            'state_ref="oval:org.opensuse.security:ste:2009118764"')
    return change_oval(fs, su, "suse/sles-15", edit), "suse/sles-15", [
        {"name": "CVE-2021-29154", "fixed_in_version": "4.12.14-150.72.1"}], [
        {"name": "CVE-2021-29154", "fixed_in_version": "4.12.14-197.89.2",
         "condition": "sles-ltss-release is ==15"}]


def change_photon(fs, su):
    def edit(x):
        x = oval_drop_def(x, "oval:com.vmware.phsa:def:2020300040")      # tar
        return oval_copy_def(x, "oval:com.vmware.phsa:def:2020300133",   # kibana
                             "oval:com.vmware.phsa:def:2020399133",
                             "<title>PHSA-2020:00133 ", "<title>PHSA-2099:00133 ")
    return change_oval(fs, su, "photon-3.0", edit), "photon-3.0", [
        {"name": "PHSA-2020:00040", "package_name": "tar"}], [
        {"name": "PHSA-2099:00133", "package_name": "kibana", "fixed_in_version": "6.4.3-1.ph3",
         "severity": "Critical"}]


CHANGES = {"debian": change_debian, "alpine-discover": change_alpine, "alma": change_alma,
           "rocky": change_rocky, "ubuntu": change_ubuntu, "rhel": change_rhel,
           "oracle": change_oracle, "suse": change_suse, "photon": change_photon}


def matches(r, want):
    for k, v in want.items():
        if k == "arch_group":
            if '"Oracle Linux arch is %s"' % v not in r["affected"]:
                return False
        elif k == "condition":
            if '"comment":"%s"' % v not in r["affected"]:
                return False
        elif r[k] != v:
            return False
    return True


@pytest.mark.parametrize("case", BASE)
def test_changed_feed(clarion, env, tmp_path, db, feed_server, case):
    su = SETUPS[case](feed_server)
    cfg = write_config(tmp_path, su)
    p = update(clarion, env, cfg, db, su.source)
    assert p.returncode == 0, p.stdout + p.stderr
    before_counts = su.counts()
    ops1, recs1 = export(clarion, env, db, tmp_path, su.source)

    new, changed, gone, came = CHANGES[case](feed_server, su)
    cfg = write_config(tmp_path, new)
    p = update(clarion, env, cfg, db, new.source)
    assert p.returncode == 0, p.stdout + p.stderr
    rep = report(p)
    want = new.counts()
    assert want[changed] == before_counts[changed]        # one out, one in
    # The changed updater stored a new operation; updaters reading the
    # same changed document (OSV's zip) store one with the same records;
    # the others were asked conditionally and had nothing new.
    shares = {u for u, ps in new.paths.items() if ps == new.paths[changed]}
    assert rep == {u: ("updated" if u in shares else "unchanged", n, "")
                   for u, n in want.items()}, p.stdout
    assert diff_logged(p, changed) == (1, 1)
    for u in shares - {changed}:
        assert diff_logged(p, u) == (0, 0)

    ops2, recs2 = export(clarion, env, db, tmp_path, new.source)
    for u in want:
        assert (ops2[u]["ref"] != ops1[u]["ref"]) == (u in shares), u
    check_model(new, recs2)
    before = {record_line(r): r for r in recs1}
    after = {record_line(r): r for r in recs2}
    removed = [before[k] for k in before.keys() - after.keys()]
    added = [after[k] for k in after.keys() - before.keys()]
    assert len(removed) == 1 and len(added) == 1, (removed, added)
    assert removed[0]["updater"] == added[0]["updater"] == changed
    for want_r, got in ((gone[0], removed[0]), (came[0], added[0])):
        assert matches(got, want_r), (want_r, got)
    # Nothing else moved: the other records are the very same lines.
    assert len(before) - 1 == len(after) - 1 == len(set(before) & set(after))


# ---- Debian release numbers from the archive ------------------------------------

def debian_numbers(recs):
    nums = collections.defaultdict(set)
    for r in recs:
        nums[r["dist_version_code_name"]].add(r["dist_version_id"])
    return {k: sorted(v) for k, v in nums.items()}


def test_debian_release_discovery(clarion, env, tmp_path, db, feed_server):
    su = debian_setup(feed_server)
    cfg = write_config(tmp_path, su)
    p = update(clarion, env, cfg, db, "debian")
    assert p.returncode == 0, p.stdout + p.stderr
    ops, recs = export(clarion, env, db, tmp_path, "debian")
    nums = debian_numbers(recs)
    assert nums == {"jessie": ["8"], "stretch": ["9"], "buster": ["10"],
                    "bullseye": ["11"], "bookworm": ["12"], "trixie": ["13"],
                    "sid": [""]}, nums
    fp = json.loads(ops["debian"]["fingerprint"])
    assert fp["releases"]["trixie"] == "13" and fp["releases"]["sid"] == "", fp
    for alias in ("stable", "bookworm-updates", "bookworm-backports", "experimental"):
        assert feed_server.count(DEBIAN_MIRROR + "dists/%s/Release" % alias) == 0
    assert "warn" not in p.stderr.lower(), p.stderr


def test_debian_release_file_missing(clarion, env, tmp_path, db, feed_server):
    debian_mirror(feed_server, skip=("trixie",))
    os.makedirs(feed_server.path(DEBIAN_MIRROR + "dists/trixie"))   # listed, no Release
    su = debian_setup(feed_server)
    cfg = write_config(tmp_path, su)
    p = update(clarion, env, cfg, db, "debian")
    assert p.returncode == 0, p.stdout + p.stderr
    assert report(p)["debian"][0] == "updated", p.stdout
    assert "trixie" in p.stderr and "warn" in p.stderr.lower(), p.stderr
    assert feed_server.count(DEBIAN_MIRROR + "dists/trixie/InRelease") == 1
    _, recs = export(clarion, env, db, tmp_path, "debian")
    nums = debian_numbers(recs)
    assert nums["trixie"] == [""] and nums["bookworm"] == ["12"], nums
    assert sum(su.counts().values()) == len(recs)


def test_debian_listing_down(clarion, env, tmp_path, db, feed_server):
    su = debian_setup(feed_server)
    su.config["debian"]["releases"] = "jessie=8 buster=10"
    cfg = write_config(tmp_path, su)
    feed_server.fail(DEBIAN_MIRROR + "dists/", status=503)
    p = update(clarion, env, cfg, db, "debian")
    assert p.returncode == 0, p.stdout + p.stderr
    assert report(p)["debian"][0] == "updated", p.stdout
    assert "releases setting" in p.stderr, p.stderr
    _, recs = export(clarion, env, db, tmp_path, "debian")
    nums = debian_numbers(recs)
    assert nums["jessie"] == ["8"] and nums["buster"] == ["10"], nums
    assert nums["bookworm"] == [""] and nums["sid"] == [""], nums
    check_model(su, recs)
    check_picks(recs, su.picks)


def test_debian_setting_overrides_archive(clarion, env, tmp_path, db, feed_server):
    su = debian_setup(feed_server)
    su.config["debian"]["releases"] = "bookworm=42"
    cfg = write_config(tmp_path, su)
    p = update(clarion, env, cfg, db, "debian")
    assert p.returncode == 0, p.stdout + p.stderr
    _, recs = export(clarion, env, db, tmp_path, "debian")
    nums = debian_numbers(recs)
    assert nums["bookworm"] == ["42"] and nums["trixie"] == ["13"], nums


def test_debian_new_release_is_a_change(clarion, env, tmp_path, db, feed_server):
    debian_mirror(feed_server, skip=("trixie",))
    su = debian_setup(feed_server)
    cfg = write_config(tmp_path, su)
    n = sum(su.counts().values())
    p = update(clarion, env, cfg, db, "debian")
    assert p.returncode == 0, p.stdout + p.stderr
    _, recs = export(clarion, env, db, tmp_path, "debian")
    assert debian_numbers(recs)["trixie"] == [""]
    p = update(clarion, env, cfg, db, "debian")
    assert report(p) == {"debian": ("unchanged", n, "")}, p.stdout

    # trixie is released: the tracker is the same, the numbers are not.
    feed_server.put(DEBIAN_MIRROR + "dists/trixie/Release", debian_release("trixie"))
    p = update(clarion, env, cfg, db, "debian")
    assert p.returncode == 0, p.stdout + p.stderr
    assert report(p) == {"debian": ("updated", n, "")}, p.stdout
    _, recs = export(clarion, env, db, tmp_path, "debian")
    assert debian_numbers(recs)["trixie"] == ["13"]
    p = update(clarion, env, cfg, db, "debian")
    assert report(p) == {"debian": ("unchanged", n, "")}, p.stdout


# ---- malformed feeds: the updater fails, the previous data stays ---------------

def cut(data, frac=0.5):
    return data[: int(len(data) * frac)]


def bad_debian_json(fs, su):
    raw = fixture("feeds", "debian", "tracker-json-sample.json")
    # a stray comma inside the txt2man package
    fs.put(su.state["path"], raw.replace(b'"txt2man": {', b'"txt2man": {,', 1))
    return {"debian": ["parse:", "txt2man"]}


def wrong_debian_types(fs, su):
    doc = json.loads(json.dumps(su.state["doc"]))
    doc["sope"]["CVE-2025-53603"]["releases"]["trixie"]["fixed_version"] = 5
    fs.put(su.state["path"], json.dumps(doc).encode())
    return {"debian": ["parse:", "sope", "CVE-2025-53603", "trixie",
                       "fixed_version is not a string"]}


def cut_debian(fs, su):
    fs.put(su.state["path"], cut(fixture("feeds", "debian", "tracker-json-sample.json")))
    return {"debian": ["parse:", "truncated document"]}


def bad_alpine_json(fs, su):
    fs.put("alpine/v3.3/main.json", cut(su.state["files"]["alpine/v3.3/main.json"], 0.3))
    return {"alpine-main-v3.3-updater": ["parse:", "line ", "column "]}


def wrong_alpine_types(fs, su):
    d = json.loads(su.state["files"]["alpine/v3.11/main.json"])
    d["packages"][0]["pkg"]["secfixes"] = {"1.0-r0": "CVE-2099-0003"}
    fs.put("alpine/v3.11/main.json", json.dumps(d).encode())
    return {"alpine-main-v3.11-updater": ["parse:", "is not a list"]}


def bad_osv_json(fs, su):
    files = dict(su.state["files"])
    files["ALSA-2024:3120.json"] = files["ALSA-2024:3120.json"][:-40]
    fs.put(su.state["path"], make_zip(files))
    # every updater reads every record of the export
    return {u: ["parse:", "ALSA-2024:3120.json", "line "] for u in su.model}


def wrong_osv_types(fs, su):
    files = dict(su.state["files"])
    rec = json.loads(files["RLSA-2024_3671.json"])
    rec["affected"] = {"package": rec["affected"][0]["package"]}
    files["RLSA-2024_3671.json"] = json.dumps(rec).encode()
    fs.put(su.state["path"], make_zip(files))
    return {u: ["parse:", "RLSA-2024:3671", "affected is not an array"] for u in su.model}


def cut_osv_zip(fs, su):
    fs.put(su.state["path"], cut(make_zip(su.state["files"])))
    # unpacked by the fetch ("fetch: URL: corrupt zip data: Truncated ZIP
    # file data") or read in place by the parser ("parse: FILE!MEMBER:
    # Truncated ZIP file data")
    return {u: ["truncated zip file data"] for u in su.model}


def bad_oval_xml(fs, su):
    x = su.state["docs"]["rhel-8"]
    fs.put(su.paths["rhel-8"][0], x.replace(b"</title>", b"</titel>", 1))
    return {"rhel-8": ["parse:", "rhel-8", "line "]}


def cut_oval_xml(fs, su):
    fs.put(su.paths["oracle-2021"][0], cut(su.state["docs"]["oracle-2021"], 0.7))
    return {"oracle-2021": ["parse:", "oracle-2021"]}


def wrong_oval_ref(fs, su):
    x = su.state["docs"]["oracle-2021"]
    fs.put(su.paths["oracle-2021"][0],
           x.replace(b'test_ref="oval:com.oracle.elsa:tst:20219151009"',
                     b'test_ref="oval:com.oracle.elsa:tst:20219159999"', 1))
    return {"oracle-2021": ["parse:", "oval:com.oracle.elsa:tst:20219159999",
                            "not in the document"]}


def cut_compressed(updater):
    def mutate(fs, su):
        path = su.paths[updater][0]
        with open(fs.path(path), "rb") as f:
            data = f.read()
        fs.put(path, cut(data))
        name = {".gz": "gzip", ".bz2": "bzip2", ".xz": "xz"}[su.state["ext"]]
        return {updater: ["fetch:", "corrupt %s data" % name]}
    return mutate


MALFORMED = {
    "debian-bad-json": ("debian", bad_debian_json),
    "debian-truncated": ("debian", cut_debian),
    "debian-wrong-types": ("debian", wrong_debian_types),
    "alpine-bad-json": ("alpine-discover", bad_alpine_json),
    "alpine-wrong-types": ("alpine-discover", wrong_alpine_types),
    "osv-bad-json": ("alma", bad_osv_json),
    "osv-wrong-types": ("rocky", wrong_osv_types),
    "osv-truncated-zip": ("alma", cut_osv_zip),
    "oval-bad-xml": ("rhel", bad_oval_xml),
    "oval-truncated-xml": ("oracle", cut_oval_xml),
    "oval-missing-test": ("oracle", wrong_oval_ref),
    "oval-truncated-gz": ("suse.gz", cut_compressed("suse/sles-15")),
    "oval-truncated-bz2": ("ubuntu.bz2", cut_compressed("ubuntu/bionic")),
    "oval-truncated-xz": ("photon.xz", cut_compressed("photon-3.0")),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_feed_keeps_previous(clarion, env, tmp_path, db, feed_server, case):
    base, mutate = MALFORMED[case]
    if "." in base:
        source, ext = base.split(".")
        su = oval_setup(feed_server, source, "." + ext)
    else:
        su = SETUPS[base](feed_server)
    cfg = write_config(tmp_path, su)
    p = update(clarion, env, cfg, db, su.source)
    assert p.returncode == 0, p.stdout + p.stderr
    counts = su.counts()
    st1 = status(clarion, env, db, "--source", su.source)
    ops1, recs1 = export(clarion, env, db, tmp_path, su.source)

    failing = mutate(feed_server, su)
    p = update(clarion, env, cfg, db, su.source)
    assert p.returncode == 1, p.stdout + p.stderr
    rep = report(p)
    assert set(rep) == set(counts)
    for u, (outcome, n, error) in rep.items():
        assert n == counts[u], u                  # what is still current
        if u in failing:
            assert outcome == "failed", (u, rep[u])
            for frag in failing[u]:
                assert frag.lower() in error.lower(), (frag, error)
            assert "\n" not in error
        else:
            assert outcome == "unchanged", (u, rep[u])

    # The previous operations are still served, whole.
    ops2, recs2 = export(clarion, env, db, tmp_path, su.source)
    assert {u: op["ref"] for u, op in ops2.items()} == {u: op["ref"] for u, op in ops1.items()}
    assert sorted(map(record_line, recs2)) == sorted(map(record_line, recs1))
    st2 = status(clarion, env, db, "--source", su.source)
    for u, s in st2.items():
        assert s["records"] == counts[u]
        if u in failing:
            assert " ".join(s["error"].split()) == rep[u][2], (s["error"], rep[u][2])
            assert s["success"] == st1[u]["success"]
            assert s["attempt"] > s["success"]
        else:
            assert s["error"] == "-"

    # The feed mended: the stored operation matches it again.
    for u in failing:
        for path in su.paths[u]:
            feed_server.put(path, original_bytes(su, u, path))
    p = update(clarion, env, cfg, db, su.source)
    assert p.returncode == 0, p.stdout + p.stderr
    assert {u: r[:2] for u, r in report(p).items()} == \
        {u: ("unchanged", n) for u, n in counts.items()}
    assert all(s["error"] == "-" for s in status(clarion, env, db, "--source",
                                                  su.source).values())


def original_bytes(su, updater, path):
    if su.keyfn is oval_key:
        return compress(su.state["ext"], su.state["docs"][updater])
    if su.keyfn is osv_key:
        return make_zip(su.state["files"])
    if su.keyfn is alpine_key:
        return su.state["files"][path]
    return fixture("feeds", "debian", "tracker-json-sample.json")


# ---- kill -9 in the middle of a big update -------------------------------------

_big = {}


def big_tracker(npkg=30000, ncve=2):
    """A generated tracker document in the shape of the fixture: npkg
    packages x ncve issues x 5 releases, every 7th release resolved with
    "0" (no record), others open or resolved; returns (bytes, records)."""
    if (npkg, ncve) not in _big:
        _big[(npkg, ncve)] = _big_tracker(npkg, ncve)
    return _big[(npkg, ncve)]


def _big_tracker(npkg, ncve):
    rels = ("stretch", "buster", "bullseye", "bookworm", "trixie")
    parts, n = [], 0
    for p in range(npkg):
        issues = []
        for c in range(ncve):
            entries = []
            for i, r in enumerate(rels):
                k = p * 11 + c * 5 + i
                if k % 7 == 0:
                    entries.append('"%s": {"status": "resolved", "repositories": {"%s": '
                                   '"1.%d-1"}, "fixed_version": "0", "urgency": '
                                   '"unimportant"}' % (r, r, p))
                    continue
                n += 1
                if k % 3 == 0:
                    entries.append('"%s": {"status": "open", "repositories": {"%s": '
                                   '"1.%d-1"}, "urgency": "low"}' % (r, r, p))
                else:
                    entries.append('"%s": {"status": "resolved", "repositories": {"%s": '
                                   '"1.%d-1"}, "fixed_version": "1.%d-2", "urgency": '
                                   '"medium**"}' % (r, r, p, p))
            issues.append('"CVE-2090-%07d": {"scope": "remote", "description": "generated '
                          'issue %d of package %d", "releases": {%s}}'
                          % (p * ncve + c, c, p, ", ".join(entries)))
        parts.append('"gen-pkg-%06d": {%s}' % (p, ", ".join(issues)))
    return ("{" + ",\n".join(parts) + "}\n").encode(), n


def store_busy(db, pgconn):
    """Whether the update's store transaction is under way."""
    if pgconn is None:
        wal = db + "-wal"
        return os.path.exists(wal) and os.path.getsize(wal) > (2 << 20)
    out = psql(pgconn, "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                       "current_database() AND pid <> pg_backend_pid() AND "
                       "query ILIKE 'COPY%'")
    return int(out.strip() or 0) > 0


def pg_quiet(pgconn, timeout=20):
    """Waits for the killed client's server process to go (it holds the
    advisory lock until it notices)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        out = psql(pgconn, "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                           "current_database() AND pid <> pg_backend_pid()")
        if int(out.strip()) == 0:
            return
        time.sleep(0.05)
    pytest.fail("the killed update's server process is still there")


def test_kill_during_big_update(clarion, env, tmp_path, db, feed_server):
    """kill -9 while a ~300k-record Debian feed is being written (the SQLite
    WAL growing past 2 MB, or a COPY of the update's transaction in
    pg_stat_activity): the previous operation stays current and whole, and
    the next run stores the big feed."""
    su = debian_setup(feed_server)
    cfg = write_config(tmp_path, su)
    p = update(clarion, env, cfg, db, "debian")
    assert p.returncode == 0, p.stdout + p.stderr
    st1 = status(clarion, env, db)
    ops1, recs1 = export(clarion, env, db, tmp_path)
    pgconn = None if db.endswith(".db") else db

    big, n_big = big_tracker()
    assert n_big > 250000
    feed_server.put(su.state["path"], big)
    proc = subprocess.Popen([clarion, "update", "--config", cfg, "--db", db],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 60
        while proc.poll() is None and time.time() < deadline:
            if store_busy(db, pgconn):
                break
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL, \
        "the update ended before it was killed: %r %r" % (out, err)
    assert out == b""
    if pgconn:
        pg_quiet(pgconn)

    # The previous operation, complete, as if the killed run never happened.
    st2 = status(clarion, env, db)
    assert st2 == st1
    ops2, recs2 = export(clarion, env, db, tmp_path)
    assert ops2 == ops1
    assert sorted(map(record_line, recs2)) == sorted(map(record_line, recs1))
    # Nothing of the killed transaction is left behind either.
    if not pgconn:
        con = sqlite3.connect(db)
        try:
            assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            counts = [con.execute("SELECT count(*) FROM %s" % t).fetchone()[0]
                      for t in ("update_operation", "vuln", "uo_vuln")]
        finally:
            con.close()
    else:
        counts = [int(psql(pgconn, "SELECT count(*) FROM %s" % t).strip())
                  for t in ("update_operation", "vuln", "uo_vuln")]
    assert counts == [1, len(recs1), len(recs1)]

    # A rerun takes the lock the dead process held and stores the big feed.
    p = update(clarion, env, cfg, db, "debian")
    assert p.returncode == 0, p.stdout + p.stderr
    assert report(p) == {"debian": ("updated", n_big, "")}
    assert diff_logged(p, "debian") == (n_big, len(recs1))
    st3 = status(clarion, env, db)["debian"]
    assert st3["records"] == n_big and st3["error"] == "-"


# ---- export, import into an empty database, the same data ----------------------

def test_export_import_identical(clarion, env, tmp_path, db, feed_server):
    """SQLite -> SQLite and SQLite -> PostgreSQL: every source's records, the
    same after the round trip (refs and dates are the target's own)."""
    setups = [SETUPS[c](feed_server) for c in BASE]
    cfg = write_config(tmp_path, *setups)
    src = str(tmp_path / "online.db")
    p = update(clarion, env, cfg, src)
    assert p.returncode == 0, p.stdout + p.stderr
    want = {}
    for su in setups:
        want.update(su.counts())
    assert {u: r[:2] for u, r in report(p).items()} == \
        {u: ("updated", n) for u, n in want.items()}

    bundle = tmp_path / "all.jsonl.zst"
    p = clarion_run(clarion, env, "db", "export", "--db", src, bundle)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("exported %d operations (%d vulnerabilities)"
                               % (len(want), sum(want.values())))
    ops1, recs1 = read_bundle(bundle)

    p = clarion_run(clarion, env, "db", "import", "--db", db, bundle)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("imported %d operations (%d vulnerabilities); 0 already "
                               "current" % (len(want), sum(want.values())))
    ops2, recs2 = export(clarion, env, db, tmp_path)

    def strip(op):
        return {k: v for k, v in op.items() if k not in ("ref", "date")}
    assert {u: strip(op) for u, op in ops2.items()} == {u: strip(op) for u, op in ops1.items()}
    assert sorted(map(record_line, recs2)) == sorted(map(record_line, recs1))
    for su in setups:
        check_model(su, recs2)
    assert {u: s["records"] for u, s in status(clarion, env, db).items()} == want


# ---- a local checkout of the osv-database layout ------------------------------

@pytest.mark.parametrize("form", ["path", "file-url"])
def test_alma_directory_url(clarion, env, tmp_path, form):
    """The layout of AlmaLinux's osv-database repository, advisories/,
    checked out on disk and named by the url setting: read in place,
    never removed, unchanged on the next run."""
    advisories = str(tmp_path / "advisories")
    shutil.copytree(os.path.join(FEEDS, "alma", "advisories"), advisories)
    url = advisories if form == "path" else "file://" + advisories + "/"
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"updaters": {"config": {"alma": {"url": url}}}}))
    db = str(tmp_path / "clarion.db")
    p = clarion_run(clarion, env, "update", "--config", cfg, "--db", db, "--source", "alma")
    records = [json.loads(open(f, "rb").read())
               for f in glob.glob(os.path.join(advisories, "*", "*.json"))]
    want = {"alma-%s" % m: sum(osv_model(records, "AlmaLinux:%s" % m).values())
            for m in ("8", "9", "10")}
    assert report(p) == {u: ("updated", n, "") for u, n in want.items()}, p.stdout
    assert p.returncode == 0
    assert len(glob.glob(os.path.join(advisories, "*", "*.json"))) == len(records)
    p = clarion_run(clarion, env, "update", "--config", cfg, "--db", db, "--source", "alma")
    assert report(p) == {u: ("unchanged", n, "") for u, n in want.items()}, p.stdout
