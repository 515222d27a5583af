"""The benchmark's agents: net-snmp's snmpd serving generated walks (one process per device) must answer
exactly what snmpsim answers for the same walks, and keep the communities out of argv."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from readiness.errors import ReadinessError
from readiness.lab.snmp_agent import snmpd_agents, snmpd_config
from readiness.lab.snmp_walks import SwitchSpec, UpsSpec, switch, ups
from readiness.probes.snmp import poll
from readiness.probes.snmp.client import SnmpCredentials

from .conftest import need_tool, served

WALKS = {"sw-q-bridge": ("switch", switch(SwitchSpec(ports=48, uplinks=4, phones=24))),
         "sw-cisco": ("switch", switch(SwitchSpec(cisco=True, half_duplex=(3,), in_errors={2: 7}))),
         "ups-rfc1628": ("ups", ups(UpsSpec(on_battery_s=120))),
         "ups-apc": ("ups", ups(UpsSpec(mib="apc", bypass=True))),
         "ups-xups": ("ups", ups(UpsSpec(mib="xups")))}


def _poll(ports: dict[str, int]) -> dict[str, poll.Polled]:
    targets = [poll.Target(c, "127.0.0.1", ports[c], role, (lambda c=c: SnmpCredentials(community=c)), 5.0, 1)
               for c, (role, _) in WALKS.items()]
    return {p.target.label: p for p in asyncio.run(poll.poll_all(targets))}


def _children_argv() -> list[str]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == os.getpid():
                out.append((stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except (OSError, ValueError):
            continue
    return out


def test_snmpd_serves_what_snmpsim_serves():
    need_tool("snmpd")
    texts = {c: text for c, (_, text) in WALKS.items()}
    before = set(_children_argv())       # e.g. multiprocessing's resource tracker left by an earlier test
    with snmpd_agents(texts) as ports:
        argv = [a for a in _children_argv() if a not in before]
        from_snmpd = _poll(ports)
    with served(texts) as port:
        from_snmpsim = _poll({c: port for c in WALKS})
    assert len(argv) == len(WALKS) and all("snmpd" in a for a in argv)
    assert not any(c in a for c in WALKS for a in argv)
    for c in WALKS:
        a, b = from_snmpd[c], from_snmpsim[c]
        assert a.reachable and not a.walk.problems, (c, a.error, a.walk.problems)
        assert a.walk.values == b.walk.values, c


def test_snmpd_config_refuses_what_override_cannot_serve():
    assert "override .1.3.6.1.2.1.1.5.0 octet_str 0x" in snmpd_config(switch(), "c", 1161)
    for record in ("1.3.6.1.2.1.1.9.0|5|", "1.3.6.1.2.1.4.20.1.1.10.0.0.1|64|10.0.0.1",
                   "1.3.6.1.2.1.31.1.1.1.6.1|70|12345678901"):
        with pytest.raises(ReadinessError, match="snmpd cannot serve"):
            snmpd_config("1.3.6.1.2.1.1.1.0|4|x\n" + record + "\n", "c", 1161)
