"""RTCP beside RTP in a capture: SR/RR compounds (with SDES), an XR VoIP Metrics block, RTCP on RTP port + 1
and muxed on the RTP port (RFC 5761), and broken RTCP; every figure compared with tshark's own RTCP
dissection of the same file, and the corpus capture that holds RTCP compared with tshark too.

The XR block is packed here with struct from RFC 3611 4.7, independently of the parser's builder.
"""

from __future__ import annotations

import datetime as dt
import os
import struct
import subprocess
from pathlib import Path

import pytest

from readiness import results as results_mod
from readiness.details import capture as capture_details
from readiness.probes.calls.wire import rtcp
from readiness.probes.capture.analyze import analyse
from readiness.probes.capture.pcap_writer import ethernet, ipv4_udp, rtp, write_pcap
from readiness.reports import tables
from readiness.reports.language import Language
from tests.conftest import need_tool

T0 = 1_700_000_000.0
A, B, C, D = "192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"
PA, PB, PC, PD = 40000, 50000, 42000, 52000       # RTCP of A/B on port + 1, C/D muxed on the RTP port
SA, SB, SC, SD = 0xAAAA0001, 0xBBBB0002, 0xCCCC0003, 0xDDDD0004
BAD_SPORT, BAD_DPORT = 45001, 55001                # broken RTCP comes from here
SKIP_A = {30, 31, 120}                             # A's packets that never arrive
PACKETS = 250                                      # 5 s of 20 ms packets per direction
SR_AT = (1.0, 2.0, 3.0, 4.0)
B_LAG, B_DLSR = 0.3, 0.25                          # B answers A's SR 300 ms later, claiming 250 ms hold: RTT 50
# RFC 3611 4.7 values: loss 12/256, discard 5/256, burst 40/256 gap 3/256, 120 ms / 3000 ms, RTD 150, ESD 60,
# signal -20 dBm, noise -60 dBm, RERL 40, Gmin 16, R 87, ext. R unavailable, MOS-LQ 4.1, MOS-CQ 3.9,
# PLC enhanced (3) + adaptive JB (3) + rate 2, JB 40 / 80 / 200 ms
XR = (12, 5, 40, 3, 120, 3000, 150, 60, -20, -60, 40, 16, 87, 127, 41, 39, 0xF2, 0, 40, 80, 200)


def xr_voip(sender: int, source: int) -> bytes:
    block = struct.pack("!BBHI", 7, 0, 8, source) + struct.pack("!BBBBHHHHbbBBBBBBBBHHH", *XR)
    body = struct.pack("!I", sender) + block
    return struct.pack("!BBH", 0x80, 207, len(body) // 4) + body


def _sip(first: str, src: str, call: str, cseq: str, to_tag: str, media: str | None) -> bytes:
    body = ""
    if media:
        body = f"v=0\r\no=- 1 1 IN IP4 {src}\r\ns=-\r\nc=IN IP4 {src}\r\nt=0 0\r\n{media}"
    return (f"{first}\r\nVia: SIP/2.0/UDP {src}:5060;branch=z9hG4bK{cseq.split()[0]}{len(first)}\r\n"
            f"From: <sip:a@x>;tag=fa\r\nTo: <sip:b@x>{to_tag}\r\nCall-ID: {call}\r\nCSeq: {cseq}\r\n"
            + ("Content-Type: application/sdp\r\n" if body else "")
            + f"Content-Length: {len(body)}\r\n\r\n{body}").encode()


def _udp(t: float, src: str, dst: str, sport: int, dport: int, payload: bytes) -> tuple[float, bytes]:
    return (T0 + t, ethernet(ipv4_udp(src, dst, sport, dport, payload, dscp=46)))


def _call(frames, call: str, x: str, y: str, px: int, py: int, mux: bool, t0: float) -> None:
    extra = "a=rtcp-mux\r\n" if mux else ""
    for t, src, dst, first, cseq, tag, port in (
            (0.0, x, y, "INVITE sip:b@x SIP/2.0", "1 INVITE", "", px), (0.05, y, x, "SIP/2.0 200 OK", "1 INVITE", ";tag=b", py),
            (0.06, x, y, "ACK sip:b@x SIP/2.0", "1 ACK", ";tag=b", None)):
        media = f"m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n{extra}" if port else None
        frames.append(_udp(t0 + t, src, dst, 5060, 5060, _sip(first, src, call, cseq, tag, media)))


def rtcp_capture(path: Path) -> Path:
    frames: list[tuple[float, bytes]] = []
    _call(frames, "rtcp-port@test", A, B, PA, PB, False, 0.0)
    _call(frames, "rtcp-mux@test", C, D, PC, PD, True, 0.01)
    for i in range(PACKETS):
        t = 0.1 + 0.02 * i
        wobble = ((i * 37) % 7) * 0.001                    # real arrival jitter
        if i not in SKIP_A:
            frames.append(_udp(t + wobble, A, B, PA, PB, rtp(i, 160 * i, SA)))
        frames.append(_udp(t + 0.004, B, A, PB, PA, rtp(500 + i, 160 * i, SB)))
        frames.append(_udp(t + 0.002, C, D, PC, PD, rtp(i, 160 * i, SC)))
        frames.append(_udp(t + 0.006 + wobble, D, C, PD, PC, rtp(900 + i, 160 * i, SD)))

    def sent_by(t: float, skip=()) -> int:
        return sum(1 for i in range(PACKETS) if 0.1 + 0.02 * i < t and i not in skip)

    prev_b: tuple[float, int] | None = None
    for k, t in enumerate(SR_AT):
        ns = int(round((T0 + t) * 1e6)) * 1000                  # the pcap keeps microseconds
        blocks = []
        if prev_b is not None:                                  # A on B's stream, answering B's last SR
            tb, lsr_b = prev_b
            blocks = [rtcp.ReportBlock(SB, 0, 0, 500 + sent_by(t) - 1, 17 + k, lsr_b, int((t - tb - 0.02) * 65536))]
        n = sent_by(t, SKIP_A)
        frames.append(_udp(t, A, B, PA + 1, PB + 1, rtcp.build_sr(SA, ns, 160 * n, n, 160 * n, blocks)
                           + rtcp.build_sdes(SA, "a@192.0.2.1")))
        lost = sum(1 for s in SKIP_A if 0.1 + 0.02 * s < t)
        tb = t + B_LAG
        nsb = int(round((T0 + tb) * 1e6)) * 1000
        block = rtcp.ReportBlock(SA, (lost * 256 // max(sent_by(t), 1)) if k == 0 else (8 * k), lost,
                                 sent_by(tb) - 1, 40 + 5 * k, rtcp.ntp32_from_ns(ns), int(B_DLSR * 65536))
        nb = sent_by(tb)
        frames.append(_udp(tb, B, A, PB + 1, PA + 1, rtcp.build_sr(SB, nsb, 160 * nb, nb, 160 * nb, [block])
                           + rtcp.build_sdes(SB, "b@192.0.2.2")))
        prev_b = (tb, rtcp.ntp32_from_ns(nsb))
        # C and D: receiver reports only, muxed on the RTP ports
        frames.append(_udp(t + 0.1, C, D, PC, PD, rtcp.build_rr(SC, [rtcp.ReportBlock(SD, 0, 0, 900 + sent_by(t), 9 + k, 0, 0)])
                           + rtcp.build_sdes(SC, "c@192.0.2.3")))
        frames.append(_udp(t + 0.15, D, C, PD, PC, rtcp.build_rr(SD, [rtcp.ReportBlock(SC, 2 * k, k, sent_by(t), 30 + k, 0, 0)])
                           + rtcp.build_sdes(SD, "d@192.0.2.4")))
    frames.append(_udp(4.5, B, A, PB + 1, PA + 1, rtcp.build_rr(SB, []) + xr_voip(SB, SA)))
    # broken RTCP: an SR whose report block is missing (its length adds up), an RR whose length field
    # says 12 words in an 8-word datagram
    sr = rtcp.build_sr(0x0BAD0001, int(T0 * 1e9), 0, 1, 1, [rtcp.ReportBlock(SA, 0, 0, 0, 0, 0, 0)])
    cut = bytearray(sr[:28])
    cut[2:4] = struct.pack("!H", 6)
    frames.append(_udp(4.6, A, B, BAD_SPORT, BAD_DPORT, bytes(cut)))
    wrong = bytearray(rtcp.build_rr(0x0BAD0002, [rtcp.ReportBlock(SA, 0, 0, 0, 0, 0, 0)]))
    wrong[2:4] = struct.pack("!H", 11)
    frames.append(_udp(4.7, A, B, BAD_SPORT, BAD_DPORT, bytes(wrong)))
    write_pcap(path, sorted(frames, key=lambda f: f[0]))
    # and a frame the capture cut inside its RTCP (caplen < origlen)
    whole = _udp(4.8, A, B, BAD_SPORT, BAD_DPORT, rtcp.build_rr(0x0BAD0003, [rtcp.ReportBlock(SA, 0, 0, 0, 0, 0, 0)]))[1]
    with open(path, "ab") as f:
        part = whole[:len(whole) - 20]
        f.write(struct.pack("<IIII", int(T0) + 4, 800000, len(part), len(whole)) + part)
    return path


FIELDS = ("frame.number", "ip.src", "udp.srcport", "rtcp.pt", "rtcp.senderssrc", "rtcp.sender.packetcount",
          "rtcp.sender.octetcount", "rtcp.ssrc.identifier", "rtcp.ssrc.fraction", "rtcp.ssrc.cum_nr",
          "rtcp.ssrc.ext_high", "rtcp.ssrc.jitter", "rtcp.roundtrip-delay", "rtcp.ssrc.discarded",
          "rtcp.xr.voipmetrics.burstdensity", "rtcp.xr.voipmetrics.gapdensity", "rtcp.xr.voipmetrics.burstduration",
          "rtcp.xr.voipmetrics.gapduration", "rtcp.xr.voipmetrics.rtdelay", "rtcp.xr.voipmetrics.esdelay",
          "rtcp.xr.voipmetrics.signallevel", "rtcp.xr.voipmetrics.noiselevel", "rtcp.xr.voipmetrics.rerl",
          "rtcp.xr.voipmetrics.gmin", "rtcp.xr.voipmetrics.rfactor", "rtcp.xr.voipmetrics.extrfactor",
          "rtcp.xr.voipmetrics.moslq", "rtcp.xr.voipmetrics.moscq", "rtcp.xr.voipmetrics.plc",
          "rtcp.xr.voipmetrics.jba", "rtcp.xr.voipmetrics.jbrate", "rtcp.xr.voipmetrics.jbnominal",
          "rtcp.xr.voipmetrics.jbmax", "rtcp.xr.voipmetrics.jbabsmax", "frame.time_epoch",
          "rtcp.timestamp.rtp", "_ws.malformed", "_ws.expert.message")


def tshark_rtcp(path: Path, ports: list[int]) -> list[dict[str, list[str]]]:
    """One dict per RTCP frame: field -> values (occurrences in the compound, in order)."""
    tshark = need_tool("tshark")
    cmd = [tshark, "-r", str(path), "-o", "rtcp.show_roundtrip_calculation:TRUE",
           "-o", "rtcp.roundtrip_min_threshhold:0"]
    for p in ports:
        cmd += ["-d", f"udp.port=={p},rtcp"]
    cmd += ["-Y", "rtcp", "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=;"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True).stdout
    return [{f: (v.split(";") if v else []) for f, v in zip(FIELDS, line.split("\t"))} for line in out.splitlines()]


def _by_ssrc(doc_streams: list[dict]) -> dict[int, dict]:
    return {int(s["ssrc"], 16): s for s in doc_streams}


@pytest.fixture(scope="module")
def crafted(tmp_path_factory):
    path = rtcp_capture(tmp_path_factory.mktemp("rtcp") / "rtcp.pcap")
    return path, analyse(path).to_json(), tshark_rtcp(path, [PA + 1, PB + 1, BAD_SPORT, BAD_DPORT])


def test_rtcp_makes_no_streams_and_is_counted(crafted):
    _, doc, ts = crafted
    streams = _by_ssrc(doc["rtp_streams"])
    assert sorted(streams) == [SA, SB, SC, SD]                # RTCP (muxed too) is no stream, not even not-rtp
    assert all(s["kind"] == "voice" for s in streams.values())
    assert streams[SA]["lost"] == len(SKIP_A) and streams[SA]["packets"] == PACKETS - len(SKIP_A)
    summary = doc["capture"]["rtcp"]
    good = [r for r in ts if r["udp.srcport"] != [str(BAD_SPORT)]]
    bad = [r for r in ts if r["udp.srcport"] == [str(BAD_SPORT)]]
    assert len(bad) == 3                                      # tshark finds all three broken ones
    assert bad[0]["_ws.malformed"] and bad[1]["_ws.malformed"]            # missing block, length past the end
    assert not bad[2]["rtcp.ssrc.identifier"]                             # cut by the capture: no block read
    assert summary["packets"] == len(ts) == len(good) + 3 == 4 * 4 + 1 + 3
    assert summary["parsed"] == len(good) and summary["not_parsed"] == 3
    assert summary["sender_reports"] == sum(r["rtcp.pt"].count("200") for r in good) == 8
    assert summary["receiver_reports"] == sum(r["rtcp.pt"].count("201") for r in good) == 9
    assert summary["xr_voip_blocks"] == 1
    assert any("3 of 20 RTCP packets could not be read" in p for p in doc["capture"]["problems"])


def _blocks_on(ts, ssrc: int) -> list[dict[str, str]]:
    """tshark's report blocks on `ssrc`, in capture order, with the frame's RTT."""
    out = []
    for r in ts:
        ids = r["rtcp.ssrc.identifier"]
        for k, ident in enumerate(ids):
            # identifiers list the report blocks first, then SDES chunks (which have no cum_nr)
            if int(ident, 0) == ssrc and len(r["rtcp.ssrc.cum_nr"]) > k:
                out.append({"frame": r, "fraction": r["rtcp.ssrc.fraction"][k], "cum": r["rtcp.ssrc.cum_nr"][k],
                            "high": r["rtcp.ssrc.ext_high"][k], "jitter": r["rtcp.ssrc.jitter"][k],
                            "rtt": r["rtcp.roundtrip-delay"], "src": r["ip.src"][0]})
    return out


@pytest.mark.parametrize("ssrc", [SA, SB, SC, SD])
def test_far_end_view_agrees_with_tshark(crafted, ssrc):
    _, doc, ts = crafted
    good = [r for r in ts if r["udp.srcport"] != [str(BAD_SPORT)] and not r["rtcp.xr.voipmetrics.rfactor"]]
    s = _by_ssrc(doc["rtp_streams"])[ssrc]
    view = s["rtcp"]
    want = _blocks_on(good, ssrc)
    assert view["reports"] == len(want) > 0
    last = want[-1]
    assert view["reporter"].split(":")[0] == last["src"] == s["dst"]         # the reporter is the receiver
    assert view["fraction_lost_pct_last"] == round(100 * int(last["fraction"]) / 256, 2)
    assert view["fraction_lost_pct_max"] == round(100 * max(int(b["fraction"]) for b in want) / 256, 2)
    assert view["cumulative_lost"] == int(last["cum"])
    assert view["highest_seq"] == int(last["high"])
    assert view["jitter_last"] == int(last["jitter"])
    assert view["jitter_ms_last"] == round(int(last["jitter"]) / 8.0, 3)        # timestamp units at 8 kHz
    assert view["jitter_ms_max"] == round(max(int(b["jitter"]) for b in want) / 8.0, 3)
    rtts = [int(b["rtt"][0]) for b in want if b["rtt"]]
    assert view["rtt_samples"] == len(rtts)
    if rtts:                                          # tshark truncates to whole ms, per its own rounding
        assert abs(view["rtt_ms"] - rtts[-1]) <= 1 and abs(view["rtt_ms_max"] - max(rtts)) <= 1
    else:
        assert view["rtt_ms"] is None
    if ssrc == SA:
        assert rtts == [round(1000 * (B_LAG - B_DLSR))] * 4 and view["rtt_ms"] == pytest.approx(50.0, abs=0.01)
        assert view["cumulative_lost"] == s["lost"] == len(SKIP_A)             # theirs beside ours
    if ssrc == SB:
        assert view["rtt_ms"] == pytest.approx(20.0, abs=0.01)


@pytest.mark.parametrize("ssrc", [SA, SB])
def test_sender_reports_agree_with_tshark(crafted, ssrc):
    _, doc, ts = crafted
    srs = [r for r in ts if "200" in r["rtcp.pt"] and int(r["rtcp.senderssrc"][0], 0) == ssrc]
    sender = _by_ssrc(doc["rtp_streams"])[ssrc]["rtcp"]["sender"]
    assert sender["reports"] == len(srs) == 4
    assert sender["packets"] == int(srs[-1]["rtcp.sender.packetcount"][0])
    assert sender["octets"] == int(srs[-1]["rtcp.sender.octetcount"][0])
    assert sender["rtp_timestamp"] == int(srs[-1]["rtcp.timestamp.rtp"][0])
    assert sender["last_sr"] == pytest.approx(float(srs[-1]["frame.time_epoch"][0]), abs=1e-6)
    assert sender["ntp_time"] == pytest.approx(sender["last_sr"], abs=1e-5)   # written with the capture clock
    assert _by_ssrc(doc["rtp_streams"])[SC]["rtcp"]["sender"] is None          # RR only


def test_xr_voip_metrics_agree_with_tshark(crafted):
    _, doc, ts = crafted
    (row,) = [r for r in ts if r["rtcp.xr.voipmetrics.rfactor"]]
    x = _by_ssrc(doc["rtp_streams"])[SA]["rtcp"]["xr"]
    v = lambda f: row[f"rtcp.xr.voipmetrics.{f}"][0]  # noqa: E731
    assert x["reports"] == 1
    assert x["loss_rate_pct"] == round(100 * int(row["rtcp.ssrc.fraction"][-1]) / 256, 2) == round(1200 / 256, 2)
    assert x["discard_rate_pct"] == round(100 * int(row["rtcp.ssrc.discarded"][-1]) / 256, 2)
    assert x["burst_density_pct"] == round(100 * int(v("burstdensity")) / 256, 2)
    assert x["gap_density_pct"] == round(100 * int(v("gapdensity")) / 256, 2)
    assert (x["burst_duration_ms"], x["gap_duration_ms"]) == (int(v("burstduration")), int(v("gapduration")))
    assert (x["round_trip_delay_ms"], x["end_system_delay_ms"]) == (int(v("rtdelay")), int(v("esdelay")))
    assert (x["signal_level_dbm"], x["noise_level_dbm"]) == (int(v("signallevel")), int(v("noiselevel")))
    assert (x["rerl_db"], x["gmin"]) == (int(v("rerl")), int(v("gmin")))
    assert x["r_factor"] == int(v("rfactor")) == 87
    assert x["ext_r_factor"] is None and int(v("extrfactor")) == 127             # 127: unavailable
    assert x["mos_lq"] == pytest.approx(float(v("moslq"))) and x["mos_cq"] == pytest.approx(float(v("moscq")))
    assert (x["plc"], x["jb_adaptive"], x["jb_rate"]) == (int(v("plc")), int(v("jba")), int(v("jbrate")))
    assert (x["jb_nominal_ms"], x["jb_maximum_ms"], x["jb_abs_max_ms"]) == (
        int(v("jbnominal")), int(v("jbmax")), int(v("jbabsmax")))
    assert _by_ssrc(doc["rtp_streams"])[SB]["rtcp"]["xr"] is None


def test_details_model_types_the_rtcp_view(crafted):
    _, doc, _ = crafted
    d = capture_details.of(doc)
    row = {int(s.ssrc, 16): s for s in d.streams}[SA]
    assert row.rtcp is not None and row.rtcp.reports == 4 and row.rtcp.rtt_ms == pytest.approx(50.0, abs=0.01)
    assert row.rtcp.xr is not None and row.rtcp.xr.r_factor == 87
    assert d.file.rtcp["not_parsed"] == 3


def test_the_report_shows_the_receivers_view_beside_ours(crafted, tmp_path):
    path = crafted[0]
    r = subprocess.run(["readiness", "analyze", str(path), "--out", str(tmp_path), "-q"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode in (0, 1), r.stderr
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    (table,) = [t for t in tables.tables(results_mod.load(run_dir), Language("de"))["capture"] if t.key == "streams"]
    col = table.headers.index("Empfänger laut RTCP: Verlust / Jitter (max.)")
    rows = {row[1]: row[col] for row in table.rows}
    ours = _by_ssrc(crafted[1]["rtp_streams"])[SA]["rtcp"]
    assert rows["0xAAAA0001"] == (f"{ours['fraction_lost_pct_max']:.2f}".replace(".", ",") + "\u00a0% / "
                                  + f"{ours['jitter_ms_max']:.2f}".replace(".", ",") + "\u00a0ms")


@pytest.mark.parametrize("data", [b"\x80\xc8\x00\x06" + b"\0" * 10, b"\x81\xc9\x00\x06" + b"\0" * 24,
                                  rtcp.build_rr(1, []) + b"\x80\xcf\x00\x03\0\0\0\1\x07\0\x00\x08",
                                  rtcp.build_rr(1, []) + b"\x80\xcf\x00\x03\0\0\0\1\x07\0\x00\x01\0\0\0\0"])
def test_broken_rtcp_is_an_rtcp_error(data):
    with pytest.raises(rtcp.RtcpError):
        rtcp.parse(data)


def _corpus() -> Path:
    root = os.environ.get("READINESS_CORPUS")
    assert root, "READINESS_CORPUS is not set: this test needs the real-world corpus"
    path = Path(root) / "pcaps" / "calls" / "aaa.pcap"
    assert path.is_file(), f"{path} is missing from the corpus"
    return path


def test_corpus_sender_report_agrees_with_tshark():
    """aaa.pcap (Wireshark SampleCaptures): SIPPS sends one SR + SDES + BYE at the end of its call; tshark
    finds it by the SDP (port + 1). Its NTP field holds Unix seconds, which NTP reads as 2071."""
    path = _corpus()
    doc = analyse(path).to_json()
    ts = tshark_rtcp(path, [])
    assert doc["capture"]["rtcp"]["packets"] == len(ts) == 1 and doc["capture"]["rtcp"]["not_parsed"] == 0
    (row,) = ts
    ssrc = int(row["rtcp.senderssrc"][0], 0)
    stream = _by_ssrc(doc["rtp_streams"])[ssrc]
    sender = stream["rtcp"]["sender"]
    assert sender["packets"] == int(row["rtcp.sender.packetcount"][0]) == stream["packets"] == 9
    assert sender["octets"] == int(row["rtcp.sender.octetcount"][0])
    assert sender["rtp_timestamp"] == int(row["rtcp.timestamp.rtp"][0])
    assert sender["last_sr"] == pytest.approx(float(row["frame.time_epoch"][0]), abs=1e-6)
    assert sender["bye"] is True and stream["rtcp"]["reports"] == 0
    tshark = need_tool("tshark")
    ntp = subprocess.run([tshark, "-r", str(path), "-Y", "rtcp", "-T", "fields", "-e", "rtcp.timestamp.ntp"],
                         capture_output=True, text=True, timeout=60).stdout     # "Aug 10, 2071 16:24:42.371013999 UTC"
    stamp = dt.datetime.strptime(ntp.strip()[:21], "%b %d, %Y %H:%M:%S").replace(tzinfo=dt.timezone.utc)
    assert sender["ntp_time"] == pytest.approx(stamp.timestamp() + 0.371014, abs=1e-5)
