"""One sender loop for every call: a timing wheel ticking every millisecond.

Each stream sits in the wheel slot of its next due tick. At every tick the loop sends what is due
(reflected calls: built into the batch of their shared port, shared_port.py, all sent with one sendmmsg),
then reads whatever arrived (the shared ports in recvmmsg batches; the sockets of calls to a
third-party far end through epoll, non-blocking, drained), then sleeps until the next tick (time.sleep is clock_nanosleep: sub-millisecond, unlike epoll's millisecond timeout).
No timer per packet, no asyncio task per call. Received packets carry kernel receive times, so
reading them up to a tick late costs no accuracy.

The loop measures its own schedule error (actual send time minus due time) per stream, and runs in
one thread so the asyncio SIP side stays free. Streams are added and stopped from other threads
through a queue the loop drains each tick.
"""

from __future__ import annotations

import concurrent.futures
import select
import sys
import threading
import time
from collections import deque
from typing import Callable, Protocol

from ..io import media_loops
from .shared_port import SharedPort
from .shared_port_c import CSharedPort
from .srtp_port import SrtpSharedPort
from .stream_types import ScheduleErrors

TICK_NS = 1_000_000
SWITCH_INTERVAL_S = 0.0001        # another thread holding the GIL delays a tick by at most about this
SLOTS = 256                       # > the longest period a stream asks for, in ticks (ptime 120 ms, fin 100 ms)


class ScheduledStream(Protocol):
    """What the engine needs from a stream (stream.MediaStream)."""

    def fds(self) -> list[int]: ...
    def port_key(self) -> tuple[str, int, bytes, bool] | None: ...              # shared port wanted
    def attach(self, port: "SharedPort") -> None: ...
    def on_due(self, now_mono: int, due: int, wall_offset: int) -> int: ...   # next due (mono ns) or 0 = done
    def on_readable(self, fd: int) -> None: ...
    def close(self) -> None: ...


class MediaEngine:
    """The sender/receiver loop. `start()`, then `add()` streams; `close()` stops everything."""

    def __init__(self, tick_ns: int = TICK_NS):
        self.tick_ns = tick_ns
        self._wheel: list[list[tuple[int, ScheduledStream]]] = [[] for _ in range(SLOTS)]
        self._by_fd: dict[int, ScheduledStream] = {}
        self._ports: dict[tuple[str, int, bytes, bool], SharedPort] = {}
        self.ports: list[SharedPort] = []
        self._timed: list[SharedPort] = []        # ports that send on their own schedule (C)
        self._queued: list[SharedPort] = []       # ports the wheel queues packets on (Python)
        self._ep = select.epoll()
        self._inbox: deque = deque()
        self.expected_streams = 0                 # a shared port's table is made this large at once
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._done: dict[int, concurrent.futures.Future] = {}
        self._phase_load: dict[int, list[int]] = {}         # packet period (ticks) -> streams per phase
        self._phase_of: dict[int, tuple[int, int]] = {}     # id(stream) -> (period, phase)
        self.errors = ScheduleErrors()       # all streams together, for the benchmark
        self.ticks = 0
        self.busy_ns = 0                     # time spent working (not sleeping)
        self.failure: BaseException | None = None
        self.on_thread_start: Callable[[], None] | None = None   # runs first in the engine thread

    def start(self) -> "MediaEngine":
        # A shorter GIL switch interval lets the loop take the GIL back quickly from the SIP thread.
        if sys.getswitchinterval() > SWITCH_INTERVAL_S:
            sys.setswitchinterval(SWITCH_INTERVAL_S)
        self._thread = threading.Thread(target=self._run, name="media-engine", daemon=True)
        self._thread.start()
        return self

    def add(self, stream: ScheduledStream, start_mono: int) -> concurrent.futures.Future:
        """Schedule `stream` from `start_mono` on; the future resolves when the stream says it is done."""
        fut: concurrent.futures.Future = concurrent.futures.Future()
        self._inbox.append((stream, start_mono, fut))
        if self._thread is None or not self._thread.is_alive():
            fut.set_exception(RuntimeError(f"media engine is not running: {self.failure or 'stopped'}"))
        return fut

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        for _, stream in [(k, s) for k, s in self._by_fd.items()]:
            stream.close()
        for fut in self._done.values():
            if not fut.done():
                fut.cancel()
        for port in self.ports:
            port.close()
        self._ep.close()

    # --- the loop -------------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            if self.on_thread_start is not None:
                self.on_thread_start()
            self._loop()
        except BaseException as e:  # a bug here must not hang the calls waiting on their futures
            self.failure = e
            for fut in self._done.values():
                if not fut.done():
                    fut.set_exception(e)

    def _loop(self) -> None:
        tick_ns = self.tick_ns
        mono, wall, sleep = time.monotonic_ns, time.time_ns, time.sleep
        wheel = self._wheel
        poll = self._ep.poll
        by_fd = self._by_fd
        ports, timed, queued = self.ports, self._timed, self._queued
        tick = mono() // tick_ns
        while not self._stop.is_set():
            t0 = mono()
            offset = wall() - mono()
            for port in timed:                  # packets due now go first, the wheel's chores after
                port.tick(t0, offset)
            self._take_inbox(tick + 1)          # new streams start at the next tick
            now_tick = t0 // tick_ns
            while tick <= now_tick:
                slot = wheel[tick % SLOTS]
                if slot:
                    wheel[tick % SLOTS] = []
                    for due_tick, stream in slot:
                        if due_tick > tick:         # a later turn of the wheel
                            wheel[tick % SLOTS].append((due_tick, stream))
                            continue
                        nxt = stream.on_due(mono(), due_tick * tick_ns, offset)
                        if nxt:
                            nt = max(nxt // tick_ns, tick + 1)
                            wheel[nt % SLOTS].append((nt, stream))
                        else:
                            self._finish(stream)
                tick += 1
            for port in queued:                 # what the wheel's streams queued this tick
                port.tick(t0, offset)
            for port in ports:
                port.drain()
            for fd, _ev in poll(0):
                stream = by_fd.get(fd)
                if stream is not None:
                    stream.on_readable(fd)
            t1 = mono()
            self.busy_ns += t1 - t0
            self.ticks += 1
            wait = tick * tick_ns - t1
            if wait > 0:
                sleep(wait / 1e9)

    def _take_inbox(self, tick: int) -> None:
        while self._inbox:
            stream, start_mono, fut = self._inbox.popleft()
            try:
                key = stream.port_key()
                port = None
                if key is not None:
                    port = self._ports.get(key)
                    if port is None:
                        port = _new_port(*key, capacity=self.expected_streams)
                        # a port's table is written through when made (milliseconds for 2,000 calls):
                        # its first stream starts after that, not late by it
                        tick = max(tick, time.monotonic_ns() // self.tick_ns + 1)
                        self._ports[key] = port
                        self.ports.append(port)
                        (self._timed if port.schedules else self._queued).append(port)
                    stream.attach(port)
                for fd in stream.fds():
                    self._ep.register(fd, select.EPOLLIN)
                    self._by_fd[fd] = stream
            except Exception as e:              # ReadinessError (cannot bind) or OSError
                fut.set_exception(e)
                continue
            self._done[id(stream)] = fut
            t = self._spread(stream, max(start_mono // self.tick_ns, tick))   # due times on the tick grid
            if port is not None:
                t = port.begin(stream, t * self.tick_ns) // self.tick_ns
            self._wheel[t % SLOTS].append((t, stream))

    def _spread(self, stream: ScheduledStream, t: int) -> int:
        """The stream's first tick: at or after `t`, on the phase of its packet period that the
        fewest streams use. Calls set up at a steady rate would otherwise send on a few phases only
        (at 100 calls/s and 20 ms ptime: every 10 ms, +- the setup time), and those ticks carry
        several times the average number of packets. Phones start at arbitrary phases too; the
        first packet waits at most one period."""
        period = getattr(stream, "_period", 0) // self.tick_ns
        if period <= 1 or period > SLOTS:
            return t
        load = self._phase_load.setdefault(period, [0] * period)
        t += min(range(period), key=lambda k: (load[(t + k) % period], k))
        load[t % period] += 1
        self._phase_of[id(stream)] = (period, t % period)
        return t

    def _finish(self, stream: ScheduledStream) -> None:
        phase = self._phase_of.pop(id(stream), None)
        if phase is not None:
            self._phase_load[phase[0]][phase[1]] -= 1
        for fd in stream.fds():
            self._by_fd.pop(fd, None)
            try:
                self._ep.unregister(fd)
            except (OSError, ValueError):
                pass
        fut = self._done.pop(id(stream), None)
        try:
            stream.close()
        finally:
            if fut is not None and not fut.done():
                fut.set_result(stream)


def _new_port(host: str, dscp: int, key: bytes, srtp: bool, capacity: int = 0) -> SharedPort:
    """The shared port for streams with this key: C when built, but SRTP always in Python (the C
    loops do not link libsrtp; srtp_port.py)."""
    if srtp:
        return SrtpSharedPort(host, dscp)
    return CSharedPort(host, dscp, key, capacity) if media_loops.available() else SharedPort(host, dscp)
