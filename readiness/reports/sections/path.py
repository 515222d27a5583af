"""The path section: one line per path check (SIP ALG per transport, NAT binding, OPTIONS, DNS, TLS),
the rows the report's table shows."""

from __future__ import annotations

from rich.console import Console

from ...details import path as path_details
from ...results import RunResults
from ..language import Language
from ..path_rows import path_rows


def console_section(results: RunResults):
    return print_path if path_details.view(results.details) is not None else None


def print_path(results: RunResults, out: Console) -> None:
    rows = path_rows(results, Language("en"))
    assert rows is not None
    for (check, result, particulars, _far_end), bad in zip(rows.rows, rows.bad):
        line = f"{check}: {result}" + (f" ({particulars})" if particulars else "")
        out.print(f"[red]{line}[/]" if bad else line, highlight=False, soft_wrap=True)
