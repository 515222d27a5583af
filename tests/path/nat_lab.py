"""a -- r -- b with r masquerading towards b (tests/netlab.routed), `readiness responder` in b and
`readiness path` run in a: the lab the path tests share."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

from readiness.lab.responder_server import write_key
from tests.netlab import Routed, routed


def nat(net: Routed, sip_helper: bool = False) -> None:
    sip = ('ct helper sip-5060 { type "sip" protocol udp; }\n'
           'chain pre { type filter hook prerouting priority 0; udp dport 5060 ct helper set "sip-5060"; }\n'
           if sip_helper else "")
    rules = (f"table ip nat {{\n{sip}chain post {{ type nat hook postrouting priority 100; "
             f'oifname "{net.r_out}" masquerade; }}\n}}\n')
    net.run(net.r, "nft", "-f", "-", input=rules)


def wait_listening(net: Routed, port: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if f":{port:04X} " in net.run(net.b, "cat", "/proc/net/tcp").stdout:
            return
        time.sleep(0.1)
    raise AssertionError(f"the responder does not listen on {port}")


@contextlib.contextmanager
def behind_nat(tmp_path: Path, sip_helper: bool = False, port: int = 5060,
               udp_timeout_s: int | None = None) -> Iterator[tuple[Routed, Path, str]]:
    """Yield (lab, key file, responder URI); r's conntrack forgets idle UDP after `udp_timeout_s`."""
    key = tmp_path / "key"
    write_key(key)
    with routed() as net:
        nat(net, sip_helper)
        if udp_timeout_s is not None:
            net.run(net.r, "sysctl", "-qw", f"net.netfilter.nf_conntrack_udp_timeout={udp_timeout_s}")
        responder = net.popen(net.b, [sys.executable, "-m", "readiness", "responder", "--listen",
                                      f"{net.b_ip}:{port}", "--key-file", str(key), "-q"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_listening(net, port)
            yield net, key, f"sip:test@{net.b_ip}:{port}"
        finally:
            responder.kill()
            responder.wait()


def run_path(net: Routed, tmp_path: Path, *args: str, timeout: float = 120) -> tuple[int, dict, str]:
    """`readiness path ARGS` in a: (exit status, run document, stderr)."""
    out = tmp_path / "path.json"
    out.unlink(missing_ok=True)
    p = net.run(net.a, sys.executable, "-m", "readiness", "path", *args, "--no-keep", "--json", str(out), "-q",
                check=False, timeout=timeout)
    assert out.exists(), p.stderr
    return p.returncode, json.loads(out.read_text()), p.stderr
