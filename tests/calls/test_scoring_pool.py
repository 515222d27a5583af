"""Long loads are scored in worker processes (scoring_pool.py): the metrics must be exactly those
scored in the command itself, in the calls' order, per time slice too, and a pool that cannot start
must not lose a call."""

from __future__ import annotations

import asyncio
import dataclasses
import time

from readiness.probes.calls import scoring_pool
from readiness.probes.calls.farend.responder import CallResponder, ResponderConfig
from readiness.probes.calls.load import LoadConfig, LoadRunner

KEY = b"scoring-pool-test-key-0123456789ab"


async def _load(cfg: LoadConfig):
    async with CallResponder(ResponderConfig("127.0.0.1", 0, key=KEY)) as r:
        cfg.target = f"sip:test@127.0.0.1:{r.sip_port}"
        return await LoadRunner(cfg).run()


def _jobs(tmp_path):
    cfg = LoadConfig("", calls=3, cps=20, duration_s=2.0, key=KEY, clocks_synced=True, trace_dir=tmp_path / "traces")
    result = asyncio.run(_load(cfg))
    assert len(result.answered()) == 3
    t0 = min(r.started for r in result.calls)
    windows = {"first": (t0, t0 + 1.2), "rest": (t0 + 1.2, time.time())}
    jobs = [scoring_pool.Job(r.media_result, r.codec, r.reflected, windows) for r in result.calls]
    broken = dataclasses.replace(result.calls[0].media_result, trace=tmp_path / "gone.trace")
    (tmp_path / "gone.trace").write_bytes(b"\x00" * 7)      # not a whole record
    return result, jobs + [scoring_pool.Job(broken, "PCMU", True, None)]


def test_workers_score_exactly_as_the_command(tmp_path):
    result, jobs = _jobs(tmp_path)
    opts = scoring_pool.Options(True, 46)
    here = [scoring_pool.score(j, opts) for j in jobs]
    pooled = list(scoring_pool.score_all(jobs, opts, small_bytes=0))
    assert [dataclasses.asdict(m) for m, _ in pooled] == [dataclasses.asdict(m) for m, _ in here]
    assert [{k: dataclasses.asdict(v) for k, v in s.items()} for _, s in pooled] == \
           [{k: dataclasses.asdict(v) for k, v in s.items()} for _, s in here]
    first, slices = pooled[0]
    assert first.up.packets_received == 100 and first.up.loss_200ms is not None     # series came back
    assert set(slices) == {"first", "rest"}
    assert sum(s.up.packets_received for s in slices.values()) == 100
    assert pooled[-1][0].reason.startswith("analysis failed") or pooled[-1][0].up is None


def test_batches_keep_the_order(tmp_path, monkeypatch):
    """One call per batch: three workers' turns, still in the jobs' order."""
    _, jobs = _jobs(tmp_path)
    monkeypatch.setattr(scoring_pool, "BATCH_CALLS", 1)
    opts = scoring_pool.Options(True, 46)
    pooled = list(scoring_pool.score_all(jobs[:3], opts, small_bytes=0))
    assert [m.up.start for m, _ in pooled] == [scoring_pool.score(j, opts)[0].up.start for j in jobs[:3]]


def test_no_worker_scores_in_the_command(tmp_path, monkeypatch):
    """A machine where no process can be started (the failure is simulated: a real one cannot be
    made here): every call is still scored, in the command."""
    _, jobs = _jobs(tmp_path)

    def no_pool(*a, **kw):
        raise OSError("cannot start a process")

    monkeypatch.setattr(scoring_pool, "ProcessPoolExecutor", no_pool)
    pooled = list(scoring_pool.score_all(jobs, scoring_pool.Options(True, 46), small_bytes=0))
    assert len(pooled) == 4 and all(m.up.packets_received == 100 for m, _ in pooled[:3])


def test_a_long_load_is_recorded_from_workers(tmp_path, monkeypatch):
    """LoadRunner with every load counted as long: each call handed over scored, then totals only."""
    monkeypatch.setattr(scoring_pool, "SMALL_TRACE_BYTES", 0)
    seen = []

    def scored(r):
        seen.append((r.index, r.media.up.loss_200ms is not None))

    cfg = LoadConfig("", calls=3, cps=20, duration_s=1.0, key=KEY, trace_dir=tmp_path / "t")

    async def go():
        async with CallResponder(ResponderConfig("127.0.0.1", 0, key=KEY)) as r:
            cfg.target = f"sip:test@127.0.0.1:{r.sip_port}"
            return await LoadRunner(cfg, on_scored=scored).run()

    result = asyncio.run(go())
    assert seen == [(0, True), (1, True), (2, True)]
    assert all(c.media.up.packets_received == 50 and c.media.up.loss_200ms is None for c in result.calls)
