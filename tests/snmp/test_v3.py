"""SNMPv3 authPriv (SHA-256 + AES-128) against net-snmp's snmpd, a real and independent agent. The keys
come from a 0600 file and an environment variable, and never appear in `ps`, in stdout/stderr, in the
JSON, or in a run's events and results."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest
import yaml

from readiness.config import profile as profile_mod
from readiness.config import site as site_mod
from readiness.lab.ports import free_port

from ..conftest import REPO, need_tool
from .conftest import audit_site

USER = "auditor"


@contextlib.contextmanager
def snmpd(folder: Path, auth_key: str, priv_key: str) -> Iterator[int]:
    """snmpd on a free loopback port with a v3 user created from a 0600 config (keys not in argv)."""
    binary = need_tool("snmpd")
    port = free_port(socket.SOCK_DGRAM)
    conf, persist = folder / "conf", folder / "persist"
    conf.mkdir(mode=0o700)
    persist.mkdir(mode=0o700)      # snmpd stores the localized keys here
    cfg = conf / "snmpd.conf"
    fd = os.open(cfg, os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(f"agentAddress udp:127.0.0.1:{port}\n"
                 f'createUser {USER} SHA-256 "{auth_key}" AES "{priv_key}"\n'
                 f"rouser {USER} priv\nsysDescr readiness v3 test agent\n")
    log = open(folder / "snmpd.log", "w")
    # -I -smux: no SMUX listener on TCP 199 (another agent on the machine may hold it)
    proc = subprocess.Popen([binary, "-f", "-Lo", "-C", "-c", str(cfg), "-r", "-I", "-smux",
                             f"--persistentDir={persist}"],
                            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "MIBS": ""})
    try:
        deadline = time.monotonic() + 10
        while not _udp_bound(port):
            assert proc.poll() is None, (folder / "snmpd.log").read_text()
            assert time.monotonic() < deadline, "snmpd did not bind"
            time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(5)
        log.close()


def _udp_bound(port: int) -> bool:
    with open("/proc/net/udp") as fh:
        return any(int(line.split()[1].rsplit(":", 1)[1], 16) == port for line in list(fh)[1:])


def _site(folder: Path, port: int, auth_file: str, priv_env: str, auth_protocol: str = "SHA256") -> Path:
    doc = {"site": "v3 site", "voice_vlan": 20,
           "snmp": {"timeout": "1 s", "retries": 0, "devices": [{
               "name": "core", "host": f"127.0.0.1:{port}", "role": "switch", "version": "3", "user": USER,
               "auth_protocol": auth_protocol, "auth_key": {"file": auth_file},
               "priv_protocol": "AES128", "priv_key": {"env": priv_env}}]}}
    path = folder / "site.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def _run_watching_ps(argv: list[str], env: dict, keys: list[str]) -> subprocess.CompletedProcess:
    """Run `argv`, sampling every process's command line while it runs: no key may show."""
    proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    samples = 0
    while proc.poll() is None or samples == 0:
        listing = subprocess.run(["ps", "-eww", "-o", "args"], capture_output=True, text=True).stdout
        samples += 1
        for k in keys:
            assert k not in listing, "a key shows in the process list"
        time.sleep(0.02)
    out, err = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


@pytest.fixture(scope="module")
def snmpd_agent(tmp_path_factory):
    auth, priv = "auth-" + secrets.token_hex(10), "priv-" + secrets.token_hex(10)
    with snmpd(tmp_path_factory.mktemp("snmpd"), auth, priv) as port:
        yield port, auth, priv


@pytest.fixture
def agent(snmpd_agent, tmp_path):
    port, auth, priv = snmpd_agent
    keyfile = tmp_path / "auth.key"
    keyfile.write_text(auth + "\n")
    os.chmod(keyfile, 0o600)
    return tmp_path, port, auth, priv


def test_v3_auth_priv_audit_and_run_never_show_the_keys(agent):
    folder, port, auth, priv = agent
    site = _site(folder, port, "auth.key", "READINESS_TEST_PRIV")
    env = {**os.environ, "READINESS_TEST_PRIV": priv}
    out_json = folder / "audit.json"
    r = _run_watching_ps([sys.executable, "-m", "readiness", "snmp", "audit", "--site", str(site),
                          "--json", str(out_json)], env, [auth, priv])
    doc = out_json.read_text()
    core = json.loads(doc)["devices"][0]
    assert core["reachable"] and core["sys_descr"] == "readiness v3 test agent", r.stderr
    assert core["interfaces"], "snmpd's IF-MIB was walked over authPriv"
    for text in (r.stdout, r.stderr, doc):
        assert auth not in text and priv not in text

    runs = folder / "runs"
    r = _run_watching_ps([sys.executable, "-m", "readiness", "run", "--site", str(site), "--profile",
                          "cloud-pbx-single-site", "--only", "snmp", "--out", str(runs), "-q"], env, [auth, priv])
    run_dir = next(runs.iterdir())
    for f in run_dir.rglob("*"):
        if f.is_file():
            data = f.read_bytes()
            assert auth.encode() not in data and priv.encode() not in data, f
    assert '"device.reachable","value":true' in (run_dir / "events.jsonl").read_text().replace(" ", "")


@pytest.mark.parametrize("what", ["auth key", "auth protocol", "priv key", "user"])
def test_v3_wrong_credentials_are_named_not_shown(agent, what, monkeypatch, capsys):
    folder, port, auth, priv = agent
    if what == "auth key":
        (folder / "auth.key").write_text("wrong-" + auth)
    monkeypatch.setenv("READINESS_TEST_PRIV", "wrong-" + priv if what == "priv key" else priv)
    site = _site(folder, port, "auth.key", "READINESS_TEST_PRIV", "SHA512" if what == "auth protocol" else "SHA256")
    if what == "user":
        site.write_text(site.read_text().replace(f"user: {USER}", "user: intruder"))
    result = audit_site(site_mod.load(site), profile_mod.load("site-lan"))
    assert result.verdict == "incomplete"          # not measured, never a pass
    doc = json.dumps(result.to_json())
    error = result.reports[0].polled.error
    expected = {"auth key": "SNMPv3 authentication failed", "auth protocol": "SNMPv3 authentication failed",
                "priv key": "no answer", "user": "does not know SNMPv3 user 'intruder'"}[what]
    assert expected in error
    captured = capsys.readouterr()
    for text in (doc, captured.out, captured.err, repr(result.reports[0].polled.target.credentials())):
        assert auth not in text and priv not in text
