"""SDP offer/answer (RFC 3264) and digest authentication against the RFCs' published vectors."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from readiness import codecs
from readiness.probes.calls.sip import sdp
from readiness.probes.calls.sip.digest import (Challenge, Credentials, DigestError, authorization, challenges,
                                               parse_challenge, response_value)
from readiness.probes.calls.sip.message import Headers, Response

# shaped like the SDP baresip 1.0 answers with (test_peers.py checks a real one)
BARESIP_ANSWER = (b"v=0\r\no=- 1811284305 3403591374 IN IP4 192.0.2.7\r\ns=-\r\nc=IN IP4 192.0.2.7\r\n"
                  b"t=0 0\r\na=tool:baresip 1.0.0\r\nm=audio 10066 RTP/AVP 0\r\nb=AS:64\r\n"
                  b"a=rtpmap:0 PCMU/8000\r\na=sendrecv\r\na=label:1\r\na=ssrc:3591271 cname:x\r\n"
                  b"a=rtcp-rsize\r\na=ptime:20\r\n")


def test_offer_lists_codecs_in_order_with_rtpmap_and_ptime():
    desc = sdp.offer([codecs.get("opus"), codecs.get("pcmu")], "192.0.2.10", 40000, ptime_ms=30)
    text = desc.encode().decode()
    assert "m=audio 40000 RTP/AVP 111 0\r\n" in text
    assert "a=rtpmap:111 opus/48000/2\r\n" in text            # RFC 7587 6.1
    assert "a=ptime:30\r\n" in text and "c=IN IP4 192.0.2.10\r\n" in text and "a=sendrecv" in text
    back = sdp.negotiated(sdp.parse(text))
    assert (back.address, back.port, back.payload_type, back.encoding, back.clock_rate, back.ptime_ms) == \
        ("192.0.2.10", 40000, 111, "opus", 48000, 30)


def test_answer_picks_first_offered_codec_we_support_and_keeps_its_payload_type():
    offered = sdp.parse(b"v=0\r\no=x 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
                        b"m=video 5000 RTP/AVP 96\r\n"
                        b"m=audio 4000 RTP/AVP 97 8 0 101\r\na=rtpmap:97 iLBC/8000\r\n"
                        b"a=rtpmap:101 telephone-event/8000\r\na=sendonly\r\n")
    ans = sdp.answer(offered, [codecs.get("pcmu"), codecs.get("pcma")], "192.0.2.2", 6000)
    assert ans is not None
    assert [m.port for m in ans.media] == [0, 6000]            # video rejected, same m-line count
    audio = sdp.negotiated(ans)
    assert (audio.payload_type, audio.encoding, audio.direction) == (8, "PCMA", "recvonly")
    assert sdp.answer(offered, [codecs.get("g729")], "192.0.2.2", 6000) is None


def test_parse_baresip_answer_and_versioning():
    desc = sdp.parse(BARESIP_ANSWER)
    media = sdp.negotiated(desc)
    assert (media.address, media.port, media.payload_type, media.ptime_ms) == ("192.0.2.7", 10066, 0, 20)
    assert sdp.codec_for(media) is codecs.get("pcmu")
    assert desc.next_version().version == desc.version + 1


@pytest.mark.parametrize("bad", [b"hello", b"v=1\r\n", b"v=0\r\nm=audio 1 RTP/AVP 0\r\n",
                                 b"v=0\r\no=x 1 1 IN IP4 h\r\nm=audio x RTP/AVP 0\r\n",
                                 b"v=0\r\no=x 1 1 IN IP4 h\r\nm=audio 4000 RTP/AVP 0\r\n",  # no c=
                                 b"v=0\r\no=x 1 1 IN IP4 h\r\nc=IN IP4 h\r\nm=audio 4000 RTP/AVP 96\r\n"])
def test_unusable_sdp_raises_sdp_error(bad):
    with pytest.raises(sdp.SdpError):
        sdp.negotiated(sdp.parse(bad))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_fuzz_sdp(data):
    try:
        sdp.negotiated(sdp.parse(data))
    except sdp.SdpError:
        pass


# --- digest: published vectors -----------------------------------------------------------------------

def test_rfc2617_section_3_5_vector():
    ch = parse_challenge('Digest realm="testrealm@host.com", qop="auth,auth-int", '
                         'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"')
    creds = Credentials("Mufasa", "Circle Of Life")
    assert response_value(ch, creds, "GET", "/dir/index.html", "0a4f113b", 1) == "6629fae49393a05397450978507c4ef1"


@pytest.mark.parametrize("algorithm, expected", [
    ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),                                    # RFC 7616 3.9.1
    ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
])
def test_rfc7616_section_3_9_1_vectors(algorithm, expected):
    ch = Challenge("http-auth@example.org", "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", algorithm, ("auth",),
                   "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS")
    creds = Credentials("Mufasa", "Circle of Life")
    cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
    assert response_value(ch, creds, "GET", "/dir/index.html", cnonce, 1) == expected
    header = authorization(ch, creds, "GET", "/dir/index.html", 1, cnonce)
    assert f'response="{expected}"' in header and "nc=00000001" in header and "qop=auth" in header


def test_challenge_choice_and_refusals():
    resp = Response(401, "Unauthorized", Headers([
        ("WWW-Authenticate", 'Digest realm="r", nonce="n1", algorithm=MD5, qop="auth"'),
        ("WWW-Authenticate", 'Digest realm="r", nonce="n2", algorithm=SHA-256, qop="auth"'),
    ]))
    assert challenges(resp)[0].algorithm == "SHA-256"          # the stronger first (RFC 8760)
    only_int = Response(407, "Proxy Authentication Required",
                        Headers([("Proxy-Authenticate", 'Digest realm="r", nonce="n", qop="auth-int"')]))
    with pytest.raises(DigestError, match="qop"):
        challenges(only_int)
    with pytest.raises(DigestError, match="scheme"):
        parse_challenge('Basic realm="r"')


def test_password_never_in_repr():
    creds = Credentials("alice", "s3cr3t-value")
    assert "s3cr3t-value" not in repr(creds) and "s3cr3t-value" not in str(creds)
