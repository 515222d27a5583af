"""A streaming pcap / pcapng reader for the bulk path: the file is read in chunks of a few MB and each
chunk becomes a `Batch` of numpy arrays (where each packet starts, its lengths, its time, its link
type), so memory stays constant however long the capture is.

Walking the records is the only per-packet work (record lengths chain one to the next): in C when
the module is built (decoder_c.py), else here in Python with runs of equal-sized records checked in
bulk; everything after it (layers.py, streams.py) works on whole arrays.

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
from . import decoder_c

# Largest packet a sane capture holds: Wireshark's WTAP_MAX_PACKET_SIZE_STANDARD (262144).
MAX_PACKET = 262144
CHUNK_BYTES = 16 << 20
# Runs of equal-sized records (one codec's RTP) are walked by checking many predicted positions at
# once: after SPECULATE_AFTER equal sizes, check up to k records, growing k while the run holds.
SPECULATE_AFTER = 4
SPECULATE_MIN = 64
SPECULATE_MAX = 1 << 16

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
        """Feed chunks to `walk(buf, arr) -> (columns | None, consumed, corrupt)` (buf: a memoryview of
        arr, for struct); carry the tail."""
        tail, first = memoryview(start), 0
        while True:
            # read into one new array behind the carried tail: no concatenation, pages first touched once
            arr = np.empty(len(tail) + self.chunk_bytes, dtype=np.uint8)
            arr[:len(tail)] = np.frombuffer(tail, dtype=np.uint8)
            got = self._f.readinto(memoryview(arr)[len(tail):])
            arr = arr[:len(tail) + got]
            if not len(arr):
                return
            buf = memoryview(arr)
            cols, consumed, corrupt = walk(buf, arr)
            if cols is not None and len(cols[0]):
                off, caplen, origlen, ts, lt = cols
                self.stats.packets += len(off)
                self.stats.truncated_packets += int(np.count_nonzero(caplen < origlen))
                yield Batch(arr, off, caplen, origlen, ts, lt, first)
                first += len(off)
            self.stats.bytes += consumed
            if corrupt:
                self._stop_corrupt(corrupt, first)
                return
            tail = buf[consumed:]
            if not got:                # end of file: whatever is left is a cut-off packet
                if len(tail):
                    self._stop_truncated(first, len(tail))
                return

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
        caplen_at = struct.Struct(order + "I").unpack_from

        def walk(buf: memoryview, arr: np.ndarray):
            if decoder_c.available():
                (rec, caplen, origlen, ts), off, bad = decoder_c.pcap_records(arr, 0, order == ">", limit, ns_per_unit)
                corrupt = f"packet at byte {self.stats.bytes + bad} claims {caplen_at(buf, bad + 8)[0]} bytes" \
                    if bad >= 0 else ""
                if not len(rec):
                    return None, off, corrupt
                return (rec, caplen, origlen, ts, np.full(len(rec), linktype, dtype=np.int32)), off, corrupt
            runs = _Runs()
            end, off = len(buf), 0
            corrupt = ""
            while off + 16 <= end:
                c = caplen_at(buf, off + 8)[0]
                if c > limit:
                    corrupt = f"packet at byte {self.stats.bytes + off} claims {c} bytes"
                    break
                stride = 16 + c
                if off + stride > end:
                    break
                if runs.ready():
                    off = runs.many(off, stride, end, lambda pos: _u32(arr, pos + 8, order) == c)
                    continue
                runs.one(off, c)
                off += stride
            rec = runs.offsets()
            if rec is None:
                return None, off, corrupt
            sec = _u32(arr, rec, order).astype(np.int64)
            frac = _u32(arr, rec + 4, order).astype(np.int64)
            cols = (rec + 16, _u32(arr, rec + 8, order).astype(np.int64), _u32(arr, rec + 12, order).astype(np.int64),
                    sec * 1_000_000_000 + frac * ns_per_unit, np.full(len(rec), linktype, dtype=np.int32))
            return cols, off, corrupt

        yield from self._read(b"", walk)

    # --- pcapng ----------------------------------------------------------------------------------
    def _pcapng(self) -> Iterator[Batch]:
        state = {"order": "<", "ifaces": []}   # ifaces: (linktype, snaplen, ts units per second, ts offset s)

        def walk(buf: memoryview, arr: np.ndarray):
            order, ifaces = state["order"], state["ifaces"]
            runs = _Runs()                        # offsets of Enhanced Packet Blocks
            fast: list[list[np.ndarray]] = []      # EPB columns the C walk read (decoder_c.epb_run)
            other: list[tuple[int, int, int, int, int]] = []   # SPB / OPB rows, decoded one by one
            end, off = len(buf), 0
            corrupt = ""
            while off + 12 <= end:
                btype = struct.unpack_from(order + "I", buf, off)[0]
                if btype == PCAPNG_SHB:      # 0a 0d 0d 0a reads the same in both byte orders
                    if runs.any() or other or fast:
                        break                # a new section: finish this batch with the old one's interfaces
                    bom = buf[off + 8:off + 12]
                    if bom == b"\x4d\x3c\x2b\x1a":
                        order = "<"
                    elif bom == b"\x1a\x2b\x3c\x4d":
                        order = ">"
                    else:
                        corrupt = f"section header at byte {self.stats.bytes + off} has no byte-order mark"
                        break
                blen = struct.unpack_from(order + "I", buf, off + 4)[0]
                if blen < 12 or blen % 4 or blen > MAX_PACKET + 65536:
                    corrupt = f"block at byte {self.stats.bytes + off} claims a length of {blen}"
                    break
                if off + blen > end:
                    break
                if btype == 6 and decoder_c.available():
                    cols, nxt = decoder_c.epb_run(arr, off, order == ">", len(ifaces), MAX_PACKET + 65536)
                    if len(cols[0]):
                        fast.append(cols)
                        off = nxt
                        continue
                if btype == 6:
                    iface, caplen = struct.unpack_from(order + "I", buf, off + 8)[0], \
                        struct.unpack_from(order + "I", buf, off + 20)[0]
                    if iface >= len(ifaces) or 32 + caplen > blen:
                        corrupt = (f"packet block at byte {self.stats.bytes + off} names interface {iface} "
                                   f"or overruns its block")
                        break
                    if runs.ready():
                        def same(pos, blen=blen, n_if=len(ifaces)):
                            return ((_u32(arr, pos, order) == 6) & (_u32(arr, pos + 4, order) == blen) &
                                    (_u32(arr, pos + 8, order) < n_if) & (_u32(arr, pos + 20, order) + 32 <= blen))
                        off = runs.many(off, blen, end, same)
                        continue
                    runs.one(off, blen)
                else:
                    runs.reset()
                    if btype == PCAPNG_SHB:
                        ifaces = []          # a new section starts its own interface list
                    elif btype == 1:         # Interface Description Block
                        ifaces.append(_idb(buf, off, blen, order))
                        self.stats.linktypes.add(ifaces[-1][0])
                        self.stats.snaplen = max(self.stats.snaplen, ifaces[-1][1])
                    elif btype == 2:         # obsolete Packet Block
                        iface, _drops, hi, lo, caplen, origlen = struct.unpack_from(order + "HHIIII", buf, off + 8)
                        if iface >= len(ifaces) or 32 + caplen > blen:
                            corrupt = f"packet block at byte {self.stats.bytes + off} is inconsistent"
                            break
                        lt, _, units, tsoff = ifaces[iface]
                        other.append((off + 28, caplen, origlen, _ts_ns((hi << 32) | lo, units, tsoff), lt))
                    elif btype == 3:         # Simple Packet Block: no timestamp, interface 0
                        if not ifaces:
                            corrupt = f"simple packet block at byte {self.stats.bytes + off} before any interface"
                            break
                        origlen = struct.unpack_from(order + "I", buf, off + 8)[0]
                        lt, snap, _, _ = ifaces[0]
                        other.append((off + 12, min(origlen, snap or origlen, blen - 16), origlen, -1, lt))
                off += blen
            state["order"], state["ifaces"] = order, ifaces
            blocks = runs.offsets()
            parts = fast + ([_epb_fields(arr, blocks, order)] if blocks is not None else [])
            return _ng_columns(parts, other, ifaces), off, corrupt

        yield from self._read(self._head, walk)

    # --- damage ----------------------------------------------------------------------------------
    def _stop_truncated(self, packets: int, left: int) -> None:
        self.stats.problems.append(
            f"{self.path.name}: the file ends in the middle of a packet ({left} bytes left over): the capture "
            f"was cut short; the {packets} packets before it were analysed")

    def _stop_corrupt(self, what: str, packets: int) -> None:
        self.stats.problems.append(
            f"{self.path.name}: corrupt from here on ({what}); the {packets} packets before it were analysed")


class _Runs:
    """Record offsets found while walking: one at a time, or, inside a run of equal-sized records
    (one codec's RTP), many at once by checking predicted positions with numpy."""

    def __init__(self) -> None:
        self._found: list[np.ndarray] = []
        self._single: list[int] = []
        self._run, self._last, self._k = 0, -1, SPECULATE_MIN

    def one(self, off: int, size: int) -> None:
        self._single.append(off)
        self._run = self._run + 1 if size == self._last else 0
        self._last = size

    def reset(self) -> None:
        self._run, self._last = 0, -1

    def ready(self) -> bool:
        return self._run >= SPECULATE_AFTER

    def any(self) -> bool:
        return bool(self._found or self._single)

    def many(self, off: int, stride: int, end: int, same) -> int:
        """Accept the records from `off` on while `same(positions)` confirms them; the next offset."""
        k = min(self._k, (end - off) // stride)
        pos = off + stride * np.arange(k, dtype=np.int64)
        ok = same(pos[1:])
        m = 1 + (int(np.argmin(ok)) if not ok.all() else len(ok))
        self._flush()
        self._found.append(pos[:m])
        self._k = min(self._k * 4, SPECULATE_MAX) if m == k else SPECULATE_MIN
        if m < k:
            self._run = 0
        return int(pos[m - 1]) + stride

    def _flush(self) -> None:
        if self._single:
            self._found.append(np.asarray(self._single, dtype=np.int64))
            self._single = []

    def offsets(self) -> np.ndarray | None:
        self._flush()
        return np.concatenate(self._found) if self._found else None


def _u32(arr: np.ndarray, pos: np.ndarray, order: str) -> np.ndarray:
    """32-bit fields at byte offsets `pos` (vectorised): an unaligned view with one element per byte."""
    view = np.ndarray(shape=(max(len(arr) - 3, 0),), dtype=order + "u4", buffer=arr, strides=(1,))
    return view[pos]


def _epb_fields(arr: np.ndarray, blocks: np.ndarray, order: str) -> list[np.ndarray]:
    """(data offset, caplen, origlen, interface, raw time stamp) of Enhanced Packet Blocks at `blocks`."""
    raw = (_u32(arr, blocks + 12, order).astype(np.uint64) << np.uint64(32)) | _u32(arr, blocks + 16, order)
    return [blocks + 28, _u32(arr, blocks + 20, order).astype(np.int64), _u32(arr, blocks + 24, order).astype(np.int64),
            _u32(arr, blocks + 8, order).astype(np.int64), raw.astype(np.int64)]


def _ng_columns(parts: list[list[np.ndarray]], other: list[tuple[int, int, int, int, int]],
                ifaces: list[tuple[int, int, int, int]]):
    if not parts and not other:
        return None
    data, caplen, origlen, iface, raw = (np.concatenate([p[k] for p in parts]) if parts else
                                         np.zeros(0, dtype=np.int64) for k in range(5))
    lt = np.array([i[0] for i in ifaces] or [0], dtype=np.int32)[iface]
    units = np.array([i[2] for i in ifaces] or [1], dtype=np.int64)[iface]
    tsoff = np.array([i[3] for i in ifaces] or [0], dtype=np.int64)[iface]
    # nanoseconds without overflow: whole seconds and the remainder separately
    ts = (raw // units + tsoff) * 1_000_000_000 + (raw % units) * 1_000_000_000 // units
    cols = [data, caplen, origlen, ts, lt]
    if other:
        o = np.asarray(other, dtype=np.int64).reshape(-1, 5)
        cols = [np.concatenate((c, o[:, i].astype(c.dtype))) for i, c in enumerate(cols)]
        order_idx = np.argsort(cols[0], kind="stable")
        cols = [c[order_idx] for c in cols]
    return tuple(cols)


def _idb(buf: memoryview, off: int, blen: int, order: str) -> tuple[int, int, int, int]:
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
