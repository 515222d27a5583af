"""The capture section: the file, RTP streams, SIP calls, what the switch advertises, markings."""

from __future__ import annotations

import time

from rich.console import Console
from rich.table import Table

from ...details import capture as detail
from ...details.capture import CaptureDetails
from ...results import RunResults
from ..text import number

MAX_CALLS_SHOWN = 20


def console_section(results: RunResults):
    return print_capture if detail.CAPTURE in results.details else None


def print_capture(results: RunResults, out: Console) -> None:
    d = detail.of(results.details)
    assert d is not None
    f = d.file
    span = (f.end - f.start) if f.start is not None and f.end is not None else 0.0
    out.print(f"[bold]{f.file}[/]: {f.packets} packets, {span:.1f} s, {', '.join(f.link_types) or '-'}")
    for p in f.problems:
        out.print(f"[yellow]! {p}[/]", highlight=False)
    _streams(out, d)
    _fax(out, d)
    _calls(out, d)
    _discovery(out, d)
    _markings(out, d)


def _streams(out: Console, d: CaptureDetails) -> None:
    if not d.streams:
        out.print("RTP streams: none found")
        return
    t = Table(title="RTP streams", title_justify="left")
    for col in ("source", "destination", "SSRC", "codec", "kind", "pkts", "lost", "max Δ ms", "mean jit ms",
                "max jit ms", "DSCP", "VLAN/PCP", "MOS"):
        t.add_column(col, justify="left" if col in ("source", "destination", "codec", "kind") else "right")
    for s in d.streams:
        lost = "-" if s.lost is None else f"{s.lost} ({number(s.lost_pct, 1)}%)"
        tag = "-" if s.vlan is None else f"{s.vlan}/{s.pcp}"
        t.add_row(f"{s.src}:{s.sport}", f"{s.dst}:{s.dport}", s.ssrc, s.codec, s.kind, str(s.packets), lost,
                  number(s.max_delta_ms, 1), number(s.mean_jitter_ms, 3), number(s.max_jitter_ms, 3),
                  number(s.dscp_name), tag, number(s.mos))
    out.print(t)
    for s in d.streams:
        r = s.rtcp
        if r and r.reports:       # what the receiver reported (RFC 3550 6.4 report blocks), beside ours
            rtt = f", RTT {number(r.rtt_ms, 1)} ms" if r.rtt_ms is not None else ""
            out.print(f"  {s.ssrc}: RTCP from {r.reporter}: lost up to {number(r.fraction_lost_pct_max, 1)}%, "
                      f"jitter up to {number(r.jitter_ms_max, 2)} ms{rtt} ({r.reports} reports)", highlight=False)
    for s in d.streams:
        for note in ([s.clock_note] if s.clock_note else []) + s.problems:
            out.print(f"  [yellow]{s.ssrc}: {note}[/]", highlight=False)


def _fax(out: Console, d: CaptureDetails) -> None:
    for f in d.fax:
        u = f.udptl
        lost = f"{u.get('lost')} lost ({number(u.get('lost_pct'), 1)}%, {u.get('recovered')} recovered by redundancy)"
        out.print(f"T.38 fax {f.src}:{f.sport} -> {f.dst}:{f.dport}: {u.get('packets')} UDPTL packets, {lost}, "
                  f"{f.duration_s:.1f} s", highlight=False)


def _calls(out: Console, d: CaptureDetails) -> None:
    if not d.sip_messages:
        return
    outcomes: dict[str, int] = {}
    for call in d.calls:
        outcomes[call.outcome] = outcomes.get(call.outcome, 0) + 1
    out.print(f"SIP: {d.sip_messages} messages, {len(d.calls)} calls "
              f"({', '.join(f'{n} {o}' for o, n in sorted(outcomes.items()))})")
    if len(d.calls) > MAX_CALLS_SHOWN:
        out.print(f"  (the first {MAX_CALLS_SHOWN} calls; --json has them all)")
    for call in d.calls[:MAX_CALLS_SHOWN]:
        streams = ", ".join(f"0x{x:08X}" for x in call.streams) or "no media seen"
        status = f"{call.final_status} {call.final_reason}" if call.final_status else "no final response"
        setup = f"setup {call.setup_ms:.0f} ms" if call.setup_ms is not None else "not answered"
        out.print(f"  {call.caller} -> {call.callee}: {status}, {setup}; {streams}", highlight=False)
        if call.fax_at is not None:     # capture time stamps are UTC
            out.print(f"  call {call.call_id} became a fax call (T.38) at "
                      f"{time.strftime('%H:%M:%S', time.gmtime(call.fax_at))} UTC", highlight=False)


def _discovery(out: Console, d: CaptureDetails) -> None:
    for n in d.lldp:
        out.print(f"LLDP: {n.system_name or n.chassis_id} port {n.port_id}"
                  + (f", PVID {n.port_vlan}" if n.port_vlan is not None else ""), highlight=False)
        for p in n.med_policies:
            out.print(f"  network policy {p.application}: VLAN {p.vlan}, priority {p.priority}, DSCP {p.dscp}, "
                      f"{'tagged' if p.tagged else 'untagged'}" + (" (policy unknown)" if p.unknown else ""))
        if n.location:
            out.print(f"  location ({n.location_format}): {n.location}", highlight=False)
        for prob in n.problems:
            out.print(f"  [yellow]{prob}[/]", highlight=False)
    for c in d.cdp:
        out.print(f"CDP: {c.device_id} ({c.platform}) port {c.port_id}, native VLAN {number(c.native_vlan)}, "
                  f"voice VLAN {number(c.voice_vlan)}", highlight=False)


def _hist(counts: dict[str, int]) -> str:
    return "(" + ", ".join(f"{name} {n}" for name, n in counts.items()) + ")" if counts else ""


def _markings(out: Console, d: CaptureDetails) -> None:
    m = d.markings
    if m is None:
        return
    out.print(f"Markings (expected media {m.expected_media}, signalling {'/'.join(m.expected_signalling)}, voice "
              f"PCP {m.expected_voice_pcp}):")
    out.print(f"  voice media {number(m.media_dscp_ok_pct, 1)}% of {m.media_packets} packets as expected "
              f"{_hist(m.media_dscp_seen)}", highlight=False)
    out.print(f"  signalling {number(m.signalling_dscp_ok_pct, 1)}% of {m.signalling_packets} as expected "
              f"{_hist(m.signalling_dscp_seen)}", highlight=False)
    if m.voice_tagged_packets:
        out.print(f"  tagged voice frames with PCP {m.expected_voice_pcp}: {number(m.voice_pcp_ok_pct, 1)}%")
    for v in m.media_violations:
        out.print(f"  [red]{v.stream} {v.ssrc}: {v.wrong_dscp_packets} packets not {m.expected_media} {_hist(v.dscp_seen)}, "
                  f"first at frame {v.first_wrong_frames[:3]}[/]", highlight=False)
    if m.signalling_violations:
        frames = ", ".join(str(f) for f in m.signalling_violation_frames[:5])
        out.print(f"  [red]{m.signalling_violations} SIP messages with another DSCP {_hist(m.signalling_dscp_seen)}, "
                  f"first at frames {frames}[/]", highlight=False)
