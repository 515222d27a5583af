"""The media engine in its own process, driven from the asyncio side over a socket pair.

Why a process: the sender's schedule must not wait for Python work elsewhere (SIP parsing, progress
display, scoring, garbage collection in another thread all hold the one GIL of a process). In its
own process the engine thread only shares the GIL with a control thread that sleeps on the pipe.
When the system allows it (root or CAP_SYS_NICE), the engine thread runs with a real-time priority
(SCHED_FIFO) so other programs on a busy machine cannot delay a packet; the kernel's RT throttling
still leaves 5 % of that core to everything else.

Parent side:   mp = await MediaProcess.start(expected_streams)
               h = await mp.open(local_ip, dscp, key, trace_path)    # sockets bound, h.port for SDP
               mp.begin(h.id, plan, duration_s, start_mono); result = await mp.finished(h.id)
               mp.stop(h.id) / mp.discard(h.id);  await mp.close()
Child side:    python -m readiness.probes.calls.media.media_process FD
"""

from __future__ import annotations

import asyncio
import gc
import os
import pickle
import queue
import socket
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .... import tools
from ....errors import ReadinessError
from .scheduler import MediaEngine
from . import trace as trace_files
from .stream import MediaStream
from .stream_types import MediaPlan, MediaStreamResult

RT_PRIORITY = 10
START_TIMEOUT_S = 20.0
MAX_MESSAGE = 1 << 24
_FRAME = struct.Struct("!I")


@dataclass(frozen=True)
class StreamHandle:
    id: int
    port: int
    rtcp_port: int | None
    ssrc: int


def realtime(priority: int = RT_PRIORITY) -> bool:
    """Give the calling thread SCHED_FIFO if permitted; False (and nothing changed) otherwise."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
        return True
    except (OSError, AttributeError):
        return False


class MediaProcess:
    """The parent's view of the child process running the media engine. Messages are length-prefixed
    pickles; the parent writes through asyncio's buffered transport and reads in a task, so neither
    side can block the other (a blocking write both ways deadlocks once the buffers fill)."""

    def __init__(self, proc: subprocess.Popen, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self._proc, self._reader, self._writer = proc, reader, writer
        self._next = 0
        self._waiting: dict[tuple[str, int], asyncio.Future] = {}
        self._results: dict[int, MediaStreamResult] = {}
        self._bye: asyncio.Future = asyncio.get_running_loop().create_future()
        self.realtime = False
        self.busy_ns = 0
        self.elapsed_ns = 0
        self.failure = ""
        self._task = asyncio.ensure_future(self._read_all())

    @classmethod
    async def start(cls, expected_streams: int = 0) -> "MediaProcess":
        """`expected_streams`: how many calls the load holds at once; the engine's tables are made
        that large at once (growing one under load copies megabytes while packets are due)."""
        parent, child = socket.socketpair()
        try:
            proc = tools.start([sys.executable, "-m", "readiness.probes.calls.media.media_process", str(child.fileno())],
                               own_session=False, pass_fds=[child.fileno()])
        finally:
            child.close()
        reader, writer = await asyncio.open_unix_connection(sock=parent, limit=MAX_MESSAGE)
        mp = cls(proc, reader, writer)
        try:
            mp.realtime = await mp._request(("hello", expected_streams), START_TIMEOUT_S)
        except BaseException:
            await mp.close()
            raise
        return mp

    def _send(self, msg: tuple) -> None:
        data = pickle.dumps(msg, protocol=pickle.HIGHEST_PROTOCOL)
        self._writer.write(_FRAME.pack(len(data)) + data)

    async def _read_all(self) -> None:
        try:
            while True:
                n = _FRAME.unpack(await self._reader.readexactly(_FRAME.size))[0]
                self._dispatch(pickle.loads(await self._reader.readexactly(n)))
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        err = ReadinessError(f"the media process ended unexpectedly{': ' + self.failure if self.failure else ''}")
        for fut in list(self._waiting.values()) + [self._bye]:
            if not fut.done():
                fut.set_exception(err)
        self._waiting.clear()

    def _dispatch(self, msg: tuple) -> None:
        kind = msg[0]
        if kind == "failed":
            self.failure = msg[2]
            return
        if kind == "bye":
            if not self._bye.done():
                self._bye.set_result(msg[2])
            return
        if kind == "done":
            self._results[msg[1]] = msg[2]
        fut = self._waiting.pop((kind, msg[1]), None)
        if fut is not None and not fut.done():
            if kind == "error":
                fut.set_exception(ReadinessError(msg[2]))
            else:
                fut.set_result(msg[2])

    async def _request(self, msg: tuple, timeout: float = 10.0):
        rid = self._id()
        fut = asyncio.get_running_loop().create_future()
        reply = {"hello": "hello", "open": "opened"}[msg[0]]
        self._waiting[(reply, rid)] = fut
        self._waiting[("error", rid)] = fut
        self._send((msg[0], rid) + msg[1:])
        try:
            return await asyncio.wait_for(fut, timeout)
        finally:
            self._waiting.pop((reply, rid), None)
            self._waiting.pop(("error", rid), None)

    def _id(self) -> int:
        self._next += 1
        return self._next

    async def open(self, local_host: str, dscp: int, key: bytes, trace: Path) -> StreamHandle:
        return await self._request(("open", local_host, dscp, key, str(trace)))

    def begin(self, sid: int, plan: MediaPlan, duration_s: float, start_mono: int) -> None:
        self._send(("begin", sid, plan, duration_s, start_mono))

    def stop(self, sid: int) -> None:
        self._send(("stop", sid))

    def discard(self, sid: int) -> None:
        self._send(("discard", sid))

    async def finished(self, sid: int, timeout: float) -> MediaStreamResult:
        if sid in self._results:
            return self._results.pop(sid)
        fut = asyncio.get_running_loop().create_future()
        self._waiting[("done", sid)] = fut
        try:
            return await asyncio.wait_for(fut, timeout)
        finally:
            self._waiting.pop(("done", sid), None)
            self._results.pop(sid, None)

    async def close(self) -> None:
        try:
            self._send(("shutdown", 0))
            self.busy_ns, self.elapsed_ns = await asyncio.wait_for(asyncio.shield(self._bye), 10.0)
        except (asyncio.TimeoutError, ReadinessError, ConnectionError, OSError):
            pass
        self._writer.close()
        self._task.cancel()
        await asyncio.get_running_loop().run_in_executor(None, tools.reap, self._proc, 5.0)


# --- the child ------------------------------------------------------------------------------------

class _ChildLink:
    """The child's end: blocking reads in the control thread; writes queued to a writer thread so
    the engine thread never waits on the pipe."""

    def __init__(self, fd: int):
        self.sock = socket.socket(fileno=fd)
        self.out: queue.SimpleQueue = queue.SimpleQueue()
        self._writer = threading.Thread(target=self._write_all, name="media-link", daemon=True)
        self._writer.start()

    def recv(self):
        head = self._exactly(_FRAME.size)
        return pickle.loads(self._exactly(_FRAME.unpack(head)[0]))

    def _exactly(self, n: int) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise EOFError
            buf += chunk
        return bytes(buf)

    def send(self, msg: tuple) -> None:
        self.out.put(msg)

    def boost(self, priority: int) -> None:
        """Real-time priority for the writer thread too (see _child)."""
        self.out.put(("__boost__", priority))

    def append(self, path: Path, data: bytes) -> None:
        """Append to a trace file in the writer thread, in order with the messages (a call's last
        records are on disk before its "done" leaves)."""
        self.out.put(("__append__", path, data))

    def _write_all(self) -> None:
        while True:
            msg = self.out.get()
            if msg is None:
                return
            if msg[0] == "__boost__":
                realtime(msg[1])
                continue
            if msg[0] == "__append__":
                try:
                    trace_files.append(msg[1], msg[2])
                except OSError as e:            # a full disk: the call's analysis will say what is missing
                    self.out.put(("failed", 0, f"cannot write {msg[1]}: {e.strerror or e}"))
                continue
            data = pickle.dumps(msg, protocol=pickle.HIGHEST_PROTOCOL)
            try:
                self.sock.sendall(_FRAME.pack(len(data)) + data)
            except OSError:
                return

    def close(self) -> None:
        self.out.put(None)
        self._writer.join(5)
        self.sock.close()


def _child(fd: int) -> None:
    link = _ChildLink(fd)
    send = link.send
    gc.freeze()                           # what exists now is never collected: cheap GC from here on
    # Small young generations: a pass holds the GIL, and with it the engine. While 2,000 calls are set
    # up their streams' objects pile up; a young generation of 50,000 took 9-16 ms a pass (measured,
    # every stream's packet late at once), one of 1,000 (and 4,000 in the next) takes under 2 ms.
    gc.set_threshold(1_000, 4, 1000)
    engine = MediaEngine()
    started = threading.Event()
    rt = [False]

    def boost() -> None:
        rt[0] = realtime()
        started.set()

    engine.on_thread_start = boost
    engine.start()
    started.wait(5)
    # The control and writer threads share the GIL with the engine: were one of them preempted by
    # some other program while holding it, the engine would wait (priority inversion, seen as
    # 1 ms late ticks while calls are set up). Real-time just below the engine, they run their
    # short turns to the end; the engine still preempts them.
    realtime(RT_PRIORITY - 1)
    link.boost(RT_PRIORITY - 1)
    trace_files.set_sink(link.append)
    streams: dict[int, MediaStream] = {}
    t0 = time.monotonic_ns()
    try:
        while True:
            try:
                msg = link.recv()
            except (EOFError, OSError):
                break
            kind, rid = msg[0], msg[1]
            try:
                if kind == "hello":
                    engine.expected_streams = int(msg[2]) if len(msg) > 2 else 0
                    send(("hello", rid, rt[0]))
                elif kind == "open":
                    local_host, dscp, key, trace = msg[2:]
                    s = MediaStream(local_host, dscp, key, Path(trace))
                    streams[rid] = s
                    send(("opened", rid, StreamHandle(rid, s.port, s.rtcp_port(), s.ssrc)))
                elif kind == "begin":
                    plan, duration_s, start_mono = msg[2:]
                    s = streams[rid]
                    s.start(plan, duration_s, start_mono)
                    fut = engine.add(s, start_mono)
                    fut.add_done_callback(lambda f, rid=rid: _done(f, rid, streams, send))
                elif kind == "stop":
                    if rid in streams:
                        streams[rid].stop()
                elif kind == "discard":
                    s = streams.pop(rid, None)
                    if s is not None:
                        s.close()
                elif kind == "shutdown":
                    break
            except Exception as e:            # one bad request must not take every call down
                send(("error", rid, f"{type(e).__name__}: {e}" if not isinstance(e, ReadinessError) else str(e)))
        if engine.failure is not None:
            send(("failed", 0, f"{type(engine.failure).__name__}: {engine.failure}"))
    finally:
        engine.close()
        for s in list(streams.values()):
            s.close()
        send(("bye", 0, (engine.busy_ns, time.monotonic_ns() - t0)))
        link.close()


def _done(fut, rid: int, streams: dict, send) -> None:
    s = streams.pop(rid, None)
    if s is None:
        return
    try:
        fut.result()
    except BaseException as e:
        s.result.last_send_error = f"media engine: {e}"
    send(("done", rid, s.result))


if __name__ == "__main__":
    # import under the module's own name, so what the child pickles names readiness' classes, not __main__'s
    from readiness.probes.calls.media.media_process import _child as child

    child(int(sys.argv[1]))
