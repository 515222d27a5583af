"""One device's findings: the raw poll parsed into interfaces, VLANs, PoE, LLDP and UPS status, with
what could not be read and why. `to_json` is the per-device object of the run document's `devices`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import lldp as lldp_mod
from . import poe as poe_mod
from . import switch
from . import ups as ups_mod
from . import vlans as vlans_mod
from .poll import Polled


@dataclass
class Check:
    """One catalogue metric of one device, as the audit computed it against the plan."""

    metric: str
    value: Any = None
    reason: str = ""                                  # why value is None
    ports: list[str] = field(default_factory=list)    # the ports that make the value (e.g. half duplex)
    detail: str = ""                                  # how it was computed, for people


@dataclass
class DeviceReport:
    polled: Polled
    interfaces: dict[int, switch.Interface] = field(default_factory=dict)
    interfaces_reason: str = ""
    bridge: dict[int, int] = field(default_factory=dict)
    vlans: vlans_mod.VlanTable | None = None
    poe: poe_mod.PoeStatus | None = None
    lldp: lldp_mod.LldpInfo | None = None
    ups: ups_mod.UpsStatus | None = None
    voice_vlan: int | None = None
    checks: list[Check] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.polled.target.label

    @property
    def role(self) -> str:
        return self.polled.target.role

    @property
    def reachable(self) -> bool:
        return self.polled.reachable

    def check(self, metric: str) -> Check | None:
        return next((c for c in self.checks if c.metric == metric), None)

    def not_measured(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if not self.reachable:
            out["device"] = self.polled.error
            return out
        for key, why in (("interfaces", self.interfaces_reason),
                         ("vlans", self.vlans.reason if self.vlans else ""),
                         ("poe", self.poe.reason if self.poe else ""),
                         ("lldp", self.lldp.reason if self.lldp else ""),
                         ("ups", self.ups.reason if self.ups else "")):
            if why:
                out[key] = why
        if self.ups:
            out.update({f"ups.{k}": v for k, v in self.ups.not_measured.items()})
        out.update({f"walk: {k}": v for k, v in self.polled.walk.problems.items()})
        out.update({c.metric: c.reason for c in self.checks if c.value is None and c.reason})
        return out

    def to_json(self) -> dict[str, Any]:
        t = self.polled.target
        w = self.polled.walk
        names = {ix: itf.name for ix, itf in self.interfaces.items()}
        headroom = self.check("poe.headroom_w")
        poe = None
        if self.poe is not None and (self.poe.pses or self.poe.ports):
            poe = {"budget_w": self.poe.total("budget_w"), "consumption_w": self.poe.total("consumption_w"),
                   "usage_threshold_pct": self.poe.threshold_pct(),
                   "headroom_w": headroom.value if headroom else None,
                   "headroom": headroom.detail if headroom else "",
                   "source": self.poe.source,
                   "pses": [vars(p) for p in self.poe.pses],
                   "ports": [p.to_json() for p in self.poe.ports]}
        return {
            "name": t.label, "host": t.address, "role": t.role,
            "sys_descr": w.text((1, 3, 6, 1, 2, 1, 1, 1, 0)) if self.reachable else None,
            "sys_name": w.text((1, 3, 6, 1, 2, 1, 1, 5, 0)) if self.reachable else None,
            "reachable": self.reachable, "error": self.polled.error or None,
            "interfaces": [i.to_json() for i in sorted(self.interfaces.values(), key=lambda i: i.if_index)],
            "vlans": self.vlans.to_json(names) if self.vlans else [],
            "vlan_source": self.vlans.source if self.vlans else "",
            "voice_vlan": self.voice_vlan, "poe": poe,
            "ups": self.ups.to_json() if self.ups and not self.ups.reason else None,
            "lldp": self.lldp.to_json() if self.lldp else None,
            "checks": [{"metric": c.metric, "value": c.value, "ports": c.ports, "detail": c.detail,
                        "reason": c.reason} for c in self.checks],
            "not_measured": self.not_measured(),
        }


def build(polled: Polled) -> DeviceReport:
    """Parse a poll. Never raises on bad data: every problem ends up in not_measured."""
    report = DeviceReport(polled)
    if not polled.reachable:
        return report
    walk = polled.walk
    if polled.target.role == "ups":
        report.ups = ups_mod.parse(walk)
        return report
    report.interfaces, report.interfaces_reason = switch.interfaces(walk)
    report.bridge = vlans_mod.bridge_ports(walk)
    report.vlans = vlans_mod.parse(walk, report.interfaces)
    report.poe = poe_mod.parse(walk, report.interfaces)
    report.lldp = lldp_mod.parse(walk, report.bridge, report.interfaces)
    return report
