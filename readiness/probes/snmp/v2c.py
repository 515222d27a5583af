"""SNMPv2c over UDP without pysnmp's engine: one socket per address family for every device of a poll,
answers matched to requests by request-id, a timeout per try and retries.

A retry sends the same message again (same request-id, as net-snmp and pysnmp do), so a late answer to
an earlier try still completes the request. An answer that cannot be decoded but whose request-id can be
read fails its request at once, saying why, instead of leaving it to time out.
"""

from __future__ import annotations

import asyncio
import random
import socket
from dataclasses import dataclass, field
from typing import Callable

from . import ber

RECEIVE_BUFFER = 1 << 20     # bursts of answers from many agents at once must not overflow the socket


class NoAnswer(Exception):
    """No answer within timeout x tries."""


@dataclass
class _Pending:
    future: asyncio.Future
    community: bytes = field(repr=False)


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, pending: dict[int, _Pending]):
        self.pending = pending

    def datagram_received(self, data: bytes, addr) -> None:
        try:
            response = ber.decode_response(data)
        except ber.BerError as e:
            entry = self.pending.get(ber.request_id_of(data))   # type: ignore[arg-type]
            if entry is not None and not entry.future.done():
                entry.future.set_exception(e)
            return
        entry = self.pending.get(response.request_id)
        # the community must match too: the id alone could be a stray answer meant for an earlier socket
        if entry is not None and entry.community == response.community and not entry.future.done():
            entry.future.set_result(response)

    def error_received(self, exc: Exception) -> None:
        pass    # ICMP errors on an unconnected socket name no request: the request times out


class Channel:
    """The UDP sockets of one poll. Use as `async with Channel() as ch`; safe to share between sessions."""

    def __init__(self) -> None:
        self._pending: dict[int, _Pending] = {}
        self._transports: dict[int, asyncio.DatagramTransport] = {}
        self._ids = random.randrange(1, 1 << 30)      # RFC 3416 request-id: Integer32; stay positive

    async def __aenter__(self) -> "Channel":
        return self

    async def __aexit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for t in self._transports.values():
            t.close()
        self._transports.clear()
        for entry in self._pending.values():
            if not entry.future.done():
                entry.future.cancel()

    async def _transport(self, family: int) -> asyncio.DatagramTransport:
        t = self._transports.get(family)
        if t is None or t.is_closing():
            sock = socket.socket(family, socket.SOCK_DGRAM)
            sock.setblocking(False)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
            except OSError:
                pass    # the kernel's cap applies; answers lost to a full buffer are retried
            sock.bind(("::", 0) if family == socket.AF_INET6 else ("0.0.0.0", 0))
            t, _ = await asyncio.get_running_loop().create_datagram_endpoint(
                lambda: _Protocol(self._pending), sock=sock)
            self._transports[family] = t
        return t

    def _next_id(self) -> int:
        self._ids = self._ids % ((1 << 31) - 1) + 1
        while self._ids in self._pending:
            self._ids = self._ids % ((1 << 31) - 1) + 1
        return self._ids

    async def request(self, family: int, address: tuple, community: bytes, message: Callable[[int], bytes],
                      timeout_s: float, retries: int) -> ber.V2cResponse:
        """Send message(request_id) to `address` until an answer comes, at most retries + 1 times.
        Raises NoAnswer, or ber.BerError for an answer that is not well-formed."""
        transport = await self._transport(family)
        rid = self._next_id()
        data = message(rid)
        future = asyncio.get_running_loop().create_future()
        self._pending[rid] = _Pending(future, community)
        try:
            for _ in range(retries + 1):
                transport.sendto(data, address)
                try:
                    async with asyncio.timeout(timeout_s):
                        return await asyncio.shield(future)
                except TimeoutError:
                    continue
            raise NoAnswer()
        finally:
            del self._pending[rid]
            if not future.done():
                future.cancel()
