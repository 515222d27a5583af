"""`readiness pilot`: find the runs, judge each again from its folder, summarise the phase
(analysis/pilot_summary.py) and write it as Markdown, HTML (with the plots of plots/pilot.py: the pass
rates over time beside the criteria, the spread of MOS, jitter and loss per day beside the days) and
JSON, with a console summary."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Sequence

from rich.console import Console
from rich.table import Table as RichTable

from .. import results as results_mod
from .. import store
from ..analysis.pilot_summary import Pilot, summarise
from ..config import profile as profile_mod
from ..errors import ConfigError, ReadinessError
from .derived import emit, figures, page_css
from .findings import metric_title
from .language import Language
from .plots import Plot
from .plots import pilot as pilot_plots
from .protocol import report_language
from .reasons import localize

_VERDICT = {"pass": ("Pilotphase bestanden", "pilot phase passed"), "fail": ("Pilotphase nicht bestanden",
            "pilot phase failed"), "incomplete": ("Pilotphase unvollständig", "pilot phase incomplete")}


def find_runs(paths: list[Path]) -> tuple[list[Path], list[str]]:
    """Run folders among `paths` (a run folder itself, or a pilot folder holding run folders)."""
    runs, notes = [], []
    for p in paths:
        if (p / store.EVENTS).exists():
            runs.append(p)
            continue
        found = sorted(d for d in p.iterdir() if d.is_dir() and (d / store.EVENTS).exists()) if p.is_dir() else []
        skipped = [d.name for d in p.iterdir() if d.is_dir() and d not in found] if p.is_dir() else []
        if skipped:
            notes.append(f"{p}: {len(skipped)} folder(s) that are not runs were skipped ({', '.join(skipped[:3])})")
        runs += found
    return runs, notes


def _rule(run: results_mod.RunResults) -> tuple[float, int]:
    """The pilot rule of the profile as the run kept it (inputs/), else the shipped one of that name."""
    for ref in (str(run.run_dir / "inputs" / Path(run.profile_file).name), run.profile):
        try:
            p = profile_mod.load(ref)
        except ConfigError:
            continue
        return p.pilot_min_pass_rate, p.pilot_max_consecutive_failures
    return 99.0, 2


def _rows(p: Pilot, lang: Language) -> tuple[list[str], list[list[str]]]:
    headers = [lang.pick("Kriterium", "Criterion"), lang.pick("Fenster", "Windows"), lang.pick("nicht bestanden", "failed"),
               lang.pick("Erfolgsquote", "Pass rate"), lang.pick("Schlechtestes Fenster", "Worst window")]
    rows = []
    for c in p.criteria:
        worst = c.worst or {}
        rows.append([metric_title(c.metric, c.select, lang) or c.id, str(c.windows), str(c.failed_windows),
                     "–" if c.pass_rate is None else f"{lang.number(c.pass_rate, 1)}\u00a0%",
                     f"{lang.when(worst.get('started'))}: {lang.value(worst.get('value'), c.unit)}" if worst else "–"])
    return headers, rows


def _intro(p: Pilot, lang: Language) -> str:
    complete = sum(1 for w in p.windows if w.complete)
    return lang.pick(
        "{n} Testfenster von {a} bis {b} ({c} vollständig); Verfügbarkeit {v} (gefordert mindestens {r} %), höchstens "
        "{k} Fehlfenster in Folge (erlaubt {m}).",
        "{n} test windows from {a} to {b} ({c} complete); availability {v} (required at least {r} %), at most {k} "
        "failed windows in a row (allowed {m}).",
        n=len(p.windows), a=lang.when(p.windows[0].started), b=lang.when(p.windows[-1].started), c=complete,
        v="–" if p.availability_pct is None else f"{lang.number(p.availability_pct, 1)}\u00a0%",
        r=lang.number(p.min_pass_rate), k=p.max_consecutive_failures, m=p.allowed_consecutive_failures)


def _day_headers(lang: Language) -> list[str]:
    return [lang.pick("Tag", "Day"), lang.pick("Fenster", "Windows"), lang.pick("verfügbar", "available"),
            lang.pick("unvollständig", "incomplete"), "MOS min", "MOS median"]


def markdown(p: Pilot, lang: Language) -> str:
    headers, rows = _rows(p, lang)
    out = [f"# {lang.pick(*_VERDICT[p.verdict])}: {p.site}", "", _intro(p, lang), ""]
    out += [f"> {localize(n, lang)}" for n in p.notes] + ([""] if p.notes else [])
    out += ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)] + ["| " + " | ".join(r) + " |" for r in rows]
    out += ["", f"## {lang.pick('Je Tag', 'Per day')}", "",
            "| " + " | ".join(_day_headers(lang)) + " |", "|---|---|---|---|---|---|"]
    out += [f"| {lang.date(d.date)} | {d.windows} | {d.available} | {d.incomplete} | {lang.number(d.mos_min, 2)} | "
            f"{lang.number(d.mos_median, 2)} |" for d in p.days]
    return "\n".join(out) + "\n"


def html(p: Pilot, lang: Language, plots: Sequence[Plot] = ()) -> str:
    """The page; `plots` (plots/pilot.py) go by section: the trend after the criteria, the rest after the days."""
    headers, rows = _rows(p, lang)
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    day_head = "".join(f"<th>{escape(h)}</th>" for h in _day_headers(lang))
    body = "".join("<tr>" + "".join(f"<td>{escape(x)}</td>" for x in r) + "</tr>" for r in rows)
    notes = "".join(f"<p class='note'>{escape(localize(n, lang))}</p>" for n in p.notes)
    days = "".join(f"<tr><td>{escape(lang.date(d.date))}</td><td>{d.windows}</td><td>{d.available}</td><td>{d.incomplete}</td>"
                   f"<td>{escape(lang.number(d.mos_min, 2))}</td><td>{escape(lang.number(d.mos_median, 2))}</td></tr>"
                   for d in p.days)
    title = f"{lang.pick(*_VERDICT[p.verdict])}: {p.site}"
    trend = figures([x for x in plots if x.section == "criteria"])
    spread = figures([x for x in plots if x.section != "criteria"])
    return (f"<!DOCTYPE html><html lang='{lang.code}'><head><meta charset='utf-8'><meta name='viewport' "
            f"content='width=device-width, initial-scale=1'><title>{escape(title)}</title>"
            f"<style>{page_css()}</style></head><body><h1 id='verdict'>{escape(title)}</h1><p>{escape(_intro(p, lang))}</p>"
            f"{notes}<h2>{escape(lang.pick('Kriterien', 'Criteria'))}</h2>"
            f"<table id='criteria'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{trend}"
            f"<h2>{escape(lang.pick('Je Tag', 'Per day'))}</h2><table id='days'><thead><tr>{day_head}</tr></thead>"
            f"<tbody>{days}</tbody></table>{spread}</body></html>\n")


def print_console(p: Pilot, out: Console) -> None:
    lang = Language("en")
    headers, rows = _rows(p, lang)
    t = RichTable(title=f"pilot: {p.site} - profile {p.profile}")
    for h in headers:
        t.add_column(h)
    for r in rows:
        t.add_row(*r)
    out.print(t)
    for n in p.notes:
        out.print(f"[yellow]{n}[/]", highlight=False)
    out.print(f"{lang.pick(*_VERDICT[p.verdict]).upper()}: {_intro(p, lang)}", highlight=False)


def write(paths: list[Path], formats: list[str], lang_code: str | None, out_dir: Path | None, json_out: str | None,
          quiet: bool) -> int:
    run_dirs, notes = find_runs(paths)
    runs = []
    for d in run_dirs:
        try:
            runs.append(results_mod.load(d))
        except store.RunFolderError as e:
            notes.append(f"{d}: skipped: {e}")
    if not runs:
        raise ReadinessError("no runs to summarise: give a pilot folder holding run folders, or run folders")
    pilot = summarise(runs, {r.profile: _rule(r) for r in runs})
    pilot.notes = notes + pilot.notes
    lang = Language(lang_code or report_language(runs[-1]))
    out_dir = out_dir or (paths[0] if len(paths) == 1 and not (paths[0] / store.EVENTS).exists() else Path.cwd())
    texts = {"md": lambda: markdown(pilot, lang), "html": lambda: html(pilot, lang, pilot_plots.plots(pilot, runs, lang)),
             "json": lambda: json.dumps(pilot.to_json(), ensure_ascii=False, indent=2) + "\n"}
    emit("pilot", out_dir, texts, formats, json_out, quiet, lambda out: print_console(pilot, out))
    return {"pass": 0, "fail": 1}.get(pilot.verdict, 2)
