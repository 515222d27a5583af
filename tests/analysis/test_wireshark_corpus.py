"""Wireshark mode against Wireshark itself: every RTP stream of every corpus capture.

For each stream tshark 4.0.17 listed (`<capture>.txt`), both views of the analysis (live, packet by
packet, and bulk over arrays) must reproduce Pkts, Lost, Min/Mean/Max Delta, Min/Mean/Max Jitter
(to the printed precision, 3 decimals) and the Problems flag (sequence errors), from the per-packet
table of the same capture.
"""

from __future__ import annotations

import numpy as np
import pytest

from readiness.analysis.clock_rate import wireshark_clock_map
from readiness.analysis.rtp_bulk import analyse_arrays
from readiness.analysis.rtp_stats import RtpStreamAnalyser
from tests.conftest import need_tool

from .corpus_rtp import captures, read_packets, rtpmap_for, sdp_rtpmaps, tshark_streams

PRINTED = 0.0005 + 1e-6          # tshark prints %.3f


def _printed(value, missing):
    return missing if value is None else value


def _tshark_resolution(first_ns: int, last_ns: int) -> float:
    """tshark keeps times as double ms since the capture's first frame; far from it (ndpi_rtp.pcapng:
    its RTP is 10 years after the first frame) a double resolves only ~6e-5 ms. Allow a few of those."""
    return 8 * float(np.spacing((last_ns - first_ns) / 1e6))


def _compare(stats, want, label, tol=PRINTED):
    ws = stats.wireshark
    assert ws.packets == want["pkts"], label
    assert ws.lost == want["lost"], label
    assert (ws.sequence_errors > 0) == want["problem"], label      # tshark's "Problems?" X
    got = {
        "min_delta": _printed(stats.delta_min_ms, -1.0), "mean_delta": _printed(stats.delta_mean_ms, 0.0),
        "max_delta": _printed(stats.delta_max_ms, 0.0), "min_jitter": _printed(stats.jitter_min_ms, -1.0),
        "mean_jitter": _printed(stats.jitter_mean_ms, 0.0), "max_jitter": _printed(stats.jitter_max_ms, 0.0),
    }
    for name, value in got.items():
        assert abs(value - want[name]) <= tol, f"{label}: {name} {value:.6f} vs tshark {want[name]:.3f}"


@pytest.mark.corpus
def test_every_corpus_stream_matches_tshark(corpus):
    tshark = need_tool("tshark")
    checked = 0
    for pcap in captures(corpus):
        want_all = tshark_streams(corpus, pcap.name)
        t0, streams = read_packets(corpus, pcap.name)
        first_ns, maps = sdp_rtpmaps(tshark, pcap)
        tol = PRINTED + _tshark_resolution(first_ns, max((s.frames_ns[-1] for s in streams.values()), default=first_ns))
        assert set(want_all) <= set(streams), pcap.name
        for key, want in want_all.items():
            s = streams[key]
            clock = wireshark_clock_map(rtpmap_for(maps, s))
            seq, ts, arrival, marker, pt = s.arrays(t0)
            label = f"{pcap.name} SSRC 0x{key[4]:08X} ({want['payload']})"
            live = RtpStreamAnalyser(clock, jitter_mode="wireshark")
            for i in range(len(seq)):
                live.add(int(seq[i]), int(ts[i]), float(arrival[i]), bool(marker[i]), int(pt[i]))
            _compare(live.result(), want, label + " live", tol)
            _compare(analyse_arrays(seq, ts, arrival, marker, pt, clock_rate=clock, jitter_mode="wireshark"),
                     want, label + " bulk", tol)
            checked += 1
    assert checked >= 30          # 31 streams in 16 captures at the time of writing


@pytest.mark.corpus
def test_l16_clock_trap(corpus):
    """SSRC 0x043DA985: SDP says 11025 Hz, timestamps run at 8000 Hz. Wireshark (SDP rate) reports
    8.37 ms mean jitter; the inferred clock gives RFC 3550 jitter of a few microseconds."""
    from readiness.analysis.clock_rate import choose_clock_rate, infer_clock_rate

    t0, streams = read_packets(corpus, "sip-rtp-l16.pcap")
    s = next(v for k, v in streams.items() if k[4] == 0x043DA985)
    seq, ts, arrival, marker, pt = s.arrays(t0)
    est = infer_clock_rate(ts, arrival)
    assert est.rate_hz == 8000 and abs(est.measured_hz - 8000) < 5
    assert choose_clock_rate("sdp", 99, sdp_rate=11025, estimate=est).rate_hz == 11025
    assert choose_clock_rate("payload_type", 99, encoding="L16").rate_hz is None
    auto = choose_clock_rate("auto", 99, sdp_rate=11025, estimate=est)
    assert (auto.rate_hz, auto.source) == (8000, "inferred") and "11025" in auto.note
    sdp = analyse_arrays(seq, ts, arrival, clock_rate=11025)
    real = analyse_arrays(seq, ts, arrival, clock_rate=auto.rate_hz)
    assert sdp.jitter_mean_ms > 8.0
    assert real.jitter_mean_ms < 0.02
    ws = analyse_arrays(seq, ts, arrival, marker, pt, clock_rate=wireshark_clock_map({99: ("L16", 11025)}),
                        jitter_mode="wireshark")
    assert abs(ws.jitter_mean_ms - 8.369) <= PRINTED
