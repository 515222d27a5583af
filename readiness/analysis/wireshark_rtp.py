"""Wireshark-compatible RTP stream analysis: what `tshark -z rtp,streams` prints, rule for rule.

Follows `ui/tap-rtp-analysis.c` `rtppacket_analyse()` as shipped in Wireshark 4.0 (checked against
tshark 4.0.17 on every stream of the corpus; standards.md 2.4):

* times in ms; a packet is "in time sequence" when its RTP timestamp is at or after the stream's
  FIRST timestamp (within 2^31). Only in-time packets update the jitter, the delta and the time
  base ("prev values updated only for packets in timestamp order");
* expected arrival = time of the previous in-time packet + (nominal - last nominal), nominal =
  (ts - first ts) / (clock_rate / 1000) where the division clock_rate / 1000 is C integer division
  (so an 11025 Hz clock counts 11 ticks per ms); jitter = (15 J + |arrival - expected|) / 16;
* min/mean/max delta and jitter skip the first packet, marker-bit packets, comfort noise (PT 13, 19),
  the packet after comfort noise and out-of-time packets; the means are Wireshark's running
  `mean = (mean * (total_nr - 1) + x) / total_nr` with total_nr counting every packet so far;
* Lost = (last packet's seq + 65536 * cycles) - first seq + 1 - packets (can be negative);
  sequence errors = packets whose seq was not the previous in-order seq + 1.

The clock rate may differ per packet (payload-type changes): pass a mapping payload type -> Hz;
a payload type missing from it (or rate 0, e.g. telephone-event) gets no jitter, as in Wireshark.
`WiresharkRtp` is the per-packet view, `wireshark_arrays` the vectorised one; both give the same
`WiresharkSummary`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

CN_PAYLOAD_TYPES = (13, 19)      # RFC 3551 CN (13) and the old CN (19)


@dataclass(frozen=True)
class WiresharkSummary:
    packets: int
    expected: int
    lost: int                     # tshark's Lost column (may be negative with duplicates)
    sequence_errors: int
    seq_cycles: int
    delta_min_ms: float | None    # None where tshark prints -1 / 0 (no regular packet, no clock)
    delta_mean_ms: float | None
    delta_max_ms: float | None
    jitter_min_ms: float | None
    jitter_mean_ms: float | None
    jitter_max_ms: float | None
    jitter_last_ms: float | None


def _rate_of(clock_rate: int | Mapping[int, int] | None, pt: int | None) -> int:
    if clock_rate is None:
        return 0
    if isinstance(clock_rate, Mapping):
        return int(clock_rate.get(pt, 0)) if pt is not None else 0
    return int(clock_rate)


class WiresharkRtp:
    """Per-packet state of tap-rtp-analysis.c for one stream. Feed packets in arrival order."""

    __slots__ = ("clock_rate", "total", "start_seq", "stop_seq", "seq_num", "time", "first_ts", "lastnom",
                 "pt", "under", "cycles", "errors", "delta", "jitter", "jitter_seen", "min_delta", "max_delta",
                 "mean_delta", "min_jitter", "max_jitter", "mean_jitter")

    def __init__(self, clock_rate: int | Mapping[int, int] | None):
        self.clock_rate = clock_rate
        self.total = 0
        self.cycles = self.errors = 0
        self.under = False
        self.delta = self.jitter = 0.0
        self.jitter_seen = False
        self.min_delta = self.min_jitter = None
        self.max_delta = self.max_jitter = 0.0
        self.mean_delta = self.mean_jitter = 0.0

    def add(self, seq: int, ts: int, t_ms: float, marker: bool = False, pt: int | None = None) -> None:
        if self.total == 0:
            self.start_seq = self.stop_seq = self.seq_num = seq
            self.time = t_ms
            self.first_ts = ts
            self.lastnom = 0.0
            self.pt = pt
            self.total = 1
            return
        nominal_ticks = (ts - self.first_ts) & 0xFFFFFFFF
        intime = nominal_ticks < 0x80000000
        if intime:
            if seq < self.start_seq and not self.under:
                self.cycles += 1
                self.under = True
            elif seq == 0 and self.stop_seq == 65535 and not self.under:
                self.cycles += 1
                self.under = True
            elif seq > self.start_seq and self.under:
                self.under = False
        sn = self.seq_num
        if intime and (sn + 1 == seq or (sn == 65535 and seq == 0)):
            self.seq_num = seq
        elif intime and (sn + 1 < seq or sn - seq > 0xFF00):
            self.seq_num = seq
            self.errors += 1
        elif sn + 1 > seq:
            self.errors += 1
        regular = intime and not marker and pt not in CN_PAYLOAD_TYPES and self.pt not in CN_PAYLOAD_TYPES
        self.pt = pt
        ticks_per_ms = _rate_of(self.clock_rate, pt) // 1000
        if intime:
            if ticks_per_ms:
                nom = nominal_ticks / ticks_per_ms
                diff = abs(t_ms - (self.time + (nom - self.lastnom)))
                self.jitter = 0.0625 * diff + 0.9375 * self.jitter
                self.jitter_seen = True
                self.lastnom = nom
            self.delta = t_ms - self.time
        if regular:
            n = self.total
            d = self.delta
            if d > self.max_delta:
                self.max_delta = d
            if self.min_delta is None or d < self.min_delta:
                self.min_delta = d
            self.mean_delta = (self.mean_delta * (n - 1) + d) / n
            if ticks_per_ms:
                j = self.jitter
                if j > self.max_jitter:
                    self.max_jitter = j
                if self.min_jitter is None or j < self.min_jitter:
                    self.min_jitter = j
                self.mean_jitter = (self.mean_jitter * (n - 1) + j) / n
        if intime:
            self.time = t_ms
        self.stop_seq = seq
        self.total += 1

    def summary(self) -> WiresharkSummary:
        if self.total == 0:
            return WiresharkSummary(0, 0, 0, 0, 0, None, None, None, None, None, None, None)
        expected = self.stop_seq + self.cycles * 65536 - self.start_seq + 1
        has_delta = self.min_delta is not None
        has_jitter = self.min_jitter is not None
        return WiresharkSummary(
            packets=self.total, expected=expected, lost=expected - self.total, sequence_errors=self.errors,
            seq_cycles=self.cycles,
            delta_min_ms=self.min_delta, delta_mean_ms=self.mean_delta if has_delta else None,
            delta_max_ms=self.max_delta if has_delta else None,
            jitter_min_ms=self.min_jitter, jitter_mean_ms=self.mean_jitter if has_jitter else None,
            jitter_max_ms=self.max_jitter if has_jitter else None,
            jitter_last_ms=self.jitter if self.jitter_seen else None)


def running_mean(x: np.ndarray, n: np.ndarray) -> float:
    """Closed form of Wireshark's `m = (m * (n - 1) + x) / n` applied at increasing counts n >= 1.

    m_K = sum_k x_k / n_k * prod_{l > k} (n_l - 1) / n_l; the suffix products stay above 1/n_K,
    so nothing underflows.
    """
    if len(x) == 0:
        return 0.0
    n = n.astype(np.float64)
    c = (n - 1.0) / n
    suffix = np.ones_like(c)
    if len(c) > 1:
        suffix[:-1] = np.cumprod(c[:0:-1])[::-1]
    return float(np.sum(x / n * suffix))


def _last_index(mask: np.ndarray) -> np.ndarray:
    """For each i, the largest j <= i with mask[j], or -1."""
    idx = np.where(mask, np.arange(len(mask)), -1)
    return np.maximum.accumulate(idx)


def wireshark_arrays(seq: np.ndarray, ts: np.ndarray, t_ms: np.ndarray, marker: np.ndarray | None,
                     pt: np.ndarray | None, clock_rate: int | Mapping[int, int] | None
                     ) -> tuple[WiresharkSummary, np.ndarray, np.ndarray]:
    """Vectorised `WiresharkRtp` over one stream's arrays (arrival order). Same numbers as the loop.

    Returns the summary, the jitter (ms) after each packet and whether a jitter had been computed by
    then (per-interval summaries need both).
    """
    n = len(seq)
    if n < 2:
        return _loop(seq, ts, t_ms, marker, pt, clock_rate)
    seq = seq.astype(np.int64)
    nominal_ticks = (ts.astype(np.int64) - int(ts[0])) & 0xFFFFFFFF
    intime = nominal_ticks < 0x80000000
    intime[0] = True
    later = np.arange(n) >= 1

    # --- sequence cycles (the `under` flag) and sequence errors -------------------------------------
    start = int(seq[0])
    prev_seq = np.concatenate(([start], seq[:-1]))
    set_ev = intime & later & ((seq < start) | ((seq == 0) & (prev_seq == 65535)))
    reset_ev = intime & later & (seq > start)
    events = np.where(set_ev, 1, np.where(reset_ev, 2, 0))[later]
    events = events[events != 0]
    cycles = int(np.count_nonzero((events == 1) & (np.concatenate(([2], events[:-1])) != 1))) if len(events) else 0

    step = ((np.diff(seq) + 32768) & 0xFFFF) - 32768
    unwrapped = np.concatenate(([start], start + np.cumsum(step)))
    state = np.maximum.accumulate(np.where(intime, unwrapped, np.iinfo(np.int64).min))
    state_before = np.concatenate(([start], state[:-1]))           # unwrapped seq_num before packet i
    s = state_before & 0xFFFF
    a = intime & ((s + 1 == seq) | ((s == 65535) & (seq == 0)))
    c = intime & ~a & ((s + 1 < seq) | (s - seq > 0xFF00))
    assumed = intime & (unwrapped > state_before)
    if not np.array_equal((a | c)[1:], assumed[1:]):
        # jumps or late packets across a wrap: the vectorised state guess is off; run the exact loop
        return _loop(seq, ts, t_ms, marker, pt, clock_rate)
    errors = int(np.count_nonzero(c[1:]) + np.count_nonzero((~a & ~c & (s + 1 > seq))[1:]))

    # --- per-packet clock, jitter, delta ------------------------------------------------------------
    if isinstance(clock_rate, Mapping):
        if pt is None:
            rates = np.zeros(n, dtype=np.int64)
        else:
            lut = {int(k): int(v) for k, v in clock_rate.items()}
            rates = np.array([lut.get(int(p), 0) for p in range(128)], dtype=np.int64)[pt.astype(np.int64) & 127]
    else:
        rates = np.full(n, int(clock_rate or 0), dtype=np.int64)
    ticks_per_ms = rates // 1000
    last_in = _last_index(intime)
    time_prev = np.empty(n)
    time_prev[0] = t_ms[0]
    time_prev[1:] = t_ms[last_in[:-1]]
    jit_pkt = intime & later & (ticks_per_ms > 0)
    nom = np.zeros(n)
    nom[jit_pkt] = nominal_ticks[jit_pkt] / ticks_per_ms[jit_pkt]
    last_j = _last_index(jit_pkt)
    lastnom = np.zeros(n)
    lastnom[1:] = np.where(last_j[:-1] >= 0, nom[np.maximum(last_j[:-1], 0)], 0.0)
    diff = np.abs(t_ms - (time_prev + (nom - lastnom)))
    from scipy.signal import lfilter                      # the 1/16 filter in bulk (RFC 3550 A.8 form)
    jit_values = lfilter([0.0625], [1.0, -0.9375], diff[jit_pkt]) if jit_pkt.any() else np.zeros(0)
    jitter_at = np.zeros(n)
    if len(jit_values):
        pos = np.cumsum(jit_pkt) - 1
        jitter_at = np.where(pos >= 0, jit_values[np.maximum(pos, 0)], 0.0)
    delta = t_ms - time_prev

    cn = np.isin(pt, CN_PAYLOAD_TYPES) if pt is not None else np.zeros(n, dtype=bool)
    follow_cn = np.concatenate(([False], cn[:-1]))
    mk = marker.astype(bool) if marker is not None else np.zeros(n, dtype=bool)
    regular = intime & later & ~mk & ~cn & ~follow_cn
    idx = np.flatnonzero(regular)
    jidx = np.flatnonzero(regular & (ticks_per_ms > 0))
    expected = int(seq[-1]) + cycles * 65536 - start + 1
    summary = WiresharkSummary(
        packets=n, expected=expected, lost=expected - n, sequence_errors=errors, seq_cycles=cycles,
        delta_min_ms=float(delta[idx].min()) if len(idx) else None,
        delta_mean_ms=running_mean(delta[idx], idx) if len(idx) else None,
        delta_max_ms=float(max(delta[idx].max(), 0.0)) if len(idx) else None,
        jitter_min_ms=float(jitter_at[jidx].min()) if len(jidx) else None,
        jitter_mean_ms=running_mean(jitter_at[jidx], jidx) if len(jidx) else None,
        jitter_max_ms=float(max(jitter_at[jidx].max(), 0.0)) if len(jidx) else None,
        jitter_last_ms=float(jitter_at[-1]) if jit_pkt.any() else None)
    return summary, jitter_at, np.cumsum(jit_pkt) > 0


def _loop(seq, ts, t_ms, marker, pt, clock_rate) -> tuple[WiresharkSummary, np.ndarray, np.ndarray]:
    w = WiresharkRtp(clock_rate)
    n = len(seq)
    mk = marker.tolist() if marker is not None else [False] * n
    pts = pt.tolist() if pt is not None else [None] * n
    jit = np.zeros(n)
    seen = np.zeros(n, dtype=bool)
    for i, (s, t, a, m, p) in enumerate(zip(seq.tolist(), ts.tolist(), t_ms.tolist(), mk, pts)):
        w.add(s, t, a, bool(m), p)
        jit[i] = w.jitter
        seen[i] = w.jitter_seen
    return w.summary(), jit, seen
