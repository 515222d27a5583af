"""A call that switches to T.38 fax by re-INVITE: the voice stream ends at the switch, the UDPTL part
is reported as fax per direction; checked against the truth the capture was built with and tshark.

UDPTL packets are packed here with struct from T.38 clause 9.1 (aligned PER), independently of
readiness/probes/capture/fax.py: seq-number (2 octets), primary IFP as length + octets, then the
error-recovery CHOICE octet (0x00 secondary IFPs, 0x80 FEC) and its SEQUENCE OF octet strings.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import time

import pytest

from readiness.probes.capture.analyze import analyse
from readiness.probes.capture.fax import parse_udptl
from readiness.probes.capture.pcap_writer import ethernet, ipv4_udp, rtp, write_pcap
from tests.analysis.corpus_rtp import ROW
from tests.conftest import need_tool

T0 = 1_700_000_000.0
A, B = "192.0.2.1", "192.0.2.2"
PA, PB = 40000, 50000
CALL = "fax-switch@test"
# IFP packets (T.38 clause 7): t30-indicators (0x02 CNG, 0x06 v21-preamble, one octet), then T.4 page
# data: t30-data v17-14400 with one data-field item t4-non-ecm-data of 40 octets (as tshark decodes it)
INDICATORS = (b"\x02", b"\x06")


def ifp(i: int) -> bytes:
    if i < len(INDICATORS):
        return INDICATORS[i]
    return bytes.fromhex("d001e00027") + bytes((7 * i + k) % 256 for k in range(40))

SKIP_A = {10, 11, 25}                 # sequence numbers A never sends (10 and 11 come back as redundancy)
FIRST_B = 0x7FF0                      # B's numbers cross 0x8000: from there they start like RTP version 2
SKIP_B = {FIRST_B + 5, FIRST_B + 40}
UDPTL_PACKETS = 60


def _len(n: int) -> bytes:
    return bytes([n]) if n < 128 else struct.pack(">H", 0x8000 | n)


def udptl(seq: int, ifp: bytes, secondaries: list[bytes] = (), fec: list[bytes] | None = None) -> bytes:
    out = struct.pack(">H", seq) + _len(len(ifp)) + ifp
    if fec is None:
        return out + b"\x00" + _len(len(secondaries)) + b"".join(_len(len(s)) + s for s in secondaries)
    return out + b"\x80" + b"\x01" + bytes([len(fec)]) + _len(len(fec)) + b"".join(_len(len(s)) + s for s in fec)


def _sip(first: str, src: str, cseq: str, to_tag: str = "", media: str | None = None) -> bytes:
    body = ""
    if media:
        body = f"v=0\r\no=- 1 1 IN IP4 {src}\r\ns=-\r\nc=IN IP4 {src}\r\nt=0 0\r\n{media}"
    return (f"{first}\r\nVia: SIP/2.0/UDP {src}:5060;branch=z9hG4bK{cseq.split()[0]}{len(first)}\r\n"
            f"From: <sip:a@{A}>;tag=fa\r\nTo: <sip:b@{B}>{to_tag}\r\nCall-ID: {CALL}\r\nCSeq: {cseq}\r\n"
            + ("Content-Type: application/sdp\r\n" if body else "")
            + f"Content-Length: {len(body)}\r\n\r\n{body}").encode()


def _audio(port: int) -> str:
    return f"m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"


def _image(port: int) -> str:
    return (f"m=image {port} udptl t38\r\na=T38FaxVersion:0\r\na=T38FaxRateManagement:transferredTCF\r\n"
            f"a=T38FaxUdpEC:t38UDPRedundancy\r\n")


def fax_call(path):
    """INVITE/200/ACK, 2 s of PCMU both ways, re-INVITE to image/t38, 200/ACK, UDPTL both ways, BYE."""
    def udp(t, src, dst, sport, dport, payload):
        return (T0 + t, ethernet(ipv4_udp(src, dst, sport, dport, payload, dscp=46 if sport != 5060 else 24)))

    def sig(t, src, dst, data):
        return udp(t, src, dst, 5060, 5060, data)

    frames = [sig(0.0, A, B, _sip(f"INVITE sip:b@{B} SIP/2.0", A, "1 INVITE", media=_audio(PA))),
              sig(0.05, B, A, _sip("SIP/2.0 200 OK", B, "1 INVITE", ";tag=fb", _audio(PB))),
              sig(0.06, A, B, _sip(f"ACK sip:b@{B} SIP/2.0", A, "1 ACK", ";tag=fb"))]
    for i in range(100):
        t = 0.1 + i * 0.02
        frames.append(udp(t, A, B, PA, PB, rtp(i, 160 * i, 0xAAAA)))
        frames.append(udp(t + 0.003, B, A, PB, PA, rtp(1000 + i, 160 * i, 0xBBBB)))
    frames += [sig(2.15, A, B, _sip(f"INVITE sip:b@{B} SIP/2.0", A, "2 INVITE", ";tag=fb", _image(PA))),
               sig(2.20, B, A, _sip("SIP/2.0 200 OK", B, "2 INVITE", ";tag=fb", _image(PB))),
               sig(2.21, A, B, _sip(f"ACK sip:b@{B} SIP/2.0", A, "2 ACK", ";tag=fb"))]
    for i in range(UDPTL_PACKETS):
        t = 2.3 + i * 0.03
        if i not in SKIP_A:                           # redundancy: the two IFPs before, newest first
            frames.append(udp(t, A, B, PA, PB, udptl(i, ifp(i), [ifp(i - k) for k in (1, 2) if i - k >= 0])))
        if FIRST_B + i not in SKIP_B:                 # FEC mode the other way
            frames.append(udp(t + 0.005, B, A, PB, PA, udptl(FIRST_B + i, ifp(i), fec=[ifp(i)])))
    frames += [sig(4.5, A, B, _sip(f"BYE sip:b@{B} SIP/2.0", A, "3 BYE", ";tag=fb")),
               sig(4.51, B, A, _sip("SIP/2.0 200 OK", B, "3 BYE", ";tag=fb"))]
    return write_pcap(path, sorted(frames, key=lambda f: f[0]))


def _tshark_t38(path) -> dict[tuple[str, int], list[int]]:
    tshark = need_tool("tshark")
    out = subprocess.run([tshark, "-r", str(path), "-d", f"udp.port=={PA},t38", "-d", f"udp.port=={PB},t38",
                          "-Y", "t38", "-T", "fields", "-e", "ip.src", "-e", "udp.srcport", "-e", "t38.seq_number"],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    seqs: dict[tuple[str, int], list[int]] = {}
    for line in out.splitlines():
        src, sport, seq = line.split("\t")
        seqs.setdefault((src, int(sport)), []).append(int(seq))
    return seqs


def _tshark_rtp(path) -> dict[int, int]:
    tshark = need_tool("tshark")
    out = subprocess.run([tshark, "-r", str(path), "-q", "-d", f"udp.port=={PA},t38", "-d", f"udp.port=={PB},t38",
                          "-z", "rtp,streams"], capture_output=True, text=True, timeout=60, check=True).stdout
    return {int(m.group(5), 16): int(m.group(7)) for m in map(ROW.match, out.splitlines()) if m}


def _gaps(seqs: list[int]) -> tuple[int, int]:
    """(forward jumps of more than one, numbers skipped), in arrival order, across the 16-bit wrap."""
    steps = [(b - a) % 65536 for a, b in zip(seqs, seqs[1:])]
    return sum(1 for s in steps if s > 1), sum(s - 1 for s in steps if s > 1)


def test_udptl_framing_is_read_exactly():
    assert parse_udptl(udptl(7, b"\x06", [b"\x04", b"\x02"])).secondaries == 2
    u = parse_udptl(udptl(0x8123, b"\xc0\x01\x80\x00", fec=[b"\x06", b"\x04"]))
    assert (u.seq, u.primary_len, u.recovery, u.secondaries) == (0x8123, 4, "fec", 2)
    assert parse_udptl(udptl(1, b"\x06" * 200, [])).primary_len == 200        # two-octet length
    assert parse_udptl(rtp(5, 800, 0x1234)) is None                           # RTP does not frame as UDPTL
    assert parse_udptl(udptl(7, b"\x06", [b"\x04"]) + b"\x00") is None        # nor does trailing junk


def test_t38_switch_ends_the_voice_stream_and_reports_the_fax(tmp_path):
    path = fax_call(tmp_path / "fax.pcap")
    out = tmp_path / "out.json"
    runs = str(tmp_path / "runs")
    subprocess.run([sys.executable, "-m", "readiness", "analyze", str(path), "--out", runs, "--json", str(out)],
                   capture_output=True, text=True, timeout=120)
    doc = json.loads(out.read_text())
    voice = {int(s["ssrc"], 16): s for s in doc["rtp_streams"]}
    assert sorted(voice) == [0xAAAA, 0xBBBB]                       # the UDPTL made no stream of its own
    want_rtp = _tshark_rtp(path)
    for ssrc, s in voice.items():
        assert s["packets"] == want_rtp[ssrc] == 100 and s["lost"] == 0 and s["kind"] == "voice"
        assert s["end"] < T0 + 2.15                                # the stream ends at the switch
        assert s["max_delta_ms"] == pytest.approx(20.0, abs=0.01)  # no UDPTL packet in its deltas

    fax = {(f["src"], f["sport"]): f for f in doc["fax_streams"]}
    want = _tshark_t38(path)
    assert set(fax) == set(want) == {(A, PA), (B, PB)}
    for key, seqs in want.items():
        u = fax[key]["udptl"]
        gaps, skipped = _gaps(seqs)
        assert fax[key]["kind"] == "t38" and fax[key]["call_id"] == CALL
        assert u["packets"] == len(seqs) and u["gaps"] == gaps and u["lost"] == skipped
        assert u["first_seq"] == seqs[0] and u["last_seq"] == seqs[-1]
    a, b = fax[(A, PA)]["udptl"], fax[(B, PB)]["udptl"]
    assert (a["packets"], a["lost"], a["gaps"], a["recovered"]) == (UDPTL_PACKETS - 3, 3, 2, 3)
    assert (b["packets"], b["lost"], b["gaps"], b["recovered"]) == (UDPTL_PACKETS - 2, 2, 2, 0)
    assert b["error_recovery"] == {"fec": UDPTL_PACKETS - 2} and a["expected"] == UDPTL_PACKETS
    assert fax[(A, PA)]["duration_s"] == pytest.approx(0.03 * (UDPTL_PACKETS - 1), abs=0.001)

    (call,) = doc["sip_calls"]
    assert call["t38"]["switched_at"] == pytest.approx(T0 + 2.20, abs=1e-6)
    assert call["t38"]["first_udptl"] == pytest.approx(T0 + 2.30, abs=1e-6)
    assert sorted(call["streams"]) == [0xAAAA, 0xBBBB] and call["setup_ms"] == pytest.approx(50.0, abs=0.01)

    console = subprocess.run([sys.executable, "-m", "readiness", "analyze", str(path), "--out", runs],
                             capture_output=True, text=True, timeout=120).stdout
    at = time.strftime("%H:%M:%S", time.gmtime(T0 + 2.20))
    assert f"call {CALL} became a fax call (T.38) at {at}" in " ".join(console.split())


def test_capture_without_t38_has_no_fax(tmp_path):
    frames = [(T0 + i * 0.02, ethernet(ipv4_udp(A, B, PA, PB, rtp(i, 160 * i, 0xCC), dscp=46))) for i in range(100)]
    result = analyse(write_pcap(tmp_path / "voice.pcap", frames))
    assert result.fax_streams == [] and result.to_json()["fax_streams"] == []
    assert [s.packets for s in result.streams] == [100]
