"""The registry client (src/image/registry.c, auth.c) against real
registries: Debian's docker-registry in plain, htpasswd, token and TLS
set-ups, with images built and pushed by harness/images.py; and against
small fake servers for what a real registry will not do on demand
(redirects to storage, 5xx, 429, wrong bytes, token expiry).

The client is driven through tests/tools/registry-fetch.c, compiled here
against the library the build made (clarion has no user command that
fetches an image yet).
"""
import base64
import json
import os
import re
import shlex
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import TOP, clarion_path, run
from harness import images
from harness.registry import (Registry, free_port, make_cert, registry_htpasswd,  # noqa: F401
                              registry_plain, registry_tls, registry_token)

TOOL_SRC = os.path.join(TOP, "tests", "tools", "registry-fetch.c")


# ---- the tool ---------------------------------------------------------------

def _makefile_pkgs():
    with open(os.path.join(TOP, "Makefile")) as f:
        for line in f:
            m = re.match(r"PKGS\s*:=\s*(.*)", line)
            if m:
                return m.group(1).split()
    raise RuntimeError("no PKGS in the Makefile")


@pytest.fixture(scope="session")
def fetch_tool(tmp_path_factory):
    """tests/tools/registry-fetch.c built against the library next to the
    clarion binary under test (build/, or build-asan/ under make asan)."""
    lib = os.path.join(os.path.dirname(clarion_path()), "libclarion.a")
    if not os.path.exists(lib):
        pytest.fail("%s not found (run make first)" % lib)
    pkgs = _makefile_pkgs()
    cflags = subprocess.run(["pkg-config", "--cflags"] + pkgs, check=True,
                            capture_output=True, text=True).stdout.split()
    libs = subprocess.run(["pkg-config", "--libs"] + pkgs, check=True,
                          capture_output=True, text=True).stdout.split()
    out = str(tmp_path_factory.mktemp("tool") / "registry-fetch")
    cc = shlex.split(os.environ.get("CC", "cc"))
    cmd = cc + ["-std=c11", "-D_GNU_SOURCE", "-g", "-O1", "-I", os.path.join(TOP, "src")] + \
        cflags + ["-o", out, TOOL_SRC, lib] + libs + ["-lpthread", "-lm"]
    p = run(cmd)
    if p.returncode and re.search(r"__(a|ub)san", p.stderr):
        # The library was built with the sanitizers (make asan).
        p = run(cmd[:len(cc)] + ["-fsanitize=address,undefined"] + cmd[len(cc):])
    assert p.returncode == 0, p.stderr
    return out


@pytest.fixture
def home(tmp_path):
    """An empty HOME, so no docker config of the machine's leaks in."""
    h = tmp_path / "home"
    h.mkdir()
    return h


def clean_env(home, **extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("REGISTRY_AUTH_FILE", "DOCKER_CONFIG", "CLARION_CA_FILE",
                        "CURL_CA_BUNDLE", "SSL_CERT_FILE")
           and not k.lower().endswith("_proxy")}
    env["HOME"] = str(home)
    env["NO_PROXY"] = env["no_proxy"] = "*"
    env.update({k: str(v) for k, v in extra.items()})
    return env


def fetch(tool, home, *args, env=None, timeout=60):
    return run([tool] + [str(a) for a in args], env=env or clean_env(home),
               timeout=timeout)


def manifest_lines(out):
    """[(media_type, digest, size)] of the tool's manifest lines."""
    return [tuple(line.split()[1:]) for line in out.splitlines()
            if line.startswith("manifest ")]


def small_image(tag="x", fmt="oci", arch="amd64", variant=None, big=0):
    layers = [{"etc/os-release": "ID=debian\nVERSION_ID=12\n",
               "etc/" + tag: tag,
               "var/lib/dpkg/status": "Package: libssl3\nStatus: install ok installed\n"
                                      "Version: 3.0.11-1~deb12u2\n\n"},
              {"etc/.wh.motd": b"", "usr/bin/tool": images.File(b"#!/bin/sh\n", 0o755)}]
    if big:
        layers.append({"big.bin": os.urandom(big)})
    return images.build_image(layers, fmt=fmt, arch=arch, variant=variant)


# ---- real registries ----------------------------------------------------------

def test_plain_manifest_by_tag_and_digest_and_blobs(registry_plain, fetch_tool, home,
                                                    tmp_path):
    img = small_image("plain", big=3 << 20)
    pushed = images.push(registry_plain, "t/plain", "1", img)
    assert pushed == img.digest
    ref = registry_plain.addr + "/t/plain"
    layer = img.layers[2].blob
    p = fetch(fetch_tool, home, "-P", ref + ":1",
              "-b", "%s=%s" % (layer.digest, tmp_path / "layer"),
              "-c", "%s=%s" % (img.config.digest, tmp_path / "config"),
              "-m", img.digest)
    assert p.returncode == 0, p.stderr
    assert "source %s:1" % ref in p.stdout
    assert manifest_lines(p.stdout) == [(images.OCI_MANIFEST, img.digest, str(img.manifest.size))] * 2
    assert "blob %s %d" % (layer.digest, layer.size) in p.stdout
    assert (tmp_path / "layer").read_bytes() == layer.data
    assert (tmp_path / "config").read_bytes() == img.config.data

    # By digest alone, and by tag and digest (the digest wins).
    for r in (ref + "@" + img.digest, ref + ":nosuchtag@" + img.digest):
        p = fetch(fetch_tool, home, "-P", r)
        assert p.returncode == 0, p.stderr
        assert manifest_lines(p.stdout) == [(images.OCI_MANIFEST, img.digest,
                                             str(img.manifest.size))]


def test_docker_schema2_image(registry_plain, fetch_tool, home, tmp_path):
    img = small_image("v2s2", fmt="docker")
    images.push(registry_plain, "t/v2s2", "1", img)
    p = fetch(fetch_tool, home, "-P", registry_plain.addr + "/t/v2s2:1",
              "-b", "%s=%s" % (img.layers[0].blob.digest, tmp_path / "l"))
    assert p.returncode == 0, p.stderr
    assert manifest_lines(p.stdout) == [(images.DOCKER_MANIFEST, img.digest,
                                         str(img.manifest.size))]
    assert (tmp_path / "l").read_bytes() == img.layers[0].blob.data


@pytest.mark.parametrize("fmt,media", [("oci", images.OCI_INDEX),
                                       ("docker", images.DOCKER_LIST)])
def test_index_and_manifest_list(registry_plain, fetch_tool, home, fmt, media):
    amd = small_image("amd-" + fmt, fmt=fmt)
    arm = small_image("arm-" + fmt, fmt=fmt, arch="arm64", variant="v8")
    idx = images.build_index([amd, arm])
    images.push(registry_plain, "t/multi-" + fmt, "1", idx)
    p = fetch(fetch_tool, home, "-P", registry_plain.addr + "/t/multi-%s:1" % fmt,
              "-m", amd.digest, "-m", arm.digest)
    assert p.returncode == 0, p.stderr
    child = images.OCI_MANIFEST if fmt == "oci" else images.DOCKER_MANIFEST
    assert manifest_lines(p.stdout) == [
        (media, idx.digest, str(idx.manifest.size)),
        (child, amd.digest, str(amd.manifest.size)),
        (child, arm.digest, str(arm.manifest.size))]


def test_not_found(registry_plain, fetch_tool, home):
    img = small_image("nf")
    images.push(registry_plain, "t/nf", "1", img)
    ref = registry_plain.addr + "/t/nf"
    p = fetch(fetch_tool, home, "-P", ref + ":2")
    assert p.returncode == 1
    assert "registry-fetch: not found: manifest %s:2: HTTP 404: MANIFEST_UNKNOWN" % ref \
        in p.stderr
    missing = "sha256:" + "0" * 64
    p = fetch(fetch_tool, home, "-P", ref + ":1", "-b", missing + "=/dev/null")
    assert p.returncode == 1
    assert "not found: blob %s" % missing in p.stderr
    assert "BLOB_UNKNOWN" in p.stderr
    p = fetch(fetch_tool, home, "-P", registry_plain.addr + "/nosuch/repo:1")
    assert p.returncode == 1 and "not found" in p.stderr


def test_close_before_the_end_cancels(registry_plain, fetch_tool, home):
    img = small_image("cancel", big=8 << 20)
    images.push(registry_plain, "t/cancel", "1", img)
    t = time.monotonic()
    p = fetch(fetch_tool, home, "-P", "-x", img.layers[2].blob.digest + "=1000",
              registry_plain.addr + "/t/cancel:1")
    assert p.returncode == 0, p.stderr
    assert re.search(r"closed sha256:\w+ after \d+", p.stdout)
    assert time.monotonic() - t < 10


def test_plain_registry_spoken_to_with_tls(registry_plain, fetch_tool, home):
    p = fetch(fetch_tool, home, registry_plain.addr + "/t/x:1")
    assert p.returncode == 1
    assert "network error" in p.stderr and "plain http" in p.stderr


def test_htpasswd(registry_htpasswd, fetch_tool, home, tmp_path):
    img = small_image("basic")
    images.push(registry_htpasswd, "t/basic", "1", img)
    ref = registry_htpasswd.addr + "/t/basic:1"
    layer = img.layers[0].blob
    p = fetch(fetch_tool, home, "-P", "-u", "alice:s3cret", ref,
              "-b", "%s=%s" % (layer.digest, tmp_path / "l"))
    assert p.returncode == 0, p.stderr
    assert manifest_lines(p.stdout)[0][1] == img.digest
    assert (tmp_path / "l").read_bytes() == layer.data

    p = fetch(fetch_tool, home, "-P", "-u", "alice:wrong", ref)
    assert p.returncode == 1
    assert "invalid input: access denied to manifest" in p.stderr
    assert "HTTP 401: UNAUTHORIZED" in p.stderr

    p = fetch(fetch_tool, home, "-P", ref)
    assert p.returncode == 1
    assert "requires credentials and none are configured" in p.stderr


def test_htpasswd_credentials_from_docker_config(registry_htpasswd, fetch_tool, home,
                                                 tmp_path):
    img = small_image("cfg")
    images.push(registry_htpasswd, "t/cfg", "1", img)
    ref = registry_htpasswd.addr + "/t/cfg:1"
    docker = home / ".docker"
    docker.mkdir()
    # auths, with base64 user:password, as `docker login` writes it.
    (docker / "config.json").write_text(json.dumps({"auths": {
        registry_htpasswd.addr: {"auth": base64.b64encode(b"alice:s3cret").decode()}}}))
    p = fetch(fetch_tool, home, "-P", ref)
    assert p.returncode == 0, p.stderr

    # A credential helper, a real program on PATH.
    bindir = tmp_path / "bin"
    bindir.mkdir()
    helper = bindir / "docker-credential-test"
    helper.write_text("#!/bin/sh\nread -r server\necho \"$server\" >> %s/asked\n"
                      "echo '{\"Username\":\"alice\",\"Secret\":\"s3cret\"}'\n" % tmp_path)
    helper.chmod(0o755)
    (docker / "config.json").write_text(json.dumps(
        {"credHelpers": {registry_htpasswd.addr: "test"}}))
    env = clean_env(home, PATH="%s:%s" % (bindir, os.environ["PATH"]))
    p = fetch(fetch_tool, home, "-P", ref, env=env)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "asked").read_text().split() == [registry_htpasswd.addr]

    # REGISTRY_AUTH_FILE wins over HOME's config.
    authfile = tmp_path / "auth.json"
    authfile.write_text(json.dumps({"auths": {registry_htpasswd.addr: {
        "auth": base64.b64encode(b"alice:wrong").decode()}}}))
    env = clean_env(home, PATH=env["PATH"], REGISTRY_AUTH_FILE=authfile)
    p = fetch(fetch_tool, home, "-P", ref, env=env)
    assert p.returncode == 1 and "HTTP 401" in p.stderr


def test_token_auth(registry_token, fetch_tool, home, tmp_path):
    img = small_image("tok", big=1 << 20)
    images.push(registry_token, "t/tok", "1", img)
    ref = registry_token.addr + "/t/tok:1"
    layer = img.layers[2].blob
    p = fetch(fetch_tool, home, "-P", "-u", "alice:s3cret", ref, "-m", img.digest,
              "-b", "%s=%s" % (layer.digest, tmp_path / "l"),
              "-c", "%s=%s" % (img.config.digest, tmp_path / "c"))
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "l").read_bytes() == layer.data
    assert (tmp_path / "c").read_bytes() == img.config.data

    p = fetch(fetch_tool, home, "-P", "-u", "alice:wrong", ref)
    assert p.returncode == 1
    assert "the token server %s refused the credentials of 'alice'" % \
        registry_token.token.url in p.stderr

    p = fetch(fetch_tool, home, "-P", ref)
    assert p.returncode == 1
    assert "refused anonymous access to repository:t/tok:pull" in p.stderr


def test_token_auth_without_users(fetch_tool, home):
    with Registry(auth="token", users={}) as reg:
        img = small_image("anon")
        images.push(reg, "t/anon", "1", img)
        p = fetch(fetch_tool, home, "-P", reg.addr + "/t/anon:1",
                  "-b", "%s=/dev/null" % img.layers[0].blob.digest)
        assert p.returncode == 0, p.stderr


def test_tls(registry_tls, fetch_tool, home):
    img = small_image("tls")
    images.push(registry_tls, "t/tls", "1", img)
    ref = registry_tls.addr + "/t/tls:1"
    blob = "%s=/dev/null" % img.layers[0].blob.digest

    # Verified by default: the self-signed certificate is refused ...
    p = fetch(fetch_tool, home, ref)
    assert p.returncode == 1
    assert "network error" in p.stderr and "TLS verification failed" in p.stderr
    # ... unless its CA is given ...
    for var in ("CLARION_CA_FILE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
        p = fetch(fetch_tool, home, ref, "-b", blob,
                  env=clean_env(home, **{var: registry_tls.ca}))
        assert p.returncode == 0, (var, p.stderr)
        assert manifest_lines(p.stdout)[0][1] == img.digest
    # ... or verification is turned off.
    p = fetch(fetch_tool, home, "-k", ref, "-b", blob)
    assert p.returncode == 0, p.stderr
    # A CA that did not sign it does not help.
    other_ca, _ = make_cert(str(home / "other"))
    p = fetch(fetch_tool, home, ref, env=clean_env(home, CLARION_CA_FILE=other_ca))
    assert p.returncode == 1 and "TLS verification failed" in p.stderr


def test_signed_schema1(fetch_tool, home, tmp_path):
    key = make_cert(str(tmp_path / "signer"), cn="signer", san=None)[1]
    with Registry(schema1=True) as reg:
        img = small_image("s1")
        st, digest, m = images.push_schema1(reg, "t/s1", "1", img, key=key)
        assert st == 201, digest
        # The registry's digest covers the payload without the signatures.
        assert digest != images.sha256_digest(m.data)
        p = fetch(fetch_tool, home, "-P", reg.addr + "/t/s1:1")
        assert p.returncode == 0, p.stderr
        assert manifest_lines(p.stdout)[0][0] == images.DOCKER_SCHEMA1_SIGNED
        p = fetch(fetch_tool, home, "-P", reg.addr + "/t/s1@" + digest)
        assert p.returncode == 0, p.stderr
        assert manifest_lines(p.stdout)[0][0] == images.DOCKER_SCHEMA1_SIGNED


def test_unreachable_registry_fails_fast(fetch_tool, home):
    port = free_port()  # nothing listens there
    t = time.monotonic()
    p = fetch(fetch_tool, home, "-P", "127.0.0.1:%d/t/x:1" % port)
    assert time.monotonic() - t < 3
    assert p.returncode == 1
    assert "registry-fetch: network error: registry 127.0.0.1:%d: cannot reach " \
        "http://127.0.0.1:%d" % (port, port) in p.stderr


def test_silent_registry_times_out(fetch_tool, home):
    # Accepts connections (the kernel does) and never answers.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        t = time.monotonic()
        p = fetch(fetch_tool, home, "-P", "-t", "1", "127.0.0.1:%d/t/x:1" % s.getsockname()[1])
        took = time.monotonic() - t
    assert p.returncode == 1
    assert "timed out" in p.stderr
    assert took < 8


# ---- fake servers --------------------------------------------------------------

class FakeServer:
    """An HTTP server on 127.0.0.1 and a free port that records every
    request and answers from self.routes: {path: fn(request) -> (status,
    headers, body)}; unknown paths get a registry-style 404."""

    def __init__(self, name="127.0.0.1"):
        self.name = name  # the host name in self.url
        self.requests = []
        self.routes = {}
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                req = {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}}
                with fake.lock:
                    fake.requests.append(req)
                fn = fake.routes.get(self.path.split("?")[0])
                if fn:
                    status, headers, body = fn(req)
                else:
                    status, headers, body = 404, {"Content-Type": "application/json"}, \
                        b'{"errors":[{"code":"NAME_UNKNOWN","message":"nothing here"}]}'
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = "http://%s:%d" % (name, self.port)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def hits(self, path):
        return [r for r in self.requests if r["path"].split("?")[0] == path]


def ok(body, ctype="application/octet-stream", **headers):
    h = {"Content-Type": ctype}
    h.update(headers)
    return lambda req: (200, h, body)


def basic_only(user, pw, fn):
    """Wraps a route so that it wants Basic credentials."""
    want = "Basic " + base64.b64encode(("%s:%s" % (user, pw)).encode()).decode()

    def route(req):
        if req["headers"].get("authorization") != want:
            return 401, {"WWW-Authenticate": 'Basic realm="fake"',
                         "Content-Type": "application/json"}, \
                b'{"errors":[{"code":"UNAUTHORIZED","message":"who are you"}]}'
        return fn(req)
    return route


class FakeRegistry:
    """A registry serving one image with Basic auth, on 127.0.0.1."""

    def __init__(self, srv, img, repo="t/x", auth=("alice", "pw")):
        self.srv, self.img, self.repo = srv, img, repo
        wrap = (lambda fn: basic_only(auth[0], auth[1], fn)) if auth else (lambda fn: fn)
        self.wrap = wrap
        srv.routes["/v2/"] = wrap(ok(b"{}", "application/json"))
        m = img.manifest
        for ref in ("1", m.digest):
            srv.routes["/v2/%s/manifests/%s" % (repo, ref)] = wrap(
                ok(m.data, m.media_type, **{"Docker-Content-Digest": m.digest}))
        for b in img.blobs():
            srv.routes[self.blob_path(b.digest)] = wrap(ok(b.data))

    def blob_path(self, digest):
        return "/v2/%s/blobs/%s" % (self.repo, digest)

    def ref(self, tag="1"):
        return "127.0.0.1:%d/%s:%s" % (self.srv.port, self.repo, tag)


@pytest.mark.parametrize("storage_host,auth_expected", [
    ("localhost", False),   # another host name: another origin
    ("127.0.0.1", False),   # same host, another port: another origin
])
def test_redirect_never_carries_registry_credentials(fetch_tool, home, tmp_path,
                                                     storage_host, auth_expected):
    img = small_image("redir", big=600 << 10)
    layer = img.layers[2].blob
    with FakeServer() as reg_srv, FakeServer(storage_host) as storage:
        reg = FakeRegistry(reg_srv, img)
        storage.routes["/storage/layer"] = ok(layer.data)
        reg_srv.routes[reg.blob_path(layer.digest)] = reg.wrap(
            lambda req: (307, {"Location": storage.url + "/storage/layer?sig=x"}, b""))
        p = fetch(fetch_tool, home, "-P", "-u", "alice:pw", reg.ref(),
                  "-b", "%s=%s" % (layer.digest, tmp_path / "l"),
                  "-c", "%s=%s" % (layer.digest, tmp_path / "c"))
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "l").read_bytes() == layer.data
    assert (tmp_path / "c").read_bytes() == layer.data
    # The registry saw the credentials, the storage never did.
    assert reg_srv.hits(reg.blob_path(layer.digest))[-1]["headers"]["authorization"] \
        .startswith("Basic ")
    got = storage.hits("/storage/layer")
    assert len(got) == 2
    assert all(("authorization" in r["headers"]) == auth_expected for r in got)


def test_redirect_within_the_registry_keeps_credentials(fetch_tool, home, tmp_path):
    img = small_image("same")
    layer = img.layers[0].blob
    with FakeServer() as srv:
        reg = FakeRegistry(srv, img)
        srv.routes["/v2/t/x/moved"] = reg.wrap(ok(layer.data))
        srv.routes[reg.blob_path(layer.digest)] = reg.wrap(
            lambda req: (302, {"Location": "/v2/t/x/moved"}, b""))
        p = fetch(fetch_tool, home, "-P", "-u", "alice:pw", reg.ref(),
                  "-b", "%s=%s" % (layer.digest, tmp_path / "l"))
        assert p.returncode == 0, p.stderr
        assert srv.hits("/v2/t/x/moved")[0]["headers"]["authorization"].startswith("Basic ")


def test_redirect_loop_is_cut(fetch_tool, home):
    img = small_image("loop")
    with FakeServer() as srv:
        reg = FakeRegistry(srv, img, auth=None)
        path = reg.blob_path(img.config.digest)
        srv.routes[path] = lambda req: (302, {"Location": path}, b"")
        p = fetch(fetch_tool, home, "-P", reg.ref(), "-c", img.config.digest + "=/dev/null")
    assert p.returncode == 1 and "more than 5 redirects" in p.stderr


def flaky(failures, status, then, headers=None):
    """A route failing with status the first `failures` times."""
    count = [0]

    def route(req):
        count[0] += 1
        if count[0] <= failures:
            return status, dict(headers or {}, **{"Content-Type": "application/json"}), \
                b'{"errors":[{"code":"UNAVAILABLE","message":"try later"}]}'
        return then(req)
    return route


def test_5xx_is_retried(fetch_tool, home, tmp_path):
    img = small_image("flaky")
    layer = img.layers[0].blob
    with FakeServer() as srv:
        reg = FakeRegistry(srv, img, auth=None)
        srv.routes[reg.blob_path(layer.digest)] = flaky(2, 503, ok(layer.data))
        srv.routes["/v2/t/x/manifests/1"] = flaky(
            1, 500, ok(img.manifest.data, img.manifest.media_type))
        p = fetch(fetch_tool, home, "-P", reg.ref(), "-b", "%s=%s" % (layer.digest, tmp_path / "l"))
        assert p.returncode == 0, p.stderr
        assert len(srv.hits(reg.blob_path(layer.digest))) == 3
        assert len(srv.hits("/v2/t/x/manifests/1")) == 2
    assert (tmp_path / "l").read_bytes() == layer.data


def test_5xx_gives_up_after_three_tries(fetch_tool, home):
    img = small_image("down")
    layer = img.layers[0].blob
    with FakeServer() as srv:
        reg = FakeRegistry(srv, img, auth=None)
        srv.routes[reg.blob_path(layer.digest)] = flaky(99, 500, ok(b""))
        t = time.monotonic()
        p = fetch(fetch_tool, home, "-P", reg.ref(), "-b", layer.digest + "=/dev/null")
        took = time.monotonic() - t
        assert len(srv.hits(reg.blob_path(layer.digest))) == 3
    assert p.returncode == 1
    assert "network error: blob %s of t/x: HTTP 500: UNAVAILABLE: try later" % layer.digest \
        in p.stderr
    assert took < 5  # bounded backoff


def test_429_waits_for_retry_after(fetch_tool, home):
    img = small_image("busy")
    with FakeServer() as srv:
        reg = FakeRegistry(srv, img, auth=None)
        srv.routes["/v2/t/x/manifests/1"] = flaky(
            1, 429, ok(img.manifest.data, img.manifest.media_type), {"Retry-After": "1"})
        t = time.monotonic()
        p = fetch(fetch_tool, home, "-P", reg.ref())
        took = time.monotonic() - t
    assert p.returncode == 0, p.stderr
    assert took >= 0.9


def test_4xx_is_not_retried(fetch_tool, home):
    img = small_image("forbidden")
    with FakeServer() as srv:
        reg = FakeRegistry(srv, img, auth=None)
        srv.routes["/v2/t/x/manifests/1"] = lambda req: (
            403, {"Content-Type": "application/json"},
            b'{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}')
        p = fetch(fetch_tool, home, "-P", reg.ref())
        assert len(srv.hits("/v2/t/x/manifests/1")) == 1
    assert p.returncode == 1
    assert "invalid input: access denied to manifest" in p.stderr
    assert "HTTP 403: DENIED: requested access to the resource is denied" in p.stderr


def test_wrong_bytes_are_caught(fetch_tool, home):
    img = small_image("evil")
    layer = img.layers[0].blob
    with FakeServer() as srv:
        reg = FakeRegistry(srv, img, auth=None)
        srv.routes[reg.blob_path(layer.digest)] = ok(layer.data + b"x")
        srv.routes[reg.blob_path(img.config.digest)] = ok(img.config.data[:-1])
        srv.routes["/v2/t/x/manifests/" + img.digest] = ok(img.manifest.data + b" ",
                                                           img.manifest.media_type)
        # A streamed blob: the consumer (here the tool, as the layer
        # reader will) finds the mismatch.
        p = fetch(fetch_tool, home, "-P", reg.ref(), "-b", layer.digest + "=/dev/null")
        assert p.returncode == 1 and "the bytes received have digest" in p.stderr
        # A whole blob and a manifest by digest are checked by the client.
        p = fetch(fetch_tool, home, "-P", reg.ref(), "-c", img.config.digest + "=/dev/null")
        assert p.returncode == 1
        assert "invalid input: blob %s of t/x: the bytes received do not match" \
            % img.config.digest in p.stderr
        p = fetch(fetch_tool, home, "-P", reg.ref("1@" + img.digest))
        assert p.returncode == 1 and "do not match the digest" in p.stderr
        # By tag, the registry's Docker-Content-Digest is held to its word.
        srv.routes["/v2/t/x/manifests/1"] = ok(
            img.manifest.data + b" ", img.manifest.media_type,
            **{"Docker-Content-Digest": img.digest})
        p = fetch(fetch_tool, home, "-P", reg.ref())
        assert p.returncode == 1 and "do not match Docker-Content-Digest" in p.stderr


def test_manifest_size_cap(fetch_tool, home):
    img = small_image("huge")
    with FakeServer() as srv:
        reg = FakeRegistry(srv, img, auth=None)
        srv.routes["/v2/t/x/manifests/1"] = ok(b" " * (5 << 20), images.OCI_MANIFEST)
        p = fetch(fetch_tool, home, "-P", reg.ref())
    assert p.returncode == 1
    assert "limit exceeded: manifest 127.0.0.1:%d/t/x:1: larger than 4194304 bytes" \
        % srv.port in p.stderr


def test_generic_content_type_is_left_to_sniffing(fetch_tool, home):
    img = small_image("ctype")
    with FakeServer() as srv:
        reg = FakeRegistry(srv, img, auth=None)
        srv.routes["/v2/t/x/manifests/1"] = ok(img.manifest.data,
                                               "application/json; charset=utf-8")
        p = fetch(fetch_tool, home, "-P", reg.ref())
    assert p.returncode == 0, p.stderr
    assert manifest_lines(p.stdout)[0][0] == "-"


class FakeTokenRegistry:
    """Bearer auth with a token server on the same fake: counts tokens, and
    can revoke the tokens handed out so far (a token expiring early)."""

    def __init__(self, srv, img, repo="t/x"):
        self.srv, self.issued, self.valid = srv, [], set()
        realm = "http://127.0.0.1:%d/token" % srv.port
        challenge = 'Bearer realm="%s",service="fake"' % realm
        self.ok_reg = FakeRegistry(srv, img, repo, auth=None)
        for path, fn in list(srv.routes.items()):
            srv.routes[path] = self.guard(fn, challenge, path != "/v2/", repo)
        srv.routes["/token"] = self.token

    def token(self, req):
        t = "tok%d" % len(self.issued)
        self.issued.append(req["path"])
        self.valid.add(t)
        return 200, {"Content-Type": "application/json"}, \
            json.dumps({"access_token": t, "expires_in": 300}).encode()

    def guard(self, fn, challenge, scoped, repo):
        def route(req):
            auth = req["headers"].get("authorization", "")
            if not (auth.startswith("Bearer ") and auth[7:] in self.valid):
                c = challenge + (',scope="repository:%s:pull"' % repo if scoped else "")
                return 401, {"WWW-Authenticate": c, "Content-Type": "application/json"}, \
                    b'{"errors":[{"code":"UNAUTHORIZED","message":"token please"}]}'
            return fn(req)
        return route


def test_bearer_tokens_are_cached_and_renewed_once(fetch_tool, home):
    img = small_image("bearer")
    with FakeServer() as srv:
        fake = FakeTokenRegistry(srv, img)
        args = ["-P", fake.ok_reg.ref(), "-m", img.digest]
        for b in img.blobs():
            args += ["-b", b.digest + "=/dev/null", "-c", b.digest + "=/dev/null"]
        p = fetch(fetch_tool, home, *args)
        assert p.returncode == 0, p.stderr
        # One token for the repository's pull scope served every request.
        assert len(fake.issued) == 1
        assert "service=fake" in fake.issued[0]
        assert "scope=repository%3At%2Fx%3Apull" in fake.issued[0]

        # A token refused mid-way is renewed once, and the request retried.
        orig = srv.routes["/v2/t/x/manifests/1"]
        revoked = []

        def revoke_then_serve(req):
            if not revoked:
                revoked.append(1)
                fake.valid.clear()
            return orig(req)
        srv.routes["/v2/t/x/manifests/1"] = revoke_then_serve
        fake.issued.clear()
        p = fetch(fetch_tool, home, "-P", fake.ok_reg.ref(),
                  "-b", img.layers[0].blob.digest + "=/dev/null")
        assert p.returncode == 0, p.stderr
        assert len(fake.issued) == 2

        # A registry that keeps refusing gets one retry, not a loop.
        fake.valid = type("Never", (), {"__contains__": lambda s, x: False,
                                         "add": lambda s, x: None})()
        fake.issued.clear()
        p = fetch(fetch_tool, home, "-P", fake.ok_reg.ref())
        assert p.returncode == 1
        assert "HTTP 401: UNAUTHORIZED: token please" in p.stderr
        assert len(fake.issued) <= 3


def test_malformed_challenge_is_reported(fetch_tool, home):
    img = small_image("badchal")
    with FakeServer() as srv:
        FakeRegistry(srv, img, auth=None)
        srv.routes["/v2/"] = lambda req: (401, {"WWW-Authenticate": 'Bearer realm="unterminated'}, b"")
        p = fetch(fetch_tool, home, "-P", "127.0.0.1:%d/t/x:1" % srv.port)
    assert p.returncode == 1
    assert "malformed WWW-Authenticate header: unterminated quoted string" in p.stderr
