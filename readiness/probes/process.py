"""Running external tools (iperf3, tshark, snmpbulkwalk) from probes: found or a clear error, always
bounded in time, always reaped, also when the run is cancelled.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
from dataclasses import dataclass

from ..errors import ToolMissing

# Debian package that provides each tool, for the error message.
PACKAGES = {"iperf3": "iperf3", "tshark": "tshark", "snmpbulkwalk": "snmp", "snmpd": "snmpd",
            "baresip": "baresip-core", "kamailio": "kamailio", "dumpcap": "tshark", "irtt": "irtt"}


def require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pkg = PACKAGES.get(tool, tool)
        raise ToolMissing(f"{tool} is not installed (Debian/Ubuntu: apt-get install {pkg})")
    return path


@dataclass(frozen=True)
class Completed:
    returncode: int
    stdout: str
    stderr: str


class ProcessTimeout(Exception):
    pass


async def run(argv: list[str], timeout: float, env: dict[str, str] | None = None) -> Completed:
    """Run a command to completion; kill its whole process group on timeout or cancellation."""
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        start_new_session=True, env=env)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except asyncio.TimeoutError:
        await kill(proc)
        raise ProcessTimeout(f"{os.path.basename(argv[0])} did not finish within {timeout:g} s") from None
    except BaseException:
        await kill(proc)
        raise
    return Completed(proc.returncode or 0, out.decode(errors="replace"), err.decode(errors="replace"))


async def kill(proc: asyncio.subprocess.Process, grace: float = 2.0) -> None:
    if proc.returncode is not None:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            await asyncio.wait_for(proc.wait(), grace)
            return
        except asyncio.TimeoutError:
            continue
