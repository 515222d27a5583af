"""Wireshark-compatible RTP stream analysis fed in chunks, for captures too long to hold in memory.

Same rules and same numbers as `wireshark_rtp.WiresharkRtp` (which holds the state between chunks and
documents the rules); each chunk is computed with numpy from that state, so a 6-million-packet
capture costs a few array operations per stream per chunk and memory that does not grow with it.
A chunk whose sequence numbers the vectorised state cannot follow exactly (late packets across a
wrap) is run through `WiresharkRtp.add` packet by packet instead: slower, never different.
"""

from __future__ import annotations

from typing import Mapping, NamedTuple

import numpy as np

from . import compiled
from .wireshark_rtp import CN_PAYLOAD_TYPES, WiresharkRtp, WiresharkSummary, _last_index, _rate_of

FILTER_GAIN = 0.0625          # RFC 3550 6.4.1: J += (|D| - J) / 16
FILTER_KEEP = 1.0 - FILTER_GAIN


# smooth_jitter works in blocks: inside a block the recurrence is a lower-triangular matrix product,
# between blocks one scalar carries. This replaces scipy.signal.lfilter, whose import alone took
# 0.7-1.1 s of a `readiness analyze` meant to take about one second for a million packets.
_BLOCK = 128
_AGE = np.subtract.outer(np.arange(_BLOCK), np.arange(_BLOCK))
_SPREAD = np.where(_AGE >= 0, FILTER_GAIN * FILTER_KEEP ** np.maximum(_AGE, 0), 0.0).T   # diff i -> J k
_DECAY = FILTER_KEEP ** np.arange(1, _BLOCK + 1)                                      # j0 -> J k
_DECAY_BLOCK = float(FILTER_KEEP ** _BLOCK)


def smooth_jitter(diff: np.ndarray, j0: float) -> np.ndarray:
    """J_k = 15/16 J_(k-1) + diff_k / 16 from J_(-1) = j0, for every k, without a per-packet loop.

    The same recurrence `WiresharkRtp.add` runs, summed in another order: chunked and per-packet
    agree to the last bits (about 1e-15 ms, as lfilter did).
    """
    n = len(diff)
    if n == 0:
        return np.zeros(0)
    blocks = -(-n // _BLOCK)
    padded = np.zeros(blocks * _BLOCK)
    padded[:n] = diff
    zero_start = padded.reshape(blocks, _BLOCK) @ _SPREAD      # each block as if J before it were 0
    carry = np.empty(blocks)
    state = float(j0)
    for b, last in enumerate(zero_start[:, -1].tolist()):
        carry[b] = state
        state = last + _DECAY_BLOCK * state
    return (zero_start + np.outer(carry, _DECAY)).ravel()[:n]


def _compose_mean(mean0: float, x: np.ndarray, n: np.ndarray) -> float:
    """Wireshark's running mean m = (m (n-1) + x) / n continued from m0 over values x at counts n."""
    factors = (n - 1.0) / n
    suffix = np.ones_like(factors)
    if len(factors) > 1:
        suffix[:-1] = np.cumprod(factors[:0:-1])[::-1]
    return float(mean0 * np.prod(factors) + np.sum(x / n * suffix))


class PacketValues(NamedTuple):
    """Per packet of one `feed`: Wireshark's jitter and delta (ms) after it, and which of them its
    statistics count (per-interval series need the same choice as the totals)."""

    jitter_ms: np.ndarray
    seen: np.ndarray              # a jitter had been computed by then
    delta_ms: np.ndarray
    regular: np.ndarray           # counted in min/mean/max delta
    jitter_counted: np.ndarray    # counted in min/mean/max jitter (regular, with a clock)


class WiresharkChunks:
    """`feed(seq, ts, t_ms, marker, pt)` any number of times (arrival order), then `summary()`."""

    def __init__(self, clock_rate: int | Mapping[int, int] | None):
        self.state = WiresharkRtp(clock_rate)
        self.clock_rate = clock_rate
        # ticks per ms of every payload type, looked up once (a mapping is fixed for the stream)
        rates = ([int(clock_rate.get(p, 0)) for p in range(128)] if isinstance(clock_rate, Mapping)
                 else [_rate_of(clock_rate, None)] * 128)
        self._ticks = np.array(rates, dtype=np.int64) // 1000
        self._ticks_none = 0 if isinstance(clock_rate, Mapping) else _rate_of(clock_rate, None) // 1000

    def summary(self) -> WiresharkSummary:
        return self.state.summary()

    def feed(self, seq: np.ndarray, ts: np.ndarray, t_ms: np.ndarray, marker: np.ndarray | None = None,
             pt: np.ndarray | None = None, per_packet: bool = False) -> PacketValues | None:
        """Add packets (arrival order, t_ms = ms since the stream's first packet).

        per_packet=True also returns each packet's values (`PacketValues`) for per-interval summaries.
        """
        w = self.state
        m = len(seq)
        marker = np.zeros(m, dtype=bool) if marker is None else np.asarray(marker, dtype=bool)
        pt = np.full(m, -1, dtype=np.int64) if pt is None else np.asarray(pt, dtype=np.int64)
        if compiled.available():        # WiresharkRtp.add itself, in C
            values = compiled.wireshark_feed(w, self._ticks, self._ticks_none, seq, ts, t_ms, marker, pt)
            return PacketValues(*values) if per_packet else None
        out = PacketValues(np.zeros(m), np.zeros(m, dtype=bool), np.zeros(m), np.zeros(m, dtype=bool),
                           np.zeros(m, dtype=bool))
        if m and w.total == 0:                   # the first packet only sets the state
            w.add(int(seq[0]), int(ts[0]), float(t_ms[0]), bool(marker[0]), int(pt[0]))
            seq, ts, t_ms, marker, pt = seq[1:], ts[1:], t_ms[1:], marker[1:], pt[1:]
        if len(seq):
            done = self._vectorised(np.asarray(seq, dtype=np.int64), np.asarray(ts, dtype=np.int64),
                                    np.asarray(t_ms, dtype=np.float64), marker, pt)
            if done is None:
                done = self._loop(seq, ts, t_ms, marker, pt)
            for column, values in zip(out, done):
                column[m - len(seq):] = values
        return out if per_packet else None

    def _loop(self, seq, ts, t_ms, marker, pt) -> PacketValues:
        w = self.state
        n = len(seq)
        out = PacketValues(np.zeros(n), np.zeros(n, dtype=bool), np.zeros(n), np.zeros(n, dtype=bool),
                           np.zeros(n, dtype=bool))
        for i, (s, t, a, mk, p) in enumerate(zip(seq.tolist(), ts.tolist(), t_ms.tolist(), marker.tolist(),
                                                 pt.tolist())):
            # WiresharkRtp.add's own rule for a packet its statistics count, read before it moves on
            regular = (((t - w.first_ts) & 0xFFFFFFFF) < 0x80000000 and not mk and p not in CN_PAYLOAD_TYPES
                       and w.pt not in CN_PAYLOAD_TYPES)
            w.add(s, t, a, bool(mk), p)
            out.jitter_ms[i], out.seen[i], out.delta_ms[i] = w.jitter, w.jitter_seen, w.delta
            out.regular[i] = regular
            out.jitter_counted[i] = regular and _rate_of(self.clock_rate, p) // 1000 > 0
        return out

    def _vectorised(self, seq, ts, t_ms, marker, pt) -> PacketValues | None:
        w = self.state
        m = len(seq)
        nominal_ticks = (ts - w.first_ts) & 0xFFFFFFFF
        intime = nominal_ticks < 0x80000000

        # sequence cycles: the `under` flag of tap-rtp-analysis.c, as a sequence of set/reset events
        prev_stop = np.concatenate(([w.stop_seq], seq[:-1]))
        set_ev = intime & ((seq < w.start_seq) | ((seq == 0) & (prev_stop == 65535)))
        reset_ev = intime & (seq > w.start_seq)
        events = np.where(set_ev, 1, np.where(reset_ev, 2, 0))
        events = events[events != 0]
        cycles = w.cycles
        under = w.under
        if len(events):
            before = np.concatenate(([1 if under else 2], events[:-1]))
            cycles += int(np.count_nonzero((events == 1) & (before != 1)))
            under = bool(events[-1] == 1)

        # in-order state (seq_num) and sequence errors; bail out where the unwrapped guess is not exact
        base = int(w.seq_num)
        step = ((np.diff(np.concatenate(([base], seq))) + 32768) & 0xFFFF) - 32768
        unwrapped = base + np.cumsum(step)
        state = np.maximum.accumulate(np.where(intime, unwrapped, np.iinfo(np.int64).min))
        state = np.maximum(state, base)
        state_before = np.concatenate(([base], state[:-1]))
        s = state_before & 0xFFFF
        a = intime & ((s + 1 == seq) | ((s == 65535) & (seq == 0)))
        c = intime & ~a & ((s + 1 < seq) | (s - seq > 0xFF00))
        if not np.array_equal(a | c, intime & (unwrapped > state_before)):
            return None
        errors = int(np.count_nonzero(c) + np.count_nonzero(~a & ~c & (s + 1 > seq)))

        # per-packet clock, delta and jitter
        if isinstance(self.clock_rate, Mapping):
            # self._ticks: the mapping's ticks per ms for every payload type, built once in __init__
            ticks_per_ms = np.where(pt >= 0, self._ticks[pt & 127], 0)      # pt -1: not given
        else:
            ticks_per_ms = np.full(m, _rate_of(self.clock_rate, None) // 1000, dtype=np.int64)
        last_in = _last_index(intime)
        time_prev = np.concatenate(([w.time], np.where(last_in[:-1] >= 0, t_ms[np.maximum(last_in[:-1], 0)],
                                                       w.time)))
        jit = intime & (ticks_per_ms > 0)
        nom = np.zeros(m)
        nom[jit] = nominal_ticks[jit] / ticks_per_ms[jit]
        last_j = _last_index(jit)
        lastnom = np.concatenate(([w.lastnom], np.where(last_j[:-1] >= 0, nom[np.maximum(last_j[:-1], 0)],
                                                        w.lastnom)))
        jitter_at = np.full(m, w.jitter)
        if jit.any():
            diff = np.abs(t_ms[jit] - (time_prev[jit] + (nom[jit] - lastnom[jit])))
            values = smooth_jitter(diff, w.jitter)
            pos = np.cumsum(jit) - 1
            jitter_at = np.where(pos >= 0, values[np.maximum(pos, 0)], w.jitter)
        delta = t_ms - time_prev

        cn = np.isin(pt, CN_PAYLOAD_TYPES)
        follow_cn = np.concatenate(([w.pt in CN_PAYLOAD_TYPES], cn[:-1]))
        regular = intime & ~marker & ~cn & ~follow_cn
        counts = (w.total + np.arange(m)).astype(np.float64)     # Wireshark's total_nr at each packet
        idx = np.flatnonzero(regular)
        if len(idx):
            d = delta[idx]
            w.max_delta = max(w.max_delta, float(d.max()))
            w.min_delta = float(d.min()) if w.min_delta is None else min(w.min_delta, float(d.min()))
            w.mean_delta = _compose_mean(w.mean_delta, d, counts[idx])
        jidx = np.flatnonzero(regular & (ticks_per_ms > 0))
        if len(jidx):
            j = jitter_at[jidx]
            w.max_jitter = max(w.max_jitter, float(j.max()))
            w.min_jitter = float(j.min()) if w.min_jitter is None else min(w.min_jitter, float(j.min()))
            w.mean_jitter = _compose_mean(w.mean_jitter, j, counts[jidx])

        seen_mask = (np.cumsum(jit) > 0) | w.jitter_seen
        # carry the state to the next chunk
        w.cycles, w.under, w.errors = cycles, under, w.errors + errors
        w.seq_num = int(state[-1]) & 0xFFFF
        if intime.any():
            k = int(np.flatnonzero(intime)[-1])
            w.time, w.delta = float(t_ms[k]), float(delta[k])
        if jit.any():
            w.jitter, w.lastnom, w.jitter_seen = float(jitter_at[-1]), float(nom[int(np.flatnonzero(jit)[-1])]), True
        w.stop_seq, w.pt = int(seq[-1]), int(pt[-1])
        w.total += m
        return PacketValues(jitter_at, seen_mask, delta, regular, regular & (ticks_per_ms > 0))
