"""Per-interval summaries of a stream (per second, per 200 ms ...) for windowed criteria and plots.

A packet belongs to interval k = floor((arrival - origin) / step) (never earlier than the interval of
the packet before it, so a capture clock stepping back does not reopen a closed interval).

Loss per interval follows RFC 3550 A.3: expected_interval is the growth of (highest - lowest + 1)
sequence numbers during the interval, received_interval the distinct packets that arrived in it,
lost = expected - received. A late packet that fills a hole counted in an earlier interval makes a
later interval's `lost` negative (the totals stay exact); `loss_pct()` clamps such an interval to
0 % as RFC 3550 does for `fraction lost`. Jitter is the value after the interval's last packet (what
an RTCP report sent then would carry) and the maximum within the interval.

Both the live analyser and the bulk path record cumulative counters at each interval's end and
build `IntervalStats` with `from_cumulative`, so both views give the same intervals.

`PacketSeries` is the same per-interval view for a captured stream over time (plots, windowed
criteria): per-packet jitter and arrival gaps as the stream's totals use them, and loss counted when
the packets were due (`DueSeries`), kept in arrays of one value per interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .. import metrics as metric_catalog
from ..model import Series


@dataclass(frozen=True)
class IntervalStats:
    origin: float                       # epoch seconds where interval 0 starts
    step_s: float
    packets: list[int]                  # every packet that arrived in the interval (duplicates too)
    received: list[int]                 # distinct accepted packets
    expected: list[int]                 # RFC 3550 A.3 expected_interval
    lost: list[int]                     # expected - received (may be negative, see module doc)
    late: list[int]                     # reordered packets that arrived in the interval
    duplicates: list[int]
    jitter_ms: list[float | None]       # after the interval's last packet; None if no packet or no clock
    jitter_max_ms: list[float | None]

    def __len__(self) -> int:
        return len(self.packets)

    @classmethod
    def from_cumulative(cls, origin: float, step_s: float, packets: Sequence[int], received: Sequence[int],
                        expected: Sequence[int], late: Sequence[int], duplicates: Sequence[int],
                        jitter_ms: Sequence[float | None], jitter_max_ms: Sequence[float | None]) -> "IntervalStats":
        """Build from running totals taken at the end of each interval."""
        def diff(cum: Sequence[int]) -> list[int]:
            out, prev = [], 0
            for v in cum:
                out.append(int(v) - prev)
                prev = int(v)
            return out

        rec, exp = diff(received), diff(expected)
        return cls(origin=origin, step_s=step_s, packets=diff(packets), received=rec, expected=exp,
                   lost=[e - r for e, r in zip(exp, rec)], late=diff(late), duplicates=diff(duplicates),
                   jitter_ms=list(jitter_ms), jitter_max_ms=list(jitter_max_ms))

    def loss_pct(self) -> list[float | None]:
        """Per-interval loss %, None where nothing was expected; negative intervals clamp to 0."""
        return [100.0 * max(lost, 0) / exp if exp > 0 else None for lost, exp in zip(self.lost, self.expected)]

    def late_pct(self) -> list[float | None]:
        return [100.0 * late / n if n else None for late, n in zip(self.late, self.packets)]

    def to_series(self, metric: str, what: str, subject: str, probe: str,
                  tags: dict[str, str] | None = None) -> Series:
        """A `Series` record of one summary: what = loss_pct | late_pct | jitter_ms | jitter_max_ms.

        Ratios carry their denominator as weights (expected packets for loss, packets for late) so a
        window's loss is lost/expected over the window, not a mean of percentages.
        """
        if what == "loss_pct":
            values, weights = self.loss_pct(), [float(max(e, 0)) for e in self.expected]
        elif what == "late_pct":
            values, weights = self.late_pct(), [float(n) for n in self.packets]
        elif what in ("jitter_ms", "jitter_max_ms"):
            values, weights = list(getattr(self, what)), [float(n) for n in self.packets]
        else:
            raise ValueError(f"unknown interval summary {what!r}")
        unit = metric_catalog.METRICS[metric].unit if metric in metric_catalog.METRICS else ("ms" if "jitter" in what else "%")
        return Series(metric=metric, unit=unit, subject=subject, probe=probe, start=self.origin, step=self.step_s,
                      values=values, weights=weights, tags=dict(tags or {}))


# --- per-interval series of a captured stream, from per-packet values ------------------------------
DUE_EXPANDED = 64        # gaps up to this many packets get their due times in one vectorised step
RESTART_STEP = 3000      # RFC 3550 A.1 MAX_DROPOUT: a larger step is a restart of the source, not loss


@dataclass(frozen=True)
class DueSeries:
    """One stream's per-interval series: `PacketSeries.result()`. Arrays, one value per interval.

    expected: sequence numbers due in the interval (packets that advanced the highest sequence number
    there, and the numbers of a gap, each at its share of the gap's time); lost: those of a gap that
    never came (late packets fill them in the interval they arrive in). A 3 s outage so counts in
    the 3 seconds it lasted, not in the second the stream came back (RFC 3550 A.3's interval loss).
    """

    origin: float
    step_s: float
    packets: np.ndarray
    expected: np.ndarray
    lost: np.ndarray
    jitter_ms: np.ndarray            # mean over the interval's packets; NaN: none, or no clock
    jitter_max_ms: np.ndarray
    delta_max_ms: np.ndarray         # longest arrival gap ending in the interval; NaN: none counted

    def __len__(self) -> int:
        return len(self.packets)

    def loss_pct(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.expected > 0, 100.0 * self.lost / np.maximum(self.expected, 1), np.nan)

    def to_series(self, metric: str, what: str, subject: str, probe: str,
                  tags: dict[str, str] | None = None) -> Series:
        """A `Series` of loss_pct (weights: packets due) or jitter_ms (weights: packets)."""
        if what == "loss_pct":
            values, weights = self.loss_pct(), self.expected
        elif what == "jitter_ms":
            values, weights = self.jitter_ms, self.packets
        else:
            raise ValueError(f"unknown series {what!r}")
        unit = metric_catalog.METRICS[metric].unit if metric in metric_catalog.METRICS else ""
        return Series(metric=metric, unit=unit, subject=subject, probe=probe, start=self.origin, step=self.step_s,
                      values=[None if v != v else float(v) for v in values.tolist()],
                      weights=[float(w) for w in weights.tolist()], tags=dict(tags or {}))


class _Columns:
    """Growable per-interval columns (doubling), so a long stream costs a few bytes a second."""

    def __init__(self, spec: dict[str, tuple[type, float]]):
        self.spec = spec
        self.n = 0
        self.cols = {k: np.full(64, fill, dtype=t) for k, (t, fill) in spec.items()}

    def reach(self, n: int) -> None:
        if n > len(next(iter(self.cols.values()))):
            size = max(n, 2 * self.n, 64)
            for k, (t, fill) in self.spec.items():
                grown = np.full(size, fill, dtype=t)
                grown[:len(self.cols[k])] = self.cols[k]
                self.cols[k] = grown
        self.n = max(self.n, n)

    def view(self, k: str) -> np.ndarray:
        return self.cols[k][:self.n]


class PacketSeries:
    """Per-interval packets, loss, jitter and arrival gaps of one stream, fed chunk by chunk.

    `feed(seq, arrival_s, jitter_ms, jitter_counted, delta_ms, regular)` in arrival order; jitter and
    delta are the per-packet values whose statistics the stream reports (Wireshark's, see
    wireshark_chunks.PacketValues), so the series' maxima are the stream's. Intervals as
    `IntervalStats` places them. Past `max_span_s` from the first packet (a damaged timestamp) the
    series stops (`dropped`). `result(late)` subtracts the late packets of each interval (RFC 3550
    counting, `IntervalStats.late`) from its lost.
    """

    def __init__(self, step_s: float = 1.0, max_span_s: float = 86400.0):
        self.step_s = step_s
        self.max_bins = int(max_span_s / step_s) + 1
        self.origin: float | None = None
        self.dropped = False
        self._c = _Columns({"packets": (np.int32, 0), "due": (np.int32, 0), "gaps": (np.int32, 0),
                            "jsum": (np.float64, 0.0), "jn": (np.int32, 0), "jmax": (np.float64, np.nan),
                            "dmax": (np.float64, np.nan)})
        self._bin = 0                  # interval of the last packet
        self._last16 = 0               # sequence number of the last packet, and its extension
        self._last_ext = 0
        self._high = 0                 # highest extended sequence number so far, when it arrived, its interval
        self._high_t = 0.0
        self._high_bin = 0

    def feed(self, seq, arrival_s, jitter_ms, jitter_counted, delta_ms, regular) -> None:
        if self.dropped or not len(seq):
            return
        seq = np.asarray(seq, dtype=np.int64)
        arrival_s = np.asarray(arrival_s, dtype=np.float64)
        if self.origin is None:
            self.origin = float(arrival_s[0])
            # as if the number before the first had just arrived: the first packet is due, with no gap
            self._last_ext = self._high = int(seq[0]) - 1
            self._last16 = (int(seq[0]) - 1) & 0xFFFF
            self._high_t = float(arrival_s[0])
        k = np.floor((arrival_s - self.origin) / self.step_s).astype(np.int64)
        k = np.maximum.accumulate(np.maximum(k, self._bin))      # IntervalStats' rule: never back
        if int(k[-1]) >= self.max_bins or float(arrival_s.min()) < self.origin - self.max_bins * self.step_s:
            self.dropped = True
            return
        base = self._bin
        c = self._c
        c.reach(int(k[-1]) + 1)
        rel = k - base
        width = int(rel[-1]) + 1
        c.view("packets")[base:] += np.bincount(rel, minlength=width).astype(np.int32)
        jv = np.asarray(jitter_counted, dtype=bool)
        if jv.any():
            c.view("jsum")[base:] += np.bincount(rel[jv], weights=jitter_ms[jv], minlength=width)
            c.view("jn")[base:] += np.bincount(rel[jv], minlength=width).astype(np.int32)
            _max_into(c.view("jmax"), k[jv], np.asarray(jitter_ms)[jv])
        dv = np.asarray(regular, dtype=bool)
        if dv.any():
            _max_into(c.view("dmax"), k[dv], np.asarray(delta_ms)[dv])
        self._sequence(seq, arrival_s, k)
        self._bin = int(k[-1])

    def _sequence(self, seq: np.ndarray, arrival: np.ndarray, k: np.ndarray) -> None:
        """Due sequence numbers per interval; a restart (RESTART_STEP) starts counting afresh."""
        while len(seq):
            step = ((np.diff(np.concatenate(([self._last16], seq))) + 32768) & 0xFFFF) - 32768
            ext = self._last_ext + np.cumsum(step)
            high_before = np.maximum(np.concatenate(([self._high], np.maximum.accumulate(ext)[:-1])), self._high)
            ahead = ext - high_before
            jumps = np.flatnonzero(np.abs(ahead) >= RESTART_STEP)
            cut = int(jumps[0]) if len(jumps) else len(seq)
            self._count(ext[:cut], ahead[:cut], arrival[:cut], k[:cut])
            if cut == len(seq):
                return
            # the restart packet is the new beginning: due, with no gap before it
            self._last16, self._last_ext = (int(seq[cut]) - 1) & 0xFFFF, int(ext[cut]) - 1
            self._high, self._high_t, self._high_bin = int(ext[cut]) - 1, float(arrival[cut]), int(k[cut])
            seq, arrival, k = seq[cut:], arrival[cut:], k[cut:]

    def _count(self, ext, ahead, arrival, k) -> None:
        if not len(ext):
            return
        c = self._c
        fwd = np.flatnonzero(ahead > 0)
        self._last16, self._last_ext = int(ext[-1]) & 0xFFFF, int(ext[-1])
        if not len(fwd):
            return
        _add_into(c.view("due"), k[fwd])
        gap = ahead[fwd] - 1
        t_prev = np.concatenate(([self._high_t], arrival[fwd][:-1]))
        k_prev = np.concatenate(([self._high_bin], k[fwd][:-1]))
        self._high, self._high_t, self._high_bin = int(ext[fwd[-1]]), float(arrival[fwd[-1]]), int(k[fwd[-1]])
        has = np.flatnonzero(gap > 0)
        if not len(has):
            return
        g, ta, tb, ka, kb = gap[has], t_prev[has], arrival[fwd][has], k_prev[has], k[fwd][has]
        same = ka == kb                   # the whole gap inside one interval: no due times needed
        if same.any():
            _add_into(c.view("gaps"), kb[same], g[same])
        small = ~same & (g <= DUE_EXPANDED)
        if small.any():
            gs = g[small]
            j = np.arange(int(gs.sum())) - np.repeat(np.cumsum(gs) - gs, gs) + 1      # 1..g within each gap
            self._gaps_due(np.repeat(ta[small], gs), np.repeat(tb[small], gs), j, np.repeat(gs, gs),
                           np.repeat(ka[small], gs), np.repeat(kb[small], gs))
        for i in np.flatnonzero(~same & (g > DUE_EXPANDED)).tolist():
            j = np.arange(1, int(g[i]) + 1)
            self._gaps_due(ta[i], tb[i], j, g[i], ka[i], kb[i])

    def _gaps_due(self, ta, tb, j, g, ka, kb) -> None:
        """The j-th of g missing numbers was due at j/(g+1) of the way between its neighbours' arrivals."""
        due = ta + j * (tb - ta) / (g + 1)
        bins = np.clip(np.floor((due - self.origin) / self.step_s).astype(np.int64), ka, kb)
        _add_into(self._c.view("gaps"), bins)

    def result(self, late: Sequence[int] | None = None) -> DueSeries | None:
        if self.origin is None or self.dropped:
            return None
        c = self._c
        gaps = c.view("gaps").astype(np.int64)
        if late is not None:
            lt = np.zeros(len(gaps), dtype=np.int64)
            lt[:min(len(late), len(gaps))] = np.asarray(late, dtype=np.int64)[:len(gaps)]
            gaps = gaps - lt
        jn = c.view("jn")
        with np.errstate(invalid="ignore", divide="ignore"):
            jmean = np.where(jn > 0, c.view("jsum") / np.maximum(jn, 1), np.nan)
        return DueSeries(origin=self.origin, step_s=self.step_s, packets=c.view("packets").copy(),
                         expected=c.view("due").astype(np.int64) + c.view("gaps"),
                         lost=np.maximum(gaps, 0), jitter_ms=jmean, jitter_max_ms=c.view("jmax").astype(np.float64),
                         delta_max_ms=c.view("dmax").astype(np.float64))


def _add_into(target: np.ndarray, k: np.ndarray, counts: np.ndarray | None = None) -> None:
    """target[k] += counts (1 each by default), k repeating: what np.add.at does, by np.bincount over
    the span k covers (np.add.at is an unbuffered loop, ~10x slower)."""
    if not len(k):
        return
    lo = int(k.min())
    add = np.bincount(k - lo, weights=counts)
    target[lo:lo + len(add)] += add.astype(target.dtype) if counts is None else np.rint(add).astype(target.dtype)


def _max_into(target: np.ndarray, k: np.ndarray, values: np.ndarray) -> None:
    """target[k] = max(target[k], values) per interval (k non-decreasing), NaN meaning none yet."""
    starts = np.flatnonzero(np.diff(np.concatenate(([-1], k))) != 0)
    bins = k[starts]
    peaks = np.maximum.reduceat(values, starts)
    old = target[bins]
    target[bins] = np.where(np.isnan(old), peaks, np.maximum(old, peaks))
