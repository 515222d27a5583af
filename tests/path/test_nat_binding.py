"""The NAT binding lifetime against the router's own conntrack timer (ground truth): r masquerades
towards b and forgets an idle UDP binding after `nf_conntrack_udp_timeout` seconds; the check, trying
several idle times at once, must find that lifetime between the idle times around it, and take about
the longest idle time, not their sum. In-process: the responder calls back only a token holder, and
within its bounds."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

from readiness.probes.calls.farend.nat_call_back import (
    COPIES,
    CallBackLimits,
    NatCallBacks,
)
from readiness.probes.calls.farend.responder import CallResponder, ResponderConfig
from readiness.probes.calls.sip import SipConfig
from readiness.probes.calls.sip.endpoint import Endpoint
from readiness.probes.calls.sip.flow import Flow, Peer
from readiness.probes.calls.sip.message import parse
from readiness.probes.calls.wire import call_back
from readiness.probes.path import nat_binding
from tests.path.nat_lab import behind_nat, run_path

KEY = b"n" * 32


@pytest.mark.netns
def test_the_binding_lifetime_is_the_routers_udp_timeout(tmp_path):
    with behind_nat(tmp_path, port=5070, udp_timeout_s=8) as (net, key, target):
        started = time.monotonic()
        status, doc, err = run_path(net, tmp_path, "--to", target, "--key-file", str(key), "--transport", "udp",
                                    "--nat-idle", "4s,6s,10s,12s", "--options-count", "0")
        took = time.monotonic() - started
    b = doc["nat_binding"]
    assert {a["idle_s"]: a["survived"] for a in b["attempts"]} == {4: True, 6: True, 10: False, 12: False}, b
    assert doc["nat_timeout_s"] == 6 and b["forgotten_after_s"] == 10 and not b["at_least"]
    assert len({a["local_port"] for a in b["attempts"]}) == 4            # a binding of its own each
    assert took < 12 + 3 + 10, took                                      # the longest, not the sum (32 s)
    verdict = next(c for c in doc["criteria"] if c["metric"] == "path.nat_timeout_s")
    assert verdict["verdict"] == "fail" and verdict["threshold"] == 120 and status == 1, err


@pytest.mark.netns
def test_a_binding_that_outlives_the_keepalive_passes(tmp_path):
    with behind_nat(tmp_path, port=5070, udp_timeout_s=8) as (net, key, target):
        status, doc, err = run_path(net, tmp_path, "--to", target, "--key-file", str(key), "--transport", "udp",
                                    "--nat-idle", "3s,5s", "--keepalive", "5s", "--options-count", "2")
    assert doc["nat_timeout_s"] == 5 and doc["nat_binding"]["at_least"] and doc["nat_binding"]["keepalive_ok"]
    assert doc["options"]["answered"] == 2 and doc["options"]["statuses"] == [200]
    assert {c["id"]: c["verdict"] for c in doc["criteria"]} == {
        "no-sip-alg": "pass", "large-invite-passes": "pass", "ip-fragments-pass": "pass",
        "nat-binding-outlives-keepalive": "pass", "options-answered": "pass"}, err
    assert status == 0


def _options(call_id: str, port: int, extra: str) -> bytes:
    return (f"OPTIONS sip:test@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK{call_id}\r\n"
            f"From: <sip:x@127.0.0.1>;tag=1\r\nTo: <sip:test@127.0.0.1>\r\nCall-ID: {call_id}\r\nCSeq: 1 OPTIONS\r\n"
            f"Max-Forwards: 70\r\n{extra}Content-Length: 0\r\n\r\n").encode()


def test_no_call_back_without_the_key():
    """A forged OPTIONS asking for a call-back gets at most one reply no larger than itself, and no call-back."""
    async def main():
        async with CallResponder(ResponderConfig(host="127.0.0.1", port=0, key=KEY, transports=("udp",))) as r:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            s.setblocking(False)
            req = _options("forged1", s.getsockname()[1], f"{call_back.HEADER}: 1\r\n")
            s.sendto(req, ("127.0.0.1", r.sip_port))
            await asyncio.sleep(2.5)
            got = []
            while True:
                try:
                    got.append(s.recv(65535))
                except BlockingIOError:
                    break
            s.close()
            return got, r.stats()
    got, stats = asyncio.run(main())
    assert len(got) <= 1 and all(len(g) <= len(_options("forged1", 1, f"{call_back.HEADER}: 1\r\n")) for g in got)
    assert all(g.startswith(b"SIP/2.0 403") for g in got) and stats["nat_call_backs"] == 0


class CountingFlow(Flow):
    """A UDP flow to a documentation address that counts what the responder would send (no network:
    the bound is the responder's own bookkeeping)."""

    def __init__(self):
        self.peer = Peer("udp", "192.0.2.7", 5060)
        self.sent = 0

    @property
    def local(self) -> tuple[str, int]:
        return ("127.0.0.1", 5060)

    def send(self, data: bytes) -> None:
        self.sent += 1


def test_call_backs_are_bounded_per_source():
    flow = CountingFlow()

    async def main():
        cb = NatCallBacks(Endpoint(SipConfig()), CallBackLimits(per_source=3, total=10))
        for i in range(10):
            cb.requested(parse(_options(f"c{i}", 5060, f"{call_back.HEADER}: 0.2\r\n")), flow)
        cb.requested(parse(_options("huge", 5060, f"{call_back.HEADER}: 100000\r\n")), flow)   # ignored
        await asyncio.sleep(0.8)
        return cb
    cb = asyncio.run(main())
    assert cb.refused == 7 and cb.sent == 3 * COPIES and flow.sent == cb.sent


def test_all_idle_times_at_once_on_loopback():
    async def main():
        async with CallResponder(ResponderConfig(host="127.0.0.1", port=0, key=KEY, transports=("udp",))) as r:
            t = time.monotonic()
            res = await nat_binding.check(f"sip:test@127.0.0.1:{r.sip_port}", KEY, [1, 2, 3])
            return time.monotonic() - t, res
    took, res = asyncio.run(main())
    assert res.at_least and res.timeout_s == 3 and took < 4.5
    wrong = asyncio.run(_wrong_key())
    assert wrong.timeout_s is None and "403" in wrong.error


async def _wrong_key():
    async with CallResponder(ResponderConfig(host="127.0.0.1", port=0, key=KEY, transports=("udp",))) as r:
        return await nat_binding.check(f"sip:test@127.0.0.1:{r.sip_port}", b"w" * 32, [1])
