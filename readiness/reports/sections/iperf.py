"""The iperf3 section: per direction what the voice-sized UDP received and what capacity TCP found
against the planned calls, and who measured it."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from ...details import iperf as detail
from ...results import RunResults
from ..text import number


def console_section(results: RunResults):
    return print_iperf if detail.IPERF in results.details else None


def print_iperf(results: RunResults, out: Console) -> None:
    a = detail.account(results.details)
    assert a is not None
    version = f"iperf3 {a.iperf3_version}" if a.iperf3_version else "iperf3"
    voice = {d: detail.voice(getattr(a, d)) for d in ("up", "down")}
    if any(voice.values()):
        t = Table(title=f"voice-sized UDP ({version}, server {a.server})")
        for col in ("direction", "packets", "lost", "loss %", "jitter ms", "kbit/s", "worst second: loss % / jitter ms"):
            t.add_column(col, justify="left" if col == "direction" else "right", no_wrap=True)
        for d, v in voice.items():
            if v is None:
                continue
            worst_loss = max((100.0 * iv["lost"] / iv["packets"] for iv in v.intervals if iv.get("packets")), default=None)
            worst_jitter = max((iv["jitter_ms"] for iv in v.intervals if iv.get("jitter_ms") is not None), default=None)
            t.add_row(d, str(v.packets), str(v.lost_packets), number(v.lost_pct), number(v.jitter_ms, 3),
                      number(v.bits_per_second / 1e3, 1), f"{number(worst_loss)} / {number(worst_jitter, 3)}")
        out.print(t)
        out.print(a.note, highlight=False)
    caps = {d: detail.capacity(c) for d, c in a.capacity.items()}
    if caps:
        t = Table(title=f"TCP capacity ({version}, server {a.server})")
        for col in ("direction", "Mbit/s", "voice need Mbit/s", "data headroom Mbit/s", "left Mbit/s"):
            t.add_column(col, justify="left" if col == "direction" else "right", no_wrap=True)
        for d, c in caps.items():
            if c is None:
                continue
            t.add_row(d, number(c.bits_per_second / 1e6, 1), number(c.voice_need_bps / 1e6, 3),
                      number(c.data_headroom_bps / 1e6, 1), number(c.spare_bps / 1e6, 1))
        out.print(t)
        first = next(c for c in caps.values() if c is not None)
        out.print(f"voice need: {first.calls} calls of {first.codec} at Ethernet level (Cisco doc 7934 header "
                  "assumptions)", highlight=False)
    for test, why in a.errors.items():
        out.print(f"[yellow]{test}: {why}[/]")
