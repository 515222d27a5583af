"""Shared fixtures. Real parts only: tests start real iperf3/snmpsim/tshark/baresip where they need them.

The real-world corpus (captures, SNMP walks, iperf3 outputs) lives outside the project and is reached
through READINESS_CORPUS. If the variable is set and the folder is missing, corpus tests fail; if it
is not set at all (a developer without the corpus), they skip. CI always sets it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def corpus_dir() -> Path | None:
    value = os.environ.get("READINESS_CORPUS")
    if not value:
        return None
    return Path(value)


@pytest.fixture(scope="session")
def corpus() -> Path:
    path = corpus_dir()
    if path is None:
        pytest.skip("READINESS_CORPUS is not set (CI sets it to ../shared/data)")
    if not path.is_dir():
        pytest.fail(f"READINESS_CORPUS={path} is set but the folder does not exist")
    return path


def need_tool(name: str) -> str:
    """A real part the test cannot run without. Missing means the set-up is broken: fail, do not skip."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: run setup.sh (tests need the real tool, not a mock)")
    return path


@pytest.fixture
def tmp_cwd(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path
