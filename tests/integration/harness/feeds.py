"""A loopback HTTP server for feed files: what updaters fetch in tests.

Serves a directory on 127.0.0.1 and a free port, the way a feed mirror
does: files with ETag and Last-Modified, conditional requests answered with
304 (If-None-Match, If-Modified-Since), HEAD, and an nginx-style HTML
listing for directories (Alpine's secdb and Oracle's OVAL index are
discovered from such listings).  A test can change the content and make
paths misbehave:

    with FeedServer(tmp_path / "feeds") as fs:     # or FeedServer() + .root
        fs.put("alpine/v3.19/main.json", data)      # new content, new ETag
        url = fs.url("alpine/v3.19/main.json")
        fs.fail("x.json", status=500, times=2)      # next 2 requests: 500
        fs.hang("x.json")                           # never answer
        fs.truncate("x.json", 100)                  # promise all, send 100 bytes
        fs.redirect("old.json", "new.json")         # 302
        fs.validators(etag=False, last_modified=False)  # a dumb server
        fs.requests                                 # [(method, path, headers)]
        fs.count("x.json")                          # GET/HEAD requests of a path
        fs.reset()                                  # forget misbehaviour + log

or as a pytest fixture: `feed_server` (function scope; import it into the
test module).

The same server runs as a process for tests that are not in Python (the C
unit tests of src/updater/fetch.c):

    python3 feeds.py --root DIR [--port N]

prints "PORT\\n" on stdout once it listens, and takes the calls above as
JSON on POST /-/control: {"action": "fail", "path": "x.json", "status":
500, "times": 2}, {"action": "hang", "path": ...}, {"action": "truncate",
"path": ..., "bytes": 100}, {"action": "redirect", "path": ..., "to": ...},
{"action": "validators", "etag": false, "last_modified": false},
{"action": "reset"}; GET /-/requests returns the log as JSON
[{"method", "path", "headers"}].  It exits on SIGTERM or when stdin
closes (so it never outlives its parent).

Paths are relative to the root ("a/b.json" and "/a/b.json" are the same);
query strings are ignored for the file lookup but kept in the log.
"""
import argparse
import email.utils
import hashlib
import html
import json
import os
import posixpath
import shutil
import signal
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

try:
    import pytest
except ImportError:  # the process form needs no pytest
    pytest = None


def _norm(path):
    """'/a/b.json?x=1' -> 'a/b.json'."""
    path = urllib.parse.urlsplit(path).path
    path = urllib.parse.unquote(path)
    return posixpath.normpath("/" + path).lstrip("/")


class _State:
    """What the handler consults on every request; guarded by a lock since
    ThreadingHTTPServer answers each connection in its own thread."""

    def __init__(self, root):
        self.root = os.path.abspath(root)
        self.lock = threading.Lock()
        self.rules = {}       # path -> dict(kind=..., ...)
        self.log = []         # (method, path, {header: value})
        self.etag = True
        self.last_modified = True
        self.stop = threading.Event()

    def reset(self):
        with self.lock:
            self.rules.clear()
            self.log.clear()
            self.etag = self.last_modified = True

    def rule(self, path):
        """The misbehaviour for path, consuming one of its `times`."""
        with self.lock:
            r = self.rules.get(path)
            if r is None:
                return None
            if r.get("times") is not None:
                r["times"] -= 1
                if r["times"] <= 0:
                    del self.rules[path]
            return dict(r)

    def control(self, msg):
        action = msg.get("action")
        path = _norm(msg.get("path", ""))
        times = msg.get("times")
        with self.lock:
            if action == "fail":
                self.rules[path] = {"kind": "fail", "status": int(msg.get("status", 500)),
                                    "times": times}
            elif action == "hang":
                self.rules[path] = {"kind": "hang", "seconds": msg.get("seconds"),
                                    "times": times}
            elif action == "truncate":
                self.rules[path] = {"kind": "truncate", "bytes": int(msg["bytes"]),
                                    "times": times}
            elif action == "redirect":
                self.rules[path] = {"kind": "redirect", "to": msg["to"],
                                    "status": int(msg.get("status", 302)), "times": times}
            elif action == "validators":
                self.etag = bool(msg.get("etag", True))
                self.last_modified = bool(msg.get("last_modified", True))
            elif action == "reset":
                self.rules.clear()
                self.log.clear()
                self.etag = self.last_modified = True
            else:
                raise ValueError("unknown action %r" % action)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "clarion-feeds/1"

    def log_message(self, fmt, *args):  # quiet: pytest shows failures
        pass

    @property
    def state(self):
        return self.server.state

    # --- the control interface of the process form ---------------------

    def _control(self):
        n = int(self.headers.get("Content-Length") or 0)
        try:
            self.state.control(json.loads(self.rfile.read(n) or b"{}"))
        except (ValueError, KeyError) as e:
            return self._send(400, str(e).encode(), "text/plain")
        return self._send(200, b"ok\n", "text/plain")

    def _requests(self):
        with self.state.lock:
            body = json.dumps([{"method": m, "path": p, "headers": h}
                               for m, p, h in self.state.log]).encode()
        return self._send(200, body, "application/json")

    # --- serving ---------------------------------------------------------

    def _send(self, status, body, ctype, extra=None, head=False):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def do_POST(self):
        if self.path == "/-/control":
            return self._control()
        return self._send(405, b"method not allowed\n", "text/plain")

    def do_HEAD(self):
        self._serve(head=True)

    def do_GET(self):
        if self.path == "/-/requests":
            return self._requests()
        self._serve(head=False)

    def _serve(self, head):
        st = self.state
        path = _norm(self.path)
        with st.lock:
            st.log.append((self.command, self.path, dict(self.headers.items())))
        r = st.rule(path)
        if r and r["kind"] == "hang":
            # Hold the connection without a byte of answer.
            st.stop.wait(r["seconds"] if r["seconds"] is not None else 3600)
            self.close_connection = True
            return
        if r and r["kind"] == "fail":
            return self._send(r["status"], b"injected failure\n", "text/plain",
                              head=head)
        if r and r["kind"] == "redirect":
            to = r["to"]
            if "://" not in to:
                to = "/" + to.lstrip("/")
            return self._send(r["status"], b"", "text/plain", {"Location": to}, head=head)

        full = os.path.join(st.root, path)
        root = os.path.realpath(st.root)
        if os.path.commonpath([root, os.path.realpath(full)]) != root:
            return self._send(403, b"forbidden\n", "text/plain", head=head)
        if os.path.isdir(full):
            if path and not urllib.parse.urlsplit(self.path).path.endswith("/"):
                return self._send(301, b"", "text/plain",
                                  {"Location": "/" + path + "/"}, head=head)
            return self._send(200, self._listing(full, path), "text/html", head=head)
        try:
            with open(full, "rb") as f:
                body = f.read()
            mtime = os.stat(full).st_mtime
        except OSError:
            return self._send(404, b"not found\n", "text/plain", head=head)

        etag = '"%s"' % hashlib.sha256(body).hexdigest()[:32]
        lm = email.utils.formatdate(int(mtime), usegmt=True)
        extra = {}
        if st.etag:
            extra["ETag"] = etag
        if st.last_modified:
            extra["Last-Modified"] = lm
        if self._not_modified(etag, int(mtime)):
            self.send_response(304)
            for k, v in extra.items():
                self.send_header(k, v)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if r and r["kind"] == "truncate":
            # A Content-Length for the whole body, then only part of it and
            # a closed connection: what a dropped download looks like.
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            for k, v in extra.items():
                self.send_header(k, v)
            self.end_headers()
            if not head:
                self.wfile.write(body[: r["bytes"]])
                self.wfile.flush()
            self.close_connection = True
            return
        self._send(200, body, "application/octet-stream", extra, head=head)

    def _not_modified(self, etag, mtime):
        st = self.state
        inm = self.headers.get("If-None-Match")
        if inm is not None:
            # RFC 9110: If-None-Match wins over If-Modified-Since.
            if not st.etag:
                return False
            tags = [t.strip() for t in inm.split(",")]
            return "*" in tags or etag in tags or ("W/" + etag) in tags
        ims = self.headers.get("If-Modified-Since")
        if ims is not None and st.last_modified:
            try:
                t = email.utils.parsedate_to_datetime(ims).timestamp()
            except (TypeError, ValueError):
                return False
            return mtime <= t
        return False

    def _listing(self, full, path):
        names = []
        for n in sorted(os.listdir(full)):
            if os.path.isdir(os.path.join(full, n)):
                n += "/"
            names.append(n)
        title = html.escape("/" + path + ("/" if path else ""))
        rows = "".join('<a href="%s">%s</a>\n' % (urllib.parse.quote(n), html.escape(n))
                       for n in names)
        return ("<html>\n<head><title>Index of %s</title></head>\n<body>\n"
                "<h1>Index of %s</h1><hr><pre><a href=\"../\">../</a>\n%s</pre><hr>"
                "</body>\n</html>\n" % (title, title, rows)).encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # A client that gives up (a timeout, a size cap) resets the
        # connection: that is what the tests make happen, not an error.
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class FeedServer:
    """See the module's comment.  root: the directory served (created if
    missing; a fresh temporary one when None, removed on stop)."""

    def __init__(self, root=None, port=0):
        self._own_root = root is None
        self.root = str(root) if root is not None else tempfile.mkdtemp(prefix="clarion-feeds-")
        os.makedirs(self.root, exist_ok=True)
        self._state = _State(self.root)
        self._httpd = _Server(("127.0.0.1", port), _Handler)
        self._httpd.state = self._state
        self.port = self._httpd.server_address[1]
        self._thread = None

    # lifecycle
    def start(self):
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._state.stop.set()   # releases hanging answers
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # content
    def url(self, path=""):
        return "http://127.0.0.1:%d/%s" % (self.port, path.lstrip("/"))

    def path(self, path):
        """The file behind a URL path."""
        return os.path.join(self.root, _norm(path))

    def put(self, path, data):
        """Writes (or replaces) a file; the new content gets a new ETag and
        a Last-Modified later than the old one, even within one second."""
        full = self.path(path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        old = os.stat(full).st_mtime if os.path.exists(full) else 0
        if isinstance(data, str):
            data = data.encode()
        with open(full, "wb") as f:
            f.write(data)
        t = max(time.time(), old + 1)
        os.utime(full, (t, t))
        return self.url(path)

    def copy(self, src, path):
        """Serves the file src at path."""
        with open(src, "rb") as f:
            return self.put(path, f.read())

    def touch(self, path):
        """A new Last-Modified, the same bytes (and so the same ETag)."""
        full = self.path(path)
        t = max(time.time(), os.stat(full).st_mtime + 1)
        os.utime(full, (t, t))

    def remove(self, path):
        os.remove(self.path(path))

    # misbehaviour
    def fail(self, path, status=500, times=None):
        self._state.control({"action": "fail", "path": path, "status": status, "times": times})

    def hang(self, path, seconds=None, times=None):
        self._state.control({"action": "hang", "path": path, "seconds": seconds,
                             "times": times})

    def truncate(self, path, nbytes, times=None):
        self._state.control({"action": "truncate", "path": path, "bytes": nbytes,
                             "times": times})

    def redirect(self, path, to, status=302, times=None):
        self._state.control({"action": "redirect", "path": path, "to": to,
                             "status": status, "times": times})

    def validators(self, etag=True, last_modified=True):
        self._state.control({"action": "validators", "etag": etag,
                             "last_modified": last_modified})

    def reset(self):
        self._state.reset()

    # what happened
    @property
    def requests(self):
        with self._state.lock:
            return list(self._state.log)

    def count(self, path=None):
        """Requests for path (all requests when None)."""
        with self._state.lock:
            if path is None:
                return len(self._state.log)
            p = _norm(path)
            return sum(1 for _, q, _ in self._state.log if _norm(q) == p)


if pytest is not None:
    @pytest.fixture
    def feed_server(tmp_path):
        with FeedServer(tmp_path / "feeds") as fs:
            yield fs


def main():
    ap = argparse.ArgumentParser(description="serve a directory of feed files on 127.0.0.1")
    ap.add_argument("--root", required=True)
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    fs = FeedServer(args.root, args.port).start()

    def stop(*_):
        fs._state.stop.set()
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    sys.stdout.write("%d\n" % fs.port)
    sys.stdout.flush()
    # Exit with the parent: it holds our stdin open while it wants us.
    try:
        while sys.stdin.buffer.read(4096):
            pass
    except OSError:
        pass
    stop()


if __name__ == "__main__":
    main()
