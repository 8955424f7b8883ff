"""`clarion scan IMAGE` end to end: a database filled by `clarion update`
from the real Debian tracker fixture (tests/fixtures/feeds/debian) served
on 127.0.0.1, images built by harness/images.py whose packages are chosen
so that known records of that fixture match, and what a user sees: the
findings as JSON and as a table, the filters, the exit statuses.

The fixture's buster (Debian 10) records used here:

    prototypejs  CVE-2008-7220  fixed 1.6.0.2-1  high**       -> High
    backupninja  CVE-2005-3111  fixed 0.8-2      medium       -> Medium
    txt2man      CVE-2013-1444  fixed 1.5.5-4.1  low**        -> Low
    chromium     CVE-2022-0456  open (no fix)    end-of-life  -> Unknown

The image has libjs-prototype (Source: prototypejs) and backupninja below
their fixes, txt2man exactly at its fix (not vulnerable: equal is fixed)
and chromium (an open issue: reported with an empty fixed version).
"""
import json
import os
import re

import pytest

from conftest import FIXTURES, run
from harness import images
from harness.clarion import clean_env, update
from harness.feeds import FeedServer
from harness.registry import registry_plain  # noqa: F401

DEBIAN_OS_RELEASE = (
    'PRETTY_NAME="Debian GNU/Linux 10 (buster)"\nNAME="Debian GNU/Linux"\n'
    'VERSION_ID="10"\nVERSION="10 (buster)"\nVERSION_CODENAME=buster\n'
    'ID=debian\n').encode()


def dpkg_entry(name, version, source=None, arch="amd64"):
    s = "Package: %s\nStatus: install ok installed\nPriority: optional\n" \
        "Architecture: %s\n" % (name, arch)
    if source:
        s += "Source: %s\n" % source
    s += "Version: %s\nDescription: %s\n" % (version, name)
    return s


DPKG_STATUS = "\n".join([
    dpkg_entry("libjs-prototype", "1.6.0-1", source="prototypejs", arch="all"),
    dpkg_entry("backupninja", "0.8-1", arch="all"),
    dpkg_entry("txt2man", "1.5.5-4.1", arch="all"),
    dpkg_entry("chromium", "90.0.4430.212-1~deb10u1"),
    dpkg_entry("base-files", "10.3+deb10u13"),
]).encode()

FINDINGS = [
    {"package": "libjs-prototype", "installed": "1.6.0-1", "fixed": "1.6.0.2-1",
     "vulnerability": "CVE-2008-7220", "severity": "High", "severity_vendor": "high**",
     "links": "https://security-tracker.debian.org/tracker/CVE-2008-7220",
     "updater": "debian"},
    {"package": "backupninja", "installed": "0.8-1", "fixed": "0.8-2",
     "vulnerability": "CVE-2005-3111", "severity": "Medium", "severity_vendor": "medium",
     "links": "https://security-tracker.debian.org/tracker/CVE-2005-3111",
     "updater": "debian"},
    {"package": "chromium", "installed": "90.0.4430.212-1~deb10u1", "fixed": "",
     "vulnerability": "CVE-2022-0456", "severity": "Unknown",
     "severity_vendor": "end-of-life", "title": "",
     "links": "https://security-tracker.debian.org/tracker/CVE-2022-0456",
     "updater": "debian"},
]


def tracker_description(pkg, cve):
    with open(os.path.join(FIXTURES, "feeds", "debian", "tracker-json-sample.json")) as f:
        return json.load(f)[pkg][cve].get("description", "")


for _f, _arch in zip(FINDINGS, ("all", "all", "amd64")):
    _f["purl"] = "pkg:deb/debian/%s@%s?arch=%s&distro=debian-10" % (
        _f["package"], _f["installed"], _arch)
FINDINGS[0]["title"] = tracker_description("prototypejs", "CVE-2008-7220").splitlines()[0]
FINDINGS[1]["title"] = tracker_description("backupninja", "CVE-2005-3111").splitlines()[0]


def make_env(home):
    # no COLUMNS either: the table's width is what these tests set
    return clean_env(home, drop=("COLUMNS",))


@pytest.fixture(scope="module")
def filled(clarion, tmp_path_factory):
    """(db, env): a SQLite database `clarion update` filled with the Debian
    tracker fixture, the release numbers given by the `releases` setting
    (the mirror it would read them from answers 404)."""
    top = tmp_path_factory.mktemp("scan")
    env = make_env(top / "home")
    db = str(top / "clarion.db")
    with FeedServer(top / "feeds") as fs:
        with open(os.path.join(FIXTURES, "feeds", "debian",
                               "tracker-json-sample.json"), "rb") as f:
            fs.put("debian/tracker/data/json", f.read())
        cfg = {"updaters": {"sets": ["debian"], "config": {"debian": {
            "url": fs.url("debian/tracker/data/json"),
            "mirror": fs.url("debian/mirror/"),
            "releases": "jessie=8 stretch=9 buster=10 bullseye=11 bookworm=12"}}}}
        p = update(clarion, db, cfg, top, env, "--source", "debian")
        assert p.returncode == 0, p.stdout + p.stderr
        assert re.match(r"debian\s+updated\s+[1-9]", p.stdout), p.stdout
    return db, env


def scanner_fixture(name):
    with open(os.path.join(FIXTURES, "scanners", name), "rb") as f:
        return f.read()


def layout_of(tmp_path_factory, name, files):
    """A one-layer image of files ({path: bytes}) as an OCI layout; its
    reference for clarion scan, and the image."""
    d = str(tmp_path_factory.mktemp("layout") / name)
    img = images.build_image([files])
    images.write_oci_layout(d, img, tag="1")
    return "oci:%s:1" % d, img


@pytest.fixture(scope="module")
def debian_image(tmp_path_factory):
    return layout_of(tmp_path_factory, "debian", {
        "var/lib/dpkg/status": DPKG_STATUS,
        "usr/lib/os-release": DEBIAN_OS_RELEASE,
        "etc/os-release": images.Symlink("../usr/lib/os-release")})


@pytest.fixture(scope="module")
def alpine_image(tmp_path_factory):
    installed = scanner_fixture("alpine320-installed")
    ref, _ = layout_of(tmp_path_factory, "alpine", {
        "lib/apk/db/installed": installed,
        "etc/os-release": scanner_fixture("alpine320-os-release")})
    n = sum(1 for line in installed.decode().split("\n") if line.startswith("P:"))
    return ref, n


def scan(clarion, filled, image, *args, env_extra=None):
    db, env = filled
    if env_extra:
        env = dict(env, **env_extra)
    return run([clarion, "scan", "--db", db] + [str(a) for a in args] + [image],
               env=env)


def scan_json(clarion, filled, image, *args):
    p = scan(clarion, filled, image, "--format", "json", *args)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


# ---- JSON ---------------------------------------------------------------------

def test_json_findings(clarion, filled, debian_image):
    image, img = debian_image
    r = scan_json(clarion, filled, image)
    assert list(r) == ["schema", "image", "manifest_hash", "distribution", "packages",
                       "findings", "not_covered", "ignored", "summary"]
    assert r["schema"] == "clarion-scan/1"
    assert r["image"] == image
    assert r["manifest_hash"] == img.digest
    assert r["distribution"] == {
        "did": "debian", "name": "Debian GNU/Linux", "version_id": "10",
        "version_code_name": "buster", "pretty_name": "Debian GNU/Linux 10 (buster)"}
    assert [p["name"] for p in r["packages"]] == [
        "backupninja", "base-files", "chromium", "libjs-prototype", "txt2man"]
    proto = [p for p in r["packages"] if p["name"] == "libjs-prototype"][0]
    assert proto == {"name": "libjs-prototype", "version": "1.6.0-1", "arch": "all",
                     "source": "prototypejs", "source_version": "1.6.0-1",
                     "package_db": "var/lib/dpkg/status",
                     "purl": "pkg:deb/debian/libjs-prototype@1.6.0-1"
                             "?arch=all&distro=debian-10"}
    assert r["findings"] == FINDINGS
    assert not [f for f in r["findings"] if f["package"] == "txt2man"]
    assert r["not_covered"] == [] and r["ignored"] == []
    assert r["summary"] == {"Unknown": 1, "Negligible": 0, "Low": 0, "Medium": 1,
                            "High": 1, "Critical": 0}


def test_severity_filter(clarion, filled, debian_image):
    r = scan_json(clarion, filled, debian_image[0], "--severity", "High,unknown")
    assert [f["vulnerability"] for f in r["findings"]] == ["CVE-2008-7220", "CVE-2022-0456"]
    assert r["summary"] == {"Unknown": 1, "High": 1}
    p = scan(clarion, filled, debian_image[0], "--severity", "High,Bogus")
    assert p.returncode == 2 and "--severity" in p.stderr, p.stderr
    assert len(p.stderr.splitlines()) == 1


def test_ignore_unfixed(clarion, filled, debian_image):
    r = scan_json(clarion, filled, debian_image[0], "--ignore-unfixed")
    assert r["findings"] == FINDINGS[:2]
    assert r["summary"]["Unknown"] == 0


# ---- exit statuses ------------------------------------------------------------

@pytest.mark.parametrize("args,status", [
    ([], 0),
    (["--fail-on", "High"], 1),
    (["--fail-on", "critical"], 0),
    (["--fail-on", "Medium", "--exit-code", "7"], 7),
    (["--fail-on", "Critical", "--exit-code", "7"], 0),
    (["--fail-on", "Low", "--severity", "Unknown"], 0),      # only shown ones count
    (["--fail-on", "Unknown", "--severity", "Unknown"], 1),
    (["--fail-on", "High", "--exit-code", "0"], 0),
    (["--exit-code", "3"], 3),                               # alone: anything shown
    (["--exit-code", "3", "--severity", "Critical"], 0),
    (["--fail-on", "Medium", "--ignore-unfixed", "--severity", "Unknown"], 0),
])
def test_fail_on(clarion, filled, debian_image, args, status):
    p = scan(clarion, filled, debian_image[0], *args)
    assert p.returncode == status, p.stderr


@pytest.mark.parametrize("args,word", [
    (["--fail-on", "Severe"], "--fail-on"),
    (["--exit-code", "x"], "--exit-code"),
    (["--exit-code", "256"], "--exit-code"),
    (["--format", "xml"], "format"),
    (["--bogus"], "--bogus"),
    (["--username", "u"], "--password"),
])
def test_usage_errors(clarion, filled, debian_image, args, word):
    p = scan(clarion, filled, debian_image[0], *args)
    assert p.returncode == 2, p.stdout
    assert p.stdout == ""
    assert len(p.stderr.splitlines()) == 1 and word in p.stderr, p.stderr


# ---- table --------------------------------------------------------------------

def test_table(clarion, filled, debian_image):
    p = scan(clarion, filled, debian_image[0])
    assert p.returncode == 0, p.stderr
    assert "\033[" not in p.stdout            # not a terminal: no colours
    lines = p.stdout.splitlines()
    assert lines[0] == "%s (Debian GNU/Linux 10 (buster), 5 packages)" % debian_image[0]
    assert lines[1].split() == ["Total:", "3", "Critical:", "0", "High:", "1",
                                "Medium:", "1", "Low:", "0", "Negligible:", "0",
                                "Unknown:", "1"]
    assert lines[2] == ""
    assert lines[3].split() == ["PACKAGE", "INSTALLED", "FIXED", "VULNERABILITY",
                                "SEVERITY", "TITLE"]
    rows = lines[4:]
    assert len(rows) == 3, p.stdout
    assert all(len(r) <= 120 for r in lines), p.stdout   # default width
    cols = [lines[3].index(h) for h in ("INSTALLED", "FIXED", "VULNERABILITY",
                                         "SEVERITY", "TITLE")]
    for row, f in zip(rows, FINDINGS):
        cells = [row[:cols[0]], row[cols[0]:cols[1]], row[cols[1]:cols[2]],
                 row[cols[2]:cols[3]], row[cols[3]:cols[4]], row[cols[4]:]]
        cells = [c.strip() for c in cells]
        assert cells[:5] == [f["package"], f["installed"], f["fixed"] or "(unfixed)",
                             f["vulnerability"], f["severity"]], row
        title = cells[5]
        if title.endswith("..."):
            assert f["title"].startswith(title[:-3]) and len(title) < len(f["title"])
        else:
            assert title == f["title"]


def test_table_width_follows_columns(clarion, filled, debian_image):
    for width in ("80", "200", "400"):
        p = scan(clarion, filled, debian_image[0], env_extra={"COLUMNS": width})
        assert p.returncode == 0, p.stderr
        rows = p.stdout.splitlines()[3:]
        assert max(len(r) for r in rows) <= int(width), p.stdout
    # wide enough: the titles are whole
    assert FINDINGS[0]["title"] in p.stdout


def test_table_severity_filter_and_nothing_found(clarion, filled, debian_image):
    p = scan(clarion, filled, debian_image[0], "--severity", "Critical,Low")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[1].split() == ["Total:", "0", "Critical:", "0", "Low:", "0"]
    assert "No vulnerabilities found." in p.stdout
    assert "CVE-" not in p.stdout


def test_output_file(clarion, filled, debian_image, tmp_path):
    out = tmp_path / "report.json"
    p = scan(clarion, filled, debian_image[0], "--format", "json", "--output", out,
             "--fail-on", "High")
    assert p.returncode == 1, p.stderr
    assert p.stdout == ""
    assert json.loads(out.read_text())["findings"] == FINDINGS
    out2 = tmp_path / "report.txt"
    p = scan(clarion, filled, debian_image[0], "--output", out2)
    assert p.returncode == 0 and p.stdout == "", p.stderr
    assert "CVE-2008-7220" in out2.read_text()
    p = scan(clarion, filled, debian_image[0], "--output", tmp_path / "no" / "such")
    assert p.returncode == 2 and len(p.stderr.splitlines()) == 1, p.stderr


# ---- coverage and the database ------------------------------------------------

def test_not_covered(clarion, filled, alpine_image):
    image, n = alpine_image
    r = scan_json(clarion, filled, image)
    assert r["findings"] == []
    assert len(r["packages"]) == n
    assert len(r["not_covered"]) == n
    assert {x["distribution"] for x in r["not_covered"]} == {"Alpine Linux v3.20"}
    p = scan(clarion, filled, image)
    assert p.returncode == 0
    msg = "%d packages of Alpine Linux v3.20 are not covered by any vulnerability feed" % n
    assert msg in p.stderr
    assert "Not covered" not in p.stdout
    p = scan(clarion, filled, image, "--show-not-covered")
    assert msg in p.stderr
    listed = p.stdout.split("Not covered by any vulnerability feed:\n")[1].splitlines()
    assert len(listed) == n and all("(Alpine Linux v3.20)" in x for x in listed)


def test_covered_image_says_nothing_about_coverage(clarion, filled, debian_image):
    p = scan(clarion, filled, debian_image[0])
    assert "not covered" not in p.stderr, p.stderr


def test_empty_database(clarion, debian_image, tmp_path):
    env = make_env(tmp_path / "home")
    p = run([clarion, "scan", "--db", str(tmp_path / "empty.db"), debian_image[0]],
            env=env)
    assert p.returncode == 2
    assert p.stdout == ""
    # the store's own info lines about creating the file, then one line
    errors = [x for x in p.stderr.splitlines() if not x.startswith("clarion: info:")]
    assert len(errors) == 1, p.stderr
    assert "clarion update" in p.stderr and "clarion db import" in p.stderr


def test_unreadable_image(clarion, filled, tmp_path):
    p = scan(clarion, filled, "oci:%s:1" % (tmp_path / "nothing"))
    assert p.returncode == 2 and p.stdout == ""
    assert len(p.stderr.splitlines()) == 1, p.stderr


def test_from_registry(clarion, filled, debian_image, registry_plain):  # noqa: F811
    _, img = debian_image
    images.push(registry_plain, "t/scan", "1", img)
    ref = registry_plain.addr + "/t/scan:1"
    r = scan_json(clarion, filled, ref, "--plain-http", "--platform", "linux/amd64")
    assert r["image"] == ref and r["findings"] == FINDINGS
