"""A device's raw SNMP values: OID -> (type tag, value), as read from an agent or a .snmprec file.

The type tags are those of snmpsim's .snmprec format, the BER tag numbers (RFC 2578 types): 2 Integer32,
4 OCTET STRING, 5 NULL, 6 OID, 64 IpAddress, 65 Counter32, 66 Gauge32, 67 TimeTicks, 68 Opaque,
70 Counter64. A snapshot is written as .snmprec, so it can be served again by snmpsim.

Parsers read through `Reading`s: a value, or None with the reason it is unusable (absent, the wrong
type, NULL, out of range, a sentinel) - never a guess.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from .mibs import OID, dotted, oid

INTEGER, OCTETS, NULL, OBJECT_ID = 2, 4, 5, 6
IPADDRESS, COUNTER32, GAUGE32, TIMETICKS, OPAQUE, COUNTER64 = 64, 65, 66, 67, 68, 70
NUMERIC_TAGS = frozenset({INTEGER, COUNTER32, GAUGE32, TIMETICKS, COUNTER64})
TAG_NAMES = {INTEGER: "Integer32", OCTETS: "OCTET STRING", NULL: "NULL", OBJECT_ID: "OBJECT IDENTIFIER",
             IPADDRESS: "IpAddress", COUNTER32: "Counter32", GAUGE32: "Gauge32", TIMETICKS: "TimeTicks",
             OPAQUE: "Opaque", COUNTER64: "Counter64"}

RawValue = int | bytes | str | None   # str only for OBJECT IDENTIFIER and IpAddress (dotted)


@dataclass(frozen=True)
class Reading:
    """A value read from the device, or None and why not."""

    value: object = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.value is not None


@dataclass
class Walk:
    """Everything read from one device in one poll."""

    values: dict[OID, tuple[int, RawValue]] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)   # table/group name -> why it was not read fully
    _sorted: list[OID] | None = field(default=None, repr=False)

    def add(self, o: OID, tag: int, value: RawValue) -> None:
        self.values[o] = (tag, value)
        self._sorted = None

    def _keys(self) -> list[OID]:
        if self._sorted is None:
            self._sorted = sorted(self.values)
        return self._sorted

    def column(self, base: OID) -> dict[OID, tuple[int, RawValue]]:
        """Rows of one table column: index (the OID after `base`) -> (tag, value)."""
        keys = self._keys()
        n = len(base)
        out = {}
        for k in keys[bisect.bisect_right(keys, base):]:
            if k[:n] != base:
                break
            out[k[n:]] = self.values[k]
        return out

    def has_subtree(self, base: OID) -> bool:
        keys = self._keys()
        i = bisect.bisect_right(keys, base)
        return i < len(keys) and keys[i][:len(base)] == base

    def problem(self, *groups: str) -> str:
        """Why any of these groups could not be read (empty if they were)."""
        return "; ".join(f"{g}: {self.problems[g]}" for g in groups if g in self.problems)

    # --- typed readings -----------------------------------------------------------------------------
    def number(self, o: OID, name: str, lo: float | None = None, hi: float | None = None,
               sentinels: tuple[int, ...] = ()) -> Reading:
        entry = self.values.get(o)
        if entry is None:
            return Reading(None, f"{name} not available")
        return number(entry, name, lo, hi, sentinels)

    def text(self, o: OID) -> str | None:
        entry = self.values.get(o)
        return text(entry) if entry else None

    # --- .snmprec -------------------------------------------------------------------------------------
    def to_snmprec(self) -> str:
        return "".join(f"{dotted(k)}|{_encode(*self.values[k])}\n" for k in self._keys())

    @classmethod
    def from_snmprec(cls, text_: str) -> "Walk":
        w = cls()
        for line in text_.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            o, tag, value = line.split("|", 2)
            w.add(oid(o), *_decode(tag, value))
        return w

    def save(self, path: Path) -> None:
        path.write_text(self.to_snmprec())

    @classmethod
    def load(cls, path: Path) -> "Walk":
        return cls.from_snmprec(path.read_text(errors="replace"))

    def __iter__(self) -> Iterator[OID]:
        return iter(self._keys())

    def __len__(self) -> int:
        return len(self.values)


def number(entry: tuple[int, RawValue], name: str, lo: float | None = None, hi: float | None = None,
           sentinels: tuple[int, ...] = ()) -> Reading:
    """A numeric reading, refusing the wrong type, NULL, sentinels and values outside [lo, hi]."""
    tag, value = entry
    if tag == NULL or value is None:
        return Reading(None, f"{name} is NULL")
    if tag not in NUMERIC_TAGS or not isinstance(value, int):
        return Reading(None, f"{name} has the wrong type ({TAG_NAMES.get(tag, tag)})")
    if value in sentinels:
        return Reading(None, f"{name} is {value}, which the device uses for 'unknown'")
    if tag in (COUNTER32, COUNTER64, GAUGE32, TIMETICKS) and value < 0:
        return Reading(None, f"{name} is negative ({value}), impossible for {TAG_NAMES[tag]}")
    if lo is not None and value < lo or hi is not None and value > hi:
        rng = f"{lo:g}..{hi:g}" if lo is not None and hi is not None else (f">= {lo:g}" if lo is not None else f"<= {hi:g}")
        return Reading(None, f"{name} is {value}, outside {rng}")
    return Reading(value)


def text(entry: tuple[int, RawValue]) -> str | None:
    tag, value = entry
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace").replace("\x00", "").strip()
    if isinstance(value, (int, str)):
        return str(value)
    return None


def octets(entry: tuple[int, RawValue] | None) -> bytes | None:
    if entry is None or entry[0] != OCTETS or not isinstance(entry[1], bytes):
        return None
    return entry[1]


def _encode(tag: int, value: RawValue) -> str:
    if tag == NULL or value is None:
        return f"{NULL}|"
    if isinstance(value, bytes):
        printable = all(32 <= b < 127 for b in value) and "|" not in value.decode("ascii", "replace")
        return f"{tag}|{value.decode('ascii')}" if printable else f"{tag}x|{value.hex()}"
    return f"{tag}|{value}"


def _decode(tag: str, value: str) -> tuple[int, RawValue]:
    hexed = tag.endswith("x")
    t = int(tag.rstrip("xe").split(":")[0] or OCTETS)
    if t == NULL:
        return t, None
    if t in (OCTETS, OPAQUE):
        if hexed:
            try:
                return t, bytes.fromhex(value)
            except ValueError:
                return t, value.encode("latin-1", "replace")
        return t, value.encode("utf-8", "surrogateescape")
    if t == IPADDRESS and hexed:
        return t, ".".join(str(b) for b in bytes.fromhex(value))
    if t in (OBJECT_ID, IPADDRESS):
        return t, value
    try:
        return t, int(value)
    except ValueError:
        return OCTETS, value.encode()  # a number that is not one: keep it as text, parsers refuse it
