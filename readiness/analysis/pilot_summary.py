"""A pilot phase: many runs of one site over days, signed off when the network held its criteria all
along, not in one lucky run. Each run is one test window. Per criterion its pass rate over the windows
and its worst window; the availability (share of complete windows in which every must-criterion
passed); per day the same, with the spread of MOS, jitter and loss; the pass rates per day (per hour
for a pilot shorter than two days) as a trend; and the phase verdict against the profile's pilot rule (`pilot:
{min_pass_rate, max_consecutive_failures}`). Incomplete runs are counted apart, never as passes.
Runs of other sites or profiles are grouped apart and said so."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np

from ..results import CriterionResult, RunResults

JUDGED = ("pass", "warn", "fail")
# What a day's distributions show: per call and direction, the values the calls themselves judged
# (no `phase` tag: calls under load are a test of their own).
DISTRIBUTED = ("call.mos", "rtp.jitter_ms", "rtp.loss_pct")
HOURLY_BELOW_S = 2 * 86400.0          # a shorter pilot has too few days for a trend per day


@dataclass
class Window:
    run_id: str
    run_dir: str
    started: str
    finished: str | None
    complete: bool
    verdict: str
    available: bool | None            # every must-criterion passed (None: incomplete run)


@dataclass
class CriterionRate:
    id: str
    metric: str
    unit: str
    severity: str
    windows: int                      # runs in which it was judged
    failed_windows: int
    pass_rate: float | None
    worst: dict[str, Any] | None      # run_id, started, value, verdict
    select: dict[str, str] = field(default_factory=dict)


@dataclass
class Spread:
    """Where a day's values of one metric lie: how many, the extremes, the 5th/50th/95th percentile."""
    n: int
    min: float
    p5: float
    median: float
    p95: float
    max: float


@dataclass
class Day:
    date: str
    windows: int
    available: int
    incomplete: int
    mos_min: float | None
    mos_median: float | None
    # metric (DISTRIBUTED) -> "up", "down" or "all" (every direction pooled) -> spread
    distributions: dict[str, dict[str, Spread]] = field(default_factory=dict)


@dataclass
class Bucket:
    """One step of the pass-rate trend: the windows that started in one day or one hour (UTC-aligned,
    as the days are)."""
    start: str                        # ISO, UTC
    end: str
    windows: int                      # complete windows
    available: int
    incomplete: int                   # counted apart, as everywhere
    judged: dict[str, int]            # criterion id -> complete windows that judged it
    failed: dict[str, int]
    pass_rate: dict[str, float]       # criterion id -> % of its judged windows that did not fail


@dataclass
class Pilot:
    site: str
    profile: str
    windows: list[Window] = field(default_factory=list)
    criteria: list[CriterionRate] = field(default_factory=list)
    days: list[Day] = field(default_factory=list)
    availability_pct: float | None = None
    max_consecutive_failures: int = 0
    min_pass_rate: float = 99.0
    allowed_consecutive_failures: int = 2
    verdict: str = "incomplete"       # pass, fail, incomplete (no complete window)
    notes: list[str] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)   # other site/profile groups, summarised
    trend_step: str = "day"           # day or hour: the buckets of `trend`
    trend: list[Bucket] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"schema": "readiness.pilot/1", "site": self.site, "profile": self.profile,
                "runs": len(self.windows), "windows": [asdict(w) for w in self.windows],
                "incomplete_runs": sum(1 for w in self.windows if not w.complete),
                "criteria": [asdict(c) for c in self.criteria], "days": [asdict(d) for d in self.days],
                "availability_pct": self.availability_pct, "max_consecutive_failures": self.max_consecutive_failures,
                "rule": {"min_pass_rate": self.min_pass_rate,
                         "max_consecutive_failures": self.allowed_consecutive_failures},
                "verdict": self.verdict, "notes": self.notes, "groups": self.groups,
                "trend": {"step": self.trend_step, "buckets": [asdict(b) for b in self.trend]}}


def _worse(op: str, a: Any, b: Any) -> bool:
    """Is value a worse than b under the criterion's operator?"""
    if not isinstance(a, (int, float)) or not isinstance(b, (int, float)) or isinstance(a, bool):
        return False
    return a < b if op in (">", ">=") else a > b


def _available(r: RunResults) -> bool | None:
    if not r.complete:
        return None
    return all(c.verdict in ("pass", "not_applicable") for c in r.criteria if c.severity == "must")


def _rates(runs: list[RunResults]) -> list[CriterionRate]:
    by_id: dict[str, list[tuple[RunResults, CriterionResult]]] = defaultdict(list)
    for r in runs:
        if not r.complete:               # counted apart: what it did judge is no window of the phase
            continue
        for c in r.criteria:
            by_id[c.id].append((r, c))
    out = []
    for cid, rows in by_id.items():
        judged = [(r, c) for r, c in rows if c.verdict in JUDGED]
        failed = [(r, c) for r, c in judged if c.verdict == "fail"]
        worst: tuple[RunResults, CriterionResult] | None = None
        for r, c in judged:
            if worst is None or (c.verdict == "fail" and worst[1].verdict != "fail") or \
                    (c.verdict == worst[1].verdict and _worse(c.op, c.measured, worst[1].measured)):
                worst = (r, c)
        ref = rows[0][1]
        out.append(CriterionRate(cid, ref.metric, ref.unit, ref.severity, len(judged), len(failed),
                                 100.0 * (len(judged) - len(failed)) / len(judged) if judged else None,
                                 {"run_id": worst[0].run_id, "started": worst[0].started, "value": worst[1].measured,
                                  "verdict": worst[1].verdict} if worst else None, dict(ref.select)))
    return out


def values(run: RunResults, metric: str) -> dict[str, list[float]]:
    """A metric's numeric values without a `phase` tag, per direction ("" when untagged)."""
    out: dict[str, list[float]] = {}
    for m in run.measurements:
        if m.metric == metric and "phase" not in m.tags and isinstance(m.value, (int, float)) \
                and not isinstance(m.value, bool) and m.value == m.value:
            out.setdefault(m.tags.get("direction", ""), []).append(float(m.value))
    return out


def _spread(xs: list[float]) -> Spread:
    p5, median, p95 = (float(v) for v in np.percentile(xs, [5, 50, 95]))
    return Spread(len(xs), min(xs), p5, median, p95, max(xs))


def _distributions(runs: list[RunResults]) -> dict[str, dict[str, Spread]]:
    out: dict[str, dict[str, Spread]] = {}
    for metric in DISTRIBUTED:
        per: dict[str, list[float]] = defaultdict(list)
        for r in runs:
            for direction, xs in values(r, metric).items():
                per[direction] += xs
        pooled = [x for xs in per.values() for x in xs]
        if pooled:
            out[metric] = {d: _spread(per[d]) for d in ("up", "down") if per.get(d)}
            out[metric]["all"] = _spread(pooled)
    return out


def _days(runs: list[RunResults], windows: list[Window]) -> list[Day]:
    days: dict[str, list[tuple[RunResults, Window]]] = defaultdict(list)
    for r, w in zip(runs, windows):
        days[r.started[:10]].append((r, w))
    out = []
    for date in sorted(days):
        mos = sorted(x for r, _ in days[date] for xs in values(r, "call.mos").values() for x in xs)
        ws = [w for _, w in days[date]]
        out.append(Day(date, len(ws), sum(1 for w in ws if w.available), sum(1 for w in ws if not w.complete),
                       mos[0] if mos else None, mos[len(mos) // 2] if mos else None,
                       _distributions([r for r, _ in days[date]])))
    return out


def _epoch(iso: str) -> float:
    dt = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return (dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)).timestamp()


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).isoformat()


def _trend(runs: list[RunResults], windows: list[Window]) -> tuple[str, list[Bucket]]:
    """The pass rate of every criterion per day, or per hour when the windows span less than two days."""
    times = [_epoch(r.started) for r in runs]
    step = "hour" if times[-1] - times[0] < HOURLY_BELOW_S else "day"
    size = 3600.0 if step == "hour" else 86400.0
    groups: dict[float, list[tuple[RunResults, Window]]] = defaultdict(list)
    for r, w, t in zip(runs, windows, times):
        groups[t // size * size].append((r, w))
    out = []
    for start in sorted(groups):
        judged: dict[str, int] = defaultdict(int)
        failed: dict[str, int] = defaultdict(int)
        complete = [(r, w) for r, w in groups[start] if w.complete]
        for r, _ in complete:
            for c in r.criteria:
                if c.verdict in JUDGED:
                    judged[c.id] += 1
                    failed[c.id] += c.verdict == "fail"
        out.append(Bucket(_iso(start), _iso(start + size), len(complete), sum(1 for _, w in complete if w.available),
                          len(groups[start]) - len(complete), dict(judged), dict(failed),
                          {cid: 100.0 * (n - failed[cid]) / n for cid, n in judged.items()}))
    return step, out


def _one(runs: list[RunResults], min_pass_rate: float, allowed: int) -> Pilot:
    runs = sorted(runs, key=lambda r: r.started)
    first = runs[0]
    p = Pilot(first.site, first.profile, min_pass_rate=min_pass_rate, allowed_consecutive_failures=allowed)
    p.windows = [Window(r.run_id, str(r.run_dir), r.started, r.finished, r.complete, r.verdict, _available(r))
                 for r in runs]
    p.criteria = _rates(runs)
    p.days = _days(runs, p.windows)
    p.trend_step, p.trend = _trend(runs, p.windows)
    complete = [w for w in p.windows if w.complete]
    if complete:
        p.availability_pct = 100.0 * sum(1 for w in complete if w.available) / len(complete)
        streak = 0
        for w in complete:
            streak = streak + 1 if not w.available else 0
            p.max_consecutive_failures = max(p.max_consecutive_failures, streak)
        ok = p.availability_pct >= min_pass_rate and p.max_consecutive_failures <= allowed
        p.verdict = "pass" if ok else "fail"
    for a, b in zip(runs, runs[1:]):
        if a.finished and b.started < a.finished:
            p.notes.append(f"runs {a.run_id} and {b.run_id} overlap in time (two tests at once, or a clock changed)")
    return p


def summarise(runs: list[RunResults], rule: tuple[float, int] | dict[str, tuple[float, int]] = (99.0, 2)) -> Pilot:
    """The pilot of the largest (site, profile) group; the others summarised in `groups`. `rule` is
    (min pass rate %, allowed consecutive failures), or such a pair per profile name."""
    if not runs:
        raise ValueError("no runs")
    groups: dict[tuple[str, str], list[RunResults]] = defaultdict(list)
    for r in runs:
        groups[(r.site, r.profile)].append(r)

    def rule_for(profile: str) -> tuple[float, int]:
        return rule.get(profile, (99.0, 2)) if isinstance(rule, dict) else rule

    ordered = sorted(groups.items(), key=lambda kv: -len(kv[1]))
    (site, profile), main = ordered[0]
    pilot = _one(main, *rule_for(profile))
    for (s, pr), rs in ordered[1:]:
        other = _one(rs, *rule_for(pr))
        pilot.groups.append({"site": s, "profile": pr, "runs": len(rs), "availability_pct": other.availability_pct,
                             "verdict": other.verdict})
        pilot.notes.append(f"{len(rs)} run(s) of site {s!r} with profile {pr} are summarised apart")
    return pilot
