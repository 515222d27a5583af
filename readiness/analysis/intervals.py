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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

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
