"""The media engine and one stream against a plain UDP far end: codec-accurate packets on schedule,
marked EF, RTCP reports, and RTP coming back recorded in the trace."""

from __future__ import annotations

import select
import socket
import time

import numpy as np
import pytest

from readiness import codecs
from readiness.probes.calls.io.udpsock import ANC_SPACE, ancillary, open_udp
from readiness.probes.calls.media import trace
from readiness.probes.calls.media.scheduler import MediaEngine
from readiness.probes.calls.media.stream import MediaStream
from readiness.probes.calls.media.stream_types import MediaPlan, ScheduleErrors
from readiness.probes.calls.wire import rtcp, rtp


@pytest.fixture
def engine():
    e = MediaEngine().start()
    yield e
    e.close()


def _collect(sock: socket.socket, until: float) -> list[tuple[bytes, int, int]]:
    out = []
    while time.monotonic() < until:
        r, _, _ = select.select([sock], [], [], 0.05)
        if r:
            data, anc, _, _ = sock.recvmsg(2048, ANC_SPACE)
            rx, tos = ancillary(anc)
            out.append((data, rx, tos))
    return out


@pytest.mark.parametrize("codec,ptime,size", [("pcmu", 20, 160), ("pcma", 20, 160), ("g722", 20, 160),
                                              ("g729", 20, 20), ("opus", 20, 80), ("pcmu", 30, 240)])
def test_plain_rtp_is_codec_accurate(engine, tmp_path, codec, ptime, size):
    c = codecs.get(codec)
    far = open_udp("127.0.0.1", 0)
    s = MediaStream("127.0.0.1", 46, b"", tmp_path / "t.trace")
    try:
        start = time.monotonic_ns() + 20_000_000
        s.start(MediaPlan(far.getsockname(), c.payload_type, c, ptime, None, reflect=False), 1.0, start)
        fut = engine.add(s, start)
        got = _collect(far, time.monotonic() + 1.4)
        fut.result(3)
    finally:
        far.close()
    media = [(rtp.parse(d), rx, tos) for d, rx, tos in got if not rtp.is_rtcp(d)]
    n = round(1000 / ptime)
    assert len(media) == n
    hs = [h for h, _, _ in media]
    assert all(h.payload_type == c.payload_type and h.payload_len == size for h in hs)
    assert [h.seq for h in hs] == [(hs[0].seq + i) & 0xFFFF for i in range(n)]
    assert all(((b.timestamp - a.timestamp) & 0xFFFFFFFF) == c.samples_per_packet(ptime) for a, b in zip(hs, hs[1:]))
    assert hs[0].marker and not any(h.marker for h in hs[1:])
    assert all(tos >> 2 == 46 for _, _, tos in media)                 # EF on every packet, the first too
    gaps = np.diff([rx for _, rx, _ in media]) / 1e6
    assert abs(float(np.median(gaps)) - ptime) < 1.0
    assert s.result.packets_sent == n and s.result.schedule.count == n


def test_rtcp_sender_report_and_peer_rtp_recorded(engine, tmp_path):
    """A peer (plain RTP) far end: we send SR + SDES every ~5 s (first after 2.5 s) to RTP port + 1,
    and record what the peer sends us in the trace."""
    c = codecs.get("pcmu")
    far = open_udp("127.0.0.1", 0)
    far_rtcp = open_udp("127.0.0.1", far.getsockname()[1] + 1)
    s = MediaStream("127.0.0.1", 46, b"", tmp_path / "t.trace")
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        start = time.monotonic_ns()
        s.start(MediaPlan(far.getsockname(), 0, c, 20, far_rtcp.getsockname(), reflect=False), 3.2, start)
        fut = engine.add(s, start)
        for i in range(20):
            peer.sendto(rtp.build(0, 100 + i, 160 * i, 0xCAFE, payload=b"\xff" * 160), ("127.0.0.1", s.port))
            time.sleep(0.02)
        reports = _collect(far_rtcp, time.monotonic() + 3.6)
        fut.result(3)
    finally:
        far.close()
        far_rtcp.close()
        peer.close()
    parsed = [rtcp.parse(d) for d, _, _ in reports]
    srs = [r for comp in parsed for r in comp.reports if r.sender is not None]
    assert srs and srs[0].ssrc == s.ssrc and srs[0].sender.packets > 100
    assert any(b.ssrc == 0xCAFE and b.highest_seq == 119 and b.cumulative_lost == 0 for b in srs[0].blocks)
    assert any(comp.bye == [s.ssrc] for comp in parsed)                # BYE when the stream ends
    assert all(comp.cnames.get(s.ssrc) for comp in parsed)
    rec = trace.load(s.result.trace, trace.RTP_DTYPE)
    assert list(rec["seq"]) == list(range(100, 120)) and set(rec["ssrc"]) == {0xCAFE}


def test_malformed_packets_are_counted_not_fatal(engine, tmp_path):
    c = codecs.get("pcmu")
    far = open_udp("127.0.0.1", 0)
    s = MediaStream("127.0.0.1", 46, b"", tmp_path / "t.trace")
    junk = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        start = time.monotonic_ns()
        s.start(MediaPlan(far.getsockname(), 0, c, 20, None, reflect=False), 0.5, start)
        fut = engine.add(s, start)
        for data in (b"", b"\x00" * 5, b"\x80\xc8\x00\x10garbage", b"\x40" * 40):
            junk.sendto(data, ("127.0.0.1", s.port))
        fut.result(3)
    finally:
        far.close()
        junk.close()
    assert s.result.malformed == 4 and engine.failure is None


def test_schedule_error_quantiles():
    h = ScheduleErrors()
    for us in range(1, 1001):                  # 1 us .. 1 ms
        h.add(us * 1000)
    h.add(50_000_000)                          # one 50 ms outlier, beyond the histogram
    assert h.quantile_ms(0.5) == pytest.approx(0.5, abs=0.011)
    assert h.quantile_ms(0.99) == pytest.approx(0.99, abs=0.011)
    assert h.quantile_ms(1.0) == pytest.approx(50.0)
    assert h.max_ns == 50_000_000
