"""The plots of the acceptance report, as inline SVG with a caption each, in the report's language.

`plots(results, lang)` draws only what the run has data for: each metric's series over time per
direction (median and worst across calls, the requirement's line and its breaches), MOS per call as a
distribution, PoE power per switch, UPS runtime against the requirement, and DSCP/802.1p markings
against what the site expects, and a failover drill's timeline. A renderer places each Plot in its probe's section.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ...results import RunResults
from ..language import Language


@dataclass(frozen=True)
class Plot:
    key: str          # e.g. "rtp.jitter_ms", "mos-cdf", "poe", "ups-runtime", "markings"
    section: str      # probe: path, calls, drill, iperf, snmp, capture
    title: str
    caption: str
    svg: str


def plots(results: RunResults, lang: Language) -> list[Plot]:
    from . import bars, capture, drill, path, phases, timeseries  # matplotlib loads only when a report draws plots

    makers: list[Callable[[RunResults, Language], list[Plot]]] = [
        timeseries.plots, bars.mos, phases.plots, bars.poe, bars.ups, bars.markings, path.plots, drill.plots,
        capture.plots]
    out: list[Plot] = []
    for make in makers:
        out += make(results, lang)
    return out
