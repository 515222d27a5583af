"""The RFC 3263 lookup (readiness/probes/path/dns_lookup.py) against a real dnsmasq on 127.0.0.1 serving
NAPTR, SRV and A/AAAA records given on its command line.

dnsmasq answers names it knows only; with --no-resolv it REFUSES everything else, unless the name lies
in a --local domain, where an unknown name is NXDOMAIN and a known name without the type is NODATA,
as a real authoritative server answers. Every test domain lies under .test, made --local.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time

import pytest

from readiness.probes.path.dns_lookup import DnsResult, resolve
from tests.conftest import need_tool


def _run(domain: str, server: str, timeout_s: float = 3.0) -> DnsResult:
    r = asyncio.run(resolve(domain, server, timeout_s))
    json.dumps(r.to_json())   # plain JSON, whatever the outcome
    return r


def _order(r: DnsResult) -> list[tuple]:
    return [(t.transport, t.host, t.port, t.priority, t.weight, t.via) for t in r.targets]


def test_naptr_srv_a_chain(dnsmasq):
    need_tool("dnsmasq")
    # given out of order on purpose: dnsmasq answers in reverse order of its command line
    server = dnsmasq(
        "--naptr-record=voip.test,20,10,S,SIP+D2T,,_sip._tcp.voip.test",
        "--naptr-record=voip.test,10,20,S,SIPS+D2T,,_sips._tcp.voip.test",
        "--naptr-record=voip.test,10,10,s,SIP+D2U,,_sip._udp.voip.test",   # flags are case-insensitive
        "--srv-host=_sip._udp.voip.test,sbc1.voip.test,5060,10,0",
        "--srv-host=_sip._udp.voip.test,sbc2.voip.test,5070,20,0",
        "--srv-host=_sip._udp.voip.test,sbc3.voip.test,5060,20,60",
        "--srv-host=_sip._tcp.voip.test,sbc1.voip.test,5060,10,0",
        "--srv-host=_sips._tcp.voip.test,sbc1.voip.test,5061,10,0",
        "--host-record=sbc1.voip.test,192.0.2.1,2001:db8::1",
        "--host-record=sbc2.voip.test,192.0.2.2",
        "--host-record=sbc3.voip.test,192.0.2.3",
    )
    r = _run("voip.test", server)
    assert r.error == "" and r.problems == [], (r.error, r.problems)
    assert r.ok and r.nameserver == server
    assert [(n["order"], n["preference"], n["service"]) for n in r.naptr] == [
        (10, 10, "SIP+D2U"), (10, 20, "SIPS+D2T"), (20, 10, "SIP+D2T")]
    assert r.naptr[0]["replacement"] == "_sip._udp.voip.test" and r.naptr[0]["regexp"] == ""
    assert _order(r) == [
        ("udp", "sbc1.voip.test", 5060, 10, 0, "naptr"),
        ("udp", "sbc3.voip.test", 5060, 20, 60, "naptr"),   # same priority: heavier first
        ("udp", "sbc2.voip.test", 5070, 20, 0, "naptr"),
        ("tls", "sbc1.voip.test", 5061, 10, 0, "naptr"),
        ("tcp", "sbc1.voip.test", 5060, 10, 0, "naptr"),
    ]
    assert r.targets[0].addresses == ["192.0.2.1", "2001:db8::1"]
    assert r.targets[2].addresses == ["192.0.2.2"]
    assert [x["target"] for x in r.srv["_sip._udp.voip.test"]] == ["sbc1.voip.test", "sbc3.voip.test",
                                                                  "sbc2.voip.test"]
    doc = r.to_json()
    assert doc["ok"] is True and doc["targets"][0]["host"] == "sbc1.voip.test" and doc["elapsed_ms"] > 0


def test_srv_only_without_naptr(dnsmasq):
    need_tool("dnsmasq")
    server = dnsmasq(
        "--srv-host=_sip._udp.srv.test,edge.srv.test,5060,10,0",
        "--srv-host=_sips._tcp.srv.test,edge.srv.test,5061,10,0",
        "--host-record=edge.srv.test,192.0.2.10",
    )
    r = _run("srv.test", server)
    assert r.ok, (r.error, r.problems)
    assert r.naptr == [] and set(r.srv) == {"_sip._udp.srv.test", "_sips._tcp.srv.test"}
    assert _order(r) == [("udp", "edge.srv.test", 5060, 10, 0, "srv"), ("tls", "edge.srv.test", 5061, 10, 0, "srv")]


def test_a_only_fallback(dnsmasq):
    need_tool("dnsmasq")
    server = dnsmasq("--host-record=plain.test,192.0.2.20")
    r = _run("plain.test", server)
    assert r.ok, (r.error, r.problems)
    assert _order(r) == [("udp", "plain.test", 5060, 0, 0, "a")]
    assert r.targets[0].addresses == ["192.0.2.20"] and r.srv == {}


def test_domain_without_any_record(dnsmasq):
    need_tool("dnsmasq")
    server = dnsmasq("--txt-record=bare.test,hello")   # exists (NODATA), but nothing a phone can use
    r = _run("bare.test", server)
    assert r.error == "" and not r.ok and r.targets == []
    assert r.problems == ["bare.test has no NAPTR, SRV, A or AAAA records: a phone finds no SIP server there"]


def test_srv_target_without_address(dnsmasq):
    need_tool("dnsmasq")
    server = dnsmasq(
        "--srv-host=_sip._udp.noaddr.test,sbc1.noaddr.test,5060,10,0",
        "--srv-host=_sip._udp.noaddr.test,sbc2.noaddr.test,5060,20,0",
        "--host-record=sbc1.noaddr.test,192.0.2.30",
    )
    r = _run("noaddr.test", server)
    assert not r.ok and r.error == ""
    assert r.problems == ["SRV _sip._udp.noaddr.test names sbc2.noaddr.test:5060, which has no address"]
    assert [t.addresses for t in r.targets] == [["192.0.2.30"], []]


def test_aaaa_only_target(dnsmasq):
    need_tool("dnsmasq")
    server = dnsmasq(
        "--srv-host=_sip._tcp.v6.test,sbc.v6.test,5060,10,0",
        "--host-record=sbc.v6.test,2001:db8::5",
    )
    r = _run("v6.test", server)
    assert r.ok, (r.error, r.problems)
    assert _order(r) == [("tcp", "sbc.v6.test", 5060, 10, 0, "srv")] and r.targets[0].addresses == ["2001:db8::5"]


def test_naptr_to_missing_srv(dnsmasq):
    need_tool("dnsmasq")
    server = dnsmasq(
        "--naptr-record=gap.test,10,10,S,SIP+D2U,,_sip._udp.gap.test",
        "--naptr-record=gap.test,20,10,S,SIP+D2T,,_sip._tcp.gap.test",
        "--srv-host=_sip._tcp.gap.test,sbc.gap.test,5060,10,0",
        "--host-record=sbc.gap.test,192.0.2.40",
    )
    r = _run("gap.test", server)
    assert r.problems == ["NAPTR SIP+D2U of gap.test points to _sip._udp.gap.test, which has no SRV records"]
    assert _order(r) == [("tcp", "sbc.gap.test", 5060, 10, 0, "naptr")] and not r.ok


def test_naptr_transport_disagrees_with_srv_name(dnsmasq):
    need_tool("dnsmasq")
    server = dnsmasq(
        "--naptr-record=mix.test,10,10,S,SIP+D2U,,_sip._tcp.mix.test",
        "--srv-host=_sip._tcp.mix.test,sbc.mix.test,5060,10,0",
        "--host-record=sbc.mix.test,192.0.2.50",
    )
    r = _run("mix.test", server)
    assert r.problems == [("NAPTR SIP+D2U of mix.test points to _sip._tcp.mix.test, but SIP+D2U is SIP over UDP, "
                           "whose SRV name starts with _sip._udp")]
    assert _order(r) == [("udp", "sbc.mix.test", 5060, 10, 0, "naptr")]   # the NAPTR's service decides


def test_naptr_without_sip_falls_back_to_srv(dnsmasq):
    need_tool("dnsmasq")
    server = dnsmasq(
        "--naptr-record=enum.test,10,10,U,E2U+sip,!^.*$!sip:info@enum.test!,",
        "--srv-host=_sip._udp.enum.test,sbc.enum.test,5060,10,0",
        "--host-record=sbc.enum.test,192.0.2.60",
    )
    r = _run("enum.test", server)
    assert r.naptr[0]["service"] == "E2U+sip" and r.naptr[0]["regexp"] == "!^.*$!sip:info@enum.test!"
    assert len(r.problems) == 1 and r.problems[0].startswith(
        "enum.test has NAPTR records but none for SIP over UDP, TCP or TLS (found E2U+sip)")
    assert _order(r) == [("udp", "sbc.enum.test", 5060, 10, 0, "srv")]


def test_srv_dot_target_is_information(dnsmasq):
    need_tool("dnsmasq")
    server = dnsmasq(
        "--srv-host=_sip._udp.dot.test,sbc.dot.test,5060,10,0",
        "--srv-host=_sips._tcp.dot.test",             # dnsmasq: target ".", port 1 -- "not offered"
        "--host-record=sbc.dot.test,192.0.2.70",
    )
    r = _run("dot.test", server)
    assert r.ok, (r.error, r.problems)
    assert r.srv["_sips._tcp.dot.test"] == [{"priority": 0, "weight": 0, "port": 1, "target": "."}]
    assert [t.host for t in r.targets] == ["sbc.dot.test"]
    assert r.notes == ['SRV _sips._tcp.dot.test has target ".": the provider says it offers no SIP over TLS there']


def test_nxdomain(dnsmasq):
    need_tool("dnsmasq")
    server = dnsmasq("--host-record=other.test,192.0.2.80")
    r = _run("absent.test", server)
    assert r.error == "absent.test does not exist (NXDOMAIN)"
    assert r.targets == [] and r.problems == [] and not r.ok


def test_refused_is_an_error(dnsmasq):
    need_tool("dnsmasq")
    server = dnsmasq("--host-record=other.test,192.0.2.80")
    r = _run("example.org", server)   # outside --local and no upstream: dnsmasq REFUSES every query
    assert r.error == f"the DNS server {server} answered NAPTR example.org with REFUSED"
    assert r.problems == [] and not r.ok


def test_ipv6_nameserver(dnsmasq):
    need_tool("dnsmasq")
    server = dnsmasq("--host-record=plain6.test,192.0.2.90", host="::1")
    assert server.startswith("[::1]:")
    r = _run("plain6.test", server)
    assert r.ok and r.nameserver == server, (r.error, r.problems)


@pytest.mark.parametrize("kind", ["silent socket", "closed port"])
def test_server_that_does_not_answer(kind):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))              # reads queries into its buffer, never replies
    port = sock.getsockname()[1]
    if kind == "closed port":
        sock.close()                          # nobody listens: ICMP port unreachable, which dnspython ignores
    try:
        started = time.monotonic()
        r = _run("voip.test", f"127.0.0.1:{port}", timeout_s=1.0)
        took = time.monotonic() - started
    finally:
        sock.close()
    assert took < 2.0, took
    assert r.error == f"no answer from the DNS server 127.0.0.1:{port} within 1 s"
    assert r.problems == [] and r.targets == [] and not r.ok


def test_bad_nameserver_is_an_error_not_an_exception():
    r = _run("voip.test", "ns.example.net:53")
    assert r.error == "nameserver 'ns.example.net:53' is not HOST, HOST:PORT or [IPv6]:PORT with an IP address"
    assert not r.ok
