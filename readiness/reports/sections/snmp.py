"""The SNMP section: per device what the audit found and each criterion's verdict on that device."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from ...details import snmp as detail
from ...details.snmp import DeviceSection
from ...results import RunResults
from ...units import format_value
from ..text import styled

PORTS_SHOWN = 6


def console_section(results: RunResults):
    return print_devices if detail.DEVICES in results.details else None


def print_devices(results: RunResults, out: Console) -> None:
    devices = detail.devices(results.details)
    for d in devices:
        table = Table(title=f"{d.name} ({d.role}, {d.host})", show_header=False, title_justify="left")
        table.add_column("what", style="bold")
        table.add_column("found", overflow="fold")
        for k, v in found(d):
            table.add_row(k, v)
        # one device: the run's criteria table below says the same
        for c in results.by_device.get(d.name, []) if len(devices) > 1 else []:
            table.add_row(c.id, f"{styled(c.verdict)}: {c.explanation}")
        out.print(table)


def found(d: DeviceSection) -> list[tuple[str, str]]:
    """What the device showed, line by line."""
    if not d.reachable:
        return [("error", d.error or "no answer")]
    descr = (d.sys_descr or "").splitlines()
    rows = [("system", descr[0][:90] if descr else "-")]
    if d.role == "ups":
        u = d.ups
        if u is None:
            return rows + [("ups", d.not_measured.get("ups", "no UPS information"))]
        rows.append(("UPS", f"{u.model or '?'} ({', '.join(u.mibs)})"))
        rows.append(("battery", f"{u.battery_status or '?'}, charge {format_value(u.charge_pct, '%')}, "
                                f"runtime {format_value(u.runtime_min, 'min')}"))
        rows.append(("output", f"{u.output_source or '?'}, load {format_value(u.load_pct, '%')}, "
                               f"on battery {format_value(u.on_battery_s, 's')}"))
        if u.alarms:
            rows.append(("alarms", ", ".join(u.alarms)))
        return rows
    up = [i for i in d.interfaces if i.physical and i.oper_status == "up"]
    rows.append(("interfaces", f"{len(d.interfaces)} ({len(up)} Ethernet up)" if d.interfaces
                 else d.not_measured.get("interfaces", "-")))
    if d.vlans or "vlans" in d.not_measured:
        rows.append(("VLANs", (", ".join(str(v.id) for v in d.vlans[:20]) + f" ({d.vlan_source})") if d.vlans
                     else d.not_measured["vlans"]))
    rows.append(("voice VLAN", str(d.voice_vlan) if d.voice_vlan else "-"))
    if d.poe is not None:
        p = d.poe
        rows.append(("PoE", f"{format_value(p.consumption_w, 'W')} of {format_value(p.budget_w, 'W')} used"
                            + (f", threshold {p.usage_threshold_pct} %" if p.usage_threshold_pct else "")))
        if p.headroom_w is not None:
            rows.append(("PoE headroom", f"{format_value(p.headroom_w, 'W')} = {p.headroom}"))
    elif "poe" in d.not_measured:
        rows.append(("PoE", d.not_measured["poe"]))
    if d.neighbours:
        phones = [n.port for n in d.neighbours if n.telephone]
        rows.append(("LLDP", f"{len(d.neighbours)} neighbours, {len(phones)} phones"
                             + (f" ({', '.join(phones[:8])})" if phones else "")))
    for metric in ("if.half_duplex_ports", "if.error_ports", "vlan.voice_ports_missing", "lldp.voice_policy"):
        c = d.check(metric)
        if c is not None and c.ports:
            rows.append((metric, "; ".join(c.ports[:PORTS_SHOWN]) + (" ..." if len(c.ports) > PORTS_SHOWN else "")))
    return rows
