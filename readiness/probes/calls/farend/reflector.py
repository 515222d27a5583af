"""The media reflector of `readiness responder`: sends each authenticated test packet back to where
it came from, stamped with when it arrived, when it left, the reflector's own sequence and the DSCP
it arrived with (read with IP_RECVTOS), marked with the DSCP the sender asked for.

It does as little as it can per packet: one thread, one socket, datagrams read and sent in batches
(recvmmsg/sendmmsg, io/mmsg.py), the per-packet work in C when it was built (reflector_c.py) and in
the Python of `_answer` below otherwise (the reference the C code is tested against). Safe on the
open internet: packets without a valid MAC get no answer, a reply is never larger than its request,
and sessions, packet rate and duration are bounded per source address.

SRTP calls (RFC 3711) each have a socket of their own (srtp_legs.py), served by the same thread in
the Python of `_answer_leg`, also where the C loop is built (it does not link libsrtp): a packet
is unprotected, answered as above, and the reply protected. One that fails SRTP authentication is
counted and never answered.
"""

from __future__ import annotations

import hmac
import select
import socket
import struct
import sys
import threading
import time
from dataclasses import dataclass, field

from ..io import media_loops, mmsg
from ..io.udpsock import grow_buffers, open_udp
from ..media.media_process import RT_PRIORITY, realtime
from ..wire import rtp, stamps
from ..wire.srtp import CryptoAttribute
from .reflector_c import CReflectorSessions
from .srtp_legs import Leg, SrtpLegs

MASK32 = 0xFFFFFFFF
IDLE_TIMEOUT_NS = 30 * 1_000_000_000      # a session silent this long is forgotten
FIN_GRACE_NS = 5 * 1_000_000_000          # after its fin (retries still get the same totals)
BATCH = 64                                # datagrams per system call
BUFFER_BYTES = 16 << 20                   # some 100 ms of requests at 1,000 calls
BATCH_WAIT_S = 0.0005
_SLOT = mmsg.SLOT
_REQUEST = struct.Struct("!3xBII8xB").unpack_from      # stamps.read_request(): flags, session, seq, DSCP
_SEQ16 = struct.Struct("!H").pack_into
_REPLY_PACK = stamps.REPLY_FIELDS.pack_into
_AUTH_END = stamps.AUTH_END
_MAC_END = stamps.AUTH_END + stamps.MAC_LEN
_compare = hmac.compare_digest


@dataclass(frozen=True)
class ReflectorLimits:
    sessions_per_source: int = 2000       # concurrent test sessions from one IP address (one load of 1,000+ calls)
    sessions_total: int = 20000
    rate_pps: float = 200.0               # per session: 10 ms ptime is 100 packets/s, twice that is plenty
    duration_s: float = 10 * 3600.0       # per session: a working day of calls (calls.duration: 8 h)


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
    fin_at: int = 0                       # monotonic ns of its fin: forgotten FIN_GRACE_NS later
    fin_seqs: int = 0                     # SRTP: fin replies sent, each with an RTP sequence of its own


@dataclass
class ReflectorStats:
    reflected: int = 0
    unauthenticated: int = 0              # no valid MAC: dropped without an answer
    over_limit: int = 0                   # sessions, rate or duration exceeded: dropped
    fins: int = 0
    sessions_active: int = 0
    sessions_total: int = 0
    by_source: dict[str, int] = field(default_factory=dict)
    srtp_calls: int = 0                   # SRTP legs open now
    srtp_auth_failed: int = 0             # SRTP tag did not verify: dropped (also counted unauthenticated)
    srtp_replayed: int = 0                # a seen SRTP index that was no exact copy: dropped


class Reflector:
    """One UDP socket on host:port; `start()` runs the loop in a thread, `stop()` ends it.

    `sock`: serve this bound socket instead of opening one. `serve_main=False`: leave the socket to
    another process (reflector_process.py) and serve the SRTP legs only."""

    def __init__(self, host: str, port: int, key: bytes, limits: ReflectorLimits | None = None,
                 sock: socket.socket | None = None, serve_main: bool = True):
        self.signer = stamps.Signer(key)
        self._marks: dict[int, bytes] = {}     # DSCP -> the cmsg marking a reply with it
        self._batch = mmsg.DatagramBatch(BATCH)
        self.limits = limits or ReflectorLimits()
        self.sock = sock or open_udp(host, port)
        grow_buffers(self.sock, BUFFER_BYTES)
        self.serve_main = serve_main
        self.family = self.sock.family
        self.address = self.sock.getsockname()[:2]
        self._sessions: dict[tuple, _Session] = {}
        self._per_source: dict[str, int] = {}
        self._stats = ReflectorStats()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.realtime = False
        self._poller = select.epoll()
        if serve_main:
            self._poller.register(self.sock.fileno(), select.EPOLLIN)
        self.srtp = SrtpLegs(host, self._poller)
        # the C loop when built (io/media_loops.py); the Python one below otherwise, and as its reference
        self._fast = (CReflectorSessions(key, self.family, self._batch, self.limits, _source_ip)
                      if serve_main and media_loops.available() else None)

    @property
    def port(self) -> int:
        return self.address[1]

    def start(self) -> "Reflector":
        self._thread = threading.Thread(target=self.serve, name="reflector", daemon=True)
        self._thread.start()
        return self

    def open_srtp(self, send: CryptoAttribute, receive: CryptoAttribute) -> int:
        """A leg for one SRTP call (our send key, the caller's); its UDP port (for the SDP answer)."""
        return self.srtp.open(send, receive)

    def close_srtp(self, port: int) -> None:
        self.srtp.close(port)

    def halt(self) -> None:
        """Ask `serve` to return (from another thread), without closing anything."""
        self._stop.set()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self.srtp.close_all()
        self._poller.close()
        self.sock.close()

    def stats(self) -> ReflectorStats:
        """A copy of the counters (read from another thread: plain ints, a slightly stale view is fine).
        With the C loop, its sessions plus the Python ones (SRTP legs')."""
        s, fast = self._stats, self._fast
        by_source = dict(self._per_source)
        active, total = len(self._sessions), s.sessions_total
        if fast is not None:
            for source, n in list(fast.per_source.items()):
                by_source[source] = by_source.get(source, 0) + n
            active, total = active + fast.active, total + fast.created
        return ReflectorStats(s.reflected, s.unauthenticated, s.over_limit, s.fins, active, total, by_source,
                              len(self.srtp), s.srtp_auth_failed, s.srtp_replayed)

    def serve(self) -> None:
        # Its send time stamps are only as good as its scheduling. Below the media engine's priority:
        # where both run on one machine, a packet due is more urgent than a reply (whose wait on
        # this side is measured and taken out of the round trip).
        self.realtime = realtime(RT_PRIORITY - 5)
        poll, main, legs = self._poller.poll, self.sock.fileno(), self.srtp
        last_sweep = time.monotonic_ns()
        busy = False
        while not self._stop.is_set():
            if busy:
                # Under load, let packets gather for a moment and take them in one go: far fewer
                # wake-ups per packet. Costs no accuracy: arrival is the kernel's time stamp and the
                # time spent here is subtracted from the round trip (reply send - receive).
                time.sleep(BATCH_WAIT_S)
                events = poll(0) if len(legs) else ()
            else:
                events = poll(0.2)
            got = self._drain() if self.serve_main else 0
            for fd, _ in events:
                leg = legs.by_fd.get(fd) if fd != main else None
                if leg is not None:
                    got += self._batch.read_all(fd, lambda n, leg=leg: self._answer_leg(leg, n))
            busy = got > 0
            legs.reap()
            now = time.monotonic_ns()
            if now - last_sweep > 1_000_000_000:
                self._sweep(now)
                last_sweep = now

    def _drain(self) -> int:
        """Answer everything waiting on the socket, a batch per system call each way; returns how
        many datagrams were read."""
        fd = self.sock.fileno()
        if self._fast is not None:
            return self._fast.drain(fd, self._stats)
        return self._batch.read_all(fd, self._answer)

    def _answer(self, got: int) -> None:
        """Check, stamp and sign the `got` requests in the batch in place, then send the replies."""
        out, fins = self._stamp(got, range(got), None)
        self._send(self.sock.fileno(), out, fins)

    def _answer_leg(self, leg: Leg, got: int) -> None:
        """An SRTP call's requests: unprotected in their slots (RFC 3711 3.3), stamped as `_answer`
        does, protected again (3.1) and sent. The reply is as long as its request: same suite both
        ways (RFC 4568 7.1.2: the answer takes the offered suite), so the tag is the same length."""
        b, st, srtp = self._batch, self._stats, leg.srtp
        data, view, lens = b.data, b.view, b.lens
        arrived = list(lens[:got])
        failed, replayed, malformed = srtp.auth_failed, srtp.replayed, srtp.malformed
        plain: list[int] = []
        for i in range(got):
            off = i * _SLOT
            clear = srtp.unprotect(view[off:off + arrived[i]])    # None: dropped, counted by the leg
            if clear is not None:
                data[off:off + len(clear)] = clear
                lens[i] = len(clear)
                plain.append(i)
        st.srtp_auth_failed += srtp.auth_failed - failed
        st.srtp_replayed += srtp.replayed - replayed
        st.unauthenticated += (srtp.auth_failed - failed) + (srtp.replayed - replayed) + (srtp.malformed - malformed)
        out, fins = self._stamp(got, plain, leg)
        sent: list[int] = []
        for i in out:
            off = i * _SLOT
            secured = srtp.protect(view[off:off + lens[i]])
            if secured is None or len(secured) != arrived[i]:    # never in the clear, never larger
                if data[off + 15] & stamps.FLAG_FIN:
                    fins -= 1
                continue
            data[off:off + len(secured)] = secured
            sent.append(i)
        self._send(leg.fd, sent, fins)

    def _send(self, fd: int, out: list[int], fins: int) -> None:
        if out:
            failed = self._batch.answer(fd, out)
            st = self._stats
            st.fins += fins
            st.reflected += len(out) - fins - len(failed)   # a refused fin is rare: counted as a reflection

    def _stamp(self, got: int, slots, leg: Leg | None) -> tuple[list[int], int]:
        """Check, stamp and sign the requests in `slots` of the batch in place: (slots to answer,
        how many of them are fins). `leg`: an SRTP call's, whose replies each get an RTP sequence
        number of their own (libsrtp protects an index once) and whose fin reply carries the
        count of its packets that failed SRTP authentication."""
        b, st = self._batch, self._stats
        data, view, lens, meta = b.data, b.view, b.lens, b.meta
        inner0, outer0 = self.signer.inner, self.signer.outer
        names = bytes(b.names[:got * mmsg.NAME])
        marks, session_of, set_control = self._marks, self._session, b.set_control
        out: list[int] = []
        fins = 0
        now = time.monotonic_ns()
        for i in slots:
            off = i * _SLOT
            # Signer.authentic() written out: function calls cost as much as the hashing here
            if lens[i] < stamps.PACKET_MIN or data[off + 12] != 0x52 or data[off + 13] != 0x44 or \
                    data[off + 14] != stamps.VERSION:
                st.unauthenticated += 1
                continue
            inner = inner0.copy()
            inner.update(view[off:off + _AUTH_END])
            outer = outer0.copy()
            outer.update(inner.digest())
            if not _compare(outer.digest()[:stamps.MAC_LEN], view[off + _AUTH_END:off + _MAC_END]):
                st.unauthenticated += 1
                continue
            flags, session_id, seq, dscp_sent = _REQUEST(data, off + rtp.HEADER_LEN)
            if flags & stamps.FLAG_REPLY:
                st.unauthenticated += 1    # a reply sent back to us: never answer it
                continue
            session = session_of(names[i * mmsg.NAME:(i + 1) * mmsg.NAME], session_id, now)
            if session is None:
                st.over_limit += 1
                continue
            rx_ns, tos = meta(i)
            fin = flags & stamps.FLAG_FIN
            spare = 0
            if fin:
                fins += 1
                session.fin_at = now
                if leg is not None:
                    session.fin_seqs += 1
                    _SEQ16(data, off + 2, (session.reflector_seq + session.fin_seqs) & 0xFFFF)
                    spare = min(leg.srtp.auth_failed, 0xFFFF)
            else:
                session.received += 1
                session.reflector_seq += 1
                _mark(session, seq)
                # RTP seq of the reply stream (fin_seqs: 0 but after an SRTP call's fin)
                _SEQ16(data, off + 2, (session.reflector_seq + session.fin_seqs) & 0xFFFF)
            data[off + 15] |= stamps.FLAG_REPLY                            # stamps.write_reply() written out
            _REPLY_PACK(data, off + stamps.REPLY_OFFSET, tos >> 2 if tos >= 0 else 0xFF, spare,
                        session.reflector_seq & MASK32, session.received & MASK32, rx_ns or time.time_ns(),
                        time.time_ns(), session.bitmap, max(session.highest, 0) & MASK32)
            inner = inner0.copy()
            inner.update(view[off:off + _AUTH_END])
            outer = outer0.copy()
            outer.update(inner.digest())
            data[off + _AUTH_END:off + _MAC_END] = outer.digest()[:stamps.MAC_LEN]
            mark = marks.get(dscp_sent)
            if mark is None:
                mark = marks[dscp_sent] = mmsg.tos_control(self.family, (dscp_sent & 0x3F) << 2)
            set_control(i, mark)
            out.append(i)
        return out, fins

    def _session(self, name: bytes, session_id: int, now: int) -> _Session | None:
        lim = self.limits
        k = (name, session_id)
        s = self._sessions.get(k)
        if s is None:
            source = _source_ip(name)
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
        if self._fast is not None:
            self._fast.sweep(now, IDLE_TIMEOUT_NS, FIN_GRACE_NS)   # the Python sessions: SRTP legs' only
        for k, s in list(self._sessions.items()):
            if now - s.last > IDLE_TIMEOUT_NS or (s.fin_at and now - s.fin_at > FIN_GRACE_NS):
                del self._sessions[k]
                left = self._per_source.get(s.source, 1) - 1
                if left:
                    self._per_source[s.source] = left
                else:
                    self._per_source.pop(s.source, None)


def _source_ip(name: bytes) -> str:
    """The address part of a sockaddr (the per-source limits count sessions per address)."""
    if int.from_bytes(name[:2], sys.byteorder) == socket.AF_INET6:
        return socket.inet_ntop(socket.AF_INET6, name[8:24])
    return socket.inet_ntop(socket.AF_INET, name[4:8])


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

