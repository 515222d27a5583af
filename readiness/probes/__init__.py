"""Probes measure: calls, iperf3, SNMP, capture. Each records what it saw; none judges."""

from __future__ import annotations

import importlib

from .base import Probe, ProbeContext, Recorder

# "module:Class", imported lazily so one probe's missing dependency cannot stop the others.
REGISTRY: list[str] = [
    "readiness.probes.calls.probe:CallsProbe",
    "readiness.probes.iperf:IperfProbe",
    "readiness.probes.snmp.probe:SnmpAuditProbe",
    "readiness.probes.snmp.probe:SnmpCountersProbe",
    "readiness.probes.capture.probe:CaptureProbe",
    "readiness.probes.path.probe:PathProbe",
    "readiness.probes.drill.probe:DrillProbe",
]


def entry_name(entry: str) -> str:
    """'readiness.probes.snmp.probe:SnmpAuditProbe' -> 'snmp' (the package under readiness.probes)."""
    module = entry.partition(":")[0]
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and parts[:2] == ["readiness", "probes"] else parts[-1]


def load_all(names: set[str] | None = None) -> tuple[list[Probe], list[tuple[str, str]]]:
    """The probes that import, and (entry, error) for those that do not; only those named in `names`
    when given (a one-probe command need not import the others: a quarter of its start-up)."""
    probes, broken = [], []
    for entry in REGISTRY:
        if names is not None and entry_name(entry) not in names:
            continue
        module, _, cls = entry.partition(":")
        try:
            probes.append(getattr(importlib.import_module(module), cls)())
        except Exception as e:  # an import problem in one probe must not take the run down
            broken.append((entry, f"{type(e).__name__}: {e}"))
    return probes, broken


__all__ = ["Probe", "ProbeContext", "Recorder", "REGISTRY", "entry_name", "load_all"]
