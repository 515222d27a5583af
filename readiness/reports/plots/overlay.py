"""Two runs drawn over each other, for a before/after comparison: each time series both runs have, as
the median (and, thin, the 95th percentile on the bad side) across calls at each second since the run's
own start, per direction, with the requirement's line; and the MOS of every call and direction of each
run as two cumulative distributions.

The thin line is a percentile, not the worst call: over 100 calls the worst one at each second is nearly
always some call's brief burst, and two such lines over each other would hide the medians.

Runs of a comparison are minutes or days apart, so the x axis is the time since each run started, not
the clock. The lines reuse the per-run plots' grid and envelope (timeseries.py), so they are capped the
same way however long a run was.
"""

from __future__ import annotations

import warnings
from datetime import datetime
from typing import Any

import numpy as np

from ...analysis.pilot_summary import values
from ...metrics import METRICS
from ...model import Series
from ...results import RunResults
from ..language import Language
from . import Plot, common, svg
from .bars import mos_cdf_axes
from .timeseries import _DIRECTIONS, _ORDER, _grid, envelope

# Before muted blue, after orange: apart in colour-vision deficiencies and in greyscale print, and the
# eye lands on the newer run first.
BEFORE, AFTER = "#5B7FA6", "#E69F00"


def plots(before: RunResults, after: RunResults, lang: Language) -> list[Plot]:
    runs = {"before": _by_metric(before), "after": _by_metric(after)}
    common_metrics = set(runs["before"]) & set(runs["after"])
    order = sorted(common_metrics, key=lambda m: (_ORDER.index(m) if m in _ORDER else len(_ORDER), m))
    out = [p for m in order if (p := _series_plot(before, after, m, runs["before"][m], runs["after"][m], lang))]
    mos = _mos(before, after, lang)
    return out + ([mos] if mos else [])


def _by_metric(results: RunResults) -> dict[str, dict[str, list[Series]]]:
    out: dict[str, dict[str, list[Series]]] = {}
    for s in results.series:
        if s.values and s.step > 0:
            out.setdefault(s.metric, {}).setdefault(s.tags.get("direction", ""), []).append(s)
    return out


def _start(results: RunResults) -> float:
    return datetime.fromisoformat(results.started.replace("Z", "+00:00")).timestamp()


def _label(which: str, results: RunResults, lang: Language) -> str:
    word = lang.pick("vorher", "before") if which == "before" else lang.pick("nachher", "after")
    return f"{word} ({lang.when(results.started)})"


def _medians(results: RunResults, series: list[Series], higher: bool
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int] | None:
    """Seconds since the run's start, the median and the 95th percentile on the bad side across calls, and
    how many calls."""
    grid = _grid(series)
    if grid is None:
        return None
    t0, step, m = grid
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)        # all-NaN steps stay NaN, which is right
        median = np.nanmedian(m, axis=0)
        worst = np.nanpercentile(m, 95 if higher else 5, axis=0)
    t = t0 - _start(results) + (np.arange(m.shape[1]) + 0.5) * step
    return t, median, worst, m.shape[0]


def _elapsed(span: float) -> tuple[float, str]:
    """The unit of the time axis: seconds for a short run, minutes, hours for a long one."""
    if span <= 180:
        return 1.0, "s"
    if span <= 3 * 3600:
        return 60.0, "min"
    return 3600.0, "h"


def _series_plot(before: RunResults, after: RunResults, metric: str, gb: dict[str, list[Series]],
                 ga: dict[str, list[Series]], lang: Language) -> Plot | None:
    directions = [d for d in _DIRECTIONS if d in gb or d in ga]
    c_any = common.criterion(after, metric) or common.criterion(before, metric)
    higher = svg.worse_is_higher(c_any.op) if c_any else True
    panels: list[tuple[str, dict[str, Any]]] = []
    for d in directions:
        got = {which: _medians(r, g[d], higher) for which, r, g in (("before", before, gb), ("after", after, ga))
               if d in g}
        got = {k: v for k, v in got.items() if v is not None}
        if got:
            panels.append((d, got))
    if not panels:
        return None
    unit = (gb or ga)[next(iter(gb or ga))][0].unit
    span = max(float(v[0][-1]) for _, got in panels for v in got.values())
    scale, short = _elapsed(span)
    title = lang.pick("{t}: vorher und nachher", "{t}: before and after", t=common.title(metric, lang))
    limits: list[Any] = []
    with svg.rc():
        fig = svg.figure(len(panels))
        axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
        for ax, (direction, got) in zip(axes, panels):
            c = common.criterion(after, metric, direction) or common.criterion(before, metric, direction)
            limits.append(c)
            top = 0.0
            for which, r in (("before", before), ("after", after)):
                if which not in got:
                    continue
                t, median, worst, n = got[which]
                colour = BEFORE if which == "before" else AFTER
                word = lang.pick("vorher", "before") if which == "before" else lang.pick("nachher", "after")
                x = t / scale
                if n > 1:              # one call: the percentile is the median
                    ax.plot(*envelope(x, worst), color=colour, linewidth=0.8, alpha=0.8,
                            label=lang.pick("{w}: {p}. Perzentil", "{w}: {p}th percentile", w=word,
                                            p=95 if higher else 5))
                # before drawn wider, after on top of it: where the two runs agree, both still show
                ax.plot(*envelope(x, median), color=colour, linewidth=3.0 if which == "before" else 1.6,
                        label=lang.pick("{l}: Median über {n} {w}", "{l}: median of {n} {w}", l=_label(which, r, lang),
                                        n=lang.number(n), w=_what(metric, lang)))
                if not np.isnan(worst).all():
                    top = max(top, float(np.nanmax(worst)))
            if c is not None:
                ax.axhline(float(c.threshold), color=svg.LIMIT, linestyle="--", linewidth=1.0,
                           label=common.limit_label(c, lang))
                top = max(top, float(c.threshold))
            top = top * 1.1 if top > 0 else 1.0
            ax.set_ylim(-0.03 * top, top)        # a line at zero (no loss) stays above the axis, in sight
            ax.set_title(svg.direction_label(direction, lang), loc="left")
            ax.set_ylabel(common.axis_label(metric, unit, lang))
            svg.number_axis(ax.yaxis, lang)
        axes[-1].set_xlim(0, span / scale)
        svg.number_axis(axes[-1].xaxis, lang)
        axes[-1].set_xlabel(lang.pick("Zeit seit Beginn des jeweiligen Laufs ({u})", "Time since the start of each run "
                                      "({u})", u=short))
        _legend(fig, axes)
        key = f"overlay-{metric}"
        text = svg.to_svg(fig, key, title)
    section = METRICS[metric].probe if metric in METRICS else "other"
    return Plot(key, section, title, _caption(metric, next((c for c in limits if c), None), lang), text)


def _what(metric: str, lang: Language) -> str:
    probe = METRICS[metric].probe if metric in METRICS else ""
    return lang.pick("Anrufe", "calls") if probe == "calls" else lang.pick("Ströme", "streams")


def _legend(fig: Any, axes: Any) -> None:
    """One legend under the panels (every panel has the same lines): before in the left column, after in the
    right one, the requirement under before's lines."""
    handles: dict[str, Any] = {}
    for ax in axes:
        for h, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, h)
    colour = {BEFORE: 0, AFTER: 2}
    # matplotlib fills a legend's columns top to bottom: before's median and worst, the limit, then after's
    order = sorted(handles, key=lambda label: (colour.get(handles[label].get_color(), 1),
                                               -handles[label].get_linewidth()))
    fig.legend([handles[k] for k in order], order, loc="outside lower center", ncols=2, frameon=False)


def _caption(metric: str, c: Any, lang: Language) -> str:
    high = svg.worse_is_higher(c.op) if c else True
    text = lang.pick("Dicke Linie: Median je Sekunde über die {w} eines Laufs, dünne Linie: {p}. Perzentil (die "
                     "schlechtesten 5 % der {w} liegen {s}); blau vorher, orange nachher, beide ab dem Beginn ihres "
                     "Laufs", "Thick line: median per second across the {w} of a run, thin line: {p}th percentile "
                     "(the worst 5 % of the {w} lie {s}); blue before, orange after, each from the start of its run",
                     w=_what(metric, lang), p=95 if high else 5,
                     s=lang.pick("darüber", "above") if high else lang.pick("darunter", "below"))
    return text + ("; " + common.limit_label(c, lang) + "." if c else ".")


def _mos(before: RunResults, after: RunResults, lang: Language) -> Plot | None:
    """MOS of every call and direction of each run, as two cumulative distributions over each other."""
    pooled = {which: np.sort([x for xs in values(r, "call.mos").values() for x in xs])
              for which, r in (("before", before), ("after", after))}
    if not all(len(v) for v in pooled.values()):
        return None
    c = common.criterion(after, "call.mos") or common.criterion(before, "call.mos")
    title = lang.pick("Sprachqualität (MOS): vorher und nachher", "Voice quality (MOS): before and after")
    everything = np.concatenate(list(pooled.values()))
    with svg.rc():
        fig = svg.figure(height=3.0)
        ax = fig.add_subplot()
        shares = {}
        for which, r in (("before", before), ("after", after)):
            x = pooled[which]
            y = np.arange(1, len(x) + 1) / len(x) * 100
            if len(x) > 2000:          # a step per call of thousands is no more readable than 2000 steps
                pick = np.linspace(0, len(x) - 1, 2000).astype(int)
                x, y = x[pick], y[pick]
            ax.step(np.concatenate([[x[0]], x]), np.concatenate([[0.0], y]), where="post",
                    color=BEFORE if which == "before" else AFTER, linewidth=1.8,
                    label=lang.pick("{l}, {n} Anrufrichtungen", "{l}, {n} call directions", l=_label(which, r, lang),
                                    n=lang.number(len(pooled[which]))))
            if c is not None:
                shares[which] = sum(svg.breaches(v, c.op, float(c.threshold)) for v in pooled[which])
        mos_cdf_axes(ax, c, float(everything.min()), float(everything.max()), lang,
                     lang.pick("Anteil bis zu diesem MOS (%)", "Share up to this MOS (%)"))
        text = svg.to_svg(fig, "overlay-mos-cdf", title)
    caption = lang.pick("Summenkurven der MOS-Werte je Anruf und Richtung, blau vorher, orange nachher; je weiter "
                        "rechts, desto besser", "Cumulative distributions of the MOS per call and direction, blue "
                        "before, orange after; the further right, the better")
    if c is not None:
        caption += lang.pick("; {r}; darunter vorher {b} von {nb}, nachher {a} von {na}.",
                             "; {r}; short of it before {b} of {nb}, after {a} of {na}.", r=common.limit_label(c, lang),
                             b=lang.number(shares["before"]), nb=lang.number(len(pooled["before"])),
                             a=lang.number(shares["after"]), na=lang.number(len(pooled["after"])))
    else:
        caption += "."
    return Plot("overlay-mos-cdf", "calls", title, caption, text)
