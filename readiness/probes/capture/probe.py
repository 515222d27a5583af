"""The capture probe: records on the site's interface while the traffic probes run, keeps the pcapng
as the run's evidence, analyses it and records what it shows; or analyses a capture file the
technician brings (`capture.file`, `readiness analyze`). It measures; acceptance judges.

Phase `background`: started before the traffic probes; stops when `ctx.traffic_done` is set (or
after the site file's `capture.duration`, whichever comes first; without traffic probes, after the
duration). dumpcap is stopped and reaped in every case, also when the run is cancelled (Ctrl-C); a
file cut short by that is still analysed.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ...config.site import SiteSpec
from ...details import capture as detail
from ...model import Artefact, Detail, Measurement, NotMeasured
from ...units import parse_duration_s
from ..base import Probe, ProbeContext
from .analyze import Analysis, analyse
from .live import LiveCapture
from .markings import VOICE_KINDS
from .pcap import CaptureFileError
from .stream_stats import StreamResult

# After the traffic ends, keep capturing briefly: the last packets may still be in flight or in the
# kernel's capture buffer, and stopping dumpcap at once would lose them (and count them as lost).
STOP_GRACE_S = 0.5
VOICE_APPLICATION = 1        # TIA-1057 network policy application type "voice"
NO_LLDP = ("no LLDP frame was seen during the capture (switches send one every 30 s by default: capture "
           "longer, or the port does not run LLDP)")
NO_CDP = "no CDP frame was seen during the capture (CDP is sent every 60 s by default)"


class CaptureProbe(Probe):
    name = "capture"
    phase = "background"

    def configured(self, site: SiteSpec) -> str | None:
        return None if site.capture else "the site file has no capture: section"

    async def run(self, ctx: ProbeContext) -> None:
        cfg = ctx.site.capture
        assert cfg is not None
        rec = ctx.recorder
        if cfg.file is not None:
            path = ctx.site.path(cfg.file).resolve()
            if not path.is_file():
                raise CaptureFileError(f"{path}: no such file")
            rec.artefact(Artefact(str(path), "pcap", self.name, "the capture analysed (not copied into the run)"))
            task = ctx.progress.task(f"reading {path.name}", total=max(path.stat().st_size, 1))
            analysis = await asyncio.to_thread(analyse, path, ctx.site.markings, lambda done, total: ctx.progress.update(
                task, completed=done, info=f"{done / 1e6:.0f} MB"))
            start = analysis.first_ns / 1e9 if analysis.first_ns is not None else 0.0
            end = analysis.last_ns / 1e9 if analysis.last_ns is not None else start
            self._conclude(ctx, analysis, str(path), start, end, task)
            return
        path = rec.artefact_dir(self.name) / "capture.pcapng"
        limit = parse_duration_s(cfg.duration) if cfg.duration else None
        task = ctx.progress.task(f"capture on {cfg.interface}")
        cap = LiveCapture(cfg.interface, path, cfg.filter, limit, cfg.snaplen)
        await cap.start()
        stopped_early = False
        try:
            ctx.progress.update(task, info="recording")
            stops = [asyncio.ensure_future(cap.wait())]
            if ctx.traffic_planned or limit is None:
                stops.append(asyncio.ensure_future(ctx.traffic_done.wait()))
            try:
                await asyncio.wait(stops, return_when=asyncio.FIRST_COMPLETED)
                if cap.running:
                    await asyncio.sleep(STOP_GRACE_S)
            finally:
                for s in stops:
                    s.cancel()
        except asyncio.CancelledError:
            # Ctrl-C or SIGTERM: what was captured is still evidence; the run stays marked incomplete
            stopped_early = True
            ctx.progress.say(f"capture on {cfg.interface} stopped early: analysing what was captured")
        finally:
            await cap.stop()
        rel = rec.relative(path)
        rec.artefact(Artefact(rel, "pcapng", self.name, f"packets on {cfg.interface} during the run"))
        ctx.progress.update(task, info="analysing")
        analysis = await asyncio.to_thread(analyse, path, ctx.site.markings)
        analysis.problems.extend(cap.rec.problems())
        self._conclude(ctx, analysis, rel, cap.rec.started, cap.rec.stopped, task)
        if stopped_early:
            raise asyncio.CancelledError

    def _conclude(self, ctx: ProbeContext, analysis: Analysis, rel: str, start: float, end: float, task: int) -> None:
        rec = ctx.recorder
        for problem in analysis.problems:
            rec.note(self.name, "warning", problem)
        doc = analysis.to_json()
        for key in detail.KEYS:
            rec.detail(Detail(key, doc[key], self.name))
        self._record(ctx, analysis, rel, start, end)
        ctx.progress.done(task, f"{analysis.packets} packets, {len(analysis.streams)} RTP streams")

    # --- what the capture shows -----------------------------------------------------------------
    def _record(self, ctx: ProbeContext, a: Analysis, rel: str, start: float, end: float) -> None:
        rec = ctx.recorder
        voice = [s for s in a.streams if s.kind in VOICE_KINDS]
        if not voice:
            for metric in ("capture.media_dscp_ok_pct", "capture.voice_pcp_ok_pct", "capture.rtp_loss_pct",
                           "capture.rtp_jitter_ms", "capture.rtp_mos"):
                rec.not_measured(NotMeasured(metric, "no voice RTP stream in the capture", probe=self.name,
                                             absent=True))
        media_dscp = ctx.site.markings.media_dscp()
        media_pcp = ctx.site.markings.media_pcp
        numbers = {id(s): i + 1 for i, s in enumerate(a.streams)}
        for s in voice:
            tags = _tags(s, numbers[id(s)])
            subject = f"RTP {s.label()} ssrc 0x{s.key.ssrc:08X}"
            m = _measure(subject, s, rel, tags)
            total = int(s.dscp_counts.sum())
            rec.measurement(m("capture.media_dscp_ok_pct", 100.0 * int(s.dscp_counts[media_dscp]) / total, "%"))
            tagged = {k: c for k, c in s.tag_counts.items() if k[0] >= 0}
            if tagged:
                ok = sum(c for (_, p), c in tagged.items() if p == media_pcp)
                rec.measurement(m("capture.voice_pcp_ok_pct", 100.0 * ok / sum(tagged.values()), "%"))
            else:
                rec.not_measured(NotMeasured("capture.voice_pcp_ok_pct", "voice frames were not 802.1Q-tagged where "
                                             "captured (access port, or the capture strips tags)", subject,
                                             self.name, tags, absent=True))
            rec.measurement(m("capture.rtp_loss_pct", s.rfc.loss_pct, "%"))
            if s.series is not None:
                # per second, so windowed criteria ("below 1 % in any 15 s") judge the stream over time
                rec.series(s.series.to_series("capture.rtp_loss_pct", "loss_pct", subject, self.name, tags))
                if s.ws.jitter_mean_ms is not None:
                    rec.series(s.series.to_series("capture.rtp_jitter_ms", "jitter_ms", subject, self.name, tags))
            if s.ws.jitter_mean_ms is not None:
                rec.measurement(m("capture.rtp_jitter_ms", s.ws.jitter_mean_ms, "ms"))
            else:
                rec.not_measured(NotMeasured("capture.rtp_jitter_ms", "RTP clock rate unknown", subject, self.name, tags))
            if s.mos is not None:
                rec.measurement(m("capture.rtp_mos", s.mos, "MOS"))
            else:
                rec.not_measured(NotMeasured("capture.rtp_mos", s.mos_note or "not scored", subject, self.name, tags))
        self._signalling(ctx, a, rel, start, end)
        self._discovery(ctx, a, rel, start, end)

    def _signalling(self, ctx: ProbeContext, a: Analysis, rel: str, start: float, end: float) -> None:
        pct = a.markings.get("signalling_dscp_ok_pct")
        if pct is None:
            ctx.recorder.not_measured(NotMeasured("capture.signalling_dscp_ok_pct", "no SIP message in the capture",
                                                  probe=self.name, absent=True))
            return
        ctx.recorder.measurement(Measurement(
            "capture.signalling_dscp_ok_pct", pct, "%", f"SIP signalling ({a.markings['signalling_packets']} messages)",
            self.name, start, end, {}, [rel]))

    def _discovery(self, ctx: ProbeContext, a: Analysis, rel: str, start: float, end: float) -> None:
        rec = ctx.recorder

        def put(metric: str, value: Any, unit: str, subject: str, tags: dict[str, str]) -> None:
            rec.measurement(Measurement(metric, value, unit, subject, self.name, start, end, tags, [rel]))

        if not a.lldp:
            for metric in ("lldp.voice_vlan", "lldp.voice_dscp", "lldp.voice_priority", "lldp.location_present"):
                rec.not_measured(NotMeasured(metric, NO_LLDP, probe=self.name))
        for n in a.lldp:
            subject = f"LLDP {n.get('system_name') or n.get('chassis_id')} port {n.get('port_id')}"
            tags = {"device": str(n.get("system_name") or n.get("chassis_id")), "port": str(n.get("port_id"))}
            put("lldp.location_present", n.get("location") is not None, "bool", subject, tags)
            policy = next((p for p in n["med_policies"] if p["application_type"] == VOICE_APPLICATION), None)
            if policy is None or policy["unknown"]:
                why = ("the switch sends LLDP but no LLDP-MED voice network policy" if policy is None
                       else "the switch's LLDP-MED voice policy is flagged unknown (not configured)")
                for metric in ("lldp.voice_vlan", "lldp.voice_dscp", "lldp.voice_priority"):
                    rec.not_measured(NotMeasured(metric, why, subject, self.name, tags))
                continue
            ptags = dict(tags, tagged=str(policy["tagged"]).lower())
            # TIA-1057: untagged (T = 0) means VLAN and priority are not used: VLAN reads as 0
            put("lldp.voice_vlan", policy["vlan"] if policy["tagged"] else 0, "vlan", subject, ptags)
            put("lldp.voice_dscp", policy["dscp"], "dscp", subject, ptags)
            put("lldp.voice_priority", policy["priority"], "count", subject, ptags)
        if not a.cdp:
            rec.not_measured(NotMeasured("cdp.voice_vlan", NO_CDP, probe=self.name))
        for n in a.cdp:
            subject = f"CDP {n.get('device_id')} port {n.get('port_id')}"
            tags = {"device": str(n.get("device_id")), "port": str(n.get("port_id"))}
            if n.get("voice_vlan") is None:
                rec.not_measured(NotMeasured("cdp.voice_vlan", "the switch sends CDP without a voice VLAN", subject,
                                             self.name, tags))
            else:
                put("cdp.voice_vlan", n["voice_vlan"], "vlan", subject, tags)


def _tags(s: StreamResult, number: int) -> dict[str, str]:
    """`stream` is the stream's place in the capture's stream list (rtp_streams), 1 first."""
    tags = {"stream": str(number), "ssrc": f"0x{s.key.ssrc:08X}", "src": f"{s.key.src}:{s.key.sport}",
            "dst": f"{s.key.dst}:{s.key.dport}", "codec": s.codec, "kind": s.kind}
    if s.call_id:
        tags["call"] = s.call_id
    return tags


def _measure(subject: str, s: StreamResult, rel: str, tags: dict[str, str]):
    def make(metric: str, value: float, unit: str) -> Measurement:
        return Measurement(metric, value, unit, subject, "capture", s.start, s.end, tags, [rel])
    return make
