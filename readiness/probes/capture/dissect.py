"""SIP the bulk path cannot read by itself, dissected by tshark and read through pyshark's packets.

An INVITE with a large SDP (many codecs, ICE candidates) exceeds the MTU and travels as IP fragments.
tshark reassembles them; rather than re-implement IP reassembly, the frames where a fragmented SIP
message completes are dissected by tshark (only when the bulk pass saw such fragments: dissection
through pyshark 0.6 costs over a millisecond a packet, 5,000 in 7.1 s), and the reassembled message
bytes go through the same SIP parser as everything else.

We run tshark ourselves and hand its JSON to pyshark's packet model, rather than letting
pyshark.FileCapture run it: FileCapture kills tshark after end of file, and when tshark has already
exited, that kill's poll() reaps it before asyncio's child watcher can, which then reports exit
status 255 and FileCapture raises TSharkCrashException (seen here in about one run in ten).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ... import tools
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


def fragmented_sip(path: Path, timeout_s: float = 300.0) -> list[Dissected]:
    """The SIP messages tshark rebuilt from IP fragments in the capture at `path`."""
    # imported here: only captures with fragmented SIP pay for it
    from pyshark.tshark.output_parser.tshark_json import packet_from_json_packet

    r = tools.run_sync([tools.require("tshark"), "-n", "-r", str(path), "-Y", REASSEMBLED_SIP, "-T", "json", "-x",
                        "--no-duplicate-keys"], timeout_s).check()
    out: list[Dissected] = []
    for doc in json.loads(r.stdout or "[]"):
        pkt = packet_from_json_packet(json.dumps(doc).encode(), deduplicate_fields=False)
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
    return out
