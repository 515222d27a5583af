"""Offline capture analysis speed and memory: readiness vs `tshark -z rtp,streams` on the same file.

Generates a synthetic G.711 capture (100 calls with SIP/SDP, RTP both ways, 0.5 % random loss,
2 ms arrival jitter) of N packets, then:
  * times `readiness.probes.capture.analyze.analyse` (best of --reps, wall and CPU),
  * times `readiness analyze FILE --json OUT` as a user runs it (a fresh command: start-up, the
    analysis and the JSON written; best of --reps),
  * times `tshark -q -o rtp.heuristic_rtp:TRUE -z rtp,streams` on the same file,
  * measures peak memory of the analysis in a fresh process (ru_maxrss) at N/4 and N packets:
    memory must not grow with the number of packets,
  * checks the result against the generator's truth (packets and losses per stream).
Prints the figures and the load average (the machine may be shared: read the numbers with it).

    python3 benchmarks/bench_pcap_rtp.py [--packets 1000000] [--reps 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from readiness import tools
from readiness.probes.capture.analyze import analyse
from readiness.probes.capture.pcap_writer import synth_rtp_capture

CHILD = """
import resource, sys, time
from readiness.probes.capture.analyze import analyse
t = time.process_time()
a = analyse(sys.argv[1])
print(len(a.streams), a.packets, time.process_time() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def child_peak_kib(path: Path) -> tuple[int, float]:
    out = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, check=True)
    streams, packets, cpu, rss = out.stdout.split()
    return int(rss), float(cpu)


def time_tshark(path: Path) -> tuple[float, float, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    out = tools.run_sync([tools.require("tshark"), "-r", str(path), "-q", "-o", "rtp.heuristic_rtp:TRUE", "-z",
                          "rtp,streams"], 600).check()
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, out.stdout


def time_command(path: Path, out: Path, reps: int) -> tuple[float, float]:
    """Best wall and CPU of `readiness analyze FILE --json OUT --no-keep -q` (exit 0 or 1: judged)."""
    walls, cpus = [], []
    for _ in range(reps):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "readiness", "analyze", str(path), "--json", str(out), "--no-keep",
                            "-q"], capture_output=True, text=True, timeout=600)
        walls.append(time.perf_counter() - t)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
        if r.returncode not in (0, 1) or not out.is_file():
            raise SystemExit(f"readiness analyze failed ({r.returncode}): {r.stderr.strip()}")
    return min(walls), min(cpus)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--packets", type=int, default=1_000_000)
    ap.add_argument("--calls", type=int, default=100)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--keep", type=Path, help="write the captures here and keep them")
    args = ap.parse_args()
    try:
        tools.require("tshark")
    except tools.ToolMissing as e:
        print(e, file=sys.stderr)
        return 2
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-pcap-"))
    work.mkdir(parents=True, exist_ok=True)
    load0 = os.getloadavg()
    try:
        big, small = work / "rtp-big.pcap", work / "rtp-small.pcap"
        t = time.perf_counter()
        truth = synth_rtp_capture(big, args.packets, calls=args.calls)
        gen_s = time.perf_counter() - t
        synth_rtp_capture(small, args.packets // 4, calls=args.calls)
        size_mb = big.stat().st_size / 1e6
        print(f"capture: {truth.total:,} RTP packets in {2 * args.calls} streams, {size_mb:.0f} MB "
              f"(generated in {gen_s:.1f} s)")

        walls, cpus = [], []
        result = None
        for _ in range(args.reps):
            t, c = time.perf_counter(), time.process_time()
            result = analyse(big)
            walls.append(time.perf_counter() - t)
            cpus.append(time.process_time() - c)
        wall, cpu = min(walls), min(cpus)
        n = result.packets
        print(f"readiness analyse: best of {args.reps}: {wall:.2f} s wall ({n / wall:,.0f} packets/s), "
              f"{cpu:.2f} s CPU ({n / cpu:,.0f} packets/s)")

        cw, cc = time_command(big, work / "analysis.json", args.reps)
        print(f"readiness analyze FILE --json OUT (command start to JSON written): best of {args.reps}: "
              f"{cw:.2f} s wall ({n / cw:,.0f} packets/s), {cc:.2f} s CPU")

        tw, tc, tout = time_tshark(big)
        print(f"tshark -z rtp,streams: {tw:.2f} s wall ({n / tw:,.0f} packets/s), {tc:.2f} s CPU")
        print(f"ratio: readiness is {tw / wall:.1f}x faster than tshark (wall), {tc / cpu:.1f}x (CPU); "
              f"as a command {tw / cw:.1f}x (wall)")

        rss_small, _ = child_peak_kib(small)
        rss_big, _ = child_peak_kib(big)
        print(f"peak memory (fresh process, ru_maxrss): {rss_small / 1024:.0f} MiB at {args.packets // 4:,} "
              f"packets, {rss_big / 1024:.0f} MiB at {args.packets:,} packets")

        by_ssrc = {s.key.ssrc: s for s in result.streams}
        wrong = [i for i, ssrc in enumerate(truth.ssrc)
                 if ssrc not in by_ssrc or by_ssrc[ssrc].packets != truth.packets[i]
                 or by_ssrc[ssrc].rfc.lost != truth.lost[i]]
        tshark_rows = sum(1 for line in tout.splitlines() if " 0x" in line)
        print(f"check: {len(result.streams)} streams found (tshark: {tshark_rows}); packets and losses per stream "
              f"{'all match' if not wrong else f'DIFFER for {len(wrong)} streams'} the generator's truth")
        load1 = os.getloadavg()
        print(f"load average (1 min) at start {load0[0]:.2f}, at end {load1[0]:.2f} on {os.cpu_count()} CPUs")
        return 1 if wrong else 0
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
