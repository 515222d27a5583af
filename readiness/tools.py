"""External programs (iperf3, tshark, dumpcap, snmpd, snmpsim, our own media engine): the one place
that finds them, runs them and stops them.

* Finding: `require(tool)` is the tool's path, or `ToolMissing` with one line that says how to
  install it; `require_modules(...)` the same for a Python package that runs as a tool (snmpsim).
* One run to completion: `await run(argv, timeout)` (or `run_sync` for a synchronous caller) returns
  its exit status and output. It runs in its own session; on timeout, cancellation or Ctrl-C its
  whole process group is killed and reaped.
* A long-running one (a lab server, the media engine): `start()` / `wait_ready()` / `stop()` on a
  `subprocess.Popen`, or `running()` for all three around a block. Under asyncio, with its stderr
  read line by line (dumpcap): `await start_async()` / `await stop_async()`.

Started in its own session, a program does not get the terminal's Ctrl-C: readiness gets it and
stops the program itself, so a capture file is closed cleanly and nothing is left running.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

from .errors import ReadinessError, ToolMissing

__all__ = ["ToolMissing", "ToolTimeout", "ToolFailed", "Completed", "require", "require_modules", "run",
           "run_sync", "start", "wait_ready", "stop", "reap", "running", "start_async", "stop_async"]

# How to install each tool, for the one-line error. Debian package by program name.
APT_PACKAGES = {"iperf3": "iperf3", "tshark": "tshark", "dumpcap": "tshark", "capinfos": "tshark",
                "editcap": "tshark", "snmpbulkwalk": "snmp", "snmpget": "snmp", "snmpd": "snmpd",
                "baresip": "baresip-core", "kamailio": "kamailio", "irtt": "irtt"}
# pip distribution by importable module, for Python packages that run as tools
PIP_PACKAGES = {"snmpsim": "snmpsim", "pysmi": "pysmi"}

STOP_WAIT_S = 5.0       # how long a stopped program may take to exit before it is killed


class ToolTimeout(ReadinessError):
    """A program did not finish within its time; it was killed."""


class ToolFailed(ReadinessError):
    """A program finished with a non-zero exit status (see `Completed.check`)."""


def require(tool: str) -> str:
    """The path of program `tool` on PATH; `ToolMissing` (one line: how to install it) if it is not there."""
    path = shutil.which(tool)
    if path is None:
        raise ToolMissing(f"{tool} is not installed (Debian/Ubuntu: apt-get install {APT_PACKAGES.get(tool, tool)})")
    return path


def require_modules(*modules: str) -> None:
    """Each Python module importable; `ToolMissing` (one line) naming the first that is not."""
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            raise ToolMissing(f"{name} is not installed (pip install {PIP_PACKAGES.get(name, name)})") from None


# --- one run to completion -------------------------------------------------------------------------

@dataclass(frozen=True)
class Completed:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    def check(self) -> "Completed":
        """Itself if the exit status is 0; else `ToolFailed` with the last line of stderr."""
        if self.returncode != 0:
            lines = self.stderr.strip().splitlines()
            raise ToolFailed(f"{_name(self.argv)} exited with {self.returncode}: "
                             f"{lines[-1] if lines else 'no message'}")
        return self


def _name(argv: Sequence[str]) -> str:
    return os.path.basename(argv[0])


def _timed_out(argv: Sequence[str], timeout: float) -> ToolTimeout:
    return ToolTimeout(f"{_name(argv)} did not finish within {timeout:g} s")


async def run(argv: Sequence[str], timeout: float, env: dict[str, str] | None = None) -> Completed:
    """Run `argv` to completion (stdin empty, output captured); on timeout `ToolTimeout`. On timeout or
    cancellation its process group is killed and reaped."""
    proc = await start_async(argv, stdout=asyncio.subprocess.PIPE, env=env)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except asyncio.TimeoutError:
        await stop_async(proc)
        raise _timed_out(argv, timeout) from None
    except BaseException:
        await stop_async(proc)
        raise
    return Completed(tuple(argv), proc.returncode or 0, out.decode(errors="replace"), err.decode(errors="replace"))


def run_sync(argv: Sequence[str], timeout: float, env: dict[str, str] | None = None) -> Completed:
    """`run` for a synchronous caller: the same guarantees, also on Ctrl-C."""
    proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True, env=env)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise _timed_out(argv, timeout) from None
    except BaseException:
        _kill_group(proc)
        raise
    return Completed(tuple(argv), proc.returncode, out.decode(errors="replace"), err.decode(errors="replace"))


def _kill_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()


# --- long-running, synchronous (lab servers, the media engine) --------------------------------------

def start(argv: Sequence[str], log: Path | None = None, own_session: bool = True, **popen: object) -> subprocess.Popen:
    """`argv` with stdin empty; its output appended to `log` (unless `popen` says otherwise; no log: the
    output is ours). In its own session unless `own_session` is False (then the terminal's Ctrl-C
    reaches it too)."""
    kw: dict[str, object] = {"stdin": subprocess.DEVNULL, "start_new_session": own_session}
    if log is None:
        return subprocess.Popen(list(argv), **{**kw, **popen})
    with open(log, "a") as out:
        return subprocess.Popen(list(argv), **{**kw, "stdout": out, "stderr": subprocess.STDOUT, **popen})


def wait_ready(proc: subprocess.Popen, what: str, ready: Callable[[], bool], timeout: float, log: Path | None,
               poll_s: float = 0.05) -> None:
    """Until `ready()`; `ReadinessError` when the process exits first (with its last log line) or
    `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None:
            lines = log.read_text(errors="replace").strip().splitlines() if log and log.exists() else []
            raise ReadinessError(f"{what} exited: {lines[-1] if lines else 'no output'}")
        if time.monotonic() > deadline:
            raise ReadinessError(f"{what} did not start within {timeout:g} s")
        time.sleep(poll_s)


def stop(procs: Sequence[subprocess.Popen], wait_s: float = STOP_WAIT_S) -> None:
    """SIGTERM to all (they stop in parallel), then `reap` each."""
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        reap(proc, wait_s)


def reap(proc: subprocess.Popen, wait_s: float = STOP_WAIT_S) -> None:
    """Wait up to `wait_s` for `proc` to exit (it was asked to); SIGKILL it if it has not."""
    try:
        proc.wait(wait_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def running(argv: Sequence[str], what: str, ready: Callable[[], bool], log: Path, timeout: float,
            stop_wait_s: float = STOP_WAIT_S) -> Iterator[subprocess.Popen]:
    """One server process, started and awaited; stopped when the block ends, however it ends."""
    proc = start(argv, log)
    try:
        wait_ready(proc, what, ready, timeout, log)
        yield proc
    finally:
        stop([proc], stop_wait_s)


# --- long-running, under asyncio (dumpcap) ----------------------------------------------------------

async def start_async(argv: Sequence[str], stdout: int = asyncio.subprocess.DEVNULL,
                      env: dict[str, str] | None = None) -> asyncio.subprocess.Process:
    """`argv` in its own session, stdin empty, stderr a pipe to read; stdout as given."""
    return await asyncio.create_subprocess_exec(*argv, stdin=asyncio.subprocess.DEVNULL, stdout=stdout,
                                                stderr=asyncio.subprocess.PIPE, start_new_session=True, env=env)


async def stop_async(proc: asyncio.subprocess.Process, grace: float = 2.0) -> None:
    """SIGTERM to its process group, then SIGKILL after `grace` seconds; reaped. Cancelled while
    waiting, it kills the group at once (the event loop's child watcher reaps it) and re-raises."""
    if proc.returncode is not None:
        return
    try:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                await asyncio.wait_for(proc.wait(), grace)
                return
            except asyncio.TimeoutError:
                continue
    except BaseException:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        raise
