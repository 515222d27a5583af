"""Scoring the calls of a load in worker processes, so the command stays small after long calls.

Scoring an hours-long call makes its 200 ms and 1 s series (tens of thousands of small Python
objects) among the far more numerous short-lived ones of the per-packet analysis; the allocator
cannot hand that memory back, and the command kept some 5 MiB per half-hour call after scoring
(benchmarks/bench_long_calls.py). A worker lives for one batch of calls, so what it fragments goes
with it; the command receives each call's metrics in one piece, records them and keeps the totals.
Two workers use both cores of a small machine, and the command is idle meanwhile (the media has
stopped).

A small load (under SMALL_TRACE_BYTES of traces: minutes of calls) is scored in the calling process,
where a worker's start (~0.3 s) would cost more than it saves.
"""

from __future__ import annotations

import collections
import multiprocessing
import os
import signal
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Iterator

from ... import codecs as codec_table
from . import scoring
from .media.stream_types import MediaStreamResult

SMALL_TRACE_BYTES = 24 << 20       # ~6 half-hour calls: their fragments are not worth a worker
BATCH_TRACE_BYTES = 32 << 20       # a batch's series come back at once: some 4 one-hour calls
BATCH_CALLS = 500                  # many short calls: a few batches (a worker start costs ~0.4 s CPU)
WORKERS = 2

Windows = dict[str, tuple[float, float]]


@dataclass
class Job:
    """One answered call to score: its stream's result and, to score it per time slice, the slices."""
    result: MediaStreamResult
    codec: str
    reflected: bool
    windows: Windows | None = None


@dataclass(frozen=True)
class Options:
    clocks_synced: bool
    media_dscp: int | None


Scored = tuple[scoring.MediaMetrics, dict[str, scoring.MediaMetrics]]


def score(job: Job, opts: Options) -> Scored:
    """The call's metrics and, with windows, per slice; one call's bad data gives a reason, not an error."""
    res = job.result
    try:
        codec = codec_table.get(job.codec)
        if not job.reflected:
            return scoring.with_fidelity(scoring.peer_call(res, codec, opts.media_dscp), res, False), {}
        media = scoring.with_fidelity(scoring.reflected_call(res, codec, opts.clocks_synced), res, True)
        slices = scoring.reflected_phases(res, codec, opts.clocks_synced, job.windows) if job.windows else {}
        return media, slices
    except Exception as e:
        return scoring.MediaMetrics(None, None, None, None, [], None, res.schedule.quantile_ms(0.99),
                                    f"analysis failed: {e}", res.schedule.max_ms), {}


def score_all(jobs: list[Job], opts: Options, small_bytes: int | None = None) -> Iterator[Scored]:
    """Each job's result, in the jobs' order, as soon as its batch is scored."""
    if sum(_trace_bytes(j) for j in jobs) < (SMALL_TRACE_BYTES if small_bytes is None else small_bytes):
        for j in jobs:
            yield score(j, opts)
        return
    pending = collections.deque(_batches(jobs))
    running: collections.deque[tuple[list[Job], Future]] = collections.deque()
    pool = None
    try:
        pool = ProcessPoolExecutor(max_workers=min(WORKERS, os.cpu_count() or 1), initializer=_worker_start,
                                   mp_context=multiprocessing.get_context("spawn"), max_tasks_per_child=1)
        while pending or running:
            while pending and len(running) < WORKERS + 1:      # bounded: results wait for the log, not pile up
                batch = pending.popleft()
                running.append((batch, pool.submit(_score_batch, batch, opts)))
            results = running[0][1].result()
            running.popleft()           # only now: a batch whose worker died is scored below
            yield from results
    except (BrokenProcessPool, OSError):
        # no worker could start or one died: what is left is scored here (as a small load is)
        for batch, _ in running:
            pending.appendleft(batch)
        running.clear()
        for batch in list(pending):
            for j in batch:
                yield score(j, opts)
        pending.clear()
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _batches(jobs: list[Job]) -> Iterator[list[Job]]:
    batch: list[Job] = []
    size = 0
    for j in jobs:
        n = _trace_bytes(j)
        if batch and (size + n > BATCH_TRACE_BYTES or len(batch) >= BATCH_CALLS):
            yield batch
            batch, size = [], 0
        batch.append(j)
        size += n
    if batch:
        yield batch


def _trace_bytes(job: Job) -> int:
    try:
        return job.result.trace.stat().st_size
    except OSError:
        return 0


def _score_batch(batch: list[Job], opts: Options) -> list[Scored]:
    return [score(j, opts) for j in batch]


def _worker_start() -> None:
    # Ctrl-C reaches the whole process group: the command decides what an interrupt means
    signal.signal(signal.SIGINT, signal.SIG_IGN)
