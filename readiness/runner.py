"""Every command's run: start the probes the site configures, in their phases, record everything as it
arrives; the run is then judged from its own log (results.py) and rendered (reports/).

`readiness run` runs every probe of a site file; `calls`, `snmp audit`, `capture` and `analyze` run
one probe with a site built from their options (config/options.py) and the criteria it can decide.

Order: audits (SNMP before) -> background probes start (capture) -> traffic probes one after another
(calls, iperf3) -> background probes stop -> after-probes (SNMP counters again).
A probe that fails marks its metrics not measured with the reason; the others go on.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
import signal
import socket
import traceback
import uuid
from pathlib import Path
from typing import Any, Iterable

from . import __version__
from . import metrics as metric_catalog
from . import store
from .acceptance.evaluate import evaluate
from .config.profile import Profile
from .config.site import SiteSpec
from .errors import ReadinessError
from .model import Artefact, Criterion, Detail, Measurement, NotMeasured, RunInfo, Series, Verdict
from .probes import REGISTRY, Probe, ProbeContext, entry_name, load_all
from .progress import NullProgress, Progress

BACKGROUND_STOP_TIMEOUT_S = 60.0


class _Tracking:
    """Passes records to the run log and remembers which metrics a probe managed to record."""

    def __init__(self, writer: store.RunWriter, probe: str):
        self._w = writer
        self.probe = probe
        self.seen: set[str] = set()

    def measurement(self, m: Measurement) -> None:
        self.seen.add(m.metric)
        self._w.measurement(m)

    def series(self, s: Series) -> None:
        self.seen.add(s.metric)
        self._w.series(s)

    def not_measured(self, n: NotMeasured) -> None:
        self.seen.add(n.metric)
        self._w.not_measured(n)

    def artefact(self, a: Artefact) -> None:
        self._w.artefact(a)

    def detail(self, d: Detail) -> None:
        self._w.detail(d)

    def note(self, probe: str, level: str, message: str) -> None:
        self._w.note(probe, level, message)

    def artefact_dir(self, probe: str) -> Path:
        return self._w.artefact_dir(probe)

    def relative(self, path: Path) -> str:
        return self._w.relative(path)


def probe_criteria(criteria: Iterable[Criterion], probes: Iterable[str],
                   leave_out: Iterable[str] = ()) -> list[Criterion]:
    """The criteria a run of only these probes can decide (a one-probe command judges nothing else)."""
    names, skip = set(probes), set(leave_out)
    return [c for c in criteria if c.metric in metric_catalog.METRICS
            and metric_catalog.METRICS[c.metric].probe in names and c.metric not in skip]


class _Stop:
    """SIGTERM, handled like Ctrl-C: the handler only notes it and cancels the probes' task, so the
    signal can never raise in the middle of writing the log; the run is then finalised as usual."""

    def __init__(self) -> None:
        self.reason = ""
        self.loop: asyncio.AbstractEventLoop | None = None
        self.task: asyncio.Task | None = None

    def __call__(self, signum: int, frame: Any) -> None:
        self.reason = self.reason or "stopped by SIGTERM"
        loop, task = self.loop, self.task
        if loop is not None and task is not None and not loop.is_closed():
            loop.call_soon_threadsafe(task.cancel)


def execute(profile: Profile, site: SiteSpec, out_parent: Path, progress: Progress | None = None,
            only: Iterable[str] | None = None, debug: bool = False, *, command: str = "run",
            criteria: list[Criterion] | None = None) -> Path:
    """Run every configured probe against `site`, judge against `criteria` (default: the profile's);
    return the run folder. Every command is a run: `calls`, `snmp audit`, `capture` and `analyze`
    come here with a site built from their options and the criteria their probe can decide."""
    progress = progress or NullProgress()
    criteria = list(profile.criteria if criteria is None else criteria)
    stop = _Stop()
    previous = signal.signal(signal.SIGTERM, stop)    # before the folder exists: no window without it
    try:
        run_dir = store.new_run_dir(Path(out_parent), profile.name, site.site)
        writer = store.RunWriter(run_dir)
        _keep_inputs(run_dir, profile, site)
        info = RunInfo(run_id=uuid.uuid4().hex[:12], profile=profile.name, site=site.site,
                       started=store.utc_iso(), criteria=criteria, profile_file=profile.file,
                       site_file=site.file, tool_version=__version__, host=socket.gethostname(), command=command)
        writer.started(info)
        _measure(stop, writer, site, criteria, profile.criteria, progress, set(only) if only else None, debug)
    finally:
        signal.signal(signal.SIGTERM, previous)
    return run_dir


def _measure(stop: _Stop, writer: store.RunWriter, site: SiteSpec, criteria: list[Criterion],
             profile_criteria: list[Criterion], progress: Progress, only: set[str] | None, debug: bool) -> None:
    """The probes, then the run's last event: stopped (Ctrl-C, SIGTERM) or not, the log is closed."""
    reason = ""
    try:
        if not stop.reason:
            asyncio.run(_main(stop, site, writer, criteria, profile_criteria, progress, only, debug))
    except asyncio.CancelledError:
        reason = stop.reason or "cancelled"
    except KeyboardInterrupt:
        reason = stop.reason or "interrupted (Ctrl-C)"
    finally:
        reason = reason or stop.reason
        writer.finished(bool(reason), reason)
        writer.close()


async def _main(stop: _Stop, site: SiteSpec, writer: store.RunWriter, criteria: list[Criterion],
                profile_criteria: list[Criterion], progress: Progress, only: set[str] | None, debug: bool) -> None:
    stop.loop, stop.task = asyncio.get_running_loop(), asyncio.current_task()
    try:
        if stop.reason:          # SIGTERM came while the loop started
            raise asyncio.CancelledError
        await _run_probes(site, writer, criteria, profile_criteria, progress, only, debug)
    finally:
        stop.loop = stop.task = None


def _keep_inputs(run_dir: Path, profile: Profile, site: SiteSpec) -> None:
    """Copy the site file and profile chain into the run folder: the run documents what it tested."""
    inputs = run_dir / "inputs"
    inputs.mkdir(exist_ok=True)
    for f in [site.file] + profile.chain:
        if not f:
            continue  # a site built from command-line options has no file
        try:
            shutil.copy(f, inputs / os.path.basename(f))
        except OSError:
            pass


async def _run_probes(site: SiteSpec, writer: store.RunWriter, criteria: list[Criterion],
                      profile_criteria: list[Criterion], progress: Progress, only: set[str] | None,
                      debug: bool) -> None:
    wanted = {c.metric for c in criteria}
    # the probes of the metrics judged: a probe measuring none of them would be skipped below anyway
    probes, broken = load_all({metric_catalog.METRICS[m].probe for m in wanted if m in metric_catalog.METRICS})

    def judge(measurements: list[Measurement], series: list[Series], missing: list[NotMeasured],
              probe: str) -> list[Verdict]:
        """The profile's criteria on `probe`'s metrics (a capacity step is judged by all of them)."""
        return evaluate(probe_criteria(profile_criteria, [probe]), measurements, series, missing)

    phases = {str(c.select["phase"]) for c in criteria if "phase" in c.select}
    ctx = ProbeContext(site=site, recorder=writer, progress=progress, wanted=wanted, wanted_phases=phases,
                       judge=judge)
    registered = {entry_name(e) for e in REGISTRY}

    for entry, error in broken:
        _not_measured(writer, wanted, entry_name(entry), f"the {entry_name(entry)} probe could not load: {error}")
        progress.say(f"[yellow]{entry_name(entry)}: could not load: {error}[/]")
    for name in sorted({metric_catalog.METRICS[m].probe for m in wanted if m in metric_catalog.METRICS} - registered):
        _not_measured(writer, wanted, name, f"this version of readiness has no '{name}' probe yet")

    active: list[Probe] = []
    for p in probes:
        if only is not None and p.name not in only:
            _not_measured(writer, wanted, p.name, f"skipped: --only {','.join(sorted(only))}")
            continue
        why = p.configured(site) or (p.on_request if p.on_request and (only is None or p.name not in only) else "")
        if why:
            _not_measured(writer, wanted, p.name, why)
            continue
        if not any(m in wanted for m in p.metrics()):
            continue  # the profile judges nothing this probe measures
        active.append(p)

    def phase(name: str) -> list[Probe]:
        return [p for p in active if p.phase == name]

    ctx.traffic_planned = bool(phase("traffic"))
    await asyncio.gather(*(_guarded(p, ctx, writer, progress, wanted, debug) for p in phase("audit")))
    background = [asyncio.create_task(_guarded(p, ctx, writer, progress, wanted, debug))
                  for p in phase("background")]
    try:
        if background:
            await asyncio.sleep(0.5)  # let captures start before the first packet is sent
        ctx.traffic_started.set()
        for p in phase("traffic"):
            await _guarded(p, ctx, writer, progress, wanted, debug)
    finally:
        ctx.traffic_done.set()
        # Without traffic probes a background probe (a capture for --duration) ends by itself.
        await _stop_background(background, BACKGROUND_STOP_TIMEOUT_S if ctx.traffic_planned else None)
    for p in phase("after"):
        await _guarded(p, ctx, writer, progress, wanted, debug)


async def _stop_background(tasks: list[asyncio.Task], wait_s: float | None) -> None:
    """Let the background probes finish; after `wait_s`, or when the run is stopped (Ctrl-C, SIGTERM)
    while waiting, cancel them: each keeps what it has recorded."""
    if not tasks:
        return
    try:
        await asyncio.wait(tasks, timeout=wait_s)
    finally:
        for t in tasks:
            if not t.done():
                t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _guarded(probe: Probe, ctx: ProbeContext, writer: store.RunWriter, progress: Progress,
                   wanted: set[str], debug: bool) -> None:
    tracking = _Tracking(writer, probe.name)
    own = dataclasses.replace(ctx, recorder=tracking)
    writer.probe_started(probe.name)
    try:
        await probe.run(own)
    except asyncio.CancelledError:
        writer.probe_finished(probe.name, "cancelled")
        raise
    except Exception as e:
        message = str(e) if isinstance(e, ReadinessError) else f"{type(e).__name__}: {e}"
        writer.note(probe.name, "error", message + ("\n" + traceback.format_exc() if debug else ""))
        progress.say(f"[red]{probe.name}: {message}[/]")
        missing = [m for m in probe.metrics() if m in wanted and m not in tracking.seen]
        for m in missing:
            writer.not_measured(NotMeasured(m, message, probe=probe.name))
        writer.probe_finished(probe.name, "error", message)
        return
    writer.probe_finished(probe.name, "ok")


def _not_measured(writer: store.RunWriter, wanted: set[str], probe: str, reason: str) -> None:
    for m in sorted(wanted):
        if metric_catalog.METRICS.get(m) and metric_catalog.METRICS[m].probe == probe:
            writer.not_measured(NotMeasured(m, reason, probe=probe))

