"""`readiness calls` (place a call load and score every call: a run of the calls probe alone) and
`readiness responder` (the far end)."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import Any

import click

from .. import dscp as dscp_names
from ..config.site import Markings, SecretRef
from ..model import Criterion
from .run_options import SECRET_HELP, conduct, run_outputs

CODECS = ["pcmu", "pcma", "g711", "g722", "g729", "opus"]


def _dscp(value: str, what: str) -> str:
    try:
        dscp_names.parse(value)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint=what) from None
    return value


def _secret(ref: str | None, ref_option: str, file: str | None = None, env: str | None = None) -> SecretRef | None:
    """One secret from REF (env:VAR or file:PATH) or from its older spellings (--key-file PATH,
    --password-env VAR, --password-file PATH). Checked now, so a missing file stops before any call."""
    given = [x for x in (ref, file, env) if x]
    if len(given) > 1:
        raise click.UsageError(f"give {ref_option} once (env:VAR or file:PATH)")
    if not given:
        return None
    secret = SecretRef.parse(ref, ref_option) if ref else SecretRef(file=file) if file else SecretRef(env=env)
    secret.check(Path.cwd())
    return secret


@click.command(short_help="Place test calls and score every call (MOS, loss, jitter, DSCP per direction).")
@click.argument("target")
@click.option("--calls", "n_calls", type=click.IntRange(1, 10000), default=10, show_default=True,
              help="Concurrent calls (with --find-capacity: the first step).")
@click.option("--cps", type=float, default=5.0, show_default=True, help="Calls started per second while ramping.")
@click.option("--duration", type=float, default=30.0, show_default=True, help="Seconds each call is held.")
@click.option("--codec", type=click.Choice(CODECS, case_sensitive=False), default="pcmu", show_default=True)
@click.option("--ptime", "ptime_ms", type=int, default=20, show_default=True, help="Packetisation, ms.")
@click.option("--transport", type=click.Choice(["udp", "tcp", "tls"]), default="udp", show_default=True)
@click.option("--ca-file", type=click.Path(dir_okay=False, exists=True),
              help="With --transport tls: trust these CAs for the far end's certificate (default: the system's).")
@click.option("--key", "key_ref", metavar="REF", help=f"The responder's key: {SECRET_HELP}.")
@click.option("--key-file", type=click.Path(dir_okay=False), help="Same as --key file:PATH.")
@click.option("--username", help="SIP username, when the target asks for digest authentication.")
@click.option("--password", "password_ref", metavar="REF", help=f"SIP password: {SECRET_HELP}.")
@click.option("--password-env", metavar="VAR", help="Same as --password env:VAR.")
@click.option("--password-file", type=click.Path(dir_okay=False), help="Same as --password file:PATH.")
@click.option("--dscp", "media_dscp", default="EF", show_default=True, help="DSCP on RTP.")
@click.option("--sip-dscp", default="CS3", show_default=True, help="DSCP on SIP (RFC 4594 says CS5).")
@click.option("--synced-clocks", is_flag=True,
              help="Both ends' clocks are synchronised (NTP/PTP): report true one-way delay, not RTT/2.")
@click.option("--profile", "profile_name", default="voice-baseline", show_default=True,
              help="Profile whose call criteria judge the calls.")
@click.option("--find-capacity", is_flag=True, help="Search the largest concurrency that meets the profile.")
@click.option("--max-calls", type=click.IntRange(1, 10000), default=500, show_default=True,
              help="Upper bound of --find-capacity.")
@click.option("--load-server", metavar="HOST[:PORT]",
              help="Calls under load: score the calls alone, while iperf3 fills the link with best-effort TCP "
                   "to this iperf3 server for a third of --duration, and alone again.")
@click.option("--load-mbps", metavar="N|max", default="max", show_default=True,
              help="Rate of that load in Mbit/s; max: as fast as TCP goes.")
@click.option("--load-direction", type=click.Choice(["up", "down", "both"]), default="up", show_default=True,
              help="up: we send the load, down: the server sends it, both at once.")
@click.option("--srtp", is_flag=True, help="Offer SRTP (RTP/SAVP, keys in a=crypto: RFC 4568) and encrypt the "
              "media (RFC 3711); a call whose answer refuses SRTP fails. The keys travel in the SDP: only "
              "--transport tls keeps them secret (RFC 4568 8.3). Also set by calls.srtp.")
@run_outputs
def calls(target: str, n_calls: int, cps: float, duration: float, codec: str, ptime_ms: int, transport: str,
          ca_file: str | None, key_ref: str | None, key_file: str | None, username: str | None, password_ref: str | None,
          password_env: str | None, password_file: str | None, media_dscp: str, sip_dscp: str, synced_clocks: bool,
          profile_name: str, find_capacity: bool, max_calls: int, load_server: str | None, load_mbps: str,
          load_direction: str, srtp: bool, out: str, no_keep: bool, json_out: str | None,
          quiet: bool) -> int:
    """Place concurrent test calls to TARGET (sip:user@host:port), ramped at --cps, hold them for
    --duration seconds, hang up, and score every call in both directions: loss, bursts, jitter,
    round trip, DSCP received, E-model R and MOS. A run of the calls probe alone: the run folder
    keeps every call's packet trace.

    Against `readiness responder` (give the same key) every packet is reflected with timestamps, so
    each direction is measured on its own. Any other SIP far end (a PBX echo service, a phone) is
    scored from its RTP and its RTCP reports.

    With --load-server the calls are held for --duration (plus 5 s for queues to drain) and scored
    in three phases: alone, while iperf3 fills the link with best-effort TCP (DSCP 0) for a third of
    --duration, and alone again once the load's data has drained; `phases` in the
    run document holds each phase's MOS, loss, jitter and RTT, and call.mos_drop how much MOS each call
    lost under load. With working QoS the EF media does not notice the load.

    With --srtp every call offers SRTP and its media is encrypted (what Teams Direct Routing and
    other SBCs that require SRTP need); the responder answers SRTP too. SRTP calls run on the
    Python media path, which carries fewer concurrent calls than the plain one.

    Exit 0 when the profile's call criteria pass, 1 when one fails, 2 when the calls could not run
    (no call reached the far end) or something was not measured.
    """
    from ..config import options
    from ..config import profile as profile_mod
    from ..runner import execute, probe_criteria

    if load_server and find_capacity:
        raise click.UsageError("--load-server and --find-capacity do not go together: search the capacity first")
    key = _secret(key_ref, "--key", file=key_file)
    password = _secret(password_ref, "--password", file=password_file, env=password_env)
    site = options.calls_site(
        target, key=key, username=username, password=password,
        markings=Markings(media=_dscp(media_dscp, "--dscp"), signalling=[_dscp(sip_dscp, "--sip-dscp")]),
        concurrent=n_calls, cps=cps, duration=f"{duration:g} s", codec="pcmu" if codec.lower() == "g711" else
        codec.lower(), ptime_ms=ptime_ms, transport=transport, tls_ca_file=str(Path(ca_file).resolve()) if ca_file
        else None, synced_clocks=synced_clocks,
        find_capacity=find_capacity, max_calls=max_calls, under_load=bool(load_server), load_server=load_server,
        load_mbps=_mbps(load_mbps), load_direction=load_direction, srtp=srtp)
    profile = profile_mod.load(profile_name)
    criteria = probe_criteria(profile.criteria, ["calls"],
                              leave_out=[] if find_capacity else ["call.capacity_calls"])
    if find_capacity:
        criteria = [c for c in criteria if c.metric == "call.capacity_calls"] or [CAPACITY_FOUND]
    return conduct(lambda parent, progress: execute(profile, site, parent, progress, command="calls",
                                                    criteria=criteria), out, no_keep, json_out, quiet)


def _mbps(text: str) -> float | None:
    if text.strip().lower() == "max":
        return None
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if value <= 0:
        raise click.BadParameter(f"{text!r}: give Mbit/s above 0, or max", param_hint="--load-mbps")
    return value


# A capacity search judged by a profile without a capacity criterion: did any step pass at all?
CAPACITY_FOUND = Criterion(id="capacity-found", metric="call.capacity_calls", op=">=", threshold=1, unit="calls",
                           threshold_text="1 call", description="the largest concurrency that met the call criteria",
                           source="capacity search: at least one concurrency met every call criterion of the profile")


def _run(coro_factory) -> Any:
    """asyncio.run with SIGTERM handled like Ctrl-C (the responder stops, nothing is left)."""
    previous = signal.getsignal(signal.SIGTERM)

    def term(*_: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, term)
    try:
        return asyncio.run(coro_factory())
    finally:
        signal.signal(signal.SIGTERM, previous)


@click.command(short_help="Answer test calls and reflect their media (the far end of `readiness calls`).")
@click.option("--listen", default="127.0.0.1:5060", show_default=True, metavar="ADDR:PORT",
              help="SIP address (UDP and TCP). Without --key-file only loopback is allowed.")
@click.option("--key", "key_ref", metavar="REF", help=f"Shared key, callers must hold the same: {SECRET_HELP}.")
@click.option("--key-file", type=click.Path(dir_okay=False), help="Same as --key file:PATH.")
@click.option("--media-port", type=int, default=0, show_default=True, help="UDP port of the reflector (0: any).")
@click.option("--transport", "transports", default="udp,tcp", show_default=True, help="SIP transports to listen on.")
@click.option("--max-calls-per-source", type=int, default=2000, show_default=True,
              help="Concurrent calls (and media sessions) from one address.")
@click.option("--max-rate", type=float, default=200.0, show_default=True, help="Packets/s per media session.")
@click.option("--max-duration", type=float, default=10 * 3600.0, show_default=True,
              help="Seconds per call (a working day: pilots hold calls for hours).")
@click.option("--ring-ms", type=float, default=0.0, show_default=True, help="Ring this long before answering.")
@click.option("--media-advertise", metavar="HOST:PORT",
              help="Media address to put in SDP answers (behind NAT or a port forward); default: the reflector's. "
                   "SRTP calls get a UDP port each: their answers name this host with that port.")
@click.option("--tls-cert", type=click.Path(dir_okay=False, exists=True),
              help="PEM certificate chain: listen for SIP over TLS too (readiness calls --transport tls, "
                   "readiness path --tls).")
@click.option("--tls-key", type=click.Path(dir_okay=False, exists=True), help="Its private key (PEM).")
@click.option("--tls-port", type=int, default=0, help="TLS port; default: the SIP port + 1.")
@click.option("--json", "as_json", is_flag=True, help="Print the responder's counters as JSON when it stops.")
@click.option("--quiet", "-q", is_flag=True, help="No status line.")
def responder(listen: str, key_ref: str | None, key_file: str | None, media_port: int, transports: str, max_calls_per_source: int,
              max_rate: float, max_duration: float, ring_ms: float, media_advertise: str | None, tls_cert: str | None,
              tls_key: str | None, tls_port: int, as_json: bool, quiet: bool) -> int:
    """Answer test calls from `readiness calls` and reflect their media with timestamps, the DSCP
    each packet arrived with and the reflector's own sequence, so the caller measures each
    direction on its own. Serves several technicians at once; runs until Ctrl-C.

    With --key-file every INVITE and every media packet must be authenticated with that key
    (unauthenticated media gets no answer). Without it the responder listens on loopback only.

    SRTP offers (RTP/SAVP with a=crypto, from `readiness calls --srtp`) are answered with SRTP,
    each call on a UDP port of its own; packets that fail SRTP authentication get no answer.
    """
    from ..config.site import split_host_port
    from ..probes.calls.farend.reflector import ReflectorLimits
    from ..probes.calls.farend.responder import CallResponder, ResponderConfig
    from ..probes.calls.sip import UasLimits

    try:
        host, port = split_host_port(listen, 5060)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--listen") from None
    advertise = None
    if media_advertise:
        try:
            advertise = split_host_port(media_advertise, 0)
        except ValueError as e:
            raise click.BadParameter(str(e), param_hint="--media-advertise") from None
        if not advertise[1]:
            raise click.BadParameter("give HOST:PORT", param_hint="--media-advertise")
    kinds = tuple(k.strip() for k in transports.split(",") if k.strip())
    for k in kinds:
        if k not in ("udp", "tcp"):
            raise click.BadParameter(f"{k!r}: the responder listens on udp and/or tcp", param_hint="--transport")
    secret = _secret(key_ref, "--key", file=key_file)
    key = secret.resolve(Path.cwd()).encode() if secret else None
    if bool(tls_cert) != bool(tls_key):
        raise click.UsageError("give --tls-cert and --tls-key together")
    cfg = ResponderConfig(host=host, port=port, transports=kinds, media_port=media_port, key=key,
                          ring_ms=ring_ms, media_advertise=advertise, tls_cert=tls_cert, tls_key=tls_key,
                          tls_port=tls_port,
                          limits=ReflectorLimits(sessions_per_source=max_calls_per_source, rate_pps=max_rate,
                                        duration_s=max_duration),
                          uas_limits=UasLimits(max_calls_per_source=max_calls_per_source, max_call_s=max_duration))
    stats: dict[str, Any] = {}

    async def serve() -> None:
        async with CallResponder(cfg) as r:
            where = ", ".join(f"{k} {h}:{p}" for k, h, p in r.addresses)
            click.echo(f"readiness responder: SIP on {where}, media on UDP {r.media_port}"
                       f"{', key required' if cfg.key else ', no key (loopback only)'}", err=True)
            try:
                while True:
                    await asyncio.sleep(1.0)
                    stats.update(r.stats())
                    if not quiet and sys.stderr.isatty():
                        click.echo(f"\r{stats['calls_active']} calls, {stats['packets_reflected']} packets reflected, "
                                   f"{stats['calls_refused']} refused, {stats['packets_unauthenticated']} "
                                   "unauthenticated   ", nl=False, err=True)
            finally:
                stats.update(r.stats())

    try:
        _run(serve)
    except KeyboardInterrupt:
        pass
    if as_json:
        click.echo(json.dumps(stats, indent=2))
    elif not quiet:
        click.echo(f"\nstopped: {stats.get('calls_answered', 0)} calls answered, "
                   f"{stats.get('packets_reflected', 0)} packets reflected", err=True)
    return 0
