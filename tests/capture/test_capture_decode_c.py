"""The C walk, header decoding, RTP detection and the split by stream (csrc/capture_decode.c) give the
same columns as the numpy reference (pcap.py, layers.py, rtp_detect.py, streams.py): on every corpus capture, as pcap and as pcapng (editcap), in small chunks so that
records straddle chunk ends; and on crafted frames of every link type cut at every length.
"""

from __future__ import annotations

import random
import struct
import subprocess

import numpy as np
import pytest

from readiness.probes.capture import decoder_c
from readiness.probes.capture.layers import decode
from readiness.probes.capture.pcap import CaptureReader
from readiness.probes.capture.pcap_writer import ethernet, ipv4_udp, pcap_header, rtp
from readiness.probes.capture.rtp_detect import detect, endpoint_keys
from readiness.probes.capture.streams import _split
from tests.conftest import need_tool

pytestmark = pytest.mark.skipif(not decoder_c.available(), reason="the C module _capture_decode is not built")

BATCH = ("off", "caplen", "origlen", "ts_ns", "linktype")


def _read(path, chunk: int, python: bool):
    """(stats, [(batch columns, layer columns)]) read by one path."""
    saved = decoder_c._lib
    if python:
        decoder_c._lib = None
    try:
        reader = CaptureReader(path, chunk)
        out = []
        for b in reader.batches():
            lay = decode(b)
            # some endpoints announced (every 7th packet's destination), some rows claimed (every 5th)
            at = b.first + np.arange(len(b))
            some = np.flatnonzero(at % 7 == 0)
            keys = np.unique(endpoint_keys(lay.dst_hi[some], lay.dst_lo[some], lay.dport[some]))
            found = detect(b, lay, keys, at % 5 == 0)
            order, group, starts = _split(found, lay)           # the rows split by stream (StreamTable.add)
            split = {"split.order": order, "split.starts": starts,
                     "split.stream": np.unique(group, return_inverse=True)[1].astype(np.int64)}
            out.append(({k: getattr(b, k) for k in BATCH} | {"first": b.first},
                        {k: getattr(lay, k) for k in decoder_c.FIELDS} |
                        {f"rtp.{k}": getattr(found, k) for k in decoder_c.RTP_FIELDS} | split))
        return reader.stats, out
    finally:
        decoder_c._lib = saved


def _same(path, chunk: int = 1 << 16) -> tuple[int, int]:
    """(packets, RTP packets found), once both paths agreed on everything."""
    c_stats, c_out = _read(path, chunk, python=False)
    p_stats, p_out = _read(path, chunk, python=True)
    assert (c_stats.packets, c_stats.bytes, c_stats.problems, c_stats.truncated_packets) == \
        (p_stats.packets, p_stats.bytes, p_stats.problems, p_stats.truncated_packets), path.name
    assert len(c_out) == len(p_out), path.name
    for (cb, cl), (pb, pl) in zip(c_out, p_out):
        assert cb["first"] == pb["first"]
        for k in BATCH:
            np.testing.assert_array_equal(cb[k], pb[k], err_msg=f"{path.name}: {k}")
        for k in cl:
            assert cl[k].dtype == pl[k].dtype, (path.name, k)
            np.testing.assert_array_equal(cl[k], pl[k], err_msg=f"{path.name}: {k}")
    return c_stats.packets, sum(len(cl["rtp.rows"]) for _, cl in c_out)


@pytest.mark.corpus
def test_corpus_captures_decode_the_same_in_c_and_numpy(corpus, tmp_path):
    editcap = need_tool("editcap")
    files = sorted(corpus.glob("pcaps/*/*.pcap*"))
    assert files
    packets = rtp_packets = 0
    for path in files:
        n, r = _same(path)
        packets, rtp_packets = packets + n, rtp_packets + r
        ng = tmp_path / (path.stem + ".pcapng")
        subprocess.run([editcap, "-F", "pcapng", str(path), str(ng)], check=True, capture_output=True, timeout=60)
        assert _same(ng) == _same(path, 1 << 20) == (n, r)
    assert packets > 1000 and rtp_packets > 1000


def _frames() -> list[tuple[int, bytes]]:
    """(link type, frame) of every kind layers.py decodes, including odd ones."""
    udp = ipv4_udp("10.0.0.1", "10.0.0.2", 40000, 40002, rtp(1, 160, 0x1234))
    tcp = udp[:9] + b"\x06" + udp[10:20] + struct.pack(">HHIIBBHHH", 5060, 5061, 1, 2, 0x50, 0x18, 512, 0, 0) + \
        b"INVITE sip:a@b SIP/2.0\r\n"
    frag = udp[:6] + b"\x20\x00" + udp[8:]                        # first fragment (MF set)
    later = udp[:6] + b"\x00\x10" + udp[8:]                       # a later fragment
    v6 = bytes.fromhex("6b80000000" + "1c" + "11" + "40") + bytes(range(16)) + bytes(range(16, 32)) + udp[20:]
    v6_ext = bytes.fromhex("6000000000" + "24" + "00" + "40") + bytes(32) + b"\x2c\x00" + bytes(6) + \
        b"\x11\x00\x00\x01" + bytes(4) + udp[20:]                  # hop-by-hop, fragment header, UDP
    snap = bytes.fromhex("aaaa0300000c2000") + b"cdp payload"
    out = []
    for ip in (udp, tcp, frag, later):
        out += [(1, ethernet(ip)), (1, ethernet(ip, tags=[(0x8100, 5, 100)])),
                (1, ethernet(ip, tags=[(0x88A8, 1, 10), (0x8100, 6, 200)])),
                (113, bytes(6) + b"\x02\x00\x00\x00\x00\x0a" + bytes(2) + b"\x08\x00" + ip),
                (276, b"\x08\x00" + bytes(10) + bytes.fromhex("02000000000a") + bytes(2) + ip),
                (0, b"\x02\x00\x00\x00" + ip), (0, b"\x00\x00\x00\x02" + ip), (108, b"\x00\x00\x00\x02" + ip),
                (101, ip), (228, ip), (104, b"\x0f\x00\x08\x00" + ip)]
    for ip in (v6, v6_ext):
        out += [(1, ethernet(ip, 0x86DD)), (229, ip), (0, b"\x1e\x00\x00\x00" + ip)]
    out += [(1, ethernet(snap[:0], len(snap)) + snap), (1, ethernet(b"", 0x88CC) + b"lldp"),
            (104, b"\x0f\x00\x20\x00cdp"), (147, b"user link type"), (1, ethernet(bytes([0x45]) + bytes(30)))]
    return out


def test_frames_of_every_link_type_cut_at_every_length_decode_the_same(tmp_path):
    rng = random.Random(7)
    for lt in sorted({lt for lt, _ in _frames()}):
        path = tmp_path / f"lt{lt}.pcap"
        with open(path, "wb") as f:
            f.write(pcap_header(lt))
            for t, (frame_lt, frame) in enumerate(_frames()):
                if frame_lt != lt:
                    continue
                for cut in range(len(frame) + 1):       # every snap length, then a few garbled copies
                    f.write(struct.pack("<IIII", 1_700_000_000 + t, cut, cut, len(frame)) + frame[:cut])
                for _ in range(20):
                    g = bytearray(frame)
                    g[rng.randrange(len(g))] = rng.randrange(256)
                    f.write(struct.pack("<IIII", 1_700_000_000, 0, len(g), len(g)) + bytes(g))
        assert _same(path, 1 << 16)[0] > 0


def test_damaged_files_stop_at_the_same_place_with_the_same_words(tmp_path):
    good = struct.pack("<IIII", 1, 0, 60, 60) + ethernet(ipv4_udp("10.0.0.1", "10.0.0.2", 1, 2, bytes(18)))
    for name, tail in (("cut", good[:40]), ("huge", struct.pack("<IIII", 1, 0, 1 << 30, 60) + bytes(64))):
        path = tmp_path / f"{name}.pcap"
        path.write_bytes(pcap_header() + good * 1000 + tail)
        assert _same(path, 1 << 16)[0] == 1000


def test_many_streams_in_one_batch_split_the_same(monkeypatch):
    """Thousands of streams, keys differing in one field only, rows interleaved: the C split's hash table
    probes and its ordering agree with the numpy path's (order, starts and which rows share a stream)."""
    from types import SimpleNamespace
    from readiness.probes.capture.rtp_detect import RtpFields
    rng = np.random.default_rng(3)
    n, m = 60_000, 50_000
    cols = {f: np.zeros(n, dtype=t) for f, t in zip(decoder_c.FIELDS, decoder_c.DTYPES)}
    base = rng.integers(0, 3000, n)                # stream number of each packet; fields derived from it
    cols["ipver"][:] = np.where(base % 5 == 0, 6, 4)
    cols["src_hi"][:] = np.where(base % 5 == 0, base.astype(np.uint64) << np.uint64(40), 0)
    cols["src_lo"][:] = np.uint64(0x0A000001) + (base % 7).astype(np.uint64)
    cols["dst_lo"][:] = np.uint64(0x0A000002)
    cols["sport"][:] = 40000 + base % 11
    cols["dport"][:] = 50000 + (base // 11) % 13
    lay = SimpleNamespace(**cols)
    rows = np.sort(rng.choice(n, m, replace=False)).astype(np.int64)
    z = np.zeros(m, dtype=np.int64)
    f = RtpFields(rows=rows, ssrc=(base[rows] // 143).astype(np.int64), seq=z, ts=z, pt=z.astype(np.int16),
                  marker=z.astype(bool), header_len=z, announced=z.astype(bool))
    c_order, c_group, c_starts = _split(f, lay)
    monkeypatch.setattr(decoder_c, "_lib", None)
    p_order, p_group, p_starts = _split(f, lay)
    np.testing.assert_array_equal(c_order, p_order)
    np.testing.assert_array_equal(c_starts, p_starts)
    np.testing.assert_array_equal(np.unique(c_group, return_inverse=True)[1], np.unique(p_group, return_inverse=True)[1])
    assert len(c_starts) > 1000
