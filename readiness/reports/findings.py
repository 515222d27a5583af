"""What a run means for the customer, in their language: the acceptance in words, every failed or
warned criterion as a finding (Mängelliste) with a recommended measure, what could not be measured
(grouped by reason), and a few sentences for management. Every renderer (HTML, PDF, Markdown, JUnit)
takes these, so a finding reads the same everywhere."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .. import metrics as metric_catalog
from ..details import drill as drill_details
from ..results import CriterionResult, RunResults
from . import measures, reasons
from .subjects import where_text
from .language import Language
from .tables import gap_text

_OP = {"<=": ("höchstens", "at most"), "<": ("unter", "below"), ">=": ("mindestens", "at least"),
       ">": ("über", "above"), "==": ("gleich", "equal to"), "!=": ("ungleich", "not"),
       "in": ("eines von", "one of"), "not_in": ("keines von", "none of")}
_PROBE_NAME = {"calls": ("Testanrufe", "test calls"), "drill": ("Umschalttest", "a failover drill"),
               "iperf": ("iperf3-Messung", "an iperf3 test"),
               "snmp": ("SNMP-Abfrage der Netzwerkgeräte", "an SNMP audit of the network devices"),
               "capture": ("Auswertung eines Mitschnitts", "the analysis of a capture"),
               "path": ("Prüfung des Wegs zum Anbieter (SIP-ALG, NAT, DNS, TLS)", "a check of the path to the "
                        "provider (SIP ALG, NAT, DNS, TLS)")}


@dataclass(frozen=True)
class Finding:
    criterion: str                    # criterion id
    title: str                        # what was checked, in words
    outcome: str                      # fail, warn or error
    severity: str                     # must or should
    severity_text: str                # "Mangel" / "Hinweis" (en: defect / advisory)
    measured: str                     # formatted, with unit
    required: str                     # formatted requirement
    where: str                        # device, port, call, direction
    measure: str                      # the recommended measure
    source: str                       # the standard behind the threshold
    evidence: list[str] = field(default_factory=list)
    effect: str = ""                  # what it means for calls


@dataclass(frozen=True)
class Gap:
    """Criteria that could not be judged for one reason."""

    criteria: list[str]
    titles: list[str]
    reason: str


def acceptance(results: RunResults) -> str:
    """accepted / reservations (only should-criteria warned) / rejected / incomplete."""
    if results.verdict == "fail":
        return "rejected"
    if results.verdict != "pass":
        return "incomplete"
    return "reservations" if any(c.verdict == "warn" for c in results.criteria) else "accepted"


_PHASE = {"alone": (" ohne Last", " without load"), "loaded": (" unter Last", " under load"),
          "after": (" nach der Last", " after the load")}


def title(c: CriterionResult, lang: Language) -> str:
    return metric_title(c.metric, c.select, lang) or c.description or c.id


def metric_title(metric: str, select: dict[str, str], lang: Language) -> str | None:
    """What a criterion on `metric` checks, in words; None when the project has no words for it."""
    w = measures.words(metric)
    if w is None:
        return None
    phase = _PHASE.get(str(select.get("phase", "")))     # calls under load: which phase it judges
    return (w.title_de if lang.code == "de" else w.title_en) + (lang.pick(*phase) if phase else "")


def required(c: CriterionResult, lang: Language) -> str:
    """'höchstens 1 % in jedem 15-s-Fenster' / 'at most 1 % in any 15 s window'."""
    de, en = _OP.get(c.op, (c.op, c.op))
    if c.unit == "bool" and c.op == "==":
        text = lang.yes_no(bool(c.threshold))
    elif isinstance(c.threshold, (list, tuple)):
        text = f"{lang.pick(de, en)} {', '.join(lang.value(t, c.unit) for t in c.threshold)}"
    else:
        text = f"{lang.pick(de, en)} {lang.value(c.threshold, c.unit)}"
    if c.window:
        w = c.window.replace(" ", "\u00a0")
        text += lang.pick(" in jedem {w}-Fenster", " in any {w} window", w=w.replace("\u00a0", "-"))
    return text


# The standards a profile's English `source` text cites; a German report names these alone.
_STANDARD = re.compile(
    r"ITU-T [A-Z]\.\d+(?: Annex [A-Z])?(?: \(\d\d/\d{4}\))?(?: class \d)?|RFC \d+(?: \((?:Telephony|Signaling) "
    r"service class[^)]*\))?|IEEE 802\.[\w/.]+(?: priority \d)?|ANSI/TIA-\d+(?: LLDP-MED)?|IF-MIB|"
    r"Cisco Enterprise QoS Solution Reference Network Design \(SRND\)|Cisco QoS Baseline(?: C\w+ \d+| CS\d)?|"
    r"Microsoft Teams (?:network requirements|QoS)")
_BASIS_DE = {"site plan": "Standortplanung", "customer requirement": "Kundenanforderung (je Standort festzulegen)",
             "acceptance practice": "Abnahmepraxis", "SD-WAN contract": "SD-WAN-Vertrag (Vertragswert)",
             "failover drill": "Umschalttest"}
_SERVICE_CLASS_DE = {"Telephony": "Dienstklasse Telefonie", "Signaling": "Dienstklasse Signalisierung"}


def source(text: str, lang: Language) -> str:
    """The basis of a threshold: as written in English; in German, the standards it names."""
    if lang.code != "de" or not text:
        return text
    lead = text.partition(":")[0].strip()
    if lead in _BASIS_DE:
        return _BASIS_DE[lead]
    names = list(dict.fromkeys(m[0] for m in _STANDARD.finditer(text)))
    for en, de in _SERVICE_CLASS_DE.items():
        names = [n.replace(f"{en} service class", de).replace("end to end", "Ende zu Ende") for n in names]
    names = [n.replace("Solution Reference Network Design (SRND)", "SRND") for n in names]
    return "; ".join(names) or text


def measure(c: CriterionResult, lang: Language, voice_vlan: object = None) -> str:
    """The recommended measure for a criterion that did not pass, with its placeholders filled."""
    w = measures.words(c.metric)
    if w is None:
        return ""
    text = w.measure_de if lang.code == "de" else w.measure_en
    vlan = str(voice_vlan) if voice_vlan not in (None, "") else lang.pick("(Voice-VLAN der Planung)",
                                                                        "(the planned voice VLAN)")
    return text.format(where=where_text(c.subject, lang) or lang.pick("betroffene Geräte", "the devices concerned"),
                       vlan=vlan, threshold=lang.value(c.threshold, c.unit))


def effect(c: CriterionResult, lang: Language) -> str:
    w = measures.words(c.metric)
    return (w.effect_de if lang.code == "de" else w.effect_en) if w else ""


def findings(results: RunResults, lang: Language, voice_vlan: object = None) -> list[Finding]:
    """Failed, warned and erroneous criteria; must-defects first, each group in profile order."""
    out = []
    for c in results.criteria:
        if c.verdict not in ("fail", "warn", "error"):
            continue
        where = where_text(c.subject, lang)
        if c.subjects > 1 and c.failing > 1:
            where += lang.pick(" (schlechtester von {n} betroffenen)", " (worst of {n} concerned)", n=c.failing)
        out.append(Finding(c.id, title(c, lang), c.verdict, c.severity,
                           lang.pick("Mangel", "defect") if c.severity == "must" else lang.pick("Hinweis", "advisory"),
                           lang.value(c.measured, c.unit) if c.verdict != "error" else lang.outcome("error"),
                           required(c, lang), where, measure(c, lang, voice_vlan), source(c.source, lang), list(c.evidence),
                           effect(c, lang)))
    return sorted(out, key=lambda f: f.severity != "must")


def gaps(results: RunResults, lang: Language) -> list[Gap]:
    """Not-measured criteria, one entry per reason (a probe's silence on many metrics is one gap)."""
    by_reason: dict[str, list[CriterionResult]] = {}
    for c in results.criteria:
        if c.verdict == "not_measured":
            by_reason.setdefault(reasons.general(c.explanation or "not measured"), []).append(c)
    return [Gap([c.id for c in cs], [title(c, lang) for c in cs], reasons.localize(reason, lang))
            for reason, cs in by_reason.items()]


def management_summary(results: RunResults, lang: Language, profile: str = "") -> list[str]:
    """Three to five sentences: what was tested, the outcome, what it means for calls, what is open."""
    n = results.counts
    probes = [lang.pick(*_PROBE_NAME[p]) for p in _PROBE_NAME if p in results.probes]
    na = n["not_applicable"]            # nothing of the kind here (no load, no SIP): not checked, not counted
    tested = lang.pick("Am {day} wurden am Standort {site} {k} Kriterien{prof} geprüft{how}{na}.",
                       "On {day}, {k} criteria{prof} were checked at {site}{how}{na}.",
                       day=lang.date(results.started), site=results.site,
                       k=len(results.criteria) - na,
                       na=lang.pick("; {k} entfallen, weil es hier nichts dafür zu messen gab",
                                    "; {k} did not apply, as there was nothing of the kind to measure", k=na) if na else "",
                       prof=lang.pick(" des Profils „{p}“", " of the profile “{p}”", p=profile) if profile else "",
                       how=lang.pick(" ({p})", " ({p})", p=_listing(probes, lang)) if probes else "")
    out = [tested] + _generator_sentence(results, lang) + _drill_sentence(results, lang)
    must = [c for c in results.criteria if c.verdict == "fail"]
    should = [c for c in results.criteria if c.verdict == "warn"]
    kind = acceptance(results)
    if kind == "accepted":
        out.append(lang.pick("Alle {k} Kriterien sind erfüllt: Das Netz ist aus Sicht dieser Messung für die "
                             "Sprachtelefonie bereit.", "All {k} criteria are met: as far as this test shows, the "
                             "network is ready for voice.", k=n["pass"]))
    elif kind == "reservations":
        out.append(lang.pick("Alle Muss-Kriterien sind erfüllt; {w} Soll-Kriterien nicht ({t}). Das Netz kann unter "
                             "Vorbehalt abgenommen werden.", "Every must-criterion is met; {w} should-criteria are "
                             "not ({t}). The network can be accepted with reservations.",
                             w=len(should), t=_titles(should, lang)))
    else:
        if must:
            out.append(lang.pick("{f} Muss-Kriterien sind nicht erfüllt: {t}.", "{f} must-criteria are not met: {t}.",
                                 f=len(must), t=_titles(must, lang)))
        effects = list(dict.fromkeys(e for e in (effect(c, lang) for c in must or should) if e))
        if effects:
            out.append(lang.pick("Für die Telefonie bedeutet das: {e}.", "For calls this means: {e}.",
                                 e=_listing(effects[:3], lang)))
        if should and must:
            out.append(lang.pick("Dazu kommen {w} Hinweise zu Soll-Kriterien.", "{w} should-criteria are not met "
                                 "either.", w=len(should)))
    missing = n["not_measured"] + n["error"]
    if missing:
        out.append(lang.pick("{m} Kriterien konnten nicht gemessen werden; sie sind vor der Abnahme nachzuholen.",
                             "{m} criteria could not be measured; they must be measured before sign-off.", m=missing))
    if not results.complete:
        out.append(lang.pick("Das Protokoll ist unvollständig. Grund: {r}.", "This protocol is incomplete. Reason: {r}.",
                             r=reasons.localize(results.interrupted_reason, lang).rstrip(".")
                             or lang.pick("keine Angabe", "none given")))
    return out[:5]


def _generator_sentence(results: RunResults, lang: Language) -> list[str]:
    """Why a run whose test generator missed its own bound is incomplete rather than failed."""
    missed = [c for c in results.criteria if c.verdict == "fail" and c.metric in metric_catalog.GENERATOR]
    if not missed:
        return []
    return [lang.pick("Das Messgerät selbst hielt seinen Takt nicht ein ({t}): Es erzeugte Verkehr, wie ihn kein "
                      "Telefon sendet, darum werden die Werte des Netzes ihm nicht angelastet und die Messung ist zu "
                      "wiederholen.", "The test device itself did not keep its timing ({t}): it sent traffic no "
                      "phone sends, so the network's values are not held against it and the test must be repeated.",
                      t=_titles(missed, lang))]


def _drill_sentence(results: RunResults, lang: Language) -> list[str]:
    """A failover drill in one sentence: did the calls survive, the longest break, new calls again after."""
    v = drill_details.drill(results.details)
    if v is None or not v.calls_held:
        return []
    media = [o for o in v.outages if o.direction != "signalling"]    # signalling alone: the paragraph tells
    gaps = [o.gap_ms for o in media if o.gap_ms is not None]
    recovered = all(o.recovery_ms is not None for o in media)
    return [lang.pick("Beim Umschalttest überstanden {s} von {h} gehaltenen Gesprächen den Ausfall{g}{r}.",
                      "In the failover drill {s} of {h} held calls survived the failure{g}{r}.",
                      s=lang.number(v.calls_survived), h=lang.number(v.calls_held),
                      g=lang.pick("; die Sprache war höchstens {t} unterbrochen", "; the voice was gone for at most {t}",
                                  t=gap_text(max(gaps), lang)) if gaps else "",
                      r="" if not media or not v.new_calls.get("placed") else
                      lang.pick(", neue Anrufe gingen nach {t} wieder", ", new calls worked again after {t}",
                                t=gap_text(v.recovery_ms, lang)) if recovered else
                      lang.pick(", neue Anrufe kamen bis zum Ende nicht wieder zustande",
                                ", new calls did not work again before the end"))]


def _titles(criteria: list[CriterionResult], lang: Language, most: int = 3) -> str:
    names = list(dict.fromkeys(title(c, lang) for c in criteria))
    if len(names) <= most:
        return _listing(names, lang)
    return ", ".join(names[:most]) + lang.pick(" sowie {n} weitere", " and {n} more", n=len(names) - most)


def _listing(items: list[str], lang: Language) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + lang.pick(" und ", " and ") + items[-1]
