"""The product's claim: the verdict tells working QoS from missing QoS.

Namespaces A (caller) and B (responder and iperf3 server) joined by a veth pair, with a 4 Mbit/s
bottleneck on A's egress (environment.md: tbf and htb, no netem). `readiness calls --load-server`
scores the same calls alone, while iperf3 fills the link with best-effort TCP, and alone again:
* FIFO (tbf, one queue): the media waits behind the bulk traffic, the loaded phase's MOS falls and
  the under-load criteria of the profile fail (exit 1);
* htb with EF in its own class at the same total rate: the media passes the queue, the loaded
  phase looks like the idle ones, and every criterion passes (exit 0).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from readiness.lab.responder_server import write_key
from tests.netlab import Pair, veth_pair

from .test_ground_truth import SIP_PORT, _responder, _stop

pytestmark = pytest.mark.netns

IPERF_PORT = 5201
RATE = "4mbit"
CALLS = 4
DURATION_S = 15           # three phases of 5 s


def _fifo(pair: Pair) -> None:
    pair.run(pair.a, "tc", "qdisc", "add", "dev", pair.a_if, "root", "tbf", "rate", RATE, "burst", "16kb",
             "latency", "600ms")


def _ef_class(pair: Pair) -> None:
    """htb: EF (TOS 0xb8) in class 1:10 with priority, everything else in 1:20, same 4 Mbit/s in all
    and the same queue for best effort as the FIFO has, so only the classes differ."""
    dev = ["dev", pair.a_if]
    pair.run(pair.a, "tc", "qdisc", "add", *dev, "root", "handle", "1:", "htb", "default", "20")
    pair.run(pair.a, "tc", "class", "add", *dev, "parent", "1:", "classid", "1:1", "htb", "rate", RATE)
    pair.run(pair.a, "tc", "class", "add", *dev, "parent", "1:1", "classid", "1:10", "htb", "rate", "1mbit",
             "ceil", RATE, "prio", "0")
    pair.run(pair.a, "tc", "class", "add", *dev, "parent", "1:1", "classid", "1:20", "htb", "rate", "3mbit",
             "ceil", RATE, "prio", "1")
    # best effort gets the same 600 ms of queue as the FIFO (200 packets of 1,514 B at 4 Mbit/s)
    pair.run(pair.a, "tc", "qdisc", "add", *dev, "parent", "1:20", "handle", "20:", "pfifo", "limit", "200")
    pair.run(pair.a, "tc", "filter", "add", *dev, "parent", "1:", "protocol", "ip", "prio", "1", "u32",
             "match", "ip", "tos", "0xb8", "0xfc", "flowid", "1:10")


def _run(tmp_path: Path, shape) -> tuple[int, dict]:
    key = tmp_path / "key"
    write_key(key)
    with veth_pair("10.79.0") as pair:
        shape(pair)
        responder = _responder(pair, key, tmp_path / "responder.log")
        iperf = pair.popen(pair.b, ["iperf3", "-s", "-B", pair.b_ip, "-p", str(IPERF_PORT)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(0.5)
            out = tmp_path / "calls.json"
            argv = [sys.executable, "-m", "readiness", "calls", f"sip:test@{pair.b_ip}:{SIP_PORT}",
                    "--calls", str(CALLS), "--cps", "20", "--duration", str(DURATION_S), "--key-file", str(key),
                    "--load-server", f"{pair.b_ip}:{IPERF_PORT}", "--out", str(tmp_path / "runs"),
                    "--json", str(out), "-q"]
            p = pair.run(pair.a, *argv, check=False, timeout=DURATION_S + 90)
            assert out.exists(), f"no run document (exit {p.returncode}): {p.stderr}"
            assert "iperf3" not in _programs_in(pair.a), "the load's iperf3 is still running after the calls ended"
            return p.returncode, json.loads(out.read_text())
        finally:
            _stop(responder)
            iperf.kill()
            iperf.wait()


def _programs_in(ns: str) -> list[str]:
    names = []
    for pid in subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout.split():
        try:
            names.append(Path(f"/proc/{pid}/comm").read_text().strip())
        except OSError:
            pass
    return names


def _verdict(doc: dict, criterion: str) -> str:
    return next(v["verdict"] for v in doc["criteria"] if v["id"] == criterion)


def test_fifo_bottleneck_fails_the_under_load_criteria(tmp_path):
    status, doc = _run(tmp_path, _fifo)
    phases = doc["phases"]
    assert phases["load"]["error"] == "" and phases["load"]["bits_per_second_up"] > 2e6  # the load filled it
    alone, loaded = phases["alone"], phases["loaded"]
    assert alone["calls"] == loaded["calls"] == CALLS
    # the EF media queued behind up to 600 ms of bulk data: round trip and MOS show it
    assert loaded["rtt_ms_p95"] > alone["rtt_ms_p95"] + 50, phases
    assert loaded["mos_min"] < alone["mos_min"] - 0.2, phases
    assert _verdict(doc, "call-mos-drop-under-load") == "fail"
    assert _verdict(doc, "call-mos-under-load") == "fail"
    assert status == 1
    # the phase after the load is idle again
    assert phases["after"]["rtt_ms_p95"] < alone["rtt_ms_p95"] + 5, phases


def test_ef_class_keeps_calls_whole_under_the_same_load(tmp_path):
    status, doc = _run(tmp_path, _ef_class)
    phases = doc["phases"]
    assert phases["load"]["error"] == "" and phases["load"]["bits_per_second_up"] > 2e6
    alone, loaded = phases["alone"], phases["loaded"]
    assert loaded["loss_pct_up"] == 0.0, phases
    assert loaded["rtt_ms_p95"] < alone["rtt_ms_p95"] + 10, phases
    assert loaded["mos_min"] >= alone["mos_min"] - 0.05, phases
    assert phases["after"]["calls"] == CALLS and phases["after"]["loss_pct_up"] == 0.0, phases
    assert _verdict(doc, "call-mos-drop-under-load") == "pass"
    assert _verdict(doc, "call-mos-under-load") == "pass"
    assert status == 0, [v for v in doc["criteria"] if v["verdict"] != "pass"]
