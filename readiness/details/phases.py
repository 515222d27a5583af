"""Calls under load (probes/calls/phases.py): the load that ran and each phase's summary, as the run
document holds them under `phases` (`alone`, `loaded`, `after`, `load`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from . import typed

PHASES_KEY = "phases"
PHASES = ("alone", "loaded", "after")


@dataclass
class LoadRun:
    """What the load did: when it ran, who served it, what it reached (bits/s per direction)."""
    server: str
    direction: str
    mbps_requested: float | None
    launched: float = 0.0            # epoch seconds
    ended: float = 0.0               # its iperf3 exited
    seconds: float = 0.0             # how long it was to send
    bits_per_second_up: float | None = None
    bits_per_second_down: float | None = None
    iperf3_version: str = ""
    server_version: str | None = None
    error: str = ""
    evidence: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def drain_s(self) -> float:
        """How long after it stopped sending its iperf3 took to exit (queued data draining)."""
        return max(0.0, self.ended - self.launched - self.seconds)


@dataclass
class PhaseSummary:
    """One phase over all calls: the run document's `phases.<name>`. MOS per call is its worse
    direction; loss is pooled over the calls; jitter is the worst call's mean RFC 3550 jitter."""
    start: float
    end: float
    calls: int = 0
    mos_min: float | None = None
    mos_p05: float | None = None
    mos_median: float | None = None
    loss_pct_up: float | None = None
    loss_pct_down: float | None = None
    jitter_ms_up: float | None = None
    jitter_ms_down: float | None = None
    rtt_ms_p95: float | None = None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def phases(details: dict[str, Any]) -> tuple[dict[str, PhaseSummary | None], LoadRun] | None:
    """Each phase's summary (None where it was not measured) and the load; None without phases."""
    doc = details.get(PHASES_KEY)
    if not doc:
        return None
    return ({name: typed(PhaseSummary, doc[name]) if doc.get(name) else None for name in PHASES},
            typed(LoadRun, doc.get("load")))
