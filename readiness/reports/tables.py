"""The per-probe detail tables of the protocol: one row per call (both directions), per SNMP device,
per captured RTP stream. Read from the run's details through readiness.details, formatted in the
report's language; the criteria table says what passed, these say what each part measured."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..details import calls as calls_details
from ..details import capture as capture_details
from ..details import drill as drill_details
from ..details import phases as phase_details
from ..details import snmp as snmp_details
from ..dscp import name as dscp_name
from ..results import RunResults
from .language import Language
from .path_rows import path_rows
from .reasons import CAUSES, localize

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
    for probe, build in (("path", _path), ("calls", _phases), ("calls", _calls), *(("drill", b) for b in _DRILL),
                         ("snmp", _devices), ("capture", _streams)):
        table = build(results, lang)
        if table:
            out.setdefault(probe, []).append(table)
    return out


def drill_tables(results: RunResults, lang: Language) -> list[Table]:
    """The failover drill's tables (the console shows them too)."""
    return [table for build in _DRILL if (table := build(results, lang))]


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
        body.append([names[name], *_phase_cells(s, lang)])
        bad.append(False)
    rate = {"up": load.bits_per_second_up, "down": load.bits_per_second_down}
    reached = ", ".join(f"{'↑' if d == 'up' else '↓'} {v(bps / 1e6, 'Mbit/s')}" for d, bps in rate.items() if bps)
    note = lang.pick("Last: iperf3 {ver} (TCP, 4 Ströme, unmarkiert: Best Effort) zum Server {server}{reached}. "
                     "MOS: schlechtester Anruf / Median; Verlust über alle Anrufe; Jitter: schlechtester Anruf; "
                     "↑ Standort → Gegenstelle, ↓ zurück.",
                     "Load: iperf3 {ver} (TCP, 4 streams, unmarked: best effort) to server {server}{reached}. "
                     "MOS: worst call / median; loss over all calls; jitter: worst call; ↑ site → far end, ↓ back.",
                     ver=load.iperf3_version or "?", server=load.server, reached=f", {reached}" if reached else "")
    return Table("phases", lang.pick("Anrufe allein und unter Last", "Calls alone and under load"),
                 _phase_headers(lang), body, note, bad)


def _phase_headers(lang: Language) -> list[str]:
    return [lang.pick("Phase", "Phase"), lang.pick("Zeit", "Time"), lang.pick("Anrufe", "Calls"),
            lang.pick("MOS min / Median", "MOS min / median"), lang.pick("Verlust ↑ / ↓", "Loss ↑ / ↓"),
            lang.pick("Jitter ↑ / ↓", "Jitter ↑ / ↓"), lang.pick("Umlaufzeit p95", "RTT p95")]


def _phase_cells(s: phase_details.PhaseSummary, lang: Language) -> list[str]:
    v = lang.value
    return [lang.span(s.start, s.end), str(s.calls), f"{v(s.mos_min, '')} / {v(s.mos_median, '')}",
            f"{v(s.loss_pct_up, '%')} / {v(s.loss_pct_down, '%')}",
            f"{v(s.jitter_ms_up, 'ms')} / {v(s.jitter_ms_down, 'ms')}", v(s.rtt_ms_p95, "ms")]


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
    if any(s.rtcp and s.rtcp.reports for s in shown):     # the far end's own view beside ours (RFC 3550 6.4)
        headers.insert(6, lang.pick("Empfänger laut RTCP: Verlust / Jitter (max.)",
                                    "Receiver per RTCP: loss / jitter (max)"))
        for row, s in zip(body, shown):
            r = s.rtcp
            row.insert(6, "–" if not (r and r.reports) else
                       f"{lang.value(r.fraction_lost_pct_max, '%')} / {lang.value(r.jitter_ms_max, 'ms')}")
    note = lang.pick("Die ersten {m} von {n} Strömen.", "The first {m} of {n} streams.", m=MAX_ROWS,
                     n=len(streams)) if len(streams) > MAX_ROWS else ""
    return Table("streams", lang.pick("Sprachströme im Mitschnitt", "Voice streams in the capture"), headers, body,
                 note)


# --- the failover drill ------------------------------------------------------------------------------

_DIRECTION = {"up": ("↑", "↑"), "down": ("↓", "↓"), "signalling": ("Signalisierung", "signalling")}
MAX_CALL_NUMBERS = 12    # a drop reason lists this many call numbers, then "+n more"


def gap_text(ms: float | None, lang: Language) -> str:
    """A media gap or a recovery time: '480 ms', '2,04 s'."""
    if ms is None:
        return "–"
    return lang.value(round(ms), "ms") if ms < 1000 else lang.value(round(ms / 1000, 2), "s")


def seconds_text(s: float | None, lang: Language) -> str:
    """A setting in seconds as written: '0,5 s', '2 s', '0,25 s' (not '0,50 s')."""
    if s is None:
        return "–"
    digits = next((d for d in range(4) if abs(round(s, d) - s) < 1e-9), 3)
    return f"{lang.number(s, digits)}\u00a0s"


def since_text(t: float, start: float | None, lang: Language) -> str:
    """A moment of the drill as its clock time and its offset from the drill's start: '14:05:07 (+7,3 s)'."""
    return lang.time(t) + (f" (+{lang.number(t - start, 1)}\u00a0s)" if start is not None else "")


def cause_text(cause: str, lang: Language) -> str:
    """Why a test call failed or a target was left: 'timeout', '503', 'back to the primary' in words."""
    if cause.isdigit():
        return f"SIP {cause}"
    if lang.code == "de" and cause in CAUSES:
        return CAUSES[cause]
    return localize(cause, lang) if cause else "–"


def _drill_outages(results: RunResults, lang: Language) -> Table | None:
    v = drill_details.drill(results.details)
    if v is None or not v.outages:
        return None
    body, bad = [], []
    for o in v.outages:
        signalling = o.direction == "signalling"
        affected = (lang.pick("1 Testanruf", "1 test call") if o.calls_affected == 1 else lang.pick(
            "{n} Testanrufe", "{n} test calls", n=lang.number(o.calls_affected))) if signalling \
            else lang.number(o.calls_affected)
        recovery = gap_text(o.recovery_ms, lang) if o.recovery_ms is not None else \
            lang.pick("nicht bis Testende", "not by the end")
        never = not signalling and o.calls_not_back == o.calls_affected      # nothing came back: no end
        until = lang.pick("nicht zurück", "never back") if never else lang.time(o.end)
        body.append([str(o.outage), f"{lang.time(o.start)} – {until}",
                     lang.pick(*_DIRECTION.get(o.direction, (o.direction, o.direction))),
                     gap_text(o.gap_ms, lang), gap_text(o.gap_ms_median, lang), affected,
                     "–" if signalling else lang.number(o.calls_not_back), recovery, o.mark or "–"])
        bad.append(o.calls_not_back > 0 or o.recovery_ms is None)
    # short headers: the table is wide, and a squeezed column breaks its header mid-word
    headers = ["#", lang.pick("Beginn – Ende", "Start – end"), lang.pick("Richtung", "Direction"),
               lang.pick("Längste", "Longest"), lang.pick("Median", "Median"), lang.pick("Gespräche", "Calls"),
               lang.pick("nicht zurück", "not back"), lang.pick("Neue Anrufe wieder nach", "New calls again after"),
               lang.pick("Markierung", "Mark")]
    every = v.settings.get("new_calls_every_s")
    note = lang.pick(
        "#: die Nummer des Ausfalls im Diagramm. Unterbrechung der Sprache: vom letzten Sprachpaket davor bis zum "
        "ersten danach, je Gespräch und Richtung (↑ Standort → Gegenstelle, ↓ zurück); längste und Median über die "
        "betroffenen Gespräche, die zurückkamen. Signalisierung: nur neue "
        "Testanrufe scheiterten, die Sprachdaten der gehaltenen Gespräche liefen weiter. Neue Anrufe wieder nach: vom "
        "Beginn bis zur Annahme des ersten danach begonnenen Testanrufs, der funktionierte{res}.",
        "#: the outage's number in the plot. Voice gap: from the last voice packet before to the first after, per "
        "call and direction (↑ site → far end, ↓ back); longest and median over the calls affected that came back. "
        "Signalling: only new test calls failed, the held "
        "calls' media went on. New calls again after: from the start to the answer of the first test call begun "
        "since then that worked{res}.",
        res=lang.pick(" (auf {e} genau: so oft wurde ein Testanruf begonnen)", " (to within {e}: a test call was "
                      "begun that often)", e=seconds_text(every, lang)) if every else "")
    return Table("drill-outages", lang.pick("Unterbrechungen", "Outages"), headers, body, note, bad)


def _drill_phases(results: RunResults, lang: Language) -> Table | None:
    v = drill_details.drill(results.details)
    if v is None or not v.phases:
        return None
    names = {"before": lang.pick("vorher", "before"), "during": lang.pick("während", "during"),
             "after": lang.pick("nachher", "after")}
    body = [[names[k], *_phase_cells(v.phases[k], lang)] for k in drill_details.DRILL_PHASES if k in v.phases]
    note = lang.pick("Dieselben gehaltenen Gespräche vor der ersten Unterbrechung, von ihr bis zum Ende der letzten, "
                     "und danach. MOS (ITU-T G.107): schlechtestes Gespräch / Median; Verlust über alle Gespräche; "
                     "Jitter (RFC 3550): schlechtestes Gespräch. ↓ zählt, was die Gegenstelle zurückschickte: Kam "
                     "bei ihr nichts an, schickte sie nichts, und ↓ zeigt dafür keinen Verlust.",
                     "The same held calls before the first outage, from it to the end of the last, and after. MOS "
                     "(ITU-T G.107): worst call / median; loss over all calls; jitter (RFC 3550): worst call. ↓ counts "
                     "what the far end sent back: while nothing reached it, it sent nothing, and ↓ shows no loss for that.")
    return Table("drill-phases", lang.pick("Sprachqualität vorher, während und nachher",
                                           "Voice quality before, during and after"), _phase_headers(lang), body, note)


def _drill_dropped(results: RunResults, lang: Language) -> Table | None:
    v = drill_details.drill(results.details)
    if v is None or not v.dropped:
        return None
    by_why: dict[str, list[int]] = {}
    for d in v.dropped:
        by_why.setdefault(str(d.get("why", "")), []).append(int(d.get("call", 0)))
    body = []
    for why, calls in by_why.items():
        shown = ", ".join(str(c) for c in sorted(calls)[:MAX_CALL_NUMBERS])
        more = len(calls) - MAX_CALL_NUMBERS
        body.append([localize(why, lang), lang.number(len(calls)),
                     shown + (lang.pick(" und {n} weitere", " and {n} more", n=more) if more > 0 else "")])
    headers = [lang.pick("Grund", "Reason"), lang.pick("Gespräche", "Calls"), lang.pick("Nr.", "No.")]
    return Table("drill-dropped", lang.pick("Abgebrochene Gespräche", "Dropped calls"), headers, body,
                 bad=[True] * len(body))


def _drill_events(results: RunResults, lang: Language) -> Table | None:
    """The technician's marks and the test calls' SIP target changes, in the order they happened."""
    v = drill_details.drill(results.details)
    if v is None or not (v.marks or v.failovers):
        return None
    events = [(m.t, lang.pick("Markierung", "Mark"), f"„{m.text}“" if lang.code == "de" else f"“{m.text}”",
               lang.pick("Eingabe am Messrechner", "typed at the test host") if m.source == "enter"
               else lang.pick("readiness drill --mark", "readiness drill --mark")) for m in v.marks]
    events += [(f.t, lang.pick("SIP-Ziel gewechselt", "SIP target changed"), f"{f.before} → {f.after}",
                cause_text(f.reason, lang)) for f in v.failovers]
    body = [[since_text(t, v.started, lang), kind, what, why] for t, kind, what, why in sorted(events)]
    headers = [lang.pick("Zeit", "Time"), lang.pick("Ereignis", "Event"), lang.pick("Was", "What"),
               lang.pick("Grund / Quelle", "Reason / source")]
    note = "" if not v.failovers else lang.pick(
        "Die Testanrufe wählen ihr SIP-Ziel wie ein Telefon: das nächste nach einer Zeitüberschreitung, 503 oder 408 "
        "(RFC 3263, RFC 3261), später wieder das erste.", "The test calls choose their SIP target as a phone does: the "
        "next one after a timeout, 503 or 408 (RFC 3263, RFC 3261), later the first again.")
    return Table("drill-events", lang.pick("Markierungen und Umschaltungen", "Marks and target failovers"), headers,
                 body, note)


def _drill_failures(results: RunResults, lang: Language) -> Table | None:
    v = drill_details.drill(results.details)
    failures = v.test_calls(worked=False) if v else []
    if v is None or not failures:
        return None
    body = [[str(f.get("call", "")), since_text(float(f.get("t", 0.0)), v.started, lang), str(f.get("target", "")),
             cause_text(str(f.get("cause", "")), lang)] for f in failures[:MAX_ROWS]]
    failed = int(v.new_calls.get("failed") or len(failures))
    note = lang.pick("Die ersten {m} von {n}.", "The first {m} of {n}.", m=len(body), n=failed) \
        if failed > len(body) else ""
    headers = [lang.pick("Testanruf", "Test call"), lang.pick("Begonnen", "Begun"), lang.pick("Ziel", "Target"),
               lang.pick("Ursache", "Cause")]
    return Table("drill-failures", lang.pick("Gescheiterte Testanrufe", "Test calls that failed"), headers, body,
                 note, [True] * len(body))


def _drill_sources(results: RunResults, lang: Language) -> Table | None:
    v = drill_details.drill(results.details)
    if v is None or not v.sources:
        return None
    body = [[str(s.get("source", "")), lang.time(s.get("first")), lang.time(s.get("last")),
             lang.number(s.get("calls", 0))] for s in v.sources]
    headers = [lang.pick("Adresse (von der Gegenstelle gesehen)", "Address (as the far end saw it)"),
               lang.pick("Erster Testanruf", "First test call"), lang.pick("Letzter Testanruf", "Last test call"),
               lang.pick("Testanrufe", "Test calls")]
    note = lang.pick("Zwei Adressen: Der Verkehr ging nach der Umschaltung über das NAT einer anderen Leitung hinaus.",
                     "Two addresses: after the failover the traffic went out through another line's NAT.") \
        if len(v.sources) > 1 else ""
    return Table("drill-sources", lang.pick("Absenderadressen", "Source addresses"), headers, body, note)


_DRILL = (_drill_outages, _drill_phases, _drill_dropped, _drill_events, _drill_failures, _drill_sources)
