"""The SIP endpoint both user agents stand on: transports, transactions, dialogs, and the routing of
each arriving message to the transaction, dialog or handler it belongs to (RFC 3261 8, 12, 17).

Out of dialog it answers OPTIONS itself, hands INVITEs to `invite_handler` (the UAS) and answers
anything else with 405. In-dialog requests go to the dialog's owner; unknown dialogs get 481. With a
`guard` (guard.py), a request that is neither authenticated nor part of an authenticated dialog gets
at most one reply no larger than itself, before any of that.
"""

from __future__ import annotations

import asyncio
import os
import ssl
from dataclasses import dataclass, field
from typing import Callable, Protocol

from .guard import RequestGuard
from .message import Headers, Request, Response
from .transaction import (ClientTransaction, ServerTransaction, Timers, TransactionLayer, new_branch,
                          response_to, server_key)
from .flow import DEFAULT_SIGNALLING_DSCP, Flow, Peer, TransportError, send_quiet
from .transport import SipTransports, TransportLimits, local_address_for, resolve
from .uri import SipUri, Via, format_hostport

ALLOW = "INVITE, ACK, BYE, CANCEL, OPTIONS"


@dataclass(frozen=True)
class SipConfig:
    """How an endpoint talks SIP. `transport` is used for requests it sends; a UAS listens on the
    transports it is given. `dscp` marks all signalling (default CS3; RFC 4594 says CS5)."""

    transport: str = "udp"
    local_host: str = "0.0.0.0"
    local_port: int = 0
    dscp: int = DEFAULT_SIGNALLING_DSCP
    timers: Timers = field(default_factory=Timers)
    user: str = "readiness"
    user_agent: str = "readiness"
    contact_host: str | None = None            # advertise this address (NAT) instead of the socket's
    tls_client: ssl.SSLContext | None = None   # None: system CAs with hostname check
    tls_server: ssl.SSLContext | None = None
    limits: TransportLimits = field(default_factory=TransportLimits)


class RequestFailed(Exception):
    """No final response: `cause` is timeout, dns, unreachable, refused, tls or closed."""

    def __init__(self, cause: str, detail: str):
        super().__init__(detail)
        self.cause = cause


class DialogOwner(Protocol):
    def in_dialog(self, req: Request, tx: ServerTransaction) -> None: ...
    def ack_received(self, req: Request) -> None: ...
    def stray_2xx(self, resp: Response) -> None: ...


InviteHandler = Callable[[Request, ServerTransaction, Flow], None]


@dataclass
class EndpointStats:
    requests_in: int = 0
    responses_in: int = 0
    stray_responses: int = 0
    unknown_dialog: int = 0
    rejected_requests: int = 0


class Endpoint:
    def __init__(self, config: SipConfig):
        self.config = config
        self.transactions = TransactionLayer(config.timers)
        self.transports = SipTransports(self._on_message, self._on_error, config.dscp,
                                        config.tls_client, config.tls_server, config.limits)
        self.dialogs: dict[tuple[str, str, str], DialogOwner] = {}
        self.invite_handler: InviteHandler | None = None
        self.guard: RequestGuard | None = None   # set: unauthenticated requests get at most one small reply
        # sees each OPTIONS it answers and may add headers to the 200 OK (after the guard: token holders)
        self.on_options: Callable[[Request, Flow], list[tuple[str, str]] | None] | None = None
        self.stats = EndpointStats()
        self._local_ip: dict[str, str] = {}

    # --- life --------------------------------------------------------------------------------------
    async def listen(self, kind: str, host: str | None = None, port: int | None = None) -> tuple[str, int]:
        return await self.transports.listen(kind, host or self.config.local_host,
                                            self.config.local_port if port is None else port)

    async def close(self) -> None:
        for tx in list(self.transactions.client.values()):
            tx.transport_failed(TransportError("closed", "the SIP endpoint was closed"))
        for tx in list(self.transactions.server.values()):
            tx.terminate()
        await self.transports.close()

    # --- sending -----------------------------------------------------------------------------------
    def transport_for(self, uri: SipUri) -> str:
        """sips: and ;transport= decide; otherwise the configured transport."""
        if uri.scheme == "sips" or "transport" in uri.params:
            return uri.transport if uri.transport in ("udp", "tcp", "tls") else "udp"
        return self.config.transport

    async def flow_for(self, uri: SipUri) -> Flow:
        """Resolve the URI's host and open (or reuse) a flow to it. Raises RequestFailed."""
        kind = self.transport_for(uri)
        port = uri.port or (5061 if kind == "tls" else 5060)
        try:
            _, ip = await resolve(uri.host, port)
            if kind == "udp" and self.transports.local_address("udp") is None and ":" not in ip:
                await self.listen("udp")          # the configured address, when nothing is bound yet
            return await self.transports.flow_to(Peer(kind, ip, port), server_name=uri.host)
        except TransportError as e:
            raise RequestFailed(e.cause, str(e)) from None

    def local_host(self, flow: Flow) -> str:
        if self.config.contact_host:
            return self.config.contact_host
        host = flow.local[0]
        if host in ("0.0.0.0", "::", ""):
            peer = flow.peer.host
            if peer not in self._local_ip:
                self._local_ip[peer] = local_address_for(peer)
            host = self._local_ip[peer]
        return host

    def contact(self, flow: Flow, user: str | None = None) -> str:
        kind = flow.peer.transport
        tail = "" if kind == "udp" else f";transport={kind}"
        return f"<sip:{user or self.config.user}@{format_hostport(self.local_host(flow), flow.local[1])}{tail}>"

    def stamp(self, req: Request, flow: Flow, branch: str | None = None) -> Request:
        """Top Via for this hop (new branch unless given), Max-Forwards and User-Agent if missing."""
        via = Via(flow.peer.transport.upper(), self.local_host(flow), flow.local[1],
                  {"branch": branch or new_branch(), "rport": ""})
        req.headers.prepend("Via", str(via))
        if "Max-Forwards" not in req.headers:
            req.headers.add("Max-Forwards", "70")
        if "User-Agent" not in req.headers and self.config.user_agent:
            req.headers.add("User-Agent", self.config.user_agent)
        return req

    def send(self, req: Request, flow: Flow, on_response: Callable[[Response], None],
             on_failure: Callable[[str, str], None]) -> ClientTransaction:
        return self.transactions.send(req, flow, on_response, on_failure)

    async def request(self, req: Request, flow: Flow,
                      on_provisional: Callable[[Response], None] | None = None) -> Response:
        """Send `req` in a new client transaction and return its final response. Raises
        RequestFailed when none comes (Timer B/F bound the wait)."""
        fut: asyncio.Future[Response] = asyncio.get_running_loop().create_future()

        def got(resp: Response) -> None:
            if resp.status < 200:
                if on_provisional:
                    on_provisional(resp)
            elif not fut.done():
                fut.set_result(resp)

        def failed(cause: str, detail: str) -> None:
            if not fut.done():
                fut.set_exception(RequestFailed(cause, detail))

        self.send(req, flow, got, failed)
        guard = self.transactions.timers.b + 5.0
        try:
            return await asyncio.wait_for(fut, guard)
        except asyncio.TimeoutError:
            raise RequestFailed("timeout", f"no final response to {req.method} within {guard:g} s") from None

    def send_stateless(self, data: bytes, flow: Flow) -> None:
        send_quiet(flow, data)

    # --- receiving ---------------------------------------------------------------------------------
    def _on_error(self, peer: Peer, err: TransportError) -> None:
        self.transactions.fail_flow(peer, err)

    def _on_message(self, msg: Request | Response, flow: Flow) -> None:
        if isinstance(msg, Response):
            self.stats.responses_in += 1
            tx = self.transactions.match_response(msg)
            if tx is not None:
                tx.receive(msg)
                return
            self.stats.stray_responses += 1
            if 200 <= msg.status < 300 and msg.cseq[1] == "INVITE":
                owner = self.dialogs.get((msg.call_id, msg.from_.tag, msg.to.tag))
                if owner is not None:
                    owner.stray_2xx(msg)         # our ACK was lost: the owner repeats it
            return
        self.stats.requests_in += 1
        st = self.transactions.match_request(msg)
        if st is not None:
            st.retransmitted(msg)
            return
        if msg.method == "ACK":
            owner = self.dialogs.get((msg.call_id, msg.to.tag, msg.from_.tag))
            if owner is not None:
                owner.ack_received(msg)
            return
        if self.guard is not None and not self._belongs(msg):
            why = self.guard.authenticate(msg)
            if why is not None:
                self.guard.refuse(msg, why, flow)      # before any transaction: no 100, no Timer G
                return
        if len(self.transactions.server) >= self.config.limits.max_transactions:
            # a flood must not grow memory: answer without keeping state (RFC 3261 8.2.6 allows it)
            self.stats.rejected_requests += 1
            self.send_stateless(response_to(msg, 503, "Service Unavailable", os.urandom(4).hex(),
                                            Headers([("Retry-After", "5")])).encode(), flow)
            return
        tx = ServerTransaction(self.transactions, msg, flow, server_key(msg))
        if msg.method == "CANCEL":
            self._cancel(msg, tx)
            return
        required = msg.headers.get_all("Require")
        if required:
            self._reject(tx, 420, "Bad Extension", {"Unsupported": ", ".join(required)})
            return
        if msg.to.tag:
            owner = self.dialogs.get((msg.call_id, msg.to.tag, msg.from_.tag))
            if owner is None:
                self.stats.unknown_dialog += 1
                self._reject(tx, 481, "Call/Transaction Does Not Exist")
            else:
                owner.in_dialog(msg, tx)
            return
        if msg.method == "OPTIONS":
            h = Headers([("Allow", ALLOW), ("Accept", "application/sdp")])
            for name, value in (self.on_options(msg, flow) or []) if self.on_options is not None else []:
                h.add(name, value)
            tx.respond(response_to(msg, 200, "OK", os.urandom(4).hex(), h))
        elif msg.method == "INVITE" and self.invite_handler is not None:
            self.invite_handler(msg, tx, flow)
        else:
            self._reject(tx, 405, "Method Not Allowed", {"Allow": ALLOW})

    def _belongs(self, msg: Request) -> bool:
        """Part of something already authenticated: a request in a dialog we hold, or a CANCEL of an
        INVITE we are answering."""
        if msg.to.tag and (msg.call_id, msg.to.tag, msg.from_.tag) in self.dialogs:
            return True
        return msg.method == "CANCEL" and server_key(msg, "INVITE") in self.transactions.server

    def _cancel(self, cancel: Request, tx: ServerTransaction) -> None:
        """RFC 3261 9.2: 200 to the CANCEL; the INVITE's owner then answers the INVITE with 487."""
        invite = self.transactions.server.get(server_key(cancel, "INVITE"))
        if invite is None or invite.state != "proceeding":
            self._reject(tx, 481, "Call/Transaction Does Not Exist")
            return
        tx.respond(response_to(cancel, 200, "OK"))
        if invite.on_cancel is not None:
            invite.on_cancel()
        else:
            invite.respond(response_to(invite.request, 487, "Request Terminated", os.urandom(4).hex()))

    def _reject(self, tx: ServerTransaction, status: int, reason: str,
                extra: dict[str, str] | None = None) -> None:
        self.stats.rejected_requests += 1
        tag = "" if status == 100 else os.urandom(4).hex()
        tx.respond(response_to(tx.request, status, reason, tag, Headers(list((extra or {}).items()))))
