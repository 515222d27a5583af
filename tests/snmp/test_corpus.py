"""Real device walks (LibreNMS test data, snmpsim-data) served by snmpsim and polled like real devices;
our readings against LibreNMS's independent answers for the same walks (snmprec/expected/*.json).

Where we differ from LibreNMS, the test says so and why:
- Linksys LGS318P: its recorded PortLists carry an ASCII hex dump after the 16 real octets (an artefact
  of the recording); decoded as bits, it puts bridge port 1003 (Po4) in every VLAN. We compare the
  Ethernet ports, where we match LibreNMS row for row; LibreNMS also lists only the VLANs with a
  static name (5, 11, 20), we also list VLAN 1, which has members in the current table.
- Microsemi PowerDsine: no pethMainPsePower in the walk; LibreNMS takes the 430 W budget from the
  vendor's private MIB, which we do not read, so the headroom is "not measured" instead.
- UPSes where LibreNMS keeps raw state codes, we name them (upsOutputSource 3 = normal).
- A counter missing from a walk is 0 for LibreNMS and unknown for us.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from readiness.probes.snmp import audit, device, mibs, poll
from readiness.probes.snmp.client import SnmpCredentials

from .conftest import served

pytestmark = pytest.mark.corpus

UPSES = ["apc_smtl1000-nmc3", "eaton-mgeups_9px", "eatonups", "netmanplus_204", "orvaldi-ups", "poweralert_ups"]
SWITCHES = ["ios_2960x", "junos_ex", "linksys-ss_lgs318p", "microsemipdsine", "procurve_2520", "procurve_e2910",
            "zynos_xs1930-12hp", "ciscosb_cbs250-24p-4x-v3"]
SNMPSIM_DATA = {"UPS_eaton-93e-80": "ups", "UPS_eastpower-istars-swv053": "ups", "UPS_phoenixtec-power": "ups",
                "network_switch_cisco-c3750": "switch", "network_switch_dcrs-5980-28t-dc": "switch",
                "network_switch_brocade-icx6430-24": "switch", "network_switch_metel-poe-box": "switch"}


@pytest.fixture(scope="module")
def targets(corpus):
    base = corpus / "snmprec"
    walks = {n: base / "librenms" / f"{n}.snmprec" for n in UPSES + SWITCHES}
    walks.update({n: base / "snmpsim-data" / f"{n}.snmprec" for n in SNMPSIM_DATA})
    roles = {**{n: "ups" for n in UPSES}, **{n: "switch" for n in SWITCHES}, **SNMPSIM_DATA}
    with served(walks) as port:
        yield [poll.Target(n, "127.0.0.1", port, roles[n], (lambda n=n: SnmpCredentials(community=n)), 5.0, 1)
               for n in walks]


@pytest.fixture(scope="module")
def polled(targets) -> list[poll.Polled]:
    return asyncio.run(poll.poll_all(targets))


def test_the_own_codec_reads_what_pysnmp_reads(targets, polled):
    """The same agent polled again through pysnmp's engine (the reference): the same values, types and
    problems for every device (ber.py is also compared value by value in test_ber.py)."""
    reference = asyncio.run(poll.poll_all(targets, backend="pysnmp"))
    for mine, ref in zip(polled, reference):
        assert mine.walk.values == ref.walk.values, mine.target.label
        assert mine.walk.problems == ref.walk.problems and mine.error == ref.error, mine.target.label
    assert sum(len(p.walk) for p in polled) > 4_000


@pytest.fixture(scope="module")
def reports(polled) -> dict[str, device.DeviceReport]:
    out = {}
    for p in polled:
        r = device.build(p)
        audit.assess(r, audit.Plan(voice_vlan=20, phones=8, poe_class=2))
        out[p.target.label] = r
    return out


def expected(corpus: Path, name: str) -> dict:
    return json.loads((corpus / "snmprec" / "expected" / f"{name}.json").read_text())


def sensors(doc: dict) -> dict[str, dict]:
    """LibreNMS sensors by OID (leading dot removed)."""
    return {s["sensor_oid"].lstrip("."): s for s in doc.get("sensors", {}).get("discovery", {}).get("sensors", [])}


def test_every_walk_answers_completely(reports):
    for name, r in reports.items():
        assert r.reachable, f"{name}: {r.polled.error}"
        assert not r.polled.walk.problems, f"{name}: {r.polled.walk.problems}"


# --- UPS ----------------------------------------------------------------------------------------------------
RUNTIME_OIDS = ("1.3.6.1.2.1.33.1.2.3.0", "1.3.6.1.4.1.318.1.1.1.2.2.3.0", "1.3.6.1.4.1.534.1.2.1.0")
CHARGE_OIDS = ("1.3.6.1.2.1.33.1.2.4.0", "1.3.6.1.4.1.318.1.1.1.2.3.1.0", "1.3.6.1.4.1.534.1.2.4.0")
LOAD_PREFIXES = ("1.3.6.1.2.1.33.1.4.4.1.5.", "1.3.6.1.4.1.318.1.1.1.4.3.3.0", "1.3.6.1.4.1.534.1.4.1.0")
SOURCE_NAMES = {1: "other", 2: "none", 3: "normal", 4: "bypass", 5: "battery"}


@pytest.mark.parametrize("name", UPSES)
def test_ups_readings_match_librenms(reports, corpus, name):
    u = reports[name].ups
    assert u is not None and not u.reason, reports[name].not_measured()
    s = sensors(expected(corpus, name))
    runtime = [s[o] for o in RUNTIME_OIDS if o in s]
    assert runtime, "LibreNMS has a runtime for every UPS here"
    # LibreNMS divides APC TimeTicks by 6000 and XUPS seconds by 60: both in minutes, like us.
    assert u.runtime_min == pytest.approx(runtime[0]["sensor_current"], abs=0.01)
    charge = [s[o] for o in CHARGE_OIDS if o in s]
    assert u.charge_pct == pytest.approx(charge[0]["sensor_current"], abs=0.05)
    loads = [x["sensor_current"] for o, x in s.items() if x["sensor_class"] == "load" and o.startswith(LOAD_PREFIXES)]
    assert u.load_pct == pytest.approx(max(loads), abs=0.05)      # the most loaded phase
    src = s.get("1.3.6.1.2.1.33.1.4.1.0")
    if src:
        assert u.output_source == SOURCE_NAMES[src["sensor_current"]]
    apc = s.get("1.3.6.1.4.1.318.1.1.1.4.1.1.0")
    if apc:
        assert apc["sensor_current"] == 2 and u.output_source == "normal"   # onLine(2)
    status = s.get("1.3.6.1.2.1.33.1.2.1.0")
    if status:
        assert u.battery_status == {2: "normal", 3: "low", 4: "depleted"}[status["sensor_current"]]
    assert u.on_battery is False


def test_ups_units_are_normalised(reports):
    # APC: 152200 TimeTicks = 25.37 min; XUPS: 8620 s = 143.67 min; UPS-MIB: 135 min as is
    assert reports["apc_smtl1000-nmc3"].ups.runtime_min == pytest.approx(152200 / 6000)
    assert reports["eatonups"].ups.runtime_min == pytest.approx(8620 / 60)
    assert reports["netmanplus_204"].ups.runtime_min == 135


def test_ups_without_an_estimate_is_unknown_not_zero(reports):
    # EAST iStars and Phoenixtec report upsEstimatedMinutesRemaining = 0 on mains with a full battery;
    # the MIB's PositiveInteger has no 0: unknown, with the reason - never "0 minutes" and never a pass.
    for name in ("UPS_eastpower-istars-swv053", "UPS_phoenixtec-power"):
        r = reports[name]
        assert r.ups.runtime_min is None
        assert "upsEstimatedMinutesRemaining is 0" in r.check("ups.runtime_min").reason
    assert reports["UPS_eaton-93e-80"].ups.runtime_min == 1092


# --- PoE ----------------------------------------------------------------------------------------------------
def test_poe_budgets_match_librenms(reports, corpus):
    s = sensors(expected(corpus, "ios_2960x"))
    poe = reports["ios_2960x"].poe
    assert poe.total("budget_w") == s["1.3.6.1.2.1.105.1.3.1.1.2.1"]["sensor_current"] == 370
    assert poe.total("consumption_w") == s["1.3.6.1.2.1.105.1.3.1.1.4.1"]["sensor_current"] == 115
    # per-port power from CISCO-POWER-ETHERNET-EXT-MIB is milliwatts
    assert any(p.power_w and 2.0 < p.power_w < 20.0 for p in poe.ports)

    s = sensors(expected(corpus, "junos_ex"))
    pses = {p.group: p for p in reports["junos_ex"].poe.pses}
    for group in (1, 2):
        x = s[f"1.3.6.1.2.1.105.1.3.1.1.4.{group}"]
        assert pses[group].consumption_w == x["sensor_current"] and pses[group].budget_w == x["sensor_limit"]
    assert reports["junos_ex"].poe.usage_pct() == pytest.approx(100 * 137 / 767)    # the fuller PSE decides

    micro = reports["microsemipdsine"]
    assert micro.poe.total("consumption_w") == sensors(expected(corpus, "microsemipdsine"))[
        "1.3.6.1.2.1.105.1.3.1.1.4.1"]["sensor_current"] == 69
    assert micro.check("poe.headroom_w").value is None      # no standard budget: not measured, see above


def test_usage_threshold_is_honoured(reports):
    # Zyxel XS1930-12HP: 375 W budget, 95 % usage threshold, 11 W used; 8 planned class-2 phones (7 W)
    h = reports["zynos_xs1930-12hp"].check("poe.headroom_w")
    assert h.value == pytest.approx(375 * 0.95 - 11 - 8 * 7.0)
    assert "95 % usage threshold" in h.detail


# --- VLANs --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["ios_2960x", "procurve_2520", "procurve_e2910", "linksys-ss_lgs318p"])
def test_vlan_ids_and_names_match_librenms(reports, corpus, name):
    want = {v["vlan_vlan"]: v["vlan_name"] for v in expected(corpus, name)["vlans"]["discovery"]["vlans"]}
    have = {v.id: v.name for v in reports[name].vlans.vlans.values()}
    if name == "linksys-ss_lgs318p":
        assert set(have) - set(want) == {1}             # see the module docstring
        have.pop(1)
    assert have == want


@pytest.mark.parametrize("name", ["linksys-ss_lgs318p", "procurve_2520"])
def test_port_membership_matches_librenms(reports, corpus, name):
    """(VLAN, bridge port, untagged) rows: PortList bit order and the bridge port -> ifIndex mapping."""
    r = reports[name]
    to_port = {ix: bp for bp, ix in r.bridge.items()}
    have = set()
    for v in r.vlans.vlans.values():
        for ix in v.tagged | v.untagged:
            if r.interfaces[ix].physical:
                have.add((v.id, to_port[ix], int(ix in v.untagged)))
    rows = expected(corpus, name)["vlans"]["discovery"]["ports_vlans"]
    want = {(x["vlan"], x["baseport"], x["untagged"]) for x in rows}
    assert have == want
    assert len(want) == len(rows)


def test_cisco_voice_vlan_none_is_4096(reports):
    r = reports["network_switch_cisco-c3750"]
    assert r.vlans.voice and set(r.vlans.voice.values()) == {4096}   # vmVoiceVlanId: none configured
    assert r.vlans.voice_vlan() is None and r.voice_vlan is None


# --- interfaces ---------------------------------------------------------------------------------------------
DUPLEX = {"fullDuplex": "full", "halfDuplex": "half", "unknown": "unknown"}


@pytest.mark.parametrize("name", ["linksys-ss_lgs318p", "procurve_2520", "procurve_e2910", "ios_2960x"])
def test_interfaces_match_librenms(reports, corpus, name):
    ports = expected(corpus, name)["ports"]["poller"]["ports"]
    itfs = reports[name].interfaces
    walk = reports[name].polled.walk
    assert ports
    for p in ports:
        i = itfs[p["ifIndex"]]
        assert i.name == (p["ifName"] or p["ifDescr"]), p["ifIndex"]
        assert i.oper_status == p["ifOperStatus"], i.name
        if p.get("ifDuplex"):
            assert i.duplex == DUPLEX[p["ifDuplex"]], i.name
        for ours, theirs, column in ((i.in_errors, p["ifInErrors"], mibs.IF_IN_ERRORS),
                                     (i.out_discards, p["ifOutDiscards"], mibs.IF_OUT_DISCARDS)):
            if ours is None:
                # LibreNMS shows a counter the walk does not have as 0; we say unknown
                assert column + (i.if_index,) not in walk.values, i.name
            else:
                assert ours == theirs, i.name
        if p.get("ifSpeed") is not None and i.speed_mbps is not None:
            assert i.speed_mbps * 1e6 == pytest.approx(p["ifSpeed"]), i.name
