"""The runner's SNMP probes: the audit before the traffic (every device, every metric, a snapshot), and
the counters again after it (`if.errors_during_test`: errors and discards the test itself caused).
Both are named `snmp`; the audit hands its snapshot to the second through `ctx.shared`."""

from __future__ import annotations

import json

from ...config.site import SiteSpec
from ...details.snmp import DEVICES
from ...model import Artefact, Detail, Measurement, NotMeasured
from ..base import Probe, ProbeContext
from . import audit, counters, poll, snapshot

SHARED_KEY = "snmp.before"     # ctx.shared: [(Polled, voice-path ports)] of the switches


def _configured(site: SiteSpec) -> str | None:
    if site.snmp is None or not site.snmp.devices:
        return "the site file has no snmp: devices"
    return None


class SnmpAuditProbe(Probe):
    name = "snmp"
    phase = "audit"

    def metrics(self) -> list[str]:
        return [m for m in super().metrics() if m != "if.errors_during_test"]

    def configured(self, site: SiteSpec) -> str | None:
        return _configured(site)

    async def run(self, ctx: ProbeContext) -> None:
        targets = poll.chosen(ctx.site)
        out = ctx.recorder.artefact_dir(self.name)
        task = ctx.progress.task("SNMP audit", total=len(targets))
        done: list[str] = []

        def progress(p: poll.Polled) -> None:
            done.append(p.target.label)
            ctx.progress.update(task, completed=len(done), info=p.target.label)

        reports, plans = await audit.audit_devices(ctx.site, on_done=progress)
        index = snapshot.write(out / "before", [r.polled for r in reports], "before traffic")
        ctx.recorder.artefact(Artefact(ctx.recorder.relative(index), "snmp-snapshot", self.name,
                                       "raw SNMP values of every device before the traffic (.snmprec)"))
        before = []
        for report in reports:
            p = report.polled
            doc = report.to_json()
            path = out / f"{snapshot.file_name(p.target.label)}.json"
            path.write_text(json.dumps(doc, indent=2, default=str))
            rel = ctx.recorder.relative(path)
            ctx.recorder.detail(Detail(DEVICES, doc, self.name, append=True))
            ctx.recorder.artefact(Artefact(rel, "snmp-device", self.name, f"SNMP audit of {p.target.label}"))
            for rec in audit.records(report, [rel]):
                (ctx.recorder.measurement if isinstance(rec, Measurement) else ctx.recorder.not_measured)(rec)
            if not p.reachable:
                ctx.recorder.note(self.name, "warning", f"{p.target.label}: {p.error}")
            elif p.target.role == "switch":
                before.append((p, audit.voice_path(report, plans[p.target.label])))
        for n in audit.absent_roles(targets, sorted(m for m in ctx.wanted if m in self.metrics())):
            ctx.recorder.not_measured(n)
        ctx.shared[SHARED_KEY] = before
        reachable = sum(r.reachable for r in reports)
        ctx.progress.done(task, f"{reachable} of {len(reports)} devices answered")


class SnmpCountersProbe(Probe):
    name = "snmp"
    phase = "after"

    def metrics(self) -> list[str]:
        return ["if.errors_during_test"]

    def configured(self, site: SiteSpec) -> str | None:
        return _configured(site)

    async def run(self, ctx: ProbeContext) -> None:
        metric = "if.errors_during_test"
        before = ctx.shared.get(SHARED_KEY)
        if before is None:
            ctx.recorder.not_measured(NotMeasured(metric, "no SNMP snapshot was taken before the traffic",
                                                  probe=self.name))
            return
        if not before:
            ctx.recorder.not_measured(NotMeasured(metric, "no switch answered SNMP before the traffic",
                                                  probe=self.name))
            return
        task = ctx.progress.task("SNMP counters", total=len(before))
        after = await poll.poll_all([b.target for b, _ in before], counters_only=True)
        out = ctx.recorder.artefact_dir(self.name)
        index = snapshot.write(out / "after", after, "after traffic (counters)")
        rel = ctx.recorder.relative(index)
        ctx.recorder.artefact(Artefact(rel, "snmp-snapshot", self.name, "interface counters after the traffic"))
        for (b, ports), a in zip(before, after):
            self._record(ctx, b, a, ports, [rel, ctx.recorder.relative(out / "before" / snapshot.INDEX)])
        ctx.progress.done(task, "counters compared")

    def _record(self, ctx: ProbeContext, b: poll.Polled, a: poll.Polled, ports: dict[int, str],
                evidence: list[str]) -> None:
        metric = "if.errors_during_test"
        label = b.target.label
        tags = {"device": label, "role": b.target.role}
        found, why = counters.deltas(b, a, ports)
        if why:
            ctx.recorder.not_measured(NotMeasured(metric, why, subject=label, probe=self.name, tags=tags))
            return
        if not found:
            ctx.recorder.not_measured(NotMeasured(metric, "no port on the voice path to compare", subject=label,
                                                  probe=self.name, tags=tags))
            return
        for d in found:
            port_tags = {**tags, "port": d.port}
            if d.total is None:
                ctx.recorder.not_measured(NotMeasured(metric, d.reason, subject=f"{label} {d.port}",
                                                      probe=self.name, tags=port_tags))
                continue
            grew = ", ".join(f"{k} +{v}" for k, v in d.growth.items() if v)
            ctx.recorder.measurement(Measurement(metric, d.total, "errors",
                                                 f"{label} {d.port}" + (f" ({grew})" if grew else ""),
                                                 self.name, b.finished, a.started, port_tags, list(evidence)))
