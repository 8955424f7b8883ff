"""NVD's CVSS scores end to end: real NVD CVE API 2.0 pages
(tests/fixtures/nvd/) served over loopback HTTP by harness/feeds.py,
`clarion update` with the nvd source on SQLite and PostgreSQL, then what
clients see: the Clair v4 vulnerability report's `enrichments` in Clair's
clair.cvss shape, and the legacy API v1's Metadata.NVD (what Klar passes
through), from a real clarion server indexing a real image in a real
docker-registry.

The Debian feed is the tracker sample plus two issues whose ids are CVEs
of the NVD pages (the pages stay byte for byte NVD's):

  backupninja 0.8-1  CVE-2022-1576   fixed 0.8-2   NVD: v3.1 6.5 and v2 4.3
  chromium           CVE-2023-27314  open          NVD: v3.1 7.5, no v2
  backupninja        CVE-2005-3111   fixed 0.8-2   NVD: nothing (not in the pages)
"""
import json
import os
import uuid

import pytest

from conftest import FIXTURES, run
from harness import images
from harness.clarion import clean_env, report_lines, update as clarion_update
from harness.feeds import FeedServer
from harness.registry import registry_plain, need  # noqa: F401
from harness.server import ClarionServer, manifest_for

TYPE = ("message/vnd.clair.map.vulnerability; enricher=clair.cvss "
        "schema=https://csrc.nist.gov/schema/nvd/api/2.0/cve_api_json_2.0.schema")
NVD = os.path.join(FIXTURES, "nvd")
PAGES = ("single-entry.json", "page-2023-10-18-part.json")


def fixture(*parts):
    with open(os.path.join(FIXTURES, *parts), "rb") as f:
        return f.read()


def dpkg_entry(name, version, arch="amd64"):
    return ("Package: %s\nStatus: install ok installed\nPriority: optional\n"
            "Architecture: %s\nVersion: %s\nDescription: %s\n"
            % (name, arch, version, name))


LAYER = {
    "var/lib/dpkg/status": "\n".join([
        dpkg_entry("backupninja", "0.8-1", arch="all"),
        dpkg_entry("chromium", "90.0.4430.212-1~deb10u1"),
    ]).encode(),
    "etc/os-release": (
        'PRETTY_NAME="Debian GNU/Linux 10 (buster)"\nNAME="Debian GNU/Linux"\n'
        'VERSION_ID="10"\nVERSION="10 (buster)"\nVERSION_CODENAME=buster\n'
        'ID=debian\n').encode(),
}


def tracker_doc():
    doc = json.loads(fixture("feeds", "debian", "tracker-json-sample.json"))
    doc["backupninja"]["CVE-2022-1576"] = {
        "description": "an issue whose id NVD scored (v3.1 and v2)",
        "scope": "remote",
        "releases": {"buster": {"status": "resolved", "fixed_version": "0.8-2",
                                "repositories": {"buster": "0.8-2"},
                                "urgency": "low"}}}
    doc["chromium"]["CVE-2023-27314"] = {
        "description": "an issue whose id NVD scored (v3.1 only)",
        "scope": "remote",
        "releases": {"buster": {"status": "open",
                                "repositories": {"buster": "90.0.4430.212-1~deb10u1"},
                                "urgency": "not yet assigned"}}}
    return json.dumps(doc).encode()


def nvd_cvss(page, cve_id, metric="cvssMetricV31"):
    """The Primary cvssData object of cve_id as the real page has it."""
    doc = json.loads(fixture("nvd", page))
    for v in doc["vulnerabilities"]:
        if v["cve"]["id"] == cve_id:
            for m in v["cve"]["metrics"][metric]:
                if m["type"] == "Primary":
                    return m["cvssData"]
    raise KeyError(cve_id)


@pytest.fixture(scope="module")
def world(registry_plain, tmp_path_factory):
    img = images.build_image([LAYER])
    images.push(registry_plain, "t/debian", "1", img)
    top = tmp_path_factory.mktemp("enrich")
    fs = FeedServer(top / "feeds").start()
    fs.put("debian/tracker/data/json", tracker_doc())
    for p in PAGES:
        fs.put("nvd/" + p, fixture("nvd", p))
    yield {"registry": registry_plain, "image": img, "fs": fs,
           "manifest": manifest_for(registry_plain, "t/debian", img),
           "env": clean_env(top / "home")}
    fs.stop()


def updaters(fs, nvd=True):
    cfg = {"sets": ["debian", "nvd"], "config": {
        "debian": {"url": fs.url("debian/tracker/data/json"),
                   "mirror": fs.url("debian/mirror/"),
                   "releases": "buster=10 bullseye=11 bookworm=12"}}}
    if nvd:
        cfg["config"]["nvd"] = {"url": " ".join(fs.url("nvd/" + p) for p in PAGES)}
    return cfg


def update(clarion, world, cfg, db, tmp_path):
    """`clarion update`; the process and its report by updater."""
    p = clarion_update(clarion, db, cfg, tmp_path, world["env"])
    return p, report_lines(p)


def vid(report, name):
    ids = [k for k, v in report["vulnerabilities"].items() if v["name"] == name]
    assert len(ids) == 1, (name, ids)
    return ids[0]


def test_enrichment_v4_and_v1(clarion, world, tmp_path, db):
    cfg = {"updaters": updaters(world["fs"]),
           "matcher": {"period": "1h", "index_poll": "500ms"}}

    # clarion update: the NVD pages become an operation of their own...
    p, lines = update(clarion, world, cfg, db, tmp_path)
    assert p.returncode == 0, p.stderr
    assert lines["nvd"][:2] == ["updated", "4"], p.stdout
    assert lines["debian"][0] == "updated", p.stdout
    # ... asked for conditionally the next time: unchanged, not parsed
    before = world["fs"].count("/nvd/" + PAGES[0])
    p, lines = update(clarion, world, cfg, db, tmp_path)
    assert p.returncode == 0, p.stderr
    assert lines["nvd"][:2] == ["unchanged", "4"], p.stdout
    assert world["fs"].count("/nvd/" + PAGES[0]) == before + 1

    with ClarionServer(clarion, tmp_path / "srv", db, config=cfg,
                       env=world["env"]) as srv:
        m = world["manifest"]
        r = srv.json("POST", "/indexer/api/v1/index_report", m, expect=201)
        assert r["state"] == "IndexFinished", r
        vr = srv.json("GET", "/matcher/api/v1/vulnerability_report/" + m["hash"])
        names = {v["name"] for v in vr["vulnerabilities"].values()}
        assert {"CVE-2022-1576", "CVE-2023-27314", "CVE-2005-3111"} <= names
        # Clair's shape: {type: [{vulnerability id: [CVSS v3 objects]}]},
        # each object NVD's cvssData
        assert list(vr["enrichments"]) == [TYPE]
        assert len(vr["enrichments"][TYPE]) == 1
        enr = vr["enrichments"][TYPE][0]
        assert enr[vid(vr, "CVE-2022-1576")] == [
            nvd_cvss("single-entry.json", "CVE-2022-1576")]
        assert enr[vid(vr, "CVE-2023-27314")] == [
            nvd_cvss("page-2023-10-18-part.json", "CVE-2023-27314")]
        assert vid(vr, "CVE-2005-3111") not in enr
        # the distribution's severity stays (Clair does not override it)
        assert vr["vulnerabilities"][vid(vr, "CVE-2023-27314")][
            "normalized_severity"] == "Unknown"

        # Legacy API v1, as Klar asks: Metadata.NVD per vulnerability
        blob = world["image"].layers[0].blob.digest
        reg = world["registry"]
        name = "enrich" + uuid.uuid4().hex
        body = {"Layer": {"Name": name, "Path": "%s://%s/v2/t/debian/blobs/%s"
                          % (reg.scheme, reg.addr, blob),
                          "ParentName": "", "Format": "Docker", "Features": None,
                          "Headers": {"Authorization": ""}}}
        srv.json("POST", "/v1/layers", body, expect=201)
        layer = srv.json("GET", "/v1/layers/%s?vulnerabilities" % name)["Layer"]
        vulns = {v["Name"]: v for f in layer["Features"]
                 for v in f.get("Vulnerabilities", [])}
        assert vulns["CVE-2022-1576"]["Metadata"] == {"NVD": {
            "CVSSv2": {"PublishedDateTime": "2022-07-11T13:15:08.503",
                       "Vectors": "AV:N/AC:M/Au:N/C:N/I:P/A:N", "Score": 4.3},
            "CVSSv3": {"Vectors": "AV:N/AC:L/PR:N/UI:R/S:U/C:N/I:H/A:N",
                       "Score": 6.5, "ExploitabilityScore": 2.8,
                       "ImpactScore": 3.6}}}
        assert vulns["CVE-2023-27314"]["Metadata"]["NVD"]["CVSSv3"]["Score"] == 7.5
        assert "CVSSv2" not in vulns["CVE-2023-27314"]["Metadata"]["NVD"]
        assert "Metadata" not in vulns["CVE-2005-3111"]


def test_disable_enrichment(clarion, world, tmp_path):
    """matcher.disable_enrichment: the NVD data is in the database, but
    reports carry neither v4 enrichments nor v1 Metadata."""
    db = str(tmp_path / "db.sqlite")
    cfg = {"updaters": updaters(world["fs"]),
           "matcher": {"period": "1h", "index_poll": "500ms"}}
    p, lines = update(clarion, world, cfg, db, tmp_path)
    assert p.returncode == 0 and lines["nvd"][0] == "updated", p.stdout
    cfg["matcher"]["disable_enrichment"] = True
    with ClarionServer(clarion, tmp_path / "srv", db, config=cfg,
                       env=world["env"]) as srv:
        m = world["manifest"]
        srv.json("POST", "/indexer/api/v1/index_report", m, expect=201)
        vr = srv.json("GET", "/matcher/api/v1/vulnerability_report/" + m["hash"])
        assert "CVE-2022-1576" in {v["name"] for v in vr["vulnerabilities"].values()}
        assert vr["enrichments"] == {}


def test_no_nvd_without_url(clarion, world, tmp_path):
    """Naming the source is not enough: without a url nothing is fetched,
    and reports have empty enrichments."""
    db = str(tmp_path / "clarion.db")
    cfg = {"updaters": updaters(world["fs"], nvd=False),
           "matcher": {"period": "1h", "index_poll": "500ms"}}
    p, lines = update(clarion, world, cfg, db, tmp_path)
    assert p.returncode == 0, p.stderr
    assert "nvd" not in lines and lines["debian"][0] == "updated", p.stdout
    with ClarionServer(clarion, tmp_path / "srv", db, config=cfg,
                       env=world["env"]) as srv:
        m = world["manifest"]
        srv.json("POST", "/indexer/api/v1/index_report", m, expect=201)
        vr = srv.json("GET", "/matcher/api/v1/vulnerability_report/" + m["hash"])
        assert "CVE-2022-1576" in {v["name"] for v in vr["vulnerabilities"].values()}
        assert vr["enrichments"] == {}


def test_broken_page_keeps_previous_data(clarion, world, tmp_path):
    """A page that is not NVD JSON fails the nvd run (exit 1) and the
    previous CVSS data stays in use."""
    fs = world["fs"]
    db = str(tmp_path / "clarion.db")
    cfg = {"updaters": updaters(fs)}
    p, lines = update(clarion, world, cfg, db, tmp_path)
    assert lines["nvd"][:2] == ["updated", "4"], p.stdout
    fs.put("nvd/" + PAGES[1], b'{"format":"NVD_CVE","version":"2.0",'
           b'"vulnerabilities":[{"cve":{"id":"not a cve"}}]}')
    try:
        p, lines = update(clarion, world, cfg, db, tmp_path)
        assert p.returncode == 1, (p.stdout, p.stderr)
        assert lines["nvd"][:2] == ["failed", "4"], p.stdout
        assert "vulnerabilities[0].cve.id" in p.stdout + p.stderr
    finally:
        fs.put("nvd/" + PAGES[1], fixture("nvd", PAGES[1]))


def test_scan_formats_show_cvss(clarion, world, tmp_path):
    """`clarion scan` on the local database: NVD's score beside the feed's
    severity in JSON, SARIF (security-severity when the feed gave none) and
    CycloneDX (a CVSSv31 rating with the vector); the severity stays."""
    db = str(tmp_path / "clarion.db")
    p, lines = update(clarion, world, {"updaters": updaters(world["fs"])}, db, tmp_path)
    assert lines["nvd"][:2] == ["updated", "4"], p.stdout
    layout = str(tmp_path / "layout")
    images.write_oci_layout(layout, world["image"], tag="1")
    image = "oci:%s:1" % layout

    def scan(fmt):
        p = run([clarion, "scan", "--db", db, "--format", fmt, image],
                env=world["env"], timeout=120)
        assert p.returncode in (0, 1), p.stderr
        return json.loads(p.stdout)

    found = {f["vulnerability"]: f for f in scan("json")["findings"]}
    assert found["CVE-2022-1576"]["cvss"] == {
        "vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:N/I:H/A:N", "score": 6.5}
    # Debian's urgency "low", not NVD's MEDIUM
    assert found["CVE-2022-1576"]["severity"] == "Low"
    assert found["CVE-2023-27314"]["severity"] == "Unknown"
    assert found["CVE-2023-27314"]["cvss"]["score"] == 7.5
    assert "cvss" not in found["CVE-2005-3111"]

    rules = {r["id"]: r for r in
             scan("sarif")["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["CVE-2023-27314"]["properties"]["security-severity"] == "7.5"
    # a feed's own severity keeps its number
    assert rules["CVE-2005-3111"]["properties"]["security-severity"] == "5.5"

    vulns = {v["id"]: v for v in scan("cyclonedx")["vulnerabilities"]}
    nvd = [r for r in vulns["CVE-2022-1576"]["ratings"]
           if r["source"]["name"] == "NVD"]
    assert nvd == [{"source": {"name": "NVD"}, "score": 6.5, "severity": "medium",
                    "method": "CVSSv31",
                    "vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:N/I:H/A:N"}]
    assert not [r for r in vulns["CVE-2005-3111"]["ratings"]
                if r["source"]["name"] == "NVD"]
