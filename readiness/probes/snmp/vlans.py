"""VLANs: Q-BRIDGE-MIB static/current VLANs with their egress and untagged PortLists, PVIDs, and Cisco's
VTP VLAN table with CISCO-VLAN-MEMBERSHIP-MIB access and voice VLANs per port.

PortList (Q-BRIDGE-MIB TC, RFC 4363): octet 0 holds ports 1-8, and within an octet the most
significant bit is the lowest-numbered port. The numbers are dot1dBasePort, not ifIndex: they map to
interfaces through dot1dBasePortIfIndex (BRIDGE-MIB). Tagged on port p = in egress and not in untagged.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from . import mibs
from .switch import Interface
from .walk import Walk, number, octets, text

VLAN_MIN, VLAN_MAX = 1, 4094   # IEEE 802.1Q usable VLAN IDs
# CISCO-VTP-MIB vtpVlanState
VTP_STATES = {1: "operational", 2: "suspended", 3: "mtuTooBigForDevice", 4: "mtuTooBigForTrunk"}


def decode_portlist(data: bytes) -> set[int]:
    """PortList octets -> port numbers (1-based, most significant bit first)."""
    ports = set()
    for i, byte in enumerate(data):
        for bit in range(8):
            if byte & (0x80 >> bit):
                ports.add(i * 8 + bit + 1)
    return ports


@dataclass
class Vlan:
    id: int
    name: str = ""
    tagged: set[int] = field(default_factory=set)      # ifIndex
    untagged: set[int] = field(default_factory=set)
    state: str | None = None                            # Cisco VTP state; None where the MIB has none

    @property
    def active(self) -> bool:
        return self.state in (None, "operational")


@dataclass
class VlanTable:
    vlans: dict[int, Vlan] = field(default_factory=dict)
    source: str = ""                                      # which MIB the VLANs came from
    pvid: dict[int, int] = field(default_factory=dict)    # ifIndex -> PVID
    voice: dict[int, int] = field(default_factory=dict)   # ifIndex -> Cisco vmVoiceVlanId (raw, incl. 0/4095)
    notes: list[str] = field(default_factory=list)
    reason: str = ""                                      # why there is no VLAN information at all

    def voice_vlan(self) -> int | None:
        """The Cisco voice VLAN configured on most ports (1..4094), if any."""
        ids = Counter(v for v in self.voice.values() if VLAN_MIN <= v <= VLAN_MAX)
        return ids.most_common(1)[0][0] if ids else None

    def to_json(self, names: dict[int, str]) -> list[dict]:
        def label(ports: set[int]) -> list[str]:
            return [names.get(p, f"ifIndex {p}") for p in sorted(ports)]

        return [{"id": v.id, "name": v.name, "tagged_ports": label(v.tagged), "untagged_ports": label(v.untagged),
                 "state": v.state} for v in sorted(self.vlans.values(), key=lambda v: v.id)]


def bridge_ports(walk: Walk) -> dict[int, int]:
    """dot1dBasePort -> ifIndex."""
    out = {}
    for idx, entry in walk.column(mibs.BASE_PORT_IFINDEX).items():
        r = number(entry, "dot1dBasePortIfIndex", 1)
        if len(idx) == 1 and r.ok:
            out[idx[0]] = r.value  # type: ignore[assignment]
    return out


def parse(walk: Walk, table: dict[int, Interface]) -> VlanTable:
    result = VlanTable()
    bridge = bridge_ports(walk)
    _q_bridge(walk, bridge, table, result)
    _cisco(walk, result)
    if not result.vlans and not result.voice:
        why = walk.problem("Q-BRIDGE static VLANs", "Q-BRIDGE current VLANs", "CISCO-VTP-MIB",
                           "CISCO-VLAN-MEMBERSHIP-MIB", "CISCO-VLAN-MEMBERSHIP-MIB voice VLANs")
        result.reason = why or "the switch exposes neither Q-BRIDGE-MIB nor CISCO-VTP-MIB VLAN tables"
    return result


def _vlan(result: VlanTable, vid: int) -> Vlan | None:
    if not VLAN_MIN <= vid <= VLAN_MAX:
        return None
    return result.vlans.setdefault(vid, Vlan(vid))


def _q_bridge(walk: Walk, bridge: dict[int, int], table: dict[int, Interface], result: VlanTable) -> None:
    names = walk.column(mibs.Q_STATIC_NAME)
    static_egress = walk.column(mibs.Q_STATIC_EGRESS)
    static_untagged = walk.column(mibs.Q_STATIC_UNTAGGED)
    # The current table (index TimeMark, VLAN) is what the switch does now, static what is configured;
    # some switches fill only one of them. Prefer current membership, fall back to static.
    current_egress = {idx[-1:]: v for idx, v in walk.column(mibs.Q_CURRENT_EGRESS).items() if idx}
    current_untagged = {idx[-1:]: v for idx, v in walk.column(mibs.Q_CURRENT_UNTAGGED).items() if idx}
    ids = {i[0] for i in list(names) + list(static_egress) + list(current_egress) if len(i) == 1}
    if not ids:
        return
    result.source = "Q-BRIDGE-MIB"
    if not bridge:
        result.notes.append("no dot1dBasePortIfIndex: bridge port numbers taken as ifIndex")

    def to_ifindex(ports: set[int]) -> set[int]:
        if not bridge:
            return {p for p in ports if p in table} if table else ports
        return {bridge[p] for p in ports if p in bridge}   # bits past the last port are padding/garbage

    for vid in sorted(ids):
        v = _vlan(result, vid)
        if v is None:
            result.notes.append(f"VLAN index {vid} is outside 1-4094, ignored")
            continue
        if (vid,) in names:
            v.name = text(names[(vid,)]) or ""
        egress = octets(current_egress.get((vid,))) or octets(static_egress.get((vid,)))
        untagged = octets(current_untagged.get((vid,))) or octets(static_untagged.get((vid,))) or b""
        if egress is None:
            continue
        members, plain = to_ifindex(decode_portlist(egress)), to_ifindex(decode_portlist(untagged))
        v.untagged = members & plain
        v.tagged = members - plain
    for idx, entry in walk.column(mibs.Q_PVID).items():
        r = number(entry, "dot1qPvid", VLAN_MIN, VLAN_MAX)
        if len(idx) == 1 and r.ok:
            ix = bridge.get(idx[0], idx[0] if not bridge else None)
            if ix is not None:
                result.pvid[ix] = r.value  # type: ignore[assignment]


def _cisco(walk: Walk, result: VlanTable) -> None:
    state = walk.column(mibs.VTP_VLAN_STATE)
    vtp_names = walk.column(mibs.VTP_VLAN_NAME)
    if state and not result.source:
        result.source = "CISCO-VTP-MIB"
    for idx, entry in state.items():
        r = number(entry, "vtpVlanState", 1, 4)
        v = _vlan(result, idx[-1]) if idx else None
        if v is None:
            continue
        v.state = VTP_STATES.get(r.value, "unknown") if r.ok else "unknown"  # type: ignore[arg-type]
        if idx in vtp_names:
            v.name = v.name or text(vtp_names[idx]) or ""
    # Membership only in VLANs the switch lists: a port pointing at a VLAN missing from the VTP table
    # (a classic voice VLAN fault) must not make that VLAN appear to exist. Without any VLAN table,
    # the per-port VLANs are all there is.
    invent = not result.vlans
    for idx, entry in walk.column(mibs.VM_VLAN).items():
        r = number(entry, "vmVlan", 0, 4095)
        if len(idx) == 1 and r.ok:
            v = _vlan(result, r.value) if invent else result.vlans.get(r.value)  # type: ignore[arg-type]
            if v is not None:
                v.untagged.add(idx[0])
    for idx, entry in walk.column(mibs.VM_VOICE_VLAN).items():
        r = number(entry, "vmVoiceVlanId", 0, 4096)
        if len(idx) != 1 or not r.ok:
            continue
        result.voice[idx[0]] = r.value  # type: ignore[assignment]
        v = _vlan(result, r.value) if invent else result.vlans.get(r.value)  # type: ignore[arg-type]
        if v is not None:
            v.tagged.add(idx[0])
