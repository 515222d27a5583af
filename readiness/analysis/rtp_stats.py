"""Per-stream RTP statistics, live: loss, duplicates, reordering, jitter, bursts, per-interval summaries.

`RtpStreamAnalyser` takes packets one at a time (`add(seq, ts, arrival_s, marker, payload_type)`)
with O(1) memory per stream (plus one small record per closed interval, when intervals are asked
for), and `result()` returns a `StreamStats`. The bulk path (`readiness.analysis.rtp_bulk`) computes
the same `StreamStats` from numpy arrays; a property test holds them equal.

Sequence numbers (RFC 3550 A.1): extended with wrap-around; a packet MAX_DROPOUT (3000) or more ahead
of, or MAX_MISORDER (100) or more behind, the highest sequence number is not counted ("stale") unless
the next packet follows it, in which case the source is taken as restarted (a new segment; totals
carry on, the gap is not loss).
A.1's MIN_SEQUENTIAL probation is not applied: streams arrive already separated by SSRC, and counting
from the first packet keeps short captures comparable with Wireshark.

* expected = highest - lowest + 1 (lowest includes a late packet older than the first one)
* lost = expected - distinct packets received; never negative (duplicates do not hide loss)
* duplicates: a sequence number seen before (within the 100-packet reorder window)
* reordered: arrived after a higher sequence number, not a duplicate (rtpcap "out of order");
  reorder_pct = reordered / packets, as Microsoft's call-quality reports define it
* sequence_errors: packets that were not "highest + 1" (gap, late, duplicate, jump)

Jitter modes:
* "rfc3550": RFC 3550 6.4.1 / A.8 on every packet in arrival order, transit in seconds from the
  stream's clock rate: J += (|D| - J) / 16. `jitter_ms` is the final J (what RTCP reports);
  min/mean/max over packets 2..n. Delta stats are consecutive arrival gaps.
* "wireshark": `readiness.analysis.wireshark_rtp`, reproduces `tshark -z rtp,streams`
  (in-time rules, exclusions, Wireshark's means); jitter and delta stats follow those rules and
  `wireshark` carries tshark's own Lost and sequence errors. Loss, duplicates and reordering stay
  the RFC 3550 counts above in both modes.

Loss bursts (RFC 3611, Gmin 16) and the Gilbert fit come from `loss_bursts`; a sequence number is
final once it leaves the 100-packet window, so bursts need no per-packet history.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

from .intervals import IntervalStats
from .loss_bursts import GMIN, BurstCounter, LossBursts
from .wireshark_rtp import WiresharkRtp, WiresharkSummary

MAX_DROPOUT = 3000       # RFC 3550 A.1
MAX_MISORDER = 100       # RFC 3550 A.1
RTP_SEQ_MOD = 1 << 16    # RFC 3550 A.1
WINDOW = MAX_MISORDER    # positions max-99 .. max are still open (late packets accepted)
_WINDOW_MASK = (1 << WINDOW) - 1
_TOP_BIT = WINDOW - 1

JITTER_MODES = ("rfc3550", "wireshark")


@dataclass(frozen=True)
class StreamStats:
    """Everything measured on one RTP stream direction. Times in ms, ratios in %."""

    jitter_mode: str
    clock_rate: int | None
    packets: int                  # every packet given to the analyser
    received: int                 # distinct packets counted (RFC 3550 A.1)
    expected: int
    lost: int
    duplicates: int
    reordered: int
    stale: int                    # not counted by A.1 (too late, or an unconfirmed jump)
    resyncs: int                  # A.1 restarts (two sequential packets after a jump)
    sequence_errors: int
    first_seq: int | None
    highest_seq: int | None       # extended (cycles * 65536 + seq) in the current segment
    seq_cycles: int
    loss_pct: float
    duplicate_pct: float
    reorder_pct: float
    jitter_ms: float | None       # final jitter (RFC mode: the RTCP value)
    jitter_min_ms: float | None
    jitter_mean_ms: float | None
    jitter_max_ms: float | None
    delta_min_ms: float | None
    delta_mean_ms: float | None
    delta_max_ms: float | None
    first_arrival: float | None
    last_arrival: float | None
    bursts: LossBursts
    intervals: IntervalStats | None = None
    wireshark: WiresharkSummary | None = None

    @property
    def jitter_rtcp(self) -> int | None:
        """Jitter in timestamp units, the RTCP receiver-report field (RFC 3550 6.4.1)."""
        if self.jitter_ms is None or not self.clock_rate:
            return None
        return int(self.jitter_ms * self.clock_rate / 1000.0)


def _check_mode(mode: str, clock_rate) -> None:
    if mode not in JITTER_MODES:
        raise ValueError(f"jitter mode must be one of {JITTER_MODES}, got {mode!r}")
    if mode == "rfc3550" and isinstance(clock_rate, Mapping):
        raise ValueError("rfc3550 jitter needs one clock rate; per-payload-type rates are for wireshark mode")


class RtpStreamAnalyser:
    """Live analysis of one RTP stream direction (one SSRC). Feed packets in arrival order.

    clock_rate: Hz of the RTP timestamps (None: no jitter). In wireshark mode it may be a mapping
    payload type -> Hz (see `clock_rate.wireshark_clock_map`).
    interval_s / origin: per-interval summaries every `interval_s` seconds from `origin` (epoch;
    default the first packet's arrival); `pop_intervals()` hands over closed intervals.
    """

    def __init__(self, clock_rate: int | Mapping[int, int] | None, jitter_mode: str = "rfc3550",
                 gmin: int = GMIN, interval_s: float | None = None, origin: float | None = None):
        _check_mode(jitter_mode, clock_rate)
        self.jitter_mode = jitter_mode
        self.clock_rate = clock_rate
        self._ws = WiresharkRtp(clock_rate) if jitter_mode == "wireshark" else None
        # RFC 3550 jitter clock; 0 in wireshark mode, where WiresharkRtp computes the jitter
        self._clock = float(clock_rate) if isinstance(clock_rate, (int, float)) and clock_rate and not self._ws else 0.0
        self.add = self._add_wireshark if self._ws is not None else self._add_rfc3550
        self._bursts = BurstCounter(gmin)
        self.packets = 0
        # arrival / jitter state
        self._t0 = 0.0
        self._last_arrival = 0.0
        self._last_ts = 0
        self._ext_ts = 0
        self._last_transit = 0.0
        self._jitter = 0.0
        self._jmin = math.inf
        self._jmax = -math.inf
        self._jsum = 0.0
        self._dmin = math.inf
        self._dmax = -math.inf
        self._dsum = 0.0
        # sequence state (RFC 3550 A.1 + reorder window)
        self.received = self.duplicates = self.reordered = self.stale = self.resyncs = self.sequence_errors = 0
        self._first_seq: int | None = None
        self._max16 = 0
        self._max_ext = 0
        self._min_ext = 0
        self._win = 0                     # bit i: (max_ext - i) received
        self._bad_seq = RTP_SEQ_MOD + 1
        self._prior_expected = 0          # expected packets of earlier (resynchronised) segments
        self._arr_min = self._arr_max = 0.0
        # intervals
        self._step = float(interval_s) if interval_s else 0.0
        if interval_s is not None and interval_s <= 0:
            raise ValueError("interval_s must be > 0")
        self._origin = origin
        self._bin = 0
        self._bin_jmax: float | None = None
        self._cum: list[tuple] = []       # running totals at the end of each closed interval
        self._popped = 0

    # ------------------------------------------------------------------------------------------
    def _add_rfc3550(self, seq: int, ts: int, arrival_s: float, marker: bool = False,
                     payload_type: int | None = None) -> None:
        """One packet: 16-bit seq, 32-bit RTP timestamp, arrival in epoch seconds."""
        if self.packets == 0:
            self._start(seq, ts, arrival_s)
            return
        if self._step:
            k = math.floor((arrival_s - self._origin) / self._step)
            if k > self._bin:
                self._roll(k)
        self.packets += 1
        self._ext_ts += ((ts - self._last_ts + 0x80000000) & 0xFFFFFFFF) - 0x80000000
        self._last_ts = ts
        gap = arrival_s - self._last_arrival
        self._last_arrival = arrival_s
        self._dsum += gap
        if gap < self._dmin:
            self._dmin = gap
        if gap > self._dmax:
            self._dmax = gap
        if self._clock:
            transit = (arrival_s - self._t0) - self._ext_ts / self._clock
            d = transit - self._last_transit
            self._last_transit = transit
            j = 0.0625 * (d if d >= 0.0 else -d) + 0.9375 * self._jitter     # RFC 3550 A.8: J += (|D| - J)/16
            self._jitter = j
            self._jsum += j
            if j < self._jmin:
                self._jmin = j
            if j > self._jmax:
                self._jmax = j
            if self._bin_jmax is None or j > self._bin_jmax:
                self._bin_jmax = j
        self._sequence(seq, arrival_s)

    def _add_wireshark(self, seq: int, ts: int, arrival_s: float, marker: bool = False,
                       payload_type: int | None = None) -> None:
        ws = self._ws
        ws.add(seq, ts, (arrival_s - self._t0) * 1000.0 if self.packets else 0.0, marker, payload_type)
        self._add_rfc3550(seq, ts, arrival_s)          # counts, intervals, sequence (no RFC jitter: clock 0)
        if ws.jitter_seen:
            j = ws.jitter / 1000.0
            self._jitter = j
            if self._bin_jmax is None or j > self._bin_jmax:
                self._bin_jmax = j

    def _start(self, seq: int, ts: int, arrival_s: float) -> None:
        if self._origin is None:
            self._origin = arrival_s
        if self._step:
            k = math.floor((arrival_s - self._origin) / self._step)
            if k > 0:                                      # intervals before the first packet: empty
                self._roll(k)
        self.packets = 1
        self._t0 = self._last_arrival = arrival_s
        self._last_ts = ts
        self._first_seq = seq
        self._segment(seq, arrival_s)
        if self._clock:
            self._bin_jmax = 0.0

    def _segment(self, seq: int, arrival_s: float) -> None:
        """Start counting a (new) sequence segment at this packet."""
        self.received += 1
        self._max16 = seq
        self._max_ext = self._min_ext = seq
        self._win = 1
        self._arr_min = self._arr_max = arrival_s

    def _sequence(self, seq: int, arrival_s: float) -> None:
        """RFC 3550 A.1 update_seq plus duplicate/reorder detection and loss finalisation."""
        udelta = (seq - self._max16) & 0xFFFF
        if 0 < udelta < MAX_DROPOUT:                       # in order, maybe with a gap
            if udelta != 1:
                self.sequence_errors += 1
            self.received += 1
            win = self._win
            if udelta != 1 or not (win >> _TOP_BIT) & 1:     # common case: the oldest open one arrived
                self._finalise(udelta)
            self._win = ((win << udelta) | 1) & _WINDOW_MASK
            self._max16 = seq
            self._max_ext += udelta
            self._arr_max = arrival_s
            return
        self.sequence_errors += 1
        if udelta == 0:
            self.duplicates += 1
        elif udelta > RTP_SEQ_MOD - MAX_MISORDER:          # late: 1..99 behind the highest
            back = RTP_SEQ_MOD - udelta
            bit = 1 << back
            if self._win & bit:
                self.duplicates += 1
                return
            self._win |= bit
            self.received += 1
            self.reordered += 1
            ext = self._max_ext - back
            if ext < self._min_ext:                        # older than the first packet: widen the range
                self._min_ext = ext
                self._arr_min = arrival_s
        elif seq == self._bad_seq:                         # two sequential packets after a jump: restart
            self._flush(self._bursts)                      # (A.1 re-inits here; the jump packet stays stale)
            self._prior_expected += self._max_ext - self._min_ext + 1
            self.resyncs += 1
            self._segment(seq, arrival_s)
        else:
            self._bad_seq = (seq + 1) & 0xFFFF
            self.stale += 1

    def _finalise(self, shift: int) -> None:
        """Sequence numbers leaving the window when the highest advances by `shift`: record losses."""
        b = self._bursts
        max_old = self._max_ext
        lowest = self._min_ext            # below it: older than the stream's first packet, not lost
        win = self._win
        i = WINDOW - 1
        while i >= 0 and i >= WINDOW - shift:
            s = max_old - i
            if s >= lowest and not (win >> i) & 1:
                b.lost(s)
            i -= 1
        if shift > WINDOW:                                   # a gap wider than the window: all lost
            b.lost(max_old + 1, shift - WINDOW)

    def _flush(self, b: BurstCounter) -> None:
        """Close the current segment in `b`: every open position is final now."""
        for s in range(max(self._min_ext, self._max_ext - WINDOW + 1), self._max_ext + 1):
            if not (self._win >> (self._max_ext - s)) & 1:
                b.lost(s)
        b.end_segment(self._max_ext - self._min_ext + 1)

    # ------------------------------------------------------------------------------------------
    def _expected(self) -> int:
        return self._prior_expected + (self._max_ext - self._min_ext + 1 if self.packets else 0)

    def _snapshot(self, jitter_ms: float | None, jitter_max_ms: float | None) -> tuple:
        return (self.packets, self.received, self._expected(), self.reordered, self.duplicates, jitter_ms,
                jitter_max_ms)

    def _current_jitter_ms(self) -> tuple[float | None, float | None]:
        if self._bin_jmax is None:
            return None, None
        return self._jitter * 1000.0, self._bin_jmax * 1000.0

    def _roll(self, k: int) -> None:
        """Close intervals self._bin .. k-1 (empty ones repeat the totals with no jitter)."""
        j, jmax = self._current_jitter_ms()
        self._cum.append(self._snapshot(j, jmax))
        empty = self._snapshot(None, None)
        for _ in range(k - self._bin - 1):
            self._cum.append(empty)
        self._bin = k
        self._bin_jmax = None

    def _intervals(self, start: int, include_open: bool) -> IntervalStats | None:
        if not self._step or self.packets == 0:
            return None
        rows = self._cum[start:]
        if include_open:
            rows = rows + [self._snapshot(*self._current_jitter_ms())]
        base = self._cum[start - 1] if start > 0 else (0, 0, 0, 0, 0)
        counts = [[r[c] - base[c] for r in rows] for c in range(5)]
        return IntervalStats.from_cumulative(self._origin + start * self._step, self._step, *counts,
                                             [r[5] for r in rows], [r[6] for r in rows])

    def pop_intervals(self) -> IntervalStats | None:
        """Closed intervals not handed over yet (for live Series); None without intervals."""
        out = self._intervals(self._popped, include_open=False)
        self._popped = len(self._cum)
        return out

    # ------------------------------------------------------------------------------------------
    def result(self) -> StreamStats:
        """Statistics so far (the analyser can keep going afterwards)."""
        bursts = self._bursts.copy()
        if self.packets:
            self._flush(bursts)
        n = self.packets
        expected = self._expected()
        lost = expected - self.received
        span = self._max_ext - self._min_ext
        interval_ms = (self._arr_max - self._arr_min) / span * 1000.0 if n and span > 0 else None
        ws = self._ws.summary() if self._ws is not None else None
        if ws is not None:
            j_last = ws.jitter_last_ms
            jmin, jmean, jmax = ws.jitter_min_ms, ws.jitter_mean_ms, ws.jitter_max_ms
            dmin, dmean, dmax = ws.delta_min_ms, ws.delta_mean_ms, ws.delta_max_ms
        else:
            have_j = self._clock and n > 1
            j_last = self._jitter * 1000.0 if self._clock and n else None
            jmin = self._jmin * 1000.0 if have_j else None
            jmean = self._jsum / (n - 1) * 1000.0 if have_j else None
            jmax = self._jmax * 1000.0 if have_j else None
            dmin = self._dmin * 1000.0 if n > 1 else None
            dmean = self._dsum / (n - 1) * 1000.0 if n > 1 else None
            dmax = self._dmax * 1000.0 if n > 1 else None
        return StreamStats(
            jitter_mode=self.jitter_mode, clock_rate=self.clock_rate if isinstance(self.clock_rate, int) else None,
            packets=n, received=self.received if n else 0, expected=expected, lost=lost,
            duplicates=self.duplicates, reordered=self.reordered, stale=self.stale, resyncs=self.resyncs,
            sequence_errors=self.sequence_errors, first_seq=self._first_seq,
            highest_seq=self._max_ext if n else None, seq_cycles=self._max_ext >> 16 if n else 0,
            loss_pct=100.0 * lost / expected if expected else 0.0,
            duplicate_pct=100.0 * self.duplicates / n if n else 0.0,
            reorder_pct=100.0 * self.reordered / n if n else 0.0,
            jitter_ms=j_last, jitter_min_ms=jmin, jitter_mean_ms=jmean, jitter_max_ms=jmax,
            delta_min_ms=dmin, delta_mean_ms=dmean, delta_max_ms=dmax,
            first_arrival=self._t0 if n else None, last_arrival=self._last_arrival if n else None,
            bursts=bursts.totals.finish(interval_ms), intervals=self._intervals(0, include_open=True),
            wireshark=ws)
