"""Interface counter deltas between two polls: the errors and discards that grew while traffic ran.

Counter32 wraps at 2^32 and Counter64 at 2^64 (RFC 2578); one wrap between two polls minutes apart is
assumed, more is impossible at these rates. A device whose sysUpTime went backwards restarted, and
its counters with it: no delta is reported then.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import mibs
from .poll import Polled
from .walk import COUNTER64, Walk, number

COLUMNS = {"in_errors": mibs.IF_IN_ERRORS, "out_discards": mibs.IF_OUT_DISCARDS}


@dataclass
class PortDelta:
    if_index: int
    port: str
    growth: dict[str, int] = field(default_factory=dict)
    reason: str = ""            # why no delta, if growth is empty

    @property
    def total(self) -> int | None:
        return sum(self.growth.values()) if not self.reason else None


def _counter(walk: Walk, column: mibs.OID, ix: int, name: str) -> tuple[int | None, int, str]:
    entry = walk.values.get(column + (ix,))
    if entry is None:
        return None, 0, f"{name} not available"
    r = number(entry, name, 0)
    return r.value, entry[0], r.reason  # type: ignore[return-value]


def deltas(before: Polled, after: Polled, ports: dict[int, str]) -> tuple[list[PortDelta], str]:
    """Per port growth of errors and discards; the second value says why none could be computed."""
    if not before.reachable or not after.reachable:
        return [], (before.error or after.error or "the device did not answer")
    up_before, up_after = before.uptime_ticks, after.uptime_ticks
    if up_before is not None and up_after is not None and up_after < up_before:
        return [], "the device restarted between the polls (sysUpTime went back): its counters restarted too"
    out = []
    for ix, name in sorted(ports.items()):
        d = PortDelta(ix, name)
        for key, column in COLUMNS.items():
            b, tag, why_b = _counter(before.walk, column, ix, key)
            a, _, why_a = _counter(after.walk, column, ix, key)
            if a is None or b is None:
                d.reason = why_b or why_a
                break
            grew = a - b
            if grew < 0:
                grew += 2 ** (64 if tag == COUNTER64 else 32)
            d.growth[key] = grew
        if d.reason:
            d.growth = {}
        out.append(d)
    return out, ""
