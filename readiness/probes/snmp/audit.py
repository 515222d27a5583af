"""Device findings judged against the site plan, as catalogue metrics: voice VLAN present and tagged on
the phone ports, PoE headroom for the planned phones, half-duplex and erroring ports on the voice path,
the LLDP-MED voice policy, UPS runtime and state. The audit computes the values; acceptance judges them.

A value that cannot be computed is a NotMeasured with the reason, never a pass. Where a metric does
not apply to a device (no phones planned on a core switch without PoE) nothing is recorded for it, so
one such switch cannot leave the whole run incomplete.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

from ... import metrics as catalog
from ...config.site import SiteSpec
from ...model import Measurement, NotMeasured
from . import device, mibs, poll, switch
from .device import Check, DeviceReport
from .poll import Polled, Target

PROBE = "snmp"


@dataclass
class Plan:
    """What the site file plans for one device."""

    voice_vlan: int | None = None
    phone_ports: list[str | int] = field(default_factory=list)
    uplink_ports: list[str | int] = field(default_factory=list)
    phones: int | None = None           # phones planned on this switch
    phones_why: str = ""
    poe_class: int = 2
    media_pcp: int = 5
    media_dscp: int = 46
    site_has_phone_ports: bool = False


async def audit_devices(site: SiteSpec, on_done: Callable[[Polled], None] | None = None
                        ) -> tuple[list[DeviceReport], dict[str, Plan]]:
    """Poll the site's devices (or its `snmp.only`) concurrently and assess each against its plan."""
    plan = plans(site, poll.targets(site))
    reports = []
    for p in await poll.poll_all(poll.chosen(site), on_done=on_done):
        report = device.build(p)
        assess(report, plan[p.target.label])
        reports.append(report)
    return reports, plan


def plans(site: SiteSpec, targets: list[Target]) -> dict[str, Plan]:
    """A plan per device label. The site's phones are spread over the switches by their phone ports
    unless a device says how many it carries (`phones:`)."""
    switches = [t for t in targets if t.role == "switch"]
    port_counts = {t.label: _count_ports(t.config.phone_ports) if t.config else 0 for t in switches}
    total_ports = sum(port_counts.values())
    phones = site.phones
    out = {}
    for t in targets:
        cfg = t.config
        p = Plan(voice_vlan=site.voice_vlan, phone_ports=list(cfg.phone_ports) if cfg else [],
                 uplink_ports=list(cfg.uplink_ports) if cfg else [],
                 poe_class=phones.poe_class if phones else 2, media_pcp=site.markings.media_pcp,
                 media_dscp=site.markings.media_dscp(), site_has_phone_ports=total_ports > 0)
        if t.role == "switch":
            if cfg is not None and cfg.phones is not None:
                p.phones, p.phones_why = cfg.phones, "phones: in the site file for this switch"
            elif phones is not None and total_ports:
                share = port_counts[t.label] / total_ports
                p.phones = math.ceil(phones.count * share) if port_counts[t.label] else 0
                p.phones_why = f"{phones.count} site phones spread by phone ports ({port_counts[t.label]}/{total_ports})"
            elif phones is not None:
                p.phones = math.ceil(phones.count / max(1, len(switches)))
                p.phones_why = f"{phones.count} site phones over {len(switches)} switch(es)"
        out[t.label] = p
    return out


def _count_ports(specs: list[str | int]) -> int:
    return sum(len(switch.expand(s)) for s in specs)


def assess(report: DeviceReport, plan: Plan) -> list[Check]:
    """The catalogue metrics of one device; also fills report.checks and report.voice_vlan."""
    checks = [Check("device.reachable", report.reachable)]
    if report.reachable:
        checks += _switch(report, plan) if report.role == "switch" else _ups(report)
    else:
        for metric in _role_metrics(report.role):
            if report.role == "ups" or _applies(metric, plan):
                checks.append(Check(metric, None, report.polled.error))
    report.checks = checks
    return checks


def _role_metrics(role: str) -> list[str]:
    if role == "ups":
        return ["ups.runtime_min", "ups.charge_pct", "ups.on_battery", "ups.output_source", "ups.load_pct"]
    return ["vlan.voice_vlan_present", "vlan.voice_ports_missing", "poe.headroom_w", "poe.usage_pct",
            "lldp.voice_policy", "if.half_duplex_ports", "if.error_ports"]


def _applies(metric: str, plan: Plan) -> bool:
    """Phone-related metrics apply to switches with phone ports, or to all if the site names none."""
    if metric in ("vlan.voice_ports_missing", "lldp.voice_policy", "poe.headroom_w", "poe.usage_pct"):
        return bool(plan.phone_ports) or not plan.site_has_phone_ports
    return True


# --- switches ---------------------------------------------------------------------------------------------
def _switch(r: DeviceReport, plan: Plan) -> list[Check]:
    phone_ix, missing_names = switch.resolve(plan.phone_ports, r.interfaces)
    unknown = missing_names + switch.resolve(plan.uplink_ports, r.interfaces)[1]
    r.voice_vlan = _voice_vlan(r, plan)
    checks = [_vlan_present(r, plan)]
    if _applies("vlan.voice_ports_missing", plan):
        checks.append(_ports_missing(r, plan, phone_ix, missing_names))
    if _applies("poe.headroom_w", plan) or (r.poe and r.poe.pses):
        checks += _poe(r, plan)
    if _applies("lldp.voice_policy", plan):
        checks.append(_voice_policy(r, plan, phone_ix))
    checks += _interfaces(r, voice_path(r, plan), unknown)
    return checks


def _voice_vlan(r: DeviceReport, plan: Plan) -> int | None:
    """The voice VLAN the switch uses: Cisco's voice VLAN, else the LLDP-MED voice policy's, else the
    planned one if it exists on the switch."""
    if r.vlans and r.vlans.voice_vlan():
        return r.vlans.voice_vlan()
    if r.lldp:
        ids = [p.vlan for p in r.lldp.policies if p.vlan and 1 <= p.vlan <= 4094]
        if ids:
            return max(set(ids), key=ids.count)
    if plan.voice_vlan and r.vlans and plan.voice_vlan in r.vlans.vlans:
        return plan.voice_vlan
    return None


def _vlan_present(r: DeviceReport, plan: Plan) -> Check:
    if plan.voice_vlan is None:
        return Check("vlan.voice_vlan_present", None, "the site file gives no voice_vlan")
    if r.vlans is None or r.vlans.reason:
        return Check("vlan.voice_vlan_present", None, r.vlans.reason if r.vlans else "no VLAN data")
    vlan = r.vlans.vlans.get(plan.voice_vlan)
    present = vlan is not None and vlan.active
    state = f" but {vlan.state}" if vlan is not None and not vlan.active else ""
    return Check("vlan.voice_vlan_present", present,
                 detail=f"VLAN {plan.voice_vlan} {'is' if vlan else 'is not'} among the switch's "
                        f"{len(r.vlans.vlans)} VLANs ({r.vlans.source}){state}")


def _ports_missing(r: DeviceReport, plan: Plan, phone_ix: dict[int, str], unknown: list[str]) -> Check:
    metric = "vlan.voice_ports_missing"
    if not plan.phone_ports:
        return Check(metric, None, "the site file lists no phone_ports for any switch")
    if plan.voice_vlan is None:
        return Check(metric, None, "the site file gives no voice_vlan")
    if r.interfaces_reason:
        return Check(metric, None, f"phone ports cannot be named: {r.interfaces_reason}")
    if r.vlans is None or r.vlans.reason:
        return Check(metric, None, r.vlans.reason if r.vlans else "no VLAN data")
    vlan = r.vlans.vlans.get(plan.voice_vlan)
    tagged = vlan.tagged if vlan else set()
    missing = [name for ix, name in sorted(phone_ix.items()) if ix not in tagged] + \
              [f"{u} (no such port)" for u in unknown]
    tagged_count = len(phone_ix) - (len(missing) - len(unknown))
    detail = f"voice VLAN {plan.voice_vlan} tagged on {tagged_count} of {len(phone_ix) + len(unknown)} phone ports"
    return Check(metric, len(missing), ports=missing, detail=detail)


def _poe(r: DeviceReport, plan: Plan) -> list[Check]:
    poe = r.poe
    if poe is None or not poe.pses:
        why = poe.reason if poe else "no PoE data"
        return [Check("poe.headroom_w", None, why), Check("poe.usage_pct", None, why)]
    usable, used = poe.usable_w(), poe.total("consumption_w")
    usage = poe.usage_pct()
    checks = [Check("poe.usage_pct", usage, "" if usage is not None else "; ".join(poe.problems) or
                    "PSE budget or consumption unreadable")]
    if usable is None or used is None:
        checks.append(Check("poe.headroom_w", None, "; ".join(poe.problems) or "PSE budget or consumption unreadable"))
        return checks
    if plan.phones is None:
        checks.append(Check("poe.headroom_w", None, "the site file gives no phones: (count, poe_class)"))
        return checks
    per_phone = mibs.CLASS_POWER_W[plan.poe_class]
    planned = plan.phones * per_phone
    headroom = usable - used - planned
    threshold = poe.threshold_pct()
    detail = (f"{usable:g} W usable ({poe.total('budget_w'):g} W budget"
              f"{f' x {threshold} % usage threshold' if threshold else ''}) - {used:g} W in use - "
              f"{plan.phones} planned phones x {per_phone:g} W (class {plan.poe_class}; {plan.phones_why})")
    checks.append(Check("poe.headroom_w", round(headroom, 2), detail=detail))
    return checks


def _voice_policy(r: DeviceReport, plan: Plan, phone_ix: dict[int, str]) -> Check:
    metric = "lldp.voice_policy"
    info = r.lldp
    if info is None or info.reason:
        return Check(metric, None, info.reason if info else "no LLDP data")
    policies = {p.if_index: p for p in info.policies}
    ports = phone_ix or {p.if_index: p.port for p in info.policies if p.if_index is not None}
    if not ports:
        return Check(metric, False, detail="LLDP-MED is there but no port advertises a voice network policy")
    wrong = []
    for ix, name in sorted(ports.items()):
        p = policies.get(ix)
        if p is None:
            wrong.append(f"{name}: no voice policy")
            continue
        errors = []
        if p.unknown:
            errors.append("policy unknown")
        if p.tagged is False:
            errors.append("untagged")
        if plan.voice_vlan is not None and p.vlan != plan.voice_vlan:
            errors.append(f"VLAN {p.vlan}")
        if p.priority != plan.media_pcp:
            errors.append(f"priority {p.priority}")
        if p.dscp != plan.media_dscp:
            errors.append(f"DSCP {p.dscp}")
        if errors:
            wrong.append(f"{name}: {', '.join(errors)}")
    want = f"VLAN {plan.voice_vlan}, priority {plan.media_pcp}, DSCP {plan.media_dscp}, tagged"
    return Check(metric, not wrong, ports=wrong,
                 detail=f"voice policy ({want}) on {len(ports) - len(wrong)} of {len(ports)} ports")


def voice_path(r: DeviceReport, plan: Plan) -> dict[int, str]:
    """The phone and uplink ports (ifIndex -> name); without them, every Ethernet port that is up."""
    planned = {**switch.resolve(plan.phone_ports, r.interfaces)[0], **switch.resolve(plan.uplink_ports, r.interfaces)[0]}
    if planned:
        return planned
    return {ix: i.name for ix, i in r.interfaces.items() if i.physical and i.oper_status == "up"}


def _interfaces(r: DeviceReport, path: dict[int, str], unknown: list[str]) -> list[Check]:
    if r.interfaces_reason:
        return [Check("if.half_duplex_ports", None, r.interfaces_reason),
                Check("if.error_ports", None, r.interfaces_reason)]
    itfs = [r.interfaces[ix] for ix in sorted(path)]
    up = [i for i in itfs if i.oper_status == "up"]
    scope = f"{len(up)} up ports on the voice path" + (f" (not found: {', '.join(unknown)})" if unknown else "")
    half = [i.name for i in up if i.duplex == "half"]
    unproven = [i.name for i in up if i.duplex in (None, "unknown")]
    if unproven and not half:
        why = "no EtherLike-MIB duplex status (dot3StatsDuplexStatus)" if len(unproven) == len(up) else \
            f"duplex unknown on {', '.join(unproven[:8])}"
        dup = Check("if.half_duplex_ports", None, _with_walk_problem(r, why))
    else:
        dup = Check("if.half_duplex_ports", len(half), ports=half, detail=scope)
    unread = [i.name for i in itfs if i.in_errors is None or i.out_discards is None]
    bad = [f"{i.name}: {i.in_errors} in errors, {i.out_discards} out discards" for i in itfs
           if (i.in_errors or 0) > 0 or (i.out_discards or 0) > 0]
    if unread and not bad:
        # a port whose counters are unknown may be the one that errs: no "0" without every port read
        err = Check("if.error_ports", None, _with_walk_problem(r, f"counters unreadable on {', '.join(unread[:8])}"))
    else:
        err = Check("if.error_ports", len(bad), ports=bad,
                    detail=f"{len(itfs)} voice-path ports" + (f"; at least, counters unreadable on {', '.join(unread)}"
                                                             if unread else ""))
    return [dup, err]


def _with_walk_problem(r: DeviceReport, why: str) -> str:
    problem = r.polled.walk.problem("ifTable", "ifXTable", "EtherLike-MIB")
    return f"{why} ({problem})" if problem else why


# --- UPS ----------------------------------------------------------------------------------------------------
def _ups(r: DeviceReport) -> list[Check]:
    u = r.ups
    assert u is not None
    out = []
    for metric, attr in (("ups.runtime_min", "runtime_min"), ("ups.charge_pct", "charge_pct"),
                         ("ups.on_battery", "on_battery"), ("ups.output_source", "output_source"),
                         ("ups.load_pct", "load_pct")):
        value = getattr(u, attr)
        why = u.reason or u.not_measured.get(attr, "")
        if metric == "ups.runtime_min" and value is not None:
            value = round(value, 2)
        out.append(Check(metric, value, "" if value is not None else why or f"{attr} unknown",
                         detail=f"{', '.join(u.mibs)}" if u.mibs else ""))
    return out


# --- roles ---------------------------------------------------------------------------------------------------
def role_of(metric: str) -> str | None:
    """Which kind of device a catalogue metric is about (None: any device)."""
    if metric == "device.reachable":
        return None
    return "ups" if metric.startswith("ups.") else "switch"


def absent_roles(targets: list[Target], metrics: list[str]) -> list[NotMeasured]:
    """Metrics about a kind of device the site file does not list: not measured, saying so."""
    roles = {t.role for t in targets}
    return [NotMeasured(m, f"the site file's snmp: section lists no {role_of(m)} (role: {role_of(m)})", probe=PROBE)
            for m in metrics if role_of(m) is not None and role_of(m) not in roles]


# --- records -------------------------------------------------------------------------------------------------
def records(report: DeviceReport, evidence: list[str] | None = None) -> list[Measurement | NotMeasured]:
    """The checks as run records, tagged with the device's label and role."""
    t = report.polled.target
    tags = {"device": t.label, "role": t.role}
    out: list[Measurement | NotMeasured] = []
    for c in report.checks:
        if c.value is None:
            out.append(NotMeasured(c.metric, c.reason or "not measured", subject=t.label, probe=PROBE, tags=dict(tags)))
            continue
        subject = t.label + (f" ({'; '.join(c.ports[:6])}{' ...' if len(c.ports) > 6 else ''})" if c.ports else "")
        out.append(Measurement(c.metric, c.value, catalog.METRICS[c.metric].unit, subject, PROBE,
                               report.polled.started, report.polled.finished, dict(tags), list(evidence or [])))
    return out
