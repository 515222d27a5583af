"""The plots of single values: MOS per call as a distribution, PoE power per switch, UPS runtime, and
the share of packets carrying the expected marking. Each shows the requirement it was judged against."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.patches import Patch

from ... import dscp as dscp_mod
from ...details import calls as calls_details
from ...details import capture as capture_details
from ...details import snmp as snmp_details
from ...results import CriterionResult, RunResults
from .. import findings
from ..language import Language
from . import Plot, common, svg


def _numeric(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def _bar_colour(value: float, c: CriterionResult | None) -> str:
    if c is None or not svg.breaches(value, c.op, float(c.threshold)):
        return svg.OK
    return svg.BREACH if c.severity == "must" else svg.WARN


# --- MOS ---------------------------------------------------------------------------------------------

def mos(results: RunResults, lang: Language) -> list[Plot]:
    """MOS of every call and direction as a cumulative distribution (ITU-T G.107 E-model MOS)."""
    values: dict[str, list[float]] = {}
    for m in results.measurements:
        if m.metric == "call.mos" and _numeric(m.value) and "phase" not in m.tags:
            values.setdefault(m.tags.get("direction", ""), []).append(float(m.value))
    if not values:
        for row in calls_details.calls(results.details):
            for d, v in (("up", row.mos_up), ("down", row.mos_down)):
                if _numeric(v):
                    values.setdefault(d, []).append(float(v))
    if not values:
        return []
    c = common.criterion(results, "call.mos")
    title = lang.pick("Sprachqualität (MOS) je Anruf und Richtung", "Voice quality (MOS) per call and direction")
    everything = [v for vs in values.values() for v in vs]
    with svg.rc():
        fig = svg.figure(height=3.0)
        ax = fig.add_subplot()
        for direction in ("up", "down", ""):
            if direction not in values:
                continue
            x = np.sort(np.array(values[direction]))
            y = np.arange(1, len(x) + 1) / len(x) * 100
            colour = svg.colour(direction)
            # the curve starts at 0 % left of the lowest call, so one call alone still shows as a step
            ax.step(np.concatenate([[x[0]], x]), np.concatenate([[0.0], y]), where="post", color=colour,
                    linewidth=1.5, label=lang.pick("{d}, {n} Anrufe", "{d}, {n} calls", n=lang.number(len(x)),
                                                   d=svg.direction_label(direction, lang).split(" (")[0]))
            if c is not None:
                bad = np.array([svg.breaches(v, c.op, float(c.threshold)) for v in x])
                if bad.any():
                    ax.plot(x[bad], y[bad], linestyle="none", marker="o", markersize=4, color=svg.BREACH)
        mos_cdf_axes(ax, c, min(everything), max(everything), lang,
                     lang.pick("Anteil der Anrufe bis zu diesem MOS (%)", "Share of calls up to this MOS (%)"))
        text = svg.to_svg(fig, "mos-cdf", title)
    n = len(everything)
    caption = lang.pick("Summenkurve der MOS-Werte aller {n} Anrufrichtungen",
                        "Cumulative distribution of the MOS of all {n} call directions", n=lang.number(n))
    if c is not None:
        k = sum(svg.breaches(v, c.op, float(c.threshold)) for v in everything)
        caption += lang.pick("; {r}; {k} von {n} liegen darunter (rot).", "; {r}; {k} of {n} fall short (red).",
                             r=common.limit_label(c, lang), k=lang.number(k), n=lang.number(n))
    else:
        caption += "."
    return [Plot("mos-cdf", "calls", title, caption, text)]


def mos_cdf_axes(ax: Any, c: CriterionResult | None, lo: float, hi: float, lang: Language, ylabel: str) -> None:
    """The frame of a MOS distribution (this run's, or two runs' over each other): MOS from just below
    the lowest value to 5 with the requirement's line in view, the side short of it shaded, 0-100 %."""
    if c is not None:
        ax.axvline(float(c.threshold), color=svg.LIMIT, linestyle="--", linewidth=1.0,
                   label=common.limit_label(c, lang))
        lo, hi = min(lo, float(c.threshold)), max(hi, float(c.threshold))
    left = max(1.0, lo - 0.2)
    ax.set_xlim(left, min(5.0, max(hi + 0.1, 4.5)))
    if c is not None and c.op in (">=", ">"):
        ax.axvspan(left, float(c.threshold), color=svg.BREACH, alpha=0.06, linewidth=0)
    ax.set_ylim(0, 105)
    ax.set_xlabel(lang.pick("MOS (E-Modell nach ITU-T G.107)", "MOS (E-model, ITU-T G.107)"))
    ax.set_ylabel(ylabel)
    svg.number_axis(ax.xaxis, lang)
    svg.number_axis(ax.yaxis, lang)
    ax.legend(loc="upper left", frameon=True, framealpha=0.85, edgecolor="none")


# --- PoE ---------------------------------------------------------------------------------------------

def poe(results: RunResults, lang: Language) -> list[Plot]:
    """Power per switch: drawn now, planned phones and the reserve against the PSE budget; with no budget in
    the details, the reserve alone (poe.headroom_w) against the required minimum."""
    c = common.criterion(results, "poe.headroom_w")
    rows = [(d.name, d.poe) for d in snmp_details.devices(results.details)
            if d.poe and _numeric(d.poe.budget_w) and _numeric(d.poe.consumption_w)]
    title = lang.pick("PoE-Leistung je Switch", "PoE power per switch")
    if rows:
        return [_poe_budget(rows, c, title, lang)]
    headroom = [(m.tags.get("device") or m.subject, float(m.value)) for m in results.measurements
                if m.metric == "poe.headroom_w" and _numeric(m.value)]
    if not headroom:
        return []
    with svg.rc():
        fig = svg.figure(height=1.5 + 0.4 * len(headroom))
        ax = fig.add_subplot()
        names = [n for n, _ in headroom]
        vals = [v for _, v in headroom]
        ax.barh(range(len(vals)), vals, color=[_bar_colour(v, c) for v in vals], height=0.5)
        for i, v in enumerate(vals):
            ax.annotate(lang.value(v, "W"), (v, i), xytext=(4 if v >= 0 else -4, 0), textcoords="offset points",
                        ha="left" if v >= 0 else "right", va="center", fontsize=8)
        ax.axvline(0, color=svg.GREY, linewidth=0.8)
        if c is not None:
            ax.axvline(float(c.threshold), color=svg.LIMIT, linestyle="--", linewidth=1.0,
                       label=common.limit_label(c, lang))
            svg.legend_below(fig, ax)
        span = max(abs(v) for v in [*vals, float(c.threshold) if c else 0.0, 1.0])
        ax.set_xlim(min(0.0, *vals) - 0.25 * span, max(0.0, *vals) + 0.25 * span)
        svg.bar_rows(ax, names)
        ax.set_xlabel(lang.pick("PoE-Reserve (W)", "PoE reserve (W)"))
        svg.number_axis(ax.xaxis, lang)
        text = svg.to_svg(fig, "poe", title)
    caption = lang.pick("Reserve = PoE-Budget minus Verbrauch minus geplante Telefone; unter null reicht das "
                        "Budget nicht für alle Telefone.", "Reserve = PoE budget minus power drawn minus the planned "
                        "phones; below zero the budget does not cover every phone.")
    return [Plot("poe", "snmp", title, caption, text)]


def _poe_budget(rows: list[tuple[str, Any]], c: CriterionResult | None, title: str, lang: Language) -> Plot:
    with svg.rc():
        fig = svg.figure(height=1.6 + 0.45 * len(rows))
        ax = fig.add_subplot()
        labels = {"used": lang.pick("verbraucht", "drawn"), "planned": lang.pick("geplante Telefone", "planned phones"),
                  "free": lang.pick("Reserve", "reserve"), "over": lang.pick("über dem Budget", "over budget"),
                  "budget": lang.pick("PoE-Budget", "PoE budget")}
        seen: set[str] = set()

        def bar(i: int, left: float, width: float, kind: str, colour: str, **kw: Any) -> None:
            if width <= 0:
                return
            ax.barh(i, width, left=left, height=0.5, color=colour, label=None if kind in seen else labels[kind], **kw)
            seen.add(kind)

        for i, (_, p) in enumerate(rows):
            budget, used = float(p.budget_w), float(p.consumption_w)
            head = float(p.headroom_w) if _numeric(p.headroom_w) else budget - used
            planned = max(0.0, budget - used - head)
            bar(i, 0, min(used, budget), "used", svg.UP)
            bar(i, min(used, budget), min(planned, max(0.0, budget - used)), "planned", "#56B4E9", hatch="//",
                edgecolor="white")
            bar(i, used + planned, head, "free", svg.OK, alpha=0.35)
            bar(i, budget, max(0.0, used + planned - budget), "over", svg.BREACH)
            ax.plot([budget, budget], [i - 0.38, i + 0.38], color=svg.LIMIT, linewidth=2,
                    label=None if "budget" in seen else labels["budget"])
            seen.add("budget")
            ax.annotate(lang.pick("Reserve {v}", "reserve {v}", v=lang.value(head, "W")),
                        (max(budget, used + planned), i), xytext=(6, 0), textcoords="offset points", va="center",
                        fontsize=8, color=svg.BREACH if c and svg.breaches(head, c.op, float(c.threshold)) else "black")
        svg.bar_rows(ax, [n for n, _ in rows])
        ax.set_xlim(0, max(max(float(p.budget_w), float(p.consumption_w)) for _, p in rows) * 1.3)
        ax.set_xlabel(lang.pick("Leistung (W)", "Power (W)"))
        svg.number_axis(ax.xaxis, lang)
        svg.legend_below(fig, ax, 5)
        text = svg.to_svg(fig, "poe", title)
    caption = lang.pick("Verbrauch und geplante Telefone gegen das PoE-Budget des Switches",
                        "Power drawn and the planned phones against the switch's PoE budget")
    caption += ("; " + common.limit_label(c, lang) + lang.pick(" Reserve.", " reserve.")) if c else "."
    return Plot("poe", "snmp", title, caption, text)


# --- UPS ---------------------------------------------------------------------------------------------

def ups(results: RunResults, lang: Language) -> list[Plot]:
    runtimes = [(m.tags.get("device") or m.subject, float(m.value)) for m in results.measurements
                if m.metric == "ups.runtime_min" and _numeric(m.value)]
    if not runtimes:
        runtimes = [(d.name, float(d.ups.runtime_min)) for d in snmp_details.devices(results.details)
                    if d.ups and _numeric(d.ups.runtime_min)]
    if not runtimes:
        return []
    c = common.criterion(results, "ups.runtime_min")
    title = lang.pick("USV-Überbrückungszeit", "UPS runtime")
    with svg.rc():
        fig = svg.figure(height=1.5 + 0.4 * len(runtimes))
        ax = fig.add_subplot()
        vals = [v for _, v in runtimes]
        ax.barh(range(len(vals)), vals, color=[_bar_colour(v, c) for v in vals], height=0.5)
        for i, v in enumerate(vals):
            ax.annotate(lang.value(v, "min"), (v, i), xytext=(4, 0), textcoords="offset points", va="center",
                        fontsize=8)
        top = max(vals)
        if c is not None:
            ax.axvline(float(c.threshold), color=svg.LIMIT, linestyle="--", linewidth=1.0,
                       label=common.limit_label(c, lang))
            svg.legend_below(fig, ax)
            top = max(top, float(c.threshold))
        ax.set_xlim(0, top * 1.25)
        svg.bar_rows(ax, [n for n, _ in runtimes])
        ax.set_xlabel(lang.pick("Überbrückungszeit bei aktueller Last (min)", "Runtime at the present load (min)"))
        svg.number_axis(ax.xaxis, lang)
        text = svg.to_svg(fig, "ups-runtime", title)
    caption = lang.pick("Restlaufzeit, die die USV bei ihrer jetzigen Last meldet",
                        "Runtime the UPS reports at its present load")
    caption += ("; " + common.limit_label(c, lang) + ".") if c else "."
    return [Plot("ups-runtime", "snmp", title, caption, text)]


# --- Markings ----------------------------------------------------------------------------------------

Row = tuple[str, list[tuple[float, str, bool]], CriterionResult | None, float | None]   # label, segments, c, required %


def markings(results: RunResults, lang: Language) -> list[Plot]:
    """Per direction and per captured class of traffic, the share of packets with the expected marking
    (DSCP per RFC 4594's telephony class, 802.1p for tagged voice frames) and what else arrived."""
    rows = _call_rows(results, lang) + _capture_rows(results, lang)
    if not rows:
        return []
    section = "capture" if any(r[0].startswith(lang.pick("Mitschnitt", "Capture")) for r in rows) else "calls"
    title = lang.pick("Markierung der Sprachpakete", "Marking of the voice packets")
    others = ["#E69F00", "#CC79A7", "#F0E442", svg.GREY, "#999999"]
    with svg.rc():
        fig = svg.figure(height=1.6 + 0.45 * len(rows))
        ax = fig.add_subplot()
        limit_shown = False
        for i, (_, segments, c, required) in enumerate(rows):
            left = 0.0
            k = 0
            for share, name, expected in segments:
                colour = svg.OK if expected else others[min(k, len(others) - 1)]
                k += 0 if expected else 1
                ax.barh(i, share, left=left, height=0.5, color=colour, edgecolor="white", linewidth=0.5)
                if share >= 9:
                    ax.text(left + share / 2, i, f"{name} {lang.number(share, 0)}\u00a0%", ha="center", va="center",
                            fontsize=7.5, color="white" if expected else "black")
                left += share
            if required is not None:
                ax.plot([required, required], [i - 0.4, i + 0.4], color=svg.LIMIT, linewidth=1.8,
                        label=None if limit_shown else lang.pick("Anforderung", "requirement"))
                limit_shown = True
        svg.bar_rows(ax, [r[0] for r in rows])
        ax.set_xlim(0, 101)            # room for a requirement of 100 %
        ax.set_xlabel(lang.pick("Anteil der Pakete (%)", "Share of packets (%)"))
        svg.number_axis(ax.xaxis, lang)
        handles, labels = ax.get_legend_handles_labels()
        handles += [Patch(color=svg.OK), Patch(color=others[0])]
        labels += [lang.pick("erwartete Markierung", "expected marking"), lang.pick("andere Markierung", "other marking")]
        fig.legend(handles, labels, loc="outside lower center", ncols=3, frameon=False)
        text = svg.to_svg(fig, "markings", title)
    parts = [f"{label}: {findings.required(c, lang)}" + (lang.pick(" ummarkiert", " remarked")
                                                         if c.metric == "rtp.dscp_remarked_pct" else "")
             for label, _, c, _ in rows if c]
    caption = lang.pick("Grün: Pakete mit der erwarteten Markierung; senkrechter Strich: Anforderung",
                        "Green: packets with the expected marking; vertical bar: requirement")
    caption += (" (" + "; ".join(parts) + ").") if parts else "."
    return [Plot("markings", section, title, caption, text)]


def _call_rows(results: RunResults, lang: Language) -> list[Row]:
    remarked: dict[str, list[float]] = {}
    for m in results.measurements:
        if m.metric == "rtp.dscp_remarked_pct" and _numeric(m.value):
            remarked.setdefault(m.tags.get("direction", ""), []).append(float(m.value))
    rows: list[Row] = []
    for direction in ("up", "down", ""):
        if direction not in remarked:
            continue
        c = common.criterion(results, "rtp.dscp_remarked_pct", direction)
        other = float(np.mean(remarked[direction]))
        label = lang.pick("Anrufe {d}", "Calls {d}", d=svg.direction_label(direction, lang).split(" (")[0])
        kept = lang.pick("erwartet", "expected")
        required = 100.0 - float(c.threshold) if c and c.op in ("<=", "<") else None
        rows.append((label, [(100.0 - other, kept, True), (other, lang.pick("ummarkiert", "remarked"), False)],
                     c, required))
    return rows


def _capture_rows(results: RunResults, lang: Language) -> list[Row]:
    details = capture_details.of(results.details)
    mk = details.markings if details else None
    rows: list[Row] = []
    kinds = (("capture.media_dscp_ok_pct", lang.pick("Mitschnitt Sprache (DSCP)", "Capture voice (DSCP)")),
             ("capture.signalling_dscp_ok_pct", lang.pick("Mitschnitt SIP (DSCP)", "Capture SIP (DSCP)")),
             ("capture.voice_pcp_ok_pct", lang.pick("Mitschnitt Sprache (802.1p)", "Capture voice (802.1p)")))
    for metric, label in kinds:
        c = common.criterion(results, metric)
        required = float(c.threshold) if c and c.op in (">=", ">") else None
        seen, expected = {}, []
        if mk and metric == "capture.media_dscp_ok_pct":
            seen, expected = mk.media_dscp_seen, [mk.expected_media]
        elif mk and metric == "capture.signalling_dscp_ok_pct":
            seen, expected = mk.signalling_dscp_seen, list(mk.expected_signalling)
        if seen and sum(seen.values()) > 0:
            rows.append((label, _classes(seen, expected, lang), c, required))
            continue
        ok = [float(m.value) for m in results.measurements if m.metric == metric and _numeric(m.value)]
        if not ok:
            continue
        share = float(np.mean(ok))
        rows.append((label, [(share, lang.pick("erwartet", "expected"), True),
                             (100.0 - share, lang.pick("andere", "other"), False)], c, required))
    return rows


def _classes(seen: dict[str, int], expected: list[str], lang: Language) -> list[tuple[float, str, bool]]:
    """Packets per DSCP as shares, the expected classes first."""
    def code(name: Any) -> int | None:
        try:
            return dscp_mod.parse(name)
        except ValueError:
            return None
    wanted = {code(e) for e in expected} - {None}
    total = float(sum(seen.values()))
    out = []
    for name, count in seen.items():
        number = code(name)
        label = dscp_mod.name(number) if number is not None else str(name)
        out.append((100.0 * count / total, label, number in wanted))
    return sorted(out, key=lambda s: (not s[2], -s[0]))
