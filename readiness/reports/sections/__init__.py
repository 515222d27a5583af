"""Per-probe sections of a run, each rendered from the run's stored details (readiness.details)."""

from __future__ import annotations

from typing import Callable

from rich.console import Console

from ...results import RunResults
from . import calls, capture, drill, iperf, path, snmp

ConsoleSection = Callable[[RunResults, Console], None]


def console_sections(results: RunResults) -> list[ConsoleSection]:
    """The console sections for what this run holds, in pipeline order."""
    return [s for s in (path.console_section(results), snmp.console_section(results), capture.console_section(results),
                        calls.console_section(results), drill.console_section(results),
                        iperf.console_section(results)) if s is not None]
