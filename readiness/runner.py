"""`readiness run`: start the probes the site file configures, in their phases, record everything
as it arrives, then judge the run from its own log.

Order: audits (SNMP before) -> background probes start (capture) -> traffic probes one after another
(calls, iperf3) -> background probes stop -> after-probes (SNMP counters again).
A probe that fails marks its metrics not measured with the reason; the others go on.
"""

from __future__ import annotations

import asyncio
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
from .config.profile import Profile
from .config.site import SiteSpec
from .errors import ReadinessError
from .model import Artefact, Measurement, NotMeasured, RunInfo, Series
from .probes import Probe, ProbeContext, load_all
from .progress import NullProgress, Progress

BACKGROUND_STOP_TIMEOUT_S = 60.0


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C: stop the probes, keep what was recorded."""


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

    def note(self, probe: str, level: str, message: str) -> None:
        self._w.note(probe, level, message)

    def artefact_dir(self, probe: str) -> Path:
        return self._w.artefact_dir(probe)

    def relative(self, path: Path) -> str:
        return self._w.relative(path)


def execute(profile: Profile, site: SiteSpec, out_parent: Path, progress: Progress | None = None,
            only: Iterable[str] | None = None, debug: bool = False) -> Path:
    """Run every configured probe against `site`, judge against `profile`; return the run folder."""
    progress = progress or NullProgress()
    run_dir = store.new_run_dir(Path(out_parent), profile.name, site.site)
    writer = store.RunWriter(run_dir)
    _keep_inputs(run_dir, profile, site)
    info = RunInfo(run_id=uuid.uuid4().hex[:12], profile=profile.name, site=site.site,
                   started=store.utc_iso(), criteria=profile.criteria, profile_file=profile.file,
                   site_file=site.file, tool_version=__version__, host=socket.gethostname())
    writer.started(info)
    interrupted, reason = False, ""
    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        asyncio.run(_run_probes(site, writer, profile, progress, set(only) if only else None, debug))
    except Terminated:
        interrupted, reason = True, "stopped by SIGTERM"
    except KeyboardInterrupt:
        interrupted, reason = True, "interrupted (Ctrl-C)"
    finally:
        signal.signal(signal.SIGTERM, previous)
        writer.finished(interrupted, reason)
        writer.close()
    return run_dir


def _on_sigterm(signum: int, frame: Any) -> None:
    raise Terminated()


def _keep_inputs(run_dir: Path, profile: Profile, site: SiteSpec) -> None:
    """Copy the site file and profile chain into the run folder: the run documents what it tested."""
    inputs = run_dir / "inputs"
    inputs.mkdir(exist_ok=True)
    for f in [site.file] + profile.chain:
        try:
            shutil.copy(f, inputs / os.path.basename(f))
        except OSError:
            pass


async def _run_probes(site: SiteSpec, writer: store.RunWriter, profile: Profile, progress: Progress,
                      only: set[str] | None, debug: bool) -> None:
    wanted = {c.metric for c in profile.criteria}
    probes, broken = load_all()
    ctx = ProbeContext(site=site, recorder=writer, progress=progress, wanted=wanted)
    registered = {p.name for p in probes} | {_entry_name(e) for e, _ in broken}

    for entry, error in broken:
        _not_measured(writer, wanted, _entry_name(entry), f"the {_entry_name(entry)} probe could not load: {error}")
        progress.say(f"[yellow]{_entry_name(entry)}: could not load: {error}[/]")
    for name in sorted({metric_catalog.METRICS[m].probe for m in wanted if m in metric_catalog.METRICS} - registered):
        _not_measured(writer, wanted, name, f"this version of readiness has no '{name}' probe yet")

    active: list[Probe] = []
    for p in probes:
        if only is not None and p.name not in only:
            _not_measured(writer, wanted, p.name, f"skipped: --only {','.join(sorted(only))}")
            continue
        why = p.configured(site)
        if why:
            _not_measured(writer, wanted, p.name, why)
            continue
        if not any(metric_catalog.METRICS[m].probe == p.name for m in wanted):
            continue  # the profile judges nothing this probe measures
        active.append(p)

    def phase(name: str) -> list[Probe]:
        return [p for p in active if p.phase == name]

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
        if background:
            done, pending = await asyncio.wait(background, timeout=BACKGROUND_STOP_TIMEOUT_S)
            for t in pending:
                t.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
    for p in phase("after"):
        await _guarded(p, ctx, writer, progress, wanted, debug)


async def _guarded(probe: Probe, ctx: ProbeContext, writer: store.RunWriter, progress: Progress,
                   wanted: set[str], debug: bool) -> None:
    tracking = _Tracking(writer, probe.name)
    own = ProbeContext(site=ctx.site, recorder=tracking, progress=ctx.progress,
                       traffic_started=ctx.traffic_started, traffic_done=ctx.traffic_done,
                       shared=ctx.shared, wanted=ctx.wanted)
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


def _entry_name(entry: str) -> str:
    """'readiness.probes.snmp.probe:SnmpProbe' -> 'snmp' (the package under readiness.probes)."""
    module = entry.partition(":")[0]
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and parts[:2] == ["readiness", "probes"] else parts[-1]


def _not_measured(writer: store.RunWriter, wanted: set[str], probe: str, reason: str) -> None:
    for m in sorted(wanted):
        if metric_catalog.METRICS.get(m) and metric_catalog.METRICS[m].probe == probe:
            writer.not_measured(NotMeasured(m, reason, probe=probe))

