"""Interoperability with a SIP peer nobody here wrote: baresip auto-answers our calls (environment.md).

We check what we receive from it (PCMU, 50 packets/s, marked EF), that its RTCP sender reports every
~5 s parse and carry a report block about our stream, and that the call is scored from them:
down from its RTP, up from its receiver reports, the round trip from LSR/DLSR (RFC 3550 6.4.1).
"""

from __future__ import annotations

import asyncio

import pytest

from readiness.probes.calls.load import LoadConfig, run_load
from readiness.probes.calls.records import to_json
from tests.calls.sip import peers

DURATION_S = 9.0           # baresip's tone (peers.baresip) lasts 10 s; its RTCP comes every ~5 s


@pytest.fixture
def baresip(tmp_path):
    with peers.baresip(tmp_path) as port:         # the SIP tests' auto-answering baresip
        yield port


def test_call_answered_by_baresip(baresip):
    cfg = LoadConfig(f"sip:echo@127.0.0.1:{baresip}", calls=1, cps=5, duration_s=DURATION_S, codec="pcmu")
    result = asyncio.run(run_load(cfg))
    call = result.calls[0]
    assert call.answered and call.outcome.status == 200 and not call.reflected
    res = call.media_result
    m = call.media
    # what baresip sent us: PCMU, 50 packets/s, EF
    down = m.down
    assert down is not None and down.source == "rtp"
    assert abs(down.packets_received - 50 * DURATION_S) <= 0.1 * 50 * DURATION_S
    assert down.dscp_received == 46 and down.dscp_remarked_pct == 0.0
    assert down.loss_pct == 0.0 and down.jitter_ms < 5.0
    # its RTCP: sender reports, with a block about our stream
    srs = [r for r in res.peer_reports if r.report.sender is not None]
    assert len(srs) >= 1
    about_us = [b for r in res.peer_reports for b in r.report.blocks if b.ssrc == res.ssrc]
    assert about_us and about_us[-1].cumulative_lost == 0 and about_us[-1].highest_seq > 0
    assert res.malformed == 0, res.malformed_sample
    # up from its receiver reports, RTT from LSR/DLSR
    assert m.up is not None and m.up.source == "rtcp" and m.up.loss_pct == 0.0
    assert m.rtt_p50_ms is not None and 0 <= m.rtt_p50_ms < 50
    doc = to_json(result)["calls"][0]
    assert doc["far_end"] == "rtp-peer" and doc["dscp_received_down"] == 46 and doc["dscp_received_up"] is None
    assert doc["mos_down"] > 4.0
