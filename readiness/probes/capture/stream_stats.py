"""From a captured stream to its numbers: feeds `readiness.analysis` and shapes the result for the report.

The per-stream numbers that must agree with Wireshark (packets, lost, max delta, mean/max jitter)
come from the Wireshark-compatible analysis, fed in chunks; MOS from the E-model
(`readiness.analysis.call_rating`). Nothing here computes jitter or loss itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ... import dscp as dscp_names
from ...analysis.call_rating import rate_call
from ...analysis.intervals import DueSeries, PacketSeries
from ...analysis.rtp_chunks import MAX_SPAN_S, RtpChunks
from ...analysis.rtp_stats import RtpStreamAnalyser, StreamStats
from ...errors import ReadinessError
from ...analysis.wireshark_chunks import WiresharkChunks
from ...analysis.wireshark_rtp import WiresharkSummary
from . import copies as copy_check
from .streams import PACKET, Stream, StreamKey

INTERVAL_S = 1.0
FLUSH_PACKETS = 8192        # packets a stream buffers before one vectorised analysis step (16 B each)
SCORED_KINDS = ("voice",)   # MOS only for voice we can decode the codec of (not SRTP, video, ...)
# E-model inputs (ITU-T G.107 Ta) a single capture point cannot see: the one-way network delay
# (taken as 0, so the MOS is what the network's loss and jitter leave at best) and the phone's jitter
# buffer: a typical fixed 40 ms, or twice the worst jitter seen when an adaptive buffer would grow.
CAPTURE_NETWORK_DELAY_MS = 0.0
NOMINAL_JITTER_BUFFER_MS = 40.0
MOS_NOTE = ("E-model (G.107) with the loss and burstiness seen here; one-way delay is not visible in a "
            "capture and is taken as 0 ms, jitter buffer {jb:g} ms")


class CaptureAnalyser:
    """What `Stream.analyser` holds: buffers packets and feeds them to the analysis in chunks."""

    def __init__(self, stream: Stream):
        self.stream = stream
        self.ws = WiresharkChunks(stream.clock_map())
        # per-second intervals: windowed criteria ("loss below 1 % in any 15 s") need the series
        self.rfc = RtpStreamAnalyser(stream.clock, jitter_mode="rfc3550", interval_s=INTERVAL_S)
        self.rfc_chunks = RtpChunks(self.rfc)
        # per-second jitter, arrival gaps and loss by when packets were due: the stream over time
        self.seconds = PacketSeries(INTERVAL_S, MAX_SPAN_S)
        self._t0_ns: int | None = None
        self._buf: list[np.ndarray] = []
        self._n = 0

    def feed(self, packets: np.ndarray) -> None:
        """PACKET records (streams.py) of the stream, owned by the analyser."""
        self._buf.append(packets)
        self._n += len(packets)
        if self._n >= FLUSH_PACKETS:
            self.flush()

    def flush(self) -> None:
        if not self._buf:
            return
        packets = np.concatenate(self._buf) if len(self._buf) > 1 else self._buf[0]
        cols = {k: packets[k].astype(np.int64 if k != "marker" else bool) for k in PACKET.names}
        self._buf, self._n = [], 0
        if self._t0_ns is None:
            self._t0_ns = int(cols["arrival_ns"][0])
        # ms since the stream's first packet: int64 ns difference first, so no precision is lost
        t_ms = (cols["arrival_ns"] - self._t0_ns) / 1e6
        pp = self.ws.feed(cols["seq"], cols["ts"], t_ms, cols["marker"], cols["pt"], per_packet=True)
        arrival_s = cols["arrival_ns"] / 1e9
        self.rfc_chunks.feed(cols["seq"], cols["ts"], arrival_s, cols["marker"], cols["pt"])
        self.seconds.feed(cols["seq"], arrival_s, pp.jitter_ms, pp.jitter_counted, pp.delta_ms, pp.regular)

    def summary(self) -> tuple[WiresharkSummary, StreamStats, DueSeries | None]:
        self.flush()
        rfc = self.rfc.result()
        return self.ws.summary(), rfc, self.seconds.result(rfc.intervals.late if rfc.intervals else None)


def new_analyser(stream: Stream) -> CaptureAnalyser:
    return CaptureAnalyser(stream)


@dataclass
class StreamResult:
    key: StreamKey
    kind: str
    codec: str
    payload_type: int
    payload_types: list[int]
    clock_hz: int | None
    clock_note: str
    setup: str                      # "sdp" or "heuristic"
    call_id: str | None
    encrypted: bool
    packets: int
    first_frame: int
    start: float
    end: float
    ws: WiresharkSummary
    rfc: StreamStats
    series: DueSeries | None
    dscp_counts: np.ndarray
    tag_counts: dict[tuple[int, int], int]
    dscp_first: dict[int, int]
    tag_first: dict[tuple[int, int], int]
    copies: int = 0                 # recorded twice by the capture point (copies.py); `packets` counts each once
    mos: float | None = None
    r_factor: float | None = None
    mos_note: str = ""
    problems: list[str] = field(default_factory=list)
    rtcp: dict[str, Any] | None = None   # the far end's view from RTCP (rtcp_reports.stream_json), if it sent any

    def label(self) -> str:
        k = self.key
        return f"{k.src}:{k.sport} -> {k.dst}:{k.dport}"

    @property
    def scored(self) -> bool:
        return self.kind in SCORED_KINDS

    @property
    def copies_pct(self) -> float:
        """Share of what was captured of this stream that were copies (50 % when every packet came twice)."""
        return round(100.0 * self.copies / (self.packets + self.copies), 1) if self.copies else 0.0

    @property
    def capture_copies(self) -> bool:
        """The capture point duplicates this stream (copies.CAPTURE_SHARE of its packets or more)."""
        return self.copies >= copy_check.CAPTURE_SHARE * self.packets > 0

    def lost_pct(self) -> float | None:
        return round(100.0 * self.ws.lost / self.ws.expected, 3) if self.ws.expected else None

    def first_wrong_frames(self, dscp: int, pcp: int, limit: int = 10) -> list[int]:
        frames = [f for d, f in self.dscp_first.items() if d != dscp]
        frames += [f for (v, p), f in self.tag_first.items() if v >= 0 and p != pcp]
        return sorted(set(frames))[:limit]

    def main_dscp(self) -> int | None:
        return int(np.argmax(self.dscp_counts)) if self.dscp_counts.sum() else None

    def main_tag(self) -> tuple[int | None, int | None]:
        if not self.tag_counts:
            return None, None
        (v, p), _ = max(self.tag_counts.items(), key=lambda kv: kv[1])
        return (v, p) if v >= 0 else (None, None)

    def to_json(self) -> dict[str, Any]:
        ws = self.ws
        measured = self.kind != "not-rtp"
        dscp = self.main_dscp()
        vlan, pcp = self.main_tag()
        r = lambda v: None if v is None or not measured else round(v, 3)  # noqa: E731
        return {
            "src": self.key.src, "sport": self.key.sport, "dst": self.key.dst, "dport": self.key.dport,
            "ssrc": f"0x{self.key.ssrc:08X}", "payload_type": self.payload_type, "payload_types": self.payload_types,
            "codec": self.codec, "kind": self.kind, "setup": self.setup, "call_id": self.call_id,
            "encrypted": self.encrypted, "clock_hz": self.clock_hz, "clock_note": self.clock_note or None,
            "first_frame": self.first_frame, "start": self.start, "end": self.end,
            "packets": self.packets, "expected": ws.expected if measured else None,
            "lost": ws.lost if measured else None, "lost_pct": self.lost_pct() if measured else None,
            "sequence_errors": ws.sequence_errors if measured else None, "seq_cycles": ws.seq_cycles,
            "duplicates": self.rfc.duplicates if measured else None,
            "copies": self.copies, "copies_pct": self.copies_pct, "capture_copies": self.capture_copies,
            "reordered": self.rfc.reordered if measured else None,
            "loss_rfc3550_pct": r(self.rfc.loss_pct), "burst_ratio": r(self.rfc.bursts.burst_ratio),
            "min_delta_ms": r(ws.delta_min_ms), "mean_delta_ms": r(ws.delta_mean_ms),
            "max_delta_ms": r(ws.delta_max_ms), "min_jitter_ms": r(ws.jitter_min_ms),
            "mean_jitter_ms": r(ws.jitter_mean_ms), "max_jitter_ms": r(ws.jitter_max_ms),
            "dscp": dscp, "dscp_name": dscp_names.name(dscp) if dscp is not None else None,
            "dscp_counts": {dscp_names.name(i): int(c) for i, c in enumerate(self.dscp_counts) if c},
            "vlan": vlan, "pcp": pcp,
            "mos": None if self.mos is None else round(self.mos, 2),
            "r_factor": None if self.r_factor is None else round(self.r_factor, 1),
            "mos_note": self.mos_note or None, "problems": self.problems,
            "series": series_json(self.series), "rtcp": self.rtcp,
        }


def series_json(d: DueSeries | None) -> dict[str, Any] | None:
    """The per-second series as the run document keeps it: null where a second has no value."""
    if d is None:
        return None

    def col(a: np.ndarray) -> list[float | None]:
        return [None if v != v else v for v in rounded(a, 3).tolist()]

    return {"start": d.origin, "step_s": d.step_s, "packets": d.packets.tolist(), "expected": d.expected.tolist(),
            "lost": d.lost.tolist(), "loss_pct": col(d.loss_pct()), "jitter_ms": col(d.jitter_ms),
            "jitter_max_ms": col(d.jitter_max_ms), "delta_max_ms": col(d.delta_max_ms)}


def rounded(a: np.ndarray, digits: int) -> np.ndarray:
    """`round(v, digits)` of each value, as Python rounds (the nearest double to the correctly rounded
    decimal), in one pass: rint(v * 10**digits) / 10**digits is that value except where v * 10**digits
    lies within its rounding error of a half, and those few go through round() itself."""
    a = np.asarray(a, dtype=np.float64)
    scale = 10.0 ** digits
    with np.errstate(invalid="ignore", over="ignore"):
        s = a * scale
        out = np.rint(s) / scale
        frac = np.abs(s - np.trunc(s))
        risky = np.flatnonzero(~(np.abs(frac - 0.5) > np.abs(s) * 1e-15 + 1e-300) | ~(np.abs(s) < 2.0 ** 50))
    for i in risky.tolist():
        v = float(a[i])
        out[i] = round(v, digits) if v == v else v
    return out


def analyse_stream(s: Stream) -> StreamResult:
    kind = s.kind()
    name, _, _ = s.encoding(s.main_pt)
    ws, rfc, series = (s.analyser if s.analyser is not None else CaptureAnalyser(s)).summary()
    res = StreamResult(
        key=s.key, kind=kind, codec=name, payload_type=s.main_pt, payload_types=sorted(s.pt_counts),
        clock_hz=s.clock, clock_note=s.clock_note, setup="heuristic" if s.heuristic else "sdp",
        call_id=s.sdp.call_id if s.sdp else None,
        encrypted=bool(s.sdp and s.sdp.media.encrypted) or kind == "srtp", packets=s.packets,
        first_frame=s.first_frame, start=s.first_ns / 1e9, end=s.last_ns / 1e9, ws=ws, rfc=rfc,
        series=series if kind != "not-rtp" else None,
        dscp_counts=s.dscp_counts.copy(), tag_counts=dict(s.tag_counts), dscp_first=dict(s.dscp_first),
        tag_first=dict(s.tag_first), copies=s.copies)
    if kind in SCORED_KINDS:
        _score(res, s)
    else:
        res.mos_note = {"srtp": "encrypted media: the codec in use cannot be confirmed, not scored",
                        "video": "video: the E-model scores voice only", "t38": "fax (T.38): not voice",
                        "events": "RFC 4733 events: not voice", "comfort-noise": "comfort noise only",
                        "not-rtp": "not RTP"}.get(kind, "codec unknown (no SDP for a dynamic payload type)")
    if s.analyser is not None and (s.analyser.rfc_chunks.intervals_dropped or s.analyser.seconds.dropped):
        res.problems.append("arrival times of this stream span more than a day (damaged timestamps?): "
                            "no per-second series")
    copy_note = copy_check.note(s.copies, s.packets)
    if copy_note:
        res.problems.append(copy_note)
    if kind == "not-rtp":
        res.problems.append("UDP that passed the RTP header test, but its sequence numbers do not progress "
                            "like RTP: not counted as media")
    if s.big_jumps:
        res.problems.append(f"sequence number jumped {s.big_jumps} time(s) by more than 3000: the sender "
                            f"restarted or another source reuses this SSRC (RFC 3550 8.2 collision)")
    return res


def _score(res: StreamResult, s: Stream) -> None:
    """MOS of a voice stream from the analysis layer's E-model (call_rating)."""
    rfc = res.rfc
    if rfc.expected <= 1:
        res.mos_note = "too few packets to score"
        return
    step = max(s.ts_step.items(), key=lambda kv: kv[1])[0] if s.ts_step else 0
    ptime = (s.sdp.media.ptime_ms if s.sdp and s.sdp.media.ptime_ms else
             (1000.0 * step / s.clock if s.clock and 0 < step < s.clock else 20.0))
    jb = max(NOMINAL_JITTER_BUFFER_MS, 2.0 * (res.ws.jitter_max_ms or 0.0))
    try:
        rating = rate_call(res.codec, CAPTURE_NETWORK_DELAY_MS, jb, loss_pct=min(rfc.loss_pct, 100.0),
                           burst_ratio=rfc.bursts.burst_ratio, ptime_ms=ptime)
    except ReadinessError as e:
        res.mos_note = f"not scored: {e}"
        return
    res.mos, res.r_factor = rating.mos, rating.r
    res.mos_note = "; ".join([MOS_NOTE.format(jb=jb)] + rating.notes)
