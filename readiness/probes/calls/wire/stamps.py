"""The test stamp: what readiness writes at the start of each RTP payload it sends to a responder,
and what the responder's reflector fills in before it sends the packet back.

Modelled on STAMP / TWAMP-light (RFC 8762): sender sequence and send time, then the reflector's
receive time, send time, its own sequence and the DSCP it received, authenticated with HMAC-SHA-256
truncated to 128 bits (RFC 8762 4.1.2 uses the same MAC and length). The reflector writes into the
request's own bytes, so a reply is never larger than its request (no amplification).

Layout (network byte order), at offset 12 of the RTP packet:

     0  2  magic "RD"                  28  4  received count (reply)
     2  1  version (1)                 32  8  reflector receive time, ns since epoch (reply)
     3  1  flags: 1 reply, 2 fin       40  8  reflector send time, ns since epoch (reply)
     4  4  session id                  48  4  bitmap: bit i = seq (highest-1-i) arrived (reply)
     8  4  sender sequence             52  4  highest sender sequence seen (reply)
    12  8  sender send time, ns        56 16  HMAC-SHA-256/128 over the RTP header and bytes 0-55
    20  1  DSCP the sender marked
    21  1  DSCP the reflector received (reply)
    22  2  reserved: 0 (the fin reply of an SRTP session: its packets that failed SRTP authentication)
    24  4  reflector sequence (reply; replies sent in this session, from 1)

A fin request (after the last media packet) asks for the session totals; it is not media.
With SRTP the whole stamp is inside the SRTP payload: encrypted and authenticated a second time
(RFC 3711), unprotected before it is read and protected after the reflector wrote it.
The codec payload after the stamp is filler of the codec's size, so packets keep the real size
(G.711 20 ms: 160 bytes). Codecs whose payload is smaller than the stamp (G.729: 20 bytes) carry
72 bytes instead; their bandwidth is then larger than a real call's.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from dataclasses import dataclass

from .rtp import HEADER_LEN

MAGIC = 0x5244                      # "RD"
SDP_ATTRIBUTE = "x-readiness-reflector"   # in the responder's SDP answer: this far end reflects stamps
VERSION = 1
FLAG_REPLY = 0x01
FLAG_FIN = 0x02

FIELDS = struct.Struct("!HBBIIqBBHIIqqII")     # bytes 0-55 of the stamp
REPLY_FIELDS = struct.Struct("!BHIIqqII")       # bytes 21-55: what the reflector fills in
REPLY_OFFSET = HEADER_LEN + 21
MAC_LEN = 16                                    # RFC 8762 4.1.2: HMAC-SHA-256 truncated to 128 bits
AUTH_END = HEADER_LEN + FIELDS.size             # the MAC covers bytes [0, AUTH_END) of the packet
STAMP_LEN = FIELDS.size + MAC_LEN               # 72
PACKET_MIN = HEADER_LEN + STAMP_LEN             # 84: anything shorter is not a test packet
BITMAP_BITS = 32


@dataclass(frozen=True)
class Stamp:
    flags: int
    session_id: int
    seq: int
    send_ns: int
    dscp_sent: int
    dscp_received: int
    reflector_seq: int
    received_count: int
    reflector_rx_ns: int
    reflector_tx_ns: int
    bitmap: int
    highest_seq: int

    @property
    def is_reply(self) -> bool:
        return bool(self.flags & FLAG_REPLY)

    @property
    def is_fin(self) -> bool:
        return bool(self.flags & FLAG_FIN)


class Signer:
    """HMAC-SHA-256 (RFC 2104) with the key's inner and outer hash states computed once: a packet
    then costs two hash continuations instead of a full HMAC set-up (about 3x faster here)."""

    __slots__ = ("inner", "outer")        # the keyed hash states; hot loops copy them directly

    def __init__(self, key: bytes):
        if len(key) > 64:                                   # RFC 2104 2: longer keys are hashed first
            key = hashlib.sha256(key).digest()
        key = key.ljust(64, b"\0")                          # SHA-256 block size B = 64
        self.inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
        self.outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))

    def digest(self, data: bytes | bytearray | memoryview) -> bytes:
        """The full HMAC-SHA-256 of `data`."""
        inner = self.inner.copy()
        inner.update(data)
        outer = self.outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def mac(self, packet: bytes | bytearray | memoryview) -> bytes:
        return self.digest(memoryview(packet)[:AUTH_END])[:MAC_LEN]

    def sign(self, buf: bytearray) -> None:
        """Write the MAC of `buf` (RTP header + stamp fields) into its place."""
        buf[AUTH_END:AUTH_END + MAC_LEN] = self.mac(buf)

    def authentic(self, packet: bytes | bytearray | memoryview) -> bool:
        """Is this a test packet of ours with a valid MAC? Never raises on garbage."""
        if len(packet) < PACKET_MIN:
            return False
        if packet[HEADER_LEN] != 0x52 or packet[HEADER_LEN + 1] != 0x44 or packet[HEADER_LEN + 2] != VERSION:
            return False
        return hmac.compare_digest(self.mac(packet), bytes(packet[AUTH_END:AUTH_END + MAC_LEN]))


PACKET = struct.Struct("!BBHII" + FIELDS.format[1:])   # RTP header and stamp fields in one go (the sender)


def write_request(buf: bytearray, session_id: int, seq: int, send_ns: int, dscp: int, signer: Signer,
                  flags: int = 0) -> None:
    """Fill the stamp of an outgoing request (reflector fields zero) and sign it."""
    FIELDS.pack_into(buf, HEADER_LEN, MAGIC, VERSION, flags, session_id, seq & 0xFFFFFFFF, send_ns,
                     dscp, 0, 0, 0, 0, 0, 0, 0, 0)
    signer.sign(buf)


def write_reply(buf: bytearray, dscp_received: int, reflector_seq: int, received_count: int,
                rx_ns: int, tx_ns: int, bitmap: int, highest_seq: int, signer: Signer) -> None:
    """Turn a request (in place) into its reply and sign it."""
    buf[HEADER_LEN + 3] |= FLAG_REPLY
    REPLY_FIELDS.pack_into(buf, REPLY_OFFSET, dscp_received, 0, reflector_seq & 0xFFFFFFFF,
                           received_count & 0xFFFFFFFF, rx_ns, tx_ns, bitmap & 0xFFFFFFFF,
                           highest_seq & 0xFFFFFFFF)
    signer.sign(buf)


def read(packet: bytes | bytearray | memoryview) -> Stamp:
    """The stamp fields of a packet already checked with `Signer.authentic()`."""
    (_, _, flags, session_id, seq, send_ns, dscp_sent, dscp_rx, _, rseq, count, rx_ns, tx_ns, bitmap,
     highest) = FIELDS.unpack_from(packet, HEADER_LEN)
    return Stamp(flags, session_id, seq, send_ns, dscp_sent, dscp_rx, rseq, count, rx_ns, tx_ns, bitmap,
                 highest)


_REQUEST = struct.Struct("!HBBIIqB")


def read_request(packet: bytes | bytearray | memoryview) -> tuple[int, int, int, int]:
    """(flags, session id, sender seq, DSCP the sender marked): what the reflector needs, fast."""
    _, _, flags, session_id, seq, _, dscp_sent = _REQUEST.unpack_from(packet, HEADER_LEN)
    return flags, session_id, seq, dscp_sent


def payload_len(codec_payload: int) -> int:
    """RTP payload bytes for a codec payload size: the codec's size, at least the stamp."""
    return max(codec_payload, STAMP_LEN)
