"""A streaming pcap / pcapng reader for the bulk path: the file is read in chunks of a few MB and each
chunk becomes a `Batch` of numpy arrays (where each packet starts, its lengths, its time, its link
type), so memory stays constant however long the capture is.

Walking the records is the only per-packet Python work (record lengths chain one to the next);
everything after it (layers.py, streams.py) works on whole arrays.

Formats: pcap (libpcap, microsecond and nanosecond, both byte orders) and pcapng (SHB/IDB/EPB/SPB/
OPB blocks, per-interface link type and if_tsresol/if_tsoffset). A file that ends in the middle of a
packet, or whose record lengths become nonsense, stops there with a `problem` saying how many packets
were read: the packets before the damage are still analysed.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Iterator

import numpy as np

from ...errors import ReadinessError

# Largest packet a sane capture holds: Wireshark's WTAP_MAX_PACKET_SIZE_STANDARD (262144).
MAX_PACKET = 262144
CHUNK_BYTES = 8 << 20

PCAP_MAGIC = {
    b"\xd4\xc3\xb2\xa1": ("<", 1_000),      # microsecond, little-endian (pcap-savefile(5))
    b"\xa1\xb2\xc3\xd4": (">", 1_000),
    b"\x4d\x3c\xb2\xa1": ("<", 1),          # nanosecond variant
    b"\xa1\xb2\x3c\x4d": (">", 1),
}
PCAPNG_SHB = 0x0A0D0D0A
PCAPNG_BOM = 0x1A2B3C4D


class CaptureFileError(ReadinessError):
    """The file is not a capture this reader understands (not pcap/pcapng, empty header)."""


@dataclass
class Batch:
    """Packets of one chunk. `off` indexes `buf` (the chunk's bytes) where each packet's data starts."""

    buf: np.ndarray            # uint8 view of the chunk
    off: np.ndarray            # int64
    caplen: np.ndarray         # int64, bytes captured
    origlen: np.ndarray        # int64, bytes on the wire
    ts_ns: np.ndarray          # int64, epoch nanoseconds
    linktype: np.ndarray       # int32, LINKTYPE_* per packet
    first: int                 # index of the batch's first packet in the file (0-based)

    def __len__(self) -> int:
        return len(self.off)

    def packet(self, i: int) -> bytes:
        o = int(self.off[i])
        return self.buf[o:o + int(self.caplen[i])].tobytes()


@dataclass
class ReadStats:
    format: str = ""
    packets: int = 0
    bytes: int = 0
    snaplen: int = 0
    linktypes: set[int] = field(default_factory=set)
    truncated_packets: int = 0     # caplen < origlen (snaplen cut)
    problems: list[str] = field(default_factory=list)


class CaptureReader:
    """`for batch in CaptureReader(path).batches(): ...`; `stats` fills in as it reads."""

    def __init__(self, path: str | Path, chunk_bytes: int = CHUNK_BYTES):
        self.path = Path(path)
        self.chunk_bytes = max(chunk_bytes, 1 << 16)
        self.stats = ReadStats()
        try:
            self._f: BinaryIO = open(self.path, "rb")
        except OSError as e:
            raise CaptureFileError(f"cannot open {self.path}: {e.strerror or e}") from None
        head = self._f.read(24)
        if len(head) >= 4 and head[:4] in PCAP_MAGIC:
            self.stats.format = "pcap"
        elif len(head) >= 4 and struct.unpack("<I", head[:4])[0] == PCAPNG_SHB:
            self.stats.format = "pcapng"
        elif not head:
            self._f.close()
            raise CaptureFileError(f"{self.path} is empty")
        else:
            self._f.close()
            raise CaptureFileError(f"{self.path} is not a pcap or pcapng capture (starts with {head[:4].hex()})")
        self._head = head

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> "CaptureReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def batches(self) -> Iterator[Batch]:
        try:
            if self.stats.format == "pcap":
                yield from self._pcap()
            else:
                yield from self._pcapng()
        finally:
            self.close()

    # --- chunked reading -------------------------------------------------------------------------
    def _read(self, start: bytes, walk) -> Iterator[Batch]:
        """Feed chunks to `walk(buf, first) -> (packets, consumed, corrupt)`; carry the unconsumed tail."""
        tail, first = start, 0
        while True:
            data = self._f.read(self.chunk_bytes)
            buf = tail + data if tail else data
            if not buf:
                return
            pkts, consumed, corrupt = walk(buf, first)
            if pkts:
                yield self._batch(buf, pkts, first)
                first += len(pkts)
            self.stats.bytes += consumed
            if corrupt:
                self._stop_corrupt(corrupt, first)
                return
            tail = buf[consumed:]
            if not data:               # end of file: whatever is left is a cut-off packet
                if tail:
                    self._stop_truncated(first, len(tail))
                return

    def _batch(self, buf: bytes, pkts: list[tuple[int, int, int, int, int]], first: int) -> Batch:
        a = np.asarray(pkts, dtype=np.int64).reshape(-1, 5)
        self.stats.packets += len(a)
        self.stats.truncated_packets += int(np.count_nonzero(a[:, 1] < a[:, 2]))
        return Batch(np.frombuffer(buf, dtype=np.uint8), a[:, 0].copy(), a[:, 1].copy(), a[:, 2].copy(),
                     a[:, 3].copy(), a[:, 4].astype(np.int32), first)

    # --- pcap ------------------------------------------------------------------------------------
    def _pcap(self) -> Iterator[Batch]:
        head = self._head
        if len(head) < 24:
            raise CaptureFileError(f"{self.path}: the pcap file header is cut short ({len(head)} of 24 bytes)")
        order, ns_per_unit = PCAP_MAGIC[head[:4]]
        _, _, _, _, snaplen, network = struct.unpack(order + "HHiIII", head[4:24])
        linktype = network & 0x0FFFFFFF   # upper bits may carry the FCS length (pcap-savefile(5))
        self.stats.snaplen = snaplen
        self.stats.linktypes.add(linktype)
        self.stats.bytes = 24
        limit = MAX_PACKET if snaplen <= MAX_PACKET or snaplen >= (1 << 24) else snaplen
        record = struct.Struct(order + "IIII").unpack_from

        def walk(buf: bytes, first: int):
            pkts: list[tuple[int, int, int, int, int]] = []
            append = pkts.append
            end, off = len(buf), 0
            while off + 16 <= end:
                sec, frac, caplen, origlen = record(buf, off)
                if caplen > limit:
                    return pkts, off, (f"packet {first + len(pkts) + 1} (byte {self.stats.bytes + off}) "
                                       f"claims {caplen} bytes")
                nxt = off + 16 + caplen
                if nxt > end:
                    break
                append((off + 16, caplen, origlen, sec * 1_000_000_000 + frac * ns_per_unit, linktype))
                off = nxt
            return pkts, off, ""

        yield from self._read(b"", walk)

    # --- pcapng ----------------------------------------------------------------------------------
    def _pcapng(self) -> Iterator[Batch]:
        state = {"order": "<", "ifaces": []}   # ifaces: (linktype, snaplen, ts units per second, ts offset s)

        def walk(buf: bytes, first: int):
            pkts: list[tuple[int, int, int, int, int]] = []
            order, ifaces = state["order"], state["ifaces"]
            end, off = len(buf), 0
            while off + 12 <= end:
                btype = struct.unpack_from(order + "I", buf, off)[0]
                if btype == PCAPNG_SHB:      # 0a 0d 0d 0a reads the same in both byte orders
                    bom = buf[off + 8:off + 12]
                    if bom == b"\x4d\x3c\x2b\x1a":
                        order = "<"
                    elif bom == b"\x1a\x2b\x3c\x4d":
                        order = ">"
                    else:
                        return pkts, off, f"section header at byte {self.stats.bytes + off} has no byte-order mark"
                blen = struct.unpack_from(order + "I", buf, off + 4)[0]
                if blen < 12 or blen % 4 or blen > MAX_PACKET + 65536:
                    return pkts, off, f"block at byte {self.stats.bytes + off} claims a length of {blen}"
                if off + blen > end:
                    break
                if btype == PCAPNG_SHB:
                    ifaces = []              # a new section starts its own interface list
                elif btype == 1:             # Interface Description Block
                    ifaces.append(_idb(buf, off, blen, order))
                    self.stats.linktypes.add(ifaces[-1][0])
                    self.stats.snaplen = max(self.stats.snaplen, ifaces[-1][1])
                elif btype in (6, 2):        # Enhanced / obsolete Packet Block
                    if btype == 6:
                        iface, hi, lo, caplen, origlen = struct.unpack_from(order + "IIIII", buf, off + 8)
                    else:
                        iface, _drops, hi, lo, caplen, origlen = struct.unpack_from(order + "HHIIII", buf, off + 8)
                    if iface >= len(ifaces) or 32 + caplen > blen:
                        return pkts, off, (f"packet block at byte {self.stats.bytes + off} names interface {iface} "
                                           f"or overruns its block")
                    lt, _, units, tsoff = ifaces[iface]
                    pkts.append((off + 28, caplen, origlen, _ts_ns((hi << 32) | lo, units, tsoff), lt))
                elif btype == 3:             # Simple Packet Block: no timestamp, interface 0
                    if not ifaces:
                        return pkts, off, f"simple packet block at byte {self.stats.bytes + off} before any interface"
                    origlen = struct.unpack_from(order + "I", buf, off + 8)[0]
                    lt, snap, _, _ = ifaces[0]
                    pkts.append((off + 12, min(origlen, snap or origlen, blen - 16), origlen, -1, lt))
                off += blen
            state["order"], state["ifaces"] = order, ifaces
            return pkts, off, ""

        yield from self._read(self._head, walk)

    # --- damage ----------------------------------------------------------------------------------
    def _stop_truncated(self, packets: int, left: int) -> None:
        self.stats.problems.append(
            f"{self.path.name}: the file ends in the middle of a packet ({left} bytes left over): the capture "
            f"was cut short; the {packets} packets before it were analysed")

    def _stop_corrupt(self, what: str, packets: int) -> None:
        self.stats.problems.append(
            f"{self.path.name}: corrupt from here on ({what}); the {packets} packets before it were analysed")


def _idb(buf: bytes, off: int, blen: int, order: str) -> tuple[int, int, int, int]:
    linktype, _, snaplen = struct.unpack_from(order + "HHI", buf, off + 8)
    units, tsoff = 1_000_000, 0          # default if_tsresol is 6: microseconds (pcapng spec 4.2)
    p, end = off + 16, off + blen - 4
    while p + 4 <= end:
        code, length = struct.unpack_from(order + "HH", buf, p)
        if code == 0:
            break
        value = buf[p + 4:p + 4 + length]
        if code == 9 and length >= 1:   # if_tsresol: power of 10, or of 2 when the top bit is set
            r = value[0]
            units = (1 << (r & 0x7F)) if r & 0x80 else 10 ** r
        elif code == 14 and length >= 8:  # if_tsoffset, seconds
            tsoff = struct.unpack(order + "q", value[:8])[0]
        p += 4 + ((length + 3) & ~3)
    return linktype, snaplen, units, tsoff


def _ts_ns(raw: int, units: int, tsoff: int) -> int:
    if units == 1_000_000_000:
        return raw + tsoff * 1_000_000_000
    return raw * 1_000_000_000 // units + tsoff * 1_000_000_000


def iter_packets(path: str | Path) -> Iterator[tuple[int, int, int, bytes, int]]:
    """(index, ts_ns, linktype, data, origlen) for every packet: for small files and tests."""
    reader = CaptureReader(path)
    for batch in reader.batches():
        for i in range(len(batch)):
            yield batch.first + i, int(batch.ts_ns[i]), int(batch.linktype[i]), batch.packet(i), int(batch.origlen[i])
