"""Calls under load: the same calls scored in three phases, alone, while iperf3 fills the link with
best-effort TCP, and alone again. With working QoS the EF media does not notice the load; with a
plain FIFO queue it waits behind the bulk traffic (delay, jitter) or is dropped with it.

Timing, for calls held `duration` seconds: every call is held until the same end, `duration` (plus
DRAIN_ALLOWANCE_S) after the ramp. Alone is the first third; the load starts then and sends for
one third (`iperf3 -t`), bounded and killed whatever happens (tools.run); after starts once its
iperf3 has exited (the data it queued has drained) and lasts to the end. A phase's window leaves out
the load's ramp-up and the queue's draining, so each phase measures one state of the link.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...details.phases import PHASES, LoadRun, PhaseSummary
from ..iperf_client import IperfError, run_test
from ..iperf_result import TcpResult

LOAD_RAMP_S = 1.0          # TCP fills the bottleneck's queue within this after the load starts
DRAIN_S = 1.0              # and the queue drains within this after its iperf3 exited
DRAIN_ALLOWANCE_S = 5.0    # calls are held this much longer: a full queue takes seconds to empty
MIN_PHASE_S = 3.0
LOAD_STREAMS = 4           # parallel TCP streams: a file upload or a backup as an office makes them


@dataclass(frozen=True)
class PhasePlan:
    server: str                      # iperf3 server host[:port]
    mbps: float | None = None        # None: as fast as TCP goes
    direction: str = "up"            # up (we send), down (-R), both (--bidir)
    busy_wait_s: float = 10.0
    save: Path | None = None         # the load's iperf3 JSON, kept as evidence


def load_args(plan: PhasePlan) -> list[str]:
    """Best-effort TCP (DSCP 0, iperf3's default), LOAD_STREAMS streams, optionally rate-limited."""
    args = ["-P", str(LOAD_STREAMS)]
    if plan.mbps:
        args += ["-b", f"{plan.mbps / LOAD_STREAMS:g}M"]
    if plan.direction == "both":
        args.append("--bidir")
    return args


async def drive(plan: PhasePlan, run: LoadRun, start_at: float, seconds: float) -> None:
    """Wait until `start_at` (epoch), run the load for `seconds`, filling `run` as it goes (so a load
    cut short still says when it ran). A load that could not run is an error in `run`, not raised:
    the loaded phase is then not measured, with the reason."""
    await asyncio.sleep(max(0.0, start_at - time.time()))
    save = plan.save or Path("/dev/null")
    run.launched, run.seconds = time.time(), seconds
    try:
        done = await run_test(plan.server, load_args(plan), plan.direction == "down", seconds, save,
                              plan.busy_wait_s)
    except IperfError as e:
        run.error = str(e)
        return
    except asyncio.CancelledError:
        run.error = run.error or "the load's iperf3 did not end in time and was stopped"
        raise
    finally:
        run.ended = time.time()
    run.iperf3_version, run.server_version = done.client_version, done.server_version
    run.evidence = str(done.path) if plan.save else ""
    r = done.result
    if isinstance(r, TcpResult):
        if plan.direction == "both":
            run.bits_per_second_up, run.bits_per_second_down = r.sent_bps, r.received_bps
        elif plan.direction == "down":
            run.bits_per_second_down = r.received_bps
        else:
            run.bits_per_second_up = r.received_bps


def windows(alone_start: float, load: LoadRun, seconds: float, end: float) -> dict[str, tuple[float, float]]:
    """The phases' windows (epoch [start, end)); `loaded` only when the load ran. The load sends for
    `seconds`, but what it has queued (its socket buffer, a bloated queue) still drains after that;
    its iperf3 exits only when its closing exchange, queued behind that data, got through. So the
    phase after starts at that exit, plus DRAIN_S; the drain itself belongs to no phase."""
    out = {"alone": (alone_start, load.launched)}
    if not load.error:
        out["loaded"] = (load.launched + LOAD_RAMP_S, min(load.ended, load.launched + seconds))
    out["after"] = (load.ended + DRAIN_S, end)
    return {k: v for k, v in out.items() if v[1] - v[0] > 0.5}


def _r(x: float | None, nd: int = 3) -> float | None:
    return None if x is None else round(float(x), nd)


def summarise(window: tuple[float, float], metrics: list[Any]) -> PhaseSummary:
    """`metrics`: each call's MediaMetrics of this phase (scoring.MediaMetrics)."""
    s = PhaseSummary(round(window[0], 3), round(window[1], 3))
    moses, rtts = [], []
    lost = {"up": 0, "down": 0}
    expected = {"up": 0, "down": 0}
    jitter: dict[str, list[float]] = {"up": [], "down": []}
    for m in metrics:
        if m is None or m.up is None or m.down is None:
            continue
        s.calls += 1
        pair = [d.mos for d in (m.up, m.down) if d.mos is not None]
        if pair:
            moses.append(min(pair))
        if m.rtt_p95_ms is not None:
            rtts.append(m.rtt_p95_ms)
        for name, d in (("up", m.up), ("down", m.down)):
            lost[name] += d.packets_lost
            expected[name] += d.packets_expected
            if d.jitter_ms is not None:
                jitter[name].append(d.jitter_ms)
    if moses:
        s.mos_min, s.mos_median = _r(min(moses), 4), _r(statistics.median(moses), 4)
        s.mos_p05 = _r(float(np.percentile(moses, 5)), 4)
    s.loss_pct_up = _r(100.0 * lost["up"] / expected["up"]) if expected["up"] else None
    s.loss_pct_down = _r(100.0 * lost["down"] / expected["down"]) if expected["down"] else None
    s.jitter_ms_up = _r(max(jitter["up"])) if jitter["up"] else None
    s.jitter_ms_down = _r(max(jitter["down"])) if jitter["down"] else None
    s.rtt_ms_p95 = _r(float(np.percentile(rtts, 95))) if rtts else None
    return s


@dataclass
class PhaseReport:
    """The phases of a load under load: windows, the load itself, per phase the summary."""
    load: LoadRun
    windows: dict[str, tuple[float, float]]           # epoch [start, end) per phase that was measured
    summaries: dict[str, PhaseSummary] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {name: self.summaries[name].to_json() if name in self.summaries else None
                               for name in PHASES}
        out["load"] = self.load.to_json()
        return out
