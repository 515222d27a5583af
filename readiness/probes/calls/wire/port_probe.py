"""Which UDP ports pass the firewalls between a site and its provider, both ways? A caller asks a
readiness responder (authenticated OPTIONS) to open a sample of ports for a short while:

    X-Readiness-Open-Ports: 10000,12500,15000        ->  200 OK  X-Readiness-Open-Ports: <id> 10000,12500,15000

then sends a probe datagram to each (from a port of its own RTP range); the responder answers an
authentic probe with a datagram of the same size, at most ANSWERS_PER_PORT times per port. Finally

    X-Readiness-Ports-Report: <id>                   ->  200 OK  X-Readiness-Ports-Seen: 10000,15000

says which probes arrived: arrived = open towards the far end, answer received = open back.

A probe is 32 bytes: "RDYP", an 8-byte nonce, the port it is for (2 bytes), 2 reserved, and
HMAC-SHA-256/128 (RFC 8762 4.1.2's MAC) over the first 16 bytes; the answer is the same with "RDYA".
"""

from __future__ import annotations

import hmac
import struct

OPEN, REPORT, SEEN = "X-Readiness-Open-Ports", "X-Readiness-Ports-Report", "X-Readiness-Ports-Seen"
PROBE, ANSWER = b"RDYP", b"RDYA"
SIZE = 32
MAX_PORTS = 32                 # per request: a sample of a range, not a port scan
OPEN_FOR_S = 20.0
ANSWERS_PER_PORT = 3           # the caller's tries: a lost answer is retried, a flood is not answered


def _mac(key: bytes, head: bytes) -> bytes:
    return hmac.digest(key, head, "sha256")[:16]


def probe(key: bytes, nonce: bytes, port: int, kind: bytes = PROBE) -> bytes:
    head = kind + nonce + struct.pack("!HH", port, 0)
    return head + _mac(key, head)


def check(key: bytes, data: bytes, port: int, kind: bytes = PROBE) -> bytes | None:
    """The nonce of an authentic datagram of this kind for this port, else None."""
    if len(data) != SIZE or data[:4] != kind or struct.unpack("!H", data[12:14])[0] != port:
        return None
    return data[4:12] if hmac.compare_digest(_mac(key, data[:16]), data[16:]) else None


def parse_ports(text: str | None) -> list[int]:
    """'10000,12500' -> [10000, 12500]; anything else is dropped, at most MAX_PORTS, 1024-65535."""
    out: list[int] = []
    for part in (text or "").replace(" ", "").split(","):
        if part.isdigit() and 1024 <= int(part) <= 65535 and int(part) not in out:
            out.append(int(part))
    return out[:MAX_PORTS]
