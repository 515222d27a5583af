"""A run as Markdown for a ticket or a chat: verdict, management summary, findings with their measures,
what was not measured, and every criterion in one table. Same words as the HTML protocol."""

from __future__ import annotations

from ..results import RunResults
from . import reasons
from .language import Language
from .protocol import Protocol


def incomplete_reason(results: RunResults, lang: Language) -> str:
    """Why a run cannot be signed though nothing failed: cut short, or criteria not measured."""
    if not results.complete:
        return reasons.localize(results.interrupted_reason, lang) or lang.pick("Lauf vorzeitig beendet",
                                                                              "the run ended early")
    n = results.counts["not_measured"] + results.counts["error"]
    if not results.criteria:
        return lang.pick("kein Kriterium wurde bewertet", "no criterion was judged")
    return lang.pick("{n} Kriterien nicht gemessen", "{n} criteria not measured", n=n)


def _cell(text: str) -> str:
    """Table cells: a pipe or a line break would end the cell or the row."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def render(p: Protocol) -> str:
    lang, results = p.lang, p.results
    out = [f"# {lang.pick('Abnahmeprotokoll Sprachbereitschaft', 'Voice readiness acceptance protocol')}: {p.site}", "",
           f"**{lang.pick('Ergebnis', 'Result')}: {p.acceptance_text}**"
           + (f" ({incomplete_reason(results, lang)})" if p.acceptance == "incomplete" else ""), ""]
    for key, value in ((lang.pick("Kunde", "Customer"), p.customer), (lang.pick("Anschrift", "Address"), p.address),
                       (lang.pick("Profil", "Profile"), p.profile + (f" ({p.profile_version})" if p.profile_version
                                                                     else "")),
                       (lang.pick("Zeitraum", "Time"), p.window), (lang.pick("Techniker", "Technician"), p.technician),
                       (lang.pick("Lauf", "Run"), f"`{results.run_id}`")):
        if value:
            out.append(f"- {key}: {value}")
    out += ["", " ".join(p.summary), ""]
    if p.findings:
        out += [f"## {lang.pick('Mängelliste', 'Findings')}", ""]
        for i, f in enumerate(p.findings, 1):
            out.append(f"{i}. **{f.severity_text}: {f.title}**: {lang.pick('gemessen', 'measured')} {f.measured}, "
                       f"{lang.pick('gefordert', 'required')} {f.required}" + (f" ({f.where})" if f.where else ""))
            if f.measure:
                out.append(f"   {lang.pick('Maßnahme', 'Measure')}: {f.measure}")
            if f.source:
                out.append(f"   {lang.pick('Grundlage', 'Source')}: {f.source}")
        out.append("")
    if p.gaps:
        out += [f"## {lang.pick('Nicht gemessen', 'Not measured')}", ""]
        out += [f"- {', '.join(g.titles)}: {g.reason}" for g in p.gaps]
        out.append("")
    if p.rows:
        out += [f"## {lang.pick('Kriterien', 'Criteria')}", "",
                "| " + " | ".join(lang.pick(*h) for h in (("Kriterium", "Criterion"), ("Gefordert", "Required"),
                                                          ("Gemessen", "Measured"), ("Ort", "Where"),
                                                          ("Ergebnis", "Result"))) + " |",
                "|---|---|---|---|---|"]
        out += ["| " + " | ".join(_cell(x) for x in (r.title, r.required, r.measured, r.where, r.outcome_text)) + " |"
                for r in p.rows]
        out.append("")
    if p.missing:
        out += [f"## {lang.pick('Fehlende Nachweise', 'Missing evidence')}", ""] + [f"- {m}" for m in p.missing] + [""]
    return "\n".join(out)
