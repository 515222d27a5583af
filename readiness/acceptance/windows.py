"""Sliding windows over a time series: "loss below 1 % in any 15 s" is judged on every 15 s window,
so one bad quarter-minute cannot hide in a good ten-minute average.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..model import Series


class WindowTooShort(ValueError):
    """The window is shorter than the series' sample step: the data cannot answer the question."""


@dataclass(frozen=True)
class Window:
    start: float
    end: float
    value: float | None
    partial: bool = False   # the whole series was shorter than the window


def windows(series: Series, window_s: float, combine: str) -> list[Window]:
    """Every window of `window_s` seconds, sliding by one sample step.

    combine: weighted_mean (ratio metrics: sum(v*w)/sum(w)), mean, max, min or sum. Missing samples
    (None) are skipped; a window with nothing in it has value None.
    """
    step = series.step
    if step <= 0:
        raise ValueError("series step must be positive")
    # Allow a little float slack: a 0.2 s window over 0.2 s samples is one sample.
    n = int(round(window_s / step)) if window_s >= step * 0.999 else 0
    if n < 1:
        raise WindowTooShort(f"the series has one value per {step:g} s; a {window_s:g} s window needs finer samples")
    count = len(series.values)
    if count == 0:
        return []
    vals = np.asarray(series.values, dtype=float)       # None (a probe's list) or NaN (read back)
    present = ~np.isnan(vals)
    weights = (np.asarray(series.weights, dtype=float) if series.weights is not None
               else np.ones(count, dtype=float))
    partial = count < n
    n = min(n, count)
    starts = np.arange(0, count - n + 1)
    ends = starts + n

    if combine in ("weighted_mean", "mean", "sum"):
        w = weights if combine == "weighted_mean" else np.ones(count)
        w = np.where(present, w, 0.0)
        vw = np.where(present, vals * w, 0.0)
        cw = np.concatenate(([0.0], np.cumsum(w)))
        cv = np.concatenate(([0.0], np.cumsum(vw)))
        cn = np.concatenate(([0], np.cumsum(present.astype(int))))
        wsum = cw[ends] - cw[starts]
        vsum = cv[ends] - cv[starts]
        nsum = cn[ends] - cn[starts]
        if combine == "sum":
            out = np.where(nsum > 0, vsum, np.nan)
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                out = np.where(wsum > 0, vsum / wsum, np.nan)
    elif combine in ("max", "min"):
        view = np.lib.stride_tricks.sliding_window_view(vals, n)
        fill = -np.inf if combine == "max" else np.inf
        filled = np.where(np.isnan(view), fill, view)
        out = filled.max(axis=1) if combine == "max" else filled.min(axis=1)
        out = np.where(np.isinf(out), np.nan, out)
    else:
        raise ValueError(f"unknown window combination {combine!r}")

    return [
        Window(series.start + s * step, series.start + e * step, None if np.isnan(v) else float(v), partial)
        for s, e, v in zip(starts.tolist(), ends.tolist(), out.tolist())
    ]
