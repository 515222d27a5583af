"""Interoperability with SIP peers nobody here wrote: kamailio as registrar and proxy, baresip as
the answering phone."""

from __future__ import annotations

import asyncio
import socket

import pytest

from readiness.probes.calls.sip import (Credentials, IncomingCall, SipConfig, UserAgent, UserAgentServer, sdp)

from .conftest import answering, pcmu_offer, run
from .peers import TEST_PASSWORD, baresip, kamailio


@pytest.mark.parametrize("kind", ["udp", "tcp"])
def test_register_with_digest_against_kamailio(kind, tmp_path):
    with kamailio(tmp_path) as k:
        async def main():
            target = f"sip:127.0.0.1:{k.port}"
            async with UserAgent(SipConfig(transport=kind, local_host="127.0.0.1"),
                                 Credentials("alice", TEST_PASSWORD)) as ua:
                reg = await ua.register(target, expires=60)
                assert reg.ok and reg.status == 200, reg
                # the registrar echoes our binding with its expiry
                assert any("expires=60" in c.replace(" ", "") or "expires" in c for c in
                           reg.response.headers.get_all("Contact"))
                gone = await ua.register(target, expires=0)
                assert gone.ok
            async with UserAgent(SipConfig(transport=kind, local_host="127.0.0.1"),
                                 Credentials("alice", "not-the-password")) as ua:
                bad = await ua.register(target)
                assert (bad.status, bad.cause) == (401, "auth")
                assert "refused" in bad.detail and "not-the-password" not in bad.detail + repr(bad)
            async with UserAgent(SipConfig(transport=kind, local_host="127.0.0.1")) as ua:
                anon = await ua.register(target)
                assert (anon.status, anon.cause) == (401, "auth")
                assert "no SIP username/password" in anon.detail
        run(main())


def test_kamailio_proxy_rejections_and_proxy_auth(tmp_path):
    async def main():
        seen: list[IncomingCall] = []
        plain = answering(seen=seen)
        ringing = answering(ring_ms=10000, seen=seen)

        async def decide(call: IncomingCall):
            return await (ringing if call.header("X-Ring") else plain)(call)
        uas = UserAgentServer(decide, SipConfig())
        _, uas_port = await uas.listen("udp", "127.0.0.1", 0)
        try:
            with kamailio(tmp_path, forward_port=uas_port) as k:
                base = f"127.0.0.1:{k.port}"
                async with UserAgent(SipConfig(local_host="127.0.0.1")) as ua:
                    out = await ua.call(f"sip:busy@{base}", pcmu_offer()).wait(10)
                    assert (out.status, out.cause) == (486, "client-error")
                    out = await ua.call(f"sip:unavailable@{base}", pcmu_offer()).wait(10)
                    assert (out.status, out.cause) == (503, "server-error")
                    out = await ua.call(f"sip:protected@{base}", pcmu_offer()).wait(10)
                    assert (out.status, out.cause) == (407, "auth")              # no credentials
                    # through the proxy to our UAS, with Record-Route: BYE goes back via kamailio
                    call = await ua.invite(f"sip:responder@{base}", pcmu_offer())
                    assert call.outcome.answered, call.outcome
                    assert call.dialog.route_set and str(k.port) in call.dialog.route_set[0]
                    assert seen[-1].invite.headers.get("Record-Route")
                    assert await call.reinvite() == 200
                    assert await call.hangup() == 200
                    await asyncio.wait_for(seen[-1].ended.wait(), 5)
                    assert seen[-1].end_reason == "remote-bye"
                    # CANCEL while our UAS rings behind the proxy: kamailio relays it, 487 comes back
                    ringing_call = ua.call(f"sip:responder@{base}", pcmu_offer(), headers={"X-Ring": "1"},
                                           on_provisional=lambda c, r: c.cancel() if r.status == 180 else None)
                    out = await ringing_call.wait(10)
                    assert (out.cause, out.status) == ("cancelled", 487), out
                    assert out.post_dial_delay_ms is not None
                    await asyncio.wait_for(seen[-1].ended.wait(), 5)
                    assert seen[-1].end_reason == "cancelled"
                async with UserAgent(SipConfig(local_host="127.0.0.1"), Credentials("bob", TEST_PASSWORD)) as ua:
                    call = await ua.invite(f"sip:protected@{base}", pcmu_offer())       # 407 -> INVITE again
                    assert call.outcome.answered and call.outcome.status == 200
                    assert seen[-1].header("Proxy-Authorization") is None          # consumed by the proxy
                    await call.hangup()
        finally:
            await uas.close()

    run(main())


def test_options_call_reinvite_and_bye_with_baresip(tmp_path):
    with baresip(tmp_path) as port:
        async def main():
            rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            rtp.bind(("0.0.0.0", 0))
            rtp.setblocking(False)
            rtp_port = rtp.getsockname()[1]
            try:
                async with UserAgent(SipConfig(local_host="127.0.0.1")) as ua:
                    ping = await ua.options(f"sip:echo@127.0.0.1:{port}")
                    assert ping.ok, ping
                    offer = sdp.offer([sdp.codec_table.get("pcma"), sdp.codec_table.get("pcmu")], "127.0.0.1", rtp_port)
                    call = await ua.invite(f"sip:echo@127.0.0.1:{port}", offer)
                    out = call.outcome
                    assert out.answered, out
                    media = call.remote_media
                    assert (media.encoding, media.payload_type, media.clock_rate) == ("PCMU", 0, 8000)
                    assert media.port > 0 and media.address                 # baresip's primary address
                    # baresip understood our offer: its RTP (PT 0, 160 bytes per 20 ms) reaches our port
                    loop = asyncio.get_running_loop()
                    packet = await asyncio.wait_for(loop.sock_recv(rtp, 2048), 5)
                    assert packet[0] >> 6 == 2 and packet[1] & 0x7F == 0 and len(packet) == 12 + 160
                    assert await call.reinvite() == 200
                    assert await call.hangup() == 200
                    assert not ua.endpoint.transports.stats.malformed
            finally:
                rtp.close()
        run(main())
