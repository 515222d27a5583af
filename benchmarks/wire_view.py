"""The independent view of a call load, as the network sees it: dumpcap records a sample of the RTP
streams (a BPF filter on the low bits of the SSRC, media to or from the far end's port only) and
tshark's own RTP analysis (`-z rtp,streams`) reads the file. Per stream the largest gap between two
packets (tshark's Max Delta), per direction: a phone sends every 20 ms, a stalled generator sends a
burst after a gap. Used by bench_calls.py; it reads nothing of the generator's own figures.
"""

from __future__ import annotations

import re
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from readiness import tools

SAMPLE_STREAMS = 40          # at least this many calls' streams per direction in the sample
UP, DOWN = "caller->far end", "far end->caller"


def sample_bits(calls: int) -> int:
    """Bits of the SSRC that must be 0: about calls / 2**bits >= SAMPLE_STREAMS calls are sampled."""
    bits = 0
    while calls >> (bits + 1) >= SAMPLE_STREAMS:
        bits += 1
    return bits


@dataclass
class WireGaps:
    max_gap_ms: dict[str, list[float]] = field(default_factory=dict)   # direction -> per stream
    packets: int = 0
    dropped: str = ""                      # dumpcap's own count of packets it could not keep, as a phrase

    def quantile(self, direction: str, q: float) -> float | None:
        v = sorted(self.max_gap_ms.get(direction, []))
        if not v:
            return None
        return v[min(len(v) - 1, int(q * len(v)))]


class WireSample:
    """`with WireSample(path, calls, far_port): <the load>` then `.gaps()`."""

    def __init__(self, path: Path, calls: int, far_port: int, interface: str = "lo"):
        self.path, self.far_port = Path(path), far_port
        mask = (1 << sample_bits(calls)) - 1
        self.bpf = f"udp port {far_port} and udp[16:4] & {mask} = 0"
        self.argv = [tools.require("dumpcap"), "-i", interface, "-f", self.bpf, "-B", "64", "-q", "-w", str(self.path)]
        self.proc: subprocess.Popen | None = None
        self.stderr = ""

    def __enter__(self) -> "WireSample":
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 10
        while not (self.path.exists() and self.path.stat().st_size > 0):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"dumpcap did not start: {self.proc.communicate()[1].strip()}")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)
        try:
            self.stderr = self.proc.communicate(timeout=20)[1]
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.stderr = self.proc.communicate()[1]

    def gaps(self) -> WireGaps:
        out = tools.run_sync([tools.require("tshark"), "-r", str(self.path), "-q", "-o", "rtp.heuristic_rtp:TRUE",
                              "-z", "rtp,streams"], 900).check().stdout
        result = WireGaps({UP: [], DOWN: []})
        for line in out.splitlines():
            t = line.split()
            ssrc = next((i for i, x in enumerate(t) if x.startswith("0x")), None)
            lost = next((i for i, x in enumerate(t) if x.endswith("%)")), None)
            if ssrc is None or lost is None or ssrc < 4:
                continue
            src_port = int(t[ssrc - 3])
            direction = DOWN if src_port == self.far_port else UP
            result.max_gap_ms[direction].append(float(t[lost + 3]))
            result.packets += int(t[lost - 2])
        counts = re.search(r"received/dropped on interface .*?: (\d+)/(\d+)", self.stderr)
        result.dropped = f"dumpcap dropped {counts.group(2)}" if counts else "dumpcap's counts not seen"
        return result
