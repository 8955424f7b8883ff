"""`clarion serve` for integration tests: the real binary on 127.0.0.1 and
free ports (API and introspection), started with a configuration written
to a file, ready when /readyz answers 200.

    with ClarionServer(clarion, tmp_path, db, config={...}) as srv:
        status, headers, body = srv.request("GET", "/indexer/api/v1/index_state")
        srv.json("GET", "/status")

Only the process started here is stopped here, by its own pid: SIGTERM
(what an orchestrator sends), then SIGKILL after a grace period.
"""
import gzip
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request

from harness.registry import free_port, urlopen


class ClarionServer:
    def __init__(self, clarion, workdir, db, config=None, mode="combo", env=None,
                 ready_timeout=60.0, wait_ready=True, extra_args=()):
        self.clarion, self.workdir, self.db = clarion, str(workdir), db
        self.config = dict(config or {})
        self.mode, self.env = mode, env
        self.ready_timeout, self.wait_ready = ready_timeout, wait_ready
        self.extra_args = list(extra_args)
        self.proc = None
        self.port = self.intro_port = None
        self.log_path = None

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    @property
    def intro_url(self):
        return "http://127.0.0.1:%d" % self.intro_port

    def start(self):
        os.makedirs(self.workdir, exist_ok=True)
        self.port, self.intro_port = free_port(), free_port()
        tag = "%d" % self.port
        cfg_path = os.path.join(self.workdir, "serve-%s.json" % tag)
        with open(cfg_path, "w") as f:
            json.dump(self.config, f)
        self.log_path = os.path.join(self.workdir, "serve-%s.log" % tag)
        log = open(self.log_path, "wb")
        args = [self.clarion, "serve", "-c", cfg_path, "--mode", self.mode,
                "--listen", "127.0.0.1:%d" % self.port,
                "--introspection", "127.0.0.1:%d" % self.intro_port,
                "--db", self.db] + self.extra_args
        self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                     env=self.env)
        log.close()
        if self.wait_ready:
            self.ready()
        return self

    def ready(self, timeout=None):
        """Waits for /readyz to answer 200."""
        deadline = time.time() + (timeout or self.ready_timeout)
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("clarion serve exited with %d:\n%s"
                                   % (self.proc.returncode, self.log()))
            try:
                with urlopen(self.intro_url + "/readyz", timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.1)
        raise RuntimeError("clarion serve not ready after %ss:\n%s"
                           % (timeout or self.ready_timeout, self.log()))

    def log(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def signal(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)

    def stop(self, grace=20.0):
        """SIGTERM, wait; returns the exit status (SIGKILL after grace)."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.terminate()
        try:
            return self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
            return -9

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, *exc):
        rc = self.stop()
        if exc_type is None:
            # An orderly shutdown exits 0; a sanitizer build reports errors
            # and leaks in the log (and a non-zero status).
            log = self.log()
            assert "Sanitizer" not in log, log[-4000:]
            assert rc in (0, None), "clarion serve exited %s:\n%s" % (rc, log[-4000:])

    def request(self, method, path, body=None, headers=None, intro=False,
                timeout=120, decode_gzip=True):
        """(status, headers as a dict with lowercase names, body bytes)."""
        url = (self.intro_url if intro else self.url) + path
        data = body
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
        elif isinstance(body, str):
            data = body.encode()
        req = urllib.request.Request(url, data=data, method=method,
                                     headers=dict(headers or {}))
        if data is not None and "Content-Type" not in (headers or {}):
            req.add_header("Content-Type", "application/json")
        try:
            with urlopen(req, timeout=timeout) as r:
                status, hdrs, raw = r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            status, hdrs, raw = e.code, e.headers, e.read()
        h = {}
        for k, v in hdrs.items():
            k = k.lower()
            h[k] = h[k] + ", " + v if k in h else v
        if decode_gzip and h.get("content-encoding") == "gzip":
            raw = gzip.decompress(raw)
        return status, h, raw

    def json(self, method, path, body=None, headers=None, expect=200):
        status, h, raw = self.request(method, path, body, headers)
        assert status == expect, (status, raw[:2000])
        return json.loads(raw) if raw else None


def manifest_for(registry, repo, image, auth_header=None):
    """A Clair Manifest for an image pushed to registry: blob URIs on the
    registry and the Authorization header it needs, as clairctl builds."""
    headers = {"Authorization": [auth_header]} if auth_header else {}
    base = "%s://%s" % (registry.scheme, registry.addr)
    return {"hash": image.digest,
            "layers": [{"hash": l.blob.digest,
                        "uri": "%s/v2/%s/blobs/%s" % (base, repo, l.blob.digest),
                        "headers": headers,
                        "media_type": l.blob.media_type}
                       for l in image.layers]}
