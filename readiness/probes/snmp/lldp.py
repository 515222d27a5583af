"""LLDP: remote systems (which ports have phones) and the LLDP-MED voice network policy the switch
advertises per port (LLDP-MIB, LLDP-EXT-MED-MIB / ANSI/TIA-1057).

LldpPortNumber is dot1dBasePort on a bridge (IEEE 802.1AB), so local ports map to interfaces through
dot1dBasePortIfIndex, else are taken as ifIndex.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from . import mibs
from .switch import Interface
from .walk import Walk, number, octets, text


@dataclass
class Neighbour:
    if_index: int | None
    port: str
    sys_name: str = ""
    chassis_id: str = ""
    port_id: str = ""
    telephone: bool = False


@dataclass
class VoicePolicy:
    if_index: int | None
    port: str
    vlan: int | None
    priority: int | None
    dscp: int | None
    tagged: bool | None
    unknown: bool | None


@dataclass
class LldpInfo:
    neighbours: list[Neighbour] = field(default_factory=list)
    policies: list[VoicePolicy] = field(default_factory=list)
    med_network_policy: bool | None = None     # LLDP-MED network policy capability on any port; None: no MED MIB
    reason: str = ""                           # why the voice policy could not be read

    def to_json(self) -> dict:
        return {"neighbours": [asdict(n) for n in self.neighbours],
                "voice_policies": [asdict(p) for p in self.policies],
                "med_network_policy_supported": self.med_network_policy}


def _bits(entry) -> bytes:
    """BITS as octets. Some agents return them as hex text ('80 00'): accept that too."""
    raw = octets(entry) or b""
    try:
        s = raw.decode("ascii").replace(" ", "")
        if s and len(s) % 2 == 0 and all(c in "0123456789abcdefABCDEF" for c in s) and len(s) > len(raw) / 2:
            return bytes.fromhex(s)
    except (UnicodeDecodeError, ValueError):
        pass
    return raw


def _bit(data: bytes, n: int) -> bool:
    return len(data) > n // 8 and bool(data[n // 8] & (0x80 >> (n % 8)))


def is_voice_index(app: tuple[int, ...]) -> bool:
    """The AppType part of a media policy index: a length-prefixed BITS octet string, voice(1) = 0x40
    (RFC 2578 section 7.7 index rules; derived from them, not yet seen in a recorded walk).
    Also accept an agent that indexes by the plain enumeration value voice(1)."""
    if len(app) >= 2 and app[0] == len(app) - 1:
        return _bit(bytes(b & 0xFF for b in app[1:]), mibs.MED_APP_VOICE_BIT)
    return app == (1,)


def _label(port_num: int, bridge: dict[int, int], table: dict[int, Interface]) -> tuple[int | None, str]:
    ix = bridge.get(port_num, port_num)
    return (ix, table[ix].name) if ix in table else (None, f"LLDP port {port_num}")


def parse(walk: Walk, bridge: dict[int, int], table: dict[int, Interface]) -> LldpInfo:
    info = LldpInfo()
    names = walk.column(mibs.LLDP_REM_SYS_NAME)
    chassis = walk.column(mibs.LLDP_REM_CHASSIS_ID)
    ports = walk.column(mibs.LLDP_REM_PORT_ID)
    caps = walk.column(mibs.LLDP_REM_CAP_ENABLED)
    med_class = walk.column(mibs.MED_REM_DEVICE_CLASS)
    for idx in sorted(set(names) | set(chassis) | set(caps)):
        if len(idx) != 3:
            continue
        ix, label = _label(idx[1], bridge, table)
        n = Neighbour(ix, label, (text(names[idx]) or "") if idx in names else "")
        if idx in chassis:
            raw = octets(chassis[idx]) or b""
            n.chassis_id = ":".join(f"{b:02x}" for b in raw) if len(raw) == 6 else (text(chassis[idx]) or "")
        if idx in ports:
            n.port_id = text(ports[idx]) or ""
        cls = number(med_class[idx], "lldpXMedRemDeviceClass") if idx in med_class else None
        n.telephone = (_bit(_bits(caps.get(idx)), mibs.LLDP_CAP_TELEPHONE_BIT) if idx in caps else False) or \
            bool(cls and cls.ok and cls.value == mibs.MED_CLASS_ENDPOINT_3)
        info.neighbours.append(n)

    supported = walk.column(mibs.MED_PORT_CAP_SUPPORTED)
    if supported:
        info.med_network_policy = any(_bit(_bits(e), mibs.MED_CAP_NETWORK_POLICY_BIT) for e in supported.values())
    cols = {c: walk.column(c) for c in (mibs.MED_LOC_POLICY_VLAN, mibs.MED_LOC_POLICY_PRIORITY,
                                        mibs.MED_LOC_POLICY_DSCP, mibs.MED_LOC_POLICY_TAGGED,
                                        mibs.MED_LOC_POLICY_UNKNOWN)}
    rows = set(cols[mibs.MED_LOC_POLICY_VLAN]) | set(cols[mibs.MED_LOC_POLICY_DSCP])
    for idx in sorted(rows):
        if len(idx) < 2 or not is_voice_index(idx[1:]):
            continue
        ix, label = _label(idx[0], bridge, table)

        def get(col, name, lo, hi):
            e = cols[col].get(idx)
            r = number(e, name, lo, hi) if e else None
            return r.value if r and r.ok else None

        tagged = get(mibs.MED_LOC_POLICY_TAGGED, "lldpXMedLocMediaPolicyTagged", 1, 2)
        unknown = get(mibs.MED_LOC_POLICY_UNKNOWN, "lldpXMedLocMediaPolicyUnknown", 1, 2)
        info.policies.append(VoicePolicy(
            ix, label,
            get(mibs.MED_LOC_POLICY_VLAN, "lldpXMedLocMediaPolicyVlanID", 0, 4095),
            get(mibs.MED_LOC_POLICY_PRIORITY, "lldpXMedLocMediaPolicyPriority", 0, 7),
            get(mibs.MED_LOC_POLICY_DSCP, "lldpXMedLocMediaPolicyDscp", 0, 63),
            mibs.TRUTH.get(tagged) if tagged else None, mibs.TRUTH.get(unknown) if unknown else None))
    if info.med_network_policy is None and not info.policies:
        info.reason = (walk.problem("LLDP-EXT-MED-MIB port capabilities", "LLDP-EXT-MED-MIB media policy")
                       or "the switch has no LLDP-EXT-MED-MIB (LLDP-MED) tables")
    return info
