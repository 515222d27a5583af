"""Errors a user can cause. The CLI turns them into one line on stderr and exit status 2."""

from __future__ import annotations


class ReadinessError(Exception):
    """Something the user can fix: bad input, a missing tool, an unreachable service."""

    exit_status = 2


class ConfigError(ReadinessError):
    """A profile or site file is wrong. Carries every problem found, each as 'FILE:LINE: what'."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class ToolMissing(ReadinessError):
    """An external program (tshark, iperf3, snmpsim, ...) is not installed."""
