"""Units: parse '150 ms' or '0.1 %', and convert between units of the same dimension.

Inside the code every metric has one canonical unit (its name ends in it: `_ms`, `_pct`, `_w`, `_min`);
thresholds written in another unit of the same dimension are converted once, when a profile is loaded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# unit -> (dimension, factor to the dimension's base unit)
_UNITS: dict[str, tuple[str, float]] = {
    "us": ("time", 1e-6),
    "ms": ("time", 1e-3),
    "s": ("time", 1.0),
    "min": ("time", 60.0),
    "h": ("time", 3600.0),
    "d": ("time", 86400.0),
    "%": ("ratio", 1.0),
    "mW": ("power", 1e-3),
    "W": ("power", 1.0),
    "kW": ("power", 1e3),
    "bps": ("rate", 1e-6),
    "kbps": ("rate", 1e-3),
    "Mbps": ("rate", 1.0),
    "Gbps": ("rate", 1e3),
    "MOS": ("mos", 1.0),
    "R": ("r", 1.0),
    "count": ("count", 1.0),
    "calls": ("count", 1.0),
    "ports": ("count", 1.0),
    "packets": ("count", 1.0),
    "errors": ("count", 1.0),
    "devices": ("count", 1.0),
    "cps": ("callrate", 1.0),
    "B": ("size", 1.0),
}

# Spellings people write, mapped to the canonical unit name.
_ALIASES = {
    "sec": "s", "secs": "s", "second": "s", "seconds": "s",
    "msec": "ms", "millisecond": "ms", "milliseconds": "ms",
    "minute": "min", "minutes": "min", "mins": "min",
    "hour": "h", "hours": "h", "day": "d", "days": "d",
    "percent": "%", "pct": "%",
    "w": "W", "watt": "W", "watts": "W", "mw": "mW", "kw": "kW",
    "kbit/s": "kbps", "mbit/s": "Mbps", "gbit/s": "Gbps", "bit/s": "bps",
    "mbps": "Mbps", "gbps": "Gbps", "mos": "MOS", "r": "R",
    "bytes": "B", "byte": "B",
    "call": "calls", "port": "ports", "packet": "packets", "error": "errors", "device": "devices",
}

# Dimensions whose values are labels, not quantities: a threshold needs no unit there.
ENUM_UNITS = frozenset({"dscp", "bool", "vlan", "text"})

_QUANTITY = re.compile(r"^\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*([^\d\s].*?)?\s*$")


def canonical(unit: str) -> str | None:
    """The canonical spelling of a unit, or None if it is not a unit we know."""
    if unit in _UNITS or unit in ENUM_UNITS:
        return unit
    return _ALIASES.get(unit.lower()) or _ALIASES.get(unit) or (
        unit.lower() if unit.lower() in _UNITS else None)


def dimension(unit: str) -> str:
    if unit in ENUM_UNITS:
        return unit
    return _UNITS[unit][0]


def known_units() -> list[str]:
    return sorted(_UNITS)


@dataclass(frozen=True)
class Quantity:
    value: float
    unit: str  # canonical spelling

    def __str__(self) -> str:
        v = f"{self.value:g}"
        return f"{v}{self.unit}" if self.unit == "%" else f"{v} {self.unit}"


class UnitError(ValueError):
    pass


def parse_quantity(text: str | int | float) -> Quantity:
    """'150 ms' -> Quantity(150.0, 'ms'). A bare number has no unit and is refused."""
    if isinstance(text, bool):
        raise UnitError(f"{text!r} is not a number with a unit")
    if isinstance(text, (int, float)):
        raise UnitError(f"{text!r} has no unit")
    m = _QUANTITY.match(str(text))
    if not m:
        raise UnitError(f"{text!r} is not a number with a unit (write e.g. '150 ms' or '1 %')")
    number, unit = m.group(1), m.group(2)
    if not unit:
        raise UnitError(f"{text!r} has no unit")
    canon = canonical(unit.strip())
    if canon is None or canon in ENUM_UNITS:
        raise UnitError(f"unknown unit {unit.strip()!r} in {text!r} (known: {', '.join(known_units())})")
    return Quantity(float(number), canon)


def convert(value: float, from_unit: str, to_unit: str) -> float:
    """Convert between units of one dimension; raise UnitError across dimensions."""
    if from_unit == to_unit:
        return value
    d1, f1 = _UNITS[from_unit]
    d2, f2 = _UNITS[to_unit]
    if d1 != d2:
        raise UnitError(f"cannot convert {from_unit} to {to_unit}")
    return value * f1 / f2


def parse_duration_s(text: str | int | float) -> float:
    """'15 s', '200 ms', '1 min' -> seconds."""
    q = parse_quantity(text)
    if dimension(q.unit) != "time":
        raise UnitError(f"{text!r} is not a duration")
    if q.value <= 0:
        raise UnitError(f"{text!r} must be longer than zero")
    return convert(q.value, q.unit, "s")


def format_value(value: object, unit: str) -> str:
    """A value as a technician reads it: '2.31 %', '148 ms', 'EF (46)', 'yes'."""
    if value is None:
        return "-"
    if isinstance(value, list):
        return "[" + ", ".join(format_value(v, unit) for v in value) + "]"
    if unit == "dscp" and isinstance(value, int) and not isinstance(value, bool):
        from . import dscp

        label = dscp.name(value)
        return label if label == str(value) else f"{label} ({value})"
    if unit == "bool" or isinstance(value, bool):
        return "yes" if value else "no"
    if unit in ("vlan", "text"):
        return str(value)
    if isinstance(value, (int, float)):
        v = float(value)
        if v == int(v) and abs(v) < 1e15:
            text = str(int(v))
        elif abs(v) >= 100:
            text = f"{v:.0f}"
        elif abs(v) >= 10:
            text = f"{v:.1f}"
        else:
            text = f"{v:.3g}" if abs(v) < 0.01 else f"{v:.2f}"
        if unit in ("", "1"):
            return text
        return f"{text}{unit}" if unit == "%" else f"{text} {unit}"
    return str(value)
