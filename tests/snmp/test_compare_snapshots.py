"""`readiness compare` of two real SNMP audits (snmpsim serving two walks of the same switch and UPS):
between them a phone was unplugged (its port went down, its PoE draw with it), the voice VLAN was
taken off a phone port, and the UPS moved to battery. The comparison must name exactly those
changes, and the criteria whose verdict got worse."""

from __future__ import annotations

import json
import subprocess
import sys

from readiness.lab.snmp_walks import SwitchSpec, UpsSpec, switch, ups

from .conftest import served, write_site

SW = {"role": "switch", "phone_ports": ["Gi1/0/1-8"], "uplink_ports": ["Gi1/0/25"], "phones": 8}


def _audit(tmp_path, port: int, name: str) -> str:
    site = write_site(tmp_path / name, port, [{"name": "sw", "community": f"sw-{name}", **SW},
                                               {"name": "ups", "community": f"ups-{name}", "role": "ups"}])
    out = tmp_path / f"runs-{name}"
    subprocess.run([sys.executable, "-m", "readiness", "snmp", "audit", "--site", str(site), "--profile",
                    "site-lan", "--out", str(out), "-q"], capture_output=True, text=True, timeout=120)
    (run_dir,) = out.iterdir()
    return str(run_dir)


def test_compare_names_what_changed_on_the_devices(tmp_path):
    walks = {"sw-before": switch(), "ups-before": ups(),
             "sw-after": switch(SwitchSpec(phones=7, voice_missing=(5,))), "ups-after": ups(UpsSpec(on_battery_s=300, runtime_min=35.0))}
    with served(walks) as port:
        before, after = _audit(tmp_path, port, "before"), _audit(tmp_path, port, "after")
    p = subprocess.run([sys.executable, "-m", "readiness", "compare", before, after, "--json", "-", "--format", "md"],
                       capture_output=True, text=True, timeout=60)
    doc = json.loads(p.stdout)
    changes = {(c["device"], c["what"], c["subject"]): (c["before"], c["after"]) for c in doc["snmp_changes"]}
    assert changes[("sw", "port", "Gi1/0/8")] == ("up", "down")
    assert changes[("sw", "voice_vlan_ports", "ports")] == ([], ["Gi1/0/5"])
    assert ("sw", "poe", "consumption_w") in changes
    assert changes[("ups", "ups", "on_battery")] == (False, True)
    assert {k[1] for k in changes} <= {"port", "voice_vlan_ports", "poe", "ups"}, changes
    worse = set(doc["worse"])
    assert {"voice-vlan-on-phone-ports", "ups-on-mains"} <= worse, doc["criteria"]
    assert p.returncode == 1, p.stderr
    md = (tmp_path / "runs-after").joinpath(after.rsplit("/", 1)[1], "compare.md").read_text(encoding="utf-8")
    assert "Gi1/0/5" in md and "Gi1/0/8" in md
