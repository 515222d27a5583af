"""The catalogue of metrics readiness measures: name, canonical unit, which probe measures it.

Profiles may only name metrics listed here, so a typo in a profile is caught when it is validated,
not discovered as "not measured" on site. A probe that adds a metric adds it here.

`window` says how samples combine inside a time window ("loss below 1 % in any 15 s"):
  weighted_mean  sum(value * weight) / sum(weight) - ratios, weight = packets expected
  mean / max / min / sum
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MetricDef:
    name: str
    unit: str
    probe: str
    description: str
    window: str = "mean"


def _m(name: str, unit: str, probe: str, description: str, window: str = "mean") -> MetricDef:
    return MetricDef(name, unit, probe, description, window)


_ALL = [
    # --- synthetic calls (probe "calls") -------------------------------------------------------------
    _m("call.answered_pct", "%", "calls", "share of attempted test calls that were answered (2xx)"),
    _m("call.failed", "count", "calls", "test calls that failed, any cause", "sum"),
    _m("call.setup_ms", "ms", "calls", "INVITE to 200 OK"),
    _m("call.post_dial_delay_ms", "ms", "calls", "INVITE to first 180/183"),
    _m("call.mos", "MOS", "calls", "ITU-T G.107 E-model MOS (Annex B) per call and direction"),
    _m("call.r_factor", "R", "calls", "ITU-T G.107 E-model rating factor R per call and direction"),
    _m("call.mouth_to_ear_ms", "ms", "calls",
       "one-way delay + jitter buffer + packetisation + codec lookahead (ITU-T G.107 input Ta)"),
    _m("call.mos_drop", "MOS", "calls",
       "MOS a call lost while the link was loaded with best-effort traffic (alone minus loaded), per direction", "max"),
    _m("call.capacity_calls", "calls", "calls", "largest concurrency that still met every criterion"),
    _m("rtp.loss_pct", "%", "calls", "RTP packets lost per direction", "weighted_mean"),
    _m("rtp.burst_ratio", "count", "calls", "loss burst ratio (BurstR, Gilbert model)", "max"),
    _m("rtp.burst_density_pct", "%", "calls", "RFC 3611 burst density (Gmin 16)", "max"),
    _m("rtp.jitter_ms", "ms", "calls", "RFC 3550 interarrival jitter per direction"),
    _m("rtp.rtt_ms", "ms", "calls", "media round-trip time (responder reflection)"),
    _m("rtp.one_way_delay_ms", "ms", "calls", "network one-way delay per direction (or RTT/2, flagged)"),
    _m("rtp.reorder_pct", "%", "calls", "packets received out of order", "weighted_mean"),
    _m("rtp.duplicate_pct", "%", "calls", "duplicate packets received", "weighted_mean"),
    _m("rtp.dscp_received", "dscp", "calls", "DSCP the far end saw on media (per direction)"),
    _m("rtp.dscp_remarked_pct", "%", "calls",
       "media packets that arrived with another DSCP than the site expects", "weighted_mean"),
    _m("rtp.schedule_error_ms", "ms", "calls", "sender's own schedule error (p99)", "max"),
    _m("sip.dscp_received", "dscp", "calls", "DSCP seen on SIP signalling"),
    # the generator's own fidelity (a run whose generator failed its bound blames no network: evaluate.py)
    _m("generator.slip_max_ms", "ms", "calls", "our sender's longest slip from its packet schedule, per call", "max"),
    _m("generator.late_packets", "count", "calls", "packets our sender sent 5 ms or more after their due time", "sum"),
    _m("generator.hold_max_ms", "ms", "calls",
       "longest a readiness responder held a reply (its receive to send stamps), per call", "max"),
    _m("generator.late_replies", "count", "calls", "replies a readiness responder held 5 ms or more", "sum"),
    # --- the path to the provider (probe "path") ------------------------------------------------------
    _m("path.sip_rewritten", "bool", "path",
       "the path rewrote our INVITE's Via, Contact, From or SDP addresses on the way (a SIP ALG)", "max"),
    _m("path.nat", "bool", "path", "the far end saw another source address than ours (NAT on the way)", "max"),
    _m("path.nat_timeout_s", "s", "path",
       "longest idle time an idle UDP binding through the NAT or firewall survived (a call-back reached us)", "min"),
    _m("path.mtu_bytes", "B", "path", "largest IP datagram that reached the far end with Don't Fragment set", "min"),
    _m("path.fragments_pass", "bool", "path", "a UDP datagram fragmented on the way reached the far end", "min"),
    _m("path.large_invite_ok", "bool", "path",
       "an INVITE of 1,400 bytes over UDP (a phone offering many codecs) was answered", "min"),
    _m("path.ports_closed", "ports", "path",
       "sampled RTP ports (and SIP TCP/TLS ports) that did not pass both ways through the firewalls", "max"),
    _m("sip.options_answered_pct", "%", "path", "OPTIONS pings to the provider's SBC that got a final response", "min"),
    _m("sip.options_rtt_ms", "ms", "path", "OPTIONS request to final response (p95 of the pings)", "max"),
    _m("dns.sip_ok", "bool", "path",
       "the provider's SIP domain resolves as a phone resolves it (NAPTR, SRV, A/AAAA: RFC 3263), consistently", "min"),
    _m("srtp.accepted", "bool", "path", "the far end answered an SRTP offer (RTP/SAVP, SDES keys) with a key of its own",
       "min"),
    _m("tls.trusted", "bool", "path", "the SIP/TLS far end's certificate chain verifies and names the host", "min"),
    _m("tls.cert_days_left", "d", "path", "days until the SIP/TLS far end's certificate expires", "min"),
    # --- iperf3 (probe "iperf") ----------------------------------------------------------------------
    _m("iperf.jitter_ms", "ms", "iperf", "iperf3 UDP jitter, voice-sized packets (RFC 1889 smoothing)"),
    _m("iperf.loss_pct", "%", "iperf", "iperf3 UDP loss, voice-sized packets", "weighted_mean"),
    _m("iperf.throughput_mbps", "Mbps", "iperf", "iperf3 TCP capacity"),
    _m("iperf.capacity_spare_mbps", "Mbps", "iperf",
       "TCP capacity left after the planned calls' voice (Ethernet level) and the site's data headroom"),
    _m("iperf.loaded_jitter_ms", "ms", "iperf", "voice-sized UDP jitter while the link is loaded"),
    _m("iperf.loaded_loss_pct", "%", "iperf", "voice-sized UDP loss while the link is loaded", "weighted_mean"),
    # --- SNMP audit (probe "snmp") -------------------------------------------------------------------
    _m("device.reachable", "bool", "snmp", "the device answered SNMP"),
    _m("poe.headroom_w", "W", "snmp", "PSE budget minus consumption minus the planned phones' class power"),
    _m("poe.usage_pct", "%", "snmp", "PSE consumption against its budget", "max"),
    _m("vlan.voice_vlan_present", "bool", "snmp", "the site's voice VLAN exists on the switch"),
    _m("vlan.voice_ports_missing", "ports", "snmp", "phone ports where the voice VLAN is not tagged", "max"),
    _m("lldp.voice_policy", "bool", "snmp", "LLDP-MED network policy for voice advertised as planned"),
    _m("if.half_duplex_ports", "ports", "snmp", "up ports on the voice path running half duplex", "max"),
    _m("if.error_ports", "ports", "snmp", "ports with input errors or output discards", "max"),
    _m("if.errors_during_test", "errors", "snmp", "interface error/discard counters that grew during the run", "sum"),
    _m("ups.runtime_min", "min", "snmp", "UPS estimated runtime at the current load", "min"),
    _m("ups.charge_pct", "%", "snmp", "UPS battery charge", "min"),
    _m("ups.on_battery", "bool", "snmp", "the UPS is running on battery"),
    _m("ups.output_source", "text", "snmp", "UPS output source: normal, bypass, battery, other"),
    _m("ups.load_pct", "%", "snmp", "UPS output load", "max"),
    # --- captures (probe "capture") ------------------------------------------------------------------
    _m("capture.media_dscp_ok_pct", "%", "capture", "captured RTP packets carrying the expected DSCP", "weighted_mean"),
    _m("capture.signalling_dscp_ok_pct", "%", "capture", "captured SIP packets carrying an accepted DSCP", "weighted_mean"),
    _m("capture.voice_pcp_ok_pct", "%", "capture", "tagged voice frames with the expected 802.1p priority", "weighted_mean"),
    _m("capture.rtp_loss_pct", "%", "capture", "RTP loss seen in the capture", "weighted_mean"),
    _m("capture.rtp_jitter_ms", "ms", "capture", "RFC 3550 jitter seen in the capture"),
    _m("capture.rtp_mos", "MOS", "capture", "E-model MOS of each captured voice stream"),
    _m("lldp.voice_vlan", "vlan", "capture", "voice VLAN the switch advertises (LLDP-MED network policy)"),
    _m("lldp.voice_dscp", "dscp", "capture", "DSCP the switch advertises for voice (LLDP-MED)"),
    _m("lldp.voice_priority", "count", "capture", "802.1p priority the switch advertises for voice (LLDP-MED)"),
    _m("lldp.location_present", "bool", "capture", "LLDP-MED location (civic or ELIN) advertised"),
    _m("cdp.voice_vlan", "vlan", "capture", "voice VLAN the switch advertises over CDP"),
    # --- failover drills (probe "drill") -------------------------------------------------------------
    _m("failover.media_gap_ms", "ms", "drill", "longest media gap of a call during the failover", "max"),
    _m("failover.recovery_s", "s", "drill", "time from the failure until new calls work again", "max"),
    _m("failover.calls_dropped", "calls", "drill", "calls that did not survive the failover", "sum"),
]

METRICS: dict[str, MetricDef] = {m.name: m for m in _ALL}
# The test generator's own fidelity: when a criterion on one fails, the run blames no network.
GENERATOR = frozenset({"rtp.schedule_error_ms"} | {m.name for m in _ALL if m.name.startswith("generator.")})


def get(name: str) -> MetricDef:
    return METRICS[name]


def close_matches(name: str) -> list[str]:
    import difflib

    return difflib.get_close_matches(name, METRICS, n=3, cutoff=0.6)
