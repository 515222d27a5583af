"""Synthetic RTP streams for tests and the benchmark: loss, duplicates, reordering, jitter, jumps."""

from __future__ import annotations

import numpy as np


def make_stream(n: int, seed: int, loss: float = 0.02, dup: float = 0.005, reorder: float = 0.01,
                reorder_by: int = 4, jitter_s: float = 0.002, first_seq: int | None = None, jump_at: int | None = None,
                stale_at: int | None = None, cn: float = 0.0, marker: float = 0.0, ptime_s: float = 0.02,
                clock: int = 8000, t0: float = 1.7e9):
    """Arrays (seq, ts, arrival, marker, pt) in arrival order.

    reorder: share of packets delayed by `reorder_by` packet times; jump_at: the sender restarts its
    sequence numbers (+20000) from that packet on; stale_at: one packet delayed by 150 packet times.
    """
    rng = np.random.default_rng(seed)
    i = np.arange(n)
    s0 = int(rng.integers(0, 65536)) if first_seq is None else first_seq
    seq = (s0 + i) & 0xFFFF
    if jump_at is not None:
        seq[jump_at:] = (seq[jump_at:] + 20000) & 0xFFFF
    step = clock * ptime_s
    ts = (int(rng.integers(0, 2**32)) + (i * step).astype(np.int64)) & 0xFFFFFFFF
    arrival = t0 + i * ptime_s + np.abs(rng.normal(0, jitter_s, n))
    late = rng.random(n) < reorder
    arrival[late] += reorder_by * ptime_s
    if stale_at is not None and stale_at < n:
        arrival[stale_at] += 150 * ptime_s
    pt = np.where(rng.random(n) < cn, 13, 0)
    mk = rng.random(n) < marker
    keep = rng.random(n) >= loss
    keep[0] = True
    seq, ts, arrival, mk, pt = seq[keep], ts[keep], arrival[keep], mk[keep], pt[keep]
    d = rng.random(len(seq)) < dup
    idx = np.sort(np.concatenate((np.arange(len(seq)), np.flatnonzero(d))))
    seq, ts, mk, pt = seq[idx], ts[idx], mk[idx], pt[idx]
    arrival = arrival[idx] + np.where(np.diff(np.concatenate(([-1], idx))) == 0, 0.0005, 0.0)
    order = np.argsort(arrival, kind="stable")
    return seq[order], ts[order], arrival[order], mk[order], pt[order]
