"""A run on the terminal: the probe's own section (a one-probe command), then one row per criterion,
why anything did not pass (equal reasons grouped), and the verdict."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.table import Table

from ..results import CriterionResult, RunResults
from ..units import format_value
from .sections import console_sections
from .text import required, styled

# Commands whose console output is the verdict table alone; the sections are in the report.
SUMMARY_ONLY = ("run", "demo")


def console() -> Console:
    # Piped output (logs, CI) gets a width that fits the tables instead of the 80-column default.
    return Console() if sys.stdout.isatty() else Console(width=160)


def print_run(results: RunResults, out: Console | None = None) -> None:
    out = out or console()
    if results.command not in SUMMARY_ONLY:
        for section in console_sections(results):
            section(results, out)
    print_summary(results, out)


def print_summary(results: RunResults, out: Console | None = None) -> None:
    out = out or console()
    table = Table(title=f"{results.site} - profile {results.profile}")
    table.add_column("criterion", no_wrap=True)
    table.add_column("verdict", no_wrap=True)
    table.add_column("measured", justify="right")
    table.add_column("required")
    table.add_column("worst / where", overflow="fold")
    for c in results.criteria:
        where = c.subject + (f" (of {c.subjects})" if c.subjects > 1 else "")
        table.add_row(c.id, styled(c.verdict), format_value(c.measured, c.unit), required(c), where)
    if results.criteria:
        out.print(table)
    for verdict, ids, explanation in grouped_problems(results.criteria):
        out.print(f"  {styled(verdict)} {', '.join(ids)}: {explanation}", highlight=False)
    counts = results.counts
    na = f", {counts['not_applicable']} not applicable" if counts["not_applicable"] else ""
    out.print(f"Verdict: {styled(results.verdict, results.verdict.upper())}  "
              f"({counts['pass']} passed, {counts['fail']} failed, {counts['warn']} warnings, "
              f"{counts['not_measured']} not measured{na}, {counts['error']} errors)")
    if not results.complete:
        out.print(f"[bold yellow]Incomplete:[/] {results.interrupted_reason}")


def grouped_problems(criteria: list[CriterionResult]) -> list[tuple[str, list[str], str]]:
    """Criteria that did not pass, those with the same verdict and explanation on one line."""
    groups: dict[tuple[str, str], list[str]] = {}
    for c in criteria:
        if c.verdict != "pass":
            groups.setdefault((c.verdict, c.explanation), []).append(c.id)
    return [(verdict, ids, explanation) for (verdict, explanation), ids in groups.items()]
