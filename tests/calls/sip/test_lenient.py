"""The parsers' lenient mode (reading SIP and SDP found in captures) and the strict mode's refusals of
non-ASCII digits. Expected values are written out by hand from the rules the modules' docstrings state."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from readiness.probes.calls.sip import sdp
from readiness.probes.calls.sip.message import Request, Response, SipParseError, StreamFramer, parse

from .test_message import TORTUOUS, _LINES, invite

# What the strict parser refuses and a capture may still hold: no Via, a header line without a colon,
# a non-token header name, a CSeq without a number, an unbalanced To, no Content-Length.
SLOPPY = (b"INVITE sip:bob@192.0.2.2 SIP/2.0\r\n"
          b"From: Alice <sip:alice@192.0.2.1>;tag=a1\r\n"
          b"To: <sip:bob@192.0.2.2\r\n"
          b"this line is no header\r\n"
          b"X Vendor Thing: 1\r\n"
          b"Call-ID: sloppy@192.0.2.1\r\n"
          b"CSeq: one invite\r\n"
          b"Content-Type: application/sdp\r\n\r\n"
          b"v=0\r\nc=IN IP4 192.0.2.1\r\nm=audio 4000 RTP/AVP 0\r\n")


def test_lenient_reads_what_strict_refuses():
    with pytest.raises(SipParseError):
        parse(SLOPPY)
    msg = parse(SLOPPY, lenient=True)
    assert isinstance(msg, Request) and (msg.method, msg.uri) == ("INVITE", "sip:bob@192.0.2.2")
    assert msg.call_id == "sloppy@192.0.2.1"
    assert msg.cseq == (-1, "INVITE")                       # no number: -1, the method in capitals
    assert msg.from_.uri == "sip:alice@192.0.2.1" and msg.from_.tag == "a1"
    assert msg.to.uri == "<sip:bob@192.0.2.2" and msg.to.tag == ""    # unbalanced <: text up to ';'
    assert msg.headers.get("X Vendor Thing") == "1"
    assert msg.body.startswith(b"v=0") and msg.body.endswith(b"RTP/AVP 0\r\n")   # no Content-Length: the rest


def test_lenient_start_lines():
    ok = {b"SIP/2.0 999 Odd": (999, "Odd"), b"SIP/2.0 200": (200, ""), b"SIP/2.0 200  OK": (200, " OK")}
    for start, (status, reason) in ok.items():
        msg = parse(start + b"\r\n\r\n", lenient=True)
        assert isinstance(msg, Response) and (msg.status, msg.reason) == (status, reason)
    assert parse(b"OPTIONS host SIP/2.0\r\n\r\n", lenient=True).uri == "host"     # no scheme needed
    for bad in (b"invite sip:a SIP/2.0", b"INVITE sip:a sip/2.0", b"INVITE  sip:a SIP/2.0", b"SIP/2.0 20 OK",
                b"HTTP/1.1 200 OK", b""):
        with pytest.raises(SipParseError, match="not a SIP start line"):
            parse(bad + b"\r\n\r\n", lenient=True)


def test_lenient_content_length_and_no_bounds():
    assert parse(invite(b"", b"abc", length=2).replace(b"Content-Length: 2", b"Content-Length: x"),
                 lenient=True).body == b""                   # not a number: 0
    with pytest.raises(SipParseError, match="Content-Length 9"):
        parse(invite(b"", b"abc", length=9), lenient=True)   # a body cut short is still not read
    big = b"INVITE sip:a@h SIP/2.0\r\nX: " + b"y" * 70000 + b"\r\nContent-Length: 0\r\n\r\n"
    assert parse(big, lenient=True).headers.get("X") == "y" * 70000


def test_tortuous_invite_reads_the_same_either_way():
    strict, lenient = parse(TORTUOUS), parse(TORTUOUS, lenient=True)
    for get in (lambda m: m.cseq, lambda m: m.to.tag, lambda m: m.from_.tag, lambda m: m.call_id,
                lambda m: m.to.uri, lambda m: m.body, lambda m: [v.branch for v in m.vias]):
        assert get(strict) == get(lenient)
    assert lenient.to.tag == "1918181833n"                  # "; tag = ..." with spaces (RFC 3261 25.1 SWS)


def test_lenient_framer_gives_messages():
    one, two = invite(b"", b"abc"), invite()
    no_length = invite().replace(b"Content-Length: 0\r\n", b"") + b"tail"
    framer = StreamFramer(lenient=True)
    msgs = framer.messages(b"\r\n" + one + two[:30]) + framer.messages(two[30:] + no_length)
    assert [m.body for m in msgs] == [b"abc", b"", b"tail"]     # no Content-Length: what has arrived
    assert all(m.lenient and m.cseq == (314159, "INVITE") for m in msgs) and framer.pending == 0
    # a head that is not SIP ends the stream at once, whatever Content-Length it claims
    framer = StreamFramer(lenient=True)
    assert framer.messages(b"HELLO there\r\nContent-Length: 500\r\n\r\n" + one) == []
    assert framer.pending == 0
    # no size bound: a message larger than the strict limit is held, then read
    framer = StreamFramer(lenient=True)
    big = invite(b"", b"x" * 80000)
    assert framer.messages(big[:50000]) == [] and framer.pending == 50000
    (msg,) = framer.messages(big[50000:])
    assert len(msg.body) == 80000
    with pytest.raises(TypeError):
        framer.feed(one)                                         # frames are for strict framers


def test_strict_framer_messages_are_parse_of_each_frame():
    framer = StreamFramer()
    assert [m.cseq for m in framer.messages(invite() + invite(b"", b"abc"))] == [(314159, "INVITE")] * 2
    with pytest.raises(SipParseError):
        StreamFramer().messages(invite().replace(b"Call-ID", b"X-Call-ID"))


def test_strict_refuses_non_ascii_digits_with_its_own_errors():
    # str.isdigit() takes these; int() does not: they must be parse errors, not a ValueError escaping
    with pytest.raises(SipParseError, match="bad Content-Length"):
        parse(invite().replace(b"Content-Length: 0", "Content-Length: ²".encode()))
    with pytest.raises(SipParseError, match="bad CSeq"):
        parse(invite().replace(b"CSeq: 314159", "CSeq: ²".encode()))
    with pytest.raises(SipParseError, match="bad status code"):
        parse("SIP/2.0 ²²² OK\r\n\r\n".encode())
    head = "v=0\r\no=x 1 1 IN IP4 h\r\nc=IN IP4 h\r\n"
    for bad in ("m=audio ² RTP/AVP 0", "m=audio 4000 RTP/AVP 0\r\na=rtpmap:² PCMU/8000",
                "m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000/²", "m=audio 4000 RTP/AVP 0\r\na=ptime:inf"):
        with pytest.raises(sdp.SdpError):
            sdp.parse(head + bad)
    assert sdp.parse(head + "m=audio 4000 RTP/AVP ² 0").media[0].payload_types() == [0]


# --- SDP ---------------------------------------------------------------------------------------------

CAPTURED_SDP = (b"c=IN IP4 192.0.2.1\r\n"                     # no v=, no o=
                b"m=AUDIO 4000 RTP/SAVP 0 96\r\n"
                b"a=RTPMAP:96 opus/48000/2\r\n"
                b"a=rtpmap:97 L16\r\n"                        # no clock
                b"a=ptime:22.5\r\n"
                b"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:x\r\n"
                b"junk\r\n"
                b"m=video x RTP/AVP 31\r\n"                   # bad port: skipped, what follows goes above
                b"a=sendonly\r\n"
                b"m=image 5000 udptl t38\r\n"
                b"c=IN IP4 198.51.100.7\r\n"
                b"m=video 6000 UDP/TLS/RTP/SAVPF 96\r\n"
                b"a=Fingerprint:sha-256 AB:CD\r\n"
                b"m=audio 7000 RTP/AVP 0\r\n")


def test_lenient_sdp_reads_a_captured_body():
    with pytest.raises(sdp.SdpError):
        sdp.parse(CAPTURED_SDP)
    media = sdp.parse(CAPTURED_SDP, lenient=True).media
    assert [(m.media, m.port, m.proto, m.connection) for m in media] == [
        ("audio", 4000, "RTP/SAVP", "192.0.2.1"), ("image", 5000, "udptl", "198.51.100.7"),
        ("video", 6000, "UDP/TLS/RTP/SAVPF", "192.0.2.1"), ("audio", 7000, "RTP/AVP", "192.0.2.1")]
    audio = media[0]
    assert {pt: (r.encoding, r.clock_rate, r.channels) for pt, r in audio.rtpmaps.items()} == \
        {96: ("opus", 48000, 2), 97: ("L16", 0, 1)}
    assert audio.ptime_ms == 22.5 and audio.direction == "sendonly" and audio.keyed
    assert [m.encrypted for m in media] == [True, False, True, False]   # SAVP + crypto, -, SAVPF + fingerprint, -


def test_encrypted_in_strict_mode_too():
    head = b"v=0\r\no=x 1 1 IN IP4 h\r\nc=IN IP4 h\r\n"
    assert sdp.parse(head + b"m=audio 4000 RTP/AVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:x\r\n"
                     ).media[0].encrypted
    assert sdp.parse(head + b"m=audio 4000 RTP/SAVPF 0\r\n").media[0].encrypted
    assert not sdp.parse(head + b"m=audio 4000 RTP/AVP 0\r\n").media[0].encrypted


# --- never another exception -------------------------------------------------------------------------

@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_LINES), max_size=14), st.binary(max_size=40),
       st.sampled_from([b"\r\n", b"\n"]), st.integers(0, 60))
def test_fuzz_lenient_reads_or_says_not_sip(lines, tail, eol, cut):
    data = eol.join(lines) + eol + eol + tail
    framer = StreamFramer(lenient=True)
    for msg in framer.messages(data[:cut]) + framer.messages(data[cut:]):    # never raises
        msg.cseq, msg.from_, msg.to, msg.call_id                            # answer, never raise
    try:
        msg = parse(data, lenient=True)
    except SipParseError:
        return
    msg.cseq, msg.from_, msg.to, msg.call_id


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_fuzz_lenient_sdp_never_raises(data):
    for m in sdp.parse(data, lenient=True).media:
        m.encrypted, m.payload_types()
