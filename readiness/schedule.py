"""Runs on a schedule, for a pilot phase: `readiness run --repeat 15m --until ... | --count N` makes
one run folder per repetition inside one pilot folder. A repetition starts on its slot (start + k x
period); one that overran its slot starts at the next free one, so the windows stay on the grid. Ctrl-C
or SIGTERM, during a run (which is then marked incomplete) or while waiting, ends the schedule; what
ran is kept."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Callable

from . import results as results_mod
from . import store


def _stopped(run_dir: Path) -> bool:
    """Was this run cut short by Ctrl-C or SIGTERM (not merely incomplete)?"""
    try:
        reason = results_mod.load(run_dir).interrupted_reason
    except store.RunFolderError:
        return True
    return "Ctrl-C" in reason or "SIGTERM" in reason


def _raise(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def repeat(run_once: Callable[[], Path | None], every_s: float, count: int | None = None,
           until: float | None = None, say: Callable[[str], None] = lambda text: None,
           clock: Callable[[], float] = time.time) -> list[Path]:
    """Call `run_once` (it returns the run folder it made) every `every_s` seconds, `count` times or
    until the epoch `until`; the run folders made."""
    runs: list[Path] = []
    first = clock()
    slot = 0
    while (count is None or len(runs) < count) and (until is None or clock() < until):
        run_dir = run_once()
        if run_dir is not None:
            runs.append(run_dir)
            if _stopped(run_dir):
                say("stopped: the pilot ends with this run (marked incomplete)")
                break
        slot = max(slot + 1, int((clock() - first) // every_s) + 1)     # skip slots a long run overran
        due = first + slot * every_s
        if (count is not None and len(runs) >= count) or (until is not None and due >= until):
            break
        say(f"run {len(runs)} done; the next starts at {time.strftime('%H:%M:%S', time.localtime(due))}")
        previous = signal.signal(signal.SIGTERM, _raise)
        try:
            time.sleep(max(0.0, due - clock()))
        except KeyboardInterrupt:
            say("stopped while waiting: the pilot ends here")
            break
        finally:
            signal.signal(signal.SIGTERM, previous)
    return runs
