"""SRTP test calls end to end with real parts: `readiness calls --srtp` against a real `readiness
responder` process on loopback, captured with dumpcap on lo; a real third-party SRTP peer
(baresip); far ends that refuse SRTP. Ground truth is the capture: the SDP on the wire, the sizes
of the media packets, and the media decrypted with the keys the SDP carried."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from readiness import codecs
from readiness.config import options
from readiness.config.site import Markings
from readiness.lab.responder_server import responder_process
from readiness.probes.calls import probe
from readiness.probes.calls.farend.responder import CallResponder, ResponderConfig
from readiness.probes.calls.load import LoadConfig, run_load
from readiness.probes.calls.sip import (
    Accept,
    SipConfig,
    UserAgent,
    UserAgentServer,
    sdp,
)
from readiness.probes.calls.sip.message import parse as parse_sip
from readiness.probes.calls.wire import calltoken, rtp, srtp, stamps
from readiness.probes.calls.wire.srtp import CryptoAttribute, SrtpSession
from tests.calls.sip import peers
from tests.conftest import need_tool

CLI = [sys.executable, "-m", "readiness"]
CM80 = "AES_CM_128_HMAC_SHA1_80"
G711 = 160                                  # G.711 20 ms payload
TAG = 10                                    # its SRTP authentication tag (RFC 3711 3.1, HMAC-SHA1-80)
DURATION_S = 10
KEY = b"srtp-calls-test-key-0123456789abcdef"


def _calls(port: int, key: Path, out: Path, n: int, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(CLI + ["calls", f"sip:test@127.0.0.1:{port}", "--calls", str(n), "--cps", "10",
                                   "--duration", str(DURATION_S), "--key-file", str(key), "--json", str(out),
                                   "--no-keep", "-q", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _udp(pcap: Path) -> list[tuple[int, int, bytes]]:
    """(source port, destination port, UDP payload) of every UDP datagram in the capture."""
    out = subprocess.run(["tshark", "-r", str(pcap), "-Y", "udp", "-T", "fields", "-e", "udp.srcport",
                          "-e", "udp.dstport", "-e", "udp.payload"], capture_output=True, text=True, check=True)
    rows = []
    for line in out.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and parts[2]:
            rows.append((int(parts[0]), int(parts[1]), bytes.fromhex(parts[2])))
    return rows


def _dialogs(rows: list[tuple[int, int, bytes]], sip_port: int) -> dict[str, dict]:
    """Per Call-ID: the SDP of the INVITE (offer) and of its 200 OK (answer), as they crossed lo."""
    calls: dict[str, dict] = {}
    for src, dst, payload in rows:
        if sip_port not in (src, dst):
            continue
        msg = parse_sip(payload)
        if not msg.body:
            continue
        kind = "offer" if getattr(msg, "method", "") == "INVITE" else "answer"
        calls.setdefault(msg.headers.get("Call-ID"), {})[kind] = sdp.parse(msg.body)
    return calls


def _crypto(m: sdp.MediaDescription) -> list[CryptoAttribute]:
    return [CryptoAttribute.parse(a) for a in m.other if a.startswith("crypto:")]


def test_srtp_and_plain_calls_through_one_responder_encrypted_on_the_wire(tmp_path):
    """4 SRTP calls and 2 plain ones at once to one responder (its default set-up: the C reflector
    for plain media). The capture shows RTP/SAVP offered and answered, every SRTP media packet the
    plain size + 10 bytes of tag with no stamp in the clear, and the media decrypts with the keys of
    the SDP to stamps the responder's key verifies, both ways. Same loss (none) and MOS as plain."""
    need_tool("dumpcap")
    need_tool("tshark")
    pcap = tmp_path / "lo.pcapng"
    with responder_process(tmp_path, extra=["--json"]) as (port, key_file):
        cap = subprocess.Popen(["dumpcap", "-q", "-i", "lo", "-f", "udp", "-w", str(pcap)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 15
            while not (pcap.exists() and pcap.stat().st_size) and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(0.5)
            secure = _calls(port, key_file, tmp_path / "srtp.json", 4, "--srtp")
            plain = _calls(port, key_file, tmp_path / "plain.json", 2)
            for p in (secure, plain):
                _, err = p.communicate(timeout=120)
                assert p.returncode == 0, err
            time.sleep(0.5)                        # the last packets reach the capture
        finally:
            cap.send_signal(signal.SIGINT)
            cap.wait(15)
    log = (tmp_path / f"responder-{port}.log").read_text()
    stats = json.loads(log[log.index("{"):])
    assert (stats["calls_answered"], stats["srtp_calls_answered"]) == (6, 4)
    assert stats["packets_srtp_auth_failed"] == 0 and stats["packets_unauthenticated"] == 0
    assert stats["srtp_calls_active"] == 0                   # every leg closed with its call

    docs = {name: json.loads((tmp_path / f"{name}.json").read_text()) for name in ("srtp", "plain")}
    for name, doc in docs.items():
        assert [c["answered"] for c in doc["calls"]] == [True] * (4 if name == "srtp" else 2)
        for c in doc["calls"]:
            assert c["far_end"] == "responder" and c["media_note"] == ""
            assert c["packets_sent_up"] == 50 * DURATION_S and c["packets_lost_up"] == 0
            assert c["packets_sent_down"] == 50 * DURATION_S and c["packets_lost_down"] == 0
            assert c["duplicate_pct_up"] == 0 and c["duplicate_pct_down"] == 0
            assert c["jitter_ms_up"] < 5 and c["rtt_ms_p50"] < 5 and c["one_way_estimated"] is False
            assert c["dscp_received_up"] == 46 and c["dscp_received_down"] == 46
    mos = {name: [c["mos"] for c in doc["calls"]] for name, doc in docs.items()}
    assert min(mos["srtp"]) > 4.3 and abs(min(mos["srtp"]) - min(mos["plain"])) < 0.01   # as for plain calls

    rows = _udp(pcap)
    dialogs = _dialogs(rows, port)
    assert len(dialogs) == 6
    signer = stamps.Signer(key_file.read_bytes().strip())
    secured = [d for d in dialogs.values() if d["offer"].media[0].proto == "RTP/SAVP"]
    assert len(secured) == 4
    for d in dialogs.values():
        offer, answer = d["offer"].media[0], d["answer"].media[0]
        leg = [(s, t, p) for s, t, p in rows if answer.port in (s, t)]
        up = [p for s, t, p in leg if t == answer.port]
        down = [p for s, t, p in leg if s == answer.port]
        assert len(up) >= 50 * DURATION_S + 1 and len(down) >= 50 * DURATION_S + 1     # media + fin
        if offer.proto == "RTP/AVP":
            assert answer.proto == "RTP/AVP" and not _crypto(answer)
            assert all(p[12:15] == b"RD\x01" for p in up + down)       # a plain stamp, readable by anyone
            continue
        assert answer.proto == "RTP/SAVP"                              # the offered profile kept
        offered, [answered] = _crypto(offer), _crypto(answer)          # RFC 4568 7.1.2: one line back
        assert [a.suite for a in offered] == list(srtp.SUITES) and (answered.tag, answered.suite) == (1, CM80)
        # on the wire: plain size + the 10-byte tag, and no stamp to read
        assert {len(p) for p in up + down} == {rtp.HEADER_LEN + G711 + TAG, rtp.HEADER_LEN + stamps.STAMP_LEN + TAG}
        assert not any(p[12:15] == b"RD\x01" for p in up + down)
        # the keys of the SDP decrypt it, to stamps the responder's key verifies (inside SRTP)
        for packets, key, reply in ((up, offered[0], False), (down, answered, True)):
            rx = SrtpSession(CryptoAttribute(1, CM80, srtp.new_key(CM80)), key)
            for p in packets:
                clear = rx.unprotect(p)
                assert len(clear) == len(p) - TAG and signer.authentic(clear)
                assert stamps.read(clear).is_reply == reply
    # tshark's own SRTP dissection (from the SDP it saw) finds the same 10-byte tags
    leg_port = secured[0]["answer"].media[0].port
    out = subprocess.run(["tshark", "-r", str(pcap), "-d", f"udp.port=={leg_port},rtp", "-Y",
                          f"udp.port=={leg_port} && rtp", "-T", "fields", "-e", "srtp.auth_tag"],
                         capture_output=True, text=True, check=True).stdout.split()
    assert len(out) >= 2 * 50 * DURATION_S and {len(bytes.fromhex(t)) for t in out} == {TAG}


def test_site_file_srtp_reaches_the_load():
    site = options.calls_site("sip:test@127.0.0.1:5999", key=None, username=None, password=None,
                              markings=Markings(), srtp=True)
    assert site.calls.srtp is True and probe.load_config(site).srtp is True
    site.calls.srtp = False
    assert probe.load_config(site).srtp is False


# --- far ends that do not answer as asked ---------------------------------------------------------

async def _against(decide_answer) -> tuple:
    """One SRTP call to a UAS whose SDP answer is `decide_answer(offer)`; (record, BYEs received)."""
    byes = []

    async def decide(call):
        return Accept(decide_answer(call.offer))

    uas = UserAgentServer(decide, SipConfig(), on_call_ended=lambda c: byes.append(c.end_reason))
    try:
        _, port = await uas.listen("udp", "127.0.0.1", 0)
        result = await run_load(LoadConfig(f"sip:x@127.0.0.1:{port}", calls=1, cps=10, duration_s=1.0, srtp=True))
        for _ in range(50):
            if byes:
                break
            await asyncio.sleep(0.05)
        return result.calls[0], byes
    finally:
        await uas.close()


def _plain_answer(offer: sdp.SessionDescription, proto: str) -> sdp.SessionDescription:
    answer = sdp.answer(offer, [codecs.get("pcmu")], "127.0.0.1", 40000)
    answer.media[0].proto = proto
    return answer


@pytest.mark.parametrize("proto", ["RTP/AVP", "RTP/SAVP"])
def test_answer_without_crypto_fails_the_call_and_hangs_up(proto):
    """RTP/AVP back (the far end ignored SAVP), or RTP/SAVP with no a=crypto line: not SRTP, so not
    the test asked for. The call fails with its cause and is hung up (BYE)."""
    record, byes = asyncio.run(_against(lambda offer: _plain_answer(offer, proto)))
    assert not record.answered and record.outcome.status == 200
    assert record.outcome.cause == "srtp-refused"
    assert record.outcome.detail.startswith("the far end refused SRTP") and proto in record.outcome.detail
    assert record.media is None and record.packets_sent == 0
    assert byes == ["remote-bye"]                          # our BYE ended it at the far end


def test_answer_with_a_tag_we_did_not_offer_fails():
    def answer(offer):
        a = _plain_answer(offer, "RTP/SAVP")
        a.media[0].other.append(CryptoAttribute(9, CM80, srtp.new_key(CM80)).to_sdp())
        return a

    record, _ = asyncio.run(_against(answer))
    assert record.outcome.cause == "srtp-refused" and "matches none of the lines we offered" in record.outcome.detail


def _offer(proto: str, attrs: list[str]) -> sdp.SessionDescription:
    offer = sdp.offer([codecs.get("pcmu")], "127.0.0.1", 40000)
    offer.media[0].proto = proto
    offer.media[0].other.extend(attrs)
    return offer


@pytest.mark.parametrize("proto, attrs, why", [
    ("UDP/TLS/RTP/SAVP", ["fingerprint:sha-256 " + ":".join(["AB"] * 32), "setup:actpass"],
     "DTLS-SRTP (UDP/TLS/RTP/SAVP) is not supported"),
    ("RTP/SAVP", [f"crypto:1 F8_128_HMAC_SHA1_80 inline:{'A' * 40}"], "no a=crypto line with a suite"),
    ("RTP/SAVP", [], "no a=crypto line with a suite"),
])
def test_responder_refuses_srtp_it_cannot_key_with_488(proto, attrs, why):
    async def go():
        async with CallResponder(ResponderConfig("127.0.0.1", 0, key=KEY)) as r, UserAgent(SipConfig()) as ua:
            call = ua.call(f"sip:test@127.0.0.1:{r.sip_port}", _offer(proto, attrs),
                           headers={calltoken.HEADER: calltoken.make(KEY)})
            return await call.wait(10), r.stats()

    outcome, stats = asyncio.run(go())
    assert outcome.status == 488 and why in outcome.detail
    assert stats["calls_refused"] == 1 and stats["srtp_calls_active"] == 0


# --- a third-party SRTP peer: SRTP and SRTCP both ways ---------------------------------------------

def test_srtp_call_to_baresip_both_ways_with_srtcp(tmp_path):
    """baresip taking SRTP calls only (mediaenc=srtp-mand): its RTP reaches us decrypted (down), our
    SRTP reaches it (its receiver reports count it), and SRTCP works both ways: we read its reports,
    and it read our sender report (the round trip from LSR/DLSR, RFC 3550 6.4.1)."""
    with peers.baresip(tmp_path, srtp=True) as port:
        cfg = LoadConfig(f"sip:echo@127.0.0.1:{port}", calls=1, cps=5, duration_s=9.0, codec="pcmu", srtp=True)
        result = asyncio.run(run_load(cfg))
    call = result.calls[0]
    assert call.answered and not call.reflected and call.srtp == CM80
    res, m = call.media_result, call.media
    assert res.srtp_suite == CM80 and res.srtp_overhead == TAG and res.srtp_auth_failed == 0
    assert m.down is not None and abs(m.down.packets_received - 450) <= 45 and m.down.loss_pct == 0.0
    about_us = [b for r in res.peer_reports for b in r.report.blocks if b.ssrc == res.ssrc]
    assert res.rtcp_received >= 1 and about_us and about_us[-1].cumulative_lost == 0
    assert m.up is not None and m.up.source == "rtcp" and m.up.loss_pct == 0.0
    assert m.rtt_p50_ms is not None and 0 <= m.rtt_p50_ms < 50
    # baresip's unencrypted RTCP keep-alive (an APP packet) is no SRTCP: counted, said what it was
    assert res.malformed <= 2 and (not res.malformed or "SRTCP unprotect" in res.malformed_sample)
