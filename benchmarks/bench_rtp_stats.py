"""RTP stream statistics: packets per second of the live analyser and of the bulk path.

    python3 benchmarks/bench_rtp_stats.py [--packets 1000000] [--streams 2000] [--json]

One stream of N generated packets (1 % loss, 1 % reordered by 4 packet times, 0.1 % duplicated,
2 ms arrival jitter, sequence wrap included) is analysed:
  * live: `RtpStreamAnalyser.add` per packet (what each call direction does), RFC 3550 mode,
    without and with per-second intervals, and in Wireshark mode;
  * bulk: `analyse_arrays` over the numpy arrays (what a capture does), both jitter modes;
  * many streams: `analyse_streams` over --streams streams sharing the same packet budget;
  * memory: bytes held per live analyser (no intervals), measured over 1,000 analysers.
The machine load is printed with the figures (they depend on it).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from readiness.analysis.rtp_bulk import analyse_arrays, analyse_streams  # noqa: E402
from readiness.analysis.rtp_stats import RtpStreamAnalyser  # noqa: E402
from tests.analysis.streams import make_stream  # noqa: E402


def _rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("inf")


def live_rate(seq, ts, arrival, **kw) -> tuple[float, object]:
    a = RtpStreamAnalyser(**kw)
    add = a.add
    s, t, r = seq.tolist(), ts.tolist(), arrival.tolist()
    start = time.perf_counter()
    for x, y, z in zip(s, t, r):
        add(x, y, z)
    elapsed = time.perf_counter() - start
    return _rate(len(s), elapsed), a.result()


def bulk_rate(seq, ts, arrival, **kw) -> tuple[float, object]:
    start = time.perf_counter()
    res = analyse_arrays(seq, ts, arrival, **kw)
    return _rate(len(seq), time.perf_counter() - start), res


def memory_per_stream(count: int = 1000, packets: int = 500) -> float:
    seq, ts, arrival, _, _ = make_stream(packets, 3, loss=0.02, reorder=0.02)
    s, t, r = seq.tolist(), ts.tolist(), arrival.tolist()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    keep = []
    for _ in range(count):
        a = RtpStreamAnalyser(8000)
        for x, y, z in zip(s, t, r):
            a.add(x, y, z)
        keep.append(a)
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return used / count


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--packets", type=int, default=1_000_000)
    ap.add_argument("--streams", type=int, default=2000)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    n = args.packets
    seq, ts, arrival, _, _ = make_stream(n, 1, loss=0.01, dup=0.001, reorder=0.01, reorder_by=4, jitter_s=0.002,
                                         first_seq=60000)
    figures: dict[str, object] = {"packets": len(seq), "cpus": os.cpu_count(), "load_before": os.getloadavg()}
    r, res = live_rate(seq, ts, arrival, clock_rate=8000)
    figures["live_rfc3550_pps"] = r
    figures["check"] = {"lost": res.lost, "reordered": res.reordered, "duplicates": res.duplicates,
                        "jitter_ms": round(res.jitter_ms, 4), "burst_ratio": round(res.bursts.burst_ratio, 3)}
    figures["live_rfc3550_intervals_1s_pps"] = live_rate(seq, ts, arrival, clock_rate=8000, interval_s=1.0)[0]
    figures["live_wireshark_pps"] = live_rate(seq, ts, arrival, clock_rate=8000, jitter_mode="wireshark")[0]
    figures["bulk_rfc3550_pps"] = bulk_rate(seq, ts, arrival, clock_rate=8000)[0]
    figures["bulk_rfc3550_intervals_1s_pps"] = bulk_rate(seq, ts, arrival, clock_rate=8000, interval_s=1.0)[0]
    figures["bulk_wireshark_pps"] = bulk_rate(seq, ts, arrival, clock_rate=8000, jitter_mode="wireshark")[0]
    per = max(n // args.streams, 2)
    parts = [make_stream(per, 100 + i, loss=0.01, reorder=0.01) for i in range(args.streams)]
    sid = np.concatenate([np.full(len(p[0]), i) for i, p in enumerate(parts)])
    cols = [np.concatenate([p[k] for p in parts]) for k in range(3)]
    order = np.argsort(cols[2], kind="stable")
    start = time.perf_counter()
    analyse_streams(sid[order], *(c[order] for c in cols), clock_rate=8000)
    figures[f"bulk_{args.streams}_streams_pps"] = _rate(len(sid), time.perf_counter() - start)
    figures["live_bytes_per_stream"] = memory_per_stream()
    figures["load_after"] = os.getloadavg()
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"RTP stream statistics, {figures['packets']:,} packets, {figures['cpus']} CPUs, "
          f"load {figures['load_before'][0]:.2f} before / {figures['load_after'][0]:.2f} after")
    for key, value in figures.items():
        if key.endswith("_pps"):
            print(f"  {key:<34} {value:>14,.0f} packets/s")
    print(f"  {'live_bytes_per_stream':<34} {figures['live_bytes_per_stream']:>14,.0f} bytes")
    print(f"  check: {figures['check']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
