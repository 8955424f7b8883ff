"""Deployment (docs/deploy.md): clarion's own container image, the
Kubernetes manifests and the example configuration in deploy/.

- The image (scripts/make-image, `make image`), built from CLARION_BIN:
  its root, unpacked layer by layer as a container runtime would, runs
  clarion as the non-root user under chroot (and reads an rpm database
  there, which needs librpm's configuration files); `clarion scan` of the
  image reports Debian 12 and the Debian packages its libraries came from,
  with this machine's versions, and finds the vulnerabilities a loopback
  Debian feed gives for them; the `docker save` archive holds the same
  image; building twice gives the same digest and the same bytes.
- The manifests, validated offline by tests/deploy/validate.mjs against the
  Kubernetes API schemas of npm's kubernetes-models (installed with `npm
  ci` into BUILD/npm from tests/deploy/package-lock.json) and their
  cross-references, and the validator shown to catch each kind of mistake.
- deploy/config.yaml run as two `clarion serve` replicas on one real
  PostgreSQL (CLARION_TEST_PG): index through one, report through the
  other, one updater run between them.
"""
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tarfile
import time
import urllib.error
import urllib.request

import pytest
import yaml

from conftest import FIXTURES, TOP, clarion_path, run
from harness import images
from harness.clarion import clean_env as harness_clean_env
from harness.clarion import update
from harness.feeds import FeedServer

MAKE_IMAGE = os.path.join(TOP, "scripts", "make-image")
MANIFEST = os.path.join(TOP, "deploy", "kubernetes", "clarion-kubernetes.yaml")
CONFIG = os.path.join(TOP, "deploy", "config.yaml")
VALIDATE = os.path.join(TOP, "tests", "deploy", "validate.mjs")
EPOCH = "1700000000"
VERSION = "0.1.0-test"
CHROOT = shutil.which("chroot") or "/usr/sbin/chroot"

# Packages whose libraries the binary links directly (Makefile PKGS), and
# what distroless images also record.
EXPECTED_PACKAGES = ["libc6", "libssl3", "libcurl4", "libsqlite3-0", "libpq5",
                     "libarchive13", "libjansson4", "libzstd1", "zlib1g",
                     "libxml2", "librpm9", "base-files", "ca-certificates"]


def clean_env(home):
    # and no SOURCE_DATE_EPOCH: only make_image's runs get one
    return harness_clean_env(home, drop=("SOURCE_DATE_EPOCH",))


def host_version(pkg):
    p = run(["dpkg-query", "-W", "-f", "${Version}\t${source:Package}\t${source:Version}", pkg])
    assert p.returncode == 0, p.stderr
    return p.stdout.split("\t")


# ---- the image -----------------------------------------------------------------

def make_image(clarion, out, epoch=EPOCH):
    env = dict(os.environ, SOURCE_DATE_EPOCH=epoch)
    p = run([MAKE_IMAGE, "--binary", clarion, "--out", str(out),
             "--version", VERSION, "--revision", "test"], env=env, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    with open(os.path.join(out, "digest")) as f:
        return f.read().strip()


def read_blob(layout, digest):
    with open(os.path.join(layout, "blobs", "sha256", digest.split(":", 1)[1]), "rb") as f:
        data = f.read()
    assert "sha256:" + hashlib.sha256(data).hexdigest() == digest
    return data


def load_image(layout):
    """(manifest, config, [layer tar bytes]) of the layout's one image."""
    with open(os.path.join(layout, "index.json")) as f:
        index = json.load(f)
    assert len(index["manifests"]) == 1
    desc = index["manifests"][0]
    manifest = json.loads(read_blob(layout, desc["digest"]))
    config = json.loads(read_blob(layout, manifest["config"]["digest"]))
    layers = [gzip.decompress(read_blob(layout, l["digest"])) for l in manifest["layers"]]
    return desc, manifest, config, layers


@pytest.fixture(scope="module")
def image(clarion, tmp_path_factory):
    out = tmp_path_factory.mktemp("image")
    digest = make_image(clarion, out)
    layout = str(out / "oci")
    desc, manifest, config, layers = load_image(layout)
    return {"out": out, "digest": digest, "layout": layout, "desc": desc,
            "manifest": manifest, "config": config, "layers": layers}


@pytest.fixture(scope="module")
def rootfs(image, tmp_path_factory):
    """The image's root as a runtime unpacks it: layers in order, owners
    and modes from the tar, the root directory itself 0755."""
    if os.geteuid() != 0:
        pytest.skip("unpacking with the image's owners and chroot need root")
    root = tmp_path_factory.mktemp("rootfs")
    os.chmod(root, 0o755)
    for data in image["layers"]:
        with tarfile.open(fileobj=io.BytesIO(data)) as t:
            t.extractall(root, numeric_owner=True)
    # A runtime mounts /proc in every container; the sanitizers of an ASan
    # build need it (LeakSanitizer reads /proc/self/maps).
    proc = os.path.join(root, "proc")
    os.mkdir(proc)
    mounted = subprocess.run(["mount", "-t", "proc", "proc", proc],
                             capture_output=True).returncode == 0
    yield str(root)
    if mounted:
        subprocess.run(["umount", proc], check=True)


def test_image_config(image):
    desc, manifest, config = image["desc"], image["manifest"], image["config"]
    assert desc["digest"] == image["digest"]
    assert desc["annotations"]["org.opencontainers.image.ref.name"] == VERSION
    assert manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert config["os"] == "linux" and config["architecture"]
    c = config["config"]
    assert c["Entrypoint"] == ["/usr/bin/clarion"]
    assert c["Cmd"] == ["serve", "-c", "/etc/clarion/config.yaml"]
    assert c["User"] == "65532:65532"
    assert sorted(c["ExposedPorts"]) == ["6060/tcp", "8089/tcp"]
    assert c["Labels"]["org.opencontainers.image.version"] == VERSION
    assert c["Labels"]["org.opencontainers.image.title"] == "clarion"
    # SOURCE_DATE_EPOCH is the image's time.
    assert config["created"] == "2023-11-14T22:13:20Z"
    assert [h["created"] for h in config["history"]] == [config["created"]] * 2
    assert config["rootfs"]["diff_ids"] == [
        "sha256:" + hashlib.sha256(t).hexdigest() for t in image["layers"]]


def test_image_layers_are_reproducible_tars(image):
    for data in image["layers"]:
        with tarfile.open(fileobj=io.BytesIO(data)) as t:
            members = t.getmembers()
        names = [m.name for m in members]
        assert names == sorted(names)
        assert not [n for n in names if n.startswith(("/", "./"))]
        assert {m.mtime for m in members} == {int(EPOCH)}
        assert {m.uname for m in members} == {""}
        assert {(m.uid, m.gid) for m in members} <= {(0, 0), (65532, 65532)}


def test_kubernetes_runs_what_the_image_says(image):
    """The Deployment's arguments and ports are the image's, so the image's
    own defaults and the manifest cannot drift apart."""
    with open(MANIFEST) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    dep = [d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "clarion"][0]
    c = dep["spec"]["template"]["spec"]["containers"][0]
    cfg = image["config"]["config"]
    assert c["args"] == cfg["Cmd"]
    assert sorted("%d/tcp" % p["containerPort"] for p in c["ports"]) == sorted(cfg["ExposedPorts"])
    assert dep["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == \
        int(cfg["User"].split(":")[0])


def test_image_runs_clarion_as_nonroot_under_chroot(clarion, rootfs):
    p = run([CHROOT, "--userspec=65532:65532", rootfs, "/usr/bin/clarion", "version"],
            env={"PATH": "/usr/bin", "HOME": "/home/nonroot"})
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("clarion ") and "libcurl" in p.stdout
    # Nothing else to run: no shell, no package manager.
    for absent in ("bin/sh", "usr/bin/sh", "usr/bin/dpkg", "usr/bin/apt"):
        assert not os.path.lexists(os.path.join(rootfs, absent)), absent
    with open(os.path.join(rootfs, "etc", "passwd")) as f:
        assert "nonroot:x:65532:65532:" in f.read()
    st = os.stat(os.path.join(rootfs, "tmp"))
    assert st.st_mode & 0o7777 == 0o1777


def test_image_reads_an_rpm_database_under_chroot(clarion, rootfs):
    """librpm reads /usr/lib/rpm/rpmrc and macros before any database: the
    image has to carry them, or every rpm-based image fails to index."""
    alma = os.path.join(rootfs, "tmp", "alma")
    os.makedirs(os.path.join(alma, "var", "lib", "rpm"))
    os.makedirs(os.path.join(alma, "etc"))
    sc = os.path.join(FIXTURES, "scanners")
    shutil.copyfile(os.path.join(sc, "alma9-rpmdb.sqlite"),
                    os.path.join(alma, "var", "lib", "rpm", "rpmdb.sqlite"))
    shutil.copyfile(os.path.join(sc, "alma9-os-release"), os.path.join(alma, "etc", "os-release"))
    for d, _, fs in os.walk(alma):
        os.chmod(d, 0o755)
        for f in fs:
            os.chmod(os.path.join(d, f), 0o644)
    try:
        p = run([CHROOT, "--userspec=65532:65532", rootfs, "/usr/bin/clarion", "index",
                 "--db", "/tmp/alma.db", "--format", "json", "dir:/tmp/alma"],
                env={"PATH": "/usr/bin", "HOME": "/home/nonroot"})
        assert p.returncode == 0, p.stderr
        r = json.loads(p.stdout)
        assert [d["name"] for d in r["distributions"].values()] == ["AlmaLinux"]
        assert len(r["packages"]) > 0
    finally:
        shutil.rmtree(alma, ignore_errors=True)
        for f in os.listdir(os.path.join(rootfs, "tmp")):
            os.unlink(os.path.join(rootfs, "tmp", f))


def test_image_serves_as_nonroot_under_chroot(clarion, image, rootfs):
    """The image's entrypoint as the container runtime starts it (uid
    65532, its own root), with a configuration that fetches no feeds (no
    Internet here) and keeps its SQLite database where the image's user
    may write: healthy, and an orderly stop on SIGTERM."""
    api, intro = free_port(), free_port()
    cfg = os.path.join(rootfs, "tmp", "serve.yaml")
    with open(cfg, "w") as f:
        f.write('http_listen_addr: "127.0.0.1:%d"\nintrospection_addr: "127.0.0.1:%d"\n'
                "database: /var/lib/clarion/clarion.db\nupdaters:\n  sets: []\n"
                % (api, intro))
    os.chmod(cfg, 0o644)
    argv = image["config"]["config"]["Entrypoint"] + ["serve", "-c", "/tmp/serve.yaml"]
    proc = subprocess.Popen([CHROOT, "--userspec=65532:65532", rootfs] + argv,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={"PATH": "/usr/bin", "HOME": "/home/nonroot"})
    try:
        assert wait_for(proc, "http://127.0.0.1:%d/healthz" % intro), \
            proc.communicate(timeout=10)[0]
        status, body = http("GET", "http://127.0.0.1:%d/indexer/api/v1/index_state" % api)
        assert status == 200 and b"state" in body
    finally:
        proc.send_signal(signal.SIGTERM)
        out = proc.communicate(timeout=30)[0]
        os.unlink(cfg)
    assert proc.returncode == 0, out
    assert os.path.exists(os.path.join(rootfs, "var", "lib", "clarion", "clarion.db"))


def test_image_status_d_lists_its_packages(image, rootfs):
    sd = os.path.join(rootfs, "var", "lib", "dpkg", "status.d")
    names = sorted(os.listdir(sd))
    for pkg in EXPECTED_PACKAGES:
        assert pkg in names
    for n in names:
        with open(os.path.join(sd, n)) as f:
            text = f.read()
        assert text.startswith("Package: %s\n" % n)
        assert "\nVersion: %s\n" % host_version(n)[0] in text
        # The host's installation state is not the image's.
        assert "\nStatus:" not in text and "\nConffiles:" not in text


@pytest.fixture(scope="module")
def filled(clarion, tmp_path_factory):
    """(db, env): a SQLite database filled by `clarion update` from a Debian
    tracker document served on 127.0.0.1 whose bookworm records name the
    image's own sources: openssl fixed above this machine's version
    (vulnerable), curl open (vulnerable, no fix), zlib fixed long ago (not
    vulnerable)."""
    top = tmp_path_factory.mktemp("feed")
    env = clean_env(top / "home")
    ssl_src_version = host_version("libssl3")[2]
    tracker = {
        "openssl": {"CVE-2099-10001": {
            "description": "made up for clarion's deploy test", "scope": "remote",
            "releases": {"bookworm": {"status": "resolved",
                                      "repositories": {"bookworm": ssl_src_version + "+zz1"},
                                      "fixed_version": ssl_src_version + "+zz1",
                                      "urgency": "high"}}}},
        "curl": {"CVE-2099-10002": {
            "description": "made up for clarion's deploy test", "scope": "remote",
            "releases": {"bookworm": {"status": "open",
                                      "repositories": {"bookworm": host_version("libcurl4")[2]},
                                      "urgency": "medium"}}}},
        "zlib": {"CVE-2099-10003": {
            "description": "made up for clarion's deploy test", "scope": "remote",
            "releases": {"bookworm": {"status": "resolved",
                                      "repositories": {"bookworm": host_version("zlib1g")[2]},
                                      "fixed_version": "1:1.0-1", "urgency": "low"}}}},
    }
    db = str(top / "clarion.db")
    with FeedServer(top / "feeds") as fs:
        fs.put("debian/json", json.dumps(tracker).encode())
        cfg = {"updaters": {"sets": ["debian"], "config": {"debian": {
            "url": fs.url("debian/json"), "mirror": fs.url("debian/mirror/"),
            "releases": "bookworm=12"}}}}
        p = update(clarion, db, cfg, top, env, "--source", "debian")
        assert p.returncode == 0, p.stdout + p.stderr
    return db, env


def test_scan_own_image(clarion, image, filled):
    db, env = filled
    ref = "oci:%s:%s" % (image["layout"], VERSION)
    # The packages, as Clair's IndexReport gives them.
    p = run([clarion, "index", "--db", db, "--format", "json", ref], env=env)
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert r["manifest_hash"] == image["digest"]
    assert [(d["did"], d["version_id"]) for d in r["distributions"].values()] == [("debian", "12")]
    pkgs = {x["name"]: x for x in r["packages"].values()}
    for name in EXPECTED_PACKAGES:
        assert name in pkgs, name
        version, source, source_version = host_version(name)
        assert pkgs[name]["version"] == version
        assert pkgs[name]["source"]["name"] == source
        assert pkgs[name]["source"]["version"] == source_version

    # The findings.
    p = run([clarion, "scan", "--db", db, "--format", "json", ref], env=env)
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert r["distribution"]["did"] == "debian"
    assert r["distribution"]["version_id"] == "12"
    found = {(f["package"], f["vulnerability"]) for f in r["findings"]}
    assert ("libssl3", "CVE-2099-10001") in found
    assert ("libcurl4", "CVE-2099-10002") in found
    assert not [f for f in found if f[1] == "CVE-2099-10003"]

    # The table a person reads names the distribution and the findings.
    p = run([clarion, "scan", "--db", db, ref], env=env)
    assert p.returncode == 0, p.stderr
    assert "Debian GNU/Linux 12 (bookworm)" in p.stdout
    assert "CVE-2099-10001" in p.stdout and "libssl3" in p.stdout


def test_docker_archive_is_the_same_image(clarion, image, tmp_path):
    archive = os.path.join(image["out"], "clarion.tar")
    with tarfile.open(archive) as t:
        m = json.load(t.extractfile("manifest.json"))
        assert m[0]["RepoTags"] == ["clarion:" + VERSION]
        assert m[0]["Config"] == image["manifest"]["config"]["digest"][7:] + ".json"
        layers = [t.extractfile(l).read() for l in m[0]["Layers"]]
    assert layers == image["layers"]
    env = clean_env(tmp_path / "home")
    reports = []
    for ref in ("oci:" + image["layout"], "docker-archive:" + archive):
        p = run([clarion, "index", "--db", str(tmp_path / "c.db"), "--format", "json", ref],
                env=env)
        assert p.returncode == 0, p.stderr
        reports.append(json.loads(p.stdout))
    names = [sorted(p["name"] for p in r["packages"].values()) for r in reports]
    assert names[0] == names[1] and "libc6" in names[0]


def test_image_is_reproducible(clarion, image, tmp_path):
    again = make_image(clarion, tmp_path / "again")
    assert again == image["digest"]
    with open(os.path.join(image["out"], "clarion.tar"), "rb") as a, \
            open(tmp_path / "again" / "clarion.tar", "rb") as b:
        assert a.read() == b.read()
    # The time is an input: another SOURCE_DATE_EPOCH, another image.
    other = make_image(clarion, tmp_path / "other", epoch="1700000001")
    assert other != image["digest"]


def test_make_image_refuses_a_missing_binary(tmp_path):
    p = run([MAKE_IMAGE, "--binary", str(tmp_path / "nothing"), "--out", str(tmp_path)])
    assert p.returncode == 2
    assert "no such executable" in p.stderr


# ---- the Kubernetes manifests ------------------------------------------------------

@pytest.fixture(scope="module")
def npm_modules():
    """BUILD/npm with tests/deploy's pinned packages, installed by `npm ci`
    once per lock file.  Skips only when npm cannot install them here; CI
    (CI set) has npm and must run these tests."""
    def unavailable(why):
        if os.environ.get("CI"):
            pytest.fail("CI: %s" % why)
        pytest.skip(why)

    if not shutil.which("node") or not shutil.which("npm"):
        unavailable("node/npm not installed (scripts/install-deps installs them)")
    prefix = os.path.join(os.path.dirname(os.path.abspath(clarion_path())), "npm")
    os.makedirs(prefix, exist_ok=True)
    src = os.path.join(TOP, "tests", "deploy")
    with open(os.path.join(src, "package-lock.json"), "rb") as f:
        lock = f.read()
    stamp = os.path.join(prefix, "node_modules", ".clarion-lock")
    try:
        with open(stamp, "rb") as f:
            if f.read() == lock:
                return prefix
    except OSError:
        pass
    for n in ("package.json", "package-lock.json"):
        shutil.copyfile(os.path.join(src, n), os.path.join(prefix, n))
    p = run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=prefix,
            timeout=300)
    if p.returncode != 0:
        unavailable("npm ci of tests/deploy/package-lock.json failed: %s"
                    % (p.stderr.strip().splitlines() or ["?"])[-1])
    with open(stamp, "wb") as f:
        f.write(lock)
    return prefix


def validate(npm_modules, manifest=MANIFEST, config=CONFIG):
    return run(["node", VALIDATE, "--modules", npm_modules, "--config", config,
                "--external", "Secret/clarionsecret",
                "--config-secret", "clarionsecret/config.yaml", manifest])


def test_manifests_are_valid(npm_modules):
    p = validate(npm_modules)
    assert p.returncode == 0, p.stdout + p.stderr
    assert re.search(r"^\d+ passed, 0 failed$", p.stdout, re.M), p.stdout
    out = p.stdout
    for kind_name in ("Service/clarionsvc", "Deployment/clarion", "Deployment/clarion-postgres",
                      "Service/postgres", "PersistentVolumeClaim/clarion-postgres"):
        assert "%s: schema" % kind_name in out, kind_name


def test_lab_objects(npm_modules):
    """What the lab's commands expect: the names, NodePort 30060, two
    replicas, PostgreSQL 15 on a claim, the config from the Secret."""
    with open(MANIFEST) as f:
        docs = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(f) if d}
    svc = docs[("Service", "clarionsvc")]
    assert svc["spec"]["type"] == "NodePort"
    api = [p for p in svc["spec"]["ports"] if p["port"] == 6060][0]
    assert api["nodePort"] == 30060
    assert 8089 in [p["port"] for p in svc["spec"]["ports"]]
    dep = docs[("Deployment", "clarion")]
    assert dep["spec"]["replicas"] == 2
    pg = docs[("Deployment", "clarion-postgres")]["spec"]["template"]["spec"]
    assert pg["containers"][0]["image"] == "postgres:15"
    assert pg["volumes"][0]["persistentVolumeClaim"]["claimName"] == "clarion-postgres"
    assert ("Service", "postgres") in docs


MUTATIONS = [
    ("replicas: 2", 'replicas: "two"', "spec/replicas must be integer"),
    ("targetPort: api", "targetPort: http", "targetPort http is a port"),
    ("path: config.yaml", "path: settings.yaml",
     "reads /etc/clarion/config.yaml from Secret clarionsecret key config.yaml"),
    ("secretName: clarionsecret", "secretName: clairsecret", "Secret clairsecret exists"),
    ("              path: /readyz\n              port: introspection",
     "              path: /readyz\n              port: metrics",
     "readinessProbe port metrics is a container port"),
    ("    app.kubernetes.io/component: database\n  ports:",
     "    app.kubernetes.io/component: db\n  ports:",
     "Service/postgres: selects the pods of exactly one workload"),
    ("            readOnlyRootFilesystem: true\n            capabilities:\n"
     "              drop: [\"ALL\"]\n          volumeMounts:\n            - name: config",
     "            readOnlyRootFilesystem: false\n            capabilities:\n"
     "              drop: [\"ALL\"]\n          volumeMounts:\n            - name: config",
     "container clarion: readOnlyRootFilesystem"),
    ("POSTGRES_PASSWORD: change-me-too", "POSTGRES_PASSWORD: other",
     "database user, password and name are those of PostgreSQL's Secret"),
]


@pytest.mark.parametrize("old,new,fail", MUTATIONS, ids=[m[2][:40] for m in MUTATIONS])
def test_validator_catches(npm_modules, tmp_path, old, new, fail):
    with open(MANIFEST) as f:
        text = f.read()
    assert text.count(old) == 1, old
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace(old, new))
    p = validate(npm_modules, manifest=str(bad))
    assert p.returncode == 1, p.stdout
    fails = [l for l in p.stdout.splitlines() if l.startswith("FAIL: ")]
    assert any(fail in l for l in fails), "\n".join(fails)


def test_validator_checks_the_config_against_the_manifests(npm_modules, tmp_path):
    with open(CONFIG) as f:
        text = f.read()
    bad = tmp_path / "config.yaml"
    bad.write_text(text.replace('introspection_addr: ":8089"', 'introspection_addr: ":9089"')
                   .replace("@postgres:5432/", "@postgresql:5432/"))
    p = validate(npm_modules, config=str(bad))
    assert p.returncode == 1
    assert "FAIL: %s: introspection_addr :9089 is a container port" % bad in p.stdout
    assert "FAIL: %s: database host postgresql:5432 is a Service port" % bad in p.stdout


# ---- deploy/config.yaml as two replicas ------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None, timeout=60):
    req = urllib.request.Request(url, data=body, method=method)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def wait_for(proc, url, seconds=90):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            if http("GET", url, timeout=2)[0] == 200:
                return True
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.2)
    return False


@pytest.fixture
def pg_url(fresh_pg):
    """A database of this test's own (conftest.py): the replicas' update
    operation must be the only one, whatever ran before on the server."""
    return fresh_pg()


def test_example_config_runs_two_replicas(clarion, pg_url, tmp_path):
    """deploy/config.yaml with the PostgreSQL address changed, as two
    replicas on one PostgreSQL.  What a cluster gives and one host does not
    is changed too, and nothing else: each replica's own listen addresses
    (pods have their own network; here both share loopback), the Debian
    feed's address (no Internet; a loopback feed server instead) and the
    notifier's receiver (on loopback)."""
    p = run([clarion, "serve", "--help"])
    if p.returncode != 0:
        pytest.skip("clarion serve is not in this build: %s" % p.stderr.strip()[:200])
    with open(CONFIG) as f:
        base = f.read()
    with open(os.path.join(FIXTURES, "feeds", "debian", "tracker-json-sample.json"), "rb") as f:
        tracker = f.read()
    # A Debian 10 image whose libjs-prototype the sample tracker fixes in
    # 1.6.0.2-1 (CVE-2008-7220); its layer is served like a registry blob.
    img = images.build_image([{
        "var/lib/dpkg/status": (
            "Package: libjs-prototype\nStatus: install ok installed\nArchitecture: all\n"
            "Source: prototypejs\nVersion: 1.6.0-1\nDescription: x\n").encode(),
        "etc/os-release": b'NAME="Debian GNU/Linux"\nVERSION_ID="10"\n'
                          b'VERSION_CODENAME=buster\nID=debian\n'}])
    procs = []
    with FeedServer(tmp_path / "feeds") as fs:
        fs.put("debian/json", tracker)
        layer = img.layers[0].blob
        fs.put("blobs/" + layer.digest, layer.data)
        receiver = fs.url("webhook")
        replicas = []
        for name in ("a", "b"):
            api, intro = free_port(), free_port()
            text = base
            subs = [
                (r'(?m)^database: .*$', 'database: "%s"' % pg_url),
                (r'(?m)^http_listen_addr: .*$', 'http_listen_addr: "127.0.0.1:%d"' % api),
                (r'(?m)^introspection_addr: .*$',
                 'introspection_addr: "127.0.0.1:%d"' % intro),
                (r'(?ms)^  sets:\n(    - \w+\n)+',
                 '  sets: [debian]\n  config:\n    debian:\n      url: "%s"\n'
                 '      mirror: "%s"\n      releases: "buster=10"\n'
                 % (fs.url("debian/json"), fs.url("debian/mirror/"))),
                (r'(?m)^    target: .*$', '    target: "%s"' % receiver),
            ]
            for pat, rep in subs:
                text, n = re.subn(pat, rep, text)
                assert n == 1, pat
            cfg = tmp_path / ("config-%s.yaml" % name)
            cfg.write_text(text)
            log = open(tmp_path / ("serve-%s.log" % name), "w")
            proc = subprocess.Popen([clarion, "serve", "-c", str(cfg)], stdout=log,
                                    stderr=subprocess.STDOUT,
                                    env=clean_env(tmp_path / ("home-" + name)))
            procs.append(proc)
            replicas.append(("http://127.0.0.1:%d" % api, "http://127.0.0.1:%d" % intro, proc))

        def logs():
            return "\n".join((tmp_path / ("serve-%s.log" % n)).read_text() for n in "ab")

        try:
            for api, intro, proc in replicas:
                assert wait_for(proc, intro + "/readyz"), logs()
                assert http("GET", intro + "/healthz")[0] == 200
            # Index through replica a.
            manifest = {"hash": img.digest, "layers": [
                {"hash": layer.digest, "uri": fs.url("blobs/" + layer.digest), "headers": {}}]}
            status, body = http("POST", replicas[0][0] + "/indexer/api/v1/index_report",
                                json.dumps(manifest).encode())
            assert status == 201, body
            assert json.loads(body)["state"] == "IndexFinished", body
            # Report through replica b.  202 means b has not loaded the
            # data a stored yet (it polls the database's update counter):
            # a client asks again, as Clair's clients do.
            deadline = time.monotonic() + 60
            while True:
                status, body = http("GET", replicas[1][0] +
                                    "/matcher/api/v1/vulnerability_report/" + img.digest)
                if status != 202 or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            assert status == 200, body
            vulns = json.loads(body)["vulnerabilities"]
            assert "CVE-2008-7220" in [v["name"] for v in vulns.values()], body[:2000]
            # Both started an updater run; the database lock let one fetch
            # and store; the other found it current.
            status, body = http("GET", replicas[1][0] +
                                "/matcher/api/v1/internal/update_operation")
            assert status == 200, body
            ops = [op for name, l in json.loads(body).items() if "debian" in name for op in l]
            assert len(ops) == 1, body
            # Metrics for Prometheus.
            status, body = http("GET", replicas[0][1] + "/metrics")
            assert status == 200 and b"# TYPE" in body
        finally:
            for _, _, proc in replicas:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            codes = []
            for _, _, proc in replicas:
                try:
                    codes.append(proc.wait(timeout=30))
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                    codes.append("killed")
        assert codes == [0, 0], logs()
