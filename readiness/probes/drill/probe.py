"""The `drill` probe of `readiness drill`: hold the drill's calls through a failure, place test calls
beside them, and record what the drill found (analysis/failover.py): failover.media_gap_ms per held
call and direction, failover.calls_dropped, failover.recovery_s per outage, and the `drill` detail
(outages, calls survived and dropped, recovery, marks, target failovers, phases, sources seen).

It runs only when `readiness drill` asks for it: someone has to pull the cable.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys

from ...analysis import failover
from ...config.site import SiteSpec
from ...details.drill import DRILL
from ...model import Artefact, Detail, Measurement, NotMeasured
from ...units import parse_duration_s
from ..base import Probe, ProbeContext
from ..calls.load import CallRecord, clocks_shared
from ..calls.probe import load_config
from .session import DrillConfig, DrillResult, DrillRunner
from .targets import expand

PROBE = "drill"
WORKS_MAX_LOSS_PCT = 50.0     # a test call that lost more of its 2 s of media did not work


def drill_config(site: SiteSpec) -> DrillConfig:
    d = site.drill
    assert d is not None
    load = load_config(site)
    load.calls = d.calls
    load.duration_s = parse_duration_s(d.duration)
    load.cps = min(load.cps, 50.0)
    targets = list(d.targets) or [load.target]
    load.target = targets[0]
    return DrillConfig(load, targets, parse_duration_s(d.new_calls_every),
                       failover_timeout_s=parse_duration_s(d.failover_timeout),
                       retry_primary_s=parse_duration_s(d.retry_primary))


def _works(r: CallRecord) -> bool:
    """A test call worked: answered, and its media flowed both ways (one answered just before a cut
    whose media then died did not)."""
    m = r.media
    return bool(r.answered and m is not None and all(
        d is not None and d.packets_received > 0 and d.loss_pct < WORKS_MAX_LOSS_PCT for d in (m.up, m.down)))


def held_calls(result: DrillResult) -> list[failover.HeldCall]:
    out = []
    for r in result.records:
        if r.role != "held":
            continue
        view = result.views.get(r.index)
        hung_up = any("far end hung up" in n for n in r.stream_notes)
        out.append(failover.HeldCall(r.index + 1, r.answered, tuple(view.gaps) if view else (), hung_up,
                                     r.bye_status, r.answered and not hung_up,
                                     view.last_sent_s if view else None, r.source_seen,
                                     "" if r.answered else r.outcome.cause, tuple(view.moved) if view else ()))
    return out


def test_calls(result: DrillResult) -> list[failover.TestCall]:
    out = []
    for r in result.records:
        if r.role != "probe":
            continue
        o = r.outcome
        answered_at = r.started + o.setup_ms / 1000 if o.answered and o.setup_ms is not None else None
        cause = o.cause if not o.answered else ("answered" if _works(r) else "no media came back")
        out.append(failover.TestCall(r.index + 1, result.first_try.get(r.index, r.started), answered_at, _works(r),
                                     cause if o.status is None or o.answered else f"{o.status}", r.target,
                                     len(result.attempts.get(r.index, [])) + (1 if o.answered else 0) or 1,
                                     r.source_seen))
    return out


class DrillProbe(Probe):
    name = PROBE
    phase = "traffic"
    on_request = "a failover drill runs with `readiness drill` (someone pulls the cable while it runs)"

    def configured(self, site: SiteSpec) -> str | None:
        if site.drill is None:
            return "the site file has no drill: section"
        if site.calls is None and site.responder is None:
            return "a drill needs calls: or a responder: to call"
        return None

    async def run(self, ctx: ProbeContext) -> None:
        cfg = drill_config(ctx.site)
        cfg.targets, looked = await expand(cfg.targets, cfg.load.transport, ctx.site.drill.dns_server)
        cfg.load.target = cfg.targets[0]
        for d in looked:
            if d["targets"]:
                ctx.progress.say(f"drill: {d['domain']} -> {', '.join(d['targets'])} (DNS {d['via'].upper()}, RFC 3263)")
            if d["via"] == "a":
                ctx.recorder.note(PROBE, "warning", f"{d['domain']} has no SIP SRV records for "
                                  f"{cfg.load.transport.upper()}: its own address is called (RFC 3263 4.2)")
        cfg.load.clocks_synced = bool(ctx.site.calls and ctx.site.calls.synced_clocks) or clocks_shared(cfg.load.target)
        cfg.load.trace_dir = ctx.recorder.artefact_dir(PROBE) / "traces"
        runner = DrillRunner(cfg, ctx.progress)
        how = ("press Enter to mark (e.g. when the cable is pulled), or run `readiness drill --mark TEXT` in "
               "another shell" if sys.stdin is not None and sys.stdin.isatty() else
               "marks: `readiness drill --mark TEXT` in another shell")
        ctx.progress.say(f"drill: {cfg.load.calls} calls held for {cfg.load.duration_s:g} s, a test call every "
                         f"{cfg.new_call_every_s:g} s; {how}")
        result = await runner.drill_run()
        if result.marks_problem:
            ctx.recorder.note(PROBE, "warning", result.marks_problem)
        if result.clock_step_ms:
            ctx.recorder.note(PROBE, "warning", f"this machine's clock was stepped by {result.clock_step_ms:+.0f} ms "
                              "during the drill: gaps are measured on one clock and stay right unless the step fell "
                              "inside one, but times after the step are off by that much")
        for r in result.records:
            if r.role == "held" and r.trace is not None and r.trace.exists() and r.answered:
                ctx.recorder.artefact(Artefact(ctx.recorder.relative(r.trace), "call-trace", PROBE,
                                               f"held call {r.index + 1}: per-packet media trace"))
        held = held_calls(result)
        outcome = failover.summarise(held, test_calls(result), [(m.t, m.text) for m in result.marks])
        doc = outcome.to_json()
        doc.update(interrupted=result.interrupted, clock_step_ms=result.clock_step_ms, marks=[dataclasses.asdict(m) for m in result.marks],
                   failovers=[f.to_json() for f in result.failovers],
                   phases={k: v.to_json() for k, v in result.phases.items()},
                   targets=list(cfg.targets), dns=looked, started=result.started, ended=result.ended,
                   settings={"calls": cfg.load.calls, "duration_s": cfg.load.duration_s,
                             "new_calls_every_s": cfg.new_call_every_s, "new_call_hold_s": cfg.new_call_hold_s,
                             "failover_timeout_s": cfg.failover_timeout_s, "codec": cfg.load.codec,
                             "ptime_ms": cfg.load.ptime_ms})
        ctx.recorder.detail(Detail(DRILL, doc, PROBE))
        self._record(ctx, outcome, held, result, cfg)
        if result.interrupted:                   # recorded what it knew; the run ends here, incomplete
            raise asyncio.CancelledError

    def _record(self, ctx: ProbeContext, outcome: failover.DrillOutcome, held: list[failover.HeldCall],
                result: DrillResult, cfg: DrillConfig) -> None:
        rec = ctx.recorder
        start, end = result.started, result.ended
        for c in held:
            for d in failover.DIRECTIONS:
                tags = {"call": str(c.call), "direction": d, "path": cfg.load.label}
                subject = f"call {c.call} {d}"
                if not c.answered:
                    rec.not_measured(NotMeasured("failover.media_gap_ms", f"call not answered: {c.cause}", subject,
                                                 PROBE, tags))
                    continue
                gaps = [g for g in c.gaps if g.direction == d]
                open_gap = next((g for g in gaps if g.end is None), None)
                if open_gap is not None:      # never came back: at least until the call's end
                    value = 1000.0 * max(0.0, (c.media_end or end) - open_gap.start)
                    tags = dict(tags, until="end of call")
                else:
                    value = max((g.gap_ms or 0.0 for g in gaps), default=0.0)
                rec.measurement(Measurement("failover.media_gap_ms", round(value, 1), "ms", subject, PROBE, start, end,
                                            tags))
        if outcome.calls_held:
            rec.measurement(Measurement("failover.calls_dropped", outcome.calls_dropped, "calls", "drill", PROBE,
                                        start, end, {"path": cfg.load.label}))
        else:
            rec.not_measured(NotMeasured("failover.calls_dropped", "no held call was answered", "drill", PROBE))
        reports = {o.outage: o for o in outcome.outages}
        if not reports and cfg.new_call_every_s <= 0:
            rec.not_measured(NotMeasured("failover.recovery_s", "no test calls were placed (new calls every 0 s)",
                                         "test calls", PROBE))
        if not reports and cfg.new_call_every_s > 0:     # nothing failed: new calls worked all along
            rec.measurement(Measurement("failover.recovery_s", 0.0, "s", "test calls", PROBE, start, end,
                                        {"outages": "none"}))
        for n, o in sorted(reports.items()):
            subject = f"outage {n}"
            if cfg.new_call_every_s <= 0:
                rec.not_measured(NotMeasured("failover.recovery_s", "no test calls were placed (new calls every 0 s)",
                                             subject, PROBE))
            elif o.recovery_ms is None:
                rec.measurement(Measurement("failover.recovery_s", round(end - o.start, 3), "s", subject, PROBE,
                                            o.start, end, {"until": "end of drill"}))
            else:
                rec.measurement(Measurement("failover.recovery_s", round(o.recovery_ms / 1000, 3), "s", subject, PROBE,
                                            o.start, o.end))
