"""Real registries for integration tests: Debian's `docker-registry`
(CNCF distribution 2.8) on 127.0.0.1 and a free port, in the set-ups a
scanner meets: plain http, htpasswd basic auth (bcrypt, via `htpasswd -Bbn`),
token auth (through token_server.py) and TLS with a fresh self-signed CA.

    with Registry() as reg:                       # plain http
        push(reg, "t/x", "1", image)
    with Registry(auth="htpasswd", users={"alice": "s3cret"}) as reg: ...
    with Registry(auth="token", users={"alice": "s3cret"}) as reg: ...
    with Registry(tls=True) as reg:               # reg.ca is the CA PEM file
        ...

or as pytest fixtures (import them into the test module):
`registry_plain`, `registry_htpasswd`, `registry_token`, `registry_tls`
(module-scoped, users {"alice": "s3cret"}).

Only processes started here are stopped here, by their own pid (SIGTERM,
then SIGKILL after 3 s: a background Go program may ignore SIGINT).
Recipes: shared/reference/test-infra.md section 1.
"""
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable

DEFAULT_USERS = {"alice": "s3cret"}


def urlopen(req, timeout=30, context=None):
    """urllib's urlopen without proxies: the tests talk to 127.0.0.1 only,
    whatever http_proxy the machine has."""
    handlers = [urllib.request.ProxyHandler({})]
    if context is not None:
        handlers.append(urllib.request.HTTPSHandler(context=context))
    return urllib.request.build_opener(*handlers).open(req, timeout=timeout)


def free_port():
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def need(*programs):
    """Skips the calling test when a program is missing (scripts/install-deps
    installs them all)."""
    for p in programs:
        if not shutil.which(p):
            pytest.skip("%s is not installed (scripts/install-deps)" % p)


def _stop_process(proc, grace=3.0):
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def make_cert(directory, cn="127.0.0.1", san="IP:127.0.0.1,DNS:localhost"):
    """A fresh self-signed certificate and key (OpenSSL 3 marks it CA:TRUE,
    so it is its own trust anchor).  Returns (cert_path, key_path)."""
    os.makedirs(directory, exist_ok=True)
    cert = os.path.join(directory, "cert.pem")
    key = os.path.join(directory, "key.pem")
    args = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
            "-days", "7", "-subj", "/CN=" + cn, "-keyout", key, "-out", cert]
    if san:
        args += ["-addext", "subjectAltName=" + san]
    subprocess.run(args, check=True, capture_output=True)
    return cert, key


class TokenServer:
    """token_server.py on 127.0.0.1 and a port of its own choosing."""

    def __init__(self, key, cert, service="test-registry", issuer="test-issuer",
                 users=None, ttl=300):
        self.key, self.cert = key, cert
        self.service, self.issuer = service, issuer
        self.users = dict(users or {})
        self.ttl = ttl
        self.proc = None
        self.url = None

    def start(self):
        args = [PYTHON, os.path.join(HERE, "token_server.py"), "-k", self.key,
                "-c", self.cert, "-l", "127.0.0.1:0", "-s", self.service,
                "-i", self.issuer, "-t", str(self.ttl)]
        for u, p in self.users.items():
            args += ["-u", "%s:%s" % (u, p)]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("listening on "):
            err = self.proc.stderr.read() if self.proc.poll() is not None else ""
            _stop_process(self.proc)
            raise RuntimeError("token server did not start: %r %s" % (line, err))
        self.addr = line.split()[-1]
        self.url = "http://%s/token" % self.addr
        return self

    def stop(self):
        _stop_process(self.proc)
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class Registry:
    """A throwaway docker-registry.

    auth: None, "htpasswd" or "token"; users: {name: password};
    tls: serve https with a fresh self-signed certificate (self.ca);
    schema1: accept pushes of Docker schema 1 manifests (off by default in
    distribution 2.8).

    After start(): url ("http(s)://127.0.0.1:PORT"), addr ("127.0.0.1:PORT"),
    dir (state, removed by stop()), log (the registry's stderr),
    ca (TLS only), token (the TokenServer, token auth only).
    """

    def __init__(self, auth=None, users=None, tls=False, schema1=False,
                 extra_config=""):
        if auth not in (None, "htpasswd", "token"):
            raise ValueError("auth must be None, 'htpasswd' or 'token'")
        self.auth = auth
        self.users = dict(DEFAULT_USERS if users is None else users)
        self.tls = tls
        self.schema1 = schema1
        self.extra_config = extra_config
        self.proc = None
        self.token = None
        self.dir = None
        self.ca = None

    @property
    def scheme(self):
        return "https" if self.tls else "http"

    def ssl_context(self):
        """An ssl context that trusts this registry (None for http)."""
        if not self.tls:
            return None
        return ssl.create_default_context(cafile=self.ca)

    def _config(self, port):
        cfg = [
            "version: 0.1",
            "log:",
            "  level: info",
            "  accesslog:",
            "    disabled: true",
            "storage:",
            "  filesystem:",
            "    rootdirectory: %s/data" % self.dir,
            "  delete:",
            "    enabled: true",
            "  maintenance:",
            "    uploadpurging:",
            "      enabled: false",
            "http:",
            "  addr: 127.0.0.1:%d" % port,
            "  secret: throwaway-test-registry",
        ]
        if self.tls:
            cfg += ["  tls:",
                    "    certificate: %s/tls/cert.pem" % self.dir,
                    "    key: %s/tls/key.pem" % self.dir]
        if self.auth == "htpasswd":
            cfg += ["auth:", "  htpasswd:", "    realm: test-registry",
                    "    path: %s/htpasswd" % self.dir]
        elif self.auth == "token":
            cfg += ["auth:", "  token:",
                    "    realm: %s" % self.token.url,
                    "    service: %s" % self.token.service,
                    "    issuer: %s" % self.token.issuer,
                    "    rootcertbundle: %s" % self.token.cert]
        if self.schema1:
            cfg += ["compatibility:", "  schema1:", "    enabled: true"]
        return "\n".join(cfg) + "\n" + self.extra_config

    def start(self):
        need("docker-registry")
        if self.tls or self.auth == "token":
            need("openssl")
        if self.auth == "htpasswd":
            need("htpasswd")
        self.dir = tempfile.mkdtemp(prefix="clarion-registry.")
        try:
            self._prepare()
            self._launch()
        except BaseException:
            self.stop()
            raise
        return self

    def _prepare(self):
        os.makedirs(os.path.join(self.dir, "data"))
        if self.tls:
            self.ca, _ = make_cert(os.path.join(self.dir, "tls"))
            # A directory holding only the CA, as skopeo's --cert-dir wants.
            os.makedirs(os.path.join(self.dir, "ca"))
            shutil.copy(self.ca, os.path.join(self.dir, "ca", "ca.crt"))
            self.ca = os.path.join(self.dir, "ca", "ca.crt")
        if self.auth == "htpasswd":
            with open(os.path.join(self.dir, "htpasswd"), "w") as f:
                for u, p in self.users.items():
                    # The registry accepts bcrypt entries only (-B).
                    out = subprocess.run(["htpasswd", "-Bbn", u, p], check=True,
                                         capture_output=True, text=True).stdout
                    f.write(out.strip() + "\n")
        if self.auth == "token":
            cert, key = make_cert(os.path.join(self.dir, "token"), cn="test-issuer",
                                  san=None)
            self.token = TokenServer(key, cert, users=self.users).start()

    def _launch(self):
        last = ""
        for _ in range(3):  # another program may take the port meanwhile
            port = free_port()
            cfg = os.path.join(self.dir, "config.yml")
            with open(cfg, "w") as f:
                f.write(self._config(port))
            self.log = os.path.join(self.dir, "registry.log")
            with open(self.log, "w") as logf:
                self.proc = subprocess.Popen(["docker-registry", "serve", cfg],
                                             stdin=subprocess.DEVNULL,
                                             stdout=logf, stderr=subprocess.STDOUT)
            self.addr = "127.0.0.1:%d" % port
            self.port = port
            self.url = "%s://%s" % (self.scheme, self.addr)
            if self._wait_ready():
                return
            _stop_process(self.proc)
            with open(self.log) as f:
                last = f.read()
        raise RuntimeError("docker-registry did not start:\n" + last)

    def _wait_ready(self, timeout=15.0):
        ctx = None
        if self.tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                urlopen(self.url + "/v2/", timeout=2, context=ctx)
                return True
            except urllib.error.HTTPError:
                return True  # 401 under auth: it answers
            except (urllib.error.URLError, OSError):
                time.sleep(0.05)
        return False

    def stop(self):
        _stop_process(self.proc)
        self.proc = None
        if self.token:
            self.token.stop()
            self.token = None
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def credentials(self):
        """(user, password) of the first configured user, or None."""
        if self.auth is None or not self.users:
            return None
        return next(iter(self.users.items()))


def _fixture(**kw):
    @pytest.fixture(scope="module")
    def fix():
        with Registry(**kw) as reg:
            yield reg
    return fix


registry_plain = _fixture()
registry_htpasswd = _fixture(auth="htpasswd")
registry_token = _fixture(auth="token")
registry_tls = _fixture(tls=True)
