"""Judge measurements against a profile's criteria.

Rules that keep a report honest:
- a subject without a value (device unreachable, value unreadable) can never make a criterion pass:
  the criterion fails if another subject failed, else it is not measured, with the reason;
- a windowed criterion is judged on every sliding window of each subject's time series;
- the run passes only if every criterion passed (should-criteria may warn); anything not measured
  makes it incomplete. An optional criterion with nothing at all to judge (no SIP in a capture) is
  not applicable instead, and does not;
- a failed must-criterion on the test generator's own fidelity (metrics.GENERATOR: its sender
  slipped, its responder held replies) makes the run incomplete, not failed: the network is not
  blamed for bursts no phone sends.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field, replace
from typing import Any, Iterable

from .. import metrics as metric_catalog
from ..model import Criterion, Measurement, NotMeasured, Series, Verdict
from ..units import format_value
from . import operators
from .windows import WindowTooShort, windows

MAX_EVIDENCE = 20


@dataclass
class _Judged:
    subject: str
    value: Any
    ok: bool
    evidence: list[str] = field(default_factory=list)
    window: tuple[float, float] | None = None


def evaluate(criteria: Iterable[Criterion], measurements: list[Measurement], series: list[Series],
             not_measured: list[NotMeasured]) -> list[Verdict]:
    by_metric: dict[str, list[Measurement]] = {}
    for m in measurements:
        by_metric.setdefault(m.metric, []).append(m)
    series_by_metric: dict[str, list[Series]] = {}
    for s in series:
        series_by_metric.setdefault(s.metric, []).append(s)
    missing_by_metric: dict[str, list[NotMeasured]] = {}
    for n in not_measured:
        missing_by_metric.setdefault(n.metric, []).append(n)

    verdicts = []
    for c in criteria:
        try:
            missing = [n for n in missing_by_metric.get(c.metric, []) if _selected(c, n.tags, lenient=True)]
            v = _judge(c, [m for m in by_metric.get(c.metric, []) if _selected(c, m.tags)],
                       [s for s in series_by_metric.get(c.metric, []) if _selected(c, s.tags)], missing)
            if v.outcome == "not_measured" and c.optional and missing and all(n.absent for n in missing):
                v = replace(v, outcome="not_applicable")  # nothing of the kind here: not a gap in the measurement
            verdicts.append(v)
        except Exception as e:  # a bug or bad data must show as an error verdict, never as a pass
            verdicts.append(_verdict(c, "error", explanation=f"could not judge: {type(e).__name__}: {e}"))
    return verdicts


def run_verdict(verdicts: list[Verdict], interrupted: bool = False) -> str:
    """pass, fail or incomplete, as defined in the module docstring."""
    if interrupted or not verdicts:
        return "incomplete"  # nothing judged cannot be signed off as a pass
    if generator_failed(verdicts):
        return "incomplete"  # the test generator missed its own bound: its traffic, not the network, is in doubt
    if any(v.outcome == "fail" for v in verdicts):
        return "fail"
    if any(v.outcome in ("not_measured", "error") for v in verdicts):
        return "incomplete"
    return "pass"


def generator_failed(verdicts: Iterable[Verdict]) -> list[Verdict]:
    """Failed criteria on the generator's own fidelity (a sender that slipped, a responder that held
    replies): the traffic was not what phones send, so the network's results cannot be held against it."""
    return [v for v in verdicts if v.outcome == "fail" and v.metric in metric_catalog.GENERATOR]


def _selected(c: Criterion, tags: dict[str, str], lenient: bool = False) -> bool:
    if "phase" in tags and "phase" not in c.select:
        return False  # a phase of calls under load is a slice of the whole call: judged when selected
    for key, want in c.select.items():
        have = tags.get(key)
        if have is None and lenient:
            continue  # a probe-wide "could not measure" applies to every path
        if have != want:
            return False
    return True


def _verdict(c: Criterion, outcome: str, **kw: Any) -> Verdict:
    if outcome == "fail" and c.severity == "should":
        outcome = "warn"
    return Verdict(criterion=c.id, metric=c.metric, outcome=outcome, unit=c.unit, threshold=c.threshold,
                   op=c.op, severity=c.severity, window_s=c.window_s, source=c.source, **kw)


def _missing_reason(c: Criterion, missing: list[NotMeasured]) -> str:
    if missing:
        return reasons([(n.subject, n.reason) for n in missing])
    probe = metric_catalog.METRICS[c.metric].probe if c.metric in metric_catalog.METRICS else "?"
    sel = f" with {c.select}" if c.select else ""
    return f"no measurement of {c.metric}{sel} in this run (probe '{probe}' did not report it)"


MAX_REASONS = 5
_CALL_DIRECTION = re.compile(r"call \d+ (up|down)")
_CALL = re.compile(r"call \d+")


def reasons(absent: list[tuple[str, str]], total: int | None = None) -> str:
    """Why subjects were not measured, subjects with the same reason counted on one line:
    "8 of 8 call directions: call not answered: refused (...)"."""
    by_reason: dict[str, list[str]] = {}
    for subject, reason in absent:
        by_reason.setdefault(reason, [])
        if subject not in by_reason[reason]:
            by_reason[reason].append(subject)
    total = total if total is not None else len({s for s, _ in absent})
    texts = []
    for reason, subjects in by_reason.items():
        named = [s for s in subjects if s]
        if len(named) > 1:
            texts.append(f"{len(named)} of {max(total, len(named))} {_kind(named)}: {reason}")
        elif named:
            texts.append(f"{named[0]}: {reason}")
        else:
            texts.append(reason)
    more = f" (+{len(texts) - MAX_REASONS} more)" if len(texts) > MAX_REASONS else ""
    return "; ".join(texts[:MAX_REASONS]) + more


def _kind(subjects: list[str]) -> str:
    if all(_CALL_DIRECTION.fullmatch(s) for s in subjects):
        return "call directions"
    if all(_CALL.fullmatch(s) for s in subjects):
        return "calls"
    return "subjects"


def _judge(c: Criterion, ms: list[Measurement], ss: list[Series], missing: list[NotMeasured]) -> Verdict:
    if c.window_s:
        return _judge_windowed(c, ms, ss, missing)
    present = [m for m in ms if m.value is not None]
    absent = [(m.subject or m.metric, m.reason or "no value") for m in ms if m.value is None]
    absent += [(n.subject, n.reason) for n in missing]
    if not present:
        reason = reasons(absent) if absent else _missing_reason(c, missing)
        return _verdict(c, "not_measured", explanation=reason)

    if c.aggregate == "each":
        judged = [_Judged(m.subject, m.value, operators.holds(m.value, c.op, c.threshold), list(m.evidence))
                  for m in present]
        return _conclude(c, judged, absent, what="subject")

    values = [float(m.value) for m in present]
    stat = _aggregate(c.aggregate, values)
    ok = operators.holds(stat, c.op, c.threshold)
    evidence = _evidence(m.evidence for m in present)
    judged = [_Judged(f"{c.aggregate} of {len(values)}", stat, ok, evidence)]
    return _conclude(c, judged, absent, what="statistic", subjects=len(values))


def _judge_windowed(c: Criterion, ms: list[Measurement], ss: list[Series], missing: list[NotMeasured]) -> Verdict:
    if not ss:
        if ms:
            return _verdict(c, "not_measured",
                            explanation=f"{c.metric} was measured only as totals; a {c.window_s:g} s window needs its time series")
        return _verdict(c, "not_measured", explanation=_missing_reason(c, missing))
    combine = metric_catalog.METRICS[c.metric].window
    judged: list[_Judged] = []
    absent = [(n.subject, n.reason) for n in missing]
    partial = False
    evidence_by_subject: dict[str, list[str]] = {}
    for m in ms:
        evidence_by_subject.setdefault(m.subject, []).extend(m.evidence)
    for s in ss:
        try:
            ws = [w for w in windows(s, c.window_s, combine) if w.value is not None]
        except WindowTooShort as e:
            return _verdict(c, "not_measured", explanation=str(e))
        if not ws:
            absent.append((s.subject, "no samples"))
            continue
        partial = partial or ws[0].partial
        worst = _worst(c, ws, lambda w: w.value)
        judged.append(_Judged(s.subject, worst.value, operators.holds(worst.value, c.op, c.threshold),
                              evidence_by_subject.get(s.subject, []), (worst.start, worst.end)))
    if not judged:
        return _verdict(c, "not_measured", explanation=reasons(absent) or "no samples")
    note = f" (the run was shorter than {c.window_s:g} s: judged over the whole run)" if partial else ""
    return _conclude(c, judged, absent, what="subject", note=note)


def _conclude(c: Criterion, judged: list[_Judged], absent: list[tuple[str, str]], what: str,
              subjects: int | None = None, note: str = "") -> Verdict:
    failing = [j for j in judged if not j.ok]
    worst = _worst(c, judged, lambda j: j.value)
    n = subjects if subjects is not None else len(judged)
    cmp = f"{c.op} {format_value(c.threshold, c.unit)}"
    where = f" ({worst.subject})" if worst.subject else ""
    win = f"worst {c.window_s:g} s window, " if c.window_s else ""
    evidence = _evidence([worst.evidence] + [j.evidence for j in failing])
    common = dict(measured=worst.value, subject=worst.subject, window=worst.window, subjects=n,
                  failing=len(failing), evidence=evidence)
    value = format_value(worst.value, c.unit)
    if failing:
        scope = f"{len(failing)} of {len(judged)} {what}s missed it; " if what == "subject" and len(judged) > 1 else ""
        return _verdict(c, "fail", explanation=f"{scope}{win}{value}{where}, needs {cmp}{note}", **common)
    if absent:
        why = reasons(absent, len(judged) + len({s for s, _ in absent}))
        return _verdict(c, "not_measured",
                        explanation=f"{len(judged)} {what}(s) met {cmp}, but not all were measured: {why}", **common)
    label = "worst" if what == "subject" and len(judged) > 1 else "measured"
    return _verdict(c, "pass", explanation=f"{label}: {win}{value}{where}, {cmp}{note}", **common)


def _worst(c: Criterion, items: list[Any], value_of: Any) -> Any:
    """The item furthest on the failing side; a failing item always beats a passing one."""
    failing = [x for x in items if not operators.holds(value_of(x), c.op, c.threshold)]
    pool = failing or items
    worst = pool[0]
    for x in pool[1:]:
        if operators.worse(c.op, value_of(x), value_of(worst)):
            worst = x
    return worst


def _aggregate(kind: str, values: list[float]) -> float:
    if kind == "min":
        return min(values)
    if kind == "max":
        return max(values)
    if kind == "mean":
        return statistics.fmean(values)
    if kind == "median":
        return statistics.median(values)
    if kind == "sum":
        return sum(values)
    if kind == "count":
        return float(len(values))
    if kind in ("p05", "p95"):
        return percentile(values, 5 if kind == "p05" else 95)
    raise ValueError(f"unknown aggregate {kind!r}")


def percentile(values: list[float], pct: float) -> float:
    """Linear-interpolated percentile (numpy's default), without numpy for small lists."""
    xs = sorted(values)
    if len(xs) == 1:
        return xs[0]
    pos = (len(xs) - 1) * pct / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def _evidence(groups: Iterable[list[str]]) -> list[str]:
    out: list[str] = []
    for g in groups:
        for e in g:
            if e not in out:
                out.append(e)
            if len(out) >= MAX_EVIDENCE:
                return out
    return out
