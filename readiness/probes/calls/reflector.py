"""The media reflector of `readiness responder`: sends each authenticated test packet back to where
it came from, stamped with when it arrived, when it left, the reflector's own sequence and the DSCP
it arrived with (read with IP_RECVTOS), marked with the DSCP the sender asked for.

It does as little as it can per packet (one thread, one socket, a tight receive loop). Safe on the
open internet: packets without a valid MAC get no answer, a reply is never larger than its request,
and sessions, packet rate and duration are bounded per source address.
"""

from __future__ import annotations

import hmac
import select
import socket
import struct
import threading
from socket import SOL_SOCKET
import time
from dataclasses import dataclass, field

from . import stamps
from .rtp.media_process import realtime
from .udpsock import ANC_SPACE, SCM_TIMESTAMPNS, open_udp, tos_cmsg

MASK32 = 0xFFFFFFFF
IDLE_TIMEOUT_NS = 30 * 1_000_000_000      # a session silent this long is forgotten
MAX_PACKET = 2048
BATCH_WAIT_S = 0.0005
_TIMESPEC = struct.Struct("@qq")
_REPLY_PACK = stamps.REPLY_FIELDS.pack_into
_AUTH_END = stamps.AUTH_END
_MAC_END = stamps.AUTH_END + stamps.MAC_LEN
_compare = hmac.compare_digest


@dataclass(frozen=True)
class Limits:
    sessions_per_source: int = 1000       # concurrent test sessions from one IP address
    sessions_total: int = 20000
    rate_pps: float = 200.0               # per session: 10 ms ptime is 100 packets/s, twice that is plenty
    duration_s: float = 4 * 3600.0        # per session


@dataclass
class _Session:
    source: str
    started: int                          # monotonic ns
    last: int
    tokens: float
    reflector_seq: int = 0
    received: int = 0
    highest: int = -1
    bitmap: int = 0


@dataclass
class ReflectorStats:
    reflected: int = 0
    unauthenticated: int = 0              # no valid MAC: dropped without an answer
    over_limit: int = 0                   # sessions, rate or duration exceeded: dropped
    fins: int = 0
    sessions_active: int = 0
    sessions_total: int = 0
    by_source: dict[str, int] = field(default_factory=dict)


class Reflector:
    """One UDP socket on host:port; `start()` runs the loop in a thread, `stop()` ends it."""

    def __init__(self, host: str, port: int, key: bytes, limits: Limits | None = None):
        self.signer = stamps.Signer(key)
        self._marks: dict[int, list] = {}      # DSCP -> ancillary data marking a reply with it
        self.limits = limits or Limits()
        self.sock = open_udp(host, port)
        self.family = self.sock.family
        self.address = self.sock.getsockname()[:2]
        self._sessions: dict[tuple, _Session] = {}
        self._per_source: dict[str, int] = {}
        self._stats = ReflectorStats()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.realtime = False

    @property
    def port(self) -> int:
        return self.address[1]

    def start(self) -> "Reflector":
        self._thread = threading.Thread(target=self.serve, name="reflector", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self.sock.close()

    def stats(self) -> ReflectorStats:
        """A copy of the counters (read from another thread: plain ints, a slightly stale view is fine)."""
        s = self._stats
        return ReflectorStats(s.reflected, s.unauthenticated, s.over_limit, s.fins, len(self._sessions),
                              s.sessions_total, dict(self._per_source))

    def serve(self) -> None:
        self.realtime = realtime()           # its send time stamps are only as good as its scheduling
        poller = select.poll()
        poller.register(self.sock.fileno(), select.POLLIN)
        last_sweep = time.monotonic_ns()
        busy = False
        while not self._stop.is_set():
            if busy:
                # Under load, let packets gather for a moment and take them in one go: far fewer
                # wake-ups per packet. Costs no accuracy: arrival is the kernel's time stamp and the
                # time spent here is subtracted from the round trip (reply send - receive).
                time.sleep(BATCH_WAIT_S)
            else:
                poller.poll(200)
            busy = self._drain() > 0
            now = time.monotonic_ns()
            if now - last_sweep > 1_000_000_000:
                self._sweep(now)
                last_sweep = now

    def _drain(self) -> int:
        """Answer everything waiting on the socket; returns how many datagrams were read."""
        sock, st = self.sock, self._stats
        recvmsg, sendmsg = sock.recvmsg, sock.sendmsg
        inner0, outer0 = self.signer.inner, self.signer.outer
        marks = self._marks
        n = 0
        while True:
            try:
                data, anc, _flags, addr = recvmsg(MAX_PACKET, ANC_SPACE)
                n += 1
            except (BlockingIOError, InterruptedError):
                return n
            except OSError:
                continue                   # e.g. ICMP errors queued on the socket
            # Signer.authentic() written out: function calls cost as much as the hashing here
            if len(data) < stamps.PACKET_MIN or data[12] != 0x52 or data[13] != 0x44 or data[14] != stamps.VERSION:
                st.unauthenticated += 1
                continue
            inner = inner0.copy()
            inner.update(memoryview(data)[:_AUTH_END])
            outer = outer0.copy()
            outer.update(inner.digest())
            if not _compare(outer.digest()[:stamps.MAC_LEN], data[_AUTH_END:_MAC_END]):
                st.unauthenticated += 1
                continue
            flags, session_id, seq, dscp_sent = stamps.read_request(data)
            if flags & stamps.FLAG_REPLY:
                st.unauthenticated += 1    # a reply sent back to us: never answer it
                continue
            now = time.monotonic_ns()
            rx_ns, tos = 0, -1
            for level, kind, cdata in anc:        # inline udpsock.ancillary(): this loop is the hot path
                if kind == SCM_TIMESTAMPNS and len(cdata) >= 16:
                    sec, nsec = _TIMESPEC.unpack_from(cdata)
                    rx_ns = sec * 1_000_000_000 + nsec
                elif level != SOL_SOCKET and cdata:
                    tos = cdata[0]                # IP_TOS: 1 byte; IPV6_TCLASS: an int, low byte first here
            session = self._session(addr, session_id, now)
            if session is None:
                st.over_limit += 1
                continue
            fin = flags & stamps.FLAG_FIN
            if not fin:
                session.received += 1
                session.reflector_seq += 1
                _mark(session, seq)
            buf = bytearray(data)
            if not fin:
                buf[2:4] = (session.reflector_seq & 0xFFFF).to_bytes(2, "big")   # RTP seq of the reply stream
            buf[15] |= stamps.FLAG_REPLY                                      # stamps.write_reply() written out
            _REPLY_PACK(buf, stamps.REPLY_OFFSET, tos >> 2 if tos >= 0 else 0xFF, 0,
                        session.reflector_seq & 0xFFFFFFFF, session.received & 0xFFFFFFFF, rx_ns or time.time_ns(),
                        time.time_ns(), session.bitmap, max(session.highest, 0) & 0xFFFFFFFF)
            inner = inner0.copy()
            inner.update(memoryview(buf)[:_AUTH_END])
            outer = outer0.copy()
            outer.update(inner.digest())
            buf[_AUTH_END:_MAC_END] = outer.digest()[:stamps.MAC_LEN]
            mark = marks.get(dscp_sent)
            if mark is None:
                mark = marks[dscp_sent] = tos_cmsg(self.family, (dscp_sent & 0x3F) << 2)
            try:
                sendmsg([buf], mark, 0, addr)
            except OSError:
                continue
            if fin:
                st.fins += 1
            else:
                st.reflected += 1

    def _session(self, addr: tuple, session_id: int, now: int) -> _Session | None:
        lim = self.limits
        k = (addr[0], addr[1], session_id)
        s = self._sessions.get(k)
        if s is None:
            source = addr[0]
            n = self._per_source.get(source, 0)
            if n >= lim.sessions_per_source or len(self._sessions) >= lim.sessions_total:
                return None
            s = _Session(source, now, now, lim.rate_pps)
            self._sessions[k] = s
            self._per_source[source] = n + 1
            self._stats.sessions_total += 1
        if now - s.started > lim.duration_s * 1e9:
            return None
        # token bucket: rate_pps sustained, one second's worth of burst
        s.tokens = min(lim.rate_pps, s.tokens + (now - s.last) * lim.rate_pps / 1e9)
        s.last = now
        if s.tokens < 1.0:
            return None
        s.tokens -= 1.0
        return s

    def _sweep(self, now: int) -> None:
        for k, s in list(self._sessions.items()):
            if now - s.last > IDLE_TIMEOUT_NS:
                del self._sessions[k]
                left = self._per_source.get(s.source, 1) - 1
                if left:
                    self._per_source[s.source] = left
                else:
                    self._per_source.pop(s.source, None)


def _mark(s: _Session, seq: int) -> None:
    """Remember that `seq` arrived: `highest` plus a bitmap of the 32 sequences below it."""
    if s.highest < 0:
        s.highest = seq
        return
    shift = seq - s.highest
    if shift > 0:
        s.bitmap = ((((s.bitmap << 1) | 1) << (shift - 1)) & MASK32) if shift <= 32 else 0
        s.highest = seq
    elif -32 <= shift < 0:
        s.bitmap |= 1 << (-shift - 1)

