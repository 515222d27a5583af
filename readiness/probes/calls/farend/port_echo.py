"""The responder's side of the port test (wire/port_probe.py): a few UDP ports opened on request of a
token holder, each answering authentic probes with a datagram of the same size, a few times at most, closed after
OPEN_FOR_S or when the caller asks which probes arrived. Bounded: ports per request, sessions per
source and ports open in total."""

from __future__ import annotations

import asyncio
import os
import socket
from dataclasses import dataclass, field

from ..sip.flow import Flow
from ..sip.message import Request
from ..wire import port_probe


@dataclass(frozen=True)
class PortEchoLimits:
    sessions_per_source: int = 2
    ports_total: int = 256


@dataclass
class _Session:
    source: str
    sockets: dict[int, socket.socket] = field(default_factory=dict)
    seen: set[int] = field(default_factory=set)
    answers: dict[int, int] = field(default_factory=dict)
    closer: asyncio.TimerHandle | None = None


class PortEcho:
    def __init__(self, key: bytes, host: str, limits: PortEchoLimits | None = None):
        self.key, self.host = key, host
        self.limits = limits or PortEchoLimits()
        self._sessions: dict[str, _Session] = {}

    def requested(self, req: Request, flow: Flow) -> list[tuple[str, str]] | None:
        """Endpoint.on_options: open ports, or report and close a session."""
        report = req.headers.get(port_probe.REPORT)
        if report is not None:
            session = self._sessions.get(report.strip())
            if session is None or session.source != flow.peer.host:
                return [(port_probe.SEEN, "unknown")]
            seen = ",".join(str(p) for p in sorted(session.seen))
            self._close(report.strip())
            return [(port_probe.SEEN, seen)]
        wanted = port_probe.parse_ports(req.headers.get(port_probe.OPEN))
        if not wanted:
            return None
        mine = sum(1 for s in self._sessions.values() if s.source == flow.peer.host)
        open_now = sum(len(s.sockets) for s in self._sessions.values())
        if mine >= self.limits.sessions_per_source or open_now + len(wanted) > self.limits.ports_total:
            return [(port_probe.OPEN, "busy")]
        sid = os.urandom(6).hex()
        session = _Session(flow.peer.host)
        loop = asyncio.get_running_loop()
        for port in wanted:
            sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_DGRAM)
            try:
                sock.bind((self.host, port))
            except OSError:                    # in use here: not opened, so not reported as open
                sock.close()
                continue
            sock.setblocking(False)
            session.sockets[port] = sock
            loop.add_reader(sock.fileno(), self._read, session, port, sock)
        self._sessions[sid] = session
        session.closer = loop.call_later(port_probe.OPEN_FOR_S, self._close, sid)
        return [(port_probe.OPEN, f"{sid} {','.join(str(p) for p in session.sockets)}")]

    def _read(self, session: _Session, port: int, sock: socket.socket) -> None:
        try:
            data, addr = sock.recvfrom(64)
        except OSError:
            return
        nonce = port_probe.check(self.key, data, port)
        if nonce is None or session.answers.get(port, 0) >= port_probe.ANSWERS_PER_PORT:   # never a reflector
            return
        session.seen.add(port)
        session.answers[port] = session.answers.get(port, 0) + 1
        try:
            sock.sendto(port_probe.probe(self.key, nonce, port, port_probe.ANSWER), addr)
        except OSError:
            pass

    def _close(self, sid: str) -> None:
        session = self._sessions.pop(sid, None)
        if session is None:
            return
        if session.closer is not None:
            session.closer.cancel()
        loop = asyncio.get_running_loop()
        for sock in session.sockets.values():
            loop.remove_reader(sock.fileno())
            sock.close()

    def close(self) -> None:
        for sid in list(self._sessions):
            self._close(sid)
