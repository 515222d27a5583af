"""Stored runs for the report tests, written through the real RunWriter and judged by the real
profile (cloud-pbx-single-site): one with every verdict kind, one that passed, one cut short.

The values are chosen, not measured; every report must still render them as the real probes would
have stored them (same metrics, tags, subjects and evidence paths).
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import yaml

from readiness import store
from readiness.config import profile as profile_mod
from readiness.model import Artefact, Detail, Measurement, NotMeasured, RunInfo, Series
from readiness.probes.calls.probe import no_phases

T0 = 1796112000.0            # 2026-12-01 08:00:00 UTC (09:00 in Köln)
CALLS = 4
SECONDS = 60

SITE = {"site": "Testfirma GmbH, Köln", "language": "de", "address": "Hauptstraße 1, 50667 Köln",
        "profile": "cloud-pbx-single-site", "voice_vlan": 20}


def write(run_dir: Path, kind: str = "mixed", calls: int = CALLS, seconds: int = SECONDS,
          start: float | None = None, run_id: str | None = None) -> Path:
    """kind: mixed (pass, fail, warn, not measured, not applicable), pass, or interrupted. `start`:
    another test window than T0's (a pilot's runs spread over days)."""
    global T0
    saved, T0 = T0, start if start is not None else T0
    try:
        return _write(run_dir, kind, calls, seconds, run_id or f"fixture{kind}")
    finally:
        T0 = saved


def _write(run_dir: Path, kind: str, calls: int, seconds: int, run_id: str) -> Path:
    profile = profile_mod.load("cloud-pbx-single-site")
    w = store.RunWriter(run_dir)
    inputs = Path(run_dir) / "inputs"
    inputs.mkdir(exist_ok=True)
    site_file = inputs / "site.yaml"
    site_file.write_text(yaml.safe_dump(SITE, allow_unicode=True), encoding="utf-8")
    for f in profile.chain:          # as the runner keeps them
        shutil.copy(f, inputs / Path(f).name)
    w.started(RunInfo(run_id=run_id, profile=profile.name, site=SITE["site"],
                      started=store.utc_iso(T0), criteria=profile.criteria, profile_file=profile.file,
                      site_file=str(site_file), tool_version="0.1.0", host="laptop-technik", command="run"))
    bad = kind == "mixed"
    _calls(w, calls, seconds, bad)
    _snmp(w, bad)
    _capture(w, bad)
    if kind == "interrupted":
        w.note("runner", "warning", "stopped by Ctrl-C")
        w.close()               # no run_finished: the run was cut short
        return _retime(Path(run_dir), seconds)
    _iperf(w, bad)
    _path(w)
    w.finished(False)
    w.close()
    return _retime(Path(run_dir), seconds)


def _retime(run_dir: Path, seconds: int) -> Path:
    """Spread the log's event times over the fixture's test window (T0 to T0 + seconds + 5 s), as a
    run of that length writes them, instead of the few milliseconds the fixture took."""
    path = run_dir / store.EVENTS
    events = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    for i, e in enumerate(events):
        e["t"] = round(T0 + (seconds + 5) * i / max(len(events) - 1, 1), 6)
    path.write_text("".join(json.dumps(e, separators=(",", ":")) + "\n" for e in events), encoding="utf-8")
    return run_dir


def _calls(w: store.RunWriter, calls: int, seconds: int, bad: bool) -> None:
    w.probe_started("calls")
    criteria = profile_mod.load("cloud-pbx-single-site").criteria     # calls without load, as the probe says
    no_phases(w, {c.metric for c in criteria}, {c.select["phase"] for c in criteria if "phase" in c.select})
    w.measurement(Measurement("call.answered_pct", 100.0, "%", "all calls", "calls", T0, T0 + seconds))
    for i in range(1, calls + 1):
        trace = f"artefacts/calls/call-{i:03d}.trace"
        w.artefact(Artefact(trace, "call-trace", "calls", f"packet trace of call {i}"))
        gen = lambda metric, v, unit: Measurement(metric, v, unit, f"call {i}", "calls", T0, T0 + seconds,
                                                  {"call": str(i)}, [trace])
        w.measurement(gen("generator.slip_max_ms", 0.4, "ms"))
        w.measurement(gen("generator.late_packets", 0, "count"))
        w.measurement(gen("generator.hold_max_ms", 0.2, "ms"))
        w.measurement(gen("generator.late_replies", 0, "count"))
        for d in ("up", "down"):
            worse = bad and i == 3 and d == "down"
            tags = {"direction": d, "call": str(i)}
            subject = f"call {i} {d}"
            m = lambda metric, v, unit: Measurement(metric, v, unit, subject, "calls", T0, T0 + seconds, tags, [trace])
            w.measurement(m("call.mos", 3.61 if worse else 4.38 - 0.01 * i, "MOS"))
            w.measurement(m("call.r_factor", 71.2 if worse else 92.1, "R"))
            w.measurement(m("call.mouth_to_ear_ms", 40.3 + i, "ms"))
            w.measurement(m("rtp.loss_pct", 2.4 if worse else 0.0, "%"))
            w.measurement(m("rtp.jitter_ms", 4.2 if worse else 0.8 + 0.1 * i, "ms"))
            w.measurement(m("rtp.dscp_remarked_pct", 0.0, "%"))
            loss = [(12.0 if worse and 20 <= s < 24 else 0.0) for s in range(seconds)]
            jitter = [0.8 + 0.3 * math.sin(s / 5) + (9.0 if worse and 20 <= s < 24 else 0.0) for s in range(seconds)]
            w.series(Series("rtp.loss_pct", "%", subject, "calls", T0, 1.0, loss, [50.0] * seconds, tags))
            w.series(Series("rtp.jitter_ms", "ms", subject, "calls", T0, 1.0, jitter, None, tags))
    w.probe_finished("calls", "ok")


def _path(w: store.RunWriter) -> None:
    w.probe_started("path")
    for t in ("udp", "tcp"):
        w.measurement(Measurement("path.sip_rewritten", False, "bool", f"sip:test@192.0.2.10:5060 ({t.upper()})",
                                  "path", T0, T0 + 1, {"transport": t}))
    target = "sip:test@192.0.2.10:5060"
    w.measurement(Measurement("path.large_invite_ok", True, "bool", target, "path", T0, T0 + 2, {"bytes": 1412}))
    w.measurement(Measurement("path.fragments_pass", True, "bool", target, "path", T0, T0 + 2))
    w.measurement(Measurement("path.ports_closed", 0, "ports", target, "path", T0, T0 + 2, {"checked": 8}))
    w.measurement(Measurement("path.nat_timeout_s", 180.0, "s", target, "path", T0, T0 + 183, {"at_least": True}))
    w.measurement(Measurement("sip.options_answered_pct", 100.0, "%", target, "path", T0, T0 + 5))
    for metric, why in (("dns.sip_ok", "the site file names no provider domain (path_checks.dns_domain)"),
                        ("tls.trusted", "the site file names no SIP/TLS far end (path_checks.tls)"),
                        ("tls.cert_days_left", "the site file names no SIP/TLS far end (path_checks.tls)")):
        w.not_measured(NotMeasured(metric, why, "the provider", "path", absent=True))
    transports = {t: {"transport": t, "local": "10.0.0.5:5062", "seen_from": "198.51.100.7:40123", "nat": True,
                      "rewritten": [], "error": ""} for t in ("udp", "tcp")}
    w.detail(Detail("sip_alg", {"target": target, "detected": False, "transport": "", "rewritten": [],
                                "transports": transports}, "path"))
    w.detail(Detail("nat", {"detected": True, "public_address": "198.51.100.7", "local_address": "10.0.0.5"}, "path"))
    w.detail(Detail("nat_timeout_s", 180.0, "path"))
    w.detail(Detail("nat_binding", {"target": target, "timeout_s": 180.0, "at_least": True, "forgotten_after_s": None,
                                    "keepalive_s": None, "keepalive_ok": None, "error": "",
                                    "attempts": [{"idle_s": i, "local_port": 40000 + i, "survived": True, "error": ""}
                                                 for i in (15.0, 30.0, 60.0, 120.0, 180.0)]}, "path"))
    w.detail(Detail("options", {"target": target, "transport": "udp", "sent": 5, "answered": 5, "answered_pct": 100.0,
                                "statuses": [200], "rtt_ms_median": 18.2, "rtt_ms_p95": 21.0, "rtt_ms_max": 21.0,
                                "samples": [], "error": ""}, "path"))
    w.probe_finished("path", "ok")


def _iperf(w: store.RunWriter, bad: bool) -> None:
    w.probe_started("iperf")
    metrics = ("iperf.loss_pct", "iperf.jitter_ms", "iperf.loaded_loss_pct", "iperf.loaded_jitter_ms")
    if bad:
        for metric in metrics:
            w.not_measured(NotMeasured(metric, "iperf3 server 192.0.2.10:5201 is busy (another test is running)",
                                       probe="iperf"))
        w.probe_finished("iperf", "error", "iperf3 server 192.0.2.10:5201 is busy")
        return
    for metric in metrics:
        for d in ("up", "down"):
            w.measurement(Measurement(metric, 0.02 if "jitter" in metric else 0.0,
                                      "ms" if "jitter" in metric else "%", f"iperf3 {d}", "iperf", T0, T0 + 10,
                                      {"direction": d}))
    w.probe_finished("iperf", "ok")


def _snmp(w: store.RunWriter, bad: bool) -> None:
    w.probe_started("snmp")
    sw, ups = "artefacts/snmp/access-switch.json", "artefacts/snmp/ups.json"
    dev = lambda name: {"device": name}
    w.measurement(Measurement("poe.headroom_w", -12.0 if bad else 221.0, "W", "access-switch", "snmp", T0, T0,
                              dev("access-switch"), [sw]))
    w.measurement(Measurement("vlan.voice_vlan_present", True, "bool", "access-switch", "snmp", T0, T0,
                              dev("access-switch"), [sw]))
    w.measurement(Measurement("vlan.voice_ports_missing", 3 if bad else 0, "ports",
                              "access-switch" + (" Gi1/0/5, Gi1/0/6, Gi1/0/7" if bad else ""), "snmp", T0, T0,
                              dev("access-switch"), [sw]))
    w.measurement(Measurement("lldp.voice_policy", not bad, "bool", "access-switch", "snmp", T0, T0,
                              dev("access-switch"), [sw]))
    w.measurement(Measurement("if.half_duplex_ports", 0, "ports", "access-switch", "snmp", T0, T0,
                              dev("access-switch"), [sw]))
    w.measurement(Measurement("if.error_ports", 0, "ports", "access-switch", "snmp", T0, T0,
                              dev("access-switch"), [sw]))
    w.measurement(Measurement("if.errors_during_test", 0, "errors", "access-switch Gi1/0/1", "snmp", T0, T0 + 60,
                              dev("access-switch"), [sw]))
    w.measurement(Measurement("ups.on_battery", False, "bool", "ups", "snmp", T0, T0, dev("ups"), [ups]))
    w.measurement(Measurement("ups.runtime_min", 9.0 if bad else 40.0, "min", "ups", "snmp", T0, T0, dev("ups"), [ups]))
    w.probe_finished("snmp", "ok")


def _capture(w: store.RunWriter, bad: bool) -> None:
    w.probe_started("capture")
    pcap = "artefacts/capture/capture.pcapng"
    w.artefact(Artefact(pcap, "capture", "capture", "packets captured during the calls"))
    w.measurement(Measurement("capture.media_dscp_ok_pct", 40.0 if bad else 100.0, "%",
                              "RTP 10.0.20.11:40000 -> 192.0.2.20:50000 ssrc 0x2B447AC9", "capture", T0, T0 + 60,
                              {}, [pcap]))
    w.probe_finished("capture", "ok")
