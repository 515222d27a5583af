"""The responder on a public address is no reflector: requests with a forged source address (raw IP
packets naming a victim that never sent anything) get at most one reply each, never larger than the
request, no 100 Trying, no retransmission, a bounded number per source, and forged media gets nothing.
Real responder, real kernel: the victim is a UDP socket on 127.0.0.9 that counts what reaches it."""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from typing import Callable

from readiness.probes.calls.farend.responder import CallResponder, ResponderConfig
from readiness.probes.calls.load import LoadConfig, run_load
from readiness.probes.calls.sip.guard import GuardLimits
from readiness.probes.capture.pcap_writer import ipv4_udp

KEY = b"reflection-test-key-0123456789abcdef"
VICTIM = "127.0.0.9"
# Timer G repeats a final answer after 0.5, 1.5, 3.5 s: waiting 4 s would see three of them
WAIT_S = 4.0


def forged(src: tuple[str, int], dst: tuple[str, int], payload: bytes) -> None:
    """One UDP datagram whose IP source is `src`, sent through a raw socket (IP_HDRINCL)."""
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW) as raw:
        raw.sendto(ipv4_udp(src[0], dst[0], src[1], dst[1], payload), (dst[0], 0))


def invite(port: int, victim: tuple[str, int], n: int, token: str | None = None, sdp: bool = True) -> bytes:
    body = (b"v=0\r\no=- 1 1 IN IP4 127.0.0.9\r\ns=-\r\nc=IN IP4 127.0.0.9\r\nt=0 0\r\n"
            b"m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n") if sdp else b""
    head = (f"INVITE sip:test@127.0.0.1:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {victim[0]}:{victim[1]};branch=z9hG4bK-forged-{n}\r\n"
            f"Max-Forwards: 70\r\nFrom: <sip:x@{victim[0]}>;tag=f{n}\r\nTo: <sip:test@127.0.0.1>\r\n"
            f"Call-ID: forged-{n}@{victim[0]}\r\nCSeq: 1 INVITE\r\nContact: <sip:x@{victim[0]}:{victim[1]}>\r\n"
            + (f"X-Readiness-Auth: {token}\r\n" if token else "")
            + (f"Content-Type: application/sdp\r\n" if sdp else "") + f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


def options(port: int, victim: tuple[str, int], n: int) -> bytes:
    return (f"OPTIONS sip:test@127.0.0.1:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {victim[0]}:{victim[1]};branch=z9hG4bK-opt-{n}\r\nMax-Forwards: 70\r\n"
            f"From: <sip:x@{victim[0]}>;tag=o{n}\r\nTo: <sip:test@127.0.0.1>\r\nCall-ID: opt-{n}@{victim[0]}\r\n"
            f"CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n").encode()


def bye(port: int, victim: tuple[str, int], n: int) -> bytes:
    return (f"BYE sip:test@127.0.0.1:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {victim[0]}:{victim[1]};branch=z9hG4bK-bye-{n}\r\nMax-Forwards: 70\r\n"
            f"From: <sip:x@{victim[0]}>;tag=b{n}\r\nTo: <sip:test@127.0.0.1>;tag=nosuch\r\n"
            f"Call-ID: bye-{n}@{victim[0]}\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n").encode()


def received(victim: socket.socket, until: float) -> list[bytes]:
    out = []
    while True:
        left = until - time.monotonic()
        if left <= 0:
            return out
        victim.settimeout(left)
        try:
            out.append(victim.recv(65536))
        except socket.timeout:
            return out


async def attack(make: Callable[[tuple[str, int]], list[bytes]], media: list[bytes] = (),
                 limits: GuardLimits | None = None) -> tuple[list[bytes], list[bytes], dict]:
    """Send the requests `make(victim address)` builds (and media) from the victim's forged address;
    what was sent, what reached the victim, the responder's counters."""
    victim = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    victim.bind((VICTIM, 0))
    addr = victim.getsockname()
    requests = make(addr)
    cfg = ResponderConfig("127.0.0.1", 0, key=KEY, **({"guard_limits": limits} if limits else {}))
    try:
        async with CallResponder(cfg) as r:
            for data in requests:
                forged(addr, ("127.0.0.1", r.sip_port), data)
            for data in media:
                forged(addr, ("127.0.0.1", r.media_port), data)
            loop = asyncio.get_running_loop()
            got = await loop.run_in_executor(None, received, victim, time.monotonic() + WAIT_S)
            return requests, got, r.stats()
    finally:
        victim.close()


def test_forged_requests_get_at_most_one_reply_no_larger_than_themselves():
    requests, got, stats = asyncio.run(attack(lambda v: [
        invite(5060, v, 1), invite(5060, v, 2, token="1796112000.abc.deadbeef"), options(5060, v, 3),
        bye(5060, v, 4), invite(5060, v, 5, sdp=False)]))
    assert len(requests) == 5 and len(requests[0]) > 400             # as big as a phone's INVITE
    assert len(got) == len(requests)                                     # one each, never repeated
    assert not [g for g in got if g.startswith(b"SIP/2.0 100")]          # no Trying before the token check
    assert all(g.startswith(b"SIP/2.0 403 Forbidden") for g in got), got
    assert sum(map(len, got)) <= sum(map(len, requests))
    for reply in got:                                                    # each no larger than its request
        call_id = next(line for line in reply.split(b"\r\n") if line.startswith(b"Call-ID:"))
        [request] = [r for r in requests if call_id in r]
        assert len(reply) <= len(request)
    assert stats["calls_refused"] == len(requests) and stats["calls_active"] == 0
    assert stats["unauthenticated_replies"] == len(got)


def test_a_request_too_small_for_any_reply_gets_none():
    tiny = (b"INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.9;branch=z9hG4bKt\r\nFrom: <sip:x@y>;tag=1\r\n"
            b"To: <sip:a@b>\r\nCall-ID: t\r\nCSeq: 1 INVITE\r\n\r\n")
    _, got, stats = asyncio.run(attack(lambda v: [tiny]))
    assert got == [] and stats["calls_refused"] == 1                    # a 403 would be larger than this


def test_a_flood_from_one_address_is_answered_a_bounded_number_of_times():
    n = 300
    start = time.monotonic()
    _, got, stats = asyncio.run(attack(lambda v: [invite(5060, v, i) for i in range(n)],
                                       limits=GuardLimits(replies_per_s_per_source=5.0)))
    elapsed = time.monotonic() - start
    assert stats["calls_refused"] == n
    # a burst of 5, then 5 per second while the flood lasted (it is over long before the wait ends)
    assert 1 <= len(got) <= 5 + 5 * (elapsed - WAIT_S) + 1, (len(got), elapsed)


def test_forged_media_gets_no_answer():
    rtp = [struct.pack("!BBHII", 0x80, 0, i, i * 160, 0x1234) + bytes(160) for i in range(50)]
    _, got, stats = asyncio.run(attack(lambda v: [], media=rtp))
    assert got == [] and stats["packets_reflected"] == 0 and stats["packets_unauthenticated"] == 50


def test_calls_with_the_key_still_work_behind_the_guard():
    async def main():
        async with CallResponder(ResponderConfig("127.0.0.1", 0, key=KEY)) as r:
            cfg = LoadConfig(f"sip:test@127.0.0.1:{r.sip_port}", calls=2, cps=20, duration_s=0.5, key=KEY)
            return await run_load(cfg), r.stats()
    result, stats = asyncio.run(main())
    assert len(result.answered()) == 2 and stats["calls_refused"] == 0 and stats["unauthenticated_replies"] == 0
