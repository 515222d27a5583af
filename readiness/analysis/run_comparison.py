"""Two stored runs side by side: what a change (a switch config, the provider's QoS fix, a failover)
did. Per criterion the values and verdicts before and after and whether that is better or worse; per
metric the worst value of each run; the SNMP snapshots' differences (ports up/down, duplex, VLANs, the
voice VLAN's missing ports, PoE draw and budget, UPS runtime and source, erroring ports).

The comparison judges nothing itself: verdicts are each run's own, and "better" follows the criterion's
operator (lower is better under <=, higher under >=)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ..details import capture as capture_details
from ..details import snmp as snmp_details
from ..results import CriterionResult, RunResults

_RANK = {"pass": 0, "not_applicable": 0, "warn": 1, "not_measured": 2, "error": 2, "fail": 3}


@dataclass
class RunRef:
    run_id: str
    site: str
    profile: str
    started: str
    verdict: str
    complete: bool
    run_dir: str
    warned: bool = False                # a should-criterion warned


@dataclass
class CriterionChange:
    id: str
    metric: str
    unit: str
    before: Any
    after: Any
    verdict_before: str | None          # None: the criterion was not in that run
    verdict_after: str | None
    change: float | None                # after - before, when both are numbers
    direction: str                      # better, worse, same, changed (no order), new, gone
    select: dict[str, str] = field(default_factory=dict)

    @property
    def verdict_changed(self) -> bool:
        return self.verdict_before != self.verdict_after


@dataclass
class MetricChange:
    metric: str
    unit: str
    before: float | None
    after: float | None
    change: float | None
    subjects_before: int
    subjects_after: int


@dataclass
class SnmpChange:
    device: str
    what: str                           # port, duplex, vlan, voice_vlan_ports, poe, ups, error_ports, reachable
    subject: str                        # a port, a VLAN, a field
    before: Any
    after: Any


@dataclass
class Comparison:
    before: RunRef
    after: RunRef
    criteria: list[CriterionChange] = field(default_factory=list)
    metrics: list[MetricChange] = field(default_factory=list)
    snmp_changes: list[SnmpChange] = field(default_factory=list)
    capture_changes: list[dict[str, Any]] = field(default_factory=list)   # what, before, after: marking -> streams
    notes: list[str] = field(default_factory=list)

    @property
    def worse(self) -> list[CriterionChange]:
        return [c for c in self.criteria if c.verdict_changed and
                _RANK.get(c.verdict_after or "", 2) > _RANK.get(c.verdict_before or "", 2)]

    @property
    def better(self) -> list[CriterionChange]:
        return [c for c in self.criteria if c.verdict_changed and
                _RANK.get(c.verdict_after or "", 2) < _RANK.get(c.verdict_before or "", 2)]

    def to_json(self) -> dict[str, Any]:
        return {"schema": "readiness.compare/1", "before": asdict(self.before), "after": asdict(self.after),
                "criteria": [dict(asdict(c), verdict_changed=c.verdict_changed) for c in self.criteria],
                "metrics": [asdict(m) for m in self.metrics],
                "snmp_changes": [asdict(s) for s in self.snmp_changes], "capture_changes": self.capture_changes,
                "notes": self.notes,
                "worse": [c.id for c in self.worse], "better": [c.id for c in self.better]}


def _ref(r: RunResults) -> RunRef:
    return RunRef(r.run_id, r.site, r.profile, r.started, r.verdict, r.complete, str(r.run_dir),
                  any(c.verdict == "warn" for c in r.criteria))


def _number(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _shown(x: float) -> float:
    """The value as a report shows it (three significant digits): a change below that is no change."""
    return float(f"{x:.3g}")


def _direction(op: str, before: Any, after: Any) -> str:
    b, a = _number(before), _number(after)
    if b is None or a is None:
        return "same" if before == after else "changed"
    b, a = _shown(b), _shown(a)
    if a == b:
        return "same"
    if op in ("<", "<="):
        return "better" if a < b else "worse"
    if op in (">", ">="):
        return "better" if a > b else "worse"
    return "changed"


def _criteria(before: RunResults, after: RunResults) -> list[CriterionChange]:
    a_by = {c.id: c for c in after.criteria}
    b_by = {c.id: c for c in before.criteria}
    out = []
    for cid in list(b_by) + [i for i in a_by if i not in b_by]:
        b: CriterionResult | None = b_by.get(cid)
        a: CriterionResult | None = a_by.get(cid)
        ref = a or b
        assert ref is not None
        vb, va = (b.measured if b else None), (a.measured if a else None)
        nb, na = _number(vb), _number(va)
        if b is None or a is None:
            direction = "new" if b is None else "gone"
        elif b.verdict != a.verdict and _RANK.get(a.verdict, 2) != _RANK.get(b.verdict, 2):
            direction = "better" if _RANK.get(a.verdict, 2) < _RANK.get(b.verdict, 2) else "worse"
        else:
            direction = _direction(ref.op, vb, va)
        out.append(CriterionChange(cid, ref.metric, ref.unit, vb, va, b.verdict if b else None,
                                   a.verdict if a else None, None if nb is None or na is None else na - nb,
                                   direction, dict(ref.select)))
    return out


def _worst(results: RunResults, metric: str, op: str) -> tuple[float | None, int]:
    values = [float(m.value) for m in results.measurements if m.metric == metric and _number(m.value) is not None]
    if not values:
        return None, 0
    return (min(values) if op in (">", ">=") else max(values)), len(values)


def _metrics(before: RunResults, after: RunResults) -> list[MetricChange]:
    """Each metric judged in either run: its worst value per run, in the criterion's sense of worst."""
    ops: dict[str, tuple[str, str]] = {}
    for c in list(before.criteria) + list(after.criteria):
        ops.setdefault(c.metric, (c.op, c.unit))
    out = []
    for metric, (op, unit) in ops.items():
        (vb, nb), (va, na) = _worst(before, metric, op), _worst(after, metric, op)
        if vb is None and va is None:
            continue
        out.append(MetricChange(metric, unit, vb, va, None if vb is None or va is None else va - vb, nb, na))
    return out


def _ports_missing(d: snmp_details.DeviceSection) -> set[str]:
    check = d.check("vlan.voice_ports_missing")
    return set(check.ports) if check else set()


def _error_ports(d: snmp_details.DeviceSection) -> set[str]:
    check = d.check("if.error_ports")
    return set(check.ports) if check else set()


def _device_changes(b: snmp_details.DeviceSection, a: snmp_details.DeviceSection) -> list[SnmpChange]:
    out: list[SnmpChange] = []
    add = lambda what, subject, x, y: out.append(SnmpChange(a.name, what, subject, x, y))  # noqa: E731
    if b.reachable != a.reachable:
        add("reachable", "SNMP", b.reachable, a.reachable)
    bi, ai = {i.name: i for i in b.interfaces}, {i.name: i for i in a.interfaces}
    for name in sorted(set(bi) & set(ai)):
        if bi[name].oper_status != ai[name].oper_status:
            add("port", name, bi[name].oper_status, ai[name].oper_status)
        known = {bi[name].duplex, ai[name].duplex}.isdisjoint({None, "", "unknown"})   # a down port has none
        if bi[name].duplex != ai[name].duplex and known:
            add("duplex", name, bi[name].duplex, ai[name].duplex)
    bv, av = {v.id for v in b.vlans}, {v.id for v in a.vlans}
    for vid in sorted(bv - av):
        add("vlan", str(vid), "present", "removed")
    for vid in sorted(av - bv):
        add("vlan", str(vid), "absent", "added")
    for what, get in (("voice_vlan_ports", _ports_missing), ("error_ports", _error_ports)):
        x, y = get(b), get(a)
        if x != y:
            add(what, "ports", sorted(x), sorted(y))
    if b.poe and a.poe:
        for f in ("budget_w", "consumption_w", "headroom_w"):
            x, y = getattr(b.poe, f), getattr(a.poe, f)
            if x != y and x is not None and y is not None and abs(x - y) >= 0.5:
                add("poe", f, x, y)
    if b.ups and a.ups:
        for f in ("runtime_min", "charge_pct", "output_source", "on_battery", "battery_status"):
            x, y = getattr(b.ups, f), getattr(a.ups, f)
            if x != y and not (isinstance(x, float) and isinstance(y, float) and abs(x - y) < 0.5):
                add("ups", f, x, y)
    return out


def _snmp(before: RunResults, after: RunResults) -> list[SnmpChange]:
    bd = {d.name: d for d in snmp_details.devices(before.details)}
    ad = {d.name: d for d in snmp_details.devices(after.details)}
    out: list[SnmpChange] = []
    for name in bd:
        if name not in ad:
            out.append(SnmpChange(name, "device", name, "audited", "not audited"))
    for name in ad:
        if name not in bd:
            out.append(SnmpChange(name, "device", name, "not audited", "audited"))
        else:
            out += _device_changes(bd[name], ad[name])
    return out


def _markings(results: RunResults) -> dict[str, dict[str, int]]:
    """Per marking kind (dscp, vlan, pcp) how many captured voice streams carried each value."""
    out: dict[str, dict[str, int]] = {"dscp": {}, "vlan": {}, "pcp": {}}
    found = capture_details.of(results.details)
    for s in found.streams if found else []:
        if s.kind not in ("voice", "srtp", "comfort-noise", "unknown"):   # speech streams, as the markings judge
            continue
        for what, value in (("dscp", s.dscp_name), ("vlan", s.vlan), ("pcp", s.pcp)):
            key = "untagged" if value is None and what != "dscp" else str(value)
            out[what][key] = out[what].get(key, 0) + 1
    return out


def _capture(before: RunResults, after: RunResults) -> list[dict[str, Any]]:
    if capture_details.STREAMS not in before.details or capture_details.STREAMS not in after.details:
        return []
    b, a = _markings(before), _markings(after)
    return [{"what": what, "before": b[what], "after": a[what]} for what in ("dscp", "vlan", "pcp") if b[what] != a[what]]


def compare(before: RunResults, after: RunResults) -> Comparison:
    out = Comparison(_ref(before), _ref(after), _criteria(before, after), _metrics(before, after),
                     _snmp(before, after), _capture(before, after))
    if before.site != after.site:
        out.notes.append(f"the runs are of different sites: {before.site!r} and {after.site!r}")
    if before.profile != after.profile:
        out.notes.append(f"the runs were judged against different profiles: {before.profile} and {after.profile}; "
                         "criteria of one only are listed as new or gone")
    if before.started > after.started:
        out.notes.append("the first run given is the later one: 'before' is what was given first")
    for label, r in (("before", before), ("after", after)):
        if not r.complete:
            out.notes.append(f"the {label} run is incomplete: its missing values are not measured, not passes")
    return out
