"""DSCP and 802.1Q histograms per traffic class, and the packets that break the site's markings.

Classes: voice media (RTP streams labelled voice or srtp), other media (video, events, ...),
signalling (SIP), everything else. Expected (site file `markings:`): the media DSCP (RFC 4594 EF),
the accepted signalling DSCPs (by default CS5 of RFC 4594, CS3 and legacy AF31 of Cisco's QoS
baseline) and the 802.1p priority of tagged voice frames (5). Untagged frames carry no priority and
are not judged for it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import dscp as dscp_names
from ...config.site import Markings
from .layers import Layers
from .sip_payloads import CapturedSip

VOICE_KINDS = ("voice", "srtp")
MAX_EXAMPLES = 20


def _hist(counts: np.ndarray | dict[int, int]) -> dict[str, int]:
    items = counts.items() if isinstance(counts, dict) else ((i, int(c)) for i, c in enumerate(counts))
    return {dscp_names.name(int(k)): int(v) for k, v in sorted(items) if v}


def _tags(counts: dict[tuple[int, int], int]) -> dict[str, int]:
    return {("untagged" if v < 0 else f"vlan {v} pcp {p}"): c for (v, p), c in sorted(counts.items())}


class MarkingCounter:
    def __init__(self, expected: Markings):
        self.expected = expected
        self.media_dscp = expected.media_dscp()
        self.signalling_ok = set(expected.signalling_dscps())
        self.all_dscp = np.zeros(64, dtype=np.int64)
        self.other_dscp = np.zeros(64, dtype=np.int64)
        self.other_tags: dict[tuple[int, int], int] = {}
        self.sip_dscp = np.zeros(64, dtype=np.int64)
        self.sip_tags: dict[tuple[int, int], int] = {}
        self.sip_bad: list[dict[str, Any]] = []
        self.sip_bad_count = 0

    def batch(self, lay: Layers, claimed: np.ndarray) -> None:
        """Counts over every IP packet, and over what is neither SIP nor RTP."""
        ip = lay.dscp >= 0
        self.all_dscp += np.bincount(lay.dscp[ip], minlength=64)[:64]
        other = ip & ~claimed
        self.other_dscp += np.bincount(lay.dscp[other], minlength=64)[:64]
        pairs = lay.vlan[other].astype(np.int64) * 8 + np.maximum(lay.pcp[other], 0)
        for v, c in zip(*np.unique(pairs, return_counts=True)):
            key = (int(v) // 8, int(v) % 8) if v >= 0 else (-1, -1)
            self.other_tags[key] = self.other_tags.get(key, 0) + int(c)

    def signalling(self, dscp: int, vlan: int, pcp: int, frame: int, seen: CapturedSip) -> None:
        if dscp < 0:
            return
        self.sip_dscp[dscp] += 1
        key = (vlan, pcp) if vlan >= 0 else (-1, -1)
        self.sip_tags[key] = self.sip_tags.get(key, 0) + 1
        if dscp not in self.signalling_ok:
            self.sip_bad_count += 1
            if len(self.sip_bad) < MAX_EXAMPLES:
                self.sip_bad.append({"frame": frame, "dscp": dscp_names.name(dscp),
                                     "message": seen.method or f"{seen.status} {seen.message.reason}".strip(),
                                     "call_id": seen.message.call_id})

    def report(self, streams: list[Any]) -> dict[str, Any]:
        """Histograms per class and the markings that break the site's expectations.

        `streams` are StreamResult objects (they carry dscp/vlan/pcp counts and their kind).
        """
        media = np.zeros(64, dtype=np.int64)
        other_media = np.zeros(64, dtype=np.int64)
        media_tags: dict[tuple[int, int], int] = {}
        bad_media: list[dict[str, Any]] = []
        pcp_total = pcp_ok = 0
        for s in streams:
            voice = s.kind in VOICE_KINDS
            (media if voice else other_media)[:] += s.dscp_counts
            if not voice:
                continue
            for (v, p), c in s.tag_counts.items():
                media_tags[(v, p)] = media_tags.get((v, p), 0) + c
                if v >= 0:
                    pcp_total += c
                    pcp_ok += c if p == self.expected.media_pcp else 0
            wrong = int(s.dscp_counts.sum() - s.dscp_counts[self.media_dscp])
            wrong_pcp = sum(c for (v, p), c in s.tag_counts.items() if v >= 0 and p != self.expected.media_pcp)
            if wrong or wrong_pcp:
                bad_media.append({"stream": s.label(), "ssrc": f"0x{s.key.ssrc:08X}", "packets": s.packets,
                                  "wrong_dscp_packets": wrong, "dscp_seen": _hist(s.dscp_counts),
                                  "wrong_pcp_packets": wrong_pcp,
                                  "first_wrong_frames": s.first_wrong_frames(self.media_dscp,
                                                                             self.expected.media_pcp)})
        media_total = int(media.sum())
        sip_total = int(self.sip_dscp.sum())
        return {
            "expected": {"media": dscp_names.name(self.media_dscp),
                         "signalling": [dscp_names.name(d) for d in sorted(self.signalling_ok)],
                         "voice_pcp": self.expected.media_pcp},
            "dscp": {"voice_media": _hist(media), "other_media": _hist(other_media),
                     "signalling": _hist(self.sip_dscp), "other": _hist(self.other_dscp), "all": _hist(self.all_dscp)},
            "vlan": {"voice_media": _tags(media_tags), "signalling": _tags(self.sip_tags),
                     "other": _tags(self.other_tags)},
            "media_dscp_ok_pct": _pct(int(media[self.media_dscp]), media_total),
            "media_packets": media_total,
            "signalling_dscp_ok_pct": _pct(sum(int(self.sip_dscp[d]) for d in self.signalling_ok), sip_total),
            "signalling_packets": sip_total,
            "voice_pcp_ok_pct": _pct(pcp_ok, pcp_total),
            "voice_tagged_packets": pcp_total,
            "violations": {"media": bad_media, "signalling": self.sip_bad,
                           "signalling_count": self.sip_bad_count},
        }


def _pct(part: int, total: int) -> float | None:
    return None if total == 0 else round(100.0 * part / total, 3)
