"""Vectorised decoding of a Batch: link layer (with 802.1Q / 802.1ad tags), IPv4/IPv6, UDP/TCP.

Every field is an array with one entry per packet of the batch; packets a layer does not apply to
carry -1 (or 0 for addresses). Reads past a packet's captured bytes are clipped to the chunk and masked
out afterwards, so a snaplen-cut or garbled packet yields "not decoded", never an exception.

Link types (LINKTYPE_* numbers from the tcpdump.org link-layer header registry): Ethernet,
BSD loopback (host and network order), raw IP, Linux cooked SLL and SLL2, Cisco HDLC.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import decoder_c
from .pcap import Batch

ETHERNET, NULL, RAW, RAW_12, RAW_14, C_HDLC, LOOP, SLL, IPV4, IPV6, SLL2 = (
    1, 0, 101, 12, 14, 104, 108, 113, 228, 229, 276)
LINKTYPE_NAMES = {ETHERNET: "Ethernet", NULL: "BSD loopback", RAW: "raw IP", RAW_12: "raw IP",
                  RAW_14: "raw IP", C_HDLC: "Cisco HDLC", LOOP: "OpenBSD loopback", SLL: "Linux cooked (SLL)",
                  IPV4: "raw IPv4", IPV6: "raw IPv6", SLL2: "Linux cooked v2 (SLL2)"}
SUPPORTED = frozenset(LINKTYPE_NAMES)

VLAN_TPIDS = (0x8100, 0x88A8, 0x9100)     # IEEE 802.1Q C-tag, 802.1ad S-tag, legacy QinQ
ETH_IPV4, ETH_IPV6, ETH_LLDP = 0x0800, 0x86DD, 0x88CC
# CDP rides on 802.3 + LLC/SNAP (OUI 00-00-0C, PID 0x2000) or Cisco HDLC protocol 0x2000 (Cisco's CDP, as
# Wireshark's packet-cdp.c reads it: Cisco publishes no standard).
PID_CDP = 0x2000
# Marker we give SNAP-encapsulated Cisco frames, so CDP is found by "ethertype" like LLDP.
ETH_CISCO_SNAP = 0x10000
IPPROTO_TCP, IPPROTO_UDP = 6, 17
IPV6_EXT = (0, 43, 60)                    # hop-by-hop, routing, destination options: skipped
IPV6_FRAG = 44
# BSD loopback address family values for IPv6 differ per OS (NetBSD/OpenBSD 24, FreeBSD 28, Darwin 30).
NULL_INET6 = (24, 28, 30)


@dataclass
class Layers:
    n: int
    linktype_ok: np.ndarray    # bool: link type supported
    ethertype: np.ndarray      # int32: after VLAN tags; -1 unknown
    mac_src: np.ndarray        # uint64: Ethernet / SLL source address, 0 if none
    vlan: np.ndarray           # int32: innermost tag's VID (the customer's 802.1Q tag), -1 untagged
    pcp: np.ndarray            # int16: innermost tag's priority, -1 untagged
    outer_vlan: np.ndarray     # int32: the outer (service, 802.1ad) tag's VID when double-tagged, -1
    l2: np.ndarray             # int64: offset of the layer-2 payload (what ethertype names)
    ipver: np.ndarray          # int8: 4, 6 or 0
    src_hi: np.ndarray         # uint64: IPv6 high half; 0 for IPv4
    src_lo: np.ndarray         # uint64: IPv6 low half or IPv4 address
    dst_hi: np.ndarray
    dst_lo: np.ndarray
    dscp: np.ndarray           # int16: -1 when not IP
    proto: np.ndarray          # int16: IP protocol / IPv6 next header, -1
    fragment: np.ndarray       # bool: IP fragment (not the whole datagram)
    frag_l4: np.ndarray        # int64: transport header offset in a FIRST fragment (offset 0), else -1
    sport: np.ndarray          # int32: -1 when not UDP/TCP
    dport: np.ndarray
    pay: np.ndarray            # int64: offset of UDP/TCP payload in the chunk
    paylen: np.ndarray         # int64: payload bytes captured (<= reported)
    paylen_wire: np.ndarray    # int64: payload bytes the header says were sent


class _Reader:
    """Big-endian reads at arbitrary offsets, clipped to the chunk.

    Multi-byte reads index an unaligned strided view of the chunk (one element per byte offset), so a
    field of every packet is one fancy-index operation.
    """

    def __init__(self, buf: np.ndarray):
        self.buf = buf
        self.last = max(len(buf) - 1, 0)
        self._views: dict[int, np.ndarray] = {}

    def u8(self, idx: np.ndarray) -> np.ndarray:
        if not len(self.buf):
            return np.zeros(len(idx), dtype=np.int64)
        return self.buf[np.clip(idx, 0, self.last)].astype(np.int64)

    def be(self, idx: np.ndarray, width: int) -> np.ndarray:
        if width not in (2, 4, 8):
            out = np.zeros(len(idx), dtype=np.uint64)
            for k in range(width):
                out = (out << np.uint64(8)) | self.u8(idx + k).astype(np.uint64)
            return out
        if len(self.buf) < width:
            return np.zeros(len(idx), dtype=np.uint64)
        view = self._views.get(width)
        if view is None:
            view = np.ndarray(shape=(len(self.buf) - width + 1,), dtype=f">u{width}", buffer=self.buf,
                              strides=(1,))
            self._views[width] = view
        return view[np.clip(idx, 0, len(view) - 1)].astype(np.uint64)

    def u16(self, idx: np.ndarray) -> np.ndarray:
        return self.be(idx, 2).astype(np.int64)


def decode(batch: Batch) -> Layers:
    if decoder_c.available():
        return Layers(n=len(batch), **decoder_c.layers(batch.buf, batch.off, batch.caplen, batch.linktype))
    r = _Reader(batch.buf)
    n = len(batch)
    base, end = batch.off, batch.off + batch.caplen
    lt = batch.linktype
    i64 = lambda v: np.full(n, v, dtype=np.int64)  # noqa: E731
    ethertype, l2 = i64(-1), i64(-1)
    mac_src = np.zeros(n, dtype=np.uint64)

    eth = (lt == ETHERNET) & (base + 14 <= end)      # a link header cut short decodes as nothing
    if eth.any():
        w = r.be(base[eth] + 6, 8)                   # source MAC (6 bytes) + EtherType in one read
        ethertype[eth] = (w & np.uint64(0xFFFF)).astype(np.int64)
        mac_src[eth] = w >> np.uint64(16)
        l2[eth] = base[eth] + 14
        _snap(r, eth & (ethertype >= 0) & (ethertype <= 1500), ethertype, l2, end)
    sll = (lt == SLL) & (base + 16 <= end)
    if sll.any():
        ethertype[sll] = r.u16(base[sll] + 14)
        l2[sll] = base[sll] + 16
        mac_src[sll] = r.be(base[sll] + 6, 6)
    sll2 = (lt == SLL2) & (base + 20 <= end)
    if sll2.any():
        ethertype[sll2] = r.u16(base[sll2])
        l2[sll2] = base[sll2] + 20
        mac_src[sll2] = r.be(base[sll2] + 12, 6)
    hdlc = (lt == C_HDLC) & (base + 4 <= end)
    if hdlc.any():
        proto = r.u16(base[hdlc] + 2)
        ethertype[hdlc] = np.where(proto == PID_CDP, ETH_CISCO_SNAP + PID_CDP, proto)
        l2[hdlc] = base[hdlc] + 4
    loop = ((lt == NULL) | (lt == LOOP)) & (base + 4 <= end)
    if loop.any():
        fam_be = r.be(base[loop], 4).astype(np.int64)
        fam_le = r.be(base[loop], 4).astype(np.uint32).byteswap().astype(np.int64)
        fam = np.where(lt[loop] == LOOP, fam_be, np.where(fam_be > 0xFFFF, fam_le, fam_be))
        ethertype[loop] = np.where(fam == 2, ETH_IPV4, np.where(np.isin(fam, NULL_INET6), ETH_IPV6, -1))
        l2[loop] = base[loop] + 4
    raw = np.isin(lt, (RAW, RAW_12, RAW_14, IPV4, IPV6)) & (base + 1 <= end)
    if raw.any():
        ver = r.u8(base[raw]) >> 4
        ethertype[raw] = np.where(ver == 4, ETH_IPV4, np.where(ver == 6, ETH_IPV6, -1))
        l2[raw] = base[raw]

    vlan, outer = i64(-1), i64(-1)
    pcp = i64(-1)
    for level in range(2):                  # outer tag, then a QinQ inner tag (which then counts)
        tagged = np.isin(ethertype, VLAN_TPIDS) & (l2 + 4 <= end)
        if not tagged.any():
            break
        tci = r.u16(l2[tagged])
        if level == 1:
            outer[tagged] = vlan[tagged]
        vlan[tagged] = tci & 0x0FFF
        pcp[tagged] = tci >> 13
        ethertype[tagged] = r.u16(l2[tagged] + 2)
        l2[tagged] += 4
        _snap(r, tagged & (ethertype >= 0) & (ethertype <= 1500), ethertype, l2, end)

    out = Layers(n=n, linktype_ok=np.isin(lt, tuple(SUPPORTED)), ethertype=ethertype.astype(np.int32),
                 mac_src=mac_src, vlan=vlan.astype(np.int32), pcp=pcp.astype(np.int16),
                 outer_vlan=outer.astype(np.int32), l2=l2, ipver=np.zeros(n, dtype=np.int8),
                 src_hi=np.zeros(n, dtype=np.uint64), src_lo=np.zeros(n, dtype=np.uint64),
                 dst_hi=np.zeros(n, dtype=np.uint64), dst_lo=np.zeros(n, dtype=np.uint64),
                 dscp=np.full(n, -1, dtype=np.int16), proto=np.full(n, -1, dtype=np.int16),
                 fragment=np.zeros(n, dtype=bool), frag_l4=i64(-1), sport=np.full(n, -1, dtype=np.int32),
                 dport=np.full(n, -1, dtype=np.int32), pay=i64(-1), paylen=i64(0), paylen_wire=i64(0))
    l4, l4_end = i64(-1), end.copy()
    _ipv4(r, out, ethertype == ETH_IPV4, l2, end, l4, l4_end)
    _ipv6(r, out, ethertype == ETH_IPV6, l2, end, l4, l4_end)
    _transport(r, out, l4, l4_end, end)
    return out


def _snap(r: _Reader, m: np.ndarray, ethertype: np.ndarray, l2: np.ndarray, end: np.ndarray) -> None:
    """802.3 length field: LLC/SNAP AA-AA-03 + OUI + PID. Cisco's OUI 00-00-0C gets the marker range."""
    m = m & (l2 + 8 <= end)
    if not m.any():
        return
    llc = r.be(l2[m], 3)
    oui = r.be(l2[m] + 3, 3)
    pid = r.u16(l2[m] + 6)
    snap = llc == 0xAAAA03
    ethertype[m] = np.where(snap & (oui == 0x00000C), ETH_CISCO_SNAP + pid, np.where(snap & (oui == 0), pid, -1))
    l2[m] = np.where(snap, l2[m] + 8, l2[m])


def _ipv4(r: _Reader, out: Layers, m: np.ndarray, l2: np.ndarray, end: np.ndarray,
          l4: np.ndarray, l4_end: np.ndarray) -> None:
    m = m & (l2 + 20 <= end)
    if not m.any():
        return
    h = l2[m]
    w0 = r.be(h, 8)                                   # version/IHL, ToS, length, id, flags
    vihl = (w0 >> np.uint64(56)).astype(np.int64)
    ihl = (vihl & 0x0F) * 4
    ok = ((vihl >> 4) == 4) & (ihl >= 20)
    idx = np.flatnonzero(m)[ok]
    h, ihl, w0 = h[ok], ihl[ok], w0[ok]
    w1 = r.be(h + 8, 8)                               # TTL, protocol, checksum, source
    out.ipver[idx] = 4
    out.dscp[idx] = ((w0 >> np.uint64(50)) & np.uint64(0x3F)).astype(np.int16)   # RFC 2474: ToS >> 2
    total = ((w0 >> np.uint64(32)) & np.uint64(0xFFFF)).astype(np.int64)
    # MF set or a fragment offset: not a whole datagram
    out.fragment[idx] = (w0 & np.uint64(0x3FFF)) != 0
    out.proto[idx] = ((w1 >> np.uint64(48)) & np.uint64(0xFF)).astype(np.int16)
    out.src_lo[idx] = w1 & np.uint64(0xFFFFFFFF)
    out.dst_lo[idx] = r.be(h + 16, 4)
    first = (w0 & np.uint64(0x3FFF)) == np.uint64(0x2000)      # MF set, offset 0
    out.frag_l4[idx[first]] = (h + ihl)[first]
    l4[idx] = h + ihl
    # total length 0 happens on captures of TSO/GSO output: trust the captured bytes then
    l4_end[idx] = np.where(total >= ihl, h + total, end[idx])


def _ipv6(r: _Reader, out: Layers, m: np.ndarray, l2: np.ndarray, end: np.ndarray,
          l4: np.ndarray, l4_end: np.ndarray) -> None:
    m = m & (l2 + 40 <= end)
    if not m.any():
        return
    h = l2[m]
    ok = (r.u8(h) >> 4) == 6
    idx = np.flatnonzero(m)[ok]
    h = h[ok]
    out.ipver[idx] = 6
    tc = ((r.u8(h) & 0x0F) << 4) | (r.u8(h + 1) >> 4)
    out.dscp[idx] = tc >> 2
    plen = r.u16(h + 4)
    nh = r.u8(h + 6)
    out.src_hi[idx], out.src_lo[idx] = r.be(h + 8, 8), r.be(h + 16, 8)
    out.dst_hi[idx], out.dst_lo[idx] = r.be(h + 24, 8), r.be(h + 32, 8)
    pos, stop = h + 40, end[idx]
    for _ in range(3):                                # skip a few extension headers (whole ones)
        ext = np.isin(nh, IPV6_EXT) & (pos + 2 <= stop)
        if not ext.any():
            break
        nh = np.where(ext, r.u8(pos), nh)
        pos = np.where(ext, pos + (r.u8(pos + 1) + 1) * 8, pos)
    frag = nh == IPV6_FRAG
    out.fragment[idx] = frag
    if frag.any():                                    # RFC 8200 4.5: next header, offset (13 bits) << 3
        first = frag & (pos + 4 <= stop) & ((r.u16(pos + 2) & 0xFFF8) == 0)
        out.frag_l4[idx[first]] = pos[first] + 8
        nh = np.where(first, r.u8(pos), nh)
    out.proto[idx] = nh
    l4[idx] = pos
    l4_end[idx] = np.where(plen > 0, h + 40 + plen, end[idx])   # jumbogram / TSO: 0


def _transport(r: _Reader, out: Layers, l4: np.ndarray, l4_end: np.ndarray, end: np.ndarray) -> None:
    udp = (out.proto == IPPROTO_UDP) & ~out.fragment & (l4 >= 0) & (l4 + 8 <= end)
    if udp.any():
        h = l4[udp]
        w = r.be(h, 8)                                # ports, length, checksum in one read
        out.sport[udp] = (w >> np.uint64(48)).astype(np.int32)
        out.dport[udp] = ((w >> np.uint64(32)) & np.uint64(0xFFFF)).astype(np.int32)
        ulen = ((w >> np.uint64(16)) & np.uint64(0xFFFF)).astype(np.int64)
        out.pay[udp] = h + 8
        out.paylen_wire[udp] = np.maximum(ulen - 8, 0)
        out.paylen[udp] = np.clip(np.minimum(end[udp], h + ulen) - (h + 8), 0, None)
    tcp = (out.proto == IPPROTO_TCP) & ~out.fragment & (l4 >= 0) & (l4 + 20 <= end)
    if tcp.any():
        h = l4[tcp]
        out.sport[tcp] = r.u16(h)
        out.dport[tcp] = r.u16(h + 2)
        doff = (r.u8(h + 12) >> 4) * 4
        out.pay[tcp] = h + doff
        wire_end = l4_end[tcp]
        out.paylen_wire[tcp] = np.maximum(wire_end - (h + doff), 0)
        out.paylen[tcp] = np.clip(np.minimum(end[tcp], wire_end) - (h + doff), 0, None)
