"""A technician's `kill` (SIGTERM) at any moment of a run leaves a finalised, incomplete run: the signal
only notes itself and cancels the probes, so it cannot land in the middle of writing the log. Tried
at several moments, from the first event on, with a real iperf3 run."""

from __future__ import annotations

import json
import signal
import subprocess
import time

import pytest

from .test_runs import iperf_port, start_run  # noqa: F401  (the fixture is used by name)


def _first_events(out, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = list(out.glob("*/events.jsonl"))
        if found and found[0].stat().st_size:
            return found[0]
        time.sleep(0.005)
    pytest.fail("the run wrote no events")


@pytest.mark.parametrize("delay_s", [0.0, 0.05, 0.3, 1.0, 2.5])
def test_sigterm_at_any_moment_leaves_a_finalised_run(tmp_path, iperf_port, delay_s):  # noqa: F811
    proc, out = start_run(tmp_path, iperf_port, duration="20 s")
    try:
        events = _first_events(out)
        time.sleep(delay_s)
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 2, stderr
    assert "Traceback" not in stderr
    lines = [json.loads(line) for line in events.read_text().splitlines()]
    assert lines[-1]["type"] == "run_finished" and lines[-1]["interrupted"] is True
    assert lines[-1]["reason"] == "stopped by SIGTERM"
    results = json.loads((events.parent / "results.json").read_text())
    assert results["verdict"] == "incomplete" and not results["complete"]
    assert results["interrupted_reason"] == "stopped by SIGTERM"
    left = subprocess.run(["pgrep", "-f", f"iperf3 -c 127.0.0.1 -p {iperf_port}"], capture_output=True, text=True)
    assert left.stdout.strip() == ""


def test_programs_a_command_starts_can_still_be_stopped(tmp_path):
    """While a command keeps SIGTERM away from itself, the programs it starts (iperf3, dumpcap, lab
    servers) must not inherit an ignored SIGTERM, or stopping them waits for the kill timeout."""
    from readiness.cli.run_options import conduct

    seen = {}

    def start(parent, progress):
        proc = subprocess.Popen(["sleep", "30"])
        try:
            status = open(f"/proc/{proc.pid}/status").read()
            ignored = int(next(l for l in status.splitlines() if l.startswith("SigIgn:")).split()[1], 16)
            seen["ignored"] = bool(ignored & (1 << (signal.SIGTERM - 1)))
            t0 = time.monotonic()
            proc.terminate()
            proc.wait(5)
            seen["stop_s"] = time.monotonic() - t0
        finally:
            proc.kill()
        raise SystemExit(0)     # no run folder needed: only what the child inherited matters

    with pytest.raises(SystemExit):
        conduct(start, str(tmp_path), no_keep=True, json_out=None, quiet=True)
    assert seen == {"ignored": False, "stop_s": pytest.approx(0, abs=1.0)}
