"""Read iperf3's JSON output (3.9 to 3.21 layouts): UDP jitter/loss and TCP throughput.

The receiver's view is what matters for voice. In a normal test the server receives: its per-second
intervals arrive under `server_output_json` (client run with --get-server-output). In a reverse (-R)
test the client receives and its own intervals hold jitter and loss.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any


class IperfOutputError(ValueError):
    """The JSON is an iperf3 error report, or not iperf3 output at all."""


@dataclass(frozen=True)
class Interval:
    start_s: float           # seconds since the test started
    seconds: float
    jitter_ms: float | None
    lost: int | None
    packets: int | None      # packets expected in this interval (received + lost)


@dataclass(frozen=True)
class UdpResult:
    start_epoch: float
    seconds: float
    reverse: bool
    tos: int
    streams: int
    jitter_ms: float
    lost: int
    packets: int
    bits_per_second: float
    intervals: list[Interval] = field(default_factory=list)   # receiver side, may be empty

    @property
    def lost_pct(self) -> float:
        return 100.0 * self.lost / self.packets if self.packets else 0.0


@dataclass(frozen=True)
class TcpResult:
    start_epoch: float
    seconds: float
    reverse: bool
    streams: int
    sent_bps: float
    received_bps: float
    retransmits: int | None


def parse(doc: dict[str, Any]) -> UdpResult | TcpResult:
    if not isinstance(doc, dict):
        raise IperfOutputError("iperf3 output is not a JSON object")
    if doc.get("error"):
        raise IperfOutputError(str(doc["error"]))
    try:
        start = doc["start"]
        test = start["test_start"]
        end = doc["end"]
    except (KeyError, TypeError):
        raise IperfOutputError("not iperf3 JSON output (no start.test_start / end)") from None
    protocol = str(test.get("protocol", "")).upper()
    epoch = float(start.get("timestamp", {}).get("timesecs", 0))
    reverse = bool(test.get("reverse"))
    streams = int(test.get("num_streams", 1))
    if protocol == "UDP":
        summary = end.get("sum_received") or end.get("sum")
        if not summary or "jitter_ms" not in summary:
            raise IperfOutputError("UDP result without receiver jitter/loss (end.sum_received / end.sum)")
        return UdpResult(
            start_epoch=epoch,
            seconds=float(summary.get("seconds", test.get("duration", 0))),
            reverse=reverse,
            tos=int(test.get("tos", 0)),
            streams=streams,
            jitter_ms=float(summary["jitter_ms"]),
            lost=int(summary.get("lost_packets", 0)),
            packets=int(summary.get("packets", 0)),
            bits_per_second=float(summary.get("bits_per_second", 0.0)),
            intervals=_receiver_intervals(doc, reverse),
        )
    if protocol == "TCP":
        sent = end.get("sum_sent") or {}
        received = end.get("sum_received") or {}
        if not received:
            raise IperfOutputError("TCP result without end.sum_received")
        return TcpResult(
            start_epoch=epoch,
            seconds=float(received.get("seconds", test.get("duration", 0))),
            reverse=reverse,
            streams=streams,
            sent_bps=float(sent.get("bits_per_second", 0.0)),
            received_bps=float(received["bits_per_second"]),
            retransmits=sent.get("retransmits"),
        )
    raise IperfOutputError(f"unknown iperf3 protocol {protocol!r}")


def _receiver_intervals(doc: dict[str, Any], reverse: bool) -> list[Interval]:
    if reverse:
        source = doc.get("intervals", [])
    elif doc.get("server_output_json"):
        source = doc["server_output_json"].get("intervals", [])
    else:
        # A server started without --json sends its report as text (--get-server-output).
        streams = int(doc["start"]["test_start"].get("num_streams", 1))
        return _text_intervals(doc.get("server_output_text", ""), streams)
    out = []
    for iv in source or []:
        s = iv.get("sum", {})
        if "jitter_ms" not in s:
            continue  # sender-side interval: no receiver figures
        out.append(Interval(float(s.get("start", 0.0)), float(s.get("seconds", 0.0)), float(s["jitter_ms"]),
                            int(s.get("lost_packets", 0)), int(s.get("packets", 0))))
    return out


# "[SUM]   1.00-2.00   sec  25.2 KBytes   206 Kbits/sec  0.012 ms  0/150 (0%)" - iperf3's UDP receiver line.
_TEXT_LINE = re.compile(r"^\[\s*(?P<id>SUM|\d+)\]\s+(?P<start>[\d.]+)-(?P<end>[\d.]+)\s+sec\s+.*?"
                        r"(?P<jitter>[\d.]+)\s+ms\s+(?P<lost>-?\d+)/(?P<total>\d+)\s+\(.*?\)\s*(?P<tail>\w*)\s*$")


def _text_intervals(text: str, streams: int) -> list[Interval]:
    out = []
    for line in text.splitlines():
        m = _TEXT_LINE.match(line.strip())
        if not m or m["tail"] in ("receiver", "sender"):
            continue  # not an interval line, or the final summary
        if (streams > 1) != (m["id"] == "SUM"):
            continue  # per-stream lines when there is a sum, or vice versa
        start, end = float(m["start"]), float(m["end"])
        out.append(Interval(start, end - start, float(m["jitter"]), int(m["lost"]), int(m["total"])))
    return out
