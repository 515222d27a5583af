"""Interoperability with a SIP peer nobody here wrote: baresip auto-answers our calls (environment.md).

We check what we receive from it (PCMU, 50 packets/s, marked EF), that its RTCP sender reports every
~5 s parse and carry a report block about our stream, and that the call is scored from them:
down from its RTP, up from its receiver reports, the round trip from LSR/DLSR (RFC 3550 6.4.1).
"""

from __future__ import annotations

import asyncio
import math
import subprocess
import time
import wave
from pathlib import Path

import pytest

from readiness.lab.ports import free_port
from readiness.probes.calls.load import LoadConfig, run_load
from readiness.probes.calls.records import to_json
from tests.conftest import need_tool

DURATION_S = 12.0          # long enough for two of baresip's 5 s RTCP intervals


def _tone(path: Path, seconds: float = 30.0) -> None:
    """An 8 kHz mono 16-bit WAV (baresip's aufile source; its ausine only does 48 kHz)."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"".join(int(8000 * math.sin(2 * math.pi * 440 * i / 8000)).to_bytes(2, "little", signed=True)
                               for i in range(int(8000 * seconds))))


@pytest.fixture
def baresip(tmp_path):
    need_tool("baresip")
    port = free_port(also_udp=True)
    while not _free(port + 1):                    # baresip binds TLS on SIP port + 1
        port = free_port(also_udp=True)
    conf = tmp_path / "baresip"
    conf.mkdir()
    _tone(tmp_path / "tone.wav")
    (conf / "accounts").write_text(f"<sip:echo@127.0.0.1:{port}>;regint=0;answermode=auto;audio_codecs=PCMU\n")
    (conf / "config").write_text(
        "poll_method epoll\n"
        f"sip_listen 127.0.0.1:{port}\n"
        "audio_player aufile,/dev/null\n"
        f"audio_source aufile,{tmp_path / 'tone.wav'}\n"
        "audio_alert aufile,/dev/null\n"
        "module_path /usr/lib/baresip/modules\n"
        "module g711.so\nmodule aufile.so\nmodule account.so\nmodule menu.so\n"
        "rtp_tos 184\n")
    log = open(tmp_path / "baresip.log", "w")
    proc = subprocess.Popen(["baresip", "-f", str(conf)], stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait_udp(port, proc, tmp_path / "baresip.log")
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _free(port: int) -> bool:
    import socket

    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def _wait_udp(port: int, proc: subprocess.Popen, log: Path, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    needle = f"0100007F:{port:04X}"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"baresip exited: {log.read_text()[-2000:]}")
        if needle in Path("/proc/net/udp").read_text():
            time.sleep(0.3)
            return
        time.sleep(0.1)
    raise AssertionError("baresip did not open its SIP port")


def test_call_answered_by_baresip(baresip):
    cfg = LoadConfig(f"sip:echo@127.0.0.1:{baresip}", calls=1, cps=5, duration_s=DURATION_S, codec="pcmu")
    result = asyncio.run(run_load(cfg))
    call = result.calls[0]
    assert call.answered and call.outcome.status == 200 and not call.reflected
    res = call.media_result
    m = call.media
    # what baresip sent us: PCMU, 50 packets/s, EF
    down = m.down
    assert down is not None and down.source == "rtp"
    assert abs(down.packets_received - 50 * DURATION_S) <= 0.1 * 50 * DURATION_S
    assert down.dscp_received == 46 and down.dscp_remarked_pct == 0.0
    assert down.loss_pct == 0.0 and down.jitter_ms < 5.0
    # its RTCP: sender reports, with a block about our stream
    srs = [r for r in res.peer_reports if r.report.sender is not None]
    assert len(srs) >= 2
    about_us = [b for r in res.peer_reports for b in r.report.blocks if b.ssrc == res.ssrc]
    assert about_us and about_us[-1].cumulative_lost == 0 and about_us[-1].highest_seq > 0
    assert res.malformed == 0, res.malformed_sample
    # up from its receiver reports, RTT from LSR/DLSR
    assert m.up is not None and m.up.source == "rtcp" and m.up.loss_pct == 0.0
    assert m.rtt_p50_ms is not None and 0 <= m.rtt_p50_ms < 50
    doc = to_json(result)["calls"][0]
    assert doc["far_end"] == "rtp-peer" and doc["dscp_received_down"] == 46 and doc["dscp_received_up"] is None
    assert doc["mos_down"] > 4.0
