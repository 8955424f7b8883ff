"""Real container images built from files, in Python, without Docker.

    from harness import images
    img = images.build_image([
        {"etc/os-release": "ID=debian\\n", "usr/lib/x": images.Symlink("../y")},
        {"etc/.wh.motd": b""},                         # a whiteout, layer 2
    ], fmt="oci")                                       # or fmt="docker" (schema 2)
    digest = images.push(reg, "t/x", "1", img)          # reg: harness Registry or URL
    idx = images.build_index([img_amd64, img_arm64])   # OCI index / Docker list
    images.push(reg, "t/multi", "1", idx)
    images.write_oci_layout("/tmp/oci", img, tag="1")
    images.write_docker_archive("/tmp/x.tar", img, ["t/x:1"])  # `docker save`
    images.push_schema1(reg, "t/old", "1", img, key=key_pem)  # signed schema 1
                                              # (a Registry(schema1=True) only)

Layers are reproducible tars, as make-image.sh makes them (shared/tools):
GNU format, entries sorted by name and named like Docker's ("etc/x", no
"./"), parent directories added, uid/gid 0, mtime 0; gzip without a name
or time stamp.  The config carries rootfs.diff_ids (sha256 of each
uncompressed tar) and the manifest the compressed blobs' digests and sizes.

Pushing speaks the registry API itself (shared/reference/test-infra.md
1.6): HEAD the blob, POST /blobs/uploads/, PUT <Location>&digest= with the
whole body (a monolithic upload), then PUT the manifest with its media type
as Content-Type.  Basic and Bearer (token server) auth are answered.
"""
import base64
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import ssl
import subprocess
import tarfile
import urllib.error
import urllib.parse
import urllib.request

from .registry import urlopen

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = {
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
    "none": "application/vnd.oci.image.layer.v1.tar",
}
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = {
    "gzip": "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "none": "application/vnd.docker.image.rootfs.diff.tar",
}
DOCKER_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json"
DOCKER_SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"

EPOCH = "1970-01-01T00:00:00Z"
REF_NAME = "org.opencontainers.image.ref.name"


def sha256_digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical_json(obj):
    """Compact JSON with sorted keys: the same bytes every time."""
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


# ---- layer contents ---------------------------------------------------

class File:
    """A regular file; a plain str or bytes value in a layer dict is one too."""

    def __init__(self, data=b"", mode=0o644):
        self.data = data.encode() if isinstance(data, str) else data
        self.mode = mode


class Dir:
    def __init__(self, mode=0o755):
        self.mode = mode


class Symlink:
    def __init__(self, target):
        self.target = target


class Hardlink:
    """A hard link to another path of the same layer."""

    def __init__(self, target):
        self.target = target


def _norm(path):
    path = path.lstrip("/")
    while path.startswith("./"):
        path = path[2:]
    return path.rstrip("/")


def make_tar(files):
    """The bytes of a reproducible tar of files ({path: content})."""
    entries = {}
    for path, what in files.items():
        path = _norm(path)
        if not path:
            continue
        if isinstance(what, (str, bytes)):
            what = File(what)
        entries[path] = what
        parts = path.split("/")
        for i in range(1, len(parts)):
            entries.setdefault("/".join(parts[:i]), Dir())
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for path in sorted(entries):
            what = entries[path]
            ti = tarfile.TarInfo(path)
            ti.uid = ti.gid = 0
            ti.uname = ti.gname = ""
            ti.mtime = 0
            data = None
            if isinstance(what, File):
                ti.type, ti.mode, ti.size = tarfile.REGTYPE, what.mode, len(what.data)
                data = io.BytesIO(what.data)
            elif isinstance(what, Dir):
                ti.type, ti.mode = tarfile.DIRTYPE, what.mode
            elif isinstance(what, Symlink):
                ti.type, ti.mode, ti.linkname = tarfile.SYMTYPE, 0o777, what.target
            elif isinstance(what, Hardlink):
                ti.type, ti.mode, ti.linkname = tarfile.LNKTYPE, 0o644, _norm(what.target)
            else:
                raise TypeError("unknown layer entry %r for %s" % (what, path))
            tar.addfile(ti, data)
    return out.getvalue()


def compress(data, compression):
    if compression == "gzip":
        return gzip.compress(data, compresslevel=6, mtime=0)
    if compression == "none":
        return data
    if compression == "zstd":
        if not shutil.which("zstd"):
            raise RuntimeError("zstd layers need the zstd program")
        return subprocess.run(["zstd", "-q", "-c"], input=data, check=True,
                              capture_output=True).stdout
    raise ValueError("compression must be gzip, zstd or none")


# ---- images -------------------------------------------------------------

class Blob:
    """Bytes with their digest and media type: what a descriptor names."""

    def __init__(self, data, media_type):
        self.data = data
        self.media_type = media_type
        self.digest = sha256_digest(data)
        self.size = len(data)

    def descriptor(self, **extra):
        d = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        d.update(extra)
        return d


class Layer:
    def __init__(self, tar, blob):
        self.tar = tar                       # the uncompressed tar
        self.diff_id = sha256_digest(tar)    # what the config lists
        self.blob = blob                     # what the manifest lists


class Image:
    """One image: config + layers + manifest, for one platform."""

    def __init__(self, layers, config, manifest, platform, fmt):
        self.layers = layers
        self.config = config
        self.manifest = manifest
        self.platform = platform  # {"architecture", "os"[, "variant"]}
        self.fmt = fmt

    @property
    def digest(self):
        return self.manifest.digest

    def blobs(self):
        return [self.config] + [layer.blob for layer in self.layers]


class Index:
    """An OCI image index or a Docker manifest list over several images."""

    def __init__(self, images, blob, fmt):
        self.images = images
        self.manifest = blob
        self.fmt = fmt

    @property
    def digest(self):
        return self.manifest.digest


def build_image(layers, arch="amd64", os_name="linux", variant=None, fmt="oci",
                compression="gzip", config=None, history=True):
    """An Image whose layers hold the given {path: content} dicts, lowest
    first.  fmt: "oci" or "docker" (Docker schema 2)."""
    if fmt not in ("oci", "docker"):
        raise ValueError("fmt must be oci or docker")
    layer_types = OCI_LAYER if fmt == "oci" else DOCKER_LAYER
    if compression not in layer_types:
        raise ValueError("%s layers cannot be %s" % (fmt, compression))
    built = []
    for files in layers:
        tar = make_tar(files)
        built.append(Layer(tar, Blob(compress(tar, compression), layer_types[compression])))
    platform = {"architecture": arch, "os": os_name}
    if variant:
        platform["variant"] = variant
    cfg = {
        "created": EPOCH,
        "architecture": arch,
        "os": os_name,
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in built]},
    }
    if variant:
        cfg["variant"] = variant
    if history:
        cfg["history"] = [{"created": EPOCH, "created_by": "harness layer %d" % (i + 1)}
                          for i in range(len(built))]
    if config:
        cfg.update(config)
    config_blob = Blob(canonical_json(cfg), OCI_CONFIG if fmt == "oci" else DOCKER_CONFIG)
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST if fmt == "oci" else DOCKER_MANIFEST,
        "config": config_blob.descriptor(),
        "layers": [layer.blob.descriptor() for layer in built],
    }
    mblob = Blob(canonical_json(manifest), manifest["mediaType"])
    return Image(built, config_blob, mblob, platform, fmt)


def build_index(images, fmt=None):
    """An OCI index (fmt "oci") or Docker manifest list ("docker") over
    images, each entry with its platform.  fmt defaults to the images'."""
    fmt = fmt or images[0].fmt
    media = OCI_INDEX if fmt == "oci" else DOCKER_LIST
    doc = {
        "schemaVersion": 2,
        "mediaType": media,
        "manifests": [img.manifest.descriptor(platform=img.platform) for img in images],
    }
    return Index(images, Blob(canonical_json(doc), media), fmt)


def schema1_manifest(image, name, tag):
    """The unsigned Docker schema 1 form of an image (layers newest first,
    one v1Compatibility history entry per layer)."""
    ids = _v1_ids(image)
    history = []
    for i, layer in enumerate(image.layers):
        v1 = {"id": ids[i], "created": EPOCH}
        if i:
            v1["parent"] = ids[i - 1]
        if i == len(image.layers) - 1:
            v1.update({"architecture": image.platform["architecture"],
                       "os": image.platform["os"]})
        history.append({"v1Compatibility": json.dumps(v1, separators=(",", ":"))})
    doc = {
        "schemaVersion": 1,
        "name": name,
        "tag": tag,
        "architecture": image.platform["architecture"],
        "fsLayers": [{"blobSum": layer.blob.digest} for layer in reversed(image.layers)],
        "history": list(reversed(history)),
    }
    return Blob(json.dumps(doc, indent=3).encode(), DOCKER_SCHEMA1)


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign_schema1(manifest, key, cert=None):
    """Signs an unsigned schema 1 manifest Blob the way libtrust (docker's
    signer) does: a JWS over the manifest without its closing brace and
    whitespace (formatLength / formatTail in the protected header), RS256
    with the public key as a JWK, the signatures appended as "signatures".
    key is an RSA private key PEM file (make_cert() makes one).  The
    registry's digest of the result is that of the unsigned bytes."""
    content = manifest.data
    close = len(content.rstrip()) - 1
    assert content[close:close + 1] == b"}"
    length = len(content[:close].rstrip())
    protected = _b64url(canonical_json({
        "formatLength": length,
        "formatTail": _b64url(content[length:]),
        "time": EPOCH}))
    signing_input = (protected + "." + _b64url(content)).encode()
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=signing_input,
                         check=True, capture_output=True).stdout
    modulus = subprocess.run(["openssl", "rsa", "-in", key, "-noout", "-modulus"], check=True,
                             capture_output=True, text=True).stdout.strip().split("=", 1)[1]
    jwk = {"kty": "RSA", "n": _b64url(bytes.fromhex(modulus)), "e": "AQAB"}
    sigs = [{"header": {"jwk": jwk, "alg": "RS256"}, "signature": _b64url(sig),
             "protected": protected}]
    # Go's json.MarshalIndent(sigs, "   ", "   "), as libtrust writes it.
    pretty = json.dumps(sigs, indent=3).replace("\n", "\n   ")
    signed = content[:length] + b',\n   "signatures": ' + pretty.encode() + b"\n}"
    return Blob(signed, DOCKER_SCHEMA1_SIGNED)


def _v1_ids(image):
    """Legacy layer IDs, chained as Docker's are: each depends on its parent."""
    ids, parent = [], ""
    for layer in image.layers:
        parent = hashlib.sha256(("%s %s" % (parent, layer.diff_id)).encode()).hexdigest()
        ids.append(parent)
    return ids


# ---- registry client ----------------------------------------------------

def _parse_challenge(value):
    """(scheme, {param: value}) of the first challenge; enough for the
    registries the tests start."""
    scheme, _, rest = value.strip().partition(" ")
    params = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', rest))
    return scheme.lower(), params


class RegistryClient:
    """A small registry API client for pushing test images."""

    def __init__(self, url, auth=None, ca=None, insecure=False):
        self.url = url.rstrip("/")
        self.auth = auth  # (user, password) or None
        self.ctx = None
        if self.url.startswith("https://"):
            self.ctx = ssl.create_default_context(cafile=ca)
            if insecure:
                self.ctx.check_hostname = False
                self.ctx.verify_mode = ssl.CERT_NONE
        self.authz = {}  # scope -> Authorization value

    def _basic(self):
        user, pw = self.auth
        return "Basic " + base64.b64encode(("%s:%s" % (user, pw)).encode()).decode()

    def _token(self, params, scope):
        q = {"service": params.get("service", "")}
        query = urllib.parse.urlencode(q) + "&scope=" + urllib.parse.quote(scope, safe="")
        req = urllib.request.Request(params["realm"] + "?" + query)
        if self.auth:
            req.add_header("Authorization", self._basic())
        with urlopen(req, timeout=30, context=self.ctx) as r:
            body = json.loads(r.read())
        return "Bearer " + (body.get("token") or body["access_token"])

    def request(self, method, path, body=None, headers=None, scope=None):
        """(status, headers, body); answers one 401 challenge."""
        url = path if path.startswith("http") else self.url + path
        for attempt in (0, 1):
            req = urllib.request.Request(url, data=body, method=method,
                                         headers=dict(headers or {}))
            if scope in self.authz:
                req.add_header("Authorization", self.authz[scope])
            try:
                with urlopen(req, timeout=60, context=self.ctx) as r:
                    return r.status, r.headers, r.read()
            except urllib.error.HTTPError as e:
                data = e.read()
                if e.code != 401 or attempt:
                    return e.code, e.headers, data
                scheme, params = _parse_challenge(e.headers.get("WWW-Authenticate", ""))
                if scheme == "basic" and self.auth:
                    self.authz[scope] = self._basic()
                elif scheme == "bearer":
                    self.authz[scope] = self._token(params, scope)
                else:
                    return e.code, e.headers, data
        raise AssertionError("unreachable")

    def has_blob(self, repo, digest):
        st, _, _ = self.request("HEAD", "/v2/%s/blobs/%s" % (repo, digest),
                                scope="repository:%s:pull,push" % repo)
        return st == 200

    def push_blob(self, repo, blob):
        scope = "repository:%s:pull,push" % repo
        if self.has_blob(repo, blob.digest):
            return
        st, hdrs, data = self.request("POST", "/v2/%s/blobs/uploads/" % repo, body=b"",
                                      scope=scope)
        if st != 202:
            raise RuntimeError("upload of %s refused: %d %s" % (blob.digest, st, data[:300]))
        loc = hdrs["Location"]
        if not loc.startswith("http"):
            loc = self.url + loc
        loc += ("&" if "?" in loc else "?") + "digest=" + urllib.parse.quote(blob.digest)
        st, _, data = self.request("PUT", loc, body=blob.data, scope=scope,
                                   headers={"Content-Type": "application/octet-stream",
                                            "Content-Length": str(blob.size)})
        if st != 201:
            raise RuntimeError("PUT of blob %s: %d %s" % (blob.digest, st, data[:300]))

    def push_manifest(self, repo, ref, blob):
        st, hdrs, data = self.request("PUT", "/v2/%s/manifests/%s" % (repo, ref),
                                      body=blob.data, scope="repository:%s:pull,push" % repo,
                                      headers={"Content-Type": blob.media_type})
        if st != 201:
            raise RuntimeError("PUT of manifest %s:%s: %d %s" % (repo, ref, st, data[:300]))
        return hdrs.get("Docker-Content-Digest", blob.digest)

    def get_manifest(self, repo, ref, accept=None):
        accept = accept or ", ".join([OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST,
                                      DOCKER_SCHEMA1_SIGNED, DOCKER_SCHEMA1])
        return self.request("GET", "/v2/%s/manifests/%s" % (repo, ref),
                            headers={"Accept": accept}, scope="repository:%s:pull" % repo)


def client_for(registry, auth=None, ca=None, insecure=False):
    """A RegistryClient for a harness Registry (its URL, CA and first user)
    or for a URL string."""
    if isinstance(registry, str):
        return RegistryClient(registry, auth=auth, ca=ca, insecure=insecure)
    return RegistryClient(registry.url, auth=auth or registry.credentials(),
                          ca=ca or registry.ca, insecure=insecure)


def push(registry, repo, tag, what, auth=None, ca=None):
    """Pushes an Image or Index (every blob and child manifest first) and
    tags it; returns the manifest digest the registry reports."""
    c = client_for(registry, auth=auth, ca=ca)
    images = what.images if isinstance(what, Index) else [what]
    for img in images:
        for blob in img.blobs():
            c.push_blob(repo, blob)
        if isinstance(what, Index):
            c.push_manifest(repo, img.digest, img.manifest)
    return c.push_manifest(repo, tag, what.manifest)


def push_schema1(registry, repo, tag, image, key=None, auth=None, ca=None):
    """Pushes an image's layers and its schema 1 manifest, signed with the
    RSA key file key (unsigned when None).  Returns (status, the registry's
    digest or its error body, the manifest Blob): distribution 2.8 refuses
    schema 1 unless started with schema1=True, and unsigned always."""
    c = client_for(registry, auth=auth, ca=ca)
    for layer in image.layers:
        c.push_blob(repo, layer.blob)
    m = schema1_manifest(image, repo, tag)
    if key:
        m = sign_schema1(m, key)
    st, hdrs, data = c.request("PUT", "/v2/%s/manifests/%s" % (repo, tag), body=m.data,
                               scope="repository:%s:pull,push" % repo,
                               headers={"Content-Type": m.media_type})
    return st, (hdrs.get("Docker-Content-Digest") if st == 201 else data), m


# ---- local layouts --------------------------------------------------------

def _write_blob(blobs_dir, blob_or_bytes):
    data = blob_or_bytes.data if isinstance(blob_or_bytes, Blob) else blob_or_bytes
    path = os.path.join(blobs_dir, sha256_digest(data)[7:])
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(data)


def write_oci_layout(directory, what, tag=None):
    """Writes an Image or Index into an OCI image layout directory (made if
    needed; an existing index.json is extended, an entry with the same tag
    replaced).  Returns the directory."""
    blobs = os.path.join(directory, "blobs", "sha256")
    os.makedirs(blobs, exist_ok=True)
    images = what.images if isinstance(what, Index) else [what]
    for img in images:
        for blob in img.blobs():
            _write_blob(blobs, blob)
        _write_blob(blobs, img.manifest)
    _write_blob(blobs, what.manifest)
    with open(os.path.join(directory, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    index_path = os.path.join(directory, "index.json")
    index = {"schemaVersion": 2, "manifests": []}
    if os.path.exists(index_path):
        with open(index_path) as f:
            index = json.load(f)
    desc = what.manifest.descriptor()
    if tag:
        desc["annotations"] = {REF_NAME: tag}
        index["manifests"] = [m for m in index["manifests"]
                              if m.get("annotations", {}).get(REF_NAME) != tag]
    index["manifests"].append(desc)
    with open(index_path, "wb") as f:
        f.write(canonical_json(index))
    return directory


def _tar_add(tar, name, data):
    ti = tarfile.TarInfo(name)
    ti.size, ti.mode, ti.mtime = len(data), 0o644, 0
    tar.addfile(ti, io.BytesIO(data))


def _tar_dir(tar, name):
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.mtime = tarfile.DIRTYPE, 0o755, 0
    tar.addfile(ti)


def write_docker_archive(path, image, repo_tags, style="legacy"):
    """Writes `docker save` output for one image: layers uncompressed.

    style "legacy" (docker up to 24): <id>/{VERSION,json,layer.tar},
    <config hex>.json, manifest.json and repositories.
    style "oci" (docker 25 and later): an OCI layout (blobs/sha256,
    index.json, oci-layout) plus manifest.json and repositories pointing
    into blobs/sha256.
    """
    if isinstance(repo_tags, str):
        repo_tags = [repo_tags]
    ids = _v1_ids(image)
    repos = {}
    for rt in repo_tags:
        name, _, tag = rt.rpartition(":")
        repos.setdefault(name, {})[tag] = ids[-1] if ids else ""
    with tarfile.open(path, "w", format=tarfile.GNU_FORMAT) as tar:
        if style == "legacy":
            config_name = image.config.digest[7:] + ".json"
            layer_names = []
            for i, layer in enumerate(image.layers):
                _tar_dir(tar, ids[i] + "/")
                _tar_add(tar, ids[i] + "/VERSION", b"1.0")
                v1 = {"id": ids[i], "created": EPOCH, "container_config": {}}
                if i:
                    v1["parent"] = ids[i - 1]
                _tar_add(tar, ids[i] + "/json", canonical_json(v1))
                _tar_add(tar, ids[i] + "/layer.tar", layer.tar)
                layer_names.append(ids[i] + "/layer.tar")
            _tar_add(tar, config_name, image.config.data)
        elif style == "oci":
            # The archive's own manifest lists the uncompressed layers.
            layers = [Blob(layer.tar, OCI_LAYER["none"]) for layer in image.layers]
            config = Blob(image.config.data, OCI_CONFIG)
            manifest = Blob(canonical_json({
                "schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": config.descriptor(),
                "layers": [b.descriptor() for b in layers]}), OCI_MANIFEST)
            _tar_dir(tar, "blobs/")
            _tar_dir(tar, "blobs/sha256/")
            for b in [config] + layers + [manifest]:
                _tar_add(tar, "blobs/sha256/" + b.digest[7:], b.data)
            _tar_add(tar, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
            index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
                manifest.descriptor(annotations={
                    "io.containerd.image.name": repo_tags[0] if repo_tags else "",
                    REF_NAME: repo_tags[0].rpartition(":")[2] if repo_tags else ""})]}
            _tar_add(tar, "index.json", canonical_json(index))
            config_name = "blobs/sha256/" + config.digest[7:]
            layer_names = ["blobs/sha256/" + b.digest[7:] for b in layers]
        else:
            raise ValueError("style must be legacy or oci")
        manifest_json = [{"Config": config_name, "RepoTags": list(repo_tags),
                          "Layers": layer_names}]
        _tar_add(tar, "manifest.json", canonical_json(manifest_json))
        _tar_add(tar, "repositories", canonical_json(repos))
    return path
