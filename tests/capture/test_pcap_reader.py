"""The pcap/pcapng reader and layer decoding: counts, formats, link types, damage.

Ground truth: capinfos and tshark (real tools) on the same files; editcap converts corpus captures
to pcapng and nanosecond pcap, which must give the same analysis as the originals.
"""

from __future__ import annotations

import json
import random
import struct
import subprocess

import pytest

from readiness.probes.capture.analyze import analyse
from readiness.probes.capture.pcap import CaptureFileError, CaptureReader
from readiness.probes.capture.pcap_writer import ethernet, ipv4_udp, rtp, write_pcap
from tests.conftest import need_tool


def _corpus_files(corpus):
    return sorted(corpus.glob("pcaps/*/*.pcap*"))


@pytest.mark.corpus
def test_packet_counts_agree_with_capinfos(corpus):
    capinfos = need_tool("capinfos")
    for path in _corpus_files(corpus):
        out = subprocess.run([capinfos, "-M", "-c", "-T", "-r", str(path)], capture_output=True, text=True,
                             timeout=60, check=True).stdout
        want = int(out.split("\t")[-1])
        reader = CaptureReader(path)
        got = sum(len(b) for b in reader.batches())
        assert got == want == reader.stats.packets, path.name
        assert reader.stats.problems == [], path.name


def _streams(result) -> list[dict]:
    return sorted((json.dumps(s.to_json(), sort_keys=True) for s in result.streams))


@pytest.mark.corpus
@pytest.mark.parametrize("fmt", ["pcapng", "nsecpcap"])
def test_pcapng_and_nanosecond_copies_analyse_the_same(corpus, tmp_path, fmt):
    editcap = need_tool("editcap")
    for name in ("calls/SIP_Eyebeam2Eyebeam_Video_Audio.pcap", "codecs/sip-rtp-g726.pcap", "l2/cdp_v2_hdlc.pcap"):
        src = corpus / "pcaps" / name
        dst = tmp_path / f"copy.{fmt}"
        subprocess.run([editcap, "-F", fmt, str(src), str(dst)], check=True, timeout=60)
        a, b = analyse(src), analyse(dst)
        assert a.packets == b.packets
        assert _streams(a) == _streams(b), name
        assert a.cdp == b.cdp and a.lldp == b.lldp and a.calls == b.calls


@pytest.mark.corpus
def test_big_endian_pcap(corpus, tmp_path):
    src = (corpus / "pcaps/codecs/sip-rtp-gsm.pcap").read_bytes()
    out = bytearray(struct.pack(">IHHiIII", *struct.unpack("<IHHiIII", src[:24])))
    pos = 24
    while pos < len(src):
        sec, usec, cap, orig = struct.unpack_from("<IIII", src, pos)
        out += struct.pack(">IIII", sec, usec, cap, orig) + src[pos + 16:pos + 16 + cap]
        pos += 16 + cap
    dst = tmp_path / "be.pcap"
    dst.write_bytes(bytes(out))
    assert _streams(analyse(dst)) == _streams(analyse(corpus / "pcaps/codecs/sip-rtp-gsm.pcap"))


@pytest.mark.corpus
def test_chunk_boundaries_change_nothing(corpus):
    path = corpus / "pcaps/calls/SIP_Eyebeam2Eyebeam_Video_Audio.pcap"
    whole = analyse(path)
    small = analyse(path, chunk_bytes=1 << 16)          # ~50 chunks, records split across them
    assert _streams(whole) == _streams(small)
    assert whole.calls == small.calls and whole.markings == small.markings


def _rtp_frames():
    """One RTP packet in each encapsulation, marked AF41 (34), as (linktype, frame) pairs."""
    ip = ipv4_udp("192.0.2.1", "192.0.2.2", 40000, 40002, rtp(7, 160, 0x11223344, pt=8), dscp=34)
    sll = struct.pack(">HHH8sH", 0, 1, 6, b"\x02\0\0\0\0\x0a\0\0", 0x0800) + ip
    sll2 = struct.pack(">HHIHBB8s", 0x0800, 0, 2, 1, 0, 6, b"\x02\0\0\0\0\x0a\0\0") + ip
    null = struct.pack("<I", 2) + ip
    tagged = ethernet(ip, tags=[(0x8100, 5, 20)])
    qinq = ethernet(ip, tags=[(0x88A8, 1, 300), (0x8100, 5, 20)])
    return [(1, ethernet(ip)), (113, sll), (276, sll2), (101, ip), (228, ip), (0, null), (1, tagged), (1, qinq)]


def test_link_types_decode_like_tshark(tmp_path):
    tshark = need_tool("tshark")
    for i, (linktype, frame) in enumerate(_rtp_frames()):
        path = write_pcap(tmp_path / f"lt{i}.pcap", [(1.7e9, frame), (1.7e9 + 0.02, frame)], linktype=linktype)
        out = subprocess.run([tshark, "-r", str(path), "-c", "1", "-d", "udp.port==40002,rtp", "-T", "fields",
                              "-E", "separator=|", "-e", "ip.dsfield.dscp", "-e", "udp.srcport", "-e", "udp.dstport",
                              "-e", "rtp.ssrc", "-e", "vlan.id", "-e", "vlan.priority"],
                             capture_output=True, text=True, timeout=30, check=True).stdout.strip()
        dscp, sport, dport, ssrc, vlan, prio = out.split("|")
        result = analyse(path)
        (s,) = result.streams
        j = s.to_json()
        assert (j["dscp"], j["sport"], j["dport"], s.key.ssrc) == (int(dscp), int(sport), int(dport), int(ssrc, 16))
        if vlan:                      # tshark's vlan.id is the 802.1Q (customer) tag, also under 802.1ad
            assert (j["vlan"], j["pcp"]) == (int(vlan), int(prio))
        else:
            assert j["vlan"] is None
        assert result.problems == []


def test_unknown_link_type_is_reported_not_fatal(tmp_path):
    path = write_pcap(tmp_path / "x.pcap", [(1.7e9, b"\x00" * 40)], linktype=147)   # LINKTYPE_USER0
    a = analyse(path)
    assert a.packets == 1 and any("link type 147" in p for p in a.problems)


def test_not_a_capture(tmp_path):
    for content, words in ((b"", "empty"), (b"hello world, not a capture", "not a pcap"),
                           (b"\xd4\xc3\xb2\xa1\x02\x00", "cut short")):
        p = tmp_path / "bad.pcap"
        p.write_bytes(content)
        with pytest.raises(CaptureFileError, match=words):
            analyse(p)


@pytest.mark.corpus
def test_truncated_file_keeps_the_complete_packets(corpus, tmp_path):
    tshark = need_tool("tshark")
    src = corpus / "pcaps/codecs/sip-rtp-g722.pcap"
    lens = [int(v) for v in subprocess.run([tshark, "-r", str(src), "-T", "fields", "-e", "frame.cap_len"],
                                           capture_output=True, text=True, timeout=60, check=True).stdout.split()]
    cut = 24 + sum(16 + n for n in lens[:200]) + 30          # 30 bytes into packet 201
    dst = tmp_path / "cut.pcap"
    dst.write_bytes(src.read_bytes()[:cut])
    a = analyse(dst)
    assert a.packets == 200
    assert any("cut short" in p and "200 packets" in p for p in a.problems)
    (s,) = a.streams
    csv = (corpus / "pcaps/reference/tshark/sip-rtp-g722.pcap.rtp_packets.csv").read_text().splitlines()[1:]
    assert s.packets == sum(1 for row in csv if int(row.split(",")[0]) <= 200)   # tshark's RTP frames


@pytest.mark.corpus
def test_corrupt_record_length_stops_with_a_clear_problem(corpus, tmp_path):
    data = bytearray((corpus / "pcaps/codecs/sip-rtp-gsm.pcap").read_bytes())
    pos = 24
    for _ in range(100):
        pos += 16 + struct.unpack_from("<I", data, pos + 8)[0]
    struct.pack_into("<I", data, pos + 8, 0x7FFFFFFF)                   # packet 101 claims 2 GB
    p = tmp_path / "corrupt.pcap"
    p.write_bytes(bytes(data))
    a = analyse(p)
    assert a.packets == 100 and any("corrupt" in x and "100 packets" in x for x in a.problems)


def test_snaplen_cut_packets(tmp_path):
    frame = ethernet(ipv4_udp("192.0.2.1", "192.0.2.2", 40000, 40002, rtp(1, 0, 5, pt=0), dscp=46))
    path = write_pcap(tmp_path / "s.pcap", [(1.7e9 + i * 0.02, frame) for i in range(3)], snaplen=40)
    a = analyse(path)
    assert a.streams == [] and any("snap length" in p for p in a.problems)
    assert a.markings["dscp"]["all"] == {"EF": 3}                      # IP headers were still read


@pytest.mark.corpus
def test_fuzzed_corpus_copies_never_crash(corpus, tmp_path):
    """Corrupted copies of real captures: flipped bytes anywhere, chopped tails. The reader may say
    the file is not a capture (header damage) or report problems; it must never raise anything else."""
    rng = random.Random(5)
    files = [p for p in _corpus_files(corpus) if p.stat().st_size < 400_000]
    for i in range(120):
        src = rng.choice(files).read_bytes()
        data = bytearray(src)
        for _ in range(rng.choice((1, 4, 32, 256))):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.3:
            data = data[:rng.randrange(len(data))]
        p = tmp_path / f"fuzz{i}.pcap"
        p.write_bytes(bytes(data))
        try:
            a = analyse(p)
        except CaptureFileError:
            continue
        json.dumps(a.to_json(), default=str)                           # the report renders too


def test_long_equal_size_runs_in_pcap_and_pcapng(tmp_path):
    """Runs of equal-sized records are walked many at a time; the result must be the generator's truth
    in both formats and with chunk boundaries inside the runs."""
    from readiness.probes.capture.pcap_writer import synth_rtp_capture

    editcap = need_tool("editcap")
    truth = synth_rtp_capture(tmp_path / "runs.pcap", packets=20_000, calls=5, loss=0.01)
    subprocess.run([editcap, "-F", "pcapng", str(tmp_path / "runs.pcap"), str(tmp_path / "runs.pcapng")],
                   check=True, timeout=60)
    for name in ("runs.pcap", "runs.pcapng"):
        for chunk in (1 << 16, 16 << 20):
            a = analyse(tmp_path / name, chunk_bytes=chunk)
            by_ssrc = {s.key.ssrc: s for s in a.streams}
            assert [by_ssrc[x].packets for x in truth.ssrc] == truth.packets, (name, chunk)
            assert [by_ssrc[x].rfc.lost for x in truth.ssrc] == truth.lost, (name, chunk)
