"""What the plots share beside drawing: the requirement a plot draws in, and a metric's words."""

from __future__ import annotations

from ...results import CriterionResult, RunResults
from .. import findings, measures
from ..language import Language

COMPARISONS = ("<", "<=", ">", ">=")


def criterion(results: RunResults, metric: str, direction: str = "") -> CriterionResult | None:
    """The criterion a plot of `metric` draws in: one selecting this direction, else one for all."""
    mine = [c for c in results.criteria if c.metric == metric and c.op in COMPARISONS
            and isinstance(c.threshold, (int, float)) and not isinstance(c.threshold, bool)]
    for c in mine:
        if direction and c.select.get("direction") == direction:
            return c
    return next((c for c in mine if "direction" not in c.select), mine[0] if mine else None)


def noun(metric: str, lang: Language) -> str:
    """'Jitter', 'Paketverlust', 'Round-trip time': the quantity as an axis names it."""
    w = measures.words(metric)
    text = w.noun(lang.code, article=False) if w else metric
    return text[:1].upper() + text[1:]


def title(metric: str, lang: Language) -> str:
    w = measures.words(metric)
    return (w.title_de if lang.code == "de" else w.title_en) if w else metric


def axis_label(metric: str, unit: str, lang: Language) -> str:
    shown = lang.unit(unit)
    return f"{noun(metric, lang)} ({shown})" if shown and shown != "1" else noun(metric, lang)


def limit_label(c: CriterionResult, lang: Language) -> str:
    """'Anforderung: höchstens 30 ms' / 'requirement: at most 30 ms'."""
    return lang.pick("Anforderung: {r}", "requirement: {r}", r=findings.required(c, lang))
