"""A call load's details: one row per call (`calls`), the load's summary (`summary`) and, for a
capacity search, its steps (`capacity`). Field names are those of `readiness calls --json`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from . import typed, typed_list

CALLS, SUMMARY, CAPACITY = "calls", "summary", "capacity"


@dataclass(frozen=True)
class CallRow:
    """One call, both directions (up = towards the far end)."""

    call_id: str = ""
    index: int = 0                       # 1-based
    answered: bool = False
    sip_status: int | None = None
    cause: str = ""
    detail: str = ""
    setup_ms: float | None = None
    post_dial_delay_ms: float | None = None
    codec: str = ""
    ptime_ms: int = 20
    far_end: str = ""                    # responder | rtp-peer
    mos: float | None = None             # the worse direction
    r_factor: float | None = None
    mos_up: float | None = None
    mos_down: float | None = None
    packets_sent_up: int | None = None
    packets_lost_up: int | None = None
    packets_sent_down: int | None = None
    packets_lost_down: int | None = None
    loss_pct_up: float | None = None
    loss_pct_down: float | None = None
    jitter_ms_up: float | None = None
    jitter_ms_down: float | None = None
    burst_ratio_up: float | None = None
    burst_ratio_down: float | None = None
    reorder_pct_up: float | None = None
    reorder_pct_down: float | None = None
    duplicate_pct_up: float | None = None
    duplicate_pct_down: float | None = None
    rtt_ms_p50: float | None = None
    rtt_ms_p95: float | None = None
    one_way_ms_up: float | None = None
    one_way_ms_down: float | None = None
    one_way_estimated: bool | None = None
    mouth_to_ear_ms_up: float | None = None
    mouth_to_ear_ms_down: float | None = None
    dscp_sent: int | None = None
    sip_dscp_received_up: int | None = None
    sip_dscp_received_down: int | None = None
    dscp_received_up: int | None = None
    dscp_received_down: int | None = None
    dscp_remarked_pct_up: float | None = None
    dscp_remarked_pct_down: float | None = None
    schedule_error_ms_p99: float | None = None
    slip_max_ms: float | None = None        # our sender's longest slip from its schedule
    late_packets: int | None = None         # sent 5 ms or more late
    hold_max_ms: float | None = None        # the responder's longest hold of a reply
    late_replies: int | None = None         # held 5 ms or more
    media_note: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class LoadSummary:
    target: str = ""
    codec: str = ""
    ptime_ms: int = 20
    calls_attempted: int = 0
    calls_answered: int = 0
    calls_failed: int = 0
    answered_pct: float | None = None
    failures_by_cause: dict[str, int] = field(default_factory=dict)
    peak_concurrent: int = 0
    mos_min: float | None = None
    mos_p05: float | None = None
    mos_median: float | None = None
    setup_ms_p50: float | None = None
    setup_ms_p95: float | None = None
    loss_pct_up_max: float | None = None
    loss_pct_down_max: float | None = None
    jitter_ms_up_max: float | None = None
    jitter_ms_down_max: float | None = None
    rtt_ms_p50_median: float | None = None
    dscp_sent: str = ""
    dscp_remarked_pct_up_max: float | None = None
    dscp_remarked_pct_down_max: float | None = None
    schedule_error_ms_p99: float | None = None
    slip_max_ms: float | None = None        # the generator's fidelity over every call (see CallRow)
    late_packets: int | None = None
    hold_max_ms: float | None = None
    late_replies: int | None = None
    started: float | None = None
    ended: float | None = None
    far_end_agents: list[str] = field(default_factory=list)   # what the far end said it runs (Server header)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CapacityStep:
    calls: int = 0
    passed: bool = False
    failed_criteria: list[str] = field(default_factory=list)
    answered: int = 0
    mos_min: float | None = None


@dataclass(frozen=True)
class CapacitySearch:
    capacity_calls: int = 0              # largest concurrency that passed (0: none did)
    max_calls: int = 0
    limited_by_max: bool = False         # passed at the upper bound: the real capacity may be higher
    steps: list[CapacityStep] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def calls(details: dict[str, Any]) -> list[CallRow]:
    return typed_list(CallRow, details.get(CALLS))


def summary(details: dict[str, Any]) -> LoadSummary | None:
    return typed(LoadSummary, details[SUMMARY]) if SUMMARY in details else None


def capacity(details: dict[str, Any]) -> CapacitySearch | None:
    if CAPACITY not in details:
        return None
    c = typed(CapacitySearch, details[CAPACITY])
    return CapacitySearch(c.capacity_calls, c.max_calls, c.limited_by_max, typed_list(CapacityStep, c.steps))
