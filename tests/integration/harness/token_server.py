#!/usr/bin/env python3
"""token-server.py - minimal Docker registry token server, for tests only.

Implements the GET side of the Docker token protocol that CNCF distribution
(docker-registry 2.8) verifies with `auth: token:`: the client, sent here by a
`WWW-Authenticate: Bearer realm=...,service=...,scope=...` challenge, does
GET REALM?service=S&scope=repository:NAME:pull,push[&scope=...] (with HTTP
basic auth when users are configured) and gets {"token": JWT, ...}.

The JWT is RS256, signed with `openssl dgst -sha256 -sign KEY`, and carries
the signing certificate in its x5c header, so the registry's rootcertbundle
only needs that certificate. Every requested action is granted.

Stdlib only, plus the openssl command. Reference for a C implementation.

Origin: a copy of the project's own helper shared/tools/token-server.py
(written for clarion's test infrastructure, see
shared/reference/test-infra.md section 1.4), kept here so the integration
tests do not depend on the shared folder.  Keep the two in step.

Usage: token-server.py -k KEY.pem -c CERT.pem [-l 127.0.0.1:5001]
                       [-s SERVICE] [-i ISSUER] [-u USER:PASS ...] [-t TTL]
Prints "listening on HOST:PORT" once ready; stop it with SIGTERM.
"""
import argparse
import base64
import json
import signal
import subprocess
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def cert_der_b64(cert_path):
    der = subprocess.run(["openssl", "x509", "-in", cert_path, "-outform", "DER"],
                         check=True, capture_output=True).stdout
    return base64.b64encode(der).decode()


def make_jwt(opts, subject, access):
    now = int(time.time())
    header = {"typ": "JWT", "alg": "RS256", "x5c": [opts.x5c]}
    claims = {"iss": opts.issuer, "sub": subject, "aud": opts.service,
              "exp": now + opts.ttl, "nbf": now - 1, "iat": now,
              "jti": uuid.uuid4().hex, "access": access}
    signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "." +
                     b64url(json.dumps(claims, separators=(",", ":")).encode()))
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", opts.key],
                         input=signing_input.encode(), check=True,
                         capture_output=True).stdout
    return signing_input + "." + b64url(sig)


def parse_scope(scope):
    # repository:NAME:ACTIONS ; NAME may contain ':' only before a port,
    # which repository names never have, so split from the right.
    typ, _, rest = scope.partition(":")
    name, _, actions = rest.rpartition(":")
    return {"type": typ, "name": name, "actions": [a for a in actions.split(",") if a]}


class Handler(BaseHTTPRequestHandler):
    opts = None

    def log_message(self, fmt, *args):
        if self.opts.verbose:
            sys.stderr.write("token-server: " + fmt % args + "\n")

    def send_json(self, code, obj, extra_headers=()):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra_headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urlparse(self.path)
        if url.path != "/token":
            self.send_json(404, {"error": "not found"})
            return
        q = parse_qs(url.query)
        subject = ""
        if self.opts.users:
            auth = self.headers.get("Authorization", "")
            ok = False
            if auth.startswith("Basic "):
                try:
                    user, _, pw = base64.b64decode(auth[6:]).decode().partition(":")
                    ok = self.opts.users.get(user) == pw
                    subject = user
                except ValueError:
                    ok = False
            if not ok:
                self.send_json(401, {"errors": [{"code": "UNAUTHORIZED"}]},
                               [("WWW-Authenticate", 'Basic realm="token"')])
                return
        if q.get("service", [self.opts.service])[0] != self.opts.service:
            self.send_json(400, {"error": "unknown service"})
            return
        access = [parse_scope(s) for s in q.get("scope", [])]
        token = make_jwt(self.opts, subject, access)
        self.send_json(200, {"token": token, "access_token": token,
                             "expires_in": self.opts.ttl,
                             "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})


def main():
    ap = argparse.ArgumentParser(description="minimal registry token server (tests only)")
    ap.add_argument("-k", "--key", required=True, help="PEM RSA private key")
    ap.add_argument("-c", "--cert", required=True, help="PEM certificate of that key")
    ap.add_argument("-l", "--listen", default="127.0.0.1:5001")
    ap.add_argument("-s", "--service", default="test-registry")
    ap.add_argument("-i", "--issuer", default="test-issuer")
    ap.add_argument("-u", "--user", action="append", default=[], help="USER:PASS")
    ap.add_argument("-t", "--ttl", type=int, default=300)
    ap.add_argument("-v", "--verbose", action="store_true")
    opts = ap.parse_args()
    opts.users = dict(u.split(":", 1) for u in opts.user)
    opts.x5c = cert_der_b64(opts.cert)
    host, _, port = opts.listen.rpartition(":")
    Handler.opts = opts
    srv = ThreadingHTTPServer((host, int(port)), Handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("listening on %s:%d" % srv.server_address[:2], flush=True)
    try:
        srv.serve_forever()
    finally:
        srv.server_close()


if __name__ == "__main__":
    main()
