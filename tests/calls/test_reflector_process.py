"""The responder's media is answered by a process of its own (farend/reflector_process.py): SIP and its
garbage collection never hold a reply back. When that process is gone, nothing would answer media:
the responder then refuses calls (503) and says why, rather than answering calls that would show
100 % loss the network did not cause."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from readiness.lab.responder_server import responder_running

CLI = [sys.executable, "-m", "readiness"]


def _reflector_of(parent: int) -> int:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for kid in Path(f"/proc/{parent}/task/{parent}/children").read_text().split():
            if b"reflector_process" in Path(f"/proc/{kid}/cmdline").read_bytes():
                return int(kid)
        time.sleep(0.05)
    raise AssertionError("the responder started no reflector process")


def _call(port: int, key: Path, out: Path) -> dict:
    r = subprocess.run(CLI + ["calls", f"sip:test@127.0.0.1:{port}", "--calls", "1", "--duration", "2",
                              "--key-file", str(key), "--json", str(out), "-q", "--no-keep"],
                       capture_output=True, text=True, timeout=90)
    assert r.returncode in (0, 1, 2), r.stderr
    return json.loads(out.read_text())["calls"][0]


def test_media_is_answered_by_a_child_process_and_its_death_refuses_calls(tmp_path):
    with responder_running(tmp_path) as (responder, port, key):
        reflector = _reflector_of(responder.pid)
        # the key reaches the child on its standard input, never in its arguments
        assert key.read_bytes().strip() not in Path(f"/proc/{reflector}/cmdline").read_bytes()
        first = _call(port, key, tmp_path / "first.json")
        assert first["answered"] and first["packets_lost_up"] == 0 and first["packets_lost_down"] == 0
        os.kill(reflector, signal.SIGKILL)
        time.sleep(0.5)
        second = _call(port, key, tmp_path / "second.json")
        assert not second["answered"] and second["sip_status"] == 503, second
        log = next(tmp_path.glob("responder-*.log")).read_text()
    assert "the media reflector process ended" in log
