"""`readiness path`: the way to the provider and its SIP service (a run of the path probe)."""

from __future__ import annotations

import click

from .calls import _dscp, _secret
from .run_options import SECRET_HELP, conduct, run_outputs


def _list(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


@click.command(short_help="The path to the provider: SIP ALG, NAT, binding timeout, OPTIONS, DNS, TLS.")
@click.option("--to", "target", metavar="sip:test@HOST[:PORT]",
              help="A readiness responder at the far end (with --key): SIP ALG, NAT, NAT binding timeout.")
@click.option("--key", "key_ref", metavar="REF", help=f"The responder's key: {SECRET_HELP}.")
@click.option("--key-file", type=click.Path(dir_okay=False), help="Same as --key file:PATH.")
@click.option("--transport", "transports", default="udp,tcp", show_default=True,
              help="SIP transports to check for rewriting, one after another.")
@click.option("--nat-idle", default="15s,30s,60s,90s,120s,150s,180s", show_default=True, metavar="LIST",
              help="Idle times the NAT binding is tried with, all at once (the test takes the longest); "
                   "'off' skips it.")
@click.option("--srtp", is_flag=True, help="Offer SRTP once (RTP/SAVP, SDES keys) and check that the far end "
              "accepts it.")
@click.option("--mtu/--no-mtu", "mtu", default=True, show_default=True,
              help="Find the path MTU, whether IP fragments pass and whether a 1,400-byte INVITE is answered.")
@click.option("--rtp-ports", metavar="FIRST-LAST", help="The provider's media port range: a sample of it is "
              "probed both ways through the firewalls (needs --to).")
@click.option("--rtp-sample", default=8, show_default=True, type=click.IntRange(1, 32), help="Ports probed.")
@click.option("--local-rtp-ports", metavar="FIRST-LAST", help="The phones' RTP range: probes leave from it.")
@click.option("--sip-ports", metavar="LIST", default="", help="SBC ports that must accept TCP, e.g. tcp:5060,tls:5061 "
              "(the SBC of --options or --tls).")
@click.option("--keepalive", metavar="DURATION",
              help="The phones' keep-alive interval: the binding must outlive it (default requirement: 120 s).")
@click.option("--options", "options_target", metavar="sip:HOST[:PORT]",
              help="Ping this SBC with OPTIONS (default: the responder given with --to).")
@click.option("--options-count", default=5, show_default=True, type=click.IntRange(0, 600),
              help="OPTIONS pings, one a second.")
@click.option("--dns", "dns_domain", metavar="DOMAIN", help="Resolve the provider's SIP domain as a phone does.")
@click.option("--dns-server", metavar="HOST[:PORT]", help="Ask this DNS server (default: the system's).")
@click.option("--tls", "tls_target", metavar="HOST[:PORT]", help="Check the SIP/TLS far end's certificate "
              "(port 5061 if not given).")
@click.option("--tls-name", metavar="NAME", help="The name its certificate must carry (default: the host).")
@click.option("--ca-file", type=click.Path(dir_okay=False, exists=True), help="Trust these CAs instead of the system's.")
@click.option("--client-cert", type=click.Path(dir_okay=False, exists=True), help="Client certificate for mutual TLS.")
@click.option("--client-key", type=click.Path(dir_okay=False, exists=True), help="Its private key.")
@click.option("--sip-dscp", default="CS3", show_default=True, help="DSCP on SIP.")
@run_outputs
def path(target: str | None, key_ref: str | None, key_file: str | None, transports: str, nat_idle: str, srtp: bool, mtu: bool,
         rtp_ports: str | None, rtp_sample: int, local_rtp_ports: str | None, sip_ports: str, keepalive: str | None, options_target: str | None, options_count: int, dns_domain: str | None,
         dns_server: str | None, tls_target: str | None, tls_name: str | None, ca_file: str | None,
         client_cert: str | None, client_key: str | None, sip_dscp: str, out: str, no_keep: bool,
         json_out: str | None, quiet: bool) -> int:
    """Check the path to the provider. With --to and --key, against a readiness responder there:

    \b
    * SIP ALG: one authenticated INVITE per transport; the responder's 200 OK says, signed, what
      arrived (Via, Contact, From, SDP o=/c=/m=, the source address). What differs, the path
      rewrote: "SIP ALG detected: Contact 10.0.0.5 -> 198.51.100.7". Another source alone is NAT.
    * MTU: the largest datagram that passes with Don't Fragment set, whether fragments pass, and
      whether an INVITE of 1,400 bytes (a phone offering many codecs) is answered over UDP.
    * Ports (--rtp-ports): a sample of the provider's media range, each port opened by the responder
      for the test and probed from the phones' range: did it arrive, did the answer come back?
    * NAT binding: how long an idle UDP binding lives. Each idle time on its own port asks the
      responder to call back after it; the call-back arrives only if the binding lived that long.

    Against any SBC: --options pings it, --dns resolves its domain (NAPTR, SRV, A/AAAA, RFC 3263),
    --tls checks its certificate (chain, host name, expiry, TLS version).

    Exit 0 when every check met its requirement, 1 when one did not, 2 when nothing could be checked.
    """
    from ..acceptance import path_defaults
    from ..config import options
    from ..config import profile as profile_mod
    from ..config.site import Markings
    from ..runner import execute, probe_criteria
    from ..units import parse_duration_s

    key = _secret(key_ref, "--key", file=key_file)
    if target is not None and key is None:
        raise click.UsageError("give the responder's key with --to: --key env:VAR or --key file:PATH")
    if target is None and not (options_target or dns_domain or tls_target):
        raise click.UsageError("nothing to check: give --to (a readiness responder), --options, --dns or --tls")
    kinds = [t.lower() for t in _list(transports)]
    for k in kinds:
        if k not in ("udp", "tcp"):
            raise click.BadParameter(f"{k!r}: udp and/or tcp", param_hint="--transport")
    idle = [] if nat_idle.strip().lower() == "off" else _list(nat_idle)
    try:
        keepalive_s = parse_duration_s(keepalive) if keepalive else None
        for d in idle:
            parse_duration_s(d)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--nat-idle / --keepalive") from None
    checks = {"transports": kinds, "nat_binding": bool(idle), "srtp": srtp, "mtu": mtu, "rtp_ports": rtp_ports,
              "rtp_sample": rtp_sample, "local_rtp_ports": local_rtp_ports, "sip_ports": _list(sip_ports),
              "keepalive": keepalive, "options": options_target,
              "options_count": options_count, "dns_domain": dns_domain, "dns_server": dns_server, "tls": tls_target,
              "tls_server_name": tls_name, "tls_ca_file": ca_file, "tls_client_cert": client_cert,
              "tls_client_key": client_key}
    if idle:
        checks["nat_idle"] = idle
    site = options.path_site(target, key=key, markings=Markings(signalling=[_dscp(sip_dscp, "--sip-dscp")]),
                             **{k: v for k, v in checks.items() if v is not None})
    measurable = set()
    if target is not None:
        measurable |= {"path.sip_rewritten"} | ({"path.nat_timeout_s"} if idle else set())
        measurable |= {"path.large_invite_ok", "path.fragments_pass"} if mtu else set()
        measurable |= {"srtp.accepted"} if srtp else set()
    if (options_target or target) and options_count:
        measurable.add("sip.options_answered_pct")
    if (rtp_ports and target) or (sip_ports and (options_target or tls_target)):
        measurable.add("path.ports_closed")
    if dns_domain:
        measurable.add("dns.sip_ok")
    if tls_target:
        measurable |= {"tls.trusted", "tls.cert_days_left"}
    profile = profile_mod.load("voice-baseline")
    criteria = probe_criteria(profile.criteria, ["path"])
    have = {c.metric for c in criteria}
    criteria += path_defaults.defaults(measurable - have, keepalive_s)
    return conduct(lambda parent, progress: execute(profile, site, parent, progress, command="path",
                                                    criteria=criteria), out, no_keep, json_out, quiet)
