"""The token a test call carries in its INVITE so the responder knows the caller holds the key.

    X-Readiness-Auth: <unix time>.<nonce>.<HMAC-SHA-256 of "time.nonce", hex, 128 bits>

The responder accepts a token made within MAX_AGE_S of its own clock and not seen before (a replay
cache bounded by that window), and refuses the call with 403 otherwise: a technician with the wrong
key learns it at once instead of waiting for a timeout. Media is authenticated per packet (stamps.py).

To an authenticated INVITE over UDP the responder's 200 OK adds X-Readiness-Received-DSCP: the DSCP
the INVITE arrived with (IP_RECVTOS), so the caller learns whether its SIP marking survived the way
there; the 200 OK's own DSCP on arrival tells the way back.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections import OrderedDict

HEADER = "X-Readiness-Auth"
RECEIVED_DSCP = "X-Readiness-Received-DSCP"   # in the responder's 200 OK: the DSCP our INVITE arrived with
MAX_AGE_S = 300.0
MAC_HEX = 32


def _mac(key: bytes, text: str) -> str:
    return hmac.digest(key, text.encode(), "sha256")[:MAC_HEX // 2].hex()


def make(key: bytes, now: float | None = None) -> str:
    text = f"{int(now if now is not None else time.time())}.{secrets.token_hex(8)}"
    return f"{text}.{_mac(key, text)}"


class TokenChecker:
    """Verifies tokens and remembers the recent ones (replays are refused)."""

    def __init__(self, key: bytes, max_entries: int = 100_000):
        self.key = key
        self.max_entries = max_entries
        self._seen: OrderedDict[str, float] = OrderedDict()

    def check(self, token: str | None, now: float | None = None) -> str | None:
        """None if the token is good, else why not (for the 403's Warning header)."""
        now = time.time() if now is None else now
        if not token:
            return "no X-Readiness-Auth header: this responder needs its key (--key-file)"
        parts = token.strip().split(".")
        if len(parts) != 3 or not parts[0].isdigit():
            return "malformed X-Readiness-Auth header"
        text = f"{parts[0]}.{parts[1]}"
        if not hmac.compare_digest(_mac(self.key, text), parts[2].lower()):
            return "wrong key: the X-Readiness-Auth token does not verify"
        if abs(now - int(parts[0])) > MAX_AGE_S:
            return f"token older than {MAX_AGE_S:g} s: check both clocks"
        self._forget(now)
        if text in self._seen:
            return "token replayed"
        self._seen[text] = now
        return None

    def _forget(self, now: float) -> None:
        while self._seen and (len(self._seen) >= self.max_entries
                              or now - next(iter(self._seen.values())) > 2 * MAX_AGE_S):
            self._seen.popitem(last=False)
