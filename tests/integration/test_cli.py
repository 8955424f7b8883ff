"""The command line as a user meets it: help, version, vercmp, logging."""
import json
import os

from conftest import run


def test_help_lists_commands(clarion):
    p = run([clarion, "--help"])
    assert p.returncode == 0
    assert "usage: clarion" in p.stdout
    for cmd in ("db", "index", "scan", "update", "vercmp", "version"):
        assert "\n  %s " % cmd in p.stdout


def test_command_help(clarion):
    p = run([clarion, "vercmp", "--help"])
    assert p.returncode == 0
    assert p.stdout.startswith("usage: clarion vercmp SCHEME A B")


def test_unknown_command(clarion):
    p = run([clarion, "frobnicate"])
    assert p.returncode == 2
    assert "'frobnicate' is not a clarion command" in p.stderr


def test_no_command_prints_usage(clarion):
    p = run([clarion])
    assert p.returncode == 2
    assert "usage: clarion" in p.stderr


def test_version_names_build_and_libraries(clarion):
    p = run([clarion, "version"])
    assert p.returncode == 0
    lines = p.stdout.splitlines()
    assert lines[0].startswith("clarion ")
    assert lines[1].startswith("build: ")
    for lib in ("openssl: OpenSSL 3", "libcurl: ", "jansson: ", "libarchive: ",
                "zlib: ", "zstd: ", "isa-l: ", "sqlite: ", "libpq: ", "librpm: ",
                "libxml2: ", "libfyaml: "):
        assert "\n  " + lib in p.stdout, lib


def test_log_format_json(clarion):
    p = run([clarion, "--log-level", "debug", "--log-format", "json", "version"])
    assert p.returncode == 0
    lines = p.stderr.splitlines()
    assert lines, "no log line"
    rec = json.loads(lines[0])
    assert rec["level"] == "debug"
    assert "version" in rec["msg"]
    assert rec["time"].endswith("Z")


def test_log_format_human_and_level_filter(clarion):
    p = run([clarion, "--log-level", "debug", "version"])
    assert p.stderr.startswith("clarion: debug: running command 'version'")
    p = run([clarion, "version"])
    assert p.stderr == ""


def test_bad_global_options(clarion):
    p = run([clarion, "--log-level", "loud", "version"])
    assert p.returncode == 2
    assert "loud" in p.stderr
    p = run([clarion, "--log-format", "xml", "version"])
    assert p.returncode == 2
    assert "unknown format 'xml'" in p.stderr


def test_vercmp_answers(clarion):
    cases = [("dpkg", "1.0~rc1", "1.0", "<"), ("dpkg", "1:1.0", "2.0", ">"),
             ("dpkg", "1.0-1", "1.0-1", "="), ("rpm", "1.0^git1", "1.0", ">"),
             ("rpm", "1.0~rc1", "1.0", "<"), ("apk", "1.0_rc1", "1.0", "<"),
             ("apk", "1.0_p1", "1.0", ">"), ("semver", "v1.0.0-alpha.1", "1.0.0", "<"),
             ("pep440", "1.0.post1.dev2", "1.0.post1", "<"),
             ("maven", "1.0-SNAPSHOT", "1.0", "<"), ("gem", "1.0.a", "1.0", "<")]
    for scheme, a, b, want in cases:
        p = run([clarion, "vercmp", scheme, a, b])
        assert (p.returncode, p.stdout) == (0, want + "\n"), (scheme, a, b, p.stderr)


def test_vercmp_errors_exit_2(clarion):
    p = run([clarion, "vercmp", "nope", "1", "2"])
    assert p.returncode == 2
    assert "unknown version scheme 'nope'" in p.stderr
    assert p.stdout == ""
    p = run([clarion, "vercmp", "dpkg", "1:", "1.0"])
    assert p.returncode == 2
    assert "invalid dpkg version '1:'" in p.stderr
    p = run([clarion, "vercmp", "dpkg", "1.0"])
    assert p.returncode == 2
    assert "usage:" in p.stderr


def test_vercmp_batch(clarion):
    p = run([clarion, "vercmp", "--batch", "dpkg"], input="1.0\t2.0\n2.0 1.0\n1:\t1\n")
    assert p.stdout.splitlines()[:2] == ["<", ">"]
    assert p.stdout.splitlines()[2].startswith("! invalid dpkg version")
    assert p.returncode == 2


def test_invoked_as_unknown_link_name_runs_main(clarion, tmp_path):
    link = tmp_path / "clarion-dev"
    os.symlink(clarion, link)
    p = run([str(link), "version"])
    assert p.returncode == 0
