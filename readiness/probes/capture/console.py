"""A capture analysis on the terminal: streams, calls, what the switch advertises, markings."""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from rich.table import Table

from .analyze import Analysis


MAX_CALLS_SHOWN = 20


def _f(v: Any, digits: int = 2) -> str:
    if v is None:
        return "-"
    return f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def print_analysis(a: Analysis, console: Console | None = None) -> None:
    # piped into a file or another tool: no 80-column squeeze that would cut addresses and SSRCs
    c = console or (Console() if sys.stdout.isatty() else Console(width=200))
    d = a.to_json()
    span = (a.last_ns - a.first_ns) / 1e9 if a.first_ns is not None and a.last_ns is not None else 0.0
    c.print(f"[bold]{d['file']}[/]: {d['packets']} packets, {span:.1f} s, {', '.join(d['link_types']) or '-'}")
    for p in d["problems"]:
        c.print(f"[yellow]! {p}[/]")
    _streams(c, d["rtp_streams"])
    _calls(c, d["calls"], d["sip"])
    _discovery(c, d["lldp"], d["cdp"])
    _markings(c, d["markings"])


def _streams(c: Console, streams: list[dict[str, Any]]) -> None:
    if not streams:
        c.print("RTP streams: none found")
        return
    t = Table(title="RTP streams", title_justify="left")
    for col in ("source", "destination", "SSRC", "codec", "kind", "pkts", "lost", "max Δ ms", "mean jit ms",
                "max jit ms", "DSCP", "VLAN/PCP", "MOS"):
        t.add_column(col, justify="right" if col not in ("source", "destination", "codec", "kind") else "left")
    for s in streams:
        lost = "-" if s["lost"] is None else f"{s['lost']} ({_f(s['lost_pct'], 1)}%)"
        tag = "-" if s["vlan"] is None else f"{s['vlan']}/{s['pcp']}"
        t.add_row(f"{s['src']}:{s['sport']}", f"{s['dst']}:{s['dport']}", s["ssrc"], s["codec"], s["kind"],
                  str(s["packets"]), lost, _f(s["max_delta_ms"], 1), _f(s["mean_jitter_ms"], 3),
                  _f(s["max_jitter_ms"], 3), _f(s["dscp_name"]), tag, _f(s["mos"]))
    c.print(t)
    for s in streams:
        for note in ([s["clock_note"]] if s["clock_note"] else []) + s["problems"]:
            c.print(f"  [yellow]{s['ssrc']}: {note}[/]")


def _calls(c: Console, calls: list[dict[str, Any]], sip: dict[str, Any]) -> None:
    if not sip.get("messages"):
        return
    outcomes: dict[str, int] = {}
    for call in calls:
        outcomes[call["outcome"]] = outcomes.get(call["outcome"], 0) + 1
    c.print(f"SIP: {sip['messages']} messages, {len(calls)} calls "
            f"({', '.join(f'{n} {o}' for o, n in sorted(outcomes.items()))})")
    if len(calls) > MAX_CALLS_SHOWN:
        c.print(f"  (the first {MAX_CALLS_SHOWN} calls; --json has them all)")
    for call in calls[:MAX_CALLS_SHOWN]:
        streams = ", ".join(f"0x{x:08X}" for x in call["streams"]) or "no media seen"
        status = f"{call['final_status']} {call['final_reason']}" if call["final_status"] else "no final response"
        setup = f"setup {call['setup_ms']:.0f} ms" if call["setup_ms"] is not None else "not answered"
        c.print(f"  {call['from']} -> {call['to']}: {status}, {setup}; {streams}")


def _discovery(c: Console, lldp: list[dict[str, Any]], cdp: list[dict[str, Any]]) -> None:
    for n in lldp:
        c.print(f"LLDP: {n.get('system_name') or n.get('chassis_id')} port {n.get('port_id')}"
                + (f", PVID {n['port_vlan']}" if n.get("port_vlan") is not None else ""))
        for p in n["med_policies"]:
            c.print(f"  network policy {p['application']}: VLAN {p['vlan']}, priority {p['priority']}, "
                    f"DSCP {p['dscp']}, {'tagged' if p['tagged'] else 'untagged'}"
                    + (" (policy unknown)" if p["unknown"] else ""))
        loc = n.get("location")
        if loc:
            c.print(f"  location ({loc['format']}): {loc.get('elin') or loc.get('civic') or loc.get('coordinate')}")
        for prob in n["problems"]:
            c.print(f"  [yellow]{prob}[/]")
    for n in cdp:
        c.print(f"CDP: {n.get('device_id')} ({n.get('platform')}) port {n.get('port_id')}, native VLAN "
                f"{_f(n.get('native_vlan'))}, voice VLAN {_f(n.get('voice_vlan'))}")


def _markings(c: Console, m: dict[str, Any]) -> None:
    if not m:
        return
    e = m["expected"]
    c.print(f"Markings (expected media {e['media']}, signalling {'/'.join(e['signalling'])}, voice PCP "
            f"{e['voice_pcp']}):")
    c.print(f"  voice media {_f(m['media_dscp_ok_pct'], 1)}% of {m['media_packets']} packets as expected "
            f"{m['dscp']['voice_media']}")
    c.print(f"  signalling {_f(m['signalling_dscp_ok_pct'], 1)}% of {m['signalling_packets']} as expected "
            f"{m['dscp']['signalling']}")
    if m["voice_tagged_packets"]:
        c.print(f"  tagged voice frames with PCP {e['voice_pcp']}: {_f(m['voice_pcp_ok_pct'], 1)}%")
    for v in m["violations"]["media"]:
        c.print(f"  [red]{v['stream']} {v['ssrc']}: {v['wrong_dscp_packets']} packets not "
                f"{e['media']} {v['dscp_seen']}, first at frame {v['first_wrong_frames'][:3]}[/]")
    if m["violations"]["signalling_count"]:
        frames = ", ".join(str(v["frame"]) for v in m["violations"]["signalling"][:5])
        c.print(f"  [red]{m['violations']['signalling_count']} SIP messages with another DSCP "
                f"{m['dscp']['signalling']}, first at frames {frames}[/]")


def markings_broken(a: Analysis) -> bool:
    v = a.markings.get("violations", {})
    return bool(v.get("media") or v.get("signalling_count"))
