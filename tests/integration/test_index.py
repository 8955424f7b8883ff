"""`clarion index IMAGE` end to end, on real components: images built by
harness/images.py from the real package databases of tests/fixtures/scanners,
served by a real docker-registry (plain, htpasswd, token, TLS) or written as
OCI layouts, `docker save` archives and root filesystems, and indexed into
a real SQLite file or PostgreSQL database.

The tests check what a user sees: the exit status, the one line on stderr,
the JSON report.  The PostgreSQL database (CLARION_TEST_PG, see
scripts/test-postgres) is shared by every test of a run, so each test's
layers carry a marker file of their own (`uniq()`): no test finds another
test's layers or reports in the store.
"""
import gzip
import io
import json
import os
import re
import sqlite3
import subprocess
import tarfile
import time
import uuid

import pytest

from conftest import FIXTURES, run
from harness import images
from harness.clarion import clean_env, pg_url
from harness.registry import (Registry, _stop_process, free_port,  # noqa: F401
                              registry_htpasswd, registry_plain, registry_tls,
                              registry_token)

SCANNERS = os.path.join(FIXTURES, "scanners")


def fixture_bytes(name):
    with open(os.path.join(SCANNERS, name), "rb") as f:
        return f.read()


DEBIAN_STATUS = fixture_bytes("debian12-status")
DEBIAN_OS_RELEASE = fixture_bytes("debian12-os-release")
ALPINE_INSTALLED = fixture_bytes("alpine320-installed")
ALPINE_OS_RELEASE = fixture_bytes("alpine320-os-release")
ALMA_RPMDB = fixture_bytes("alma9-rpmdb.sqlite")
ALMA_OS_RELEASE = fixture_bytes("alma9-os-release")
RPMDB_BDB = fixture_bytes("rpmdb-Packages.bdb")


def dpkg_query():
    """{name: (version, arch, source, source_version)} from
    debian12-dpkg-query.txt: `dpkg-query -W -f` output of the machine the
    status file came from, one installed package a line, fields split by
    '|': package, version, architecture, source name, source version."""
    out = {}
    with open(os.path.join(SCANNERS, "debian12-dpkg-query.txt"), encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            name, version, arch, src, src_version = line.split("|")
            assert name not in out, "one arch per package in the fixture"
            out[name] = (version, arch, src, src_version)
    return out


DPKG_QUERY = dpkg_query()


def apk_packages():
    """[{letter: value}] of the packages in alpine320-installed."""
    pkgs, cur = [], {}
    for line in ALPINE_INSTALLED.decode().split("\n"):
        if not line:
            if cur:
                pkgs.append(cur)
            cur = {}
            continue
        key, _, value = line.partition(":")
        cur.setdefault(key, value)
    if cur:
        pkgs.append(cur)
    return pkgs


# ---- running clarion ----------------------------------------------------------

@pytest.fixture
def env(tmp_path):
    """An environment with nothing of the machine's: an empty HOME (no
    docker credentials), no proxies, no CA or database settings."""
    return clean_env(tmp_path / "home", drop=("CURL_CA_BUNDLE", "SSL_CERT_FILE"))


@pytest.fixture(params=["sqlite", "postgres"])
def db(request, tmp_path):
    """The database to index into: a fresh SQLite file, or the shared
    PostgreSQL database of scripts/test-postgres."""
    if request.param == "sqlite":
        return str(tmp_path / "clarion.db")
    return pg_url()


@pytest.fixture
def sqlite_db(tmp_path):
    return str(tmp_path / "clarion.db")


def index(clarion, env, image, *args, db=None, timeout=60):
    argv = [clarion, "index"]
    if db:
        argv += ["--db", db]
    return run(argv + [str(a) for a in args] + [image], env=env, timeout=timeout)


def ok(p):
    """The report of a successful run."""
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert r["state"] == "IndexFinished" and r["success"] is True, r.get("err")
    return r


def error_line(p, image):
    """The run failed as a CLI run should: exit 2 and one line on stderr,
    `clarion: index: IMAGE: why`; returns why."""
    assert p.returncode == 2, (p.returncode, p.stdout[:500], p.stderr)
    assert p.stdout == ""
    # A new SQLite file says it is being created; nothing else may be said.
    lines = [line for line in p.stderr.splitlines()
             if not line.startswith("clarion: info: store: migrating ")]
    assert len(lines) == 1, p.stderr
    prefix = "clarion: index: %s: " % image
    assert lines[0].startswith(prefix), p.stderr
    return lines[0][len(prefix):]


def packages(r):
    """Sorted (name, version, arch, package_db) of a report."""
    return sorted((p["name"], p["version"], p["arch"], r["environments"][k][0]["package_db"])
                  for k, p in r["packages"].items())


def by_name(r):
    """{name: (package, environment)}; the name must be unique."""
    out = {}
    for k, p in r["packages"].items():
        assert p["name"] not in out, "package %s listed twice" % p["name"]
        out[p["name"]] = (p, r["environments"][k][0])
    return out


def distribution(r):
    assert len(r["distributions"]) == 1, r["distributions"]
    d = dict(next(iter(r["distributions"].values())))
    d.pop("id", None)
    return d


def introduced(r):
    """{layer digest: number of packages introduced there}."""
    out = {}
    for envs in r["environments"].values():
        out[envs[0]["introduced_in"]] = out.get(envs[0]["introduced_in"], 0) + 1
    return out


def uniq():
    """A file that makes a layer's bytes this test's own."""
    return {"etc/clarion-test-marker": str(uuid.uuid4())}


def debian_layer(status=DEBIAN_STATUS, **extra):
    layer = {"var/lib/dpkg/status": status,
             "usr/lib/os-release": DEBIAN_OS_RELEASE,
             "etc/os-release": images.Symlink("../usr/lib/os-release")}
    layer.update(uniq())
    layer.update(extra)
    return layer


def stored_states(db_path, manifest):
    """The states of the index_report rows for manifest in a SQLite store."""
    if not os.path.exists(db_path):
        return []
    con = sqlite3.connect(db_path)
    try:
        return [row[0] for row in con.execute(
            "SELECT state FROM index_report WHERE manifest_hash = ?", (manifest,))]
    finally:
        con.close()


def raw_image(layer_blobs, fmt="oci"):
    """An Image whose layers are the given Blobs, whatever their bytes."""
    cfg = images.Blob(images.canonical_json({
        "architecture": "amd64", "os": "linux", "created": images.EPOCH,
        "rootfs": {"type": "layers",
                   "diff_ids": [b.digest for b in layer_blobs]}}),
        images.OCI_CONFIG)
    m = {"schemaVersion": 2, "mediaType": images.OCI_MANIFEST,
         "config": cfg.descriptor(), "layers": [b.descriptor() for b in layer_blobs]}
    mblob = images.Blob(images.canonical_json(m), images.OCI_MANIFEST)
    layers = [images.Layer(b"", b) for b in layer_blobs]
    return images.Image(layers, cfg, mblob, {"architecture": "amd64", "os": "linux"}, fmt)


# ---- 1. a Debian image from a registry ---------------------------------------------

def test_debian_image_from_registry(clarion, env, db, registry_plain):
    img = images.build_image([debian_layer()])
    pushed = images.push(registry_plain, "t/debian", "1", img)
    ref = registry_plain.addr + "/t/debian:1"
    r = ok(index(clarion, env, ref, "--plain-http", db=db))

    assert r["manifest_hash"] == pushed == img.digest
    d = distribution(r)
    assert (d["did"], d["version_id"], d["version_code_name"]) == ("debian", "12", "bookworm")
    assert d["pretty_name"] == "Debian GNU/Linux 12 (bookworm)"

    assert len(r["packages"]) == len(DPKG_QUERY)
    got = by_name(r)
    assert sorted(got) == sorted(DPKG_QUERY)
    for name, (version, arch, _src, _srcver) in DPKG_QUERY.items():
        assert (got[name][0]["version"], got[name][0]["arch"]) == (version, arch), name
    libc, libc_env = got["libc6"]
    version, arch, src, src_version = DPKG_QUERY["libc6"]
    assert (libc["version"], libc["arch"], libc["kind"]) == (version, arch, "binary")
    assert (libc["source"]["name"], libc["source"]["version"]) == (src, src_version)
    assert libc_env["package_db"] == "var/lib/dpkg/status"
    layer = img.layers[0].blob.digest
    for envs in r["environments"].values():
        assert len(envs) == 1
        assert envs[0]["introduced_in"] == layer
        assert envs[0]["package_db"] == "var/lib/dpkg/status"
        assert envs[0]["distribution_id"] in r["distributions"]

    p = index(clarion, env, ref, "--plain-http", "--format", "text", db=db)
    assert p.returncode == 0, p.stderr
    assert "Debian GNU/Linux 12 (bookworm)" in p.stdout
    assert re.search(r"^packages: %d$" % len(DPKG_QUERY), p.stdout, re.M), p.stdout
    assert img.digest in p.stdout


# ---- 2. layers coalesced ---------------------------------------------------------

def _status_without(status, drop, upgrade):
    """status with package drop removed and package upgrade[0]'s version
    replaced by upgrade[1]."""
    paras = status.decode().strip("\n").split("\n\n")
    out = []
    for para in paras:
        name = re.search(r"^Package: (.*)$", para, re.M).group(1)
        if name == drop:
            continue
        if name == upgrade[0]:
            para, n = re.subn(r"^Version: .*$", "Version: " + upgrade[1], para, flags=re.M)
            assert n == 1
        out.append(para)
    return ("\n\n".join(out) + "\n").encode()


def test_layers_are_coalesced(clarion, env, db, registry_plain):
    new_libc = "2.36-9+deb12u99"
    status2 = _status_without(DEBIAN_STATUS, "bash", ("libc6", new_libc))
    n = len(DPKG_QUERY)

    def layers(*rest):
        # Fresh layer bytes for every image: each is scanned afresh.
        return [debian_layer(), dict(uniq(), **{"var/lib/dpkg/status": status2})] + \
            [dict(uniq(), **layer) for layer in rest]

    def index_image(tag, layer_list):
        img = images.build_image(layer_list)
        images.push(registry_plain, "t/coalesce", tag, img)
        r = ok(index(clarion, env, registry_plain.addr + "/t/coalesce:" + tag,
                     "--plain-http", db=db))
        assert r["manifest_hash"] == img.digest
        return img, r

    # Layer 2 rewrites the database: one package upgraded, one removed.
    img, r = index_image("upgrade", layers())
    l1, l2 = (layer.blob.digest for layer in img.layers)
    got = by_name(r)
    assert len(got) == n - 1 and "bash" not in got
    assert got["libc6"][0]["version"] == new_libc
    assert got["libc6"][1]["introduced_in"] == l2
    assert got["libc6"][0]["source"]["name"] == "glibc"
    assert introduced(r) == {l1: n - 2, l2: 1}
    assert got["base-files"][1]["introduced_in"] == l1
    assert distribution(r)["did"] == "debian"

    # Layer 3 whites the database out: no packages, the distribution stays.
    wh = {"var/lib/dpkg/.wh.status": b""}
    img, r = index_image("whiteout", layers(wh))
    assert r["packages"] == {} and r["environments"] == {}
    assert distribution(r)["version_id"] == "12"

    # An opaque whiteout of its directory does the same.
    opq = {"var/lib/dpkg/.wh..wh..opq": b""}
    img, r = index_image("opaque", layers(opq))
    assert r["packages"] == {} and r["environments"] == {}
    assert distribution(r)["did"] == "debian"

    # A later layer that writes a database again brings packages back,
    # introduced there.
    for tag, gone in (("readd", wh), ("readd-opq", opq)):
        img, r = index_image(tag, layers(gone, {"var/lib/dpkg/status": DEBIAN_STATUS}))
        l4 = img.layers[3].blob.digest
        assert len(r["packages"]) == n, tag
        assert introduced(r) == {l4: n}, tag
        assert by_name(r)["libc6"][0]["version"] == DPKG_QUERY["libc6"][0]
        assert distribution(r)["did"] == "debian"


# ---- 3, 4, 5. Alpine, AlmaLinux, distroless ------------------------------------------

def test_alpine_image(clarion, env, db, registry_plain):
    img = images.build_image([dict(uniq(), **{
        "lib/apk/db/installed": ALPINE_INSTALLED,
        "etc/os-release": ALPINE_OS_RELEASE})])
    images.push(registry_plain, "t/alpine", "3.20", img)
    r = ok(index(clarion, env, registry_plain.addr + "/t/alpine:3.20", "--plain-http", db=db))
    assert r["manifest_hash"] == img.digest
    d = distribution(r)
    assert (d["did"], d["version_id"], d["pretty_name"]) == \
        ("alpine", "3.20.2", "Alpine Linux v3.20")

    want = apk_packages()
    assert len(r["packages"]) == len(want)
    got = by_name(r)
    assert sorted(got) == sorted(p["P"] for p in want)
    # A package whose origin (source) has another name.
    pick = next(p for p in want if p["P"] == "libcrypto3")
    pkg, e = got["libcrypto3"]
    assert (pkg["name"], pkg["version"], pkg["arch"], pkg["kind"]) == \
        (pick["P"], pick["V"], pick["A"], "binary")
    assert pick["o"] == "openssl" and pkg["source"]["name"] == "openssl"
    assert e["package_db"] == "lib/apk/db/installed"
    assert e["introduced_in"] == img.layers[0].blob.digest
    for p in want:
        assert got[p["P"]][0]["version"] == p["V"]


# What tests/fixtures/scanners/make-rpmdb.sh installs: name ->
# (version as clarion prints it, arch, source package name, module).
RPM_FIXTURE = {
    "clarion-hello": ("1.0-1.el9", "noarch", "clarion-hello", ""),
    "clarion-epoch": ("2:0.9-4.el9", "noarch", "clarion-epoch", ""),
    "clarion-tools-libs": ("3.1-2.el9", "noarch", "clarion-tools", ""),
    "clarion-nodejs": ("18.19.0-1.module_el9.3.0+35+6a1b9b2e", "noarch", "clarion-nodejs",
                       "nodejs:18"),
}


@pytest.mark.parametrize("dbfile,content", [("rpmdb.sqlite", ALMA_RPMDB),
                                            ("Packages", RPMDB_BDB)],
                         ids=["sqlite-rpmdb", "bdb-rpmdb"])
def test_almalinux_image(clarion, env, db, registry_plain, dbfile, content):
    path = "var/lib/rpm/" + dbfile
    img = images.build_image([dict(uniq(), **{path: content,
                                              "etc/os-release": ALMA_OS_RELEASE})])
    images.push(registry_plain, "t/alma", dbfile, img)
    r = ok(index(clarion, env, registry_plain.addr + "/t/alma:" + dbfile, "--plain-http",
                 db=db))
    d = distribution(r)
    assert d["did"] == "almalinux" and d["version_id"].startswith("9")
    assert d["cpe"] == "cpe:/o:almalinux:almalinux:9::baseos"

    got = by_name(r)
    assert "gpg-pubkey" not in got
    assert sorted(got) == sorted(RPM_FIXTURE)
    for name, (version, arch, src, module) in RPM_FIXTURE.items():
        pkg, e = got[name]
        assert (pkg["version"], pkg["arch"]) == (version, arch), name
        assert pkg["source"]["name"] == src, name
        assert pkg.get("module", "") == module, name
        assert e["package_db"] == path
        assert e["introduced_in"] == img.layers[0].blob.digest


def test_distroless_image(clarion, env, db, registry_plain):
    statusd = os.path.join(SCANNERS, "distroless12-status.d")
    layer = dict(uniq(), **{"etc/os-release": DEBIAN_OS_RELEASE})
    for name in sorted(os.listdir(statusd)):
        with open(os.path.join(statusd, name), "rb") as f:
            layer["var/lib/dpkg/status.d/" + name] = f.read()
    img = images.build_image([layer])
    images.push(registry_plain, "t/distroless", "12", img)
    r = ok(index(clarion, env, registry_plain.addr + "/t/distroless:12", "--plain-http",
                 db=db))
    assert distribution(r)["did"] == "debian"
    got = by_name(r)
    # One package a file; the .md5sums files are not package records.
    want = sorted(n for n in os.listdir(statusd) if "." not in n)
    assert sorted(got) == want
    for name in want:
        assert got[name][1]["package_db"] == "var/lib/dpkg/status.d/" + name
    libc = got["libc6"][0]
    assert (libc["version"], libc["arch"], libc["source"]["name"]) == \
        ("2.36-9+deb12u14", "amd64", "glibc")


# ---- 6. multi-platform images -------------------------------------------------------

@pytest.mark.parametrize("fmt", ["oci", "docker"])
def test_platforms(clarion, env, db, registry_plain, fmt):
    amd = images.build_image([debian_layer()], fmt=fmt)
    arm = images.build_image([dict(uniq(), **{"lib/apk/db/installed": ALPINE_INSTALLED,
                                              "etc/os-release": ALPINE_OS_RELEASE})],
                             fmt=fmt, arch="arm64", variant="v8")
    idx = images.build_index([amd, arm])
    images.push(registry_plain, "t/multi-" + fmt, "1", idx)
    ref = registry_plain.addr + "/t/multi-%s:1" % fmt

    r = ok(index(clarion, env, ref, "--plain-http", db=db))
    assert r["manifest_hash"] == amd.digest
    assert distribution(r)["did"] == "debian" and len(r["packages"]) == len(DPKG_QUERY)

    r = ok(index(clarion, env, ref, "--plain-http", "--platform", "linux/arm64", db=db))
    assert r["manifest_hash"] == arm.digest
    assert distribution(r)["did"] == "alpine" and len(r["packages"]) == len(apk_packages())

    p = index(clarion, env, ref, "--plain-http", "--platform", "linux/s390x", db=db)
    why = error_line(p, ref)
    assert "linux/s390x" in why
    assert "linux/amd64" in why and "linux/arm64" in why


# ---- 7. every transport ------------------------------------------------------------

def test_transports_agree(clarion, env, registry_plain, tmp_path):
    img = images.build_image([debian_layer()])
    ref = registry_plain.addr + "/t/transports:1"
    images.push(registry_plain, "t/transports", "1", img)
    layout = images.write_oci_layout(str(tmp_path / "layout"), img, tag="v1")
    oci_tar = str(tmp_path / "layout.tar")
    subprocess.run(["tar", "-cf", oci_tar, "-C", layout, "."], check=True)
    archive = images.write_docker_archive(str(tmp_path / "saved.tar"), img, ["t/transports:1"])
    root = tmp_path / "rootfs"
    (root / "var/lib/dpkg").mkdir(parents=True)
    (root / "usr/lib").mkdir(parents=True)
    (root / "etc").mkdir()
    (root / "var/lib/dpkg/status").write_bytes(DEBIAN_STATUS)
    (root / "usr/lib/os-release").write_bytes(DEBIAN_OS_RELEASE)
    os.symlink("../usr/lib/os-release", root / "etc/os-release")

    sources = {
        "registry": (ref, ["--plain-http"]),
        "oci": ("oci:%s:v1" % layout, []),
        "oci-archive": ("oci-archive:%s:v1" % oci_tar, []),
        "docker-archive": ("docker-archive:" + archive, []),
        "dir": ("dir:%s" % root, []),
    }
    reports = {}
    for name, (image, args) in sources.items():
        # A database each: this test is about what each transport reads,
        # not about the layer cache they would share.
        dbfile = str(tmp_path / ("%s.db" % name))
        reports[name] = ok(index(clarion, env, image, *args, db=dbfile))

    want = packages(reports["registry"])
    assert len(want) == len(DPKG_QUERY)
    for name, r in reports.items():
        assert packages(r) == want, name
        assert distribution(r) == distribution(reports["registry"]), name

    # The same manifest, wherever it is stored ...
    for name in ("registry", "oci", "oci-archive"):
        assert reports[name]["manifest_hash"] == img.digest, name
        assert set(introduced(reports[name])) == {img.layers[0].blob.digest}
    # ... but `docker save` keeps uncompressed layers and no manifest, and
    # a root filesystem has neither.
    hashes = {r["manifest_hash"] for r in reports.values()}
    assert reports["docker-archive"]["manifest_hash"] != img.digest
    assert reports["dir"]["manifest_hash"] not in (img.digest,
                                                   reports["docker-archive"]["manifest_hash"])
    assert len(hashes) == 3
    for h in hashes:
        assert re.fullmatch(r"sha256:[0-9a-f]{64}", h)


# ---- 8. registry authentication and TLS -----------------------------------------------

def _small_debian():
    return images.build_image([debian_layer(status=(
        b"Package: libssl3\nStatus: install ok installed\nArchitecture: amd64\n"
        b"Source: openssl\nVersion: 3.0.15-1~deb12u1\n\n"))])


def test_htpasswd_registry(clarion, env, sqlite_db, registry_htpasswd):
    img = _small_debian()
    images.push(registry_htpasswd, "t/basic", "1", img)
    ref = registry_htpasswd.addr + "/t/basic:1"
    r = ok(index(clarion, env, ref, "--plain-http", "--username", "alice",
                 "--password", "s3cret", db=sqlite_db))
    assert r["manifest_hash"] == img.digest
    assert packages(r) == [("libssl3", "3.0.15-1~deb12u1", "amd64", "var/lib/dpkg/status")]

    p = index(clarion, env, ref, "--plain-http", "--username", "alice", "--password", "wrong",
              db=sqlite_db)
    why = error_line(p, ref)
    assert re.search(r"unauthori[sz]ed|denied", why, re.I), why
    p = index(clarion, env, ref, "--plain-http", db=sqlite_db)
    why = error_line(p, ref)
    assert re.search(r"credentials|unauthori[sz]ed", why, re.I), why


def test_token_registry(clarion, env, sqlite_db, registry_token):
    img = _small_debian()
    images.push(registry_token, "t/tok", "1", img)
    ref = registry_token.addr + "/t/tok:1"
    r = ok(index(clarion, env, ref, "--plain-http", "--username", "alice",
                 "--password", "s3cret", db=sqlite_db))
    assert r["manifest_hash"] == img.digest and len(r["packages"]) == 1
    p = index(clarion, env, ref, "--plain-http", "--username", "alice", "--password", "nope",
              db=sqlite_db)
    why = error_line(p, ref)
    assert re.search(r"refused|unauthori[sz]ed|denied", why, re.I), why


def test_tls_registry(clarion, env, sqlite_db, registry_tls):
    img = _small_debian()
    images.push(registry_tls, "t/tls", "1", img)
    ref = registry_tls.addr + "/t/tls:1"
    p = index(clarion, env, ref, db=sqlite_db)
    why = error_line(p, ref)
    assert re.search(r"certificate|TLS verification", why, re.I), why

    r = ok(index(clarion, dict(env, CLARION_CA_FILE=registry_tls.ca), ref, db=sqlite_db))
    assert r["manifest_hash"] == img.digest and len(r["packages"]) == 1

    img2 = _small_debian()  # another manifest: not answered from the store
    images.push(registry_tls, "t/tls", "2", img2)
    r = ok(index(clarion, env, registry_tls.addr + "/t/tls:2", "--insecure", db=sqlite_db))
    assert r["manifest_hash"] == img2.digest and len(r["packages"]) == 1


# ---- 9. content addressing --------------------------------------------------------

def _delete_blob(registry, repo, digest):
    c = images.client_for(registry)
    st, _, body = c.request("DELETE", "/v2/%s/blobs/%s" % (repo, digest))
    assert st == 202, (st, body)
    st, _, _ = c.request("HEAD", "/v2/%s/blobs/%s" % (repo, digest))
    assert st == 404


def test_layers_and_manifests_are_content_addressed(clarion, env, db, registry_plain):
    base = debian_layer()
    a = images.build_image([base, dict(uniq(), **{"usr/bin/x": "x"})])
    b = images.build_image([base, dict(uniq(), **{"usr/bin/y": "y"})])
    shared = a.layers[0].blob.digest
    assert b.layers[0].blob.digest == shared
    images.push(registry_plain, "t/ca-a", "1", a)
    images.push(registry_plain, "t/ca-b", "1", b)
    ref_a = registry_plain.addr + "/t/ca-a:1"
    ref_b = registry_plain.addr + "/t/ca-b:1"

    p = index(clarion, env, ref_a, "--plain-http", db=db)
    first = ok(p)
    assert introduced(first) == {shared: len(DPKG_QUERY)}

    # The shared layer is gone from the registry: only the store has it.
    _delete_blob(registry_plain, "t/ca-a", shared)
    _delete_blob(registry_plain, "t/ca-b", shared)

    # The same manifest again is answered from the store, as it was.
    t = time.monotonic()
    again = index(clarion, env, ref_a, "--plain-http", db=db)
    took = time.monotonic() - t
    assert again.returncode == 0, again.stderr
    assert again.stdout == p.stdout
    assert took < 3

    # Another image on the same base: the base comes from the layer cache.
    r = ok(index(clarion, env, ref_b, "--plain-http", db=db))
    assert r["manifest_hash"] == b.digest
    assert set(packages(r)) == set(packages(first))
    assert set(introduced(r)) == {shared}
    assert distribution(r) == distribution(first)


def test_cached_layer_gives_the_same_packages(clarion, env, db, registry_plain):
    base = debian_layer()
    a = images.build_image([base])
    b = images.build_image([base, dict(uniq(), **{"usr/bin/y": "y"})])
    images.push(registry_plain, "t/cache-a", "1", a)
    images.push(registry_plain, "t/cache-b", "1", b)
    ra = ok(index(clarion, env, registry_plain.addr + "/t/cache-a:1", "--plain-http", db=db))
    rb = ok(index(clarion, env, registry_plain.addr + "/t/cache-b:1", "--plain-http", db=db))
    assert len(ra["packages"]) == len(DPKG_QUERY)
    assert len(rb["packages"]) == len(DPKG_QUERY)
    assert packages(rb) == packages(ra)


# ---- 10. bad input ------------------------------------------------------------------

def _assert_not_finished(db_path, manifest):
    assert "IndexFinished" not in stored_states(db_path, manifest)


def test_truncated_gzip_layer(clarion, env, sqlite_db, registry_plain):
    whole = images.compress(images.make_tar(debian_layer()), "gzip")
    blob = images.Blob(whole[:len(whole) // 2], images.OCI_LAYER["gzip"])
    img = raw_image([blob])
    images.push(registry_plain, "t/truncated", "1", img)
    ref = registry_plain.addr + "/t/truncated:1"
    p = index(clarion, env, ref, "--plain-http", db=sqlite_db)
    why = error_line(p, ref)
    assert re.search(r"truncated|unexpected end|corrupt", why, re.I), why
    assert blob.digest in why
    _assert_not_finished(sqlite_db, img.digest)


def test_blob_altered_in_oci_layout(clarion, env, sqlite_db, tmp_path):
    img = images.build_image([debian_layer()])
    layout = images.write_oci_layout(str(tmp_path / "layout"), img, tag="1")
    layer = img.layers[0].blob
    path = os.path.join(layout, "blobs", "sha256", layer.digest[7:])
    other = images.compress(images.make_tar(debian_layer()), "gzip")  # valid, but not it
    with open(path, "wb") as f:
        f.write(other)
    image = "oci:%s:1" % layout
    p = index(clarion, env, image, db=sqlite_db)
    why = error_line(p, image)
    assert "digest mismatch" in why and layer.digest in why, why
    _assert_not_finished(sqlite_db, img.digest)


def test_missing_repository_and_tag(clarion, env, sqlite_db, registry_plain):
    img = _small_debian()
    images.push(registry_plain, "t/present", "1", img)
    for ref in (registry_plain.addr + "/t/present:2", registry_plain.addr + "/no/such:1"):
        p = index(clarion, env, ref, "--plain-http", db=sqlite_db)
        why = error_line(p, ref)
        assert re.search(r"not found|unknown", why, re.I), why


def test_unreachable_registry_fails_fast(clarion, env, sqlite_db):
    ref = "127.0.0.1:%d/t/x:1" % free_port()
    t = time.monotonic()
    p = index(clarion, env, ref, "--plain-http", db=sqlite_db, timeout=30)
    assert time.monotonic() - t < 10
    why = error_line(p, ref)
    assert "127.0.0.1" in why


@pytest.fixture(scope="module")
def bomb_layout(tmp_path_factory):
    """An OCI layout whose one layer is a gzip tar of one 300 MB file of
    zeros, written as a stream (the layer is ~300 KB)."""
    size = 300 << 20

    class Zeros(io.RawIOBase):
        def __init__(self, n):
            self.left = n

        def readable(self):
            return True

        def readinto(self, b):
            k = min(len(b), self.left)
            b[:k] = bytes(k)
            self.left -= k
            return k

    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=1, mtime=0) as gz:
        with tarfile.open(fileobj=gz, mode="w|", format=tarfile.GNU_FORMAT) as tar:
            ti = tarfile.TarInfo("srv/zeros")
            ti.size = size
            tar.addfile(ti, io.BufferedReader(Zeros(size), 1 << 20))
    blob = images.Blob(buf.getvalue(), images.OCI_LAYER["gzip"])
    img = raw_image([blob])
    d = str(tmp_path_factory.mktemp("bomb") / "layout")
    images.write_oci_layout(d, img, tag="1")
    return d, img, size


def test_decompression_bomb(clarion, env, sqlite_db, bomb_layout):
    layout, img, size = bomb_layout
    assert size // img.layers[0].blob.size > 200  # the default ratio limit
    image = "oci:%s:1" % layout
    t = time.monotonic()
    p = index(clarion, env, image, db=sqlite_db)
    assert time.monotonic() - t < 15
    why = error_line(p, image)
    assert re.search(r"\b200 times\b", why) and "bomb" in why, why
    assert img.layers[0].blob.digest in why
    _assert_not_finished(sqlite_db, img.digest)


@pytest.mark.parametrize("path,want", [
    ("var/lib/dpkg/status", r"var/lib/dpkg/status"),
    ("var/lib/rpm/rpmdb.sqlite", r"var/lib/rpm/rpmdb\.sqlite"),
])
def test_corrupt_package_database(clarion, env, sqlite_db, registry_plain, path, want):
    junk = bytes(range(256)) * 16 + b"\x00\xff" * 1000 + os.urandom(64)
    img = images.build_image([dict(uniq(), **{path: junk,
                                              "etc/os-release": DEBIAN_OS_RELEASE})])
    repo = "t/corrupt-" + path.rsplit("/", 1)[1].replace(".", "-")
    images.push(registry_plain, repo, "1", img)
    ref = registry_plain.addr + "/%s:1" % repo
    p = index(clarion, env, ref, "--plain-http", db=sqlite_db)
    why = error_line(p, ref)
    assert re.search(want, why), why
    _assert_not_finished(sqlite_db, img.digest)
    # Asked again, it fails again: no partial report was kept as an answer.
    p = index(clarion, env, ref, "--plain-http", db=sqlite_db)
    assert error_line(p, ref) == why


def _restart(reg):
    """Starts reg's docker-registry again, on its port and with its data."""
    with open(reg.log, "a") as logf:
        reg.proc = subprocess.Popen(["docker-registry", "serve",
                                     os.path.join(reg.dir, "config.yml")],
                                    stdin=subprocess.DEVNULL, stdout=logf,
                                    stderr=subprocess.STDOUT)
    assert reg._wait_ready(), open(reg.log).read()


def test_failures_are_not_final(clarion, env, sqlite_db):
    img = images.build_image([debian_layer()])
    with Registry() as reg:
        images.push(reg, "t/flaky", "1", img)
        ref = reg.addr + "/t/flaky:1"

        # The registry is down: a network error, nothing recorded.
        _stop_process(reg.proc)
        p = index(clarion, env, ref, "--plain-http", db=sqlite_db)
        error_line(p, ref)
        _assert_not_finished(sqlite_db, img.digest)
        _restart(reg)
        r = ok(index(clarion, env, ref, "--plain-http", db=sqlite_db))
        assert r["manifest_hash"] == img.digest and len(r["packages"]) == len(DPKG_QUERY)

        # A layer missing from the registry: an error the next try after
        # the push does not inherit.
        img2 = images.build_image([debian_layer()])
        images.push(reg, "t/flaky", "2", img2)
        _delete_blob(reg, "t/flaky", img2.layers[0].blob.digest)
        ref2 = reg.addr + "/t/flaky:2"
        p = index(clarion, env, ref2, "--plain-http", db=sqlite_db)
        why = error_line(p, ref2)
        assert img2.layers[0].blob.digest in why
        _assert_not_finished(sqlite_db, img2.digest)
        images.push(reg, "t/flaky", "2", img2)
        r = ok(index(clarion, env, ref2, "--plain-http", db=sqlite_db))
        assert r["manifest_hash"] == img2.digest and len(r["packages"]) == len(DPKG_QUERY)
        assert stored_states(sqlite_db, img2.digest) == ["IndexFinished"]


# ---- 11. usage errors -----------------------------------------------------------------

@pytest.mark.parametrize("args,want", [
    ([], r"expected one IMAGE"),
    (["--frobnicate", "x/y:1"], r"unknown or incomplete option '--frobnicate'"),
    (["--username", "alice", "x/y:1"], r"--username and --password go together"),
    (["--password", "s3cret", "x/y:1"], r"--username and --password go together"),
    (["--format", "xml", "x/y:1"], r"unknown format 'xml'"),
    (["a/b:1", "c/d:2"], r"expected one IMAGE"),
    (["--db"], r"unknown or incomplete option"),
])
def test_usage_errors(clarion, env, tmp_path, args, want):
    e = dict(env, CLARION_DB=str(tmp_path / "unused.db"))
    p = run([clarion, "index"] + args, env=e, timeout=30)
    assert p.returncode == 2, p.stderr
    assert p.stdout == ""
    lines = p.stderr.splitlines()
    assert len(lines) == 1, p.stderr
    assert lines[0].startswith("clarion: index: ")
    assert re.search(want, lines[0]), lines[0]
    assert not os.path.exists(tmp_path / "unused.db")


# ---- 12. concurrent runs ---------------------------------------------------------------

def test_concurrent_runs_on_one_database(clarion, env, db, registry_plain, tmp_path):
    # The database exists already (a first image was indexed into it): what
    # is tested here is two runs on one manifest.  Two runs creating a new
    # SQLite file at once is test_new_database_opened_while_locked's matter.
    first = _small_debian()
    images.push(registry_plain, "t/concurrent", "0", first)
    ok(index(clarion, env, registry_plain.addr + "/t/concurrent:0", "--plain-http", db=db))

    img = images.build_image([debian_layer(), dict(uniq(), **{"usr/bin/z": "z"})])
    images.push(registry_plain, "t/concurrent", "1", img)
    argv = [clarion, "index", "--plain-http", "--db", db,
            registry_plain.addr + "/t/concurrent:1"]
    procs = [subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outs = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        outs.append(json.loads(out))
    assert outs[0]["manifest_hash"] == outs[1]["manifest_hash"] == img.digest
    assert len(outs[0]["packages"]) == len(DPKG_QUERY)
    assert packages(outs[0]) == packages(outs[1])
    assert outs[0] == outs[1]


def test_new_database_opened_while_locked(clarion, env, tmp_path):
    img = images.build_image([debian_layer()])
    layout = images.write_oci_layout(str(tmp_path / "layout"), img, tag="1")
    path = str(tmp_path / "new.db")
    # Another program is writing the (new, empty) file when clarion opens
    # it: clarion's 10 s busy timeout should let it wait, then go on.
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("BEGIN IMMEDIATE")
        proc = subprocess.Popen([clarion, "index", "--db", path, "oci:%s:1" % layout],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        time.sleep(0.5)
        assert proc.poll() is None, "clarion did not wait for the lock"
        con.execute("COMMIT")
    finally:
        con.close()
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert len(json.loads(out)["packages"]) == len(DPKG_QUERY)


def test_new_database_is_created_quietly_and_an_old_one_upgraded_aloud(clarion, env, tmp_path):
    """A first run creates the database without a word (the migrations are
    debug lines); upgrading a database an older clarion wrote is worth an
    info line per migration."""
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "os-release").write_bytes(DEBIAN_OS_RELEASE)
    db = str(tmp_path / "new.db")
    p = index(clarion, env, "dir:%s" % root, db=db)
    ok(p)
    assert "store:" not in p.stderr, p.stderr
    # Make it look like a schema-3 database: forget migration 4.
    con = sqlite3.connect(db)
    con.execute("DROP TABLE v1_layer")
    con.execute("DELETE FROM schema_migrations WHERE version = 4")
    con.commit()
    con.close()
    p = index(clarion, env, "dir:%s" % root, db=db)
    ok(p)
    assert re.search(r"^clarion: info: store: migrating .*new\.db to schema 4: ",
                     p.stderr, re.M), p.stderr
