"""The port test against nftables rules in the router namespace (ground truth: the rules the test
wrote, and their drop counters): a sample of the provider's RTP range, one port blocked towards the far
end, one blocked on the way back; SIP over TCP to a port that listens and one that does not. And the
responder's bounds: only key holders get ports, one answer per port, a busy limit."""

from __future__ import annotations

import asyncio
import socket

import pytest

from readiness.probes.calls.farend.responder import CallResponder, ResponderConfig
from readiness.probes.calls.wire import port_probe
from readiness.probes.path import ports
from tests.path.nat_lab import behind_nat, run_path

KEY = b"p" * 32


def test_the_sample_is_even_ports_across_the_range():
    assert ports.sample(10000, 20000, 5) == [10000, 12500, 15000, 17500, 20000]
    assert all(p % 2 == 0 for p in ports.sample(16385, 32767, 8)) and len(ports.sample(16384, 32767, 8)) == 8


@pytest.mark.netns
def test_blocked_ports_are_found_each_way(tmp_path):
    with behind_nat(tmp_path, port=5070) as (net, key, target):
        rules = ("table ip portfilter {\n chain forward_ports { type filter hook forward priority 0;\n"
                 "  udp dport 32500 counter drop\n"            # towards the far end
                 "  udp sport 35000 counter drop\n }\n}\n")    # its answer on the way back
        net.run(net.r, "nft", "-f", "-", input=rules)
        status, doc, err = run_path(net, tmp_path, "--to", target, "--key-file", str(key), "--transport", "udp",
                                    "--nat-idle", "off", "--no-mtu", "--options-count", "0",
                                    "--rtp-ports", "30000-40000", "--rtp-sample", "5",
                                    "--local-rtp-ports", "16384-16400")
        counters = net.run(net.r, "nft", "list", "table", "ip", "portfilter").stdout
    rows = {p["port"]: p for p in doc["ports"]}
    assert sorted(rows) == [30000, 32500, 35000, 37500, 40000], doc["ports"]
    assert (rows[32500]["open_up"], rows[32500]["open_down"]) == (False, None)
    assert (rows[35000]["open_up"], rows[35000]["open_down"]) == (True, False)
    assert all(rows[p]["open_up"] and rows[p]["open_down"] for p in (30000, 37500, 40000))
    assert all(16384 <= p["local_port"] <= 16400 for p in rows.values())
    assert counters.count("packets 3 ") == 2          # each blocked probe (or answer) tried three times, dropped
    verdict = next(c for c in doc["criteria"] if c["id"] == "voice-ports-open")
    assert verdict["verdict"] == "fail" and status == 1, err
    m = next(m for m in doc["measurements"] if m["metric"] == "path.ports_closed")
    assert m["value"] == 2 and m["tags"]["closed"] == "UDP 32500, UDP 35000"


def test_sip_over_tcp_ports(tmp_path):
    listening = socket.create_server(("127.0.0.1", 0))
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))                     # bound, not listening: refused
    try:
        p1, p2 = listening.getsockname()[1], closed.getsockname()[1]
        status, doc, err = run_local(tmp_path, "--options", f"sip:127.0.0.1:{p1}", "--options-count", "0",
                                     "--sip-ports", f"tcp:{p1},tls:{p2}")
    finally:
        listening.close()
        closed.close()
    rows = {(p["transport"], p["port"]): p for p in doc["ports"]}
    assert rows[("tcp", p1)]["open_up"] and rows[("tls", p2)]["open_up"] is False
    assert rows[("tls", p2)]["note"] == "refused" and status == 1, err


def run_local(tmp_path, *args):
    import json
    import subprocess
    import sys
    out = tmp_path / "p.json"
    p = subprocess.run([sys.executable, "-m", "readiness", "path", *args, "--no-keep", "--json", str(out), "-q"],
                       capture_output=True, text=True, timeout=60)
    return p.returncode, json.loads(out.read_text()), p.stderr


def _probe_three_times_then_forge(port: int) -> tuple[int, int]:
    """(answers to four authentic probes, answers to a forged one), from another thread than the responder's."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.3)
    answers = forged = 0
    try:
        for data in [port_probe.probe(KEY, b"n" * 8, port)] * 4 + [b"x" * port_probe.SIZE]:
            s.sendto(data, ("127.0.0.1", port))
            try:
                got = s.recv(64)
            except socket.timeout:
                continue
            if data.startswith(port_probe.PROBE):
                answers += 1
            else:
                forged += 1
            assert len(got) == len(data)
    finally:
        s.close()
    return answers, forged


def test_ports_only_for_key_holders_one_answer_each():
    async def main():
        async with CallResponder(ResponderConfig(host="127.0.0.1", port=0, key=KEY, transports=("udp",))) as r:
            target = f"sip:test@127.0.0.1:{r.sip_port}"
            wrong = await ports.rtp_ports(target, b"w" * 32, [31000], [])
            good = await ports.rtp_ports(target, KEY, [31002, 31004], [])
            # a port answers as often as a caller tries, no more; a forged probe never
            from readiness.probes.calls.sip import SipConfig, UserAgent
            from readiness.probes.calls.wire import calltoken
            ua = await UserAgent(SipConfig()).start()
            reply = await ua.options(target, {calltoken.HEADER: calltoken.make(KEY), port_probe.OPEN: "31006"})
            await ua.close()
            answers, forged = await asyncio.to_thread(_probe_three_times_then_forge, 31006)
            return wrong, good, reply.response.headers.get(port_probe.OPEN), answers, forged
    wrong, good, opened, answers, forged = asyncio.run(main())
    assert "403" in wrong.error and not wrong.ports
    assert [(p["port"], p["open_up"], p["open_down"]) for p in good.ports] == [(31002, True, True), (31004, True, True)]
    assert opened.endswith(" 31006") and answers == port_probe.ANSWERS_PER_PORT and forged == 0
