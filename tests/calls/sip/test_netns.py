"""SIP across a veth pair between namespaces, with ground truth from the kernel and the wire:
nftables counters for injected loss, tshark captures for retransmission timing and DSCP."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ...conftest import REPO, need_tool
from ...netlab import Pair, veth_pair
from .peers import stop

pytestmark = pytest.mark.netns

# Retransmission timing tolerance: 50 ms is a tenth of T1. The timers are asyncio call_later
# handles, late only by event-loop latency; the capture timestamps are the kernel's.
TIMING_TOLERANCE_S = 0.05


class Capture:
    """tshark on a namespace interface, writing a pcap; started before traffic, stopped after."""

    def __init__(self, pair: Pair, ns: str, iface: str, bpf: str, pcap: Path):
        self.pcap = pcap
        self.proc = pair.popen(ns, [need_tool("tshark"), "-i", iface, "-f", bpf, "-w", str(pcap), "-q"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 20
        line = ""
        while time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            if "Capturing on" in line or not line:
                break
        if "Capturing on" not in line:
            self.stop()
            pytest.fail(f"tshark did not start: {line}")

    def stop(self) -> None:
        stop(self.proc, signal.SIGINT)          # tshark finishes the pcap on SIGINT

    def fields(self, display_filter: str, *names: str) -> list[list[str]]:
        out = subprocess.run(["tshark", "-r", str(self.pcap), "-Y", display_filter, "-T", "fields",
                              "-E", "separator=|"] + [a for n in names for a in ("-e", n)],
                             capture_output=True, text=True, timeout=30, check=True).stdout
        return [line.split("|") for line in out.splitlines() if line]


def _node(pair: Pair, ns: str, *args: str) -> subprocess.Popen:
    return pair.popen(ns, [sys.executable, "-m", "tests.calls.sip.node", *args], cwd=str(REPO),
                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _start_uas(pair: Pair, tmp: Path, *extra: str) -> subprocess.Popen:
    ready = tmp / "uas-ready.json"
    proc = _node(pair, pair.b, "uas", "--host", pair.b_ip, "--ready", str(ready), *extra)
    deadline = time.monotonic() + 20
    while not ready.exists() or not ready.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            _stop(proc)
            pytest.fail(f"UAS node did not start: {proc.stderr.read()}")
        time.sleep(0.05)
    return proc


def _call(pair: Pair, tmp: Path, target: str, *extra: str) -> dict:
    out = tmp / f"call-{time.monotonic_ns()}.json"
    proc = _node(pair, pair.a, "call", "--target", target, "--out", str(out), "--media-host", pair.a_ip, *extra)
    try:
        proc.wait(60)
    finally:
        _stop(proc)
    assert proc.returncode == 0, proc.stderr.read()
    return json.loads(out.read_text())


def _stop(proc: subprocess.Popen) -> str:
    stop(proc)
    return proc.stdout.read() if proc.stdout else ""


def _nft(pair: Pair, ns: str, rule: str) -> None:
    pair.run(ns, "nft", "add", "table", "inet", "lab")
    pair.run(ns, "nft", "add", "chain", "inet", "lab", "in", "{ type filter hook input priority 0; }")
    pair.run(ns, "nft", "add", "rule", "inet", "lab", "in", *rule.split())


def _counter(pair: Pair, ns: str) -> int:
    doc = json.loads(pair.run(ns, "nft", "-j", "list", "table", "inet", "lab").stdout)
    counts = [e["counter"]["packets"] for item in doc["nftables"] if "rule" in item
              for e in item["rule"]["expr"] if "counter" in e]
    assert len(counts) == 1
    return counts[0]


def test_retransmissions_follow_timer_a_and_the_2xx_is_repeated(tmp_path):
    need_tool("nft")
    with veth_pair() as pair:
        # drop the first two INVITEs on the way in to b, and the first 200 OK on the way in to a
        _nft(pair, pair.b, "udp dport 5060 numgen inc mod 1000 < 2 counter drop")
        _nft(pair, pair.a, "udp sport 5060 numgen inc mod 1000 == 1 counter drop")
        cap = Capture(pair, pair.b, pair.b_if, "udp port 5060", tmp_path / "b.pcap")
        uas = _start_uas(pair, tmp_path)
        try:
            result = _call(pair, tmp_path, f"sip:test@{pair.b_ip}:5060")
        finally:
            stats = _stop(uas)
            cap.stop()
        assert result["answered"] and result["bye"] == 200, result
        assert _counter(pair, pair.b) == 2 and _counter(pair, pair.a) == 1          # the ground truth
        assert result["retransmissions"] == 2
        # Timer A: T1, then 2*T1 (RFC 3261 17.1.1.2), as the caller saw it ...
        sent = result["invite_sent_s"]
        assert len(sent) == 3
        assert abs(sent[1] - 0.5) < TIMING_TOLERANCE_S and abs(sent[2] - 1.5) < TIMING_TOLERANCE_S
        # ... and as the wire saw it (the capture sees packets before b's input hook drops them)
        invites = [float(t) for t, in cap.fields(f'sip.Method == "INVITE" && ip.src == {pair.a_ip}',
                                                 "frame.time_relative")]
        assert len(invites) == 3
        assert abs(invites[1] - invites[0] - 0.5) < TIMING_TOLERANCE_S
        assert abs(invites[2] - invites[1] - 1.0) < TIMING_TOLERANCE_S
        for wire, own in zip([b - invites[0] for b in invites], sent):
            assert abs(wire - own) < TIMING_TOLERANCE_S
        # the UAS repeated its 200 OK after T1 because the first one was dropped before a (13.3.1.4)
        oks = [float(t) for t, in cap.fields(f'sip.Status-Code == 200 && sip.CSeq.method == "INVITE"',
                                             "frame.time_relative")]
        assert len(oks) == 2 and abs(oks[1] - oks[0] - 0.5) < TIMING_TOLERANCE_S
        # setup time INVITE -> 200 includes both losses: 1.5 s of Timer A plus 0.5 s of 2xx repeat
        assert abs(result["setup_ms"] - 2000) < 2 * TIMING_TOLERANCE_S * 1000
        assert json.loads(stats)["stats"]["answered"] == 1


def test_signalling_carries_the_configured_dscp_over_udp_tcp_and_tls(tmp_path, tls_files):
    cert, key = tls_files
    with veth_pair() as pair:
        cap = Capture(pair, pair.b, pair.b_if, "port 5060 or port 5061", tmp_path / "dscp.pcap")
        uas = _start_uas(pair, tmp_path, "--cert", str(cert), "--key", str(key))    # default CS3
        received = {}
        try:
            for kind, target in [("udp", f"sip:test@{pair.b_ip}:5060"),
                                 ("tcp", f"sip:test@{pair.b_ip}:5060;transport=tcp"),
                                 ("tls", f"sips:test@{pair.b_ip}:5061")]:
                result = _call(pair, tmp_path, target, "--transport", kind, "--dscp", "40",
                               "--cafile", str(cert))                                    # caller CS5
                assert result["answered"] and result["bye"] == 200, (kind, result)
                received[kind] = result["dscp_received"]
        finally:
            report = _stop(uas)
            cap.stop()
        # what each end read with IP_RECVTOS agrees with the wire (UDP; streams have no per-message TOS)
        assert received == {"udp": 24, "tcp": None, "tls": None}
        assert json.loads(report)["invite_dscp"] == [["udp", 40], ["tcp", None], ["tls", None]]
        rows = cap.fields("ip", "ip.src", "ip.dsfield.dscp", "udp.port", "tcp.port", "sip.Method",
                          "sip.Status-Code", "tls.record.content_type", "tls.record.opaque_type")
        by_source: dict[str, set[str]] = {}
        for src, dscp, *_ in rows:
            by_source.setdefault(src, set()).add(dscp)
        assert by_source == {pair.a_ip: {"40"}, pair.b_ip: {"24"}}, by_source
        src, dscp, udp, tcp, method, status, tls, opaque = range(8)
        assert {"INVITE", "ACK", "BYE"} <= {r[method] for r in rows if r[udp]}
        assert {"INVITE", "ACK", "BYE"} <= {r[method] for r in rows if r[tcp]}                # SIP over TCP
        handshake = {r[src] for r in rows if "22" in r[tls].split(",")}
        assert handshake == {pair.a_ip, pair.b_ip}                                      # TLS on 5061
        # SIP really went inside TLS: application-data records (TLS 1.3 names their outer type opaque_type, 23)
        # both ways, counted per record, not per segment (TCP may carry several records in one segment)
        app_data = {a: 0 for a in (pair.a_ip, pair.b_ip)}
        for r in rows:
            if "5061" in r[tcp]:
                app_data[r[src]] += (r[tls] + "," + r[opaque]).split(",").count("23")
        assert app_data[pair.a_ip] >= 3 and app_data[pair.b_ip] >= 2, app_data    # INVITE, ACK, BYE / 200, 200
