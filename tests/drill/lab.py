"""A customer site with a primary line and an LTE fallback, for failover drills (issue 11).

    c (LAN host) --lan-- r (router, NAT) ==wan1 (primary)== s (provider / far end, service S)
                                         ==wan2 (LTE)=====

r reaches the internet via wan1 (metric 10) and wan2 (metric 100) and NATs the LAN behind P1 or P2.
The test makes outages of a known length: `blackhole` (line dead, carrier up: an nftables drop with
exact counters) and `link_down` (r's end of the veth down: routes through it go away). Every
operation returns when the change took effect, in wall and monotonic time.

nat="masquerade": the kernel drops masqueraded conntrack entries when their interface goes down, so
flows re-NAT to P2 on failover. nat="snat": static snat per line; entries keep P1 after failover
(stale NAT), existing flows stay dead until the entries go (`conntrack_flush`).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from typing import Iterator, NamedTuple

from tests.netlab import InNamespaces, require_root, sh

WANS = ("wan1", "wan2")
METRIC = {"wan1": 10, "wan2": 100}
NAT_MODES = ("masquerade", "snat")
DEAD_GROUP = 66          # device group of a blackholed line in r

# Deletes every conntrack entry of the namespace it runs in: IPCTNL_MSG_CT_DELETE without a tuple
# over NETLINK_NETFILTER (the `conntrack` tool is not installed here).
_FLUSH = r"""
import socket, struct
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 12)
s.bind((0, 0))
s.send(struct.pack("=LHHLLBBH", 20, (1 << 8) | 2, 1 | 4, 1, 0, socket.AF_INET, 0, 0))
msg = s.recv(4096)
err = struct.unpack_from("=i", msg, 16)[0] if struct.unpack_from("=H", msg, 4)[0] == 2 else 0
raise SystemExit(f"conntrack flush: errno {-err}" if err else 0)
"""


class Stamp(NamedTuple):
    """When a change took effect: taken right after its command returned; `took` is how long the
    command ran, so the change happened in [mono - took, mono]."""
    wall: float
    mono: float
    took: float


@dataclass(frozen=True)
class FailoverLab(InNamespaces):
    c: str              # namespace names
    r: str
    s: str
    nat: str            # "masquerade" or "snat"
    c_ip: str
    r_lan_ip: str
    p1: str             # r's public addresses on wan1 / wan2
    p2: str
    gw1: str            # s's ends of wan1 / wan2: r's next hops
    gw2: str
    s_ip: str           # the "internet" service address, on s's lo
    lan_net: str

    def public(self, wan: str) -> str:
        return {"wan1": self.p1, "wan2": self.p2}[_wan(wan)]

    def gateway(self, wan: str) -> str:
        return {"wan1": self.gw1, "wan2": self.gw2}[_wan(wan)]

    def _timed(self, argv: list[str], input: str | None = None) -> Stamp:
        start = time.monotonic()
        p = subprocess.run(argv, capture_output=True, text=True, input=input, timeout=20)
        wall, mono = time.time(), time.monotonic()
        if p.returncode:
            raise RuntimeError(f"{' '.join(argv)}: {p.stderr.strip()}")
        return Stamp(wall, mono, mono - start)

    # -- outages --------------------------------------------------------------------------------
    def blackhole(self, wan: str) -> Stamp:
        """The line drops everything, both ways; its carrier and routes stay up."""
        return self._timed(["ip", "-n", self.r, "link", "set", _wan(wan), "group", str(DEAD_GROUP)])

    def restore(self, wan: str) -> Stamp:
        return self._timed(["ip", "-n", self.r, "link", "set", _wan(wan), "group", "0"])

    def dropped(self, wan: str, direction: str | None = None) -> int:
        """Packets the blackhole on `wan` dropped so far: "out" (towards s), "in" (from s) or both."""
        directions = [direction] if direction else ["out", "in"]
        total = 0
        for d in directions:
            out = self.run(self.r, "nft", "list", "counter", "inet", "lab", f"{_wan(wan)}_{d}").stdout
            total += int(out.split("packets")[1].split()[0])
        return total

    def link_down(self, wan: str) -> Stamp:
        """r's end of the line goes down: the kernel removes the routes through it (and, with
        masquerade, the conntrack entries NATed to it)."""
        return self._timed(["ip", "-n", self.r, "link", "set", _wan(wan), "down"])

    def link_up(self, wan: str) -> Stamp:
        """The link comes back and its default route with it (the kernel removed it on down).
        With masquerade, a flow that failed over to P2 goes back to P1: the kernel kills a
        masqueraded entry whose packets leave by another interface (dropping that packet)."""
        wan = _wan(wan)
        batch = (f"link set {wan} up\n"
                 f"route replace default via {self.gateway(wan)} dev {wan} metric {METRIC[wan]}\n")
        return self._timed(["ip", "-n", self.r, "-batch", "-"], input=batch)

    def fail_over_after(self, seconds: float) -> tuple[Stamp, Stamp]:
        """wan1 goes dead, and `seconds` later r notices and takes it down: (cut, down). wan1 stays
        blackholed until `restore`, also across `link_up`."""
        cut = self.blackhole("wan1")
        time.sleep(max(0.0, cut.mono + seconds - time.monotonic()))
        return cut, self.link_down("wan1")

    # -- conntrack ------------------------------------------------------------------------------
    def conntrack_flush(self) -> Stamp:
        return self._timed(["ip", "netns", "exec", self.r, sys.executable, "-c", _FLUSH])

    def conntrack(self) -> list[str]:
        """r's conntrack table, one entry a line (/proc/net/nf_conntrack)."""
        return self.run(self.r, "cat", "/proc/net/nf_conntrack").stdout.splitlines()


def _wan(wan: str) -> str:
    if wan not in WANS:
        raise ValueError(f"wan must be one of {WANS}, not {wan!r}")
    return wan


def _ruleset(lab: FailoverLab) -> str:
    if lab.nat == "masquerade":
        nat = "\n".join(f'ip saddr {lab.lan_net} oifname "{w}" masquerade' for w in WANS)
    else:
        nat = "\n".join(f'ip saddr {lab.lan_net} oifname "{w}" snat to {lab.public(w)}' for w in WANS)
    counters = "\n".join(f"counter {w}_{d} {{ }}" for w in WANS for d in ("out", "in"))
    # The drop rules are always there and match while the line's device is in DEAD_GROUP: moving it
    # in or out is one rtnetlink call that takes effect at once, where removing an nftables rule or
    # set element returns only 10-20 ms after it took effect (the commit waits for RCU).
    # Forwarded traffic and r's own both count.
    out = "\n".join(f'oifname "{w}" oifgroup {DEAD_GROUP} counter name "{w}_out" drop' for w in WANS)
    inn = "\n".join(f'iifname "{w}" iifgroup {DEAD_GROUP} counter name "{w}_in" drop' for w in WANS)
    return f"""
table inet lab {{
  {counters}
  chain dead_fwd {{ type filter hook forward priority -10; policy accept;
{out}
{inn}
  }}
  chain dead_out {{ type filter hook output priority -10; policy accept;
{out}
  }}
  chain dead_in {{ type filter hook input priority -10; policy accept;
{inn}
  }}
}}
table ip nat {{
  chain post {{ type nat hook postrouting priority srcnat; policy accept;
{nat}
  }}
}}
"""


def _remove(ns: str) -> None:
    pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout.split()
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), 9)
    subprocess.run(["ip", "netns", "del", ns], capture_output=True)


@contextlib.contextmanager
def failover_lab(nat: str = "masquerade") -> Iterator[FailoverLab]:
    """Namespaces rl-c-XXXX, rl-r-XXXX and rl-s-XXXX wired as above; removed, with whatever runs
    inside, even when the test fails."""
    if nat not in NAT_MODES:
        raise ValueError(f"nat must be one of {NAT_MODES}, not {nat!r}")
    require_root()
    tag = uuid.uuid4().hex[:6]
    c, r, s = f"rl-c-{tag}", f"rl-r-{tag}", f"rl-s-{tag}"
    lab = FailoverLab(c=c, r=r, s=s, nat=nat, c_ip="10.61.0.2", r_lan_ip="10.61.0.1",
                      p1="100.64.1.2", p2="100.64.2.2", gw1="100.64.1.1", gw2="100.64.2.1",
                      s_ip="198.51.100.10", lan_net="10.61.0.0/24")
    # (namespace, interface, address) at each end of each veth
    links = [((c, "lan", lab.c_ip), (r, "lan", lab.r_lan_ip)),
             ((r, "wan1", lab.p1), (s, "wan1", lab.gw1)),
             ((r, "wan2", lab.p2), (s, "wan2", lab.gw2))]
    try:
        for ns in (c, r, s):
            sh("ip", "netns", "add", ns)
            # A flow NATed to one line can leave by the other after a route change: stale snat sends
            # P1 out of wan2 after failover, and a snat P2 flow leaves by wan1 once it is back, its
            # replies coming in on wan2, which is not r's best route to S. Strict reverse-path
            # filtering would drop the first in s and the replies in r (checked: both happen), and
            # the drill must see NAT behaviour, not this filter. `default` covers the interfaces
            # made below; the effective value is the max of `all` and the interface's.
            # No IPv6: its autoconfiguration chatter (router solicitations, MLD reports) would go
            # into the blackhole counters, which must count only the test's packets.
            for scope in ("all", "default"):
                sh("sysctl", "-qw", f"net.ipv4.conf.{scope}.rp_filter=0", ns=ns)
                sh("sysctl", "-qw", f"net.ipv6.conf.{scope}.disable_ipv6=1", ns=ns)
            sh("ip", "link", "set", "lo", "up", ns=ns)
        for (ns1, if1, ip1), (ns2, if2, ip2) in links:
            sh("ip", "link", "add", if1, "netns", ns1, "type", "veth", "peer", "name", if2, "netns", ns2)
            for ns, ifname, ip in ((ns1, if1, ip1), (ns2, if2, ip2)):
                sh("ip", "addr", "add", f"{ip}/24", "dev", ifname, ns=ns)
                sh("ip", "link", "set", ifname, "up", ns=ns)
        sh("ip", "addr", "add", f"{lab.s_ip}/32", "dev", "lo", ns=s)
        sh("ip", "route", "add", "default", "via", lab.r_lan_ip, ns=c)
        # r is the LAN's router
        sh("sysctl", "-qw", "net.ipv4.ip_forward=1", ns=r)
        for wan in WANS:
            sh("ip", "route", "add", "default", "via", lab.gateway(wan), "dev", wan,
               "metric", str(METRIC[wan]), ns=r)
        lab.run(r, "nft", "-f", "-", input=_ruleset(lab))
        yield lab
    finally:
        for ns in (c, r, s):
            _remove(ns)
