"""Where media stopped and started again: the gaps of one stream, and the outages they make together.

A gap is a silence between two packets that arrived, longer than a phone's loss concealment would
cover: the last packet before it and the first after it bound it, so it is exact to a packet time.
A stream that never came back after its last packet ends in an open gap (`end` None) when the
sender went on sending for longer than that.

An outage is what many streams saw at once: gaps of any call and either direction that overlap in
time (within MERGE_S) are one outage. Times are epoch seconds on one clock (the caller's).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

MIN_GAP_S = 0.1               # 5 packets of 20 ms missing in a row: longer than concealment hides
MERGE_S = 1.0                 # gaps this close belong to one outage (the calls' packets interleave)


@dataclass(frozen=True)
class Gap:
    start: float              # the last packet before the silence
    end: float | None         # the first packet after it; None: it never came back
    call: int = 0
    direction: str = ""

    @property
    def gap_ms(self) -> float | None:
        return None if self.end is None else 1000.0 * (self.end - self.start)


@dataclass
class Outage:
    start: float
    end: float                                # the last stream that came back (start: none did)
    gaps: list[Gap] = field(default_factory=list)

    def calls(self, direction: str | None = None) -> set[int]:
        return {g.call for g in self.gaps if direction is None or g.direction == direction}

    def never_back(self) -> set[int]:
        """Calls with a direction whose media did not come back after this outage."""
        return {g.call for g in self.gaps if g.end is None}


def gaps(times_s: np.ndarray, min_gap_s: float = MIN_GAP_S, until: float | None = None) -> list[tuple[float, float | None]]:
    """(start, end) of every silence longer than `min_gap_s` between packets that arrived (times
    in any order); `until`: when the sender stopped, so a silence from the last packet to then is
    an open gap (start, None)."""
    t = np.sort(np.asarray(times_s, dtype=float))
    out: list[tuple[float, float | None]] = []
    if len(t) == 0:
        return out
    d = np.diff(t)
    for i in np.flatnonzero(d > min_gap_s):
        out.append((float(t[i]), float(t[i + 1])))
    if until is not None and until - t[-1] > min_gap_s:
        out.append((float(t[-1]), None))
    return out


def outages(all_gaps: list[Gap], merge_s: float = MERGE_S) -> list[Outage]:
    """Gaps of every call and direction grouped into outages by overlap in time."""
    out: list[Outage] = []
    for g in sorted(all_gaps, key=lambda g: g.start):
        last = out[-1] if out else None
        if last is not None and g.start <= last.end + merge_s:
            last.gaps.append(g)
            last.end = max(last.end, g.end if g.end is not None else g.start)
            continue
        out.append(Outage(g.start, g.end if g.end is not None else g.start, [g]))
    return out
