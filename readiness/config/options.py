"""Site specs built from a one-probe command's options, so `calls`, `snmp audit --host`, `capture` and
`analyze` run through the same runner as a site file does. Secrets stay references (env:VAR or
file:PATH) until a probe needs them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import ReadinessError
from .site import Calls, Capture, Drill, Iperf, PathChecks, Markings, Phones, SecretRef, SiteSpec, Snmp, SnmpDevice, Uplink, split_host_port


def _built(make: Any) -> Any:
    """Build a model; an invalid option value becomes one line naming the field."""
    try:
        return make()
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(x) for x in first.get("loc", ()))
        raise ReadinessError(f"{where + ': ' if where else ''}{first['msg']}") from None


def _site(**kw: Any) -> SiteSpec:
    site = _built(lambda: SiteSpec(**kw))
    site._base_dir = Path.cwd()
    return site


def secret(text: str | None, option: str) -> SecretRef | None:
    return SecretRef.parse(text, option) if text else None


def calls_site(target: str, *, key: SecretRef | None, username: str | None, password: SecretRef | None,
               markings: Markings, **calls: Any) -> SiteSpec:
    """`readiness calls TARGET ...`: one call load to TARGET; with a key, TARGET is a readiness responder."""
    if password is not None and not username:
        raise ReadinessError("a password needs --username")
    responder = None
    if key is not None:
        host, port = _target_address(target)
        responder = {"address": f"{host}:{port}", "key": key}
    return _site(site=f"calls to {target}", markings=markings, responder=responder,
                 calls=_built(lambda: Calls(target=target, username=username, password=password, **calls)))


def drill_site(targets: list[str], *, key: SecretRef | None, markings: Markings, transport: str = "udp",
               **drill: Any) -> SiteSpec:
    """`readiness drill --to sip:... [--to sip:...]`: a drill against these targets in failover order;
    with a key, they are readiness responders (the first one is the responder the key belongs to)."""
    responder = None
    if key is not None:
        host, port = _target_address(targets[0])
        responder = {"address": f"{host}:{port}", "key": key}
    return _site(site=f"drill to {targets[0]}", markings=markings, responder=responder,
                 calls=_built(lambda: Calls(target=targets[0], transport=transport)),
                 drill=_built(lambda: Drill(targets=targets, **drill)))


def with_drill(site: SiteSpec, **given: Any) -> SiteSpec:
    """A site file's drill: section with the command line's values over it (a default one if it has none)."""
    base = site.drill.model_dump() if site.drill is not None else {}
    drill = _built(lambda: Drill(**{**base, **given}))
    out = site.model_copy(update={"drill": drill})
    out._file, out._base_dir = site.file, site.base_dir
    return out


def iperf_site(server: str, *, mode: str, markings: Markings, uplink: dict[str, Any] | None = None,
               **iperf: Any) -> SiteSpec:
    """`readiness iperf --server HOST ...`: voice-sized UDP (mode voice) or TCP capacity (mode capacity)."""
    cfg = _built(lambda: Iperf(server=server, voice=mode == "voice", capacity=mode == "capacity", **iperf))
    return _site(site=f"iperf3 to {server}", markings=markings, iperf=cfg,
                 uplink=_built(lambda: Uplink(**uplink)) if uplink else None)


def path_site(target: str | None, *, key: SecretRef | None, markings: Markings, **checks: Any) -> SiteSpec:
    """`readiness path [--to sip:test@HOST] [--options ...] [--dns ...] [--tls ...]`: the path to a
    readiness responder (with its key) and the provider's own SIP service."""
    responder = None
    if target is not None and key is not None:
        host, port = _target_address(target)
        responder = {"address": f"{host}:{port}", "key": key}
    name = target or checks.get("options") or checks.get("dns_domain") or checks.get("tls") or "the provider"
    return _site(site=f"path to {name}", markings=markings, responder=responder,
                 path_checks=_built(lambda: PathChecks(target=target, **checks)))


def _target_address(target: str) -> tuple[str, int]:
    """host and port of a SIP URI (sip:user@host:port;params)."""
    rest = target.split(":", 1)[1] if target.lower().startswith(("sip:", "sips:")) else target
    hostport = rest.rsplit("@", 1)[-1].split(";", 1)[0].split("?", 1)[0]
    try:
        return split_host_port(hostport, 5060)
    except ValueError as e:
        raise ReadinessError(f"{target}: {e}") from None


def snmp_site(host: str, role: str, *, community: SecretRef | None = None, user: str | None = None,
              auth_protocol: str = "SHA256", auth_key: SecretRef | None = None, priv_protocol: str = "AES128",
              priv_key: SecretRef | None = None, timeout: str = "2 s", retries: int = 1,
              voice_vlan: int | None = None, phone_ports: tuple[str, ...] = (),
              uplink_ports: tuple[str, ...] = (), phones: int | None = None, poe_class: int = 2) -> SiteSpec:
    """`readiness snmp audit --host HOST --role ROLE`: a site of one device."""
    dev = _built(lambda: SnmpDevice(
        host=host, role=role, version="3" if user else "2c", user=user, community=community,
        auth_protocol=auth_protocol, priv_protocol=priv_protocol, auth_key=auth_key, priv_key=priv_key,
        phone_ports=list(phone_ports), uplink_ports=list(uplink_ports), phones=phones))
    return _site(site=f"{role} {host}", voice_vlan=voice_vlan,
                 phones=Phones(count=phones, poe_class=poe_class) if phones is not None else None,
                 snmp=_built(lambda: Snmp(timeout=timeout, retries=retries, devices=[dev])))


def capture_site(*, markings: Markings, name: str, **capture: Any) -> SiteSpec:
    """`readiness capture` (interface=...) and `readiness analyze` (file=...)."""
    return _site(site=name, markings=markings, capture=_built(lambda: Capture(**capture)))

