"""What a SIP endpoint on a public address says to requests nobody authenticated.

UDP lets anyone forge the source address, so a reply to an unauthenticated request goes to whoever the
request names: a responder that answered an INVITE with 100 Trying and a 403 repeated by Timer G would
send twelve packets and nine times the bytes to a victim for one forged datagram. Here such a request
gets at most one reply, never larger than the request (or none at all), no provisional response, no
retransmission and no transaction state; replies are bounded per source address and in total, beyond
which requests are dropped in silence. The same holds over TCP and TLS, where it costs nothing.

    guard = RequestGuard(lambda req: None if token_ok(req) else "wrong key")
    endpoint.guard = guard
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Callable

from .flow import Flow, send_quiet
from .message import Headers, Request
from .transaction import response_to

# None: the request is authenticated; else why not (sent in a Warning header when the reply has room).
Authenticator = Callable[[Request], "str | None"]


@dataclass(frozen=True)
class GuardLimits:
    replies_per_s_per_source: float = 5.0     # token bucket, burst of the same size
    replies_per_s: float = 200.0              # all sources together: a spoofed-source flood meets this
    max_sources: int = 10_000                 # buckets kept; more sources start from a full bucket


@dataclass
class GuardStats:
    refused: int = 0          # requests that were not authenticated
    replies: int = 0          # replies sent to them (each at most the request's size)
    reply_bytes: int = 0
    silent: int = 0           # refused without a reply: over a bound, or no reply small enough


class RequestGuard:
    def __init__(self, authenticate: Authenticator, limits: GuardLimits | None = None):
        self.authenticate = authenticate
        self.limits = limits or GuardLimits()
        self.stats = GuardStats()
        self._sources: dict[str, tuple[float, float]] = {}
        self._total = (self.limits.replies_per_s, time.monotonic())

    def refuse(self, req: Request, why: str, flow: Flow) -> None:
        """Answer an unauthenticated request once with 403 (ACK never gets an answer), or not at all."""
        self.stats.refused += 1
        size = req.size or len(req.encode())
        reply = self._reply(req, why, size) if req.method != "ACK" else None
        if reply is None or not self._allowed(flow.peer.host):
            self.stats.silent += 1
            return
        self.stats.replies += 1
        self.stats.reply_bytes += len(reply)
        send_quiet(flow, reply)

    @staticmethod
    def _reply(req: Request, why: str, size: int) -> bytes | None:
        """The 403 with the reason if it fits in the request's size, else without it, else nothing."""
        tag = os.urandom(4).hex()
        for extra in ([("Warning", f'399 readiness "{why[:120]}"')], []):
            data = response_to(req, 403, "Forbidden", tag, Headers(extra)).encode()
            if len(data) <= size:
                return data
        return None

    def _allowed(self, source: str) -> bool:
        now = time.monotonic()
        total, last = self._total
        total = min(self.limits.replies_per_s, total + (now - last) * self.limits.replies_per_s)
        rate = self.limits.replies_per_s_per_source
        mine, seen = self._sources.get(source, (rate, now))
        mine = min(rate, mine + (now - seen) * rate)
        if total < 1.0 or mine < 1.0:
            self._total = (total, now)
            self._sources[source] = (mine, now)
            return False
        if len(self._sources) >= self.limits.max_sources:
            self._sources.clear()             # bounded memory; the total bucket still holds
        self._total = (total - 1.0, now)
        self._sources[source] = (mine - 1.0, now)
        return True
