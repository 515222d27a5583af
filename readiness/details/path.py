"""The path probe's accounts in the run document, under the names `readiness path --json` promises:
`sip_alg` (detected, transport, rewritten: field/sent/received; per transport under `transports`),
`nat` (detected, public_address), `nat_timeout_s` with its evidence in `nat_binding`, `mtu`, `ports`, `options`,
`dns`, `tls` and `srtp`. Renderers read them through `PathView`, so a field's name is written here once."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SIP_ALG, NAT, NAT_TIMEOUT, NAT_BINDING, MTU, PORTS, OPTIONS, DNS, TLS, SRTP = (
    "sip_alg", "nat", "nat_timeout_s", "nat_binding", "mtu", "ports", "options", "dns", "tls", "srtp")
KEYS = (SIP_ALG, NAT, NAT_TIMEOUT, NAT_BINDING, MTU, PORTS, OPTIONS, DNS, TLS, SRTP)


@dataclass
class PathView:
    sip_alg: dict[str, Any] | None = None
    nat: dict[str, Any] | None = None
    nat_timeout_s: float | None = None
    nat_binding: dict[str, Any] | None = None
    mtu: dict[str, Any] | None = None
    ports: list[dict[str, Any]] | None = None        # port, transport, open_up, open_down, local_port, note
    options: dict[str, Any] | None = None
    dns: dict[str, Any] | None = None
    tls: dict[str, Any] | None = None
    srtp: dict[str, Any] | None = None
    present: list[str] = field(default_factory=list)

    def transports(self) -> dict[str, dict[str, Any]]:
        return (self.sip_alg or {}).get("transports", {})


def view(details: dict[str, Any]) -> PathView | None:
    """The path checks of a run, or None when it made none."""
    present = [k for k in KEYS if k in details]
    if not present:
        return None
    return PathView(**{k: details.get(k) for k in KEYS}, present=present)


def sip_alg(target: str, transports: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """`sip_alg` from the per-transport accounts: detected on the first transport that rewrote."""
    hit = next((t for t in transports.values() if t.get("rewritten")), None)
    return {"target": target, "detected": hit is not None, "transport": hit["transport"] if hit else "",
            "rewritten": hit["rewritten"] if hit else [], "transports": transports}


def nat(transports: dict[str, dict[str, Any]]) -> dict[str, Any]:
    seen = [t for t in transports.values() if not t.get("error")]
    hit = next((t for t in seen if t.get("nat")), None)
    return {"detected": hit is not None if seen else None,
            "public_address": hit["seen_from"].rsplit(":", 1)[0] if hit else "",
            "local_address": seen[0]["local"].rsplit(":", 1)[0] if seen else ""}
