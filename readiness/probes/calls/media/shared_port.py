"""One UDP socket for the media of every call answered by a readiness responder: all due packets of
a tick leave in one sendmmsg, replies come back in recvmmsg batches and go to their call by the
session id in the stamp.

Why one socket: a system call and a socket per packet (sendto, epoll, recvmsg) cost more than the
rest of the packet's work; batching needs the packets on one socket. The responder tells sessions
apart by source address and session id, so calls need no port of their own. What changes on the
wire: the calls share one UDP 5-tuple towards the responder, so a per-flow queue (fq_codel, an
SD-WAN policy) or an ECMP hash sees one flow where real phones make one per call. Calls to a
third-party far end (a phone, a PBX, baresip) keep a socket per call: they expect the port of our
SDP offer.

Schedule error, honestly: a packet is handed to the kernel when the sendmmsg that carries it
returns, so every packet of a batch counts from that moment (the stamp inside says when it was
built, a little earlier: the responder's receive time minus it is the network plus our own send
path, as with one sendto per packet).
"""

from __future__ import annotations

import hmac
import os
import time
from typing import TYPE_CHECKING

from ..io import mmsg
from ..io.udpsock import grow_buffers, open_udp
from ..wire import rtp, stamps
from .trace import REPLY

if TYPE_CHECKING:
    from .stream import MediaStream

SEND_BATCH = 256                   # packets per sendmmsg (a tick of 1,000 calls at 20 ms is 50)
RECV_BATCH = 128
BUFFER_BYTES = 16 << 20            # some 100 ms of replies at 1,000 calls (an skb is ~1.5 kB here)
_SLOT = mmsg.SLOT
_PACK = stamps.PACKET.pack_into
_FIELDS = stamps.FIELDS.unpack_from
_REPLY = REPLY.pack
_AUTH_END = stamps.AUTH_END
_MAC_END = stamps.AUTH_END + stamps.MAC_LEN
_STAMP_AT = rtp.HEADER_LEN
_compare = hmac.compare_digest
_mono = time.monotonic_ns


class SharedPort:
    """The socket, its send and receive batches, and the calls (by session id) it carries."""

    def __init__(self, local_host: str, dscp: int):
        self.sock = open_udp(local_host, 0, (dscp & 0x3F) << 2)
        grow_buffers(self.sock, BUFFER_BYTES)
        self.fd = self.sock.fileno()
        self.port = self.sock.getsockname()[1]
        self.out = mmsg.DatagramBatch(SEND_BATCH)
        self.inb = mmsg.DatagramBatch(RECV_BATCH)
        self.sessions: dict[int, MediaStream] = {}
        self.queued = 0
        self._owners: list[MediaStream] = []
        self._dues: list[int] = []
        self._names: list[int] = []
        self._lengths: list[int] = []
        self._slot_fill: list[tuple[int, int] | None] = [None] * SEND_BATCH   # codec filler in each slot
        self.stray = 0                     # replies for no call carried here (late, or not ours)
        self.malformed = 0                 # too short to be a reply

    schedules = False                  # the engine's wheel calls queue() per packet (CSharedPort: C does)

    def attach(self, stream: "MediaStream") -> None:
        self.sessions[stream.session_id] = stream

    def begin(self, stream: "MediaStream", first_due: int) -> int:
        """The stream's first packet is due at first_due; when the wheel should first call it."""
        return first_due

    def detach(self, stream: "MediaStream") -> None:
        if self.sessions.get(stream.session_id) is stream:
            del self.sessions[stream.session_id]

    def name_of(self, host: str, port: int) -> int:
        """Address of a kept sockaddr for host:port (one per call; sendmmsg reads it)."""
        return self.out.address_of(bytearray(mmsg.sockaddr(host, port)))

    def close(self) -> None:
        self.sock.close()

    # --- sending ------------------------------------------------------------------------------------

    def queue(self, s: "MediaStream", due: int, wall_offset: int) -> None:
        """Build and sign the stream's next stamped packet in a slot of this tick's batch."""
        i = self.queued
        if i == SEND_BATCH:
            self.flush()
            i = 0
        off = i * _SLOT
        data = self.out.data
        seq = s._seq
        wall = _mono() + wall_offset
        _PACK(data, off, 0x80, s._pt | (0x80 if seq == 0 else 0), (s._seq0 + seq) & 0xFFFF,
              (s._ts0 + seq * s._spp) & 0xFFFFFFFF, s.ssrc, stamps.MAGIC, stamps.VERSION, 0, s.session_id,
              seq & 0xFFFFFFFF, wall, s.dscp, 0, 0, 0, 0, 0, 0, 0, 0)
        if self._slot_fill[i] != s._fill_key:
            data[off + stamps.PACKET_MIN:off + s._length] = s._filler
            self._slot_fill[i] = s._fill_key
        inner = s.signer.inner.copy()
        inner.update(self.out.view[off:off + _AUTH_END])
        outer = s.signer.outer.copy()
        outer.update(inner.digest())
        data[off + _AUTH_END:off + _MAC_END] = outer.digest()[:stamps.MAC_LEN]
        self._owners.append(s)
        self._dues.append(due)
        self._names.append(s._name)
        self._lengths.append(s._length)
        self.queued = i + 1
        s._count_sent(wall)

    def tick(self, now: int, wall_offset: int) -> None:
        """Once per tick, after the wheel's streams queued their packets: send them."""
        self.flush()

    def flush(self) -> None:
        """Hand every queued packet to the kernel in one call; each one's schedule error counts
        from when that call returned."""
        k = self.queued
        if not k:
            return
        owners, dues = self._owners, self._dues
        failed = self.out.send(self.fd, list(range(k)), self._lengths, self._names)
        t = _mono()
        for s, due in zip(owners, dues):
            s.result.schedule.add(t - due)
        for slot, err in failed:                         # counted: the packet is lost at our end
            r = owners[slot].result
            r.send_errors += 1
            r.last_send_error = os.strerror(err)
        self.queued = 0
        self._owners, self._dues, self._names, self._lengths = [], [], [], []

    def fin_seen(self, s: "MediaStream") -> bool:
        """Has the responder answered the stream's fin (with its totals)?"""
        return s.result.fin_received is not None

    def send_one(self, buf: bytes | bytearray, s: "MediaStream") -> None:
        """A packet outside the media schedule (the fin) from the same address as the media."""
        try:
            self.sock.sendto(buf, s.plan.remote)
        except OSError:
            pass

    # --- receiving ----------------------------------------------------------------------------------

    def drain(self) -> int:
        """Read every reply waiting and append it to its call's trace; returns how many were read."""
        return self.inb.read_all(self.fd, self._replies)

    def _replies(self, got: int, slots: list[int] | None = None) -> None:
        """The replies in the batch's first `got` slots (or in `slots` of them: those an SRTP port
        could unprotect) to their calls' traces."""
        b = self.inb
        data, view, lens, meta, sessions = b.data, b.view, b.lens, b.meta, self.sessions
        for i in (range(got) if slots is None else slots):
            off = i * _SLOT
            if lens[i] < stamps.PACKET_MIN:
                self.malformed += 1
                continue
            (magic, _, flags, session_id, seq, send_ns, _, dscp_up, spare, rseq, count, rrx, rtx, bitmap,
             highest) = _FIELDS(data, off + _STAMP_AT)
            s = sessions.get(session_id)
            if s is None:
                self.stray += 1
                continue
            signer = s.signer
            inner = signer.inner.copy()
            inner.update(view[off:off + _AUTH_END])
            outer = signer.outer.copy()
            outer.update(inner.digest())
            r = s.result
            if magic != stamps.MAGIC or not flags & stamps.FLAG_REPLY or not _compare(
                    outer.digest()[:stamps.MAC_LEN], view[off + _AUTH_END:off + _MAC_END]):
                if rtp.parse(view[off:off + lens[i]]) is None:
                    s._malformed(bytes(view[off:off + lens[i]]), "not RTP")
                else:
                    r.unauthenticated += 1
                continue
            rx_ns, tos = meta(i)
            if flags & stamps.FLAG_FIN:
                r.fin_received, r.fin_replies = count, rseq
                r.fin_bitmap, r.fin_highest = bitmap, highest
                if s.srtp is not None:              # an SRTP session's fin: what failed SRTP on the way up
                    r.srtp_auth_failed_up = spare
                continue
            if not rx_ns:
                rx_ns = time.time_ns()
            s.trace.add(_REPLY(seq, rseq, send_ns, rrx, rtx, rx_ns, dscp_up, tos >> 2 if tos >= 0 else 0xFF, 0,
                               bitmap, highest))
