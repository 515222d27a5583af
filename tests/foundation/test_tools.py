"""readiness/tools.py: a missing tool is one line (and exit 2 on the command line); a run that takes
too long, or is cancelled, leaves nothing running; a long-running one is started, awaited, stopped."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from readiness import tools
from readiness.errors import ReadinessError, ToolMissing
from readiness.lab.ports import free_port, listening

from ..conftest import REPO, need_tool


def without_tools(tmp_path: Path) -> dict[str, str]:
    """The environment with a PATH that holds no program at all (python is run by its full path)."""
    empty = tmp_path / "empty-path"
    empty.mkdir(exist_ok=True)
    return {**os.environ, "PATH": str(empty)}


def readiness(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "readiness", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=120)


def test_require_gives_the_path_or_one_line(tmp_path, monkeypatch):
    assert tools.require("tshark") == need_tool("tshark")
    monkeypatch.setenv("PATH", str(tmp_path))
    for tool, package in (("tshark", "tshark"), ("dumpcap", "tshark"), ("iperf3", "iperf3"), ("snmpd", "snmpd")):
        with pytest.raises(ToolMissing) as e:
            tools.require(tool)
        assert str(e.value) == f"{tool} is not installed (Debian/Ubuntu: apt-get install {package})"
    with pytest.raises(ToolMissing, match=r"^no-such-tool is not installed \(Debian/Ubuntu: apt-get install "
                                          r"no-such-tool\)$"):
        tools.require("no-such-tool")


def test_a_missing_python_tool_names_its_package():
    tools.require_modules("snmpsim", "pysmi")
    with pytest.raises(ToolMissing) as e:
        tools.require_modules("snmpsim", "no_such_module_here")
    assert str(e.value) == "no_such_module_here is not installed (pip install no_such_module_here)"


def test_demo_without_iperf3_is_one_line_exit_2(tmp_path):
    r = readiness("demo", "--out", str(tmp_path / "runs"), env=without_tools(tmp_path), cwd=REPO)
    assert r.returncode == 2
    assert r.stderr.splitlines() == ["readiness: error: iperf3 is not installed (Debian/Ubuntu: apt-get install iperf3)"]


def test_capture_without_dumpcap_is_one_line_not_measured_exit_2(tmp_path):
    """A missing tool is one line; the run still ends with a run folder, its criteria not measured."""
    r = readiness("capture", "-i", "lo", "-d", "1 s", "--out", str(tmp_path / "caps"), "--json", str(tmp_path / "r.json"),
                  env=without_tools(tmp_path), cwd=tmp_path)
    assert r.returncode == 2
    line = "dumpcap is not installed (Debian/Ubuntu: apt-get install tshark)"
    assert "Traceback" not in r.stderr and len([l for l in r.stderr.splitlines() if line in l]) == 1, r.stderr
    doc = json.loads((tmp_path / "r.json").read_text())
    assert {c["id"]: c["verdict"] for c in doc["criteria"]} == {
        "captured-media-marking": "not_measured", "captured-signalling-marking": "not_measured",
        "captured-voice-priority": "not_measured"}
    assert all(c["explanation"] == line for c in doc["criteria"])
    assert doc["verdict"] == "incomplete" and list((tmp_path / "caps").iterdir())


def test_iperf_run_without_iperf3_records_the_one_line(tmp_path):
    site = tmp_path / "site.yaml"
    site.write_text(f"site: t\nprofile: cloud-pbx-single-site\niperf:\n  server: 127.0.0.1:{free_port()}\n"
                    f"  duration: 1 s\n")
    r = readiness("run", "--site", str(site), "--out", str(tmp_path / "runs"), "--quiet",
                  env=without_tools(tmp_path), cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    (events,) = (tmp_path / "runs").glob("*/events.jsonl")
    text = events.read_text()
    assert '"reason":"iperf3 is not installed (Debian/Ubuntu: apt-get install iperf3)"' in text


def _group_gone(pgid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_run_to_completion():
    done = asyncio.run(tools.run([need_tool("sh"), "-c", "echo out; echo err >&2; exit 3"], timeout=10))
    assert (done.returncode, done.stdout, done.stderr) == (3, "out\n", "err\n")
    with pytest.raises(tools.ToolFailed, match=r"^sh exited with 3: err$"):
        done.check()
    same = tools.run_sync([need_tool("sh"), "-c", "echo out; echo err >&2; exit 3"], timeout=10)
    assert (same.returncode, same.stdout, same.stderr) == (3, "out\n", "err\n")
    assert tools.run_sync([need_tool("true")], timeout=10).check().returncode == 0


def test_a_run_past_its_timeout_is_killed_with_its_children(tmp_path):
    pidfile = tmp_path / "pid"
    argv = [need_tool("sh"), "-c", f"sleep 60 & echo $$ > {pidfile}; wait"]
    with pytest.raises(tools.ToolTimeout, match=r"^sh did not finish within 0.5 s$") as e:
        asyncio.run(tools.run(argv, timeout=0.5))
    assert isinstance(e.value, ReadinessError)
    assert _group_gone(int(pidfile.read_text()))             # the shell led its own group: sleep went too
    pidfile.unlink()
    with pytest.raises(tools.ToolTimeout):
        tools.run_sync(argv, timeout=0.5)
    assert _group_gone(int(pidfile.read_text()))


def test_a_cancelled_run_leaves_nothing_running(tmp_path):
    pidfile = tmp_path / "pid"

    async def cancel_it() -> None:
        task = asyncio.ensure_future(tools.run([need_tool("sh"), "-c", f"sleep 60 & echo $$ > {pidfile}; wait"], 60))
        while not pidfile.exists() or not pidfile.read_text().strip():
            await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancel_it())
    assert _group_gone(int(pidfile.read_text()))


def test_a_server_is_started_awaited_and_stopped(tmp_path):
    port = free_port()
    log = tmp_path / "server.log"
    argv = [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)]
    with tools.running(argv, f"http server on port {port}", lambda: listening(port), log, timeout=20) as proc:
        assert listening(port) and proc.poll() is None
    assert proc.poll() is not None and not listening(port)


def test_a_server_that_exits_first_says_why(tmp_path):
    log = tmp_path / "server.log"
    argv = [need_tool("sh"), "-c", "echo first; echo cannot bind >&2; exit 1"]
    with pytest.raises(ReadinessError, match=r"^test server exited: cannot bind$"):
        with tools.running(argv, "test server", lambda: False, log, timeout=20):
            pass


def test_a_server_that_ignores_sigterm_is_killed(tmp_path):
    proc = tools.start([need_tool("sh"), "-c", "trap '' TERM; while :; do sleep 0.1; done"], tmp_path / "log")
    time.sleep(0.3)                                  # the trap is set
    started = time.monotonic()
    tools.stop([proc], wait_s=0.5)
    assert proc.returncode == -9 and time.monotonic() - started < 5


def test_start_async_and_stop_async():
    async def go() -> tuple[int | None, str]:
        proc = await tools.start_async([need_tool("sh"), "-c", "echo ready >&2; exec sleep 60"])
        assert proc.stderr is not None
        line = (await asyncio.wait_for(proc.stderr.readline(), 10)).decode().strip()
        await tools.stop_async(proc, grace=2.0)
        return proc.returncode, line

    returncode, line = asyncio.run(go())
    assert line == "ready" and returncode == -15
