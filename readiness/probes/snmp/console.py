"""What `readiness snmp audit` prints: per device what was found and each criterion's verdict."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from ...units import format_value
from .device import DeviceReport
from .standalone import AuditResult

_STYLE = {"pass": "green", "fail": "bold red", "warn": "yellow", "not_measured": "dim", "error": "magenta",
          "incomplete": "bold yellow"}


def _found(r: DeviceReport) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    if not r.reachable:
        return [("error", r.polled.error)]
    descr = (r.polled.walk.text((1, 3, 6, 1, 2, 1, 1, 1, 0)) or "").splitlines()
    rows.append(("system", descr[0][:90] if descr else "-"))
    if r.role == "ups" and r.ups is not None:
        u = r.ups
        if u.reason:
            return rows + [("ups", u.reason)]
        rows.append(("UPS", f"{u.model or '?'} ({', '.join(u.mibs)})"))
        rows.append(("battery", f"{u.battery_status or '?'}, charge {format_value(u.charge_pct, '%')}, "
                                f"runtime {format_value(u.runtime_min, 'min')}"))
        rows.append(("output", f"{u.output_source or '?'}, load {format_value(u.load_pct, '%')}, "
                               f"on battery {format_value(u.on_battery_s, 's')}"))
        if u.alarms:
            rows.append(("alarms", ", ".join(u.alarms)))
        return rows
    up = [i for i in r.interfaces.values() if i.physical and i.oper_status == "up"]
    rows.append(("interfaces", f"{len(r.interfaces)} ({len(up)} Ethernet up)" if r.interfaces else r.interfaces_reason))
    if r.vlans is not None:
        rows.append(("VLANs", (", ".join(str(v) for v in sorted(r.vlans.vlans)[:20]) + f" ({r.vlans.source})")
                     if r.vlans.vlans else r.vlans.reason))
    rows.append(("voice VLAN", str(r.voice_vlan) if r.voice_vlan else "-"))
    if r.poe is not None:
        h = r.check("poe.headroom_w")
        if r.poe.pses:
            rows.append(("PoE", f"{format_value(r.poe.total('consumption_w'), 'W')} of "
                                f"{format_value(r.poe.total('budget_w'), 'W')} used"
                                + (f", threshold {r.poe.threshold_pct()} %" if r.poe.threshold_pct() else "")))
        else:
            rows.append(("PoE", r.poe.reason))
        if h is not None and h.value is not None:
            rows.append(("PoE headroom", f"{format_value(h.value, 'W')} = {h.detail}"))
    if r.lldp is not None:
        phones = [n.port for n in r.lldp.neighbours if n.telephone]
        rows.append(("LLDP", f"{len(r.lldp.neighbours)} neighbours, {len(phones)} phones"
                             + (f" ({', '.join(phones[:8])})" if phones else "")))
    for metric in ("if.half_duplex_ports", "if.error_ports", "vlan.voice_ports_missing", "lldp.voice_policy"):
        c = r.check(metric)
        if c is not None and c.ports:
            rows.append((metric, "; ".join(c.ports[:6]) + (" ..." if len(c.ports) > 6 else "")))
    return rows


def print_audit(result: AuditResult, console: Console | None = None) -> None:
    console = console or Console()
    for r in result.reports:
        t = r.polled.target
        table = Table(title=f"{t.label} ({t.role}, {t.address})", show_header=False, title_justify="left")
        table.add_column("what", style="bold")
        table.add_column("found", overflow="fold")
        for k, v in _found(r):
            table.add_row(k, v)
        for v in r.verdicts:
            style = _STYLE.get(v.outcome, "")
            table.add_row(v.criterion, f"[{style}]{v.outcome.replace('_', ' ')}[/]: {v.explanation}")
        console.print(table)
    counts = {o: sum(v.outcome == o for v in result.verdicts) for o in ("pass", "fail", "warn", "not_measured")}
    style = _STYLE.get(result.verdict, "")
    console.print(f"SNMP audit against {result.profile}: [{style}]{result.verdict.upper()}[/]  "
                  f"({counts['pass']} passed, {counts['fail']} failed, {counts['warn']} warnings, "
                  f"{counts['not_measured']} not measured)")
