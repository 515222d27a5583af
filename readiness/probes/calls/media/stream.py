"""One call's media: the RTP stream we send on a fixed schedule and what comes back.

Two kinds of far end:
  reflect  a readiness responder: every packet carries a stamp (wire/stamps.py) and comes back stamped,
           so both directions, the round trip and the DSCP each way are measured per packet.
  peer     anything else that speaks RTP (a phone, a PBX echo service, baresip): we send plain RTP
           and RTCP, record the RTP it sends us, and read what it saw of ours from its RTCP reports.

The media engine (scheduler.py) calls `on_due` when a packet is due and `on_readable` when a socket
has data, always from its own thread. A reflected call sends and receives through the engine's
shared port (shared_port.py), which builds its packets in a batch and hands its replies to its trace. Everything received goes to a per-call trace file (trace.py);
the analysis reads it when the call is over.

SRTP (plan.srtp): every packet is protected on its way out and unprotected on its way in (RFC 3711),
RTP and RTCP, through the stream's SrtpLeg; what the trace records and the analysis reads is the
plain packet, so the metrics are those of plain RTP. A reflected SRTP call uses an SRTP shared port
(srtp_port.py), a third-party far end the stream's own sockets.
"""

from __future__ import annotations

import secrets
import socket
import struct
import time
from socket import SOL_SOCKET
from pathlib import Path

from ....analysis.rtp_stats import RtpStreamAnalyser
from ..io.udpsock import ANC_SPACE, SCM_TIMESTAMPNS, open_udp
from ..wire import rtcp, rtp, stamps
from ..wire.srtp import SrtpSession
from ..wire.srtp_call import SrtpLeg
from .stream_types import WATCH_NS, MediaPlan, MediaPort, MediaStreamResult, PeerReport
from .trace import TraceWriter

MAX_PACKET = 2048
FIN_TRIES = 3
FIN_INTERVAL_NS = 100_000_000
LINGER_NS = 150_000_000            # after the last packet: wait for replies still on the way
RTCP_INTERVAL_NS = 5_000_000_000   # RFC 3550 6.2: 5 s minimum interval (randomised 0.5-1.5 below)
SILENCE = {"PCMU": 0xFF, "PCMA": 0xD5}   # G.711 encodings of zero amplitude
_TIMESPEC = struct.Struct("@qq").unpack_from


class MediaStream:
    """Sockets are bound at construction (the SDP offer needs the port); `start()` after the answer."""

    def __init__(self, local_host: str, dscp: int, key: bytes, trace_path: Path, cname: str = "readiness",
                 rtcp_socket: bool = True):
        self.local_host = local_host
        self.dscp = dscp
        self.signer = stamps.Signer(key)
        self.key = key
        self.cname = cname
        tos = (dscp & 0x3F) << 2
        self.sock = open_udp(local_host, 0, tos)
        self.rtcp_sock: socket.socket | None = None
        if rtcp_socket:                      # RTCP on RTP port + 1 (RFC 3550 11) when the far end wants it
            try:
                self.rtcp_sock = open_udp(local_host, self.sock.getsockname()[1] + 1, tos)
            except Exception:
                self.rtcp_sock = None
        self.port = self.sock.getsockname()[1]
        self.ssrc = secrets.randbits(32)
        self.session_id = secrets.randbits(32)
        self.plan: MediaPlan | None = None
        self.trace = TraceWriter(trace_path)
        self.result = MediaStreamResult(True, Path(trace_path), self.ssrc, self.session_id, dscp)
        self._stop_at = 0
        self.planned_end = 1 << 62              # mono ns the packet after the last is due (a C port sets it)
        self._stop_now = False
        self._state = "new"
        self._seq = 0
        self._ts0 = secrets.randbits(32)
        self._seq0 = secrets.randbits(16)
        self._spp = 160
        self._period = 20_000_000
        self._buf = bytearray()
        self._fin_tries = 0
        self._fin_sent_seq = 0
        self._rtcp_due = 0
        self._last_sr_ntp32 = 0
        self._peer_last_sr: dict[int, tuple[int, int]] = {}  # ssrc -> (ntp32 of its SR, our rx ns)
        self._peer_stats: dict[int, _PeerCounters] = {}
        self._port: MediaPort | None = None    # reflected calls send and receive through it
        self._name = 0                          # the port's sockaddr for plan.remote
        self._pt = 0
        self._length = 0                        # bytes of a media packet
        self._filler = b""                      # payload after the stamp (codec-sized silence)
        self._fill_key: tuple[int, int] = (0, 0)
        self.srtp: SrtpLeg | None = None        # set by start() when the plan is SRTP

    # --- set-up from the SIP side ------------------------------------------------------------------

    def rtcp_port(self) -> int | None:
        return self.rtcp_sock.getsockname()[1] if self.rtcp_sock else None

    def start(self, plan: MediaPlan, duration_s: float, start_mono: int) -> None:
        """Fix the plan and when to stop; hand the stream to the engine right after."""
        self.plan = plan
        codec = plan.codec
        self._spp = codec.clock_rate * plan.ptime_ms // 1000
        self._period = plan.ptime_ms * 1_000_000
        size = codec.payload_bytes(plan.ptime_ms)
        size = stamps.payload_len(size) if plan.reflect else max(size, 1)
        fill = SILENCE.get(codec.encoding.upper(), 0)
        self._buf = bytearray(rtp.HEADER_LEN + size)
        self._buf[rtp.HEADER_LEN:] = bytes([fill]) * size
        self._payload_len = size
        self._pt = plan.payload_type
        self._length = rtp.HEADER_LEN + size
        self._filler = bytes([fill]) * max(0, self._length - stamps.PACKET_MIN)
        self._fill_key = (fill, self._length)
        r = self.result
        if plan.srtp is not None:
            self.srtp = SrtpLeg(SrtpSession(*plan.srtp))
            r.srtp_suite, r.srtp_overhead = self.srtp.suite, self.srtp.overhead
        r.reflect, r.ptime_ms, r.clock_rate = plan.reflect, plan.ptime_ms, codec.clock_rate
        n = max(1, int(round(duration_s * 1000 / plan.ptime_ms)))
        self._stop_at = n
        self._state = "send"
        # first RTCP report after 2.5 s, then every 5 s +-50 % (RFC 3550 6.2, 6.3.5 "initial" halved)
        self._rtcp_due = start_mono + RTCP_INTERVAL_NS // 2

    def stop(self) -> None:
        """Stop sending at the next tick (hang-up, BYE from the far end, Ctrl-C); safe from any thread."""
        self._stop_now = True

    def port_key(self) -> tuple[str, int, bytes, bool] | None:
        """(local address, DSCP, key, SRTP) of the shared port this stream wants, None for its own sockets."""
        if self.plan is None or not self.plan.reflect:
            return None
        return self.local_host, self.dscp, self.key, self.srtp is not None

    def attach(self, port: MediaPort) -> None:
        """Send and receive through the engine's shared port (a reflected call; engine thread)."""
        assert self.plan is not None
        self._port = port
        self._name = port.name_of(*self.plan.remote)
        port.attach(self)

    def fds(self) -> list[int]:
        if self._port is not None:
            return []                        # the port reads for it
        return [self.sock.fileno()] + ([self.rtcp_sock.fileno()] if self.rtcp_sock else [])

    def close(self) -> None:
        if self._port is not None:
            self._port.detach(self)
        leg = self.srtp
        if leg is not None:                      # what SRTP dropped on the way down
            self.result.srtp_auth_failed, self.result.srtp_replayed = leg.auth_failed, leg.replayed
            if leg.protect_failed:
                self.result.send_errors += leg.protect_failed
                self.result.last_send_error = self.result.last_send_error or "SRTP protect failed"
        self.trace.flush()
        for s in (self.sock, self.rtcp_sock):
            if s is not None:
                s.close()

    # --- sending (engine thread) -------------------------------------------------------------------

    def on_due(self, now_mono: int, due: int, wall_offset: int) -> int:
        state = self._state
        if state == "send":
            port = self._port
            if port is not None and port.schedules:     # the port sends on schedule; we watch
                # the fin takes the place of the packet after the last, as a phone's stream ends on
                # its 20 ms grid: the watch comes back by then, and after a hang-up waits for it
                if port.sending(self):
                    return min(now_mono + WATCH_NS, self.planned_end)
                self._seq = port.sent(self)
                end = port.end_due(self)
                if self.plan.reflect and end > now_mono:
                    self._state = "fin"
                    return end
                return self._begin_end(now_mono, wall_offset)
            if self._stop_now or self._seq >= self._stop_at:
                return self._begin_end(now_mono, wall_offset)
            if self._port is not None:
                self._port.queue(self, due, wall_offset)
            else:
                self._send_media(due, wall_offset)
            if now_mono >= self._rtcp_due and not self.plan.reflect:
                self._send_rtcp(wall_offset, bye=False)
                self._rtcp_due = now_mono + int(RTCP_INTERVAL_NS * (0.5 + secrets.randbelow(1000) / 1000))
            return due + self._period
        if state == "fin":
            if self._fin_tries >= FIN_TRIES or (self._port is not None and self._port.fin_seen(self)):
                self._state = "linger"
                return now_mono + LINGER_NS
            self._send_fin(wall_offset)
            return now_mono + FIN_INTERVAL_NS
        return 0                                                # linger over: done

    def _begin_end(self, now_mono: int, wall_offset: int) -> int:
        if self.plan.reflect:
            self._state = "fin"
            self._send_fin(wall_offset)
            return now_mono + FIN_INTERVAL_NS
        self._send_rtcp(wall_offset, bye=True)
        self._state = "linger"
        return now_mono + LINGER_NS

    def _send_media(self, due: int, wall_offset: int) -> None:
        """Plain RTP (a third-party far end): codec-sized silence, no stamp."""
        seq = self._seq
        t = time.monotonic_ns()
        rtp.pack_into(self._buf, self.plan.payload_type, self._seq0 + seq, self._ts0 + seq * self._spp, self.ssrc,
                         marker=(seq == 0))
        self._send(t - due, t + wall_offset)

    def _send(self, late_ns: int, wall: int) -> None:
        r = self.result
        r.schedule.add(late_ns)
        data = self._buf if self.srtp is None else self.srtp.protect(self._buf)
        try:
            if data is not None:                                # None: SRTP refused it (counted at close)
                self.sock.sendto(data, self.plan.remote)
        except OSError as e:                                    # counted: the packet is lost at our end
            r.send_errors += 1
            r.last_send_error = e.strerror or str(e)
        self._count_sent(wall)

    def _count_sent(self, wall: int) -> None:
        """A media packet went out (its stamp says `wall`): the next one is due."""
        r, seq = self.result, self._seq
        if seq == 0:
            r.first_send_ns = wall
        r.last_send_ns = wall
        r.packets_sent += 1
        r.octets_sent += self._payload_len
        self._seq = seq + 1

    def _send_fin(self, wall_offset: int) -> None:
        self._fin_tries += 1
        buf = bytearray(rtp.HEADER_LEN + stamps.STAMP_LEN)  # no codec filler: a fin is small
        # each try its own RTP sequence number: SRTP never protects one index twice (RFC 3711 9.1)
        rtp_seq = self._seq0 + self._seq + self._fin_tries - 1
        rtp.pack_into(buf, self.plan.payload_type, rtp_seq, self._ts0 + self._seq * self._spp, self.ssrc)
        stamps.write_request(buf, self.session_id, self._seq, time.monotonic_ns() + wall_offset, self.dscp,
                             self.signer, flags=stamps.FLAG_FIN)
        if self._port is not None:
            self._port.send_one(buf, self)
            return
        data = buf if self.srtp is None else self.srtp.protect(buf)
        try:
            if data is not None:
                self.sock.sendto(data, self.plan.remote)
        except OSError:
            pass

    def _send_rtcp(self, wall_offset: int, bye: bool) -> None:
        r = self.result
        now_wall = time.monotonic_ns() + wall_offset
        blocks = [self._report_block(s, now_wall) for s in sorted(r.peer_ssrcs)][:rtcp.MAX_BLOCKS]
        if r.packets_sent:
            ts = self._ts0 + int((now_wall - r.first_send_ns) * self._spp / self._period)
            data = rtcp.build_sr(self.ssrc, now_wall, ts, r.packets_sent, r.octets_sent, blocks)
            self._last_sr_ntp32 = rtcp.ntp32_from_ns(now_wall)
        else:
            data = rtcp.build_rr(self.ssrc, blocks)
        data += rtcp.build_sdes(self.ssrc, self.cname)
        if bye:
            data += rtcp.build_bye(self.ssrc)
        dest = self.plan.rtcp_remote
        sock = self.rtcp_sock if (self.rtcp_sock is not None and dest is not None) else self.sock
        if self.srtp is not None:                  # SRTCP: encrypted, with its index and tag (RFC 3711 3.4)
            data = self.srtp.protect_rtcp(data)
            if data is None:
                return
        try:
            sock.sendto(data, dest or self.plan.remote)
        except OSError:
            pass

    def _report_block(self, ssrc: int, now_wall: int) -> rtcp.ReportBlock:
        """What we saw of the peer's stream, from the counters kept while receiving (RFC 3550 A.3)."""
        st = self._peer_stats.get(ssrc)
        lsr, dlsr = 0, 0
        if ssrc in self._peer_last_sr:
            sr32, rx = self._peer_last_sr[ssrc]
            lsr, dlsr = sr32, max(0, (now_wall - rx) * 65536 // 1_000_000_000)
        if st is None:
            return rtcp.ReportBlock(ssrc, 0, 0, 0, 0, lsr, dlsr)
        return st.report_block(ssrc, lsr, dlsr)

    # --- receiving (engine thread) -----------------------------------------------------------------

    def on_readable(self, fd: int) -> None:
        """Read one datagram of a third-party far end (a reflected call's replies come through the
        shared port): epoll is level-triggered, so anything left is reported again next tick
        (one packet per call per 20 ms is the normal case; this saves a failing read per packet)."""
        sock = self.sock if fd == self.sock.fileno() else self.rtcp_sock
        if sock is None:
            return
        try:
            data, anc, _flags, _addr = sock.recvmsg(MAX_PACKET, ANC_SPACE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            return                                          # ICMP error queued: nothing to read
        rx_ns, tos = 0, -1
        for level, kind, cdata in anc:            # udpsock.ancillary() written out: the hot path
            if kind == SCM_TIMESTAMPNS and level == SOL_SOCKET:
                sec, nsec = _TIMESPEC(cdata)
                rx_ns = sec * 1_000_000_000 + nsec
            elif cdata:
                tos = cdata[0]
        if not rx_ns:
            rx_ns = time.time_ns()
        dscp = tos >> 2 if tos >= 0 else 0xFF
        rtcp_packet = rtp.is_rtcp(data)           # the header says so in SRTP/SRTCP too (clear text)
        if self.srtp is not None:                 # None: dropped, counted by the leg
            clear = self.srtp.unprotect_rtcp(data) if rtcp_packet else self.srtp.unprotect(data)
            if clear is None:
                if self.srtp.why == "other":      # not SRTP at all (a plain RTCP keep-alive, garbage)
                    self._malformed(data, self.srtp.error)
                return
            data = clear
        if rtcp_packet:
            self._on_rtcp(data, rx_ns)
        else:
            self._on_peer_rtp(data, rx_ns, dscp)

    def _malformed(self, data: bytes, why: str) -> None:
        r = self.result
        r.malformed += 1
        if not r.malformed_sample:
            r.malformed_sample = f"{why}: {bytes(data[:48]).hex()}"

    def _on_peer_rtp(self, data: bytes, rx_ns: int, dscp: int) -> None:
        h = rtp.parse(data)
        r = self.result
        if h is None:
            self._malformed(data, "not RTP")
            return
        r.peer_ssrcs.add(h.ssrc)
        counters = self._peer_stats.get(h.ssrc)
        if counters is None:
            counters = self._peer_stats[h.ssrc] = _PeerCounters(self.plan.codec.clock_rate if self.plan else 8000)
        counters.add(h.seq, h.timestamp, rx_ns)
        self.trace.rtp(h.seq, h.timestamp, h.ssrc, h.payload_type, dscp, h.marker, rx_ns)

    def _on_rtcp(self, data: bytes, rx_ns: int) -> None:
        r = self.result
        try:
            comp = rtcp.parse(data)
        except rtcp.RtcpError as e:
            self._malformed(data, str(e))
            return
        r.rtcp_received += 1
        arrival32 = rtcp.ntp32_from_ns(rx_ns)
        for rep in comp.reports:
            if rep.sender is not None:
                self._peer_last_sr[rep.ssrc] = (rep.sender.ntp32(), rx_ns)
            for b in rep.blocks:
                if b.ssrc == self.ssrc:
                    r.peer_reports.append(PeerReport(rx_ns, rep, b.rtt_ms(arrival32)))
                    break
            else:
                r.peer_reports.append(PeerReport(rx_ns, rep, None))


class _PeerCounters:
    """What we saw of a peer's stream, for the receiver report we send it (RFC 3550 6.4.1, A.3):
    the analysis layer's live analyser does the counting and the jitter; this keeps the totals of
    the previous report for `fraction lost`."""

    __slots__ = ("analyser", "expected_prior", "received_prior")

    def __init__(self, clock_rate: int) -> None:
        self.analyser = RtpStreamAnalyser(clock_rate)
        self.expected_prior = 0
        self.received_prior = 0

    def add(self, seq16: int, ts: int, rx_ns: int) -> None:
        self.analyser.add(seq16, ts, rx_ns / 1e9)

    def report_block(self, ssrc: int, lsr: int, dlsr: int) -> rtcp.ReportBlock:
        st = self.analyser.result()
        exp_int = st.expected - self.expected_prior
        lost_int = exp_int - (st.received - self.received_prior)
        self.expected_prior, self.received_prior = st.expected, st.received
        fraction = (lost_int << 8) // exp_int if exp_int > 0 and lost_int > 0 else 0
        return rtcp.ReportBlock(ssrc, fraction, st.lost, st.highest_seq or 0, st.jitter_rtcp or 0, lsr, dlsr)
