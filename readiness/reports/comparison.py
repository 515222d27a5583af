"""A before/after comparison (analysis/run_comparison.py) as a document: Markdown, one self-contained
HTML page with the two runs' plots over each other (plots/overlay.py), and the console. One set of rows,
built here, feeds all three."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any, Sequence

from rich.console import Console
from rich.table import Table as RichTable

from ..analysis.run_comparison import Comparison, CriterionChange, RunRef, SnmpChange
from .derived import figures, page_css
from .findings import metric_title
from .language import Language
from .plots import Plot
from .reasons import localize

_DIRECTION = {"better": ("besser", "better"), "worse": ("schlechter", "worse"), "same": ("gleich", "same"),
              "changed": ("geändert", "changed"), "new": ("neu", "new"), "gone": ("entfallen", "gone")}
_SNMP_WHAT = {"port": ("Port", "port"), "duplex": ("Duplex", "duplex"), "vlan": ("VLAN", "VLAN"),
              "voice_vlan_ports": ("Ports ohne Sprach-VLAN", "ports without the voice VLAN"),
              "error_ports": ("Ports mit Fehlern", "ports with errors"), "poe": ("PoE", "PoE"),
              "ups": ("USV", "UPS"), "reachable": ("erreichbar", "reachable"), "device": ("Gerät", "device")}


@dataclass
class Rows:
    title: str
    intro: str
    criteria_headers: list[str]
    criteria: list[list[str]]
    criteria_bad: list[bool]
    snmp_headers: list[str]
    snmp: list[list[str]]
    capture: list[list[str]]
    notes: list[str]


def _value(lang: Language, v: Any, unit: str) -> str:
    return "–" if v is None else lang.value(v, unit)


def _verdict(lang: Language, v: str | None) -> str:
    return "–" if v is None else lang.outcome(v)


def _change(lang: Language, c: CriterionChange) -> str:
    words = lang.pick(*_DIRECTION[c.direction])
    if c.change is None or c.direction == "same":
        return words
    sign = "+" if c.change > 0 else "−"
    return f"{words} ({sign}{lang.value(abs(c.change), c.unit)})"


def _snmp_row(lang: Language, s: SnmpChange) -> list[str]:
    def show(v: Any) -> str:
        if isinstance(v, list):
            return ", ".join(v) or "–"
        if isinstance(v, bool):
            return lang.yes_no(v)
        return lang.number(v) if isinstance(v, (int, float)) else str(v)
    return [s.device, lang.pick(*_SNMP_WHAT.get(s.what, (s.what, s.what))), s.subject, show(s.before), show(s.after)]


def _acceptance(lang: Language, ref: RunRef) -> str:
    kind = {"fail": "rejected", "pass": "reservations" if ref.warned else "accepted"}.get(ref.verdict, "incomplete")
    return lang.acceptance(kind)


def _streams(lang: Language, counts: dict[str, int]) -> str:
    return ", ".join(f"{k}: {n} {lang.pick('Ströme', 'streams')}" for k, n in sorted(counts.items())) or "–"


def rows(comp: Comparison, lang: Language) -> Rows:
    b, a = comp.before, comp.after
    worse, better = comp.worse, comp.better
    intro = lang.pick("Vorher: {b} ({bv}); nachher: {a} ({av}). {w} Kriterien schlechter, {g} besser.",
                      "Before: {b} ({bv}); after: {a} ({av}). {w} criteria worse, {g} better.",
                      b=lang.when(b.started), bv=_acceptance(lang, b), a=lang.when(a.started), av=_acceptance(lang, a),
                      w=len(worse), g=len(better))
    crit = [[metric_title(c.metric, c.select, lang) or c.id, _value(lang, c.before, c.unit), _verdict(lang, c.verdict_before),
             _value(lang, c.after, c.unit), _verdict(lang, c.verdict_after), _change(lang, c)] for c in comp.criteria]
    return Rows(
        title=lang.pick("Vorher/Nachher: {s}", "Before/after: {s}", s=a.site),
        intro=intro,
        criteria_headers=[lang.pick("Kriterium", "Criterion"), lang.pick("Vorher", "Before"), "", lang.pick("Nachher", "After"),
                          "", lang.pick("Änderung", "Change")],
        criteria=crit, criteria_bad=[c in worse for c in comp.criteria],
        snmp_headers=[lang.pick("Gerät", "Device"), lang.pick("Was", "What"), lang.pick("Wo", "Where"),
                      lang.pick("Vorher", "Before"), lang.pick("Nachher", "After")],
        snmp=[_snmp_row(lang, s) for s in comp.snmp_changes],
        capture=[[{"dscp": "DSCP", "vlan": "VLAN", "pcp": "802.1p"}[c["what"]], _streams(lang, c["before"]),
                  _streams(lang, c["after"])] for c in comp.capture_changes],
        notes=[localize(n, lang) for n in comp.notes])


def markdown(comp: Comparison, lang: Language) -> str:
    r = rows(comp, lang)
    out = [f"# {r.title}", "", r.intro, ""]
    out += [f"> {n}" for n in r.notes] + ([""] if r.notes else [])
    out += [f"## {lang.pick('Kriterien', 'Criteria')}", "", "| " + " | ".join(h or "·" for h in r.criteria_headers) + " |",
            "|" + "---|" * len(r.criteria_headers)]
    out += ["| " + " | ".join(("**" + x + "**") if bad and i == 5 else x for i, x in enumerate(row)) + " |"
            for row, bad in zip(r.criteria, r.criteria_bad)]
    out += ["", f"## {lang.pick('Änderungen an den Netzwerkgeräten (SNMP)', 'Changes on the network devices (SNMP)')}", ""]
    if r.snmp:
        out += ["| " + " | ".join(r.snmp_headers) + " |", "|" + "---|" * len(r.snmp_headers)]
        out += ["| " + " | ".join(row) + " |" for row in r.snmp]
    else:
        out.append(lang.pick("Keine.", "None."))
    if r.capture:
        out += ["", f"## {lang.pick('Markierungen im Mitschnitt', 'Markings in the capture')}", "",
                "| | " + lang.pick("Vorher | Nachher", "Before | After") + " |", "|---|---|---|"]
        out += ["| " + " | ".join(row) + " |" for row in r.capture]
    return "\n".join(out) + "\n"


def html(comp: Comparison, lang: Language, plots: Sequence[Plot] = ()) -> str:
    """The page; `plots` (overlay.plots of the two runs) go after the criteria."""
    r = rows(comp, lang)

    def table(headers: list[str], body: list[list[str]], bad: list[bool] | None = None) -> str:
        head = "".join(f"<th>{escape(h)}</th>" for h in headers)
        worse = ' class="worse"'
        lines = "".join(f"<tr{worse if bad and bad[i] else ''}>" + "".join(f"<td>{escape(x)}</td>" for x in row)
                        + "</tr>" for i, row in enumerate(body))
        return f"<table><thead><tr>{head}</tr></thead><tbody>{lines}</tbody></table>"

    notes = "".join(f"<p class='note'>{escape(n)}</p>" for n in r.notes)
    snmp = table(r.snmp_headers, r.snmp) if r.snmp else f"<p>{escape(lang.pick('Keine.', 'None.'))}</p>"
    overlays = (f"<h2 id='plots'>{escape(lang.pick('Verläufe im Vergleich', 'The runs side by side'))}</h2>"
                f"{figures(plots)}") if plots else ""
    capture = (f"<h2 id='capture'>{escape(lang.pick('Markierungen im Mitschnitt', 'Markings in the capture'))}</h2>"
               + table(["", lang.pick("Vorher", "Before"), lang.pick("Nachher", "After")], r.capture)) if r.capture else ""
    return (f"<!DOCTYPE html><html lang='{lang.code}'><head><meta charset='utf-8'><meta name='viewport' "
            f"content='width=device-width, initial-scale=1'><title>{escape(r.title)}</title><style>{page_css()}</style>"
            f"</head><body><h1>{escape(r.title)}</h1><p id='intro'>{escape(r.intro)}</p>{notes}"
            f"<h2 id='criteria'>{escape(lang.pick('Kriterien', 'Criteria'))}</h2>"
            f"{table(r.criteria_headers, r.criteria, r.criteria_bad)}{overlays}"
            f"<h2 id='snmp'>{escape(lang.pick('Änderungen an den Netzwerkgeräten (SNMP)', 'Changes on the network devices (SNMP)'))}</h2>"
            f"{snmp}{capture}</body></html>\n")


def print_console(comp: Comparison, out: Console) -> None:
    r = rows(comp, Language("en"))
    for n in r.notes:
        out.print(f"[yellow]{n}[/]", highlight=False)
    t = RichTable(title=r.title)
    for h in r.criteria_headers:
        t.add_column(h)
    for row, bad in zip(r.criteria, r.criteria_bad):
        t.add_row(*row, style="red" if bad else None)
    out.print(t)
    if r.snmp:
        s = RichTable(title="Changes on the network devices (SNMP)")
        for h in r.snmp_headers:
            s.add_column(h)
        for row in r.snmp:
            s.add_row(*row)
        out.print(s)
    out.print(r.intro, highlight=False)
