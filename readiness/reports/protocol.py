"""The acceptance protocol (Abnahmeprotokoll) of one stored run, assembled once for every rendering:
cover, management summary, findings, what was not measured, criteria table, per-probe sections with
plots, conditions and the evidence's SHA-256. The HTML and the PDF render this record; nothing here
measures or judges again."""

from __future__ import annotations

import base64
import errno
import hashlib
import mimetypes
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .. import metrics as metric_catalog
from .. import store
from ..details import calls as calls_details
from ..details import drill as drill_details
from ..details import iperf as iperf_details
from ..details import phases as phase_details
from ..results import RunResults
from . import findings as findings_mod
from . import plots as plots_mod
from . import reasons
from .language import Language, detect
from .sections import drill as drill_section
from .subjects import where_text
from .tables import Table, seconds_text, tables

PROBE_ORDER = ("path", "calls", "drill", "iperf", "snmp", "capture")
_PROBE_TITLE = {"calls": ("Testanrufe", "Test calls"), "drill": ("Umschalttest", "Failover drill"),
                "iperf": ("iperf3: Sprachpakete und Last", "iperf3: voice packets and load"),
                "snmp": ("Netzwerk-Infrastruktur (SNMP)", "Network infrastructure (SNMP)"),
                "capture": ("Mitschnitt: Markierungen", "Capture: markings"),
                "path": ("Weg zum Anbieter: SIP-ALG, NAT, DNS, TLS", "Path to the provider: SIP ALG, NAT, DNS, TLS")}
_SECRET_KEY = re.compile(r"community|password|secret|token|key", re.I)


@dataclass(frozen=True)
class Row:
    """A line of the criteria table."""

    id: str
    title: str
    required: str
    measured: str
    where: str
    outcome: str
    outcome_text: str
    severity_text: str
    source: str
    evidence: list[str]


@dataclass(frozen=True)
class Section:
    probe: str
    title: str
    rows: list[Row]
    plots: list[Any]                  # plots.Plot
    status: str                       # the probe's own status text, when it did not end ok
    tables: list[Table] = field(default_factory=list)
    paragraphs: list[str] = field(default_factory=list)   # what the section found, in sentences, before its plots


@dataclass
class Options:
    """What the person rendering adds: --customer, --technician, --logo, --lang."""

    lang: str | None = None
    customer: str | None = None
    technician: str | None = None
    logo: Path | None = None


@dataclass
class Protocol:
    lang: Language
    results: RunResults
    customer: str
    site: str
    address: str
    technician: str
    profile: str
    profile_version: str
    window: str
    acceptance: str                   # accepted, reservations, rejected, incomplete
    acceptance_text: str
    summary: list[str]
    findings: list[findings_mod.Finding]
    gaps: list[findings_mod.Gap]
    rows: list[Row]
    sections: list[Section]
    conditions: list[tuple[str, str]]
    inputs: list[tuple[str, str]]     # file name, text (secrets masked)
    events_sha256: str
    interrupted: str = ""             # why the run was cut short, in the report's language
    logo: str = ""                    # data: URI
    missing: list[str] = field(default_factory=list)   # what the folder lacks, said on the cover


def report_language(results: RunResults) -> str:
    """The language a run's documents speak unless told: the site file's, else German for a German site."""
    site_doc = _site_doc(results)
    return detect(site_doc.get("language"), results.site, site_doc.get("address"), site_doc.get("customer"))


def build(results: RunResults, options: Options | None = None) -> Protocol:
    options = options or Options()
    missing: list[str] = []
    site_doc = _site_doc(results)
    code = options.lang or report_language(results)
    lang = Language(code)
    profile_doc = _profile_doc(results)
    profile = (profile_doc.get(f"title_{code}") if code != "en" else None) or profile_doc.get("title") or results.profile
    vlan = site_doc.get("voice_vlan")
    acceptance = findings_mod.acceptance(results)
    rows = [_row(c, lang) for c in results.criteria]
    try:
        plots = plots_mod.plots(results, lang)
    except Exception as e:  # a plot must never cost the customer the whole report
        plots = []
        missing.append(lang.pick("Diagramme konnten nicht erstellt werden ({e})", "plots could not be drawn ({e})",
                                 e=f"{type(e).__name__}: {e}"))
    missing += _missing(results, lang)
    return Protocol(
        lang=lang, results=results,
        customer=options.customer or site_doc.get("customer") or _customer_of(results.site),
        site=results.site, address=site_doc.get("address") or "",
        technician=options.technician or site_doc.get("technician") or "",
        profile=profile, profile_version=str(profile_doc.get("version") or ""),
        window=lang.span(results.started, results.finished),
        acceptance=acceptance, acceptance_text=lang.acceptance(acceptance),
        summary=findings_mod.management_summary(results, lang, profile),
        findings=findings_mod.findings(results, lang, vlan), gaps=findings_mod.gaps(results, lang), rows=rows,
        sections=_sections(results, rows, plots, lang), conditions=_conditions(results, site_doc, lang),
        inputs=_inputs(results), events_sha256=_sha256(results.run_dir / store.EVENTS),
        interrupted="" if results.complete else reasons.localize(results.interrupted_reason, lang).rstrip("."),
        logo=_logo(options.logo, lang, missing), missing=missing)


def _row(c, lang: Language) -> Row:
    return Row(c.id, findings_mod.title(c, lang), findings_mod.required(c, lang), lang.value(c.measured, c.unit),
               where_text(c.subject, lang), c.verdict, lang.outcome(c.verdict),
               lang.pick("muss", "must") if c.severity == "must" else lang.pick("soll", "should"),
               findings_mod.source(c.source, lang), list(c.evidence))


def _sections(results: RunResults, rows: list[Row], plots: list[Any], lang: Language) -> list[Section]:
    detail = tables(results, lang)
    by_probe: dict[str, list[Row]] = {}
    for c, row in zip(results.criteria, rows):
        metric = metric_catalog.METRICS.get(c.metric)
        by_probe.setdefault(metric.probe if metric else "other", []).append(row)
    out = []
    for probe in [*PROBE_ORDER, *sorted(set(by_probe) - set(PROBE_ORDER))]:
        mine = [p for p in plots if p.section == probe]
        if probe not in by_probe and not mine:
            continue
        status = results.probes.get(probe)
        text = reasons.localize(status.message, lang) if status and status.status not in ("ok", "") else ""
        de, en = _PROBE_TITLE.get(probe, (probe, probe))
        words = drill_section.paragraphs(results, lang) if probe == "drill" else []
        out.append(Section(probe, lang.pick(de, en), by_probe.get(probe, []), mine, text, detail.get(probe, []), words))
    return out


def _conditions(results: RunResults, site_doc: dict[str, Any], lang: Language) -> list[tuple[str, str]]:
    out = [(lang.pick("Werkzeug", "Tool"), f"readiness {results.tool_version}"),
           (lang.pick("Rechner", "Host"), results.host),
           (lang.pick("Befehl", "Command"), f"readiness {results.command}"),
           (lang.pick("Lauf", "Run"), results.run_id),
           (lang.pick("Beginn", "Started"), lang.when(results.started, seconds=True)),
           (lang.pick("Ende", "Finished"), lang.when(results.finished, seconds=True))]
    load = calls_details.summary(results.details)
    if load:                          # what the calls probe really did, not what the site file asked
        out.append((lang.pick("Testanrufe", "Test calls"), lang.pick(
            "{n} Anrufe an {t}, Codec {c}, {p} ms je Paket, bis zu {k} gleichzeitig, {d}",
            "{n} calls to {t}, codec {c}, {p} ms per packet, up to {k} at once, {d}",
            n=load.calls_attempted, t=load.target, c=load.codec.upper(), p=load.ptime_ms, k=load.peak_concurrent,
            d=lang.duration((load.ended - load.started) if load.started and load.ended else None))))
        if load.far_end_agents:           # as the far end named itself in its answers (RFC 3261 Server)
            out.append((lang.pick("Gegenstelle", "Far end"), ", ".join(load.far_end_agents)))
        found = phase_details.phases(results.details)
        if found:
            bg = found[1]
            rate = bg.bits_per_second_up or bg.bits_per_second_down
            out.append((lang.pick("Last während der Anrufe", "Load during the calls"), lang.pick(
                "iperf3 {v} an {s}, TCP Best Effort, Richtung {d}{r}", "iperf3 {v} to {s}, TCP best effort, "
                "direction {d}{r}", v=bg.iperf3_version or "?", s=bg.server,
                d={"up": "↑", "down": "↓", "both": "↑↓"}.get(bg.direction, bg.direction),
                r=f", {lang.value(rate / 1e6, 'Mbit/s')}" if rate else "") +
                (f" ({reasons.localize(bg.error, lang)})" if bg.error else "")))
    elif isinstance(site_doc.get("calls"), dict) and site_doc["calls"]:
        calls = site_doc["calls"]
        settings = [f"{lang.pick(de, en)} {calls[key]}" for key, de, en in (
            ("count", "Anrufe", "calls"), ("codec", "Codec", "codec"), ("ptime", "ptime", "ptime"),
            ("duration", "Dauer", "duration"), ("concurrent", "gleichzeitig", "concurrent")) if key in calls]
        if settings:
            out.append((lang.pick("Testanrufe (geplant)", "Test calls (planned)"), ", ".join(settings)))
    drill = drill_details.drill(results.details)
    if drill is not None:
        out.append(_drill_condition(drill, lang))
    measured = iperf_details.account(results.details)
    if measured is not None and measured.iperf3_version:
        out.append((lang.pick("iperf3-Messung", "iperf3 test"), lang.pick(
            "Server {s}, iperf3 {v} (Client){sv}", "server {s}, iperf3 {v} (client){sv}", s=measured.server,
            v=measured.iperf3_version, sv=f", {measured.server_version} (Server)" if measured.server_version else "")))
    for name, p in results.probes.items():
        out.append((lang.pick(*_PROBE_TITLE.get(name, (name, name))), _probe_status(p.status, lang) +
                    (f": {reasons.localize(p.message, lang)}" if p.message else "")))
    if results.damaged_lines:
        out.append((lang.pick("Beschädigte Zeilen im Protokoll", "Damaged log lines"), str(results.damaged_lines)))
    return out


def _drill_condition(v: drill_details.DrillView, lang: Language) -> tuple[str, str]:
    """What the drill really did: its calls, how long, its test calls, when it failed over, to whom."""
    s = v.settings
    every, hold = s.get("new_calls_every_s"), s.get("new_call_hold_s")
    tests = lang.pick("ein Testanruf alle {e} (je {h} gehalten)", "a test call every {e} (each held {h})",
                      e=seconds_text(every, lang), h=seconds_text(hold, lang)) if every else lang.pick("keine Testanrufe",
                                                                                               "no test calls")
    return (lang.pick("Durchführung des Umschalttests", "Failover drill as run"), lang.pick(
        "{n} gehaltene Gespräche über {d}, Codec {c}, {p} ms je Paket; {t}; nächstes SIP-Ziel nach {f} ohne Antwort; "
        "Ziele in dieser Reihenfolge: {g}", "{n} calls held for {d}, codec {c}, {p} ms per packet; {t}; next SIP "
        "target after {f} without an answer; targets in this order: {g}", n=lang.number(s.get("calls")),
        d=lang.duration(s.get("duration_s")), c=str(s.get("codec", "?")).upper(), p=lang.number(s.get("ptime_ms")),
        t=tests, f=seconds_text(s.get("failover_timeout_s"), lang), g=", ".join(v.targets) or "–"))


def _probe_status(status: str, lang: Language) -> str:
    words = {"ok": ("abgeschlossen", "finished"), "error": ("fehlgeschlagen", "failed"),
             "cancelled": ("abgebrochen", "cancelled"), "running": ("unterbrochen", "cut short")}
    de, en = words.get(status, (status, status))
    return lang.pick(de, en)


def _missing(results: RunResults, lang: Language) -> list[str]:
    out = []
    absent = [a.path for a in results.artefacts if not (results.run_dir / a.path).exists()]
    if absent:
        out.append(lang.pick("{n} Nachweisdatei(en) fehlen im Ordner: {files}", "{n} evidence file(s) missing from "
                             "the folder: {files}", n=len(absent), files=", ".join(absent[:5])))
    if results.log_schema != store.EVENTS_SCHEMA:
        out.append(lang.pick("Das Messprotokoll hat das Format {s}; diese readiness-Version kennt {k}. Gezeigt ist, "
                             "was sie davon lesen kann", "The log has format {s}; this version of readiness knows {k}. "
                             "Shown is what it can read of it", s=results.log_schema, k=store.EVENTS_SCHEMA))
    if results.damaged_lines:
        out.append(lang.pick("{n} Zeile(n) des Protokolls waren beschädigt und wurden übergangen",
                             "{n} line(s) of the log were damaged and skipped", n=results.damaged_lines))
    return out


def _site_doc(results: RunResults) -> dict[str, Any]:
    doc = _input_yaml(results, results.site_file)
    return doc if isinstance(doc, dict) else {}


def _profile_doc(results: RunResults) -> dict[str, Any]:
    """The profile as kept in inputs/, with the cover's fields it inherits filled from its parents there."""
    doc = _input_yaml(results, results.profile_file)
    doc = dict(doc) if isinstance(doc, dict) else {}
    parent, seen = doc.get("extends"), set()
    while isinstance(parent, str) and parent not in seen:
        seen.add(parent)
        up = _input_yaml(results, parent if parent.endswith(".yaml") else f"{parent}.yaml")
        if not isinstance(up, dict):
            break
        for key in ("title", "title_de", "version"):
            doc.setdefault(key, up.get(key))
            doc[key] = doc[key] or up.get(key)
        parent = up.get("extends")
    return doc


def _input_yaml(results: RunResults, name: str) -> Any:
    if not name:
        return None
    path = results.run_dir / "inputs" / Path(name).name
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        return None


def _inputs(results: RunResults) -> list[tuple[str, str]]:
    """The site file and profiles as judged, any literal secret masked."""
    folder = results.run_dir / "inputs"
    out = []
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        out.append((path.name, _masked(text)))
    return out


def _masked(text: str) -> str:
    lines = []
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        v = value.strip().strip("'\"")
        if sep and _SECRET_KEY.search(key) and v and not v.startswith(("env:", "file:", "{")) and v != "|":
            line = f"{key}: ********"
        lines.append(line)
    return "\n".join(lines)


def _customer_of(site: str) -> str:
    return site.split(",")[0].strip()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    except OSError:
        return ""
    return h.hexdigest()


def _logo(path: Path | None, lang: Language, missing: list[str]) -> str:
    if path is None:
        return ""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        why = {errno.ENOENT: ("Datei nicht vorhanden", "no such file"),
               errno.EACCES: ("keine Leseberechtigung", "permission denied"),
               errno.EISDIR: ("ein Ordner, keine Datei", "a folder, not a file")}.get(e.errno)
        missing.append(lang.pick("Logo {p} nicht lesbar ({e})", "logo {p} unreadable ({e})", p=path,
                                 e=lang.pick(*why) if why else e.strerror or e))
        return ""
    kind = mimetypes.guess_type(str(path))[0] or "image/png"
    return f"data:{kind};base64,{base64.b64encode(data).decode('ascii')}"
