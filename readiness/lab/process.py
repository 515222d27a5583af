"""Starting, awaiting and stopping the lab's server processes (iperf3, the responder, SNMP agents).

Each runs in its own session, so the terminal's Ctrl-C reaches readiness, which then stops them
itself: terminate all first (they stop in parallel), then wait for each, and kill what does not stop.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from pathlib import Path
from typing import Callable, Iterator, Sequence

from ..errors import ReadinessError


def start(argv: Sequence[str], log: Path, **popen: object) -> subprocess.Popen:
    """`argv` in its own session, its output appended to `log` (unless `popen` says otherwise)."""
    with open(log, "a") as out:
        kw = {"stdout": out, "stderr": subprocess.STDOUT, **popen}
        return subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, start_new_session=True, **kw)


def wait_ready(proc: subprocess.Popen, what: str, ready: Callable[[], bool], timeout: float, log: Path,
               poll_s: float = 0.05) -> None:
    """Until `ready()`; a clear error when the process exits first (with its last log line) or
    `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None:
            lines = log.read_text(errors="replace").strip().splitlines() if log.exists() else []
            raise ReadinessError(f"{what} exited: {lines[-1] if lines else 'no output'}")
        if time.monotonic() > deadline:
            raise ReadinessError(f"{what} did not start within {timeout:g} s")
        time.sleep(poll_s)


def stop(procs: Sequence[subprocess.Popen], wait_s: float = 5.0) -> None:
    """SIGTERM to all, then wait up to `wait_s` for each; SIGKILL what is still there."""
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(wait_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def running(argv: Sequence[str], what: str, ready: Callable[[], bool], log: Path, timeout: float,
            stop_wait_s: float = 5.0) -> Iterator[subprocess.Popen]:
    """One server process, started and awaited; stopped when the block ends, however it ends."""
    proc = start(argv, log)
    try:
        wait_ready(proc, what, ready, timeout, log)
        yield proc
    finally:
        stop([proc], stop_wait_s)
