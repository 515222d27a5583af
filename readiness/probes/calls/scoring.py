"""Per-call metrics, each direction on its own, computed by the analysis layer from the call's trace.

Loss, duplicates, reordering, RFC 3550 jitter, RFC 3611 bursts and the Gilbert BurstR come from
`readiness.analysis.rtp_stats.RtpStreamAnalyser`; R and MOS from `readiness.analysis.call_rating`
(ITU-T G.107 E-model; G.107 defines its inputs, not how to measure them, so feeding it is practice).
This module only decides what is fed in and picks the values a call is judged on.

Expected packets: the analyser counts from the lowest to the highest sequence it saw, so it cannot
see losses at the very start or end of a stream. The sender's own count (our packets sent; the
reflector's replies sent, from its fin answer) can, and is used as the expected total when known.

Mouth-to-ear (the E-model's Ta, ITU-T G.107): one-way network delay + jitter buffer + ptime + codec lookahead.
The jitter buffer is an assumption (no phone is in the loop): twice the worst per-second jitter,
at least JITTER_BUFFER_MIN_MS, as an adaptive buffer would settle.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from ...analysis.call_rating import CallRating, rate_call
from ...analysis.intervals import IntervalStats
from ...analysis.rtp_chunks import RtpChunks
from ...analysis.rtp_stats import RtpStreamAnalyser, StreamStats
from ...codecs import Codec
from ...errors import ReadinessError
from . import directions
from .directions import UNKNOWN_DSCP, DirectionPackets
from .media.stream_types import MediaStreamResult
from .media.trace import REPLY_DTYPE, RTP_DTYPE, load

LOSS_STEP_S = 0.2                 # Teams: "burst packet loss < 10 % during any 200 ms interval" (Microsoft Teams network requirements)
SECOND = 1.0
FEED_CHUNK = 65536
JITTER_BUFFER_MIN_MS = 20.0       # assumption: a typical phone's smallest adaptive jitter buffer
JITTER_BUFFER_FACTOR = 2.0        # assumption: buffer settles at twice the jitter it sees
LATE_NS = 5_000_000               # a packet this late is one no phone sends (issue: generator fidelity)


@dataclass
class DirectionMetrics:
    direction: str                          # up (us -> far end) or down
    packets_expected: int
    packets_received: int
    packets_lost: int
    loss_pct: float
    duplicate_pct: float
    reorder_pct: float
    jitter_ms: float | None                 # mean RFC 3550 jitter over the call
    jitter_max_ms: float | None
    burst_ratio: float
    burst_density_pct: float
    one_way_ms: float | None                # median network one-way delay
    one_way_estimated: bool                 # True: RTT/2 (clocks not synchronised)
    dscp_received: int | None               # most common DSCP seen at the receiving end
    dscp_remarked_pct: float | None         # packets that arrived with another DSCP than expected
    rating: CallRating | None
    source: str = "stamps"                  # stamps | rtp | rtcp (the far end's receiver report)
    loss_200ms: IntervalStats | None = None
    jitter_1s: IntervalStats | None = None
    one_way_1s: list[float | None] = field(default_factory=list)
    start: float | None = None              # epoch seconds of the first arrival
    end: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def mos(self) -> float | None:
        return self.rating.mos if self.rating else None

    @property
    def r_factor(self) -> float | None:
        return self.rating.r if self.rating else None

    @property
    def mouth_to_ear_ms(self) -> float | None:
        return self.rating.mouth_to_ear_ms if self.rating else None

    def without_series(self) -> "DirectionMetrics":
        return dataclasses.replace(self, loss_200ms=None, jitter_1s=None, one_way_1s=[])


@dataclass
class MediaMetrics:
    up: DirectionMetrics | None
    down: DirectionMetrics | None
    rtt_p50_ms: float | None
    rtt_p95_ms: float | None
    rtt_1s: list[float | None]
    rtt_origin: float | None
    schedule_error_p99_ms: float | None
    reason: str = ""                        # why a direction is missing
    # the generator's own fidelity: how far our sender slipped from its 20 ms schedule, and how long
    # the responder held replies (its receive to send stamps); a phone does neither
    slip_max_ms: float | None = None
    late_packets: int | None = None         # sent LATE_NS or more after their due time
    hold_max_ms: float | None = None
    late_replies: int | None = None         # held LATE_NS or more by the responder

    def without_series(self) -> "MediaMetrics":
        """The totals alone, once the series are in the run log (some 5 MiB per half-hour call)."""
        return dataclasses.replace(self, up=self.up.without_series() if self.up else None,
                                   down=self.down.without_series() if self.down else None, rtt_1s=[])


def _analyse(p: DirectionPackets, origin: float) -> tuple[StreamStats, IntervalStats | None]:
    """Feed one direction to the live analyser (200 ms intervals from `origin`), in numpy chunks
    (rtp_chunks: the analyser's own numbers; per packet only where RFC 3550 A.1's jump rules apply)."""
    a = RtpStreamAnalyser(p.clock_rate, interval_s=LOSS_STEP_S, origin=origin)
    chunks = RtpChunks(a)
    for i in range(0, len(p), FEED_CHUNK):     # in chunks: an hours-long call never becomes one big array
        part = slice(i, i + FEED_CHUNK)
        chunks.feed(p.seq16[part], p.ts[part], p.arrival_s[part])
    st = a.result()
    return st, st.intervals


def merge_intervals(iv: IntervalStats, factor: int) -> IntervalStats:
    """Coarser intervals from finer ones: counts add up, jitter is the last interval's value and
    the maximum of the maxima (what the analyser would have given with the longer step)."""
    def add(xs: list[int]) -> list[int]:
        return [sum(xs[i:i + factor]) for i in range(0, len(xs), factor)]

    def last(xs: list[float | None]) -> list[float | None]:
        out = []
        for i in range(0, len(xs), factor):
            vals = [x for x in xs[i:i + factor] if x is not None]
            out.append(vals[-1] if vals else None)
        return out

    def peak(xs: list[float | None]) -> list[float | None]:
        out = []
        for i in range(0, len(xs), factor):
            vals = [x for x in xs[i:i + factor] if x is not None]
            out.append(max(vals) if vals else None)
        return out

    return IntervalStats(iv.origin, iv.step_s * factor, add(iv.packets), add(iv.received), add(iv.expected),
                         add(iv.lost), add(iv.late), add(iv.duplicates), last(iv.jitter_ms), peak(iv.jitter_max_ms))


def _per_second(values: np.ndarray, times_s: np.ndarray, origin: float, n: int) -> list[float | None]:
    """Median of `values` in each second from `origin` (None where there is none)."""
    out: list[float | None] = [None] * n
    if len(values) == 0 or n == 0:
        return out
    k = np.floor((times_s - origin)).astype(np.int64)
    ok = (k >= 0) & (k < n)
    k, v = k[ok], np.asarray(values[ok], dtype=np.float64)
    if not len(k):
        return out
    order = np.lexsort((v, k))                 # by second, sorted within it: the middle is the median
    k, v = k[order], v[order]
    starts = np.flatnonzero(np.concatenate(([True], k[1:] != k[:-1])))
    size = np.diff(np.concatenate((starts, [len(k)])))
    med = (v[starts + (size - 1) // 2] + v[starts + size // 2]) / 2   # np.median's value, odd or even
    med[np.add.reduceat(np.isnan(v), starts) > 0] = np.nan              # as np.median: NaN in, NaN out
    for second, m in zip(k[starts].tolist(), med.tolist()):
        out[second] = m
    return out


def _dscp(p: DirectionPackets, expected_dscp: int) -> tuple[int | None, float | None]:
    known = p.dscp[p.dscp != UNKNOWN_DSCP]
    if len(known) == 0:
        return None, None
    values, counts = np.unique(known, return_counts=True)
    mode = int(values[np.argmax(counts)])
    return mode, 100.0 * float(np.count_nonzero(known != expected_dscp)) / len(known)


def direction_metrics(name: str, p: DirectionPackets, codec: Codec, ptime_ms: int, expected_dscp: int | None,
                      one_way_ms: float | None, one_way_estimated: bool, origin: float) -> DirectionMetrics:
    st, iv = _analyse(p, origin)
    expected = max(p.expected or 0, st.expected)
    lost = max(0, expected - st.received)
    loss_pct = 100.0 * lost / expected if expected else 0.0
    jitter_1s = merge_intervals(iv, int(round(SECOND / LOSS_STEP_S))) if iv is not None else None
    dscp, remarked = _dscp(p, expected_dscp) if expected_dscp is not None else (None, None)
    notes = []
    if p.estimated:
        notes.append(f"{p.estimated} packet(s) arrived but their reflection was lost on the way back: "
                     "arrival time estimated")
    rating = None
    if one_way_ms is not None:
        worst_j = max((j for j in (jitter_1s.jitter_max_ms if jitter_1s else []) if j is not None), default=0.0)
        jb = max(JITTER_BUFFER_MIN_MS, JITTER_BUFFER_FACTOR * worst_j)
        try:
            rating = rate_call(codec.name, max(0.0, one_way_ms), jb, min(loss_pct, 100.0),
                               st.bursts.burst_ratio, ptime_ms)
        except ReadinessError as e:
            notes.append(f"no E-model rating: {e}")
    n_sec = len(jitter_1s) if jitter_1s is not None else 0
    return DirectionMetrics(
        direction=name, packets_expected=expected, packets_received=st.received, packets_lost=lost,
        loss_pct=loss_pct, duplicate_pct=st.duplicate_pct, reorder_pct=st.reorder_pct,
        jitter_ms=st.jitter_mean_ms, jitter_max_ms=st.jitter_max_ms, burst_ratio=st.bursts.burst_ratio,
        burst_density_pct=st.bursts.burst_density_pct, one_way_ms=one_way_ms, one_way_estimated=one_way_estimated,
        dscp_received=dscp, dscp_remarked_pct=remarked, rating=rating,
        source="stamps" if p.clock_rate == directions.TIMING_CLOCK else "rtp", loss_200ms=iv, jitter_1s=jitter_1s,
        one_way_1s=_per_second(p.one_way_ms, p.arrival_s, origin, n_sec) if not one_way_estimated else [],
        start=st.first_arrival, end=st.last_arrival, notes=notes)


def _reflected_parts(result: MediaStreamResult):
    """(up, down, rtt_ms, rtt epoch times) of a reflected call, or the reason there are none."""
    rec = load(result.trace, REPLY_DTYPE)
    if len(rec) == 0:
        if result.srtp_auth_failed:
            return (f"no media came back from the responder ({result.srtp_auth_failed} packet(s) failed SRTP "
                    "authentication: the keys of the SDP answer do not match the media)")
        return ("no media came back from the responder"
                + (f" ({result.unauthenticated} packet(s) failed authentication: wrong or missing key?)"
                   if result.unauthenticated else " (wrong key, or media blocked on the way?)"))
    fin_view = ((result.fin_bitmap, result.fin_highest)     # its highest is 0 when nothing arrived
                if result.fin_highest is not None and result.fin_received else None)
    return directions.reflected(rec, result.packets_sent, result.ptime_ms, result.fin_replies, fin_view)


def responder_hold(result: MediaStreamResult) -> tuple[float | None, int | None]:
    """(longest, how many at least LATE_NS) of the responder's holds: its send minus its receive stamp
    of each reply (one clock, the responder's), so the network's delay is not in it."""
    rec = load(result.trace, REPLY_DTYPE)
    ok = (rec["rrx_ns"] > 0) & (rec["rtx_ns"] >= rec["rrx_ns"])
    if not ok.any():
        return None, None
    hold = rec["rtx_ns"][ok] - rec["rrx_ns"][ok]
    return float(hold.max()) / 1e6, int(np.count_nonzero(hold >= LATE_NS))


def with_fidelity(m: MediaMetrics, result: MediaStreamResult, reflected: bool) -> MediaMetrics:
    """The call's metrics with the generator's fidelity: the sender's slips from its schedule and,
    with a readiness responder, its holds."""
    try:
        hold, late_replies = responder_hold(result) if reflected else (None, None)
    except Exception:            # the hold is an extra: it must never cost the call its metrics
        hold, late_replies = None, None
    return dataclasses.replace(m, slip_max_ms=result.schedule.max_ms,
                               late_packets=result.schedule.late(LATE_NS) if result.schedule.count else None,
                               hold_max_ms=hold, late_replies=late_replies)


def _reflected_metrics(up: DirectionPackets, down: DirectionPackets, rtt: np.ndarray, rtt_t: np.ndarray,
                       result: MediaStreamResult, codec: Codec, clocks_synced: bool, origin: float,
                       p99: float | None) -> MediaMetrics:
    if len(rtt) == 0 or len(up) == 0 or len(down) == 0:
        return MediaMetrics(None, None, None, None, [], None, p99, "no media in this part of the call")
    rtt_p50 = float(np.median(rtt))
    est = not clocks_synced
    up_ow = float(np.median(up.one_way_ms)) if clocks_synced else rtt_p50 / 2
    down_ow = float(np.median(down.one_way_ms)) if clocks_synced else rtt_p50 / 2
    dscp = result.dscp_sent
    up_m = direction_metrics("up", up, codec, result.ptime_ms, dscp, up_ow, est, origin)
    down_m = direction_metrics("down", down, codec, result.ptime_ms, dscp, down_ow, est, origin)
    n_sec = len(up_m.jitter_1s) if up_m.jitter_1s else 0
    srtp_notes(result, up_m, down_m)
    return MediaMetrics(up_m, down_m, rtt_p50, float(np.percentile(rtt, 95)),
                        _per_second(rtt, rtt_t, origin, n_sec), origin, p99)


def srtp_notes(result: MediaStreamResult, up: DirectionMetrics | None, down: DirectionMetrics | None) -> None:
    """What SRTP dropped, on the direction it happened: packets whose tag did not verify (RFC 3711
    3.3; up: the responder's count from its fin) and replayed indexes that were no exact copy. They
    are lost to the analysis as they would be to a phone; the loss figures include them."""
    for d, failed, replayed in ((up, result.srtp_auth_failed_up, 0),
                                (down, result.srtp_auth_failed, result.srtp_replayed)):
        if d is None:
            continue
        if failed:
            d.notes.append(f"{failed} packet(s) failed SRTP authentication (dropped: tampered, or not our keys)")
        if replayed:
            d.notes.append(f"{replayed} SRTP packet(s) replayed an index already seen without being a copy (dropped)")


def reflected_call(result: MediaStreamResult, codec: Codec, clocks_synced: bool) -> MediaMetrics:
    """Both directions of a call answered by a readiness responder."""
    p99 = result.schedule.quantile_ms(0.99)
    parts = _reflected_parts(result)
    if isinstance(parts, str):
        return MediaMetrics(None, None, None, None, [], None, p99, parts)
    up, down, rtt, rtt_t = parts
    return _reflected_metrics(up, down, rtt, rtt_t, result, codec, clocks_synced, result.first_send_ns / 1e9, p99)


def reflected_phases(result: MediaStreamResult, codec: Codec, clocks_synced: bool,
                     windows: dict[str, tuple[float, float]]) -> dict[str, MediaMetrics]:
    """The same call scored in each time slice (epoch [start, end) on our clock): the phases of calls
    under load (alone, loaded, after). Up is sliced by our send time, down and the round trip by
    our arrival time, so a packet queued behind the load counts in the phase that sent it."""
    p99 = result.schedule.quantile_ms(0.99)
    parts = _reflected_parts(result)
    if isinstance(parts, str):
        return {name: MediaMetrics(None, None, None, None, [], None, p99, parts) for name in windows}
    up, down, rtt, rtt_t = parts
    out = {}
    for name, (lo, hi) in windows.items():
        keep = (rtt_t >= lo) & (rtt_t < hi)
        out[name] = _reflected_metrics(up.window(lo, hi), down.window(lo, hi), rtt[keep], rtt_t[keep], result,
                                       codec, clocks_synced, lo, p99)
    return out


def peer_call(result: MediaStreamResult, codec: Codec, expected_dscp: int | None) -> MediaMetrics:
    """A third-party far end: down from its RTP, up from its RTCP receiver reports about our stream."""
    rec = load(result.trace, RTP_DTYPE)
    p99 = result.schedule.quantile_ms(0.99)
    rtts = [r.rtt_ms for r in result.peer_reports if r.rtt_ms is not None]
    rtt_p50 = float(np.median(rtts)) if rtts else None
    rtt_p95 = float(np.percentile(rtts, 95)) if rtts else None
    one_way = rtt_p50 / 2 if rtt_p50 is not None else None
    origin = result.first_send_ns / 1e9 if result.first_send_ns else None
    down_m = None
    reason = ""
    if len(rec):
        p = directions.from_peer(rec, directions.main_ssrc(rec), codec.clock_rate)
        down_m = direction_metrics("down", p, codec, result.ptime_ms, expected_dscp, one_way, True,
                                   origin or float(p.arrival_s[0]))
    else:
        reason = "the far end sent no RTP"
    up_m = _up_from_rtcp(result, codec, one_way)
    srtp_notes(result, None, down_m)
    if up_m is None:
        reason = (reason + "; " if reason else "") + "the far end sent no RTCP receiver report about our stream"
    return MediaMetrics(up_m, down_m, rtt_p50, rtt_p95, [], origin, p99, reason)


def _up_from_rtcp(result: MediaStreamResult, codec: Codec, one_way_ms: float | None) -> DirectionMetrics | None:
    """What the far end said it saw of our stream, from its last receiver report block about us."""
    blocks = [(r.rx_ns, b) for r in result.peer_reports for b in r.report.blocks if b.ssrc == result.ssrc]
    if not blocks:
        return None
    rx_ns, last = blocks[-1]
    expected = result.packets_sent
    lost = max(0, min(last.cumulative_lost, expected))
    loss_pct = 100.0 * lost / expected if expected else 0.0
    jitters = [b.jitter_ms(codec.clock_rate) for _, b in blocks]
    rating = None
    notes = ["from the far end's RTCP receiver reports (totals at its last report, every ~5 s)"]
    if one_way_ms is not None:
        jb = max(JITTER_BUFFER_MIN_MS, JITTER_BUFFER_FACTOR * max(jitters))
        rating = rate_call(codec.name, one_way_ms, jb, loss_pct, 1.0, result.ptime_ms)
        notes.append("burst ratio unknown from RTCP: random loss assumed")
    return DirectionMetrics(
        direction="up", packets_expected=expected, packets_received=expected - lost, packets_lost=lost,
        loss_pct=loss_pct, duplicate_pct=0.0, reorder_pct=0.0, jitter_ms=float(np.mean(jitters)),
        jitter_max_ms=max(jitters), burst_ratio=1.0, burst_density_pct=0.0, one_way_ms=one_way_ms,
        one_way_estimated=True, dscp_received=None, dscp_remarked_pct=None, rating=rating, source="rtcp",
        start=result.first_send_ns / 1e9, end=rx_ns / 1e9, notes=notes)
