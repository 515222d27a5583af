"""The per-probe detail tables of the protocol: one row per call (both directions), per SNMP device,
per captured RTP stream. Read from the run's details through readiness.details, formatted in the
report's language; the criteria table says what passed, these say what each part measured."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..details import calls as calls_details
from ..details import capture as capture_details
from ..details import phases as phase_details
from ..details import snmp as snmp_details
from ..dscp import name as dscp_name
from ..results import RunResults
from .language import Language
from .path_rows import path_rows
from .reasons import localize

MAX_ROWS = 200          # a 1,000-call run shows its worst 200 calls, and says so


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    headers: list[str]
    rows: list[list[str]]
    note: str = ""
    bad: list[bool] = field(default_factory=list)     # rows to mark (a call not answered, a device silent)


def tables(results: RunResults, lang: Language) -> dict[str, list[Table]]:
    """probe -> its tables (only probes that left details)."""
    out: dict[str, list[Table]] = {}
    for probe, build in (("path", _path), ("calls", _phases), ("calls", _calls), ("snmp", _devices), ("capture", _streams)):
        table = build(results, lang)
        if table:
            out.setdefault(probe, []).append(table)
    return out


def _calls(results: RunResults, lang: Language) -> Table | None:
    rows = calls_details.calls(results.details)
    if not rows:
        return None
    note = ""
    if len(rows) > MAX_ROWS:
        rows = sorted(rows, key=lambda c: (c.answered, c.mos if c.mos is not None else -1))[:MAX_ROWS]
        note = lang.pick("Die {m} schlechtesten von {n} Anrufen (nach MOS).", "The worst {m} of {n} calls (by MOS).",
                         m=MAX_ROWS, n=len(calls_details.calls(results.details)))
        rows.sort(key=lambda c: c.index)
    v = lang.value

    def pair(up, down, unit: str) -> str:
        return f"{v(up, unit)} / {v(down, unit)}"

    body = []
    for c in rows:
        status = lang.pick("angenommen", "answered") if c.answered else localize(
            c.detail or c.cause or lang.pick("nicht angenommen", "not answered"), lang)
        body.append([str(c.index), status, v(c.setup_ms, "ms"), pair(c.mos_up, c.mos_down, ""),
                     pair(c.loss_pct_up, c.loss_pct_down, "%"), pair(c.jitter_ms_up, c.jitter_ms_down, "ms"),
                     v(c.rtt_ms_p50, "ms"), pair(_dscp(c.dscp_received_up), _dscp(c.dscp_received_down), "")])
    headers = [lang.pick("Anruf", "Call"), lang.pick("Status", "Status"), lang.pick("Rufaufbau", "Setup"),
               lang.pick("MOS ↑ / ↓", "MOS ↑ / ↓"), lang.pick("Verlust ↑ / ↓", "Loss ↑ / ↓"),
               lang.pick("Jitter ↑ / ↓", "Jitter ↑ / ↓"), lang.pick("Umlaufzeit", "RTT"),
               lang.pick("DSCP am Ziel ↑ / ↓", "DSCP received ↑ / ↓")]
    note = (note + " " if note else "") + lang.pick("↑ Standort → Gegenstelle, ↓ Gegenstelle → Standort.",
                                                    "↑ site → far end, ↓ far end → site.")
    return Table("calls", lang.pick("Anrufe im Einzelnen", "Calls one by one"), headers, body, note,
                 [not c.answered for c in rows])


def _path(results: RunResults, lang: Language) -> Table | None:
    """One row per path check: SIP ALG per transport, NAT binding, OPTIONS, DNS, TLS."""
    p = path_rows(results, lang)
    if p is None:
        return None
    return Table("path", lang.pick("Weg zum Anbieter", "Path to the provider"), p.headers, p.rows, p.note, p.bad)


def _phases(results: RunResults, lang: Language) -> Table | None:
    """Calls alone, under load and after, side by side: what the load did to the same calls."""
    found = phase_details.phases(results.details)
    if found is None:
        return None
    summaries, load = found
    v = lang.value
    names = {"alone": lang.pick("allein", "alone"), "loaded": lang.pick("unter Last", "under load"),
             "after": lang.pick("danach", "after")}
    body, bad = [], []
    for name in phase_details.PHASES:
        s = summaries[name]
        if s is None:
            why = load.error if name == "loaded" and load.error else lang.pick("nicht gemessen", "not measured")
            body.append([names[name], localize(why, lang)] + [""] * 5)
            bad.append(True)
            continue
        body.append([names[name], lang.span(s.start, s.end), str(s.calls),
                     f"{v(s.mos_min, '')} / {v(s.mos_median, '')}", f"{v(s.loss_pct_up, '%')} / {v(s.loss_pct_down, '%')}",
                     f"{v(s.jitter_ms_up, 'ms')} / {v(s.jitter_ms_down, 'ms')}", v(s.rtt_ms_p95, "ms")])
        bad.append(False)
    rate = {"up": load.bits_per_second_up, "down": load.bits_per_second_down}
    reached = ", ".join(f"{'↑' if d == 'up' else '↓'} {v(bps / 1e6, 'Mbit/s')}" for d, bps in rate.items() if bps)
    note = lang.pick("Last: iperf3 {ver} (TCP, 4 Ströme, unmarkiert: Best Effort) zum Server {server}{reached}. "
                     "MOS: schlechtester Anruf / Median; Verlust über alle Anrufe; Jitter: schlechtester Anruf; "
                     "↑ Standort → Gegenstelle, ↓ zurück.",
                     "Load: iperf3 {ver} (TCP, 4 streams, unmarked: best effort) to server {server}{reached}. "
                     "MOS: worst call / median; loss over all calls; jitter: worst call; ↑ site → far end, ↓ back.",
                     ver=load.iperf3_version or "?", server=load.server, reached=f", {reached}" if reached else "")
    headers = [lang.pick("Phase", "Phase"), lang.pick("Zeit", "Time"), lang.pick("Anrufe", "Calls"),
               lang.pick("MOS min / Median", "MOS min / median"), lang.pick("Verlust ↑ / ↓", "Loss ↑ / ↓"),
               lang.pick("Jitter ↑ / ↓", "Jitter ↑ / ↓"), lang.pick("Umlaufzeit p95", "RTT p95")]
    return Table("phases", lang.pick("Anrufe allein und unter Last", "Calls alone and under load"), headers, body,
                 note, bad)


def _dscp(value: int | None) -> str | None:
    return None if value is None else dscp_name(value)


def _devices(results: RunResults, lang: Language) -> Table | None:
    devices = snmp_details.devices(results.details)
    if not devices:
        return None
    body = []
    for d in devices:
        poe = ""
        if d.poe and d.poe.budget_w is not None:
            poe = lang.pick("{c} von {b} genutzt", "{c} of {b} used", c=lang.value(d.poe.consumption_w, "W"),
                            b=lang.value(d.poe.budget_w, "W"))
        ups = ""
        if d.ups and d.ups.runtime_min is not None:
            ups = lang.pick("{r} Laufzeit", "{r} runtime", r=lang.value(d.ups.runtime_min, "min"))
        state = lang.pick("erreichbar", "reachable") if d.reachable else localize(
            d.error or lang.pick("nicht erreichbar", "unreachable"), lang)
        body.append([d.name, d.role, d.sys_descr or "–", state,
                     lang.value(d.voice_vlan, "") if d.voice_vlan is not None else "–", poe or ups or "–"])
    headers = [lang.pick("Gerät", "Device"), lang.pick("Rolle", "Role"), lang.pick("Beschreibung (sysDescr)",
               "Description (sysDescr)"), lang.pick("SNMP", "SNMP"), lang.pick("Voice-VLAN", "Voice VLAN"),
               lang.pick("PoE / USV", "PoE / UPS")]
    return Table("devices", lang.pick("Geräte im Einzelnen", "Devices one by one"), headers, body,
                 bad=[not d.reachable for d in devices])


def _streams(results: RunResults, lang: Language) -> Table | None:
    capture = capture_details.of(results.details)
    streams = capture.streams if capture else []
    if not streams:
        return None
    shown = streams[:MAX_ROWS]
    body = [[f"{s.src}:{s.sport} → {s.dst}:{s.dport}", s.ssrc, s.codec or "–", lang.number(s.packets),
             lang.value(s.lost_pct, "%"), lang.value(s.max_jitter_ms, "ms"), s.dscp_name or "–",
             "–" if s.vlan is None else f"{s.vlan} / {s.pcp if s.pcp is not None else '–'}",
             lang.value(s.mos, "")] for s in shown]
    headers = [lang.pick("Strom", "Stream"), "SSRC", "Codec", lang.pick("Pakete", "Packets"),
               lang.pick("Verlust", "Loss"), lang.pick("Jitter (max.)", "Jitter (max)"), "DSCP",
               lang.pick("VLAN / PCP", "VLAN / PCP"), "MOS"]
    note = lang.pick("Die ersten {m} von {n} Strömen.", "The first {m} of {n} streams.", m=MAX_ROWS,
                     n=len(streams)) if len(streams) > MAX_ROWS else ""
    return Table("streams", lang.pick("Sprachströme im Mitschnitt", "Voice streams in the capture"), headers, body,
                 note)
