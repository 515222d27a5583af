"""How long does the NAT (or stateful firewall) on the way keep an idle UDP binding? Incoming calls
reach a phone only through the binding its last REGISTER or keep-alive opened: if the router forgets
it after 30 s and the phone refreshes every 60 s, calls to the site fail half the time.

Each idle time gets its own socket (its own binding): one authenticated OPTIONS asks the responder to
call back after that idle time (wire/call_back.py); the call-back arrives only if the binding lived
that long. All idle times run at once, so the test takes about the longest of them, not their sum.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Callable

from ..calls.sip import SipConfig, UserAgent
from ..calls.sip.message import Request
from ..calls.wire import call_back, calltoken

# RFC 4787 4.3 (REQ-5): a NAT's UDP mapping must not expire in less than 2 min; providers ask phones
# to refresh every 30-120 s. 180 s shows whether a binding clears the longest of those.
DEFAULT_IDLE_S = (15.0, 30.0, 60.0, 90.0, 120.0, 150.0, 180.0)
GRACE_S = 3.0               # the call-back's way back, and scheduling on both ends


@dataclass
class Attempt:
    idle_s: float
    local_port: int = 0
    survived: bool | None = None            # None: the request itself was not answered
    error: str = ""


@dataclass
class NatBinding:
    attempts: list[Attempt] = field(default_factory=list)
    keepalive_s: float | None = None        # the site's keep-alive interval, to compare with
    error: str = ""

    @property
    def timeout_s(self) -> float | None:
        """The longest idle time the binding survived below the shortest it did not (a later survivor
        after a failure is a lost datagram's luck, not a longer binding)."""
        done = sorted((a for a in self.attempts if a.survived is not None), key=lambda a: a.idle_s)
        if not done:
            return None
        longest = 0.0
        for a in done:
            if not a.survived:
                break
            longest = a.idle_s
        return longest

    @property
    def at_least(self) -> bool:
        """Every idle time survived: the binding lives at least the longest tried."""
        done = [a for a in self.attempts if a.survived is not None]
        return bool(done) and all(a.survived for a in done)

    @property
    def forgotten_after_s(self) -> float | None:
        failed = [a.idle_s for a in self.attempts if a.survived is False]
        return min(failed) if failed else None

    def to_json(self) -> dict:
        return {"timeout_s": self.timeout_s, "at_least": self.at_least, "forgotten_after_s": self.forgotten_after_s,
                "keepalive_s": self.keepalive_s,
                "keepalive_ok": None if self.keepalive_s is None or self.timeout_s is None
                else self.keepalive_s < (self.forgotten_after_s or float("inf")) and
                (self.at_least or self.keepalive_s <= self.timeout_s),
                "attempts": [vars(a) for a in self.attempts], "error": self.error}


async def _attempt(target: str, key: bytes, idle: float, dscp: int) -> Attempt:
    out = Attempt(idle)
    ua = UserAgent(SipConfig(transport="udp", dscp=dscp))
    arrived = asyncio.Event()
    call_id: list[str] = []

    def seen(req: Request, _flow) -> None:
        if call_id and req.call_id == call_id[0] and call_back.HEADER in req.headers:
            arrived.set()

    try:
        try:
            await ua.start()
        except OSError as e:
            out.error = f"cannot open a UDP socket: {e.strerror or e}"
            return out
        ua.endpoint.on_options = seen
        headers = {calltoken.HEADER: calltoken.make(key), call_back.HEADER: f"{idle:g}"}
        outcome = await ua.options(target, headers)
        if not outcome.ok:
            out.error = (f"{outcome.status} {outcome.reason}" if outcome.status else outcome.detail or outcome.cause)
            return out
        call_id.append(outcome.response.call_id if outcome.response is not None else "")
        out.local_port = (ua.endpoint.transports.local_address("udp") or ("", 0))[1]
        try:
            await asyncio.wait_for(arrived.wait(), idle + GRACE_S)
            out.survived = True
        except asyncio.TimeoutError:
            out.survived = False
        return out
    finally:
        await ua.close()


async def check(target: str, key: bytes, idle_s: tuple[float, ...] | list[float] = DEFAULT_IDLE_S,
                sip_dscp: int = 24, keepalive_s: float | None = None,
                tick: Callable[[float], None] | None = None) -> NatBinding:
    """All idle times at once; `tick(elapsed_s)` about once a second for progress."""
    started = time.monotonic()
    jobs = asyncio.gather(*(_attempt(target, key, float(i), sip_dscp) for i in sorted(set(idle_s))))
    while tick is not None and not jobs.done():
        await asyncio.wait([jobs], timeout=1.0)
        tick(time.monotonic() - started)
    attempts = await jobs
    result = NatBinding(list(attempts), keepalive_s)
    if all(a.survived is None for a in attempts):
        result.error = attempts[0].error if attempts else "no idle times to try"
    return result
