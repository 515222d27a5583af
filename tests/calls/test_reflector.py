"""The reflector on real loopback sockets: what it stamps, how it marks replies, and what it refuses
(no answer to anything unauthenticated, sessions and rate bounded per source)."""

from __future__ import annotations

import select
import socket
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from readiness.probes.calls.farend import reflector as reflector_mod
from readiness.probes.calls.farend.reflector import Reflector, ReflectorLimits
from readiness.probes.calls.io import media_loops
from readiness.probes.calls.io.udpsock import ANC_SPACE, ancillary, open_udp
from readiness.probes.calls.wire import rtp, stamps

KEY = b"reflector-test-key-0123456789"


@pytest.fixture(params=["C", "Python"])
def reflector(request, monkeypatch):
    """Each test against both implementations of the answer loop (io/media_loops.py)."""
    real = media_loops.available()
    monkeypatch.setattr(reflector_mod.media_loops, "available", lambda: request.param == "C" and real)
    r = Reflector("127.0.0.1", 0, KEY, ReflectorLimits(sessions_per_source=3, rate_pps=50.0)).start()
    assert (r._fast is not None) == (request.param == "C")
    yield r
    r.stop()


def _request(seq: int, session: int = 1, key: bytes = KEY, dscp: int = 46, flags: int = 0, size: int = 160) -> bytearray:
    buf = bytearray(12 + size)
    rtp.pack_into(buf, 0, seq, seq * 160, 99)
    stamps.write_request(buf, session, seq, time.time_ns(), dscp, stamps.Signer(key), flags)
    return buf


def _recv(sock: socket.socket, timeout: float = 0.5):
    r, _, _ = select.select([sock], [], [], timeout)
    if not r:
        return None
    data, anc, _, _ = sock.recvmsg(2048, ANC_SPACE)
    rx, tos = ancillary(anc)
    return data, rx, tos


def _answers(sock: socket.socket) -> int:
    got = 0
    while _recv(sock, 0.3) is not None:
        got += 1
    return got


def test_reply_is_stamped_marked_and_same_size(reflector):
    c = open_udp("127.0.0.1", 0, tos=46 << 2)
    try:
        req = _request(0)
        t0 = time.time_ns()
        c.sendto(req, ("127.0.0.1", reflector.port))
        data, rx, tos = _recv(c)
        assert len(data) == len(req)
        assert stamps.Signer(KEY).authentic(data)
        s = stamps.read(data)
        assert s.is_reply and s.seq == 0 and s.session_id == 1
        assert s.dscp_received == 46 and tos >> 2 == 46            # EF up, and the reply marked EF down
        assert t0 <= s.reflector_rx_ns <= s.reflector_tx_ns <= rx
        assert s.reflector_seq == 1 and s.received_count == 1
        assert rtp.parse(data).seq == 1                         # the reply stream has its own sequence
    finally:
        c.close()


def test_reply_marked_as_the_sender_asks(reflector):
    """Sent unmarked (CS0) but asking for EF: the reply goes out EF and reports CS0 received."""
    c = open_udp("127.0.0.1", 0, tos=0)
    try:
        c.sendto(_request(0, dscp=46), ("127.0.0.1", reflector.port))
        data, _, tos = _recv(c)
        assert stamps.read(data).dscp_received == 0 and tos >> 2 == 46
    finally:
        c.close()


def test_bitmap_and_fin(reflector):
    c = open_udp("127.0.0.1", 0)
    try:
        for seq in (0, 1, 3):
            c.sendto(_request(seq), ("127.0.0.1", reflector.port))
            last = _recv(c)
        s = stamps.read(last[0])
        assert s.highest_seq == 3 and s.bitmap & 0b111 == 0b110     # 2 missing, 1 and 0 arrived
        c.sendto(_request(4, flags=stamps.FLAG_FIN), ("127.0.0.1", reflector.port))
        f = stamps.read(_recv(c)[0])
        assert f.is_fin and f.received_count == 3 and f.reflector_seq == 3
    finally:
        c.close()


def test_unauthenticated_gets_no_answer(reflector):
    c = open_udp("127.0.0.1", 0)
    try:
        wrong = _request(0, key=b"not the key, but long enough")
        reply_flagged = _request(0)
        reply_flagged[12 + 3] |= stamps.FLAG_REPLY
        stamps.Signer(KEY).sign(reply_flagged)                     # a valid reply sent back: never answered
        for bad in (wrong, reply_flagged, b"\x80" + b"\0" * 100, b"", b"x" * 1500):
            c.sendto(bad, ("127.0.0.1", reflector.port))
        assert _recv(c, 0.4) is None
        st_ = reflector.stats()
        assert st_.unauthenticated == 5 and st_.reflected == 0
    finally:
        c.close()


def test_sessions_per_source_bounded(reflector):
    c = open_udp("127.0.0.1", 0)
    try:
        for session in range(5):
            c.sendto(_request(0, session=session), ("127.0.0.1", reflector.port))
        assert _answers(c) == 3 and reflector.stats().over_limit == 2
    finally:
        c.close()


def test_rate_bounded_per_session(reflector):
    """50 packets/s with one second of burst: 120 packets at once get at most ~50 answers."""
    c = open_udp("127.0.0.1", 0)
    try:
        for seq in range(120):
            c.sendto(_request(seq), ("127.0.0.1", reflector.port))
        assert 45 <= _answers(c) <= 55
    finally:
        c.close()


@pytest.fixture(scope="module", params=["C", "Python"])
def fuzz_reflector(request):
    real = reflector_mod.media_loops.available
    reflector_mod.media_loops.available = lambda: request.param == "C" and real()
    try:
        r = Reflector("127.0.0.1", 0, KEY).start()
    finally:
        reflector_mod.media_loops.available = real
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    yield r, s
    s.close()
    r.stop()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_fuzz_no_answer_no_crash(fuzz_reflector, data):
    r, s = fuzz_reflector
    s.sendto(data, ("127.0.0.1", r.port))
    assert r._thread.is_alive()
