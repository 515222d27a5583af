"""Synthetic SNMP walks (.snmprec) of a PoE access switch and a UPS, for the demo lab, tests and the
benchmark: what no real recording has (an LLDP-MED voice policy, a Cisco voice VLAN, a PoE budget nearly
spent, a UPS on battery). Built from the same numeric OIDs the audit reads (probes/snmp/mibs.py).

The shipped demo walks (lab/data/snmp/) are `switch()` and `ups()` with their defaults; regenerate
them with `python -m readiness.lab.snmp_walks DIR`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..probes.snmp import mibs
from ..probes.snmp.walk import COUNTER32, GAUGE32, INTEGER, OBJECT_ID, OCTETS, TIMETICKS, Walk

DOC_ENTERPRISE = "1.3.6.1.4.1.32473"   # RFC 5612: enterprise number for documentation use
IF_BASE = 10100                          # ifIndex = IF_BASE + port: not the bridge port number, on purpose


@dataclass
class SwitchSpec:
    ports: int = 24                       # access ports, PoE
    uplinks: int = 4
    name: str = "demo-switch"
    data_vlan: int = 10
    voice_vlan: int | None = 20
    phones: int = 8                       # phones connected on ports 1..phones
    voice_missing: tuple[int, ...] = ()   # phone ports without the voice VLAN
    half_duplex: tuple[int, ...] = ()
    in_errors: dict[int, int] = field(default_factory=dict)
    poe_budget_w: int = 370
    poe_consumption_w: int | None = None  # default: phones x 7 W (class 2 at the PSE)
    poe_threshold_pct: int = 90
    poe_class: int = 2
    lldp_med: bool = True
    cisco: bool = False                   # Cisco VTP/vmVoiceVlan instead of Q-BRIDGE, Cisco PoE extension
    uptime_ticks: int = 8_640_000         # one day


def _ifindex(port: int) -> int:
    return IF_BASE + port


def _portlist(ports: set[int], total: int) -> bytes:
    """Q-BRIDGE PortList: port 1 is the most significant bit of the first octet."""
    data = bytearray((total + 7) // 8)
    for p in ports:
        data[(p - 1) // 8] |= 0x80 >> ((p - 1) % 8)
    return bytes(data)


def _system(w: Walk, descr: str, name: str, uptime: int, kind: int) -> None:
    w.add(mibs.SYS_DESCR, OCTETS, descr.encode())
    w.add(mibs.SYS_OBJECT_ID, OBJECT_ID, f"{DOC_ENTERPRISE}.{kind}")
    w.add(mibs.SYS_UPTIME, TIMETICKS, uptime)
    w.add(mibs.SYS_NAME, OCTETS, name.encode())


def switch(spec: SwitchSpec | None = None) -> str:
    s = spec or SwitchSpec()
    w = Walk()
    total = s.ports + s.uplinks
    _system(w, f"readiness demo switch: {s.ports} x 1G PoE+ (IEEE 802.3at), {s.uplinks} x 1G uplink",
            s.name, s.uptime_ticks, 1)
    up = set(range(1, s.phones + 1)) | ({s.ports + 1} if s.uplinks else set())
    w.add(mibs.IF_NUMBER, INTEGER, total)
    w.add(mibs.BASE_NUM_PORTS, INTEGER, total)
    for p in range(1, total + 1):
        ix = _ifindex(p)
        is_up = p in up
        w.add(mibs.IF_DESCR + (ix,), OCTETS, f"GigabitEthernet1/0/{p}".encode())
        w.add(mibs.IF_TYPE + (ix,), INTEGER, 6)                       # ethernetCsmacd
        w.add(mibs.IF_SPEED + (ix,), GAUGE32, 1_000_000_000 if is_up else 10_000_000)
        w.add(mibs.IF_OPER_STATUS + (ix,), INTEGER, 1 if is_up else 2)
        w.add(mibs.IF_IN_DISCARDS + (ix,), COUNTER32, 0)
        w.add(mibs.IF_IN_ERRORS + (ix,), COUNTER32, s.in_errors.get(p, 0))
        w.add(mibs.IF_OUT_DISCARDS + (ix,), COUNTER32, 0)
        w.add(mibs.IF_OUT_ERRORS + (ix,), COUNTER32, 0)
        w.add(mibs.IF_NAME + (ix,), OCTETS, f"Gi1/0/{p}".encode())
        w.add(mibs.IF_HIGH_SPEED + (ix,), GAUGE32, 1000 if is_up else 10)
        w.add(mibs.DOT3_DUPLEX + (ix,), INTEGER, (2 if p in s.half_duplex else 3) if is_up else 1)
        w.add(mibs.BASE_PORT_IFINDEX + (p,), INTEGER, ix)
    access = set(range(1, s.ports + 1))
    uplink = set(range(s.ports + 1, total + 1))
    phones_with_voice = set(range(1, s.ports + 1)) - set(s.voice_missing)
    if s.cisco:
        _cisco_vlans(w, s, access, phones_with_voice)
    else:
        _q_bridge(w, s, total, access, uplink, phones_with_voice)
    _poe(w, s)
    _lldp(w, s, access)
    return w.to_snmprec()


def _q_bridge(w: Walk, s: SwitchSpec, total: int, access: set[int], uplink: set[int], voice: set[int]) -> None:
    trunk = {min(uplink)} if uplink else set()        # the first uplink carries data and voice tagged
    vlans = {1: ("default", set(uplink), set(uplink)),
             s.data_vlan: ("data", access | trunk, set(access))}
    if s.voice_vlan:
        vlans[s.voice_vlan] = ("voice", voice | trunk, set())
    for vid, (name, egress, untagged) in sorted(vlans.items()):
        w.add(mibs.Q_STATIC_NAME + (vid,), OCTETS, name.encode())
        w.add(mibs.Q_STATIC_EGRESS + (vid,), OCTETS, _portlist(egress, total))
        w.add(mibs.Q_STATIC_UNTAGGED + (vid,), OCTETS, _portlist(untagged, total))
        w.add(mibs.Q_CURRENT_EGRESS + (0, vid), OCTETS, _portlist(egress, total))
        w.add(mibs.Q_CURRENT_UNTAGGED + (0, vid), OCTETS, _portlist(untagged, total))
    for p in range(1, total + 1):
        w.add(mibs.Q_PVID + (p,), GAUGE32, s.data_vlan if p in access else 1)


def _cisco_vlans(w: Walk, s: SwitchSpec, access: set[int], voice: set[int]) -> None:
    for vid, name in sorted({1: "default", s.data_vlan: "data", **({s.voice_vlan: "voice"} if s.voice_vlan else {})}.items()):
        w.add(mibs.VTP_VLAN_STATE + (1, vid), INTEGER, 1)
        w.add(mibs.VTP_VLAN_NAME + (1, vid), OCTETS, name.encode())
    for p in sorted(access):
        w.add(mibs.VM_VLAN + (_ifindex(p),), INTEGER, s.data_vlan)
        w.add(mibs.VM_VOICE_VLAN + (_ifindex(p),), INTEGER,
              s.voice_vlan if s.voice_vlan and p in voice else mibs.VM_VOICE_NONE)


def _poe(w: Walk, s: SwitchSpec) -> None:
    per_phone = mibs.CLASS_POWER_W[s.poe_class]
    used = s.poe_consumption_w if s.poe_consumption_w is not None else round(s.phones * per_phone)
    w.add(mibs.PETH_MAIN_POWER + (1,), GAUGE32, s.poe_budget_w)
    w.add(mibs.PETH_MAIN_OPER + (1,), INTEGER, 1)
    w.add(mibs.PETH_MAIN_CONSUMPTION + (1,), GAUGE32, used)
    w.add(mibs.PETH_MAIN_THRESHOLD + (1,), INTEGER, s.poe_threshold_pct)
    for p in range(1, s.ports + 1):
        phone = p <= s.phones
        index = (1, _ifindex(p))     # pethPsePortIndex = ifIndex, the common non-modular mapping
        w.add(mibs.PETH_PORT_ADMIN + index, INTEGER, 1)
        w.add(mibs.PETH_PORT_DETECTION + index, INTEGER, 3 if phone else 2)
        if phone:
            w.add(mibs.PETH_PORT_CLASS + index, INTEGER, s.poe_class + 1)
        if s.cisco:
            mw = round(used * 1000 / max(1, s.phones)) if phone else 0
            w.add(mibs.CPE_PORT_ALLOCATED + index, GAUGE32, int(per_phone * 1000) if phone else 0)
            w.add(mibs.CPE_PORT_CONSUMPTION + index, GAUGE32, mw)


def _lldp(w: Walk, s: SwitchSpec, access: set[int]) -> None:
    for p in range(1, s.phones + 1):
        idx = (0, p, p)   # (TimeMark, LocalPortNum = bridge port, RemIndex)
        w.add(mibs.LLDP_REM_CHASSIS_ID + idx, OCTETS, bytes([0x00, 0x1B, 0x4F, 0x00, 0x10, p]))
        w.add(mibs.LLDP_REM_PORT_ID + idx, OCTETS, b"WAN")
        w.add(mibs.LLDP_REM_SYS_NAME + idx, OCTETS, f"phone-{p:02d}".encode())
        w.add(mibs.LLDP_REM_CAP_ENABLED + idx, OCTETS, bytes([0x24]))    # bridge(2) + telephone(5)
        if s.lldp_med:
            w.add(mibs.MED_REM_DEVICE_CLASS + idx, INTEGER, mibs.MED_CLASS_ENDPOINT_3)
    if not s.lldp_med:
        return
    for p in range(1, s.ports + s.uplinks + 1):
        # capabilities(0) networkPolicy(1) location(2) extendedPSE(3) inventory(5)
        w.add(mibs.MED_PORT_CAP_SUPPORTED + (p,), OCTETS, bytes([0xF4]))
    if not s.voice_vlan:
        return
    for p in sorted(access):
        # AppType BITS index, length-prefixed: voice(1) = 0x40, voiceSignaling(2) = 0x20
        for app, prio, dscp in (((1, 0x40), 5, 46), ((1, 0x20), 3, 24)):   # RFC 4594: EF voice, CS3 signalling
            idx = (p,) + app
            w.add(mibs.MED_LOC_POLICY_VLAN + idx, INTEGER, s.voice_vlan)
            w.add(mibs.MED_LOC_POLICY_PRIORITY + idx, INTEGER, prio)
            w.add(mibs.MED_LOC_POLICY_DSCP + idx, INTEGER, dscp)
            w.add(mibs.MED_LOC_POLICY_UNKNOWN + idx, INTEGER, 2)
            w.add(mibs.MED_LOC_POLICY_TAGGED + idx, INTEGER, 1)


@dataclass
class UpsSpec:
    name: str = "demo-ups"
    mib: str = "rfc1628"                  # rfc1628 | apc | xups
    runtime_min: float = 40.0
    charge_pct: int = 100
    load_pct: int = 35
    on_battery_s: int = 0                 # > 0: on battery
    bypass: bool = False


def ups(spec: UpsSpec | None = None) -> str:
    s = spec or UpsSpec()
    w = Walk()
    _system(w, f"readiness demo UPS ({s.mib})", s.name, 8_640_000, 2)
    on_battery = s.on_battery_s > 0
    if s.mib == "rfc1628":
        w.add(mibs.UPS_IDENT_MANUFACTURER, OCTETS, b"readiness")
        w.add(mibs.UPS_IDENT_MODEL, OCTETS, b"Demo UPS 1500")
        w.add(mibs.UPS_BATTERY_STATUS, INTEGER, 2)
        w.add(mibs.UPS_SECONDS_ON_BATTERY, INTEGER, s.on_battery_s)
        w.add(mibs.UPS_MINUTES_REMAINING, INTEGER, round(s.runtime_min))
        w.add(mibs.UPS_CHARGE_REMAINING, INTEGER, s.charge_pct)
        w.add(mibs.UPS_OUTPUT_SOURCE, INTEGER, 5 if on_battery else 4 if s.bypass else 3)
        w.add(mibs.UPS_OUTPUT_PERCENT_LOAD + (1,), INTEGER, s.load_pct)
        w.add(mibs.UPS_ALARMS_PRESENT, GAUGE32, 1 if on_battery else 0)
        if on_battery:
            w.add(mibs.UPS_ALARM_DESCR + (1,), OBJECT_ID, mibs.dotted(mibs.UPS_WELL_KNOWN_ALARMS + (2,)))
    elif s.mib == "apc":
        w.add(mibs.APC_MODEL, OCTETS, b"Smart-UPS 1500")
        w.add(mibs.APC_BATTERY_STATUS, INTEGER, 2)
        w.add(mibs.APC_TIME_ON_BATTERY, TIMETICKS, s.on_battery_s * 100)
        w.add(mibs.APC_RUNTIME, TIMETICKS, round(s.runtime_min * 6000))     # 1/100 s
        w.add(mibs.APC_HP_CAPACITY, GAUGE32, s.charge_pct * 10)
        w.add(mibs.APC_OUTPUT_STATUS, INTEGER, 3 if on_battery else 9 if s.bypass else 2)
        w.add(mibs.APC_HP_LOAD, GAUGE32, s.load_pct * 10)
    else:
        w.add(mibs.XUPS_MODEL, OCTETS, b"Eaton 5PX")
        w.add(mibs.XUPS_TIME_REMAINING, INTEGER, round(s.runtime_min * 60))   # seconds
        w.add(mibs.XUPS_CAPACITY, INTEGER, s.charge_pct)
        w.add(mibs.XUPS_ABM_STATUS, INTEGER, 2 if on_battery else 3)
        w.add(mibs.XUPS_OUTPUT_LOAD, INTEGER, s.load_pct)
        w.add(mibs.XUPS_OUTPUT_SOURCE, INTEGER, 5 if on_battery else 4 if s.bypass else 3)
        w.add(mibs.XUPS_ALARMS, GAUGE32, 1 if on_battery else 0)
    return w.to_snmprec()


def write_demo(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "demo-switch.snmprec").write_text(switch())
    (folder / "demo-ups.snmprec").write_text(ups())


if __name__ == "__main__":
    write_demo(Path(sys.argv[1] if len(sys.argv) > 1 else "readiness/lab/data/snmp"))
