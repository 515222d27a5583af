"""Calls alone, under load and after, side by side: the worst call's and the median MOS of each phase
with the requirement, and the round trip (p95) each phase had. With working QoS the three look alike;
without it the loaded phase stands out."""

from __future__ import annotations

from ...details import phases as phase_details
from ...results import RunResults
from ..language import Language
from . import Plot, common, svg


def plots(results: RunResults, lang: Language) -> list[Plot]:
    found = phase_details.phases(results.details)
    if found is None:
        return []
    summaries, load = found
    names = {"alone": lang.pick("allein", "alone"), "loaded": lang.pick("unter Last", "under load"),
             "after": lang.pick("danach", "after")}
    shown = [(names[n], summaries[n]) for n in phase_details.PHASES if summaries[n] is not None]
    if not shown:
        return []
    c = next((x for x in results.criteria if x.metric == "call.mos" and x.select.get("phase") == "loaded"), None) \
        or common.criterion(results, "call.mos")
    title = lang.pick("Anrufe allein und unter Last", "Calls alone and under load")
    x = list(range(len(shown)))
    with svg.rc():
        fig = svg.figure(height=2.8)
        mos_ax, rtt_ax = fig.subplots(1, 2)
        worst = [s.mos_min or 0.0 for _, s in shown]
        median = [s.mos_median or 0.0 for _, s in shown]
        mos_ax.bar([i - 0.2 for i in x], worst, width=0.4, color=[
            svg.BREACH if c is not None and svg.breaches(v, c.op, float(c.threshold)) else svg.OK for v in worst],
            label=lang.pick("schlechtester Anruf", "worst call"))
        mos_ax.bar([i + 0.2 for i in x], median, width=0.4, color=svg.GREY, label=lang.pick("Median", "median"))
        if c is not None:
            mos_ax.axhline(float(c.threshold), color=svg.LIMIT, linestyle="--", linewidth=1.0,
                           label=common.limit_label(c, lang))
        mos_ax.set_ylim(1.0, 5.0)
        mos_ax.set_ylabel(lang.pick("MOS (ITU-T G.107)", "MOS (ITU-T G.107)"))
        rtt = [s.rtt_ms_p95 or 0.0 for _, s in shown]
        rtt_ax.bar(x, rtt, width=0.6, color=svg.GREY)
        rtt_ax.set_ylabel(lang.pick("Umlaufzeit p95 (ms)", "Round trip p95 (ms)"))
        for ax in (mos_ax, rtt_ax):
            ax.set_xticks(x, [n for n, _ in shown])
            svg.number_axis(ax.yaxis, lang)
        svg.legend_below(fig, mos_ax, ncols=3)
        text = svg.to_svg(fig, "phases", title)
    mbps = load.bits_per_second_up or load.bits_per_second_down
    caption = lang.pick("Dieselben Anrufe ohne Last, während iperf3 die Leitung mit Best-Effort-TCP füllte{r}, "
                        "und danach.", "The same calls without load, while iperf3 filled the link with best-effort "
                        "TCP{r}, and after.",
                        r=f" ({lang.value(mbps / 1e6, 'Mbit/s')})" if mbps else "")
    return [Plot("phases", "calls", title, caption, text)]
