"""RTP stream statistics: sequence vectors, loss bursts, jitter, intervals, and the two views agreeing."""

from __future__ import annotations

import json
import math
import tracemalloc
from dataclasses import asdict

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readiness.analysis.loss_bursts import BurstCounter, bursts_from_positions
from readiness.analysis.rtp_bulk import analyse_arrays, analyse_streams
from readiness.analysis.rtp_chunks import RtpChunks
from readiness.analysis.rtp_stats import RtpStreamAnalyser
from readiness.analysis.wireshark_chunks import WiresharkChunks, smooth_jitter

from .streams import make_stream


def live(seq, ts, arrival, marker=None, pt=None, **kw):
    a = RtpStreamAnalyser(**kw)
    for i in range(len(seq)):
        a.add(int(seq[i]), int(ts[i]), float(arrival[i]), bool(marker[i]) if marker is not None else False,
              int(pt[i]) if pt is not None else None)
    return a.result()


def assert_same(a, b, path="stats"):
    """Counts equal exactly, floating-point values to rounding (pairwise vs running sums)."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            assert_same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        assert a is not None and b is not None, (path, a, b)
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9), (path, a, b)
    else:
        assert a == b, (path, a, b)


# --- rtpcap's sequence vectors (lost / out of order / duplicates, 65535 -> 0 wrap) -------------------
def _vectors(corpus):
    data = json.loads((corpus / "pcaps" / "reference" / "rtpcap_loss_reorder_dup_vectors.json").read_text())
    return [(f"{src}:{v['name']}", v) for src, vs in data.items() for v in vs]


@pytest.mark.corpus
def test_rtpcap_vectors(corpus):
    for name, v in _vectors(corpus):
        seqs = ([v["rtp_seq_prev"]] if v["rtp_seq_prev"] is not None else []) + v["rtp_seq_list"]
        ts = [160 * i for i in range(len(seqs))]
        arrival = [100.0 + 0.02 * i for i in range(len(seqs))]
        for stats in (live(seqs, ts, arrival, clock_rate=8000),
                      analyse_arrays(seqs, ts, arrival, clock_rate=8000)):
            assert (stats.lost, stats.reordered, stats.duplicates) == (v["ploss"], v["porder"], v["pdups"]), name
            assert stats.highest_seq & 0xFFFF == v["rtp_seq_max"], name
            assert stats.reorder_pct == pytest.approx(100.0 * v["porder"] / len(seqs)), name


# --- RFC 3550 A.1 paths --------------------------------------------------------------------------------
def test_wrap_and_cycles():
    seqs = [(65530 + i) & 0xFFFF for i in range(20)]
    s = live(seqs, [160 * i for i in range(20)], [0.02 * i for i in range(20)], clock_rate=8000)
    assert (s.lost, s.expected, s.seq_cycles, s.highest_seq) == (0, 20, 1, 65549)


def test_stale_packet_not_counted():
    """A packet 100+ behind the highest is outside A.1's MAX_MISORDER: stale, its number stays lost."""
    seqs = list(range(1000, 1200))
    order = seqs[:5] + seqs[6:150] + [seqs[5]] + seqs[150:]
    s = live(order, [160 * (q - 1000) for q in order], [0.02 * i for i in range(len(order))], clock_rate=8000)
    assert (s.stale, s.lost, s.received, s.reordered) == (1, 1, 199, 0)


def test_restart_resyncs():
    """Two sequential packets after a jump: A.1 takes the source as restarted; totals carry on."""
    seqs = list(range(100, 200)) + list(range(30000, 30100))
    s = live(seqs, [160 * i for i in range(200)], [0.02 * i for i in range(200)], clock_rate=8000)
    assert (s.resyncs, s.stale, s.lost) == (1, 1, 0)
    assert s.received == 199 and s.expected == 100 + 99
    assert s.bursts.packets == s.expected and s.bursts.losses == 0


def test_late_packet_older_than_first():
    s = live([5, 3, 6, 4], [0, 0, 0, 0], [0.0, 0.01, 0.02, 0.03], clock_rate=8000)
    assert (s.expected, s.lost, s.reordered) == (4, 0, 2)


def test_duplicates_do_not_hide_loss():
    s = live([1, 2, 2, 2, 4], [0] * 5, [0.02 * i for i in range(5)], clock_rate=8000)
    assert (s.lost, s.duplicates, s.expected) == (1, 2, 4)


# --- RFC 3611 bursts and the Gilbert fit --------------------------------------------------------------
LOSSES = [100, 200, 202, 205, 300, 317, *range(400, 410), 500, 516]


def _pattern_stats(positions, n=1000):
    seqs = [q for q in range(n) if q not in set(positions)]
    return live(seqs, [160 * q for q in seqs], [0.02 * q for q in seqs], clock_rate=8000)


def test_burst_gap_by_hand():
    """Bursts: {200..205} (3 losses, gaps 1 and 2 < Gmin), {400..409}, {500..516} (15 received between:
    still < 16). Gap losses: 100, 300 and 317 (16 received between them: a gap)."""
    b = _pattern_stats(LOSSES).bursts
    assert (b.bursts, b.burst_packets, b.burst_losses) == (3, 6 + 10 + 17, 3 + 10 + 2)
    assert (b.gap_losses, b.gap_packets, b.losses) == (3, 1000 - 33, 18)
    assert b.burst_density_pct == pytest.approx(100 * 15 / 33)
    assert b.gap_density_pct == pytest.approx(100 * 3 / 967)
    assert b.burst_duration_ms == pytest.approx(33 / 3 * 20)
    assert b.gap_duration_ms == pytest.approx(967 / 4 * 20)
    runs, ll = 9, 18 - 9                       # Gilbert transitions over 999 steps
    rr = 999 - 2 * runs - ll
    assert b.p == pytest.approx(runs / (rr + runs))
    assert b.q == pytest.approx(runs / (ll + runs))
    assert b.burst_ratio == pytest.approx(1 / (b.p + b.q))


def test_no_loss_burst_ratio_one():
    b = _pattern_stats([]).bursts
    assert (b.losses, b.bursts, b.burst_ratio, b.p) == (0, 0, 1.0, 0.0)


def test_streaming_and_array_bursts_agree():
    rng = np.random.default_rng(3)
    pos = np.flatnonzero(rng.random(50_000) < 0.03)[1:]
    pos = pos[pos < 49_999]
    counter = BurstCounter()
    for p in pos.tolist():
        counter.lost(p)
    counter.end_segment(50_000)
    assert counter.totals == bursts_from_positions(pos, 50_000)


def test_gilbert_fit_recovers_p_q():
    """A simulated Gilbert chain (p 0.02, q 0.4: BurstR 2.38) is recovered from its trace."""
    rng = np.random.default_rng(7)
    n, p, q = 200_000, 0.02, 0.4
    lost = np.zeros(n, dtype=bool)
    u = rng.random(n)
    for i in range(1, n - 1):
        lost[i] = (u[i] < p) if not lost[i - 1] else (u[i] >= q)
    b = bursts_from_positions(np.flatnonzero(lost), n).finish(20.0)
    assert b.p == pytest.approx(p, rel=0.05) and b.q == pytest.approx(q, rel=0.05)
    assert b.burst_ratio == pytest.approx(1 / (p + q), rel=0.05)


# --- jitter ----------------------------------------------------------------------------------------------
def test_rfc3550_jitter_against_integer_reference():
    """RFC 3550 A.8's integer algorithm (arrival in timestamp units) agrees within its rounding."""
    rng = np.random.default_rng(11)
    n = 3000
    arrival_ticks = np.arange(n) * 160 + rng.integers(0, 40, n)        # up to 5 ms of delay variation
    ts = np.arange(n) * 160
    jitter = last = 0
    for r, s in zip(arrival_ticks.tolist(), ts.tolist()):
        transit = r - s
        d = abs(transit - last) if last or r else 0
        last = transit
        jitter += d - ((jitter + 8) >> 4)
    ref_ticks = jitter >> 4
    s = analyse_arrays(np.arange(n) & 0xFFFF, ts, 1000.0 + arrival_ticks / 8000.0, clock_rate=8000)
    assert abs(s.jitter_ms * 8 - ref_ticks) <= 1.0
    assert s.jitter_rtcp == pytest.approx(ref_ticks, abs=1)


@pytest.mark.parametrize("n", [1, 127, 128, 129, 5000])
def test_block_jitter_filter_is_the_recurrence(n):
    """The blocked 1/16 filter gives what J += (|D| - J) / 16 gives packet by packet."""
    rng = np.random.default_rng(n)
    diff, j0 = np.abs(rng.normal(0, 3, n)), 2.5
    expected, j = [], j0
    for d in diff.tolist():
        j += (d - j) / 16
        expected.append(j)
    assert np.max(np.abs(smooth_jitter(diff, j0) - np.array(expected))) < 1e-12


def test_jitter_steady_state():
    """Delays alternating 0 / 4 ms give |D| = 4 ms every packet: J converges to 4 ms."""
    n = 400
    arrival = 10.0 + np.arange(n) * 0.02 + np.where(np.arange(n) % 2, 0.004, 0.0)
    s = analyse_arrays(np.arange(n), np.arange(n) * 160, arrival, clock_rate=8000)
    assert s.jitter_ms == pytest.approx(4.0, rel=1e-6)
    assert s.delta_min_ms == pytest.approx(16.0) and s.delta_max_ms == pytest.approx(24.0)


def test_no_clock_no_jitter():
    s = analyse_arrays([1, 2, 3], [0, 160, 320], [0, 0.02, 0.04], clock_rate=None)
    assert s.jitter_ms is None and s.lost == 0


# --- intervals -----------------------------------------------------------------------------------------
def test_intervals_add_up_and_show_the_bad_window():
    n = 500                                                  # 10 s at 50 packets/s
    gone = set(range(203, 213))                              # 10 packets lost in 4.06-4.24 s
    seqs = [q for q in range(n) if q not in gone]
    arrival = [1000.0 + 0.02 * q + 0.001 for q in seqs]
    s = analyse_arrays(seqs, [160 * q for q in seqs], arrival, clock_rate=8000, interval_s=0.2, origin=1000.0)
    iv = s.intervals
    assert sum(iv.lost) == s.lost == 10 and sum(iv.expected) == s.expected
    worst = max(range(len(iv)), key=lambda k: iv.loss_pct()[k] or 0)
    assert iv.origin + worst * 0.2 == pytest.approx(4.2 + 1000.0)
    assert iv.loss_pct()[worst] > 10
    series = iv.to_series("rtp.loss_pct", "loss_pct", "call 1 up", "calls", {"direction": "up"})
    assert series.step == 0.2 and series.weights == [float(e) for e in iv.expected] and series.unit == "%"
    per_second = analyse_arrays(seqs, [160 * q for q in seqs], arrival, clock_rate=8000, interval_s=1.0,
                                origin=1000.0).intervals
    assert per_second.lost == [0, 0, 0, 0, 10, 0, 0, 0, 0, 0]


def test_pop_intervals_hands_over_closed_ones():
    a = RtpStreamAnalyser(8000, interval_s=1.0)
    for q in range(250):
        a.add(q, 160 * q, 50.0 + 0.02 * q)
    first = a.pop_intervals()
    assert len(first) == 4 and first.packets == [50] * 4
    for q in range(250, 300):
        a.add(q, 160 * q, 50.0 + 0.02 * q)
    second = a.pop_intervals()
    assert second.origin == 54.0 and second.packets == [50]


# --- the two views are one computation -----------------------------------------------------------------
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31), n=st.integers(1, 600), mode=st.sampled_from(["rfc3550", "wireshark"]),
       loss=st.sampled_from([0.0, 0.01, 0.1, 0.5]), reorder=st.sampled_from([0.0, 0.02, 0.2]),
       reorder_by=st.integers(1, 8), dup=st.sampled_from([0.0, 0.02]), near_wrap=st.booleans(),
       jump=st.booleans(), stale=st.booleans(), interval=st.sampled_from([None, 0.2, 1.0]),
       origin_shift=st.floats(-1.0, 1.0), cn=st.sampled_from([0.0, 0.05]), marker=st.sampled_from([0.0, 0.05]))
def test_live_and_bulk_identical(seed, n, mode, loss, reorder, reorder_by, dup, near_wrap, jump, stale, interval,
                                 origin_shift, cn, marker):
    seq, ts, arrival, mk, pt = make_stream(
        n, seed, loss=loss, dup=dup, reorder=reorder, reorder_by=reorder_by, first_seq=65500 if near_wrap else None,
        jump_at=n // 2 if jump else None, stale_at=n // 3 if stale else None, cn=cn, marker=marker)
    clock = {0: 8000, 13: 8000} if mode == "wireshark" and seed % 2 else 8000
    origin = float(arrival[0]) + origin_shift if interval else None
    kw = dict(clock_rate=clock, jitter_mode=mode, interval_s=interval, origin=origin)
    a = live(seq, ts, arrival, mk, pt, **kw)
    b = analyse_arrays(seq, ts, arrival, mk, pt, **kw)
    assert_same(asdict(a), asdict(b))
    assert a.received + a.lost == a.expected and a.lost >= 0


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31), n=st.integers(2, 800), cuts=st.lists(st.integers(0, 800), max_size=6),
       loss=st.sampled_from([0.0, 0.05, 0.3]), reorder=st.sampled_from([0.0, 0.05]), near_wrap=st.booleans(),
       stale=st.booleans(), interval=st.sampled_from([None, 0.1, 1.0]), cn=st.sampled_from([0.0, 0.05]))
def test_chunked_feeding_is_the_live_analyser(seed, n, cuts, loss, reorder, near_wrap, stale, interval, cn):
    """Long captures are fed in chunks (RtpChunks, WiresharkChunks); any split gives the live numbers."""
    seq, ts, arrival, mk, pt = make_stream(n, seed, loss=loss, reorder=reorder, first_seq=65480 if near_wrap else None,
                                           stale_at=n // 2 if stale else None, cn=cn, marker=cn)
    bounds = sorted({0, len(seq), *[c for c in cuts if c < len(seq)]})
    parts = list(zip(bounds, bounds[1:]))
    want = live(seq, ts, arrival, mk, pt, clock_rate=8000, interval_s=interval)
    a = RtpStreamAnalyser(8000, interval_s=interval)
    feeder = RtpChunks(a)
    for lo, hi in parts:
        feeder.feed(seq[lo:hi], ts[lo:hi], arrival[lo:hi], mk[lo:hi], pt[lo:hi])
    assert_same(asdict(want), asdict(a.result()))
    ws_live = live(seq, ts, arrival, mk, pt, clock_rate=8000, jitter_mode="wireshark").wireshark
    w = WiresharkChunks(8000)
    t_ms = (arrival - arrival[0]) * 1000.0
    for lo, hi in parts:
        w.feed(seq[lo:hi], ts[lo:hi], t_ms[lo:hi], mk[lo:hi], pt[lo:hi])
    assert_same(asdict(ws_live), asdict(w.summary()))


def test_analyse_streams_splits_by_id():
    s1 = make_stream(300, 1)
    s2 = make_stream(200, 2, loss=0.1)
    sid = np.concatenate((np.full(len(s1[0]), 7), np.full(len(s2[0]), 9)))
    cat = [np.concatenate((x, y)) for x, y in zip(s1, s2)]
    order = np.argsort(cat[2], kind="stable")
    out = analyse_streams(sid[order], *(c[order] for c in cat), clock_rate=8000)
    assert_same(asdict(out[7]), asdict(analyse_arrays(*s1, clock_rate=8000)))
    assert_same(asdict(out[9]), asdict(analyse_arrays(*s2, clock_rate=8000)))


def test_live_memory_is_constant():
    """O(1) per stream: 60,000 more packets (with loss and reordering) do not grow the analyser."""
    seq, ts, arrival, _, _ = make_stream(65_000, 5, loss=0.02, reorder=0.02)
    a = RtpStreamAnalyser(8000)
    add = a.add
    S, T, A = seq.tolist(), ts.tolist(), arrival.tolist()
    for i in range(5_000):
        add(S[i], T[i], A[i])
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for i in range(5_000, len(S)):
        add(S[i], T[i], A[i])
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert grown < 4096, grown
    assert a.result().lost > 0
