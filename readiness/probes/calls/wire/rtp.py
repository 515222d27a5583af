"""RTP fixed header (RFC 3550 section 5.1): build and parse, nothing else.

Parsing never raises on garbage from the network: `parse()` returns None and the caller counts the
packet as malformed. Header extensions and CSRCs are skipped so a third-party sender (a phone,
baresip) can use them.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

HEADER = struct.Struct("!BBHII")          # V/P/X/CC, M/PT, sequence, timestamp, SSRC
HEADER_LEN = HEADER.size                  # 12 bytes, RFC 3550 5.1
VERSION = 2                               # RFC 3550 5.1: V=2
SEQ_MOD = 1 << 16                         # RFC 3550 A.1: RTP_SEQ_MOD
TS_MOD = 1 << 32


@dataclass(frozen=True)
class RtpHeader:
    payload_type: int
    seq: int
    timestamp: int
    ssrc: int
    marker: bool
    payload_offset: int                   # where the payload starts (after CSRCs and extension)
    payload_len: int                      # without padding


def first_byte(padding: bool = False, extension: bool = False, csrc_count: int = 0) -> int:
    return (VERSION << 6) | (0x20 if padding else 0) | (0x10 if extension else 0) | (csrc_count & 0x0F)


def build(payload_type: int, seq: int, timestamp: int, ssrc: int, marker: bool = False,
          payload: bytes = b"") -> bytes:
    return HEADER.pack(first_byte(), (0x80 if marker else 0) | (payload_type & 0x7F),
                       seq % SEQ_MOD, timestamp % TS_MOD, ssrc & 0xFFFFFFFF) + payload


def pack_into(buf: bytearray, payload_type: int, seq: int, timestamp: int, ssrc: int,
              marker: bool = False) -> None:
    """Write the 12-byte header at the start of `buf` (the sender reuses one buffer per stream)."""
    HEADER.pack_into(buf, 0, first_byte(), (0x80 if marker else 0) | (payload_type & 0x7F),
                     seq % SEQ_MOD, timestamp % TS_MOD, ssrc & 0xFFFFFFFF)


def is_rtcp(data: bytes | memoryview) -> bool:
    """RFC 5761 4: with rtcp-mux, RTCP packet types 192-223 (SR 200, RR 201 ...) occupy the second
    byte where RTP would have marker + payload type 64-95, which no audio payload type uses."""
    return len(data) >= 2 and (data[0] >> 6) == VERSION and 192 <= data[1] <= 223


def parse(data: bytes | memoryview) -> RtpHeader | None:
    """The header of an RTP packet, or None when `data` is not a well-formed RTP v2 packet."""
    n = len(data)
    if n < HEADER_LEN:
        return None
    b0, b1, seq, ts, ssrc = HEADER.unpack_from(data, 0)
    if b0 >> 6 != VERSION:
        return None
    offset = HEADER_LEN + 4 * (b0 & 0x0F)
    if b0 & 0x10:                                        # RFC 3550 5.3.1 header extension
        if n < offset + 4:
            return None
        words = struct.unpack_from("!H", data, offset + 2)[0]
        offset += 4 + 4 * words
    end = n
    if b0 & 0x20:                                        # RFC 3550 5.1 padding: last octet = count
        pad = data[n - 1]
        if pad == 0:
            return None
        end -= pad
    if offset > end:
        return None
    return RtpHeader(b1 & 0x7F, seq, ts, ssrc, bool(b1 & 0x80), offset, end - offset)
