"""SRTP for test calls: SDES keying (RFC 4568) and SRTP/SRTCP protection (RFC 3711) through libsrtp 2.

`offer()` and `answer()` make and choose a=crypto lines; `SrtpSession` protects what we send with our
key and unprotects what we receive with the far end's. The crypto is libsrtp's (pylibsrtp, the
binding aiortc uses); this module only parses, keys and maps errors.

Keys are secrets (CONTRIBUTING: never logged): `CryptoAttribute` leaves the key out of its repr, and
no error message quotes key material.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import threading
from dataclasses import dataclass, field

import pylibsrtp

_P = pylibsrtp.Policy


@dataclass(frozen=True)
class _Suite:
    profile: int                 # libsrtp profile
    key_len: int                 # master key + master salt, bytes
    tag_len: int                 # RTP authentication tag, bytes
    rtcp_overhead: int           # SRTCP trailer: E flag + 31-bit index (4 bytes, RFC 3711 3.4) + tag


# RFC 4568 6.2.1/6.2.2: 128-bit key + 112-bit salt; HMAC-SHA1 tag 80 or 32 bits on SRTP, always
# 80 bits on SRTCP. RFC 7714 (AES-GCM, its SDES suites AEAD_AES_*_GCM): 96-bit salt, and the GCM
# tag (16 bytes) is the only authentication.
_SUITES = {
    "AES_CM_128_HMAC_SHA1_80": _Suite(_P.SRTP_PROFILE_AES128_CM_SHA1_80, 16 + 14, 10, 4 + 10),
    "AES_CM_128_HMAC_SHA1_32": _Suite(_P.SRTP_PROFILE_AES128_CM_SHA1_32, 16 + 14, 4, 4 + 10),
    "AEAD_AES_128_GCM": _Suite(_P.SRTP_PROFILE_AEAD_AES_128_GCM, 16 + 12, 16, 4 + 16),
    "AEAD_AES_256_GCM": _Suite(_P.SRTP_PROFILE_AEAD_AES_256_GCM, 32 + 12, 16, 4 + 16),
}
# What we offer and accept by default, in order of preference: the two every SBC offers first.
SUITES = ("AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32", "AEAD_AES_128_GCM")

# RFC 4568 6.3 session parameters that change nothing for us: the window size hint (we size our
# own window) and FEC (we send none). Any other (UNENCRYPTED_SRTP/SRTCP, UNAUTHENTICATED_SRTP, KDR)
# would need a libsrtp setting pylibsrtp does not expose, so a line carrying one is not accepted.
_IGNORABLE_PARAMS = ("WSH=", "FEC_ORDER=", "FEC_KEY=")
_TAG = re.compile(r"[0-9]{1,9}")                         # RFC 4568 9.1: tag = 1*9DIGIT
_LIFETIME = re.compile(r"(2\^)?[0-9]+")                 # RFC 4568 6.1: ["2^"] 1*DIGIT
_MKI = re.compile(r"([0-9]+):([0-9]{1,3})")             # RFC 4568 6.1: mki-value ":" mki-length
# libsrtp's replay window bounds (srtp_stream_init: 64 <= window_size < 2^15)
MIN_WINDOW, MAX_WINDOW = 64, 0x7FFF


class SrtpError(ValueError):
    """A bad a=crypto line, or a packet libsrtp refused. `kind`: "auth" (wrong key or tampered),
    "replay" (index already seen or older than the window: a network duplicate to count; libsrtp
    checks this before the tag, so it is not proof the packet was genuine), or "other" (malformed
    or oversized packet, unsupported parameter)."""

    def __init__(self, message: str, kind: str = "other") -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class CryptoAttribute:
    """One SDP a=crypto line (RFC 4568 9.1):
    a=crypto:<tag> <suite> inline:<base64 key||salt>[|lifetime][|MKI:len] [session params]"""

    tag: int
    suite: str
    key_salt: bytes = field(repr=False)      # a secret: never in a repr or a log
    lifetime: str = ""                       # kept as written ("2^31"), not interpreted
    mki: str = ""                            # "1:4": parsed and kept; we never send MKI
    params: str = ""                         # session parameters after the key, space separated

    def to_sdp(self) -> str:
        key = "inline:" + base64.b64encode(self.key_salt).decode("ascii")
        key += "".join("|" + part for part in (self.lifetime, self.mki) if part)
        return f"crypto:{self.tag} {self.suite} {key}" + (f" {self.params}" if self.params else "")

    @classmethod
    def parse(cls, value: str) -> CryptoAttribute:
        words = value.strip().split()
        for prefix in ("a=", "crypto:"):                 # with or without "a=crypto:"
            if words and words[0].lower().startswith(prefix):
                words[0] = words[0][len(prefix):]
        if len(words) < 3:
            raise SrtpError(f"a=crypto needs a tag, a suite and key parameters, got {len(words)} words")
        tag, suite, key_params, params = words[0], words[1], words[2], words[3:]
        if not _TAG.fullmatch(tag):
            raise SrtpError(f"a=crypto tag {tag[:12]!r} is not a number of 1-9 digits")
        if suite not in _SUITES:
            raise SrtpError(f"a=crypto suite {suite[:40]!r} is not supported "
                            f"(known: {', '.join(_SUITES)})")
        if ";" in key_params:                # RFC 4568 6.1: several keys, told apart by MKI
            raise SrtpError("a=crypto with more than one key (;) is not supported")
        if not key_params.lower().startswith("inline:"):
            raise SrtpError("a=crypto key parameters do not start with inline: (the only key method, RFC 4568 6.1)")
        key_b64, *extra = key_params[len("inline:"):].split("|")
        try:
            # some stacks leave off the base64 padding; any other bad character is an error
            key_salt = base64.b64decode(key_b64 + "=" * (-len(key_b64) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise SrtpError(f"a=crypto key of suite {suite} is not valid base64") from None
        want = _SUITES[suite].key_len
        if len(key_salt) != want:
            raise SrtpError(f"a=crypto key of suite {suite} is {len(key_salt)} bytes, "
                            f"needs {want} (master key + master salt)")
        lifetime = mki = ""
        for part in extra:
            if (m := _MKI.fullmatch(part)) and not mki:
                if not 1 <= int(m.group(2)) <= 128:       # RFC 4568 6.1: MKI length 1..128 bytes
                    raise SrtpError(f"a=crypto MKI length {m.group(2)} is outside 1..128")
                mki = part
            elif _LIFETIME.fullmatch(part) and not lifetime and not mki:
                lifetime = part
            else:
                raise SrtpError(f"a=crypto key parameter {part[:20]!r} is neither a lifetime "
                                f"(2^n) nor an MKI (value:length), or repeats one")
        return cls(int(tag), suite, key_salt, lifetime, mki, " ".join(params))


def _unhonoured(attr: CryptoAttribute) -> str:
    """Why an SrtpSession cannot use this line as it is written ("" when it can)."""
    if attr.mki:
        return "MKI in packets is not supported"
    bad = [p for p in attr.params.split() if not p.upper().startswith(_IGNORABLE_PARAMS)]
    return f"session parameter {bad[0][:30]} is not supported" if bad else ""


def new_key(suite: str) -> bytes:
    """A fresh master key and salt for `suite` (RFC 3711 8: random, never reused)."""
    try:
        return secrets.token_bytes(_SUITES[suite].key_len)
    except KeyError:
        raise SrtpError(f"suite {suite!r} is not supported (known: {', '.join(_SUITES)})") from None


def offer(suites: tuple[str, ...] | list[str] = SUITES) -> list[CryptoAttribute]:
    """One a=crypto line per suite, with fresh keys, tags 1..n in order of preference."""
    return [CryptoAttribute(tag, suite, new_key(suite)) for tag, suite in enumerate(suites, 1)]


def answer(offered: list[CryptoAttribute], supported: tuple[str, ...] | list[str] = SUITES
           ) -> tuple[CryptoAttribute, CryptoAttribute] | None:
    """The first offered line (offers list them in order of preference, RFC 4568 7.1.1) whose suite
    we support and whose parameters we can honour, and our answer line: same tag and suite, our own
    key for what we send (RFC 4568 7.1.2). None when nothing fits."""
    for line in offered:
        if line.suite in supported and line.suite in _SUITES and not _unhonoured(line):
            return line, CryptoAttribute(line.tag, line.suite, new_key(line.suite))
    return None


_REPLAY_ERRORS = ("replay check failed", "packet index is too old")


def _error(exc: Exception, what: str) -> SrtpError:
    text = str(exc)
    if text.startswith("authentication failure"):
        return SrtpError(f"{what}: authentication failed", "auth")
    if text.startswith(_REPLAY_ERRORS):
        return SrtpError(f"{what}: replayed ({text})", "replay")
    return SrtpError(f"{what}: {text}", "other")


class _Direction:
    """One libsrtp session and the lock around it: pylibsrtp works in one 1500-byte buffer per
    session (longer packets, and protect above 1356 bytes, are refused) and releases the GIL in
    libsrtp, so two threads on one session would mix their packets."""

    def __init__(self, attr: CryptoAttribute, ssrc_type: int, window: int) -> None:
        policy = _P(key=attr.key_salt, ssrc_type=ssrc_type, srtp_profile=_SUITES[attr.suite].profile)
        policy.window_size = window
        try:
            self.session = pylibsrtp.Session(policy)
        except pylibsrtp.Error as exc:
            raise SrtpError(f"libsrtp refused the policy: {exc}") from None
        self.lock = threading.Lock()

    def run(self, method, packet: bytes, what: str) -> bytes:
        data = bytes(packet)
        if data and data[0] >> 6 != 2:
            # libsrtp does not look at the version: a stray non-RTP datagram would read as a forgery
            raise SrtpError(f"{what}: not RTP/RTCP version 2", "other")
        with self.lock:
            try:
                return method(self.session, data)
            except (pylibsrtp.Error, ValueError) as exc:  # ValueError: longer than pylibsrtp's buffer
                raise _error(exc, what) from None


class SrtpSession:
    """One direction pair: protect what we send with our key, unprotect what we receive with theirs.

    Two libsrtp sessions, because a session has one wildcard template: the sending one is "any
    outbound", the receiving one "any inbound", so every SSRC of the call (ours, and each one the
    far end reflects with) gets its own context, ROC and replay window (RFC 3711 3.2.3) without
    being declared. An SSRC used in both directions is no collision either: the contexts live in
    different sessions. libsrtp checks the replay window before the tag, so a "replay" error says
    the index was seen, not that the packet was genuine.
    """

    def __init__(self, send: CryptoAttribute, receive: CryptoAttribute, replay_window: int = 1024) -> None:
        for role, attr in (("send", send), ("receive", receive)):
            if attr.suite not in _SUITES:
                raise SrtpError(f"{role} suite {attr.suite!r} is not supported")
            if len(attr.key_salt) != _SUITES[attr.suite].key_len:
                raise SrtpError(f"{role} key of suite {attr.suite} is {len(attr.key_salt)} bytes, "
                                f"needs {_SUITES[attr.suite].key_len}")
            if why := _unhonoured(attr):
                raise SrtpError(f"{role} a=crypto tag {attr.tag}: {why}")
        if not MIN_WINDOW <= replay_window <= MAX_WINDOW:
            raise SrtpError(f"replay window {replay_window} is outside libsrtp's {MIN_WINDOW}..{MAX_WINDOW}")
        self.suite = send.suite
        # bytes added per packet: the RTP tag (RFC 3711 3.1), the SRTCP index and tag (3.4)
        self.overhead = _SUITES[send.suite].tag_len
        self.overhead_rtcp = _SUITES[send.suite].rtcp_overhead
        self._tx = _Direction(send, _P.SSRC_ANY_OUTBOUND, replay_window)
        self._rx = _Direction(receive, _P.SSRC_ANY_INBOUND, replay_window)

    def protect(self, rtp: bytes) -> bytes:
        """SRTP of one RTP packet. Protecting the same SSRC and sequence twice raises kind "replay":
        libsrtp will not reuse a keystream (RFC 3711 9.1)."""
        return self._tx.run(pylibsrtp.Session.protect, rtp, "SRTP protect")

    def unprotect(self, srtp: bytes) -> bytes:
        return self._rx.run(pylibsrtp.Session.unprotect, srtp, "SRTP unprotect")

    def protect_rtcp(self, rtcp: bytes) -> bytes:
        return self._tx.run(pylibsrtp.Session.protect_rtcp, rtcp, "SRTCP protect")

    def unprotect_rtcp(self, srtcp: bytes) -> bytes:
        """SRTCP's replay window is libsrtp's fixed 128 indexes, whatever `replay_window` says."""
        return self._rx.run(pylibsrtp.Session.unprotect_rtcp, srtcp, "SRTCP unprotect")
