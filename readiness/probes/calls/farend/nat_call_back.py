"""The responder's side of the NAT binding test (wire/call_back.py): after the idle time a caller
asked for, one OPTIONS back to where its request came from. Bounded per source and in total, so
even token holders cannot make the responder keep much state or send much."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass

from ..sip.endpoint import Endpoint
from ..sip.flow import Flow, send_quiet
from ..sip.message import Headers, Request
from ..wire import call_back

COPIES = 2                     # the call-back and one repeat 200 ms later: one lost datagram is not a lost binding
REPEAT_S = 0.2


@dataclass(frozen=True)
class CallBackLimits:
    per_source: int = 32       # pending call-backs per source address (a test uses about ten)
    total: int = 2048


class NatCallBacks:
    def __init__(self, endpoint: Endpoint, limits: CallBackLimits | None = None):
        self.endpoint = endpoint
        self.limits = limits or CallBackLimits()
        self._pending: dict[str, int] = {}
        self._handles: set[asyncio.TimerHandle] = set()
        self.sent = 0
        self.refused = 0

    def requested(self, req: Request, flow: Flow) -> None:
        """Endpoint.on_options: schedule the call-back if the OPTIONS asks for one."""
        idle = call_back.requested_idle(req.headers.get(call_back.HEADER))
        if idle is None or flow.peer.transport != "udp":      # bindings that time out are UDP's
            return
        host = flow.peer.host
        if self._pending.get(host, 0) >= self.limits.per_source or sum(self._pending.values()) >= self.limits.total:
            self.refused += 1
            return
        self._pending[host] = self._pending.get(host, 0) + 1
        loop = asyncio.get_running_loop()
        for copy in range(COPIES):
            last = copy == COPIES - 1
            handle = loop.call_later(idle + copy * REPEAT_S, self._fire, req, flow, idle, last)
            self._handles.add(handle)

    def _fire(self, req: Request, flow: Flow, idle: float, last: bool) -> None:
        self._handles = {h for h in self._handles if not h.cancelled() and h.when() > asyncio.get_running_loop().time()}
        self._send(req, flow, idle)
        if last:
            host = flow.peer.host
            left = self._pending.get(host, 1) - 1
            if left > 0:
                self._pending[host] = left
            else:
                self._pending.pop(host, None)

    def _send(self, req: Request, flow: Flow, idle: float) -> None:
        peer = flow.peer
        h = Headers([("From", f"<sip:readiness@{self.endpoint.local_host(flow)}>;tag={os.urandom(4).hex()}"),
                     ("To", f"<sip:test@{peer.host}>"), ("Call-ID", req.call_id), ("CSeq", "1 OPTIONS"),
                     (call_back.HEADER, f"{idle:g}")])
        out = self.endpoint.stamp(Request("OPTIONS", f"sip:test@{peer.host}:{peer.port}", h), flow)
        self.sent += 1
        send_quiet(flow, out.encode())

    def close(self) -> None:
        for handle in self._handles:
            handle.cancel()
        self._handles.clear()
        self._pending.clear()
