"""The iperf probe's account (`iperf` in the run document): per direction (`up`: site -> server,
`down`: back) what the voice-sized UDP test received, the TCP capacity against the voice need, who
measured (server, iperf3 versions) and what could not run. Field names are those of `readiness iperf
--json`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from . import typed

IPERF = "iperf"
DSCP_NOTE = ("iperf3 marks only what it sends: the DSCP the far end received is not reported by iperf3 "
             "(the calls probe against a readiness responder reports it per direction)")


@dataclass
class VoiceDirection:
    """The receiver's view of one direction of voice-sized UDP (RFC 3550 jitter as iperf3 computes it)."""
    packets: int = 0
    lost_packets: int = 0
    lost_pct: float = 0.0
    jitter_ms: float | None = None
    bits_per_second: float = 0.0
    intervals: list[dict[str, Any]] = field(default_factory=list)    # start_s, seconds, jitter_ms, lost, packets
    streams: int = 0
    packet_bytes: int = 0            # UDP payload: codec payload + RTP header
    dscp_sent: int = 0
    evidence: str = ""


@dataclass
class CapacityDirection:
    """TCP throughput of one direction against what the planned calls need (Ethernet level) and the
    site's data headroom."""
    bits_per_second: float = 0.0
    retransmits: int | None = None
    calls: int = 0
    codec: str = ""
    voice_need_bps: float = 0.0
    data_headroom_bps: float = 0.0
    spare_bps: float = 0.0           # throughput - voice need - data headroom
    evidence: str = ""


@dataclass
class IperfAccount:
    server: str = ""
    iperf3_version: str = ""         # the client's, from its own JSON
    server_version: str | None = None
    note: str = DSCP_NOTE
    up: dict[str, Any] | None = None            # VoiceDirection
    down: dict[str, Any] | None = None
    capacity: dict[str, dict[str, Any]] = field(default_factory=dict)    # direction -> CapacityDirection
    errors: dict[str, str] = field(default_factory=dict)                 # test -> why it did not run

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def account(details: dict[str, Any]) -> IperfAccount | None:
    return typed(IperfAccount, details[IPERF]) if IPERF in details else None


def voice(data: dict[str, Any] | None) -> VoiceDirection | None:
    return typed(VoiceDirection, data) if data else None


def capacity(data: dict[str, Any] | None) -> CapacityDirection | None:
    return typed(CapacityDirection, data) if data else None
