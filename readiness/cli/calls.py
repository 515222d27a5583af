"""`readiness calls` (place a call load and score every call) and `readiness responder` (the far end)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import click

from .. import dscp as dscp_names
from ..errors import ReadinessError
from ..progress import NullProgress, RichProgress

CODECS = ["pcmu", "pcma", "g711", "g722", "g729", "opus"]


def _dscp(value: str, what: str) -> int:
    try:
        return dscp_names.parse(value)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint=what) from None


def _read_key(path: str | None) -> bytes | None:
    if path is None:
        return None
    try:
        data = Path(path).read_bytes().strip()
    except OSError as e:
        raise ReadinessError(f"cannot read key file {path}: {e.strerror or e}") from None
    if not data:
        raise ReadinessError(f"key file {path} is empty")
    return data


def _password(env: str | None, file: str | None) -> str | None:
    if env:
        value = os.environ.get(env)
        if value is None:
            raise ReadinessError(f"environment variable {env} is not set (--password-env)")
        return value
    if file:
        try:
            return Path(file).read_text().strip()
        except OSError as e:
            raise ReadinessError(f"cannot read password file {file}: {e.strerror or e}") from None
    return None


def _run(coro_factory) -> Any:
    """asyncio.run with SIGTERM handled like Ctrl-C (calls hang up, media stops, nothing is left)."""
    previous = signal.getsignal(signal.SIGTERM)

    def term(*_: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, term)
    try:
        return asyncio.run(coro_factory())
    finally:
        signal.signal(signal.SIGTERM, previous)


@click.command(short_help="Place test calls and score every call (MOS, loss, jitter, DSCP per direction).")
@click.argument("target")
@click.option("--calls", "n_calls", type=int, default=10, show_default=True, help="Concurrent calls.")
@click.option("--cps", type=float, default=5.0, show_default=True, help="Calls started per second while ramping.")
@click.option("--duration", type=float, default=30.0, show_default=True, help="Seconds each call is held.")
@click.option("--codec", type=click.Choice(CODECS, case_sensitive=False), default="pcmu", show_default=True)
@click.option("--ptime", "ptime_ms", type=int, default=20, show_default=True, help="Packetisation, ms.")
@click.option("--transport", type=click.Choice(["udp", "tcp", "tls"]), default="udp", show_default=True)
@click.option("--key-file", type=click.Path(dir_okay=False), help="The responder's key (same file as on the responder).")
@click.option("--username", help="SIP username, when the target asks for digest authentication.")
@click.option("--password-env", metavar="VAR", help="Environment variable holding the SIP password.")
@click.option("--password-file", type=click.Path(dir_okay=False), help="File holding the SIP password.")
@click.option("--dscp", "media_dscp", default="EF", show_default=True, help="DSCP on RTP.")
@click.option("--sip-dscp", default="CS3", show_default=True, help="DSCP on SIP (RFC 4594 says CS5).")
@click.option("--synced-clocks", is_flag=True,
              help="Both ends' clocks are synchronised (NTP/PTP): report true one-way delay, not RTT/2.")
@click.option("--profile", "profile_name", default="voice-baseline", show_default=True,
              help="Profile whose call criteria decide the exit status.")
@click.option("--find-capacity", is_flag=True, help="Search the largest concurrency that meets the profile.")
@click.option("--max-calls", type=int, default=500, show_default=True, help="Upper bound of --find-capacity.")
@click.option("--keep-traces", type=click.Path(file_okay=False), help="Keep per-call packet traces in this folder.")
@click.option("--json", "json_out", metavar="OUT", help="Write every call and the summary as JSON to OUT (- = stdout).")
@click.option("--quiet", "-q", is_flag=True, help="No progress, no table.")
def calls(target: str, n_calls: int, cps: float, duration: float, codec: str, ptime_ms: int, transport: str,
          key_file: str | None, username: str | None, password_env: str | None, password_file: str | None,
          media_dscp: str, sip_dscp: str, synced_clocks: bool, profile_name: str, find_capacity: bool,
          max_calls: int, keep_traces: str | None, json_out: str | None, quiet: bool) -> int:
    """Place concurrent test calls to TARGET (sip:user@host:port), ramped at --cps, hold them for
    --duration seconds, hang up, and score every call in both directions: loss, bursts, jitter,
    round trip, DSCP received, E-model R and MOS.

    Against `readiness responder` (give the same --key-file) every packet is reflected with
    timestamps, so each direction is measured on its own. Any other SIP far end (a PBX echo
    service, a phone) is scored from its RTP and its RTCP reports.

    Exit 0 when the profile's call criteria pass, 1 when one fails, 2 when the calls could not run.
    """
    from ..config import profile as profile_mod
    from ..probes.calls.load import LoadConfig, clocks_shared
    from ..probes.calls.sip import Credentials

    password = _password(password_env, password_file)
    if password is not None and not username:
        raise click.UsageError("a password needs --username")
    cfg = LoadConfig(target=target, calls=n_calls, cps=cps, duration_s=duration,
                     codec="pcmu" if codec.lower() == "g711" else codec.lower(), ptime_ms=ptime_ms,
                     transport=transport, media_dscp=_dscp(media_dscp, "--dscp"), sip_dscp=_dscp(sip_dscp, "--sip-dscp"),
                     key=_read_key(key_file), credentials=Credentials(username, password or "") if username else None,
                     clocks_synced=synced_clocks or clocks_shared(target),
                     trace_dir=Path(keep_traces) if keep_traces else None)
    profile = profile_mod.load(profile_name)
    progress = NullProgress() if quiet or json_out == "-" else RichProgress()
    try:
        if find_capacity:
            from ..probes.calls.capacity import find_capacity as search

            cap = _run(lambda: search(cfg, profile.criteria, max_calls, min(n_calls, max_calls), progress))
            doc = _capacity_json(cap, profile.name)
            status = 0 if cap.capacity > 0 else 1
            if not quiet and json_out != "-":
                _print_capacity(cap)
        else:
            from ..probes.calls.capacity import call_criteria, judge
            from ..probes.calls.load import run_load
            from ..probes.calls.records import to_json

            result = _run(lambda: run_load(cfg, progress))
            verdicts = judge(result, call_criteria(profile.criteria))
            doc = to_json(result)
            doc["verdicts"] = [v.to_json() for v in verdicts]
            doc["profile"] = profile.name
            failed = [v for v in verdicts if v.outcome == "fail" and v.severity == "must"]
            status = 1 if failed else (2 if not result.answered() and result.calls and
                                       all(c.outcome.cause in ("dns", "unreachable", "refused") for c in result.calls)
                                       else 0)
            if not quiet and json_out != "-":
                _print_calls(doc, verdicts)
    finally:
        progress.close()
    if json_out:
        text = json.dumps(doc, indent=2, default=str)
        if json_out == "-":
            click.echo(text)
        else:
            Path(json_out).write_text(text + "\n")
    return status


def _fmt(v: Any, nd: int = 2) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{nd}f}"
    return str(v)


def _print_calls(doc: dict[str, Any], verdicts: list) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(Console().width, 100))
    rows = doc["calls"]
    worst = sorted(rows, key=lambda c: (c["answered"], c["mos"] if c["mos"] is not None else 0))
    shown = rows if len(rows) <= 40 else worst[:20]
    t = Table(title="calls" if len(rows) <= 40 else f"the 20 worst of {len(rows)} calls")
    for col in ("call", "SIP", "setup ms", "MOS up/down", "loss % up/down", "jitter ms up/down", "RTT ms",
                "DSCP up/down"):
        t.add_column(col, justify="right" if col != "SIP" else "left", no_wrap=True)
    for c in shown:
        status = f"{c['sip_status'] or '-'} {c['cause']}" if not c["answered"] else str(c["sip_status"])
        t.add_row(str(c["index"]), status, _fmt(c["setup_ms"], 1),
                  f"{_fmt(c['mos_up'])}/{_fmt(c['mos_down'])}",
                  f"{_fmt(c['loss_pct_up'])}/{_fmt(c['loss_pct_down'])}",
                  f"{_fmt(c['jitter_ms_up'], 3)}/{_fmt(c['jitter_ms_down'], 3)}", _fmt(c["rtt_ms_p50"], 3),
                  f"{_dscp_name(c['dscp_received_up'])}/{_dscp_name(c['dscp_received_down'])}")
    console.print(t)
    s = doc["summary"]
    console.print(f"{s['calls_answered']}/{s['calls_attempted']} answered, MOS min {_fmt(s['mos_min'])} "
                  f"p05 {_fmt(s['mos_p05'])} median {_fmt(s['mos_median'])}, setup p95 {_fmt(s['setup_ms_p95'], 1)} ms, "
                  f"sender schedule error p99 {_fmt(s['schedule_error_ms_p99'], 3)} ms")
    if s["failures_by_cause"]:
        console.print("failed: " + ", ".join(f"{k} x{v}" for k, v in s["failures_by_cause"].items()))
    for v in verdicts:
        style = {"pass": "green", "fail": "bold red", "warn": "yellow"}.get(v.outcome, "dim")
        console.print(f"[{style}]{v.outcome:>12}[/] {v.criterion}: {v.explanation}", highlight=False)


def _dscp_name(v: int | None) -> str:
    return "-" if v is None else dscp_names.name(v)


def _capacity_json(cap, profile: str) -> dict[str, Any]:
    from ..probes.calls.records import to_json

    return {"profile": profile, "capacity_calls": cap.capacity, "max_calls": cap.max_calls,
            "limited_by_max": cap.limited_by_max,
            "steps": [{"calls": s.calls, "passed": s.passed, "failed_criteria": s.failed_criteria,
                       "answered": s.answered, "mos_min": s.mos_min} for s in cap.steps]}


def _print_capacity(cap) -> None:
    from rich.console import Console

    console = Console()
    for s in cap.steps:
        mark = "[green]pass[/]" if s.passed else "[red]fail[/]"
        why = "" if s.passed else " (" + ", ".join(s.failed_criteria) + ")"
        console.print(f"{s.calls:>6} calls: {mark}, {s.answered} answered, MOS min {_fmt(s.mos_min)}{why}")
    more = " (the limit given by --max-calls; it may carry more)" if cap.limited_by_max else ""
    console.print(f"Capacity: [bold]{cap.capacity}[/] concurrent calls met every call criterion{more}")


@click.command(short_help="Answer test calls and reflect their media (the far end of `readiness calls`).")
@click.option("--listen", default="127.0.0.1:5060", show_default=True, metavar="ADDR:PORT",
              help="SIP address (UDP and TCP). Without --key-file only loopback is allowed.")
@click.option("--key-file", type=click.Path(dir_okay=False), help="Shared key: callers must hold the same file.")
@click.option("--media-port", type=int, default=0, show_default=True, help="UDP port of the reflector (0: any).")
@click.option("--transport", "transports", default="udp,tcp", show_default=True, help="SIP transports to listen on.")
@click.option("--max-calls-per-source", type=int, default=2000, show_default=True,
              help="Concurrent calls (and media sessions) from one address.")
@click.option("--max-rate", type=float, default=200.0, show_default=True, help="Packets/s per media session.")
@click.option("--max-duration", type=float, default=4 * 3600.0, show_default=True, help="Seconds per call.")
@click.option("--ring-ms", type=float, default=0.0, show_default=True, help="Ring this long before answering.")
@click.option("--media-advertise", metavar="HOST:PORT",
              help="Media address to put in SDP answers (behind NAT or a port forward); default: the reflector's.")
@click.option("--json", "as_json", is_flag=True, help="Print the responder's counters as JSON when it stops.")
@click.option("--quiet", "-q", is_flag=True, help="No status line.")
def responder(listen: str, key_file: str | None, media_port: int, transports: str, max_calls_per_source: int,
              max_rate: float, max_duration: float, ring_ms: float, media_advertise: str | None, as_json: bool,
              quiet: bool) -> int:
    """Answer test calls from `readiness calls` and reflect their media with timestamps, the DSCP
    each packet arrived with and the reflector's own sequence, so the caller measures each
    direction on its own. Serves several technicians at once; runs until Ctrl-C.

    With --key-file every INVITE and every media packet must be authenticated with that key
    (unauthenticated media gets no answer). Without it the responder listens on loopback only.
    """
    from ..config.site import split_host_port
    from ..probes.calls.farend.reflector import ReflectorLimits as Limits
    from ..probes.calls.farend.responder import CallResponder as Responder, ResponderConfig
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
    cfg = ResponderConfig(host=host, port=port, transports=kinds, media_port=media_port, key=_read_key(key_file),
                          ring_ms=ring_ms, media_advertise=advertise,
                          limits=Limits(sessions_per_source=max_calls_per_source, rate_pps=max_rate,
                                        duration_s=max_duration),
                          uas_limits=UasLimits(max_calls_per_source=max_calls_per_source, max_call_s=max_duration))
    stats: dict[str, Any] = {}

    async def serve() -> None:
        async with Responder(cfg) as r:
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
