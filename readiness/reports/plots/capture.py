"""The capture's RTP streams over time: jitter and loss per second in one figure, a panel each.

A few streams are drawn one line each (a technician finds the stream in the table by its addresses);
more are drawn as the median and the worst stream at each second, as the calls' plots are
(`timeseries`, whose grid, panel and envelope this module uses). Lines are cut to timeseries.MAX_POINTS
with a min/max envelope, so a one-second outage in an hour-long capture still shows.
"""

from __future__ import annotations

import numpy as np

from ...model import Series
from ...results import RunResults
from ..language import Language
from . import Plot, common, svg, timeseries

METRICS = ("capture.rtp_jitter_ms", "capture.rtp_loss_pct")
FEW_STREAMS = 4                   # up to this many streams: one line each
STREAM_COLOURS = (svg.UP, svg.DOWN, svg.ALL, "#CC79A7")     # colour-blind safe (Okabe-Ito), as svg's


def plots(results: RunResults, lang: Language) -> list[Plot]:
    groups = {m: [s for s in results.series if s.probe == "capture" and s.metric == m and s.values and s.step > 0]
              for m in METRICS}
    groups = {m: g for m, g in groups.items() if g}
    grids = {m: timeseries._grid(g) for m, g in groups.items()}
    grids = {m: g for m, g in grids.items() if g is not None}
    if not grids:
        return []
    streams = max(g[2].shape[0] for g in grids.values())
    few = streams <= FEW_STREAMS
    what = lang.pick("Ströme", "streams")
    start = min(g[0] for g in grids.values())
    end = max(g[0] + g[2].shape[1] * g[1] for g in grids.values())
    title = lang.pick("RTP-Ströme der Aufzeichnung im Zeitverlauf", "The capture's RTP streams over time")
    with svg.rc():
        fig = svg.figure(len(grids))
        axes = fig.subplots(len(grids), 1, sharex=True, squeeze=False)[:, 0]
        for ax, (metric, (t0, step, m)) in zip(axes, grids.items()):
            c = common.criterion(results, metric)
            if few:
                _lines(ax, t0, step, m, groups[metric], c, lang)
            else:
                timeseries._panel(ax, t0, step, m, c, "", what, lang)
            ax.set_title(common.title(metric, lang), loc="left")
            ax.set_ylabel(common.axis_label(metric, groups[metric][0].unit, lang))
            svg.number_axis(ax.yaxis, lang)
        if few:
            svg.legend_below(fig, axes[-1], ncols=2)
        else:
            timeseries._legend(fig, axes)
        svg.time_axis(axes[-1].xaxis, lang, start, end)
        axes[-1].set_xlim(start, end)
        axes[-1].set_xlabel(lang.pick("Zeit (Ortszeit, {tz})", "Time (local, {tz})", tz=lang.tz))
        text = svg.to_svg(fig, "capture-streams", title)
    return [Plot("capture-streams", "capture", title, _caption(streams, few, lang), text)]


def _lines(ax, t0: float, step: float, m: np.ndarray, series: list[Series], c, lang: Language) -> None:
    """One line per stream, labelled as the stream table names it, and the requirement's line."""
    t = t0 + (np.arange(m.shape[1]) + 0.5) * step        # a sample covers [t, t + step): drawn at its middle
    for i, row in enumerate(m):
        tags = series[i].tags
        label = f"{tags.get('src', '?')} → {tags.get('dst', '?')} ({tags.get('ssrc', '')})"
        ax.plot(*timeseries.envelope(t, row), color=STREAM_COLOURS[i % len(STREAM_COLOURS)], linewidth=1.2,
                label=label)
    top = float(np.nanmax(m)) if not np.isnan(m).all() else 1.0
    if c is not None:
        ax.axhline(float(c.threshold), color=svg.LIMIT, linestyle="--", linewidth=1.0,
                   label=common.limit_label(c, lang))
        top = max(top, float(c.threshold))
    ax.set_ylim(0, top * 1.1 if top > 0 else 1)


def _caption(streams: int, few: bool, lang: Language) -> str:
    if few:
        text = lang.pick("Je Sekunde und RTP-Strom", "Per second and RTP stream")
    else:
        text = lang.pick("Median und schlechtester Wert je Sekunde über {n} RTP-Ströme",
                         "Median and worst value per second across {n} RTP streams", n=lang.number(streams))
    return text + lang.pick(
        ": Jitter nach RFC 3550 (wie Wireshark ihn je Paket berechnet), gemittelt über die Sekunde; Verlust als "
        "Anteil der in der Sekunde fälligen Sequenznummern (RFC 3550), die nie ankamen – ein Ausfall zählt in "
        "den Sekunden, in denen er dauerte.",
        ": jitter per RFC 3550 (as Wireshark computes it per packet), averaged over the second; loss as the share "
        "of the sequence numbers due in that second (RFC 3550) that never arrived – an outage counts in the "
        "seconds it lasted.")
