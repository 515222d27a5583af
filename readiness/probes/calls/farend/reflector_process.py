"""The reflector's socket served by a process of its own, so the responder's SIP never delays a reply.

In one process the reflector thread shares the interpreter lock with SIP: parsing, dialogs and above
all the garbage collector's full passes (50-120 ms at 1,000-2,000 calls, measured) hold it, and the
replies of every call wait that long, then leave in a burst no phone sends. Here the responder keeps
SIP and the SRTP legs (a thread, as before); a child process (`python -m` this module) inherits the
bound socket and runs the same `Reflector` loop on it (C when built), with a lock of its own.

The key reaches the child on its standard input, never in its arguments; the child ends when its
standard input closes (the responder stopping, or dying), and reports its counters on standard
output a few times a second.
"""

from __future__ import annotations

import dataclasses
import json
import signal
import socket
import subprocess
import sys
import threading

from .reflector import Reflector, ReflectorLimits, ReflectorStats
from ..wire.srtp import CryptoAttribute

REPORT_S = 0.25
START_TIMEOUT_S = 15.0


class SeparateReflector:
    """The `Reflector` interface (port, start, stop, stats, open_srtp, close_srtp) with the main socket
    served by a child process."""

    def __init__(self, host: str, port: int, key: bytes, limits: ReflectorLimits | None = None):
        self.limits = limits or ReflectorLimits()
        self._key = key
        self.legs = Reflector(host, port, key, self.limits, serve_main=False)
        self._proc: subprocess.Popen | None = None
        self._reader: threading.Thread | None = None
        self._latest = ReflectorStats()
        self._ready = threading.Event()
        self._stopping = False

    @property
    def port(self) -> int:
        return self.legs.port

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def alive(self) -> bool:
        """False once the child has ended (a crash, or killed): nothing answers media any more."""
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> "SeparateReflector":
        self.legs.start()
        fd = self.legs.sock.fileno()
        self._proc = subprocess.Popen([sys.executable, "-m", __name__], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      pass_fds=(fd,), text=True, bufsize=1)
        assert self._proc.stdin is not None
        self._proc.stdin.write(json.dumps({"fd": fd, "host": self.legs.address[0], "key": self._key.hex(),
                                           "limits": dataclasses.asdict(self.limits)}) + "\n")
        self._proc.stdin.flush()
        self._reader = threading.Thread(target=self._read, name="reflector-stats", daemon=True)
        self._reader.start()
        if not self._ready.wait(START_TIMEOUT_S):
            self.stop()
            raise RuntimeError("the reflector process did not start")
        return self

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            try:
                self._latest = ReflectorStats(**json.loads(line))
            except (ValueError, TypeError):
                continue
            self._ready.set()
        if not self._stopping:
            print("readiness responder: the media reflector process ended: calls are refused (503) from now on",
                  file=sys.stderr, flush=True)

    def stats(self) -> ReflectorStats:
        """The child's counters (at most REPORT_S old) plus the SRTP legs'."""
        a, b = self._latest, self.legs.stats()
        by_source = dict(a.by_source)
        for source, n in b.by_source.items():
            by_source[source] = by_source.get(source, 0) + n
        return ReflectorStats(a.reflected + b.reflected, a.unauthenticated + b.unauthenticated,
                              a.over_limit + b.over_limit, a.fins + b.fins, a.sessions_active + b.sessions_active,
                              a.sessions_total + b.sessions_total, by_source, b.srtp_calls, b.srtp_auth_failed,
                              b.srtp_replayed)

    def open_srtp(self, send: CryptoAttribute, receive: CryptoAttribute) -> int:
        return self.legs.open_srtp(send, receive)

    def close_srtp(self, port: int) -> None:
        self.legs.close_srtp(port)

    def stop(self) -> None:
        self._stopping = True
        proc = self._proc
        if proc is not None:
            try:
                if proc.stdin is not None:
                    proc.stdin.close()          # the child's signal to stop
                proc.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                proc.kill()
                proc.wait()
            if self._reader is not None:
                self._reader.join(2)
            if proc.stdout is not None:
                proc.stdout.close()
            self._proc = None
        self.legs.stop()


def _child() -> None:
    # Ctrl-C reaches the whole process group: the responder decides when media stops (it hangs up first)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    cfg = json.loads(sys.stdin.readline())
    sock = socket.socket(fileno=cfg["fd"])
    r = Reflector(cfg["host"], 0, bytes.fromhex(cfg["key"]), ReflectorLimits(**cfg["limits"]), sock=sock)
    done = threading.Event()

    def watch_stdin() -> None:
        sys.stdin.read()                      # until the responder closes it
        done.set()
        r.halt()

    def report() -> None:
        while True:
            sys.stdout.write(json.dumps(dataclasses.asdict(r.stats())) + "\n")
            sys.stdout.flush()
            if done.wait(REPORT_S):
                return

    threading.Thread(target=watch_stdin, daemon=True).start()
    reporter = threading.Thread(target=report, daemon=True)
    reporter.start()
    try:
        r.serve()
    finally:
        done.set()
        reporter.join(1)
        r.stop()


if __name__ == "__main__":
    try:
        _child()
    except BrokenPipeError:                   # the responder went away first
        pass
