"""Does the path rewrite SIP? One authenticated INVITE to a readiness responder per transport, hung
up as soon as it is answered: the responder's 200 OK says, signed, what arrived (wire/seen.py), and
the differences to what we sent are what the path did. A SIP ALG rewrites Via, Contact, From and SDP
addresses (usually on UDP 5060 only); a plain NAT changes only the source address the far end sees.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from ... import codecs
from ..calls.load import local_address_towards
from ..calls.sip import SipConfig, UserAgent, sdp
from ..calls.wire import calltoken, seen, srtp_call

ANSWER_TIMEOUT_S = 10.0
HANGUP_TIMEOUT_S = 5.0
PAD_HEADER = "X-Readiness-Pad"
NO_ANSWER = "no answer from the far end"
SDP_REFUSALS = (415, 488, 606)   # RFC 3261 21.4.13, 21.4.26, 21.6.4: the offer's media was not acceptable
OFFER_PORT = 40000                # an even RTP port (RFC 3550 11): an ALG opens media for it; no media is sent


@dataclass
class Rewrite:
    transport: str
    local: str = ""                                  # our address and port, as we sent from
    seen_from: str = ""                              # the source the far end saw
    changes: list[dict[str, str]] = field(default_factory=list)   # field, sent, received
    error: str = ""
    srtp_answer: dict = field(default_factory=dict)  # accepted, suite, why (when SRTP was offered)
    invite_bytes: int = 0
    refused: bool = False                            # a final response other than 2xx came back: it arrived

    @property
    def nat(self) -> bool:
        return bool(self.seen_from) and self.seen_from.rsplit(":", 1)[0] != self.local.rsplit(":", 1)[0]

    def to_json(self) -> dict:
        return {"transport": self.transport, "local": self.local, "seen_from": self.seen_from, "nat": self.nat,
                "rewritten": self.changes, "error": self.error}


async def check(target: str, key: bytes, transport: str, sip_dscp: int = 24, pad_to: int = 0,
                srtp: bool = False) -> Rewrite:
    """`pad_to`: make the INVITE about this many bytes (every codec offered, then a padding header), as a
    phone with a long codec list sends it. `srtp`: offer RTP/SAVP with SDES keys and say in `srtp_answer`
    whether the answer takes one (RFC 4568 7.1)."""
    out = Rewrite(transport)
    local_ip = local_address_towards(target)
    ua = UserAgent(SipConfig(transport=transport, dscp=sip_dscp))
    try:
        try:
            await ua.start()
        except OSError as e:
            out.error = f"cannot open the SIP socket: {e.strerror or e}"
            return out
        offered = list(codecs.CODECS.values()) if pad_to else [codecs.get("pcmu")]
        offer = sdp.offer(offered, local_ip, OFFER_PORT, 20)
        keys = srtp_call.secure(offer) if srtp else []
        headers = {calltoken.HEADER: calltoken.make(key)}
        if pad_to:           # the rest of the INVITE (start line, Via, From, To, Contact, ...) is about 450 B
            headers[PAD_HEADER] = "x" * max(0, pad_to - len(offer.encode()) - 450)
        call = ua.call(target, offer, headers=headers, answer_timeout=ANSWER_TIMEOUT_S)
        try:
            outcome = await call.wait(ANSWER_TIMEOUT_S + 5)
        except asyncio.TimeoutError:
            call.cancel()
            out.error = NO_ANSWER
            return out
        finally:
            if call.sent_invite is not None:
                out.invite_bytes = len(call.sent_invite.encode())
        try:
            if not outcome.answered and outcome.status is None and outcome.cause in ("timeout", "cancelled"):
                out.error = NO_ANSWER
                return out
            if not outcome.answered:
                out.refused = outcome.status is not None
                if srtp and outcome.status in SDP_REFUSALS:
                    out.srtp_answer = {"accepted": False, "suite": "", "why": f"{outcome.status} {outcome.reason}"}
                out.error = f"the call was not answered: {outcome.cause}" + (f" ({outcome.detail})" if outcome.detail else "")
                return out
            if srtp:
                out.srtp_answer = _srtp_answer(keys, call.final_response.body)
            view = seen.decode(call.final_response.headers.get(seen.HEADER), key)
            if view is None:
                out.error = "the far end did not say what it received (a readiness responder with the same key does)"
                return out
            sent_req = call.sent_invite
            sent = seen.observe(sent_req.headers, sent_req.body)
            out.local = call.local_address
            out.seen_from = view.get("source", "")
            out.changes = [{"field": f, "sent": a, "received": b} for f, a, b in seen.differences(sent, view)]
        finally:
            if call.dialog is not None and not call.ended.is_set():
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(call.hangup(), HANGUP_TIMEOUT_S)
        return out
    finally:
        await ua.close()


def _srtp_answer(offered: list, body: bytes) -> dict:
    try:
        send, _ = srtp_call.keys_from_answer(offered, sdp.parse(body) if body else None)
    except (srtp_call.SrtpRefused, ValueError) as e:
        return {"accepted": False, "suite": "", "why": str(e)}
    return {"accepted": True, "suite": send.suite, "why": ""}
