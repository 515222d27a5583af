"""An SNMP audit's details: one entry per device (`devices`), as the audit found it against the plan.
The stored object is the per-device object of `readiness snmp audit --json`; these classes type the
parts that are rendered."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from . import typed, typed_list

DEVICES = "devices"


@dataclass(frozen=True)
class InterfaceRow:
    if_index: int = 0
    name: str = ""
    oper_status: str | None = None
    physical: bool = False
    duplex: str | None = None


@dataclass(frozen=True)
class VlanRow:
    id: int = 0
    name: str = ""


@dataclass(frozen=True)
class PoeSummary:
    budget_w: float | None = None
    consumption_w: float | None = None
    usage_threshold_pct: int | None = None
    headroom_w: float | None = None
    headroom: str = ""                   # how the headroom was computed
    source: str = ""


@dataclass
class UpsStatus:
    """A UPS in one vocabulary and unit set, whichever MIB gave it; the SNMP probe fills it in
    (probes/snmp/ups.py) and the report reads it back from the run document."""

    model: str = ""
    mibs: list[str] = field(default_factory=list)
    battery_status: str | None = None
    charge_pct: float | None = None
    runtime_min: float | None = None
    on_battery_s: float | None = None
    output_source: str | None = None
    load_pct: float | None = None
    alarms: list[str] = field(default_factory=list)
    on_battery: bool | None = None
    not_measured: dict[str, str] = field(default_factory=dict)
    reason: str = ""          # why there is no UPS information at all (not stored)

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        doc.pop("reason")
        return doc


@dataclass(frozen=True)
class Neighbour:
    port: str = ""
    sys_name: str = ""
    telephone: bool = False


@dataclass(frozen=True)
class Check:
    metric: str = ""
    value: Any = None
    ports: list[str] = field(default_factory=list)
    detail: str = ""
    reason: str = ""


@dataclass(frozen=True)
class DeviceSection:
    name: str = ""
    host: str = ""
    role: str = ""
    reachable: bool = False
    error: str | None = None
    sys_descr: str | None = None
    sys_name: str | None = None
    interfaces: list[InterfaceRow] = field(default_factory=list)
    vlans: list[VlanRow] = field(default_factory=list)
    vlan_source: str = ""
    voice_vlan: int | None = None
    poe: PoeSummary | None = None
    ups: UpsStatus | None = None
    neighbours: list[Neighbour] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    not_measured: dict[str, str] = field(default_factory=dict)

    def check(self, metric: str) -> Check | None:
        return next((c for c in self.checks if c.metric == metric), None)


def devices(details: dict[str, Any]) -> list[DeviceSection]:
    out = []
    for d in details.get(DEVICES) or []:
        lldp = d.get("lldp") or {}
        out.append(DeviceSection(
            name=d.get("name", ""), host=d.get("host", ""), role=d.get("role", ""),
            reachable=bool(d.get("reachable")), error=d.get("error"), sys_descr=d.get("sys_descr"),
            sys_name=d.get("sys_name"), interfaces=typed_list(InterfaceRow, d.get("interfaces")),
            vlans=typed_list(VlanRow, d.get("vlans")), vlan_source=d.get("vlan_source", ""),
            voice_vlan=d.get("voice_vlan"), poe=typed(PoeSummary, d["poe"]) if d.get("poe") else None,
            ups=typed(UpsStatus, d["ups"]) if d.get("ups") else None,
            neighbours=typed_list(Neighbour, lldp.get("neighbours")), checks=typed_list(Check, d.get("checks")),
            not_measured=dict(d.get("not_measured") or {})))
    return out
