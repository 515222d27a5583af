"""SIP requests and responses: parse from bytes, build, serialise (RFC 3261 7, 18.3, 20).

Parsing is for a load generator and a public-facing responder: cheap, bounded and total. Every
malformed input raises SipParseError (never another exception, never a hang); the transport counts
and drops it. Accepted: compact header names (7.3.3), folded lines (7.3.1), comma-separated values
of list headers, bare LF line ends (25.1 tolerance), Content-Length framing on streams.

Written here rather than taken from aiosipua 0.7 (the closest asyncio package): its parser logs and
trims instead of rejecting, has no stream framer for TCP/TLS and no size bounds we can state, and
this module is the part every message of every call passes through.

`lenient=True` (parse, StreamFramer) is for reading SIP that others exchanged, in a capture: report
what was sent rather than refuse it. A message is SIP when its start line is `METHOD uri SIP/2.0`
(method in capitals) or `SIP/2.0 NNN reason`; everything else is tolerated: header lines without a
colon are skipped, names need not be tokens, mandatory headers may be missing, no size bounds (the
caller bounds what it feeds), a Content-Length that is not a number reads as 0 and a missing one
means "the rest" (the datagram, or what the stream holds so far). Such a message answers `cseq`
with the method in capitals and -1 for a number that does not parse, and `from_` / `to` as the text
before the first ';' when the value is not a name-addr. The only SipParseError is "not SIP" (or a
body shorter than its Content-Length).
"""

from __future__ import annotations

import functools
import re
from typing import Iterator

from .uri import NameAddr, Via, split_params, split_values

MAX_MESSAGE_BYTES = 65535          # largest UDP payload; streams use the same bound per message
MAX_HEADER_BYTES = 16384
MAX_HEADERS = 128

# RFC 3261 7.3.3 and the IANA SIP parameter registry: compact form -> full name
COMPACT = {
    "i": "Call-ID", "m": "Contact", "e": "Content-Encoding", "l": "Content-Length", "c": "Content-Type",
    "f": "From", "s": "Subject", "k": "Supported", "t": "To", "v": "Via", "o": "Event",
    "u": "Allow-Events", "r": "Refer-To", "b": "Referred-By", "x": "Session-Expires",
    "a": "Accept-Contact", "j": "Reject-Contact", "d": "Request-Disposition", "y": "Identity",
}
_CANONICAL = {name.lower(): name for name in COMPACT.values()}
_CANONICAL.update({n.lower(): n for n in (
    "CSeq", "WWW-Authenticate", "Proxy-Authenticate", "Authorization", "Proxy-Authorization",
    "Max-Forwards", "Record-Route", "Route", "User-Agent", "Server", "Allow", "Expires", "Retry-After",
    "Require", "Proxy-Require", "Unsupported", "Accept", "Min-Expires", "Reason", "Authentication-Info",
    "Warning", "Timestamp")})
# Headers whose values may be joined with commas on one line (RFC 3261 7.3.1). Not the auth ones:
# their values contain commas of their own.
LIST_HEADERS = frozenset({"via", "contact", "route", "record-route", "allow", "supported", "require",
                          "proxy-require", "unsupported", "accept", "allow-events", "accept-encoding",
                          "accept-language", "content-encoding", "in-reply-to", "warning"})
_TOKEN = re.compile(r"[A-Za-z0-9.!%*_+`'~-]+")          # RFC 3261 25.1 token
# lenient start lines: a Request-Line with the method in capitals, or a Status-Line with any 3 digits
_LENIENT_REQUEST = re.compile(r"([A-Z]+) (\S+) SIP/2\.0")
_LENIENT_STATUS = re.compile(r"SIP/2\.0 (\d{3})(?: (.*))?")


class SipParseError(ValueError):
    """The bytes are not a SIP message we accept. The text says why, never echoes a secret."""


@functools.lru_cache(maxsize=512)
def canonical(name: str) -> str:
    low = name.lower()
    if low in COMPACT:
        return COMPACT[low]
    return _CANONICAL.get(low, name)


@functools.lru_cache(maxsize=512)
def _key(name: str) -> str:
    return canonical(name).lower()


class Headers:
    """Ordered header fields. Names are kept canonical; look-ups ignore case and compact forms."""

    __slots__ = ("_items",)

    def __init__(self, items: list[tuple[str, str]] | None = None):
        # (canonical name, value, lower-case key): the key makes look-ups one string compare each
        self._items: list[tuple[str, str, str]] = [(canonical(n), v, _key(n)) for n, v in items or []]

    def get(self, name: str, default: str | None = None) -> str | None:
        key = _key(name)
        for _, v, k in self._items:
            if k == key:
                return v
        return default

    def get_all(self, name: str) -> list[str]:
        """Every value of `name`, list headers split at their commas."""
        key = _key(name)
        out: list[str] = []
        for _, v, k in self._items:
            if k == key:
                out.extend(split_values(v) if key in LIST_HEADERS else [v])
        return out

    def add(self, name: str, value: str) -> None:
        self._items.append((canonical(name), value, _key(name)))

    def prepend(self, name: str, value: str) -> None:
        self._items.insert(0, (canonical(name), value, _key(name)))

    def set(self, name: str, value: str) -> None:
        """Replace every `name` with one value, in place of the first."""
        key = _key(name)
        for i, item in enumerate(self._items):
            if item[2] == key:
                self._items[i] = (canonical(name), value, key)
                self._items = [it for j, it in enumerate(self._items) if j <= i or it[2] != key]
                return
        self.add(name, value)

    def remove(self, name: str) -> None:
        key = _key(name)
        self._items = [it for it in self._items if it[2] != key]

    def copy(self) -> "Headers":
        h = Headers()
        h._items = list(self._items)
        return h

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return ((n, v) for n, v, _ in self._items)

    def __contains__(self, name: str) -> bool:
        return self.get(name) is not None

    def __len__(self) -> int:
        return len(self._items)


class Message:
    """What requests and responses share: headers, body and the accessors every layer needs."""

    __slots__ = ("headers", "body", "dscp", "lenient", "size")

    def __init__(self, headers: Headers, body: bytes = b""):
        self.headers = headers
        self.body = body
        self.dscp: int | None = None      # as received over UDP (IP_RECVTOS); None when unknown
        self.size = 0                     # bytes as received (datagram or stream frame); 0 when built here
        self.lenient = False              # parsed with lenient=True: accessors read, never raise

    @property
    def call_id(self) -> str:
        return self.headers.get("Call-ID") or ""

    @property
    def cseq(self) -> tuple[int, str]:
        text = self.headers.get("CSeq") or ""
        return _lenient_cseq(text) if self.lenient else parse_cseq(text)

    @property
    def vias(self) -> list[Via]:
        return [Via.parse(v) for v in self.headers.get_all("Via")]

    @property
    def top_via(self) -> Via:
        return Via.parse(self.headers.get_all("Via")[0])

    @property
    def from_(self) -> NameAddr:
        text = self.headers.get("From") or ""
        return _lenient_name_addr(text) if self.lenient else NameAddr.parse(text)

    @property
    def to(self) -> NameAddr:
        text = self.headers.get("To") or ""
        return _lenient_name_addr(text) if self.lenient else NameAddr.parse(text)

    @property
    def content_type(self) -> str:
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()

    def _encode(self, start: str) -> bytes:
        lines = [start]
        for name, value in self.headers:
            if name != "Content-Length":
                lines.append(f"{name}: {value}")
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + self.body


class Request(Message):
    __slots__ = ("method", "uri")

    def __init__(self, method: str, uri: str, headers: Headers, body: bytes = b""):
        super().__init__(headers, body)
        self.method = method
        self.uri = uri

    def encode(self) -> bytes:
        return self._encode(f"{self.method} {self.uri} SIP/2.0")

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.uri} call-id={self.call_id}>"


class Response(Message):
    __slots__ = ("status", "reason")

    def __init__(self, status: int, reason: str, headers: Headers, body: bytes = b""):
        super().__init__(headers, body)
        self.status = status
        self.reason = reason

    def encode(self) -> bytes:
        return self._encode(f"SIP/2.0 {self.status} {self.reason}")

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.reason} call-id={self.call_id}>"


def parse_cseq(text: str) -> tuple[int, str]:
    number, _, method = text.strip().partition(" ")
    method = method.strip()
    if number.isdigit() and len(number) <= 10 and method and _is_token(method):
        try:
            return int(number), method
        except ValueError:                    # isdigit() also takes '²', which int() refuses
            pass
    raise SipParseError(f"bad CSeq {text[:40]!r}")


def _lenient_cseq(text: str) -> tuple[int, str]:
    number, _, method = text.strip().partition(" ")
    return _int_or(number, -1), method.strip().upper()


def _lenient_name_addr(text: str) -> NameAddr:
    try:
        return NameAddr.parse(text)
    except ValueError:                    # unbalanced <, empty: the text before the first ';'
        uri, _, params = text.partition(";")
        return NameAddr(uri.strip(), "", split_params(";" + params)[1])


def _is_token(text: str) -> bool:
    return _TOKEN.fullmatch(text) is not None


def _int_or(text: str, default: int) -> int:
    """What a lenient reader makes of a number: int() of it, or `default`."""
    try:
        return int(text)
    except ValueError:
        return default


def _head_end(data: bytes | bytearray) -> tuple[int, int] | None:
    """(end of the header block, start of the body), or None when the blank line has not arrived."""
    crlf = data.find(b"\r\n\r\n")
    lf = data.find(b"\n\n")
    if crlf < 0 and lf < 0:
        return None
    if crlf >= 0 and (lf < 0 or crlf + 2 <= lf):
        return crlf, crlf + 4
    return lf, lf + 2


def parse(data: bytes, stream: bool = False, lenient: bool = False) -> Request | Response:
    """One whole message (one UDP datagram, or one frame from StreamFramer). Raises SipParseError.
    `lenient`: read a captured message as far as it goes (module docstring)."""
    if len(data) > MAX_MESSAGE_BYTES and not lenient:
        raise SipParseError(f"message of {len(data)} bytes is larger than {MAX_MESSAGE_BYTES}")
    split = _head_end(data)
    if split is None:
        head, body = data, b""           # no blank line: tolerated on UDP when there is no body
        if stream:
            raise SipParseError("no blank line after the headers")
    else:
        head, body = data[:split[0]], data[split[1]:]
    if len(head) > MAX_HEADER_BYTES and not lenient:
        raise SipParseError(f"header block larger than {MAX_HEADER_BYTES} bytes")
    lines = head.decode("utf-8", errors="replace").replace("\r\n", "\n").split("\n")
    start, headers = lines[0].strip(), _parse_headers(lines[1:], lenient)    # inline: ~1 % of a parse
    length_text = headers.get("Content-Length")
    if length_text is not None:
        length_text = length_text.strip()
        if lenient:
            length = _lenient_length(length_text)
        else:
            try:                              # isdigit() also takes '²', which int() refuses
                length = int(length_text) if length_text.isdigit() and len(length_text) <= 6 else -1
            except ValueError:
                length = -1
            if length < 0:
                raise SipParseError(f"bad Content-Length {length_text[:20]!r}")
        if length > len(body):
            raise SipParseError(f"Content-Length {length} but only {len(body)} body bytes")
        body = body[:length]          # extra datagram bytes are discarded (RFC 3261 18.3)
    elif stream and not lenient:
        raise SipParseError("Content-Length is required on a stream transport (RFC 3261 18.3)")
    if lenient:
        msg = _lenient_message(start, headers, body)
        if msg is None:
            raise SipParseError(f"not a SIP start line {start[:60]!r}")
        return msg
    msg = _start_line(start, headers, body)
    _check_mandatory(msg)
    return msg


def _lenient_length(text: str) -> int:
    """A Content-Length as a capture reads it: int() of it, 0 when that fails or is negative."""
    return max(0, _int_or(text.strip() or "0", 0))


def _parse_headers(lines: list[str], lenient: bool = False) -> Headers:
    items: list[tuple[str, str]] = []
    for line in lines:
        if not line:
            continue
        if line[0] in " \t":                 # folded continuation (RFC 3261 7.3.1)
            if items:
                name, value = items[-1]
                items[-1] = (name, f"{value} {line.strip()}")
                continue
            if not lenient:
                raise SipParseError("continuation line before any header")
        name, colon, value = line.partition(":")
        name = name.strip()
        if not colon or not (lenient or _is_token(name)):
            if not lenient:
                raise SipParseError(f"bad header line {line[:40]!r}")
            continue                         # lenient: a line without a colon is no header
        items.append((name, value.strip()))
        if len(items) > MAX_HEADERS and not lenient:
            raise SipParseError(f"more than {MAX_HEADERS} header lines")
    return Headers(items)


def _start_line(start: str, headers: Headers, body: bytes) -> Request | Response:
    parts = start.split(" ", 2)
    if len(parts) < 2:
        raise SipParseError(f"bad start line {start[:60]!r}")
    if parts[0].upper() == "SIP/2.0":
        code = parts[1]
        try:                                  # isdigit() also takes '²', which int() refuses
            status = int(code) if len(code) == 3 and code.isdigit() else 0
        except ValueError:
            status = 0
        if not 100 <= status <= 699:
            raise SipParseError(f"bad status code {code[:10]!r}")
        return Response(status, parts[2].strip() if len(parts) > 2 else "", headers, body)
    if len(parts) != 3 or parts[2].strip().upper() != "SIP/2.0":
        raise SipParseError(f"bad request line {start[:60]!r}")
    method, uri = parts[0], parts[1]
    if not _is_token(method) or not uri or ":" not in uri:
        raise SipParseError(f"bad request line {start[:60]!r}")
    return Request(method, uri, headers, body)


def _lenient_message(start: str, headers: Headers, body: bytes) -> Request | Response | None:
    """The message, read leniently; None when the start line is not SIP."""
    m = _LENIENT_REQUEST.fullmatch(start)
    if m:
        msg: Request | Response = Request(m.group(1), m.group(2), headers, body)
    else:
        m = _LENIENT_STATUS.fullmatch(start)
        if not m:
            return None
        msg = Response(int(m.group(1)), m.group(2) or "", headers, body)
    msg.lenient = True
    return msg


def _check_mandatory(msg: Request | Response) -> None:
    """The headers every later layer relies on are present and parse (RFC 3261 8.1.1)."""
    for name in ("Via", "From", "To", "Call-ID", "CSeq"):
        if not msg.headers.get(name):
            raise SipParseError(f"missing {name}")
    try:
        number, method = msg.cseq
        msg.top_via
        msg.from_
        msg.to
    except ValueError as e:
        raise SipParseError(str(e)) from None
    if isinstance(msg, Request) and method != msg.method and not (msg.method == "ACK" and method == "INVITE"):
        raise SipParseError(f"CSeq method {method} does not match {msg.method}")


class StreamFramer:
    """Cuts a TCP/TLS byte stream into messages by Content-Length. Keep-alive CRLFs are skipped.

    `feed` returns complete frames; a frame that cannot be framed (no or bad Content-Length,
    oversize) raises SipParseError and the connection must be closed: framing is lost after it.

    A `lenient` framer reads a capture: `messages` returns the messages themselves, each head parsed
    once, as `parse(lenient=True)` reads them, and never raises. No size bounds (watch `pending`);
    without Content-Length a message is what the buffer holds so far; a head whose start line is not
    SIP ends the stream: it and everything buffered are dropped.
    """

    def __init__(self, max_message: int = MAX_MESSAGE_BYTES, lenient: bool = False):
        self._buf = bytearray()
        self._max = max_message
        self._lenient = lenient
        self.keepalives = 0

    @property
    def pending(self) -> int:
        """Bytes held for a message not yet complete."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[bytes]:
        if self._lenient:
            raise TypeError("a lenient StreamFramer gives messages(), not frames")
        self._buf += data
        frames: list[bytes] = []
        while True:
            self._skip_keepalives()
            split = _head_end(self._buf[:MAX_HEADER_BYTES + 4])
            if split is None:
                if len(self._buf) > MAX_HEADER_BYTES:
                    raise SipParseError(f"no end of headers within {MAX_HEADER_BYTES} bytes")
                return frames
            total = split[1] + _content_length(bytes(self._buf[:split[0]]))
            if total > self._max:
                raise SipParseError(f"message of {total} bytes is larger than {self._max}")
            if len(self._buf) < total:
                return frames
            frames.append(bytes(self._buf[:total]))
            del self._buf[:total]

    def messages(self, data: bytes) -> list[Request | Response]:
        """Every message completed by `data`, parsed: `parse(frame, stream=True)` of each frame, or
        for a lenient framer as the class docstring says."""
        if not self._lenient:
            return [parse(frame, stream=True) for frame in self.feed(data)]
        self._buf += data
        out: list[Request | Response] = []
        while True:
            self._skip_keepalives()
            split = _head_end(self._buf)
            if split is None:
                return out
            lines = bytes(self._buf[:split[0]]).decode("utf-8", errors="replace").replace("\r\n", "\n").split("\n")
            start, headers = lines[0].strip(), _parse_headers(lines[1:], lenient=True)
            length = headers.get("Content-Length")
            end = len(self._buf) if length is None else split[1] + _lenient_length(length)
            msg = _lenient_message(start, headers, b"")
            if msg is None:
                self._buf.clear()             # not SIP: framing is lost
                return out
            if len(self._buf) < end:
                return out
            msg.body = bytes(self._buf[split[1]:end])
            out.append(msg)
            del self._buf[:end]

    def _skip_keepalives(self) -> None:
        if self._buf[:1] in (b"\r", b"\n"):  # lstrip copies the whole buffer: only when there is one
            self.keepalives += 1              # RFC 5626 CRLF keep-alive
            self._buf = self._buf.lstrip(b"\r\n")


def _content_length(head: bytes) -> int:
    for line in head.split(b"\n")[1:]:
        name, colon, value = line.partition(b":")
        if colon and name.strip().lower() in (b"content-length", b"l"):
            value = value.strip()
            if not value.isdigit() or len(value) > 6:      # bytes.isdigit(): ASCII digits only
                raise SipParseError(f"bad Content-Length {value[:20]!r}")
            return int(value)
    raise SipParseError("Content-Length is required on a stream transport (RFC 3261 18.3)")

