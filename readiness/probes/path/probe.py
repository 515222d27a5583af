"""The `path` probe: what the way to the far end does to SIP, per transport (`readiness path`, and in
`readiness run` whenever the site has a readiness responder with a key and the profile asks; the site
file's `path_checks:` picks the target and transports). Needs that responder at the far end."""

from __future__ import annotations

import time

from ...config.site import PathChecks, SiteSpec
from ...errors import ReadinessError
from ...model import Detail, Measurement, NotMeasured
from ..base import Probe, ProbeContext
from . import sip_rewrite

DETAIL = "path"


class PathProbe(Probe):
    name = "path"
    phase = "audit"

    def configured(self, site: SiteSpec) -> str | None:
        if site.responder is None or site.responder.key is None:
            return "path checks need a readiness responder with a key (responder: address, key)"
        return None

    async def run(self, ctx: ProbeContext) -> None:
        cfg, responder = ctx.site.path_checks or PathChecks(), ctx.site.responder   # with a responder: on by default
        assert responder is not None and responder.key is not None
        key = ctx.site.secret(responder.key).encode()
        target = cfg.target or f"sip:test@{responder.address}"
        signalling = ctx.site.markings.signalling_dscps()
        task = ctx.progress.task("path checks", total=len(cfg.transports))
        account: dict[str, dict] = {}
        for i, transport in enumerate(cfg.transports):
            ctx.progress.update(task, completed=i, info=f"SIP over {transport.upper()}")
            started = time.time()
            try:
                r = await sip_rewrite.check(target, key, transport, signalling[0] if signalling else 24)
            except ReadinessError as e:
                r = sip_rewrite.Rewrite(transport, error=str(e))
            account[transport] = r.to_json()
            subject = f"{target} ({transport.upper()})"
            tags = {"transport": transport}
            if r.error:
                for metric in ("path.sip_rewritten", "path.nat"):
                    ctx.recorder.not_measured(NotMeasured(metric, r.error, subject, self.name, tags))
            else:
                changed = ", ".join(f"{c['field']} {c['sent']} -> {c['seen']}" for c in r.changes)
                ctx.recorder.measurement(Measurement("path.sip_rewritten", bool(r.changes), "bool", subject,
                                                     self.name, started, time.time(),
                                                     dict(tags, changes=changed) if changed else tags))
                ctx.recorder.measurement(Measurement("path.nat", r.nat, "bool", subject, self.name, started,
                                                     time.time(), dict(tags, seen_from=r.seen_from, local=r.local)))
            ctx.recorder.detail(Detail(DETAIL, {"target": target, "transports": account}, self.name))
        ctx.progress.done(task, ", ".join(f"{t}: {'rewritten' if a['rewritten'] else a['error'] or 'unchanged'}"
                                          for t, a in account.items()))
