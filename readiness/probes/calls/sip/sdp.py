"""SDP (RFC 4566) for audio calls, and the offer/answer rules of RFC 3264.

`offer()` builds what the caller sends from readiness codecs and an RTP port; `answer()` picks the
answerer's codec from an offer; `negotiated()` turns either side's description into the few facts
the RTP sender needs (address, port, payload type, clock, ptime). Malformed SDP raises SdpError.

`parse(lenient=True)` reads SDP seen in a capture (any media: audio, video, image/T.38) and never
raises: lines that do not parse are skipped (an m= line's attributes then go to the previous one),
no v=/o= needed, no size bound, attribute names and media types in any case, a c= address is its
third word, an rtpmap without a clock has clock 0, ptime is kept as written (a float). What says
the media is encrypted (`MediaDescription.encrypted`) is read in both modes.

Written here rather than taken from a package: only the audio subset is needed, the codec facts
live in readiness.codecs, and the answer rules (3264 6.1) are twenty lines.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field, replace

from .... import codecs as codec_table

MAX_SDP_BYTES = 16384
DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
_REVERSE = {"sendonly": "recvonly", "recvonly": "sendonly", "sendrecv": "sendrecv", "inactive": "inactive"}
# RFC 3551 table 4: static audio payload types an offer may list without a=rtpmap
STATIC_AUDIO = {0: ("PCMU", 8000), 3: ("GSM", 8000), 4: ("G723", 8000), 8: ("PCMA", 8000),
                9: ("G722", 8000), 18: ("G729", 8000)}
# Secure RTP profiles: RFC 3711 (SAVP), RFC 5124 (SAVPF), RFC 5764 8 (DTLS-SRTP, UDP/TLS/RTP/...)
SRTP_PROFILES = ("RTP/SAVP", "RTP/SAVPF", "UDP/TLS/RTP/SAVP", "UDP/TLS/RTP/SAVPF")
# Attributes that carry or fix SRTP keys: RFC 4568 (SDES crypto), RFC 8122 (DTLS fingerprint)
KEY_ATTRIBUTES = ("crypto", "fingerprint")


class SdpError(ValueError):
    """The SDP is malformed or has no usable audio stream."""


@dataclass(frozen=True)
class RtpMap:
    payload_type: int
    encoding: str
    clock_rate: int
    channels: int = 1

    def __str__(self) -> str:
        ch = f"/{self.channels}" if self.channels != 1 else ""
        return f"{self.payload_type} {self.encoding}/{self.clock_rate}{ch}"


@dataclass
class MediaDescription:
    """One m= section. `connection` is its c= address, falling back to the session's."""

    media: str
    port: int
    proto: str
    formats: list[str]
    rtpmaps: dict[int, RtpMap] = field(default_factory=dict)
    fmtp: dict[int, str] = field(default_factory=dict)
    ptime_ms: float | None = None     # whole ms, 1-1000, when parsed strictly; as written when lenient
    direction: str = "sendrecv"
    connection: str | None = None
    other: list[str] = field(default_factory=list)      # attributes kept verbatim (a=...)

    def rtpmap(self, pt: int) -> RtpMap | None:
        if pt in self.rtpmaps:
            return self.rtpmaps[pt]
        if pt in STATIC_AUDIO:
            enc, clock = STATIC_AUDIO[pt]
            return RtpMap(pt, enc, clock)
        return None

    def payload_types(self) -> list[int]:
        return [int(f) for f in self.formats if _is_number(f)]

    @property
    def keyed(self) -> bool:
        """SRTP keys offered or pinned for this stream (a=crypto, a=fingerprint)."""
        return any(a.partition(":")[0].lower() in KEY_ATTRIBUTES for a in self.other)

    @property
    def encrypted(self) -> bool:
        return self.proto.upper() in SRTP_PROFILES or self.keyed


@dataclass
class SessionDescription:
    origin_address: str
    session_id: int
    version: int = 1
    connection: str | None = None
    media: list[MediaDescription] = field(default_factory=list)
    username: str = "readiness"
    name: str = "readiness"
    direction: str | None = None                        # session-level a=sendrecv etc.

    def encode(self) -> bytes:
        lines = ["v=0",
                 f"o={self.username} {self.session_id} {self.version} {_addr(self.origin_address)}",
                 f"s={self.name}"]
        if self.connection:
            lines.append(f"c={_addr(self.connection)}")
        lines.append("t=0 0")
        if self.direction:
            lines.append(f"a={self.direction}")
        for m in self.media:
            lines.append(f"m={m.media} {m.port} {m.proto} {' '.join(m.formats)}")
            if m.connection and m.connection != self.connection:
                lines.append(f"c={_addr(m.connection)}")
            for pt in m.payload_types():
                if pt in m.rtpmaps:
                    lines.append(f"a=rtpmap:{m.rtpmaps[pt]}")
                if pt in m.fmtp:
                    lines.append(f"a=fmtp:{pt} {m.fmtp[pt]}")
            if m.ptime_ms:
                lines.append(f"a=ptime:{m.ptime_ms}")
            lines.extend(f"a={a}" for a in m.other)
            lines.append(f"a={m.direction}")
        return ("\r\n".join(lines) + "\r\n").encode("ascii")

    def next_version(self) -> "SessionDescription":
        """The same session with o= version + 1, as every new offer in a dialog needs (RFC 3264 8)."""
        return replace(self, version=self.version + 1)


def _is_number(text: str) -> bool:
    """ASCII digits only: str.isdigit() also takes '²', which int() refuses."""
    return text.isdigit() and text.isascii()


def _addr(address: str) -> str:
    return f"IN {'IP6' if ':' in address else 'IP4'} {address}"


@dataclass(frozen=True)
class MediaInfo:
    """What the RTP side needs from a negotiated audio stream."""

    address: str
    port: int
    payload_type: int
    encoding: str
    clock_rate: int
    ptime_ms: int
    direction: str = "sendrecv"
    channels: int = 1


def parse(data: bytes | str, lenient: bool = False) -> SessionDescription:
    """Parse SDP text. Raises SdpError for anything that is not a usable SDP body.
    `lenient`: read what a capture holds, never raise (module docstring)."""
    if isinstance(data, (bytes, bytearray)):
        if len(data) > MAX_SDP_BYTES and not lenient:
            raise SdpError(f"SDP of {len(data)} bytes is larger than {MAX_SDP_BYTES}")
        text = bytes(data).decode("utf-8", errors="replace")
    else:
        text = data
    if lenient:
        return _parse_lenient(text)
    session: SessionDescription | None = None
    current: MediaDescription | None = None
    for raw in text.replace("\r\n", "\n").split("\n"):
        line = raw.strip()
        if not line:
            continue
        if len(line) < 2 or line[1] != "=":
            raise SdpError(f"bad SDP line {line[:40]!r}")
        kind, value = line[0], line[2:]
        if kind == "v":
            if value.strip() != "0":
                raise SdpError(f"unsupported SDP version {value[:10]!r}")
        elif kind == "o":
            session = _origin(value)
        elif session is None:
            if kind in "mca":
                raise SdpError("SDP without v= and o= lines")
        elif kind == "s":
            session.name = value
        elif kind == "c":
            address = _connection(value)
            if current is None:
                session.connection = address
            else:
                current.connection = address
        elif kind == "m":
            current = _media_line(value)
            session.media.append(current)
        elif kind == "a":
            _attribute(session, current, value)
    if session is None:
        raise SdpError("no o= line in SDP")
    for m in session.media:
        if m.connection is None:
            m.connection = session.connection
        if not m.direction:                 # no a= direction of its own: the session's (RFC 4566 6)
            m.direction = session.direction or "sendrecv"
    return session


def _parse_lenient(text: str) -> SessionDescription:
    session = SessionDescription("", 0, 0, username="")
    current: MediaDescription | None = None
    for raw in text.replace("\r\n", "\n").split("\n"):
        line = raw.strip()
        if len(line) < 2 or line[1] != "=":
            continue
        kind, value = line[0], line[2:].strip()
        if kind == "o":
            try:
                o = _origin(value)
            except SdpError:
                continue
            session.origin_address, session.session_id, session.version, session.username = (
                o.origin_address, o.session_id, o.version, o.username)
        elif kind == "s":
            session.name = value
        elif kind == "c":
            parts = value.split()
            address = parts[2].split("/")[0] if len(parts) >= 3 else ""
            if current is None:
                session.connection = address or None
            else:
                current.connection = address or None
        elif kind == "m":
            media = _lenient_media_line(value)
            if media is not None:          # else the attributes that follow go to the previous m=
                current = media
                session.media.append(media)
        elif kind == "a" and current is not None:
            _lenient_attribute(session, current, value)
    for m in session.media:
        m.connection = m.connection or session.connection
        m.direction = m.direction or session.direction or "sendrecv"
    return session


def _lenient_media_line(value: str) -> MediaDescription | None:
    parts = value.split()
    if len(parts) < 3:
        return None
    try:
        port = int(parts[1].split("/")[0])
    except ValueError:
        return None
    return MediaDescription(parts[0].lower(), port, parts[2], parts[3:], direction="")


def _lenient_attribute(session: SessionDescription, m: MediaDescription, value: str) -> None:
    name, _, arg = value.partition(":")
    name = name.lower()
    if name == "rtpmap":
        pt_text, _, spec = arg.partition(" ")
        pieces = spec.strip().split("/")
        try:
            pt = int(pt_text)
            clock = int(pieces[1]) if len(pieces) > 1 else 0
            channels = int(pieces[2]) if len(pieces) > 2 else 1
        except ValueError:
            return
        m.rtpmaps[pt] = RtpMap(pt, pieces[0], clock, channels)
    elif name == "ptime":
        try:
            m.ptime_ms = float(arg)
        except ValueError:
            pass
    elif name in DIRECTIONS or name == "fmtp":
        _attribute(session, m, f"{name}:{arg}" if arg else name)
    else:
        m.other.append(value)


def _origin(value: str) -> SessionDescription:
    parts = value.split()
    if len(parts) != 6 or parts[3] != "IN":
        raise SdpError(f"bad o= line {value[:60]!r}")
    try:
        sid, ver = int(parts[1]), int(parts[2])
    except ValueError:
        raise SdpError(f"bad o= session id or version {value[:60]!r}") from None
    return SessionDescription(parts[5], sid, ver, username=parts[0])


def _connection(value: str) -> str:
    parts = value.split()
    if len(parts) != 3 or parts[0] != "IN" or parts[1] not in ("IP4", "IP6"):
        raise SdpError(f"bad c= line {value[:60]!r}")
    return parts[2].split("/")[0]       # drop a multicast TTL / count


def _media_line(value: str) -> MediaDescription:
    parts = value.split()
    if len(parts) < 4:
        raise SdpError(f"bad m= line {value[:60]!r}")
    port_text = parts[1].split("/")[0]
    try:                                      # isdigit() also takes '²', which int() refuses
        port = int(port_text) if port_text.isdigit() else -1
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise SdpError(f"bad m= port {parts[1][:20]!r}")
    return MediaDescription(parts[0], port, parts[2], parts[3:], direction="")


def _attribute(session: SessionDescription, m: MediaDescription | None, value: str) -> None:
    name, _, arg = value.partition(":")
    if name in DIRECTIONS:
        if m is None:
            session.direction = name
        else:
            m.direction = name
        return
    if m is None:
        return
    if name == "rtpmap":
        pt_text, _, spec = arg.partition(" ")
        pieces = spec.strip().split("/")
        if not pt_text.isdigit() or len(pieces) < 2 or not pieces[1].isdigit():
            raise SdpError(f"bad rtpmap {arg[:60]!r}")
        try:                                  # isdigit() also takes '²', which int() refuses
            pt, clock = int(pt_text), int(pieces[1])
            channels = int(pieces[2]) if len(pieces) > 2 and pieces[2].isdigit() else 1
        except ValueError:
            raise SdpError(f"bad rtpmap {arg[:60]!r}") from None
        m.rtpmaps[pt] = RtpMap(pt, pieces[0], clock, channels)
    elif name == "fmtp":
        pt_text, _, params = arg.partition(" ")
        if _is_number(pt_text):
            m.fmtp[int(pt_text)] = params.strip()
    elif name == "ptime":
        try:
            m.ptime_ms = max(1, min(1000, round(float(arg))))
        except (ValueError, OverflowError):      # "inf" overflows round()
            raise SdpError(f"bad ptime {arg[:20]!r}") from None
    else:
        m.other.append(value)


_session_ids = itertools.count(int(time.time()))


def _rtpmap_for(codec: codec_table.Codec) -> RtpMap:
    channels = 2 if codec.encoding.lower() == "opus" else 1   # RFC 7587 6.1: opus/48000/2 always
    return RtpMap(codec.payload_type, codec.encoding, codec.clock_rate, channels)


def offer(codecs: list[codec_table.Codec], address: str, port: int, ptime_ms: int = 20,
          direction: str = "sendrecv") -> SessionDescription:
    """An audio offer listing `codecs` in order of preference, RTP on address:port."""
    if not codecs:
        raise SdpError("an offer needs at least one codec")
    m = MediaDescription("audio", port, "RTP/AVP", [str(c.payload_type) for c in codecs],
                         {c.payload_type: _rtpmap_for(c) for c in codecs}, ptime_ms=ptime_ms,
                         direction=direction, connection=address)
    return SessionDescription(address, next(_session_ids), 1, address, [m])


def answer(offered: SessionDescription, codecs: list[codec_table.Codec], address: str, port: int,
           ptime_ms: int | None = None) -> SessionDescription | None:
    """RFC 3264 6.1 answer: one m= line per offered one, the first offered audio stream that shares a
    codec is accepted with the offerer's payload type, every other stream is rejected (port 0).
    None when no audio stream can be accepted (the caller answers 488)."""
    accepted = False
    out: list[MediaDescription] = []
    for m in offered.media:
        choice = None if accepted or m.media != "audio" or m.port == 0 else _pick(m, codecs)
        if choice is None:
            out.append(MediaDescription(m.media, 0, m.proto, m.formats[:1] or ["0"]))
            continue
        accepted = True
        out.append(MediaDescription("audio", port, m.proto, [str(choice.payload_type)],
                                    {choice.payload_type: choice}, ptime_ms=ptime_ms or m.ptime_ms,
                                    direction=_REVERSE[m.direction], connection=address))
    if not accepted:
        return None
    return SessionDescription(address, next(_session_ids), 1, address, out)


def _pick(m: MediaDescription, codecs: list[codec_table.Codec]) -> RtpMap | None:
    wanted = {(c.encoding.lower(), c.clock_rate): c for c in codecs}
    for pt in m.payload_types():
        rm = m.rtpmap(pt)
        if rm is not None and (rm.encoding.lower(), rm.clock_rate) in wanted:
            return rm
    return None


def negotiated(desc: SessionDescription, default_ptime_ms: int = 20) -> MediaInfo:
    """The first active audio stream: where to send, with which payload type, clock and ptime."""
    for m in desc.media:
        if m.media != "audio" or m.port == 0:
            continue
        for pt in m.payload_types():
            rm = m.rtpmap(pt)
            if rm is None or rm.encoding.lower() == "telephone-event":
                continue
            if not m.connection:
                raise SdpError("audio stream without a c= address")
            return MediaInfo(m.connection, m.port, pt, rm.encoding, rm.clock_rate,
                             m.ptime_ms or default_ptime_ms, m.direction, rm.channels)
    raise SdpError("no active audio stream with a known codec in the SDP")


def codec_for(info: MediaInfo) -> codec_table.Codec | None:
    """The readiness codec matching a negotiated stream (by encoding name and clock), if any."""
    for c in codec_table.CODECS.values():
        if c.encoding.lower() == info.encoding.lower() and c.clock_rate == info.clock_rate:
            return c
    return None
