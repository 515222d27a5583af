"""Wireshark's RTP rules over arrays in C (csrc/wireshark_rtp.c, module _wireshark_rtp), through ctypes.

The numpy version (wireshark_chunks) costs ~0.8 ms per 5,000-packet stream in ~60 array passes; the C
loop runs `WiresharkRtp.add` itself, statement for statement, in ~0.05 ms, with the same values to the
last bit. wireshark_chunks keeps numpy for installs without a C compiler; READINESS_ANALYSIS_PYTHON=1
selects it even when the module is built (tests compare the two).
"""

from __future__ import annotations

import ctypes
import importlib.util
import os

import numpy as np

from .wireshark_rtp import WiresharkRtp

INTS = ("total", "start_seq", "stop_seq", "seq_num", "first_ts", "pt", "under", "cycles", "errors", "jitter_seen",
        "has_min_delta", "has_min_jitter")
DOUBLES = ("time", "lastnom", "delta", "jitter", "min_delta", "max_delta", "mean_delta", "min_jitter", "max_jitter",
           "mean_jitter")
_NONE = -1            # payload type not known yet (WiresharkRtp.pt None)

_lib: ctypes.CDLL | None = None


def _load() -> None:
    global _lib
    if os.environ.get("READINESS_ANALYSIS_PYTHON"):
        return
    spec = importlib.util.find_spec("readiness.analysis._wireshark_rtp")
    if spec is None or not spec.origin:
        return
    lib = ctypes.CDLL(spec.origin)
    lib.ws_counts.restype = ctypes.c_int
    if lib.ws_counts() != len(INTS) * 100 + len(DOUBLES):
        return                                   # built from another version of the source: numpy path
    p, i64 = ctypes.c_void_p, ctypes.c_int64
    lib.ws_feed.argtypes = [p, p, i64, p, p, p, p, p, p, i64, p, p, p, p, p]
    lib.ws_feed.restype = None
    _lib = lib


def available() -> bool:
    return _lib is not None


def _state(w: WiresharkRtp) -> tuple[np.ndarray, np.ndarray]:
    if w.total == 0:
        ints = np.zeros(len(INTS), dtype=np.int64)
        ints[INTS.index("pt")] = _NONE
    else:
        ints = np.array([w.total, w.start_seq, w.stop_seq, w.seq_num, w.first_ts, _NONE if w.pt is None else w.pt,
                         w.under, w.cycles, w.errors, w.jitter_seen, w.min_delta is not None,
                         w.min_jitter is not None], dtype=np.int64)
    doubles = np.array([getattr(w, k, 0.0) if k not in ("min_delta", "min_jitter") else (getattr(w, k) or 0.0)
                        for k in DOUBLES], dtype=np.float64)
    return ints, doubles


def _put_state(w: WiresharkRtp, ints: np.ndarray, doubles: np.ndarray) -> None:
    i, d = ints.tolist(), doubles.tolist()
    w.total, w.start_seq, w.stop_seq, w.seq_num, w.first_ts = i[0], i[1], i[2], i[3], i[4]
    w.pt = None if i[5] == _NONE else i[5]
    w.under, w.cycles, w.errors, w.jitter_seen = bool(i[6]), i[7], i[8], bool(i[9])
    w.time, w.lastnom, w.delta, w.jitter = d[0], d[1], d[2], d[3]
    w.min_delta = d[4] if i[10] else None
    w.max_delta, w.mean_delta = d[5], d[6]
    w.min_jitter = d[7] if i[11] else None
    w.max_jitter, w.mean_jitter = d[8], d[9]


def feed(w: WiresharkRtp, ticks: np.ndarray, ticks_none: int, seq: np.ndarray, ts: np.ndarray, t_ms: np.ndarray,
         marker: np.ndarray, pt: np.ndarray) -> tuple[np.ndarray, ...]:
    """`w.add` for every packet; per packet after it: (jitter ms, seen, delta ms, regular, jitter counted).
    `ticks`: ticks per ms of payload types 0..127 (int64); `ticks_none`: of packets with pt -1."""
    n = len(seq)
    seq, ts = (np.ascontiguousarray(a, dtype=np.int64) for a in (seq, ts))
    t_ms = np.ascontiguousarray(t_ms, dtype=np.float64)
    marker = np.ascontiguousarray(marker, dtype=np.bool_)
    pt = np.ascontiguousarray(pt, dtype=np.int64)
    ticks = np.ascontiguousarray(ticks, dtype=np.int64)
    ints, doubles = _state(w)
    out = (np.empty(n), np.empty(n, dtype=np.bool_), np.empty(n), np.empty(n, dtype=np.bool_),
           np.empty(n, dtype=np.bool_))
    a = lambda x: x.ctypes.data  # noqa: E731
    _lib.ws_feed(a(ints), a(doubles), n, a(seq), a(ts), a(t_ms), a(marker), a(pt), a(ticks), int(ticks_none),
                 *map(a, out))
    _put_state(w, ints, doubles)
    return out


_load()
