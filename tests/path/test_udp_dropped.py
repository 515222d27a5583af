"""A path that drops all UDP (an nftables rule in the router namespace): the SIP ALG check over UDP
gets no answer, the other UDP checks say so at once instead of each waiting out its timers, SIP over
TCP is still checked, and the run ends within a bound with exit 2 (not measured)."""

from __future__ import annotations

import time

import pytest

from tests.path.nat_lab import behind_nat, run_path

pytestmark = pytest.mark.netns


def test_no_udp_at_all_is_said_once_and_bounded(tmp_path):
    with behind_nat(tmp_path, port=5070) as (net, key, target):
        net.run(net.r, "nft", "-f", "-", input="table ip noudp {\n chain forward_udp { type filter hook forward "
                                               "priority 0; meta l4proto udp drop; }\n}\n")
        started = time.monotonic()
        status, doc, err = run_path(net, tmp_path, "--to", target, "--key-file", str(key), "--nat-idle", "5s",
                                    "--options-count", "2", "--rtp-ports", "30000-30100", timeout=90)
        took = time.monotonic() - started
    assert took < 30, took                     # the UDP INVITE's 15 s, TCP's moment, nothing more
    assert doc["sip_alg"]["transports"]["udp"]["error"] == "no answer from the far end"
    assert doc["sip_alg"]["transports"]["tcp"]["error"] == "" and not doc["sip_alg"]["transports"]["tcp"]["rewritten"]
    silent = [n for n in doc["not_measured"] if "does the path drop UDP" in n["reason"]]
    assert {n["metric"] for n in silent} == {"path.mtu_bytes", "path.fragments_pass", "path.large_invite_ok",
                                              "path.ports_closed", "path.nat_timeout_s",
                                              "sip.options_answered_pct", "sip.options_rtt_ms"}, doc["not_measured"]
    assert status == 2, err
