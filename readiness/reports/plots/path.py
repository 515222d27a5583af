"""The path checks drawn: the SBC's OPTIONS response time over the pings (a gap where one went
unanswered), and the NAT binding's idle times, survived or forgotten, against the requirement."""

from __future__ import annotations

from ...details import path as path_details
from ...results import RunResults
from ..language import Language
from . import Plot, common, svg


def plots(results: RunResults, lang: Language) -> list[Plot]:
    v = path_details.view(results.details)
    if v is None:
        return []
    return _options(v, lang) + _binding(v, results, lang)


def _options(v: path_details.PathView, lang: Language) -> list[Plot]:
    samples = (v.options or {}).get("samples") or []
    if len(samples) < 2:
        return []
    title = lang.pick("Antwortzeit des SBC (SIP OPTIONS)", "SBC response time (SIP OPTIONS)")
    with svg.rc():
        fig = svg.figure(height=2.4)
        ax = fig.subplots()
        ok = [s for s in samples if s.get("rtt_ms") is not None]
        lost = [s for s in samples if s.get("rtt_ms") is None]
        ax.plot([s["t_s"] for s in ok], [s["rtt_ms"] for s in ok], marker="o", color=svg.OK, linewidth=1.0)
        for s in lost:
            ax.axvline(s["t_s"], color=svg.BREACH, linewidth=1.0)
        ax.set_xlabel(lang.pick("Sekunden seit dem ersten Ping", "seconds since the first ping"))
        ax.set_ylabel(lang.pick("ms", "ms"))
        ax.set_ylim(bottom=0)
        svg.number_axis(ax.yaxis, lang)
        text = svg.to_svg(fig, "options", title)
    caption = lang.pick("Ein OPTIONS je Sekunde an {t}; rote Linien: ohne Antwort.",
                        "One OPTIONS a second to {t}; red lines: unanswered.", t=(v.options or {}).get("target", ""))
    return [Plot("options", "path", title, caption, text)]


def _binding(v: path_details.PathView, results: RunResults, lang: Language) -> list[Plot]:
    attempts = (v.nat_binding or {}).get("attempts") or []
    tried = [a for a in attempts if a.get("survived") is not None]
    if not tried:
        return []
    c = common.criterion(results, "path.nat_timeout_s")
    title = lang.pick("NAT-Bindung nach Ruhezeit", "NAT binding after idle time")
    with svg.rc():
        fig = svg.figure(height=2.4)
        ax = fig.subplots()
        x = list(range(len(tried)))
        ax.bar(x, [a["idle_s"] for a in tried], color=[svg.OK if a["survived"] else svg.BREACH for a in tried])
        if c is not None:
            ax.axhline(float(c.threshold), color=svg.LIMIT, linestyle="--", linewidth=1.0,
                       label=common.limit_label(c, lang))
            svg.legend_below(fig, ax, ncols=1)
        ax.set_xticks(x, [f"{lang.number(a['idle_s'])} s" for a in tried])
        ax.set_ylabel(lang.pick("Ruhezeit (s)", "idle time (s)"))
        svg.number_axis(ax.yaxis, lang)
        text = svg.to_svg(fig, "nat-binding", title)
    caption = lang.pick("Je Ruhezeit ein eigener Port: grün kam der Rückruf der Gegenstelle an, rot nicht.",
                        "One port per idle time: green, the far end's call-back arrived; red, it did not.")
    return [Plot("nat-binding", "path", title, caption, text)]
