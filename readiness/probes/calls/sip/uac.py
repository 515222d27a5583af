"""The calling user agent: INVITE with an SDP offer, timing and cause of every call, ACK, BYE,
CANCEL, re-INVITE, digest authentication (401/407), REGISTER and OPTIONS (RFC 3261 8-10, 13-15, 22).

    async with UserAgent(SipConfig(transport="udp", dscp=24), credentials) as ua:
        offer = sdp.offer([codecs.get("pcmu")], "192.0.2.10", 40000)
        call = ua.call("sip:test@192.0.2.1:5060", offer, headers={"X-Token": token})
        outcome = await call.wait()              # CallOutcome: answered, status, cause, setup_ms ...
        if outcome.answered:
            media = call.remote_media            # where to send RTP, payload type, ptime
            ...
            await call.hangup()

Every wait is bounded: Timer B while nothing answers, `answer_timeout` while it rings (then the
call is CANCELled), Timer F for BYE/REGISTER/OPTIONS.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from dataclasses import dataclass
from typing import Callable

from ....errors import ReadinessError
from . import sdp
from .dialog import Dialog
from .digest import Credentials, DigestError, authorization, challenges
from .endpoint import Endpoint, RequestFailed, SipConfig
from .message import Headers, Request, Response
from .in_dialog import Session
from .transaction import ClientTransaction
from .flow import Flow
from .uri import NameAddr, SipUri

DEFAULT_ANSWER_TIMEOUT_S = 60.0


_WARN_TEXT = re.compile(r'^\s*\d{3}\s+\S+\s+"((?:[^"\\]|\\.)*)"')


def refusal(resp: Response) -> str:
    """"486 Busy Here", with the Warning header's text when the far end gave one (RFC 3261 20.43:
    warn-code warn-agent "warn-text"): it often says why, e.g. "403 Forbidden (bad token)"."""
    text = f"{resp.status} {resp.reason}"
    warning = resp.headers.get("Warning")
    m = _WARN_TEXT.match(warning or "")
    return f"{text} ({m.group(1)[:120]})" if m and m.group(1) and resp.status >= 300 else text


def cause_for_status(status: int) -> str:
    """The failure class of a final status: answered, redirected, auth, client-error,
    server-error, global-failure (RFC 3261 21)."""
    if status < 300:
        return "answered"
    if status < 400:
        return "redirected"
    if status in (401, 407):
        return "auth"
    if status < 500:
        return "client-error"
    if status < 600:
        return "server-error"
    return "global-failure"


@dataclass(frozen=True)
class CallOutcome:
    """How one call attempt ended up. Times are time.monotonic_ns().

    cause: answered | redirected | auth | client-error | server-error | global-failure (from the
    status) | timeout | dns | unreachable | refused | tls | closed (no final response) |
    cancelled | sdp (answered with unusable SDP; the call was hung up) | error (a bug here) |
    srtp-refused (set by the call load: SRTP offered, the answer declined it; hung up)."""

    call_id: str
    answered: bool
    cause: str
    status: int | None = None
    reason: str = ""
    detail: str = ""
    invite_ns: int = 0
    progress_ns: int | None = None          # first 180 or 183
    final_ns: int | None = None
    retransmissions: int = 0
    remote_media: sdp.MediaInfo | None = None
    dscp_received: int | None = None        # DSCP the final response arrived with (UDP only)

    @property
    def setup_ms(self) -> float | None:
        """INVITE to 200 OK (from the first INVITE, also when it had to be authenticated)."""
        if not self.answered or self.final_ns is None:
            return None
        return (self.final_ns - self.invite_ns) / 1e6

    @property
    def post_dial_delay_ms(self) -> float | None:
        """INVITE to the first 180/183."""
        return None if self.progress_ns is None else (self.progress_ns - self.invite_ns) / 1e6


@dataclass(frozen=True)
class RequestOutcome:
    """The result of a REGISTER or OPTIONS. `status` None means no answer (see `cause`)."""

    status: int | None
    reason: str = ""
    cause: str = ""
    detail: str = ""
    rtt_ms: float | None = None
    response: Response | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


ProvisionalCallback = Callable[["Call", Response], None]


class Call(Session):
    """An outgoing call. Created by UserAgent.call(); the INVITE leaves at once."""

    def __init__(self, ua: "UserAgent", target: SipUri, offer: sdp.SessionDescription,
                 headers: dict[str, str] | None, on_provisional: ProvisionalCallback | None,
                 answer_timeout: float):
        super().__init__(ua.endpoint, f"{os.urandom(8).hex()}@readiness", headers)
        self.ua, self.target, self.local_sdp = ua, target, offer
        self.on_provisional = on_provisional
        self.answer_timeout = answer_timeout
        self.from_tag = os.urandom(4).hex()
        self.outcome: CallOutcome | None = None
        self.final_response: Response | None = None     # the INVITE's final response (its headers)
        self.provisional: list[int] = []
        self._done: asyncio.Future[CallOutcome] = asyncio.get_running_loop().create_future()
        self._invite: Request | None = None
        self._tx: ClientTransaction | None = None
        self._flow: Flow | None = None
        self._cancel_wanted = False
        self._cancel_sent = False
        self._invite_ns = 0
        self._progress_ns: int | None = None
        self._retransmissions = 0
        self._task = asyncio.ensure_future(self._run())
        self._task.add_done_callback(self._run_done)

    def _run_done(self, task: asyncio.Task) -> None:
        """A bug in the call's own code still ends the call with a cause, so wait() never hangs."""
        if not task.cancelled() and task.exception() is not None and not self._done.done():
            exc = task.exception()
            self._finish("error", None, "", f"internal error: {type(exc).__name__}: {exc}")

    async def wait(self, timeout: float | None = None) -> CallOutcome:
        """The outcome once a final response (or failure) is known."""
        return await asyncio.wait_for(asyncio.shield(self._done), timeout)

    def cancel(self) -> None:
        """Stop ringing: CANCEL now, or as soon as a provisional response allows it (RFC 3261 9.1).
        A call already answered is hung up instead."""
        self._cancel_wanted = True
        if self.outcome is not None and self.outcome.answered:
            asyncio.ensure_future(self.hangup())
        elif self._progress_seen():
            self._send_cancel()

    @property
    def sent_invite(self) -> Request | None:
        """The latest INVITE as we sent it (what a path check compares with what arrived)."""
        return self._invite

    @property
    def local_address(self) -> str:
        """host:port we send this call's SIP from ('' before the flow is open)."""
        if self._flow is None:
            return ""
        return f"{self.endpoint.local_host(self._flow)}:{self._flow.local[1]}"

    @property
    def invite_transmissions_ns(self) -> list[int]:
        """monotonic_ns of each (re)transmission of the latest INVITE (Timer A spacing on UDP)."""
        return list(self._tx.sent_ns) if self._tx is not None else []

    def _progress_seen(self) -> bool:
        return bool(self.provisional)

    # --- the INVITE transaction(s) -----------------------------------------------------------------
    async def _run(self) -> None:
        try:
            self._flow = await self.endpoint.flow_for(self.target)
        except RequestFailed as e:
            self._invite_ns = time.monotonic_ns()
            self._finish(e.cause, None, "", str(e))
            return
        cseq, auth = 1, None
        deadline = time.monotonic() + self.answer_timeout
        for attempt in range(3):
            req = self._build_invite(cseq, auth)
            resp = await self._attempt(req, deadline)
            if resp is None:
                return
            if resp.status in (401, 407) and attempt < 2 and not self._cancel_wanted:
                auth = self._authorize(resp, req)
                if auth is None:
                    return
                cseq += 1
                continue
            self._final(req, resp)
            return

    def _build_invite(self, cseq: int, auth: tuple[str, str] | None) -> Request:
        assert self._flow is not None
        me = f"sip:{self.ua.config.user}@{self.endpoint.local_host(self._flow)}"
        h = Headers([("From", f"<{me}>;tag={self.from_tag}"), ("To", f"<{self.target}>"),
                     ("Call-ID", self.call_id), ("CSeq", f"{cseq} INVITE"),
                     ("Contact", self.endpoint.contact(self._flow)), ("Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS")])
        for name, value in self.extra_headers.items():
            h.add(name, value)
        if auth is not None:
            h.add(*auth)
        h.add("Content-Type", "application/sdp")
        body = self.local_sdp.encode() if self.local_sdp else b""
        return self.endpoint.stamp(Request("INVITE", str(self.target), h, body), self._flow)

    async def _attempt(self, req: Request, deadline: float) -> Response | None:
        """One INVITE transaction. Returns its final response, or None after finishing the call."""
        assert self._flow is not None
        final: asyncio.Future[Response] = asyncio.get_running_loop().create_future()

        def got(resp: Response) -> None:
            if resp.status >= 200:
                if not final.done():
                    final.set_result(resp)
                return
            self._provisional(resp)

        def failed(cause: str, detail: str) -> None:
            if not final.done():
                final.set_exception(RequestFailed(cause, detail))

        self._invite = req
        if self._tx is not None:
            self._retransmissions += self._tx.retransmissions     # an earlier (challenged) INVITE
        self._tx = self.endpoint.send(req, self._flow, got, failed)
        if not self._invite_ns:
            self._invite_ns = self._tx.sent_ns[0] if self._tx.sent_ns else time.monotonic_ns()
        try:
            try:
                resp = await asyncio.wait_for(asyncio.shield(final), max(0.0, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                self._cancel_wanted = True
                if not self._progress_seen():
                    # nothing came back at all: there is nothing to CANCEL (RFC 3261 9.1), and a phone
                    # moves on to its next server now rather than after Timer B
                    self._finish("timeout", None, "", f"no response within {self.answer_timeout:g} s")
                    return None
                # still ringing at the deadline: CANCEL, then wait (bounded) for the 487
                self._send_cancel()
                try:
                    late = await asyncio.wait_for(asyncio.shield(final), self.endpoint.transactions.timers.b)
                except asyncio.TimeoutError:
                    late = None
                if late is not None and 200 <= late.status < 300:
                    self._final(req, late)             # answered just as we gave up: hang it up
                    return None
                self._finish("timeout", late.status if late else None, late.reason if late else "",
                             f"not answered within {self.answer_timeout:g} s")
                return None
        except RequestFailed as e:
            self._finish(e.cause, None, "", str(e))
            return None
        return resp

    def _provisional(self, resp: Response) -> None:
        self.provisional.append(resp.status)
        if resp.status in (180, 183) and self._progress_ns is None:
            self._progress_ns = time.monotonic_ns()
        if resp.body and resp.content_type == "application/sdp" and self.remote_media is None:
            try:
                self._take_remote(resp.body)           # early media (183 Session Progress)
            except sdp.SdpError:
                pass
        if self._cancel_wanted and resp.status > 100:
            self._send_cancel()
        if self.on_provisional is not None and resp.status > 100:
            self.on_provisional(self, resp)

    def _send_cancel(self) -> None:
        """CANCEL with the INVITE's Via, Call-ID, From, To, Route and CSeq number (9.1)."""
        inv = self._invite
        if self._cancel_sent or inv is None or self._flow is None or self.outcome is not None:
            return
        self._cancel_sent = True
        h = Headers([("Via", inv.headers.get_all("Via")[0])])
        for name in ("From", "To", "Call-ID"):
            h.add(name, inv.headers.get(name) or "")
        h.add("CSeq", f"{inv.cseq[0]} CANCEL")
        for r in inv.headers.get_all("Route"):
            h.add("Route", r)
        h.add("Max-Forwards", "70")
        cancel = Request("CANCEL", inv.uri, h)
        self.endpoint.send(cancel, self._flow, lambda r: None, lambda c, d: None)

    def _authorize(self, resp: Response, req: Request) -> tuple[str, str] | None:
        creds = self.ua.credentials
        if creds is None:
            self._finish("auth", resp.status, resp.reason, f"{resp.status} {resp.reason}: the target "
                         "wants authentication and no SIP username/password is configured")
            return None
        try:
            ch = challenges(resp)[0]
        except DigestError as e:
            self._finish("auth", resp.status, resp.reason, f"cannot answer the challenge: {e}")
            return None
        if req.headers.get(ch.header_name) and not ch.stale:
            self._finish("auth", resp.status, resp.reason,
                         f"{resp.status} {resp.reason}: credentials for {creds.username} were refused")
            return None
        return ch.header_name, authorization(ch, creds, "INVITE", req.uri)

    def _final(self, req: Request, resp: Response) -> None:
        self.final_response = resp
        if resp.status >= 300:
            cause = "cancelled" if self._cancel_wanted and resp.status == 487 else cause_for_status(resp.status)
            self._finish(cause, resp.status, resp.reason, refusal(resp), resp)
            return
        assert self._flow is not None
        self._establish(Dialog.for_uac(req, resp, self._flow))
        self._send_ack(req, resp)
        try:
            self._take_remote(resp.body)
        except sdp.SdpError as e:
            self._finish("sdp", resp.status, resp.reason, f"answered with unusable SDP: {e}")
            asyncio.ensure_future(self.hangup())
            return
        if self._cancel_wanted:
            self._finish("cancelled", resp.status, resp.reason, "answered after it was cancelled")
            asyncio.ensure_future(self.hangup())
            return
        self._finish("answered", resp.status, resp.reason, "", resp)

    def _finish(self, cause: str, status: int | None, reason: str, detail: str,
                final: Response | None = None) -> None:
        if self._done.done():
            return
        answered = cause == "answered"
        resent = self._retransmissions + (self._tx.retransmissions if self._tx is not None else 0)
        self.outcome = CallOutcome(self.call_id, answered, cause, status, reason, detail, self._invite_ns,
                                   self._progress_ns, time.monotonic_ns(), resent,
                                   self.remote_media if answered else None, final.dscp if final else None)
        if not answered and self.dialog is None:
            self._end("cancelled" if cause == "cancelled" else "failed")
        self._done.set_result(self.outcome)

    def _end(self, reason: str) -> None:
        super()._end(reason)
        self.ua.calls.pop(self.call_id, None)


class UserAgent:
    """One calling endpoint: a socket (UDP) or connections (TCP/TLS) shared by all its calls."""

    def __init__(self, config: SipConfig | None = None, credentials: Credentials | None = None):
        self.config = config or SipConfig()
        self.credentials = credentials
        self.endpoint = Endpoint(self.config)
        self.calls: dict[str, Call] = {}

    async def start(self) -> "UserAgent":
        """Bind the local UDP socket now (so a port in use is reported before the first call)."""
        if self.config.transport == "udp":
            await self.endpoint.listen("udp")
        return self

    async def close(self) -> None:
        for call in list(self.calls.values()):
            call._end("closed")
        await self.endpoint.close()

    async def __aenter__(self) -> "UserAgent":
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.close()

    def _uri(self, target: str) -> SipUri:
        try:
            return SipUri.parse(target)
        except ValueError as e:
            raise ReadinessError(f"bad SIP target {target!r}: {e}") from None

    def call(self, target: str, offer: sdp.SessionDescription, headers: dict[str, str] | None = None,
             on_provisional: ProvisionalCallback | None = None,
             answer_timeout: float = DEFAULT_ANSWER_TIMEOUT_S) -> Call:
        """Start a call to `target` (sip:user@host:port[;transport=tcp]) offering `offer`.
        `headers` go on the INVITE and every later request of the call."""
        call = Call(self, self._uri(target), offer, headers, on_provisional, answer_timeout)
        self.calls[call.call_id] = call
        return call

    async def invite(self, target: str, offer: sdp.SessionDescription, **kw) -> Call:
        """call() and wait for its outcome."""
        call = self.call(target, offer, **kw)
        await call.wait()
        return call

    async def options(self, target: str, headers: dict[str, str] | None = None) -> RequestOutcome:
        """An OPTIONS ping; `rtt_ms` is request to final response."""
        return await self._simple("OPTIONS", self._uri(target), self._uri(target), headers or {})

    async def register(self, registrar: str, user: str | None = None, expires: int = 3600,
                       headers: dict[str, str] | None = None) -> RequestOutcome:
        """REGISTER our Contact for sip:user@registrar-host at `registrar`, answering digest
        challenges with the credentials. expires=0 removes the binding."""
        reg = self._uri(registrar)
        who = user or (self.credentials.username if self.credentials else self.config.user)
        aor = SipUri(reg.host, who, reg.port if reg.port else None)
        h = dict(headers or {})
        h["Expires"] = str(expires)
        return await self._simple("REGISTER", SipUri(reg.host, "", reg.port, reg.scheme, reg.params), aor, h,
                                  contact_user=who)

    async def _simple(self, method: str, ruri: SipUri, to: SipUri, headers: dict[str, str],
                      contact_user: str | None = None) -> RequestOutcome:
        try:
            flow = await self.endpoint.flow_for(ruri)
        except RequestFailed as e:
            return RequestOutcome(None, cause=e.cause, detail=str(e))
        call_id, tag = f"{os.urandom(8).hex()}@readiness", os.urandom(4).hex()
        from_uri = to if method == "REGISTER" else f"sip:{self.config.user}@{self.endpoint.local_host(flow)}"
        auth: tuple[str, str] | None = None
        for cseq in (1, 2, 3):
            h = Headers([("From", f"<{from_uri}>;tag={tag}"), ("To", f"<{to}>"), ("Call-ID", call_id),
                         ("CSeq", f"{cseq} {method}")])
            if method == "REGISTER":
                h.add("Contact", self.endpoint.contact(flow, contact_user))
            for name, value in headers.items():
                h.add(name, value)
            if auth:
                h.add(*auth)
            req = self.endpoint.stamp(Request(method, str(ruri), h), flow)
            t0 = time.monotonic_ns()
            try:
                resp = await self.endpoint.request(req, flow)
            except RequestFailed as e:
                return RequestOutcome(None, cause=e.cause, detail=str(e))
            rtt = (time.monotonic_ns() - t0) / 1e6
            if resp.status not in (401, 407) or cseq == 3:
                cause = "ok" if resp.status < 300 else cause_for_status(resp.status)
                return RequestOutcome(resp.status, resp.reason, cause, refusal(resp), rtt, resp)
            if self.credentials is None:
                return RequestOutcome(resp.status, resp.reason, "auth", f"{resp.status} {resp.reason}: "
                                      "authentication wanted and no SIP username/password is configured", rtt, resp)
            try:
                ch = challenges(resp)[0]
            except DigestError as e:
                return RequestOutcome(resp.status, resp.reason, "auth", f"cannot answer the challenge: {e}", rtt, resp)
            if auth is not None and not ch.stale:
                return RequestOutcome(resp.status, resp.reason, "auth",
                                      f"credentials for {self.credentials.username} were refused", rtt, resp)
            auth = (ch.header_name, authorization(ch, self.credentials, method, str(ruri)))
        raise AssertionError("unreachable")


__all__ = ["UserAgent", "Call", "CallOutcome", "RequestOutcome", "Credentials", "cause_for_status",
           "NameAddr"]
