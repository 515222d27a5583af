"""The path check against the kernel's own SIP ALG (nf_nat_sip, environment.md): namespaces a -- r -- b,
r masquerades towards b, `readiness responder` in b, `readiness path` in a.

* with the `ct helper` rule on UDP 5060 the ALG rewrites Via, Contact, From and SDP o=/c= to r's
  address: the check must name exactly those fields, UDP only (the helper is UDP), exit 1;
* without it the same NAT changes only the source address: NAT seen, nothing rewritten, exit 0;
* on another port than 5060 the helper does not look: nothing rewritten.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.path.nat_lab import behind_nat, run_path

pytestmark = pytest.mark.netns


def _check(tmp_path: Path, helper: bool, port: int = 5060) -> tuple[int, dict]:
    with behind_nat(tmp_path, sip_helper=helper, port=port) as (net, key, target):
        status, doc, _ = run_path(net, tmp_path, "--to", target, "--key-file", str(key), "--nat-idle", "off",
                                  "--options-count", "0", timeout=90)
        doc["_net"] = {"a": net.a_ip, "r": net.r_ip_out}
        return status, doc


def test_the_kernel_sip_alg_is_detected_on_udp(tmp_path):
    status, doc = _check(tmp_path, helper=True)
    udp, tcp = doc["sip_alg"]["transports"]["udp"], doc["sip_alg"]["transports"]["tcp"]
    a, r = doc["_net"]["a"], doc["_net"]["r"]
    assert udp["rewritten"] and udp["nat"] and udp["seen_from"].startswith(r + ":")
    changed = {c["field"]: c for c in udp["rewritten"]}
    assert {"via", "contact", "sdp_c", "sdp_o"} <= set(changed), udp["rewritten"]
    assert a in changed["contact"]["sent"] and r in changed["contact"]["received"]
    assert a in changed["sdp_c"]["sent"] and r in changed["sdp_c"]["received"]
    assert doc["sip_alg"]["detected"] and doc["sip_alg"]["transport"] == "udp"
    assert doc["sip_alg"]["rewritten"] == udp["rewritten"]
    assert doc["nat"] == {"detected": True, "public_address": r, "local_address": a}
    assert not tcp["rewritten"] and tcp["nat"] and not tcp["error"], tcp       # the helper watches UDP 5060
    verdict = next(c for c in doc["criteria"] if c["id"] == "no-sip-alg")
    assert verdict["verdict"] == "fail" and status == 1


def test_plain_nat_is_seen_and_not_called_an_alg(tmp_path):
    status, doc = _check(tmp_path, helper=False)
    for transport in ("udp", "tcp"):
        t = doc["sip_alg"]["transports"][transport]
        assert t["nat"] and not t["rewritten"] and not t["error"], t
    assert not doc["sip_alg"]["detected"] and doc["nat"]["detected"]
    assert status == 0


def test_the_alg_does_not_look_at_another_port(tmp_path):
    status, doc = _check(tmp_path, helper=True, port=5070)
    udp = doc["sip_alg"]["transports"]["udp"]
    assert udp["nat"] and not udp["rewritten"], udp
    assert status == 0
