"""A capture's details: the file (`capture`), every RTP stream (`rtp_streams`, agreeing with
Wireshark's RTP analysis, with the far end's RTCP view beside it), T.38 fax per direction (`fax_streams`, UDPTL), SIP (`sip`,
`sip_calls`), what the switch advertises (`lldp`, `cdp`) and
the markings against the site's expectations (`markings`)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from . import typed, typed_list

CAPTURE, STREAMS, FAX, SIP, SIP_CALLS, LLDP, CDP, MARKINGS = ("capture", "rtp_streams", "fax_streams", "sip",
                                                              "sip_calls", "lldp", "cdp", "markings")
KEYS = (CAPTURE, STREAMS, FAX, SIP, SIP_CALLS, LLDP, CDP, MARKINGS)


@dataclass(frozen=True)
class CaptureFile:
    file: str = ""
    format: str = ""
    packets: int = 0
    start: float | None = None
    end: float | None = None
    link_types: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # packets the capture point recorded twice (a mirror port): streams affected, of_streams, copies,
    # rtp_packets_captured, copies_pct; the figures elsewhere count each packet once
    copies: dict[str, Any] = field(default_factory=dict)
    # RTCP packets: packets, parsed, not_parsed, sender_reports, receiver_reports, xr_voip_blocks,
    # reports_on_unseen_streams, not_parsed_examples (frame, why)
    rtcp: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RtcpVoip:
    """The last RTCP XR VoIP Metrics block on a stream (RFC 3611 4.7); None where the reporter says 127."""
    reports: int = 0
    loss_rate_pct: float = 0.0
    discard_rate_pct: float = 0.0
    burst_density_pct: float = 0.0
    gap_density_pct: float = 0.0
    burst_duration_ms: int = 0
    gap_duration_ms: int = 0
    round_trip_delay_ms: int = 0
    end_system_delay_ms: int = 0
    signal_level_dbm: float | None = None
    noise_level_dbm: float | None = None
    rerl_db: float | None = None
    gmin: int = 0
    r_factor: float | None = None
    ext_r_factor: float | None = None
    mos_lq: float | None = None
    mos_cq: float | None = None
    plc: int = 0
    jb_adaptive: int = 0
    jb_rate: int = 0
    jb_nominal_ms: int = 0
    jb_maximum_ms: int = 0
    jb_abs_max_ms: int = 0


@dataclass(frozen=True)
class RtcpSender:
    """The stream's sender's own last SR (RFC 3550 6.4.1 sender info)."""
    reports: int = 0
    packets: int = 0
    octets: int = 0
    last_sr: float = 0.0              # capture time of the last SR
    ntp_time: float = 0.0             # the SR's NTP timestamp as Unix time (the sender's clock)
    rtp_timestamp: int = 0
    bye: bool = False


@dataclass(frozen=True)
class RtcpView:
    """What the far end reported on a stream (RFC 3550 6.4.1 report blocks), its RTT from LSR/DLSR, the
    sender's SRs and the last XR VoIP Metrics; loss and jitter as the receiver saw them, beside ours."""
    reports: int = 0
    reporter_ssrc: str | None = None
    reporter: str | None = None
    last_report: float | None = None
    fraction_lost_pct_last: float | None = None
    fraction_lost_pct_max: float | None = None
    cumulative_lost: int | None = None
    highest_seq: int | None = None
    jitter_last: int | None = None       # RTP timestamp units
    jitter_ms_last: float | None = None
    jitter_ms_max: float | None = None
    rtt_ms: float | None = None
    rtt_ms_max: float | None = None
    rtt_samples: int = 0
    sender: RtcpSender | None = None
    xr: RtcpVoip | None = None


@dataclass(frozen=True)
class StreamRow:
    src: str = ""
    sport: int = 0
    dst: str = ""
    dport: int = 0
    ssrc: str = ""
    codec: str = ""
    kind: str = ""
    call_id: str | None = None
    packets: int = 0
    lost: int | None = None
    lost_pct: float | None = None
    max_delta_ms: float | None = None
    mean_jitter_ms: float | None = None
    max_jitter_ms: float | None = None
    dscp_name: str | None = None
    vlan: int | None = None
    pcp: int | None = None
    mos: float | None = None
    clock_note: str | None = None
    copies: int = 0                  # recorded twice by the capture point; `packets` counts each once
    copies_pct: float = 0.0
    capture_copies: bool = False
    problems: list[str] = field(default_factory=list)
    # per second: start, step_s, packets, expected, lost, loss_pct, jitter_ms, jitter_max_ms, delta_max_ms
    series: dict[str, Any] | None = None
    rtcp: RtcpView | None = None      # None: no RTCP on this stream in the capture


@dataclass(frozen=True)
class FaxStream:
    """One direction of a T.38 fax; `udptl`: packets, expected, lost, lost_pct, gaps, recovered (by
    redundancy), unrecovered, duplicates, reordered, first_seq, last_seq, error_recovery."""
    src: str = ""
    sport: int = 0
    dst: str = ""
    dport: int = 0
    call_id: str = ""
    first_frame: int = 0
    start: float = 0.0
    end: float = 0.0
    duration_s: float = 0.0
    udptl: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SipCall:
    call_id: str = ""
    caller: str = ""
    callee: str = ""
    setup_ms: float | None = None
    final_status: int | None = None
    final_reason: str | None = None
    outcome: str = ""
    streams: list[int] = field(default_factory=list)     # SSRCs bound to the call
    fax_at: float | None = None                           # when it became a T.38 fax call (the 2xx accepting it)


@dataclass(frozen=True)
class MedPolicy:
    application: str = ""
    vlan: int | None = None
    priority: int | None = None
    dscp: int | None = None
    tagged: bool | None = None
    unknown: bool | None = None


@dataclass(frozen=True)
class LldpNeighbour:
    system_name: str | None = None
    chassis_id: str | None = None
    port_id: str | None = None
    port_vlan: int | None = None
    med_policies: list[MedPolicy] = field(default_factory=list)
    location_format: str = ""
    location: str = ""                                    # ELIN, civic address or coordinate, as text
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CdpNeighbour:
    device_id: str | None = None
    platform: str | None = None
    port_id: str | None = None
    native_vlan: int | None = None
    voice_vlan: int | None = None


@dataclass(frozen=True)
class MediaViolation:
    stream: str = ""
    ssrc: str = ""
    wrong_dscp_packets: int = 0
    dscp_seen: dict[str, int] = field(default_factory=dict)
    first_wrong_frames: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Markings:
    expected_media: str = ""
    expected_signalling: list[str] = field(default_factory=list)
    expected_voice_pcp: int | None = None
    media_dscp_ok_pct: float | None = None
    media_packets: int = 0
    media_dscp_seen: dict[str, int] = field(default_factory=dict)
    signalling_dscp_ok_pct: float | None = None
    signalling_packets: int = 0
    signalling_dscp_seen: dict[str, int] = field(default_factory=dict)
    voice_pcp_ok_pct: float | None = None
    voice_tagged_packets: int = 0
    media_violations: list[MediaViolation] = field(default_factory=list)
    signalling_violations: int = 0
    signalling_violation_frames: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class CaptureDetails:
    file: CaptureFile
    streams: list[StreamRow]
    fax: list[FaxStream]
    sip_messages: int
    calls: list[SipCall]
    lldp: list[LldpNeighbour]
    cdp: list[CdpNeighbour]
    markings: Markings | None


def of(details: dict[str, Any]) -> CaptureDetails | None:
    if CAPTURE not in details:
        return None
    calls = [SipCall(call_id=c.get("call_id", ""), caller=c.get("from", ""), callee=c.get("to", ""),
                     setup_ms=c.get("setup_ms"), final_status=c.get("final_status"), final_reason=c.get("final_reason"),
                     outcome=c.get("outcome", ""), streams=list(c.get("streams") or []),
                     fax_at=(c.get("t38") or {}).get("switched_at"))
             for c in details.get(SIP_CALLS) or []]
    return CaptureDetails(file=typed(CaptureFile, details[CAPTURE]), streams=[_stream(s) for s in details.get(STREAMS) or []],
                          fax=typed_list(FaxStream, details.get(FAX)),
                          sip_messages=int((details.get(SIP) or {}).get("messages") or 0), calls=calls,
                          lldp=[_lldp(n) for n in details.get(LLDP) or []],
                          cdp=typed_list(CdpNeighbour, details.get(CDP)), markings=_markings(details.get(MARKINGS)))


def _stream(s: dict[str, Any]) -> StreamRow:
    row = typed(StreamRow, s)
    r = s.get("rtcp")
    if not r:
        return replace(row, rtcp=None)
    view = replace(typed(RtcpView, r), sender=typed(RtcpSender, r["sender"]) if r.get("sender") else None,
                   xr=typed(RtcpVoip, r["xr"]) if r.get("xr") else None)
    return replace(row, rtcp=view)


def _lldp(n: dict[str, Any]) -> LldpNeighbour:
    loc = n.get("location") or {}
    where = loc.get("elin") or loc.get("civic") or loc.get("coordinate") or ""
    return LldpNeighbour(system_name=n.get("system_name"), chassis_id=n.get("chassis_id"), port_id=n.get("port_id"),
                         port_vlan=n.get("port_vlan"), med_policies=typed_list(MedPolicy, n.get("med_policies")),
                         location_format=loc.get("format", ""), location=str(where) if where else "",
                         problems=list(n.get("problems") or []))


def _markings(m: dict[str, Any] | None) -> Markings | None:
    if not m:
        return None
    expected, dscp, violations = m.get("expected") or {}, m.get("dscp") or {}, m.get("violations") or {}
    return Markings(expected_media=expected.get("media", ""), expected_signalling=list(expected.get("signalling") or []),
                    expected_voice_pcp=expected.get("voice_pcp"), media_dscp_ok_pct=m.get("media_dscp_ok_pct"),
                    media_packets=m.get("media_packets", 0), media_dscp_seen=dict(dscp.get("voice_media") or {}),
                    signalling_dscp_ok_pct=m.get("signalling_dscp_ok_pct"),
                    signalling_packets=m.get("signalling_packets", 0),
                    signalling_dscp_seen=dict(dscp.get("signalling") or {}),
                    voice_pcp_ok_pct=m.get("voice_pcp_ok_pct"), voice_tagged_packets=m.get("voice_tagged_packets", 0),
                    media_violations=typed_list(MediaViolation, violations.get("media")),
                    signalling_violations=violations.get("signalling_count", 0),
                    signalling_violation_frames=[v.get("frame") for v in violations.get("signalling") or []])
