"""SIP the bulk path cannot read by itself, reassembled and dissected by tshark.

An INVITE with a large SDP (many codecs, ICE candidates) exceeds the MTU and travels as IP fragments;
over TCP a message is split wherever a segment ends (RFC 3261 18.3 frames it by Content-Length).
tshark reassembles both; rather than re-implement IP or TCP reassembly (retransmissions, reordering,
overlaps), the frames where such a message completes are dissected by tshark, only when the bulk pass
saw fragments or a SIP message left unfinished at a segment's end, and the reassembled message bytes
go through the same SIP parser as everything else.

tshark's JSON is read directly: pyshark's packet model keeps only the first of several SIP layers in
one frame (a segment that ends one message and holds the next whole), and the rest of a frame is a
few fixed fields. pyshark.FileCapture is not used either: it kills tshark after end of file, and when
tshark has already exited, that kill's poll() reaps it before asyncio's child watcher can, which then
reports exit status 255 (seen here in about one run in ten).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ... import tools
from . import sip_payloads

# frames where tshark shows a SIP message rebuilt from IP fragments
FRAGMENTED_SIP = "sip && (ip.frag_offset > 0 || ipv6.fraghdr.offset > 0)"
# frames where a SIP message over TCP completes that began in an earlier segment
SEGMENTED_SIP = "sip && tcp.segments"


@dataclass(frozen=True)
class Dissected:
    frame: int
    ts_ns: int
    dscp: int
    vlan: int
    pcp: int
    message: sip_payloads.CapturedSip


def fragmented_sip(path: Path, timeout_s: float = 300.0) -> list[Dissected]:
    """The SIP messages tshark rebuilt from IP fragments in the capture at `path`."""
    return sip_frames(path, FRAGMENTED_SIP, timeout_s)


def segmented_sip(path: Path, timeout_s: float = 300.0) -> list[Dissected]:
    """Every SIP message in the frames where tshark completed one from several TCP segments."""
    return sip_frames(path, SEGMENTED_SIP, timeout_s)


def sip_frames(path: Path, display_filter: str, timeout_s: float = 300.0) -> list[Dissected]:
    r = tools.run_sync([tools.require("tshark"), "-n", "-r", str(path), "-Y", display_filter, "-T", "json", "-x",
                        "--no-duplicate-keys"], timeout_s).check()
    out: list[Dissected] = []
    for doc in json.loads(r.stdout or "[]"):
        layers = doc.get("_source", {}).get("layers", {})
        frame = _first(layers.get("frame")) or {}
        number, epoch = frame.get("frame.number"), frame.get("frame.time_epoch")
        if number is None or epoch is None:
            continue
        ts_ns = int(round(float(_first(epoch)) * 1e9))
        dscp, vlan, pcp = _dscp(layers), -1, -1
        tag = _first(layers.get("vlan"))
        if isinstance(tag, dict) and "vlan.id" in tag:
            vlan, pcp = int(_first(tag["vlan.id"])), int(_first(tag.get("vlan.priority", "0")))
        for raw in _raws(layers.get("sip_raw")):
            out += [Dissected(int(_first(number)), ts_ns, dscp, vlan, pcp, m)
                    for m in sip_payloads.read(bytes.fromhex(raw))]
    return out


def _first(value: Any) -> Any:
    """One value of a field --no-duplicate-keys may have made a list (QinQ tags, tunnelled IP)."""
    return value[0] if isinstance(value, list) and value else value


def _raws(value: Any) -> list[str]:
    """The hex of each SIP layer: ["hex", offset, length, mask, type], or a list of those."""
    if not isinstance(value, list) or not value:
        return []
    return [value[0]] if isinstance(value[0], str) else [v[0] for v in value if isinstance(v, list) and v]


def _dscp(layers: dict[str, Any]) -> int:
    """Upper six bits of the ToS / traffic class byte (RFC 2474); -1 without IP."""
    ip = _first(layers.get("ip"))
    if isinstance(ip, dict) and "ip.dsfield" in ip:
        return int(str(_first(ip["ip.dsfield"])), 16) >> 2
    ip6 = _first(layers.get("ipv6"))
    if isinstance(ip6, dict) and "ipv6.tclass" in ip6:
        return int(str(_first(ip6["ipv6.tclass"])), 16) >> 2
    return -1
