"""SIP URIs, name-addr values (From/To/Contact) and Via values (RFC 3261 19.1, 20.10, 20.42, 25.1).

Parsing is lenient where RFC 3261 25.1 allows variants and strict where a wrong guess would route a
message to the wrong place: a URI without a host, a bad port or unbalanced brackets raise ValueError.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_VIA = re.compile(r"\s*SIP\s*/\s*2\.0\s*/\s*([A-Za-z0-9.!%*_+`'~-]+)\s+(\S.*?)\s*$", re.I)
DEFAULT_PORTS = {"udp": 5060, "tcp": 5060, "tls": 5061}   # RFC 3261 19.1.2 (sips: 5061)


def split_params(text: str, sep: str = ";") -> tuple[str, dict[str, str]]:
    """'a;x=1;lr' -> ('a', {'x': '1', 'lr': ''}). Quoted values keep their text without the quotes."""
    parts = _split_unquoted(text, sep)
    params: dict[str, str] = {}
    for p in parts[1:]:
        name, eq, value = p.partition("=")
        name = name.strip().lower()
        if not name:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
            value = value[1:-1]
        params[name] = value if eq else ""
    return parts[0].strip(), params


_SPECIAL = re.compile(r'[\\"<>;,]')


def _split_unquoted(text: str, sep: str) -> list[str]:
    """Split at `sep` outside quotes and <...>. Visits only the special characters (hot path)."""
    if '"' not in text and "<" not in text:
        return text.split(sep)
    out, start, quoted, depth, skip = [], 0, False, 0, -1
    for m in _SPECIAL.finditer(text):
        i = m.start()
        if i == skip:
            continue
        ch = text[i]
        if ch == "\\":
            if quoted:
                skip = i + 1                  # the escaped character is not special
        elif ch == '"':
            quoted = not quoted
        elif quoted:
            continue
        elif ch == "<":
            depth += 1
        elif ch == ">":
            depth = max(0, depth - 1)
        elif ch == sep and depth == 0:
            out.append(text[start:i])
            start = i + 1
    out.append(text[start:])
    return out


def split_values(text: str) -> list[str]:
    """Comma-separated header values, ignoring commas inside quotes and <...> (RFC 3261 7.3.1)."""
    return [v.strip() for v in _split_unquoted(text, ",") if v.strip()]


def format_params(params: dict[str, str]) -> str:
    return "".join(f";{k}={v}" if v != "" else f";{k}" for k, v in params.items())


def split_hostport(text: str) -> tuple[str, int | None]:
    """'host', 'host:5060', '[::1]:5060' -> (host, port or None). Raises ValueError."""
    text = text.strip()
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise ValueError(f"unbalanced [ in {text!r}")
        host, rest = text[1:end], text[end + 1:]
        if rest and not rest.startswith(":"):
            raise ValueError(f"junk after IPv6 address in {text!r}")
        port_text = rest[1:] if rest else ""
    else:
        host, _, port_text = text.partition(":")
    if not host or any(c in host for c in " \t<>\"@;"):
        raise ValueError(f"bad host in {text!r}")
    if not port_text:
        return host, None
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"bad port in {text!r}")
    return host, int(port_text)


def format_hostport(host: str, port: int | None) -> str:
    h = f"[{host}]" if ":" in host else host
    return f"{h}:{port}" if port else h


@dataclass(frozen=True)
class SipUri:
    """sip:user@host:port;params?headers (RFC 3261 19.1). `transport` honours ;transport= and sips:."""

    host: str
    user: str = ""
    port: int | None = None
    scheme: str = "sip"
    params: dict[str, str] = field(default_factory=dict)
    headers: str = ""

    @classmethod
    def parse(cls, text: str) -> "SipUri":
        text = text.strip()
        scheme, colon, rest = text.partition(":")
        scheme = scheme.lower()
        if not colon or scheme not in ("sip", "sips"):
            raise ValueError(f"not a sip: or sips: URI: {text!r}")
        rest, _, headers = rest.partition("?")
        main, params = split_params(rest)
        user = ""
        if "@" in main:
            user, _, main = main.rpartition("@")
        host, port = split_hostport(main)
        return cls(host, user, port, scheme, params, headers)

    @property
    def transport(self) -> str:
        if self.scheme == "sips":
            return "tls"
        return self.params.get("transport", "udp").lower()

    def port_or_default(self) -> int:
        return self.port or DEFAULT_PORTS.get(self.transport, 5060)

    def __str__(self) -> str:
        user = f"{self.user}@" if self.user else ""
        tail = f"?{self.headers}" if self.headers else ""
        return f"{self.scheme}:{user}{format_hostport(self.host, self.port)}{format_params(self.params)}{tail}"


@dataclass(frozen=True)
class NameAddr:
    """A From/To/Contact/Route value: optional display name, URI text, header parameters (tag, expires)."""

    uri: str
    display: str = ""
    params: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> "NameAddr":
        text = text.strip()
        lt = _find_unquoted(text, "<")
        if lt >= 0:
            gt = text.find(">", lt)
            if gt < 0:
                raise ValueError(f"unbalanced < in {text!r}")
            display = text[:lt].strip().strip('"')
            _, params = split_params(text[gt + 1:])
            return cls(text[lt + 1:gt].strip(), display, params)
        # addr-spec form: everything after the first ';' belongs to the header, not the URI (20.10)
        uri, params = split_params(text)
        if not uri:
            raise ValueError("empty address")
        return cls(uri, "", params)

    @property
    def tag(self) -> str:
        return self.params.get("tag", "")

    def with_tag(self, tag: str) -> "NameAddr":
        return NameAddr(self.uri, self.display, {**self.params, "tag": tag})

    def __str__(self) -> str:
        display = f'"{self.display}" ' if self.display else ""
        return f"{display}<{self.uri}>{format_params(self.params)}"


def _find_unquoted(text: str, ch: str) -> int:
    quoted = False
    for i, c in enumerate(text):
        if c == '"':
            quoted = not quoted
        elif c == ch and not quoted:
            return i
    return -1


@dataclass(frozen=True)
class Via:
    """SIP/2.0/UDP host:port;branch=z9hG4bK...;rport;received=... (RFC 3261 20.42, RFC 3581)."""

    transport: str
    host: str
    port: int | None = None
    params: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> "Via":
        main, params = split_params(text)
        m = _VIA.match(main)
        if m is None:
            raise ValueError(f"bad Via protocol in {text[:60]!r}")
        host, port = split_hostport(re.sub(r"\s+", "", m.group(2)))   # LWS around ':' (25.1 SWS)
        return cls(m.group(1).upper(), host, port, params)

    @property
    def branch(self) -> str:
        return self.params.get("branch", "")

    def sent_by(self) -> tuple[str, int]:
        return self.host.lower(), self.port or DEFAULT_PORTS.get(self.transport.lower(), 5060)

    def __str__(self) -> str:
        return f"SIP/2.0/{self.transport} {format_hostport(self.host, self.port)}{format_params(self.params)}"
