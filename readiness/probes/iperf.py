"""iperf3 probe: voice-sized UDP marked EF per direction (jitter, loss, per-second intervals), TCP
capacity against what the planned calls need, and voice measured while a second iperf3 server
carries a bulk load (does QoS protect voice?). `readiness iperf` and `readiness run` run it.

One client test at a time through iperf_client.py (a busy server is asked again within a bound);
what each test measured goes to the run as it comes, and the `iperf` detail (details/iperf.py) is
rewritten after every test, so a run cut short keeps what it had.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from .. import codecs, tools
from ..analysis import bandwidth
from ..config.site import Iperf, SiteSpec
from ..details import iperf as detail
from ..model import Artefact, Detail, Measurement, NotMeasured, Series
from ..units import parse_duration_s
from .base import Probe, ProbeContext
from .iperf_client import ClientRun, IperfError, run_test
from .iperf_result import TcpResult, UdpResult

RTP_HEADER = 12          # RFC 3550 5.1
MAX_STREAMS = 128        # iperf3's -P limit
CAPACITY_STREAMS = 4
VOICE_METRICS = ("iperf.jitter_ms", "iperf.loss_pct")
CAPACITY_METRICS = ("iperf.throughput_mbps", "iperf.capacity_spare_mbps")


def voice_args(cfg: Iperf, media_dscp: int) -> list[str]:
    """UDP shaped like the site's calls: one stream per call, codec payload + RTP header, every ptime."""
    length = codecs.get(cfg.codec).payload_bytes(cfg.ptime_ms) + RTP_HEADER
    per_stream_bps = length * 8 * 1000 // cfg.ptime_ms
    streams = min(cfg.voice_streams, MAX_STREAMS)
    return ["-u", "-b", str(per_stream_bps), "-l", str(length), "-P", str(streams), "--dscp", str(media_dscp)]


def directions(cfg: Iperf) -> tuple[str, ...]:
    return ("up", "down") if cfg.direction == "both" else (cfg.direction,)


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
        busy = parse_duration_s(cfg.busy_wait)
        dscp = ctx.site.markings.media_dscp()
        out_dir = ctx.recorder.artefact_dir(self.name)
        steps = ([("voice", d) for d in directions(cfg) if cfg.voice]
                 + [("capacity", d) for d in directions(cfg) if cfg.capacity])
        account = detail.IperfAccount(server=cfg.server)
        # recorded at once: a run cut short in its first test still says which server it was asking
        ctx.recorder.detail(Detail(detail.IPERF, account.to_json(), self.name))
        task = ctx.progress.task("iperf3", total=len(steps) + (1 if cfg.load_server else 0))
        for i, (kind, direction) in enumerate(steps):
            label = f"{kind}-{direction}"
            ctx.progress.update(task, completed=i, info=label)
            extra = voice_args(cfg, dscp) if kind == "voice" else ["-P", str(CAPACITY_STREAMS)]
            try:
                done = await run_test(cfg.server, extra, direction == "down", duration, out_dir / f"{label}.json",
                                      busy)
            except IperfError as e:
                for metric in VOICE_METRICS if kind == "voice" else CAPACITY_METRICS:
                    ctx.recorder.not_measured(NotMeasured(metric, str(e), subject=f"iperf3 {direction}",
                                                          probe=self.name, tags={"direction": direction}))
                ctx.recorder.note(self.name, "warning", str(e))
                account.errors[label] = str(e)
                ctx.recorder.detail(Detail(detail.IPERF, account.to_json(), self.name))
                continue
            account.iperf3_version = done.client_version
            account.server_version = done.server_version or account.server_version
            rel = ctx.recorder.relative(done.path)
            ctx.recorder.artefact(Artefact(rel, "iperf3-json", self.name, label))
            if isinstance(done.result, UdpResult):
                setattr(account, direction, self._voice(ctx, done, direction, rel, cfg, dscp))
            elif isinstance(done.result, TcpResult):
                account.capacity[direction] = self._capacity(ctx, done.result, direction, rel)
            ctx.recorder.detail(Detail(detail.IPERF, account.to_json(), self.name))
        if cfg.load_server:
            ctx.progress.update(task, completed=len(steps), info="voice under load")
            await self._loaded(ctx, cfg, duration, busy, dscp, out_dir)
        ctx.progress.done(task, "done")

    def _voice(self, ctx: ProbeContext, done: ClientRun, direction: str, rel: str, cfg: Iperf,
               dscp: int) -> dict:
        r = done.result
        assert isinstance(r, UdpResult)
        self._record_udp(ctx, r, direction, rel, loaded=False)
        return detail.VoiceDirection(
            packets=r.packets, lost_packets=r.lost, lost_pct=round(r.lost_pct, 4), jitter_ms=r.jitter_ms,
            bits_per_second=r.bits_per_second,
            intervals=[{"start_s": iv.start_s, "seconds": iv.seconds, "jitter_ms": iv.jitter_ms, "lost": iv.lost,
                        "packets": iv.packets} for iv in r.intervals],
            streams=r.streams, packet_bytes=codecs.get(cfg.codec).payload_bytes(cfg.ptime_ms) + RTP_HEADER,
            dscp_sent=dscp, evidence=rel).__dict__

    def _capacity(self, ctx: ProbeContext, r: TcpResult, direction: str, rel: str) -> dict:
        """Throughput, and what is left after the planned calls' voice (Ethernet level, Cisco doc 7934
        header assumptions) and the site's data headroom."""
        site, cfg = ctx.site, ctx.site.iperf
        assert cfg is not None
        uplink = site.uplink
        calls = site.calls.concurrent if site.calls is not None else cfg.voice_streams
        need = bandwidth.voice_need_bps(cfg.codec, calls, cfg.ptime_ms, vlan=bool(uplink and uplink.vlan),
                                        srtp=bool(uplink and uplink.srtp))
        headroom = (uplink.data_headroom_mbps * 1e6) if uplink else 0.0
        spare = r.received_bps - need - headroom
        subject = f"iperf3 {direction}"
        tags = {"direction": direction, "test": f"capacity-{direction}"}
        end = r.start_epoch + r.seconds
        ctx.recorder.measurement(Measurement("iperf.throughput_mbps", r.received_bps / 1e6, "Mbps", subject,
                                             self.name, r.start_epoch, end, tags, [rel]))
        ctx.recorder.measurement(Measurement("iperf.capacity_spare_mbps", spare / 1e6, "Mbps", subject, self.name,
                                             r.start_epoch, end, dict(tags, calls=str(calls)), [rel]))
        return detail.CapacityDirection(
            bits_per_second=r.received_bps, retransmits=r.retransmits, calls=calls, codec=cfg.codec,
            voice_need_bps=need, data_headroom_bps=headroom, spare_bps=spare, evidence=rel).__dict__

    async def _loaded(self, ctx: ProbeContext, cfg: Iperf, duration: float, busy: float, dscp: int,
                      out_dir: Path) -> None:
        load = ["-P", str(CAPACITY_STREAMS)] + (["-b", f"{cfg.load_mbps / CAPACITY_STREAMS:g}M"] if cfg.load_mbps else [])
        load_task = asyncio.create_task(run_test(cfg.load_server, load, False, duration + 2, out_dir / "load.json",
                                                 busy))
        try:
            await asyncio.sleep(1.0)  # let TCP ramp up before voice starts
            try:
                done = await run_test(cfg.server, voice_args(cfg, dscp), False, duration,
                                      out_dir / "voice-loaded.json", busy)
                rel = ctx.recorder.relative(done.path)
                ctx.recorder.artefact(Artefact(rel, "iperf3-json", self.name, "voice-loaded"))
                assert isinstance(done.result, UdpResult)
                self._record_udp(ctx, done.result, "up", rel, loaded=True)
            except IperfError as e:
                for metric in ("iperf.loaded_jitter_ms", "iperf.loaded_loss_pct"):
                    ctx.recorder.not_measured(NotMeasured(metric, str(e), subject="voice-loaded", probe=self.name))
            try:
                load_run = await load_task
                ctx.recorder.artefact(Artefact(ctx.recorder.relative(load_run.path), "iperf3-json", self.name,
                                               "bulk TCP load during the loaded voice test"))
            except IperfError as e:
                for metric in ("iperf.loaded_jitter_ms", "iperf.loaded_loss_pct"):
                    ctx.recorder.not_measured(NotMeasured(metric, f"the load did not run: {e}", probe=self.name))
        finally:
            if not load_task.done():
                load_task.cancel()           # its iperf3 is killed with it
                await asyncio.gather(load_task, return_exceptions=True)

    def _record_udp(self, ctx: ProbeContext, r: UdpResult, direction: str, rel: str, loaded: bool) -> None:
        rec = ctx.recorder
        tags = {"direction": direction, "test": f"voice-{direction}" if not loaded else "voice-loaded"}
        subject = f"iperf3 {direction}" + (" under load" if loaded else "")
        end = r.start_epoch + r.seconds
        prefix = "iperf.loaded_" if loaded else "iperf."
        rec.measurement(Measurement(prefix + "jitter_ms", r.jitter_ms, "ms", subject, self.name, r.start_epoch, end,
                                    tags, [rel]))
        rec.measurement(Measurement(prefix + "loss_pct", r.lost_pct, "%", subject, self.name, r.start_epoch, end,
                                    tags, [rel]))
        if r.intervals:
            step = r.intervals[0].seconds or 1.0
            start = r.start_epoch + r.intervals[0].start_s
            rec.series(Series(prefix + "jitter_ms", "ms", subject, self.name, start, step,
                              [iv.jitter_ms for iv in r.intervals], None, tags))
            rec.series(Series(prefix + "loss_pct", "%", subject, self.name, start, step,
                              [100.0 * iv.lost / iv.packets if iv.packets else None for iv in r.intervals],
                              [float(iv.packets or 0) for iv in r.intervals], tags))
