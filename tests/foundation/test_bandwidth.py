"""`readiness bandwidth`: the per-call figures of Cisco doc 7934's header assumptions, totals, the uplink."""

from __future__ import annotations

import json

import pytest

from readiness.analysis.bandwidth import call_bitrate, plan, voice_need_bps
from readiness.errors import ReadinessError

from .test_cli import run

# kbit/s, 20 ms: IP, Ethernet (18 B), +802.1Q, on wire (38 B), on wire +802.1Q (Cisco doc 7934 header sizes)
PUBLISHED = {
    "g711": (80.0, 87.2, 88.8, 95.2, 96.8),
    "pcma": (80.0, 87.2, 88.8, 95.2, 96.8),
    "g722": (80.0, 87.2, 88.8, 95.2, 96.8),
    "g729": (24.0, 31.2, 32.8, 39.2, 40.8),
    "opus": (48.0, 55.2, 56.8, 63.2, 64.8),          # at its nominal 32 kbit/s
}


@pytest.mark.parametrize("codec", PUBLISHED)
def test_published_table(codec):
    ip, eth, eth_q, wire, wire_q = PUBLISHED[codec]
    plain, tagged = call_bitrate(codec), call_bitrate(codec, vlan=True)
    assert plain.packets_per_s == 50
    assert plain.ip_bps / 1e3 == pytest.approx(ip, abs=0.05)
    assert plain.ethernet_bps / 1e3 == pytest.approx(eth, abs=0.05)
    assert tagged.ethernet_bps / 1e3 == pytest.approx(eth_q, abs=0.05)
    assert plain.wire_bps / 1e3 == pytest.approx(wire, abs=0.05)
    assert tagged.wire_bps / 1e3 == pytest.approx(wire_q, abs=0.05)
    # adders: IPv6 +20 B = +8 kbit/s, SRTP's 80-bit tag +10 B = +4 kbit/s (RFC 3711), at every layer
    for layer in ("ip_bps", "ethernet_bps", "wire_bps"):
        assert getattr(call_bitrate(codec, ipv6=True), layer) - getattr(plain, layer) == pytest.approx(8000, abs=50)
        assert getattr(call_bitrate(codec, srtp=True), layer) - getattr(plain, layer) == pytest.approx(4000, abs=50)


def test_packet_sizes_and_other_ptimes():
    c = call_bitrate("g711")
    assert (c.codec, c.payload_bytes, c.ip_packet_bytes, c.ethernet_frame_bytes, c.wire_bytes) == \
        ("pcmu", 160, 200, 218, 238)
    assert call_bitrate("g711", srtp=True, ipv6=True).ip_packet_bytes == 230
    c30 = call_bitrate("g711", 30)
    assert c30.payload_bytes == 240 and c30.ethernet_bps / 1e3 == pytest.approx(298 * 8 * 1000 / 30 / 1e3)
    assert call_bitrate("opus").note() and "32 kbit/s" in call_bitrate("opus").note()
    assert call_bitrate("g729").note() is None


def test_voice_need_and_uplink():
    assert voice_need_bps("g711", 30) == pytest.approx(30 * 87200)
    assert voice_need_bps("g711", 30, vlan=True) == pytest.approx(30 * 88800)
    p = plan("g729", 40, up_mbps=2, down_mbps=20, data_headroom_mbps=1, vlan=True)
    up, down = p.directions
    assert up.voice_bps == pytest.approx(40 * 32800)
    assert up.left_for_data_bps == pytest.approx(2e6 - 40 * 32800)
    assert not up.fits and down.fits and not p.fits
    assert plan("g711", 1).directions == ()


@pytest.mark.parametrize("call", [lambda: call_bitrate("nope"), lambda: call_bitrate("g711", 0),
                                  lambda: voice_need_bps("g711", 0), lambda: plan("g711", 1, up_mbps=0)])
def test_bad_input_is_a_readiness_error(call):
    with pytest.raises(ReadinessError):
        call()


def test_cli_text():
    r = run("bandwidth", "--codec", "g711", "--calls", "30")
    assert r.returncode == 0, r.stderr
    assert "IP 80.0 kbit/s" in r.stdout and "Ethernet 87.2 kbit/s" in r.stdout and "on wire 95.2 kbit/s" in r.stdout
    assert "30 calls" in r.stdout and "Ethernet 2.62 Mbit/s" in r.stdout and "on wire 2.86 Mbit/s" in r.stdout
    assert "Cisco doc 7934" in r.stdout
    r = run("bandwidth", "--codec", "opus")
    assert r.returncode == 0 and "55.2 kbit/s" in r.stdout and "nominal 32 kbit/s" in r.stdout


def test_cli_json():
    r = run("bandwidth", "--codec", "g729", "--calls", "10", "--vlan", "--srtp", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["codec"] == "g729" and doc["calls"] == 10 and doc["vlan"] and doc["srtp"]
    assert doc["per_call"]["ethernet_bps"] == pytest.approx(36800)
    assert doc["total"]["ethernet_bps"] == pytest.approx(368000)
    assert doc["voice_need_bps"] == pytest.approx(368000)
    assert doc["uplink"] is None


def test_cli_site_uplink(tmp_path):
    site = tmp_path / "site.yaml"
    site.write_text("site: Test\ncalls: {concurrent: 40, codec: g729}\n"
                    "uplink: {up_mbps: 2, down_mbps: 20, data_headroom_mbps: 1, vlan: true}\n")
    r = run("bandwidth", "--site", str(site), "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["codec"] == "g729" and doc["calls"] == 40 and doc["vlan"]
    assert doc["uplink"]["up"]["left_for_data_bps"] == pytest.approx(2e6 - 40 * 32800)
    assert doc["uplink"]["up"]["fits"] is False and doc["uplink"]["down"]["fits"] is True and doc["fits"] is False
    r = run("bandwidth", "--site", str(site))
    assert r.returncode == 0, r.stderr
    up = next(line for line in r.stdout.splitlines() if line.strip().startswith("up "))
    assert "0.69 Mbit/s left for data" in up and "TOO SMALL" in up
    down = next(line for line in r.stdout.splitlines() if line.strip().startswith("down "))
    assert "18.69 Mbit/s left for data" in down and "TOO SMALL" not in down
    r = run("bandwidth", "--site", str(site), "--calls", "10")      # the command line wins over the site
    assert r.returncode == 0 and json.loads(run("bandwidth", "--site", str(site), "--calls", "10", "--json")
                                            .stdout)["calls"] == 10


@pytest.mark.parametrize("args, words", [
    (["--codec", "nope"], "unknown codec"),
    (["--calls", "0"], "calls 0"),
    (["--ptime", "5"], "ptime"),
    (["--site", "SITE_WITHOUT_UPLINK"], "no uplink"),
])
def test_cli_bad_input_is_one_line_exit_2(tmp_path, args, words):
    site = tmp_path / "bare.yaml"
    site.write_text("site: Test\n")
    r = run("bandwidth", *[str(site) if a == "SITE_WITHOUT_UPLINK" else a for a in args])
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], r.stderr
