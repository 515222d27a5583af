"""Wireshark-compatible RTP stream analysis: what `tshark -z rtp,streams` prints, rule for rule.

Follows `ui/tap-rtp-analysis.c` `rtppacket_analyse()` as shipped in Wireshark 4.0 (checked against
tshark 4.0.17 on every stream of the corpus):

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
`WiresharkRtp` is the per-packet view; `wireshark_chunks.WiresharkChunks` runs the same rules
vectorised, chunk after chunk, from the same state; both give the same `WiresharkSummary`.
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


def _last_index(mask: np.ndarray) -> np.ndarray:
    """For each i, the largest j <= i with mask[j], or -1."""
    idx = np.where(mask, np.arange(len(mask)), -1)
    return np.maximum.accumulate(idx)
