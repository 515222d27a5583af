"""SIP in captured payloads: which packets to try, and the messages (with their SDP media) they carry.

Parsing is the signalling stack's (`calls.sip.message`, `calls.sip.sdp`) in its lenient mode: a
capture reports what others sent rather than refuse it, and anything whose start line is not SIP is
simply not SIP. What is here: the cheap pre-filter for bulk candidate selection (PREFIXES) and the
framing of what a capture holds. A UDP datagram (or a message tshark reassembled from IP fragments)
is framed like a stream, so several messages in one are each read, as this analysis always did
(tshark reads the first only; RFC 3261 18.3 sends one per datagram); a TCP segment is framed by
Content-Length, and what runs past it is left to TCP reassembly (dissect.py).
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
    """SIP over TCP: each candidate segment (one that starts like SIP) is framed by Content-Length, so
    several messages in a segment are each read. A message the segment leaves unfinished is counted
    (`split`) and dropped here: its rest travels in segments that do not start like SIP, which only
    TCP reassembly (tshark, dissect.py) joins to it; keeping it would glue it to the next message."""

    def __init__(self) -> None:
        self.split = 0
        self._read: set[tuple] = set()

    def feed(self, frame: int, payload: bytes) -> list[CapturedSip]:
        framer = _framer()
        out = [_captured(m) for m in framer.messages(payload)]
        if framer.pending:
            self.split += 1
        self._read.update(identity(frame, c) for c in out)
        return out

    def unread(self, frame: int, msg: CapturedSip) -> bool:
        """Whether a message tshark found in `frame` is not one this pass already read there."""
        return identity(frame, msg) not in self._read


def identity(frame: int, c: CapturedSip) -> tuple:
    m = c.message
    return frame, c.method, c.status, m.call_id, m.headers.get("CSeq") or "", len(m.body)


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
