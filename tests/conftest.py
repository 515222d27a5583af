"""Shared fixtures. Real parts only: tests start real iperf3/snmpsim/tshark/baresip where they need them.

The real-world corpus (captures, SNMP walks, iperf3 outputs) lives outside the project and is reached
through READINESS_CORPUS (CI sets it). A test that needs it fails, never skips, when the variable is
unset, the folder is missing or it is empty: a corpus test that silently does nothing proves nothing.
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
        pytest.fail("READINESS_CORPUS is not set: point it at the corpus (CI sets it to ../shared/data)")
    if not path.is_dir():
        pytest.fail(f"READINESS_CORPUS={path}: the folder does not exist")
    if not any(path.iterdir()):
        pytest.fail(f"READINESS_CORPUS={path}: the folder is empty")
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
