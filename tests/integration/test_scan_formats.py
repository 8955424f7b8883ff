"""`clarion scan` output formats, ignore files, --update and the demo.

The database and the Debian 10 image are test_scan.py's (the real Debian
tracker fixture served on 127.0.0.1, an image whose packages match known
records).  What a user would check:

- every format against its golden file (tests/fixtures/golden/; regenerate
  with CLARION_UPDATE_GOLDEN=1, see the README there);
- the SARIF against the SARIF 2.1.0 schema plus what GitHub code scanning
  reads (rules, security-severity, locations); the CycloneDX against the
  CycloneDX 1.5 schema; the JSON against clarion's own schema; all with
  python3-jsonschema and the schemas in tests/fixtures/schemas/;
- package URLs of deb, apk and rpm packages as the purl spec writes them;
- ignore files with unexpired, expired and malformed entries;
- --update filling an empty database before the scan; progress only on a
  terminal;
- `make demo`'s script, offline, well under its two minutes.
"""
import json
import os
import pty
import re
import shutil
import subprocess
import time

import pytest

from conftest import FIXTURES, TOP, run
from harness import images
from harness.feeds import FeedServer
from harness.registry import registry_plain  # noqa: F401
from test_scan import (DEBIAN_OS_RELEASE, DPKG_STATUS, alpine_image,  # noqa: F401
                       filled, layout_of, make_env, scanner_fixture)

jsonschema = pytest.importorskip("jsonschema")

GOLDEN = os.path.join(FIXTURES, "golden")
SCHEMAS = os.path.join(FIXTURES, "schemas")
EPOCH = "1767225600"   # 2026-01-01T00:00:00Z: CycloneDX's timestamp


def load_schema(name):
    with open(os.path.join(SCHEMAS, name)) as f:
        return json.load(f)


@pytest.fixture(scope="module")
def layout(tmp_path_factory):
    """A directory holding the Debian 10 image as OCI layout `debian`, so
    the image is named `oci:debian:1` from there whatever the temporary
    path (the golden files carry the name)."""
    top = tmp_path_factory.mktemp("golden")
    img = images.build_image([{
        "var/lib/dpkg/status": DPKG_STATUS,
        "usr/lib/os-release": DEBIAN_OS_RELEASE,
        "etc/os-release": images.Symlink("../usr/lib/os-release")}])
    images.write_oci_layout(str(top / "debian"), img, tag="1")
    return top


def scan_in(clarion, filled, cwd, image, *args, env_extra=None):  # noqa: F811
    db, env = filled
    env = dict(env, SOURCE_DATE_EPOCH=EPOCH, **(env_extra or {}))
    return run([clarion, "scan", "--db", db] + [str(a) for a in args] + [image],
               env=env, cwd=str(cwd))


def out_of(p):
    assert p.returncode == 0, p.stderr
    return p.stdout


# ---- golden files ---------------------------------------------------------------

FORMATS = [("table", "scan-debian.txt"), ("json", "scan-debian.json"),
           ("sarif", "scan-debian.sarif"), ("cyclonedx", "scan-debian.cdx.json"),
           ("klar", "scan-debian.klar.txt")]


@pytest.mark.parametrize("fmt,name", FORMATS)
def test_golden(clarion, filled, layout, fmt, name):  # noqa: F811
    got = out_of(scan_in(clarion, filled, layout, "oci:debian:1", "--format", fmt,
                         env_extra={"COLUMNS": "120"}))
    path = os.path.join(GOLDEN, name)
    if os.environ.get("CLARION_UPDATE_GOLDEN"):
        with open(path, "w") as f:
            f.write(got)
    with open(path) as f:
        want = f.read()
    assert got == want, "output differs from %s (CLARION_UPDATE_GOLDEN=1 " \
        "regenerates it)" % path


def test_default_format_is_table(clarion, filled, layout):  # noqa: F811
    a = out_of(scan_in(clarion, filled, layout, "oci:debian:1",
                       env_extra={"COLUMNS": "120"}))
    with open(os.path.join(GOLDEN, "scan-debian.txt")) as f:
        assert a == f.read()


# ---- schemas --------------------------------------------------------------------

def test_json_schema(clarion, filled, layout):  # noqa: F811
    r = json.loads(out_of(scan_in(clarion, filled, layout, "oci:debian:1",
                                  "--format", "json")))
    jsonschema.Draft7Validator(load_schema("clarion-scan.schema.json")).validate(r)


def test_sarif_valid_for_github(clarion, filled, layout):  # noqa: F811
    log = json.loads(out_of(scan_in(clarion, filled, layout, "oci:debian:1",
                                    "--format", "sarif")))
    schema = load_schema("sarif-2.1.0-rtm.5.json")
    jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker()) \
        .validate(log)
    assert log["version"] == "2.1.0"
    [run_] = log["runs"]
    driver = run_["tool"]["driver"]
    assert driver["name"] == "clarion" and driver["version"]
    rules = {r["id"]: r for r in driver["rules"]}
    assert list(rules) == ["CVE-2008-7220", "CVE-2005-3111", "CVE-2022-0456"]
    # GitHub's severity comes from security-severity; level from ours
    assert rules["CVE-2008-7220"]["properties"]["security-severity"] == "8.0"
    assert rules["CVE-2005-3111"]["properties"]["security-severity"] == "5.5"
    assert "security-severity" not in rules["CVE-2022-0456"]["properties"]
    assert rules["CVE-2008-7220"]["helpUri"] == \
        "https://security-tracker.debian.org/tracker/CVE-2008-7220"
    res = run_["results"]
    assert [(x["ruleId"], x["level"]) for x in res] == [
        ("CVE-2008-7220", "error"), ("CVE-2005-3111", "warning"),
        ("CVE-2022-0456", "warning")]
    for x in res:
        assert driver["rules"][x["ruleIndex"]]["id"] == x["ruleId"]
        [loc] = x["locations"]
        pl = loc["physicalLocation"]
        # GitHub rejects results without a location; an image finding
        # points at the package database inside the image
        assert pl["artifactLocation"]["uri"] == "var/lib/dpkg/status"
        assert pl["region"]["startLine"] == 1
        assert "oci:debian:1" in x["message"]["text"]
    assert run_["properties"]["imageName"] == "oci:debian:1"


def cdx_validator():
    main = load_schema("bom-1.5.SNAPSHOT.schema.json")
    store = {}
    for name in ("spdx.SNAPSHOT.schema.json", "jsf-0.82.SNAPSHOT.schema.json"):
        s = load_schema(name)
        store[s["$id"]] = s
        # bom-1.5 refers to them by file name, relative to its own $id
        store["http://cyclonedx.org/schema/" + name] = s
    resolver = jsonschema.RefResolver.from_schema(main, store=store)
    return jsonschema.Draft7Validator(main, resolver=resolver,
                                      format_checker=jsonschema.FormatChecker())


def test_cyclonedx_valid(clarion, filled, layout):  # noqa: F811
    bom = json.loads(out_of(scan_in(clarion, filled, layout, "oci:debian:1",
                                    "--format", "cyclonedx")))
    cdx_validator().validate(bom)
    assert bom["bomFormat"] == "CycloneDX" and bom["specVersion"] == "1.5"
    assert re.match(r"^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab]",
                    bom["serialNumber"])
    assert bom["metadata"]["timestamp"] == "2026-01-01T00:00:00Z"
    img = bom["metadata"]["component"]
    assert img["type"] == "container" and img["name"] == "oci:debian:1"
    assert img["version"].startswith("sha256:")
    comps = {c["bom-ref"]: c for c in bom["components"]}
    assert comps["operating-system"]["name"] == "debian"
    assert comps["operating-system"]["version"] == "10"
    purls = sorted(c["purl"] for c in bom["components"] if "purl" in c)
    assert purls == [
        "pkg:deb/debian/backupninja@0.8-1?arch=all&distro=debian-10",
        "pkg:deb/debian/base-files@10.3%2Bdeb10u13?arch=amd64&distro=debian-10",
        "pkg:deb/debian/chromium@90.0.4430.212-1~deb10u1?arch=amd64&distro=debian-10",
        "pkg:deb/debian/libjs-prototype@1.6.0-1?arch=all&distro=debian-10",
        "pkg:deb/debian/txt2man@1.5.5-4.1?arch=all&distro=debian-10",
    ]
    vulns = {v["id"]: v for v in bom["vulnerabilities"]}
    assert list(vulns) == ["CVE-2008-7220", "CVE-2005-3111", "CVE-2022-0456"]
    v = vulns["CVE-2008-7220"]
    assert v["ratings"] == [{"source": {"name": "debian"}, "severity": "high",
                             "method": "other"}]
    assert v["advisories"] == [
        {"url": "https://security-tracker.debian.org/tracker/CVE-2008-7220"}]
    [aff] = v["affects"]
    assert comps[aff["ref"]]["name"] == "libjs-prototype"
    assert aff["versions"] == [{"version": "1.6.0-1", "status": "affected"},
                               {"version": "1.6.0.2-1", "status": "unaffected"}]
    assert v["recommendation"] == "Upgrade libjs-prototype to 1.6.0.2-1 or later."
    # no fix: affected only, no recommendation
    v = vulns["CVE-2022-0456"]
    assert v["ratings"][0]["severity"] == "unknown"
    assert v["affects"][0]["versions"] == [
        {"version": "90.0.4430.212-1~deb10u1", "status": "affected"}]
    assert "recommendation" not in v
    for v in bom["vulnerabilities"]:
        for a in v["affects"]:
            assert a["ref"] in comps


# ---- package URLs -----------------------------------------------------------------

def packages_of(clarion, filled, image):  # noqa: F811
    db, env = filled
    p = run([clarion, "scan", "--db", db, "--format", "json", image], env=env)
    assert p.returncode == 0, p.stderr
    return {x["name"]: x for x in json.loads(p.stdout)["packages"]}


def test_purl_apk(clarion, filled, alpine_image):  # noqa: F811
    pk = packages_of(clarion, filled, alpine_image[0])
    assert pk["musl"]["purl"] == "pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64&distro=3.20.2"
    assert all(x["purl"].startswith("pkg:apk/alpine/") for x in pk.values())


@pytest.fixture(scope="module")
def alma_image(tmp_path_factory):
    return layout_of(tmp_path_factory, "alma", {
        "var/lib/rpm/rpmdb.sqlite": scanner_fixture("alma9-rpmdb.sqlite"),
        "etc/os-release": scanner_fixture("alma9-os-release")})[0]


def test_purl_rpm(clarion, filled, alma_image):  # noqa: F811
    pk = packages_of(clarion, filled, alma_image)
    # Clair's E:V-R version; the purl carries the epoch as a qualifier
    assert pk["clarion-epoch"]["version"] == "2:0.9-4.el9"
    assert pk["clarion-epoch"]["purl"] == \
        "pkg:rpm/almalinux/clarion-epoch@0.9-4.el9?arch=noarch&distro=almalinux-9.5&epoch=2"
    assert pk["clarion-hello"]["purl"] == \
        "pkg:rpm/almalinux/clarion-hello@1.0-1.el9?arch=noarch&distro=almalinux-9.5"
    # the modularity label's '+' is percent-encoded
    assert pk["clarion-nodejs"]["purl"].startswith(
        "pkg:rpm/almalinux/clarion-nodejs@18.19.0-1.module_el9.3.0%2B35%2B6a1b9b2e?")


# ---- ignore files -------------------------------------------------------------

def write(tmp_path, text, name="ignore.yaml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_ignore_file(clarion, filled, layout, tmp_path):  # noqa: F811
    f = write(tmp_path, """\
# accepted findings
vulnerabilities:
  - id: CVE-2008-7220
    packages: [prototypejs]          # the source package's name matches too
    reason: only loaded offline
    expires: 2999-12-31
  - id: CVE-2005-3111
    package: backupninja
    statement: fixed in our fork     # Trivy's word for reason
    expired_at: 2020-01-01
  - id: CVE-2022-0456
    image: "registry.example/*"      # another image: does not apply
""")
    p = scan_in(clarion, filled, layout, "oci:debian:1", "--format", "json",
                "--ignore-file", f, "--fail-on", "High")
    assert p.returncode == 0, p.stderr         # the High one is ignored
    r = json.loads(p.stdout)
    assert [x["vulnerability"] for x in r["findings"]] == ["CVE-2005-3111",
                                                           "CVE-2022-0456"]
    assert r["ignored"] == [{"vulnerability": "CVE-2008-7220",
                             "package": "libjs-prototype",
                             "reason": "only loaded offline"}]
    assert r["summary"]["High"] == 0
    assert "%s (line 7): the entry for CVE-2005-3111 expired on 2020-01-01 and " \
        "no longer applies" % f in p.stderr, p.stderr
    assert "CVE-2008-7220" not in p.stderr

    # the image glob matching: CVE-2022-0456 goes too
    g = write(tmp_path, "- id: CVE-2022-0456\n  image: 'oci:deb*'\n", "g.yaml")
    r = json.loads(out_of(scan_in(clarion, filled, layout, "oci:debian:1",
                                  "--format", "json", "--ignore-file", g)))
    assert "CVE-2022-0456" not in [x["vulnerability"] for x in r["findings"]]
    # the table says nothing of ignored findings but counts what is shown
    t = out_of(scan_in(clarion, filled, layout, "oci:debian:1", "--ignore-file", f))
    assert t.splitlines()[1].split()[:2] == ["Total:", "2"]


@pytest.mark.parametrize("text,where", [
    ("vulnerabilities:\n  - id: CVE-1\n    expire: 2027-01-01\n", "line 3"),
    ("vulnerabilities:\n  - id: CVE-1\n    expires: 2027-02-30\n", "line 2"),
    ("vulnerabilities:\n  - package: x\n", "line 2"),
    ("vulnerabilities:\n  - id: [a, b]\n", "line 2"),
    ("vulnerabilities:\n  - id: CVE-1\n  bad indent: [\n", "line"),
    ("ignore:\n  - id: CVE-1\n", "line 1"),
    ("vulnerabilities: 3\n", "line 1"),
])
def test_ignore_file_malformed(clarion, filled, layout, tmp_path, text, where):  # noqa: F811
    f = write(tmp_path, text)
    p = scan_in(clarion, filled, layout, "oci:debian:1", "--ignore-file", f)
    assert p.returncode == 2 and p.stdout == ""
    assert len(p.stderr.splitlines()) == 1, p.stderr
    assert str(f) in p.stderr and where in p.stderr, p.stderr


def test_ignore_file_missing(clarion, filled, layout, tmp_path):  # noqa: F811
    p = scan_in(clarion, filled, layout, "oci:debian:1", "--ignore-file",
                tmp_path / "none.yaml")
    assert p.returncode == 2 and "none.yaml" in p.stderr


def test_empty_ignore_file(clarion, filled, layout, tmp_path):  # noqa: F811
    f = write(tmp_path, "# nothing yet\n")
    r = json.loads(out_of(scan_in(clarion, filled, layout, "oci:debian:1",
                                  "--format", "json", "--ignore-file", f)))
    assert len(r["findings"]) == 3 and r["ignored"] == []


# ---- --update, progress ---------------------------------------------------------

def test_update_fills_empty_database(clarion, layout, tmp_path):
    env = make_env(tmp_path / "home")
    db = str(tmp_path / "fresh.db")
    with FeedServer(tmp_path / "feeds") as fs:
        with open(os.path.join(FIXTURES, "feeds", "debian",
                               "tracker-json-sample.json"), "rb") as f:
            fs.put("debian/tracker/data/json", f.read())
        cfg = tmp_path / "config.json"
        cfg.write_text(json.dumps({"updaters": {"sets": ["debian"], "config": {
            "debian": {"url": fs.url("debian/tracker/data/json"),
                       "mirror": fs.url("debian/mirror/"),
                       "releases": "buster=10 bookworm=12"}}}}))
        p = run([clarion, "scan", "--db", db, "oci:debian:1"], env=env, cwd=str(layout))
        assert p.returncode == 2 and "--update" in p.stderr
        p = run([clarion, "scan", "--db", db, "--update", "--config", str(cfg),
                 "--format", "json", "oci:debian:1"], env=env, cwd=str(layout))
        assert p.returncode == 0, p.stderr
        assert len(json.loads(p.stdout)["findings"]) == 3
        assert fs.count("debian/tracker/data/json") >= 1
    # --config without --update is a usage error
    p = run([clarion, "scan", "--db", db, "--config", str(cfg), "oci:debian:1"],
            env=env, cwd=str(layout))
    assert p.returncode == 2 and "--config" in p.stderr


def read_pty(master):
    """All the master side of a pty gives until every copy of the slave
    side is closed (Linux then says EIO)."""
    data = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    return data


def test_progress_only_on_a_terminal(clarion, filled, layout):  # noqa: F811
    p = scan_in(clarion, filled, layout, "oci:debian:1", "--format", "json")
    assert "indexing" not in p.stderr and "\r" not in p.stderr
    db, env = filled
    master, slave = pty.openpty()
    try:
        proc = subprocess.run([clarion, "scan", "--db", db, "--format", "json",
                               "oci:debian:1"], env=env, cwd=str(layout),
                              stdout=subprocess.PIPE, stderr=slave, timeout=120)
        os.close(slave)
        slave = None
        err = read_pty(master)
    finally:
        if slave is not None:
            os.close(slave)
        os.close(master)
    assert proc.returncode == 0
    assert b"indexing oci:debian:1" in err
    json.loads(proc.stdout)   # stdout stays clean


def test_table_on_a_terminal(clarion, filled, layout):  # noqa: F811
    """stdout a terminal 70 columns wide (TIOCGWINSZ, no COLUMNS): colours,
    and the table fitted to the terminal."""
    import fcntl
    import struct
    import termios
    db, env = filled
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 70, 0, 0))
    try:
        proc = subprocess.Popen([clarion, "scan", "--db", db, "oci:debian:1"],
                                env=env, cwd=str(layout), stdout=slave,
                                stderr=subprocess.PIPE)
        os.close(slave)
        slave = None
        out = read_pty(master)
        proc.wait(timeout=120)
    finally:
        if slave is not None:
            os.close(slave)
        os.close(master)
    assert proc.returncode == 0
    text = out.decode().replace("\r\n", "\n")
    assert "\033[31mHigh" in text                  # High in red
    plain = re.sub(r"\033\[[0-9;]*m", "", text)
    assert max(len(x) for x in plain.splitlines()[3:]) <= 70, plain
    assert "CVE-2008-7220" in plain


def test_stale_database_warns(clarion, filled, layout, tmp_path):  # noqa: F811
    """Data whose last successful update is weeks old still scans, with a
    warning that says how to refresh it."""
    import sqlite3
    db, env = filled
    old = str(tmp_path / "old.db")
    shutil.copy(db, old)
    con = sqlite3.connect(old)
    con.execute("UPDATE updater_status SET last_success = '2020-01-01T00:00:00.000Z'")
    con.commit()
    con.close()
    p = run([clarion, "scan", "--db", old, "--format", "json", "oci:debian:1"],
            env=env, cwd=str(layout))
    assert p.returncode == 0, p.stderr
    assert len(json.loads(p.stdout)["findings"]) == 3
    warn = [x for x in p.stderr.splitlines() if "days old" in x]
    assert len(warn) == 1 and "clarion update" in warn[0] and "--update" in warn[0]
    # fresh data: no warning
    p = scan_in(clarion, filled, layout, "oci:debian:1", "--format", "json")
    assert "days old" not in p.stderr


# ---- --server -----------------------------------------------------------------

def test_server(clarion, filled, layout, tmp_path, registry_plain):  # noqa: F811
    """The same image asked of `clarion serve` (on a copy of the same
    database) gives the same findings as the local scan."""
    from harness.server import ClarionServer
    db, env = filled
    srv_db = str(tmp_path / "server.db")
    shutil.copy(db, srv_db)
    img = images.build_image([{
        "var/lib/dpkg/status": DPKG_STATUS,
        "usr/lib/os-release": DEBIAN_OS_RELEASE,
        "etc/os-release": images.Symlink("../usr/lib/os-release")}])
    images.push(registry_plain, "t/scan-server", "1", img)
    ref = registry_plain.addr + "/t/scan-server:1"
    local = json.loads(out_of(scan_in(clarion, filled, layout, "oci:debian:1",
                                      "--format", "json")))
    cfg = {"matcher": {"disable_updaters": True}}
    with ClarionServer(clarion, tmp_path / "srv", srv_db, config=cfg, env=env) as srv:
        p = run([clarion, "scan", "--server", srv.url, "--plain-http", "--format",
                 "json", "--fail-on", "High", ref], env=env)
        assert p.returncode == 1, p.stderr      # the High finding, as locally
        r = json.loads(p.stdout)
        assert r["image"] == ref and r["manifest_hash"] == img.digest
        assert r["findings"] == local["findings"]
        assert r["distribution"] == local["distribution"]
        p = run([clarion, "scan", "--server", srv.url, "--plain-http", "--format",
                 "sarif", ref], env=env)
        assert p.returncode == 0 and json.loads(p.stdout)["runs"][0]["results"]
    # nobody listening: one line, exit 2
    p = run([clarion, "scan", "--server", srv.url, "--plain-http", ref], env=env)
    assert p.returncode == 2 and len(p.stderr.splitlines()) == 1, p.stderr
    p = run([clarion, "scan", "--server", srv.url, "--update", ref], env=env)
    assert p.returncode == 2 and "--update" in p.stderr


# ---- the demo ---------------------------------------------------------------------

def test_demo(clarion, tmp_path):
    env = make_env(tmp_path / "home")
    env["COLUMNS"] = "120"
    start = time.monotonic()
    p = run([os.path.join(TOP, "demo", "run"), clarion], env=env)
    took = time.monotonic() - start
    assert p.returncode == 0, p.stdout + p.stderr
    assert took < 60, took
    lines = p.stdout.splitlines()
    assert "docker-archive:debian.tar (Debian GNU/Linux 12 (bookworm), 9 packages)" in lines
    rows = [x.split()[:5] for x in lines if re.match(r"^(chromium|libsope1)", x)]
    assert rows == [
        ["chromium", "97.0.4692.99-1", "98.0.4758.80-1", "CVE-2022-0456", "Unknown"],
        ["chromium-common", "97.0.4692.99-1", "98.0.4758.80-1", "CVE-2022-0456",
         "Unknown"],
        ["libsope1", "5.8.0-1", "5.8.0-1+deb12u1", "CVE-2025-53603", "Unknown"],
    ]
    # The RHEL 8.0 image against Red Hat's real RHEL 8 OVAL feed: every
    # severity class, one or two advisories per package, Red Hat's
    # "Important" shown as High; redhat-release and bash have none.
    head = "docker-archive:rhel8.tar (Red Hat Enterprise Linux 8.0 (Ootpa), 14 packages)"
    assert head in lines
    rhel = lines[lines.index(head):]
    assert rhel[1].split() == ["Total:", "13", "Critical:", "1", "High:", "4", "Medium:",
                               "5", "Low:", "3", "Negligible:", "0", "Unknown:", "0"]
    assert rhel[3].split()[:5] == ["PACKAGE", "INSTALLED", "FIXED", "VULNERABILITY",
                                   "SEVERITY"]
    rows = [x.split()[:5] for x in rhel[4:]]
    assert len(rows) == 13, rhel
    for want in (
            ["firefox", "68.1.0-1.el8_0", "68.2.0-2.el8_0", "RHSA-2019:3196", "Critical"],
            ["vim-minimal", "2:8.0.1763-10.el8", "2:8.0.1763-11.el8_0", "RHSA-2019:1619",
             "High"],
            ["bind-libs", "32:9.11.4-17.P2.el8_0", "32:9.11.4-17.P2.el8_0.1",
             "RHSA-2019:1714", "High"],
            ["bind-libs", "32:9.11.4-17.P2.el8_0", "32:9.11.4-26.P2.el8", "RHSA-2019:3552",
             "Low"],
            ["openssl-libs", "1:1.1.1-8.el8", "1:1.1.1c-2.el8", "RHSA-2019:3700", "Low"]):
        assert want in rows, (want, rhel)
    assert not [r for r in rows if r[0] in ("bash", "redhat-release")]
    assert "Mozilla Firefox" in rhel[4]
    assert os.path.getsize(os.path.join(TOP, "demo", "sample-feeds.bundle")) < 1 << 20
