"""RTP that is hard to get right: sequence wrap, SSRC collisions, UDP that only looks like RTP,
markings per class; checked against the truth the synthetic capture was built with and against tshark.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys

import pytest

from readiness.config.site import Markings
from readiness.probes.capture.analyze import analyse
from readiness.probes.capture.pcap_writer import ethernet, ipv4_udp, rtp, synth_rtp_capture, write_pcap
from tests.analysis.corpus_rtp import ROW
from tests.conftest import need_tool

T0 = 1_700_000_000.0


def _frame(src, dst, sport, dport, seq, ts, ssrc, dscp=46, pt=0, tags=()):
    return ethernet(ipv4_udp(src, dst, sport, dport, rtp(seq, ts, ssrc, pt=pt), dscp=dscp), tags=list(tags))


def _tshark_rows(path) -> dict[int, dict]:
    tshark = need_tool("tshark")
    out = subprocess.run([tshark, "-r", str(path), "-q", "-o", "rtp.heuristic_rtp:TRUE", "-z", "rtp,streams"],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    rows = {}
    for line in out.splitlines():
        m = ROW.match(line)
        if m:
            g = m.groups()
            rows[int(g[4], 16)] = {"pkts": int(g[6]), "lost": int(g[7]), "max_delta": float(g[10]),
                                   "mean_jitter": float(g[12]), "max_jitter": float(g[13])}
    return rows


def test_sequence_wrap_with_loss_agrees_with_tshark(tmp_path):
    rng = random.Random(3)
    frames = []
    for i in range(300):
        seq = (65400 + i) % 65536
        if seq in (65535, 0, 7):                      # losses on both sides of the wrap
            continue
        t = T0 + i * 0.02 + rng.random() * 0.004
        frames.append((t, _frame("192.0.2.1", "192.0.2.2", 30000, 30002, seq, (1000 + 160 * i) % 2**32, 0xABCD)))
    path = write_pcap(tmp_path / "wrap.pcap", frames)
    (s,) = analyse(path).streams
    want = _tshark_rows(path)[0xABCD]
    assert s.packets == want["pkts"] == 297
    assert s.ws.lost == want["lost"] == 3 and s.rfc.lost == 3 and s.ws.seq_cycles == 1
    assert s.ws.delta_max_ms == pytest.approx(want["max_delta"], abs=0.0006)
    assert s.ws.jitter_mean_ms == pytest.approx(want["mean_jitter"], abs=0.0006)
    assert s.ws.jitter_max_ms == pytest.approx(want["max_jitter"], abs=0.0006)
    assert s.kind == "voice" and s.rfc.bursts.losses == 3


def test_ssrc_collision_is_labelled(tmp_path):
    frames = []
    for i in range(100):                              # two phones picked the same SSRC, same destination
        frames.append((T0 + i * 0.02, _frame("192.0.2.1", "192.0.2.9", 30000, 40000, i, 160 * i, 0x5EED)))
        frames.append((T0 + i * 0.02 + 0.001, _frame("192.0.2.2", "192.0.2.9", 30000, 40000, 5000 + i, 160 * i, 0x5EED)))
    result = analyse(write_pcap(tmp_path / "coll.pcap", frames))
    assert len(result.streams) == 2
    for s in result.streams:
        assert s.packets == 100 and s.ws.lost == 0
        assert any("collision" in p for p in s.problems)


def test_sender_restart_within_one_stream_is_labelled(tmp_path):
    frames = [(T0 + i * 0.02, _frame("192.0.2.1", "192.0.2.2", 30000, 30002, i if i < 50 else 20000 + i, 160 * i, 7))
              for i in range(100)]
    (s,) = analyse(write_pcap(tmp_path / "restart.pcap", frames)).streams
    assert any("jumped" in p for p in s.problems)


def test_udp_that_only_looks_like_rtp_is_not_media(tmp_path):
    rng = random.Random(11)
    frames = []
    for i in range(400):
        # version 2 in the first byte, payload type 0, everything else random: passes the header test
        payload = bytes([0x80, 0x00]) + bytes(rng.randrange(256) for _ in range(170))
        frames.append((T0 + i * 0.02, ethernet(ipv4_udp("192.0.2.1", "192.0.2.2", 33333, 44444, payload, dscp=46))))
    for i in range(3):                                # a few stray packets of another flow
        payload = bytes([0x80, 0x08]) + bytes(rng.randrange(256) for _ in range(40))
        frames.append((T0 + 9 + i, ethernet(ipv4_udp("192.0.2.3", "192.0.2.4", 50000, 50002, payload))))
    result = analyse(write_pcap(tmp_path / "noise.pcap", frames))
    assert all(s.kind == "not-rtp" for s in result.streams)
    assert any("changed SSRC" in p for p in result.problems)
    assert len(result.streams) == 32 + 3             # the cap on the flood, plus the three strays
    assert result.markings["media_packets"] == 0                 # nothing counted as voice media
    assert all(s.mos is None for s in result.streams)


def test_markings_histograms_and_violations_are_exact(tmp_path):
    truth = synth_rtp_capture(tmp_path / "m.pcap", packets=4000, calls=4, bad_dscp_streams=1, loss=0.0)
    result = analyse(tmp_path / "m.pcap")
    m = result.markings
    assert m["media_packets"] == truth.total
    bad = truth.packets[0]                                       # stream 0 was sent CS0
    assert m["dscp"]["voice_media"] == {"CS0": bad, "EF": truth.total - bad}
    assert m["media_dscp_ok_pct"] == pytest.approx(100.0 * (truth.total - bad) / truth.total, abs=0.001)
    (v,) = m["violations"]["media"]
    assert v["wrong_dscp_packets"] == bad and v["ssrc"] == f"0x{truth.ssrc[0]:08X}"
    assert m["dscp"]["signalling"] == {"CS3": 8} and m["signalling_dscp_ok_pct"] == 100.0
    strict = analyse(tmp_path / "m.pcap", Markings(media="EF", signalling=["CS5"]))
    assert strict.markings["signalling_dscp_ok_pct"] == 0.0
    assert strict.markings["violations"]["signalling_count"] == 8


def test_voice_priority_on_tagged_frames(tmp_path):
    frames = []
    for i in range(60):
        pcp = 5 if i < 45 else 0                               # the last quarter lost its priority
        frames.append((T0 + i * 0.02, _frame("192.0.2.1", "192.0.2.2", 30000, 30002, i, 160 * i, 9,
                                             tags=[(0x8100, pcp, 20)])))
    result = analyse(write_pcap(tmp_path / "pcp.pcap", frames))
    m = result.markings
    assert m["voice_tagged_packets"] == 60 and m["voice_pcp_ok_pct"] == pytest.approx(75.0)
    assert m["vlan"]["voice_media"] == {"vlan 20 pcp 0": 15, "vlan 20 pcp 5": 45}
    (v,) = m["violations"]["media"]
    assert v["wrong_pcp_packets"] == 15 and v["first_wrong_frames"] == [46]


def _ipv4_fragments(src, dst, udp_payload: bytes, ident: int, mtu_payload: int = 1480) -> list[bytes]:
    """An IPv4/UDP datagram cut into fragments (RFC 791: offsets in 8-byte units, MF on all but the last)."""
    import struct

    from readiness.probes.capture.pcap_writer import checksum16

    udp = struct.pack(">HHHH", 5060, 5060, 8 + len(udp_payload), 0) + udp_payload
    out = []
    for off in range(0, len(udp), mtu_payload):
        part = udp[off:off + mtu_payload]
        more = off + mtu_payload < len(udp)
        hdr = struct.pack(">BBHHHBBH4s4s", 0x45, 24 << 2, 20 + len(part), ident, (0x2000 if more else 0) | off // 8,
                          64, 17, 0, bytes(map(int, src.split("."))), bytes(map(int, dst.split("."))))
        out.append(ethernet(hdr[:10] + struct.pack(">H", checksum16(hdr)) + hdr[12:] + part))
    return out


def _fragmented_call(path):
    """A call whose INVITE and 200 OK (a large SDP) each arrive as IP fragments, then opus both ways."""
    a, b = "192.0.2.1", "192.0.2.2"

    def sip(first, src, sdp_port, tag=""):
        sdp = (f"v=0\r\no=- 1 1 IN IP4 {src}\r\ns=-\r\nc=IN IP4 {src}\r\nt=0 0\r\nm=audio {sdp_port} RTP/AVP 96\r\n"
               f"a=rtpmap:96 opus/48000/2\r\n" + "".join(f"a=candidate:{i} 1 UDP {'9' * 40}\r\n" for i in range(40)))
        return (f"{first}\r\nVia: SIP/2.0/UDP {src}:5060;branch=z9hG4bK1\r\nFrom: <sip:a@{a}>;tag=1\r\n"
                f"To: <sip:b@{b}>{tag}\r\nCall-ID: big-sdp@test\r\nCSeq: 1 INVITE\r\nContent-Type: application/sdp\r\n"
                f"Content-Length: {len(sdp)}\r\n\r\n{sdp}").encode()

    invite = _ipv4_fragments(a, b, sip(f"INVITE sip:b@{b} SIP/2.0", a, 40000), ident=77)
    ok = _ipv4_fragments(b, a, sip("SIP/2.0 200 OK", b, 50000, ";tag=2"), ident=78)
    assert len(invite) > 1 and len(ok) > 1                      # both messages exceed one IP packet
    frames = [(T0 + 0.0001 * i, f) for i, f in enumerate(invite)] + [(T0 + 0.05 + 0.0001 * i, f) for i, f in enumerate(ok)]
    for i in range(100):
        t = T0 + 0.1 + i * 0.02
        frames.append((t, _frame(a, b, 40000, 50000, i, 960 * i, 0xA1, pt=96)))
        frames.append((t + 0.001, _frame(b, a, 50000, 40000, i, 960 * i, 0xB2, pt=96)))
    return write_pcap(path, frames)


def test_fragmented_invite_is_reassembled_and_binds_its_streams(tmp_path):
    need_tool("tshark")
    result = analyse(_fragmented_call(tmp_path / "frag.pcap"))
    assert result.sip["requests"] == {"INVITE": 1} and result.sip["responses"] == {"200": 1}
    (call,) = result.calls
    assert call["setup_ms"] == pytest.approx(50.0, abs=0.01) and call["final_status"] == 200
    assert sorted(call["streams"]) == [0xA1, 0xB2]
    for s in result.streams:
        assert s.codec == "opus" and s.call_id == "big-sdp@test"
    assert result.markings["signalling_packets"] == 2 and result.markings["signalling_dscp_ok_pct"] == 100.0


def test_fragmented_sip_without_tshark_is_one_line_and_the_rest_is_analysed(tmp_path):
    """tshark is needed only to reassemble fragmented SIP: without it the streams are still analysed
    and the analysis says, in the one line every missing tool gives, what it could not read."""
    path = _fragmented_call(tmp_path / "frag.pcap")
    empty = tmp_path / "empty-path"
    empty.mkdir()
    r = subprocess.run([sys.executable, "-m", "readiness", "analyze", str(path), "--json", "-"],
                       capture_output=True, text=True, timeout=120, env={**os.environ, "PATH": str(empty)})
    # without the SIP, the opus streams (dynamic PT 96) are not known to be voice: nothing to judge, exit 2
    assert r.returncode == 2 and r.stderr == ""
    doc = json.loads(r.stdout)
    assert len(doc["rtp_streams"]) == 2
    line = "2 SIP messages arrived as IP fragments and could not be reassembled (tshark is not installed " \
           "(Debian/Ubuntu: apt-get install tshark))"
    assert doc["capture"]["problems"] == [line]
    assert [n["message"] for n in doc["notes"]] == [line]
