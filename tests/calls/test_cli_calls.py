"""`readiness calls` and `readiness responder` as a technician runs them: two processes, a key file,
JSON out, exit status, and one clear line for what a user can get wrong."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from readiness.lab.responder_server import responder_process, write_key

CLI = [sys.executable, "-m", "readiness"]


def _run(*args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    """The command as a user runs it; `calls` keeps no run folder here unless --out is given."""
    extra = ["--no-keep"] if args[:1] == ("calls",) and "--out" not in args and "--help" not in args else []
    return subprocess.run(CLI + list(args) + extra, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def responder(tmp_path_factory):
    work = tmp_path_factory.mktemp("responder")
    with responder_process(work) as (port, key):
        yield port, key


def test_calls_json_and_exit_0(responder, tmp_path):
    port, key = responder
    out = tmp_path / "calls.json"
    p = _run("calls", f"sip:test@127.0.0.1:{port}", "--calls", "3", "--cps", "10", "--duration", "2",
             "--key-file", str(key), "--json", str(out), "-q")
    assert p.returncode == 0, p.stderr
    doc = json.loads(out.read_text())
    assert [c["answered"] for c in doc["calls"]] == [True] * 3
    for name in ("call_id", "answered", "sip_status", "setup_ms", "mos", "r_factor", "packets_sent_up",
                 "packets_lost_up", "packets_sent_down", "packets_lost_down", "loss_pct_up", "loss_pct_down",
                 "jitter_ms_up", "jitter_ms_down", "rtt_ms_p50", "rtt_ms_p95", "dscp_sent", "dscp_received_up",
                 "dscp_received_down"):
        assert name in doc["calls"][0]
    for name in ("calls_attempted", "calls_answered", "mos_min", "mos_p05", "mos_median"):
        assert name in doc["summary"]
    assert doc["schema"] == "readiness.run/1" and doc["command"] == "calls" and doc["verdict"] == "pass"
    assert {c["id"]: c["verdict"] for c in doc["criteria"]}["calls-answered"] == "pass"


def test_calls_leave_a_run_folder_that_report_renders(responder, tmp_path):
    port, key = responder
    p = _run("calls", f"sip:test@127.0.0.1:{port}", "--calls", "2", "--duration", "1", "--key", f"file:{key}",
             "--out", str(tmp_path), "-q")
    assert p.returncode == 0, p.stderr
    (run_dir,) = tmp_path.iterdir()
    assert {"events.jsonl", "results.json"} <= {f.name for f in run_dir.iterdir()}
    assert not (run_dir / "report.html").exists()          # a one-probe command leaves the protocol to report
    assert len(list((run_dir / "artefacts" / "calls" / "traces").glob("*"))) == 2     # a trace per call
    r = _run("report", str(run_dir))
    assert r.returncode == 0, r.stderr
    assert "2/2 answered" in r.stdout and "calls-answered" in r.stdout     # the calls table and the criteria
    assert (run_dir / "report.html").is_file()


def test_calls_table_on_stdout(responder):
    port, key = responder
    p = _run("calls", f"sip:test@127.0.0.1:{port}", "--calls", "2", "--duration", "1", "--key-file", str(key))
    assert p.returncode == 0, p.stderr
    assert "2/2 answered" in p.stdout and "Verdict: PASS" in p.stdout and "EF/EF" in p.stdout


def test_wrong_key_exit_1(responder, tmp_path):
    port, _ = responder
    other = write_key(tmp_path / "other.key")
    p = _run("calls", f"sip:test@127.0.0.1:{port}", "--calls", "1", "--duration", "1", "--key-file", str(other),
             "--json", "-")
    assert p.returncode == 1
    doc = json.loads(p.stdout)
    assert doc["summary"]["failures_by_cause"] == {"client-error 403": 1}
    assert "wrong key" in doc["calls"][0]["detail"] or doc["calls"][0]["sip_status"] == 403


def test_key_never_on_the_command_line_or_in_output(responder, tmp_path):
    port, key = responder
    secret = key.read_text().strip()
    p = _run("calls", f"sip:test@127.0.0.1:{port}", "--calls", "1", "--duration", "1", "--key-file", str(key),
             "--json", "-")
    assert secret not in p.stdout and secret not in p.stderr
    assert oct(os.stat(key).st_mode & 0o777) == "0o600"


def test_usage_errors_exit_2(tmp_path):
    p = _run("responder", "--listen", "0.0.0.0:5999")
    assert p.returncode == 2 and "loopback only" in p.stderr and p.stderr.count("\n") == 1
    p = _run("calls", "sip:test@no-such-host.invalid", "--calls", "1", "--duration", "1")
    assert p.returncode == 2 and "cannot resolve no-such-host.invalid" in p.stdout      # not measured: why
    p = _run("calls", "sip:test@127.0.0.1:5060", "--key-file", str(tmp_path / "missing.key"))
    assert p.returncode == 2 and "cannot read secret file" in p.stderr and p.stderr.count("\n") == 1
    p = _run("calls", "sip:test@127.0.0.1:5060", "--key", "s3cret-value")
    assert p.returncode == 2 and "never the secret itself" in p.stderr and "s3cret-value" not in p.stderr
    p = _run("calls", "sip:test@127.0.0.1:5060", "--calls", "0")
    assert p.returncode == 2 and "--calls" in p.stderr


def test_responder_port_in_use(tmp_path):
    key = write_key(tmp_path / "k")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        p = _run("responder", "--listen", f"127.0.0.1:{port}", "--key-file", str(key), timeout=30)
    assert p.returncode == 2 and "in use" in p.stderr


def test_help_explains():
    for cmd in ("calls", "responder"):
        p = _run(cmd, "--help")
        assert p.returncode == 0 and "--key-file" in p.stdout and "env:VARIABLE or file:PATH" in p.stdout


def test_find_capacity_stops_at_max_calls(responder):
    port, key = responder
    p = _run("calls", f"sip:test@127.0.0.1:{port}", "--find-capacity", "--max-calls", "6", "--calls", "3",
             "--duration", "1", "--cps", "20", "--key-file", str(key), "--json", "-")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    cap = doc["capacity"]
    assert cap["capacity_calls"] == 6 and cap["limited_by_max"] is True
    assert [s["calls"] for s in cap["steps"]] == [3, 6] and all(s["passed"] for s in cap["steps"])
    assert [(c["id"], c["verdict"], c["measured"]) for c in doc["criteria"]] == [("capacity-found", "pass", 6)]


def test_calls_under_load_with_no_load_server_still_score_the_calls(responder, tmp_path):
    """The load server does not answer: the loaded phase is not measured with the reason, the calls
    and their phases alone and after are still scored."""
    from readiness.lab.ports import free_port

    port, key = responder
    dead = free_port()
    p = _run("calls", f"sip:test@127.0.0.1:{port}", "--calls", "2", "--duration", "9", "--cps", "20",
             "--key-file", str(key), "--load-server", f"127.0.0.1:{dead}", "--json", "-", timeout=120)
    doc = json.loads(p.stdout)
    phases = doc["phases"]
    assert "not reachable" in phases["load"]["error"] and phases["loaded"] is None
    assert phases["alone"]["calls"] == 2 and phases["after"]["calls"] == 2
    loaded = [n for n in doc["not_measured"] if n["tags"].get("phase") == "loaded"]
    assert loaded and all("the load did not run" in n["reason"] for n in loaded)
    verdicts = {c["id"]: c["verdict"] for c in doc["criteria"]}
    assert verdicts["call-mos-under-load"] == "not_measured" and verdicts["call-mos"] == "pass"
    assert p.returncode == 2            # something the profile asks for was not measured


def test_sigterm_in_the_loaded_phase_stops_the_load(responder, tmp_path):
    """A `kill` while iperf3 loads the link: the run is finalised as incomplete and no iperf3 is left."""
    import signal
    import time

    from readiness.lab.iperf_server import iperf3_server

    port, key = responder
    with iperf3_server(tmp_path) as iperf_port:
        proc = subprocess.Popen(CLI + ["calls", f"sip:test@127.0.0.1:{port}", "--calls", "2", "--duration", "30",
                                       "--cps", "20", "--key-file", str(key), "--load-server",
                                       f"127.0.0.1:{iperf_port}", "--load-mbps", "5", "--out", str(tmp_path / "runs"),
                                       "-q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 40
            client = f"iperf3 -c 127.0.0.1 -p {iperf_port}"
            while time.monotonic() < deadline and not subprocess.run(["pgrep", "-f", client],
                                                                     capture_output=True).stdout:
                time.sleep(0.2)
            assert time.monotonic() < deadline, "the load never started"
            time.sleep(1.0)
            proc.send_signal(signal.SIGTERM)
            _, stderr = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 2 and "Traceback" not in stderr, stderr
        assert subprocess.run(["pgrep", "-f", client], capture_output=True, text=True).stdout.strip() == ""
    (run_dir,) = (tmp_path / "runs").iterdir()
    results = json.loads((run_dir / "results.json").read_text())
    assert results["verdict"] == "incomplete" and results["interrupted_reason"] == "stopped by SIGTERM"


def test_ctrl_c_keeps_the_calls_scored_so_far(responder, tmp_path):
    """Interrupted while the calls are up: each is hung up and scored as far as it got; the run is
    incomplete and `readiness report` renders it."""
    import signal
    import time

    port, key = responder
    p = subprocess.Popen(CLI + ["calls", f"sip:test@127.0.0.1:{port}", "--calls", "3", "--duration", "60",
                                "--key-file", str(key), "--out", str(tmp_path), "--json", str(tmp_path / "r.json"),
                                "-q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(4)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 2 and "Traceback" not in err, err
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["complete"] is False
    mos = [m for m in doc["measurements"] if m["metric"] == "call.mos"]
    assert len(mos) == 6 and all(m["value"] > 4 for m in mos)
    run_dir = next(d for d in tmp_path.iterdir() if d.is_dir())
    assert _run("report", str(run_dir), "-q").returncode == 2
