"""`readiness analyze FILE` as a user runs it: a run of the capture probe alone, with the one exit rule
(0 passed, 1 a criterion failed, 2 could not run or incomplete), the run document on --json, and a run
folder that `readiness report` renders again."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from readiness.probes.capture.pcap_writer import ethernet, ipv4_udp, rtp, write_pcap

from ..conftest import REPO


def analyze(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "readiness", "analyze", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=120)


def voice_capture(path: Path, dscp: int) -> Path:
    """One G.711 stream of 100 packets, 20 ms apart, marked `dscp`; no SIP, untagged."""
    frames = [(1.7e9 + i * 0.02, ethernet(ipv4_udp("10.0.0.1", "10.0.0.2", 40000, 40002,
                                                    rtp(i, 160 * i, 0x5151), dscp=dscp)))
              for i in range(100)]
    return write_pcap(path, frames)


def test_ef_voice_passes_exit_0_and_report_renders_the_run(tmp_path):
    pcap = voice_capture(tmp_path / "ef.pcap", 46)
    p = analyze(str(pcap), "--out", str(tmp_path / "runs"), "--json", "-")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["schema"] == "readiness.run/1" and doc["command"] == "analyze" and doc["verdict"] == "pass"
    verdicts = {c["id"]: c["verdict"] for c in doc["criteria"]}
    # nothing of SIP or 802.1Q in the file: those criteria do not apply, the run is still complete
    assert verdicts == {"captured-media-marking": "pass", "captured-signalling-marking": "not_applicable",
                        "captured-voice-priority": "not_applicable"}
    (stream,) = doc["rtp_streams"]
    assert stream["packets"] == 100 and stream["dscp"] == 46 and stream["lost"] == 0
    assert doc["capture"]["packets"] == 100 and doc["sip_calls"] == []
    (run_dir,) = (tmp_path / "runs").iterdir()
    again = subprocess.run([sys.executable, "-m", "readiness", "report", str(run_dir)], cwd=REPO,
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and "0x00005151" in again.stdout and "Verdict: PASS" in again.stdout
    assert (run_dir / "report.html").is_file() and json.loads((run_dir / "results.json").read_text())["verdict"] == "pass"


def test_remarked_voice_fails_exit_1(tmp_path):
    pcap = voice_capture(tmp_path / "cs0.pcap", 0)
    p = analyze(str(pcap), "--no-keep")
    assert p.returncode == 1, p.stderr
    assert "captured-media-marking" in p.stdout and "Verdict: FAIL" in p.stdout
    assert "100 packets not EF" in p.stdout


def test_corpus_capture_with_cs0_sip_and_media_fails(corpus, tmp_path):
    p = analyze(str(corpus / "pcaps" / "calls" / "ndpi_sip.pcap"), "--no-keep", "--json", "-")
    assert p.returncode == 1, p.stderr
    verdicts = {c["id"]: c["verdict"] for c in json.loads(p.stdout)["criteria"]}
    assert verdicts["captured-media-marking"] == "fail" and verdicts["captured-signalling-marking"] == "fail"


@pytest.mark.parametrize("content", [b"", b"this is not a capture file\n" * 10])
def test_a_file_that_is_not_a_capture_is_incomplete_exit_2(tmp_path, content):
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(content)
    p = analyze(str(bad), "--out", str(tmp_path / "runs"))
    assert p.returncode == 2 and "Traceback" not in p.stderr + p.stdout
    (run_dir,) = (tmp_path / "runs").iterdir()
    results = json.loads((run_dir / "results.json").read_text())
    media = next(c for c in results["criteria"] if c["id"] == "captured-media-marking")
    assert results["verdict"] == "incomplete" and media["verdict"] == "not_measured" and "bad.pcap" in media["explanation"]


def test_a_missing_file_is_one_line_and_no_run(tmp_path):
    p = analyze(str(tmp_path / "nothing.pcap"), "--out", str(tmp_path / "runs"))
    assert p.returncode == 2 and "does not exist" in p.stderr and "Traceback" not in p.stderr
    assert not (tmp_path / "runs").exists()
