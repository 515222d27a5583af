"""The records every stage shares. Plain dataclasses, serialisable to JSON and back.

Probes produce Measurement, Series and NotMeasured records; acceptance turns them and Criterion
records into Verdicts; reports read them back from a stored run.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Iterator, Sequence

Value = float | int | bool | str | None


_LEAVES = (str, int, float, bool, type(None))


def plain(value: Any) -> Any:
    """dataclasses.asdict without its deep copy of every leaf: records, dicts, lists and tuples are
    rebuilt, everything else is shared. A capture's details (every stream's per-second series) made
    asdict take 1.2 s of a 5 s `readiness analyze` of a million packets."""
    t = type(value)
    if t in _LEAVES:
        return value
    if t is list:
        return list(value) if all(type(v) in _LEAVES for v in value) else [plain(v) for v in value]
    if t is dict:
        return {k: v if type(v) in _LEAVES else plain(v) for k, v in value.items()}
    if hasattr(t, "__dataclass_fields__"):
        return {f.name: plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, tuple):
        items = [plain(v) for v in value]
        return t(*items) if hasattr(value, "_fields") else t(items)
    return value


class _Record:
    """JSON round trip shared by the records: plain dicts out, known fields back in."""

    def to_json(self) -> dict[str, Any]:
        return plain(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Any:
        return cls(**_known(cls, data))


@dataclass(frozen=True)
class Measurement(_Record):
    """One measured value of one metric for one subject (a call direction, a device, a port)."""

    metric: str                       # dotted name from readiness.metrics, e.g. "rtp.loss_pct"
    value: Value                      # in the metric's canonical unit; None = could not be read
    unit: str
    subject: str = ""                 # human label: "call 12 up", "switch 10.0.0.2 Gi1/0/3"
    probe: str = ""
    start: float | None = None        # wall-clock seconds (epoch) the value covers
    end: float | None = None
    tags: dict[str, str] = field(default_factory=dict)   # direction, path, device, call ... for criteria `select`
    evidence: list[str] = field(default_factory=list)     # artefact paths relative to the run folder
    reason: str = ""                  # why value is None, when it is


@dataclass(frozen=True)
class Sample:
    """One point of a time series: the value over [t, t + step)."""

    t: float
    value: float | None
    weight: float = 1.0


@dataclass(frozen=True)
class Series(_Record):
    """A regular time series of one metric for one subject (per-second loss of call 12 upstream, ...).

    `weights` carry the denominator of ratio metrics (packets expected in that step) so a window's
    loss is lost/expected over the window, not an average of percentages.

    A probe gives lists (None where there is no value); a series read back from a run holds
    `array('d')` with NaN for None: 8 bytes a value instead of some 32, which is what lets a run of
    many hour-long calls be judged and rendered in little memory.
    """

    metric: str
    unit: str
    subject: str
    probe: str
    start: float                      # epoch seconds of the first sample
    step: float                       # seconds per sample
    values: Sequence[float | None]
    weights: Sequence[float] | None = None
    tags: dict[str, str] = field(default_factory=dict)

    def samples(self) -> Iterator[Sample]:
        for i, v in enumerate(self.values):
            w = self.weights[i] if self.weights is not None else 1.0
            yield Sample(self.start + i * self.step, None if v is None or v != v else v, w)

    def to_json(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["values"] = [None if v is None or v != v else v for v in self.values]
        d["weights"] = None if self.weights is None else list(self.weights)
        d["tags"] = dict(self.tags)
        return d

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Series":
        known = _known(cls, data)
        known["values"] = array("d", (math.nan if v is None else v for v in known.get("values") or ()))
        if known.get("weights") is not None:
            known["weights"] = array("d", known["weights"])
        return cls(**known)


@dataclass(frozen=True)
class NotMeasured(_Record):
    """A metric that a probe could not measure, and why (device unreachable, tool missing, not configured)."""

    metric: str
    reason: str
    subject: str = ""
    probe: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    # the probe worked and found nothing of the kind (no SIP in a capture): an optional criterion is
    # then not applicable, while a probe that failed leaves it not measured
    absent: bool = False


@dataclass(frozen=True)
class Criterion(_Record):
    """One acceptance criterion of a resolved profile, threshold already in the metric's unit."""

    id: str
    metric: str
    op: str                           # <, <=, >, >=, ==, !=, in, not_in
    threshold: Any                    # number in `unit`, or a label / list of labels for enum metrics
    unit: str
    severity: str = "must"            # must | should
    window_s: float | None = None     # evaluate over every sliding window of this length
    aggregate: str = "each"           # each | min | max | mean | median | p05 | p95 | sum | count
    select: dict[str, str] = field(default_factory=dict)  # only measurements whose tags match
    source: str = ""
    description: str = ""
    threshold_text: str = ""          # as written in the profile, for reports
    origin: str = ""                  # "profiles/x.yaml:12"
    optional: bool = False            # nothing to judge at all (no SIP in a capture) is not applicable, not incomplete


OUTCOMES = ("pass", "fail", "warn", "not_measured", "not_applicable", "error")


@dataclass(frozen=True)
class Verdict(_Record):
    """The judgement of one criterion, with the value that decided it and where it came from."""

    criterion: str                    # criterion id
    metric: str
    outcome: str                      # one of OUTCOMES
    measured: Value = None            # the deciding value (worst subject / worst window)
    unit: str = ""
    threshold: Any = None
    op: str = ""
    severity: str = "must"
    window_s: float | None = None
    subject: str = ""                 # which subject decided it
    window: tuple[float, float] | None = None   # (start, end) of the worst window
    explanation: str = ""
    evidence: list[str] = field(default_factory=list)
    subjects: int = 0                 # how many subjects were judged
    failing: int = 0                  # how many of them missed the threshold
    source: str = ""

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["window"] = list(self.window) if self.window else None
        return d

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Verdict":
        d = _known(cls, data)
        if d.get("window") is not None:
            d["window"] = tuple(d["window"])
        return cls(**d)


@dataclass(frozen=True)
class Artefact(_Record):
    """A raw file behind a result (iperf3 JSON, pcap, SNMP values), path relative to the run folder."""

    path: str
    kind: str
    probe: str = ""
    description: str = ""


@dataclass(frozen=True)
class Detail(_Record):
    """A probe's own account of what it saw, beside the metrics: the per-call table of a call load, the
    devices of an SNMP audit, the streams of a capture. Stored as plain JSON under `key` in the run
    document (`calls`, `summary`, `devices`, `rtp_streams`, ...); `append` adds one item to a list, so
    long runs write each item as it is done."""

    key: str
    value: Any
    probe: str = ""
    append: bool = False


@dataclass
class RunInfo(_Record):
    """What a run was: which profile, which site, when. Written first in events.jsonl."""

    run_id: str
    profile: str
    site: str
    started: str                      # ISO 8601, UTC
    criteria: list[Criterion]
    profile_file: str = ""
    site_file: str = ""
    tool_version: str = ""
    host: str = ""
    command: str = "run"              # the command that made the run: run, calls, snmp audit, analyze, ...

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["criteria"] = [c.to_json() for c in self.criteria]
        return d

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "RunInfo":
        d = _known(cls, data)
        d["criteria"] = [Criterion.from_json(c) for c in d.get("criteria", [])]
        return cls(**d)


def _known(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    """Keep only the fields the record knows, so newer run folders still load."""
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}
