"""The generator reports its own fidelity, checked against stalls the test makes itself: the caller's
media process and the responder's reflector process are each stopped (SIGSTOP) for a known time mid-call. The sender's
largest slip and its late packets, and the responder's longest hold and its late replies (its own
receive and send stamps), must show those stalls, and the run must then be incomplete (exit 2),
not failed: the network is not blamed for bursts the generator made."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from readiness.lab.responder_server import responder_running

STALL_S = 0.120
CLI = [sys.executable, "-m", "readiness"]


def _child(parent: int, name: bytes, deadline: float) -> int:
    while time.monotonic() < deadline:
        for kid in Path(f"/proc/{parent}/task/{parent}/children").read_text().split():
            if name in Path(f"/proc/{kid}/cmdline").read_bytes():
                return int(kid)
        time.sleep(0.05)
    raise AssertionError(f"process {parent} started no {name.decode()}")


def _stall(pid: int) -> None:
    os.kill(pid, signal.SIGSTOP)
    time.sleep(STALL_S)
    os.kill(pid, signal.SIGCONT)


def test_stalls_of_sender_and_responder_are_reported_and_blame_no_network(tmp_path):
    with responder_running(tmp_path) as (responder, port, key):
        out = tmp_path / "run.json"
        proc = subprocess.Popen(CLI + ["calls", f"sip:test@127.0.0.1:{port}", "--calls", "2", "--cps", "10",
                                       "--duration", "6", "--key-file", str(key), "--json", str(out), "-q",
                                       "--no-keep"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        media = _child(proc.pid, b"media_process", time.monotonic() + 20)
        reflector = _child(responder.pid, b"reflector_process", time.monotonic() + 20)
        time.sleep(2.5)                       # both calls up (media flows from the answer on)
        _stall(media)
        time.sleep(1.5)
        _stall(reflector)
        _, err = proc.communicate(timeout=90)
    assert proc.returncode == 2, err            # incomplete: the generator missed its bound
    doc = json.loads(out.read_text())
    stall_ms = STALL_S * 1000
    for c in doc["calls"]:
        assert c["answered"]
        print({k: c[k] for k in ("slip_max_ms", "late_packets", "hold_max_ms", "late_replies")})
        # the first packet due after the stop began waited the stall less up to one packet time
        assert stall_ms - 25 <= c["slip_max_ms"] <= stall_ms + 60, c
        assert stall_ms // 20 - 1 <= c["late_packets"] <= stall_ms // 20 + 3, c
        assert stall_ms - 25 <= c["hold_max_ms"] <= stall_ms + 60, c
        assert stall_ms // 20 - 1 <= c["late_replies"] <= stall_ms // 20 + 3, c
    s = doc["summary"]
    assert s["slip_max_ms"] == max(c["slip_max_ms"] for c in doc["calls"])
    assert s["late_packets"] == sum(c["late_packets"] for c in doc["calls"])
    verdicts = {c["id"]: c["verdict"] for c in doc["criteria"]}
    assert verdicts["generator-on-time"] == "fail" and verdicts["responder-on-time"] == "fail"
    assert doc["verdict"] == "incomplete"


def test_an_undisturbed_run_reports_a_generator_on_time(tmp_path):
    with responder_running(tmp_path) as (_, port, key):
        out = tmp_path / "run.json"
        p = subprocess.run(CLI + ["calls", f"sip:test@127.0.0.1:{port}", "--calls", "2", "--cps", "10",
                                  "--duration", "2", "--key-file", str(key), "--json", str(out), "-q", "--no-keep"],
                           capture_output=True, text=True, timeout=90)
    assert p.returncode == 0, p.stderr
    doc = json.loads(out.read_text())
    for c in doc["calls"]:
        assert c["slip_max_ms"] < 50 and c["hold_max_ms"] < 50
        assert c["late_packets"] >= 0 and c["late_replies"] >= 0
    assert {c["id"]: c["verdict"] for c in doc["criteria"]}["generator-on-time"] == "pass"
