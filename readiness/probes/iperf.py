"""iperf3 probe: voice-sized UDP marked EF in both directions (jitter, loss), TCP capacity, and voice
measured while a second iperf3 server carries a bulk load (does QoS protect voice?).

Runs the `iperf3` binary with --json: the Python `iperf3` wrapper (0.1.11, ctypes over libiperf.so.0)
runs the test in-process and cannot be interrupted cleanly, which a Ctrl-C safe run needs.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from .. import codecs, tools
from ..config.site import Iperf, SiteSpec
from ..model import Artefact, Measurement, NotMeasured, Series
from ..units import parse_duration_s
from .base import Probe, ProbeContext
from .iperf_client import IperfError, run_test
from .iperf_result import TcpResult, UdpResult

RTP_HEADER = 12


def voice_args(cfg: Iperf, media_dscp: int) -> list[str]:
    """UDP shaped like the site's calls: one stream per call, codec payload + RTP header, ptime 20 ms."""
    codec = codecs.get(cfg.codec)
    length = codec.payload_bytes(20) + RTP_HEADER
    per_stream_bps = length * 8 * 50
    streams = min(cfg.voice_streams, 128)  # iperf3's -P limit
    return ["-u", "-b", str(per_stream_bps), "-l", str(length), "-P", str(streams), "--dscp", str(media_dscp)]


class IperfProbe(Probe):
    name = "iperf"
    phase = "traffic"

    def configured(self, site: SiteSpec) -> str | None:
        return None if site.iperf else "the site file has no iperf: section"

    async def run(self, ctx: ProbeContext) -> None:
        cfg = ctx.site.iperf
        assert cfg is not None
        tools.require("iperf3")                   # missing: nothing to try
        duration = parse_duration_s(cfg.duration)
        dscp = ctx.site.markings.media_dscp()
        out_dir = ctx.recorder.artefact_dir(self.name)
        steps = [("voice-up", False), ("voice-down", True)]
        if cfg.capacity:
            steps += [("capacity-up", False), ("capacity-down", True)]
        task = ctx.progress.task("iperf3", total=len(steps) + (1 if cfg.load_server else 0))
        for i, (label, reverse) in enumerate(steps):
            ctx.progress.update(task, completed=i, info=label)
            extra = voice_args(cfg, dscp) if label.startswith("voice") else ["-P", "4"]
            try:
                result, path = await self._client(cfg.server, extra, reverse, duration, out_dir / f"{label}.json", cfg.busy_wait)
            except IperfError as e:
                metrics = (["iperf.jitter_ms", "iperf.loss_pct"] if label.startswith("voice")
                           else ["iperf.throughput_mbps"])
                for metric in metrics:
                    ctx.recorder.not_measured(NotMeasured(metric, str(e), subject=label, probe=self.name,
                                                          tags={"direction": _direction(reverse)}))
                ctx.recorder.note(self.name, "warning", str(e))
                continue
            self._record(ctx, label, result, path, reverse, loaded=False)
        if cfg.load_server:
            ctx.progress.update(task, completed=len(steps), info="voice under load")
            await self._loaded(ctx, cfg, duration, dscp, out_dir)
        ctx.progress.done(task, "done")

    async def _loaded(self, ctx: ProbeContext, cfg: Iperf, duration: float, dscp: int, out_dir: Path) -> None:
        load = ["-P", "4"] + (["-b", f"{cfg.load_mbps / 4:g}M"] if cfg.load_mbps else [])
        load_task = asyncio.create_task(
            self._client(cfg.load_server, load, False, duration + 2, out_dir / "load.json", cfg.busy_wait))
        await asyncio.sleep(1.0)  # let TCP ramp up before voice starts
        try:
            result, path = await self._client(cfg.server, voice_args(cfg, dscp), False, duration,
                                              out_dir / "voice-loaded.json", cfg.busy_wait)
            self._record(ctx, "voice-loaded", result, path, False, loaded=True)
        except IperfError as e:
            for metric in ("iperf.loaded_jitter_ms", "iperf.loaded_loss_pct"):
                ctx.recorder.not_measured(NotMeasured(metric, str(e), subject="voice-loaded", probe=self.name))
        try:
            load_result, load_path = await load_task
            ctx.recorder.artefact(Artefact(ctx.recorder.relative(load_path), "iperf3-json", self.name,
                                           "bulk TCP load during the loaded voice test"))
        except IperfError as e:
            for metric in ("iperf.loaded_jitter_ms", "iperf.loaded_loss_pct"):
                ctx.recorder.not_measured(NotMeasured(metric, f"the load did not run: {e}", probe=self.name))

    async def _client(self, server: str, extra: list[str], reverse: bool, duration: float,
                      save: Path, busy_wait: str = "30 s") -> tuple[UdpResult | TcpResult, Path]:
        done = await run_test(server, extra, reverse, duration, save, parse_duration_s(busy_wait))
        return done.result, done.path

    def _record(self, ctx: ProbeContext, label: str, result: UdpResult | TcpResult, path: Path,
                reverse: bool, loaded: bool) -> None:
        rec = ctx.recorder
        rel = rec.relative(path)
        rec.artefact(Artefact(rel, "iperf3-json", self.name, label))
        direction = _direction(reverse)
        tags = {"direction": direction, "test": label}
        subject = f"iperf3 {direction}" + (" under load" if loaded else "")
        end = result.start_epoch + result.seconds
        if isinstance(result, TcpResult):
            rec.measurement(Measurement("iperf.throughput_mbps", result.received_bps / 1e6, "Mbps", subject,
                                        self.name, result.start_epoch, end, tags, [rel]))
            return
        prefix = "iperf.loaded_" if loaded else "iperf."
        rec.measurement(Measurement(prefix + "jitter_ms", result.jitter_ms, "ms", subject, self.name,
                                    result.start_epoch, end, tags, [rel]))
        rec.measurement(Measurement(prefix + "loss_pct", result.lost_pct, "%", subject, self.name,
                                    result.start_epoch, end, tags, [rel]))
        if result.intervals:
            step = result.intervals[0].seconds or 1.0
            start = result.start_epoch + result.intervals[0].start_s
            rec.series(Series(prefix + "jitter_ms", "ms", subject, self.name, start, step,
                              [iv.jitter_ms for iv in result.intervals], None, tags))
            rec.series(Series(prefix + "loss_pct", "%", subject, self.name, start, step,
                              [100.0 * iv.lost / iv.packets if iv.packets else None for iv in result.intervals],
                              [float(iv.packets or 0) for iv in result.intervals], tags))


def _direction(reverse: bool) -> str:
    return "down" if reverse else "up"
