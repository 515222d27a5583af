"""Switch interfaces (IF-MIB names, status, speed, counters; EtherLike-MIB duplex) and the site file's
port names (`Gi1/0/1`, `Gi1/0/1-24`, an ifIndex) resolved against them."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from . import mibs
from .walk import Walk, number, text

MAX_SPEED_MBPS = 10_000_000   # 10 Tbit/s: anything above is a broken agent, not a port


@dataclass
class Interface:
    if_index: int
    name: str
    descr: str = ""
    if_type: int | None = None
    oper_status: str | None = None
    speed_mbps: float | None = None
    duplex: str | None = None          # full, half, unknown; None if the device has no EtherLike-MIB row
    in_errors: int | None = None
    out_discards: int | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def physical(self) -> bool:
        return self.if_type in mibs.ETHERNET_IF_TYPES

    def to_json(self) -> dict:
        d = asdict(self)
        d.pop("if_type")
        d["physical"] = self.physical
        d["not_measured"] = d.pop("problems")
        return d


def interfaces(walk: Walk) -> tuple[dict[int, Interface], str]:
    """ifIndex -> Interface, and why the table could not be read (empty if it was)."""
    descr = walk.column(mibs.IF_DESCR)
    names = walk.column(mibs.IF_NAME)
    indexes = sorted({i[0] for i in list(descr) + list(names) if len(i) == 1})
    if not indexes:
        why = walk.problem("ifTable", "ifXTable") or "the device has no IF-MIB interface table"
        return {}, why
    cols = {c: walk.column(c) for c in (mibs.IF_TYPE, mibs.IF_SPEED, mibs.IF_OPER_STATUS, mibs.IF_HIGH_SPEED,
                                        mibs.DOT3_DUPLEX, *mibs.COUNTER_COLUMNS)}
    out = {}
    partial = walk.problem("ifTable", "ifXTable")
    for ix in indexes:
        key = (ix,)
        name = text(names[key]) if key in names else None
        d = text(descr[key]) if key in descr else ""
        itf = Interface(ix, name or d or f"ifIndex {ix}", d or "")
        if partial:
            itf.problems.append(partial)
        t = cols[mibs.IF_TYPE].get(key)
        itf.if_type = number(t, "ifType").value if t else None  # type: ignore[assignment]
        itf.oper_status = _named(cols[mibs.IF_OPER_STATUS].get(key), "ifOperStatus", mibs.IF_OPER, itf.problems)
        itf.speed_mbps = _speed(cols[mibs.IF_SPEED].get(key), cols[mibs.IF_HIGH_SPEED].get(key), itf.problems)
        itf.duplex = _named(cols[mibs.DOT3_DUPLEX].get(key), "dot3StatsDuplexStatus", mibs.DUPLEX, itf.problems)
        for column, attr in zip(mibs.COUNTER_COLUMNS, ("in_errors", "out_discards")):
            entry = cols[column].get(key)
            if entry is None:
                continue
            r = number(entry, attr, 0)
            setattr(itf, attr, r.value)
            if not r.ok:
                itf.problems.append(r.reason)
        out[ix] = itf
    return out, ""


def _named(entry, name: str, names: dict[int, str], problems: list[str]) -> str | None:
    """An enumeration's name; None (and why, in problems) if absent, of the wrong type or unknown."""
    if entry is None:
        return None
    r = number(entry, name, min(names), max(names))
    if not r.ok:
        problems.append(r.reason)
        return None
    return names[r.value]  # type: ignore[index]


def _speed(speed, high, problems: list[str]) -> float | None:
    """Mbit/s: ifSpeed (bit/s) unless it is saturated at 2^32-1, then ifHighSpeed (Mbit/s) - RFC 2863."""
    low = number(speed, "ifSpeed", 0) if speed else None
    hi = number(high, "ifHighSpeed", 0) if high else None
    value = None
    if low is not None and low.ok and low.value != mibs.IF_SPEED_SATURATED:
        value = low.value / 1e6  # type: ignore[operator]
    elif hi is not None and hi.ok:
        value = float(hi.value)  # type: ignore[arg-type]
    elif low is not None and not low.ok:
        problems.append(low.reason)
    if value is not None and value > MAX_SPEED_MBPS:
        problems.append(f"speed {value:g} Mbit/s is absurd")
        return None
    return value


# --- the site file's port names ---------------------------------------------------------------------------
_RANGE = re.compile(r"^(.*?)(\d+)-(\d+)$")
_SPLIT = re.compile(r"^([A-Za-z\- ]*)(.*)$")


def expand(spec: str | int) -> list[str | int]:
    """'Gi1/0/1-3' -> ['Gi1/0/1', 'Gi1/0/2', 'Gi1/0/3']; an int is an ifIndex."""
    if isinstance(spec, int):
        return [spec]
    s = str(spec).strip()
    m = _RANGE.match(s)
    if m and int(m.group(3)) >= int(m.group(2)):
        prefix, a, b = m.group(1), int(m.group(2)), int(m.group(3))
        return [f"{prefix}{n}" for n in range(a, b + 1)]
    return [int(s)] if s.isdigit() else [s]


def _split(name: str) -> tuple[str, str]:
    m = _SPLIT.match(name.strip().lower())
    return (m.group(1).strip(), m.group(2)) if m else (name.lower(), "")


def resolve(specs: list[str | int], table: dict[int, Interface]) -> tuple[dict[int, str], list[str]]:
    """The site file's ports -> ({ifIndex: name}, [specs that match no interface]).

    Matches an exact ifName/ifDescr first, then an abbreviation with the same numbers
    (Gi1/0/1 = GigabitEthernet1/0/1)."""
    by_name: dict[str, int] = {}
    for itf in table.values():
        for n in (itf.name, itf.descr):
            if n:
                by_name.setdefault(n.lower(), itf.if_index)
    found: dict[int, str] = {}
    missing: list[str] = []
    for spec in specs:
        for item in expand(spec):
            if isinstance(item, int):
                if item in table:
                    found[item] = table[item].name
                else:
                    missing.append(f"ifIndex {item}")
                continue
            ix = by_name.get(item.lower())
            if ix is None:
                alpha, digits = _split(item)
                hits = {i.if_index for i in table.values() for n in (i.name, i.descr)
                        if n and _split(n)[1] == digits and _split(n)[0].startswith(alpha) and digits}
                ix = hits.pop() if len(hits) == 1 else None
            if ix is None:
                missing.append(item)
            else:
                found[ix] = table[ix].name
    return found, missing
