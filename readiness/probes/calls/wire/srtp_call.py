"""SRTP for one test call: the a=crypto lines of its offer and answer (SDES, RFC 4568) and the
per-packet leg the media path protects and unprotects through (RFC 3711, libsrtp via srtp.py).

    offered = secure(offer)                                   # caller: RTP/SAVP + a=crypto lines
    send, receive = keys_from_answer(offered, answer)         # caller: raises SrtpRefused
    picked = answer_keys(offer_m)                             # responder: (their line, ours) or why not
    leg = SrtpLeg(SrtpSession(send, receive))                 # both: per packet

Who uses which key (RFC 4568 6.1, 7.1): a line carries the key its writer sends with, so the caller
sends with the key of its own offered line whose tag the answer took, and receives with the key of
the answer's line; the responder the other way round.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from .srtp import CryptoAttribute, SrtpError, SrtpSession, answer, offer

if TYPE_CHECKING:                                # only its types: the media process needs no SIP stack
    from ..sip import sdp

SDES_PROFILES = ("RTP/SAVP", "RTP/SAVPF")       # keyed by a=crypto (RFC 4568; SAVPF: RFC 5124)
DTLS_PROFILES = ("UDP/TLS/RTP/SAVP", "UDP/TLS/RTP/SAVPF")   # keyed by a DTLS handshake (RFC 5764)
RECENT = 128                                     # packets a leg remembers to tell a duplicate from a replay


class SrtpRefused(ValueError):
    """The far end's answer does not give us the SRTP our offer asked for."""


def is_sdes(m: sdp.MediaDescription) -> bool:
    return m.proto.upper() in SDES_PROFILES


def is_dtls(m: sdp.MediaDescription) -> bool:
    return m.proto.upper() in DTLS_PROFILES


def crypto_lines(m: sdp.MediaDescription) -> list[CryptoAttribute]:
    """The a=crypto lines of an m= section that parse; a line we cannot read is skipped, as an
    answerer must when it does not understand one (RFC 4568 7.1.2: it picks one it supports)."""
    out = []
    for a in m.other:
        if a.partition(":")[0].lower() == "crypto":
            try:
                out.append(CryptoAttribute.parse(a))
            except SrtpError:
                continue
    return out


def secure(desc: sdp.SessionDescription) -> list[CryptoAttribute]:
    """Turn our audio offer into an SRTP one in place: RTP/SAVP (RFC 3711) and one a=crypto line
    per suite we accept, with fresh keys (srtp.offer). Returns the lines offered (our send keys)."""
    lines = offer()
    for m in desc.media:
        if m.media == "audio" and m.port:
            m.proto = "RTP/SAVP"
            m.other.extend(a.to_sdp() for a in lines)
    return lines


def accepted_media(desc: sdp.SessionDescription) -> sdp.MediaDescription | None:
    """The m= section sdp.negotiated() takes: the first audio stream with a port."""
    return next((m for m in desc.media if m.media == "audio" and m.port), None)


def keys_from_answer(offered: list[CryptoAttribute], answer_desc: sdp.SessionDescription | None
                     ) -> tuple[CryptoAttribute, CryptoAttribute]:
    """(send, receive) for the caller, or SrtpRefused with what the answer did instead.

    RFC 4568 7.1.2/7.1.3: the answer has one a=crypto line in the accepted stream, with the tag and
    suite of the offered line it took; an answer of RTP/AVP, or one without a line, declined SRTP."""
    m = accepted_media(answer_desc) if answer_desc is not None else None
    if m is None:
        raise SrtpRefused("the far end refused SRTP: its answer has no audio stream")
    lines = crypto_lines(m)
    if not lines:
        raise SrtpRefused(f"the far end refused SRTP: its answer is {m.proto} without a=crypto")
    if not is_sdes(m):
        raise SrtpRefused(f"the far end refused SRTP: it answered our RTP/SAVP offer with {m.proto}")
    theirs = lines[0]
    ours = next((a for a in offered if a.tag == theirs.tag), None)
    if ours is None or ours.suite != theirs.suite:
        raise SrtpRefused(f"the far end's a=crypto answer (tag {theirs.tag}, {theirs.suite}) matches none of "
                          "the lines we offered")
    try:
        SrtpSession(ours, theirs)                   # what libsrtp would refuse, said now
    except SrtpError as e:
        raise SrtpRefused(f"the far end's a=crypto answer cannot be used: {e}") from None
    return ours, theirs


def answer_keys(m: sdp.MediaDescription) -> tuple[CryptoAttribute, CryptoAttribute] | str:
    """The responder's side: (the offered line it takes = its receive key, its own line = its send
    key), or why it cannot answer this offer with SRTP."""
    if is_dtls(m):
        return f"DTLS-SRTP ({m.proto}) is not supported: offer RTP/SAVP with a=crypto (SDES, RFC 4568)"
    picked = answer(crypto_lines(m))
    if picked is None:
        return "no a=crypto line with a suite and parameters in common (RFC 4568)"
    return picked


class SrtpLeg:
    """One call's SRTP as the media path uses it: the session, and what it dropped.

    A network duplicate is a replay to libsrtp (RFC 3711 3.3.2: the index was seen) and it refuses
    it; plain RTP's duplicates are counted as such by the analysis, so an exact copy of a packet this
    leg authenticated lately is handed over again as the duplicate it is. A replay that is no exact
    copy (libsrtp checks the index before the tag, so it may be a forgery) is dropped and counted.
    Not thread-safe beyond SrtpSession's own lock: one thread uses a leg.
    """

    def __init__(self, session: SrtpSession, recent: int = RECENT):
        self.session = session
        self.suite = session.suite
        self.overhead = session.overhead
        self.auth_failed = 0          # RFC 3711 3.3: the tag did not verify (wrong key, tampered)
        self.replayed = 0             # a seen index, not an exact copy: dropped
        self.duplicates = 0           # exact copies of packets taken: handed over again
        self.malformed = 0            # not SRTP/SRTCP libsrtp could read
        self.protect_failed = 0
        self.why = ""                 # the last refusal: "auth" | "replay" | "other" (error: its text,
        self.error = ""               # never key material)
        self._recent: dict[bytes, bytes] = {}
        self._order: deque[bytes] = deque()
        self._cap = recent

    def unprotect(self, packet: bytes | bytearray | memoryview) -> bytes | None:
        """The plain RTP packet, or None (counted) when it is not to be used."""
        data = bytes(packet)
        try:
            plain = self.session.unprotect(data)
        except SrtpError as e:
            if e.kind == "replay":
                copy = self._recent.get(data)
                if copy is not None:
                    self.duplicates += 1
                    return copy
            self._refused(e)
            return None
        if data not in self._recent:
            self._recent[data] = plain
            self._order.append(data)
            if len(self._order) > self._cap:
                del self._recent[self._order.popleft()]
        return plain

    def unprotect_rtcp(self, packet: bytes | bytearray | memoryview) -> bytes | None:
        try:
            return self.session.unprotect_rtcp(bytes(packet))
        except SrtpError as e:
            self._refused(e)
            return None

    def _refused(self, e: SrtpError) -> None:
        if e.kind == "auth":
            self.auth_failed += 1
        elif e.kind == "replay":
            self.replayed += 1
        else:
            self.malformed += 1
        self.why, self.error = e.kind, str(e)

    def protect(self, packet: bytes | bytearray | memoryview) -> bytes | None:
        try:
            return self.session.protect(bytes(packet))
        except SrtpError:
            self.protect_failed += 1
            return None

    def protect_rtcp(self, packet: bytes | bytearray | memoryview) -> bytes | None:
        try:
            return self.session.protect_rtcp(bytes(packet))
        except SrtpError:
            self.protect_failed += 1
            return None
