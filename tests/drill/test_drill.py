"""`readiness drill` in the failover lab (tests/drill/lab.py): real calls from c through r to a
`readiness responder` in s while the test makes outages of a known length. The drill's gaps,
survivors and recovery are compared with what the test did (its own timestamps and nft counters).

- a dead primary line for 2 s: one outage, every call's gap 2 s within 100 ms, all survive, new
  calls work again 2 s after the cut (within 100 ms: test calls every 50 ms), the mark is attached;
- the primary dead, the router fails over to LTE 1 s later and its masquerade re-NATs every flow:
  calls survive a 1 s gap and the far end sees them come from the second address;
- the same with static SNAT: the router keeps the stale mapping, so neither the held calls nor new
  calls come back: every call is dropped and the drill fails.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

from readiness.lab.responder_server import write_key
from tests.drill.lab import FailoverLab, failover_lab
from tests.drill.sites import write_site

ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def drill_lab(tmp_path: Path, nat: str) -> Iterator[tuple[FailoverLab, Path]]:
    key = write_key(tmp_path / "key")
    with failover_lab(nat) as lab:
        log = open(tmp_path / "responder.log", "w")
        lab.popen(lab.s, [sys.executable, "-m", "readiness", "responder", "--listen", f"{lab.s_ip}:5060",
                          "--key-file", str(key), "-q"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while ":13C4 " not in lab.run(lab.s, "cat", "/proc/net/tcp").stdout:     # SIP on TCP 5060: it is up
            assert time.monotonic() < deadline, (tmp_path / "responder.log").read_text()
            time.sleep(0.1)
        yield lab, key


def start_drill(lab: FailoverLab, tmp_path: Path, key: Path, *args: str) -> subprocess.Popen:
    argv = [sys.executable, "-m", "readiness", "drill", "--to", f"sip:test@{lab.s_ip}:5060", "--key-file", str(key),
            "--out", str(tmp_path / "runs"), "--json", str(tmp_path / "drill.json"), "-q", *args]
    return lab.popen(lab.c, argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(p: subprocess.Popen, tmp_path: Path) -> tuple[int, dict, str]:
    out, err = p.communicate(timeout=120)
    doc = json.loads((tmp_path / "drill.json").read_text()) if (tmp_path / "drill.json").exists() else {}
    return p.returncode, doc, err


def gaps(drill: dict, direction: str) -> list[float | None]:
    return [c["gap_ms"] for o in drill["outages"] if o["direction"] == direction for c in o["calls"]]


def wait_calls_up(seconds: float = 5.0) -> None:
    time.sleep(seconds)          # start-up (~1 s), 5 calls ramped at 5/s, media flowing


def test_a_dead_line_for_two_seconds(tmp_path):
    with drill_lab(tmp_path, "masquerade") as (lab, key):
        p = start_drill(lab, tmp_path, key, "--calls", "5", "--duration", "14", "--new-calls-every", "0.05")
        wait_calls_up()
        mark = subprocess.run([sys.executable, "-m", "readiness", "drill", "--mark", "primary pulled"], cwd=ROOT,
                              capture_output=True, text=True, timeout=20)
        assert mark.returncode == 0, mark.stderr
        cut = lab.blackhole("wan1")
        time.sleep(2.0 - cut.took)
        back = lab.restore("wan1")
        dropped = lab.dropped("wan1")
        status, doc, err = finish(p, tmp_path)
    truth_ms = 1000 * (back.wall - cut.wall)
    drill = doc["drill"]
    assert status == 0, err
    media = [o for o in drill["outages"] if o["direction"] in ("up", "down")]
    assert {o["outage"] for o in media} == {1}, drill["outages"]
    up = gaps(drill, "up")
    assert len(up) == 5 and all(g is not None and abs(g - truth_ms) < 100 for g in up), (up, truth_ms)
    # the reflection cannot answer what did not arrive: down is gone for at least as long
    assert all(g is not None and g >= min(up) - 5 for g in gaps(drill, "down"))
    assert drill["calls_survived"] == 5 and drill["calls_dropped"] == 0
    assert abs(drill["recovery_ms"] - truth_ms) < 100, (drill["recovery_ms"], truth_ms)
    assert drill["marks"][0]["text"] == "primary pulled" and media[0]["mark"] == "primary pulled"
    assert dropped > 5 * 50 * 1.9            # the line really ate the calls' packets (50/s per call)
    assert len(drill["sources"]) == 1
    assert {"before", "during", "after"} <= set(drill["phases"])
    assert drill["phases"]["before"]["loss_pct_up"] == 0 and drill["phases"]["during"]["loss_pct_up"] > 50
    verdicts = {c["metric"]: c["verdict"] for c in doc["criteria"]}
    assert verdicts == {"failover.calls_dropped": "pass", "failover.media_gap_ms": "pass",
                        "failover.recovery_s": "pass"}


def test_failover_to_lte_keeps_the_calls_behind_a_new_address(tmp_path):
    with drill_lab(tmp_path, "masquerade") as (lab, key):
        p = start_drill(lab, tmp_path, key, "--calls", "5", "--duration", "12", "--new-calls-every", "0.05")
        wait_calls_up()
        cut, down = lab.fail_over_after(1.0)
        status, doc, err = finish(p, tmp_path)
    truth_ms = 1000 * (down.wall - cut.wall)
    drill = doc["drill"]
    assert status == 0, err
    up = gaps(drill, "up")
    assert len(up) == 5 and all(g is not None and abs(g - truth_ms) < 100 for g in up), (up, truth_ms)
    assert drill["calls_survived"] == 5 and drill["calls_dropped"] == 0
    assert abs(drill["recovery_ms"] - truth_ms) < 150, (drill["recovery_ms"], truth_ms)
    seen = [s["source"].rsplit(":", 1)[0] for s in drill["sources"]]
    assert seen == [lab.p1, lab.p2], drill["sources"]
    assert any("2 addresses" in n for n in drill["notes"])
    assert drill["calls_moved"] == 5          # the responder saw each call's media arrive from P2


def test_stale_nat_after_failover_drops_every_call(tmp_path):
    with drill_lab(tmp_path, "snat") as (lab, key):
        p = start_drill(lab, tmp_path, key, "--calls", "3", "--duration", "10", "--new-calls-every", "0.5")
        wait_calls_up()
        lab.fail_over_after(1.0)
        status, doc, err = finish(p, tmp_path)
    drill = doc["drill"]
    assert status == 1, err
    assert drill["calls_dropped"] == 3 and drill["calls_survived"] == 0
    assert all("did not come back" in d["why"] for d in drill["dropped"])
    assert None in gaps(drill, "up")
    assert drill["recovery_ms"] is None and drill["new_calls"]["failed"] > 0
    verdicts = {c["metric"]: c["verdict"] for c in doc["criteria"]}
    assert verdicts["failover.calls_dropped"] == "fail" and verdicts["failover.media_gap_ms"] == "fail"
    assert verdicts["failover.recovery_s"] == "warn"          # a should-criterion of multi-site-sd-wan


def test_a_dead_primary_sbc_fails_over_to_the_secondary_and_back(tmp_path):
    """The primary SBC is dead (its port takes INVITEs and never answers), then comes back."""
    import socket

    from readiness.lab.responder_server import responder_process

    key = write_key(tmp_path / "key")
    dead = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dead.bind(("127.0.0.1", 0))
    primary = dead.getsockname()[1]
    site = tmp_path / "site.yaml"
    with responder_process(tmp_path, key) as (port, _):
        write_site(site, port, key, [primary, port], calls="2", duration="12 s", new_calls_every="0.5 s",
                   failover_timeout="1 s", retry_primary="3 s")
        p = subprocess.Popen([sys.executable, "-m", "readiness", "drill", "--site", str(site), "--out",
                              str(tmp_path / "runs"), "--json", str(tmp_path / "drill.json"), "-q"], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(6)
        dead.close()
        with responder_process(tmp_path, key, port=primary):     # the primary comes back
            status, doc, err = finish(p, tmp_path)
    drill = doc["drill"]
    assert status == 0, err
    hops = [(f["before"].rsplit(":", 1)[1], f["after"].rsplit(":", 1)[1], f["reason"]) for f in drill["failovers"]]
    assert hops[0] == (str(primary), str(port), "timeout"), hops
    assert hops[-1][:2] == (str(port), str(primary)) and hops[-1][2] == "back to the primary", hops
    assert drill["calls_held"] == 2 and drill["calls_dropped"] == 0
    assert drill["new_calls"]["failed_over"] >= 1 and drill["new_calls"]["failed"] == 0
    assert drill["new_calls"]["setup_ms_max"] >= 900          # the one that waited for the dead primary


def test_ctrl_c_ends_every_call_and_keeps_what_the_drill_knew(tmp_path):
    """Interrupted mid-drill: every call gets its BYE, the run says incomplete, and the calls held so
    far are in it with their media scored (their gaps, survivors and the test calls)."""
    import signal

    from readiness.lab.responder_server import responder_process

    with responder_process(tmp_path) as (port, key):
        p = subprocess.Popen([sys.executable, "-m", "readiness", "drill", "--to", f"sip:test@127.0.0.1:{port}",
                              "--key-file", str(key), "--calls", "4", "--duration", "60", "--new-calls-every", "0.5",
                              "--out", str(tmp_path / "runs"), "--json", str(tmp_path / "drill.json"), "-q"],
                             cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(5)
        p.send_signal(signal.SIGINT)
        status, doc, err = finish(p, tmp_path)
        log = (tmp_path / f"responder-{port}.log").read_text()
    assert status == 2 and "Traceback" not in err, err
    assert doc["complete"] is False
    drill = doc["drill"]
    assert drill["interrupted"] is True and drill["calls_held"] == 4 and drill["calls_dropped"] == 0
    assert drill["new_calls"]["placed"] >= 6
    gaps_measured = [m for m in doc["measurements"] if m["metric"] == "failover.media_gap_ms"]
    assert len(gaps_measured) == 8 and all(m["value"] < 100 for m in gaps_measured)
    assert "Traceback" not in log
