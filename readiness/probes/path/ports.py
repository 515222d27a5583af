"""Do the ports voice needs pass the firewalls, both ways? RTP: a sample of the provider's media port
range, each probed from a port of the site's own RTP range, against a readiness responder that opens
them for the test (wire/port_probe.py) and reports which probes arrived. SIP over TCP and TLS: a TCP
connection to the SBC's signalling ports (any SBC)."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from dataclasses import dataclass, field

from ..calls.sip import SipConfig, UserAgent
from ..calls.sip.flow import TransportError
from ..calls.sip.transport import resolve
from ..calls.sip.uri import SipUri
from ..calls.wire import calltoken, port_probe

TRIES, WAIT_S = 3, 0.5
CONNECT_TIMEOUT_S = 3.0


@dataclass
class PortsResult:
    target: str
    ports: list[dict] = field(default_factory=list)      # port, transport, local_port, open_up, open_down
    error: str = ""

    def closed(self) -> list[dict]:
        return [p for p in self.ports if p["open_up"] is False or p["open_down"] is False]

    def to_json(self) -> list[dict]:
        """The run document's `ports`: one row per port (port, transport, open_up, open_down, ...); a
        check that could not run at all is one row saying why."""
        if not self.ports and self.error:
            return [{"port": None, "transport": "udp", "local_port": None, "open_up": None, "open_down": None,
                     "note": self.error, "target": self.target}]
        return [dict(p, target=self.target) for p in self.ports]


def sample(first: int, last: int, count: int) -> list[int]:
    """`count` even ports spread over [first, last] (RTP takes even ports, RFC 3550 11), ends included."""
    if last <= first or count <= 1:
        return [first - first % 2]
    step = (last - first) / (count - 1)
    return sorted({int(first + i * step) // 2 * 2 for i in range(count)})


async def _ask(ua: UserAgent, target: str, key: bytes, header: str, value: str, answer: str) -> str:
    r = await ua.options(target, {calltoken.HEADER: calltoken.make(key), header: value})
    if not r.ok or r.response is None:
        raise TransportError("refused", f"{r.status} {r.reason}" if r.status else (r.detail or r.cause))
    return r.response.headers.get(answer) or ""


async def _probe(host: str, port: int, local_port: int, key: bytes) -> tuple[bool, int]:
    """(answered, local port used): from `local_port` when free, else any."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
    try:
        try:
            sock.bind(("", local_port))
        except OSError:
            sock.bind(("", 0))
        sock.setblocking(False)
        sock.connect((host, port))
        nonce = os.urandom(8)
        loop = asyncio.get_running_loop()
        for _ in range(TRIES):
            try:
                sock.send(port_probe.probe(key, nonce, port))
                deadline = time.monotonic() + WAIT_S
                while (left := deadline - time.monotonic()) > 0:
                    data = await asyncio.wait_for(loop.sock_recv(sock, 64), left)
                    if port_probe.check(key, data, port, port_probe.ANSWER) == nonce:
                        return True, sock.getsockname()[1]
            except (asyncio.TimeoutError, OSError):
                continue
        return False, sock.getsockname()[1]
    finally:
        sock.close()


async def rtp_ports(target: str, key: bytes, far_ports: list[int], local_ports: list[int],
                    dscp: int = 24) -> PortsResult:
    out = PortsResult(target)
    uri = SipUri.parse(target)
    ua = UserAgent(SipConfig(transport="udp", dscp=dscp))
    try:
        try:
            await ua.start()
            _, host = await resolve(uri.host, uri.port or 5060)
            opened = await _ask(ua, target, key, port_probe.OPEN, ",".join(map(str, far_ports)), port_probe.OPEN)
        except (OSError, TransportError) as e:
            out.error = f"the far end did not open ports: {e}"
            return out
        sid, _, listed = opened.partition(" ")
        if not listed or sid == "busy":
            out.error = ("the far end is busy with other port tests" if sid == "busy" else
                         "the far end did not open ports (a readiness responder with the same key does)")
            return out
        ports = port_probe.parse_ports(listed)
        locals_ = (local_ports * (len(ports) // max(len(local_ports), 1) + 1))[:len(ports)] or [0] * len(ports)
        answers = await asyncio.gather(*(_probe(host, p, lp, key) for p, lp in zip(ports, locals_)))
        try:
            seen = set(port_probe.parse_ports(await _ask(ua, target, key, port_probe.REPORT, sid, port_probe.SEEN)))
            known = True
        except TransportError:
            seen, known = set(), False
        for port in far_ports:
            if port not in ports:
                out.ports.append({"port": port, "transport": "udp", "local_port": None, "open_up": None,
                                  "open_down": None, "note": "the far end could not open it (in use there)"})
                continue
            answered, local = answers[ports.index(port)]
            up = (port in seen) if known else (True if answered else None)
            out.ports.append({"port": port, "transport": "udp", "local_port": local, "open_up": up,
                              "open_down": answered if up or answered else None})
        return out
    finally:
        await ua.close()


async def tcp_ports(host: str, ports: list[tuple[str, int]]) -> list[dict]:
    """SIP over TCP/TLS: does a TCP connection to each port come up?"""
    async def one(transport: str, port: int) -> dict:
        row = {"port": port, "transport": transport, "local_port": None, "open_up": False, "open_down": None}
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), CONNECT_TIMEOUT_S)
            row["open_up"] = row["open_down"] = True      # the SYN went out and the SYN-ACK came back
            writer.close()
        except (OSError, asyncio.TimeoutError) as e:
            row["note"] = ("refused" if isinstance(e, ConnectionRefusedError) else
                           f"no answer within {CONNECT_TIMEOUT_S:g} s" if isinstance(e, asyncio.TimeoutError)
                           else str(e))
        return row
    return list(await asyncio.gather(*(one(t, p) for t, p in ports)))
