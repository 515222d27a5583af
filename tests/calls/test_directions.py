"""Splitting a reflected trace into directions: a reply lost on the way down is not an upstream loss
(the reflector's bitmap proves the packet arrived), and counts use the senders' totals."""

from __future__ import annotations

import numpy as np
import pytest

from readiness import codecs
from readiness.probes.calls import directions, scoring
from readiness.probes.calls.media.trace import REPLY_DTYPE

MS = 1_000_000
T0 = 1_700_000_000 * 1_000_000_000


def _trace(n: int, up_lost: set[int], down_lost_rseq: set[int], up_ms: float = 5.0, down_ms: float = 7.0):
    """What the generator would record: reflector view (bitmap) computed like the reflector does."""
    rows, rseq, highest, bitmap = [], 0, -1, 0
    for seq in range(n):
        if seq in up_lost:
            continue
        rseq += 1
        if highest < 0:
            highest = seq
        else:
            shift = seq - highest
            bitmap = ((((bitmap << 1) | 1) << (shift - 1)) & 0xFFFFFFFF) if shift <= 32 else 0
            highest = seq
        if rseq in down_lost_rseq:
            continue
        tx = T0 + seq * 20 * MS
        rrx = tx + int(up_ms * MS)
        rtx = rrx + 50_000
        rows.append((seq, rseq, tx, rrx, rtx, rtx + int(down_ms * MS), 46, 46, 0, bitmap, highest))
    return np.array(rows, dtype=REPLY_DTYPE), rseq


def test_down_loss_is_not_up_loss():
    rec, replies = _trace(500, up_lost=set(), down_lost_rseq={10, 11, 12, 200})
    up, down, rtt, _ = directions.reflected(rec, 500, 20, replies)
    assert up.estimated == 4 and len(up) == 500
    c = codecs.get("pcmu")
    u = scoring.direction_metrics("up", up, c, 20, 46, 5.0, False, T0 / 1e9)
    d = scoring.direction_metrics("down", down, c, 20, 46, 7.0, False, T0 / 1e9)
    assert (u.packets_lost, u.packets_expected) == (0, 500)
    assert (d.packets_lost, d.packets_expected) == (4, 500)
    assert d.burst_ratio > 1.0                                  # 3 in a row is bursty
    assert np.allclose(rtt, 12.0)                               # the reflector turnaround is taken out


def test_last_packets_reply_lost_down_is_not_up_loss():
    """The last packet arrived but its reply was lost on the way down: no later reply's bitmap
    says it arrived, the reflector's answer to the fin does."""
    rec, replies = _trace(100, up_lost=set(), down_lost_rseq={99, 100})
    c = codecs.get("pcmu")
    up, _, _, _ = directions.reflected(rec, 100, 20, replies)
    assert scoring.direction_metrics("up", up, c, 20, 46, 5.0, False, T0 / 1e9).packets_lost == 2
    up, down, _, _ = directions.reflected(rec, 100, 20, replies, fin_view=(0xFFFFFFFF, 99))
    assert up.estimated == 2
    assert scoring.direction_metrics("up", up, c, 20, 46, 5.0, False, T0 / 1e9).packets_lost == 0
    assert scoring.direction_metrics("down", down, c, 20, 46, 7.0, False, T0 / 1e9).packets_lost == 2


def test_up_loss_counted_up_only_including_the_edges():
    rec, replies = _trace(300, up_lost={0, 1, 150, 299}, down_lost_rseq=set())
    up, down, _, _ = directions.reflected(rec, 300, 20, replies)
    c = codecs.get("pcmu")
    u = scoring.direction_metrics("up", up, c, 20, 46, 5.0, False, T0 / 1e9)
    d = scoring.direction_metrics("down", down, c, 20, 46, 7.0, False, T0 / 1e9)
    assert (u.packets_lost, u.packets_expected) == (4, 300)       # first, second and last too
    assert (d.packets_lost, d.packets_expected) == (0, 296)
    assert u.loss_pct == pytest.approx(100 * 4 / 300)


def test_constant_delay_has_zero_jitter_and_dscp_counts():
    rec, replies = _trace(200, set(), set())
    rec["dscp_down"][:50] = 0                                   # a quarter re-marked on the way back
    up, down, _, _ = directions.reflected(rec, 200, 20, replies)
    c = codecs.get("pcmu")
    u = scoring.direction_metrics("up", up, c, 20, 46, 5.0, False, T0 / 1e9)
    d = scoring.direction_metrics("down", down, c, 20, 46, 7.0, False, T0 / 1e9)
    assert u.jitter_ms == pytest.approx(0.0, abs=1e-3)   # float epoch seconds: 0.2 us resolution
    assert (u.dscp_received, u.dscp_remarked_pct) == (46, 0.0)
    assert (d.dscp_received, d.dscp_remarked_pct) == (46, 25.0)
    assert u.one_way_1s[0] == pytest.approx(5.0)
    assert u.rating is not None and u.mos > 4.3


def test_merge_intervals_adds_counts():
    rec, replies = _trace(250, {7, 8}, set())
    up, _, _, _ = directions.reflected(rec, 250, 20, replies)
    u = scoring.direction_metrics("up", up, codecs.get("pcmu"), 20, 46, 5.0, False, T0 / 1e9)
    fine, coarse = u.loss_200ms, u.jitter_1s
    assert sum(fine.lost) == sum(coarse.lost) == 2
    assert sum(fine.expected) == sum(coarse.expected)
    assert len(coarse) == -(-len(fine) // 5)


def test_per_second_medians_are_numpys():
    """The per-second medians (one sort for all seconds) equal np.median second by second, NaN included."""
    rng = np.random.default_rng(1)
    for trial in range(200):
        m = int(rng.integers(0, 200))
        t = np.sort(rng.uniform(-2, 25, m))
        v = rng.normal(5, 3, m)
        if trial % 5 == 0:
            v = np.round(v)                       # ties
        if trial % 7 == 0 and m:
            v[rng.integers(0, m)] = np.nan
        got = scoring._per_second(v, t, 0.0, 20)
        k = np.floor(t).astype(np.int64)
        want = [float(np.median(v[k == s])) if (k == s).any() else None for s in range(20)]
        for g, w in zip(got, want):
            assert (g is None) == (w is None)
            assert g is None or g == w or (np.isnan(g) and np.isnan(w))


def test_arrived_by_bitmap_marks_the_same_as_sets(monkeypatch):
    """Sequences the reflector's bitmaps report, marked in an array: the same as by sets (the path kept
    for a corrupt highest far beyond any call's length)."""
    rng = np.random.default_rng(3)
    for _ in range(100):
        n = int(rng.integers(1, 3000))
        rec = np.zeros(n, dtype=REPLY_DTYPE)
        rec["highest"] = np.sort(rng.integers(0, 5000, n)).astype(np.uint32)
        rec["bitmap"] = rng.integers(0, 2 ** 32, n, dtype=np.uint64).astype(np.uint32)
        fin = (int(rng.integers(0, 2 ** 32)), int(rng.integers(0, 6000)))
        marked = directions._arrived_by_bitmap(rec, fin)
        with monkeypatch.context() as m:
            m.setattr(directions, "MARK_LIMIT", 0)
            by_sets = directions._arrived_by_bitmap(rec, fin)
        np.testing.assert_array_equal(marked, by_sets)
        assert set(marked.tolist()) >= set(rec["highest"].tolist())
