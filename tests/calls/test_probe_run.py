"""The calls probe inside `readiness run`: a site file with `responder:` and `calls:`, a profile that
judges calls (windowed loss per 200 ms and 15 s, path-selected like the Teams profile), and what a
run records when the far end refuses the calls."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from readiness.lab.responder_server import responder_process, write_key

PROFILE = """\
name: calls-only
title: calls only (test)
criteria:
  - {id: answered, metric: call.answered_pct, op: ">=", threshold: 100 %, severity: must, source: test}
  - {id: mos, metric: call.mos, op: ">=", threshold: 4.0 MOS, severity: must, source: test}
  - {id: loss-200ms, metric: rtp.loss_pct, op: "<", threshold: 10 %, window: 200 ms, select: {path: lab-path}, severity: must, source: test}
  - {id: loss-15s, metric: rtp.loss_pct, op: "<", threshold: 1 %, window: 15 s, select: {path: lab-path}, severity: must, source: test}
  - {id: jitter, metric: rtp.jitter_ms, op: "<", threshold: 30 ms, window: 15 s, select: {path: lab-path}, severity: must, source: test}
  - {id: rtt, metric: rtp.rtt_ms, op: "<", threshold: 100 ms, select: {path: lab-path}, severity: must, source: test}
  - {id: one-way, metric: rtp.one_way_delay_ms, op: "<", threshold: 50 ms, select: {path: lab-path}, severity: must, source: test}
  - {id: marking, metric: rtp.dscp_received, op: "==", threshold: EF, severity: must, source: test}
  - {id: setup, metric: call.setup_ms, op: "<", threshold: 2000 ms, severity: must, source: test}
"""

SITE = """\
site: probe test
markings: {{media: EF, signalling: [CS3]}}
responder:
  address: 127.0.0.1:{port}
  key: {{file: {key}}}
calls:
  concurrent: 3
  cps: 10
  duration: 3 s
  path: lab-path
"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    work = tmp_path_factory.mktemp("lab")
    with responder_process(work) as (port, key):
        yield work, port, key


def _run(tmp: Path, port: int, key: Path) -> tuple[subprocess.CompletedProcess, dict, Path]:
    (tmp / "profile.yaml").write_text(PROFILE)
    (tmp / "site.yaml").write_text(SITE.format(port=port, key=key))
    p = subprocess.run([sys.executable, "-m", "readiness", "run", "--site", str(tmp / "site.yaml"), "--profile",
                        str(tmp / "profile.yaml"), "--out", str(tmp / "runs"), "--json"],
                       capture_output=True, text=True, timeout=180)
    run_dir = next((tmp / "runs").iterdir())
    return p, json.loads(p.stdout), run_dir


def test_run_judges_calls(lab, tmp_path):
    _, port, key = lab
    p, results, run_dir = _run(tmp_path, port, key)
    verdicts = {c["id"]: c for c in results["criteria"]}
    assert all(v["verdict"] == "pass" for v in verdicts.values()), verdicts
    assert p.returncode == 0
    assert verdicts["loss-200ms"]["window"] and verdicts["marking"]["subjects"] == 6
    events = (run_dir / "events.jsonl").read_text()
    assert key.read_text().strip() not in events                     # the key never reaches the log
    traces = list((run_dir / "artefacts" / "calls" / "traces").glob("*.trace"))
    assert len(traces) == 3


def test_refused_calls_fail_and_media_is_never_a_pass(lab, tmp_path):
    _, port, _ = lab
    wrong = write_key(tmp_path / "wrong.key")
    p, results, _ = _run(tmp_path, port, wrong)
    verdicts = {c["id"]: c for c in results["criteria"]}
    assert p.returncode == 1 and results["verdict"] == "fail"
    assert verdicts["answered"]["verdict"] == "fail" and verdicts["answered"]["measured"] == 0
    for cid in ("mos", "loss-15s", "jitter", "rtt", "marking", "setup"):
        assert verdicts[cid]["verdict"] == "not_measured", (cid, verdicts[cid])
        assert "403" in verdicts[cid]["explanation"]
