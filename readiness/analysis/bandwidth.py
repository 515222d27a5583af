"""Voice bitrate per call and for many calls, layer by layer, and what an uplink leaves for data.

Header sizes are Cisco doc 7934's header assumptions ("Voice Over IP - Per Call Bandwidth
Consumption"): IPv4 20 + UDP 8 + RTP 12 (RFC 3550 5.1) = 40 B per packet; Ethernet 18 B (14 header
+ 4 FCS), 4 B more with an IEEE 802.1Q tag; on the wire each frame also takes preamble + SFD 8 B and
the inter-frame gap 12 B (IEEE 802.3). IPv6 adds 20 B (a 40 B header, RFC 8200); SRTP with its
default HMAC-SHA1-80 adds a 10 B authentication tag (RFC 3711 5.2).

    kbit/s = (payload + 40 + L2) x 8 x packets/s / 1000        (G.711, 20 ms: 87.2 Ethernet, 95.2 on the wire)

One direction throughout: a call sends this much each way. Payload sizes come from
`readiness.codecs`; Opus is variable bitrate, so its figure holds at its nominal bitrate.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ReadinessError
from .call_rating import resolve_codec

IP_UDP_RTP_BYTES = 40        # IPv4 20 + UDP 8 + RTP 12
IPV6_EXTRA_BYTES = 20        # IPv6's 40 B header instead of IPv4's 20
SRTP_TAG_BYTES = 10          # RFC 3711 default auth tag, HMAC-SHA1 truncated to 80 bits
ETHERNET_BYTES = 18          # 14 header + 4 FCS
DOT1Q_BYTES = 4
PREAMBLE_IFG_BYTES = 20      # preamble + SFD 8, inter-frame gap 12: the line is busy, no frame carries them

SOURCE = ("Cisco doc 7934 header assumptions (IP 20 + UDP 8 + RTP 12 B, Ethernet 18 B, 802.1Q 4 B, "
          "preamble and inter-frame gap 20 B); RTP RFC 3550; SRTP RFC 3711 (80-bit auth tag 10 B)")

LABELS = {"pcmu": "G.711 PCMU", "pcma": "G.711 PCMA", "g722": "G.722", "g729": "G.729", "opus": "Opus"}

# A variable-bitrate codec's packets vary in size: the figure holds at the bitrate in readiness.codecs.
VARIABLE_BITRATE = {"opus"}

MIN_PTIME_MS, MAX_PTIME_MS = 10, 120     # as the site file's calls.ptime_ms


class BandwidthError(ReadinessError):
    """Input that gives no bitrate (ptime, calls or a line rate out of range); the CLI says it in one line."""


@dataclass(frozen=True)
class CallBitrate:
    codec: str
    ptime_ms: int
    packets_per_s: float
    payload_bytes: int
    ip_packet_bytes: int          # IP + UDP + RTP (+SRTP tag) + payload
    ip_bps: float
    ethernet_bps: float           # ip + 18 B per packet (+4 with vlan)
    wire_bps: float               # ethernet + 20 B per packet

    @property
    def ethernet_frame_bytes(self) -> int:
        return round(self.ethernet_bps / 8 / self.packets_per_s)

    @property
    def wire_bytes(self) -> int:
        return round(self.wire_bps / 8 / self.packets_per_s)

    def note(self) -> str | None:
        """What the figure assumes, when it is not exact."""
        if self.codec in VARIABLE_BITRATE:
            bitrate = resolve_codec(self.codec).bitrate_bps
            return (f"{LABELS.get(self.codec, self.codec)} is variable bitrate: these figures hold at its "
                    f"nominal {bitrate / 1000:g} kbit/s")
        return None


def call_bitrate(codec: str, ptime_ms: int = 20, *, vlan: bool = False, srtp: bool = False,
                 ipv6: bool = False) -> CallBitrate:
    """One call's bitrate, one direction, at each layer. ReadinessError for an unknown codec or ptime."""
    c = resolve_codec(codec)
    if not MIN_PTIME_MS <= ptime_ms <= MAX_PTIME_MS:
        raise BandwidthError(f"ptime {ptime_ms} ms: give {MIN_PTIME_MS} to {MAX_PTIME_MS} ms")
    pps = 1000.0 / ptime_ms
    payload = c.payload_bytes(ptime_ms)
    ip_bytes = payload + IP_UDP_RTP_BYTES + (IPV6_EXTRA_BYTES if ipv6 else 0) + (SRTP_TAG_BYTES if srtp else 0)
    eth_bytes = ip_bytes + ETHERNET_BYTES + (DOT1Q_BYTES if vlan else 0)
    return CallBitrate(codec=c.name, ptime_ms=ptime_ms, packets_per_s=pps, payload_bytes=payload,
                       ip_packet_bytes=ip_bytes, ip_bps=ip_bytes * 8 * pps, ethernet_bps=eth_bytes * 8 * pps,
                       wire_bps=(eth_bytes + PREAMBLE_IFG_BYTES) * 8 * pps)


def voice_need_bps(codec: str, calls: int, ptime_ms: int = 20, *, vlan: bool = False, srtp: bool = False,
                   ipv6: bool = False) -> float:
    """What `calls` concurrent calls need in one direction, at the Ethernet layer (Cisco's planning figure)."""
    if calls < 1:
        raise BandwidthError(f"calls {calls}: give 1 or more")
    return calls * call_bitrate(codec, ptime_ms, vlan=vlan, srtp=srtp, ipv6=ipv6).ethernet_bps


@dataclass(frozen=True)
class Direction:
    """One direction of the uplink: its line rate, the voice need and what data needs beside it."""

    name: str                     # "up" or "down"
    line_bps: float
    voice_bps: float
    data_headroom_bps: float

    @property
    def left_for_data_bps(self) -> float:
        return self.line_bps - self.voice_bps

    @property
    def spare_bps(self) -> float:
        """What is left once voice and the data headroom are served; below 0 the line is too small."""
        return self.line_bps - self.voice_bps - self.data_headroom_bps

    @property
    def fits(self) -> bool:
        return self.spare_bps >= 0

    def to_json(self) -> dict:
        return {"line_bps": self.line_bps, "voice_bps": self.voice_bps, "data_headroom_bps": self.data_headroom_bps,
                "left_for_data_bps": self.left_for_data_bps, "spare_bps": self.spare_bps, "fits": self.fits}


@dataclass(frozen=True)
class Plan:
    """`calls` concurrent calls and, when an uplink is known, what it leaves for data each way."""

    call: CallBitrate
    calls: int
    vlan: bool
    srtp: bool
    ipv6: bool
    directions: tuple[Direction, ...] = ()

    def total(self, layer: str) -> float:
        """`calls` x the per-call bitrate at a layer: ip, ethernet or wire."""
        return self.calls * getattr(self.call, f"{layer}_bps")

    @property
    def voice_need_bps(self) -> float:
        return self.total("ethernet")

    @property
    def fits(self) -> bool:
        return all(d.fits for d in self.directions)

    def to_json(self) -> dict:
        c = self.call
        return {
            "schema": "readiness.bandwidth/1",
            "codec": c.codec, "ptime_ms": c.ptime_ms, "calls": self.calls,
            "vlan": self.vlan, "srtp": self.srtp, "ipv6": self.ipv6, "note": c.note(),
            "per_call": {"packets_per_s": c.packets_per_s, "payload_bytes": c.payload_bytes,
                         "ip_packet_bytes": c.ip_packet_bytes, "ethernet_frame_bytes": c.ethernet_frame_bytes,
                         "wire_bytes": c.wire_bytes, "ip_bps": c.ip_bps, "ethernet_bps": c.ethernet_bps,
                         "wire_bps": c.wire_bps},
            "total": {layer + "_bps": self.total(layer) for layer in ("ip", "ethernet", "wire")},
            "voice_need_bps": self.voice_need_bps,
            "uplink": {d.name: d.to_json() for d in self.directions} or None,
            "fits": self.fits if self.directions else None,
            "source": SOURCE,
        }


def plan(codec: str, calls: int, ptime_ms: int = 20, *, vlan: bool = False, srtp: bool = False, ipv6: bool = False,
         up_mbps: float | None = None, down_mbps: float | None = None, data_headroom_mbps: float = 0.0) -> Plan:
    """The figures for `calls` calls; with the uplink's line rates (Mbit/s), what each direction leaves for data."""
    need = voice_need_bps(codec, calls, ptime_ms, vlan=vlan, srtp=srtp, ipv6=ipv6)
    if data_headroom_mbps < 0:
        raise BandwidthError(f"data headroom {data_headroom_mbps:g} Mbit/s: give 0 or more")
    directions = []
    for name, mbps in (("up", up_mbps), ("down", down_mbps)):
        if mbps is None:
            continue
        if mbps <= 0:
            raise BandwidthError(f"{name} {mbps:g} Mbit/s: give a line rate above 0")
        directions.append(Direction(name, mbps * 1e6, need, data_headroom_mbps * 1e6))
    return Plan(call_bitrate(codec, ptime_ms, vlan=vlan, srtp=srtp, ipv6=ipv6), calls, vlan, srtp, ipv6,
                tuple(directions))
