"""The answering user agent the responder uses: every INVITE is shown to a `decide` callback that
accepts it with an SDP answer (optionally ringing first) or rejects it with a status code.

    async def decide(call: IncomingCall) -> Accept | Reject:
        if call.header("X-Token") != expected:
            return Reject(403, "Forbidden")
        answer = sdp.answer(call.offer, [codecs.get("pcmu")], my_ip, rtp_port)
        return Accept(answer) if answer else Reject(488, "Not Acceptable Here")

    uas = UserAgentServer(decide, SipConfig(dscp=24))
    await uas.listen("udp", "0.0.0.0", 5060)

ACK, BYE, CANCEL, OPTIONS and re-INVITE are handled for it. Calls are bounded in number per source,
INVITE rate per source and duration (then the UAS hangs up), so one technician cannot starve another.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field
from typing import Awaitable, Callable

from . import sdp
from .dialog import Dialog
from .endpoint import Endpoint, SipConfig
from .message import Headers, Request
from .in_dialog import Session
from .transaction import ServerTransaction, response_to
from .flow import Flow, Peer

DECIDE_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Accept:
    answer: sdp.SessionDescription
    headers: dict[str, str] = field(default_factory=dict)
    ring_ms: float = 0.0               # send 180 Ringing, wait this long, then 200 OK


@dataclass(frozen=True)
class Reject:
    status: int
    reason: str = ""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class UasLimits:
    max_calls: int = 10000
    max_calls_per_source: int = 2000
    invites_per_s_per_source: float = 200.0     # token bucket, burst of the same size
    max_call_s: float | None = 3600.0           # the UAS hangs up longer calls


@dataclass
class UasStats:
    invites: int = 0
    answered: int = 0
    rejected: dict[int, int] = field(default_factory=dict)
    limited: int = 0
    cancelled: int = 0
    bad_offer: int = 0
    ended: dict[str, int] = field(default_factory=dict)


class IncomingCall(Session):
    """A call someone placed to us. `offer`/`remote_media` describe the caller's RTP."""

    def __init__(self, uas: "UserAgentServer", invite: Request, tx: ServerTransaction, flow: Flow,
                 offer: sdp.SessionDescription | None):
        super().__init__(uas.endpoint, invite.call_id)
        self.invite, self.tx, self.flow = invite, tx, flow
        self.source: Peer = flow.peer
        self.dscp_received: int | None = invite.dscp      # DSCP the INVITE arrived with (UDP only)
        self.offer = offer
        self.local_tag = os.urandom(4).hex()
        self.received_ns = time.monotonic_ns()
        self.answered_ns: int | None = None
        self._task: asyncio.Task | None = None
        self._limit: asyncio.TimerHandle | None = None
        if offer is not None:
            self.remote_sdp, self.remote_media = offer, sdp.negotiated(offer)

    def header(self, name: str) -> str | None:
        return self.invite.headers.get(name)

    def _cancelled(self) -> None:
        """CANCEL before our final answer: 487 to the INVITE, stop deciding (RFC 3261 9.2)."""
        if self.answered_ns is not None or self.ended.is_set():
            return
        self.tx.respond(response_to(self.invite, 487, "Request Terminated", self.local_tag))
        if self._task is not None:
            self._task.cancel()
        self._end("cancelled")

    def _end(self, reason: str) -> None:
        if self._limit is not None:
            self._limit.cancel()
        super()._end(reason)


Decider = Callable[[IncomingCall], Awaitable[Accept | Reject]]


class UserAgentServer:
    def __init__(self, decide: Decider, config: SipConfig | None = None, limits: UasLimits | None = None,
                 on_call_ended: Callable[[IncomingCall], None] | None = None):
        self.decide = decide
        self.config = config or SipConfig()
        self.limits = limits or UasLimits()
        self.on_call_ended = on_call_ended
        self.endpoint = Endpoint(self.config)
        self.endpoint.invite_handler = self._invite
        self.calls: dict[tuple[str, str], IncomingCall] = {}
        self.stats = UasStats()
        self._per_source: dict[str, int] = {}
        self._buckets: dict[str, tuple[float, float]] = {}

    async def listen(self, kind: str, host: str = "0.0.0.0", port: int = 5060) -> tuple[str, int]:
        """Listen on udp, tcp or tls (tls needs SipConfig.tls_server). Returns the bound address."""
        return await self.endpoint.listen(kind, host, port)

    async def close(self) -> None:
        calls = list(self.calls.values())
        await asyncio.gather(*(c.hangup("closed") for c in calls if c.dialog is not None),
                             return_exceptions=True)
        for c in calls:
            if c._task is not None:
                c._task.cancel()
            c._end("closed")
        await self.endpoint.close()

    async def __aenter__(self) -> "UserAgentServer":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    # --- admission ---------------------------------------------------------------------------------
    def _admit(self, src: str) -> str | None:
        if len(self.calls) >= self.limits.max_calls:
            return "too many calls"
        if self._per_source.get(src, 0) >= self.limits.max_calls_per_source:
            return "too many calls from your address"
        rate = self.limits.invites_per_s_per_source
        now = time.monotonic()
        tokens, last = self._buckets.get(src, (rate, now))
        tokens = min(rate, tokens + (now - last) * rate)
        if tokens < 1.0:
            self._buckets[src] = (tokens, now)
            return "call rate too high from your address"
        if len(self._buckets) > 10000:
            self._buckets.clear()                   # bounded memory under a spoofed-source flood
        self._buckets[src] = (tokens - 1.0, now)
        return None

    def _invite(self, req: Request, tx: ServerTransaction, flow: Flow) -> None:
        self.stats.invites += 1
        src = flow.peer.host
        refusal = self._admit(src)
        if refusal is not None:
            self.stats.limited += 1
            tx.respond(response_to(req, 503, "Service Unavailable", os.urandom(4).hex(),
                                   Headers([("Retry-After", "5"), ("Warning", f'399 readiness "{refusal}"')])))
            return
        key = (req.call_id, req.from_.tag)
        if key in self.calls:
            tx.terminate()          # a retransmitted INVITE after our 2xx: the 2xx is being repeated
            return
        offer = None
        if req.body:
            try:
                offer = sdp.parse(req.body)
                sdp.negotiated(offer)
            except sdp.SdpError as e:
                self.stats.bad_offer += 1
                tx.respond(response_to(req, 488, "Not Acceptable Here", os.urandom(4).hex(),
                                       Headers([("Warning", f'399 readiness "{str(e)[:80]}"')])))
                return
        call = IncomingCall(self, req, tx, flow, offer)
        self.calls[key] = call
        self._per_source[src] = self._per_source.get(src, 0) + 1
        call.on_ended = lambda c, key=key, src=src: self._ended(key, src, c)
        tx.on_cancel = call._cancelled
        call._task = asyncio.ensure_future(self._answer(call))
        call._task.add_done_callback(lambda t, call=call: self._answer_done(call, t))

    def _answer_done(self, call: IncomingCall, task: asyncio.Task) -> None:
        """A bug while answering must not leave the caller waiting or the call counted forever."""
        if task.cancelled() or task.exception() is None:
            return
        if call.answered_ns is None:
            call.tx.respond(response_to(call.invite, 500, "Server Internal Error", call.local_tag))
        call._end("failed")

    def _ended(self, key: tuple[str, str], src: str, call: Session) -> None:
        self.calls.pop(key, None)
        n = self._per_source.get(src, 0) - 1
        if n > 0:
            self._per_source[src] = n
        else:
            self._per_source.pop(src, None)
        self.stats.ended[call.end_reason] = self.stats.ended.get(call.end_reason, 0) + 1
        if self.on_call_ended is not None and isinstance(call, IncomingCall):
            self.on_call_ended(call)

    # --- answering ---------------------------------------------------------------------------------
    async def _answer(self, call: IncomingCall) -> None:
        req, tx = call.invite, call.tx
        try:
            decision = await asyncio.wait_for(self.decide(call), DECIDE_TIMEOUT_S)
        except asyncio.CancelledError:
            return                                   # CANCEL arrived; 487 already sent
        except Exception as e:                       # the responder's callback failed: say so, go on
            decision = Reject(500, "Server Internal Error", {"Warning": f'399 readiness "{type(e).__name__}"'})
        if call.ended.is_set():
            return
        if isinstance(decision, Reject):
            self.stats.rejected[decision.status] = self.stats.rejected.get(decision.status, 0) + 1
            tx.respond(response_to(req, decision.status, decision.reason or "Rejected", call.local_tag,
                                   Headers(list(decision.headers.items()))))
            call._end("rejected")
            return
        if decision.ring_ms > 0:
            tx.respond(response_to(req, 180, "Ringing", call.local_tag,
                                   Headers([("Contact", self.endpoint.contact(call.flow))])))
            try:
                await asyncio.sleep(decision.ring_ms / 1000)
            except asyncio.CancelledError:
                return
            if call.ended.is_set():
                return
        call._establish(Dialog.for_uas(req, call.local_tag, call.flow))
        call.local_sdp = decision.answer
        call.answered_ns = time.monotonic_ns()
        self.stats.answered += 1
        call._answer_2xx(req, tx, decision.answer,
                         lambda: asyncio.ensure_future(call.hangup("no-ack")),
                         Headers(list(decision.headers.items())))
        if self.limits.max_call_s:
            call._limit = asyncio.get_running_loop().call_later(
                self.limits.max_call_s, lambda: asyncio.ensure_future(call.hangup("max-duration")))


__all__ = ["UserAgentServer", "IncomingCall", "Accept", "Reject", "UasLimits", "UasStats"]
