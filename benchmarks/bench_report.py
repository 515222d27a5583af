"""Benchmark: the acceptance protocol of a one-hour run with 100 calls, every format.

    python benchmarks/bench_report.py [--calls 100] [--minutes 60] [--repeat 3]

Writes a run folder shaped as the calls probe records one (per call and direction: loss and reorder
per 200 ms with their packet counts, jitter and one-way delay per second, the call's RTT per second;
MOS, loss, jitter, delay per direction), plus the SNMP and iperf3 records of the report fixture. Then
times `readiness report RUN --format html,pdf,junit,md,json` as a technician runs it (interpreter
start-up, judging the log, plots, HTML, PDF, JUnit, Markdown), and `--format json` and `--format html`
alone to show where the time goes. Prints the log's size, each time (best of --repeat), the peak memory
of the command and the files' sizes. Target: every format in under 10 s.
"""

from __future__ import annotations

import argparse
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from readiness import store  # noqa: E402
from readiness.config import profile as profile_mod  # noqa: E402
from readiness.model import Measurement, RunInfo, Series  # noqa: E402
from tests.reports import fixture_runs  # noqa: E402

TARGET_S = 10.0


def write_run(run_dir: Path, calls: int, seconds: int) -> Path:
    profile = profile_mod.load("cloud-pbx-single-site")
    w = store.RunWriter(run_dir)
    inputs = run_dir / "inputs"
    inputs.mkdir()
    for f in profile.chain:
        (inputs / Path(f).name).write_bytes(Path(f).read_bytes())
    t0 = time.time() - seconds - 10
    w.started(RunInfo(run_id="bench", profile=profile.name, site="Testfirma GmbH, Köln", started=store.utc_iso(t0),
                      criteria=profile.criteria, profile_file=profile.file, site_file="", tool_version="bench",
                      host="bench", command="run"))
    w.probe_started("calls")
    w.measurement(Measurement("call.answered_pct", 100.0, "%", "all calls", "calls", t0, t0 + seconds))
    fine = int(seconds / 0.2)
    for i in range(1, calls + 1):
        subject = f"call {i}"
        rtt = [38.0 + 4 * math.sin(s / 30 + i) for s in range(seconds)]
        w.measurement(Measurement("rtp.rtt_ms", 38.0, "ms", subject, "calls", t0, t0 + seconds, {"call": str(i)}))
        w.series(Series("rtp.rtt_ms", "ms", subject, "calls", t0, 1.0, rtt, None, {"call": str(i)}))
        for d in ("up", "down"):
            tags = {"direction": d, "call": str(i)}
            sub = f"{subject} {d}"
            for metric, value, unit in (("call.mos", 4.38 - 0.002 * i, "MOS"), ("call.r_factor", 92.0, "R"),
                                        ("call.mouth_to_ear_ms", 60.0 + i / 10, "ms"), ("rtp.loss_pct", 0.01, "%"),
                                        ("rtp.jitter_ms", 1.1, "ms"), ("rtp.dscp_remarked_pct", 0.0, "%")):
                w.measurement(Measurement(metric, value, unit, sub, "calls", t0, t0 + seconds, tags))
            loss = [10.0 if (k + i) % 4999 == 0 else 0.0 for k in range(fine)]
            w.series(Series("rtp.loss_pct", "%", sub, "calls", t0, 0.2, loss, [10.0] * fine, tags))
            w.series(Series("rtp.reorder_pct", "%", sub, "calls", t0, 0.2, [0.0] * fine, [10.0] * fine, tags))
            w.series(Series("rtp.jitter_ms", "ms", sub, "calls", t0, 1.0,
                            [1.0 + 0.4 * math.sin(s / 7 + i) for s in range(seconds)], None, tags))
            w.series(Series("rtp.one_way_delay_ms", "ms", sub, "calls", t0, 1.0, [r / 2 for r in rtt], None, tags))
    w.probe_finished("calls", "ok")
    fixture_runs._snmp(w, False)
    fixture_runs._capture(w, False)
    fixture_runs._iperf(w, False)
    w.finished(False)
    w.close()
    return run_dir


def timed(run_dir: Path, formats: str, repeat: int) -> tuple[float, int]:
    best = math.inf
    for _ in range(repeat):
        start = time.monotonic()
        r = subprocess.run([sys.executable, "-m", "readiness", "report", str(run_dir), "--format", formats, "-q"],
                           capture_output=True, text=True)
        best = min(best, time.monotonic() - start)
        if r.returncode not in (0, 1):
            sys.exit(f"readiness report failed ({r.returncode}): {r.stderr.strip()}")
    return best, r.returncode


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=100)
    ap.add_argument("--minutes", type=int, default=60)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        start = time.monotonic()
        write_run(run_dir, args.calls, args.minutes * 60)
        size = (run_dir / store.EVENTS).stat().st_size
        print(f"run: {args.calls} calls x {args.minutes} min, events.jsonl {size / 2**20:.0f} MiB "
              f"(written in {time.monotonic() - start:.1f} s)")
        for formats in ("json", "html", "html,pdf,junit,md,json"):
            seconds, status = timed(run_dir, formats, args.repeat)
            print(f"readiness report --format {formats:<24} {seconds:6.2f} s  (best of {args.repeat}, exit {status})")
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"peak memory of the command: {peak:.0f} MiB")
        for name in ("report.html", "report.pdf", "report.junit.xml", "report.md", "results.json"):
            print(f"  {name:<18} {(run_dir / name).stat().st_size / 1024:8.0f} KiB")
        verdict = "met" if seconds < TARGET_S else "MISSED"
        print(f"target: every format in under {TARGET_S:g} s: {verdict} ({seconds:.2f} s)")


if __name__ == "__main__":
    main()
