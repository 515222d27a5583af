"""Calls between our UAC and our UAS on loopback over UDP, TCP and TLS, and every way one can fail."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time

import pytest

from readiness.errors import ReadinessError
from readiness.probes.calls.sip import (IncomingCall, Reject, SipConfig, Timers, TransportLimits, UasLimits,
                                        UserAgent, UserAgentServer, sdp)

from .conftest import answering, pcmu_offer, run, tls_contexts


async def _uas(decide, kind="udp", tls=None, limits=None, timers=None):
    cfg = SipConfig(tls_server=tls, timers=timers or Timers())
    uas = UserAgentServer(decide, cfg, limits)
    host, port = await uas.listen(kind, "127.0.0.1", 0)
    return uas, port


@pytest.mark.parametrize("kind", ["udp", "tcp", "tls"])
def test_call_answer_reinvite_and_hangup(kind, tls_files):
    server_ctx, client_ctx = tls_contexts(tls_files)

    async def main():
        seen: list[IncomingCall] = []
        uas, port = await _uas(answering(ring_ms=120, seen=seen), kind, server_ctx)
        ua = UserAgent(SipConfig(transport=kind, local_host="127.0.0.1", tls_client=client_ctx))
        try:
            await ua.start()
            ringing = []
            call = ua.call(f"sip:test@127.0.0.1:{port}", pcmu_offer(), headers={"X-Readiness-Token": "t0k"},
                           on_provisional=lambda c, r: ringing.append(r.status))
            out = await call.wait(10)
            assert out.answered and out.status == 200 and out.cause == "answered", out
            assert ringing == [180]
            # post-dial delay is INVITE -> 180, setup INVITE -> 200; the UAS rang 120 ms in between
            assert 0 <= out.post_dial_delay_ms < out.setup_ms
            assert out.setup_ms - out.post_dial_delay_ms >= 110
            assert call.remote_media.port == 50000 and call.remote_media.payload_type == 0
            incoming = seen[0]
            assert incoming.header("X-Readiness-Token") == "t0k"
            assert incoming.remote_media.port == 40000
            assert incoming.source.transport == kind
            # the DSCP each end received (IP_RECVTOS, UDP only): default CS3 both ways
            assert out.dscp_received == incoming.dscp_received == (24 if kind == "udp" else None)
            # re-INVITE from the caller with a new port, then from the answerer
            new = sdp.offer([sdp.codec_table.get("pcmu")], "127.0.0.1", 40002)
            assert await call.reinvite(new) == 200
            await asyncio.sleep(0.05)
            assert incoming.remote_media.port == 40002
            assert await incoming.reinvite() == 200
            # hang up from the caller; the answerer sees a remote BYE
            assert await call.hangup() == 200
            await asyncio.wait_for(incoming.ended.wait(), 5)
            assert (call.end_reason, incoming.end_reason) == ("local-bye", "remote-bye")
            assert not uas.calls and not ua.calls and not ua.endpoint.dialogs and not uas.endpoint.dialogs
            assert ua.endpoint.transports.stats.malformed == 0 == uas.endpoint.transports.stats.malformed
        finally:
            await ua.close()
            await uas.close()

    run(main())


def test_far_end_hangs_up_and_options_ping():
    async def main():
        seen: list[IncomingCall] = []
        uas, port = await _uas(answering(seen=seen))
        async with UserAgent(SipConfig(local_host="127.0.0.1")) as ua:
            ping = await ua.options(f"sip:127.0.0.1:{port}")
            assert ping.ok and ping.rtt_ms is not None and ping.rtt_ms < 1000
            call = await ua.invite(f"sip:test@127.0.0.1:{port}", pcmu_offer())
            assert call.outcome.answered
            assert await seen[0].hangup() == 200
            await asyncio.wait_for(call.ended.wait(), 5)
            assert call.end_reason == "remote-bye"
            assert await call.hangup() is None          # already over: nothing is sent
        await uas.close()

    run(main())


@pytest.mark.parametrize("status, cause", [(486, "client-error"), (503, "server-error"),
                                           (603, "global-failure"), (302, "redirected"), (404, "client-error")])
def test_rejections_are_counted_by_cause_and_status(status, cause):
    async def decide(call):
        return Reject(status, "No")

    async def main():
        uas, port = await _uas(decide)
        async with UserAgent(SipConfig(local_host="127.0.0.1")) as ua:
            out = await (ua.call(f"sip:test@127.0.0.1:{port}", pcmu_offer())).wait(10)
            assert (out.answered, out.status, out.cause) == (False, status, cause)
            assert out.setup_ms is None
            assert not ua.calls
        assert uas.stats.rejected == {status: 1}
        await uas.close()

    run(main())


def test_cancel_while_ringing_and_answer_timeout():
    async def main():
        seen: list[IncomingCall] = []
        uas, port = await _uas(answering(ring_ms=5000, seen=seen))
        async with UserAgent(SipConfig(local_host="127.0.0.1")) as ua:
            call = ua.call(f"sip:test@127.0.0.1:{port}", pcmu_offer())
            call.cancel()                      # before any provisional: sent when the 180 arrives
            out = await call.wait(10)
            assert (out.cause, out.status) == ("cancelled", 487)
            await asyncio.wait_for(seen[0].ended.wait(), 5)
            assert seen[0].end_reason == "cancelled"
            # nobody answers within answer_timeout: the UAC cancels and reports a timeout
            t0 = time.monotonic()
            out = await ua.call(f"sip:test@127.0.0.1:{port}", pcmu_offer(), answer_timeout=0.5).wait(10)
            assert out.cause == "timeout" and out.status == 487 and "0.5 s" in out.detail
            assert time.monotonic() - t0 < 3
        assert uas.stats.ended.get("cancelled") == 2
        await uas.close()

    run(main())


def test_unreachable_udp_port_fails_fast_from_icmp():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:     # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]

    async def main():
        async with UserAgent(SipConfig(local_host="127.0.0.1")) as ua:
            t0 = time.monotonic()
            out = await ua.call(f"sip:test@127.0.0.1:{dead}", pcmu_offer()).wait(10)
            assert out.cause == "unreachable" and out.status is None
            assert time.monotonic() - t0 < 1.0                 # not Timer B (32 s)
            assert f"127.0.0.1:{dead}" in out.detail
            ping = await ua.options(f"sip:127.0.0.1:{dead}")
            assert ping.status is None and ping.cause == "unreachable"
            assert ua.endpoint.transports.stats.icmp_errors >= 2

    run(main())


def test_tcp_refused_dns_failure_and_bad_target():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]

    async def main():
        async with UserAgent(SipConfig(transport="tcp", local_host="127.0.0.1")) as ua:
            out = await ua.call(f"sip:test@127.0.0.1:{dead}", pcmu_offer()).wait(10)
            assert out.cause == "refused" and "refused" in out.detail
            out = await ua.call("sip:test@no-such-host.invalid", pcmu_offer()).wait(15)
            assert out.cause == "dns" and "no-such-host.invalid" in out.detail
            with pytest.raises(ReadinessError, match="bad SIP target"):
                ua.call("http://example.com", pcmu_offer())

    run(main())


def test_tls_with_an_untrusted_certificate_is_a_tls_failure(tls_files):
    server_ctx, _ = tls_contexts(tls_files)

    async def main():
        uas, port = await _uas(answering(), "tls", server_ctx)
        async with UserAgent(SipConfig(transport="tls", local_host="127.0.0.1")) as ua:   # system CAs only
            out = await ua.call(f"sip:test@127.0.0.1:{port}", pcmu_offer()).wait(10)
            assert out.cause == "tls" and "certificate" in out.detail.lower()
        await uas.close()

    run(main())


def test_port_in_use_is_a_clear_error():
    async def main():
        uas, port = await _uas(answering())
        other = UserAgentServer(answering())
        with pytest.raises(ReadinessError, match=f"SIP UDP port 127.0.0.1:{port} is already in use"):
            await other.listen("udp", "127.0.0.1", port)
        await other.close()
        await uas.close()

    run(main())


def test_malformed_sip_is_counted_and_dropped_and_service_goes_on():
    async def main():
        uas, port = await _uas(answering())
        garbage = [b"\x00\xff" * 50, b"INVITE sip:x SIP/2.0\r\n\r\n", b"SIP/2.0 200\r\n\r\n",
                   b"INVITE sip:a SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nContent-Length: 999\r\n\r\nx"]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for g in garbage:
                s.sendto(g, ("127.0.0.1", port))
        # a TCP stream whose framing is broken is closed; the listener stays up
        tcp_uas, tcp_port = await _uas(answering(), "tcp")
        r, w = await asyncio.open_connection("127.0.0.1", tcp_port)
        w.write(b"INVITE sip:a SIP/2.0\r\nVia: x\r\n\r\n")
        assert await asyncio.wait_for(r.read(), 5) == b""       # closed by the server
        w.close()
        async with UserAgent(SipConfig(local_host="127.0.0.1")) as ua:
            call = await ua.invite(f"sip:test@127.0.0.1:{port}", pcmu_offer())
            assert call.outcome.answered
            await call.hangup()
        async with UserAgent(SipConfig(transport="tcp", local_host="127.0.0.1")) as ua:
            call = await ua.invite(f"sip:test@127.0.0.1:{tcp_port}", pcmu_offer())
            assert call.outcome.answered
            await call.hangup()
        assert uas.endpoint.transports.stats.malformed == len(garbage)
        assert tcp_uas.endpoint.transports.stats.malformed == 1
        await uas.close()
        await tcp_uas.close()

    run(main())


def test_bad_offer_and_failing_decider_get_clear_answers():
    async def broken(call):
        raise RuntimeError("responder bug")

    async def main():
        uas, port = await _uas(answering(codec="g729"))
        uas2, port2 = await _uas(broken)
        async with UserAgent(SipConfig(local_host="127.0.0.1")) as ua:
            out = await ua.call(f"sip:test@127.0.0.1:{port}", pcmu_offer()).wait(10)
            assert (out.status, out.cause) == (488, "client-error")          # no common codec
            out = await ua.call(f"sip:test@127.0.0.1:{port2}", pcmu_offer()).wait(10)
            assert (out.status, out.cause) == (500, "server-error")
        await uas.close()
        await uas2.close()

    run(main())


def test_limits_per_source_and_max_duration():
    async def main():
        uas, port = await _uas(answering(), limits=UasLimits(max_calls_per_source=2, max_call_s=0.5))
        async with UserAgent(SipConfig(local_host="127.0.0.1")) as ua:
            calls = [ua.call(f"sip:test@127.0.0.1:{port}", pcmu_offer()) for _ in range(3)]
            outs = [await c.wait(10) for c in calls]
            assert sorted(o.status for o in outs) == [200, 200, 503]
            assert uas.stats.limited == 1
            # the UAS ends calls longer than max_call_s itself
            for c in calls[:3]:
                if c.outcome.answered:
                    await asyncio.wait_for(c.ended.wait(), 5)
                    assert c.end_reason == "remote-bye"
            # the caller sees the BYE before the UAS has the 200 that ends the call on its side
            for _ in range(50):
                if uas.stats.ended.get("max-duration") == 2:
                    break
                await asyncio.sleep(0.1)
        assert uas.stats.ended.get("max-duration") == 2
        await uas.close()

    run(main())


def test_many_concurrent_calls_on_one_socket():
    n = 300

    async def main():
        # all at once from one source: above the default INVITE rate bound, so raise it
        uas, port = await _uas(answering(), limits=UasLimits(invites_per_s_per_source=10 * n))
        async with UserAgent(SipConfig(local_host="127.0.0.1")) as ua:
            calls = [ua.call(f"sip:t{i}@127.0.0.1:{port}", pcmu_offer(port=40000 + 2 * i)) for i in range(n)]
            outs = await asyncio.gather(*(c.wait(30) for c in calls))
            assert all(o.answered for o in outs)
            assert len(uas.calls) == n and len(ua.calls) == n
            assert sorted(c.remote_media.port for c in uas.calls.values()) == [40000 + 2 * i for i in range(n)]
            statuses = await asyncio.gather(*(c.hangup() for c in calls))
            assert statuses == [200] * n
            await asyncio.sleep(0.1)
            assert not uas.calls and not ua.calls and not uas.endpoint.dialogs
        await uas.close()

    run(main(), timeout=120)


def test_silent_peer_times_out_by_timer_b_and_unacked_2xx_ends_with_bye():
    fast = Timers(t1=0.05)                     # Timer B = 64*T1 = 3.2 s instead of 32 s
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))           # receives, never answers

        async def main():
            async with UserAgent(SipConfig(local_host="127.0.0.1", timers=fast)) as ua:
                t0 = time.monotonic()
                out = await ua.call(f"sip:test@127.0.0.1:{silent.getsockname()[1]}", pcmu_offer()).wait(10)
                assert out.cause == "timeout" and "Timer B" in out.detail
                assert 3.1 < time.monotonic() - t0 < 5
                assert out.retransmissions >= 5                 # 0.05, 0.1, 0.2, 0.4, 0.8, 1.6 s
            # a caller that never ACKs our 200: the UAS repeats it, gives up after 64*T1 and hangs up
            seen: list[IncomingCall] = []
            uas, port = await _uas(answering(seen=seen), timers=fast)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rude:
                rude.bind(("127.0.0.1", 0))
                me = rude.getsockname()[1]
                body = pcmu_offer().encode()
                rude.sendto((f"INVITE sip:t@127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{me};branch=z9hG4bKr1\r\n"
                             f"From: <sip:r@127.0.0.1>;tag=r\r\nTo: <sip:t@127.0.0.1>\r\nCall-ID: rude1\r\n"
                             f"CSeq: 1 INVITE\r\nContact: <sip:r@127.0.0.1:{me}>\r\nContent-Type: application/sdp\r\n"
                             f"Content-Length: {len(body)}\r\n\r\n").encode() + body, ("127.0.0.1", port))
                await asyncio.sleep(0.2)
                assert seen and not seen[0].ended.is_set()
                await asyncio.wait_for(seen[0].ended.wait(), 10)
                assert seen[0].end_reason == "no-ack"
                rude.setblocking(False)
                got = []
                with contextlib.suppress(BlockingIOError):
                    while True:
                        got.append(rude.recv(4096).split(b"\r\n")[0])
                assert got.count(b"SIP/2.0 200 OK") >= 5 and any(g.startswith(b"BYE ") for g in got)
            await uas.close()

        run(main())


def test_invite_rate_and_transaction_table_are_bounded():
    async def main():
        uas, port = await _uas(answering(), limits=UasLimits(invites_per_s_per_source=5))
        async with UserAgent(SipConfig(local_host="127.0.0.1")) as ua:
            outs = await asyncio.gather(*(ua.call(f"sip:t@127.0.0.1:{port}", pcmu_offer()).wait(10) for _ in range(8)))
            assert sorted(o.status for o in outs) == [200] * 5 + [503] * 3
        await uas.close()
        # each OPTIONS keeps a server transaction for Timer J (32 s on UDP); past the bound the
        # endpoint answers 503 without keeping anything
        small = UserAgentServer(answering(), SipConfig(limits=TransportLimits(max_transactions=3)))
        _, port = await small.listen("udp", "127.0.0.1", 0)
        async with UserAgent(SipConfig(local_host="127.0.0.1")) as ua:
            statuses = [(await ua.options(f"sip:127.0.0.1:{port}")).status for _ in range(5)]
        assert statuses == [200, 200, 200, 503, 503]
        assert len(small.endpoint.transactions.server) == 3
        await small.close()

    run(main())


def _mutations(seed: int, port: int, count: int) -> list[bytes]:
    """Valid messages of every kind, then damaged: bytes flipped, lines dropped, doubled or
    emptied, numbers made huge, cut short. Many still parse and reach the UA logic behind."""
    import random
    rnd = random.Random(seed)
    body = pcmu_offer().encode()
    head = (f"Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKf{{n}}\r\nFrom: <sip:f@127.0.0.1>;tag=f{{n}}\r\n"
            f"To: <sip:t@127.0.0.1>{{to}}\r\nCall-ID: fuzz{{n}}\r\nCSeq: {{n}} {{m}}\r\nContact: <sip:f@127.0.0.1:9>\r\n")
    kinds = [("INVITE", "", body), ("ACK", ";tag=x", b""), ("BYE", ";tag=x", b""), ("CANCEL", "", b""),
             ("OPTIONS", "", b""), ("INVITE", ";tag=x", body), ("INFO", "", b""), ("SIP/2.0 200 OK", ";tag=x", body)]
    out = []
    for n in range(count):
        m, to, b = rnd.choice(kinds)
        start = m if m.startswith("SIP/") else f"{m} sip:t@127.0.0.1:{port} SIP/2.0"
        method = "INVITE" if m.startswith("SIP/") else m
        lines = (start + "\r\n" + head.format(n=n, to=to, m=method) +
                 "Content-Type: application/sdp\r\n" + f"Content-Length: {len(b)}\r\n\r\n").split("\r\n")
        data = "\r\n".join(lines).encode() + b
        for _ in range(rnd.randint(1, 3)):
            op = rnd.randrange(6)
            if op == 0 and data:
                i = rnd.randrange(len(data))
                data = data[:i] + bytes([rnd.randrange(256)]) + data[i + 1:]
            elif op == 1:
                parts = data.split(b"\r\n")
                del parts[rnd.randrange(len(parts))]
                data = b"\r\n".join(parts)
            elif op == 2:
                parts = data.split(b"\r\n")
                i = rnd.randrange(len(parts))
                parts.insert(i, parts[i])
                data = b"\r\n".join(parts)
            elif op == 3:
                data = data.replace(str(n).encode(), b"4294967296" * rnd.randint(1, 3), 1)
            elif op == 4:
                data = data[:rnd.randrange(len(data) + 1)]
            else:
                parts = data.split(b"\r\n")
                i = rnd.randrange(len(parts))
                parts[i] = parts[i].split(b":")[0] + b":"
                data = b"\r\n".join(parts)
        out.append(data)
    return out


def test_damaged_messages_at_a_live_uas_never_break_it():
    async def main():
        loop = asyncio.get_running_loop()
        errors: list = []
        loop.set_exception_handler(lambda _loop, ctx: errors.append(ctx.get("exception") or ctx.get("message")))
        uas, port = await _uas(answering(), limits=UasLimits(invites_per_s_per_source=10000))
        datagrams = _mutations(seed=3261, port=port, count=1500)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            for i, d in enumerate(datagrams):
                s.sendto(d, ("127.0.0.1", port))
                if i % 100 == 0:
                    await asyncio.sleep(0.01)
        await asyncio.sleep(0.5)
        stats = uas.endpoint.transports.stats
        assert stats.received == len(datagrams)
        assert 0 < stats.malformed < len(datagrams)                    # some were dropped, some went on
        assert uas.stats.invites > 0 and uas.endpoint.stats.unknown_dialog > 0
        assert 500 not in uas.stats.rejected and "failed" not in uas.stats.ended   # no internal error
        async with UserAgent(SipConfig(local_host="127.0.0.1")) as ua:  # and the service still works
            call = await ua.invite(f"sip:test@127.0.0.1:{port}", pcmu_offer())
            assert call.outcome.answered
            assert await call.hangup() == 200
        await uas.close()
        assert errors == []

    run(main(), timeout=120)


@pytest.mark.parametrize("kind", ["udp", "tcp"])
def test_ipv6_call(kind):
    async def main():
        uas = UserAgentServer(answering(address="::1"))
        _, port = await uas.listen(kind, "::1", 0)
        async with UserAgent(SipConfig(transport=kind)) as ua:       # binds IPv4 too; IPv6 opened on demand
            call = await ua.invite(f"sip:test@[::1]:{port}", pcmu_offer(address="::1"))
            assert call.outcome.answered, call.outcome
            assert call.remote_media.address == "::1"
            assert call.outcome.dscp_received == (24 if kind == "udp" else None)      # IPV6_RECVTCLASS
            assert await call.hangup() == 200
        await uas.close()

    run(main())
