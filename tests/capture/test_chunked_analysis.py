"""Chunk-fed analysis (readiness/analysis/rtp_chunks.py, wireshark_chunks.py) gives the per-packet
analysers' numbers whatever the chunking: random streams with loss, reordering, duplicates, sequence
wrap, A.1 jumps, comfort noise and marker bits, cut into random chunks."""

from __future__ import annotations

import numpy as np
import pytest

from readiness.analysis.rtp_chunks import RtpChunks
from readiness.analysis.rtp_stats import RtpStreamAnalyser
from readiness.analysis.wireshark_chunks import WiresharkChunks
from readiness.analysis.wireshark_rtp import WiresharkRtp


def _stream(rng: np.random.Generator, n: int, jumps: bool):
    idx = np.arange(n)
    for _ in range(n // 30):                                     # local reordering
        i = int(rng.integers(1, n - 3))
        j = i + int(rng.integers(1, 4))
        idx[i], idx[j] = idx[j], idx[i]
    idx = idx[rng.random(n) > rng.choice([0.0, 0.01, 0.1, 0.4])]  # loss
    dup = rng.random(len(idx)) < 0.02
    pos = np.concatenate([np.arange(len(idx)), np.flatnonzero(dup) + 0.5])
    idx = np.concatenate([idx, idx[dup]])[np.argsort(pos)]       # duplicates right after the original
    if jumps and len(idx) > 20:                                  # a restart / far jump (RFC 3550 A.1)
        k = int(rng.integers(5, len(idx) - 5))
        idx[k:] += int(rng.choice([5000, -300, 40000]))
    seq = (int(rng.integers(0, 65536)) + idx) % 65536
    ts = (int(rng.integers(0, 2**32)) + idx.astype(np.int64) * 160) % 2**32
    t = 1.7e9 + np.sort(idx * 0.02 + rng.random(len(idx)) * 0.01)
    marker = rng.random(len(idx)) < 0.02
    pt = np.where(rng.random(len(idx)) < 0.03, 13, 0)
    return seq, ts, t, marker, pt


def _chunks(rng, n):
    cuts = sorted(set(rng.integers(0, n, size=int(rng.integers(0, 10))).tolist()))
    return list(zip([0] + cuts, cuts + [n]))


def _same(a, b, label):
    if isinstance(a, float) or isinstance(b, float):
        assert (a is None) == (b is None) and (a is None or a == pytest.approx(b, rel=1e-9, abs=1e-12)), label
    elif isinstance(a, list):
        assert len(a) == len(b), label
        for x, y in zip(a, b):
            _same(x, y, label)
    else:
        assert a == b, label


@pytest.mark.parametrize("seed", range(6))
def test_rfc3550_chunks_equal_per_packet(seed):
    rng = np.random.default_rng(seed)
    for trial in range(40):
        seq, ts, t, marker, pt = _stream(rng, int(rng.integers(2, 2500)), jumps=trial % 5 == 0)
        clock = 8000 if trial % 4 else None
        interval = 1.0 if trial % 3 else None
        one = RtpStreamAnalyser(clock, "rfc3550", interval_s=interval)
        for row in zip(seq.tolist(), ts.tolist(), t.tolist()):
            one.add(*row)
        many = RtpStreamAnalyser(clock, "rfc3550", interval_s=interval)
        feeder = RtpChunks(many)
        for a, b in _chunks(rng, len(seq)):
            feeder.feed(seq[a:b], ts[a:b], t[a:b])
        ra, rb = one.result(), many.result()
        for f in ("packets", "received", "expected", "lost", "duplicates", "reordered", "stale", "resyncs",
                  "sequence_errors", "highest_seq", "seq_cycles", "loss_pct", "jitter_ms", "jitter_max_ms",
                  "jitter_mean_ms", "delta_max_ms", "delta_mean_ms"):
            _same(getattr(ra, f), getattr(rb, f), f"seed {seed} trial {trial} {f}")
        assert ra.bursts == rb.bursts or ra.bursts.burst_ratio == pytest.approx(rb.bursts.burst_ratio)
        if ra.intervals is not None:
            for f in ("packets", "received", "expected", "lost", "late", "duplicates", "jitter_ms", "jitter_max_ms"):
                _same(getattr(ra.intervals, f), getattr(rb.intervals, f), f"seed {seed} trial {trial} interval {f}")


@pytest.mark.parametrize("seed", range(4))
def test_wireshark_chunks_equal_per_packet(seed):
    rng = np.random.default_rng(100 + seed)
    for trial in range(40):
        seq, ts, t, marker, pt = _stream(rng, int(rng.integers(2, 3000)), jumps=trial % 4 == 0)
        t_ms = (t - t[0]) * 1000.0
        clock = {0: 8000, 13: 8000} if trial % 3 else 8000
        one = WiresharkRtp(clock)
        for row in zip(seq.tolist(), ts.tolist(), t_ms.tolist(), marker.tolist(), pt.tolist()):
            one.add(*row)
        many = WiresharkChunks(clock)
        for a, b in _chunks(rng, len(seq)):
            many.feed(seq[a:b], ts[a:b], t_ms[a:b], marker[a:b], pt[a:b])
        sa, sb = one.summary(), many.summary()
        for f in sa.__dataclass_fields__:
            _same(getattr(sa, f), getattr(sb, f), f"seed {seed} trial {trial} {f}")


def test_damaged_timestamp_drops_series_not_totals():
    a = RtpStreamAnalyser(8000, "rfc3550", interval_s=1.0)
    feeder = RtpChunks(a)
    seq = np.arange(100)
    t = 1.7e9 + seq * 0.02
    t[60] += 10 * 365 * 86400                                    # one packet a decade away
    feeder.feed(seq, seq * 160, t)
    r = a.result()
    assert feeder.intervals_dropped and r.intervals is None
    assert r.packets == 100 and r.lost == 0
