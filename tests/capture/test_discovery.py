"""LLDP, LLDP-MED and CDP decoding.

Ground truth: the corpus decodes (`pcaps/reference/l2_expected_values.md`, tcpdump's `*.out`, tshark's
`*.decode.txt`) for the captured switches, and - for LLDP-MED network policy and location, which no
corpus file carries - frames built byte by byte from standards.md 5.2 (tests/capture/frames.py),
whose decode is also checked against the real tshark's dissection of the same frames.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from readiness.probes.capture import discovery
from readiness.probes.capture.analyze import analyse
from readiness.probes.capture.pcap_writer import write_pcap
from tests.conftest import need_tool

from . import frames as F

L2 = "pcaps/l2"


def _decode_field(text: str, name: str) -> list[str]:
    return [m.group(1).strip() for m in re.finditer(rf"^\s+{re.escape(name)}: (.*)$", text, re.M)]


@pytest.mark.corpus
@pytest.mark.parametrize("name", ["cdp.pcap", "cdp_v2.pcap", "cdp_v2_hdlc.pcap", "cdp-BCM1100.pcap",
                                  "n0.eth2.cdp.pcap", "n0.eth2.cdp-2.pcap", "tcpdump_3560_CDP.pcap",
                                  "tcpdump_LLDP_and_CDP.pcap"])
def test_cdp_agrees_with_tshark(corpus, name):
    text = (corpus / "pcaps/reference/tshark" / f"{name}.decode.txt").read_text()
    got = analyse(corpus / L2 / name).cdp
    assert sorted(n["device_id"] for n in got) == sorted(set(_decode_field(text, "Device ID")))
    ports = set(_decode_field(text, "Port ID"))
    assert {n["port_id"] for n in got if n["port_id"]} == ports
    assert {n["platform"] for n in got} == set(_decode_field(text, "Platform"))
    natives = {int(v) for v in _decode_field(text, "Native VLAN")}
    assert {n["native_vlan"] for n in got if n["native_vlan"] is not None} == natives
    voice = {int(m) for m in re.findall(r"VoIP VLAN Reply: VLAN (\d+)", text)}
    assert {n["voice_vlan"] for n in got if n["voice_vlan"] is not None} == voice
    for n in got:
        assert n["problems"] == []


@pytest.mark.corpus
def test_cdp_matches_the_reference_descriptions(corpus):
    v2 = analyse(corpus / L2 / "cdp_v2.pcap").cdp
    assert len(v2) == 1 and v2[0]["frames"] == 4                       # l2_expected_values.md: 4 frames
    assert v2[0]["platform"] == "cisco WS-C2950-12" and v2[0]["vtp_domain"] == "MYDOMAIN"
    assert v2[0]["duplex"] == "full" and v2[0]["management_addresses"] == ["192.168.0.253"]
    c3560 = analyse(corpus / L2 / "tcpdump_3560_CDP.pcap").cdp[0]        # tcpdump/cdp-v.out
    assert (c3560["device_id"], c3560["port_id"], c3560["platform"]) == ("Switch", "GigabitEthernet0/5",
                                                                        "cisco WS-C3560G-24PS")
    assert c3560["addresses"] == ["192.168.0.1"] and c3560["vtp_domain"] == "Lab" and c3560["native_vlan"] == 1
    assert c3560["capabilities"] == ["switch", "igmp"]                  # (0x00000028): L2 Switch, IGMP snooping
    assert c3560["power_available_mw"] == [0, 4294967295]
    phone = analyse(corpus / L2 / "cdp-BCM1100.pcap").cdp[0]            # tshark: VoIP VLAN Reply: VLAN 4095
    assert phone["voice_vlan"] == 4095 and phone["power_mw"] == 6400
    hdlc = analyse(corpus / L2 / "cdp_v2_hdlc.pcap")                   # Cisco HDLC link type
    assert hdlc.cdp[0]["port_id"] == "Serial1/0" and "Cisco HDLC" in hdlc.linktypes


@pytest.mark.corpus
def test_lldp_matches_the_reference_descriptions(corpus):
    (x,) = analyse(corpus / L2 / "lldp.detailed.pcap").lldp             # Extreme Summit300-48
    assert x["system_name"] == "Summit300-48" and x["chassis_id"] == "00:01:30:f9:ad:a0" and x["port_id"] == "1/1"
    assert x["port_vlan"] == 488 and x["vlan_names"] == [{"vlan": 488, "name": "v2-0488-03-0505"}]
    assert x["mac_phy"]["autoneg_supported"] and x["mac_phy"]["autoneg_enabled"] and x["max_frame_size"] == 1522
    p = x["power_via_mdi"]                                             # PSE supported+enabled, pair 1 (signal)
    assert (p["port_class"], p["supported"], p["enabled"], p["pse_power_pair"]) == ("PSE", True, True, "signal")
    assert p["power_class_field"] == 0                                  # tshark: "Power Class: Unknown (0)"
    assert x["med_policies"] == [] and x["location"] is None

    pro = analyse(corpus / L2 / "procurve.lldp.pcap")                  # ProCurve 2824, 2 frames, snaplen 96
    (n,) = pro.lldp
    assert n["system_name"] == "ProCurve Switch 2824" and n["frames"] == 2 and n["med_policies"] == []
    assert any("snap length" in problem for problem in n["problems"])
    assert any("snap length" in problem for problem in pro.problems)

    both = analyse(corpus / L2 / "tcpdump_LLDP_and_CDP.pcap")          # tcpdump/lldp_cdp-ev.out
    by_name = {n["system_name"]: n for n in both.lldp}
    assert by_name["S1.cisco.com"]["port_id"] == "Fa0/13" and by_name["S2.cisco.com"]["port_id"] == "Uplink to S1"
    assert {n["port_vlan"] for n in both.lldp} == {1}
    assert all(n["med_policies"] == [] and n["location"] is None for n in both.lldp)
    assert by_name["S2.cisco.com"]["capabilities"] == ["bridge", "router"]
    assert by_name["S2.cisco.com"]["enabled_capabilities"] == ["bridge"]

    (app,) = analyse(corpus / L2 / "tcpdump_lldp-app-priority.pcap").lldp   # tcpdump/lldp-app-priority.out
    assert app["application_priority"] == [{"priority": 4, "selector": 4, "protocol": 3260}]
    assert app["med_policies"] == []                                   # 802.1Qaz is not a voice policy


@pytest.mark.corpus
def test_qinq_tags_are_both_read(corpus):
    from readiness.probes.capture.layers import decode
    from readiness.probes.capture.pcap import CaptureReader

    (batch,) = list(CaptureReader(corpus / L2 / "tcpdump_802.1ad_QinQ.pcap").batches())
    lay = decode(batch)                                                # tcpdump: vlan 200, then vlan 2001, ARP
    assert lay.outer_vlan.tolist() == [200, 200] and lay.vlan.tolist() == [2001, 2001]
    assert lay.ethertype.tolist() == [0x0806, 0x0806]


def test_med_network_policy_and_civic_location_built_byte_by_byte():
    frame = F.voice_switch_lldp()
    d = discovery.decode_lldp(frame[14:])
    assert d["system_name"] == "access-sw1" and d["port_id"] == "Gi1/0/7" and d["ttl"] == 120
    voice, signalling = d["med_policies"]
    assert voice == {"application": "voice", "application_type": 1, "unknown": False, "tagged": True,
                     "vlan": 20, "priority": 5, "dscp": 46}
    assert (signalling["application"], signalling["priority"], signalling["dscp"]) == ("voice-signaling", 3, 24)
    assert d["location"] == {"format": "civic", "civic": {"what": 2, "country": "DE", "state": "Bayern",
                                                          "city": "München", "street": "Leopoldstraße",
                                                          "house_number": "42", "floor": "3"}}
    assert d["med_capabilities"] == {"capabilities": ["capabilities", "network-policy", "location", "power-pse"],
                                     "device_type": "network connectivity"}
    assert d["med_power"] == {"type": "PSE", "source": "primary", "priority": "high", "watts": 15.4}
    assert d["problems"] == []


def test_med_policy_bits_edge_cases():
    for vlan, pcp, dscp, tagged, unknown in ((4094, 7, 63, True, False), (0, 0, 0, False, False),
                                             (1, 5, 46, True, True)):
        frame = F.lldp_frame(F.lldpdu("sw", "p", [F.med_policy(1, vlan, pcp, dscp, tagged, unknown)]))
        (p,) = discovery.decode_lldp(frame[14:])["med_policies"]
        assert (p["vlan"], p["priority"], p["dscp"], p["tagged"], p["unknown"]) == (vlan, pcp, dscp, tagged, unknown)
    elin = discovery.decode_lldp(F.lldp_frame(F.lldpdu("sw", "p", [F.med_elin("4989123456789")]))[14:])
    assert elin["location"] == {"format": "elin", "elin": "4989123456789"}


def test_decoder_agrees_with_tshark_on_built_frames(tmp_path):
    tshark = need_tool("tshark")
    frames = [F.voice_switch_lldp(),
              F.lldp_frame(F.lldpdu("sw2", "p9", [F.med_policy(1, 300, 6, 34, True), F.med_elin("4930123456")])),
              F.cdp_frame([(1, b"sw3"), (3, b"Gi0/1"), (6, b"cisco WS-C2960"), (0xA, b"\x00\x01"),
                           (0xE, b"\x01\x00\x14")])]
    pcap = write_pcap(tmp_path / "built.pcap", [(1.7e9 + i, f) for i, f in enumerate(frames)])
    out = subprocess.run([tshark, "-r", str(pcap), "-T", "fields", "-E", "separator=|", "-E", "aggregator=;",
                          "-e", "lldp.media.app_type", "-e", "lldp.media.vlan_id", "-e", "lldp.media.l2_prio",
                          "-e", "lldp.media.dscp", "-e", "lldp.media.tag_flag", "-e", "lldp.media.civic.country",
                          "-e", "lldp.media.ecs", "-e", "cdp.voice_vlan", "-e", "cdp.native_vlan"],
                         capture_output=True, text=True, timeout=60, check=True).stdout.splitlines()
    result = analyse(pcap)
    lldp = {n["system_name"]: n for n in result.lldp}
    for row, name in zip(out[:2], ("access-sw1", "sw2")):
        app, vlan, prio, dscp, tag, country, ecs = row.split("|")[:7]
        pol = lldp[name]["med_policies"]
        assert [p["application_type"] for p in pol] == [int(v) for v in app.split(";")]
        assert [p["vlan"] for p in pol] == [int(v) for v in vlan.split(";")]
        assert [p["priority"] for p in pol] == [int(v) for v in prio.split(";")]
        assert [p["dscp"] for p in pol] == [int(v) for v in dscp.split(";")]
        assert [p["tagged"] for p in pol] == [v in ("1", "True") for v in tag.split(";")]
        loc = lldp[name]["location"]
        assert (loc.get("civic", {}).get("country") or "") == country
        assert (loc.get("elin") or "") == ecs
    voice_vlan, native = out[2].split("|")[7:9]
    assert result.cdp[0]["voice_vlan"] == int(voice_vlan) == 20 and result.cdp[0]["native_vlan"] == int(native)


def test_malformed_tlvs_give_problems_not_exceptions():
    good = F.lldpdu("sw", "p", [F.med_policy(1, 20, 5, 46)])
    short_policy = F.org(0x0012BB, 2, b"\x01\x40")              # network policy needs 4 bytes
    bad = F.lldpdu("sw", "p", [short_policy])
    d = discovery.decode_lldp(bad)
    assert d["system_name"] == "sw" and d["med_policies"] == [] and d["problems"]
    overrun = good[:-2] + bytes([0xFE, 0xFF])                    # last TLV claims 255 bytes
    assert discovery.decode_lldp(overrun)["problems"]
    assert discovery.decode_lldp(b"")["problems"]
    cut = F.cdp_frame([(1, b"sw3"), (3, b"Gi0/1")])[22:-3]
    assert discovery.decode_cdp(cut)["problems"]
    assert discovery.decode_cdp(b"\x02")["problems"]
