"""Ground truth for the failover lab (tests/drill/lab.py): a UDP echo in s on S that tells each
packet's source address and arrival interface, and a 20 ms packet stream from c. Checks that a
blackhole is a gap of the length made and drops exactly what its counter says, that masquerade
re-NATs a flow to P2 on failover, and that static snat leaves it stale until conntrack is flushed."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from tests.drill.lab import FailoverLab, failover_lab

pytestmark = pytest.mark.netns

PORT = 40100
INTERVAL = 0.020

ECHO = r"""
import json, socket, struct, sys, time
PKTINFO = getattr(socket, "IP_PKTINFO", 8)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, PKTINFO, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
log = open(sys.argv[3], "w", buffering=1)
print("ready", flush=True)
while True:
    data, anc, _, src = s.recvmsg(2048, socket.CMSG_SPACE(12))
    via = "?"
    for level, kind, blob in anc:
        if level == socket.IPPROTO_IP and kind == PKTINFO:
            via = socket.if_indextoname(struct.unpack_from("=i", blob)[0])
    msg = json.loads(data)
    msg.update(seen=src[0], sport=src[1], via=via, at=time.monotonic())
    line = json.dumps(msg)
    log.write(line + "\n")
    s.sendto(line.encode(), src)
"""

SENDER = r"""
import json, select, socket, sys, time
dst, port, duration, interval, flow = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
drain = 0.5
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 0))
s.setblocking(False)
print("start", s.getsockname()[1], flush=True)
sent, replies, errors = [], [], []
start = time.monotonic()
end, seq = start + duration, 0
while True:
    now = time.monotonic()
    if now >= end + drain:
        break
    if now < end and now >= start + seq * interval:
        try:
            s.sendto(json.dumps({"flow": flow, "seq": seq, "t": now}).encode(), (dst, port))
        except OSError as e:
            errors.append([seq, str(e)])
        sent.append([seq, now])
        seq += 1
    wake = start + seq * interval if now < end else end + drain
    if select.select([s], [], [], max(0.0, wake - time.monotonic()))[0]:
        while True:
            try:
                m = json.loads(s.recv(2048))
            except BlockingIOError:
                break
            replies.append([m["seq"], time.monotonic(), m["seen"], m["via"]])
print(json.dumps({"sent": sent, "replies": replies, "errors": errors}), flush=True)
"""


@dataclass
class Reply:
    seq: int
    at: float       # monotonic, when it came back to c
    seen: str       # the source address the echo saw
    via: str        # the interface of s it arrived on


@dataclass
class Stream:
    port: int
    sent: dict[int, float]      # seq -> monotonic send time
    replies: list[Reply]

    def sent_between(self, t0: float, t1: float) -> list[int]:
        return [seq for seq, t in self.sent.items() if t0 <= t <= t1]

    def largest_gap(self) -> tuple[float, Reply, Reply]:
        rs = sorted(self.replies, key=lambda r: r.at)
        return max(((b.at - a.at, a, b) for a, b in zip(rs, rs[1:])), key=lambda g: g[0])


class Sender:
    """A 20 ms stream from c to S:PORT from one socket (one flow), recording the replies."""

    def __init__(self, lab: FailoverLab, duration: float, flow: str):
        self.proc = lab.popen(lab.c, [sys.executable, "-c", SENDER, lab.s_ip, str(PORT), str(duration),
                                      str(INTERVAL), flow],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.duration = duration
        first = self.proc.stdout.readline().split()
        assert first[:1] == ["start"], self.proc.stderr.read()
        self.port = int(first[1])

    def finish(self) -> Stream:
        out, err = self.proc.communicate(timeout=self.duration + 10)
        assert self.proc.returncode == 0, err
        doc = json.loads(out)
        assert doc["errors"] == []
        return Stream(self.port, {seq: t for seq, t in doc["sent"]}, [Reply(*r) for r in doc["replies"]])


@contextlib.contextmanager
def echo(lab: FailoverLab, log: Path) -> Iterator[Path]:
    proc = lab.popen(lab.s, [sys.executable, "-c", ECHO, lab.s_ip, str(PORT), str(log)],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        yield log
    finally:
        proc.kill()
        proc.wait()


def echo_seen(log: Path, flow: str) -> list[dict]:
    return [m for m in map(json.loads, log.read_text().splitlines()) if m["flow"] == flow]


def sleep_until(mono: float) -> None:
    time.sleep(max(0.0, mono - time.monotonic()))


@pytest.mark.parametrize("nat", ["masquerade", "snat"])
def test_a_blackhole_is_a_gap_of_its_length_and_drops_what_its_counter_says(tmp_path, nat):
    with failover_lab(nat) as lab, echo(lab, tmp_path / "echo.log"):
        sender = Sender(lab, 4.0, "a")
        time.sleep(1.0)
        before = lab.dropped("wan1")
        cut = lab.blackhole("wan1")
        sleep_until(cut.mono + 2.0 - cut.took)      # a change takes effect just before its command returns
        back = lab.restore("wan1")
        stream = sender.finish()
        dropped_out, dropped_in = lab.dropped("wan1", "out") - before, lab.dropped("wan1", "in")

    gap, last, first = stream.largest_gap()
    made = back.mono - cut.mono
    in_outage = stream.sent_between(cut.mono - cut.took, back.mono)
    lost = set(stream.sent) - {r.seq for r in stream.replies}
    print(f"\n[{nat}] gap {gap:.3f} s (made {made:.3f} s), sent in outage {len(in_outage)}, "
          f"dropped out {dropped_out} in {dropped_in}, lost {len(lost)}")
    assert abs(gap - 2.0) <= 0.080
    # the last packet before the cut and the first after the restore are each up to one interval away
    assert made - cut.took - 0.015 <= gap <= made + 2 * INTERVAL + 0.015     # a busy machine wakes late
    assert last.at <= cut.mono and first.at >= back.mono - back.took
    assert abs(dropped_out + dropped_in - len(in_outage)) <= 2
    assert dropped_in <= 1                      # only a reply in flight at the cut
    assert len(lost) == dropped_out             # every packet sent and not answered is in the counter
    assert {(r.seen, r.via) for r in stream.replies} == {(lab.p1, "wan1")}
    assert len(stream.replies) == len(stream.sent) - len(lost)


def test_masquerade_re_nats_the_flow_to_the_fallback_when_wan1_goes_down(tmp_path):
    with failover_lab("masquerade") as lab, echo(lab, tmp_path / "echo.log") as log:
        sender = Sender(lab, 4.0, "a")
        time.sleep(1.0)
        cut, down = lab.fail_over_after(1.0)
        stream = sender.finish()
        dropped = lab.dropped("wan1")
        entries = [e for e in lab.conntrack() if f"sport={stream.port} " in e]

    before = [r for r in stream.replies if r.at < cut.mono]
    after = [r for r in stream.replies if r.at > cut.mono]
    recovered = after[0].at - cut.mono
    in_blackhole = stream.sent_between(cut.mono - cut.took, down.mono)
    # packets of the flow sent after the link went down, as s saw them
    late = [m for m in echo_seen(log, "a") if m["t"] > down.mono]
    stale = [m for m in late if m["seen"] == lab.p1]
    print(f"\n[masquerade] replies back {recovered:.3f} s after the cut (link down "
          f"{down.mono - cut.mono:.3f} s after it), dropped {dropped} of {len(in_blackhole)} sent in the "
          f"blackhole; after link down s saw {len(late) - len(stale)} from P2, {len(stale)} stale from P1")
    assert before and after
    assert 0.98 <= recovered <= 1.10
    assert 0 <= after[0].at - down.mono <= INTERVAL + 0.010      # the next packet after the link went down
    assert {(r.seen, r.via) for r in before} == {(lab.p1, "wan1")}
    assert {(r.seen, r.via) for r in after} == {(lab.p2, "wan2")}
    assert abs(dropped - len(in_blackhole)) <= 2
    assert len(stale) <= 2                      # the kernel flushed the masqueraded entry at once
    assert {m["sport"] for m in late} == {stream.port}      # masquerade kept the port: the same flow
    assert len(entries) == 1 and f"dst={lab.p2} " in entries[0]


def test_snat_leaves_the_flow_stale_until_conntrack_is_flushed(tmp_path):
    with failover_lab("snat") as lab, echo(lab, tmp_path / "echo.log") as log:
        old = Sender(lab, 7.0, "old")
        time.sleep(1.0)
        cut, down = lab.fail_over_after(1.0)
        time.sleep(0.3)
        new = Sender(lab, 1.5, "new")
        fresh = new.finish()
        entries = [e for e in lab.conntrack() if f"sport={old.port} " in e]
        flush = lab.conntrack_flush()
        stream = old.finish()

    flushed_at = flush.mono - flush.took
    dead = stream.sent_between(cut.mono, flushed_at)
    answered = {r.seq for r in stream.replies}
    # what s saw of the old flow between the link going down and the flush
    stale = [m for m in echo_seen(log, "old") if down.mono < m["t"] < flushed_at]
    after = [r for r in stream.replies if r.at > flush.mono]
    print(f"\n[snat] old flow: {len(dead)} packets from the cut to the flush, none answered; s saw "
          f"{len(stale)} of them from {sorted({m['seen'] for m in stale})} via "
          f"{sorted({m['via'] for m in stale})}; new flow: {len(fresh.replies)} of {len(fresh.sent)} "
          f"answered; old flow back {after[0].at - flush.mono:.3f} s after the flush")
    assert dead and not answered & set(dead)
    assert stale and {(m["seen"], m["via"]) for m in stale} == {(lab.p1, "wan2")}
    assert len(entries) == 1 and f"dst={lab.p1} " in entries[0]     # conntrack still holds P1
    assert fresh.port != stream.port
    assert len(fresh.replies) >= len(fresh.sent) - 1
    assert {(r.seen, r.via) for r in fresh.replies} == {(lab.p2, "wan2")}
    assert after and after[0].at - flush.mono <= 0.060
    assert {(r.seen, r.via) for r in after} == {(lab.p2, "wan2")}
    assert {(r.seen, r.via) for r in stream.replies if r.at < cut.mono} == {(lab.p1, "wan1")}
