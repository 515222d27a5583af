"""`readiness responder`: the far end of test calls. A SIP UAS (sip/uas.py) answers every authorised
INVITE with an SDP answer pointing at the reflector (farend/reflector.py), which sends the caller's media
back stamped. Several technicians can test against one responder at once: every call is its own
session, bounded per source address (calls, INVITE rate and duration in the UAS; sessions, packet
rate and duration in the reflector).

With a key, the INVITE must carry a valid X-Readiness-Auth token (wire/calltoken.py) and every media
packet a valid MAC (no answer otherwise). A request without a valid token gets one 403 no larger than
itself, or nothing (sip/guard.py): the responder can sit on a public address without becoming a
reflector for forged UDP. Without a key it listens on loopback only.

An RTP/SAVP offer (SDES keys in a=crypto, RFC 4568) is answered with RTP/SAVP, our own a=crypto line
and a reflector port of the call's own (farend/srtp_legs.py), closed when the call ends; the stamps
travel inside SRTP. DTLS-SRTP is refused with 488 and a Warning saying so.

For key holders it is also the far end of the path tests: a call-back after an idle time (the NAT
binding test, nat_call_back.py) and a few UDP ports opened for a while (the port test, port_echo.py).
"""

from __future__ import annotations

import ipaddress
import resource
import ssl
from dataclasses import dataclass, field

from .... import __version__
from .... import codecs as codec_table
from ....errors import ReadinessError
from ..sip import (
    Accept,
    IncomingCall,
    Reject,
    SipConfig,
    UasLimits,
    UserAgentServer,
    sdp,
)
from ..sip.guard import GuardLimits, RequestGuard
from ..sip.message import Request
from ..sip.transport import local_address_for
from ..wire import calltoken, seen, srtp_call, stamps
from .nat_call_back import NatCallBacks
from .port_echo import PortEcho
from .reflector import ReflectorLimits, ReflectorStats
from .reflector_process import SeparateReflector

DEFAULT_SIP_PORT = 5060


@dataclass
class ResponderConfig:
    host: str = "127.0.0.1"
    port: int = DEFAULT_SIP_PORT
    transports: tuple[str, ...] = ("udp", "tcp")
    media_port: int = 0                       # 0: any free port
    key: bytes | None = None
    sip_dscp: int = 24
    ring_ms: float = 0.0                      # send 180 Ringing this long before answering
    media_advertise: tuple[str, int] | None = None   # put this in the SDP answer (port forward, NAT, a lab relay)
    tls_cert: str | None = None               # PEM chain: SIP over TLS too, on tls_port
    tls_key: str | None = None
    tls_port: int = 0                         # 0: the SIP port + 1 (as SBCs pair 5060/5061), or any
    limits: ReflectorLimits = field(default_factory=ReflectorLimits)
    uas_limits: UasLimits = field(default_factory=UasLimits)
    guard_limits: GuardLimits = field(default_factory=GuardLimits)


def _lift_fd_limit() -> None:
    """Every SRTP call holds a socket of its own: take the soft open-file limit up to the hard one
    (best effort; a call that finds none left gets 503)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            pass


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _tls_context(cfg: ResponderConfig) -> ssl.SSLContext | None:
    """The server side of SIP over TLS: TLS 1.2 at least (RFC 8996 retires 1.0 and 1.1)."""
    if not cfg.tls_cert:
        return None
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(cfg.tls_cert, cfg.tls_key)
    except (OSError, ssl.SSLError) as e:
        raise ReadinessError(f"cannot load the TLS certificate {cfg.tls_cert} / key {cfg.tls_key}: "
                             f"{getattr(e, 'strerror', None) or getattr(e, 'reason', None) or e}") from None
    return ctx


class CallResponder:
    """`await start()`, serve until cancelled, `await close()` (or `async with`)."""

    def __init__(self, config: ResponderConfig):
        if config.key is None and not _is_loopback(config.host):
            raise ReadinessError(f"without --key-file the responder listens on loopback only, not {config.host}: "
                                 "give it a key (the callers need the same key)")
        if config.key is not None and len(config.key) < 16:
            raise ReadinessError("the responder key is shorter than 16 bytes: use a longer random key "
                                 "(e.g. head -c 32 /dev/urandom | base64 > key)")
        self.config = config
        self.reflector: SeparateReflector | None = None
        self.uas: UserAgentServer | None = None
        self.call_backs: NatCallBacks | None = None
        self.port_echo: PortEcho | None = None
        self.addresses: list[tuple[str, str, int]] = []   # (transport, host, port)
        self._tokens = calltoken.TokenChecker(config.key) if config.key else None
        self._codecs = list(codec_table.CODECS.values())
        self.calls_answered = 0
        self.calls_refused = 0
        self.srtp_answered = 0
        self._srtp_ports: dict[int, int] = {}       # id(IncomingCall) -> its SRTP leg's port

    async def start(self) -> "CallResponder":
        cfg = self.config
        _lift_fd_limit()
        # the media in a process of its own: SIP and its garbage collection never hold a reply back
        self.reflector = SeparateReflector(cfg.host, cfg.media_port, cfg.key or b"", cfg.limits).start()
        self.uas = UserAgentServer(self._decide, SipConfig(dscp=cfg.sip_dscp, tls_server=_tls_context(cfg)),
                                   cfg.uas_limits, on_call_ended=self._call_ended)
        if self._tokens is not None:
            self.uas.endpoint.guard = RequestGuard(self._authenticate, cfg.guard_limits)
            # the path tests' far end, for token holders only (the guard checked the token before)
            self.call_backs = NatCallBacks(self.uas.endpoint)
            self.port_echo = PortEcho(cfg.key, cfg.host)
            self.uas.endpoint.on_options = self._on_options
        try:
            for kind in cfg.transports:
                try:
                    host, port = await self.uas.listen(kind, cfg.host, cfg.port)
                except OSError as e:
                    raise ReadinessError(f"cannot listen on {kind} {cfg.host}:{cfg.port}: {e.strerror or e}") from None
                self.addresses.append((kind, host, port))
            if cfg.tls_cert:
                port = cfg.tls_port or (self.addresses[0][2] + 1 if self.addresses and cfg.port else 0)
                try:
                    host, port = await self.uas.listen("tls", cfg.host, port)
                except OSError as e:
                    raise ReadinessError(f"cannot listen on tls {cfg.host}:{port}: {e.strerror or e}") from None
                self.addresses.append(("tls", host, port))
        except BaseException:
            await self.close()
            raise
        return self

    @property
    def media_port(self) -> int:
        assert self.reflector is not None
        return self.reflector.port

    @property
    def sip_port(self) -> int:
        return self.addresses[0][2] if self.addresses else self.config.port

    def _on_options(self, req: Request, flow) -> list[tuple[str, str]] | None:
        assert self.call_backs is not None and self.port_echo is not None
        self.call_backs.requested(req, flow)
        return self.port_echo.requested(req, flow)

    async def close(self) -> None:
        if self.call_backs is not None:
            self.call_backs.close()
        if self.port_echo is not None:
            self.port_echo.close()
        if self.uas is not None:
            await self.uas.close()
            self.uas = None
        if self.reflector is not None:
            self.reflector.stop()
            self.reflector = None

    async def __aenter__(self) -> "CallResponder":
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.close()

    def stats(self) -> dict:
        r: ReflectorStats = self.reflector.stats() if self.reflector else ReflectorStats()
        u = self.uas.stats if self.uas else None
        guard = self.uas.endpoint.guard if self.uas else None
        return {"calls_active": len(self.uas.calls) if self.uas else 0, "calls_answered": self.calls_answered,
                "calls_refused": self.calls_refused + (guard.stats.refused if guard else 0),
                "unauthenticated_replies": guard.stats.replies if guard else 0,
                "nat_call_backs": self.call_backs.sent if self.call_backs else 0, "calls_limited": u.limited if u else 0,
                "media_sessions": r.sessions_active, "packets_reflected": r.reflected,
                "packets_unauthenticated": r.unauthenticated, "packets_over_limit": r.over_limit,
                "srtp_calls_answered": self.srtp_answered, "srtp_calls_active": r.srtp_calls,
                "packets_srtp_auth_failed": r.srtp_auth_failed, "packets_srtp_replayed": r.srtp_replayed}

    def _authenticate(self, req: Request) -> str | None:
        """An INVITE or OPTIONS carrying a valid, fresh token; every other request outside a dialog is not."""
        assert self._tokens is not None
        if req.method not in ("INVITE", "OPTIONS"):
            return f"{req.method} outside a call"
        return self._tokens.check(req.headers.get(calltoken.HEADER))

    async def _decide(self, call: IncomingCall) -> Accept | Reject:
        # what answers (RFC 3261 20.35): only a caller past the guard (a key holder, or loopback) hears it
        headers: dict[str, str] = {"Server": f"readiness/{__version__}"}
        # with a key, the endpoint's guard let only INVITEs with a valid token through to here
        if self._tokens is not None and call.dscp_received is not None:   # told only to a key holder
            headers[calltoken.RECEIVED_DSCP] = str(call.dscp_received)
        if self._tokens is not None and self.config.key:      # what the path did to the INVITE (SIP ALG)
            headers[seen.HEADER] = seen.encode(seen.observe(call.invite.headers, call.invite.body),
                                               f"{call.source.host}:{call.source.port}", self.config.key)
        if call.offer is None:
            self.calls_refused += 1
            return Reject(488, "Not Acceptable Here", {"Warning": '399 readiness "an INVITE without SDP offer"'})
        if self.reflector is not None and not self.reflector.alive:
            # no media would come back: a call answered now would blame the network for 100 % loss
            self.calls_refused += 1
            return Reject(503, "Service Unavailable", {"Warning": '399 readiness "the media reflector has stopped"'})
        host, port = self.config.media_advertise or (self.config.host, self.media_port)
        if host in ("0.0.0.0", "::", ""):
            host = local_address_for(call.source.host)
        answer = sdp.answer(call.offer, self._codecs, host, port)
        if answer is None:
            self.calls_refused += 1
            return Reject(488, "Not Acceptable Here", {"Warning": '399 readiness "no codec in common"'})
        for i, m in enumerate(answer.media):
            if not m.port:
                continue
            offered = call.offer.media[i]               # RFC 3264 6: the answer's m= lines match the offer's
            if srtp_call.is_sdes(offered) or srtp_call.is_dtls(offered):
                try:
                    why = self._secure(call, offered, m)
                except (ReadinessError, OSError) as e:         # no socket left for the call's leg
                    self.calls_refused += 1
                    return Reject(503, "Service Unavailable", {"Retry-After": "5",
                                                               "Warning": f'399 readiness "SRTP leg: {e}"'})
                if why:
                    self.calls_refused += 1
                    return Reject(488, "Not Acceptable Here", {"Warning": f'399 readiness "{why}"'})
            m.other.append(f"{stamps.SDP_ATTRIBUTE}:1")
        self.calls_answered += 1
        return Accept(answer, headers, ring_ms=self.config.ring_ms)

    def _secure(self, call: IncomingCall, offered: sdp.MediaDescription, m: sdp.MediaDescription) -> str:
        """Answer an SRTP stream: our a=crypto line for the offered one we take (RFC 4568 7.1.2) and
        a leg of its own in the reflector; "" when done, else why not (the call gets 488).
        The answer keeps the offered profile (sdp.answer). Behind --media-advertise
        the answer names the advertised host and the leg's own port."""
        assert self.reflector is not None
        picked = srtp_call.answer_keys(offered)
        if isinstance(picked, str):
            return picked
        theirs, ours = picked
        m.port = self.reflector.open_srtp(ours, theirs)
        m.other.append(ours.to_sdp())
        self._srtp_ports[id(call)] = m.port
        self.srtp_answered += 1
        return ""

    def _call_ended(self, call: IncomingCall) -> None:
        port = self._srtp_ports.pop(id(call), None)
        if port is not None and self.reflector is not None:
            self.reflector.close_srtp(port)
