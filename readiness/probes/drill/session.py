"""A failover drill as it runs: the load's calls held for the whole drill, a short new test call
every few seconds beside them (failing over between the SIP targets as a phone does), marks from the
technician; afterwards, from each held call's trace, where its media stopped and started again.

It is a call load (calls/load.py) with test calls placed beside it (`_during`) and a first look at
every trace before the usual scoring (`_score`): the media gaps of all calls decide the drill's
phases (before, during, after the outages), in which every call is then scored. Gaps are read from
the stamped reflection: up by our send times of the packets the responder received, down by our
receive times of its replies, all on our clock (time.time(); a clock step during a drill moves
them, monotonic time does not reach the traces).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ...analysis import media_gaps
from ...details.phases import PhaseSummary
from ...progress import Progress
from ..calls import directions
from ..calls import phases as phase_mod
from ..calls.load import HANGUP_TIMEOUT_S, CallRecord, LoadConfig, LoadRunner
from ..calls.media.media_process import MediaProcess
from ..calls.media.trace import REPLY_DTYPE, load
from ..calls.sip import UserAgent
from .marks import Mark, MarkBoard
from .targets import Failover, TargetList, fails_over

NEW_CALL_HOLD_S = 2.0            # a test call: answered, media both ways for this long, hung up
CLOCK_STEP_MS = 50.0            # more than NTP slews in a drill: the clock was stepped
RESTART_BELOW = 64              # a reply sequence that falls back below this, from far above: a new session
FAILOVER_TIMEOUT_S = 4.0         # no final answer this long: the next target (phones use 2-8 s, not Timer B's 32 s)


@dataclass
class DrillConfig:
    load: LoadConfig                     # the held calls: their count, the drill's duration, the first target
    targets: list[str]
    new_call_every_s: float = 2.0        # 0: no test calls
    new_call_hold_s: float = NEW_CALL_HOLD_S
    failover_timeout_s: float = FAILOVER_TIMEOUT_S
    retry_primary_s: float = 30.0
    min_gap_s: float = media_gaps.MIN_GAP_S


@dataclass
class StreamView:
    """One held call's media as the drill sees it: its gaps per direction and when it ran."""
    index: int
    gaps: list[media_gaps.Gap] = field(default_factory=list)
    first_s: float | None = None
    last_sent_s: float | None = None
    moved: list[float] = field(default_factory=list)   # when the responder began a new session for it


@dataclass
class Attempt:
    target: str
    cause: str
    status: int | None
    started: float


@dataclass
class DrillResult:
    records: list[CallRecord]
    views: dict[int, StreamView]
    attempts: dict[int, list[Attempt]]    # test call index -> the targets tried before the one that answered
    first_try: dict[int, float]
    marks: list[Mark]
    failovers: list[Failover]
    windows: dict[str, tuple[float, float]]
    phases: dict[str, PhaseSummary]
    started: float
    ended: float
    marks_problem: str = ""
    interrupted: bool = False
    clock_step_ms: float = 0.0            # the wall clock moved against monotonic time during the drill


class DrillRunner(LoadRunner):
    def __init__(self, config: DrillConfig, progress: Progress | None = None,
                 on_scored: Callable[[CallRecord], None] | None = None):
        super().__init__(config.load, progress, on_scored)
        self.drill = config
        self.targets = TargetList(list(config.targets), config.retry_primary_s)
        self.views: dict[int, StreamView] = {}
        self.attempts: dict[int, list[Attempt]] = {}
        self.first_try: dict[int, float] = {}
        self.windows: dict[str, tuple[float, float]] = {}
        self.phase_summaries: dict[str, PhaseSummary] = {}

    async def drill_run(self) -> DrillResult:
        offset = time.time() - time.monotonic()
        async with MarkBoard() as board:
            result = await self.run()
        step_ms = 1000.0 * ((time.time() - time.monotonic()) - offset)
        return DrillResult(list(result.calls), self.views, self.attempts, self.first_try, board.marks,
                           list(self.targets.failovers), self.windows, self.phase_summaries, result.started,
                           result.ended, board.problem, result.interrupted,
                           round(step_ms, 1) if abs(step_ms) > CLOCK_STEP_MS else 0.0)

    async def _place(self, index: int, ua: UserAgent, media: MediaProcess, local_ip: str, trace_dir: Path,
                     hold_s: float | None = None, role: str = "held") -> CallRecord:
        """One call, to the first target that takes it."""
        self.first_try[index] = time.time()
        tried: list[Attempt] = []
        record: CallRecord | None = None

        def answered(r: CallRecord) -> None:     # at once: the next test call must know where to go
            if r.outcome.answered:
                self.targets.worked(r.target, tried[-1].cause if tried else "")

        for target in self.targets.order():
            record = await self._one(index, ua, media, local_ip, trace_dir, target=target, hold_s=hold_s,
                                     answer_timeout_s=self.drill.failover_timeout_s, role=role, on_outcome=answered)
            o = record.outcome
            if o.answered:
                break
            tried.append(Attempt(target, o.cause, o.status, record.started))
            if not fails_over(o.cause, o.status) or self._stop.is_set():
                break
            self.targets.failed(target, o.cause)
        assert record is not None
        if tried:
            self.attempts[index] = tried
        return record

    async def _during(self, ua: UserAgent, media: MediaProcess, local_ip: str, trace_dir: Path) -> list[CallRecord]:
        every = self.drill.new_call_every_s
        if every <= 0:
            return []
        tasks: list[asyncio.Future] = []
        t0 = time.monotonic()
        k = 0
        try:
            while not self._held_done.is_set() and not self._stop.is_set():
                index = self.config.calls + k
                tasks.append(asyncio.ensure_future(self._place(index, ua, media, local_ip, trace_dir,
                                                               self.drill.new_call_hold_s, "probe")))
                k += 1
                delay = t0 + k * every - time.monotonic()
                if delay > 0:
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self._held_done.wait(), delay)
            return list(await asyncio.gather(*tasks))
        except asyncio.CancelledError:          # interrupted: the test calls hang up and keep their records
            for t in tasks:
                t.cancel()
            if tasks:
                await asyncio.wait(tasks, timeout=HANGUP_TIMEOUT_S + 1)
            return [t.result() for t in tasks if t.done() and not t.cancelled() and t.exception() is None]

    def _score(self, records: list[CallRecord], phases: phase_mod.PhaseReport | None = None) -> None:
        """First every held call's gaps (the outages decide the phases), then the usual scoring,
        each held call also per phase."""
        for r in records:
            if r.role == "held" and r.media_result is not None and r.reflected:
                self.views[r.index] = self._view(r)
        gaps = [g for v in self.views.values() for g in v.gaps]
        out = media_gaps.outages(gaps)
        started = min((r.started for r in records), default=time.time())
        ended = max((r.ended for r in records), default=started)
        if out:
            self.windows = {"before": (started, out[0].start), "during": (out[0].start, out[-1].end),
                            "after": (out[-1].end, ended)}
            self.windows = {k: w for k, w in self.windows.items() if w[1] - w[0] > 0.5}
        user = self.on_scored
        per_phase: dict[str, list] = {k: [] for k in self.windows}

        def scored(r: CallRecord) -> None:
            for k, m in r.phase_media.items():
                per_phase[k].append(m.without_series())
            if user is not None:
                user(r)

        self.on_scored = scored
        try:
            super()._score(records, None)
        finally:
            self.on_scored = user
        self.phase_summaries = {k: phase_mod.summarise(self.windows[k], v) for k, v in per_phase.items()}

    def _windows(self, r: CallRecord, windows: dict[str, tuple[float, float]] | None) -> dict | None:
        """A held call is also scored before, during and after the outage (test calls are too short)."""
        return self.windows if r.role == "held" and r.reflected and self.windows else None

    def _view(self, r: CallRecord) -> StreamView:
        res = r.media_result
        assert res is not None
        view = StreamView(r.index + 1)
        rec = load(res.trace, REPLY_DTYPE)
        last_sent = res.last_send_ns / 1e9 if res.last_send_ns else None
        view.last_sent_s = last_sent
        if len(rec) == 0:
            start = res.first_send_ns / 1e9 if res.first_send_ns else r.started
            view.gaps = [media_gaps.Gap(start, None, r.index + 1, d) for d in ("up", "down")]
            return view
        fin_view = ((res.fin_bitmap, res.fin_highest) if res.fin_highest is not None and res.fin_received else None)
        up, down, _, _ = directions.reflected(rec, res.packets_sent, res.ptime_ms, res.fin_replies, fin_view)
        view.first_s = float(np.min(up.sent_s)) if up.sent_s is not None and len(up) else None
        min_gap = max(self.drill.min_gap_s, 5 * res.ptime_ms / 1000)
        for name, times in (("up", up.sent_s), ("down", down.arrival_s)):
            if times is None:
                continue
            for a, b in media_gaps.gaps(times, min_gap, last_sent):
                view.gaps.append(media_gaps.Gap(a, b, r.index + 1, name))
        view.moved = _moves(rec)
        return view


def _moves(rec: np.ndarray) -> list[float]:
    """Our receive times of the replies where the reflector's sequence started again from 1: it saw
    the call's media come from another address (a NAT's new mapping) and opened a new session."""
    by_arrival = rec[np.argsort(rec["rx_ns"], kind="stable")]
    rseq = by_arrival["rseq"].astype(np.int64)
    restart = np.flatnonzero((rseq[1:] < RESTART_BELOW) & (rseq[:-1] - rseq[1:] > RESTART_BELOW)) + 1
    return [float(by_arrival["rx_ns"][i]) / 1e9 for i in restart]
