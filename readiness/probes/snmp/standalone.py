"""`readiness snmp audit` and `readiness snmp snapshot` without a full run: poll every device of a site
(or one device given on the command line), judge the SNMP criteria of a profile per device and overall,
and build the JSON document; or store a snapshot of the raw values."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ... import metrics as catalog
from ...acceptance.evaluate import evaluate, run_verdict
from ...config.profile import Profile
from ...config.site import Phones, SecretRef, SiteSpec, Snmp, SnmpDevice
from ...errors import ReadinessError
from ...model import Criterion, Measurement, NotMeasured, Verdict
from ...progress import NullProgress, Progress
from . import audit, device, poll, snapshot

DEFAULT_PROFILE = "site-lan"
# Judged only by `readiness run`: it needs traffic between two polls.
RUN_ONLY = {"if.errors_during_test"}


@dataclass
class AuditResult:
    site: str
    profile: str
    reports: list[device.DeviceReport]
    verdicts: list[Verdict] = field(default_factory=list)
    verdict: str = "incomplete"

    def to_json(self) -> dict[str, Any]:
        return {"site": self.site, "profile": self.profile, "verdict": self.verdict,
                "devices": [r.to_json() for r in self.reports],
                "criteria": [v.to_json() for v in self.verdicts]}


def snmp_criteria(profile: Profile) -> list[Criterion]:
    return [c for c in profile.criteria if c.metric in catalog.METRICS
            and catalog.METRICS[c.metric].probe == "snmp" and c.metric not in RUN_ONLY]


def _select(site: SiteSpec, names: tuple[str, ...] | None) -> list[poll.Target]:
    targets = poll.targets(site)
    if not names:
        return targets
    known = {t.label for t in targets}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ReadinessError(f"no device named {', '.join(unknown)} in the site file (it has: {', '.join(sorted(known))})")
    return [t for t in targets if t.label in names]


def _poll(targets: list[poll.Target], progress: Progress, counters_only: bool = False) -> list[poll.Polled]:
    task = progress.task("SNMP", total=len(targets))
    done: list[str] = []

    def tick(p: poll.Polled) -> None:
        done.append(p.target.label)
        progress.update(task, completed=len(done), info=p.target.label)

    polled = asyncio.run(poll.poll_all(targets, counters_only, tick))
    progress.done(task, f"{sum(p.reachable for p in polled)} of {len(polled)} devices answered")
    return polled


def audit_site(site: SiteSpec, profile: Profile, devices: tuple[str, ...] | None = None,
               progress: Progress | None = None, only_present_roles: bool = False) -> AuditResult:
    """Poll, assess against the plan, judge per device and over all devices.

    Criteria about a kind of device the site lacks (a UPS) are not measured, saying so; with
    `only_present_roles` (one device from the command line) they are left out instead."""
    progress = progress or NullProgress()
    targets = _select(site, devices)
    plans = audit.plans(site, poll.targets(site))
    polled = _poll(targets, progress)
    criteria = snmp_criteria(profile)
    roles = {t.role for t in targets}
    if only_present_roles:
        criteria = [c for c in criteria if audit.role_of(c.metric) in roles | {None}]
    reports: list[device.DeviceReport] = []
    all_ms: list[Measurement] = []
    all_nm: list[NotMeasured] = audit.absent_roles(targets, sorted({c.metric for c in criteria}))
    for p in polled:
        report = device.build(p)
        audit.assess(report, plans[p.target.label])
        recs = audit.records(report)
        ms = [r for r in recs if isinstance(r, Measurement)]
        nm = [r for r in recs if isinstance(r, NotMeasured)]
        mine = {r.metric for r in recs}
        report.verdicts = evaluate([c for c in criteria if c.metric in mine], ms, [], nm)
        all_ms += ms
        all_nm += nm
        reports.append(report)
    verdicts = evaluate(criteria, all_ms, [], all_nm)
    return AuditResult(site.site, profile.name, reports, verdicts, run_verdict(verdicts))


def take_snapshot(site: SiteSpec, out: Path, devices: tuple[str, ...] | None = None,
                  progress: Progress | None = None) -> tuple[Path, list[poll.Polled]]:
    polled = _poll(_select(site, devices), progress or NullProgress())
    return snapshot.write(out, polled, "snapshot"), polled


def one_device_site(host: str, role: str, community: str | None = None, user: str | None = None,
                    auth_protocol: str = "SHA256", auth_key: str | None = None, priv_protocol: str = "AES128",
                    priv_key: str | None = None, timeout: str = "2 s", retries: int = 1,
                    voice_vlan: int | None = None, phone_ports: tuple[str, ...] = (),
                    uplink_ports: tuple[str, ...] = (), phones: int | None = None, poe_class: int = 2) -> SiteSpec:
    """A site with one device, for `--host`. Secrets are references (env:NAME or file:PATH) too."""
    try:
        dev = SnmpDevice(host=host, role=role, version="3" if user else "2c", user=user,
                         community=secret_ref(community, "--community") if community else None,
                         auth_protocol=auth_protocol, priv_protocol=priv_protocol,
                         auth_key=secret_ref(auth_key, "--auth-key") if auth_key else None,
                         priv_key=secret_ref(priv_key, "--priv-key") if priv_key else None,
                         phone_ports=list(phone_ports), uplink_ports=list(uplink_ports), phones=phones)
        site = SiteSpec(site=f"{role} {host}", voice_vlan=voice_vlan,
                        phones=Phones(count=phones, poe_class=poe_class) if phones is not None else None,
                        snmp=Snmp(timeout=timeout, retries=retries, devices=[dev]))
    except ValueError as e:  # pydantic's ValidationError is a ValueError
        first = e.errors()[0] if hasattr(e, "errors") else {"msg": str(e), "loc": ()}  # type: ignore[attr-defined]
        where = ".".join(str(x) for x in first.get("loc", ()))
        raise ReadinessError(f"{where + ': ' if where else ''}{first['msg']}") from None
    site._base_dir = Path.cwd()
    return site


def secret_ref(text: str, option: str) -> SecretRef:
    """'env:NAME' or 'file:PATH' -> SecretRef. A bare value is refused: it would show in `ps` and history."""
    kind, _, where = text.partition(":")
    if kind in ("env", "file") and where:
        return SecretRef(**{kind: where})
    raise ReadinessError(f"{option} takes env:VARIABLE or file:PATH, never the secret itself "
                         "(a value on the command line shows in ps and in shell history)")
