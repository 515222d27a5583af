"""Real calls on loopback: the call load against the real responder (SIP + reflector), every failure
counted by cause, and the records a run gets (unanswered calls are never a pass)."""

from __future__ import annotations

import asyncio

import pytest

from readiness.errors import ReadinessError
from readiness.probes.base import MemoryRecorder
from readiness.probes.calls import records
from readiness.probes.calls.load import LoadConfig, run_load
from readiness.probes.calls.farend.responder import CallResponder, ResponderConfig
from readiness.probes.calls.sip import Reject, SipConfig, UserAgentServer

KEY = b"loopback-test-key-0123456789abcdef"


async def _with_responder(cfg: LoadConfig, key: bytes | None = KEY, **rkw):
    async with CallResponder(ResponderConfig("127.0.0.1", 0, key=key, **rkw)) as r:
        cfg.target = f"sip:test@127.0.0.1:{r.sip_port}"
        result = await run_load(cfg)
        return result, r.stats()


def test_calls_answered_and_both_directions_measured():
    cfg = LoadConfig("", calls=4, cps=20, duration_s=2.0, key=KEY, clocks_synced=True)
    result, stats = asyncio.run(_with_responder(cfg))
    assert len(result.answered()) == 4 and result.peak_concurrent == 4
    assert stats["packets_reflected"] == 4 * 100 and stats["packets_unauthenticated"] == 0
    doc = records.to_json(result)
    for c in doc["calls"]:
        assert c["answered"] and c["sip_status"] == 200 and c["far_end"] == "responder"
        assert c["packets_sent_up"] == 100 and c["packets_lost_up"] == 0
        assert c["packets_sent_down"] == 100 and c["packets_lost_down"] == 0
        assert c["dscp_received_up"] == 46 and c["dscp_received_down"] == 46
        assert c["jitter_ms_up"] < 5 and c["rtt_ms_p50"] < 5 and c["mos"] > 4.3
        assert c["one_way_estimated"] is False
        assert c["sip_dscp_received_up"] == 24 and c["sip_dscp_received_down"] == 24     # CS3 both ways
    s = doc["summary"]
    assert (s["calls_attempted"], s["calls_answered"]) == (4, 4) and s["mos_min"] > 4.3

    rec = MemoryRecorder()
    records.record(rec, result)
    names = {(m.metric, m.tags.get("direction")) for m in rec.measurements}
    for metric in records.DIRECTION_METRICS:
        assert (metric, "up") in names and (metric, "down") in names
    loss_series = [s for s in rec.series_list if s.metric == "rtp.loss_pct"]
    assert len(loss_series) == 8 and all(s.step == pytest.approx(0.2) for s in loss_series)
    assert all(s.weights and sum(s.weights) > 0 for s in loss_series)
    assert all(m.tags["path"] == "site-to-far-end" for m in rec.measurements)


def test_sip_dscp_per_direction():
    """Our INVITE marked CS5, the responder's answers CS3: each direction reports its own marking,
    recorded as sip.dscp_received tagged up/down. A keyless responder tells no one what it saw."""
    cfg = LoadConfig("", calls=2, cps=20, duration_s=0.5, key=KEY, sip_dscp=40)
    result, _ = asyncio.run(_with_responder(cfg))
    rec = MemoryRecorder()
    records.record(rec, result)
    got = {(m.subject, m.tags["direction"]): m.value for m in rec.measurements if m.metric == "sip.dscp_received"}
    assert got == {("call 1 up", "up"): 40, ("call 1 down", "down"): 24,
                   ("call 2 up", "up"): 40, ("call 2 down", "down"): 24}

    result, _ = asyncio.run(_with_responder(LoadConfig("", calls=1, cps=20, duration_s=0.5), key=None))
    rec = MemoryRecorder()
    records.record(rec, result)
    assert [m.value for m in rec.measurements if m.metric == "sip.dscp_received"] == [24]
    [missing] = [n for n in rec.missing if n.metric == "sip.dscp_received"]
    assert missing.tags["direction"] == "up" and "readiness responder with a key" in missing.reason


def test_wrong_key_is_refused_with_403_and_never_passes():
    cfg = LoadConfig("", calls=2, cps=20, duration_s=1.0, key=b"a different key, long enough")
    result, stats = asyncio.run(_with_responder(cfg))
    assert not result.answered()
    assert result.failures_by_cause() == {"client-error 403": 2}
    assert "wrong key" in result.calls[0].outcome.detail or result.calls[0].outcome.status == 403
    assert stats["calls_refused"] == 2 and stats["media_sessions"] == 0
    rec = MemoryRecorder()
    records.record(rec, result)
    assert [m.value for m in rec.measurements if m.metric == "call.answered_pct"] == [0.0]
    assert [m.value for m in rec.measurements if m.metric == "call.failed"] == [2]
    assert {n.subject for n in rec.missing if n.metric == "call.mos"} == {"call 1 up", "call 1 down",
                                                                         "call 2 up", "call 2 down"}
    assert all("403" in n.reason for n in rec.missing)


def test_no_key_against_a_keyed_responder():
    cfg = LoadConfig("", calls=1, cps=20, duration_s=1.0, key=None)
    result, _ = asyncio.run(_with_responder(cfg))
    assert result.failures_by_cause() == {"client-error 403": 1}


def test_keyless_responder_on_loopback():
    cfg = LoadConfig("", calls=1, cps=20, duration_s=1.0, key=None)
    result, _ = asyncio.run(_with_responder(cfg, key=None))
    assert len(result.answered()) == 1 and result.calls[0].media.up.packets_lost == 0


def test_keyless_responder_refuses_other_addresses():
    with pytest.raises(ReadinessError, match="loopback only"):
        CallResponder(ResponderConfig("0.0.0.0", 0, key=None))


def test_busy_and_unavailable_are_counted_by_cause():
    async def go():
        answers = iter([Reject(486, "Busy Here"), Reject(503, "Service Unavailable"), Reject(486, "Busy Here")])

        async def decide(call):
            return next(answers)

        uas = UserAgentServer(decide, SipConfig())
        host, port = await uas.listen("udp", "127.0.0.1", 0)
        try:
            return await run_load(LoadConfig(f"sip:x@127.0.0.1:{port}", calls=3, cps=50, duration_s=1.0))
        finally:
            await uas.close()

    result = asyncio.run(go())
    assert result.failures_by_cause() == {"client-error 486": 2, "server-error 503": 1}


def test_unreachable_and_dns_failures():
    result = asyncio.run(run_load(LoadConfig("sip:test@127.0.0.1:9", calls=2, cps=50, duration_s=1.0)))
    assert result.failures_by_cause() == {"unreachable": 2}
    with pytest.raises(ReadinessError, match="cannot resolve"):
        asyncio.run(run_load(LoadConfig("sip:test@no-such-host.invalid:5060", calls=1, duration_s=1.0)))
    with pytest.raises(ReadinessError, match="bad SIP target"):
        asyncio.run(run_load(LoadConfig("sip:@:x", calls=1, duration_s=1.0)))


@pytest.mark.parametrize("codec,ptime,size", [("g722", 20, 160), ("g729", 20, 72), ("opus", 20, 80), ("pcma", 30, 240)])
def test_codecs_through_the_responder(codec, ptime, size):
    cfg = LoadConfig("", calls=1, cps=20, duration_s=1.0, key=KEY, codec=codec, ptime_ms=ptime)
    result, stats = asyncio.run(_with_responder(cfg))
    c = result.calls[0]
    assert c.answered and c.codec == codec and c.ptime_ms == ptime
    assert c.media_result.octets_sent == size * round(1000 / ptime)        # payload bytes per packet
    assert c.media.up.packets_lost == 0 and c.media.down.packets_lost == 0
    assert c.media.up.rating.estimate == (codec in ("g722", "opus"))          # no ITU-T Ie/Bpl for these


def test_ringing_gives_post_dial_delay():
    cfg = LoadConfig("", calls=2, cps=20, duration_s=1.0, key=KEY)
    result, _ = asyncio.run(_with_responder(cfg, ring_ms=150.0))
    for c in result.calls:
        assert c.outcome.post_dial_delay_ms is not None and c.outcome.post_dial_delay_ms < 100
        assert c.outcome.setup_ms >= 150
    rec = MemoryRecorder()
    records.record(rec, result)
    assert len([m for m in rec.measurements if m.metric == "call.post_dial_delay_ms"]) == 2


def test_ctrl_c_hangs_up_every_call(tmp_path):
    """SIGINT to `readiness calls` mid-call: exit 2 at once, and the responder got a BYE for every call."""
    import signal
    import subprocess
    import sys
    import threading
    import time

    key_file = tmp_path / "key"
    key_file.write_bytes(KEY)
    ready, done = threading.Event(), threading.Event()
    box: dict = {}

    def serve() -> None:
        async def main():
            async with CallResponder(ResponderConfig("127.0.0.1", 0, key=KEY)) as r:
                box["r"] = r
                ready.set()
                while not done.is_set():
                    await asyncio.sleep(0.05)
                box["ended"] = dict(r.uas.stats.ended)
                box["active"] = len(r.uas.calls)
        asyncio.run(main())

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    assert ready.wait(10)
    port = box["r"].sip_port
    p = subprocess.Popen([sys.executable, "-m", "readiness", "calls", f"sip:t@127.0.0.1:{port}", "--calls", "3",
                          "--cps", "20", "--duration", "60", "--key-file", str(key_file), "-q",
                          "--out", str(tmp_path / "runs")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while box["r"].calls_answered < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)
    t0 = time.monotonic()
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=30)
    assert time.monotonic() - t0 < 10
    time.sleep(0.3)
    done.set()
    t.join(10)
    assert p.returncode == 2 and ("interrupted" in err or "aborted" in err)
    assert box["active"] == 0 and box["ended"].get("remote-bye") == 3
