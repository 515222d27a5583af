"""The `calls` probe of `readiness run`: place the site's call load through the real network to the
far-end responder (or the site's SIP target) and record every call, each direction on its own.

Site file: `calls:` (target, transport, concurrent, cps, duration, codec, ptime_ms, username,
password, path, srtp) and `responder:` (address, key). Markings: `markings.media` on RTP, the first of
`markings.signalling` on SIP. Per-call traces are kept in the run folder as evidence.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time

from ...config.site import SiteSpec
from ...details.calls import CAPACITY
from ...errors import ReadinessError
from ...model import Artefact, Detail, Measurement, NotMeasured, Verdict
from ...units import parse_duration_s
from ..base import MemoryRecorder, Probe, ProbeContext, Recorder
from . import records
from .capacity import find_capacity
from .load import CallRecord, LoadConfig, LoadResult, LoadRunner, clocks_shared
from .phases import PHASES, PhasePlan
from .sip import Credentials


def load_config(site: SiteSpec) -> LoadConfig:
    """The call load the site file asks for (secrets resolved here, at the last moment)."""
    calls, responder = site.calls, site.responder
    if calls is None:
        raise ReadinessError("the site file has no calls: section")
    target = calls.target
    key = None
    if responder is not None:
        if target is None:
            target = f"sip:test@{responder.address}"
        if responder.key is not None:
            key = site.secret(responder.key).encode()
    if target is None:
        raise ReadinessError("calls: has no target and the site file has no responder:")
    creds = None
    if calls.username:
        if calls.password is None:
            raise ReadinessError("calls.username is set but calls.password is not (env:NAME or file:PATH)")
        creds = Credentials(calls.username, site.secret(calls.password))
    signalling = site.markings.signalling_dscps()
    under_load = None
    if calls.under_load and calls.find_capacity:
        raise ReadinessError("calls.under_load and calls.find_capacity do not go together: search the capacity first")
    if calls.under_load:
        server = calls.load_server or (site.iperf.load_server or site.iperf.server if site.iperf else None)
        if server is None:
            raise ReadinessError("calls.under_load needs an iperf3 server for the load: calls.load_server "
                                 "(or iperf.server)")
        under_load = PhasePlan(server, calls.load_mbps, calls.load_direction)
    return LoadConfig(under_load=under_load, target=target, calls=calls.concurrent, cps=calls.cps,
                      duration_s=parse_duration_s(calls.duration), codec=calls.codec, ptime_ms=calls.ptime_ms,
                      transport=calls.transport, media_dscp=site.markings.media_dscp(),
                      tls_ca_file=str(site.path(calls.tls_ca_file)) if calls.tls_ca_file else None,
                      sip_dscp=signalling[0] if signalling else 24, key=key, credentials=creds,
                      label=calls.path, srtp=calls.srtp)


def no_phases(recorder: Recorder, wanted: set[str], phases: set[str]) -> None:
    """Calls without load: a criterion on a phase (or on the drop under load) has nothing to judge;
    absent, so an optional one is not applicable rather than a gap."""
    why = "the calls ran without load (calls.under_load: true, or readiness calls --load-server)"
    if "call.mos_drop" in wanted:
        recorder.not_measured(NotMeasured("call.mos_drop", why, "calls under load", "calls", absent=True))
    for metric in records.PHASE_METRICS:
        for phase in sorted(phases & set(PHASES)) if metric in wanted else ():
            recorder.not_measured(NotMeasured(metric, why, "calls under load", "calls", {"phase": phase},
                                              absent=True))


class CallsProbe(Probe):
    name = "calls"
    phase = "traffic"

    def configured(self, site: SiteSpec) -> str | None:
        if site.calls is None:
            return "the site file has no calls: section"
        if site.calls.target is None and site.responder is None:
            return "calls: has no target and the site file has no responder:"
        return None

    async def run(self, ctx: ProbeContext) -> None:
        cfg = load_config(ctx.site)
        cfg.clocks_synced = ctx.site.calls.synced_clocks or clocks_shared(cfg.target)
        if ctx.site.calls.find_capacity:
            await self._capacity(ctx, cfg)
            return
        cfg.trace_dir = ctx.recorder.artefact_dir(self.name) / "traces"
        if cfg.under_load is not None:
            cfg.under_load = dataclasses.replace(cfg.under_load, save=ctx.recorder.artefact_dir(self.name) / "load.json")
        else:
            self._no_phases(ctx)
        rows: list[records.CallRow] = []

        def scored(c: CallRecord) -> None:     # each call to the log as soon as it is scored (flat memory)
            rows.append(self._record_call(ctx, cfg, c))

        result = await LoadRunner(cfg, ctx.progress, on_scored=scored).run()
        if result.phases is not None and result.phases.load.evidence:
            result.phases.load.evidence = ctx.recorder.relative(cfg.under_load.save)
            ctx.recorder.artefact(Artefact(result.phases.load.evidence, "iperf3-json", self.name,
                                           "the best-effort TCP load of the calls' loaded phase"))
        records.record_load(ctx.recorder, result, rows)
        if "call.capacity_calls" in ctx.wanted:
            ctx.recorder.not_measured(NotMeasured("call.capacity_calls", "the capacity is searched with "
                                                  "calls.find_capacity (readiness calls --find-capacity)",
                                                  probe=self.name))
        failed = result.failures_by_cause()
        if failed:
            ctx.recorder.note(self.name, "warning", "calls not answered: " +
                              ", ".join(f"{k}: {v}" for k, v in sorted(failed.items())))
        if result.interrupted:                   # recorded what the calls had; the run ends here, incomplete
            raise asyncio.CancelledError

    def _record_call(self, ctx: ProbeContext, cfg: LoadConfig, c: CallRecord) -> records.CallRow:
        evidence = []
        if c.trace is not None and c.trace.exists() and c.outcome.answered:
            evidence.append(ctx.recorder.relative(c.trace))
            ctx.recorder.artefact(Artefact(evidence[0], "call-trace", self.name,
                                           f"call {c.index + 1}: per-packet media trace (readiness.probes.calls.media.trace)"))
        return records.record_call(ctx.recorder, c, cfg.label, evidence)

    def _no_phases(self, ctx: ProbeContext) -> None:
        no_phases(ctx.recorder, ctx.wanted, ctx.wanted_phases)

    async def _capacity(self, ctx: ProbeContext, cfg: LoadConfig) -> None:
        """Steps of call loads, each judged by the run's judge on the call criteria; the largest that
        passed is call.capacity_calls. The steps' own calls are not the run's records."""
        calls = ctx.site.calls
        judge = ctx.judge
        if judge is None:
            raise ReadinessError("a capacity search needs the run's criteria to judge each step")

        def step_verdicts(result: LoadResult) -> list[Verdict]:
            rec = MemoryRecorder()
            records.record(rec, result, details=False)
            no_phases(rec, set(records.PHASE_METRICS) | {"call.mos_drop"}, set(PHASES))
            verdicts = judge(rec.measurements, rec.series_list, rec.missing, self.name)
            return [v for v in verdicts if v.metric != "call.capacity_calls"]

        started = time.time()
        search = await find_capacity(cfg, step_verdicts, calls.max_calls, calls.concurrent, ctx.progress)
        ctx.recorder.detail(Detail(CAPACITY, search.to_json(), self.name))
        more = " (the upper bound: it may carry more)" if search.limited_by_max else ""
        ctx.recorder.measurement(Measurement("call.capacity_calls", search.capacity_calls, "calls",
                                             f"capacity search, {len(search.steps)} steps{more}", self.name,
                                             started, time.time(), {"path": cfg.label}))
