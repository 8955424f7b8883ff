#!/usr/bin/python3
"""A Debian security tracker JSON document of any size, for the feed
ingest benchmark (bench/ingest_bench.py, DESIGN.md section 7).

    /usr/bin/python3 bench/gen_debian_json.py [ROWS] > tracker.json

Writes the format of https://security-tracker.debian.org/tracker/data/json

    {source package: {CVE id: {description, scope, [debianbug],
        releases: {codename: {status, repositories: {suite: version},
                              [fixed_version], urgency, [nodsa, nodsa_reason]}}}}}

with about ROWS (default 1,500,000) (package, CVE, release) rows, and
prints what it made on stderr (packages, CVE ids, rows, the records clarion
should store: every row but the "resolved, fixed_version 0" ones, which
mean "never affected").

Everything named is real; only the combination is made up:

  package names  the source packages of this machine's /var/lib/dpkg/status
                 (`Source:`, else `Package:`) and of
                 tests/fixtures/versions/dpkg.txt (Debian 12 and the
                 tracker's DSA/DLA lists);
  CVE ids        the {CVE-...} references of the tracker's data/DSA/list
                 and data/DLA/list (../shared/data/debian/*-list.xz), else
                 every CVE id in tests/fixtures; a package's real DSA/DLA
                 CVEs come first, and the packages with the most of them
                 get the most CVEs (a Zipf share: the top ones thousands,
                 as linux and chromium have, the tail tens);
  versions       the package's own versions from dpkg.txt and the dpkg
                 status, in dpkg order: older releases get older versions,
                 a fixed version is never above its release's version;
                 a DSA/DLA's real fixed version where it names the release.

Mixes (per row, seeded by package name, so the output is the same on
every run with the same inputs): releases buster, bullseye, bookworm,
trixie, sid (most packages in all five, some only in newer or only in
older ones); status resolved / open / undetermined, more open in older
releases; about 7% of resolved rows "fixed_version": "0"; urgencies
"not yet assigned", unimportant, low, medium, high, the NVD-guessed "**"
forms and end-of-life for buster; nodsa / nodsa_reason on some open rows;
-security repositories beside some stable ones.  Descriptions are made
from phrases of the kind the tracker carries (the real ones are not
staged here).

`--fingerprint` prints a hash of the inputs and of this script: the same
fingerprint and ROWS give the same bytes.  bench/ingest_bench.py imports
generate() and caches its output under that fingerprint.
"""
import functools
import hashlib
import json
import lzma
import os
import random
import re
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(TOP), "shared", "data", "debian")
DPKG_STATUS = "/var/lib/dpkg/status"
VERSIONS = os.path.join(TOP, "tests", "fixtures", "versions", "dpkg.txt")
FIXTURES = os.path.join(TOP, "tests", "fixtures")
DEFAULT_ROWS = 1500000
SEED = "clarion-bench-debian-v1"

RELEASES = ["buster", "bullseye", "bookworm", "trixie", "sid"]
# Which releases a source package is in, and how often.
LIFESPANS = [(80, RELEASES), (7, RELEASES[1:]), (5, RELEASES[2:]),
             (3, RELEASES[3:]), (3, RELEASES[:3]), (2, RELEASES[:2])]
# (resolved, open, undetermined) per release, in percent.
STATUS_MIX = {"buster": (58, 38, 4), "bullseye": (64, 32, 4), "bookworm": (70, 26, 4),
              "trixie": (82, 16, 2), "sid": (86, 13, 1)}
NOT_AFFECTED = 7  # percent of resolved rows with fixed_version "0"
URGENCIES = [(24, "not yet assigned"), (14, "unimportant"), (22, "low"), (14, "medium"),
             (5, "high"), (10, "low**"), (8, "medium**"), (3, "high**")]
NODSA_REASONS = [(50, "postponed"), (30, "ignored"), (20, "")]
NODSA_TEXT = ["Minor issue", "Minor issue; can be fixed via point release",
              "Not covered by security support", "Intrusive to backport",
              "Revisit when fixed upstream"]

FLAWS = ["A buffer overflow", "A heap-based buffer overflow", "A use-after-free",
         "An integer overflow", "A NULL pointer dereference", "An out-of-bounds read",
         "An out-of-bounds write", "A double free", "A race condition",
         "Improper input validation", "A format string vulnerability",
         "Uncontrolled recursion", "A path traversal flaw", "Missing bounds checking",
         "An infinite loop", "Improper certificate validation", "A type confusion",
         "An uninitialized memory read", "A stack exhaustion flaw",
         "Incorrect access control"]
PLACES = ["the {f} function", "the {f} parser", "the handling of {f} records",
          "the {f} decoder", "{f} processing", "the {f} component"]
FUNCS = ["read_header", "parse_options", "decode_frame", "load_config", "inflate",
         "tls_handshake", "xml_parse_entity", "http_chunked", "dns_resolve",
         "image_load", "unpack_archive", "utf8_decode", "regex_compile", "auth_check",
         "cookie", "ASN.1", "PNG", "TIFF", "JPEG", "SMB", "URL", "MIME", "LDAP", "IPv6"]
ACTORS = ["remote attackers", "local users", "remote authenticated users",
          "context-dependent attackers", "attackers", "a malicious server",
          "a crafted file's author", "physically proximate attackers"]
IMPACTS = ["cause a denial of service (crash)", "execute arbitrary code",
           "cause a denial of service (memory consumption)",
           "obtain sensitive information from process memory",
           "bypass intended access restrictions", "gain privileges",
           "cause a denial of service (infinite loop) or possibly have unspecified "
           "other impact", "overwrite arbitrary files", "inject arbitrary web script or HTML",
           "spoof certificates"]
VECTORS = ["a crafted file", "a crafted network packet", "a long string",
           "a crafted HTTP request", "a malformed header", "a crafted archive",
           "a specially crafted image", "a symlink attack on a temporary file",
           "unspecified vectors", "a crafted certificate", "a crafted document"]


# ---- dpkg version order (dpkg's verrevcmp) -----------------------------------

def _order(c):
    if not c or c.isdigit():
        return 0
    if c == "~":
        return -1
    if c.isalpha():
        return ord(c)
    return ord(c) + 256


def _verrevcmp(a, b):
    i = j = 0
    la, lb = len(a), len(b)
    while i < la or j < lb:
        first_diff = 0
        while (i < la and not a[i].isdigit()) or (j < lb and not b[j].isdigit()):
            ac, bc = _order(a[i] if i < la else ""), _order(b[j] if j < lb else "")
            if ac != bc:
                return ac - bc
            i += 1
            j += 1
        while i < la and a[i] == "0":
            i += 1
        while j < lb and b[j] == "0":
            j += 1
        while i < la and j < lb and a[i].isdigit() and b[j].isdigit():
            if not first_diff:
                first_diff = ord(a[i]) - ord(b[j])
            i += 1
            j += 1
        if i < la and a[i].isdigit():
            return 1
        if j < lb and b[j].isdigit():
            return -1
        if first_diff:
            return first_diff
    return 0


def _split(v):
    epoch, _, rest = v.partition(":") if re.match(r"^\d+:", v) else ("0", "", v)
    up, _, rev = rest.rpartition("-") if "-" in rest else (rest, "", "")
    return int(epoch), up, rev


def dpkg_cmp(a, b):
    ea, ua, ra = _split(a)
    eb, ub, rb = _split(b)
    if ea != eb:
        return -1 if ea < eb else 1
    return _verrevcmp(ua, ub) or _verrevcmp(ra, rb)


# ---- inputs --------------------------------------------------------------------

def _read(path):
    if path.endswith(".xz"):
        with lzma.open(path, "rb") as f:
            return f.read()
    with open(path, "rb") as f:
        return f.read()


def _dpkg_status(text):
    """{source package: set of versions} of a dpkg status file."""
    out = {}
    for stanza in re.split(r"\n\s*\n", text):
        f = dict(re.findall(r"^(Package|Source|Version): *(.+)$", stanza, re.M))
        if "Package" not in f:
            continue
        src, ver = f["Package"].strip(), f.get("Version", "").strip()
        if "Source" in f:
            m = re.match(r"(\S+)(?:\s+\((\S+)\))?", f["Source"].strip())
            src, ver = m.group(1), m.group(2) or ver
        out.setdefault(src, set())
        if ver:
            out[src].add(ver)
    return out


def _dsa_lists(texts):
    """The tracker's DSA/DLA list files: ({package: [CVE ids]},
    {(package, CVE, release): fixed version})."""
    cves, fixed = {}, {}
    for text in texts:
        pkg, ids = None, []
        for line in text.splitlines():
            m = re.match(r"^\[[^]]+\]\s+D[SL]A-\S+\s+(\S+)", line)
            if m:
                pkg, ids = m.group(1), []
                continue
            if pkg is None:
                continue
            if line.lstrip().startswith("{"):
                ids = re.findall(r"CVE-\d{4}-\d{4,7}", line)
                lst = cves.setdefault(pkg, [])
                lst.extend(c for c in ids if c not in lst)
                continue
            m = re.match(r"^\s+\[(\w+)\]\s+-\s+(\S+)\s+(\S+)", line)
            if m and m.group(1) in RELEASES:
                rel, p, v = m.groups()
                if re.match(r"^[0-9]", v):
                    for c in ids:
                        fixed.setdefault((p, c, rel), v)
    return cves, fixed


def _fixture_cves():
    found = set()
    for d, _, files in sorted(os.walk(FIXTURES)):
        for name in sorted(files):
            path = os.path.join(d, name)
            try:
                data = _read(path)
            except (OSError, lzma.LZMAError):
                continue
            found.update(re.findall(rb"CVE-\d{4}-\d{4,7}", data))
    return sorted(c.decode() for c in found)


def input_paths():
    """The files generate() reads, in a fixed order (those that exist)."""
    lists = [os.path.join(SHARED, n) for n in ("DSA-list.xz", "DLA-list.xz")]
    paths = [DPKG_STATUS, VERSIONS] + [p for p in lists if os.path.exists(p)]
    return [p for p in paths if os.path.exists(p)]


def fingerprint():
    """A hash of this script and of its inputs: the same fingerprint and
    ROWS give the same document."""
    h = hashlib.sha256()
    with open(os.path.abspath(__file__), "rb") as f:
        h.update(f.read())
    paths = input_paths()
    if not any(p.endswith("-list.xz") for p in paths):
        h.update("\n".join(_fixture_cves()).encode())
    for p in paths:
        h.update(p.encode() + b"\0")
        h.update(_read(p))
    return h.hexdigest()[:16]


def load_inputs():
    versions = {}
    if os.path.exists(DPKG_STATUS):
        for src, vs in _dpkg_status(_read(DPKG_STATUS).decode("utf-8", "replace")).items():
            versions.setdefault(src, set()).update(vs)
    if os.path.exists(VERSIONS):
        for line in _read(VERSIONS).decode("utf-8", "replace").splitlines():
            if line.startswith("#") or "\t" not in line:
                continue
            p, v = line.split("\t", 1)
            versions.setdefault(p.strip(), set()).add(v.strip())
    lists = [p for p in input_paths() if p.endswith("-list.xz")]
    real, fixed = _dsa_lists([_read(p).decode("utf-8", "replace") for p in lists])
    if lists:
        pool = sorted({c for ids in real.values() for c in ids})
        cve_source = "DSA/DLA lists"
    else:
        pool, cve_source = _fixture_cves(), "tests/fixtures"
    # Only packages we have a name for from the status or dpkg.txt.
    real = {p: ids for p, ids in real.items() if p in versions}
    return versions, real, fixed, pool, cve_source


# ---- generation --------------------------------------------------------------------

def _pick(rng, weighted):
    x = rng.uniform(0, sum(w for w, _ in weighted))
    for w, v in weighted:
        x -= w
        if x < 0:
            return v
    return weighted[-1][1]


def _cve_key(c):
    _, y, n = c.split("-")
    return int(y), int(n)


def _description(rng, pkg, version):
    place = rng.choice(PLACES).format(f=rng.choice(FUNCS))
    text = "%s in %s in %s before %s allows %s to %s via %s." % (
        rng.choice(FLAWS), place, pkg, version.split(":")[-1].split("-")[0],
        rng.choice(ACTORS), rng.choice(IMPACTS), rng.choice(VECTORS))
    if rng.random() < 0.3:
        text += " NOTE: this vulnerability exists because of an incomplete fix for " \
                "CVE-%d-%04d." % (rng.randint(2005, 2023), rng.randint(1, 49999))
    return text


def _allocate(names, lifespans, pool_size, rows):
    """How many CVEs each package gets: a Zipf share of the rows by rank
    (most real DSA/DLA CVEs first), at most the whole pool; 0 for the tail
    when ROWS is small."""
    weights = [1.0 / (r + 5) for r in range(len(names))]
    per_pair = [len(lifespans[n]) for n in names]
    scale = rows / sum(w * k for w, k in zip(weights, per_pair))
    counts = [min(pool_size, int(w * scale)) for w in weights]
    total = sum(c * k for c, k in zip(counts, per_pair))
    while total < rows:  # what rounding down left: one more each, from the top
        grown = False
        for k in range(len(counts)):
            if total >= rows:
                break
            if counts[k] < pool_size:
                counts[k] += 1
                total += per_pair[k]
                grown = True
        if not grown:  # every package has the whole pool
            break
    return counts


def generate(rows, out, log=None):
    """Writes the document (bytes) to out; returns what it made."""
    versions, real, fixed, pool, cve_source = load_inputs()
    if not versions or not pool:
        raise RuntimeError("no package names or no CVE ids to build from")
    names = sorted(versions, key=lambda n: (-len(real.get(n, ())), n))
    lifespans = {n: _pick(random.Random("%s:life:%s" % (SEED, n)), LIFESPANS) for n in names}
    counts = _allocate(names, lifespans, len(pool), rows)
    stats = {"packages": 0, "rows": 0, "records": 0, "cves": set(), "bytes": 0,
             "statuses": {}, "cve_source": cve_source, "names": len(names),
             "real_pairs": 0}
    chosen = {}
    for n, c in zip(names, counts):
        if not c:
            continue
        rng = random.Random("%s:cves:%s" % (SEED, n))
        mine = sorted(real.get(n, ()), key=_cve_key)[:c]
        have = set(mine)
        stats["real_pairs"] += len(mine)
        while len(mine) < c:
            x = pool[rng.randrange(len(pool))]
            if x not in have:
                have.add(x)
                mine.append(x)
        chosen[n] = mine

    def emit(b):
        out.write(b)
        stats["bytes"] += len(b)

    emit(b"{")
    first = True
    for n in sorted(chosen):
        rng = random.Random("%s:pkg:%s" % (SEED, n))
        vs = sorted(versions[n], key=functools.cmp_to_key(dpkg_cmp)) or ["1.0-1"]
        rels = lifespans[n]
        # Each release's version: older releases older versions.
        repo = {}
        for k, r in enumerate(RELEASES):
            idx = min(len(vs) - 1, (k + 1) * len(vs) // len(RELEASES))
            repo[r] = vs[idx]
        doc = {}
        for cve in sorted(chosen[n], key=_cve_key):
            urgency = _pick(rng, URGENCIES)
            entry = {}
            if rng.random() < 0.9:
                entry["scope"] = "remote" if rng.random() < 0.7 else "local"
            if rng.random() < 0.3:
                entry["debianbug"] = rng.randint(300000, 1090000)
            entry["description"] = _description(rng, n, repo[rels[-1]])
            releases = {}
            for r in rels:
                status = _pick(rng, list(zip(STATUS_MIX[r], ("resolved", "open",
                                                             "undetermined"))))
                rel = {"status": status, "repositories": {r: repo[r]}}
                if r in ("bullseye", "bookworm") and rng.random() < 0.2:
                    rel["repositories"][r + "-security"] = repo[r]
                u = urgency
                if r == "buster" and rng.random() < 0.15:
                    u = "end-of-life"
                elif r == "sid" and rng.random() < 0.1:
                    u = "unimportant"
                if status == "resolved":
                    if rng.random() * 100 < NOT_AFFECTED:
                        rel["fixed_version"] = "0"
                    else:
                        real_fix = fixed.get((n, cve, r))
                        top = vs.index(repo[r])
                        rel["fixed_version"] = real_fix or vs[rng.randint(0, top)]
                        stats["records"] += 1
                else:
                    stats["records"] += 1
                    if r != "sid" and rng.random() < 0.4:
                        rel["nodsa"] = rng.choice(NODSA_TEXT)
                        rel["nodsa_reason"] = _pick(rng, NODSA_REASONS)
                rel["urgency"] = u
                releases[r] = rel
                stats["rows"] += 1
                stats["statuses"][status] = stats["statuses"].get(status, 0) + 1
            entry["releases"] = releases
            doc[cve] = entry
            stats["cves"].add(cve)
        emit((b"" if first else b", ") + json.dumps(n).encode() + b": " +
             json.dumps(doc).encode())
        first = False
        stats["packages"] += 1
        if log and stats["packages"] % 500 == 0:
            log("  %d/%d packages, %d rows" % (stats["packages"], len(chosen), stats["rows"]))
    emit(b"}\n")
    stats["cves"] = len(stats["cves"])
    return stats


def describe(st):
    mix = ", ".join("%s %.0f%%" % (k, 100.0 * v / max(1, st["rows"]))
                    for k, v in sorted(st["statuses"].items()))
    return ("%d packages, %d CVE ids (%s; %d real DSA/DLA package-CVE pairs), "
            "%d rows (%s), %d records expected, %.1f MB"
            % (st["packages"], st["cves"], st["cve_source"], st["real_pairs"], st["rows"],
               mix, st["records"], st["bytes"] / 1e6))


def main():
    args = sys.argv[1:]
    if args and args[0] in ("-h", "--help"):
        sys.stdout.write(__doc__)
        return 0
    if args and args[0] == "--fingerprint":
        print(fingerprint())
        return 0
    try:
        rows = int(args[0]) if args else DEFAULT_ROWS
    except ValueError:
        sys.stderr.write("usage: gen_debian_json.py [ROWS] > file\n")
        return 2
    if rows < 1:
        sys.stderr.write("gen_debian_json.py: ROWS must be positive\n")
        return 2
    if sys.stdout.isatty():
        sys.stderr.write("gen_debian_json.py: redirect the output to a file\n")
        return 2
    out = sys.stdout.buffer
    st = generate(rows, out)
    out.flush()
    sys.stderr.write("gen_debian_json.py: %s\n" % describe(st))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:
        sys.exit(1)
