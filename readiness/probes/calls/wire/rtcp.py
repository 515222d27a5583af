"""RTCP (RFC 3550 section 6): sender and receiver reports, SDES CNAME and BYE, built and parsed;
RTCP XR (RFC 3611) VoIP Metrics report blocks parsed (and built, for tests and tools).

A third-party far end (a phone, a PBX echo service, baresip) tells us through its receiver reports
what it saw of our stream (loss, jitter), and the round trip follows from LSR/DLSR (RFC 3550 6.4.1).
`parse()` raises RtcpError on anything malformed, so the caller counts and drops it; it never
crashes on garbage and never loops (every step consumes at least one 32-bit word).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

VERSION = 2
SR, RR, SDES, BYE, APP, XR = 200, 201, 202, 203, 204, 207        # RFC 3550 12.1, RFC 3611 2
NTP_UNIX_OFFSET = 2_208_988_800                                  # seconds 1900-01-01 to 1970-01-01 (RFC 868)
CNAME = 1                                                        # RFC 3550 6.5.1
MAX_BLOCKS = 31                                                  # RC is 5 bits
_BLOCK = struct.Struct("!IB3sIIII")
XR_VOIP_METRICS = 7                                              # RFC 3611 4.7 block type
_VOIP = struct.Struct("!IBBBBHHHHbbBBBBBBBBHHH")                 # RFC 3611 4.7 after the block header (32 B)
UNAVAILABLE_127 = 127                                            # RFC 3611 4.7: R factor, MOS, levels, RERL


class RtcpError(ValueError):
    """The bytes are not a well-formed RTCP compound packet."""


@dataclass(frozen=True)
class ReportBlock:
    """RFC 3550 6.4.1: what the reporter saw of stream `ssrc`."""

    ssrc: int
    fraction_lost: int           # of 256, since the previous report
    cumulative_lost: int         # signed 24 bit
    highest_seq: int             # extended highest sequence number received
    jitter: int                  # RTP timestamp units
    lsr: int                     # middle 32 bits of the NTP time of the last SR received from us
    dlsr: int                    # delay since that SR, 1/65536 s

    def loss_fraction(self) -> float:
        return self.fraction_lost / 256.0

    def jitter_ms(self, clock_rate: int) -> float:
        return self.jitter * 1000.0 / clock_rate

    def rtt_ms(self, arrival_ntp32: int) -> float | None:
        """RFC 3550 6.4.1: A - LSR - DLSR, when the reporter has had an SR from us."""
        if not self.lsr:
            return None
        rtt = (arrival_ntp32 - self.lsr - self.dlsr) & 0xFFFFFFFF
        if rtt > 0x7FFFFFFF:                     # clocks or a bogus report: no value
            return None
        return rtt * 1000.0 / 65536.0


@dataclass(frozen=True)
class SenderInfo:
    ntp_sec: int
    ntp_frac: int
    rtp_timestamp: int
    packets: int
    octets: int

    def ntp32(self) -> int:
        """The middle 32 bits, echoed as LSR by whoever reports on this sender."""
        return ((self.ntp_sec & 0xFFFF) << 16) | (self.ntp_frac >> 16)


@dataclass(frozen=True)
class Report:
    """One SR (sender is set) or RR (sender is None)."""

    ssrc: int
    sender: SenderInfo | None
    blocks: tuple[ReportBlock, ...]


@dataclass(frozen=True)
class VoipMetrics:
    """RFC 3611 4.7: what the reporter's VoIP end system saw of stream `ssrc`, as sent (raw octets);
    the properties give the units (rates /256, durations and delays ms, MOS x10, 127 unavailable)."""

    ssrc: int
    loss_rate: int               # fraction of packets lost, of 256
    discard_rate: int            # fraction discarded (late or early for the jitter buffer), of 256
    burst_density: int           # of 256
    gap_density: int             # of 256
    burst_duration: int          # ms
    gap_duration: int            # ms
    round_trip_delay: int        # ms
    end_system_delay: int        # ms
    signal_level: int            # dBm, signed; 127 unavailable
    noise_level: int             # dBm, signed; 127 unavailable
    rerl: int                    # dB; 127 unavailable
    gmin: int
    r_factor: int                # 0-100; 127 unavailable
    ext_r_factor: int            # 0-100; 127 unavailable
    mos_lq: int                  # MOS x10 (10-50); 127 unavailable
    mos_cq: int
    rx_config: int               # PLC (2 bits), JB adaptive (2 bits), JB rate (4 bits)
    jb_nominal: int              # ms
    jb_maximum: int              # ms
    jb_abs_max: int              # ms

    @property
    def plc(self) -> int:
        return self.rx_config >> 6

    @property
    def jb_adaptive(self) -> int:
        return (self.rx_config >> 4) & 3

    @property
    def jb_rate(self) -> int:
        return self.rx_config & 0x0F


@dataclass(frozen=True)
class XrReport:
    """One XR packet (RFC 3611 2): its sender and the blocks we read; other block types are listed."""

    ssrc: int
    voip: tuple[VoipMetrics, ...]
    other_blocks: tuple[int, ...]


@dataclass
class Compound:
    reports: list[Report] = field(default_factory=list)
    cnames: dict[int, str] = field(default_factory=dict)
    bye: list[int] = field(default_factory=list)
    other: list[int] = field(default_factory=list)   # packet types we skip (APP, RTPFB, PSFB, ...)
    xr: list[XrReport] = field(default_factory=list)


def ntp_from_ns(epoch_ns: int) -> tuple[int, int]:
    sec, ns = divmod(epoch_ns, 1_000_000_000)
    return (sec + NTP_UNIX_OFFSET) & 0xFFFFFFFF, (ns << 32) // 1_000_000_000


def ntp32_from_ns(epoch_ns: int) -> int:
    sec, frac = ntp_from_ns(epoch_ns)
    return ((sec & 0xFFFF) << 16) | (frac >> 16)


def _header(count: int, ptype: int, body_len: int) -> bytes:
    if body_len % 4:
        raise ValueError("RTCP body must be a multiple of 4 bytes")
    return struct.pack("!BBH", (VERSION << 6) | (count & 0x1F), ptype, (body_len + 4) // 4 - 1)


def _blocks(blocks: list[ReportBlock]) -> bytes:
    out = bytearray()
    for b in blocks[:MAX_BLOCKS]:
        lost = max(-0x800000, min(0x7FFFFF, b.cumulative_lost)) & 0xFFFFFF   # RFC 3550 A.3 clamp
        out += _BLOCK.pack(b.ssrc & 0xFFFFFFFF, max(0, min(255, b.fraction_lost)), lost.to_bytes(3, "big"),
                           b.highest_seq & 0xFFFFFFFF, max(0, b.jitter) & 0xFFFFFFFF, b.lsr & 0xFFFFFFFF,
                           b.dlsr & 0xFFFFFFFF)
    return bytes(out)


def build_sr(ssrc: int, epoch_ns: int, rtp_timestamp: int, packets: int, octets: int,
             blocks: list[ReportBlock] | None = None) -> bytes:
    blocks = blocks or []
    sec, frac = ntp_from_ns(epoch_ns)
    body = struct.pack("!IIIIII", ssrc & 0xFFFFFFFF, sec, frac, rtp_timestamp & 0xFFFFFFFF,
                       packets & 0xFFFFFFFF, octets & 0xFFFFFFFF) + _blocks(blocks)
    return _header(min(len(blocks), MAX_BLOCKS), SR, len(body)) + body


def build_rr(ssrc: int, blocks: list[ReportBlock]) -> bytes:
    body = struct.pack("!I", ssrc & 0xFFFFFFFF) + _blocks(blocks)
    return _header(min(len(blocks), MAX_BLOCKS), RR, len(body)) + body


def build_sdes(ssrc: int, cname: str) -> bytes:
    text = cname.encode()[:255]
    chunk = struct.pack("!IBB", ssrc & 0xFFFFFFFF, CNAME, len(text)) + text + b"\0"
    chunk += b"\0" * (-len(chunk) % 4)
    return _header(1, SDES, len(chunk)) + chunk


def build_bye(ssrc: int) -> bytes:
    return _header(1, BYE, 4) + struct.pack("!I", ssrc & 0xFFFFFFFF)


def build_xr_voip(ssrc: int, m: VoipMetrics) -> bytes:
    """An XR packet with one VoIP Metrics block (RFC 3611 4.7, block length 8 words)."""
    block = struct.pack("!BBH", XR_VOIP_METRICS, 0, 8) + _VOIP.pack(
        m.ssrc & 0xFFFFFFFF, m.loss_rate, m.discard_rate, m.burst_density, m.gap_density, m.burst_duration,
        m.gap_duration, m.round_trip_delay, m.end_system_delay, m.signal_level, m.noise_level, m.rerl, m.gmin,
        m.r_factor, m.ext_r_factor, m.mos_lq, m.mos_cq, m.rx_config, 0, m.jb_nominal, m.jb_maximum, m.jb_abs_max)
    body = struct.pack("!I", ssrc & 0xFFFFFFFF) + block
    return _header(0, XR, len(body)) + body


def parse(data: bytes | bytearray | memoryview) -> Compound:
    """Parse a compound RTCP packet (RFC 3550 6.1). Raises RtcpError when it is malformed.

    A packet that does not start with SR/RR is accepted (RFC 5506 reduced-size RTCP; baresip sends
    a lone APP "PING"/"PONG"): its parts are kept or skipped like any other."""
    data = bytes(data)
    n = len(data)
    if n < 8:
        raise RtcpError(f"{n} bytes is too short for RTCP")
    out = Compound()
    pos = 0
    while pos < n:
        if n - pos < 4:
            raise RtcpError("trailing bytes after the last RTCP packet")
        b0, ptype, length = struct.unpack_from("!BBH", data, pos)
        if b0 >> 6 != VERSION:
            raise RtcpError(f"RTCP version {b0 >> 6}")
        size = (length + 1) * 4
        if pos + size > n:
            raise RtcpError("RTCP length field runs past the datagram")
        body = data[pos + 4:pos + size]
        if b0 & 0x20:                                   # padding (only valid on the last packet)
            pad = body[-1] if body else 0
            if pad == 0 or pad > len(body):
                raise RtcpError("bad RTCP padding")
            body = body[:-pad]
        count = b0 & 0x1F
        if ptype == SR:
            out.reports.append(_report(body, count, sender=True))
        elif ptype == RR:
            out.reports.append(_report(body, count, sender=False))
        elif ptype == SDES:
            out.cnames.update(_sdes(body, count))
        elif ptype == BYE:
            if len(body) < 4 * count:
                raise RtcpError("BYE shorter than its source count")
            out.bye.extend(struct.unpack_from(f"!{count}I", body))
        elif ptype == XR:
            out.xr.append(_xr(body))
        else:
            out.other.append(ptype)
        pos += size
    return out


def _report(body: bytes, count: int, sender: bool) -> Report:
    head = 24 if sender else 4
    if len(body) < head + 24 * count:
        raise RtcpError(f"{'SR' if sender else 'RR'} shorter than its {count} report blocks")
    ssrc = struct.unpack_from("!I", body)[0]
    info = SenderInfo(*struct.unpack_from("!IIIII", body, 4)) if sender else None
    blocks = []
    for i in range(count):
        s, frac, lost3, hi, jit, lsr, dlsr = _BLOCK.unpack_from(body, head + 24 * i)
        lost = int.from_bytes(lost3, "big", signed=True)
        blocks.append(ReportBlock(s, frac, lost, hi, jit, lsr, dlsr))
    return Report(ssrc, info, tuple(blocks))


def _xr(body: bytes) -> XrReport:
    """RFC 3611 2-3: sender SSRC, then blocks of BT, type-specific, length (words - 1, header included)."""
    if len(body) < 4:
        raise RtcpError("XR without its sender SSRC")
    ssrc = struct.unpack_from("!I", body)[0]
    voip: list[VoipMetrics] = []
    other: list[int] = []
    pos = 4
    while pos < len(body):
        if pos + 4 > len(body):
            raise RtcpError("XR block header runs past its packet")
        bt, _, words = struct.unpack_from("!BBH", body, pos)
        end = pos + 4 + 4 * words
        if end > len(body):
            raise RtcpError("XR block length runs past its packet")
        if bt == XR_VOIP_METRICS:
            if words != 8:
                raise RtcpError(f"XR VoIP Metrics block of {words} words (RFC 3611 4.7: 8)")
            f = _VOIP.unpack_from(body, pos + 4)
            voip.append(VoipMetrics(*f[:18], *f[19:]))          # f[18] is the reserved octet
        else:
            other.append(bt)
        pos = end
    return XrReport(ssrc, tuple(voip), tuple(other))


def _sdes(body: bytes, count: int) -> dict[int, str]:
    names: dict[int, str] = {}
    pos = 0
    for _ in range(count):
        if pos + 4 > len(body):
            raise RtcpError("SDES chunk runs past its packet")
        ssrc = struct.unpack_from("!I", body, pos)[0]
        pos += 4
        while True:
            if pos >= len(body):
                raise RtcpError("SDES items not terminated")
            item = body[pos]
            if item == 0:                               # end of list, then pad to a word
                pos = (pos + 4) & ~3
                break
            if pos + 2 > len(body) or pos + 2 + body[pos + 1] > len(body):
                raise RtcpError("SDES item runs past its packet")
            size = body[pos + 1]
            if item == CNAME:
                names[ssrc] = body[pos + 2:pos + 2 + size].decode("utf-8", "replace")
            pos += 2 + size
    return names
