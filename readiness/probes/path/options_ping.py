"""OPTIONS pings to the provider's SBC (RFC 3261 11): is it there, and how long does it take to
answer, over time. Phones and PBXs use exactly this to decide whether a trunk is up."""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass, field
from typing import Callable

from ..calls.sip import SipConfig, UserAgent

INTERVAL_S = 1.0
GIVE_UP_AFTER = 2


@dataclass
class OptionsPing:
    target: str
    transport: str
    samples: list[dict] = field(default_factory=list)     # t_s (from the first), status, rtt_ms, error
    error: str = ""

    @property
    def sent(self) -> int:
        return len(self.samples)

    @property
    def answered(self) -> int:
        return sum(1 for s in self.samples if s["status"] is not None)

    @property
    def answered_pct(self) -> float | None:
        return 100.0 * self.answered / self.sent if self.sent else None

    def rtt(self, q: float) -> float | None:
        rtts = sorted(s["rtt_ms"] for s in self.samples if s["rtt_ms"] is not None and s["status"] is not None)
        if not rtts:
            return None
        return rtts[min(len(rtts) - 1, int(round(q * (len(rtts) - 1))))]

    def to_json(self) -> dict:
        statuses = sorted({s["status"] for s in self.samples if s["status"] is not None})
        rtts = [s["rtt_ms"] for s in self.samples if s["rtt_ms"] is not None and s["status"] is not None]
        return {"target": self.target, "transport": self.transport, "sent": self.sent, "answered": self.answered,
                "answered_pct": self.answered_pct, "statuses": statuses,
                "rtt_ms_median": statistics.median(rtts) if rtts else None, "rtt_ms_p95": self.rtt(0.95),
                "rtt_ms_max": max(rtts) if rtts else None, "samples": self.samples, "error": self.error}


async def ping(target: str, count: int, headers: Callable[[], dict[str, str]] = dict, transport: str = "udp",
               dscp: int = 24, interval_s: float = INTERVAL_S,
               tick: Callable[[int], None] | None = None) -> OptionsPing:
    """`count` OPTIONS, one every `interval_s` (the next waits for the previous: never a burst);
    `headers()` is asked before each (a readiness responder wants a fresh token every time)."""
    out = OptionsPing(target, transport)
    ua = UserAgent(SipConfig(transport=transport, dscp=dscp))
    try:
        try:
            await ua.start()
        except OSError as e:
            out.error = f"cannot open the SIP socket: {e.strerror or e}"
            return out
        first = time.monotonic()
        for i in range(count):
            at = first + i * interval_s
            await asyncio.sleep(max(0.0, at - time.monotonic()))
            r = await ua.options(target, headers())
            answered = r.status is not None
            out.samples.append({"t_s": round(at - first, 3), "status": r.status,
                                "rtt_ms": round(r.rtt_ms, 3) if r.rtt_ms is not None and answered else None,
                                "error": "" if answered else (r.detail or r.cause)})
            if tick is not None:
                tick(i + 1)
            # each unanswered ping waits Timer F (32 s): a first one, or two in a row later, say enough
            if not answered and (len(out.samples) == 1 or
                                 all(x["status"] is None for x in out.samples[-GIVE_UP_AFTER:])):
                break
        if out.samples and not out.answered:
            out.error = out.samples[-1]["error"] or "no answer"
        return out
    finally:
        await ua.close()
