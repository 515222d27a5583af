"""The capture's per-packet loops in C (csrc/capture_decode.c, module _capture_decode), through ctypes.

Walking records and decoding headers in numpy takes ~20 array passes per field group over each
16 MiB chunk (0.45 s of 1.7 s for a million packets); one C pass over the same bytes takes ~0.03 s.
pcap.py and layers.py keep the numpy version as the reference and for installs without a C compiler.
READINESS_CAPTURE_PYTHON=1 selects it even when the module is built (tests compare the two).
"""

from __future__ import annotations

import ctypes
import importlib.util
import os

import numpy as np

_lib: ctypes.CDLL | None = None
FIELDS = ("linktype_ok", "ethertype", "mac_src", "vlan", "pcp", "outer_vlan", "l2", "ipver", "src_hi", "src_lo",
          "dst_hi", "dst_lo", "dscp", "proto", "fragment", "frag_l4", "sport", "dport", "pay", "paylen",
          "paylen_wire")
DTYPES = (np.bool_, np.int32, np.uint64, np.int32, np.int16, np.int32, np.int64, np.int8, np.uint64, np.uint64,
          np.uint64, np.uint64, np.int16, np.int16, np.bool_, np.int64, np.int32, np.int32, np.int64, np.int64,
          np.int64)


def _load() -> None:
    global _lib
    if os.environ.get("READINESS_CAPTURE_PYTHON"):
        return
    spec = importlib.util.find_spec("readiness.probes.capture._capture_decode")
    if spec is None or not spec.origin:
        return
    lib = ctypes.CDLL(spec.origin)
    p, i, i64 = ctypes.c_void_p, ctypes.c_int, ctypes.c_int64
    lib.cd_fields.restype = i
    if lib.cd_fields() != len(FIELDS):
        return                                   # built from another version of the source: numpy path
    lib.cd_pcap.argtypes = [p, i64, i64, i, i64, i64, i64, p, p, p, p, p, p]
    lib.cd_pcap.restype = i64
    lib.cd_epb.argtypes = [p, i64, i64, i, i64, i64, i64, p, p, p, p, p, p]
    lib.cd_epb.restype = i64
    lib.cd_layers.argtypes = [p, i64, i64, p, p, p, p]
    lib.cd_layers.restype = None
    lib.cd_rtp.argtypes = [p, i64, p, p, p, i64, p, p]
    lib.cd_rtp.restype = i64
    lib.cd_streams.argtypes = [i64, p, p, p, p, p, p]
    lib.cd_streams.restype = i64
    _lib = lib


def available() -> bool:
    return _lib is not None


def _addr(a: np.ndarray) -> int:
    return a.ctypes.data


def pcap_records(arr: np.ndarray, off: int, big: bool, limit: int, ns_per_unit: int):
    """pcap records of the chunk from `off`: ((offset, caplen, origlen, ts_ns) arrays, next offset,
    offset of a record claiming more than `limit` bytes or -1)."""
    cap = max((len(arr) - off) // 16 + 1, 1)
    cols = [np.empty(cap, dtype=np.int64) for _ in range(4)]
    nxt, corrupt = ctypes.c_int64(), ctypes.c_int64()
    n = _lib.cd_pcap(_addr(arr), len(arr), off, int(big), limit, ns_per_unit, cap, *map(_addr, cols),
                     ctypes.byref(nxt), ctypes.byref(corrupt))
    return [c[:n].copy() for c in cols], nxt.value, corrupt.value


def epb_run(arr: np.ndarray, off: int, big: bool, interfaces: int, max_block: int):
    """Consecutive consistent Enhanced Packet Blocks from `off`: ((data offset, caplen, origlen, interface,
    raw time stamp) arrays, next offset). No blocks when the one at `off` needs pcap.py's own reading."""
    cap = max((len(arr) - off) // 32 + 1, 1)
    cols = [np.empty(cap, dtype=np.int64) for _ in range(5)]
    nxt = ctypes.c_int64()
    n = _lib.cd_epb(_addr(arr), len(arr), off, int(big), interfaces, max_block, cap, *map(_addr, cols),
                    ctypes.byref(nxt))
    return [c[:n].copy() for c in cols], nxt.value


def layers(buf: np.ndarray, off: np.ndarray, caplen: np.ndarray, linktype: np.ndarray) -> dict[str, np.ndarray]:
    """The Layers columns of a batch (layers.decode's fields, same values)."""
    n = len(off)
    cols = [np.empty(n, dtype=t) for t in DTYPES]
    ptrs = (ctypes.c_void_p * len(cols))(*map(_addr, cols))
    off = np.ascontiguousarray(off, dtype=np.int64)
    caplen = np.ascontiguousarray(caplen, dtype=np.int64)
    linktype = np.ascontiguousarray(linktype, dtype=np.int32)
    _lib.cd_layers(_addr(buf), len(buf), n, _addr(off), _addr(caplen), _addr(linktype), ptrs)
    return dict(zip(FIELDS, cols))


RTP_FIELDS = ("rows", "ssrc", "seq", "ts", "pt", "marker", "header_len", "announced")
RTP_DTYPES = (np.int64, np.int64, np.int64, np.int64, np.int16, np.bool_, np.int64, np.bool_)


def rtp(buf: np.ndarray, lay, exclude: np.ndarray, keys: np.ndarray, other_port: np.ndarray) -> dict[str, np.ndarray]:
    """rtp_detect.detect()'s fields of the batch whose Layers are `lay`."""
    n = lay.n
    cols = [getattr(lay, f) for f in FIELDS]
    ptrs = (ctypes.c_void_p * len(cols))(*map(_addr, cols))
    out = [np.empty(n, dtype=t) for t in RTP_DTYPES]
    optrs = (ctypes.c_void_p * len(out))(*map(_addr, out))
    exclude = np.ascontiguousarray(exclude, dtype=np.bool_)
    keys = np.ascontiguousarray(keys, dtype=np.uint64)
    m = _lib.cd_rtp(_addr(buf), n, ptrs, _addr(exclude), _addr(keys), len(keys), _addr(other_port), optrs)
    return {k: c[:m] for k, c in zip(RTP_FIELDS, out)}


def streams(lay, rows: np.ndarray, ssrc: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """RTP rows split by stream key as streams.StreamTable splits them: (order: positions into `rows`
    sorted by stream, arrival order kept; group: stream number of each sorted row; starts of each
    stream). None where the C side had no memory (the numpy path then splits)."""
    m = len(rows)
    cols = [getattr(lay, f) for f in FIELDS]
    ptrs = (ctypes.c_void_p * len(cols))(*map(_addr, cols))
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    ssrc = np.ascontiguousarray(ssrc, dtype=np.int64)
    order, group, starts = (np.empty(max(m, 1), dtype=np.int64) for _ in range(3))
    g = _lib.cd_streams(m, _addr(rows), ptrs, _addr(ssrc), _addr(order), _addr(group), _addr(starts))
    if g < 0:
        return None
    return order[:m], group[:m], starts[:g]


_load()
