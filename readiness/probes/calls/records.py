"""A call load's result as the run's records (Measurement, Series, NotMeasured) and its details (one
CallRow per call, the LoadSummary). Probes record, never judge: nothing here compares a threshold.

Tags on every per-call record: `call` (1-based), `direction` (up = towards the far end, down =
back), `path` (the site file's calls.path, which profiles `select`). An unanswered call records its
failure (call.failed, call.answered_pct) and every media metric as not measured for that call, so it
can never pass a criterion.
"""

from __future__ import annotations

import statistics
from typing import Any

import numpy as np

from ... import dscp as dscp_names
from ... import metrics as catalog
from ...details import calls as detail
from ...details.calls import CallRow, LoadSummary
from ...details.phases import PHASES_KEY
from ...model import Detail, Measurement, NotMeasured, Series
from ..base import Recorder
from .load import CallRecord, LoadResult
from .scoring import SECOND, DirectionMetrics

PROBE = "calls"
DIRECTION_METRICS = ("rtp.loss_pct", "rtp.burst_ratio", "rtp.burst_density_pct", "rtp.jitter_ms",
                     "rtp.one_way_delay_ms", "rtp.reorder_pct", "rtp.duplicate_pct", "rtp.dscp_received",
                     "rtp.dscp_remarked_pct", "call.mos", "call.r_factor", "call.mouth_to_ear_ms")
# The generator's own fidelity per call (scoring.with_fidelity): judged so the network is not blamed for it.
GENERATOR_METRICS = ("generator.slip_max_ms", "generator.late_packets", "generator.hold_max_ms",
                     "generator.late_replies")
CALL_METRICS = ("call.setup_ms", "rtp.rtt_ms", "rtp.schedule_error_ms") + GENERATOR_METRICS
# Judged per phase of calls under load (tag `phase`: alone, loaded, after), and the drop between them.
PHASE_METRICS = ("call.mos", "rtp.loss_pct", "rtp.jitter_ms", "rtp.one_way_delay_ms", "rtp.rtt_ms")

# Causes that mean no call reached a far end: the path could not be measured at all (not a failed test).
UNREACHED = ("dns", "unreachable", "refused")


def _unit(metric: str) -> str:
    return catalog.METRICS[metric].unit


def _direction_values(d: DirectionMetrics) -> dict[str, Any]:
    return {"rtp.loss_pct": d.loss_pct, "rtp.burst_ratio": d.burst_ratio, "rtp.burst_density_pct": d.burst_density_pct,
            "rtp.jitter_ms": d.jitter_ms, "rtp.one_way_delay_ms": d.one_way_ms, "rtp.reorder_pct": d.reorder_pct,
            "rtp.duplicate_pct": d.duplicate_pct, "rtp.dscp_received": d.dscp_received,
            "rtp.dscp_remarked_pct": d.dscp_remarked_pct, "call.mos": d.mos, "call.r_factor": d.r_factor,
            "call.mouth_to_ear_ms": d.mouth_to_ear_ms}


def _why_missing(metric: str, d: DirectionMetrics) -> str:
    if metric in ("rtp.dscp_received", "rtp.dscp_remarked_pct") and d.source == "rtcp":
        return "a third-party far end does not report the DSCP it received (only a readiness responder does)"
    if metric in ("call.mos", "call.r_factor", "call.mouth_to_ear_ms"):
        return "no delay measured (no RTT from the far end), so no E-model rating"
    return "not measured on this direction"


def record(rec: Recorder, result: LoadResult, evidence: dict[int, str] | None = None, details: bool = True) -> None:
    """Write every call's records (and with `details` its row), then the load-wide ones."""
    evidence = evidence or {}
    rows = [record_call(rec, c, result.config.label, [evidence[c.index]] if c.index in evidence else [], details)
            for c in result.calls]
    record_load(rec, result, rows, details)


def record_call(rec: Recorder, c: CallRecord, path: str, evidence: list[str], details: bool = True) -> CallRow:
    """One call's records and row, as soon as it is scored: its series go to the log now, so a long
    load never holds every call's series at once (see LoadRunner's on_scored)."""
    _record_call(rec, c, path, evidence)
    row = call_row(c)
    if details:
        rec.detail(Detail(detail.CALLS, row.to_json(), PROBE, append=True))
    return row


def record_load(rec: Recorder, result: LoadResult, rows: list[CallRow], details: bool = True) -> None:
    """The load-wide records once every call is recorded: its summary, phases and answered share."""
    path = result.config.label
    if details:
        rec.detail(Detail(detail.SUMMARY, load_summary(result, rows).to_json(), PROBE))
    if result.phases is not None:
        record_phases(rec, result)
        if details:
            rec.detail(Detail(PHASES_KEY, result.phases.to_json(), PROBE))
    n = len(result.calls)
    answered = len(result.answered())
    tags = {"path": path}
    if n and not answered and all(c.outcome.cause in UNREACHED for c in result.calls):
        why = f"no call reached the far end: {_causes(result)}"
        rec.not_measured(NotMeasured("call.answered_pct", why, "all calls", PROBE, tags))
        rec.not_measured(NotMeasured("call.failed", why, "all calls", PROBE, tags))
        return
    rec.measurement(Measurement("call.answered_pct", 100.0 * answered / n if n else None, "%", "all calls", PROBE,
                                result.started, result.ended, tags,
                                reason="" if n else "no call was placed"))
    rec.measurement(Measurement("call.failed", n - answered, "count", "all calls", PROBE, result.started,
                                result.ended, dict(tags, causes=_causes(result))))


def _causes(result: LoadResult) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted(result.failures_by_cause().items())) or "none"


def _record_call(rec: Recorder, c: CallRecord, path: str, evidence: list[str]) -> None:
    call = str(c.index + 1)
    base = {"call": call, "path": path}
    subject = f"call {call}"
    o = c.outcome
    _record_sip_dscp(rec, c, subject, base, evidence)
    if not o.answered:
        reason = f"call not answered: {o.cause}" + (f" ({o.detail})" if o.detail else "")
        for metric in CALL_METRICS + ("call.post_dial_delay_ms",):
            rec.not_measured(NotMeasured(metric, reason, subject, PROBE, base))
        for direction in ("up", "down"):
            for metric in DIRECTION_METRICS:
                rec.not_measured(NotMeasured(metric, reason, f"{subject} {direction}", PROBE,
                                             dict(base, direction=direction)))
        return
    rec.measurement(Measurement("call.setup_ms", o.setup_ms, "ms", subject, PROBE, c.started, c.ended, base, evidence))
    if o.post_dial_delay_ms is not None:
        rec.measurement(Measurement("call.post_dial_delay_ms", o.post_dial_delay_ms, "ms", subject, PROBE,
                                    c.started, c.ended, base, evidence))
    m = c.media
    if m is None:
        for direction in ("up", "down"):
            for metric in DIRECTION_METRICS:
                rec.not_measured(NotMeasured(metric, "no media measured", f"{subject} {direction}", PROBE,
                                             dict(base, direction=direction)))
        return
    if m.schedule_error_p99_ms is not None:
        rec.measurement(Measurement("rtp.schedule_error_ms", m.schedule_error_p99_ms, "ms", subject, PROBE,
                                    c.started, c.ended, base, evidence))
    _record_fidelity(rec, c, m, subject, base, evidence)
    if m.rtt_p50_ms is not None:
        rec.measurement(Measurement("rtp.rtt_ms", m.rtt_p50_ms, "ms", subject, PROBE, c.started, c.ended,
                                    dict(base, stat="p50"), evidence))
        if m.rtt_1s and m.rtt_origin is not None:
            rec.series(Series("rtp.rtt_ms", "ms", subject, PROBE, m.rtt_origin, SECOND, m.rtt_1s, None, base))
    else:
        rec.not_measured(NotMeasured("rtp.rtt_ms", m.reason or "no round trip measured", subject, PROBE, base))
    for direction, d in (("up", m.up), ("down", m.down)):
        dsubject = f"{subject} {direction}"
        dtags = dict(base, direction=direction)
        if d is None:
            for metric in DIRECTION_METRICS:
                rec.not_measured(NotMeasured(metric, m.reason or "not measured", dsubject, PROBE, dtags))
            continue
        _record_direction(rec, d, dsubject, dtags, evidence)


def _record_fidelity(rec: Recorder, c: CallRecord, m: Any, subject: str, base: dict[str, str],
                     evidence: list[str]) -> None:
    values = {"generator.slip_max_ms": m.slip_max_ms, "generator.late_packets": m.late_packets,
              "generator.hold_max_ms": m.hold_max_ms, "generator.late_replies": m.late_replies}
    for metric, value in values.items():
        if value is not None:
            rec.measurement(Measurement(metric, value, _unit(metric), subject, PROBE, c.started, c.ended, base,
                                        evidence))
        elif metric in ("generator.hold_max_ms", "generator.late_replies") and not c.reflected:
            rec.not_measured(NotMeasured(metric, "a third-party far end does not stamp how long it held our "
                                         "packets (a readiness responder does)", subject, PROBE, base, absent=True))
        else:
            rec.not_measured(NotMeasured(metric, m.reason or "the sender's schedule was not measured", subject,
                                         PROBE, base))


def _record_sip_dscp(rec: Recorder, c: CallRecord, subject: str, base: dict[str, str], evidence: list[str]) -> None:
    """sip.dscp_received per direction: down is the DSCP our INVITE's final response arrived with,
    up what a readiness responder says our INVITE arrived with (X-Readiness-Received-DSCP)."""
    o = c.outcome
    for direction, value in (("up", c.sip_dscp_up), ("down", c.sip_dscp_down)):
        tags = dict(base, direction=direction)
        if value is not None:
            rec.measurement(Measurement("sip.dscp_received", value, "dscp", f"{subject} {direction}", PROBE,
                                        c.started, c.ended, tags, evidence))
            continue
        if c.transport != "udp":
            why = f"SIP over {c.transport.upper()}: the DSCP of received SIP is read on UDP only"
        elif o.status is None:
            why = f"no final response ({o.cause})"
        elif direction == "down":
            why = "the final response's DSCP was not read"
        elif not o.answered:
            why = f"call not answered ({o.status}): the far end reports what it received only in its 200 OK"
        else:
            why = "the far end does not report the DSCP our INVITE arrived with (a readiness responder with a key does)"
        rec.not_measured(NotMeasured("sip.dscp_received", why, f"{subject} {direction}", PROBE, tags))


def _record_direction(rec: Recorder, d: DirectionMetrics, subject: str, tags: dict[str, str],
                      evidence: list[str]) -> None:
    for metric, value in _direction_values(d).items():
        t = dict(tags)
        if metric in ("rtp.one_way_delay_ms", "call.mouth_to_ear_ms", "call.mos", "call.r_factor") and d.one_way_estimated:
            t["estimate"] = "one-way = rtt/2"
        if value is None:
            rec.not_measured(NotMeasured(metric, _why_missing(metric, d), subject, PROBE, t))
            continue
        rec.measurement(Measurement(metric, value, _unit(metric), subject, PROBE, d.start, d.end, t, evidence))
    if d.loss_200ms is not None and len(d.loss_200ms):
        rec.series(d.loss_200ms.to_series("rtp.loss_pct", "loss_pct", subject, PROBE, tags))
        rec.series(d.loss_200ms.to_series("rtp.reorder_pct", "late_pct", subject, PROBE, tags))
    if d.jitter_1s is not None and len(d.jitter_1s):
        rec.series(d.jitter_1s.to_series("rtp.jitter_ms", "jitter_ms", subject, PROBE, tags))
    if d.one_way_1s and d.jitter_1s is not None:
        rec.series(Series("rtp.one_way_delay_ms", "ms", subject, PROBE, d.jitter_1s.origin, SECOND, d.one_way_1s,
                          None, tags))


def record_phases(rec: Recorder, result: LoadResult) -> None:
    """Each answered call's metrics per phase, tagged `phase` (criteria judge them only when they
    select a phase), and call.mos_drop: MOS alone minus MOS loaded, per call and direction."""
    report = result.phases
    assert report is not None
    path = result.config.label
    absent = {name: _phase_absent(name, report) for name in ("alone", "loaded", "after") if name not in report.windows}
    for c in result.calls:
        if not c.answered or c.media is None:
            continue
        call = str(c.index + 1)
        base = {"call": call, "path": path}
        for name in ("alone", "loaded", "after"):
            tags = dict(base, phase=name)
            m = c.phase_media.get(name)
            why = absent.get(name) or (m.reason if m is not None and (m.up is None or m.down is None) else "") or \
                ("" if m is not None else "a third-party far end's call is not split into phases (a readiness "
                 "responder's is)")
            lo, hi = report.windows.get(name, (c.started, c.ended))
            if why:
                for metric in PHASE_METRICS:
                    for direction in (("up", "down") if metric != "rtp.rtt_ms" else (None,)):
                        t = dict(tags, direction=direction) if direction else tags
                        rec.not_measured(NotMeasured(metric, why, f"call {call} {name}", PROBE, t))
                continue
            if m.rtt_p50_ms is not None:
                rec.measurement(Measurement("rtp.rtt_ms", m.rtt_p50_ms, "ms", f"call {call} {name}", PROBE, lo, hi,
                                            dict(tags, stat="p50")))
            for direction, d in (("up", m.up), ("down", m.down)):
                values = {"call.mos": d.mos, "rtp.loss_pct": d.loss_pct, "rtp.jitter_ms": d.jitter_ms,
                          "rtp.one_way_delay_ms": d.one_way_ms}
                for metric, value in values.items():
                    subject = f"call {call} {direction} {name}"
                    t = dict(tags, direction=direction)
                    if value is None:
                        rec.not_measured(NotMeasured(metric, _why_missing(metric, d), subject, PROBE, t))
                    else:
                        rec.measurement(Measurement(metric, value, _unit(metric), subject, PROBE, lo, hi, t))
        _record_drop(rec, c, base, report)


def _phase_absent(name: str, report: Any) -> str:
    load = report.load
    if name == "loaded" and load.error:
        return f"the load did not run: {load.error}"
    if name == "after" and load.drain_s() > 1.0:
        return (f"the load's queued data took {load.drain_s():.1f} s to drain after it stopped sending, so "
                "nothing of the calls was left idle (a large queue on the path holds best-effort data)")
    return "this phase was too short to measure"


def _record_drop(rec: Recorder, c: CallRecord, base: dict[str, str], report: Any) -> None:
    alone, loaded = c.phase_media.get("alone"), c.phase_media.get("loaded")
    for direction in ("up", "down"):
        subject = f"call {base['call']} {direction}"
        tags = dict(base, direction=direction)
        a = getattr(alone, direction, None) if alone is not None else None
        b = getattr(loaded, direction, None) if loaded is not None else None
        if a is None or b is None or a.mos is None or b.mos is None:
            why = (f"the load did not run: {report.load.error}" if report.load.error
                   else "no MOS alone and under load for this call")
            rec.not_measured(NotMeasured("call.mos_drop", why, subject, PROBE, tags))
            continue
        rec.measurement(Measurement("call.mos_drop", round(a.mos - b.mos, 4) + 0.0, "MOS", subject, PROBE,
                                    report.windows["alone"][0], report.windows["loaded"][1], tags))


# --- details: a row per call and the load's summary ------------------------------------------------------

def _r(x: float | None, nd: int = 3) -> float | None:
    return None if x is None else round(float(x), nd)


def call_row(c: CallRecord) -> CallRow:
    o = c.outcome
    m = c.media
    up = m.up if m else None
    down = m.down if m else None
    moses = [d.mos for d in (up, down) if d is not None and d.mos is not None]
    rs = [d.r_factor for d in (up, down) if d is not None and d.r_factor is not None]
    return CallRow(
        call_id=o.call_id, index=c.index + 1, answered=o.answered, sip_status=o.status,
        cause=o.cause, detail=o.detail, setup_ms=_r(o.setup_ms), post_dial_delay_ms=_r(o.post_dial_delay_ms),
        codec=c.codec, ptime_ms=c.ptime_ms, far_end="responder" if c.reflected else "rtp-peer",
        mos=_r(min(moses), 4) if moses else None, r_factor=_r(min(rs)) if rs else None,
        mos_up=_r(up.mos, 4) if up else None, mos_down=_r(down.mos, 4) if down else None,
        packets_sent_up=up.packets_expected if up else (c.packets_sent if o.answered else 0),
        packets_lost_up=up.packets_lost if up else None,
        packets_sent_down=down.packets_expected if down else None,
        packets_lost_down=down.packets_lost if down else None,
        loss_pct_up=_r(up.loss_pct) if up else None, loss_pct_down=_r(down.loss_pct) if down else None,
        jitter_ms_up=_r(up.jitter_ms) if up else None, jitter_ms_down=_r(down.jitter_ms) if down else None,
        burst_ratio_up=_r(up.burst_ratio) if up else None, burst_ratio_down=_r(down.burst_ratio) if down else None,
        reorder_pct_up=_r(up.reorder_pct) if up else None, reorder_pct_down=_r(down.reorder_pct) if down else None,
        duplicate_pct_up=_r(up.duplicate_pct) if up else None,
        duplicate_pct_down=_r(down.duplicate_pct) if down else None,
        rtt_ms_p50=_r(m.rtt_p50_ms) if m else None, rtt_ms_p95=_r(m.rtt_p95_ms) if m else None,
        one_way_ms_up=_r(up.one_way_ms) if up else None, one_way_ms_down=_r(down.one_way_ms) if down else None,
        one_way_estimated=bool(up.one_way_estimated) if up else None,
        mouth_to_ear_ms_up=_r(up.mouth_to_ear_ms) if up else None,
        mouth_to_ear_ms_down=_r(down.mouth_to_ear_ms) if down else None,
        dscp_sent=c.dscp_sent,
        sip_dscp_received_up=c.sip_dscp_up, sip_dscp_received_down=c.sip_dscp_down,
        dscp_received_up=up.dscp_received if up else None, dscp_received_down=down.dscp_received if down else None,
        dscp_remarked_pct_up=_r(up.dscp_remarked_pct) if up else None,
        dscp_remarked_pct_down=_r(down.dscp_remarked_pct) if down else None,
        schedule_error_ms_p99=_r(m.schedule_error_p99_ms) if m else None,
        slip_max_ms=_r(m.slip_max_ms) if m else None, late_packets=m.late_packets if m else None,
        hold_max_ms=_r(m.hold_max_ms) if m else None, late_replies=m.late_replies if m else None,
        media_note=(m.reason if m else "") or "; ".join((up.notes if up else []) + (down.notes if down else [])),
    )


def _pct(values: list[float], q: float) -> float | None:
    return _r(float(np.percentile(values, q)), 4) if values else None


def load_summary(result: LoadResult, rows: list[CallRow]) -> LoadSummary:
    answered = [c for c in rows if c.answered]
    mos = [c.mos for c in answered if c.mos is not None]
    setup = [c.setup_ms for c in answered if c.setup_ms is not None]

    def values(field: str) -> list[float]:
        return [v for v in (getattr(c, field) for c in answered) if v is not None]

    def most(field: str) -> float | None:
        return max(values(field), default=None)

    median = values("rtt_ms_p50")
    return LoadSummary(
        target=result.config.target, codec=result.config.codec, ptime_ms=result.config.ptime_ms,
        calls_attempted=len(rows), calls_answered=len(answered), calls_failed=len(rows) - len(answered),
        answered_pct=_r(100.0 * len(answered) / len(rows)) if rows else None,
        failures_by_cause=result.failures_by_cause(), peak_concurrent=result.peak_concurrent,
        mos_min=_r(min(mos), 4) if mos else None, mos_p05=_pct(mos, 5),
        mos_median=_r(statistics.median(mos), 4) if mos else None,
        setup_ms_p50=_pct(setup, 50), setup_ms_p95=_pct(setup, 95),
        loss_pct_up_max=most("loss_pct_up"), loss_pct_down_max=most("loss_pct_down"),
        jitter_ms_up_max=most("jitter_ms_up"), jitter_ms_down_max=most("jitter_ms_down"),
        rtt_ms_p50_median=_r(statistics.median(median)) if median else None,
        dscp_sent=dscp_names.name(result.config.media_dscp),
        dscp_remarked_pct_up_max=most("dscp_remarked_pct_up"),
        dscp_remarked_pct_down_max=most("dscp_remarked_pct_down"),
        schedule_error_ms_p99=_r(result.schedule.quantile_ms(0.99)),
        slip_max_ms=most("slip_max_ms"), late_packets=sum(values("late_packets")) if values("late_packets") else None,
        hold_max_ms=most("hold_max_ms"), late_replies=sum(values("late_replies")) if values("late_replies") else None,
        started=result.started, ended=result.ended,
        far_end_agents=sorted({c.far_end_agent for c in result.calls if c.far_end_agent}),
    )


def to_json(result: LoadResult) -> dict[str, Any]:
    """`calls` and `summary` of a load, as the run document holds them (benchmarks and tests)."""
    rows = [call_row(c) for c in result.calls]
    return {detail.CALLS: [r.to_json() for r in rows], detail.SUMMARY: load_summary(result, rows).to_json()}
