"""SIP target failover found through DNS as a phone finds it (RFC 3263): a domain whose SRV records
name a primary (priority 10, dead: it takes INVITEs and never answers) and a secondary (priority 20,
a `readiness responder`), served by a real dnsmasq. The drill resolves them in priority order, fails
over on the timeout, and says what DNS gave."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

from readiness.lab.responder_server import responder_process

ROOT = Path(__file__).resolve().parents[2]


def test_srv_priorities_give_the_failover_order(tmp_path, dnsmasq):
    dead = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dead.bind(("127.0.0.1", 0))
    primary = dead.getsockname()[1]
    with responder_process(tmp_path) as (port, key):
        server = dnsmasq("--host-record=sbc1.carrier.test,127.0.0.1", "--host-record=sbc2.carrier.test,127.0.0.1",
                         f"--srv-host=_sip._udp.carrier.test,sbc1.carrier.test,{primary},10,100",
                         f"--srv-host=_sip._udp.carrier.test,sbc2.carrier.test,{port},20,100")
        p = subprocess.run([sys.executable, "-m", "readiness", "drill", "--to", "sip:test@carrier.test", "--key-file",
                            str(key), "--dns-server", server, "--calls", "2", "--duration", "5", "--new-calls-every",
                            "1", "--failover-timeout", "1", "--out", str(tmp_path / "runs"), "--json",
                            str(tmp_path / "d.json"), "-q"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    dead.close()
    assert p.returncode == 0, p.stderr
    drill = json.loads((tmp_path / "d.json").read_text())["drill"]
    assert drill["targets"] == [f"sip:test@127.0.0.1:{primary}", f"sip:test@127.0.0.1:{port}"]
    assert drill["dns"][0]["domain"] == "carrier.test" and drill["dns"][0]["via"] == "srv"
    assert drill["failovers"][0]["before"].endswith(f":{primary}") and drill["failovers"][0]["reason"] == "timeout"
    assert drill["calls_held"] == 2 and drill["calls_dropped"] == 0 and drill["new_calls"]["failed"] == 0


def test_a_domain_without_srv_is_its_own_address_at_5060(dnsmasq):
    """RFC 3263 4.2: no NAPTR, no SRV -> the domain's A record, port 5060 (for sip: over UDP)."""
    import asyncio

    from readiness.probes.drill.targets import expand

    server = dnsmasq("--host-record=pbx.plain.test,127.0.0.2")
    targets, looked = asyncio.run(expand(["sip:test@pbx.plain.test", "sip:test@127.0.0.1:5070"], "udp", server))
    assert targets == ["sip:test@127.0.0.2:5060", "sip:test@127.0.0.1:5070"]
    assert looked[0]["via"] == "a" and looked[0]["domain"] == "pbx.plain.test"
