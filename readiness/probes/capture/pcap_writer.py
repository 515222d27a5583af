"""Writing pcap files: frames built byte by byte, and large synthetic RTP captures built with numpy.

Used to make captures whose truth is known by construction (benchmarks, tests): how many packets
each stream sent, which were dropped, what DSCP and 802.1Q tag they carried.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Iterable

import numpy as np

ETH_DST = bytes.fromhex("02000000000b")
ETH_SRC = bytes.fromhex("02000000000a")


def pcap_header(linktype: int = 1, snaplen: int = 262144, nanoseconds: bool = False) -> bytes:
    magic = 0xA1B23C4D if nanoseconds else 0xA1B2C3D4
    return struct.pack("<IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)


def write_pcap(path: str | Path, frames: Iterable[tuple[float, bytes]], linktype: int = 1,
               snaplen: int = 262144) -> Path:
    """(epoch seconds, frame bytes) -> a microsecond pcap file."""
    path = Path(path)
    with open(path, "wb") as f:
        f.write(pcap_header(linktype, snaplen))
        for t, frame in frames:
            sec = int(t)
            usec = int(round((t - sec) * 1e6))
            cap = frame[:snaplen]
            f.write(struct.pack("<IIII", sec, usec, len(cap), len(frame)) + cap)
    return path


def checksum16(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f">{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4_udp(src: str, dst: str, sport: int, dport: int, payload: bytes, dscp: int = 0, ttl: int = 64) -> bytes:
    total = 28 + len(payload)
    hdr = struct.pack(">BBHHHBBH4s4s", 0x45, dscp << 2, total, 0, 0x4000, ttl, 17, 0,
                      bytes(map(int, src.split("."))), bytes(map(int, dst.split("."))))
    hdr = hdr[:10] + struct.pack(">H", checksum16(hdr)) + hdr[12:]
    return hdr + struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) + payload


def ethernet(payload: bytes, ethertype: int = 0x0800, tags: Iterable[tuple[int, int, int]] = (),
             src: bytes = ETH_SRC, dst: bytes = ETH_DST) -> bytes:
    """Ethernet II with optional 802.1Q/802.1ad tags given as (tpid, pcp, vid), outermost first."""
    out = dst + src
    for tpid, pcp, vid in tags:
        out += struct.pack(">HH", tpid, (pcp << 13) | (vid & 0x0FFF))
    return out + struct.pack(">H", ethertype) + payload


def rtp(seq: int, ts: int, ssrc: int, pt: int = 0, marker: bool = False, payload: bytes = b"\xff" * 160) -> bytes:
    return struct.pack(">BBHII", 0x80, (0x80 if marker else 0) | pt, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc) + payload


@dataclass
class SynthTruth:
    """What a synthetic capture holds, per stream index: packets written, lost, DSCP."""

    packets: list[int] = field(default_factory=list)
    lost: list[int] = field(default_factory=list)
    dscp: list[int] = field(default_factory=list)
    ssrc: list[int] = field(default_factory=list)
    total: int = 0


def synth_rtp_capture(path: str | Path, packets: int, calls: int = 100, loss: float = 0.005,
                      jitter_ms: float = 2.0, dscp: int = 46, bad_dscp_streams: int = 1, seed: int = 1,
                      payload_bytes: int = 160, chunk: int = 200_000) -> SynthTruth:
    """A capture of `calls` G.711 calls (SIP INVITE/200 OK with SDP, then RTP both ways at 50 pps),
    `packets` RTP packets in all, random loss and arrival jitter. Written in chunks: the generator's
    memory does not grow with `packets`."""
    rng = np.random.default_rng(seed)
    streams = 2 * calls
    per_stream = packets // streams
    t0 = 1_700_000_000.0
    truth = SynthTruth()
    with open(path, "wb") as f:
        f.write(pcap_header())
        for c in range(calls):                      # signalling first: the SDP tells where media goes
            _sip_call(f, c, t0 + 0.001 * c)
        rec_len = 16 + 14 + 28 + 12 + payload_bytes
        ssrcs = rng.integers(1, 2**32 - 1, size=streams, dtype=np.uint64)
        seq0 = rng.integers(0, 65536, size=streams)
        ts0 = rng.integers(0, 2**32, size=streams, dtype=np.uint64)
        stream_dscp = np.full(streams, dscp)
        stream_dscp[:bad_dscp_streams] = 0
        template = _template(rec_len, payload_bytes)
        written = np.zeros(streams, dtype=np.int64)
        kept_total = np.zeros(streams, dtype=np.int64)
        for start in range(0, per_stream, max(chunk // streams, 1)):
            k = np.arange(start, min(per_stream, start + max(chunk // streams, 1)))
            s_idx = np.repeat(np.arange(streams), len(k))
            k_idx = np.tile(k, streams)
            t = t0 + 1.0 + k_idx * 0.02 + s_idx * (0.02 / streams) + rng.random(len(k_idx)) * jitter_ms / 1000
            keep = rng.random(len(k_idx)) >= loss
            keep[k_idx == 0] = True                 # keep first and last so the expected count is exact
            keep[k_idx == per_stream - 1] = True
            s_idx, k_idx, t = s_idx[keep], k_idx[keep], t[keep]
            kept_total += np.bincount(s_idx, minlength=streams)
            order = np.argsort(t, kind="stable")
            s_idx, k_idx, t = s_idx[order], k_idx[order], t[order]
            recs = np.tile(template, (len(t), 1))
            sec = np.floor(t).astype(np.uint32)
            usec = np.round((t - sec) * 1e6).astype(np.uint32)
            recs[:, 0:4] = sec.view(np.uint8).reshape(-1, 4)
            recs[:, 4:8] = usec.view(np.uint8).reshape(-1, 4)
            ip = 16 + 14
            recs[:, ip + 1] = (stream_dscp[s_idx] << 2).astype(np.uint8)
            src = (0x0A000000 + 1 + (s_idx % 2) * 0x100 + s_idx // 2).astype(">u4")
            dst = (0x0A000000 + 1 + ((s_idx + 1) % 2) * 0x100 + s_idx // 2).astype(">u4")
            recs[:, ip + 12:ip + 16] = src.view(np.uint8).reshape(-1, 4)
            recs[:, ip + 16:ip + 20] = dst.view(np.uint8).reshape(-1, 4)
            port = (20000 + 2 * (s_idx // 2)).astype(">u2")
            recs[:, ip + 20:ip + 22] = port.view(np.uint8).reshape(-1, 2)
            recs[:, ip + 22:ip + 24] = port.view(np.uint8).reshape(-1, 2)
            r = ip + 28
            recs[:, r + 2:r + 4] = ((seq0[s_idx] + k_idx) % 65536).astype(">u2").view(np.uint8).reshape(-1, 2)
            tsv = ((ts0[s_idx] + k_idx.astype(np.uint64) * 160) % (1 << 32)).astype(">u4")
            recs[:, r + 4:r + 8] = tsv.view(np.uint8).reshape(-1, 4)
            recs[:, r + 8:r + 12] = ssrcs[s_idx].astype(">u4").view(np.uint8).reshape(-1, 4)
            f.write(recs.tobytes())
            written += np.bincount(s_idx, minlength=streams)
    truth.packets = written.tolist()
    truth.lost = (per_stream - kept_total).tolist()
    truth.dscp = stream_dscp.tolist()
    truth.ssrc = [int(x) for x in ssrcs]
    truth.total = int(written.sum())
    return truth


def _template(rec_len: int, payload_bytes: int) -> np.ndarray:
    frame = ethernet(ipv4_udp("10.0.0.1", "10.0.1.1", 20000, 20000, rtp(0, 0, 0, payload=b"\xff" * payload_bytes)))
    rec = struct.pack("<IIII", 0, 0, len(frame), len(frame)) + frame
    assert len(rec) == rec_len
    return np.frombuffer(rec, dtype=np.uint8)


def _sip_call(f: BinaryIO, c: int, t: float) -> None:
    a, b = f"10.0.0.{1 + c}", f"10.0.1.{1 + c}"
    port = 20000 + 2 * c
    for i, (src, dst, first) in enumerate(((a, b, f"INVITE sip:b{c}@{b} SIP/2.0"), (b, a, "SIP/2.0 200 OK"))):
        sdp = (f"v=0\r\no=- {c} 1 IN IP4 {src}\r\ns=-\r\nc=IN IP4 {src}\r\nt=0 0\r\n"
               f"m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\n")
        msg = (f"{first}\r\nVia: SIP/2.0/UDP {src}:5060;branch=z9hG4bK{c}x{i}\r\nFrom: <sip:a{c}@{a}>;tag=a{c}\r\n"
               f"To: <sip:b{c}@{b}>{';tag=b' + str(c) if i else ''}\r\nCall-ID: call{c}@bench\r\nCSeq: 1 INVITE\r\n"
               f"Content-Type: application/sdp\r\nContent-Length: {len(sdp)}\r\n\r\n{sdp}").encode()
        frame = ethernet(ipv4_udp(src, dst, 5060, 5060, msg, dscp=24))
        sec = int(t + 0.0005 * i)
        usec = int(round((t + 0.0005 * i - sec) * 1e6))
        f.write(struct.pack("<IIII", sec, usec, len(frame), len(frame)) + frame)
