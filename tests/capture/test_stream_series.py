"""Per-stream time series of a capture (issues 9 and 14): jitter, arrival gap and loss per second.

Ground truth for jitter and delta: tshark's own per-packet fields (`-T fields`: arrival, seq, RTP
timestamp, marker, PT) run through Wireshark's RTP analysis rules (tap-rtp-analysis.c) written out
here in plain Python, independent of the project's vectorised code; that replay is first held to
tshark's own `-z rtp,streams` totals (max delta, max and mean jitter), then binned per second and
compared with the series. Loss: a lab capture of a real sender whose packets an nftables rule drops
for a known 3 s (its counter is the truth), recorded by dumpcap behind the drop.
"""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from readiness import results as results_mod
from readiness.probes.capture.analyze import analyse
from readiness.reports.language import Language
from readiness.reports.plots import plots
from tests.capture.test_rtp_edge_cases import _tshark_rows
from tests.conftest import REPO, need_tool
from tests.netlab import veth_pair

PRINTED = 0.0006                      # tshark prints %.3f
CN = (13, 19)
FIELDS = ("frame.time_epoch", "rtp.ssrc", "rtp.seq", "rtp.timestamp", "rtp.marker", "rtp.p_type")


def _tshark_packets(path: Path) -> dict[int, list[tuple]]:
    """(epoch ns, seq, ts, marker, pt) per SSRC, in arrival order, as tshark dissects them (not the RTP
    headers quoted in ICMP errors: the receiver in the lab has no socket on the port)."""
    cmd = [need_tool("tshark"), "-r", str(path), "-o", "rtp.heuristic_rtp:TRUE", "-Y", "rtp && !icmp", "-T", "fields",
           "-E", "separator=,"] + [a for f in FIELDS for a in ("-e", f)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=60).stdout
    streams: dict[int, list[tuple]] = {}
    for line in out.splitlines():
        t, ssrc, seq, ts, marker, pt = line.split(",")[:6]
        streams.setdefault(int(ssrc, 16), []).append((_ns(t), int(seq), int(ts), marker in ("1", "True"), int(pt)))
    return streams


def _ns(text: str) -> int:
    """Epoch text to integer ns: a float would lose the last digits tshark prints."""
    sec, _, frac = text.partition(".")
    return int(sec) * 10**9 + int(frac.ljust(9, "0")[:9])


def _replay(packets: list[tuple], clock: int) -> list[tuple[float, float, float, bool]]:
    """tap-rtp-analysis.c per packet: (arrival ns, jitter ms, delta ms, counted in the statistics)."""
    first_t, _, first_ts, _, first_pt = packets[0]
    out = [(first_t, 0.0, 0.0, False)]
    time_prev, lastnom, jitter, prev_pt = 0.0, 0.0, 0.0, first_pt
    for t, _, ts, marker, pt in packets[1:]:
        t_ms = (t - first_t) / 1e6
        ticks = (ts - first_ts) & 0xFFFFFFFF
        intime = ticks < 0x80000000
        delta = t_ms - time_prev
        if intime:
            nom = ticks / (clock // 1000)
            jitter = (15 * jitter + abs(t_ms - (time_prev + nom - lastnom))) / 16
            lastnom, time_prev = nom, t_ms
        counted = intime and not marker and pt not in CN and prev_pt not in CN
        prev_pt = pt
        out.append((t, jitter, delta, counted))
    return out


def _per_second(replayed) -> dict[int, tuple[float, float, float]]:
    """second -> (mean jitter, max jitter, max delta) over the counted packets."""
    origin, k_prev, bins = replayed[0][0], 0, {}
    for t, j, d, counted in replayed:
        k = max(k_prev, (t - origin) // 10**9)
        k_prev = k
        if counted:
            bins.setdefault(k, []).append((j, d))
    return {k: (sum(j for j, _ in v) / len(v), max(j for j, _ in v), max(d for _, d in v)) for k, v in bins.items()}


def _check_against_tshark(path: Path, result, voice_only: bool = True) -> list[str]:
    """Every stream's series against the replay of tshark's packets; returns what was compared."""
    packets, totals, compared = _tshark_packets(path), _tshark_rows(path), []
    for s in result.streams:
        if (voice_only and s.kind != "voice") or s.series is None or not s.clock_hz:
            continue
        replayed = _replay(packets[s.key.ssrc], s.clock_hz)
        want = totals[s.key.ssrc]
        counted = [r for r in replayed if r[3]]
        # the replay is Wireshark's own analysis: its totals are tshark's
        assert max(r[2] for r in counted) == pytest.approx(want["max_delta"], abs=PRINTED)
        assert max(r[1] for r in counted) == pytest.approx(want["max_jitter"], abs=PRINTED)
        bins = _per_second(replayed)
        d = s.series
        assert d.origin == pytest.approx(replayed[0][0] / 1e9, abs=1e-6)
        for k in range(len(d)):
            if k in bins:
                mean_j, max_j, max_d = bins[k]
                assert (d.jitter_ms[k], d.jitter_max_ms[k], d.delta_max_ms[k]) == pytest.approx(
                    (mean_j, max_j, max_d), abs=1e-6), (s.label(), k)
            else:
                assert math.isnan(d.jitter_ms[k]) and math.isnan(d.delta_max_ms[k]), (s.label(), k)
        assert np.nanmax(d.delta_max_ms) == pytest.approx(want["max_delta"], abs=PRINTED)
        compared.append(f"0x{s.key.ssrc:08X}: {len(d)} s, max delta {want['max_delta']} ms, "
                        f"max jitter {want['max_jitter']} ms")
    return compared


def test_corpus_streams_series_agree_with_tshark_per_packet(corpus):
    path = corpus / "pcaps" / "calls" / "SIP_Eyebeam2Eyebeam_Video_Audio.pcap"
    result = analyse(path)
    compared = _check_against_tshark(path, result)
    assert len(compared) == 2, compared                        # both audio directions
    for s in result.streams:
        d = s.series
        # no loss in the file: every second expects packets and loses none; packets add up
        assert int(d.packets.sum()) == s.packets and int(d.lost.sum()) == s.rfc.lost == 0
        assert int(d.expected.sum()) == s.rfc.expected


# --- a real sender, a 3 s outage by an nftables rule, dumpcap behind it ----------------------------
PACKETS = 400                    # 8 s at 20 ms
DROP_AT_S, DROP_FOR_S = 2.5, 3.0
SSRC, SPORT, DPORT = 0x5E51E5, 41500, 42500


@pytest.fixture(scope="module")
def outage_capture(tmp_path_factory) -> tuple[Path, int, float, float]:
    """(capture, packets the rule dropped, epoch the rule went in, epoch it came out)."""
    path = tmp_path_factory.mktemp("outage") / "outage.pcapng"
    with veth_pair("10.66.0") as pair:
        # on the sender's interface (netdev egress): dropped on the wire, the socket sees no error
        pair.run(pair.a, "nft", "add", "table", "netdev", "lab")
        pair.run(pair.a, "nft", "add", "chain", "netdev", "lab", "out",
                 f"{{ type filter hook egress device {pair.a_if} priority 0; }}")
        pair.run(pair.a, "nft", "add", "counter", "netdev", "lab", "dropped")
        cap = pair.popen(pair.b, [need_tool("dumpcap"), "-i", pair.b_if, "-w", str(path), "-q"],
                         stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 15
            while "Capturing on" not in cap.stderr.readline():
                assert time.monotonic() < deadline and cap.poll() is None, "dumpcap did not start"
            sender = pair.popen(pair.a, [sys.executable, "-m", "tests.capture.rtp_sender", str(SPORT), pair.b_ip,
                                         str(DPORT), hex(SSRC), str(PACKETS)], cwd=REPO, stderr=subprocess.PIPE,
                                text=True)
            time.sleep(DROP_AT_S)
            pair.run(pair.a, "nft", "add", "rule", "netdev", "lab", "out", "udp", "dport", str(DPORT), "counter",
                     "name", "dropped", "drop")
            on = time.time()
            time.sleep(DROP_FOR_S)
            pair.run(pair.a, "nft", "flush", "chain", "netdev", "lab", "out")
            off = time.time()
            # a named counter outlives the rule: read after the rule is gone, it is exact
            listed = pair.run(pair.a, "nft", "list", "counter", "netdev", "lab", "dropped").stdout
            dropped = int(re.search(r"packets (\d+)", listed).group(1))
            assert sender.wait(timeout=30) == 0, sender.stderr.read()
            time.sleep(0.5)
        finally:
            cap.send_signal(signal.SIGINT)
            cap.wait(timeout=15)
    return path, dropped, on, off


def test_a_3_s_outage_shows_in_the_seconds_it_lasted(outage_capture, tmp_path):
    path, lost, on, off = outage_capture
    result = analyse(path)
    (s,) = [x for x in result.streams if x.key.ssrc == SSRC]
    d = s.series
    assert s.packets == PACKETS - lost                    # the rule's counter: the truth
    assert s.rfc.lost == lost and int(d.lost.sum()) == lost
    assert DROP_FOR_S * 50 - 5 <= lost <= DROP_FOR_S * 50 + 5
    assert int(d.expected.sum()) == PACKETS and int(d.packets.sum()) == s.packets
    pct = d.loss_pct()
    for k in range(len(d)):
        a, b = d.origin + k, d.origin + k + 1
        if on + 0.05 <= a and b <= off - 0.05:           # wholly inside the outage: all lost
            assert pct[k] == 100.0 and d.packets[k] == 0, k
        elif b <= on - 0.05 or a >= off + 0.05:           # wholly outside: none
            assert pct[k] == 0.0, k
    assert np.count_nonzero(pct == 100.0) >= 2
    # the longest arrival gap, in the second the stream came back, is the outage
    assert np.nanmax(d.delta_max_ms) == pytest.approx((off - on) * 1000.0, abs=60)
    compared = _check_against_tshark(path, result)
    assert compared, "no stream compared"
    print(compared, f"lost {lost} (nft counter)", f"loss per second {pct.round(1).tolist()}",
          f"outage {off - on:.3f} s, longest gap {np.nanmax(d.delta_max_ms):.1f} ms")


def test_the_outage_in_json_series_records_and_the_report(outage_capture, tmp_path):
    path, _, on, off = outage_capture
    out, runs = tmp_path / "run.json", tmp_path / "runs"
    p = subprocess.run([sys.executable, "-m", "readiness", "analyze", str(path), "--json", str(out),
                        "--out", str(runs)], cwd=REPO, capture_output=True, text=True, timeout=120,
                       env=dict(os.environ))
    assert p.returncode in (0, 1), p.stdout + p.stderr
    doc = json.loads(out.read_text())
    (row,) = [x for x in doc["rtp_streams"] if int(x["ssrc"], 16) == SSRC]
    series = row["series"]
    assert series["step_s"] == 1 and len(series["jitter_ms"]) == len(series["loss_pct"]) == len(series["delta_max_ms"])
    assert 100.0 in series["loss_pct"] and sum(series["lost"]) == row["lost"]
    (folder,) = [f for f in runs.iterdir() if f.is_dir()]
    results = results_mod.load(folder)
    mine = [x for x in results.series if x.probe == "capture" and x.tags.get("ssrc") == f"0x{SSRC:08X}"]
    assert {x.metric for x in mine} == {"capture.rtp_loss_pct", "capture.rtp_jitter_ms"}
    assert all(x.tags["stream"] == "1" and x.tags["src"].endswith(f":{SPORT}") for x in mine)
    loss = next(x for x in mine if x.metric == "capture.rtp_loss_pct")
    assert sum(w for w in loss.weights) == PACKETS            # weights: packets due, so windows add up
    for lang, words in ((Language("de"), "RTP-Ströme der Aufzeichnung"), (Language("en"), "capture's RTP streams")):
        (plot,) = [x for x in plots(results, lang) if x.key == "capture-streams"]
        assert plot.section == "capture" and words in plot.title and "RFC 3550" in plot.caption
        assert plot.svg.startswith("<svg ")


def test_series_values_rounded_exactly_as_python_rounds():
    """The run document's series are rounded in one numpy pass; each value must be what round(v, 3)
    gives, also at the halves where rint(v * 1000) is off by its rounding error."""
    from readiness.probes.capture.stream_stats import rounded
    rng = np.random.default_rng(7)
    halves = (rng.integers(-10**7, 10**7, 50_000) + 0.5) / 1000
    values = np.concatenate([rng.random(50_000) * 40, halves, rng.integers(0, 10**5, 20_000) / 2000,
                             [np.nan, np.inf, -np.inf, -0.0, 0.0, 1e300, -1e-300, 5e-324, 2.0 ** 60 + 1, 0.0005]])
    values = np.concatenate([values, -values])
    for v, got in zip(values.tolist(), rounded(values, 3).tolist()):
        want = round(v, 3) if v == v else v
        assert (got == want and math.copysign(1, got) == math.copysign(1, want)) or (got != got and want != want), v
