"""RTP streams in a capture: grouping packets by (source, destination, SSRC) as Wireshark does,
choosing the clock for jitter, and labelling what each stream carries.

Grouping is vectorised per batch (a hash of the stream key, checked for collisions); each stream
keeps counters and hands its packets, in arrival order, to the analysis layer
(`readiness.analysis`), which alone computes loss, jitter and MOS.

The jitter clock (documented in the README): the SDP rtpmap rate for the stream's payload type, or
RFC 3551's rate for a static payload type, as Wireshark does, checked against what the timestamps do
over the stream's first second (`analysis.clock_rate`, policy "auto"): when they advance at another
common rate (more than 5 % off), that rate is used and the stream says so (`clock_note`).
sip-rtp-l16.pcap has such a stream: SDP L16/11025, timestamps at 8000 Hz; Wireshark keeps 11025 Hz
and reports 8.4 ms of jitter that is not there; we report 0.006 ms and the note.
A dynamic payload type without SDP has no known clock: no jitter, and the stream is not scored.

Packets the capture point recorded twice (a mirror port) are taken out of their stream before it counts
anything (copies.py); the stream keeps how many. A flood of heuristic streams of a few packets each
is other UDP traffic: counted in one line, not listed (SHORT_FLOWS_LISTED).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from ... import codecs as codec_facts
from ...analysis import clock_rate
from . import copies as copy_check, decoder_c
from .layers import Layers
from .pcap import Batch
from .rtp_detect import RtpFields, _mix

if TYPE_CHECKING:
    from ..calls.sip.sdp import MediaDescription

# RFC 3551 tables 4 and 5: static payload types -> (encoding name, media).
STATIC_PT: dict[int, tuple[str, str]] = {
    0: ("PCMU", "audio"), 3: ("GSM", "audio"), 4: ("G723", "audio"), 5: ("DVI4", "audio"), 6: ("DVI4", "audio"),
    7: ("LPC", "audio"), 8: ("PCMA", "audio"), 9: ("G722", "audio"), 10: ("L16", "audio"), 11: ("L16", "audio"),
    12: ("QCELP", "audio"), 13: ("CN", "audio"), 14: ("MPA", "audio"), 15: ("G728", "audio"),
    16: ("DVI4", "audio"), 17: ("DVI4", "audio"), 18: ("G729", "audio"), 19: ("CN", "audio"),
    25: ("CelB", "video"), 26: ("JPEG", "video"), 28: ("nv", "video"), 31: ("H261", "video"),
    32: ("MPV", "video"), 33: ("MP2T", "video"), 34: ("H263", "video"),
}
COMFORT_NOISE_PTS = (13, 19)        # RFC 3389 CN, and the old reserved CN type Wireshark also skips
EVENT_ENCODINGS = ("telephone-event", "tone")  # RFC 4733
# Wireshark names PT 101 "rtpevent" when no SDP says otherwise (rtpevent.rtp_event_payload_type_value).
DEFAULT_EVENT_PT = 101
CLOCK_CHECK_PACKETS = 50    # packets (and seconds) a stream is buffered for before its clock is chosen
CLOCK_CHECK_SECONDS = 1.0
# Payload bytes per RTP timestamp tick for constant-rate codecs (RFC 3551 4.5): used to recognise the
# extra SRTP authentication tag (RFC 3711 3.1; 4 or 10 bytes, + MKI) on streams without SDP.
BYTES_PER_TICK = {0: 1.0, 8: 1.0, 9: 1.0, 3: 33 / 160, 18: 10 / 80}
SRTP_TAG_BYTES = (4, 10)
# A heuristic stream is RTP only if its sequence numbers move forward in small steps (RFC 3550 A.1
# uses MAX_DROPOUT 3000 / MAX_MISORDER 100 for the same judgement).
MAX_SEQ_STEP = 100
MIN_GOOD_STEPS = 0.8
MIN_HEURISTIC_PACKETS = 5     # fewer packets without SDP: too little to tell RTP from chance
# A UDP flow whose "RTP" changes SSRC all the time is random data: after this many SSRCs on one
# (addresses, ports) flow without SDP, its packets are counted, not turned into streams.
FLOW_SSRC_LIMIT = 32
REJECTED_FLOWS_NAMED = 10     # rejected flows named one per line; the rest are counted in one more
# Heuristic streams too short to tell from RTP (< MIN_HEURISTIC_PACKETS): a few are listed (labelled
# not-rtp) so that strays can be looked at; more are other UDP traffic (DNS-like request/response, games,
# VPNs with random ports) and are counted in one line instead of making a stream each.
SHORT_FLOWS_LISTED = 64
# What a stream hands its analysis per packet (16 bytes): one record copy per stream and batch, which
# keeps none of the batch's arrays alive.
PACKET = np.dtype([("seq", "<u2"), ("ts", "<u4"), ("arrival_ns", "<i8"), ("marker", "?"), ("pt", "u1")])


@dataclass(frozen=True)
class StreamKey:
    src: str
    sport: int
    dst: str
    dport: int
    ssrc: int


@dataclass
class SdpBinding:
    media: MediaDescription
    call_id: str
    frame: int


def address_text(ver: int, hi: int, lo: int) -> str:
    if ver == 6:
        return str(ipaddress.IPv6Address((int(hi) << 64) | int(lo)))
    return str(ipaddress.IPv4Address(int(lo) & 0xFFFFFFFF))


def address_parts(text: str) -> tuple[int, int] | None:
    try:
        a = ipaddress.ip_address(text)
    except ValueError:
        return None
    n = int(a)
    return (n >> 64, n & 0xFFFFFFFFFFFFFFFF) if a.version == 6 else (0, n)


@dataclass
class Stream:
    key: StreamKey
    first_frame: int
    heuristic: bool = True
    sdp: SdpBinding | None = None
    packets: int = 0
    pt_counts: dict[int, int] = field(default_factory=dict)
    dscp_counts: np.ndarray = field(default_factory=lambda: np.zeros(64, dtype=np.int64))
    dscp_first: dict[int, int] = field(default_factory=dict)          # DSCP -> first frame carrying it
    tag_counts: dict[tuple[int, int], int] = field(default_factory=dict)   # (vlan, pcp); (-1, -1) untagged
    tag_first: dict[tuple[int, int], int] = field(default_factory=dict)
    payload_bytes: dict[int, int] = field(default_factory=dict)   # payload size -> packets (first few sizes)
    ts_step: dict[int, int] = field(default_factory=dict)         # timestamp increment -> count (first packets)
    first_ns: int = 0
    last_ns: int = 0
    good_steps: int = 0
    steps: int = 0
    big_jumps: int = 0
    copies: int = 0                 # packets the capture point recorded again (copies.py): not counted above
    tail: copy_check.Tail | None = None
    clock: int | None = None
    clock_source: str = ""
    clock_note: str = ""
    analyser: Any = None
    _pending: list[np.ndarray] = field(default_factory=list)     # PACKET records
    _pending_n: int = 0
    _last_seq: int = -1

    # --- feeding (StreamTable.add computes the batch's per-stream figures; the rare mixed groups here) ---
    def count_mixed(self, pt: np.ndarray, dscp: np.ndarray, tag: np.ndarray, frames: np.ndarray, which: int) -> None:
        """Payload types (1), DSCPs (2), 802.1Q tags (4) of rows that are not all alike (`which`: flags)."""
        if which & 1:
            for v, c, _ in _counts(pt):
                self.pt_counts[v] = self.pt_counts.get(v, 0) + c
        if which & 2:
            for d, c, i in _counts(dscp):
                if d >= 0:
                    self.dscp_counts[d] += c
                    self.dscp_first.setdefault(d, int(frames[i]))
        if which & 4:
            for v, c, i in _counts(tag):
                self.count_tag(v, c, int(frames[i]))

    def count_tag(self, v: int, c: int, frame: int) -> None:
        key = (v >> 3, v & 7) if v >= 0 else (-1, -1)
        self.tag_counts[key] = self.tag_counts.get(key, 0) + c
        self.tag_first.setdefault(key, frame)

    def first_packets(self, paylen: np.ndarray, ts: np.ndarray) -> None:
        """Payload sizes and timestamp steps of a stream's first packets (srtp_by_size, ptime)."""
        for v, c, _ in _counts(paylen):
            self.payload_bytes[v] = self.payload_bytes.get(v, 0) + c
        if len(ts) > 1:
            for v, c, _ in _counts((ts[1:] - ts[:-1]) % (1 << 32)):
                self.ts_step[v] = self.ts_step.get(v, 0) + c

    def take(self, packets: np.ndarray, start_analysis: Callable[["Stream"], None]) -> None:
        """The stream's next packets (PACKET records, owned): buffered until its clock is chosen."""
        if self.analyser is not None:
            self.analyser.feed(packets)
            return
        self._pending.append(packets)
        self._pending_n += len(packets)
        span = (self.last_ns - self.first_ns) / 1e9
        if self._pending_n >= CLOCK_CHECK_PACKETS and span >= CLOCK_CHECK_SECONDS:
            start_analysis(self)

    def take_pending(self) -> list[np.ndarray]:
        out, self._pending, self._pending_n = self._pending, [], 0
        return out

    # --- what it is ------------------------------------------------------------------------------
    @property
    def main_pt(self) -> int:
        return max(self.pt_counts.items(), key=lambda kv: kv[1])[0] if self.pt_counts else -1

    def encoding(self, pt: int) -> tuple[str, int | None, str]:
        """(encoding name, nominal clock or None, media) of one payload type of this stream."""
        if self.sdp and pt in self.sdp.media.rtpmaps:
            rm = self.sdp.media.rtpmaps[pt]
            return rm.encoding, rm.clock_rate or None, self.sdp.media.media
        if pt in STATIC_PT:
            name, media = STATIC_PT[pt]
            return name, codec_facts.STATIC_CLOCK_RATES.get(pt), media
        if pt == DEFAULT_EVENT_PT and not self.sdp:
            return "telephone-event", None, "audio"
        return f"PT{pt}", None, self.sdp.media.media if self.sdp else "unknown"

    def sdp_rtpmap(self) -> dict[int, tuple[str, int]]:
        return {pt: (rm.encoding, rm.clock_rate) for pt, rm in self.sdp.media.rtpmaps.items()} if self.sdp else {}

    def choose_clock(self) -> None:
        """The clock for jitter (module doc), decided by `readiness.analysis.clock_rate`."""
        name, nominal, media = self.encoding(self.main_pt)
        if name.lower() in EVENT_ENCODINGS:
            self.clock = None          # Wireshark computes no jitter for RFC 4733 events
            return
        sdp_rate = self.sdp_rtpmap().get(self.main_pt, (None, None))[1]
        # video timestamps follow frames, not a sample clock: only audio is checked against arrivals
        estimate = self._estimate() if media == "audio" else None
        choice = clock_rate.choose_clock_rate("auto", self.main_pt, sdp_rate=sdp_rate or None,
                                              encoding=name, estimate=estimate)
        self.clock = choice.rate_hz
        self.clock_source = choice.source
        self.clock_note = choice.note

    def _estimate(self) -> clock_rate.ClockEstimate | None:
        if not self._pending:
            return None
        pending = np.concatenate(self._pending)
        ts, t = pending["ts"].astype(np.int64), pending["arrival_ns"]
        if len(ts) < 10 or (t[-1] - t[0]) / 1e9 < CLOCK_CHECK_SECONDS / 2:
            return None
        return clock_rate.infer_clock_rate(ts, (t - t[0]) / 1e9)

    def clock_map(self) -> dict[int, int]:
        """Payload type -> Hz the way Wireshark picks it, with the chosen clock for the main type."""
        m = clock_rate.wireshark_clock_map(self.sdp_rtpmap())
        if self.main_pt >= 0:
            m[self.main_pt] = self.clock or 0
        return m

    def looks_like_rtp(self) -> bool:
        """Sequence numbers of a real RTP stream mostly move forward by small steps."""
        if self.packets < MIN_HEURISTIC_PACKETS:
            return False
        return self.good_steps >= MIN_GOOD_STEPS * self.steps

    def srtp_by_size(self) -> bool:
        """Constant-rate codec whose payloads are an SRTP auth tag longer than the samples explain."""
        pt = self.main_pt
        if pt not in BYTES_PER_TICK or not self.ts_step or not self.payload_bytes:
            return False
        step = max(self.ts_step.items(), key=lambda kv: kv[1])[0]
        size = max(self.payload_bytes.items(), key=lambda kv: kv[1])[0]
        expected = step * BYTES_PER_TICK[pt]
        return any(abs(size - expected - tag) < 0.5 for tag in SRTP_TAG_BYTES)

    def kind(self) -> str:
        """voice | video | t38 | events | comfort-noise | srtp | unknown | not-rtp."""
        if self.heuristic and not self.looks_like_rtp():
            return "not-rtp"
        name, _, media = self.encoding(self.main_pt)
        if (self.sdp and self.sdp.media.encrypted) or self.srtp_by_size():
            return "srtp"
        if media == "image" or name.lower() == "t38":
            return "t38"
        if media == "video":
            return "video"
        if name.lower() in EVENT_ENCODINGS:
            return "events"
        if self.main_pt in COMFORT_NOISE_PTS:
            return "comfort-noise"
        if media == "audio":
            return "voice"
        return "unknown"


def _split(f: RtpFields, lay: Layers) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(order, group, starts): positions into f.rows sorted by stream key, arrival order kept inside each
    stream; a value per sorted row equal exactly within a stream; where each stream starts. Streams in
    the order of a 64-bit hash of their key (checked for collisions, then by the full key)."""
    if not len(f.rows):
        z = np.zeros(0, dtype=np.int64)
        return z, z, z
    if decoder_c.available():                 # then decode() made `lay` there too
        split = decoder_c.streams(lay, f.rows, f.ssrc)
        if split is not None:
            return split
    rows = f.rows
    fields = [a[rows] for a in (lay.ipver, lay.src_hi, lay.src_lo, lay.dst_hi, lay.dst_lo, lay.sport, lay.dport)]
    fields.append(f.ssrc)
    ver, shi, slo, dhi, dlo, sp, dp, ssrc = fields
    with np.errstate(over="ignore"):
        h = _mix(shi) ^ _mix(slo + np.uint64(1)) * np.uint64(3) ^ _mix(dhi + np.uint64(2)) * np.uint64(5) ^ \
            _mix(dlo + np.uint64(3)) * np.uint64(7) ^ _mix(sp.astype(np.uint64) << np.uint64(16) |
                                                          dp.astype(np.uint64)) * np.uint64(11) ^ \
            _mix(ssrc.astype(np.uint64) + (ver.astype(np.uint64) << np.uint64(40)))
    order = np.argsort(h, kind="stable")      # stable: arrival order kept inside each stream
    group = h[order]
    fields = [a[order] for a in fields]
    starts = np.concatenate(([0], np.flatnonzero(group[1:] != group[:-1]) + 1))
    # a row whose full key differs from its group's first row: a hash collision; then by the full key
    head = np.repeat(starts, np.diff(np.append(starts, len(group))))
    if any((a != a[head]).any() for a in fields):
        again = np.lexsort(fields[::-1])      # stable as well
        order, fields = order[again], [a[again] for a in fields]
        change = np.zeros(len(order), dtype=bool)
        for a in fields:
            change[1:] |= a[1:] != a[:-1]
        starts = np.concatenate(([0], np.flatnonzero(change[1:]) + 1))
        group = np.cumsum(change)
    return order, group, starts


def _counts(a: np.ndarray) -> list[tuple[int, int, int]]:
    """(value, count, index of first occurrence) of each value; one comparison when all are equal."""
    if len(a) == 0:
        return []
    v0 = a[0]
    if (a == v0).all():
        return [(int(v0), len(a), 0)]
    values, first, counts = np.unique(a, return_index=True, return_counts=True)
    return list(zip(values.tolist(), counts.tolist(), first.tolist()))


class StreamTable:
    """All streams of a capture, fed one batch at a time."""

    def __init__(self, make_analyser: Callable[[Stream], Any], max_streams: int = 100_000):
        self.streams: dict[tuple, Stream] = {}
        self._make = make_analyser
        self.max_streams = max_streams
        self.dropped_packets = 0      # RTP-looking packets beyond max_streams (labelled in the report)
        self._flow_ssrcs: dict[tuple, int] = {}
        self.rejected_flows: dict[tuple, int] = {}   # flow -> packets: too many SSRCs to be RTP
        self.short_flows = (0, 0)                    # (streams, packets) left out by finish(): too short
        self._identity: copy_check.Identity | None = None   # the batch being added

    def add(self, f: RtpFields, batch: Batch, lay: Layers, sdp_lookup: Callable[[Stream], SdpBinding | None],
            identity: copy_check.Identity) -> None:
        """One batch's RTP rows: split by stream, copies taken out, each stream's counters moved on.
        The per-stream figures are computed for all of the batch's streams at once (reduceat over the
        rows sorted by stream); only rows of one stream that differ in PT, DSCP or tag are counted singly."""
        if not len(f.rows):
            return
        order, group, starts = _split(f, lay)
        rows = f.rows[order]                       # batch rows, sorted by stream, arrival order in each
        first = rows[starts]
        keys = zip(*(a[first].tolist() for a in (lay.ipver, lay.src_hi, lay.src_lo, lay.dst_hi, lay.dst_lo,
                                                   lay.sport, lay.dport)), f.ssrc[order[starts]].tolist())
        cols = {"frame": rows + (batch.first + 1), "seq": f.seq[order], "ts": f.ts[order], "marker": f.marker[order],
                "pt": f.pt[order], "arrival_ns": batch.ts_ns[rows], "dscp": lay.dscp[rows], "vlan": lay.vlan[rows],
                "pcp": lay.pcp[rows], "paylen": lay.paylen_wire[rows] - f.header_len[order]}
        copy = copy_check.within(group, cols["seq"], cols["ts"], cols["arrival_ns"], rows, identity)
        ends = np.append(starts[1:], len(order))
        streams = self._resolve(keys, starts, ends, cols["frame"][starts],
                                np.logical_or.reduceat(f.announced[order], starts), sdp_lookup)
        live = np.array([s is not None for s in streams])
        if not live.any():
            return
        self._tails(streams, starts, ends, cols, rows, copy, identity)
        keep = np.repeat(live, ends - starts) & ~copy
        copies = np.add.reduceat(copy, starts).tolist()
        kept = np.add.reduceat(keep, starts)
        for stream, c in zip(streams, copies):
            if stream is not None and c:
                stream.copies += c
        if not keep.all():                        # rows of streams not analysed, or copies: taken out
            idx = np.flatnonzero(keep)
            if not len(idx):
                return
            cols = {k: v[idx] for k, v in cols.items()}
        self._count([s for s, k in zip(streams, kept.tolist()) if k], kept[kept > 0], cols)

    def _resolve(self, keys, starts: np.ndarray, ends: np.ndarray, frames: np.ndarray, announced: np.ndarray,
                 sdp_lookup: Callable[[Stream], SdpBinding | None]) -> list[Stream | None]:
        """The stream of each group (made when new), or None for rows not analysed (counted where they go)."""
        out: list[Stream | None] = []
        for full, n, frame, ann in zip(keys, (ends - starts).tolist(), frames.tolist(), announced.tolist()):
            stream = self.streams.get(full)
            if stream is None:
                stream = self._new(full, n, frame, ann, sdp_lookup)
            elif stream.heuristic and ann:
                stream.heuristic = False
            out.append(stream)
        return out

    def _new(self, full: tuple, n: int, frame: int, announced: bool,
             sdp_lookup: Callable[[Stream], SdpBinding | None]) -> Stream | None:
        flow = full[:7]
        if flow in self.rejected_flows:
            self.rejected_flows[flow] += n
            return None
        if not announced:
            count = self._flow_ssrcs[flow] = self._flow_ssrcs.get(flow, 0) + 1
            if count > FLOW_SSRC_LIMIT:
                self.rejected_flows[flow] = n
                return None
        if len(self.streams) >= self.max_streams:
            self.dropped_packets += n
            return None
        ver, shi, slo, dhi, dlo, sp, dp, ssrc = full
        key = StreamKey(address_text(ver, shi, slo), sp, address_text(ver, dhi, dlo), dp, ssrc)
        stream = Stream(key=key, first_frame=frame, heuristic=not announced)
        stream.sdp = sdp_lookup(stream)
        self.streams[full] = stream
        return stream

    @staticmethod
    def _tails(streams: list[Stream | None], starts: np.ndarray, ends: np.ndarray, cols: dict[str, np.ndarray],
               rows: np.ndarray, copy: np.ndarray, identity: copy_check.Identity) -> None:
        """A stream's first row of the batch may copy its last of the batch before (copies.continues)."""
        seq, ts, arrival = cols["seq"], cols["ts"], cols["arrival_ns"]
        firsts = zip(seq[starts].tolist(), ts[starts].tolist(), arrival[starts].tolist(), rows[starts].tolist())
        last = ends - 1
        lasts = zip(seq[last].tolist(), ts[last].tolist(), arrival[last].tolist(), rows[last].tolist())
        for stream, at, first, (s, t, a, r) in zip(streams, starts.tolist(), firsts, lasts):
            if stream is None:
                continue
            if stream.tail is not None and copy_check.continues(stream.tail, *first, identity):
                copy[at] = True
            stream.tail = copy_check.Tail(s, t, a, identity.key(r))

    def _count(self, streams: list[Stream], n: np.ndarray, cols: dict[str, np.ndarray]) -> None:
        """Counters of each stream from its rows (`n` each, in order, copies out) and its packets handed on."""
        starts = np.cumsum(n) - n
        last = starts + n - 1
        seq, arrival, frames = cols["seq"].astype(np.int64), cols["arrival_ns"], cols["frame"]
        pt, dscp = cols["pt"], cols["dscp"]
        tag = np.where(cols["vlan"] >= 0, cols["vlan"] * 8 + np.maximum(cols["pcp"], 0), -1)
        mixed = np.zeros(len(n), dtype=np.int64)
        for bit, a in ((1, pt), (2, dscp), (4, tag)):
            mixed |= np.where(np.minimum.reduceat(a, starts) != np.maximum.reduceat(a, starts), bit, 0)
        # sequence steps (looks_like_rtp), the first row's from the stream's last before this batch
        prev = np.empty(len(seq), dtype=np.int64)
        prev[1:] = seq[:-1]
        prev[starts] = [s._last_seq for s in streams]
        step = (seq - prev) % 65536
        valid = prev >= 0
        good = np.add.reduceat(valid & (step >= 1) & (step <= MAX_SEQ_STEP), starts).tolist()
        big = np.add.reduceat(valid & (step > 3000) & (step < 65536 - 100), starts).tolist()
        packets = np.empty(len(seq), dtype=PACKET)
        for k in PACKET.names:
            packets[k] = cols[k]
        firsts = (arrival[starts].tolist(), pt[starts].tolist(), dscp[starts].tolist(), tag[starts].tolist(),
                  frames[starts].tolist())
        for i, (stream, s, e, c) in enumerate(zip(streams, starts.tolist(), (last + 1).tolist(), n.tolist())):
            if not stream.packets:
                stream.first_ns = firsts[0][i]
            stream.last_ns = int(arrival[e - 1])
            stream.packets += c
            stream.steps += c if stream._last_seq >= 0 else c - 1
            stream.good_steps += good[i]
            stream.big_jumps += big[i]
            stream._last_seq = int(seq[e - 1])
            which = int(mixed[i])
            if which != 7:
                if not which & 1:
                    stream.pt_counts[firsts[1][i]] = stream.pt_counts.get(firsts[1][i], 0) + c
                if not which & 2 and firsts[2][i] >= 0:
                    stream.dscp_counts[firsts[2][i]] += c
                    stream.dscp_first.setdefault(firsts[2][i], firsts[4][i])
                if not which & 4:
                    stream.count_tag(firsts[3][i], c, firsts[4][i])
            if which:
                stream.count_mixed(pt[s:e], dscp[s:e], tag[s:e], frames[s:e], which)
            if sum(stream.payload_bytes.values()) < 200:
                stream.first_packets(cols["paylen"][s:e], cols["ts"][s:e])
            stream.take(packets[s:e].copy(), self._start)

    def _start(self, stream: Stream) -> None:
        stream.choose_clock()
        stream.analyser = self._make(stream)
        for cols in stream.take_pending():
            stream.analyser.feed(cols)

    def rejected(self) -> list[str]:
        """Problem lines: UDP that passed the RTP header test but is not RTP (call after finish())."""
        out = []
        flows = list(self.rejected_flows.items())
        for (ver, shi, slo, dhi, dlo, sp, dp), packets in flows[:REJECTED_FLOWS_NAMED]:
            out.append(f"UDP {address_text(ver, shi, slo)}:{sp} -> {address_text(ver, dhi, dlo)}:{dp} passed the RTP "
                       f"header test but changed SSRC more than {FLOW_SSRC_LIMIT} times: not RTP; "
                       f"{packets} of its packets were not analysed as media")
        if len(flows) > REJECTED_FLOWS_NAMED:
            rest = flows[REJECTED_FLOWS_NAMED:]
            out.append(f"{len(rest)} more UDP flows changed SSRC more than {FLOW_SSRC_LIMIT} times: not RTP; "
                       f"{sum(p for _, p in rest)} of their packets were not analysed as media")
        streams, packets = self.short_flows
        if streams:
            out.append(f"{streams} UDP flows ({packets} packets) passed the RTP header test with fewer than "
                       f"{MIN_HEURISTIC_PACKETS} packets each and no SIP announcing them: too short to be RTP, "
                       f"other UDP traffic (DNS-like requests and answers?); not listed as streams")
        return out

    def finish(self, sdp_lookup: Callable[[Stream], SdpBinding | None]) -> list[Stream]:
        streams = list(self.streams.values())
        for stream in streams:
            if stream.sdp is None:
                stream.sdp = sdp_lookup(stream)
        short = [s for s in streams if s.heuristic and s.sdp is None and s.packets < MIN_HEURISTIC_PACKETS]
        if len(short) > SHORT_FLOWS_LISTED:
            self.short_flows = (len(short), sum(s.packets + s.copies for s in short))
            dropped = {id(s) for s in short}
            streams = [s for s in streams if id(s) not in dropped]
        for stream in streams:
            if stream.analyser is None:
                self._start(stream)
        streams.sort(key=lambda s: s.first_frame)
        return streams
