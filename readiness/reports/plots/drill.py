"""The failover drill as a timeline: seconds since the drill began, one row per held call with its
media gaps as bars (↑ in the upper half of the row, ↓ in the lower), the outages shaded, the
technician's marks as labelled lines, and below the new test calls: while they were answered (per
address the far end saw them come from), the ones that failed, and how long until new calls worked
again after each outage.

The drill keeps each call's gap length per outage, not its own start, so a bar starts where its
outage started (the calls' gaps begin within the outage's first moments). More than MAX_ROWS held
calls: the worst hit are drawn (never back first, then by their longest gap), and the caption says so.
"""

from __future__ import annotations

from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.transforms import blended_transform_factory

from ...details import drill as drill_details
from ...details.drill import DrillView
from ...results import RunResults
from ..language import Language
from ..tables import gap_text
from . import Plot, svg

MAX_ROWS = 60
MIN_BAR = 0.004           # of the drill's length: a 100 ms gap in a 10-minute drill stays visible
SOURCES = (svg.OK, "#56B4E9", "#CC79A7", "#F0E442")   # one colour per address the far end saw
MARK_CHARS = 28


def plots(results: RunResults, lang: Language) -> list[Plot]:
    v = drill_details.drill(results.details)
    if v is None or v.started is None or not (v.calls_held or v.new_calls.get("placed")):
        return []
    return [_timeline(v, lang)]


def _gaps(v: DrillView) -> dict[int, list[tuple[str, float, float | None]]]:
    """call -> (direction, outage start, gap ms or None: never back) of every gap it had."""
    out: dict[int, list[tuple[str, float, float | None]]] = {}
    for o in v.outages:
        if o.direction in ("up", "down"):
            for c in o.calls:
                out.setdefault(int(c["call"]), []).append((o.direction, o.start, c.get("gap_ms")))
    return out


def _rows(v: DrillView, gaps: dict[int, list[tuple[str, float, float | None]]]) -> list[int]:
    """The held calls drawn: all of them, or the MAX_ROWS worst hit, in call order."""
    dropped = {int(d.get("call", 0)) for d in v.dropped}
    everyone = sorted(set(range(1, v.calls_held + v.calls_not_set_up + 1)) | set(gaps) | dropped)
    if len(everyone) <= MAX_ROWS:
        return everyone

    def harm(call: int) -> tuple[bool, bool, float]:
        mine = gaps.get(call, [])
        return (any(g is None for _, _, g in mine), call in dropped, max((g or 0.0 for _, _, g in mine), default=0.0))

    return sorted(sorted(everyone, key=harm, reverse=True)[:MAX_ROWS])


def _timeline(v: DrillView, lang: Language) -> Plot:
    t0 = float(v.started or 0.0)
    span = max(float(v.ended or t0) - t0, 1.0)
    gaps = _gaps(v)
    rows = _rows(v, gaps)
    dropped = {int(d.get("call", 0)) for d in v.dropped}
    tests = bool(v.new_calls.get("placed"))
    title = lang.pick("Ablauf des Umschalttests", "The failover drill over time")
    with svg.rc():
        tall = max(len(rows), 8)            # a few calls still get rows a label fits beside
        height = 1.9 + 0.09 * tall + (0.8 if tests else 0.0)
        fig = svg.figure(height=height)
        if tests:
            calls_ax, new_ax = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [tall, 4]})
        else:
            calls_ax, new_ax = fig.subplots(), None
        for ax in (calls_ax, new_ax):
            if ax is not None:
                _backdrop(ax, v, t0)
        _marks(calls_ax, v, t0)
        _numbers(calls_ax, v, t0)
        _held(calls_ax, rows, gaps, dropped, t0, span, v, lang)
        if new_ax is not None:
            _new_calls(new_ax, v, t0, lang)
        bottom = new_ax if new_ax is not None else calls_ax
        bottom.set_xlim(0, span)
        svg.number_axis(bottom.xaxis, lang)
        bottom.set_xlabel(lang.pick("Sekunden seit Beginn des Tests ({t} Uhr)", "Seconds since the drill began "
                                    "(at {t})", t=lang.time(t0)))
        handles = [Patch(color=svg.UP, label=lang.pick("Unterbrechung ↑", "gap ↑")),
                   Patch(color=svg.DOWN, label=lang.pick("Unterbrechung ↓", "gap ↓")),
                   Patch(color=svg.BREACH, label=lang.pick("nicht zurückgekehrt", "never back")),
                   Patch(color=svg.BREACH, alpha=0.12, label=lang.pick("Ausfall", "outage"))]
        if any(o.direction == "signalling" for o in v.outages):
            handles.append(Patch(color=svg.WARN, alpha=0.25, label=lang.pick("nur Signalisierung", "signalling only")))
        if v.marks:
            handles.append(Line2D([], [], color=svg.LIMIT, linestyle="--", linewidth=1.0,
                                  label=lang.pick("Markierung", "mark")))
        fig.legend(handles=handles, loc="outside lower center", ncols=4, frameon=False)
        text = svg.to_svg(fig, "drill-timeline", title)
    return Plot("drill-timeline", "drill", title, _caption(v, rows, tests, lang), text)


def _backdrop(ax, v: DrillView, t0: float) -> None:
    """The outages shaded behind everything: media outages red, signalling-only ones amber."""
    for n, start, end, signalling in sorted({(o.outage, o.start, o.end, o.direction == "signalling")
                                             for o in v.outages}):
        width = max(end - start, 0.2)
        ax.axvspan(start - t0, start - t0 + width, color=svg.WARN if signalling else svg.BREACH,
                   alpha=0.25 if signalling else 0.12, linewidth=0, zorder=0)


def _numbers(ax, v: DrillView, t0: float) -> None:
    """Each outage's number (the table's #) in the free row above the calls, at its shading."""
    for n, start in sorted({(o.outage, o.start) for o in v.outages}):
        ax.text(start - t0, -1.0, f" {n}", fontsize=7.5, fontweight="bold", ha="left", va="center",
                color=svg.BREACH, zorder=4)


def _marks(ax, v: DrillView, t0: float) -> None:
    """Each mark a dashed line with its text above the plot, staggered so close marks stay apart."""
    where = blended_transform_factory(ax.transData, ax.transAxes)
    for k, m in enumerate(sorted(v.marks, key=lambda m: m.t)):
        ax.axvline(m.t - t0, color=svg.LIMIT, linestyle="--", linewidth=1.0, zorder=3)
        text = m.text if len(m.text) <= MARK_CHARS else m.text[:MARK_CHARS - 1] + "…"
        ax.annotate(f" {text}", (m.t - t0, 1.0), xycoords=where, xytext=(0, 2 + 10 * (k % 2)),
                    textcoords="offset points", fontsize=7.5, ha="left", va="bottom", color=svg.LIMIT,
                    annotation_clip=False)


def _held(ax, rows: list[int], gaps, dropped: set[int], t0: float, span: float, v: DrillView,
          lang: Language) -> None:
    end = span
    for y, call in enumerate(rows):
        for direction, start, gap_ms in gaps.get(call, []):
            left = start - t0
            width = (end - left) if gap_ms is None else max(gap_ms / 1000.0, MIN_BAR * span)
            colour = svg.BREACH if gap_ms is None else svg.colour(direction)
            ax.broken_barh([(left, width)], (y - 0.42, 0.4) if direction == "up" else (y + 0.02, 0.4),
                           facecolors=colour, linewidth=0, zorder=2)
    ax.set_yticks(range(len(rows)), [str(c) for c in rows], fontsize=8.0 if len(rows) <= 24 else 6.0)
    for label, call in zip(ax.get_yticklabels(), rows):
        if call in dropped:
            label.set_color(svg.BREACH)
    ax.set_ylim(len(rows) - 0.4, -1.6)            # a free row on top for the outages' numbers
    ax.grid(axis="y", visible=False)
    ax.set_ylabel(lang.pick("Gehaltene Gespräche", "Held calls"))


def _new_calls(ax, v: DrillView, t0: float, lang: Language) -> None:
    """Row 0: while test calls were answered, per address seen; row 1: the ones that failed. The
    bracket from each outage's start: how long until new calls worked again."""
    for k, s in enumerate(x for x in v.sources if x.get("first") is not None):
        a, b = float(s["first"]) - t0, float(s["last"]) - t0
        colour = SOURCES[k % len(SOURCES)]
        ax.plot([a, max(b, a + 0.2)], [0, 0], color=colour, linewidth=5, solid_capstyle="butt", zorder=2)
        ax.text(a, -0.32, str(s.get("source", "")), fontsize=7, color=svg.LIMIT, va="bottom", ha="left")
    failed = [float(f["t"]) - t0 for f in v.test_calls(worked=False) if f.get("t") is not None]
    if failed:
        ax.plot(failed, [1] * len(failed), linestyle="none", marker="x", markersize=5, color=svg.BREACH, zorder=3)
    for o in {(o.outage, o.start, o.recovery_ms) for o in v.outages}:
        _, start, rec = o
        if rec is not None:
            ax.annotate("", xy=(start - t0 + rec / 1000.0, 0.5), xytext=(start - t0, 0.5),
                        arrowprops={"arrowstyle": "|-|", "mutation_scale": 2.5, "color": svg.LIMIT, "linewidth": 0.9})
            ax.text(start - t0 + rec / 1000.0, 0.5, f" {gap_text(rec, lang)}", fontsize=7, va="center",
                    color=svg.LIMIT)
    ax.set_yticks([0, 1], [lang.pick("angenommen", "answered"), lang.pick("gescheitert", "failed")])
    ax.set_ylim(1.6, -0.7)
    ax.grid(axis="y", visible=False)
    ax.set_ylabel(lang.pick("Testanrufe", "Test calls"))


def _caption(v: DrillView, rows: list[int], tests: bool, lang: Language) -> str:
    total = v.calls_held + v.calls_not_set_up
    shown = lang.pick("alle {n}", "all {n}", n=lang.number(len(rows))) if len(rows) >= total else lang.pick(
        "die {m} am stärksten betroffenen von {n}", "the {m} worst hit of {n}", m=lang.number(len(rows)),
        n=lang.number(total))
    text = lang.pick("Jede Zeile ein gehaltenes Gespräch ({s}; rote Nummer: abgebrochen), die Balken seine "
                     "Unterbrechungen der Sprache, oben ↑ (Standort → Gegenstelle), unten ↓, jeweils ab Beginn des "
                     "Ausfalls so lang wie die Lücke; rot: kam bis zum Ende nicht zurück.",
                     "One row per held call ({s}; red number: dropped), the bars its voice gaps, upper ↑ (site → far "
                     "end), lower ↓, each from the outage's start as long as the gap; red: never came back.", s=shown)
    if tests:
        text += lang.pick(" Unten die neuen Testanrufe: farbig, solange sie angenommen wurden, je Absenderadresse, "
                          "die die Gegenstelle sah; × gescheitert; |–| die Zeit, bis neue Anrufe wieder gingen.",
                          " Below, the new test calls: coloured while they were answered, per source address the far "
                          "end saw; × failed; |–| the time until new calls worked again.")
    return text
