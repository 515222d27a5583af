"""Split a call's trace into the packet sequences of each direction, ready for the analysis layer.

Reflected call (readiness responder): every reply describes one round trip.
  up    sender sequence, our send time, the reflector's receive time and the DSCP it saw, in the
        order the reflector received them (its own sequence). A packet whose reply was lost on
        the way down still arrived up: the reflector's bitmap says so. Such a packet is given to the
        analysis with an estimated arrival time (the transit of its nearest neighbour), so loss on
        the way down is never counted as loss on the way up.
  down  the reflector's sequence, its send time and our kernel receive time and DSCP, in the
        order we received them.
Plain RTP from a third-party far end: down only, with its own sequence numbers and timestamps.

Timestamps given to the analysis are send times in microseconds (TIMING_CLOCK), not the codec's
RTP clock: the stamp carries the true send time, so our own sender's schedule error is not counted
as network jitter (it is reported on its own, rtp.schedule_error_ms).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TIMING_CLOCK = 1_000_000        # "RTP clock" of send times given in microseconds
UNKNOWN_DSCP = 0xFF
BITMAP_CHUNK = 8192
MARK_LIMIT = 1 << 24        # sequence numbers marked in an array up to this (93 hours of 20 ms packets)


@dataclass
class DirectionPackets:
    """One direction's packets in arrival order."""

    seq16: np.ndarray           # uint16 sequence numbers
    ts: np.ndarray              # uint32 timestamps in `clock_rate` units
    arrival_s: np.ndarray       # float64 epoch seconds
    clock_rate: int
    dscp: np.ndarray            # uint8, UNKNOWN_DSCP where not known
    expected: int | None        # what the sender says it sent (None: unknown)
    one_way_ms: np.ndarray      # arrival - send per packet (only meaningful with synchronised clocks)
    estimated: int = 0          # packets with an estimated arrival (their reply was lost)
    sent_s: np.ndarray | None = None   # float64 epoch send times on our clock (up of a reflected call)

    def __len__(self) -> int:
        return len(self.seq16)

    def window(self, lo: float, hi: float) -> "DirectionPackets":
        """The packets of a time slice [lo, hi) (a phase of a call under load): up by our send time,
        down by our arrival time, both on our clock. The sender's total no longer applies, so the
        analysis counts expected packets from the slice's own sequence span."""
        times = self.sent_s if self.sent_s is not None else self.arrival_s
        keep = (times >= lo) & (times < hi)
        pick = None if self.sent_s is None else self.sent_s[keep]
        return DirectionPackets(self.seq16[keep], self.ts[keep], self.arrival_s[keep], self.clock_rate,
                                self.dscp[keep], None, self.one_way_ms[keep], 0, pick)


def _us32(ns: np.ndarray) -> np.ndarray:
    return ((ns // 1000) & 0xFFFFFFFF).astype(np.uint32)


def _arrived_by_bitmap(rec: np.ndarray, fin_view: tuple[int, int] | None = None) -> np.ndarray:
    """Sender sequences the reflector reports as arrived (its `highest` and the 32 below it), in
    every reply and in its answer to our fin (the only word on the last packets when their
    replies were lost on the way down)."""
    highest = rec["highest"].astype(np.int64)
    bitmap = rec["bitmap"].astype(np.int64)
    if fin_view is not None:
        bitmap = np.append(bitmap, np.int64(fin_view[0]))
        highest = np.append(highest, np.int64(fin_view[1]))
    if len(highest) == 0:
        return np.zeros(0, dtype=np.int64)
    bits = np.arange(32, dtype=np.int64)
    top = int(highest.max())
    seen = np.zeros(top + 1, dtype=bool) if top < MARK_LIMIT else None   # else sets (a corrupt highest)
    found = [highest]
    if seen is not None:
        seen[highest] = True
    for i in range(0, len(highest), BITMAP_CHUNK):     # 32 values a reply: in chunks, or hours of calls
        b, h = bitmap[i:i + BITMAP_CHUNK], highest[i:i + BITMAP_CHUNK]   # would take gigabytes
        present = ((b[:, None] >> bits) & 1).astype(bool)
        seqs = h[:, None] - 1 - bits
        arrived = seqs[present & (seqs >= 0)]
        if seen is not None:
            seen[arrived] = True
        else:
            found.append(np.unique(arrived))
    return np.flatnonzero(seen) if seen is not None else np.unique(np.concatenate(found))


def reflected(rec: np.ndarray, packets_sent: int, ptime_ms: int, fin_replies: int | None,
              fin_view: tuple[int, int] | None = None
              ) -> tuple[DirectionPackets, DirectionPackets, np.ndarray, np.ndarray]:
    """(up, down, rtt_ms per reply, epoch seconds of each reply) from a trace of reply records;
    fin_view: (bitmap, highest) of the reflector's answer to our fin, when it came."""
    rec = rec[(rec["seq"] < max(packets_sent, 1))] if packets_sent else rec
    by_reflector = rec[np.argsort(rec["rseq"], kind="stable")]
    # a reply duplicated on the way down is still one packet up; keyed with our sequence too, as a
    # flow that moved (a NAT's new address) is a new session at the reflector and counts from 1 again
    pair = (by_reflector["rseq"].astype(np.uint64) << np.uint64(32)) | by_reflector["seq"].astype(np.uint64)
    _, first = np.unique(pair, return_index=True)
    by_reflector = by_reflector[np.sort(first)]
    seq = by_reflector["seq"].astype(np.int64)
    tx = by_reflector["tx_ns"].astype(np.int64)
    rrx = by_reflector["rrx_ns"].astype(np.int64)

    # up: replies, plus packets only the bitmap knows about (their reply was lost on the way down)
    missing = np.setdiff1d(_arrived_by_bitmap(by_reflector, fin_view), seq)
    missing = missing[missing < max(packets_sent, 1)] if packets_sent else missing
    estimated = len(missing)
    if estimated and len(seq):
        order = np.argsort(seq, kind="stable")
        pos = np.clip(np.searchsorted(seq[order], missing), 0, len(seq) - 1)
        near = order[pos]
        step = ptime_ms * 1_000_000
        m_tx = tx[near] + (missing - seq[near]) * step
        m_rrx = m_tx + (rrx[near] - tx[near])
        up_seq = np.concatenate([seq, missing])
        up_tx = np.concatenate([tx, m_tx])
        up_rrx = np.concatenate([rrx, m_rrx])
        up_dscp = np.concatenate([by_reflector["dscp_up"], np.full(estimated, UNKNOWN_DSCP, np.uint8)])
        o = np.argsort(up_rrx, kind="stable")
        up_seq, up_tx, up_rrx, up_dscp = up_seq[o], up_tx[o], up_rrx[o], up_dscp[o]
    else:
        up_seq, up_tx, up_rrx, up_dscp = seq, tx, rrx, by_reflector["dscp_up"]
    up = DirectionPackets((up_seq & 0xFFFF).astype(np.uint16), _us32(up_tx), up_rrx / 1e9, TIMING_CLOCK,
                          np.asarray(up_dscp, dtype=np.uint8), packets_sent or None, (up_rrx - up_tx) / 1e6,
                          estimated, up_tx / 1e9)

    # down: in the order we received the replies
    by_arrival = rec[np.argsort(rec["rx_ns"], kind="stable")]
    rtx = by_arrival["rtx_ns"].astype(np.int64)
    rx = by_arrival["rx_ns"].astype(np.int64)
    down = DirectionPackets((by_arrival["rseq"].astype(np.int64) & 0xFFFF).astype(np.uint16), _us32(rtx),
                            rx / 1e9, TIMING_CLOCK, by_arrival["dscp_down"].astype(np.uint8), fin_replies,
                            (rx - rtx) / 1e6)

    rtt_ms = ((rx - by_arrival["tx_ns"].astype(np.int64)) - (rtx - by_arrival["rrx_ns"].astype(np.int64))) / 1e6
    return up, down, rtt_ms, rx / 1e9


def from_peer(rec: np.ndarray, ssrc: int | None, clock_rate: int) -> DirectionPackets:
    """The far end's RTP stream (its main SSRC) as it reached us."""
    if ssrc is not None:
        rec = rec[rec["ssrc"] == ssrc]
    return DirectionPackets((rec["seq"].astype(np.int64) & 0xFFFF).astype(np.uint16), rec["ts"].astype(np.uint32),
                            rec["rx_ns"].astype(np.int64) / 1e9, clock_rate, rec["dscp"].astype(np.uint8), None,
                            np.zeros(len(rec)))


def main_ssrc(rec: np.ndarray) -> int | None:
    """The SSRC that sent the most packets (a peer may restart its stream with a new one)."""
    if len(rec) == 0:
        return None
    values, counts = np.unique(rec["ssrc"], return_counts=True)
    return int(values[np.argmax(counts)])
