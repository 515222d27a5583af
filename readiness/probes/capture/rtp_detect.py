"""Which UDP packets of a batch are RTP, and their RTP header fields, vectorised.

A packet is RTP when it goes to or comes from an address and port a SIP/SDP offer or answer announced,
or, failing that, when it passes the same test as Wireshark's `rtp.heuristic_rtp` (packet-rtp.c
`dissect_rtp_heur`, 4.0): version 2, payload type not 72-76 (RTCP SR..APP with the marker bit,
RFC 5761), fixed header + CSRCs + extension within the datagram, and a sane padding count.
Like Wireshark, UDP ports that belong to another protocol are not tried (DNS, DHCP, SIP ...): a
registered dissector claims them before any heuristic runs.

That per-packet test lets some non-RTP UDP through (one random datagram in four has version 2):
streams.py judges each heuristic stream as a whole (do sequence numbers and timestamps progress?)
and labels the ones that are not RTP instead of scoring them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import decoder_c
from .layers import Layers, _Reader
from .pcap import Batch
from .sip_payloads import PREFIXES

SIP_PORTS = (5060, 5061)
RTCP_CONFLICT = (72, 76)   # RFC 5761 4: RTCP packet types 200-204 read as marker + PT 72-76

# UDP ports with a protocol of their own (IANA; the ones Wireshark dissects by port and that share
# networks with voice). Below 1024 nothing is tried at all: RTP never uses system ports in practice.
OTHER_PROTOCOL_PORTS = frozenset({
    1194,        # OpenVPN
    1701,        # L2TP
    1812, 1813,  # RADIUS
    1900,        # SSDP
    2055, 9995, 9996, 6343,   # NetFlow / sFlow
    3478, 3479, 5349,         # STUN / TURN
    3544,        # Teredo
    4500,        # IPsec NAT-T
    4789,        # VXLAN
    5060, 5061,  # SIP (parsed as SIP, never as media)
    5246, 5247,  # CAPWAP
    5353,        # mDNS
    5355,        # LLMNR
    5201,        # iperf3
})

_OTHER_PORT = np.zeros(65536, dtype=np.uint8)
_OTHER_PORT[list(OTHER_PROTOCOL_PORTS)] = 1


@dataclass
class RtpFields:
    rows: np.ndarray       # indices into the batch
    ssrc: np.ndarray       # uint32 as int64
    seq: np.ndarray        # int64 0..65535
    ts: np.ndarray         # int64 0..2^32-1
    pt: np.ndarray         # int16
    marker: np.ndarray     # bool
    header_len: np.ndarray  # int64
    announced: np.ndarray  # bool: to or from an SDP-announced endpoint


def sip_candidates(batch: Batch, lay: Layers) -> np.ndarray:
    """Rows whose UDP/TCP payload starts like a SIP start line (method name or 'SIP/2.0')."""
    r = _Reader(batch.buf)
    m = (lay.pay >= 0) & (lay.paylen >= 3)
    rows = np.flatnonzero(m)
    if not len(rows):
        return rows
    first3 = r.be(lay.pay[rows], 3).astype(np.int64)
    keys = np.array([int.from_bytes(p, "big") for p in PREFIXES], dtype=np.int64)
    return rows[np.isin(first3, keys)]


def fragmented_sip(batch: Batch, lay: Layers) -> int:
    """First IP fragments of UDP datagrams that look like SIP (SIP port or SIP start line)."""
    rows = np.flatnonzero((lay.frag_l4 >= 0) & (lay.proto == 17))
    if not len(rows):
        return 0
    r = _Reader(batch.buf)
    ports = r.be(lay.frag_l4[rows], 4).astype(np.int64)
    sport, dport = ports >> 16, ports & 0xFFFF
    first3 = r.be(lay.frag_l4[rows] + 8, 3).astype(np.int64)
    keys = np.array([int.from_bytes(p, "big") for p in PREFIXES], dtype=np.int64)
    return int(np.count_nonzero(np.isin(sport, SIP_PORTS) | np.isin(dport, SIP_PORTS) | np.isin(first3, keys)))


def endpoint_keys(hi: np.ndarray, lo: np.ndarray, port: np.ndarray) -> np.ndarray:
    """One uint64 per (address, port), for set membership against SDP-announced endpoints."""
    return _mix(_mix(hi.astype(np.uint64) ^ np.uint64(0x9E3779B97F4A7C15)) ^ lo.astype(np.uint64)) ^ \
        port.astype(np.uint64)


def near_endpoints(keys: np.ndarray, lay: Layers, rows: np.ndarray) -> np.ndarray:
    """Rows sent to or from one of the endpoints `keys` (endpoint_keys(), sorted and unique).
    A binary search per row: np.isin would sort the rows' keys with them, per batch."""
    if not len(keys) or not len(rows):
        return np.zeros(len(rows), dtype=bool)
    hit = np.zeros(len(rows), dtype=bool)
    for hi, lo, port in ((lay.dst_hi, lay.dst_lo, lay.dport), (lay.src_hi, lay.src_lo, lay.sport)):
        k = endpoint_keys(hi[rows], lo[rows], port[rows])
        hit |= keys[np.minimum(np.searchsorted(keys, k), len(keys) - 1)] == k
    return hit


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: spreads bits so XOR-combined keys rarely collide."""
    x = np.asarray(x, dtype=np.uint64)
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def detect(batch: Batch, lay: Layers, sdp_keys: np.ndarray, exclude: np.ndarray) -> RtpFields:
    """RTP rows of the batch. `sdp_keys`: endpoint_keys() of SDP-announced media endpoints (sorted);
    `exclude`: rows already claimed (SIP)."""
    if decoder_c.available():                  # then decode() made `lay` there too (contiguous columns)
        return RtpFields(**decoder_c.rtp(batch.buf, lay, exclude, sdp_keys, _OTHER_PORT))
    r = _Reader(batch.buf)
    udp = (lay.proto == 17) & (lay.pay >= 0) & (lay.paylen >= 12) & (lay.paylen_wire >= 12) & ~exclude
    rows = np.flatnonzero(udp)
    if not len(rows):
        return _empty()
    sport, dport = lay.sport[rows], lay.dport[rows]
    announced = near_endpoints(sdp_keys, lay, rows)
    other = ((np.minimum(sport, dport) < 1024) | np.isin(sport, tuple(OTHER_PROTOCOL_PORTS)) |
             np.isin(dport, tuple(OTHER_PROTOCOL_PORTS)))
    keep = announced | ~other
    rows, announced = rows[keep], announced[keep]
    if not len(rows):
        return _empty()
    p = lay.pay[rows]
    w = r.be(p, 8)                                    # V/P/X/CC, M/PT, sequence, timestamp in one read
    b0 = (w >> np.uint64(56)).astype(np.int64)
    b1 = ((w >> np.uint64(48)) & np.uint64(0xFF)).astype(np.int64)
    pt = b1 & 0x7F
    wire = lay.paylen_wire[rows]
    hlen = 12 + 4 * (b0 & 0x0F)
    ok = ((b0 >> 6) == 2) & ~((pt >= RTCP_CONFLICT[0]) & (pt <= RTCP_CONFLICT[1]))
    ext = (b0 & 0x10) != 0
    cap = lay.paylen[rows]
    if ext.any():
        ok &= ~ext | (cap >= hlen + 4)
        hlen = np.where(ext, hlen + 4 + 4 * r.u16(p + hlen + 2), hlen)
    ok &= wire >= hlen
    padded = (b0 & 0x20) != 0
    if padded.any():
        full = cap == wire
        pad = r.u8(p + wire - 1)
        ok &= ~(padded & full) | ((pad > 0) & (wire - hlen >= pad))
    rows, p, b1, pt, hlen, w, announced = rows[ok], p[ok], b1[ok], pt[ok], hlen[ok], w[ok], announced[ok]
    return RtpFields(rows=rows, ssrc=r.be(p + 8, 4).astype(np.int64),
                     seq=((w >> np.uint64(32)) & np.uint64(0xFFFF)).astype(np.int64),
                     ts=(w & np.uint64(0xFFFFFFFF)).astype(np.int64), pt=pt.astype(np.int16),
                     marker=(b1 & 0x80) != 0, header_len=hlen, announced=announced)


def _empty() -> RtpFields:
    z = np.zeros(0, dtype=np.int64)
    return RtpFields(z, z, z, z, z.astype(np.int16), z.astype(bool), z, z.astype(bool))
