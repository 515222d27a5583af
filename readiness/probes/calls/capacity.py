"""Capacity search: how many concurrent calls the path carries before a profile criterion fails.

Stepped like an ITU-T Y.1564 configuration test: run the load at a concurrency, have it judged against
the profile's call criteria (the run's own judge, handed in: a probe never judges), double while it
passes, then bisect between the last pass and the first failure down to RESOLUTION. Each step is a
complete load (ramp, hold, hang up).
"""

from __future__ import annotations

import dataclasses
from typing import Callable

from ...details.calls import CapacitySearch, CapacityStep
from ...model import Verdict
from ...progress import NullProgress, Progress
from .load import LoadConfig, LoadResult, LoadRunner

RESOLUTION = 0.05          # stop when the bracket is within 5 % of the passing level (at least 1 call)
FIRST_STEP = 10


def _passed(verdicts: list[Verdict]) -> tuple[bool, list[str]]:
    bad = [v.criterion for v in verdicts if v.outcome in ("fail", "error", "not_measured") and v.severity == "must"]
    return not bad, bad


async def find_capacity(base: LoadConfig, judge: Callable[[LoadResult], list[Verdict]], max_calls: int,
                        first: int | None = None, progress: Progress | None = None) -> CapacitySearch:
    """`judge(result)` gives the verdicts of the call criteria on one step's load."""
    progress = progress or NullProgress()
    steps: list[CapacityStep] = []
    limited = False
    lo, hi = 0, None
    n = min(max_calls, first or FIRST_STEP)
    while n > lo:
        progress.say(f"capacity: trying {n} concurrent calls")
        result = await LoadRunner(dataclasses.replace(base, calls=n), progress).run()
        ok, bad = _passed(judge(result))
        moses = [d.mos for c in result.answered() if c.media for d in (c.media.up, c.media.down)
                 if d is not None and d.mos is not None]
        steps.append(CapacityStep(n, ok, bad, len(result.answered()), min(moses) if moses else None))
        progress.say(f"capacity: {n} calls {'passed' if ok else 'failed: ' + ', '.join(bad)}")
        if ok:
            lo = n
            if n >= max_calls:
                limited = True
                break
            n = min(max_calls, n * 2) if hi is None else (lo + hi) // 2
        else:
            hi = n
            n = (lo + hi) // 2
        if hi is not None and hi - lo <= max(1, int(lo * RESOLUTION)):
            break
    return CapacitySearch(lo, max_calls, limited, steps)
