"""Live capture to a pcapng file with dumpcap, the capture engine tshark itself runs.

Recording needs no dissection, so the packets go straight to disk (pyshark would dissect every
packet through tshark, about 700 packets/s with pyshark 0.6, and fall behind at voice rates); the
file is analysed afterwards by analyze.py in one fast pass. dumpcap runs in its own session so the terminal's Ctrl-C
reaches us, not it: we stop it with SIGTERM (it then closes the file cleanly), and it is always
reaped, also when the caller is cancelled.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from ... import tools
from ...errors import ReadinessError

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0
BUFFER_MB = 32                 # kernel capture buffer: 100 calls of G.711 are ~5,000 packets/s
_STATS = re.compile(r"Packets received/dropped on interface '.*': (\d+)/(\d+)")


class CaptureError(ReadinessError):
    pass


@dataclass
class Recording:
    path: Path
    interface: str
    bpf: str | None
    started: float = 0.0                # epoch seconds
    stopped: float = 0.0
    received: int | None = None         # dumpcap's counts at the end
    dropped: int | None = None
    stderr: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        if self.dropped:
            return [f"the capture dropped {self.dropped} of {self.received} packets on {self.interface}: "
                    f"loss figures from it overstate the network's loss"]
        return []


class LiveCapture:
    """`async with LiveCapture(...) as rec:` records until the block ends (or `duration_s` passes)."""

    def __init__(self, interface: str, path: Path, bpf: str | None = None, duration_s: float | None = None,
                 snaplen: int | None = None):
        self.rec = Recording(Path(path), interface, bpf or None)
        self.duration_s = duration_s
        self.snaplen = snaplen
        self._proc: asyncio.subprocess.Process | None = None
        self._drain: asyncio.Task | None = None

    def argv(self) -> list[str]:
        argv = [tools.require("dumpcap"), "-i", self.rec.interface, "-w", str(self.rec.path), "-B", str(BUFFER_MB)]
        if self.rec.bpf:
            argv += ["-f", self.rec.bpf]
        if self.snaplen:
            argv += ["-s", str(self.snaplen)]
        if self.duration_s:
            argv += ["-a", f"duration:{max(1, int(round(self.duration_s)))}"]
        return argv

    async def __aenter__(self) -> Recording:
        await self.start()
        return self.rec

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    async def start(self) -> None:
        self.rec.path.parent.mkdir(parents=True, exist_ok=True)
        self._proc = await tools.start_async(self.argv())
        try:
            await asyncio.wait_for(self._until_ready(), START_TIMEOUT_S)
        except asyncio.TimeoutError:
            await self.stop()
            raise CaptureError(f"dumpcap did not start capturing on {self.rec.interface} within "
                               f"{START_TIMEOUT_S:g} s") from None
        except BaseException:
            await self.stop()
            raise
        self.rec.started = time.time()
        self._drain = asyncio.create_task(self._read_rest())

    async def _until_ready(self) -> None:
        """dumpcap writes 'File: ...' once the interface is open and the file created."""
        assert self._proc is not None and self._proc.stderr is not None
        while True:
            line = await self._proc.stderr.readline()
            if not line:
                await self._proc.wait()
                raise CaptureError(self._why())
            text = line.decode(errors="replace").rstrip()
            self.rec.stderr.append(text)
            if text.startswith("File:"):
                return

    def _why(self) -> str:
        lines = [ln for ln in self.rec.stderr if ln and not ln.startswith("Capturing on")]
        detail = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("dumpcap:")), None)
        detail = detail or (lines[0] if lines else "it exited without saying why")
        return f"cannot capture on {self.rec.interface}: {detail}"

    async def _read_rest(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        async for line in self._proc.stderr:
            self.rec.stderr.append(line.decode(errors="replace").rstrip())

    async def wait(self) -> None:
        """Until dumpcap stops by itself (its -a duration)."""
        if self._proc is not None:
            await self._proc.wait()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    async def stop(self) -> None:
        """SIGTERM (dumpcap finishes the file), then SIGKILL; always reaped. Safe to call twice."""
        proc = self._proc
        if proc is None:
            return
        try:
            await tools.stop_async(proc, grace=STOP_TIMEOUT_S)   # cancelled meanwhile: killed at once
        finally:
            if self._drain is not None:
                try:
                    await asyncio.wait_for(asyncio.shield(self._drain), 2.0)
                except (asyncio.TimeoutError, asyncio.CancelledError):
                    self._drain.cancel()
            self.rec.stopped = self.rec.stopped or time.time()
            for line in self.rec.stderr:
                m = _STATS.search(line)
                if m:
                    self.rec.received, self.rec.dropped = int(m.group(1)), int(m.group(2))


async def record(interface: str, path: Path, duration_s: float | None, bpf: str | None = None,
                 snaplen: int | None = None, stop: asyncio.Event | None = None) -> Recording:
    """Capture for `duration_s` (None: until `stop` is set or the caller is cancelled)."""
    cap = LiveCapture(interface, path, bpf, duration_s, snaplen)
    await cap.start()
    try:
        waiters = [asyncio.ensure_future(cap.wait())]
        if stop is not None:
            waiters.append(asyncio.ensure_future(stop.wait()))
        try:
            await asyncio.wait(waiters, timeout=(duration_s + 5.0) if duration_s else None,
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()
    finally:
        await cap.stop()
    return cap.rec
