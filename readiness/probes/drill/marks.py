"""Marks of a running drill ("primary pulled", "restored"): Enter on the drill's terminal, or
`readiness drill --mark TEXT` from another shell, which reaches the drill through a local socket.

The socket is a UNIX datagram socket of the user running the drill (mode 0600, in
$XDG_RUNTIME_DIR or the temporary folder): not on any network. Each mark gets one reply, "ok",
shorter than any mark.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

MAX_MARK = 200                       # characters of a mark's text


@dataclass(frozen=True)
class Mark:
    t: float                         # epoch seconds (our clock)
    text: str
    source: str                      # enter | command


def socket_path() -> Path:
    base = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    return Path(base) / f"readiness-drill-{os.getuid()}.sock"


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, marks: "MarkBoard"):
        self.marks = marks
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        text = data.decode("utf-8", "replace").strip()[:MAX_MARK]
        if text:                                     # empty: is a drill listening? (answered only)
            self.marks.add(text, "command")
        if addr and self.transport is not None:
            with contextlib.suppress(OSError):
                self.transport.sendto(b"ok", addr)


class MarkBoard:
    """Collects the marks while a drill runs: `async with MarkBoard() as board: ... board.marks`."""

    def __init__(self, path: Path | None = None, stdin: bool = True):
        self.path = path or socket_path()
        self.marks: list[Mark] = []
        self._transport: asyncio.BaseTransport | None = None
        self._stdin = stdin and sys.stdin is not None and sys.stdin.isatty()
        self.listening = False
        self.problem = ""

    def add(self, text: str, source: str) -> None:
        self.marks.append(Mark(time.time(), text, source))

    async def __aenter__(self) -> "MarkBoard":
        loop = asyncio.get_running_loop()
        if self.path.exists() and _alive(self.path):
            self.problem = f"another drill is running (it listens on {self.path}): --mark reaches that one"
        else:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            try:
                old = os.umask(0o177)
                try:
                    self._transport, _ = await loop.create_datagram_endpoint(
                        lambda: _Protocol(self), local_addr=str(self.path), family=socket.AF_UNIX)
                finally:
                    os.umask(old)
                self.listening = True
            except OSError as e:
                self.problem = f"marks from another shell are off: cannot listen on {self.path}: {e.strerror or e}"
        if self._stdin:
            loop.add_reader(sys.stdin.fileno(), self._line)
        return self

    def _line(self) -> None:
        line = sys.stdin.readline()
        if line == "":                               # end of input: no more marks from here
            asyncio.get_running_loop().remove_reader(sys.stdin.fileno())
            return
        self.add(line.strip()[:MAX_MARK] or f"mark {len(self.marks) + 1}", "enter")

    async def __aexit__(self, *exc) -> None:
        if self._stdin:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(sys.stdin.fileno())
        if self._transport is not None:
            self._transport.close()
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()


def _alive(path: Path) -> bool:
    return send(b"", path, timeout=0.3)


def send(text: bytes, path: Path, timeout: float = 2.0) -> bool:
    """Give a running drill a mark; True when it answered."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        reply = Path(tempfile.gettempdir()) / f"readiness-mark-{os.getpid()}-{time.monotonic_ns()}.sock"
        try:
            s.bind(str(reply))
            s.settimeout(timeout)
            s.sendto(text[:MAX_MARK * 4], str(path))
            return s.recv(16) == b"ok"
        except OSError:
            return False
        finally:
            with contextlib.suppress(FileNotFoundError):
                reply.unlink()
