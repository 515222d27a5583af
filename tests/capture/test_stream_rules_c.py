"""The per-stream rules in C (readiness/analysis/csrc/) are the per-packet classes to the last bit:
Wireshark's (`WiresharkRtp.add`) and RFC 3550's (`RtpStreamAnalyser.add`, with loss bursts and
per-second snapshots): the same per-packet values and totals on random streams (loss, reordering,
duplicates, wrap, A.1 jumps and restarts, stale packets, comfort noise, markers, payload-type clocks,
timestamps before the first), in any chunking; the numpy paths agree to rounding; every corpus
capture gives the same streams either way."""

from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np
import pytest

from readiness.analysis import compiled
from readiness.analysis.rtp_chunks import RtpChunks
from readiness.analysis.rtp_stats import RtpStreamAnalyser
from readiness.analysis.wireshark_chunks import WiresharkChunks
from readiness.analysis.wireshark_rtp import WiresharkRtp
from readiness.probes.capture.analyze import analyse

from .test_chunked_analysis import _chunks, _same, _stream

pytestmark = pytest.mark.skipif(not compiled.available(), reason="the C module _stream_rules is not built")

CLOCKS = (8000, {0: 8000, 13: 8000}, {0: 8000, 8: 16000}, {8: 11025}, None, 90000)


def _numpy():
    class Numpy:
        def __enter__(self):
            self.saved, compiled._lib = compiled._lib, None

        def __exit__(self, *exc):
            compiled._lib = self.saved
    return Numpy()


def _per_packet(clock, seq, ts, t_ms, marker, pt):
    one = WiresharkRtp(clock)
    values = []
    for row in zip(seq.tolist(), ts.tolist(), t_ms.tolist(), marker.tolist(), pt.tolist()):
        one.add(*row)
        values.append((one.jitter, one.jitter_seen, one.delta))
    return one.summary(), values


@pytest.mark.parametrize("seed", range(5))
def test_c_is_the_per_packet_rules_bit_for_bit(seed):
    rng = np.random.default_rng(700 + seed)
    for trial in range(30):
        seq, ts, t, marker, pt = _stream(rng, int(rng.integers(1, 2500)), jumps=trial % 4 == 0)
        if trial % 5 == 1:
            pt = np.where(rng.random(len(pt)) < 0.3, 8, pt)            # a payload type with another clock
        if trial % 7 == 2 and len(ts) > 3:
            ts[len(ts) // 2] = (ts[0] - 800) % 2**32                    # before the first: not in time
        t_ms = (t - t[0]) * 1000.0
        clock = CLOCKS[trial % len(CLOCKS)]
        want, values = _per_packet(clock, seq, ts, t_ms, marker, pt)
        c = WiresharkChunks(clock)
        got = []
        for a, b in _chunks(rng, len(seq)):
            pp = c.feed(seq[a:b], ts[a:b], t_ms[a:b], marker[a:b], pt[a:b], per_packet=True)
            got += list(zip(pp.jitter_ms.tolist(), pp.seen.tolist(), pp.delta_ms.tolist()))
        assert asdict(c.summary()) == asdict(want), f"seed {seed} trial {trial}"
        # the first packet's values are those before any (0, not seen, 0), as the numpy path gives
        assert got[1:] == values[1:] and got[0] == (0.0, False, 0.0), f"seed {seed} trial {trial}"
        with _numpy():
            n = WiresharkChunks(clock)
            for a, b in _chunks(rng, len(seq)):
                n.feed(seq[a:b], ts[a:b], t_ms[a:b], marker[a:b], pt[a:b])
        for f, v in asdict(want).items():
            _same(v, getattr(n.summary(), f), f"numpy seed {seed} trial {trial} {f}")


def _state(a: RtpStreamAnalyser) -> dict:
    out = {k: v for k, v in vars(a).items() if k not in ("add", "_bursts", "_ws")}
    b = a._bursts
    return out | {"bursts": (asdict(b.totals), b._first, b._last, b._n), "result": asdict(a.result())}


@pytest.mark.parametrize("seed", range(5))
def test_c_is_the_rfc3550_analyser_bit_for_bit(seed):
    rng = np.random.default_rng(900 + seed)
    for trial in range(30):
        seq, ts, t, marker, pt = _stream(rng, int(rng.integers(1, 2500)), jumps=trial % 3 == 0)
        if trial % 4 == 1 and len(seq) > 40:                          # a sender restart: A.1 resynchronises
            k = len(seq) // 2
            seq[k:] = (seq[k:] + 20000) % 65536
        if trial % 5 == 2 and len(t) > 10:
            t[len(t) // 3:] += 3.5                                    # an outage: empty seconds
        if trial % 6 == 3 and len(seq) > 400:                         # 150 in a row lost: wider than the window
            keep = np.ones(len(seq), dtype=bool)
            keep[200:350] = False
            seq, ts, t = seq[keep], ts[keep], t[keep]
        clock = (8000, None, 16000)[trial % 3]
        interval = (1.0, None, 0.1)[trial % 3] if trial % 2 else 1.0
        want = RtpStreamAnalyser(clock, interval_s=interval)
        for row in zip(seq.tolist(), ts.tolist(), t.tolist()):
            want.add(*row)
        got = RtpStreamAnalyser(clock, interval_s=interval)
        feeder = RtpChunks(got)
        for a, b in _chunks(rng, len(seq)):
            feeder.feed(seq[a:b], ts[a:b], t[a:b])
        assert _state(got) == _state(want), f"seed {seed} trial {trial}"


def test_the_regular_flags_are_the_numpy_paths():
    rng = np.random.default_rng(9)
    seq, ts, t, marker, pt = _stream(rng, 3000, jumps=False)
    t_ms = (t - t[0]) * 1000.0
    for clock in CLOCKS:
        c = WiresharkChunks(clock).feed(seq, ts, t_ms, marker, pt, per_packet=True)
        with _numpy():
            n = WiresharkChunks(clock).feed(seq, ts, t_ms, marker, pt, per_packet=True)
        assert np.array_equal(c.regular, n.regular) and np.array_equal(c.jitter_counted, n.jitter_counted)
        assert np.array_equal(c.seen, n.seen)
        assert np.allclose(c.jitter_ms, n.jitter_ms, rtol=1e-9, atol=1e-12)
        assert np.allclose(c.delta_ms, n.delta_ms, rtol=1e-9, atol=1e-12)


def test_corpus_streams_are_the_same_either_way(corpus):
    files = sorted(p for p in corpus.rglob("*") if p.suffix in (".pcap", ".pcapng", ".cap"))
    assert files
    for path in files:
        c = json.loads(json.dumps(analyse(path).to_json()["rtp_streams"]))
        with _numpy():
            n = json.loads(json.dumps(analyse(path).to_json()["rtp_streams"]))
        assert len(c) == len(n), path.name
        for a, b in zip(c, n):
            for k in a:
                if isinstance(a[k], float) and isinstance(b[k], float):
                    assert a[k] == pytest.approx(b[k], abs=1.5e-3), (path.name, k)   # rounded to 3 places
                elif k != "series":
                    assert a[k] == b[k], (path.name, k)
