"""Figures to inline SVG: one matplotlib Figure per plot (no pyplot, so no global state carries from one
figure to the next), text kept as <text> in the report's font, ids unique per plot, and the number and
time formatting of the report's language on every axis."""

from __future__ import annotations

import io
import re
from typing import Any, Callable

import matplotlib

matplotlib.use("Agg")          # no display on a technician's laptop or in CI; must precede any backend use

from matplotlib import ticker  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from ..fonts import FAMILY  # noqa: E402
from ..language import Language  # noqa: E402

WIDTH_IN = 7.2                 # the report's text column at 96 dpi is about 690 px; the SVG scales to it
ROW_IN = 2.3                   # height of one panel

# Colours that stay apart for the common colour-vision deficiencies (Okabe-Ito) and in greyscale print.
UP, DOWN, ALL = "#0072B2", "#D55E00", "#009E73"
BREACH, WARN, OK, GREY, LIMIT = "#C0392B", "#E69F00", "#009E73", "#8C8C8C", "#333333"

# Text is left as <text> (svg.fonttype none): the report's HTML embeds its font (DejaVu Sans cut down,
# as "Readiness Sans"), matplotlib lays the text out with the same DejaVu Sans metrics, and the words stay
# searchable and checkable. Outside the report a viewer falls back to an installed DejaVu Sans.
_RC = {
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "font.size": 9.0,
    "axes.titlesize": 9.5,
    "axes.labelsize": 9.0,
    "legend.fontsize": 8.0,
    "xtick.labelsize": 8.0,
    "ytick.labelsize": 8.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.color": "#DDDDDD",
    "grid.linewidth": 0.6,
    "path.simplify": True,
    "axes.unicode_minus": False,   # the language's own minus, via lang.number
}
_FONT = re.compile(r"font-family: 'DejaVu Sans', sans-serif")
_ID = re.compile(r'\bid="([^"]+)"')
_PROLOGUE = re.compile(r"^.*?(?=<svg\b)", re.S)
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.S)


def figure(rows: int = 1, height: float | None = None) -> Figure:
    return Figure(figsize=(WIDTH_IN, height or max(1, rows) * ROW_IN + 0.6), layout="constrained")


def to_svg(fig: Figure, key: str, title: str) -> str:
    """The figure as an inline <svg>: no XML prologue or metadata, ids prefixed by the plot's key."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", key).strip("-")
    buf = io.StringIO()
    # svg.hashsalt makes matplotlib's generated ids (clip paths, markers) the same on every run of the same
    # data; the key in it keeps two plots with the same content from sharing an id.
    with matplotlib.rc_context({"svg.hashsalt": f"readiness-{slug}", "svg.fonttype": "none"}):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    text = _METADATA.sub("", _PROLOGUE.sub("", buf.getvalue(), count=1), count=1)
    text = _FONT.sub(f"font-family: '{FAMILY}', 'DejaVu Sans', sans-serif", text)
    # matplotlib names groups figure_1, axes_1, ... in every SVG; several SVGs share one HTML page, where
    # an id must be unique and a url(#...) must find its own plot's clip path.
    ids = set(_ID.findall(text))
    prefix = f"plot-{slug}-"
    text = _ID.sub(lambda m: f'id="{prefix}{m.group(1)}"', text)
    text = re.sub(r'(url\(#|href="#)([^)"]+)', lambda m: m.group(1) + (prefix + m.group(2) if m.group(2) in ids
                                                                    else m.group(2)), text)
    label = title.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
    return text.replace("<svg ", f'<svg role="img" aria-label="{label}" ', 1).strip()


def rc() -> Any:
    """The report's plot style, for the duration of drawing one figure."""
    return matplotlib.rc_context(_RC)


class NumberFormatter(ticker.Formatter):
    """Tick numbers in the report's language ('2,5', '1.000'), as many decimals as the tick step needs."""

    def __init__(self, lang: Language, suffix: str = "") -> None:
        self.lang, self.suffix, self.digits = lang, suffix, 0

    def set_locs(self, locs: Any) -> None:
        super().set_locs(locs)
        # the fewest decimals that tell every tick apart as it is (2,5 and 7,5 need one; 0,25 needs two)
        self.digits = next((d for d in range(5) if all(abs(round(x, d) - x) < 1e-9 * max(1.0, abs(x))
                                                        for x in locs)), 4)

    def __call__(self, x: float, pos: int | None = None) -> str:
        if abs(x) < 1e-12:
            x = 0.0
        return self.lang.number(x, self.digits) + self.suffix


def number_axis(axis: Any, lang: Language, suffix: str = "") -> None:
    axis.set_major_locator(ticker.MaxNLocator(nbins="auto", steps=[1, 2, 5, 10]))   # 0, 5, 10, not 2,5
    axis.set_major_formatter(NumberFormatter(lang, suffix))


def bar_rows(ax: Any, names: list[str]) -> None:
    """Horizontal bars top to bottom in the given order, with air around them even when there is one."""
    ax.set_yticks(range(len(names)), names)
    ax.set_ylim(len(names) - 0.1, -0.9)
    ax.grid(axis="y", visible=False)


_TIME_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


def time_axis(axis: Any, lang: Language, start: float, end: float) -> None:
    """Epoch seconds shown as the site's clock time; ticks on whole seconds, minutes or hours (the site's
    UTC offset is a whole number of quarter hours, so UTC-aligned steps are aligned locally too)."""
    span = max(end - start, 1.0)
    step = next((s for s in _TIME_STEPS if span / s <= 7), _TIME_STEPS[-1])
    axis.set_major_locator(ticker.MultipleLocator(step))
    fmt: Callable[[float, Any], str] = (lambda x, _: lang.time(x)) if step < 60 else (
        lambda x, _: lang.time(x)[:5])
    axis.set_major_formatter(ticker.FuncFormatter(fmt))


def legend_below(fig: Figure, ax: Any, ncols: int = 4) -> None:
    """The legend under the plot, where it never hides a bar or a line."""
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncols=min(ncols, len(handles)), frameon=False)


def direction_label(direction: str, lang: Language) -> str:
    if direction == "up":
        return lang.pick("Richtung ↑ (zur Gegenstelle)", "Direction ↑ (towards the far end)")
    if direction == "down":
        return lang.pick("Richtung ↓ (von der Gegenstelle)", "Direction ↓ (from the far end)")
    return lang.pick("beide Richtungen", "both directions")


def colour(direction: str) -> str:
    return {"up": UP, "down": DOWN}.get(direction, ALL)


def breaches(value: float, op: str, threshold: float) -> bool:
    """Whether a value misses the requirement `op threshold` (the criterion's own comparison)."""
    if op in ("<=", "<"):
        return value > threshold if op == "<=" else value >= threshold
    if op in (">=", ">"):
        return value < threshold if op == ">=" else value <= threshold
    return False


def worse_is_higher(op: str) -> bool:
    return op not in (">=", ">")
