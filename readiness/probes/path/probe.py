"""The `path` probe: the way to the provider and the provider's SIP service (`readiness path`, and in
`readiness run` when the profile judges its metrics). With a readiness responder and its key at the far
end: what the path does to SIP per transport (SIP ALG, NAT) and how long it keeps an idle UDP binding.
Against any SBC: OPTIONS pings, DNS as a phone resolves it (RFC 3263), and its TLS certificate. Each
check runs when its metrics are wanted and the site says where; one that cannot run is not measured,
the others go on."""

from __future__ import annotations

import time
from dataclasses import dataclass

from ...config.site import PathChecks, SiteSpec, split_host_port
from ...details import path as details
from ...errors import ReadinessError
from ...model import Detail, Measurement, NotMeasured
from ...units import parse_duration_s
from ..base import Probe, ProbeContext
from ..calls.sip.uri import SipUri
from ..calls.wire import calltoken
from ..calls.wire.srtp import SUITES as SRTP_SUITES
from . import dns_lookup, mtu, nat_binding, options_ping, ports, sip_rewrite, tls_check


@dataclass
class _Plan:
    cfg: PathChecks
    responder: str | None           # SIP URI of the readiness responder
    key: bytes | None
    sip_dscp: int
    udp_silent: str = ""            # the far end never answered over UDP: the other UDP checks need not wait


def _wants(ctx: ProbeContext, *metrics: str) -> bool:
    return not ctx.wanted or any(m in ctx.wanted for m in metrics)


class PathProbe(Probe):
    name = "path"
    phase = "audit"

    def configured(self, site: SiteSpec) -> str | None:
        cfg = site.path_checks
        if site.responder is not None and site.responder.key is not None:
            return None
        if cfg is not None and (cfg.options or cfg.dns_domain or cfg.tls):
            return None
        return ("path checks need a readiness responder with a key (responder: address, key), or path_checks "
                "with options, dns_domain or tls")

    async def run(self, ctx: ProbeContext) -> None:
        site = ctx.site
        cfg = site.path_checks or PathChecks()
        responder = key = None
        if site.responder is not None and site.responder.key is not None:
            key = site.secret(site.responder.key).encode()
            responder = cfg.target or f"sip:test@{site.responder.address}"
        signalling = site.markings.signalling_dscps()
        plan = _Plan(cfg, responder, key, signalling[0] if signalling else 24)
        for check in (_sip_alg, _srtp, _mtu, _ports, _options, _dns, _tls, _nat_binding):    # the slow one last
            await check(self, ctx, plan)


def _not_measured(probe: Probe, ctx: ProbeContext, metrics: tuple[str, ...], why: str, subject: str,
                  tags: dict | None = None, absent: bool = False) -> None:
    """`absent`: the site asks for no such check (an optional criterion is then not applicable)."""
    for metric in metrics:
        ctx.recorder.not_measured(NotMeasured(metric, why, subject, probe.name, tags or {}, absent))


def _measure(probe: Probe, ctx: ProbeContext, metric: str, value, unit: str, subject: str, started: float,
             tags: dict | None = None) -> None:
    ctx.recorder.measurement(Measurement(metric, value, unit, subject, probe.name, started, time.time(), tags or {}))


async def _sip_alg(probe: Probe, ctx: ProbeContext, plan: _Plan) -> None:
    metrics = ("path.sip_rewritten", "path.nat")
    if not _wants(ctx, *metrics):
        return
    if plan.responder is None or plan.key is None:
        _not_measured(probe, ctx, metrics, "no readiness responder with a key at the far end", "the path", absent=True)
        return
    target, cfg = plan.responder, plan.cfg
    task = ctx.progress.task("SIP ALG and NAT", total=len(cfg.transports))
    account: dict[str, dict] = {}
    for i, transport in enumerate(cfg.transports):
        ctx.progress.update(task, completed=i, info=f"SIP over {transport.upper()}")
        started = time.time()
        try:
            r = await sip_rewrite.check(target, plan.key, transport, plan.sip_dscp)
        except ReadinessError as e:
            r = sip_rewrite.Rewrite(transport, error=str(e))
        account[transport] = r.to_json()
        if transport == "udp" and r.error == sip_rewrite.NO_ANSWER:
            plan.udp_silent = "no answer over UDP from the far end (does the path drop UDP?)"
        subject, tags = f"{target} ({transport.upper()})", {"transport": transport}
        if r.error:
            _not_measured(probe, ctx, metrics, r.error, subject, tags)
        else:
            changed = ", ".join(f"{c['field']} {c['sent']} -> {c['received']}" for c in r.changes)
            _measure(probe, ctx, "path.sip_rewritten", bool(r.changes), "bool", subject, started,
                     dict(tags, changes=changed) if changed else tags)
            _measure(probe, ctx, "path.nat", r.nat, "bool", subject, started,
                     dict(tags, seen_from=r.seen_from, local=r.local))
        ctx.recorder.detail(Detail(details.SIP_ALG, details.sip_alg(target, account), probe.name))
        ctx.recorder.detail(Detail(details.NAT, details.nat(account), probe.name))
    ctx.progress.done(task, ", ".join(f"{t}: {'rewritten' if a['rewritten'] else a['error'] or 'unchanged'}"
                                      for t, a in account.items()))


async def _srtp(probe: Probe, ctx: ProbeContext, plan: _Plan) -> None:
    metric = "srtp.accepted"
    if not _wants(ctx, metric):
        return
    subject = plan.responder or "the path"
    if plan.responder is None or plan.key is None or not plan.cfg.srtp:
        why = ("the site file asks for no SRTP check (path_checks.srtp)" if plan.responder and plan.key
               else "the SRTP check needs a readiness responder with a key")
        _not_measured(probe, ctx, (metric,), why, subject, absent=True)
        return
    if plan.udp_silent:
        _not_measured(probe, ctx, (metric,), plan.udp_silent, subject)
        return
    task = ctx.progress.task("SRTP offer", total=1)
    started = time.time()
    r = await sip_rewrite.check(plan.responder, plan.key, "udp", plan.sip_dscp, srtp=True)
    doc = dict(r.srtp_answer or {"accepted": None, "suite": "", "why": r.error}, target=plan.responder,
               offered=list(SRTP_SUITES))
    ctx.recorder.detail(Detail(details.SRTP, doc, probe.name))
    if not r.srtp_answer:
        _not_measured(probe, ctx, (metric,), r.error or "no answer", subject)
        ctx.progress.done(task, "not measured")
        return
    tags = {"suite": r.srtp_answer["suite"]} if r.srtp_answer["accepted"] else {"why": r.srtp_answer["why"]}
    _measure(probe, ctx, metric, bool(r.srtp_answer["accepted"]), "bool", subject, started, tags)
    ctx.progress.done(task, f"accepted ({r.srtp_answer['suite']})" if r.srtp_answer["accepted"] else r.srtp_answer["why"])


async def _mtu(probe: Probe, ctx: ProbeContext, plan: _Plan) -> None:
    metrics = ("path.mtu_bytes", "path.fragments_pass", "path.large_invite_ok")
    if not _wants(ctx, *metrics):
        return
    subject = plan.responder or "the path"
    if plan.responder is None or plan.key is None or not plan.cfg.mtu:
        why = ("switched off in the site file (path_checks.mtu: false)" if plan.responder and plan.key
               else "the MTU test needs a readiness responder with a key")
        _not_measured(probe, ctx, metrics, why, subject, absent=True)
        return
    if plan.udp_silent:
        _not_measured(probe, ctx, metrics, plan.udp_silent, subject)
        return
    task = ctx.progress.task("MTU and large INVITEs", total=2)
    started = time.time()
    r = await mtu.check(plan.responder, plan.key)
    ctx.progress.update(task, completed=1, info=f"INVITE of {mtu.LARGE_INVITE_BYTES} B")
    invite = await sip_rewrite.check(plan.responder, plan.key, "udp", plan.sip_dscp, pad_to=mtu.LARGE_INVITE_BYTES)
    r.large_invite = {"bytes": invite.invite_bytes, "answered": not invite.error, "error": invite.error}
    ctx.recorder.detail(Detail(details.MTU, r.to_json(), probe.name))
    if r.path_mtu is None:
        _not_measured(probe, ctx, metrics[:2], r.error or "no answer", subject)
    else:
        _measure(probe, ctx, "path.mtu_bytes", r.path_mtu, "B", subject, started, {"at_least": r.at_least})
        _measure(probe, ctx, "path.fragments_pass", bool(r.fragments_pass), "bool", subject, started,
                 {"bytes": mtu.FRAGMENTED_SIZE})
    if invite.error and (invite.invite_bytes == 0 or invite.refused):    # refused: it arrived, the key did not fit
        _not_measured(probe, ctx, metrics[2:], invite.error, subject)
    else:
        _measure(probe, ctx, "path.large_invite_ok", not invite.error, "bool", subject, started,
                 {"bytes": invite.invite_bytes, **({"error": invite.error} if invite.error else {})})
    ctx.progress.done(task, f"path MTU {'>= ' if r.at_least else ''}{r.path_mtu} B, fragments "
                      f"{'pass' if r.fragments_pass else 'dropped'}, large INVITE "
                      f"{'answered' if not invite.error else invite.error}" if r.path_mtu else r.error)


def _range(text: str) -> tuple[int, int]:
    first, last = (int(x) for x in text.split("-"))
    return min(first, last), max(first, last)


async def _ports(probe: Probe, ctx: ProbeContext, plan: _Plan) -> None:
    metric, cfg = "path.ports_closed", plan.cfg
    if not _wants(ctx, metric):
        return
    sbc = cfg.options or (f"sip:{cfg.tls}" if cfg.tls else None)
    rtp = cfg.rtp_ports is not None and plan.responder is not None and plan.key is not None
    if not rtp and not (cfg.sip_ports and sbc):
        _not_measured(probe, ctx, (metric,), "the site file names no ports to check (path_checks.rtp_ports, "
                      "sip_ports)", plan.responder or "the path", absent=True)
        return
    if rtp and plan.udp_silent:
        _not_measured(probe, ctx, (metric,), plan.udp_silent, plan.responder or "the path")
        return
    task = ctx.progress.task("ports", total=1)
    started = time.time()
    result = ports.PortsResult(plan.responder or sbc or "")
    if rtp:
        assert cfg.rtp_ports is not None and plan.responder is not None and plan.key is not None
        far = ports.sample(*_range(cfg.rtp_ports), cfg.rtp_sample)
        local = ports.sample(*_range(cfg.local_rtp_ports), len(far)) if cfg.local_rtp_ports else []
        result = await ports.rtp_ports(plan.responder, plan.key, far, local, plan.sip_dscp)
    if cfg.sip_ports and sbc:
        host = SipUri.parse(sbc).host
        result.ports += await ports.tcp_ports(host, [(k.lower(), int(p)) for k, _, p in
                                                     (x.partition(":") for x in cfg.sip_ports)])
    ctx.recorder.detail(Detail(details.PORTS, result.to_json(), probe.name))
    checked = [p for p in result.ports if p["open_up"] is not None]
    if not checked:
        _not_measured(probe, ctx, (metric,), result.error or "no port could be checked", result.target)
        ctx.progress.done(task, "not measured")
        return
    closed = result.closed()
    tags = {"closed": ", ".join(f"{p['transport'].upper()} {p['port']}" for p in closed)} if closed else {}
    _measure(probe, ctx, metric, len(closed), "ports", result.target, started, dict(tags, checked=len(checked)))
    ctx.progress.done(task, f"{len(closed)} of {len(checked)} closed")


async def _nat_binding(probe: Probe, ctx: ProbeContext, plan: _Plan) -> None:
    metric, cfg = "path.nat_timeout_s", plan.cfg
    if not _wants(ctx, metric):
        return
    subject = plan.responder or "the path"
    if plan.responder is None or plan.key is None:
        _not_measured(probe, ctx, (metric,), "the NAT binding test needs a readiness responder with a key", subject,
                      absent=True)
        return
    if not cfg.nat_binding:
        _not_measured(probe, ctx, (metric,), "switched off in the site file (path_checks.nat_binding: false)", subject,
                      absent=True)
        return
    if plan.udp_silent:
        _not_measured(probe, ctx, (metric,), plan.udp_silent, subject)
        return
    idle = [parse_duration_s(d) for d in cfg.nat_idle]
    keepalive = parse_duration_s(cfg.keepalive) if cfg.keepalive is not None else None
    longest = max(idle)
    task = ctx.progress.task("NAT binding", total=longest + nat_binding.GRACE_S)
    started = time.time()
    r = await nat_binding.check(plan.responder, plan.key, idle, plan.sip_dscp, keepalive,
                                tick=lambda s: ctx.progress.update(task, completed=s, info=f"idle {s:.0f} s"))
    doc = dict(r.to_json(), target=plan.responder)
    ctx.recorder.detail(Detail(details.NAT_BINDING, doc, probe.name))
    ctx.recorder.detail(Detail(details.NAT_TIMEOUT, r.timeout_s, probe.name))
    if r.timeout_s is None:
        _not_measured(probe, ctx, (metric,), r.error or "no idle time could be tried", subject)
        ctx.progress.done(task, "not measured")
        return
    tags = {"at_least": r.at_least, "tried": ", ".join(f"{i:g}" for i in sorted(set(idle)))}
    if r.forgotten_after_s is not None:
        tags["forgotten_after_s"] = r.forgotten_after_s
    if keepalive is not None:
        tags["keepalive_s"] = keepalive
    _measure(probe, ctx, metric, r.timeout_s, "s", subject, started, tags)
    ctx.progress.done(task, f"at least {r.timeout_s:g} s" if r.at_least else
                      f"{r.timeout_s:g} s (forgotten after {r.forgotten_after_s:g} s)")


async def _options(probe: Probe, ctx: ProbeContext, plan: _Plan) -> None:
    metrics, cfg = ("sip.options_answered_pct", "sip.options_rtt_ms"), plan.cfg
    target = cfg.options or plan.responder
    if not _wants(ctx, *metrics):
        return
    if target is None or cfg.options_count == 0:
        _not_measured(probe, ctx, metrics, "no SBC to ping (path_checks.options)", "the provider", absent=True)
        return
    to_responder = target == plan.responder and plan.key is not None
    if to_responder and plan.udp_silent:
        _not_measured(probe, ctx, metrics, plan.udp_silent, target)
        return
    headers = (lambda: {calltoken.HEADER: calltoken.make(plan.key)}) if to_responder else dict  # type: ignore[arg-type]
    task = ctx.progress.task("OPTIONS", total=cfg.options_count)
    started = time.time()
    r = await options_ping.ping(target, cfg.options_count, headers, dscp=plan.sip_dscp,
                                tick=lambda n: ctx.progress.update(task, completed=n))
    ctx.recorder.detail(Detail(details.OPTIONS, r.to_json(), probe.name))
    if r.sent == 0:
        _not_measured(probe, ctx, metrics, r.error or "no OPTIONS sent", target)
        ctx.progress.done(task, "not measured")
        return
    _measure(probe, ctx, "sip.options_answered_pct", r.answered_pct, "%", target, started,
             {"sent": r.sent, "answered": r.answered})
    if r.answered:
        _measure(probe, ctx, "sip.options_rtt_ms", r.rtt(0.95), "ms", target, started, {"statistic": "p95"})
    else:
        _not_measured(probe, ctx, ("sip.options_rtt_ms",), r.error or "no answer", target)
    ctx.progress.done(task, f"{r.answered}/{r.sent} answered")


async def _dns(probe: Probe, ctx: ProbeContext, plan: _Plan) -> None:
    metric, cfg = "dns.sip_ok", plan.cfg
    if not _wants(ctx, metric):
        return
    if cfg.dns_domain is None:
        _not_measured(probe, ctx, (metric,), "the site file names no provider domain (path_checks.dns_domain)",
                      "the provider", absent=True)
        return
    task = ctx.progress.task("DNS", total=1)
    started = time.time()
    r = await dns_lookup.resolve(cfg.dns_domain, cfg.dns_server)
    ctx.recorder.detail(Detail(details.DNS, r.to_json(), probe.name))
    if r.error and not r.answered:
        _not_measured(probe, ctx, (metric,), r.error, cfg.dns_domain)
    else:
        _measure(probe, ctx, metric, r.ok, "bool", cfg.dns_domain, started,
                 {"problems": "; ".join(r.problems or ([r.error] if r.error else []))} if not r.ok else {})
    ctx.progress.done(task, "ok" if r.ok else (r.error or f"{len(r.problems)} problem(s)"))


async def _tls(probe: Probe, ctx: ProbeContext, plan: _Plan) -> None:
    metrics, cfg = ("tls.trusted", "tls.cert_days_left"), plan.cfg
    if not _wants(ctx, *metrics):
        return
    if cfg.tls is None:
        _not_measured(probe, ctx, metrics, "the site file names no SIP/TLS far end (path_checks.tls)", "the provider",
                      absent=True)
        return
    host, port = split_host_port(cfg.tls, 5061)
    files = {name: str(ctx.site.path(v)) if v else None for name, v in
             (("ca_file", cfg.tls_ca_file), ("client_cert", cfg.tls_client_cert), ("client_key", cfg.tls_client_key))}
    task = ctx.progress.task("TLS", total=1)
    started = time.time()
    r = await tls_check.check(host, port, cfg.tls_server_name, **files)
    ctx.recorder.detail(Detail(details.TLS, r.to_json(), probe.name))
    subject = f"{r.server_name} ({host}:{port})"
    tags = {"version": r.version, "cipher": r.cipher}
    if r.days_left is None:
        _not_measured(probe, ctx, metrics, r.error or "no certificate seen", subject)
    else:
        _measure(probe, ctx, "tls.trusted", r.trusted and not r.error, "bool", subject, started,
                 dict(tags, why=r.verify_error or r.error) if not r.trusted or r.error else tags)
        _measure(probe, ctx, "tls.cert_days_left", round(r.days_left, 2), "d", subject, started,
                 dict(tags, not_after=r.not_after))
    ctx.progress.done(task, "trusted" if r.trusted and not r.error else (r.verify_error or r.error))
