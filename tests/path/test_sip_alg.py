"""The path check against the kernel's own SIP ALG (nf_nat_sip, environment.md): namespaces a -- r -- b,
r masquerades towards b, `readiness responder` in b, `readiness path` in a.

* with the `ct helper` rule on UDP 5060 the ALG rewrites Via, Contact, From and SDP o=/c= to r's
  address: the check must name exactly those fields, UDP only (the helper is UDP), exit 1;
* without it the same NAT changes only the source address: NAT seen, nothing rewritten, exit 0;
* on another port than 5060 the helper does not look: nothing rewritten.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from readiness.lab.responder_server import write_key
from tests.netlab import Routed, routed

pytestmark = pytest.mark.netns


def _nat(net: Routed, helper: bool) -> None:
    sip = ('ct helper sip-5060 { type "sip" protocol udp; }\n'
           'chain pre { type filter hook prerouting priority 0; udp dport 5060 ct helper set "sip-5060"; }\n'
           if helper else "")
    rules = (f"table ip nat {{\n{sip}chain post {{ type nat hook postrouting priority 100; "
             f'oifname "{net.r_out}" masquerade; }}\n}}\n')
    net.run(net.r, "nft", "-f", "-", input=rules)


def _listening(net: Routed, port: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if f":{port:04X} " in net.run(net.b, "cat", "/proc/net/tcp").stdout:
            return
        time.sleep(0.1)
    raise AssertionError(f"the responder does not listen on {port}")


def _check(tmp_path: Path, helper: bool, port: int = 5060) -> tuple[int, dict]:
    key = tmp_path / "key"
    write_key(key)
    with routed() as net:
        _nat(net, helper)
        responder = net.popen(net.b, [sys.executable, "-m", "readiness", "responder", "--listen",
                                      f"{net.b_ip}:{port}", "--key-file", str(key), "-q"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _listening(net, port)
            out = tmp_path / "path.json"
            p = net.run(net.a, sys.executable, "-m", "readiness", "path", "--to", f"sip:test@{net.b_ip}:{port}",
                        "--key-file", str(key), "--no-keep", "--json", str(out), "-q", check=False, timeout=90)
            assert out.exists(), p.stderr
            doc = json.loads(out.read_text())
            doc["_net"] = {"a": net.a_ip, "r": net.r_ip_out}
            return p.returncode, doc
        finally:
            responder.kill()
            responder.wait()


def test_the_kernel_sip_alg_is_detected_on_udp(tmp_path):
    status, doc = _check(tmp_path, helper=True)
    udp, tcp = doc["path"]["transports"]["udp"], doc["path"]["transports"]["tcp"]
    a, r = doc["_net"]["a"], doc["_net"]["r"]
    assert udp["rewritten"] and udp["nat"] and udp["seen_from"].startswith(r + ":")
    changed = {c["field"]: c for c in udp["changes"]}
    assert {"via", "contact", "sdp_c", "sdp_o"} <= set(changed), udp["changes"]
    assert a in changed["contact"]["sent"] and r in changed["contact"]["seen"]
    assert a in changed["sdp_c"]["sent"] and r in changed["sdp_c"]["seen"]
    assert not tcp["rewritten"] and tcp["nat"] and not tcp["error"], tcp       # the helper watches UDP 5060
    verdict = next(c for c in doc["criteria"] if c["id"] == "no-sip-alg")
    assert verdict["verdict"] == "fail" and status == 1


def test_plain_nat_is_seen_and_not_called_an_alg(tmp_path):
    status, doc = _check(tmp_path, helper=False)
    for transport in ("udp", "tcp"):
        t = doc["path"]["transports"][transport]
        assert t["nat"] and not t["rewritten"] and not t["changes"] and not t["error"], t
    assert status == 0


def test_the_alg_does_not_look_at_another_port(tmp_path):
    status, doc = _check(tmp_path, helper=True, port=5070)
    udp = doc["path"]["transports"]["udp"]
    assert udp["nat"] and not udp["rewritten"], udp
    assert status == 0
