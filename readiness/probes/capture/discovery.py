"""LLDP (IEEE 802.1AB), LLDP-MED (ANSI/TIA-1057) and CDP (Cisco; as Wireshark's packet-cdp.c reads it)
decoded byte by byte.

What a technician needs from the switch port a phone plugs into: which voice VLAN, 802.1p priority
and DSCP it advertises (LLDP-MED network policy, CDP VoIP VLAN), whether an emergency location is
configured (civic address or ELIN), and the PoE it offers. Every decoder takes the bytes after the
EtherType / SNAP header and never raises: a short or malformed TLV ends the decode with a `problems`
entry, and whatever was read before it is kept.
"""

from __future__ import annotations

import ipaddress
import struct
from typing import Any

# organizationally specific TLVs (IEEE 802.1AB type 127): IEEE 802.1, IEEE 802.3, TIA (ANSI/TIA-1057)
OUI_8021, OUI_8023, OUI_MED = 0x0080C2, 0x00120F, 0x0012BB

CHASSIS_SUBTYPES = {1: "chassis component", 2: "interface alias", 3: "port component", 4: "mac address",
                    5: "network address", 6: "interface name", 7: "local"}
PORT_SUBTYPES = {1: "interface alias", 2: "port component", 3: "mac address", 4: "network address",
                 5: "interface name", 6: "agent circuit id", 7: "local"}
SYSTEM_CAPS = ["other", "repeater", "bridge", "wlan-ap", "router", "telephone", "docsis", "station", "c-vlan",
               "s-vlan", "tpmr"]
MED_CAPS = {0x01: "capabilities", 0x02: "network-policy", 0x04: "location", 0x08: "power-pse", 0x10: "power-pd",
            0x20: "inventory"}
MED_DEVICE_TYPES = {1: "endpoint class I", 2: "endpoint class II", 3: "endpoint class III",
                    4: "network connectivity"}
# ANSI/TIA-1057 network policy application types.
MED_APPLICATIONS = {1: "voice", 2: "voice-signaling", 3: "guest-voice", 4: "guest-voice-signaling",
                    5: "softphone-voice", 6: "video-conferencing", 7: "streaming-video", 8: "video-signaling"}
# Civic address CA types (RFC 4776 section 3.4).
CA_TYPES = {0: "language", 1: "state", 2: "county", 3: "city", 4: "city_division", 5: "block", 6: "street",
            16: "leading_direction", 17: "trailing_suffix", 18: "street_suffix", 19: "house_number",
            20: "house_number_suffix", 21: "landmark", 22: "additional", 23: "name", 24: "zip", 25: "building",
            26: "unit", 27: "floor", 28: "room", 29: "place_type", 128: "script"}
MED_INVENTORY = {5: "hardware_revision", 6: "firmware_revision", 7: "software_revision", 8: "serial_number",
                 9: "manufacturer", 10: "model", 11: "asset_id"}
POWER_TYPES = {0: "PSE", 1: "PD"}
POWER_PRIORITIES = {0: "unknown", 1: "critical", 2: "high", 3: "low"}
PSE_SOURCES = {0: "unknown", 1: "primary", 2: "backup"}
PD_SOURCES = {0: "unknown", 1: "PSE", 2: "local", 3: "PSE and local"}

LLDP_TEXT = {4: "port_description", 5: "system_name", 6: "system_description"}
CDP_TEXT = {0x0001: "device_id", 0x0003: "port_id", 0x0005: "software_version", 0x0006: "platform",
            0x0009: "vtp_domain", 0x0014: "system_name"}
CDP_CAPS = {0x01: "router", 0x02: "transparent bridge", 0x04: "source-route bridge", 0x08: "switch",
            0x10: "host", 0x20: "igmp", 0x40: "repeater", 0x80: "phone"}


def _text(b: bytes) -> str:
    return b.decode("utf-8", errors="replace").rstrip("\x00")


def _mac(b: bytes) -> str:
    return ":".join(f"{x:02x}" for x in b)


def _caps(bits: int, names: list[str]) -> list[str]:
    return [n for i, n in enumerate(names) if bits & (1 << i)]


def _address(family: int, b: bytes) -> str:
    """IANA address family 1 IPv4, 2 IPv6, 6 IEEE 802 (as in LLDP management / network-address ids)."""
    if family == 1 and len(b) == 4:
        return str(ipaddress.IPv4Address(b))
    if family == 2 and len(b) == 16:
        return str(ipaddress.IPv6Address(b))
    if family == 6 and len(b) == 6:
        return _mac(b)
    return b.hex()


def _id(b: bytes, mac: bool, network: bool) -> str:
    """Chassis / port id value: a MAC, a network address (family byte + address) or text."""
    if mac and len(b) == 6:
        return _mac(b)
    if network and b:
        return _address(b[0], b[1:])
    return _text(b)


# --- LLDP ----------------------------------------------------------------------------------------

def decode_lldp(data: bytes, truncated: bool = False) -> dict[str, Any]:
    """One LLDPDU (the bytes after EtherType 0x88CC)."""
    out: dict[str, Any] = {"chassis_id": None, "port_id": None, "ttl": None, "system_name": None,
                           "med_policies": [], "location": None, "problems": []}
    pos = 0
    while True:
        if pos + 2 > len(data):
            if truncated:
                out["problems"].append(f"frame cut by the capture's snap length after {len(data)} bytes: "
                                       f"later TLVs are missing")
            else:
                out["problems"].append("LLDPDU ends without an End TLV")
            break
        header = struct.unpack_from(">H", data, pos)[0]
        ttype, length = header >> 9, header & 0x01FF        # 7-bit type, 9-bit length (802.1AB 8.4)
        value = data[pos + 2:pos + 2 + length]
        if len(value) < length:
            out["problems"].append(
                f"TLV type {ttype} claims {length} bytes but only {len(value)} are "
                + ("captured (snap length)" if truncated else "present"))
            if not truncated:
                break
        pos += 2 + length
        if ttype == 0:
            break
        _guarded(out, f"TLV type {ttype} of {length} bytes", _lldp_tlv, ttype, value)
    return out


def _guarded(out: dict[str, Any], what: str, decode, *args) -> None:
    """A malformed TLV becomes a problem line; the rest of the frame is still decoded."""
    try:
        decode(out, *args)
    except (IndexError, struct.error, ValueError):
        out["problems"].append(f"{what} is malformed")


def _lldp_tlv(out: dict[str, Any], ttype: int, v: bytes) -> None:
    if ttype == 1 and v:
        out["chassis_id_subtype"] = CHASSIS_SUBTYPES.get(v[0], str(v[0]))
        out["chassis_id"] = _id(v[1:], mac=v[0] == 4, network=v[0] == 5)
    elif ttype == 2 and v:
        out["port_id_subtype"] = PORT_SUBTYPES.get(v[0], str(v[0]))
        out["port_id"] = _id(v[1:], mac=v[0] == 3, network=v[0] == 4)
    elif ttype == 3:
        out["ttl"] = struct.unpack(">H", v[:2])[0]
    elif ttype in LLDP_TEXT:
        out[LLDP_TEXT[ttype]] = _text(v)
    elif ttype == 7:
        caps, enabled = struct.unpack(">HH", v[:4])
        out["capabilities"] = _caps(caps, SYSTEM_CAPS)
        out["enabled_capabilities"] = _caps(enabled, SYSTEM_CAPS)
    elif ttype == 8:
        alen = v[0]
        out.setdefault("management_addresses", []).append(_address(v[1], v[2:1 + alen]))
    elif ttype == 127:
        oui, sub = int.from_bytes(v[:3], "big"), v[3]
        info = v[4:]
        if oui == OUI_8021:
            _dot1(out, sub, info)
        elif oui == OUI_8023:
            _dot3(out, sub, info)
        elif oui == OUI_MED:
            _med(out, sub, info)
        else:
            out.setdefault("other_tlvs", []).append({"oui": f"{oui:06x}", "subtype": sub, "data": info.hex()})


def _dot1(out: dict[str, Any], sub: int, info: bytes) -> None:
    if sub == 1:
        out["port_vlan"] = struct.unpack(">H", info[:2])[0]
    elif sub == 3:
        vid, nlen = struct.unpack(">HB", info[:3])
        out.setdefault("vlan_names", []).append({"vlan": vid, "name": _text(info[3:3 + nlen])})
    elif sub == 12:                           # 802.1Qaz application priority: not voice, shown as is
        entries = [{"priority": info[i] >> 5, "selector": info[i] & 0x07,
                    "protocol": struct.unpack(">H", info[i + 1:i + 3])[0]} for i in range(1, len(info) - 2, 3)]
        out["application_priority"] = entries
    else:
        out.setdefault("other_tlvs", []).append({"oui": f"{OUI_8021:06x}", "subtype": sub, "data": info.hex()})


def _dot3(out: dict[str, Any], sub: int, info: bytes) -> None:
    if sub == 1:
        autoneg, pmd, mau = struct.unpack(">BHH", info[:5])
        out["mac_phy"] = {"autoneg_supported": bool(autoneg & 1), "autoneg_enabled": bool(autoneg & 2),
                          "pmd_capability": f"0x{pmd:04x}", "mau_type": mau}
    elif sub == 2:
        mdi, pair, cls = info[0], info[1], info[2]
        power: dict[str, Any] = {"port_class": "PSE" if mdi & 1 else "PD", "supported": bool(mdi & 2),
                                 "enabled": bool(mdi & 4), "pairs_control": bool(mdi & 8),
                                 "pse_power_pair": {1: "signal", 2: "spare"}.get(pair, str(pair)),
                                 # IEEE 802.3 79.3.2.4: field value 1..5 = class 0..4, 0 is not a class
                                 "power_class_field": cls, "power_class": cls - 1 if 1 <= cls <= 5 else None}
        # IEEE 802.3at extension; 0.1 W units as lldpd reads them (not confirmed in IEEE 802.3 itself)
        if len(info) >= 12:
            power["requested_w"] = struct.unpack(">H", info[8:10])[0] / 10
            power["allocated_w"] = struct.unpack(">H", info[10:12])[0] / 10
        out["power_via_mdi"] = power
    elif sub == 4:
        out["max_frame_size"] = struct.unpack(">H", info[:2])[0]
    else:
        out.setdefault("other_tlvs", []).append({"oui": f"{OUI_8023:06x}", "subtype": sub, "data": info.hex()})


def _med(out: dict[str, Any], sub: int, info: bytes) -> None:
    if sub == 1:
        caps, dev = struct.unpack(">HB", info[:3])
        out["med_capabilities"] = {"capabilities": [n for bit, n in MED_CAPS.items() if caps & bit],
                                   "device_type": MED_DEVICE_TYPES.get(dev, str(dev))}
    elif sub == 2:
        out["med_policies"].append(network_policy(info))
    elif sub == 3:
        out["location"] = location(info)
    elif sub == 4:
        b, tenths = info[0], struct.unpack(">H", info[1:3])[0]
        ptype, source = (b >> 6) & 3, (b >> 4) & 3
        out["med_power"] = {"type": POWER_TYPES.get(ptype, str(ptype)),
                            "source": (PSE_SOURCES if ptype == 0 else PD_SOURCES).get(source, str(source)),
                            "priority": POWER_PRIORITIES.get(b & 0x0F, str(b & 0x0F)),
                            "watts": tenths / 10}     # ANSI/TIA-1057: 0.1 W units, 0-102.3 W
    elif sub in MED_INVENTORY:
        out.setdefault("inventory", {})[MED_INVENTORY[sub]] = _text(info)


def network_policy(info: bytes) -> dict[str, Any]:
    """ANSI/TIA-1057 network policy: one big-endian 32-bit word."""
    w = struct.unpack(">I", info[:4])[0]
    app = w >> 24
    unknown, tagged = bool((w >> 23) & 1), bool((w >> 22) & 1)
    return {"application": MED_APPLICATIONS.get(app, f"reserved ({app})"), "application_type": app,
            "unknown": unknown, "tagged": tagged,
            "vlan": (w & 0x001FFE00) >> 9, "priority": (w & 0x1C0) >> 6, "dscp": w & 0x3F}


def location(info: bytes) -> dict[str, Any]:
    fmt, data = info[0], info[1:]
    if fmt == 1:
        return {"format": "coordinate", "coordinate": _lci(data)}
    if fmt == 2:
        civic: dict[str, Any] = {"what": data[1], "country": data[2:4].decode("ascii", errors="replace")}
        end = min(len(data), 1 + data[0])     # data[0]: LCI length, bytes that follow it
        pos = 4
        while pos + 2 <= end:
            catype, calen = data[pos], data[pos + 1]
            civic[CA_TYPES.get(catype, f"ca_{catype}")] = _text(data[pos + 2:pos + 2 + calen])
            pos += 2 + calen
        return {"format": "civic", "civic": civic}
    if fmt == 3:
        return {"format": "elin", "elin": data.decode("ascii", errors="replace")}
    return {"format": f"unknown ({fmt})", "data": data.hex()}


def _lci(b: bytes) -> dict[str, Any]:
    """RFC 3825 coordinate LCI: 6+34 latitude, 6+34 longitude, 4+6+30 altitude, 8 datum (128 bits)."""
    if len(b) < 16:
        return {"raw": b.hex()}
    n = int.from_bytes(b[:16], "big")

    def bits(start: int, width: int) -> int:
        return (n >> (128 - start - width)) & ((1 << width) - 1)

    def fixed(v: int, width: int, frac: int) -> float:
        if v & (1 << (width - 1)):
            v -= 1 << width
        return v / (1 << frac)

    return {"latitude": fixed(bits(6, 34), 34, 25), "longitude": fixed(bits(46, 34), 34, 25),
            "altitude_type": bits(80, 4), "altitude": fixed(bits(90, 30), 30, 8), "datum": bits(120, 8)}


# --- CDP -----------------------------------------------------------------------------------------

def decode_cdp(data: bytes, truncated: bool = False) -> dict[str, Any]:
    """One CDP packet (after the SNAP header or Cisco HDLC header)."""
    out: dict[str, Any] = {"device_id": None, "port_id": None, "platform": None, "native_vlan": None,
                           "voice_vlan": None, "problems": []}
    if len(data) < 4:
        out["problems"].append("CDP header cut short")
        return out
    out["version"], out["ttl"] = data[0], data[1]
    pos = 4
    while pos + 4 <= len(data):
        ttype, length = struct.unpack_from(">HH", data, pos)
        if length < 4:
            out["problems"].append(f"TLV 0x{ttype:04x} has an impossible length {length}")
            break
        value = data[pos + 4:pos + length]
        if len(value) < length - 4:
            out["problems"].append(f"TLV 0x{ttype:04x} claims {length} bytes, only {len(value) + 4} "
                                   + ("captured (snap length)" if truncated else "present"))
            break
        pos += length
        _guarded(out, f"TLV 0x{ttype:04x} of {length} bytes", _cdp_tlv, ttype, value)
    return out


def _cdp_tlv(out: dict[str, Any], t: int, v: bytes) -> None:
    if t in CDP_TEXT:
        out[CDP_TEXT[t]] = _text(v)
    elif t in (0x0002, 0x0016):
        out["addresses" if t == 0x0002 else "management_addresses"] = _cdp_addresses(v)
    elif t == 0x0004:
        bits = struct.unpack(">I", v[:4])[0]
        out["capabilities"] = [n for b, n in CDP_CAPS.items() if bits & b]
    elif t == 0x000A:
        out["native_vlan"] = struct.unpack(">H", v[:2])[0]
    elif t == 0x000B:
        out["duplex"] = "full" if v[0] else "half"
    elif t in (0x000E, 0x000F):               # VoIP VLAN reply / query: 1 B appliance id + 2 B VLAN
        vlan = struct.unpack(">H", v[1:3])[0]
        if t == 0x000E:
            out["voice_vlan"] = vlan
        else:
            out["voice_vlan_query"] = vlan
    elif t == 0x0010:
        out["power_mw"] = struct.unpack(">H", v[:2])[0]
    elif t == 0x0011:
        out["mtu"] = struct.unpack(">I", v[:4])[0]
    elif t == 0x0012:
        out["trust_bitmap"] = v[0]
    elif t == 0x0013:
        out["untrusted_cos"] = v[0]
    elif t == 0x0017:
        out["location"] = _text(v[1:])
    elif t == 0x001A and len(v) >= 12:
        out["power_available_mw"] = list(struct.unpack(">II", v[4:12]))


def _cdp_addresses(v: bytes) -> list[str]:
    """Count (4 B), then per address: protocol type, length, protocol, address length, address."""
    count = struct.unpack(">I", v[:4])[0]
    pos, out = 4, []
    for _ in range(min(count, 64)):
        plen = v[pos + 1]
        proto = v[pos + 2:pos + 2 + plen]
        alen = struct.unpack(">H", v[pos + 2 + plen:pos + 4 + plen])[0]
        addr = v[pos + 4 + plen:pos + 4 + plen + alen]
        if proto == b"\xcc" and alen == 4:     # NLPID 0xCC: IPv4
            out.append(str(ipaddress.IPv4Address(addr)))
        elif alen == 16:
            out.append(str(ipaddress.IPv6Address(addr)))
        else:
            out.append(addr.hex())
        pos += 4 + plen + alen
    return out


# --- collecting across a capture -----------------------------------------------------------------

class Collector:
    """One entry per neighbour (LLDP chassis + port, CDP device + port), latest decode, frame counts."""

    def __init__(self, limit: int):
        self.limit = limit
        self.frames = 0
        self._lldp: dict[tuple, dict[str, Any]] = {}
        self._cdp: dict[tuple, dict[str, Any]] = {}

    def add(self, ethertype: int, data: bytes, frame: int, ts_ns: int, truncated: bool) -> None:
        from .layers import ETH_LLDP   # local: layers imports nothing from here, keep it that way
        self.frames += 1
        if self.frames > self.limit:
            return
        if ethertype == ETH_LLDP:
            d, store, key = decode_lldp(data, truncated), self._lldp, ("chassis_id", "port_id")
        else:
            d, store, key = decode_cdp(data, truncated), self._cdp, ("device_id", "port_id")
        k = tuple(d.get(x) for x in key)
        prev = store.get(k)
        d["frames"] = (prev["frames"] if prev else 0) + 1
        d["first_frame"] = prev["first_frame"] if prev else frame
        d["last_seen"] = ts_ns / 1e9
        store[k] = d

    def results(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        return list(self._lldp.values()), list(self._cdp.values())
