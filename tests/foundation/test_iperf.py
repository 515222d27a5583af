"""iperf3: its JSON read correctly (real outputs from the corpus and from a live server), a busy or
absent server is a clear not-measured, never a pass."""

from __future__ import annotations

import asyncio
import json
import subprocess

import pytest

from readiness.config.site import SiteSpec
from readiness.lab.iperf_server import iperf3_server
from readiness.lab.ports import free_port
from readiness.probes.base import MemoryRecorder, ProbeContext
from readiness.probes.iperf import IperfProbe
from readiness.probes.iperf_result import IperfOutputError, TcpResult, UdpResult, parse

from ..conftest import need_tool


def test_corpus_iperf_3_21_udp_client(corpus):
    doc = json.loads((corpus / "iperf3/iperf3-lib_native_3.21_udp-client.json").read_text())
    r = parse(doc)
    assert isinstance(r, UdpResult)
    # data/README.md: end.sum_received jitter_ms 0.02133, lost 0/834
    assert r.jitter_ms == pytest.approx(0.02133, abs=1e-5)
    assert (r.lost, r.packets, r.lost_pct) == (0, 834, 0.0)
    assert r.streams == 2


def test_corpus_iperf_3_9_udp_end_sum_only(corpus):
    r = parse(json.loads((corpus / "iperf3/openwisp_RESULT_UDP.json").read_text()))
    assert isinstance(r, UdpResult)
    assert r.jitter_ms == pytest.approx(0.01126, abs=1e-5)
    assert (r.lost, r.packets) == (0, 40)


def test_corpus_tcp_is_not_read_as_udp(corpus):
    r = parse(json.loads((corpus / "iperf3/openwisp_RESULT_TCP.json").read_text()))
    assert isinstance(r, TcpResult)
    assert r.received_bps == pytest.approx(44042139781.8, rel=1e-6)


def test_error_documents():
    with pytest.raises(IperfOutputError, match="busy"):
        parse({"start": {}, "intervals": [], "end": {}, "error": "the server is busy running a test. try again later"})
    with pytest.raises(IperfOutputError, match="not iperf3"):
        parse({"hello": 1})


def site(**iperf) -> SiteSpec:
    return SiteSpec.model_validate({"site": "t", "iperf": iperf})


def run_probe(s: SiteSpec, tmp_path) -> MemoryRecorder:
    rec = MemoryRecorder(tmp_path / "artefacts")
    asyncio.run(IperfProbe().run(ProbeContext(site=s, recorder=rec)))
    return rec


def test_probe_measures_both_directions_with_ef_and_per_second_series(tmp_path):
    need_tool("iperf3")
    with iperf3_server(tmp_path) as port:
        rec = run_probe(site(server=f"127.0.0.1:{port}", duration="2 s", voice_streams=3, capacity=True), tmp_path)
    got = {(m.metric, m.tags["direction"]) for m in rec.measurements}
    assert {("iperf.jitter_ms", "up"), ("iperf.jitter_ms", "down"), ("iperf.loss_pct", "up"),
            ("iperf.loss_pct", "down"), ("iperf.throughput_mbps", "up"), ("iperf.throughput_mbps", "down")} <= got
    assert not rec.missing
    loss_series = [s for s in rec.series_list if s.metric == "iperf.loss_pct"]
    assert len(loss_series) == 2 and all(len(s.values) >= 2 for s in loss_series)
    assert all(w > 0 for s in loss_series for w in s.weights)
    voice_up = json.loads((tmp_path / "artefacts/iperf/voice-up.json").read_text())
    test = voice_up["start"]["test_start"]
    assert test["tos"] == 184                     # DSCP EF (46) << 2
    assert test["blksize"] == 172                 # G.711 20 ms payload + RTP header
    assert test["num_streams"] == 3


def _while_busy(tmp_path, other_s: int, busy_wait: str) -> MemoryRecorder:
    """The probe against a server that another technician's test of `other_s` seconds occupies."""
    import time

    need_tool("iperf3")
    with iperf3_server(tmp_path) as port:
        other = subprocess.Popen(["iperf3", "-c", "127.0.0.1", "-p", str(port), "-t", str(other_s)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(1.0)
            return run_probe(site(server=f"127.0.0.1:{port}", duration="1 s", capacity=False, busy_wait=busy_wait),
                             tmp_path)
        finally:
            other.kill()
            other.wait()


def test_probe_against_a_busy_server_is_not_measured(tmp_path):
    rec = _while_busy(tmp_path, 15, "3 s")
    assert not rec.measurements
    reasons = {n.reason for n in rec.missing}
    assert any("busy" in r and "still busy after" in r for r in reasons), reasons
    assert {n.metric for n in rec.missing} == {"iperf.jitter_ms", "iperf.loss_pct"}


def test_probe_waits_for_a_busy_server_within_its_bound(tmp_path):
    """iperf3 serves one test at a time: a test that ends soon is waited for, then ours runs."""
    rec = _while_busy(tmp_path, 3, "20 s")
    assert not rec.missing, rec.missing
    assert {m.metric for m in rec.measurements} == {"iperf.jitter_ms", "iperf.loss_pct"}


def test_probe_against_no_server(tmp_path):
    need_tool("iperf3")
    port = free_port()
    rec = run_probe(site(server=f"127.0.0.1:{port}", duration="1 s", capacity=False), tmp_path)
    assert not rec.measurements
    assert all("not reachable" in n.reason for n in rec.missing), rec.missing


SERVER_TEXT = """Accepted connection from 127.0.0.1, port 57096
[  5] local 127.0.0.1 port 35321 connected to 127.0.0.1 port 32834
[  6] local 127.0.0.1 port 35321 connected to 127.0.0.1 port 34330
[ ID] Interval           Transfer     Bitrate         Jitter    Lost/Total Datagrams
[  5]   0.00-1.00   sec  8.40 KBytes  68.8 Kbits/sec  0.021 ms  0/50 (0%)
[  6]   0.00-1.00   sec  8.40 KBytes  68.8 Kbits/sec  0.010 ms  1/50 (2%)
[SUM]   0.00-1.00   sec  16.8 KBytes   137 Kbits/sec  0.016 ms  1/100 (1%)
- - - - - - - - - - - - - - - - - - - - - - - - -
[  5]   1.00-2.00   sec  8.40 KBytes  68.8 Kbits/sec  0.017 ms  0/50 (0%)
[  6]   1.00-2.00   sec  8.40 KBytes  68.8 Kbits/sec  0.010 ms  0/50 (0%)
[SUM]   1.00-2.00   sec  16.8 KBytes   137 Kbits/sec  0.013 ms  0/100 (0%)
- - - - - - - - - - - - - - - - - - - - - - - - -
[ ID] Interval           Transfer     Bitrate         Jitter    Lost/Total Datagrams
[  5]   0.00-2.00   sec  16.8 KBytes  68.8 Kbits/sec  0.017 ms  0/100 (0%)  receiver
[SUM]   0.00-2.00   sec  33.6 KBytes   137 Kbits/sec  0.013 ms  1/200 (0.5%)  receiver
"""


def test_server_text_intervals_of_a_plain_iperf3_server():
    """iperf3 3.12 servers without --json report upstream intervals as text (recorded output)."""
    from readiness.probes.iperf_result import _text_intervals

    ivs = _text_intervals(SERVER_TEXT, streams=2)
    assert [(iv.start_s, iv.jitter_ms, iv.lost, iv.packets) for iv in ivs] == [(0.0, 0.016, 1, 100),
                                                                                (1.0, 0.013, 0, 100)]
    single = _text_intervals(SERVER_TEXT, streams=1)
    assert [(iv.jitter_ms, iv.lost) for iv in single] == [(0.021, 0), (0.010, 1), (0.017, 0), (0.010, 0)]


def _iperf_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    import sys

    return subprocess.run([sys.executable, "-m", "readiness", "iperf", *args, "--no-keep"], capture_output=True,
                          text=True, timeout=timeout)


def test_command_voice_mode_document(tmp_path):
    need_tool("iperf3")
    with iperf3_server(tmp_path) as port:
        p = _iperf_cli("--server", f"127.0.0.1:{port}", "--duration", "2", "--calls", "3", "--json", "-")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    a = doc["iperf"]
    assert a["server"] == f"127.0.0.1:{port}" and a["iperf3_version"] == "3.12"
    assert "marks only what it sends" in a["note"]
    for direction in ("up", "down"):
        d = a[direction]
        assert {"packets", "lost_packets", "lost_pct", "jitter_ms", "bits_per_second", "intervals"} <= set(d)
        # iperf3 paces by rate; on a loaded machine a second's interval can hold a few packets of the next
        assert abs(d["packets"] - 3 * 50 * 2) <= 6 and d["lost_packets"] == 0 and d["streams"] == 3
        assert len(d["intervals"]) == 2 and all(abs(iv["packets"] - 150) <= 10 for iv in d["intervals"])
        assert abs(sum(iv["packets"] for iv in d["intervals"]) - d["packets"]) <= 6
    assert {c["id"]: c["verdict"] for c in doc["criteria"]} == {"voice-udp-loss": "pass", "voice-udp-jitter": "pass"}


def test_command_capacity_mode_against_the_planned_calls(tmp_path):
    need_tool("iperf3")
    site = tmp_path / "site.yaml"
    site.write_text("site: t\ncalls: {concurrent: 30, codec: pcmu}\n"
                    "uplink: {up_mbps: 10, down_mbps: 50, data_headroom_mbps: 4, vlan: true}\n")
    with iperf3_server(tmp_path) as port:
        p = _iperf_cli("--server", f"127.0.0.1:{port}", "--mode", "capacity", "--direction", "up", "--duration", "1",
                       "--site", str(site), "--json", "-")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    cap = doc["iperf"]["capacity"]
    assert set(cap) == {"up"} and doc["iperf"]["up"] is None
    up = cap["up"]
    assert up["calls"] == 30 and up["voice_need_bps"] == pytest.approx(30 * 88_800)   # G.711 + 802.1Q (Cisco 7934)
    assert up["spare_bps"] == pytest.approx(up["bits_per_second"] - 30 * 88_800 - 4e6)
    assert [(c["id"], c["verdict"]) for c in doc["criteria"]] == [("capacity-enough", "pass")]


def test_command_bad_input_is_one_line_and_exit_2(tmp_path):
    need_tool("iperf3")
    dead = free_port()
    p = _iperf_cli("--server", f"127.0.0.1:{dead}", "--duration", "1", "--json", "-")
    assert p.returncode == 2
    doc = json.loads(p.stdout)
    assert all("not reachable" in n["reason"] for n in doc["not_measured"]) and doc["iperf"]["errors"]
    p = _iperf_cli("--server", "127.0.0.1:99999")
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1, p.stderr
    p = _iperf_cli("--server", "127.0.0.1", "--duration", "soon")
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1, p.stderr


def test_an_error_document_is_not_measured_with_its_reason():
    from readiness.probes.iperf_client import reason

    assert "does not know --bidir (iperf3 3.7 or newer has it)" in reason("iperf3: unrecognized option '--bidir'", "s")
    assert "busy" in reason("the server is busy running a test. try again later", "s")


def test_command_without_iperf3_installed(tmp_path):
    """No iperf3 on PATH: one line that says how to install it, not measured, exit 2."""
    import os
    import sys

    bare = tmp_path / "bin"
    bare.mkdir()
    p = subprocess.run([sys.executable, "-m", "readiness", "iperf", "--server", "127.0.0.1", "--no-keep", "--json", "-"],
                       capture_output=True, text=True, timeout=60, env=dict(os.environ, PATH=str(bare)))
    assert p.returncode == 2, p.stderr
    doc = json.loads(p.stdout)
    assert doc["not_measured"] and all("iperf3 is not installed (Debian/Ubuntu: apt-get install iperf3)" in n["reason"]
                                       for n in doc["not_measured"])


def test_command_against_a_busy_server_is_not_measured_after_its_bound(tmp_path):
    """Another test holds the server for longer than --busy-wait: not measured, the reason says busy."""
    need_tool("iperf3")
    with iperf3_server(tmp_path) as port:
        other = subprocess.Popen(["iperf3", "-c", "127.0.0.1", "-p", str(port), "-t", "15"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            import time

            time.sleep(1.0)
            p = _iperf_cli("--server", f"127.0.0.1:{port}", "--direction", "up", "--duration", "1", "--busy-wait", "3",
                           "--json", "-")
        finally:
            other.kill()
            other.wait()
    assert p.returncode == 2, p.stderr
    doc = json.loads(p.stdout)
    assert doc["not_measured"] and all("is busy running another test" in n["reason"] and "still busy after" in n["reason"]
                                       for n in doc["not_measured"]), doc["not_measured"]
    assert set(doc["iperf"]["errors"]) == {"voice-up"} and doc["iperf"]["up"] is None


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
def test_command_cut_short_leaves_no_iperf3_running(tmp_path, sig):
    """Ctrl-C or kill mid-test: exit 2, an incomplete run document that names the server, and the
    iperf3 client it had started is gone."""
    import signal
    import sys
    import time

    need_tool("iperf3")
    doc_path = tmp_path / "run.json"
    with iperf3_server(tmp_path) as port:
        proc = subprocess.Popen([sys.executable, "-m", "readiness", "iperf", "--server", f"127.0.0.1:{port}",
                                 "--duration", "20", "--out", str(tmp_path / "runs"), "--json", str(doc_path), "-q"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        client = f"iperf3 -c 127.0.0.1 -p {port} "
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not subprocess.run(["pgrep", "-f", client], capture_output=True).stdout:
                time.sleep(0.1)
            assert time.monotonic() < deadline, "the iperf3 client never started"
            time.sleep(1.0)
            proc.send_signal(getattr(signal, sig))
            _, stderr = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        left = subprocess.run(["pgrep", "-af", client], capture_output=True, text=True).stdout.strip()
    assert proc.returncode == 2, stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert left == "", left
    doc = json.loads(doc_path.read_text())
    assert doc["verdict"] == "incomplete" and not doc["complete"]
    assert doc["iperf"]["server"] == f"127.0.0.1:{port}" and doc["iperf"]["up"] is None


@pytest.mark.netns
def test_command_against_a_silent_host(tmp_path):
    """A host that drops the connection attempt (no RST: a firewall, a server that is off) is not
    measured within iperf3's connect timeout per test, with the reason."""
    import sys
    import time

    from tests.netlab import veth_pair

    need_tool("iperf3")
    with veth_pair("10.84.0") as pair:
        pair.run(pair.b, "nft", "add", "table", "inet", "lab")
        pair.run(pair.b, "nft", "add", "chain", "inet", "lab", "in", "{ type filter hook input priority 0; }")
        pair.run(pair.b, "nft", "add", "rule", "inet", "lab", "in", "tcp", "dport", "5201", "drop")
        began = time.monotonic()
        p = pair.run(pair.a, sys.executable, "-m", "readiness", "iperf", "--server", pair.b_ip, "--duration", "1",
                     "--no-keep", "--json", "-", check=False, timeout=60)
        took = time.monotonic() - began
    assert p.returncode == 2, p.stderr
    doc = json.loads(p.stdout)
    assert set(doc["iperf"]["errors"]) == {"voice-up", "voice-down"}
    assert all("is not reachable" in why and "timed out" in why for why in doc["iperf"]["errors"].values())
    assert took < 30, took                       # 3 s connect timeout per test, not TCP's minutes of retries
