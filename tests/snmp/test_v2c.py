"""The v2c transport and session (v2c.py, client.py): retries with the same request-id, a late answer to
an earlier try, timeouts that name the device, malformed and stray answers, tooBig, endOfMibView and
noSuchObject, IPv6.

Most of these need an agent that misbehaves on cue (drops exactly the first try, answers late, sends a
truncated answer, finds more than N values too big). No real agent does that on demand, so here a
scripted UDP responder plays the agent; it reads requests and builds answers with pysnmp, the
independent reference codec. The last tests use snmpsim, a real agent.
"""

from __future__ import annotations

import asyncio
import socket
import time

import pytest
from pyasn1.codec.ber import decoder
from pysnmp.proto import rfc1905
from pysnmp.proto.api import v2c

from readiness.lab.snmp_walks import switch
from readiness.probes.snmp import mibs
from readiness.probes.snmp.client import SnmpCredentials, SnmpError, SnmpSession, SnmpTimeout
from readiness.probes.snmp.v2c import Channel

from .conftest import served
from .test_ber import response

COMMUNITY = "s3cret-community"
TABLE = mibs.IF_DESCR                                           # a column of 10 rows
ROWS = {TABLE + (i,): v2c.OctetString(b"port %d" % i) for i in range(1, 11)}
NEXT_COLUMN = mibs.IF_TYPE + (1,)


def answer_for(pdu) -> list:
    """What a correct agent answers: GET exact, GETNEXT/GETBULK from the sorted ROWS."""
    names = [tuple(n) for n, _ in v2c.apiPDU.get_varbinds(pdu)]
    if pdu.isSameTypeWith(v2c.GetRequestPDU()):
        return [(n, ROWS.get(n, rfc1905.noSuchObject)) for n in names]
    keys = sorted(ROWS) + [NEXT_COLUMN]
    values = {**ROWS, NEXT_COLUMN: v2c.Integer(6)}

    def after(n):
        k = next((k for k in keys if k > n), None)
        return (k, values[k]) if k else (n, rfc1905.endOfMibView)

    if pdu.isSameTypeWith(v2c.GetNextRequestPDU()):
        return [after(n) for n in names]
    out, cursor = [], names
    for _ in range(int(v2c.apiBulkPDU.get_max_repetitions(pdu))):
        row = [after(n) for n in cursor]
        out += row
        cursor = [n for n, _ in row]
    return out


class Responder(asyncio.DatagramProtocol):
    """A scripted agent: `behave(request_id, try number, pdu)` returns the datagrams to send back."""

    def __init__(self, behave):
        self.behave = behave
        self.tries: dict[int, int] = {}

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        msg, _ = decoder.decode(data, asn1Spec=v2c.Message())
        pdu = v2c.apiMessage.get_pdu(msg)
        rid = int(v2c.apiPDU.get_request_id(pdu))
        self.tries[rid] = self.tries.get(rid, 0) + 1
        for delay, datagram in self.behave(rid, self.tries[rid], pdu):
            asyncio.get_running_loop().call_later(delay, self.transport.sendto, datagram, addr)


def correct(rid, pdu, community=COMMUNITY.encode()) -> bytes:
    return response(answer_for(pdu), rid, community=community)


async def _with_agent(behave, body, host="127.0.0.1", timeout=0.3, retries=1):
    loop = asyncio.get_running_loop()
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    transport, agent = await loop.create_datagram_endpoint(lambda: Responder(behave), local_addr=(host, 0),
                                                           family=family)
    port = transport.get_extra_info("sockname")[1]
    try:
        async with Channel() as channel, SnmpSession(host, port, SnmpCredentials(community=COMMUNITY), timeout,
                                                     retries, channel=channel) as s:
            return await body(s), agent
    finally:
        transport.close()


def run(behave, body, **kw):
    return asyncio.run(_with_agent(behave, body, **kw))


def walk_table(s):
    return s.walk([TABLE])


def test_a_lost_first_try_is_answered_on_the_retry():
    def behave(rid, n, pdu):
        return [] if n == 1 else [(0, correct(rid, pdu))]
    (rows, problem), agent = run(behave, walk_table)
    assert problem == "" and len(rows) == 10
    assert set(agent.tries.values()) == {2}           # each request sent twice, with the same request-id


def test_a_late_answer_to_the_first_try_counts():
    def behave(rid, n, pdu):
        return [(0.45, correct(rid, pdu))] if n == 1 else []      # timeout 0.3 s: arrives during try 2
    got, _agent = run(behave, lambda s: s.get([TABLE + (3,)]))
    assert got == {TABLE + (3,): (4, b"port 3")}


def test_no_answer_names_the_device_and_the_tries():
    started = time.monotonic()
    with pytest.raises(SnmpTimeout, match=r"127\.0\.0\.1:\d+: no answer within 0\.2 s x 3 tries "
                                          r"\(wrong community, wrong address, or SNMP blocked\)"):
        run(lambda rid, n, pdu: [], lambda s: s.get([TABLE + (1,)]), timeout=0.2, retries=2)
    assert 0.55 < time.monotonic() - started < 3


def test_a_malformed_answer_fails_its_request_at_once_without_quoting_it():
    def behave(rid, n, pdu):
        good = correct(rid, pdu)
        return [(0, good[:-3])]                           # the last value cut short; the request-id intact
    started = time.monotonic()
    with pytest.raises(SnmpError) as e:
        run(behave, lambda s: s.get([TABLE + (1,)]), timeout=5)
    assert time.monotonic() - started < 2
    assert "answer is malformed: truncated" in str(e.value) and COMMUNITY not in str(e.value)


def test_garbage_and_stray_answers_are_ignored():
    def behave(rid, n, pdu):
        return [(0, b"\x00garbage"),                      # no request-id to be found
                (0, correct(rid, pdu, community=b"another")),   # the right id, another community
                (0, correct(rid + 1, pdu)),               # another request's id
                (0.05, correct(rid, pdu))]
    got, _agent = run(behave, lambda s: s.get([TABLE + (2,)]))
    assert got == {TABLE + (2,): (4, b"port 2")}


def test_too_big_gets_are_split_and_bulk_answers_asked_smaller():
    def behave(rid, n, pdu):
        vbs = v2c.apiPDU.get_varbinds(pdu)
        size = len(vbs) * (int(v2c.apiBulkPDU.get_max_repetitions(pdu))
                           if pdu.isSameTypeWith(v2c.GetBulkRequestPDU()) else 1)
        if size > 3:
            return [(0, response([(n, v2c.null) for n, _ in vbs], rid, status=1, community=COMMUNITY.encode()))]
        return [(0, correct(rid, pdu))]

    async def body(s):
        return await s.get([TABLE + (i,) for i in range(1, 11)]), await s.walk([TABLE])
    (got, (rows, problem)), _ = run(behave, body)
    assert len(got) == 10 and len(rows) == 10 and problem == ""


def test_ipv6():
    def behave(rid, n, pdu):
        return [(0, correct(rid, pdu))]
    (rows, problem), _ = run(behave, walk_table, host="::1")
    assert len(rows) == 10 and problem == ""


# --- a real agent (snmpsim) --------------------------------------------------------------------------------------
def test_end_of_mib_view_and_missing_objects_against_snmpsim():
    text = switch()
    last = mibs.oid(text.strip().splitlines()[-1].split("|")[0])

    async def body(port):
        async with SnmpSession("127.0.0.1", port, SnmpCredentials(community="sw")) as s:
            tail = await s.walk([last[:-1]])            # the walk's last column: ends at endOfMibView
            missing = await s.get([mibs.SYS_DESCR, mibs.UPS_BATTERY_STATUS])   # noSuchObject left out
            after_end = await s.get_next([last])
            return tail, missing, after_end

    with served({"sw": text}) as port:
        (rows, problem), missing, after_end = asyncio.run(body(port))
    assert last in rows and problem == ""
    assert list(missing) == [mibs.SYS_DESCR]
    assert after_end == [(last, None)]


def test_the_community_never_shows_in_reprs():
    from readiness.probes.snmp import ber
    from readiness.probes.snmp.v2c import _Pending

    r = ber.decode_response(response([], 1, community=COMMUNITY.encode()))
    assert r.community == COMMUNITY.encode()
    for thing in (r, SnmpCredentials(community=COMMUNITY), _Pending(None, COMMUNITY.encode())):  # type: ignore[arg-type]
        assert COMMUNITY not in repr(thing)
