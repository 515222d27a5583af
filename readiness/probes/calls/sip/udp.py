"""The SIP UDP socket: read with recvmsg so each message carries the DSCP it arrived with
(IP_RECVTOS / IPV6_RECVTCLASS), and ICMP errors come back with the address they concern
(IP_RECVERR error queue), so a call to a closed port fails within a round trip, not after Timer B.
It hands what it reads to the handlers it is given (the transports' on_message / on_error) and
counts into their TransportStats.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys

from .flow import ErrorHandler, Flow, MessageHandler, Peer, TransportError, TransportStats
from .message import SipParseError, parse

# Linux values (include/uapi/linux/in.h, in6.h); Python's socket module does not export them.
IP_RECVERR = 11
IPV6_RECVERR = 25
UDP_RCVBUF = 2 * 1024 * 1024
READS_PER_WAKEUP = 256            # bounded, so one busy socket cannot starve the loop


class UdpFlow(Flow):
    __slots__ = ("_udp", "_addr", "peer")

    def __init__(self, udp: "UdpSocket", addr: tuple[str, int]):
        self._udp, self._addr = udp, addr
        self.peer = Peer("udp", addr[0], addr[1])

    def send(self, data: bytes) -> None:
        self._udp.sendto(data, self._addr)

    @property
    def local(self) -> tuple[str, int]:
        return self._udp.local


class UdpSocket:
    """One bound UDP socket: parsed messages go to `on_message(msg, flow)`, ICMP errors to
    `on_error(peer, err)`, counts to `stats`."""

    def __init__(self, sock: socket.socket, stats: TransportStats, on_message: MessageHandler,
                 on_error: ErrorHandler):
        self.sock, self.stats = sock, stats
        self._deliver, self._fail_peer = on_message, on_error
        self.local = sock.getsockname()[:2]
        self.closed = False
        v6 = sock.family == socket.AF_INET6
        with contextlib.suppress(OSError):
            # a burst of INVITEs from many callers must not overflow the default ~200 KiB buffer;
            # the kernel caps this at net.core.rmem_max
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_RCVBUF)
        if v6:
            sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVERR, 1)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVTCLASS, 1)
        else:
            sock.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_RECVTOS, 1)
        sock.setblocking(False)
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(sock.fileno(), self._readable)

    def sendto(self, data: bytes, addr: tuple[str, int]) -> None:
        if self.closed:
            raise TransportError("closed", "the SIP UDP socket is closed")
        for _ in range(2):
            try:
                self.sock.sendto(data, addr)
                self.stats.sent += 1
                return
            except (BlockingIOError, InterruptedError):
                self.stats.send_dropped += 1
                return
            except OSError as e:
                # a pending ICMP error about some earlier destination surfaces here: report it to
                # whom it concerns, then try once more
                self._drain_errors(e)
        self.stats.send_dropped += 1

    def _readable(self) -> None:
        stats = self.stats
        for _ in range(READS_PER_WAKEUP):
            try:
                data, anc, _, addr = self.sock.recvmsg(65536, 64)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                self._drain_errors(e)
                continue
            stats.received += 1
            if data in (b"\r\n\r\n", b"\r\n"):
                stats.keepalives += 1
                continue
            try:
                msg = parse(data)
            except SipParseError as e:
                stats.count_malformed(e)
                continue
            msg.dscp = _dscp(anc)
            msg.size = len(data)
            self._deliver(msg, UdpFlow(self, (addr[0], addr[1])))

    def _drain_errors(self, exc: OSError) -> None:
        """Read the error queue (an undrained queue keeps the socket readable and spins the loop);
        the address of each entry is the destination of the datagram that caused it."""
        for _ in range(64):
            try:
                _, _, _, addr = self.sock.recvmsg(1, 512, socket.MSG_ERRQUEUE)
            except OSError:
                return
            self.stats.icmp_errors += 1
            if addr:
                self._fail_peer(Peer("udp", addr[0], addr[1]), TransportError(
                    "unreachable", f"{addr[0]}:{addr[1]} is unreachable ({exc.strerror or exc})"))

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._loop.remove_reader(self.sock.fileno())
            self.sock.close()


def _dscp(anc: list[tuple[int, int, bytes]]) -> int | None:
    for level, kind, cdata in anc:
        if level == socket.IPPROTO_IP and kind == socket.IP_TOS and cdata:
            return cdata[0] >> 2
        if level == socket.IPPROTO_IPV6 and kind == socket.IPV6_TCLASS and len(cdata) >= 4:
            return int.from_bytes(cdata[:4], sys.byteorder) >> 2
    return None
