"""Ground truth in network namespaces: `readiness calls` in namespace A, `readiness responder` in B,
joined by a veth pair, with the kernel (or a relay we log) doing the damage.

* loss: nftables rules drop media at random on each direction; what readiness reports lost up and
  down must equal each rule's packet counter exactly (the rules match media-sized datagrams only,
  so the session-closing fin exchange is never dropped);
* DSCP: an iptables DSCP rule (mangle POSTROUTING) re-marks EF to CS0 on one direction; that
  direction, and only that one, must report CS0 and 100 % re-marked; the same for SIP (CS3);
* delay: a userspace relay (relay.py) in B holds every packet for a seeded random time and logs it;
  per-packet RTT must match the relay's two holds within RTT_TOLERANCE_MS for 95 % of the packets
  (the veth hops and our own timestamps add 0.1-0.2 ms) and within RTT_TAIL_MS for 99 % (a 2-core
  machine delays the userspace relay now and then: p99 0.16-0.31 ms, once 0.505 ms), one-way medians within ONE_WAY_TOLERANCE_MS, and the
  jitter within JITTER_TOLERANCE_MS of the RFC 3550 jitter of the logged delays (computed by the
  same analysis layer).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from readiness.analysis.rtp_stats import RtpStreamAnalyser
from readiness.lab.responder_server import write_key
from readiness.probes.calls import directions
from readiness.probes.calls.media.trace import REPLY_DTYPE, load
from tests.netlab import Pair, veth_pair

pytestmark = pytest.mark.netns

MEDIA_PORT = 40000
RELAY_PORT = 41000
SIP_PORT = 5060
PCMU_UDP_LENGTH = 8 + 12 + 160            # UDP header + RTP header + G.711 20 ms payload
RTT_TOLERANCE_MS = 0.5
RTT_TAIL_MS = 2.0                          # the slowest 1 %: a scheduling delay of the userspace relay or responder
ONE_WAY_TOLERANCE_MS = 0.3
JITTER_TOLERANCE_MS = 0.1
RELAY = Path(__file__).with_name("relay.py")


def _wait_listening(pair: Pair, ns: str, port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    want = f":{port:04X} "
    while time.monotonic() < deadline:
        tcp = pair.run(ns, "cat", "/proc/net/tcp").stdout
        if any(want in line and line.split()[3] == "0A" for line in tcp.splitlines()[1:]):
            return
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on TCP {port} in {ns} after {timeout} s")


def _responder(pair: Pair, key: Path, log: Path, extra: list[str] | None = None) -> subprocess.Popen:
    argv = [sys.executable, "-m", "readiness", "responder", "--listen", f"{pair.b_ip}:{SIP_PORT}",
            "--key-file", str(key), "--media-port", str(MEDIA_PORT), "-q"] + (extra or [])
    proc = pair.popen(pair.b, argv, stdout=open(log, "w"), stderr=subprocess.STDOUT)
    _wait_listening(pair, pair.b, SIP_PORT)
    return proc


def _calls(pair: Pair, key: Path, out: Path, calls: int, duration: float) -> dict:
    """`readiness calls` across the pair; the run document (its run folder is beside `out`, in runs/)."""
    argv = [sys.executable, "-m", "readiness", "calls", f"sip:test@{pair.b_ip}:{SIP_PORT}", "--calls", str(calls),
            "--cps", "20", "--duration", str(duration), "--key-file", str(key), "--synced-clocks",
            "--out", str(out.parent / "runs"), "--json", str(out), "-q"]
    p = pair.run(pair.a, *argv, check=False, timeout=duration + 120)
    assert out.exists(), f"readiness calls wrote no JSON (exit {p.returncode}): {p.stderr}"
    return json.loads(out.read_text())


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def _nft_drop(pair: Pair, ns: str, match: str, per_mille: int) -> None:
    pair.run(ns, "nft", "add", "table", "inet", "lab")
    pair.run(ns, "nft", "add", "chain", "inet", "lab", "in", "{ type filter hook input priority 0; }")
    pair.run(ns, "nft", "add", "rule", "inet", "lab", "in", *match.split(), "udp", "length", str(PCMU_UDP_LENGTH),
             "numgen", "random", "mod", "1000", "<", str(per_mille), "counter", "drop")


def _nft_counter(pair: Pair, ns: str) -> int:
    text = pair.run(ns, "nft", "list", "chain", "inet", "lab", "in").stdout
    return sum(int(n) for n in re.findall(r"counter packets (\d+)", text))


def test_loss_per_direction_equals_nftables_counters(tmp_path):
    with veth_pair("10.77.31") as pair:
        key = write_key(tmp_path / "key")
        _nft_drop(pair, pair.b, f"udp dport {MEDIA_PORT}", 30)      # up: 3 % of media into the reflector
        _nft_drop(pair, pair.a, f"udp sport {MEDIA_PORT}", 20)      # down: 2 % of the reflections
        proc = _responder(pair, key, tmp_path / "responder.log")
        try:
            doc = _calls(pair, key, tmp_path / "calls.json", calls=4, duration=8)
        finally:
            _stop(proc)
        up_drops, down_drops = _nft_counter(pair, pair.b), _nft_counter(pair, pair.a)
    calls = doc["calls"]
    assert all(c["answered"] for c in calls)
    assert up_drops > 0 and down_drops > 0
    assert sum(c["packets_lost_up"] for c in calls) == up_drops
    assert sum(c["packets_lost_down"] for c in calls) == down_drops
    assert sum(c["packets_sent_up"] for c in calls) == 4 * 400
    # the reflector answers what reached it: down starts from what survived up
    assert sum(c["packets_sent_down"] for c in calls) == 4 * 400 - up_drops


def _remark_cs0(pair: Pair, direction: str, port: int) -> None:
    """An iptables DSCP rule re-marking to CS0 what leaves A for the responder's `port` (up) or
    what leaves B from it (down)."""
    ns, match = (pair.a, "--dport") if direction == "up" else (pair.b, "--sport")
    pair.run(ns, "iptables", "-t", "mangle", "-A", "POSTROUTING", "-p", "udp", match, str(port),
             "-j", "DSCP", "--set-dscp", "0")


def _remarked_calls(tmp_path, subnet: str, direction: str, port: int, duration: float) -> dict:
    """Two calls across a veth pair whose `direction` re-marks UDP on `port` to CS0; the JSON."""
    with veth_pair(subnet) as pair:
        key = write_key(tmp_path / "key")
        _remark_cs0(pair, direction, port)
        proc = _responder(pair, key, tmp_path / "responder.log")
        try:
            return _calls(pair, key, tmp_path / "calls.json", calls=2, duration=duration)
        finally:
            _stop(proc)


@pytest.mark.parametrize("direction", ["up", "down"])
def test_remarked_direction_only(tmp_path, direction):
    doc = _remarked_calls(tmp_path, "10.77.32", direction, MEDIA_PORT, duration=3)
    other = "down" if direction == "up" else "up"
    for c in doc["calls"]:
        assert c["answered"] and c["dscp_sent"] == 46
        assert c[f"dscp_received_{direction}"] == 0 and c[f"dscp_remarked_pct_{direction}"] == 100.0
        assert c[f"dscp_received_{other}"] == 46 and c[f"dscp_remarked_pct_{other}"] == 0.0
    verdict = {c["id"]: c for c in doc["criteria"]}["media-marking-kept"]
    assert verdict["verdict"] == "warn" and direction in verdict["subject"]


@pytest.mark.parametrize("direction", ["up", "down"])
def test_sip_remarked_direction_only(tmp_path, direction):
    """SIP marked CS3 both ways; an iptables DSCP rule re-marks it to CS0 on one direction only.
    Down is the DSCP our INVITE's 200 OK arrived with, up what the responder says our INVITE
    arrived with (X-Readiness-Received-DSCP)."""
    doc = _remarked_calls(tmp_path, "10.77.35", direction, SIP_PORT, duration=1)
    other = "down" if direction == "up" else "up"
    for c in doc["calls"]:
        assert c["answered"]
        assert c[f"sip_dscp_received_{direction}"] == 0 and c[f"sip_dscp_received_{other}"] == 24
        assert c["dscp_received_up"] == 46 and c["dscp_received_down"] == 46     # media untouched


def _log_jitter_ms(send_ns: np.ndarray, hold_ms: np.ndarray) -> float:
    """RFC 3550 jitter (mean, as readiness reports it) of the relay's logged holds, by the analysis layer."""
    a = RtpStreamAnalyser(directions.TIMING_CLOCK)
    for i, (tx, hold) in enumerate(zip(send_ns.tolist(), hold_ms.tolist())):
        a.add(i & 0xFFFF, (tx // 1000) & 0xFFFFFFFF, tx / 1e9 + hold / 1000.0)
    return a.result().jitter_mean_ms


def test_rtt_one_way_and_jitter_match_the_relay_log(tmp_path):
    with veth_pair("10.77.33") as pair:
        key = write_key(tmp_path / "key")
        log = tmp_path / "relay.log"
        relay = pair.popen(pair.b, [sys.executable, str(RELAY), pair.b_ip, str(RELAY_PORT), pair.b_ip,
                                    str(MEDIA_PORT), str(log), "7", "10", "4", "12"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert relay.stdout.readline().strip() == "ready"
        proc = _responder(pair, key, tmp_path / "responder.log", ["--media-advertise", f"{pair.b_ip}:{RELAY_PORT}"])
        try:
            doc = _calls(pair, key, tmp_path / "calls.json", calls=2, duration=6)
        finally:
            _stop(proc)
            _stop(relay)
    rows = [line.split() for line in log.read_text().splitlines()]
    holds = {(d, int(s)): (int(tx) - int(rx)) / 1e6 for d, s, rx, tx in rows}
    assert all(c["answered"] and c["packets_lost_up"] == 0 and c["packets_lost_down"] == 0 for c in doc["calls"])
    (run_dir,) = (tmp_path / "runs").iterdir()
    traces = [run_dir / a["path"] for a in doc["artefacts"] if a["kind"] == "call-trace"]     # call 1, call 2
    assert len(traces) == 2 and all(t.is_file() for t in traces)
    for t, call in zip(traces, doc["calls"]):
        rec = load(t, REPLY_DTYPE)
        tx = rec["tx_ns"].astype(np.int64)
        up_hold = np.array([holds[("up", int(x))] for x in tx])
        down_hold = np.array([holds[("down", int(x))] for x in tx])
        rtt = ((rec["rx_ns"].astype(np.int64) - tx) - (rec["rtx_ns"].astype(np.int64) - rec["rrx_ns"].astype(np.int64))) / 1e6
        err = rtt - (up_hold + down_hold)
        print(f"RTT error p50 {np.percentile(err, 50):.3f} p95 {np.percentile(err, 95):.3f} "
              f"p99 {np.percentile(err, 99):.3f} max {err.max():.3f} ms")
        assert np.all(err >= 0) and float(np.percentile(err, 95)) < RTT_TOLERANCE_MS
        assert float(np.percentile(err, 99)) < RTT_TAIL_MS
        assert abs(call["rtt_ms_p50"] - float(np.median(up_hold + down_hold))) < RTT_TOLERANCE_MS
        assert abs(call["one_way_ms_up"] - float(np.median(up_hold))) < ONE_WAY_TOLERANCE_MS
        assert abs(call["one_way_ms_down"] - float(np.median(down_hold))) < ONE_WAY_TOLERANCE_MS
        assert abs(call["jitter_ms_up"] - _log_jitter_ms(tx, up_hold)) < JITTER_TOLERANCE_MS
        rtx = rec["rtx_ns"].astype(np.int64)
        order = np.argsort(rec["rx_ns"])
        assert abs(call["jitter_ms_down"] - _log_jitter_ms(rtx[order], down_hold[order])) < JITTER_TOLERANCE_MS
        assert call["jitter_ms_up"] > 2.0                           # the relay's spread is really seen


def test_capacity_search_finds_the_shaped_link(tmp_path):
    """A tbf shaper at 800 kbit/s on the way up: G.711 20 ms is 214 bytes a packet on the veth
    (Ethernet + IP + UDP + RTP + 160), 85.6 kbit/s a call, so 9 calls fit (770 kbit/s) and 10 do not
    (856 kbit/s: loss). The search must land on 9, or 8 if the shaper's bursts cost a packet at 9."""
    with veth_pair("10.77.34") as pair:
        key = write_key(tmp_path / "key")
        pair.run(pair.a, "tc", "qdisc", "add", "dev", pair.a_if, "root", "tbf", "rate", "800kbit", "burst", "4kb",
                 "latency", "60ms")
        proc = _responder(pair, key, tmp_path / "responder.log")
        try:
            p = pair.run(pair.a, sys.executable, "-m", "readiness", "calls", f"sip:test@{pair.b_ip}:{SIP_PORT}",
                         "--find-capacity", "--calls", "4", "--max-calls", "32", "--duration", "4", "--cps", "20",
                         "--key-file", str(key), "--no-keep", "--json", "-", check=False, timeout=400)
        finally:
            _stop(proc)
    doc = json.loads(p.stdout)["capacity"]
    assert doc["capacity_calls"] in (8, 9), doc["steps"]
    failed = [s for s in doc["steps"] if not s["passed"]]
    assert failed and all("rtp-loss" in s["failed_criteria"] for s in failed)
