"""`readiness mos` run as a real command: output, --json keys, exit status 2 on bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "readiness", "mos", *args], capture_output=True, text=True,
                          timeout=60)


def test_text_output():
    p = run("--codec", "g711", "--one-way-ms", "120", "--loss-pct", "1", "--burst-ratio", "1.5")
    assert p.returncode == 0, p.stderr
    assert "MOS 4.25" in p.stdout and "R   86.6" in p.stdout
    for term in ("Ro", "Is", "Id", "Ie_eff", "mouth-to-ear Ta 120.0 ms"):
        assert term in p.stdout


def test_json_keys_and_values():
    p = run("--codec", "g711", "--one-way-ms", "120", "--loss-pct", "1", "--burst-ratio", "1.5", "--json")
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert set(d) >= {"r", "mos", "terms"}
    assert set(d["terms"]) >= {"Ro", "Is", "Id", "Ie_eff", "Ta_ms", "Ie", "Bpl", "Ppl", "BurstR"}
    t = d["terms"]
    assert d["r"] == pytest.approx(t["Ro"] - t["Is"] - t["Id"] - t["Ie_eff"])
    assert (t["Ta_ms"], t["Ppl"], t["BurstR"], t["Bpl"]) == (120, 1, 1.5, 25.1)


def test_network_delay_builds_mouth_to_ear():
    p = run("--codec", "g729", "--one-way-ms", "40", "--network", "--jitter-buffer-ms", "30", "--json")
    d = json.loads(p.stdout)
    assert d["terms"]["Ta_ms"] == pytest.approx(40 + 30 + 20 + 5)


def test_no_plc_and_estimates():
    assert json.loads(run("--one-way-ms", "0", "--loss-pct", "1", "--no-plc", "--json").stdout)["terms"]["Bpl"] == 4.3
    p = run("--codec", "opus", "--one-way-ms", "80", "--json")
    assert json.loads(p.stdout)["estimate"] is True


def test_mos_drops_with_loss():
    mos = [json.loads(run("--one-way-ms", "100", "--loss-pct", str(x), "--json").stdout)["mos"] for x in (0, 1, 5, 10)]
    assert mos == sorted(mos, reverse=True) and mos[-1] < 3.6


@pytest.mark.parametrize("args,message", [
    (["--one-way-ms", "100", "--loss-pct", "-1"], "loss"),
    (["--one-way-ms", "100", "--loss-pct", "101"], "loss"),
    (["--one-way-ms", "100", "--codec", "ilbc"], "unknown codec"),
    (["--one-way-ms", "-3"], "delay"),
    (["--one-way-ms", "100", "--burst-ratio", "0"], "burst"),
    (["--one-way-ms", "100", "--jitter-buffer-ms", "40"], "--network"),
    (["--one-way-ms", "100", "--codec", "g729", "--no-plc"], "G.711"),
    (["--one-way-ms", "abc"], "abc"),
    ([], "one-way-ms"),
])
def test_bad_input_one_line_exit_2(args, message):
    p = run(*args)
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert message in p.stderr
    assert len([ln for ln in lines if ln.strip()]) <= 3 and "Traceback" not in p.stderr


def test_help_says_mouth_to_ear():
    p = run("--help")
    assert p.returncode == 0 and "MOUTH-TO-EAR" in p.stdout and "--network" in p.stdout
