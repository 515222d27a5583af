"""Site files: validated like profiles (FILE:LINE for every problem); secrets only by reference."""

from __future__ import annotations

import subprocess
import sys

import pytest

from readiness.config import site as site_mod
from readiness.errors import ConfigError, ReadinessError

GOOD = """site: Musterfirma GmbH, Hamburg
profile: cloud-pbx-single-site
voice_vlan: 20
phones: {count: 24, poe_class: 2}
markings: {media: EF, signalling: [CS3, CS5]}
iperf:
  server: 192.0.2.10:5201
  duration: 10 s
snmp:
  devices:
    - host: 10.0.0.2
      role: switch
      community: {env: SITE_SNMP_COMMUNITY}
      phone_ports: [Gi1/0/1-24]
    - host: 10.0.0.3:1161
      role: ups
      version: "3"
      user: readiness
      auth_key: {file: keys/ups-auth}
      priv_key: {file: keys/ups-priv}
capture: {interface: eth0}
"""


def write(tmp, text, name="site.yaml"):
    p = tmp / name
    p.write_text(text)
    return p


def test_good_site_and_secret_references(tmp_path, monkeypatch):
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys/ups-auth").write_text("auth-secret-123\n")
    s = site_mod.load(write(tmp_path, GOOD))
    assert s.site == "Musterfirma GmbH, Hamburg" and s.markings.media_dscp() == 46
    assert s.markings.signalling_dscps() == [24, 40]
    switch, ups = s.snmp.devices
    monkeypatch.setenv("SITE_SNMP_COMMUNITY", "s3cret")
    assert s.secret(switch.community) == "s3cret"
    assert s.secret(ups.auth_key) == "auth-secret-123"   # relative to the site file
    monkeypatch.delenv("SITE_SNMP_COMMUNITY")
    with pytest.raises(ReadinessError, match="SITE_SNMP_COMMUNITY is not set"):
        s.secret(switch.community)
    with pytest.raises(ReadinessError, match="ups-priv"):
        s.secret(ups.priv_key)


def test_inline_secret_is_refused_with_its_line(tmp_path):
    f = write(tmp_path, GOOD.replace("community: {env: SITE_SNMP_COMMUNITY}", "community: public"))
    with pytest.raises(ConfigError) as e:
        site_mod.load(f)
    (problem,) = e.value.problems
    assert problem.startswith(f"{f}:13:") and "env:VARIABLE or file:PATH" in problem
    assert "public" not in problem   # the secret is not echoed back


def test_secrets_are_written_as_on_the_command_line(tmp_path, monkeypatch):
    """env:VAR and file:PATH in a site file, as on the command line; the mapping form still reads."""
    (tmp_path / "community").write_text("s3cret\n")
    f = write(tmp_path, GOOD.replace("community: {env: SITE_SNMP_COMMUNITY}", "community: file:community"))
    site = site_mod.load(f)
    ref = site.snmp.devices[0].community
    assert ref.file == "community" and ref.env is None and site.secret(ref) == "s3cret"
    monkeypatch.setenv("SITE_SNMP_COMMUNITY", "from-env")
    f = write(tmp_path, GOOD.replace("community: {env: SITE_SNMP_COMMUNITY}", "community: env:SITE_SNMP_COMMUNITY"))
    site = site_mod.load(f)
    assert site.secret(site.snmp.devices[0].community) == "from-env"
    assert site_mod.load(write(tmp_path, GOOD)).snmp.devices[0].community.env == "SITE_SNMP_COMMUNITY"


def test_every_problem_with_its_line(tmp_path):
    bad = GOOD.replace("voice_vlan: 20", "voice_vlan: 5000").replace("role: switch", "role: router") \
              .replace("duration: 10 s", "duration: 10").replace("capture: {interface: eth0}", "captur: {}")
    f = write(tmp_path, bad)
    with pytest.raises(ConfigError) as e:
        site_mod.load(f)
    lines = {int(p.split(":")[1]) for p in e.value.problems}
    assert lines == {3, 8, 12, 21}, e.value.problems
    assert any("unknown key 'captur'" in p and "capture" in p for p in e.value.problems)


def test_site_validate_cli(tmp_path):
    f = write(tmp_path, "site: x\nsnmp:\n  devices:\n    - host: 10.0.0.2\n      role: switch\n")
    r = subprocess.run([sys.executable, "-m", "readiness", "site", "validate", str(f)], capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.strip() == f"{f}:4: snmp.devices[0]: SNMPv2c needs community: env:VARIABLE or file:PATH"


def test_yaml_error_in_site(tmp_path):
    f = write(tmp_path, "site: x\nphones: {count: 3\n")
    with pytest.raises(ConfigError) as e:
        site_mod.load(f)
    assert e.value.problems[0].startswith(f"{f}:") and "YAML syntax error" in e.value.problems[0]
