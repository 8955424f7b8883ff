"""`clarion serve` hardening, as an operator or a client notices it, with
the real binary, a real docker-registry, real feed files on loopback HTTP
and real PostgreSQL servers:

  - a database that is not up yet when the server starts (Kubernetes
    starts PostgreSQL and clarion together): /healthz alive, /readyz and
    the API 503 until it answers, then everything works; a
    database_connect_timeout that gives up (exit 2);
  - DELETE /matcher/api/v1/internal/update_operation/{ref}: Clair's status
    codes, the previous operation becoming current at once, the records
    nothing links any more gone from the database;
  - SSRF protection: indexer.layer_hosts (redirects included) and
    indexer.refuse_private (checked before fetching, and on the address
    actually connected to: the legacy v1 API has no pre-check, so it shows
    the connect-time gate);
  - TLS on the API listener (tls.cert, tls.key) with a self-signed
    certificate made by openssl and Python's ssl client.

Reuses test_serve.py's images, feeds and helpers.
"""
import json
import os
import shutil
import sqlite3
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import pytest

from conftest import run
from harness.clarion import psql, update
from harness.feeds import FeedServer
from harness.registry import free_port, registry_htpasswd  # noqa: F401
from harness.server import ClarionServer
from test_serve import (  # noqa: F401  (fixtures used by name)
    add_base_files_record, config, findings, fixture, index, serve_feeds, server,
    vuln_report, world)

UUID0 = "00000000-0000-0000-0000-000000000000"


def intro(srv, path):
    return srv.request("GET", path, intro=True)[0]


# ---- a database that comes up after the server --------------------------------

def pg_bindir():
    d = os.environ.get("PG_BINDIR")
    if not d:
        cands = sorted(
            (p for p in (os.path.join("/usr/lib/postgresql", v, "bin")
                         for v in (os.listdir("/usr/lib/postgresql")
                                   if os.path.isdir("/usr/lib/postgresql") else []))
             if os.path.exists(os.path.join(p, "initdb"))),
            key=lambda p: int(p.split("/")[-2]) if p.split("/")[-2].isdigit() else 0)
        d = cands[-1] if cands else None
    if not d or not os.path.exists(os.path.join(d, "initdb")):
        if os.environ.get("CLARION_REQUIRE_PG") == "1":
            pytest.fail("CLARION_REQUIRE_PG=1 but no PostgreSQL server binaries")
        pytest.skip("no PostgreSQL server binaries (apt-get install postgresql)")
    return d


class LatePostgres:
    """A cluster of our own, made (initdb) but not started, on a port
    chosen now: the server can be pointed at it before it listens."""

    def __init__(self):
        self.bindir = pg_bindir()
        # Short: the unix socket path must stay under 107 bytes.
        self.dir = tempfile.mkdtemp(prefix="clr-h7pg.", dir="/tmp")
        self.pre = []
        if os.getuid() == 0:
            self.pre = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.dir, "postgres")
        p = run(self.pre + [self.bindir + "/initdb", "-D", self.dir + "/data",
                            "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8",
                            "--auth=trust", "--no-sync"], timeout=120)
        assert p.returncode == 0, p.stdout + p.stderr
        self.port = free_port()
        self.url = "postgresql://postgres@127.0.0.1:%d/postgres" % self.port
        self.started = False

    def start(self):
        p = run(self.pre + [self.bindir + "/pg_ctl", "-D", self.dir + "/data",
                            "-l", self.dir + "/server.log", "-w", "-t", "60",
                            "-o", "-c listen_addresses=127.0.0.1 -p %d -k %s "
                            "-c fsync=off -c max_connections=40" % (self.port, self.dir),
                            "start"], timeout=120)
        assert p.returncode == 0, p.stdout + p.stderr
        self.started = True

    def close(self):
        if self.started:
            run(self.pre + [self.bindir + "/pg_ctl", "-D", self.dir + "/data",
                            "-m", "fast", "-w", "stop"], timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)


def test_database_comes_up_after_the_server(clarion, world, tmp_path):
    """PostgreSQL not listening at start: the server stays up, alive but
    not ready, answers API requests 503 with Clair's error body, logs the
    failures at warn; once PostgreSQL starts it migrates, loads the data,
    becomes ready, and an index and a report work."""
    pg = LatePostgres()
    try:
        srv = server(clarion, world, tmp_path, pg.url, wait_ready=False)
        srv.start()
        try:
            digest = world["manifests"]["debian"]["hash"]
            deadline = time.time() + 30
            while time.time() < deadline:
                try:
                    if intro(srv, "/healthz") == 200:
                        break
                except OSError:
                    pass
                time.sleep(0.1)
            assert intro(srv, "/healthz") == 200
            time.sleep(1.5)  # a few connection attempts
            assert srv.proc.poll() is None, srv.log()
            assert intro(srv, "/readyz") == 503
            for method, path, body in (
                    ("GET", "/indexer/api/v1/index_report/" + digest, None),
                    ("POST", "/indexer/api/v1/index_report", world["manifests"]["debian"]),
                    ("GET", "/matcher/api/v1/vulnerability_report/" + digest, None),
                    ("GET", "/status", None)):
                st, h, raw = srv.request(method, path, body)
                assert st == 503, (path, st, raw)
                assert json.loads(raw)["code"] and "database" in json.loads(raw)["message"]
            # robots.txt needs no database.
            assert srv.request("GET", "/robots.txt")[0] == 200
            assert "database unreachable" in srv.log()

            pg.start()
            srv.ready(timeout=90)
            log = srv.log()
            assert "database reachable after" in log, log
            r = index(srv, world["manifests"]["debian"])
            assert r["state"] == "IndexFinished", r
            deb = findings(vuln_report(srv, digest))
            assert deb[("backupninja", "CVE-2005-3111")] == ("0.8-2", "Medium", "medium")
        finally:
            rc = srv.stop()
            assert rc == 0, srv.log()[-3000:]
    finally:
        pg.close()


def test_database_connect_timeout_gives_up(clarion, world, tmp_path):
    port = free_port()  # nothing listens there
    cfg = config(world, database_connect_timeout="2s")
    srv = server(clarion, world, tmp_path,
                 "postgresql://postgres@127.0.0.1:%d/postgres" % port,
                 cfg=cfg, wait_ready=False)
    srv.start()
    try:
        rc = srv.proc.wait(timeout=30)
    finally:
        srv.stop()
    log = srv.log()
    assert rc == 2, log
    assert "database_connect_timeout" in log, log
    assert log.count("database unreachable") >= 2, log  # retried first


# ---- DELETE update_operation -----------------------------------------------------

def vuln_rows(db, updater):
    sql = "SELECT count(*) FROM vuln WHERE updater = '%s'" % updater
    if db.startswith("postgres"):
        return int(psql(db, sql).strip())
    with sqlite3.connect(db) as c:
        return c.execute(sql).fetchone()[0]


def test_delete_update_operation(clarion, world, tmp_path, db):
    """Clair's statuses (400 for a ref that is not a UUID, 200 with no body
    otherwise, unknown refs included); the operation, its links and its
    records gone; the report changed at once (the index rebuilt)."""
    with server(clarion, world, tmp_path, db) as srv:
        m = world["manifests"]["debian"]
        index(srv, m)
        index(srv, world["manifests"]["alpine"])
        assert ("backupninja", "CVE-2005-3111") in findings(vuln_report(srv, m["hash"]))
        ops = srv.json("GET", "/matcher/api/v1/internal/update_operation")
        ref = ops["debian"][0]["ref"]
        assert vuln_rows(db, "debian") > 0

        st, _, raw = srv.request("DELETE", "/matcher/api/v1/internal/update_operation/nope")
        assert st == 400 and json.loads(raw)["code"] == "bad-request", raw
        st, _, raw = srv.request("DELETE", "/matcher/api/v1/internal/update_operation/"
                                 + UUID0.replace("0", "a"))
        assert (st, raw) == (200, b"")

        # Uppercase hex is the same UUID (Clair's uuid.Parse).
        st, _, raw = srv.request("DELETE", "/matcher/api/v1/internal/update_operation/"
                                 + ref.upper())
        assert (st, raw) == (200, b""), raw
        ops = srv.json("GET", "/matcher/api/v1/internal/update_operation")
        assert "debian" not in ops and "alpine-main-v3.11-updater" in ops
        # At once: no wait for the index poll.
        deb = findings(vuln_report(srv, m["hash"]))
        assert not [k for k in deb if k[1].startswith("CVE-")], deb
        assert vuln_rows(db, "debian") == 0
        # Other updaters' data untouched.
        alp = findings(vuln_report(srv, world["manifests"]["alpine"]["hash"]))
        assert alp[("xen", "XSA-207")][0] == "4.7.1-r5"
        st, _, raw = srv.request("GET", "/matcher/api/v1/internal/update_diff?cur=" + ref)
        assert st == 400, raw
        # Not on the GET-only path without a ref, and never in indexer mode.
        assert srv.request("DELETE", "/matcher/api/v1/internal/update_operation")[0] == 405


def test_delete_newest_operation_restores_the_previous(clarion, world, tmp_path):
    """Two debian operations (the second adds a record); deleting the newer
    makes the older current again: the added finding disappears from the
    next report, and the record only the newer one linked is deleted."""
    dbp = str(tmp_path / "ops.db")
    with FeedServer(tmp_path / "feeds") as fs:
        doc = json.loads(fixture("feeds", "debian", "tracker-json-sample.json"))
        cfg = config(world, updaters=serve_feeds(fs, json.dumps(doc).encode()))
        m = world["manifests"]["debian"]
        with server(clarion, world, tmp_path / "1", dbp, cfg=cfg) as srv:
            index(srv, m)
        add_base_files_record(fs, doc, "a record added by the test")
        # A new server runs the updaters at start: a second operation.
        with server(clarion, world, tmp_path / "2", dbp, cfg=cfg) as srv:
            ops = srv.json("GET", "/matcher/api/v1/internal/update_operation")["debian"]
            assert len(ops) == 2, ops
            assert ("base-files", "CVE-2099-0001") in findings(vuln_report(srv, m["hash"]))
            before = srv.request("GET", "/metrics", intro=True)[2].decode()
            st, _, _ = srv.request("DELETE", "/matcher/api/v1/internal/update_operation/"
                                   + ops[0]["ref"])
            assert st == 200
            after = findings(vuln_report(srv, m["hash"]))
            assert ("base-files", "CVE-2099-0001") not in after
            assert after[("backupninja", "CVE-2005-3111")][0] == "0.8-2"
            left = srv.json("GET", "/matcher/api/v1/internal/update_operation")["debian"]
            assert [o["ref"] for o in left] == [ops[1]["ref"]]
            with sqlite3.connect(dbp) as c:
                assert c.execute("SELECT count(*) FROM vuln WHERE name = "
                                 "'CVE-2099-0001'").fetchone()[0] == 0
            # The index was rebuilt: one more load than before.
            loads = [l for l in (before, srv.request("GET", "/metrics", intro=True)[2].decode())]
            n = [int([x for x in t.splitlines()
                      if x.startswith("clarion_index_loads_total ")][0].split()[1])
                 for t in loads]
            assert n[1] == n[0] + 1, n


# ---- SSRF: layer_hosts and refuse_private ----------------------------------------

def registry_hostport(world):
    return world["registry"].addr  # "127.0.0.1:PORT"


def test_layer_hosts(clarion, world, tmp_path):
    m = world["manifests"]["alpine"]
    cfg = config(world, indexer={"layer_hosts": ["registry.example.org",
                                                 "*.example.net:5000"]})
    with server(clarion, world, tmp_path, str(tmp_path / "h.db"), cfg=cfg) as srv:
        st, _, raw = srv.request("POST", "/indexer/api/v1/index_report", m)
        assert st == 400, raw
        body = json.loads(raw)
        assert body["code"] == "bad-request"
        assert registry_hostport(world) in body["message"], body
        assert "indexer.layer_hosts" in body["message"], body
        # Nothing was fetched or stored.
        assert srv.request("GET", "/indexer/api/v1/index_report/" + m["hash"])[0] == 404

    # A redirect to a host not on the list is refused at that hop: one
    # feed server (allowed) redirects to another (standing in for object
    # storage) that serves the blob.
    img = world["images"]["alpine"]
    with FeedServer(tmp_path / "front") as front, FeedServer(tmp_path / "store") as store:
        blob = img.layers[0].blob
        store.put("blob", blob.data)
        front.redirect("blob", store.url("blob"))
        red = {"hash": m["hash"], "layers": [{"hash": blob.digest, "uri": front.url("blob"),
                                              "headers": {}, "media_type": blob.media_type}]}
        allow = ["127.0.0.1:%d" % front.port]
        cfg = config(world, indexer={"layer_hosts": allow})
        with server(clarion, world, tmp_path, str(tmp_path / "h2.db"), cfg=cfg) as srv:
            r = index(srv, red)
            assert r["state"] == "IndexError" and not r["success"], r
            assert "127.0.0.1:%d" % store.port in r["err"] and "layer_hosts" in r["err"], r
            assert not store.count("/blob"), store.requests
        cfg = config(world, indexer={"layer_hosts": allow + ["127.0.0.1:%d" % store.port]})
        with server(clarion, world, tmp_path, str(tmp_path / "h3.db"), cfg=cfg) as srv:
            r = index(srv, red)
            assert r["state"] == "IndexFinished", r


def test_refuse_private(clarion, world, tmp_path):
    m = world["manifests"]["alpine"]
    cfg = config(world, indexer={"refuse_private": True})
    with server(clarion, world, tmp_path, str(tmp_path / "p.db"), cfg=cfg) as srv:
        st, _, raw = srv.request("POST", "/indexer/api/v1/index_report", m)
        assert st == 400, raw
        msg = json.loads(raw)["message"]
        assert "127.0.0.1" in msg and "indexer.refuse_private" in msg, msg
        # A name resolving to loopback is refused the same way.
        loc = dict(m, layers=[dict(l, uri=l["uri"].replace("127.0.0.1", "localhost"))
                              for l in m["layers"]])
        st, _, raw = srv.request("POST", "/indexer/api/v1/index_report", loc)
        assert st == 400 and "localhost" in json.loads(raw)["message"], raw

        # The legacy v1 API has no pre-check: the gate at connect time
        # (the address curl actually connects to) refuses it.
        layer = m["layers"][0]
        body = {"Layer": {"Name": "h7-layer", "Path": layer["uri"], "ParentName": "",
                          "Format": "Docker", "Headers": {
                              "Authorization": layer["headers"]["Authorization"][0]}}}
        st, _, raw = srv.request("POST", "/v1/layers", body)
        assert st == 422, raw
        assert b"refused to connect" in raw and b"127.0.0.1" in raw, raw

    # Off (the default): the same manifest indexes.
    with server(clarion, world, tmp_path, str(tmp_path / "p2.db")) as srv:
        assert index(srv, m)["state"] == "IndexFinished"


# ---- TLS on the API listener -----------------------------------------------------

@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    key, crt = str(d / "key.pem"), str(d / "cert.pem")
    p = run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
             "-keyout", key, "-out", crt, "-days", "2", "-subj", "/CN=127.0.0.1",
             "-addext", "subjectAltName=IP:127.0.0.1"], timeout=60)
    assert p.returncode == 0, p.stderr
    return crt, key


def test_tls(clarion, world, tmp_path, cert):
    crt, key = cert
    cfg = config(world, tls={"cert": crt, "key": key})
    with server(clarion, world, tmp_path, str(tmp_path / "t.db"), cfg=cfg) as srv:
        ctx = ssl.create_default_context(cafile=crt)
        url = "https://127.0.0.1:%d" % srv.port
        with urllib.request.urlopen(url + "/indexer/api/v1/index_state",
                                    context=ctx, timeout=30) as r:
            assert r.status == 200 and "state" in json.loads(r.read())
        req = urllib.request.Request(url + "/indexer/api/v1/index_report",
                                     data=json.dumps(world["manifests"]["alpine"]).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, context=ctx, timeout=120) as r:
            assert r.status == 201
            assert json.loads(r.read())["state"] == "IndexFinished"
        # The certificate is what the client checks: an unknown CA fails.
        with pytest.raises(urllib.error.URLError) as e:
            urllib.request.urlopen(url + "/robots.txt", timeout=30,
                                   context=ssl.create_default_context())
        assert isinstance(e.value.reason, ssl.SSLError)
        # Plain HTTP is not answered as HTTP on the TLS port.
        with pytest.raises((urllib.error.URLError, ConnectionError,
                            urllib.error.HTTPError, OSError)):
            with urllib.request.urlopen("http://127.0.0.1:%d/robots.txt" % srv.port,
                                        timeout=10) as r:
                r.read()
                raise OSError("answered over plain HTTP: %d" % r.status)
        # Introspection stays plain HTTP, for probes.
        assert intro(srv, "/readyz") == 200
        assert "(HTTPS)" in srv.log()


def test_tls_bad_config(clarion, world, tmp_path, cert):
    crt, key = cert
    for tls, words in (({"cert": crt}, "tls.cert and tls.key"),
                       ({"cert": crt, "key": str(tmp_path / "none.pem")}, "tls.key"),
                       ({"cert": key, "key": crt}, "TLS")):
        cfg = config(world, tls=tls)
        srv = server(clarion, world, tmp_path, str(tmp_path / "b.db"), cfg=cfg,
                     wait_ready=False)
        srv.start()
        try:
            rc = srv.proc.wait(timeout=30)
        finally:
            srv.stop()
        assert rc == 2 and words in srv.log(), (tls, srv.log())


# ---- notifier metrics ---------------------------------------------------------------

def metric(text, name):
    for line in text.splitlines():
        if line.startswith(name + " "):
            return int(float(line.split()[1]))
    raise AssertionError("%s not in /metrics:\n%s" % (name, text))


def test_notifier_metrics(clarion, world, tmp_path):
    """/metrics counts notification sets, their notifications and delivery
    attempts by receipt status: zeros before any news; after an update that
    affects an indexed image and a webhook that fails once, one set
    delivered after two attempts."""
    from test_notify import Receiver
    rx = Receiver(statuses=[500])
    dbp = str(tmp_path / "n.db")
    try:
        with FeedServer(tmp_path / "feeds") as fs:
            doc = json.loads(fixture("feeds", "debian", "tracker-json-sample.json"))
            cfg = config(world, updaters=serve_feeds(fs, json.dumps(doc).encode()),
                         notifier={"webhook": {"target": rx.url,
                                               "callback": "http://127.0.0.1:1/n/"},
                                   "delivery_interval": "1s", "poll_interval": "1h"})
            with server(clarion, world, tmp_path, dbp, cfg=cfg) as srv:
                index(srv, world["manifests"]["debian"])
                text = srv.request("GET", "/metrics", intro=True)[2].decode()
                for st in ("created", "delivered", "delivery_failed", "deleted"):
                    assert metric(text, 'clarion_notification_sets{status="%s"}' % st) == 0
                add_base_files_record(fs, doc, "news")
                p = update(clarion, dbp, cfg, tmp_path, world["env"])
                assert p.returncode == 0, p.stdout + p.stderr
                rx.wait(1, timeout=90)
                deadline = time.time() + 30
                while time.time() < deadline:
                    text = srv.request("GET", "/metrics", intro=True)[2].decode()
                    if metric(text, 'clarion_notification_sets{status="delivered"}') == 1:
                        break
                    time.sleep(0.3)
                assert metric(text, 'clarion_notification_sets{status="delivered"}') == 1, text
                assert metric(text, 'clarion_notification_sets{status="created"}') == 0
                assert metric(text, 'clarion_notifications{status="delivered"}') >= 1
                assert metric(text, 'clarion_notification_delivery_attempts'
                                    '{status="delivered"}') == 2
    finally:
        rx.stop()


# ---- SIGTERM while the feeds are unreachable -------------------------------------

def test_sigterm_interrupts_an_update_run(clarion, world, tmp_path):
    """A service asked to stop while its updaters retry an unreachable feed
    stops in seconds (the retries and the remaining updaters are dropped,
    nothing is written), not after every updater's retries: Kubernetes
    sends SIGKILL 30 s after SIGTERM."""
    dead = "http://127.0.0.1:%d/" % free_port()  # nothing listens there
    feeds = {name: {"url": dead + name, "mirror": dead + "mirror/",
                    "releases": "bookworm=12"} for name in ("debian",)}
    cfg = config(world, updaters={"sets": ["debian", "alpine"],
                                  "config": dict(feeds, alpine={"url": dead})})
    srv = server(clarion, world, tmp_path, str(tmp_path / "db.sqlite"), cfg=cfg,
                 wait_ready=False)
    srv.start()
    try:
        deadline = time.time() + 30
        while "retrying in" not in srv.log() and time.time() < deadline:
            time.sleep(0.1)
        assert "retrying in" in srv.log(), srv.log()
        t0 = time.time()
        rc = srv.stop(grace=20)
        took = time.time() - t0
    finally:
        srv.stop()
    log = srv.log()
    assert rc == 0, log
    assert took < 5, (took, log)
    assert "interrupted: shutting down" in log or "not run: shutting down" in log, log
