"""The summary table printed at the end of a run."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from ..units import format_value

_STYLE = {"pass": "green", "fail": "bold red", "warn": "yellow", "not_measured": "dim", "error": "magenta",
          "incomplete": "bold yellow"}


def print_summary(results: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    table = Table(title=f"{results['site']} - profile {results['profile']}", show_lines=False)
    table.add_column("criterion")
    table.add_column("verdict")
    table.add_column("measured", justify="right")
    table.add_column("required")
    table.add_column("why", overflow="fold")
    for c in results["criteria"]:
        need = f"{c['op']} {format_value(c['threshold'], c['unit'])}"
        if c.get("window"):
            need += f" in any {c['window']}"
        verdict = c["verdict"].replace("_", " ")
        table.add_row(c["id"] + (" (should)" if c["severity"] == "should" else ""),
                      f"[{_STYLE.get(c['verdict'], '')}]{verdict}[/]",
                      format_value(c["measured"], c["unit"]), need, c["explanation"])
    console.print(table)
    counts = results["counts"]
    verdict = results["verdict"]
    console.print(f"Verdict: [{_STYLE.get(verdict, '')}]{verdict.upper()}[/]  "
                  f"({counts['pass']} passed, {counts['fail']} failed, {counts['warn']} warnings, "
                  f"{counts['not_measured']} not measured, {counts['error']} errors)")
    if not results.get("complete", True):
        console.print(f"[bold yellow]Incomplete:[/] {results.get('interrupted_reason', '')}")
