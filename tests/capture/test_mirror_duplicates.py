"""Captures from a mirror (SPAN) port that records packets twice, and bad input (issue 14).

The lab: hosts a, b and c on a Linux bridge in a "switch" namespace; tc mirrors both directions of the
ports to a and to b (`u32` match-all, `action mirred egress mirror`) onto a veth that dumpcap records,
like a SPAN session with both ports as sources, both ways. What a and b send each other crosses two
mirrored ports and is recorded twice, microseconds apart; what c sends a crosses one: recorded once.
The senders (rtp_sender.py, real UDP sockets, 20 ms) skip known sequence numbers: loss before the
capture point, the ground truth.

Wireshark on the same file: `tshark -z rtp,streams` counts every copy as a packet, so its Pkts are
our packets + copies and its Lost (expected - Pkts) is our lost - copies, negative; its jitter and
deltas include the copies (a copy 0.03 ms after its original). With the copies taken out by
`editcap -d` (frame-identical within 5 frames), tshark's figures and ours must be the same.
"""

from __future__ import annotations

import contextlib
import json
import random
import signal
import struct
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Iterator

import pytest

from readiness.probes.capture.analyze import analyse
from readiness.probes.capture.pcap_writer import ethernet, ipv4_udp, rtp, write_pcap
from tests.capture.test_rtp_edge_cases import _tshark_rows
from tests.conftest import REPO, need_tool
from tests.netlab import require_root, sh

PACKETS = 150
SUBNET = "10.64.0"
# (sender, receiver, sport, dport, ssrc, sequence numbers not sent, recorded twice?)
STREAMS = [("a", "b", 41000, 42000, 0xA11CE001, {40, 41, 97}, True),
           ("b", "a", 42000, 41000, 0xB0B00002, set(), True),
           ("c", "a", 43000, 41002, 0xC0C00003, {60}, False)]
PRINTED = 0.0006                          # tshark prints %.3f
SENTENCE = "the capture point copies packets twice (a mirror port set to both directions?): 2 of 3 RTP streams"


@contextlib.contextmanager
def mirrored_switch() -> Iterator[dict[str, str]]:
    """Namespaces a, b, c (SUBNET.1-3) on bridge br0 in namespace s; ports pa and pb mirrored both ways
    to veth `mon`, whose peer `monx` (in s) is where the capture runs. Removed even when a test fails."""
    require_root()
    tag = uuid.uuid4().hex[:5]
    ns = {h: f"rl-{h}-{tag}" for h in ("a", "b", "c", "s")}
    try:
        for name in ns.values():
            sh("ip", "netns", "add", name)
            sh("ip", "link", "set", "lo", "up", ns=name)
        s = ns["s"]
        sh("ip", "link", "add", "br0", "type", "bridge", ns=s)
        sh("ip", "link", "add", "mon", "type", "veth", "peer", "name", "monx", ns=s)
        for i, host in enumerate("abc", start=1):
            sh("ip", "link", "add", f"p{host}", "netns", s, "type", "veth", "peer", "name", "eth0", "netns", ns[host])
            sh("ip", "addr", "add", f"{SUBNET}.{i}/24", "dev", "eth0", ns=ns[host])
            sh("ip", "link", "set", "eth0", "up", ns=ns[host])
            sh("ip", "link", "set", f"p{host}", "master", "br0", "up", ns=s)
        for dev in ("br0", "mon", "monx"):
            sh("ip", "link", "set", dev, "up", ns=s)
        for port in ("pa", "pb"):
            sh("tc", "qdisc", "add", "dev", port, "clsact", ns=s)
            for way in ("ingress", "egress"):
                sh("tc", "filter", "add", "dev", port, way, "protocol", "ip", "u32", "match", "u32", "0", "0",
                   "action", "mirred", "egress", "mirror", "dev", "mon", ns=s)
        yield ns
    finally:
        for name in ns.values():
            for pid in subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True).stdout.split():
                with contextlib.suppress(ProcessLookupError, ValueError):
                    subprocess.run(["kill", "-9", pid], capture_output=True)
            subprocess.run(["ip", "netns", "del", name], capture_output=True)


def _dumpcap(ns: str, path: Path) -> subprocess.Popen:
    proc = subprocess.Popen(["ip", "netns", "exec", ns, need_tool("dumpcap"), "-i", "monx", "-w", str(path), "-q"],
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:          # dumpcap says "Capturing on 'monx'" once it records
        line = proc.stderr.readline()
        if "Capturing on" in line:
            return proc
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError(f"dumpcap did not start: {proc.stderr.read()}")


@pytest.fixture(scope="module")
def mirror_capture(tmp_path_factory) -> Path:
    """The three streams sent at once through the mirrored switch, recorded by the real dumpcap."""
    path = tmp_path_factory.mktemp("mirror") / "span.pcapng"
    with mirrored_switch() as ns:
        cap = _dumpcap(ns["s"], path)
        try:
            ips = {h: f"{SUBNET}.{i}" for i, h in enumerate("abc", start=1)}
            senders = [subprocess.Popen(["ip", "netns", "exec", ns[src], sys.executable, "-m",
                                         "tests.capture.rtp_sender", str(sport), ips[dst], str(dport), hex(ssrc),
                                         str(PACKETS), ",".join(map(str, sorted(skip)))],
                                        cwd=REPO, stderr=subprocess.PIPE, text=True)
                       for src, dst, sport, dport, ssrc, skip, _ in STREAMS]
            for p in senders:
                assert p.wait(timeout=30) == 0, p.stderr.read()
            time.sleep(0.5)                         # the last packets reach the capture
        finally:
            cap.send_signal(signal.SIGINT)
            cap.wait(timeout=15)
    assert path.stat().st_size > 0
    return path


@pytest.fixture(scope="module")
def mirror_pcap(mirror_capture) -> Path:
    """The same packets as a pcap file (editcap), whose records are simple to cut and to count."""
    pcap = mirror_capture.with_suffix(".pcap")
    subprocess.run([need_tool("editcap"), "-F", "pcap", str(mirror_capture), str(pcap)], capture_output=True,
                   check=True)
    return pcap


def test_a_mirror_port_s_copies_are_counted_once_and_agree_with_tshark(mirror_capture, tmp_path):
    out = tmp_path / "run.json"
    p = subprocess.run([sys.executable, "-m", "readiness", "analyze", str(mirror_capture), "--json", str(out),
                        "--no-keep"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr          # EF voice, nothing else to judge: passes
    doc = json.loads(out.read_text())
    got = {int(s["ssrc"], 16): s for s in doc["rtp_streams"]}
    assert set(got) == {ssrc for *_, ssrc, _, _ in STREAMS}
    raw = _tshark_rows(mirror_capture)
    once = tmp_path / "once.pcapng"
    subprocess.run([need_tool("editcap"), "-d", str(mirror_capture), str(once)], capture_output=True, check=True)
    dedup = _tshark_rows(once)
    for src, dst, sport, dport, ssrc, skip, twice in STREAMS:
        s, label = got[ssrc], f"0x{ssrc:08X}"
        sent = PACKETS - len(skip)
        # duplicated streams are RTP (they used to be not-rtp: half their sequence steps were 0)
        assert s["kind"] == "voice" and s["codec"] == "PCMU", label
        assert (s["packets"], s["expected"], s["lost"], s["duplicates"]) == (sent, PACKETS, len(skip), 0), label
        assert (s["copies"], s["copies_pct"], s["capture_copies"]) == ((sent, 50.0, True) if twice else (0, 0.0, False))
        assert any("recorded this stream's packets twice" in x for x in s["problems"]) == twice, label
        # tshark on the same file: copies counted as packets, Lost negative by as many
        assert raw[ssrc]["pkts"] == s["packets"] + s["copies"], label
        assert raw[ssrc]["lost"] == s["lost"] - s["copies"], label
        # tshark with the copies removed: the same figures as ours
        d = dedup[ssrc]
        assert (d["pkts"], d["lost"]) == (s["packets"], s["lost"]), label
        for ours, theirs in (("max_delta_ms", "max_delta"), ("mean_jitter_ms", "mean_jitter"),
                             ("max_jitter_ms", "max_jitter")):
            assert s[ours] == pytest.approx(d[theirs], abs=PRINTED), (label, ours)
    copies = doc["capture"]["copies"]
    total_copies = sum(PACKETS - len(skip) for *_, skip, twice in STREAMS if twice)
    captured = sum((PACKETS - len(skip)) * (2 if twice else 1) for *_, skip, twice in STREAMS)
    assert copies == {"streams": 2, "of_streams": 3, "copies": total_copies, "rtp_packets_captured": captured,
                      "copies_pct": round(100.0 * total_copies / captured, 1)}
    pct = f"{100.0 * total_copies / captured:.0f} % of their packets are copies"
    (sentence,) = [x for x in doc["capture"]["problems"] if x.startswith(SENTENCE)]
    assert pct in sentence
    assert sentence in [n["message"] for n in doc["notes"]]        # the run document of the capture probe
    assert SENTENCE in p.stdout                                    # and the console (--json does not silence it)


def test_thousands_of_short_udp_flows_make_no_streams(tmp_path):
    """3000 request/answer flows between random high ports with random payloads (DNS-like): one datagram
    in twenty or so passes the per-packet RTP header test; none may become a stream."""
    rng = random.Random(14)
    frames, t = [], 1.7e9
    for f in range(3000):
        client, sport, dport = f"10.1.{f // 250}.{f % 250 + 1}", rng.randrange(1024, 65536), rng.randrange(1024, 65536)
        for k in range(rng.choice((1, 2, 2, 3))):
            payload = rng.randbytes(rng.randrange(12, 120))
            ends = (client, "10.2.0.1", sport, dport) if k % 2 == 0 else ("10.2.0.1", client, dport, sport)
            frames.append((t, ethernet(ipv4_udp(*ends, payload))))
            t += 0.001
    frames += [(1.7e9 + i * 0.02 + 0.0005, ethernet(ipv4_udp("10.0.0.1", "10.0.0.2", 40000, 40002,
                                                             rtp(i, 160 * i, 0x77), dscp=46))) for i in range(100)]
    path = write_pcap(tmp_path / "flows.pcap", sorted(frames, key=lambda x: x[0]))
    result = analyse(path)
    (voice,) = result.streams                          # the one real stream, untouched
    assert voice.key.ssrc == 0x77 and voice.packets == 100 and voice.ws.lost == 0 and voice.kind == "voice"
    (line,) = [p for p in result.problems if "too short to be RTP" in p]
    flows = int(line.split()[0])
    # Wireshark's heuristic makes a stream of each (its per-packet test is ours): a few hundred
    assert len(_tshark_rows(path)) > 100 and flows > 100
    assert result.copies["of_streams"] == 1 and not result.copies["copies"]


def _cut(src: Path, dst: Path, at: int) -> Path:
    dst.write_bytes(src.read_bytes()[:at])
    return dst


def test_a_capture_cut_mid_packet_is_analysed_up_to_the_cut(mirror_capture, mirror_pcap, tmp_path):
    """The pcap cut inside a record's header, inside the RTP header and inside the payload of a packet
    in the middle of the file, and dumpcap's pcapng cut inside blocks: no exception, the packets before
    the cut analysed, the cut said."""
    whole = {s.key.ssrc: s.packets for s in analyse(mirror_pcap).streams}
    end, frame = _records(mirror_pcap)[len(_records(mirror_pcap)) // 2]
    record = end - len(frame) - 16
    rtp_at = record + 16 + 14 + 20 + 8                   # record header, Ethernet, IPv4, UDP
    cuts = [(mirror_pcap, at) for at in (record + 7, rtp_at + 5, rtp_at + 60)]
    size = mirror_capture.stat().st_size
    cuts += [(mirror_capture, at) for at in (size // 2, size // 2 + 7, size - 150, size - 3)]
    for src, at in cuts:
        cut = _cut(src, tmp_path / f"cut-{at}{src.suffix}", at)
        result = analyse(cut)
        said = [p for p in result.problems if "ends in the middle of a packet" in p or "corrupt from here on" in p]
        assert said, (src.name, at)
        got = {s.key.ssrc: s.packets for s in result.streams}
        assert set(got) == set(whole) and all(got[k] <= whole[k] for k in got), (src.name, at)
    p = subprocess.run([sys.executable, "-m", "readiness", "analyze", str(tmp_path / f"cut-{rtp_at + 5}.pcap"),
                        "--no-keep"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert p.returncode in (0, 1, 2) and "Traceback" not in p.stderr and "the file ends in the middle" in p.stdout


def _records(pcap: Path) -> list[tuple[int, bytes]]:
    """(end offset, frame bytes) of each record of a pcap file (pcap-savefile(5): 16-byte headers)."""
    data, off, out = pcap.read_bytes(), 24, []
    while off + 16 <= len(data):
        caplen = struct.unpack_from("<I", data, off + 8)[0]
        out.append((off + 16 + caplen, data[off + 16:off + 16 + caplen]))
        off += 16 + caplen
    return out


def test_a_copy_in_the_next_chunk_is_still_a_copy(mirror_pcap):
    """The reader cuts the file into chunks: a chunk ending between a packet and its copy must not
    change anything (copies.Tail carries the stream's last packet over)."""
    pcap = mirror_pcap
    records = _records(pcap)
    # the first chunk ends right after an original whose copy is the next record (reader chunks start at byte 24)
    i = next(i for i, (end, frame) in enumerate(records[:-1]) if end - 24 >= 1 << 16 and records[i + 1][1] == frame)

    def figures(result):
        return {s.key.ssrc: (s.packets, s.copies, s.ws.lost, round(s.ws.jitter_mean_ms, 9)) for s in result.streams}

    whole = figures(analyse(pcap))
    assert figures(analyse(pcap, chunk_bytes=records[i][0] - 24)) == whole
