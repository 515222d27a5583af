"""The summary table printed at the end of a run: one row per criterion, then why anything did not pass."""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from rich.table import Table

from ..units import format_value

_STYLE = {"pass": "green", "fail": "bold red", "warn": "yellow", "not_measured": "dim", "error": "magenta",
          "incomplete": "bold yellow"}


def _required(c: dict[str, Any]) -> str:
    need = f"{c['op']} {format_value(c['threshold'], c['unit'])}"
    if c.get("window"):
        need += f" in any {c['window']}"
    if c.get("aggregate", "each") != "each":
        need += f" ({c['aggregate']})"
    if c.get("severity") == "should":
        need += " (should)"
    return need


def print_summary(results: dict[str, Any], console: Console | None = None) -> None:
    # Piped output (logs, CI) gets a width that fits the table instead of the 80-column default.
    console = console or (Console() if sys.stdout.isatty() else Console(width=120))
    table = Table(title=f"{results['site']} - profile {results['profile']}")
    table.add_column("criterion", no_wrap=True)
    table.add_column("verdict", no_wrap=True)
    table.add_column("measured", justify="right")
    table.add_column("required")
    table.add_column("worst / where", overflow="fold")
    for c in results["criteria"]:
        verdict = c["verdict"].replace("_", " ")
        where = c.get("subject") or ""
        if c.get("subjects", 0) > 1:
            where += f" (of {c['subjects']})"
        table.add_row(c["id"],
                      f"[{_STYLE.get(c['verdict'], '')}]{verdict}[/]",
                      format_value(c["measured"], c["unit"]), _required(c), where)
    console.print(table)
    problems = [c for c in results["criteria"] if c["verdict"] != "pass"]
    for c in problems:
        label = c["verdict"].replace("_", " ")
        console.print(f"  [{_STYLE.get(c['verdict'], '')}]{label}[/] {c['id']}: {c['explanation']}", highlight=False)
    counts = results["counts"]
    verdict = results["verdict"]
    console.print(f"Verdict: [{_STYLE.get(verdict, '')}]{verdict.upper()}[/]  "
                  f"({counts['pass']} passed, {counts['fail']} failed, {counts['warn']} warnings, "
                  f"{counts['not_measured']} not measured, {counts['error']} errors)")
    if not results.get("complete", True):
        console.print(f"[bold yellow]Incomplete:[/] {results.get('interrupted_reason', '')}")
