"""SNMP tests: real snmpsim agents (started per module, they take a second or two) serving corpus walks
and walks from readiness.lab.snmp_walks; net-snmp's snmpd for SNMPv3."""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from readiness.acceptance.evaluate import evaluate, run_verdict
from readiness.config.profile import Profile
from readiness.config.site import SiteSpec
from readiness.lab.snmp_agent import snmpsim_agent
from readiness.model import Measurement, NotMeasured, Verdict
from readiness.probes.snmp import audit
from readiness.probes.snmp.device import DeviceReport
from readiness.reports.document import finalise
from readiness.runner import execute, probe_criteria

from ..conftest import need_tool  # noqa: F401  (re-exported for the tests here)


@dataclass
class Audited:
    """What `readiness snmp audit` found and judged, with the device reports themselves."""

    reports: list[DeviceReport]
    verdicts: list[Verdict]
    by_device: dict[str, list[Verdict]] = field(default_factory=dict)
    verdict: str = "incomplete"

    def to_json(self) -> dict[str, Any]:
        return {"devices": [r.to_json() for r in self.reports], "criteria": [v.to_json() for v in self.verdicts]}


def audit_run(site: SiteSpec, profile: Profile, parent: Path) -> dict[str, Any]:
    """The same audit as a user's `readiness snmp audit --site` runs it: the run document."""
    criteria = probe_criteria(profile.criteria, ["snmp"], leave_out=["if.errors_during_test"])
    return finalise(execute(profile, site, parent, command="snmp audit", criteria=criteria)).to_json()


def audit_site(site: SiteSpec, profile: Profile) -> Audited:
    """Poll and assess as the snmp probe does, judged as the `snmp audit` run judges: per device (the
    criteria it has records of) and over all devices."""
    reports, _ = asyncio.run(audit.audit_devices(site))
    criteria = probe_criteria(profile.criteria, ["snmp"], leave_out=["if.errors_during_test"])
    ms: list[Measurement] = []
    nm: list[NotMeasured] = audit.absent_roles([r.polled.target for r in reports], sorted({c.metric for c in criteria}))
    by_device = {}
    for r in reports:
        recs = audit.records(r)
        mine = {x.metric for x in recs}
        dms = [x for x in recs if isinstance(x, Measurement)]
        dnm = [x for x in recs if isinstance(x, NotMeasured)]
        by_device[r.label] = evaluate([c for c in criteria if c.metric in mine], dms, [], dnm)
        ms += dms
        nm += dnm
    verdicts = evaluate(criteria, ms, [], nm)
    return Audited(reports, verdicts, by_device, run_verdict(verdicts))


@contextlib.contextmanager
def served(walks: dict[str, Path | str]) -> Iterator[int]:
    """snmpsim on loopback serving `walks` (community -> file or text); yields the UDP port."""
    with snmpsim_agent(walks) as port:
        yield port


def replace_record(text: str, oid: str, record: str) -> str:
    """Swap the record of `oid` in a .snmprec text (the line keeps its place: OIDs stay sorted)."""
    lines = [record if line.split("|", 1)[0] == oid else line for line in text.splitlines()]
    assert record in lines, oid
    return "\n".join(lines) + "\n"


def write_site(folder: Path, port: int, devices: list[dict], timeout: str = "2 s", retries: int = 1,
               **top) -> Path:
    """A site file whose devices' communities live in 0600 files beside it (never inline)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for d in devices:
        d = dict(d)
        community = d.pop("community", None)
        if isinstance(community, dict):      # a reference given as is (e.g. to a file that is missing)
            d["community"] = community
        elif community is not None:
            ref = folder / f"{d['name']}.community"
            ref.write_text(community + "\n")
            os.chmod(ref, 0o600)
            d["community"] = {"file": ref.name}
        d.setdefault("host", f"127.0.0.1:{port}")
        out.append(d)
    doc = {"site": "test site", "profile": "cloud-pbx-single-site", "voice_vlan": 20,
           "phones": {"count": 8, "poe_class": 2}, **top,
           "snmp": {"timeout": timeout, "retries": retries, "devices": out}}
    path = folder / "site.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.fixture
def snmp_corpus(corpus) -> Path:
    path = corpus / "snmprec"
    if not path.is_dir():
        pytest.fail(f"{path} is missing from the corpus")
    return path
