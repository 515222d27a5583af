"""Pure decoding: PortList bit order, .snmprec round trip, readings that refuse bad values.
No agent needed: these are byte-level rules from the MIB texts."""

from __future__ import annotations

from readiness.lab import snmp_walks
from readiness.probes.snmp import mibs
from readiness.probes.snmp.switch import expand
from readiness.probes.snmp.vlans import decode_portlist
from readiness.probes.snmp.walk import COUNTER32, GAUGE32, INTEGER, NULL, OCTETS, TIMETICKS, Walk, number

from ..conftest import REPO


def test_portlist_most_significant_bit_is_the_lowest_port():
    # Q-BRIDGE-MIB PortList TC: octet 0 = ports 1-8, MSB first
    assert decode_portlist(bytes([0x80])) == {1}
    assert decode_portlist(bytes([0x01])) == {8}
    assert decode_portlist(bytes([0x00, 0x40])) == {10}
    # the Linksys LGS318P's VLAN 1 (corpus): ports 49-51, 53-55, 57, 58, 60-64, 66
    assert decode_portlist(bytes.fromhex("000000000000EEDF40")) == {49, 50, 51, 53, 54, 55, 57, 58, 60, 61, 62,
                                                                    63, 64, 66}


def test_snmprec_round_trip_keeps_types_and_binary_values():
    w = Walk()
    w.add((1, 3, 6, 1, 2, 1, 1, 1, 0), OCTETS, b"switch | with a pipe")
    w.add((1, 3, 6, 1, 2, 1, 1, 3, 0), TIMETICKS, 123)
    w.add((1, 3, 6, 1, 2, 1, 17, 7, 1, 4, 3, 1, 2, 20), OCTETS, bytes([0xFF, 0x00, 0x80]))
    w.add((1, 3, 6, 1, 2, 1, 2, 2, 1, 14, 1), COUNTER32, 4294967295)
    again = Walk.from_snmprec(w.to_snmprec())
    assert again.values == w.values


def test_numbers_refuse_null_wrong_type_sentinels_negative_counters_and_out_of_range():
    assert number((NULL, None), "x").reason == "x is NULL"
    assert "wrong type" in number((OCTETS, b"12"), "x").reason
    assert "unknown" in number((INTEGER, -1), "x", sentinels=(-1,)).reason
    assert "negative" in number((COUNTER32, -5), "x").reason
    assert "outside 0..100" in number((INTEGER, 250), "x", 0, 100).reason
    assert number((GAUGE32, 42), "x", 0, 100).value == 42


def test_port_ranges_expand():
    assert expand("Gi1/0/1-3") == ["Gi1/0/1", "Gi1/0/2", "Gi1/0/3"]
    assert expand(7) == [7]
    assert expand("12") == [12]
    assert expand("Te1/1/1") == ["Te1/1/1"]


def test_shipped_demo_walks_are_what_the_generator_makes(tmp_path):
    snmp_walks.write_demo(tmp_path)
    shipped = REPO / "readiness" / "lab" / "data" / "snmp"
    for name in ("demo-switch.snmprec", "demo-ups.snmprec"):
        assert (shipped / name).read_text() == (tmp_path / name).read_text(), \
            f"regenerate with: python -m readiness.lab.snmp_walks readiness/lab/data/snmp ({name})"


def test_generated_portlists_use_bridge_ports_not_ifindex():
    w = Walk.from_snmprec(snmp_walks.switch())
    voice = w.values[mibs.Q_STATIC_EGRESS + (20,)][1]
    assert decode_portlist(voice) == set(range(1, 25)) | {25}      # 24 phone ports + the trunk uplink
    assert w.values[mibs.BASE_PORT_IFINDEX + (1,)] == (INTEGER, snmp_walks.IF_BASE + 1)
