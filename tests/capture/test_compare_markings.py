"""`readiness compare` of two `readiness analyze` runs of real captures (the corpus): an untagged G.711
call (aaa.pcap) and a capture whose voice stream is 802.1Q-tagged in VLAN 1508 (ndpi_rtp.pcapng, per
Wireshark's own analysis in the corpus). The comparison names the markings that differ, per stream
count, and says the runs are of different captures."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.corpus


def _analyze(corpus, name: str, out) -> str:
    p = subprocess.run([sys.executable, "-m", "readiness", "analyze", str(corpus / "pcaps" / "calls" / name),
                        "--out", str(out), "-q"], capture_output=True, text=True, timeout=120)
    (run_dir,) = out.iterdir()
    return str(run_dir)


def test_markings_that_differ_between_two_captures(corpus, tmp_path):
    before = _analyze(corpus, "aaa.pcap", tmp_path / "a")
    after = _analyze(corpus, "ndpi_rtp.pcapng", tmp_path / "b")
    p = subprocess.run([sys.executable, "-m", "readiness", "compare", before, after, "--json", "-", "--format", "md"],
                       capture_output=True, text=True, timeout=60)
    doc = json.loads(p.stdout)
    changes = {c["what"]: (c["before"], c["after"]) for c in doc["capture_changes"]}
    assert "vlan" in changes, doc["capture_changes"]
    vlan_before, vlan_after = changes["vlan"]
    assert set(vlan_before) == {"untagged"} and "1508" in vlan_after
    streams_after = json.loads((tmp_path / "b").joinpath(after.rsplit("/", 1)[1], "results.json").read_text())
    tagged = [s for s in streams_after["rtp_streams"] if s.get("vlan") == 1508 and s.get("kind") in ("voice", "unknown")]
    assert vlan_after["1508"] == len(tagged)
    assert any("different sites" in n for n in doc["notes"])
