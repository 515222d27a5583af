"""Read the corpus' per-packet RTP tables and tshark's per-stream answers (test helper).

Ground truth: `$READINESS_CORPUS/pcaps/reference/tshark/<capture>.rtp_packets.csv` (per packet, from
tshark 4.0.17) and `<capture>.txt` (tshark's own `-z rtp,streams` table). Dynamic payload-type clock
rates come from the capture's SDP, read with the real tshark: Wireshark takes the rtpmap of the
SDP that advertised the stream's destination address and port (the receiver's SDP).
"""

from __future__ import annotations

import csv
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

CAPTURE_DIRS = ("calls", "codecs")

ROW = re.compile(r"^\s*(?:\S+\s+){2}(\S+)\s+(\d+)\s+(\S+)\s+(\d+)\s+0x([0-9A-F]{8})\s+(.*?)\s+(\d+)\s+(-?\d+) \(-?[\d.]+%\)"
                 r"\s+(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s*(X?)\s*$")


@dataclass
class Stream:
    key: tuple                       # (src, sport, dst, dport, ssrc)
    frames_ns: list[int] = field(default_factory=list)
    pt: list[int] = field(default_factory=list)
    seq: list[int] = field(default_factory=list)
    ts: list[int] = field(default_factory=list)
    marker: list[bool] = field(default_factory=list)

    def arrays(self, t0_ns: int):
        """Arrival as epoch seconds would lose precision against tshark's ms; use capture-relative."""
        arrival = (np.array(self.frames_ns, dtype=np.int64) - t0_ns) / 1e9
        return (np.array(self.seq), np.array(self.ts), arrival, np.array(self.marker), np.array(self.pt))


def _ns(text: str) -> int:
    sec, _, frac = text.partition(".")
    return int(sec) * 10**9 + int(frac.ljust(9, "0")[:9])


def captures(corpus: Path) -> list[Path]:
    out = []
    for d in CAPTURE_DIRS:
        out += sorted((corpus / "pcaps" / d).glob("*.pcap*"))
    return out


def read_packets(corpus: Path, capture: str) -> tuple[int, dict[tuple, Stream]]:
    path = corpus / "pcaps" / "reference" / "tshark" / f"{capture}.rtp_packets.csv"
    streams: dict[tuple, Stream] = {}
    t0 = None
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            if not r["rtp.ssrc"]:
                continue
            ns = _ns(r["frame.time_epoch"])
            t0 = ns if t0 is None else t0
            key = (r["ip.src"], int(r["udp.srcport"]), r["ip.dst"], int(r["udp.dstport"]), int(r["rtp.ssrc"], 16))
            s = streams.setdefault(key, Stream(key))
            s.frames_ns.append(ns)
            s.pt.append(int(r["rtp.p_type"]))
            s.seq.append(int(r["rtp.seq"]))
            s.ts.append(int(r["rtp.timestamp"]))
            s.marker.append(r["rtp.marker"] in ("1", "True"))
    return (t0 or 0), streams


def tshark_streams(corpus: Path, capture: str) -> dict[tuple, dict]:
    text = (corpus / "pcaps" / "reference" / "tshark" / f"{capture}.txt").read_text()
    out = {}
    for line in text.splitlines():
        m = ROW.match(line)
        if m:
            g = m.groups()
            out[(g[0], int(g[1]), g[2], int(g[3]), int(g[4], 16))] = dict(
                payload=g[5], pkts=int(g[6]), lost=int(g[7]), min_delta=float(g[8]), mean_delta=float(g[9]),
                max_delta=float(g[10]), min_jitter=float(g[11]), mean_jitter=float(g[12]), max_jitter=float(g[13]),
                problem=g[14] == "X")
    return out


def sdp_rtpmaps(tshark: str, pcap: Path) -> tuple[int, list[tuple[int, str, set[int], dict[int, tuple[str, int]]]]]:
    """The capture's first frame time (ns) and, for every SDP body, (time ns, c= address, media
    ports, {pt: (encoding, rate)}). One tshark pass."""
    out = subprocess.run([tshark, "-r", str(pcap), "-Y", "frame.number == 1 || sdp", "-T", "fields",
                          "-E", "separator=|", "-e", "frame.number", "-e", "frame.time_epoch",
                          "-e", "sdp.connection_info.address", "-e", "sdp.media.port", "-e", "sdp.media_attr"],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    maps = []
    first_ns = 0
    for line in out.splitlines():
        number, t, addr, ports, attrs = (line.split("|") + ["", "", "", "", ""])[:5]
        if number == "1":
            first_ns = _ns(t)
        if not attrs:
            continue
        rtpmap = {}
        for a in attrs.split(","):
            m = re.match(r"rtpmap:(\d+) ([^/]+)/(\d+)", a.strip())
            if m:
                rtpmap[int(m.group(1))] = (m.group(2), int(m.group(3)))
        maps.append((_ns(t), addr.split(",")[0], {int(p) for p in ports.split(",") if p}, rtpmap))
    return first_ns, maps


def rtpmap_for(maps, stream: Stream) -> dict[int, tuple[str, int]]:
    """The rtpmap of the latest SDP before the stream that advertised its destination address and port."""
    _, _, dst, dport, _ = stream.key
    found = {}
    for t, addr, ports, rtpmap in maps:
        if t <= stream.frames_ns[0] and addr == dst and dport in ports:
            found = rtpmap
    return found
