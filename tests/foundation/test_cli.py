"""The command line: version, help for every command, exit statuses, one-line errors."""

from __future__ import annotations

import subprocess
import sys

from readiness import __version__
from readiness.cli import cli


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "readiness", *args], capture_output=True, text=True, timeout=60)


def test_version():
    r = run("--version")
    assert r.returncode == 0 and __version__ in r.stdout


def test_help_lists_every_command_with_a_purpose():
    r = run("--help")
    assert r.returncode == 0
    # join click's wrapped continuation lines to one entry per command
    entries: dict[str, str] = {}
    name = None
    for line in r.stdout.split("Commands:")[1].splitlines():
        if line.startswith("  ") and not line.startswith("   ") and line.strip():
            name, _, purpose = line.strip().partition(" ")
            entries[name] = purpose.strip()
        elif name and line.strip():
            entries[name] += " " + line.strip()
    assert set(entries) == set(cli.list_commands(None))
    for name, purpose in entries.items():
        assert purpose and not purpose.endswith("..."), f"{name}: {purpose!r}"
        assert run(name, "--help").returncode == 0


def test_usage_errors_exit_2():
    r = run("no-such-command")
    assert r.returncode == 2
    r = run("run")
    assert r.returncode == 2 and "--site" in r.stderr


def test_missing_site_file_is_one_line_exit_2(tmp_path):
    r = run("run", "--site", str(tmp_path / "nope.yaml"), "--profile", "cloud-pbx-single-site")
    assert r.returncode == 2
    assert r.stderr.strip() == f"{tmp_path / 'nope.yaml'}: no such file"


def test_unknown_profile_is_one_line(tmp_path):
    site = tmp_path / "s.yaml"
    site.write_text("site: x\n")
    r = run("run", "--site", str(site), "--profile", "no-such-profile")
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "no such profile" in lines[0] and "cloud-pbx-single-site" in lines[0]


def test_abstract_profile_refused(tmp_path):
    site = tmp_path / "s.yaml"
    site.write_text("site: x\n")
    r = run("run", "--site", str(site), "--profile", "voice-baseline")
    assert r.returncode == 2 and "base for other profiles" in r.stderr


def test_profiles_metrics_and_schema():
    r = run("profiles", "metrics", "--json")
    assert r.returncode == 0 and '"rtp.loss_pct"' in r.stdout
    assert run("profiles", "schema").returncode == 0
    assert run("site", "schema").returncode == 0
