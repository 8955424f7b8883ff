"""Klar compatibility (issue #6, docs/klar.md): `clarion klar` (run through
the `klar` link, as CI jobs call it) against `clarion serve`'s legacy API
v1, with a real docker-registry behind token auth holding Docker schema 2
images (what Klar 2.4.0 asks for) and real feed files on loopback.

The expected terminal output is reference/klar.md §6 byte for byte; the
raw HTTP checks send what Klar sends (klar.md §5: the POST body shape,
`?vulnerabilities` alone, 128-hex names, a `//v1` path).

Fixture data (see test_serve.py for where each comes from):
  Debian 10: libjs-prototype 1.6.0-1  CVE-2008-7220 fixed 1.6.0.2-1  High
             backupninja 0.8-1        CVE-2005-3111 fixed 0.8-2      Medium
             chromium 90.0.4430.212-1~deb10u1 CVE-2022-0456 no fix Unknown
  Alpine 3.11: xen 4.7.1-r4  XSA-207 and CVE-2017-8904 (fixed)
"""
import base64
import gzip
import hashlib
import io
import json
import os
import socket
import subprocess
import tarfile

import pytest

from conftest import run
from harness import images
from harness.clarion import clean_env
from harness.feeds import FeedServer
from harness.registry import Registry, free_port
from harness.server import ClarionServer
from test_serve import ALPINE_LAYER, DEBIAN_LAYER, serve_feeds

# Docker's well-known empty layer: the gzip of an empty tar that Docker
# writes for metadata-only steps; Klar drops it before talking to Clair.
EMPTY_LAYER_GZ = bytes.fromhex(
    "1f8b080000096e8800ff621805a360148c5800080000ffff2eafb5ef00040000")
EMPTY_LAYER_DIGEST = \
    "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4"

DASHES = "-" * 41
BANNER = "clair timeout 1m0s\ndocker timeout: 1m0s\nno whitelist file\n"


def klar_path(clarion):
    path = os.path.join(os.path.dirname(clarion), "klar")
    if not os.path.exists(path):
        os.symlink("clarion", path)
    return path


def empty_layer():
    blob = images.Blob(EMPTY_LAYER_GZ, images.DOCKER_LAYER["gzip"])
    assert blob.digest == EMPTY_LAYER_DIGEST
    return images.Layer(gzip.decompress(EMPTY_LAYER_GZ), blob)


def docker_image(layers):
    """A Docker schema 2 image of the given harness Layers."""
    cfg = {"architecture": "amd64", "os": "linux",
           "rootfs": {"type": "layers", "diff_ids": [l.diff_id for l in layers]}}
    config = images.Blob(images.canonical_json(cfg), images.DOCKER_CONFIG)
    manifest = {"schemaVersion": 2, "mediaType": images.DOCKER_MANIFEST,
                "config": config.descriptor(),
                "layers": [l.blob.descriptor() for l in layers]}
    mblob = images.Blob(images.canonical_json(manifest), images.DOCKER_MANIFEST)
    return images.Image(layers, config, mblob,
                        {"architecture": "amd64", "os": "linux"}, "docker")


def with_empty_layer(img):
    """img with the well-known empty layer inserted after its base layer,
    as `docker build` does for an ENV step."""
    return docker_image(img.layers[:1] + [empty_layer()] + img.layers[1:])


@pytest.fixture(scope="module")
def kworld(tmp_path_factory):
    top = tmp_path_factory.mktemp("klar")
    with Registry(auth="token") as reg:
        user, password = reg.credentials()
        imgs = {}
        base = images.build_image([DEBIAN_LAYER, {"app/hello": b"hello\n"}],
                                  fmt="docker")
        imgs["deb"] = with_empty_layer(base)
        imgs["alpine"] = images.build_image([ALPINE_LAYER], fmt="docker")
        imgs["empty"] = images.build_image([{}], fmt="docker")
        imgs["onlyempty"] = docker_image([empty_layer()])
        # A manifest list: Debian for amd64, Alpine for arm64.
        imgs["multi"] = images.build_index([
            images.build_image([DEBIAN_LAYER], fmt="docker"),
            images.build_image([ALPINE_LAYER], arch="arm64", fmt="docker")])
        bad = b"this is not a gzip stream"
        imgs["bad"] = docker_image([images.Layer(bad, images.Blob(
            bad, images.DOCKER_LAYER["gzip"]))])
        # 20 layers: the parent chain is followed all the way down.
        deep = [DEBIAN_LAYER] + [{"layer/%02d" % i: b"%d\n" % i} for i in range(19)]
        imgs["deep"] = images.build_image(deep, fmt="docker")
        imgs["oci"] = images.build_image([DEBIAN_LAYER], fmt="oci")
        for name, img in imgs.items():
            images.push(reg, "test/" + name, "1", img, auth=(user, password))
        fs = FeedServer(top / "feeds").start()
        updaters = serve_feeds(fs)
        env = clean_env(top / "home")
        yield {"registry": reg, "user": user, "password": password,
               "images": imgs, "fs": fs, "updaters": updaters, "env": env,
               "top": top}
        fs.stop()


@pytest.fixture(scope="module")
def srv(clarion, kworld):
    cfg = {"updaters": kworld["updaters"],
           "matcher": {"period": "1h", "index_poll": "500ms"}, "log_level": "info"}
    s = ClarionServer(clarion, kworld["top"] / "srv", str(kworld["top"] / "clarion.db"),
                      config=cfg, env=kworld["env"])
    with s:
        yield s


def klar(clarion, kworld, srv, image, **env):
    e = dict(kworld["env"])
    for k in list(e):
        if k.startswith(("CLAIR_", "DOCKER_", "KLAR_")) or k in (
                "FORMAT_OUTPUT", "JSON_OUTPUT", "WHITELIST_FILE", "IGNORE_UNFIXED",
                "REGISTRY_INSECURE"):
            del e[k]
    e.update({"CLAIR_ADDR": "127.0.0.1:%d" % srv.port if srv else "",
              "REGISTRY_INSECURE": "true",
              "DOCKER_USER": kworld["user"], "DOCKER_PASSWORD": kworld["password"]})
    e.update({k: v for k, v in env.items() if v is not None})
    for k, v in env.items():
        if v is None:
            e.pop(k, None)
    ref = image if "/" in image and "." in image.split("/")[0] else \
        "%s/%s" % (kworld["registry"].addr, image)
    return run([klar_path(clarion), ref], env=e)



def addr(kworld):
    return kworld["registry"].addr


def reg_base(kworld, repo):
    return "http://%s/v2/%s" % (addr(kworld), repo)


# ---- the Debian image: the three formats ---------------------------------------

DEB_HEAD = ("Analysing 3 layers\nGot results from Clair API v1\n"
            "Found 3 vulnerabilities\nUnknown: 1\nMedium: 1\nHigh: 1\n\n")

BLOCK_CHROMIUM = (
    "CVE-2022-0456: [Unknown] \nFound in: chromium [90.0.4430.212-1~deb10u1]\n"
    "Fixed By: \n\nhttps://security-tracker.debian.org/tracker/CVE-2022-0456\n"
    + DASHES + "\n")
BLOCK_BACKUPNINJA = (
    "CVE-2005-3111: [Medium] \nFound in: backupninja [0.8-1]\nFixed By: 0.8-2\n"
    "The handler code for backupninja 0.8 and earlier creates temporary files "
    "with predictable filenames, which allows local users to modify arbitrary "
    "files via a symlink attack.\n"
    "https://security-tracker.debian.org/tracker/CVE-2005-3111\n" + DASHES + "\n")
PROTOTYPE_DESC = (
    "Unspecified vulnerability in Prototype JavaScript framework (prototypejs) "
    "before 1.6.0.2 allows attackers to make \"cross-site ajax requests\" via "
    "unknown vectors.")
BLOCK_PROTOTYPE = (
    "CVE-2008-7220: [High] \nFound in: libjs-prototype [1.6.0-1]\n"
    "Fixed By: 1.6.0.2-1\n" + PROTOTYPE_DESC + "\n"
    "https://security-tracker.debian.org/tracker/CVE-2008-7220\n" + DASHES + "\n")


def test_standard_format_and_default_threshold(clarion, kworld, srv):
    p = klar(clarion, kworld, srv, "test/deb:1")
    assert p.stderr == BANNER
    # Low to high; the empty layer is counted in "Analysing" only.
    assert p.stdout == DEB_HEAD + BLOCK_CHROMIUM + BLOCK_BACKUPNINJA + BLOCK_PROTOTYPE
    # Defaults: CLAIR_OUTPUT=Unknown, CLAIR_THRESHOLD=0: anything found is 1.
    assert p.returncode == 1


def test_clair_output_and_thresholds(clarion, kworld, srv):
    # Case-insensitive level; shown from Medium up; counted 2.
    p = klar(clarion, kworld, srv, "test/deb:1", CLAIR_OUTPUT="mEDIUM",
             CLAIR_THRESHOLD="2")
    assert p.stdout == DEB_HEAD + BLOCK_BACKUPNINJA + BLOCK_PROTOTYPE
    assert p.returncode == 0
    p = klar(clarion, kworld, srv, "test/deb:1", CLAIR_OUTPUT="Medium",
             CLAIR_THRESHOLD="1")
    assert p.returncode == 1
    # Nothing at or above Critical: count lines still list every severity.
    p = klar(clarion, kworld, srv, "test/deb:1", CLAIR_OUTPUT="Critical")
    assert p.stdout == DEB_HEAD and p.returncode == 0
    # A threshold that is not a number is 0 (Go's Atoi error ignored).
    p = klar(clarion, kworld, srv, "test/deb:1", CLAIR_OUTPUT="High",
             CLAIR_THRESHOLD="many")
    assert p.returncode == 1


def test_ignore_unfixed(clarion, kworld, srv):
    # Chromium's CVE has no fix: shown but not counted.
    p = klar(clarion, kworld, srv, "test/deb:1", IGNORE_UNFIXED="true",
             CLAIR_THRESHOLD="2")
    assert BLOCK_CHROMIUM in p.stdout and p.returncode == 0
    p = klar(clarion, kworld, srv, "test/deb:1", IGNORE_UNFIXED="true",
             CLAIR_THRESHOLD="1")
    assert p.returncode == 1
    # "yes" is not a Go boolean: false, so all three count.
    p = klar(clarion, kworld, srv, "test/deb:1", IGNORE_UNFIXED="yes",
             CLAIR_THRESHOLD="2")
    assert p.returncode == 1


def test_whitelist(clarion, kworld, srv, tmp_path):
    wl = tmp_path / "whitelist.yaml"
    wl.write_text("general:\n  - CVE-2022-0456\nimages:\n  test/deb:\n"
                  "    - CVE-2005-3111\n  test/other:\n    - CVE-2008-7220\n"
                  "unknown_key: 1\n")
    p = klar(clarion, kworld, srv, "test/deb:1", WHITELIST_FILE=str(wl))
    assert p.stderr == ("clair timeout 1m0s\ndocker timeout: 1m0s\n"
                        "whitelist file: %s\n" % wl)
    assert p.stdout == ("Analysing 3 layers\nGot results from Clair API v1\n"
                        "Whitelisted 2 vulnerabilities\nFound 1 vulnerabilities\n"
                        "High: 1\n\n" + BLOCK_PROTOTYPE)
    assert p.returncode == 1
    # Matching is exact and case-sensitive.
    wl.write_text("general:\n  - cve-2008-7220\n")
    p = klar(clarion, kworld, srv, "test/deb:1", WHITELIST_FILE=str(wl))
    assert "Whitelisted" not in p.stdout and "Found 3 vulnerabilities" in p.stdout
    # Unreadable and malformed files are errors.
    p = klar(clarion, kworld, srv, "test/deb:1",
             WHITELIST_FILE=str(tmp_path / "missing.yaml"))
    assert p.returncode == 2
    assert ("Could not parse whitelist file: could not read file open %s: "
            "No such file or directory\n" % (tmp_path / "missing.yaml")) in p.stderr
    wl.write_text("general: [unclosed\n")
    p = klar(clarion, kworld, srv, "test/deb:1", WHITELIST_FILE=str(wl))
    assert p.returncode == 2 and "Could not parse whitelist file: could not unmarshal" \
        in p.stderr


def test_json_format(clarion, kworld, srv):
    for env in ({"FORMAT_OUTPUT": "JSON"}, {"JSON_OUTPUT": "true", "FORMAT_OUTPUT": "table"}):
        p = klar(clarion, kworld, srv, "test/deb:1", CLAIR_OUTPUT="Medium", **env)
        assert p.stderr == ""  # no banner in JSON mode
        assert p.stdout.count("\n") == 1 and p.stdout.endswith("}\n")
        assert p.stdout.startswith('{"LayerCount":3,"Vulnerabilities":{"High":[{"Name":'
                                   '"CVE-2008-7220","NamespaceName":"debian:10",')
        doc = json.loads(p.stdout)
        assert list(doc["Vulnerabilities"]) == ["High", "Medium"]  # sorted keys
        v = doc["Vulnerabilities"]["High"][0]
        assert list(v) == ["Name", "NamespaceName", "Description", "Link", "Severity",
                           "FixedBy", "FeatureName", "FeatureVersion"]
        assert v["FixedBy"] == "1.6.0.2-1" and v["FeatureName"] == "libjs-prototype"
        # Go's encoder escapes HTML characters; the quotes stay escaped.
        assert '\\"cross-site ajax requests\\"' in p.stdout
        assert p.returncode == 1
    p = klar(clarion, kworld, srv, "test/deb:1", FORMAT_OUTPUT="json",
             CLAIR_OUTPUT="Defcon1")
    assert p.stdout == '{"LayerCount":3,"Vulnerabilities":{}}\n' and p.returncode == 0


def display(s):
    import re
    return len(re.sub("\x1b\\[[0-9;]*m", "", s))


def test_table_format(clarion, kworld, srv):
    p = klar(clarion, kworld, srv, "test/deb:1", FORMAT_OUTPUT="Table",
             CLAIR_OUTPUT="High")
    assert p.stdout.startswith(DEB_HEAD)
    table = p.stdout[len(DEB_HEAD):].splitlines()
    rule = ("+" + "-" * 10 + "+" + "-" * 15 + "+" + "-" * 17 + "+" + "-" * 16 + "+"
            + "-" * 11 + "+" + "-" * 32 + "+" + "-" * 59 + "+")
    assert table[0] == rule and table[2] == rule and table[-1] == rule
    assert table[1] == ("| SEVERITY | NAME          | FEATURENAME     | FEATUREVERSION "
                        "| FIXEDBY   | DESCRIPTION                    | LINK" + " " * 54 + "|")
    assert table[3] == ("| \x1b[0;31mHigh\x1b[0m     | CVE-2008-7220 | libjs-prototype "
                        "| 1.6.0-1        | 1.6.0.2-1 | Unspecified vulnerability in   "
                        "| https://security-tracker.debian.org/tracker/CVE-2008-7220 |")
    rows = table[3:-1]
    assert all(display(r) == len(rule) for r in rows)
    # The description, wrapped at 30 columns, reads back as the original.
    desc = " ".join(r.split("|")[6].strip() for r in rows)
    assert desc == PROTOTYPE_DESC
    assert all(len(r.split("|")[6]) == 32 for r in rows)
    assert p.returncode == 1
    # Nothing shown: no table at all.
    p = klar(clarion, kworld, srv, "test/deb:1", FORMAT_OUTPUT="table",
             CLAIR_OUTPUT="Critical")
    assert p.stdout == DEB_HEAD and p.returncode == 0


def test_other_images(clarion, kworld, srv):
    # Alpine's secdb gives no severities: all Unknown, shown by default.
    p = klar(clarion, kworld, srv, "test/alpine:1", CLAIR_THRESHOLD="1000")
    assert p.returncode == 0
    assert p.stdout.startswith("Analysing 1 layers\nGot results from Clair API v1\n")
    assert ("CVE-2017-8904: [Unknown] \nFound in: xen [4.7.1-r4]\n"
            "Fixed By: 4.8.1-r2\n") in p.stdout
    # Twenty layers: the features of the base layer reach the top one.
    p = klar(clarion, kworld, srv, "test/deep:1", CLAIR_OUTPUT="High")
    assert p.stdout == ("Analysing 20 layers\nGot results from Clair API v1\n"
                        "Found 3 vulnerabilities\nUnknown: 1\nMedium: 1\nHigh: 1\n\n"
                        + BLOCK_PROTOTYPE)
    # An image with no packages: nothing found, exit 0.
    p = klar(clarion, kworld, srv, "test/empty:1")
    assert p.stdout == ("Analysing 1 layers\nGot results from Clair API v1\n"
                        "Found 0 vulnerabilities\n\n") and p.returncode == 0
    # Only Docker's empty layer: Clair is not called, and that counts as a
    # result from API v1 (klar.md §5; the typo is Klar's).
    p = klar(clarion, kworld, srv, "test/onlyempty:1")
    assert p.stdout == ("Analysing 1 layers\nGot results from Clair API v1\n"
                        "Found 0 vulnerabilities\n\n") and p.returncode == 0
    assert p.stderr == BANNER + (
        "no need to analyse image http://%s/v2/test/onlyempty:1 as there is no "
        "non-emtpy layer\n" % addr(kworld))
    # Beyond Klar 2.4.0: an OCI manifest is read too.
    p = klar(clarion, kworld, srv, "test/oci:1", CLAIR_OUTPUT="High")
    assert p.stdout.endswith(BLOCK_PROTOTYPE) and p.returncode == 1


def test_beyond_klar_and_credentials(clarion, kworld, srv):
    # A manifest list, resolved by DOCKER_PLATFORM_OS/ARCH (klar master).
    p = klar(clarion, kworld, srv, "test/multi:1", CLAIR_OUTPUT="High")
    assert p.stdout.endswith(BLOCK_PROTOTYPE) and p.returncode == 1
    p = klar(clarion, kworld, srv, "test/multi:1", DOCKER_PLATFORM_ARCH="arm64",
             CLAIR_THRESHOLD="1000")
    assert "Found in: xen [4.7.1-r4]" in p.stdout and p.returncode == 0
    p = klar(clarion, kworld, srv, "test/multi:1", DOCKER_PLATFORM_ARCH="s390x")
    assert p.returncode == 2 and p.stderr.endswith(
        "Can't pull image: Did not find the specified platform (os: linux, "
        "arch: s390x) in the manifest list.\n")
    # DOCKER_TOKEN is a ready "Basic" value for Basic-auth registries.  With
    # token auth Klar asks the token server without credentials (it has no
    # DOCKER_USER to send), which this one refuses: Klar's failure, kept.
    token = base64.b64encode(("%s:%s" % (kworld["user"], kworld["password"]))
                             .encode()).decode()
    p = klar(clarion, kworld, srv, "test/deb:1", DOCKER_USER=None,
             DOCKER_PASSWORD=None, DOCKER_TOKEN=token, CLAIR_OUTPUT="High")
    assert (p.returncode, p.stderr) == (
        2, BANNER + "Can't pull image: Token request returned 401\n")
    # KLAR_TRACE: every exchange on stderr, Klar's v1 body included.
    p = klar(clarion, kworld, srv, "test/deb:1", KLAR_TRACE="false",
             FORMAT_OUTPUT="json")
    assert "GET /v2/test/deb/manifests/1 HTTP/1.1" in p.stderr
    assert '"Format":"Docker","Features":null,"Headers":{"Authorization":"Bearer ' \
        in p.stderr
    assert "?vulnerabilities HTTP/1.1" in p.stderr
    assert p.stdout.startswith('{"LayerCount":3,')


def test_addresses(clarion, kworld, srv):
    # A trailing slash gives //v1/layers (klar.md §4): accepted.
    for a in ("http://127.0.0.1:%d/" % srv.port, "http://127.0.0.1:%d" % srv.port):
        p = klar(clarion, kworld, srv, "test/deb:1", CLAIR_ADDR=a, CLAIR_OUTPUT="High")
        assert p.stdout.endswith(BLOCK_PROTOTYPE), p.stderr


# ---- errors: exit 2 and Klar's messages ------------------------------------------

def test_usage_errors(clarion, kworld, srv):
    k = klar_path(clarion)
    p = run([k], env=kworld["env"])
    assert (p.returncode, p.stdout, p.stderr) == (2, "", "Image name must be provided\n")
    p = run([k, "a", "b"], env=kworld["env"])
    assert p.returncode == 2 and p.stderr == "Image name must be provided\n"
    p = klar(clarion, kworld, srv, "test/deb:1", CLAIR_ADDR=None)
    assert (p.returncode, p.stderr) == (
        2, "Invalid options: Clair address must be provided\n\n")
    p = klar(clarion, kworld, srv, "test/deb:1", CLAIR_OUTPUT="foo")
    assert (p.returncode, p.stderr) == (
        2, "Invalid options: Clair output level foo is not supported, only support "
           "[Unknown Negligible Low Medium High Critical Defcon1]\n\n")
    p = klar(clarion, kworld, srv, "test/deb:1", FORMAT_OUTPUT="xml")
    assert (p.returncode, p.stderr) == (
        2, "Invalid options: Format type xml is not supported, only support "
           "[standard json table]\n\n")
    # `clarion klar` is the same command.
    p = run([clarion, "klar"], env=kworld["env"])
    assert p.returncode == 2 and p.stderr == "Image name must be provided\n"


def test_registry_errors(clarion, kworld, srv):
    port = free_port()
    p = klar(clarion, kworld, srv, "127.0.0.1:%d/some/image" % port)
    assert p.returncode == 2
    assert p.stderr == BANNER + (
        'Get error\nCan\'t pull image: Get "http://127.0.0.1:%d/v2/some/image/'
        'manifests/latest": dial tcp 127.0.0.1:%d: connect: connection refused\n'
        % (port, port))
    # An unknown image: the registry's 404 JSON is decoded as schema 1,
    # which has no layers.
    p = klar(clarion, kworld, srv, "test/nothing:1")
    assert p.returncode == 2 and p.stderr == BANNER + "Can't pull fsLayers\n"
    # Wrong credentials: the token server refuses.
    p = klar(clarion, kworld, srv, "test/deb:1", DOCKER_PASSWORD="wrong")
    assert p.returncode == 2 and "Can't pull image: Token request returned 401" in p.stderr


def test_server_errors(clarion, kworld, srv):
    port = free_port()
    p = klar(clarion, kworld, srv, "test/deb:1", CLAIR_ADDR="127.0.0.1:%d" % port)
    assert p.returncode == 2
    image = "http://%s/v2/test/deb:1" % addr(kworld)
    assert p.stdout == "Analysing 3 layers\n"
    assert p.stderr == BANNER + (
        "Failed to analyze using API v1: push image %s to Clair failed: can't push "
        "layer to Clair: Post \"http://127.0.0.1:%d/v1/layers\": dial tcp "
        "127.0.0.1:%d: connect: connection refused\n\n"
        "Failed to analyze using API v3: push image %s to Clair failed: rpc error: "
        "code = Unavailable desc = all SubConns are in TransientFailure\n\n"
        "Failed to analyze, exiting\n" % (image, port, port, image))
    # The server cannot read the layer: Klar shows its answer verbatim.
    p = klar(clarion, kworld, srv, "test/bad:1")
    image = "http://%s/v2/test/bad:1" % addr(kworld)
    assert p.returncode == 2 and p.stdout == "Analysing 1 layers\n"
    head = ("Failed to analyze using API v1: push image %s to Clair failed: "
            "push error 422: {\"Error\":{\"Message\":\"could not process layer: "
            % image)
    assert p.stderr.startswith(BANNER + head), p.stderr
    # The body ends in the newline of Go's json.Encoder, as Clair v2's
    # did; then the error's own "\n" and Klar's Printf's.
    assert p.stderr.endswith(
        "}}\n\n\nFailed to analyze using API v3: push image %s to Clair failed: "
        "rpc error: code = Unavailable desc = transport is closing\n\n"
        "Failed to analyze, exiting\n" % image)


# ---- the legacy API v1, raw, the way Klar calls it ----------------------------------

def v1_body(name, path, parent="", auth=""):
    # klar.md §5: the body observed byte for byte apart from values.
    return ('{"Layer":{"Name":"%s","Path":"%s","ParentName":"%s","Format":"Docker",'
            '"Features":null,"Headers":{"Authorization":"%s"}}}'
            % (name, path, parent, auth)).encode()


def test_v1_routes(clarion, kworld, tmp_path, db):
    """A server of its own (a fresh database, SQLite and PostgreSQL), then
    the routes one by one with the bodies Klar sends."""
    cfg = {"updaters": kworld["updaters"],
           "matcher": {"period": "1h", "index_poll": "500ms"}}
    img = kworld["images"]["deep"]
    # The registry needs a token: get one the way Klar does (Basic to the
    # token server).
    reg = kworld["registry"]
    c = images.client_for(reg)
    auth = c._token({"realm": reg.token.url, "service": reg.token.service},
                    "repository:test/deep:pull")
    cfg_hex = img.config.digest.split(":")[1]
    names = [cfg_hex + l.blob.digest.split(":")[1] for l in img.layers]
    with ClarionServer(clarion, tmp_path, db, config=cfg, env=kworld["env"]) as s:
        hdr = {"Content-Type": "application/json"}
        # Unknown parent: 400 with Clair's envelope.
        st, h, raw = s.request("POST", "/v1/layers", v1_body(
            names[1], "%s/blobs/%s" % (reg_base(kworld, "test/deep"),
                                       img.layers[1].blob.digest), names[0], auth),
            headers=hdr)
        assert st == 400
        assert json.loads(raw)["Error"]["Message"].endswith(
            "parent layer is unknown, it must be processed first")
        assert h["content-type"] == "application/json;charset=utf-8"
        assert h["server"] == "clair"
        # Twenty layers base first, each twice: 201 every time.  The
        # leading "//" of a CLAIR_ADDR with a trailing slash works.
        for i, l in enumerate(img.layers):
            path = "%s/blobs/%s" % (reg_base(kworld, "test/deep"), l.blob.digest)
            for attempt in range(2):
                st, _, raw = s.request("POST", "//v1/layers" if i % 2 else "/v1/layers",
                                       v1_body(names[i], path,
                                               names[i - 1] if i else "", auth),
                                       headers=hdr)
                assert st == 201, raw
                got = json.loads(raw)["Layer"]
                assert got["Name"] == names[i] and got["IndexedByVersion"] == 3
                assert len(names[i]) == 128
        # Only ?vulnerabilities: features come with it, of the whole chain.
        st, _, raw = s.request("GET", "/v1/layers/%s?vulnerabilities" % names[-1])
        assert st == 200
        layer = json.loads(raw)["Layer"]
        assert layer["Name"] == names[-1] and layer["ParentName"] == names[-2]
        assert layer["NamespaceName"] == "debian:10"
        feats = {f["Name"]: f for f in layer["Features"]}
        assert feats["libjs-prototype"]["Version"] == "1.6.0-1"
        assert feats["libjs-prototype"]["VersionFormat"] == "dpkg"
        assert feats["libjs-prototype"]["AddedBy"] == names[0]
        v = feats["libjs-prototype"]["Vulnerabilities"][0]
        assert v["Name"] == "CVE-2008-7220" and v["Severity"] == "High"
        assert v["FixedBy"] == "1.6.0.2-1" and v["NamespaceName"] == "debian:10"
        assert "FixedBy" not in feats["chromium"]["Vulnerabilities"][0]
        # ?features alone: no vulnerabilities; neither: no features.
        layer = s.json("GET", "/v1/layers/%s?features" % names[5])["Layer"]
        assert "libjs-prototype" in [f["Name"] for f in layer["Features"]]
        assert all("Vulnerabilities" not in f for f in layer["Features"])
        assert "Features" not in s.json("GET", "/v1/layers/%s" % names[5])["Layer"]
        # Namespaces and their vulnerabilities.
        nss = s.json("GET", "/v1/namespaces")["Namespaces"]
        assert {"Name": "debian:10", "VersionFormat": "dpkg"} in nss
        st, _, raw = s.request("GET", "/v1/namespaces/debian:10/vulnerabilities")
        assert st == 400  # limit is required
        page = s.json("GET", "/v1/namespaces/debian:10/vulnerabilities?limit=2")
        assert len(page["Vulnerabilities"]) == 2 and page["NextPage"]
        seen = [x["Name"] for x in page["Vulnerabilities"]]
        while "NextPage" in page:
            page = s.json("GET", "/v1/namespaces/debian:10/vulnerabilities?limit=2&page="
                          + page["NextPage"])
            seen += [x["Name"] for x in page["Vulnerabilities"]]
        assert "CVE-2008-7220" in seen and seen == sorted(seen)
        # FixedIn only with ?fixedIn (Clair v2's getVulnerability).
        one = s.json("GET", "/v1/namespaces/debian:10/vulnerabilities/CVE-2008-7220")
        assert "FixedIn" not in one["Vulnerability"]
        one = s.json("GET",
                     "/v1/namespaces/debian:10/vulnerabilities/CVE-2008-7220?fixedIn")
        fixed = one["Vulnerability"]["FixedIn"]
        assert {"Name": "prototypejs", "NamespaceName": "debian:10",
                "VersionFormat": "dpkg", "Version": "1.6.0.2-1"} in fixed
        st, _, _ = s.request("GET", "/v1/namespaces/nowhere:1/vulnerabilities?limit=1")
        assert st == 404
        # DELETE takes the descendants with it.
        st, _, _ = s.request("DELETE", "/v1/layers/%s" % names[10])
        assert st == 200
        st, _, raw = s.request("GET", "/v1/layers/%s" % names[15])
        assert st == 404 and json.loads(raw) == {
            "Error": {"Message": "the resource cannot be found"}}
        assert s.json("GET", "/v1/layers/%s" % names[9])["Layer"]["Name"] == names[9]
        st, _, _ = s.request("DELETE", "/v1/layers/%s" % names[10])
        assert st == 404
        # Bad bodies.
        st, _, raw = s.request("POST", "/v1/layers", b"{", headers=hdr)
        assert st == 400 and "Error" in json.loads(raw)
        st, _, raw = s.request("POST", "/v1/layers", b'{"Layer":{"Name":"x"}}',
                               headers=hdr)
        assert st == 400


def go_json_str(s):
    """A string as Go's encoding/json writes it (HTML-safe, '/' kept)."""
    out = json.dumps(s, ensure_ascii=False)
    for c, e in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                 ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        out = out.replace(c, e)
    return out


def test_json_format_exact_bytes(clarion, kworld, srv):
    """The whole JSON line, byte for byte: Go's field order (omitempty
    fields dropped, FeatureName/FeatureVersion always there), map keys
    sorted, HTML-safe escapes, '/' not escaped, one newline."""
    def vuln(name, desc, sev, fixed, feature, version):
        link = "https://security-tracker.debian.org/tracker/" + name
        return ('{"Name":%s,"NamespaceName":"debian:10","Description":%s,"Link":%s,'
                '"Severity":%s,"FixedBy":%s,"FeatureName":%s,"FeatureVersion":%s}'
                % tuple(go_json_str(x) for x in (name, desc, link, sev, fixed,
                                                  feature, version)))
    backupninja_desc = BLOCK_BACKUPNINJA.split("\n")[3]
    p = klar(clarion, kworld, srv, "test/deb:1", FORMAT_OUTPUT="json")
    assert p.stdout == (
        '{"LayerCount":3,"Vulnerabilities":{'
        '"High":[' + vuln("CVE-2008-7220", PROTOTYPE_DESC, "High", "1.6.0.2-1",
                          "libjs-prototype", "1.6.0-1") + '],'
        '"Medium":[' + vuln("CVE-2005-3111", backupninja_desc, "Medium", "0.8-2",
                            "backupninja", "0.8-1") + '],'
        # No Description (empty) and no FixedBy (unfixed): both left out.
        '"Unknown":[{"Name":"CVE-2022-0456","NamespaceName":"debian:10",'
        '"Link":"https://security-tracker.debian.org/tracker/CVE-2022-0456",'
        '"Severity":"Unknown","FeatureName":"chromium",'
        '"FeatureVersion":"90.0.4430.212-1~deb10u1"}]}}\n')
    assert p.stderr == "" and p.returncode == 1
    # Alpine: Clair v2's namespace spelling reaches Klar's JSON.
    p = klar(clarion, kworld, srv, "test/alpine:1", FORMAT_OUTPUT="json",
             CLAIR_THRESHOLD="1000")
    assert ('{"Name":"XSA-207","NamespaceName":"alpine:v3.11","Severity":"Unknown",'
            '"FixedBy":"4.7.1-r5","FeatureName":"xen","FeatureVersion":"4.7.1-r4"}'
            in p.stdout), p.stdout
    assert p.returncode == 0


def ordered(raw):
    """raw JSON with objects as lists of (key, value) pairs, in order."""
    return json.loads(raw, object_pairs_hook=lambda kv: kv)


def keys_in_go_order(pairs, fields):
    keys = [k for k, _ in pairs]
    assert keys == [f for f in fields if f in keys], keys
    return dict(pairs)


def test_v1_wire_format(clarion, kworld, srv):
    """Clair v2's bodies as its Go encoder wrote them: struct field order,
    omitempty, a final newline, HTML-safe escapes; its error texts; Alpine
    named and versioned as Clair v2 named it."""
    p = klar(clarion, kworld, srv, "test/deb:1")  # posts the layers
    assert p.returncode == 1
    img = kworld["images"]["deb"]
    cfg_hex = img.config.digest.split(":")[1]
    top = cfg_hex + img.layers[-1].blob.digest.split(":")[1]
    st, h, raw = srv.request("GET", "/v1/layers/%s?vulnerabilities" % top)
    assert st == 200 and raw.endswith(b"}}\n") and raw.count(b"\n") == 1
    assert h["content-type"] == "application/json;charset=utf-8"
    assert b"\\/" not in raw and b"https://security-tracker.debian.org/" in raw
    env = keys_in_go_order(ordered(raw), ["Layer", "Error"])
    layer = keys_in_go_order(env["Layer"], [
        "Name", "NamespaceName", "Path", "Headers", "ParentName", "Format",
        "IndexedByVersion", "Features"])
    assert layer["IndexedByVersion"] == 3 and layer["NamespaceName"] == "debian:10"
    seven = {"Unknown", "Negligible", "Low", "Medium", "High", "Critical", "Defcon1"}
    nvulns = 0
    for f in layer["Features"]:
        f = keys_in_go_order(f, ["Name", "NamespaceName", "VersionFormat", "Version",
                                 "Vulnerabilities", "AddedBy"])
        assert f["VersionFormat"] == "dpkg" and f["NamespaceName"] == "debian:10"
        for v in f.get("Vulnerabilities", []):
            v = keys_in_go_order(v, ["Name", "NamespaceName", "Description", "Link",
                                     "Severity", "Metadata", "FixedBy"])
            assert v["Severity"] in seven
            nvulns += 1
    assert nvulns == 3
    # Error envelopes, whole bodies.
    st, _, raw = srv.request("GET", "/v1/layers/%s?vulnerabilities" % ("0" * 128))
    assert (st, raw) == (404, b'{"Error":{"Message":"the resource cannot be found"}}\n')
    base = "/v1/namespaces/debian:10/vulnerabilities"
    for query, message in (
            ("", "must provide limit query parameter"),
            ("?limit=x", 'invalid limit format: strconv.Atoi: parsing \\"x\\": '
                         'invalid syntax'),
            ("?limit=", 'invalid limit format: strconv.Atoi: parsing \\"\\": '
                        'invalid syntax'),
            ("?limit=-1", "limit value should not be less than zero"),
            ("?limit=1&page=not-a-token",
             "invalid page format: invalid or expired pagination token")):
        st, _, raw = srv.request("GET", base + query)
        assert (st, raw) == (400, b'{"Error":{"Message":"%s"}}\n' % message.encode()), \
            (query, raw)
    # POST /v1/layers: worker.Process's checks, in its order and words.
    hdr = {"Content-Type": "application/json"}
    for body, message in (
            (b"{}", "failed to provide layer"),
            (b'{"Layer":{"Path":"p","Format":"Docker"}}',
             "could not process a layer which does not have a name"),
            (b'{"Layer":{"Name":"x"}}',
             "could not process a layer which does not have a path"),
            (b'{"Layer":{"Name":"x","Path":"p"}}',
             "could not process a layer which does not have a format"),
            (v1_body("x" * 128, "http://127.0.0.1:1/v2/a/blobs/sha256:" + "0" * 64,
                     "y" * 128), "worker: parent layer is unknown, it must be "
                                 "processed first")):
        st, _, raw = srv.request("POST", "/v1/layers", body, headers=hdr)
        assert (st, raw) == (400, b'{"Error":{"Message":"%s"}}\n' % message.encode())
    # An empty page: Clair v2's nil slice, null; the next page is the
    # first one.
    st, _, raw = srv.request("GET", base + "?limit=0")
    assert (st, raw) == (200, b'{"Vulnerabilities":null,"NextPage":"0"}\n')
    # A layer without packages: no Features key at all (omitempty).
    p = klar(clarion, kworld, srv, "test/empty:1")
    assert p.returncode == 0
    img = kworld["images"]["empty"]
    name = img.config.digest.split(":")[1] + img.layers[-1].blob.digest.split(":")[1]
    st, _, raw = srv.request("GET", "/v1/layers/%s?features&vulnerabilities" % name)
    assert st == 200 and [k for k, _ in ordered(raw)[0][1]] == [
        "Name", "IndexedByVersion"], raw
    # Alpine: "alpine:v3.11" and VersionFormat "dpkg", on every route.
    p = klar(clarion, kworld, srv, "test/alpine:1", CLAIR_THRESHOLD="1000")
    assert p.returncode == 0
    img = kworld["images"]["alpine"]
    name = img.config.digest.split(":")[1] + img.layers[-1].blob.digest.split(":")[1]
    layer = srv.json("GET", "/v1/layers/%s?features" % name)["Layer"]
    assert layer["NamespaceName"] == "alpine:v3.11"
    assert {(f["Name"], f["NamespaceName"], f["VersionFormat"])
            for f in layer["Features"] if f["Name"] == "xen"} == {
        ("xen", "alpine:v3.11", "dpkg")}
    nss = srv.json("GET", "/v1/namespaces")["Namespaces"]
    assert {"Name": "alpine:v3.11", "VersionFormat": "dpkg"} in nss
    assert not [n for n in nss if n["Name"].startswith("alpine:3")]
    one = srv.json("GET", "/v1/namespaces/alpine:v3.11/vulnerabilities/XSA-207?fixedIn")
    assert one["Vulnerability"]["NamespaceName"] == "alpine:v3.11"
    assert {"Name": "xen", "NamespaceName": "alpine:v3.11", "VersionFormat": "dpkg",
            "Version": "4.7.1-r5"} in one["Vulnerability"]["FixedIn"]
    st, _, _ = srv.request("GET", "/v1/namespaces/alpine:3.11/vulnerabilities?limit=1")
    assert st == 404


# ---- Clair v2's config.yaml: the lab's Secret --------------------------------------

def test_clair_v2_config(clarion, kworld, tmp_path):
    """`clarion serve -c config.yaml` with a Clair v2 file: the API on
    clair.api.port, GET /health on clair.api.healthport, and Klar works
    against it.  (The updaters block is clarion's, to stay on loopback.)"""
    import time
    import urllib.request
    port, health = free_port(), free_port()
    cfg = tmp_path / "config.yaml"
    pg = os.environ.get("CLARION_TEST_PG")
    if pg:
        # The libpq keyword form Clair v2 deployments use.
        from urllib.parse import urlsplit
        u = urlsplit(pg)
        source = "host=%s port=%d user=%s dbname=%s sslmode=disable " \
                 "statement_timeout=60000" % (u.hostname, u.port or 5432,
                                              u.username, u.path.lstrip("/"))
        if u.password:
            source += " password=%s" % u.password
    else:
        source = "host=unused"  # overridden by --db below
    updaters = json.dumps(kworld["updaters"])
    cfg.write_text(
        "clair:\n"
        "  database:\n    type: pgsql\n    options:\n"
        "      source: %s\n      cachesize: 16384\n"
        "  api:\n    port: %d\n    healthport: %d\n    timeout: 900s\n"
        "  updater:\n    interval: 2h\n"
        "  notifier:\n    attempts: 3\n    renotifyinterval: 2h\n"
        "    http:\n      endpoint: http://127.0.0.1:%d/notify\n"
        "updaters: %s\n" % (source, port, health, free_port(), updaters))
    args = [clarion, "serve", "-c", str(cfg)]
    if not pg:
        args += ["--db", str(tmp_path / "v2.db")]
    log = open(tmp_path / "serve.log", "wb")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                            env=kworld["env"])
    try:
        deadline = time.time() + 60
        status = None
        while time.time() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/health" % health,
                                            timeout=2) as r:
                    status, server, body = r.status, r.headers.get("Server"), r.read()
                    break
            except OSError:
                time.sleep(0.2)
        assert status == 200, (tmp_path / "serve.log").read_text()
        assert server == "clair" and body == b""
        # Klar against the v2-configured server, once the data is in.
        class S:
            pass
        s = S()
        s.port = port
        for _ in range(100):
            p = klar(clarion, kworld, s, "test/deb:1", CLAIR_OUTPUT="High")
            if p.stdout.endswith(BLOCK_PROTOTYPE):
                break
            time.sleep(0.3)
        assert p.stdout.endswith(BLOCK_PROTOTYPE), (p.stdout, p.stderr)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def test_basic_auth_registry(clarion, kworld, srv):
    """DOCKER_TOKEN and DOCKER_USER against an htpasswd registry: the
    manifest fetched with Basic, and the server fetching the blobs with the
    same Basic header Klar hands it."""
    with Registry(auth="htpasswd") as reg:
        user, password = reg.credentials()
        # A layer of its own, so the server has something to fetch.
        img = images.build_image([DEBIAN_LAYER, {"app/basic": b"basic\n"}],
                                 fmt="docker")
        images.push(reg, "test/deb", "1", img, auth=(user, password))
        ref = "%s/test/deb:1" % reg.addr
        token = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
        for env in ({"DOCKER_TOKEN": token, "DOCKER_USER": None,
                     "DOCKER_PASSWORD": None},
                    {"DOCKER_USER": user, "DOCKER_PASSWORD": password}):
            e = dict(env, CLAIR_OUTPUT="High")
            p = klar(clarion, kworld, srv, ref, **e)
            assert p.stdout.endswith(BLOCK_PROTOTYPE), p.stderr
            assert p.returncode == 1
        # No credentials: the registry's 401 body is not a manifest.
        p = klar(clarion, kworld, srv, ref, DOCKER_USER=None, DOCKER_PASSWORD=None)
        assert p.returncode == 2
