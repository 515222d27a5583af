"""SIP the bulk path cannot read by itself, dissected by tshark through pyshark.

An INVITE with a large SDP (many codecs, ICE candidates) exceeds the MTU and travels as IP fragments.
tshark reassembles them; rather than re-implement IP reassembly, the frames where a fragmented SIP
message completes are read through pyshark (only when the bulk pass saw such fragments: pyshark costs
about a millisecond a packet, environment.md), and the reassembled message bytes go through the same
SIP parser as everything else.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from . import sip_payloads

# frames where tshark shows a SIP message rebuilt from IP fragments
REASSEMBLED_SIP = "sip && (ip.frag_offset > 0 || ipv6.fraghdr.offset > 0)"


@dataclass(frozen=True)
class Dissected:
    frame: int
    ts_ns: int
    dscp: int
    vlan: int
    pcp: int
    message: sip_payloads.CapturedSip


def fragmented_sip(path: Path) -> list[Dissected]:
    import pyshark   # imported here: only captures with fragmented SIP pay for it

    out: list[Dissected] = []
    # its own event loop: pyshark would otherwise want the thread's current one, which a worker
    # thread (the probe analyses in one) or a finished asyncio.run() does not have
    loop = asyncio.new_event_loop()
    cap = pyshark.FileCapture(str(path), display_filter=REASSEMBLED_SIP, include_raw=True, use_json=True,
                              keep_packets=False, eventloop=loop)
    try:
        for pkt in cap:
            raw = getattr(pkt, "sip_raw", None)
            if raw is None:
                continue
            msgs = sip_payloads.read(bytes.fromhex(str(raw.value)))
            ts_ns = int(round(float(pkt.sniff_timestamp) * 1e9))
            # DSCP: upper six bits of the ToS / traffic class byte (RFC 2474)
            dscp = int(str(pkt.ip.dsfield), 16) >> 2 if hasattr(pkt, "ip") else (
                int(str(pkt.ipv6.tclass), 16) >> 2 if hasattr(pkt, "ipv6") else -1)
            vlan, pcp = (int(pkt.vlan.id), int(pkt.vlan.priority)) if hasattr(pkt, "vlan") else (-1, -1)
            out += [Dissected(int(pkt.number), ts_ns, dscp, vlan, pcp, m) for m in msgs]
    finally:
        try:
            cap.close()
        finally:
            loop.close()
    return out
