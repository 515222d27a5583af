"""The pilot phase drawn: the pass rate of the criteria per day (per hour in a short pilot) with the
availability the phase is signed off on, and per day the spread of MOS, jitter and packet loss over every
call and direction, against the requirement.

Everything drawn is already aggregated in the Pilot record (a bucket per day or hour, percentiles per
day), so a pilot of hundreds of runs draws as fast as one of three.
"""

from __future__ import annotations

import textwrap
from datetime import date as date_cls
from datetime import datetime, timezone
from typing import Any

import numpy as np
from babel.dates import format_date, format_datetime, get_timezone
from matplotlib import ticker
from matplotlib.container import BarContainer

from ...analysis.pilot_summary import DISTRIBUTED, Bucket, Day, Pilot, Spread
from ...metrics import METRICS
from ...results import CriterionResult, RunResults
from ..findings import metric_title
from ..language import Language
from . import Plot, common, svg

MAX_LINES = 6                         # more criteria than that would be a bundle no one can tell apart
MAX_DAY_LABELS = 14
# Okabe-Ito without its grey and black: the criteria's lines stay apart for colour-vision deficiencies.
_PALETTE = ("#D55E00", "#0072B2", "#CC79A7", "#009E73", "#E69F00", "#56B4E9")
_MARKERS = ("o", "s", "^", "D", "v", "P")
_BAR = "#C9D3DF"                      # availability: a quiet background to the criteria's lines
_INCOMPLETE_Y = -6.0                  # incomplete runs sit under the 0 % line, outside the rates
_HOURS = (1, 2, 3, 6, 12, 24)


def plots(pilot: Pilot, runs: list[RunResults], lang: Language) -> list[Plot]:
    """The trend (section "criteria") and one distribution per metric (section "days")."""
    mine = [r for r in runs if (r.site, r.profile) == (pilot.site, pilot.profile)] or runs
    ordered = sorted(mine, key=lambda r: r.started)
    # the requirement lines come from the latest complete run: the profile as the pilot ended
    ref = next((r for r in reversed(ordered) if r.complete), ordered[-1] if ordered else None)
    out = [p for p in [_trend(pilot, lang)] if p]
    for metric in DISTRIBUTED:
        plot = _per_day(pilot, ref, metric, lang)
        if plot:
            out.append(plot)
    return out


# --- the trend ---------------------------------------------------------------------------------------

def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def day_label(day: str, lang: Language) -> str:
    """'Di. 01.12.' / 'Tue 1 Dec' for an ISO date."""
    return format_date(date_cls.fromisoformat(day), "EEE dd.MM." if lang.code == "de" else "EEE d MMM",
                       locale=lang.locale)


def _lines(pilot: Pilot, buckets: list[Bucket], lang: Language) -> tuple[list[tuple[str, list[float]]], int]:
    """The criteria that failed in some window, those with the same course merged into one line, worst first;
    at most MAX_LINES lines, and how many criteria were left out."""
    failing = sorted((c for c in pilot.criteria if c.failed_windows and c.pass_rate is not None),
                     key=lambda c: (c.pass_rate, c.id))
    titles = [metric_title(c.metric, c.select, lang) or c.id for c in failing]
    # two criteria of one metric (per direction, say) share a title: their ids tell them apart
    titles = [f"{t} ({c.id})" if titles.count(t) > 1 else t for t, c in zip(titles, failing)]
    merged: dict[tuple[float, ...], list[str]] = {}
    for c, title in zip(failing, titles):
        course = tuple(b.pass_rate.get(c.id, np.nan) for b in buckets)
        # NaN never equals NaN: the key spells a missing step as -1
        merged.setdefault(tuple(-1.0 if v != v else v for v in course), []).append(title)
    groups = list(merged.items())
    shown = [(", ".join(names), [np.nan if v < 0 else v for v in key]) for key, names in groups[:MAX_LINES]]
    return shown, sum(len(names) for _, names in groups[MAX_LINES:])


def _trend(pilot: Pilot, lang: Language) -> Plot | None:
    buckets = pilot.trend
    if not buckets:
        return None
    hourly = pilot.trend_step == "hour"
    size = 3600.0 if hourly else 86400.0
    x = np.array([_epoch(b.start) + size / 2 for b in buckets])
    per = lang.pick("je Stunde", "per hour") if hourly else lang.pick("je Tag", "per day")
    title = lang.pick("Erfolgsquote der Kriterien {p}", "Pass rate of the criteria {p}", p=per)
    lines, left = _lines(pilot, buckets, lang)
    with svg.rc():
        fig = svg.figure(height=3.4 + 0.18 * len(lines))
        ax = fig.add_subplot()
        avail = np.array([100.0 * b.available / b.windows if b.windows else np.nan for b in buckets])
        ax.bar(x, np.nan_to_num(avail), width=size * 0.8, color=_BAR, linewidth=0, zorder=1,
               label=lang.pick("Verfügbarkeit (alle Muss-Kriterien bestanden)", "availability (every must-criterion "
                               "passed)"))
        ax.axhline(pilot.min_pass_rate, color=svg.LIMIT, linestyle="--", linewidth=1.0, zorder=3,
                   label=lang.pick("Anforderung an die Verfügbarkeit: mindestens {r}\u00a0%",
                                   "requirement on the availability: at least {r}\u00a0%",
                                   r=lang.number(pilot.min_pass_rate)))
        for i, (name, ys) in enumerate(lines):
            # side by side within the bucket, so lines that meet still show every marker
            dodge = (i - (len(lines) - 1) / 2) * size * 0.07
            ax.plot(x + dodge, ys, color=_PALETTE[i], marker=_MARKERS[i], markersize=5, linewidth=1.5, zorder=4,
                    label=name)
        _incomplete(ax, pilot, lang)
        ax.set_ylim(_INCOMPLETE_Y - 4, 112)
        ax.yaxis.set_major_locator(ticker.FixedLocator([0, 20, 40, 60, 80, 100]))
        ax.yaxis.set_major_formatter(svg.NumberFormatter(lang, "\u00a0%"))
        ax.set_ylabel(lang.pick("Erfolgsquote {p}", "Pass rate {p}", p=per))
        ax.set_xlim(_epoch(buckets[0].start), _epoch(buckets[-1].end))
        if hourly:
            _hour_axis(ax.xaxis, lang, _epoch(buckets[0].start), _epoch(buckets[-1].end))
            ax.set_xlabel(lang.pick("Zeit (Ortszeit, {tz})", "Time (local, {tz})", tz=lang.tz))
        else:
            # each day's availability under its date, where no line or requirement runs
            _day_ticks(ax, list(x), [b.start[:10] for b in buckets], lang, [
                lang.pick("{a} von {n} verfügbar", "{a} of {n} available", a=lang.number(b.available),
                          n=lang.number(b.windows)) if b.windows else lang.pick("kein Fenster", "no window")
                for b in buckets])
        ax.grid(axis="x", visible=False)
        _wrapped_legend(fig, ax)
        text = svg.to_svg(fig, "pilot-trend", title)
    return Plot("pilot-trend", "criteria", title, _trend_caption(pilot, lines, left, hourly, lang), text)


def _wrapped_legend(fig: Any, ax: Any) -> None:
    """The legend under the plot, long entries (merged criteria) wrapped to stay inside the figure."""
    pairs = list(zip(*ax.get_legend_handles_labels()))
    pairs.sort(key=lambda hl: not isinstance(hl[0], BarContainer))     # the availability, the headline, first
    handles, labels = [h for h, _ in pairs], [lab for _, lab in pairs]
    long = any(len(label) > 60 for label in labels)
    fig.legend(handles, [textwrap.fill(label, 110 if long else 60) for label in labels], loc="outside lower center",
               ncols=1 if long else 2, frameon=False)


def _incomplete(ax: Any, pilot: Pilot, lang: Language) -> None:
    """Incomplete runs as grey crosses at their start, under the rates: seen, but no window of the phase."""
    t = [_epoch(w.started) for w in pilot.windows if not w.complete]
    if t:
        ax.plot(t, [_INCOMPLETE_Y] * len(t), linestyle="none", marker="x", markersize=6, color=svg.GREY, zorder=4,
                clip_on=False,
                label=lang.pick("unvollständiger Lauf (nicht gewertet)", "incomplete run (not counted)"))


def _day_ticks(ax: Any, x: list[float], days: list[str], lang: Language, under: list[str] | None = None) -> None:
    """A tick per day (every few days in a long pilot), `under` each date a second line."""
    every = max(1, int(np.ceil(len(days) / MAX_DAY_LABELS)))
    labels = [day_label(d, lang) + (f"\n{under[i]}" if under else "") for i, d in enumerate(days)]
    ax.set_xticks(x[::every], labels[::every])


def _hour_axis(axis: Any, lang: Language, start: float, end: float) -> None:
    """Clock times on whole hours, the date under the first tick of each day (a short pilot may still
    cross midnight)."""
    step = 3600.0 * next((h for h in _HOURS if (end - start) / (3600.0 * h) <= 8), _HOURS[-1])
    axis.set_major_locator(ticker.MultipleLocator(step))
    zone = get_timezone(lang.tz)

    def local_day(t: float) -> str:
        return format_datetime(datetime.fromtimestamp(t, timezone.utc), "EEE dd.MM." if lang.code == "de" else
                               "EEE d MMM", tzinfo=zone, locale=lang.locale)

    def fmt(t: float, pos: int | None) -> str:
        clock = lang.time(t)[:5]
        new_day = t - step < start or local_day(t) != local_day(t - step)
        return f"{clock}\n{local_day(t)}" if new_day else clock
    axis.set_major_formatter(ticker.FuncFormatter(fmt))


def _trend_caption(pilot: Pilot, lines: list[tuple[str, list[float]]], left: int, hourly: bool,
                   lang: Language) -> str:
    per = lang.pick("Stunde", "hour") if hourly else lang.pick("Tag", "day")
    text = lang.pick("Balken: Verfügbarkeit je {p}, der Anteil der vollständigen Testfenster, in denen jedes "
                     "Muss-Kriterium bestand", "Bars: availability per {p}, the share of the complete test windows in "
                     "which every must-criterion passed", p=per)
    if lines:
        text += lang.pick("; Linien: Erfolgsquote jedes Kriteriums, das in mindestens einem Fenster nicht bestand "
                          "(Kriterien mit gleichem Verlauf teilen sich eine Linie)",
                          "; lines: pass rate of each criterion that failed in at least one window (criteria with "
                          "the same course share a line)")
    else:
        text += lang.pick("; kein Kriterium hat in einem Fenster versagt", "; no criterion failed in any window")
    if left:
        text += lang.pick("; {n} weitere Kriterien mit Fehlfenstern stehen in der Tabelle",
                          "; {n} more criteria with failed windows are in the table", n=lang.number(left))
    if any(not w.complete for w in pilot.windows):
        text += lang.pick("; ×: unvollständige Läufe, nicht als bestanden gezählt",
                          "; ×: incomplete runs, never counted as passed")
    return text + "."


# --- per-day distributions ---------------------------------------------------------------------------

_TITLE = {"call.mos": ("Sprachqualität (MOS) je Tag", "Voice quality (MOS) per day"),
          "rtp.jitter_ms": ("Jitter je Tag", "Jitter per day"),
          "rtp.loss_pct": ("Paketverlust je Tag", "Packet loss per day")}
_KEY = {"call.mos": "pilot-mos", "rtp.jitter_ms": "pilot-jitter", "rtp.loss_pct": "pilot-loss"}


def _per_day(pilot: Pilot, ref: RunResults | None, metric: str, lang: Language) -> Plot | None:
    days = [d for d in pilot.days if metric in d.distributions]
    if not days:
        return None
    directions = [d for d in ("up", "down") if any(d in day.distributions[metric] for day in days)] or ["all"]
    c = common.criterion(ref, metric) if ref else None
    unit = METRICS[metric].unit if metric in METRICS else ""
    title = lang.pick(*_TITLE[metric])
    width = 0.32 if len(directions) > 1 else 0.45
    breached = 0
    with svg.rc():
        fig = svg.figure(height=3.0)
        ax = fig.add_subplot()
        for k, direction in enumerate(directions):
            colour = svg.colour("" if direction == "all" else direction)
            offset = (k - (len(directions) - 1) / 2) * (width + 0.06)
            label = svg.direction_label("" if direction == "all" else direction, lang).split(" (")[0]
            for i, day in enumerate(pilot.days):
                s = day.distributions.get(metric, {}).get(direction)
                if s is not None:
                    breached += _box(ax, i + offset, width, s, colour, c, label)
                    label = None                 # one legend entry per direction
        if c is not None:
            ax.axhline(float(c.threshold), color=svg.LIMIT, linestyle="--", linewidth=1.0, zorder=1,
                       label=common.limit_label(c, lang))
        _limits(ax, days, metric, c)
        ax.set_xlim(-0.6, len(pilot.days) - 0.4)
        _day_ticks(ax, list(range(len(pilot.days))), [d.date for d in pilot.days], lang)
        ax.grid(axis="x", visible=False)
        ax.set_ylabel(common.axis_label(metric, unit, lang))
        svg.number_axis(ax.yaxis, lang)
        svg.legend_below(fig, ax, ncols=4)
        text = svg.to_svg(fig, _KEY[metric], title)
    return Plot(_KEY[metric], "days", title, _day_caption(days, metric, directions, c, breached, lang), text)


def _box(ax: Any, x: float, width: float, s: Spread, colour: str, c: CriterionResult | None,
         label: str | None) -> int:
    """One day and direction: a thin line from the lowest to the highest value, a box from the 5th to the
    95th percentile, a bar at the median, and the extreme in red when it misses the requirement."""
    ax.vlines(x, s.min, s.max, color=colour, linewidth=1.0, zorder=3)
    height = max(s.p95 - s.p5, 0.0)
    ax.bar(x, height, bottom=s.p5, width=width, color=colour, alpha=0.3, edgecolor=colour, linewidth=1.0, zorder=3,
           label=label)
    ax.hlines(s.median, x - width / 2, x + width / 2, color=colour, linewidth=2.4, zorder=4)
    if c is None:
        return 0
    worst = s.max if svg.worse_is_higher(c.op) else s.min
    if svg.breaches(worst, c.op, float(c.threshold)):
        ax.plot([x], [worst], linestyle="none", marker="o", markersize=4.5, color=svg.BREACH, zorder=5)
        return 1
    return 0


def _limits(ax: Any, days: list[Day], metric: str, c: CriterionResult | None) -> None:
    spreads = [s for d in days for s in d.distributions[metric].values()]
    lo, hi = min(s.min for s in spreads), max(s.max for s in spreads)
    if c is not None:
        lo, hi = min(lo, float(c.threshold)), max(hi, float(c.threshold))
    if metric == "call.mos":               # the MOS scale: 1 to 5, shown around what was measured
        ax.set_ylim(max(1.0, lo - 0.3), min(5.0, max(hi + 0.2, 4.5)))
    else:
        ax.set_ylim(0, hi * 1.15 if hi > 0 else 1.0)


def _day_caption(days: list[Day], metric: str, directions: list[str], c: CriterionResult | None, breached: int,
                 lang: Language) -> str:
    counts = [d.distributions[metric]["all"].n for d in days]
    n = lang.number(counts[0]) if min(counts) == max(counts) else \
        f"{lang.number(min(counts))}–{lang.number(max(counts))}"
    what = lang.pick("je Richtung", "per direction") if directions != ["all"] else lang.pick(
        "alle Richtungen zusammen", "all directions pooled")
    text = lang.pick("Je Tag, {w}, über alle Anrufe ({n} Werte je Tag): Kasten vom 5. bis zum 95. Perzentil, Strich "
                     "beim Median, dünne Linie vom kleinsten bis zum größten Wert",
                     "Per day, {w}, over every call ({n} values a day): box from the 5th to the 95th percentile, bar "
                     "at the median, thin line from the lowest to the highest value", w=what, n=n)
    if c is None:
        return text + "."
    text += "; " + common.limit_label(c, lang)
    if breached:
        text += lang.pick("; rot: der schlechteste Wert des Tages verfehlt sie",
                          "; red: the day's worst value misses it")
    return text + "."
