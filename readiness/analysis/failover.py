"""What a failover drill found: the outages, which held calls survived them, how long until new
calls worked again, and which way the traffic went. Plain inputs (one record per held call and per
test call, from the drill's probe), one plain result; nothing here measures or judges.

- A held call is dropped when the far end hung up on it, its media did not come back in a direction
  (an open gap), or its dialog was gone at the end (our BYE got no answer or 481, RFC 3261 15.1.2).
- recovery_ms of an outage: from its start to the answer of the first test call placed since then
  that worked (answered, media came back); None when none did before the drill ended. When new
  calls were not touched it is about the test calls' spacing (--new-calls-every), its resolution.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from typing import Any

from .media_gaps import Gap, Outage, outages

DIRECTIONS = ("up", "down")


@dataclass(frozen=True)
class HeldCall:
    call: int                        # 1-based
    answered: bool
    gaps: tuple[Gap, ...] = ()
    far_end_hung_up: bool = False
    bye_status: int | None = None    # our BYE's final status (None: no answer)
    bye_sent: bool = True
    media_end: float | None = None   # our last packet sent (epoch)
    source_seen: str = ""
    cause: str = ""                  # not answered: why
    moved: tuple[float, ...] = ()    # when the far end saw its media arrive from a new address


@dataclass(frozen=True)
class TestCall:
    call: int
    first_try: float                 # epoch of its first INVITE (to the first target tried)
    answered_at: float | None        # epoch of the 200 OK that answered it
    works: bool                      # answered and media came back
    cause: str                       # answered, timeout, 503 ...
    target: str                      # the target that answered (or the last tried)
    attempts: int = 1                # targets tried
    source_seen: str = ""


@dataclass
class OutageReport:
    outage: int                      # 1-based
    start: float
    end: float
    direction: str
    gap_ms: float | None             # the longest gap of a call that came back
    gap_ms_median: float | None
    calls_affected: int
    calls_not_back: int
    calls: list[dict[str, Any]]      # {call, gap_ms (None: never back)}
    recovery_ms: float | None = None
    mark: str = ""                   # the technician's last mark before it (within MARK_BEFORE_S)


@dataclass
class DrillOutcome:
    outages: list[OutageReport] = field(default_factory=list)
    calls_held: int = 0
    calls_not_set_up: int = 0
    calls_survived: int = 0
    calls_dropped: int = 0
    dropped: list[dict[str, Any]] = field(default_factory=list)     # {call, why}
    recovery_ms: float | None = None
    new_calls: dict[str, Any] = field(default_factory=dict)
    sources: list[dict[str, Any]] = field(default_factory=list)     # {source, first, last, calls}
    calls_moved: int = 0             # held calls whose media reached the far end from a new address
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


MARK_BEFORE_S = 120.0        # a mark this long before an outage still names it (the cable pulled, then the wait)
MARK_AFTER_S = 10.0          # or this long after its start (pressed once the line was out)
MAX_TEST_ROWS = 3000         # test calls listed one by one (an hour at one every 1.2 s)


def _drop_reason(c: HeldCall) -> str:
    if c.far_end_hung_up:
        return "the far end hung up (BYE)"
    open_dirs = sorted({g.direction for g in c.gaps if g.end is None})
    if open_dirs:
        return f"media did not come back ({', '.join(open_dirs)})"
    if c.bye_sent and c.bye_status is None:
        return "the dialog was lost: our BYE at the end got no answer"
    if c.bye_sent and c.bye_status is not None and c.bye_status >= 300:
        return f"the dialog was lost: our BYE at the end got {c.bye_status}"
    return ""


def _recovery(o: Outage, tests: list[TestCall]) -> float | None:
    good = [t.answered_at for t in tests if t.works and t.answered_at is not None and t.first_try >= o.start]
    return 1000.0 * (min(good) - o.start) if good else None


def _mark(marks: list[tuple[float, str]], start: float, end: float) -> str:
    """The technician's mark nearest the start of an outage (pressed a little before or after it)."""
    near = [(abs(t - start), text) for t, text in marks if start - MARK_BEFORE_S <= t <= end + MARK_AFTER_S]
    return min(near)[1] if near else ""


def _broken(t: TestCall) -> bool:
    return not t.works or t.attempts > 1


def _signalling_outages(tests: list[TestCall], media: list[Outage]) -> list[tuple[float, float, int, float | None]]:
    """Runs of test calls that failed (or needed another target) while the held calls' media went on:
    (start, end, failed calls, recovery_ms) each; a failed SBC with media untouched looks like this."""
    def covered(t: TestCall) -> bool:
        return any(o.start - 5.0 <= t.first_try <= o.end + 5.0 for o in media)

    out = []
    run: list[TestCall] = []
    for t in sorted(tests, key=lambda t: t.first_try) + [None]:   # type: ignore[list-item]
        if t is not None and _broken(t) and not covered(t):
            run.append(t)
            continue
        if run and (t is None or t.works):
            start = run[0].first_try
            later = [x.answered_at for x in tests if x.works and x.attempts == 1 and x.answered_at is not None
                     and x.first_try > run[-1].first_try]
            out.append((start, run[-1].first_try, len(run), 1000.0 * (min(later) - start) if later else None))
            run = []
    return out


def _sources(held: list[HeldCall], tests: list[TestCall]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for t in tests:
        if t.source_seen and t.answered_at is not None:
            s = seen.setdefault(t.source_seen, {"source": t.source_seen, "first": t.answered_at,
                                                "last": t.answered_at, "calls": 0})
            s["first"], s["last"] = min(s["first"], t.answered_at), max(s["last"], t.answered_at)
            s["calls"] += 1
    for c in held:
        if c.source_seen and c.source_seen not in seen:
            seen[c.source_seen] = {"source": c.source_seen, "first": None, "last": None, "calls": 0}
    return sorted(seen.values(), key=lambda s: (s["first"] is None, s["first"] or 0))


def summarise(held: list[HeldCall], tests: list[TestCall], marks: list[tuple[float, str]] | None = None) -> DrillOutcome:
    out = DrillOutcome()
    answered = [c for c in held if c.answered]
    out.calls_held = len(answered)
    out.calls_not_set_up = len(held) - len(answered)
    for c in answered:
        why = _drop_reason(c)
        if why:
            out.dropped.append({"call": c.call, "why": why})
    out.calls_dropped = len(out.dropped)
    out.calls_survived = out.calls_held - out.calls_dropped
    found = outages([g for c in answered for g in c.gaps])
    marks = sorted(marks or [])
    recoveries = []
    for n, o in enumerate(found, 1):
        rec = _recovery(o, tests) if tests else None
        recoveries.append(rec)
        mark = _mark(marks, o.start, o.end)
        for d in DIRECTIONS:
            gs = [g for g in o.gaps if g.direction == d]
            if not gs:
                continue
            closed = [g.gap_ms for g in gs if g.gap_ms is not None]
            per_call: dict[int, float | None] = {}
            for g in gs:          # a call with two gaps in one outage: its longest, open beats closed
                prev = per_call.get(g.call, 0.0)
                per_call[g.call] = None if prev is None or g.gap_ms is None else max(prev, g.gap_ms)
            out.outages.append(OutageReport(
                n, o.start, o.end, d, max(closed) if closed else None,
                statistics.median(closed) if closed else None, len(per_call),
                sum(1 for v in per_call.values() if v is None),
                [{"call": k, "gap_ms": None if v is None else round(v, 1)} for k, v in sorted(per_call.items())],
                None if rec is None else round(rec, 1), mark))
    for n, (start, end, failed, rec) in enumerate(_signalling_outages(tests, found), len(found) + 1):
        recoveries.append(rec)
        mark = _mark(marks, start, end)
        out.outages.append(OutageReport(n, start, end, "signalling", None, None, failed, 0, [],
                                        None if rec is None else round(rec, 1), mark))
    known = [r for r in recoveries if r is not None]
    out.recovery_ms = round(max(known), 1) if known else None
    if tests:
        setups = [1000.0 * (t.answered_at - t.first_try) for t in tests if t.answered_at is not None]
        out.new_calls = {"placed": len(tests), "worked": sum(1 for t in tests if t.works),
                         "failed": sum(1 for t in tests if not t.works),
                         "failed_over": sum(1 for t in tests if t.attempts > 1),
                         "setup_ms_p50": round(statistics.median(setups), 1) if setups else None,
                         "setup_ms_max": round(max(setups), 1) if setups else None,
                         "calls": [{"call": t.call, "t": round(t.first_try, 3), "cause": t.cause, "target": t.target,
                                    "attempts": t.attempts, "setup_ms": None if t.answered_at is None
                                    else round(1000.0 * (t.answered_at - t.first_try), 1), "works": t.works}
                                   for t in tests[:MAX_TEST_ROWS]]}
    out.sources = _sources(held, tests)
    out.calls_moved = sum(1 for c in answered if c.moved)
    if out.calls_moved:
        out.notes.append(f"the media of {out.calls_moved} held call(s) reached the far end from a new address "
                         "after an outage (a NAT's new mapping): the calls went another way")
    if len(out.sources) > 1:
        out.notes.append(f"the far end saw our calls come from {len(out.sources)} addresses "
                         f"({', '.join(s['source'] for s in out.sources)}): the traffic took another way "
                         "out (a backup line's NAT)")
    return out
