"""What `readiness path` judges when the profile says nothing of a path check: the requirements a
provider or the standard itself sets, one criterion per check that ran."""

from __future__ import annotations

from ..model import Criterion

NAT_MIN_S = 120.0          # RFC 4787 4.3, REQ-5: a UDP mapping must not expire in less than two minutes

NO_SIP_ALG = Criterion(
    id="no-sip-alg", metric="path.sip_rewritten", op="==", threshold=False, unit="bool", threshold_text="no",
    description="the path leaves our INVITE's Via, Contact, From and SDP addresses as sent",
    source="RFC 3261 and RFC 4566 carry addresses in the message; a SIP ALG that rewrites them breaks calls "
           "through NAT-aware SBCs, and providers ask for it to be switched off")
LARGE_INVITE = Criterion(
    id="large-invite-passes", metric="path.large_invite_ok", op="==", threshold=True, unit="bool",
    threshold_text="yes", description="an INVITE of 1,400 bytes over UDP is answered",
    source="RFC 3261 18.1.1: requests over 1,300 bytes belong on TCP, yet phones offering many codecs send "
           "them over UDP; RFC 791 3.2: the receiver reassembles fragments")
FRAGMENTS_PASS = Criterion(
    id="ip-fragments-pass", metric="path.fragments_pass", op="==", threshold=True, unit="bool",
    threshold_text="yes", severity="should", description="a fragmented UDP datagram reaches the far end",
    source="RFC 791 3.2: IP fragments are reassembled at the destination; a firewall that drops them loses "
           "every SIP message larger than the path MTU")
PORTS_OPEN = Criterion(
    id="voice-ports-open", metric="path.ports_closed", op="<=", threshold=0, unit="ports", threshold_text="0 ports",
    description="every sampled RTP port (and SIP TCP/TLS port) passes the firewalls both ways",
    source="RFC 3550 and RFC 3261: media and signalling flow on the ports the SDP and the provider name; a "
           "firewall blocking part of the range loses calls at random")
SRTP_ACCEPTED = Criterion(
    id="srtp-accepted", metric="srtp.accepted", op="==", threshold=True, unit="bool", threshold_text="yes",
    description="the far end takes an SRTP offer (RTP/SAVP with SDES keys)",
    source="RFC 4568 7.1 (SDES key exchange in SDP) and RFC 3711 (SRTP)")
OPTIONS_ANSWERED = Criterion(
    id="options-answered", metric="sip.options_answered_pct", op=">=", threshold=100.0, unit="%",
    threshold_text="100 %", description="the SBC answers every OPTIONS ping",
    source="RFC 3261 11: OPTIONS is how phones and PBXs see whether a SIP server is up")
DNS_OK = Criterion(
    id="dns-sip-records", metric="dns.sip_ok", op="==", threshold=True, unit="bool", threshold_text="yes",
    description="the provider's SIP domain resolves to reachable targets (NAPTR, SRV, A/AAAA), consistently",
    source="RFC 3263 4 (NAPTR, then SRV, RFC 2782), the way phones locate a SIP server")
TLS_TRUSTED = Criterion(
    id="tls-certificate-trusted", metric="tls.trusted", op="==", threshold=True, unit="bool", threshold_text="yes",
    description="the SIP/TLS far end's certificate chain verifies and names the host",
    source="RFC 5922 7 and RFC 6125 6: a SIP/TLS client verifies the chain and the host name in the certificate")
TLS_DAYS = Criterion(
    id="tls-certificate-days-left", metric="tls.cert_days_left", op=">=", threshold=30.0, unit="d",
    threshold_text="30 days", severity="should", description="the SIP/TLS certificate is valid for 30 days more",
    source="RFC 5280 4.1.2.5 (validity): renew before notAfter, or TLS calls stop on that day")


def nat_binding(keepalive_s: float | None) -> Criterion:
    """The binding must outlive the phones' keep-alive interval, or two minutes when it is not known."""
    if keepalive_s is not None:
        return Criterion(id="nat-binding-outlives-keepalive", metric="path.nat_timeout_s", op=">=",
                         threshold=keepalive_s, unit="s", threshold_text=f"{keepalive_s:g} s",
                         description="an idle UDP binding lives at least as long as the phones' keep-alive interval",
                         source="RFC 5626 4.4 (keep-alives refresh the NAT binding before it expires)")
    return Criterion(id="nat-binding-two-minutes", metric="path.nat_timeout_s", op=">=", threshold=NAT_MIN_S,
                     unit="s", threshold_text="120 s", description="an idle UDP binding lives at least two minutes",
                     source="RFC 4787 4.3, REQ-5: a NAT UDP mapping timer must not expire in less than two minutes")


def defaults(metrics: set[str], keepalive_s: float | None) -> list[Criterion]:
    """The defaults for the metrics a run can measure."""
    table = [NO_SIP_ALG, SRTP_ACCEPTED, LARGE_INVITE, FRAGMENTS_PASS, PORTS_OPEN, nat_binding(keepalive_s), OPTIONS_ANSWERED, DNS_OK,
             TLS_TRUSTED, TLS_DAYS]
    return [c for c in table if c.metric in metrics]
