"""RTCP in a capture: which UDP packets are RTCP compounds, what they report, and each RTP stream's
far-end view (RFC 3550 6.4 sender and receiver reports, RFC 3611 4.7 XR VoIP Metrics) beside ours.

Finding RTCP is vectorised over the batch: UDP, version 2, packet type 200-207 (RFC 3550 12.1, RFC 4585
205/206, RFC 3611 207) and a compound whose packets' length fields add up to the datagram (RFC 3550
6.1, A.2). That test does not depend on the port, so RTCP on RTP port + 1, on the SDP's a=rtcp port
and muxed on the RTP port (RFC 5761 4) are all found. Only whole compounds reach the (per packet)
parser, so a capture of RTP-looking noise never runs Python per packet. What it keeps is per reported
SSRC, never per packet, apart from the recent SR times that RTT needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..calls.wire import rtcp
from .layers import Layers, _Reader
from .pcap import Batch
from .rtp_detect import OTHER_PROTOCOL_PORTS
from .streams import address_text

FIRST_TYPES = (200, 207)      # SR, RR, SDES, BYE, APP, RTPFB, PSFB, XR may open a compound (RFC 5506 too)
PART_TYPES = (192, 223)       # what RFC 5761 4 reserves for RTCP: later parts of a compound
MAX_PARTS = 16                # parts walked vectorised; a longer compound is handed to the parser whole
MAX_EXAMPLES = 5
SR_KEPT = 64                  # SR times kept per sender for RTT (RRs answer the last one or two)


@dataclass
class _Far:
    """What one reporter said about one stream (RR / SR report blocks, XR VoIP Metrics)."""

    reporter_ssrc: int
    reporter: str
    reports: int = 0
    last_ns: int = 0
    block: rtcp.ReportBlock | None = None
    fraction_max: int = 0
    jitter_max: int = 0
    rtt_ms: float | None = None
    rtt_max_ms: float | None = None
    rtt_samples: int = 0
    xr: rtcp.VoipMetrics | None = None
    xr_reports: int = 0


@dataclass
class _Sent:
    """One sender's own SRs (RFC 3550 6.4.1 sender info)."""

    reports: int = 0
    last_ns: int = 0
    info: rtcp.SenderInfo | None = None
    bye: bool = False


@dataclass
class RtcpWatch:
    packets: int = 0
    parsed: int = 0
    sender_reports: int = 0
    receiver_reports: int = 0
    xr_voip_blocks: int = 0
    bad: list[dict[str, Any]] = field(default_factory=list)
    bad_count: int = 0
    far: dict[tuple[int, str], _Far] = field(default_factory=dict)        # (reported SSRC, reporter IP)
    sent: dict[tuple[int, str], _Sent] = field(default_factory=dict)      # (sender SSRC, sender IP)
    sr_times: dict[int, dict[int, int]] = field(default_factory=dict)     # sender SSRC -> NTP32 -> capture ns
    used: set[tuple[str, tuple[int, str]]] = field(default_factory=set)

    def watch(self, batch: Batch, lay: Layers, exclude: np.ndarray) -> np.ndarray:
        """Rows of the batch that are RTCP (to be claimed: never RTP, never 'other' traffic)."""
        rows, whole, why = find(batch, lay, exclude)
        self.packets += len(rows)
        for i, ok, reason in zip(rows.tolist(), whole.tolist(), why):
            frame = batch.first + i + 1
            if not ok:
                self._not_parsed(frame, reason)
                continue
            data = batch.buf[lay.pay[i]:lay.pay[i] + lay.paylen[i]].tobytes()
            try:
                comp = rtcp.parse(data)
            except rtcp.RtcpError as e:
                self._not_parsed(frame, str(e))
                continue
            self.parsed += 1
            src = address_text(int(lay.ipver[i]), int(lay.src_hi[i]), int(lay.src_lo[i]))
            self._add(comp, int(batch.ts_ns[i]), src, int(lay.sport[i]))
        return rows

    def _not_parsed(self, frame: int, reason: str) -> None:
        self.bad_count += 1
        if len(self.bad) < MAX_EXAMPLES:
            self.bad.append({"frame": frame, "why": reason})

    def _add(self, comp: rtcp.Compound, ts_ns: int, src: str, sport: int) -> None:
        for rep in comp.reports:
            if rep.sender is not None:
                self.sender_reports += 1
                s = self.sent.setdefault((rep.ssrc, src), _Sent())
                s.reports, s.last_ns, s.info = s.reports + 1, ts_ns, rep.sender
                times = self.sr_times.setdefault(rep.ssrc, {})
                times[rep.sender.ntp32()] = ts_ns
                if len(times) > SR_KEPT:
                    del times[next(iter(times))]
            else:
                self.receiver_reports += 1
            for b in rep.blocks:
                # the block's SSRC is the stream reported on; the reporter is its receiver (RFC 3550 6.4.1)
                f = self._far(b.ssrc, rep.ssrc, src, sport)
                f.reports, f.last_ns, f.block = f.reports + 1, ts_ns, b
                f.fraction_max, f.jitter_max = max(f.fraction_max, b.fraction_lost), max(f.jitter_max, b.jitter)
                rtt = self._rtt(b, ts_ns)
                if rtt is not None:
                    f.rtt_ms, f.rtt_samples = rtt, f.rtt_samples + 1
                    f.rtt_max_ms = rtt if f.rtt_max_ms is None else max(f.rtt_max_ms, rtt)
        for x in comp.xr:
            for m in x.voip:                                  # RFC 3611 4.7: SSRC of source = stream reported on
                self.xr_voip_blocks += 1
                f = self._far(m.ssrc, x.ssrc, src, sport)
                f.xr, f.xr_reports = m, f.xr_reports + 1
        for ssrc in comp.bye:
            s = self.sent.get((ssrc, src))
            if s is not None:
                s.bye = True

    def _far(self, ssrc: int, reporter_ssrc: int, src: str, sport: int) -> _Far:
        f = self.far.get((ssrc, src))
        if f is None:
            f = self.far[(ssrc, src)] = _Far(reporter_ssrc, f"{src}:{sport}")
        return f

    def _rtt(self, b: rtcp.ReportBlock, ts_ns: int) -> float | None:
        """RFC 3550 6.4.1 round trip A - LSR - DLSR, with A and the SR's send time both read from the
        capture clock (the SR whose NTP middle 32 bits are LSR, when it was captured), as Wireshark does:
        the endpoints' own clocks need not agree with the capture's. Only when that SR is in the capture."""
        if not b.lsr:
            return None
        sr_ns = self.sr_times.get(b.ssrc, {}).get(b.lsr)
        if sr_ns is None or sr_ns > ts_ns:
            return None
        return round((ts_ns - sr_ns) / 1e6 - b.dlsr * 1000.0 / 65536.0, 3)

    def attach(self, streams: list[Any]) -> None:
        """Set `rtcp` on every stream (StreamResult) something reported on or whose sender sent SRs."""
        for s in streams:
            k = s.key
            far = _pick(self.far, k.ssrc, k.dst)
            sent = _pick(self.sent, k.ssrc, k.src)
            for kind, (key, _) in (("far", far), ("sent", sent)):
                if key is not None:
                    self.used.add((kind, key))
            if far[1] is None and sent[1] is None:
                continue
            s.rtcp = stream_json(far[1], sent[1], s.clock_hz)

    def summary(self) -> dict[str, Any]:
        unmatched = sum(1 for k in self.far if ("far", k) not in self.used)
        return {"packets": self.packets, "parsed": self.parsed, "not_parsed": self.bad_count,
                "sender_reports": self.sender_reports, "receiver_reports": self.receiver_reports,
                "xr_voip_blocks": self.xr_voip_blocks, "reports_on_unseen_streams": unmatched,
                "not_parsed_examples": self.bad}

    def problems(self) -> list[str]:
        if not self.bad_count:
            return []
        first = "; ".join(f"frame {b['frame']}: {b['why']}" for b in self.bad[:3])
        return [f"{self.bad_count} of {self.packets} RTCP packets could not be read ({first})"]


def _pick(table: dict[tuple[int, str], Any], ssrc: int, addr: str) -> tuple[tuple[int, str] | None, Any]:
    """The entry for this SSRC from this address; else the only one for the SSRC (NAT between the
    capture point and the endpoint); none when several claim it."""
    hit = table.get((ssrc, addr))
    if hit is not None:
        return (ssrc, addr), hit
    keys = [k for k in table if k[0] == ssrc]
    return (keys[0], table[keys[0]]) if len(keys) == 1 else (None, None)


def stream_json(f: _Far | None, s: _Sent | None, clock_hz: int | None) -> dict[str, Any]:
    """The far end's view of one stream, as analyze --json keeps it under the stream's `rtcp`."""
    ms = lambda j: None if j is None or not clock_hz else round(j * 1000.0 / clock_hz, 3)  # noqa: E731
    b = f.block if f else None
    out: dict[str, Any] = {
        "reports": f.reports if f else 0,
        "reporter_ssrc": f"0x{f.reporter_ssrc:08X}" if f else None, "reporter": f.reporter if f else None,
        "last_report": f.last_ns / 1e9 if f and f.reports else None,
        # RFC 3550 6.4.1: fraction lost is of 256, since the reporter's previous report
        "fraction_lost_pct_last": round(100.0 * b.fraction_lost / 256, 2) if b else None,
        "fraction_lost_pct_max": round(100.0 * f.fraction_max / 256, 2) if b else None,
        "cumulative_lost": b.cumulative_lost if b else None, "highest_seq": b.highest_seq if b else None,
        # interarrival jitter is in RTP timestamp units: ms by the stream's clock
        "jitter_last": b.jitter if b else None, "jitter_ms_last": ms(b.jitter) if b else None,
        "jitter_ms_max": ms(f.jitter_max) if b else None,
        "rtt_ms": f.rtt_ms if f else None, "rtt_ms_max": f.rtt_max_ms if f else None,
        "rtt_samples": f.rtt_samples if f else 0,
        "sender": None, "xr": xr_json(f.xr, f.xr_reports) if f and f.xr else None,
    }
    if s is not None and s.info is not None:
        i = s.info
        out["sender"] = {"reports": s.reports, "packets": i.packets, "octets": i.octets, "last_sr": s.last_ns / 1e9,
                         "ntp_time": ntp_unix(i.ntp_sec, i.ntp_frac),
                         "rtp_timestamp": i.rtp_timestamp, "bye": s.bye}
    return out


def ntp_unix(sec: int, frac: int) -> float:
    """The SR's NTP timestamp as Unix time; seconds with the top bit clear are era 1, from 2036
    (RFC 4330 3), as Wireshark reads them."""
    era = 2 ** 32 if sec < 2 ** 31 else 0
    return round(sec + era - rtcp.NTP_UNIX_OFFSET + frac / 2 ** 32, 6)


def xr_json(m: rtcp.VoipMetrics, reports: int) -> dict[str, Any]:
    """RFC 3611 4.7 units: rates and densities of 256, durations and delays ms, MOS x10, 127 unavailable."""
    u = lambda v, scale=1.0: None if v == rtcp.UNAVAILABLE_127 else round(v / scale, 2)  # noqa: E731
    pct = lambda v: round(100.0 * v / 256, 2)  # noqa: E731
    return {"reports": reports, "loss_rate_pct": pct(m.loss_rate), "discard_rate_pct": pct(m.discard_rate),
            "burst_density_pct": pct(m.burst_density), "gap_density_pct": pct(m.gap_density),
            "burst_duration_ms": m.burst_duration, "gap_duration_ms": m.gap_duration,
            "round_trip_delay_ms": m.round_trip_delay, "end_system_delay_ms": m.end_system_delay,
            "signal_level_dbm": u(m.signal_level), "noise_level_dbm": u(m.noise_level), "rerl_db": u(m.rerl),
            "gmin": m.gmin, "r_factor": u(m.r_factor), "ext_r_factor": u(m.ext_r_factor),
            "mos_lq": u(m.mos_lq, 10.0), "mos_cq": u(m.mos_cq, 10.0), "plc": m.plc, "jb_adaptive": m.jb_adaptive,
            "jb_rate": m.jb_rate, "jb_nominal_ms": m.jb_nominal, "jb_maximum_ms": m.jb_maximum,
            "jb_abs_max_ms": m.jb_abs_max}


def find(batch: Batch, lay: Layers, exclude: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """RTCP-looking rows of the batch, whether each is a whole compound (lengths add up, fully captured),
    and why not. Vectorised: the walk over a compound's parts is one step per part for all rows."""
    r = _Reader(batch.buf)
    m = (lay.proto == 17) & (lay.pay >= 0) & (lay.paylen >= 4) & (lay.paylen_wire >= 4) & ~exclude
    rows = np.flatnonzero(m)
    if not len(rows):
        return rows, np.zeros(0, dtype=bool), []
    sport, dport = lay.sport[rows], lay.dport[rows]
    keep = ~((np.minimum(sport, dport) < 1024) | np.isin(sport, tuple(OTHER_PROTOCOL_PORTS)) |
             np.isin(dport, tuple(OTHER_PROTOCOL_PORTS)))
    rows = rows[keep]
    w = r.be(lay.pay[rows], 4).astype(np.int64)
    pt = (w >> 16) & 0xFF
    rows = rows[((w >> 30) == 2) & (pt >= FIRST_TYPES[0]) & (pt <= FIRST_TYPES[1])]
    if not len(rows):
        return rows, np.zeros(0, dtype=bool), []
    p, wire, cap = lay.pay[rows], lay.paylen_wire[rows], lay.paylen[rows]
    pos = ((r.be(p, 4).astype(np.int64) & 0xFFFF) + 1) * 4
    good = np.ones(len(rows), dtype=bool)
    for _ in range(MAX_PARTS):
        more = good & (pos < wire) & (pos < cap)
        if not more.any():
            break
        h = r.be(p + pos, 4).astype(np.int64)
        part = (h >> 16) & 0xFF
        fits = pos + 4 <= cap
        good &= ~more | (fits & ((h >> 30) == 2) & (part >= PART_TYPES[0]) & (part <= PART_TYPES[1]))
        pos = np.where(more & good, pos + ((h & 0xFFFF) + 1) * 4, pos)
    full = cap == wire
    walked = good & (pos == wire)
    long_ = good & (pos < wire) & full          # more parts than MAX_PARTS: the parser decides
    whole = full & (walked | long_)
    why = ["" if ok else ("fewer bytes captured than its UDP header says" if not f else
                          "its RTCP length fields do not add up to the datagram (RFC 3550 6.1; SRTCP?)")
           for ok, f in zip(whole.tolist(), full.tolist())]
    return rows, whole, why
