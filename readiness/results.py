"""Turn a stored run (events.jsonl) into its results: verdicts judged now, from the log alone."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from . import store
from .acceptance.evaluate import evaluate, run_verdict
from .model import OUTCOMES, Criterion, Verdict

SCHEMA = "readiness.run/1"


def build(log: store.RunLog) -> dict[str, Any]:
    info = log.info
    assert info is not None
    verdicts = evaluate(info.criteria, log.measurements, log.series, log.not_measured)
    interrupted = log.interrupted
    finished_t = log.finished["t"] if log.finished else log.last_t
    counts = Counter(v.outcome for v in verdicts)
    reason = ""
    if interrupted:
        reason = (log.finished or {}).get("reason") or "the run stopped before it finished (killed or crashed)"
    return {
        "schema": SCHEMA,
        "run_id": info.run_id,
        "profile": info.profile,
        "profile_file": info.profile_file,
        "site": info.site,
        "site_file": info.site_file,
        "host": info.host,
        "tool_version": info.tool_version,
        "started": info.started,
        "finished": store.utc_iso(finished_t) if finished_t else None,
        "complete": not interrupted,
        "interrupted_reason": reason,
        "verdict": run_verdict(verdicts, interrupted),
        "counts": {k: counts.get(k, 0) for k in OUTCOMES},
        "criteria": [_criterion_row(c, v) for c, v in zip(info.criteria, verdicts)],
        "measurements": [m.to_json() for m in log.measurements],
        "not_measured": [n.to_json() for n in log.not_measured],
        "series": [{"metric": s.metric, "subject": s.subject, "samples": len(s.values), "step": s.step}
                   for s in log.series],
        "artefacts": [a.to_json() for a in log.artefacts],
        "probes": log.probes,
        "notes": log.notes,
        "damaged_lines": log.torn_lines,
    }


def _criterion_row(c: Criterion, v: Verdict) -> dict[str, Any]:
    return {
        "id": c.id,
        "metric": c.metric,
        "verdict": v.outcome,
        "measured": v.measured,
        "unit": c.unit,
        "op": c.op,
        "threshold": c.threshold,
        "threshold_text": c.threshold_text,
        "window": f"{c.window_s:g} s" if c.window_s else None,
        "worst_window": ({"start": store.utc_iso(v.window[0]), "end": store.utc_iso(v.window[1])}
                         if v.window else None),
        "aggregate": c.aggregate,
        "select": c.select,
        "severity": c.severity,
        "subject": v.subject,
        "subjects": v.subjects,
        "failing": v.failing,
        "explanation": v.explanation,
        "evidence": v.evidence,
        "source": c.source,
        "description": c.description,
        "origin": c.origin,
    }


def finalise(run_dir: Path) -> dict[str, Any]:
    """Rebuild results.json and the HTML summary of a run folder from its events.jsonl."""
    from .reports import summary_html

    log = store.read(run_dir)
    results = build(log)
    store.write_json(Path(run_dir) / store.RESULTS, results)
    summary_html.write(Path(run_dir), results)
    return results


def exit_status(verdict: str) -> int:
    """0 all passed, 1 a criterion failed, 2 could not run everything (incomplete)."""
    return {"pass": 0, "fail": 1}.get(verdict, 2)
