"""Progress for long runs: probes report what they are doing; the terminal shows it, tests ignore it."""

from __future__ import annotations

import sys
import time
from typing import Any


class NullProgress:
    """Progress that goes nowhere (tests, --quiet, --json on stdout)."""

    def task(self, label: str, total: float | None = None) -> int:
        return 0

    def update(self, task: int, completed: float | None = None, info: str = "") -> None:
        pass

    def done(self, task: int, info: str = "") -> None:
        pass

    def say(self, message: str) -> None:
        pass

    def close(self) -> None:
        pass


Progress = NullProgress  # the interface; RichProgress implements it


class RichProgress(NullProgress):
    """A live progress display on stderr, one bar per task."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress as _P, TextColumn, TimeElapsedColumn

        self.console = Console(stderr=True)
        self._p = _P(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.fields[info]}"),
                     TimeElapsedColumn(), console=self.console, transient=False,
                     disable=not sys.stderr.isatty())
        self._p.start()
        self._t0 = time.monotonic()

    def task(self, label: str, total: float | None = None) -> int:
        return int(self._p.add_task(label, total=total, info=""))

    def update(self, task: int, completed: float | None = None, info: str = "") -> None:
        kw: dict[str, Any] = {"info": info}
        if completed is not None:
            kw["completed"] = completed
        self._p.update(task, **kw)  # type: ignore[arg-type]

    def done(self, task: int, info: str = "") -> None:
        t = self._p.tasks[task] if task < len(self._p.tasks) else None
        total = t.total if t is not None and t.total is not None else 1
        self._p.update(task, completed=total, total=total, info=info)  # type: ignore[arg-type]
        if not sys.stderr.isatty():
            self.say(f"{t.description if t else ''}: {info}" if info else (t.description if t else ""))

    def say(self, message: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        # one message, one line: a log read later (or a script's grep) should not find it broken up
        self._p.console.print(f"[dim]{stamp}[/] {message}", highlight=False, soft_wrap=True)

    def close(self) -> None:
        self._p.stop()
