"""Per-stream RTP statistics from numpy arrays: the bulk view of `rtp_stats.RtpStreamAnalyser`.

For offline captures of millions of packets. Every rule is the one documented in `rtp_stats`
(RFC 3550 A.1/A.8, Wireshark mode, RFC 3611 bursts, per-interval summaries); the numbers are the
same as feeding the packets one by one (counts exactly, floating-point values to rounding).

Fast path: vectorised when no packet trips RFC 3550 A.1's jump rules (more than MAX_DROPOUT ahead
or MAX_MISORDER behind the highest sequence number), which is every ordinary stream. A stream that
does (a restarted source, a packet seconds late) is replayed through the live analyser, so the two
views cannot drift apart on the rare paths.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
from scipy.signal import lfilter   # the RFC 3550 1/16 filter in one pass: J_i = D_i/16 + 15/16 J_(i-1)

from .intervals import IntervalStats
from .loss_bursts import GMIN, BurstTotals, bursts_from_positions
from .rtp_stats import MAX_DROPOUT, MAX_MISORDER, RtpStreamAnalyser, StreamStats, _check_mode
from .wireshark_chunks import WiresharkChunks

ClockRate = int | Mapping[int, int] | None


def _replay(seq, ts, arrival, marker, payload_type, **kw) -> StreamStats:
    a = RtpStreamAnalyser(**kw)
    mk = marker.tolist() if marker is not None else [False] * len(seq)
    pts = payload_type.tolist() if payload_type is not None else [None] * len(seq)
    for s, t, r, m, p in zip(seq.tolist(), ts.tolist(), arrival.tolist(), mk, pts):
        a.add(s, t, r, bool(m), p)
    return a.result()


def analyse_arrays(seq, ts, arrival, marker=None, payload_type=None, *, clock_rate: ClockRate,
                   jitter_mode: str = "rfc3550", gmin: int = GMIN, interval_s: float | None = None,
                   origin: float | None = None) -> StreamStats:
    """One stream (one SSRC), packets in arrival order: seq (16-bit), ts (32-bit RTP timestamp),
    arrival (epoch seconds, float64), optional marker (bool) and payload_type (int) arrays."""
    _check_mode(jitter_mode, clock_rate)
    kw = dict(clock_rate=clock_rate, jitter_mode=jitter_mode, gmin=gmin, interval_s=interval_s, origin=origin)
    seq = np.asarray(seq, dtype=np.int64)
    ts = np.asarray(ts, dtype=np.int64)
    arrival = np.asarray(arrival, dtype=np.float64)
    marker = None if marker is None else np.asarray(marker, dtype=bool)
    payload_type = None if payload_type is None else np.asarray(payload_type, dtype=np.int64)
    n = len(seq)
    if n < 2:
        return _replay(seq, ts, arrival, marker, payload_type, **kw)

    # --- sequence numbers: extend, check A.1 jump rules ------------------------------------------
    first = int(seq[0])
    ext = np.empty(n, dtype=np.int64)
    ext[0] = first
    np.cumsum(((np.diff(seq) + 32768) & 0xFFFF) - 32768, out=ext[1:])
    ext[1:] += first
    run_max = np.maximum.accumulate(ext)
    delta = ext[1:] - run_max[:-1]
    if delta.max() >= MAX_DROPOUT or delta.min() <= -MAX_MISORDER:
        return _replay(seq, ts, arrival, marker, payload_type, **kw)
    lo = int(ext.min())
    hi = int(run_max[-1])
    span = hi - lo + 1
    rel = ext - lo
    seen = np.zeros(span, dtype=bool)
    # first occurrence of each sequence number: reversed assignment leaves the earliest index
    first_idx = np.full(span, -1, dtype=np.int64)
    first_idx[rel[::-1]] = np.arange(n - 1, -1, -1)
    seen[rel] = True
    is_first = np.zeros(n, dtype=bool)
    is_first[first_idx[seen]] = True
    received = int(np.count_nonzero(seen))
    duplicates = n - received
    late = np.zeros(n, dtype=bool)
    late[1:] = delta < 0
    reordered_mask = late & is_first
    reordered = int(np.count_nonzero(reordered_mask))
    sequence_errors = int(np.count_nonzero(delta != 1))
    totals = bursts_from_positions(np.flatnonzero(~seen) + lo, span, BurstTotals(gmin=gmin))
    arr_min = arrival[first_idx[0]]
    arr_max = arrival[first_idx[hi - lo]]
    interval_ms = (arr_max - arr_min) / (hi - lo) * 1000.0 if hi > lo else None

    # --- jitter and delta ------------------------------------------------------------------------
    ws = None
    if jitter_mode == "wireshark":
        chunks = WiresharkChunks(clock_rate)
        jit_ms, jit_seen = chunks.feed(seq, ts, (arrival - arrival[0]) * 1000.0, marker, payload_type, per_packet=True)
        ws = chunks.summary()
        per_packet_jitter = np.where(jit_seen, jit_ms / 1000.0, np.nan)
        j_last, jmin, jmean, jmax = ws.jitter_last_ms, ws.jitter_min_ms, ws.jitter_mean_ms, ws.jitter_max_ms
        dmin, dmean, dmax = ws.delta_min_ms, ws.delta_mean_ms, ws.delta_max_ms
    else:
        gaps = np.diff(arrival)
        dmin, dmean, dmax = float(gaps.min()) * 1000.0, float(gaps.sum()) / (n - 1) * 1000.0, float(gaps.max()) * 1000.0
        if clock_rate:
            ext_ts = np.empty(n, dtype=np.int64)
            ext_ts[0] = 0
            np.cumsum(((np.diff(ts) + 0x80000000) & 0xFFFFFFFF) - 0x80000000, out=ext_ts[1:])
            transit = (arrival - arrival[0]) - ext_ts / float(clock_rate)
            jit = lfilter([0.0625], [1.0, -0.9375], np.abs(np.diff(transit)))     # RFC 3550 A.8
            per_packet_jitter = np.concatenate(([0.0], jit))
            j_last = float(jit[-1]) * 1000.0
            jmin, jmean, jmax = float(jit.min()) * 1000.0, float(jit.sum()) / (n - 1) * 1000.0, float(jit.max()) * 1000.0
        else:
            per_packet_jitter = None
            j_last = jmin = jmean = jmax = None

    intervals = None
    if interval_s:
        intervals = _intervals(arrival, ext, is_first, reordered_mask, per_packet_jitter, interval_s,
                               origin if origin is not None else float(arrival[0]))
    expected = span
    lost = expected - received
    return StreamStats(
        jitter_mode=jitter_mode, clock_rate=clock_rate if isinstance(clock_rate, int) else None,
        packets=n, received=received, expected=expected, lost=lost, duplicates=duplicates, reordered=reordered,
        stale=0, resyncs=0, sequence_errors=sequence_errors, first_seq=first, highest_seq=hi, seq_cycles=hi >> 16,
        loss_pct=100.0 * lost / expected, duplicate_pct=100.0 * duplicates / n, reorder_pct=100.0 * reordered / n,
        jitter_ms=j_last, jitter_min_ms=jmin, jitter_mean_ms=jmean, jitter_max_ms=jmax,
        delta_min_ms=dmin, delta_mean_ms=dmean, delta_max_ms=dmax,
        first_arrival=float(arrival[0]), last_arrival=float(arrival[-1]),
        bursts=totals.finish(interval_ms), intervals=intervals, wireshark=ws)


def _intervals(arrival, ext, is_first, reordered_mask, jitter_s, step, origin) -> IntervalStats:
    """Running totals at each interval's end, exactly as the live analyser records them."""
    k = np.floor((arrival - origin) / step).astype(np.int64)
    k = np.maximum.accumulate(np.maximum(k, 0))
    nbins = int(k[-1]) + 1
    last = np.searchsorted(k, np.arange(nbins), side="right") - 1        # last packet at or before each end
    has = np.zeros(nbins, dtype=bool)
    has[k] = True
    n = len(arrival)
    cum_packets = np.arange(1, n + 1)
    cum_received = np.cumsum(is_first)
    cum_expected = np.maximum.accumulate(ext) - np.minimum.accumulate(ext) + 1
    cum_late = np.cumsum(reordered_mask)
    cum_dups = cum_packets - cum_received

    def at(cum):
        return np.where(last >= 0, cum[np.maximum(last, 0)], 0).tolist()

    j_end: list[float | None] = [None] * nbins
    j_max: list[float | None] = [None] * nbins
    if jitter_s is not None:
        starts = np.searchsorted(k, np.arange(nbins), side="left")
        for b in np.flatnonzero(has).tolist():
            seg = jitter_s[starts[b]:last[b] + 1]
            seg = seg[~np.isnan(seg)]
            if len(seg):
                j_end[b] = float(jitter_s[last[b]]) * 1000.0
                j_max[b] = float(seg.max()) * 1000.0
    return IntervalStats.from_cumulative(origin, step, at(cum_packets), at(cum_received), at(cum_expected),
                                         at(cum_late), at(cum_dups), j_end, j_max)


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
