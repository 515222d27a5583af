"""UDP sockets for media: mark the DSCP on send, and learn for every received packet the DSCP it
arrived with (IP_RECVTOS / IPV6_RECVTCLASS) and the kernel's receive time (SO_TIMESTAMPNS).

Kernel receive times keep measurements honest on a busy machine: a packet read late by Python still
carries the time it arrived.
"""

from __future__ import annotations

import errno
import socket
import struct

from ....errors import ReadinessError

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)   # linux/asm-generic/socket.h
SCM_TIMESTAMPNS = SO_TIMESTAMPNS
IPV6_TCLASS = getattr(socket, "IPV6_TCLASS", 67)
IPV6_RECVTCLASS = getattr(socket, "IPV6_RECVTCLASS", 66)
ANC_SPACE = socket.CMSG_SPACE(16) + socket.CMSG_SPACE(4) + 16   # timespec + tos (+ slack)
RECV_BUFFER = 1 << 20
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)      # asm-generic/socket.h
SO_SNDBUFFORCE = getattr(socket, "SO_SNDBUFFORCE", 32)
_TS = struct.Struct("@qq")


def family_of(host: str) -> int:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def open_udp(host: str, port: int = 0, tos: int | None = None, family: int | None = None) -> socket.socket:
    """A non-blocking UDP socket bound to host:port, marking `tos` (DSCP << 2) on what it sends and
    reporting DSCP and kernel time on what it receives. A busy port is a clear error."""
    family = family or family_of(host)
    s = socket.socket(family, socket.SOCK_DGRAM)
    try:
        s.setblocking(False)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECV_BUFFER)
        s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        if family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVTCLASS, 1)
            if tos is not None:
                s.setsockopt(socket.IPPROTO_IPV6, IPV6_TCLASS, tos)
        else:
            s.setsockopt(socket.IPPROTO_IP, socket.IP_RECVTOS, 1)
            if tos is not None:
                s.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, tos)
        try:
            s.bind((host, port))
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise ReadinessError(f"UDP port {port} on {host} is already in use") from None
            if e.errno == errno.EADDRNOTAVAIL:
                raise ReadinessError(f"{host} is not an address of this machine") from None
            raise ReadinessError(f"cannot bind UDP {host}:{port}: {e.strerror or e}") from None
    except BaseException:
        s.close()
        raise
    return s


def grow_buffers(s: socket.socket, size: int) -> int:
    """Ask for `size` bytes of receive and send buffer on a socket that carries many calls (a queue
    that outlasts a scheduling hiccup at 50,000 packets/s). Beyond net.core.rmem_max only with
    CAP_NET_ADMIN (SO_RCVBUFFORCE); otherwise as much as the system allows. Returns what it got."""
    for opt, force in ((socket.SO_RCVBUF, SO_RCVBUFFORCE), (socket.SO_SNDBUF, SO_SNDBUFFORCE)):
        try:
            s.setsockopt(socket.SOL_SOCKET, force, size)
        except OSError:
            s.setsockopt(socket.SOL_SOCKET, opt, size)
    return s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)


def ancillary(anc: list[tuple[int, int, bytes]]) -> tuple[int, int]:
    """(kernel receive time in ns since epoch or 0, TOS byte or -1) from recvmsg's ancillary data."""
    rx_ns, tos = 0, -1
    for level, kind, data in anc:
        if kind == SCM_TIMESTAMPNS and level == socket.SOL_SOCKET and len(data) >= 16:
            sec, nsec = _TS.unpack_from(data)
            rx_ns = sec * 1_000_000_000 + nsec
        elif (level == socket.IPPROTO_IP and kind == socket.IP_TOS) or (
                level == socket.IPPROTO_IPV6 and kind == IPV6_TCLASS):
            tos = data[0] if len(data) == 1 else int.from_bytes(data[:4], "little") & 0xFF
    return rx_ns, tos