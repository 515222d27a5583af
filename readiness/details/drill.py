"""A failover drill (probes/drill/): what the run document holds under `drill`, read back typed for
the renderers. The fields are analysis/failover.py's DrillOutcome plus what the drill itself knew
(marks, target failovers, phases, settings)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import typed, typed_list
from .phases import PhaseSummary

DRILL = "drill"
DRILL_PHASES = ("before", "during", "after")


@dataclass
class OutageRow:
    outage: int
    start: float
    end: float
    direction: str
    gap_ms: float | None
    gap_ms_median: float | None
    calls_affected: int
    calls_not_back: int
    calls: list[dict[str, Any]] = field(default_factory=list)
    recovery_ms: float | None = None
    mark: str = ""


@dataclass
class MarkRow:
    t: float
    text: str
    source: str


@dataclass
class FailoverRow:
    t: float
    before: str
    after: str
    reason: str


@dataclass
class DrillView:
    outages: list[OutageRow]
    calls_held: int
    calls_not_set_up: int
    calls_survived: int
    calls_dropped: int
    dropped: list[dict[str, Any]]
    recovery_ms: float | None
    new_calls: dict[str, Any]
    sources: list[dict[str, Any]]
    notes: list[str]
    marks: list[MarkRow]
    failovers: list[FailoverRow]
    phases: dict[str, PhaseSummary]
    targets: list[str]
    started: float | None
    ended: float | None
    settings: dict[str, Any]

    def test_calls(self, worked: bool | None = None) -> list[dict[str, Any]]:
        """The test calls one by one ({call, t, cause, target, attempts, setup_ms, works}); only those
        that worked (True) or failed (False)."""
        return [c for c in self.new_calls.get("calls") or [] if worked is None or bool(c.get("works")) == worked]


def drill(details: dict[str, Any]) -> DrillView | None:
    doc = details.get(DRILL)
    if not doc:
        return None
    return DrillView(
        typed_list(OutageRow, doc.get("outages")), doc.get("calls_held", 0), doc.get("calls_not_set_up", 0),
        doc.get("calls_survived", 0), doc.get("calls_dropped", 0), list(doc.get("dropped") or []),
        doc.get("recovery_ms"), dict(doc.get("new_calls") or {}), list(doc.get("sources") or []),
        list(doc.get("notes") or []), typed_list(MarkRow, doc.get("marks")), typed_list(FailoverRow, doc.get("failovers")),
        {k: typed(PhaseSummary, v) for k, v in (doc.get("phases") or {}).items() if k in DRILL_PHASES},
        list(doc.get("targets") or []), doc.get("started"), doc.get("ended"), dict(doc.get("settings") or {}))
