"""Memory of long calls, measured as a user runs them: `readiness calls` as a command (start-up,
scoring, judging and the HTML report included) against a `readiness responder` process on loopback,
G.711 20 ms. The RSS of the command and its media process (summed) is sampled every few seconds and
printed per stage: while the calls are up, then while they are scored, judged and reported.

    python benchmarks/bench_long_calls.py                          # 50 calls for 2 h (issue 10)
    python benchmarks/bench_long_calls.py --calls 50 --minutes 10

Flat means: the RSS while the calls are up does not grow with their duration, and the peak after
them (scoring reads one call's trace at a time and writes its series to the run log at once) grows
with neither the number of calls nor their length beyond the run's stored series (8 bytes a value).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from readiness.lab.responder_server import responder_process  # noqa: E402

SAMPLE_S = 5.0
SAMPLE_AFTER_S = 0.25


def tree(pid: int) -> list[int]:
    """pid and every descendant (the media engine runs as a child process)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            kids = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            continue
        todo += [int(k) for k in kids]
    return out


def rss_mb(pids: list[int]) -> float:
    total = 0
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def probe_finished(events: Path) -> float | None:
    """When the calls probe finished (its calls scored and recorded), from the run log."""
    for line in events.read_text().splitlines():
        e = json.loads(line)
        if e.get("type") == "probe_finished":
            return float(e["t"])
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=50)
    ap.add_argument("--minutes", type=float, default=120.0)
    ap.add_argument("--cps", type=float, default=10.0)
    args = ap.parse_args()
    hold_s = args.minutes * 60
    ramp_s = args.calls / args.cps
    with tempfile.TemporaryDirectory() as tmp, responder_process(Path(tmp)) as (port, key):
        out = Path(tmp) / "runs"
        argv = [sys.executable, "-m", "readiness", "calls", f"sip:test@127.0.0.1:{port}", "--calls", str(args.calls),
                "--cps", str(args.cps), "--duration", f"{hold_s:g}", "--key-file", str(key), "--out", str(out),
                "--json", str(Path(tmp) / "run.json"), "-q"]
        t0 = time.monotonic()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        samples: list[tuple[float, float, float]] = []     # (seconds since start, epoch, MiB)

        def sample() -> None:
            while proc.poll() is None:
                t = time.monotonic() - t0
                samples.append((t, time.time(), rss_mb(tree(proc.pid))))
                time.sleep(SAMPLE_S if t < ramp_s + hold_s else SAMPLE_AFTER_S)   # the end is quick: finer

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, err = proc.communicate()
        elapsed = time.monotonic() - t0
        sampler.join()
        if proc.returncode not in (0, 1):
            raise SystemExit(f"readiness calls exited {proc.returncode}: {err.strip()[-400:]}")
        doc = json.loads((Path(tmp) / "run.json").read_text())
        summary = doc["summary"]
        events = sum(f.stat().st_size for f in out.rglob("events.jsonl"))
        scored_at = probe_finished(next(out.rglob("events.jsonl")))
        traces = sum(f.stat().st_size for f in out.rglob("*.trace"))
    up_end = ramp_s + hold_s
    up = [m for t, _, m in samples if ramp_s + 30 <= t <= up_end]       # after the ramp: growth, not start-up
    scoring = [m for t, wall, m in samples if t > up_end and (scored_at is None or wall <= scored_at)]
    judging = [m for t, wall, m in samples if t > up_end and scored_at is not None and wall > scored_at]
    print(f"{args.calls} calls of G.711 20 ms held {args.minutes:g} min: {summary['calls_answered']} answered, "
          f"loss up max {summary['loss_pct_up_max']} %, down max {summary['loss_pct_down_max']} %")
    if up:
        print(f"RSS (command + media process) while the calls were up: {up[0]:.0f} MiB after the ramp, "
              f"max {max(up):.0f} MiB, at the end {up[-1]:.0f} MiB (growth {up[-1] - up[0]:+.0f} MiB over "
              f"{(len(up) - 1) * SAMPLE_S / 60:.1f} min)")
    if scoring:
        print(f"RSS peak while the calls were scored and written to the run log: {max(scoring):.0f} MiB")
    if judging:
        print(f"RSS peak while the run was judged and its report drawn (every series read back): {max(judging):.0f} MiB "
              f"(done {(elapsed - up_end):.0f} s after the calls ended)")
    print(f"run log {events / 2**20:.0f} MiB, traces {traces / 2**20:.0f} MiB; command took {elapsed:.0f} s")


if __name__ == "__main__":
    main()
