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


def load_all() -> tuple[list[Probe], list[tuple[str, str]]]:
    """The probes that import, and (name, error) for those that do not."""
    probes, broken = [], []
    for entry in REGISTRY:
        module, _, cls = entry.partition(":")
        try:
            probes.append(getattr(importlib.import_module(module), cls)())
        except Exception as e:  # an import problem in one probe must not take the run down
            broken.append((entry, f"{type(e).__name__}: {e}"))
    return probes, broken


__all__ = ["Probe", "ProbeContext", "Recorder", "REGISTRY", "load_all"]
