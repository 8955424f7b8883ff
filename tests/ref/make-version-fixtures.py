#!/usr/bin/python3
"""Regenerates tests/fixtures/versions/{dpkg,rpm}.txt from real data.

Developer tool, not run by `make check`.  Needs ../shared/data (beside the
checkout) and, for dpkg, a Debian system's /var/lib/dpkg/status.

    /usr/bin/python3 tests/ref/make-version-fixtures.py ../shared/data

Each output line is "package<TAB>version"; lines starting with '#' say
where the data came from.  The differential tests pair these versions up.
"""
import json
import lzma
import os
import random
import re
import sys
import tarfile

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(TOP, "tests", "fixtures", "versions")


def dpkg_versions(data):
    pairs = set()
    with open("/var/lib/dpkg/status", encoding="utf-8") as f:
        name = None
        for line in f:
            if line.startswith("Package: "):
                name = line.split()[1]
            elif line.startswith("Version: "):
                pairs.add((name, line.split()[1]))
            elif line.startswith("Source: "):
                m = re.match(r"Source: (\S+) \((\S+)\)", line)
                if m:
                    pairs.add((m.group(1), m.group(2)))
    for lst in ("DSA-list.xz", "DLA-list.xz"):
        with lzma.open(os.path.join(data, "debian", lst), "rt", encoding="utf-8") as f:
            for line in f:
                m = re.match(r"\t\[\w+\] - (\S+) (\S+)", line)
                if m and not m.group(2).startswith("<"):
                    pairs.add((m.group(1), m.group(2)))
    return pairs


def rpm_versions(data):
    pairs = set()
    path = os.path.join(data, "almalinux", "almalinux-osv-database.tar.xz")
    with tarfile.open(path) as tar:
        for member in tar:
            if not member.name.endswith(".json"):
                continue
            doc = json.load(tar.extractfile(member))
            for aff in doc.get("affected", []):
                name = aff.get("package", {}).get("name")
                for rng in aff.get("ranges", []):
                    for ev in rng.get("events", []):
                        for k in ("introduced", "fixed", "last_affected"):
                            v = ev.get(k)
                            if v and v != "0":
                                pairs.add((name, v))
    return pairs


def write(name, pairs, header, limit):
    pairs = sorted(pairs)
    if len(pairs) > limit:
        pairs = sorted(random.Random(name).sample(pairs, limit))
    with open(os.path.join(OUT, name + ".txt"), "w", encoding="utf-8") as f:
        for h in header:
            f.write("# " + h + "\n")
        f.write("# %d package/version pairs\n" % len(pairs))
        for p, v in pairs:
            f.write("%s\t%s\n" % (p, v))


def main():
    data = sys.argv[1] if len(sys.argv) > 1 else os.path.join(TOP, "..", "shared", "data")
    os.makedirs(OUT, exist_ok=True)
    write("dpkg", dpkg_versions(data), [
        "Real Debian versions: every Version: and Source: (version) of a Debian 12",
        "/var/lib/dpkg/status (855 packages), and every fixed version of the Debian",
        "security tracker's data/DSA/list and data/DLA/list (CVEDB/security-tracker",
        "mirror, commit 32127b7f220cd2d9fd9d0a5bb4affaa90a079ad9, 2023-04-02).",
        "Made by tests/ref/make-version-fixtures.py.",
    ], 12000)
    write("rpm", rpm_versions(data), [
        "Real RPM EVRs: the introduced/fixed events of AlmaLinux's OSV database",
        "(AlmaLinux/osv-database commit 948f47aa6b88c2f76af1ae8e75cf3da9aeaf4a6c,",
        "2026-08-21, advisories/, MIT), a deterministic sample.",
        "Made by tests/ref/make-version-fixtures.py.",
    ], 8000)


if __name__ == "__main__":
    main()
