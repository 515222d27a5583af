"""What `readiness capture` and `readiness analyze` do, end to end (the CLI only parses options)."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

from ...config import site as site_mod
from ...config.site import Markings
from ...errors import ReadinessError
from ...progress import NullProgress, RichProgress
from ...units import parse_duration_s
from .analyze import Analysis, analyse
from .console import markings_broken, print_analysis
from .live import record
from .pcap import CaptureFileError


def _markings(site_file: str | None) -> Markings:
    return site_mod.load(site_file).markings if site_file else Markings()


def _write_json(a: Analysis, json_out: str) -> None:
    text = json.dumps(a.to_json(), indent=2, default=str)
    if json_out == "-":
        sys.stdout.write(text + "\n")
        return
    try:
        Path(json_out).write_text(text + "\n")
    except OSError as e:
        raise ReadinessError(f"cannot write {json_out}: {e.strerror or e}") from None


def run_analysis(path: Path, markings: Markings, show_progress: bool) -> Analysis:
    if not path.exists():
        raise CaptureFileError(f"{path}: no such file")
    progress = RichProgress() if show_progress else NullProgress()
    task = progress.task(f"reading {path.name}", total=max(path.stat().st_size, 1))
    try:
        a = analyse(path, markings, lambda done, total: progress.update(task, completed=done,
                                                                        info=f"{done / 1e6:.0f} MB"))
        progress.done(task, f"{a.packets} packets")
    finally:
        progress.close()
    return a


def _report(a: Analysis, json_out: str | None, quiet: bool) -> int:
    if json_out:
        _write_json(a, json_out)
    if not quiet and json_out != "-":
        print_analysis(a)
    return 1 if markings_broken(a) else 0


def analyze_command(path: Path, site_file: str | None, json_out: str | None, quiet: bool) -> int:
    markings = _markings(site_file)
    a = run_analysis(path, markings, show_progress=not quiet and json_out != "-")
    return _report(a, json_out, quiet)


def capture_command(interface: str, duration: str, bpf: str | None, out: Path, site_file: str | None,
                    json_out: str | None, snaplen: int | None) -> int:
    markings = _markings(site_file)
    try:
        seconds = parse_duration_s(duration)
    except ValueError as e:
        raise ReadinessError(f"--duration: {e}") from None
    path = out / f"capture-{interface}-{time.strftime('%Y%m%d-%H%M%S')}.pcapng"
    say = (lambda m: None) if json_out == "-" else (lambda m: print(m, file=sys.stderr))
    say(f"capturing on {interface} for {seconds:g} s into {path} (Ctrl-C stops early)")
    try:
        rec = asyncio.run(record(interface, path, seconds, bpf, snaplen))
    except KeyboardInterrupt:
        say("stopped early (Ctrl-C); analysing what was captured")
        rec = None
    if not path.exists():
        raise ReadinessError(f"no capture file was written on {interface}")
    a = run_analysis(path, markings, show_progress=False)
    if rec is not None:
        a.problems.extend(rec.problems())
    return _report(a, json_out, quiet=False)
