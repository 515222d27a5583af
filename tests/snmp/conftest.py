"""SNMP tests: real snmpsim agents (started per module, they take a second or two) serving corpus walks
and walks from readiness.lab.snmp_walks; net-snmp's snmpd for SNMPv3."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator

import pytest
import yaml

from readiness.lab.snmp_agent import snmpsim_agent

from ..conftest import need_tool  # noqa: F401  (re-exported for the tests here)


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
