"""PoE: POWER-ETHERNET-MIB (RFC 3621) main PSE budget, consumption and usage threshold, per-port admin,
detection and class; Cisco's CISCO-POWER-ETHERNET-EXT-MIB for per-port power and where the standard
main PSE table is absent.

pethPsePortIndex is not defined to equal ifIndex (RFC 3621); ports are named by ifName only where the
index is an Ethernet interface of the switch and the group is 1 (the common non-modular mapping),
else "group/port" (Cisco maps through ENTITY-MIB, which is too large to walk for a label).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import mibs
from .switch import Interface
from .walk import Walk, number

MAX_PSE_W = 65535   # pethMainPsePower / ConsumptionPower: Gauge32 (1..65535) W, RFC 3621


@dataclass
class Pse:
    group: int
    budget_w: float | None = None
    consumption_w: float | None = None
    usage_threshold_pct: int | None = None     # None: not set (the budget is the limit)
    oper_status: str | None = None

    def usable_w(self) -> float | None:
        """The budget the PSE will give before it alarms: its usage threshold honoured."""
        if self.budget_w is None:
            return None
        return self.budget_w * (self.usage_threshold_pct or 100) / 100.0


@dataclass
class PsePort:
    group: int
    index: int
    port: str
    admin: bool | None = None
    detection: str | None = None
    pd_class: int | None = None
    power_w: float | None = None

    def to_json(self) -> dict:
        return {"port": self.port, "group": self.group, "index": self.index, "admin": self.admin,
                "detection": self.detection, "class": self.pd_class, "power_w": self.power_w}


@dataclass
class PoeStatus:
    pses: list[Pse] = field(default_factory=list)
    ports: list[PsePort] = field(default_factory=list)
    source: str = ""
    problems: list[str] = field(default_factory=list)
    reason: str = ""          # why there is no PoE information at all

    def total(self, attr: str) -> float | None:
        values = [getattr(p, attr) for p in self.pses]
        return None if not values or any(v is None for v in values) else float(sum(values))

    def usable_w(self) -> float | None:
        values = [p.usable_w() for p in self.pses]
        return None if not values or any(v is None for v in values) else float(sum(values))  # type: ignore[arg-type]

    def threshold_pct(self) -> int | None:
        values = {p.usage_threshold_pct for p in self.pses if p.usage_threshold_pct is not None}
        return min(values) if values else None

    def usage_pct(self) -> float | None:
        worst = [100.0 * p.consumption_w / p.budget_w for p in self.pses
                 if p.consumption_w is not None and p.budget_w]
        return max(worst) if worst else None


def parse(walk: Walk, table: dict[int, Interface]) -> PoeStatus:
    status = PoeStatus()
    _main(walk, status)
    if not status.pses:
        _cisco_main(walk, status)
    _ports(walk, table, status)
    if not status.pses and not status.ports:
        why = walk.problem("POWER-ETHERNET-MIB main PSE", "POWER-ETHERNET-MIB ports",
                           "CISCO-POWER-ETHERNET-EXT-MIB main PSE")
        status.reason = why or "no PoE MIB answered (POWER-ETHERNET-MIB or Cisco's extension): not a PoE switch?"
    elif not status.pses:
        status.reason = "the switch reports PoE ports but no main PSE (budget and consumption)"
    return status


def _main(walk: Walk, status: PoeStatus) -> None:
    power = walk.column(mibs.PETH_MAIN_POWER)
    consumption = walk.column(mibs.PETH_MAIN_CONSUMPTION)
    oper = walk.column(mibs.PETH_MAIN_OPER)
    threshold = walk.column(mibs.PETH_MAIN_THRESHOLD)
    for idx in sorted(set(power) | set(consumption)):
        if len(idx) != 1:
            continue
        pse = Pse(idx[0])
        if idx in power:
            r = number(power[idx], f"pethMainPsePower.{idx[0]}", 1, MAX_PSE_W)
            pse.budget_w = float(r.value) if r.ok else None  # type: ignore[arg-type]
            if not r.ok:
                status.problems.append(r.reason)
        if idx in consumption:
            r = number(consumption[idx], f"pethMainPseConsumptionPower.{idx[0]}", 0, MAX_PSE_W)
            pse.consumption_w = float(r.value) if r.ok else None  # type: ignore[arg-type]
            if not r.ok:
                status.problems.append(r.reason)
        if idx in threshold:
            # RFC 3621: Integer32 (1..99); 0 and other values mean no threshold is set.
            r = number(threshold[idx], "pethMainPseUsageThreshold", 1, 99)
            pse.usage_threshold_pct = r.value if r.ok else None  # type: ignore[assignment]
        if idx in oper:
            r = number(oper[idx], "pethMainPseOperStatus", 1, 3)
            pse.oper_status = mibs.PETH_MAIN_OPER_NAMES.get(r.value) if r.ok else None  # type: ignore[arg-type]
        status.pses.append(pse)
    if status.pses:
        status.source = "POWER-ETHERNET-MIB"


def _cisco_main(walk: Walk, status: PoeStatus) -> None:
    used = walk.column(mibs.CPE_MAIN_USED)
    remaining = walk.column(mibs.CPE_MAIN_REMAINING)
    for idx in sorted(set(used) & set(remaining)):
        u = number(used[idx], "cpeExtMainPseUsedPower", 0)
        r = number(remaining[idx], "cpeExtMainPseRemainingPower", 0)
        if not (u.ok and r.ok) or len(idx) != 1:
            status.problems += [x.reason for x in (u, r) if not x.ok]
            continue
        # milliwatts; the budget is what is used plus what remains
        status.pses.append(Pse(idx[0], (u.value + r.value) / 1000.0, u.value / 1000.0))  # type: ignore[operator]
    if status.pses:
        status.source = "CISCO-POWER-ETHERNET-EXT-MIB"


def _ports(walk: Walk, table: dict[int, Interface], status: PoeStatus) -> None:
    admin = walk.column(mibs.PETH_PORT_ADMIN)
    detection = walk.column(mibs.PETH_PORT_DETECTION)
    klass = walk.column(mibs.PETH_PORT_CLASS)
    consumption = walk.column(mibs.CPE_PORT_CONSUMPTION)
    for idx in sorted(set(admin) | set(detection) | set(consumption)):
        if len(idx) != 2:
            continue
        group, index = idx
        mapped = group == 1 and index in table and table[index].physical
        name = table[index].name if mapped else f"{group}/{index}"
        port = PsePort(group, index, name)
        if idx in admin:
            r = number(admin[idx], "pethPsePortAdminEnable", 1, 2)
            port.admin = mibs.TRUTH.get(r.value) if r.ok else None  # type: ignore[arg-type]
        if idx in detection:
            r = number(detection[idx], "pethPsePortDetectionStatus", 1, 6)
            port.detection = mibs.PETH_DETECTION.get(r.value) if r.ok else None  # type: ignore[arg-type]
        if idx in klass:
            r = number(klass[idx], "pethPsePortPowerClassifications", 1, 5)
            port.pd_class = r.value - 1 if r.ok else None  # type: ignore[operator]  # class0(1) .. class4(5)
        if idx in consumption:
            r = number(consumption[idx], "cpeExtPsePortPwrConsumption", 0, MAX_PSE_W * 1000)
            port.power_w = r.value / 1000.0 if r.ok else None  # type: ignore[operator]  # milliwatts
        status.ports.append(port)
    if status.ports and not status.source:
        status.source = "POWER-ETHERNET-MIB"
