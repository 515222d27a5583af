"""Which RTP clock rate to use for a stream: SDP, the payload type's standard rate, or the timestamps.

Jitter is only as right as the clock it is computed with. Three sources can disagree: the SDP
rtpmap (what the endpoints agreed), the static payload-type table (RFC 3551), and what the
timestamps actually do (ticks per second of arrival time). The corpus has a real case: an L16
stream whose SDP says 11025 Hz while its timestamps advance 256 per 32 ms (8000 Hz); with the SDP
rate its jitter reads 8.4 ms, with the real one 0.006 ms. `choose_clock_rate` makes the choice
explicit; the caller records which source was used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from ..codecs import STATIC_CLOCK_RATES

POLICIES = ("sdp", "payload_type", "inferred", "auto")

# Wireshark's clock table also keeps payload types RFC 3551 retired (1 = 1016, 2 = G721, 19 = old CN)
# (ui/tap-rtp-analysis.c clock_map); needed to reproduce tshark on old captures.
WIRESHARK_STATIC_CLOCK_RATES = {**STATIC_CLOCK_RATES, 1: 8000, 2: 8000, 19: 8000}

# Clock rates of common dynamic payload formats by media subtype (IANA RTP parameters, as in
# Wireshark's mimetype_and_clock_map): used when an rtpmap gives a name but we need its default.
MEDIA_SUBTYPE_CLOCK_RATES = {
    "amr": 8000, "amr-wb": 16000, "evs": 16000, "g7221": 16000, "g726-16": 8000, "g726-24": 8000,
    "g726-32": 8000, "g726-40": 8000, "g729d": 8000, "g729e": 8000, "gsm-efr": 8000, "h263-1998": 90000,
    "h263-2000": 90000, "h264": 90000, "mp4v-es": 90000, "opus": 48000, "red": 1000, "t140": 1000,
    "telephone-event": 8000, "ilbc": 8000, "speex": 8000,
}

# Timestamp rates seen in practice; an inferred rate snaps to the nearest within SNAP_TOLERANCE.
COMMON_RATES = (8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000, 90000)
SNAP_TOLERANCE = 0.05


@dataclass(frozen=True)
class ClockEstimate:
    measured_hz: float          # timestamp ticks per second of arrival time (least squares)
    rate_hz: int | None         # nearest common rate within 5 %, else None
    packets: int


@dataclass(frozen=True)
class ClockChoice:
    rate_hz: int | None
    source: str                 # "sdp", "payload_type", "inferred", or "none"
    note: str = ""              # set when sources disagree


def infer_clock_rate(ts: np.ndarray, arrival_s: np.ndarray) -> ClockEstimate | None:
    """Timestamp ticks per second, from a least-squares fit of unwrapped timestamps on arrival time.

    Needs at least 2 packets spread over time; None otherwise. Silence suppression does not bias it
    (timestamps keep advancing with real time); a fit over the whole stream averages jitter out.
    """
    n = len(ts)
    if n < 2:
        return None
    ts = np.asarray(ts, dtype=np.int64)
    t = np.asarray(arrival_s, dtype=np.float64)
    t = t - t[0]
    if t[-1] - t[0] <= 0:
        return None
    ext = np.concatenate(([0], np.cumsum(((np.diff(ts) + 0x80000000) & 0xFFFFFFFF) - 0x80000000))).astype(np.float64)
    tc, ec = t - t.mean(), ext - ext.mean()     # least squares slope, closed form (polyfit: 13x slower)
    slope = float((tc * ec).sum() / (tc * tc).sum())
    if not np.isfinite(slope) or slope <= 0:
        return ClockEstimate(slope, None, n)
    best = min(COMMON_RATES, key=lambda r: abs(r - slope))
    return ClockEstimate(slope, best if abs(best - slope) <= SNAP_TOLERANCE * best else None, n)


def standard_rate(payload_type: int | None, encoding: str | None = None) -> int | None:
    """The payload type's RFC 3551 rate, or a dynamic format's usual rate by its encoding name."""
    if payload_type is not None and payload_type in STATIC_CLOCK_RATES:
        return STATIC_CLOCK_RATES[payload_type]
    if encoding:
        return MEDIA_SUBTYPE_CLOCK_RATES.get(encoding.lower())
    return None


def choose_clock_rate(policy: str, payload_type: int | None, sdp_rate: int | None = None,
                      encoding: str | None = None, estimate: ClockEstimate | None = None) -> ClockChoice:
    """Pick a stream's clock rate by policy.

    sdp:          the SDP rtpmap rate, else the payload type's standard rate (Wireshark's choice)
    payload_type: the standard rate of the payload type / encoding, ignoring SDP
    inferred:     what the timestamps do (`infer_clock_rate`), else SDP, else standard
    auto:         SDP (or standard) unless the timestamps disagree by more than 5 %, then inferred
    """
    if policy not in POLICIES:
        raise ValueError(f"clock-rate policy must be one of {POLICIES}, got {policy!r}")
    std = standard_rate(payload_type, encoding)
    declared = ClockChoice(sdp_rate, "sdp") if sdp_rate else (ClockChoice(std, "payload_type") if std else None)
    inferred = ClockChoice(estimate.rate_hz, "inferred") if estimate and estimate.rate_hz else None
    if policy == "payload_type":
        return ClockChoice(std, "payload_type") if std else ClockChoice(None, "none")
    if policy == "sdp":
        return declared or ClockChoice(None, "none")
    if policy == "inferred":
        return inferred or declared or ClockChoice(None, "none")
    # auto
    if declared and inferred and abs(inferred.rate_hz - declared.rate_hz) > SNAP_TOLERANCE * declared.rate_hz:
        return ClockChoice(inferred.rate_hz, "inferred",
                           f"timestamps advance at {estimate.measured_hz:.0f} Hz, not the declared "
                           f"{declared.rate_hz} Hz ({declared.source}); using {inferred.rate_hz} Hz")
    return declared or inferred or ClockChoice(None, "none")


def wireshark_clock_map(rtpmap: Mapping[int, int | str | tuple[str, int]] | None = None) -> dict[int, int]:
    """Payload type -> clock rate the way Wireshark picks it, for jitter mode "wireshark".

    Static payload types (< 96) always use Wireshark's table, whatever the SDP says; dynamic ones use
    the SDP rtpmap rate (`{99: 11025}` or `{99: ("L16", 11025)}`) or, given only a name, its
    IANA default; telephone-event gets 0 (no jitter: its timestamp does not advance, RFC 4733 2.2.1).
    """
    out = dict(WIRESHARK_STATIC_CLOCK_RATES)
    for pt, value in (rtpmap or {}).items():
        if pt < 96:
            continue
        if isinstance(value, tuple):
            name, rate = value
        elif isinstance(value, str):
            name, rate = value, 0
        else:
            name, rate = "", int(value)
        if name.lower().startswith("telephone-event"):
            out[pt] = 0
        elif rate:
            out[pt] = int(rate)
        else:
            out[pt] = MEDIA_SUBTYPE_CLOCK_RATES.get(name.lower(), 0)
    return out
