"""SIP calls seen in a capture: when each was set up, how it ended, and which RTP streams it carried.

A call is a Call-ID with an INVITE. Setup time is the first INVITE to the 2xx that answers it (the
metric `call.setup_ms`; Wireshark's `sip,stat` "setup time" is INVITE to ACK, another thing); an INVITE
repeated with credentials after 401/407 continues the same call. Post-dial delay is INVITE to the
first 18x.
The SDP of the offer and the answer say where each side receives media: an RTP stream belongs to the
call whose SDP announced its destination (or, for symmetric RTP, its source).
A call that switches to fax re-INVITEs with `m=image PORT udptl t38` (T.38 Annex D, RFC 3362): the
switch is the 2xx whose answer accepts it; its endpoints are handed to fax.py (`t38_announced`), which
claims the UDPTL packets so they are never counted as RTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .sip_payloads import CapturedSip
from .streams import STATIC_PT, SdpBinding, Stream, address_parts

if TYPE_CHECKING:
    from ..calls.sip.sdp import MediaDescription

MAX_LOGGED = 200_000     # SIP messages kept for a re-merge; a capture with more is a SIP flood
STATUS_CLASSES = {1: "provisional", 2: "answered", 3: "redirected", 4: "failed", 5: "server error", 6: "declined"}


@dataclass
class CapturedCall:
    call_id: str
    caller: str = ""
    callee: str = ""
    invite_frame: int = 0
    invite_ns: int = 0
    invite_cseq: int = -1
    ringing_ns: int | None = None
    final_status: int | None = None
    final_reason: str = ""
    final_ns: int | None = None
    answered_ns: int | None = None
    bye_ns: int | None = None
    auth_challenges: int = 0
    t38_offer_frame: int | None = None      # the (re-)INVITE or answer that first offered image/t38
    t38_frame: int | None = None            # the 2xx that accepted it: the call is a fax call from here
    t38_ns: int | None = None
    media: list[MediaDescription] = field(default_factory=list)
    streams: list[Stream] = field(default_factory=list)

    def setup_ms(self) -> float | None:
        return None if self.answered_ns is None else (self.answered_ns - self.invite_ns) / 1e6

    def post_dial_delay_ms(self) -> float | None:
        return None if self.ringing_ns is None else (self.ringing_ns - self.invite_ns) / 1e6

    def to_json(self) -> dict:
        return {
            "call_id": self.call_id, "from": self.caller, "to": self.callee,
            "start": self.invite_ns / 1e9, "setup_ms": _r(self.setup_ms()),
            "post_dial_delay_ms": _r(self.post_dial_delay_ms()),
            "auth_challenges": self.auth_challenges, "final_status": self.final_status, "final_reason": self.final_reason,
            "outcome": STATUS_CLASSES.get((self.final_status or 0) // 100, "no final response"),
            "ended": self.bye_ns / 1e9 if self.bye_ns is not None else None,
            "media": [{"media": m.media, "address": m.connection or "", "port": m.port, "proto": m.proto,
                       "codecs": [_format_name(m, f) for f in m.formats]} for m in self.media],
            "streams": [s.key.ssrc for s in self.streams],
            **({"t38": {"switched_at": self.t38_ns / 1e9, "frame": self.t38_frame,
                        "offer_frame": self.t38_offer_frame}} if self.t38_ns is not None else {}),
        }


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 3)


class CallTracker:
    """Feed every SIP message in capture order; ask `binding()` which call announced an endpoint."""

    def __init__(self) -> None:
        self.calls: dict[str, CapturedCall] = {}
        self.messages = 0
        self.requests: dict[str, int] = {}
        self.responses: dict[int, int] = {}
        # every SDP that announced an endpoint, in capture order: ports are reused by later calls
        self._endpoints: dict[tuple[int, int, int], list[SdpBinding]] = {}
        # every message with its frame, so messages found later (dissect.py) can be merged in order
        self.log: list[tuple[int, int, CapturedSip]] = []
        # (endpoint, frame, call_id, is_t38) for every SDP media line on an endpoint that has been
        # image/t38: fax.py watches these (a later m=audio on it switches back to voice)
        self.t38_announced: list[tuple[tuple[int, int, int], int, str, bool]] = []
        self._t38_keys: set[tuple[int, int, int]] = set()

    def add(self, seen: CapturedSip, ts_ns: int, frame: int) -> list[tuple[int, int, int]]:
        """Record a message; return endpoints its SDP announced (new ones only)."""
        self.messages += 1
        if len(self.log) < MAX_LOGGED:
            self.log.append((frame, ts_ns, seen))
        msg, method, status = seen.message, seen.method, seen.status
        if method:
            self.requests[method] = self.requests.get(method, 0) + 1
        else:
            self.responses[status or 0] = self.responses.get(status or 0, 0) + 1
        cseq, cseq_method = msg.cseq
        call = self.calls.get(msg.call_id)
        initial = method == "INVITE" and not msg.to.tag
        if initial and call is None:
            call = CapturedCall(msg.call_id, caller=msg.from_.uri, callee=msg.to.uri,
                        invite_frame=frame, invite_ns=ts_ns, invite_cseq=cseq)
            self.calls[msg.call_id] = call
        new: list[tuple[int, int, int]] = []
        if call is None:
            return new
        if initial and cseq > call.invite_cseq:
            # the INVITE again with credentials after 401/407 (RFC 3261 22.2): same call, new transaction
            call.invite_cseq = cseq
            if call.final_status in (401, 407):
                call.auth_challenges += 1
                call.final_status, call.final_reason, call.final_ns = None, "", None
        if status is not None and cseq_method == "INVITE" and cseq == call.invite_cseq:
            if 180 <= status < 190 and call.ringing_ns is None:
                call.ringing_ns = ts_ns
            if status >= 200 and call.final_status is None:
                call.final_status, call.final_reason, call.final_ns = status, msg.reason, ts_ns
            if 200 <= status < 300 and call.answered_ns is None:
                call.answered_ns = ts_ns
        if method == "BYE" and call.bye_ns is None:
            call.bye_ns = ts_ns
        accepted_t38 = False
        for media in seen.media:
            call.media.append(media)
            parts = address_parts(media.connection or "")
            if parts is None or media.port == 0:
                continue
            key = (parts[0], parts[1], media.port)
            t38 = is_t38(media)
            accepted_t38 |= t38
            if t38 or key in self._t38_keys:
                self._t38_keys.add(key)
                self.t38_announced.append((key, frame, msg.call_id, t38))
                if t38 and call.t38_offer_frame is None:
                    call.t38_offer_frame = frame
            if key not in self._endpoints:
                new.append(key)
            self._endpoints.setdefault(key, []).append(SdpBinding(media, msg.call_id, frame))
        if (accepted_t38 and status is not None and 200 <= status < 300 and cseq_method == "INVITE"
                and call.t38_ns is None):
            call.t38_frame, call.t38_ns = frame, ts_ns
        return new

    def merged_with(self, late: list[tuple[int, int, CapturedSip]]) -> "CallTracker":
        """A tracker fed with this one's messages and `late` ones, all in capture order."""
        out = CallTracker()
        for frame, ts_ns, msg in sorted(self.log + late, key=lambda x: x[0]):
            out.add(msg, ts_ns, frame)
        return out

    def binding(self, stream: Stream) -> SdpBinding | None:
        """The latest SDP before the stream's first packet that announced its destination (or, for
        symmetric RTP, its source); failing that the first SDP after it (media before the answer)."""
        for addr, port in ((stream.key.dst, stream.key.dport), (stream.key.src, stream.key.sport)):
            parts = address_parts(addr)
            found = self._endpoints.get((parts[0], parts[1], port)) if parts is not None else None
            if found:
                before = [b for b in found if b.frame < stream.first_frame]
                return before[-1] if before else found[0]
        return None

    def attach(self, streams: list[Stream]) -> list[CapturedCall]:
        for s in streams:
            if s.sdp is not None and s.sdp.call_id in self.calls:
                self.calls[s.sdp.call_id].streams.append(s)
        return sorted(self.calls.values(), key=lambda c: c.invite_ns)


def is_t38(m: MediaDescription) -> bool:
    """`m=image PORT udptl t38` (T.38 Annex D SDP; RFC 3362 registers image/t38)."""
    return m.media.lower() == "image" and m.proto.lower() == "udptl" and any(f.lower() == "t38" for f in m.formats)


def _format_name(m: MediaDescription, fmt: str) -> str:
    if fmt.isdigit() and fmt.isascii():
        pt = int(fmt)
        if pt in m.rtpmaps:
            return m.rtpmaps[pt].encoding
        if pt in STATIC_PT:
            return STATIC_PT[pt][0]
    return fmt
