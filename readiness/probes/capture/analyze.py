"""Offline analysis of a capture: one pass over the file, everything the technician asks of it.

    batches (pcap.py) -> layers (layers.py) -> SIP messages (sip_payloads, sip_calls)
                                            -> UDPTL of calls switched to T.38 fax (fax.py)
                                            -> RTP packets (rtp_detect) -> streams (streams.py)
                                            -> LLDP / CDP frames (discovery.py)
                                            -> DSCP / 802.1Q counts (markings.py)

Per-stream loss, jitter and MOS come from `readiness.analysis` (stream_stats.py adapts it here).
Memory is the chunk being read plus per-stream state; nothing grows with the number of packets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ...config.site import Markings
from ...errors import ReadinessError
from . import copies as copy_check, discovery, dissect, fax, markings as marking_checks, sip_payloads
from .rtcp_reports import RtcpWatch
from .layers import ETH_CISCO_SNAP, ETH_LLDP, LINKTYPE_NAMES, PID_CDP, decode
from .pcap import CHUNK_BYTES, CaptureReader
from .rtp_detect import detect, endpoint_keys, fragmented_sip, sip_candidates
from .sip_calls import CallTracker
from .stream_stats import StreamResult, analyse_stream, new_analyser
from .streams import StreamTable

MAX_DISCOVERY_FRAMES = 1000   # LLDP/CDP repeat every 30-60 s; more than this is a loop, not news


@dataclass
class Analysis:
    """Everything `readiness analyze` reports about one capture."""

    file: str
    format: str = ""
    packets: int = 0
    first_ns: int | None = None
    last_ns: int | None = None
    linktypes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    streams: list[StreamResult] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    fax_streams: list[dict[str, Any]] = field(default_factory=list)   # UDPTL per direction (fax.py)
    sip: dict[str, Any] = field(default_factory=dict)
    lldp: list[dict[str, Any]] = field(default_factory=list)
    cdp: list[dict[str, Any]] = field(default_factory=list)
    markings: dict[str, Any] = field(default_factory=dict)
    copies: dict[str, Any] = field(default_factory=dict)     # what the capture point recorded twice
    rtcp: dict[str, Any] = field(default_factory=dict)       # RTCP packets: how many, read or not (rtcp_reports)

    def to_json(self) -> dict[str, Any]:
        """The capture's part of the run document (readiness.details.capture types it)."""
        return {
            "capture": {"file": self.file, "format": self.format, "packets": self.packets,
                        "start": self.first_ns / 1e9 if self.first_ns is not None else None,
                        "end": self.last_ns / 1e9 if self.last_ns is not None else None,
                        "link_types": self.linktypes, "problems": self.problems, "copies": self.copies,
                        "rtcp": self.rtcp},
            "rtp_streams": [s.to_json() for s in self.streams], "fax_streams": self.fax_streams,
            "sip": self.sip, "sip_calls": self.calls,
            "lldp": self.lldp, "cdp": self.cdp, "markings": self.markings,
        }


def analyse(path: str | Path, expected: Markings | None = None,
            progress: Callable[[int, int], None] | None = None, chunk_bytes: int = CHUNK_BYTES) -> Analysis:
    """Read `path` once and return the analysis. `progress(bytes_read, file_size)` after each chunk."""
    path = Path(path)
    expected = expected or Markings()
    reader = CaptureReader(path, chunk_bytes)
    size = path.stat().st_size
    calls = CallTracker()
    table = StreamTable(new_analyser)
    marks = marking_checks.MarkingCounter(expected)
    l2 = discovery.Collector(MAX_DISCOVERY_FRAMES)
    sdp_keys = np.zeros(0, dtype=np.uint64)
    tcp_sip = sip_payloads.TcpSip()
    faxes = fax.FaxWatch()
    rtcp = RtcpWatch()
    result = Analysis(file=str(path), format=reader.stats.format)
    unsupported: dict[int, int] = {}
    sip_fragments = 0

    for batch in reader.batches():
        lay = decode(batch)
        if result.first_ns is None and len(batch):
            valid = batch.ts_ns[batch.ts_ns >= 0]
            result.first_ns = int(valid[0]) if len(valid) else None
        if len(batch):
            result.last_ns = int(batch.ts_ns[-1])
        bad = ~lay.linktype_ok
        if bad.any():
            for lt, c in zip(*np.unique(batch.linktype[bad], return_counts=True)):
                unsupported[int(lt)] = unsupported.get(int(lt), 0) + int(c)

        # SIP first: its SDP tells which later packets are media, and SIP is never media.
        sip_rows = sip_candidates(batch, lay)
        for i in sip_rows:
            payload = batch.buf[lay.pay[i]:lay.pay[i] + lay.paylen[i]].tobytes()
            frame = batch.first + int(i) + 1
            if lay.proto[i] == 6:
                msgs = tcp_sip.feed(frame, payload)
            else:
                msgs = sip_payloads.read(payload)
            for msg in msgs:
                new = calls.add(msg, int(batch.ts_ns[i]), frame)
                marks.signalling(int(lay.dscp[i]), int(lay.vlan[i]), int(lay.pcp[i]), frame, msg)
                if new:
                    sdp_keys = np.union1d(sdp_keys, endpoint_keys(
                        np.array([k[0] for k in new], dtype=np.uint64), np.array([k[1] for k in new], dtype=np.uint64),
                        np.array([k[2] for k in new], dtype=np.int64)))
        claimed = np.zeros(len(batch), dtype=bool)
        claimed[sip_rows] = True
        faxes.watch(calls.t38_announced)
        claimed[faxes.claim(batch, lay, claimed)] = True     # UDPTL after a switch to fax is never RTP
        sip_fragments += fragmented_sip(batch, lay)
        claimed[rtcp.watch(batch, lay, claimed)] = True     # RTCP (SR 200 .. XR 207) is never RTP

        rtp = detect(batch, lay, sdp_keys, claimed)
        if len(rtp.rows):
            table.add(rtp, batch, lay, calls.binding, copy_check.Identity(batch, lay))
            claimed[rtp.rows] = True

        for i in np.flatnonzero((lay.ethertype == ETH_LLDP) | (lay.ethertype == ETH_CISCO_SNAP + PID_CDP)):
            l2.add(int(lay.ethertype[i]), batch.buf[lay.l2[i]:batch.off[i] + batch.caplen[i]].tobytes(),
                   batch.first + int(i) + 1, int(batch.ts_ns[i]), int(batch.origlen[i]) > int(batch.caplen[i]))
        marks.batch(lay, claimed)
        if progress:
            progress(reader.stats.bytes, size)

    result.problems = list(reader.stats.problems)
    if sip_fragments:
        calls = _with_dissected(path, calls, marks, result.problems, dissect.fragmented_sip,
                                f"{sip_fragments} SIP messages arrived as IP fragments")
    if tcp_sip.split:
        calls = _with_dissected(path, calls, marks, result.problems, dissect.segmented_sip,
                                f"{tcp_sip.split} SIP messages over TCP were split across segments", tcp_sip.unread)
    streams = table.finish(calls.binding)
    result.packets = reader.stats.packets
    for lt, count in sorted(unsupported.items()):
        result.problems.append(f"{count} packets on link type {lt} were skipped: this reader knows "
                               f"{', '.join(sorted(set(LINKTYPE_NAMES.values())))}")
    if reader.stats.truncated_packets:
        result.problems.append(f"{reader.stats.truncated_packets} packets were cut short by the capture's "
                               f"snap length ({reader.stats.snaplen} bytes); headers were read where present")
    result.problems.extend(table.rejected())
    if table.dropped_packets:
        result.problems.append(f"more than {table.max_streams} RTP-like streams: {table.dropped_packets} packets "
                               f"of further ones were not analysed")
    result.linktypes = sorted({LINKTYPE_NAMES.get(lt, f"link type {lt}") for lt in reader.stats.linktypes})
    result.streams = [analyse_stream(s) for s in streams]
    _label_ssrc_collisions(result.streams)
    rtcp.attach(result.streams)
    result.rtcp = rtcp.summary()
    result.problems.extend(rtcp.problems())
    result.copies, sentence = copy_check.summary([(s.copies, s.packets) for s in result.streams if s.kind != "not-rtp"])
    if sentence:
        result.problems.append(sentence)
    result.calls = [c.to_json() for c in calls.attach(streams)]
    result.fax_streams = faxes.results()
    fax.mark_calls(result.calls, result.fax_streams)
    result.sip = {"messages": calls.messages, "requests": calls.requests,
                  "responses": {str(k): v for k, v in sorted(calls.responses.items())}}
    result.lldp, result.cdp = l2.results()
    result.markings = marks.report(result.streams)
    if not result.packets and not result.problems:
        result.problems.append("the capture holds no packets")
    return result


def _with_dissected(path: Path, calls: CallTracker, marks: marking_checks.MarkingCounter, problems: list[str],
                    dissector: Callable[[Path], list[dissect.Dissected]], what: str,
                    unread: Callable[[int, sip_payloads.CapturedSip], bool] | None = None) -> CallTracker:
    """SIP that only reassembly makes whole (IP fragments, TCP segments), read by tshark (dissect.py) and
    merged in capture order. A stream whose only SDP was in such a message is bound to its call now;
    its clock was chosen without that SDP (static payload types are unaffected)."""
    try:
        late = [d for d in dissector(path) if unread is None or unread(d.frame, d.message)]
    except Exception as e:                       # tshark missing or failing: say what was not read
        why = str(e) if isinstance(e, ReadinessError) else f"{type(e).__name__}: {e}"
        problems.append(f"{what} and could not be reassembled ({why})")
        return calls
    for d in late:
        marks.signalling(d.dscp, d.vlan, d.pcp, d.frame, d.message)
    return calls.merged_with([(d.frame, d.ts_ns, d.message) for d in late])


def _label_ssrc_collisions(streams: list[StreamResult]) -> None:
    """RFC 3550 8.2: two sources sending the same SSRC to one destination collide; a receiver keyed by
    SSRC alone would merge them. Each stays its own stream here (keyed by source too) and is labelled."""
    by_dest: dict[tuple, list[StreamResult]] = {}
    for s in streams:
        by_dest.setdefault((s.key.dst, s.key.dport, s.key.ssrc), []).append(s)
    for group in by_dest.values():
        if len(group) > 1:
            for s in group:
                others = ", ".join(f"{o.key.src}:{o.key.sport}" for o in group if o is not s)
                s.problems.append(f"SSRC 0x{s.key.ssrc:08X} is also sent to {s.key.dst}:{s.key.dport} by {others}: "
                                  f"an SSRC collision (RFC 3550 8.2); the streams are kept apart by source")
