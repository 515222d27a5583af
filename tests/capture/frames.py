"""Frames built byte by byte from the wire formats in standards.md 5 (test helper).

Written independently of readiness/probes/capture/discovery.py: every field is packed here with
struct from the layout in the standard, so a decoder bug cannot cancel out against the builder.
"""

from __future__ import annotations

import struct

LLDP_MULTICAST = bytes.fromhex("0180c200000e")      # 802.1AB nearest bridge
CDP_MULTICAST = bytes.fromhex("01000ccccccc")
SWITCH_MAC = bytes.fromhex("00163e112233")


def tlv(ttype: int, value: bytes) -> bytes:
    """LLDP TLV header: 7-bit type, 9-bit length (standards.md 5.1)."""
    return struct.pack(">H", (ttype << 9) | len(value)) + value


def org(oui: int, subtype: int, info: bytes) -> bytes:
    return tlv(127, oui.to_bytes(3, "big") + bytes([subtype]) + info)


def med_policy(app: int, vlan: int, pcp: int, dscp: int, tagged: bool = True, unknown: bool = False) -> bytes:
    """TIA-1057 network policy word: app(8) U(1) T(1) X(1) VID(12) L2 priority(3) DSCP(6)."""
    word = (app << 24) | (int(unknown) << 23) | (int(tagged) << 22) | (vlan << 9) | (pcp << 6) | dscp
    return org(0x0012BB, 2, struct.pack(">I", word))


def med_civic(country: str, elements: list[tuple[int, str]], what: int = 2) -> bytes:
    """Location format 2 (civic): LCI length, what, country, then CAtype/CAlength/CAvalue."""
    body = bytes([what]) + country.encode()
    for catype, value in elements:
        body += bytes([catype, len(value.encode())]) + value.encode()
    return org(0x0012BB, 3, bytes([2, len(body)]) + body)


def med_elin(number: str) -> bytes:
    return org(0x0012BB, 3, bytes([3]) + number.encode())


def med_capabilities(caps: int, device_type: int) -> bytes:
    return org(0x0012BB, 1, struct.pack(">HB", caps, device_type))


def med_power(ptype: int, source: int, priority: int, tenths_w: int) -> bytes:
    return org(0x0012BB, 4, bytes([(ptype << 6) | (source << 4) | priority]) + struct.pack(">H", tenths_w))


def lldpdu(system_name: str, port: str, extra: list[bytes], chassis: bytes = SWITCH_MAC) -> bytes:
    body = (tlv(1, bytes([4]) + chassis)                  # chassis id, subtype 4 MAC
            + tlv(2, bytes([5]) + port.encode())          # port id, subtype 5 interface name
            + tlv(3, struct.pack(">H", 120))              # TTL
            + tlv(5, system_name.encode())
            + b"".join(extra) + tlv(0, b""))
    return body


def lldp_frame(payload: bytes, src: bytes = SWITCH_MAC) -> bytes:
    frame = LLDP_MULTICAST + src + struct.pack(">H", 0x88CC) + payload
    return frame + b"\0" * max(0, 60 - len(frame))


def cdp_frame(tlvs: list[tuple[int, bytes]], src: bytes = SWITCH_MAC) -> bytes:
    """802.3 + LLC/SNAP (OUI 00-00-0C, PID 0x2000) + CDPv2 header + TLVs (length includes 4-byte header)."""
    body = bytes([2, 180]) + b"\0\0" + b"".join(struct.pack(">HH", t, 4 + len(v)) + v for t, v in tlvs)
    snap = bytes([0xAA, 0xAA, 0x03, 0x00, 0x00, 0x0C]) + struct.pack(">H", 0x2000)
    return CDP_MULTICAST + src + struct.pack(">H", len(snap) + len(body)) + snap + body


def voice_switch_lldp() -> bytes:
    """A switch port set up for phones: voice VLAN 20 priority 5 EF, signalling CS3, civic address."""
    return lldp_frame(lldpdu("access-sw1", "Gi1/0/7", [
        med_capabilities(0x0F, 4),
        med_policy(1, 20, 5, 46),
        med_policy(2, 20, 3, 24),
        med_civic("DE", [(1, "Bayern"), (3, "München"), (6, "Leopoldstraße"), (19, "42"), (27, "3")]),
        med_power(0, 1, 2, 154),
    ]))
