"""The calls section: every call in both directions (the worst when there are many), the load's
summary, and the steps of a capacity search."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from ... import dscp as dscp_names
from ...details import calls as detail
from ...details import phases as phase_details
from ...results import RunResults
from ..text import number

MAX_ROWS = 40          # more calls than this: the 20 worst are shown (the run document has them all)


def console_section(results: RunResults):
    if detail.capacity(results.details) is not None:
        return print_capacity
    if detail.CALLS in results.details or detail.SUMMARY in results.details:
        return print_calls
    return None


def print_calls(results: RunResults, out: Console) -> None:
    rows = detail.calls(results.details)
    if rows:
        worst = sorted(rows, key=lambda c: (c.answered, c.mos if c.mos is not None else 0))
        shown = rows if len(rows) <= MAX_ROWS else worst[:20]
        t = Table(title="calls" if len(rows) <= MAX_ROWS else f"the 20 worst of {len(rows)} calls")
        for col in ("call", "SIP", "setup ms", "MOS up/down", "loss % up/down", "jitter ms up/down", "RTT ms",
                    "DSCP up/down"):
            t.add_column(col, justify="left" if col == "SIP" else "right", no_wrap=True)
        for c in shown:
            status = str(c.sip_status) if c.answered else f"{c.sip_status or '-'} {c.cause}"
            t.add_row(str(c.index), status, number(c.setup_ms, 1), f"{number(c.mos_up)}/{number(c.mos_down)}",
                      f"{number(c.loss_pct_up)}/{number(c.loss_pct_down)}",
                      f"{number(c.jitter_ms_up, 3)}/{number(c.jitter_ms_down, 3)}", number(c.rtt_ms_p50, 3),
                      f"{_dscp(c.dscp_received_up)}/{_dscp(c.dscp_received_down)}")
        out.print(t)
    s = detail.summary(results.details)
    if s is None:
        return
    out.print(f"{s.calls_answered}/{s.calls_attempted} answered, MOS min {number(s.mos_min)} p05 {number(s.mos_p05)} "
              f"median {number(s.mos_median)}, setup p95 {number(s.setup_ms_p95, 1)} ms, sender schedule error p99 "
              f"{number(s.schedule_error_ms_p99, 3)} ms", highlight=False)
    if s.slip_max_ms is not None:
        hold = (f"; responder held a reply at most {number(s.hold_max_ms, 1)} ms, {s.late_replies} held 5 ms or more"
                if s.hold_max_ms is not None else "")
        out.print(f"generator: sender slipped at most {number(s.slip_max_ms, 1)} ms, {s.late_packets} packets "
                  f"5 ms or more late{hold}", highlight=False)
    if s.failures_by_cause:
        out.print("failed: " + ", ".join(f"{k} x{v}" for k, v in s.failures_by_cause.items()), highlight=False)
    _print_phases(results, out)


def _print_phases(results: RunResults, out: Console) -> None:
    """Calls under load: the same calls alone, loaded and after, side by side."""
    found = phase_details.phases(results.details)
    if found is None:
        return
    summaries, load = found
    rate = load.bits_per_second_up or load.bits_per_second_down
    t = Table(title=f"calls alone and under load (iperf3 {load.iperf3_version or '?'} to {load.server}, "
                    f"{load.direction}{f', {rate / 1e6:.1f} Mbit/s' if rate else ''})")
    for col in ("phase", "calls", "MOS min/median", "loss % up/down", "jitter ms up/down", "RTT p95 ms"):
        t.add_column(col, justify="left" if col == "phase" else "right", no_wrap=True)
    for name in phase_details.PHASES:
        p = summaries[name]
        if p is None:
            why = load.error if name == "loaded" and load.error else "not measured"
            t.add_row(name, why, "", "", "", "")
            continue
        t.add_row(name, str(p.calls), f"{number(p.mos_min)}/{number(p.mos_median)}",
                  f"{number(p.loss_pct_up)}/{number(p.loss_pct_down)}",
                  f"{number(p.jitter_ms_up, 3)}/{number(p.jitter_ms_down, 3)}", number(p.rtt_ms_p95, 1))
    out.print(t)


def print_capacity(results: RunResults, out: Console) -> None:
    cap = detail.capacity(results.details)
    assert cap is not None
    for s in cap.steps:
        mark = "[green]pass[/]" if s.passed else "[red]fail[/]"
        why = "" if s.passed else " (" + ", ".join(s.failed_criteria) + ")"
        out.print(f"{s.calls:>6} calls: {mark}, {s.answered} answered, MOS min {number(s.mos_min)}{why}")
    more = " (the limit given by --max-calls; it may carry more)" if cap.limited_by_max else ""
    out.print(f"Capacity: [bold]{cap.capacity_calls}[/] concurrent calls met every call criterion{more}")


def _dscp(v: int | None) -> str:
    return "-" if v is None else dscp_names.name(v)
