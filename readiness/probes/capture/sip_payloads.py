"""SIP in captured payloads: which packets to try, and the messages (with their SDP media) they carry.

Parsing is the signalling stack's (`calls.sip.message`, `calls.sip.sdp`) in its lenient mode: a
capture reports what others sent rather than refuse it, and anything whose start line is not SIP is
simply not SIP. What is here: the cheap pre-filter for bulk candidate selection (PREFIXES) and the
framing of what a capture holds. A UDP datagram (or a message tshark reassembled from IP fragments)
is framed like a stream, so several messages in one are each read, as this analysis always did
(tshark reads the first only; RFC 3261 18.3 sends one per datagram); TCP segments of one flow are
framed by Content-Length across segments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # imported where used: the stack's package loads all of it (UAC, UAS, transports), which every
    # `readiness` command would pay at start-up (the CLI imports the capture modules)
    from ..calls.sip.message import Request, Response, StreamFramer
    from ..calls.sip.sdp import MediaDescription

METHODS = ("INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "PRACK", "UPDATE", "INFO", "NOTIFY",
           "SUBSCRIBE", "REFER", "MESSAGE", "PUBLISH")
# First three bytes of every SIP start line: used to pick candidate packets in bulk.
PREFIXES = tuple(sorted({m[:3].encode() for m in METHODS} | {b"SIP"}))
MAX_TCP_PENDING = 65536     # bytes of an unfinished message kept per TCP flow


@dataclass(frozen=True)
class CapturedSip:
    """One SIP message read from a capture, with the media its SDP body announced."""

    message: Request | Response
    method: str | None                      # the request method; None for a response
    status: int | None                      # the response code; None for a request
    media: tuple[MediaDescription, ...] = ()


def read(payload: bytes) -> list[CapturedSip]:
    """Every SIP message in one UDP datagram or one reassembled message."""
    return [_captured(m) for m in _framer().messages(payload)]


class TcpSip:
    """SIP over TCP: each flow's candidate segments (those that start like SIP) framed together;
    several messages in a segment are each read, and what is left of one waits for the next."""

    def __init__(self) -> None:
        self._flows: dict[tuple, StreamFramer] = {}

    def feed(self, flow: tuple, payload: bytes) -> list[CapturedSip]:
        framer = self._flows.pop(flow, None) or _framer()
        out = [_captured(m) for m in framer.messages(payload)]
        if 0 < framer.pending < MAX_TCP_PENDING:      # more is not a SIP message we can read
            self._flows[flow] = framer
        return out


def _framer() -> StreamFramer:
    from ..calls.sip.message import StreamFramer
    return StreamFramer(lenient=True)


def _captured(msg: Request | Response) -> CapturedSip:
    from ..calls.sip import sdp
    from ..calls.sip.message import Request

    method, status = (msg.method, None) if isinstance(msg, Request) else (None, msg.status)
    # an SDP body: Content-Type names sdp, or the body starts like one (v=0) whatever it says
    if "sdp" in (msg.headers.get("Content-Type") or "").lower() or msg.body.startswith(b"v=0"):
        return CapturedSip(msg, method, status, tuple(sdp.parse(msg.body, lenient=True).media))
    return CapturedSip(msg, method, status)
