"""Per-stream RTP statistics from numpy arrays: the bulk view of `rtp_stats.RtpStreamAnalyser`.

For offline captures. The arrays go through the same vectorised engines that feed long captures
chunk by chunk (`rtp_chunks.RtpChunks` for sequence, loss, bursts, RFC 3550 jitter and intervals;
`wireshark_chunks.WiresharkChunks` for Wireshark's rules), which carry the live analyser's own state
and fall back to its per-packet `add` where RFC 3550 A.1's jump rules make a chunk irregular. So the
numbers are the live analyser's: counts exactly, floating-point values to rounding (a property test
holds them equal).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Mapping

import numpy as np

from .intervals import IntervalStats
from .loss_bursts import GMIN
from .rtp_chunks import RtpChunks
from .rtp_stats import RtpStreamAnalyser, StreamStats, _check_mode
from .wireshark_chunks import WiresharkChunks

ClockRate = int | Mapping[int, int] | None


def analyse_arrays(seq, ts, arrival, marker=None, payload_type=None, *, clock_rate: ClockRate,
                   jitter_mode: str = "rfc3550", gmin: int = GMIN, interval_s: float | None = None,
                   origin: float | None = None) -> StreamStats:
    """One stream (one SSRC), packets in arrival order: seq (16-bit), ts (32-bit RTP timestamp),
    arrival (epoch seconds, float64), optional marker (bool) and payload_type (int) arrays."""
    _check_mode(jitter_mode, clock_rate)
    seq = np.asarray(seq, dtype=np.int64)
    ts = np.asarray(ts, dtype=np.int64)
    arrival = np.asarray(arrival, dtype=np.float64)
    marker = None if marker is None else np.asarray(marker, dtype=bool)
    payload_type = None if payload_type is None else np.asarray(payload_type, dtype=np.int64)
    wireshark = jitter_mode == "wireshark"
    # counting (and RFC 3550 jitter unless Wireshark's rules are asked for)
    a = RtpStreamAnalyser(None if wireshark else clock_rate, "rfc3550", gmin, interval_s, origin)
    RtpChunks(a).feed(seq, ts, arrival, marker, payload_type)
    stats = a.result()
    if not wireshark or len(seq) == 0:
        return stats
    chunks = WiresharkChunks(clock_rate)
    values = chunks.feed(seq, ts, (arrival - arrival[0]) * 1000.0, marker, payload_type, per_packet=True)
    ws = chunks.summary()
    intervals = stats.intervals
    if intervals is not None:
        intervals = _wireshark_interval_jitter(intervals, arrival, values.jitter_ms / 1000.0, values.seen)
    return replace(stats, jitter_mode="wireshark", clock_rate=clock_rate if isinstance(clock_rate, int) else None,
                   jitter_ms=ws.jitter_last_ms, jitter_min_ms=ws.jitter_min_ms, jitter_mean_ms=ws.jitter_mean_ms,
                   jitter_max_ms=ws.jitter_max_ms, delta_min_ms=ws.delta_min_ms, delta_mean_ms=ws.delta_mean_ms,
                   delta_max_ms=ws.delta_max_ms, intervals=intervals, wireshark=ws)


def _wireshark_interval_jitter(iv: IntervalStats, arrival: np.ndarray, jitter_s: np.ndarray,
                               seen: np.ndarray) -> IntervalStats:
    """Interval jitter under Wireshark's rules: after the interval's last packet, and the maximum,
    over packets that had a jitter by then (as the live analyser records them)."""
    k = np.floor((arrival - iv.origin) / iv.step_s).astype(np.int64)
    k = np.maximum.accumulate(np.maximum(k, 0))
    j_end: list[float | None] = [None] * len(iv)
    j_max: list[float | None] = [None] * len(iv)
    bins = k[seen]
    values = jitter_s[seen]
    if len(bins):
        starts = np.flatnonzero(np.diff(np.concatenate(([-1], bins))) != 0)
        ends = np.concatenate((starts[1:], [len(bins)])) - 1
        maxima = np.maximum.reduceat(values, starts)
        for b, e, m in zip(bins[starts].tolist(), ends.tolist(), maxima.tolist()):
            j_end[b] = float(values[e]) * 1000.0
            j_max[b] = m * 1000.0
    return replace(iv, jitter_ms=j_end, jitter_max_ms=j_max)


def analyse_streams(stream_id, seq, ts, arrival, marker=None, payload_type=None, *,
                    clock_rate: ClockRate | Mapping[int, ClockRate] = None, per_stream_clock: bool = False,
                    jitter_mode: str = "rfc3550", gmin: int = GMIN, interval_s: float | None = None,
                    origin: float | None = None) -> dict[int, StreamStats]:
    """Many streams in one set of arrays (a whole capture): `stream_id` labels each packet's stream
    (SSRC, or an index of (5-tuple, SSRC) the caller built). Packets in arrival order.

    clock_rate: one value for every stream, or with per_stream_clock=True a mapping stream id ->
    clock rate (int, payload-type mapping, or None).
    """
    stream_id = np.asarray(stream_id)
    order = np.argsort(stream_id, kind="stable")          # stable: arrival order kept inside a stream
    sid = stream_id[order]
    cuts = np.flatnonzero(np.diff(sid)) + 1
    starts = np.concatenate(([0], cuts))
    ends = np.concatenate((cuts, [len(sid)]))

    def take(a):
        return None if a is None else np.asarray(a)[order]

    seq_s, ts_s, arr_s, mk_s, pt_s = take(seq), take(ts), take(arrival), take(marker), take(payload_type)
    out: dict[int, StreamStats] = {}
    for a, b in zip(starts.tolist(), ends.tolist()):
        key = sid[a].item()
        rate = clock_rate.get(key) if per_stream_clock else clock_rate
        out[key] = analyse_arrays(seq_s[a:b], ts_s[a:b], arr_s[a:b], None if mk_s is None else mk_s[a:b],
                                  None if pt_s is None else pt_s[a:b], clock_rate=rate, jitter_mode=jitter_mode,
                                  gmin=gmin, interval_s=interval_s, origin=origin)
    return out
