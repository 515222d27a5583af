"""Call load benchmark: `readiness calls` machinery against a real `readiness responder` process on
loopback, G.711 20 ms. Prints, per concurrency level: loss, sender schedule error p99, measured
jitter, CPU seconds per 1,000 packets (generator and responder), memory per call; then the most
concurrent calls sustained with zero loss, schedule error p99 < 1 ms and jitter < 1 ms.

Beside the generator's own figures, the independent view (wire_view.py, --no-wire to skip): dumpcap
records a sample of at least 40 calls' streams, tshark's RTP analysis reads it, and per direction
the per-stream maximum gap between packets (p50 / p99 / max; a phone: 20 ms) is printed next to the
generator's own largest schedule slip and the responder's largest hold, with the peak RSS of the
SIP side, the media process and the responder.

    python benchmarks/bench_calls.py                         # levels 500 1000 1500 2000, 20 s each
    python benchmarks/bench_calls.py --levels 50,100 --duration 10
    python benchmarks/bench_calls.py --python --levels 200,400  # the Python media path (no C loops)
    python benchmarks/bench_calls.py --long 30               # 100 calls for 30 min: memory growth

The machine's load is printed with the figures: other work on the same cores changes them. CPU is
what the kernel accounts to each process (user + system, the loopback's work for the packets it
sends included); "per 1,000 packets" counts packets sent up, each of which is also reflected.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import resource
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from readiness.lab.ports import free_port  # noqa: E402
from readiness.lab.responder_server import responder_running  # noqa: E402
from readiness.probes.calls.load import LoadConfig, LoadRunner  # noqa: E402
from readiness.probes.calls.records import to_json  # noqa: E402

from wire_view import DOWN, UP, WireGaps, WireSample  # noqa: E402

CLK = os.sysconf("SC_CLK_TCK")


def cpu_of(pid: int) -> float:
    """utime + stime of a process and its threads, seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


def rss_mb(pid: int | None = None) -> float:
    for line in Path(f"/proc/{pid or 'self'}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def media_pids() -> list[int]:
    """Our media engine process (a child; the responder is measured on its own)."""
    me, out = os.getpid(), []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            stat = (p / "stat").read_text().rsplit(")", 1)[1].split()
            cmd = (p / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat[1]) == me and b"media_process" in cmd:
            out.append(int(p.name))
    return out


def children_rss_mb() -> float:
    return sum(rss_mb(p) for p in media_pids())


def generator_rss_mb() -> float:
    return rss_mb() + children_rss_mb()


def family(pid: int) -> list[int]:
    """pid and its child processes (the responder's reflector process)."""
    out = [pid]
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if int((p / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(p.name))
            except (OSError, ValueError):
                continue
    return out


def _family_sum(pid: int, of) -> float:
    """`of(p)` summed over a process and its living children (both live through a whole benchmark)."""
    total = 0.0
    for p in family(pid):
        try:
            total += of(p)
        except OSError:
            pass
    return total


def family_cpu(pid: int) -> float:
    return _family_sum(pid, cpu_of)


def family_rss_mb(pid: int) -> float:
    return _family_sum(pid, rss_mb)


def machine_load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min) {five:.2f} (5 min) on {os.cpu_count()} cores"


def run_level(port: int, key: Path, calls: int, duration: float, cps: float, rpid: int,
              wire: WireSample | None = None) -> dict:
    """One load: figures of the generator (SIP side, media process) and of the responder; with `wire`,
    what a capture of a sample of its streams shows."""
    cfg = LoadConfig(f"sip:bench@127.0.0.1:{port}", calls=calls, cps=cps, duration_s=duration,
                     key=key.read_bytes().strip(), clocks_synced=True)
    gc.collect()
    rss0 = rss_mb()                           # the media process starts with the load: its RSS is all load
    peak = [rss0, rss0, 0.0, family_rss_mb(rpid)]        # generator, SIP side, media process, responder
    media_cpu_seen: dict[int, float] = {}                 # the media process's CPU, sampled (it exits first)
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.2):
            sip, media = rss_mb(), children_rss_mb()
            peak[:] = [max(peak[0], sip + media), max(peak[1], sip), max(peak[2], media), max(peak[3], family_rss_mb(rpid))]
            for pid in media_pids():
                try:
                    media_cpu_seen[pid] = cpu_of(pid)
                except (OSError, IndexError):
                    pass

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    m0 = resource.getrusage(resource.RUSAGE_CHILDREN)      # the media process is a waited-for child
    c0 = family_cpu(rpid)
    load0 = os.getloadavg()[0]
    if wire is not None:
        with wire:
            result = asyncio.run(LoadRunner(cfg).run())
    else:
        result = asyncio.run(LoadRunner(cfg).run())
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    m1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    c1 = family_cpu(rpid)
    stop.set()
    doc = to_json(result)
    answered = [c for c in doc["calls"] if c["answered"]]
    sent = sum(c["packets_sent_up"] or 0 for c in answered)
    lost = sum((c["packets_lost_up"] or 0) + (c["packets_lost_down"] or 0) for c in answered)
    jitter = [max(c["jitter_ms_up"] or 0, c["jitter_ms_down"] or 0) for c in answered]
    slip = [c.get("slip_max_ms") for c in answered]
    hold = [c.get("hold_max_ms") for c in answered]
    sip_cpu = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
    children_cpu = (m1.ru_utime + m1.ru_stime) - (m0.ru_utime + m0.ru_stime)
    # the media process and the scoring workers are both waited-for children: the media process's own
    # share as last sampled (up to 0.2 s before it ended), the rest is scoring
    media_cpu = min(sum(media_cpu_seen.values()), children_cpu)
    score_cpu = children_cpu - media_cpu
    return {
        "calls": calls, "answered": len(answered), "packets_up": sent, "lost": lost,
        "sched_p99_ms": result.schedule.quantile_ms(0.99) or 0.0,
        "sched_p50_ms": result.schedule.quantile_ms(0.5) or 0.0,
        "jitter_max_ms": max(jitter) if jitter else None,
        "jitter_p50_ms": sorted(jitter)[len(jitter) // 2] if jitter else None,
        "media_cpu_per_1k": 1000 * media_cpu / max(sent, 1), "sip_cpu_per_1k": 1000 * sip_cpu / max(sent, 1),
        "score_cpu_per_1k": 1000 * score_cpu / max(sent, 1),
        "resp_cpu_per_1k": 1000 * (c1 - c0) / max(sent, 1),
        "peak_rss_mb": peak[0], "sip_rss_mb": peak[1], "media_rss_mb": peak[2], "resp_rss_mb": peak[3],
        "engine_busy_pct": result.engine_busy_pct,
        "slip_max_ms": max((x for x in slip if x is not None), default=None),
        "hold_max_ms": max((x for x in hold if x is not None), default=None),
        "wire": wire.gaps() if wire is not None else None,
        "load": load0,
    }


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f}"


def wire_line(row: dict) -> str:
    w: WireGaps | None = row["wire"]
    if w is None:
        return ""
    parts = []
    for direction in (UP, DOWN):
        parts.append(f"{direction}: {len(w.max_gap_ms[direction])} streams, max gap p50 "
                     f"{_ms(w.quantile(direction, 0.5))} / p99 {_ms(w.quantile(direction, 0.99))} / max "
                     f"{_ms(w.quantile(direction, 1.0))} ms")
    return (f"       wire ({w.packets:,} packets captured{', ' + w.dropped if w.dropped else ''}): "
            + "; ".join(parts) + f"\n       own: sender slip max {_ms(row['slip_max_ms'])} ms, responder hold max "
            f"{_ms(row['hold_max_ms'])} ms; CPU per 1,000 packets, caller + responder "
            f"{row['media_cpu_per_1k'] + row['sip_cpu_per_1k'] + row['score_cpu_per_1k'] + row['resp_cpu_per_1k']:.3f} s; peak RSS SIP side "
            f"{row['sip_rss_mb']:.0f} MiB, media process {row['media_rss_mb']:.0f} MiB, responder "
            f"{row['resp_rss_mb']:.0f} MiB")


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(3))     # stop the lab responder on kill/timeout too
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--levels", default="500,1000,1500,2000")
    ap.add_argument("--duration", type=float, default=20.0, help="seconds each call is held")
    ap.add_argument("--cps", type=float, default=100.0)
    ap.add_argument("--long", type=float, default=0.0, metavar="MINUTES",
                    help="instead: --long-calls calls held this long, RSS sampled (memory growth)")
    ap.add_argument("--long-calls", type=int, default=100)
    ap.add_argument("--no-wire", action="store_true", help="without the dumpcap/tshark view of the streams")
    ap.add_argument("--keep-wire", type=Path, metavar="DIR", help="keep the captures of the wire view here")
    ap.add_argument("--python", action="store_true",
                    help="the Python media path at both ends (READINESS_MEDIA_PYTHON=1), not the C loops")
    args = ap.parse_args()
    if args.python:
        os.environ["READINESS_MEDIA_PYTHON"] = "1"       # the media process and the responder inherit it
    print(f"machine: {machine_load()}", flush=True)
    print(f"media path: {media_path()}", flush=True)
    # a responder for this many calls from one address (its default bound is below the top levels)
    media_port = free_port(also_udp=True)
    extra = ["--max-calls-per-source", "5000", "--media-port", str(media_port)]
    with tempfile.TemporaryDirectory() as tmp, responder_running(Path(tmp), extra=extra) as (proc, port, key):
        rpid = proc.pid
        if args.long:
            long_run(port, key, args.long, rpid, args.long_calls)
            return
        rows = []
        print("CPU seconds per 1,000 packets sent (each is reflected): media = the generator's media process,")
        print("SIP = its SIP side, score = the scoring workers after the calls, responder = SIP + reflector process.")
        print(f"{'calls':>6} {'answered':>8} {'lost':>6} {'sched p50/p99':>14} {'jitter p50/max':>15} "
              f"{'media':>7} {'SIP':>6} {'score':>6} {'responder':>9} {'gen RSS':>8} {'engine busy':>11} {'load':>5}")
        for n in [int(x) for x in args.levels.split(",")]:
            wire_dir = args.keep_wire or Path(tmp)
            wire_dir.mkdir(parents=True, exist_ok=True)
            wire = None if args.no_wire else WireSample(wire_dir / f"wire-{n}.pcapng", n, media_port)
            row = run_level(port, key, n, args.duration, args.cps, rpid, wire)
            rows.append(row)
            print(f"{row['calls']:>6} {row['answered']:>8} {row['lost']:>6} "
                  f"{row['sched_p50_ms']:>5.2f}/{row['sched_p99_ms']:<5.2f}ms "
                  f"{row['jitter_p50_ms'] or 0:>6.3f}/{row['jitter_max_ms'] or 0:<6.3f}ms "
                  f"{row['media_cpu_per_1k']:>6.3f}s {row['sip_cpu_per_1k']:>5.3f}s {row['score_cpu_per_1k']:>5.3f}s "
                  f"{row['resp_cpu_per_1k']:>8.3f}s "
                  f"{row['peak_rss_mb']:>5.0f} MiB "
                  f"{row['engine_busy_pct']:>10.1f}% {row['load']:>5.2f}", flush=True)
            if row["wire"] is not None:
                print(wire_line(row), flush=True)
        good = [r["calls"] for r in rows if r["answered"] == r["calls"] and r["lost"] == 0
                and r["sched_p99_ms"] < 1.0 and (r["jitter_max_ms"] or 0) < 1.0]
        print(f"most concurrent calls with zero loss, schedule p99 < 1 ms, jitter < 1 ms: {max(good) if good else 0}")
        if len(rows) >= 2:
            a, b = rows[0], rows[-1]           # the media process's own baseline cancels out
            print(f"memory per call (generator, marginal {a['calls']} -> {b['calls']} calls): "
                  f"{1024 * (b['peak_rss_mb'] - a['peak_rss_mb']) / (b['calls'] - a['calls']):.1f} KiB")
        print(f"machine after: {machine_load()}")


def media_path() -> str:
    from readiness.probes.calls.io import media_loops

    if os.environ.get("READINESS_MEDIA_PYTHON") or not media_loops.available():
        return f"Python ({media_loops.why_not or 'READINESS_MEDIA_PYTHON is set'})"
    sha = media_loops.use_sha_extensions(True)
    return f"C loops (_media_loops), SHA-256 {'with the CPU SHA extensions' if sha else 'portable C'}"


def long_run(port: int, key: Path, minutes: float, rpid: int, calls: int) -> None:
    samples: list[tuple[float, float, float]] = []
    stop = threading.Event()

    def sample() -> None:
        t0 = time.monotonic()
        while not stop.wait(30.0):
            samples.append(((time.monotonic() - t0) / 60, generator_rss_mb(), rss_mb(rpid)))
            print(f"{samples[-1][0]:6.1f} min  generator RSS {samples[-1][1]:7.1f} MiB  "
                  f"responder RSS {samples[-1][2]:7.1f} MiB  ({machine_load()})", flush=True)

    threading.Thread(target=sample, daemon=True).start()
    row = run_level(port, key, calls, minutes * 60, 50.0, rpid)
    stop.set()
    print(f"{calls} calls for {minutes:g} min: lost {row['lost']} of {row['packets_up']}, sched p99 "
          f"{row['sched_p99_ms']:.2f} ms, jitter max {row['jitter_max_ms']:.3f} ms")
    held = [x for x in samples if x[0] <= minutes]    # while the calls were up
    if len(held) >= 3:
        a, b = held[1], held[-1]                 # from the first minute on: ramp-up is not growth
        print(f"memory growth while the calls were up (after ramp-up): generator {b[1] - a[1]:+.1f} MiB, "
              f"responder {b[2] - a[2]:+.1f} MiB over {b[0] - a[0]:.1f} min")
    after = [x for x in samples if x[0] > minutes]
    if after:
        # scoring reads each call's trace and keeps its 200 ms / 1 s series until the run is written
        print(f"generator peak while scoring after the calls: {max(x[1] for x in after):.1f} MiB")


if __name__ == "__main__":
    main()
