"""Stored runs: events are flushed as they arrive; a killed run is finalised as incomplete by
`readiness report`; Ctrl-C and SIGTERM finalise the run themselves. Real processes, real iperf3."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from readiness.lab.iperf_server import iperf3_server

from ..conftest import REPO, need_tool

SITE = """site: Test site
profile: cloud-pbx-single-site
iperf:
  server: 127.0.0.1:{port}
  duration: {duration}
  voice_streams: 2
  capacity: false
"""


def readiness(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "readiness", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120)


def start_run(tmp: Path, port: int, duration: str = "20 s") -> tuple[subprocess.Popen, Path]:
    site = tmp / "site.yaml"
    site.write_text(SITE.format(port=port, duration=duration))
    out = tmp / "runs"
    proc = subprocess.Popen([sys.executable, "-m", "readiness", "run", "--site", str(site), "--out", str(out),
                             "--quiet"], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return proc, out


def wait_for_event(out: Path, kind: str, timeout: float = 30.0) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for events in out.glob("*/events.jsonl"):
            if any(json.loads(line)["type"] == kind for line in events.read_text().splitlines() if line.strip()):
                return events.parent
        time.sleep(0.1)
    pytest.fail(f"no {kind} event within {timeout} s")


@pytest.fixture
def iperf_port(tmp_path):
    need_tool("iperf3")
    with iperf3_server(tmp_path) as port:
        yield port


def test_killed_run_is_finalised_as_incomplete_by_report(tmp_path, iperf_port):
    proc, out = start_run(tmp_path, iperf_port, duration="20 s")
    try:
        run_dir = wait_for_event(out, "probe_started")
        time.sleep(0.5)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not (run_dir / "results.json").exists()
    r = readiness("report", str(run_dir), "--json", cwd=REPO)
    assert r.returncode == 2, r.stderr
    results = json.loads(r.stdout)
    assert results["schema"] == "readiness.run/1"
    assert results["verdict"] == "incomplete" and results["complete"] is False
    assert "killed or crashed" in results["interrupted_reason"]
    on_disk = json.loads((run_dir / "results.json").read_text())
    assert on_disk["verdict"] == "incomplete"
    page = (run_dir / "report.html").read_text()
    assert page.count('id="incomplete"') == 1 and "killed or crashed" in page
    # what was not measured says why
    calls = next(c for c in results["criteria"] if c["metric"] == "call.mos")
    assert calls["verdict"] == "not_measured" and calls["explanation"]


def test_killed_after_a_measurement_keeps_it(tmp_path, iperf_port):
    proc, out = start_run(tmp_path, iperf_port, duration="2 s")
    try:
        run_dir = wait_for_event(out, "measurement", timeout=40)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    r = readiness("report", str(run_dir), "--json", cwd=REPO)
    results = json.loads(r.stdout)
    assert results["verdict"] == "incomplete"
    assert any(m["metric"].startswith("iperf.") for m in results["measurements"])
    loss = next(c for c in results["criteria"] if c["id"] == "voice-udp-loss")
    assert loss["verdict"] in ("pass", "not_measured")  # up measured; down perhaps not yet


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_run_finalises_itself(tmp_path, iperf_port, sig):
    proc, out = start_run(tmp_path, iperf_port, duration="20 s")
    try:
        run_dir = wait_for_event(out, "probe_started")
        time.sleep(0.5)
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 2, stderr
    results = json.loads((run_dir / "results.json").read_text())
    assert results["verdict"] == "incomplete" and not results["complete"]
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    assert events[-1]["type"] == "run_finished" and events[-1]["interrupted"] is True
    # no iperf3 client left behind
    left = subprocess.run(["pgrep", "-f", f"iperf3 -c 127.0.0.1 -p {iperf_port}"], capture_output=True, text=True)
    assert left.stdout.strip() == ""


def test_complete_run_against_real_iperf3(tmp_path, iperf_port):
    site = tmp_path / "site.yaml"
    site.write_text(SITE.format(port=iperf_port, duration="1 s"))
    r = readiness("run", "--site", str(site), "--out", str(tmp_path / "runs"), "--json", "--only", "iperf", cwd=REPO)
    results = json.loads(r.stdout)
    # calls/snmp/capture are not configured: incomplete, exit 2, each with its reason
    assert r.returncode == 2 and results["verdict"] == "incomplete" and results["complete"]
    by_id = {c["id"]: c for c in results["criteria"]}
    assert by_id["voice-udp-loss"]["verdict"] == "pass"
    assert by_id["voice-udp-jitter"]["verdict"] == "pass"
    assert by_id["voice-under-load-loss"]["verdict"] == "not_measured"
    assert by_id["poe-headroom"]["verdict"] == "not_measured"
    run_dir = next((tmp_path / "runs").iterdir())
    assert (run_dir / "inputs" / "site.yaml").is_file()
    assert (run_dir / "inputs" / "cloud-pbx-single-site.yaml").is_file()
    artefacts = [a["path"] for a in results["artefacts"]]
    assert "artefacts/iperf/voice-up.json" in artefacts
    assert by_id["voice-udp-loss"]["evidence"]
    # report rebuilds the same verdicts from events.jsonl alone
    again = json.loads(readiness("report", str(run_dir), "--json", cwd=REPO).stdout)
    assert [c["verdict"] for c in again["criteria"]] == [c["verdict"] for c in results["criteria"]]


def test_torn_last_line_is_skipped(tmp_path, iperf_port):
    site = tmp_path / "site.yaml"
    site.write_text(SITE.format(port=iperf_port, duration="1 s"))
    readiness("run", "--site", str(site), "--out", str(tmp_path / "runs"), "--quiet", "--only", "iperf", cwd=REPO)
    run_dir = next((tmp_path / "runs").iterdir())
    with open(run_dir / "events.jsonl", "a") as fh:
        fh.write('{"seq": 999, "type": "measurem')
    results = json.loads(readiness("report", str(run_dir), "--json", cwd=REPO).stdout)
    assert results["damaged_lines"] == 1


def test_report_on_a_folder_that_is_not_a_run(tmp_path):
    r = readiness("report", str(tmp_path), cwd=REPO)
    assert r.returncode == 2
    assert r.stderr.strip().startswith("readiness: error:") and "not a run folder" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
