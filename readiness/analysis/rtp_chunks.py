"""RFC 3550 stream statistics fed in chunks: `rtp_stats.RtpStreamAnalyser`'s numbers at numpy speed,
with memory that does not grow with the number of packets (long captures).

The state lives in a `RtpStreamAnalyser` (rfc3550 mode), so `result()` and `pop_intervals()` are its
own. Each chunk updates that state with array operations when no packet in it trips RFC 3550 A.1's
jump rules (more than MAX_DROPOUT ahead of, or MAX_MISORDER or more behind, the highest sequence
number) and none is older than the stream's first packet; such a chunk (rare) goes through the
analyser's own per-packet `add`. Either way the results are the analyser's: counts exactly,
floating-point values to rounding. The rules themselves are documented in `rtp_stats`.
"""

from __future__ import annotations

import numpy as np

from . import compiled
from .rtp_stats import MAX_DROPOUT, MAX_MISORDER, WINDOW, RtpStreamAnalyser
from .wireshark_chunks import smooth_jitter


def _window_bits(win: int) -> np.ndarray:
    """Bit i of the analyser's window (position max - i received) as a bool array of WINDOW entries."""
    raw = np.frombuffer(win.to_bytes((WINDOW + 7) // 8, "little"), dtype=np.uint8)
    return np.unpackbits(raw, bitorder="little")[:WINDOW].astype(bool)


def _window_int(bits: np.ndarray) -> int:
    return int.from_bytes(np.packbits(bits.astype(np.uint8), bitorder="little").tobytes(), "little")


MAX_SPAN_S = 86400.0     # per-interval summaries of a stream longer than a day: corrupt timestamps


class RtpChunks:
    """`feed(seq, ts, arrival_s, marker, pt)` chunks in arrival order; read `analyser.result()`.

    A capture with a damaged timestamp can put one packet years away; per-second summaries would then
    need millions of empty intervals. Past `max_span_s` they are dropped (`intervals_dropped`); the
    stream's totals are unaffected.
    """

    def __init__(self, analyser: RtpStreamAnalyser, max_span_s: float = MAX_SPAN_S):
        if analyser.jitter_mode != "rfc3550":
            raise ValueError("chunked feeding is for rfc3550 mode; use wireshark_chunks for Wireshark's rules")
        self.analyser = analyser
        self.max_span_s = max_span_s
        self.intervals_dropped = False

    def _guard_span(self, arrival_s: np.ndarray) -> None:
        a = self.analyser
        if not a._step or not len(arrival_s):
            return
        origin = a._origin if a._origin is not None else float(arrival_s[0])
        if float(arrival_s.max()) - origin > self.max_span_s or float(arrival_s.min()) < origin - self.max_span_s:
            a._step = 0.0
            a._cum = []
            self.intervals_dropped = True

    def feed(self, seq: np.ndarray, ts: np.ndarray, arrival_s: np.ndarray, marker: np.ndarray | None = None,
             pt: np.ndarray | None = None) -> None:
        a = self.analyser
        seq = np.asarray(seq, dtype=np.int64)
        ts = np.asarray(ts, dtype=np.int64)
        arrival_s = np.asarray(arrival_s, dtype=np.float64)
        self._guard_span(arrival_s)
        if compiled.available() and compiled.rfc3550_feed(a, seq, ts, arrival_s):   # a.add itself, in C
            return
        if len(seq) and a.packets == 0:
            a.add(int(seq[0]), int(ts[0]), float(arrival_s[0]))
            seq, ts, arrival_s = seq[1:], ts[1:], arrival_s[1:]
            marker = None if marker is None else marker[1:]
            pt = None if pt is None else pt[1:]
        if len(seq) == 0:
            return
        if not self._vectorised(seq, ts, arrival_s):
            mk = [False] * len(seq) if marker is None else np.asarray(marker, dtype=bool).tolist()
            pts = [None] * len(seq) if pt is None else np.asarray(pt).tolist()
            for s, t, r, m, p in zip(seq.tolist(), ts.tolist(), arrival_s.tolist(), mk, pts):
                a.add(s, t, r, m, p)

    def _vectorised(self, seq: np.ndarray, ts: np.ndarray, arrival: np.ndarray) -> bool:
        a = self.analyser
        n = len(seq)
        # --- sequence numbers: extended, relative to the running highest ----------------------------
        step = ((np.diff(np.concatenate(([a._max16], seq))) + 32768) & 0xFFFF) - 32768
        ext = a._max_ext + np.cumsum(step)
        runmax = np.maximum.accumulate(np.maximum(ext, a._max_ext))
        before = np.concatenate(([a._max_ext], runmax[:-1]))
        delta = ext - before
        if delta.max() >= MAX_DROPOUT or delta.min() <= -MAX_MISORDER or ext.min() < a._min_ext:
            return False
        lo, hi = a._max_ext - (WINDOW - 1), int(runmax[-1])
        seen = np.zeros(hi - lo + 1, dtype=bool)
        seen[:WINDOW] = _window_bits(a._win)[::-1]          # window bit i is position max - i
        rel = ext - lo
        first_idx = np.full(len(seen), -1, dtype=np.int64)
        first_idx[rel[::-1]] = np.arange(n - 1, -1, -1)
        is_first = (first_idx[rel] == np.arange(n)) & ~seen[rel]
        seen[rel] = True
        late = delta < 0
        fresh = int(np.count_nonzero(is_first))
        # --- losses final once they leave the window: positions up to new highest - WINDOW ------------
        done = hi - WINDOW - lo + 1                          # positions lo .. hi - WINDOW are final now
        if done > 0:
            lost = np.flatnonzero(~seen[:done]) + lo
            lost = lost[lost >= a._min_ext]
            if len(lost):
                breaks = np.flatnonzero(np.diff(lost) != 1) + 1
                starts = np.concatenate(([0], breaks))
                ends = np.concatenate((breaks, [len(lost)]))
                for s, e in zip(lost[starts].tolist(), (ends - starts).tolist()):
                    a._bursts.lost(s, e)
        # --- jitter (RFC 3550 A.8) and arrival gaps -----------------------------------------------------
        ts_step = ((np.diff(np.concatenate(([a._last_ts], ts))) + 0x80000000) & 0xFFFFFFFF) - 0x80000000
        ext_ts = a._ext_ts + np.cumsum(ts_step)
        gaps = np.diff(np.concatenate(([a._last_arrival], arrival)))
        jit = None
        if a._clock:
            transit = (arrival - a._t0) - ext_ts / a._clock
            d = np.abs(np.diff(np.concatenate(([a._last_transit], transit))))
            jit = smooth_jitter(d, a._jitter)
        # --- per-interval snapshots, taken before the packet that opens a new interval ----------------
        if a._step:
            self._intervals(arrival, ext, runmax, is_first, late, jit)
        # --- carry the state ------------------------------------------------------------------------
        a.packets += n
        a.received += fresh
        a.duplicates += n - fresh
        a.reordered += int(np.count_nonzero(is_first & late))
        a.sequence_errors += int(np.count_nonzero(delta != 1))
        a._max_ext, a._max16 = hi, hi & 0xFFFF
        a._win = _window_int(seen[len(seen) - WINDOW:][::-1])
        ahead = np.flatnonzero(delta > 0)
        if len(ahead):
            a._arr_max = float(arrival[ahead[-1]])
        a._ext_ts, a._last_ts = int(ext_ts[-1]), int(ts[-1])
        a._dsum += float(gaps.sum())
        a._dmin, a._dmax = min(a._dmin, float(gaps.min())), max(a._dmax, float(gaps.max()))
        a._last_arrival = float(arrival[-1])
        if jit is not None:
            a._jitter, a._last_transit = float(jit[-1]), float(transit[-1])
            a._jsum += float(jit.sum())
            a._jmin, a._jmax = min(a._jmin, float(jit.min())), max(a._jmax, float(jit.max()))
        return True

    def _intervals(self, arrival, ext, runmax, is_first, late, jit) -> None:
        a = self.analyser
        k = np.floor((arrival - a._origin) / a._step).astype(np.int64)
        k = np.maximum.accumulate(np.maximum(k, a._bin))
        opens = np.flatnonzero(np.diff(np.concatenate(([a._bin], k))) > 0)
        cum_packets = a.packets + np.arange(1, len(ext) + 1)
        cum_received = a.received + np.cumsum(is_first)
        cum_expected = a._prior_expected + runmax - a._min_ext + 1
        cum_late = a.reordered + np.cumsum(is_first & late)
        cum_dups = a.duplicates + np.cumsum(~is_first)      # stale packets are neither (rtp_stats)
        # per interval closed in this chunk (it closes at packet i, the next one's first): the totals
        # after packet i - 1, and the jitter maximum over its packets here (one reduceat for all)
        opened = opens.tolist()
        last = np.maximum(opens - 1, 0)
        snaps = np.stack([cum_packets[last], cum_received[last], cum_expected[last], cum_late[last],
                          cum_dups[last]], axis=1).tolist() if len(opens) else []
        bounds = np.concatenate(([0], opens))
        seg_max: list[float | None] = [None] * len(opens)
        if jit is not None and len(opens):
            peaks = np.maximum.reduceat(jit, bounds).tolist()     # [bounds[n], bounds[n + 1]); last: the rest
            for n in np.flatnonzero(bounds[1:] > bounds[:-1]).tolist():
                seg_max[n] = peaks[n]
        j_last = jit[last].tolist() if jit is not None and len(opens) else []
        k_list = k.tolist() if len(opens) else []
        prev = 0
        for n, i in enumerate(opened):
            snap = (a.packets, a.received, a._expected(), a.reordered, a.duplicates) if i == 0 else tuple(snaps[n])
            bin_max = a._bin_jmax
            if seg_max[n] is not None:
                bin_max = seg_max[n] if bin_max is None else max(bin_max, seg_max[n])
            j_now = a._jitter if (jit is None or i == 0) else j_last[n]
            jitter = (j_now * 1000.0, bin_max * 1000.0) if bin_max is not None else (None, None)
            a._cum.append(snap + jitter)
            empty = snap + (None, None)
            for _ in range(k_list[i] - (a._bin if i == 0 else k_list[i - 1]) - 1):
                a._cum.append(empty)
            a._bin_jmax = None
            prev = i
        a._bin = int(k[-1])
        if jit is not None and prev < len(jit):
            seg_max = float(jit[prev:].max())
            a._bin_jmax = seg_max if a._bin_jmax is None else max(a._bin_jmax, seg_max)
