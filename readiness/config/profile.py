"""Profiles: a reference architecture and its acceptance criteria, with `extends:` inheritance.

A profile file (profiles/NAME.yaml):

    name: cloud-pbx-single-site
    title: Cloud PBX, one site
    extends: voice-baseline          # optional; criteria with the same id replace the parent's
    omit: [ups-runtime]              # optional; drop inherited criteria
    criteria:
      - id: loss
        metric: rtp.loss_pct
        op: "<="
        threshold: 1 %
        window: 15 s                 # optional: judged in every sliding 15 s window
        severity: must               # must | should (a failed should is a warning)
        source: Cisco Enterprise QoS SRND (the standard or guidance, as the customer reads it)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from .. import dscp as dscp_names
from .. import metrics as metric_catalog
from .. import units
from ..errors import ConfigError
from ..model import Criterion
from . import checked, yamlsrc

OPS = ("<", "<=", ">", ">=", "==", "!=", "in", "not_in")
AGGREGATES = ("each", "min", "max", "mean", "median", "p05", "p95", "sum", "count")
_ORDERED_OPS = ("<", "<=", ">", ">=")


class CriterionSpec(BaseModel):
    """One acceptance criterion as written in a profile."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="unique within the profile")
    metric: str = Field(description="metric name from `readiness profiles metrics`",
                        json_schema_extra={"enum": sorted(metric_catalog.METRICS)})
    op: Literal["<", "<=", ">", ">=", "==", "!=", "in", "not_in"] = Field(
        description="how the measured value compares with the threshold")
    threshold: float | int | bool | str | list[int | str] = Field(
        description="number with unit ('150 ms', '1 %', '4.0 MOS'); a DSCP name, VLAN id, true/false or list for label metrics")
    window: str | None = Field(None, description="judge every sliding window of this length, e.g. '15 s' or '200 ms'")
    aggregate: Literal["each", "min", "max", "mean", "median", "p05", "p95", "sum", "count"] = Field(
        "each", description="each: every subject must meet it (default); otherwise judge one statistic over all subjects")
    select: dict[str, str] = Field(default_factory=dict,
                                   description="only measurements with these tags, e.g. {direction: up, path: client-edge}")
    severity: Literal["must", "should"] = Field(description="must: failing fails the run; should: failing warns")
    source: str = Field(min_length=3, description="the standard or source of the threshold")
    description: str = ""
    optional: bool = Field(False, description="when the run holds nothing this criterion could judge (no SIP in "
                           "a capture, no tagged frames), it is not applicable instead of not measured; a "
                           "probe that could not run still leaves it not measured")

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, v: str) -> str:
        if v not in metric_catalog.METRICS:
            hint = metric_catalog.close_matches(v)
            more = f" (did you mean {', '.join(hint)}?)" if hint else " (see `readiness profiles metrics`)"
            raise ValueError(f"unknown metric {v!r}{more}")
        return v

    @field_validator("threshold")
    @classmethod
    def _threshold_fits_metric(cls, v: Any, info: ValidationInfo) -> Any:
        metric, op = info.data.get("metric"), info.data.get("op")
        if metric is None or op is None:
            return v  # reported on its own field
        parse_threshold(metric_catalog.get(metric), op, v)
        return v

    @field_validator("window")
    @classmethod
    def _window_is_duration(cls, v: str | None) -> str | None:
        if v is not None:
            units.parse_duration_s(v)
        return v

    @model_validator(mode="after")
    def _aggregate_fits(self) -> "CriterionSpec":
        unit = metric_catalog.get(self.metric).unit
        if self.aggregate != "each" and unit in units.ENUM_UNITS:
            raise ValueError(f"aggregate {self.aggregate!r} needs a numeric metric; {self.metric} is a {unit}")
        if self.aggregate != "each" and self.window:
            raise ValueError("a windowed criterion judges each subject's worst window: leave aggregate at 'each'")
        return self


class PilotSpec(BaseModel):
    """How a pilot phase (many runs over days) is signed off."""

    model_config = ConfigDict(extra="forbid")

    min_pass_rate: str | float = Field("99 %", description="share of runs in which every must-criterion passed")
    max_consecutive_failures: int = Field(2, ge=0, description="runs in a row that may fail")

    @field_validator("min_pass_rate")
    @classmethod
    def _rate(cls, v: str | float) -> str | float:
        pilot_pass_rate(v)
        return v


def pilot_pass_rate(v: str | float) -> float:
    """'99 %' or 99 -> 99.0; 0-100."""
    text = str(v).strip().removesuffix("%").strip()
    try:
        rate = float(text)
    except ValueError:
        raise ValueError(f"{v!r}: a percentage such as 99 %") from None
    if not 0 <= rate <= 100:
        raise ValueError(f"{v!r}: between 0 % and 100 %")
    return rate


class ProfileSpec(BaseModel):
    """A profile file."""

    model_config = ConfigDict(extra="forbid", title="readiness profile")

    name: str | None = Field(None, description="defaults to the file name without .yaml")
    title: str = ""
    title_de: str = Field("", description="the title in German, for German reports (inherited if empty)")
    version: str = Field("", description="the profile's version, shown on the report's cover (inherited if empty)")
    description: str = ""
    extends: str | None = Field(None, description="name or relative path of the parent profile")
    abstract: bool = Field(False, description="a base for other profiles, not run on its own")
    omit: list[str] = Field(default_factory=list, description="inherited criterion ids to drop")
    criteria: list[CriterionSpec] = Field(default_factory=list)
    pilot: PilotSpec | None = Field(None, description="how a pilot phase is signed off (readiness pilot); inherited")

    @model_validator(mode="after")
    def _unique_ids(self) -> "ProfileSpec":
        seen: set[str] = set()
        for c in self.criteria:
            if c.id in seen:
                raise ValueError(f"criterion id {c.id!r} is used twice")
            seen.add(c.id)
        return self


def parse_threshold(metric: metric_catalog.MetricDef, op: str, raw: Any) -> Any:
    """The threshold in the metric's canonical unit (number), or label(s) for label metrics."""
    unit = metric.unit
    listy = op in ("in", "not_in")
    if listy and not isinstance(raw, list):
        raise ValueError(f"op {op!r} needs a list of values, e.g. [CS3, AF31, CS5]")
    if not listy and isinstance(raw, list):
        raise ValueError(f"op {op!r} needs one value, not a list")
    if unit in units.ENUM_UNITS:
        if op in _ORDERED_OPS:
            raise ValueError(f"{metric.name} is a {unit}: use ==, !=, in or not_in, not {op!r}")
        items = raw if listy else [raw]
        parsed = [_label(unit, metric.name, item) for item in items]
        return parsed if listy else parsed[0]
    if listy:
        raise ValueError(f"{metric.name} is a quantity in {unit}: compare it with <, <=, >, >=, == or !=")
    if unit == "1" and isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return float(raw)
    try:
        q = units.parse_quantity(raw)
    except units.UnitError as e:
        raise ValueError(f"threshold {e}; {metric.name} is measured in {unit} (write e.g. '{_example(raw)} {unit}')") from None
    try:
        return units.convert(q.value, q.unit, unit)
    except units.UnitError:
        raise ValueError(f"threshold {raw!r} is in {q.unit}, but {metric.name} is measured in {unit}") from None


def _example(raw: Any) -> str:
    return str(raw) if isinstance(raw, (int, float)) and not isinstance(raw, bool) else "10"


def _label(unit: str, metric: str, item: Any) -> Any:
    if unit == "dscp":
        return dscp_names.parse(item)
    if unit == "bool":
        if not isinstance(item, bool):
            raise ValueError(f"{metric} is true or false, not {item!r}")
        return item
    if unit == "vlan":
        if isinstance(item, bool) or not isinstance(item, int) or not 0 <= item <= 4095:
            raise ValueError(f"{metric} is a VLAN id 0-4095, not {item!r}")
        return item
    return str(item)


# --- finding and resolving profiles -------------------------------------------------------------------

def builtin_dir() -> Path:
    """The shipped profiles: $READINESS_PROFILES, else profiles/ beside the package (repo checkout)."""
    env = os.environ.get("READINESS_PROFILES")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "profiles"


def find(name_or_path: str, near: Path | None = None) -> Path | None:
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") and p.is_file():
        return p
    candidates = []
    if near is not None:
        candidates += [near / name_or_path, near / f"{name_or_path}.yaml"]
    candidates += [builtin_dir() / f"{name_or_path}.yaml", builtin_dir() / name_or_path]
    for c in candidates:
        if c.is_file():
            return c
    return None


@dataclass
class Profile:
    """A resolved profile: its own fields plus every inherited criterion."""

    name: str
    title: str
    description: str
    file: str
    abstract: bool
    criteria: list[Criterion]
    chain: list[str] = field(default_factory=list)   # this file, then its parents
    version: str = ""
    title_de: str = ""
    pilot_min_pass_rate: float = 99.0
    pilot_max_consecutive_failures: int = 2


def available() -> list[Path]:
    d = builtin_dir()
    return sorted(p for p in d.glob("*.yaml")) if d.is_dir() else []


def load(name_or_path: str) -> Profile:
    """Load and resolve a profile by name (shipped) or path. Raises ConfigError listing every problem."""
    path = find(name_or_path)
    if path is None:
        names = ", ".join(p.stem for p in available())
        raise ConfigError([f"{name_or_path}: no such profile (shipped: {names})"])
    problems: list[str] = []
    profile = _resolve(path, [], problems)
    if problems or profile is None:
        raise ConfigError(_dedupe(problems))
    return profile


def _resolve(path: Path, stack: list[Path], problems: list[str]) -> Profile | None:
    name = yamlsrc.display_path(path)
    try:
        src = yamlsrc.load(path, name)
    except yamlsrc.YamlProblem as e:
        problems.extend(e.problems)
        return None
    if not isinstance(src.data, dict):
        problems.append(f"{name}:1: a profile is a mapping of keys (name, extends, criteria, ...)")
        return None
    spec, found = checked.validate(ProfileSpec, src)
    problems.extend(found)
    if spec is None:
        # Still follow extends, so problems in the parents are reported in the same pass.
        parent_name = src.data.get("extends")
        if isinstance(parent_name, str):
            _parent(parent_name, path, stack, src, problems)
        return None

    parent = _parent(spec.extends, path, stack, src, problems) if spec.extends else None
    own = {c.id: _criterion(c, src, i) for i, c in enumerate(spec.criteria)}
    inherited: list[Criterion] = list(parent.criteria) if parent else []
    inherited_ids = {c.id for c in inherited}
    for i, oid in enumerate(spec.omit):
        if parent and oid not in inherited_ids:
            problems.append(f"{src.where(('omit', i))}: omit: {oid!r} is not a criterion of {spec.extends}")
    merged = [own.pop(c.id) if c.id in own else c for c in inherited if c.id not in spec.omit]
    merged += list(own.values())
    return Profile(
        name=spec.name or path.stem,
        title=spec.title or (parent.title if parent else ""),
        version=spec.version or (parent.version if parent else ""),
        title_de=spec.title_de or (parent.title_de if parent else ""),
        description=spec.description or (parent.description if parent else ""),
        file=name,
        abstract=spec.abstract,
        criteria=merged,
        chain=[name] + (parent.chain if parent else []),
        pilot_min_pass_rate=pilot_pass_rate(spec.pilot.min_pass_rate) if spec.pilot else
        (parent.pilot_min_pass_rate if parent else 99.0),
        pilot_max_consecutive_failures=spec.pilot.max_consecutive_failures if spec.pilot else
        (parent.pilot_max_consecutive_failures if parent else 2),
    )


def _parent(ref: str, child: Path, stack: list[Path], src: yamlsrc.Source, problems: list[str]) -> Profile | None:
    where = src.where(("extends",))
    parent_path = find(ref, near=child.parent)
    if parent_path is None:
        problems.append(f"{where}: extends: no profile {ref!r} (looked beside {src.file} and in {yamlsrc.display_path(builtin_dir())})")
        return None
    here = child.resolve()
    chain = stack + [here]
    if parent_path.resolve() in chain:
        cycle = " -> ".join(p.stem for p in chain[chain.index(parent_path.resolve()):] + [parent_path.resolve()])
        problems.append(f"{where}: extends: cycle {cycle}")
        return None
    return _resolve(parent_path, chain, problems)


def _criterion(c: CriterionSpec, src: yamlsrc.Source, i: int) -> Criterion:
    metric = metric_catalog.get(c.metric)
    return Criterion(
        id=c.id,
        metric=c.metric,
        op=c.op,
        threshold=parse_threshold(metric, c.op, c.threshold),
        unit=metric.unit,
        severity=c.severity,
        window_s=units.parse_duration_s(c.window) if c.window else None,
        aggregate=c.aggregate,
        select=dict(c.select),
        source=c.source,
        description=c.description,
        threshold_text=_threshold_text(c.threshold),
        origin=src.where(("criteria", i)),
        optional=c.optional,
    )


def _threshold_text(raw: Any) -> str:
    if isinstance(raw, list):
        return "[" + ", ".join(str(x) for x in raw) + "]"
    if isinstance(raw, bool):
        return "true" if raw else "false"
    return str(raw)


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
