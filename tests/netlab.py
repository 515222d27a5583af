"""Network namespaces for tests: two hosts joined by a veth pair, removed even when the test fails.

Real kernel networking (environment.md): namespaces, veth, nftables/iptables rules with exact
counters, tbf/htb. No netem and no 802.1Q interfaces in this kernel.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from dataclasses import dataclass
from typing import Iterator

import pytest


def sh(*argv: str, ns: str | None = None, check: bool = True, timeout: float = 20) -> subprocess.CompletedProcess:
    cmd = (["ip", "netns", "exec", ns] if ns else []) + list(argv)
    return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=timeout)


@dataclass(frozen=True)
class Pair:
    a: str          # namespace names
    b: str
    a_if: str       # interface names inside them
    b_if: str
    a_ip: str       # addresses (no prefix)
    b_ip: str

    def run(self, ns: str, *argv: str, check: bool = True, timeout: float = 20) -> subprocess.CompletedProcess:
        return sh(*argv, ns=ns, check=check, timeout=timeout)

    def popen(self, ns: str, argv: list[str], **kw) -> subprocess.Popen:
        return subprocess.Popen(["ip", "netns", "exec", ns] + argv, **kw)


def require_root() -> None:
    if os.geteuid() != 0:
        pytest.fail("network namespace tests need root (CI runs as root)")


@contextlib.contextmanager
def veth_pair(subnet: str = "10.77.0", mtu: int | None = None) -> Iterator[Pair]:
    """Namespaces rl-a-XXXX and rl-b-XXXX, veth between them, {subnet}.1 and {subnet}.2, lo up."""
    require_root()
    tag = uuid.uuid4().hex[:6]
    a, b = f"rl-a-{tag}", f"rl-b-{tag}"
    a_if, b_if = f"va{tag}", f"vb{tag}"
    try:
        sh("ip", "netns", "add", a)
        sh("ip", "netns", "add", b)
        sh("ip", "link", "add", a_if, "netns", a, "type", "veth", "peer", "name", b_if, "netns", b)
        for ns, ifname, ip in ((a, a_if, f"{subnet}.1"), (b, b_if, f"{subnet}.2")):
            sh("ip", "addr", "add", f"{ip}/24", "dev", ifname, ns=ns)
            if mtu:
                sh("ip", "link", "set", ifname, "mtu", str(mtu), ns=ns)
            sh("ip", "link", "set", ifname, "up", ns=ns)
            sh("ip", "link", "set", "lo", "up", ns=ns)
        yield Pair(a, b, a_if, b_if, f"{subnet}.1", f"{subnet}.2")
    finally:
        for ns in (a, b):
            # kill what the test left running inside, then remove the namespace
            pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout.split()
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), 9)
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


class InNamespaces:
    """Running things inside a lab's namespaces."""

    def run(self, ns: str, *argv: str, check: bool = True, timeout: float = 20,
            input: str | None = None) -> subprocess.CompletedProcess:
        cmd = ["ip", "netns", "exec", ns] + list(argv)
        return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=timeout, input=input)

    def popen(self, ns: str, argv: list[str], **kw) -> subprocess.Popen:
        return subprocess.Popen(["ip", "netns", "exec", ns] + argv, **kw)


@dataclass(frozen=True)
class Routed(InNamespaces):
    """a -- r -- b: r routes between two veth pairs and can NAT (and run the kernel's SIP ALG)."""
    a: str
    r: str
    b: str
    r_out: str      # r's interface towards b
    a_ip: str
    b_ip: str
    r_ip_out: str   # r's address towards b: the source b sees behind the NAT



@contextlib.contextmanager
def routed(left: str = "10.91.0", right: str = "10.92.0") -> Iterator[Routed]:
    """Namespaces a ({left}.2), r ({left}.1 / {right}.1, forwarding on) and b ({right}.2); a routes
    everything via r. Removed, with whatever runs inside, even when the test fails."""
    require_root()
    tag = uuid.uuid4().hex[:6]
    a, r, b = f"rl-a-{tag}", f"rl-r-{tag}", f"rl-b-{tag}"
    links = [(a, f"ra{tag}", f"{left}.2", r, f"rl{tag}", f"{left}.1"),
             (b, f"rb{tag}", f"{right}.2", r, f"ro{tag}", f"{right}.1")]
    try:
        for ns in (a, r, b):
            sh("ip", "netns", "add", ns)
            sh("ip", "link", "set", "lo", "up", ns=ns)
        for ns1, if1, ip1, ns2, if2, ip2 in links:
            sh("ip", "link", "add", if1, "netns", ns1, "type", "veth", "peer", "name", if2, "netns", ns2)
            for ns, ifname, ip in ((ns1, if1, ip1), (ns2, if2, ip2)):
                sh("ip", "addr", "add", f"{ip}/24", "dev", ifname, ns=ns)
                sh("ip", "link", "set", ifname, "up", ns=ns)
        sh("sysctl", "-qw", "net.ipv4.ip_forward=1", ns=r)
        sh("ip", "route", "add", "default", "via", f"{left}.1", ns=a)
        yield Routed(a, r, b, f"ro{tag}", f"{left}.2", f"{right}.2", f"{right}.1")
    finally:
        for ns in (a, r, b):
            pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout.split()
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), 9)
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
