"""`readiness analyze` against Wireshark on every corpus capture.

Ground truth: `$READINESS_CORPUS/pcaps/reference/tshark/<capture>.txt` (tshark 4.0.17 `-z rtp,streams`
with the RTP heuristic on, and `-z sip,stat`), and the installed tshark's own dissection of the same
files for per-call SIP timings. Streams must be the same set; packets and lost exactly; max delta and
mean/max jitter to tshark's printed precision. One documented exception: the L16 stream whose SDP
clock (11025 Hz) disagrees with its timestamps (8000 Hz) - we use the timestamps' clock and say so.
"""

from __future__ import annotations

import re
import subprocess

import numpy as np
import pytest

from readiness.probes.capture.analyze import analyse
from tests.analysis.corpus_rtp import captures, tshark_streams
from tests.conftest import corpus_dir, need_tool

PRINTED = 0.0005 + 1e-6                  # tshark prints %.3f
CLOCK_TRAP = ("sip-rtp-l16.pcap", 0x043DA985)


def _captures() -> list[str]:
    """The corpus captures; without any, one placeholder whose test then fails in the corpus fixture."""
    root = corpus_dir()
    names = [p.name for p in captures(root)] if root and root.is_dir() else []
    return names or ["(no corpus capture)"]


def _tolerance(result) -> float:
    """tshark holds times as double ms since the first frame; ndpi_rtp.pcapng's RTP is 10 years after
    its first frame, where a double resolves ~6e-5 ms. Allow a few of those."""
    span_ms = (result.last_ns - result.first_ns) / 1e6
    return PRINTED + 8 * float(np.spacing(span_ms))


@pytest.mark.corpus
@pytest.mark.parametrize("name", _captures())
def test_every_stream_agrees_with_tshark(corpus, name):
    path = next(corpus.glob(f"pcaps/*/{name}"))
    want = tshark_streams(corpus, name)
    result = analyse(path)
    got = {(s.key.src, s.key.sport, s.key.dst, s.key.dport, s.key.ssrc): s for s in result.streams}
    assert set(got) == set(want), f"{name}: streams differ from tshark's"
    tol = _tolerance(result)
    for key, w in want.items():
        s = got[key]
        j = s.to_json()
        label = f"{name} 0x{key[4]:08X}"
        assert j["packets"] == w["pkts"], label
        assert j["lost"] == w["lost"], label
        assert j["max_delta_ms"] == pytest.approx(w["max_delta"], abs=tol), label
        assert s.ws.delta_max_ms == pytest.approx(w["max_delta"], abs=tol), label
        if w["min_jitter"] < 0:              # tshark: no clock rate, jitter not computed
            assert j["mean_jitter_ms"] is None and j["max_jitter_ms"] is None, label
            continue
        if (name, key[4]) == CLOCK_TRAP:
            continue
        assert s.ws.jitter_mean_ms == pytest.approx(w["mean_jitter"], abs=tol), label
        assert s.ws.jitter_max_ms == pytest.approx(w["max_jitter"], abs=tol), label


@pytest.mark.corpus
def test_l16_stream_uses_the_clock_its_timestamps_run_at(corpus):
    """data/README.md: SDP says L16/11025 ptime 32, timestamps advance 256 per 32 ms (8000 Hz).
    tshark keeps 11025 Hz and reports 8.369 ms mean jitter; with 8000 Hz it is ~0.006 ms."""
    name, ssrc = CLOCK_TRAP
    result = analyse(corpus / "pcaps" / "codecs" / name)
    s = next(s for s in result.streams if s.key.ssrc == ssrc)
    assert s.clock_hz == 8000
    assert "8000" in s.clock_note and "11025" in s.clock_note
    assert s.ws.jitter_mean_ms == pytest.approx(0.006, abs=0.001)
    want = tshark_streams(corpus, name)
    tshark_row = next(w for k, w in want.items() if k[4] == ssrc)
    assert tshark_row["mean_jitter"] == pytest.approx(8.369)          # what the SDP clock gives
    others = [x for x in result.streams if x.key.ssrc != ssrc]
    assert all(not x.clock_note for x in others)                     # the other L16 streams agree with SDP


@pytest.mark.corpus
def test_streams_are_labelled_not_scored_as_voice(corpus):
    kinds = {}
    for name in ("h263-over-rtp.pcap", "marseillaise-srtp.pcap", "ndpi_rtp.pcapng",
                 "SIP_Eyebeam2Eyebeam_Video_Audio.pcap", "sip-rtp-g722.pcap"):
        for s in analyse(next(corpus.glob(f"pcaps/*/{name}"))).streams:
            kinds[(name, s.key.ssrc)] = s
    assert kinds[("h263-over-rtp.pcap", 0x5482ECE0)].kind == "video"
    srtp = kinds[("marseillaise-srtp.pcap", 0xDEADBEEF)]
    assert srtp.kind == "srtp" and srtp.encrypted           # PCMA + 10-byte HMAC-SHA1-80 tag (RFC 3711)
    assert kinds[("ndpi_rtp.pcapng", 0x001A759F)].kind == "events"
    assert kinds[("ndpi_rtp.pcapng", 0x00001646)].kind == "video"
    assert kinds[("ndpi_rtp.pcapng", 0xB80974D8)].kind == "unknown"      # PT 111 without SDP
    assert kinds[("SIP_Eyebeam2Eyebeam_Video_Audio.pcap", 0xFB40582C)].kind == "video"   # m=video in SDP
    for s in kinds.values():
        if s.kind != "voice":
            assert s.mos is None and s.mos_note, s.key
    g722 = kinds[("sip-rtp-g722.pcap", 0x043DAABA)]
    assert g722.kind == "voice" and g722.setup == "sdp" and g722.mos is not None


def _tshark_sip(tshark: str, path) -> list[tuple[int, str, str, str, str]]:
    out = subprocess.run([tshark, "-r", str(path), "-Y", "sip", "-T", "fields", "-E", "separator=|",
                          "-e", "frame.time_epoch", "-e", "sip.Call-ID", "-e", "sip.Method", "-e", "sip.Status-Code",
                          "-e", "sip.CSeq.method"], capture_output=True, text=True, timeout=60, check=True).stdout
    rows = []
    for line in out.splitlines():
        t, call, method, status, cseq = (line.split("|") + [""] * 5)[:5]
        sec, _, frac = t.partition(".")
        rows.append((int(sec) * 10**9 + int(frac.ljust(9, "0")[:9]), call, method, status, cseq))
    return rows


@pytest.mark.corpus
@pytest.mark.parametrize("name", _captures())
def test_sip_messages_and_setup_times_agree_with_tshark(corpus, name):
    tshark = need_tool("tshark")
    path = next(corpus.glob(f"pcaps/*/{name}"))
    text = (corpus / "pcaps" / "reference" / "tshark" / f"{name}.txt").read_text()
    result = analyse(path)
    assert result.sip["messages"] == int(re.search(r"Number of SIP messages: (\d+)", text).group(1))
    codes = {m.group(1): int(m.group(2)) for m in re.finditer(r"SIP (\d+) [^\n]*?:\s+(\d+) Packets", text)}
    assert result.sip["responses"] == codes
    methods = {m.group(1): int(m.group(2)) for m in re.finditer(r"\n\s+([A-Z]+)\s+:\s+(\d+) Packets", text)}
    assert result.sip["requests"] == methods
    # setup time = first INVITE of a Call-ID to the first 2xx answering an INVITE, from tshark's fields
    rows = _tshark_sip(tshark, path)
    want = {}
    for call in {r[1] for r in rows if r[2] == "INVITE"}:
        invite = min(r[0] for r in rows if r[1] == call and r[2] == "INVITE")
        ok = [r[0] for r in rows if r[1] == call and r[3].startswith("2") and r[4] == "INVITE"]
        want[call] = (min(ok) - invite) / 1e6 if ok else None
    got = {c["call_id"]: c["setup_ms"] for c in result.calls}
    assert set(got) == set(want)
    for call, ms in want.items():
        assert got[call] == (None if ms is None else pytest.approx(ms, abs=0.001)), call


@pytest.mark.corpus
def test_streams_belong_to_their_calls(corpus):
    result = analyse(corpus / "pcaps" / "codecs" / "sip-rtp-g726.pcap")
    assert len(result.calls) == 8
    # 8 calls in a row to the same 10.0.2.20:6000: each SDP binds the stream that followed it
    for call in result.calls:
        assert len(call["streams"]) == 1
    by_ssrc = {s.key.ssrc: s for s in result.streams}
    codecs = [by_ssrc[c["streams"][0]].codec for c in result.calls]
    assert codecs == ["G726-16", "G726-24", "G726-32", "G726-40",
                      "AAL2-G726-16", "AAL2-G726-24", "AAL2-G726-32", "AAL2-G726-40"]
