"""The reflector's SRTP calls: a UDP socket of their own per call, opened when the responder answers
an RTP/SAVP offer and closed when the call ends.

Why a socket per call: the reflector's shared socket tells sessions apart by the session id inside
the stamp, which SRTP encrypts; the key must be known before the packet can be read, and the
socket it arrived on is what says which call (and key) it belongs to. The caller's SDP names no
SSRC to key on, and an SRTP phone expects a port per call anyway.

Sockets are opened on the responder's asyncio thread (its SDP answer needs the port) and added to
the reflector's epoll, which takes registrations from any thread; they are closed on the reflector's
own thread, so a socket is never closed under a read in progress (nor its descriptor reused).
"""

from __future__ import annotations

import select
import socket
import threading
from collections import deque
from dataclasses import dataclass

from ..io.udpsock import open_udp
from ..wire.srtp import CryptoAttribute, SrtpSession
from ..wire.srtp_call import SrtpLeg


@dataclass
class Leg:
    sock: socket.socket
    fd: int
    port: int
    srtp: SrtpLeg


class SrtpLegs:
    """The open legs by descriptor (the reflector thread reads) and by port (the responder closes)."""

    def __init__(self, host: str, poller: select.epoll):
        self.host = host
        self._poller = poller
        self.by_fd: dict[int, Leg] = {}
        self._by_port: dict[int, Leg] = {}
        self._closing: deque[int] = deque()
        self._lock = threading.Lock()
        self.opened = 0

    def __len__(self) -> int:
        return len(self._by_port)

    def open(self, send: CryptoAttribute, receive: CryptoAttribute) -> int:
        """A socket for one SRTP call, ready for its packets; returns its port (any thread)."""
        leg_srtp = SrtpLeg(SrtpSession(send, receive))
        sock = open_udp(self.host, 0)
        leg = Leg(sock, sock.fileno(), sock.getsockname()[1], leg_srtp)
        with self._lock:
            self.by_fd[leg.fd] = leg
            self._by_port[leg.port] = leg
            self.opened += 1
        self._poller.register(leg.fd, select.EPOLLIN)
        return leg.port

    def close(self, port: int) -> None:
        """Close the leg on `port` at the reflector thread's next turn (any thread)."""
        self._closing.append(port)

    def reap(self) -> None:
        """Close what close() asked for (the reflector's thread, between reads)."""
        while self._closing:
            port = self._closing.popleft()
            with self._lock:
                leg = self._by_port.pop(port, None)
                if leg is not None:
                    self.by_fd.pop(leg.fd, None)
            if leg is not None:
                try:
                    self._poller.unregister(leg.fd)
                except (OSError, ValueError):
                    pass
                leg.sock.close()

    def close_all(self) -> None:
        """Every leg, now (the reflector thread has stopped)."""
        with self._lock:
            legs = list(self._by_port.values())
            self._by_port.clear()
            self.by_fd.clear()
            self._closing.clear()
        for leg in legs:
            leg.sock.close()
