"""SIP message parsing and serialising: RFC 3261 forms, bounds, and a fuzzer that must never crash it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from readiness.probes.calls.sip.message import (MAX_MESSAGE_BYTES, Headers, Request, Response, SipParseError,
                                                StreamFramer, parse)
from readiness.probes.calls.sip.uri import NameAddr, SipUri, Via

# RFC 4475 3.1.1.1 "A Short Tortuous INVITE" is the model: compact forms, folding, odd spacing.
TORTUOUS = (
    b"INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0\r\n"
    b"TO :\r\n sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n\r\n"
    b'from   : "J Rosenberg \\\\\\"" <sip:jdrosen@example.com>\r\n  ;\r\n  tag = 98asjd8\r\n'
    b"MaX-fOrWaRdS: 0068\r\n"
    b"Call-ID: wsinv.ndaksdj@192.0.2.1\r\n"
    b"Content-Length   : 150\r\n"
    b"cseq: 0009\r\n  INVITE\r\n"
    b"Via  : SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;branch=390skdjuw\r\n"
    b"s :\r\n"
    b"NewFangledHeader:   newfangled value\r\n continued newfangled value\r\n"
    b"UnknownHeaderWithUnusualValue: ;;,,;;,;\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Route:\r\n <sip:services.example.com;lr;unknownwith=value;unknown-no-value>\r\n"
    b"v:  SIP  / 2.0  / TCP     spindle.example.com   ;\r\n  branch  =   z9hG4bK9ikj8  ,\r\n"
    b" SIP  /    2.0   / UDP  192.168.255.111   ; branch=\r\n z9hG4bK30239\r\n"
    b"m:\"Quoted string \\\"\\\"\" <sip:jdrosen@example.com> ; newparam =\r\n"
    b"      newvalue ;\r\n  secondparam ; q = 0.33\r\n"
    b"\r\n"
    b"v=0\r\no=mhandley 29739 7272939 IN IP4 192.0.2.3\r\ns=-\r\nc=IN IP4 192.0.2.4\r\n"
    b"t=0 0\r\nm=audio 49217 RTP/AVP 0 12\r\nm=video 3227 RTP/AVP 31\r\na=rtpmap:31 LPC\r\n"
)


def invite(extra: bytes = b"", body: bytes = b"", length: int | None = None) -> bytes:
    cl = len(body) if length is None else length
    return (b"INVITE sip:bob@example.com SIP/2.0\r\n"
            b"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds\r\n"
            b"Max-Forwards: 70\r\nTo: Bob <sip:bob@example.com>\r\n"
            b"From: Alice <sip:alice@example.com>;tag=1928301774\r\n"
            b"Call-ID: a84b4c76e66710@pc33.example.com\r\nCSeq: 314159 INVITE\r\n"
            + extra + b"Content-Length: " + str(cl).encode() + b"\r\n\r\n" + body)


def test_tortuous_invite_parses():
    msg = parse(TORTUOUS)
    assert isinstance(msg, Request) and msg.method == "INVITE"
    assert msg.cseq == (9, "INVITE")
    assert msg.to.tag == "1918181833n"
    assert msg.from_.tag == "98asjd8"
    assert msg.call_id == "wsinv.ndaksdj@192.0.2.1"
    vias = msg.headers.get_all("Via")                     # "Via" and compact "v", one with two values
    assert len(vias) == 3
    assert [v.transport for v in msg.vias] == ["UDP", "TCP", "UDP"]
    assert msg.vias[1].branch == "z9hG4bK9ikj8"
    assert msg.headers.get("Subject") == ""               # compact "s", empty value
    assert msg.headers.get("NewFangledHeader") == "newfangled value continued newfangled value"
    assert len(msg.body) == 150
    contact = NameAddr.parse(msg.headers.get("Contact"))
    assert contact.uri == "sip:jdrosen@example.com" and contact.params["q"] == "0.33"


def test_round_trip_and_content_length_recomputed():
    msg = parse(invite(b"Content-Type: application/sdp\r\n", b"v=0\r\n"))
    msg.body = b"v=0\r\no=x 1 1 IN IP4 192.0.2.1\r\n"
    again = parse(msg.encode())
    assert again.body == msg.body
    assert again.headers.get("Content-Length") == str(len(msg.body))
    assert again.headers.get_all("Content-Length") == [str(len(msg.body))]


def test_extra_datagram_bytes_are_discarded_and_short_body_is_an_error():
    assert parse(invite(body=b"abcdef", length=3)).body == b"abc"          # RFC 3261 18.3
    with pytest.raises(SipParseError, match="Content-Length 10"):
        parse(invite(body=b"abc", length=10))


def test_response_and_multiple_header_lines():
    data = (b"SIP/2.0 401 Unauthorized\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKa\r\n"
            b"From: <sip:a@h>;tag=1\r\nTo: <sip:a@h>;tag=2\r\nCall-ID: x\r\nCSeq: 1 REGISTER\r\n"
            b'WWW-Authenticate: Digest realm="a, b", nonce="1"\r\n'
            b'WWW-Authenticate: Digest realm="c", nonce="2", algorithm=SHA-256\r\n'
            b"Allow: INVITE, ACK\r\nAllow: BYE\r\nContent-Length: 0\r\n\r\n")
    msg = parse(data)
    assert isinstance(msg, Response) and msg.status == 401 and msg.reason == "Unauthorized"
    assert len(msg.headers.get_all("WWW-Authenticate")) == 2          # not split at the comma in "a, b"
    assert msg.headers.get_all("Allow") == ["INVITE", "ACK", "BYE"]


def test_bare_lf_is_tolerated():
    msg = parse(invite().replace(b"\r\n", b"\n"))
    assert msg.cseq == (314159, "INVITE")


@pytest.mark.parametrize("bad, why", [
    (b"", "bad start line"),
    (b"HELLO\r\n\r\n", "bad start line"),
    (b"SIP/2.0 99 Low\r\n\r\n", "bad status"),
    (b"SIP/2.0 700 High\r\n\r\n", "bad status"),
    (invite().replace(b"CSeq: 314159 INVITE", b"CSeq: x INVITE"), "bad CSeq"),
    (invite().replace(b"CSeq: 314159 INVITE", b"CSeq: 1 BYE"), "does not match"),
    (invite().replace(b"Call-ID", b"X-Call-ID"), "missing Call-ID"),
    (invite().replace(b"Content-Length: 0", b"Content-Length: -1"), "bad Content-Length"),
    (invite().replace(b"Via: SIP/2.0/UDP", b"Via: HTTP/1.1/UDP"), "bad Via"),
    (invite(b"bad header without colon\r\n"), "bad header line"),
    (b"INVITE sip:a SIP/2.0\r\n" + b"X: y\r\n" * 200 + b"\r\n", "more than"),
    (b"INVITE sip:a SIP/2.0\r\n" + b"X: " + b"y" * 70000 + b"\r\n\r\n", "larger than"),
])
def test_malformed_input_is_rejected_with_a_reason(bad, why):
    with pytest.raises(SipParseError, match=why):
        parse(bad)


def test_stream_framer_cuts_by_content_length_and_skips_keepalives():
    one = invite(b"Content-Type: application/sdp\r\n", b"v=0\r\n")
    two = invite()
    framer = StreamFramer()
    data = b"\r\n\r\n" + one + two
    frames = []
    for i in range(0, len(data), 7):                 # dribbled in 7-byte pieces
        frames += framer.feed(data[i:i + 7])
    assert frames == [one, two]
    assert framer.keepalives >= 1
    assert parse(frames[0], stream=True).body == b"v=0\r\n"


def test_stream_framer_needs_content_length_and_bounds():
    with pytest.raises(SipParseError, match="required"):
        StreamFramer().feed(invite().replace(b"Content-Length: 0\r\n", b""))
    with pytest.raises(SipParseError, match="no end of headers"):
        StreamFramer().feed(b"INVITE sip:a SIP/2.0\r\n" + b"X: y\r\n" * 5000)
    with pytest.raises(SipParseError, match="larger than"):
        StreamFramer().feed(invite(length=MAX_MESSAGE_BYTES))


def test_uri_name_addr_and_via():
    u = SipUri.parse("sips:alice@[2001:db8::1]:5071;transport=tcp;lr?subject=x")
    assert (u.host, u.port, u.transport, u.user, u.headers) == ("2001:db8::1", 5071, "tls", "alice", "subject=x")
    assert str(SipUri.parse("sip:test@192.0.2.1:5080;transport=tcp")) == "sip:test@192.0.2.1:5080;transport=tcp"
    assert SipUri.parse("sip:h").port_or_default() == 5060
    for bad in ("http://x", "sip:", "sip:a@h:99999", "sip:[::1"):
        with pytest.raises(ValueError):
            SipUri.parse(bad)
    # addr-spec form: ;tag belongs to the header, not the URI (RFC 3261 20.10)
    assert NameAddr.parse("sip:a@h;tag=7").tag == "7"
    assert NameAddr.parse('"A, B" <sip:a@h;lr>;tag=8').uri == "sip:a@h;lr"
    v = Via.parse("SIP/2.0/TCP [::1]:5062;branch=z9hG4bKx;rport;received=192.0.2.9")
    assert v.sent_by() == ("::1", 5062) and v.params["rport"] == "" and v.branch == "z9hG4bKx"


def test_headers_set_replaces_all():
    h = Headers([("Via", "a"), ("X-Foo", "1"), ("v", "b")])
    h.set("Via", "c")
    assert list(h) == [("Via", "c"), ("X-Foo", "1")]


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=2000))
def test_fuzz_random_bytes_never_crash(data):
    try:
        parse(data)
    except SipParseError:
        pass
    framer = StreamFramer()
    try:
        framer.feed(data)
    except SipParseError:
        pass


_LINES = [b"INVITE sip:a@b SIP/2.0", b"SIP/2.0 200 OK", b"Via: SIP/2.0/UDP h;branch=z9hG4bK1",
          b"v: SIP/2.0/TCP h", b"From: <sip:a@h>;tag=1", b"f: sip:x", b"To: <sip:b@h>", b"t:",
          b"Call-ID: c", b"i: c", b"CSeq: 1 INVITE", b"CSeq: 99999999999 INVITE", b"Content-Length: 5",
          b"l: 99999999", b" folded", b"\t", b"Contact: <sip:a@[::1", b"", b"\xff\xfe", b"X:", b":"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_LINES), max_size=14), st.binary(max_size=40),
       st.sampled_from([b"\r\n", b"\n"]))
def test_fuzz_sip_shaped_input_never_crashes(lines, tail, eol):
    data = eol.join(lines) + eol + eol + tail
    try:
        msg = parse(data)
    except SipParseError:
        return
    # what parses is usable by every later layer without another exception
    msg.cseq, msg.top_via, msg.from_, msg.to, msg.call_id
    parse(msg.encode())
