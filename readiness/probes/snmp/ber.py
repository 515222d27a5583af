"""BER for SNMPv2c: GET / GETNEXT / GETBULK requests out, Response PDUs in, without pyasn1 objects.

pysnmp decodes every value into pyasn1 objects (about 5,000 values a second here); an audit of 60
devices reads some 60,000 values, so its decoding alone took 13 s of CPU. This codec reads a Response
straight into the audit's plain values: (OID tuple, .snmprec tag, int | bytes | str | None).

Message layouts from RFC 3416 section 3 (PDUs) and RFC 1901 (community message); encoding rules from
RFC 3417 section 8: BER with definite lengths only. pysnmp stays the reference (tests/snmp/test_ber.py
decodes every corpus walk and fuzzed messages with both) and the path for SNMPv3.

Where the two differ, on purpose:
- Stricter on structure: indefinite lengths, constructed encodings of strings, multi-octet tags and
  lengths in more than 4 octets are refused (RFC 3417 section 8 forbids the first two; SNMP uses
  none of the others).
- Lenient on SMI ranges: a Counter32 of -5 or an IpAddress of 3 octets is kept as read, and the
  parsers refuse it with a reason (walk.number). pysnmp drops the whole message, so one bad value
  would cost a device's whole table and end as a timeout.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from .mibs import OID

GET, GETNEXT, RESPONSE, GETBULK = 0xA0, 0xA1, 0xA2, 0xA5       # RFC 3416 PDU tags ([CONTEXT n] constructed)
VERSION_2C = 1                                                  # RFC 1901: version 1 = SNMPv2c
# RFC 3416 VarBind exceptions, [CONTEXT 0..2] IMPLICIT NULL
NO_SUCH_OBJECT, NO_SUCH_INSTANCE, END_OF_MIB_VIEW = 0x80, 0x81, 0x82
EXCEPTIONS = frozenset({NO_SUCH_OBJECT, NO_SUCH_INSTANCE, END_OF_MIB_VIEW})

_SEQUENCE, _INTEGER, _OCTETS, _NULL, _OID = 0x30, 0x02, 0x04, 0x05, 0x06
# Value tags as BER octets -> .snmprec tag numbers (walk.py): universal ones as is, [APPLICATION n] 64 + n
_INTEGERS = frozenset({0x02, 0x41, 0x42, 0x43, 0x46})           # Integer32, Counter32, Gauge32, TimeTicks, Counter64
_STRINGS = frozenset({0x04, 0x44})                              # OCTET STRING, Opaque
_IPADDRESS = 0x40

VarBind = tuple[OID, int, "int | bytes | str | None"]


class BerError(ValueError):
    """The bytes are not a well-formed SNMPv2c message. The text never quotes the bytes (a community)."""


@dataclass(frozen=True, slots=True)
class V2cResponse:
    """One SNMPv2c Response message as decoded: RFC 1901 community, RFC 3416 Response-PDU fields."""

    request_id: int
    error_status: int
    error_index: int
    varbinds: list[VarBind]      # tag is a .snmprec tag, or one of EXCEPTIONS with value None
    community: bytes = field(repr=False)     # a secret: compared, never shown


# --- encoding ------------------------------------------------------------------------------------------------
def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def _tlv(tag: int, content: bytes) -> bytes:
    return bytes((tag,)) + _length(len(content)) + content


def _integer(value: int) -> bytes:
    return _tlv(_INTEGER, value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True))


def encode_oid(oid: Sequence[int]) -> bytes:
    """X.690 8.19: the first two arcs share one sub-identifier (40 * first + second)."""
    if len(oid) < 2 or oid[0] > 2 or (oid[0] < 2 and oid[1] > 39) or min(oid) < 0:
        raise BerError(f"cannot encode OID {'.'.join(map(str, oid))}")
    out = bytearray()
    for arc in (oid[0] * 40 + oid[1], *oid[2:]):
        if arc < 0x80:
            out.append(arc)
            continue
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out += bytes(reversed(chunk))
    return _tlv(_OID, bytes(out))


_NULL_VALUE = bytes((_NULL, 0))


def encode_request(community: bytes, pdu_type: int, request_id: int, oids: Iterable[Sequence[int]],
                   non_repeaters: int = 0, max_repetitions: int = 0) -> bytes:
    """A v2c GET, GETNEXT or GETBULK (its non-repeaters and max-repetitions take the places of
    error-status and error-index, RFC 3416 section 3) asking for `oids` with NULL values."""
    if pdu_type not in (GET, GETNEXT, GETBULK):
        raise BerError(f"not a request PDU type: {pdu_type:#x}")
    varbinds = b"".join(_tlv(_SEQUENCE, encode_oid(o) + _NULL_VALUE) for o in oids)
    pdu = _integer(request_id) + _integer(non_repeaters) + _integer(max_repetitions) + _tlv(_SEQUENCE, varbinds)
    return _tlv(_SEQUENCE, _integer(VERSION_2C) + _tlv(_OCTETS, community) + _tlv(pdu_type, pdu))


# --- decoding ------------------------------------------------------------------------------------------------
def _header(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """(tag, start of content, end of content) of the TLV at `pos`, which must end by `end`."""
    if pos + 2 > end:
        raise BerError("truncated: a value header runs past its enclosing value")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise BerError(f"multi-octet tag at octet {pos} (SNMP uses none)")
    n = data[pos + 1]
    pos += 2
    if n & 0x80:
        k = n & 0x7F
        if k == 0:
            raise BerError(f"indefinite length at octet {pos - 1} (RFC 3417 allows definite lengths only)")
        if k > 4:
            raise BerError(f"a length in {k} octets at octet {pos - 1} (SNMP messages fit in 4)")
        if pos + k > end:
            raise BerError(f"truncated: a length runs past its enclosing value at octet {pos - 1}")
        n = int.from_bytes(data[pos:pos + k], "big")
        pos += k
    if pos + n > end:
        raise BerError(f"truncated: a value of {n} octets at octet {pos} runs past its enclosing value")
    return tag, pos, pos + n


def _int(data: bytes, start: int, stop: int) -> int:
    return int.from_bytes(data[start:stop], "big", signed=True)   # no octets: 0, as pyasn1 reads it


def _expect_int(data: bytes, pos: int, end: int, what: str) -> tuple[int, int]:
    tag, start, stop = _header(data, pos, end)
    if tag != _INTEGER:
        raise BerError(f"{what}: expected an INTEGER, found tag {tag:#04x}")
    return _int(data, start, stop), stop


_HIGH = re.compile(rb"[\x80-\xff]")


def decode_oid(data: bytes, start: int, stop: int) -> OID:
    """X.690 8.19, as pyasn1 reads it: a sub-identifier may not start with 0x80 (a padded encoding)."""
    if start == stop:
        raise BerError("empty OBJECT IDENTIFIER")
    chunk = data[start:stop]
    m = _HIGH.search(chunk)
    if m is None:                       # every arc below 128: no arithmetic
        arcs = tuple(chunk)
    else:                               # arcs below 128 up to the first long one, then octet by octet
        k = m.start()
        out = list(chunk[:k])
        value = 0
        fresh = True
        for b in chunk[k:]:
            if fresh and b == 0x80:
                raise BerError("OBJECT IDENTIFIER sub-identifier padded with 0x80")
            value = (value << 7) | (b & 0x7F)
            fresh = b < 0x80
            if fresh:
                out.append(value)
                value = 0
        if not fresh:
            raise BerError("OBJECT IDENTIFIER ends inside a sub-identifier")
        arcs = tuple(out)
    first = arcs[0]
    if first < 40:
        return (0, first) + arcs[1:]
    if first < 80:
        return (1, first - 40) + arcs[1:]
    return (2, first - 80) + arcs[1:]


def _value(data: bytes, tag: int, start: int, stop: int) -> int | bytes | str | None:
    if tag in _INTEGERS:
        return _int(data, start, stop)
    if tag in _STRINGS:
        return data[start:stop]
    if tag == _OID:
        return ".".join(map(str, decode_oid(data, start, stop)))
    if tag == _IPADDRESS:
        return ".".join(map(str, data[start:stop]))
    if tag == _NULL or tag in EXCEPTIONS:
        if stop != start:
            raise BerError(f"a NULL value (tag {tag:#04x}) with content")
        return None
    if tag & 0x20:
        raise BerError(f"constructed encoding of a simple value, tag {tag:#04x} (RFC 3417 section 8 allows "
                       "only the primitive form)")
    raise BerError(f"unknown value type, tag {tag:#04x}")


def _snmprec_tag(tag: int) -> int:
    return 64 + (tag & 0x1F) if tag & 0xC0 == 0x40 else tag


def decode_response(data: bytes) -> V2cResponse:
    """An SNMPv2c Response. Raises BerError for anything else or anything malformed; octets after the
    message are ignored (as pysnmp does)."""
    tag, pos, end = _header(data, 0, len(data))
    if tag != _SEQUENCE:
        raise BerError("not an SNMP message (no SEQUENCE)")
    version, pos = _expect_int(data, pos, end, "version")
    if version != VERSION_2C:
        raise BerError(f"not an SNMPv2c message (version field {version})")
    tag, start, pos = _header(data, pos, end)
    if tag != _OCTETS:
        raise BerError("community: expected an OCTET STRING")
    community = data[start:pos]
    tag, pos, pdu_end = _header(data, pos, end)
    if tag != RESPONSE:
        raise BerError(f"not a Response PDU (tag {tag:#04x})")
    request_id, pos = _expect_int(data, pos, pdu_end, "request-id")
    error_status, pos = _expect_int(data, pos, pdu_end, "error-status")
    error_index, pos = _expect_int(data, pos, pdu_end, "error-index")
    tag, pos, list_end = _header(data, pos, pdu_end)
    if tag != _SEQUENCE:
        raise BerError("variable-bindings: expected a SEQUENCE")
    if list_end != pdu_end:
        raise BerError("octets after the variable-bindings")
    varbinds: list[VarBind] = []
    append = varbinds.append
    while pos < list_end:
        tag, pos, vb_end = _header(data, pos, list_end)
        if tag != _SEQUENCE:
            raise BerError("a variable binding is not a SEQUENCE")
        tag, start, stop = _header(data, pos, vb_end)
        if tag != _OID:
            raise BerError("a variable binding's name is not an OBJECT IDENTIFIER")
        name = decode_oid(data, start, stop)
        tag, start, stop = _header(data, stop, vb_end)
        if stop != vb_end:
            raise BerError("octets after a variable binding's value")
        append((name, _snmprec_tag(tag), _value(data, tag, start, stop)))
        pos = vb_end
    return V2cResponse(request_id, error_status, error_index, varbinds, community)


def request_id_of(data: bytes) -> int | None:
    """The request-id of a message cut short or damaged after it, if it can be read: lets a malformed
    answer fail its request at once, with the reason, instead of leaving it to time out."""
    unbounded = 1 << 62      # the enclosing lengths may promise more than arrived
    try:
        _, pos, _ = _header(data, 0, unbounded)
        _, pos = _expect_int(data, pos, unbounded, "version")
        _, _, pos = _header(data, pos, unbounded)
        _, pos, _ = _header(data, pos, unbounded)
        tag, start, stop = _header(data, pos, unbounded)
    except (BerError, IndexError):
        return None
    return _int(data, start, stop) if tag == _INTEGER and stop <= len(data) else None
