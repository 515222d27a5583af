"""SIP targets in failover order, used as a phone uses its primary and secondary SBC: the next one
when a request times out, the transport fails, or the server answers 503 or 408 (RFC 3263 4.3:
try the next on a failure to contact; RFC 3261 21.5.4 503, 21.4.9 408), and the primary again once
it has rested for `retry_s` (phones call this a blacklist or fail-back timer)."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

FAILOVER_CAUSES = ("timeout", "unreachable", "refused", "closed", "tls")
FAILOVER_STATUS = (503, 408)
RETRY_S = 30.0


@dataclass(frozen=True)
class Failover:
    t: float                       # epoch seconds of the switch
    before: str
    after: str
    reason: str                    # why the one before was left ("timeout", "503", "back to the primary")

    def to_json(self) -> dict:
        return asdict(self)


def fails_over(cause: str, status: int | None) -> bool:
    """Does this outcome send a phone to its next target?"""
    return cause in FAILOVER_CAUSES or status in FAILOVER_STATUS


@dataclass
class TargetList:
    targets: list[str]
    retry_s: float = RETRY_S
    current: str = ""
    failovers: list[Failover] = field(default_factory=list)
    _resting: dict[str, float] = field(default_factory=dict)     # target -> monotonic time it may be tried again

    def __post_init__(self) -> None:
        if not self.targets:
            raise ValueError("no SIP target")
        self.current = self.current or self.targets[0]

    def order(self) -> list[str]:
        """The targets to try now: those not resting in their order, then the resting ones (a phone
        with every target failed still tries them)."""
        now = time.monotonic()
        ready = [t for t in self.targets if self._resting.get(t, 0.0) <= now]
        return ready + [t for t in self.targets if t not in ready]

    def failed(self, target: str, reason: str) -> None:
        self._resting[target] = time.monotonic() + self.retry_s

    def worked(self, target: str, reason_if_new: str) -> None:
        self._resting.pop(target, None)
        if target != self.current:
            back = self.targets.index(target) < self.targets.index(self.current)
            self.failovers.append(Failover(time.time(), self.current, target,
                                           "back to the primary" if back and target == self.targets[0]
                                           else reason_if_new))
            self.current = target


async def expand(targets: list[str], transport: str, nameserver: str | None = None) -> tuple[list[str], list[dict]]:
    """Targets as a phone finds them: a URI whose host is a domain without a port is looked up as RFC
    3263 says (NAPTR, SRV by priority and weight, else the domain's A/AAAA at 5060), each target's
    addresses in turn; a domain DNS says nothing about is kept as written (the UA resolves it).
    -> (targets, what DNS gave per domain)."""
    from ..calls.sip.uri import SipUri
    from ..path.dns_lookup import resolve

    out: list[str] = []
    looked: list[dict] = []
    for text in targets:
        uri = SipUri.parse(text)
        if uri.port is not None or _is_address(uri.host):
            out.append(text)
            continue
        r = await resolve(uri.host, nameserver)
        # RFC 3263 4.2: without SRV the domain's own A/AAAA at 5060 (the fallback keeps via "a")
        found = [t for t in r.targets if t.transport == transport or (t.via == "a" and transport == "udp")]
        user = f"{uri.user}@" if uri.user else ""
        expanded = [f"{uri.scheme}:{user}{f'[{a}]' if ':' in a else a}:{t.port}" for t in found for a in t.addresses]
        looked.append({"domain": uri.host, "targets": expanded, "problems": r.problems + ([r.error] if r.error else []),
                       "via": found[0].via if found else "a"})
        out += expanded or [text]       # no SRV: the domain itself (RFC 3263 4.2), resolved by the UA
    return list(dict.fromkeys(out)), looked


def _is_address(host: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True
