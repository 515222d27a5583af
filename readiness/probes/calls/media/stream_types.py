"""What a call's media stream (stream.py), the shared ports it sends through (shared_port.py,
shared_port_c.py) and the engine (scheduler.py) share: the plan offer/answer settled, the stream's
result, its schedule error histogram, and the port as the stream sees it. A leaf: it imports none
of them, so they need not import each other in a circle.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ....codecs import Codec
from ..wire import rtcp
from ..wire.srtp import CryptoAttribute

HIST_STEP_NS = 10_000             # schedule error histogram: 10 us bins up to 10 ms
HIST_BINS = 1000
WATCH_NS = 50_000_000             # how often a stream checks for a hang-up or its last packet (C port)


class ScheduleErrors:
    """Histogram of a sender's lateness: constant memory however long the call runs."""

    __slots__ = ("bins", "over", "count", "max_ns")

    def __init__(self) -> None:
        self.bins = array("I", bytes(4 * HIST_BINS))
        self.over: list[int] = []          # beyond the histogram: kept exactly (rare)
        self.count = 0
        self.max_ns = 0

    def add(self, err_ns: int) -> None:
        if err_ns < 0:
            err_ns = 0
        i = err_ns // HIST_STEP_NS
        if i < HIST_BINS:
            self.bins[i] += 1
        else:
            self.over.append(err_ns)
        self.count += 1
        if err_ns > self.max_ns:
            self.max_ns = err_ns

    def merge(self, other: "ScheduleErrors") -> None:
        for i, n in enumerate(other.bins):
            if n:
                self.bins[i] += n
        self.over.extend(other.over)
        self.count += other.count
        self.max_ns = max(self.max_ns, other.max_ns)

    def late(self, threshold_ns: int) -> int:
        """Packets that left at least `threshold_ns` after their due time (to the bin: 10 us)."""
        first = -(-threshold_ns // HIST_STEP_NS)
        return sum(self.bins[first:]) + sum(1 for e in self.over if e >= threshold_ns)

    @property
    def max_ms(self) -> float | None:
        return self.max_ns / 1e6 if self.count else None

    def quantile_ms(self, q: float) -> float | None:
        """Upper edge of the bin holding quantile q (conservative by at most 10 us)."""
        if not self.count:
            return None
        rank = q * self.count
        seen = 0
        for i, n in enumerate(self.bins):
            seen += n
            if seen >= rank and n:
                return min((i + 1) * HIST_STEP_NS, self.max_ns) / 1e6
        over = sorted(self.over)
        return over[min(len(over) - 1, max(0, int(rank - seen) - 1))] / 1e6 if over else self.max_ns / 1e6


@dataclass
class MediaPlan:
    """What offer/answer settled: where to send, which payload type, and what the far end is."""

    remote: tuple[str, int]
    payload_type: int
    codec: Codec
    ptime_ms: int = 20
    rtcp_remote: tuple[str, int] | None = None      # None: RTCP on the RTP port (rtcp-mux) or none
    reflect: bool = True                            # the far end is a readiness responder
    srtp: tuple[CryptoAttribute, CryptoAttribute] | None = None   # (send, receive) keys: SRTP (RFC 3711)


@dataclass
class PeerReport:
    """An RTCP report the far end sent us (peer mode)."""

    rx_ns: int
    report: rtcp.Report
    rtt_ms: float | None


@dataclass
class MediaStreamResult:
    """What the stream knows when it is over; the analysis reads the trace for the rest."""

    reflect: bool
    trace: Path
    ssrc: int
    session_id: int
    dscp_sent: int
    packets_sent: int = 0
    octets_sent: int = 0
    first_send_ns: int = 0          # epoch ns of packet 0
    last_send_ns: int = 0
    ptime_ms: int = 20
    clock_rate: int = 8000
    schedule: ScheduleErrors = field(default_factory=ScheduleErrors)
    fin_received: int | None = None          # reflector: requests it received (from its fin reply)
    fin_replies: int | None = None           # reflector: replies it sent
    fin_bitmap: int = 0                      # reflector: its view at the fin (see wire/stamps.py)
    fin_highest: int | None = None
    malformed: int = 0                       # packets that were not RTP/RTCP we could use
    malformed_sample: str = ""               # the first one's first bytes (hex), to see what it was
    unauthenticated: int = 0                 # stamped packets whose MAC did not verify
    peer_reports: list[PeerReport] = field(default_factory=list)
    peer_ssrcs: set[int] = field(default_factory=set)
    rtcp_received: int = 0
    send_errors: int = 0
    last_send_error: str = ""
    srtp_suite: str = ""                     # SRTP crypto suite, "" for plain RTP
    srtp_overhead: int = 0                   # bytes SRTP adds to each packet on the wire (its tag)
    srtp_auth_failed: int = 0                # down: packets whose SRTP tag did not verify (dropped)
    srtp_auth_failed_up: int | None = None   # up: the reflector's count, from its fin reply
    srtp_replayed: int = 0                   # down: replayed SRTP indexes that were no exact copy (dropped)


class MediaPort(Protocol):
    """What a reflected stream uses of the engine's shared port (shared_port.SharedPort, or its
    C-backed subclass in shared_port_c). `sending`, `sent` and `end_due` only where `schedules` is
    True: that port sends on the stream's schedule itself, the stream only watches."""

    schedules: bool

    def name_of(self, host: str, port: int) -> int: ...
    def attach(self, stream: Any) -> None: ...
    def detach(self, stream: Any) -> None: ...
    def queue(self, stream: Any, due: int, wall_offset: int) -> None: ...
    def fin_seen(self, stream: Any) -> bool: ...
    def send_one(self, buf: bytes | bytearray, stream: Any) -> None: ...
    def sending(self, stream: Any) -> bool: ...
    def sent(self, stream: Any) -> int: ...
    def end_due(self, stream: Any) -> int: ...
