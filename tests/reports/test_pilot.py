"""`readiness pilot` over a pilot folder: stored runs spread over three days (passes, failed runs, an
interrupted one, a folder that is no run), and real runs of `readiness calls` against a responder. Pass
rates, availability, the longest run of failures against the profile's rule, incomplete runs apart."""

from __future__ import annotations

import json
import subprocess
import sys

from readiness.lab.responder_server import responder_process
from tests.reports import fixture_runs

DAY, HOUR = 86400.0, 3600.0


def _pilot(*args: str) -> tuple[int, dict, str]:
    p = subprocess.run([sys.executable, "-m", "readiness", "pilot", *args, "--json", "-"], capture_output=True,
                       text=True, timeout=120)
    return p.returncode, json.loads(p.stdout) if p.stdout.strip() else {}, p.stderr


def test_a_pilot_over_three_days(tmp_path):
    folder = tmp_path / "pilot"
    plan = [("pass", 0), ("pass", HOUR), ("mixed", 2 * HOUR), ("pass", DAY), ("interrupted", DAY + HOUR),
            ("pass", 2 * DAY), ("mixed", 2 * DAY + HOUR), ("mixed", 2 * DAY + 2 * HOUR)]
    for i, (kind, offset) in enumerate(plan):
        fixture_runs.write(folder / f"run-{i}", kind, start=fixture_runs.T0 + offset, run_id=f"w{i}")
    (folder / "notes").mkdir()                       # not a run: skipped, said so
    status, doc, err = _pilot(str(folder))
    assert doc["runs"] == 8 and doc["incomplete_runs"] == 1
    # 7 complete windows, 4 with every must-criterion met; the last two failed in a row
    assert doc["availability_pct"] == 100 * 4 / 7 and doc["max_consecutive_failures"] == 2
    assert doc["verdict"] == "fail" and status == 1, err
    loss = next(c for c in doc["criteria"] if c["id"] == "rtp-loss")
    assert (loss["windows"], loss["failed_windows"]) == (7, 3) and loss["pass_rate"] == 100 * 4 / 7
    assert loss["worst"]["verdict"] == "fail" and loss["worst"]["value"] == 2.4
    assert [d["date"] for d in doc["days"]] == ["2026-12-01", "2026-12-02", "2026-12-03"]
    assert [(d["windows"], d["available"], d["incomplete"]) for d in doc["days"]] == [(3, 2, 0), (2, 1, 1), (3, 1, 0)]
    assert any("not runs were skipped" in n for n in doc["notes"])
    assert (folder / "pilot.html").exists() and (folder / "pilot.md").read_text(encoding="utf-8").startswith(
        "# Pilotphase nicht bestanden")


def test_real_runs_pass_and_an_empty_folder_cannot_be_judged(tmp_path):
    folder = tmp_path / "pilot"
    with responder_process(tmp_path) as (port, key):
        for _ in range(3):
            p = subprocess.run([sys.executable, "-m", "readiness", "calls", f"sip:test@127.0.0.1:{port}", "--calls", "2",
                                "--duration", "1", "--key-file", str(key), "--out", str(folder), "-q"],
                               capture_output=True, text=True, timeout=90)
            assert p.returncode == 0, p.stderr
    status, doc, err = _pilot(str(folder), "--format", "md")
    assert doc["runs"] == 3 and doc["availability_pct"] == 100 and doc["verdict"] == "pass" and status == 0, err
    empty = tmp_path / "empty"
    empty.mkdir()
    status, doc, err = _pilot(str(empty))
    assert status == 2 and "no runs to summarise" in err
