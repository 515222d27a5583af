"""Capacity search: how many concurrent calls the path carries before a profile criterion fails.

Stepped like an ITU-T Y.1564 configuration test: run the load at a concurrency, judge it against the
profile's call criteria (acceptance.evaluate, the same judge as a run), double while it passes, then
bisect between the last pass and the first failure down to RESOLUTION. Each step is a complete load
(ramp, hold, hang up), so every step's verdicts can be shown.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from ... import metrics as catalog
from ...acceptance.evaluate import evaluate
from ...model import Criterion, Verdict
from ...progress import NullProgress, Progress
from ..base import MemoryRecorder
from . import records
from .load import LoadConfig, LoadResult, LoadRunner

RESOLUTION = 0.05          # stop when the bracket is within 5 % of the passing level (at least 1 call)
FIRST_STEP = 10


@dataclass
class Step:
    calls: int
    passed: bool
    failed_criteria: list[str]
    answered: int
    mos_min: float | None
    result: LoadResult | None = None


@dataclass
class CapacityResult:
    capacity: int                      # largest concurrency that passed (0: none did)
    max_calls: int
    steps: list[Step] = field(default_factory=list)
    limited_by_max: bool = False       # passed at --max-calls: the real capacity may be higher


def call_criteria(criteria: list[Criterion]) -> list[Criterion]:
    """The criteria a call load can decide (metrics of the calls probe, except capacity itself)."""
    return [c for c in criteria if c.metric in catalog.METRICS and catalog.METRICS[c.metric].probe == "calls"
            and c.metric != "call.capacity_calls"]


def judge(result: LoadResult, criteria: list[Criterion]) -> list[Verdict]:
    rec = MemoryRecorder()
    records.record(rec, result)
    return evaluate(criteria, rec.measurements, rec.series_list, rec.missing)


def _passed(verdicts: list[Verdict]) -> tuple[bool, list[str]]:
    bad = [v.criterion for v in verdicts if v.outcome in ("fail", "error", "not_measured") and v.severity == "must"]
    return not bad, bad


async def find_capacity(base: LoadConfig, criteria: list[Criterion], max_calls: int,
                        first: int | None = None, progress: Progress | None = None) -> CapacityResult:
    progress = progress or NullProgress()
    crit = call_criteria(criteria)
    out = CapacityResult(0, max_calls)
    lo, hi = 0, None
    n = min(max_calls, first or FIRST_STEP)
    while n > lo:
        progress.say(f"capacity: trying {n} concurrent calls")
        result = await LoadRunner(dataclasses.replace(base, calls=n), progress).run()
        ok, bad = _passed(judge(result, crit))
        moses = [d.mos for c in result.answered() if c.media for d in (c.media.up, c.media.down)
                 if d is not None and d.mos is not None]
        out.steps.append(Step(n, ok, bad, len(result.answered()), min(moses) if moses else None))
        progress.say(f"capacity: {n} calls {'passed' if ok else 'failed: ' + ', '.join(bad)}")
        if ok:
            lo = n
            if n >= max_calls:
                out.limited_by_max = True
                break
            n = min(max_calls, n * 2) if hi is None else (lo + hi) // 2
        else:
            hi = n
            n = (lo + hi) // 2
        if hi is not None and hi - lo <= max(1, int(lo * RESOLUTION)):
            break
    out.capacity = lo
    return out
