"""Bad input never stops the audit and never passes: a wrong community, a device that never answers, a
walk that stops half-way, values of the wrong type or NULL, negative counters, absurd numbers, sentinels
and an unreadable secret each give a clear per-device reason, and the other devices are still judged."""

from __future__ import annotations

import socket
import time

import pytest

from readiness.config import profile as profile_mod
from readiness.config import site as site_mod
from readiness.lab.snmp_walks import IF_BASE, switch

from .conftest import audit_site, replace_record, served, write_site


P1, P2, P3 = (f"{IF_BASE + p}" for p in (1, 2, 3))
BAD_SWITCH = switch()
BAD_SWITCH = replace_record(BAD_SWITCH, f"1.3.6.1.2.1.2.2.1.14.{P1}", f"1.3.6.1.2.1.2.2.1.14.{P1}|2|-5")      # negative counter
BAD_SWITCH = replace_record(BAD_SWITCH, f"1.3.6.1.2.1.2.2.1.19.{P2}", f"1.3.6.1.2.1.2.2.1.19.{P2}|5|")        # NULL
BAD_SWITCH = replace_record(BAD_SWITCH, "1.3.6.1.2.1.105.1.3.1.1.2.1", "1.3.6.1.2.1.105.1.3.1.1.2.1|66|4294967295")  # absurd budget
BAD_SWITCH = replace_record(BAD_SWITCH, f"1.3.6.1.2.1.10.7.2.1.19.{P3}", f"1.3.6.1.2.1.10.7.2.1.19.{P3}|4|full")  # wrong type

BAD_UPS = """1.3.6.1.2.1.1.1.0|4|bad UPS
1.3.6.1.2.1.1.3.0|67|100
1.3.6.1.2.1.33.1.2.1.0|2|2
1.3.6.1.2.1.33.1.2.2.0|5|
1.3.6.1.2.1.33.1.2.3.0|2|-1
1.3.6.1.2.1.33.1.2.4.0|4|full
1.3.6.1.2.1.33.1.4.1.0|2|3
1.3.6.1.2.1.33.1.4.4.1.5.1|2|250
1.3.6.1.4.1.318.1.1.1.2.2.3.0|2|152200
"""

# snmpsim's delay module drops a request that asks for this record (wait > 999999 ms): the walk of
# the interface table stops there, as a switch does when its CPU is busy or a packet is lost.
STALLING = replace_record(switch(), f"1.3.6.1.2.1.2.2.1.14.{IF_BASE + 5}",
                    f"1.3.6.1.2.1.2.2.1.14.{IF_BASE + 5}|65:delay|value=0,wait=9999999")


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    walks = {"good": switch(), "bad-switch": BAD_SWITCH, "bad-ups": BAD_UPS, "stalling": STALLING}
    sw = {"role": "switch", "phone_ports": ["Gi1/0/1-8"], "uplink_ports": ["Gi1/0/25"], "phones": 8}
    with served(walks) as port, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))      # a UDP port that receives and never answers
        devices = [{"name": "good", "community": "good", **sw},
                   {"name": "bad-switch", "community": "bad-switch", **sw},
                   {"name": "bad-ups", "community": "bad-ups", "role": "ups"},
                   {"name": "stalling", "community": "stalling", **sw},
                   {"name": "wrong-community", "community": "not-the-right-one", **sw},
                   {"name": "silent", "community": "good", "host": f"127.0.0.1:{silent.getsockname()[1]}", **sw}]
        devices.append({"name": "lost-secret", "community": {"file": "lost.community"}, **sw})
        path = write_site(folder, port, devices, timeout="2 s", retries=1)
        started = time.monotonic()
        res = audit_site(site_mod.load(path), profile_mod.load("site-lan"))
        elapsed = time.monotonic() - started
    return {r.label: r for r in res.reports}, res, elapsed


def test_the_good_device_is_still_judged(result):
    reports, res, _ = result
    assert {v.outcome for v in res.by_device["good"]} == {"pass"}
    assert res.verdict in ("fail", "incomplete")


def test_unreachable_devices_say_why(result):
    reports, _, elapsed = result
    wrong = reports["wrong-community"]
    assert not wrong.reachable and "no answer within 2 s x 2 tries" in wrong.polled.error
    assert "wrong community" in wrong.polled.error
    assert not reports["silent"].reachable and "no answer" in reports["silent"].polled.error
    lost = reports["lost-secret"]
    assert not lost.reachable and "cannot read secret file" in lost.polled.error
    for name in ("wrong-community", "silent", "lost-secret"):
        r = reports[name]
        assert r.check("device.reachable").value is False
        assert all(c.value is None and c.reason for c in r.checks if c.metric != "device.reachable")
        assert {v.outcome for v in result[1].by_device[name] if v.metric != "device.reachable"} == {"not_measured"}
    assert elapsed < 40     # 2 s x 2 tries per silent request; the devices are polled concurrently


def test_a_walk_that_stops_half_way_is_not_measured(result):
    reports, _, _ = result
    r = reports["stalling"]
    assert r.reachable
    assert "stopped after" in r.polled.walk.problems["ifTable"]
    err = r.check("if.error_ports")
    assert err.value is None and "stopped after" in err.reason
    # the tables that did answer are still used
    assert r.check("poe.headroom_w").value is not None


def test_bad_switch_values_are_refused(result):
    reports, _, _ = result
    r = reports["bad-switch"]
    p1, p2, p3 = (r.interfaces[IF_BASE + p] for p in (1, 2, 3))
    assert p1.in_errors is None and "in_errors is -5" in " ".join(p1.problems)
    assert p2.out_discards is None and "out_discards is NULL" in " ".join(p2.problems)
    assert p3.duplex is None and "wrong type" in " ".join(p3.problems)
    h = r.check("poe.headroom_w")
    assert h.value is None and "pethMainPsePower.1 is 4294967295, outside 1..65535" in h.reason
    assert r.check("if.error_ports").value is None          # two ports unreadable, none known bad
    assert r.check("if.half_duplex_ports").value is None    # Gi1/0/3's duplex unknown
    assert r.check("vlan.voice_ports_missing").value == 0   # unaffected


def test_bad_ups_values_are_refused(result):
    reports, _, _ = result
    u = reports["bad-ups"].ups
    assert u.runtime_min is None
    assert "upsEstimatedMinutesRemaining is -1" in u.not_measured["runtime_min"]
    assert "upsAdvBatteryRunTimeRemaining has the wrong type" in u.not_measured["runtime_min"]
    assert u.charge_pct is None and "wrong type" in u.not_measured["charge_pct"]
    assert u.load_pct is None and "250, outside 0..200" in u.not_measured["load_pct"]
    assert u.on_battery_s is None and "NULL" in u.not_measured["on_battery_s"]
    assert u.output_source == "normal" and u.on_battery is False
    outcomes = {v.criterion: v.outcome for v in result[1].by_device["bad-ups"]}
    assert outcomes["ups-runtime"] == "not_measured" and outcomes["ups-on-mains"] == "pass"


def test_the_json_document_carries_the_reasons(result):
    reports, _, _ = result
    doc = reports["bad-ups"].to_json()
    assert doc["ups"]["runtime_min"] is None
    assert "ups.runtime_min" in doc["not_measured"]
    assert reports["silent"].to_json()["not_measured"]["device"].startswith("127.0.0.1:")
