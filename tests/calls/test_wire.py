"""RTP header, the test stamp and RTCP: round trips, published vectors, and fuzzing (no crash, no hang:
garbage is rejected with None / RtcpError and counted by the caller)."""

from __future__ import annotations

import hashlib
import hmac
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from readiness.probes.calls.wire import rtcp, rtp, stamps


def test_rtp_header_round_trip():
    data = rtp.build(0, 65535 + 7, 2**32 + 160, 0xDEADBEEF, marker=True, payload=b"\xff" * 160)
    h = rtp.parse(data)
    assert h is not None
    assert (h.payload_type, h.seq, h.timestamp, h.ssrc, h.marker) == (0, 6, 160, 0xDEADBEEF, True)
    assert (h.payload_offset, h.payload_len) == (12, 160)


def test_rtp_header_skips_csrc_extension_and_padding():
    # RFC 3550 5.1/5.3.1: 2 CSRCs, a one-word extension, 4 bytes of padding
    head = struct.pack("!BBHII", 0x80 | 0x20 | 0x10 | 2, 8, 1, 2, 3) + b"\0" * 8
    ext = struct.pack("!HH", 0xBEDE, 1) + b"\0" * 4
    data = head + ext + b"x" * 20 + b"\0\0\0\x04"
    h = rtp.parse(data)
    assert h is not None and h.payload_offset == 12 + 8 + 8 and h.payload_len == 20


@pytest.mark.parametrize("data", [b"", b"\x80", b"\x00" * 12, b"\x80\x00" + b"\0" * 9,
                                  b"\xa0\x00" + b"\0" * 10 + b"\x00", b"\x90\x00" + b"\0" * 10 + b"\0\0\xff\xff"])
def test_rtp_malformed_is_none(data):
    assert rtp.parse(data) is None


@settings(max_examples=3000, deadline=None)
@given(st.binary(max_size=300))
def test_rtp_parse_never_raises(data):
    h = rtp.parse(data)
    if h is not None:
        assert 12 <= h.payload_offset <= len(data) and h.payload_len >= 0


KEY = b"k" * 40


def _request(seq: int = 5, size: int = 160) -> bytearray:
    buf = bytearray(12 + stamps.payload_len(size))
    rtp.pack_into(buf, 0, seq, seq * 160, 1234)
    stamps.write_request(buf, 77, seq, 1_700_000_000_123_456_789, 46, stamps.Signer(KEY))
    return buf


def test_signer_is_hmac_sha256():
    """The precomputed-state MAC equals RFC 2104 HMAC-SHA-256 (truncated to 128 bits, RFC 8762 4.1.2)."""
    buf = _request()
    for key in (KEY, b"", b"x" * 100):
        want = hmac.new(key, bytes(buf[:stamps.AUTH_END]), hashlib.sha256).digest()[:16]
        assert stamps.Signer(key).mac(buf) == want


def test_rfc4231_vectors():
    """RFC 4231 test cases 2 ("Jefe") and 6 (131-byte key, hashed first): published HMAC-SHA-256."""
    assert stamps.Signer(b"Jefe").digest(b"what do ya want for nothing?").hex() == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    assert stamps.Signer(b"\xaa" * 131).digest(b"Test Using Larger Than Block-Size Key - Hash Key First").hex() == (
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")


def test_stamp_request_reply():
    signer = stamps.Signer(KEY)
    buf = _request()
    assert signer.authentic(buf)
    s = stamps.read(buf)
    assert (s.session_id, s.seq, s.send_ns, s.dscp_sent, s.is_reply) == (77, 5, 1_700_000_000_123_456_789, 46, False)
    size = len(buf)
    stamps.write_reply(buf, 0, 3, 4, 10, 20, 0b101, 5, signer)
    assert len(buf) == size                                  # never larger than the request
    r = stamps.read(buf)
    assert r.is_reply and (r.dscp_received, r.reflector_seq, r.received_count, r.reflector_rx_ns,
                           r.reflector_tx_ns, r.bitmap, r.highest_seq) == (0, 3, 4, 10, 20, 0b101, 5)
    assert signer.authentic(buf)


def test_stamp_tampering_and_wrong_key_fail():
    buf = _request()
    assert not stamps.Signer(b"another key of 16+ bytes").authentic(buf)
    for i in (2, 12 + 8, 12 + 12, stamps.AUTH_END + 3):
        bad = bytearray(buf)
        bad[i] ^= 0x01
        assert not stamps.Signer(KEY).authentic(bad)


def test_payload_sizes_keep_codec_size():
    assert stamps.payload_len(160) == 160       # G.711 20 ms
    assert stamps.payload_len(20) == stamps.STAMP_LEN == 72   # G.729 20 ms carries the stamp


@settings(max_examples=3000, deadline=None)
@given(st.binary(max_size=200))
def test_stamp_check_never_raises(data):
    assert stamps.Signer(KEY).authentic(data) in (True, False)


def test_rtcp_sr_rr_sdes_bye_round_trip():
    block = rtcp.ReportBlock(0xAABBCCDD, 25, -3, 70000, 123, 0x12345678, 65536)
    data = (rtcp.build_sr(1, 1_700_000_000_500_000_000, 160, 50, 8000, [block])
            + rtcp.build_sdes(1, "readiness@host") + rtcp.build_bye(1))
    c = rtcp.parse(data)
    sr = c.reports[0]
    assert sr.ssrc == 1 and sr.sender.packets == 50 and sr.sender.octets == 8000 and sr.sender.rtp_timestamp == 160
    assert sr.blocks == (block,)
    assert c.cnames == {1: "readiness@host"} and c.bye == [1]
    assert rtcp.parse(rtcp.build_rr(9, [block])).reports[0].sender is None


def test_rtcp_ntp_and_rtt():
    """RFC 3550 6.4.1: A - LSR - DLSR, in 1/65536 s (its example: 0xb710:8000 - 0xb705:2000 - 5.25 s
    = 7.250 s... RFC figure 2 gives A=b710:8000, LSR=b705:2000, DLSR=0005:4000 -> delay 0006:2000 = 6.125 s)."""
    b = rtcp.ReportBlock(1, 0, 0, 0, 0, 0xB7052000, 0x00054000)
    assert b.rtt_ms(0xB7108000) == pytest.approx(6125.0)
    sec, frac = rtcp.ntp_from_ns(0)
    assert sec == rtcp.NTP_UNIX_OFFSET and frac == 0
    assert rtcp.ntp32_from_ns(1_500_000_000) == ((rtcp.NTP_UNIX_OFFSET + 1) & 0xFFFF) << 16 | 0x8000


@pytest.mark.parametrize("data", [b"", b"\x80\xc8\x00\x06" + b"\0" * 10,
                                  b"\x81\xc9\x00\x01\0\0\0\1", b"\x40\xc8\x00\x00\0\0\0\0",
                                  b"\x80\xc9\x00\x01\0\0\0\1\x00"])
def test_rtcp_malformed(data):
    with pytest.raises(rtcp.RtcpError):
        rtcp.parse(data)


@settings(max_examples=3000, deadline=None)
@given(st.binary(max_size=200))
def test_rtcp_parse_only_raises_rtcp_error(data):
    try:
        rtcp.parse(data)
    except rtcp.RtcpError:
        pass


@settings(max_examples=500, deadline=None)
@given(st.lists(st.binary(min_size=0, max_size=40), max_size=5))
def test_rtcp_mutated_valid_packets(chunks):
    base = bytearray(rtcp.build_rr(5, [rtcp.ReportBlock(1, 2, 3, 4, 5, 6, 7)]) + rtcp.build_sdes(5, "x"))
    for i, chunk in enumerate(chunks):
        pos = (i * 7) % len(base)
        base[pos:pos + len(chunk)] = chunk
    try:
        rtcp.parse(bytes(base))
    except rtcp.RtcpError:
        pass
