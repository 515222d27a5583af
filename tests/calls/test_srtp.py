"""SRTP (wire/srtp.py) with the real libsrtp: a=crypto lines, offer/answer, protect/unprotect between
two sessions wired crosswise, tampering and replay, libsrtp's own reference packets, and an
independent RFC 3711 implementation (the `cryptography` package) that must agree byte for byte."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from readiness.probes.calls.wire import rtcp, rtp, srtp
from readiness.probes.calls.wire.srtp import CryptoAttribute, SrtpError, SrtpSession

CM80, CM32, GCM = "AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32", "AEAD_AES_128_GCM"
# RFC 3711 B.3 master key and salt; libsrtp's srtp_validate() uses the same 30 bytes (test_key)
RFC_MASTER = bytes.fromhex("E1F97A0D3E018BE0D64FA32C06DE4139" "0EC675AD498AFEEBB6960B3AABE6")
# RFC 4568 section 4's example line
RFC4568_LINE = "crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4"


def _key_b64(n: int = 30) -> str:
    return base64.b64encode(bytes(range(n))).decode()


def _attr(suite: str = CM80, key: bytes | None = None, tag: int = 1) -> CryptoAttribute:
    return CryptoAttribute(tag, suite, key if key is not None else srtp.new_key(suite))


def _pair(suite: str, window: int = 1024) -> tuple[SrtpSession, SrtpSession]:
    """A and B wired crosswise: A's send key is B's receive key and the other way round."""
    a_key, b_key = _attr(suite), _attr(suite)
    return SrtpSession(a_key, b_key, window), SrtpSession(b_key, a_key, window)


def _rtp(seq: int, ssrc: int = 0x11223344, payload: bytes = b"\xd5" * 160) -> bytes:
    return rtp.build(8, seq, seq * 160, ssrc, payload=payload)


# ---- a=crypto lines ---------------------------------------------------------------------------

@pytest.mark.parametrize("line", [
    RFC4568_LINE,
    f"crypto:7 {CM32} inline:{_key_b64()}",
    f"crypto:2 {CM80} inline:{_key_b64()}|2^31",
    f"crypto:3 {CM80} inline:{_key_b64()}|1:4",
    f"crypto:123456789 {CM80} inline:{_key_b64()}|1048576|255:2 UNENCRYPTED_SRTCP WSH=128",
    f"crypto:4 {GCM} inline:{_key_b64(28)} FEC_ORDER=FEC_SRTP",
    f"crypto:5 AEAD_AES_256_GCM inline:{_key_b64(44)}",
])
def test_crypto_line_round_trip(line):
    attr = CryptoAttribute.parse(line)
    assert attr.to_sdp() == line
    assert CryptoAttribute.parse(line.removeprefix("crypto:")) == attr
    assert CryptoAttribute.parse("a=" + line + "\r\n") == attr
    assert len(attr.key_salt) == {CM80: 30, CM32: 30, GCM: 28}.get(attr.suite, 44)
    assert base64.b64encode(attr.key_salt).decode() not in repr(attr)     # keys stay out of logs


def test_crypto_line_fields():
    attr = CryptoAttribute.parse(RFC4568_LINE + " FEC_ORDER=FEC_SRTP  WSH=64")
    assert (attr.tag, attr.suite, attr.lifetime, attr.mki, attr.params) == (
        1, CM80, "2^20", "1:4", "FEC_ORDER=FEC_SRTP WSH=64")
    assert attr.key_salt == base64.b64decode("PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR")
    unpadded = CryptoAttribute.parse(f"1 {GCM} inline:{_key_b64(28).rstrip('=')}")
    assert unpadded.key_salt == bytes(range(28))


@pytest.mark.parametrize("line, message", [
    (f"crypto:1 F8_128_HMAC_SHA1_80 inline:{_key_b64()}", "suite 'F8_128_HMAC_SHA1_80' is not supported"),
    (f"crypto:1 {CM80} inline:PS1uQCVeeCFCanVmcjk*PywjNWhcYD0mXXtxaVBR", "not valid base64"),
    (f"crypto:1 {CM80} inline:{_key_b64(20)}", "is 20 bytes, needs 30"),
    (f"crypto:1 {GCM} inline:{_key_b64(30)}", "is 30 bytes, needs 28"),
    (f"crypto:1 {CM80} {_key_b64()}", "do not start with inline:"),
    (f"crypto:1 {CM80} uri:http://example.com/key", "do not start with inline:"),
    (f"crypto:one {CM80} inline:{_key_b64()}", "tag 'one' is not a number"),
    (f"crypto:1234567890 {CM80} inline:{_key_b64()}", "is not a number of 1-9 digits"),
    (f"crypto:1 {CM80}", "needs a tag, a suite and key parameters"),
    (f"crypto:1 {CM80} inline:{_key_b64()}|1:200", "MKI length 200 is outside 1..128"),
    (f"crypto:1 {CM80} inline:{_key_b64()}|forever", "neither a lifetime"),
    (f"crypto:1 {CM80} inline:{_key_b64()}|1:4|2^20", "neither a lifetime"),
    (f"crypto:1 {CM80} inline:{_key_b64()}|1:4;inline:{_key_b64()}|2:4", "more than one key"),
])
def test_crypto_line_errors(line, message):
    with pytest.raises(SrtpError, match=message.replace("(", r"\(")) as err:
        CryptoAttribute.parse(line)
    assert err.value.kind == "other" and isinstance(err.value, ValueError)
    assert _key_b64() not in str(err.value) and "PS1uQ" not in str(err.value)   # no key in messages


# ---- offer / answer ---------------------------------------------------------------------------

def test_offer_fresh_keys_and_tags():
    lines = srtp.offer()
    assert [(a.tag, a.suite) for a in lines] == [(1, CM80), (2, CM32), (3, GCM)]
    assert [len(a.key_salt) for a in lines] == [30, 30, 28]
    assert len({a.key_salt for a in lines + srtp.offer()}) == 6                 # never reused
    assert [CryptoAttribute.parse(a.to_sdp()) for a in lines] == lines
    assert [a.suite for a in srtp.offer((CM32,))] == [CM32]
    with pytest.raises(SrtpError, match="not supported"):
        srtp.offer(("NULL_HMAC_SHA1_80",))


def test_answer_follows_the_offerers_order_and_keeps_the_tag():
    offered = [_attr(GCM, tag=5), _attr(CM32, tag=7), _attr(CM80, tag=9)]
    accepted, ours = srtp.answer(offered)
    assert accepted is offered[0]                        # the offerer's first, not our SUITES order
    assert (ours.tag, ours.suite, len(ours.key_salt)) == (5, GCM, 28)
    assert ours.key_salt != accepted.key_salt            # our own key for what we send
    accepted, ours = srtp.answer(offered, supported=(CM80, CM32))
    assert (accepted.tag, ours.tag, ours.suite) == (7, 7, CM32)
    assert srtp.answer(offered, supported=("AES_256_CM_HMAC_SHA1_80",)) is None
    assert srtp.answer([]) is None


def test_answer_skips_lines_it_cannot_honour():
    key = _key_b64()
    offered = [CryptoAttribute.parse(line) for line in (
        f"crypto:1 {CM80} inline:{key}|2^31|1:4",             # packets would carry an MKI
        f"crypto:2 {CM80} inline:{key} UNENCRYPTED_SRTCP",     # pylibsrtp cannot switch encryption off
        f"crypto:3 {CM32} inline:{key}|2^31 WSH=256",          # a hint: fine
    )]
    accepted, ours = srtp.answer(offered)
    assert (accepted.tag, ours.tag, ours.suite) == (3, 3, CM32)
    assert srtp.answer(offered[:2]) is None
    for bad in offered[:2]:
        with pytest.raises(SrtpError, match="not supported"):
            SrtpSession(_attr(), bad)


# ---- protect / unprotect ----------------------------------------------------------------------

@pytest.mark.parametrize("suite, tag_len, rtcp_overhead", [(CM80, 10, 14), (CM32, 4, 14), (GCM, 16, 20)])
def test_round_trip_crosswise_several_ssrcs(suite, tag_len, rtcp_overhead):
    a, b = _pair(suite)
    assert (a.overhead, a.overhead_rtcp, a.suite) == (tag_len, rtcp_overhead, suite)
    # A sends three streams; B reflects with its own SSRCs, one of them equal to one of A's
    for sender, receiver, ssrcs in ((a, b, (1, 2, 0xDEADBEEF)), (b, a, (1, 77))):
        for seq in range(65530, 65546):                  # across the sequence wrap (ROC 0 -> 1)
            for ssrc in ssrcs:
                packet = _rtp(seq, ssrc, payload=bytes([seq & 0xFF]) * (20 + seq % 140))
                protected = sender.protect(packet)
                assert len(protected) - len(packet) == sender.overhead
                assert protected[:12] == packet[:12] and protected[12:len(packet)] != packet[12:]
                assert receiver.unprotect(protected) == packet
        for ssrc in ssrcs:
            for report in (rtcp.build_sr(ssrc, 1_700_000_000_000_000_000, 160, 50, 8000, [])
                           + rtcp.build_sdes(ssrc, "readiness@test"),
                           rtcp.build_rr(ssrc, [rtcp.ReportBlock(1, 0, 0, 65546, 3, 0, 0)])):
                protected = sender.protect_rtcp(report)
                assert len(protected) - len(report) == sender.overhead_rtcp
                assert receiver.unprotect_rtcp(protected) == report


def test_round_trip_with_csrcs_extension_and_padding():
    a, b = _pair(CM80)
    head = struct.pack("!BBHII", 0x80 | 0x20 | 0x10 | 2, 0, 1, 2, 3) + b"\1\2\3\4\5\6\7\x08"
    packet = head + struct.pack("!HH", 0xBEDE, 1) + b"\0" * 4 + b"x" * 20 + b"\0\0\0\x04"
    assert b.unprotect(a.protect(packet)) == packet


@pytest.mark.parametrize("suite", [CM80, CM32, GCM])
def test_tampered_packet_fails_auth_and_leaves_no_trace(suite):
    a, b = _pair(suite)
    packet = a.protect(_rtp(1))
    for i in (5, 30, len(packet) - 1):                   # timestamp, payload, tag
        bad = bytearray(packet)
        bad[i] ^= 0x01
        with pytest.raises(SrtpError, match="authentication failed") as err:
            b.unprotect(bytes(bad))
        assert err.value.kind == "auth"
    assert b.unprotect(packet) == _rtp(1)                # a forgery does not poison the stream
    stranger = SrtpSession(_attr(suite), _attr(suite))   # the wrong key
    with pytest.raises(SrtpError) as err:
        stranger.unprotect(packet)
    assert err.value.kind == "auth"
    report = bytearray(a.protect_rtcp(rtcp.build_rr(1, [])))
    report[-1] ^= 0x80
    with pytest.raises(SrtpError) as err:
        b.unprotect_rtcp(bytes(report))
    assert err.value.kind == "auth"


@pytest.mark.parametrize("suite", [CM80, GCM])
def test_duplicate_is_replay(suite):
    a, b = _pair(suite)
    packet = a.protect(_rtp(9))
    assert b.unprotect(packet) == _rtp(9)
    with pytest.raises(SrtpError, match="replayed") as err:
        b.unprotect(packet)
    assert err.value.kind == "replay"
    report = a.protect_rtcp(rtcp.build_rr(1, []))
    b.unprotect_rtcp(report)
    with pytest.raises(SrtpError) as err:
        b.unprotect_rtcp(report)
    assert err.value.kind == "replay"
    with pytest.raises(SrtpError) as err:               # libsrtp will not reuse a keystream
        a.protect(_rtp(9))
    assert err.value.kind == "replay"


def test_reordering_within_the_window_is_accepted():
    a, b = _pair(CM80, window=1024)
    packets = [a.protect(_rtp(seq)) for seq in range(700)]
    order = [699, *range(0, 699, 2), *range(1, 699, 2)]  # the newest first, then 699 back and forth
    assert [b.unprotect(packets[i]) for i in order] == [_rtp(i) for i in order]
    a, b = _pair(CM80, window=64)                       # the same reordering with a small window
    packets = [a.protect(_rtp(seq)) for seq in range(200)]
    b.unprotect(packets[199])
    assert b.unprotect(packets[150]) == _rtp(150)        # 49 back: inside
    with pytest.raises(SrtpError, match="too old") as err:
        b.unprotect(packets[100])                        # 99 back: older than the window
    assert err.value.kind == "replay"
    a, b = _pair(CM80, window=4096)                     # SRTCP: libsrtp's fixed 128, whatever we ask
    reports = [a.protect_rtcp(rtcp.build_rr(1, [])) for _ in range(200)]
    b.unprotect_rtcp(reports[199])
    assert b.unprotect_rtcp(reports[72]) == rtcp.build_rr(1, [])     # 127 back
    with pytest.raises(SrtpError, match="too old"):
        b.unprotect_rtcp(reports[71])                    # 128 back


def test_other_errors():
    a, b = _pair(CM80)
    for junk in (b"", b"\x80\0\0", b"\0" * 40, b"\x80\0" + b"\0" * 12):   # short, version 0, no tag
        with pytest.raises(SrtpError) as err:
            b.unprotect(junk)
        assert err.value.kind == "other"
    with pytest.raises(SrtpError, match="too long") as err:
        a.protect(_rtp(1, payload=b"x" * 1400))          # pylibsrtp's 1500-byte buffer less the trailer
    assert err.value.kind == "other"
    assert b.unprotect(a.protect(bytearray(_rtp(2)))) == _rtp(2)     # bytearray and memoryview too
    with pytest.raises(SrtpError, match="replay window 32"):
        SrtpSession(_attr(), _attr(), replay_window=32)
    with pytest.raises(SrtpError, match="is 29 bytes"):
        SrtpSession(_attr(), CryptoAttribute(1, CM80, bytes(29)))


# ---- published vectors ------------------------------------------------------------------------

_RTP_PLAIN = bytes.fromhex("800f1234decafbadcafebabe") + b"\xab" * 16
_RTCP_PLAIN = bytes.fromhex("81c8000bcafebabe") + b"\xab" * 16
# libsrtp test/srtp_driver.c srtp_validate() (key: RFC_MASTER) and srtp_validate_gcm()
_CM80_RTP = bytes.fromhex("800f1234decafbadcafebabe4e55dc4ce79978d88ca4d215949d2402b78d6acc99ea179b8dbb")
_CM80_RTCP = bytes.fromhex("81c8000bcafebabe7128035be487b9bdbef89041f977a5a880000001993e08cd54d6c1230798")
_GCM_MASTER = bytes(range(16)) + bytes.fromhex("a0a1a2a3a4a5a6a7a8a9aaab")
_GCM_RTP = bytes.fromhex("800f1234decafbadcafebabec5002ede04cfdd2eb91159e0880aa06ed2976826f796b201df3131a127e8a392")
_GCM_RTCP = bytes.fromhex("81c8000bcafebabec98b8b5df0392a55852b6c21ac8e7025c52c6fbea2b3b446ea31123ba88ce61e80000001")


@pytest.mark.parametrize("suite, master, want_rtp, want_rtcp", [
    (CM80, RFC_MASTER, _CM80_RTP, _CM80_RTCP),
    # RFC 3711 4.2: the 32-bit tag is the same HMAC truncated; SRTCP keeps 80 bits (RFC 4568 6.2.2)
    (CM32, RFC_MASTER, _CM80_RTP[:-6], _CM80_RTCP),
    (GCM, _GCM_MASTER, _GCM_RTP, _GCM_RTCP),
], ids=[CM80, CM32, GCM])
def test_libsrtp_reference_packets(suite, master, want_rtp, want_rtcp):
    key = CryptoAttribute(1, suite, master)
    sender, receiver = SrtpSession(key, key), SrtpSession(key, key)
    assert sender.protect(_RTP_PLAIN) == want_rtp
    assert sender.protect_rtcp(_RTCP_PLAIN) == want_rtcp
    assert receiver.unprotect(want_rtp) == _RTP_PLAIN
    assert receiver.unprotect_rtcp(want_rtcp) == _RTCP_PLAIN


# An independent RFC 3711 implementation, AES-CM + HMAC-SHA1 only, as ground truth for our wiring.

def _aes_cm(key: bytes, iv: int, n: int) -> bytes:
    """RFC 3711 4.1.1: AES in counter mode, the 128-bit IV as the first counter block."""
    return Cipher(algorithms.AES(key), modes.CTR(iv.to_bytes(16, "big"))).encryptor().update(bytes(n))


def _derive(master: bytes, label: int, n: int) -> bytes:
    """RFC 3711 4.3.1/4.3.3, key derivation rate 0: x = (label || r=0) XOR master salt (right
    aligned, 112 bits), PRF = AES-CM under the master key with IV x * 2^16."""
    x = (label << 48) ^ int.from_bytes(master[16:30], "big")
    return _aes_cm(master[:16], x << 16, n)


def _xor(data: bytes, stream: bytes) -> bytes:
    return bytes(d ^ s for d, s in zip(data, stream))


def _reference_srtp(master: bytes, packet: bytes, roc: int, tag_len: int) -> bytes:
    """RFC 3711 3.1/4.1.1/4.2: encrypt the payload, tag = HMAC-SHA1(header || payload || ROC)."""
    enc, auth, salt = _derive(master, 0x00, 16), _derive(master, 0x01, 20), _derive(master, 0x02, 14)
    h = rtp.parse(packet)
    index = (roc << 16) | h.seq
    iv = (int.from_bytes(salt, "big") << 16) ^ (h.ssrc << 64) ^ (index << 16)
    body = packet[:h.payload_offset] + _xor(packet[h.payload_offset:],
                                            _aes_cm(enc, iv, len(packet) - h.payload_offset))
    return body + hmac.new(auth, body + roc.to_bytes(4, "big"), hashlib.sha1).digest()[:tag_len]


def _reference_srtcp(master: bytes, packet: bytes, index: int) -> bytes:
    """RFC 3711 3.4: labels 3-5, everything after the first 8 bytes encrypted, then E || index,
    then an 80-bit HMAC-SHA1 tag over all of it."""
    enc, auth, salt = _derive(master, 0x03, 16), _derive(master, 0x04, 20), _derive(master, 0x05, 14)
    ssrc = struct.unpack_from("!I", packet, 4)[0]
    iv = (int.from_bytes(salt, "big") << 16) ^ (ssrc << 64) ^ (index << 16)
    body = packet[:8] + _xor(packet[8:], _aes_cm(enc, iv, len(packet) - 8))
    body += struct.pack("!I", 0x80000000 | index)
    return body + hmac.new(auth, body, hashlib.sha1).digest()[:10]


def test_reference_implementation_reproduces_rfc3711_vectors():
    """The ground truth is itself checked against RFC 3711 B.2 (AES-CM keystream) and B.3 (keys)."""
    assert _aes_cm(bytes.fromhex("2B7E151628AED2A6ABF7158809CF4F3C"),
                   0xF0F1F2F3F4F5F6F7F8F9FAFBFCFD0000, 48).hex().upper() == (
        "E03EAD0935C95E80E166B16DD92B4EB4" "D23513162B02D0F72A43A2FE4A5F97AB"
        "41E95B3BB0A2E8DD477901E4FCA894C0")
    assert _derive(RFC_MASTER, 0x00, 16).hex().upper() == "C61E7A93744F39EE10734AFE3FF7A087"
    assert _derive(RFC_MASTER, 0x02, 14).hex().upper() == "30CBBC08863D8C85D49DB34A9AE1"
    assert _derive(RFC_MASTER, 0x01, 20).hex().upper() == "CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4"
    assert _reference_srtp(RFC_MASTER, _RTP_PLAIN, 0, 10) == _CM80_RTP
    assert _reference_srtcp(RFC_MASTER, _RTCP_PLAIN, 1) == _CM80_RTCP


@pytest.mark.parametrize("suite, tag_len", [(CM80, 10), (CM32, 4)])
def test_protect_agrees_with_an_independent_implementation(suite, tag_len):
    master = srtp.new_key(suite)
    ours = SrtpSession(CryptoAttribute(1, suite, master), _attr(suite))
    for ssrc in (0x01020304, 0xFFFFFFFF):
        for seq in (65533, 65534, 65535, 0, 1, 2):       # ROC 1 after the wrap (RFC 3711 3.3.1)
            packet = _rtp(seq, ssrc, payload=bytes(range(seq % 50, seq % 50 + 60)))
            assert ours.protect(packet) == _reference_srtp(master, packet, int(seq < 100), tag_len)
    head = struct.pack("!BBHII", 0x80 | 0x10 | 1, 0, 40, 2, 0xABCDEF01) + b"\0\0\0\7"
    packet = head + struct.pack("!HH", 0xBEDE, 1) + b"\1\2\3\4" + b"voice" * 8
    assert ours.protect(packet) == _reference_srtp(master, packet, 0, tag_len)    # CSRC + extension clear
    report = rtcp.build_sr(0x01020304, 1_700_000_000_000_000_000, 160, 50, 8000, [])
    first = ours.protect_rtcp(report)
    index = struct.unpack_from("!I", first, len(first) - 14)[0] & 0x7FFFFFFF
    assert first == _reference_srtcp(master, report, index)
    assert ours.protect_rtcp(report) == _reference_srtcp(master, report, index + 1)
