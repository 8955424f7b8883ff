"""Notifications end to end, as a Clair v4 client sees them: a real
docker-registry with two Debian images, a Debian tracker feed served on
127.0.0.1 (harness/feeds.py), `clarion serve` (harness/server.py) with its
webhook pointed at a receiver in this file, and `clarion update` run
against the same database to change the data under the server.

The feed changes between two update operations:

  first   CVE-2099-0001  backupninja  fixed 0.8-2       medium  (both images)
  second  CVE-2099-0002  prototypejs  fixed 1.6.0.2-1   high    (image A only)
          CVE-2099-0001  gone

so the second operation must notify exactly: A added CVE-2099-0002,
A removed CVE-2099-0001, B removed CVE-2099-0001.
"""
import base64
import http.server
import json
import os
import signal
import socketserver
import threading
import time
import uuid

import pytest

from conftest import run
from harness import images
from harness.clarion import clean_env, update as clarion_update, write_config
from harness.feeds import FeedServer
from harness.registry import free_port, registry_htpasswd  # noqa: F401
from harness.server import ClarionServer, manifest_for

NOTIF = "/notifier/api/v1/notification/"


def dpkg_entry(name, version, source=None):
    s = "Package: %s\nStatus: install ok installed\nArchitecture: all\n" % name
    if source:
        s += "Source: %s\n" % source
    return s + "Version: %s\nDescription: %s\n" % (version, name)


OS_RELEASE = (b'PRETTY_NAME="Debian GNU/Linux 10 (buster)"\nNAME="Debian GNU/Linux"\n'
              b'VERSION_ID="10"\nVERSION_CODENAME=buster\nID=debian\n')

IMAGE_A = {"var/lib/dpkg/status": "\n".join([
    dpkg_entry("libjs-prototype", "1.6.0-1", source="prototypejs"),
    dpkg_entry("backupninja", "0.8-1")]).encode(), "etc/os-release": OS_RELEASE}
IMAGE_B = {"var/lib/dpkg/status": dpkg_entry("backupninja", "0.8-1").encode(),
           "etc/os-release": OS_RELEASE}


def tracker(*cves):
    """A Debian security tracker JSON document: (source, cve, fixed, urgency)."""
    doc = {}
    for src, cve, fixed, urgency in cves:
        doc.setdefault(src, {})[cve] = {
            "description": "test %s" % cve,
            "releases": {"buster": {"status": "resolved", "fixed_version": fixed,
                                    "urgency": urgency,
                                    "repositories": {"buster": fixed}}}}
    return json.dumps(doc).encode()


FEED_1 = tracker(("backupninja", "CVE-2099-0001", "0.8-2", "medium"))
FEED_2 = tracker(("prototypejs", "CVE-2099-0002", "1.6.0.2-1", "high"))


# ---- the webhook receiver ---------------------------------------------------

class Receiver:
    """A loopback webhook receiver: records every POST and answers with
    the next status of `statuses` (then 200)."""

    def __init__(self, port=0, statuses=()):
        self.posts, self.statuses = [], list(statuses)
        self.lock = threading.Lock()
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                with outer.lock:
                    status = outer.statuses.pop(0) if outer.statuses else 200
                    outer.posts.append({"body": json.loads(body), "status": status,
                                        "headers": dict(self.headers)})
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        socketserver.TCPServer.allow_reuse_address = True
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), H)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return "http://127.0.0.1:%d/hook" % self.port

    def delivered(self):
        with self.lock:
            return [p for p in self.posts if p["status"] == 200]

    def wait(self, n=1, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if len(self.delivered()) >= n:
                return self.delivered()
            time.sleep(0.2)
        raise AssertionError("no webhook delivered in %ss: %r" % (timeout, self.posts))

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


# ---- fixtures -----------------------------------------------------------------

@pytest.fixture(scope="module")
def world(registry_htpasswd, tmp_path_factory):  # noqa: F811
    reg = registry_htpasswd
    user, password = reg.credentials()
    basic = "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
    manifests = {}
    for name, layer in (("a", IMAGE_A), ("b", IMAGE_B)):
        img = images.build_image([layer])
        images.push(reg, "n/" + name, "1", img, auth=(user, password))
        manifests[name] = manifest_for(reg, "n/" + name, img, basic)
    top = tmp_path_factory.mktemp("notify")
    yield {"manifests": manifests, "top": top, "env": clean_env(top / "home")}


@pytest.fixture
def feeds(tmp_path):
    fs = FeedServer(tmp_path / "feeds").start()
    fs.put("debian/tracker/data/json", FEED_1)
    yield fs
    fs.stop()


def config(feeds, target, **notifier):
    n = {"webhook": {"target": target,
                     "callback": "http://127.0.0.1:1/notifier/api/v1/notification",
                     "headers": {"X-Clarion-Test": ["yes"]}},
         "delivery_interval": "1s", "poll_interval": "1h"}
    n.update(notifier)
    return {"updaters": {"sets": ["debian"], "config": {"debian": {
                "url": feeds.url("debian/tracker/data/json"),
                "mirror": feeds.url("debian/mirror/"),
                "releases": "buster=10"}}},
            "matcher": {"period": "1h", "index_poll": "500ms"},
            "notifier": n, "log_level": "debug"}


def update(clarion, world, tmp_path, db, cfg):
    p = clarion_update(clarion, db, cfg, tmp_path, world["env"])
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout


def wait_for(what, fn, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.2)
    raise AssertionError("timed out waiting for %s" % what)


def debian_updated(srv):
    st = srv.json("GET", "/status")
    return any(u["updater"] == "debian" and u.get("last_success")
               for u in st["updaters"])


def index_both(srv, world):
    for m in world["manifests"].values():
        r = srv.json("POST", "/indexer/api/v1/index_report", m, expect=201)
        assert r["state"] == "IndexFinished", r


def page_all(srv, nid, size):
    items, nxt, pages = [], None, 0
    while True:
        q = "?page_size=%d" % size + ("&next=" + nxt if nxt else "")
        page = srv.json("GET", NOTIF + nid + q)
        assert page["page"]["size"] == size
        items += page["notifications"]
        pages += 1
        nxt = page["page"].get("next")
        if not nxt:
            return items, pages


def expected(world):
    a, b = world["manifests"]["a"]["hash"], world["manifests"]["b"]["hash"]
    return {(a, "added", "CVE-2099-0002"), (a, "removed", "CVE-2099-0001"),
            (b, "removed", "CVE-2099-0001")}


def produce(clarion, world, tmp_path, db, feeds, srv, cfg):
    """Index both images on the first feed, then move the feed and update:
    the second operation is the news."""
    wait_for("the first update", lambda: debian_updated(srv))
    index_both(srv, world)
    feeds.put("debian/tracker/data/json", FEED_2)
    out = update(clarion, world, tmp_path, db, cfg)
    assert "updated" in out, out


# ---- tests ---------------------------------------------------------------------

def test_notify_page_delete(clarion, world, tmp_path, db, feeds):
    rx = Receiver()
    cfg = config(feeds, rx.url)
    try:
        with ClarionServer(clarion, tmp_path, db, config=cfg, env=world["env"]) as srv:
            produce(clarion, world, tmp_path, db, feeds, srv, cfg)
            got = rx.wait(1)
            body = got[0]["body"]
            nid = body["notification_id"]
            assert body["callback"] == \
                "http://127.0.0.1:1/notifier/api/v1/notification/" + nid
            assert got[0]["headers"].get("Content-Type") == "application/json"
            assert got[0]["headers"].get("X-Clarion-Test") == "yes"

            # Paged one item at a time, then all at once: the same items.
            items, pages = page_all(srv, nid, 1)
            assert pages == 3
            assert {(i["manifest"], i["reason"], i["vulnerability"]["name"])
                    for i in items} == expected(world)
            added = [i for i in items if i["reason"] == "added"][0]
            v = added["vulnerability"]
            assert v["severity"] == "High" and v["fixed_in_version"] == "1.6.0.2-1"
            assert v["package"]["name"] == "prototypejs"
            assert v["distribution"]["version_id"] == "10"
            all_items, _ = page_all(srv, nid, 500)
            assert sorted(i["id"] for i in all_items) == sorted(i["id"] for i in items)

            # The legacy v1 view of the same set.
            v1 = srv.json("GET", "/v1/notifications/%s?limit=10" % nid)["Notification"]
            assert v1["Name"] == nid
            assert v1["New"]["Vulnerability"]["Name"] == "CVE-2099-0002"
            assert v1["New"]["Vulnerability"]["NamespaceName"] == "debian:10"
            assert v1["Old"]["Vulnerability"]["Name"] == "CVE-2099-0001"
            assert v1["New"]["LayersIntroducingVulnerability"]

            # The operator's view.
            p = run([clarion, "notifications", "list", "--server", srv.url])
            assert p.returncode == 0, p.stderr
            assert nid in p.stdout and "delivered" in p.stdout
            p = run([clarion, "notifications", "show", nid, "--server", srv.url,
                     "--json"])
            assert p.returncode == 0, p.stderr
            assert len(json.loads(p.stdout)) == 3

            # Delete (the operator's command: DELETE, 200), then the id is
            # gone for a second delete.
            p = run([clarion, "notifications", "delete", nid, "--server", srv.url])
            assert p.returncode == 0 and nid in p.stdout, p.stderr
            st, _, raw = srv.request("DELETE", NOTIF + nid)
            assert st == 404, raw
            p = run([clarion, "notifications", "list", "--server", srv.url])
            assert "deleted" in p.stdout
            p = run([clarion, "notifications", "delete", nid, "--server", srv.url])
            assert p.returncode == 2 and "404" in p.stderr, p.stderr
            p = run([clarion, "notifications", "show", "nope", "--server", srv.url])
            assert p.returncode == 2 and "not a notification id" in p.stderr
            # Exactly one delivery happened for the one set.
            assert len(rx.delivered()) == 1
    finally:
        rx.stop()


def test_bad_input(clarion, world, tmp_path, feeds):
    rx = Receiver()
    cfg = config(feeds, rx.url, notify_first_update=True)
    db = str(tmp_path / "clarion.db")
    try:
        with ClarionServer(clarion, tmp_path, db, config=cfg, env=world["env"]) as srv:
            wait_for("the first update", lambda: debian_updated(srv))
            index_both(srv, world)
            feeds.put("debian/tracker/data/json", FEED_2)
            update(clarion, world, tmp_path, db, cfg)
            nid = rx.wait(1)[0]["body"]["notification_id"]
            unknown = str(uuid.uuid4())
            for path, want in (
                    (NOTIF + "not-a-uuid", 400),
                    (NOTIF + "..%2F..%2Fetc", 404),  # decoded: no such route
                    (NOTIF + unknown, 404),
                    (NOTIF + nid + "?next=garbage", 400),
                    (NOTIF + nid + "?next=%27%3B%20DROP", 400),
                    (NOTIF + nid + "?page_size=abc", 400),
                    (NOTIF + nid + "?page_size=-1", 400),
                    ("/v1/notifications/" + unknown + "?limit=5", 404),
                    ("/v1/notifications/" + nid + "?limit=x", 400),
                    ("/v1/notifications/" + nid + "?limit=5&page=zzz", 400)):
                st, _, raw = srv.request("GET", path)
                assert st == want, (path, st, raw)
                assert raw, path  # an error body, not nothing
            # A huge page size is capped, not an allocation.
            page = srv.json("GET", NOTIF + nid + "?page_size=999999999")
            assert page["page"]["size"] == 1000
            st, _, _ = srv.request("DELETE", NOTIF + unknown)
            assert st == 404
            st, _, _ = srv.request("DELETE", NOTIF + "nope")
            assert st == 400
            st, _, _ = srv.request("PUT", NOTIF + nid)
            assert st == 405
    finally:
        rx.stop()


def test_receiver_failing_then_up(clarion, world, tmp_path, feeds):
    rx = Receiver(statuses=[500, 503, 404])
    cfg = config(feeds, rx.url)
    db = str(tmp_path / "clarion.db")
    try:
        with ClarionServer(clarion, tmp_path, db, config=cfg, env=world["env"]) as srv:
            produce(clarion, world, tmp_path, db, feeds, srv, cfg)
            got = rx.wait(1, timeout=90)
            # Three failures, retried with backoff, then one success.
            assert len(rx.posts) == 4, rx.posts
            assert len({p["body"]["notification_id"] for p in rx.posts}) == 1
            time.sleep(3)
            assert len(rx.delivered()) == 1
            st = srv.json("GET", "/notifier/api/v1/internal/notifications")
            assert st[0]["status"] == "delivered" and st[0]["attempts"] == 4
            assert got[0]["body"]["notification_id"] == st[0]["id"]
    finally:
        rx.stop()


def test_killed_before_delivery(clarion, world, tmp_path, feeds):
    """The decision is stored while the receiver is down; the server is
    killed (SIGKILL: no cleanup); a new server delivers it."""
    port = free_port()
    cfg = config(feeds, "http://127.0.0.1:%d/hook" % port)
    db = str(tmp_path / "clarion.db")
    srv = ClarionServer(clarion, tmp_path, db, config=cfg, env=world["env"]).start()
    try:
        produce(clarion, world, tmp_path, db, feeds, srv, cfg)
        wait_for("a failed delivery", lambda: [
            s for s in srv.json("GET", "/notifier/api/v1/internal/notifications")
            if s["status"] == "delivery_failed"])
        srv.signal(signal.SIGKILL)
        srv.proc.wait(timeout=10)
    finally:
        srv.stop()
    rx = Receiver(port=port)
    try:
        with ClarionServer(clarion, tmp_path, db, config=cfg, env=world["env"]):
            got = rx.wait(1, timeout=60)
            time.sleep(2)
            assert len(rx.delivered()) == 1
            assert got[0]["body"]["notification_id"]
    finally:
        rx.stop()


def test_two_replicas_deliver_once(clarion, world, tmp_path, feeds, fresh_pg):
    db = fresh_pg()
    rx = Receiver()
    cfg = config(feeds, rx.url)
    try:
        with ClarionServer(clarion, tmp_path / "r1", db, config=cfg,
                           env=world["env"]) as one, \
             ClarionServer(clarion, tmp_path / "r2", db, config=cfg,
                           env=world["env"]):
            produce(clarion, world, tmp_path, db, feeds, one, cfg)
            rx.wait(1)
            # Give the other replica every chance to deliver it again.
            time.sleep(5)
            assert len(rx.posts) == 1, rx.posts
            sets = one.json("GET", "/notifier/api/v1/internal/notifications")
            assert len(sets) == 1 and sets[0]["status"] == "delivered"
    finally:
        rx.stop()


def test_v2_webhook_body(clarion, world, tmp_path, feeds):
    """Configured the Clair v2 way (clair.notifier.http.endpoint): the
    webhook carries v2's {"Notification": {"Name": ...}}, and the name
    reads through the legacy API."""
    rx = Receiver()
    cfg = config(feeds, rx.url)
    del cfg["notifier"]["webhook"]
    cfg["clair"] = {"notifier": {"http": {"endpoint": rx.url}}}
    db = str(tmp_path / "clarion.db")
    try:
        with ClarionServer(clarion, tmp_path, db, config=cfg, env=world["env"]) as srv:
            produce(clarion, world, tmp_path, db, feeds, srv, cfg)
            body = rx.wait(1)[0]["body"]
            assert list(body) == ["Notification"], body
            name = body["Notification"]["Name"]
            n = srv.json("GET", "/v1/notifications/%s?limit=100" % name)["Notification"]
            assert n["Name"] == name and "NextPage" not in n
            assert n["New"]["Vulnerability"]["Name"] == "CVE-2099-0002"
            assert n["Old"]["Vulnerability"]["Name"] == "CVE-2099-0001"
            st, _, _ = srv.request("DELETE", "/v1/notifications/" + name)
            assert st == 200
            st, _, raw = srv.request("DELETE", "/v1/notifications/" + name)
            assert st == 404 and b"Error" in raw
    finally:
        rx.stop()


def test_notifier_mode(clarion, world, tmp_path, feeds):
    """Clair's split: a combo server without a webhook (no notifier runs
    there) indexes and updates; a `--mode notifier` server on the same
    database notifies and serves the pages.  Without a webhook, notifier
    mode refuses to start."""
    rx = Receiver()
    db = str(tmp_path / "clarion.db")
    plain = config(feeds, rx.url)
    del plain["notifier"]
    cfg = config(feeds, rx.url)
    try:
        p = run([clarion, "serve", "-c", write_config(tmp_path, plain), "--mode",
                 "notifier", "--listen", "127.0.0.1:0", "--introspection", "",
                 "--db", db], env=world["env"], timeout=60)
        assert p.returncode == 2 and "no delivery mechanisms" in p.stderr, p.stderr
        with ClarionServer(clarion, tmp_path / "a", db, config=plain,
                           env=world["env"]) as a, \
             ClarionServer(clarion, tmp_path / "n", db, config=cfg, mode="notifier",
                           env=world["env"]) as n:
            produce(clarion, world, tmp_path, db, feeds, a, cfg)
            nid = rx.wait(1)[0]["body"]["notification_id"]
            items, _ = page_all(n, nid, 10)
            assert {(i["manifest"], i["reason"], i["vulnerability"]["name"])
                    for i in items} == expected(world)
            time.sleep(2)
            assert len(rx.posts) == 1
            # The indexer's routes are not the notifier's.
            st, _, _ = n.request("GET", "/indexer/api/v1/index_state")
            assert st == 404
    finally:
        rx.stop()


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jwt(key, iss):
    import hashlib
    import hmac
    now = int(time.time())
    h = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    c = b64url(json.dumps({"iss": iss, "iat": now, "nbf": now - 5,
                           "exp": now + 60}).encode())
    sig = hmac.new(key, ("%s.%s" % (h, c)).encode(), hashlib.sha256).digest()
    return "%s.%s.%s" % (h, c, b64url(sig))


def test_psk_signed(clarion, world, tmp_path, feeds):
    """With auth.psk the webhook is signed (issuer clair-notifier) and the
    operator's command signs its requests (issuer clairctl)."""
    import hashlib
    import hmac
    key = os.urandom(32)
    b64key = base64.b64encode(key).decode()
    rx = Receiver()
    cfg = config(feeds, rx.url)
    cfg["auth"] = {"psk": {"key": b64key, "iss": ["clairctl"]}}
    db = str(tmp_path / "clarion.db")
    try:
        with ClarionServer(clarion, tmp_path, db, config=cfg, env=world["env"]) as srv:
            plain_request = srv.request

            def signed(method, path, body=None, headers=None, **kw):
                h = dict(headers or {})
                h["Authorization"] = "Bearer " + jwt(key, "clairctl")
                return plain_request(method, path, body, h, **kw)
            srv.request = signed
            produce(clarion, world, tmp_path, db, feeds, srv, cfg)
            post = rx.wait(1)[0]
            auth = post["headers"].get("Authorization", "")
            assert auth.startswith("Bearer "), post["headers"]
            h, c, s = auth[7:].split(".")
            want = hmac.new(key, ("%s.%s" % (h, c)).encode(), hashlib.sha256).digest()
            assert b64url(want) == s
            claims = json.loads(base64.urlsafe_b64decode(c + "=" * (-len(c) % 4)))
            assert claims["iss"] == "clair-notifier"
            assert claims["exp"] > time.time()

            p = run([clarion, "notifications", "list", "--server", srv.url])
            assert p.returncode == 2 and "401" in p.stderr, p.stderr
            p = run([clarion, "notifications", "list", "--server", srv.url,
                     "--psk", b64key])
            assert p.returncode == 0 and post["body"]["notification_id"] in p.stdout
    finally:
        rx.stop()
