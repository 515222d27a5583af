"""Loss bursts and gaps (RFC 3611 4.7, Gmin 16) and the Gilbert fit (p, q, BurstR = 1/(p+q)).

Input is the loss pattern of a stream in sequence-number order, given as the positions of lost
packets (extended sequence numbers) inside a range [first, last] whose ends were received.

Burst/gap (RFC 3611 section 4.7): a burst is the longest run that starts and ends with a
lost packet and contains no run of Gmin or more received packets; a burst holds at least two losses
(an isolated loss with Gmin received packets either side is a gap loss; the session is taken as
preceded and followed by Gmin received packets). Everything else is gap. We count bursts and gaps
exactly rather than through RFC 3611 Appendix A.2's Markov approximation; durations are mean period
lengths in packets times the packet interval.

Gilbert two-state model fitted to the trace: p = n(R->L) / (n(R->R) + n(R->L)),
q = n(L->R) / (n(L->L) + n(L->R)), BurstR = 1/(p+q) (ITU-T G.107 clause 7.5, two-state Markov loss);
1 for random loss, > 1 bursty. With no loss BurstR is 1 by convention.

`BurstCounter` consumes losses in O(1) memory, one run at a time (`lost`, the live analyser) or an
array at a time (`lost_many`, captures); both fill the same `BurstTotals`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

GMIN = 16           # RFC 3611 4.7.2: recommended Gmin


@dataclass(frozen=True)
class LossBursts:
    """Burst/gap metrics and the Gilbert fit of one stream direction."""

    gmin: int
    packets: int                # packets expected (sequence positions considered)
    losses: int
    bursts: int                 # number of burst periods
    burst_packets: int          # packets expected inside bursts
    burst_losses: int
    gap_packets: int
    gap_losses: int
    burst_density_pct: float    # losses in bursts / packets in bursts
    gap_density_pct: float
    burst_duration_ms: float | None   # mean burst period; None when there was no burst
    gap_duration_ms: float | None     # mean gap period
    p: float                    # P(loss | previous received)
    q: float                    # P(received | previous lost); 1.0 when nothing was lost
    burst_ratio: float          # BurstR = 1/(p+q); 1.0 when nothing was lost
    packet_interval_ms: float | None

    @property
    def loss_pct(self) -> float:
        return 100.0 * self.losses / self.packets if self.packets else 0.0


@dataclass
class BurstTotals:
    """Counts both views accumulate; `finish()` turns them into LossBursts."""

    gmin: int = GMIN
    packets: int = 0
    losses: int = 0
    runs: int = 0               # runs of consecutive losses (Gilbert transitions R->L and L->R)
    bursts: int = 0
    burst_packets: int = 0
    burst_losses: int = 0
    segments: int = 0           # each segment starts and ends with received packets: bursts + 1 gaps

    def finish(self, packet_interval_ms: float | None = None) -> LossBursts:
        n = self.packets
        gap_packets = n - self.burst_packets
        gap_losses = self.losses - self.burst_losses
        transitions = max(n - self.segments, 0)          # n - 1 per segment
        ll = self.losses - self.runs
        rl = lr = self.runs
        rr = transitions - rl - lr - ll
        p = rl / (rr + rl) if (rr + rl) > 0 else 0.0
        q = lr / (ll + lr) if (ll + lr) > 0 else 1.0
        burst_ratio = 1.0 / (p + q) if self.losses else 1.0
        gaps = self.bursts + self.segments
        iv = packet_interval_ms
        return LossBursts(
            gmin=self.gmin, packets=n, losses=self.losses, bursts=self.bursts, burst_packets=self.burst_packets,
            burst_losses=self.burst_losses, gap_packets=gap_packets, gap_losses=gap_losses,
            burst_density_pct=100.0 * self.burst_losses / self.burst_packets if self.burst_packets else 0.0,
            gap_density_pct=100.0 * gap_losses / gap_packets if gap_packets else 0.0,
            burst_duration_ms=(self.burst_packets / self.bursts * iv) if (self.bursts and iv is not None) else None,
            gap_duration_ms=(gap_packets / gaps * iv) if (gaps and iv is not None) else None,
            p=p, q=q, burst_ratio=burst_ratio, packet_interval_ms=iv)


class BurstCounter:
    """Streaming RFC 3611 burst/gap + Gilbert counts, O(1) memory.

    Call `lost(position, count)` for each run of `count` lost packets starting at `position`, in
    increasing position order, and `end_segment(packets)` when a stream (or an RFC 3550 A.1
    resynchronised segment of it) ends, with the number of positions it spanned.
    """

    __slots__ = ("totals", "_first", "_last", "_n")

    def __init__(self, gmin: int = GMIN):
        self.totals = BurstTotals(gmin=gmin)
        self._first = self._last = None   # open cluster of losses (candidate burst)
        self._n = 0                       # losses in the open cluster

    def lost(self, position: int, count: int = 1) -> None:
        t = self.totals
        last = self._last
        t.losses += count
        if last is None or position != last + 1:
            t.runs += 1
        if last is not None and position - last - 1 < t.gmin:
            self._last = position + count - 1
            self._n += count
            return
        self._close()
        self._first, self._last, self._n = position, position + count - 1, count

    def _close(self) -> None:
        if self._n >= 2:
            t = self.totals
            t.bursts += 1
            t.burst_packets += self._last - self._first + 1
            t.burst_losses += self._n
        self._first = self._last = None
        self._n = 0

    def lost_many(self, positions: np.ndarray) -> None:
        """`lost(p)` for every position of a sorted array (all above the last one given), vectorised."""
        n = len(positions)
        if n == 0:
            return
        t = self.totals
        positions = np.asarray(positions, dtype=np.int64)
        prev = np.empty(n, dtype=np.int64)
        prev[1:] = positions[:-1]
        prev[0] = positions[0] - 2 - t.gmin if self._last is None else self._last
        gaps = positions - prev - 1                      # received packets between consecutive losses
        t.losses += n
        t.runs += int(np.count_nonzero(gaps > 0))
        starts = np.flatnonzero(gaps >= t.gmin)          # a new cluster starts at these losses
        if len(starts) == 0:                             # everything extends the open cluster
            self._last = int(positions[-1])
            self._n += n
            return
        first_end = starts[0]                            # losses [0, first_end) extend the open cluster
        if self._last is not None and (first_end > 0 or self._n):
            self._last = int(positions[first_end - 1]) if first_end > 0 else self._last
            self._n += int(first_end)
            self._close()
        ends = np.concatenate((starts[1:], [n])) - 1
        sizes = ends - starts + 1
        closed = slice(0, len(starts) - 1)                # every cluster but the last closes here
        burst = sizes[closed] >= 2
        s_idx, e_idx = starts[closed][burst], ends[closed][burst]
        t.bursts += int(len(s_idx))
        t.burst_packets += int((positions[e_idx] - positions[s_idx] + 1).sum())
        t.burst_losses += int(sizes[closed][burst].sum())
        self._first, self._last = int(positions[starts[-1]]), int(positions[-1])
        self._n = int(sizes[-1])

    def end_segment(self, packets: int) -> None:
        self._close()
        self.totals.packets += packets
        self.totals.segments += 1

    def copy(self) -> "BurstCounter":
        c = BurstCounter.__new__(BurstCounter)
        c.totals = replace(self.totals)
        c._first, c._last, c._n = self._first, self._last, self._n
        return c


def bursts_from_positions(positions: np.ndarray, packets: int, gmin: int = GMIN) -> BurstTotals:
    """One segment's totals: sorted unique loss positions within a range of `packets` positions."""
    c = BurstCounter(gmin)
    c.lost_many(positions)
    c.end_segment(packets)
    return c.totals
