"""Live capture with the real dumpcap: `readiness capture`, the capture probe, Ctrl-C and cancellation,
real iperf3 UDP, and LLDP-MED + 802.1Q-tagged voice sent over a veth pair between namespaces.

Ground truth: what the test itself sent (counts, DSCP, tags, the LLDP-MED frame built byte by byte).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from readiness.config.site import Capture, SiteSpec
from readiness.lab.ports import free_port
from readiness.probes.base import MemoryRecorder, ProbeContext
from readiness.probes.capture.analyze import analyse
from readiness.probes.capture.live import LiveCapture
from readiness.probes.capture.pcap_writer import ethernet, ipv4_udp, rtp, write_pcap
from readiness.probes.capture.probe import CaptureProbe
from tests.conftest import REPO, need_tool
from tests.netlab import veth_pair

from . import frames as F

EF_TOS = 46 << 2


def send_rtp(port: int, packets: int, tos: int, ssrc: int, interval: float = 0.02) -> None:
    """G.711 RTP to 127.0.0.1:port from a real UDP socket with the given ToS byte."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, tos)
        start = time.monotonic()
        for i in range(packets):
            s.sendto(rtp(i, 160 * i, ssrc), ("127.0.0.1", port))
            time.sleep(max(0.0, start + (i + 1) * interval - time.monotonic()))


def wait_for(pattern: str, folder: Path, timeout: float = 15.0) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = list(folder.glob(pattern))
        if found:
            return found[0]
        time.sleep(0.05)
    raise AssertionError(f"no {pattern} in {folder} after {timeout:g} s")


def dumpcaps_writing(folder: Path) -> list[str]:
    out = subprocess.run(["pgrep", "-af", "dumpcap"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if str(folder) in line]


RUN_PCAP = "*/artefacts/capture/capture.pcapng"      # where a capture run keeps its file


def capture_while(proc: subprocess.Popen, folder: Path, send) -> tuple[str, str]:
    """Once `readiness capture` has its file open, run `send()`, then stop it with Ctrl-C (SIGINT)."""
    try:
        wait_for(RUN_PCAP, folder)
        time.sleep(0.3)
        send()
        time.sleep(1.0)                 # let the last packets reach the capture
        proc.send_signal(signal.SIGINT)
        return proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()


def readiness(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "readiness", *args], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def test_capture_command_sees_ef_and_remarked_media(tmp_path):
    need_tool("dumpcap")
    good, bad = free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_DGRAM)
    out = tmp_path / "analysis.json"
    proc = readiness("capture", "-i", "lo", "-d", "8 s", "-f", f"udp port {good} or udp port {bad}",
                     "--out", str(tmp_path / "caps"), "--json", str(out))
    try:
        wait_for(RUN_PCAP, tmp_path / "caps")
        time.sleep(0.3)
        send_rtp(good, 100, EF_TOS, 0x1111)
        send_rtp(bad, 50, 0, 0x2222)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, stderr            # the CS0 stream breaks the expected EF marking
    doc = json.loads(out.read_text())
    assert doc["schema"] == "readiness.run/1" and doc["command"] == "capture" and doc["verdict"] == "fail"
    verdicts = {c["id"]: c["verdict"] for c in doc["criteria"]}
    assert verdicts == {"captured-media-marking": "fail", "captured-signalling-marking": "not_applicable",
                        "captured-voice-priority": "not_applicable"}
    streams = {int(s["ssrc"], 16): s for s in doc["rtp_streams"]}
    assert streams[0x1111]["packets"] == 100 and streams[0x1111]["dscp"] == 46 and streams[0x1111]["lost"] == 0
    assert streams[0x2222]["packets"] == 50 and streams[0x2222]["dscp"] == 0
    for s in streams.values():
        assert set(s) >= {"src", "sport", "dst", "dport", "ssrc", "payload_type", "codec", "packets", "lost",
                          "lost_pct", "max_delta_ms", "mean_jitter_ms", "max_jitter_ms", "dscp", "vlan", "mos"}
        assert s["kind"] == "voice" and s["codec"] == "PCMU" and s["mos"] > 4
    assert doc["markings"]["media_dscp_ok_pct"] == pytest.approx(100 * 100 / 150, abs=0.01)
    assert "EF" in stdout or "0x00001111" in stdout


def test_capture_on_a_missing_interface_is_one_clear_line(tmp_path):
    need_tool("dumpcap")
    proc = readiness("capture", "-i", "nosuch0", "-d", "2 s", "--out", str(tmp_path))
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 2 and "Traceback" not in stderr + stdout
    why = 'cannot capture on nosuch0: There is no device named "nosuch0".'
    assert len([line for line in stderr.splitlines() if why in line]) == 1, stderr    # one line, said once
    (run_dir,) = tmp_path.iterdir()
    results = json.loads((run_dir / "results.json").read_text())
    assert results["verdict"] == "incomplete"
    assert why in next(c for c in results["criteria"] if c["id"] == "captured-media-marking")["explanation"]


def test_ctrl_c_stops_the_capture_and_still_analyses(tmp_path):
    need_tool("dumpcap")
    port = free_port(socket.SOCK_DGRAM)
    proc = readiness("capture", "-i", "lo", "-d", "5 min", "-f", f"udp port {port}", "--out", str(tmp_path))
    stdout, stderr = capture_while(proc, tmp_path, lambda: send_rtp(port, 30, EF_TOS, 0x3333))
    assert proc.returncode == 2, stderr              # stopped by the user: analysed, but incomplete
    assert "stopped early" in stderr and "0x00003333" in stdout and "30 packets" in stdout
    (run_dir,) = tmp_path.iterdir()
    results = json.loads((run_dir / "results.json").read_text())
    assert not results["complete"] and "Ctrl-C" in results["interrupted_reason"]
    assert next(c for c in results["criteria"] if c["id"] == "captured-media-marking")["verdict"] == "pass"
    assert dumpcaps_writing(tmp_path) == []


def _site(interface: str, bpf: str | None) -> SiteSpec:
    return SiteSpec(site="test", capture=Capture(interface=interface, filter=bpf))


def test_probe_records_markings_loss_jitter_mos_with_the_pcap_as_evidence(tmp_path):
    need_tool("dumpcap")
    port = free_port(socket.SOCK_DGRAM)
    rec = MemoryRecorder(tmp_path)

    async def scenario():
        ctx = ProbeContext(site=_site("lo", f"udp port {port}"), recorder=rec)
        task = asyncio.create_task(CaptureProbe().run(ctx))
        await asyncio.to_thread(wait_for, "capture/capture.pcapng", tmp_path)
        await asyncio.sleep(0.3)
        await asyncio.to_thread(send_rtp, port, 120, EF_TOS, 0x4444)
        ctx.traffic_done.set()
        await asyncio.wait_for(task, 60)

    asyncio.run(scenario())
    got = {m.metric: m for m in rec.measurements}
    assert got["capture.media_dscp_ok_pct"].value == 100.0
    assert got["capture.rtp_loss_pct"].value == 0.0
    assert got["capture.rtp_jitter_ms"].value < 20
    assert 4.0 < got["capture.rtp_mos"].value <= 4.5
    assert got["capture.rtp_mos"].tags["ssrc"] == "0x00004444"
    assert all(m.evidence == ["capture/capture.pcapng"] or m.evidence[0].endswith("capture.pcapng")
               for m in rec.measurements)
    assert [a.kind for a in rec.artefacts] == ["pcapng"]
    missing = {n.metric: n.reason for n in rec.missing}
    assert "LLDP" in missing["lldp.voice_vlan"] and "CDP" in missing["cdp.voice_vlan"]
    assert "tagged" in missing["capture.voice_pcp_ok_pct"]
    loss_series = [s for s in rec.series_list if s.metric == "capture.rtp_loss_pct"]
    assert loss_series and sum(w or 0 for w in loss_series[0].weights) == 120


def test_probe_cancelled_mid_capture_reaps_dumpcap(tmp_path):
    need_tool("dumpcap")
    rec = MemoryRecorder(tmp_path)

    async def scenario():
        ctx = ProbeContext(site=_site("lo", "udp port 9"), recorder=rec)
        task = asyncio.create_task(CaptureProbe().run(ctx))
        await asyncio.to_thread(wait_for, "capture/capture.pcapng", tmp_path)
        assert dumpcaps_writing(tmp_path)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    deadline = time.monotonic() + 10
    while dumpcaps_writing(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert dumpcaps_writing(tmp_path) == []


def test_real_iperf3_udp_is_not_counted_as_voice(tmp_path):
    iperf3 = need_tool("iperf3")
    need_tool("dumpcap")
    port = free_port(also_udp=True)
    server = subprocess.Popen([iperf3, "-s", "-p", str(port), "-1"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        async def capture():
            async with LiveCapture("lo", tmp_path / "iperf.pcapng", f"udp port {port}"):
                await asyncio.sleep(0.3)
                proc = await asyncio.create_subprocess_exec(
                    iperf3, "-c", "127.0.0.1", "-p", str(port), "-u", "-b", "68800", "-l", "172", "-t", "2",
                    "--dscp", "46", stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
                assert await asyncio.wait_for(proc.wait(), 30) == 0

        asyncio.run(capture())
    finally:
        server.kill()
        server.wait()
    a = analyse(tmp_path / "iperf.pcapng")
    assert a.markings["dscp"]["all"].get("EF", 0) >= 90         # iperf3's 50 packets/s, marked EF
    assert [s for s in a.streams if s.kind in ("voice", "srtp")] == []
    assert a.markings["media_packets"] == 0


@pytest.mark.netns
def test_lldp_med_and_tagged_voice_over_a_veth_pair(tmp_path):
    """A 'switch' namespace sends LLDP-MED (voice VLAN 20, priority 5, EF, civic address) and tagged
    RTP (VLAN 20; 40 frames priority 5, 10 frames priority 0) over AF_PACKET; `readiness capture`
    runs in the 'phone' namespace and must report exactly that."""
    need_tool("dumpcap")
    frames = [(1.7e9, F.voice_switch_lldp())]
    for i in range(50):
        frame = ethernet(ipv4_udp("10.78.0.1", "10.78.0.2", 30000, 30002, rtp(i, 160 * i, 0x77), dscp=46),
                         tags=[(0x8100, 5 if i < 40 else 0, 20)])
        frames.append((1.7e9 + 0.1 + i * 0.02, frame))
    to_send = write_pcap(tmp_path / "send.pcap", frames)
    out = tmp_path / "phone.json"
    with veth_pair("10.78.0") as pair:
        # `ip netns exec` execs readiness itself, so Ctrl-C (SIGINT) reaches it once everything was sent
        proc = subprocess.Popen(["ip", "netns", "exec", pair.b, sys.executable, "-m", "readiness", "capture",
                                 "-i", pair.b_if, "-d", "2 min", "--out", str(tmp_path / "caps"), "--json", str(out)],
                                cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

        def send() -> None:
            sent = pair.run(pair.a, sys.executable, "-m", "tests.capture.raw_sender", pair.a_if, str(to_send),
                            timeout=30)
            assert sent.returncode == 0, sent.stderr

        stdout, stderr = capture_while(proc, tmp_path / "caps", send)
    assert proc.returncode == 2, stderr                          # stopped with Ctrl-C: incomplete
    doc = json.loads(out.read_text())
    # 10 voice frames lost their priority
    assert next(c for c in doc["criteria"] if c["id"] == "captured-voice-priority")["verdict"] == "fail"
    (switch,) = doc["lldp"]
    voice = next(p for p in switch["med_policies"] if p["application"] == "voice")
    assert (voice["vlan"], voice["priority"], voice["dscp"], voice["tagged"]) == (20, 5, 46, True)
    assert switch["location"]["civic"]["city"] == "München" and switch["location"]["civic"]["country"] == "DE"
    (stream,) = doc["rtp_streams"]
    assert (stream["packets"], stream["vlan"], stream["dscp"]) == (50, 20, 46)
    assert doc["markings"]["voice_pcp_ok_pct"] == 80.0 and doc["markings"]["media_dscp_ok_pct"] == 100.0


@pytest.fixture(autouse=True)
def _no_leftover_dumpcap(tmp_path):
    yield
    for line in dumpcaps_writing(tmp_path):
        os.kill(int(line.split()[0]), signal.SIGKILL)
        pytest.fail(f"a dumpcap was left running: {line}")
