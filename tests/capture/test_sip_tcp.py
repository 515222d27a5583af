"""SIP over TCP in a capture: several messages to a segment, a CRLF keep-alive (RFC 5626), both
directions of a call, and messages the kernel split across segments (a real TCP connection between
namespaces, MSS 536). Ground truth: tshark's own SIP dissection of the same file (`-z sip,stat`, fields)."""

from __future__ import annotations

import json
import re
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from readiness.probes.capture.analyze import analyse
from readiness.probes.capture.pcap_writer import checksum16, ethernet, ipv4_udp, rtp, write_pcap
from tests.conftest import need_tool
from tests.netlab import veth_pair

PEER = Path(__file__).with_name("sip_tcp_peer.py")

T0 = 1_700_000_000.0
A, B = "192.0.2.10", "192.0.2.20"


def _ipv4_tcp(src: str, dst: str, sport: int, dport: int, seq: int, ack: int, payload: bytes) -> bytes:
    """IPv4 + TCP (RFC 793 header without options, PSH|ACK; the TCP checksum is left 0, which tshark
    does not check by default)."""
    tcp = struct.pack(">HHIIBBHHH", sport, dport, seq, ack, 5 << 4, 0x18, 65535, 0, 0) + payload
    hdr = struct.pack(">BBHHHBBH4s4s", 0x45, 24 << 2, 20 + len(tcp), 0, 0x4000, 64, 6, 0,
                      bytes(map(int, src.split("."))), bytes(map(int, dst.split("."))))
    return hdr[:10] + struct.pack(">H", checksum16(hdr)) + hdr[12:] + tcp


def _sip(first: str, cseq: str, to_tag: str = "", sdp_port: int | None = None, host: str = A) -> bytes:
    body = (f"v=0\r\no=- 1 1 IN IP4 {host}\r\ns=-\r\nc=IN IP4 {host}\r\nt=0 0\r\nm=audio {sdp_port} RTP/AVP 0\r\n"
            f"a=rtpmap:0 PCMU/8000\r\n" if sdp_port else "")
    return (f"{first}\r\nVia: SIP/2.0/TCP {A}:40000;branch=z9hG4bK{cseq.split()[0]}{cseq.split()[1]}\r\n"
            f"From: <sip:alice@{A}>;tag=a1\r\nTo: <sip:bob@{B}>{to_tag}\r\nCall-ID: tcp-call@{A}\r\nCSeq: {cseq}\r\n"
            + ("Content-Type: application/sdp\r\n" if body else "")
            + f"Content-Length: {len(body)}\r\n\r\n{body}").encode()


def test_sip_over_tcp_agrees_with_tshark(tmp_path):
    tshark = need_tool("tshark")
    up = [(0.000, _sip(f"INVITE sip:bob@{B};transport=tcp SIP/2.0", "1 INVITE", sdp_port=4000)),
          (0.300, _sip(f"ACK sip:bob@{B};transport=tcp SIP/2.0", "1 ACK", ";tag=b1")
           + _sip(f"BYE sip:bob@{B};transport=tcp SIP/2.0", "2 BYE", ";tag=b1"))]
    down = [(0.010, _sip("SIP/2.0 100 Trying", "1 INVITE") + _sip("SIP/2.0 180 Ringing", "1 INVITE", ";tag=b1")),
            (0.150, b"\r\n\r\n"),                                         # a keep-alive segment alone
            (0.250, _sip("SIP/2.0 200 OK", "1 INVITE", ";tag=b1", sdp_port=5000, host=B)),
            (0.320, _sip("SIP/2.0 200 OK", "2 BYE", ";tag=b1"))]
    frames, seq = [], {A: 1000, B: 9000}
    segments = [(t, A, B, 40000, 5060, p) for t, p in up] + [(t, B, A, 5060, 40000, p) for t, p in down]
    for t, src, dst, sport, dport, payload in sorted(segments):         # in time order: acks follow data
        frames.append((T0 + t, ethernet(_ipv4_tcp(src, dst, sport, dport, seq[src], seq[dst], payload))))
        seq[src] += len(payload)
    for i in range(12):                                                   # media both ways, bound by the SDP
        t = T0 + 0.26 + 0.02 * i
        frames.append((t, ethernet(ipv4_udp(A, B, 4000, 5000, rtp(i, 160 * i, 0xAAA1), dscp=46))))
        frames.append((t + 0.001, ethernet(ipv4_udp(B, A, 5000, 4000, rtp(i, 160 * i, 0xBBB2), dscp=46))))
    path = write_pcap(tmp_path / "sip-tcp.pcap", sorted(frames, key=lambda f: f[0]))

    result = analyse(path)
    stat = subprocess.run([tshark, "-r", str(path), "-q", "-z", "sip,stat"], capture_output=True, text=True,
                          timeout=60, check=True).stdout
    assert result.sip["messages"] == int(re.search(r"Number of SIP messages: (\d+)", stat).group(1)) == 7
    assert result.sip["responses"] == {m.group(1): int(m.group(2))
                                       for m in re.finditer(r"SIP (\d+) [^\n]*?:\s+(\d+) Packets", stat)}
    assert result.sip["requests"] == {m.group(1): int(m.group(2))
                                      for m in re.finditer(r"\n\s+(\w+)\s+:\s+(\d+) Packets", stat)}
    fields = subprocess.run([tshark, "-r", str(path), "-Y", "sip", "-T", "fields", "-E", "separator=|", "-e",
                             "frame.time_epoch", "-e", "sip.Method", "-e", "sip.Status-Code", "-e", "sip.CSeq.method"],
                            capture_output=True, text=True, timeout=60, check=True).stdout
    times = {}
    for line in fields.splitlines():
        t, methods, codes, cseq_methods = line.split("|")
        for method, code, cseq_method in zip(methods.split(",") or [""], codes.split(","), cseq_methods.split(",")):
            times.setdefault((method, code, cseq_method), float(t))
    (call,) = result.calls
    assert call["setup_ms"] == pytest.approx(
        (times[("", "200", "INVITE")] - times[("INVITE", "", "INVITE")]) * 1000, abs=0.01)
    assert call["post_dial_delay_ms"] == pytest.approx(10.0, abs=0.01) and call["final_status"] == 200
    assert sorted(call["streams"]) == [0xAAA1, 0xBBB2]
    assert [m["port"] for m in call["media"]] == [4000, 5000]


def _sip_stat(tshark: str, path: Path) -> tuple[int, dict[str, int], dict[str, int]]:
    stat = subprocess.run([tshark, "-r", str(path), "-q", "-z", "sip,stat"], capture_output=True, text=True,
                          timeout=60, check=True).stdout
    return (int(re.search(r"Number of SIP messages: (\d+)", stat).group(1)),
            {m.group(1): int(m.group(2)) for m in re.finditer(r"SIP (\d+) [^\n]*?:\s+(\d+) Packets", stat)},
            {m.group(1): int(m.group(2)) for m in re.finditer(r"\n\s+(\w+)\s+:\s+(\d+) Packets", stat)})


def test_messages_split_across_segments_are_joined_by_tcp_reassembly(tmp_path):
    """A real TCP connection, MTU 576 and no segmentation offload: the INVITE and its 200 OK (padded past
    one segment) are split by the kernel, an ACK by two writes, and the BYE travels whole behind the
    ACK's end. Without reassembly the INVITE's rest was glued to the ACK and the call had no answer."""
    tshark, dumpcap = need_tool("tshark"), need_tool("dumpcap")
    a, b = "10.77.0.1", "10.77.0.2"

    def sip(first, cseq, to_tag="", sdp_port=None, host=a, pad=0):
        text = _sip(first, cseq, to_tag, sdp_port, host).decode()
        return text.replace("\r\nCSeq", f"\r\nX-Pad: {'p' * pad}\r\nCSeq", 1) if pad else text

    invite = sip(f"INVITE sip:bob@{b};transport=tcp SIP/2.0", "1 INVITE", sdp_port=4000, pad=600)
    ok = sip("SIP/2.0 200 OK", "1 INVITE", ";tag=b1", sdp_port=5000, host=b, pad=300)
    ack = sip(f"ACK sip:bob@{b};transport=tcp SIP/2.0", "1 ACK", ";tag=b1")
    bye = sip(f"BYE sip:bob@{b};transport=tcp SIP/2.0", "2 BYE", ";tag=b1")
    client = [(0.3, "tcp", invite), (0.3, "tcp", ack[:100]), (0.05, "tcp", ack[100:] + bye),
              (0.0, "rtp", [4000, b, 5000, 0xAAA1, 10])]
    server = [(0.35, "tcp", sip("SIP/2.0 100 Trying", "1 INVITE") + ok[:200]), (0.05, "tcp", ok[200:]),
              (0.0, "rtp", [5000, a, 4000, 0xBBB2, 10]), (0.3, "tcp", sip("SIP/2.0 200 OK", "2 BYE", ";tag=b1"))]
    path = tmp_path / "split.pcapng"
    with veth_pair(mtu=576) as p:
        for ns, ifname in ((p.a, p.a_if), (p.b, p.b_if)):      # segments as the wire carries them
            p.run(ns, "ip", "link", "set", ifname, "gso_max_segs", "1")
        cap = p.popen(p.b, [dumpcap, "-q", "-i", p.b_if, "-w", str(path)], stderr=subprocess.PIPE)
        try:
            time.sleep(1.0)
            srv = p.popen(p.b, [sys.executable, str(PEER), "server", b, "5060", json.dumps(server)])
            time.sleep(0.2)
            cli = p.popen(p.a, [sys.executable, str(PEER), "client", b, "5060", json.dumps(client)])
            assert cli.wait(20) == 0 and srv.wait(20) == 0
            time.sleep(0.5)
        finally:
            cap.terminate()
            cap.wait(10)
    reassembled = subprocess.run([tshark, "-r", str(path), "-Y", "sip && tcp.segments", "-T", "fields", "-e",
                                  "frame.number"], capture_output=True, text=True, timeout=60, check=True).stdout
    assert len(reassembled.split()) >= 3            # INVITE, 200 OK and ACK completed in later segments

    result = analyse(path)
    messages, responses, requests = _sip_stat(tshark, path)
    assert result.sip["messages"] == messages == 6 and not result.problems
    assert result.sip["responses"] == responses and result.sip["requests"] == requests
    (call,) = result.calls
    assert call["final_status"] == 200 and call["outcome"] != "no final response"
    assert [m["port"] for m in call["media"]] == [4000, 5000] and sorted(call["streams"]) == [0xAAA1, 0xBBB2]
