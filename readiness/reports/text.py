"""The words and colours every renderer shares: one colour per verdict, one "required" text."""

from __future__ import annotations

from typing import Any

from ..results import CriterionResult
from ..units import format_value

# rich styles per verdict (criterion outcomes and run verdicts)
STYLE = {"pass": "green", "fail": "bold red", "warn": "yellow", "not_measured": "dim", "not_applicable": "dim",
         "error": "magenta", "incomplete": "bold yellow"}


def verdict_word(verdict: str) -> str:
    return verdict.replace("_", " ")


def styled(verdict: str, text: str | None = None) -> str:
    return f"[{STYLE.get(verdict, '')}]{text if text is not None else verdict_word(verdict)}[/]"


def required(c: CriterionResult) -> str:
    """What a criterion asks for: '<= 1% in any 15 s (max) (should)'."""
    need = f"{c.op} {format_value(c.threshold, c.unit)}"
    if c.window:
        need += f" in any {c.window}"
    if c.aggregate != "each":
        need += f" ({c.aggregate})"
    if c.severity == "should":
        need += " (should)"
    return need


def number(v: Any, digits: int = 2) -> str:
    """A table cell: '-' for nothing, floats to `digits` places."""
    if v is None:
        return "-"
    return f"{v:.{digits}f}" if isinstance(v, float) else str(v)
