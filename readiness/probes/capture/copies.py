"""Packets the capture point recorded twice, told apart from packets the network carried twice.

A mirror (SPAN) port that copies both directions of two switch ports, or of a port and its uplink,
records every packet crossing both twice, microseconds apart. Wireshark counts such a stream's copies
as packets (its "Lost" goes negative); the technician wants the packets once.

A copy is the same datagram again: same stream (addresses, ports, SSRC), same RTP sequence number and
timestamp, the same IPv4 identification and the same UDP payload bytes, within COPY_WINDOW_NS of the
earlier one. It is taken out of the stream before anything is counted, so loss, jitter and the
Wireshark-rule figures are those of each packet once; the stream counts its copies.

The IPv4 identification tells a copy from a packet its sender sent twice: Eyebeam repeats its first
video packet three times with consecutive IDs (corpus SIP_Eyebeam2Eyebeam_Video_Audio.pcap); those
were on the wire and are counted as Wireshark counts them (duplicates, negative "lost"). IPv6 has no
identification: there, equal bytes within the window are a copy.

Each packet is compared with the LAGS packets before it in its stream (a video burst can put another
packet of the stream between a packet and its copy), and the first packet of a stream in a chunk with
the stream's last packet of the chunks before (`Tail`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .layers import Layers, _Reader
from .pcap import Batch

COPY_WINDOW_NS = 10_000_000   # mirror copies come microseconds apart; the next packet of a stream has another seq
LAGS = 4
# A stream at least half of whose packets were recorded twice: the capture point duplicates. A network
# that duplicates (a loop, a flooding switch) rarely does so to every packet of one stream only.
CAPTURE_SHARE = 0.5


@dataclass(frozen=True)
class Tail:
    """A stream's last packet of the previous chunk: what the first packet of the next is compared with."""

    seq: int
    ts: int
    arrival_ns: int
    identity: bytes


class Identity:
    """Compares batch rows as datagrams: IPv4 identification, UDP length and payload bytes."""

    def __init__(self, batch: Batch, lay: Layers):
        self.buf = batch.buf
        self.lay = lay
        self._r = _Reader(batch.buf)

    def _ip_id(self, rows: np.ndarray) -> np.ndarray:
        v4 = self.lay.ipver[rows] == 4
        return np.where(v4, self._r.u16(self.lay.l2[rows] + 4), -1)

    def same(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """For each pair (a[i], b[i]) of batch rows: the same datagram?"""
        lay = self.lay
        n = lay.paylen[a]
        ok = (n == lay.paylen[b]) & (lay.paylen_wire[a] == lay.paylen_wire[b]) & (self._ip_id(a) == self._ip_id(b))
        ok &= n >= 8             # RTP rows carry 12 bytes or more: words below never leave the payload
        idx = np.flatnonzero(ok)
        if not len(idx):
            return ok
        # 8-byte words at 0, 8, 16 ... and one ending at the last byte (overlap is harmless for equality)
        words = (n[idx] + 7) // 8
        starts = np.cumsum(words) - words
        k = np.arange(int(words.sum())) - np.repeat(starts, words)
        at = np.minimum(k * 8, np.repeat(n[idx] - 8, words))
        pa = np.repeat(lay.pay[a[idx]], words) + at
        pb = np.repeat(lay.pay[b[idx]], words) + at
        differ = self._r.be(pa, 8) != self._r.be(pb, 8)
        ok[idx] = np.add.reduceat(differ, starts) == 0
        return ok

    def key(self, row: int) -> bytes:
        """One row's identity as bytes, kept beyond its chunk (`Tail`)."""
        lay, buf = self.lay, self.buf
        p, n = int(lay.pay[row]), int(lay.paylen[row])
        ip_id = buf[int(lay.l2[row]) + 4:int(lay.l2[row]) + 6].tobytes() if lay.ipver[row] == 4 else b""
        return ip_id + int(lay.paylen_wire[row]).to_bytes(4, "big") + buf[p:p + n].tobytes()


def within(group: np.ndarray, seq: np.ndarray, ts: np.ndarray, arrival_ns: np.ndarray, rows: np.ndarray,
           identity: Identity) -> np.ndarray:
    """Copies among rows sorted by stream (`group` equal exactly within a stream and only there, arrival
    order inside it). Returns a bool mask: True where the row copies an earlier one."""
    n = len(seq)
    copy = np.zeros(n, dtype=bool)
    for lag in range(1, min(LAGS, n - 1) + 1):
        i = np.flatnonzero(seq[lag:] == seq[:-lag]) + lag    # cheapest test first: few rows pass it
        if not len(i):
            continue
        j = i - lag
        dt = arrival_ns[i] - arrival_ns[j]
        ok = (group[i] == group[j]) & (ts[i] == ts[j]) & (dt >= 0) & (dt <= COPY_WINDOW_NS)
        i, j = i[ok], j[ok]
        if len(i):
            copy[i[identity.same(rows[i], rows[j])]] = True
    return copy


def continues(tail: Tail | None, seq: int, ts: int, arrival_ns: int, row: int, identity: Identity) -> bool:
    """Is the row (a stream's first in its chunk) a copy of the stream's last packet before the chunk?"""
    if tail is None or tail.seq != seq or tail.ts != ts or not 0 <= arrival_ns - tail.arrival_ns <= COPY_WINDOW_NS:
        return False
    return identity.key(row) == tail.identity


def note(copies: int, packets: int) -> str | None:
    """What a stream says about its copies (packets: the stream once, copies not counted)."""
    if not copies:
        return None
    share = 100.0 * copies / (packets + copies)
    if copies >= CAPTURE_SHARE * packets:
        return (f"the capture point recorded this stream's packets twice ({copies} copies, {share:.0f} % of what was "
                f"captured; a mirror port copying both directions?): each packet is counted once")
    return (f"{copies} packets were recorded twice (identical copies within {COPY_WINDOW_NS // 1_000_000} ms): "
            f"each is counted once")


def summary(streams: list[tuple[int, int]]) -> tuple[dict, str | None]:
    """The capture's view: (copies, packets once) of every RTP stream -> detail and one sentence."""
    doubled = [(c, p) for c, p in streams if p and c >= CAPTURE_SHARE * p]
    copies = sum(c for c, _ in streams)
    captured = sum(c + p for c, p in streams)
    pct = round(100.0 * copies / captured, 1) if captured else 0.0
    detail = {"streams": len(doubled), "of_streams": len(streams), "copies": copies, "rtp_packets_captured": captured,
              "copies_pct": pct}
    if not doubled:
        return detail, None
    times = "twice" if copies <= sum(p for _, p in doubled) else "more than twice"
    return detail, (f"the capture point copies packets {times} (a mirror port set to both directions?): "
                    f"{len(doubled)} of {len(streams)} RTP streams, {pct:.0f} % of their packets are copies; "
                    f"each packet is counted once in the figures")
