"""`readiness snmp audit` and `readiness snmp snapshot` as a user runs them: exit status, --json with the
issue's field names, one device without a site file, secrets refused on the command line, and a
snapshot that snmpsim serves again to the same audit (replay)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from readiness.cli import main
from readiness.lab.snmp_walks import SwitchSpec, switch, ups
from readiness.probes.snmp.walk import Walk

from ..conftest import REPO
from .conftest import served, write_site

SW = {"role": "switch", "phone_ports": ["Gi1/0/1-8"], "uplink_ports": ["Gi1/0/25"], "phones": 8}


def run_cli(argv: list[str]) -> int:
    """The command in this process; an audit keeps no run folder here (--no-keep)."""
    if argv[:2] == ["snmp", "audit"]:
        argv = argv + ["--no-keep"]
    with pytest.raises(SystemExit) as e:
        main(argv)
    return e.value.code


@pytest.fixture(scope="module")
def agent():
    with served({"sw": switch(), "ups": ups(), "spent": switch(SwitchSpec(poe_consumption_w=330))}) as port:
        yield port


def test_audit_site_passes_and_writes_json(agent, tmp_path, capsys):
    site = write_site(tmp_path, agent, [{"name": "sw", "community": "sw", **SW},
                                        {"name": "ups", "community": "ups", "role": "ups"}])
    out = tmp_path / "audit.json"
    assert run_cli(["snmp", "audit", "--site", str(site), "--profile", "site-lan", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "sw (switch" in printed and "PoE headroom" in printed and "PASS" in printed
    doc = json.loads(out.read_text())
    assert doc["verdict"] == "pass" and [d["name"] for d in doc["devices"]] == ["sw", "ups"]
    sw = doc["devices"][0]
    assert sw["voice_vlan"] == 20 and sw["poe"]["headroom_w"] == pytest.approx(333 - 56 - 56)
    assert {c["id"]: c["verdict"] for c in sw["criteria"]}["poe-headroom"] == "pass"
    assert doc["schema"] == "readiness.run/1" and doc["command"] == "snmp audit"
    assert doc["devices"][1]["ups"]["runtime_min"] == 40 and doc["devices"][1]["ups"]["output_source"] == "normal"


def test_audit_fails_with_status_1(agent, tmp_path, capsys):
    site = write_site(tmp_path, agent, [{"name": "spent", "community": "spent", **SW}])
    assert run_cli(["snmp", "audit", "--site", str(site), "--profile", "site-lan", "--json", "-"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["verdict"] == "fail" and doc["devices"][0]["poe"]["headroom_w"] < 0


def test_audit_one_host_without_a_site_file(agent, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("UPS_COMMUNITY", "ups")
    assert run_cli(["snmp", "audit", "--host", f"127.0.0.1:{agent}", "--role", "ups",
                    "--community", "env:UPS_COMMUNITY", "--json", "-"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["profile"] == "site-lan" and doc["devices"][0]["ups"]["on_battery"] is False
    ref = tmp_path / "community"
    ref.write_text("sw\n")
    os.chmod(ref, 0o600)
    code = run_cli(["snmp", "audit", "--host", f"127.0.0.1:{agent}", "--role", "switch", "--community",
                    f"file:{ref}", "--voice-vlan", "20", "--phone-ports", "Gi1/0/1-8", "--phones", "8", "-q"])
    assert code == 0


@pytest.mark.parametrize("argv, message", [
    (["--host", "127.0.0.1", "--role", "switch", "--community", "public"], "never the secret itself"),
    (["--host", "127.0.0.1", "--role", "switch"], "--community REF or --v3-user"),
    (["--host", "127.0.0.1", "--community", "env:X"], "--role"),
    ([], "either --site"),
])
def test_usage_errors_are_one_line_and_status_2(argv, message):
    r = subprocess.run([sys.executable, "-m", "readiness", "snmp", "audit"] + argv, cwd=REPO, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 2
    assert message in r.stderr and "Traceback" not in r.stderr


def test_snapshot_is_served_again_to_the_same_audit(agent, tmp_path, capsys):
    site = write_site(tmp_path / "live", agent, [{"name": "sw", "community": "sw", **SW},
                                                 {"name": "ups", "community": "ups", "role": "ups"}])
    snap = tmp_path / "snap"
    assert run_cli(["snmp", "snapshot", "--site", str(site), "--out", str(snap), "--json"]) == 0
    index = json.loads(capsys.readouterr().out)
    assert [d["file"] for d in index["devices"]] == ["sw.snmprec", "ups.snmprec"]
    assert all(d["reachable"] and not d["problems"] for d in index["devices"])
    live = Walk.load(snap / "sw.snmprec")
    assert len(live) > 500 and (1, 3, 6, 1, 2, 1, 105, 1, 3, 1, 1, 2, 1) in live.values

    # replay: the snapshot files served by snmpsim give the same audit document
    assert run_cli(["snmp", "audit", "--site", str(site), "--profile", "site-lan", "--json",
                    str(tmp_path / "a.json"), "-q"]) == 0
    with served({"sw": snap / "sw.snmprec", "ups": snap / "ups.snmprec"}) as port:
        replay_site = write_site(tmp_path / "replay", port, [{"name": "sw", "community": "sw", **SW},
                                                            {"name": "ups", "community": "ups", "role": "ups"}])
        assert run_cli(["snmp", "audit", "--site", str(replay_site), "--profile", "site-lan", "--json",
                        str(tmp_path / "b.json"), "-q"]) == 0
    a, b = (json.loads((tmp_path / f).read_text()) for f in ("a.json", "b.json"))
    for d in a["devices"] + b["devices"]:
        d.pop("host")
        d["checks"] = [{k: v for k, v in c.items()} for c in d["checks"]]
    assert [d["checks"] for d in a["devices"]] == [d["checks"] for d in b["devices"]]
    assert [d["interfaces"] for d in a["devices"]] == [d["interfaces"] for d in b["devices"]]


def test_snapshot_of_an_unreachable_device_exits_2(tmp_path, capsys):
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        site = write_site(tmp_path, silent.getsockname()[1], [{"name": "gone", "community": "x", "role": "ups"}],
                          timeout="0.3 s", retries=0)
        assert run_cli(["snmp", "snapshot", "--site", str(site), "--out", str(tmp_path / "s")]) == 2
    assert "not reachable" in capsys.readouterr().out
    index = json.loads((tmp_path / "s" / "snapshot.json").read_text())
    assert index["devices"][0]["file"] is None and "no answer" in index["devices"][0]["error"]
