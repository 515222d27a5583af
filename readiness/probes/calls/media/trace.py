"""Per-packet traces of a call's media, written to a file as they arrive and read back with numpy.

Memory stays flat however long a call runs (the stream holds a few seconds of records), the
analysis reads the whole call at its end, and the file is the raw evidence behind the call's
metrics (kept in the run folder).

Two record kinds, fixed size, little-endian:
  reply  - a reflected test packet: both directions of one round trip
  rtp    - a plain RTP packet from a third-party far end (a phone, baresip)
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np

REPLY = struct.Struct("<IIqqqqBBHII")
REPLY_DTYPE = np.dtype([
    ("seq", "<u4"),          # sender sequence (up direction index)
    ("rseq", "<u4"),         # reflector sequence (down direction index, from 1)
    ("tx_ns", "<i8"),        # our send time (epoch ns, our clock)
    ("rrx_ns", "<i8"),       # reflector receive time (its clock)
    ("rtx_ns", "<i8"),       # reflector send time (its clock)
    ("rx_ns", "<i8"),        # our receive time (kernel, our clock)
    ("dscp_up", "u1"),       # DSCP the reflector received (255 unknown)
    ("dscp_down", "u1"),     # DSCP we received
    ("flags", "<u2"),
    ("bitmap", "<u4"),       # reflector's view: seq (highest-1-i) arrived
    ("highest", "<u4"),
])
RTP = struct.Struct("<IIIBBHq")
RTP_DTYPE = np.dtype([
    ("seq", "<u4"),          # RTP sequence number (16 bit; the analysis extends it)
    ("ts", "<u4"),           # RTP timestamp
    ("ssrc", "<u4"),
    ("pt", "u1"),
    ("dscp", "u1"),          # 255 unknown
    ("flags", "<u2"),        # 1 = marker
    ("rx_ns", "<i8"),        # our receive time (kernel)
])
FLUSH_BYTES = 16384
assert REPLY.size == REPLY_DTYPE.itemsize and RTP.size == RTP_DTYPE.itemsize

_sink = None          # (path, bytes) -> None: who appends to the files (set_sink), else the caller


def set_sink(sink) -> None:
    """Hand every append to `sink(path, data)` instead of writing in the calling thread (the media
    process gives them to its writer thread, so the engine never waits on the disk). The sink
    must append in the order it is given."""
    global _sink
    _sink = sink


def append(path: Path, data: bytes) -> None:
    with open(path, "ab") as fh:
        fh.write(data)


class TraceWriter:
    """Append-only file of fixed-size records, buffered; the file is opened only to flush."""

    __slots__ = ("path", "_buf", "records")

    def __init__(self, path: Path):
        self.path = Path(path)
        self._buf = bytearray()
        self.records = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_bytes(b"")

    def reply(self, seq: int, rseq: int, tx_ns: int, rrx_ns: int, rtx_ns: int, rx_ns: int, dscp_up: int,
              dscp_down: int, bitmap: int, highest: int, flags: int = 0) -> None:
        self._buf += REPLY.pack(seq, rseq, tx_ns, rrx_ns, rtx_ns, rx_ns, dscp_up & 0xFF, dscp_down & 0xFF,
                                flags, bitmap, highest)
        self.records += 1
        if len(self._buf) >= FLUSH_BYTES:
            self.flush()

    def rtp(self, seq: int, ts: int, ssrc: int, pt: int, dscp: int, marker: bool, rx_ns: int) -> None:
        self._buf += RTP.pack(seq, ts, ssrc, pt, dscp & 0xFF, 1 if marker else 0, rx_ns)
        self.records += 1
        if len(self._buf) >= FLUSH_BYTES:
            self.flush()

    def add(self, record: bytes) -> None:
        """One record already packed (REPLY or RTP): the shared port's hot path."""
        self._buf += record
        self.records += 1
        if len(self._buf) >= FLUSH_BYTES:
            self.flush()

    def write_records(self, data: bytes | bytearray | memoryview, size: int) -> None:
        """Append records packed elsewhere (the C path fills its own buffer) after our own."""
        self.flush()
        if len(data):
            (_sink or append)(self.path, bytes(data))
            self.records += len(data) // size

    def flush(self) -> None:
        if self._buf:
            (_sink or append)(self.path, bytes(self._buf))
            self._buf = bytearray()


def load(path: Path, dtype: np.dtype) -> np.ndarray:
    """All records of a trace file (an empty array if it has none)."""
    path = Path(path)
    if not path.exists() or os.path.getsize(path) == 0:
        return np.zeros(0, dtype=dtype)
    usable = os.path.getsize(path) // dtype.itemsize * dtype.itemsize
    return np.fromfile(path, dtype=dtype, count=usable // dtype.itemsize)
