"""What a call's dialog does on either side: hang up, re-INVITE, and answer the peer's in-dialog
requests (BYE, re-INVITE, OPTIONS), repeating a 2xx to INVITE until its ACK (RFC 3261 13.3.1.4).
`uac.Call` and `uas.IncomingCall` build on it.
"""

from __future__ import annotations

import asyncio
import time
from typing import Callable

from . import sdp
from .dialog import Dialog
from .endpoint import Endpoint, RequestFailed
from .message import Headers, Request, Response
from .transaction import Resender, ServerTransaction, response_to


class Session:
    """One call's dialog. `ended` is set once, with `end_reason` one of: local-bye, remote-bye,
    no-ack, failed, cancelled, closed, max-duration."""

    def __init__(self, endpoint: Endpoint, call_id: str, headers: dict[str, str] | None = None):
        self.endpoint = endpoint
        self.call_id = call_id
        self.extra_headers: dict[str, str] = dict(headers or {})
        self.dialog: Dialog | None = None
        self.local_sdp: sdp.SessionDescription | None = None
        self.remote_sdp: sdp.SessionDescription | None = None
        self.remote_media: sdp.MediaInfo | None = None
        self.ended = asyncio.Event()
        self.end_reason = ""
        self.ended_ns: int | None = None
        self.on_ended: Callable[["Session"], None] | None = None
        self.on_media_changed: Callable[["Session"], None] | None = None
        self._invite_lock = asyncio.Lock()
        self._ack: bytes | None = None                     # UAC: the ACK of our last 2xx
        self._2xx: Resender | None = None                  # UAS: a 2xx repeated until ACK
        self._2xx_giveup: asyncio.TimerHandle | None = None

    # --- state -------------------------------------------------------------------------------------
    def _establish(self, dialog: Dialog) -> None:
        self.dialog = dialog
        self.endpoint.dialogs[dialog.key] = self

    def _end(self, reason: str) -> None:
        if self.ended.is_set():
            return
        self.end_reason = reason
        self.ended_ns = time.monotonic_ns()
        self._stop_2xx()
        if self.dialog is not None and self.endpoint.dialogs.get(self.dialog.key) is self:
            del self.endpoint.dialogs[self.dialog.key]
        self.ended.set()
        if self.on_ended is not None:
            self.on_ended(self)

    def _headers(self) -> Headers:
        return Headers(list(self.extra_headers.items()))

    def _take_remote(self, body: bytes) -> None:
        """Adopt the peer's SDP (raises sdp.SdpError when it is unusable)."""
        desc = sdp.parse(body)
        media = sdp.negotiated(desc)
        changed = self.remote_media is not None and media != self.remote_media
        self.remote_sdp, self.remote_media = desc, media
        if changed and self.on_media_changed is not None:
            self.on_media_changed(self)

    # --- actions -----------------------------------------------------------------------------------
    async def hangup(self, reason: str = "local-bye") -> int | None:
        """Send BYE and end the call. Returns the BYE's final status (None: no answer, bounded by
        Timer F). Does nothing on a call that has already ended."""
        if self.ended.is_set() or self.dialog is None or self.dialog.flow is None:
            return None
        req = self.endpoint.stamp(self.dialog.request("BYE", self._headers()), self.dialog.flow)
        try:
            resp = await self.endpoint.request(req, self.dialog.flow)
            status: int | None = resp.status
        except RequestFailed:
            status = None
        self._end(reason)
        return status

    async def reinvite(self, offer: sdp.SessionDescription | None = None) -> int | None:
        """Send a re-INVITE (our SDP with the next o= version unless `offer` is given) and ACK
        the answer. Returns the final status (None: no answer)."""
        d = self.dialog
        if self.ended.is_set() or d is None or d.flow is None or self.local_sdp is None:
            return None
        async with self._invite_lock:
            self.local_sdp = offer or self.local_sdp.next_version()
            h = self._headers()
            h.add("Contact", self.endpoint.contact(d.flow))
            req = self.endpoint.stamp(d.request("INVITE", h, self.local_sdp.encode(), "application/sdp"), d.flow)
            try:
                resp = await self.endpoint.request(req, d.flow)
            except RequestFailed:
                return None
            if 200 <= resp.status < 300:
                self._send_ack(req, resp)
                if resp.body:
                    try:
                        self._take_remote(resp.body)
                    except sdp.SdpError:
                        pass                       # keep the media we had
            return resp.status

    def _send_ack(self, invite: Request, resp: Response) -> None:
        """ACK for a 2xx: a new transaction-less request in the dialog, CSeq of the INVITE (13.2.2.4)."""
        d = self.dialog
        assert d is not None and d.flow is not None
        ack = self.endpoint.stamp(d.request("ACK", cseq=invite.cseq[0]), d.flow)
        self._ack = ack.encode()
        self.endpoint.send_stateless(self._ack, d.flow)

    # --- the peer's requests -----------------------------------------------------------------------
    def in_dialog(self, req: Request, tx: ServerTransaction) -> None:
        d = self.dialog
        assert d is not None
        if not d.accept_remote_cseq(req):
            tx.respond(response_to(req, 500, "Server Internal Error",
                                   headers=Headers([("Retry-After", "1")])))
            return
        if req.method == "BYE":
            tx.respond(response_to(req, 200, "OK"))
            self._end("remote-bye")
        elif req.method == "INVITE":
            self._answer_reinvite(req, tx)
        elif req.method in ("OPTIONS", "INFO", "UPDATE"):
            tx.respond(response_to(req, 200, "OK"))
        else:
            tx.respond(response_to(req, 405, "Method Not Allowed", headers=Headers([("Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS")])))

    def _answer_reinvite(self, req: Request, tx: ServerTransaction) -> None:
        if self._invite_lock.locked() or self._2xx is not None:
            tx.respond(response_to(req, 491, "Request Pending"))       # glare (14.2)
            return
        if req.body:
            try:
                self._take_remote(req.body)
            except sdp.SdpError:
                tx.respond(response_to(req, 488, "Not Acceptable Here"))
                return
        self._answer_2xx(req, tx, self.local_sdp, None)

    def _answer_2xx(self, req: Request, tx: ServerTransaction, desc: sdp.SessionDescription | None,
                    on_no_ack: Callable[[], None] | None, extra: Headers | None = None) -> None:
        d = self.dialog
        assert d is not None and d.flow is not None
        h = Headers([("Contact", self.endpoint.contact(d.flow))])
        if extra is not None:
            for name, value in extra:
                h.add(name, value)
        body = desc.encode() if desc is not None else b""
        if body:
            h.add("Content-Type", "application/sdp")
        resp = response_to(req, 200, "OK", d.local_tag, h, body)
        tx.respond(resp)
        if tx.flow.reliable:
            return
        t = self.endpoint.transactions.timers
        self._stop_2xx()
        self._2xx = Resender(tx.flow, resp.encode(), t.t1, t.t2)

        def give_up() -> None:
            self._stop_2xx()
            if on_no_ack is not None:
                on_no_ack()

        self._2xx_giveup = asyncio.get_running_loop().call_later(t.b, give_up)

    def _stop_2xx(self) -> None:
        if self._2xx is not None:
            self._2xx.stop()
            self._2xx = None
        if self._2xx_giveup is not None:
            self._2xx_giveup.cancel()
            self._2xx_giveup = None

    def ack_received(self, req: Request) -> None:
        self._stop_2xx()
        if req.body:
            try:
                self._take_remote(req.body)           # answer to an offer we sent in a 2xx
            except sdp.SdpError:
                pass

    def stray_2xx(self, resp: Response) -> None:
        if self._ack is not None and self.dialog is not None and self.dialog.flow is not None:
            self.endpoint.send_stateless(self._ack, self.dialog.flow)
