"""SIP over TLS to the far end (an SBC on 5061) as a phone or Teams Direct Routing sees it: chain against the
trust store (the system's or the site's CA file), name (RFC 6125), expiry, TLS version and cipher, mutual TLS.
A verified handshake says whether and why not; if it fails, an unverified one fetches the certificate anyway.
OpenSSL's message callback (`SSLContext._msg_callback`) shows what the handshake API hides: the server's
Certificate message when the handshake dies later, a request for a client certificate, the alerts."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import re
import socket
import ssl
import time
import warnings
from dataclasses import asdict, dataclass, field

from cryptography import x509
from cryptography.x509.oid import NameOID

VERSIONS = {"TLSv1": ssl.TLSVersion.TLSv1, "TLSv1.0": ssl.TLSVersion.TLSv1, "TLSv1.1": ssl.TLSVersion.TLSv1_1,
            "TLSv1.2": ssl.TLSVersion.TLSv1_2, "TLSv1.3": ssl.TLSVersion.TLSv1_3}
_WIRE = {0x0301: "TLSv1", 0x0302: "TLSv1.1", 0x0303: "TLSv1.2", 0x0304: "TLSv1.3"}
_OLD_VERSION = {"UNSUPPORTED_PROTOCOL", "TLSV1_ALERT_PROTOCOL_VERSION", "NO_PROTOCOLS_AVAILABLE", "VERSION_TOO_LOW"}
_NOT_TLS = {"WRONG_VERSION_NUMBER", "UNKNOWN_PROTOCOL", "HTTP_REQUEST", "HTTPS_PROXY_REQUEST", "RECORD_LAYER_FAILURE",
            "PACKET_LENGTH_TOO_LONG", "RECORD_LENGTH_MISMATCH", "UNEXPECTED_RECORD", "WRONG_SSL_VERSION"}
_CLIENT_CERT_ALERTS = {"bad certificate", "unsupported certificate", "certificate revoked", "certificate expired",
                       "certificate unknown", "unknown ca", "access denied", "certificate required"}  # about ours
_HINTS = {19: "the chain ends in a root CA that is not in the trust store",
          20: "the issuing CA is not in the trust store (give the site's CA file), or the far end does not "
              "send its intermediate certificates",
          21: "the far end sends only its own certificate, not the chain to a trusted CA"}
REQUIRES_CLIENT_CERT = "the far end requires a client certificate (mutual TLS); give one in the site file"


@dataclass
class TlsResult:
    host: str
    port: int
    server_name: str                 # SNI and the name checked against the certificate
    version: str = ""
    cipher: str = ""
    trusted: bool = False            # chain verified AND name matched (OpenSSL's verdict)
    verify_error: str = ""
    subject: str = ""                # RFC 4514
    issuer: str = ""
    san: list[str] = field(default_factory=list)   # "DNS:sbc.example.com", "IP:192.0.2.1", "URI:sip:..."
    name_matches: bool = False       # RFC 6125 on the SAN list: name_matches() below
    not_before: str = ""             # ISO 8601 UTC
    not_after: str = ""
    days_left: float | None = None
    client_certificate: bool = False
    client_certificate_accepted: bool | None = None
    error: str = ""                  # could not check at all
    elapsed_ms: float = 0.0

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class _Shake:
    """One handshake: its outcome, and what OpenSSL's message callback (__call__) saw of it."""

    version: str = ""
    cipher: str = ""
    der: bytes | None = None
    exc: BaseException | None = None     # the handshake failed (TimeoutError: not within the time)
    after: BaseException | None = None   # the server failed (EOFError: closed) the connection just after it
    hello_sent: bool = False             # TCP was up: we sent our ClientHello
    first_bytes: bytes = b""             # the first record header read: what a non-TLS peer answered
    cert_message: bytes = b""            # the server's Certificate message
    cert_version: int = 0
    cert_requested: bool = False
    wrote_after_cert: bool = False       # we went on after the server's certificate: it verified
    alert_in: int = 0

    def __call__(self, conn, direction, version, content_type, msg_type, data) -> None:
        reading = direction == "read"
        if content_type == 256 and reading and not self.first_bytes:     # record header
            self.first_bytes = bytes(data)
        elif content_type == 22 and data:                                 # handshake message
            if not reading:
                self.hello_sent = True
                self.wrote_after_cert |= bool(self.cert_message)
            elif data[0] == 11 and not self.cert_message:
                self.cert_message, self.cert_version = bytes(data), int(version)
            elif data[0] == 13:
                self.cert_requested = True
        elif content_type == 21 and reading and len(data) >= 2:           # alert: level, description
            self.alert_in = data[1]

    def leaf(self) -> bytes | None:
        """The first certificate of the Certificate message (RFC 5246 7.4.2, RFC 8446 4.4.2)."""
        m = self.cert_message
        i = 4 + (1 + m[4] if self.cert_version >= 0x0304 and len(m) > 4 else 0) + 3
        n = int.from_bytes(m[i:i + 3], "big")
        return m[i + 3:i + 3 + n] if n and len(m) >= i + 3 + n else None

    def alert(self) -> str:
        """The alert the server sent, in OpenSSL's words ("certificate required"), or ""."""
        for e in (self.exc, self.after):
            if m := re.fullmatch(r"(?:SSLV3|TLSV1|TLSV13)_ALERT_(\w+)", getattr(e, "reason", None) or ""):
                return m.group(1).lower().replace("_", " ")
        with contextlib.suppress(ValueError, AttributeError):
            return ssl._TLSAlertType(self.alert_in).name.lower().replace("_", " ") if self.alert_in else ""
        return f"alert {self.alert_in}"

    def dropped(self) -> bool:
        lost = (ConnectionResetError, ConnectionAbortedError, BrokenPipeError, ssl.SSLEOFError)
        return isinstance(self.after, (EOFError, *lost)) or isinstance(self.exc, lost)


class _LoadError(Exception):
    def __init__(self, what: str, e: Exception):     # the file and OpenSSL's or the OS's reason: no contents
        reason = (e.reason or "").lower().replace("_", " ") or "no PEM certificate, or no unencrypted PEM key" \
            if isinstance(e, ssl.SSLError) else getattr(e, "strerror", None) or str(e)
        super().__init__(f"cannot load {what}: {reason}")


def _context(verify: bool, floor: ssl.TLSVersion, ceiling: ssl.TLSVersion | None, ca_file: str | None,
             client_cert: str | None, client_key: str | None) -> ssl.SSLContext:
    if verify:
        try:
            ctx = ssl.create_default_context(cafile=ca_file)   # CERT_REQUIRED, check_hostname; a CA file
        except (OSError, ValueError) as e:                      # replaces the system store
            raise _LoadError(f"the CA file {ca_file}", e) from None
    else:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    with warnings.catch_warnings(action="ignore", category=DeprecationWarning):   # TLS 1.0/1.1 are deprecated
        ctx.minimum_version, ctx.maximum_version = floor, ceiling or ssl.TLSVersion.MAXIMUM_SUPPORTED
    if floor < ssl.TLSVersion.TLSv1_2:
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")               # OpenSSL 3 refuses TLS < 1.2 at level 1 and up
    if client_cert:
        try:
            ctx.load_cert_chain(client_cert, client_key, password=lambda: b"")   # never prompt on a terminal
        except (OSError, ValueError) as e:
            raise _LoadError(f"the client certificate {client_cert}"
                             + (f" with the key {client_key}" if client_key else ""), e) from None
    return ctx


async def _shake(host: str, port: int, ctx: ssl.SSLContext, server_name: str, budget: float) -> _Shake:
    out, traced = _Shake(), False
    with contextlib.suppress(AttributeError, NotImplementedError):      # a debug hook, not in every build
        ctx._msg_callback, traced = out, True
    started = time.monotonic()
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(
            host, port, ssl=ctx, server_hostname=server_name, ssl_handshake_timeout=budget + 1), budget)
    except (OSError, ValueError) as e:        # ssl.SSLError, ConnectionError and TimeoutError are OSErrors
        out.exc = e
        return out
    try:
        so = writer.get_extra_info("ssl_object")
        out.cipher = (writer.get_extra_info("cipher") or ("",))[0]      # as at the end of the handshake
        out.version = so.version() or _WIRE.get(out.cert_version, "")
        try:
            out.der = so.getpeercert(binary_form=True)
        except ValueError:       # a TLS 1.3 alert right after the handshake has already failed the connection
            out.der = out.leaf()
        # TLS 1.3: our side of the handshake ends before the server has judged our certificate; its verdict
        # (an alert, or a close) comes after. A short read surfaces it; a write would draw a RST instead.
        if out.cert_requested or not traced:
            spent = time.monotonic() - started
            try:
                wait = min(max(0.5, 3 * spent) if traced else 0.3, max(0.05, budget - spent))
                out.after = EOFError() if await asyncio.wait_for(reader.read(1), wait) == b"" else None
            except TimeoutError:
                pass
            except OSError as e:
                out.after = e
    finally:
        writer.close()
        try:
            await asyncio.wait_for(writer.wait_closed(), 0.3)
        except (OSError, TimeoutError):
            writer.transport.abort()
    return out


def _client_verdict(s: _Shake, offered: bool, cert: str | None) -> tuple[bool | None, str]:
    """Did the server take our client certificate, or demand one we did not give?"""
    alert = s.alert()
    if not (alert in _CLIENT_CERT_ALERTS or (s.cert_requested and (alert == "handshake failure" or s.dropped()))):
        return (True if offered and s.exc is None else None), ""
    if not offered:
        return False, REQUIRES_CLIENT_CERT
    return False, f"the far end did not accept our client certificate {cert}: " + (
        f"it sent the alert '{alert}'" if alert else "it closed the connection")


def _failure(s: _Shake, hp: str, timeout_s: float) -> str:
    """Why there was no handshake at all, in plain words."""
    e, reason = s.exc, getattr(s.exc, "reason", None) or ""
    if isinstance(e, TimeoutError):
        return f"no {'TLS handshake with' if s.hello_sent else 'connection to'} {hp} within {timeout_s:g} s"
    if isinstance(e, ConnectionRefusedError):
        return f"connection refused by {hp}"
    if isinstance(e, socket.gaierror):
        return f"cannot resolve {hp.rsplit(':', 1)[0].strip('[]')}: {e.strerror or e}"
    if reason in _NOT_TLS:
        seen = s.first_bytes
        said = f"; it answered {seen.decode()!r}..." if seen and all(32 <= b < 127 for b in seen) else ""
        return f"{hp} does not speak TLS ({reason.lower().replace('_', ' ')}{said})"
    if alert := s.alert():
        hint = " (no cipher or signature algorithm in common?)" if alert == "handshake failure" else ""
        return f"the TLS handshake with {hp} failed: the far end sent the alert '{alert}'{hint}"
    if s.dropped():
        return f"{hp} closed the connection during the TLS handshake" + (
            "" if s.first_bytes else " without answering (does it speak TLS on this port?)")
    if isinstance(e, ssl.SSLError):
        return f"the TLS handshake with {hp} failed: {reason.lower().replace('_', ' ') or e}"
    return f"cannot connect to {hp}: {getattr(e, 'strerror', None) or e}"


def name_matches(name: str, san: list[str], common_names: list[str] | tuple[str, ...] = ()) -> bool:
    """RFC 6125 section 6 (kept by RFC 9525): an IP address against iPAddress entries only; a DNS name against
    dNSName entries, case-insensitively (6.4.1), "*" only as the whole left-most label, for exactly one label
    (6.4.3: "*.a.com" matches "b.a.com", not "c.b.a.com" nor "a.com"; no partial "f*o" labels, which RFC 9525
    dropped). The CN only when the certificate has no subjectAltName at all (6.4.4)."""
    name = name.strip().rstrip(".").lower()
    with contextlib.suppress(ValueError):
        ip = ipaddress.ip_address(name.strip("[]"))
        return any(e.startswith("IP:") and e[3:] == str(ip) for e in san)    # san holds canonical forms
    with contextlib.suppress(UnicodeError):
        name = name.encode("idna").decode("ascii")                           # compare A-labels
    for pattern in [e[4:] for e in san if e.startswith("DNS:")] if san else common_names:
        pattern = pattern.strip().rstrip(".").lower()
        star, _, parent = pattern.partition(".")
        label, _, rest = name.partition(".")
        if pattern == name or (star == "*" and parent and "*" not in parent and label and rest == parent):
            return True
    return False


def _read_certificate(out: TlsResult, der: bytes | None) -> None:
    if not der:
        return
    try:
        cert = x509.load_der_x509_certificate(der)
        out.subject, out.issuer = cert.subject.rfc4514_string(), cert.issuer.rfc4514_string()
        after = cert.not_valid_after_utc
        out.not_before, out.not_after = (f"{t:%Y-%m-%dT%H:%M:%SZ}" for t in (cert.not_valid_before_utc, after))
        out.days_left = round((after - dt.datetime.now(dt.UTC)).total_seconds() / 86400, 3)
        names = next((x.value for x in cert.extensions if isinstance(x.value, x509.SubjectAlternativeName)), [])
        kinds = {x509.DNSName: "DNS", x509.IPAddress: "IP", x509.UniformResourceIdentifier: "URI",
                 x509.RFC822Name: "email"}
        out.san = [f"{kinds[type(n)]}:{n.value}" for n in names if type(n) in kinds]
        cns = [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
        out.name_matches = name_matches(out.server_name, out.san, cns)
    except ValueError as e:                                   # a certificate cryptography cannot parse
        out.verify_error = "; ".join(filter(None, [out.verify_error, f"the certificate does not parse: {e}"]))
        return
    if out.verify_error and out.days_left < 0 and "expired" not in out.verify_error:   # a name mismatch
        out.verify_error += "; the certificate has also expired"                         # hides expiry
    if out.name_matches and "mismatch" in out.verify_error:
        out.verify_error += " (OpenSSL rejects a wildcard name that RFC 6125 alone would accept)"


async def check(host: str, port: int = 5061, server_name: str | None = None, ca_file: str | None = None,
                client_cert: str | None = None, client_key: str | None = None, timeout_s: float = 10.0,
                min_version: str = "TLSv1.2") -> TlsResult:
    started, deadline = time.monotonic(), time.monotonic() + timeout_s
    out = TlsResult(host, port, server_name or host, client_certificate=bool(client_cert))
    hp, offered = f"[{host}]:{port}" if ":" in host else f"{host}:{port}", bool(client_cert)
    try:
        if (floor := VERSIONS.get(min_version)) is None:
            out.error = f"unknown TLS version {min_version!r} (one of {', '.join(VERSIONS)})"
            return out

        async def shake(verify: bool, low: ssl.TLSVersion = floor, high: ssl.TLSVersion | None = None) -> _Shake:
            ctx = _context(verify, low, high, ca_file, client_cert, client_key)
            return await _shake(host, port, ctx, out.server_name, max(0.01, deadline - time.monotonic()))

        try:
            first = await shake(True)
        except _LoadError as e:
            out.error = str(e)
            return out
        if first.exc is None:                                             # verified, name matched
            out.trusted, out.version, out.cipher = True, first.version, first.cipher
            _read_certificate(out, first.der)
            out.client_certificate_accepted, out.error = _client_verdict(first, offered, client_cert)
            return out
        if isinstance(first.exc, ssl.SSLCertVerificationError):
            e = first.exc
            hint = f": {_HINTS[e.verify_code]}" if e.verify_code in _HINTS else ""
            out.verify_error = (e.verify_message or str(e)).rstrip(".") + hint
            # fetch the certificate without verification to report it, and to see mutual TLS
            second = await shake(False) if deadline - time.monotonic() > 0.05 else _Shake(exc=TimeoutError())
            out.version, out.cipher = second.version or _WIRE.get(first.cert_version, ""), second.cipher
            _read_certificate(out, second.der or second.leaf() or first.leaf())
            out.client_certificate_accepted, out.error = _client_verdict(second, offered, client_cert)
            return out
        verdict, why = _client_verdict(first, offered, client_cert)
        if verdict is False:        # TLS 1.2: the server ended the handshake over the client certificate
            out.client_certificate_accepted, out.error = verdict, why
            out.trusted, out.version = first.wrote_after_cert, _WIRE.get(first.cert_version, "")
            if not out.trusted:
                out.verify_error = "not checked: the handshake ended before the certificate was verified"
            _read_certificate(out, first.leaf())
            return out
        reason = getattr(first.exc, "reason", None) or ""
        if reason not in _OLD_VERSION and first.alert() != "protocol version":
            out.error = _failure(first, hp, timeout_s)
            return out
        # it refuses min_version and newer: which older ones does it speak? One handshake each, unverified
        spoken = []
        for v in sorted((v for v in set(VERSIONS.values()) if v < floor), reverse=True):
            if deadline - time.monotonic() > 0.05 and (s := await shake(False, v, v)).exc is None:
                spoken.append(s.version)
                if not out.version:
                    out.version, out.cipher = s.version, s.cipher
                    _read_certificate(out, s.der)
        out.error = (f"{hp} offers only {' and '.join(spoken)}; at least {min_version} is required"
                     if spoken else f"no TLS version in common with {hp}: it refuses {min_version} and newer"
                     f" ({reason.lower().replace('_', ' ') or 'protocol version'})")
        return out
    finally:
        out.elapsed_ms = round((time.monotonic() - started) * 1000, 1)
