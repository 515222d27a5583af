"""The per-stream rules in C (csrc/, module _stream_rules), through ctypes: Wireshark's RTP rules
(`WiresharkRtp.add`) and RFC 3550's statistics (`RtpStreamAnalyser` in rfc3550 mode) over a stream's arrays.

The numpy versions (wireshark_chunks, rtp_chunks) cost ~0.8 and ~0.6 ms per 5,000-packet stream in
dozens of array passes; each C loop runs the per-packet class's statements themselves, in ~0.05 ms,
with the same values to the last bit. The numpy versions stay for installs without a C compiler;
READINESS_ANALYSIS_PYTHON=1 selects them even when the module is built (tests compare them).
"""

from __future__ import annotations

import ctypes
import importlib.util
import os

import numpy as np

from .rtp_stats import RtpStreamAnalyser
from .wireshark_rtp import WiresharkRtp

INTS = ("total", "start_seq", "stop_seq", "seq_num", "first_ts", "pt", "under", "cycles", "errors", "jitter_seen",
        "has_min_delta", "has_min_jitter")
DOUBLES = ("time", "lastnom", "delta", "jitter", "min_delta", "max_delta", "mean_delta", "min_jitter", "max_jitter",
           "mean_jitter")
_NONE = -1            # payload type not known yet (WiresharkRtp.pt None)
RFC_INTS = ("packets", "received", "duplicates", "reordered", "stale", "resyncs", "sequence_errors", "_max16",
            "_max_ext", "_min_ext", "win_lo", "win_hi", "_bad_seq", "_prior_expected", "_last_ts", "_ext_ts", "_bin",
            "has_bin_jmax", "_first_seq", "has_origin")
RFC_DOUBLES = ("_t0", "_last_arrival", "_last_transit", "_jitter", "_jmin", "_jmax", "_jsum", "_dmin", "_dmax",
               "_dsum", "_arr_min", "_arr_max", "_origin", "_step", "_clock", "_bin_jmax")
_U64 = (1 << 64) - 1

_lib: ctypes.CDLL | None = None


def _load() -> None:
    global _lib
    if os.environ.get("READINESS_ANALYSIS_PYTHON"):
        return
    spec = importlib.util.find_spec("readiness.analysis._stream_rules")
    if spec is None or not spec.origin:
        return
    lib = ctypes.CDLL(spec.origin)
    lib.ws_counts.restype = ctypes.c_int
    lib.rfc_counts.restype = ctypes.c_int
    if lib.ws_counts() != len(INTS) * 100 + len(DOUBLES) or lib.rfc_counts() != len(RFC_INTS) * 100 + len(RFC_DOUBLES):
        return                                   # built from another version of the source: numpy path
    p, i64 = ctypes.c_void_p, ctypes.c_int64
    lib.ws_feed.argtypes = [p, p, i64, p, p, p, p, p, p, i64, p, p, p, p, p]
    lib.ws_feed.restype = None
    lib.rfc_feed.argtypes = [p, p, i64, p, p, p, p, i64, p, p, i64, p]
    lib.rfc_feed.restype = i64
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


def _ptr(x: np.ndarray) -> int:
    return x.ctypes.data


def wireshark_feed(w: WiresharkRtp, ticks: np.ndarray, ticks_none: int, seq: np.ndarray, ts: np.ndarray, t_ms: np.ndarray,
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
    _lib.ws_feed(_ptr(ints), _ptr(doubles), n, _ptr(seq), _ptr(ts), _ptr(t_ms), _ptr(marker), _ptr(pt), _ptr(ticks),
                 int(ticks_none), *map(_ptr, out))
    _put_state(w, ints, doubles)
    return out


def _s64(x: int) -> int:
    return x - (1 << 64) if x >= 1 << 63 else x


def rfc3550_feed(a: RtpStreamAnalyser, seq: np.ndarray, ts: np.ndarray, arrival_s: np.ndarray) -> bool:
    """`a.add` for every packet (rfc3550 mode). False, with `a` untouched, where the C loop cannot take
    the chunk (times that are not finite, outputs sized too small): the caller then runs Python's."""
    n = len(seq)
    arrival_s = np.ascontiguousarray(arrival_s, dtype=np.float64)
    if not n or not np.isfinite(arrival_s).all():
        return False
    seq, ts = (np.ascontiguousarray(x, dtype=np.int64) for x in (seq, ts))
    rows_cap = 0
    if a._step:
        origin = a._origin if a._origin is not None else float(arrival_s[0])
        rows_cap = max(int(np.floor((float(arrival_s.max()) - origin) / a._step)) - a._bin, 0) + 2
    ints = np.array([a.packets, a.received, a.duplicates, a.reordered, a.stale, a.resyncs, a.sequence_errors, a._max16,
                     a._max_ext, a._min_ext, _s64(a._win & _U64), _s64(a._win >> 64), a._bad_seq, a._prior_expected,
                     a._last_ts, a._ext_ts, a._bin, a._bin_jmax is not None,
                     a._first_seq if a._first_seq is not None else 0, a._origin is not None], dtype=np.int64)
    doubles = np.array([a._t0, a._last_arrival, a._last_transit, a._jitter, a._jmin, a._jmax, a._jsum, a._dmin,
                        a._dmax, a._dsum, a._arr_min, a._arr_max, a._origin or 0.0, a._step, a._clock,
                        a._bin_jmax or 0.0], dtype=np.float64)
    events = np.empty((2 * n + 16, 3), dtype=np.int64)
    rows = np.empty((rows_cap, 5), dtype=np.int64)
    rows_j = np.empty((rows_cap, 2), dtype=np.float64)
    n_rows = ctypes.c_int64()
    m = _lib.rfc_feed(_ptr(ints), _ptr(doubles), n, _ptr(seq), _ptr(ts), _ptr(arrival_s), _ptr(events), len(events),
                      _ptr(rows), _ptr(rows_j), rows_cap, ctypes.byref(n_rows))
    if m < 0:
        return False
    i, d = ints.tolist(), doubles.tolist()
    (a.packets, a.received, a.duplicates, a.reordered, a.stale, a.resyncs, a.sequence_errors, a._max16, a._max_ext,
     a._min_ext) = i[:10]
    a._win = (i[10] & _U64) | ((i[11] & _U64) << 64)
    a._bad_seq, a._prior_expected, a._last_ts, a._ext_ts, a._bin = i[12:17]
    a._first_seq = i[18] if a.packets else None
    (a._t0, a._last_arrival, a._last_transit, a._jitter, a._jmin, a._jmax, a._jsum, a._dmin, a._dmax, a._dsum,
     a._arr_min, a._arr_max) = d[:12]
    a._origin = d[12] if i[19] else None
    a._bin_jmax = d[15] if i[17] else None
    bursts = a._bursts
    for kind, x, y in events[:m].tolist():          # the burst counter's calls, in the loop's order
        if kind == 0:
            bursts.lost(x, y)
        else:
            bursts.end_segment(x)
    for row, (j, jmax) in zip(rows[:n_rows.value].tolist(), rows_j[:n_rows.value].tolist()):
        a._cum.append((*row, None if j != j else j, None if jmax != jmax else jmax))
    return True


_load()
