"""Typed views of the probes' details (model.Detail records): what a call load, an SNMP audit or a
capture saw beside its metrics. The run document stores them as plain JSON under their keys
(`calls`, `summary`, `capacity`, `devices`, `rtp_streams`, `sip_calls`, ...); renderers read them
through these classes, so a field's name is written once."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, TypeVar

T = TypeVar("T")


def typed(cls: type[T], data: Any) -> T:
    """`cls` from a stored dict, keeping the fields it knows (a newer run folder still loads)."""
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in (data or {}).items() if k in names})


def typed_list(cls: type[T], data: Any) -> list[T]:
    return [typed(cls, item) for item in (data or [])]
