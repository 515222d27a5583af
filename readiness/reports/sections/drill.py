"""The failover drill's section: a few sentences on what the customer asks first (did the calls
survive, how long was the voice gone, when did new calls work, which line carried them after), for
the protocol in its language and for the console in English; the console then prints the drill's
tables (one row per outage, dropped calls, target failovers, addresses seen)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table as RichTable

from ...details import drill as drill_details
from ...details.drill import DrillView
from ...results import RunResults
from ..language import Language
from ..reasons import localize
from ..tables import cause_text, drill_tables, gap_text

# German reasons start with an article or pronoun; inside a sentence that word goes lower-case again.
_LEADS = ("Die", "Der", "Das", "Kein", "Keine", "Es", "Ein", "Eine", "Unser")


def console_section(results: RunResults):
    return print_drill if drill_details.drill(results.details) is not None else None


def print_drill(results: RunResults, out: Console) -> None:
    lang = Language("en")
    for text in paragraphs(results, lang):
        out.print(text, highlight=False, soft_wrap=True)
    for t in drill_tables(results, lang):
        table = RichTable(title=t.title)
        for h in t.headers:
            table.add_column(h, overflow="fold")
        for row, bad in zip(t.rows, t.bad or [False] * len(t.rows)):
            table.add_row(*row, style="red" if bad else None)
        out.print(table)


def _calls(n: int, lang: Language) -> str:
    return lang.pick("1 Gespräch", "1 call") if n == 1 else lang.pick("{n} Gespräche", "{n} calls", n=lang.number(n))


def _inline(text: str, lang: Language) -> str:
    first = text.split(" ", 1)[0]
    return text[0].lower() + text[1:] if lang.code == "de" and first in _LEADS else text


def paragraphs(results: RunResults, lang: Language) -> list[str]:
    """Two short paragraphs: the calls and the outages; then the way the traffic took and the targets."""
    v = drill_details.drill(results.details)
    if v is None:
        return []
    cut = bool(results.details[drill_details.DRILL].get("interrupted")) or not results.complete
    return [p for p in (" ".join(_held(v, cut, lang) + _gaps(v, lang) + _new_calls(v, lang)),
                        " ".join(_route(v, lang))) if p]


def _held(v: DrillView, cut: bool, lang: Language) -> list[str]:
    out = []
    if cut:
        out.append(lang.pick("Der Test wurde vorzeitig abgebrochen; gezeigt ist, was bis dahin gemessen wurde.",
                             "The drill was cut short; shown is what was measured until then."))
    if not v.calls_held:
        out.append(lang.pick("Kein Gespräch kam zustande, das gehalten werden konnte.",
                             "No call was set up that could be held."))
        return out
    if not v.calls_dropped:
        out.append(lang.pick("{c} wurden während des Tests gehalten; alle überstanden ihn.",
                             "{c} were held through the drill; every one survived it.", c=_calls(v.calls_held, lang))
                   if v.calls_held > 1 else lang.pick("1 Gespräch wurde während des Tests gehalten und überstand ihn.",
                                                      "1 call was held through the drill and survived it."))
    else:
        why: dict[str, int] = {}
        for d in v.dropped:
            text = _inline(localize(str(d.get("why", "")), lang), lang)
            why[text] = why.get(text, 0) + 1
        reasons = "; ".join(text if n == v.calls_dropped else f"{lang.number(n)}× {text}" for text, n in why.items())
        out.append(lang.pick("{c} wurden während des Tests gehalten: {s} überstanden ihn, {d} brachen ab ({r}).",
                             "{c} were held through the drill: {s} survived it, {d} were dropped ({r}).",
                             c=_calls(v.calls_held, lang), s=lang.number(v.calls_survived),
                             d=lang.number(v.calls_dropped), r=reasons))
    if v.calls_not_set_up:
        out.append(lang.pick("{c} kamen gar nicht erst zustande.", "{c} were never set up.",
                             c=_calls(v.calls_not_set_up, lang)))
    return out


def _gaps(v: DrillView, lang: Language) -> list[str]:
    media = [o for o in v.outages if o.direction != "signalling"]
    if not v.calls_held:
        return []
    if not media:
        return [lang.pick("Die Sprachdaten der gehaltenen Gespräche liefen ohne Unterbrechung durch.",
                          "The held calls' media ran without a break.")]
    count = len({o.outage for o in media})
    longest = max(media, key=lambda o: o.gap_ms or 0.0)
    out = [lang.pick("Die Sprache war {k} unterbrochen{g}.", "The voice was interrupted {k}{g}.",
                     k=lang.pick("einmal", "once") if count == 1 else lang.pick("{n}-mal", "{n} times", n=count),
                     g=lang.pick("; am längsten {t} (Richtung {d})", "; the longest gap was {t} (direction {d})",
                                 t=gap_text(longest.gap_ms, lang), d="↑" if longest.direction == "up" else "↓")
                     if longest.gap_ms is not None else "")]
    not_back = {c["call"] for o in media for c in o.calls if c.get("gap_ms") is None}
    if not_back:
        out.append(lang.pick("In {c} kam sie bis zum Ende nicht zurück.", "In {c} it did not come back.",
                             c=lang.pick("1 Gespräch", "1 call") if len(not_back) == 1 else
                             lang.pick("{n} Gesprächen", "{n} calls", n=lang.number(len(not_back)))))
    return out


def _new_calls(v: DrillView, lang: Language) -> list[str]:
    n = v.new_calls
    if not n.get("placed"):
        return [lang.pick("Neue Anrufe wurden nicht geprüft (kein Testanruf).",
                          "New calls were not tested (no test calls).")]
    out = []
    if v.outages:
        lost = next((o for o in v.outages if o.recovery_ms is None), None)
        if lost is not None and lost.direction == "signalling":
            out.append(lang.pick("Nach dem Ausfall der Signalisierung um {t} kam bis zum Ende des Tests kein neuer "
                                 "Anruf mehr beim ersten Versuch durch.", "After signalling failed at {t}, no new call "
                                 "got through at its first try before the drill ended.", t=lang.time(lost.start)))
        elif lost is not None:
            out.append(lang.pick("Nach der Unterbrechung um {t} funktionierte bis zum Ende des Tests kein neuer Anruf "
                                 "mehr.", "After the outage at {t}, no new call worked before the drill ended.",
                                 t=lang.time(lost.start)))
        else:
            out.append(lang.pick("Neue Anrufe funktionierten spätestens {t} nach Beginn einer Unterbrechung wieder.",
                                 "New calls worked again at most {t} after an outage began.",
                                 t=gap_text(v.recovery_ms, lang)))
    fo = int(n.get("failed_over") or 0)
    out.append(lang.pick("{w} von {p} Testanrufen funktionierten{f}.", "{w} of {p} test calls worked{f}.",
                         w=lang.number(n.get("worked", 0)), p=lang.number(n["placed"]),
                         f=lang.pick(", {k} davon erst beim nächsten SIP-Ziel", ", {k} of them only at the next SIP "
                                     "target", k=lang.number(fo)) if fo else ""))
    return out


def _route(v: DrillView, lang: Language) -> list[str]:
    out = [(text[:1].upper() + text[1:]).rstrip(".") + "." for text in (localize(n, lang) for n in v.notes)]
    if len(v.sources) == 1 and not any("new address" in n for n in v.notes):
        out.append(lang.pick("Die Gegenstelle sah alle Testanrufe von derselben Adresse ({a}): Der Verkehr blieb auf "
                             "derselben Leitung.", "The far end saw every test call come from the same address ({a}): "
                             "the traffic stayed on the same line.", a=v.sources[0].get("source", "")))
    if v.failovers:
        first = v.failovers[0]
        out.append(lang.pick("Die Testanrufe wechselten {k} das SIP-Ziel, zuerst um {t} von {a} zu {b} ({r}).",
                             "The test calls changed their SIP target {k}, first at {t} from {a} to {b} ({r}).",
                             k=lang.pick("einmal", "once") if len(v.failovers) == 1 else
                             lang.pick("{n}-mal", "{n} times", n=len(v.failovers)), t=lang.time(first.t),
                             a=first.before, b=first.after, r=_inline(cause_text(first.reason, lang), lang)))
    elif len(v.targets) > 1:
        out.append(lang.pick("Die Testanrufe blieben die ganze Zeit beim ersten SIP-Ziel.",
                             "The test calls stayed with the first SIP target throughout."))
    return out
