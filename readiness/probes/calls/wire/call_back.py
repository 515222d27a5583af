"""How a caller asks a readiness responder to call it back after an idle time: the NAT binding test.

    OPTIONS sip:test@responder ... X-Readiness-Auth: <token>  X-Readiness-Call-Back: 60

The responder answers 200 OK at once, like any OPTIONS, and `idle` seconds later sends an OPTIONS of
its own to the address and port the request came from, from the port it arrived at, with the same
Call-ID: an incoming call's INVITE takes the same way. If the NAT or firewall on the way forgot the
binding in between, that request does not arrive, just as an incoming call would not. Only for a
token holder (the endpoint's guard checks the token before this is read).
"""

from __future__ import annotations

import math

HEADER = "X-Readiness-Call-Back"
MAX_IDLE_S = 900.0            # RFC 4787 4.3 recommends 5 min for a NAT's UDP mapping: 15 min covers any test of it


def requested_idle(value: str | None) -> float | None:
    """The idle time asked for, or None when absent or not a number in (0, MAX_IDLE_S]."""
    if not value:
        return None
    try:
        idle = float(value.strip())
    except ValueError:
        return None
    return idle if math.isfinite(idle) and 0 < idle <= MAX_IDLE_S else None
