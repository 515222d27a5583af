"""What the far end received of our INVITE, returned signed, so the caller sees what the path did to
its signalling: a SIP ALG rewrites Via, Contact, From and the SDP `o=`/`c=` lines (RFC 3261 and RFC
4566 fields; Linux nf_nat_sip does exactly this), a plain NAT only the packet's source address.

    X-Readiness-Seen: <base64url of JSON {field: value}>.<HMAC-SHA-256 of that text, hex, 128 bits>

Only an INVITE with a valid token gets it (in the 200 OK), so it tells nothing to anyone without the
key and adds nothing to the responder's replies to strangers. Encoded, so an ALG on the way back,
which rewrites addresses it finds in the message text, cannot rewrite the evidence.
"""

from __future__ import annotations

import base64
import hmac
import json
from typing import Any

HEADER = "X-Readiness-Seen"
MAC_HEX = 32
FIELDS = ("via", "contact", "from", "sdp_o", "sdp_c", "sdp_m")


def _mac(key: bytes, text: str) -> str:
    return hmac.digest(key, text.encode(), "sha256")[:MAC_HEX // 2].hex()


def _sdp_lines(body: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for raw in body.decode(errors="replace").splitlines():
        line = raw.strip()
        for kind, name in (("o=", "sdp_o"), ("c=", "sdp_c"), ("m=", "sdp_m")):
            if line.startswith(kind) and name not in out:
                out[name] = line[2:]
    return out


def observe(headers: Any, body: bytes) -> dict[str, str]:
    """The fields of a request an ALG rewrites: the top Via's sent-by, Contact, From (without its
    tag) and the session's first o=, c= and m= lines."""
    out: dict[str, str] = {}
    via = headers.get("Via")
    if via:
        out["via"] = via.split(";", 1)[0].strip()
    for name, key in (("Contact", "contact"), ("From", "from")):
        value = headers.get(name)
        if value:
            out[key] = value.split(";tag=", 1)[0].strip()
    out.update(_sdp_lines(body))
    return out


def encode(seen: dict[str, str], source: str, key: bytes) -> str:
    text = base64.urlsafe_b64encode(json.dumps(dict(seen, source=source), separators=(",", ":")).encode()).decode()
    return f"{text}.{_mac(key, text)}"


def decode(value: str | None, key: bytes) -> dict[str, str] | None:
    """The far end's view, or None when absent or not signed with our key."""
    if not value or "." not in value:
        return None
    text, _, mac = value.strip().rpartition(".")
    if not hmac.compare_digest(mac, _mac(key, text)):
        return None
    try:
        doc = json.loads(base64.urlsafe_b64decode(text.encode()))
    except ValueError:
        return None
    return {str(k): str(v) for k, v in doc.items()} if isinstance(doc, dict) else None


def differences(sent: dict[str, str], seen: dict[str, str]) -> list[tuple[str, str, str]]:
    """(field, what we sent, what arrived) for every field the path changed."""
    return [(f, sent.get(f, ""), seen.get(f, "")) for f in FIELDS
            if (f in sent or f in seen) and sent.get(f, "") != seen.get(f, "")]
