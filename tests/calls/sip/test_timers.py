"""RFC 3261 17 timers seen from a plain socket on the other side (no stack of ours there): Timer E
doubling up to T2 and F ending a non-INVITE; Timer G repeating a non-2xx final until the ACK, and
H giving up without one. T1 is shortened so the whole schedule fits in a few seconds."""

from __future__ import annotations

import asyncio
import socket
import struct
import time

from readiness.probes.calls.sip import Reject, SipConfig, Timers, UserAgentServer
from readiness.probes.calls.sip.endpoint import Endpoint, RequestFailed
from readiness.probes.calls.sip.message import Headers, Request
from readiness.probes.calls.sip.uri import SipUri

from .conftest import pcmu_offer, run

FAST = Timers(t1=0.05, t2=0.2, t4=0.25)
SLACK = 0.03          # event-loop lateness allowed per interval
SO_TIMESTAMPNS = 35   # Linux asm-generic/socket.h; not exported by Python's socket module


def _arrivals(sock: socket.socket, seconds: float) -> list[tuple[float, bytes]]:
    """Datagrams with the kernel's receive time (SO_TIMESTAMPNS), so a late reader does not skew gaps."""
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    sock.settimeout(0.05)
    out, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            data, anc, _, _ = sock.recvmsg(65536, 64)
        except socket.timeout:
            continue
        stamp = next(struct.unpack("qq", c[:16]) for lvl, kind, c in anc
                     if lvl == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS)
        out.append((stamp[0] + stamp[1] / 1e9, data))
    return out


def _until(sock: socket.socket, prefix: bytes, seconds: float = 5.0) -> list[tuple[float, bytes]]:
    """Datagrams up to and including the first that starts with `prefix`."""
    sock.settimeout(seconds)
    out = []
    while True:
        data = sock.recv(65536)
        out.append((time.time(), data))
        if data.startswith(prefix):
            return out


def test_timer_e_caps_at_t2_and_timer_f_ends_the_request():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]

        async def main():
            ep = Endpoint(SipConfig(local_host="127.0.0.1", timers=FAST))
            await ep.listen("udp")
            flow = await ep.flow_for(SipUri("127.0.0.1", port=port))
            h = Headers([("From", "<sip:a@127.0.0.1>;tag=1"), ("To", "<sip:b@127.0.0.1>"), ("Call-ID", "e1"),
                         ("CSeq", "1 OPTIONS")])
            req = ep.stamp(Request("OPTIONS", f"sip:127.0.0.1:{port}", h), flow)
            loop = asyncio.get_running_loop()
            arrivals = loop.run_in_executor(None, _arrivals, silent, 3.6)
            t0 = time.monotonic()
            try:
                await ep.request(req, flow)
                raise AssertionError("a silent peer cannot answer")
            except RequestFailed as e:
                assert e.cause == "timeout" and "Timer F" in str(e)
                assert abs(time.monotonic() - t0 - FAST.b) < 0.2          # F = 64*T1
            got = await arrivals
            await ep.close()
            return got

        got = run(main())
        gaps = [b[0] - a[0] for a, b in zip(got, got[1:])]
        assert all(g.startswith(b"OPTIONS ") for _, g in got)
        # T1, 2*T1, then T2 for good (17.1.2.2)
        assert abs(gaps[0] - 0.05) < SLACK and abs(gaps[1] - 0.1) < SLACK
        assert all(abs(g - 0.2) < SLACK for g in gaps[2:])
        assert 15 <= len(got) <= 18                                      # 3.2 s / 0.2 s plus the start


def test_timer_g_repeats_a_rejection_until_ack_and_h_gives_up():
    async def decide(call):
        return Reject(486, "Busy Here")

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as caller:
        caller.bind(("127.0.0.1", 0))
        me = caller.getsockname()[1]

        def invite(port: int, n: int) -> bytes:
            body = pcmu_offer().encode()
            return (f"INVITE sip:t@127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{me};branch=z9hG4bKg{n}\r\n"
                    f"From: <sip:c@127.0.0.1>;tag=c{n}\r\nTo: <sip:t@127.0.0.1>\r\nCall-ID: g{n}\r\nCSeq: 1 INVITE\r\n"
                    f"Content-Type: application/sdp\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body

        async def main():
            uas = UserAgentServer(decide, SipConfig(timers=FAST))
            _, port = await uas.listen("udp", "127.0.0.1", 0)
            loop = asyncio.get_running_loop()
            # 1: never ACK - the 486 repeats (G: T1, 2T1, then T2) until H = 64*T1
            caller.sendto(invite(port, 1), ("127.0.0.1", port))
            never = await loop.run_in_executor(None, _arrivals, caller, FAST.b + 0.6)
            # 2: ACK the first 486 - it is not repeated
            caller.sendto(invite(port, 2), ("127.0.0.1", port))
            first = await loop.run_in_executor(None, _until, caller, b"SIP/2.0 486")
            to = [l for l in first[-1][1].split(b"\r\n") if l.startswith(b"To:")][0].decode()
            acked = time.time()
            caller.sendto((f"ACK sip:t@127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{me};branch=z9hG4bKg2\r\n"
                           f"From: <sip:c@127.0.0.1>;tag=c2\r\n{to}\r\nCall-ID: g2\r\nCSeq: 1 ACK\r\n"
                           f"Content-Length: 0\r\n\r\n").encode(), ("127.0.0.1", port))
            after = await loop.run_in_executor(None, _arrivals, caller, 1.0)
            left = len(uas.endpoint.transactions.server)
            await uas.close()
            return never, first, [(t - acked, d) for t, d in after], left

        never, first, after, left = run(main())
        finals = [t for t, d in never if d.startswith(b"SIP/2.0 486")]
        gaps = [b - a for a, b in zip(finals, finals[1:])]
        assert abs(gaps[0] - 0.05) < SLACK and abs(gaps[1] - 0.1) < SLACK
        assert all(abs(g - 0.2) < SLACK for g in gaps[2:])
        assert finals[-1] - finals[0] < FAST.b + SLACK                   # stops at H
        assert [d.split(b"\r\n")[0] for _, d in first] == [b"SIP/2.0 100 Trying", b"SIP/2.0 486 Busy Here"]
        assert all(t < 0.05 for t, _ in after)              # the ACK stopped Timer G (one may have crossed it)
        assert left == 0                                                # H and I ended both transactions
