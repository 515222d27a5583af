"""The typed view of a stored run, judged now from its log alone: what every renderer reads.

`judge(store.read(run_dir))` gives a RunResults: run info, every criterion with its verdict, the
records, the probes' details and notes. `RunResults.to_json()` is the run document (`readiness.run/1`,
results.json and every command's `--json`). Renderers take a RunResults and nothing else; they never
index the stored JSON by string keys (per-probe details have typed views in `readiness.details`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import store
from .acceptance.evaluate import evaluate, run_verdict
from .model import OUTCOMES, Artefact, Criterion, Measurement, NotMeasured, Series, Verdict

SCHEMA = "readiness.run/1"


@dataclass(frozen=True)
class CriterionResult:
    """One criterion of the run with its verdict: the row of every criteria table."""

    id: str
    metric: str
    verdict: str                      # one of model.OUTCOMES
    measured: Any
    unit: str
    op: str
    threshold: Any
    threshold_text: str
    window: str | None                # "15 s" for a windowed criterion
    worst_window: tuple[str, str] | None   # ISO start and end of the worst window
    aggregate: str
    select: dict[str, str]
    severity: str
    subject: str                      # the subject that decided it
    subjects: int
    failing: int
    explanation: str
    evidence: list[str]
    source: str                       # the standard or guidance the threshold comes from
    description: str
    origin: str                       # profile file and line

    @classmethod
    def of(cls, c: Criterion, v: Verdict) -> "CriterionResult":
        return cls(id=c.id, metric=c.metric, verdict=v.outcome, measured=v.measured, unit=c.unit, op=c.op,
                   threshold=c.threshold, threshold_text=c.threshold_text,
                   window=f"{c.window_s:g} s" if c.window_s else None,
                   worst_window=(store.utc_iso(v.window[0]), store.utc_iso(v.window[1])) if v.window else None,
                   aggregate=c.aggregate, select=dict(c.select), severity=c.severity, subject=v.subject,
                   subjects=v.subjects, failing=v.failing, explanation=v.explanation, evidence=list(v.evidence),
                   source=c.source, description=c.description, origin=c.origin)

    def to_json(self) -> dict[str, Any]:
        d = dict(vars(self))
        d["worst_window"] = ({"start": self.worst_window[0], "end": self.worst_window[1]}
                             if self.worst_window else None)
        return d


@dataclass(frozen=True)
class ProbeStatus:
    name: str
    status: str                       # running (cut short), ok, error, cancelled
    message: str = ""
    started: float | None = None
    finished: float | None = None


@dataclass(frozen=True)
class Note:
    probe: str
    level: str                        # info, warning, error
    message: str
    t: float | None = None


@dataclass
class RunResults:
    """A stored run, judged."""

    run_dir: Path
    run_id: str
    command: str
    profile: str
    profile_file: str
    site: str
    site_file: str
    host: str
    tool_version: str
    started: str
    finished: str | None
    complete: bool
    interrupted_reason: str
    verdict: str                      # pass, fail, incomplete
    criteria: list[CriterionResult]
    measurements: list[Measurement]
    not_measured: list[NotMeasured]
    series: list[Series]
    artefacts: list[Artefact]
    probes: dict[str, ProbeStatus]
    notes: list[Note]
    details: dict[str, Any]           # the probes' own accounts, stored as JSON (typed in readiness.details)
    damaged_lines: int = 0
    # criteria judged on one device's records alone, for per-device sections: device -> rows
    by_device: dict[str, list[CriterionResult]] = field(default_factory=dict)
    log_schema: str = store.EVENTS_SCHEMA    # the format events.jsonl says it has

    @property
    def counts(self) -> dict[str, int]:
        n = Counter(c.verdict for c in self.criteria)
        return {k: n.get(k, 0) for k in OUTCOMES}

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "schema": SCHEMA,
            "run_id": self.run_id,
            "command": self.command,
            "profile": self.profile,
            "profile_file": self.profile_file,
            "site": self.site,
            "site_file": self.site_file,
            "host": self.host,
            "tool_version": self.tool_version,
            "started": self.started,
            "finished": self.finished,
            "complete": self.complete,
            "interrupted_reason": self.interrupted_reason,
            "verdict": self.verdict,
            "counts": self.counts,
            "criteria": [c.to_json() for c in self.criteria],
            "measurements": [m.to_json() for m in self.measurements],
            "not_measured": [n.to_json() for n in self.not_measured],
            "series": [{"metric": s.metric, "subject": s.subject, "samples": len(s.values), "step": s.step}
                       for s in self.series],
            "artefacts": [a.to_json() for a in self.artefacts],
            "probes": {name: {"status": p.status, "message": p.message, "started": p.started,
                              "finished": p.finished} for name, p in self.probes.items()},
            "notes": [vars(n) for n in self.notes],
            "damaged_lines": self.damaged_lines,
        }
        # Each probe's detail under its own top-level key (calls, summary, devices, rtp_streams, ...),
        # as the one-probe commands printed them before they were runs.
        for key, value in self.details.items():
            doc.setdefault(key, value)
        if self.by_device and isinstance(doc.get("devices"), list):
            doc["devices"] = [dict(d, criteria=[c.to_json() for c in self.by_device.get(d.get("name"), [])])
                              for d in doc["devices"]]
        return doc


def judge(log: store.RunLog) -> RunResults:
    info = log.info
    assert info is not None
    verdicts = evaluate(info.criteria, log.measurements, log.series, log.not_measured)
    interrupted = log.interrupted
    finished_t = log.finished["t"] if log.finished else log.last_t
    reason = ""
    if interrupted:
        reason = (log.finished or {}).get("reason") or "the run stopped before it finished (killed or crashed)"
    return RunResults(
        run_dir=log.dir, run_id=info.run_id, command=info.command, profile=info.profile,
        profile_file=info.profile_file, site=info.site, site_file=info.site_file, host=info.host,
        tool_version=info.tool_version, started=info.started,
        finished=store.utc_iso(finished_t) if finished_t else None, complete=not interrupted,
        interrupted_reason=reason, verdict=run_verdict(verdicts, interrupted),
        criteria=[CriterionResult.of(c, v) for c, v in zip(info.criteria, verdicts)],
        measurements=log.measurements, not_measured=log.not_measured, series=log.series, artefacts=log.artefacts,
        probes={name: ProbeStatus(name, p.get("status", ""), p.get("message", ""), p.get("started"),
                                  p.get("finished")) for name, p in log.probes.items()},
        notes=[Note(n["probe"], n["level"], n["message"], n.get("t")) for n in log.notes],
        details=log.details, damaged_lines=log.torn_lines, by_device=_by_device(info.criteria, log),
        log_schema=log.schema)


def _by_device(criteria: list[Criterion], log: store.RunLog) -> dict[str, list[CriterionResult]]:
    """Each device's criteria, judged on its records alone (the criteria it has records of)."""
    devices = list(dict.fromkeys(r.tags["device"] for r in [*log.measurements, *log.not_measured]
                                 if r.probe == "snmp" and "device" in r.tags))
    out: dict[str, list[CriterionResult]] = {}
    for device in devices:
        ms = [m for m in log.measurements if m.tags.get("device") == device]
        nm = [n for n in log.not_measured if n.tags.get("device") == device]
        metrics = {r.metric for r in [*ms, *nm]}
        mine = [c for c in criteria if c.metric in metrics]
        out[device] = [CriterionResult.of(c, v) for c, v in zip(mine, evaluate(mine, ms, [], nm))]
    return out


def load(run_dir: Path) -> RunResults:
    """Read a run folder and judge it."""
    return judge(store.read(Path(run_dir)))


def exit_status(verdict: str) -> int:
    """0 all passed, 1 a criterion failed, 2 could not run everything (incomplete)."""
    return {"pass": 0, "fail": 1}.get(verdict, 2)
