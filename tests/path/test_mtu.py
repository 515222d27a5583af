"""The MTU check against the router namespace's own link MTU and an nftables rule that drops IP
fragments (ground truth: what the test configured). r's link towards b carries 1,300 bytes; without
the rule r fragments larger datagrams and b reassembles them; with it, fragments die at r, and with
them the 1,400-byte INVITE a phone with a long codec list sends."""

from __future__ import annotations

import pytest

from tests.path.nat_lab import behind_nat, run_path

pytestmark = pytest.mark.netns

DROP_FRAGMENTS = ("table ip nofrag {\n chain pre { type filter hook prerouting priority -500; "   # before defrag (-400)
                  "ip frag-off & 0x3fff != 0 counter drop; }\n}\n")


def _mtu(tmp_path, drop_fragments: bool) -> tuple[int, dict, str]:
    with behind_nat(tmp_path, port=5070) as (net, key, target):
        net.run(net.r, "ip", "link", "set", net.r_out, "mtu", "1300")
        if drop_fragments:
            net.run(net.r, "nft", "-f", "-", input=DROP_FRAGMENTS)
        status, doc, err = run_path(net, tmp_path, "--to", target, "--key-file", str(key), "--transport", "udp",
                                    "--nat-idle", "off", "--options-count", "0")
        if drop_fragments:
            counted = net.run(net.r, "nft", "list", "table", "ip", "nofrag").stdout
            doc["_dropped"] = int(counted.split("packets ", 1)[1].split()[0])
        return status, doc, err


def test_a_lower_mtu_is_found_and_fragments_pass(tmp_path):
    status, doc, err = _mtu(tmp_path, drop_fragments=False)
    m = doc["mtu"]
    assert 1300 - 8 <= m["path_mtu"] <= 1300 and not m["at_least"], m
    assert all(p["passed"] == (p["size"] <= 1300) for p in m["probes"]), m["probes"]
    assert m["fragments_pass"] and m["large_invite"]["answered"] and m["large_invite"]["bytes"] > 1300
    verdicts = {c["id"]: c["verdict"] for c in doc["criteria"]}
    assert verdicts == {"no-sip-alg": "pass", "large-invite-passes": "pass", "ip-fragments-pass": "pass"}, err
    assert status == 0


def test_a_router_dropping_fragments_loses_the_large_invite(tmp_path):
    status, doc, err = _mtu(tmp_path, drop_fragments=True)
    m = doc["mtu"]
    assert 1300 - 8 <= m["path_mtu"] <= 1300, m
    assert m["fragments_pass"] is False and not m["large_invite"]["answered"] and doc["_dropped"] > 0
    verdicts = {c["id"]: c["verdict"] for c in doc["criteria"]}
    assert verdicts == {"no-sip-alg": "pass", "large-invite-passes": "fail", "ip-fragments-pass": "warn"}, err
    assert status == 1
