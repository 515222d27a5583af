"""The runner's SNMP probes: the audit before the traffic and the counters after it. Ground truth for the
deltas: counter values set on the agent between the two polls (snmpsim's writecache module), including a
Counter32 wrap and a device restart (sysUpTime going back)."""

from __future__ import annotations

import asyncio
import json

import pytest
from pysnmp.entity.rfc3413 import cmdgen
from pysnmp.proto.rfc1902 import Counter32, ObjectName, TimeTicks

from readiness.reports.document import finalise
from readiness.config import profile as profile_mod
from readiness.config import site as site_mod
from readiness.lab.snmp_walks import IF_BASE, switch
from readiness.probes import ProbeContext, load_all
from readiness.probes.base import MemoryRecorder
from readiness.probes.snmp import mibs
from readiness.probes.snmp.client import SnmpCredentials, SnmpSession
from readiness.probes.snmp.probe import SnmpAuditProbe, SnmpCountersProbe
from readiness.runner import execute

from .conftest import replace_record, served, write_site

IN_ERR = "1.3.6.1.2.1.2.2.1.14"
OUT_DISC = "1.3.6.1.2.1.2.2.1.19"
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"


def writable(text: str, oid: str, tag: int, value: int) -> str:
    return replace_record(text, oid, f"{oid}|{tag}:writecache|value={value}")


WALK = switch()
WALK = writable(WALK, f"{IN_ERR}.{IF_BASE + 1}", 65, 100)
WALK = writable(WALK, f"{OUT_DISC}.{IF_BASE + 2}", 65, 4294967290)       # about to wrap
WALK = writable(WALK, f"{IN_ERR}.{IF_BASE + 25}", 65, 7)                 # the uplink
RESTARTING = writable(switch(), SYS_UPTIME, 67, 8_640_000)


async def _set(port: int, community: str, values: list[tuple[str, object]]) -> None:
    # SET is not part of the audit: it goes through pysnmp
    async with SnmpSession("127.0.0.1", port, SnmpCredentials(community=community), backend="pysnmp") as s:
        await s.pysnmp_send(cmdgen.SetCommandGenerator(), [(ObjectName(mibs.oid(o)), v) for o, v in values])


@pytest.fixture(scope="module")
def agent():
    with served({"sw": WALK, "restarting": RESTARTING}) as port:
        yield port


def _ctx(site) -> ProbeContext:
    return ProbeContext(site=site, recorder=MemoryRecorder())


def test_counter_deltas_are_exact_including_a_wrap(agent, tmp_path):
    sw = {"role": "switch", "phone_ports": ["Gi1/0/1-8"], "uplink_ports": ["Gi1/0/25"], "phones": 8}
    site = site_mod.load(write_site(tmp_path, agent, [{"name": "sw", "community": "sw", **sw}]))
    ctx = _ctx(site)
    asyncio.run(SnmpAuditProbe().run(ctx))
    asyncio.run(_set(agent, "sw", [(f"{IN_ERR}.{IF_BASE + 1}", Counter32(103)),          # +3
                                   (f"{OUT_DISC}.{IF_BASE + 2}", Counter32(4)),          # +10 across 2^32
                                   (f"{IN_ERR}.{IF_BASE + 25}", Counter32(7))]))         # unchanged
    after = ProbeContext(site=site, recorder=MemoryRecorder(ctx.recorder._dir), shared=ctx.shared)
    asyncio.run(SnmpCountersProbe().run(after))
    got = {m.tags["port"]: m.value for m in after.recorder.measurements if m.metric == "if.errors_during_test"}
    assert got["Gi1/0/1"] == 3 and got["Gi1/0/2"] == 10 and got["Gi1/0/25"] == 0
    assert set(got) == {f"Gi1/0/{p}" for p in range(1, 9)} | {"Gi1/0/25"}       # the voice path only
    assert sum(got.values()) == 13
    m = next(m for m in after.recorder.measurements if m.tags.get("port") == "Gi1/0/2")
    assert "out_discards +10" in m.subject and m.tags["device"] == "sw"
    assert (ctx.recorder._dir / "snmp" / "after" / "snapshot.json").is_file()


def test_a_restart_between_polls_is_not_measured(agent, tmp_path):
    site = site_mod.load(write_site(tmp_path, agent, [{"name": "r", "community": "restarting", "role": "switch"}]))
    ctx = _ctx(site)
    asyncio.run(SnmpAuditProbe().run(ctx))
    asyncio.run(_set(agent, "restarting", [(SYS_UPTIME, TimeTicks(500))]))
    asyncio.run(SnmpCountersProbe().run(ctx))
    missing = [n for n in ctx.recorder.missing if n.metric == "if.errors_during_test"]
    assert len(missing) == 1 and "restarted" in missing[0].reason
    assert not [m for m in ctx.recorder.measurements if m.metric == "if.errors_during_test"]


def test_counters_probe_without_a_snapshot_says_so(agent, tmp_path):
    site = site_mod.load(write_site(tmp_path, agent, [{"name": "sw", "community": "sw", "role": "switch"}]))
    ctx = _ctx(site)
    asyncio.run(SnmpCountersProbe().run(ctx))
    assert "no SNMP snapshot" in ctx.recorder.missing[0].reason


def test_both_probes_are_registered_under_the_name_snmp():
    probes, broken = load_all()
    snmp = [p for p in probes if p.name == "snmp"]
    assert not [b for b in broken if "snmp" in b[0]]
    assert sorted(p.phase for p in snmp) == ["after", "audit"]
    assert SnmpCountersProbe().metrics() == ["if.errors_during_test"]
    assert "if.errors_during_test" not in SnmpAuditProbe().metrics()


def test_readiness_run_judges_the_snmp_criteria(agent, tmp_path):
    sw = {"role": "switch", "phone_ports": ["Gi1/0/1-8"], "uplink_ports": ["Gi1/0/25"], "phones": 8}
    site = site_mod.load(write_site(tmp_path / "site", agent, [{"name": "sw", "community": "sw", **sw}]))
    run_dir = execute(profile_mod.load("cloud-pbx-single-site"), site, tmp_path / "runs", only=["snmp"])
    results = finalise(run_dir)
    verdicts = {c.id: c.verdict for c in results.criteria}
    for cid in ("poe-headroom", "voice-vlan-exists", "voice-vlan-on-phone-ports", "lldp-med-voice-policy",
                "no-half-duplex"):
        assert verdicts[cid] == "pass", cid
    # the walk's uplink has 7 input errors since boot: a should-criterion warns
    assert verdicts["no-erroring-ports"] == "warn"
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    deltas = [e for e in events if e.get("record", {}).get("metric") == "if.errors_during_test"]
    assert deltas and all(e["record"]["tags"]["device"] == "sw" for e in deltas)
    starts = [e["seq"] for e in events if e["type"] == "probe_started" and e["probe"] == "snmp"]
    assert len(starts) == 2                      # the audit before, the counters after
