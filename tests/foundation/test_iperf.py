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


def test_probe_against_a_busy_server_is_not_measured(tmp_path):
    need_tool("iperf3")
    with iperf3_server(tmp_path) as port:
        # another technician's test occupies the server
        other = subprocess.Popen(["iperf3", "-c", "127.0.0.1", "-p", str(port), "-t", "15"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            import time

            time.sleep(1.0)
            rec = run_probe(site(server=f"127.0.0.1:{port}", duration="1 s", capacity=False, busy_wait="3 s"),
                            tmp_path)
        finally:
            other.kill()
            other.wait()
    assert not rec.measurements
    reasons = {n.reason for n in rec.missing}
    assert any("busy" in r and "still busy after" in r for r in reasons), reasons
    assert {n.metric for n in rec.missing} == {"iperf.jitter_ms", "iperf.loss_pct"}


def test_probe_waits_for_a_busy_server_within_its_bound(tmp_path):
    """iperf3 serves one test at a time: a test that ends soon is waited for, then ours runs."""
    need_tool("iperf3")
    with iperf3_server(tmp_path) as port:
        other = subprocess.Popen(["iperf3", "-c", "127.0.0.1", "-p", str(port), "-t", "3"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            import time

            time.sleep(1.0)
            rec = run_probe(site(server=f"127.0.0.1:{port}", duration="1 s", capacity=False, busy_wait="20 s"),
                            tmp_path)
        finally:
            other.kill()
            other.wait()
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
