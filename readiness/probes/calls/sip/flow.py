"""What every SIP transport shares: the peer, the flow back to it, errors, counters, marking."""

from __future__ import annotations

import contextlib
import socket
from dataclasses import dataclass, field
from typing import Callable

from .... import dscp as dscp_names
from .message import Request, Response

DEFAULT_SIGNALLING_DSCP = 24      # CS3, Cisco QoS baseline; RFC 4594's Signaling class is CS5 (40)


class TransportError(Exception):
    """Could not reach a peer. `cause` is one of: dns, unreachable, refused, tls, closed, timeout."""

    def __init__(self, cause: str, detail: str):
        super().__init__(detail)
        self.cause = cause


@dataclass(frozen=True)
class Peer:
    transport: str      # udp | tcp | tls
    host: str           # numeric address
    port: int


@dataclass
class TransportStats:
    received: int = 0
    sent: int = 0
    send_dropped: int = 0             # UDP send buffer full: dropped, the timers retransmit
    malformed: int = 0
    malformed_reasons: dict[str, int] = field(default_factory=dict)
    icmp_errors: int = 0
    connections_refused_by_limit: int = 0
    keepalives: int = 0

    def count_malformed(self, err: Exception) -> None:
        self.malformed += 1
        reason = " ".join(str(err).split(" ")[0:2])[:40]
        if len(self.malformed_reasons) < 64 or reason in self.malformed_reasons:
            self.malformed_reasons[reason] = self.malformed_reasons.get(reason, 0) + 1


class Flow:
    """Where to send to reach one peer, and whether retransmissions are the transport's job."""

    reliable = False
    peer: Peer

    def send(self, data: bytes) -> None:
        raise NotImplementedError

    @property
    def local(self) -> tuple[str, int]:
        raise NotImplementedError


def send_quiet(flow: Flow, data: bytes) -> None:
    """Send where a failure needs no handling here (a retransmission, an ACK): the transaction's
    timers or the transport's error report deal with an unreachable peer."""
    try:
        flow.send(data)
    except TransportError:
        pass


MessageHandler = Callable[[Request | Response, Flow], None]
ErrorHandler = Callable[[Peer, TransportError], None]


def set_dscp(sock: socket.socket, dscp: int) -> None:
    """Mark everything the socket sends (IPv4 ToS / IPv6 traffic class, upper six bits: RFC 2474)."""
    tos = dscp_names.to_tos(dscp)
    if sock.family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_TCLASS, tos)
    with contextlib.suppress(OSError):      # also covers v4-mapped traffic on a dual-stack socket
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, tos)
