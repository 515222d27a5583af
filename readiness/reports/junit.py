"""A run as JUnit XML, for CI systems (GitLab, Jenkins, Azure DevOps) that show test results.

One <testsuite> per probe, one <testcase> per criterion. The build is red exactly when the run
cannot be signed (verdict fail or incomplete), so the JUnit agrees with the exit status:
  fail            -> <failure type="must"> with measured vs. required
  warn            -> a passing case with the note in <system-out>: a missed should-criterion is
                     "accepted with reservations", which must not break a pipeline
  error           -> <error>
  not measured    -> <skipped> with the reason
  not applicable  -> <skipped> with the reason
Skipped cases alone leave a report green, so an incomplete run gets one more case, `run-complete`
in suite `run`, whose <error> says why it cannot be signed.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime

from ..metrics import METRICS
from ..results import CriterionResult, RunResults
from . import findings as findings_mod
from .language import Language
from .markdown import incomplete_reason
from .protocol import Protocol
from .subjects import where_text

# XML 1.0 forbids most control characters; a device's sysDescr or a SIP reason may carry them.
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def render(protocol: Protocol) -> str:
    """The JUnit XML text of a run (UTF-8, with declaration), with the protocol's findings and gaps."""
    results, lang = protocol.results, protocol.lang
    by_probe: dict[str, list[CriterionResult]] = {}
    for c in results.criteria:
        by_probe.setdefault(probe_of(c), []).append(c)
    found = {f.criterion: f for f in protocol.findings}
    reasons = {cid: g.reason for g in protocol.gaps for cid in g.criteria}

    root = ET.Element("testsuites", name=_clean(f"readiness {results.profile}: {results.site}"))
    suites = [_suite(results, lang, probe, cs, found, reasons) for probe, cs in by_probe.items()]
    if results.verdict == "incomplete":
        suites.append(_run_suite(results, lang))
    for suite in suites:
        root.append(suite)
    for key in ("tests", "failures", "errors", "skipped"):
        root.set(key, str(sum(int(s.get(key, "0")) for s in suites)))
    root.set("time", _seconds(_span(results.started, results.finished)))
    if results.started:
        root.set("timestamp", _timestamp(results.started))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=False).join(
        ('<?xml version="1.0" encoding="UTF-8"?>\n', "\n"))


def probe_of(c: CriterionResult) -> str:
    """The probe that measures a criterion's metric (profiles only name catalogued metrics)."""
    metric = METRICS.get(c.metric)
    return metric.probe if metric else c.metric.partition(".")[0]


def _suite(results: RunResults, lang: Language, probe: str, criteria: list[CriterionResult],
           found: dict[str, findings_mod.Finding], reasons: dict[str, str]) -> ET.Element:
    status = results.probes.get(probe)
    started = status.started if status and status.started is not None else None
    finished = status.finished if status and status.finished is not None else None
    suite = ET.Element("testsuite", name=probe)
    props = _properties(results, lang)
    if status:
        _prop(props, "probe_status", status.status)
        _prop(props, "probe_message", status.message)
    suite.append(props)
    counts = {"failures": 0, "errors": 0, "skipped": 0}
    for c in criteria:
        case, kind = _case(c, lang, probe, found.get(c.id), reasons.get(c.id))
        suite.append(case)
        if kind:
            counts[kind] += 1
    suite.set("tests", str(len(criteria)))
    for key, n in counts.items():
        suite.set(key, str(n))
    # A probe that never reported its times ran inside the run's window: charge nothing rather than guess.
    suite.set("time", _seconds(finished - started if started is not None and finished is not None else None))
    suite.set("timestamp", _timestamp(started if started is not None else results.started))
    if results.host:
        suite.set("hostname", _clean(results.host))
    return suite


def _case(c: CriterionResult, lang: Language, probe: str, finding: findings_mod.Finding | None,
          reason: str | None) -> tuple[ET.Element, str | None]:
    """The testcase of one criterion and which count it adds to (None: it passed)."""
    case = ET.Element("testcase", name=c.id, classname=f"readiness.{probe}")
    measured = finding.measured if finding else lang.value(c.measured, c.unit)
    required = finding.required if finding else findings_mod.required(c, lang)
    headline = lang.pick("gemessen {m}, gefordert {r}", "measured {m}, required {r}", m=measured, r=required)
    details = _details(c, lang, finding, measured, required)
    kind: str | None = None
    if c.verdict == "fail":
        ET.SubElement(case, "failure", message=_clean(headline), type=c.severity).text = _clean(details)
        kind = "failures"
    elif c.verdict == "error":
        message = c.explanation or lang.pick("Die Messung ist fehlgeschlagen.", "The measurement went wrong.")
        ET.SubElement(case, "error", message=_clean(message), type="error").text = _clean(details)
        kind = "errors"
    elif c.verdict in ("not_measured", "not_applicable"):
        message = reason or c.explanation or lang.outcome(c.verdict)
        ET.SubElement(case, "skipped", message=_clean(f"{lang.outcome(c.verdict)}: {message}"))
        kind = "skipped"
    else:
        if c.verdict == "warn":
            note = lang.pick("Warnung (Soll-Kriterium, bricht den Build nicht): {h}",
                             "Warning (should-criterion, does not fail the build): {h}", h=headline)
            details = f"{note}\n{details}"
        ET.SubElement(case, "system-out").text = _clean(details)
    return case, kind


def _details(c: CriterionResult, lang: Language, finding: findings_mod.Finding | None,
             measured: str, required: str) -> str:
    """The lines a CI user reads under a case: what, where, measured, required, why, what to do."""
    rows = [(lang.pick("Kriterium", "Criterion"), finding.title if finding else findings_mod.title(c, lang)),
            (lang.pick("Ergebnis", "Result"), lang.outcome(c.verdict)),
            (lang.pick("Einstufung", "Severity"),
             finding.severity_text if finding else lang.pick("Muss", "must") if c.severity == "must"
             else lang.pick("Soll", "should")),
            (lang.pick("Gemessen", "Measured"), measured),
            (lang.pick("Gefordert", "Required"), required),
            (lang.pick("Ort", "Where"), finding.where if finding else where_text(c.subject, lang)),
            (lang.pick("Maßnahme", "Measure"), finding.measure if finding else ""),
            (lang.pick("Grundlage", "Source"), finding.source if finding else findings_mod.source(c.source, lang))]
    if c.worst_window:
        rows.append((lang.pick("Schlechtestes Fenster", "Worst window"),
                     f"{lang.when(c.worst_window[0], seconds=True)} – {lang.when(c.worst_window[1], seconds=True)}"))
    evidence = finding.evidence if finding else c.evidence
    if evidence:
        rows.append((lang.pick("Belege", "Evidence"), ", ".join(evidence)))
    return "\n".join(f"{k}: {v}" for k, v in rows if v)


def _run_suite(results: RunResults, lang: Language) -> ET.Element:
    """The one case that turns the report red when the run cannot be signed though nothing failed."""
    suite = ET.Element("testsuite", name="run", tests="1", failures="0", errors="1", skipped="0",
                       time=_seconds(_span(results.started, results.finished)),
                       timestamp=_timestamp(results.started))
    suite.append(_properties(results, lang))
    case = ET.SubElement(suite, "testcase", name="run-complete", classname="readiness.run")
    reason = incomplete_reason(results, lang)
    ET.SubElement(case, "error", message=_clean(reason), type="incomplete").text = _clean(
        lang.pick("Der Lauf ist unvollständig und kann nicht abgenommen werden: {r}",
                  "The run is incomplete and cannot be signed off: {r}", r=reason))
    return suite


def _properties(results: RunResults, lang: Language) -> ET.Element:
    props = ET.Element("properties")
    for name, value in (("profile", results.profile), ("site", results.site), ("verdict", results.verdict),
                        ("acceptance", lang.acceptance(findings_mod.acceptance(results))),
                        ("run_id", results.run_id), ("tool_version", results.tool_version),
                        ("warnings", str(results.counts["warn"]))):
        _prop(props, name, value)
    if results.verdict == "incomplete":
        _prop(props, "incomplete_reason", incomplete_reason(results, lang))
    return props


def _prop(props: ET.Element, name: str, value: str) -> None:
    if value:                     # an empty property says nothing and reads like a gap in the report
        ET.SubElement(props, "property", name=name, value=_clean(value))


def _clean(text: str) -> str:
    return _NOT_XML.sub("\ufffd", str(text))


def _parse(moment: str | None) -> datetime | None:
    if not moment:
        return None
    try:
        return datetime.fromisoformat(moment.replace("Z", "+00:00"))
    except ValueError:
        return None


def _span(start: str | None, end: str | None) -> float | None:
    a, b = _parse(start), _parse(end)
    return (b - a).total_seconds() if a and b else None


def _seconds(value: float | None) -> str:
    return f"{max(value or 0.0, 0.0):.3f}"


def _timestamp(moment: str | float | None) -> str:
    """ISO 8601 in UTC without offset, as the format's original (Apache Ant) writer does."""
    from datetime import timezone
    if isinstance(moment, (int, float)):
        dt = datetime.fromtimestamp(float(moment), timezone.utc)
    else:
        dt = _parse(moment)
        if dt is None:
            return ""
    if dt.tzinfo:
        dt = dt.astimezone(timezone.utc)
    return dt.replace(tzinfo=None).isoformat(timespec="seconds")
