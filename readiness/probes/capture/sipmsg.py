"""Reading SIP messages (RFC 3261) and their SDP bodies (RFC 4566) out of captured payloads.

Only what a capture check needs: start line, the headers that identify a call and transaction
(Call-ID, CSeq, From/To tags), and the SDP media lines that say where RTP will flow and with which
codecs. Compact header forms (RFC 3261 7.3.3) and folded lines are understood; anything that does
not parse as SIP is simply not SIP (returns None), never an exception.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

METHODS = ("INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "PRACK", "UPDATE", "INFO", "NOTIFY",
           "SUBSCRIBE", "REFER", "MESSAGE", "PUBLISH")
# First three bytes of every SIP start line: used to pick candidate packets in bulk.
PREFIXES = tuple(sorted({m[:3].encode() for m in METHODS} | {b"SIP"}))
COMPACT = {"i": "call-id", "l": "content-length", "c": "content-type", "f": "from", "t": "to", "v": "via",
           "m": "contact", "s": "subject", "k": "supported", "e": "content-encoding"}
SRTP_PROFILES = ("RTP/SAVP", "RTP/SAVPF", "UDP/TLS/RTP/SAVP", "UDP/TLS/RTP/SAVPF")

_START_REQ = re.compile(r"^([A-Z]+) (\S+) SIP/2\.0$")
_START_RESP = re.compile(r"^SIP/2\.0 (\d{3})(?: (.*))?$")
_TAG = re.compile(r";\s*tag=([^;>\s]+)", re.I)


@dataclass(frozen=True)
class SdpMedia:
    media: str                 # audio, video, image (T.38), application
    address: str               # connection address (media-level c= or session-level)
    port: int
    proto: str                 # RTP/AVP, RTP/SAVP, udptl, ...
    formats: tuple[str, ...]
    rtpmap: dict[int, tuple[str, int, int]] = field(default_factory=dict)  # pt -> (encoding, clock, channels)
    crypto: bool = False       # a=crypto or a=fingerprint (SDES / DTLS-SRTP keys offered)
    ptime_ms: float | None = None

    @property
    def encrypted(self) -> bool:
        return self.proto.upper() in SRTP_PROFILES or self.crypto


@dataclass
class SipMessage:
    method: str | None         # request method, None for a response
    status: int | None         # response code, None for a request
    reason: str
    uri: str
    headers: dict[str, str]    # lower-case names, first occurrence
    body: str
    sdp: list[SdpMedia]

    @property
    def call_id(self) -> str:
        return self.headers.get("call-id", "")

    @property
    def cseq(self) -> tuple[int, str]:
        num, _, method = self.headers.get("cseq", "").strip().partition(" ")
        try:
            return int(num), method.strip().upper()
        except ValueError:
            return -1, method.strip().upper()

    def tag(self, header: str) -> str:
        m = _TAG.search(self.headers.get(header, ""))
        return m.group(1) if m else ""


def looks_like_sip(payload: bytes) -> bool:
    return payload[:3] in PREFIXES


def parse_stream(data: bytes) -> tuple[list[SipMessage], int]:
    """Every complete SIP message in `data` (one UDP datagram or a TCP byte stream), and how many
    bytes they used: a TCP caller keeps the rest for the next segment."""
    out, pos = [], 0
    while pos < len(data):
        while data[pos:pos + 2] == b"\r\n":      # keep-alive CRLFs (RFC 5626)
            pos += 2
        head_end = data.find(b"\r\n\r\n", pos)
        sep = 4
        if head_end < 0:
            head_end = data.find(b"\n\n", pos)
            sep = 2
        if head_end < 0:
            break
        head = data[pos:head_end].decode("utf-8", errors="replace")
        msg = _parse_head(head)
        if msg is None:
            return out, len(data)                 # not SIP: drop the rest
        try:
            length = int(msg.headers.get("content-length", "0").strip() or 0)
        except ValueError:
            length = 0
        body_start = head_end + sep
        if "content-length" not in msg.headers:
            length = len(data) - body_start       # UDP may omit it (RFC 3261 18.3): the datagram is the body
        if body_start + length > len(data):
            break
        msg.body = data[body_start:body_start + length].decode("utf-8", errors="replace")
        if "sdp" in msg.headers.get("content-type", "").lower() or msg.body.startswith("v=0"):
            msg.sdp = parse_sdp(msg.body)
        out.append(msg)
        pos = body_start + length
    return out, pos


def parse(payload: bytes) -> SipMessage | None:
    msgs, _ = parse_stream(payload)
    return msgs[0] if msgs else None


def _parse_head(head: str) -> SipMessage | None:
    lines = head.replace("\r\n", "\n").split("\n")
    start = lines[0].strip()
    method = status = None
    reason = uri = ""
    m = _START_REQ.match(start)
    if m:
        method, uri = m.group(1), m.group(2)
    else:
        m = _START_RESP.match(start)
        if not m:
            return None
        status, reason = int(m.group(1)), (m.group(2) or "")
    headers: dict[str, str] = {}
    last = ""
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and last:       # folded header (RFC 3261 7.3.1)
            headers[last] += " " + line.strip()
            continue
        name, colon, value = line.partition(":")
        if not colon:
            continue
        key = name.strip().lower()
        key = COMPACT.get(key, key)
        if key not in headers:
            headers[key] = value.strip()
            last = key
        else:
            last = ""
    return SipMessage(method, status, reason, uri, headers, "", [])


def parse_sdp(text: str) -> list[SdpMedia]:
    session_addr = ""
    media: list[dict] = []
    for raw in text.replace("\r\n", "\n").split("\n"):
        line = raw.strip()
        if len(line) < 2 or line[1] != "=":
            continue
        kind, value = line[0], line[2:].strip()
        cur = media[-1] if media else None
        if kind == "c":
            parts = value.split()
            addr = parts[2].split("/")[0] if len(parts) >= 3 else ""
            if cur is None:
                session_addr = addr
            else:
                cur["address"] = addr
        elif kind == "m":
            parts = value.split()
            if len(parts) < 3:
                continue
            try:
                port = int(parts[1].split("/")[0])
            except ValueError:
                continue
            media.append({"media": parts[0].lower(), "port": port, "proto": parts[2], "formats": tuple(parts[3:]),
                          "address": "", "rtpmap": {}, "crypto": False, "ptime": None})
        elif kind == "a" and cur is not None:
            attr, _, rest = value.partition(":")
            attr = attr.lower()
            if attr == "rtpmap":
                pt_text, _, enc = rest.partition(" ")
                bits = enc.strip().split("/")
                try:
                    pt = int(pt_text)
                    clock = int(bits[1]) if len(bits) > 1 else 0
                    channels = int(bits[2]) if len(bits) > 2 else 1
                except ValueError:
                    continue
                cur["rtpmap"][pt] = (bits[0], clock, channels)
            elif attr in ("crypto", "fingerprint"):
                cur["crypto"] = True
            elif attr == "ptime":
                try:
                    cur["ptime"] = float(rest)
                except ValueError:
                    pass
    return [SdpMedia(m["media"], m["address"] or session_addr, m["port"], m["proto"], m["formats"], m["rtpmap"],
                     m["crypto"], m["ptime"]) for m in media]
