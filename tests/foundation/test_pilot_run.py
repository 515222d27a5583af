"""`readiness run --repeat` as a pilot runs it: real calls against a responder on loopback, one run
folder per repetition in one pilot folder, started on their slots, then the pilot's summary with the
profile's own rule; Ctrl-C while waiting ends the schedule and keeps what ran."""

from __future__ import annotations

import datetime as dt
import json
import signal
import subprocess
import sys
import time

from readiness.lab.responder_server import responder_process

PROFILE = """name: pilot-calls
title: Pilot calls
extends: voice-baseline
omit: [voice-udp-loss, voice-udp-jitter, voice-under-load-loss, voice-under-load-jitter]
pilot: {min_pass_rate: 90 %, max_consecutive_failures: 1}
"""


def _site(tmp_path, port, key) -> tuple[str, str]:
    (tmp_path / "pilot-calls.yaml").write_text(PROFILE)
    site = tmp_path / "site.yaml"
    site.write_text(f"site: Pilot-Labor\nresponder: {{address: '127.0.0.1:{port}', key: 'file:{key}'}}\n"
                    "calls: {concurrent: 2, duration: 1 s}\n"
                    "path_checks: {nat_binding: false, mtu: false, options_count: 0}\n")
    return str(site), str(tmp_path / "pilot-calls.yaml")


def test_repeat_makes_a_run_per_slot_and_summarises(tmp_path):
    with responder_process(tmp_path) as (port, key):
        site, profile = _site(tmp_path, port, key)
        p = subprocess.run([sys.executable, "-m", "readiness", "run", "--site", site, "--profile", profile,
                            "--repeat", "6s", "--count", "3", "--out", str(tmp_path / "out"), "--json",
                            str(tmp_path / "pilot.json"), "-q"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    (folder,) = (tmp_path / "out").iterdir()
    runs = sorted(d for d in folder.iterdir() if d.is_dir())
    assert len(runs) == 3 and {"pilot.html", "pilot.md", "pilot.json"} <= {f.name for f in folder.iterdir()}
    doc = json.loads((tmp_path / "pilot.json").read_text())
    assert doc["runs"] == 3 and doc["verdict"] == "pass" and doc["rule"] == {"min_pass_rate": 90.0,
                                                                              "max_consecutive_failures": 1}
    starts = [dt.datetime.fromisoformat(w["started"].replace("Z", "+00:00")).timestamp() for w in doc["windows"]]
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    # on the 6 s grid (a run that overran its slot starts at the next one); start times are whole seconds
    assert all(g >= 5 and min(g % 6, 6 - g % 6) <= 1.0 for g in gaps), gaps


def test_ctrl_c_while_waiting_keeps_what_ran(tmp_path):
    with responder_process(tmp_path) as (port, key):
        site, profile = _site(tmp_path, port, key)
        proc = subprocess.Popen([sys.executable, "-m", "readiness", "run", "--site", site, "--profile", profile,
                                 "--repeat", "30s", "--count", "5", "--out", str(tmp_path / "out"), "-q"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            folders = list((tmp_path / "out").glob("pilot-*/*/results.json"))
            if folders:
                break
            time.sleep(0.2)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    (folder,) = (tmp_path / "out").iterdir()
    doc = json.loads((folder / "pilot.json").read_text())
    assert doc["runs"] == 1 and doc["windows"][0]["complete"] and proc.returncode == 0, err
