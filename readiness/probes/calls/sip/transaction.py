"""RFC 3261 17 transactions: client and server, INVITE and non-INVITE, with their timers.

Timers run as `loop.call_later` handles on the one event loop (no task or thread per transaction),
so thousands of calls cost a few objects each. Each client transaction records the monotonic time
of every (re)transmission in `sent_ns`, which tests compare with a capture and the probe reports.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from dataclasses import dataclass
from typing import Callable

from .message import Headers, Request, Response
from .flow import Flow, TransportError, send_quiet

MAGIC_COOKIE = "z9hG4bK"          # RFC 3261 8.1.1.7


@dataclass(frozen=True)
class Timers:
    """RFC 3261 17.1.1.1 / Table 4. Defaults are the RFC's; tests may shorten T1."""

    t1: float = 0.5               # RTT estimate
    t2: float = 4.0               # longest retransmit interval for non-INVITE requests and INVITE responses
    t4: float = 5.0               # how long a message may remain in the network
    d: float = 32.0               # Timer D: absorb retransmitted finals, unreliable: at least 32 s

    @property
    def b(self) -> float:         # INVITE transaction timeout (also F, H, J): 64*T1
        return 64 * self.t1


_prefix = os.urandom(4).hex()
_counter = itertools.count(1)


def new_branch() -> str:
    return f"{MAGIC_COOKIE}{_prefix}{next(_counter):x}"


def response_to(request: Request, status: int, reason: str, to_tag: str = "",
                headers: Headers | None = None, body: bytes = b"") -> Response:
    """A response copying Via, From, To (plus our tag), Call-ID and CSeq (RFC 3261 8.2.6.2)."""
    h = Headers()
    for name, value in request.headers:
        if name in ("Via", "From", "Call-ID", "CSeq"):
            h.add(name, value)
        elif name == "To":
            if to_tag and ";tag=" not in value.replace(" ", "").lower():
                value = f"{value};tag={to_tag}"
            h.add(name, value)
    if status > 100 and request.headers.get("Record-Route") and request.method in ("INVITE", "SUBSCRIBE"):
        for rr in request.headers.get_all("Record-Route"):
            h.add("Record-Route", rr)
    if headers is not None:
        for name, value in headers:
            h.add(name, value)
    return Response(status, reason, h, body)


class Resender:
    """Sends the same bytes again at interval, interval*2, ... (capped), until stopped."""

    __slots__ = ("_loop", "_flow", "_data", "_interval", "_cap", "_handle", "_on_send")

    def __init__(self, flow: Flow, data: bytes, interval: float, cap: float | None,
                 on_send: Callable[[], None] | None = None):
        self._loop = asyncio.get_running_loop()
        self._flow, self._data, self._interval, self._cap = flow, data, interval, cap
        self._on_send = on_send
        self._handle = self._loop.call_later(interval, self._fire)

    def _fire(self) -> None:
        try:
            self._flow.send(self._data)
        except TransportError:
            return
        if self._on_send:
            self._on_send()
        self._interval *= 2
        if self._cap is not None:
            self._interval = min(self._interval, self._cap)
        self._handle = self._loop.call_later(self._interval, self._fire)

    def pin(self, interval: float) -> None:
        """Keep resending every `interval` from now (non-INVITE in Proceeding: every T2)."""
        self._handle.cancel()
        self._interval = interval
        self._cap = interval
        self._handle = self._loop.call_later(interval, self._fire)

    def stop(self) -> None:
        self._handle.cancel()


class ClientTransaction:
    """Sends one request and delivers its responses to `on_response`; `on_failure(cause, detail)`
    once if no final response comes (Timer B/F: 'timeout') or the transport fails."""

    def __init__(self, layer: "TransactionLayer", request: Request, flow: Flow,
                 on_response: Callable[[Response], None],
                 on_failure: Callable[[str, str], None]):
        self.layer, self.request, self.flow = layer, request, flow
        self.on_response, self.on_failure = on_response, on_failure
        self.invite = request.method == "INVITE"
        self.branch = request.top_via.branch
        self.key = (self.branch, request.method)
        self.state = "calling" if self.invite else "trying"
        self.sent_ns: list[int] = []
        self._data = request.encode()
        self._resend: Resender | None = None
        self._timeout: asyncio.TimerHandle | None = None
        self._linger: asyncio.TimerHandle | None = None
        self._ack: bytes | None = None

    @property
    def retransmissions(self) -> int:
        return max(0, len(self.sent_ns) - 1)

    def start(self) -> None:
        t = self.layer.timers
        self.layer.client[self.key] = self
        self._timeout = asyncio.get_running_loop().call_later(t.b, self._timed_out)
        try:
            self.flow.send(self._data)
        except TransportError as e:
            self.transport_failed(e)
            return
        self.sent_ns.append(time.monotonic_ns())
        if not self.flow.reliable:
            cap = None if self.invite else t.t2       # Timer A doubles without a cap; E caps at T2
            self._resend = Resender(self.flow, self._data, t.t1, cap,
                                     lambda: self.sent_ns.append(time.monotonic_ns()))

    def receive(self, resp: Response) -> None:
        if self.state in ("completed", "terminated"):
            if self.state == "completed" and self.invite and resp.status >= 300 and self._ack:
                send_quiet(self.flow, self._ack)           # our ACK was lost: repeat it (17.1.1.2)
            return
        if resp.status < 200:
            if self.state in ("calling", "trying"):
                self.state = "proceeding"
                if self.invite:
                    self._stop_resend()
                    self._cancel_timeout()            # B only guards the Calling state
                elif self._resend is not None:
                    self._resend.pin(self.layer.timers.t2)
            self.on_response(resp)
            return
        self._stop_resend()
        self._cancel_timeout()
        if self.invite and resp.status < 300:
            self._terminate()                         # the 2xx ACK belongs to the UA core (13.2.2.4)
        else:
            if self.invite:
                self._ack = self._ack_for(resp).encode()
                send_quiet(self.flow, self._ack)
            self.state = "completed"
            reliable = self.flow.reliable
            t = self.layer.timers
            linger = 0 if reliable else (t.d if self.invite else t.t4)   # Timer D / K
            self._linger = asyncio.get_running_loop().call_later(linger, self._terminate)
        self.on_response(resp)

    def _ack_for(self, resp: Response) -> Request:
        """ACK for a non-2xx final: same branch, To with the response's tag (17.1.1.3)."""
        req = self.request
        h = Headers()
        h.add("Via", req.headers.get_all("Via")[0])
        for name in ("Route", "Max-Forwards", "From"):
            for value in req.headers.get_all(name) if name == "Route" else [req.headers.get(name)]:
                if value:
                    h.add(name, value)
        h.add("To", resp.headers.get("To") or "")
        h.add("Call-ID", req.call_id)
        h.add("CSeq", f"{req.cseq[0]} ACK")
        return Request("ACK", req.uri, h)

    def _timed_out(self) -> None:
        if self.state in ("completed", "terminated"):
            return
        self._stop_resend()
        self._terminate()
        which = "B" if self.invite else "F"
        self.on_failure("timeout", f"no answer to {self.request.method} within "
                                   f"{self.layer.timers.b:g} s (Timer {which})")

    def transport_failed(self, err: TransportError) -> None:
        if self.state in ("completed", "terminated"):
            return
        self._stop_resend()
        self._cancel_timeout()
        self._terminate()
        self.on_failure(err.cause, str(err))

    def _stop_resend(self) -> None:
        if self._resend is not None:
            self._resend.stop()
            self._resend = None

    def _cancel_timeout(self) -> None:
        if self._timeout is not None:
            self._timeout.cancel()
            self._timeout = None

    def _terminate(self) -> None:
        self.state = "terminated"
        self._stop_resend()
        self._cancel_timeout()
        if self.layer.client.get(self.key) is self:
            del self.layer.client[self.key]


class ServerTransaction:
    """One received request. The UA answers with `respond()`; retransmitted requests are absorbed
    here, and a non-2xx final to INVITE is repeated (Timer G) until the ACK comes (Timer H)."""

    def __init__(self, layer: "TransactionLayer", request: Request, flow: Flow, key: tuple):
        self.layer, self.request, self.flow, self.key = layer, request, flow, key
        self.invite = request.method == "INVITE"
        self.state = "proceeding" if self.invite else "trying"
        self.last: bytes | None = None
        self.final: Response | None = None
        self.on_ack_timeout: Callable[[], None] | None = None
        self.on_cancel: Callable[[], None] | None = None      # set by the UA that owns an INVITE
        self._resend: Resender | None = None
        self._timers: list[asyncio.TimerHandle] = []
        layer.server[key] = self
        if self.invite:
            self.respond(response_to(request, 100, "Trying"))   # 17.2.1: at once, cheaper than a timer

    def respond(self, resp: Response) -> None:
        if self.state in ("completed", "confirmed", "terminated"):
            return
        data = resp.encode()
        self.last = data
        send_quiet(self.flow, data)
        if resp.status < 200:
            if not self.invite:
                self.state = "proceeding"
            return
        self.final = resp
        loop = asyncio.get_running_loop()
        t = self.layer.timers
        if self.invite and resp.status < 300:
            self.terminate()                         # 2xx retransmission is the UA core's (13.3.1.4)
            return
        self.state = "completed"
        if self.invite:
            if not self.flow.reliable:
                self._resend = Resender(self.flow, data, t.t1, t.t2)          # Timer G
            self._timers.append(loop.call_later(t.b, self._no_ack))             # Timer H
        else:
            self._timers.append(loop.call_later(0 if self.flow.reliable else t.b, self.terminate))  # J

    def retransmitted(self, req: Request) -> None:
        if req.method == "ACK":
            if self.invite and self.state == "completed":
                self.state = "confirmed"
                if self._resend:
                    self._resend.stop()
                t = self.layer.timers
                self._timers.append(asyncio.get_running_loop().call_later(
                    0 if self.flow.reliable else t.t4, self.terminate))        # Timer I
            return
        if self.last is not None and self.state in ("proceeding", "completed"):
            send_quiet(self.flow, self.last)

    def _no_ack(self) -> None:
        if self.state == "completed":
            self.terminate()
            if self.on_ack_timeout:
                self.on_ack_timeout()

    def terminate(self) -> None:
        self.state = "terminated"
        if self._resend:
            self._resend.stop()
        for h in self._timers:
            h.cancel()
        if self.layer.server.get(self.key) is self:
            del self.layer.server[self.key]


def server_key(req: Request, method: str | None = None) -> tuple:
    """RFC 3261 17.2.3 matching: branch + sent-by + method (ACK matches its INVITE)."""
    via = req.top_via
    m = method or ("INVITE" if req.method == "ACK" else req.method)
    if via.branch.startswith(MAGIC_COOKIE):
        return (via.branch, via.sent_by(), m)
    # RFC 2543 peers: no usable branch; fall back to the dialog and CSeq identifiers
    return ("2543", req.call_id, req.from_.tag, req.cseq[0], m, str(via))


class TransactionLayer:
    """Transactions of one endpoint, looked up by key when a message arrives."""

    def __init__(self, timers: Timers | None = None):
        self.timers = timers or Timers()
        self.client: dict[tuple, ClientTransaction] = {}
        self.server: dict[tuple, ServerTransaction] = {}

    def send(self, request: Request, flow: Flow, on_response: Callable[[Response], None],
             on_failure: Callable[[str, str], None]) -> ClientTransaction:
        tx = ClientTransaction(self, request, flow, on_response, on_failure)
        tx.start()
        return tx

    def match_response(self, resp: Response) -> ClientTransaction | None:
        try:
            via = resp.top_via
            _, method = resp.cseq
        except ValueError:
            return None
        return self.client.get((via.branch, method))

    def match_request(self, req: Request) -> ServerTransaction | None:
        return self.server.get(server_key(req))

    def fail_flow(self, peer, err: TransportError) -> None:
        """A peer became unreachable: every client transaction towards it fails now."""
        for tx in [t for t in self.client.values() if t.flow.peer == peer]:
            tx.transport_failed(err)
