"""What a probe is and what it is given. A probe measures and records; it never judges.

A probe gets a ProbeContext: the site, a Recorder to write records to, and events telling it when
the traffic tests start and end (background probes such as a capture stop on `traffic_done`).
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol

from .. import metrics as metric_catalog
from ..config.site import SiteSpec
from ..model import Artefact, Detail, Measurement, NotMeasured, Series, Verdict
from ..progress import Progress, NullProgress


class Recorder(Protocol):
    def measurement(self, m: Measurement) -> None: ...
    def series(self, s: Series) -> None: ...
    def not_measured(self, n: NotMeasured) -> None: ...
    def artefact(self, a: Artefact) -> None: ...
    def detail(self, d: Detail) -> None: ...
    def note(self, probe: str, level: str, message: str) -> None: ...
    def artefact_dir(self, probe: str) -> Path: ...
    def relative(self, path: Path) -> str: ...


class MemoryRecorder:
    """Keeps records in lists: for one-off commands (`readiness snmp audit`) and tests."""

    def __init__(self, artefacts: Path | None = None):
        self.measurements: list[Measurement] = []
        self.series_list: list[Series] = []
        self.missing: list[NotMeasured] = []
        self.artefacts: list[Artefact] = []
        self.notes: list[tuple[str, str, str]] = []
        self.details: list[Detail] = []
        self._dir = artefacts

    def measurement(self, m: Measurement) -> None:
        self.measurements.append(m)

    def series(self, s: Series) -> None:
        self.series_list.append(s)

    def not_measured(self, n: NotMeasured) -> None:
        self.missing.append(n)

    def artefact(self, a: Artefact) -> None:
        self.artefacts.append(a)

    def note(self, probe: str, level: str, message: str) -> None:
        self.notes.append((probe, level, message))

    def detail(self, d: Detail) -> None:
        self.details.append(d)

    def artefact_dir(self, probe: str) -> Path:
        if self._dir is None:
            import tempfile

            self._dir = Path(tempfile.mkdtemp(prefix="readiness-"))
        d = self._dir / probe
        d.mkdir(parents=True, exist_ok=True)
        return d

    def relative(self, path: Path) -> str:
        return str(path)


@dataclass
class ProbeContext:
    site: SiteSpec
    recorder: Recorder
    progress: Progress = field(default_factory=NullProgress)
    traffic_started: asyncio.Event = field(default_factory=asyncio.Event)
    traffic_done: asyncio.Event = field(default_factory=asyncio.Event)
    shared: dict[str, Any] = field(default_factory=dict)   # state handed between probes (snapshots)
    wanted: set[str] = field(default_factory=set)           # metrics the profile judges
    wanted_phases: set[str] = field(default_factory=set)    # phases of calls under load criteria select
    traffic_planned: bool = True                            # traffic probes run (else background ones end by themselves)
    # The run's judge, for a probe that must know a verdict to go on (the capacity search's next step):
    # judge(measurements, series, not_measured, probe) -> verdicts of the profile's criteria on that
    # probe's metrics. Probes never judge themselves.
    judge: Callable[[list[Measurement], list[Series], list[NotMeasured], str], list[Verdict]] | None = None


class Probe(ABC):
    """One kind of measurement. `phase` decides when the runner starts it:

    audit       before the traffic tests, all audits concurrently (SNMP)
    background  from before the traffic until it is done (capture)
    traffic     one after another (calls, iperf3)
    after       after the traffic (SNMP counters again)
    """

    name: str = ""
    phase: str = "traffic"
    on_request: str = ""     # runs only when a command names it (this text says which, else why not)

    def metrics(self) -> list[str]:
        return [m.name for m in metric_catalog.METRICS.values() if m.probe == self.name]

    @abstractmethod
    def configured(self, site: SiteSpec) -> str | None:
        """None if the site file gives this probe what it needs, else why not (one line)."""

    @abstractmethod
    async def run(self, ctx: ProbeContext) -> None:
        """Measure and record. Raise ReadinessError for a clear, expected failure."""
