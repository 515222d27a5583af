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
