"""A metric's series over time, one panel per direction: the median and the worst value across calls
(or streams) at each time step, the requirement's line, and the steps that miss it shaded and marked.

Many calls are aggregated rather than drawn one line each (100 calls would be an unreadable bundle),
and every line is cut to at most MAX_POINTS points with a min/max envelope per bucket, so a one-second
spike in an hour-long run still shows.
"""

from __future__ import annotations

import math
import warnings
from datetime import datetime
from typing import Any

import numpy as np
from matplotlib.lines import Line2D

from ...metrics import METRICS
from ...model import Series
from ...details import phases as phase_details
from ...results import RunResults
from ..language import Language
from . import Plot, common, svg

MAX_POINTS = 1000
# Metrics first in this order (what a customer asks about first), the rest by name.
_ORDER = ("rtp.jitter_ms", "rtp.loss_pct", "rtp.rtt_ms", "rtp.one_way_delay_ms")
_DIRECTIONS = ("up", "down", "")


def plots(results: RunResults, lang: Language) -> list[Plot]:
    by_metric: dict[str, dict[str, list[Series]]] = {}
    for s in results.series:
        if s.probe == "capture":       # a capture's streams have their own plot (plots/capture.py)
            continue
        if s.values and s.step > 0:
            by_metric.setdefault(s.metric, {}).setdefault(s.tags.get("direction", ""), []).append(s)
    order = sorted(by_metric, key=lambda m: (_ORDER.index(m) if m in _ORDER else len(_ORDER), m))
    out = []
    for metric in order:
        plot = _plot(results, metric, by_metric[metric], lang)
        if plot:
            out.append(plot)
    return out


def _plot(results: RunResults, metric: str, groups: dict[str, list[Series]], lang: Language) -> Plot | None:
    directions = [d for d in _DIRECTIONS if d in groups]
    grids = {d: _grid(groups[d]) for d in directions}
    grids = {d: g for d, g in grids.items() if g is not None}
    if not grids:
        return None
    section = METRICS[metric].probe if metric in METRICS else groups[directions[0]][0].probe or "other"
    unit = groups[directions[0]][0].unit
    start = min(g[0] for g in grids.values())
    end = max(g[0] + g[2].shape[1] * g[1] for g in grids.values())
    what = lang.pick("Anrufe", "calls") if section == "calls" else lang.pick("Ströme", "streams")
    with svg.rc():
        fig = svg.figure(len(grids))
        axes = fig.subplots(len(grids), 1, sharex=True, squeeze=False)[:, 0]
        breached: dict[str, float] = {}
        shown_limit = None
        for ax, (direction, (t0, step, m)) in zip(axes, grids.items()):
            c = common.criterion(results, metric, direction)
            shown_limit = shown_limit or c
            breached[direction] = _panel(ax, t0, step, m, c, direction, what, lang)
            ax.set_title(svg.direction_label(direction, lang), loc="left", color=svg.colour(direction))
            ax.set_ylabel(common.axis_label(metric, unit, lang))
            svg.number_axis(ax.yaxis, lang)
            if section == "calls":
                _load_span(ax, results, lang)
        _legend(fig, axes)
        svg.time_axis(axes[-1].xaxis, lang, start, end)
        axes[-1].set_xlim(start, end)
        axes[-1].set_xlabel(lang.pick("Zeit (Ortszeit, {tz})", "Time (local, {tz})", tz=lang.tz))
        title = lang.pick("{t} im Zeitverlauf", "{t} over time", t=common.title(metric, lang))
        text = svg.to_svg(fig, metric, title)
    n = max(g[2].shape[0] for g in grids.values())
    step_s = min(g[1] for g in grids.values())
    caption = _caption(n, step_s, what, shown_limit, breached, lang)
    return Plot(metric, section, title, caption, text)


def _grid(series: list[Series]) -> tuple[float, float, np.ndarray] | None:
    """Series of one direction on one time grid: (start, step, calls x steps), NaN where a call has no value."""
    step = min(s.step for s in series)
    t0 = min(s.start for s in series)
    n = int(math.ceil(max((s.start - t0) / step + len(s.values) * s.step / step for s in series) - 1e-9))
    if n <= 0:
        return None
    m = np.full((len(series), n), np.nan)
    for i, s in enumerate(series):
        v = np.array(s.values, dtype=float)       # None becomes NaN
        idx = np.rint((s.start - t0 + np.arange(len(v)) * s.step) / step).astype(int)
        keep = (idx >= 0) & (idx < n)
        m[i, idx[keep]] = v[keep]
    if np.isnan(m).all():
        return None
    return t0, step, m


def _panel(ax, t0: float, step: float, m: np.ndarray, c, direction: str, what: str, lang: Language) -> float:
    """One direction's lines; returns the seconds the worst call missed the requirement."""
    higher = svg.worse_is_higher(c.op) if c else True
    colour = svg.colour(direction)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)        # all-NaN steps stay NaN, which is right
        worst = np.nanmax(m, axis=0) if higher else np.nanmin(m, axis=0)
        median = np.nanmedian(m, axis=0) if m.shape[0] > 1 else None
    t = t0 + (np.arange(m.shape[1]) + 0.5) * step    # a sample covers [t, t + step): drawn at its middle
    if median is not None:
        ax.plot(*envelope(t, worst), color=colour, linewidth=0.8, alpha=0.55,
                label=lang.pick("schlechtester Wert", "worst value"))
        ax.plot(*envelope(t, median), color=colour, linewidth=1.6,
                label=lang.pick("Median über {n} {w}", "median of {n} {w}", n=lang.number(m.shape[0]), w=what))
    else:
        ax.plot(*envelope(t, worst), color=colour, linewidth=1.4, label=lang.pick("Messwert", "measured"))
    seconds = 0.0
    top = float(np.nanmax(worst)) if not np.isnan(worst).all() else 1.0
    bottom = float(np.nanmin(worst)) if not np.isnan(worst).all() else 0.0
    if c is not None:
        thr = float(c.threshold)
        ax.axhline(thr, color=svg.LIMIT, linestyle="--", linewidth=1.0, label=common.limit_label(c, lang))
        with np.errstate(invalid="ignore"):
            bad = _missed(worst, c.op, thr)
        seconds = float(bad.sum()) * step
        if bad.any():
            # "beyond the limit", not "requirement missed": without a window the criterion judges each call
            # as a whole, and a second above the limit need not fail it
            label = (lang.pick("über dem Grenzwert", "above the limit") if higher
                     else lang.pick("unter dem Grenzwert", "below the limit"))
            tb, badb = _any_per_bucket(t, bad)
            ax.fill_between(tb, 0, 1, where=badb, step="post", transform=ax.get_xaxis_transform(),
                            color=svg.BREACH, alpha=0.13, linewidth=0, label=label)
            te, ye = envelope(t, np.where(bad, worst, np.nan))
            if np.count_nonzero(~np.isnan(ye)) <= 120:      # more dots would only make a red bar
                ax.plot(te, ye, linestyle="none", marker="o", markersize=3.5, color=svg.BREACH, zorder=4,
                        label=label)
        top, bottom = max(top, thr), min(bottom, thr)
        _worst_window(ax, c, direction, lang)
    if bottom >= 0:
        ax.set_ylim(0, top * 1.1 if top > 0 else 1)
    return seconds


def _worst_window(ax, c, direction: str, lang: Language) -> None:
    """A windowed criterion that missed: frame the window that decided it, in the panel of its direction."""
    if not (c.window and c.worst_window and c.verdict in ("fail", "warn")):
        return
    if direction and not c.subject.endswith(f" {direction}"):
        return
    try:
        a, b = (datetime.fromisoformat(x.replace("Z", "+00:00")).timestamp() for x in c.worst_window)
    except (TypeError, ValueError):
        return
    ax.axvspan(a, b, facecolor="none", edgecolor=svg.BREACH, linewidth=1.2, linestyle=":", zorder=5,
               label=lang.pick("schlechtestes {w}-Fenster", "worst {w} window", w=c.window.replace(" ", "-")
                               if lang.code == "de" else c.window))


def _load_span(ax, results: RunResults, lang: Language) -> None:
    """Calls under load: the time the link was loaded, shaded, so the lines can be read against it."""
    found = phase_details.phases(results.details)
    load = found[1] if found else None
    if load is not None and load.launched and not load.error:
        ax.axvspan(load.launched, load.ended, color=svg.GREY, alpha=0.15, linewidth=0, zorder=0,
                   label=lang.pick("Last (iperf3)", "load (iperf3)"))


def _legend(fig, axes) -> None:
    """One legend under the panels, in grey: colour already says the direction (the panel titles carry
    it), the legend says which line is which."""
    handles: dict[str, Any] = {}
    for ax in axes:
        for h, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, h)
    proxies = []
    for label, h in handles.items():
        if isinstance(h, Line2D):
            grey = h.get_color() if h.get_color() in (svg.LIMIT, svg.BREACH) else svg.GREY
            proxies.append(Line2D([], [], color=grey, linewidth=h.get_linewidth(), linestyle=h.get_linestyle(),
                                  marker=h.get_marker(), markersize=h.get_markersize(), label=label))
        else:
            proxies.append(h)
    merged = {}
    for p in proxies:             # the breach's shading and its dots share one entry
        merged.setdefault(p.get_label(), []).append(p)
    fig.legend([tuple(v) if len(v) > 1 else v[0] for v in merged.values()], list(merged), loc="outside lower center",
               ncols=min(4, len(merged)), frameon=False)


def _missed(values: np.ndarray, op: str, thr: float) -> np.ndarray:
    out = {"<=": values > thr, "<": values >= thr, ">=": values < thr, ">": values <= thr}.get(op)
    return out if out is not None else np.zeros(values.shape, bool)


def envelope(t: np.ndarray, y: np.ndarray, points: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """At most `points` points: each bucket's minimum and maximum in the order they occurred, so peaks and
    dips survive and the line still reads left to right."""
    n = len(y)
    if n <= points:
        return t, y
    size = int(math.ceil(n / (points // 2)))
    buckets = int(math.ceil(n / size))
    pad = buckets * size - n
    yb = np.concatenate([y, np.full(pad, np.nan)]).reshape(buckets, size)
    tb = np.concatenate([t, t[-1] + (np.arange(pad) + 1) * (t[1] - t[0] if n > 1 else 1)]).reshape(buckets, size)
    empty = np.isnan(yb).all(axis=1)
    lo = np.where(empty, 0, np.argmin(np.where(np.isnan(yb), np.inf, yb), axis=1))
    hi = np.where(empty, 0, np.argmax(np.where(np.isnan(yb), -np.inf, yb), axis=1))
    first, second = np.minimum(lo, hi), np.maximum(lo, hi)
    rows = np.arange(buckets)
    ys = np.column_stack([yb[rows, first], yb[rows, second]])
    ts = np.column_stack([tb[rows, first], tb[rows, second]])
    ys[empty] = np.nan
    return ts.ravel(), ys.ravel()


def _any_per_bucket(t: np.ndarray, bad: np.ndarray, points: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """The breach mask cut to at most `points` steps (a bucket counts when any of its steps missed), with a
    closing edge so the last shaded step keeps its width."""
    step = t[1] - t[0] if len(t) > 1 else 1.0
    size = max(1, int(math.ceil(len(bad) / points)))
    buckets = int(math.ceil(len(bad) / size))
    mask = np.concatenate([bad, np.zeros(buckets * size - len(bad), bool)]).reshape(buckets, size).any(axis=1)
    tb = t[0] - step / 2 + np.arange(buckets + 1) * size * step
    return tb, np.append(mask, mask[-1])


def _caption(n: int, step: float, what: str, c, breached: dict[str, float], lang: Language) -> str:
    if n > 1:
        text = lang.pick("Median und schlechtester Wert je {s} über {n} {w} je Richtung",
                         "Median and worst value per {s} across {n} {w} per direction",
                         s=lang.duration(step), n=lang.number(n), w=what)
    else:
        text = lang.pick("Messwert je {s}", "Value per {s}", s=lang.duration(step))
    if c is None:
        return text + "."
    text += "; " + common.limit_label(c, lang)
    missed = {d: s for d, s in breached.items() if s > 0}
    if not missed:
        return text + lang.pick(", überall eingehalten.", ", met throughout.")
    parts = ", ".join(f"{svg.direction_label(d, lang).split(' (')[0]}: {lang.duration(s)}" for d, s in missed.items())
    text += lang.pick("; Grenzwert verfehlt (rot) – {p}", "; limit missed (red) – {p}", p=parts)
    if not c.window:
        text += lang.pick(" (die Anforderung gilt je Anruf insgesamt)", " (the requirement applies to each call as a "
                          "whole)") if what in ("Anrufe", "calls") else ""
    return text + "."
