"""SRTP in the media path, on real loopback sockets with the real libsrtp: the reflector's SRTP legs
(unprotect, stamp, protect; what fails authentication is counted and never answered; exact copies
are duplicates, other replays are dropped), the caller's SRTP shared port under the media engine
(failures counted per call and direction), and the leg's duplicate memory."""

from __future__ import annotations

import select
import socket
import time

import pytest

from readiness import codecs
from readiness.probes.calls import scoring
from readiness.probes.calls.farend import reflector as reflector_mod
from readiness.probes.calls.farend.reflector import Reflector
from readiness.probes.calls.io import media_loops
from readiness.probes.calls.io.udpsock import open_udp
from readiness.probes.calls.media import scheduler, trace
from readiness.probes.calls.media.srtp_port import SrtpSharedPort
from readiness.probes.calls.media.stream import MediaStream
from readiness.probes.calls.media.stream_types import MediaPlan
from readiness.probes.calls.wire import rtp, srtp, stamps
from readiness.probes.calls.wire.srtp import CryptoAttribute, SrtpSession
from readiness.probes.calls.wire.srtp_call import SrtpLeg

KEY = b"srtp-media-test-key-0123456789"
CM80 = "AES_CM_128_HMAC_SHA1_80"
SSRC = 0x5EC0_0001


def _attr(tag: int = 1) -> CryptoAttribute:
    return CryptoAttribute(tag, CM80, srtp.new_key(CM80))


def _request(seq: int, flags: int = 0, size: int = 160, key: bytes = KEY) -> bytearray:
    buf = bytearray(rtp.HEADER_LEN + size)
    rtp.pack_into(buf, 0, 1000 + seq, seq * 160, SSRC)
    stamps.write_request(buf, 7, seq, time.time_ns(), 46, stamps.Signer(key), flags)
    return buf


def _recv(sock: socket.socket, timeout: float = 0.4) -> bytes | None:
    ready, _, _ = select.select([sock], [], [], timeout)
    return sock.recv(2048) if ready else None


@pytest.fixture(params=["C", "Python"])
def reflector(request, monkeypatch):
    """The reflector with either main loop: SRTP legs are served in Python by the same thread."""
    real = media_loops.available()
    monkeypatch.setattr(reflector_mod.media_loops, "available", lambda: request.param == "C" and real)
    r = Reflector("127.0.0.1", 0, KEY).start()
    assert (r._fast is not None) == (request.param == "C")
    yield r
    r.stop()


def test_leg_reflects_inside_srtp_and_drops_what_fails(reflector):
    caller_key, responder_key = _attr(), _attr()
    port = reflector.open_srtp(responder_key, caller_key)
    tx = SrtpSession(caller_key, responder_key)         # the caller: sends with its key, reads the reply
    c = open_udp("127.0.0.1", 0, tos=46 << 2)
    signer = stamps.Signer(KEY)
    try:
        good = tx.protect(bytes(_request(0)))
        c.sendto(good, ("127.0.0.1", port))
        reply = _recv(c)
        assert reply is not None and len(reply) == len(good)                # never larger
        assert reply[12:15] != b"RD\x01"                                     # encrypted both ways
        clear = tx.unprotect(reply)
        assert signer.authentic(clear)
        s = stamps.read(clear)
        assert s.is_reply and (s.seq, s.reflector_seq, s.received_count, s.dscp_received) == (0, 1, 1, 46)
        assert rtp.parse(clear).seq == 1 and rtp.parse(clear).ssrc == SSRC    # the call's SSRC, own sequence

        tampered = bytearray(tx.protect(bytes(_request(1))))
        tampered[30] ^= 0x01                                                   # one bit of the ciphertext
        wrong_key = SrtpSession(_attr(), responder_key).protect(bytes(_request(2)))
        in_clear = bytes(_request(3))                                          # a valid stamp, no SRTP
        for bad in (bytes(tampered), wrong_key, in_clear, b"\x80" + bytes(5)):
            c.sendto(bad, ("127.0.0.1", port))
        assert _recv(c) is None
        st = reflector.stats()
        assert st.srtp_auth_failed == 3 and st.unauthenticated == 4 and st.reflected == 1 and st.srtp_calls == 1

        # an exact copy is a network duplicate: answered as plain RTP's would be (a new reply)
        c.sendto(good, ("127.0.0.1", port))
        dup = stamps.read(tx.unprotect(_recv(c)))
        assert (dup.seq, dup.reflector_seq, dup.received_count) == (0, 2, 2)
        # the same index with other bytes (no copy: maybe forged) is a replay: dropped, counted
        c.sendto(SrtpSession(caller_key, responder_key).protect(bytes(_request(0, size=100))), ("127.0.0.1", port))
        assert _recv(c) is None and reflector.stats().srtp_replayed == 1

        # the fin reply: totals, the count of SRTP failures up, an RTP sequence of its own
        fin = tx.protect(bytes(_request(4, flags=stamps.FLAG_FIN, size=stamps.STAMP_LEN)))
        c.sendto(fin, ("127.0.0.1", port))
        clear = tx.unprotect(_recv(c))
        f = stamps.read(clear)
        assert f.is_fin and f.received_count == 2 and clear[22 + 12:24 + 12] == (3).to_bytes(2, "big")
        assert rtp.parse(clear).seq == 3
        # an SRTP packet to the plain port is no test packet there
        c.sendto(tx.protect(bytes(_request(5))), ("127.0.0.1", reflector.port))
        assert _recv(c) is None
    finally:
        c.close()
    reflector.close_srtp(port)
    deadline = time.monotonic() + 2
    while reflector.stats().srtp_calls and time.monotonic() < deadline:
        time.sleep(0.05)
    assert reflector.stats().srtp_calls == 0


def test_plain_sessions_unchanged_beside_srtp_legs(reflector):
    """A leg open beside plain sessions: the plain ones answer as before (RTP seq = reflector seq)."""
    reflector.open_srtp(_attr(), _attr())
    c = open_udp("127.0.0.1", 0)
    try:
        for seq in range(3):
            c.sendto(_request(seq), ("127.0.0.1", reflector.port))
            data = _recv(c)
            assert stamps.Signer(KEY).authentic(data) and rtp.parse(data).seq == seq + 1
        c.sendto(_request(3, flags=stamps.FLAG_FIN), ("127.0.0.1", reflector.port))
        data = _recv(c)
        assert stamps.read(data).is_fin and data[34:36] == b"\0\0"          # reserved stays 0 on plain
    finally:
        c.close()


def test_engine_srtp_calls_count_auth_failures_per_call_and_direction(tmp_path, monkeypatch):
    """Two SRTP streams through the engine (its SRTP port, Python, even with the C loops built) to
    reflector legs. Forged packets go to call A's leg (up) and to the engine's port with A's SSRC
    (down): A counts 5 up (from the fin) and 7 down; B counts none; every real packet arrives."""
    r = Reflector("127.0.0.1", 0, KEY).start()
    engine = scheduler.MediaEngine().start()
    pcmu = codecs.get("pcmu")
    streams, ports = [], []
    try:
        start = time.monotonic_ns() + 200_000_000
        futures = []
        for i in range(2):
            caller, responder = _attr(), _attr()
            ports.append(r.open_srtp(responder, caller))
            s = MediaStream("127.0.0.1", 46, KEY, tmp_path / f"{i}.trace", rtcp_socket=False)
            s.start(MediaPlan(("127.0.0.1", ports[-1]), 0, pcmu, 20, None, True, (caller, responder)), 1.0, start)
            futures.append(engine.add(s, start))
            streams.append(s)
        time.sleep(0.4)
        port = engine.ports[0]
        assert isinstance(port, SrtpSharedPort)
        forger = SrtpSession(_attr(), _attr())
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as f:
            for n in range(5):             # an SSRC of its own: never "too old" for A's context (a replay)
                f.sendto(forger.protect(rtp.build(0, n, 0, SSRC, payload=bytes(160))), ("127.0.0.1", ports[0]))
            for n in range(7):             # A's SSRC, ahead of its replies' sequence: routed to A, tag wrong
                f.sendto(forger.protect(rtp.build(0, 100 + n, 0, streams[0].ssrc, payload=bytes(160))),
                         ("127.0.0.1", port.port))
        for fut in futures:
            fut.result(10)
    finally:
        engine.close()
        r.stop()
    a, b = (s.result for s in streams)
    assert (a.srtp_auth_failed_up, a.srtp_auth_failed) == (5, 7) and (b.srtp_auth_failed_up, b.srtp_auth_failed) == (0, 0)
    for res in (a, b):
        assert res.srtp_suite == CM80 and res.srtp_overhead == 10 and res.unauthenticated == 0
        assert res.packets_sent == 50 and (res.fin_received, res.fin_replies) == (50, 50)
        rec = trace.load(res.trace, trace.REPLY_DTYPE)
        assert sorted(rec["seq"].tolist()) == list(range(50)) and sorted(rec["rseq"].tolist()) == list(range(1, 51))
    m = scoring.reflected_call(a, pcmu, True)
    assert m.up.loss_pct == 0 and m.down.loss_pct == 0
    assert any("5 packet(s) failed SRTP authentication" in n for n in m.up.notes)
    assert any("7 packet(s) failed SRTP authentication" in n for n in m.down.notes)
    assert not scoring.reflected_call(b, pcmu, True).down.notes


def test_leg_tells_duplicates_from_replays_and_forgets():
    a_key, b_key = _attr(), _attr()
    sender = SrtpSession(a_key, b_key)
    leg = SrtpLeg(SrtpSession(b_key, a_key), recent=4)
    packets = [sender.protect(rtp.build(0, n, n * 160, SSRC, payload=bytes([n]) * 20)) for n in range(8)]
    plain = [leg.unprotect(p) for p in packets]
    assert all(p is not None and p[12:] == bytes([n]) * 20 for n, p in enumerate(plain))
    assert leg.unprotect(packets[7]) == plain[7] and leg.duplicates == 1          # remembered: a duplicate
    assert leg.unprotect(packets[1]) is None and leg.replayed == 1                # forgotten (4 kept): dropped
    forged = bytearray(packets[6])
    forged[-1] ^= 1                                                               # same index, other tag
    assert leg.unprotect(bytes(forged)) is None and (leg.replayed, leg.why) == (2, "replay")
    assert leg.unprotect(b"\x80\x00") is None and (leg.malformed, leg.why) == (1, "other")
    assert len(leg._recent) == 4
