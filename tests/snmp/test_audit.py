"""The audit judged against the plan, on walks with known answers (readiness.lab.snmp_walks) served by a
real snmpsim: what no recording has - an LLDP-MED voice policy, a Cisco voice VLAN, a PoE budget nearly
spent, UPSes on battery and on bypass in each MIB's units."""

from __future__ import annotations

import pytest

from readiness.config import profile as profile_mod
from readiness.config import site as site_mod
from readiness.lab.snmp_walks import SwitchSpec, UpsSpec, switch, ups

from .conftest import audit_run, audit_site, served, write_site

WALKS = {
    "demo": switch(),
    "poe-spent": switch(SwitchSpec(poe_consumption_w=300)),
    "cisco": switch(SwitchSpec(cisco=True, lldp_med=False, voice_missing=(3,))),
    "faults": switch(SwitchSpec(voice_missing=(2, 5), half_duplex=(1,), in_errors={3: 17})),
    "no-voice": switch(SwitchSpec(voice_vlan=None)),
    "ups-mains": ups(),
    "ups-battery": ups(UpsSpec(on_battery_s=300, runtime_min=8, charge_pct=70)),
    "apc-battery": ups(UpsSpec(mib="apc", on_battery_s=120, runtime_min=12.5)),
    "xups-bypass": ups(UpsSpec(mib="xups", bypass=True, runtime_min=33)),
}
SWITCH = {"role": "switch", "phone_ports": ["Gi1/0/1-8"], "uplink_ports": ["Gi1/0/25"], "phones": 8}


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    folder = tmp_path_factory.mktemp("audit")
    with served(WALKS) as port:
        devices = [{"name": n, "community": n, **(SWITCH if "ups" not in n and "apc" not in n else {"role": "ups"})}
                   for n in WALKS]
        site = site_mod.load(write_site(folder, port, devices))
        res = audit_site(site, profile_mod.load("site-lan"))
        document = audit_run(site, profile_mod.load("site-lan"), folder / "runs")
    return {r.label: r for r in res.reports}, res, document


def value(reports, device, metric):
    c = reports[device].check(metric)
    assert c is not None, f"{device} has no {metric}"
    return c.value


def verdict(result, device, criterion):
    _, res, _ = result
    return next(v for v in res.by_device[device] if v.criterion == criterion).outcome


def test_demo_switch_meets_every_criterion(result):
    reports, _, _ = result
    r = reports["demo"]
    # 370 W x 90 % threshold - 56 W in use - 8 planned class-2 phones x 7 W
    assert value(reports, "demo", "poe.headroom_w") == pytest.approx(370 * 0.9 - 56 - 8 * 7.0)
    assert value(reports, "demo", "vlan.voice_vlan_present") is True
    assert value(reports, "demo", "vlan.voice_ports_missing") == 0
    assert value(reports, "demo", "lldp.voice_policy") is True
    assert value(reports, "demo", "if.half_duplex_ports") == 0
    assert value(reports, "demo", "if.error_ports") == 0
    assert r.voice_vlan == 20
    assert {v.outcome for v in result[1].by_device["demo"]} == {"pass"}
    phones = [n.port for n in r.lldp.neighbours if n.telephone]
    assert phones == [f"Gi1/0/{p}" for p in range(1, 9)]          # LLDP local port = bridge port -> ifName
    doc = r.to_json()
    vlan20 = next(v for v in doc["vlans"] if v["id"] == 20)
    assert vlan20["tagged_ports"][:2] == ["Gi1/0/1", "Gi1/0/2"] and vlan20["untagged_ports"] == []
    assert doc["poe"]["usage_threshold_pct"] == 90 and doc["poe"]["budget_w"] == 370


def test_poe_budget_nearly_spent_fails(result):
    reports, _, _ = result
    assert value(reports, "poe-spent", "poe.headroom_w") == pytest.approx(333 - 300 - 56)
    assert verdict(result, "poe-spent", "poe-headroom") == "fail"


def test_cisco_voice_vlan_per_port(result):
    reports, _, _ = result
    r = reports["cisco"]
    assert r.vlans.source == "CISCO-VTP-MIB" and r.voice_vlan == 20
    c = r.check("vlan.voice_ports_missing")
    assert c.value == 1 and c.ports == ["Gi1/0/3"]
    assert verdict(result, "cisco", "voice-vlan-on-phone-ports") == "fail"
    # no LLDP-MED tables at all: not measured with the reason, never a pass
    assert r.check("lldp.voice_policy").value is None
    assert "LLDP-EXT-MED-MIB" in r.check("lldp.voice_policy").reason
    assert verdict(result, "cisco", "lldp-med-voice-policy") == "not_measured"


def test_faults_on_the_voice_path(result):
    reports, _, _ = result
    assert reports["faults"].check("vlan.voice_ports_missing").ports == ["Gi1/0/2", "Gi1/0/5"]
    assert reports["faults"].check("if.half_duplex_ports").ports == ["Gi1/0/1"]
    assert value(reports, "faults", "if.error_ports") == 1
    assert reports["faults"].check("if.error_ports").ports == ["Gi1/0/3: 17 in errors, 0 out discards"]
    # the LLDP-MED policy is still advertised on ports whose VLAN membership is missing
    assert value(reports, "faults", "lldp.voice_policy") is True
    assert verdict(result, "faults", "no-half-duplex") == "fail"
    assert verdict(result, "faults", "no-erroring-ports") == "warn"      # a should-criterion


def test_switch_without_the_voice_vlan(result):
    reports, _, _ = result
    assert value(reports, "no-voice", "vlan.voice_vlan_present") is False
    assert value(reports, "no-voice", "vlan.voice_ports_missing") == 8
    assert value(reports, "no-voice", "lldp.voice_policy") is False


@pytest.mark.parametrize("name, runtime, on_battery, source", [
    ("ups-mains", 40.0, False, "normal"),
    ("ups-battery", 8.0, True, "battery"),
    ("apc-battery", 12.5, True, "battery"),       # TimeTicks 75000 -> 12.5 min
    ("xups-bypass", 33.0, False, "bypass"),       # seconds 1980 -> 33 min
])
def test_ups_state_and_runtime(result, name, runtime, on_battery, source):
    reports, _, _ = result
    assert value(reports, name, "ups.runtime_min") == pytest.approx(runtime)
    assert value(reports, name, "ups.on_battery") is on_battery
    assert value(reports, name, "ups.output_source") == source
    assert verdict(result, name, "ups-on-mains") == ("fail" if on_battery else "pass")


def test_ups_on_battery_details(result):
    reports, _, _ = result
    u = reports["ups-battery"].ups
    assert u.on_battery_s == 300 and u.charge_pct == 70 and u.alarms == ["onBattery"]
    assert verdict(result, "ups-battery", "ups-runtime") == "warn"          # 8 < 15 min, should
    assert reports["apc-battery"].ups.on_battery_s == 120


def test_overall_verdict_fails_and_every_device_is_in_the_document(result):
    _, res, doc = result
    assert res.verdict == "fail" and doc["verdict"] == "fail"
    assert doc["schema"] == "readiness.run/1" and doc["command"] == "snmp audit"
    assert [d["name"] for d in doc["devices"]] == list(WALKS)
    for d in doc["devices"]:
        assert set(d) >= {"host", "role", "sys_descr", "reachable", "interfaces", "vlans", "voice_vlan", "poe",
                          "ups", "not_measured", "criteria"}
    ups_doc = next(d for d in doc["devices"] if d["name"] == "ups-battery")["ups"]
    assert set(ups_doc) >= {"battery_status", "charge_pct", "runtime_min", "on_battery_s", "output_source",
                            "load_pct", "alarms"}
    itf = next(d for d in doc["devices"] if d["name"] == "demo")["interfaces"][0]
    assert set(itf) >= {"name", "oper_status", "speed_mbps", "duplex", "in_errors", "out_discards"}


def test_site_phones_are_spread_over_switches_by_phone_ports():
    from readiness.config.site import Phones, SiteSpec, Snmp, SnmpDevice
    from readiness.probes.snmp import audit, poll

    devices = [SnmpDevice(name="a", host="192.0.2.1", role="switch", community={"env": "X"}, phone_ports=["Gi1/0/1-24"]),
               SnmpDevice(name="b", host="192.0.2.2", role="switch", community={"env": "X"}, phone_ports=["Gi1/0/1-8"]),
               SnmpDevice(name="c", host="192.0.2.3", role="switch", community={"env": "X"}, phones=3),
               SnmpDevice(name="core", host="192.0.2.4", role="switch", community={"env": "X"})]
    site = SiteSpec(site="s", phones=Phones(count=20), snmp=Snmp(devices=devices))
    plans = audit.plans(site, poll.targets(site))
    assert (plans["a"].phones, plans["b"].phones, plans["c"].phones, plans["core"].phones) == (15, 5, 3, 0)
