#!/usr/bin/python3
"""Vulnerability reports over HTTP (DESIGN.md section 7: >= 1,500 req/s on
2 cores for the ~800-package Debian image with >= 1 M records loaded;
server RSS <= 256 MB).

    /usr/bin/python3 bench/http_bench.py [BUILD] [--seconds N]

1. The database of bench/match_bench.py (1.5 M generated Debian tracker
   rows, the real AlmaLinux OSV and RHEL 8 OVAL; filled and cached by it),
   copied to a temporary directory so the cache is never modified.
2. `clarion serve` on 127.0.0.1 (free ports) with the updaters disabled:
   the data is what the database holds.
3. One layer (this machine's /etc/os-release and /var/lib/dpkg/status in
   a tar) served by a loopback HTTP server, indexed through
   POST /indexer/api/v1/index_report as a Clair client would.
4. wrk (Debian's package) on GET /matcher/api/v1/vulnerability_report/
   for that manifest: requests/s and latency, then the server's RSS.

A benchmark prints; it never fails on speed.  Exit 1 only when something is
broken (the server does not start, the index fails, wrong answers).
"""
import hashlib
import http.server
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.request

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "bench"))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))

import ingest_bench  # noqa: E402
import match_bench  # noqa: E402
from harness.server import ClarionServer  # noqa: E402


def say(*a):
    print(*a, flush=True)


def layer_bytes():
    """A tar of the two files the dpkg and os-release scanners read."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for src, name in (("/etc/os-release", "etc/os-release"),
                          ("/var/lib/dpkg/status", "var/lib/dpkg/status")):
            data = open(os.path.realpath(src), "rb").read()
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


class BlobServer:
    """Serves one blob at /blob on a free loopback port."""

    def __init__(self, blob):
        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Length", str(len(blob)))
                self.end_headers()
                self.wfile.write(blob)

            def log_message(self, *a):
                pass
        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = "http://127.0.0.1:%d/blob" % self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()


def rss_mb(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0]) / 1024.0
    return out


def wrk(url, seconds, conns, gzip=False):
    hdr = ["-H", "Accept-Encoding: gzip"] if gzip else []
    p = subprocess.run(["wrk", "-t2", "-c%d" % conns, "-d%ds" % seconds,
                        "--latency"] + hdr + [url], capture_output=True, text=True,
                       timeout=seconds + 60)
    if p.returncode != 0:
        raise SystemExit("http_bench: wrk failed: " + p.stderr[-300:])
    rps = re.search(r"Requests/sec:\s+([\d.]+)", p.stdout)
    lat = dict(re.findall(r"^\s+(50|90|99)%\s+(\S+)", p.stdout, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", p.stdout)
    return (float(rps.group(1)) if rps else 0.0, lat,
            int(non2xx.group(1)) if non2xx else 0)


def main():
    args = sys.argv[1:]
    seconds = 10
    if "--seconds" in args:
        i = args.index("--seconds")
        seconds = int(args[i + 1])
        del args[i:i + 2]
    build = args[0] if args else "build"
    clarion = os.path.abspath(os.path.join(build, "clarion"))
    if not shutil.which("wrk"):
        say("  skipped: wrk is not installed (apt-get install wrk)")
        return 0
    tmp = tempfile.mkdtemp(prefix="clarion-http-bench.")
    srv = blobs = None
    try:
        env = ingest_bench.child_env(tmp)
        cached = match_bench.cached_db(clarion, env, tmp)
        db = os.path.join(tmp, "clarion.db")
        shutil.copyfile(cached, db)
        blob = layer_bytes()
        digest = "sha256:" + hashlib.sha256(blob).hexdigest()
        manifest = "sha256:" + hashlib.sha256(b"http_bench" + blob).hexdigest()
        blobs = BlobServer(blob)

        t0 = time.monotonic()
        srv = ClarionServer(clarion, tmp, db, env=env, ready_timeout=600,
                            config={"log_level": "warn",
                                    "matcher": {"disable_updaters": True}})
        srv.start()
        say("  server ready in %.1f s (index of %s built), RSS %.0f MB"
            % (time.monotonic() - t0, os.path.basename(cached),
               rss_mb(srv.proc.pid)["VmRSS"]))

        body = json.dumps({"hash": manifest, "layers": [
            {"hash": digest, "uri": blobs.url, "headers": {}}]}).encode()
        t0 = time.monotonic()
        req = urllib.request.Request(srv.url + "/indexer/api/v1/index_report",
                                     data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=300) as r:
            ir = json.load(r)
        if ir.get("state") != "IndexFinished":
            raise SystemExit("http_bench: index failed: %s" % ir.get("err"))
        say("  indexed %d packages in %.0f ms"
            % (len(ir.get("packages", {})), (time.monotonic() - t0) * 1e3))

        url = srv.url + "/matcher/api/v1/vulnerability_report/" + manifest
        t0 = time.monotonic()
        with urllib.request.urlopen(url, timeout=300) as r:
            vr = json.load(r)
        say("  first report (match + encode) in %.0f ms"
            % ((time.monotonic() - t0) * 1e3))
        say("  report: %d vulnerabilities over %d packages (%d bytes)"
            % (len(vr.get("vulnerabilities", {})),
               len(vr.get("package_vulnerabilities", {})),
               len(json.dumps(vr))))
        # Go's HTTP client (clairctl, Clair's own) asks for gzip unless
        # told not to; curl and wrk do not.
        for conns, gz in ((2, False), (16, False), (2, True), (16, True)):
            rps, lat, bad = wrk(url, seconds, conns, gz)
            say("  wrk %2d connections%s: %.0f req/s  p50 %s  p90 %s  p99 %s"
                "  (target >= 1500 req/s: %.2fx)%s"
                % (conns, ", gzip" if gz else "      ", rps, lat.get("50", "?"),
                   lat.get("90", "?"), lat.get("99", "?"), rps / 1500.0,
                   "  NON-2xx: %d" % bad if bad else ""))
            if bad:
                return 1
        m = rss_mb(srv.proc.pid)
        say("  server RSS %.0f MB, peak %.0f MB (target <= 256 MB: %.2fx)"
            % (m["VmRSS"], m["VmHWM"], m["VmHWM"] / 256.0))
        return 0
    finally:
        if srv:
            srv.stop()
        if blobs:
            blobs.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
