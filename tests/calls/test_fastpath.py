"""The C loops of the media path (csrc/, module _media_loops) against their Python reference: the same HMAC as
hashlib (with and without the CPU's SHA extensions), the same replies from both reflectors, and
either sender working with either reflector over real loopback sockets."""

from __future__ import annotations

import hashlib
import hmac
import os
import select
import socket
import time

import pytest

from readiness import codecs
from readiness.probes.calls.farend import reflector as reflector_mod
from readiness.probes.calls.farend.reflector import Reflector, ReflectorLimits
from readiness.probes.calls.io import media_loops
from readiness.probes.calls.io.udpsock import open_udp
from readiness.probes.calls.media import scheduler, trace
from readiness.probes.calls.media.shared_port import SharedPort
from readiness.probes.calls.media.shared_port_c import CSharedPort
from readiness.probes.calls.media.stream import MediaStream
from readiness.probes.calls.media.stream_types import MediaPlan
from readiness.probes.calls.wire import rtp, stamps

KEY = b"fastpath-test-key-0123456789"


def test_c_module_is_built():
    """setup.sh installs a C compiler, so CI must run the C path (the Python one is the fallback)."""
    assert media_loops.available(), media_loops.why_not


@pytest.mark.parametrize("sha_extensions", [True, False])
def test_hmac_equals_hashlib(sha_extensions):
    media_loops.use_sha_extensions(sha_extensions)
    try:
        # RFC 4231 test cases 2 and 6 (a key longer than the block is hashed first)
        assert media_loops.hmac_sha256(media_loops.key_state(b"Jefe"), b"what do ya want for nothing?").hex() == (
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        assert media_loops.hmac_sha256(media_loops.key_state(b"\xaa" * 131),
                                    b"Test Using Larger Than Block-Size Key - Hash Key First").hex() == (
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
        for key in (b"", b"k" * 64, b"k" * 65, os.urandom(32)):
            ks = media_loops.key_state(key)
            for n in (0, 1, 55, 56, 63, 64, 68, 119, 120, 500):        # every padding case
                data = os.urandom(n)
                assert media_loops.hmac_sha256(ks, data) == hmac.new(key, data, hashlib.sha256).digest()
    finally:
        media_loops.use_sha_extensions(True)


def _request(seq: int, session: int, key: bytes = KEY, flags: int = 0, size: int = 160) -> bytearray:
    buf = bytearray(12 + size)
    rtp.pack_into(buf, 0, seq, seq * 160, 99)
    stamps.write_request(buf, session, seq, time.time_ns(), 46, stamps.Signer(key), flags)
    return buf


def _masked(reply: bytes) -> bytes:
    """A reply without what differs between two reflectors: their clocks and so the MAC."""
    b = bytearray(reply)
    b[44:60] = bytes(16)
    b[stamps.AUTH_END:stamps.AUTH_END + stamps.MAC_LEN] = bytes(16)
    return bytes(b)


def _exchange(r: Reflector, requests: list[bytes]) -> list[bytes | None]:
    c = open_udp("127.0.0.1", 0, tos=46 << 2)
    out: list[bytes | None] = []
    try:
        for req in requests:
            c.sendto(req, ("127.0.0.1", r.port))
            ready, _, _ = select.select([c], [], [], 0.3)
            out.append(c.recv(2048) if ready else None)
    finally:
        c.close()
    return out


def _reflector(monkeypatch, fast: bool) -> Reflector:
    monkeypatch.setattr(reflector_mod.media_loops, "available", lambda: fast)
    r = Reflector("127.0.0.1", 0, KEY, ReflectorLimits(sessions_per_source=2, rate_pps=1000.0)).start()
    assert (r._fast is not None) == fast
    return r


def test_both_reflectors_answer_alike(monkeypatch):
    requests = ([_request(s, 7) for s in (0, 1, 2, 2, 4, 3, 40, 39)]        # duplicate, gap, reordering, a jump
                + [_request(0, 8), _request(0, 9),                           # a 2nd session, a 3rd over the limit
                   _request(5, 7, key=b"another key, long enough"),          # wrong key
                   bytes(b"\x80" + bytes(90)), b"short",
                   _request(41, 7, flags=stamps.FLAG_FIN)])                  # the totals
    flagged = _request(6, 7)
    flagged[15] |= stamps.FLAG_REPLY
    stamps.Signer(KEY).sign(flagged)                                         # a reply sent back: no answer
    requests.insert(8, bytes(flagged))
    answers, stats = {}, {}
    for fast in (True, False):
        r = _reflector(monkeypatch, fast)
        try:
            answers[fast] = _exchange(r, requests)
            stats[fast] = r.stats()
        finally:
            r.stop()
    assert [a is None for a in answers[True]] == [a is None for a in answers[False]]
    for a, b in zip(answers[True], answers[False]):
        if a is not None:
            assert stamps.Signer(KEY).authentic(a) and stamps.Signer(KEY).authentic(b)
            assert _masked(a) == _masked(b)
    assert stats[True] == stats[False]
    fin = stamps.read(answers[True][-1])
    assert fin.is_fin and fin.received_count == 8 and fin.highest_seq == 40
    assert (stats[True].reflected, stats[True].unauthenticated, stats[True].over_limit) == (9, 4, 1)


@pytest.mark.parametrize("fast_sender", [True, False], ids=["C-sender", "Python-sender"])
@pytest.mark.parametrize("fast_reflector", [True, False], ids=["C-reflector", "Python-reflector"])
def test_sender_and_reflector_interwork(monkeypatch, tmp_path, fast_sender, fast_reflector):
    """Three reflected streams through the engine's shared port: every packet answered and traced,
    whichever implementation is at either end."""
    r = _reflector(monkeypatch, fast_reflector)
    monkeypatch.setattr(scheduler.media_loops, "available", lambda: fast_sender)
    engine = scheduler.MediaEngine().start()
    c = codecs.get("pcmu")
    streams = []
    try:
        start = time.monotonic_ns() + 20_000_000
        futures = []
        for i in range(2):
            s = MediaStream("127.0.0.1", 46, KEY, tmp_path / f"{i}.trace", rtcp_socket=False)
            s.start(MediaPlan(("127.0.0.1", r.port), 0, c, 20, None, reflect=True), 1.0, start)
            futures.append(engine.add(s, start))
            streams.append(s)
        for f in futures:
            f.result(5)
        port = engine.ports[0]
    finally:
        engine.close()
        r.stop()
    assert isinstance(port, CSharedPort) == fast_sender and isinstance(port, SharedPort)
    for s in streams:
        res = s.result
        assert res.packets_sent == 50 and res.octets_sent == 50 * 160 and res.send_errors == 0
        assert res.schedule.count == 50 and res.unauthenticated == 0 and res.malformed == 0
        assert (res.fin_received, res.fin_replies, res.fin_highest) == (50, 50, 49)
        rec = trace.load(res.trace, trace.REPLY_DTYPE)
        assert sorted(rec["seq"].tolist()) == list(range(50)) and sorted(rec["rseq"].tolist()) == list(range(1, 51))
        assert set(rec["dscp_up"].tolist()) == {46} and set(rec["dscp_down"].tolist()) == {46}
        assert (rec["rrx_ns"] >= rec["tx_ns"]).all() and (rec["rx_ns"] >= rec["rtx_ns"]).all()
        assert res.first_send_ns <= int(rec["tx_ns"].min()) and res.last_send_ns >= int(rec["tx_ns"].max())
    assert r.stats().reflected == 100
    assert len({s.session_id for s in streams}) == 2


def test_port_counts_stray_replies(tmp_path):
    """A reply for no call on the port (late, or someone else's) is counted and dropped."""
    if not media_loops.available():
        pytest.fail(media_loops.why_not)
    port = CSharedPort("127.0.0.1", 46, KEY)
    junk = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        reply = _request(0, 12345)
        reply[15] |= stamps.FLAG_REPLY
        stamps.Signer(KEY).sign(reply)
        junk.sendto(bytes(reply), ("127.0.0.1", port.port))
        junk.sendto(b"tiny", ("127.0.0.1", port.port))
        time.sleep(0.05)
        port.drain()
        assert (port.stray, port.malformed) == (1, 1)
    finally:
        junk.close()
        port.close()
