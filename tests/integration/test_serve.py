"""`clarion serve` end to end, as a Clair v4 client sees it: a real
docker-registry with htpasswd (Basic) or token auth holding the test images,
real feed files served on 127.0.0.1 (harness/feeds.py), and the server
started by harness/server.py on SQLite and on PostgreSQL.  Clients index
images by POSTing Clair Manifests (blob URIs on the registry plus the
Authorization header it needs, as clairctl builds them) and read the
vulnerability reports.

Hand-picked expectations, from the fixtures:

  Debian 10 (tracker JSON, tests/fixtures/feeds/debian):
    libjs-prototype 1.6.0-1 (Source prototypejs)  CVE-2008-7220 fixed 1.6.0.2-1  High
    backupninja 0.8-1                              CVE-2005-3111 fixed 0.8-2      Medium
    chromium 90.0.4430.212-1~deb10u1               CVE-2022-0456 open (no fix)    Unknown
    txt2man 1.5.5-4.1                              fixed exactly at 1.5.5-4.1: not vulnerable
  Alpine 3.11 (secdb, tests/fixtures/feeds/alpine/v3.11/main.json):
    xen 4.7.1-r4      XSA-207 fixed 4.7.1-r5, CVE-2017-8904 fixed 4.8.1-r2
    tcpdump 4.9.3-r0  CVE-2018-14882 fixed exactly at 4.9.3-r0: not vulnerable
  AlmaLinux 9 (OSV all.zip; an advisory written here about the rpm fixture's
  packages, tests/fixtures/scanners/make-rpmdb.sh):
    clarion-hello 1.0-1.el9   ALSA-2099:0001 fixed 1.0-2.el9  Important -> High
    clarion-epoch 2:0.9-4.el9 fixed exactly at 2:0.9-4.el9: not vulnerable
  Ubuntu 18.04 (OVAL, tests/fixtures/oval/ubuntu-bionic-cve-sample.xml):
    udev 237-3ubuntu10.37     CVE-2020-1712 fixed 237-3ubuntu10.38  Medium
    libtsk13 4.4.2-3          CVE-2020-10232 open (no fix)          Medium
"""
import base64
import hashlib
import hmac
import io
import json
import os
import signal
import subprocess
import threading
import time
import urllib.parse
import zipfile

import pytest

from conftest import FIXTURES, run
from harness import images
from harness.clarion import clean_env, pg_url
from harness.feeds import FeedServer
from harness.registry import Registry, registry_htpasswd, need  # noqa: F401
from harness.server import ClarionServer, manifest_for

SCANNERS = os.path.join(FIXTURES, "scanners")


def fixture(*parts):
    with open(os.path.join(FIXTURES, *parts), "rb") as f:
        return f.read()


def dpkg_entry(name, version, source=None, arch="amd64"):
    s = "Package: %s\nStatus: install ok installed\nPriority: optional\n" \
        "Architecture: %s\n" % (name, arch)
    if source:
        s += "Source: %s\n" % source
    return s + "Version: %s\nDescription: %s\n" % (version, name)


DEBIAN_LAYER = {
    "var/lib/dpkg/status": "\n".join([
        dpkg_entry("libjs-prototype", "1.6.0-1", source="prototypejs", arch="all"),
        dpkg_entry("backupninja", "0.8-1", arch="all"),
        dpkg_entry("txt2man", "1.5.5-4.1", arch="all"),
        dpkg_entry("chromium", "90.0.4430.212-1~deb10u1"),
        dpkg_entry("base-files", "10.3+deb10u13"),
    ]).encode(),
    "etc/os-release": (
        'PRETTY_NAME="Debian GNU/Linux 10 (buster)"\nNAME="Debian GNU/Linux"\n'
        'VERSION_ID="10"\nVERSION="10 (buster)"\nVERSION_CODENAME=buster\n'
        'ID=debian\n').encode(),
}

ALPINE_LAYER = {
    "lib/apk/db/installed": (
        "C:Q1aaaaaaaaaaaaaaaaaaaaaaaaaaaaa=\nP:xen\nV:4.7.1-r4\nA:x86_64\no:xen\n\n"
        "C:Q1bbbbbbbbbbbbbbbbbbbbbbbbbbbbb=\nP:tcpdump\nV:4.9.3-r0\nA:x86_64\n"
        "o:tcpdump\n\n").encode(),
    "etc/os-release": (
        'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.11.6\n'
        'PRETTY_NAME="Alpine Linux v3.11"\n').encode(),
    "etc/alpine-release": b"3.11.6\n",
}

ALMA_LAYER = {
    "var/lib/rpm/rpmdb.sqlite": fixture("scanners", "alma9-rpmdb.sqlite"),
    "etc/os-release": fixture("scanners", "alma9-os-release"),
}

UBUNTU_LAYER = {
    "var/lib/dpkg/status": "\n".join([
        dpkg_entry("udev", "237-3ubuntu10.37", source="systemd"),
        dpkg_entry("libtsk13", "4.4.2-3", source="sleuthkit"),
    ]).encode(),
    "etc/os-release": (
        'NAME="Ubuntu"\nVERSION="18.04.6 LTS (Bionic Beaver)"\nID=ubuntu\n'
        'ID_LIKE=debian\nPRETTY_NAME="Ubuntu 18.04.6 LTS"\nVERSION_ID="18.04"\n'
        'VERSION_CODENAME=bionic\nUBUNTU_CODENAME=bionic\n').encode(),
}


def alma_advisory(fixed_hello="1.0-2.el9"):
    return {
        "id": "ALSA-2099:0001",
        "summary": "Important: clarion-hello security update",
        "details": "A test advisory about the rpm fixture's packages.",
        "published": "2099-01-02T00:00:00Z", "modified": "2099-01-02T00:00:00Z",
        "affected": [
            {"package": {"ecosystem": "AlmaLinux:9", "name": "clarion-hello"},
             "ranges": [{"type": "ECOSYSTEM",
                         "events": [{"introduced": "0"}, {"fixed": fixed_hello}]}]},
            {"package": {"ecosystem": "AlmaLinux:9", "name": "clarion-epoch"},
             "ranges": [{"type": "ECOSYSTEM",
                         "events": [{"introduced": "0"}, {"fixed": "2:0.9-4.el9"}]}]},
        ],
        "references": [{"type": "ADVISORY",
                        "url": "https://errata.almalinux.org/9/ALSA-2099-0001.html"}],
    }


def zip_of(files):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def serve_feeds(fs, debian_doc=None):
    """The four sources' files on the feed server; the updaters config."""
    fs.put("debian/tracker/data/json",
           debian_doc or fixture("feeds", "debian", "tracker-json-sample.json"))
    fs.put("alpine/v3.11/main.json", fixture("feeds", "alpine", "v3.11", "main.json"))
    fs.put("osv/AlmaLinux/all.zip", zip_of({
        "ALSA-2099:0001.json": json.dumps(alma_advisory())}))
    fs.put("oval/ubuntu/com.ubuntu.bionic.cve.oval.xml",
           fixture("oval", "ubuntu-bionic-cve-sample.xml"))
    return {"sets": ["debian", "alpine", "alma", "ubuntu"], "config": {
        "debian": {"url": fs.url("debian/tracker/data/json"),
                   "mirror": fs.url("debian/mirror/"),
                   "releases": "buster=10 bullseye=11 bookworm=12"},
        "alpine": {"url": fs.url("alpine"), "branches": "3.11", "repos": "main"},
        "alma": {"url": fs.url("osv/AlmaLinux/all.zip"), "releases": "9"},
        "ubuntu": {"url": fs.url("oval/ubuntu/com.ubuntu.{series}.cve.oval.xml"),
                   "series": "bionic"}}}


# Databases: conftest.py's `db` (SQLite and a fresh PostgreSQL database)
# and `fresh_pg`.

# ---- images and feeds --------------------------------------------------------

@pytest.fixture(scope="module")
def world(registry_htpasswd, tmp_path_factory):
    """The registry with the four images, Basic-auth manifests for them,
    and a feed server with the four sources."""
    reg = registry_htpasswd
    user, password = reg.credentials()
    basic = "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
    imgs, manifests = {}, {}
    for name, layer in (("debian", DEBIAN_LAYER), ("alpine", ALPINE_LAYER),
                        ("alma", ALMA_LAYER), ("ubuntu", UBUNTU_LAYER)):
        img = images.build_image([layer])
        images.push(reg, "t/" + name, "1", img, auth=(user, password))
        imgs[name] = img
        manifests[name] = manifest_for(reg, "t/" + name, img, basic)
    top = tmp_path_factory.mktemp("serve")
    fs = FeedServer(top / "feeds").start()
    updaters = serve_feeds(fs)
    yield {"registry": reg, "images": imgs, "manifests": manifests, "fs": fs,
           "updaters": updaters, "env": clean_env(top / "home"), "basic": basic}
    fs.stop()


def config(world, **over):
    cfg = {"updaters": world["updaters"], "matcher": {"period": "1h",
                                                       "index_poll": "500ms"},
           "log_level": "info"}
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(cfg.get(k), dict):
            cfg[k] = dict(cfg[k], **v)
        else:
            cfg[k] = v
    return cfg


def server(clarion, world, tmp_path, db, **kw):
    cfg = kw.pop("cfg", None) or config(world)
    return ClarionServer(clarion, tmp_path, db, config=cfg, env=world["env"], **kw)


def findings(report):
    """{(package, vulnerability): (fixed_in_version, normalized_severity, severity)}."""
    pk = report["packages"]
    out = {}
    for pid, vids in report["package_vulnerabilities"].items():
        for vid in vids:
            v = report["vulnerabilities"][vid]
            out[(pk[pid]["name"], v["name"])] = (v["fixed_in_version"],
                                                 v["normalized_severity"], v["severity"])
    return out


def index(srv, manifest, expect=201):
    return srv.json("POST", "/indexer/api/v1/index_report", manifest, expect=expect)


def vuln_report(srv, digest, expect=200):
    return srv.json("GET", "/matcher/api/v1/vulnerability_report/" + digest, expect=expect)


def check_reports(srv, world):
    m = world["manifests"]
    for name in ("debian", "alpine", "alma", "ubuntu"):
        r = index(srv, m[name])
        assert r["state"] == "IndexFinished" and r["success"], (name, r)
        assert r["manifest_hash"] == m[name]["hash"]

    deb = findings(vuln_report(srv, m["debian"]["hash"]))
    assert deb[("libjs-prototype", "CVE-2008-7220")] == ("1.6.0.2-1", "High", "high**")
    assert deb[("backupninja", "CVE-2005-3111")] == ("0.8-2", "Medium", "medium")
    assert deb[("chromium", "CVE-2022-0456")] == ("", "Unknown", "end-of-life")
    assert not [k for k in deb if k[0] == "txt2man"], deb

    alp = findings(vuln_report(srv, m["alpine"]["hash"]))
    assert alp[("xen", "XSA-207")][0] == "4.7.1-r5"
    assert alp[("xen", "CVE-2017-8904")][0] == "4.8.1-r2"
    assert not [k for k in alp if k[0] == "tcpdump"], alp

    alma = findings(vuln_report(srv, m["alma"]["hash"]))
    assert alma[("clarion-hello", "ALSA-2099:0001")][:2] == ("1.0-2.el9", "High")
    assert not [k for k in alma if k[0] == "clarion-epoch"], alma

    ubu = findings(vuln_report(srv, m["ubuntu"]["hash"]))
    assert ubu[("udev", "CVE-2020-1712")] == ("237-3ubuntu10.38", "Medium", "Medium")
    assert ubu[("libtsk13", "CVE-2020-10232")] == ("", "Medium", "Medium")


# ---- the reports ------------------------------------------------------------

def test_reports(clarion, world, tmp_path, db):
    with server(clarion, world, tmp_path, db) as srv:
        check_reports(srv, world)
        # What is stored is what GET answers; the report says where it is.
        d = world["manifests"]["debian"]["hash"]
        st, h, raw = srv.request("POST", "/indexer/api/v1/index_report",
                                 world["manifests"]["debian"])
        assert st == 201
        assert h["location"] == "/indexer/api/v1/index_report/" + d
        assert "/matcher/api/v1/vulnerability_report/" + d in h["link"]
        got = srv.json("GET", "/indexer/api/v1/index_report/" + d)
        assert got["manifest_hash"] == d and "libjs-prototype" in json.dumps(got)
        status = srv.json("GET", "/status")
        names = {u["updater"]: u for u in status["updaters"]}
        assert names["debian"]["vulnerabilities"] > 0
        assert names["debian"]["last_success"] and not names["debian"].get("error")
        assert "ubuntu/bionic" in names
        ops = srv.json("GET", "/matcher/api/v1/internal/update_operation")
        assert "debian" in ops and ops["debian"][0]["kind"] == "vulnerability"
        diff = srv.json("GET", "/matcher/api/v1/internal/update_diff?cur="
                        + ops["debian"][0]["ref"])
        assert any(v["name"] == "CVE-2008-7220" for v in diff["added"])
        assert diff["removed"] == []
        # affected_manifest: a report's vulnerability, run backwards, finds
        # the manifest; one about a package nobody has finds nothing.
        vr = vuln_report(srv, d)
        v = [x for x in vr["vulnerabilities"].values() if x["name"] == "CVE-2005-3111"][0]
        nobody = dict(v, id="other", package=dict(v["package"], name="no-such-package"))
        got = srv.json("POST", "/indexer/api/v1/internal/affected_manifest",
                       {"vulnerabilities": [v, nobody]})
        assert got["vulnerable_manifests"] == {d: [v["id"]]}
        assert set(got["vulnerabilities"]) == {v["id"], "other"}
        # Metrics name what happened.
        st, _, raw = srv.request("GET", "/metrics", intro=True)
        text = raw.decode()
        assert st == 200
        assert 'clarion_http_requests_total{handler="index_report_post",code="201"}' in text
        assert 'clarion_vulnerabilities{updater="debian"}' in text
        assert "clarion_match_duration_seconds_count" in text
        assert "process_resident_memory_bytes" in text


def test_token_registry_manifest(clarion, world, tmp_path):
    """Layers behind a token registry: the client sends the bearer token it
    got, as clairctl does."""
    with Registry(auth="token") as reg:
        user, password = reg.credentials()
        img = images.build_image([DEBIAN_LAYER, {"etc/motd": b"token\n"}])
        images.push(reg, "t/tok", "1", img, auth=(user, password))
        # A pull token, the way a client gets one: answer the challenge.
        client = images.client_for(reg, auth=(user, password))
        scope = "repository:t/tok:pull"
        st, _, _ = client.request("HEAD", "/v2/t/tok/blobs/" + img.layers[0].blob.digest,
                                  scope=scope)
        assert st == 200
        m = manifest_for(reg, "t/tok", img, client.authz[scope])
        with server(clarion, world, tmp_path, str(tmp_path / "c.db")) as srv:
            r = index(srv, m)
            assert r["state"] == "IndexFinished", r
            deb = findings(vuln_report(srv, img.digest))
            assert ("backupninja", "CVE-2005-3111") in deb
            # Without the header: a layer not seen before cannot be
            # fetched, and the report says so (Clair's 201 with IndexError).
            img2 = images.build_image([DEBIAN_LAYER, {"etc/motd": b"other\n"}])
            images.push(reg, "t/tok", "2", img2, auth=(user, password))
            m = manifest_for(reg, "t/tok", img2)
            r = index(srv, m)
            assert r["state"] == "IndexError" and not r["success"]
            assert "401" in r["err"] or "UNAUTHORIZED" in r["err"].upper(), r["err"]


def add_base_files_record(fs, doc, description):
    """Adds CVE-2099-0001 to the tracker document doc and serves it: the
    Debian image's base-files, fixed in 10.3+deb10u14 (the image has
    10.3+deb10u13: a finding)."""
    doc["base-files"] = {"CVE-2099-0001": {
        "description": description, "scope": "local",
        "releases": {"buster": {"status": "resolved",
                                "fixed_version": "10.3+deb10u14",
                                "urgency": "high",
                                "repositories": {"buster": "10.3+deb10u14"}}}}}
    fs.put("debian/tracker/data/json", json.dumps(doc).encode())


def test_update_changes_report_without_reindexing(clarion, world, tmp_path):
    """An update operation that adds a record changes the next report of an
    image indexed before it."""
    with FeedServer(tmp_path / "feeds") as fs:
        doc = json.loads(fixture("feeds", "debian", "tracker-json-sample.json"))
        updaters = serve_feeds(fs, json.dumps(doc).encode())
        cfg = config(world, updaters=updaters,
                     matcher={"period": "1s", "index_poll": "200ms"})
        with server(clarion, world, tmp_path, str(tmp_path / "u.db"), cfg=cfg) as srv:
            m = world["manifests"]["debian"]
            index(srv, m)
            before = findings(vuln_report(srv, m["hash"]))
            assert not [k for k in before if k[0] == "base-files"]
            add_base_files_record(fs, doc, "a record added by the test")
            deadline = time.time() + 30
            while time.time() < deadline:
                after = findings(vuln_report(srv, m["hash"]))
                if ("base-files", "CVE-2099-0001") in after:
                    break
                time.sleep(0.3)
            assert after[("base-files", "CVE-2099-0001")] == ("10.3+deb10u14", "High", "high")
            posts = [l for l in srv.log().splitlines() if "POST /indexer" in l]
            assert len(posts) == 1, posts


# ---- requests that go wrong -----------------------------------------------------

def test_bad_requests(clarion, world, tmp_path):
    cfg = config(world, matcher={"disable_updaters": True},
                 http={"max_body": 64 * 1024})
    with server(clarion, world, tmp_path, str(tmp_path / "b.db"), cfg=cfg) as srv:
        def err(method, path, body=None, headers=None):
            st, h, raw = srv.request(method, path, body, headers)
            return st, h, (json.loads(raw) if raw else None)

        st, _, e = err("POST", "/indexer/api/v1/index_report", "{not json")
        assert st == 400 and e["code"] == "bad-request" and "JSON" in e["message"]
        st, _, e = err("POST", "/indexer/api/v1/index_report", {"hash": "", "layers": []})
        assert st == 400 and "bogus manifest" in e["message"]
        bad = dict(world["manifests"]["debian"], hash="sha256:XYZ")
        st, _, e = err("POST", "/indexer/api/v1/index_report", bad)
        assert st == 400 and "sha256:XYZ" in e["message"]
        m = json.loads(json.dumps(world["manifests"]["debian"]))
        m["layers"][0]["hash"] = "md5:abc"
        st, _, e = err("POST", "/indexer/api/v1/index_report", m)
        assert st == 400 and "layers[0].hash" in e["message"]
        m["layers"][0]["hash"] = world["manifests"]["debian"]["layers"][0]["hash"]
        m["layers"][0]["uri"] = "file:///etc/passwd"
        st, _, e = err("POST", "/indexer/api/v1/index_report", m)
        assert st == 400 and "layers[0].uri" in e["message"]
        st, _, e = err("GET", "/indexer/api/v1/index_report/sha256:1234")
        assert st == 400 and e["code"] == "bad-request"
        st, _, e = err("GET", "/indexer/api/v1/index_report/sha256:" + "a" * 64)
        assert st == 404 and e == {"code": "not-found", "message": "index report not found"}
        # This server has no vulnerability data (updaters disabled): Clair
        # answers 202 before it looks the manifest up, and so does clarion.
        st, _, e = err("GET", "/matcher/api/v1/vulnerability_report/sha256:" + "a" * 64)
        assert st == 202 and e is None
        st, _, e = err("GET", "/indexer/api/v2/nothing")
        assert st == 404 and e["code"] == "not-found"
        st, h, e = err("PUT", "/indexer/api/v1/index_report")
        assert st == 405 and e["code"] == "method-not-allowed"
        assert set(h["allow"].split(", ")) == {"POST", "DELETE"}
        st, _, e = err("POST", "/indexer/api/v1/index_report", "x" * (200 * 1024))
        assert st == 413
        st, _, e = err("GET", "/indexer/api/v1/index_state",
                       headers={"Accept": "text/html"})
        assert st == 415
        st, _, raw = srv.request("GET", "/robots.txt")
        assert st == 200 and raw == b"User-agent: *\nDisallow: /\n"
        # No vulnerability data loaded (updaters disabled): 202, empty.
        index(srv, world["manifests"]["debian"])
        st, _, raw = srv.request("GET", "/matcher/api/v1/vulnerability_report/"
                                 + world["manifests"]["debian"]["hash"])
        assert st == 202 and raw == b""
        # Leading "//" from clients whose base URL ends in "/".
        st, _, _ = srv.request("GET", "//indexer/api/v1/index_state")
        assert st == 200


def test_etag_gzip_delete(clarion, world, tmp_path):
    cfg = config(world, matcher={"disable_updaters": True})
    with server(clarion, world, tmp_path, str(tmp_path / "e.db"), cfg=cfg) as srv:
        m = world["manifests"]["debian"]
        d = m["hash"]
        st, h, _ = srv.request("GET", "/indexer/api/v1/index_state")
        etag = h["etag"]
        assert st == 200 and etag.startswith('"')
        st, _, raw = srv.request("GET", "/indexer/api/v1/index_state",
                                 headers={"If-None-Match": etag})
        assert st == 304 and raw == b""
        st, _, _ = srv.request("POST", "/indexer/api/v1/index_report", m,
                               headers={"If-None-Match": etag})
        assert st == 412
        index(srv, m)
        st, h, _ = srv.request("GET", "/indexer/api/v1/index_report/" + d)
        assert st == 200 and h["etag"] == etag
        assert h["content-type"] == "application/vnd.clair.index_report.v1+json"
        st, _, _ = srv.request("GET", "/indexer/api/v1/index_report/" + d,
                               headers={"If-None-Match": etag})
        assert st == 304
        st, h, raw = srv.request("GET", "/indexer/api/v1/index_report/" + d,
                                 headers={"Accept-Encoding": "gzip",
                                          "Accept": "application/json"},
                                 decode_gzip=False)
        assert st == 200 and h.get("content-encoding") == "gzip"
        assert h["content-type"] == "application/json"
        import gzip
        assert json.loads(gzip.decompress(raw))["manifest_hash"] == d
        st, h, raw = srv.request("GET", "/indexer/api/v1/index_report/" + d,
                                 decode_gzip=False)
        assert "content-encoding" not in h and json.loads(raw)["manifest_hash"] == d
        # Bulk delete answers what it deleted; single delete is 204 always.
        other = "sha256:" + "b" * 64
        got = srv.json("DELETE", "/indexer/api/v1/index_report", [d, other])
        assert got == [d]
        st, _, _ = srv.request("GET", "/indexer/api/v1/index_report/" + d)
        assert st == 404
        st, _, raw = srv.request("DELETE", "/indexer/api/v1/index_report/" + other)
        assert st == 204 and raw == b""


# ---- auth ---------------------------------------------------------------------

def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jwt(key, iss, exp_in=60):
    now = int(time.time())
    h = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    c = b64url(json.dumps({"iss": iss, "iat": now, "nbf": now - 5,
                           "exp": now + exp_in}).encode())
    sig = hmac.new(key, ("%s.%s" % (h, c)).encode(), hashlib.sha256).digest()
    return "%s.%s.%s" % (h, c, b64url(sig))


def test_auth(clarion, world, tmp_path):
    key = os.urandom(32)
    cfg = config(world, matcher={"disable_updaters": True},
                 auth={"psk": {"key": base64.b64encode(key).decode(),
                               "iss": ["quay", "clairctl"]}})
    with server(clarion, world, tmp_path, str(tmp_path / "a.db"), cfg=cfg) as srv:
        path = "/indexer/api/v1/index_state"
        st, _, raw = srv.request("GET", path)
        assert st == 401 and raw == b""
        st, _, raw = srv.request("GET", path, headers={"Authorization": "Bearer x.y.z"})
        assert st == 401 and raw == b""
        for iss in ("quay", "clairctl", "clair-intraservice"):
            st, _, _ = srv.request("GET", path, headers={
                "Authorization": "Bearer " + jwt(key, iss)})
            assert st == 200, iss
        st, _, _ = srv.request("GET", path, headers={
            "Authorization": "Bearer " + jwt(key, "stranger")})
        assert st == 401
        st, _, _ = srv.request("GET", path, headers={
            "Authorization": "Bearer " + jwt(os.urandom(32), "quay")})
        assert st == 401
        st, _, _ = srv.request("GET", path, headers={
            "Authorization": "Bearer " + jwt(key, "quay", exp_in=-3600)})
        assert st == 401
        # Open: robots.txt and the introspection listener.
        assert srv.request("GET", "/robots.txt")[0] == 200
        assert srv.request("GET", "/readyz", intro=True)[0] == 200
        assert srv.request("GET", "/metrics", intro=True)[0] == 200
        # Auth off (the other tests): no header needed.


# ---- limits and shutdown ---------------------------------------------------------

def slow_manifest(world, fs, tag):
    """The Debian image's layers served by the feed server, the first
    request of each held for 3 s (then dropped: the fetch retries)."""
    m = json.loads(json.dumps(world["manifests"]["debian"]))
    img = world["images"]["debian"]
    for layer, l in zip(m["layers"], img.layers):
        p = "blobs/%s/%s" % (tag, l.blob.digest)
        fs.put(p, l.blob.data)
        fs.hang(p, seconds=3, times=1)
        layer["uri"] = fs.url(p)
        layer["headers"] = {}
    return m


def post_in_thread(srv, m, out):
    def go():
        out.append(srv.request("POST", "/indexer/api/v1/index_report", m))
    t = threading.Thread(target=go)
    t.start()
    return t


def test_index_limit_429(clarion, world, tmp_path):
    with FeedServer(tmp_path / "blobs") as fs:
        cfg = config(world, matcher={"disable_updaters": True},
                     indexer={"index_report_request_concurrency": 1})
        with server(clarion, world, tmp_path, str(tmp_path / "l.db"), cfg=cfg) as srv:
            m = slow_manifest(world, fs, "a")
            out = []
            t = post_in_thread(srv, m, out)
            time.sleep(1.0)
            m2 = dict(m, hash="sha256:" + "c" * 64)
            st, _, raw = srv.request("POST", "/indexer/api/v1/index_report", m2)
            assert st == 429 and json.loads(raw)["code"] == "too-many-requests"
            t.join(60)
            assert out[0][0] == 201 and json.loads(out[0][2])["state"] == "IndexFinished"


def test_sigterm_finishes_request_in_flight(clarion, world, tmp_path):
    with FeedServer(tmp_path / "blobs") as fs:
        cfg = config(world, matcher={"disable_updaters": True})
        srv = server(clarion, world, tmp_path, str(tmp_path / "s.db"), cfg=cfg).start()
        try:
            m = slow_manifest(world, fs, "s")
            out = []
            t = post_in_thread(srv, m, out)
            time.sleep(1.0)
            srv.signal(signal.SIGTERM)
            time.sleep(0.5)
            # Draining: not ready, no new connections.
            st = None
            try:
                st = srv.request("GET", "/readyz", intro=True, timeout=3)[0]
            except OSError:
                pass
            assert st in (None, 503)
            t.join(60)
            assert out and out[0][0] == 201, out
            assert json.loads(out[0][2])["state"] == "IndexFinished"
            assert srv.proc.wait(30) == 0
        finally:
            srv.stop()
        # Nothing half-written: a new server answers the stored report.
        with server(clarion, world, tmp_path, str(tmp_path / "s.db"), cfg=cfg) as srv2:
            got = srv2.json("GET", "/indexer/api/v1/index_report/" + m["hash"])
            assert got["state"] == "IndexFinished"


# ---- PostgreSQL: restarts and replicas -------------------------------------------

def pg_restart(url, down_seconds):
    """Stops the test cluster (scripts/test-postgres), waits, starts it
    again with the same options."""
    pidfile = os.environ.get("CLARION_TEST_PG_PIDFILE")
    if not pidfile:
        pytest.skip("CLARION_TEST_PG_PIDFILE unset: cannot restart the server")
    d = os.path.dirname(pidfile)
    with open(os.path.join(d, "bindir")) as f:
        bindir = f.read().strip()
    pre = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
    p = run(pre + [bindir + "/pg_ctl", "-D", d + "/data", "-m", "fast", "-w", "stop"])
    assert p.returncode == 0, p.stderr
    time.sleep(down_seconds)
    opts = open(os.path.join(d, "data", "postmaster.opts")).read()
    # postmaster.opts: the binary then the quoted options it ran with.
    args = opts.split(None, 1)[1].strip() if " " in opts.strip() else ""
    p = run(pre + [bindir + "/pg_ctl", "-D", d + "/data", "-l", d + "/server.log",
                   "-w", "-t", "30", "-o", args.replace('"', ""), "start"])
    assert p.returncode == 0, p.stdout + p.stderr


def test_postgres_restart_under_server(clarion, world, tmp_path, fresh_pg):
    db = fresh_pg()
    with server(clarion, world, tmp_path, db) as srv:
        m = world["manifests"]["debian"]
        index(srv, m)
        vuln_report(srv, m["hash"])
        codes = []
        t = threading.Thread(target=pg_restart, args=(pg_url(), 2.0))
        t.start()
        time.sleep(1.0)
        for _ in range(3):
            codes.append(srv.request("GET", "/matcher/api/v1/vulnerability_report/"
                                     + m["hash"])[0])
            time.sleep(0.2)
        t.join(60)
        assert set(codes) <= {503, 500}, codes
        assert 503 in codes, codes
        deadline = time.time() + 20
        while time.time() < deadline:
            st = srv.request("GET", "/matcher/api/v1/vulnerability_report/" + m["hash"])[0]
            if st == 200:
                break
            time.sleep(0.3)
        assert st == 200
        assert findings(vuln_report(srv, m["hash"]))[("backupninja", "CVE-2005-3111")]


def test_two_replicas(clarion, world, tmp_path, fresh_pg):
    db = fresh_pg()
    with FeedServer(tmp_path / "blobs") as fs:
        with server(clarion, world, tmp_path / "a", db) as a, \
                server(clarion, world, tmp_path / "b", db) as b:
            # Indexed through one, reported through the other, identically.
            m = world["manifests"]["alpine"]
            index(a, m)
            ra, rb = vuln_report(a, m["hash"]), vuln_report(b, m["hash"])
            assert findings(ra) == findings(rb) and findings(ra)
            # The same manifest through both at once: fetched once.
            slow = slow_manifest(world, fs, "r")
            out_a, out_b = [], []
            ta = post_in_thread(a, slow, out_a)
            tb = post_in_thread(b, slow, out_b)
            ta.join(60)
            tb.join(60)
            assert out_a[0][0] == 201 and out_b[0][0] == 201
            ja, jb = json.loads(out_a[0][2]), json.loads(out_b[0][2])
            assert ja["state"] == jb["state"] == "IndexFinished"
            assert ja["packages"] == jb["packages"]
            for layer in slow["layers"]:
                path = urllib.parse.urlsplit(layer["uri"]).path
                # one hung attempt and its retry, by one replica only
                assert fs.count(path) <= 2, (path, fs.requests)
            # Both replicas ran their updaters at start, under the store's
            # per-updater locks: one operation per feed, whoever stored it
            # (the other skipped it or found it unchanged).
            ops = a.json("GET", "/matcher/api/v1/internal/update_operation")
            assert len(ops["debian"]) == 1 and len(ops["alpine-main-v3.11-updater"]) == 1
            assert ops == b.json("GET", "/matcher/api/v1/internal/update_operation")


def test_every_config_key_is_documented():
    """docs/config.md lists every row of the key table in src/config/config.c."""
    import re
    top = os.path.dirname(os.path.dirname(FIXTURES))
    with open(os.path.join(top, "src", "config", "config.c")) as f:
        src = f.read()
    table = src[src.index("clr_config_keys[] = {"):src.index("clr_config_keys_count")]
    keys = re.findall(r'\{\s*"([^"]+)",\s*CLR_CONFIG_', table)
    assert len(keys) > 20
    with open(os.path.join(top, "docs", "config.md")) as f:
        doc = f.read()
    missing = [k for k in keys if "`%s`" % k not in doc]
    assert not missing, "not in docs/config.md: %s" % missing


def test_clarion_report(clarion, world, tmp_path):
    """`clarion report IMAGE` against the server: the Manifest built from the
    registry (Basic credentials passed on to the server for its fetches),
    the report printed as JSON and as text; with auth.psk, signed."""
    reg = world["registry"]
    user, password = reg.credentials()
    key = os.urandom(32)
    cfg = config(world, auth={"psk": {"key": base64.b64encode(key).decode(),
                                      "iss": ["clairctl"]}})
    with server(clarion, world, tmp_path, str(tmp_path / "r.db"), cfg=cfg) as srv:
        image = reg.addr + "/t/debian:1"
        base = ["report", "--server", srv.url, "--plain-http", "--username", user,
                "--password", password]
        env = dict(world["env"], CLARION_PSK=base64.b64encode(key).decode())
        p = run([clarion] + base + ["--format", "json", image], env=env)
        assert p.returncode == 0, p.stderr
        r = json.loads(p.stdout)
        assert r["manifest_hash"] == world["images"]["debian"].digest
        assert findings(r)[("backupninja", "CVE-2005-3111")] == ("0.8-2", "Medium", "medium")
        p = run([clarion] + base + [image], env=env)
        assert p.returncode == 0, p.stderr
        lines = p.stdout.splitlines()
        assert lines[0].startswith(image + " (" + world["images"]["debian"].digest)
        assert lines[1].split() == ["PACKAGE", "VERSION", "VULNERABILITY", "SEVERITY",
                                    "FIXED", "IN"]
        # most severe first; the open issue says so
        assert lines[2].split()[:5] == ["libjs-prototype", "1.6.0-1", "CVE-2008-7220",
                                        "High", "1.6.0.2-1"]
        assert any(l.split()[:3] == ["chromium", "90.0.4430.212-1~deb10u1",
                                     "CVE-2022-0456"] and "(no fix yet)" in l
                   for l in lines)
        # Without the key: the server's 401, said plainly.
        p = run([clarion] + base + [image], env=world["env"])
        assert p.returncode == 2 and "401" in p.stderr, p.stderr
        # Not a registry image.
        p = run([clarion, "report", "--server", srv.url, "dir:/"], env=env)
        assert p.returncode == 2 and "registry" in p.stderr


def test_layer_headers_only_to_their_origin(clarion, world, tmp_path):
    """A layer URI that redirects to another origin (blob storage): the
    client's headers reach the first origin and never the second."""
    img = world["images"]["debian"]
    with FeedServer(tmp_path / "a") as a, FeedServer(tmp_path / "b") as b:
        m = json.loads(json.dumps(world["manifests"]["debian"]))
        m["hash"] = "sha256:" + "d" * 64
        for layer, l in zip(m["layers"], img.layers):
            b.put("store/" + l.blob.digest, l.blob.data)
            a.redirect("v2/x/blobs/" + l.blob.digest, b.url("store/" + l.blob.digest))
            layer["uri"] = a.url("v2/x/blobs/" + l.blob.digest)
            layer["headers"] = {"Authorization": ["Bearer secret-token"],
                                "X-Registry-Hint": ["also-private"]}
        cfg = config(world, matcher={"disable_updaters": True})
        # A fresh database: the layers are fetched, not taken from a cache.
        with server(clarion, world, tmp_path, str(tmp_path / "h.db"), cfg=cfg) as srv:
            r = index(srv, m)
            assert r["state"] == "IndexFinished", r
        sent_a = [h for _, _, h in a.requests]
        sent_b = [h for _, _, h in b.requests]
        assert sent_a and sent_b
        assert all(h.get("Authorization") == "Bearer secret-token" for h in sent_a)
        assert all(h.get("X-Registry-Hint") == "also-private" for h in sent_a)
        for h in sent_b:
            assert "Authorization" not in h and "X-Registry-Hint" not in h, h


def test_modes_share_one_database(clarion, world, tmp_path):
    """--mode indexer and --mode matcher on one database: each mounts its
    own routes (the other's are 404), and together they answer as combo."""
    db = str(tmp_path / "modes.db")
    with server(clarion, world, tmp_path / "i", db, mode="indexer") as ix, \
            server(clarion, world, tmp_path / "m", db, mode="matcher") as mt:
        m = world["manifests"]["alpine"]
        index(ix, m)
        st, _, _ = ix.request("GET", "/matcher/api/v1/vulnerability_report/" + m["hash"])
        assert st == 404
        st, _, _ = mt.request("POST", "/indexer/api/v1/index_report", m)
        assert st == 404
        assert findings(vuln_report(mt, m["hash"]))[("xen", "XSA-207")][0] == "4.7.1-r5"
        assert mt.request("GET", "/status")[0] == 200
