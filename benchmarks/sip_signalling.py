"""SIP signalling load on loopback: how many concurrent dialogs one asyncio loop holds, what each
costs, and how fast calls can be set up. Media is not sent (that is benchmarks for RTP).

    python3 benchmarks/sip_signalling.py [--calls 1000] [--cps 50] [--transport udp|tcp]

The answering side runs in its own process (as the responder would), so the figures are the
caller's: CPU seconds and memory per call, setup time percentiles, and the burst setup rate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from readiness import codecs  # noqa: E402
from readiness.probes.calls.sip import (Accept, SipConfig, UasLimits, UserAgent, UserAgentServer,  # noqa: E402
                                        sdp)


def _uas_process(port_queue: multiprocessing.Queue, stop: multiprocessing.Event) -> None:
    async def main():
        async def decide(call):
            return Accept(sdp.answer(call.offer, [codecs.get("pcmu")], "127.0.0.1", 50000))
        uas = UserAgentServer(decide, SipConfig(), UasLimits(max_calls=100000, max_calls_per_source=100000,
                                                             invites_per_s_per_source=100000))
        ports = {"udp": (await uas.listen("udp", "127.0.0.1", 0))[1]}
        ports["tcp"] = (await uas.listen("tcp", "127.0.0.1", ports["udp"]))[1]
        port_queue.put(ports)
        while not stop.is_set():
            await asyncio.sleep(0.2)
        await uas.close()
    asyncio.run(main())


def _rss_kib() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


async def run(args, port: int) -> dict:
    target = f"sip:bench@127.0.0.1:{port}" + (";transport=tcp" if args.transport == "tcp" else "")
    out: dict = {"transport": args.transport, "calls": args.calls, "cps": args.cps}
    async with UserAgent(SipConfig(transport=args.transport, local_host="127.0.0.1")) as ua:
        offer = sdp.offer([codecs.get("pcmu")], "127.0.0.1", 40000)
        await ua.invite(target, offer)          # warm-up: connection, caches
        for c in list(ua.calls.values()):
            await c.hangup()
        rss0, cpu0 = _rss_kib(), _cpu_s()
        calls = []
        t0 = time.monotonic()
        for i in range(args.calls):             # ramp at --cps, like the call load does
            calls.append(ua.call(target, sdp.offer([codecs.get("pcmu")], "127.0.0.1", 40000 + 2 * (i % 10000))))
            await asyncio.sleep(max(0.0, t0 + (i + 1) / args.cps - time.monotonic()))
        outs = await asyncio.gather(*(c.wait(60) for c in calls))
        cpu_setup = _cpu_s() - cpu0
        rss1 = _rss_kib()
        answered = [o for o in outs if o.answered]
        setup = [o.setup_ms for o in answered]
        out.update(answered=len(answered), concurrent=len(ua.calls),
                   setup_ms_p50=round(statistics.median(setup), 2), setup_ms_p99=round(_pct(setup, 0.99), 2),
                   kib_per_call=round((rss1 - rss0) / max(1, len(answered)), 1),
                   cpu_ms_per_call_setup=round(1000 * cpu_setup / max(1, len(answered)), 3))
        cpu1 = _cpu_s()
        t1 = time.monotonic()
        byes = await asyncio.gather(*(c.hangup() for c in calls if c.outcome.answered))
        out.update(bye_ok=sum(1 for b in byes if b == 200), hangup_all_s=round(time.monotonic() - t1, 3),
                   cpu_ms_per_bye=round(1000 * (_cpu_s() - cpu1) / max(1, len(byes)), 3))
        # burst: all at once, as fast as the loop and the far end allow
        n = min(args.calls, 500)
        t2, cpu2 = time.monotonic(), _cpu_s()
        burst = [ua.call(target, offer) for _ in range(n)]
        bouts = await asyncio.gather(*(c.wait(60) for c in burst))
        elapsed = time.monotonic() - t2
        out.update(burst_calls=n, burst_answered=sum(o.answered for o in bouts),
                   burst_setups_per_s=round(n / elapsed, 1), burst_retransmissions=sum(o.retransmissions for o in bouts),
                   burst_cpu_ms_per_call=round(1000 * (_cpu_s() - cpu2) / n, 3))
        await asyncio.gather(*(c.hangup() for c in burst if c.outcome.answered))
        out["malformed"] = ua.endpoint.transports.stats.malformed
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--calls", type=int, default=1000)
    p.add_argument("--cps", type=float, default=50.0)
    p.add_argument("--transport", choices=["udp", "tcp"], default="udp")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = p.parse_args()
    q: multiprocessing.Queue = multiprocessing.Queue()
    stop = multiprocessing.Event()
    proc = multiprocessing.Process(target=_uas_process, args=(q, stop), daemon=True)
    proc.start()
    try:
        ports = q.get(timeout=20)
        result = asyncio.run(run(args, ports[args.transport]))
    finally:
        stop.set()
        proc.join(10)
        if proc.is_alive():
            proc.terminate()
    result["load_avg_1m"] = round(os.getloadavg()[0], 2)
    result["cores"] = os.cpu_count()
    if args.json:
        print(json.dumps(result))
    else:
        width = max(len(k) for k in result)
        for k, v in result.items():
            print(f"{k:<{width}}  {v}")


if __name__ == "__main__":
    main()
