"""SIP transports on one asyncio loop: UDP, TCP and TLS, signalling marked with a DSCP (IP_TOS).

A `Flow` is the way back to one peer: a UDP socket plus address, or one TCP/TLS connection.
Requests from the network arrive with the flow they came on, and responses go back on it (RFC 3261
18.2.2 for streams; for UDP we answer the source address, as RFC 3581 rport does, so NAT works).

Malformed input is counted in `stats` and dropped (a stream with broken framing is closed). The
UDP socket (udp.py) also reports the DSCP each message arrived with and ICMP errors per peer.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
import ssl
from dataclasses import dataclass

from ....errors import ReadinessError
from .flow import (DEFAULT_SIGNALLING_DSCP, ErrorHandler, Flow, MessageHandler, Peer, TransportError,
                   TransportStats, set_dscp)
from .message import MAX_MESSAGE_BYTES, SipParseError, StreamFramer, parse
from .udp import UdpFlow, UdpSocket

CONNECT_TIMEOUT_S = 5.0
DNS_TIMEOUT_S = 5.0


async def resolve(host: str, port: int, timeout: float = DNS_TIMEOUT_S) -> tuple[int, str]:
    """(family, numeric address) of `host`. Raises TransportError('dns') with a clear message."""
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_DGRAM), timeout)
    except asyncio.TimeoutError:
        raise TransportError("dns", f"DNS lookup of {host} timed out after {timeout:g} s") from None
    except socket.gaierror as e:
        raise TransportError("dns", f"cannot resolve {host}: {e.strerror}") from None
    family, _, _, _, addr = infos[0]
    return family, addr[0]


def local_address_for(remote_ip: str) -> str:
    """The source address the kernel would use towards `remote_ip` (for Contact and SDP c=)."""
    family = socket.AF_INET6 if ":" in remote_ip else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.connect((remote_ip, 9))          # no packet is sent: connect() on UDP only picks a route
        return s.getsockname()[0]


class _StreamConnection(asyncio.Protocol, Flow):
    reliable = True

    def __init__(self, owner: "SipTransports", kind: str):
        self.owner, self.kind = owner, kind
        self.framer = StreamFramer()
        self.transport: asyncio.Transport | None = None
        self.peer = Peer(kind, "", 0)
        self._local: tuple[str, int] = ("", 0)
        self.closed = asyncio.get_running_loop().create_future()
        self.counted = False

    def connection_made(self, transport) -> None:
        self.transport = transport
        name = transport.get_extra_info("peername")
        self.peer = Peer(self.kind, name[0], name[1])
        self._local = transport.get_extra_info("sockname")[:2]
        self.owner.connection_opened(self)

    @property
    def local(self) -> tuple[str, int]:
        return self._local

    def send(self, data: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            raise TransportError("closed", f"the {self.kind.upper()} connection to {self.peer.host} is closed")
        self.transport.write(data)
        self.owner.stats.sent += 1

    def data_received(self, data: bytes) -> None:
        try:
            frames = self.framer.feed(data)
        except SipParseError as e:
            self.owner.stats.count_malformed(e)
            self.transport.close()           # framing is lost; the peer must reconnect
            return
        for frame in frames:
            self.owner.stats.received += 1
            try:
                msg = parse(frame, stream=True)
            except SipParseError as e:
                self.owner.stats.count_malformed(e)
                continue
            msg.size = len(frame)
            self.owner.deliver(msg, self)

    def connection_lost(self, exc) -> None:
        self.owner.connection_closed(self)
        if not self.closed.done():
            self.closed.set_result(None)


@dataclass
class TransportLimits:
    max_connections: int = 4096
    max_connections_per_source: int = 256
    max_transactions: int = 20000           # server transactions kept at once (each lingers up to 32 s)


class SipTransports:
    """Every socket of one SIP endpoint. `on_message(msg, flow)` gets each parsed message;
    `on_error(peer, err)` hears when a peer turned out unreachable (ICMP, refused, closed)."""

    def __init__(self, on_message: MessageHandler, on_error: ErrorHandler,
                 dscp: int = DEFAULT_SIGNALLING_DSCP, tls_client: ssl.SSLContext | None = None,
                 tls_server: ssl.SSLContext | None = None, limits: TransportLimits | None = None):
        self.deliver = on_message
        self.fail_peer = on_error
        self.dscp = dscp
        self.tls_client = tls_client
        self.tls_server = tls_server
        self.limits = limits or TransportLimits()
        self.stats = TransportStats()
        self._udp: dict[int, UdpSocket] = {}          # one per address family
        self._servers: list[asyncio.AbstractServer] = []
        self._conns: dict[Peer, _StreamConnection] = {}
        self._per_source: dict[str, int] = {}
        self._connecting: dict[Peer, asyncio.Future] = {}
        self.listening: dict[str, tuple[str, int]] = {}

    # --- sockets -----------------------------------------------------------------------------------
    async def listen(self, kind: str, host: str, port: int) -> tuple[str, int]:
        """Open a UDP socket or a TCP/TLS server on host:port (0 = any). Returns the bound address.
        A port in use raises ReadinessError naming it."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM)
        try:
            if kind != "udp":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            set_dscp(sock, self.dscp)
            sock.bind((host, port))
        except OSError as e:
            sock.close()
            if e.errno == errno.EADDRINUSE:
                raise ReadinessError(f"SIP {kind.upper()} port {host}:{port} is already in use") from None
            raise ReadinessError(f"cannot open SIP {kind.upper()} on {host}:{port}: {e.strerror}") from None
        sock.setblocking(False)
        loop = asyncio.get_running_loop()
        bound = sock.getsockname()[:2]
        if kind == "udp":
            self._udp[family] = UdpSocket(sock, self.stats, self.deliver, self.fail_peer)
        else:
            if kind == "tls" and self.tls_server is None:
                sock.close()
                raise ReadinessError("SIP over TLS needs a certificate and key to listen with")
            sock.listen(512)
            tls = {"ssl": self.tls_server, "ssl_handshake_timeout": CONNECT_TIMEOUT_S} if kind == "tls" else {}
            server = await loop.create_server(lambda: _StreamConnection(self, kind), sock=sock, **tls)
            self._servers.append(server)
        self.listening.setdefault(kind, bound)
        return bound

    async def flow_to(self, peer: Peer, server_name: str | None = None,
                      timeout: float = CONNECT_TIMEOUT_S) -> Flow:
        """A flow to `peer` (numeric address): the UDP socket, or an open or new TCP/TLS connection."""
        if peer.transport == "udp":
            family = socket.AF_INET6 if ":" in peer.host else socket.AF_INET
            if family not in self._udp:
                await self.listen("udp", "::" if family == socket.AF_INET6 else "0.0.0.0", 0)
            return UdpFlow(self._udp[family], (peer.host, peer.port))
        conn = self._conns.get(peer)
        if conn is not None:
            return conn
        pending = self._connecting.get(peer)
        if pending is None:
            pending = asyncio.ensure_future(self._connect(peer, server_name, timeout))
            self._connecting[peer] = pending
            pending.add_done_callback(lambda _f: self._connecting.pop(peer, None))
        return await asyncio.shield(pending)

    async def _connect(self, peer: Peer, server_name: str | None, timeout: float) -> "_StreamConnection":
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in peer.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        set_dscp(sock, self.dscp)           # before connect, so the SYN is marked too
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        where = f"{peer.host}:{peer.port}"
        try:
            await asyncio.wait_for(loop.sock_connect(sock, (peer.host, peer.port)), timeout)
            ctx = None
            if peer.transport == "tls":
                ctx = self.tls_client or ssl.create_default_context()
            _, conn = await asyncio.wait_for(loop.create_connection(
                lambda: _StreamConnection(self, peer.transport), sock=sock, ssl=ctx,
                server_hostname=(server_name or peer.host) if ctx else None), timeout)
        except asyncio.TimeoutError:
            sock.close()
            raise TransportError("timeout", f"{peer.transport.upper()} connection to {where} timed out") from None
        except ssl.SSLError as e:
            sock.close()
            raise TransportError("tls", f"TLS with {where} failed: {e.reason or e}") from None
        except ConnectionRefusedError:
            sock.close()
            raise TransportError("refused", f"{where} refused the {peer.transport.upper()} connection") from None
        except OSError as e:
            sock.close()
            raise TransportError("unreachable", f"cannot connect to {where}: {e.strerror or e}") from None
        self._conns[peer] = conn       # keyed by the address we dialled (peername may be v4-mapped)
        return conn

    def connection_opened(self, conn: _StreamConnection) -> None:
        src = conn.peer.host
        count = self._per_source.get(src, 0)
        if count >= self.limits.max_connections_per_source or len(self._conns) >= self.limits.max_connections:
            self.stats.connections_refused_by_limit += 1
            conn.transport.close()
            return
        self._per_source[src] = count + 1
        conn.counted = True
        sock = conn.transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                set_dscp(sock, self.dscp)
                # Nagle would hold a 180 behind the unacknowledged 100 for a delayed-ACK time (40 ms
                # on Linux) and spoil post-dial delay; asyncio does not set it for TLS connections.
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._conns.setdefault(conn.peer, conn)

    def connection_closed(self, conn: _StreamConnection) -> None:
        src = conn.peer.host
        if conn.counted and src in self._per_source:
            self._per_source[src] -= 1
            if self._per_source[src] <= 0:
                del self._per_source[src]
        for key in [k for k, v in self._conns.items() if v is conn]:
            del self._conns[key]
            self.fail_peer(key, TransportError("closed", f"{key.transport.upper()} connection to "
                                                         f"{key.host}:{key.port} closed"))

    def local_address(self, kind: str) -> tuple[str, int] | None:
        return self.listening.get(kind)

    async def close(self) -> None:
        for server in self._servers:
            server.close()
        for conn in list(self._conns.values()):
            if conn.transport is not None:
                conn.transport.close()
        for udp in self._udp.values():
            udp.close()
        for server in self._servers:
            with contextlib.suppress(asyncio.TimeoutError, Exception):
                await asyncio.wait_for(server.wait_closed(), 2.0)
        self._servers.clear()


__all__ = ["Flow", "Peer", "SipTransports", "TransportError", "TransportStats", "TransportLimits", "resolve",
           "local_address_for", "set_dscp", "DEFAULT_SIGNALLING_DSCP", "MAX_MESSAGE_BYTES"]
