"""Snapshots: the raw values of every polled device, stored as evidence behind verdicts and for
before/after comparisons. A folder with `snapshot.json` (what was polled, when, what failed) and one
`.snmprec` file per device, which snmpsim can serve again to replay the audit."""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from pathlib import Path

from ...config.site import SiteSpec
from ...progress import NullProgress, Progress
from . import poll
from .poll import Polled
from .walk import Walk

INDEX = "snapshot.json"


def file_name(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", label).strip("._") or "device"


def write(folder: Path, polled: list[Polled], kind: str = "audit") -> Path:
    """Write a snapshot folder; returns the index file. Secrets are not part of a poll, so not stored."""
    folder.mkdir(parents=True, exist_ok=True)
    devices = []
    used: set[str] = set()
    for p in polled:
        name = file_name(p.target.label)
        while name in used:
            name += "_"
        used.add(name)
        entry = {"name": p.target.label, "host": p.target.address, "role": p.target.role,
                 "reachable": p.reachable, "error": p.error or None, "started": p.started,
                 "finished": p.finished, "values": len(p.walk), "problems": p.walk.problems, "file": None}
        if p.reachable:
            p.walk.save(folder / f"{name}.snmprec")
            entry["file"] = f"{name}.snmprec"
        devices.append(entry)
    index = folder / INDEX
    index.write_text(json.dumps({"kind": kind, "devices": devices}, indent=2))
    return index


@dataclass
class Stored:
    name: str
    host: str
    role: str
    reachable: bool
    error: str
    started: float
    finished: float
    walk: Walk


def take(site: SiteSpec, out: Path, progress: Progress | None = None) -> tuple[Path, list[Polled]]:
    """`readiness snmp snapshot`: poll the site's devices (or its `snmp.only`) and store the raw values."""
    progress = progress or NullProgress()
    targets = poll.chosen(site)
    task = progress.task("SNMP", total=len(targets))
    done: list[str] = []

    def tick(p: Polled) -> None:
        done.append(p.target.label)
        progress.update(task, completed=len(done), info=p.target.label)

    polled = asyncio.run(poll.poll_all(targets, False, tick))
    progress.done(task, f"{sum(p.reachable for p in polled)} of {len(polled)} devices answered")
    return write(out, polled, "snapshot"), polled


def read(folder: Path) -> list[Stored]:
    doc = json.loads((folder / INDEX).read_text())
    out = []
    for d in doc["devices"]:
        walk = Walk.load(folder / d["file"]) if d.get("file") else Walk()
        walk.problems.update(d.get("problems") or {})
        out.append(Stored(d["name"], d["host"], d["role"], d["reachable"], d.get("error") or "",
                          d.get("started", 0.0), d.get("finished", 0.0), walk))
    return out
