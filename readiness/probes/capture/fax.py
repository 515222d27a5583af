"""T.38 fax in a capture: the UDPTL packets of a call that switched to fax, per direction.

A call switches to fax by re-INVITE with `m=image PORT udptl t38` (T.38 Annex D; RFC 3362 registers
image/t38); sip_calls.py hands over the endpoints so announced. From the frame of that SDP on, a UDP
packet to or from such an endpoint is UDPTL when its whole payload parses as a UDPTL packet (T.38
clause 9.1, ASN.1 aligned PER): a 2-byte sequence number, the primary IFP packet as a length-prefixed
octet string, then the error recovery: secondary IFP packets (redundancy) or FEC. Those packets are
claimed before RTP detection (rtp_detect.py), so the voice stream on the same ports ends at the switch
and counts only RTP. Parsing the framing to the last byte, rather than "not RTP version 2", is what
tells them apart: a sequence number from 0x8000 to 0xBFFF starts like RTP version 2.

Loss comes from the sequence numbers, as for RTP: numbers never received as a primary IFP; of those,
the ones a later packet carried as a secondary IFP (redundancy) were recovered by the receiver.
Only packets on SDP-announced T.38 endpoints are parsed (one Python call each: fax runs at tens of
packets a second); a capture without image/t38 SDP costs one length check per batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .layers import Layers
from .pcap import Batch
from .rtp_detect import endpoint_keys, near_endpoints
from .streams import address_text

MAX_TRACKED_MISSING = 65536     # sequence numbers remembered as missing per direction (one seq space)


@dataclass(frozen=True)
class Udptl:
    seq: int
    primary_len: int
    recovery: str                   # "redundancy" (secondary IFPs) or "fec"
    secondaries: int                # secondary IFPs carried; for FEC the packets its FEC covers


def _length(p: bytes, pos: int) -> tuple[int, int] | None:
    """X.691 10.9.3.6-7 aligned PER length determinant: 0xxxxxxx, or 10xxxxxx xxxxxxxx. The
    fragmented form (11xxxxxx, 16K units) never carries a T.38 IFP and is not read."""
    if pos >= len(p):
        return None
    b = p[pos]
    if b < 0x80:
        return b, pos + 1
    if b < 0xC0 and pos + 1 < len(p):
        return ((b & 0x3F) << 8) | p[pos + 1], pos + 2
    return None


def _skip_octet_strings(p: bytes, pos: int) -> tuple[int, int] | None:
    """A SEQUENCE OF length-prefixed octet strings: (count, position after the last)."""
    got = _length(p, pos)
    if got is None:
        return None
    count, pos = got
    for _ in range(count):
        got = _length(p, pos)
        if got is None:
            return None
        pos = got[1] + got[0]
    return count, pos


def parse_udptl(p: bytes) -> Udptl | None:
    """The UDPTL packet (T.38 9.1) that is exactly `p`, or None when `p` is not one."""
    if len(p) < 4:
        return None
    seq = (p[0] << 8) | p[1]
    got = _length(p, 2)
    if got is None or got[0] == 0:          # an IFP packet has at least its type-of-msg octet
        return None
    n, pos = got
    pos += n
    if pos >= len(p):                       # the error-recovery CHOICE must follow
        return None
    fec = bool(p[pos] & 0x80)               # CHOICE index bit, octet-aligned: 0 secondary IFPs, 1 FEC
    pos += 1
    covered = 0
    if fec:
        got = _length(p, pos)               # fec-npackets: unconstrained INTEGER, length + octets
        if got is None or got[0] == 0 or got[1] + got[0] > len(p):
            return None
        covered = int.from_bytes(p[got[1]:got[1] + got[0]], "big")
        pos = got[1] + got[0]
    strings = _skip_octet_strings(p, pos)   # secondary IFPs, or fec-data
    if strings is None or strings[1] != len(p):
        return None
    return Udptl(seq, n, "fec" if fec else "redundancy", covered if fec else strings[0])


@dataclass
class FaxFlow:
    """One direction of a fax: (source, destination) of UDPTL packets and what their sequence numbers say."""

    src: str
    sport: int
    dst: str
    dport: int
    call_id: str
    first_frame: int
    first_ns: int
    last_ns: int = 0
    packets: int = 0
    duplicates: int = 0
    reordered: int = 0              # arrived after a later sequence number: filled a gap late
    gaps: int = 0                   # forward jumps of more than one
    first_seq: int = -1
    highest: int = -1               # extended (wrap-counted) highest sequence number
    recovery: dict[str, int] = field(default_factory=dict)
    missing: set[int] = field(default_factory=set)
    recovered: set[int] = field(default_factory=set)
    untracked: int = 0              # missing numbers beyond MAX_TRACKED_MISSING (counted, not kept)

    def add(self, u: Udptl, ts_ns: int) -> None:
        self.packets += 1
        self.last_ns = ts_ns
        self.recovery[u.recovery] = self.recovery.get(u.recovery, 0) + 1
        if self.highest < 0:
            self.first_seq = self.highest = ext = u.seq
        else:
            step = (u.seq - self.highest) % 65536
            ext = self.highest + step if step < 32768 else self.highest - (65536 - step)
            if ext > self.highest:
                if step > 1:
                    self.gaps += 1
                    room = max(MAX_TRACKED_MISSING - len(self.missing), 0)
                    self.missing.update(range(self.highest + 1, self.highest + min(step, room + 1)))
                    self.untracked += max(step - 1 - room, 0)
                self.highest = ext
            elif ext in self.missing:
                self.missing.discard(ext)
                self.recovered.discard(ext)
                self.reordered += 1
            else:
                self.duplicates += 1
        if u.recovery == "redundancy" and self.missing:
            # the secondary IFPs are the packets just before this one, newest first (T.38 9.1)
            self.recovered.update(s for s in range(ext - u.secondaries, ext) if s in self.missing)

    def to_json(self) -> dict[str, Any]:
        expected = self.highest - self.first_seq + 1 if self.packets else 0
        lost = len(self.missing) + self.untracked
        return {
            "kind": "t38", "call_id": self.call_id, "src": self.src, "sport": self.sport, "dst": self.dst,
            "dport": self.dport, "first_frame": self.first_frame, "start": self.first_ns / 1e9,
            "end": self.last_ns / 1e9, "duration_s": round((self.last_ns - self.first_ns) / 1e9, 3),
            "udptl": {"packets": self.packets, "first_seq": self.first_seq, "last_seq": self.highest % 65536,
                      "expected": expected, "lost": lost,
                      "lost_pct": round(100.0 * lost / expected, 3) if expected else None,
                      "gaps": self.gaps, "recovered": len(self.recovered),
                      "unrecovered": lost - len(self.recovered), "duplicates": self.duplicates,
                      "reordered": self.reordered, "error_recovery": dict(sorted(self.recovery.items()))},
        }


class FaxWatch:
    """Claims the UDPTL packets of a batch, on endpoints SDP announced as image/t38 (sip_calls.py)."""

    def __init__(self) -> None:
        self._seen = 0                                  # entries of CallTracker.t38_announced read so far
        self._keys = np.zeros(0, dtype=np.uint64)       # endpoint_keys() of every endpoint ever image/t38
        # endpoint -> [(from frame, call_id, is T.38)], in capture order
        self._history: dict[tuple[int, int, int], list[tuple[int, str, bool]]] = {}
        self.flows: dict[tuple, FaxFlow] = {}

    def watch(self, announced: list[tuple[tuple[int, int, int], int, str, bool]]) -> None:
        if len(announced) == self._seen:
            return
        for key, frame, call_id, t38 in announced[self._seen:]:
            self._history.setdefault(key, []).append((frame, call_id, t38))
        self._seen = len(announced)
        keys = list(self._history)
        self._keys = np.unique(endpoint_keys(np.array([k[0] for k in keys], dtype=np.uint64),
                                             np.array([k[1] for k in keys], dtype=np.uint64),
                                             np.array([k[2] for k in keys], dtype=np.int64)))

    def claim(self, batch: Batch, lay: Layers, exclude: np.ndarray) -> np.ndarray:
        """Rows of the batch that are UDPTL packets of a T.38 call; they are counted here."""
        if not len(self._keys):
            return np.zeros(0, dtype=np.int64)
        rows = np.flatnonzero((lay.proto == 17) & (lay.pay >= 0) & (lay.paylen >= 4) & ~exclude)
        if not len(rows):
            return rows
        near = near_endpoints(self._keys, lay, rows)
        out = []
        for i in rows[near].tolist():
            frame = batch.first + i + 1
            call_id = self._t38_call(frame, (int(lay.dst_hi[i]), int(lay.dst_lo[i]), int(lay.dport[i])),
                                     (int(lay.src_hi[i]), int(lay.src_lo[i]), int(lay.sport[i])))
            if call_id is None:
                continue
            u = parse_udptl(batch.buf[lay.pay[i]:lay.pay[i] + lay.paylen[i]].tobytes())
            if u is None:
                continue
            self._flow(batch, lay, i, frame, call_id).add(u, int(batch.ts_ns[i]))
            out.append(i)
        return np.asarray(out, dtype=np.int64)

    def _t38_call(self, frame: int, *endpoints: tuple[int, int, int]) -> str | None:
        """The call whose latest SDP before `frame` for one of the endpoints was image/t38."""
        for key in endpoints:
            before = [h for h in self._history.get(key, ()) if h[0] < frame]
            if before and before[-1][2]:
                return before[-1][1]
        return None

    def _flow(self, batch: Batch, lay: Layers, i: int, frame: int, call_id: str) -> FaxFlow:
        ver = int(lay.ipver[i])
        key = (ver, int(lay.src_hi[i]), int(lay.src_lo[i]), int(lay.sport[i]), int(lay.dst_hi[i]),
               int(lay.dst_lo[i]), int(lay.dport[i]))
        flow = self.flows.get(key)
        if flow is None:
            flow = self.flows[key] = FaxFlow(
                address_text(ver, key[1], key[2]), key[3], address_text(ver, key[4], key[5]), key[6], call_id,
                frame, int(batch.ts_ns[i]))
        return flow

    def results(self) -> list[dict[str, Any]]:
        return [f.to_json() for f in sorted(self.flows.values(), key=lambda f: f.first_frame)]


def mark_calls(calls: list[dict[str, Any]], fax_streams: list[dict[str, Any]]) -> None:
    """Each fax call's `t38` entry gains its first UDPTL packet; a call whose UDPTL was seen without
    a 2xx accepting the T.38 offer (answer not captured) gets the entry from that packet."""
    for call in calls:
        mine = [f for f in fax_streams if f["call_id"] == call["call_id"]]
        if not mine:
            continue
        first = min(mine, key=lambda f: f["first_frame"])
        t38 = call.setdefault("t38", {"switched_at": first["start"], "frame": None, "offer_frame": None})
        t38["first_udptl_frame"], t38["first_udptl"] = first["first_frame"], first["start"]

