"""`readiness compare` of two real call runs through a router namespace: between them the router was
made worse on purpose, with nftables dropping every tenth media packet towards the far end (one call, so
the tenth packets are its own) and
re-marking the far end's media to best effort on the way back (ground truth: the rules and their
counters). The comparison must show loss and re-marking worse, exactly in those directions."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from readiness.lab.responder_server import write_key
from tests.netlab import routed
from tests.path.nat_lab import wait_listening

pytestmark = pytest.mark.netns

MEDIA = 40100
WORSE = ("table ip worse {\n chain forward_media { type filter hook forward priority 0;\n"
         f"  udp dport {MEDIA} numgen inc mod 10 0 counter drop\n"
         f"  udp sport {MEDIA} ip dscp set cs0 counter\n }}\n}}\n")


def test_a_router_made_worse_shows_as_worse(tmp_path):
    key = write_key(tmp_path / "key")
    with routed() as net:
        net.run(net.b, "ip", "route", "add", "10.91.0.0/24", "via", net.r_ip_out)     # routed, no NAT
        responder = net.popen(net.b, [sys.executable, "-m", "readiness", "responder", "--listen", f"{net.b_ip}:5070",
                                      "--key-file", str(key), "--media-port", str(MEDIA), "-q"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_listening(net, 5070)
            runs = []
            for name in ("before", "after"):
                if name == "after":
                    net.run(net.r, "nft", "-f", "-", input=WORSE)
                out = tmp_path / name
                net.run(net.a, sys.executable, "-m", "readiness", "calls", f"sip:test@{net.b_ip}:5070", "--calls",
                        "1", "--duration", "5", "--key-file", str(key), "--out", str(out), "-q", check=False,
                        timeout=90)
                (run_dir,) = out.iterdir()
                runs.append(str(run_dir))
            counters = net.run(net.r, "nft", "list", "table", "ip", "worse").stdout
        finally:
            responder.kill()
            responder.wait()
    p = subprocess.run([sys.executable, "-m", "readiness", "compare", *runs, "--json", "-"], capture_output=True,
                       text=True, timeout=60)
    doc = json.loads(p.stdout)
    crit = {c["id"]: c for c in doc["criteria"]}
    assert (crit["rtp-loss"]["verdict_before"], crit["rtp-loss"]["verdict_after"]) == ("pass", "fail")
    assert crit["rtp-loss"]["direction"] == "worse" and 8 <= crit["rtp-loss"]["after"] <= 12
    assert crit["media-marking-kept"]["direction"] == "worse" and crit["media-marking-kept"]["after"] == 100
    assert crit["calls-answered"]["direction"] == "same"
    loss = {m["metric"]: m for m in doc["metrics"]}["rtp.loss_pct"]
    assert loss["before"] == 0 and 8 <= loss["after"] <= 12
    assert "rtp-loss" in doc["worse"] and p.returncode == 1, p.stderr
    dropped = int(counters.split("counter packets ", 1)[1].split()[0])
    after = json.loads((tmp_path / "after").joinpath(runs[1].rsplit("/", 1)[1], "results.json").read_text())
    # the router's own count; it may also hold one of the call's closing packets, which are not media
    assert 0 <= dropped - after["calls"][0]["packets_lost_up"] <= 1, (dropped, after["calls"][0])
